//! SELECT list (and PARTITION BY re-keying): computes a new row from
//! expressions over the input row.

use crate::error::Result;
use crate::expr::Compiled;
use crate::operators::{Context, Operator, Row};
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
    /// Which expressions are bare columns that no other bare column
    /// expression reads: their values are moved out of the input row (after
    /// the other expressions are evaluated) instead of cloned.
    movable: Vec<bool>,
    /// The output columns' names, for plans (empty when not given).
    names: Vec<String>,
    /// PARTITION BY: how many leading output columns are the new key.
    new_keys: usize,
}

/// See [`ProjectOperator::movable`].
fn movable_columns(exprs: &[Compiled]) -> Vec<bool> {
    let mut uses = std::collections::HashMap::new();
    for c in exprs.iter().filter_map(Compiled::as_column) {
        *uses.entry(c).or_insert(0usize) += 1;
    }
    exprs
        .iter()
        .map(|e| e.as_column().is_some_and(|c| uses[&c] == 1))
        .collect()
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
            movable: movable_columns(&exprs),
            exprs,
            key_positions,
            rekey: false,
            names: Vec::new(),
            new_keys: 0,
        }
    }

    /// A projection that computes a new key (PARTITION BY).
    pub fn rekey(exprs: Vec<Compiled>, key_positions: Vec<usize>) -> Self {
        ProjectOperator {
            moves: plain_moves(&exprs),
            movable: movable_columns(&exprs),
            exprs,
            key_positions,
            rekey: true,
            names: Vec::new(),
            new_keys: 0,
        }
    }

    /// Names the output columns, for plans.
    pub fn named(mut self, names: Vec<String>) -> Self {
        self.names = names;
        self
    }

    /// Says how many leading output columns of a re-keying projection are
    /// the new key, for plans.
    pub fn with_new_keys(mut self, n: usize) -> Self {
        self.new_keys = n;
        self
    }

    /// Output column `i` as `expression AS name` (just the expression when
    /// it is the name, or no name was given).
    fn column(&self, i: usize) -> String {
        let text = self.exprs[i].to_string();
        match self.names.get(i) {
            Some(name) if *name != text => format!("{text} AS {name}"),
            _ => text,
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
        // Mapping the rows' own list in place (same element type) saves
        // allocating and freeing a list per batch.
        Ok(rows
            .into_iter()
            .map(|row| self.project_row(row, ctx))
            .collect())
    }

    fn keeps_state(&self) -> bool {
        false
    }

    fn name(&self) -> &'static str {
        if self.rekey {
            "PartitionBy"
        } else {
            "Project"
        }
    }

    fn describe(&self) -> String {
        use super::describe::fields;
        if self.rekey {
            let keys: Vec<String> = (0..self.new_keys.min(self.exprs.len()))
                .map(|i| self.column(i))
                .collect();
            let key = if keys.is_empty() {
                "none (PARTITION BY NULL)".to_string()
            } else {
                keys.join(", ")
            };
            return fields(&[("new key", key)]);
        }
        let columns: Vec<String> = (0..self.exprs.len()).map(|i| self.column(i)).collect();
        let keys: Vec<String> = self
            .key_positions
            .iter()
            .map(|k| match self.names.get(*k) {
                Some(name) => name.clone(),
                None => format!("#{k}"),
            })
            .collect();
        let mut parts = Vec::new();
        if !keys.is_empty() {
            parts.push(("key", keys.join(", ")));
        }
        parts.push(("columns", columns.join(", ")));
        fields(&parts)
    }
}

impl ProjectOperator {
    fn project_row(&self, mut row: Row, ctx: &mut Context) -> Row {
        if let (Some(moves), false, None) = (&self.moves, row.tombstone, &row.old) {
            let values = if moves.iter().enumerate().all(|(i, c)| i == *c) {
                // The first columns, in order (SELECT * over a stream
                // drops only the pseudo-columns): cut the row short.
                let mut values = std::mem::take(&mut row.values);
                values.resize(moves.len(), Value::Null);
                values
            } else {
                moves
                    .iter()
                    .map(|i| {
                        row.values
                            .get_mut(*i)
                            .map(std::mem::take)
                            .unwrap_or_default()
                    })
                    .collect()
            };
            return Row {
                values,
                null_key: row.null_key && !self.rekey,
                ..row
            };
        }
        if !row.tombstone && row.old.is_none() && self.movable.iter().any(|m| *m) {
            // Computed expressions first (they read the whole input
            // row, and report errors with it), then the bare columns
            // are moved in.
            let mut values = Vec::with_capacity(self.exprs.len());
            for (e, movable) in self.exprs.iter().zip(&self.movable) {
                if *movable {
                    values.push(Value::Null);
                    continue;
                }
                let mut errors = Vec::new();
                values.push(e.eval_row(&row.values, &mut errors));
                for err in errors {
                    ctx.expression_error(format!("Error computing expression: {err}"), &row);
                }
            }
            for ((e, movable), slot) in self.exprs.iter().zip(&self.movable).zip(&mut values) {
                if let (true, Some(c)) = (*movable, e.as_column()) {
                    *slot = row
                        .values
                        .get_mut(c)
                        .map(std::mem::take)
                        .unwrap_or_default();
                }
            }
            return Row {
                values,
                null_key: row.null_key && !self.rekey,
                ..row
            };
        }
        let values = self.project(&row.values, row.tombstone, &row, ctx);
        let old = row
            .old
            .as_ref()
            .map(|old| self.project(old, false, &row, ctx));
        Row {
            values,
            old,
            null_key: row.null_key && !self.rekey,
            ..row
        }
    }
}
