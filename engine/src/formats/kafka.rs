//! The KAFKA format: a single column written with Kafka's own primitive
//! serializers, as ksqlDB does.
//!
//! | type    | bytes                                   |
//! |---------|-----------------------------------------|
//! | INT     | 4-byte big-endian two's complement      |
//! | BIGINT  | 8-byte big-endian two's complement      |
//! | DOUBLE  | 8-byte big-endian IEEE 754              |
//! | STRING  | UTF-8 (invalid sequences read as U+FFFD)|
//! | BYTES   | the bytes themselves                    |
//!
//! Any other type, or more than one column, is rejected when the codec is
//! built. A null value is an absent record part; absent bytes read as null.
//! With no columns at all (a keyless source), nothing is written and any
//! bytes are ignored.

use crate::error::{Error, Result};
use crate::formats::delimited::base_type_name;
use crate::formats::Codec;
use crate::types::{Column, ColumnKind, SqlType, Value};
use std::fmt;

/// Codec for the KAFKA format.
pub struct KafkaCodec {
    /// The single column's type; None when there are no columns.
    ty: Option<SqlType>,
}

impl KafkaCodec {
    /// A codec for `columns`: at most one, of type INT, BIGINT, DOUBLE,
    /// STRING or BYTES. Otherwise a plan error in ksqlDB's words.
    pub fn new(columns: Vec<Column>) -> Result<Self> {
        if columns.len() > 1 {
            let list = columns
                .iter()
                .map(|c| QuotedColumn(c).to_string())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(Error::plan(format!(
                "The 'KAFKA' format only supports a single field. Got: [{list}]"
            )));
        }
        let ty = match columns.into_iter().next() {
            None => None,
            Some(c) => match c.ty {
                SqlType::Int
                | SqlType::BigInt
                | SqlType::Double
                | SqlType::String
                | SqlType::Bytes => Some(c.ty),
                other => {
                    return Err(Error::plan(format!(
                        "The 'KAFKA' format does not support type '{}'",
                        base_type_name(&other)
                    )))
                }
            },
        };
        Ok(KafkaCodec { ty })
    }
}

/// A column as ksqlDB lists it in messages: `` `NAME` TYPE [KEY] ``.
struct QuotedColumn<'a>(&'a Column);

impl fmt::Display for QuotedColumn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        write!(f, "`{}` {}", c.name.replace('`', "``"), c.ty)?;
        match &c.kind {
            ColumnKind::Key => f.write_str(" KEY"),
            ColumnKind::Value => Ok(()),
            ColumnKind::Header(None) => f.write_str(" HEADERS"),
            ColumnKind::Header(Some(h)) => write!(f, " HEADER('{}')", h.replace('\'', "''")),
        }
    }
}

fn wrong_value(ty: &SqlType, v: &Value) -> Error {
    Error::format(format!(
        "Error serializing KAFKA value: expected {ty}, got {}",
        v.natural_type()
    ))
}

fn wrong_size(deserializer: &str, expected: usize) -> Error {
    Error::format(format!(
        "Size of data received by {deserializer} is not {expected}"
    ))
}

impl Codec for KafkaCodec {
    fn encode(&self, values: &[Value]) -> Result<Option<Vec<u8>>> {
        let expected = usize::from(self.ty.is_some());
        if values.len() != expected {
            return Err(Error::format(format!(
                "Column count mismatch on serialization. expected: {expected}, got: {}",
                values.len()
            )));
        }
        let (Some(ty), Some(v)) = (&self.ty, values.first()) else {
            return Ok(None);
        };
        if v.is_null() {
            return Ok(None);
        }
        let bytes = match ty {
            SqlType::Int => {
                let i = v
                    .as_i64()
                    .and_then(|i| i32::try_from(i).ok())
                    .ok_or_else(|| wrong_value(ty, v))?;
                i.to_be_bytes().to_vec()
            }
            SqlType::BigInt => v
                .as_i64()
                .ok_or_else(|| wrong_value(ty, v))?
                .to_be_bytes()
                .to_vec(),
            SqlType::Double => v
                .as_f64()
                .ok_or_else(|| wrong_value(ty, v))?
                .to_be_bytes()
                .to_vec(),
            SqlType::String => match v {
                Value::String(s) => s.as_bytes().to_vec(),
                other => return Err(wrong_value(ty, other)),
            },
            SqlType::Bytes => match v {
                Value::Bytes(b) => b.clone(),
                other => return Err(wrong_value(ty, other)),
            },
            other => return Err(wrong_value(other, v)),
        };
        Ok(Some(bytes))
    }

    fn decode(&self, bytes: Option<&[u8]>) -> Result<Option<Vec<Value>>> {
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        let Some(ty) = &self.ty else {
            return Ok(Some(Vec::new()));
        };
        let v = match ty {
            SqlType::Int => {
                let b: [u8; 4] = bytes
                    .try_into()
                    .map_err(|_| wrong_size("IntegerDeserializer", 4))?;
                Value::Int(i32::from_be_bytes(b))
            }
            SqlType::BigInt => {
                let b: [u8; 8] = bytes
                    .try_into()
                    .map_err(|_| wrong_size("LongDeserializer", 8))?;
                Value::BigInt(i64::from_be_bytes(b))
            }
            SqlType::Double => {
                let b: [u8; 8] = bytes
                    .try_into()
                    .map_err(|_| wrong_size("DoubleDeserializer", 8))?;
                Value::Double(f64::from_be_bytes(b))
            }
            SqlType::String => Value::String(String::from_utf8_lossy(bytes).into_owned()),
            SqlType::Bytes => Value::Bytes(bytes.to_vec()),
            other => {
                return Err(Error::format(format!(
                    "The 'KAFKA' format does not support type '{}'",
                    base_type_name(other)
                )))
            }
        };
        Ok(Some(vec![v]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec(ty: SqlType) -> KafkaCodec {
        KafkaCodec::new(vec![Column::new("V", ty, ColumnKind::Value)]).unwrap()
    }

    fn round_trip(ty: SqlType, v: Value, bytes: &[u8]) {
        let c = codec(ty);
        assert_eq!(
            c.encode(std::slice::from_ref(&v)).unwrap().as_deref(),
            Some(bytes)
        );
        assert_eq!(c.decode(Some(bytes)).unwrap(), Some(vec![v]));
    }

    #[test]
    fn binary_encodings() {
        round_trip(SqlType::Int, Value::Int(-2), &[0xff, 0xff, 0xff, 0xfe]);
        round_trip(
            SqlType::BigInt,
            Value::BigInt(258),
            &[0, 0, 0, 0, 0, 0, 1, 2],
        );
        round_trip(SqlType::Double, Value::Double(1.5), &1.5f64.to_be_bytes());
        round_trip(
            SqlType::String,
            Value::String("héllo".into()),
            "héllo".as_bytes(),
        );
        round_trip(SqlType::String, Value::String(String::new()), b"");
        round_trip(SqlType::Bytes, Value::Bytes(vec![0, 9]), &[0, 9]);
    }

    #[test]
    fn nulls_and_widening() {
        let c = codec(SqlType::BigInt);
        assert_eq!(c.encode(&[Value::Null]).unwrap(), None);
        assert_eq!(c.decode(None).unwrap(), None);
        assert_eq!(
            c.encode(&[Value::Int(1)]).unwrap(),
            Some(vec![0, 0, 0, 0, 0, 0, 0, 1])
        );
        assert!(codec(SqlType::Int)
            .encode(&[Value::BigInt(1 << 40)])
            .is_err());
        assert!(codec(SqlType::String).encode(&[Value::Int(1)]).is_err());
        assert_eq!(
            codec(SqlType::String).decode(Some(&[0xff])).unwrap(),
            Some(vec![Value::String("\u{FFFD}".into())])
        );
    }

    #[test]
    fn wrong_sizes() {
        let err = codec(SqlType::Int).decode(Some(&[1, 2, 3])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Size of data received by IntegerDeserializer is not 4"
        );
        let err = codec(SqlType::BigInt).decode(Some(&[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Size of data received by LongDeserializer is not 8"
        );
        assert!(codec(SqlType::Double).decode(Some(&[0; 4])).is_err());
    }

    #[test]
    fn construction_errors() {
        let err = KafkaCodec::new(vec![
            Column::new("V0", SqlType::Int, ColumnKind::Value),
            Column::new("V1", SqlType::String, ColumnKind::Value),
        ])
        .err()
        .unwrap();
        assert_eq!(
            err.to_string(),
            "The 'KAFKA' format only supports a single field. Got: [`V0` INTEGER, `V1` STRING]"
        );
        let err = KafkaCodec::new(vec![
            Column::new("K1", SqlType::Int, ColumnKind::Key),
            Column::new("K2", SqlType::Int, ColumnKind::Key),
        ])
        .err()
        .unwrap();
        assert!(err
            .to_string()
            .ends_with("Got: [`K1` INTEGER KEY, `K2` INTEGER KEY]"));
        for (ty, name) in [
            (SqlType::Boolean, "BOOLEAN"),
            (SqlType::Decimal(4, 2), "DECIMAL"),
            (SqlType::Array(Box::new(SqlType::Int)), "ARRAY"),
            (
                SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Int)),
                "MAP",
            ),
            (SqlType::Struct(vec![("F".into(), SqlType::Int)]), "STRUCT"),
            (SqlType::Timestamp, "TIMESTAMP"),
        ] {
            let err = KafkaCodec::new(vec![Column::new("V", ty, ColumnKind::Value)])
                .err()
                .unwrap();
            assert_eq!(
                err.to_string(),
                format!("The 'KAFKA' format does not support type '{name}'")
            );
        }
    }

    #[test]
    fn no_columns() {
        let c = KafkaCodec::new(vec![]).unwrap();
        assert_eq!(c.encode(&[]).unwrap(), None);
        assert_eq!(c.decode(Some(b"ignored")).unwrap(), Some(vec![]));
    }
}
