//! Statements that describe: SHOW/LIST, DESCRIBE, EXPLAIN and ASSERT.

use super::{prop_int, EngineInner, SessionState};
use crate::catalog::{Catalog, QueryInfo, QueryState, Source};
use crate::error::{Error, Result};
use crate::formats::FormatKind;
use crate::plan::planner::plan_query;
use crate::results::{
    FunctionDescription, FunctionSummary, Property, QueryDescription, QueryRef, QuerySummary,
    RuntimeStats, SourceDescription, SourceList, SourceSummary, StatementResult, TopicSummary,
};
use crate::sql::ast::*;

impl EngineInner {
    pub(super) fn show(
        &self,
        session: &SessionState,
        what: &ShowWhat,
        extended: bool,
    ) -> Result<StatementResult> {
        let st = self.state.lock();
        Ok(match what {
            ShowWhat::Streams | ShowWhat::Tables => {
                let kind = if *what == ShowWhat::Streams {
                    SourceKind::Stream
                } else {
                    SourceKind::Table
                };
                let sources = st.catalog.sources().filter(|x| x.kind == kind);
                if extended {
                    let descriptions = sources
                        .map(|s| self.source_description(&st.catalog, s, true))
                        .collect::<Result<_>>()?;
                    StatementResult::SourceDescriptions(descriptions)
                } else {
                    StatementResult::Sources(SourceList {
                        kind: kind_label(kind).to_string(),
                        sources: sources
                            .map(|s| SourceSummary {
                                name: s.name.clone(),
                                kind: s.kind_name().to_string(),
                                topic: s.topic.clone(),
                                key_format: s.key_format.kind.name().to_string(),
                                value_format: s.value_format.kind.name().to_string(),
                                is_windowed: s.window.is_some(),
                            })
                            .collect(),
                    })
                }
            }
            ShowWhat::Queries => StatementResult::Queries(
                st.catalog
                    .queries()
                    .map(|q| {
                        let (state, error) = self.query_status(q);
                        QuerySummary {
                            id: q.id.clone(),
                            query_type: "PERSISTENT".to_string(),
                            state: state.to_string(),
                            error: error.map(|e| e.message),
                            statement: q.sql.clone(),
                            sinks: vec![q.sink.clone()],
                            sink_topics: vec![q.sink_topic.clone()],
                        }
                    })
                    .collect(),
            ),
            ShowWhat::Topics { all } => StatementResult::Topics(
                self.log
                    .list_topics()?
                    .into_iter()
                    // ksqlDB's system internal topics include the schema
                    // registry's `_schemas`.
                    .filter(|t| {
                        *all || !(t.name.starts_with("_confluent-ksql-")
                            || t.name == crate::registry::SCHEMAS_TOPIC)
                    })
                    .map(|t| TopicSummary {
                        name: t.name,
                        partitions: t.partitions,
                        replicas: t.replicas,
                    })
                    .collect(),
            ),
            ShowWhat::Properties => StatementResult::Properties(
                session
                    .properties
                    .iter()
                    .map(|(name, value)| Property {
                        name: name.clone(),
                        value: value.clone(),
                        scope: if self.properties.get(name) == Some(value) {
                            "SERVER"
                        } else {
                            "SESSION"
                        }
                        .to_string(),
                    })
                    .collect(),
            ),
            ShowWhat::Variables => StatementResult::Variables(
                session
                    .variables
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            ShowWhat::Types => StatementResult::Types(st.catalog.type_list()),
            ShowWhat::Functions => {
                let summary = |name: &str, kind: &str, category: &str| FunctionSummary {
                    name: name.to_string(),
                    kind: kind.to_string(),
                    category: category.to_string(),
                };
                let mut functions: Vec<FunctionSummary> =
                    crate::functions::FunctionRegistry::global()
                        .all()
                        .map(|f| summary(f.name, "SCALAR", f.category))
                        .collect();
                for f in crate::functions::aggregate::AggregateRegistry::global().all() {
                    functions.push(summary(f.name, "AGGREGATE", "AGGREGATE"));
                }
                for n in crate::functions::table_function_names() {
                    functions.push(summary(n, "TABLE", "TABLE"));
                }
                for n in ["TRANSFORM", "FILTER", "REDUCE"] {
                    functions.push(summary(n, "SCALAR", "LAMBDA"));
                }
                functions.sort_by(|a, b| a.name.cmp(&b.name));
                StatementResult::Functions(functions)
            }
        })
    }

    pub(super) fn describe(
        &self,
        session: &SessionState,
        target: &DescribeTarget,
        extended: bool,
    ) -> Result<StatementResult> {
        match target {
            DescribeTarget::Streams => self.show(session, &ShowWhat::Streams, extended),
            DescribeTarget::Tables => self.show(session, &ShowWhat::Tables, extended),
            DescribeTarget::Source(name) => {
                let st = self.state.lock();
                let src = st.catalog.source(name).map_err(|_| {
                    Error::not_found(format!(
                        "Could not find STREAM/TABLE '{name}' in the Metastore"
                    ))
                })?;
                Ok(StatementResult::SourceDescription(
                    self.source_description(&st.catalog, src, extended)?,
                ))
            }
        }
    }

    /// A stream or table as DESCRIBE shows it.
    pub(super) fn source_description(
        &self,
        catalog: &Catalog,
        src: &Source,
        extended: bool,
    ) -> Result<SourceDescription> {
        let topic = self.log.describe_topic(&src.topic)?;
        let readers: Vec<&QueryInfo> = catalog
            .queries()
            .filter(|q| q.sink != src.name && q.sources.contains(&src.name))
            .collect();
        let writers: Vec<&QueryInfo> = catalog.queries().filter(|q| q.sink == src.name).collect();
        let read = self.runtime_stats(readers.iter().map(|q| q.id.as_str()));
        let written = self.runtime_stats(writers.iter().map(|q| q.id.as_str()));
        let query_ref = |q: &&QueryInfo| QueryRef {
            id: q.id.clone(),
            statement: q.sql.clone(),
        };
        Ok(SourceDescription {
            name: src.name.clone(),
            kind: src.kind_name().to_string(),
            schema: src.schema.clone(),
            key_format: src.key_format.kind.name().to_string(),
            value_format: src.value_format.kind.name().to_string(),
            topic: src.topic.clone(),
            partitions: topic.as_ref().map(|t| t.partitions).unwrap_or(0),
            replication: topic.as_ref().map(|t| t.replicas).unwrap_or(0),
            window_type: src.window.map(|w| w.type_name().to_string()),
            timestamp: src.timestamp.as_ref().map(|t| t.column.clone()),
            statement: src.sql.clone(),
            is_source: src.is_source,
            key_features: if src.schema.keys().count() == 1
                && src.key_format.kind != FormatKind::Kafka
                && src.key_format.kind != FormatKind::Delimited
            {
                vec!["UNWRAP_SINGLES".to_string()]
            } else {
                Vec::new()
            },
            value_features: if !src.value_format.wrap_single {
                vec!["UNWRAP_SINGLES".to_string()]
            } else {
                Vec::new()
            },
            read_queries: readers.iter().map(query_ref).collect(),
            write_queries: writers.iter().map(query_ref).collect(),
            statistics: RuntimeStats {
                messages_consumed: read.messages_consumed,
                messages_produced: written.messages_produced,
                processing_errors: read.processing_errors + written.processing_errors,
                late_records_dropped: written.late_records_dropped,
            },
            extended,
        })
    }

    pub(super) fn describe_function(&self, name: &str) -> Result<StatementResult> {
        let upper = name.to_ascii_uppercase();
        let (kind, category, description) =
            match crate::functions::FunctionRegistry::global().get(&upper) {
                Some(f) => ("SCALAR", f.category, f.description),
                None if crate::functions::is_aggregate(&upper) => (
                    "AGGREGATE",
                    "AGGREGATE",
                    crate::functions::aggregate::AggregateRegistry::global()
                        .get(&upper)
                        .map(|f| f.description)
                        .unwrap_or("An aggregate function"),
                ),
                None if crate::functions::table_function_names().contains(&upper.as_str()) => (
                    "TABLE",
                    "TABLE",
                    "A table function: one output row per element",
                ),
                None => {
                    return Err(Error::not_found(format!(
                        "Can't find any functions with the name '{upper}'"
                    )))
                }
            };
        Ok(StatementResult::FunctionDescription(FunctionDescription {
            name: upper,
            kind: kind.to_string(),
            category: category.to_string(),
            description: description.to_string(),
        }))
    }

    pub(super) fn explain(
        &self,
        session: &SessionState,
        target: &ExplainTarget,
    ) -> Result<StatementResult> {
        match target {
            ExplainTarget::QueryId(id) => {
                let st = self.state.lock();
                let q = st
                    .catalog
                    .queries()
                    .find(|q| q.id.eq_ignore_ascii_case(id))
                    .ok_or_else(|| Error::not_found(format!("Query with id:{id} does not exist, use SHOW QUERIES to view the full set of running queries.")))?;
                let sink = st.catalog.find_source(&q.sink);
                let plan = self
                    .queries
                    .lock()
                    .iter()
                    .find(|r| r.deployment.query_id == q.id)
                    .map(|r| r.plan.clone())
                    .unwrap_or_default();
                let (state, error) = self.query_status(q);
                let statistics = self.runtime_stats(std::iter::once(q.id.as_str()));
                let error = error.map(|e| crate::results::QueryFailure {
                    message: e.message,
                    at_ms: e
                        .at
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as i64),
                    attempts: e.attempts,
                });
                Ok(StatementResult::QueryDescription(QueryDescription {
                    id: Some(q.id.clone()),
                    statement: q.sql.clone(),
                    sources: q.sources.clone(),
                    sinks: vec![q.sink.clone()],
                    sink_topics: vec![q.sink_topic.clone()],
                    schema: sink.map(|s| s.schema.clone()).unwrap_or_default(),
                    window_type: sink
                        .and_then(|s| s.window)
                        .map(|w| w.type_name().to_string()),
                    state: Some(state.to_string()),
                    error,
                    statistics,
                    plan,
                }))
            }
            ExplainTarget::Statement(stmt) => {
                // A persistent query is planned with the id it would get,
                // so the plan names the internal topics it would use.
                let (q, sink, id_prefix) = match stmt.as_ref() {
                    Statement::Query(q) => (q.as_ref(), None, None),
                    Statement::CreateAsSelect(c) => {
                        let prefix = match c.kind {
                            SourceKind::Stream => "CSAS",
                            SourceKind::Table => "CTAS",
                        };
                        let prefix = format!("{prefix}_{}", c.name);
                        (c.query.as_ref(), Some(c.name.clone()), Some(prefix))
                    }
                    Statement::InsertInto { query, target } => (
                        query.as_ref(),
                        Some(target.clone()),
                        Some("INSERTQUERY".to_string()),
                    ),
                    _ => return Err(Error::plan("Only queries can be explained")),
                };
                let query_id = id_prefix.map(|p| self.peek_query_id(&p));
                let options = self.plan_options(session, sink.clone(), sink.is_none(), query_id);
                let mut plan = plan_query(q, &self.state.lock().catalog, &options)?;
                let sink_source = match stmt.as_ref() {
                    Statement::CreateAsSelect(c) => Some(self.plan_sink(session, c, &mut plan)?),
                    Statement::InsertInto { target, .. } => {
                        self.state.lock().catalog.find_source(target).cloned()
                    }
                    _ => None,
                };
                let described = crate::plan::describe(&plan, sink_source.as_ref());
                Ok(StatementResult::QueryDescription(QueryDescription {
                    id: None,
                    statement: stmt.to_string(),
                    sources: plan.sources.clone(),
                    sink_topics: Vec::new(),
                    sinks: sink.into_iter().collect(),
                    schema: plan.schema.clone(),
                    window_type: plan.window.map(|w| w.type_name().to_string()),
                    state: None,
                    error: None,
                    statistics: RuntimeStats::default(),
                    plan: described,
                }))
            }
        }
    }

    /// The counters of the given persistent queries, added up.
    fn runtime_stats<'a>(&self, ids: impl Iterator<Item = &'a str>) -> RuntimeStats {
        use std::sync::atomic::Ordering::Relaxed;
        let queries = self.queries.lock();
        let mut total = RuntimeStats::default();
        for id in ids {
            if let Some(q) = queries.iter().find(|q| q.deployment.query_id == id) {
                let s = q.deployment.stats();
                total.messages_consumed += s.consumed.load(Relaxed);
                total.messages_produced += s.produced.load(Relaxed);
                total.processing_errors += s.errors.load(Relaxed);
                total.late_records_dropped += s.late.load(Relaxed);
            }
        }
        total
    }

    /// A query's state and, while it keeps failing, why: a query whose
    /// work fails shows ERROR with its reason (it keeps retrying).
    fn query_status(
        &self,
        q: &QueryInfo,
    ) -> (&'static str, Option<crate::runtime::deploy::QueryError>) {
        let error = self
            .queries
            .lock()
            .iter()
            .find(|r| r.deployment.query_id == q.id)
            .and_then(|r| r.deployment.last_error());
        match error {
            Some(e) => ("ERROR", Some(e)),
            None => (state_name(q.state), None),
        }
    }

    pub(super) fn assert(&self, a: &AssertStatement) -> Result<StatementResult> {
        match &a.kind {
            AssertKind::Topic { name, properties } => {
                let info = self.log.describe_topic(name)?;
                match (info, a.not_exists) {
                    (Some(_), true) => Err(Error::plan(format!("Topic {name} exists"))),
                    (None, true) => Ok(StatementResult::AssertTopic {
                        topic: name.clone(),
                        exists: false,
                    }),
                    (None, false) => Err(Error::plan(format!("Topic {name} does not exist"))),
                    (Some(info), false) => {
                        if let Some(p) = prop_int(properties, "PARTITIONS")? {
                            if p as i32 != info.partitions {
                                return Err(Error::plan(format!(
                                    "Mismatched configuration for topic {name}: For config partitions, expected {p} got {}",
                                    info.partitions
                                )));
                            }
                        }
                        Ok(StatementResult::AssertTopic {
                            topic: name.clone(),
                            exists: true,
                        })
                    }
                }
            }
            AssertKind::Schema { .. } => Err(Error::plan(
                "ASSERT SCHEMA needs a schema registry, which Sluice does not use",
            )),
        }
    }
}

/// "STREAM" or "TABLE".
fn kind_label(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Stream => "STREAM",
        SourceKind::Table => "TABLE",
    }
}

/// A query's state as ksqlDB names it.
pub(super) fn state_name(state: QueryState) -> &'static str {
    match state {
        QueryState::Running => "RUNNING",
        QueryState::Paused => "PAUSED",
        QueryState::Error => "ERROR",
    }
}
