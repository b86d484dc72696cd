//! The join operator for the sides' kinds: stream-table, table-table on
//! the primary keys or a foreign key (not within n-way joins, not RIGHT or
//! FULL), stream-stream within a window. A table side must be joined on
//! its key.

use super::join_checks::{describe, describe_left, kind_name};
use super::join_side::LeftSide;
use crate::catalog::Source;
use crate::error::{Error, Result};
use crate::expr::{Compiled, Scope};
use crate::operators::fk_join::FkJoinOperator;
use crate::operators::join_row::JoinLayout;
use crate::operators::stream_stream_join::StreamStreamJoinOperator;
use crate::operators::stream_table_join::StreamTableJoinOperator;
use crate::operators::table_table_join::TableTableJoinOperator;
use crate::operators::JoinOperator;
use crate::sql::ast::{Expr, Join, JoinKind, SourceKind};

const DEFAULT_GRACE_MS: i64 = 24 * 3_600_000;

/// A join's operator, as [`join_operator`] chooses it.
pub struct ChosenJoin {
    /// The join operator.
    pub op: Box<dyn JoinOperator>,
    /// The kind of its result.
    pub result: SourceKind,
    /// For a foreign-key join: the left key columns its result is keyed
    /// by.
    pub fk_keys: Option<Vec<usize>>,
}

/// The operator joining `right` to `left` on the keys `lk` (over `ls`)
/// and `rk` (over `rs`).
pub fn join_operator(
    join: &Join,
    left: &LeftSide,
    right: &Source,
    (ls, rs): (&Scope, &Scope),
    (lk, lk_expr): (Compiled, &Expr),
    (rk, rk_expr): (Compiled, &Expr),
    layout: JoinLayout,
) -> Result<ChosenJoin> {
    let l_vis = left.visible;
    let left_window = left.source.as_ref().and_then(|s| s.window);
    let describe_left = describe_left(left.source.as_ref(), left.kind, &left.names);
    let right_key = |k: &Compiled, e: &Expr| -> Result<usize> {
        let keys = right.schema.key_indexes();
        match k.as_column() {
            Some(i) if keys == vec![i] => Ok(i),
            _ => Err(Error::plan(format!(
                "Cannot repartition a TABLE source. If this is a join, make sure that the criteria uses the TABLE's key column {} instead of [{}]",
                keys.iter().map(|i| right.schema.columns[*i].name.clone()).collect::<Vec<_>>().join(", "),
                e
            ))),
        }
    };
    let mut fk_keys: Option<Vec<usize>> = None;
    let (op, result): (Box<dyn JoinOperator>, SourceKind) = match (left.kind, right.kind) {
        (SourceKind::Stream, SourceKind::Table) => {
            let tk = right_key(&rk, rk_expr)?;
            (
                Box::new(StreamTableJoinOperator::new(
                    layout,
                    lk,
                    tk,
                    join.kind == JoinKind::Left,
                )),
                SourceKind::Stream,
            )
        }
        (SourceKind::Table, SourceKind::Table) => {
            let rkey = right_key(&rk, rk_expr)?;
            match lk.as_column() {
                Some(i)
                    if left.key_group.len() == 1 && left.key_group.contains(&i)
                        || left.source.is_none() && left.key_group.contains(&i) =>
                {
                    (
                        Box::new(TableTableJoinOperator::new(layout, i, rkey, join.kind)),
                        SourceKind::Table,
                    )
                }
                _ => {
                    if left.source.is_none() {
                        let qualified = |c: &Compiled, sc: &Scope, e: &Expr| match c.as_column() {
                            Some(i) => format!(
                                "{}.{}",
                                sc.columns[i].qualifier.clone().unwrap_or_default(),
                                sc.columns[i].name
                            ),
                            None => e.to_string(),
                        };
                        return Err(Error::plan(format!(
                            "Invalid join condition: foreign-key table-table joins are not supported as part of n-way joins. Got {} = {}.",
                            qualified(&lk, ls, lk_expr),
                            qualified(&rk, rs, rk_expr)
                        )));
                    }
                    // A foreign-key join: keyed by the left table's key.
                    if matches!(join.kind, JoinKind::Right | JoinKind::Full) {
                        return Err(Error::plan(format!(
                            "Invalid join type: {} join not supported for foreign-key table-table join. Got {} {} JOIN {}.",
                            kind_name(join.kind),
                            describe_left,
                            if join.kind == JoinKind::Full { "FULL OUTER" } else { "RIGHT" },
                            describe(right)
                        )));
                    }
                    let left_keys: Vec<usize> = left
                        .key_group
                        .iter()
                        .copied()
                        .filter(|i| *i < l_vis)
                        .collect();
                    fk_keys = Some(left_keys.clone());
                    (
                        Box::new(FkJoinOperator::new(
                            layout,
                            left_keys,
                            lk,
                            rkey,
                            join.kind == JoinKind::Left,
                        )),
                        SourceKind::Table,
                    )
                }
            }
        }
        _ => {
            let within = join.within.as_ref().expect("checked above");
            let grace = within.grace.map(|g| g.millis()).unwrap_or(DEFAULT_GRACE_MS);
            // Windowed sources meet only within the same window.
            let window = left_window.filter(|_| right.window.is_some());
            (
                Box::new(StreamStreamJoinOperator::new(
                    layout,
                    [lk, rk],
                    join.kind,
                    (within.before.millis(), within.after.millis(), grace),
                    // An explicit grace period holds unmatched outer rows
                    // until their window closes (Kafka Streams' KIP-633
                    // joins); without one they are emitted at once.
                    within.grace.is_some(),
                    window,
                )),
                SourceKind::Stream,
            )
        }
    };
    Ok(ChosenJoin {
        op,
        result,
        fk_keys,
    })
}
