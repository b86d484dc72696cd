//! Persistent queries: CREATE ... AS SELECT, INSERT INTO ... SELECT, and
//! their life (start, TERMINATE, PAUSE/RESUME).

use super::ddl::{check_map_keys, kind_name};
use super::{prop_int, prop_str, EngineInner, RunningQuery, SessionState, SharedWork};
use crate::catalog::{QueryInfo, QueryState, Source};
use crate::error::{Error, Result};
use crate::formats::{FormatKind, FormatSpec};
use crate::log::{Log, TopicConfig};
use crate::operators::SinkEncoder;
use crate::plan::planner::plan_query;
use crate::plan::PlanOptions;
use crate::results::CommandStatus;
use crate::runtime::task::{Flow, Membership, PersistentTask, Work};
use crate::sql::ast::*;
use crate::types::{Schema, SqlType};
use crate::StatementResult;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

impl EngineInner {
    /// The id the next persistent query will get. Ids are only consumed
    /// (`consume_query_id`) when a query starts, so replaying the metastore
    /// (which holds only statements that succeeded) gives every query the
    /// same id, consumer group and changelogs as before.
    pub(super) fn peek_query_id(&self, prefix: &str) -> String {
        format!("{prefix}_{}", self.state.lock().next_query)
    }

    pub(super) fn consume_query_id(&self) {
        self.state.lock().next_query += 1;
    }

    pub(super) fn plan_options(
        &self,
        session: &SessionState,
        sink_name: Option<String>,
        transient: bool,
        query_id: Option<String>,
    ) -> PlanOptions {
        PlanOptions {
            new_planner: session.property_bool("ksql.new.query.planner.enabled", false),
            transient,
            sink_name,
            query_id,
            service_id: self.service_id.clone(),
            repartition_groups: self.kafka && !transient,
            partitions: self
                .log
                .list_topics()
                .map(|ts| ts.into_iter().map(|t| (t.name, t.partitions)).collect())
                .unwrap_or_default(),
        }
    }

    pub(super) fn create_as_select(
        &self,
        session: &SessionState,
        c: &CreateAsSelect,
        text: &str,
    ) -> Result<StatementResult> {
        let what = match c.kind {
            SourceKind::Stream => "STREAM",
            SourceKind::Table => "TABLE",
        };
        {
            let st = self.state.lock();
            if st.catalog.find_source(&c.name).is_some() {
                if c.if_not_exists {
                    return Ok(CommandStatus::success(
                        &what.to_ascii_lowercase(),
                        &c.name,
                        "create",
                        format!(
                            "Cannot add {} '{}': A source with the same name already exists",
                            what.to_ascii_lowercase(),
                            c.name
                        ),
                    )
                    .into());
                }
                if !c.or_replace {
                    self.check_name_free(&st, &c.name, c.kind)?;
                }
            }
        }
        if c.query.limit.is_some() {
            return Err(Error::plan(format!(
                "CREATE {what} AS SELECT statements don't support LIMIT clause."
            )));
        }
        if c.query.emit == Some(Emit::Final) && c.query.window.is_none() {
            return Err(Error::plan(
                "EMIT FINAL is only supported for windowed aggregations.",
            ));
        }
        let prefix = match c.kind {
            SourceKind::Stream => "CSAS",
            SourceKind::Table => "CTAS",
        };
        let id = self.peek_query_id(&format!("{prefix}_{}", c.name));
        let options = self.plan_options(session, Some(c.name.clone()), false, Some(id.clone()));
        let plan = plan_query(&c.query, &self.state.lock().catalog, &options)?;
        if c.kind != plan.kind {
            let (produced, use_) = match plan.kind {
                SourceKind::Table => ("TABLE", "CREATE TABLE AS SELECT"),
                SourceKind::Stream => ("STREAM", "CREATE STREAM AS SELECT"),
            };
            return Err(Error::plan(format!(
                "Invalid result type. Your SELECT query produces a {produced}. Please use {use_} statement instead."
            )));
        }
        let topic = prop_str(&c.properties, "KAFKA_TOPIC").unwrap_or_else(|| {
            format!(
                "{}{}",
                session
                    .property("ksql.output.topic.name.prefix")
                    .unwrap_or_default(),
                c.name
            )
        });
        let (mut key_format, value_format) = Self::formats_from(
            session,
            &c.properties,
            Some(plan.source.key_format.clone()),
            Some(plan.source.value_format.clone()),
        )?;
        if plan.schema.keys().next().is_none()
            && prop_str(&c.properties, "KEY_FORMAT").is_none()
            && prop_str(&c.properties, "FORMAT").is_none()
        {
            key_format = FormatSpec::new(FormatKind::None);
        } else if key_format.kind == FormatKind::None
            && prop_str(&c.properties, "KEY_FORMAT").is_none()
            && prop_str(&c.properties, "FORMAT").is_none()
        {
            key_format = FormatSpec::new(FormatKind::Kafka);
        }
        let source_partitions = self
            .log
            .describe_topic(&plan.source.topic)?
            .map(|t| t.partitions)
            .unwrap_or(1);
        let partitions = prop_int(&c.properties, "PARTITIONS")?
            .map(|p| p as i32)
            .unwrap_or(source_partitions);
        let replicas = prop_int(&c.properties, "REPLICAS")?.unwrap_or(1) as i16;
        let timestamp = self.timestamp_spec(&c.properties, &plan.schema)?;
        let mut plan = plan;
        if let Some(spec) = &timestamp {
            let (i, _) = plan
                .schema
                .find(&spec.column)
                .expect("timestamp_spec checked the column exists");
            plan.operators
                .push(Box::new(crate::operators::TimestampOperator::new(
                    i,
                    spec.format.clone(),
                )));
        }
        let sink = Source {
            name: c.name.clone(),
            kind: c.kind,
            schema: plan.schema.clone(),
            topic: topic.clone(),
            key_format,
            value_format,
            timestamp,
            is_source: false,
            sql: text.to_string(),
            created_by: Some(id.clone()),
            window: plan.window,
        };
        if prop_str(&c.properties, "WRAP_SINGLE_VALUE").is_some()
            && !sink.value_format.wrap_single
            && sink.schema.values().count() != 1
        {
            return Err(Error::plan(
                "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas",
            ));
        }
        check_map_keys(&sink.schema.columns, &sink.key_format, &sink.value_format)?;
        // The sink's codecs must carry its columns before its topic is made.
        SinkEncoder::try_new(&sink)?;
        match self.log.describe_topic(&topic)? {
            Some(info)
                if info.partitions != partitions
                    && prop_int(&c.properties, "PARTITIONS")?.is_some()
                    && !self.replaying.load(Ordering::SeqCst) =>
            {
                return Err(Error::plan(format!(
                    "A Kafka topic with the name '{topic}' already exists, with different partition/replica configuration than required. KSQL expects {partitions} partitions (topic has {}), {replicas} replication factor (topic has 1).",
                    info.partitions
                )));
            }
            Some(_) => {}
            None => self.log.create_topic(
                &topic,
                &TopicConfig {
                    partitions,
                    replicas,
                    compact: c.kind == SourceKind::Table,
                },
            )?,
        }
        if c.or_replace {
            let existing = self
                .state
                .lock()
                .catalog
                .find_source(&c.name)
                .and_then(|s| s.created_by.clone());
            if let Some(old) = existing {
                self.stop_query(&old);
                self.state.lock().catalog.remove_query(&old);
            }
        }
        let replan: Replan =
            {
                let (query, options, timestamp) =
                    (c.query.clone(), options.clone(), sink.timestamp.clone());
                Arc::new(move |inner: &EngineInner| {
                    let mut plan = plan_query(&query, &inner.state.lock().catalog, &options)?;
                    if let Some(spec) = &timestamp {
                        if let Some((i, _)) = plan.schema.find(&spec.column) {
                            plan.operators.push(Box::new(
                                crate::operators::TimestampOperator::new(i, spec.format.clone()),
                            ));
                        }
                    }
                    Ok(plan)
                })
            };
        self.start_query(session, &id, text, plan, replan, sink.clone())?;
        self.state.lock().catalog.add_source(sink);
        Ok(CommandStatus::success(
            &what.to_ascii_lowercase(),
            &c.name,
            "create",
            format!("Created query with ID {id}"),
        )
        .with_query(&id)
        .into())
    }

    pub(super) fn insert_into(
        &self,
        session: &SessionState,
        target: &str,
        query: &Query,
        text: &str,
    ) -> Result<StatementResult> {
        let sink = self.state.lock().catalog.source(target)?.clone();
        if sink.is_source {
            return Err(Error::plan(format!(
                "Cannot insert into read-only {} {target}.",
                sink.kind_name().to_ascii_lowercase()
            )));
        }
        if sink.kind == SourceKind::Table {
            return Err(Error::plan(format!(
                "INSERT INTO can only be used to insert into a stream. {target} is a table."
            )));
        }
        let id = self.peek_query_id("INSERTQUERY");
        let options = self.plan_options(session, Some(target.to_string()), false, Some(id.clone()));
        let plan = plan_query(query, &self.state.lock().catalog, &options)?;
        if !schemas_compatible(&plan.schema, &sink.schema) {
            return Err(Error::plan(format!(
                "Incompatible schema between results and sink.\nResult schema is {}\nSink schema is {}",
                plan.schema, sink.schema
            )));
        }
        let replan: Replan = {
            let (query, options) = (query.clone(), options.clone());
            Arc::new(move |inner: &EngineInner| {
                plan_query(&query, &inner.state.lock().catalog, &options)
            })
        };
        let kind = kind_name(sink.kind);
        self.start_query(session, &id, text, plan, replan, sink)?;
        Ok(CommandStatus::success(
            kind,
            target,
            "create",
            format!("Created query with ID {id}"),
        )
        .with_query(&id)
        .into())
    }

    pub(super) fn start_query(
        &self,
        session: &SessionState,
        id: &str,
        text: &str,
        plan: crate::plan::planner::QueryPlan,
        replan: Replan,
        sink: Source,
    ) -> Result<()> {
        let described = crate::plan::describe(&plan, Some(&sink));
        let encoder = SinkEncoder::try_new(&sink)?;
        let group = format!("_confluent-ksql-{}query_{id}", self.service_id);
        let earliest = session.reads_from_earliest();
        let stateful = plan.join.is_some()
            || !plan.changelogs.is_empty()
            || sink.kind == SourceKind::Table
            || plan
                .inputs
                .iter()
                .any(|i| i.source.kind == SourceKind::Table);
        let mut flow = self.flow(
            plan.inputs,
            plan.join,
            plan.operators,
            Some(&group),
            earliest,
        )?;
        // Commit the starting positions so a restart resumes exactly here
        // (a query that ran before, maybe in another process of the
        // service, has its own).
        let mut uncommitted = false;
        for reader in flow.readers() {
            for (p, _) in &reader.positions {
                uncommitted |= self.log.committed(&group, &reader.topic, *p)?.is_none();
            }
        }
        if uncommitted {
            flow.commit(self.log.as_ref(), &group)?;
        }
        // Processes of one service share a query's partitions through its
        // consumer group (on Kafka; queries run in the background). A
        // stateful query whose state never combines rows of different
        // partitions, over inputs of one partition count, is split by
        // partition; any other stateful query runs whole on one process.
        let counts: Vec<usize> = flow.readers().map(|r| r.positions.len()).collect();
        let partitions = counts.first().copied().unwrap_or(1);
        // (Every process decides the same, including one that only records
        // the statement and creates the changelogs.)
        let splittable = stateful
            && plan.partition_local
            && self.kafka
            && partitions > 1
            && counts.iter().all(|n| *n == partitions);
        let mut split = splittable && self.background && !self.record_only;
        for topic in &plan.changelogs {
            // A changelog made for the whole query has one partition.
            if let Some(info) = self.log.describe_topic(topic)? {
                split &= info.partitions as usize == partitions;
            }
        }
        let anchor = flow
            .inputs
            .first()
            .map(|i| i.source_topic().to_string())
            .unwrap_or_default();
        let topics: Vec<String> = if split {
            vec![anchor.clone()]
        } else {
            flow.inputs
                .iter()
                .map(|i| i.source_topic().to_string())
                .collect()
        };
        let member = if self.background && !self.record_only {
            self.log.join_group(&group, &topics)?
        } else {
            None
        };
        let plan_changelogs = plan.changelogs.clone();
        for topic in &plan.changelogs {
            crate::log::ensure_topic(
                self.log.as_ref(),
                topic,
                &TopicConfig {
                    partitions: if splittable { partitions as i32 } else { 1 },
                    replicas: 1,
                    compact: true,
                },
            )?;
        }
        // Exactly-once processing through transactions, where the log has
        // them. (A process that only records statements must not open a
        // writer: that would fence the process running the query.)
        let guarantee = session
            .first_property(&["processing.guarantee", "ksql.streams.processing.guarantee"])
            .unwrap_or_default();
        let exactly_once = guarantee.starts_with("exactly_once") && !self.record_only;
        if exactly_once && !self.kafka {
            tracing::warn!(
                "query {id} runs at least once: processing.guarantee={guarantee} needs Kafka transactions, which the embedded log does not have"
            );
        }
        let exactly_once = exactly_once && self.kafka;
        // Record caching (ksqlDB's default, 10 MB): a table's changes are
        // coalesced per key; `cache.max.bytes.buffering = 0` turns it off.
        let caching = session
            .first_property(&[
                "cache.max.bytes.buffering",
                "ksql.streams.cache.max.bytes.buffering",
            ])
            .map(|v| v.trim() != "0")
            .unwrap_or(true);
        let coalesce =
            (caching && sink.kind == SourceKind::Table).then(|| sink.schema.key_indexes());
        let template = TaskTemplate {
            query_id: id.to_string(),
            group: group.clone(),
            sink: sink.clone(),
            // Results wait for the commit interval only where they can be
            // coalesced, and only while queries run in the background (a
            // caller driving queries expects results when idle).
            commit_interval: (coalesce.is_some() && self.background).then(|| {
                Duration::from_millis(
                    session
                        .first_property(&["commit.interval.ms", "ksql.streams.commit.interval.ms"])
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(2_000),
                )
            }),
            coalesce,
            checkpoints: plan_changelogs,
        };
        let rebuild = |only: Option<i32>| {
            query_rebuild(self.me.clone(), replan.clone(), &group, earliest, only)
        };
        let txn = |txn_id: String| {
            exactly_once.then(|| txn_factory(self.log.clone(), group.clone(), txn_id))
        };
        let task: Box<dyn Work> = match member {
            Some(member) if split => {
                // One task per partition this process owns, each built
                // (its state restored from its changelog partition) when
                // the group hands the partition over.
                drop(flow);
                let (log, me, replan) = (self.log.clone(), self.me.clone(), replan.clone());
                let make: crate::runtime::split::TaskFactory = Box::new(move |p| {
                    let group = &template.group;
                    let mut rebuild =
                        query_rebuild(me.clone(), replan.clone(), group, earliest, Some(p));
                    let mut flow = rebuild()?;
                    flow.restore(log.as_ref())?;
                    // Each partition's writer fences that partition's
                    // earlier owner.
                    let txn = exactly_once.then(|| {
                        txn_factory(log.clone(), group.clone(), format!("{group}-txn-p{p}"))
                    });
                    Ok(template.task(
                        flow,
                        SinkEncoder::try_new(&template.sink)?,
                        p,
                        None,
                        txn,
                        rebuild,
                    ))
                });
                Box::new(crate::runtime::split::SplitQuery::new(
                    id.to_string(),
                    member,
                    anchor,
                    make,
                ))
            }
            Some(member) => {
                // The group says what to read, and the state is restored
                // when this process takes the query on.
                for reader in flow.readers_mut() {
                    reader.positions.clear();
                }
                // A query running whole on one process writes as the query
                // (a new owner fences the old); a stateless one split across
                // processes writes as this process's share of it.
                let txn_id = if stateful {
                    format!("{group}-txn")
                } else {
                    format!("{group}-txn-{}", self.instance)
                };
                Box::new(template.task(
                    flow,
                    encoder,
                    0,
                    Some(Membership::new(member, stateful, earliest)),
                    txn(txn_id),
                    rebuild(None),
                ))
            }
            None => {
                // State first: operators reload their stores from their
                // changelogs.
                flow.restore(self.log.as_ref())?;
                Box::new(template.task(
                    flow,
                    encoder,
                    0,
                    None,
                    txn(format!("{group}-txn")),
                    rebuild(None),
                ))
            }
        };
        self.consume_query_id();
        let task = Arc::new(Mutex::new(task));
        let stop = Arc::new(AtomicBool::new(false));
        let paused = Arc::new(AtomicBool::new(false));
        let thread = if self.background && !self.record_only {
            let (t, s, p, log) = (task.clone(), stop.clone(), paused.clone(), self.log.clone());
            let name = id.to_string();
            Some(
                std::thread::Builder::new()
                    .name(format!("query-{name}"))
                    .spawn(move || run_loop(t, s, p, log))
                    .map_err(Error::Io)?,
            )
        } else {
            None
        };
        self.queries.lock().push(RunningQuery {
            id: id.to_string(),
            plan: described,
            task,
            stop,
            paused,
            thread,
        });
        self.state.lock().catalog.add_query(QueryInfo {
            id: id.to_string(),
            sql: text.to_string(),
            sink: sink.name.clone(),
            sink_topic: sink.topic.clone(),
            sources: plan.sources,
            state: QueryState::Running,
        });
        Ok(())
    }

    pub(super) fn stop_query(&self, id: &str) -> bool {
        let mut qs = self.queries.lock();
        if let Some(i) = qs.iter().position(|q| q.id == id) {
            let mut q = qs.remove(i);
            drop(qs);
            q.shutdown();
            true
        } else {
            false
        }
    }

    /// Drives every persistent query until none has input left.
    pub fn run_until_idle(&self) -> Result<()> {
        loop {
            let tasks: Vec<(SharedWork, bool)> = self
                .queries
                .lock()
                .iter()
                .map(|q| (q.task.clone(), q.paused.load(Ordering::SeqCst)))
                .collect();
            let mut progress = 0;
            for (t, paused) in tasks {
                if paused {
                    continue;
                }
                progress += t.lock().poll(self.log.as_ref())?;
            }
            if progress == 0 {
                return Ok(());
            }
        }
    }

    pub(super) fn query_ids(&self, target: &QueryTarget) -> Result<Vec<String>> {
        let st = self.state.lock();
        match target {
            QueryTarget::All => Ok(st.catalog.queries().map(|q| q.id.clone()).collect()),
            QueryTarget::Id(id) => st
                .catalog
                .queries()
                .find(|q| q.id.eq_ignore_ascii_case(id))
                .map(|q| vec![q.id.clone()])
                .ok_or_else(|| Error::catalog(format!("Unknown queryId: {id}"))),
        }
    }

    pub(super) fn terminate(&self, target: &QueryTarget) -> Result<StatementResult> {
        for id in self.query_ids(target)? {
            self.stop_query(&id);
            self.state.lock().catalog.remove_query(&id);
            // On Kafka other processes of the service may still read them
            // until they apply the TERMINATE, and a consumer of a deleted
            // topic can crash (librdkafka with the test broker): they stay.
            if !self.kafka {
                self.delete_internal_topics(&id)?;
            }
        }
        Ok(CommandStatus::success(
            "terminate",
            &target_name(target),
            "execute",
            "Query terminated.",
        )
        .into())
    }

    /// Deletes a terminated query's internal topics (state changelogs and
    /// repartition topics), as ksqlDB cleans up after a query.
    pub(super) fn delete_internal_topics(&self, id: &str) -> Result<()> {
        let prefix = format!("_confluent-ksql-{}query_{id}-", self.service_id);
        for topic in self.log.list_topics()? {
            if topic.name.starts_with(&prefix) {
                self.log.delete_topic(&topic.name)?;
            }
        }
        Ok(())
    }

    pub(super) fn pause(&self, target: &QueryTarget, pause: bool) -> Result<StatementResult> {
        let (kind, message) = if pause {
            ("pause", "Query paused.")
        } else {
            ("resume", "Query resumed.")
        };
        for id in self.query_ids(target)? {
            if let Some(q) = self.queries.lock().iter().find(|q| q.id == id) {
                q.paused.store(pause, Ordering::SeqCst);
            }
            if let Some(info) = self.state.lock().catalog.query_mut(&id) {
                info.state = if pause {
                    QueryState::Paused
                } else {
                    QueryState::Running
                };
            }
        }
        Ok(CommandStatus::success(kind, &target_name(target), "execute", message).into())
    }
}

pub(super) fn run_loop(
    task: SharedWork,
    stop: Arc<AtomicBool>,
    paused: Arc<AtomicBool>,
    log: Arc<dyn Log>,
) {
    let mut last_error: Option<String> = None;
    while !stop.load(Ordering::SeqCst) {
        if paused.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        let seen = log.append_seq();
        match task.lock().poll(log.as_ref()) {
            Ok(read) => {
                last_error = None;
                if read == 0 {
                    log.wait_for_append(seen, Duration::from_millis(200));
                }
            }
            Err(e) => {
                // Said once per distinct failure; the query retries.
                let msg = e.to_string();
                if last_error.as_deref() != Some(msg.as_str()) {
                    eprintln!("sluice: query failed, retrying: {msg}");
                    last_error = Some(msg);
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
    // Stopping: write what waits for the commit interval.
    let mut t = task.lock();
    if t.has_pending() {
        if let Err(e) = t.flush(log.as_ref()) {
            eprintln!("sluice: could not write a stopping query's last results: {e}");
        }
    }
}

/// How a TERMINATE, PAUSE or RESUME names its target in the command id.
fn target_name(target: &QueryTarget) -> String {
    match target {
        QueryTarget::All => "ALL".to_string(),
        QueryTarget::Id(id) => id.to_ascii_uppercase(),
    }
}

/// An INSERT INTO query's result must match the sink column for column.
pub(super) fn schemas_compatible(result: &Schema, sink: &Schema) -> bool {
    let strip = |s: &Schema| -> Vec<(String, SqlType, bool)> {
        s.columns
            .iter()
            .map(|c| (c.name.clone(), c.ty.clone(), c.is_key()))
            .collect()
    };
    strip(result) == strip(sink)
}

/// Plans a persistent query afresh at the group's committed positions:
/// all of it, or (`only`) partition p's task of a split query.
pub(super) fn query_rebuild(
    me: std::sync::Weak<EngineInner>,
    replan: Replan,
    group: &str,
    earliest: bool,
    only: Option<i32>,
) -> crate::runtime::task::Rebuild {
    let group = group.to_string();
    Box::new(move || {
        let inner = me
            .upgrade()
            .ok_or_else(|| Error::log("the engine is shutting down"))?;
        let plan = replan(&inner)?;
        let mut flow = inner.flow(
            plan.inputs,
            plan.join,
            plan.operators,
            Some(&group),
            earliest,
        )?;
        if let Some(p) = only {
            flow.only_partition(p);
        }
        Ok(flow)
    })
}

/// Opens the transactional writer `txn_id` of a query's group.
pub(super) fn txn_factory(
    log: Arc<dyn Log>,
    group: String,
    txn_id: String,
) -> crate::runtime::task::TxnFactory {
    Box::new(move || {
        log.transactional_writer(&txn_id, &group)?.ok_or_else(|| {
            Error::log("this log has no transactions for processing.guarantee exactly_once_v2")
        })
    })
}

/// What every task of a persistent query shares (a split query has one
/// task per partition).
#[derive(Clone)]
pub(super) struct TaskTemplate {
    query_id: String,
    group: String,
    sink: Source,
    commit_interval: Option<Duration>,
    coalesce: Option<Vec<usize>>,
    checkpoints: Vec<String>,
}

impl TaskTemplate {
    pub(super) fn task(
        &self,
        flow: Flow,
        encoder: SinkEncoder,
        changelog_partition: i32,
        group_member: Option<Membership>,
        exactly_once: Option<crate::runtime::task::TxnFactory>,
        rebuild: crate::runtime::task::Rebuild,
    ) -> PersistentTask {
        PersistentTask {
            query_id: self.query_id.clone(),
            group: self.group.clone(),
            flow,
            sink: encoder,
            errors: 0,
            commit_interval: self.commit_interval,
            coalesce: self.coalesce.clone(),
            checkpoints: self.checkpoints.clone(),
            changelog_partition,
            pending: Default::default(),
            group_member,
            exactly_once,
            txn: None,
            rebuild: Some(rebuild),
        }
    }
}

/// Plans a persistent query again (see `PersistentTask::rebuild`).
pub(super) type Replan =
    Arc<dyn Fn(&EngineInner) -> Result<crate::plan::planner::QueryPlan> + Send + Sync>;
