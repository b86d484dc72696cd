//! Connectors run inside Sluice, configured with Kafka Connect's keys
//! (`connector.class`, `kafka.topic`, `topics`, converters...): the
//! registry of connectors this process runs, each on its own thread.
//!
//! - `config`: a connector's configuration, typed reads;
//! - `plugins`: the connector classes and their keys and validation;
//! - `converter`: values to record bytes and back (String, JSON, and
//!   Avro through the schema registry in `avro`);
//! - `schema`: Connect's schemas and values;
//! - `task`: what source and sink tasks do;
//! - `worker`: the thread running one connector, its state and retries;
//! - `offsets`: source offsets in a compacted topic and in the records;
//! - `datagen`, `file`, `jdbc` and `jdbc_sink` (with `pg`, a PostgreSQL
//!   client): the built-in connectors.

pub mod avro;
pub mod config;
pub mod converter;
pub mod datagen;
pub mod file;
pub mod jdbc;
pub mod jdbc_sink;
pub mod offsets;
pub mod pg;
pub mod plugins;
pub mod schema;
pub mod task;
pub mod worker;

pub use config::ConnectorConfig;

use crate::error::{Error, Result};
use crate::log::Log;
use crate::results::{ConnectorInfo, ConnectorStatus, ConnectorSummary, WorkerState};
use crate::sql::ast::ConnectorKind;
use parking_lot::Mutex;
use plugins::Plugin;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use worker::Worker;

/// One key's validation (Kafka Connect's `/config/validate` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigCheck {
    pub name: String,
    /// STRING, INT, LONG, LIST, CLASS.
    pub ty: String,
    pub required: bool,
    pub default: Option<String>,
    pub doc: String,
    /// "Common" or the plugin's own group.
    pub group: String,
    pub value: Option<String>,
    pub errors: Vec<String>,
}

/// A configuration's validation against a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigValidation {
    /// The plugin's class.
    pub name: String,
    pub error_count: usize,
    pub groups: Vec<String>,
    pub configs: Vec<ConfigCheck>,
}

/// A plugin as Connect lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    pub class: String,
    /// "source" or "sink".
    pub kind: String,
    pub version: String,
}

/// Every plugin this build runs.
pub fn plugin_list() -> Vec<PluginInfo> {
    plugins::PLUGINS
        .iter()
        .map(|p| PluginInfo {
            class: p.class.to_string(),
            kind: p.kind.lower().to_string(),
            version: p.version.to_string(),
        })
        .collect()
}

/// Validates `config` against the plugin `class` names, key by key.
pub fn validate(class: &str, config: &BTreeMap<String, String>) -> Result<ConfigValidation> {
    let plugin = find_plugin(class)?;
    let name = config.get("name").cloned().unwrap_or_default();
    let mut map = config.clone();
    map.entry("connector.class".to_string())
        .or_insert_with(|| plugin.class.to_string());
    let cfg = ConnectorConfig::new(&name, map);
    let group = plugin
        .class
        .rsplit('.')
        .next()
        .unwrap_or(plugin.class)
        .to_string();
    let mut configs = Vec::new();
    for (def, g) in plugins::COMMON
        .iter()
        .map(|d| (d, "Common"))
        .chain(plugin.keys.iter().map(|d| (d, group.as_str())))
    {
        let mut errors = plugins::check(def, &cfg);
        if def.name == "name" && name.trim().is_empty() {
            errors =
                vec!["Missing required configuration \"name\" which has no default value.".into()];
        }
        configs.push(ConfigCheck {
            name: def.name.to_string(),
            ty: def.ty.to_string(),
            required: def.required,
            default: def.default.map(str::to_string),
            doc: def.doc.to_string(),
            group: g.to_string(),
            value: cfg.get(def.name).map(str::to_string),
            errors,
        });
    }
    Ok(ConfigValidation {
        name: plugin.class.to_string(),
        error_count: configs.iter().filter(|c| !c.errors.is_empty()).count(),
        groups: vec!["Common".to_string(), group],
        configs,
    })
}

fn find_plugin(class: &str) -> Result<&'static Plugin> {
    plugins::find(class).ok_or_else(|| {
        Error::plan(format!(
            "Failed to find any class that implements Connector and which name matches {class}, \
             available connectors are: {}",
            plugins::PLUGINS
                .iter()
                .map(|p| p.class)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// A connector's class, topics, delivery guarantee, committed offset and
/// records moved (DESCRIBE CONNECTOR).
#[derive(Debug, Clone)]
pub struct Details {
    pub class: String,
    pub topics: Vec<String>,
    pub delivery: String,
    pub offset: Option<String>,
    pub records: u64,
}

/// One connector in the registry.
struct Entry {
    kind: ConnectorKind,
    config: ConnectorConfig,
    plugin: &'static Plugin,
    paused: bool,
    worker: Option<Worker>,
}

/// The connectors of this process.
pub struct Connectors {
    log: Arc<dyn Log>,
    /// What tasks get besides their configuration (the schema registry).
    ctx: task::Context,
    /// Connect's worker id for this process (host:port).
    worker_id: String,
    /// Run connectors here (false for a client that only records
    /// statements).
    run: bool,
    /// Connectors start only once the metastore has been replayed.
    started: AtomicBool,
    /// The Log is Kafka (delivery is then at least once).
    kafka: bool,
    entries: Mutex<BTreeMap<String, Entry>>,
}

impl Connectors {
    pub fn new(
        log: Arc<dyn Log>,
        registry: Arc<crate::registry::LazyRegistry>,
        worker_id: String,
        run: bool,
        kafka: bool,
    ) -> Connectors {
        Connectors {
            log,
            ctx: task::Context { registry },
            worker_id,
            run,
            started: AtomicBool::new(false),
            kafka,
            entries: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn exists(&self, name: &str) -> bool {
        self.entries.lock().contains_key(name)
    }

    /// Checks a new connector's configuration: a known class of the right
    /// kind, every key valid.
    pub fn checked(
        kind: Option<ConnectorKind>,
        name: &str,
        map: BTreeMap<String, String>,
    ) -> Result<(ConnectorConfig, &'static Plugin)> {
        let config = ConnectorConfig::new(name, map);
        let class = config.required("connector.class").map_err(|_| {
            Error::plan("Validation error: Missing required configuration \"connector.class\"")
        })?;
        let plugin = find_plugin(class)?;
        if let Some(kind) = kind {
            if kind != plugin.kind {
                return Err(Error::plan(format!(
                    "{} is a {} connector: create it with CREATE {} CONNECTOR",
                    plugin.class,
                    plugin.kind.lower(),
                    plugin.kind.lower().to_uppercase()
                )));
            }
        }
        let errors: Vec<String> = plugins::COMMON
            .iter()
            .chain(plugin.keys)
            .flat_map(|k| plugins::check(k, &config))
            .collect();
        if !errors.is_empty() {
            return Err(Error::plan(format!(
                "Validation error: {}",
                errors.join("\n")
            )));
        }
        Ok((config, plugin))
    }

    /// Adds a connector (and starts it, once the registry is started). An
    /// error when one of that name exists.
    pub fn create(
        &self,
        kind: Option<ConnectorKind>,
        name: &str,
        map: BTreeMap<String, String>,
    ) -> Result<ConnectorInfo> {
        let (config, plugin) = Self::checked(kind, name, map)?;
        let mut entries = self.entries.lock();
        if entries.contains_key(name) {
            return Err(Error::catalog(format!("Connector {name} already exists")));
        }
        let mut entry = Entry {
            kind: plugin.kind,
            config,
            plugin,
            paused: false,
            worker: None,
        };
        if self.started.load(Ordering::SeqCst) {
            self.start_entry(&mut entry)?;
        }
        let info = info(name, &entry);
        entries.insert(name.to_string(), entry);
        Ok(info)
    }

    fn start_entry(&self, entry: &mut Entry) -> Result<()> {
        if !self.run || entry.worker.is_some() {
            return Ok(());
        }
        if entry.kind == ConnectorKind::Source {
            offsets::init(self.log.as_ref())?;
            // The topic exists once CREATE returns, so a stream can be
            // declared over it at once (the task also creates it if it
            // goes away).
            if let Some(topic) = source_topic(&entry.config) {
                let partitions = entry.config.int("topic.creation.default.partitions", 1)?;
                crate::log::ensure_topic(
                    self.log.as_ref(),
                    &topic,
                    &crate::log::TopicConfig {
                        partitions: i32::try_from(partitions).unwrap_or(1).max(1),
                        ..Default::default()
                    },
                )?;
            }
        }
        entry.worker = Some(Worker::start(
            self.log.clone(),
            entry.config.clone(),
            entry.plugin.factory,
            self.ctx.clone(),
            entry.paused,
        )?);
        Ok(())
    }

    /// Starts every connector (after the metastore's replay).
    pub fn start_all(&self) -> Result<()> {
        self.started.store(true, Ordering::SeqCst);
        let mut entries = self.entries.lock();
        for entry in entries.values_mut() {
            self.start_entry(entry)?;
        }
        Ok(())
    }

    fn not_found(name: &str) -> Error {
        Error::not_found(format!("Connector {name} not found"))
    }

    /// Stops and removes a connector (its committed offsets stay, as
    /// Connect keeps them: one created again with the name resumes).
    pub fn remove(&self, name: &str) -> Result<()> {
        let entry = self
            .entries
            .lock()
            .remove(name)
            .ok_or_else(|| Self::not_found(name))?;
        drop(entry);
        Ok(())
    }

    pub fn pause(&self, name: &str, paused: bool) -> Result<()> {
        let mut entries = self.entries.lock();
        let entry = entries.get_mut(name).ok_or_else(|| Self::not_found(name))?;
        entry.paused = paused;
        if let Some(w) = &entry.worker {
            w.pause(paused);
        }
        Ok(())
    }

    pub fn restart(&self, name: &str) -> Result<()> {
        let entries = self.entries.lock();
        let entry = entries.get(name).ok_or_else(|| Self::not_found(name))?;
        if let Some(w) = &entry.worker {
            w.restart();
        }
        Ok(())
    }

    pub fn names(&self) -> Vec<String> {
        self.entries.lock().keys().cloned().collect()
    }

    pub fn info(&self, name: &str) -> Result<ConnectorInfo> {
        let entries = self.entries.lock();
        let entry = entries.get(name).ok_or_else(|| Self::not_found(name))?;
        Ok(info(name, entry))
    }

    pub fn status(&self, name: &str) -> Result<ConnectorStatus> {
        let entries = self.entries.lock();
        let entry = entries.get(name).ok_or_else(|| Self::not_found(name))?;
        Ok(self.status_of(name, entry))
    }

    fn status_of(&self, name: &str, entry: &Entry) -> ConnectorStatus {
        let (state, trace) = match &entry.worker {
            Some(w) => {
                let s = w.shared.status();
                (s.state, s.trace)
            }
            None if entry.paused => ("PAUSED", None),
            None => ("UNASSIGNED", None),
        };
        // The connector and its one task share a thread: a failing task
        // is shown on the task, as Connect shows task failures.
        let connector_state = if state == "FAILED" { "RUNNING" } else { state };
        let ws = |state: &str, trace: Option<String>| WorkerState {
            state: state.to_string(),
            worker_id: self.worker_id.clone(),
            trace,
        };
        ConnectorStatus {
            name: name.to_string(),
            connector: ws(connector_state, None),
            tasks: vec![(0, ws(state, trace))],
            kind: entry.kind.lower().to_string(),
        }
    }

    /// SHOW CONNECTORS' lines, of one kind or all.
    pub fn list(&self, kind: Option<ConnectorKind>) -> Vec<ConnectorSummary> {
        let entries = self.entries.lock();
        entries
            .iter()
            .filter(|(_, e)| kind.is_none_or(|k| k == e.kind))
            .map(|(name, e)| ConnectorSummary {
                name: name.clone(),
                kind: e.kind.lower().to_string(),
                class: e.config.class().to_string(),
                state: summarize(&self.status_of(name, e)),
            })
            .collect()
    }

    /// What DESCRIBE CONNECTOR shows beyond the status.
    pub fn details(&self, name: &str) -> Result<Details> {
        let entries = self.entries.lock();
        let entry = entries.get(name).ok_or_else(|| Self::not_found(name))?;
        let topics = match entry.kind {
            ConnectorKind::Sink => entry.config.list("topics"),
            ConnectorKind::Source => source_topic(&entry.config).into_iter().collect(),
        };
        let delivery = match (entry.kind, self.kafka) {
            (ConnectorKind::Source, false) => {
                "exactly-once: each record carries its source offset, so a restart resumes after the last record in the topic"
            }
            (ConnectorKind::Source, true) => {
                "at-least-once: offsets are committed after the records are acknowledged"
            }
            (ConnectorKind::Sink, _) => {
                "at-least-once: output is synced before the consumer group's offsets are committed"
            }
        };
        let (offset, records) = match &entry.worker {
            Some(w) => (
                w.shared.status().offset,
                w.shared.records.load(Ordering::Relaxed),
            ),
            None => (None, 0),
        };
        Ok(Details {
            class: entry.config.class().to_string(),
            topics,
            delivery: delivery.to_string(),
            offset,
            records,
        })
    }
}

/// The topic a source connector writes (datagen's `kafka.topic`, the
/// file source's `topic`, the JDBC source's `topic.prefix` and table).
fn source_topic(config: &ConnectorConfig) -> Option<String> {
    if let Some(t) = config.get("kafka.topic").or(config.get("topic")) {
        return Some(t.to_string()).filter(|t| !t.trim().is_empty());
    }
    // The JDBC source: the prefix and its one table, or the prefix alone
    // for a query.
    let prefix = config.get("topic.prefix")?;
    if config.get("query").is_some_and(|q| !q.trim().is_empty()) {
        return Some(prefix.to_string());
    }
    let tables = match config.get("table.whitelist") {
        Some(_) => config.list("table.whitelist"),
        None => config.list("table.include.list"),
    };
    match tables.as_slice() {
        [one] => Some(format!("{prefix}{one}")),
        _ => None,
    }
}

fn info(name: &str, entry: &Entry) -> ConnectorInfo {
    ConnectorInfo {
        name: name.to_string(),
        config: entry.config.map.clone(),
        tasks: vec![0],
        kind: entry.kind.lower().to_string(),
    }
}

/// ksqlDB's one-word summary of a status: the connector's state, or
/// "RUNNING (n/m tasks RUNNING)" ("WARNING" when no task runs).
pub fn summarize(status: &ConnectorStatus) -> String {
    if status.connector.state != "RUNNING" {
        return status.connector.state.clone();
    }
    let running = status
        .tasks
        .iter()
        .filter(|(_, t)| t.state == "RUNNING")
        .count();
    let word = if !status.tasks.is_empty() && running == 0 {
        "WARNING"
    } else {
        "RUNNING"
    };
    format!("{word} ({running}/{} tasks RUNNING)", status.tasks.len())
}
