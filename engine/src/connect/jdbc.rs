//! The JDBC source (`io.confluent.connect.jdbc.JdbcSourceConnector`) for
//! PostgreSQL: each poll reads the rows of one table (or a `query`) past
//! the last one sent, in order, and writes each row as a record of
//! `topic.prefix` + table. Modes: `incrementing` (rows whose incrementing
//! column is above the last), `timestamp` (rows whose timestamp column is
//! later: new and updated rows) and `timestamp+incrementing` (both, so
//! rows sharing a timestamp are neither lost nor repeated); the offset is
//! the last row's column values.

use super::config::ConnectorConfig;
use super::converter::{ConnectType, ConnectValue, Converter};
use super::pg::{PgClient, PgTarget};
use super::task::{Context, SourceRecord, SourceTask};
use crate::error::{Error, Result};
use serde_json::{json, Map, Value as Json};

/// Where rows come from.
enum From {
    Table(String),
    Query(String),
}

/// A running JDBC source task.
pub struct JdbcSourceTask {
    target: PgTarget,
    client: Option<PgClient>,
    from: From,
    /// The incrementing column (incrementing modes).
    column: Option<String>,
    /// The timestamp column (timestamp modes).
    ts_column: Option<String>,
    topic: String,
    converter: Converter,
    batch: u64,
    poll_ms: u64,
    /// The incrementing column's last value sent.
    last: i64,
    /// The timestamp column's last value sent, as PostgreSQL wrote it.
    last_ts: Option<String>,
}

/// `"a"."b"` for `a.b`, quotes doubled.
fn quote_name(name: &str) -> String {
    name.split('.')
        .map(|p| format!("\"{}\"", p.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}

impl JdbcSourceTask {
    pub fn new(config: &ConnectorConfig, ctx: &Context) -> Result<JdbcSourceTask> {
        let mut target = PgTarget::parse(config.required("connection.url")?)?;
        if let Some(u) = config.get("connection.user") {
            target.user = Some(u.to_string());
        }
        if let Some(p) = config.get("connection.password") {
            target.password = Some(p.to_string());
        }
        let mode = config.required("mode")?;
        let (column, ts_column) = match mode {
            "incrementing" => (Some(config.required("incrementing.column.name")?), None),
            "timestamp" => (None, Some(config.required("timestamp.column.name")?)),
            "timestamp+incrementing" => (
                Some(config.required("incrementing.column.name")?),
                Some(config.required("timestamp.column.name")?),
            ),
            other => {
                return Err(Error::plan(format!(
                    "JDBC source mode {other} is not available in Sluice: use incrementing, \
                     timestamp or timestamp+incrementing"
                )))
            }
        };
        let column = column.map(str::to_string);
        let ts_column = ts_column.map(str::to_string);
        let prefix = config.get("topic.prefix").unwrap_or("").to_string();
        let (from, topic) = match config.get("query").filter(|q| !q.trim().is_empty()) {
            Some(q) => (From::Query(q.to_string()), prefix),
            None => {
                let tables = match config.get("table.whitelist") {
                    Some(_) => config.list("table.whitelist"),
                    None => config.list("table.include.list"),
                };
                match tables.as_slice() {
                    [one] => (From::Table(one.clone()), format!("{prefix}{one}")),
                    [] => {
                        return Err(Error::plan(
                            "Missing required configuration \"table.whitelist\" (or \"query\")",
                        ))
                    }
                    _ => {
                        return Err(Error::plan(
                            "Sluice's JDBC source reads one table per connector: create one connector per table",
                        ))
                    }
                }
            }
        };
        if topic.is_empty() {
            return Err(Error::plan(
                "Missing required configuration \"topic.prefix\"",
            ));
        }
        Ok(JdbcSourceTask {
            target,
            client: None,
            from,
            column,
            ts_column,
            converter: super::converter::value_converter(config, ctx, &topic)?,
            topic,
            batch: u64::try_from(config.int("batch.max.rows", 100)?)
                .unwrap_or(100)
                .max(1),
            poll_ms: u64::try_from(config.int("poll.interval.ms", 5000)?).unwrap_or(5000),
            last: config.int("incrementing.initial", -1)?,
            last_ts: None,
        })
    }

    fn sql(&self) -> String {
        let source = match &self.from {
            From::Table(t) => quote_name(t),
            From::Query(q) => format!("({q}) AS sluice_query"),
        };
        let inc = self.column.as_deref().map(quote_name);
        let ts = self.ts_column.as_deref().map(quote_name);
        let last_ts = self
            .last_ts
            .as_deref()
            .map(|t| format!("'{}'", t.replace('\'', "''")));
        let (condition, order) = match (&inc, &ts, &last_ts) {
            (Some(c), None, _) => (format!("{c} > {}", self.last), c.clone()),
            (None, Some(t), None) => (format!("{t} IS NOT NULL"), t.clone()),
            (None, Some(t), Some(l)) => (format!("{t} > {l}"), t.clone()),
            (Some(c), Some(t), None) => (format!("{t} IS NOT NULL"), format!("{t}, {c}")),
            (Some(c), Some(t), Some(l)) => (
                format!("({t} > {l} OR ({t} = {l} AND {c} > {}))", self.last),
                format!("{t}, {c}"),
            ),
            (None, None, _) => ("TRUE".to_string(), "1".to_string()),
        };
        format!(
            "SELECT * FROM {source} WHERE {condition} ORDER BY {order} LIMIT {}",
            self.batch
        )
    }

    /// What the offsets are positions in: the table, or the query.
    fn source_id(&self) -> String {
        match &self.from {
            From::Table(t) => format!("table:{t}"),
            From::Query(q) => format!("query:{q}"),
        }
    }

    fn schema_name(&self) -> String {
        match &self.from {
            From::Table(t) => t.clone(),
            From::Query(_) => "query".to_string(),
        }
    }
}

/// A column's Connect type by PostgreSQL type OID.
fn connect_type(oid: u32) -> ConnectType {
    match oid {
        16 => ConnectType::Boolean,
        21 | 23 | 1082 => ConnectType::Int32,
        20 | 1114 | 1184 => ConnectType::Int64,
        700 | 701 | 1700 => ConnectType::Float64,
        _ => ConnectType::String,
    }
}

/// A text value as JSON, by type OID: numbers, booleans, timestamps as
/// milliseconds and dates as days since the epoch (Connect's logical
/// types), anything else as text.
fn value(oid: u32, text: &str) -> Result<Json> {
    let bad = |e: &dyn std::fmt::Display| Error::format(format!("PostgreSQL value {text:?}: {e}"));
    Ok(match oid {
        16 => json!(text == "t"),
        20 | 21 | 23 => json!(text.parse::<i64>().map_err(|e| bad(&e))?),
        700 | 701 | 1700 => json!(text.parse::<f64>().map_err(|e| bad(&e))?),
        1114 => {
            let t = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
                .map_err(|e| bad(&e))?;
            json!(t.and_utc().timestamp_millis())
        }
        1184 => {
            let t =
                chrono::DateTime::parse_from_str(&format!("{text}00"), "%Y-%m-%d %H:%M:%S%.f%z")
                    .or_else(|_| chrono::DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z"))
                    .map_err(|e| bad(&e))?;
            json!(t.timestamp_millis())
        }
        1082 => {
            let d = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| bad(&e))?;
            json!((d - chrono::NaiveDate::default()).num_days())
        }
        _ => json!(text),
    })
}

impl SourceTask for JdbcSourceTask {
    fn topic(&self) -> &str {
        &self.topic
    }

    fn restore(&mut self, offset: &Json) -> Result<()> {
        // An offset of another table or query does not apply.
        let same = offset
            .get("source")
            .and_then(Json::as_str)
            .is_none_or(|s| s == self.source_id());
        if !same {
            return Ok(());
        }
        if let Some(n) = offset.get("incrementing").and_then(Json::as_i64) {
            self.last = n;
        }
        if let Some(t) = offset.get("timestamp").and_then(Json::as_str) {
            self.last_ts = Some(t.to_string());
        }
        Ok(())
    }

    fn poll(&mut self) -> Result<(Vec<SourceRecord>, u64)> {
        let sql = self.sql();
        let client = match self.client.as_mut() {
            Some(c) => c,
            None => self.client.insert(PgClient::connect(&self.target)?),
        };
        let answer = match client.query(&sql) {
            Ok(a) => a,
            Err(e) => {
                // Reconnect on the next attempt.
                self.client = None;
                return Err(e);
            }
        };
        let find = |column: &Option<String>, key: &str| -> Result<Option<usize>> {
            let Some(c) = column else { return Ok(None) };
            match answer.columns.iter().position(|(n, _)| n == c) {
                Some(at) => Ok(Some(at)),
                None => Err(Error::plan(format!(
                    "{key} {c} is not a column of {}",
                    self.schema_name()
                ))),
            }
        };
        let inc_at = find(&self.column, "incrementing.column.name")?;
        let ts_at = find(&self.ts_column, "timestamp.column.name")?;
        let schema = ConnectType::Struct(
            self.schema_name(),
            answer
                .columns
                .iter()
                .map(|(n, oid)| (n.clone(), connect_type(*oid)))
                .collect(),
        );
        let mut out = Vec::with_capacity(answer.rows.len());
        for row in &answer.rows {
            let mut data = Map::new();
            for ((name, oid), v) in answer.columns.iter().zip(row) {
                let v = match v {
                    Some(t) => value(*oid, t)?,
                    None => Json::Null,
                };
                data.insert(name.clone(), v);
            }
            let mut offset = Map::new();
            offset.insert("source".into(), json!(self.source_id()));
            if let Some(at) = inc_at {
                let id = row[at]
                    .as_deref()
                    .and_then(|t| t.parse::<i64>().ok())
                    .ok_or_else(|| {
                        Error::format(format!(
                            "incrementing column {} must be a non-null whole number",
                            self.column.as_deref().unwrap_or("")
                        ))
                    })?;
                self.last = id;
                offset.insert("incrementing".into(), json!(id));
            }
            if let Some(at) = ts_at {
                if let Some(t) = row[at].as_deref() {
                    self.last_ts = Some(t.to_string());
                    offset.insert("timestamp".into(), json!(t));
                }
            }
            let bytes = self.converter.encode(&ConnectValue {
                schema: schema.clone(),
                data: Json::Object(data),
            })?;
            out.push(SourceRecord {
                key: None,
                value: Some(bytes),
                offset: Json::Object(offset),
            });
        }
        let full = out.len() as u64 == self.batch;
        Ok((out, if full { 0 } else { self.poll_ms }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_their_postgres_types() {
        assert_eq!(value(23, "42").unwrap(), json!(42));
        assert_eq!(value(16, "t").unwrap(), json!(true));
        assert_eq!(value(1700, "1.50").unwrap(), json!(1.5));
        assert_eq!(value(1114, "1970-01-01 00:00:01.5").unwrap(), json!(1500));
        assert_eq!(value(1184, "1970-01-01 01:00:00+01").unwrap(), json!(0));
        assert_eq!(value(1082, "1970-01-11").unwrap(), json!(10));
        assert_eq!(value(25, "x").unwrap(), json!("x"));
        assert_eq!(quote_name("public.we\"ird"), "\"public\".\"we\"\"ird\"");
    }
}
