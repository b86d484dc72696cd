//! The push-query benchmark: many concurrent `SELECT * FROM ticks EMIT
//! CHANGES` queries opened through [`Engine::execute`] (as the shell and the
//! server open them), each read by its own thread through
//! [`PushQuery::next_rows`], while a producer appends events to the
//! stream's topic at a fixed rate.
//!
//! - **latency**: every event carries the time it was appended (µs since the
//!   run began, taken just before the append); a subscriber that receives it
//!   subtracts that from the time `next_rows` returned it. One sample per
//!   (event, subscriber).
//! - **check**: every subscriber must receive every event exactly once, in
//!   order: delivered = events x subscribers, no gap, duplicate or reorder.
//! - **cpu_s**: CPU time of the whole process (producer and subscribers,
//!   which is where the engine runs push queries) from the first append to
//!   the last delivery.
//! - **pacing**: event `i` is due `i / rate` seconds after the start; the
//!   producer sleeps until the next one is due and appends, catching up
//!   without sleeping when it is late (so the mean rate holds).

use crate::procstat;
use crate::report::{micros, round, Percentiles, ServeReport};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::json;
use sluice_engine::log::Record;
use sluice_engine::types::Value;
use sluice_engine::{Engine, EngineConfig, PushQuery, StatementResult};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Subscribers of a default run.
pub const DEFAULT_SUBSCRIBERS: usize = 100;
/// Events per second of a default run.
pub const DEFAULT_RATE: u64 = 10_000;
/// Seconds of a default run.
pub const DEFAULT_SECONDS: f64 = 10.0;
/// How long after the last append the subscribers may take to receive
/// everything before the run gives up (and the check fails).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);
const TOPIC: &str = "ticks";
/// Record timestamps (event time, unused by the queries) start here, 1 ms apart.
const BASE_TIME: i64 = 1_700_000_000_000;

/// How to run the push benchmark.
#[derive(Debug, Clone)]
pub struct PushOptions {
    pub subscribers: usize,
    /// Events appended per second.
    pub rate: u64,
    /// Seconds of appending.
    pub seconds: f64,
    /// Keep the Log in memory instead of a temporary data directory.
    pub in_memory: bool,
}

impl PushOptions {
    pub fn events(&self) -> u64 {
        (self.rate as f64 * self.seconds).round() as u64
    }
}

/// What one subscriber saw.
#[derive(Default)]
struct Received {
    latencies: Vec<u32>,
    delivered: u64,
    /// Rows whose sequence number was not the next expected one.
    out_of_order: u64,
    first_problem: Option<String>,
}

/// The stream the push queries read.
pub fn sql() -> String {
    format!(
        "CREATE STREAM ticks (sensor STRING KEY, seq BIGINT, appended_us BIGINT, reading DOUBLE) \
         WITH (kafka_topic='{TOPIC}', value_format='JSON', partitions=1);"
    )
}

fn record(seq: u64, appended_us: u64) -> Record {
    let sensor = format!("sensor-{}", seq % 64);
    let value = format!(
        "{{\"seq\":{seq},\"appended_us\":{appended_us},\"reading\":{}.5}}",
        seq % 1000
    );
    Record {
        key: Some(sensor.into_bytes()),
        value: Some(value.into_bytes()),
        timestamp: BASE_TIME + seq as i64,
        headers: Vec::new(),
    }
}

/// Reads one push query until it has `target` rows or `stop` is set.
fn subscribe(
    mut query: PushQuery,
    at: (usize, usize),
    base: Instant,
    target: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    capacity: usize,
) -> Result<Received> {
    let mut got = Received {
        latencies: Vec::with_capacity(capacity),
        ..Default::default()
    };
    while got.delivered < target.load(Ordering::SeqCst) && !stop.load(Ordering::SeqCst) {
        let Some(rows) = query.next_rows(Duration::from_millis(50))? else {
            bail!("a push query without LIMIT finished");
        };
        let now_us = base.elapsed().as_micros() as u64;
        for row in rows {
            let (Some(Value::BigInt(seq)), Some(Value::BigInt(appended))) =
                (row.get(at.0), row.get(at.1))
            else {
                bail!("a row without seq and appended_us: {row:?}");
            };
            if *seq as u64 != got.delivered {
                got.out_of_order += 1;
                if got.first_problem.is_none() {
                    got.first_problem =
                        Some(format!("expected seq {}, received {seq}", got.delivered));
                }
            }
            got.delivered += 1;
            got.latencies.push(micros(Duration::from_micros(
                now_us.saturating_sub(*appended as u64),
            )));
        }
    }
    Ok(got)
}

/// Opens the push queries, feeds the stream, and measures delivery.
pub fn run(options: &PushOptions) -> Result<ServeReport> {
    if options.subscribers == 0 || options.rate == 0 || options.events() == 0 {
        bail!("the push benchmark needs subscribers, a rate and a duration");
    }
    let dir = if options.in_memory {
        None
    } else {
        Some(tempfile::tempdir().context("creating a data directory")?)
    };
    let engine = Engine::open(EngineConfig {
        data_dir: dir.as_ref().map(|d| d.path().to_path_buf()),
        background: true,
        ..Default::default()
    })?;
    engine.execute(&sql()).context("creating the stream")?;

    let events = options.events();
    let base = Instant::now();
    let target = Arc::new(AtomicU64::new(u64::MAX));
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::with_capacity(options.subscribers);
    for i in 0..options.subscribers {
        let mut results = engine
            .execute("SELECT * FROM ticks EMIT CHANGES;")
            .context("opening a push query")?;
        let Some(StatementResult::Push(query)) = results.pop() else {
            bail!("SELECT ... EMIT CHANGES did not open a push query");
        };
        let columns = query.columns();
        let col = |name: &str| {
            columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| anyhow!("the push query has no column {name}: {columns:?}"))
        };
        let at = (col("SEQ")?, col("APPENDED_US")?);
        let (target, stop) = (target.clone(), stop.clone());
        threads.push(
            std::thread::Builder::new()
                .name(format!("subscriber-{i}"))
                .spawn(move || subscribe(query, at, base, target, stop, events as usize))
                .context("starting a subscriber")?,
        );
    }

    // Feed the stream at the rate.
    let log = engine.log();
    let interval_ns = 1e9 / options.rate as f64;
    let cpu0 = procstat::process_cpu_s()?;
    let start = Instant::now();
    let mut late_appends = 0u64;
    for seq in 0..events {
        let due = start + Duration::from_nanos((seq as f64 * interval_ns) as u64);
        let now = Instant::now();
        if now < due {
            std::thread::sleep(due - now);
        } else if now - due > Duration::from_millis(1) {
            late_appends += 1;
        }
        let appended_us = base.elapsed().as_micros() as u64;
        log.append(TOPIC, None, record(seq, appended_us))?;
    }
    let feed_s = start.elapsed().as_secs_f64();
    target.store(events, Ordering::SeqCst);

    // Wait for the subscribers to receive everything (or give up).
    let drain_deadline = Instant::now() + DRAIN_TIMEOUT;
    while threads.iter().any(|t| !t.is_finished()) && Instant::now() < drain_deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let wall_s = start.elapsed().as_secs_f64();
    let cpu_s = procstat::process_cpu_s()? - cpu0;
    stop.store(true, Ordering::SeqCst);
    let mut latencies: Vec<u32> = Vec::with_capacity(events as usize * options.subscribers);
    let (mut delivered, mut out_of_order) = (0u64, 0u64);
    let mut problems = Vec::new();
    for t in threads {
        let got = t
            .join()
            .map_err(|_| anyhow!("a subscriber panicked"))?
            .context("a subscriber failed")?;
        delivered += got.delivered;
        out_of_order += got.out_of_order;
        problems.extend(got.first_problem);
        latencies.extend(got.latencies);
    }
    let peak_rss_mb = procstat::peak_rss_mb()?;
    let samples = latencies.len();
    let p = Percentiles::of_micros(&mut latencies);
    drop(latencies);

    let expected = events * options.subscribers as u64;
    let check = if delivered == expected && out_of_order == 0 {
        Ok(())
    } else {
        Err(format!(
            "delivered {delivered} of {expected} (events x subscribers), {out_of_order} out of \
             order{}",
            problems
                .first()
                .map(|p| format!(", e.g. {p}"))
                .unwrap_or_default()
        ))
    };
    let mut report = ServeReport {
        workload: "push".into(),
        count: delivered,
        unit: "deliveries".into(),
        wall_s: Some(wall_s),
        cpu_s: Some(cpu_s),
        p50_ms: Some(p.p50_ms),
        p99_ms: Some(p.p99_ms),
        p999_ms: Some(p.p999_ms),
        max_ms: Some(p.max_ms),
        rss_mb: Some(peak_rss_mb),
        check: Some(check),
        ..Default::default()
    };
    let extra = &mut report.extra;
    extra.insert("events".into(), json!(events));
    extra.insert("subscribers".into(), json!(options.subscribers));
    extra.insert("rate".into(), json!(options.rate));
    extra.insert(
        "achieved_rate".into(),
        json!(round(events as f64 / feed_s.max(1e-9), 0)),
    );
    extra.insert("late_appends".into(), json!(late_appends));
    extra.insert("feed_s".into(), json!(round(feed_s, 3)));
    extra.insert("samples".into(), json!(samples));
    extra.insert("cpu_cores".into(), json!(round(cpu_s / wall_s, 2)));
    extra.insert(
        "cpu_us_per_delivery".into(),
        json!(round(cpu_s * 1e6 / delivered.max(1) as f64, 3)),
    );
    extra.insert("in_memory".into(), json!(options.in_memory));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subscriber_receives_every_event_in_order() {
        let report = run(&PushOptions {
            subscribers: 3,
            rate: 2000,
            seconds: 0.1,
            in_memory: true,
        })
        .unwrap();
        assert_eq!(report.check, Some(Ok(())), "{:?}", report.check);
        assert_eq!(report.count, 600);
        assert_eq!(report.extra["samples"], json!(600));
    }
}
