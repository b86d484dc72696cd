//! The PROTOBUF and PROTOBUF_NOSR formats: records are protocol buffers
//! (proto3) messages whose schema is derived from the columns, as ksqlDB
//! derives it through Confluent's Connect converter.
//!
//! **Schema.** A key or a value is always a message (ksqlDB has no unwrapped
//! single values for protobuf), named `ConnectDefault1`, with one field per
//! column numbered 1..n in column order ([`proto_schema_text`] prints it):
//!
//! | SQL type    | protobuf                                                    |
//! |-------------|-------------------------------------------------------------|
//! | BOOLEAN     | `bool`                                                      |
//! | INT         | `int32`                                                     |
//! | BIGINT      | `int64`                                                     |
//! | DOUBLE      | `double`                                                    |
//! | STRING      | `string`                                                    |
//! | BYTES       | `bytes`                                                     |
//! | DECIMAL     | `confluent.type.Decimal` {bytes value = 1 (big-endian two's complement unscaled); uint32 precision = 2; int32 scale = 3} |
//! | DATE        | `google.type.Date` {int32 year = 1; month = 2; day = 3}     |
//! | TIME        | `google.type.TimeOfDay` {hours = 1; minutes = 2; seconds = 3; nanos = 4} |
//! | TIMESTAMP   | `google.protobuf.Timestamp` {int64 seconds = 1; int32 nanos = 2} |
//! | ARRAY       | `repeated` field (BOOLEAN/INT/BIGINT/DOUBLE elements packed) |
//! | MAP         | `repeated ConnectDefaultNEntry` {string key = 1; value = 2} |
//! | STRUCT      | nested message `ConnectDefaultN`                            |
//!
//! An array whose elements are themselves arrays or maps cannot be a plain
//! repeated field; each element is then wrapped in a message
//! `ConnectDefaultN` holding it as field 1.
//!
//! **Framing.** PROTOBUF records carry Confluent Schema Registry framing:
//! magic byte 0, a 4-byte big-endian schema id (a fixed id when writing, as
//! Sluice has no registry; any id is accepted when reading), the message
//! index list (a single 0 byte for the first message of the schema; any list
//! is accepted when reading), then the message. PROTOBUF_NOSR records are the
//! bare message.
//!
//! **Nulls.** Protobuf scalars have no null. By default (ksqlDB's default
//! nullable representation) a null or default scalar is not written and an
//! absent scalar reads back as its type's default: `false`, `0`, `0.0`, `""`
//! — except BYTES, which reads back as null, as in ksqlDB's cases. Absent
//! message-typed fields (DECIMAL, DATE, TIME, TIMESTAMP, STRUCT) read back as
//! null; absent arrays and maps as empty ones. Null array elements are
//! written as their type's default. With
//! [`NullableRepresentation::Optional`] scalars are proto3 `optional`
//! fields and with [`NullableRepresentation::Wrapper`] they are
//! `google.protobuf.*Value` wrapper messages: either way a null is absent and
//! reads back as null, and a default value is written.
//!
//! **Wire format** (written here, no protobuf crate): varints for
//! bool/int32/int64/uint32 (no zig-zag: a negative int32 takes 10 bytes),
//! little-endian fixed64 for doubles, length-delimited strings, bytes,
//! messages and packed arrays. Decoding accepts packed and unpacked arrays
//! and skips unknown field numbers; a truncated or malformed payload is an
//! `Error::Format` naming what was wrong.
//!
//! This file holds [`ProtobufCodec`] and the type checks; the parts are
//! `encode` (the message writer), `decode` (the message reader), `codec`
//! (the `Codec` implementation over both), `schema` (the `.proto` text),
//! `dates` (calendar arithmetic for DATE) and `tests`.

use crate::error::{Error, Result};
use crate::formats::Codec;
use crate::types::{Column, Decimal, SqlType, Value};
use std::collections::BTreeSet;
use std::fmt::Write as _;

mod codec;
mod dates;
mod decode;
mod encode;
mod schema;
#[cfg(test)]
mod tests;

pub use schema::proto_schema_text;

/// The schema id written in the Schema Registry framing unless another one
/// is set with [`ProtobufCodec::with_schema_id`].
pub const DEFAULT_SCHEMA_ID: u32 = 1;

/// The name of the root message of a derived schema.
pub(super) const ROOT_MESSAGE: &str = "ConnectDefault1";

pub(super) const WT_VARINT: u8 = 0;
pub(super) const WT_I64: u8 = 1;
pub(super) const WT_LEN: u8 = 2;
pub(super) const WT_START_GROUP: u8 = 3;
pub(super) const WT_END_GROUP: u8 = 4;
pub(super) const WT_I32: u8 = 5;

pub(super) const MS_PER_DAY: i64 = 86_400_000;

/// How nullable scalar fields are represented (ksqlDB's
/// `PROTOBUF_NULLABLE_REPRESENTATION` property).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NullableRepresentation {
    /// Plain proto3 fields: nulls are indistinguishable from defaults and
    /// read back as defaults.
    #[default]
    Implicit,
    /// proto3 `optional` fields: a set field is always written, even when it
    /// holds the default; an absent one reads back as null.
    Optional,
    /// `google.protobuf.*Value` wrapper messages: a null is an absent
    /// wrapper and reads back as null.
    Wrapper,
}

/// Codec for ksqlDB's PROTOBUF (framed) and PROTOBUF_NOSR (bare) formats.
pub struct ProtobufCodec {
    columns: Vec<Column>,
    framed: bool,
    schema_id: u32,
    nullable: NullableRepresentation,
}

impl ProtobufCodec {
    /// A codec for `columns`. `unwrap` has no effect: protobuf keys and
    /// values are always messages in ksqlDB. `framed` selects the Schema
    /// Registry framing (PROTOBUF) rather than the bare message
    /// (PROTOBUF_NOSR). Fails with a plan error for types protobuf cannot
    /// hold (maps with non-STRING keys, unresolved types).
    pub fn new(columns: Vec<Column>, unwrap: bool, framed: bool) -> Result<Self> {
        let _ = unwrap;
        for c in &columns {
            check_type(&c.ty)?;
        }
        Ok(ProtobufCodec {
            columns,
            framed,
            schema_id: DEFAULT_SCHEMA_ID,
            nullable: NullableRepresentation::Implicit,
        })
    }

    /// The same codec writing `id` as the schema id of framed records.
    pub fn with_schema_id(mut self, id: u32) -> Self {
        self.schema_id = id;
        self
    }

    /// The same codec with another representation of nullable scalars.
    pub fn with_nullable_representation(mut self, nullable: NullableRepresentation) -> Self {
        self.nullable = nullable;
        self
    }
}

/// Rejects types that the protobuf formats cannot hold.
pub(super) fn check_type(ty: &SqlType) -> Result<()> {
    match ty {
        SqlType::Boolean
        | SqlType::Int
        | SqlType::BigInt
        | SqlType::Double
        | SqlType::Decimal(..)
        | SqlType::String
        | SqlType::Bytes
        | SqlType::Date
        | SqlType::Time
        | SqlType::Timestamp => Ok(()),
        SqlType::Array(elem) => check_type(elem),
        SqlType::Map(k, v) => {
            if **k != SqlType::String {
                return Err(Error::plan(
                    "PROTOBUF format only supports MAP types with STRING keys",
                ));
            }
            check_type(v)
        }
        SqlType::Struct(fields) => fields.iter().try_for_each(|(_, t)| check_type(t)),
        other => Err(Error::plan(format!(
            "The PROTOBUF format does not support type '{other}'"
        ))),
    }
}

/// True for the types written as plain protobuf scalars.
pub(super) fn is_scalar(ty: &SqlType) -> bool {
    matches!(
        ty,
        SqlType::Boolean
            | SqlType::Int
            | SqlType::BigInt
            | SqlType::Double
            | SqlType::String
            | SqlType::Bytes
    )
}

/// True for the scalar types whose repeated fields are packed.
pub(super) fn is_packable(ty: &SqlType) -> bool {
    matches!(
        ty,
        SqlType::Boolean | SqlType::Int | SqlType::BigInt | SqlType::Double
    )
}
