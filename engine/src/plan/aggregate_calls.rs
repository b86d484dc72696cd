//! Aggregate calls: each distinct call in the SELECT list and HAVING is
//! resolved against the aggregate registry (checked for the input and the
//! window) and replaced by a reference to its result column (`$AGG0`,
//! `$AGG1`, ...); a GROUP BY expression, wherever it appears, becomes its
//! key column.

use crate::error::{Error, Result};
use crate::expr::{implicit_name, Compiled, Scope};
use crate::functions::aggregate::AggregateRegistry;
use crate::operators::aggregate::AggregateCall;
use crate::sql::ast::{Expr, Query, SelectItem, WindowSpec};
use crate::types::SqlType;

/// The aggregate calls of a query, and its SELECT items and HAVING with
/// the calls replaced by their result columns.
pub struct RewrittenCalls {
    /// Each distinct call, in order of appearance.
    pub calls: Vec<(Expr, AggregateCall)>,
    /// The SELECT items, calls replaced.
    pub select: Vec<SelectItem>,
    /// HAVING, calls replaced.
    pub having: Option<Expr>,
}

/// Resolves and replaces the aggregate calls of `select` and the query's
/// HAVING. `key_names` are the names of the GROUP BY key columns.
pub fn rewrite_calls(
    query: &Query,
    select: &[SelectItem],
    scope: &Scope,
    key_names: &[String],
    table_input: bool,
    value_format_is_delimited: bool,
) -> Result<RewrittenCalls> {
    // DELIMITED cannot hold structured intermediate states.
    let intermediate_must_be_primitive = value_format_is_delimited;
    let registry = AggregateRegistry::global();
    let mut calls: Vec<(Expr, AggregateCall)> = Vec::new();
    let mut error = None;
    let mut replace = |e: &Expr| -> Option<Expr> {
        // A grouping expression, wherever it appears, is its key column.
        if let Some(i) = query.group_by.iter().position(|g| g == e) {
            return Some(Expr::Column {
                qualifier: None,
                name: key_names[i].clone(),
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
    Ok(RewrittenCalls {
        calls,
        select,
        having,
    })
}
