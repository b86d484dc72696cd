//! The AVRO format: Avro binary data in Confluent Schema Registry framing,
//! with the schema ksqlDB derives from a source's columns.
//!
//! **Framing.** Every record is the magic byte `0`, a 4-byte big-endian
//! schema id, then the Avro binary encoding of the data. Sluice has no schema
//! registry: the codec writes a fixed id ([`DEFAULT_SCHEMA_ID`] unless set with
//! [`AvroCodec::with_schema_id`]) and, when reading, accepts any id and decodes
//! with the schema derived from the columns (reader schema == writer schema).
//! A payload that does not start with the magic byte is rejected, as ksqlDB
//! does (`Unknown magic byte!`).
//!
//! **Schema.** As ksqlDB derives it (see [`avro_schema_json`]):
//!
//! * wrapped (values by default, multi-column keys): a record named
//!   `KsqlDataSourceSchema` in namespace `io.confluent.ksql.avro_schemas`
//!   whose fields are the columns, each an optional union `["null", T]` with
//!   default `null`;
//! * unwrapped (a single key column, or `WRAP_SINGLE_VALUE=false`): the bare
//!   type `T` of the column; a null value is an absent record part;
//! * types: BOOLEAN `boolean`, INT `int`, BIGINT `long`, DOUBLE `double`,
//!   STRING `string`, BYTES `bytes`, DECIMAL(p, s) `bytes` with logical type
//!   `decimal` (big-endian two's complement unscaled value), DATE `int` /
//!   `date`, TIME `int` / `time-millis`, TIMESTAMP `long` /
//!   `timestamp-millis`, ARRAY an `array` of optional items, MAP a `map` of
//!   optional values (keys must be STRING), STRUCT a nested record of
//!   optional fields named after its path (`KsqlDataSourceSchema_FIELD`).
//!
//! **Binary encoding** follows the Avro specification: zig-zag varints for
//! `int` / `long`, length-prefixed `bytes` / `string`, the branch index as a
//! `long` before a union's value, arrays and maps as blocks (a count, the
//! items, and a terminating `0`; negative counts followed by a byte size are
//! accepted when reading), `double` as 8 little-endian bytes, `boolean` as one
//! byte.
//!
//! **Values** are written with lossless widening only: INT / BIGINT values
//! for BIGINT, DOUBLE and DECIMAL columns (decimals are rescaled to the
//! column's scale, HALF_UP), integers for DATE / TIME / TIMESTAMP. Struct
//! fields are matched by position, then by name; missing ones are null.
//!
//! **Errors.** Truncated or malformed payloads, trailing bytes, and values
//! that do not fit their column (a decimal with too many digits, a TIME out of
//! `int` range...) are `Error::Format` with a message naming the column path.
//! Building a codec for columns Avro cannot represent (a MAP with non-STRING
//! keys, a field name that is not a valid Avro name) is an `Error::Plan` in
//! ksqlDB's words.

use crate::error::{Error, Result};
use crate::formats::Codec;
use crate::types::{Column, Decimal, SqlType, Value};
use serde_json::{json, Value as Json};
use std::collections::HashSet;

/// The schema id written in the framing of every record.
pub const DEFAULT_SCHEMA_ID: u32 = 1;

/// The namespace of the records ksqlDB generates.
pub const SCHEMA_NAMESPACE: &str = "io.confluent.ksql.avro_schemas";

/// The full name of the top-level record ksqlDB generates by default.
pub const DEFAULT_SCHEMA_FULL_NAME: &str = "io.confluent.ksql.avro_schemas.KsqlDataSourceSchema";

/// The first byte of a schema-registry framed record.
const MAGIC_BYTE: u8 = 0;

/// Bytes before the Avro data: the magic byte and the schema id.
const HEADER_LEN: usize = 5;

/// Codec for ksqlDB's AVRO format.
pub struct AvroCodec {
    columns: Vec<Column>,
    unwrap: bool,
    schema_id: u32,
}

impl AvroCodec {
    /// A codec for `columns`. With `unwrap` (only meaningful for exactly one
    /// column) the record is the bare Avro value of that column instead of a
    /// record. Fails with a plan error when a type has no Avro equivalent (a
    /// MAP with non-STRING keys, an unresolved custom type) or a record field
    /// name is not a valid Avro name.
    pub fn new(columns: Vec<Column>, unwrap: bool) -> Result<Self> {
        let unwrap = unwrap && columns.len() == 1;
        for c in &columns {
            if !unwrap {
                check_name(&c.name)?;
            }
            check_type(&c.ty)?;
        }
        Ok(AvroCodec {
            columns,
            unwrap,
            schema_id: DEFAULT_SCHEMA_ID,
        })
    }

    /// The same codec writing `id` as the schema id of every record (e.g. a
    /// `VALUE_SCHEMA_ID` given in WITH).
    pub fn with_schema_id(mut self, id: u32) -> Self {
        self.schema_id = id;
        self
    }

    /// The Avro schema of the records this codec reads and writes, as JSON.
    pub fn schema_json(&self) -> Json {
        avro_schema_json(&self.columns, self.unwrap)
    }
}

/// The Avro schema ksqlDB derives for `columns` (see the module docs), with
/// the default record name `io.confluent.ksql.avro_schemas.KsqlDataSourceSchema`.
/// `unwrap` has the same meaning as in [`AvroCodec::new`].
pub fn avro_schema_json(columns: &[Column], unwrap: bool) -> Json {
    avro_schema_json_named(columns, unwrap, DEFAULT_SCHEMA_FULL_NAME)
}

/// [`avro_schema_json`] with another full name (`namespace.Name`, or just
/// `Name`) for the top-level record; nested records are named after it.
pub fn avro_schema_json_named(columns: &[Column], unwrap: bool, full_name: &str) -> Json {
    let (namespace, name) = match full_name.rsplit_once('.') {
        Some((ns, n)) if !ns.is_empty() => (Some(ns.to_string()), n),
        _ => (None, full_name),
    };
    let mut b = SchemaBuilder {
        namespace,
        used: HashSet::new(),
    };
    if unwrap && columns.len() == 1 {
        b.type_schema(&columns[0].ty, name, false)
    } else {
        let fields: Vec<(&str, &SqlType)> =
            columns.iter().map(|c| (c.name.as_str(), &c.ty)).collect();
        b.record(name, &fields, false)
    }
}

/// Builds schema JSON, keeping record names unique as Avro requires.
struct SchemaBuilder {
    namespace: Option<String>,
    used: HashSet<String>,
}

impl SchemaBuilder {
    fn type_schema(&mut self, ty: &SqlType, name: &str, in_record: bool) -> Json {
        match ty {
            SqlType::Boolean => json!("boolean"),
            SqlType::Int => json!("int"),
            SqlType::BigInt => json!("long"),
            SqlType::Double => json!("double"),
            SqlType::String => json!("string"),
            SqlType::Bytes => json!("bytes"),
            SqlType::Decimal(p, s) => json!({
                "type": "bytes",
                "scale": s,
                "precision": p,
                "connect.version": 1,
                "connect.parameters": {
                    "scale": s.to_string(),
                    "connect.decimal.precision": p.to_string(),
                },
                "connect.name": "org.apache.kafka.connect.data.Decimal",
                "logicalType": "decimal",
            }),
            SqlType::Date => json!({
                "type": "int",
                "connect.version": 1,
                "connect.name": "org.apache.kafka.connect.data.Date",
                "logicalType": "date",
            }),
            SqlType::Time => json!({
                "type": "int",
                "connect.version": 1,
                "connect.name": "org.apache.kafka.connect.data.Time",
                "logicalType": "time-millis",
            }),
            SqlType::Timestamp => json!({
                "type": "long",
                "connect.version": 1,
                "connect.name": "org.apache.kafka.connect.data.Timestamp",
                "logicalType": "timestamp-millis",
            }),
            SqlType::Array(item) => json!({
                "type": "array",
                "items": ["null", self.type_schema(item, name, in_record)],
            }),
            SqlType::Map(_, value) => json!({
                "type": "map",
                "values": ["null", self.type_schema(value, &format!("{name}_MapValue"), in_record)],
            }),
            SqlType::Struct(fields) => {
                let fields: Vec<(&str, &SqlType)> =
                    fields.iter().map(|(n, t)| (n.as_str(), t)).collect();
                self.record(name, &fields, in_record)
            }
            // Rejected when the codec is built; named for completeness.
            SqlType::Custom(_) | SqlType::Null | SqlType::Any => json!("null"),
        }
    }

    fn record(&mut self, name: &str, fields: &[(&str, &SqlType)], in_record: bool) -> Json {
        let mut unique = name.to_string();
        let mut n = 1;
        while !self.used.insert(unique.clone()) {
            unique = format!("{name}_{n}");
            n += 1;
        }
        let field_schemas: Vec<Json> = fields
            .iter()
            .map(|(fname, fty)| {
                let t = self.type_schema(fty, &format!("{unique}_{fname}"), true);
                json!({"name": fname, "type": ["null", t], "default": null})
            })
            .collect();
        let mut rec = serde_json::Map::new();
        rec.insert("type".into(), json!("record"));
        rec.insert("name".into(), json!(unique));
        if let (Some(ns), false) = (&self.namespace, in_record) {
            rec.insert("namespace".into(), json!(ns));
        }
        rec.insert("fields".into(), Json::Array(field_schemas));
        let connect_name = match &self.namespace {
            Some(ns) => format!("{ns}.{unique}"),
            None => unique,
        };
        rec.insert("connect.name".into(), json!(connect_name));
        Json::Object(rec)
    }
}

/// Checks that `name` is a valid Avro name, as Avro's Java library does:
/// a letter or `_`, then letters, digits or `_`.
fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let problem = match chars.next() {
        None => Some("Empty name".to_string()),
        Some(c) if !(c.is_alphabetic() || c == '_') => {
            Some(format!("Illegal initial character: {name}"))
        }
        Some(_) if !chars.all(|c| c.is_alphanumeric() || c == '_') => {
            Some(format!("Illegal character in: {name}"))
        }
        Some(_) => None,
    };
    match problem {
        Some(p) => Err(Error::plan(format!(
            "Schema is not compatible with Avro: {p}"
        ))),
        None => Ok(()),
    }
}

/// Checks that `ty` has an Avro equivalent.
fn check_type(ty: &SqlType) -> Result<()> {
    match ty {
        SqlType::Array(item) => check_type(item),
        SqlType::Map(k, v) => {
            if **k != SqlType::String {
                return Err(Error::plan("Avro only supports MAPs with STRING keys"));
            }
            check_type(v)
        }
        SqlType::Struct(fields) => {
            for (n, t) in fields {
                check_name(n)?;
                check_type(t)?;
            }
            Ok(())
        }
        SqlType::Custom(_) | SqlType::Null | SqlType::Any => Err(Error::plan(format!(
            "The AVRO format does not support type '{ty}'"
        ))),
        _ => Ok(()),
    }
}

impl Codec for AvroCodec {
    fn encode(&self, values: &[Value]) -> Result<Option<Vec<u8>>> {
        if values.len() != self.columns.len() {
            return Err(Error::format(format!(
                "Column count mismatch on serialization. expected: {}, got: {}",
                self.columns.len(),
                values.len()
            )));
        }
        if self.columns.is_empty() || (self.unwrap && values[0].is_null()) {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(64);
        out.push(MAGIC_BYTE);
        out.extend_from_slice(&self.schema_id.to_be_bytes());
        let written = if self.unwrap {
            let c = &self.columns[0];
            write_value(&mut out, &c.ty, &values[0]).map_err(|f| f.at(field_seg(&c.name)))
        } else {
            self.columns.iter().zip(values).try_for_each(|(c, v)| {
                write_optional(&mut out, &c.ty, v).map_err(|f| f.at(field_seg(&c.name)))
            })
        };
        written.map_err(|f| {
            Error::format(format!(
                "Error serializing AVRO field {}: {}",
                f.path(),
                f.msg
            ))
        })?;
        Ok(Some(out))
    }

    fn decode(&self, bytes: Option<&[u8]>) -> Result<Option<Vec<Value>>> {
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        if self.columns.is_empty() {
            return Ok(Some(Vec::new()));
        }
        if bytes.first() != Some(&MAGIC_BYTE) {
            return Err(Error::format(
                "Error deserializing AVRO: Unknown magic byte!",
            ));
        }
        if bytes.len() < HEADER_LEN {
            return Err(Error::format(format!(
                "Error deserializing AVRO: truncated schema registry header ({} of {HEADER_LEN} bytes)",
                bytes.len()
            )));
        }
        let mut r = Reader {
            buf: bytes,
            pos: HEADER_LEN,
        };
        let read = if self.unwrap {
            let c = &self.columns[0];
            r.value(&c.ty)
                .map(|v| vec![v])
                .map_err(|f| f.at(field_seg(&c.name)))
        } else {
            self.columns
                .iter()
                .map(|c| r.optional(&c.ty).map_err(|f| f.at(field_seg(&c.name))))
                .collect()
        };
        let values = read.map_err(|f| {
            Error::format(format!(
                "Error deserializing AVRO field {}: {}",
                f.path(),
                f.msg
            ))
        })?;
        if r.pos != bytes.len() {
            return Err(Error::format(format!(
                "Error deserializing AVRO: {} unexpected trailing bytes after the record (at byte {})",
                bytes.len() - r.pos,
                r.pos
            )));
        }
        Ok(Some(values))
    }
}

/// A failure while encoding or decoding, with the path to the value
/// (segments innermost first, added while unwinding).
struct Fail {
    segments: Vec<String>,
    msg: String,
}

impl Fail {
    fn new(msg: impl Into<String>) -> Self {
        Fail {
            segments: Vec::new(),
            msg: msg.into(),
        }
    }

    fn at(mut self, segment: String) -> Self {
        self.segments.push(segment);
        self
    }

    /// The path as `A.B[2]['key']`.
    fn path(&self) -> String {
        let s: String = self.segments.iter().rev().map(String::as_str).collect();
        s.strip_prefix('.').map(str::to_string).unwrap_or(s)
    }
}

type Res<T> = std::result::Result<T, Fail>;

fn field_seg(name: &str) -> String {
    format!(".{name}")
}

fn index_seg(i: usize) -> String {
    format!("[{i}]")
}

fn key_seg(k: &str) -> String {
    format!("['{k}']")
}

fn mismatch(ty: &SqlType, v: &Value) -> Fail {
    Fail::new(format!("expected {ty}, got {}", v.natural_type()))
}

/// Appends `v` as a zig-zag varint (Avro `int` and `long`).
fn write_long(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// Appends length-prefixed bytes (Avro `bytes` and `string`).
fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_long(out, b.len() as i64);
    out.extend_from_slice(b);
}

/// The minimal big-endian two's complement bytes of `v`, as Java's
/// `BigInteger.toByteArray` gives them.
fn decimal_bytes(v: i128) -> Vec<u8> {
    let b = v.to_be_bytes();
    let mut start = 0;
    while start < b.len() - 1 {
        let redundant = (b[start] == 0x00 && b[start + 1] & 0x80 == 0)
            || (b[start] == 0xff && b[start + 1] & 0x80 != 0);
        if !redundant {
            break;
        }
        start += 1;
    }
    b[start..].to_vec()
}

/// Writes an optional union `["null", T]`: branch 0 for null, else branch 1
/// and the value.
fn write_optional(out: &mut Vec<u8>, ty: &SqlType, v: &Value) -> Res<()> {
    if v.is_null() {
        write_long(out, 0);
        Ok(())
    } else {
        write_long(out, 1);
        write_value(out, ty, v)
    }
}

/// Writes a non-null value of type `ty`.
fn write_value(out: &mut Vec<u8>, ty: &SqlType, v: &Value) -> Res<()> {
    match ty {
        SqlType::Boolean => match v {
            Value::Bool(b) => out.push(u8::from(*b)),
            _ => return Err(mismatch(ty, v)),
        },
        SqlType::Int => {
            let i = v.as_i64().ok_or_else(|| mismatch(ty, v))?;
            let i = i32::try_from(i)
                .map_err(|_| Fail::new(format!("value {i} is out of range for INTEGER")))?;
            write_long(out, i64::from(i));
        }
        SqlType::BigInt => write_long(out, v.as_i64().ok_or_else(|| mismatch(ty, v))?),
        SqlType::Double => match v {
            Value::Int(_) | Value::BigInt(_) | Value::Double(_) | Value::Decimal(_) => {
                let d = v.as_f64().ok_or_else(|| mismatch(ty, v))?;
                out.extend_from_slice(&d.to_le_bytes());
            }
            _ => return Err(mismatch(ty, v)),
        },
        SqlType::Decimal(p, s) => {
            let d = match v {
                Value::Int(_) | Value::BigInt(_) | Value::Double(_) | Value::Decimal(_) => {
                    v.as_decimal().ok_or_else(|| mismatch(ty, v))?
                }
                _ => return Err(mismatch(ty, v)),
            };
            let fitted = d
                .fit(*p, *s)
                .ok_or_else(|| Fail::new(format!("value {d} does not fit {ty}")))?;
            write_bytes(out, &decimal_bytes(fitted.unscaled));
        }
        SqlType::String => match v {
            Value::String(s) => write_bytes(out, s.as_bytes()),
            _ => return Err(mismatch(ty, v)),
        },
        SqlType::Bytes => match v {
            Value::Bytes(b) => write_bytes(out, b),
            _ => return Err(mismatch(ty, v)),
        },
        SqlType::Date => match v {
            Value::Date(d) | Value::Int(d) => write_long(out, i64::from(*d)),
            _ => return Err(mismatch(ty, v)),
        },
        SqlType::Time => match v {
            Value::Time(t) | Value::BigInt(t) => {
                let t = i32::try_from(*t)
                    .map_err(|_| Fail::new(format!("TIME value {t} is out of range")))?;
                write_long(out, i64::from(t));
            }
            Value::Int(t) => write_long(out, i64::from(*t)),
            _ => return Err(mismatch(ty, v)),
        },
        SqlType::Timestamp => match v {
            Value::Timestamp(t) | Value::BigInt(t) => write_long(out, *t),
            Value::Int(t) => write_long(out, i64::from(*t)),
            _ => return Err(mismatch(ty, v)),
        },
        SqlType::Array(item) => match v {
            Value::Array(items) => {
                if !items.is_empty() {
                    write_long(out, items.len() as i64);
                    for (i, x) in items.iter().enumerate() {
                        write_optional(out, item, x).map_err(|f| f.at(index_seg(i)))?;
                    }
                }
                write_long(out, 0);
            }
            _ => return Err(mismatch(ty, v)),
        },
        SqlType::Map(_, value_ty) => match v {
            Value::Map(entries) => {
                if !entries.is_empty() {
                    write_long(out, entries.len() as i64);
                    for (k, x) in entries {
                        let Value::String(k) = k else {
                            return Err(Fail::new(format!(
                                "map keys must be non-null strings, got {}",
                                k.natural_type()
                            )));
                        };
                        write_bytes(out, k.as_bytes());
                        write_optional(out, value_ty, x).map_err(|f| f.at(key_seg(k)))?;
                    }
                }
                write_long(out, 0);
            }
            _ => return Err(mismatch(ty, v)),
        },
        SqlType::Struct(fields) => match v {
            Value::Struct(vals) => {
                for (i, (name, fty)) in fields.iter().enumerate() {
                    let fv = struct_field_value(vals, i, name);
                    write_optional(out, fty, fv).map_err(|f| f.at(field_seg(name)))?;
                }
            }
            _ => return Err(mismatch(ty, v)),
        },
        SqlType::Custom(_) | SqlType::Null | SqlType::Any => {
            return Err(Fail::new(format!("type {ty} is not supported by AVRO")))
        }
    }
    Ok(())
}

/// The value of struct field `name` (at `index` in the type): positional
/// when the names line up, else by name (exact, then ignoring case), else
/// null.
fn struct_field_value<'a>(vals: &'a [(String, Value)], index: usize, name: &str) -> &'a Value {
    match vals.get(index) {
        Some((n, v)) if n == name => v,
        _ => vals
            .iter()
            .find(|(n, _)| n == name)
            .or_else(|| vals.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)))
            .map(|(_, v)| v)
            .unwrap_or(&Value::Null),
    }
}

/// Reads Avro binary data from a record's bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn truncated(&self, what: &str) -> Fail {
        Fail::new(format!(
            "unexpected end of data at byte {} reading {what}",
            self.pos
        ))
    }

    fn byte(&mut self, what: &str) -> Res<u8> {
        let b = *self.buf.get(self.pos).ok_or_else(|| self.truncated(what))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize, what: &str) -> Res<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.truncated(what));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// A zig-zag varint of at most 10 bytes.
    fn long(&mut self, what: &str) -> Res<i64> {
        let start = self.pos;
        let mut z: u64 = 0;
        let mut shift = 0u32;
        loop {
            let b = self.byte(what)?;
            if shift == 63 && b > 1 {
                return Err(Fail::new(format!(
                    "varint at byte {start} overflows a long reading {what}"
                )));
            }
            z |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    fn int(&mut self, what: &str) -> Res<i32> {
        let start = self.pos;
        let v = self.long(what)?;
        i32::try_from(v).map_err(|_| {
            Fail::new(format!(
                "value {v} at byte {start} is out of range for an int reading {what}"
            ))
        })
    }

    fn len(&mut self, what: &str) -> Res<usize> {
        let start = self.pos;
        let n = self.long(what)?;
        if n < 0 {
            return Err(Fail::new(format!(
                "negative length {n} at byte {start} reading {what}"
            )));
        }
        usize::try_from(n).map_err(|_| self.truncated(what))
    }

    fn bytes(&mut self, what: &str) -> Res<&'a [u8]> {
        let n = self.len(what)?;
        self.take(n, what)
    }

    fn string(&mut self, what: &str) -> Res<String> {
        let start = self.pos;
        let b = self.bytes(what)?;
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|e| Fail::new(format!("invalid UTF-8 at byte {start} reading {what}: {e}")))
    }

    /// An optional union `["null", T]`.
    fn optional(&mut self, ty: &SqlType) -> Res<Value> {
        let start = self.pos;
        match self.long("a union branch")? {
            0 => Ok(Value::Null),
            1 => self.value(ty),
            n => Err(Fail::new(format!(
                "invalid union branch {n} at byte {start} (expected 0 for null or 1 for {ty})"
            ))),
        }
    }

    /// The blocks of an array or map: calls `item` once per item.
    fn blocks(&mut self, what: &str, mut item: impl FnMut(&mut Self) -> Res<()>) -> Res<()> {
        loop {
            let start = self.pos;
            let mut count = self.long(what)?;
            if count == 0 {
                return Ok(());
            }
            if count < 0 {
                count = count.checked_neg().ok_or_else(|| {
                    Fail::new(format!(
                        "invalid block count at byte {start} reading {what}"
                    ))
                })?;
                // The block's size in bytes, for skipping; not needed here.
                self.len(what)?;
            }
            // Every item takes at least one byte: a larger count is garbage.
            if count as u64 > self.remaining() as u64 {
                return Err(Fail::new(format!(
                    "block count {count} at byte {start} exceeds the remaining data reading {what}"
                )));
            }
            for _ in 0..count {
                item(self)?;
            }
        }
    }

    /// A non-null value of type `ty`.
    fn value(&mut self, ty: &SqlType) -> Res<Value> {
        Ok(match ty {
            SqlType::Boolean => {
                let start = self.pos;
                match self.byte("a boolean")? {
                    0 => Value::Bool(false),
                    1 => Value::Bool(true),
                    b => {
                        return Err(Fail::new(format!(
                            "invalid boolean byte {b} at byte {start}"
                        )))
                    }
                }
            }
            SqlType::Int => Value::Int(self.int("an int")?),
            SqlType::BigInt => Value::BigInt(self.long("a long")?),
            SqlType::Double => {
                let b = self.take(8, "a double")?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Value::Double(f64::from_le_bytes(a))
            }
            SqlType::Decimal(p, s) => {
                let start = self.pos;
                let b = self.bytes("a decimal")?;
                let unscaled = decimal_from_bytes(b).ok_or_else(|| {
                    Fail::new(format!(
                        "invalid or oversized decimal bytes ({} bytes) at byte {start}",
                        b.len()
                    ))
                })?;
                let d = Decimal::new(unscaled, *s);
                if d.fit(*p, *s).is_none() {
                    return Err(Fail::new(format!("value {d} does not fit {ty}")));
                }
                Value::Decimal(d)
            }
            SqlType::String => Value::String(self.string("a string")?),
            SqlType::Bytes => Value::Bytes(self.bytes("bytes")?.to_vec()),
            SqlType::Date => Value::Date(self.int("a date")?),
            SqlType::Time => Value::Time(i64::from(self.int("a time")?)),
            SqlType::Timestamp => Value::Timestamp(self.long("a timestamp")?),
            SqlType::Array(item) => {
                let mut items = Vec::new();
                self.blocks("an array", |r| {
                    let i = items.len();
                    items.push(r.optional(item).map_err(|f| f.at(index_seg(i)))?);
                    Ok(())
                })?;
                Value::Array(items)
            }
            SqlType::Map(_, value_ty) => {
                let mut entries: Vec<(Value, Value)> = Vec::new();
                self.blocks("a map", |r| {
                    let k = r.string("a map key")?;
                    let v = r.optional(value_ty).map_err(|f| f.at(key_seg(&k)))?;
                    // Avro maps have unique keys; keep the last of duplicates.
                    match entries
                        .iter_mut()
                        .find(|(ek, _)| ek.as_str() == Some(k.as_str()))
                    {
                        Some(e) => e.1 = v,
                        None => entries.push((Value::String(k), v)),
                    }
                    Ok(())
                })?;
                Value::Map(entries)
            }
            SqlType::Struct(fields) => {
                let mut vals = Vec::with_capacity(fields.len());
                for (name, fty) in fields {
                    let v = self.optional(fty).map_err(|f| f.at(field_seg(name)))?;
                    vals.push((name.clone(), v));
                }
                Value::Struct(vals)
            }
            SqlType::Custom(_) | SqlType::Null | SqlType::Any => {
                return Err(Fail::new(format!("type {ty} is not supported by AVRO")))
            }
        })
    }
}

/// The unscaled value of Avro decimal bytes (big-endian two's complement),
/// or None when empty or too large for 128 bits.
fn decimal_from_bytes(b: &[u8]) -> Option<i128> {
    let first = *b.first()?;
    let negative = first & 0x80 != 0;
    let sign = if negative { 0xff } else { 0x00 };
    let mut b = b;
    while b.len() > 16 && b[0] == sign {
        b = &b[1..];
    }
    if b.len() > 16 {
        return None;
    }
    let mut buf = [sign; 16];
    buf[16 - b.len()..].copy_from_slice(b);
    let v = i128::from_be_bytes(buf);
    // Stripping sign bytes must not have flipped the sign.
    ((v < 0) == negative).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ColumnKind;

    fn col(name: &str, ty: SqlType) -> Column {
        Column::new(name, ty, ColumnKind::Value)
    }

    fn dec(s: &str) -> Value {
        Value::Decimal(Decimal::parse(s).unwrap())
    }

    fn st(fields: &[(&str, SqlType)]) -> SqlType {
        SqlType::Struct(
            fields
                .iter()
                .map(|(n, t)| (n.to_string(), t.clone()))
                .collect(),
        )
    }

    fn sv(fields: &[(&str, Value)]) -> Value {
        Value::Struct(
            fields
                .iter()
                .map(|(n, v)| (n.to_string(), v.clone()))
                .collect(),
        )
    }

    /// Encodes then decodes `values` and checks they come back unchanged
    /// (same variants, same decimal scale).
    fn round_trip(codec: &AvroCodec, values: Vec<Value>) -> Vec<u8> {
        let bytes = codec.encode(&values).unwrap().unwrap();
        assert_eq!(&bytes[..5], &[0, 0, 0, 0, 1]);
        let back = codec.decode(Some(&bytes)).unwrap().unwrap();
        assert_eq!(format!("{back:?}"), format!("{values:?}"));
        bytes
    }

    fn single(ty: SqlType) -> AvroCodec {
        AvroCodec::new(vec![col("V", ty)], false).unwrap()
    }

    fn all_types() -> Vec<(SqlType, Vec<Value>)> {
        vec![
            (
                SqlType::Boolean,
                vec![Value::Bool(true), Value::Bool(false)],
            ),
            (
                SqlType::Int,
                vec![
                    Value::Int(0),
                    Value::Int(-1),
                    Value::Int(i32::MAX),
                    Value::Int(i32::MIN),
                ],
            ),
            (
                SqlType::BigInt,
                vec![
                    Value::BigInt(998877665544332211),
                    Value::BigInt(i64::MAX),
                    Value::BigInt(i64::MIN),
                ],
            ),
            (
                SqlType::Double,
                vec![
                    Value::Double(654.321),
                    Value::Double(-0.0),
                    Value::Double(f64::INFINITY),
                ],
            ),
            (
                SqlType::String,
                vec![Value::String(String::new()), Value::String("héllo".into())],
            ),
            (
                SqlType::Bytes,
                vec![Value::Bytes(vec![]), Value::Bytes(vec![0, 255, 7])],
            ),
            (
                SqlType::Decimal(6, 4),
                vec![dec("10.0000"), dec("-0.0001"), dec("0.0000")],
            ),
            (
                SqlType::Decimal(38, 0),
                vec![
                    dec("99999999999999999999999999999999999999"),
                    dec("-99999999999999999999999999999999999999"),
                ],
            ),
            (SqlType::Date, vec![Value::Date(10), Value::Date(-10)]),
            (SqlType::Time, vec![Value::Time(0), Value::Time(86_399_999)]),
            (
                SqlType::Timestamp,
                vec![Value::Timestamp(1_600_000_000_123), Value::Timestamp(-2000)],
            ),
        ]
    }

    #[test]
    fn primitives_round_trip_wrapped_and_unwrapped() {
        for (ty, values) in all_types() {
            let wrapped = single(ty.clone());
            let unwrapped = AvroCodec::new(vec![col("V", ty.clone())], true).unwrap();
            for v in values {
                round_trip(&wrapped, vec![v.clone()]);
                round_trip(&unwrapped, vec![v]);
            }
            round_trip(&wrapped, vec![Value::Null]);
            assert_eq!(unwrapped.encode(&[Value::Null]).unwrap(), None);
        }
    }

    #[test]
    fn all_types_in_one_record_with_nulls() {
        let types = all_types();
        let columns: Vec<Column> = types
            .iter()
            .enumerate()
            .map(|(i, (t, _))| col(&format!("C{i}"), t.clone()))
            .collect();
        let codec = AvroCodec::new(columns, false).unwrap();
        let first: Vec<Value> = types.iter().map(|(_, v)| v[0].clone()).collect();
        round_trip(&codec, first);
        let nulls = vec![Value::Null; types.len()];
        let bytes = round_trip(&codec, nulls);
        // Every field is the null branch: one zero byte each.
        assert_eq!(&bytes[5..], vec![0u8; types.len()].as_slice());
    }

    #[test]
    fn known_bytes() {
        let codec = AvroCodec::new(
            vec![
                col("A", SqlType::Int),
                col("B", SqlType::String),
                col("C", SqlType::Boolean),
                col("D", SqlType::Array(Box::new(SqlType::BigInt))),
            ],
            false,
        )
        .unwrap();
        let values = vec![
            Value::Int(-65),
            Value::String("hi".into()),
            Value::Null,
            Value::Array(vec![Value::BigInt(64), Value::Null]),
        ];
        let bytes = round_trip(&codec, values);
        #[rustfmt::skip]
        let expected = [
            0, 0, 0, 0, 1,          // magic byte, schema id 1
            0x02, 0x81, 0x01,       // A: branch 1, zig-zag(-65) = 129
            0x02, 0x04, b'h', b'i', // B: branch 1, length 2, "hi"
            0x00,                   // C: branch 0 (null)
            0x02,                   // D: branch 1
            0x04,                   //   block of 2 items
            0x02, 0x80, 0x01,       //   branch 1, zig-zag(64) = 128
            0x00,                   //   branch 0 (null)
            0x00,                   //   end of blocks
        ];
        assert_eq!(bytes, expected);

        // Double little-endian, decimal big-endian two's complement.
        let codec = AvroCodec::new(
            vec![col("X", SqlType::Double), col("Y", SqlType::Decimal(4, 2))],
            false,
        )
        .unwrap();
        let bytes = round_trip(&codec, vec![Value::Double(1.0), dec("-1.28")]);
        assert_eq!(
            &bytes[5..],
            &[2, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 2, 0x02, 0x80]
        );
        // A bare unwrapped key: no union branch.
        let key = AvroCodec::new(vec![col("K", SqlType::String)], true).unwrap();
        assert_eq!(
            key.encode(&[Value::String("a".into())]).unwrap().unwrap(),
            vec![0, 0, 0, 0, 1, 0x02, b'a']
        );
    }

    #[test]
    fn varints() {
        for (v, bytes) in [
            (0i64, vec![0x00]),
            (-1, vec![0x01]),
            (1, vec![0x02]),
            (-64, vec![0x7f]),
            (64, vec![0x80, 0x01]),
            (
                i64::MAX,
                vec![0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            ),
            (
                i64::MIN,
                vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            ),
        ] {
            let mut out = Vec::new();
            write_long(&mut out, v);
            assert_eq!(out, bytes, "{v}");
            let mut r = Reader { buf: &out, pos: 0 };
            assert_eq!(r.long("x").ok(), Some(v));
        }
        // An 11-byte varint overflows.
        let long = [0xff; 10].iter().copied().chain([0x01]).collect::<Vec<_>>();
        assert!(Reader { buf: &long, pos: 0 }.long("x").is_err());
    }

    #[test]
    fn decimals() {
        for (v, bytes) in [
            (0i128, vec![0x00]),
            (127, vec![0x7f]),
            (128, vec![0x00, 0x80]),
            (-128, vec![0x80]),
            (-129, vec![0xff, 0x7f]),
            (255, vec![0x00, 0xff]),
            (-1, vec![0xff]),
        ] {
            assert_eq!(decimal_bytes(v), bytes, "{v}");
            assert_eq!(decimal_from_bytes(&bytes), Some(v));
        }
        for v in [i128::MAX, i128::MIN, 10i128.pow(38) - 1, -(10i128.pow(38))] {
            assert_eq!(decimal_from_bytes(&decimal_bytes(v)), Some(v));
        }
        // Redundant sign bytes are accepted, real overflow is not.
        let mut padded = vec![0xff; 4];
        padded.extend_from_slice(&(-5i128).to_be_bytes());
        assert_eq!(decimal_from_bytes(&padded), Some(-5));
        let mut too_big = vec![0x00];
        too_big.extend_from_slice(&[0x80; 16]);
        assert_eq!(decimal_from_bytes(&too_big), None);
        assert_eq!(decimal_from_bytes(&[]), None);

        // Values are written at the column's scale, rounding HALF_UP.
        let c = single(SqlType::Decimal(6, 4));
        let bytes = c.encode(&[dec("1.5")]).unwrap().unwrap();
        assert_eq!(
            c.decode(Some(&bytes)).unwrap().unwrap()[0].to_string(),
            "1.5000"
        );
        let c = single(SqlType::Decimal(4, 2));
        let bytes = c.encode(&[Value::Int(12)]).unwrap().unwrap();
        assert_eq!(
            c.decode(Some(&bytes)).unwrap().unwrap()[0].to_string(),
            "12.00"
        );
        let bytes = c.encode(&[Value::Double(-1.005)]).unwrap().unwrap();
        assert_eq!(
            c.decode(Some(&bytes)).unwrap().unwrap()[0].to_string(),
            "-1.01"
        );
        // Overflow is a format error, both ways.
        let err = c.encode(&[dec("100.00")]).unwrap_err();
        assert!(matches!(err, Error::Format(_)), "{err}");
        assert!(
            err.to_string().contains("does not fit DECIMAL(4, 2)"),
            "{err}"
        );
        let wide = single(SqlType::Decimal(10, 2))
            .encode(&[dec("123456.78")])
            .unwrap()
            .unwrap();
        let err = c.decode(Some(&wide)).unwrap_err();
        assert!(err.to_string().contains("does not fit"), "{err}");
    }

    #[test]
    fn nested_types() {
        let inner = st(&[("X", SqlType::Int), ("Y", SqlType::String)]);
        let ty = st(&[
            ("S", inner.clone()),
            ("A", SqlType::Array(Box::new(inner.clone()))),
            (
                "M",
                SqlType::Map(
                    Box::new(SqlType::String),
                    Box::new(SqlType::Array(Box::new(SqlType::Decimal(5, 1)))),
                ),
            ),
        ]);
        let codec = AvroCodec::new(
            vec![
                col("ID", SqlType::BigInt),
                col("N", ty.clone()),
                col("E", SqlType::Array(Box::new(SqlType::String))),
                col(
                    "EM",
                    SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Int)),
                ),
            ],
            false,
        )
        .unwrap();
        let s1 = sv(&[("X", Value::Int(1)), ("Y", Value::String("a".into()))]);
        let s2 = sv(&[("X", Value::Null), ("Y", Value::Null)]);
        let n = sv(&[
            ("S", s1.clone()),
            ("A", Value::Array(vec![s1, Value::Null, s2])),
            (
                "M",
                Value::Map(vec![
                    (
                        Value::String("k1".into()),
                        Value::Array(vec![dec("-1234.5"), Value::Null]),
                    ),
                    (Value::String("k2".into()), Value::Null),
                ]),
            ),
        ]);
        round_trip(
            &codec,
            vec![
                Value::BigInt(7),
                n,
                Value::Array(vec![]),
                Value::Map(vec![]),
            ],
        );
        let n = sv(&[("S", Value::Null), ("A", Value::Null), ("M", Value::Null)]);
        round_trip(
            &codec,
            vec![Value::Null, n, Value::Array(vec![Value::Null]), Value::Null],
        );

        // An unwrapped struct key is the bare record.
        let key = AvroCodec::new(
            vec![Column::new(
                "K",
                st(&[("F1", SqlType::String)]),
                ColumnKind::Key,
            )],
            true,
        )
        .unwrap();
        let bytes = round_trip(&key, vec![sv(&[("F1", Value::Null)])]);
        assert_eq!(&bytes[5..], &[0]);
        round_trip(&key, vec![sv(&[("F1", Value::String("foo".into()))])]);
    }

    #[test]
    fn struct_fields_matched_by_name() {
        let codec = single(st(&[("A", SqlType::Int), ("B", SqlType::Int)]));
        // Out of order and missing fields.
        let bytes = codec
            .encode(&[sv(&[("B", Value::Int(2))])])
            .unwrap()
            .unwrap();
        assert_eq!(
            codec.decode(Some(&bytes)).unwrap().unwrap(),
            vec![sv(&[("A", Value::Null), ("B", Value::Int(2))])]
        );
    }

    #[test]
    fn block_encoded_arrays_and_maps() {
        let codec = single(SqlType::Array(Box::new(SqlType::Int)));
        // Two blocks: one of 2 items, one with a negative count (-1) and a
        // byte size (2), then the end.
        #[rustfmt::skip]
        let bytes = [
            0, 0, 0, 0, 42,
            0x02,             // branch 1
            0x04, 0x02, 0x02, 0x00, // 2 items: 1, null
            0x01, 0x04, 0x02, 0x06, // -1 items, 2 bytes: 3
            0x00,
        ];
        assert_eq!(
            codec.decode(Some(&bytes)).unwrap().unwrap(),
            vec![Value::Array(vec![
                Value::Int(1),
                Value::Null,
                Value::Int(3)
            ])]
        );
        let codec = single(SqlType::Map(
            Box::new(SqlType::String),
            Box::new(SqlType::Int),
        ));
        #[rustfmt::skip]
        let bytes = [
            0, 0, 0, 0, 1,
            0x02,
            0x02, 0x02, b'a', 0x02, 0x02,       // 1 entry: a -> 1
            0x03, 0x0e, 0x02, b'b', 0x00,       // -2 entries, 7 bytes: b -> null,
            0x02, b'c', 0x02, 0x06,             //   c -> 3
            0x00,
        ];
        assert_eq!(
            codec.decode(Some(&bytes)).unwrap().unwrap(),
            vec![Value::Map(vec![
                (Value::String("a".into()), Value::Int(1)),
                (Value::String("b".into()), Value::Null),
                (Value::String("c".into()), Value::Int(3)),
            ])]
        );
    }

    #[test]
    fn bad_input() {
        let codec = AvroCodec::new(
            vec![col("A", SqlType::Int), col("B", SqlType::String)],
            false,
        )
        .unwrap();
        let good = codec
            .encode(&[Value::Int(5), Value::String("hello".into())])
            .unwrap()
            .unwrap();
        let err = |bytes: &[u8]| {
            let e = codec.decode(Some(bytes)).unwrap_err();
            assert!(matches!(e, Error::Format(_)), "{e}");
            e.to_string()
        };
        assert!(err(b"{\"A\":1}").contains("Unknown magic byte!"));
        assert!(err(&[]).contains("Unknown magic byte!"));
        assert!(err(&[0, 0, 1]).contains("truncated schema registry header"));
        // Every truncation of a valid record fails.
        for n in 5..good.len() {
            let e = err(&good[..n]);
            assert!(e.contains("unexpected end of data"), "{n}: {e}");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(err(&trailing).contains("trailing bytes"));
        assert!(err(&[0, 0, 0, 0, 1, 0x04]).contains("invalid union branch 2"));
        let e = err(&[0, 0, 0, 0, 1, 0x00, 0x02, 0x03, b'x']);
        assert!(e.contains("negative length"), "{e}");
        let e = err(&[0, 0, 0, 0, 1, 0x00, 0x02, 0x04, 0xff, 0xfe]);
        assert!(e.contains("invalid UTF-8") && e.contains("field B"), "{e}");
        // An int out of range.
        let mut big = vec![0, 0, 0, 0, 1, 0x02];
        write_long(&mut big, 1 << 40);
        big.push(0);
        assert!(err(&big).contains("out of range"));
        // Garbage booleans and huge block counts.
        let b = single(SqlType::Boolean);
        assert!(b.decode(Some(&[0, 0, 0, 0, 1, 2, 7])).is_err());
        let a = single(SqlType::Array(Box::new(SqlType::Int)));
        let mut huge = vec![0, 0, 0, 0, 1, 2];
        write_long(&mut huge, 1 << 50);
        let e = a.decode(Some(&huge)).unwrap_err().to_string();
        assert!(e.contains("exceeds the remaining data"), "{e}");
        // Nested paths are named.
        let s = single(st(&[("F", SqlType::Array(Box::new(SqlType::Int)))]));
        let e = s
            .decode(Some(&[0, 0, 0, 0, 1, 2, 2, 2, 2]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("field V.F[0]"), "{e}");
    }

    #[test]
    fn encode_errors() {
        let c = single(SqlType::Int);
        let e = c.encode(&[Value::String("x".into())]).unwrap_err();
        assert!(matches!(e, Error::Format(_)));
        assert!(c.encode(&[Value::BigInt(1 << 40)]).is_err());
        assert!(c.encode(&[]).is_err());
        let t = single(SqlType::Time);
        assert!(t.encode(&[Value::Time(1 << 40)]).is_err());
        let s = single(st(&[("F", SqlType::Array(Box::new(SqlType::Int)))]));
        let e = s
            .encode(&[sv(&[(
                "F",
                Value::Array(vec![Value::Int(1), Value::String("x".into())]),
            )])])
            .unwrap_err()
            .to_string();
        assert!(e.contains("field V.F[1]"), "{e}");
        let m = single(SqlType::Map(
            Box::new(SqlType::String),
            Box::new(SqlType::Int),
        ));
        assert!(m
            .encode(&[Value::Map(vec![(Value::Null, Value::Int(1))])])
            .is_err());
    }

    #[test]
    fn construction_errors() {
        let e = AvroCodec::new(
            vec![col(
                "M",
                SqlType::Map(Box::new(SqlType::Int), Box::new(SqlType::Double)),
            )],
            false,
        )
        .err()
        .unwrap();
        assert_eq!(e.to_string(), "Avro only supports MAPs with STRING keys");
        let e = AvroCodec::new(
            vec![col(
                "1AvroDoesNotLikeFieldsThatStartWithNumbers",
                SqlType::Int,
            )],
            false,
        )
        .err()
        .unwrap();
        assert_eq!(
            e.to_string(),
            "Schema is not compatible with Avro: Illegal initial character: 1AvroDoesNotLikeFieldsThatStartWithNumbers"
        );
        assert!(AvroCodec::new(vec![col("a-b", SqlType::Int)], false).is_err());
        // Struct field names are record field names too, at any depth.
        let e = AvroCodec::new(
            vec![col("V", st(&[("ok", st(&[("b@d", SqlType::Int)]))]))],
            true,
        )
        .err()
        .unwrap();
        assert_eq!(
            e.to_string(),
            "Schema is not compatible with Avro: Illegal character in: b@d"
        );
        // The name of an unwrapped column is not part of the schema.
        assert!(AvroCodec::new(vec![col("1x", SqlType::Int)], true).is_ok());
    }

    #[test]
    fn no_columns_and_absent_records() {
        let c = AvroCodec::new(vec![], false).unwrap();
        assert_eq!(c.encode(&[]).unwrap(), None);
        assert_eq!(c.decode(Some(b"ignored")).unwrap(), Some(vec![]));
        let c = single(SqlType::Int);
        assert_eq!(c.decode(None).unwrap(), None);
        let c = single(SqlType::Int).with_schema_id(102);
        assert_eq!(
            c.encode(&[Value::Int(1)]).unwrap().unwrap(),
            vec![0, 0, 0, 0, 102, 2, 2]
        );
    }

    #[test]
    fn schema_json() {
        let columns = vec![
            col("FOO", SqlType::Int),
            col("D", SqlType::Decimal(4, 2)),
            col(
                "S",
                st(&[
                    ("F1", SqlType::Timestamp),
                    ("N", st(&[("X", SqlType::Date)])),
                ]),
            ),
            col("A", SqlType::Array(Box::new(st(&[("Y", SqlType::Time)])))),
            col(
                "M",
                SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Bytes)),
            ),
        ];
        let s = avro_schema_json(&columns, false);
        assert_eq!(s["type"], "record");
        assert_eq!(s["name"], "KsqlDataSourceSchema");
        assert_eq!(s["namespace"], "io.confluent.ksql.avro_schemas");
        assert_eq!(
            s["connect.name"],
            "io.confluent.ksql.avro_schemas.KsqlDataSourceSchema"
        );
        let f = &s["fields"];
        assert_eq!(
            f[0],
            json!({"name": "FOO", "type": ["null", "int"], "default": null})
        );
        assert_eq!(f[1]["type"][1]["logicalType"], "decimal");
        assert_eq!(f[1]["type"][1]["precision"], 4);
        assert_eq!(f[1]["type"][1]["scale"], 2);
        let srec = &f[2]["type"][1];
        assert_eq!(srec["name"], "KsqlDataSourceSchema_S");
        assert!(srec.get("namespace").is_none());
        assert_eq!(
            srec["fields"][0]["type"][1]["logicalType"],
            "timestamp-millis"
        );
        assert_eq!(
            srec["fields"][1]["type"][1]["name"],
            "KsqlDataSourceSchema_S_N"
        );
        assert_eq!(
            srec["fields"][1]["type"][1]["fields"][0]["type"][1]["logicalType"],
            "date"
        );
        let arr = &f[3]["type"][1];
        assert_eq!(arr["type"], "array");
        assert_eq!(arr["items"][0], "null");
        assert_eq!(arr["items"][1]["name"], "KsqlDataSourceSchema_A");
        assert_eq!(
            arr["items"][1]["fields"][0]["type"][1]["logicalType"],
            "time-millis"
        );
        assert_eq!(
            f[4]["type"][1],
            json!({"type": "map", "values": ["null", "bytes"]})
        );

        // Unwrapped: the bare type; a struct key is a top-level record.
        assert_eq!(
            avro_schema_json(&[col("K", SqlType::BigInt)], true),
            json!("long")
        );
        let k = avro_schema_json_named(
            &[col("K", st(&[("F1", SqlType::String)]))],
            true,
            "io.confluent.ksql.avro_schemas.OutputKey",
        );
        assert_eq!(
            k,
            json!({
                "type": "record",
                "name": "OutputKey",
                "namespace": "io.confluent.ksql.avro_schemas",
                "fields": [{"name": "F1", "type": ["null", "string"], "default": null}],
                "connect.name": "io.confluent.ksql.avro_schemas.OutputKey"
            })
        );
        // Record names stay unique.
        let clash = avro_schema_json(
            &[
                col("A_B", st(&[("X", SqlType::Int)])),
                col("A", st(&[("B", st(&[("Y", SqlType::Int)]))])),
            ],
            false,
        );
        assert_eq!(
            clash["fields"][0]["type"][1]["name"],
            "KsqlDataSourceSchema_A_B"
        );
        assert_eq!(
            clash["fields"][1]["type"][1]["fields"][0]["type"][1]["name"],
            "KsqlDataSourceSchema_A_B_1"
        );
        let codec = AvroCodec::new(columns.clone(), false).unwrap();
        assert_eq!(codec.schema_json(), s);
    }
}
