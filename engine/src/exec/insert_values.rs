//! INSERT INTO ... VALUES: one row encoded in the target's formats and
//! appended to its topic.

use super::EngineInner;
use crate::catalog::Source;
use crate::error::{Error, Result};
use crate::expr::{cast_value, Compiled, Scope};
use crate::operators::SinkEncoder;
use crate::sql::ast::*;
use crate::types::{Column, ColumnKind, Schema, SqlType, Value};
use crate::StatementResult;

impl EngineInner {
    /// The ROWTIME of a row INSERT ... VALUES gives none: the wall clock,
    /// but always after the previous such row's, so that the inserts of a
    /// script (users, then their pageviews) are separate moments in order,
    /// as they are in ksqlDB where each statement is a round trip.
    pub(super) fn insert_time(&self) -> i64 {
        use std::sync::atomic::Ordering;
        let now = crate::catalog::metastore::now_ms();
        let previous = self
            .last_insert_time
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |last| {
                Some(now.max(last.saturating_add(1)))
            })
            .unwrap_or(now);
        now.max(previous.saturating_add(1))
    }

    pub(super) fn insert_values(
        &self,
        target: &str,
        columns: Option<&[String]>,
        values: &[Expr],
    ) -> Result<StatementResult> {
        let source = self.state.lock().catalog.source(target)?.clone();
        if source.is_source {
            return Err(Error::plan(format!(
                "Cannot insert values into read-only {} {target}.",
                source.kind_name().to_ascii_lowercase()
            )));
        }
        let all: Vec<String> = source
            .schema
            .columns
            .iter()
            .filter(|c| !matches!(c.kind, ColumnKind::Header(_)))
            .map(|c| c.name.clone())
            .collect();
        let names: Vec<String> = match columns {
            Some(c) => c.to_vec(),
            None => all.clone(),
        };
        if names.len() != values.len() {
            return Err(Error::plan(format!(
                "Failed to prepare statement: Expected a value for each column. Expected Columns: [{}]. Got {} values",
                names.join(", "),
                values.len()
            )));
        }
        let scope = Scope::default();
        let mut row = vec![Value::Null; source.schema.columns.len()];
        let mut ts = None;
        for (name, e) in names.iter().zip(values) {
            let compiled = Compiled::compile(e, &scope)?;
            let v = compiled.eval(&[])?;
            if name == "ROWTIME" {
                ts = Some(
                    v.as_i64()
                        .ok_or_else(|| Error::plan("ROWTIME must be a BIGINT"))?,
                );
                continue;
            }
            let (i, col) = source
                .schema
                .find(name)
                .ok_or_else(|| Error::plan(format!("Column name {name} does not exist.")))?;
            if matches!(col.kind, ColumnKind::Header(_)) {
                return Err(Error::plan(format!(
                    "Cannot insert into HEADER columns: {name}"
                )));
            }
            row[i] = coerce_insert(v, &compiled.ty, &col.ty, name)?;
        }
        if let Some(spec) = &source.timestamp {
            if let Some((i, _)) = source.schema.find(&spec.column) {
                if !row[i].is_null() {
                    ts = Some(crate::operators::source::extract_timestamp(
                        &row[i],
                        spec.format.as_deref(),
                    )?);
                }
            }
        }
        let encoder = insert_encoder(&source)?;
        let ts = match ts {
            Some(ts) => ts,
            None => self.insert_time(),
        };
        let record = encoder
            .encode(&crate::operators::Row {
                values: row,
                ts,
                tombstone: false,
                null_key: false,
                headers: None,
                window: None,
                old: None,
            })
            .map_err(|e| {
                Error::format(format!("Failed to insert values into '{target}'. {e:?}"))
            })?;
        // An acknowledged INSERT survives a crash of this process; a
        // refused one is not in the log.
        self.log.append_written(&source.topic, None, record)?;
        Ok(StatementResult::Message(String::new()))
    }
}

/// The encoder of inserted rows into `source`: header columns are written
/// by no insert, so the encoder leaves them out.
pub(super) fn insert_encoder(source: &Source) -> Result<SinkEncoder> {
    SinkEncoder::try_new(&Source {
        schema: Schema::new(
            source
                .schema
                .columns
                .iter()
                .map(|c| match c.kind {
                    ColumnKind::Header(_) => {
                        Column::new(c.name.clone(), c.ty.clone(), ColumnKind::Header(None))
                    }
                    _ => c.clone(),
                })
                .collect(),
        ),
        ..source.clone()
    })
}

/// Converts an INSERT VALUES literal to its column's type, as ksqlDB's
/// implicit casts allow.
pub(super) fn coerce_insert(v: Value, from: &SqlType, to: &SqlType, col: &str) -> Result<Value> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let ok = from == to
        || crate::functions::accepts(to, from)
        || matches!(
            (from, to),
            (
                SqlType::String,
                SqlType::Timestamp | SqlType::Date | SqlType::Time
            )
        )
        || matches!((from, to), (SqlType::Decimal(..), SqlType::Decimal(..)))
        || matches!((from, to), (SqlType::Struct(_), SqlType::Struct(_)))
        || matches!(
            (from, to),
            (SqlType::Array(_), SqlType::Array(_)) | (SqlType::Map(..), SqlType::Map(..))
        );
    if !ok {
        return Err(Error::plan(format!(
            "Expected type {to} for field {col} but got {v}({from})"
        )));
    }
    cast_value(v, to)
}
