//! Running one workload on an embedded engine and measuring it.
//!
//! The engine runs with `background = false`, so every persistent query
//! runs on the calling thread inside [`Engine::run_until_idle`]. A producer
//! thread generates the events and renders them to records ahead of time
//! (bounded to a few batches), so generation costs neither wall time nor
//! engine CPU. The measuring loop takes one batch at a time, appends its
//! records to the Log (as any producer would), then calls `run_until_idle`,
//! which returns once every query has consumed everything and appended its
//! results and state changes.
//!
//! - **wall_s**: time spent appending and processing (waiting for the
//!   producer is reported apart, as `gen_wait_s`).
//! - **cpu_s**: CPU time of the engine's thread over the run (appends
//!   included), from `/proc/thread-self/stat`; `process_cpu_s` is the
//!   whole process, producer included.
//! - **latency**: for each input record, from the moment it was appended
//!   to the moment `run_until_idle` returned after it — by then every
//!   result it produced is in the output topic. It therefore includes
//!   waiting for the rest of its batch (`--batch`, 1000 records by
//!   default: one second of event time at 1 ms per event).
//! - **peak_rss_mb**: VmHWM of the process. The embedded log keeps every
//!   topic in memory (input, output, changelogs), so this grows with the
//!   events processed. `--all` runs each workload in its own process so
//!   that figures do not mix.
//! - **state**: records in the engine's internal topics (changelogs,
//!   repartitions) and in all topics, after the run.

use crate::events::{Event, GenConfig};
use crate::procstat;
use crate::workloads::{self, Workload};
use anyhow::{anyhow, Context, Result};
use serde_json::json;
use sluice_engine::log::Record;
use sluice_engine::{Engine, EngineConfig};
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How to run a workload.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Input records to process.
    pub events: u64,
    /// Generator seed and event-time spacing.
    pub gen: GenConfig,
    /// Records appended between two `run_until_idle` calls.
    pub batch: usize,
    /// Keep the Log in memory instead of a temporary data directory.
    pub in_memory: bool,
    /// Compare the output with the reference afterwards.
    pub check: bool,
    /// Record caching on (ksqlDB's default): a table's changes are
    /// coalesced per key until the commit, which for a caller-driven
    /// engine is when the queries are idle, after each `batch`. Off
    /// (`cache.max.bytes.buffering = 0`): every change is written.
    pub caching: bool,
}

/// The figures of one run.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    pub workload: String,
    pub events: u64,
    pub preloaded: u64,
    pub wall_s: f64,
    pub cpu_s: f64,
    pub process_cpu_s: f64,
    pub gen_wait_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub peak_rss_mb: f64,
    pub output_records: i64,
    pub internal_records: i64,
    pub log_records: i64,
    pub batch: usize,
    /// None when not checked; Some(Ok) or the reason it failed.
    pub check: Option<std::result::Result<(), String>>,
}

impl RunReport {
    /// Input records per wall second.
    pub fn events_per_s(&self) -> f64 {
        self.events as f64 / self.wall_s.max(1e-9)
    }

    /// Input records per engine CPU second.
    pub fn events_per_cpu_s(&self) -> f64 {
        self.events as f64 / self.cpu_s.max(1e-9)
    }

    /// The report as one JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        let round = |x: f64, digits: i32| {
            let f = 10f64.powi(digits);
            (x * f).round() / f
        };
        let mut v = json!({
            "workload": self.workload,
            "events": self.events,
            "wall_s": round(self.wall_s, 3),
            "cpu_s": round(self.cpu_s, 2),
            "events_per_s": round(self.events_per_s(), 0),
            "events_per_cpu_s": round(self.events_per_cpu_s(), 0),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "max_ms": round(self.max_ms, 3),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "process_cpu_s": round(self.process_cpu_s, 2),
            "gen_wait_s": round(self.gen_wait_s, 3),
            "preloaded": self.preloaded,
            "batch": self.batch,
            "output_records": self.output_records,
            "internal_records": self.internal_records,
            "log_records": self.log_records,
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

/// A report read back from its JSON (as `--all` gets them from its child
/// processes).
pub fn report_from_json(v: &serde_json::Value) -> Result<RunReport> {
    let f = |name: &str| v.get(name).and_then(|x| x.as_f64()).unwrap_or(0.0);
    Ok(RunReport {
        workload: v
            .get("workload")
            .and_then(|w| w.as_str())
            .ok_or_else(|| anyhow!("report without a workload"))?
            .to_string(),
        events: f("events") as u64,
        preloaded: f("preloaded") as u64,
        wall_s: f("wall_s"),
        cpu_s: f("cpu_s"),
        process_cpu_s: f("process_cpu_s"),
        gen_wait_s: f("gen_wait_s"),
        p50_ms: f("p50_ms"),
        p99_ms: f("p99_ms"),
        max_ms: f("max_ms"),
        peak_rss_mb: f("peak_rss_mb"),
        output_records: f("output_records") as i64,
        internal_records: f("internal_records") as i64,
        log_records: f("log_records") as i64,
        batch: f("batch") as usize,
        check: v.get("check").and_then(|c| c.as_str()).map(|c| {
            if c == "pass" {
                Ok(())
            } else {
                Err(c.trim_start_matches("FAIL: ").to_string())
            }
        }),
    })
}

/// Opens an engine driven by its caller, its queries reading from the
/// start, on a fresh temporary directory unless in memory. The directory
/// must outlive the engine.
pub fn new_engine(in_memory: bool) -> Result<(Engine, Option<tempfile::TempDir>)> {
    let dir = if in_memory {
        None
    } else {
        Some(tempfile::tempdir().context("creating a data directory")?)
    };
    let mut properties = BTreeMap::new();
    properties.insert("auto.offset.reset".to_string(), "earliest".to_string());
    let engine = Engine::open(EngineConfig {
        data_dir: dir.as_ref().map(|d| d.path().to_path_buf()),
        background: false,
        properties,
        ..Default::default()
    })?;
    Ok((engine, dir))
}

/// Opens an engine (see [`new_engine`]) and starts the workload's queries.
fn open_engine(
    workload: Workload,
    options: &RunOptions,
) -> Result<(Engine, Option<tempfile::TempDir>)> {
    let (engine, dir) = new_engine(options.in_memory)?;
    if !options.caching {
        engine.execute("SET 'cache.max.bytes.buffering' = '0';")?;
    }
    engine
        .execute(&workload.sql(&options.gen))
        .with_context(|| format!("starting {}", workload.name()))?;
    Ok((engine, dir))
}

fn append(engine: &Engine, record: (&'static str, Record)) -> Result<()> {
    engine.log().append(record.0, None, record.1)?;
    Ok(())
}

/// Runs a workload and measures it; with `options.check`, compares the
/// output with the reference too.
pub fn run(workload: Workload, options: &RunOptions) -> Result<RunReport> {
    let (engine, _dir) = open_engine(workload, options)?;
    let log = engine.log();
    let preload = workload.preload(&options.gen);
    for e in &preload {
        append(&engine, (e.topic(), e.to_record()))?;
    }
    engine.run_until_idle()?;

    let batch = options.batch.max(1);
    let (tx, rx) = mpsc::sync_channel::<Vec<(&'static str, Record)>>(4);
    let events = workload.events(&options.gen, options.events);
    let producer = std::thread::Builder::new()
        .name("generator".into())
        .spawn(move || {
            let mut events = events;
            loop {
                let chunk: Vec<(&'static str, Record)> = events
                    .by_ref()
                    .take(batch)
                    .map(|e| (e.topic(), e.to_record()))
                    .collect();
                if chunk.is_empty() || tx.send(chunk).is_err() {
                    break;
                }
            }
        })
        .context("starting the generator")?;

    let mut latencies: Vec<u32> = Vec::with_capacity(options.events as usize);
    let mut stamps: Vec<Instant> = Vec::with_capacity(batch);
    let (mut busy, mut waiting) = (Duration::ZERO, Duration::ZERO);
    let mut count = 0u64;
    let cpu0 = procstat::thread_cpu_s()?;
    let pcpu0 = procstat::process_cpu_s()?;
    loop {
        let wait = Instant::now();
        let Ok(chunk) = rx.recv() else { break };
        let start = Instant::now();
        waiting += start - wait;
        stamps.clear();
        for (topic, record) in chunk {
            log.append(topic, None, record)?;
            stamps.push(Instant::now());
        }
        engine.run_until_idle()?;
        let done = Instant::now();
        busy += done - start;
        count += stamps.len() as u64;
        latencies.extend(
            stamps
                .iter()
                .map(|t| (done - *t).as_micros().min(u32::MAX as u128) as u32),
        );
    }
    let cpu_s = procstat::thread_cpu_s()? - cpu0;
    let process_cpu_s = procstat::process_cpu_s()? - pcpu0;
    producer
        .join()
        .map_err(|_| anyhow!("the generator panicked"))?;
    let peak_rss_mb = procstat::peak_rss_mb()?;

    latencies.sort_unstable();
    let pct = |q: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() - 1) as f64 * q).round() as usize;
        latencies[i] as f64 / 1000.0
    };
    let (mut internal, mut all) = (0i64, 0i64);
    for t in log.list_topics()? {
        let mut n = 0;
        for p in 0..t.partitions {
            n += log.end_offset(&t.name, p)?;
        }
        all += n;
        if t.name.starts_with('_')
            || t.name.contains("-changelog")
            || t.name.contains("-repartition")
        {
            internal += n;
        }
    }
    let mut output_records = 0;
    if let Some(info) = log.describe_topic(workload.output())? {
        for p in 0..info.partitions {
            output_records += log.end_offset(workload.output(), p)?;
        }
    }
    let check = if options.check {
        Some(verify(workload, &engine, options, &preload).map_err(|e| format!("{e:#}")))
    } else {
        None
    };
    Ok(RunReport {
        workload: workload.name().to_string(),
        events: count,
        preloaded: preload.len() as u64,
        wall_s: busy.as_secs_f64(),
        cpu_s,
        process_cpu_s,
        gen_wait_s: waiting.as_secs_f64(),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: pct(1.0),
        peak_rss_mb,
        output_records,
        internal_records: internal,
        log_records: all,
        batch,
        check,
    })
}

/// Compares the workload's output topic with the reference computed from
/// the same (regenerated) events.
pub fn verify(
    workload: Workload,
    engine: &Engine,
    options: &RunOptions,
    preload: &[Event],
) -> Result<()> {
    let events: Vec<Event> = workload.events(&options.gen, options.events).collect();
    let expected = workload.reference(&options.gen, preload, &events);
    let actual = workload.actual(engine)?;
    let empty = match &expected {
        workloads::Expected::Rows(r) => r.is_empty(),
        workloads::Expected::Table(t) => t.is_empty(),
    };
    if empty {
        // A check that compares nothing proves nothing.
        return Err(anyhow!(
            "{}: the reference is empty; use more events",
            workload.name()
        ));
    }
    workloads::compare(workload, &expected, &actual)
}
