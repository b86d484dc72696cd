//! Reading a topic as a table: each record upserts (or, with a null value,
//! deletes) its key. The operator keeps the current row of every key so a
//! change carries the value it replaces, which filters and aggregations over
//! the table need to retract.

use crate::error::Result;
use crate::operators::{Context, Operator, Row};
use crate::types::Value;
use std::collections::HashMap;

/// Keeps the latest row per key and annotates each change with the row it
/// replaces. Records without a key cannot be part of a table and are dropped.
pub struct MaterializeOperator {
    key_positions: Vec<usize>,
    rows: HashMap<Vec<u8>, Vec<Value>>,
}

impl MaterializeOperator {
    pub fn new(key_positions: Vec<usize>) -> Self {
        MaterializeOperator {
            key_positions,
            rows: HashMap::new(),
        }
    }

    /// Applies a change without emitting anything (restoring state).
    pub fn restore(&mut self, row: &Row) {
        if row.null_key {
            return;
        }
        let key = key_bytes(&self.key_positions, &row.values);
        if row.tombstone {
            self.rows.remove(&key);
        } else {
            self.rows.insert(key, row.values.clone());
        }
    }

    /// The current rows (for pull queries and scans).
    pub fn rows(&self) -> impl Iterator<Item = &Vec<Value>> {
        self.rows.values()
    }
}

/// A canonical byte form of the key columns of a row, for hashing.
pub fn key_bytes(positions: &[usize], values: &[Value]) -> Vec<u8> {
    // Room for a short key and a window start appended by the caller.
    let mut out = String::with_capacity(32);
    for p in positions {
        crate::formats::json::write_json(&mut out, values.get(*p).unwrap_or(&Value::Null));
        out.push('\u{1}');
    }
    out.into_bytes()
}

impl Operator for MaterializeOperator {
    fn process(&mut self, rows: Vec<Row>, _ctx: &mut Context) -> Result<Vec<Row>> {
        let mut out = Vec::with_capacity(rows.len());
        for mut row in rows {
            if row.null_key {
                continue;
            }
            let key = key_bytes(&self.key_positions, &row.values);
            row.old = if row.tombstone {
                self.rows.remove(&key)
            } else {
                self.rows.insert(key, row.values.clone())
            };
            out.push(row);
        }
        Ok(out)
    }

    fn name(&self) -> &'static str {
        "Materialize"
    }

    fn describe(&self) -> String {
        super::describe::fields(&[(
            "store",
            "the latest row of each key, in memory (rebuilt from the topic)".to_string(),
        )])
    }
}
