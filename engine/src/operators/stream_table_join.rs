//! Stream-table joins: each stream row looks up the table's current row
//! for its join key. Table changes only update the lookup state; they never
//! produce output. INNER drops unmatched stream rows; LEFT pads them with
//! NULLs.

use super::join_row::{join_key_bytes, JoinLayout};
use crate::error::Result;
use crate::expr::Compiled;
use crate::operators::{Context, JoinOperator, Row};
use crate::types::Value;
use std::collections::HashMap;

pub struct StreamTableJoinOperator {
    layout: JoinLayout,
    /// The stream side's join expression (over its row).
    stream_key: Compiled,
    /// The table's key column position (in its row).
    table_key: usize,
    outer: bool,
    table: HashMap<Vec<u8>, Vec<Value>>,
}

impl StreamTableJoinOperator {
    pub fn new(layout: JoinLayout, stream_key: Compiled, table_key: usize, outer: bool) -> Self {
        StreamTableJoinOperator {
            layout,
            stream_key,
            table_key,
            outer,
            table: HashMap::new(),
        }
    }
}

impl JoinOperator for StreamTableJoinOperator {
    fn process(&mut self, side: usize, rows: Vec<Row>, ctx: &mut Context) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        for row in rows {
            if side == 1 {
                if row.null_key {
                    continue;
                }
                let key = join_key_bytes(row.values.get(self.table_key).unwrap_or(&Value::Null));
                if row.tombstone {
                    self.table.remove(&key);
                } else {
                    self.table.insert(key, row.values);
                }
                continue;
            }
            if row.tombstone {
                continue;
            }
            let mut errors = Vec::new();
            let key = self.stream_key.eval_row(&row.values, &mut errors);
            for e in errors {
                ctx.expression_error(format!("Error computing join key: {e}"), &row);
            }
            if key.is_null() {
                continue;
            }
            match self.table.get(&join_key_bytes(&key)) {
                Some(t) => out.push(Row {
                    headers: row.headers.clone(),
                    ..self.layout.row(Some(&row.values), Some(t), &key, row.ts)
                }),
                None if self.outer => out.push(Row {
                    headers: row.headers.clone(),
                    ..self.layout.row(Some(&row.values), None, &key, row.ts)
                }),
                None => {}
            }
        }
        Ok(out)
    }

    fn name(&self) -> &'static str {
        "StreamTableJoin"
    }

    fn describe(&self) -> String {
        use super::describe::fields;
        fields(&[
            (
                "kind",
                if self.outer { "LEFT" } else { "INNER" }.to_string(),
            ),
            (
                "on",
                format!(
                    "{} = {}",
                    self.stream_key,
                    self.layout.column_name(1, self.table_key)
                ),
            ),
            (
                "store",
                "the table's rows by key, in memory (rebuilt from its topic)".to_string(),
            ),
        ])
    }
}
