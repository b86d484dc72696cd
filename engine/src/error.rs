//! The engine's error type: every failure a caller can see, with SQL errors
//! carrying the line and column they point at.

use std::fmt;

/// A position in a SQL text, 1-based, as users count lines and columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}:{}", self.line, self.col)
    }
}

/// Everything that can go wrong inside the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The statement text does not parse.
    #[error("{pos}: {message}")]
    Parse { pos: Pos, message: String },
    /// The statement parses but cannot be run as written (unknown column,
    /// type mismatch, unsupported combination...).
    #[error("{0}")]
    Plan(String),
    /// A statement refers to something in the catalog that is not there, or
    /// creates something that already is.
    #[error("{0}")]
    Catalog(String),
    /// A value could not be computed (bad cast, function error...).
    #[error("{0}")]
    Eval(String),
    /// A record could not be serialized or deserialized.
    #[error("{0}")]
    Format(String),
    /// The log (embedded or Kafka) failed.
    #[error("log: {0}")]
    Log(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

impl Error {
    pub fn plan(msg: impl Into<String>) -> Self {
        Error::Plan(msg.into())
    }
    pub fn eval(msg: impl Into<String>) -> Self {
        Error::Eval(msg.into())
    }
    pub fn format(msg: impl Into<String>) -> Self {
        Error::Format(msg.into())
    }
    pub fn catalog(msg: impl Into<String>) -> Self {
        Error::Catalog(msg.into())
    }
    pub fn log(msg: impl Into<String>) -> Self {
        Error::Log(msg.into())
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
