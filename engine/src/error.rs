//! The engine's error type: every failure a caller can see, with SQL errors
//! carrying the line and column they point at, and a stable code per error
//! that maps onto ksqlDB's REST error codes.

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

/// ksqlDB's REST error codes, as the engine's errors map onto them.
pub mod codes {
    /// The request is malformed or a value in it cannot be used.
    pub const BAD_REQUEST: u32 = 40000;
    /// The statement cannot be run as written.
    pub const BAD_STATEMENT: u32 = 40001;
    /// The statement was sent to the wrong endpoint (a query to `/ksql`).
    pub const QUERY_ENDPOINT: u32 = 40002;
    /// A stream, table, type, topic, query or function does not exist.
    pub const NOT_FOUND: u32 = 40400;
    /// The server failed.
    pub const SERVER_ERROR: u32 = 50000;
}

/// A schema registry's failure with Confluent's error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryError {
    pub code: u32,
    pub message: String,
}

impl RegistryError {
    pub fn new(code: u32, message: impl Into<String>) -> Self {
        RegistryError {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status Confluent answers with this error: the code's first
    /// three digits (409 and other three-digit codes are their own status).
    pub fn status(&self) -> u16 {
        let mut code = self.code;
        while code >= 1000 {
            code /= 10;
        }
        u16::try_from(code).unwrap_or(500)
    }
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (schema registry error {})", self.message, self.code)
    }
}

impl std::error::Error for RegistryError {}

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
    /// A statement creates something that already is, or conflicts with
    /// what the catalog holds.
    #[error("{0}")]
    Catalog(String),
    /// A statement names something that is not there: a stream, table,
    /// type, topic, query or function.
    #[error("{0}")]
    NotFound(String),
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
    /// The schema registry refused a request (Confluent's code and
    /// message), or could not be reached.
    #[error("{0}")]
    Registry(RegistryError),
    /// A broken invariant inside the engine: a bug, reported rather than
    /// crashing.
    #[error("internal error: {0}")]
    Internal(String),
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
    pub fn not_found(msg: impl Into<String>) -> Self {
        Error::NotFound(msg.into())
    }
    pub fn log(msg: impl Into<String>) -> Self {
        Error::Log(msg.into())
    }
    pub fn internal(msg: impl Into<String>) -> Self {
        Error::Internal(msg.into())
    }

    /// The error's stable code, one of ksqlDB's REST error codes
    /// ([`codes`]): statements that cannot run are 40001, missing things
    /// 40400, failures of the engine or its log 50000.
    pub fn code(&self) -> u32 {
        match self {
            Error::Parse { .. } | Error::Plan(_) | Error::Catalog(_) | Error::Eval(_) => {
                codes::BAD_STATEMENT
            }
            Error::NotFound(_) => codes::NOT_FOUND,
            Error::Registry(r) if r.status() == 404 => codes::NOT_FOUND,
            Error::Registry(r) if r.status() >= 500 => codes::SERVER_ERROR,
            Error::Registry(_) => codes::BAD_STATEMENT,
            Error::Format(_) => codes::BAD_REQUEST,
            Error::Log(_) | Error::Io(_) | Error::Json(_) | Error::Internal(_) => {
                codes::SERVER_ERROR
            }
        }
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_maps_to_a_ksqldb_code() {
        let parse = Error::Parse {
            pos: Pos { line: 1, col: 2 },
            message: "x".into(),
        };
        assert_eq!(parse.code(), codes::BAD_STATEMENT);
        assert_eq!(Error::plan("x").code(), codes::BAD_STATEMENT);
        assert_eq!(Error::not_found("x").code(), codes::NOT_FOUND);
        assert_eq!(Error::format("x").code(), codes::BAD_REQUEST);
        assert_eq!(Error::log("x").code(), codes::SERVER_ERROR);
        assert_eq!(Error::internal("x").code(), codes::SERVER_ERROR);
        let registry = |code| Error::Registry(RegistryError::new(code, "x"));
        assert_eq!(registry(40401).code(), codes::NOT_FOUND);
        assert_eq!(registry(42201).code(), codes::BAD_STATEMENT);
        assert_eq!(registry(50001).code(), codes::SERVER_ERROR);
        assert_eq!(RegistryError::new(40403, "x").status(), 404);
        assert_eq!(RegistryError::new(409, "x").status(), 409);
        assert_eq!(RegistryError::new(42201, "x").status(), 422);
        let io = Error::from(std::io::Error::other("disk"));
        assert_eq!(io.code(), codes::SERVER_ERROR);
        assert!(
            std::error::Error::source(&io).is_some(),
            "the cause is kept"
        );
    }
}
