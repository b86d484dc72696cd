//! Persistent queries: CREATE ... AS SELECT, INSERT INTO ... SELECT, and
//! their life (start, TERMINATE, PAUSE/RESUME).

use super::ddl::{check_map_keys, kind_name};
use super::{prop_int, prop_str, EngineInner, RunningQuery, SessionState};
use crate::catalog::{Catalog, QueryInfo, QueryState, Source, TimestampSpec};
use crate::error::{Error, Result};
use crate::formats::{FormatKind, FormatSpec};
use crate::log::TopicConfig;
use crate::operators::SinkEncoder;
use crate::operators::TimestampOperator;
use crate::plan::planner::{plan_query, QueryPlan};
use crate::plan::PlanOptions;
use crate::results::CommandStatus;
use crate::runtime::deploy::{DeployConfig, Deployment, FlowFactory, FlowSpec};
use crate::sql::ast::*;
use crate::types::{Schema, SqlType};
use crate::StatementResult;
use std::sync::atomic::Ordering;
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
        let source_partitions = self
            .log
            .describe_topic(&plan.source.topic)?
            .map(|t| t.partitions)
            .unwrap_or(1);
        let partitions = prop_int(&c.properties, "PARTITIONS")?
            .map(|p| p as i32)
            .unwrap_or(source_partitions);
        let replicas = prop_int(&c.properties, "REPLICAS")?.unwrap_or(1) as i16;
        let mut plan = plan;
        let mut sink = Source {
            sql: text.to_string(),
            created_by: Some(id.clone()),
            ..self.plan_sink(session, c, &mut plan)?
        };
        let topic = sink.topic.clone();
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
        self.register_sink_schemas(&mut sink, &c.properties)?;
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
        let factory = flow_factory(
            self.state.lock().catalog.clone(),
            c.query.as_ref().clone(),
            options,
            sink.timestamp.clone(),
        );
        self.start_query(session, &id, text, plan, factory, sink.clone())?;
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

    /// The stream or table a CREATE ... AS SELECT writes: its topic
    /// (`KAFKA_TOPIC`, or the name after `ksql.output.topic.name.prefix`),
    /// formats (given, or the source's; no key format without key columns)
    /// and TIMESTAMP column, whose operator is added to `plan`.
    pub(super) fn plan_sink(
        &self,
        session: &SessionState,
        c: &CreateAsSelect,
        plan: &mut QueryPlan,
    ) -> Result<Source> {
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
        let format_given = prop_str(&c.properties, "KEY_FORMAT").is_some()
            || prop_str(&c.properties, "FORMAT").is_some();
        if plan.schema.keys().next().is_none() && !format_given {
            key_format = FormatSpec::new(FormatKind::None);
        } else if key_format.kind == FormatKind::None && !format_given {
            key_format = FormatSpec::new(FormatKind::Kafka);
        }
        let timestamp = self.timestamp_spec(&c.properties, &plan.schema)?;
        if let Some(spec) = &timestamp {
            let (i, _) = plan
                .schema
                .find(&spec.column)
                .expect("timestamp_spec checked the column exists");
            plan.operators.push(Box::new(TimestampOperator::new(
                i,
                &spec.column,
                spec.format.clone(),
            )));
        }
        Ok(Source {
            name: c.name.clone(),
            kind: c.kind,
            schema: plan.schema.clone(),
            topic,
            key_format,
            value_format,
            timestamp,
            is_source: false,
            sql: String::new(),
            created_by: None,
            window: plan.window,
        })
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
        let factory = flow_factory(
            self.state.lock().catalog.clone(),
            query.clone(),
            options,
            None,
        );
        let kind = kind_name(sink.kind);
        self.start_query(session, &id, text, plan, factory, sink)?;
        Ok(CommandStatus::success(
            kind,
            target,
            "create",
            format!("Created query with ID {id}"),
        )
        .with_query(&id)
        .into())
    }

    /// Deploys a planned persistent query and records it in the catalog.
    pub(super) fn start_query(
        &self,
        session: &SessionState,
        id: &str,
        text: &str,
        plan: QueryPlan,
        factory: FlowFactory,
        sink: Source,
    ) -> Result<()> {
        let stateful = plan.join.is_some()
            || !plan.changelogs.is_empty()
            || sink.kind == SourceKind::Table
            || plan
                .inputs
                .iter()
                .any(|i| i.source.kind == SourceKind::Table);
        let config = DeployConfig {
            query_id: id.to_string(),
            group: format!("_confluent-ksql-{}query_{id}", self.service_id),
            earliest: session.reads_from_earliest(),
            exactly_once: session
                .first_property(&["processing.guarantee", "ksql.streams.processing.guarantee"])
                .is_some_and(|g| g.starts_with("exactly_once")),
            // Record caching (ksqlDB's default, 10 MB) coalesces a table's
            // changes per key; `cache.max.bytes.buffering = 0` turns it off.
            caching: session
                .first_property(&[
                    "cache.max.bytes.buffering",
                    "ksql.streams.cache.max.bytes.buffering",
                ])
                .is_none_or(|v| v.trim() != "0"),
            commit_interval: Duration::from_millis(
                session
                    .first_property(&["commit.interval.ms", "ksql.streams.commit.interval.ms"])
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(2_000),
            ),
            background: self.background,
            record_only: self.record_only,
            kafka: self.kafka,
            instance: self.instance.clone(),
            stateful,
            partition_local: plan.partition_local,
            changelogs: plan.changelogs.clone(),
            state: self.stores.clone(),
        };
        let info = QueryInfo {
            id: id.to_string(),
            sql: text.to_string(),
            sink: sink.name.clone(),
            sink_topic: sink.topic.clone(),
            sources: plan.sources.clone(),
            state: QueryState::Running,
        };
        let described = crate::plan::describe(&plan, Some(&sink));
        let spec = FlowSpec {
            inputs: plan.inputs,
            join: plan.join,
            operators: plan.operators,
        };
        let deployment = Deployment::start(self.log.clone(), config, spec, factory, sink)?;
        self.consume_query_id();
        self.queries.lock().push(RunningQuery {
            plan: described,
            deployment,
        });
        self.state.lock().catalog.add_query(info);
        Ok(())
    }

    pub(super) fn stop_query(&self, id: &str) -> bool {
        let mut qs = self.queries.lock();
        if let Some(i) = qs.iter().position(|q| q.deployment.query_id == id) {
            let mut q = qs.remove(i);
            drop(qs);
            q.deployment.shutdown();
            true
        } else {
            false
        }
    }

    /// Drives every persistent query until none has input left.
    pub fn run_until_idle(&self) -> Result<()> {
        loop {
            let mut progress = 0;
            for q in self.queries.lock().iter() {
                progress += q.deployment.poll(self.log.as_ref())?;
            }
            if progress > 0 {
                continue;
            }
            // Idle: what waits for its commit interval is written now
            // (queries reading it get another round).
            let mut flushed = false;
            for q in self.queries.lock().iter() {
                flushed |= q.deployment.flush_pending(self.log.as_ref())?;
            }
            if !flushed {
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
                .ok_or_else(|| Error::not_found(format!("Unknown queryId: {id}"))),
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
            self.delete_state(&id);
        }
        Ok(CommandStatus::success(
            "terminate",
            &target_name(target),
            "execute",
            "Query terminated.",
        )
        .into())
    }

    /// Deletes a terminated query's local state stores.
    fn delete_state(&self, id: &str) {
        let scope = crate::state::StateScope {
            config: self.stores.clone(),
            query_id: id.to_string(),
        };
        if let Some(dir) = scope.query_dir() {
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!("removing {}: {e}", dir.display());
                }
            }
        }
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
            if let Some(q) = self
                .queries
                .lock()
                .iter()
                .find(|q| q.deployment.query_id == id)
            {
                q.deployment.set_paused(pause);
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

/// Plans a persistent query again, with its TIMESTAMP column applied: the
/// fresh operators a rebuilt task starts from. It plans over the catalog
/// as it was when the query was created, as the query's sources do not
/// change under a running query.
fn flow_factory(
    catalog: Catalog,
    query: Query,
    options: PlanOptions,
    timestamp: Option<TimestampSpec>,
) -> FlowFactory {
    Arc::new(move || {
        let mut plan = plan_query(&query, &catalog, &options)?;
        if let Some(spec) = &timestamp {
            if let Some((i, _)) = plan.schema.find(&spec.column) {
                plan.operators.push(Box::new(TimestampOperator::new(
                    i,
                    &spec.column,
                    spec.format.clone(),
                )));
            }
        }
        Ok(FlowSpec {
            inputs: plan.inputs,
            join: plan.join,
            operators: plan.operators,
        })
    })
}
