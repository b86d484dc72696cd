//! The JDBC source against a real PostgreSQL 15 (Debian's packages),
//! started here in a temporary directory on a free port: rows inserted
//! before, during and while the engine is down all arrive once, in order
//! (incrementing mode), and updated rows and rows sharing a timestamp too
//! (timestamp+incrementing mode).
//! Skipped, with a note, when PostgreSQL's `initdb` is not installed, except
//! under scripts/test.sh (which installs it), where that fails.

use super::{lines, wait_for};
use crate::open;
use serde_json::Value as Json;
use std::path::PathBuf;
use std::process::Command;

/// A PostgreSQL server in a temporary directory, stopped when dropped.
struct Postgres {
    dir: tempfile::TempDir,
    port: u16,
    bin: PathBuf,
    as_root: bool,
}

fn bin_dir() -> Option<PathBuf> {
    let dirs = [
        "/usr/lib/postgresql/15/bin",
        "/usr/lib/postgresql/16/bin",
        "/usr/lib/postgresql/17/bin",
    ];
    dirs.iter()
        .map(PathBuf::from)
        .find(|d| d.join("initdb").exists())
}

impl Postgres {
    fn start() -> Option<Postgres> {
        let Some(bin) = bin_dir() else {
            // scripts/test.sh installs it: there, missing is a failure.
            assert!(
                std::env::var_os("SLUICE_TEST_REQUIRE_POSTGRES").is_none(),
                "PostgreSQL is not installed (apt-get install -y postgresql)"
            );
            eprintln!(
                "note: PostgreSQL is not installed (apt-get install -y postgresql); skipping"
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // PostgreSQL refuses to run as root: run it as the postgres user.
        let as_root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
        let pg = Postgres {
            dir,
            port,
            bin,
            as_root,
        };
        if as_root {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(pg.dir.path())
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown");
        }
        let data = pg.dir.path().join("data");
        pg.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
            ],
        );
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            pg.dir.path().display()
        );
        let log = pg.dir.path().join("log");
        pg.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
                "-w",
                "start",
            ],
        );
        Some(pg)
    }

    fn run(&self, tool: &str, args: &[&str]) -> String {
        let path = self.bin.join(tool);
        let out = if self.as_root {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&path)
                .args(args)
                .current_dir(self.dir.path())
                .output()
                .unwrap()
        } else {
            Command::new(&path).args(args).output().unwrap()
        };
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs SQL with psql; None when it fails (a table not there yet).
    fn try_psql(&self, sql: &str) -> Option<String> {
        let port = self.port.to_string();
        let args = [
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-Atc",
            sql,
        ];
        let path = self.bin.join("psql");
        let out = if self.as_root {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&path)
                .args(args)
                .current_dir(self.dir.path())
                .output()
                .ok()?
        } else {
            Command::new(&path).args(args).output().ok()?
        };
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs SQL with psql.
    fn psql(&self, sql: &str) -> String {
        let port = self.port.to_string();
        self.run(
            "psql",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-Atc",
                sql,
            ],
        )
    }

    fn url(&self) -> String {
        format!("jdbc:postgresql://127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = Command::new(if self.as_root { "runuser" } else { "true" })
            .args(if self.as_root {
                vec!["-u", "postgres", "--"]
            } else {
                vec![]
            })
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", data.to_str().unwrap_or(""), "-m", "immediate", "stop"])
            .output();
    }
}

fn ids(values: &[String]) -> Vec<i64> {
    values
        .iter()
        .map(|v| {
            serde_json::from_str::<Json>(v).unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect()
}

#[test]
fn the_jdbc_source_copies_new_rows_once_in_incrementing_mode_across_a_restart() {
    let Some(pg) = Postgres::start() else { return };
    pg.psql(
        "CREATE TABLE users (id SERIAL PRIMARY KEY, name TEXT, score INT, active BOOLEAN,
           joined TIMESTAMP, balance NUMERIC(10,2));
         INSERT INTO users (name, score, active, joined, balance) VALUES
           ('ann', 10, true, '2024-01-02 03:04:05.5', 1.25), ('bob', NULL, false, NULL, 0),
           ('cy', 3, true, '1970-01-01 00:00:01', 7);",
    );
    let dir = tempfile::tempdir().unwrap();
    let create = format!(
        "CREATE SOURCE CONNECTOR pg WITH (\"connector.class\"='io.confluent.connect.jdbc.JdbcSourceConnector',
           \"connection.url\"='{}', \"connection.user\"='postgres', \"mode\"='incrementing',
           \"incrementing.column.name\"='id', \"table.whitelist\"='users', \"topic.prefix\"='pg_',
           \"poll.interval.ms\"=100, \"batch.max.rows\"=2);",
        pg.url()
    );
    {
        let e = open(dir.path(), true);
        e.execute(&create).unwrap();
        wait_for("3 rows", || lines(&e, "pg_users").len() == 3);
        let first: Json = serde_json::from_str(&lines(&e, "pg_users")[0]).unwrap();
        assert_eq!(
            first,
            serde_json::json!({"id": 1, "name": "ann", "score": 10, "active": true,
                               "joined": 1704164645500i64, "balance": 1.25})
        );
        // SQL reads the rows.
        e.execute(
            "SET 'auto.offset.reset'='earliest';
             CREATE STREAM pg_users (id INT, name STRING, score INT, active BOOLEAN)
               WITH (kafka_topic='pg_users', value_format='JSON');",
        )
        .unwrap();
        pg.psql("INSERT INTO users (name) VALUES ('dee'), ('eve');");
        wait_for("5 rows", || lines(&e, "pg_users").len() == 5);
        let describe = || match e.execute("DESCRIBE CONNECTOR pg;").unwrap().pop().unwrap() {
            sluice_engine::StatementResult::ConnectorDescription(d) => d,
            other => panic!("{other:?}"),
        };
        // The offset is committed just after the records are appended.
        wait_for("the offset", || {
            describe().offset.as_deref() == Some(r#"{"source":"table:users","incrementing":5}"#)
        });
        let d = describe();
        assert_eq!(d.topics, vec!["pg_users"]);
        assert_eq!(d.sources[0].name, "PG_USERS");
    }
    // Rows inserted while the engine is down arrive after the restart.
    pg.psql("INSERT INTO users (name) VALUES ('fay'), ('gus'), ('hal');");
    let e = open(dir.path(), true);
    wait_for("8 rows", || lines(&e, "pg_users").len() == 8);
    pg.psql("INSERT INTO users (name) VALUES ('ivy');");
    wait_for("9 rows", || lines(&e, "pg_users").len() == 9);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(ids(&lines(&e, "pg_users")), (1..=9).collect::<Vec<_>>());
    // A wrong column shows FAILED with PostgreSQL's error, and the rest runs.
    e.execute(&format!(
        "CREATE SOURCE CONNECTOR bad WITH (\"connector.class\"='JdbcSourceConnector',
           \"connection.url\"='{}', \"mode\"='incrementing', \"incrementing.column.name\"='nope',
           \"table.whitelist\"='users', \"topic.prefix\"='bad_', \"poll.interval.ms\"=100);",
        pg.url()
    ))
    .unwrap();
    wait_for("FAILED", || {
        e.connector_status("BAD").unwrap().tasks[0].1.state == "FAILED"
    });
    let trace = e.connector_status("BAD").unwrap().tasks[0]
        .1
        .trace
        .clone()
        .unwrap();
    assert!(trace.contains("nope"), "{trace}");
}

#[test]
fn timestamp_and_incrementing_mode_copies_updates_and_ties_once_across_a_restart() {
    let Some(pg) = Postgres::start() else { return };
    pg.psql(
        "CREATE TABLE events (id SERIAL PRIMARY KEY, note TEXT, updated TIMESTAMP NOT NULL);
         INSERT INTO events (note, updated) VALUES ('a', '2024-01-01'), ('b', '2024-01-01'),
           ('c', '2024-01-01');",
    );
    let dir = tempfile::tempdir().unwrap();
    let seen = |e: &sluice_engine::Engine| -> Vec<String> {
        lines(e, "pg_events")
            .iter()
            .map(|v| {
                let v: Json = serde_json::from_str(v).unwrap();
                format!("{}:{}", v["id"], v["note"].as_str().unwrap())
            })
            .collect()
    };
    {
        let e = open(dir.path(), true);
        // Two rows a poll: the three rows sharing one timestamp straddle
        // a poll, and none is lost or repeated.
        e.execute(&format!(
            "CREATE SOURCE CONNECTOR ev WITH (\"connector.class\"='JdbcSourceConnector',
               \"connection.url\"='{}', \"mode\"='timestamp+incrementing',
               \"incrementing.column.name\"='id', \"timestamp.column.name\"='updated',
               \"table.whitelist\"='events', \"topic.prefix\"='pg_', \"poll.interval.ms\"=100,
               \"batch.max.rows\"=2);",
            pg.url()
        ))
        .unwrap();
        wait_for("3 rows", || seen(&e).len() == 3);
        // An update that moves the timestamp is copied again.
        pg.psql("UPDATE events SET note = 'a2', updated = '2024-01-02' WHERE id = 1;");
        wait_for("the update", || seen(&e).len() == 4);
    }
    pg.psql("INSERT INTO events (note, updated) VALUES ('d', '2024-01-03');");
    let e = open(dir.path(), true);
    wait_for("5 rows", || seen(&e).len() == 5);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(seen(&e), ["1:a", "2:b", "3:c", "1:a2", "4:d"]);
}

#[test]
fn the_jdbc_sink_upserts_a_ctas_into_postgres_and_deletes_on_tombstones() {
    let Some(pg) = Postgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let e = open(dir.path(), true);
    e.execute(&format!(
        "SET 'auto.offset.reset'='earliest';
         CREATE STREAM orders (id INT KEY, region STRING, amount INT)
           WITH (kafka_topic='orders', value_format='JSON', partitions=1);
         CREATE TABLE by_region AS SELECT region, COUNT(*) AS n, SUM(amount) AS total
           FROM orders GROUP BY region;
         CREATE SINK CONNECTOR out WITH (\"connector.class\"='io.confluent.connect.jdbc.JdbcSinkConnector',
           \"connection.url\"='{}', \"topics\"='BY_REGION', \"insert.mode\"='upsert',
           \"pk.mode\"='record_key', \"pk.fields\"='region', \"auto.create\"='true',
           \"delete.enabled\"='true');
         INSERT INTO orders (id, region, amount) VALUES (1, 'eu', 10);
         INSERT INTO orders (id, region, amount) VALUES (2, 'us', 5);
         INSERT INTO orders (id, region, amount) VALUES (3, 'eu', 7);",
        pg.url()
    ))
    .unwrap();
    let rows = || {
        pg.try_psql("SELECT region, \"N\", \"TOTAL\" FROM \"BY_REGION\" ORDER BY region;")
            .unwrap_or_default()
    };
    // Upserted: each region's latest aggregate, once.
    wait_for("the upserted aggregate", || rows() == "eu|2|17\nus|1|5\n");
    e.execute("INSERT INTO orders (id, region, amount) VALUES (4, 'us', 1);")
        .unwrap();
    wait_for("the update", || rows() == "eu|2|17\nus|2|6\n");
    // A tombstone deletes its key's row.
    e.log()
        .append(
            "BY_REGION",
            None,
            sluice_engine::log::Record {
                key: Some(b"us".to_vec()),
                value: None,
                timestamp: 1,
                headers: vec![],
            },
        )
        .unwrap();
    wait_for("the delete", || rows() == "eu|2|17\n");
}
