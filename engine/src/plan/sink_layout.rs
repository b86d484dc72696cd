//! The result's layout: which SELECT items are the result's key columns
//! (a join's preferred key column, or each current key column, selected
//! once), the checks ksqlDB makes on them (key missing from the
//! projection, reserved names, no value columns, duplicates, untyped
//! nulls), and the order a sink writes — keys first — with the projection
//! that computes it.

use super::names::{reject_map_key, RESERVED_COLUMNS};
use super::select::Item;
use super::state::Planning;
use crate::error::{Error, Result};
use crate::expr::Compiled;
use crate::operators::ProjectOperator;
use crate::types::{Column, ColumnKind, Schema, SqlType};
use std::collections::BTreeMap;

/// Lays out the result of `items` and returns its schema and the
/// projection that computes it.
pub fn plan_layout(p: &Planning<'_>, mut items: Vec<Item>) -> Result<(Schema, ProjectOperator)> {
    let out_keys = key_items(p, &mut items)?;
    check_values(p, &items, &out_keys)?;
    let options = p.options;
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
            // A query's row for a deleted windowed key still says which
            // window it deletes, as ksqlDB's tombstone rows do.
            if options.transient && is_window_bound(p, &it.expr) {
                tomb_keys.push(exprs.len());
            }
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
    let names = columns.iter().map(|c| c.name.clone()).collect();
    let project = ProjectOperator::new(exprs, tomb_keys).named(names);
    Ok((Schema::new(columns), project))
}

/// True for a bare WINDOWSTART or WINDOWEND column.
fn is_window_bound(p: &Planning<'_>, expr: &Compiled) -> bool {
    expr.as_column()
        .and_then(|c| p.scope.columns.get(c))
        .is_some_and(|c| c.name == "WINDOWSTART" || c.name == "WINDOWEND")
}

/// The items that are the result's key columns (indexes into `items`),
/// each made to read the key itself.
fn key_items(p: &Planning<'_>, items: &mut [Item]) -> Result<Vec<usize>> {
    let (options, scope, key_positions) = (p.options, &p.scope, &p.key_positions);
    let mut out_keys: Vec<usize> = Vec::new();
    let mut missing = Vec::new();
    if p.key_alternatives {
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
                    let text = items[i].expr.to_string();
                    items[i].expr = Compiled::column(rowkey, ty).with_text(text);
                }
                out_keys.push(i)
            }
            None if !options.new_planner && !options.transient => {
                let (hint, synthetic) = p.key_hint.clone().unwrap_or_default();
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
    for &k in key_positions.iter().filter(|_| !p.key_alternatives) {
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
                let text = items[*i].expr.to_string();
                items[*i].expr = Compiled::column(k, ty).with_text(text);
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
    Ok(out_keys)
}

/// A persistent query's value columns: no reserved names (window bounds
/// excepted in windowed aggregations), and at least one when the input has
/// values.
fn check_values(p: &Planning<'_>, items: &[Item], out_keys: &[usize]) -> Result<()> {
    if p.options.transient {
        return Ok(());
    }
    for (i, it) in items.iter().enumerate() {
        if out_keys.contains(&i) {
            continue;
        }
        let window_bound = matches!(it.name.as_str(), "WINDOWSTART" | "WINDOWEND");
        if RESERVED_COLUMNS.contains(&it.name.as_str())
            && !(window_bound && p.aggregating && p.window_info.is_some())
        {
            return Err(Error::plan(if it.aliased {
                format!(
                    "`{}` is a reserved column name. You cannot use it as an alias for a column.",
                    it.name
                )
            } else {
                format!(
                    "Reserved column name in select: `{}`. Please remove or alias the column.",
                    it.name
                )
            }));
        }
    }
    let input_has_values = (0..p.visible).any(|i| !p.key_positions.contains(&i));
    if items.len() == out_keys.len() && input_has_values {
        return Err(Error::plan("The projection contains no value columns."));
    }
    Ok(())
}
