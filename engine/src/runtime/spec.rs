//! What the planner hands the runtime: a query's inputs, each a source with
//! the operators applied to its rows and, when it is re-keyed through an
//! internal topic, how.

use crate::catalog::Source;
use crate::expr::Compiled;
use crate::formats::FormatSpec;
use crate::operators::Operator;

/// One input of a query: a source and the operators applied to its rows
/// before they are joined with the other inputs.
pub struct PlanInput {
    pub source: Source,
    pub operators: Vec<Box<dyn Operator>>,
    /// Set when the input is re-keyed through an internal topic.
    pub repartition: Option<RepartitionSpec>,
    /// Set when the input is not `source` but the rows an earlier join of
    /// an n-way join re-keyed into this internal topic: (topic,
    /// partitions).
    pub rekeyed: Option<(String, i32)>,
}

/// Re-keying an input through an internal topic (a stream joined on
/// something other than its key; see `super::repartition`).
pub struct RepartitionSpec {
    /// `_confluent-ksql-<service id>query_<query id>-<step>-repartition`.
    pub topic: String,
    pub partitions: i32,
    /// Stateless steps applied before re-keying.
    pub operators: Vec<Box<dyn Operator>>,
    /// The new key's columns, over the rows those steps produce.
    pub key: Vec<Compiled>,
    /// How the key is serialized: the join's key format, so that the
    /// records land where the other side's keys do.
    pub key_format: FormatSpec,
}
