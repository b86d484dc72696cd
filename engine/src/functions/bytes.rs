//! ksqlDB's BYTES functions: conversions between strings and bytes in the
//! hex, utf8, ascii and base64 encodings (TO_BYTES, FROM_BYTES), and reading
//! numbers out of bytes in a chosen byte order (INT_FROM_BYTES,
//! BIGINT_FROM_BYTES, DOUBLE_FROM_BYTES). Also the encoding helpers that
//! ENCODE shares.

use super::string::{any_null, bytes_of, fits, str_of};
use super::{no_signature, FunctionRegistry, Resolved};
use crate::error::{Error, Result};
use crate::types::{SqlType, Value};
use base64::Engine as _;

/// Registers this family's functions.
pub fn register(reg: &mut FunctionRegistry) {
    reg.add(
        "TO_BYTES",
        "STRING",
        "Converts a string in the given encoding (hex, utf8, ascii, base64) to BYTES.",
        to_bytes,
    );
    reg.add(
        "FROM_BYTES",
        "STRING",
        "Converts BYTES to a string in the given encoding (hex, utf8, ascii, base64).",
        from_bytes,
    );
    reg.add(
        "INT_FROM_BYTES",
        "CONVERSIONS",
        "Reads an INT from 4 bytes, BIG_ENDIAN (the default) or LITTLE_ENDIAN.",
        |a| number_from_bytes("INT_FROM_BYTES", a, SqlType::Int),
    );
    reg.add(
        "BIGINT_FROM_BYTES",
        "CONVERSIONS",
        "Reads a BIGINT from 8 bytes, BIG_ENDIAN (the default) or LITTLE_ENDIAN.",
        |a| number_from_bytes("BIGINT_FROM_BYTES", a, SqlType::BigInt),
    );
    reg.add(
        "DOUBLE_FROM_BYTES",
        "CONVERSIONS",
        "Reads a DOUBLE from 8 bytes, BIG_ENDIAN (the default) or LITTLE_ENDIAN.",
        |a| number_from_bytes("DOUBLE_FROM_BYTES", a, SqlType::Double),
    );
}

/// A text encoding of binary data known to ksqlDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Hex,
    Utf8,
    Ascii,
    Base64,
}

impl Encoding {
    /// The encoding with this name, ignoring case.
    pub fn parse(name: &str) -> Option<Encoding> {
        match name.to_ascii_lowercase().as_str() {
            "hex" => Some(Encoding::Hex),
            "utf8" => Some(Encoding::Utf8),
            "ascii" => Some(Encoding::Ascii),
            "base64" => Some(Encoding::Base64),
            _ => None,
        }
    }
}

/// Decodes hex digits of either case; an odd count or a non-hex character
/// is an error.
pub(crate) fn decode_hex(s: &str) -> Result<Vec<u8>> {
    if s.len() % 2 == 1 {
        return Err(Error::eval(format!(
            "Odd number of characters in hex string: {s}"
        )));
    }
    hex::decode(s).map_err(|e| Error::eval(format!("Invalid hex string '{s}': {e}")))
}

/// A string's characters as US-ASCII bytes, `?` for anything else.
pub(crate) fn to_ascii_bytes(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
        .collect()
}

/// US-ASCII bytes as a string, U+FFFD for bytes above 0x7F.
pub(crate) fn from_ascii_bytes(b: &[u8]) -> String {
    b.iter()
        .map(|&x| if x.is_ascii() { x as char } else { '\u{FFFD}' })
        .collect()
}

/// Standard, padded base64.
pub(crate) fn encode_base64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Base64 with optional padding; anything else that is not base64 is an
/// error.
pub(crate) fn decode_base64(s: &str) -> Result<Vec<u8>> {
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    engine
        .decode(s)
        .map_err(|e| Error::eval(format!("Invalid base64 string '{s}': {e}")))
}

/// Forgiving base64 (standard or URL-safe alphabet): characters outside the
/// alphabet are skipped, decoding stops at the first `=`, and leftover bits
/// that do not make a whole byte are dropped.
pub(crate) fn decode_base64_lenient(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// A string in `encoding` as the bytes it stands for.
pub(crate) fn string_to_bytes(s: &str, encoding: Encoding) -> Result<Vec<u8>> {
    Ok(match encoding {
        Encoding::Hex => decode_hex(s)?,
        Encoding::Utf8 => s.as_bytes().to_vec(),
        Encoding::Ascii => to_ascii_bytes(s),
        Encoding::Base64 => decode_base64(s)?,
    })
}

/// Bytes written as a string in `encoding` (hex in upper case).
pub(crate) fn bytes_to_string(b: &[u8], encoding: Encoding) -> String {
    match encoding {
        Encoding::Hex => hex::encode_upper(b),
        Encoding::Utf8 => String::from_utf8_lossy(b).into_owned(),
        Encoding::Ascii => from_ascii_bytes(b),
        Encoding::Base64 => encode_base64(b),
    }
}

fn encoding_arg(v: &Value) -> Result<Encoding> {
    let name = str_of(v)?;
    Encoding::parse(name).ok_or_else(|| {
        Error::eval(format!(
            "Unknown encoding '{name}'. Supported encodings are: hex, utf8, ascii and base64"
        ))
    })
}

fn to_bytes(args: &[SqlType]) -> Result<Resolved> {
    if !fits(&[SqlType::String, SqlType::String], args) {
        return Err(no_signature("TO_BYTES", args));
    }
    Ok(Resolved::new(SqlType::Bytes, |v| {
        if any_null(v) {
            return Ok(Value::Null);
        }
        string_to_bytes(str_of(&v[0])?, encoding_arg(&v[1])?).map(Value::Bytes)
    }))
}

fn from_bytes(args: &[SqlType]) -> Result<Resolved> {
    if !fits(&[SqlType::Bytes, SqlType::String], args) {
        return Err(no_signature("FROM_BYTES", args));
    }
    Ok(Resolved::new(SqlType::String, |v| {
        if any_null(v) {
            return Ok(Value::Null);
        }
        Ok(Value::String(bytes_to_string(
            bytes_of(&v[0])?,
            encoding_arg(&v[1])?,
        )))
    }))
}

/// Reads a number of type `ret` (INT, BIGINT or DOUBLE) from bytes of
/// exactly its width, in the byte order named by the optional second
/// argument.
fn number_from_bytes(name: &'static str, args: &[SqlType], ret: SqlType) -> Result<Resolved> {
    let ok = fits(&[SqlType::Bytes], args) || fits(&[SqlType::Bytes, SqlType::String], args);
    if !ok {
        return Err(no_signature(name, args));
    }
    let width = if ret == SqlType::Int { 4 } else { 8 };
    Ok(Resolved::new(ret.clone(), move |v| {
        if any_null(v) {
            return Ok(Value::Null);
        }
        let b = bytes_of(&v[0])?;
        let little = match v.get(1) {
            None => false,
            Some(order) => match str_of(order)?.to_ascii_uppercase().as_str() {
                "BIG_ENDIAN" => false,
                "LITTLE_ENDIAN" => true,
                other => {
                    return Err(Error::eval(format!(
                        "Byte order must be BIG_ENDIAN or LITTLE_ENDIAN, but was '{other}'"
                    )))
                }
            },
        };
        if b.len() != width {
            return Err(Error::eval(format!(
                "Number of bytes must be equal to {width}, but found {}",
                b.len()
            )));
        }
        let mut raw = [0u8; 8];
        raw[..width].copy_from_slice(b);
        if little {
            raw[..width].reverse();
        }
        Ok(match ret {
            SqlType::Int => Value::Int(i32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]])),
            SqlType::BigInt => Value::BigInt(i64::from_be_bytes(raw)),
            _ => Value::Double(f64::from_be_bytes(raw)),
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: Vec<Value>) -> Result<Value> {
        let types: Vec<SqlType> = args.iter().map(Value::natural_type).collect();
        let f = FunctionRegistry::global().resolve(name, &types)?;
        (f.eval)(&args)
    }

    fn s(v: &str) -> Value {
        Value::String(v.to_string())
    }

    fn b64(v: &str) -> Value {
        Value::Bytes(decode_base64(v).unwrap())
    }

    #[test]
    fn string_bytes_round_trips() {
        assert_eq!(
            call("FROM_BYTES", vec![b64("GrI="), s("hex")]).unwrap(),
            s("1AB2")
        );
        assert_eq!(
            call("TO_BYTES", vec![s("1aB2"), s("HEX")]).unwrap(),
            b64("GrI=")
        );
        assert_eq!(
            call("FROM_BYTES", vec![b64("IQ=="), s("ascii")]).unwrap(),
            s("!")
        );
        assert_eq!(
            call("FROM_BYTES", vec![b64("IQ=="), s("base64")]).unwrap(),
            s("IQ==")
        );
        assert_eq!(
            call("TO_BYTES", vec![s("IQ"), s("base64")]).unwrap(),
            b64("IQ==")
        );
        assert_eq!(
            call("TO_BYTES", vec![s("é"), s("utf8")]).unwrap(),
            Value::Bytes(vec![0xC3, 0xA9])
        );
        assert_eq!(
            call("TO_BYTES", vec![Value::Null, s("utf8")]).unwrap(),
            Value::Null
        );
        assert!(call("TO_BYTES", vec![s("abc"), s("hex")]).is_err());
        assert!(call("TO_BYTES", vec![s("abc"), s("ebcdic")]).is_err());
    }

    #[test]
    fn numbers_from_bytes() {
        assert_eq!(
            call("INT_FROM_BYTES", vec![b64("AAAH5Q==")]).unwrap(),
            Value::Int(2021)
        );
        assert_eq!(
            call("INT_FROM_BYTES", vec![b64("5QcAAA=="), s("LITTLE_ENDIAN")]).unwrap(),
            Value::Int(2021)
        );
        assert_eq!(
            call(
                "BIGINT_FROM_BYTES",
                vec![b64("AAAAASoF8gA="), s("BIG_ENDIAN")]
            )
            .unwrap(),
            Value::BigInt(5_000_000_000)
        );
        assert_eq!(
            call(
                "DOUBLE_FROM_BYTES",
                vec![b64("gvXJm/2mgEA="), s("LITTLE_ENDIAN")]
            )
            .unwrap(),
            Value::Double(532.8738323)
        );
        assert!(call("INT_FROM_BYTES", vec![b64("AAAAASoF8gA=")]).is_err());
        assert!(call("INT_FROM_BYTES", vec![b64("AAAH5Q=="), s("MIDDLE")]).is_err());
    }

    #[test]
    fn lenient_base64() {
        assert_eq!(
            decode_base64_lenient("RXhh bXBs\nZSE="),
            b"Example!".to_vec()
        );
        assert_eq!(decode_base64_lenient("RXhhbXBsZSE"), b"Example!".to_vec());
    }
}
