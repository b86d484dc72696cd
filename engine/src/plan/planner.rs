//! The query planner: resolves a SELECT against the catalog and builds the
//! operator pipeline that computes it, with the schema of its result.
//!
//! Planning is a sequence of steps, each in its own file, that advance one
//! [`Planning`] state (the rows' [`crate::expr::Scope`], so expressions
//! compile to positions, and the operators so far): the inputs (`inputs`,
//! with joins planned by `join`), WHERE (`filter`), table functions
//! (`table_functions`), PARTITION BY (`partition_by`), GROUP BY, windows
//! and HAVING (`aggregate`), the SELECT list (`select`), and the result's
//! layout with keys first (`sink_layout`).

use super::state::Planning;
use super::PlanOptions;
use crate::catalog::WindowInfo;
use crate::catalog::{Catalog, Source};
use crate::error::Result;
use crate::operators::Operator;
use crate::runtime::spec::PlanInput;
use crate::sql::ast::{Query, SourceKind};
use crate::types::Schema;

pub use super::names::RESERVED_COLUMNS;

/// A planned query: where it reads, what it runs, what it produces.
pub struct QueryPlan {
    /// The first (or only) source, whose formats a sink inherits.
    pub source: Source,
    pub inputs: Vec<PlanInput>,
    /// How the inputs are combined when there are several.
    pub join: Option<Box<dyn crate::operators::JoinOperator>>,
    /// The operators after the inputs (and the join).
    pub operators: Vec<Box<dyn Operator>>,
    /// The result's columns: keys first, then values, in row order.
    pub schema: Schema,
    /// The sources read (for dependency tracking).
    pub sources: Vec<String>,
    /// Whether the result is a table (aggregations, queries over tables).
    pub kind: SourceKind,
    /// The window of a windowed aggregation's result keys.
    pub window: Option<WindowInfo>,
    /// State changelog topics the operators write to.
    pub changelogs: Vec<String>,
    /// Rows meet in the query's state only with rows of the same input
    /// partition: it may run as one copy per partition.
    pub partition_local: bool,
}

/// Plans a query over one stream or table, or a join: filters, table
/// functions, re-keying, aggregations and the projection.
pub fn plan_query(query: &Query, catalog: &Catalog, options: &PlanOptions) -> Result<QueryPlan> {
    let mut p = super::inputs::plan_inputs(query, catalog, options)?;
    super::filter::plan_where(&mut p)?;
    super::table_functions::plan_table_functions(&mut p)?;
    super::partition_by::plan_partition_by(&mut p)?;
    super::aggregate::plan_group_by(&mut p)?;
    let items = super::select::plan_select(&mut p)?;
    let (schema, project) = super::sink_layout::plan_layout(&p, items)?;
    p.operators.push(Box::new(project));
    Ok(finish(p, schema))
}

/// The plan of what the steps planned: the inputs (a join's, or the one
/// source with its own operators and re-keying), the operators after them.
fn finish(p: Planning<'_>, schema: Schema) -> QueryPlan {
    let (inputs, join) = match p.joined {
        Some(j) => (j.inputs, Some(j.join)),
        None => (
            vec![PlanInput {
                source: p.source.clone(),
                operators: p.input_operators,
                repartition: p.group_repartition_spec,
                rekeyed: None,
            }],
            None,
        ),
    };
    let mut sources: Vec<String> = inputs
        .iter()
        .filter(|i| i.rekeyed.is_none())
        .map(|i| i.source.name.clone())
        .collect();
    sources.dedup();
    QueryPlan {
        source: p.source,
        inputs,
        join,
        operators: p.operators,
        schema,
        sources,
        kind: p.result_kind,
        window: p.window_info,
        changelogs: p.changelogs,
        partition_local: p.partition_local,
    }
}
