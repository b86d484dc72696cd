//! The interactive shell in a real terminal: `sluice` runs in a detached
//! tmux session, statements are typed with `send-keys` and the tests read
//! the screen with `capture-pane`, polling until the expected text shows (or
//! failing after [`SCREEN_TIMEOUT`]). Skipped, with a note, when `tmux` is
//! not installed (`scripts/test.sh` installs it).

use super::common::{data_dir, tables, SLUICE};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const SCREEN_TIMEOUT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(100);
const PROMPT: &str = "sluice>";
const CONTINUATION: &str = "     >";
/// What the terminal shows once `sluice` has exited, before its status.
const EXIT_STATUS: &str = "[sluice exited with status ";

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// A shell running in its own tmux server, killed when dropped (also when
/// the test fails); the server's socket and the shell's data directory are
/// temporary directories, removed then too.
struct Terminal {
    socket: PathBuf,
    _socket_dir: tempfile::TempDir,
    _dir: tempfile::TempDir,
}

impl Terminal {
    /// Starts `sluice` on a fresh data directory and waits for its prompt;
    /// None when tmux is missing.
    fn start(test: &str) -> Option<Terminal> {
        if !tmux_available() {
            eprintln!("note: tmux is not installed; skipping the shell test '{test}'");
            return None;
        }
        let socket_dir = tempfile::Builder::new()
            .prefix("sluice-tmux-")
            .tempdir()
            .expect("creating a directory for the tmux socket");
        let socket = socket_dir.path().join("socket");
        let dir = data_dir();
        // A small sh wrapper reports the shell's exit status on screen (tmux's
        // own #{pane_dead_status} proved unreliable). `trap : INT` keeps sh
        // alive through Ctrl-C, while sluice gets its default handling back.
        let command = format!(
            "trap : INT; '{}' --data-dir '{}'; echo \"{EXIT_STATUS}$?]\"",
            SLUICE,
            dir.path().to_str().expect("a UTF-8 temporary path")
        );
        let term = Terminal {
            socket,
            _socket_dir: socket_dir,
            _dir: dir,
        };
        // No user configuration; keep the pane (and what it shows) when the
        // shell exits, so a crash can be read and the exit status checked.
        let out = term.tmux(&[
            "-f",
            "/dev/null",
            "start-server",
            ";",
            "set-option",
            "-g",
            "remain-on-exit",
            "on",
            ";",
            "new-session",
            "-d",
            "-s",
            "s",
            "-x",
            "200",
            "-y",
            "50",
            &command,
        ]);
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        term.wait_for("the first prompt", |s| last_line(s) == PROMPT);
        assert!(term.screen().starts_with("Sluice "), "{}", term.screen());
        Some(term)
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("running tmux")
    }

    /// Everything the pane has shown (history included), lines right-trimmed,
    /// trailing blank lines dropped.
    fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-J", "-S", "-", "-t", "s"]);
        assert!(
            out.status.success(),
            "capture-pane failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
        let end = lines
            .iter()
            .rposition(|l| !l.is_empty())
            .map_or(0, |i| i + 1);
        lines[..end].join("\n")
    }

    /// Polls the screen until `done` holds, failing after [`SCREEN_TIMEOUT`]
    /// with the screen in the message.
    fn wait_for(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            if start.elapsed() > SCREEN_TIMEOUT {
                panic!("timed out waiting for {what}; the screen shows:\n{screen}");
            }
            std::thread::sleep(POLL);
        }
    }

    /// Types `text` literally, then Enter. (tmux reads an argument ending in
    /// `;` as the end of its command, hence the escape.)
    fn type_line(&self, text: &str) {
        let escaped = match text.strip_suffix(';') {
            Some(rest) => format!("{rest}\\;"),
            None => text.to_string(),
        };
        let out = self.tmux(&["send-keys", "-t", "s", "-l", &escaped]);
        assert!(out.status.success(), "send-keys failed");
        self.keys("Enter");
    }

    /// Sends a key by its tmux name (`Enter`, `C-c`).
    fn keys(&self, key: &str) {
        let out = self.tmux(&["send-keys", "-t", "s", key]);
        assert!(out.status.success(), "send-keys {key} failed");
    }

    /// Types a statement line by line (waiting for the continuation prompt
    /// before each further line), waits for the next prompt and returns the
    /// screen from the statement's first line to that prompt.
    fn run(&self, lines: &[&str]) -> String {
        let before = prompts(&self.screen());
        for (i, line) in lines.iter().enumerate() {
            self.type_line(line);
            if i + 1 < lines.len() {
                self.wait_for("the continuation prompt", |s| last_line(s) == CONTINUATION);
            }
        }
        let screen = self.wait_for(&format!("the prompt after {lines:?}"), |s| {
            prompts(s) > before && last_line(s) == PROMPT
        });
        since_prompt(&screen, before - 1)
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

fn last_line(screen: &str) -> &str {
    screen.lines().last().unwrap_or("")
}

/// How many prompts the screen shows.
fn prompts(screen: &str) -> usize {
    screen.lines().filter(|l| l.starts_with(PROMPT)).count()
}

/// The screen from its `n`th prompt (counting from 0) on.
fn since_prompt(screen: &str, n: usize) -> String {
    screen
        .lines()
        .skip_while({
            let mut seen = 0;
            move |l| {
                if l.starts_with(PROMPT) {
                    seen += 1;
                }
                seen <= n
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// True when `text` holds the boxed message `message`, as the shell draws it.
fn boxed(text: &str, message: &str) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    lines.windows(4).any(|w| {
        w[0].trim() == "Message"
            && w[1].starts_with("---")
            && w[2].trim() == message
            && w[3].starts_with("---")
    })
}

const CREATE_PV: [&str; 2] = [
    "CREATE STREAM pv (id STRING KEY, page STRING)",
    "  WITH (kafka_topic='pv', value_format='JSON', partitions=1);",
];

#[test]
fn interactive_session() {
    let Some(term) = Terminal::start("session") else {
        return;
    };

    // A statement over two lines: the continuation prompt, then the box.
    let out = term.run(&CREATE_PV);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], format!("{PROMPT} {}", CREATE_PV[0]), "{out}");
    assert_eq!(
        lines[1],
        format!("{CONTINUATION} {}", CREATE_PV[1]),
        "{out}"
    );
    assert!(boxed(&out, "Stream created"), "{out}");

    let out = term.run(&["SET 'auto.offset.reset'='earliest';"]);
    assert!(
        boxed(
            &out,
            "Successfully changed local property 'auto.offset.reset' to 'earliest'."
        ),
        "{out}"
    );
    for (id, page) in [("u1", "/home"), ("u2", "/about"), ("u3", "/help")] {
        let out = term.run(&[&format!(
            "INSERT INTO pv (id, page) VALUES ('{id}', '{page}');"
        )]);
        // The statement, then straight away the next prompt.
        assert_eq!(out.lines().count(), 2, "INSERT printed something:\n{out}");
    }

    // A push query with a LIMIT: header, rows, "Limit Reached", prompt.
    let out = term.run(&[
        "SELECT id, UCASE(page) AS page FROM pv",
        "  EMIT CHANGES LIMIT 2;",
    ]);
    let table = &tables(&out)[..];
    assert_eq!(table.len(), 1, "{out}");
    assert_eq!(table[0].header, ["ID", "PAGE"]);
    assert_eq!(table[0].rows(), [["u1", "/HOME"], ["u2", "/ABOUT"]]);
    assert!(
        out.contains("Limit Reached\nQuery terminated\nsluice>"),
        "{out}"
    );

    // A syntax error on the second line names that line and its column.
    let out = term.run(&["SELECT * FROM pv", "  WHERE page = = 'x' EMIT CHANGES;"]);
    assert!(out.contains("line 2:16:"), "{out}");

    // A push query without a LIMIT shows every row, then keeps waiting
    // until Ctrl-C stops it and the prompt comes back.
    let before = prompts(&term.screen());
    term.type_line("SELECT * FROM pv EMIT CHANGES;");
    term.wait_for("the third row", |s| {
        let out = since_prompt(s, before - 1);
        tables(&out).first().map(|t| t.rows.len()) == Some(3)
    });
    assert!(
        prompts(&term.screen()) == before,
        "the push query ended by itself"
    );
    term.keys("C-c");
    let screen = term.wait_for("the prompt after Ctrl-C", |s| {
        prompts(s) > before && last_line(s) == PROMPT
    });
    let out = since_prompt(&screen, before - 1);
    assert_eq!(
        tables(&out)[0].rows(),
        [["u1", "/home"], ["u2", "/about"], ["u3", "/help"]]
    );
    assert!(out.contains("Query terminated"), "{out}");
    assert!(!out.contains("Limit Reached"), "{out}");

    // The shell still works, and `exit` ends it with status 0.
    let out = term.run(&["SHOW STREAMS;"]);
    assert!(out.lines().any(|l| l.contains("| PV ")), "{out}");
    term.type_line("exit");
    // (tmux adds its own "Pane is dead" line after the wrapper's.)
    let screen = term.wait_for("the shell to exit", |s| s.contains(EXIT_STATUS));
    let status = screen.lines().find(|l| l.starts_with(EXIT_STATUS));
    assert_eq!(status, Some(&*format!("{EXIT_STATUS}0]")), "{screen}");
}

#[test]
fn ctrl_c_at_the_prompt_abandons_the_statement() {
    let Some(term) = Terminal::start("ctrlc") else {
        return;
    };
    term.run(&CREATE_PV);
    term.run(&["SET 'auto.offset.reset'='earliest';"]);
    term.run(&["INSERT INTO pv (id, page) VALUES ('u1', '/home');"]);

    // Half a statement, then Ctrl-C: a fresh prompt, and what was typed
    // is dropped rather than glued to the next statement.
    let before = prompts(&term.screen());
    term.type_line("SELECT * FROM");
    term.wait_for("the continuation prompt", |s| last_line(s) == CONTINUATION);
    term.keys("C-c");
    let screen = term.wait_for("a fresh prompt after Ctrl-C", |s| {
        prompts(s) > before && last_line(s) == PROMPT
    });
    assert!(
        since_prompt(&screen, before - 1).ends_with(&format!("{CONTINUATION} ^C\n{PROMPT}")),
        "{screen}"
    );

    // Ctrl-C was pressed at the prompt, not during a query: the push query
    // typed next runs (and shows its row) until it is stopped.
    let before = prompts(&screen);
    term.type_line("SELECT * FROM pv EMIT CHANGES;");
    let screen = term.wait_for("the row of the push query", |s| {
        let out = since_prompt(s, before - 1);
        tables(&out).first().map(|t| t.rows.len()) == Some(1)
    });
    let out = since_prompt(&screen, before - 1);
    assert!(!out.contains("line "), "the statements were glued:\n{out}");
    assert_eq!(tables(&out)[0].rows(), [["u1", "/home"]]);
    assert_eq!(prompts(&screen), before, "the push query stopped at once");
    term.keys("C-c");
    let screen = term.wait_for("the prompt after Ctrl-C", |s| {
        prompts(s) > before && last_line(s) == PROMPT
    });
    assert!(since_prompt(&screen, before - 1).contains("Query terminated"));
}
