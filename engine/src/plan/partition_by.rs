//! PARTITION BY: a new key computed from expressions. The old key columns
//! move to the value (after the old value columns, as ksqlDB lays them
//! out); pseudo-columns and generated columns ride along. PARTITION BY NULL
//! leaves the rows without a key.

use super::names::reject_map_key;
use super::state::Planning;
use crate::error::Result;
use crate::expr::{implicit_name, Compiled, ScopeColumn};
use crate::operators::ProjectOperator;
use crate::sql::ast::Expr;

/// Adds the re-keying projection, if the query has PARTITION BY.
pub fn plan_partition_by(p: &mut Planning<'_>) -> Result<()> {
    let query = p.query;
    // `partition_exprs[i]` is the expression behind key column i, so a
    // SELECT item repeating it (maybe aliased) is recognised as that key.
    p.partition_exprs = vec![None; p.scope.columns.len()];
    if query.partition_by.is_empty() {
        return Ok(());
    }
    let scope = &p.scope;
    let mut exprs = Vec::new();
    let mut new_scope = Vec::new();
    let mut moved = Vec::new();
    let mut key_exprs = Vec::new();
    let is_null_literal = |e: &Expr| matches!(e, Expr::Literal(crate::sql::ast::Literal::Null));
    let partition_by_null =
        query.partition_by.len() == 1 && is_null_literal(&query.partition_by[0]);
    if !partition_by_null {
        for e in &query.partition_by {
            let c = Compiled::compile(e, scope)?;
            let name = match implicit_name(e) {
                Some(n) => n,
                None => p.names.next(),
            };
            reject_map_key(&name, &c.ty)?;
            if let Some(i) = c.as_column() {
                moved.push(i);
            }
            new_scope.push(ScopeColumn {
                qualifier: Some(p.qualifier.clone()),
                name,
                ty: c.ty.clone(),
            });
            exprs.push(c);
            key_exprs.push(Some(e.clone()));
        }
    }
    let new_keys = exprs.len();
    // Old value columns first, then the old keys, as ksqlDB lays them out.
    let key_positions = &p.key_positions;
    let old_values = (0..p.visible).filter(|i| !key_positions.contains(i));
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
    for i in p.visible..scope.columns.len() {
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
    let names = new_scope.iter().map(|c| c.name.clone()).collect();
    p.operators.push(Box::new(
        ProjectOperator::rekey(exprs, tomb_keys)
            .named(names)
            .with_new_keys(new_keys),
    ));
    key_exprs.resize(new_scope.len(), None);
    p.partition_exprs = key_exprs;
    p.scope.columns = new_scope;
    p.key_positions = (0..new_keys).collect();
    p.visible = new_visible;
    Ok(())
}
