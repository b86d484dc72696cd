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
            match self.predicate.eval(&row.values) {
                Ok(Value::Bool(true)) => true,
                Ok(_) => false,
                Err(e) => {
                    ctx.expression_error(format!("Error evaluating predicate: {e}"), row);
                    false
                }
            }
        });
        Ok(rows)
    }
}
