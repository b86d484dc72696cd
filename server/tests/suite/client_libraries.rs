//! The other real ksqlDB client libraries, each run by a script in
//! `tests/clients` through one full flow against its own server: info
//! (where the client has it), a stream created, rows inserted, a CSAS, a
//! CTAS with GROUP BY, a push query with LIMIT read to its end, a pull
//! query, LIST STREAMS, SHOW QUERIES, DESCRIBE, a push query closed by id,
//! TERMINATE and DROP. `scripts/test.sh` installs the clients (PyPI
//! `ksqldb`, `pyksql`, `ksql` 0.10.2 and `jetblack-ksql-dbapi` under
//! `target/py-clients`, npm `ksqldb-client` under `target/node-clients`)
//! and names their places in `SLUICE_TEST_*` variables.

use super::harness::TestServer;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;

/// An environment variable `scripts/test.sh` sets.
fn env(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!("{name} is not set: run scripts/test.sh, which installs the client libraries"),
    }
}

/// A Python client's install directory under `target/py-clients`.
fn py_clients(dir: &str) -> String {
    let path = PathBuf::from(env("SLUICE_TEST_PY_CLIENTS")).join(dir);
    assert!(
        path.is_dir(),
        "{} is missing: run scripts/test.sh",
        path.display()
    );
    path.display().to_string()
}

/// Runs `program script URL` against a fresh server with `path_var` set to
/// `path`; the script's stdout is one JSON object.
fn run_client(program: &str, script: &str, path_var: &str, path: &str) -> Value {
    let server = TestServer::start();
    let script = format!("{}/tests/clients/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(program)
        .args([&script, &server.url])
        .env(path_var, path)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"));
    assert!(
        out.status.success(),
        "{script} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// What every client sees of the flow, with `extra` added or replaced.
fn flow(extra: Value) -> Value {
    let mut want = json!({
        "create": "SUCCESS",
        "csas": "CSAS_BIG_",
        "ctas": "CTAS_TOTALS_",
        "push_columns": ["ID", "NAME", "AMOUNT"],
        "push": [["b", "y", 2], ["c", "x", 3]],
        "pull": [["x", 4], ["y", 2]],
        "streams": ["BIG", "KSQL_PROCESSING_LOG", "ORDERS"],
        "queries": ["CSAS_BIG_", "CTAS_TOTALS_"],
        "describe": [["ID", "STRING", "KEY"], ["NAME", "STRING", null], ["AMOUNT", "INTEGER", null]],
        "closed": true,
        "terminated": ["SUCCESS", "SUCCESS"],
        "dropped": ["SUCCESS", "SUCCESS", "SUCCESS"],
    });
    if let (Some(want), Value::Object(extra)) = (want.as_object_mut(), extra) {
        want.extend(extra);
    }
    want
}

/// Three `/inserts-stream` acks of one request.
fn acks() -> Value {
    json!([{"status": "ok", "seq": 0}, {"status": "ok", "seq": 1}, {"status": "ok", "seq": 2}])
}

/// The v1 header's schema of `SELECT * FROM BIG`.
const V1_SCHEMA: &str = "`ID` STRING, `NAME` STRING, `AMOUNT` INTEGER";

#[test]
fn ksqldb_runs_the_flow() {
    let seen = run_client(
        "python3",
        "ksqldb_client.py",
        "PYTHONPATH",
        &py_clients("ksqldb-1.0.1"),
    );
    assert_eq!(seen, flow(json!({"info": null, "inserted": acks()})));
}

#[test]
fn pyksql_runs_the_flow() {
    let seen = run_client(
        "python3",
        "pyksql_client.py",
        "PYTHONPATH",
        &py_clients("pyksql-0.11.0"),
    );
    assert_eq!(
        seen,
        flow(json!({
            "info": sluice_server::info::KSQL_VERSION,
            "inserted": [[], [], []],
            "push_columns": V1_SCHEMA,
            "push_end": {"finalMessage": "Limit Reached"},
            "closed_end": true,
        }))
    );
}

#[test]
fn ksql_0_10_runs_the_flow() {
    let seen = run_client(
        "python3",
        "ksql_0_10_client.py",
        "PYTHONPATH",
        &py_clients("ksql-0.10.2"),
    );
    assert_eq!(
        seen,
        flow(json!({
            "info": sluice_server::info::KSQL_VERSION,
            "inserted": acks(),
            "push_columns": V1_SCHEMA,
            "push_end": {"finalMessage": "Limit Reached"},
            "push_http2": [["b", "y", 2], ["c", "x", 3]],
            "closed_end": true,
        }))
    );
}

#[test]
fn jetblack_ksql_dbapi_runs_the_flow() {
    let python = env("SLUICE_TEST_PY312");
    let seen = run_client(
        &python,
        "jetblack_client.py",
        "PYTHONPATH",
        &py_clients("jetblack-ksql-dbapi-0.2.1"),
    );
    assert_eq!(
        seen,
        flow(json!({
            "info": sluice_server::info::KSQL_VERSION,
            "health": true,
            "status": "SUCCESS",
            "inserted": acks(),
            "push_v1_endpoint": [["b", "y", 2], ["c", "x", 3]],
        }))
    );
}

#[test]
fn npm_ksqldb_client_runs_the_flow() {
    let seen = run_client(
        "node",
        "ksqldb_client.js",
        "NODE_PATH",
        &env("SLUICE_TEST_NODE_CLIENTS"),
    );
    let one = json!([{"status": "ok", "seq": 0}]);
    assert_eq!(
        seen,
        flow(json!({
            "info": null,
            "inserted": [one, one, one],
            "push_query": [["b", "y", 2], ["c", "x", 3]],
        }))
    );
}
