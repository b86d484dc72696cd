//! The SELECT list: each item (`*`, `alias.*`, `struct->*` or an
//! expression) becomes result columns with their names — aliases,
//! implicit names, ALIAS_COLUMN for qualified columns of a join, KSQL_COL_n
//! for the rest — and notes which key column each one carries.

use super::names::{qualified_name, select_error};
use super::state::Planning;
use crate::error::{Error, Result};
use crate::expr::{implicit_name, Compiled};
use crate::sql::ast::{Expr, SelectItem};
use crate::types::SqlType;

/// One result column the SELECT list asks for.
pub struct Item {
    /// The result column's name.
    pub name: String,
    /// What computes it.
    pub expr: Compiled,
    /// The key column this item carries, if it is one.
    pub key: Option<usize>,
    /// The name is an alias the query gave.
    pub aliased: bool,
}

/// The key column (position) `c` carries: a key column itself, or a
/// repetition of the expression behind one (`ast`).
pub fn key_of(p: &Planning<'_>, c: &Compiled, ast: Option<&Expr>) -> Option<usize> {
    if let Some(i) = c.as_column() {
        if p.key_positions.contains(&i) {
            return Some(i);
        }
    }
    let ast = ast?;
    p.key_positions
        .iter()
        .copied()
        .find(|k| p.partition_exprs.get(*k).and_then(|e| e.as_ref()) == Some(ast))
}

/// Resolves the SELECT items into result columns, in SELECT order.
pub fn plan_select(p: &mut Planning<'_>) -> Result<Vec<Item>> {
    let join_naming = p.join_naming();
    let select = std::mem::take(&mut p.select);
    let mut items: Vec<Item> = Vec::new();
    for (index, item) in select.iter().enumerate() {
        match item {
            SelectItem::Star(q) => star(p, q.as_deref(), join_naming, &mut items),
            SelectItem::Expr {
                expr: Expr::Deref { expr: base, field },
                alias: None,
            } if field == "*" => {
                let b = Compiled::compile(base, &p.scope).map_err(|e| select_error(e, base))?;
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
                    let c = Compiled::compile(&e, &p.scope)?;
                    items.push(Item {
                        name: name.clone(),
                        expr: c,
                        key: None,
                        aliased: false,
                    });
                }
            }
            SelectItem::Expr { expr, alias } => {
                let c = Compiled::compile(expr, &p.scope).map_err(|e| select_error(e, expr))?;
                // Plans show the item as the query wrote it (not the
                // generated columns of table functions and aggregates).
                let c = match p.query.select.get(index) {
                    Some(SelectItem::Expr { expr: written, .. }) => {
                        c.with_text(written.to_string())
                    }
                    _ => c,
                };
                // Generated columns ($TF.., $AGG..) have no user-facing name;
                // a qualified column of a join is named ALIAS_COLUMN.
                let implicit = match (expr, join_naming) {
                    (
                        Expr::Column {
                            qualifier: Some(q),
                            name,
                        },
                        true,
                    ) if p.ambiguous.contains(name) => Some(format!("{q}_{name}")),
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
                    (None, None) => match key_of(p, &c, Some(expr)) {
                        // An unnamed expression that repeats a PARTITION BY
                        // expression is that key column, with its name.
                        Some(k) => p.scope.columns[k].name.clone(),
                        None => p.names.next(),
                    },
                };
                items.push(Item {
                    key: key_of(p, &c, Some(expr)),
                    name,
                    expr: c,
                    aliased: alias.is_some(),
                });
            }
        }
    }
    p.select = select;
    Ok(items)
}

/// `*` or `alias.*`: the visible columns (keys first, except after a
/// join, where `*` keeps the sources' column order).
fn star(p: &Planning<'_>, q: Option<&str>, join_naming: bool, items: &mut Vec<Item>) {
    // Over a windowed source, a query's `*` shows the window bounds right
    // after the key columns.
    let window_bounds: Vec<usize> =
        if p.options.transient && p.source.window.is_some() && !p.aggregating {
            ["WINDOWSTART", "WINDOWEND"]
                .iter()
                .filter_map(|n| p.scope.columns.iter().position(|c| c.name == *n))
                .collect()
        } else {
            Vec::new()
        };
    let mut order: Vec<usize> = (0..p.visible)
        .filter(|i| !join_naming && p.key_positions.contains(i))
        .collect();
    order.extend(window_bounds);
    order.extend((0..p.visible).filter(|i| join_naming || !p.key_positions.contains(i)));
    for i in order {
        let c = &p.scope.columns[i];
        if let Some(q) = q {
            if c.qualifier.as_deref() != Some(q) {
                continue;
            }
        }
        // Plans name a join's columns qualified, as `*` stands for them.
        let text = if join_naming {
            qualified_name(c)
        } else {
            c.name.clone()
        };
        let expr = Compiled::column(i, c.ty.clone()).with_text(text);
        let name = match (&c.qualifier, join_naming) {
            (Some(q), true) => format!("{q}_{}", c.name),
            _ => c.name.clone(),
        };
        items.push(Item {
            name,
            key: key_of(p, &expr, None),
            expr,
            aliased: false,
        });
    }
}
