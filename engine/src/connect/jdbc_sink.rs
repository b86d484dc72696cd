//! The JDBC sink (`io.confluent.connect.jdbc.JdbcSinkConnector`) for
//! PostgreSQL: each record's value (a JSON object) becomes a row of the
//! table named by `table.name.format` (`${topic}` by default), inserted or
//! upserted on its primary key (`pk.mode` `record_key` or
//! `record_value`, `pk.fields`); `auto.create` creates the table from the
//! first record's fields; with `delete.enabled` a tombstone deletes its
//! key's row. A batch is one statement per table, run as one transaction.

use super::config::ConnectorConfig;
use super::converter::Converter;
use super::pg::{PgClient, PgTarget};
use super::task::{Context, SinkTask};
use crate::error::{Error, Result};
use crate::log::StoredRecord;
use serde_json::{Map, Value as Json};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PkMode {
    None,
    RecordKey,
    RecordValue,
}

/// A running JDBC sink task.
pub struct JdbcSinkTask {
    target: PgTarget,
    client: Option<PgClient>,
    topics: Vec<String>,
    table_format: String,
    upsert: bool,
    pk_mode: PkMode,
    pk_fields: Vec<String>,
    auto_create: bool,
    delete_enabled: bool,
    key_converter: Converter,
    value_converter: Converter,
    /// Tables created (or found) in this run.
    created: BTreeSet<String>,
}

/// `"name"`, quotes doubled.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A JSON value as an SQL literal.
fn literal(v: &Json) -> String {
    match v {
        Json::Null => "NULL".to_string(),
        Json::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => format!("'{}'", s.replace('\'', "''")),
        other => format!("'{}'", other.to_string().replace('\'', "''")),
    }
}

/// The PostgreSQL type `auto.create` gives a column, from a value.
fn sql_type(v: &Json) -> &'static str {
    match v {
        Json::Bool(_) => "BOOLEAN",
        Json::Number(n) if n.is_i64() || n.is_u64() => "BIGINT",
        Json::Number(_) => "DOUBLE PRECISION",
        _ => "TEXT",
    }
}

impl JdbcSinkTask {
    pub fn new(config: &ConnectorConfig, ctx: &Context) -> Result<JdbcSinkTask> {
        let mut target = PgTarget::parse(config.required("connection.url")?)?;
        if let Some(u) = config.get("connection.user") {
            target.user = Some(u.to_string());
        }
        if let Some(p) = config.get("connection.password") {
            target.password = Some(p.to_string());
        }
        let topics = config.list("topics");
        if topics.is_empty() {
            return Err(Error::plan(
                "Missing required configuration \"topics\" which has no default value.",
            ));
        }
        let upsert = match config.get("insert.mode").unwrap_or("insert") {
            "insert" => false,
            "upsert" => true,
            other => {
                return Err(Error::plan(format!(
                    "insert.mode {other} is not available in Sluice: use insert or upsert"
                )))
            }
        };
        let pk_mode = match config.get("pk.mode").unwrap_or("none") {
            "none" => PkMode::None,
            "record_key" => PkMode::RecordKey,
            "record_value" => PkMode::RecordValue,
            other => {
                return Err(Error::plan(format!(
                "pk.mode {other} is not available in Sluice: use none, record_key or record_value"
            )))
            }
        };
        let mut pk_fields = config.list("pk.fields");
        if pk_mode == PkMode::RecordKey && pk_fields.is_empty() {
            pk_fields.push("__connect_key".to_string());
        }
        if pk_mode == PkMode::RecordValue && pk_fields.is_empty() {
            return Err(Error::plan("pk.mode record_value needs pk.fields"));
        }
        if pk_mode == PkMode::RecordKey && pk_fields.len() != 1 {
            return Err(Error::plan(
                "pk.mode record_key takes one pk.fields name for the record's key",
            ));
        }
        if upsert && pk_mode == PkMode::None {
            return Err(Error::plan("insert.mode upsert needs a pk.mode"));
        }
        let delete_enabled = config.bool("delete.enabled", false)?;
        if delete_enabled && pk_mode != PkMode::RecordKey {
            return Err(Error::plan("delete.enabled needs pk.mode record_key"));
        }
        Ok(JdbcSinkTask {
            target,
            client: None,
            topics,
            table_format: config
                .get("table.name.format")
                .unwrap_or("${topic}")
                .to_string(),
            upsert,
            pk_mode,
            pk_fields,
            auto_create: config.bool("auto.create", false)?,
            delete_enabled,
            key_converter: Converter::from_config(
                config,
                "key.converter",
                super::converter::DEFAULT_KEY_CONVERTER,
                ctx,
                "",
            )?,
            value_converter: super::converter::value_converter(config, ctx, "")?,
            created: BTreeSet::new(),
        })
    }

    fn key_value(&self, r: &StoredRecord) -> Result<Json> {
        let bytes =
            r.record.key.as_deref().ok_or_else(|| {
                Error::format("pk.mode record_key: a record has no key".to_string())
            })?;
        let text = self.key_converter.decode_text(bytes)?;
        // A key that reads as JSON (a number) keeps its type.
        Ok(serde_json::from_str::<Json>(&text)
            .ok()
            .filter(|v| v.is_number())
            .unwrap_or(Json::String(text)))
    }

    /// The row a record writes: its value's fields, with the key's pk
    /// field under record_key.
    fn row(&self, r: &StoredRecord, value: &[u8]) -> Result<Map<String, Json>> {
        let text = self.value_converter.decode_text(value)?;
        let mut row = match serde_json::from_str::<Json>(&text) {
            Ok(Json::Object(m)) => m,
            _ => {
                return Err(Error::format(format!(
                    "the JDBC sink writes records whose values are objects; found {text}"
                )))
            }
        };
        if self.pk_mode == PkMode::RecordKey {
            row.insert(self.pk_fields[0].clone(), self.key_value(r)?);
        }
        Ok(row)
    }

    fn create_table(&mut self, table: &str, row: &Map<String, Json>) -> Result<String> {
        let mut columns: Vec<String> = row
            .iter()
            .map(|(k, v)| {
                let not_null = if self.pk_fields.contains(k) && self.pk_mode != PkMode::None {
                    " NOT NULL"
                } else {
                    ""
                };
                format!("{} {}{not_null}", ident(k), sql_type(v))
            })
            .collect();
        if self.pk_mode != PkMode::None {
            let pk: Vec<String> = self.pk_fields.iter().map(|f| ident(f)).collect();
            columns.push(format!("PRIMARY KEY ({})", pk.join(", ")));
        }
        Ok(format!(
            "CREATE TABLE IF NOT EXISTS {} ({});",
            ident(table),
            columns.join(", ")
        ))
    }
}

impl SinkTask for JdbcSinkTask {
    fn topics(&self) -> &[String] {
        &self.topics
    }

    fn put(&mut self, topic: &str, records: &[StoredRecord]) -> Result<()> {
        let table = self.table_format.replace("${topic}", topic);
        let mut sql = String::from("BEGIN;");
        for r in records {
            let Some(value) = &r.record.value else {
                if self.delete_enabled {
                    let key = self.key_value(r)?;
                    sql.push_str(&format!(
                        "DELETE FROM {} WHERE {} = {};",
                        ident(&table),
                        ident(&self.pk_fields[0]),
                        literal(&key)
                    ));
                }
                continue;
            };
            let row = self.row(r, value)?;
            if self.auto_create && !self.created.contains(&table) {
                let create = self.create_table(&table, &row)?;
                sql.push_str(&create);
                self.created.insert(table.clone());
            }
            let cols: Vec<String> = row.keys().map(|k| ident(k)).collect();
            let vals: Vec<String> = row.values().map(literal).collect();
            sql.push_str(&format!(
                "INSERT INTO {} ({}) VALUES ({})",
                ident(&table),
                cols.join(", "),
                vals.join(", ")
            ));
            if self.upsert {
                let pk: Vec<String> = self.pk_fields.iter().map(|f| ident(f)).collect();
                let updates: Vec<String> = row
                    .keys()
                    .filter(|k| !self.pk_fields.contains(k))
                    .map(|k| format!("{0} = EXCLUDED.{0}", ident(k)))
                    .collect();
                if updates.is_empty() {
                    sql.push_str(&format!(" ON CONFLICT ({}) DO NOTHING", pk.join(", ")));
                } else {
                    sql.push_str(&format!(
                        " ON CONFLICT ({}) DO UPDATE SET {}",
                        pk.join(", "),
                        updates.join(", ")
                    ));
                }
            }
            sql.push(';');
        }
        sql.push_str("COMMIT;");
        let client = match self.client.as_mut() {
            Some(c) => c,
            None => self.client.insert(PgClient::connect(&self.target)?),
        };
        if let Err(e) = client.query(&sql) {
            self.client = None;
            return Err(e);
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        // Each put commits its own transaction.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn literals_are_escaped_and_typed() {
        assert_eq!(literal(&json!("it's")), "'it''s'");
        assert_eq!(literal(&json!(3)), "3");
        assert_eq!(literal(&json!(null)), "NULL");
        assert_eq!(literal(&json!({"a": 1})), "'{\"a\":1}'");
        assert_eq!(ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(sql_type(&json!(1.5)), "DOUBLE PRECISION");
        assert_eq!(sql_type(&json!(2)), "BIGINT");
    }
}
