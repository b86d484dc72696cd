//! Planning joins: checks the join is one ksqlDB supports (kinds, WITHIN,
//! keys), lays out the joined row (each side's columns, then the join key
//! ROWKEY, then each side's pseudo-columns) and builds the join operator.

use super::{source_scope, PlanOptions};
use crate::catalog::{Catalog, Source};
use crate::error::{Error, Result};
use crate::expr::{Compiled, Scope, ScopeColumn};
use crate::operators::chain_join::{ChainJoinOperator, Cut};
use crate::operators::fk_join::FkJoinOperator;
use crate::operators::join_row::JoinLayout;
use crate::operators::rekey::Rekey;
use crate::operators::stream_stream_join::StreamStreamJoinOperator;
use crate::operators::stream_table_join::StreamTableJoinOperator;
use crate::operators::table_table_join::TableTableJoinOperator;
use crate::operators::JoinOperator;
use crate::runtime::spec::{PlanInput, RepartitionSpec};
use crate::sql::ast::{BinaryOp, Expr, JoinKind, Query, SourceKind};

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

const DEFAULT_GRACE_MS: i64 = 24 * 3_600_000;

fn kind_name(k: JoinKind) -> &'static str {
    match k {
        JoinKind::Inner => "inner",
        JoinKind::Left => "left",
        JoinKind::Right => "right",
        JoinKind::Full => "full-outer",
    }
}

/// The left side of the next join: the first source, or everything joined
/// so far.
struct LeftSide {
    scope: Scope,
    visible: usize,
    kind: SourceKind,
    /// Positions holding the left side's key (a source's primary key, or a
    /// previous join's key group).
    key_group: Vec<usize>,
    /// The base source, when nothing was joined yet.
    source: Option<Source>,
    /// Names of the sources joined so far.
    names: Vec<String>,
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
        let step = plan_step(query, join, &left, &right, &rs)?;
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

/// One planned join of the chain.
struct JoinStep {
    op: Box<dyn JoinOperator>,
    scope: Scope,
    visible: usize,
    key_group: Vec<usize>,
    key_hint: String,
    synthetic: bool,
    result: SourceKind,
    /// Both sides join on their keys (no repartitioning).
    key_to_key: bool,
    /// A foreign-key join: the key group is the left key's columns, all
    /// of which the result needs (not alternatives).
    foreign_key: bool,
    /// The left side is a stream source joined on something other than
    /// its key: its new key.
    left_rekey: Option<Compiled>,
    /// The same for the right side.
    right_rekey: Option<Compiled>,
    /// The left side is an earlier join's result joined on something other
    /// than its key: it is re-keyed in memory, so rows of different input
    /// partitions meet.
    rekeys_in_memory: bool,
    /// The left side's join key.
    left_key: Compiled,
}

fn plan_step(
    query: &Query,
    join: &crate::sql::ast::Join,
    left: &LeftSide,
    right: &Source,
    rs: &Scope,
) -> Result<JoinStep> {
    let ls = &left.scope;
    let describe_left = match &left.source {
        Some(s) => format!("{} [{}]", s.kind_name(), s.name),
        None => format!(
            "{} [{}]",
            if left.kind == SourceKind::Table {
                "TABLE"
            } else {
                "STREAM"
            },
            left.names.join(", ")
        ),
    };
    let describe = |s: &Source| format!("{} [{}]", s.kind_name(), s.name);
    let mut kafka: Vec<&str> = Vec::new();
    if let Some(s) = &left.source {
        if s.value_format.kind == crate::formats::FormatKind::Kafka {
            kafka.push(&s.name);
        }
    }
    if right.value_format.kind == crate::formats::FormatKind::Kafka {
        kafka.push(&right.name);
    }
    if !kafka.is_empty() {
        return Err(Error::plan(format!(
            "Source(s) {} are using the 'KAFKA' value format. This format does not yet support JOIN.",
            kafka.join(", ")
        )));
    }
    let left_window = left.source.as_ref().and_then(|s| s.window);
    match (left_window, right.window) {
        (Some(a), Some(b)) if (a == crate::catalog::WindowInfo::Session) != (b == crate::catalog::WindowInfo::Session) => {
            return Err(Error::plan(format!(
                "Incompatible windowed sources. Left source: {} Right source: {} Session windowed sources can only be joined to other session windowed sources, and may still not result in expected behaviour as session bounds must be an exact match for a join to work",
                a.type_name(),
                b.type_name()
            )))
        }
        (Some(w), None) => {
            return Err(Error::plan(format!(
                "Can not join windowed source to non-windowed source. `{}` is {} windowed `{}` is not windowed",
                left.names[0],
                w.type_name(),
                right.name
            )))
        }
        (None, Some(w)) => {
            return Err(Error::plan(format!(
                "Can not join windowed source to non-windowed source. `{}` is {} windowed `{}` is not windowed",
                right.name,
                w.type_name(),
                left.names[0]
            )))
        }
        _ => {}
    }
    match (left.kind, right.kind) {
        (SourceKind::Table, SourceKind::Stream) => {
            return Err(Error::plan(format!(
                "Invalid join order: table-stream joins are not supported; only stream-table joins. Got {} {} JOIN {}.",
                describe_left,
                kind_name(join.kind).to_ascii_uppercase(),
                describe(right)
            )))
        }
        (SourceKind::Stream, SourceKind::Table) if matches!(join.kind, JoinKind::Right | JoinKind::Full) => {
            return Err(Error::plan(format!(
                "Invalid join type: {} join not supported for stream-table join. Got {} {} JOIN {}.",
                kind_name(join.kind),
                describe_left,
                if join.kind == JoinKind::Full { "FULL OUTER" } else { "RIGHT" },
                describe(right)
            )))
        }
        (SourceKind::Stream, SourceKind::Stream) if join.within.is_none() => {
            return Err(Error::plan(
                "Stream-Stream joins must have a WITHIN clause specified. None was provided. To learn about how to specify a WITHIN clause with a stream-stream join, please visit: https://docs.confluent.io/current/ksql/docs/syntax-reference.html#create-stream-as-select",
            ))
        }
        (_, SourceKind::Table) | (SourceKind::Table, _) if join.within.is_some() => {
            return Err(Error::plan(
                "A window definition was provided for a Stream-Table join. These joins are not windowed. Please drop the window definition (i.e. the WITHIN clause) and try to execute your join again.",
            ))
        }
        _ => {}
    }
    let _ = query;
    // ON: an equality between an expression of each side.
    let Expr::Binary {
        op: BinaryOp::Eq,
        left: a,
        right: b,
    } = &join.on
    else {
        return Err(Error::plan(format!(
            "Unsupported join expression: {}. Only equality joins between the two sources are supported.",
            join.on
        )));
    };
    let (lk_expr, rk_expr) = match (Compiled::compile(a, ls), Compiled::compile(b, rs)) {
        (Ok(_), Ok(_)) => (a.as_ref(), b.as_ref()),
        _ => match (Compiled::compile(b, ls), Compiled::compile(a, rs)) {
            (Ok(_), Ok(_)) => (b.as_ref(), a.as_ref()),
            _ => {
                return Err(Error::plan(format!(
                    "Invalid comparison expression '{}' in join '{}'. Each side of the join comparision must contain references from exactly one source.",
                    join.on, join.on
                )))
            }
        },
    };
    let lk = Compiled::compile(lk_expr, ls)?;
    let rk = Compiled::compile(rk_expr, rs)?;
    let is_key = |k: &Compiled, s: &Source| {
        k.as_column()
            .is_some_and(|i| s.schema.key_indexes() == vec![i])
    };
    let mut left_rekey = left
        .source
        .as_ref()
        .filter(|s| s.kind == SourceKind::Stream && !is_key(&lk, s))
        .map(|_| lk.clone());
    let mut right_rekey =
        (right.kind == SourceKind::Stream && !is_key(&rk, right)).then(|| rk.clone());
    // Keys joined key-to-key but serialized in different formats land on
    // different partitions: the stream side (the right one of two streams)
    // is re-keyed into the other side's format.
    if let Some(s) = &left.source {
        let mismatch = s.key_format.kind != right.key_format.kind
            && left_rekey.is_none()
            && right_rekey.is_none();
        match (s.kind, right.kind) {
            (SourceKind::Stream, SourceKind::Table) if mismatch => left_rekey = Some(lk.clone()),
            (SourceKind::Stream, SourceKind::Stream) if mismatch => right_rekey = Some(rk.clone()),
            _ => {}
        }
    }
    if let Some(s) = &left.source {
        if s.window.is_some()
            && lk.as_column().map(|i| s.schema.key_indexes() == vec![i]) != Some(true)
        {
            return Err(Error::plan(
                "Implicit repartitioning of windowed sources is not supported. See https://github.com/confluentinc/ksql/issues/4385.",
            ));
        }
    }
    if right.window.is_some()
        && rk
            .as_column()
            .map(|i| right.schema.key_indexes() == vec![i])
            != Some(true)
    {
        return Err(Error::plan(
            "Implicit repartitioning of windowed sources is not supported. See https://github.com/confluentinc/ksql/issues/4385.",
        ));
    }
    if lk.ty != rk.ty {
        return Err(Error::plan(format!(
            "Invalid join condition: types don't match. Got {}{{{}}} = {}{{{}}}.",
            lk_expr, lk.ty, rk_expr, rk.ty
        )));
    }
    let rekeys_in_memory =
        left.source.is_none() && lk.as_column().is_none_or(|i| !left.key_group.contains(&i));
    let lk_for_cut = lk.clone();
    let l_vis = left.visible;
    let r_vis = right.schema.columns.len();
    let layout = JoinLayout {
        left: (l_vis, ls.columns.len()),
        right: (r_vis, rs.columns.len()),
    };
    // The joined scope, in the layout's order.
    let mut cols: Vec<ScopeColumn> = ls.columns[..l_vis].to_vec();
    cols.extend(rs.columns[..r_vis].iter().cloned());
    cols.push(ScopeColumn {
        qualifier: None,
        name: "ROWKEY".into(),
        ty: lk.ty.clone(),
    });
    for c in &ls.columns[l_vis..] {
        // An earlier join's ROWKEY is no longer addressable by name.
        let name = if c.name == "ROWKEY" {
            "$ROWKEY".to_string()
        } else {
            c.name.clone()
        };
        cols.push(ScopeColumn { name, ..c.clone() });
    }
    // The right side's pseudo-columns are addressable qualified
    // (`R.ROWTIME`); unqualified they mean the left-most source's.
    cols.extend(rs.columns[r_vis..].iter().cloned());
    let rowkey = layout.rowkey();
    // The result's key: the join column of a side (a plain column), or the
    // synthesized ROWKEY (always for FULL OUTER joins).
    let mut key_group = Vec::new();
    let mut key_hint = "ROWKEY".to_string();
    if join.kind != JoinKind::Full {
        if let Some(i) = lk.as_column().filter(|i| *i < l_vis) {
            // Joining on the previous join's key keeps all its columns as
            // alternatives for the key.
            if left.source.is_none() && left.key_group.contains(&i) {
                key_group.extend(left.key_group.iter().copied().filter(|k| *k < l_vis));
            } else {
                key_group.push(i);
            }
            key_hint = lk_expr.to_string();
        }
        if let Some(i) = rk.as_column().filter(|i| *i < r_vis) {
            key_group.push(l_vis + i);
            if key_group.len() == 1 {
                key_hint = rk_expr.to_string();
            }
        }
    }
    let synthetic = key_group.is_empty();
    let key_to_key = lk.as_column().is_some_and(|i| left.key_group.contains(&i))
        && rk
            .as_column()
            .is_some_and(|i| right.schema.key_indexes() == vec![i]);
    key_group.push(rowkey);
    let right_key = |k: &Compiled, e: &Expr| -> Result<usize> {
        let keys = right.schema.key_indexes();
        match k.as_column() {
            Some(i) if keys == vec![i] => Ok(i),
            _ => Err(Error::plan(format!(
                "Cannot repartition a TABLE source. If this is a join, make sure that the criteria uses the TABLE's key column {} instead of [{}]",
                keys.iter().map(|i| right.schema.columns[*i].name.clone()).collect::<Vec<_>>().join(", "),
                e
            ))),
        }
    };
    let mut fk_keys: Option<Vec<usize>> = None;
    let (op, result): (Box<dyn JoinOperator>, SourceKind) = match (left.kind, right.kind) {
        (SourceKind::Stream, SourceKind::Table) => {
            let tk = right_key(&rk, rk_expr)?;
            (
                Box::new(StreamTableJoinOperator::new(
                    layout,
                    lk,
                    tk,
                    join.kind == JoinKind::Left,
                )),
                SourceKind::Stream,
            )
        }
        (SourceKind::Table, SourceKind::Table) => {
            let rkey = right_key(&rk, rk_expr)?;
            match lk.as_column() {
                Some(i)
                    if left.key_group.len() == 1 && left.key_group.contains(&i)
                        || left.source.is_none() && left.key_group.contains(&i) =>
                {
                    (
                        Box::new(TableTableJoinOperator::new(layout, i, rkey, join.kind)),
                        SourceKind::Table,
                    )
                }
                _ => {
                    if left.source.is_none() {
                        let qualified = |c: &Compiled, sc: &Scope, e: &Expr| match c.as_column() {
                            Some(i) => format!(
                                "{}.{}",
                                sc.columns[i].qualifier.clone().unwrap_or_default(),
                                sc.columns[i].name
                            ),
                            None => e.to_string(),
                        };
                        return Err(Error::plan(format!(
                            "Invalid join condition: foreign-key table-table joins are not supported as part of n-way joins. Got {} = {}.",
                            qualified(&lk, ls, lk_expr),
                            qualified(&rk, rs, rk_expr)
                        )));
                    }
                    // A foreign-key join: keyed by the left table's key.
                    if matches!(join.kind, JoinKind::Right | JoinKind::Full) {
                        return Err(Error::plan(format!(
                            "Invalid join type: {} join not supported for foreign-key table-table join. Got {} {} JOIN {}.",
                            kind_name(join.kind),
                            describe_left,
                            if join.kind == JoinKind::Full { "FULL OUTER" } else { "RIGHT" },
                            describe(right)
                        )));
                    }
                    let left_keys: Vec<usize> = left
                        .key_group
                        .iter()
                        .copied()
                        .filter(|i| *i < l_vis)
                        .collect();
                    fk_keys = Some(left_keys.clone());
                    (
                        Box::new(FkJoinOperator::new(
                            layout,
                            left_keys,
                            lk,
                            rkey,
                            join.kind == JoinKind::Left,
                        )),
                        SourceKind::Table,
                    )
                }
            }
        }
        _ => {
            let within = join.within.as_ref().expect("checked above");
            let grace = within.grace.map(|g| g.millis()).unwrap_or(DEFAULT_GRACE_MS);
            // Windowed sources meet only within the same window.
            let window = left_window.filter(|_| right.window.is_some());
            (
                Box::new(StreamStreamJoinOperator::new(
                    layout,
                    [lk, rk],
                    join.kind,
                    (within.before.millis(), within.after.millis(), grace),
                    // An explicit grace period holds unmatched outer rows
                    // until their window closes (Kafka Streams' KIP-633
                    // joins); without one they are emitted at once.
                    within.grace.is_some(),
                    window,
                )),
                SourceKind::Stream,
            )
        }
    };
    let mut scope = Scope::new(cols);
    scope.custom_types = ls.custom_types.clone();
    // A foreign-key join's result is keyed by every left key column.
    let fk = fk_keys.is_some();
    if let Some(keys) = fk_keys {
        key_group = keys;
    }
    Ok(JoinStep {
        op,
        scope,
        visible: l_vis + r_vis,
        key_group,
        key_hint,
        synthetic: synthetic && !fk,
        result,
        key_to_key: key_to_key && !fk,
        foreign_key: fk,
        left_rekey,
        right_rekey,
        rekeys_in_memory,
        left_key: lk_for_cut,
    })
}
