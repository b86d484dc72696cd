//! sluice-bench: Sluice's benchmark harness. A deterministic Nexmark event
//! generator and two ksqlDB-style workloads (`events`), the benchmark
//! queries in Sluice SQL with reference answers computed in plain Rust
//! (`workloads`), and a runner that drives an embedded engine and measures
//! throughput, CPU, latency and memory (`runner`, `procstat`). Serving
//! benchmarks measure what a client sees instead: key-lookup pull queries
//! (`pull`), push-query delivery latency (`push`) and the shell's start-up
//! (`startup`), reported by `report`; `restore` times an aggregation's
//! restart; `httpserve` measures pull, push and
//! inserts over real HTTP against a `sluice server` process (`http`);
//! `kafka` runs the workloads end to end over a Kafka cluster.
//!
//! Correctness comes first: [`check`] runs workloads on a small input and
//! compares what Sluice wrote to the output topic with the reference, so a
//! fast wrong answer never passes.

pub mod events;
pub mod http;
pub mod httpserve;
pub mod kafka;
pub mod peer;
pub mod procstat;
pub mod pull;
pub mod push;
pub mod report;
pub mod restore;
pub mod rng;
pub mod runner;
pub mod startup;
pub mod storage;
pub mod workloads;

pub use runner::{run, RunOptions, RunReport};
pub use workloads::Workload;

/// One benchmark of the suite: a throughput workload or a serving one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bench {
    /// Events through persistent queries ([`runner`]).
    Flow(Workload),
    /// Key-lookup pull queries ([`pull`]).
    Pull,
    /// Push-query delivery latency ([`push`]).
    Push,
    /// The shell's (and later the server's) start-up ([`startup`]).
    Startup,
    /// `sluice server`'s start-up and idle memory ([`startup`]).
    StartupServer,
    /// Key lookups over HTTP `/query` ([`httpserve`]).
    HttpPull,
    /// Push-query delivery over HTTP `/query-stream` ([`httpserve`]).
    HttpPush,
    /// Rows through one HTTP `/inserts-stream` ([`httpserve`]).
    HttpInserts,
    /// Volume in the embedded log: memory, reopening, start-up
    /// ([`storage`]).
    Storage,
    /// An aggregation's restart: restore time from its local store and
    /// from its changelog ([`restore`]).
    Restore,
}

impl Bench {
    /// Every benchmark, in suite order.
    pub fn all() -> Vec<Bench> {
        Workload::ALL
            .iter()
            .map(|w| Bench::Flow(*w))
            .chain(Bench::SERVING)
            .collect()
    }

    /// The serving benchmarks, in suite order.
    pub const SERVING: [Bench; 9] = [
        Bench::Pull,
        Bench::Push,
        Bench::Startup,
        Bench::StartupServer,
        Bench::HttpPull,
        Bench::HttpPush,
        Bench::HttpInserts,
        Bench::Storage,
        Bench::Restore,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Bench::Flow(w) => w.name(),
            Bench::Pull => "pull",
            Bench::Push => "push",
            Bench::Startup => "startup",
            Bench::StartupServer => "startup-server",
            Bench::HttpPull => "http-pull",
            Bench::HttpPush => "http-push",
            Bench::HttpInserts => "http-inserts",
            Bench::Storage => "storage",
            Bench::Restore => "restore",
        }
    }

    /// The benchmark of a name.
    pub fn parse(name: &str) -> Option<Bench> {
        Bench::SERVING
            .into_iter()
            .find(|b| b.name().eq_ignore_ascii_case(name))
            .or_else(|| Workload::parse(name).map(Bench::Flow))
    }

    /// One line on what it measures.
    pub fn about(self) -> &'static str {
        match self {
            Bench::Flow(w) => w.about(),
            Bench::Pull => "pull queries: random key lookups on a 1M-key CTAS table",
            Bench::Push => "push queries: 100 subscribers to a stream fed 10k events/s",
            Bench::Startup => "start-up time to ready and idle memory of the sluice shell",
            Bench::StartupServer => {
                "start-up time to the first /info answer and idle memory of sluice server"
            }
            Bench::HttpPull => {
                "HTTP pull: key lookups on /query from 64 keep-alive connections, 100k-key CTAS"
            }
            Bench::HttpPush => {
                "HTTP push: 1,000 /query-stream subscribers, 10k rows/s through /inserts-stream"
            }
            Bench::HttpInserts => "HTTP inserts: 1M rows through one /inserts-stream connection",
            Bench::Storage => {
                "storage: records of ~200 bytes into the embedded log, peak memory, reopening and start-up"
            }
            Bench::Restore => {
                "restore: GROUP BY user over 10M records, then restart: restore time and results"
            }
        }
    }
}

/// Input records of a `--check` run when `--events` is not given.
pub const CHECK_EVENTS: u64 = 20_000;

/// Runs `workload` on `events` input records with correctness checking;
/// the error says what differs.
pub fn check(workload: Workload, options: &RunOptions) -> anyhow::Result<RunReport> {
    let mut options = options.clone();
    options.check = true;
    let report = run(workload, &options)?;
    match &report.check {
        Some(Err(e)) => Err(anyhow::anyhow!("{e}")),
        _ => Ok(report),
    }
}

/// Prints reports as a readable table.
pub fn table(reports: &[RunReport]) -> String {
    let mut out = format!(
        "{:<8} {:>9} {:>8} {:>8} {:>10} {:>11} {:>9} {:>9} {:>8} {:>10} {:>7}\n",
        "workload",
        "events",
        "wall_s",
        "cpu_s",
        "ev/s",
        "ev/cpu_s",
        "p50_ms",
        "p99_ms",
        "rss_mb",
        "state_rec",
        "check"
    );
    for r in reports {
        out += &format!(
            "{:<8} {:>9} {:>8.2} {:>8.2} {:>10.0} {:>11.0} {:>9.2} {:>9.2} {:>8.1} {:>10} {:>7}\n",
            r.workload,
            r.events,
            r.wall_s,
            r.cpu_s,
            r.events_per_s(),
            r.events_per_cpu_s(),
            r.p50_ms,
            r.p99_ms,
            r.peak_rss_mb,
            r.internal_records,
            match &r.check {
                None => "-",
                Some(Ok(())) => "pass",
                Some(Err(_)) => "FAIL",
            }
        );
    }
    out
}
