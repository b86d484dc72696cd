//! GROUP BY, windows and HAVING: the aggregation step. Rows are grouped by
//! the GROUP BY expressions (a stream grouped by something other than its
//! key is first re-keyed through an internal topic, where the query splits
//! by partition), folded by the aggregate calls (`aggregate_calls`) per
//! window (`window`), and the aggregated rows — keys, aggregate results,
//! window bounds — become what the SELECT list and HAVING read.

use super::aggregate_calls::rewrite_calls;
use super::names::{reject_map_key, NameGenerator};
use super::state::Planning;
use super::PlanOptions;
use crate::catalog::WindowInfo;
use crate::error::{Error, Result};
use crate::expr::{implicit_name, Compiled, Scope, ScopeColumn};
use crate::operators::aggregate::AggregateOperator;
use crate::operators::FilterOperator;
use crate::runtime::spec::RepartitionSpec;
use crate::sql::ast::{Expr, Query, SelectItem, SourceKind};
use crate::types::SqlType;

/// True when `expr` calls an aggregate function.
pub fn contains_aggregate(expr: &Expr) -> bool {
    super::rewrite::any(expr, &mut |e| {
        matches!(e, Expr::Function { name, .. }
            if crate::functions::aggregate::AggregateRegistry::global().get(name).is_some())
    })
}

/// Adds the aggregation (and HAVING's filter) when the query aggregates,
/// and continues from the aggregated rows.
pub fn plan_group_by(p: &mut Planning<'_>) -> Result<()> {
    if !p.aggregating {
        return Ok(());
    }
    let query = p.query;
    let delimited = p.source.value_format.kind == crate::formats::FormatKind::Delimited;
    if let Some(topic) = &p.group_repartition {
        // The steps before the aggregation run before the re-keying.
        let key = query
            .group_by
            .iter()
            .map(|e| Compiled::compile(e, &p.scope))
            .collect::<Result<Vec<_>>>()?;
        p.group_repartition_spec = Some(RepartitionSpec {
            topic: topic.clone(),
            partitions: p
                .options
                .partitions
                .get(&p.source.topic)
                .copied()
                .unwrap_or(1),
            operators: std::mem::take(&mut p.operators),
            key,
            key_format: p.source.key_format.clone(),
        });
        p.partition_local = true;
    }
    let agg = plan_aggregation(
        query,
        &p.select,
        &p.scope,
        p.table_input,
        delimited,
        &mut p.names,
        p.options,
    )?;
    p.operators.push(Box::new(agg.operator));
    if let Some(topic) = agg.changelog {
        p.changelogs.push(topic);
    }
    p.select = agg.select;
    p.scope = agg.scope;
    p.key_alternatives = false;
    p.key_positions = (0..agg.keys).collect();
    p.partition_exprs = agg.key_exprs;
    p.visible = agg.visible;
    p.window_info = agg.window;
    if let Some(h) = &agg.having {
        // Plans show HAVING as the query wrote it.
        let mut predicate = Compiled::compile(h, &p.scope)?;
        if let Some(written) = &query.having {
            predicate = predicate.with_text(written.to_string());
        }
        p.operators.push(Box::new(FilterOperator::having(
            predicate,
            (0..agg.keys).collect(),
        )));
    }
    p.result_kind = SourceKind::Table;
    Ok(())
}

/// What the aggregation step produces for the planner to continue with.
struct Aggregation {
    operator: AggregateOperator,
    changelog: Option<String>,
    /// The SELECT items with aggregate calls replaced by result columns.
    select: Vec<SelectItem>,
    /// HAVING, rewritten the same way.
    having: Option<Expr>,
    /// The aggregated rows' layout: keys, aggregate results, window bounds.
    scope: Scope,
    keys: usize,
    /// The GROUP BY expression behind each key column.
    key_exprs: Vec<Option<Expr>>,
    visible: usize,
    window: Option<WindowInfo>,
}

fn plan_aggregation(
    query: &Query,
    select: &[SelectItem],
    scope: &Scope,
    table_input: bool,
    value_format_is_delimited: bool,
    names: &mut NameGenerator,
    options: &PlanOptions,
) -> Result<Aggregation> {
    // A push query may aggregate a whole stream into one group.
    if query.group_by.is_empty() && !options.transient {
        return Err(Error::plan(
            "Aggregate functions need a GROUP BY clause: add GROUP BY with the columns to group on.",
        ));
    }
    // Grouping keys.
    let mut key_compiled = Vec::new();
    let mut key_cols = Vec::new();
    for e in &query.group_by {
        let c = Compiled::compile(e, scope)?;
        let name = match implicit_name(e) {
            Some(n) => n,
            None => names.next(),
        };
        reject_map_key(&name, &c.ty)?;
        key_cols.push(ScopeColumn {
            qualifier: None,
            name,
            ty: c.ty.clone(),
        });
        key_compiled.push(c);
    }
    // Aggregate calls, in order of appearance, replaced by result columns.
    let group_names: Vec<String> = key_cols.iter().map(|c| c.name.clone()).collect();
    let rewritten = rewrite_calls(
        query,
        select,
        scope,
        &group_names,
        table_input,
        value_format_is_delimited,
    )?;
    let (calls, select, having) = (rewritten.calls, rewritten.select, rewritten.having);
    // The aggregated row: keys, results, window bounds.
    let mut cols = key_cols.clone();
    for (i, (_, call)) in calls.iter().enumerate() {
        cols.push(ScopeColumn {
            qualifier: None,
            name: format!("$AGG{i}"),
            ty: call.function.return_type.clone(),
        });
    }
    let emit_final = query.emit == Some(crate::sql::ast::Emit::Final);
    let (assigner, window) = super::window::plan_window(query)?;
    // (ksqlDB does not expose window bounds after a join.)
    if window.is_some() && query.joins.is_empty() {
        let alias = query
            .from
            .alias
            .clone()
            .unwrap_or_else(|| query.from.name.clone());
        for name in ["WINDOWSTART", "WINDOWEND"] {
            cols.push(ScopeColumn {
                qualifier: Some(alias.clone()),
                name: name.to_string(),
                ty: SqlType::BigInt,
            });
        }
    }
    // Non-aggregate SELECT expressions must be grouping expressions.
    let keys = key_cols.len();
    let key_exprs: Vec<Option<Expr>> = query
        .group_by
        .iter()
        .cloned()
        .map(Some)
        .chain(std::iter::repeat(None))
        .take(cols.len())
        .collect();
    let post = Scope {
        columns: cols.clone(),
        custom_types: scope.custom_types.clone(),
    };
    let mut missing = Vec::new();
    for item in &select {
        if let SelectItem::Expr { expr, .. } = item {
            if key_exprs.iter().flatten().any(|k| k == expr) {
                continue;
            }
            if let Err(Error::Plan(m)) = Compiled::compile(expr, &post) {
                if m.contains("cannot be resolved") {
                    missing.push(expr.to_string());
                } else {
                    return Err(Error::Plan(m));
                }
            }
        }
        if let SelectItem::Star(_) = item {
            return Err(Error::plan("SELECT * is not supported with GROUP BY: name the columns and aggregates to select."));
        }
    }
    if !missing.is_empty() {
        return Err(Error::plan(format!(
            "Non-aggregate SELECT expression(s) not part of GROUP BY: {}\nEither add the column to the GROUP BY or remove it from the SELECT.",
            missing.join(", ")
        )));
    }
    let changelog = options.query_id.as_ref().map(|id| {
        format!(
            "_confluent-ksql-{}query_{id}-Aggregate-Aggregate-Materialize-changelog",
            options.service_id
        )
    });
    let mut operator = AggregateOperator::new(
        key_compiled,
        calls.into_iter().map(|(_, c)| c).collect(),
        assigner,
        changelog.clone(),
        table_input,
    );
    if emit_final {
        operator = operator.emit_final();
    }
    operator = operator.with_retention(super::window::retention(query));
    Ok(Aggregation {
        operator,
        changelog,
        select,
        having,
        visible: cols.len(),
        scope: post,
        keys,
        key_exprs,
        window,
    })
}
