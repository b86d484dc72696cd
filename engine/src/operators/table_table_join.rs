//! Table-table joins on the primary key: both tables are materialized; a
//! change on either side recomputes the joined row of its key. A key whose
//! joined row disappears (INNER with one side gone, LEFT with the left side
//! gone, ...) is deleted once.

use super::join_row::{join_key_bytes, JoinLayout};
use crate::error::Result;
use crate::operators::{Context, JoinOperator, Row};
use crate::sql::ast::JoinKind;
use crate::types::Value;
use std::collections::{HashMap, HashSet};

/// One table's current rows by key: (values, time).
type Side = HashMap<Vec<u8>, (Vec<Value>, i64)>;

pub struct TableTableJoinOperator {
    layout: JoinLayout,
    /// Each side's key column position.
    keys: [usize; 2],
    kind: JoinKind,
    sides: [Side; 2],
    /// Keys that currently have a joined row.
    present: HashSet<Vec<u8>>,
}

impl TableTableJoinOperator {
    pub fn new(layout: JoinLayout, left_key: usize, right_key: usize, kind: JoinKind) -> Self {
        TableTableJoinOperator {
            layout,
            keys: [left_key, right_key],
            kind,
            sides: [HashMap::new(), HashMap::new()],
            present: HashSet::new(),
        }
    }
}

impl JoinOperator for TableTableJoinOperator {
    fn name(&self) -> &'static str {
        "TableTableJoin"
    }

    fn describe(&self) -> String {
        use super::describe::{fields, join_kind};
        fields(&[
            ("kind", join_kind(self.kind).to_string()),
            (
                "on",
                format!(
                    "{} = {}",
                    self.layout.column_name(0, self.keys[0]),
                    self.layout.column_name(1, self.keys[1])
                ),
            ),
            (
                "store",
                "both tables' rows by key, in memory (rebuilt from their topics)".to_string(),
            ),
        ])
    }

    fn process(&mut self, side: usize, rows: Vec<Row>, _ctx: &mut Context) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        for row in rows {
            if row.null_key {
                continue;
            }
            let key_value = row
                .values
                .get(self.keys[side])
                .cloned()
                .unwrap_or(Value::Null);
            let id = join_key_bytes(&key_value);
            if row.tombstone {
                self.sides[side].remove(&id);
            } else {
                self.sides[side].insert(id.clone(), (row.values.clone(), row.ts));
            }
            let l = self.sides[0].get(&id);
            let r = self.sides[1].get(&id);
            // Kafka Streams times a table-table join's result (a delete too)
            // by the later of the change and the other side's row, if any:
            // a delete that leaves an outer join's row in place does not
            // take it back to the remaining side's time.
            let other = if side == 0 { r } else { l };
            let ts = other.map_or(row.ts, |x| x.1.max(row.ts));
            let exists = match self.kind {
                JoinKind::Inner => l.is_some() && r.is_some(),
                JoinKind::Left => l.is_some(),
                JoinKind::Right => r.is_some(),
                JoinKind::Full => l.is_some() || r.is_some(),
            };
            if exists {
                let joined = self.layout.row(
                    l.map(|x| x.0.as_slice()),
                    r.map(|x| x.0.as_slice()),
                    &key_value,
                    ts,
                );
                self.present.insert(id);
                out.push(joined);
            } else if self.present.remove(&id) {
                // A delete carries the key in every key column.
                let mut values = self.layout.join(None, None, &key_value);
                values[self.keys[0]] = key_value.clone();
                values[self.layout.left.0 + self.keys[1]] = key_value.clone();
                out.push(Row {
                    values,
                    ts,
                    tombstone: true,
                    ..Row::default()
                });
            }
        }
        Ok(out)
    }
}
