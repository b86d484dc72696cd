//! One two-way join of a join chain: the ON equality resolved to a key
//! expression of each side, which sides are re-keyed (through internal
//! topics, or in memory for an earlier join's result), the joined row's
//! layout and key columns; the operator for the sides' kinds comes from
//! `join_operator`.

use super::join_checks::{check_join, check_keys, LeftView};
use super::join_operator::join_operator;
use super::join_side::LeftSide;
use crate::catalog::Source;
use crate::error::{Error, Result};
use crate::expr::{Compiled, Scope, ScopeColumn};
use crate::operators::join_row::JoinLayout;
use crate::operators::JoinOperator;
use crate::sql::ast::{BinaryOp, Expr, JoinKind, SourceKind};

/// One planned join of the chain.
pub struct JoinStep {
    /// The join operator.
    pub op: Box<dyn JoinOperator>,
    /// The joined row's layout.
    pub scope: Scope,
    /// How many leading columns `*` shows.
    pub visible: usize,
    /// Positions that each hold the result's key.
    pub key_group: Vec<usize>,
    /// How the key must be selected, for the error when it is not.
    pub key_hint: String,
    /// The key is the synthesized ROWKEY only.
    pub synthetic: bool,
    /// A stream unless both sides are tables.
    pub result: SourceKind,
    /// Both sides join on their keys (no repartitioning).
    pub key_to_key: bool,
    /// A foreign-key join: the key group is the left key's columns, all
    /// of which the result needs (not alternatives).
    pub foreign_key: bool,
    /// The left side is a stream source joined on something other than
    /// its key: its new key.
    pub left_rekey: Option<Compiled>,
    /// The same for the right side.
    pub right_rekey: Option<Compiled>,
    /// The left side is an earlier join's result joined on something other
    /// than its key: it is re-keyed in memory, so rows of different input
    /// partitions meet.
    pub rekeys_in_memory: bool,
    /// The left side's join key.
    pub left_key: Compiled,
}

/// Plans the join of `right` (its scope `rs`) to `left`.
pub fn plan_step(
    join: &crate::sql::ast::Join,
    left: &LeftSide,
    right: &Source,
    rs: &Scope,
) -> Result<JoinStep> {
    let ls = &left.scope;
    check_join(
        join,
        &LeftView {
            source: left.source.as_ref(),
            kind: left.kind,
            names: &left.names,
        },
        right,
    )?;
    // ON: an equality between an expression of each side.
    let Expr::Binary {
        op: BinaryOp::Eq,
        left: a,
        right: b,
    } = &join.on
    else {
        return Err(Error::plan(format!(
            "Unsupported join expression: {}. Only equality joins between the two sources are supported.",
            join.on
        )));
    };
    let (lk_expr, rk_expr) = match (Compiled::compile(a, ls), Compiled::compile(b, rs)) {
        (Ok(_), Ok(_)) => (a.as_ref(), b.as_ref()),
        _ => match (Compiled::compile(b, ls), Compiled::compile(a, rs)) {
            (Ok(_), Ok(_)) => (b.as_ref(), a.as_ref()),
            _ => {
                return Err(Error::plan(format!(
                    "Invalid comparison expression '{}' in join '{}'. Each side of the join comparision must contain references from exactly one source.",
                    join.on, join.on
                )))
            }
        },
    };
    let lk = Compiled::compile(lk_expr, ls)?;
    let rk = Compiled::compile(rk_expr, rs)?;
    let is_key = |k: &Compiled, s: &Source| {
        k.as_column()
            .is_some_and(|i| s.schema.key_indexes() == vec![i])
    };
    let mut left_rekey = left
        .source
        .as_ref()
        .filter(|s| s.kind == SourceKind::Stream && !is_key(&lk, s))
        .map(|_| lk.clone());
    let mut right_rekey =
        (right.kind == SourceKind::Stream && !is_key(&rk, right)).then(|| rk.clone());
    // Keys joined key-to-key but serialized in different formats land on
    // different partitions: the stream side (the right one of two streams)
    // is re-keyed into the other side's format.
    if let Some(s) = &left.source {
        let mismatch = s.key_format.kind != right.key_format.kind
            && left_rekey.is_none()
            && right_rekey.is_none();
        match (s.kind, right.kind) {
            (SourceKind::Stream, SourceKind::Table) if mismatch => left_rekey = Some(lk.clone()),
            (SourceKind::Stream, SourceKind::Stream) if mismatch => right_rekey = Some(rk.clone()),
            _ => {}
        }
    }
    check_keys(left.source.as_ref(), right, (&lk, lk_expr), (&rk, rk_expr))?;
    let rekeys_in_memory =
        left.source.is_none() && lk.as_column().is_none_or(|i| !left.key_group.contains(&i));
    let lk_for_cut = lk.clone();
    let l_vis = left.visible;
    let r_vis = right.schema.columns.len();
    let layout = JoinLayout {
        left: (l_vis, ls.columns.len()),
        right: (r_vis, rs.columns.len()),
        names: [
            super::names::qualified_names(ls),
            super::names::qualified_names(rs),
        ],
    };
    // The joined scope, in the layout's order.
    let mut cols: Vec<ScopeColumn> = ls.columns[..l_vis].to_vec();
    cols.extend(rs.columns[..r_vis].iter().cloned());
    cols.push(ScopeColumn {
        qualifier: None,
        name: "ROWKEY".into(),
        ty: lk.ty.clone(),
    });
    for c in &ls.columns[l_vis..] {
        // An earlier join's ROWKEY is no longer addressable by name.
        let name = if c.name == "ROWKEY" {
            "$ROWKEY".to_string()
        } else {
            c.name.clone()
        };
        cols.push(ScopeColumn { name, ..c.clone() });
    }
    // The right side's pseudo-columns are addressable qualified
    // (`R.ROWTIME`); unqualified they mean the left-most source's.
    cols.extend(rs.columns[r_vis..].iter().cloned());
    let rowkey = layout.rowkey();
    // The result's key: the join column of a side (a plain column), or the
    // synthesized ROWKEY (always for FULL OUTER joins).
    let mut key_group = Vec::new();
    let mut key_hint = "ROWKEY".to_string();
    if join.kind != JoinKind::Full {
        if let Some(i) = lk.as_column().filter(|i| *i < l_vis) {
            // Joining on the previous join's key keeps all its columns as
            // alternatives for the key.
            if left.source.is_none() && left.key_group.contains(&i) {
                key_group.extend(left.key_group.iter().copied().filter(|k| *k < l_vis));
            } else {
                key_group.push(i);
            }
            key_hint = lk_expr.to_string();
        }
        if let Some(i) = rk.as_column().filter(|i| *i < r_vis) {
            key_group.push(l_vis + i);
            if key_group.len() == 1 {
                key_hint = rk_expr.to_string();
            }
        }
    }
    let synthetic = key_group.is_empty();
    let key_to_key = lk.as_column().is_some_and(|i| left.key_group.contains(&i))
        && rk
            .as_column()
            .is_some_and(|i| right.schema.key_indexes() == vec![i]);
    key_group.push(rowkey);
    let chosen = join_operator(
        join,
        left,
        right,
        (ls, rs),
        (lk, lk_expr),
        (rk, rk_expr),
        layout,
    )?;
    let (op, result, fk_keys) = (chosen.op, chosen.result, chosen.fk_keys);
    let mut scope = Scope::new(cols);
    scope.custom_types = ls.custom_types.clone();
    // A foreign-key join's result is keyed by every left key column.
    let fk = fk_keys.is_some();
    if let Some(keys) = fk_keys {
        key_group = keys;
    }
    Ok(JoinStep {
        op,
        scope,
        visible: l_vis + r_vis,
        key_group,
        key_hint,
        synthetic: synthetic && !fk,
        result,
        key_to_key: key_to_key && !fk,
        foreign_key: fk,
        left_rekey,
        right_rekey,
        rekeys_in_memory,
        left_key: lk_for_cut,
    })
}
