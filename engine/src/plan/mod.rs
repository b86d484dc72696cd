//! Planning: queries become operator pipelines over their sources
//! (`planner`, with joins planned by `join`), their expressions compiled by
//! `crate::expr`.

pub mod join;
pub mod planner;
pub mod rewrite;
