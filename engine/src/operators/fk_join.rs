//! Foreign-key table-table joins: each left row joins the right row whose
//! primary key equals an expression of the left row. The result is keyed
//! by the left table's key. A right change updates every left row that
//! refers to it (kept in an index); a left row that changes its foreign key
//! moves to its new right row.

use super::join_row::{join_key_bytes, JoinLayout};
use crate::error::Result;
use crate::operators::materialize::key_bytes;
use crate::plan::expr::Compiled;
use crate::runtime::{Context, JoinOperator, Row};
use crate::types::Value;
use std::collections::{BTreeSet, HashMap, HashSet};

/// A left row: its values and the foreign key it refers to.
type LeftRows = HashMap<Vec<u8>, (Vec<Value>, Option<Vec<u8>>)>;

pub struct FkJoinOperator {
    layout: JoinLayout,
    left_keys: Vec<usize>,
    foreign_key: Compiled,
    right_key: usize,
    outer: bool,
    left: LeftRows,
    right: HashMap<Vec<u8>, Vec<Value>>,
    /// Left keys by the foreign key they refer to, in key order.
    index: HashMap<Vec<u8>, BTreeSet<Vec<u8>>>,
    present: HashSet<Vec<u8>>,
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
            present: HashSet::new(),
        }
    }

    fn rowkey(&self, left: &[Value]) -> Value {
        self.left_keys
            .first()
            .and_then(|i| left.get(*i).cloned())
            .unwrap_or(Value::Null)
    }

    /// The result for one left row, or its deletion.
    fn emit(
        &mut self,
        id: &[u8],
        left: &[Value],
        right: Option<&Vec<Value>>,
        ts: i64,
        out: &mut Vec<Row>,
    ) {
        let key = self.rowkey(left);
        if right.is_some() || self.outer {
            self.present.insert(id.to_vec());
            out.push(
                self.layout
                    .row(Some(left), right.map(|r| r.as_slice()), &key, ts),
            );
        } else if self.present.remove(id) {
            out.push(Row {
                tombstone: true,
                ..self.layout.row(Some(left), None, &key, ts)
            });
        }
    }
}

impl JoinOperator for FkJoinOperator {
    fn process(&mut self, side: usize, rows: Vec<Row>, ctx: &mut Context) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        for row in rows {
            if row.null_key {
                continue;
            }
            if side == 1 {
                let rk = join_key_bytes(row.values.get(self.right_key).unwrap_or(&Value::Null));
                if row.tombstone {
                    self.right.remove(&rk);
                } else {
                    self.right.insert(rk.clone(), row.values.clone());
                }
                let lefts: Vec<Vec<u8>> = self
                    .index
                    .get(&rk)
                    .map(|s| s.iter().cloned().collect())
                    .unwrap_or_default();
                let right = self.right.get(&rk).cloned();
                for id in lefts {
                    if let Some((values, _)) = self.left.get(&id).cloned() {
                        self.emit(&id, &values, right.as_ref(), row.ts, &mut out);
                    }
                }
                continue;
            }
            let id = key_bytes(&self.left_keys, &row.values);
            if let Some((_, Some(old_fk))) = self.left.remove(&id) {
                if let Some(set) = self.index.get_mut(&old_fk) {
                    set.remove(&id);
                }
            }
            if row.tombstone {
                // A deleted left row is always deleted from the result.
                self.present.remove(&id);
                let key = self.rowkey(&row.values);
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
                self.index.entry(f.clone()).or_default().insert(id.clone());
            }
            self.left
                .insert(id.clone(), (row.values.clone(), fk_bytes.clone()));
            let right = fk_bytes.as_ref().and_then(|f| self.right.get(f)).cloned();
            self.emit(&id, &row.values, right.as_ref(), row.ts, &mut out);
        }
        Ok(out)
    }
}
