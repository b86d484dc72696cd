//! Where the shell's statements run: the [`Backend`] trait, with an
//! embedded engine ([`embedded`]) and a server reached over ksqlDB's REST
//! API ([`remote`]) behind it. Both answer with the engine's typed results
//! (`sluice_engine::results`), so one renderer prints both alike.

mod connectors;
pub mod embedded;
pub mod entities;
pub mod remote;

use sluice_engine::results::{ResultColumn, StatementResult};
use sluice_engine::sql::StatementText;
use sluice_engine::types::Value;
use std::time::Duration;

/// What one statement gave.
pub enum Outcome {
    /// A result answered at once (never `Push` or `Print`).
    Done(Box<StatementResult>),
    /// A push query's rows, arriving as they come.
    Push(Box<dyn RowStream>),
    /// PRINT's records, one text row each, arriving as they come.
    Print(Box<dyn RowStream>),
}

/// A running push query or PRINT; dropping it stops it.
pub trait RowStream {
    /// The result columns.
    fn columns(&self) -> Vec<ResultColumn>;
    /// Waits up to `timeout` for rows: `Ok(Some(rows))` (maybe empty), or
    /// `Ok(None)` once the query has finished (its LIMIT was reached).
    fn next_rows(&mut self, timeout: Duration) -> anyhow::Result<Option<Vec<Vec<Value>>>>;
}

/// A failed statement: the message the user reads (the engine's error
/// text, or the server's `message`), the same in both modes.
#[derive(Debug)]
pub struct StatementError(pub String);

impl std::fmt::Display for StatementError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StatementError {}

/// An engine the shell talks to.
pub trait Backend {
    /// Runs one statement cut out of a script (its position in the
    /// script is kept, so errors name the script's line and column).
    fn run(&mut self, piece: &StatementText) -> Result<Outcome, StatementError>;
    /// For the banner: where statements run ("Server: URL" or the data
    /// directory) and that it is up.
    fn banner(&self) -> (String, String);
    /// Called when SIGTERM or SIGHUP arrives while the shell waits at its
    /// prompt, just before the process exits: make what was written
    /// durable.
    fn on_terminate(&self) -> Box<dyn Fn() + Send + Sync>;
}

/// Runs `sql` (a whole statement) through `backend` and returns the
/// result answered at once, or None when it failed or streams.
pub fn quiet(backend: &mut dyn Backend, sql: &str) -> Option<StatementResult> {
    let piece = StatementText {
        text: sql.to_string(),
        pos: sluice_engine::error::Pos { line: 1, col: 1 },
    };
    match backend.run(&piece) {
        Ok(Outcome::Done(r)) => Some(*r),
        _ => None,
    }
}
