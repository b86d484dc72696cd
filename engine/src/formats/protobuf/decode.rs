//! Decoding protobuf messages into rows: the wire-format reader, field
//! data and the conversion of each field to its column type.

use super::dates::{days_from_civil, days_in_month};
use super::*;

pub(super) fn malformed(msg: impl std::fmt::Display) -> Error {
    Error::format(format!("Failed to deserialize PROTOBUF record: {msg}"))
}

pub(super) fn wire_type_name(wt: u8) -> &'static str {
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

pub(super) fn wrong_wire_type(num: u32, ty: &SqlType, wt: u8) -> Error {
    malformed(format!(
        "field {num} of type {ty} has unexpected wire type {wt} ({})",
        wire_type_name(wt)
    ))
}

/// A cursor over protobuf wire data.
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(super) fn byte(&mut self) -> Result<u8> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| malformed(format!("truncated input at byte {}", self.pos)))?;
        self.pos += 1;
        Ok(b)
    }

    pub(super) fn varint(&mut self) -> Result<u64> {
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

    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
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

    pub(super) fn fixed64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    pub(super) fn fixed32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Ok(u32::from_le_bytes(a))
    }

    pub(super) fn len_delimited(&mut self) -> Result<&'a [u8]> {
        let start = self.pos;
        let n = self.varint()?;
        let n = usize::try_from(n)
            .map_err(|_| malformed(format!("length {n} too large at byte {start}")))?;
        self.take(n)
    }

    /// The next field number and wire type.
    pub(super) fn tag(&mut self) -> Result<(u32, u8)> {
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
    pub(super) fn skip(&mut self, num: u32, wt: u8) -> Result<()> {
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
    pub(super) fn skip_framing(&mut self) -> Result<()> {
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

pub(super) fn zigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// The two's complement big-endian integer in `bytes` (empty is 0).
pub(super) fn from_twos_complement(bytes: &[u8]) -> Result<i128> {
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
    pub(super) fn read_message(&self, mut r: Reader<'_>, types: &[&SqlType]) -> Result<Vec<Value>> {
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
    pub(super) fn finish(&self, ty: &SqlType, slot: Option<Value>) -> Value {
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
    pub(super) fn read_field(
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
    pub(super) fn read_wrapper(
        &self,
        r: &mut Reader<'_>,
        num: u32,
        wt: u8,
        ty: &SqlType,
    ) -> Result<Value> {
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
    pub(super) fn read_element(
        &self,
        r: &mut Reader<'_>,
        num: u32,
        wt: u8,
        ty: &SqlType,
    ) -> Result<Value> {
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
    pub(super) fn read_body(&self, bytes: &[u8], ty: &SqlType) -> Result<Value> {
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
pub(super) enum FieldData<'a> {
    Varint(u64),
    Len(&'a [u8]),
}

impl FieldData<'_> {
    /// The field as an integer (0 for a length-delimited one).
    pub(super) fn int(&self) -> u64 {
        match self {
            FieldData::Varint(v) => *v,
            FieldData::Len(_) => 0,
        }
    }
}

/// Reads the fields 1..=n of a well-known message, the last occurrence of
/// each winning; field 1 of a Decimal is length-delimited, all others are
/// varints.
pub(super) fn read_fields<'a>(
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
pub(super) fn read_scalar(r: &mut Reader<'_>, num: u32, wt: u8, ty: &SqlType) -> Result<Value> {
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
