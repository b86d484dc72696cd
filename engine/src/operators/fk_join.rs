//! Foreign-key table-table joins: each left row joins the right row whose
//! primary key equals an expression of the left row. The result is keyed
//! by the left table's key. A right change updates every left row that
//! refers to it (kept in an index); a left row that changes its foreign key
//! moves to its new right row.

use super::join_row::{join_key_bytes, JoinLayout};
use crate::error::Result;
use crate::expr::Compiled;
use crate::operators::materialize::key_bytes;
use crate::operators::{Context, JoinOperator, Row};
use crate::types::Value;
use hashbrown::HashMap;
use std::collections::BTreeSet;

/// A left row as the join keeps it.
struct LeftRow {
    values: Vec<Value>,
    /// The foreign key it refers to.
    fk: Option<Vec<u8>>,
    /// Whether the result holds a row for it (so a lost match deletes it).
    present: bool,
}

pub struct FkJoinOperator {
    layout: JoinLayout,
    left_keys: Vec<usize>,
    foreign_key: Compiled,
    right_key: usize,
    outer: bool,
    // hashbrown's default hasher: these are looked up for every row.
    left: HashMap<Vec<u8>, LeftRow>,
    right: HashMap<Vec<u8>, Vec<Value>>,
    /// Left keys by the foreign key they refer to, in key order.
    index: HashMap<Vec<u8>, BTreeSet<Vec<u8>>>,
}

impl FkJoinOperator {
    pub fn new(
        layout: JoinLayout,
        left_keys: Vec<usize>,
        foreign_key: Compiled,
        right_key: usize,
        outer: bool,
    ) -> Self {
        FkJoinOperator {
            layout,
            left_keys,
            foreign_key,
            right_key,
            outer,
            left: HashMap::new(),
            right: HashMap::new(),
            index: HashMap::new(),
        }
    }
}

/// The parts of the join that make a result row.
struct Emitter<'a> {
    layout: &'a JoinLayout,
    left_keys: &'a [usize],
    outer: bool,
}

impl Emitter<'_> {
    fn rowkey(&self, left: &[Value]) -> Value {
        self.left_keys
            .first()
            .and_then(|i| left.get(*i).cloned())
            .unwrap_or(Value::Null)
    }

    /// The result for one left row, or its deletion; `present` says
    /// whether the result holds a row for it, before and after.
    fn emit(
        &self,
        left: &[Value],
        present: &mut bool,
        right: Option<&[Value]>,
        ts: i64,
        out: &mut Vec<Row>,
    ) {
        let key = self.rowkey(left);
        if right.is_some() || self.outer {
            *present = true;
            out.push(self.layout.row(Some(left), right, &key, ts));
        } else if std::mem::take(present) {
            out.push(Row {
                tombstone: true,
                ..self.layout.row(Some(left), None, &key, ts)
            });
        }
    }
}

impl JoinOperator for FkJoinOperator {
    fn name(&self) -> &'static str {
        "ForeignKeyJoin"
    }

    fn describe(&self) -> String {
        use super::describe::fields;
        let keys: Vec<String> = self
            .left_keys
            .iter()
            .map(|i| self.layout.column_name(0, *i))
            .collect();
        fields(&[
            ("kind", if self.outer { "LEFT" } else { "INNER" }.to_string()),
            (
                "on",
                format!(
                    "{} = {}",
                    self.foreign_key,
                    self.layout.column_name(1, self.right_key)
                ),
            ),
            ("key", keys.join(", ")),
            (
                "store",
                "both tables' rows by key and the left keys by foreign key, in memory (rebuilt from their topics)"
                    .to_string(),
            ),
        ])
    }

    fn process(&mut self, side: usize, rows: Vec<Row>, ctx: &mut Context) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        let emitter = Emitter {
            layout: &self.layout,
            left_keys: &self.left_keys,
            outer: self.outer,
        };
        for row in rows {
            if row.null_key {
                continue;
            }
            if side == 1 {
                let rk = join_key_bytes(row.values.get(self.right_key).unwrap_or(&Value::Null));
                let right = if row.tombstone {
                    self.right.remove(&rk);
                    None
                } else {
                    let slot = self.right.entry_ref(rk.as_slice()).insert(row.values);
                    Some(slot.into_mut().as_slice())
                };
                let Some(ids) = self.index.get(&rk) else {
                    continue;
                };
                for id in ids {
                    if let Some(left) = self.left.get_mut(id) {
                        emitter.emit(&left.values, &mut left.present, right, row.ts, &mut out);
                    }
                }
                continue;
            }
            let id = key_bytes(&self.left_keys, &row.values);
            let mut present = false;
            if let Some(old) = self.left.remove(&id) {
                present = old.present;
                if let Some(set) = old.fk.and_then(|f| self.index.get_mut(&f)) {
                    set.remove(&id);
                }
            }
            if row.tombstone {
                // A deleted left row is always deleted from the result.
                let key = emitter.rowkey(&row.values);
                out.push(Row {
                    tombstone: true,
                    ..self.layout.row(Some(&row.values), None, &key, row.ts)
                });
                continue;
            }
            let mut errors = Vec::new();
            let fk = self.foreign_key.eval_row(&row.values, &mut errors);
            for e in errors {
                ctx.expression_error(format!("Error computing foreign key: {e}"), &row);
            }
            let fk_bytes = (!fk.is_null()).then(|| join_key_bytes(&fk));
            if let Some(f) = &fk_bytes {
                self.index
                    .entry_ref(f.as_slice())
                    .or_default()
                    .insert(id.clone());
            }
            let right = fk_bytes
                .as_ref()
                .and_then(|f| self.right.get(f))
                .map(Vec::as_slice);
            emitter.emit(&row.values, &mut present, right, row.ts, &mut out);
            self.left.insert(
                id,
                LeftRow {
                    values: row.values,
                    fk: fk_bytes,
                    present,
                },
            );
        }
        Ok(out)
    }
}
