//! The executor: runs statements against the catalog, the Log and the
//! running queries. It owns the engine's shared state, appends every
//! catalog-changing statement to the metastore, and replays it at start.

use crate::catalog::metastore::{Command, Metastore};
use crate::catalog::{Catalog, Source};
use crate::error::{Error, Pos, Result};
use crate::log::Log;
use crate::results::StatementResult;
use crate::runtime::deploy::Deployment;
use crate::runtime::processing_log;
use crate::sql::ast::*;
use crate::sql::parser::{parse_statement, split_statements};
use crate::EngineConfig;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

mod analytic;
mod commands;
mod connectors;
mod ddl;
mod infer;
mod insert_rows;
mod insert_values;
mod metadata;
mod persistent;
mod pull_cache;
mod query;
mod session;

pub use insert_rows::{BatchOutcome, RowInserter};
pub use session::SessionState;

/// A persistent query deployed in this process.
pub(super) struct RunningQuery {
    deployment: Deployment,
    /// Its operators, for EXPLAIN.
    plan: Vec<crate::results::PlanNode>,
}

/// The catalog and the query counter, behind one lock.
pub(super) struct State {
    catalog: Catalog,
    next_query: u64,
}

/// Shared state behind the [`crate::Engine`] facade.
pub struct EngineInner {
    pub(crate) log: Arc<dyn Log>,
    /// `ksql.service.id`: processes with the same one share the command
    /// topic, and so the streams, tables and queries.
    service_id: String,
    /// The service's command topic.
    command_topic: String,
    /// The configured properties every session starts from.
    properties: BTreeMap<String, String>,
    state: Mutex<State>,
    queries: Mutex<Vec<RunningQuery>>,
    background: bool,
    /// Persistent queries are recorded, not run, in this process.
    record_only: bool,
    /// True while the metastore is being replayed.
    replaying: AtomicBool,
    /// Following the command topic for statements other processes of the
    /// service run (Kafka, with queries running here).
    follow_commands: bool,
    /// The Log is a Kafka cluster.
    kafka: bool,
    /// Where persistent queries keep their local state stores.
    stores: crate::state::StateConfig,
    /// This process's id in the commands it records.
    instance: String,
    /// The next command-topic offset to apply; held while a statement
    /// that changes the catalog runs, so commands apply one at a time.
    applied: Mutex<i64>,
    /// Materialized views answering pull queries, by the statement that
    /// created the table.
    views: Mutex<std::collections::HashMap<String, Arc<crate::runtime::view::TableView>>>,
    /// The shared reading of push queries' sources.
    push_hub: crate::runtime::push_hub::PushHub,
    /// The last ROWTIME INSERT ... VALUES gave a row without one: each
    /// such insert is a later moment than the one before (see
    /// [`EngineInner::insert_time`]).
    last_insert_time: std::sync::atomic::AtomicI64,
    /// Planned key lookups, forgotten when the catalog changes.
    pull_cache: pull_cache::PullCache,
    /// The command-topic offsets this process has applied.
    commands_seen: commands::Applied,
    /// The schema registry, opened on first use (so an engine that never
    /// uses one has no `_schemas` topic).
    registry: Arc<crate::registry::LazyRegistry>,
    /// The connectors this process runs.
    pub(crate) connectors: crate::connect::Connectors,
    /// The engine SELECTs beyond ksqlDB's pull forms run on, when one is
    /// installed (`sluice-analytic`).
    analytic: Mutex<Option<Arc<dyn crate::analytic::AnalyticSql>>>,
}

impl Drop for EngineInner {
    fn drop(&mut self) {
        for name in self.connectors.names() {
            let _ = self.connectors.remove(&name);
        }
        for q in self.queries.get_mut().iter_mut() {
            q.deployment.shutdown();
        }
        let _ = self.log.flush();
    }
}

pub(super) fn prop_str(props: &Properties, name: &str) -> Option<String> {
    props.iter().find(|(n, _)| n == name).map(|(_, v)| match v {
        PropValue::String(s) => s.clone(),
        PropValue::Number(n) => n.clone(),
        PropValue::Bool(b) => b.to_string(),
    })
}

pub(super) fn prop_int(props: &Properties, name: &str) -> Result<Option<i64>> {
    match prop_str(props, name) {
        None => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .map(Some)
            .map_err(|_| Error::plan(format!("Invalid value for {name}: '{s}'"))),
    }
}

/// Where the engine's state stores live: `state/` in the data directory;
/// over Kafka, `ksql.streams.state.dir` or else a temporary directory; in
/// memory for an engine without either.
fn state_config(config: &EngineConfig) -> Result<crate::state::StateConfig> {
    use crate::state::{StateConfig, StateRoot, CACHE_ENTRIES_PROPERTY, STATE_DIR_PROPERTY};
    let root = match (&config.kafka, &config.data_dir) {
        (Some(_), _) => match config.properties.get(STATE_DIR_PROPERTY) {
            Some(dir) => StateRoot::Dir(dir.into()),
            None => StateRoot::Temp(std::sync::Arc::new(
                tempfile::Builder::new().prefix("sluice-state").tempdir()?,
            )),
        },
        (None, Some(dir)) => StateRoot::Dir(dir.join("state")),
        (None, None) => StateRoot::Memory,
    };
    let cache_entries = match config.properties.get(CACHE_ENTRIES_PROPERTY) {
        Some(v) => v.trim().parse::<usize>().map_err(|_| {
            Error::plan(format!("Invalid value for {CACHE_ENTRIES_PROPERTY}: '{v}'"))
        })?,
        None => crate::state::DEFAULT_CACHE_ENTRIES,
    };
    Ok(StateConfig {
        root,
        cache_entries,
    })
}

impl EngineInner {
    /// The schema registry the engine's properties name: an external one
    /// (`ksql.schema.registry.url`) or the local one in the Log.
    pub fn schema_registry(&self) -> Result<Arc<dyn crate::registry::SchemaRegistry>> {
        self.registry.get()
    }

    pub fn open(config: EngineConfig, log: Arc<dyn Log>) -> Result<Arc<EngineInner>> {
        let service_id = config
            .properties
            .get("ksql.service.id")
            .cloned()
            .unwrap_or_else(|| "default_".to_string());
        let command_topic = crate::catalog::metastore::command_topic(&service_id);
        Metastore::init(log.as_ref(), &command_topic)?;
        processing_log::init(log.as_ref())?;
        let registry = Arc::new(crate::registry::LazyRegistry::new(
            config.properties.clone(),
            log.clone(),
        ));
        let inner = Arc::new(EngineInner {
            log: log.clone(),
            service_id,
            command_topic,
            properties: config.properties.clone(),
            state: Mutex::new(State {
                catalog: Catalog::default(),
                next_query: 0,
            }),
            queries: Mutex::new(Vec::new()),
            background: config.background,
            record_only: config.record_only,
            replaying: AtomicBool::new(false),
            follow_commands: config.kafka.is_some() && config.background && !config.record_only,
            kafka: config.kafka.is_some(),
            stores: state_config(&config)?,
            instance: crate::catalog::metastore::instance_id(),
            applied: Mutex::new(0),
            views: Mutex::new(Default::default()),
            push_hub: Default::default(),
            last_insert_time: std::sync::atomic::AtomicI64::new(i64::MIN),
            pull_cache: Default::default(),
            commands_seen: Default::default(),
            registry: registry.clone(),
            connectors: crate::connect::Connectors::new(
                log.clone(),
                registry,
                worker_id(&config.properties),
                !config.record_only,
                config.kafka.is_some(),
            ),
            analytic: Mutex::new(None),
        });
        inner.execute_one(
            &mut inner.new_session(),
            &processing_log::create_statement(),
            Pos { line: 1, col: 1 },
            false,
        )?;
        {
            let mut applied = inner.applied.lock();
            inner.apply_commands(&mut applied, true)?;
        }
        inner.connectors.start_all()?;
        if inner.follow_commands {
            inner.follow_commands();
        }
        Ok(inner)
    }

    /// A new session, starting from the engine's configured properties.
    pub fn new_session(&self) -> SessionState {
        SessionState::new(self.properties.clone())
    }

    /// Runs a script in `session`; stops at the first failing statement.
    pub fn execute(&self, session: &mut SessionState, sql: &str) -> Result<Vec<StatementResult>> {
        let mut out = Vec::new();
        for piece in split_statements(sql)? {
            out.push(self.execute_one(session, &piece.text, piece.pos, true)?);
        }
        Ok(out)
    }

    /// Parses and runs one statement. `record` appends catalog changes to
    /// the metastore (off while replaying it).
    pub(crate) fn execute_one(
        &self,
        session: &mut SessionState,
        text: &str,
        pos: Pos,
        record: bool,
    ) -> Result<StatementResult> {
        let text = session.substitute(text)?;
        let shape = pull_cache::shape(&text);
        if let Some(answer) = shape.as_ref().and_then(|s| self.cached_pull(session, s)) {
            return answer;
        }
        let stmt = match parse_statement(&text, pos) {
            Ok(stmt) => stmt,
            Err(e) => return self.analytic_fallback(session, &text, e),
        };
        if let (Statement::Query(q), Some(shape)) = (&stmt, &shape) {
            if let Some(answer) = self.prepare_pull(session, q, shape) {
                return answer;
            }
        }
        let trimmed = text.trim().trim_end_matches(';').trim().to_string() + ";";
        if !record || !changes_catalog(&stmt) {
            return self.run_statement(session, &stmt, &trimmed);
        }
        // A statement that changes the catalog runs after every command
        // other processes recorded before it, then is recorded itself.
        let mut applied = self.applied.lock();
        if self.follow_commands {
            self.apply_commands(&mut applied, false)?;
        }
        let mut result = self.run_statement(session, &stmt, &trimmed)?;
        let sequence = Metastore::append(
            self.log.as_ref(),
            &self.command_topic,
            &Command {
                statement: trimmed.clone(),
                properties: session.properties.clone(),
                origin: Some(self.instance.clone()),
            },
        )?;
        self.commands_seen.note(sequence);
        if let StatementResult::Status(status) = &mut result {
            status.statement = trimmed;
            status.sequence_number = sequence;
        }
        Ok(result)
    }

    fn run_statement(
        &self,
        session: &mut SessionState,
        stmt: &Statement,
        text: &str,
    ) -> Result<StatementResult> {
        let result = self.dispatch(session, stmt, text);
        if changes_catalog(stmt) {
            self.pull_cache.invalidate();
        }
        result
    }

    fn dispatch(
        &self,
        session: &mut SessionState,
        stmt: &Statement,
        text: &str,
    ) -> Result<StatementResult> {
        match stmt {
            Statement::CreateSource(c) => self.create_source(session, c, text),
            Statement::CreateAsSelect(c) => self.create_as_select(session, c, text),
            Statement::InsertInto { target, query } => {
                self.insert_into(session, target, query, text)
            }
            Statement::InsertValues {
                target,
                columns,
                values,
            } => self.insert_values(target, columns.as_deref(), values),
            Statement::Query(q) => match self.analytic_select(session, q, text) {
                Some(answer) => answer,
                None => self.select(session, q),
            },
            Statement::Show { what, extended } => self.show(session, what, *extended),
            Statement::Describe { target, extended } => self.describe(session, target, *extended),
            Statement::DescribeFunction(name) => self.describe_function(name),
            Statement::Explain(target) => {
                if let ExplainTarget::Statement(inner) = target {
                    if let Some(answer) = self.analytic_explain(session, inner, text) {
                        return answer;
                    }
                }
                self.explain(session, target)
            }
            Statement::Drop {
                kind,
                if_exists,
                name,
                delete_topic,
            } => self.drop_source(*kind, *if_exists, name, *delete_topic),
            Statement::DropType { if_exists, name } => self.drop_type(name, *if_exists),
            Statement::CreateType {
                if_not_exists,
                name,
                ty,
            } => self.create_type(name, ty, *if_not_exists),
            Statement::Terminate(target) => self.terminate(target),
            Statement::Pause(target) => self.pause(target, true),
            Statement::Resume(target) => self.pause(target, false),
            Statement::Set { name, value } => Ok(session.set(name, value)),
            Statement::Unset { name } => Ok(session.unset(name)),
            Statement::Define { name, value } => Ok(session.define(name, value)),
            Statement::Undefine { name } => session.undefine(name),
            Statement::Print {
                topic,
                from_beginning,
                interval,
                limit,
            } => self.print(topic, *from_beginning, interval.unwrap_or(1), *limit),
            Statement::Assert(a) => self.assert(a),
            Statement::Alter {
                kind,
                name,
                add_columns,
            } => self.alter(*kind, name, add_columns),
            Statement::CreateConnector(c) => self.create_connector(c),
            Statement::ShowConnectors(kind) => self.show_connectors(*kind),
            Statement::DescribeConnector(name) => self.describe_connector(name),
            Statement::DropConnector { if_exists, name } => self.drop_connector(name, *if_exists),
            Statement::PauseConnector(name) => self.pause_connector(name, true),
            Statement::ResumeConnector(name) => self.pause_connector(name, false),
        }
    }

    /// A stream or table by name, as DESCRIBE shows it.
    pub fn describe_source(&self, name: &str) -> Option<crate::results::SourceDescription> {
        let st = self.state.lock();
        let source = st.catalog.find_source(name)?;
        self.source_description(&st.catalog, source, false).ok()
    }

    pub fn source_on_topic(&self, topic: &str) -> Option<Source> {
        let st = self.state.lock();
        let mut on: Vec<&Source> = st.catalog.sources_on_topic(topic).collect();
        // Prefer a source that writes the topic (its formats are the
        // topic's), then any declared over it.
        on.sort_by_key(|s| s.created_by.is_none());
        on.first().map(|s| (*s).clone())
    }
}

/// Kafka Connect's worker id for this process: the host and port it
/// listens on, or `embedded`.
fn worker_id(properties: &BTreeMap<String, String>) -> String {
    properties
        .get("listeners")
        .and_then(|l| l.split(',').next())
        .map(|l| l.split("://").last().unwrap_or(l).trim().to_string())
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "embedded".to_string())
}

/// True for statements the metastore must remember.
fn changes_catalog(stmt: &Statement) -> bool {
    matches!(
        stmt,
        Statement::CreateSource(_)
            | Statement::CreateAsSelect(_)
            | Statement::InsertInto { .. }
            | Statement::Drop { .. }
            | Statement::DropType { .. }
            | Statement::CreateType { .. }
            | Statement::Terminate(_)
            | Statement::Pause(_)
            | Statement::Resume(_)
            | Statement::Alter { .. }
            | Statement::CreateConnector(_)
            | Statement::DropConnector { .. }
            | Statement::PauseConnector(_)
            | Statement::ResumeConnector(_)
    )
}
