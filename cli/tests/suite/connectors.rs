//! The README's connector quick start, typed into the embedded shell in a
//! real terminal: datagen feeds a windowed aggregate that a push query
//! shows, with no other service; SHOW and DESCRIBE CONNECTOR print as
//! ksqlDB's CLI prints them. And a file source killed with SIGKILL
//! mid-copy, twice, that still copies every line exactly once.

use super::shell::{boxed, Terminal};

#[test]
fn the_readme_quick_start_feeds_a_query_from_datagen() {
    let Some(term) = Terminal::start("the_readme_quick_start_feeds_a_query_from_datagen") else {
        return;
    };
    term.run(&["SET 'auto.offset.reset' = 'earliest';"]);
    // Tab completes the connector statements' words.
    term.type_text("show source conn");
    term.keys("Tab");
    term.wait_for("CONNECTORS completed", |s| {
        s.lines().last() == Some("sluice> show source connectors")
    });
    term.keys("C-u");
    let created = term.run(&[
        "CREATE SOURCE CONNECTOR pageviews_gen WITH (",
        "  \"connector.class\" = 'io.confluent.kafka.connect.datagen.DatagenConnector',",
        "  \"kafka.topic\" = 'pageviews', \"quickstart\" = 'pageviews',",
        "  \"schema.keyfield\" = 'userid', \"max.interval\" = 100);",
    ]);
    assert!(
        boxed(&created, "Created connector PAGEVIEWS_GEN"),
        "{created}"
    );
    term.run(&[
        "CREATE STREAM pageviews (userid STRING KEY, viewtime BIGINT, pageid STRING)",
        "  WITH (kafka_topic='pageviews', value_format='JSON');",
    ]);
    term.run(&[
        "CREATE TABLE views_per_user AS SELECT userid, COUNT(*) AS views",
        "  FROM pageviews WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY userid EMIT CHANGES;",
    ]);
    let rows = term.run(&["SELECT userid, views FROM views_per_user EMIT CHANGES LIMIT 3;"]);
    let data: Vec<&str> = rows.lines().filter(|l| l.starts_with("| User_")).collect();
    assert_eq!(data.len(), 3, "{rows}");
    assert!(rows.contains("Limit Reached"), "{rows}");
    let list = term.run(&["SHOW CONNECTORS;"]);
    assert!(list.contains("Connector Name"), "{list}");
    assert!(
        list.lines().any(|l| l.contains("PAGEVIEWS_GEN")
            && l.contains("SOURCE")
            && l.contains("io.confluent.kafka.connect.datagen.DatagenConnector")
            && l.contains("RUNNING (1/1 tasks RUNNING)")),
        "{list}"
    );
    let described = term.run(&["DESCRIBE CONNECTOR pageviews_gen;"]);
    for expected in [
        "Name                 : PAGEVIEWS_GEN",
        "Class                : io.confluent.kafka.connect.datagen.DatagenConnector",
        "Type                 : source",
        "State                : RUNNING",
        " Task ID | State   | Error Trace",
        " PAGEVIEWS          | pageviews   | STREAM",
        " Related Topics",
        " pageviews",
    ] {
        assert!(
            described.lines().any(|l| l.trim_end() == expected),
            "no {expected:?} in:\n{described}"
        );
    }
    assert!(
        described.contains("Delivery             : exactly-once"),
        "{described}"
    );
    let dropped = term.run(&["DROP CONNECTOR pageviews_gen;"]);
    assert!(
        boxed(&dropped, "Dropped connector \"PAGEVIEWS_GEN\""),
        "{dropped}"
    );
}

/// A `sluice` process reading statements from a pipe, its output lines
/// sent to a channel.
#[cfg(unix)]
struct Piped {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: std::sync::mpsc::Receiver<String>,
}

#[cfg(unix)]
impl Piped {
    fn start(dir: &std::path::Path) -> Piped {
        use std::io::BufRead;
        let mut child = std::process::Command::new(super::common::SLUICE)
            .args(["--data-dir", dir.to_str().unwrap()])
            .env_remove("SLUICE_DATA_DIR")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting sluice");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Piped {
            stdin: child.stdin.take(),
            child,
            lines,
        }
    }

    fn send(&mut self, sql: &str) {
        use std::io::Write;
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(sql.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    /// Waits (up to 30 s) for an output line holding `text`.
    fn wait_line(&self, text: &str) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(text) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        false
    }

    /// DESCRIBE CONNECTOR fs's Offset line (its value), if it shows one
    /// within 5 s.
    fn describe_offset(&mut self) -> Option<String> {
        self.send("DESCRIBE CONNECTOR fs;");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) if l.starts_with("Offset") => {
                    return l.split_once(": ").map(|(_, v)| v.trim().to_string())
                }
                Ok(l) if l.starts_with("Records") => return None,
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    }

    fn kill(mut self) {
        self.child.kill().unwrap(); // SIGKILL
        let _ = self.child.wait();
    }

    fn finish(mut self) {
        drop(self.stdin.take());
        assert!(self.child.wait().unwrap().success());
    }
}

/// The lines topic of a data directory no process holds.
#[cfg(unix)]
fn copied_lines(dir: &std::path::Path) -> Vec<String> {
    use sluice_engine::log::Log as _;
    let log = sluice_engine::log::EmbeddedLog::open(dir).unwrap();
    log.read("lines", 0, 0, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|r| String::from_utf8(r.record.value.unwrap()).unwrap())
        .collect()
}

/// A file source killed with SIGKILL (twice) while the file grows and it
/// copies it: in the end the topic holds every line once, in order.
#[cfg(unix)]
#[test]
fn a_file_source_killed_mid_copy_loses_and_repeats_no_line() {
    let dir = super::common::data_dir();
    let files = super::common::data_dir();
    let input = files.path().join("in.txt");
    std::fs::write(&input, "").unwrap();
    const LINES: usize = 60_000;
    let writer = {
        let input = input.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&input)
                .unwrap();
            for chunk in 0..LINES / 500 {
                let text: String = (chunk * 500..(chunk + 1) * 500)
                    .map(|i| format!("line {i}\n"))
                    .collect();
                f.write_all(text.as_bytes()).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(15));
            }
        })
    };
    let mut first = Piped::start(dir.path());
    first.send(&format!(
        "CREATE SOURCE CONNECTOR fs WITH (\"connector.class\"='FileStreamSource', \"file\"='{}', \
         \"topic\"='lines', \"batch.size\"=700, \
         \"value.converter\"='org.apache.kafka.connect.storage.StringConverter');",
        input.display()
    ));
    assert!(first.wait_line("Created connector FS"));
    std::thread::sleep(std::time::Duration::from_millis(700));
    first.kill();
    let copied = copied_lines(dir.path()).len();
    assert!(
        copied > 0 && copied < LINES,
        "killed mid-copy ({copied} lines)"
    );
    // Restarted by the command topic; killed again mid-copy.
    let second = Piped::start(dir.path());
    std::thread::sleep(std::time::Duration::from_millis(900));
    second.kill();
    writer.join().unwrap();
    let len = std::fs::metadata(&input).unwrap().len();
    let mut last = Piped::start(dir.path());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let done = format!(
        "{{\"filename\":\"{}\",\"position\":{len}}}",
        input.display()
    );
    while last.describe_offset().as_deref() != Some(done.as_str()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the copy never finished"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    last.finish();
    let got = copied_lines(dir.path());
    assert_eq!(got.len(), LINES, "no line lost or repeated");
    for (i, l) in got.iter().enumerate() {
        assert_eq!(*l, format!("line {i}"));
    }
}
