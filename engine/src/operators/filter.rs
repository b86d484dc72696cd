//! WHERE: keeps the rows whose predicate is TRUE (not FALSE, not NULL).

use crate::error::Result;
use crate::plan::expr::Compiled;
use crate::runtime::{Context, Operator, Row};
use crate::types::Value;

/// Drops rows whose predicate is not TRUE. Tombstones never pass: a stream
/// record without a value has nothing to test.
pub struct FilterOperator {
    predicate: Compiled,
}

impl FilterOperator {
    pub fn new(predicate: Compiled) -> Self {
        FilterOperator { predicate }
    }
}

impl Operator for FilterOperator {
    fn process(&mut self, mut rows: Vec<Row>, ctx: &mut Context) -> Result<Vec<Row>> {
        rows.retain(|row| {
            if row.tombstone {
                return false;
            }
            let mut errors = Vec::new();
            let keep = matches!(
                self.predicate.eval_row(&row.values, &mut errors),
                Value::Bool(true)
            );
            for e in errors {
                ctx.expression_error(format!("Error evaluating predicate: {e}"), row);
            }
            keep
        });
        Ok(rows)
    }
}
