//! WHERE: a filter over the input rows, checked to be a boolean. Over a
//! table a row that stops matching is deleted; after a table join, where
//! rows carry no previous value, the filter remembers which keys passed.

use super::state::Planning;
use crate::error::{Error, Result};
use crate::expr::Compiled;
use crate::operators::FilterOperator;
use crate::types::SqlType;

/// Adds the WHERE clause's filter, if the query has one.
pub fn plan_where(p: &mut Planning<'_>) -> Result<()> {
    let Some(w) = &p.query.where_clause else {
        return Ok(());
    };
    let predicate = Compiled::compile(w, &p.scope)?;
    if !matches!(predicate.ty, SqlType::Boolean | SqlType::Null) {
        return Err(Error::plan(format!(
            "Type error in WHERE expression: Should evaluate to boolean but is {} ({}) instead.",
            w, predicate.ty
        )));
    }
    p.operators.push(Box::new(match (&p.joined, p.table_input) {
        // A table join's rows carry no previous value: remember which
        // keys passed, so one that stops matching is deleted.
        (Some(j), true) => {
            FilterOperator::having(predicate, j.key_group.last().copied().into_iter().collect())
        }
        (None, true) => FilterOperator::for_table(predicate),
        _ => FilterOperator::new(predicate),
    }));
    Ok(())
}
