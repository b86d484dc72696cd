//! A disk that fills up: on a small tmpfs mounted for the test (the tests
//! run as root, as CI does), statements fail with a clear error, a query
//! whose writes fail shows ERROR and resumes once space returns, nothing
//! acknowledged is lost, nothing is counted twice, and a full data
//! directory still opens.

use super::super::open;
use sluice_engine::{Engine, StatementResult};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmpfs of a few megabytes, mounted on a temporary directory for the
/// life of the value.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(megabytes: u32) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "mounting a small tmpfs needs root (the disk-full tests simulate a full disk with one)"
        );
        SmallDisk { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the disk has no room left.
    fn fill(&self) -> PathBuf {
        let path = self.path().join(format!(
            "filler-{}",
            std::fs::read_dir(self.path()).unwrap().count()
        ));
        let mut file = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 4096];
        loop {
            if file.write_all(&block).is_err() {
                break;
            }
        }
        // The last partial block may have filled the final bytes.
        let _ = file.write_all(&block[..1]);
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// The sum of the table's counts, through a pull query.
fn total(e: &Engine) -> i64 {
    match e.execute("SELECT * FROM counts;").unwrap().pop() {
        Some(StatementResult::Rows(r)) => r
            .rows
            .iter()
            .map(|row| match &row[1] {
                sluice_engine::types::Value::BigInt(n) => *n,
                other => panic!("a count: {other:?}"),
            })
            .sum(),
        other => panic!("expected rows, got {other:?}"),
    }
}

/// The id of the one persistent query.
fn query_id(e: &Engine) -> String {
    match e.execute("SHOW QUERIES;").unwrap().pop() {
        Some(StatementResult::Queries(q)) => q.first().expect("a query").id.clone(),
        other => panic!("{other:?}"),
    }
}

/// The state and error message of the one persistent query.
fn query_state(e: &Engine) -> (String, Option<String>) {
    match e.execute("SHOW QUERIES;").unwrap().pop() {
        Some(StatementResult::Queries(q)) => {
            let q = q.first().expect("a query");
            (q.state.clone(), q.error.clone())
        }
        other => panic!("{other:?}"),
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_full_disk_fails_inserts_pauses_queries_and_loses_or_doubles_nothing() {
    let disk = SmallDisk::mount(6);
    let data = disk.path().join("data");
    let e = open(&data, true);
    e.execute(
        "SET 'auto.offset.reset'='earliest';
         CREATE STREAM s (k INT KEY, v STRING) WITH (kafka_topic='s', value_format='JSON', partitions=1);
         CREATE TABLE counts AS SELECT k, COUNT(*) AS n FROM s GROUP BY k;",
    )
    .unwrap();
    // Input waits for the paused query; then the disk fills up.
    let id = query_id(&e);
    e.execute(&format!("PAUSE {id};")).unwrap();
    let pad = "x".repeat(200);
    let mut acknowledged = 0i64;
    for i in 0..5_000 {
        e.execute(&format!("INSERT INTO s (k, v) VALUES ({i}, '{pad}');"))
            .unwrap();
        acknowledged += 1;
    }
    let filler = disk.fill();
    e.execute(&format!("RESUME {id};")).unwrap();

    // The query could not write its results: it shows ERROR with why.
    wait_until("the query shows ERROR", || query_state(&e).0 == "ERROR");
    let (_, error) = query_state(&e);
    assert!(
        error
            .as_deref()
            .is_some_and(|m| m.contains("No space left on device")),
        "{error:?}"
    );

    // Inserts are refused with a clear error once the last free bytes are
    // gone; the ones acknowledged are counted.
    let mut refused = 0;
    for i in 0..20_000 {
        match e.execute(&format!("INSERT INTO s (k, v) VALUES ({i}, '{pad}');")) {
            Ok(_) => acknowledged += 1,
            Err(err) => {
                let message = err.to_string();
                assert!(
                    message.contains("No space left on device"),
                    "a clear error: {message}"
                );
                refused += 1;
                if refused == 20 {
                    break;
                }
            }
        }
    }
    assert_eq!(refused, 20, "the disk stays full");
    // A batch of inserts (as /inserts-stream sends them) stops at the
    // first row the disk refuses: the rows before it are in, no other is.
    let inserter = e.row_inserter("s").unwrap();
    let batch: Vec<String> = (0..200)
        .map(|i| format!(r#"{{"k": {i}, "v": "{pad}"}}"#))
        .collect();
    let outcome = inserter.insert_batch(&batch);
    let message = outcome.error.expect("the disk is full").to_string();
    assert!(message.contains("No space left on device"), "{message}");
    acknowledged += outcome.appended as i64;
    drop(inserter);
    // A statement that changes the catalog fails whole.
    let created = e.execute(
        "CREATE STREAM more (k INT KEY, v STRING) WITH (kafka_topic='more', value_format='JSON', partitions=4);",
    );
    let message = created.expect_err("no room for a new stream").to_string();
    assert!(message.contains("No space left on device"), "{message}");
    assert!(e.execute("DESCRIBE more;").is_err(), "no half-made stream");

    // Space returns: RESUME retries at once (the query would by itself
    // after its backoff), and it counts every acknowledged row once.
    std::fs::remove_file(&filler).unwrap();
    e.execute(&format!("RESUME {id};")).unwrap();
    wait_until("the query runs again", || query_state(&e).0 == "RUNNING");
    wait_until("every row is counted", || total(&e) >= acknowledged);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(total(&e), acknowledged, "no row lost or counted twice");
    for i in 0..10 {
        e.execute(&format!("INSERT INTO s (k, v) VALUES ({i}, 'after');"))
            .unwrap();
    }
    wait_until("new rows are counted", || total(&e) >= acknowledged + 10);
    e.execute(
        "CREATE STREAM more (k INT KEY, v STRING) WITH (kafka_topic='more', value_format='JSON', partitions=4);",
    )
    .unwrap();
    drop(e);

    // A full disk does not stop the data directory from opening.
    let filler = disk.fill();
    let e = open(&data, true);
    wait_until("the restored table answers", || {
        total(&e) == acknowledged + 10
    });
    drop(e);
    std::fs::remove_file(&filler).unwrap();
    let e = open(&data, true);
    wait_until("the restarted table answers", || {
        total(&e) == acknowledged + 10
    });
}
