//! A real ksqlDB client, Python's `ksql-python-ng` (with httpx: HTTP/1.1
//! for `/info`, `/ksql` and `/query`, h2c for `/query-stream` and
//! `/inserts-stream`), which `scripts/test.sh` installs into
//! `target/py-clients`.

use super::harness::TestServer;
use serde_json::json;
use std::process::Command;

#[test]
fn ksql_python_ng_creates_inserts_and_queries() {
    let path = std::env::var("SLUICE_TEST_PY_CLIENTS").expect(
        "SLUICE_TEST_PY_CLIENTS names no ksql-python-ng install: run scripts/test.sh, which installs it",
    );
    let server = TestServer::start();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/ksql_python_ng.py"
    );
    let out = Command::new("python3")
        .args([script, &server.url])
        .env("PYTHONPATH", path)
        .output()
        .expect("running python3");
    assert!(
        out.status.success(),
        "the client failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        seen,
        json!({
            "version": sluice_server::info::KSQL_VERSION,
            "create": "SUCCESS",
            "acks": [{"status": "ok", "seq": 0}, {"status": "ok", "seq": 1}],
            "push_http1": [{"ID": "a", "NAME": "x", "AMOUNT": 1}, {"ID": "b", "NAME": "y", "AMOUNT": 2}],
            "push_http2": [{"NAME": "x"}],
            "pull": [{"ID": "a", "AMOUNT": 1}, {"ID": "b", "AMOUNT": 2}],
        })
    );
}
