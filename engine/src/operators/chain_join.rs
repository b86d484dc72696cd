//! The n-way join: a left-deep chain of two-way joins, where the rows
//! reaching a join on something other than their key leave through an
//! internal topic (a cut) and come back re-keyed as one more input.

use super::rekey::Rekey;
use super::{Context, JoinOperator, Row};
use crate::error::Result;

/// Left-deep n-way joins: the result of each join is the left input of the
/// next. Input 0 and 1 feed the first join; input `k` (k >= 2) is the right
/// side of join `k - 1`.
pub struct ChainJoinOperator {
    joins: Vec<Box<dyn JoinOperator>>,
    cuts: Vec<Cut>,
}

impl ChainJoinOperator {
    /// Chains `joins` (at least two), with rows leaving at `cuts`.
    pub fn new(joins: Vec<Box<dyn JoinOperator>>, cuts: Vec<Cut>) -> Self {
        ChainJoinOperator { joins, cuts }
    }
}

/// Where a chain's rows leave through an internal topic: the results
/// reaching join `join` are re-keyed by `key` into `topic`, and come back
/// as input `side`.
pub struct Cut {
    pub join: usize,
    pub side: usize,
    pub topic: String,
    pub rekey: Rekey,
}

impl JoinOperator for ChainJoinOperator {
    fn name(&self) -> &'static str {
        "JoinChain"
    }

    fn describe(&self) -> String {
        let joins: Vec<&str> = self.joins.iter().map(|j| j.name()).collect();
        let mut parts = vec![("joins", joins.join(" -> "))];
        for cut in &self.cuts {
            parts.push(("re-keyed through", cut.topic.clone()));
        }
        super::describe::fields(&parts)
    }

    fn links(&self) -> Vec<super::JoinLink<'_>> {
        self.joins
            .iter()
            .enumerate()
            .map(|(k, join)| super::JoinLink {
                join: join.as_ref(),
                rekeyed: self
                    .cuts
                    .iter()
                    .find(|c| c.join == k)
                    .map(|c| (c.side, c.topic.as_str(), c.rekey.describe())),
            })
            .collect()
    }

    fn process(&mut self, side: usize, rows: Vec<Row>, ctx: &mut Context) -> Result<Vec<Row>> {
        let (mut rows, next) = if let Some(cut) = self.cuts.iter().find(|c| c.side == side) {
            (self.joins[cut.join].process(0, rows, ctx)?, cut.join + 1)
        } else if side <= 1 {
            (self.joins[0].process(side, rows, ctx)?, 1)
        } else {
            (self.joins[side - 1].process(1, rows, ctx)?, side)
        };
        for k in next..self.joins.len() {
            if rows.is_empty() {
                break;
            }
            if let Some(cut) = self.cuts.iter().find(|c| c.join == k) {
                for row in rows {
                    // (Rows joined from several inputs have no one origin.)
                    let record = cut.rekey.record(&row, (-1, -1));
                    ctx.rekeyed.push((cut.topic.clone(), record));
                }
                return Ok(Vec::new());
            }
            rows = self.joins[k].process(0, rows, ctx)?;
        }
        Ok(rows)
    }
}
