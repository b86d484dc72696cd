//! SELECT list (and PARTITION BY re-keying): computes a new row from
//! expressions over the input row.

use crate::error::Result;
use crate::plan::expr::Compiled;
use crate::runtime::{Context, Operator, Row};
use crate::types::Value;

/// Computes each output column from the input row. A failing expression
/// yields NULL for that column and is reported to the processing log, as
/// ksqlDB does. For a tombstone only the key columns are computed; the
/// previous values of a table change are projected too.
pub struct ProjectOperator {
    exprs: Vec<Compiled>,
    /// Positions (in `exprs`) of the columns still computed for a
    /// tombstone: the key columns. Others are NULL.
    key_positions: Vec<usize>,
    /// PARTITION BY: the output has a new key, never an absent one.
    rekey: bool,
    /// When every expression is a distinct bare column: the input positions,
    /// so rows are rearranged by moving values instead of evaluating.
    moves: Option<Vec<usize>>,
}

/// The input positions of a projection made only of distinct columns.
fn plain_moves(exprs: &[Compiled]) -> Option<Vec<usize>> {
    let cols: Vec<usize> = exprs.iter().map(|e| e.as_column()).collect::<Option<_>>()?;
    let mut seen = std::collections::HashSet::new();
    cols.iter().all(|c| seen.insert(*c)).then_some(cols)
}

impl ProjectOperator {
    pub fn new(exprs: Vec<Compiled>, key_positions: Vec<usize>) -> Self {
        ProjectOperator {
            moves: plain_moves(&exprs),
            exprs,
            key_positions,
            rekey: false,
        }
    }

    /// A projection that computes a new key (PARTITION BY).
    pub fn rekey(exprs: Vec<Compiled>, key_positions: Vec<usize>) -> Self {
        ProjectOperator {
            moves: plain_moves(&exprs),
            exprs,
            key_positions,
            rekey: true,
        }
    }

    fn project(
        &self,
        input: &[Value],
        tombstone: bool,
        row: &Row,
        ctx: &mut Context,
    ) -> Vec<Value> {
        let mut values = Vec::with_capacity(self.exprs.len());
        for (i, e) in self.exprs.iter().enumerate() {
            if tombstone && !self.key_positions.contains(&i) {
                values.push(Value::Null);
                continue;
            }
            let mut errors = Vec::new();
            values.push(e.eval_row(input, &mut errors));
            for err in errors {
                ctx.expression_error(format!("Error computing expression: {err}"), row);
            }
        }
        values
    }
}

impl Operator for ProjectOperator {
    fn process(&mut self, rows: Vec<Row>, ctx: &mut Context) -> Result<Vec<Row>> {
        let mut out = Vec::with_capacity(rows.len());
        for mut row in rows {
            if let (Some(moves), false, None) = (&self.moves, row.tombstone, &row.old) {
                let values = moves
                    .iter()
                    .map(|i| {
                        row.values
                            .get_mut(*i)
                            .map(std::mem::take)
                            .unwrap_or_default()
                    })
                    .collect();
                out.push(Row {
                    values,
                    null_key: row.null_key && !self.rekey,
                    ..row
                });
                continue;
            }
            let values = self.project(&row.values, row.tombstone, &row, ctx);
            let old = row
                .old
                .as_ref()
                .map(|old| self.project(old, false, &row, ctx));
            out.push(Row {
                values,
                old,
                null_key: row.null_key && !self.rekey,
                ..row
            });
        }
        Ok(out)
    }
}
