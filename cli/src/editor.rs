//! The interactive shell: lines read with rustyline (history across runs
//! in `$XDG_STATE_HOME/sluice/history`, Ctrl-R search, Tab completion,
//! highlighting and keyword hints, bracketed paste), gathered until a
//! statement ends with `;`, then run.
//! A statement typed over several lines is one history entry.

use crate::complete::SqlHelper;
use crate::shell::{Flow, Shell};
use anyhow::{Context, Result};
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{CompletionType, Config, Editor};
use std::path::PathBuf;

pub const PROMPT: &str = "sluice> ";
pub const CONTINUATION_PROMPT: &str = "     > ";

/// `$XDG_STATE_HOME/sluice`, or `~/.local/state/sluice`.
pub fn state_dir() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".local/state"),
    };
    Some(base.join("sluice"))
}

/// Where the history is kept.
fn history_path() -> Option<PathBuf> {
    let dir = state_dir()?;
    if let Err(e) = std::fs::create_dir_all(&dir) {
        tracing::warn!(error = %e, dir = %dir.display(), "cannot keep the shell's history");
        return None;
    }
    Some(dir.join("history"))
}

/// A shell command typed on its own needs no `;`.
fn is_command_line(line: &str) -> bool {
    crate::commands::parse(line).is_some()
}

/// The line editor. Created before the signal handlers are installed:
/// rustyline sets its own SIGINT handler when it opens the terminal, and
/// the shell's (installed after, chaining to it) must see Ctrl-C during
/// push queries.
pub fn new_editor() -> Result<Editor<SqlHelper, FileHistory>> {
    let config = Config::builder()
        .auto_add_history(false)
        .max_history_size(10_000)
        .context("configuring the editor")?
        .history_ignore_dups(true)
        .context("configuring the editor")?
        .history_ignore_space(true)
        .completion_type(CompletionType::List)
        .bracketed_paste(true)
        .build();
    Editor::with_config(config).context("starting the line editor")
}

pub fn interactive(shell: &mut Shell, mut editor: Editor<SqlHelper, FileHistory>) -> Result<()> {
    let helper = SqlHelper::new(shell.backend.clone(), shell.catalog_stale.clone());
    let pending = helper.pending.clone();
    editor.set_helper(Some(helper));
    let history = history_path();
    if let Some(path) = &history {
        if path.exists() {
            if let Err(e) = editor.load_history(path) {
                tracing::warn!(error = %e, "reading the shell's history");
            }
        }
    }
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() {
            PROMPT
        } else {
            CONTINUATION_PROMPT
        };
        *pending.borrow_mut() = buffer.clone();
        shell.signals.set_at_prompt(true);
        let line = editor.readline(prompt);
        shell.signals.set_at_prompt(false);
        let line = match line {
            Ok(line) => line,
            // Ctrl-C: abandon what was typed.
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e).context("reading the terminal"),
        };
        if buffer.is_empty() && line.trim().is_empty() {
            continue;
        }
        buffer.push_str(&line);
        buffer.push('\n');
        let single_command = !buffer.contains(';') && is_command_line(&buffer);
        if !single_command && !crate::statement_complete(&buffer) {
            continue;
        }
        let text = std::mem::take(&mut buffer);
        let entry = text.trim_end();
        remember(&mut editor, history.as_ref(), entry);
        shell
            .out
            .spooled(&format!("{PROMPT}{}\n", entry.replace('\n', "\n     > ")));
        shell.history = editor.history().iter().map(|s| s.to_string()).collect();
        match shell.run(&text) {
            Ok(Flow::Exit) => break,
            Ok(Flow::Continue) => {}
            // The statement was just typed: its error, and a caret under
            // where it points.
            Err(failure) => {
                let mut text = crate::table::escape_controls(&failure.message, true);
                if let Some(context) = &failure.context {
                    text.push('\n');
                    text.push_str(context);
                }
                shell.out.line(&text);
            }
        }
        if shell.signals.terminating() {
            break;
        }
    }
    shell.out.line("Exiting Sluice.");
    Ok(())
}

/// Adds a statement to the history and appends it to the history file
/// (not `exit`: recalling it by accident would end the shell).
fn remember(editor: &mut Editor<SqlHelper, FileHistory>, path: Option<&PathBuf>, entry: &str) {
    if crate::commands::parse(entry) == Some(Ok(crate::commands::Command::Exit)) {
        return;
    }
    match editor.add_history_entry(entry) {
        Ok(true) => {}
        _ => return,
    }
    if let Some(path) = path {
        if let Err(e) = editor.append_history(path) {
            tracing::warn!(error = %e, "writing the shell's history");
        }
    }
}
