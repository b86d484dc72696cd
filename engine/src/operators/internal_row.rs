//! The internal record value that carries a whole row through an internal
//! topic (a repartition topic, an n-way join's re-keyed rows): flags, the
//! source record it came from, the window, then the values, in Sluice's own
//! encoding. The row's event time travels as the record timestamp.

use super::{ProcessingError, Row, Window};
use crate::error::{Error, Result};
use crate::log::StoredRecord;
use crate::types::{Decimal, Value};

const TOMBSTONE: u8 = 1;
const NULL_KEY: u8 = 2;
const WINDOWED: u8 = 4;

/// A row as an internal record's value: flags, the source record it came
/// from, the window, then the values.
pub fn encode_row(row: &Row, source: (i32, i64)) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + row.values.len() * 10);
    let mut flags = 0;
    if row.tombstone {
        flags |= TOMBSTONE;
    }
    if row.null_key {
        flags |= NULL_KEY;
    }
    if row.window.is_some() {
        flags |= WINDOWED;
    }
    out.push(flags);
    out.extend_from_slice(&source.0.to_be_bytes());
    out.extend_from_slice(&source.1.to_be_bytes());
    if let Some(w) = row.window {
        out.extend_from_slice(&w.start.to_be_bytes());
        out.extend_from_slice(&w.end.to_be_bytes());
    }
    put_len(&mut out, row.values.len());
    for v in &row.values {
        put_value(&mut out, v);
    }
    out
}

/// Reads back a row written by [`encode_row`]; its event time is the
/// record's timestamp.
pub fn decode_row(rec: &StoredRecord, topic: &str) -> std::result::Result<Row, ProcessingError> {
    let fail = |e: Error| ProcessingError::Deserialization {
        topic: topic.to_string(),
        target: "value",
        message: format!("Failed to deserialize value from topic: {topic}. {e}"),
        record: rec.record.value.clone(),
    };
    let bytes = rec
        .record
        .value
        .as_deref()
        .ok_or_else(|| fail(Error::format("internal record without a value")))?;
    let mut r = Reader { bytes, at: 0 };
    let flags = r.byte().map_err(fail)?;
    r.take(12).map_err(fail)?;
    let window = if flags & WINDOWED != 0 {
        Some(Window {
            start: r.i64().map_err(fail)?,
            end: r.i64().map_err(fail)?,
        })
    } else {
        None
    };
    let n = r.len().map_err(fail)?;
    let mut values = Vec::with_capacity(n);
    for _ in 0..n {
        values.push(r.value().map_err(fail)?);
    }
    Ok(Row {
        values,
        ts: rec.record.timestamp,
        tombstone: flags & TOMBSTONE != 0,
        null_key: flags & NULL_KEY != 0,
        headers: (!rec.record.headers.is_empty())
            .then(|| std::sync::Arc::new(rec.record.headers.clone())),
        window,
        old: None,
    })
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u32).to_be_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_len(out, b.len());
    out.extend_from_slice(b);
}

fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(0),
        Value::Bool(b) => out.extend_from_slice(&[1, u8::from(*b)]),
        Value::Int(i) => {
            out.push(2);
            out.extend_from_slice(&i.to_be_bytes());
        }
        Value::BigInt(i) => {
            out.push(3);
            out.extend_from_slice(&i.to_be_bytes());
        }
        Value::Double(d) => {
            out.push(4);
            out.extend_from_slice(&d.to_bits().to_be_bytes());
        }
        Value::Decimal(d) => {
            out.push(5);
            out.extend_from_slice(&d.unscaled.to_be_bytes());
            out.push(d.scale);
        }
        Value::String(s) => {
            out.push(6);
            put_bytes(out, s.as_bytes());
        }
        Value::Bytes(b) => {
            out.push(7);
            put_bytes(out, b);
        }
        Value::Date(d) => {
            out.push(8);
            out.extend_from_slice(&d.to_be_bytes());
        }
        Value::Time(t) => {
            out.push(9);
            out.extend_from_slice(&t.to_be_bytes());
        }
        Value::Timestamp(t) => {
            out.push(10);
            out.extend_from_slice(&t.to_be_bytes());
        }
        Value::Array(items) => {
            out.push(11);
            put_len(out, items.len());
            for i in items {
                put_value(out, i);
            }
        }
        Value::Map(entries) => {
            out.push(12);
            put_len(out, entries.len());
            for (k, v) in entries {
                put_value(out, k);
                put_value(out, v);
            }
        }
        Value::Struct(fields) => {
            out.push(13);
            put_len(out, fields.len());
            for (name, v) in fields {
                put_bytes(out, name.as_bytes());
                put_value(out, v);
            }
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or_else(|| Error::format("internal row record is truncated"))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.fixed()?))
    }

    fn len(&mut self) -> Result<usize> {
        Ok(u32::from_be_bytes(self.fixed()?) as usize)
    }

    fn string(&mut self) -> Result<String> {
        let n = self.len()?;
        String::from_utf8(self.take(n)?.to_vec())
            .map_err(|_| Error::format("internal row record holds invalid UTF-8"))
    }

    fn value(&mut self) -> Result<Value> {
        Ok(match self.byte()? {
            0 => Value::Null,
            1 => Value::Bool(self.byte()? != 0),
            2 => Value::Int(i32::from_be_bytes(self.fixed()?)),
            3 => Value::BigInt(self.i64()?),
            4 => Value::Double(f64::from_bits(u64::from_be_bytes(self.fixed()?))),
            5 => {
                let unscaled = i128::from_be_bytes(self.fixed()?);
                Value::Decimal(Decimal::new(unscaled, self.byte()?))
            }
            6 => Value::String(self.string()?),
            7 => {
                let n = self.len()?;
                Value::Bytes(self.take(n)?.to_vec())
            }
            8 => Value::Date(i32::from_be_bytes(self.fixed()?)),
            9 => Value::Time(self.i64()?),
            10 => Value::Timestamp(self.i64()?),
            11 => {
                let n = self.len()?;
                let mut items = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    items.push(self.value()?);
                }
                Value::Array(items)
            }
            12 => {
                let n = self.len()?;
                let mut entries = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    let k = self.value()?;
                    entries.push((k, self.value()?));
                }
                Value::Map(entries)
            }
            13 => {
                let n = self.len()?;
                let mut fields = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    let name = self.string()?;
                    fields.push((name, self.value()?));
                }
                Value::Struct(fields)
            }
            t => {
                return Err(Error::format(format!(
                    "unknown value tag {t} in internal row"
                )))
            }
        })
    }
}

/// The source record (partition, offset) an internal record came from.
pub fn record_origin(bytes: &[u8]) -> Option<(i32, i64)> {
    let partition = i32::from_be_bytes(bytes.get(1..5)?.try_into().ok()?);
    let offset = i64::from_be_bytes(bytes.get(5..13)?.try_into().ok()?);
    Some((partition, offset))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{Header, Record};

    #[test]
    fn rows_round_trip_through_the_internal_encoding() {
        let row = Row {
            values: vec![
                Value::Null,
                Value::Bool(true),
                Value::Int(-7),
                Value::BigInt(1 << 40),
                Value::Double(2.5),
                Value::Decimal(Decimal::new(-12345, 2)),
                Value::String("héllo".into()),
                Value::Bytes(vec![0, 255]),
                Value::Date(19000),
                Value::Time(3_600_000),
                Value::Timestamp(1_700_000_000_000),
                Value::Array(vec![Value::Int(1), Value::Null]),
                Value::Map(vec![(Value::String("k".into()), Value::BigInt(2))]),
                Value::Struct(vec![("F".into(), Value::Array(vec![]))]),
            ],
            ts: 42,
            tombstone: false,
            null_key: true,
            headers: Some(std::sync::Arc::new(vec![Header {
                key: "h".into(),
                value: Some(b"v".to_vec()),
            }])),
            window: Some(Window { start: 10, end: 20 }),
            old: None,
        };
        let rec = StoredRecord {
            partition: 0,
            offset: 0,
            record: Record {
                key: None,
                value: Some(encode_row(&row, (1, 99))),
                timestamp: row.ts,
                headers: row.headers.as_ref().unwrap().as_ref().clone(),
            },
        };
        assert_eq!(
            record_origin(rec.record.value.as_deref().unwrap()),
            Some((1, 99))
        );
        assert_eq!(decode_row(&rec, "t").unwrap(), row);
    }

    #[test]
    fn a_truncated_internal_record_is_a_deserialization_error() {
        let row = Row {
            values: vec![Value::String("abc".into())],
            ..Row::default()
        };
        let mut bytes = encode_row(&row, (0, 0));
        bytes.truncate(bytes.len() - 1);
        let rec = StoredRecord {
            partition: 0,
            offset: 3,
            record: Record {
                key: None,
                value: Some(bytes),
                timestamp: 0,
                headers: vec![],
            },
        };
        match decode_row(&rec, "t") {
            Err(ProcessingError::Deserialization { message, .. }) => {
                assert!(message.contains("truncated"), "{message}")
            }
            other => panic!("expected a deserialization error, got {other:?}"),
        }
    }
}
