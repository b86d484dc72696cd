//! The restore benchmark: how long an aggregation takes to come back.
//!
//! - **run**: `records` records (a key of one of `keys` users, a JSON
//!   amount) go through `CREATE TABLE ... AS SELECT user, COUNT(*),
//!   SUM(amount) ... GROUP BY user` on an embedded engine over a fresh data
//!   directory, appended in batches of [`BATCH`] and processed after each.
//!   `per_cpu_s` is records per CPU second of this thread; `rss_mb` the
//!   peak resident memory of the process (VmHWM) by then.
//! - **restore**: the engine is dropped and opened again on the directory;
//!   `restore_ms` is the time `Engine::open` takes, which replays the
//!   catalog and restores the query's state before it returns (from the
//!   local store, replaying only the changelog after its checkpoint).
//!   Then one more record per key is appended and processed
//!   (`first_step_ms`, every group touched once), and the table's contents
//!   (a pull query over all of it) are compared with counts and sums
//!   computed in plain Rust over all records: what an uninterrupted run
//!   gives (`check`).
//! - **fallback**: the same with the state directory deleted, so the
//!   state comes back from the changelog alone (`changelog_restore_ms`,
//!   checked the same way).

use crate::procstat;
use crate::report::{round, ServeReport};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::json;
use sluice_engine::log::Record;
use sluice_engine::types::Value;
use sluice_engine::{Engine, EngineConfig, StatementResult};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// Records of a default run.
pub const DEFAULT_RECORDS: u64 = 10_000_000;
/// Users (groups) of a default run.
pub const DEFAULT_KEYS: u64 = 100_000;
/// Records appended between two `run_until_idle` calls.
const BATCH: u64 = 20_000;
const TOPIC: &str = "purchases";

/// How to run the restore benchmark.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    pub records: u64,
    pub keys: u64,
}

/// Record `i`: user `i % keys` and an amount.
fn record(i: u64, keys: u64) -> Record {
    Record {
        key: Some(format!("user-{:06}", i % keys).into_bytes()),
        value: Some(format!("{{\"AMOUNT\":{}}}", i % 97).into_bytes()),
        timestamp: 1_700_000_000_000 + i as i64,
        headers: Vec::new(),
    }
}

fn open(dir: &Path) -> Result<Engine> {
    let mut properties = BTreeMap::new();
    properties.insert("auto.offset.reset".to_string(), "earliest".to_string());
    Ok(Engine::open(EngineConfig {
        data_dir: Some(dir.to_path_buf()),
        background: false,
        properties,
        ..Default::default()
    })?)
}

/// Appends records `from..to` and processes them, a batch at a time.
fn feed(engine: &Engine, from: u64, to: u64, keys: u64) -> Result<()> {
    let log = engine.log();
    let mut i = from;
    while i < to {
        let end = (i + BATCH).min(to);
        for n in i..end {
            log.append(TOPIC, None, record(n, keys))?;
        }
        engine.run_until_idle()?;
        i = end;
    }
    Ok(())
}

/// The counts and sums per user after records `0..records` and one more
/// record per user for each of `extra` rounds, as an uninterrupted run
/// gives them.
fn expected(records: u64, keys: u64, extra: u64) -> BTreeMap<String, (i64, i64)> {
    let mut out: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut add = |i: u64| {
        let e = out.entry(format!("user-{:06}", i % keys)).or_default();
        e.0 += 1;
        e.1 += (i % 97) as i64;
    };
    for i in 0..records {
        add(i);
    }
    for round in 0..extra {
        for i in 0..keys {
            add(records + round * keys + i);
        }
    }
    out
}

/// The table's contents, by a pull query.
fn contents(engine: &Engine) -> Result<BTreeMap<String, (i64, i64)>> {
    let result = engine
        .execute("SELECT user, n, total FROM per_user;")?
        .pop()
        .ok_or_else(|| anyhow!("no result"))?;
    let StatementResult::Rows(rows) = result else {
        bail!("expected rows, got {result:?}");
    };
    let int = |v: &Value| match v {
        Value::BigInt(n) => Ok(*n),
        Value::Int(n) => Ok(i64::from(*n)),
        other => Err(anyhow!("expected a number, got {other:?}")),
    };
    rows.rows
        .iter()
        .map(|r| match r.as_slice() {
            [Value::String(u), n, t] => Ok((u.clone(), (int(n)?, int(t)?))),
            other => Err(anyhow!("unexpected row {other:?}")),
        })
        .collect()
}

fn compare(got: &BTreeMap<String, (i64, i64)>, want: &BTreeMap<String, (i64, i64)>) -> Result<()> {
    if got.len() != want.len() {
        bail!("{} groups, expected {}", got.len(), want.len());
    }
    for (k, v) in want {
        if got.get(k) != Some(v) {
            bail!("{k}: {:?}, expected {v:?}", got.get(k));
        }
    }
    Ok(())
}

/// Opens the engine again, timing the open, then processes one more record
/// per user and checks the table against an uninterrupted run.
fn reopen(dir: &Path, options: &RestoreOptions, round: u64) -> Result<(f64, f64, Result<()>)> {
    let start = Instant::now();
    let engine = open(dir).context("reopening the data directory")?;
    let open_ms = start.elapsed().as_secs_f64() * 1e3;
    let from = options.records + round * options.keys;
    let start = Instant::now();
    feed(&engine, from, from + options.keys, options.keys)?;
    let step_ms = start.elapsed().as_secs_f64() * 1e3;
    let want = expected(options.records, options.keys, round + 1);
    let check = contents(&engine).and_then(|got| compare(&got, &want));
    Ok((open_ms, step_ms, check))
}

/// Runs the benchmark in a temporary data directory.
pub fn run(options: &RestoreOptions) -> Result<ServeReport> {
    let dir = tempfile::tempdir().context("creating a data directory")?;
    let (run_s, cpu_s) = {
        let engine = open(dir.path())?;
        engine.execute(&format!(
            "CREATE STREAM purchases (user STRING KEY, amount INT) \
             WITH (kafka_topic='{TOPIC}', value_format='JSON', partitions=1);
             CREATE TABLE per_user AS SELECT user, COUNT(*) AS n, SUM(amount) AS total \
             FROM purchases GROUP BY user;"
        ))?;
        let (start, cpu) = (Instant::now(), procstat::thread_cpu_s()?);
        feed(&engine, 0, options.records, options.keys)?;
        (
            start.elapsed().as_secs_f64(),
            procstat::thread_cpu_s()? - cpu,
        )
    };
    let peak_rss = procstat::peak_rss_mb()?;
    let (restore_ms, first_step_ms, check) = reopen(dir.path(), options, 0)?;
    let rss_after = procstat::rss_mb()?;

    std::fs::remove_dir_all(dir.path().join("state")).context("deleting the state directory")?;
    let (fallback_ms, _, fallback_check) = reopen(dir.path(), options, 1)?;
    let check = check
        .map_err(|e| format!("after restoring from the store: {e:#}"))
        .and_then(|()| {
            fallback_check.map_err(|e| format!("after restoring from the changelog: {e:#}"))
        });

    let mut extra = serde_json::Map::new();
    extra.insert("keys".into(), json!(options.keys));
    extra.insert(
        "per_cpu_s".into(),
        json!((options.records as f64 / cpu_s.max(1e-9)).round()),
    );
    extra.insert("restore_ms".into(), json!(round(restore_ms, 1)));
    extra.insert("first_step_ms".into(), json!(round(first_step_ms, 1)));
    extra.insert("changelog_restore_ms".into(), json!(round(fallback_ms, 1)));
    extra.insert("rss_after_restore_mb".into(), json!(round(rss_after, 1)));
    Ok(ServeReport {
        workload: "restore".into(),
        count: options.records,
        unit: "records".into(),
        wall_s: Some(run_s),
        cpu_s: Some(cpu_s),
        p50_ms: None,
        p99_ms: None,
        p999_ms: None,
        max_ms: None,
        rss_mb: Some(peak_rss),
        extra,
        check: Some(check),
    })
}
