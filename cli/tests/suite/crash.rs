//! Crash safety of persistent aggregations: the shell is killed with
//! SIGKILL while rows stream in and its queries fold them, restarted over
//! the same data directory (or the same Kafka cluster and service id), and
//! killed again; in the end each aggregate
//! (a plain `GROUP BY` and a tumbling-window one) must equal the aggregate
//! of exactly the records the input topic holds: no input lost, none
//! counted twice.
//!
//! A kill can land in the middle of an `INSERT`, so the expected results
//! are computed from the records the input topic holds after the last
//! restart (read back with a pull query), not from what was sent. The
//! same harness also runs without any kill, which checks the harness and
//! the expected values themselves.
//!
//! Each shell reads its statements from a pipe. `DEFINE` statements sent
//! between the others act as progress markers: their "Defined variable"
//! message shows how far the shell has got. (Unix only: the kill is a
//! SIGKILL.)

#![cfg(unix)]

use super::common::{tables, Table, Target, SLUICE};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Distinct keys.
const KEYS: usize = 50;
/// Tumbling window size of `TW`, in milliseconds.
const WINDOW_MS: i64 = 10_000;
/// A progress marker is sent after this many inserts.
const MARK_EVERY: usize = 100;
/// How long one step (a marker showing, the results settling) may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);
/// Pause between two polls of the results.
const POLL: Duration = Duration::from_millis(100);
/// Mismatched results unchanged for this long are final.
const SETTLED: Duration = Duration::from_secs(2);
/// On Kafka, the last shell first waits for the killed ones to leave the
/// queries' consumer groups (a session timeout) before it takes over.
const SETTLED_ON_KAFKA: Duration = Duration::from_secs(20);

/// The streams and tables; topic names start with `prefix`.
fn setup(prefix: &str) -> String {
    format!(
        "
SET 'auto.offset.reset'='earliest';
SET 'ksql.output.topic.name.prefix'='{prefix}';
CREATE STREAM s (k STRING KEY, seq BIGINT, v BIGINT, ts BIGINT)
  WITH (kafka_topic='{prefix}s', value_format='JSON', partitions=2, timestamp='ts');
CREATE TABLE t AS SELECT k, COUNT(*) AS n, SUM(v) AS total FROM s GROUP BY k;
CREATE TABLE tw AS SELECT k, COUNT(*) AS n, SUM(v) AS total
  FROM s WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY k;
"
    )
}

/// One input record: key, sequence number, value, timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Input {
    key: usize,
    seq: i64,
    v: i64,
    ts: i64,
}

/// The `i`-th record of the deterministic input: keys visited in a
/// shuffled order, values of both signs, timestamps always increasing.
fn input(i: usize) -> Input {
    Input {
        key: (i * 7 + i / KEYS) % KEYS,
        seq: i as i64,
        v: (i as i64 * 37) % 1_000 - 300,
        ts: 1_000 + i as i64 * 10,
    }
}

fn insert(r: &Input) -> String {
    format!(
        "INSERT INTO s (k, seq, v, ts) VALUES ('k{}', {}, {}, {});\n",
        r.key, r.seq, r.v, r.ts
    )
}

/// The statement whose output marks that the shell got to it, and the
/// text that output contains.
fn marker(name: &str) -> (String, String) {
    (
        format!("DEFINE {name} = '1';\n"),
        format!("Defined variable {}", name.to_ascii_uppercase()),
    )
}

/// A `sluice` shell (over a data directory or Kafka) reading statements
/// from a pipe. Dropping it kills the process (SIGKILL) and reaps it.
struct Shell {
    child: Child,
    /// The pipe to the shell's stdin, while no writer thread holds it.
    stdin: Option<ChildStdin>,
    /// Writes a batch of statements without blocking the test; gives the
    /// pipe back when done (or when the shell is gone).
    writer: Option<JoinHandle<ChildStdin>>,
    /// The shell's stdout, line by line.
    lines: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
}

impl Shell {
    fn start(target: &Target) -> Shell {
        let mut child = Command::new(SLUICE)
            .args(target.args())
            .env_remove("SLUICE_DATA_DIR")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting sluice");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Shell {
            stdin: child.stdin.take(),
            child,
            writer: None,
            lines,
            stderr: Some(stderr),
        }
    }

    /// Starts writing `text` to the shell on a thread of its own.
    fn send(&mut self, text: String) {
        self.join_writer();
        let mut stdin = self.stdin.take().expect("the shell's stdin");
        self.writer = Some(std::thread::spawn(move || {
            // A killed shell closes the pipe: the rest is simply not sent.
            let _ = stdin.write_all(text.as_bytes());
            let _ = stdin.flush();
            stdin
        }));
    }

    fn join_writer(&mut self) {
        if let Some(w) = self.writer.take() {
            self.stdin = Some(w.join().expect("the writer thread"));
        }
    }

    /// The stdout lines up to the one containing `needle` (excluded);
    /// panics if it does not show within [`STEP_TIMEOUT`].
    fn until(&mut self, needle: &str) -> Vec<String> {
        let deadline = Instant::now() + STEP_TIMEOUT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return seen,
                Ok(line) => seen.push(line),
                Err(e) => {
                    let why = match e {
                        RecvTimeoutError::Timeout => format!("not within {STEP_TIMEOUT:?}"),
                        RecvTimeoutError::Disconnected => "the shell exited".to_string(),
                    };
                    let stderr = self.kill_and_stderr();
                    let tail = seen[seen.len().saturating_sub(20)..].join("\n");
                    panic!("waiting for {needle:?}: {why}\n--- stdout (end):\n{tail}\n--- stderr:\n{stderr}");
                }
            }
        }
    }

    /// Runs `sql` and returns the tables it printed.
    fn query(&mut self, sql: &str, mark: &str) -> Vec<Table> {
        let (statement, shows) = marker(mark);
        self.send(format!("{sql}\n{statement}"));
        let out = self.until(&shows);
        tables(&out.join("\n"))
    }

    /// SIGKILL, then what the shell wrote to stderr.
    fn kill_and_stderr(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.join_writer();
        self.stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default()
    }

    /// Ends the shell's input and waits for it to exit by itself.
    fn exit(mut self) {
        self.join_writer();
        drop(self.stdin.take());
        let deadline = Instant::now() + STEP_TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("polling sluice") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "the shell did not exit at end of input"
            );
            std::thread::sleep(POLL);
        };
        assert!(status.success(), "the shell failed: {status}");
    }

    /// Kills the shell with SIGKILL, checking that it was still running
    /// (so the kill really interrupted it).
    fn crash(mut self) {
        assert!(
            self.child.try_wait().expect("polling sluice").is_none(),
            "the shell exited before it was killed"
        );
        self.child.kill().expect("sending SIGKILL");
        let status = self.child.wait().expect("reaping sluice");
        assert_eq!(status.signal(), Some(9), "not killed by SIGKILL: {status}");
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Per-key and per-(key, window start) (count, sum).
type Totals = BTreeMap<String, (i64, i64)>;
type WindowTotals = BTreeMap<(String, i64), (i64, i64)>;

fn int(cell: &str) -> i64 {
    cell.parse()
        .unwrap_or_else(|_| panic!("not an integer: {cell:?}"))
}

fn expected(records: &[Input]) -> (Totals, WindowTotals) {
    let mut plain = Totals::new();
    let mut windowed = WindowTotals::new();
    for r in records {
        let key = format!("k{}", r.key);
        let start = r.ts - r.ts.rem_euclid(WINDOW_MS);
        for e in [
            plain.entry(key.clone()).or_default(),
            windowed.entry((key, start)).or_default(),
        ] {
            e.0 += 1;
            e.1 += r.v;
        }
    }
    (plain, windowed)
}

/// What the two tables hold now, read with pull queries.
fn actual(shell: &mut Shell, poll: usize) -> (Totals, WindowTotals) {
    let found = shell.query(
        "SELECT k, n, total FROM t;\nSELECT k, WINDOWSTART, n, total FROM tw;",
        &format!("poll_{poll}"),
    );
    assert_eq!(found.len(), 2, "expected two tables: {found:?}");
    assert_eq!(found[0].header, ["K", "N", "TOTAL"]);
    assert_eq!(found[1].header, ["K", "WINDOWSTART", "N", "TOTAL"]);
    let plain = found[0]
        .rows
        .iter()
        .map(|r| (r[0].clone(), (int(&r[1]), int(&r[2]))))
        .collect();
    let windowed = found[1]
        .rows
        .iter()
        .map(|r| ((r[0].clone(), int(&r[1])), (int(&r[2]), int(&r[3]))))
        .collect();
    (plain, windowed)
}

/// The records the input topic holds, read back with a pull query.
fn recovered(shell: &mut Shell) -> Vec<Input> {
    let found = shell.query("SELECT k, seq, v, ts FROM s;", "read_back");
    assert_eq!(found.len(), 1, "expected one table: {found:?}");
    assert_eq!(found[0].header, ["K", "SEQ", "V", "TS"]);
    found[0]
        .rows
        .iter()
        .map(|r| {
            let key = r[0]
                .strip_prefix('k')
                .and_then(|k| k.parse().ok())
                .unwrap_or_else(|| panic!("bad key in {r:?}"));
            let got = Input {
                key,
                seq: int(&r[1]),
                v: int(&r[2]),
                ts: int(&r[3]),
            };
            // Whatever survived is a record that was sent, unaltered.
            assert_eq!(got, input(got.seq as usize), "a record came back changed");
            got
        })
        .collect()
}

/// Lines describing where two maps differ (at most 20).
fn diff<K: Ord + std::fmt::Debug>(
    want: &BTreeMap<K, (i64, i64)>,
    got: &BTreeMap<K, (i64, i64)>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (k, w) in want {
        match got.get(k) {
            Some(g) if g == w => {}
            Some(g) => out.push(format!(
                "{k:?}: (count, sum) expected {w:?}, found {g:?} ({:+} rows)",
                g.0 - w.0
            )),
            None => out.push(format!("{k:?}: expected {w:?}, missing")),
        }
    }
    for (k, g) in got {
        if !want.contains_key(k) {
            out.push(format!("{k:?}: unexpected {g:?}"));
        }
    }
    let n = out.len();
    out.truncate(20);
    if n > out.len() {
        out.push(format!("... {} more", n - out.len()));
    }
    out
}

/// Runs `records` inputs through shells on one target, `chunk` per shell.
/// Chunk `c`
/// goes to shell `c`; for each `(chunk, inserts)` in `kills`, that shell is
/// killed with SIGKILL as soon as it has run `inserts` of its chunk's
/// inserts (while its queries are still at work and the rest of the chunk
/// is in flight). The last shell gets the last chunk and stays up; then the
/// tables must settle on exactly the aggregates of what the input topic
/// holds.
fn run(target: Target, records: usize, chunk: usize, kills: &[(usize, usize)]) {
    let setup = target.scratch().join("setup.sql");
    std::fs::write(&setup, self::setup(target.topic_prefix())).expect("writing setup.sql");
    let out = super::common::sluice_on(&target.args(), &["-f", setup.to_str().unwrap()]);
    assert!(out.success, "setup failed:\n{}\n{}", out.stdout, out.stderr);

    let (records_sent, chunks) = (records, records / chunk);
    let mut shell: Option<Shell> = None;
    for c in 0..chunks {
        // One process at a time opens a data directory: a shell that ran
        // its chunk to the end exits before the next starts (on Kafka, it
        // keeps running alongside, sharing the queries' work).
        if matches!(target, Target::Dir(_)) {
            if let Some(done) = shell.take() {
                done.exit();
            }
        }
        let mut current = Shell::start(&target);
        let mut text = String::new();
        for i in c * chunk..(c + 1) * chunk {
            text.push_str(&insert(&input(i)));
            let done = i + 1 - c * chunk;
            if done.is_multiple_of(MARK_EVERY) {
                text.push_str(&marker(&format!("c{c}_{done}")).0);
            }
        }
        current.send(text);
        match kills.iter().find(|(chunk, _)| *chunk == c) {
            Some(&(_, at)) => {
                assert!(
                    at.is_multiple_of(MARK_EVERY) && at < chunk,
                    "bad kill point {at}"
                );
                current.until(&marker(&format!("c{c}_{at}")).1);
                current.crash();
            }
            None => {
                current.until(&marker(&format!("c{c}_{chunk}")).1);
                shell = Some(current);
            }
        }
    }
    let mut shell = shell.expect("the last chunk runs to its end");

    let records = recovered(&mut shell);
    let mut seqs: Vec<i64> = records.iter().map(|r| r.seq).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(
        seqs.len(),
        records.len(),
        "the input topic holds duplicates"
    );
    // Everything the last shell inserted is there, and some of what the
    // killed ones inserted survived (else the kills proved nothing).
    let last = (chunks - 1) * chunk;
    assert_eq!(
        records.iter().filter(|r| r.seq as usize >= last).count(),
        chunk,
        "inserts of the shell that was not killed are missing"
    );
    assert!(
        records.len() > chunk,
        "no input of the killed shells survived: {} records",
        records.len()
    );
    if kills.is_empty() {
        assert_eq!(records.len(), records_sent);
    }
    let (want_plain, want_windowed) = expected(&records);

    // Poll until both tables match; mismatched results that stop changing
    // (or a deadline) fail the test.
    let settled = match target {
        Target::Dir(_) => SETTLED,
        Target::Kafka { .. } => SETTLED_ON_KAFKA,
    };
    let deadline = Instant::now() + STEP_TIMEOUT + settled;
    let mut previous = None;
    let mut unchanged_since = Instant::now();
    for poll in 0.. {
        let now = actual(&mut shell, poll);
        if now.0 == want_plain && now.1 == want_windowed {
            return;
        }
        if previous.as_ref() != Some(&now) {
            unchanged_since = Instant::now();
        }
        if unchanged_since.elapsed() >= settled || Instant::now() >= deadline {
            let counted: i64 = now.0.values().map(|(n, _)| n).sum();
            panic!(
                "after {} kills, {} input records were counted {counted} times \
                 (kills at {kills:?})\nGROUP BY k:\n{}\nWINDOW TUMBLING GROUP BY k:\n{}",
                kills.len(),
                records.len(),
                diff(&want_plain, &now.0).join("\n"),
                diff(&want_windowed, &now.1).join("\n"),
            );
        }
        previous = Some(now);
        std::thread::sleep(POLL);
    }
}

#[test]
fn uninterrupted_run_counts_every_record_once() {
    run(Target::embedded(), 20_000, 2_500, &[]);
}

#[test]
fn sigkill_mid_stream_loses_and_double_counts_nothing() {
    run(
        Target::embedded(),
        20_000,
        2_500,
        &[
            (0, 1_300),
            (1, 2_200),
            (2, 600),
            (3, 1_900),
            (4, 1_000),
            (5, 2_400),
            (6, 1_500),
        ],
    );
}

/// The same on a real Kafka broker: state restored from the changelog
/// topics, offsets from the consumer groups.
#[test]
fn sigkill_mid_stream_on_kafka_loses_and_double_counts_nothing() {
    run(
        Target::kafka(),
        4_000,
        500,
        &[(0, 300), (2, 100), (3, 400), (5, 200)],
    );
}
