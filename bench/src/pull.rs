//! The pull-query benchmark: a table of many keys materialized the way a
//! ksqlDB user would (a stream and a `LATEST_BY_OFFSET ... GROUP BY` CTAS),
//! then random key lookups through [`Engine::execute`], each answer checked
//! against the row computed from the generator.
//!
//! - **load**: the keyed records are appended to the stream's topic in
//!   batches and the CTAS query runs over them (`run_until_idle`); then one
//!   first lookup opens the table's materialized view and catches it up to
//!   the table's topic (`view_build_s`). Only after that are lookups timed.
//! - **latency**: of each `engine.execute("SELECT * FROM t WHERE k = ..")`
//!   call, from the call to its returned rows (parse, plan, view lookup).
//! - **cpu_s**: CPU time of the querying thread (the engine runs without
//!   background threads, so this is all the engine's work) over the timed
//!   lookups, including the harness's formatting and checking of each one
//!   (well under a microsecond).
//! - **memory**: `rss_mb` is the peak (VmHWM); `rss_loaded_mb` and
//!   `rss_view_mb` are VmRSS after loading and after building the view. The
//!   embedded log keeps every topic in memory (the input stream, the
//!   aggregate's changelog, the table's topic), besides the aggregate's
//!   state and the view.
//! - **lookups**: uniformly random existing keys; one in [`MISS_ONE_IN`]
//!   names a key that does not exist and must return no row.

use crate::procstat;
use crate::report::{micros, Percentiles, ServeReport};
use crate::rng::SplitMix64;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::json;
use sluice_engine::log::Record;
use sluice_engine::types::Value;
use sluice_engine::{Engine, StatementResult};
use std::time::Instant;

/// Keys of a default run.
pub const DEFAULT_KEYS: u64 = 1_000_000;
/// Lookups of a default run.
pub const DEFAULT_QUERIES: u64 = 200_000;
/// One lookup in this many names a key that is not in the table.
pub const MISS_ONE_IN: u64 = 100;
/// Topic of the keyed stream.
const TOPIC: &str = "kv";
/// Record timestamps start here (2023-11-14T22:13:20Z), 1 ms apart.
const BASE_TIME: i64 = 1_700_000_000_000;

/// How to run the pull benchmark.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// Distinct keys in the table.
    pub keys: u64,
    /// Records after the first one of every key that overwrite a random
    /// key's value (so the table holds the latest, not the first).
    pub updates: u64,
    /// Timed lookups.
    pub queries: u64,
    pub seed: u64,
    /// Records appended between two `run_until_idle` calls while loading.
    pub batch: usize,
    /// Keep the Log in memory instead of a temporary data directory.
    pub in_memory: bool,
}

impl PullOptions {
    /// A run of `keys` keys (and a quarter as many updates) and `queries`
    /// lookups.
    pub fn new(keys: u64, queries: u64, seed: u64) -> PullOptions {
        PullOptions {
            keys,
            updates: keys / 4,
            queries,
            seed,
            batch: 10_000,
            in_memory: false,
        }
    }
}

/// The name of key number `i`.
fn key_name(i: u64) -> String {
    format!("k{i}")
}

/// The `s` column that goes with a value.
fn s_of(v: i64) -> String {
    format!("s{:012x}", v)
}

/// The records written to the stream: every key once, in order, then
/// `updates` overwrites of random keys. Each is (key number, value).
pub fn writes(options: &PullOptions) -> impl Iterator<Item = (u64, i64)> {
    let mut rng = SplitMix64::new(options.seed ^ 0x5055_4C4C_0000);
    let keys = options.keys.max(1);
    let total = options.keys + options.updates;
    (0..total).map(move |i| {
        let key = if i < keys { i } else { rng.below(keys) };
        (key, rng.below(1 << 40) as i64)
    })
}

/// The latest value of every key, as the table must hold it.
pub fn reference(options: &PullOptions) -> Vec<i64> {
    let mut latest = vec![0; options.keys as usize];
    for (k, v) in writes(options) {
        latest[k as usize] = v;
    }
    latest
}

fn record(i: u64, key: u64, v: i64) -> Record {
    Record {
        key: Some(key_name(key).into_bytes()),
        value: Some(json!({"v": v, "s": s_of(v)}).to_string().into_bytes()),
        timestamp: BASE_TIME + i as i64,
        headers: Vec::new(),
    }
}

/// The statements: the stream over the keyed topic and the table
/// materialized from it.
pub fn sql() -> String {
    format!(
        "CREATE STREAM kv (k STRING KEY, v BIGINT, s STRING) \
         WITH (kafka_topic='{TOPIC}', value_format='JSON', partitions=1);\n\
         CREATE TABLE t AS SELECT k, LATEST_BY_OFFSET(v) AS v, LATEST_BY_OFFSET(s) AS s \
         FROM kv GROUP BY k EMIT CHANGES;"
    )
}

/// Runs one lookup and returns its rows.
fn lookup(engine: &Engine, key: &str) -> Result<sluice_engine::RowSet> {
    let sql = format!("SELECT * FROM t WHERE k = '{key}';");
    let mut results = engine.execute(&sql).with_context(|| sql.clone())?;
    match results.pop() {
        Some(StatementResult::Rows(rows)) if results.is_empty() => Ok(rows),
        other => bail!("{sql} did not answer rows: {other:?}"),
    }
}

/// Where the columns K, V, S are in a pull query's answer.
fn positions(columns: &[sluice_engine::ResultColumn]) -> Result<[usize; 3]> {
    let at = |name: &str| {
        columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| anyhow!("the answer has no column {name}: {columns:?}"))
    };
    if columns.len() != 3 {
        bail!("expected the columns K, V, S, got {columns:?}");
    }
    Ok([at("K")?, at("V")?, at("S")?])
}

/// Why an answer is not the expected row (None when it is).
fn wrong(
    rows: &sluice_engine::RowSet,
    at: [usize; 3],
    key: &str,
    expected: Option<i64>,
) -> Option<String> {
    match (expected, rows.rows.as_slice()) {
        (None, []) => None,
        (None, found) => Some(format!("{key}: expected no row, got {found:?}")),
        (Some(v), [row])
            if row.len() == 3
                && row[at[0]] == Value::String(key.to_string())
                && row[at[1]] == Value::BigInt(v)
                && row[at[2]] == Value::String(s_of(v)) =>
        {
            None
        }
        (Some(v), found) => Some(format!(
            "{key}: expected [{key}, {v}, {}], got {found:?}",
            s_of(v)
        )),
    }
}

/// Loads the table, then times `options.queries` random lookups.
pub fn run(options: &PullOptions) -> Result<ServeReport> {
    if options.keys == 0 {
        bail!("the pull benchmark needs at least one key");
    }
    // (The directory must outlive the engine.)
    let (engine, _dir) = crate::runner::new_engine(options.in_memory)?;
    engine.execute(&sql()).context("creating the table")?;
    let log = engine.log();

    // Load: append the records as a producer would and let the CTAS query
    // consume them.
    let load_start = Instant::now();
    let mut pending = 0;
    let mut written = 0u64;
    for (i, (key, v)) in writes(options).enumerate() {
        log.append(TOPIC, None, record(i as u64, key, v))?;
        written += 1;
        pending += 1;
        if pending >= options.batch.max(1) {
            engine.run_until_idle()?;
            pending = 0;
        }
    }
    engine.run_until_idle()?;
    let load_s = load_start.elapsed().as_secs_f64();
    let rss_loaded_mb = procstat::rss_mb()?;
    // Records the embedded log holds in memory, by topic.
    let mut topics = serde_json::Map::new();
    for t in log.list_topics()? {
        let mut n = 0;
        for p in 0..t.partitions {
            n += log.end_offset(&t.name, p)?;
        }
        topics.insert(t.name.clone(), json!(n));
    }
    let expected = reference(options);

    // The first lookup opens the view and catches it up with the table.
    let view_start = Instant::now();
    let first = lookup(&engine, &key_name(0))?;
    let view_build_s = view_start.elapsed().as_secs_f64();
    let rss_view_mb = procstat::rss_mb()?;
    let at = positions(&first.columns)?;
    let mut failures: Vec<String> = Vec::new();
    let mut mismatches = 0u64;
    if let Some(why) = wrong(&first, at, &key_name(0), Some(expected[0])) {
        mismatches += 1;
        failures.push(why);
    }

    let mut rng = SplitMix64::new(options.seed ^ 0x4C4F_4F4B_5550);
    let mut latencies: Vec<u32> = Vec::with_capacity(options.queries as usize);
    let mut misses = 0u64;
    let cpu0 = procstat::thread_cpu_s()?;
    let start = Instant::now();
    for _ in 0..options.queries {
        let (key, want) = if rng.one_in(MISS_ONE_IN) {
            misses += 1;
            (options.keys + rng.below(options.keys), None)
        } else {
            let k = rng.below(options.keys);
            (k, Some(expected[k as usize]))
        };
        let name = key_name(key);
        let t = Instant::now();
        let rows = lookup(&engine, &name)?;
        latencies.push(micros(t.elapsed()));
        if let Some(why) = wrong(&rows, at, &name, want) {
            mismatches += 1;
            if failures.len() < 3 {
                failures.push(why);
            }
        }
    }
    let wall_s = start.elapsed().as_secs_f64();
    let cpu_s = procstat::thread_cpu_s()? - cpu0;
    let peak_rss_mb = procstat::peak_rss_mb()?;
    let p = Percentiles::of_micros(&mut latencies);

    let check = if mismatches == 0 {
        Ok(())
    } else {
        Err(format!(
            "{mismatches} of {} lookups answered wrongly, e.g. {}",
            options.queries + 1,
            failures.join("; ")
        ))
    };
    let mut report = ServeReport {
        workload: "pull".into(),
        count: options.queries,
        unit: "queries".into(),
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
    let round = crate::report::round;
    let extra = &mut report.extra;
    extra.insert("keys".into(), json!(options.keys));
    extra.insert("records".into(), json!(written));
    extra.insert("misses".into(), json!(misses));
    extra.insert("mismatches".into(), json!(mismatches));
    extra.insert("load_s".into(), json!(round(load_s, 3)));
    extra.insert("view_build_s".into(), json!(round(view_build_s, 3)));
    extra.insert("rss_loaded_mb".into(), json!(round(rss_loaded_mb, 1)));
    extra.insert("rss_view_mb".into(), json!(round(rss_view_mb, 1)));
    extra.insert("topic_records".into(), serde_json::Value::Object(topics));
    extra.insert("in_memory".into(), json!(options.in_memory));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_table_answers_every_lookup() {
        let mut options = PullOptions::new(500, 300, 7);
        options.in_memory = true;
        options.batch = 64;
        let expected = reference(&options);
        // Updates overwrite: some key's latest value is not its first.
        let first: Vec<i64> = writes(&options).take(500).map(|(_, v)| v).collect();
        assert_ne!(first, expected);
        let report = run(&options).unwrap();
        assert_eq!(report.check, Some(Ok(())), "{:?}", report.check);
        assert_eq!(report.count, 300);
        assert!(report.extra["misses"].as_u64().unwrap() > 0);
    }

    #[test]
    fn a_wrong_answer_is_caught() {
        let row = |v: i64| {
            vec![
                Value::String("k1".into()),
                Value::BigInt(v),
                Value::String(s_of(v)),
            ]
        };
        let set = |rows| sluice_engine::RowSet {
            rows,
            ..Default::default()
        };
        let at = [0, 1, 2];
        assert_eq!(wrong(&set(vec![row(5)]), at, "k1", Some(5)), None);
        assert!(wrong(&set(vec![row(5)]), at, "k1", Some(6)).is_some());
        assert!(wrong(&set(vec![row(5)]), at, "k2", Some(5)).is_some());
        assert!(wrong(&set(vec![row(5), row(5)]), at, "k1", Some(5)).is_some());
        assert!(wrong(&set(vec![row(5)]), at, "k1", None).is_some());
        assert!(wrong(&set(vec![]), at, "k1", Some(5)).is_some());
        assert_eq!(wrong(&set(vec![]), at, "k1", None), None);
    }
}
