//! Planning joins: a left-deep chain of two-way joins (`join_step`, after
//! `join_checks`), each on the result of the ones before; the joined row
//! is each side's columns, then the join key ROWKEY, then each side's
//! pseudo-columns. Sides joined on something other than their key are
//! re-keyed through internal topics, and an n-way join's intermediate
//! results where they must be (cuts).

use super::join_side::LeftSide;
use super::join_step::plan_step;
use super::{source_scope, PlanOptions};
use crate::catalog::{Catalog, Source};
use crate::error::{Error, Result};
use crate::expr::{Compiled, Scope};
use crate::operators::chain_join::{ChainJoinOperator, Cut};
use crate::operators::rekey::Rekey;
use crate::operators::JoinOperator;
use crate::runtime::spec::{PlanInput, RepartitionSpec};
use crate::sql::ast::{Query, SourceKind};

/// The joined input a query continues from.
pub struct JoinedInput {
    pub inputs: Vec<PlanInput>,
    pub join: Box<dyn JoinOperator>,
    /// The joined row's layout.
    pub scope: Scope,
    /// How many leading columns `*` shows.
    pub visible: usize,
    /// Positions that each hold the result's key (any one may be selected).
    pub key_group: Vec<usize>,
    /// How the key must be selected, for the error when it is not.
    pub key_hint: String,
    /// True when the key is the synthesized ROWKEY only.
    pub synthetic_key: bool,
    /// The key group is a multi-column key (all needed), not alternatives.
    pub key_columns_all: bool,
    /// A stream unless both sides are tables.
    pub result: SourceKind,
    /// Rows only meet rows of the same input partition (no step re-keys
    /// an earlier join's result in memory).
    pub partition_local: bool,
    pub left: Source,
}
/// Plans `FROM a JOIN b ON ... [JOIN c ON ...]`: joins evaluated left to
/// right, each on the result of the ones before.
pub fn plan_join(query: &Query, catalog: &Catalog, options: &PlanOptions) -> Result<JoinedInput> {
    let partitions = &options.partitions;
    let first = catalog
        .source(&query.from.name)
        .map_err(|_| Error::plan(format!("{} does not exist.", query.from.name)))?
        .clone();
    let types = catalog.type_list();
    let first_alias = query
        .from
        .alias
        .clone()
        .unwrap_or_else(|| first.name.clone());
    let mut first_scope = source_scope(&first, &first_alias);
    first_scope.custom_types = types.clone();
    let mut left = LeftSide {
        visible: first.schema.columns.len(),
        kind: first.kind,
        key_group: first.schema.key_indexes(),
        scope: first_scope,
        source: Some(first.clone()),
        names: vec![first.name.clone()],
    };
    let mut aliases = vec![first_alias];
    let mut inputs = vec![PlanInput {
        source: first.clone(),
        operators: Vec::new(),
        repartition: None,
        rekeyed: None,
    }];
    // Earlier joins' results re-keyed through internal topics.
    let mut cuts: Vec<(usize, String, i32, Compiled, crate::formats::FormatSpec)> = Vec::new();
    let mut ops: Vec<Box<dyn JoinOperator>> = Vec::new();
    let mut last_key_hint = String::new();
    let mut partition_local = true;
    let mut synthetic = false;
    let mut all_keys = false;
    let count = |name: &str| {
        catalog
            .find_source(name)
            .and_then(|s| partitions.get(&s.topic).copied())
    };
    for (index, join) in query.joins.iter().enumerate() {
        let right = catalog
            .source(&join.right.name)
            .map_err(|_| Error::plan(format!("{} does not exist.", join.right.name)))?
            .clone();
        let ra = join
            .right
            .alias
            .clone()
            .unwrap_or_else(|| right.name.clone());
        if left.names.contains(&right.name) {
            return Err(Error::plan(format!(
                "Can not join '{}' to '{}': self joins are not yet supported.",
                left.names[0], right.name
            )));
        }
        if aliases.contains(&ra) {
            return Err(Error::plan(format!(
                "Can not join '{}' to '{}': self joins require unique aliases for both sides",
                left.names[0], right.name
            )));
        }
        aliases.push(ra.clone());
        let mut rs = source_scope(&right, &ra);
        rs.custom_types = types.clone();
        let step = plan_step(join, &left, &right, &rs)?;
        // Key-to-key joins read matching partitions: the counts must agree.
        if step.key_to_key && (left.kind == SourceKind::Stream || right.kind == SourceKind::Stream)
        {
            if let (Some(l), Some(r)) = (count(&left.names[0]), count(&right.name)) {
                if l != r {
                    return Err(Error::plan(format!(
                        "Can't join `{}` with `{}` since the number of partitions don't match. `{}` partitions = {l}; `{}` partitions = {r}. Please repartition either one so that the number of partitions match.",
                        left.names[0], right.name, left.names[0], right.name
                    )));
                }
            }
        }
        partition_local &= !(step.rekeys_in_memory
            && (left.kind != SourceKind::Stream || options.query_id.is_none()));
        last_key_hint = step.key_hint;
        synthetic = step.synthetic;
        all_keys = step.foreign_key;
        ops.push(step.op);
        // Stream sides joined on something other than their key are
        // re-keyed through internal topics (persistent queries only, as
        // those have ids to name them by). The new key is serialized in
        // the format of the side that keeps its key, and the topic has its
        // partition count, so the rows land where that side's keys do.
        let mut right_repartition = None;
        if let Some(id) = &options.query_id {
            // ksqlDB names the steps of an n-way join from the last one
            // back: the first of three joins is `L_L_Join`.
            let step_name = format!("{}Join", "L_".repeat(query.joins.len() - 1 - index));
            let topic = |suffix: &str| {
                format!(
                    "_confluent-ksql-{}query_{id}-{step_name}{suffix}-repartition",
                    options.service_id
                )
            };
            let left_source = left.source.as_ref();
            let left_format = left_source.unwrap_or(&first).key_format.clone();
            let left_count = count(&left.names[0]).unwrap_or(1);
            let right_count = count(&right.name).unwrap_or(1);
            let table_right = right.kind == SourceKind::Table;
            if let Some(key) = step.left_rekey {
                let (key_format, partitions) = match &step.right_rekey {
                    None => (right.key_format.clone(), right_count),
                    Some(_) => (left_format.clone(), left_count.max(right_count)),
                };
                inputs[0].repartition = Some(RepartitionSpec {
                    topic: topic(if table_right { "" } else { "-left" }),
                    partitions,
                    operators: Vec::new(),
                    key: vec![key],
                    key_format,
                });
            }
            if let Some(key) = step.right_rekey {
                right_repartition = Some(RepartitionSpec {
                    topic: topic("-right"),
                    partitions: left_count.max(right_count),
                    operators: Vec::new(),
                    key: vec![key],
                    key_format: left_format,
                });
            }
        }
        // An earlier join's (stream) result joined on something other than
        // its key goes through an internal topic too, keyed like the right
        // side, unless this is a push query.
        if step.rekeys_in_memory && left.kind == SourceKind::Stream {
            if let Some(id) = &options.query_id {
                let step_name = format!("{}Join", "L_".repeat(query.joins.len() - 1 - index));
                cuts.push((
                    index,
                    format!(
                        "_confluent-ksql-{}query_{id}-{step_name}-left-repartition",
                        options.service_id
                    ),
                    count(&right.name).unwrap_or(1),
                    step.left_key.clone(),
                    right.key_format.clone(),
                ));
            }
        }
        inputs.push(PlanInput {
            source: right.clone(),
            operators: Vec::new(),
            repartition: right_repartition,
            rekeyed: None,
        });
        let mut names = left.names.clone();
        names.push(right.name.clone());
        left = LeftSide {
            scope: step.scope,
            visible: step.visible,
            kind: step.result,
            key_group: step.key_group,
            source: None,
            names,
        };
    }
    // Each cut's rows come back as one more input, after the sources.
    let mut chain_cuts = Vec::new();
    for (join, topic, partitions, key, key_format) in cuts {
        let rekey = Rekey::new(vec![key], &key_format)?;
        chain_cuts.push(Cut {
            join,
            side: inputs.len(),
            topic: topic.clone(),
            rekey,
        });
        inputs.push(PlanInput {
            source: first.clone(),
            operators: Vec::new(),
            repartition: None,
            rekeyed: Some((topic, partitions)),
        });
    }
    let join: Box<dyn JoinOperator> = if ops.len() == 1 {
        ops.pop().expect("one join")
    } else {
        Box::new(ChainJoinOperator::new(ops, chain_cuts))
    };
    Ok(JoinedInput {
        inputs,
        join,
        scope: left.scope,
        visible: left.visible,
        key_group: left.key_group,
        key_hint: last_key_hint,
        synthetic_key: synthetic,
        key_columns_all: all_keys,
        result: left.kind,
        partition_local,
        left: first,
    })
}
