//! Planning joins: checks the join is one ksqlDB supports (kinds, WITHIN,
//! keys), lays out the joined row (each side's columns, then the join key
//! ROWKEY, then each side's pseudo-columns) and builds the join operator.

use super::expr::{Compiled, Scope, ScopeColumn};
use super::planner::{source_scope, PlanInput};
use crate::catalog::{Catalog, Source};
use crate::error::{Error, Result};
use crate::operators::join_row::JoinLayout;
use crate::operators::stream_stream_join::StreamStreamJoinOperator;
use crate::operators::stream_table_join::StreamTableJoinOperator;
use crate::operators::table_table_join::TableTableJoinOperator;
use crate::runtime::JoinOperator;
use crate::sql::ast::{BinaryOp, Expr, JoinKind, Query, SourceKind};

/// The joined input a query continues from.
pub struct JoinedInput {
    pub inputs: Vec<PlanInput>,
    pub join: Box<dyn JoinOperator>,
    /// The joined row's layout.
    pub scope: Scope,
    /// How many leading columns `*` shows.
    pub visible: usize,
    /// Positions that each hold the result's key (any one may be selected).
    pub key_group: Vec<usize>,
    /// How the key must be selected, for the error when it is not.
    pub key_hint: String,
    /// True when the key is the synthesized ROWKEY only.
    pub synthetic_key: bool,
    /// A stream unless both sides are tables.
    pub result: SourceKind,
    pub left: Source,
}

const DEFAULT_GRACE_MS: i64 = 24 * 3_600_000;

fn kind_name(k: JoinKind) -> &'static str {
    match k {
        JoinKind::Inner => "inner",
        JoinKind::Left => "left",
        JoinKind::Right => "right",
        JoinKind::Full => "full-outer",
    }
}

/// Plans `FROM left JOIN right ON ...` (two sources).
pub fn plan_join(query: &Query, catalog: &Catalog) -> Result<JoinedInput> {
    if query.joins.len() > 1 {
        return Err(Error::plan(
            "Joins of more than two sources are not supported yet",
        ));
    }
    let join = &query.joins[0];
    let left = catalog
        .source(&query.from.name)
        .map_err(|_| Error::plan(format!("{} does not exist.", query.from.name)))?
        .clone();
    let right = catalog
        .source(&join.right.name)
        .map_err(|_| Error::plan(format!("{} does not exist.", join.right.name)))?
        .clone();
    let la = query
        .from
        .alias
        .clone()
        .unwrap_or_else(|| left.name.clone());
    let ra = join
        .right
        .alias
        .clone()
        .unwrap_or_else(|| right.name.clone());
    if left.name == right.name {
        return Err(Error::plan(format!(
            "Can not join '{}' to '{}': self joins are not yet supported.",
            left.name, right.name
        )));
    }
    let kafka: Vec<&str> = [&left, &right]
        .iter()
        .filter(|s| s.value_format.kind == crate::formats::FormatKind::Kafka)
        .map(|s| s.name.as_str())
        .collect();
    if !kafka.is_empty() {
        return Err(Error::plan(format!(
            "Source(s) {} are using the 'KAFKA' value format. This format does not yet support JOIN.",
            kafka.join(", ")
        )));
    }
    match (left.window, right.window) {
        (Some(a), Some(b)) if (a == crate::catalog::WindowInfo::Session) != (b == crate::catalog::WindowInfo::Session) => {
            return Err(Error::plan(format!(
                "Incompatible windowed sources. Left source: {} Right source: {} Session windowed sources can only be joined to other session windowed sources, and may still not result in expected behaviour as session bounds must be an exact match for a join to work",
                a.type_name(),
                b.type_name()
            )))
        }
        (Some(w), None) | (None, Some(w)) => {
            let (windowed, other) = if left.window.is_some() { (&left, &right) } else { (&right, &left) };
            return Err(Error::plan(format!(
                "Can not join windowed source to non-windowed source. `{}` is {} windowed `{}` is not windowed",
                windowed.name,
                w.type_name(),
                other.name
            )));
        }
        _ => {}
    }
    if la == ra {
        return Err(Error::plan(format!(
            "Can not join '{}' to '{}': self joins require unique aliases for both sides",
            left.name, right.name
        )));
    }
    let describe = |s: &Source| format!("{} [{}]", s.kind_name(), s.name);
    match (left.kind, right.kind) {
        (SourceKind::Table, SourceKind::Stream) => {
            return Err(Error::plan(format!(
                "Invalid join order: table-stream joins are not supported; only stream-table joins. Got {} {} JOIN {}.",
                describe(&left),
                kind_name(join.kind).to_ascii_uppercase(),
                describe(&right)
            )))
        }
        (SourceKind::Stream, SourceKind::Table) if matches!(join.kind, JoinKind::Right | JoinKind::Full) => {
            return Err(Error::plan(format!(
                "Invalid join type: {} join not supported for stream-table join. Got {} {} JOIN {}.",
                kind_name(join.kind),
                describe(&left),
                if join.kind == JoinKind::Full { "FULL OUTER" } else { "RIGHT" },
                describe(&right)
            )))
        }
        (SourceKind::Stream, SourceKind::Stream) if join.within.is_none() => {
            return Err(Error::plan(
                "Stream-Stream joins must have a WITHIN clause specified. None was provided. To learn about how to specify a WITHIN clause with a stream-stream join, please visit: https://docs.confluent.io/current/ksql/docs/syntax-reference.html#create-stream-as-select",
            ))
        }
        (_, SourceKind::Table) | (SourceKind::Table, _) if join.within.is_some() => {
            return Err(Error::plan(
                "A window definition was provided for a Stream-Table join. These joins are not windowed. Please drop the window definition (i.e. the WITHIN clause) and try to execute your join again.",
            ))
        }
        _ => {}
    }
    let mut ls = source_scope(&left, &la);
    let mut rs = source_scope(&right, &ra);
    let types = catalog.type_list();
    ls.custom_types = types.clone();
    rs.custom_types = types.clone();
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
    let (lk_expr, rk_expr) = match (Compiled::compile(a, &ls), Compiled::compile(b, &rs)) {
        (Ok(_), Ok(_)) => (a.as_ref(), b.as_ref()),
        _ => match (Compiled::compile(b, &ls), Compiled::compile(a, &rs)) {
            (Ok(_), Ok(_)) => (b.as_ref(), a.as_ref()),
            _ => {
                return Err(Error::plan(format!(
                    "Invalid comparison expression '{}' in join '{}'. Each side of the join comparision must contain references from exactly one source.",
                    join.on, join.on
                )))
            }
        },
    };
    let lk = Compiled::compile(lk_expr, &ls)?;
    let rk = Compiled::compile(rk_expr, &rs)?;
    for (s, k) in [(&left, &lk), (&right, &rk)] {
        if s.window.is_some()
            && k.as_column().map(|i| s.schema.key_indexes() == vec![i]) != Some(true)
        {
            return Err(Error::plan(
                "Implicit repartitioning of windowed sources is not supported. See https://github.com/confluentinc/ksql/issues/4385.",
            ));
        }
    }
    if lk.ty != rk.ty {
        return Err(Error::plan(format!(
            "Invalid join condition: types don't match. Got {}{{{}}} = {}{{{}}}.",
            lk_expr, lk.ty, rk_expr, rk.ty
        )));
    }
    let l_vis = left.schema.columns.len();
    let r_vis = right.schema.columns.len();
    let layout = JoinLayout {
        left: (l_vis, ls.columns.len()),
        right: (r_vis, rs.columns.len()),
    };
    // The joined scope, in the layout's order.
    let mut cols: Vec<ScopeColumn> = ls.columns[..l_vis].to_vec();
    cols.extend(rs.columns[..r_vis].iter().cloned());
    cols.push(ScopeColumn {
        qualifier: None,
        name: "ROWKEY".into(),
        ty: lk.ty.clone(),
    });
    cols.extend(ls.columns[l_vis..].iter().cloned());
    for c in &rs.columns[r_vis..] {
        // The right side's pseudo-columns are not addressable by name.
        cols.push(ScopeColumn {
            qualifier: c.qualifier.clone(),
            name: format!("${}", c.name),
            ty: c.ty.clone(),
        });
    }
    let rowkey = layout.rowkey();
    // The result's key: the join column of a side (a plain column), or the
    // synthesized ROWKEY (always for FULL OUTER joins).
    let mut key_group = Vec::new();
    let mut key_hint = "ROWKEY".to_string();
    if join.kind != JoinKind::Full {
        if let Some(i) = lk.as_column().filter(|i| *i < l_vis) {
            key_group.push(i);
            key_hint = lk_expr.to_string();
        }
        if let Some(i) = rk.as_column().filter(|i| *i < r_vis) {
            key_group.push(l_vis + i);
            if key_group.len() == 1 {
                key_hint = rk_expr.to_string();
            }
        }
    }
    let synthetic_key = key_group.is_empty();
    key_group.push(rowkey);
    let table_key = |s: &Source, k: &Compiled, e: &Expr| -> Result<usize> {
        let keys = s.schema.key_indexes();
        match k.as_column() {
            Some(i) if keys == vec![i] => Ok(i),
            _ => Err(Error::plan(format!(
                "Cannot repartition a TABLE source. If this is a join, make sure that the criteria uses the TABLE's key column {} instead of [{}]",
                keys.iter().map(|i| s.schema.columns[*i].name.clone()).collect::<Vec<_>>().join(", "),
                e
            ))),
        }
    };
    let (op, result): (Box<dyn JoinOperator>, SourceKind) = match (left.kind, right.kind) {
        (SourceKind::Stream, SourceKind::Table) => {
            let tk = table_key(&right, &rk, rk_expr)?;
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
            let lkey = table_key(&left, &lk, lk_expr).map_err(|_| {
                Error::plan(format!(
                    "Foreign-key joins (joining on {lk_expr}, which is not {}'s primary key) are not supported yet",
                    left.name
                ))
            })?;
            let rkey = table_key(&right, &rk, rk_expr)?;
            (
                Box::new(TableTableJoinOperator::new(layout, lkey, rkey, join.kind)),
                SourceKind::Table,
            )
        }
        _ => {
            let within = join.within.as_ref().expect("checked above");
            let grace = within.grace.map(|g| g.millis()).unwrap_or(DEFAULT_GRACE_MS);
            (
                Box::new(StreamStreamJoinOperator::new(
                    layout,
                    [lk, rk],
                    join.kind,
                    (within.before.millis(), within.after.millis(), grace),
                )),
                SourceKind::Stream,
            )
        }
    };
    let mut scope = Scope::new(cols);
    scope.custom_types = types;
    // Tables are read as changes, streams as rows.
    let input = |s: &Source| PlanInput {
        source: s.clone(),
        operators: Vec::new(),
    };
    Ok(JoinedInput {
        inputs: vec![input(&left), input(&right)],
        join: op,
        scope,
        visible: l_vis + r_vis,
        key_group,
        key_hint,
        synthetic_key,
        result,
        left,
    })
}
