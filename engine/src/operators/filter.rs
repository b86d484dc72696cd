//! WHERE and HAVING: keeps the rows whose predicate is TRUE (not FALSE, not
//! NULL). Over a table, a row that stops matching becomes a tombstone.

use crate::error::Result;
use crate::expr::Compiled;
use crate::operators::materialize::key_bytes;
use crate::operators::{Context, Operator, Row};
use crate::types::Value;
use std::collections::HashSet;

/// Filters rows. On streams a failing row is dropped; on tables it becomes
/// a delete of its key, so a row that stops matching leaves the result.
pub struct FilterOperator {
    predicate: Compiled,
    table: bool,
    /// HAVING: the key columns, and the keys whose current row passed, so a
    /// key that stops matching is deleted once and a key that never matched
    /// produces nothing.
    having: Option<(Vec<usize>, HashSet<Vec<u8>>)>,
}

impl FilterOperator {
    /// A filter over a stream.
    pub fn new(predicate: Compiled) -> Self {
        FilterOperator {
            predicate,
            table: false,
            having: None,
        }
    }

    /// A filter over a table's changes.
    pub fn for_table(predicate: Compiled) -> Self {
        FilterOperator {
            predicate,
            table: true,
            having: None,
        }
    }

    /// HAVING over an aggregation's results, keyed by `key_positions`.
    pub fn having(predicate: Compiled, key_positions: Vec<usize>) -> Self {
        FilterOperator {
            predicate,
            table: true,
            having: Some((key_positions, HashSet::new())),
        }
    }

    fn test(&self, values: &[Value], row: &Row, ctx: &mut Context) -> bool {
        let mut errors = Vec::new();
        let keep = matches!(
            self.predicate.eval_row(values, &mut errors),
            Value::Bool(true)
        );
        for e in errors {
            ctx.expression_error(format!("Error evaluating predicate: {e}"), row);
        }
        keep
    }
}

impl Operator for FilterOperator {
    fn process(&mut self, rows: Vec<Row>, ctx: &mut Context) -> Result<Vec<Row>> {
        if !self.table {
            // Kept rows stay in the input's own list (no list allocated).
            return Ok(rows
                .into_iter()
                .filter(|row| !row.tombstone && self.test(&row.values, row, ctx))
                .collect());
        }
        let mut out = Vec::with_capacity(rows.len());
        for mut row in rows {
            let passes = !row.tombstone && self.test(&row.values, &row, ctx);
            if let Some((keys, present)) = self.having.as_mut() {
                let mut id = key_bytes(keys, &row.values);
                if let Some(w) = row.window {
                    id.extend_from_slice(&w.start.to_be_bytes());
                }
                if passes {
                    present.insert(id);
                    out.push(row);
                } else if present.remove(&id) {
                    row.tombstone = true;
                    out.push(row);
                }
                continue;
            }
            // The previous value only counts if it matched.
            let old_passed = match row.old.take() {
                Some(old) if self.test(&old, &row, ctx) => {
                    row.old = Some(old);
                    true
                }
                _ => false,
            };
            if passes {
                out.push(row);
            } else if old_passed {
                // The key leaves the result.
                row.tombstone = true;
                out.push(row);
            }
        }
        Ok(out)
    }

    fn name(&self) -> &'static str {
        "Filter"
    }

    fn keeps_state(&self) -> bool {
        self.having.is_some()
    }

    fn describe(&self) -> String {
        let mut parts = vec![("predicate", self.predicate.to_string())];
        if self.having.is_some() {
            parts.push((
                "keyed",
                "a key that stops matching is deleted (passing keys kept in memory)".to_string(),
            ));
        } else if self.table {
            parts.push((
                "table changes",
                "a row that stops matching is deleted".to_string(),
            ));
        }
        super::describe::fields(&parts)
    }
}
