//! Inserting JSON rows in batches (the REST API's `/inserts-stream`): the
//! target is resolved once (schema, formats, codecs, topic), then each row
//! is converted with the coercions `INSERT INTO ... VALUES` applies to the
//! same values written as literals, encoded, and appended with the rest of
//! its batch before one hand-off makes the batch durable.

use super::insert_values::coerce_insert;
use super::EngineInner;
use crate::error::{Error, Result};
use crate::expr::{Compiled, Scope};
use crate::log::{Log, Record};
use crate::operators::{Row, SinkEncoder};
use crate::types::{ColumnKind, Decimal, Schema, SqlType, Value};
use serde_json::{Map, Value as Json};
use std::sync::Arc;

/// A stream or table resolved for inserting JSON rows; see
/// [`crate::Engine::row_inserter`]. Shareable between threads.
pub struct RowInserter {
    /// The target's name as the catalog spells it.
    name: String,
    /// Why rows cannot be inserted at all (a read-only source).
    refused: Option<String>,
    schema: Schema,
    /// The TIMESTAMP column's index and format, when the target has one.
    timestamp: Option<(usize, Option<String>)>,
    encoder: SinkEncoder,
    topic: String,
    log: Arc<dyn Log>,
}

/// What happened to a batch: the first `appended` rows are durably
/// appended; `error`, when set, is why the next row was not.
#[derive(Debug)]
pub struct BatchOutcome {
    /// Rows appended, from the start of the batch.
    pub appended: usize,
    /// The failure that stopped the batch at row `appended`.
    pub error: Option<Error>,
}

impl EngineInner {
    /// Resolves `target` (as named, then upper-cased) for [`RowInserter`].
    pub(crate) fn row_inserter(&self, target: &str) -> Result<RowInserter> {
        let source = {
            let st = self.state.lock();
            st.catalog
                .find_source(target)
                .or_else(|| st.catalog.find_source(&target.to_uppercase()))
                .cloned()
        };
        let source = source.ok_or_else(|| {
            Error::not_found(format!(
                "Cannot insert values into an unknown stream/table: {target}"
            ))
        })?;
        let refused = source.is_source.then(|| {
            format!(
                "Cannot insert values into read-only {} {}.",
                source.kind_name().to_ascii_lowercase(),
                source.name
            )
        });
        let timestamp = source.timestamp.as_ref().and_then(|spec| {
            source
                .schema
                .find(&spec.column)
                .map(|(i, _)| (i, spec.format.clone()))
        });
        let encoder = super::insert_values::insert_encoder(&source)?;
        Ok(RowInserter {
            name: source.name.clone(),
            refused,
            schema: source.schema.clone(),
            timestamp,
            encoder,
            topic: source.topic.clone(),
            log: self.log.clone(),
        })
    }
}

impl RowInserter {
    /// The target's name as the catalog spells it.
    pub fn target(&self) -> &str {
        &self.name
    }

    /// Converts, encodes and appends `rows` (each one JSON object's text)
    /// in order, stopping at the first row that fails; the rows before it
    /// are appended and handed off (they survive a crash of this process)
    /// before this returns, and the failing row and those after it are not
    /// in the log.
    pub fn insert_batch<R: AsRef<[u8]>>(&self, rows: &[R]) -> BatchOutcome {
        let mut records = Vec::with_capacity(rows.len());
        let mut error = None;
        for row in rows {
            match self.record(row.as_ref()) {
                Ok(r) => records.push(r),
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        let mut appended = 0;
        for record in records {
            // Each row is written before the next is appended: a row the
            // log refuses (a full disk) is not in it, and every row before
            // it is, so the acknowledged rows are exactly a prefix.
            if let Err(e) = self.log.append_written(&self.topic, None, record) {
                return BatchOutcome {
                    appended,
                    error: Some(e),
                };
            }
            appended += 1;
        }
        BatchOutcome { appended, error }
    }

    /// One JSON row's record.
    fn record(&self, text: &[u8]) -> Result<Record> {
        if let Some(refused) = &self.refused {
            return Err(Error::plan(refused.clone()));
        }
        let object: Map<String, Json> = match serde_json::from_slice(text) {
            Ok(Json::Object(m)) => m,
            Ok(_) => return Err(Error::format("each row must be a JSON object")),
            Err(e) => return Err(Error::format(format!("malformed JSON row: {e}"))),
        };
        let columns = &self.schema.columns;
        let mut values = vec![Value::Null; columns.len()];
        for (key, json) in &object {
            let (i, column) = self
                .schema
                .find(key)
                .or_else(|| self.schema.find(&key.to_uppercase()))
                .ok_or_else(|| Error::format(format!("{} has no column {key}", self.name)))?;
            if matches!(column.kind, ColumnKind::Header(_)) {
                return Err(Error::plan(format!(
                    "Cannot insert into HEADER columns: {}",
                    column.name
                )));
            }
            let (v, ty) = literal_value(json, &column.ty)?;
            values[i] = coerce_insert(v, &ty, &column.ty, &column.name)?;
        }
        let mut ts = crate::catalog::metastore::now_ms();
        if let Some((i, format)) = &self.timestamp {
            if !values[*i].is_null() {
                ts = crate::operators::source::extract_timestamp(&values[*i], format.as_deref())?;
            }
        }
        self.encoder
            .encode(&Row {
                values,
                ts,
                tombstone: false,
                null_key: false,
                headers: None,
                window: None,
                old: None,
            })
            .map_err(|e| {
                Error::format(format!(
                    "Failed to insert values into '{}'. {e:?}",
                    self.name
                ))
            })
    }
}

/// A JSON value as the SQL literal written for it would evaluate, with the
/// literal's type: numbers are INT, BIGINT, DECIMAL (a point) or DOUBLE
/// (an exponent), or their text for a STRING column; arrays, maps and
/// structs go through the constructor expression their literal would be.
fn literal_value(json: &Json, ty: &SqlType) -> Result<(Value, SqlType)> {
    Ok(match (json, ty) {
        (Json::Null, _) => (Value::Null, SqlType::Null),
        (Json::Bool(b), _) => (Value::Bool(*b), SqlType::Boolean),
        (Json::Number(n), SqlType::String) => (Value::String(n.to_string()), SqlType::String),
        (Json::Number(n), _) => number(n)?,
        (Json::String(s), _) => (Value::String(s.clone()), SqlType::String),
        (Json::Array(_), SqlType::Array(_))
        | (Json::Object(_), SqlType::Map(..) | SqlType::Struct(_)) => {
            let text = literal_text(json, ty)?;
            let expr = crate::sql::parser::parse_expr(&text)?;
            let compiled = Compiled::compile(&expr, &Scope::default())?;
            (compiled.eval(&[])?, compiled.ty.clone())
        }
        (other, ty) => {
            return Err(Error::format(format!(
                "{other} is not a value of type {ty}"
            )))
        }
    })
}

/// A JSON number typed as its literal is.
fn number(n: &serde_json::Number) -> Result<(Value, SqlType)> {
    if let Some(i) = n.as_i64() {
        return Ok(match i32::try_from(i) {
            Ok(v) => (Value::Int(v), SqlType::Int),
            Err(_) => (Value::BigInt(i), SqlType::BigInt),
        });
    }
    let text = n.to_string();
    if text.contains(['e', 'E']) || n.as_u64().is_none() && !text.contains('.') {
        let d: f64 = text
            .parse()
            .map_err(|_| Error::plan(format!("Invalid number {text}")))?;
        if d.is_infinite() {
            return Err(Error::plan(format!("Number overflows DOUBLE: {text}")));
        }
        return Ok((Value::Double(d), SqlType::Double));
    }
    let d = Decimal::parse(&text)
        .ok_or_else(|| Error::plan(format!("Invalid decimal literal {text}")))?;
    Ok((Value::Decimal(d), SqlType::Decimal(d.precision(), d.scale)))
}

/// The SQL literal for a JSON value of a column's type.
fn literal_text(v: &Json, ty: &SqlType) -> Result<String> {
    Ok(match (v, ty) {
        (Json::Null, _) => "NULL".to_string(),
        (Json::Bool(b), _) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        (Json::Number(n), SqlType::String) => quoted(&n.to_string()),
        (Json::Number(n), _) => n.to_string(),
        (Json::String(s), _) => quoted(s),
        (Json::Array(items), SqlType::Array(member)) => {
            let items: Result<Vec<_>> = items.iter().map(|i| literal_text(i, member)).collect();
            format!("ARRAY[{}]", items?.join(", "))
        }
        (Json::Object(map), SqlType::Map(_, value_ty)) => {
            let entries: Result<Vec<_>> = map
                .iter()
                .map(|(k, v)| Ok(format!("{} := {}", quoted(k), literal_text(v, value_ty)?)))
                .collect();
            format!("MAP({})", entries?.join(", "))
        }
        (Json::Object(map), SqlType::Struct(fields)) => {
            let entries: Result<Vec<_>> = map
                .iter()
                .map(|(k, v)| {
                    let (name, fty) = fields
                        .iter()
                        .find(|(n, _)| n == k || *n == k.to_uppercase())
                        .ok_or_else(|| Error::format(format!("the struct has no field {k}")))?;
                    Ok(format!(
                        "`{}` := {}",
                        name.replace('`', "``"),
                        literal_text(v, fty)?
                    ))
                })
                .collect();
            format!("STRUCT({})", entries?.join(", "))
        }
        (other, ty) => {
            return Err(Error::format(format!(
                "{other} is not a value of type {ty}"
            )))
        }
    })
}

/// A quoted string literal.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
