//! Planning: SQL expressions become typed, compiled expressions (`expr`),
//! and queries become operator pipelines over a source (`planner`).

pub mod expr;
pub mod join;
pub mod planner;
pub mod rewrite;

/// True when `name` is an aggregate function (planned by the aggregation
/// operator, not as a scalar function).
pub fn is_aggregate(name: &str) -> bool {
    crate::functions::aggregate::AggregateRegistry::global()
        .get(name)
        .is_some()
}

/// Names of ksqlDB's table functions.
pub fn table_function_names() -> &'static [&'static str] {
    &["EXPLODE", "CUBE_EXPLODE"]
}
