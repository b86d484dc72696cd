//! The storage benchmark: how the embedded log holds up under volume.
//!
//! - **write**: `records` records of about 200 bytes (a key of one of
//!   100,000, a JSON value) are appended to a 4-partition topic in a fresh
//!   data directory through the `Log` trait, in batches, then flushed.
//!   `per_s` is records appended per wall second; `rss_mb` is the peak
//!   resident memory of this process (VmHWM) after writing, which must not
//!   grow with the records kept.
//! - **reopen**: the log is dropped and the directory opened again in this
//!   process (`open_ms`, `rss_after_open_mb` is VmRSS after it); a sample of
//!   records at random offsets is read back and compared with what was
//!   written (`check`).
//! - **start-up**: the release `sluice` binary next to this one runs
//!   `sluice --data-dir DIR -e "SHOW STREAMS;"` on the directory; the time
//!   from spawn to exit is the directory's start-up as a user sees it
//!   (`startup_ms`, the median of [`STARTUPS`] runs).

use crate::procstat;
use crate::report::{round, ServeReport};
use crate::rng::SplitMix64;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::json;
use sluice_engine::log::{EmbeddedLog, Log, Record, TopicConfig};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Records of a default run.
pub const DEFAULT_RECORDS: u64 = 10_000_000;
/// Starts of the `sluice` binary on the written directory.
pub const STARTUPS: usize = 3;
/// Records read back and compared after reopening.
const SAMPLES: u64 = 2_000;
const TOPIC: &str = "volume";
const PARTITIONS: i32 = 4;
/// Records appended between two checks of the clock and memory.
const BATCH: u64 = 10_000;

/// How to run the storage benchmark.
#[derive(Debug, Clone)]
pub struct StorageOptions {
    pub records: u64,
    pub seed: u64,
}

/// Record `i`: its partition and the record itself (about 200 bytes).
fn record(i: u64) -> (i32, Record) {
    let key = format!("key-{:06}", i % 100_000);
    let value = format!(
        "{{\"ID\":{i},\"USER\":\"user-{:05}\",\"REGION\":\"region-{}\",\"AMOUNT\":{}.{:02},\"TS\":{},\"FLAG\":{},\"PAD\":\"{}\"}}",
        i % 10_000,
        i % 17,
        i % 1_000,
        i % 100,
        1_700_000_000_000 + i as i64,
        i.is_multiple_of(2),
        "x".repeat(60),
    );
    (
        (i % PARTITIONS as u64) as i32,
        Record {
            key: Some(key.into_bytes()),
            value: Some(value.into_bytes()),
            timestamp: 1_700_000_000_000 + i as i64,
            headers: Vec::new(),
        },
    )
}

/// Runs the benchmark in a temporary data directory.
pub fn run(options: &StorageOptions) -> Result<ServeReport> {
    let dir = tempfile::tempdir().context("creating a data directory")?;
    let (write_s, bytes) = write(dir.path(), options.records)?;
    let peak_rss = procstat::peak_rss_mb()?;

    let start = Instant::now();
    let log = EmbeddedLog::open(dir.path()).context("reopening the data directory")?;
    let open_ms = start.elapsed().as_secs_f64() * 1e3;
    let rss_after_open = procstat::rss_mb()?;
    let check = check(&log, options).map_err(|e| format!("{e:#}"));
    drop(log);

    let mut startups = Vec::with_capacity(STARTUPS);
    for _ in 0..STARTUPS {
        startups.push(startup_ms(dir.path())?);
    }
    startups.sort_by(f64::total_cmp);

    let mut extra = serde_json::Map::new();
    extra.insert("bytes".into(), json!(bytes));
    extra.insert("open_ms".into(), json!(round(open_ms, 1)));
    extra.insert("rss_after_open_mb".into(), json!(round(rss_after_open, 1)));
    extra.insert("startup_ms".into(), json!(round(startups[STARTUPS / 2], 1)));
    extra.insert(
        "startups_ms".into(),
        json!(startups.iter().map(|s| round(*s, 1)).collect::<Vec<_>>()),
    );
    Ok(ServeReport {
        workload: "storage".into(),
        count: options.records,
        unit: "records".into(),
        wall_s: Some(write_s),
        cpu_s: None,
        p50_ms: None,
        p99_ms: None,
        p999_ms: None,
        max_ms: None,
        rss_mb: Some(peak_rss),
        extra,
        check: Some(check),
    })
}

/// Appends every record and flushes; returns the seconds it took and the
/// bytes of keys and values written.
fn write(dir: &Path, records: u64) -> Result<(f64, u64)> {
    let log = EmbeddedLog::open(dir).context("opening the data directory")?;
    log.create_topic(
        TOPIC,
        &TopicConfig {
            partitions: PARTITIONS,
            replicas: 1,
            compact: false,
        },
    )?;
    let start = Instant::now();
    let mut bytes = 0u64;
    let mut i = 0;
    while i < records {
        for j in i..(i + BATCH).min(records) {
            let (partition, rec) = record(j);
            bytes += (rec.key.as_ref().map_or(0, Vec::len) + rec.value.as_ref().map_or(0, Vec::len))
                as u64;
            log.append(TOPIC, Some(partition), rec)?;
        }
        i += BATCH;
    }
    log.flush()?;
    Ok((start.elapsed().as_secs_f64(), bytes))
}

/// Reads records at random offsets and compares them with what was
/// written.
fn check(log: &EmbeddedLog, options: &StorageOptions) -> Result<()> {
    if options.records == 0 {
        return Ok(());
    }
    let mut rng = SplitMix64::new(options.seed);
    for _ in 0..SAMPLES {
        let i = rng.next_u64() % options.records;
        let (partition, want) = record(i);
        let offset = (i / PARTITIONS as u64) as i64;
        let got = log.read(TOPIC, partition, offset, 1)?;
        let Some(got) = got.first() else {
            bail!("record {i} (partition {partition}, offset {offset}) is missing");
        };
        if got.offset != offset || got.record.key != want.key || got.record.value != want.value {
            bail!("record {i} (partition {partition}, offset {offset}) reads back changed");
        }
    }
    let ends: i64 = (0..PARTITIONS)
        .map(|p| log.end_offset(TOPIC, p))
        .sum::<sluice_engine::Result<i64>>()?;
    if ends as u64 != options.records {
        bail!(
            "the topic ends at {ends} records, {} were written",
            options.records
        );
    }
    Ok(())
}

/// Milliseconds from spawning `sluice -e "SHOW STREAMS;"` on `dir` to its
/// exit.
fn startup_ms(dir: &Path) -> Result<f64> {
    let exe = std::env::current_exe().context("finding sluice-bench's own path")?;
    let bin = exe
        .parent()
        .ok_or_else(|| anyhow!("{} has no directory", exe.display()))?
        .join("sluice");
    let start = Instant::now();
    let out = Command::new(&bin)
        .arg("--data-dir")
        .arg(dir)
        .args(["-e", "SHOW STREAMS;"])
        .output()
        .with_context(|| {
            format!(
                "starting {} (build it with `cargo build --release -p sluice-cli`)",
                bin.display()
            )
        })?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    if !out.status.success() {
        bail!(
            "sluice failed on the written directory: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(ms)
}
