//! `/ksql`: runs statements that are not queries in a fresh session and
//! answers one entity per statement (a JSON array), or ksqlDB's error.

use crate::error::{codes, ApiError};
use crate::request::{await_command, open_session, statement_request, StatementRequest};
use crate::{json, AppState};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value as Json;
use sluice_engine::{Engine, StatementResult};

/// POST `/ksql`: `{"ksql", "streamsProperties", "sessionVariables",
/// "commandSequenceNumber"}`.
pub async fn handle(State(state): State<AppState>, body: Bytes) -> Response {
    let req = match statement_request(&body, "ksql", "streamsProperties") {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = await_command(&state, &req).await {
        return e.into_response();
    }
    let engine = state.engine.clone();
    let answer = tokio::task::spawn_blocking(move || run(&engine, &req))
        .await
        .unwrap_or_else(|e| Err(ApiError::internal(format!("statement task failed: {e}"))));
    match answer {
        Ok(entities) => (
            [(header::CONTENT_TYPE, "application/json")],
            Json::Array(entities).to_string(),
        )
            .into_response(),
        Err(e) => {
            tracing::debug!(code = e.code(), "/ksql request failed");
            e.into_response()
        }
    }
}

/// Runs the request's statements one by one, stopping at the first that
/// fails (its error carries the entities of those before it).
fn run(engine: &Engine, req: &StatementRequest) -> Result<Vec<Json>, ApiError> {
    let session = open_session(engine, req)?;
    let pieces = sluice_engine::sql::split_statements(&req.sql)
        .map_err(|e| ApiError::engine(&e, req.sql.trim(), Vec::new()))?;
    let mut entities = Vec::new();
    for piece in &pieces {
        let text = piece.text.trim();
        match session.execute_statement(piece) {
            Ok(StatementResult::Rows(_) | StatementResult::Push(_) | StatementResult::Print(_)) => {
                // A push query started here stops as its handle drops.
                return Err(ApiError::statement(
                    codes::QUERY_ENDPOINT,
                    "SELECT and PRINT statements are answered by the query endpoints \
                     (/query, /query-stream), not by /ksql",
                    text,
                    entities,
                ));
            }
            Ok(result) => entities.extend(json::entity(text, &result)),
            Err(e) => return Err(ApiError::engine(&e, text, entities)),
        }
    }
    Ok(entities)
}
