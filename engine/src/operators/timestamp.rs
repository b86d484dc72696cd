//! A sink's TIMESTAMP property: each result row's event time is taken from
//! one of its columns before it is written.

use crate::error::Result;
use crate::operators::source::extract_timestamp;
use crate::operators::{Context, Operator, Row};

/// Sets `row.ts` from a column (BIGINT, TIMESTAMP, or STRING with a format).
/// A row whose timestamp cannot be read is dropped and logged.
pub struct TimestampOperator {
    column: usize,
    /// The column's name, for plans.
    name: String,
    format: Option<String>,
}

impl TimestampOperator {
    /// Takes event time from the row's `column`, named `name`.
    pub fn new(column: usize, name: impl Into<String>, format: Option<String>) -> Self {
        TimestampOperator {
            column,
            name: name.into(),
            format,
        }
    }
}

impl Operator for TimestampOperator {
    fn process(&mut self, rows: Vec<Row>, ctx: &mut Context) -> Result<Vec<Row>> {
        let mut out = Vec::with_capacity(rows.len());
        for mut row in rows {
            if row.tombstone {
                out.push(row);
                continue;
            }
            let value = row.values.get(self.column).cloned().unwrap_or_default();
            match extract_timestamp(&value, self.format.as_deref()) {
                Ok(ts) if ts >= 0 => {
                    row.ts = ts;
                    out.push(row);
                }
                Ok(ts) => {
                    ctx.expression_error(format!("Negative timestamp {ts} for the sink"), &row)
                }
                Err(e) => ctx.expression_error(format!("Failed to extract timestamp: {e}"), &row),
            }
        }
        Ok(out)
    }

    fn name(&self) -> &'static str {
        "Timestamp"
    }

    fn describe(&self) -> String {
        let mut parts = vec![("ROWTIME from", self.name.clone())];
        if let Some(f) = &self.format {
            parts.push(("format", format!("'{f}'")));
        }
        super::describe::fields(&parts)
    }
}
