//! Basic authentication and TLS: a server configured from ksqlDB's
//! `authentication.*` and `ssl.*` settings, called with `curl` (with and
//! without credentials; over HTTPS with HTTP/1.1 and HTTP/2 through ALPN,
//! trusting a self-signed certificate made with `rcgen`).

use super::harness::TestServer;
use sluice_server::Security;
use std::path::Path;

const UNAUTHORIZED: &str =
    r#"{"@type":"generic_error","error_code":40100,"message":"Unauthorized"}"#;

fn security(pairs: &[(&str, &str)]) -> Security {
    let settings: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Security::from_settings(&settings).expect("valid security settings")
}

/// Basic authentication over the users in `dir/users.properties`.
fn basic_auth(dir: &Path) -> Security {
    let users = dir.join("users.properties");
    std::fs::write(
        &users,
        "# ksqlDB users\nfred: letmein,admin\nbarney: rubble\n",
    )
    .expect("a users file");
    security(&[
        ("authentication.method", "BASIC"),
        (
            "authentication.basic.users.file",
            users.to_str().expect("UTF-8"),
        ),
    ])
}

/// A self-signed certificate for `localhost` in `dir`: TLS settings
/// naming its PEM files, and the certificate's path for `--cacert`.
fn self_signed(dir: &Path) -> (Security, std::path::PathBuf) {
    let generated =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("a certificate");
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, generated.cert.pem()).expect("cert.pem");
    std::fs::write(&key, generated.signing_key.serialize_pem()).expect("key.pem");
    let settings = security(&[
        ("ssl.certificate.location", cert.to_str().expect("UTF-8")),
        ("ssl.key.location", key.to_str().expect("UTF-8")),
    ]);
    (settings, cert)
}

fn list_streams(server: &TestServer, extra: &[&str]) -> (u16, String) {
    server.post(
        "/ksql",
        r#"{"ksql":"LIST STREAMS;","streamsProperties":{}}"#,
        extra,
    )
}

#[test]
fn basic_auth_turns_away_missing_and_wrong_credentials() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = TestServer::start_with(basic_auth(dir.path()).auth, None);

    let (status, body) = list_streams(&server, &[]);
    assert_eq!((status, body.as_str()), (401, UNAUTHORIZED));
    let (status, body) = list_streams(&server, &["-u", "fred:wrong"]);
    assert_eq!((status, body.as_str()), (401, UNAUTHORIZED));
    let (status, body) = list_streams(&server, &["-u", "wilma:letmein"]);
    assert_eq!((status, body.as_str()), (401, UNAUTHORIZED));

    // The challenge, in the headers of a 401.
    let (status, head) = server.curl("/query", &["-i", "-X", "POST", "-d", "{}"]);
    assert_eq!(status, 401);
    assert!(
        head.to_ascii_lowercase()
            .contains("www-authenticate: basic realm=\"ksqlserver-props\""),
        "{head}"
    );
}

#[test]
fn basic_auth_admits_the_right_credentials() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = TestServer::start_with(basic_auth(dir.path()).auth, None);
    let (status, body) = list_streams(&server, &["-u", "fred:letmein"]);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"@type\":\"streams\""), "{body}");
    let (status, _) = list_streams(&server, &["-u", "barney:rubble", "--http2-prior-knowledge"]);
    assert_eq!(status, 200);
}

#[test]
fn info_and_healthcheck_need_no_credentials() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = TestServer::start_with(basic_auth(dir.path()).auth, None);
    for path in ["/info", "/healthcheck"] {
        let (status, body) = server.curl(path, &[]);
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (status, _) = server.curl("/clusterStatus", &[]);
    assert_eq!(status, 401);
}

#[test]
fn https_answers_over_http1_and_http2() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (tls, ca) = self_signed(dir.path());
    let acceptor = tls
        .tls
        .expect("TLS settings")
        .acceptor()
        .expect("an acceptor");
    let server = TestServer::start_with(None, Some((acceptor, ca)));
    assert!(server.url.starts_with("https://"));

    let (version, status, body) = server.curl_version("/info", &["--http1.1"]);
    assert_eq!((version.as_str(), status), ("1.1", 200), "{body}");
    assert!(body.contains("KsqlServerInfo"), "{body}");
    // HTTP/2 chosen through ALPN.
    let (version, status, body) = server.curl_version("/info", &["--http2"]);
    assert_eq!((version.as_str(), status), ("2", 200), "{body}");

    server.stream_with_rows();
    let (version, status, body) = server.post_version(
        "/query-stream",
        r#"{"sql":"SELECT * FROM S EMIT CHANGES LIMIT 2;","properties":{"auto.offset.reset":"earliest"}}"#,
        &["--http2"],
    );
    assert_eq!((version.as_str(), status), ("2", 200));
    assert!(
        body.ends_with("[\"k1\",\"al\",10]\n[\"k2\",\"bob\",20]\n"),
        "{body}"
    );
}

#[test]
fn https_with_basic_auth() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (tls, ca) = self_signed(dir.path());
    let acceptor = tls
        .tls
        .expect("TLS settings")
        .acceptor()
        .expect("an acceptor");
    let server = TestServer::start_with(basic_auth(dir.path()).auth, Some((acceptor, ca)));
    let (status, body) = list_streams(&server, &["--http2"]);
    assert_eq!((status, body.as_str()), (401, UNAUTHORIZED));
    let (status, body) = list_streams(&server, &["--http2", "-u", "fred:letmein"]);
    assert_eq!(status, 200, "{body}");
}

/// `listeners=http://...,https://...`: both listeners serve the same
/// engine at once (a stream created over one is listed over the other),
/// and each speaks only its own scheme.
#[test]
fn http_and_https_listeners_serve_at_once() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (tls, ca) = self_signed(dir.path());
    let acceptor = tls
        .tls
        .expect("TLS settings")
        .acceptor()
        .expect("an acceptor");
    let urls = sluice_server::listener_urls("http://127.0.0.1:0, https://127.0.0.1:0")
        .expect("two listeners");
    assert_eq!(urls, ["http://127.0.0.1:0", "https://127.0.0.1:0"]);
    let engine = sluice_engine::Engine::open(sluice_engine::EngineConfig {
        background: true,
        ..Default::default()
    })
    .expect("an engine");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let bind = || {
        runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a free port")
    };
    let (plain, secure) = (bind(), bind());
    let plain_port = plain.local_addr().expect("an address").port();
    let secure_port = secure.local_addr().expect("an address").port();
    let state = sluice_server::AppState::new(engine, format!("http://127.0.0.1:{plain_port}/"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        runtime.block_on(sluice_server::serve_listeners(
            state,
            vec![
                sluice_server::Listener {
                    socket: plain,
                    tls: None,
                },
                sluice_server::Listener {
                    socket: secure,
                    tls: Some(acceptor),
                },
            ],
            async {
                let _ = stopped.await;
            },
        ))
    });
    let curl = |args: &[&str]| {
        let out = std::process::Command::new("curl")
            .args(["-s", "--max-time", "20", "-w", "\n%{http_code}"])
            .args(args)
            .output()
            .expect("curl runs");
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let plain_url = format!("http://127.0.0.1:{plain_port}/ksql");
    let secure_url = format!("https://localhost:{secure_port}/ksql");
    let resolve = format!("localhost:{secure_port}:127.0.0.1");
    let created = curl(&[
        "-X",
        "POST",
        "--data-binary",
        r#"{"ksql":"CREATE STREAM BOTH_WAYS (ID STRING) WITH (kafka_topic='b', value_format='json', partitions=1);"}"#,
        &plain_url,
    ]);
    assert!(created.ends_with("\n200"), "{created}");
    let listed = curl(&[
        "--cacert",
        ca.to_str().expect("UTF-8"),
        "--resolve",
        &resolve,
        "-X",
        "POST",
        "--data-binary",
        r#"{"ksql":"LIST STREAMS;"}"#,
        &secure_url,
    ]);
    assert!(listed.ends_with("\n200"), "{listed}");
    assert!(listed.contains("\"name\":\"BOTH_WAYS\""), "{listed}");
    // Plain HTTP to the TLS listener gets no HTTP answer.
    let wrong = curl(&[
        "-X",
        "POST",
        "--data-binary",
        r#"{"ksql":"LIST STREAMS;"}"#,
        &format!("http://127.0.0.1:{secure_port}/ksql"),
    ]);
    assert!(wrong.ends_with("\n000"), "{wrong}");
    let _ = stop.send(());
    server
        .join()
        .expect("the server thread")
        .expect("the server stops cleanly");
}
