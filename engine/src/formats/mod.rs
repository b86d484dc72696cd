//! Serialization formats for record keys and values: JSON, DELIMITED, KAFKA,
//! NONE, AVRO and PROTOBUF. A [`Codec`] is built for a list of columns and turns their
//! values into record bytes and back.

pub mod avro;
pub mod delimited;
pub mod json;
pub mod kafka;
pub mod protobuf;

use crate::error::{Error, Result};
use crate::types::{Column, Value};
use std::fmt;

/// A format name as written in WITH (KEY_FORMAT / VALUE_FORMAT / FORMAT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormatKind {
    Json,
    Delimited,
    Kafka,
    None,
    Avro,
    Protobuf,
    ProtobufNoSr,
    JsonSr,
}

impl FormatKind {
    pub fn parse(name: &str) -> Result<FormatKind> {
        Ok(match name.to_ascii_uppercase().as_str() {
            "JSON" => FormatKind::Json,
            "DELIMITED" => FormatKind::Delimited,
            "KAFKA" => FormatKind::Kafka,
            "NONE" => FormatKind::None,
            "AVRO" => FormatKind::Avro,
            "PROTOBUF" => FormatKind::Protobuf,
            "PROTOBUF_NOSR" => FormatKind::ProtobufNoSr,
            "JSON_SR" => FormatKind::JsonSr,
            other => return Err(Error::plan(format!("Unknown format: {other}"))),
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            FormatKind::Json => "JSON",
            FormatKind::Delimited => "DELIMITED",
            FormatKind::Kafka => "KAFKA",
            FormatKind::None => "NONE",
            FormatKind::Avro => "AVRO",
            FormatKind::Protobuf => "PROTOBUF",
            FormatKind::ProtobufNoSr => "PROTOBUF_NOSR",
            FormatKind::JsonSr => "JSON_SR",
        }
    }
}

impl fmt::Display for FormatKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format with its options.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FormatSpec {
    pub kind: FormatKind,
    /// DELIMITED: the field separator (VALUE_DELIMITER / KEY_DELIMITER).
    pub delimiter: char,
    /// Whether a single column is written inside an object/record
    /// (WRAP_SINGLE_VALUE). Keys are never wrapped; values default to wrapped.
    pub wrap_single: bool,
    /// AVRO: the schema registry's id of the schema records are written
    /// with (the sink's registered schema); None writes the default id.
    pub schema_id: Option<u32>,
}

impl FormatSpec {
    pub fn new(kind: FormatKind) -> Self {
        FormatSpec {
            kind,
            delimiter: ',',
            wrap_single: true,
            schema_id: None,
        }
    }
}

/// Turns the values of a fixed list of columns into record bytes and back.
pub trait Codec: Send + Sync {
    /// Serializes one row's values (in column order). None means the record
    /// part is absent (a null key, or a tombstone value).
    fn encode(&self, values: &[Value]) -> Result<Option<Vec<u8>>>;
    /// Deserializes record bytes into values in column order. `None` bytes
    /// give `Ok(None)`: a null key, or a tombstone. An unreadable payload is
    /// an `Error::Format` naming what was wrong.
    fn decode(&self, bytes: Option<&[u8]>) -> Result<Option<Vec<Value>>>;
    /// [`Codec::decode`], with room in the returned list for at least
    /// `capacity` values, so a caller can add more without reallocating.
    fn decode_with_capacity(
        &self,
        bytes: Option<&[u8]>,
        capacity: usize,
    ) -> Result<Option<Vec<Value>>> {
        let _ = capacity;
        self.decode(bytes)
    }
}

/// Builds the codec for `columns` in `spec`. `is_key` selects key rules
/// (a single key column is never wrapped).
pub fn codec(spec: &FormatSpec, columns: &[Column], is_key: bool) -> Result<Box<dyn Codec>> {
    let unwrap = columns.len() == 1 && (is_key || !spec.wrap_single);
    match spec.kind {
        FormatKind::Json | FormatKind::JsonSr => {
            Ok(Box::new(json::JsonCodec::new(columns.to_vec(), unwrap)))
        }
        FormatKind::Delimited => Ok(Box::new(delimited::DelimitedCodec::new(
            columns.to_vec(),
            spec.delimiter,
        )?)),
        FormatKind::Kafka => Ok(Box::new(kafka::KafkaCodec::new(columns.to_vec())?)),
        FormatKind::Avro => {
            let codec = avro::AvroCodec::new(columns.to_vec(), unwrap)?;
            Ok(Box::new(match spec.schema_id {
                Some(id) => codec.with_schema_id(id),
                None => codec,
            }))
        }
        FormatKind::Protobuf | FormatKind::ProtobufNoSr => {
            Ok(Box::new(protobuf::ProtobufCodec::new(
                columns.to_vec(),
                unwrap,
                spec.kind == FormatKind::Protobuf,
            )?))
        }
        FormatKind::None => {
            if columns.is_empty() {
                Ok(Box::new(NoneCodec))
            } else {
                Err(Error::plan(format!(
                    "The 'NONE' format can only be used when no columns are defined. Got: [{}]",
                    columns
                        .iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
        }
    }
}

/// The NONE format: no columns; bytes are ignored when read, absent when
/// written.
struct NoneCodec;

impl Codec for NoneCodec {
    fn encode(&self, _values: &[Value]) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }
    fn decode(&self, _bytes: Option<&[u8]>) -> Result<Option<Vec<Value>>> {
        Ok(Some(Vec::new()))
    }
}
