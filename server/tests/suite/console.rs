//! The web console: its files are served with their content types and
//! revalidating cache headers, and `tests/console/drive.js` drives it in
//! headless Chromium (Debian's `chromium`, through npm `playwright-core`,
//! both installed by `scripts/test.sh`): a stream created and rows inserted
//! from the editor, completion and highlighting, a push query's rows
//! arriving live (paused and resumed) and stopped, a persistent query's
//! counters, paused and resumed, its topology drawn (and a join's), the catalog with a
//! topic's preview, the processing log, and the query terminated.
//! Screenshots of each page go to `target/console-screenshots/`.

use super::harness::TestServer;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;

/// The headers and body of a GET (`extra` curl arguments added).
fn get(server: &TestServer, path: &str, extra: &[&str]) -> (String, String) {
    let out = Command::new("curl")
        .args(["-s", "-S", "-D", "-", "--max-time", "20"])
        .args(extra)
        .arg(format!("{}{path}", server.url))
        .output()
        .expect("curl runs");
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("headers and a body");
    (head.to_ascii_lowercase(), body.to_string())
}

#[test]
fn console_files_are_served_with_types_and_cache_headers() {
    let server = TestServer::start();
    let (head, body) = get(&server, "/", &[]);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        head.contains("content-type: text/html; charset=utf-8"),
        "{head}"
    );
    assert!(head.contains("cache-control: no-cache"), "{head}");
    assert!(body.contains("<title>Sluice console</title>"), "{body}");
    for (file, kind) in [
        ("console.css", "text/css"),
        ("api.js", "text/javascript"),
        ("editor.js", "text/javascript"),
        ("pages.js", "text/javascript"),
        ("topology.js", "text/javascript"),
    ] {
        assert!(
            body.contains(&format!("/console/{file}")),
            "{file} not linked"
        );
        let (head, body) = get(&server, &format!("/console/{file}"), &[]);
        assert!(head.starts_with("http/1.1 200"), "{file}: {head}");
        assert!(
            head.contains(&format!("content-type: {kind}")),
            "{file}: {head}"
        );
        assert!(!body.is_empty());
        let etag = head
            .lines()
            .find_map(|l| l.strip_prefix("etag: "))
            .expect("an etag")
            .trim()
            .to_string();
        let (again, body) = get(
            &server,
            &format!("/console/{file}"),
            &["-H", &format!("If-None-Match: {etag}")],
        );
        assert!(again.starts_with("http/1.1 304"), "{file}: {again}");
        assert!(body.is_empty());
    }
    let (head, _) = get(&server, "/console/nope.js", &[]);
    assert!(head.starts_with("http/1.1 404"), "{head}");
}

#[test]
fn the_console_drives_a_stream_a_push_query_and_a_persistent_query() {
    let modules = match std::env::var("SLUICE_TEST_NODE_CLIENTS") {
        Ok(v) if !v.is_empty() => v,
        _ => panic!("SLUICE_TEST_NODE_CLIENTS is not set: run scripts/test.sh, which installs playwright-core"),
    };
    assert!(
        PathBuf::from("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing: run scripts/test.sh, which installs Debian's chromium"
    );
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots");
    std::fs::create_dir_all(&shots).expect("the screenshot directory");
    let server = TestServer::start();
    let script = format!("{}/tests/console/drive.js", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("node")
        .arg(&script)
        .arg(&server.url)
        .arg(&shots)
        .env("NODE_PATH", &modules)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{script} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut seen: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    // PRINT's lines start with the record's time, which varies.
    if let Some(lines) = seen["printed"].as_array_mut() {
        for line in lines {
            let text = line.as_str().unwrap_or_default();
            *line = json!(text.split_once(", ").map_or(text, |(_, rest)| rest));
        }
    }
    eprintln!("{seen:#}");
    let query_id = seen["queryId"].as_str().expect("a query id").to_string();
    assert!(query_id.starts_with("CTAS_TOTALS_"), "{query_id}");
    let bad_id = seen["afterTerminate"][0]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(bad_id.starts_with("CSAS_BADCOPY_"), "{seen}");
    let want = json!({
        "title": "Sluice console",
        "create": "Stream created",
        "completions": ["ORDERSstream"],
        "completed": "SELECT * FROM ORDERS",
        "keywords": ["SELECT", "FROM"],
        "objects": ["ORDERS"],
        "pushColumns": ["ID", "ITEM", "QTY"],
        "rowsWhilePaused": 1,
        "pushRows": [["o3", "fig", "7"], ["o4", "kiwi", "1"]],
        "stopped": "2 rows, done",
        "queryId": query_id,
        "ratesAreNumbers": [true, true],
        "queryRow": [query_id, "PERSISTENT", "RUNNING", "TOTALS", "4", "3", "0", "0", "PauseTerminateTopology"],
        "pausedState": "PAUSED",
        "resumedState": "RUNNING",
        "operators": ["Source", "Filter", "Aggregate", "Project", "Sink"],
        "kinds": ["node source", "node operator", "node stateful", "node operator", "node sink"],
        "edges": 4,
        "joinOperators": ["Source", "Repartition", "Source", "StreamTableJoin", "Project", "Sink"],
        "joinInputs": ["", "0", "", "1, 2", "3", "4"],
        "joinEdges": 5,
        "catalog": [
            "ENRICHED", "KSQL_PROCESSING_LOG", "ORDERS", "TOTALS",
            "ENRICHED", "TOTALS", "default_ksql_processing_log", "orders",
        ],
        "printed": [
            "key: o1, value: {\"ITEM\":\"apple\",\"QTY\":3}, partition: 0",
            "key: o2, value: {\"ITEM\":\"pear\",\"QTY\":5}, partition: 0",
            "key: o3, value: {\"ITEM\":\"fig\",\"QTY\":7}, partition: 0",
            "key: o4, value: {\"ITEM\":\"kiwi\",\"QTY\":1}, partition: 0",
        ],
        "formats": "Key format: KAFKA_STRING · Value format: JSON",
        "columns": ["ID", "ITEM", "QTY"],
        "logColumns": ["LOGGER", "LEVEL", "TIME", "MESSAGE"],
        "logAll": "4 of 4 record(s)",
        "logMatching": "4 of 4 record(s)",
        "logShown": 4,
        "logFiltered": "0 of 4 record(s)",
        "afterTerminate": [bad_id],
        "pageErrors": [],
    });
    for (key, value) in want.as_object().expect("an object") {
        assert_eq!(&seen[key], value, "{key}");
    }
    assert_eq!(
        seen.as_object().map(|o| o.len()),
        want.as_object().map(|o| o.len())
    );
    for page in ["sql", "queries", "topology", "catalog", "log", "terminated"] {
        assert!(shots.join(format!("{page}.png")).is_file(), "no {page}.png");
    }
}
