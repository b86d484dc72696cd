//! `/ws/query`: ksqlDB's WebSocket query endpoint. A GET whose `request`
//! URL parameter holds `{"ksql": ..., "streamsProperties": {...},
//! "sessionVariables": {...}}` is upgraded to a WebSocket; the query's
//! columns are sent as the first text message, then one message per row
//! (`{"row":{"columns":[...]}}`), then `{"error":"done"}` and a normal
//! close when a pull query or a LIMIT ends it. A failure is sent as
//! `{"error": message}` and closes the socket with its code (1003 for a
//! bad request, 1011 for a query that failed while running). Queries are
//! run, shared and buffered as on the other query endpoints.

use crate::error::ApiError;
use crate::query::{open, Format, WS_DONE};
use crate::request::statement_request;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::response::Response;

/// Close code of a request that cannot be run (ksqlDB's choice).
const INVALID_REQUEST: u16 = 1003;
/// Close code of a query that failed while running.
const INTERNAL_ERROR: u16 = 1011;
/// Close code of an answer that is complete.
const NORMAL: u16 = 1000;
/// Close reasons are limited to 123 bytes.
const MAX_REASON: usize = 123;

/// GET `/ws/query?request=...`.
pub async fn handle(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    ws: WebSocketUpgrade,
) -> Response {
    let request = request_param(query.as_deref().unwrap_or(""));
    ws.on_upgrade(move |socket| serve(state, request, socket))
}

/// The decoded `request` parameter of a query string.
fn request_param(query: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(name, _)| *name == "request")
        .and_then(|(_, value)| percent_decode(value))
}

/// `%XX` escapes and `+` (a space) of a URL parameter decoded; None when
/// the bytes are not UTF-8 or an escape is malformed.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// An error body's message.
fn message(e: &ApiError) -> String {
    e.body["message"].as_str().unwrap_or("").to_string()
}

/// Runs the request over the socket.
async fn serve(state: AppState, request: Option<String>, mut socket: WebSocket) {
    let Some(request) = request.filter(|r| !r.is_empty()) else {
        return fail(socket, INVALID_REQUEST, "missing request parameter").await;
    };
    let req = match statement_request(request.as_bytes(), "ksql", "streamsProperties") {
        Ok(r) => r,
        Err(e) => {
            let text = format!("Error parsing request: {}", message(&e));
            return fail(socket, INVALID_REQUEST, &text).await;
        }
    };
    let mut answer = match open(state, req, Format::WebSocket).await {
        Ok(a) => a,
        Err(e) => return fail(socket, INVALID_REQUEST, &message(&e)).await,
    };
    let mut last: Option<Bytes> = None;
    loop {
        tokio::select! {
            chunk = answer.next() => match chunk {
                Some(chunk) => {
                    let Ok(text) = Utf8Bytes::try_from(chunk.clone()) else {
                        return fail(socket, INTERNAL_ERROR, "a message is not UTF-8").await;
                    };
                    if socket.send(Message::Text(text)).await.is_err() {
                        return;
                    }
                    last = Some(chunk);
                }
                None => break,
            },
            incoming = socket.recv() => match incoming {
                // The client closed or went away: dropping the answer
                // stops the query (or this client's share of it).
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
        }
    }
    // The last message says how the answer ended.
    let (code, reason) = match last {
        Some(l) if l == WS_DONE.as_bytes() => (NORMAL, "done".to_string()),
        Some(l) => {
            let error: serde_json::Value = serde_json::from_slice(&l).unwrap_or_default();
            let reason = error["error"].as_str().unwrap_or("the query ended");
            (INTERNAL_ERROR, reason.to_string())
        }
        None => (NORMAL, String::new()),
    };
    close(socket, code, &reason).await;
}

/// Sends `{"error": text}` and closes the socket with `code`.
async fn fail(mut socket: WebSocket, code: u16, text: &str) {
    tracing::debug!(code, "/ws/query refused: {text}");
    let body = serde_json::json!({ "error": text }).to_string();
    if socket.send(Message::Text(body.into())).await.is_ok() {
        close(socket, code, text).await;
    }
}

/// Closes the socket with `code` and the reason cut to 123 bytes.
async fn close(mut socket: WebSocket, code: u16, reason: &str) {
    let mut reason = reason.to_string();
    if reason.len() > MAX_REASON {
        let mut end = MAX_REASON - 3;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
        reason.push_str("...");
    }
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_parameter_is_decoded() {
        assert_eq!(
            request_param("version=1&request=%7B%22ksql%22%3A%22SELECT+1%3B%22%7D").as_deref(),
            Some(r#"{"ksql":"SELECT 1;"}"#)
        );
        assert_eq!(request_param("request=%7"), None);
        assert_eq!(request_param("other=1"), None);
        assert_eq!(request_param("request").as_deref(), Some(""));
    }
}
