//! `/inserts-stream`: a target line (`{"target":"S"}`) then one JSON object
//! per line, each inserted as `INSERT INTO ... VALUES` in the request's
//! session and acknowledged with `{"status":"ok","seq":N}` (one per line,
//! or one JSON array with `Accept: application/json`). Served over HTTP/1.1
//! and HTTP/2 alike; rows are read and acknowledged as they arrive.

use crate::error::{codes, ApiError};
use crate::query::accept;
use crate::AppState;
use axum::body::{Body, BodyDataStream, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{json, Map, Value as Json};
use sluice_engine::types::{Column, SqlType};
use sluice_engine::{Engine, Session};
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::mpsc;

/// POST `/inserts-stream`.
pub async fn handle(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let as_array = accept(&headers).is_some_and(|a| a.contains("application/json"));
    let mut lines = Lines::new(body.into_data_stream());
    let target = match lines.next().await {
        Some(Ok(line)) => line,
        Some(Err(e)) => return e.into_response(),
        None => {
            return ApiError::generic(codes::BAD_REQUEST, "the request body is empty")
                .into_response()
        }
    };
    let target = match crate::request::json_object(target.as_bytes()) {
        Ok(map) => match map.get("target").and_then(Json::as_str) {
            Some(t) => t.to_string(),
            None => {
                return ApiError::generic(
                    codes::BAD_REQUEST,
                    "the first line must name the target: {\"target\":\"S\"}",
                )
                .into_response()
            }
        },
        Err(e) => return e.into_response(),
    };
    let engine = state.engine.clone();
    let columns = match find_columns(&engine, &target) {
        Some(c) => c,
        None => {
            return ApiError::generic(
                codes::NOT_FOUND,
                format!("Cannot insert values into an unknown stream/table: {target}"),
            )
            .into_response()
        }
    };
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let session = Arc::new(engine.session());
    tokio::spawn(insert_rows(lines, session, target, columns, as_array, tx));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    let content_type = if as_array {
        "application/json"
    } else {
        crate::query::DELIMITED
    };
    (
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(stream),
    )
        .into_response()
}

/// The target's columns, found as named or upper-cased (ksqlDB's unquoted
/// names).
fn find_columns(engine: &Engine, target: &str) -> Option<(String, Vec<Column>)> {
    let desc = engine
        .describe_source(target)
        .or_else(|| engine.describe_source(&target.to_uppercase()))?;
    Some((desc.name, desc.schema.columns))
}

/// Inserts each row line and acknowledges it; stops at the first failure
/// (acknowledged as an error) or when the client goes away.
async fn insert_rows(
    mut lines: Lines,
    session: Arc<Session>,
    target: String,
    (name, columns): (String, Vec<Column>),
    as_array: bool,
    tx: mpsc::Sender<Bytes>,
) {
    let mut seq: u64 = 0;
    let mut first = true;
    let chunk = |ack: Json, first: &mut bool| {
        let text = match (as_array, *first) {
            (true, true) => format!("[{ack}"),
            (true, false) => format!(",{ack}"),
            (false, _) => format!("{ack}\n"),
        };
        *first = false;
        Bytes::from(text)
    };
    while let Some(line) = lines.next().await {
        let outcome = match line {
            Err(e) => Err((
                e.code(),
                e.body["message"].as_str().unwrap_or("").to_string(),
            )),
            Ok(line) => match insert_statement(&name, &columns, &line) {
                Err(message) => Err((u64::from(codes::BAD_REQUEST), message)),
                Ok(sql) => {
                    let session = session.clone();
                    match tokio::task::spawn_blocking(move || session.execute(&sql)).await {
                        Ok(Ok(_)) => Ok(()),
                        Ok(Err(e)) => Err((u64::from(e.code()), e.to_string())),
                        Err(e) => Err((u64::from(codes::SERVER_ERROR), e.to_string())),
                    }
                }
            },
        };
        let failed = outcome.is_err();
        let ack = match outcome {
            Ok(()) => json!({"status": "ok", "seq": seq}),
            Err((code, message)) => {
                tracing::debug!(target = target.as_str(), seq, "insert failed: {message}");
                json!({"status": "error", "seq": seq, "error_code": code, "message": message})
            }
        };
        if tx.send(chunk(ack, &mut first)).await.is_err() || failed {
            break;
        }
        seq += 1;
    }
    if as_array {
        let end = if first { "[]" } else { "]" };
        let _ = tx.send(Bytes::from(end)).await;
    }
}

/// `INSERT INTO target (cols) VALUES (literals);` for one JSON row.
fn insert_statement(target: &str, columns: &[Column], line: &str) -> Result<String, String> {
    let row: Map<String, Json> = match serde_json::from_str(line) {
        Ok(Json::Object(m)) => m,
        Ok(_) => return Err("each row must be a JSON object".to_string()),
        Err(e) => return Err(format!("malformed JSON row: {e}")),
    };
    let mut names = Vec::new();
    let mut values = Vec::new();
    for (key, value) in &row {
        let column = columns
            .iter()
            .find(|c| c.name == *key)
            .or_else(|| columns.iter().find(|c| c.name == key.to_uppercase()))
            .ok_or_else(|| format!("{target} has no column {key}"))?;
        names.push(ident(&column.name));
        values.push(literal(value, &column.ty)?);
    }
    Ok(format!(
        "INSERT INTO {} ({}) VALUES ({});",
        ident(target),
        names.join(", "),
        values.join(", ")
    ))
}

/// A quoted identifier.
fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A quoted string literal.
fn string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A SQL literal for a JSON value of a column's type.
fn literal(v: &Json, ty: &SqlType) -> Result<String, String> {
    Ok(match (v, ty) {
        (Json::Null, _) => "NULL".to_string(),
        (Json::Bool(b), _) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        (Json::Number(n), SqlType::String) => string(&n.to_string()),
        (Json::Number(n), _) => n.to_string(),
        (Json::String(s), _) => string(s),
        (Json::Array(items), SqlType::Array(member)) => {
            let items: Result<Vec<_>, _> = items.iter().map(|i| literal(i, member)).collect();
            format!("ARRAY[{}]", items?.join(", "))
        }
        (Json::Object(map), SqlType::Map(_, value_ty)) => {
            let entries: Result<Vec<_>, String> = map
                .iter()
                .map(|(k, v)| Ok(format!("{} := {}", string(k), literal(v, value_ty)?)))
                .collect();
            format!("MAP({})", entries?.join(", "))
        }
        (Json::Object(map), SqlType::Struct(fields)) => {
            let entries: Result<Vec<_>, String> = map
                .iter()
                .map(|(k, v)| {
                    let (name, fty) = fields
                        .iter()
                        .find(|(n, _)| n == k || *n == k.to_uppercase())
                        .ok_or_else(|| format!("the struct has no field {k}"))?;
                    Ok(format!("{} := {}", ident(name), literal(v, fty)?))
                })
                .collect();
            format!("STRUCT({})", entries?.join(", "))
        }
        (other, ty) => return Err(format!("{other} is not a value of type {ty}")),
    })
}

/// A request body cut into lines as its frames arrive (the last line may
/// lack its newline; blank lines are skipped).
struct Lines {
    stream: BodyDataStream,
    buf: Vec<u8>,
    done: bool,
}

impl Lines {
    fn new(stream: BodyDataStream) -> Self {
        Lines {
            stream,
            buf: Vec::new(),
            done: false,
        }
    }

    async fn next(&mut self) -> Option<Result<String, ApiError>> {
        loop {
            if let Some(at) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=at).collect();
                match text(&line[..at]) {
                    Ok(l) if l.trim().is_empty() => continue,
                    other => return Some(other),
                }
            }
            if self.done {
                if self.buf.iter().all(u8::is_ascii_whitespace) {
                    return None;
                }
                let rest = std::mem::take(&mut self.buf);
                return Some(text(&rest));
            }
            match self.stream.next().await {
                Some(Ok(bytes)) => self.buf.extend_from_slice(&bytes),
                Some(Err(e)) => {
                    self.done = true;
                    self.buf.clear();
                    return Some(Err(ApiError::generic(
                        codes::BAD_REQUEST,
                        format!("reading the request body: {e}"),
                    )));
                }
                None => self.done = true,
            }
        }
    }
}

fn text(bytes: &[u8]) -> Result<String, ApiError> {
    String::from_utf8(bytes.to_vec())
        .map(|s| s.trim().to_string())
        .map_err(|_| ApiError::generic(codes::BAD_REQUEST, "the request body is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_engine::types::ColumnKind;

    #[test]
    fn rows_become_insert_statements() {
        let cols = vec![
            Column::new("ID", SqlType::String, ColumnKind::Key),
            Column::new("N", SqlType::Int, ColumnKind::Value),
            Column::new(
                "TAGS",
                SqlType::Array(Box::new(SqlType::String)),
                ColumnKind::Value,
            ),
        ];
        assert_eq!(
            insert_statement("S", &cols, r#"{"id":"it's","N":2,"tags":["a"]}"#),
            Ok("INSERT INTO `S` (`ID`, `N`, `TAGS`) VALUES ('it''s', 2, ARRAY['a']);".to_string())
        );
        assert!(insert_statement("S", &cols, r#"{"nope":1}"#).is_err());
        assert!(insert_statement("S", &cols, "[1]").is_err());
    }
}
