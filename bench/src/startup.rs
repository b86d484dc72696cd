//! The start-up benchmark: how long the release `sluice` shell takes from
//! spawn to ready, and how much memory it holds when idle, measured by
//! spawning the binary that sits next to `sluice-bench` (same target
//! directory) on a fresh, empty data directory.
//!
//! - **ready**: the shell prints its prompt only on a terminal, so "ready"
//!   here is the first byte of its answer to `SHOW STREAMS;`, which is
//!   written to its stdin at spawn: the engine is open, the statement
//!   parsed and run, the table printed. That is a little later than a
//!   prompt would be, never earlier.
//! - **idle RSS**: VmRSS from `/proc/PID/status` after the shell has sat at
//!   its (pipe) prompt for [`IDLE`]; then stdin is closed and it must exit
//!   cleanly.
//! - **one-shot**: `sluice -e "SHOW STREAMS;"` from spawn to exit, for
//!   comparison.
//! - **server** (`startup-server`): `sluice server` on a free loopback
//!   port, from spawn to its first successful `/info`; idle VmRSS after
//!   [`IDLE`]; then SIGTERM, and it must exit successfully.

use crate::procstat;
use crate::report::{round, ServeReport};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::json;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Starts of a default run (the median is reported).
pub const DEFAULT_RUNS: usize = 5;
/// How long the shell idles before its memory is read.
pub const IDLE: Duration = Duration::from_secs(1);
/// How long a start may take before the run fails.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The statement whose answer says the shell is ready.
const READY_STATEMENT: &str = "SHOW STREAMS;";

/// A release binary of the workspace next to the running one.
fn sibling(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("finding sluice-bench's own path")?;
    let dir = exe
        .parent()
        .ok_or_else(|| anyhow!("{} has no directory", exe.display()))?;
    Ok(dir.join(name))
}

/// Waits up to `timeout` for a child to exit; kills it after that.
fn wait_exit(child: &mut Child, timeout: Duration) -> Result<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            child.kill().ok();
            child.wait().ok();
            bail!("the process did not exit within {timeout:?} and was killed");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One interactive start: (ms to ready, idle RSS in MiB).
fn shell_once(bin: &Path) -> Result<(f64, f64)> {
    let dir = tempfile::tempdir().context("creating a data directory")?;
    let start = Instant::now();
    let mut child = Command::new(bin)
        .arg("--data-dir")
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let mut stdin = child.stdin.take().expect("piped");
    stdin.write_all(format!("{READY_STATEMENT}\n").as_bytes())?;
    stdin.flush()?;
    let mut stdout = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        let mut first = true;
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            if first {
                tx.send(Instant::now()).ok();
                first = false;
            }
            out.extend_from_slice(&buf[..n]);
        }
        out
    });
    let ready = match rx.recv_timeout(TIMEOUT) {
        Ok(at) => at - start,
        Err(_) => {
            child.kill().ok();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                e.read_to_string(&mut err).ok();
            }
            child.wait().ok();
            bail!("{} did not answer within {TIMEOUT:?}: {err}", bin.display());
        }
    };
    std::thread::sleep(IDLE);
    let rss = procstat::pid_rss_mb(child.id());
    drop(stdin);
    let status = wait_exit(&mut child, TIMEOUT)?;
    let out = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
    let rss = rss?;
    if !status.success() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            e.read_to_string(&mut err).ok();
        }
        bail!("{} exited with {status}: {err}", bin.display());
    }
    if !out.contains("Stream Name") {
        bail!("unexpected answer to {READY_STATEMENT}: {out}");
    }
    Ok((ready.as_secs_f64() * 1000.0, rss))
}

/// One `-e` run from spawn to exit, in ms.
fn oneshot_once(bin: &Path) -> Result<f64> {
    let dir = tempfile::tempdir().context("creating a data directory")?;
    let start = Instant::now();
    let out = Command::new(bin)
        .arg("--data-dir")
        .arg(dir.path())
        .args(["-e", READY_STATEMENT])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("starting {}", bin.display()))?;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    if !out.status.success() || !String::from_utf8_lossy(&out.stdout).contains("Stream Name") {
        bail!(
            "{} -e failed ({}): {}",
            bin.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(ms)
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Starts the shell `runs` times and reports the medians.
pub fn run_shell(runs: usize) -> Result<ServeReport> {
    let bin = sibling("sluice")?;
    if !bin.is_file() {
        bail!(
            "{} not found: the start-up benchmark spawns the release shell next to \
             sluice-bench; build it first (cargo build --release -p sluice-cli -p sluice-bench)",
            bin.display()
        );
    }
    let runs = runs.max(1);
    let (mut ready, mut rss, mut oneshot) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let (ms, mb) = shell_once(&bin)?;
        ready.push(ms);
        rss.push(mb);
        oneshot.push(oneshot_once(&bin)?);
    }
    let rounded = |xs: &[f64], d| xs.iter().map(|x| round(*x, d)).collect::<Vec<_>>();
    let mut report = ServeReport {
        workload: "startup".into(),
        count: runs as u64,
        unit: "starts".into(),
        p50_ms: Some(median(&ready)),
        max_ms: ready.iter().copied().reduce(f64::max),
        rss_mb: Some(median(&rss)),
        // Reaching here means every start answered correctly and exited.
        check: Some(Ok(())),
        ..Default::default()
    };
    let extra = &mut report.extra;
    extra.insert("binary".into(), json!(bin.display().to_string()));
    extra.insert(
        "ready_signal".into(),
        json!(format!(
            "first answer to {READY_STATEMENT} written to stdin at spawn"
        )),
    );
    extra.insert("ready_ms".into(), json!(rounded(&ready, 1)));
    extra.insert("idle_rss_mb".into(), json!(rounded(&rss, 1)));
    extra.insert("idle_s".into(), json!(IDLE.as_secs_f64()));
    extra.insert("oneshot_ms".into(), json!(round(median(&oneshot), 1)));
    Ok(report)
}

/// Starts `sluice server` `runs` times on a free loopback port and a fresh
/// data directory: ms from spawn to the first 200 from `/info`, VmRSS after
/// [`IDLE`], then SIGTERM and a clean exit; the medians are reported.
pub fn run_server(runs: usize) -> Result<ServeReport> {
    let bin = crate::http::sluice_binary()?;
    let runs = runs.max(1);
    let (mut ready, mut rss) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let server = crate::http::ServerProcess::start(&bin)?;
        ready.push(server.ready.as_secs_f64() * 1000.0);
        std::thread::sleep(IDLE);
        rss.push(procstat::pid_rss_mb(server.pid())?);
        server.stop()?;
    }
    let rounded = |xs: &[f64], d| xs.iter().map(|x| round(*x, d)).collect::<Vec<_>>();
    let mut report = ServeReport {
        workload: "startup-server".into(),
        count: runs as u64,
        unit: "starts".into(),
        p50_ms: Some(median(&ready)),
        max_ms: ready.iter().copied().reduce(f64::max),
        rss_mb: Some(median(&rss)),
        // Reaching here means every start answered /info and exited cleanly.
        check: Some(Ok(())),
        ..Default::default()
    };
    let extra = &mut report.extra;
    extra.insert("binary".into(), json!(bin.display().to_string()));
    extra.insert(
        "ready_signal".into(),
        json!("first 200 from GET /info over loopback HTTP/1.1"),
    );
    extra.insert("ready_ms".into(), json!(rounded(&ready, 1)));
    extra.insert("idle_rss_mb".into(), json!(rounded(&rss, 1)));
    extra.insert("idle_s".into(), json!(IDLE.as_secs_f64()));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}
