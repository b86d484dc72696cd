//! Sluice's engine: SQL text is parsed (`sql`), resolved against the catalog
//! and planned into a graph of operators (`plan`, with expressions typed and
//! compiled by `expr`), run continuously over records read from the Log
//! (`runtime`, `operators`, `log`), with values decoded and encoded by
//! `formats` and computed by `functions`.
//!
//! The modules are layered, each using only those below it: `error`;
//! `types`; `sql`, `functions` and `results`; `expr`, `formats`, `log` and
//! `analytic` (the hook a query engine for full SQL plugs into); `catalog`
//! and `state`; `operators` and `connect` (connectors); `runtime`; `plan`; and
//! the executor (`exec`) behind this facade.
//! `tests/layering/mod.rs` holds the table and checks it.

pub mod analytic;
pub mod catalog;
pub mod connect;
pub mod error;
mod exec;
pub mod expr;
pub mod formats;
pub mod functions;
pub mod log;
pub mod operators;
pub mod plan;
pub mod registry;
pub mod results;
pub mod runtime;
pub mod sql;
pub mod state;
mod testkit;
pub mod types;

pub use error::{Error, Result};
pub use exec::{BatchOutcome, RowInserter};
pub use results::{PushQuery, ResultColumn, RowSet, StatementResult};

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// How to open an engine.
#[derive(Debug, Clone, Default)]
pub struct EngineConfig {
    /// Where topics and the metastore live; None keeps everything in memory
    /// (tests, the conformance runner).
    pub data_dir: Option<PathBuf>,
    /// Run each persistent query on its own thread (a server or shell). When
    /// false, nothing runs until the caller calls [`Engine::run_until_idle`]
    /// (deterministic tests).
    pub background: bool,
    /// Record persistent queries without running them here: a one-shot
    /// client of a shared service (on Kafka, the service's long-running
    /// processes run them).
    pub record_only: bool,
    /// Initial engine properties (`ksql.*`, `auto.offset.reset`, ...).
    pub properties: BTreeMap<String, String>,
    /// Run over this Kafka cluster instead of the embedded log (then
    /// `data_dir` is not used).
    pub kafka: Option<log::KafkaConfig>,
}

/// Properties that configure the engine itself rather than Kafka's clients
/// (besides every `ksql.*` one).
const ENGINE_PROPERTIES: &[&str] = &[
    "auto.offset.reset",
    "cache.max.bytes.buffering",
    "commit.interval.ms",
    "processing.guarantee",
    "num.stream.threads",
    "listeners",
    "schema.registry.listeners",
];

impl EngineConfig {
    /// Applies settings as a ksqlDB server's properties file holds them:
    /// `bootstrap.servers` runs the engine over that Kafka cluster; `ksql.*`
    /// and the engine's stream properties become engine properties; every
    /// other setting passes through unchanged to the Kafka clients
    /// (`security.protocol`, `sasl.*`, `ssl.*`, `client.id`, ...). Give
    /// every setting in one call: client settings need the cluster.
    pub fn apply_settings(&mut self, settings: impl IntoIterator<Item = (String, String)>) {
        let mut client = BTreeMap::new();
        for (k, v) in settings {
            if k == "bootstrap.servers" {
                let kafka = self.kafka.get_or_insert_with(|| log::KafkaConfig::new(&v));
                kafka.bootstrap_servers = v;
            } else if k.starts_with("ksql.") || ENGINE_PROPERTIES.contains(&k.as_str()) {
                self.properties.insert(k, v);
            } else {
                client.insert(k, v);
            }
        }
        // Without a cluster there is no client to configure.
        if let Some(kafka) = self.kafka.as_mut() {
            kafka.settings.extend(client);
        }
    }
}

/// Reads a Java-style properties file: `key=value` (or `key: value`) lines,
/// `#` and `!` comments.
pub fn read_properties_file(path: &std::path::Path) -> Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path)?;
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some(at) = line.find(['=', ':']) else {
            return Err(Error::plan(format!(
                "{}: line {}: expected key=value, found '{line}'",
                path.display(),
                i + 1
            )));
        };
        out.insert(
            line[..at].trim().to_string(),
            line[at + 1..].trim().to_string(),
        );
    }
    Ok(out)
}

/// The engine facade: the only thing the server, the shell and the tests use.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<exec::EngineInner>,
    /// The session [`Engine::execute`] runs in (the embedded shell's).
    default_session: Arc<Mutex<exec::SessionState>>,
}

/// A client's session: its own properties (`SET`) and variables
/// (`DEFINE`), used by every statement it runs, as ksqlDB scopes them per
/// request or connection. Persistent queries keep the properties in force
/// when they were created.
pub struct Session {
    engine: Engine,
    state: Mutex<exec::SessionState>,
}

impl Session {
    /// Runs a script of one or more `;`-terminated statements in this
    /// session, stopping at the first one that fails.
    pub fn execute(&self, sql: &str) -> Result<Vec<StatementResult>> {
        self.engine.inner.execute(&mut self.state.lock(), sql)
    }

    /// Runs one statement cut out of a script by
    /// [`sql::split_statements`], reporting errors at its place in the
    /// script: callers that answer per statement (the REST API) run a
    /// script's pieces one at a time.
    pub fn execute_statement(&self, piece: &sql::StatementText) -> Result<StatementResult> {
        self.engine
            .inner
            .execute_one(&mut self.state.lock(), &piece.text, piece.pos, true)
    }

    /// Answers `sql` (one statement) at once when it is a key lookup in a
    /// table's view whose shape (the text without its key) was planned
    /// before with this session's properties and the current catalog; None
    /// when it is not (nothing ran: run it with
    /// [`Session::execute_statement`], which plans it and keeps the plan).
    pub fn pull_if_cached(&self, sql: &str) -> Option<Result<StatementResult>> {
        self.engine.inner.pull_if_cached(&self.state.lock(), sql)
    }

    /// Sets a property, as `SET 'name'='value';` does.
    pub fn set_property(&self, name: &str, value: &str) {
        self.state.lock().set(name, value);
    }

    /// The session's properties: the engine's, then what the session set.
    pub fn properties(&self) -> BTreeMap<String, String> {
        self.state.lock().properties.clone()
    }

    /// The session's variables (`DEFINE`).
    pub fn variables(&self) -> BTreeMap<String, String> {
        self.state.lock().variables.clone()
    }

    /// The engine the session runs on.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// A record's key and value bytes (None where absent).
pub type EncodedRecord = (Option<Vec<u8>>, Option<Vec<u8>>);

impl Engine {
    /// Opens an engine over its data directory (or in memory), replaying the
    /// metastore so earlier streams, tables and queries are back.
    pub fn open(config: EngineConfig) -> Result<Engine> {
        let log: Arc<dyn log::Log> = match (&config.kafka, &config.data_dir) {
            (Some(kafka), _) => Arc::new(log::KafkaLog::connect(kafka.clone())?),
            (None, Some(dir)) => Arc::new(log::EmbeddedLog::open(dir)?),
            (None, None) => Arc::new(log::EmbeddedLog::in_memory()),
        };
        Engine::with_log(config, log)
    }

    /// Opens an engine over a given Log.
    pub fn with_log(config: EngineConfig, log: Arc<dyn log::Log>) -> Result<Engine> {
        let inner = exec::EngineInner::open(config, log)?;
        let default_session = Arc::new(Mutex::new(inner.new_session()));
        Ok(Engine {
            inner,
            default_session,
        })
    }

    /// A new session, starting from the engine's configured properties.
    pub fn session(&self) -> Session {
        Session {
            engine: self.clone(),
            state: Mutex::new(self.inner.new_session()),
        }
    }

    /// Runs a script of one or more `;`-terminated statements in the
    /// engine's default session (every clone of this `Engine` shares it),
    /// stopping at the first one that fails. Expressions may nest up to
    /// `sql::parser::MAX_NESTING` levels: call it (and a push query's
    /// `next_rows`) on a thread with a stack of [`runtime::THREAD_STACK`]
    /// for those.
    pub fn execute(&self, sql: &str) -> Result<Vec<StatementResult>> {
        self.inner.execute(&mut self.default_session.lock(), sql)
    }

    /// Sets a property of the default session, as `SET 'name'='value';`
    /// does.
    pub fn set_property(&self, name: &str, value: &str) {
        self.default_session.lock().set(name, value);
    }

    /// Installs the engine SELECTs beyond ksqlDB's pull-query forms run on
    /// (joins, GROUP BY, window functions, CTEs, set operations...):
    /// `sluice-analytic`'s DataFusion. Without one, the engine answers what
    /// it can itself.
    pub fn set_analytic(&self, analytic: Arc<dyn analytic::AnalyticSql>) {
        self.inner.set_analytic(analytic);
    }

    /// Drives every persistent query until no input is left (for engines
    /// opened without `background`).
    pub fn run_until_idle(&self) -> Result<()> {
        self.inner.run_until_idle()
    }

    /// The Log the engine runs on.
    pub fn log(&self) -> Arc<dyn log::Log> {
        self.inner.log.clone()
    }

    /// The schema registry: the external one at `ksql.schema.registry.url`
    /// when configured, else the local one kept in the Log's `_schemas`
    /// topic (opened, and its topic created, on the first call).
    pub fn schema_registry(&self) -> Result<Arc<dyn registry::SchemaRegistry>> {
        self.inner.schema_registry()
    }

    /// Resolves a stream or table (as named, then upper-cased) for
    /// inserting JSON rows in batches, as `/inserts-stream` does: schema,
    /// formats, codecs and topic are looked up once here.
    pub fn row_inserter(&self, target: &str) -> Result<RowInserter> {
        self.inner.row_inserter(target)
    }

    /// True when `sql` (one statement) is a pull query over a table whose
    /// materialized view is in memory already: answering it takes no
    /// reading of the Log beyond what was appended since, so a server may
    /// run it without moving to a blocking thread.
    pub fn pull_from_view(&self, sql: &str) -> bool {
        self.inner.pull_from_view(sql)
    }

    /// True once the command recorded at command-topic offset `sequence`
    /// (the `commandSequenceNumber` of a statement's status) has been
    /// applied in this process.
    pub fn command_applied(&self, sequence: i64) -> bool {
        self.inner.command_applied(sequence)
    }

    /// Waits up to `timeout` until the command recorded at `sequence` has
    /// been applied in this process (on Kafka, reading what other processes
    /// of the service recorded), as ksqlDB's servers wait before running a
    /// request that names a `commandSequenceNumber`; true once it has.
    pub fn await_command(&self, sequence: i64, timeout: std::time::Duration) -> bool {
        self.inner.await_command(sequence, timeout)
    }

    /// The names of the connectors, sorted.
    pub fn connector_names(&self) -> Vec<String> {
        self.inner.connectors.names()
    }

    /// A connector's configuration and tasks.
    pub fn connector_info(&self, name: &str) -> Result<results::ConnectorInfo> {
        self.inner.connectors.info(name)
    }

    /// A connector's status and its task's.
    pub fn connector_status(&self, name: &str) -> Result<results::ConnectorStatus> {
        self.inner.connectors.status(name)
    }

    /// Creates connector `name` from a Kafka Connect configuration (its
    /// kind follows `connector.class`), or with `replace` reconfigures one
    /// that exists; recorded in the command topic as the statements
    /// CREATE SOURCE|SINK CONNECTOR (after DROP CONNECTOR when replacing),
    /// so it comes back with the process. Returns its info and whether it
    /// was created.
    pub fn put_connector(
        &self,
        name: &str,
        config: BTreeMap<String, String>,
        replace: bool,
    ) -> Result<(results::ConnectorInfo, bool)> {
        let mut config = config;
        config.remove("name");
        let (_, plugin) = connect::Connectors::checked(None, name, config.clone())?;
        let exists = self.inner.connectors.exists(name);
        if exists && !replace {
            return Err(Error::catalog(format!("Connector {name} already exists")));
        }
        let session = self.session();
        if exists {
            session.execute(&format!(
                "{};",
                sql::ast::Statement::DropConnector {
                    if_exists: true,
                    name: name.to_string(),
                }
            ))?;
        }
        let create = sql::ast::Statement::CreateConnector(sql::ast::CreateConnector {
            kind: plugin.kind,
            if_not_exists: false,
            name: name.to_string(),
            config: config.into_iter().collect(),
        });
        session.execute(&format!("{create};"))?;
        Ok((self.inner.connectors.info(name)?, !exists))
    }

    /// Deletes a connector, as DROP CONNECTOR does.
    pub fn delete_connector(&self, name: &str) -> Result<()> {
        self.inner.connectors.info(name)?;
        let stmt = sql::ast::Statement::DropConnector {
            if_exists: false,
            name: name.to_string(),
        };
        self.session().execute(&format!("{stmt};"))?;
        Ok(())
    }

    /// Pauses or resumes a connector, as PAUSE|RESUME CONNECTOR do.
    pub fn pause_connector(&self, name: &str, pause: bool) -> Result<()> {
        self.inner.connectors.info(name)?;
        let stmt = if pause {
            sql::ast::Statement::PauseConnector(name.to_string())
        } else {
            sql::ast::Statement::ResumeConnector(name.to_string())
        };
        self.session().execute(&format!("{stmt};"))?;
        Ok(())
    }

    /// Restarts a connector's task (at once, also after a failure).
    pub fn restart_connector(&self, name: &str) -> Result<()> {
        self.inner.connectors.restart(name)
    }

    /// A stream or table by name, as DESCRIBE shows it.
    pub fn describe_source(&self, name: &str) -> Option<results::SourceDescription> {
        self.inner.describe_source(name)
    }
    /// Turns a key and value written as in ksqlDB's test cases (a KAFKA key
    /// as its plain value, a JSON value as an object, a DELIMITED value as a
    /// string, null for none) into record bytes in the formats of the
    /// source declared over `topic`.
    pub fn encode_record_for_topic(
        &self,
        topic: &str,
        key: &serde_json::Value,
        value: &serde_json::Value,
    ) -> Result<EncodedRecord> {
        let source = self.inner.source_on_topic(topic);
        let (kf, vf, keys, values) = match &source {
            Some(s) => (
                Some(&s.key_format),
                Some(&s.value_format),
                s.schema.keys().cloned().collect::<Vec<_>>(),
                s.schema.values().cloned().collect::<Vec<_>>(),
            ),
            None => (None, None, Vec::new(), Vec::new()),
        };
        Ok((
            testkit::encode_part(key, kf, &keys, true)?,
            testkit::encode_part(value, vf, &values, false)?,
        ))
    }

    /// Like [`Engine::encode_record_for_topic`] for a windowed source: the
    /// key bytes are followed by the window, as Kafka Streams writes them.
    pub fn encode_windowed_record_for_topic(
        &self,
        topic: &str,
        key: &serde_json::Value,
        value: &serde_json::Value,
        start: i64,
        end: i64,
    ) -> Result<EncodedRecord> {
        let (k, v) = self.encode_record_for_topic(topic, key, value)?;
        let kind = self
            .inner
            .source_on_topic(topic)
            .and_then(|s| s.window)
            .ok_or_else(|| {
                Error::plan(format!("no windowed source is declared on topic {topic}"))
            })?;
        let k =
            k.map(|k| operators::source::append_window(k, operators::Window { start, end }, kind));
        Ok((k, v))
    }

    /// The window of a record of a windowed source's topic: (start, end,
    /// "time" or "session"); None for unwindowed topics.
    pub fn record_window_for_topic(
        &self,
        topic: &str,
        record: &log::Record,
    ) -> Option<(i64, i64, &'static str)> {
        let kind = self.inner.source_on_topic(topic)?.window?;
        let (_, w) = operators::source::split_windowed_key(record.key.as_deref()?, kind)?;
        let name = if kind == catalog::WindowInfo::Session {
            "session"
        } else {
            "time"
        };
        Some((w.start, w.end, name))
    }

    /// The reverse of [`Engine::encode_record_for_topic`], for records of
    /// the source writing (or declared over) `topic`.
    pub fn decode_record_for_topic(
        &self,
        topic: &str,
        record: &log::Record,
    ) -> Result<(serde_json::Value, serde_json::Value)> {
        let source = self.inner.source_on_topic(topic);
        let (kf, vf, keys, values) = match &source {
            Some(s) => (
                Some(&s.key_format),
                Some(&s.value_format),
                s.schema.keys().cloned().collect::<Vec<_>>(),
                s.schema.values().cloned().collect::<Vec<_>>(),
            ),
            None => (None, None, Vec::new(), Vec::new()),
        };
        let mut key = record.key.as_deref();
        if let (Some(kind), Some(bytes)) = (source.as_ref().and_then(|s| s.window), key) {
            key = operators::source::split_windowed_key(bytes, kind).map(|(k, _)| k);
        }
        Ok((
            testkit::decode_part(key, kf, &keys, true)?,
            testkit::decode_part(record.value.as_deref(), vf, &values, false)?,
        ))
    }
}
