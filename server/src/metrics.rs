//! `GET /metrics`: the server's and its queries' numbers in Prometheus' text
//! exposition format (version 0.0.4), written here.
//!
//! Names follow ksqlDB's JMX attributes with `ksql_` in front and dashes as
//! underscores (`messages-consumed-total` of query `Q` is
//! `ksql_query_messages_consumed_total{query_id="Q"}`); what ksqlDB has no
//! name for is `ksql_` too (HTTP requests, latency histograms), and the
//! process' numbers use Prometheus' standard `process_` names.

use crate::AppState;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sluice_engine::results::{QueryDescription, QuerySummary};
use sluice_engine::{Engine, StatementResult};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The exposition format's media type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The upper bounds of the latency histograms' buckets, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

/// The query states every query reports a gauge for (1 in its own).
const STATES: [&str; 3] = ["RUNNING", "PAUSED", "ERROR"];

/// The endpoints requests are counted under; any other path counts as
/// `other`, so a client cannot grow the label set.
const ENDPOINTS: [&str; 13] = [
    "/ksql",
    "/query",
    "/query-stream",
    "/close-query",
    "/inserts-stream",
    "/info",
    "/healthcheck",
    "/status",
    "/clusterStatus",
    "/ws/query",
    "/metrics",
    "/",
    "/console",
];

/// A latency histogram: counts per bucket (not cumulative), sum, count.
#[derive(Debug, Default, Clone)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            self.buckets[i] += 1;
        }
        self.sum += seconds;
        self.count += 1;
    }
}

#[derive(Debug, Default)]
struct Counters {
    /// Requests by (endpoint, status code).
    requests: BTreeMap<(&'static str, u16), u64>,
    pull: Histogram,
    push: Histogram,
}

/// What the server counts itself; shared by every handler.
#[derive(Debug, Clone, Default)]
pub struct ServerMetrics {
    inner: Arc<Mutex<Counters>>,
}

/// Which kind of query a latency is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    /// Answered now: the latency is until its rows are ready.
    Pull,
    /// Keeps running: the latency is until it has started.
    Push,
}

impl ServerMetrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one answered request.
    pub fn request(&self, path: &str, status: u16) {
        *self
            .lock()
            .requests
            .entry((endpoint(path), status))
            .or_default() += 1;
    }

    /// Notes how long a query took to answer (pull) or start (push).
    pub fn latency(&self, kind: QueryKind, took: Duration) {
        let mut c = self.lock();
        match kind {
            QueryKind::Pull => c.pull.observe(took.as_secs_f64()),
            QueryKind::Push => c.push.observe(took.as_secs_f64()),
        }
    }
}

/// The label a request path is counted under.
fn endpoint(path: &str) -> &'static str {
    if path.starts_with("/status/") {
        return "/status";
    }
    if path.starts_with("/console/") {
        return "/console";
    }
    ENDPOINTS
        .iter()
        .find(|e| **e == path)
        .copied()
        .unwrap_or("other")
}

/// The middleware counting every request by endpoint and status.
pub async fn count_requests(
    State(metrics): State<ServerMetrics>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    metrics.request(&path, response.status().as_u16());
    response
}

/// GET `/metrics`.
pub async fn handle(State(state): State<AppState>) -> Response {
    let engine = state.engine.clone();
    let queries = tokio::task::spawn_blocking(move || persistent_queries(&engine))
        .await
        .unwrap_or_default();
    let text = render(&state, &queries, &process());
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response()
}

/// Each persistent query with its description (for the counters), or the
/// summary alone when it could not be described (it ended meanwhile).
fn persistent_queries(engine: &Engine) -> Vec<(QuerySummary, Option<QueryDescription>)> {
    let session = engine.session();
    let summaries = match session.execute("SHOW QUERIES;") {
        Ok(mut results) => match results.pop() {
            Some(StatementResult::Queries(q)) => q,
            _ => Vec::new(),
        },
        Err(e) => {
            tracing::warn!(error = %e, "metrics: cannot list the queries");
            Vec::new()
        }
    };
    summaries
        .into_iter()
        .filter(|q| q.query_type == "PERSISTENT")
        .map(|q| {
            let description = match session.execute(&format!("EXPLAIN {};", q.id)) {
                Ok(mut results) => match results.pop() {
                    Some(StatementResult::QueryDescription(d)) => Some(d),
                    _ => None,
                },
                Err(_) => None,
            };
            (q, description)
        })
        .collect()
}

/// The process' resident memory (bytes) and threads, from /proc/self.
#[derive(Debug, Default, Clone, Copy)]
struct Process {
    resident_bytes: Option<u64>,
    threads: Option<u64>,
}

fn process() -> Process {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return Process::default();
    };
    let field = |name: &str| {
        status.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse::<u64>().ok()
        })
    };
    Process {
        resident_bytes: field("VmRSS").map(|kb| kb * 1024),
        threads: field("Threads"),
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes a family's HELP and TYPE lines.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn histogram(out: &mut String, name: &str, help: &str, h: &Histogram) {
    family(out, name, "histogram", help);
    let mut cumulative = 0;
    for (bound, n) in BUCKETS.iter().zip(h.buckets) {
        cumulative += n;
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
    let _ = writeln!(out, "{name}_sum {}", h.sum);
    let _ = writeln!(out, "{name}_count {}", h.count);
}

/// A per-query counter: its name, help and how to read it.
type Counter = (&'static str, &'static str, fn(&QueryDescription) -> u64);

/// The whole exposition.
fn render(
    state: &AppState,
    queries: &[(QuerySummary, Option<QueryDescription>)],
    process: &Process,
) -> String {
    let mut out = String::new();
    family(
        &mut out,
        "ksql_liveness_indicator",
        "gauge",
        "1 while the server is up and answering.",
    );
    out.push_str("ksql_liveness_indicator 1\n");
    family(
        &mut out,
        "ksql_num_persistent_queries",
        "gauge",
        "Persistent queries on this server.",
    );
    let _ = writeln!(out, "ksql_num_persistent_queries {}", queries.len());
    family(
        &mut out,
        "ksql_queries",
        "gauge",
        "Persistent queries by state (ksqlDB's RUNNING-queries, ...).",
    );
    for s in STATES {
        let n = queries.iter().filter(|(q, _)| q.state == s).count();
        let _ = writeln!(out, "ksql_queries{{state=\"{s}\"}} {n}");
    }
    family(
        &mut out,
        "ksql_query_status",
        "gauge",
        "1 for the state each persistent query is in, 0 for the others.",
    );
    for (q, _) in queries {
        for s in STATES {
            let v = u8::from(q.state == s);
            let _ = writeln!(
                out,
                "ksql_query_status{{query_id=\"{}\",state=\"{s}\"}} {v}",
                label(&q.id)
            );
        }
    }
    let counters: [Counter; 4] = [
        (
            "ksql_query_messages_consumed_total",
            "Input records each persistent query read.",
            |d| d.statistics.messages_consumed,
        ),
        (
            "ksql_query_messages_produced_total",
            "Result records each persistent query wrote.",
            |d| d.statistics.messages_produced,
        ),
        (
            "ksql_query_processing_error_total",
            "Records each persistent query skipped as unprocessable (each is in the processing log).",
            |d| d.statistics.processing_errors,
        ),
        (
            "ksql_query_late_records_dropped_total",
            "Records each persistent query dropped because their window had closed.",
            |d| d.statistics.late_records_dropped,
        ),
    ];
    for (name, help, get) in counters {
        family(&mut out, name, "counter", help);
        for (q, d) in queries {
            if let Some(d) = d {
                let _ = writeln!(out, "{name}{{query_id=\"{}\"}} {}", label(&q.id), get(d));
            }
        }
    }
    family(
        &mut out,
        "ksql_num_active_push_queries",
        "gauge",
        "Push queries (and PRINTs) streaming to clients now.",
    );
    let _ = writeln!(out, "ksql_num_active_push_queries {}", state.queries.len());
    let counted = state.metrics.lock();
    family(
        &mut out,
        "ksql_http_requests_total",
        "counter",
        "HTTP requests answered, by endpoint and status code.",
    );
    for ((endpoint, status), n) in &counted.requests {
        let _ = writeln!(
            out,
            "ksql_http_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {n}"
        );
    }
    histogram(
        &mut out,
        "ksql_pull_query_requests_latency_seconds",
        "Time until a pull query's rows were ready.",
        &counted.pull,
    );
    histogram(
        &mut out,
        "ksql_push_query_requests_latency_seconds",
        "Time until a push query had started streaming.",
        &counted.push,
    );
    drop(counted);
    if let Some(bytes) = process.resident_bytes {
        family(
            &mut out,
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
        );
        let _ = writeln!(out, "process_resident_memory_bytes {bytes}");
    }
    if let Some(threads) = process.threads {
        family(
            &mut out,
            "process_threads",
            "gauge",
            "Operating system threads in the process.",
        );
        let _ = writeln!(out, "process_threads {threads}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_a_bounded_set_of_endpoints() {
        assert_eq!(endpoint("/ksql"), "/ksql");
        assert_eq!(endpoint("/status/stream/x/create"), "/status");
        assert_eq!(endpoint("/console/app.js"), "/console");
        assert_eq!(endpoint("/nope/x"), "other");
    }

    #[test]
    fn histograms_are_cumulative() {
        let mut h = Histogram::default();
        h.observe(0.0005);
        h.observe(0.02);
        h.observe(10.0);
        let mut out = String::new();
        histogram(&mut out, "x", "help", &h);
        assert!(out.contains("x_bucket{le=\"0.001\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"0.025\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"5\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"+Inf\"} 3\n"), "{out}");
        assert!(out.contains("x_count 3\n"), "{out}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
