//! Restarting the shell over the same data directory: streams and
//! persistent queries come back, a query resumes where it stopped (no row
//! lost, none processed twice), and statements that fail exit non-zero.

use super::common::{data_dir, execute, single_table, sluice};

#[test]
fn persistent_query_resumes_after_restart() {
    let dir = data_dir();

    // Process 1 declares, starts the query and writes two rows, then exits
    // (perhaps before its query has read them).
    execute(
        dir.path(),
        "SET 'auto.offset.reset'='earliest';
         CREATE STREAM src (id INT KEY, name STRING)
           WITH (kafka_topic='src', value_format='JSON', partitions=1);
         CREATE STREAM out AS SELECT id, UCASE(name) AS name FROM src EMIT CHANGES;
         INSERT INTO src (id, name) VALUES (1, 'one');
         INSERT INTO src (id, name) VALUES (2, 'two');",
    );

    // Process 2: the query is back and catches up; each row once, in order.
    let out = execute(
        dir.path(),
        "INSERT INTO src (id, name) VALUES (3, 'three');
         SET 'auto.offset.reset'='earliest';
         SELECT * FROM out EMIT CHANGES LIMIT 3;",
    );
    let pushed = single_table(&out.stdout);
    assert_eq!(pushed.header, ["ID", "NAME"]);
    assert_eq!(pushed.rows(), [["1", "ONE"], ["2", "TWO"], ["3", "THREE"]]);

    // Process 3: what is there now is exactly those three rows.
    let out = execute(dir.path(), "SELECT * FROM out;");
    assert_eq!(
        single_table(&out.stdout).rows(),
        [["1", "ONE"], ["2", "TWO"], ["3", "THREE"]]
    );

    // Process 4: a new row flows through the resumed query. Had it started
    // over from the beginning, copies of rows 1-3 would come before row 4.
    let out = execute(
        dir.path(),
        "INSERT INTO src (id, name) VALUES (4, 'four');
         SET 'auto.offset.reset'='earliest';
         SELECT * FROM out EMIT CHANGES LIMIT 4;",
    );
    assert_eq!(
        single_table(&out.stdout).rows(),
        [["1", "ONE"], ["2", "TWO"], ["3", "THREE"], ["4", "FOUR"]]
    );
    let out = execute(dir.path(), "SHOW QUERIES;");
    assert!(out.stdout.contains("CSAS_OUT_"), "{}", out.stdout);
}

#[test]
fn failing_statement_exits_non_zero_with_position() {
    let dir = data_dir();
    let out = sluice(
        dir.path(),
        &[
            "-e",
            "CREATE STREAM s (a INT)\n  WITH (kafka_topic='s' value_format='JSON');",
        ],
    );
    assert!(!out.success, "a syntax error exited 0:\n{}", out.stdout);
    assert_eq!(out.code, Some(1));
    // The missing comma, found at `value_format` on line 2, column 25.
    assert!(
        out.stderr.contains("line 2:25:"),
        "no line and column in the error: {}",
        out.stderr
    );

    // Nothing was created, so the stream can still be declared.
    let out = execute(
        dir.path(),
        "CREATE STREAM s (a INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);",
    );
    assert!(out.stdout.contains("Stream created"), "{}", out.stdout);
}

/// One process per data directory: while a headless process runs on a
/// directory, another `sluice` on it fails naming the holder and changes
/// nothing; once the holder is killed, the next start opens it.
#[test]
fn a_second_process_on_a_data_directory_is_refused() {
    use super::common::SLUICE;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let dir = data_dir();
    let files = data_dir();
    let queries = files.path().join("queries.sql");
    std::fs::write(
        &queries,
        "SET 'auto.offset.reset'='earliest';
         CREATE STREAM src (id INT KEY, name STRING)
           WITH (kafka_topic='src', value_format='JSON', partitions=1);
         CREATE STREAM out AS SELECT id, UCASE(name) AS name FROM src EMIT CHANGES;
         INSERT INTO src (id, name) VALUES (1, 'one');",
    )
    .unwrap();
    let log = files.path().join("headless.log");
    let mut holder = Command::new(SLUICE)
        .args(["--data-dir".as_ref(), dir.path().as_os_str()])
        .args(["--queries-file".as_ref(), queries.as_os_str()])
        .env_remove("SLUICE_DATA_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("starting headless sluice");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&log)
        .unwrap()
        .contains("running headless")
    {
        assert!(Instant::now() < deadline, "headless sluice did not start");
        std::thread::sleep(Duration::from_millis(50));
    }

    let out = sluice(dir.path(), &["-e", "SHOW STREAMS;"]);
    assert!(!out.success, "a second process opened a held directory");
    assert_eq!(out.code, Some(1));
    for needle in [
        "is in use by another process".to_string(),
        format!("pid {}", holder.id()),
        "--queries-file".to_string(),
        "stop it, or connect to it instead".to_string(),
    ] {
        assert!(
            out.stderr.contains(&needle),
            "no {needle:?} in: {}",
            out.stderr
        );
    }
    assert!(!out.stdout.contains("SRC"), "{}", out.stdout);

    // Killed (SIGKILL), the holder leaves its data and no lock behind.
    holder.kill().unwrap();
    holder.wait().unwrap();
    let out = execute(dir.path(), "SELECT * FROM src;");
    assert_eq!(single_table(&out.stdout).rows(), [["1", "one"]]);
    let out = execute(dir.path(), "SHOW QUERIES;");
    assert!(out.stdout.contains("CSAS_OUT_"), "{}", out.stdout);
}

#[test]
fn explain_shows_a_restarted_querys_plan_as_a_tree() {
    let dir = data_dir();
    execute(
        dir.path(),
        "CREATE STREAM a (id INT KEY, v INT) WITH (kafka_topic='a', value_format='JSON', partitions=1);
         CREATE TABLE b (id INT PRIMARY KEY, w INT) WITH (kafka_topic='b', value_format='JSON', partitions=1);
         CREATE TABLE t AS SELECT a.id, COUNT(*) AS n, SUM(b.w) AS s FROM a JOIN b ON a.id = b.id
           WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY a.id EMIT CHANGES;",
    );
    // The query is started again from the data directory: its plan too.
    let out = execute(dir.path(), "EXPLAIN CTAS_T_0;");
    let plan: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|l| *l != "Execution plan")
        .skip(2)
        .take_while(|l| !l.is_empty())
        .collect();
    let shape: Vec<String> = plan
        .iter()
        .map(|l| l.split(" | ").next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        shape,
        [
            " > [ Sink ]",
            "     > [ Project ]",
            "         > [ Aggregate ]",
            "             > [ StreamTableJoin ]",
            "                 > [ Source ]",
            "                 > [ Source ]",
        ],
        "{}",
        out.stdout
    );
    assert!(
        plan[2].contains("window: TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 1 DAY)"),
        "{}",
        plan[2]
    );
    assert!(plan[3].contains("on: A.ID = B.ID"), "{}", plan[3]);
}
