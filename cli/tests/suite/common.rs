//! Helpers shared by the shell tests: running `sluice` as a subprocess with
//! a timeout, and reading the tables it prints.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The `sluice` binary Cargo built for these tests.
pub const SLUICE: &str = env!("CARGO_BIN_EXE_sluice");

/// How long one subprocess may run before the test gives up on it.
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(30);

/// What a finished `sluice` process printed.
#[derive(Debug)]
pub struct Output {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// A fresh, empty data directory, removed when dropped.
pub fn data_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("sluice-cli-test-")
        .tempdir()
        .expect("creating a temporary data directory")
}

/// The Kafka broker `scripts/test.sh` started for the tests.
pub fn kafka_bootstrap() -> String {
    std::env::var("SLUICE_TEST_BOOTSTRAP").expect(
        "SLUICE_TEST_BOOTSTRAP names no Kafka broker: run scripts/test.sh, which starts one",
    )
}

/// Where a test's `sluice` processes keep their streams, tables and
/// queries: a fresh data directory, or a Kafka cluster under a service id
/// (and topic names) no other test uses.
pub enum Target {
    Dir(tempfile::TempDir),
    Kafka { bootstrap: String, service: String },
}

impl Target {
    pub fn embedded() -> Target {
        Target::Dir(data_dir())
    }

    pub fn kafka() -> Target {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        Target::Kafka {
            bootstrap: kafka_bootstrap(),
            service: format!("t{}x{nanos:x}x{n}_", std::process::id()),
        }
    }

    /// The command-line arguments that select it.
    pub fn args(&self) -> Vec<String> {
        match self {
            Target::Dir(dir) => vec!["--data-dir".into(), dir.path().display().to_string()],
            Target::Kafka { bootstrap, service } => vec![
                "--bootstrap-servers".into(),
                bootstrap.clone(),
                "--service-id".into(),
                service.clone(),
            ],
        }
    }

    /// A prefix that keeps this target's topic names apart from other
    /// tests' on a shared cluster (empty for a data directory).
    pub fn topic_prefix(&self) -> &str {
        match self {
            Target::Dir(_) => "",
            Target::Kafka { service, .. } => service,
        }
    }

    /// Somewhere to put files for the test.
    pub fn scratch(&self) -> std::path::PathBuf {
        match self {
            Target::Dir(dir) => dir.path().to_path_buf(),
            Target::Kafka { service, .. } => {
                let dir = std::env::temp_dir().join(format!("sluice-cli-test-{service}"));
                std::fs::create_dir_all(&dir).expect("creating a scratch directory");
                dir
            }
        }
    }
}

/// Runs `sluice --data-dir DIR ARGS...` with no stdin, killing it (and
/// failing the test) if it runs longer than [`PROCESS_TIMEOUT`].
pub fn sluice(dir: &Path, args: &[&str]) -> Output {
    let base = ["--data-dir".to_string(), dir.display().to_string()];
    sluice_on(&base, args)
}

/// Runs `sluice TARGET-ARGS... ARGS...` like [`sluice`].
pub fn sluice_on(target: &[String], args: &[&str]) -> Output {
    let mut child = Command::new(SLUICE)
        .args(target)
        .args(args)
        .env_remove("SLUICE_DATA_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting sluice");
    // Read both pipes on their own threads so a chatty child never blocks.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for sluice") {
            break status;
        }
        if start.elapsed() > PROCESS_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "sluice {args:?} still running after {PROCESS_TIMEOUT:?}\n--- stdout:\n{}\n--- stderr:\n{}",
                stdout.join().unwrap(),
                stderr.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        success: status.success(),
        code: status.code(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Runs `sluice -e SQL` and insists that it succeeds.
pub fn execute(dir: &Path, sql: &str) -> Output {
    let out = sluice(dir, &["-e", sql]);
    assert!(
        out.success,
        "sluice -e {sql:?} failed ({:?})\n--- stdout:\n{}\n--- stderr:\n{}",
        out.code, out.stdout, out.stderr
    );
    out
}

/// One table as printed: its column names and its rows, cells trimmed.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// The rows as `&str`s, handy for comparing with literals.
    pub fn rows(&self) -> Vec<Vec<&str>> {
        self.rows
            .iter()
            .map(|r| r.iter().map(String::as_str).collect())
            .collect()
    }
}

fn cells(line: &str) -> Vec<String> {
    let inner = line.trim_end().trim_start_matches('|');
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    inner.split('|').map(|c| c.trim().to_string()).collect()
}

/// Every bordered table in `text`, in order: a `+---+` border, a `|` header
/// line, another border, then the `|` rows up to the next line that is not
/// one (the closing border, or whatever follows a stopped push query).
pub fn tables(text: &str) -> Vec<Table> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 2 < lines.len() {
        if lines[i].starts_with("+-")
            && lines[i + 1].starts_with('|')
            && lines[i + 2].starts_with("+-")
        {
            let header = cells(lines[i + 1]);
            let mut rows = Vec::new();
            i += 3;
            while i < lines.len() && lines[i].starts_with('|') {
                rows.push(cells(lines[i]));
                i += 1;
            }
            out.push(Table { header, rows });
        } else {
            i += 1;
        }
    }
    out
}

/// The only table in `text`.
pub fn single_table(text: &str) -> Table {
    let mut all = tables(text);
    assert_eq!(all.len(), 1, "expected one table in:\n{text}");
    all.remove(0)
}

/// The `value: ...` parts of the records `PRINT` showed, each PRINT's
/// records in a list of its own (a PRINT starts with its `Key format:`
/// line).
pub fn printed_values(text: &str) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    for line in text.lines() {
        if line.starts_with("Key format: ") {
            out.push(Vec::new());
        }
        let Some(record) = line.strip_prefix("rowtime: ") else {
            continue;
        };
        let start = record
            .find(", value: ")
            .unwrap_or_else(|| panic!("no value in {record:?}"))
            + ", value: ".len();
        let end = record
            .rfind(", partition: ")
            .unwrap_or_else(|| panic!("no partition in {record:?}"));
        out.last_mut()
            .unwrap_or_else(|| panic!("a record before PRINT's format lines: {text}"))
            .push(record[start..end].to_string());
    }
    out
}
