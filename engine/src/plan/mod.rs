//! Planning: SQL expressions become typed, compiled expressions (`expr`),
//! and queries become operator pipelines over a source (`planner`).

pub mod expr;
pub mod join;
pub mod planner;
pub mod rewrite;

/// Names of ksqlDB's aggregate functions (planned by the aggregation
/// operators, not as scalar functions).
pub fn aggregate_names() -> &'static [&'static str] {
    &[
        "COUNT",
        "COUNT_DISTINCT",
        "SUM",
        "AVG",
        "MIN",
        "MAX",
        "TOPK",
        "TOPKDISTINCT",
        "COLLECT_LIST",
        "COLLECT_SET",
        "HISTOGRAM",
        "EARLIEST_BY_OFFSET",
        "LATEST_BY_OFFSET",
        "STDDEV_SAMP",
        "STDDEV_SAMPLE",
        "CORRELATION",
        "ATTR",
        "SUM_LIST",
    ]
}

/// Names of ksqlDB's table functions.
pub fn table_function_names() -> &'static [&'static str] {
    &["EXPLODE", "CUBE_EXPLODE"]
}
