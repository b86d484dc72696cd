//! The interactive shell in a real terminal: `sluice` runs in a detached
//! tmux session, statements are typed with `send-keys` and the tests read
//! the screen with `capture-pane`, polling until the expected text shows (or
//! failing after [`SCREEN_TIMEOUT`]). Skipped, with a note, when `tmux` is
//! not installed (`scripts/test.sh` installs it).

use super::common::{data_dir, tables, SLUICE};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const SCREEN_TIMEOUT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(100);
pub(super) const PROMPT: &str = "sluice>";
pub(super) const CONTINUATION: &str = "     >";
/// What the terminal shows once `sluice` has exited, before its status.
pub(super) const EXIT_STATUS: &str = "[sluice exited with status ";

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
pub(super) struct Terminal {
    socket: PathBuf,
    _socket_dir: tempfile::TempDir,
    /// The data directory and the state directory (history), when the
    /// terminal owns them.
    _dirs: Vec<tempfile::TempDir>,
}

impl Terminal {
    /// Starts `sluice` on a fresh data directory and waits for its prompt;
    /// None when tmux is missing.
    pub(super) fn start(test: &str) -> Option<Terminal> {
        let dir = data_dir();
        let state = data_dir();
        let args = ["--data-dir".to_string(), path_text(dir.path())];
        let mut term = Terminal::launch(test, &args, state.path())?;
        term._dirs = vec![dir, state];
        Some(term)
    }

    /// Starts `sluice ARGS...` with `XDG_STATE_HOME` at `state` and waits
    /// for its prompt; None when tmux is missing.
    pub(super) fn launch(test: &str, args: &[String], state: &Path) -> Option<Terminal> {
        let term = Terminal::spawn(test, args, state)?;
        term.wait_for("the first prompt", |s| last_line(s) == PROMPT);
        assert!(term.screen().starts_with("Sluice "), "{}", term.screen());
        Some(term)
    }

    /// Starts `sluice ARGS...` with `XDG_STATE_HOME` at `state`, without
    /// waiting for anything; None when tmux is missing.
    pub(super) fn spawn(test: &str, args: &[String], state: &Path) -> Option<Terminal> {
        if !tmux_available() {
            eprintln!("note: tmux is not installed; skipping the shell test '{test}'");
            return None;
        }
        let socket_dir = tempfile::Builder::new()
            .prefix("sluice-tmux-")
            .tempdir()
            .expect("creating a directory for the tmux socket");
        let socket = socket_dir.path().join("socket");
        let args: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
        // A small sh wrapper reports the shell's exit status on screen (tmux's
        // own #{pane_dead_status} proved unreliable). `trap : INT` keeps sh
        // alive through Ctrl-C, while sluice gets its default handling back.
        let command = format!(
            "trap : INT; XDG_STATE_HOME='{}' '{}' {}; echo \"{EXIT_STATUS}$?]\"",
            path_text(state),
            SLUICE,
            args.join(" ")
        );
        let term = Terminal {
            socket,
            _socket_dir: socket_dir,
            _dirs: Vec::new(),
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
        Some(term)
    }

    pub(super) fn tmux(&self, args: &[&str]) -> Output {
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
    pub(super) fn screen(&self) -> String {
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

    /// The screen with its colours (as SGR escape codes).
    pub(super) fn coloured_screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-e", "-t", "s"]);
        assert!(out.status.success(), "capture-pane -e failed");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Polls the screen until `done` holds, failing after [`SCREEN_TIMEOUT`]
    /// with the screen in the message.
    pub(super) fn wait_for(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
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
    pub(super) fn type_line(&self, text: &str) {
        self.type_text(text);
        self.keys("Enter");
    }

    /// Types `text` literally, without Enter.
    pub(super) fn type_text(&self, text: &str) {
        let escaped = match text.strip_suffix(';') {
            Some(rest) => format!("{rest}\\;"),
            None => text.to_string(),
        };
        let out = self.tmux(&["send-keys", "-t", "s", "-l", &escaped]);
        assert!(out.status.success(), "send-keys failed");
    }

    /// Sends a key by its tmux name (`Enter`, `C-c`).
    pub(super) fn keys(&self, key: &str) {
        let out = self.tmux(&["send-keys", "-t", "s", key]);
        assert!(out.status.success(), "send-keys {key} failed");
    }

    /// Types a statement line by line (waiting for the continuation prompt
    /// before each further line), waits for the next prompt and returns the
    /// screen from the statement's first line to that prompt.
    pub(super) fn run(&self, lines: &[&str]) -> String {
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

impl Terminal {
    /// The shell's process id (the wrapper's child).
    pub(super) fn sluice_pid(&self) -> u32 {
        let out = self.tmux(&["display-message", "-p", "-t", "s", "#{pane_pid}"]);
        let wrapper = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let children = Command::new("pgrep")
            .args(["-P", &wrapper])
            .output()
            .expect("running pgrep");
        String::from_utf8_lossy(&children.stdout)
            .lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or_else(|| panic!("no sluice process under the wrapper {wrapper}"))
    }

    /// Waits for the shell to exit and returns its status line.
    pub(super) fn exit_status(&self) -> String {
        let screen = self.wait_for("the shell to exit", |s| s.contains(EXIT_STATUS));
        screen
            .lines()
            .find(|l| l.starts_with(EXIT_STATUS))
            .unwrap_or_default()
            .to_string()
    }
}

pub(super) fn path_text(p: &Path) -> String {
    p.to_str().expect("a UTF-8 temporary path").to_string()
}

impl Terminal {
    /// Types `text` into the terminal as a bracketed paste (as a terminal
    /// does when the user pastes), without Enter.
    pub(super) fn paste(&self, text: &str) {
        // (tmux reads an argument ending in `;` as the end of its command.)
        let escaped = match text.strip_suffix(';') {
            Some(rest) => format!("{rest}\\;"),
            None => text.to_string(),
        };
        let out = self.tmux(&["set-buffer", "-b", "paste", "--", &escaped]);
        assert!(out.status.success(), "set-buffer failed");
        let out = self.tmux(&["paste-buffer", "-p", "-d", "-b", "paste", "-t", "s"]);
        assert!(out.status.success(), "paste-buffer failed");
    }
}

pub(super) fn last_line(screen: &str) -> &str {
    screen.lines().last().unwrap_or("")
}

/// How many prompts the screen shows.
pub(super) fn prompts(screen: &str) -> usize {
    screen.lines().filter(|l| l.starts_with(PROMPT)).count()
}

/// The screen from its `n`th prompt (counting from 0) on.
pub(super) fn since_prompt(screen: &str, n: usize) -> String {
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
pub(super) fn boxed(text: &str, message: &str) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    lines.windows(4).any(|w| {
        w[0].trim() == "Message"
            && w[1].starts_with("---")
            && w[2].trim() == message
            && w[3].starts_with("---")
    })
}

pub(super) const CREATE_PV: [&str; 2] = [
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
    assert_eq!(term.exit_status(), format!("{EXIT_STATUS}0]"));
    assert!(
        term.screen().contains("exit\nExiting Sluice."),
        "{}",
        term.screen()
    );
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
        since_prompt(&screen, before - 1).ends_with(&format!("{CONTINUATION}\n{PROMPT}")),
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
