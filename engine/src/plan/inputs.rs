//! The first planning step: the query's inputs. Resolves the source (or
//! plans the join), rejects what cannot be planned over it (ORDER BY,
//! PARTITION BY of a table, windowed tables, windows over tables), and
//! sets up the layout the later steps start from: the source's scope and
//! key columns, whether the query can run one copy per partition, the
//! internal topic a re-grouped stream goes through, and a table's
//! materialization.

use super::names::NameGenerator;
use super::state::Planning;
use super::{source_scope, PlanOptions};
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::expr::Compiled;
use crate::operators::materialize::MaterializeOperator;
use crate::operators::Operator;
use crate::sql::ast::{Query, SelectItem, SourceKind};
use std::collections::BTreeMap;

/// Plans the inputs of `query` and returns the state the next steps
/// continue from.
pub fn plan_inputs<'a>(
    query: &'a Query,
    catalog: &Catalog,
    options: &'a PlanOptions,
) -> Result<Planning<'a>> {
    if !query.order_by.is_empty() {
        return Err(Error::plan(
            "ORDER BY is only supported in pull queries: a continuous query's results have no final order.",
        ));
    }
    let joined = if query.joins.is_empty() {
        None
    } else {
        Some(super::join::plan_join(query, catalog, options)?)
    };
    let source = match &joined {
        Some(j) => j.left.clone(),
        None => catalog
            .source(&query.from.name)
            .map_err(|_| Error::plan(format!("{} does not exist.", query.from.name)))?
            .clone(),
    };
    let table_input = match &joined {
        Some(j) => j.result == SourceKind::Table,
        None => source.kind == SourceKind::Table,
    };
    let aggregating = query.window.is_some()
        || !query.group_by.is_empty()
        || query.having.is_some()
        || query.select.iter().any(|i| match i {
            SelectItem::Expr { expr, .. } => super::aggregate::contains_aggregate(expr),
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
    let mut scope = source_scope(&source, &qualifier);
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
    let partition_local = match &joined {
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
    // Column names both sides of a join have: selected qualified, they are
    // named ALIAS_COLUMN.
    let ambiguous: std::collections::HashSet<String> = if joined.is_some() {
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
    let names = NameGenerator::new(query, &scope);
    // Tables are read as changes that carry the row they replace; the
    // materialization belongs to the input (it is rebuilt from the topic).
    let mut input_operators: Vec<Box<dyn Operator>> = Vec::new();
    if table_input && joined.is_none() {
        input_operators.push(Box::new(MaterializeOperator::new(key_positions.clone())));
    }
    Ok(Planning {
        query,
        options,
        result_kind: if table_input {
            SourceKind::Table
        } else {
            SourceKind::Stream
        },
        window_info: source.window,
        source,
        qualifier,
        joined,
        table_input,
        aggregating,
        scope,
        key_positions,
        visible,
        key_alternatives,
        key_hint,
        partition_exprs: Vec::new(),
        ambiguous,
        names,
        select: query.select.clone(),
        input_operators,
        operators: Vec::new(),
        group_repartition,
        group_repartition_spec: None,
        partition_local,
        changelogs: Vec::new(),
    })
}
