//! Planning: SQL expressions become typed, compiled expressions (`expr`),
//! and queries become operator pipelines over a source (`planner`).

pub mod expr;
pub mod join;
pub mod planner;
pub mod rewrite;
