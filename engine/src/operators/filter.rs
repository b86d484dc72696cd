//! WHERE and HAVING: keeps the rows whose predicate is TRUE (not FALSE, not
//! NULL). Over a table, a row that stops matching becomes a tombstone.

use crate::error::Result;
use crate::plan::expr::Compiled;
use crate::runtime::{Context, Operator, Row};
use crate::types::Value;

/// Filters rows. On streams a failing row is dropped; on tables it becomes
/// a delete of its key, so a row that stops matching leaves the result.
pub struct FilterOperator {
    predicate: Compiled,
    table: bool,
}

impl FilterOperator {
    /// A filter over a stream.
    pub fn new(predicate: Compiled) -> Self {
        FilterOperator {
            predicate,
            table: false,
        }
    }

    /// A filter over a table's changes.
    pub fn for_table(predicate: Compiled) -> Self {
        FilterOperator {
            predicate,
            table: true,
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
        let mut out = Vec::with_capacity(rows.len());
        for mut row in rows {
            let passes = !row.tombstone && self.test(&row.values, &row, ctx);
            if !self.table {
                if passes {
                    out.push(row);
                }
                continue;
            }
            // The previous value only counts if it matched.
            if let Some(old) = row.old.take() {
                if self.test(&old, &row, ctx) {
                    row.old = Some(old);
                }
            }
            if !passes {
                row.tombstone = true;
            }
            out.push(row);
        }
        Ok(out)
    }
}
