//! Encoding rows as protobuf messages: wire-format writers, scalars,
//! decimals, dates and the message layout of a schema.

use super::dates::civil_from_days;
use super::*;

/// A scalar ready to be written: its wire type follows from the variant.
pub(super) enum Scalar<'a> {
    Varint(u64),
    Fixed64(u64),
    Len(&'a [u8]),
}

impl Scalar<'_> {
    pub(super) fn is_default(&self) -> bool {
        match self {
            Scalar::Varint(v) | Scalar::Fixed64(v) => *v == 0,
            Scalar::Len(b) => b.is_empty(),
        }
    }
}

pub(super) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(super) fn put_tag(out: &mut Vec<u8>, num: u32, wire_type: u8) {
    put_varint(out, (u64::from(num) << 3) | u64::from(wire_type));
}

pub(super) fn put_len(out: &mut Vec<u8>, num: u32, bytes: &[u8]) {
    put_tag(out, num, WT_LEN);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Writes a varint field unless it is zero (proto3 implicit presence).
pub(super) fn put_varint_field(out: &mut Vec<u8>, num: u32, v: u64) {
    if v != 0 {
        put_tag(out, num, WT_VARINT);
        put_varint(out, v);
    }
}

/// Writes `s` as field `num`; a default value is skipped when `omit_default`.
pub(super) fn put_scalar(out: &mut Vec<u8>, num: u32, s: &Scalar<'_>, omit_default: bool) {
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
pub(super) fn put_packed(out: &mut Vec<u8>, s: &Scalar<'_>) {
    match s {
        Scalar::Varint(v) => put_varint(out, *v),
        Scalar::Fixed64(v) => out.extend_from_slice(&v.to_le_bytes()),
        Scalar::Len(b) => out.extend_from_slice(b),
    }
}

pub(super) fn wrong_value(ty: &SqlType, v: &Value) -> Error {
    Error::format(format!(
        "Error serializing PROTOBUF: expected {ty}, got {}",
        v.natural_type()
    ))
}

/// The scalar for a non-null value of scalar type `ty`.
pub(super) fn scalar<'a>(ty: &SqlType, v: &'a Value) -> Result<Scalar<'a>> {
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
pub(super) fn default_scalar(ty: &SqlType) -> Scalar<'static> {
    match ty {
        SqlType::Double => Scalar::Fixed64(0),
        SqlType::String | SqlType::Bytes => Scalar::Len(&[]),
        _ => Scalar::Varint(0),
    }
}

/// The value of struct field `name`, expected at position `i`.
pub(super) fn struct_field<'a>(fields: &'a [(String, Value)], i: usize, name: &str) -> &'a Value {
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
pub(super) fn twos_complement(v: i128) -> Vec<u8> {
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
pub(super) fn digit_count(v: i128) -> u32 {
    let mut n = v.unsigned_abs();
    let mut digits = 1;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    digits
}

impl ProtobufCodec {
    /// Writes a singular message field; a null writes nothing.
    pub(super) fn put_field(
        &self,
        out: &mut Vec<u8>,
        num: u32,
        ty: &SqlType,
        v: &Value,
    ) -> Result<()> {
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
    pub(super) fn put_repeated(
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
    pub(super) fn put_element(
        &self,
        out: &mut Vec<u8>,
        num: u32,
        ty: &SqlType,
        v: &Value,
    ) -> Result<()> {
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
    pub(super) fn message_body(&self, ty: &SqlType, v: &Value) -> Result<Vec<u8>> {
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
pub(super) fn field_number(i: usize) -> Result<u32> {
    u32::try_from(i + 1)
        .ok()
        .filter(|n| *n < (1 << 29))
        .ok_or_else(|| Error::format("Too many fields for a PROTOBUF message"))
}
