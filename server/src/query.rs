//! The query endpoints: `/query` (v1: one chunked JSON array of a header,
//! rows and a final message) and `/query-stream` (v2: delimited lines or a
//! JSON array), each row its own flushed chunk or DATA frame; and
//! `/close-query`, which stops a push query by id.
//!
//! A query runs on a blocking thread that feeds a bounded channel; the
//! response body drains it. A push query is registered before its header
//! is sent and ends when its LIMIT is reached, when `/close-query` names
//! it, or when the client goes away (the channel closes).

use crate::error::{codes, ApiError};
use crate::fanout::{self, Answer, Delivery, Fanout, Offer, Subscriber};
use crate::metrics::QueryKind;
use crate::request::{
    await_command, json_object, open_session, statement_request, StatementRequest,
};
use crate::{json, AppState};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value as Json};
use sluice_engine::{Engine, PushQuery, ResultColumn, RowSet, StatementResult};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// How long a push query waits for rows before checking whether it was
/// closed or its client left.
const POLL: Duration = Duration::from_millis(100);

/// The media type of the v2 delimited format.
pub const DELIMITED: &str = "application/vnd.ksqlapi.delimited.v1";
/// The last message of a `/ws/query` answer that ended normally.
pub const WS_DONE: &str = "{\"error\":\"done\"}";
/// The media type of the v1 format.
pub const V1: &str = "application/vnd.ksql.v1+json";

/// A query response's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `[{"header":...},\n{"row":...},\n{"finalMessage":...}]`.
    V1,
    /// A metadata line, then one JSON array per row, each ended by `\n`.
    Delimited,
    /// `[{metadata},[row],...]` without newlines.
    JsonArray,
    /// `/ws/query`'s messages: the columns (`[{"name","schema"},...]`),
    /// then `{"row":{"columns":[...]}}` each, then `{"error":"done"}` (or
    /// the error that ended the query).
    WebSocket,
}

impl Format {
    /// Picks the format from the Accept header: `/query` answers v1 unless
    /// asked for `*/*` or the delimited type; `/query-stream` answers
    /// delimited unless asked for JSON.
    pub fn negotiate(accept: Option<&str>, v1_endpoint: bool) -> Format {
        let Some(accept) = accept.map(str::to_ascii_lowercase) else {
            return if v1_endpoint {
                Format::V1
            } else {
                Format::Delimited
            };
        };
        if accept.contains(DELIMITED) {
            Format::Delimited
        } else if accept.contains(V1) {
            Format::V1
        } else if accept.contains("application/json") {
            if v1_endpoint {
                Format::V1
            } else {
                Format::JsonArray
            }
        } else {
            Format::Delimited
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Delimited => DELIMITED,
            Format::V1 | Format::JsonArray | Format::WebSocket => "application/json",
        }
    }

    /// The first chunk: the query's id and columns.
    pub(crate) fn header(self, query_id: &str, columns: &[ResultColumn], pull: bool) -> String {
        match self {
            Format::V1 => {
                let header = json!({"header": {
                    "queryId": query_id,
                    "schema": json::schema_text(columns, pull),
                }});
                format!("[{header}")
            }
            Format::Delimited | Format::JsonArray => {
                let meta = json!({
                    "queryId": query_id,
                    "columnNames": columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
                    "columnTypes": columns.iter().map(|c| c.ty.to_string()).collect::<Vec<_>>(),
                });
                if self == Format::Delimited {
                    format!("{meta}\n")
                } else {
                    format!("[{meta}")
                }
            }
            Format::WebSocket => Json::Array(
                columns
                    .iter()
                    .map(|c| {
                        let mut field = serde_json::Map::new();
                        field.insert("name".into(), c.name.clone().into());
                        field.insert("schema".into(), json::schema_info(&c.ty));
                        if c.key {
                            field.insert("type".into(), "KEY".into());
                        }
                        Json::Object(field)
                    })
                    .collect(),
            )
            .to_string(),
        }
    }

    /// A push query's row: in `/query` answers a table's tombstone says so
    /// (`"tombstone":true`), as ksqlDB writes it.
    pub(crate) fn push_row(self, row: &sluice_engine::results::PushRow) -> String {
        match self {
            Format::V1 if row.tombstone => format!(
                ",\n{}",
                json!({"row": {"columns": json::row(&row.values), "tombstone": true}})
            ),
            _ => self.row(&row.values),
        }
    }

    pub(crate) fn row(self, values: &[sluice_engine::types::Value]) -> String {
        let row = json::row(values);
        match self {
            Format::V1 => format!(",\n{}", json!({"row": {"columns": row}})),
            Format::Delimited => format!("{row}\n"),
            Format::JsonArray => format!(",{row}"),
            Format::WebSocket => json!({"row": {"columns": row}}).to_string(),
        }
    }

    /// The last chunk; `limit` when the push query reached its LIMIT.
    pub(crate) fn end(self, limit: bool) -> Option<String> {
        match (self, limit) {
            (Format::V1, true) => Some(",\n{\"finalMessage\":\"Limit Reached\"}]".to_string()),
            (Format::V1, false) | (Format::JsonArray, _) => Some("]".to_string()),
            (Format::Delimited, _) => None,
            (Format::WebSocket, _) => Some(WS_DONE.to_string()),
        }
    }

    /// The last chunk of a pull query's answer: ksqlDB ends a v1 scan of a
    /// stream with `Limit Reached` when it stopped at its LIMIT, otherwise
    /// with `Query Completed`.
    fn end_pull(self, over_stream: bool, limit_reached: bool) -> Option<String> {
        match (self, over_stream) {
            (Format::V1, true) if limit_reached => self.end(true),
            (Format::V1, true) => Some(",\n{\"finalMessage\":\"Query Completed\"}]".to_string()),
            _ => self.end(false),
        }
    }

    /// A failure after the header was sent.
    pub(crate) fn error(self, err: &sluice_engine::Error) -> String {
        self.error_text(u64::from(err.code()), &err.to_string())
    }

    /// The last chunk of a response ended by an error after its header.
    pub(crate) fn error_chunk(self, code: u64, message: &str) -> Bytes {
        Bytes::from(self.error_text(code, message))
    }

    fn error_text(self, code: u64, message: &str) -> String {
        let e = json!({
            "@type": "generic_error",
            "error_code": code,
            "message": message,
        });
        match self {
            Format::V1 => format!(",\n{}]", json!({"errorMessage": e})),
            Format::Delimited => format!("{e}\n"),
            Format::JsonArray => format!(",{e}]"),
            Format::WebSocket => json!({ "error": message }).to_string(),
        }
    }
}

/// POST `/query`: `{"ksql", "streamsProperties", "sessionVariables",
/// "commandSequenceNumber"}`.
pub async fn handle_v1(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let format = Format::negotiate(accept(&headers), true);
    match statement_request(&body, "ksql", "streamsProperties") {
        Ok(req) => run(state, req, format).await,
        Err(e) => e.into_response(),
    }
}

/// POST `/query-stream`: `{"sql", "properties", "sessionVariables"}`.
pub async fn handle_v2(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let format = Format::negotiate(accept(&headers), false);
    match statement_request(&body, "sql", "properties") {
        Ok(req) => run(state, req, format).await,
        Err(e) => e.into_response(),
    }
}

/// POST `/close-query`: `{"queryId"}`; 200 with an empty body, or 400.
pub async fn close(State(state): State<AppState>, body: Bytes) -> Response {
    let map = match json_object(&body) {
        Ok(m) => m,
        Err(e) => return e.into_response(),
    };
    let Some(id) = map.get("queryId").and_then(Json::as_str) else {
        return ApiError::generic(codes::BAD_REQUEST, "the request body needs \"queryId\"")
            .into_response();
    };
    if state.queries.close(id) {
        tracing::debug!(query_id = id, "query closed by request");
        Body::empty().into_response()
    } else {
        ApiError::generic(codes::BAD_REQUEST, format!("No query with id {id}")).into_response()
    }
}

/// The Accept header's value.
pub fn accept(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())
}

/// Answers a query request: a client asking a shareable push query that
/// runs already joins it; otherwise the query starts on a blocking thread
/// and the answer waits until it has started (or failed to): the status
/// line depends on that.
async fn run(state: AppState, req: StatementRequest, format: Format) -> Response {
    match open(state, req, format).await {
        Ok(answer) => (
            [(header::CONTENT_TYPE, format.content_type())],
            Body::from_stream(answer.into_stream()),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// Starts answering a query request in `format`: a client asking a
/// shareable push query that runs already joins it; a lookup in a view held
/// in memory is answered here, without the hop to a blocking thread;
/// anything else starts on a blocking thread, and this returns once it has
/// started (or failed to).
pub(crate) async fn open(
    state: AppState,
    req: StatementRequest,
    format: Format,
) -> Result<Answer, ApiError> {
    await_command(&state, &req).await?;
    let key = format!(
        "{format:?}\u{0}{}\u{0}{:?}\u{0}{:?}",
        req.sql.trim(),
        req.properties,
        req.variables
    );
    let began = Instant::now();
    if let Some(delivery) = state.fanout.join(&key, format, &state.queries) {
        state.metrics.latency(QueryKind::Push, began.elapsed());
        return Ok(Answer::Streamed(delivery));
    }
    if req.variables.is_empty() {
        let session = open_session(&state.engine, &req)?;
        if let Some(answer) = session.pull_if_cached(req.sql.trim()) {
            return match answer.map_err(|e| ApiError::engine(&e, req.sql.trim(), Vec::new()))? {
                StatementResult::Rows(set) => {
                    let chunks = rows_chunks(format, &set);
                    state.metrics.latency(QueryKind::Pull, began.elapsed());
                    Ok(Answer::Ready(chunks.into()))
                }
                _ => Err(ApiError::internal("a pull query answered no rows")),
            };
        }
    }
    if state.engine.pull_from_view(&req.sql) {
        return match start(&state.engine, &req)? {
            StatementResult::Rows(set) => {
                let chunks = rows_chunks(format, &set);
                state.metrics.latency(QueryKind::Pull, began.elapsed());
                Ok(Answer::Ready(chunks.into()))
            }
            _ => Err(ApiError::internal("a pull query answered no rows")),
        };
    }
    let (started_tx, started_rx) = oneshot::channel();
    let (engine, registry, fanout) = (
        state.engine.clone(),
        state.queries.clone(),
        state.fanout.clone(),
    );
    let (delivery_tx, delivery_rx) = oneshot::channel();
    tokio::task::spawn_blocking(move || {
        let ctx = Produce {
            engine: &engine,
            registry: &registry,
            fanout: &fanout,
            format,
        };
        ctx.produce(&req, key, started_tx, delivery_tx);
    });
    match started_rx.await {
        Ok(Ok(kind)) => match delivery_rx.await {
            Ok(delivery) => {
                state.metrics.latency(kind, began.elapsed());
                Ok(Answer::Streamed(delivery))
            }
            Err(_) => Err(ApiError::internal("the query task ended before answering")),
        },
        Ok(Err(e)) => Err(e),
        Err(_) => Err(ApiError::internal("the query task ended before starting")),
    }
}

/// What a query's blocking thread works with.
struct Produce<'a> {
    engine: &'a Engine,
    registry: &'a QueryRegistry,
    fanout: &'a Fanout,
    format: Format,
}

impl Produce<'_> {
    /// Runs the query, reporting its start through `started`, then handing
    /// the response its delivery and filling it.
    fn produce(
        &self,
        req: &StatementRequest,
        key: String,
        started: oneshot::Sender<Result<QueryKind, ApiError>>,
        delivery: oneshot::Sender<Delivery>,
    ) {
        let format = self.format;
        match start(self.engine, req) {
            Err(e) => {
                let _ = started.send(Err(e));
            }
            Ok(StatementResult::Rows(set)) => {
                let (sub, d) = fanout::subscriber(&set.query_id, Arc::default());
                let _ = started.send(Ok(QueryKind::Pull));
                let _ = delivery.send(d);
                let tx = sub.sender();
                for chunk in rows_chunks(format, &set) {
                    if tx.blocking_send(chunk).is_err() {
                        return;
                    }
                }
            }
            Ok(StatementResult::Push(query) | StatementResult::Print(query)) => {
                let id = query.query_id();
                let closed = self.registry.register(&id);
                let (sub, d) = fanout::subscriber(&id, closed);
                let _ = started.send(Ok(QueryKind::Push));
                let _ = delivery.send(d);
                tracing::debug!(query_id = id, "push query started");
                if !sub.send_now(Bytes::from(format.header(&id, &query.columns(), false))) {
                    self.registry.remove(&id);
                    return;
                }
                if query.shareable() {
                    self.fanout.serve(key, query, format, sub, self.registry);
                } else {
                    stream_push(query, format, &sub);
                    self.registry.remove(&id);
                }
                tracing::debug!(query_id = id, "push query ended");
            }
            Ok(_) => {
                let _ = started.send(Err(ApiError::statement(
                    codes::BAD_REQUEST,
                    "the query endpoints run SELECT and PRINT statements; send other statements to /ksql",
                    req.sql.trim(),
                    Vec::new(),
                )));
            }
        }
    }
}

/// A pull query's answer: its header, rows and end, one chunk each.
fn rows_chunks(format: Format, set: &RowSet) -> Vec<Bytes> {
    let mut chunks = Vec::with_capacity(set.rows.len() + 2);
    chunks.push(Bytes::from(format.header(
        &set.query_id,
        &set.columns,
        !set.over_stream,
    )));
    chunks.extend(set.rows.iter().map(|row| Bytes::from(format.row(row))));
    chunks.extend(
        format
            .end_pull(set.over_stream, set.limit_reached)
            .map(Bytes::from),
    );
    chunks
}

/// Runs the request's single statement in a fresh session.
fn start(engine: &Engine, req: &StatementRequest) -> Result<StatementResult, ApiError> {
    let session = open_session(engine, req)?;
    let text = req.sql.trim();
    let pieces = sluice_engine::sql::split_statements(&req.sql)
        .map_err(|e| ApiError::engine(&e, text, Vec::new()))?;
    let [piece] = pieces.as_slice() else {
        return Err(ApiError::statement(
            codes::BAD_REQUEST,
            format!(
                "the query endpoints run exactly one statement, found {}",
                pieces.len()
            ),
            text,
            Vec::new(),
        ));
    };
    session
        .execute_statement(piece)
        .map_err(|e| ApiError::engine(&e, piece.text.trim(), Vec::new()))
}

/// Streams a push query's rows (its header was sent) until it ends, its
/// client leaves or falls too far behind, or `/close-query` names it.
fn stream_push(mut query: PushQuery, format: Format, sub: &Subscriber) {
    loop {
        if sub.closed() {
            sub.finish(format.end(false).map(Bytes::from));
            return;
        }
        match query.next_changes(POLL) {
            Ok(Some(rows)) => {
                for row in &rows {
                    if sub.offer(Bytes::from(format.push_row(row)), format) != Offer::Taken {
                        return;
                    }
                }
            }
            Ok(None) => {
                sub.finish(format.end(true).map(Bytes::from));
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "push query failed");
                sub.finish(Some(Bytes::from(format.error(&e))));
                return;
            }
        }
    }
}

/// The push queries running for clients, by id, each with the flag that
/// closes it.
#[derive(Clone, Default)]
pub struct QueryRegistry {
    queries: Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<AtomicBool>>>>,
}

impl QueryRegistry {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Arc<AtomicBool>>> {
        self.queries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a running query; the flag returned closes it.
    pub fn register(&self, id: &str) -> Arc<AtomicBool> {
        let flag = Arc::new(AtomicBool::new(false));
        self.lock().insert(id.to_string(), flag.clone());
        flag
    }

    /// Forgets a query that ended.
    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Closes a running query; false when none has that id.
    pub fn close(&self, id: &str) -> bool {
        match self.lock().get(id) {
            Some(flag) => {
                flag.store(true, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }

    /// Closes every running query (the server is stopping).
    pub fn close_all(&self) {
        for flag in self.lock().values() {
            flag.store(true, Ordering::SeqCst);
        }
    }

    /// How many queries run.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none runs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_picks_the_format() {
        assert_eq!(Format::negotiate(None, true), Format::V1);
        assert_eq!(Format::negotiate(None, false), Format::Delimited);
        assert_eq!(Format::negotiate(Some("*/*"), true), Format::Delimited);
        assert_eq!(
            Format::negotiate(Some("application/json"), true),
            Format::V1
        );
        assert_eq!(
            Format::negotiate(Some("application/json"), false),
            Format::JsonArray
        );
        assert_eq!(Format::negotiate(Some(V1), false), Format::V1);
        assert_eq!(Format::negotiate(Some(DELIMITED), true), Format::Delimited);
    }
}
