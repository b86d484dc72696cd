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

use crate::error::{Error, Result};
use crate::formats::Codec;
use crate::types::{Column, Decimal, SqlType, Value};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// The schema id written in the Schema Registry framing unless another one
/// is set with [`ProtobufCodec::with_schema_id`].
pub const DEFAULT_SCHEMA_ID: u32 = 1;

/// The name of the root message of a derived schema.
const ROOT_MESSAGE: &str = "ConnectDefault1";

const WT_VARINT: u8 = 0;
const WT_I64: u8 = 1;
const WT_LEN: u8 = 2;
const WT_START_GROUP: u8 = 3;
const WT_END_GROUP: u8 = 4;
const WT_I32: u8 = 5;

const MS_PER_DAY: i64 = 86_400_000;

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

    /// The `.proto` text of the schema this codec reads and writes.
    pub fn schema_text(&self) -> String {
        schema_text(&self.columns, self.nullable)
    }
}

/// Rejects types that the protobuf formats cannot hold.
fn check_type(ty: &SqlType) -> Result<()> {
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
fn is_scalar(ty: &SqlType) -> bool {
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
fn is_packable(ty: &SqlType) -> bool {
    matches!(
        ty,
        SqlType::Boolean | SqlType::Int | SqlType::BigInt | SqlType::Double
    )
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

/// A scalar ready to be written: its wire type follows from the variant.
enum Scalar<'a> {
    Varint(u64),
    Fixed64(u64),
    Len(&'a [u8]),
}

impl Scalar<'_> {
    fn is_default(&self) -> bool {
        match self {
            Scalar::Varint(v) | Scalar::Fixed64(v) => *v == 0,
            Scalar::Len(b) => b.is_empty(),
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_tag(out: &mut Vec<u8>, num: u32, wire_type: u8) {
    put_varint(out, (u64::from(num) << 3) | u64::from(wire_type));
}

fn put_len(out: &mut Vec<u8>, num: u32, bytes: &[u8]) {
    put_tag(out, num, WT_LEN);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Writes a varint field unless it is zero (proto3 implicit presence).
fn put_varint_field(out: &mut Vec<u8>, num: u32, v: u64) {
    if v != 0 {
        put_tag(out, num, WT_VARINT);
        put_varint(out, v);
    }
}

/// Writes `s` as field `num`; a default value is skipped when `omit_default`.
fn put_scalar(out: &mut Vec<u8>, num: u32, s: &Scalar<'_>, omit_default: bool) {
    if omit_default && s.is_default() {
        return;
    }
    match s {
        Scalar::Varint(v) => {
            put_tag(out, num, WT_VARINT);
            put_varint(out, *v);
        }
        Scalar::Fixed64(v) => {
            put_tag(out, num, WT_I64);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Scalar::Len(b) => put_len(out, num, b),
    }
}

/// Writes the raw payload of a scalar inside a packed array.
fn put_packed(out: &mut Vec<u8>, s: &Scalar<'_>) {
    match s {
        Scalar::Varint(v) => put_varint(out, *v),
        Scalar::Fixed64(v) => out.extend_from_slice(&v.to_le_bytes()),
        Scalar::Len(b) => out.extend_from_slice(b),
    }
}

fn wrong_value(ty: &SqlType, v: &Value) -> Error {
    Error::format(format!(
        "Error serializing PROTOBUF: expected {ty}, got {}",
        v.natural_type()
    ))
}

/// The scalar for a non-null value of scalar type `ty`.
fn scalar<'a>(ty: &SqlType, v: &'a Value) -> Result<Scalar<'a>> {
    Ok(match ty {
        SqlType::Boolean => {
            Scalar::Varint(u64::from(v.as_bool().ok_or_else(|| wrong_value(ty, v))?))
        }
        SqlType::Int => {
            let i = v
                .as_i64()
                .and_then(|i| i32::try_from(i).ok())
                .ok_or_else(|| wrong_value(ty, v))?;
            // int32 is sign-extended to 64 bits on the wire.
            Scalar::Varint(i64::from(i) as u64)
        }
        SqlType::BigInt => Scalar::Varint(v.as_i64().ok_or_else(|| wrong_value(ty, v))? as u64),
        SqlType::Double => Scalar::Fixed64(v.as_f64().ok_or_else(|| wrong_value(ty, v))?.to_bits()),
        SqlType::String => match v {
            Value::String(s) => Scalar::Len(s.as_bytes()),
            other => return Err(wrong_value(ty, other)),
        },
        SqlType::Bytes => match v {
            Value::Bytes(b) => Scalar::Len(b),
            other => return Err(wrong_value(ty, other)),
        },
        other => return Err(wrong_value(other, v)),
    })
}

/// The default scalar of a scalar type (what a null array element becomes).
fn default_scalar(ty: &SqlType) -> Scalar<'static> {
    match ty {
        SqlType::Double => Scalar::Fixed64(0),
        SqlType::String | SqlType::Bytes => Scalar::Len(&[]),
        _ => Scalar::Varint(0),
    }
}

/// The value of struct field `name`, expected at position `i`.
fn struct_field<'a>(fields: &'a [(String, Value)], i: usize, name: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    match fields.get(i) {
        Some((n, v)) if n == name => v,
        _ => fields
            .iter()
            .find(|(n, _)| n == name)
            .or_else(|| fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)))
            .map(|(_, v)| v)
            .unwrap_or(&NULL),
    }
}

/// The minimal big-endian two's complement bytes of `v` (at least one byte,
/// as Java's `BigInteger.toByteArray`).
fn twos_complement(v: i128) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < bytes.len() - 1 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0x00 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    bytes[start..].to_vec()
}

/// The number of decimal digits of the unscaled value (Java's
/// `BigDecimal.precision`).
fn digit_count(v: i128) -> u32 {
    let mut n = v.unsigned_abs();
    let mut digits = 1;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    digits
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// (year, month, day) to days since 1970-01-01.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            if leap {
                29
            } else {
                28
            }
        }
    }
}

impl ProtobufCodec {
    /// Writes a singular message field; a null writes nothing.
    fn put_field(&self, out: &mut Vec<u8>, num: u32, ty: &SqlType, v: &Value) -> Result<()> {
        if v.is_null() {
            return Ok(());
        }
        match ty {
            SqlType::Array(elem) => {
                let Value::Array(items) = v else {
                    return Err(wrong_value(ty, v));
                };
                self.put_repeated(out, num, elem, items)
            }
            SqlType::Map(_, vt) => {
                let Value::Map(entries) = v else {
                    return Err(wrong_value(ty, v));
                };
                for (k, val) in entries {
                    let mut entry = Vec::new();
                    match k {
                        Value::Null => {}
                        Value::String(s) => {
                            put_scalar(&mut entry, 1, &Scalar::Len(s.as_bytes()), true)
                        }
                        other => {
                            let s = other.to_string();
                            put_scalar(&mut entry, 1, &Scalar::Len(s.as_bytes()), true);
                        }
                    }
                    self.put_field(&mut entry, 2, vt, val)?;
                    put_len(out, num, &entry);
                }
                Ok(())
            }
            _ if is_scalar(ty) => {
                let s = scalar(ty, v)?;
                match self.nullable {
                    NullableRepresentation::Implicit => put_scalar(out, num, &s, true),
                    NullableRepresentation::Optional => put_scalar(out, num, &s, false),
                    NullableRepresentation::Wrapper => {
                        let mut inner = Vec::new();
                        put_scalar(&mut inner, 1, &s, true);
                        put_len(out, num, &inner);
                    }
                }
                Ok(())
            }
            _ => {
                let body = self.message_body(ty, v)?;
                put_len(out, num, &body);
                Ok(())
            }
        }
    }

    /// Writes the elements of an array field.
    fn put_repeated(
        &self,
        out: &mut Vec<u8>,
        num: u32,
        elem: &SqlType,
        items: &[Value],
    ) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        if is_packable(elem) && self.nullable != NullableRepresentation::Wrapper {
            let mut packed = Vec::with_capacity(items.len() * 2);
            for item in items {
                let s = if item.is_null() {
                    default_scalar(elem)
                } else {
                    scalar(elem, item)?
                };
                put_packed(&mut packed, &s);
            }
            put_len(out, num, &packed);
            return Ok(());
        }
        for item in items {
            self.put_element(out, num, elem, item)?;
        }
        Ok(())
    }

    /// Writes one element of a non-packed repeated field: always present,
    /// a null as its type's default.
    fn put_element(&self, out: &mut Vec<u8>, num: u32, ty: &SqlType, v: &Value) -> Result<()> {
        match ty {
            SqlType::Array(_) | SqlType::Map(..) => {
                let mut inner = Vec::new();
                self.put_field(&mut inner, 1, ty, v)?;
                put_len(out, num, &inner);
            }
            _ if is_scalar(ty) => {
                let s = if v.is_null() {
                    default_scalar(ty)
                } else {
                    scalar(ty, v)?
                };
                if self.nullable == NullableRepresentation::Wrapper {
                    let mut inner = Vec::new();
                    put_scalar(&mut inner, 1, &s, true);
                    put_len(out, num, &inner);
                } else {
                    put_scalar(out, num, &s, false);
                }
            }
            _ => {
                let body = if v.is_null() {
                    Vec::new()
                } else {
                    self.message_body(ty, v)?
                };
                put_len(out, num, &body);
            }
        }
        Ok(())
    }

    /// The bytes of a message-typed value: DECIMAL, DATE, TIME, TIMESTAMP
    /// or STRUCT.
    fn message_body(&self, ty: &SqlType, v: &Value) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        match ty {
            SqlType::Decimal(p, s) => {
                let d = v
                    .as_decimal()
                    .ok_or_else(|| wrong_value(ty, v))?
                    .fit(*p, *s)
                    .ok_or_else(|| {
                        Error::format(format!(
                            "Error serializing PROTOBUF: {v} does not fit in {ty}"
                        ))
                    })?;
                put_len(&mut out, 1, &twos_complement(d.unscaled));
                put_varint_field(&mut out, 2, u64::from(digit_count(d.unscaled)));
                put_varint_field(&mut out, 3, u64::from(d.scale));
            }
            SqlType::Date => {
                let days = match v {
                    Value::Date(d) => i64::from(*d),
                    other => other.as_i64().ok_or_else(|| wrong_value(ty, other))?,
                };
                let (year, month, day) = civil_from_days(days);
                put_varint_field(&mut out, 1, year as u64);
                put_varint_field(&mut out, 2, u64::from(month));
                put_varint_field(&mut out, 3, u64::from(day));
            }
            SqlType::Time => {
                let ms = match v {
                    Value::Time(t) => *t,
                    other => other.as_i64().ok_or_else(|| wrong_value(ty, other))?,
                }
                .rem_euclid(MS_PER_DAY);
                put_varint_field(&mut out, 1, (ms / 3_600_000) as u64);
                put_varint_field(&mut out, 2, (ms / 60_000 % 60) as u64);
                put_varint_field(&mut out, 3, (ms / 1000 % 60) as u64);
                put_varint_field(&mut out, 4, (ms % 1000 * 1_000_000) as u64);
            }
            SqlType::Timestamp => {
                let ms = match v {
                    Value::Timestamp(t) => *t,
                    other => other.as_i64().ok_or_else(|| wrong_value(ty, other))?,
                };
                put_varint_field(&mut out, 1, ms.div_euclid(1000) as u64);
                put_varint_field(&mut out, 2, (ms.rem_euclid(1000) * 1_000_000) as u64);
            }
            SqlType::Struct(fields) => {
                let Value::Struct(values) = v else {
                    return Err(wrong_value(ty, v));
                };
                for (i, (name, fty)) in fields.iter().enumerate() {
                    let num = field_number(i)?;
                    self.put_field(&mut out, num, fty, struct_field(values, i, name))?;
                }
            }
            other => return Err(wrong_value(other, v)),
        }
        Ok(out)
    }
}

/// The protobuf field number of the field at position `i`.
fn field_number(i: usize) -> Result<u32> {
    u32::try_from(i + 1)
        .ok()
        .filter(|n| *n < (1 << 29))
        .ok_or_else(|| Error::format("Too many fields for a PROTOBUF message"))
}

impl Codec for ProtobufCodec {
    fn encode(&self, values: &[Value]) -> Result<Option<Vec<u8>>> {
        if values.len() != self.columns.len() {
            return Err(Error::format(format!(
                "Column count mismatch on serialization. expected: {}, got: {}",
                self.columns.len(),
                values.len()
            )));
        }
        if self.columns.is_empty() {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(64);
        if self.framed {
            out.push(0);
            out.extend_from_slice(&self.schema_id.to_be_bytes());
            // Message indexes: the first message of the schema.
            out.push(0);
        }
        for (i, (c, v)) in self.columns.iter().zip(values).enumerate() {
            self.put_field(&mut out, field_number(i)?, &c.ty, v)?;
        }
        Ok(Some(out))
    }

    fn decode(&self, bytes: Option<&[u8]>) -> Result<Option<Vec<Value>>> {
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        if self.columns.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let mut r = Reader::new(bytes);
        if self.framed {
            r.skip_framing()?;
        }
        let types: Vec<&SqlType> = self.columns.iter().map(|c| &c.ty).collect();
        let values = self.read_message(r, &types)?;
        Ok(Some(values))
    }
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

fn malformed(msg: impl std::fmt::Display) -> Error {
    Error::format(format!("Failed to deserialize PROTOBUF record: {msg}"))
}

fn wire_type_name(wt: u8) -> &'static str {
    match wt {
        WT_VARINT => "varint",
        WT_I64 => "64-bit",
        WT_LEN => "length-delimited",
        WT_START_GROUP => "start-group",
        WT_END_GROUP => "end-group",
        WT_I32 => "32-bit",
        _ => "invalid",
    }
}

fn wrong_wire_type(num: u32, ty: &SqlType, wt: u8) -> Error {
    malformed(format!(
        "field {num} of type {ty} has unexpected wire type {wt} ({})",
        wire_type_name(wt)
    ))
}

/// A cursor over protobuf wire data.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn byte(&mut self) -> Result<u8> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| malformed(format!("truncated input at byte {}", self.pos)))?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64> {
        let start = self.pos;
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = self
                .byte()
                .map_err(|_| malformed(format!("truncated varint at byte {start}")))?;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(malformed(format!(
            "varint longer than 10 bytes at byte {start}"
        )))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.buf.len())
            .ok_or_else(|| {
                malformed(format!(
                    "truncated input: {n} bytes needed at byte {}, {} left",
                    self.pos,
                    self.buf.len().saturating_sub(self.pos)
                ))
            })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn fixed64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn fixed32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Ok(u32::from_le_bytes(a))
    }

    fn len_delimited(&mut self) -> Result<&'a [u8]> {
        let start = self.pos;
        let n = self.varint()?;
        let n = usize::try_from(n)
            .map_err(|_| malformed(format!("length {n} too large at byte {start}")))?;
        self.take(n)
    }

    /// The next field number and wire type.
    fn tag(&mut self) -> Result<(u32, u8)> {
        let start = self.pos;
        let t = self.varint()?;
        let num = t >> 3;
        let wt = (t & 7) as u8;
        if num == 0 || num > u64::from(u32::MAX >> 3) {
            return Err(malformed(format!(
                "invalid field number {num} at byte {start}"
            )));
        }
        Ok((num as u32, wt))
    }

    /// Skips the payload of an unknown field.
    fn skip(&mut self, num: u32, wt: u8) -> Result<()> {
        match wt {
            WT_VARINT => {
                self.varint()?;
            }
            WT_I64 => {
                self.take(8)?;
            }
            WT_LEN => {
                self.len_delimited()?;
            }
            WT_I32 => {
                self.take(4)?;
            }
            WT_START_GROUP => {
                let mut depth = 1usize;
                while depth > 0 {
                    let (n, w) = self.tag()?;
                    match w {
                        WT_START_GROUP => depth += 1,
                        WT_END_GROUP => depth -= 1,
                        _ => self.skip(n, w)?,
                    }
                }
            }
            WT_END_GROUP => {
                return Err(malformed(format!("unexpected end-group for field {num}")));
            }
            other => {
                return Err(malformed(format!(
                    "invalid wire type {other} for field {num} at byte {}",
                    self.pos
                )))
            }
        }
        Ok(())
    }

    /// Skips the Schema Registry framing: magic byte, schema id, message
    /// indexes.
    fn skip_framing(&mut self) -> Result<()> {
        if self.buf.len() < 5 {
            return Err(malformed(format!(
                "record of {} bytes is too short for the schema registry header",
                self.buf.len()
            )));
        }
        if self.buf[0] != 0 {
            return Err(malformed(format!(
                "unknown magic byte {} (expected 0)",
                self.buf[0]
            )));
        }
        self.pos = 5;
        // Message indexes: a zig-zag varint count, then that many zig-zag
        // varints; a count of 0 stands for [0].
        let count = zigzag(self.varint()?);
        if count < 0 || count as u64 > (self.buf.len() - self.pos) as u64 {
            return Err(malformed(format!("invalid message index count {count}")));
        }
        for _ in 0..count {
            self.varint()?;
        }
        Ok(())
    }
}

fn zigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// The two's complement big-endian integer in `bytes` (empty is 0).
fn from_twos_complement(bytes: &[u8]) -> Result<i128> {
    if bytes.is_empty() {
        return Ok(0);
    }
    if bytes.len() > 16 {
        return Err(malformed(format!(
            "decimal value of {} bytes is too large",
            bytes.len()
        )));
    }
    let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0x00 };
    let mut a = [fill; 16];
    a[16 - bytes.len()..].copy_from_slice(bytes);
    Ok(i128::from_be_bytes(a))
}

impl ProtobufCodec {
    /// Reads a message whose fields 1..n have `types`, in field order.
    fn read_message(&self, mut r: Reader<'_>, types: &[&SqlType]) -> Result<Vec<Value>> {
        let mut slots: Vec<Option<Value>> = vec![None; types.len()];
        while !r.at_end() {
            let (num, wt) = r.tag()?;
            let idx = num as usize - 1;
            match types.get(idx) {
                Some(ty) => self.read_field(&mut r, num, wt, ty, &mut slots[idx])?,
                None => r.skip(num, wt)?,
            }
        }
        Ok(types
            .iter()
            .zip(slots)
            .map(|(ty, slot)| self.finish(ty, slot))
            .collect())
    }

    /// The value of a field once the message is read: absent fields become
    /// their type's default, empty collections or null.
    fn finish(&self, ty: &SqlType, slot: Option<Value>) -> Value {
        if let Some(v) = slot {
            return v;
        }
        match ty {
            SqlType::Array(_) => Value::Array(Vec::new()),
            SqlType::Map(..) => Value::Map(Vec::new()),
            _ if self.nullable != NullableRepresentation::Implicit => Value::Null,
            SqlType::Boolean => Value::Bool(false),
            SqlType::Int => Value::Int(0),
            SqlType::BigInt => Value::BigInt(0),
            SqlType::Double => Value::Double(0.0),
            SqlType::String => Value::String(String::new()),
            _ => Value::Null,
        }
    }

    /// Reads one occurrence of field `num` into its slot.
    fn read_field(
        &self,
        r: &mut Reader<'_>,
        num: u32,
        wt: u8,
        ty: &SqlType,
        slot: &mut Option<Value>,
    ) -> Result<()> {
        match ty {
            SqlType::Array(elem) => {
                if !matches!(slot, Some(Value::Array(_))) {
                    *slot = Some(Value::Array(Vec::new()));
                }
                let Some(Value::Array(items)) = slot else {
                    return Err(malformed("internal: array slot"));
                };
                if wt == WT_LEN
                    && is_packable(elem)
                    && self.nullable != NullableRepresentation::Wrapper
                {
                    let mut packed = Reader::new(r.len_delimited()?);
                    let elem_wt = if **elem == SqlType::Double {
                        WT_I64
                    } else {
                        WT_VARINT
                    };
                    while !packed.at_end() {
                        items.push(read_scalar(&mut packed, num, elem_wt, elem)?);
                    }
                } else {
                    items.push(self.read_element(r, num, wt, elem)?);
                }
            }
            SqlType::Map(_, vt) => {
                if wt != WT_LEN {
                    return Err(wrong_wire_type(num, ty, wt));
                }
                let mut entry = Reader::new(r.len_delimited()?);
                let mut key = String::new();
                let mut value = None;
                while !entry.at_end() {
                    let (n, w) = entry.tag()?;
                    match n {
                        1 => match read_scalar(&mut entry, n, w, &SqlType::String)? {
                            Value::String(s) => key = s,
                            _ => return Err(malformed("internal: map key")),
                        },
                        2 => self.read_field(&mut entry, n, w, vt, &mut value)?,
                        _ => entry.skip(n, w)?,
                    }
                }
                let value = self.finish(vt, value);
                if !matches!(slot, Some(Value::Map(_))) {
                    *slot = Some(Value::Map(Vec::new()));
                }
                if let Some(Value::Map(entries)) = slot {
                    match entries.iter_mut().find(|(k, _)| k.as_str() == Some(&key)) {
                        Some(e) => e.1 = value,
                        None => entries.push((Value::String(key), value)),
                    }
                }
            }
            _ if is_scalar(ty) => {
                *slot = Some(if self.nullable == NullableRepresentation::Wrapper {
                    self.read_wrapper(r, num, wt, ty)?
                } else {
                    read_scalar(r, num, wt, ty)?
                });
            }
            _ => {
                if wt != WT_LEN {
                    return Err(wrong_wire_type(num, ty, wt));
                }
                *slot = Some(self.read_body(r.len_delimited()?, ty)?);
            }
        }
        Ok(())
    }

    /// Reads a `google.protobuf.*Value` wrapper around a scalar.
    fn read_wrapper(&self, r: &mut Reader<'_>, num: u32, wt: u8, ty: &SqlType) -> Result<Value> {
        if wt != WT_LEN {
            return Err(wrong_wire_type(num, ty, wt));
        }
        let mut inner = Reader::new(r.len_delimited()?);
        let mut value = None;
        while !inner.at_end() {
            let (n, w) = inner.tag()?;
            if n == 1 {
                value = Some(read_scalar(&mut inner, n, w, ty)?);
            } else {
                inner.skip(n, w)?;
            }
        }
        Ok(value.unwrap_or_else(|| match ty {
            SqlType::Boolean => Value::Bool(false),
            SqlType::Int => Value::Int(0),
            SqlType::BigInt => Value::BigInt(0),
            SqlType::Double => Value::Double(0.0),
            SqlType::String => Value::String(String::new()),
            _ => Value::Bytes(Vec::new()),
        }))
    }

    /// Reads one element of a non-packed repeated field.
    fn read_element(&self, r: &mut Reader<'_>, num: u32, wt: u8, ty: &SqlType) -> Result<Value> {
        match ty {
            SqlType::Array(_) | SqlType::Map(..) => {
                if wt != WT_LEN {
                    return Err(wrong_wire_type(num, ty, wt));
                }
                let inner = Reader::new(r.len_delimited()?);
                let mut values = self.read_message(inner, &[ty])?;
                Ok(values.pop().unwrap_or(Value::Null))
            }
            _ if is_scalar(ty) => {
                if self.nullable == NullableRepresentation::Wrapper {
                    self.read_wrapper(r, num, wt, ty)
                } else {
                    read_scalar(r, num, wt, ty)
                }
            }
            _ => {
                if wt != WT_LEN {
                    return Err(wrong_wire_type(num, ty, wt));
                }
                self.read_body(r.len_delimited()?, ty)
            }
        }
    }

    /// Decodes the bytes of a message-typed value.
    fn read_body(&self, bytes: &[u8], ty: &SqlType) -> Result<Value> {
        let r = Reader::new(bytes);
        match ty {
            SqlType::Decimal(p, s) => {
                let f = read_fields(r, ty, 3)?;
                let unscaled = match &f[0] {
                    Some(FieldData::Len(b)) => from_twos_complement(b)?,
                    Some(_) => return Err(wrong_wire_type(1, ty, WT_VARINT)),
                    None => 0,
                };
                let scale = u8::try_from(f[2].as_ref().map_or(0, FieldData::int) as i32)
                    .ok()
                    .filter(|s| *s <= 38)
                    .ok_or_else(|| malformed("invalid decimal scale"))?;
                Decimal::new(unscaled, scale)
                    .fit(*p, *s)
                    .map(Value::Decimal)
                    .ok_or_else(|| {
                        malformed(format!(
                            "decimal {} does not fit in {ty}",
                            Decimal::new(unscaled, scale)
                        ))
                    })
            }
            SqlType::Date => {
                let f = read_fields(r, ty, 3)?;
                let get = |i: usize| f[i].as_ref().map_or(0, FieldData::int) as i32;
                let (year, month, day) = (i64::from(get(0)), get(1), get(2));
                if !(1..=12).contains(&month)
                    || day < 1
                    || day as u32 > days_in_month(year, month as u32)
                {
                    return Err(malformed(format!(
                        "invalid date {year:04}-{month:02}-{day:02}"
                    )));
                }
                let days = days_from_civil(year, month as u32, day as u32);
                i32::try_from(days)
                    .map(Value::Date)
                    .map_err(|_| malformed(format!("date out of range: year {year}")))
            }
            SqlType::Time => {
                let f = read_fields(r, ty, 4)?;
                let get = |i: usize| i64::from(f[i].as_ref().map_or(0, FieldData::int) as i32);
                let (h, m, s, n) = (get(0), get(1), get(2), get(3));
                if !(0..24).contains(&h)
                    || !(0..60).contains(&m)
                    || !(0..60).contains(&s)
                    || !(0..1_000_000_000).contains(&n)
                {
                    return Err(malformed(format!(
                        "invalid time of day {h:02}:{m:02}:{s:02}.{n:09}"
                    )));
                }
                Ok(Value::Time(
                    h * 3_600_000 + m * 60_000 + s * 1000 + n / 1_000_000,
                ))
            }
            SqlType::Timestamp => {
                let f = read_fields(r, ty, 2)?;
                let seconds = f[0].as_ref().map_or(0, FieldData::int) as i64;
                let nanos = i64::from(f[1].as_ref().map_or(0, FieldData::int) as i32);
                seconds
                    .checked_mul(1000)
                    .and_then(|ms| ms.checked_add(nanos.div_euclid(1_000_000)))
                    .map(Value::Timestamp)
                    .ok_or_else(|| malformed(format!("timestamp out of range: {seconds}s")))
            }
            SqlType::Struct(fields) => {
                let types: Vec<&SqlType> = fields.iter().map(|(_, t)| t).collect();
                let values = self.read_message(r, &types)?;
                Ok(Value::Struct(
                    fields.iter().map(|(n, _)| n.clone()).zip(values).collect(),
                ))
            }
            other => Err(malformed(format!(
                "internal: {other} is not a message type"
            ))),
        }
    }
}

/// A raw field of a well-known message (Decimal, Date, ...).
enum FieldData<'a> {
    Varint(u64),
    Len(&'a [u8]),
}

impl FieldData<'_> {
    /// The field as an integer (0 for a length-delimited one).
    fn int(&self) -> u64 {
        match self {
            FieldData::Varint(v) => *v,
            FieldData::Len(_) => 0,
        }
    }
}

/// Reads the fields 1..=n of a well-known message, the last occurrence of
/// each winning; field 1 of a Decimal is length-delimited, all others are
/// varints.
fn read_fields<'a>(
    mut r: Reader<'a>,
    ty: &SqlType,
    n: usize,
) -> Result<Vec<Option<FieldData<'a>>>> {
    let mut out: Vec<Option<FieldData<'a>>> = (0..n).map(|_| None).collect();
    let bytes_field = matches!(ty, SqlType::Decimal(..));
    while !r.at_end() {
        let (num, wt) = r.tag()?;
        let idx = num as usize - 1;
        if idx >= n {
            r.skip(num, wt)?;
            continue;
        }
        out[idx] = Some(match (bytes_field && idx == 0, wt) {
            (true, WT_LEN) => FieldData::Len(r.len_delimited()?),
            (false, WT_VARINT) => FieldData::Varint(r.varint()?),
            _ => {
                return Err(malformed(format!(
                    "field {num} of {ty} has unexpected wire type {wt} ({})",
                    wire_type_name(wt)
                )))
            }
        });
    }
    Ok(out)
}

/// Reads a scalar of type `ty` written with wire type `wt`.
fn read_scalar(r: &mut Reader<'_>, num: u32, wt: u8, ty: &SqlType) -> Result<Value> {
    Ok(match (ty, wt) {
        (SqlType::Boolean, WT_VARINT) => Value::Bool(r.varint()? != 0),
        // int32 takes the low 32 bits, as protobuf parsers do.
        (SqlType::Int, WT_VARINT) => Value::Int(r.varint()? as u32 as i32),
        (SqlType::BigInt, WT_VARINT) => Value::BigInt(r.varint()? as i64),
        (SqlType::Double, WT_I64) => Value::Double(f64::from_bits(r.fixed64()?)),
        (SqlType::Double, WT_I32) => Value::Double(f64::from(f32::from_bits(r.fixed32()?))),
        (SqlType::String, WT_LEN) => {
            let b = r.len_delimited()?;
            Value::String(
                std::str::from_utf8(b)
                    .map_err(|e| malformed(format!("field {num}: invalid UTF-8 in string: {e}")))?
                    .to_string(),
            )
        }
        (SqlType::Bytes, WT_LEN) => Value::Bytes(r.len_delimited()?.to_vec()),
        _ => return Err(wrong_wire_type(num, ty, wt)),
    })
}

// ---------------------------------------------------------------------------
// Schema text
// ---------------------------------------------------------------------------

/// The `.proto` text of the schema ksqlDB derives for `columns` (root
/// message `ConnectDefault1`, fields numbered in column order, nested
/// messages `ConnectDefault2`, `ConnectDefault3Entry`... in depth-first
/// order), with the default nullable representation.
pub fn proto_schema_text(columns: &[Column]) -> String {
    schema_text(columns, NullableRepresentation::Implicit)
}

fn schema_text(columns: &[Column], nullable: NullableRepresentation) -> String {
    let mut w = SchemaWriter {
        counter: 1,
        imports: BTreeSet::new(),
        nullable,
    };
    let fields: Vec<(&str, &SqlType)> = columns.iter().map(|c| (c.name.as_str(), &c.ty)).collect();
    let body = w.message(ROOT_MESSAGE, &fields, 0);
    let mut out = String::from("syntax = \"proto3\";\n\n");
    if !w.imports.is_empty() {
        for i in &w.imports {
            let _ = writeln!(out, "import \"{i}\";");
        }
        out.push('\n');
    }
    out.push_str(&body);
    out
}

/// Builds schema text, numbering the generated message names.
struct SchemaWriter {
    counter: u32,
    imports: BTreeSet<&'static str>,
    nullable: NullableRepresentation,
}

/// A field or message name made valid in a .proto file.
fn proto_ident(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        s.insert(0, 'x');
    }
    s
}

impl SchemaWriter {
    fn next_name(&mut self) -> String {
        self.counter += 1;
        format!("ConnectDefault{}", self.counter)
    }

    /// A message definition at `depth`, nested definitions after its fields.
    fn message(&mut self, name: &str, fields: &[(&str, &SqlType)], depth: usize) -> String {
        let pad = "  ".repeat(depth);
        let mut lines = String::new();
        let mut nested = Vec::new();
        for (i, (fname, ty)) in fields.iter().enumerate() {
            let decl = self.field(&proto_ident(fname), ty, i + 1, depth, &mut nested);
            let _ = writeln!(lines, "{pad}  {decl}");
        }
        let mut out = format!("{pad}message {name} {{\n{lines}");
        for n in nested {
            out.push('\n');
            out.push_str(&n);
        }
        let _ = writeln!(out, "{pad}}}");
        out
    }

    /// A field declaration (`[label] type name = num [options];`), pushing
    /// the definitions of messages it needs onto `nested`.
    fn field(
        &mut self,
        name: &str,
        ty: &SqlType,
        num: usize,
        depth: usize,
        nested: &mut Vec<String>,
    ) -> String {
        match ty {
            SqlType::Array(elem) => {
                let elem_type = match &**elem {
                    SqlType::Array(_) | SqlType::Map(..) => {
                        let wrapper = self.next_name();
                        let mut inner = Vec::new();
                        let decl = self.field("value", elem, 1, depth + 1, &mut inner);
                        let pad = "  ".repeat(depth + 1);
                        let mut def = format!("{pad}message {wrapper} {{\n{pad}  {decl}\n");
                        for n in inner {
                            def.push('\n');
                            def.push_str(&n);
                        }
                        let _ = writeln!(def, "{pad}}}");
                        nested.push(def);
                        wrapper
                    }
                    other => self.type_name(name, other, depth, nested),
                };
                format!("repeated {elem_type} {name} = {num};")
            }
            SqlType::Map(_, vt) => {
                let entry = format!("{}Entry", self.next_name());
                let mut inner = Vec::new();
                let value_decl = self.field("value", vt, 2, depth + 1, &mut inner);
                let pad = "  ".repeat(depth + 1);
                let mut def = format!(
                    "{pad}message {entry} {{\n{pad}  string key = 1;\n{pad}  {value_decl}\n"
                );
                for n in inner {
                    def.push('\n');
                    def.push_str(&n);
                }
                let _ = writeln!(def, "{pad}}}");
                nested.push(def);
                format!("repeated {entry} {name} = {num};")
            }
            SqlType::Decimal(p, s) => {
                self.imports.insert("confluent/meta.proto");
                self.imports.insert("confluent/type/decimal.proto");
                format!(
                    "confluent.type.Decimal {name} = {num} [(confluent.field_meta) = {{ params: [{{ key: \"precision\", value: \"{p}\" }}, {{ key: \"scale\", value: \"{s}\" }}] }}];"
                )
            }
            _ => {
                let label = if is_scalar(ty) && self.nullable == NullableRepresentation::Optional {
                    "optional "
                } else {
                    ""
                };
                let t = self.type_name(name, ty, depth, nested);
                format!("{label}{t} {name} = {num};")
            }
        }
    }

    /// The type of a singular (or repeated element) field of type `ty`.
    fn type_name(
        &mut self,
        field_name: &str,
        ty: &SqlType,
        depth: usize,
        nested: &mut Vec<String>,
    ) -> String {
        let wrapper = self.nullable == NullableRepresentation::Wrapper;
        let scalar = |plain: &'static str, wrapped: &'static str| -> (&'static str, bool) {
            if wrapper {
                (wrapped, true)
            } else {
                (plain, false)
            }
        };
        let (t, needs_wrappers) = match ty {
            SqlType::Boolean => scalar("bool", "google.protobuf.BoolValue"),
            SqlType::Int => scalar("int32", "google.protobuf.Int32Value"),
            SqlType::BigInt => scalar("int64", "google.protobuf.Int64Value"),
            SqlType::Double => scalar("double", "google.protobuf.DoubleValue"),
            SqlType::String => scalar("string", "google.protobuf.StringValue"),
            SqlType::Bytes => scalar("bytes", "google.protobuf.BytesValue"),
            SqlType::Decimal(..) => {
                self.imports.insert("confluent/type/decimal.proto");
                ("confluent.type.Decimal", false)
            }
            SqlType::Date => {
                self.imports.insert("google/type/date.proto");
                ("google.type.Date", false)
            }
            SqlType::Time => {
                self.imports.insert("google/type/timeofday.proto");
                ("google.type.TimeOfDay", false)
            }
            SqlType::Timestamp => {
                self.imports.insert("google/protobuf/timestamp.proto");
                ("google.protobuf.Timestamp", false)
            }
            SqlType::Struct(fields) => {
                let mut name = self.next_name();
                if name == field_name {
                    name.push_str("Message");
                }
                let fs: Vec<(&str, &SqlType)> =
                    fields.iter().map(|(n, t)| (n.as_str(), t)).collect();
                let def = self.message(&name, &fs, depth + 1);
                nested.push(def);
                return name;
            }
            other => return proto_ident(&other.to_string()),
        };
        if needs_wrappers {
            self.imports.insert("google/protobuf/wrappers.proto");
        }
        t.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ColumnKind;

    fn col(name: &str, ty: SqlType) -> Column {
        Column::new(name, ty, ColumnKind::Value)
    }

    fn codec(cols: Vec<Column>, framed: bool) -> ProtobufCodec {
        ProtobufCodec::new(cols, false, framed).unwrap()
    }

    fn dec(s: &str) -> Value {
        Value::Decimal(Decimal::parse(s).unwrap())
    }

    fn st(fields: &[(&str, Value)]) -> Value {
        Value::Struct(
            fields
                .iter()
                .map(|(n, v)| (n.to_string(), v.clone()))
                .collect(),
        )
    }

    fn round_trip(c: &ProtobufCodec, values: Vec<Value>) -> Vec<Value> {
        let bytes = c.encode(&values).unwrap().unwrap();
        c.decode(Some(&bytes)).unwrap().unwrap()
    }

    fn assert_round_trip(ty: SqlType, v: Value) {
        for framed in [false, true] {
            let c = codec(vec![col("V", ty.clone())], framed);
            let back = round_trip(&c, vec![v.clone()]);
            assert_eq!(back, vec![v.clone()], "{ty} framed={framed}");
            // Exact variants, not just SQL equality.
            assert_eq!(format!("{:?}", back[0]), format!("{v:?}"), "{ty}");
        }
    }

    #[test]
    fn every_type_round_trips() {
        assert_round_trip(SqlType::Boolean, Value::Bool(true));
        assert_round_trip(SqlType::Int, Value::Int(-123_456));
        assert_round_trip(SqlType::Int, Value::Int(i32::MAX));
        assert_round_trip(SqlType::Int, Value::Int(i32::MIN));
        assert_round_trip(SqlType::BigInt, Value::BigInt(i64::MIN));
        assert_round_trip(SqlType::BigInt, Value::BigInt(400_000_000_000));
        assert_round_trip(SqlType::Double, Value::Double(-1.284765648));
        assert_round_trip(SqlType::String, Value::String("héllo".into()));
        assert_round_trip(SqlType::Bytes, Value::Bytes(vec![0, 1, 255]));
        assert_round_trip(SqlType::Decimal(21, 19), dec("10.1234512345123450000"));
        assert_round_trip(SqlType::Decimal(6, 4), dec("-10.0000"));
        assert_round_trip(
            SqlType::Decimal(38, 0),
            dec("-99999999999999999999999999999999999999"),
        );
        assert_round_trip(SqlType::Decimal(4, 2), dec("0.00"));
        for d in [0, 10, -10, -719_468, 19_000, 2_932_896, -1_000_000] {
            assert_round_trip(SqlType::Date, Value::Date(d));
        }
        for t in [0, 1, 59_999, 3_600_000, MS_PER_DAY - 1] {
            assert_round_trip(SqlType::Time, Value::Time(t));
        }
        for ts in [0, 10, -1, -1001, 1_528_224_275_715] {
            assert_round_trip(SqlType::Timestamp, Value::Timestamp(ts));
        }
    }

    #[test]
    fn many_columns_and_frame() {
        let c = codec(
            vec![
                col("I", SqlType::Int),
                col("L", SqlType::BigInt),
                col("D", SqlType::Double),
                col("B", SqlType::Boolean),
                col("S", SqlType::String),
            ],
            true,
        );
        let values = vec![
            Value::Int(1),
            Value::BigInt(1),
            Value::Double(1.2),
            Value::Bool(true),
            Value::String("foo".into()),
        ];
        let bytes = c.encode(&values).unwrap().unwrap();
        assert_eq!(&bytes[..6], &[0, 0, 0, 0, 1, 0]);
        assert_eq!(c.decode(Some(&bytes)).unwrap().unwrap(), values);
        // NOSR: the same message without the header.
        let bare = codec(c.columns.clone(), false);
        assert_eq!(bare.encode(&values).unwrap().unwrap(), bytes[6..].to_vec());
    }

    #[test]
    fn known_bytes() {
        // Hand-computed from the protobuf encoding spec:
        //   field 1 int32 150     -> tag 0x08, varint 150 = 0x96 0x01
        //   field 2 string "testing" -> tag 0x12, len 7, ASCII
        //   field 3 int32 -1      -> tag 0x18, 10-byte sign-extended varint
        //   field 4 double 1.0    -> tag 0x21, 0x3ff0000000000000 little-endian
        //   field 5 repeated int64 [3, 270] packed -> tag 0x2a, len 3, 03 8e 02
        //   field 6 bool true     -> tag 0x30, 01
        let c = codec(
            vec![
                col("A", SqlType::Int),
                col("B", SqlType::String),
                col("C", SqlType::Int),
                col("D", SqlType::Double),
                col("E", SqlType::Array(Box::new(SqlType::BigInt))),
                col("F", SqlType::Boolean),
            ],
            false,
        );
        let values = vec![
            Value::Int(150),
            Value::String("testing".into()),
            Value::Int(-1),
            Value::Double(1.0),
            Value::Array(vec![Value::BigInt(3), Value::BigInt(270)]),
            Value::Bool(true),
        ];
        let mut expected = vec![0x08, 0x96, 0x01, 0x12, 0x07];
        expected.extend_from_slice(b"testing");
        expected.extend_from_slice(&[
            0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ]);
        expected.extend_from_slice(&[0x21, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
        expected.extend_from_slice(&[0x2a, 0x03, 0x03, 0x8e, 0x02]);
        expected.extend_from_slice(&[0x30, 0x01]);
        assert_eq!(c.encode(&values).unwrap().unwrap(), expected);
        assert_eq!(c.decode(Some(&expected)).unwrap().unwrap(), values);

        // DECIMAL(4,2) 10.01: unscaled 1001 = 0x03e9; precision 4; scale 2.
        // DATE 1 (1970-01-02): year 1970 = 0xb2 0x0f, month 1, day 2.
        // TIMESTAMP 1500 ms: seconds 1, nanos 500000000 = 0x80 0xca 0xb5 0xee 0x01.
        let c = codec(
            vec![
                col("X", SqlType::Decimal(4, 2)),
                col("Y", SqlType::Date),
                col("Z", SqlType::Timestamp),
            ],
            false,
        );
        let bytes = c
            .encode(&[dec("10.01"), Value::Date(1), Value::Timestamp(1500)])
            .unwrap()
            .unwrap();
        let expected = vec![
            0x0a, 0x08, 0x0a, 0x02, 0x03, 0xe9, 0x10, 0x04, 0x18, 0x02, // X
            0x12, 0x07, 0x08, 0xb2, 0x0f, 0x10, 0x01, 0x18, 0x02, // Y
            0x1a, 0x08, 0x08, 0x01, 0x10, 0x80, 0xca, 0xb5, 0xee, 0x01, // Z
        ];
        assert_eq!(bytes, expected);
    }

    #[test]
    fn nested_messages() {
        let category = SqlType::Struct(vec![
            ("ID".into(), SqlType::BigInt),
            ("NAME".into(), SqlType::String),
        ]);
        let item = SqlType::Struct(vec![
            ("ITEMID".into(), SqlType::BigInt),
            ("NAME".into(), SqlType::String),
            ("CATEGORY".into(), category),
        ]);
        let c = codec(vec![col("K", SqlType::Int), col("ITEM", item)], true);
        let v = st(&[
            ("ITEMID", Value::BigInt(6)),
            ("NAME", Value::String("Item_6".into())),
            (
                "CATEGORY",
                st(&[
                    ("ID", Value::BigInt(2)),
                    ("NAME", Value::String("Food".into())),
                ]),
            ),
        ]);
        assert_eq!(
            round_trip(&c, vec![Value::Int(1), v.clone()]),
            vec![Value::Int(1), v]
        );
        // A null nested struct stays null; null scalars inside become defaults.
        let v = st(&[
            ("ITEMID", Value::Null),
            ("NAME", Value::Null),
            ("CATEGORY", Value::Null),
        ]);
        let back = round_trip(&c, vec![Value::Null, v]);
        assert_eq!(
            format!("{back:?}"),
            format!(
                "{:?}",
                vec![
                    Value::Int(0),
                    st(&[
                        ("ITEMID", Value::BigInt(0)),
                        ("NAME", Value::String(String::new())),
                        ("CATEGORY", Value::Null),
                    ])
                ]
            )
        );
        let back = round_trip(&c, vec![Value::Int(1), Value::Null]);
        assert!(back[1].is_null());
    }

    #[test]
    fn repeated_and_packed() {
        let arr = |t: SqlType| SqlType::Array(Box::new(t));
        let c = codec(
            vec![
                col("I", arr(SqlType::Int)),
                col("D", arr(SqlType::Double)),
                col("B", arr(SqlType::Boolean)),
                col("S", arr(SqlType::String)),
                col("N", arr(arr(SqlType::BigInt))),
                col("T", arr(SqlType::Struct(vec![("X".into(), SqlType::Int)]))),
                col("E", arr(SqlType::Decimal(3, 1))),
            ],
            true,
        );
        let values = vec![
            Value::Array(vec![Value::Int(0), Value::Int(-5), Value::Int(7)]),
            Value::Array(vec![Value::Double(1.5), Value::Double(0.0)]),
            Value::Array(vec![Value::Bool(false), Value::Bool(true)]),
            Value::Array(vec![
                Value::String("a".into()),
                Value::String(String::new()),
                Value::String("Bc".into()),
            ]),
            Value::Array(vec![
                Value::Array(vec![Value::BigInt(1), Value::BigInt(2)]),
                Value::Array(vec![]),
                Value::Array(vec![Value::BigInt(3)]),
            ]),
            Value::Array(vec![
                st(&[("X", Value::Int(1))]),
                st(&[("X", Value::Int(0))]),
            ]),
            Value::Array(vec![dec("1.5"), dec("-0.1")]),
        ];
        assert_eq!(round_trip(&c, values.clone()), values);

        // Null elements become defaults; null or empty arrays come back empty.
        let back = round_trip(
            &c,
            vec![
                Value::Array(vec![Value::Null, Value::Int(2)]),
                Value::Null,
                Value::Array(vec![]),
                Value::Array(vec![Value::Null]),
                Value::Null,
                Value::Array(vec![Value::Null]),
                Value::Null,
            ],
        );
        assert_eq!(
            back,
            vec![
                Value::Array(vec![Value::Int(0), Value::Int(2)]),
                Value::Array(vec![]),
                Value::Array(vec![]),
                Value::Array(vec![Value::String(String::new())]),
                Value::Array(vec![]),
                Value::Array(vec![st(&[("X", Value::Int(0))])]),
                Value::Array(vec![]),
            ]
        );
    }

    #[test]
    fn unpacked_scalars_are_accepted() {
        let c = codec(
            vec![col("I", SqlType::Array(Box::new(SqlType::Int)))],
            false,
        );
        // Field 1 as three separate varints, then one packed run: 1, 2, 3, 4.
        let bytes = [0x08, 0x01, 0x08, 0x02, 0x0a, 0x02, 0x03, 0x04];
        assert_eq!(
            c.decode(Some(&bytes)).unwrap().unwrap(),
            vec![Value::Array(vec![
                Value::Int(1),
                Value::Int(2),
                Value::Int(3),
                Value::Int(4)
            ])]
        );
    }

    #[test]
    fn maps() {
        let map = |v: SqlType| SqlType::Map(Box::new(SqlType::String), Box::new(v));
        let c = codec(
            vec![
                col("M", map(SqlType::Double)),
                col("S", map(SqlType::String)),
                col("A", map(SqlType::Array(Box::new(SqlType::Int)))),
                col("N", map(map(SqlType::Boolean))),
                col("D", map(SqlType::Date)),
            ],
            true,
        );
        let s = |x: &str| Value::String(x.into());
        let values = vec![
            Value::Map(vec![
                (s("a"), Value::Double(1.1)),
                (s("b"), Value::Double(2.2)),
                (s("c"), Value::Double(3.456)),
            ]),
            Value::Map(vec![(s("1"), s("a")), (s(""), s(""))]),
            Value::Map(vec![(
                s("x"),
                Value::Array(vec![Value::Int(1), Value::Int(2)]),
            )]),
            Value::Map(vec![(
                s("o"),
                Value::Map(vec![(s("i"), Value::Bool(true))]),
            )]),
            Value::Map(vec![
                (s("key1"), Value::Date(10)),
                (s("key2"), Value::Date(15)),
            ]),
        ];
        assert_eq!(round_trip(&c, values.clone()), values);
        // Null maps come back empty; null values as defaults (or null for
        // message types).
        let back = round_trip(
            &c,
            vec![
                Value::Null,
                Value::Map(vec![(s("k"), Value::Null)]),
                Value::Null,
                Value::Null,
                Value::Map(vec![(s("k"), Value::Null)]),
            ],
        );
        assert_eq!(
            back,
            vec![
                Value::Map(vec![]),
                Value::Map(vec![(s("k"), s(""))]),
                Value::Map(vec![]),
                Value::Map(vec![]),
                Value::Map(vec![(s("k"), Value::Null)]),
            ]
        );
    }

    #[test]
    fn implicit_nulls_read_as_defaults() {
        let c = codec(
            vec![
                col("I", SqlType::Int),
                col("L", SqlType::BigInt),
                col("D", SqlType::Double),
                col("B", SqlType::Boolean),
                col("S", SqlType::String),
                col("Y", SqlType::Bytes),
                col("E", SqlType::Decimal(4, 2)),
                col("T", SqlType::Timestamp),
                col("R", SqlType::Struct(vec![("F0".into(), SqlType::Int)])),
            ],
            false,
        );
        let nulls = vec![Value::Null; 9];
        let bytes = c.encode(&nulls).unwrap().unwrap();
        assert!(bytes.is_empty());
        let back = c.decode(Some(&bytes)).unwrap().unwrap();
        assert_eq!(
            format!("{back:?}"),
            format!(
                "{:?}",
                vec![
                    Value::Int(0),
                    Value::BigInt(0),
                    Value::Double(0.0),
                    Value::Bool(false),
                    Value::String(String::new()),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                ]
            )
        );
        // Defaults are not written either.
        let defaults = vec![
            Value::Int(0),
            Value::BigInt(0),
            Value::Double(0.0),
            Value::Bool(false),
            Value::String(String::new()),
            Value::Bytes(vec![]),
            Value::Null,
            Value::Null,
            Value::Null,
        ];
        assert!(c.encode(&defaults).unwrap().unwrap().is_empty());
        // An empty struct is present: its fields read as defaults.
        let back = round_trip(
            &c,
            vec![
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                st(&[]),
            ],
        );
        assert_eq!(back[8], st(&[("F0", Value::Int(0))]));
        // Tombstones and null keys.
        assert_eq!(c.decode(None).unwrap(), None);
    }

    #[test]
    fn optional_and_wrapper_keep_nulls() {
        for repr in [
            NullableRepresentation::Optional,
            NullableRepresentation::Wrapper,
        ] {
            for framed in [false, true] {
                let c = codec(
                    vec![
                        col("I", SqlType::Int),
                        col("L", SqlType::BigInt),
                        col("D", SqlType::Double),
                        col("B", SqlType::Boolean),
                        col("S", SqlType::String),
                    ],
                    framed,
                )
                .with_nullable_representation(repr);
                for values in [
                    vec![
                        Value::Null,
                        Value::BigInt(0),
                        Value::Null,
                        Value::Bool(false),
                        Value::Null,
                    ],
                    vec![
                        Value::Int(0),
                        Value::Null,
                        Value::Double(0.0),
                        Value::Null,
                        Value::String(String::new()),
                    ],
                ] {
                    let back = round_trip(&c, values.clone());
                    assert_eq!(format!("{back:?}"), format!("{values:?}"), "{repr:?}");
                }
            }
        }
        // Wrapper: int32 field 1 holding 0 is an empty wrapper message.
        let c = codec(vec![col("I", SqlType::Int)], false)
            .with_nullable_representation(NullableRepresentation::Wrapper);
        assert_eq!(
            c.encode(&[Value::Int(0)]).unwrap().unwrap(),
            vec![0x0a, 0x00]
        );
        assert_eq!(
            c.encode(&[Value::Int(5)]).unwrap().unwrap(),
            vec![0x0a, 0x02, 0x08, 0x05]
        );
        let c = codec(vec![col("I", SqlType::Int)], false)
            .with_nullable_representation(NullableRepresentation::Optional);
        assert_eq!(
            c.encode(&[Value::Int(0)]).unwrap().unwrap(),
            vec![0x08, 0x00]
        );
    }

    #[test]
    fn unknown_fields_are_skipped() {
        let c = codec(
            vec![col("A", SqlType::Int), col("B", SqlType::String)],
            false,
        );
        let mut bytes = vec![
            0x38, 0x05, // field 7 varint
            0x41, 1, 2, 3, 4, 5, 6, 7, 8, // field 8 fixed64
            0x4a, 0x02, b'h', b'i', // field 9 bytes
            0x55, 1, 2, 3, 4, // field 10 fixed32
            0x5b, 0x08, 0x01, 0x5c, // field 11 group holding field 1 varint
        ];
        bytes.extend_from_slice(&[0x08, 0x2a, 0x12, 0x01, b'x']);
        assert_eq!(
            c.decode(Some(&bytes)).unwrap().unwrap(),
            vec![Value::Int(42), Value::String("x".into())]
        );
    }

    #[test]
    fn framing_accepts_any_schema_id_and_indexes() {
        let c = codec(vec![col("A", SqlType::Int)], true);
        // Schema id 0x01020304, message indexes [1, 0] (count 2 zig-zag = 4).
        let bytes = [0, 1, 2, 3, 4, 0x04, 0x02, 0x00, 0x08, 0x07];
        assert_eq!(
            c.decode(Some(&bytes)).unwrap().unwrap(),
            vec![Value::Int(7)]
        );
        let c = c.with_schema_id(77);
        assert_eq!(
            c.encode(&[Value::Int(7)]).unwrap().unwrap(),
            vec![0, 0, 0, 0, 77, 0, 0x08, 0x07]
        );
    }

    #[test]
    fn bad_input_is_a_format_error() {
        let c = codec(
            vec![col("A", SqlType::Int), col("B", SqlType::String)],
            false,
        );
        for bad in [
            &[0x08][..],                   // truncated varint
            &[0x08, 0xff, 0xff][..],       // truncated varint
            &[0x12, 0x05, b'a'][..],       // length past the end
            &[0x12, 0x02, 0xff, 0xfe][..], // invalid UTF-8
            &[0x0a, 0x00][..],             // int32 as length-delimited
            &[0x00, 0x01][..],             // field number 0
            &[0x0f][..],                   // invalid wire type 7
            &[
                0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ][..], // varint too long
            &[0x64][..],                   // stray end-group
        ] {
            let err = c.decode(Some(bad)).unwrap_err();
            assert!(matches!(err, Error::Format(_)), "{bad:?}: {err:?}");
            assert!(err.to_string().contains("PROTOBUF"), "{err}");
        }
        let framed = codec(vec![col("A", SqlType::Int)], true);
        let err = framed.decode(Some(&[1, 0, 0, 0, 1, 0])).unwrap_err();
        assert!(err.to_string().contains("magic byte"), "{err}");
        let err = framed.decode(Some(&[0, 0, 0])).unwrap_err();
        assert!(err.to_string().contains("too short"), "{err}");
        // Bad well-known messages.
        let date = codec(vec![col("D", SqlType::Date)], false);
        let err = date.decode(Some(&[0x0a, 0x02, 0x10, 0x0d])).unwrap_err();
        assert!(err.to_string().contains("invalid date"), "{err}");
        let d = codec(vec![col("D", SqlType::Decimal(2, 0))], false);
        let err = d
            .decode(Some(&[0x0a, 0x04, 0x0a, 0x02, 0x03, 0xe9]))
            .unwrap_err();
        assert!(err.to_string().contains("does not fit"), "{err}");
    }

    #[test]
    fn encode_errors() {
        let c = codec(vec![col("A", SqlType::Int)], false);
        assert!(c.encode(&[Value::BigInt(1 << 40)]).is_err());
        assert!(c.encode(&[Value::String("x".into())]).is_err());
        assert!(c.encode(&[]).is_err());
        let d = codec(vec![col("D", SqlType::Decimal(3, 1))], false);
        assert!(d.encode(&[dec("1000")]).is_err());
        // Widening and narrowing that ksqlDB values may need.
        let l = codec(vec![col("L", SqlType::BigInt)], false);
        assert_eq!(round_trip(&l, vec![Value::Int(3)]), vec![Value::BigInt(3)]);
        assert_eq!(round_trip(&d, vec![Value::Int(3)]), vec![dec("3.0")]);
    }

    #[test]
    fn construction() {
        let err = ProtobufCodec::new(
            vec![col(
                "M",
                SqlType::Map(Box::new(SqlType::Int), Box::new(SqlType::Double)),
            )],
            false,
            true,
        )
        .err()
        .unwrap();
        assert_eq!(
            err.to_string(),
            "PROTOBUF format only supports MAP types with STRING keys"
        );
        // unwrap is ignored: a single column is still a message.
        let c = ProtobufCodec::new(vec![col("F1", SqlType::Boolean)], true, false).unwrap();
        assert_eq!(
            c.encode(&[Value::Bool(true)]).unwrap().unwrap(),
            vec![0x08, 0x01]
        );
        // No columns: nothing written, anything read.
        let c = ProtobufCodec::new(vec![], true, true).unwrap();
        assert_eq!(c.encode(&[]).unwrap(), None);
        assert_eq!(c.decode(Some(b"xx")).unwrap(), Some(vec![]));
    }

    #[test]
    fn schema_text() {
        let cols = vec![
            col("ID", SqlType::BigInt),
            col(
                "FILTERED_TRANSFORMED",
                SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Int)),
            ),
        ];
        assert_eq!(
            proto_schema_text(&cols),
            "syntax = \"proto3\";\n\nmessage ConnectDefault1 {\n  int64 ID = 1;\n  repeated ConnectDefault2Entry FILTERED_TRANSFORMED = 2;\n\n  message ConnectDefault2Entry {\n    string key = 1;\n    int32 value = 2;\n  }\n}\n"
        );
        let cols = vec![
            col("MYKEY", SqlType::Int),
            col(
                "MYHEADERS",
                SqlType::Array(Box::new(SqlType::Struct(vec![
                    ("KEY".into(), SqlType::String),
                    ("VALUE".into(), SqlType::Bytes),
                ]))),
            ),
        ];
        assert_eq!(
            proto_schema_text(&cols),
            "syntax = \"proto3\";\n\nmessage ConnectDefault1 {\n  int32 MYKEY = 1;\n  repeated ConnectDefault2 MYHEADERS = 2;\n\n  message ConnectDefault2 {\n    string KEY = 1;\n    bytes VALUE = 2;\n  }\n}\n"
        );
        let c = codec(
            vec![col("I", SqlType::Int), col("S", SqlType::String)],
            true,
        )
        .with_nullable_representation(NullableRepresentation::Wrapper);
        assert_eq!(
            c.schema_text(),
            "syntax = \"proto3\";\n\nimport \"google/protobuf/wrappers.proto\";\n\nmessage ConnectDefault1 {\n  google.protobuf.Int32Value I = 1;\n  google.protobuf.StringValue S = 2;\n}\n"
        );
        let c = codec(vec![col("I", SqlType::Int)], true)
            .with_nullable_representation(NullableRepresentation::Optional);
        assert!(c.schema_text().contains("  optional int32 I = 1;\n"));
        let text = proto_schema_text(&[
            col("DEC", SqlType::Decimal(6, 4)),
            col("D", SqlType::Date),
            col("T", SqlType::Time),
            col("TS", SqlType::Timestamp),
            col(
                "NESTED",
                SqlType::Array(Box::new(SqlType::Array(Box::new(SqlType::Int)))),
            ),
        ]);
        for expected in [
            "import \"confluent/meta.proto\";\nimport \"confluent/type/decimal.proto\";\nimport \"google/protobuf/timestamp.proto\";\nimport \"google/type/date.proto\";\nimport \"google/type/timeofday.proto\";\n",
            "  confluent.type.Decimal DEC = 1 [(confluent.field_meta) = { params: [{ key: \"precision\", value: \"6\" }, { key: \"scale\", value: \"4\" }] }];\n",
            "  google.type.Date D = 2;\n",
            "  google.type.TimeOfDay T = 3;\n",
            "  google.protobuf.Timestamp TS = 4;\n",
            "  repeated ConnectDefault2 NESTED = 5;\n",
            "  message ConnectDefault2 {\n    repeated int32 value = 1;\n  }\n",
        ] {
            assert!(text.contains(expected), "{expected} not in\n{text}");
        }
    }
}
