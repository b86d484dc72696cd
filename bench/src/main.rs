//! The `sluice-bench` command: runs benchmark workloads on an embedded
//! Sluice engine and prints one JSON line per workload plus a table.
//!
//! ```text
//! sluice-bench --query q5 --events 1000000   one workload
//! sluice-bench --all                         the suite (each workload in its own process)
//! sluice-bench --check                       every workload on a small input, checked
//! options: --events N  --seed S  --batch N  --ms-per-event N  --in-memory  --json FILE
//! ```

use anyhow::{anyhow, bail, Context, Result};
use sluice_bench::events::GenConfig;
use sluice_bench::{runner, Workload};
use std::io::Write;

/// Event-time spacing of the second, sparse `--check` pass.
const SPARSE_MS: i64 = 97;

const USAGE: &str = "usage: sluice-bench (--query NAME | --all | --check) [--events N] [--seed S] \
[--batch N] [--ms-per-event N] [--in-memory] [--json FILE]
workloads: q0 q1 q2 q3 q4 q5 q7 q8 enrich count";

struct Args {
    queries: Vec<Workload>,
    all: bool,
    check: bool,
    events: Option<u64>,
    seed: u64,
    batch: usize,
    ms_per_event: Option<i64>,
    in_memory: bool,
    json: Option<String>,
    /// Internal: print only the JSON line (a child process of `--all`).
    child: bool,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        queries: Vec::new(),
        all: false,
        check: false,
        events: None,
        seed: 42,
        batch: 1000,
        ms_per_event: None,
        in_memory: false,
        json: None,
        child: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| anyhow!("{name} needs a value"));
        match a.as_str() {
            "--query" | "-q" => {
                for name in value("--query")?.split(',') {
                    let w = Workload::parse(name)
                        .ok_or_else(|| anyhow!("unknown workload {name}\n{USAGE}"))?;
                    args.queries.push(w);
                }
            }
            "--all" => args.all = true,
            "--check" => args.check = true,
            "--events" => args.events = Some(value("--events")?.parse().context("--events")?),
            "--seed" => args.seed = value("--seed")?.parse().context("--seed")?,
            "--batch" => args.batch = value("--batch")?.parse().context("--batch")?,
            "--ms-per-event" => {
                args.ms_per_event =
                    Some(value("--ms-per-event")?.parse().context("--ms-per-event")?)
            }
            "--in-memory" => args.in_memory = true,
            "--json" => args.json = Some(value("--json")?),
            "--child" => args.child = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    if args.ms_per_event.is_some_and(|ms| ms < 1) {
        bail!("--ms-per-event must be at least 1");
    }
    if args.queries.is_empty() && (args.all || args.check) {
        args.queries = Workload::ALL.to_vec();
    }
    if args.queries.is_empty() {
        bail!("{USAGE}");
    }
    Ok(args)
}

fn options(args: &Args, w: Workload, ms_per_event: i64) -> runner::RunOptions {
    let default = if args.check {
        sluice_bench::CHECK_EVENTS
    } else {
        w.default_events()
    };
    runner::RunOptions {
        events: args.events.unwrap_or(default),
        gen: GenConfig {
            seed: args.seed,
            ms_per_event,
        },
        batch: args.batch,
        in_memory: args.in_memory,
        check: args.check,
    }
}

/// Runs one workload in a child process (so that its peak memory and CPU
/// are its own) and returns its report.
fn run_child(args: &Args, w: Workload, ms_per_event: i64) -> Result<runner::RunReport> {
    let o = options(args, w, ms_per_event);
    let exe = std::env::current_exe()?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["--child", "--query", w.name()])
        .args(["--events", &o.events.to_string()])
        .args(["--seed", &args.seed.to_string()])
        .args(["--batch", &args.batch.to_string()])
        .args(["--ms-per-event", &ms_per_event.to_string()]);
    if args.in_memory {
        cmd.arg("--in-memory");
    }
    if args.check {
        cmd.arg("--check");
    }
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", w.name()))?;
    if !out.status.success() {
        bail!("{} failed ({})", w.name(), out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| anyhow!("{} printed no report", w.name()))?;
    runner::report_from_json(&serde_json::from_str(line)?)
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let mut reports = Vec::new();
    let mut json_lines = Vec::new();
    let mut failed = false;
    // A check without an explicit spacing runs twice: dense event time
    // (1 ms apart) fills windows and joins, sparse (97 ms apart) spreads the
    // input over many windows and across join bounds.
    let spacings = match args.ms_per_event {
        Some(ms) => vec![ms],
        None if args.check => vec![1, SPARSE_MS],
        None => vec![1],
    };
    let runs = spacings
        .iter()
        .flat_map(|&ms| args.queries.iter().map(move |&w| (w, ms)));
    for (w, ms) in runs {
        let mut report = if args.all && !args.child {
            eprintln!("running {} ({})", w.name(), w.about());
            run_child(&args, w, ms)?
        } else {
            runner::run(w, &options(&args, w, ms))?
        };
        if args.ms_per_event.is_none() && ms != 1 {
            report.workload = format!("{}/{ms}ms", report.workload);
        }
        let line = report.to_json().to_string();
        println!("{line}");
        std::io::stdout().flush()?;
        if let Some(Err(e)) = &report.check {
            eprintln!("{}: CHECK FAILED: {e}", w.name());
            failed = true;
        }
        json_lines.push(line);
        reports.push(report);
    }
    if !args.child {
        print!("{}", sluice_bench::table(&reports));
    }
    if let Some(path) = &args.json {
        std::fs::write(path, json_lines.join("\n") + "\n")
            .with_context(|| format!("writing {path}"))?;
    }
    if failed {
        std::process::exit(1);
    }
    Ok(())
}
