//! ksqlDB's BYTES functions: conversions between strings and bytes in the
//! hex, utf8, ascii and base64 encodings (TO_BYTES, FROM_BYTES), and reading
//! numbers out of bytes in a chosen byte order (INT_FROM_BYTES,
//! BIGINT_FROM_BYTES, DOUBLE_FROM_BYTES).

use super::args::{any_null, bytes_of, fits, str_of};
use super::encoding::{
    decode_base64, decode_hex, encode_base64, from_ascii_bytes, to_ascii_bytes, Encoding,
};
use super::{no_signature, FunctionRegistry, Resolved};
use crate::error::{Error, Result};
use crate::types::{SqlType, Value};

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
}
