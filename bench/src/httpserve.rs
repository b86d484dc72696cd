//! Serving benchmarks over real HTTP on loopback: the release `sluice
//! server` runs as its own process ([`ServerProcess`]) and the bench talks
//! to it through the blocking client of [`crate::http`], as a ksqlDB client
//! would.
//!
//! - **http-pull**: a `LATEST_BY_OFFSET ... GROUP BY` CTAS table of `keys`
//!   keys, loaded through `/inserts-stream`; then `connections` keep-alive
//!   connections each send `SELECT * FROM t WHERE k = '...';` to `/query`
//!   back to back for `seconds`. Every answer must be the key's row.
//! - **http-push**: `subscribers` connections each hold `SELECT * FROM s
//!   EMIT CHANGES;` on `/query-stream`; a feeder sends `rate` rows/s through
//!   one `/inserts-stream` connection, each row carrying its sequence number
//!   and the time it was written (µs since the run began). Latency is the
//!   time a subscriber reads a row minus that; every subscriber must read
//!   every row, in order.
//! - **http-inserts**: `rows` rows through one `/inserts-stream` connection
//!   as fast as the server acknowledges them; every ack must be
//!   `{"status":"ok","seq":N}` with N counting up.
//!
//! `cpu_s` is the server process's CPU over the measured interval; `rss_mb`
//! its resident memory at the end. The client runs on the same machine and
//! competes with the server for its cores.

use crate::http::{self, ChunkedBody, Conn, ServerProcess};
use crate::procstat;
use crate::report::{micros, round, Percentiles, ServeReport};
use crate::rng::SplitMix64;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Keys of a default `http-pull` run.
pub const DEFAULT_KEYS: u64 = 100_000;
/// Client connections of `http-pull`.
pub const DEFAULT_CONNECTIONS: usize = 64;
/// Seconds of a default `http-pull` or `http-push` run.
pub const DEFAULT_SECONDS: f64 = 10.0;
/// Subscribers of a default `http-push` run.
pub const DEFAULT_SUBSCRIBERS: usize = 1000;
/// Rows per second of a default `http-push` run.
pub const DEFAULT_RATE: u64 = 10_000;
/// Rows of a default `http-inserts` run.
pub const DEFAULT_ROWS: u64 = 1_000_000;
/// How long subscribers may take to be answered, and to receive the last
/// rows after the feeder is done.
const PUSH_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the server may go without acknowledging a written row.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a loaded table may take to hold its last key.
const LOAD_TIMEOUT: Duration = Duration::from_secs(300);
/// Accept header of the delimited (v2) format.
const DELIMITED: &str = "application/vnd.ksqlapi.delimited.v1";

/// What the acks of one `/inserts-stream` request said.
struct Fed {
    /// Rows acknowledged with `"status":"ok"` and the expected seq.
    ok: u64,
    /// The first wrong ack, if any.
    problem: Option<String>,
    /// From the first row written to the last one.
    write_s: f64,
    /// From the first row written to the last ack.
    wall_s: f64,
    /// Rows written more than 1 ms after they were due (paced feeds).
    late: u64,
}

/// Sends `count` rows made by `row(seq)` to `target` through one
/// `/inserts-stream` request, at `rate` rows/s (None: as fast as the
/// connection takes them), and checks every ack.
fn feed(
    addr: SocketAddr,
    target: &str,
    count: u64,
    rate: Option<u64>,
    row: impl Fn(u64) -> String + Send + 'static,
) -> Result<Fed> {
    let (mut writer, reader) = Conn::connect(addr)?.split();
    http::write_request(&mut writer, "POST", "/inserts-stream", DELIMITED, None)?;
    http::write_chunk(
        &mut writer,
        format!("{}\n", json!({ "target": target })).as_bytes(),
    )?;
    let start = Instant::now();
    let writing = std::thread::Builder::new()
        .name("feeder".into())
        .spawn(move || -> Result<(f64, u64)> {
            let mut buf = Vec::with_capacity(64 * 1024);
            let mut late = 0u64;
            let mut seq = 0u64;
            while seq < count {
                if let Some(rate) = rate {
                    let due = start + Duration::from_secs_f64(seq as f64 / rate as f64);
                    let now = Instant::now();
                    if now < due {
                        std::thread::sleep(due - now);
                    } else if now - due > Duration::from_millis(1) {
                        late += 1;
                    }
                    // Every row due by now goes in this chunk.
                    let due_now = ((start.elapsed().as_secs_f64() * rate as f64) as u64 + 1)
                        .clamp(seq + 1, count);
                    while seq < due_now {
                        buf.extend_from_slice(row(seq).as_bytes());
                        buf.push(b'\n');
                        seq += 1;
                    }
                } else {
                    while seq < count && buf.len() < 60 * 1024 {
                        buf.extend_from_slice(row(seq).as_bytes());
                        buf.push(b'\n');
                        seq += 1;
                    }
                }
                http::write_chunk(&mut writer, &buf)?;
                buf.clear();
            }
            let write_s = start.elapsed().as_secs_f64();
            http::write_chunk(&mut writer, b"")?;
            writer.flush()?;
            Ok((write_s, late))
        })
        .context("starting the feeder")?;

    let mut reader = reader;
    // A server that stops acknowledging fails the run instead of hanging it.
    reader.get_ref().set_read_timeout(Some(ACK_TIMEOUT))?;
    let head = http::read_head(&mut reader)?;
    if head.status != 200 {
        bail!("/inserts-stream answered {}", head.status);
    }
    let mut acks = BufReader::new(ChunkedBody::new(reader));
    let (mut ok, mut problem) = (0u64, None);
    let mut line = String::new();
    while ok < count {
        line.clear();
        if acks.read_line(&mut line)? == 0 {
            problem.get_or_insert_with(|| format!("the acks ended after {ok} of {count}"));
            break;
        }
        let ack: Value = serde_json::from_str(line.trim())
            .with_context(|| format!("an ack that is not JSON: {line}"))?;
        if ack["status"] == "ok" && ack["seq"] == json!(ok) {
            ok += 1;
        } else {
            problem = Some(format!("ack {ok} was {}", line.trim()));
            break;
        }
    }
    let wall_s = start.elapsed().as_secs_f64();
    let (write_s, late) = writing
        .join()
        .map_err(|_| anyhow!("the feeder panicked"))??;
    Ok(Fed {
        ok,
        problem,
        write_s,
        wall_s,
        late,
    })
}

/// The key and value of pull row `i`.
fn kv(i: u64) -> (String, i64) {
    (format!("k{i:07}"), i as i64 * 3 + 1)
}

/// One pull lookup of `key`: its latency, or what was wrong with the answer.
fn lookup(conn: &mut Conn, key: &str) -> Result<std::result::Result<Value, String>> {
    let body =
        json!({"ksql": format!("SELECT * FROM t WHERE k = '{key}';"), "streamsProperties": {}})
            .to_string();
    let (status, out) = conn.request(
        "POST",
        "/query",
        "application/vnd.ksql.v1+json",
        body.as_bytes(),
    )?;
    if status != 200 {
        return Ok(Err(format!(
            "{key}: status {status}: {}",
            String::from_utf8_lossy(&out)
        )));
    }
    let v: Value = serde_json::from_slice(&out)
        .with_context(|| format!("{key}: {}", String::from_utf8_lossy(&out)))?;
    Ok(match v.as_array().map(|a| a.as_slice()) {
        Some([_, row]) => Ok(row["row"]["columns"].clone()),
        Some([_]) => Ok(Value::Null),
        _ => Err(format!("{key}: {v}")),
    })
}

/// The `http-pull` benchmark.
pub fn pull(keys: u64, connections: usize, seconds: f64, seed: u64) -> Result<ServeReport> {
    if keys == 0 || connections == 0 || seconds <= 0.0 {
        bail!("http-pull needs keys, connections and seconds");
    }
    let server = ServerProcess::start(&http::sluice_binary()?)?;
    let addr = server.addr;
    let mut admin = Conn::connect(addr)?;
    admin.ksql(
        "CREATE STREAM kv (k STRING KEY, v BIGINT) \
         WITH (kafka_topic='kv', value_format='JSON', partitions=1);",
    )?;
    admin.ksql("CREATE TABLE t AS SELECT k, LATEST_BY_OFFSET(v) AS v FROM kv GROUP BY k;")?;
    let fed = feed(addr, "KV", keys, None, |i| {
        let (k, v) = kv(i);
        json!({"K": k, "V": v}).to_string()
    })?;
    if let Some(p) = fed.problem {
        bail!("loading the table: {p}");
    }
    // One partition, in order: the last key there means every key is.
    let (last, last_v) = kv(keys - 1);
    let loading = Instant::now();
    loop {
        if lookup(&mut admin, &last)? == Ok(json!([last, last_v])) {
            break;
        }
        if loading.elapsed() > LOAD_TIMEOUT {
            bail!("the table did not hold {last} within {LOAD_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let load_s = fed.wall_s + loading.elapsed().as_secs_f64();

    let cpu0 = procstat::pid_cpu_s(server.pid())?;
    let start = Instant::now();
    let until = start + Duration::from_secs_f64(seconds);
    let mut threads = Vec::with_capacity(connections);
    for c in 0..connections {
        let mut conn = Conn::connect(addr)?;
        threads.push(
            std::thread::Builder::new()
                .name(format!("pull-{c}"))
                .stack_size(256 * 1024)
                .spawn(move || -> Result<(Vec<u32>, u64, Option<String>)> {
                    let mut rng = SplitMix64::new(seed ^ (c as u64 + 1).wrapping_mul(0x9e37));
                    let (mut lat, mut wrong, mut first) = (Vec::new(), 0u64, None);
                    while Instant::now() < until {
                        let (k, v) = kv(rng.below(keys));
                        let t = Instant::now();
                        let got = lookup(&mut conn, &k)?;
                        lat.push(micros(t.elapsed()));
                        let bad = match got {
                            Ok(row) if row == json!([k, v]) => None,
                            Ok(row) => Some(format!("{k}: expected [{k:?},{v}], got {row}")),
                            Err(e) => Some(e),
                        };
                        if let Some(bad) = bad {
                            wrong += 1;
                            first.get_or_insert(bad);
                        }
                    }
                    Ok((lat, wrong, first))
                })
                .context("starting a client")?,
        );
    }
    let (mut lat, mut wrong, mut problems) = (Vec::new(), 0u64, Vec::new());
    for t in threads {
        let (l, w, p) = t.join().map_err(|_| anyhow!("a client panicked"))??;
        lat.extend(l);
        wrong += w;
        problems.extend(p);
    }
    let wall_s = start.elapsed().as_secs_f64();
    let cpu_s = procstat::pid_cpu_s(server.pid())? - cpu0;
    let rss = procstat::pid_rss_mb(server.pid())?;
    server.stop()?;
    let count = lat.len() as u64;
    let p = Percentiles::of_micros(&mut lat);
    let check = if wrong == 0 && count > 0 {
        Ok(())
    } else {
        Err(format!(
            "{wrong} of {count} answers wrong{}",
            problems
                .first()
                .map(|p| format!(", e.g. {p}"))
                .unwrap_or_default()
        ))
    };
    let mut report = ServeReport {
        workload: "http-pull".into(),
        count,
        unit: "queries".into(),
        wall_s: Some(wall_s),
        cpu_s: Some(cpu_s),
        p50_ms: Some(p.p50_ms),
        p99_ms: Some(p.p99_ms),
        p999_ms: Some(p.p999_ms),
        max_ms: Some(p.max_ms),
        rss_mb: Some(rss),
        check: Some(check),
        ..Default::default()
    };
    let extra = &mut report.extra;
    extra.insert("keys".into(), json!(keys));
    extra.insert("connections".into(), json!(connections));
    extra.insert("load_s".into(), json!(round(load_s, 2)));
    extra.insert(
        "load_rows_per_s".into(),
        json!(round(keys as f64 / fed.wall_s.max(1e-9), 0)),
    );
    Ok(report)
}

/// The `http-inserts` benchmark.
pub fn inserts(rows: u64) -> Result<ServeReport> {
    if rows == 0 {
        bail!("http-inserts needs rows");
    }
    let server = ServerProcess::start(&http::sluice_binary()?)?;
    Conn::connect(server.addr)?.ksql(
        "CREATE STREAM ins (id STRING KEY, seq BIGINT, payload STRING) \
         WITH (kafka_topic='ins', value_format='JSON', partitions=1);",
    )?;
    let cpu0 = procstat::pid_cpu_s(server.pid())?;
    let fed = feed(server.addr, "INS", rows, None, |i| {
        format!(
            "{{\"ID\":\"id-{}\",\"SEQ\":{i},\"PAYLOAD\":\"row {i} of the inserts benchmark\"}}",
            i % 1000
        )
    })?;
    let cpu_s = procstat::pid_cpu_s(server.pid())? - cpu0;
    let rss = procstat::pid_rss_mb(server.pid())?;
    server.stop()?;
    let check = match &fed.problem {
        None if fed.ok == rows => Ok(()),
        None => Err(format!("{} of {rows} acks", fed.ok)),
        Some(p) => Err(p.clone()),
    };
    let mut report = ServeReport {
        workload: "http-inserts".into(),
        count: fed.ok,
        unit: "rows".into(),
        wall_s: Some(fed.wall_s),
        cpu_s: Some(cpu_s),
        rss_mb: Some(rss),
        check: Some(check),
        ..Default::default()
    };
    report
        .extra
        .insert("write_s".into(), json!(round(fed.write_s, 3)));
    Ok(report)
}

/// A push query's rows, read line by line from its chunked body.
type RowLines = BufReader<ChunkedBody<BufReader<TcpStream>>>;

/// What one push subscriber read.
#[derive(Default)]
struct Seen {
    latencies: Vec<u32>,
    delivered: u64,
    out_of_order: u64,
    problem: Option<String>,
}

/// Opens one push query and reads `events` rows (or until its socket is
/// shut down), reporting to `ready` once the query has answered.
fn subscriber(
    addr: SocketAddr,
    events: u64,
    base: Instant,
    ready: mpsc::Sender<Result<TcpStream, String>>,
) -> Seen {
    let mut seen = Seen::default();
    let opened = (|| -> Result<(RowLines, usize, usize)> {
        let conn = Conn::connect(addr)?;
        let body = json!({"sql": "SELECT * FROM s EMIT CHANGES;", "properties": {}}).to_string();
        let (head, reader) = conn.stream("/query-stream", DELIMITED, body.as_bytes())?;
        let handle = reader.get_ref().try_clone()?;
        if head.status != 200 || !head.chunked {
            bail!("/query-stream answered {head:?}");
        }
        let mut rows = BufReader::new(ChunkedBody::new(reader));
        let mut meta = String::new();
        rows.read_line(&mut meta)?;
        let meta: Value = serde_json::from_str(&meta).context("the metadata line")?;
        let names = meta["columnNames"].as_array().cloned().unwrap_or_default();
        let col = |n: &str| {
            names
                .iter()
                .position(|c| c == n)
                .ok_or_else(|| anyhow!("no column {n} in {meta}"))
        };
        let at = (col("SEQ")?, col("SENT_US")?);
        ready
            .send(Ok(handle))
            .map_err(|_| anyhow!("the run gave up"))?;
        Ok((rows, at.0, at.1))
    })();
    let (mut rows, seq_at, sent_at) = match opened {
        Ok(x) => x,
        Err(e) => {
            ready.send(Err(format!("{e:#}"))).ok();
            return seen;
        }
    };
    seen.latencies.reserve(events as usize);
    let mut line = Vec::new();
    while seen.delivered < events {
        line.clear();
        match rows.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let now = base.elapsed().as_micros() as u64;
        let row: Vec<Value> = match serde_json::from_slice(&line) {
            Ok(r) => r,
            Err(_) => {
                seen.problem
                    .get_or_insert_with(|| format!("a row that is not an array: {line:?}"));
                break;
            }
        };
        let (seq, sent) = (
            row.get(seq_at).and_then(Value::as_u64),
            row.get(sent_at).and_then(Value::as_u64),
        );
        let (Some(seq), Some(sent)) = (seq, sent) else {
            seen.problem
                .get_or_insert_with(|| format!("a row without SEQ and SENT_US: {row:?}"));
            break;
        };
        if seq != seen.delivered {
            seen.out_of_order += 1;
            seen.problem
                .get_or_insert_with(|| format!("expected seq {}, read {seq}", seen.delivered));
        }
        seen.delivered += 1;
        seen.latencies
            .push(micros(Duration::from_micros(now.saturating_sub(sent))));
    }
    seen
}

/// The `http-push` benchmark.
pub fn push(subscribers: usize, rate: u64, seconds: f64) -> Result<ServeReport> {
    let events = (rate as f64 * seconds).round() as u64;
    if subscribers == 0 || events == 0 {
        bail!("http-push needs subscribers, a rate and seconds");
    }
    let server = ServerProcess::start(&http::sluice_binary()?)?;
    let addr = server.addr;
    Conn::connect(addr)?.ksql(
        "CREATE STREAM s (id STRING KEY, seq BIGINT, sent_us BIGINT) \
         WITH (kafka_topic='s', value_format='JSON', partitions=1);",
    )?;
    let base = Instant::now();
    let (ready_tx, ready_rx) = mpsc::channel();
    let mut threads = Vec::with_capacity(subscribers);
    for i in 0..subscribers {
        let ready = ready_tx.clone();
        threads.push(
            std::thread::Builder::new()
                .name(format!("sub-{i}"))
                .stack_size(256 * 1024)
                .spawn(move || subscriber(addr, events, base, ready))
                .context("starting a subscriber")?,
        );
    }
    drop(ready_tx);
    let (mut sockets, mut refused) = (Vec::new(), Vec::new());
    let deadline = Instant::now() + PUSH_TIMEOUT;
    while sockets.len() + refused.len() < subscribers {
        let left = deadline.saturating_duration_since(Instant::now());
        match ready_rx.recv_timeout(left) {
            Ok(Ok(s)) => sockets.push(s),
            Ok(Err(e)) => refused.push(e),
            Err(_) => break,
        }
    }
    let subscribed = sockets.len();
    let subscribe_s = base.elapsed().as_secs_f64();
    let mut report = ServeReport {
        workload: "http-push".into(),
        unit: "deliveries".into(),
        ..Default::default()
    };
    report
        .extra
        .insert("subscribers".into(), json!(subscribers));
    report.extra.insert("subscribed".into(), json!(subscribed));
    report
        .extra
        .insert("subscribe_s".into(), json!(round(subscribe_s, 3)));
    if subscribed < subscribers {
        // Feeding would measure a server that is still opening queries;
        // report how many it answered instead.
        report.check = Some(Err(format!(
            "only {subscribed} of {subscribers} subscribers were answered within \
             {PUSH_TIMEOUT:?}{}",
            refused
                .first()
                .map(|e| format!("; e.g. {e}"))
                .unwrap_or_default()
        )));
        report.rss_mb = procstat::pid_rss_mb(server.pid()).ok();
        drop(server);
        for s in &sockets {
            s.shutdown(Shutdown::Both).ok();
        }
        return Ok(report);
    }

    let cpu0 = procstat::pid_cpu_s(server.pid())?;
    let start = Instant::now();
    let fed = feed(addr, "S", events, Some(rate), move |seq| {
        let sent = base.elapsed().as_micros() as u64;
        format!(
            "{{\"ID\":\"s-{}\",\"SEQ\":{seq},\"SENT_US\":{sent}}}",
            seq % 64
        )
    })?;
    let drain = Instant::now() + PUSH_TIMEOUT;
    while threads.iter().any(|t| !t.is_finished()) && Instant::now() < drain {
        std::thread::sleep(Duration::from_millis(5));
    }
    let wall_s = start.elapsed().as_secs_f64();
    let cpu_s = procstat::pid_cpu_s(server.pid())? - cpu0;
    let rss = procstat::pid_rss_mb(server.pid())?;
    for s in &sockets {
        s.shutdown(Shutdown::Both).ok();
    }
    let (mut lat, mut delivered, mut out_of_order, mut problems) =
        (Vec::new(), 0u64, 0u64, Vec::new());
    for t in threads {
        let seen = t.join().map_err(|_| anyhow!("a subscriber panicked"))?;
        delivered += seen.delivered;
        out_of_order += seen.out_of_order;
        problems.extend(seen.problem);
        lat.extend(seen.latencies);
    }
    server.stop()?;
    let p = Percentiles::of_micros(&mut lat);
    let expected = events * subscribers as u64;
    let check = match (&fed.problem, delivered == expected && out_of_order == 0) {
        (Some(p), _) => Err(format!("feeding: {p}")),
        (None, true) => Ok(()),
        (None, false) => Err(format!(
            "delivered {delivered} of {expected} (rows x subscribers), {out_of_order} out of \
             order{}",
            problems
                .first()
                .map(|p| format!(", e.g. {p}"))
                .unwrap_or_default()
        )),
    };
    report.count = delivered;
    report.wall_s = Some(wall_s);
    report.cpu_s = Some(cpu_s);
    report.p50_ms = Some(p.p50_ms);
    report.p99_ms = Some(p.p99_ms);
    report.p999_ms = Some(p.p999_ms);
    report.max_ms = Some(p.max_ms);
    report.rss_mb = Some(rss);
    report.check = Some(check);
    let extra = &mut report.extra;
    extra.insert("events".into(), json!(events));
    extra.insert("rate".into(), json!(rate));
    extra.insert(
        "achieved_rate".into(),
        json!(round(events as f64 / fed.write_s.max(1e-9), 0)),
    );
    extra.insert("late_writes".into(), json!(fed.late));
    extra.insert("acked".into(), json!(fed.ok));
    Ok(report)
}
