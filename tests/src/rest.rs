//! The runner's REST mode: a Sluice server started in process on a free
//! loopback port over a case's engine ([`TestServer`]), and the checks of
//! what its endpoints answered against a case's `responses`, as ksqlDB's
//! REST query-validation runner makes them: each `/ksql` entity's `@type`;
//! each `/query` answer's header schema, rows and final message.

use crate::case::{QueryResponse, Response};
use crate::compare::compare_rows;
use anyhow::{anyhow, Context, Result};
use serde_json::Value as Json;
use sluice_engine::Engine;
use std::net::SocketAddr;
use std::sync::OnceLock;

/// The runtime every case's server runs on: started once per process, so
/// a server per case costs a listener and a task.
fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> =
        OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            // Statements run on the blocking threads, which need the
            // engine's query stack for deeply nested expressions.
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("qtt-server")
                .thread_stack_size(sluice_engine::runtime::THREAD_STACK)
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| anyhow!("cannot start the server runtime: {e}"))
}

/// A server over one case's engine; dropping it stops the server.
pub struct TestServer {
    /// Where it listens (`127.0.0.1:PORT`).
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestServer {
    /// Serves `engine` on a free loopback port.
    pub fn start(engine: Engine) -> Result<TestServer> {
        let runtime = runtime()?;
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").context("binding a loopback port")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let listener = {
            let _inside = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let state = sluice_server::AppState::new(engine, format!("http://{addr}/"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        runtime.spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = sluice_server::serve_state(state, listener, shutdown).await {
                eprintln!("qtt: the server on {addr} failed: {e}");
            }
        });
        Ok(TestServer {
            addr,
            stop: Some(stop),
        })
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// What one statement was answered over HTTP.
#[derive(Debug, Clone)]
pub enum Answer {
    /// The `/ksql` entity answered for it.
    Admin(Json),
    /// The entries of a `/query` v1 answer: header, rows, final message.
    Query {
        /// Whether it was a push query (rows compared in order).
        is_push: bool,
        /// The entries read.
        entries: Vec<Json>,
        /// Whether the response ended (rather than being closed by us).
        complete: bool,
    },
}

/// Parses a `/query` v1 body (`[{"header":...},\n{"row":...}...]`); a
/// body we stopped reading early lacks its closing `]`.
pub fn parse_query_body(text: &str) -> Result<(Vec<Json>, bool), String> {
    let trimmed = text.trim_end();
    if trimmed.is_empty() {
        return Ok((Vec::new(), false));
    }
    if let Ok(Json::Array(entries)) = serde_json::from_str::<Json>(trimmed) {
        return Ok((entries, true));
    }
    match serde_json::from_str::<Json>(&format!("{trimmed}]")) {
        Ok(Json::Array(entries)) => Ok((entries, false)),
        _ => Err(format!(
            "the /query body is not v1 JSON: {}",
            crate::compare::clip(text, 300)
        )),
    }
}

/// How many rows a `/query` v1 body read so far holds.
pub fn count_rows(text: &str) -> usize {
    text.matches("{\"row\":").count()
}

/// The error an answer's entries carry (`{"errorMessage": ...}`).
pub fn error_entry(entries: &[Json]) -> Option<&Json> {
    entries.iter().find_map(|e| e.get("errorMessage"))
}

/// Compares every statement's expected response with its HTTP answer.
pub fn check_responses(responses: &[Response], answers: &[Option<Answer>]) -> Result<(), String> {
    for (i, response) in responses.iter().enumerate() {
        let at = format!("statement #{}", i + 1);
        let answer = answers.get(i).and_then(Option::as_ref);
        match (response, answer) {
            (Response::Other(_), _) => {}
            (Response::Admin(ty), Some(Answer::Admin(entity))) => {
                let actual = entity.get("@type").and_then(Json::as_str);
                if let Some(ty) = ty {
                    if actual != Some(ty.as_str()) {
                        return Err(format!(
                            "{at}: /ksql answered @type {actual:?}, expected {ty:?}"
                        ));
                    }
                }
            }
            (Response::Admin(ty), _) => {
                return Err(format!(
                    "{at}: expected a /ksql entity ({}) but got {}",
                    ty.as_deref().unwrap_or("any"),
                    describe(answer)
                ));
            }
            (
                Response::Query(expected),
                Some(Answer::Query {
                    is_push,
                    entries,
                    complete,
                }),
            ) => check_query(expected, entries, *is_push, *complete)
                .map_err(|e| format!("{at}: {e}"))?,
            (Response::Query(_), _) => {
                return Err(format!(
                    "{at}: expected a /query answer but got {}",
                    describe(answer)
                ));
            }
        }
    }
    Ok(())
}

fn describe(answer: Option<&Answer>) -> String {
    match answer {
        None => "none".to_string(),
        Some(Answer::Admin(e)) => format!("entity {}", crate::compare::clip(&e.to_string(), 200)),
        Some(Answer::Query { .. }) => "a /query answer".to_string(),
    }
}

/// Compares one `/query` answer: the header's schema text, the rows (in
/// order for push queries) and the final message.
fn check_query(
    expected: &QueryResponse,
    entries: &[Json],
    is_push: bool,
    complete: bool,
) -> Result<(), String> {
    let header = entries
        .first()
        .and_then(|e| e.get("header"))
        .ok_or("the answer has no header")?;
    if let Some(schema) = &expected.schema {
        let actual = header.get("schema").and_then(Json::as_str).unwrap_or("");
        if actual != schema {
            return Err(format!("header schema is `{actual}`, expected `{schema}`"));
        }
    }
    let mut rows = Vec::new();
    let mut final_message = None;
    for e in &entries[1..] {
        if let Some(row) = e.get("row") {
            let columns = row
                .get("columns")
                .and_then(Json::as_array)
                .ok_or_else(|| format!("a row without columns: {e}"))?;
            rows.push(columns.clone());
        } else if let Some(m) = e.get("finalMessage") {
            final_message = Some(m.as_str().map_or_else(|| m.to_string(), str::to_string));
        } else {
            return Err(format!("unexpected entry {e}"));
        }
    }
    if let Some(why) = compare_rows(&expected.rows, &rows, is_push) {
        return Err(why);
    }
    if final_message != expected.final_message {
        return Err(format!(
            "final message {final_message:?}, expected {:?}",
            expected.final_message
        ));
    }
    if !is_push && !complete {
        return Err("the pull query's answer did not end".to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_read_in_part_still_parse() {
        let body = "[{\"header\":{\"queryId\":\"q\",\"schema\":\"`A` INTEGER\"}},\n{\"row\":{\"columns\":[1]}}";
        let (entries, complete) = parse_query_body(body).unwrap();
        assert_eq!((entries.len(), complete), (2, false));
        assert_eq!(count_rows(body), 1);
        let (entries, complete) = parse_query_body(&format!("{body}]")).unwrap();
        assert_eq!((entries.len(), complete), (2, true));
    }

    #[test]
    fn query_answers_compare_header_rows_and_final_message() {
        let expected = QueryResponse {
            schema: Some("`A` INTEGER".into()),
            rows: vec![vec![json!(1)]],
            final_message: Some("Limit Reached".into()),
        };
        let entries = vec![
            json!({"header": {"queryId": "q", "schema": "`A` INTEGER"}}),
            json!({"row": {"columns": [1.0]}}),
            json!({"finalMessage": "Limit Reached"}),
        ];
        assert_eq!(check_query(&expected, &entries, true, true), Ok(()));
        assert!(check_query(&expected, &entries[..2], true, false).is_err());
    }
}
