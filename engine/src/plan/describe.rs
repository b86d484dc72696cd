//! A planned query as data, for EXPLAIN: one [`PlanNode`] per step, each
//! after the nodes whose rows it reads — a Source per input with its own
//! operators and re-keying through internal topics (Repartition), the join
//! (an n-way join as its two-way joins, with the topics an intermediate
//! result is re-keyed through), the operators after it, and a persistent
//! query's Sink.

use super::planner::QueryPlan;
use crate::catalog::Source;
use crate::operators::describe::{fields, list};
use crate::operators::{JoinOperator, Operator};
use crate::results::PlanNode;
use crate::runtime::spec::PlanInput;

/// The nodes of `plan`, inputs first; `sink` is where a persistent query
/// writes.
pub fn describe(plan: &QueryPlan, sink: Option<&Source>) -> Vec<PlanNode> {
    let mut nodes = Nodes::default();
    let ends: Vec<Option<usize>> = plan.inputs.iter().map(|i| nodes.input(i)).collect();
    let mut last = match &plan.join {
        Some(join) => Some(nodes.join(join.as_ref(), &plan.inputs, &ends)),
        None => ends.first().copied().flatten(),
    };
    last = nodes.operators(&plan.operators, last);
    if let Some(sink) = sink {
        nodes.push("Sink", sink_description(sink), last.into_iter().collect());
    }
    nodes.0
}

/// The nodes so far.
#[derive(Default)]
struct Nodes(Vec<PlanNode>);

impl Nodes {
    /// Adds a node reading `inputs` and returns its id.
    fn push(&mut self, name: &str, description: String, inputs: Vec<usize>) -> usize {
        let id = self.0.len();
        self.0.push(PlanNode {
            id,
            name: name.to_string(),
            description,
            inputs,
        });
        id
    }

    /// Adds one node per operator, each reading the one before (the first
    /// reads `last`), and returns the last.
    fn operators(&mut self, ops: &[Box<dyn Operator>], mut last: Option<usize>) -> Option<usize> {
        for op in ops {
            last = Some(self.push(op.name(), op.describe(), last.into_iter().collect()));
        }
        last
    }

    /// Adds an input's nodes and returns its last one: its Source, the
    /// steps before and the Repartition of a re-keyed input, its own
    /// operators. None for the rows an n-way join reads back from an
    /// internal topic (its join shows them).
    fn input(&mut self, input: &PlanInput) -> Option<usize> {
        if input.rekeyed.is_some() {
            return None;
        }
        let mut last = Some(self.push("Source", source_description(&input.source), Vec::new()));
        if let Some(r) = &input.repartition {
            last = self.operators(&r.operators, last);
            let description = fields(&[
                ("topic", r.topic.clone()),
                ("key", list(&r.key)),
                ("key format", r.key_format.kind.name().to_string()),
                ("partitions", r.partitions.to_string()),
            ]);
            last = Some(self.push("Repartition", description, last.into_iter().collect()));
        }
        self.operators(&input.operators, last)
    }

    /// Adds the join's nodes over the inputs' last nodes `ends` and
    /// returns the last: the join, or an n-way join's two-way joins, each
    /// reading the one before and the next input.
    fn join(
        &mut self,
        join: &dyn JoinOperator,
        inputs: &[PlanInput],
        ends: &[Option<usize>],
    ) -> usize {
        let links = join.links();
        if links.is_empty() {
            let read = ends.iter().flatten().copied().collect();
            return self.push(join.name(), join.describe(), read);
        }
        let mut prev = None;
        for (k, link) in links.iter().enumerate() {
            // Join k reads the one before (input 0 for the first) and
            // input k + 1.
            let mut left = if k == 0 {
                ends.first().copied().flatten()
            } else {
                prev
            };
            if let Some((side, topic, key)) = &link.rekeyed {
                let partitions = inputs
                    .get(*side)
                    .and_then(|i| i.rekeyed.as_ref())
                    .map(|(_, p)| p.to_string())
                    .unwrap_or_default();
                let description = fields(&[
                    ("topic", topic.to_string()),
                    ("key", key.clone()),
                    ("partitions", partitions),
                ]);
                left = Some(self.push("Repartition", description, left.into_iter().collect()));
            }
            let right = ends.get(k + 1).copied().flatten();
            let read = left.into_iter().chain(right).collect();
            prev = Some(self.push(link.join.name(), link.join.describe(), read));
        }
        prev.unwrap_or_default()
    }
}

/// A source as plans show it: name, kind, topic, formats, window, event
/// time.
fn source_description(s: &Source) -> String {
    let mut parts = vec![
        ("name", s.name.clone()),
        ("kind", s.kind.to_string()),
        ("topic", s.topic.clone()),
        ("key format", s.key_format.kind.name().to_string()),
        ("value format", s.value_format.kind.name().to_string()),
    ];
    if let Some(w) = &s.window {
        parts.push(("window", w.type_name().to_string()));
    }
    if let Some(t) = &s.timestamp {
        parts.push(("timestamp", t.column.clone()));
    }
    fields(&parts)
}

/// A sink as plans show it: the same as a source, with the event time's
/// format.
fn sink_description(s: &Source) -> String {
    let mut line = source_description(s);
    if let Some(f) = s.timestamp.as_ref().and_then(|t| t.format.as_ref()) {
        line.push_str(&format!(" ('{f}')"));
    }
    line
}
