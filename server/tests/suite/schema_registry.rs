//! The schema registry API: Confluent's endpoints, JSON, error codes and
//! content type through curl; Confluent's own Python client
//! (`SchemaRegistryClient`, `AvroSerializer`, `AvroDeserializer` from
//! confluent-kafka, installed by `scripts/test.sh`) against it; and the
//! engine's HTTP registry client (`ksql.schema.registry.url`) using it as an
//! external registry.

use serde_json::{json, Value as Json};
use sluice_engine::registry::{codes, Schema, VersionSpec};
use sluice_engine::{Engine, EngineConfig, Error};
use std::process::Command;

/// A registry API served in process over a fresh in-memory engine.
struct Registry {
    url: String,
    engine: Engine,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Registry {
    fn start(auth: Option<std::sync::Arc<sluice_server::auth::BasicAuth>>) -> Registry {
        let engine = Engine::open(EngineConfig::default()).expect("an in-memory engine");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = engine.clone();
        let thread = std::thread::spawn(move || {
            let stopped = async {
                let _ = stopped.await;
            };
            runtime
                .block_on(sluice_server::registry::serve(
                    served, auth, listener, stopped,
                ))
                .expect("the registry serves");
        });
        Registry {
            url,
            engine,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// curl: (status, content type, body).
    fn curl(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String, String) {
        let mut cmd = Command::new("curl");
        cmd.args(["-s", "-S", "--max-time", "20", "-X", method])
            .args(["-w", "\n%{http_code} %{content_type}"]);
        if let Some(b) = body {
            cmd.args([
                "-H",
                "Content-Type: application/vnd.schemaregistry.v1+json",
                "--data-binary",
                b,
            ]);
        }
        let out = cmd
            .arg(format!("{}{path}", self.url))
            .output()
            .expect("curl runs");
        let text = String::from_utf8(out.stdout).expect("UTF-8");
        let (body, tail) = text.rsplit_once('\n').expect("a status line");
        let (code, kind) = tail.split_once(' ').unwrap_or((tail, ""));
        (
            code.parse().expect("a status"),
            kind.to_string(),
            body.to_string(),
        )
    }

    fn json(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Json) {
        let (code, kind, text) = self.curl(method, path, body);
        assert_eq!(kind, "application/vnd.schemaregistry.v1+json", "{path}");
        (
            code,
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON from {path}: {text}")),
        )
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn body(schema: &str) -> String {
    json!({ "schema": schema }).to_string()
}

const V1: &str = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#;
const V2: &str = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"long"},{"name":"b","type":"string","default":""}]}"#;
const BAD: &str = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"c","type":"int"}]}"#;

#[test]
fn confluents_endpoints_json_and_error_codes() {
    let r = Registry::start(None);
    assert_eq!(r.json("GET", "/subjects", None), (200, json!([])));
    assert_eq!(
        r.json("GET", "/schemas/types", None),
        (200, json!(["JSON", "PROTOBUF", "AVRO"]))
    );
    let (code, id) = r.json("POST", "/subjects/s-value/versions", Some(&body(V1)));
    assert_eq!((code, &id), (200, &json!({"id": 1})));
    assert_eq!(
        r.json("GET", "/subjects/s-value/versions/1", None),
        (
            200,
            json!({"subject": "s-value", "version": 1, "id": 1, "schema": V1})
        )
    );
    // The bare schema.
    let (code, _, raw) = r.curl("GET", "/subjects/s-value/versions/latest/schema", None);
    assert_eq!((code, raw.as_str()), (200, V1));
    let (code, _, raw) = r.curl("GET", "/schemas/ids/1/schema", None);
    assert_eq!((code, raw.as_str()), (200, V1));
    assert_eq!(
        r.json("GET", "/schemas/ids/1", None),
        (200, json!({"schema": V1}))
    );
    // Compatibility: BACKWARD by default.
    assert_eq!(
        r.json(
            "POST",
            "/compatibility/subjects/s-value/versions/latest",
            Some(&body(V2))
        ),
        (200, json!({"is_compatible": true}))
    );
    let (code, verbose) = r.json(
        "POST",
        "/compatibility/subjects/s-value/versions/latest?verbose=true",
        Some(&body(BAD)),
    );
    assert_eq!((code, &verbose["is_compatible"]), (200, &json!(false)));
    assert!(
        verbose["messages"][0]
            .as_str()
            .is_some_and(|m| m.contains("/fields/c")),
        "{verbose}"
    );
    let (code, e) = r.json("POST", "/subjects/s-value/versions", Some(&body(BAD)));
    assert_eq!((code, &e["error_code"]), (409, &json!(409)));
    assert_eq!(
        r.json("POST", "/subjects/s-value/versions", Some(&body(V2))),
        (200, json!({"id": 2}))
    );
    assert_eq!(
        r.json("GET", "/subjects/s-value/versions", None),
        (200, json!([1, 2]))
    );
    let (code, found) = r.json("POST", "/subjects/s-value", Some(&body(V1)));
    assert_eq!(
        (code, &found["version"], &found["id"]),
        (200, &json!(1), &json!(1))
    );
    assert_eq!(
        r.json("GET", "/schemas/ids/2/versions", None),
        (200, json!([{"subject": "s-value", "version": 2}]))
    );
    // Errors, with Confluent's codes and statuses.
    for (method, path, b, status, code) in [
        (
            "GET",
            "/subjects/nope/versions",
            None,
            404,
            codes::SUBJECT_NOT_FOUND,
        ),
        (
            "GET",
            "/subjects/s-value/versions/9",
            None,
            404,
            codes::VERSION_NOT_FOUND,
        ),
        (
            "GET",
            "/subjects/s-value/versions/x",
            None,
            422,
            codes::INVALID_VERSION,
        ),
        ("GET", "/schemas/ids/77", None, 404, codes::SCHEMA_NOT_FOUND),
        (
            "POST",
            "/subjects/s-value",
            Some(body(BAD)),
            404,
            codes::SCHEMA_NOT_FOUND,
        ),
        (
            "POST",
            "/subjects/x/versions",
            Some(body("{")),
            422,
            codes::INVALID_SCHEMA,
        ),
        (
            "POST",
            "/subjects/x/versions",
            Some("{}".into()),
            422,
            codes::INVALID_SCHEMA,
        ),
        (
            "GET",
            "/config/s-value",
            None,
            404,
            codes::SUBJECT_LEVEL_COMPATIBILITY_NOT_CONFIGURED,
        ),
        (
            "PUT",
            "/config",
            Some(r#"{"compatibility":"SIDEWAYS"}"#.into()),
            422,
            codes::INVALID_COMPATIBILITY_LEVEL,
        ),
        (
            "DELETE",
            "/subjects/s-value?permanent=true",
            None,
            404,
            codes::SUBJECT_NOT_SOFT_DELETED,
        ),
    ] {
        let (got, e) = r.json(method, path, b.as_deref());
        assert_eq!(
            (got, &e["error_code"]),
            (status, &json!(code)),
            "{method} {path}: {e}"
        );
        assert!(e["message"].is_string(), "{e}");
    }
    // Configuration.
    assert_eq!(
        r.json("GET", "/config", None),
        (200, json!({"compatibilityLevel": "BACKWARD"}))
    );
    assert_eq!(
        r.json(
            "PUT",
            "/config/s-value",
            Some(r#"{"compatibility":"NONE"}"#)
        ),
        (200, json!({"compatibility": "NONE"}))
    );
    assert_eq!(
        r.json("GET", "/config/s-value", None),
        (200, json!({"compatibilityLevel": "NONE"}))
    );
    assert_eq!(
        r.json("GET", "/config/other?defaultToGlobal=true", None),
        (200, json!({"compatibilityLevel": "BACKWARD"}))
    );
    assert_eq!(
        r.json("POST", "/subjects/s-value/versions", Some(&body(BAD))),
        (200, json!({"id": 3}))
    );
    assert_eq!(
        r.json("DELETE", "/config/s-value", None),
        (200, json!({"compatibilityLevel": "NONE"}))
    );
    // Soft, then hard deletes.
    assert_eq!(
        r.json("DELETE", "/subjects/s-value/versions/1", None),
        (200, json!(1))
    );
    assert_eq!(
        r.json("GET", "/subjects/s-value/versions?deleted=true", None),
        (200, json!([1, 2, 3]))
    );
    assert_eq!(
        r.json("DELETE", "/subjects/s-value", None),
        (200, json!([2, 3]))
    );
    assert_eq!(r.json("GET", "/subjects", None), (200, json!([])));
    assert_eq!(
        r.json("GET", "/subjects?deleted=true", None),
        (200, json!(["s-value"]))
    );
    assert_eq!(
        r.json("DELETE", "/subjects/s-value?permanent=true", None),
        (200, json!([1, 2, 3]))
    );
    assert_eq!(
        r.json("GET", "/subjects?deleted=true", None),
        (200, json!([]))
    );
    let (code, _) = r.json("GET", "/no/such/path", None);
    assert_eq!(code, 404);
    // The engine holds what the API registered.
    let local = r.engine.schema_registry().expect("the registry");
    assert!(local.subjects(true).expect("subjects").is_empty());
}

#[test]
fn basic_auth_guards_the_registry() {
    let users = tempfile::NamedTempFile::new().expect("a file");
    std::fs::write(users.path(), "fred: letmein,admin\n").expect("writes");
    let map = [
        ("authentication.method", "BASIC"),
        ("authentication.realm", "KsqlServer-Props"),
        (
            "authentication.basic.users.file",
            users.path().to_str().expect("a path"),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let auth = sluice_server::auth::BasicAuth::from_settings(&map)
        .expect("valid settings")
        .map(std::sync::Arc::new);
    assert!(auth.is_some(), "basic authentication is configured");
    let r = Registry::start(auth);
    let (code, _, _) = r.curl("GET", "/subjects", None);
    assert_eq!(code, 401);
    let out = Command::new("curl")
        .args(["-s", "-u", "fred:letmein", "-w", "\n%{http_code}"])
        .arg(format!("{}/subjects", r.url))
        .output()
        .expect("curl runs");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[]\n200");
}

#[test]
fn the_engine_uses_an_external_registry_through_its_http_client() {
    let r = Registry::start(None);
    let mut properties = std::collections::BTreeMap::new();
    properties.insert("ksql.schema.registry.url".to_string(), r.url.clone());
    let client_engine = Engine::open(EngineConfig {
        properties,
        ..Default::default()
    })
    .expect("an engine");
    let remote = client_engine
        .schema_registry()
        .expect("the external registry");
    let id = remote
        .register("t-value", &Schema::avro(V1))
        .expect("registers");
    // It is in the serving engine's registry, not in a local one.
    let served = r.engine.schema_registry().expect("the served registry");
    assert_eq!(
        served
            .version("t-value", VersionSpec::Latest, false)
            .expect("there")
            .id,
        id
    );
    assert!(client_engine
        .log()
        .describe_topic(sluice_engine::registry::SCHEMAS_TOPIC)
        .expect("describes")
        .is_none());
    assert_eq!(remote.schema_by_id(id).expect("by id").schema, V1);
    assert_eq!(
        remote.versions("t-value", false).expect("versions"),
        vec![1]
    );
    match remote.register("t-value", &Schema::avro(BAD)) {
        Err(Error::Registry(e)) => assert_eq!((e.code, e.status()), (409, 409)),
        other => panic!("expected 409, got {other:?}"),
    }
    match remote.version("gone", VersionSpec::Latest, false) {
        Err(Error::Registry(e)) => assert_eq!(e.code, codes::SUBJECT_NOT_FOUND),
        other => panic!("expected 40401, got {other:?}"),
    }
    assert!(remote
        .check_compatibility("t-value", Some(VersionSpec::Latest), &Schema::avro(V2))
        .expect("checks")
        .is_empty());
    assert_eq!(
        remote.delete_subject("t-value", false).expect("deletes"),
        vec![1]
    );
    assert_eq!(
        remote.subjects(true).expect("subjects"),
        vec!["t-value".to_string()]
    );
}

#[test]
fn confluents_python_client_registers_serializes_and_reads_back() {
    let base = std::env::var("SLUICE_TEST_PYTHONPATH").expect(
        "SLUICE_TEST_PYTHONPATH names no confluent-kafka install: run scripts/test.sh, which installs it",
    );
    let sr = std::env::var("SLUICE_TEST_PY_SR").expect(
        "SLUICE_TEST_PY_SR names no schema registry client dependencies: run scripts/test.sh",
    );
    let r = Registry::start(None);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/schema_registry.py"
    );
    let out = Command::new("python3")
        .args([script, &r.url])
        .env("PYTHONPATH", format!("{base}:{sr}"))
        .output()
        .expect("running python3");
    assert!(
        out.status.success(),
        "the client failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Json = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        seen,
        json!({
            "types": ["AVRO", "JSON", "PROTOBUF"],
            "same_id_again": true,
            "compatible_v2": true,
            "compatible_bad": false,
            "register_bad": [409, 409],
            "ids_differ": true,
            "latest": [2, true, "ref"],
            "versions": [1, 2],
            "lookup_v1": [1, true],
            "by_id": "Pageview",
            "subjects": ["pageviews-value"],
            "missing_subject": [404, 40401],
            "missing_id": [404, 40403],
            "invalid": [422, 42201],
            "level": "NONE",
            "global_level": "BACKWARD",
            "framing": [0, true],
            "round_trip": {"page": "/home", "ms": 10, "ref": "/ads"},
            "soft_delete": [1],
            "after_soft": ["pageviews-value"],
            "hard_delete": [1],
        })
    );
    // What the client registered is in the engine's registry.
    let registry = r.engine.schema_registry().expect("the registry");
    assert_eq!(
        registry
            .versions("pageviews-value", false)
            .expect("versions"),
        vec![1, 2]
    );
}
