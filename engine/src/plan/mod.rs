//! Planning: queries become operator pipelines over their sources. The
//! planner (`planner`) runs one step per file over a shared state
//! (`state`): inputs and joins (`inputs`; `join`, `join_side`,
//! `join_step`, `join_checks`, `join_operator`), WHERE (`filter`), table
//! functions (`table_functions`), PARTITION BY (`partition_by`), GROUP BY
//! (`aggregate`, `aggregate_calls`, `window`), SELECT (`select`, `names`)
//! and the result's layout (`sink_layout`); expressions are compiled by
//! `crate::expr`. A plan lists its steps as data for EXPLAIN
//! (`describe`).

mod aggregate;
mod aggregate_calls;
mod describe;
mod filter;
mod inputs;
pub mod join;
mod join_checks;
mod join_operator;
mod join_side;
mod join_step;
mod names;
mod partition_by;
pub mod planner;
pub mod rewrite;
mod select;
mod sink_layout;
mod state;
mod table_functions;
mod window;

pub use aggregate::contains_aggregate;
pub use describe::describe;

use crate::catalog::Source;
use crate::expr::{Scope, ScopeColumn};
use crate::operators::source::PSEUDO_COLUMNS;
use crate::types::SqlType;
use std::collections::BTreeMap;

/// Options that change planning.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// ksqlDB's `ksql.new.query.planner.enabled`: keys may be left out of
    /// the projection, and keep their SELECT order.
    pub new_planner: bool,
    /// A push query: the result need not include its key columns.
    pub transient: bool,
    /// The name of the sink being created, for error messages.
    pub sink_name: Option<String>,
    /// The persistent query's id, naming its state changelog topics.
    pub query_id: Option<String>,
    /// `ksql.service.id`, the first part of internal topic names.
    pub service_id: String,
    /// Partition counts of the topics, for joins' co-partitioning check.
    pub partitions: BTreeMap<String, i32>,
    /// Re-key streams grouped by something other than their key through
    /// an internal topic (where processes split queries by partition).
    pub repartition_groups: bool,
}

/// The scope of a source's rows: its columns, then the pseudo-columns.
pub fn source_scope(source: &Source, qualifier: &str) -> Scope {
    let mut cols: Vec<ScopeColumn> = source
        .schema
        .columns
        .iter()
        .map(|c| ScopeColumn {
            qualifier: Some(qualifier.to_string()),
            name: c.name.clone(),
            ty: c.ty.clone(),
        })
        .collect();
    for (name, ty) in PSEUDO_COLUMNS {
        cols.push(ScopeColumn {
            qualifier: Some(qualifier.to_string()),
            name: name.to_string(),
            ty,
        });
    }
    if source.window.is_some() {
        for name in ["WINDOWSTART", "WINDOWEND"] {
            cols.push(ScopeColumn {
                qualifier: Some(qualifier.to_string()),
                name: name.to_string(),
                ty: SqlType::BigInt,
            });
        }
    }
    Scope::new(cols)
}
