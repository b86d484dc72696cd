//! The `sluice-bench` command: runs benchmark workloads on an embedded
//! Sluice engine and prints one JSON line per workload plus a table.
//!
//! ```text
//! sluice-bench --query q5 --events 1000000   one workload
//! sluice-bench --query pull --queries 50000  key-lookup pull queries
//! sluice-bench --query push --seconds 5      push-query delivery latency
//! sluice-bench --query startup               the shell's start-up (needs it built)
//! sluice-bench --query http-pull,http-push,http-inserts,startup-server
//!                                            over HTTP against `sluice server`
//! sluice-bench --query restore --events 10000000  an aggregation's restart
//! sluice-bench --all                         the suite (each workload in its own process)
//! sluice-bench --check                       every workload on a small input, checked
//! sluice-bench --bootstrap-servers 127.0.0.1:9092 --query q0,q2,count
//!                                            end to end over Kafka (see `kafka`)
//! options: --events N  --seed S  --batch N  --ms-per-event N  --in-memory  --no-caching
//!          --json FILE
//!          --keys N --queries N (pull)  --seconds S --rate N --subscribers N (push)
//!          --runs N (startup)  --connections N (http-pull)
//!          --set NAME=VALUE (an engine property, Kafka runs)
//! ```

/// jemalloc, as the `sluice` binary uses, so the benchmark measures what
/// users run.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use anyhow::{anyhow, bail, Context, Result};
use sluice_bench::events::GenConfig;
use sluice_bench::report::{self, ServeReport};
use sluice_bench::{httpserve, pull, push, restore, runner, startup, storage, Bench, Workload};
use std::io::Write;

/// Event-time spacing of the second, sparse `--check` pass.
const SPARSE_MS: i64 = 97;

/// Pull-benchmark keys and lookups of a `--check` run.
const CHECK_PULL: u64 = 20_000;
/// Keys (http-pull) and rows (http-inserts) of a `--check` run.
const CHECK_HTTP_KEYS: u64 = 2_000;
/// Seconds of a `--check` run of http-pull and http-push.
const CHECK_HTTP_SECONDS: f64 = 0.5;
/// Subscribers of a `--check` run of http-push.
const CHECK_HTTP_SUBSCRIBERS: usize = 8;
/// Rows per second of a `--check` run of http-push.
const CHECK_HTTP_RATE: u64 = 1_000;
/// Push-benchmark seconds of a `--check` run.
const CHECK_PUSH_SECONDS: f64 = 1.0;

const USAGE: &str = "usage: sluice-bench (--query NAME | --all | --check) [--events N] [--seed S] \
[--batch N] [--ms-per-event N] [--in-memory] [--no-caching] [--json FILE]
  [--keys N] [--queries N] [--seconds S] [--rate N] [--subscribers N] [--runs N] [--connections N]
  [--bootstrap-servers HOST:PORT [--set NAME=VALUE]...]
workloads: q0 q1 q2 q3 q4 q5 q7 q8 enrich count
  peer-filter peer-tumble peer-tumble-final peer-hop peer-hop-final pull push startup startup-server
  http-pull http-push http-inserts storage restore (HTTP ones spawn the release sluice server)";

struct Args {
    benches: Vec<Bench>,
    all: bool,
    check: bool,
    events: Option<u64>,
    seed: u64,
    batch: usize,
    ms_per_event: Option<i64>,
    in_memory: bool,
    /// Record caching off (`--no-caching`).
    no_caching: bool,
    json: Option<String>,
    /// Pull: keys in the table, lookups.
    keys: Option<u64>,
    queries: Option<u64>,
    /// Push: seconds of feeding, events per second, subscribers.
    seconds: Option<f64>,
    rate: Option<u64>,
    subscribers: Option<usize>,
    /// Startup: starts measured.
    runs: Option<usize>,
    connections: Option<usize>,
    /// Internal: print only the JSON line (a child process of `--all`).
    child: bool,
    /// Run the workloads over this Kafka cluster.
    bootstrap: Option<String>,
    /// Engine properties of Kafka runs.
    set: std::collections::BTreeMap<String, String>,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        benches: Vec::new(),
        all: false,
        check: false,
        events: None,
        seed: 42,
        batch: 1000,
        ms_per_event: None,
        in_memory: false,
        no_caching: false,
        json: None,
        keys: None,
        queries: None,
        seconds: None,
        rate: None,
        subscribers: None,
        runs: None,
        connections: None,
        child: false,
        bootstrap: None,
        set: Default::default(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| anyhow!("{name} needs a value"));
        match a.as_str() {
            "--query" | "-q" => {
                for name in value("--query")?.split(',') {
                    let b = Bench::parse(name)
                        .ok_or_else(|| anyhow!("unknown workload {name}\n{USAGE}"))?;
                    args.benches.push(b);
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
            "--no-caching" => args.no_caching = true,
            "--json" => args.json = Some(value("--json")?),
            "--keys" => args.keys = Some(value("--keys")?.parse().context("--keys")?),
            "--queries" => args.queries = Some(value("--queries")?.parse().context("--queries")?),
            "--seconds" => args.seconds = Some(value("--seconds")?.parse().context("--seconds")?),
            "--rate" => args.rate = Some(value("--rate")?.parse().context("--rate")?),
            "--subscribers" => {
                args.subscribers = Some(value("--subscribers")?.parse().context("--subscribers")?)
            }
            "--runs" => args.runs = Some(value("--runs")?.parse().context("--runs")?),
            "--connections" => {
                args.connections = Some(value("--connections")?.parse().context("--connections")?)
            }
            "--child" => args.child = true,
            "--bootstrap-servers" => args.bootstrap = Some(value("--bootstrap-servers")?),
            "--set" => {
                let v = value("--set")?;
                let (name, value) = v
                    .split_once('=')
                    .ok_or_else(|| anyhow!("--set needs NAME=VALUE, not {v}"))?;
                args.set.insert(name.to_string(), value.to_string());
            }
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
    if args.benches.is_empty() && args.all {
        args.benches = Bench::all();
    }
    if args.benches.is_empty() && args.check {
        // The start-up benchmark checks nothing beyond "it answers" and
        // needs the shell built: not part of the correctness run.
        args.benches = Bench::all();
        // Nor are the storage and HTTP benchmarks, which need binaries too
        // (`--check --query http-pull` runs a tiny version of one).
        args.benches.retain(|b| {
            !matches!(
                b,
                Bench::Startup
                    | Bench::StartupServer
                    | Bench::Storage
                    | Bench::Restore
                    | Bench::HttpPull
                    | Bench::HttpPush
                    | Bench::HttpInserts
            )
        });
    }
    if args.benches.is_empty() {
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
        caching: !args.no_caching,
    }
}

/// The restore benchmark's options.
fn restore_options(args: &Args) -> restore::RestoreOptions {
    let default = if args.check {
        sluice_bench::CHECK_EVENTS
    } else {
        restore::DEFAULT_RECORDS
    };
    restore::RestoreOptions {
        records: args.events.unwrap_or(default),
        keys: args.keys.unwrap_or(restore::DEFAULT_KEYS),
    }
}

/// The storage benchmark's options.
fn storage_options(args: &Args) -> storage::StorageOptions {
    let default = if args.check {
        sluice_bench::CHECK_EVENTS
    } else {
        storage::DEFAULT_RECORDS
    };
    storage::StorageOptions {
        records: args.events.unwrap_or(default),
        seed: args.seed,
    }
}

fn pull_options(args: &Args) -> pull::PullOptions {
    let (keys, queries) = if args.check {
        (CHECK_PULL, CHECK_PULL)
    } else {
        (pull::DEFAULT_KEYS, pull::DEFAULT_QUERIES)
    };
    let mut o = pull::PullOptions::new(
        args.keys.unwrap_or(keys),
        args.queries.unwrap_or(queries),
        args.seed,
    );
    o.in_memory = args.in_memory;
    o
}

/// The push benchmark's options.
fn push_options(args: &Args) -> push::PushOptions {
    push::PushOptions {
        subscribers: args.subscribers.unwrap_or(push::DEFAULT_SUBSCRIBERS),
        rate: args.rate.unwrap_or(push::DEFAULT_RATE),
        seconds: args.seconds.unwrap_or(if args.check {
            CHECK_PUSH_SECONDS
        } else {
            push::DEFAULT_SECONDS
        }),
        in_memory: args.in_memory,
    }
}

/// One benchmark's reports: a throughput run or serving figures.
enum Report {
    Flow(runner::RunReport),
    Serve(ServeReport),
}

impl Report {
    fn to_json(&self) -> serde_json::Value {
        match self {
            Report::Flow(r) => r.to_json(),
            Report::Serve(r) => r.to_json(),
        }
    }

    fn check(&self) -> Option<&std::result::Result<(), String>> {
        match self {
            Report::Flow(r) => r.check.as_ref(),
            Report::Serve(r) => r.check.as_ref(),
        }
    }
}

/// Runs a benchmark here, in this process.
fn run_here(args: &Args, b: Bench, ms_per_event: i64) -> Result<Vec<Report>> {
    Ok(match b {
        Bench::Flow(w) => vec![Report::Flow(runner::run(
            w,
            &options(args, w, ms_per_event),
        )?)],
        Bench::Pull => vec![Report::Serve(pull::run(&pull_options(args))?)],
        Bench::Push => vec![Report::Serve(push::run(&push_options(args))?)],
        Bench::Startup => vec![Report::Serve(startup::run_shell(
            args.runs.unwrap_or(startup::DEFAULT_RUNS),
        )?)],
        Bench::StartupServer => vec![Report::Serve(startup::run_server(
            args.runs.unwrap_or(startup::DEFAULT_RUNS),
        )?)],
        Bench::HttpPull => {
            let (keys, seconds) = if args.check {
                (CHECK_HTTP_KEYS, CHECK_HTTP_SECONDS)
            } else {
                (httpserve::DEFAULT_KEYS, httpserve::DEFAULT_SECONDS)
            };
            vec![Report::Serve(httpserve::pull(
                args.keys.unwrap_or(keys),
                args.connections.unwrap_or(httpserve::DEFAULT_CONNECTIONS),
                args.seconds.unwrap_or(seconds),
                args.seed,
            )?)]
        }
        Bench::HttpPush => {
            let (subscribers, rate, seconds) = if args.check {
                (CHECK_HTTP_SUBSCRIBERS, CHECK_HTTP_RATE, CHECK_HTTP_SECONDS)
            } else {
                (
                    httpserve::DEFAULT_SUBSCRIBERS,
                    httpserve::DEFAULT_RATE,
                    httpserve::DEFAULT_SECONDS,
                )
            };
            vec![Report::Serve(httpserve::push(
                args.subscribers.unwrap_or(subscribers),
                args.rate.unwrap_or(rate),
                args.seconds.unwrap_or(seconds),
            )?)]
        }
        Bench::HttpInserts => {
            let rows = if args.check {
                CHECK_HTTP_KEYS
            } else {
                httpserve::DEFAULT_ROWS
            };
            vec![Report::Serve(httpserve::inserts(
                args.events.unwrap_or(rows),
            )?)]
        }
        Bench::Storage => vec![Report::Serve(storage::run(&storage_options(args))?)],
        Bench::Restore => vec![Report::Serve(restore::run(&restore_options(args))?)],
    })
}

/// Runs one benchmark in a child process (so that its peak memory and CPU
/// are its own) and returns its reports.
fn run_child(args: &Args, b: Bench, ms_per_event: i64) -> Result<Vec<Report>> {
    let exe = std::env::current_exe()?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["--child", "--query", b.name()])
        .args(["--seed", &args.seed.to_string()])
        .args(["--batch", &args.batch.to_string()])
        .args(["--ms-per-event", &ms_per_event.to_string()]);
    match b {
        Bench::Flow(w) => {
            let o = options(args, w, ms_per_event);
            cmd.args(["--events", &o.events.to_string()]);
        }
        Bench::Pull => {
            let o = pull_options(args);
            cmd.args(["--keys", &o.keys.to_string()])
                .args(["--queries", &o.queries.to_string()]);
        }
        Bench::Push => {
            let o = push_options(args);
            cmd.args(["--seconds", &o.seconds.to_string()])
                .args(["--rate", &o.rate.to_string()])
                .args(["--subscribers", &o.subscribers.to_string()]);
        }
        Bench::Storage => {
            let o = storage_options(args);
            cmd.args(["--events", &o.records.to_string()]);
        }
        Bench::Restore => {
            let o = restore_options(args);
            cmd.args(["--events", &o.records.to_string()])
                .args(["--keys", &o.keys.to_string()]);
        }
        Bench::HttpPull | Bench::HttpPush | Bench::HttpInserts => {
            // The child applies the same defaults; pass what was given.
            for (flag, v) in [
                ("--keys", args.keys),
                ("--events", args.events),
                ("--rate", args.rate),
                ("--subscribers", args.subscribers.map(|x| x as u64)),
                ("--connections", args.connections.map(|x| x as u64)),
            ] {
                if let Some(v) = v {
                    cmd.args([flag, &v.to_string()]);
                }
            }
            if let Some(s) = args.seconds {
                cmd.args(["--seconds", &s.to_string()]);
            }
        }
        Bench::Startup | Bench::StartupServer => {
            if let Some(runs) = args.runs {
                cmd.args(["--runs", &runs.to_string()]);
            }
        }
    }
    if args.in_memory {
        cmd.arg("--in-memory");
    }
    if args.no_caching {
        cmd.arg("--no-caching");
    }
    if args.check {
        cmd.arg("--check");
    }
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", b.name()))?;
    if !out.status.success() {
        bail!("{} failed ({})", b.name(), out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut reports = Vec::new();
    for line in text.lines().filter(|l| l.starts_with('{')) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        reports.push(match b {
            Bench::Flow(_) => Report::Flow(runner::report_from_json(&v)?),
            _ => Report::Serve(ServeReport::from_json(&v)?),
        });
    }
    if reports.is_empty() {
        bail!("{} printed no report", b.name());
    }
    Ok(reports)
}

/// Runs the chosen workloads over Kafka (`--bootstrap-servers`).
fn main_kafka(args: &Args, bootstrap: &str) -> Result<()> {
    let mut reports = Vec::new();
    let mut failed = false;
    for b in &args.benches {
        let Bench::Flow(w) = *b else {
            bail!("{} does not run over Kafka", b.name());
        };
        let options = sluice_bench::kafka::KafkaOptions {
            bootstrap_servers: bootstrap.to_string(),
            events: args.events.unwrap_or(if args.check {
                sluice_bench::CHECK_EVENTS
            } else {
                sluice_bench::kafka::DEFAULT_EVENTS
            }),
            gen: GenConfig {
                seed: args.seed,
                ms_per_event: args.ms_per_event.unwrap_or(1),
            },
            check: args.check,
            properties: args.set.clone(),
        };
        let report = sluice_bench::kafka::run(w, &options)?;
        println!("{}", report.to_json());
        std::io::stdout().flush()?;
        if let Some(Err(e)) = &report.check {
            eprintln!("{}: CHECK FAILED: {e}", w.name());
            failed = true;
        }
        reports.push(report);
    }
    print!("{}", sluice_bench::kafka::table(&reports));
    if failed {
        std::process::exit(1);
    }
    Ok(())
}

fn main() -> Result<()> {
    let args = parse_args()?;
    if let Some(bootstrap) = &args.bootstrap {
        return main_kafka(&args, bootstrap);
    }
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
    // Serving benchmarks do not depend on event-time spacing: they run once.
    let runs = spacings.iter().enumerate().flat_map(|(i, &ms)| {
        args.benches
            .iter()
            .filter(move |b| i == 0 || matches!(b, Bench::Flow(_)))
            .map(move |&b| (b, ms))
    });
    for (b, ms) in runs {
        let batch = if args.all && !args.child {
            eprintln!("running {} ({})", b.name(), b.about());
            run_child(&args, b, ms)?
        } else {
            run_here(&args, b, ms)?
        };
        for mut report in batch {
            if let Report::Flow(r) = &mut report {
                if args.ms_per_event.is_none() && ms != 1 {
                    r.workload = format!("{}/{ms}ms", r.workload);
                }
            }
            let line = report.to_json().to_string();
            println!("{line}");
            std::io::stdout().flush()?;
            if let Some(Err(e)) = report.check() {
                eprintln!("{}: CHECK FAILED: {e}", b.name());
                failed = true;
            }
            json_lines.push(line);
            reports.push(report);
        }
    }
    if !args.child {
        let (mut flows, mut serves) = (Vec::new(), Vec::new());
        for r in reports {
            match r {
                Report::Flow(r) => flows.push(r),
                Report::Serve(r) => serves.push(r),
            }
        }
        if !flows.is_empty() {
            print!("{}", sluice_bench::table(&flows));
        }
        if !serves.is_empty() {
            if !flows.is_empty() {
                println!();
            }
            print!("{}", report::table(&serves));
        }
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
