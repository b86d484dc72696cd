//! Starts a server in process over an in-memory engine on a free loopback
//! port, and runs `curl` against it.

use sluice_engine::{Engine, EngineConfig};
use std::process::Command;

/// A running server; dropping it stops it.
pub struct TestServer {
    /// `http://127.0.0.1:PORT` (or `https://localhost:PORT`).
    pub url: String,
    /// Arguments every curl call gets (`--cacert FILE` for TLS).
    pub curl_base: Vec<String>,
    /// The push queries the server runs.
    pub queries: sluice_server::query::QueryRegistry,
    /// The server's shared push queries.
    pub fanout: sluice_server::fanout::Fanout,
    /// `127.0.0.1:PORT`, for raw HTTP/1.1 clients.
    pub addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server over a fresh in-memory engine.
    pub fn start() -> TestServer {
        TestServer::start_with(None, None)
    }

    /// Starts a server requiring `auth`'s credentials and, given an
    /// acceptor and the CA file, serving TLS (reached as `localhost`).
    pub fn start_with(
        auth: Option<std::sync::Arc<sluice_server::auth::BasicAuth>>,
        tls: Option<(tokio_rustls::TlsAcceptor, std::path::PathBuf)>,
    ) -> TestServer {
        TestServer::start_configured(Default::default(), auth, tls)
    }

    /// Starts a server configured by `properties` as a server's properties
    /// file gives them (`bootstrap.servers` runs it on that Kafka cluster).
    pub fn start_configured(
        properties: std::collections::BTreeMap<String, String>,
        auth: Option<std::sync::Arc<sluice_server::auth::BasicAuth>>,
        tls: Option<(tokio_rustls::TlsAcceptor, std::path::PathBuf)>,
    ) -> TestServer {
        let mut config = EngineConfig {
            background: true,
            ..Default::default()
        };
        config.apply_settings(properties);
        let engine = Engine::open(config).expect("an engine");
        // As the `sluice` binary does.
        sluice_analytic::install(&engine).expect("analytic SQL");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a free port");
        let port = listener.local_addr().expect("an address").port();
        let (url, curl_base, acceptor) = match tls {
            Some((acceptor, ca)) => (
                format!("https://localhost:{port}"),
                vec![
                    "--cacert".to_string(),
                    ca.display().to_string(),
                    "--resolve".to_string(),
                    format!("localhost:{port}:127.0.0.1"),
                ],
                Some(acceptor),
            ),
            None => (format!("http://127.0.0.1:{port}"), Vec::new(), None),
        };
        let state = sluice_server::AppState::new(engine, format!("{url}/")).with_auth(auth);
        let queries = state.queries.clone();
        let fanout = state.fanout.clone();
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let stopped = async {
                let _ = stopped.await;
            };
            runtime
                .block_on(async move {
                    match acceptor {
                        Some(acceptor) => {
                            sluice_server::serve_state_tls(state, listener, acceptor, stopped).await
                        }
                        None => sluice_server::serve_state(state, listener, stopped).await,
                    }
                })
                .expect("the server runs");
        });
        TestServer {
            url,
            curl_base,
            queries,
            fanout,
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `curl -s` with `args` against `path`: (status, body).
    pub fn curl(&self, path: &str, args: &[&str]) -> (u16, String) {
        let (_, status, body) = self.curl_version(path, args);
        (status, body)
    }

    /// The same, with the HTTP version curl spoke ("1.1", "2").
    pub fn curl_version(&self, path: &str, args: &[&str]) -> (String, u16, String) {
        let out = Command::new("curl")
            .args(["-s", "-S", "--max-time", "20"])
            .args(["-w", "\n%{http_version} %{http_code}"])
            .args(&self.curl_base)
            .args(args)
            .arg(format!("{}{path}", self.url))
            .output()
            .expect("curl runs");
        if !out.stderr.is_empty() {
            eprintln!("curl: {}", String::from_utf8_lossy(&out.stderr));
        }
        let text = String::from_utf8(out.stdout).expect("UTF-8");
        let (body, tail) = text.rsplit_once('\n').expect("a status code");
        let (version, code) = tail.split_once(' ').expect("version and status");
        (
            version.to_string(),
            code.parse().expect("a numeric status"),
            body.to_string(),
        )
    }

    /// POSTs a JSON body.
    pub fn post(&self, path: &str, body: &str, extra: &[&str]) -> (u16, String) {
        let (_, status, body) = self.post_version(path, body, extra);
        (status, body)
    }

    /// POSTs a JSON body: (HTTP version, status, body).
    pub fn post_version(&self, path: &str, body: &str, extra: &[&str]) -> (String, u16, String) {
        let mut args = vec![
            "-X",
            "POST",
            "-H",
            "Content-Type: application/vnd.ksql.v1+json",
            "--data-binary",
            body,
        ];
        args.extend_from_slice(extra);
        self.curl_version(path, &args)
    }

    /// POSTs statements to `/ksql`, expecting 200.
    pub fn ksql(&self, sql: &str) -> serde_json::Value {
        let body = serde_json::json!({"ksql": sql, "streamsProperties": {}}).to_string();
        let (status, text) = self.post("/ksql", &body, &[]);
        assert_eq!(status, 200, "{sql} answered {text}");
        serde_json::from_str(&text).expect("a JSON answer")
    }

    /// Creates stream `S` with two rows in it.
    pub fn stream_with_rows(&self) {
        self.ksql(
            "CREATE STREAM S (ID STRING KEY, NAME STRING, AMOUNT INT) \
             WITH (kafka_topic='s', value_format='json', partitions=1);",
        );
        self.ksql(
            "INSERT INTO S (ID, NAME, AMOUNT) VALUES ('k1', 'al', 10);\
             INSERT INTO S (ID, NAME, AMOUNT) VALUES ('k2', 'bob', 20);",
        );
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The query id in a v1 header or v2 metadata line, replaced by `ID` so
/// bodies compare exactly.
pub fn mask_query_id(body: &str) -> String {
    let re_start = body
        .find("\"queryId\":\"")
        .map(|i| i + "\"queryId\":\"".len());
    match re_start {
        Some(start) => {
            let end = start + body[start..].find('"').expect("a closing quote");
            format!("{}ID{}", &body[..start], &body[end..])
        }
        None => body.to_string(),
    }
}
