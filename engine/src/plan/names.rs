//! Naming result columns: ksqlDB's generated names for unnamed columns
//! (KSQL_COL_n), the system column names results may not use, the rule
//! against map-typed keys, and the error for a SELECT column that does not
//! resolve.

use crate::error::{Error, Result};
use crate::expr::Scope;
use crate::sql::ast::{Expr, Query, SelectItem};
use crate::types::SqlType;

/// Names of system columns, which results may not use for value columns.
pub const RESERVED_COLUMNS: [&str; 5] = [
    "ROWTIME",
    "ROWPARTITION",
    "ROWOFFSET",
    "WINDOWSTART",
    "WINDOWEND",
];

/// The columns of `scope` as plans name them: `A.ID`, or `ID` when not
/// qualified.
pub fn qualified_names(scope: &Scope) -> Vec<String> {
    scope.columns.iter().map(qualified_name).collect()
}

/// A column as plans name it, as SQL would refer to it: `A.ID`, or `ID`
/// when not qualified.
pub fn qualified_name(c: &crate::expr::ScopeColumn) -> String {
    Expr::Column {
        qualifier: c.qualifier.clone(),
        name: c.name.clone(),
    }
    .to_string()
}

/// Keys may not contain maps: their serialized form is not stable.
pub fn reject_map_key(name: &str, ty: &SqlType) -> Result<()> {
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

/// A SELECT expression's column that does not resolve, said as ksqlDB
/// says it.
pub fn select_error(e: Error, expr: &Expr) -> Error {
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
pub struct NameGenerator {
    next: usize,
    taken: Vec<String>,
}

impl NameGenerator {
    /// Names not taken by `scope`'s columns or the query's aliases.
    pub fn new(query: &Query, scope: &Scope) -> Self {
        let mut taken: Vec<String> = scope.columns.iter().map(|c| c.name.clone()).collect();
        for item in &query.select {
            if let SelectItem::Expr { alias: Some(a), .. } = item {
                taken.push(a.clone());
            }
        }
        NameGenerator { next: 0, taken }
    }

    /// The next free name.
    pub fn next(&mut self) -> String {
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
