//! Running what the user typed or a script holds: statement by statement,
//! each result printed as it completes (push queries and PRINT row by row
//! until their LIMIT, `--query-row-limit`, `--query-timeout`, Ctrl-C or
//! SIGTERM), the shell's own commands handled here.

use crate::args::OutputFormat;
use crate::backend::{Backend, Outcome, RowStream};
use crate::commands::{self, Command};
use crate::output::Output;
use crate::signals::Signals;
use crate::{render, table};
use serde_json::Value as Json;
use sluice_engine::results::StatementResult;
use sluice_engine::sql::StatementText;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Whether the shell goes on after a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Exit,
}

/// A statement of a script that failed: its number (from 1), its first
/// line, and why.
#[derive(Debug)]
pub struct Failure {
    pub number: usize,
    pub first_line: String,
    pub message: String,
    /// For an error at a line and column of the statement: the statement
    /// up to that line and a caret under the column.
    pub context: Option<String>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "statement {} ({}) failed:\n{}",
            self.number,
            table::escape_controls(&self.first_line, false),
            table::escape_controls(&self.message, true)
        )?;
        if let Some(context) = &self.context {
            write!(f, "\n{context}")?;
        }
        Ok(())
    }
}

/// The statement's lines up to the one an error message (`line L:C: ...`,
/// counted in the script) points at, and a caret under its column; None
/// when the message names no position inside the statement.
pub fn caret(piece: &StatementText, message: &str) -> Option<String> {
    let rest = message.strip_prefix("line ")?;
    let (pos, _) = rest.split_once(": ")?;
    let (line, col) = pos.split_once(':')?;
    let (line, col): (u32, u32) = (line.parse().ok()?, col.parse().ok()?);
    let index = usize::try_from(line.checked_sub(piece.pos.line)?).ok()?;
    let lines: Vec<&str> = piece.text.lines().collect();
    let failing = lines.get(index)?;
    // The first line starts at the statement's column in the script.
    let skip = if index == 0 {
        col.checked_sub(piece.pos.col)?
    } else {
        col.checked_sub(1)?
    };
    // Shown with tabs as four spaces and other controls escaped; the
    // caret goes under the display width of what precedes the column.
    let shown = |text: &str| table::escape_controls(&text.replace('\t', "    "), false);
    let prefix: String = failing.chars().take(usize::try_from(skip).ok()?).collect();
    let mut out: Vec<String> = lines[..=index].iter().map(|l| shown(l)).collect();
    out.push(format!("{}^", " ".repeat(table::width(&shown(&prefix)))));
    Some(out.join("\n"))
}

pub struct Shell {
    pub backend: Rc<RefCell<Box<dyn Backend>>>,
    pub out: Output,
    pub signals: Arc<Signals>,
    /// `--query-row-limit`: push queries stop after this many rows.
    pub row_limit: Option<u64>,
    /// `--query-timeout`: push queries stop after this long.
    pub timeout: Option<Duration>,
    /// Set after each statement run: the catalog completion offers may
    /// have changed.
    pub catalog_stale: Rc<Cell<bool>>,
    /// What `HISTORY` lists (the editor's entries, oldest first).
    pub history: Vec<String>,
}

fn first_line(text: &str) -> String {
    text.trim().lines().next().unwrap_or("").trim().to_string()
}

impl Shell {
    /// Runs `text` statement by statement, printing each result as it
    /// completes; the first failure stops it. A last statement without
    /// `;` runs too.
    pub fn run(&mut self, text: &str) -> Result<Flow, Failure> {
        let pieces = sluice_engine::sql::split_statements(text).map_err(|e| Failure {
            number: 1,
            first_line: first_line(text),
            message: e.to_string(),
            context: None,
        })?;
        for (i, piece) in pieces.iter().enumerate() {
            if self.signals.terminating() {
                return Ok(Flow::Exit);
            }
            let fail = |message: String| Failure {
                number: i + 1,
                first_line: first_line(&piece.text),
                context: caret(piece, &message),
                message,
            };
            match commands::parse(&piece.text) {
                Some(Ok(cmd)) => {
                    if self.command(cmd).map_err(fail)? == Flow::Exit {
                        return Ok(Flow::Exit);
                    }
                }
                Some(Err(m)) => return Err(fail(m)),
                None => self.statement(piece).map_err(fail)?,
            }
        }
        Ok(Flow::Continue)
    }

    fn statement(&mut self, piece: &StatementText) -> Result<(), String> {
        let outcome = self.backend.borrow_mut().run(piece);
        self.catalog_stale.set(true);
        match outcome.map_err(|e| e.0)? {
            Outcome::Done(result) => {
                self.print_result(piece.text.trim(), &result);
                Ok(())
            }
            Outcome::Push(rows) => self.stream(rows, false),
            Outcome::Print(rows) => self.stream(rows, true),
        }
    }

    fn print_result(&mut self, statement: &str, result: &StatementResult) {
        if self.out.format == OutputFormat::Json {
            let json = match result {
                StatementResult::Rows(set) => Some(Json::Array(
                    set.rows
                        .iter()
                        .map(|r| row_object(&set.columns, r))
                        .collect(),
                )),
                other => sluice_server::json::entity(statement, other),
            };
            if let Some(j) = json {
                let text = serde_json::to_string_pretty(&j).unwrap_or_else(|_| j.to_string());
                self.out.line(&text);
                return;
            }
        }
        if let Some(text) =
            render::printed(result, self.out.layout()).and_then(|p| p.text(self.out.layout()))
        {
            self.out.line(&text);
        }
    }

    /// Prints a push query's rows as they arrive (or PRINT's lines, `raw`,
    /// as ksqlDB prints them: its format lines, then one `rowtime: ...`
    /// line per record), until it ends or is stopped.
    fn stream(&mut self, mut rows: Box<dyn RowStream>, raw: bool) -> Result<(), String> {
        if raw {
            return self.print_lines(rows);
        }
        let columns = rows.columns();
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        let json = self.out.format == OutputFormat::Json;
        let layout = table::Streaming::new(&names, self.out.layout());
        if !json {
            self.out.write(&layout.header());
        }
        let started = Instant::now();
        let mut count = 0u64;
        // Ctrl-C pressed before the query started is not meant for it.
        self.signals.take_interrupt();
        loop {
            if self.signals.take_interrupt() || self.signals.terminating() {
                self.out.line("Query terminated");
                return Ok(());
            }
            if self.timeout.is_some_and(|t| started.elapsed() >= t) {
                if !json {
                    self.out.line(&layout.footer());
                }
                self.out.line("Query terminated");
                return Ok(());
            }
            match rows.next_rows(Duration::from_millis(100)) {
                Err(e) => return Err(format!("{e:#}")),
                Ok(None) => break,
                Ok(Some(batch)) => {
                    let mut text = String::new();
                    let mut limited = false;
                    for row in batch {
                        if json {
                            text.push_str(&row_object(&columns, &row).to_string());
                            text.push('\n');
                        } else {
                            text.push_str(&layout.row(&row));
                        }
                        count += 1;
                        if self.row_limit.is_some_and(|l| count >= l) {
                            limited = true;
                            break;
                        }
                    }
                    self.out.write(&text);
                    if limited {
                        break;
                    }
                }
            }
        }
        if !json {
            self.out.line(&layout.footer());
        }
        self.out.line("Limit Reached\nQuery terminated");
        Ok(())
    }

    /// PRINT's lines as they arrive, until its LIMIT, `--query-row-limit`
    /// records, `--query-timeout`, Ctrl-C or SIGTERM.
    fn print_lines(&mut self, mut rows: Box<dyn RowStream>) -> Result<(), String> {
        let started = Instant::now();
        let mut count = 0u64;
        self.signals.take_interrupt();
        loop {
            if self.signals.take_interrupt()
                || self.signals.terminating()
                || self.timeout.is_some_and(|t| started.elapsed() >= t)
            {
                break;
            }
            match rows.next_rows(Duration::from_millis(100)) {
                Err(e) => return Err(format!("{e:#}")),
                Ok(None) => break,
                Ok(Some(batch)) => {
                    let mut text = String::new();
                    let mut limited = false;
                    for row in batch {
                        let line = match row.first() {
                            Some(sluice_engine::types::Value::String(s)) => s.clone(),
                            Some(other) => other.to_string(),
                            None => continue,
                        };
                        text.push_str(&table::escape_controls(&line, false));
                        text.push('\n');
                        // The format lines are not records.
                        if line.starts_with("rowtime: ") {
                            count += 1;
                        }
                        if self.row_limit.is_some_and(|l| count >= l) {
                            limited = true;
                            break;
                        }
                    }
                    self.out.write(&text);
                    if limited {
                        break;
                    }
                }
            }
        }
        self.out.line("Topic printing ceased");
        Ok(())
    }

    fn command(&mut self, cmd: Command) -> Result<Flow, String> {
        match cmd {
            Command::RunScript(path) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read the script '{path}': {e}"))?;
                return self.run(&text).map_err(|f| format!("{path}: {f}"));
            }
            Command::Spool(path) => {
                if let Some(old) = self.out.stop_spool() {
                    self.out
                        .line(&format!("Stopped spooling to {}", old.display()));
                }
                self.out
                    .start_spool(std::path::Path::new(&path))
                    .map_err(|e| format!("cannot spool to '{path}': {e}"))?;
                self.out.line(&format!("Spooling to {path}"));
            }
            Command::SpoolOff => match self.out.stop_spool() {
                Some(path) => self
                    .out
                    .line(&format!("Stopped spooling to {}", path.display())),
                None => return Err("SPOOL is not on".to_string()),
            },
            Command::Output(None) => {
                let f = format_name(self.out.format);
                self.out.line(&format!("Output format: {f}"));
            }
            Command::Output(Some(format)) => {
                self.out.format = format;
                let f = format_name(format);
                self.out.line(&format!("Output format set to {f}"));
            }
            Command::Wrap(on) => {
                self.out.layout.wrap = on;
                let v = if on { "ON" } else { "OFF" };
                self.out.line(&format!("Wrap set to {v}"));
            }
            Command::ColumnWidth(n) => {
                self.out.layout.column_width = (n > 0).then_some(n);
                self.out.line(&format!("Column width set to {n}"));
            }
            Command::ShowCli => {
                let wrap = if self.out.layout.wrap { "ON" } else { "OFF" };
                let width = self.out.layout.column_width.unwrap_or(0);
                self.out
                    .line(&format!("WRAP: {wrap}\nCOLUMN-WIDTH: {width}"));
            }
            Command::Help => self.out.line(commands::HELP),
            Command::Version => self
                .out
                .line(&format!("Version: {}", env!("CARGO_PKG_VERSION"))),
            Command::Clear => self.out.write("\x1b[2J\x1b[H"),
            Command::History => {
                let lines: Vec<String> = self
                    .history
                    .iter()
                    .enumerate()
                    .map(|(i, e)| format!("{:>5}  {}", i + 1, e.replace('\n', "\n       ")))
                    .collect();
                if !lines.is_empty() {
                    self.out.line(&lines.join("\n"));
                }
            }
            Command::Exit => return Ok(Flow::Exit),
        }
        Ok(Flow::Continue)
    }
}

fn format_name(f: OutputFormat) -> &'static str {
    match f {
        OutputFormat::Json => "JSON",
        OutputFormat::Tabular => "TABULAR",
    }
}

/// A row as a JSON object of its columns.
fn row_object(
    columns: &[sluice_engine::results::ResultColumn],
    row: &[sluice_engine::types::Value],
) -> Json {
    Json::Object(
        columns
            .iter()
            .zip(row)
            .map(|(c, v)| (c.name.clone(), sluice_server::json::value(v)))
            .collect(),
    )
}
