//! The server's errors: failures to start or serve ([`ServerError`]) and the
//! answer a request gets when it cannot be served ([`ApiError`], in
//! ksqlDB's error shape: `statement_error` or `generic_error` with an
//! `error_code` and a `message`).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value as Json};

/// Why the server could not start or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A listener URL that is not `http://HOST:PORT`.
    #[error("invalid listener '{0}': expected http://HOST:PORT or https://HOST:PORT")]
    Listener(String),
    /// An authentication or TLS setting that cannot be used.
    #[error("{0}")]
    Config(String),
    /// Binding or serving a socket failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The engine could not be opened.
    #[error("engine: {0}")]
    Engine(#[from] sluice_engine::Error),
}

/// ksqlDB's error codes the server itself answers with (the engine's errors
/// carry their own, see [`sluice_engine::error::codes`]).
pub mod codes {
    pub use sluice_engine::error::codes::*;
    /// An HTTP method the endpoint does not serve.
    pub const METHOD_NOT_ALLOWED: u32 = 40500;
    /// A request's `commandSequenceNumber` was not applied in time.
    pub const COMMAND_QUEUE_CATCHUP_TIMEOUT: u32 = 50301;
}

/// A request that failed: an HTTP status and ksqlDB's error entity.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status, derived from the error code (40001 -> 400).
    pub status: StatusCode,
    /// The error entity.
    pub body: Json,
}

impl ApiError {
    /// A `generic_error`: the request itself is at fault (or the server).
    pub fn generic(code: u32, message: impl Into<String>) -> Self {
        ApiError {
            status: status_for(code),
            body: json!({
                "@type": "generic_error",
                "error_code": code,
                "message": message.into(),
            }),
        }
    }

    /// A `statement_error`: a statement could not run. `entities` are what
    /// the statements before it answered.
    pub fn statement(
        code: u32,
        message: impl Into<String>,
        statement: &str,
        entities: Vec<Json>,
    ) -> Self {
        ApiError {
            status: status_for(code),
            body: json!({
                "@type": "statement_error",
                "error_code": code,
                "message": message.into(),
                "statementText": statement,
                "entities": entities,
            }),
        }
    }

    /// An engine error raised by `statement`.
    pub fn engine(err: &sluice_engine::Error, statement: &str, entities: Vec<Json>) -> Self {
        ApiError::statement(err.code(), err.to_string(), statement, entities)
    }

    /// The server failed (a task panicked or went away).
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::generic(codes::SERVER_ERROR, message)
    }

    /// The error code carried by the body.
    pub fn code(&self) -> u64 {
        self.body
            .get("error_code")
            .and_then(Json::as_u64)
            .unwrap_or(u64::from(codes::SERVER_ERROR))
    }
}

/// ksqlDB's HTTP status for an error code: its first three digits.
fn status_for(code: u32) -> StatusCode {
    u16::try_from(code / 100)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            self.body.to_string(),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_the_code() {
        assert_eq!(
            ApiError::generic(40000, "x").status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(ApiError::generic(40400, "x").status, StatusCode::NOT_FOUND);
        assert_eq!(
            ApiError::statement(40001, "x", "S;", vec![]).status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            ApiError::internal("x").status,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
