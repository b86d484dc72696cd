//! Workloads end to end over a Kafka cluster (`--bootstrap-servers`): the
//! input is produced to the broker first, then an engine on that cluster
//! (queries on their own threads, as `sluice server` runs them) processes
//! it, and the run ends when the results are in the output topic.
//!
//! - **produce**: the generated events are appended through the engine's
//!   own Kafka log (`KafkaLog`) and flushed; its rate is reported apart
//!   (`produce_per_s`), outside the measured interval.
//! - **measured interval**: from the `CREATE ... AS SELECT` to the moment
//!   the output is complete: for a stream, the bench has read as many
//!   records from the output topic as the reference answer has rows
//!   (counted by reading: Tansu's end offsets can lag); for a table (whose changes
//!   are coalesced per key), the query's consumer group has committed the
//!   end of every input partition (a commit comes only after every result
//!   before it is acknowledged). `consumed_s` is when the query had read
//!   the last input record.
//! - **cpu_s**: CPU time of this whole process over the interval (query
//!   thread, librdkafka's threads) less the thread that watches and counts
//!   the output; the broker's CPU is not included.
//!
//! Every run uses fresh topic and group names (a prefix unique to the run),
//! so runs against one broker do not see each other's data.

use crate::events::GenConfig;
use crate::procstat;
use crate::workloads::{self, Expected, Workload};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::json;
use sluice_engine::log::{KafkaConfig, KafkaLog, Log, TopicConfig};
use sluice_engine::{Engine, EngineConfig};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Input records of a Kafka run when `--events` is not given.
pub const DEFAULT_EVENTS: u64 = 1_000_000;
/// How often the bench looks at the output while the query runs.
const POLL: Duration = Duration::from_millis(20);
/// A run that makes no progress for this long has failed.
const STALL: Duration = Duration::from_secs(60);
/// The service id of the bench's engine (names the consumer groups).
const SERVICE_ID: &str = "bench_";

/// How to run a workload over Kafka.
#[derive(Debug, Clone)]
pub struct KafkaOptions {
    pub bootstrap_servers: String,
    pub events: u64,
    pub gen: GenConfig,
    /// Compare the output with the reference afterwards.
    pub check: bool,
    /// Engine properties on top of the defaults (`commit.interval.ms`,
    /// `cache.max.bytes.buffering`, `processing.guarantee`, ...) and
    /// librdkafka settings for every client of the run (`linger.ms`, ...).
    pub properties: BTreeMap<String, String>,
}

/// The figures of one Kafka run.
#[derive(Debug, Clone, Default)]
pub struct KafkaReport {
    pub workload: String,
    pub events: u64,
    pub produce_s: f64,
    /// Input records per second a lone reader got from the broker.
    pub read_per_s: f64,
    pub wall_s: f64,
    /// When the query read its first input: joining the query's consumer
    /// group takes this long (about 3 s on Tansu).
    pub started_s: f64,
    pub consumed_s: f64,
    pub cpu_s: f64,
    pub output_records: i64,
    pub peak_rss_mb: f64,
    pub properties: BTreeMap<String, String>,
    pub check: Option<std::result::Result<(), String>>,
}

impl KafkaReport {
    /// Input records per wall second, end to end.
    pub fn events_per_s(&self) -> f64 {
        self.events as f64 / self.wall_s.max(1e-9)
    }

    /// Input records per wall second once the query runs: from its first
    /// input read to the complete output (the group join left out).
    pub fn running_events_per_s(&self) -> f64 {
        self.events as f64 / (self.wall_s - self.started_s).max(1e-9)
    }

    /// Input records per CPU second of this process.
    pub fn events_per_cpu_s(&self) -> f64 {
        self.events as f64 / self.cpu_s.max(1e-9)
    }

    pub fn to_json(&self) -> serde_json::Value {
        let round = |x: f64, digits: i32| {
            let f = 10f64.powi(digits);
            (x * f).round() / f
        };
        let mut v = json!({
            "workload": format!("kafka-{}", self.workload),
            "events": self.events,
            "wall_s": round(self.wall_s, 3),
            "started_s": round(self.started_s, 3),
            "consumed_s": round(self.consumed_s, 3),
            "running_events_per_s": round(self.running_events_per_s(), 0),
            "cpu_s": round(self.cpu_s, 2),
            "events_per_s": round(self.events_per_s(), 0),
            "events_per_cpu_s": round(self.events_per_cpu_s(), 0),
            "produce_s": round(self.produce_s, 3),
            "produce_per_s": round(self.events as f64 / self.produce_s.max(1e-9), 0),
            "read_per_s": round(self.read_per_s, 0),
            "output_records": self.output_records,
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "properties": self.properties,
        });
        if let (Some(check), Some(obj)) = (&self.check, v.as_object_mut()) {
            obj.insert(
                "check".into(),
                json!(match check {
                    Ok(()) => "pass".to_string(),
                    Err(e) => format!("FAIL: {e}"),
                }),
            );
        }
        v
    }
}

/// Prints Kafka reports as a readable table.
pub fn table(reports: &[KafkaReport]) -> String {
    let mut out = format!(
        "{:<14} {:>9} {:>10} {:>10} {:>8} {:>9} {:>8} {:>10} {:>10} {:>11} {:>9} {:>7}\n",
        "workload",
        "events",
        "produce/s",
        "read/s",
        "wall_s",
        "started_s",
        "cpu_s",
        "ev/s",
        "run_ev/s",
        "ev/cpu_s",
        "out_rec",
        "check"
    );
    for r in reports {
        out += &format!(
            "{:<14} {:>9} {:>10.0} {:>10.0} {:>8.2} {:>9.2} {:>8.2} {:>10.0} {:>10.0} {:>11.0} {:>9} {:>7}\n",
            format!("kafka-{}", r.workload),
            r.events,
            r.events as f64 / r.produce_s.max(1e-9),
            r.read_per_s,
            r.wall_s,
            r.started_s,
            r.cpu_s,
            r.events_per_s(),
            r.running_events_per_s(),
            r.events_per_cpu_s(),
            r.output_records,
            match &r.check {
                None => "-",
                Some(Ok(())) => "pass",
                Some(Err(_)) => "FAIL",
            }
        );
    }
    out
}

/// A prefix no earlier run used.
fn fresh_prefix(workload: Workload) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("bench{}x{nanos}-{}-", std::process::id(), workload.name())
}

/// Runs a workload over Kafka and measures it end to end.
pub fn run(workload: Workload, options: &KafkaOptions) -> Result<KafkaReport> {
    // `--set` names engine properties and librdkafka settings alike
    // (`apply_settings` tells them apart); the settings apply to the input
    // producer too.
    let mut engine_config = EngineConfig {
        background: true,
        kafka: Some(KafkaConfig::new(&options.bootstrap_servers)),
        ..Default::default()
    };
    engine_config.apply_settings(options.properties.clone());
    let mut config = engine_config
        .kafka
        .clone()
        .ok_or_else(|| anyhow!("no Kafka configuration"))?;
    config.topic_prefix = fresh_prefix(workload);
    let producer = KafkaLog::connect(config.clone())
        .with_context(|| format!("connecting to {}", options.bootstrap_servers))?;

    // The input, produced before the query starts.
    let preload = workload.preload(&options.gen);
    for topic in workload.inputs() {
        producer.create_topic(topic, &TopicConfig::default())?;
    }
    let events: Vec<_> = workload.events(&options.gen, options.events).collect();
    // A stream's reference says how many records complete the output.
    let reference = workload.reference(&options.gen, &preload, &events);
    let started = Instant::now();
    for e in preload.iter().chain(events.iter()) {
        producer.append(e.topic(), None, e.to_record())?;
    }
    producer.flush()?;
    let produce_s = started.elapsed().as_secs_f64();
    let count = events.len() as u64;
    drop(events);
    // How fast this machine's broker serves the input to a reader alone
    // (the log's reader, as queries read): a bound on any query's rate.
    let started = Instant::now();
    let mut read = 0u64;
    for topic in workload.inputs() {
        let mut next = 0;
        loop {
            let records = producer.read(topic, 0, next, 100_000)?;
            let Some(last) = records.last() else { break };
            next = last.offset + 1;
            read += records.len() as u64;
        }
    }
    let read_s = started.elapsed().as_secs_f64();

    let mut properties = BTreeMap::new();
    properties.insert("auto.offset.reset".to_string(), "earliest".to_string());
    properties.insert("ksql.service.id".to_string(), SERVICE_ID.to_string());
    properties.append(&mut engine_config.properties);
    let state = tempfile::tempdir().context("creating a state directory")?;
    properties.insert(
        "ksql.streams.state.dir".to_string(),
        state.path().display().to_string(),
    );
    engine_config.properties = properties;
    engine_config.kafka = Some(config);
    let engine = Engine::open(engine_config).context("opening an engine on Kafka")?;

    let cpu0 = procstat::process_cpu_s()?;
    let t0 = Instant::now();
    engine
        .execute(&workload.sql(&options.gen))
        .with_context(|| format!("starting {}", workload.name()))?;
    let expected_records = match &reference {
        Expected::Rows(rows) => Some(rows.len() as i64),
        _ => None,
    };
    let done = wait_until_done(
        &engine,
        &producer,
        workload,
        count + preload.len() as u64,
        expected_records,
        t0,
    )?;
    let wall_s = t0.elapsed().as_secs_f64();
    let cpu_s = procstat::process_cpu_s()? - cpu0 - done.watch_cpu_s;
    let check = options.check.then(|| {
        workload
            .actual(&engine)
            .and_then(|actual| workloads::compare(workload, &reference, &actual))
            .map_err(|e| format!("{e:#}"))
    });
    Ok(KafkaReport {
        workload: workload.name().to_string(),
        events: count,
        produce_s,
        read_per_s: read as f64 / read_s.max(1e-9),
        wall_s,
        started_s: done.started_s,
        consumed_s: done.consumed_s,
        cpu_s,
        output_records: done.output_records,
        peak_rss_mb: procstat::peak_rss_mb()?,
        properties: options.properties.clone(),
        check,
    })
}

/// When a run's output was complete.
struct Done {
    /// When the query consumed its first input (seconds after the start).
    started_s: f64,
    /// When it had consumed the last.
    consumed_s: f64,
    output_records: i64,
    /// CPU time of the thread that watched (not the engine's).
    watch_cpu_s: f64,
}

/// Waits until the output is complete (see the module docs), reading the
/// output topic as it fills; returns when the last input was consumed
/// (seconds after `t0`), the output's record count, and the CPU time this
/// thread spent watching (not the engine's).
fn wait_until_done(
    engine: &Engine,
    log: &KafkaLog,
    workload: Workload,
    inputs: u64,
    expected_records: Option<i64>,
    t0: Instant,
) -> Result<Done> {
    let cpu0 = procstat::thread_cpu_s()?;
    let sink = workload.output();
    let mut consumed_at = None;
    let mut started_at = None;
    let mut last_progress = (Instant::now(), 0u64);
    let mut group = None;
    let mut output: Vec<(i32, i64)> = Vec::new();
    let mut seen = 0i64;
    loop {
        if output.is_empty() {
            if let Some(info) = log.describe_topic(sink)? {
                output = (0..info.partitions).map(|p| (p, 0)).collect();
            }
        }
        let mut read = 0;
        for (p, next) in output.iter_mut() {
            let records = log.read(sink, *p, *next, 100_000)?;
            if let Some(last) = records.last() {
                *next = last.offset + 1;
            }
            read += records.len();
        }
        seen += read as i64;
        if read == 0 {
            std::thread::sleep(POLL);
        }
        let consumed: u64 = workload
            .inputs()
            .iter()
            .filter_map(|t| engine.describe_source(&t.to_uppercase()))
            .map(|d| d.statistics.messages_consumed)
            .max()
            .unwrap_or(0);
        if consumed > 0 && started_at.is_none() {
            started_at = Some(t0.elapsed().as_secs_f64());
        }
        if consumed >= inputs && consumed_at.is_none() {
            consumed_at = Some(t0.elapsed().as_secs_f64());
        }
        let done = match expected_records {
            Some(want) => seen >= want,
            None if consumed < inputs => false,
            None => {
                if group.is_none() {
                    let description = engine
                        .describe_source(sink)
                        .ok_or_else(|| anyhow!("{sink} was not created"))?;
                    let query = description
                        .write_queries
                        .first()
                        .ok_or_else(|| anyhow!("no query writes {sink}"))?;
                    group = Some(format!("_confluent-ksql-{SERVICE_ID}query_{}", query.id));
                }
                let group = group.as_deref().unwrap_or_default();
                // One partition per input; every input record counted once.
                let mut committed = 0;
                for topic in workload.inputs() {
                    committed += log.committed(group, topic, 0)?.unwrap_or(0);
                }
                committed as u64 >= inputs
            }
        };
        if done {
            let consumed_s = consumed_at.unwrap_or_else(|| t0.elapsed().as_secs_f64());
            // Whatever the last commit made visible.
            for (p, next) in output.iter_mut() {
                seen += log.read(sink, *p, *next, usize::MAX)?.len() as i64;
            }
            let started_s = started_at.unwrap_or(0.0);
            return Ok(Done {
                started_s,
                consumed_s,
                output_records: seen,
                watch_cpu_s: procstat::thread_cpu_s()? - cpu0,
            });
        }
        if consumed > last_progress.1 || read > 0 {
            last_progress = (Instant::now(), consumed);
        } else if last_progress.0.elapsed() > STALL {
            let queries = engine.execute("SHOW QUERIES;").map(|r| format!("{r:?}"));
            bail!(
                "{}: no progress for {} s ({consumed} of {inputs} inputs consumed, \
                 {seen} output records): {queries:?}",
                workload.name(),
                STALL.as_secs()
            );
        }
    }
}
