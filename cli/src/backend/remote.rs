//! The remote backend: a Sluice (or ksqlDB) server reached over its REST
//! API with a small blocking client (ureq over rustls: no async runtime in
//! the shell, a few dependencies, https with the ring provider the server
//! already uses). Statements go to `/ksql`, queries to `/query-stream`
//! (stopped with `/close-query`); SET, UNSET, DEFINE and UNDEFINE are kept
//! here and sent with every request, as ksqlDB's CLI does.

use super::{entities, Backend, Outcome, RowStream, StatementError};
use anyhow::{anyhow, Context, Result};
use base64::Engine as _;
use serde_json::{json, Value as Json};
use sluice_engine::results::{ResultColumn, RowSet, StatementResult};
use sluice_engine::sql::ast::Statement;
use sluice_engine::sql::StatementText;
use sluice_engine::types::Value;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

/// The media type of `/query-stream`'s line-delimited answer.
const DELIMITED: &str = "application/vnd.ksqlapi.delimited.v1";

/// A server and this shell's session on it.
pub struct Remote {
    agent: ureq::Agent,
    /// The server's URL without a trailing `/`.
    base: String,
    /// The `Authorization` header, with `--user`.
    auth: Option<String>,
    properties: BTreeMap<String, String>,
    variables: BTreeMap<String, String>,
    /// `/info`'s version and status, for the banner.
    version: String,
    status: String,
}

impl Remote {
    /// Connects: asks `/info`, so that a server that is down, refuses the
    /// credentials or is not a ksqlDB-compatible server is reported in one
    /// line before the prompt.
    /// With `ca`, an https:// server's certificate must chain to one of
    /// the PEM certificates in that file (a self-signed certificate can be
    /// the file itself) instead of Mozilla's roots.
    pub fn connect(
        url: &str,
        user: Option<&str>,
        password: Option<&str>,
        ca: Option<&Path>,
    ) -> Result<Remote> {
        let base = url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            anyhow::bail!("the server URL must start with http:// or https://: {url}");
        }
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(path) = ca {
            tls = tls.root_certs(ca_certificates(path)?);
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(tls.build())
            .http_status_as_error(false)
            .proxy(None)
            .timeout_connect(Some(Duration::from_secs(10)))
            .build()
            .into();
        let auth = user.map(|u| {
            let pair = format!("{u}:{}", password.unwrap_or(""));
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        });
        let mut remote = Remote {
            agent,
            base,
            auth,
            properties: BTreeMap::new(),
            variables: BTreeMap::new(),
            version: String::new(),
            status: String::new(),
        };
        let (code, body) = remote
            .get("/info")
            .map_err(|e| anyhow!("could not reach the server at {url}: {e}"))?;
        match code {
            200 => {}
            401 | 403 => anyhow::bail!(
                "the server at {url} refused the credentials (HTTP {code}){}",
                if remote.auth.is_none() {
                    "; give them with --user and --password"
                } else {
                    ""
                }
            ),
            _ => anyhow::bail!("the server at {url} answered /info with HTTP {code}"),
        }
        // `/info` is open without credentials: ask something that is not.
        let (code, _) = remote
            .get("/status")
            .map_err(|e| anyhow!("could not reach the server at {url}: {e}"))?;
        if code == 401 || code == 403 {
            anyhow::bail!(
                "the server at {url} refused the credentials (HTTP {code}){}",
                if remote.auth.is_none() {
                    "; give them with --user and --password"
                } else {
                    ""
                }
            );
        }
        let info: Json = serde_json::from_str(&body)
            .ok()
            .and_then(|j: Json| j.get("KsqlServerInfo").cloned())
            .ok_or_else(|| anyhow!("{url} did not answer /info as a ksqlDB server does"))?;
        remote.version = info["version"].as_str().unwrap_or("?").to_string();
        remote.status = info["serverStatus"].as_str().unwrap_or("?").to_string();
        Ok(remote)
    }

    fn get(&self, path: &str) -> Result<(u16, String), ureq::Error> {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        if let Some(auth) = &self.auth {
            req = req.header("Authorization", auth);
        }
        let resp = req.call()?;
        let code = resp.status().as_u16();
        Ok((code, resp.into_body().read_to_string()?))
    }

    fn post(
        &self,
        path: &str,
        accept: &str,
        body: &Json,
    ) -> Result<ureq::http::Response<ureq::Body>, StatementError> {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/json")
            .header("Accept", accept);
        if let Some(auth) = &self.auth {
            req = req.header("Authorization", auth);
        }
        req.send(body.to_string().as_bytes()).map_err(|e| {
            StatementError(format!("could not reach the server at {}: {e}", self.base))
        })
    }

    /// The statement's text padded so that it starts at its place in the
    /// script: the server's errors then name the script's line and column.
    fn placed(piece: &StatementText) -> String {
        let line = usize::try_from(piece.pos.line.saturating_sub(1)).unwrap_or(0);
        let col = usize::try_from(piece.pos.col.saturating_sub(1)).unwrap_or(0);
        format!("{}{}{}", "\n".repeat(line), " ".repeat(col), piece.text)
    }

    /// SET, UNSET, DEFINE, UNDEFINE: this session's, answered here with
    /// the engine's messages.
    fn session_statement(&mut self, stmt: &Statement) -> Option<Result<String, StatementError>> {
        Some(Ok(match stmt {
            Statement::Set { name, value } => {
                self.properties.insert(name.clone(), value.clone());
                format!("Successfully changed local property '{name}' to '{value}'.")
            }
            Statement::Unset { name } => {
                self.properties.remove(name);
                format!("Successfully unset local property '{name}'.")
            }
            Statement::Define { name, value } => {
                self.variables.insert(name.clone(), value.clone());
                format!("Defined variable {name}")
            }
            Statement::Undefine { name } => {
                let key = self
                    .variables
                    .keys()
                    .find(|k| k.eq_ignore_ascii_case(name))
                    .cloned();
                match key {
                    Some(k) => {
                        self.variables.remove(&k);
                        format!("Undefined variable {name}")
                    }
                    None => {
                        return Some(Err(StatementError(format!(
                            "Variable '{name}' is undefined"
                        ))))
                    }
                }
            }
            _ => return None,
        }))
    }

    /// `/ksql` for statements that are not queries.
    fn statement(&self, piece: &StatementText) -> Result<Outcome, StatementError> {
        let body = json!({
            "ksql": Self::placed(piece),
            "streamsProperties": self.properties,
            "sessionVariables": self.variables,
        });
        let resp = self.post("/ksql", "application/json", &body)?;
        let code = resp.status().as_u16();
        let text = read_body(resp)?;
        let answer: Json = parse_answer(&text, code)?;
        if code != 200 {
            return Err(error_message(&answer, code));
        }
        match answer.as_array().and_then(|a| a.first()) {
            Some(entity) => entities::result(entity)
                .map(|r| Outcome::Done(Box::new(r)))
                .map_err(|e| StatementError(format!("{e:#}"))),
            // INSERT VALUES and the like: no entity, nothing to print.
            None => Ok(Outcome::Done(Box::new(StatementResult::Message(
                String::new(),
            )))),
        }
    }

    /// Starts a query on `/query-stream`: its header read, its rows
    /// coming through a reader thread.
    fn query(&self, piece: &StatementText) -> Result<Stream, StatementError> {
        let body = json!({
            "sql": Self::placed(piece),
            "properties": self.properties,
            "sessionVariables": self.variables,
        });
        let resp = self.post("/query-stream", DELIMITED, &body)?;
        let code = resp.status().as_u16();
        if code != 200 {
            let text = read_body(resp)?;
            return Err(error_message(&parse_answer(&text, code)?, code));
        }
        let mut lines = std::io::BufReader::new(resp.into_body().into_reader()).lines();
        let header = match lines.next() {
            Some(Ok(line)) => serde_json::from_str::<Json>(&line)
                .map_err(|e| StatementError(format!("the server sent a bad query header: {e}")))?,
            Some(Err(e)) => return Err(StatementError(format!("reading the query: {e}"))),
            None => return Err(StatementError("the server ended the query at once".into())),
        };
        let columns = entities::columns(&header).map_err(|e| StatementError(format!("{e:#}")))?;
        let query_id = header["queryId"].as_str().unwrap_or("").to_string();
        let (tx, rx) = mpsc::sync_channel(256);
        let row_columns = columns.clone();
        std::thread::spawn(move || {
            for line in lines {
                let item = line
                    .map_err(|e| anyhow!("reading the query's rows: {e}"))
                    .and_then(|l| parse_row(&l, &row_columns));
                let failed = item.is_err();
                if tx.send(item).is_err() || failed {
                    return;
                }
            }
        });
        Ok(Stream {
            agent: self.agent.clone(),
            close: format!("{}/close-query", self.base),
            auth: self.auth.clone(),
            query_id,
            columns,
            rows: rx,
            done: false,
        })
    }
}

/// One line after the header: a row, or the error that ended the query.
/// The CA certificates in a PEM file, to trust instead of Mozilla's roots.
fn ca_certificates(path: &Path) -> Result<ureq::tls::RootCerts> {
    let pem =
        std::fs::read(path).with_context(|| format!("reading the CA file {}", path.display()))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        // A key next to the certificate is not needed to trust it.
        let item = item.with_context(|| format!("reading the CA file {}", path.display()))?;
        if let ureq::tls::PemItem::Certificate(c) = item {
            certs.push(c);
        }
    }
    if certs.is_empty() {
        anyhow::bail!("the CA file {} holds no PEM certificate", path.display());
    }
    Ok(ureq::tls::RootCerts::new_with_certs(&certs))
}

fn parse_row(line: &str, columns: &[ResultColumn]) -> Result<Vec<Value>> {
    let j: Json = serde_json::from_str(line).context("the server sent a row that is not JSON")?;
    if j.is_object() {
        let message = j["message"].as_str().unwrap_or("the query failed");
        return Err(anyhow!("{message}"));
    }
    entities::row(&j, columns)
}

fn read_body(resp: ureq::http::Response<ureq::Body>) -> Result<String, StatementError> {
    resp.into_body()
        .read_to_string()
        .map_err(|e| StatementError(format!("reading the server's answer: {e}")))
}

fn parse_answer(text: &str, code: u16) -> Result<Json, StatementError> {
    serde_json::from_str(text).map_err(|_| match code {
        401 | 403 => StatementError(format!("the server refused the credentials (HTTP {code})")),
        _ => StatementError(format!("the server answered HTTP {code}: {}", text.trim())),
    })
}

/// ksqlDB's error entity's message.
fn error_message(answer: &Json, code: u16) -> StatementError {
    match answer.get("message").and_then(Json::as_str) {
        Some(m) => StatementError(m.to_string()),
        None => StatementError(format!("the server answered HTTP {code}: {answer}")),
    }
}

impl Backend for Remote {
    fn run(&mut self, piece: &StatementText) -> Result<Outcome, StatementError> {
        let parsed = sluice_engine::sql::parse_statement(&piece.text, piece.pos).ok();
        if let Some(stmt) = &parsed {
            if let Some(answer) = self.session_statement(stmt) {
                return answer.map(|m| Outcome::Done(Box::new(StatementResult::Message(m))));
            }
        }
        let (query, push, print) = match &parsed {
            Some(Statement::Query(q)) => (true, q.emit.is_some(), false),
            Some(Statement::Print { .. }) => (true, true, true),
            Some(_) => (false, false, false),
            // Left to the server to explain; a query is still sent where
            // queries go (with variables it may not parse here).
            None => {
                let upper = piece.text.trim_start().to_ascii_uppercase();
                let print = upper.starts_with("PRINT");
                let select = upper.starts_with("SELECT");
                (print || select, print || upper.contains("EMIT"), print)
            }
        };
        if !query {
            return self.statement(piece);
        }
        let mut stream = self.query(piece)?;
        if print {
            return Ok(Outcome::Print(Box::new(stream)));
        }
        if push {
            return Ok(Outcome::Push(Box::new(stream)));
        }
        // A pull query: every row, then the end.
        let mut rows = Vec::new();
        loop {
            match stream.next_rows(Duration::from_secs(3600)) {
                Ok(Some(batch)) => rows.extend(batch),
                Ok(None) => break,
                Err(e) => return Err(StatementError(format!("{e:#}"))),
            }
        }
        Ok(Outcome::Done(Box::new(StatementResult::Rows(RowSet {
            query_id: stream.query_id.clone(),
            columns: stream.columns.clone(),
            rows,
            over_stream: false,
            limit_reached: false,
        }))))
    }

    fn banner(&self) -> (String, String) {
        (
            format!("{} (ksqlDB API {})", self.base, self.version),
            self.status.clone(),
        )
    }

    fn on_terminate(&self) -> Box<dyn Fn() + Send + Sync> {
        Box::new(|| {})
    }
}

/// A query running on the server; dropping it closes it there.
struct Stream {
    agent: ureq::Agent,
    close: String,
    auth: Option<String>,
    query_id: String,
    columns: Vec<ResultColumn>,
    rows: mpsc::Receiver<Result<Vec<Value>>>,
    /// The server ended the answer (LIMIT reached).
    done: bool,
}

impl RowStream for Stream {
    fn columns(&self) -> Vec<ResultColumn> {
        self.columns.clone()
    }

    fn next_rows(&mut self, timeout: Duration) -> Result<Option<Vec<Vec<Value>>>> {
        let mut rows = Vec::new();
        let first = match self.rows.recv_timeout(timeout) {
            Ok(row) => row,
            Err(mpsc::RecvTimeoutError::Timeout) => return Ok(Some(rows)),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                self.done = true;
                return Ok(None);
            }
        };
        rows.push(first?);
        // Whatever else has arrived, without waiting.
        while let Ok(row) = self.rows.try_recv() {
            rows.push(row?);
        }
        Ok(Some(rows))
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        if self.done || self.query_id.is_empty() {
            return;
        }
        let mut req = self
            .agent
            .post(&self.close)
            .header("Content-Type", "application/json");
        if let Some(auth) = &self.auth {
            req = req.header("Authorization", auth);
        }
        let body = json!({"queryId": self.query_id}).to_string();
        if let Err(e) = req.send(body.as_bytes()) {
            tracing::debug!(error = %e, "closing the query on the server");
        }
    }
}
