//! Scripts and remote mode: `sluice -f` with a failing third statement,
//! `OUTPUT JSON`, and `sluice URL` against a `sluice server` started here
//! (with basic authentication), which prints what the embedded shell
//! prints for the same statements.

use super::common::{data_dir, sluice, sluice_on, tables, SLUICE};
use super::shell::{last_line, Terminal};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `sluice server` on a free loopback port, killed when dropped.
struct Server {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts a server whose users file holds `alice: secret`.
    fn start() -> Server {
        Server::start_with(false)
    }

    /// The same, over https with a self-signed certificate for 127.0.0.1
    /// (written to `cert.pem` in the server's directory) when `tls`.
    fn start_with(tls: bool) -> Server {
        let dir = data_dir();
        let users = dir.path().join("users.properties");
        std::fs::write(&users, "alice: secret,admin\n").expect("a users file");
        let mut settings = format!(
            "authentication.method=BASIC\nauthentication.basic.users.file={}\n",
            users.display()
        );
        if tls {
            let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()])
                .expect("a certificate");
            let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
            std::fs::write(&cert, generated.cert.pem()).expect("cert.pem");
            std::fs::write(&key, generated.signing_key.serialize_pem()).expect("key.pem");
            settings.push_str(&format!(
                "ssl.certificate.location={}\nssl.key.location={}\n",
                cert.display(),
                key.display()
            ));
        }
        let config = dir.path().join("server.properties");
        std::fs::write(&config, settings).expect("a config file");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let scheme = if tls { "https" } else { "http" };
        let child = Command::new(SLUICE)
            .args(["server", "--listeners"])
            .arg(format!("{scheme}://127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--config-file")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting sluice server");
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the server did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Server {
            child,
            url: format!("{scheme}://127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    /// Runs `sluice URL -u alice -p secret ARGS...`.
    fn shell(&self, args: &[&str]) -> super::common::Output {
        let target = [
            self.url.clone(),
            "-u".into(),
            "alice".into(),
            "-p".into(),
            "secret".into(),
        ];
        sluice_on(&target, args)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Statements whose printed answers do not depend on timing.
const SCRIPT: &str = "\
CREATE STREAM pv (id STRING KEY, page STRING, n INT, tags ARRAY<STRING>)
  WITH (kafka_topic='pv', value_format='JSON', partitions=1);
SET 'auto.offset.reset'='earliest';
DEFINE who = 'u2';
INSERT INTO pv (id, page, n, tags) VALUES ('u1', '/home', 1, ARRAY['a', 'b']);
INSERT INTO pv (id, page, n, tags) VALUES ('${who}', '/about', 2, ARRAY['c']);
SHOW STREAMS;
DESCRIBE pv;
DESCRIBE pv EXTENDED;
SHOW VARIABLES;
SELECT id, UCASE(page) AS page, n * 10 AS n10, tags FROM pv EMIT CHANGES LIMIT 2;
CREATE STREAM home AS SELECT * FROM pv WHERE page = '/home' EMIT CHANGES;
SHOW QUERIES;
EXPLAIN CSAS_HOME_0;
DESCRIBE FUNCTION UCASE;
SHOW TOPICS;
UNSET 'auto.offset.reset';
SELECT * FROM pv
  WHERE page = = 'x' EMIT CHANGES;
";

#[test]
fn remote_mode_prints_what_the_embedded_shell_prints() {
    let server = Server::start();
    let remote = server.shell(&["-e", SCRIPT]);
    let dir = data_dir();
    let embedded = sluice(dir.path(), &["-e", SCRIPT]);
    assert_eq!(remote.code, Some(1), "{}\n{}", remote.stdout, remote.stderr);
    assert_eq!(embedded.code, Some(1));
    assert_eq!(remote.stdout, embedded.stdout);
    assert_eq!(remote.stderr, embedded.stderr);
    // What they printed is the real thing.
    assert_eq!(
        tables(&embedded.stdout)[2].rows(),
        [
            ["u1", "/HOME", "10", "[a, b]"],
            ["u2", "/ABOUT", "20", "[c]"]
        ]
    );
    // DESCRIBE EXTENDED and EXPLAIN (its plan drawn from the server's
    // executionPlan, edges and all) are among what matched.
    for part in [
        "Kafka topic          : pv (partitions: 1, replication: 1)",
        "Local runtime statistics",
        "ID                   : CSAS_HOME_0",
        "Execution plan",
        " > [ Sink ] | name: HOME",
        "     > [ Project ]",
        "         > [ Filter ]",
        "             > [ Source ] | name: PV",
        "| Category    | STRING",
    ] {
        assert!(
            embedded.stdout.contains(part),
            "no {part:?} in {}",
            embedded.stdout
        );
    }
    assert!(
        embedded
            .stderr
            .contains("statement 17 (SELECT * FROM pv) failed:\nline 19:16:"),
        "{}",
        embedded.stderr
    );
}

#[test]
fn remote_mode_needs_the_right_credentials() {
    let server = Server::start();
    let out = server.shell(&["-e", "SHOW STREAMS;"]);
    assert!(out.success, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("Stream Name"), "{}", out.stdout);

    let wrong = sluice_on(
        &[
            server.url.clone(),
            "-u".into(),
            "alice".into(),
            "-p".into(),
            "nope".into(),
        ],
        &["-e", "SHOW STREAMS;"],
    );
    assert_eq!(wrong.code, Some(1));
    assert_eq!(
        wrong.stderr.trim(),
        format!(
            "sluice: the server at {} refused the credentials (HTTP 401)",
            server.url
        )
    );
    let none = sluice_on(
        &["--server".into(), server.url.clone()],
        &["-e", "SHOW STREAMS;"],
    );
    assert_eq!(none.code, Some(1));
    assert!(
        none.stderr.contains("give them with --user"),
        "{}",
        none.stderr
    );
}

#[test]
fn a_server_that_is_down_gets_one_line() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let out = sluice_on(std::slice::from_ref(&url), &["-e", "SHOW STREAMS;"]);
    assert_eq!(out.code, Some(1));
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with(&format!("sluice: could not reach the server at {url}: ")),
        "{}",
        out.stderr
    );
}

#[test]
fn a_script_stops_at_its_failing_third_statement() {
    let dir = data_dir();
    let script = dir.path().join("script.sql");
    std::fs::write(
        &script,
        "CREATE STREAM a (v INT) WITH (kafka_topic='a', value_format='JSON', partitions=1);\n\
         /* the second; with a comment */\n\
         CREATE STREAM b (v INT) WITH (kafka_topic='b', value_format='JSON', partitions=1);\n\
         CREATE STREAM a (v INT)\n  WITH (kafka_topic='a', value_format='JSON', partitions=1);\n\
         CREATE STREAM c (v INT) WITH (kafka_topic='c', value_format='JSON', partitions=1);\n",
    )
    .expect("writing the script");
    let out = sluice(&dir.path().join("data"), &["-f", script.to_str().unwrap()]);
    assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
    // The first two ran and printed as they completed; the fourth never ran.
    assert_eq!(
        out.stdout.matches("Stream created").count(),
        2,
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .starts_with("sluice: statement 3 (CREATE STREAM a (v INT)) failed:\n"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("already exists"), "{}", out.stderr);
    let streams = sluice(&dir.path().join("data"), &["-e", "SHOW STREAMS"]);
    assert!(streams.success, "a last statement without ';' runs");
    let names: Vec<String> = tables(&streams.stdout)[0]
        .rows
        .iter()
        .map(|r| r[0].clone())
        .filter(|n| n != "KSQL_PROCESSING_LOG")
        .collect();
    assert_eq!(names, ["A", "B"]);
}

#[test]
fn output_json_prints_ksqldb_entities() {
    let dir = data_dir();
    let out = sluice(
        dir.path(),
        &[
            "--output",
            "json",
            "-e",
            "CREATE STREAM s (id STRING KEY, v INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);\n\
             SHOW STREAMS;\n\
             OUTPUT TABULAR;\n\
             SHOW STREAMS;",
        ],
    );
    assert!(out.success, "{}\n{}", out.stdout, out.stderr);
    let (json, tabular) = out
        .stdout
        .split_once("Output format set to TABULAR\n")
        .expect("OUTPUT TABULAR answered");
    // Two pretty-printed JSON documents, then a table.
    let docs: Vec<serde_json::Value> = serde_json::Deserializer::from_str(json)
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("JSON documents");
    assert_eq!(docs[0]["@type"], "currentStatus");
    assert_eq!(docs[0]["commandStatus"]["message"], "Stream created");
    assert_eq!(docs[1]["@type"], "streams");
    let names: Vec<&str> = docs[1]["streams"]
        .as_array()
        .expect("a list of streams")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(names.contains(&"S"), "{names:?}");
    assert!(
        tables(tabular)[0].rows().iter().any(|r| r[0] == "S"),
        "{tabular}"
    );
}

#[test]
fn remote_tab_completion_asks_the_server() {
    let server = Server::start();
    let out = server.shell(&[
        "-e",
        "CREATE STREAM clicks (id STRING KEY, url STRING) \
         WITH (kafka_topic='clicks', value_format='JSON', partitions=1);",
    ]);
    assert!(out.success, "{}\n{}", out.stdout, out.stderr);
    let state = data_dir();
    let args = [
        server.url.clone(),
        "-u".to_string(),
        "alice".to_string(),
        "-p".to_string(),
        "secret".to_string(),
    ];
    let Some(term) = Terminal::launch("remote-completion", &args, state.path()) else {
        return;
    };
    assert!(
        term.screen()
            .contains(&format!("Server: {} (ksqlDB API ", server.url)),
        "{}",
        term.screen()
    );
    term.type_text("DESCRIBE CLI");
    term.keys("Tab");
    term.wait_for("the server's stream completed", |s| {
        last_line(s) == "sluice> DESCRIBE CLICKS"
    });
    term.type_text(";");
    term.keys("Enter");
    term.wait_for("the description", |s| {
        s.contains(" URL   | VARCHAR(STRING)")
    });
}

#[test]
fn query_row_limit_stops_a_push_query() {
    let dir = data_dir();
    let out = sluice(
        dir.path(),
        &[
            "--query-row-limit",
            "2",
            "-e",
            "CREATE STREAM s (id STRING KEY, v INT) \
             WITH (kafka_topic='s', value_format='JSON', partitions=1);\n\
             SET 'auto.offset.reset'='earliest';\n\
             INSERT INTO s (id, v) VALUES ('a', 1);\n\
             INSERT INTO s (id, v) VALUES ('b', 2);\n\
             INSERT INTO s (id, v) VALUES ('c', 3);\n\
             SELECT * FROM s EMIT CHANGES;",
        ],
    );
    assert!(out.success, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(tables(&out.stdout)[0].rows(), [["a", "1"], ["b", "2"]]);
    assert!(
        out.stdout.ends_with("Limit Reached\nQuery terminated\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn https_with_a_self_signed_certificate_trusts_the_ca_given() {
    let server = Server::start_with(true);
    let cert = server._dir.path().join("cert.pem");
    // Not trusted by default: one clear line.
    let out = server.shell(&["-e", "SHOW STREAMS;"]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("could not reach the server") && out.stderr.contains("certificate"),
        "{}",
        out.stderr
    );
    // Trusted with --ca-file, or with ssl.ca.location in --config-file.
    let cert_path = cert.to_string_lossy().to_string();
    let out = server.shell(&["--ca-file", &cert_path, "-e", "SHOW STREAMS;"]);
    assert!(out.success, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(tables(&out.stdout)[0].header[0], "Stream Name");
    let config = server._dir.path().join("shell.properties");
    std::fs::write(&config, format!("ssl.ca.location={cert_path}\n")).expect("a config file");
    let config_path = config.to_string_lossy().to_string();
    let out = server.shell(&["--config-file", &config_path, "-e", "SHOW STREAMS;"]);
    assert!(out.success, "{}\n{}", out.stdout, out.stderr);
}

#[test]
fn a_user_without_a_password_is_asked_for_it_without_echo() {
    let server = Server::start();
    let state = data_dir();
    let args = [server.url.clone(), "-u".to_string(), "alice".to_string()];
    let Some(term) = Terminal::spawn("password-prompt", &args, state.path()) else {
        return;
    };
    term.wait_for("the password prompt", |s| {
        last_line(s) == "Enter password for alice:"
    });
    term.type_text("secret");
    term.keys("Enter");
    let screen = term.wait_for("the prompt", |s| last_line(s) == super::shell::PROMPT);
    assert!(!screen.contains("secret"), "{screen}");
    assert!(screen.contains("status RUNNING"), "{screen}");
}

#[test]
fn remote_mode_prints_connector_statements_as_the_embedded_shell_does() {
    let files = data_dir();
    let input = files.path().join("in.txt");
    std::fs::write(&input, "one\n").expect("an input file");
    let create = format!(
        "CREATE SOURCE CONNECTOR IF NOT EXISTS fs WITH (\"connector.class\"='FileStreamSource', \
         \"file\"='{}', \"topic\"='lines');",
        input.display()
    );
    let script = format!(
        "{create}\nPAUSE CONNECTOR fs;\nSHOW CONNECTORS;\n{create}\nDROP CONNECTOR fs;\n\
         DROP CONNECTOR IF EXISTS fs;\nSHOW SOURCE CONNECTORS;"
    );
    let server = Server::start();
    let remote = server.shell(&["-e", &script]);
    let dir = data_dir();
    let embedded = sluice(dir.path(), &["-e", &script]);
    assert_eq!(embedded.code, Some(0), "{}", embedded.stderr);
    assert_eq!(remote.stdout, embedded.stdout, "{}", remote.stderr);
    let t = tables(&embedded.stdout);
    assert_eq!(
        t[0].rows(),
        [["FS", "SOURCE", "FileStreamSource", "PAUSED"]]
    );
    assert!(t[1].rows().is_empty());
    for message in [
        " Created connector FS ",
        " Connector FS paused. ",
        " Connector FS already exists ",
        " Dropped connector \"FS\" ",
        " Connector 'FS' does not exist. ",
    ] {
        assert!(embedded.stdout.contains(message), "{}", embedded.stdout);
    }
}
