//! The DELIMITED format: one line of fields, one per column in column order,
//! separated by a delimiter (`,` by default), read and written as ksqlDB does
//! with Apache Commons CSV.
//!
//! **Reading** takes the first record of the text (blank leading lines are
//! skipped; a record ends at CR, LF or CRLF). A field starting with `"` is
//! quoted: it runs to the closing quote, `""` stands for one quote, and only
//! whitespace may follow before the next delimiter. Other fields are taken
//! literally, spaces and quotes included. An empty field (quoted or not) is
//! null. The number of fields must equal the number of columns. Values parse
//! as Java does: BOOLEAN is true for `true` in any case and false for
//! anything else; INT / BIGINT / DATE (epoch days) / TIME (ms of the day) /
//! TIMESTAMP (epoch ms) are plain integers; DOUBLE as `Double.parseDouble`;
//! DECIMAL rounded HALF_UP to the column's scale; BYTES base64.
//!
//! **Writing** prints DOUBLE as Java's `Double.toString` (`1.0`, `1.0E10`),
//! DECIMAL in plain notation with its scale's digits, BYTES as base64, times
//! as integers, and null as an empty field. Fields are quoted with Commons
//! CSV's (old) minimal-quoting rules, which ksqlDB's output shows: an empty
//! or non-alphanumeric-starting first field (so `"-10"` first, `-10`
//! elsewhere), any field starting with a character up to `#`, containing a
//! quote, the delimiter, CR or LF, or ending in a character up to space.
//!
//! Only primitive types are supported: ARRAY, MAP and STRUCT columns are
//! rejected when the codec is built.

use crate::error::{Error, Result};
use crate::formats::json::{decimal_value, decode_base64, parse_decimal, parse_java_double};
use crate::formats::Codec;
use crate::types::{Column, SqlType, Value};
use base64::Engine as _;
use std::borrow::Cow;
use std::fmt::Write as _;

/// Milliseconds in a day: the upper bound of a TIME value.
const MS_PER_DAY: i64 = 86_400_000;

/// The quote character of the format.
const QUOTE: char = '"';

/// Codec for the DELIMITED format.
pub struct DelimitedCodec {
    columns: Vec<Column>,
    delimiter: char,
}

/// The base name of a type as ksqlDB's messages show it (`DECIMAL`, not
/// `DECIMAL(4, 2)`; `ARRAY`, not `ARRAY<INT>`).
pub(crate) fn base_type_name(ty: &SqlType) -> &'static str {
    match ty {
        SqlType::Boolean => "BOOLEAN",
        SqlType::Int => "INTEGER",
        SqlType::BigInt => "BIGINT",
        SqlType::Double => "DOUBLE",
        SqlType::Decimal(..) => "DECIMAL",
        SqlType::String => "STRING",
        SqlType::Bytes => "BYTES",
        SqlType::Date => "DATE",
        SqlType::Time => "TIME",
        SqlType::Timestamp => "TIMESTAMP",
        SqlType::Array(_) => "ARRAY",
        SqlType::Map(..) => "MAP",
        SqlType::Struct(_) => "STRUCT",
        SqlType::Null => "NULL",
        SqlType::Any | SqlType::Custom(_) => "ANY",
    }
}

impl DelimitedCodec {
    /// A codec for `columns` separated by `delimiter`. Fails (a plan error)
    /// for a non-primitive column type or an unusable delimiter (the quote
    /// character or a line break).
    pub fn new(columns: Vec<Column>, delimiter: char) -> Result<Self> {
        if matches!(delimiter, QUOTE | '\n' | '\r') {
            return Err(Error::plan(format!(
                "Invalid delimiter value: '{}'. The delimiter cannot be a double quote or a line break",
                delimiter.escape_default()
            )));
        }
        for c in &columns {
            match c.ty {
                SqlType::Boolean
                | SqlType::Int
                | SqlType::BigInt
                | SqlType::Double
                | SqlType::Decimal(..)
                | SqlType::String
                | SqlType::Bytes
                | SqlType::Date
                | SqlType::Time
                | SqlType::Timestamp => {}
                ref other => {
                    return Err(Error::plan(format!(
                        "The 'DELIMITED' format does not support type '{}', column: `{}`",
                        base_type_name(other),
                        c.name.replace('`', "``")
                    )))
                }
            }
        }
        Ok(DelimitedCodec { columns, delimiter })
    }

    /// Parses one field's text as column `i`'s type.
    fn parse_field(&self, i: usize, text: &str) -> Result<Value> {
        if text.is_empty() {
            return Ok(Value::Null);
        }
        let col = &self.columns[i];
        let bad = |detail: String| {
            Error::format(format!(
                "Error deserializing delimited: field {} (`{}` {}): {detail}",
                i + 1,
                col.name,
                col.ty
            ))
        };
        let input = || format!("For input string: \"{text}\"");
        Ok(match &col.ty {
            SqlType::Boolean => Value::Bool(text.eq_ignore_ascii_case("true")),
            SqlType::Int => Value::Int(text.parse().map_err(|_| bad(input()))?),
            SqlType::BigInt => Value::BigInt(text.parse().map_err(|_| bad(input()))?),
            SqlType::Double => Value::Double(parse_java_double(text).ok_or_else(|| bad(input()))?),
            SqlType::Decimal(p, s) => {
                if parse_decimal(text).is_none() && !looks_numeric(text) {
                    return Err(bad(format!("Invalid decimal value: \"{text}\"")));
                }
                decimal_value(text, *p, *s).map_err(bad)?
            }
            SqlType::String => Value::String(text.to_string()),
            SqlType::Bytes => Value::Bytes(decode_base64(text).ok_or_else(|| {
                bad(format!(
                    "Value is not a valid Base64 encoded string: {text}"
                ))
            })?),
            SqlType::Date => Value::Date(text.parse().map_err(|_| bad(input()))?),
            SqlType::Time => {
                let ms: i64 = text.parse().map_err(|_| bad(input()))?;
                if !(0..=MS_PER_DAY).contains(&ms) {
                    return Err(bad(format!(
                        "Time values must use number of milliseconds greater than 0 and less than {MS_PER_DAY}."
                    )));
                }
                Value::Time(ms)
            }
            SqlType::Timestamp => Value::Timestamp(text.parse().map_err(|_| bad(input()))?),
            other => {
                return Err(bad(format!(
                    "The 'DELIMITED' format does not support type '{}'",
                    base_type_name(other)
                )))
            }
        })
    }
}

/// True for text shaped like a decimal literal (so a failed parse means it
/// is out of range rather than malformed).
fn looks_numeric(text: &str) -> bool {
    !text.is_empty()
        && text.bytes().any(|b| b.is_ascii_digit())
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
}

/// Splits the first record of `text` into fields, with Commons CSV's lexer
/// rules (see the module docs). Returns None when there is no record.
fn split_record(text: &str, delimiter: char) -> Result<Option<Vec<Cow<'_, str>>>> {
    let text = text.trim_start_matches(['\r', '\n']);
    if text.is_empty() {
        return Ok(None);
    }
    let mut fields: Vec<Cow<'_, str>> = Vec::new();
    let mut rest = text;
    loop {
        if let Some(after_quote) = rest.strip_prefix(QUOTE) {
            // Quoted field.
            let mut value = String::new();
            let mut s = after_quote;
            loop {
                match s.find(QUOTE) {
                    None => {
                        return Err(Error::format(
                            "Error deserializing delimited: EOF reached before encapsulated token finished",
                        ))
                    }
                    Some(i) => {
                        value.push_str(&s[..i]);
                        s = &s[i + 1..];
                        if let Some(more) = s.strip_prefix(QUOTE) {
                            value.push(QUOTE);
                            s = more;
                        } else {
                            break;
                        }
                    }
                }
            }
            fields.push(Cow::Owned(value));
            // Only whitespace may follow the closing quote.
            let mut chars = s.char_indices();
            loop {
                match chars.next() {
                    None => return Ok(Some(fields)),
                    Some((i, c)) if c == delimiter => {
                        rest = &s[i + c.len_utf8()..];
                        break;
                    }
                    Some((_, '\r' | '\n')) => return Ok(Some(fields)),
                    Some((_, c)) if c.is_whitespace() => continue,
                    Some((_, c)) => {
                        return Err(Error::format(format!(
                            "Error deserializing delimited: invalid char between encapsulated token and delimiter: '{c}'"
                        )))
                    }
                }
            }
        } else {
            // Plain field: up to the delimiter or the end of the line.
            match rest.find([delimiter, '\r', '\n']) {
                None => {
                    fields.push(Cow::Borrowed(rest));
                    return Ok(Some(fields));
                }
                Some(i) => {
                    fields.push(Cow::Borrowed(&rest[..i]));
                    let c = rest[i..].chars().next().unwrap_or(delimiter);
                    if c != delimiter {
                        return Ok(Some(fields));
                    }
                    rest = &rest[i + c.len_utf8()..];
                }
            }
        }
    }
}

/// Whether Commons CSV's minimal quoting quotes `value` (non-null), `first`
/// when it starts the record.
fn needs_quotes(value: &str, first: bool, delimiter: char) -> bool {
    let Some(c) = value.chars().next() else {
        return first;
    };
    if first && !c.is_ascii_alphanumeric() {
        return true;
    }
    if c <= '#' {
        return true;
    }
    if value.contains(['\n', '\r', QUOTE, delimiter]) {
        return true;
    }
    value.chars().next_back().is_some_and(|last| last <= ' ')
}

/// Writes `v` as field text.
fn field_text(v: &Value) -> Option<Cow<'_, str>> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Value::String(s) => Cow::Borrowed(s.as_str()),
        Value::Bytes(b) => Cow::Owned(base64::engine::general_purpose::STANDARD.encode(b)),
        Value::Date(d) => Cow::Owned(d.to_string()),
        Value::Time(t) | Value::Timestamp(t) => Cow::Owned(t.to_string()),
        Value::Double(d) => Cow::Owned(java_double(*d)),
        // Plain decimals and integers: the Display form.
        other => Cow::Owned(other.to_string()),
    })
}

/// A double as Java's `Double.toString` prints it: shortest digits that read
/// back as the same double (but two digits when a two-digit decimal is
/// closer, as for `4.9E-324`), plain between 10^-3 and 10^7 with at least
/// one fractional digit, `d.dddE[-]n` outside.
fn java_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0.0" } else { "0.0" }.to_string();
    }
    let mut sci = format!("{:e}", v.abs());
    if !sci.contains('.') {
        let two = format!("{:.1e}", v.abs());
        if two.parse::<f64>().is_ok_and(|t| t == v.abs()) {
            sci = two;
        }
    }
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    let mut out = String::with_capacity(digits.len() + 8);
    if v < 0.0 {
        out.push('-');
    }
    if (1e-3..1e7).contains(&v.abs()) {
        let int_digits = exp + 1;
        if int_digits <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-int_digits) as usize));
            out.push_str(&digits);
        } else if int_digits as usize >= digits.len() {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', int_digits as usize - digits.len()));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..int_digits as usize]);
            out.push('.');
            out.push_str(&digits[int_digits as usize..]);
        }
    } else {
        out.push_str(&digits[..1]);
        out.push('.');
        out.push_str(if digits.len() > 1 { &digits[1..] } else { "0" });
        let _ = write!(out, "E{exp}");
    }
    out
}

impl Codec for DelimitedCodec {
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
        let mut out = String::with_capacity(16 * values.len());
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                out.push(self.delimiter);
            }
            if matches!(v, Value::Array(_) | Value::Map(_) | Value::Struct(_)) {
                return Err(Error::format(format!(
                    "Error serializing CSV message: the 'DELIMITED' format does not support type '{}'",
                    base_type_name(&v.natural_type())
                )));
            }
            let Some(text) = field_text(v) else { continue };
            if needs_quotes(&text, i == 0, self.delimiter) {
                out.push(QUOTE);
                for (j, part) in text.split(QUOTE).enumerate() {
                    if j > 0 {
                        out.push_str("\"\"");
                    }
                    out.push_str(part);
                }
                out.push(QUOTE);
            } else {
                let _ = write!(out, "{text}");
            }
        }
        Ok(Some(out.into_bytes()))
    }

    fn decode(&self, bytes: Option<&[u8]>) -> Result<Option<Vec<Value>>> {
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        if self.columns.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let text = String::from_utf8_lossy(bytes);
        let fields = split_record(&text, self.delimiter)?
            .ok_or_else(|| Error::format("Error deserializing delimited: No fields in record"))?;
        if fields.len() != self.columns.len() {
            return Err(Error::format(format!(
                "Unexpected field count, csvFields:{} schemaFields:{}",
                fields.len(),
                self.columns.len()
            )));
        }
        fields
            .iter()
            .enumerate()
            .map(|(i, f)| self.parse_field(i, f))
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ColumnKind, Decimal};

    fn codec(types: &[SqlType], delimiter: char) -> DelimitedCodec {
        let cols = types
            .iter()
            .enumerate()
            .map(|(i, t)| Column::new(format!("C{i}"), t.clone(), ColumnKind::Value))
            .collect();
        DelimitedCodec::new(cols, delimiter).unwrap()
    }

    fn dec(s: &str) -> Value {
        Value::Decimal(Decimal::parse(s).unwrap())
    }

    fn enc(c: &DelimitedCodec, v: &[Value]) -> String {
        String::from_utf8(c.encode(v).unwrap().unwrap()).unwrap()
    }

    fn dec_row(c: &DelimitedCodec, s: &str) -> Result<Option<Vec<Value>>> {
        c.decode(Some(s.as_bytes()))
    }

    #[test]
    fn round_trip_primitives() {
        let c = codec(
            &[
                SqlType::BigInt,
                SqlType::String,
                SqlType::Int,
                SqlType::Double,
                SqlType::Boolean,
                SqlType::Decimal(6, 4),
                SqlType::Bytes,
                SqlType::Date,
                SqlType::Time,
                SqlType::Timestamp,
            ],
            ',',
        );
        let row = vec![
            Value::BigInt(0),
            Value::String("zero".into()),
            Value::Int(-5),
            Value::Double(1e10),
            Value::Bool(true),
            dec("10.0000"),
            Value::Bytes(vec![0x21]),
            Value::Date(-10),
            Value::Time(10),
            Value::Timestamp(1_000),
        ];
        let text = enc(&c, &row);
        assert_eq!(text, "0,zero,-5,1.0E10,true,10.0000,IQ==,-10,10,1000");
        assert_eq!(dec_row(&c, &text).unwrap(), Some(row));
    }

    #[test]
    fn quoting_follows_commons_csv() {
        let c = codec(&[SqlType::String, SqlType::String, SqlType::String], ',');
        let s = |x: &str| Value::String(x.into());
        assert_eq!(enc(&c, &[s("-10"), s("-10"), s("a")]), "\"-10\",-10,a");
        assert_eq!(enc(&c, &[s("!"), s("#"), s("$")]), "\"!\",\"#\",$");
        assert_eq!(
            enc(&c, &[s("a,b"), s("say \"hi\""), s("x\ny")]),
            "\"a,b\",\"say \"\"hi\"\"\",\"x\ny\""
        );
        assert_eq!(enc(&c, &[s(""), s(""), s("t ")]), "\"\",,\"t \"");
        assert_eq!(enc(&c, &[Value::Null, Value::Null, s("é")]), ",,é");
        assert_eq!(enc(&c, &[s("é"), s("ok"), s("ok")]), "\"é\",ok,ok");
        // And it reads back.
        let row = dec_row(&c, "\"a,b\",\"say \"\"hi\"\"\" ,\"x\ny\"")
            .unwrap()
            .unwrap();
        assert_eq!(row, vec![s("a,b"), s("say \"hi\""), s("x\ny")]);
    }

    #[test]
    fn empty_fields_are_null_and_counts_must_match() {
        let c = codec(&[SqlType::BigInt, SqlType::Int], ',');
        assert_eq!(
            dec_row(&c, ",").unwrap(),
            Some(vec![Value::Null, Value::Null])
        );
        assert_eq!(
            dec_row(&c, "0,").unwrap(),
            Some(vec![Value::BigInt(0), Value::Null])
        );
        assert_eq!(
            dec_row(&c, "\"\",1").unwrap(),
            Some(vec![Value::Null, Value::Int(1)])
        );
        let err = dec_row(&c, "1,2,3").unwrap_err().to_string();
        assert_eq!(err, "Unexpected field count, csvFields:3 schemaFields:2");
        assert!(dec_row(&c, "1").is_err());
        assert!(dec_row(&c, "").is_err());
        assert_eq!(c.decode(None).unwrap(), None);
        // Only the first record counts; leading blank lines are skipped.
        assert_eq!(
            dec_row(&c, "\r\n1,2\r\n3").unwrap(),
            Some(vec![Value::BigInt(1), Value::Int(2)])
        );
        let s = codec(&[SqlType::String], ',');
        assert_eq!(
            dec_row(&s, " \t with space \t").unwrap(),
            Some(vec![Value::String(" \t with space \t".into())])
        );
        assert_eq!(
            dec_row(&s, "a\"b").unwrap(),
            Some(vec![Value::String("a\"b".into())])
        );
    }

    #[test]
    fn other_delimiters() {
        for d in ['|', '\t', ' ', '$', ';'] {
            let c = codec(&[SqlType::BigInt, SqlType::String, SqlType::Int], d);
            let text = format!("100{d}zero{d}500");
            let row = dec_row(&c, &text).unwrap().unwrap();
            assert_eq!(
                row,
                vec![
                    Value::BigInt(100),
                    Value::String("zero".into()),
                    Value::Int(500)
                ]
            );
            assert_eq!(enc(&c, &row), text);
        }
        let c = codec(&[SqlType::String, SqlType::String], ';');
        assert_eq!(
            dec_row(&c, "foo,bar;baz").unwrap().unwrap()[0],
            Value::String("foo,bar".into())
        );
        assert!(DelimitedCodec::new(vec![], '"').is_err());
    }

    #[test]
    fn java_parsing_rules() {
        let c = codec(&[SqlType::Boolean, SqlType::Double, SqlType::Int], ',');
        assert_eq!(
            dec_row(&c, "TRUE, 1.5d ,+7").unwrap(),
            Some(vec![Value::Bool(true), Value::Double(1.5), Value::Int(7)])
        );
        assert_eq!(
            dec_row(&c, "yes,NaN,1").unwrap().unwrap()[0],
            Value::Bool(false)
        );
        let err = dec_row(&c, "true,1,abc").unwrap_err().to_string();
        assert!(err.contains("For input string: \"abc\""), "{err}");
        assert!(dec_row(&c, "true,x,1").is_err());
        assert!(dec_row(&c, "true,1, 1").is_err());
        assert!(codec(&[SqlType::Time], ',').decode(Some(b"-1")).is_err());
    }

    #[test]
    fn decimals() {
        let c = codec(&[SqlType::Decimal(33, 16)], ',');
        let row = dec_row(&c, "12345678987654321.2345678987654321")
            .unwrap()
            .unwrap();
        assert_eq!(enc(&c, &row), "12345678987654321.2345678987654321");
        let row = dec_row(&c, ".12").unwrap().unwrap();
        assert_eq!(enc(&c, &row), "0.1200000000000000");
        let row = dec_row(&c, "\"-12345.12\"").unwrap().unwrap();
        assert_eq!(enc(&c, &row), "\"-12345.1200000000000000\"");
        let small = codec(&[SqlType::Decimal(4, 2)], ',');
        assert_eq!(dec_row(&small, "1.005").unwrap(), Some(vec![dec("1.01")]));
        let err = dec_row(&small, "123").unwrap_err().to_string();
        assert!(err.contains("Numeric field overflow"), "{err}");
        assert!(dec_row(&small, "abc")
            .unwrap_err()
            .to_string()
            .contains("Invalid decimal"));
    }

    #[test]
    fn doubles_print_like_java() {
        let c = codec(
            &[
                SqlType::BigInt,
                SqlType::Double,
                SqlType::Double,
                SqlType::Double,
            ],
            ',',
        );
        let row = [
            Value::BigInt(0),
            Value::Double(4.9e-324),
            Value::Double(-1.7976931348623157e308),
            Value::Double(532.8738323),
        ];
        assert_eq!(
            enc(&c, &row),
            "0,4.9E-324,-1.7976931348623157E308,532.8738323"
        );
        for (v, s) in [
            (1.0, "1.0"),
            (100.0, "100.0"),
            (0.5, "0.5"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1e7, "1.0E7"),
            (9999999.0, "9999999.0"),
            (-1.25e-5, "-1.25E-5"),
            (1e21, "1.0E21"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
            (-0.0, "-0.0"),
        ] {
            assert_eq!(java_double(v), s);
        }
    }

    #[test]
    fn rejects_complex_types() {
        for (ty, name) in [
            (SqlType::Array(Box::new(SqlType::Int)), "ARRAY"),
            (
                SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Int)),
                "MAP",
            ),
            (SqlType::Struct(vec![("F".into(), SqlType::Int)]), "STRUCT"),
        ] {
            let err = DelimitedCodec::new(vec![Column::new("K", ty, ColumnKind::Key)], ',')
                .err()
                .unwrap()
                .to_string();
            assert_eq!(
                err,
                format!("The 'DELIMITED' format does not support type '{name}', column: `K`")
            );
        }
    }

    #[test]
    fn no_columns_and_bad_quotes() {
        let c = codec(&[], ',');
        assert_eq!(c.encode(&[]).unwrap(), None);
        assert_eq!(c.decode(Some(b"x")).unwrap(), Some(vec![]));
        let s = codec(&[SqlType::String, SqlType::String], ',');
        assert!(dec_row(&s, "\"abc,d").is_err());
        assert!(dec_row(&s, "\"abc\"x,d").is_err());
        assert!(s.encode(&[Value::Null]).is_err());
    }
}
