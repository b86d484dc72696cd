//! What every statement-carrying request shares: reading its JSON body and
//! opening the fresh engine session it runs in, with the request's
//! properties and variables applied.

use crate::error::{codes, ApiError};
use crate::AppState;
use serde_json::{Map, Value as Json};
use sluice_engine::{Engine, Session};

/// A request's statements with the properties and variables they run with.
#[derive(Debug, Clone, Default)]
pub struct StatementRequest {
    /// The SQL text: one or more `;`-terminated statements.
    pub sql: String,
    /// Session properties (`streamsProperties` / `properties`).
    pub properties: Vec<(String, String)>,
    /// Session variables (`sessionVariables`).
    pub variables: Vec<(String, String)>,
    /// `commandSequenceNumber`: the command (a command-topic offset) that
    /// must have been applied here before the statements run.
    pub command_sequence: Option<i64>,
}

/// Parses a body as a JSON object, or answers ksqlDB's 40000.
pub fn json_object(body: &[u8]) -> Result<Map<String, Json>, ApiError> {
    match serde_json::from_slice::<Json>(body) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::generic(
            codes::BAD_REQUEST,
            "the request body must be a JSON object",
        )),
        Err(e) => Err(ApiError::generic(
            codes::BAD_REQUEST,
            format!("malformed JSON in the request body: {e}"),
        )),
    }
}

/// Reads a statement request whose SQL is under `sql_key` (`ksql` or `sql`)
/// and properties under `props_key` (`streamsProperties` or `properties`).
pub fn statement_request(
    body: &[u8],
    sql_key: &str,
    props_key: &str,
) -> Result<StatementRequest, ApiError> {
    let map = json_object(body)?;
    let sql = match map.get(sql_key) {
        Some(Json::String(s)) => s.clone(),
        _ => {
            return Err(ApiError::generic(
                codes::BAD_REQUEST,
                format!("the request body needs \"{sql_key}\": a string of statements"),
            ))
        }
    };
    let command_sequence = match map.get("commandSequenceNumber") {
        None | Some(Json::Null) => None,
        Some(v) => Some(v.as_i64().ok_or_else(|| {
            ApiError::generic(
                codes::BAD_REQUEST,
                format!("\"commandSequenceNumber\" must be an integer, found {v}"),
            )
        })?),
    };
    Ok(StatementRequest {
        sql,
        properties: string_map(&map, props_key)?,
        variables: string_map(&map, "sessionVariables")?,
        command_sequence,
    })
}

/// Waits until the command the request names (`commandSequenceNumber`)
/// has been applied on this server, as ksqlDB does before running the
/// statements; past the server's timeout, ksqlDB's 503 with 50301.
pub async fn await_command(state: &AppState, req: &StatementRequest) -> Result<(), ApiError> {
    let Some(sequence) = req.command_sequence else {
        return Ok(());
    };
    if state.engine.command_applied(sequence) {
        return Ok(());
    }
    let (engine, timeout) = (state.engine.clone(), state.info.command_timeout);
    let applied = tokio::task::spawn_blocking(move || engine.await_command(sequence, timeout))
        .await
        .map_err(|e| ApiError::internal(format!("waiting for a command failed: {e}")))?;
    if applied {
        return Ok(());
    }
    Err(ApiError::generic(
        codes::COMMAND_QUEUE_CATCHUP_TIMEOUT,
        format!(
            "Timed out while waiting for a previous command to execute. command sequence number: {sequence}"
        ),
    ))
}

/// An optional object of settings, each value as text.
fn string_map(map: &Map<String, Json>, key: &str) -> Result<Vec<(String, String)>, ApiError> {
    match map.get(key) {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Object(o)) => Ok(o
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), v)
            })
            .collect()),
        Some(_) => Err(ApiError::generic(
            codes::BAD_REQUEST,
            format!("\"{key}\" must be a JSON object"),
        )),
    }
}

/// A fresh session with the request's properties and variables.
pub fn open_session(engine: &Engine, req: &StatementRequest) -> Result<Session, ApiError> {
    let session = engine.session();
    for (k, v) in &req.properties {
        session.set_property(k, v);
    }
    for (name, value) in &req.variables {
        let define = format!("DEFINE {name} = '{}';", value.replace('\'', "''"));
        session.execute(&define).map_err(|e| {
            ApiError::generic(
                codes::BAD_REQUEST,
                format!("invalid session variable '{name}': {e}"),
            )
        })?;
    }
    Ok(session)
}
