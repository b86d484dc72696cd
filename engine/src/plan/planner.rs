//! The query planner: resolves a SELECT against the catalog and builds the
//! operator pipeline that computes it, with the schema of its result.
//!
//! The logical shape is Source -> Filter (WHERE) -> FlatMap (table
//! functions) -> Rekey (PARTITION BY) -> Project (SELECT). Each step's row
//! layout is described by a [`Scope`] so expressions compile to positions.

use super::{source_scope, PlanOptions};
use crate::catalog::WindowInfo;
use crate::catalog::{Catalog, Source};
use crate::error::{Error, Result};
use crate::expr::{implicit_name, Compiled, Scope, ScopeColumn};
use crate::operators::aggregate::{AggregateCall, AggregateOperator, WindowAssigner};
use crate::operators::materialize::MaterializeOperator;
use crate::operators::Operator;
use crate::operators::{FilterOperator, FlatMapOperator, ProjectOperator, TableFunction};
use crate::runtime::spec::{PlanInput, RepartitionSpec};
use crate::sql::ast::{Expr, Query, SelectItem, SourceKind};
use crate::types::{Column, ColumnKind, Schema, SqlType};
use std::collections::BTreeMap;

/// Replaces table-function calls in `expr` with references to the column
/// `f(name, args)` returns (None leaves the call as it is).
fn rewrite_table_functions(
    expr: &Expr,
    f: &mut dyn FnMut(&str, &[Expr]) -> Option<String>,
) -> Expr {
    super::rewrite::transform(expr, &mut |e| match e {
        Expr::Function { name, args, .. }
            if crate::functions::table_function_names()
                .contains(&name.to_ascii_uppercase().as_str()) =>
        {
            f(&name.to_ascii_uppercase(), args).map(|col| Expr::Column {
                qualifier: None,
                name: col,
            })
        }
        _ => None,
    })
}

/// A planned query: where it reads, what it runs, what it produces.
pub struct QueryPlan {
    /// The first (or only) source, whose formats a sink inherits.
    pub source: Source,
    pub inputs: Vec<PlanInput>,
    /// How the inputs are combined when there are several.
    pub join: Option<Box<dyn crate::operators::JoinOperator>>,
    /// The operators after the inputs (and the join).
    pub operators: Vec<Box<dyn Operator>>,
    /// The result's columns: keys first, then values, in row order.
    pub schema: Schema,
    /// The sources read (for dependency tracking).
    pub sources: Vec<String>,
    /// Whether the result is a table (aggregations, queries over tables).
    pub kind: SourceKind,
    /// The window of a windowed aggregation's result keys.
    pub window: Option<WindowInfo>,
    /// State changelog topics the operators write to.
    pub changelogs: Vec<String>,
    /// Rows meet in the query's state only with rows of the same input
    /// partition: it may run as one copy per partition.
    pub partition_local: bool,
}

/// Plans a query over one stream or table: filters, projections,
/// re-keying and aggregations.
pub fn plan_query(query: &Query, catalog: &Catalog, options: &PlanOptions) -> Result<QueryPlan> {
    if !query.order_by.is_empty() {
        return Err(Error::plan(
            "ORDER BY is only supported in pull queries: a continuous query's results have no final order.",
        ));
    }
    let mut joined = if query.joins.is_empty() {
        None
    } else {
        Some(super::join::plan_join(query, catalog, options)?)
    };
    let source_owned = match &joined {
        Some(j) => j.left.clone(),
        None => catalog
            .source(&query.from.name)
            .map_err(|_| Error::plan(format!("{} does not exist.", query.from.name)))?
            .clone(),
    };
    let source = &source_owned;
    let table_input = match &joined {
        Some(j) => j.result == SourceKind::Table,
        None => source.kind == SourceKind::Table,
    };
    let aggregating = query.window.is_some()
        || !query.group_by.is_empty()
        || query.having.is_some()
        || query.select.iter().any(|i| match i {
            SelectItem::Expr { expr, .. } => contains_aggregate(expr),
            SelectItem::Star(_) => false,
        });
    if table_input && !query.partition_by.is_empty() {
        return Err(Error::plan(format!(
            "Invalid Partition By: a table ({}) cannot be re-partitioned; use GROUP BY to re-key a table.",
            source.name
        )));
    }
    if aggregating && !query.partition_by.is_empty() {
        return Err(Error::plan("PARTITION BY cannot be used with GROUP BY: the result is keyed by the GROUP BY expressions."));
    }
    if source.window.is_some() && table_input && !options.transient {
        return Err(Error::plan(
            "KSQL does not support persistent queries on windowed tables.",
        ));
    }
    if query.window.is_some() && table_input {
        return Err(Error::plan(format!(
            "Windowed aggregations are only supported over streams: {} is a table.",
            source.name
        )));
    }
    let qualifier = query
        .from
        .alias
        .clone()
        .unwrap_or_else(|| source.name.clone());
    let mut scope = source_scope(source, &qualifier);
    scope.custom_types = catalog.type_list();
    // Whether every row the query's state combines comes from the same
    // input partition, so the query can run one copy per partition: joins
    // of co-partitioned (or re-keyed) inputs without a later aggregation,
    // aggregations grouped by exactly their input's key, and queries over
    // one table that keep its key.
    let grouped_by_key = {
        let mut grouped: Option<Vec<usize>> = query
            .group_by
            .iter()
            .map(|e| {
                Compiled::compile(e, &scope)
                    .ok()
                    .and_then(|c| c.as_column())
            })
            .collect();
        if let Some(g) = grouped.as_mut() {
            g.sort_unstable();
            g.dedup();
        }
        grouped.is_some_and(|g| !g.is_empty() && g == source.schema.key_indexes())
    };
    let mut partition_local = match &joined {
        Some(j) => j.partition_local && !j.key_columns_all && !aggregating,
        None if aggregating => grouped_by_key,
        None => true,
    };
    // A stream grouped by something other than its key is re-keyed by the
    // grouping through an internal topic where that lets the work split by
    // partition (on Kafka), as ksqlDB does.
    let group_repartition = match &options.query_id {
        Some(id)
            if options.repartition_groups
                && aggregating
                && !grouped_by_key
                && joined.is_none()
                && !table_input
                && source.window.is_none() =>
        {
            Some(format!(
                "_confluent-ksql-{}query_{id}-Aggregate-GroupBy-repartition",
                options.service_id
            ))
        }
        _ => None,
    };
    let mut group_repartition_spec = None;
    // Columns that are keys in the current layout, by position.
    let mut key_positions: Vec<usize> = (0..source.schema.columns.len())
        .filter(|i| source.schema.columns[*i].is_key())
        .collect();
    let mut visible = source.schema.columns.len();
    // After a join the key positions are alternatives: each holds the key.
    let mut key_alternatives = false;
    let mut key_hint = None;
    if let Some(j) = &joined {
        scope = j.scope.clone();
        key_positions = j.key_group.clone();
        visible = j.visible;
        key_alternatives = !j.key_columns_all;
        key_hint = Some((j.key_hint.clone(), j.synthetic_key));
    }
    let join_naming = joined.is_some();
    // Column names both sides of a join have: selected qualified, they are
    // named ALIAS_COLUMN.
    let ambiguous: std::collections::HashSet<String> = if join_naming {
        let mut seen: BTreeMap<&str, Option<&str>> = BTreeMap::new();
        let mut out = std::collections::HashSet::new();
        for c in &scope.columns[..visible] {
            match seen.get(c.name.as_str()) {
                Some(q) if *q != c.qualifier.as_deref() => {
                    out.insert(c.name.clone());
                }
                _ => {
                    seen.insert(&c.name, c.qualifier.as_deref());
                }
            }
        }
        out
    } else {
        Default::default()
    };
    let mut operators: Vec<Box<dyn Operator>> = Vec::new();
    let mut names = NameGenerator::new(query, &scope);
    // Tables are read as changes that carry the row they replace; the
    // materialization belongs to the input (it is rebuilt from the topic).
    let mut input_operators: Vec<Box<dyn Operator>> = Vec::new();
    if table_input && joined.is_none() {
        input_operators.push(Box::new(MaterializeOperator::new(key_positions.clone())));
    }

    if let Some(w) = &query.where_clause {
        let predicate = Compiled::compile(w, &scope)?;
        if !matches!(predicate.ty, SqlType::Boolean | SqlType::Null) {
            return Err(Error::plan(format!(
                "Type error in WHERE expression: Should evaluate to boolean but is {} ({}) instead.",
                w, predicate.ty
            )));
        }
        operators.push(Box::new(match (&joined, table_input) {
            // A table join's rows carry no previous value: remember which
            // keys passed, so one that stops matching is deleted.
            (Some(j), true) => {
                FilterOperator::having(predicate, j.key_group.last().copied().into_iter().collect())
            }
            (None, true) => FilterOperator::for_table(predicate),
            _ => FilterOperator::new(predicate),
        }));
    }

    // Table functions: replace each call with a generated column.
    let mut select: Vec<SelectItem> = query.select.clone();
    let mut table_functions = Vec::new();
    for item in select.iter_mut() {
        if let SelectItem::Expr { expr, .. } = item {
            let mut tf_err = None;
            *expr = rewrite_table_functions(expr, &mut |name: &str, args: &[Expr]| {
                let r = (|| {
                    if args.len() != 1 {
                        return Err(Error::plan(format!(
                            "Function '{name}' does not accept parameters ({})",
                            args.iter()
                                .map(|a| a.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    }
                    let arg = Compiled::compile(&args[0], &scope)?;
                    let elem = match &arg.ty {
                        SqlType::Array(t) => (**t).clone(),
                        other => {
                            return Err(Error::plan(format!(
                                "Function '{name}' does not accept parameters ({other})."
                            )))
                        }
                    };
                    let (f, ty) = if name == "EXPLODE" {
                        (TableFunction::Explode(arg), elem)
                    } else {
                        let ty = SqlType::Array(Box::new(elem));
                        (TableFunction::CubeExplode(arg), ty)
                    };
                    let col = format!("$TF{}", table_functions.len());
                    table_functions.push((f, col.clone(), ty));
                    Ok(col)
                })();
                match r {
                    Ok(col) => Some(col),
                    Err(e) => {
                        tf_err.get_or_insert(e);
                        None
                    }
                }
            });
            if let Some(e) = tf_err {
                return Err(e);
            }
        }
    }
    if !table_functions.is_empty() {
        let mut fns = Vec::new();
        for (f, col, ty) in table_functions {
            scope.columns.push(ScopeColumn {
                qualifier: None,
                name: col,
                ty,
            });
            fns.push(f);
        }
        operators.push(Box::new(FlatMapOperator::new(fns)));
    }

    // PARTITION BY: a new key from expressions; old keys move to the value.
    // `partition_exprs[i]` is the expression behind key column i, so a
    // SELECT item repeating it (maybe aliased) is recognised as that key.
    let mut partition_exprs: Vec<Option<Expr>> = vec![None; scope.columns.len()];
    if !query.partition_by.is_empty() {
        let mut exprs = Vec::new();
        let mut new_scope = Vec::new();
        let mut moved = Vec::new();
        let mut key_exprs = Vec::new();
        let is_null_literal = |e: &Expr| matches!(e, Expr::Literal(crate::sql::ast::Literal::Null));
        let partition_by_null =
            query.partition_by.len() == 1 && is_null_literal(&query.partition_by[0]);
        if !partition_by_null {
            for e in &query.partition_by {
                let c = Compiled::compile(e, &scope)?;
                let name = match implicit_name(e) {
                    Some(n) => n,
                    None => names.next(),
                };
                reject_map_key(&name, &c.ty)?;
                if let Some(i) = c.as_column() {
                    moved.push(i);
                }
                new_scope.push(ScopeColumn {
                    qualifier: Some(qualifier.clone()),
                    name,
                    ty: c.ty.clone(),
                });
                exprs.push(c);
                key_exprs.push(Some(e.clone()));
            }
        }
        let new_keys = exprs.len();
        // Old value columns first, then the old keys, as ksqlDB lays them out.
        let old_values = (0..visible).filter(|i| !key_positions.contains(i));
        let old_keys = key_positions.iter().copied();
        for i in old_values.chain(old_keys) {
            if moved.contains(&i) {
                continue;
            }
            exprs.push(Compiled::column(i, scope.columns[i].ty.clone()));
            new_scope.push(scope.columns[i].clone());
        }
        let new_visible = new_scope.len();
        // Pseudo-columns and generated columns ride along.
        for i in visible..scope.columns.len() {
            exprs.push(Compiled::column(i, scope.columns[i].ty.clone()));
            new_scope.push(scope.columns[i].clone());
        }
        // A tombstone has no value to compute a new key from: only new key
        // columns that are old key columns keep a value, the rest are null.
        let tomb_keys: Vec<usize> = (0..new_keys)
            .filter(|i| {
                let mut refs = Vec::new();
                exprs[*i].references(&mut refs);
                refs.iter().all(|c| key_positions.contains(c))
            })
            .collect();
        operators.push(Box::new(ProjectOperator::rekey(exprs, tomb_keys)));
        key_exprs.resize(new_scope.len(), None);
        partition_exprs = key_exprs;
        scope.columns = new_scope;
        key_positions = (0..new_keys).collect();
        visible = new_visible;
    }

    // GROUP BY / WINDOW: aggregate, then select over the aggregated rows.
    let mut result_kind = if table_input {
        SourceKind::Table
    } else {
        SourceKind::Stream
    };
    let mut window_info = source.window;
    let mut changelogs = Vec::new();
    if aggregating {
        let delimited = source.value_format.kind == crate::formats::FormatKind::Delimited;
        if let Some(topic) = &group_repartition {
            // The steps before the aggregation run before the re-keying.
            let key = query
                .group_by
                .iter()
                .map(|e| Compiled::compile(e, &scope))
                .collect::<Result<Vec<_>>>()?;
            group_repartition_spec = Some(RepartitionSpec {
                topic: topic.clone(),
                partitions: options.partitions.get(&source.topic).copied().unwrap_or(1),
                operators: std::mem::take(&mut operators),
                key,
                key_format: source.key_format.clone(),
            });
            partition_local = true;
        }
        let agg = plan_aggregation(
            query,
            &select,
            &scope,
            table_input,
            delimited,
            &mut names,
            options,
        )?;
        operators.push(Box::new(agg.operator));
        if let Some(topic) = agg.changelog {
            changelogs.push(topic);
        }
        select = agg.select;
        scope = agg.scope;
        key_alternatives = false;
        key_positions = (0..agg.keys).collect();
        partition_exprs = agg.key_exprs;
        visible = agg.visible;
        window_info = agg.window;
        if let Some(h) = &agg.having {
            let predicate = Compiled::compile(h, &scope)?;
            operators.push(Box::new(FilterOperator::having(
                predicate,
                (0..agg.keys).collect(),
            )));
        }
        result_kind = SourceKind::Table;
    }

    // SELECT
    struct Item {
        name: String,
        expr: Compiled,
        /// The key column this item carries, if it is one.
        key: Option<usize>,
        aliased: bool,
    }
    let mut items: Vec<Item> = Vec::new();
    let key_of = |c: &Compiled, ast: Option<&Expr>| -> Option<usize> {
        if let Some(i) = c.as_column() {
            if key_positions.contains(&i) {
                return Some(i);
            }
        }
        let ast = ast?;
        key_positions
            .iter()
            .copied()
            .find(|k| partition_exprs.get(*k).and_then(|e| e.as_ref()) == Some(ast))
    };
    for item in &select {
        match item {
            SelectItem::Star(q) => {
                // Over a windowed source, a query's `*` shows the window
                // bounds right after the key columns.
                let window_bounds: Vec<usize> =
                    if options.transient && source.window.is_some() && !aggregating {
                        ["WINDOWSTART", "WINDOWEND"]
                            .iter()
                            .filter_map(|n| scope.columns.iter().position(|c| c.name == *n))
                            .collect()
                    } else {
                        Vec::new()
                    };
                // Keys first, except after a join, where `*` keeps the
                // sources' column order.
                let mut order: Vec<usize> = (0..visible)
                    .filter(|i| !join_naming && key_positions.contains(i))
                    .collect();
                order.extend(window_bounds);
                order.extend((0..visible).filter(|i| join_naming || !key_positions.contains(i)));
                for i in order {
                    let c = &scope.columns[i];
                    if let Some(q) = q {
                        if c.qualifier.as_deref() != Some(q.as_str()) {
                            continue;
                        }
                    }
                    let expr = Compiled::column(i, c.ty.clone());
                    let name = match (&c.qualifier, join_naming) {
                        (Some(q), true) => format!("{q}_{}", c.name),
                        _ => c.name.clone(),
                    };
                    items.push(Item {
                        name,
                        key: key_of(&expr, None),
                        expr,
                        aliased: false,
                    });
                }
            }
            SelectItem::Expr {
                expr: Expr::Deref { expr: base, field },
                alias: None,
            } if field == "*" => {
                let b = Compiled::compile(base, &scope).map_err(|e| select_error(e, base))?;
                let SqlType::Struct(fields) = &b.ty else {
                    return Err(Error::plan(format!(
                        "Expected STRUCT type for '{base}->*', got {}",
                        b.ty
                    )));
                };
                for (name, _) in fields {
                    let e = Expr::Deref {
                        expr: base.clone(),
                        field: name.clone(),
                    };
                    let c = Compiled::compile(&e, &scope)?;
                    items.push(Item {
                        name: name.clone(),
                        expr: c,
                        key: None,
                        aliased: false,
                    });
                }
            }
            SelectItem::Expr { expr, alias } => {
                let c = Compiled::compile(expr, &scope).map_err(|e| select_error(e, expr))?;
                // Generated columns ($TF.., $AGG..) have no user-facing name;
                // a qualified column of a join is named ALIAS_COLUMN.
                let implicit = match (expr, join_naming) {
                    (
                        Expr::Column {
                            qualifier: Some(q),
                            name,
                        },
                        true,
                    ) if ambiguous.contains(name) => Some(format!("{q}_{name}")),
                    _ => implicit_name(expr),
                }
                .filter(|n| !n.starts_with('$'));
                let name = match (alias, implicit) {
                    (Some(a), _) => a.clone(),
                    (None, Some(n)) if !matches!(expr, Expr::Deref { .. }) => n,
                    (None, Some(n)) => {
                        // Struct fields named like an earlier column get a
                        // numeric suffix.
                        let mut candidate = n.clone();
                        let mut k = 1;
                        while items.iter().any(|it| it.name == candidate) {
                            candidate = format!("{n}_{k}");
                            k += 1;
                        }
                        candidate
                    }
                    (None, None) => match key_of(&c, Some(expr)) {
                        // An unnamed expression that repeats a PARTITION BY
                        // expression is that key column, with its name.
                        Some(k) => scope.columns[k].name.clone(),
                        None => names.next(),
                    },
                };
                items.push(Item {
                    key: key_of(&c, Some(expr)),
                    name,
                    expr: c,
                    aliased: alias.is_some(),
                });
            }
        }
    }
    // Keys: the current key columns, where selected.
    let mut out_keys: Vec<usize> = Vec::new(); // indexes into items
    let mut missing = Vec::new();
    if key_alternatives {
        // A join's key: the item holding the preferred key column (the left
        // side's join column, then the right's, then ROWKEY); other copies
        // are values.
        let rank = |i: usize| {
            items[i]
                .key
                .and_then(|k| key_positions.iter().position(|p| *p == k))
        };
        let chosen = (0..items.len())
            .filter(|i| rank(*i).is_some())
            .min_by_key(|i| (rank(*i), *i));
        match chosen {
            Some(i) => {
                let same: Vec<usize> = (0..items.len())
                    .filter(|j| items[*j].key == items[i].key)
                    .collect();
                if same.len() > 1 {
                    let k = items[i].key.expect("found as a key");
                    let mut aliases: Vec<String> =
                        same.iter().map(|j| items[*j].name.clone()).collect();
                    aliases.sort();
                    return Err(Error::plan(format!(
                        "The projection contains a key column (`{}`) more than once, aliased as: {}.",
                        match &scope.columns[k].qualifier {
                            Some(q) => format!("{q}_{}", scope.columns[k].name),
                            None => scope.columns[k].name.clone(),
                        },
                        aliases.join(" and ")
                    )));
                }
                // The key's value is the join key itself (ROWKEY, the last
                // of the group): a side's column is NULL in an outer result
                // without that side.
                if let Some(&rowkey) = key_positions.last() {
                    let ty = items[i].expr.ty.clone();
                    items[i].expr = Compiled::column(rowkey, ty);
                }
                out_keys.push(i)
            }
            None if !options.new_planner && !options.transient => {
                let (hint, synthetic) = key_hint.clone().unwrap_or_default();
                let name = options.sink_name.clone().unwrap_or_default();
                let mut msg = format!(
                    "Key missing from projection (ie, SELECT). See https://cnfl.io/2LV7ouS.\nThe query used to build `{name}` must include the join expression {hint} in its projection (eg, SELECT {hint}...)."
                );
                if synthetic {
                    msg.push_str("\nROWKEY was added as a synthetic key column because the join criteria did not match any source column. This expression must be included in the projection and may be aliased.");
                }
                return Err(Error::plan(msg));
            }
            None => {}
        }
    }
    for &k in key_positions.iter().filter(|_| !key_alternatives) {
        let holders: Vec<usize> = (0..items.len())
            .filter(|i| items[*i].key == Some(k))
            .collect();
        match holders.as_slice() {
            [] => missing.push(scope.columns[k].name.clone()),
            [i] => {
                // The key column's value is the key itself (a repeated
                // PARTITION BY expression is evaluated once, before the
                // re-key, and survives a tombstone).
                let ty = items[*i].expr.ty.clone();
                items[*i].expr = Compiled::column(k, ty);
                out_keys.push(*i)
            }
            many => {
                return Err(Error::plan(format!(
                    "The projection contains a key column (`{}`) more than once, aliased as: {}.",
                    scope.columns[k].name,
                    many.iter()
                        .map(|i| items[*i].name.clone())
                        .collect::<Vec<_>>()
                        .join(" and ")
                )))
            }
        }
    }
    if !missing.is_empty() && !options.new_planner && !options.transient {
        let list = missing.join(" and ");
        let plural = if missing.len() > 1 {
            "columns"
        } else {
            "column"
        };
        let name = options.sink_name.clone().unwrap_or_default();
        return Err(Error::plan(format!(
            "Key missing from projection (ie, SELECT). See https://cnfl.io/2LV7ouS.\nThe query used to build `{name}` must include the key {plural} {list} in its projection (eg, SELECT {}...).",
            missing.join(", ")
        )));
    }
    if options.new_planner {
        out_keys.sort();
    }
    if !options.transient {
        for (i, it) in items.iter().enumerate() {
            if out_keys.contains(&i) {
                continue;
            }
            let window_bound = matches!(it.name.as_str(), "WINDOWSTART" | "WINDOWEND");
            if RESERVED_COLUMNS.contains(&it.name.as_str())
                && !(window_bound && aggregating && window_info.is_some())
            {
                return Err(Error::plan(if it.aliased {
                    format!("`{}` is a reserved column name. You cannot use it as an alias for a column.", it.name)
                } else {
                    format!(
                        "Reserved column name in select: `{}`. Please remove or alias the column.",
                        it.name
                    )
                }));
            }
        }
        let input_has_values = (0..visible).any(|i| !key_positions.contains(&i));
        if items.len() == out_keys.len() && input_has_values {
            return Err(Error::plan("The projection contains no value columns."));
        }
    }
    // A sink lays out keys first; a query's rows keep the SELECT order.
    let order: Vec<usize> = if options.transient {
        (0..items.len()).collect()
    } else {
        out_keys
            .iter()
            .copied()
            .chain((0..items.len()).filter(|i| !out_keys.contains(i)))
            .collect()
    };
    let mut columns = Vec::new();
    let mut exprs = Vec::new();
    let mut tomb_keys = Vec::new();
    for i in order {
        let it = &items[i];
        let kind = if out_keys.contains(&i) {
            reject_map_key(&it.name, &it.expr.ty)?;
            tomb_keys.push(exprs.len());
            ColumnKind::Key
        } else {
            ColumnKind::Value
        };
        columns.push(Column::new(it.name.clone(), it.expr.ty.clone(), kind));
        exprs.push(it.expr.clone());
    }
    let mut seen = BTreeMap::new();
    for c in &columns {
        if seen.insert(c.name.clone(), ()).is_some() {
            return Err(Error::plan(format!(
                "Duplicate value columns found in schema: `{}` {}",
                c.name, c.ty
            )));
        }
        if c.ty == SqlType::Null && !options.transient {
            return Err(Error::plan(format!(
                "Can't infer a type of null. Please explicitly cast it to a required type, e.g. CAST(null AS VARCHAR). (column {})",
                c.name
            )));
        }
    }
    operators.push(Box::new(ProjectOperator::new(exprs, tomb_keys)));
    let (inputs, join) = match joined.take() {
        Some(j) => (j.inputs, Some(j.join)),
        None => (
            vec![PlanInput {
                source: source.clone(),
                operators: input_operators,
                repartition: group_repartition_spec,
                rekeyed: None,
            }],
            None,
        ),
    };
    let mut sources: Vec<String> = inputs
        .iter()
        .filter(|i| i.rekeyed.is_none())
        .map(|i| i.source.name.clone())
        .collect();
    sources.dedup();
    Ok(QueryPlan {
        source: source.clone(),
        inputs,
        join,
        operators,
        schema: Schema::new(columns),
        sources,
        kind: result_kind,
        window: window_info,
        changelogs,
        partition_local,
    })
}

/// Names of system columns, which results may not use for value columns.
pub const RESERVED_COLUMNS: [&str; 5] = [
    "ROWTIME",
    "ROWPARTITION",
    "ROWOFFSET",
    "WINDOWSTART",
    "WINDOWEND",
];

/// Keys may not contain maps: their serialized form is not stable.
fn reject_map_key(name: &str, ty: &SqlType) -> Result<()> {
    fn has_map(t: &SqlType) -> bool {
        match t {
            SqlType::Map(..) => true,
            SqlType::Array(e) => has_map(e),
            SqlType::Struct(f) => f.iter().any(|(_, t)| has_map(t)),
            _ => false,
        }
    }
    if has_map(ty) {
        return Err(Error::plan(format!(
            "Map keys, including types that contain maps, are not supported as they may lead to unexpected behavior due to inconsistent serialization. Key column name: `{name}`. Column type: {ty}. See https://github.com/confluentinc/ksql/issues/6621 for more."
        )));
    }
    Ok(())
}

fn select_error(e: Error, expr: &Expr) -> Error {
    match e {
        Error::Plan(m) if m.starts_with("Column '") && m.ends_with("cannot be resolved.") => {
            Error::plan(format!(
                "SELECT column '{}' cannot be resolved.",
                strip_column(&m, expr)
            ))
        }
        other => other,
    }
}

fn strip_column(m: &str, expr: &Expr) -> String {
    m.strip_prefix("Column '")
        .and_then(|s| s.split('\'').next())
        .map(str::to_string)
        .unwrap_or_else(|| expr.to_string())
}

/// Generates ksqlDB's names for unnamed result columns: KSQL_COL_0, 1, ...
/// skipping names already in use.
struct NameGenerator {
    next: usize,
    taken: Vec<String>,
}

impl NameGenerator {
    fn new(query: &Query, scope: &Scope) -> Self {
        let mut taken: Vec<String> = scope.columns.iter().map(|c| c.name.clone()).collect();
        for item in &query.select {
            if let SelectItem::Expr { alias: Some(a), .. } = item {
                taken.push(a.clone());
            }
        }
        NameGenerator { next: 0, taken }
    }

    fn next(&mut self) -> String {
        loop {
            let name = format!("KSQL_COL_{}", self.next);
            self.next += 1;
            if !self.taken.contains(&name) {
                self.taken.push(name.clone());
                return name;
            }
        }
    }
}

/// True when `expr` calls an aggregate function.
fn contains_aggregate(expr: &Expr) -> bool {
    super::rewrite::any(expr, &mut |e| {
        matches!(e, Expr::Function { name, .. }
            if crate::functions::aggregate::AggregateRegistry::global().get(name).is_some())
    })
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

const DEFAULT_GRACE_MS: i64 = 24 * 3_600_000;

fn plan_aggregation(
    query: &Query,
    select: &[SelectItem],
    scope: &Scope,
    table_input: bool,
    value_format_is_delimited: bool,
    names: &mut NameGenerator,
    options: &PlanOptions,
) -> Result<Aggregation> {
    use crate::functions::aggregate::AggregateRegistry;
    use crate::sql::ast::WindowSpec;
    // A push query may aggregate a whole stream into one group.
    if query.group_by.is_empty() && !options.transient {
        return Err(Error::plan(
            "Aggregate functions need a GROUP BY clause: add GROUP BY with the columns to group on.",
        ));
    }
    // DELIMITED cannot hold structured intermediate states.
    let intermediate_must_be_primitive = value_format_is_delimited;
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
    let registry = AggregateRegistry::global();
    let mut calls: Vec<(Expr, AggregateCall)> = Vec::new();
    let mut error = None;
    let group_names: Vec<String> = key_cols.iter().map(|c| c.name.clone()).collect();
    let mut replace = |e: &Expr| -> Option<Expr> {
        // A grouping expression, wherever it appears, is its key column.
        if let Some(i) = query.group_by.iter().position(|g| g == e) {
            return Some(Expr::Column {
                qualifier: None,
                name: group_names[i].clone(),
            });
        }
        let Expr::Function { name, args, .. } = e else {
            return None;
        };
        registry.get(name)?;
        if let Some(i) = calls.iter().position(|(x, _)| x == e) {
            return Some(Expr::Column {
                qualifier: None,
                name: format!("$AGG{i}"),
            });
        }
        let r = (|| {
            let mut arg_exprs = Vec::new();
            let mut types = Vec::new();
            let mut literals = Vec::new();
            for (i, a) in args.iter().enumerate() {
                let c = Compiled::compile(a, scope)?;
                // Literal parameters after the first argument (TOPK's k,
                // LATEST_BY_OFFSET's n) are passed by value.
                if i > 0 {
                    if let Some(v) = c.as_literal() {
                        literals.push(Some(v.clone()));
                        types.push(c.ty.clone());
                        continue;
                    }
                }
                literals.push(None);
                types.push(c.ty.clone());
                arg_exprs.push(c);
            }
            let function = registry.resolve(name, &types, &literals)?;
            let primitive_state = !matches!(
                function.state_type,
                SqlType::Struct(_) | SqlType::Array(_) | SqlType::Map(..)
            );
            if intermediate_must_be_primitive && !primitive_state {
                return Err(Error::plan("One of the functions used in the statement has an intermediate type that the value format can not handle. Please remove the function or change the format."));
            }
            if table_input && function.retract.is_none() {
                return Err(Error::plan(format!(
                    "The aggregation function {} cannot be applied to a table source, only to a stream source.",
                    name.to_ascii_uppercase()
                )));
            }
            if matches!(query.window, Some(WindowSpec::Session { .. })) && function.merge.is_none()
            {
                return Err(Error::plan(format!(
                    "The aggregation function {} cannot be used with SESSION windows.",
                    name.to_ascii_uppercase()
                )));
            }
            Ok(AggregateCall {
                args: arg_exprs,
                function,
            })
        })();
        match r {
            Ok(call) => {
                calls.push((e.clone(), call));
                Some(Expr::Column {
                    qualifier: None,
                    name: format!("$AGG{}", calls.len() - 1),
                })
            }
            Err(err) => {
                error.get_or_insert(err);
                None
            }
        }
    };
    let select: Vec<SelectItem> = select
        .iter()
        .map(|item| match item {
            SelectItem::Expr { expr, alias } => {
                let rewritten = super::rewrite::transform(expr, &mut replace);
                // Keep ksqlDB's name for an unaliased aggregate: KSQL_COL_n.
                let alias = alias.clone().or_else(|| {
                    if implicit_name(expr).is_none() {
                        None
                    } else {
                        implicit_name(expr)
                    }
                });
                SelectItem::Expr {
                    expr: rewritten,
                    alias,
                }
            }
            other => other.clone(),
        })
        .collect();
    let having = query
        .having
        .as_ref()
        .map(|h| super::rewrite::transform(h, &mut replace));
    if let Some(e) = error {
        return Err(e);
    }
    // The aggregated row: keys, results, window bounds.
    let mut cols = key_cols.clone();
    for (i, (_, call)) in calls.iter().enumerate() {
        cols.push(ScopeColumn {
            qualifier: None,
            name: format!("$AGG{i}"),
            ty: call.function.return_type.clone(),
        });
    }
    // EMIT FINAL without a GRACE PERIOD closes windows at their end; with
    // EMIT CHANGES late rows are accepted for ksqlDB's default 24 hours.
    let emit_final = query.emit == Some(crate::sql::ast::Emit::Final);
    let default_grace = if emit_final { 0 } else { DEFAULT_GRACE_MS };
    let (assigner, window) = match &query.window {
        None => (None, None),
        Some(WindowSpec::Tumbling { size, grace, .. }) => (
            Some(WindowAssigner::Tumbling {
                size: size.millis(),
                grace: grace.map(|g| g.millis()).unwrap_or(default_grace),
            }),
            Some(WindowInfo::Tumbling {
                size: size.millis(),
            }),
        ),
        Some(WindowSpec::Hopping {
            size,
            advance,
            grace,
            ..
        }) => {
            if advance.millis() > size.millis() {
                return Err(Error::plan(format!(
                    "Hopping window ADVANCE BY ({}) must not be larger than its SIZE ({}).",
                    advance.millis(),
                    size.millis()
                )));
            }
            (
                Some(WindowAssigner::Hopping {
                    size: size.millis(),
                    advance: advance.millis(),
                    grace: grace.map(|g| g.millis()).unwrap_or(default_grace),
                }),
                Some(WindowInfo::Hopping {
                    size: size.millis(),
                    advance: advance.millis(),
                }),
            )
        }
        Some(WindowSpec::Session { gap, grace, .. }) => (
            Some(WindowAssigner::Session {
                gap: gap.millis(),
                grace: grace.map(|g| g.millis()).unwrap_or(default_grace),
            }),
            Some(WindowInfo::Session),
        ),
    };
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
    let explicit_retention = match &query.window {
        Some(WindowSpec::Tumbling { retention, .. })
        | Some(WindowSpec::Hopping { retention, .. })
        | Some(WindowSpec::Session { retention, .. }) => retention.map(|r| r.millis()),
        None => None,
    };
    operator = operator.with_retention(explicit_retention);
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
