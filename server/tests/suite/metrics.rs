//! `/metrics` scraped while a persistent query and a push query run: the
//! counters move as rows flow, and every line parses as Prometheus' text
//! exposition format (checked by a parser of its grammar written here).

use super::harness::TestServer;
use std::collections::{BTreeMap, HashMap};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One sample: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn is_name(s: &str, colons: bool) -> bool {
    let mut chars = s.chars();
    let first_ok = |c: char| c.is_ascii_alphabetic() || c == '_' || (colons && c == ':');
    match chars.next() {
        Some(c) if first_ok(c) => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colons && c == ':'))
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s.parse::<f64>().map_err(|e| format!("value {s:?}: {e}")),
    }
}

/// Parses `{name="value",...}` at the start of `s`: the labels and the rest.
fn parse_labels(s: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    let mut rest = s.strip_prefix('{').ok_or("labels start with {")?;
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let eq = rest.find('=').ok_or("a label needs =")?;
        let name = &rest[..eq];
        if !is_name(name, false) {
            return Err(format!("bad label name {name:?}"));
        }
        let mut chars = rest[eq + 1..].char_indices();
        if chars.next().map(|(_, c)| c) != Some('"') {
            return Err("a label value is quoted".into());
        }
        let mut value = String::new();
        let mut end = None;
        let mut escaped = false;
        for (i, c) in chars {
            match (escaped, c) {
                (true, '\\') => value.push('\\'),
                (true, '"') => value.push('"'),
                (true, 'n') => value.push('\n'),
                (true, other) => return Err(format!("bad escape \\{other}")),
                (false, '\\') => {
                    escaped = true;
                    continue;
                }
                (false, '"') => {
                    end = Some(eq + 1 + i + 1);
                    break;
                }
                (false, '\n') => return Err("newline in a label value".into()),
                (false, other) => value.push(other),
            }
            escaped = false;
        }
        let end = end.ok_or("an unterminated label value")?;
        if labels.insert(name.to_string(), value).is_some() {
            return Err(format!("label {name} twice"));
        }
        rest = &rest[end..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

/// Parses a whole exposition: every line a comment, a HELP/TYPE line or a
/// sample; each sample's family TYPEd before it, at most one TYPE per
/// family, histogram samples only as `_bucket` (with `le`), `_sum`,
/// `_count`. Returns the samples or the first bad line.
fn parse_exposition(text: &str) -> Result<Vec<Sample>, String> {
    let mut types: HashMap<String, String> = HashMap::new();
    let mut samples = Vec::new();
    assert!(text.ends_with('\n'), "the exposition ends with a newline");
    for (n, line) in text.lines().enumerate() {
        let bad = |why: String| format!("line {}: {why}: {line:?}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let words: Vec<&str> = comment.trim_start().splitn(3, ' ').collect();
            match words.as_slice() {
                ["TYPE", name, kind] => {
                    if !is_name(name, true) {
                        return Err(bad("bad metric name".into()));
                    }
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(kind) {
                        return Err(bad(format!("unknown type {kind}")));
                    }
                    if types.insert(name.to_string(), kind.to_string()).is_some() {
                        return Err(bad("a second TYPE line".into()));
                    }
                }
                ["HELP", name, ..] if !is_name(name, true) => {
                    return Err(bad("bad metric name".into()))
                }
                _ => {}
            }
            continue;
        }
        let name_end = line
            .find(['{', ' '])
            .ok_or_else(|| bad("no value".into()))?;
        let name = &line[..name_end];
        if !is_name(name, true) {
            return Err(bad("bad metric name".into()));
        }
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end..]).map_err(bad)?
        } else {
            (BTreeMap::new(), &line[name_end..])
        };
        let rest = rest
            .strip_prefix(' ')
            .ok_or_else(|| bad("a space before the value".into()))?;
        let mut parts = rest.split(' ');
        let value = parse_value(parts.next().unwrap_or("")).map_err(bad)?;
        if let Some(ts) = parts.next() {
            ts.parse::<i64>()
                .map_err(|e| bad(format!("timestamp: {e}")))?;
        }
        if parts.next().is_some() {
            return Err(bad("trailing text".into()));
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                let base = name.strip_suffix(s)?;
                (types.get(base).map(String::as_str) == Some("histogram")).then_some(base)
            })
            .unwrap_or(name);
        match types.get(family).map(String::as_str) {
            None => return Err(bad("a sample before its TYPE line".into())),
            Some("histogram") if family == name => {
                return Err(bad("a bare histogram sample".into()))
            }
            Some("histogram") if name.ends_with("_bucket") && !labels.contains_key("le") => {
                return Err(bad("a bucket without le".into()))
            }
            _ => {}
        }
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Ok(samples)
}

fn scrape(server: &TestServer) -> Vec<Sample> {
    let out = Command::new("curl")
        .args(["-s", "-S", "-D", "-", "--max-time", "20"])
        .arg(format!("{}/metrics", server.url))
        .output()
        .expect("curl runs");
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("headers and a body");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    parse_exposition(body).unwrap_or_else(|e| panic!("{e}\n{body}"))
}

/// The value of the sample named `name` whose labels include `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

/// Scrapes until `ok` holds of the samples (the persistent query runs in
/// the background), or panics after 20 s with the last scrape.
fn scrape_until(server: &TestServer, what: &str, ok: impl Fn(&[Sample]) -> bool) -> Vec<Sample> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let samples = scrape(server);
        if ok(&samples) {
            return samples;
        }
        assert!(Instant::now() < deadline, "never saw {what}: {samples:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn counters_move_while_queries_run_and_the_text_parses() {
    let server = TestServer::start();
    server.stream_with_rows();
    let created = server.ksql(
        "SET 'auto.offset.reset'='earliest'; \
         CREATE STREAM BIG AS SELECT * FROM S WHERE AMOUNT > 15 EMIT CHANGES;",
    );
    let id = created[0]["commandStatus"]["queryId"]
        .as_str()
        .expect("a query id")
        .to_string();
    let q = [("query_id", id.as_str())];
    let first = scrape_until(&server, "the first rows consumed", |s| {
        value(s, "ksql_query_messages_consumed_total", &q) == Some(2.0)
            && value(s, "ksql_query_messages_produced_total", &q) == Some(1.0)
    });
    assert_eq!(
        value(
            &first,
            "ksql_query_status",
            &[("query_id", &id), ("state", "RUNNING")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &first,
            "ksql_query_status",
            &[("query_id", &id), ("state", "ERROR")]
        ),
        Some(0.0)
    );
    assert_eq!(value(&first, "ksql_num_persistent_queries", &[]), Some(1.0));
    assert_eq!(
        value(&first, "ksql_query_processing_error_total", &q),
        Some(0.0)
    );
    assert!(value(&first, "process_resident_memory_bytes", &[]).unwrap_or(0.0) > 1e6);
    assert!(value(&first, "process_threads", &[]).unwrap_or(0.0) >= 2.0);
    let ksql_ok = [("endpoint", "/ksql"), ("status", "200")];
    let ksql_before = value(&first, "ksql_http_requests_total", &ksql_ok).expect("/ksql counted");
    assert!(ksql_before >= 3.0, "{ksql_before}");

    // More rows: the counters move.
    server.ksql(
        "INSERT INTO S (ID, NAME, AMOUNT) VALUES ('k3', 'cy', 30);\
         INSERT INTO S (ID, NAME, AMOUNT) VALUES ('k4', 'di', 5);",
    );
    let second = scrape_until(&server, "the later rows consumed", |s| {
        value(s, "ksql_query_messages_consumed_total", &q) == Some(4.0)
            && value(s, "ksql_query_messages_produced_total", &q) == Some(2.0)
    });
    assert_eq!(
        value(&second, "ksql_http_requests_total", &ksql_ok),
        Some(ksql_before + 1.0)
    );
    let scrapes = [("endpoint", "/metrics"), ("status", "200")];
    assert!(
        value(&second, "ksql_http_requests_total", &scrapes).unwrap_or(0.0)
            > value(&first, "ksql_http_requests_total", &scrapes).unwrap_or(0.0)
    );

    // A pull query and an unknown path are counted; a push query streaming
    // is active, and its start is in the push histogram.
    let (status, _) = server.post(
        "/query-stream",
        r#"{"sql":"SELECT * FROM S;","properties":{}}"#,
        &[],
    );
    assert_eq!(status, 200);
    let (status, _) = server.curl("/no/such/path", &[]);
    assert_eq!(status, 404);
    let mut push = Command::new("curl")
        .args(["-s", "-N", "--max-time", "30", "-X", "POST"])
        .args([
            "--data-binary",
            r#"{"sql":"SELECT * FROM S EMIT CHANGES;","properties":{}}"#,
        ])
        .arg(format!("{}/query-stream", server.url))
        .stdout(Stdio::null())
        .spawn()
        .expect("curl starts");
    // The query counts as active when it registers, a moment before its
    // start-up latency is recorded: wait for both.
    let third = scrape_until(&server, "the push query active", |s| {
        value(s, "ksql_num_active_push_queries", &[]) == Some(1.0)
            && value(s, "ksql_push_query_requests_latency_seconds_count", &[])
                .is_some_and(|n| n >= 1.0)
    });
    let _ = push.kill();
    let _ = push.wait();
    assert_eq!(
        value(
            &third,
            "ksql_pull_query_requests_latency_seconds_count",
            &[]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &third,
            "ksql_pull_query_requests_latency_seconds_bucket",
            &[("le", "+Inf")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &third,
            "ksql_push_query_requests_latency_seconds_count",
            &[]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &third,
            "ksql_http_requests_total",
            &[("endpoint", "other"), ("status", "404")]
        ),
        Some(1.0)
    );
    scrape_until(&server, "the push query gone", |s| {
        value(s, "ksql_num_active_push_queries", &[]) == Some(0.0)
    });
}

#[test]
fn the_grammar_check_rejects_malformed_lines() {
    let ok = "# HELP a_total x\n# TYPE a_total counter\na_total{q=\"x\\\"y\"} 3\n";
    assert_eq!(parse_exposition(ok).map(|s| s.len()), Ok(1));
    for bad in [
        "a 1\n",
        "# TYPE a gauge\na{q=x} 1\n",
        "# TYPE a gauge\na{q=\"x\"}1\n",
        "# TYPE a gauge\na one\n",
        "# TYPE h histogram\nh 1\n",
        "# TYPE h histogram\nh_bucket 1\n",
        "# TYPE 1a gauge\n",
        "# TYPE a gauge\n# TYPE a gauge\n",
    ] {
        assert!(parse_exposition(bad).is_err(), "{bad:?} parsed");
    }
}

#[test]
fn late_records_dropped_by_a_window_are_counted() {
    let server = TestServer::start();
    server.ksql(
        "CREATE STREAM E (ID STRING KEY, V INT) \
         WITH (kafka_topic='e', value_format='json', partitions=1);",
    );
    let created = server.ksql(
        "SET 'auto.offset.reset'='earliest'; \
         CREATE TABLE C AS SELECT ID, COUNT(*) AS N FROM E \
         WINDOW TUMBLING (SIZE 1 SECOND, GRACE PERIOD 0 SECONDS) GROUP BY ID EMIT CHANGES;",
    );
    let id = created[0]["commandStatus"]["queryId"]
        .as_str()
        .expect("a query id")
        .to_string();
    let q = [("query_id", id.as_str())];
    // The second record closes the first window; the third belongs to it
    // and is late.
    server.ksql(
        "INSERT INTO E (ROWTIME, ID, V) VALUES (10000, 'a', 1);\
         INSERT INTO E (ROWTIME, ID, V) VALUES (20000, 'a', 2);\
         INSERT INTO E (ROWTIME, ID, V) VALUES (10500, 'a', 3);",
    );
    let samples = scrape_until(&server, "three records consumed", |s| {
        value(s, "ksql_query_messages_consumed_total", &q) == Some(3.0)
    });
    assert_eq!(
        value(&samples, "ksql_query_late_records_dropped_total", &q),
        Some(1.0)
    );
    // On time: not counted.
    server.ksql("INSERT INTO E (ROWTIME, ID, V) VALUES (20100, 'a', 4);");
    let samples = scrape_until(&server, "four records consumed", |s| {
        value(s, "ksql_query_messages_consumed_total", &q) == Some(4.0)
    });
    assert_eq!(
        value(&samples, "ksql_query_late_records_dropped_total", &q),
        Some(1.0)
    );
}
