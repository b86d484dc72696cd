//! Tests of the JSON codec: decoding with its coercions, encoding, errors.

use super::coerce::number_to_i64;
use super::read::MAX_DEPTH;
use super::*;
use crate::types::ColumnKind;
use crate::types::Decimal;
use serde_json::json;

fn col(name: &str, ty: SqlType) -> Column {
    Column::new(name, ty, ColumnKind::Value)
}

fn dec(s: &str) -> Value {
    Value::Decimal(Decimal::parse(s).unwrap())
}

#[test]
fn string_escapes_at_every_position() {
    // The escape scan looks at eight bytes at a time: put each special
    // character at every offset around those boundaries.
    let naive = |s: &str| {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    };
    for special in ['"', '\\', '\n', '\u{1}', '\u{1f}', '\u{7f}', 'é', ' '] {
        for len in 0..20 {
            for at in 0..=len {
                let mut s: String = "abcdefghijklmnopqrstuvwxyz".chars().take(len).collect();
                s.insert(at, special);
                let mut out = String::new();
                write_json_string(&mut out, &s);
                assert_eq!(out, naive(&s), "{s:?}");
                // And it reads back.
                let back = json_text_to_value(&out, &SqlType::String).unwrap();
                assert_eq!(back, Value::String(s.clone()));
            }
        }
    }
}

#[test]
fn integers_read_in_one_pass_match_the_general_path() {
    for text in [
        "0",
        "-0",
        "7",
        "-7",
        "123456789012345678",
        "-123456789012345678",
        "1234567890123456789",
        "9223372036854775807",
        "-9223372036854775808",
        "99999999999999999999",
        "1.5",
        "-2.9",
        "1e3",
        "10E2",
        "0.0",
    ] {
        let v = json_text_to_value(text, &SqlType::BigInt).unwrap();
        assert_eq!(v, Value::BigInt(number_to_i64(text)), "{text}");
    }
    for bad in ["-", "1.", "1e"] {
        assert!(json_text_to_value(bad, &SqlType::BigInt).is_err(), "{bad}");
    }
    // A leading zero ends the number (what follows is left unread).
    let mut r = Reader::new("01");
    assert_eq!(r.typed(&SqlType::BigInt).unwrap(), Value::BigInt(0));
    assert_eq!(r.pos, 1);
}

#[test]
fn hinted_field_lookup_matches_the_plain_one() {
    let cols =
        |names: &[&str]| -> Vec<Column> { names.iter().map(|n| col(n, SqlType::Int)).collect() };
    for names in [
        &["A", "BB", "C_1", "DATE_TIME"][..],
        &["A", "a", "Bb"][..],
        &["X", "X"][..],
    ] {
        let codec = JsonCodec::new(cols(names), false);
        for key in [
            "a",
            "A",
            "bb",
            "BB",
            "Bb",
            "c_1",
            "C_1",
            "date_time",
            "x",
            "X",
            "zz",
            "é",
        ] {
            for hint in 0..=names.len() {
                assert_eq!(
                    codec.lookup_from(key, hint),
                    codec.lookup(key),
                    "{names:?} {key} {hint}"
                );
            }
        }
    }
}

fn decode(c: &JsonCodec, s: &str) -> Result<Option<Vec<Value>>> {
    c.decode(Some(s.as_bytes()))
}

fn encode(c: &JsonCodec, v: Vec<Value>) -> String {
    String::from_utf8(c.encode(&v).unwrap().unwrap()).unwrap()
}

fn one(ty: SqlType, text: &str) -> Result<Value> {
    json_text_to_value(text, &ty)
}

#[test]
fn wrapped_round_trip_and_case_insensitive_names() {
    let c = JsonCodec::new(
        vec![
            col("ID", SqlType::BigInt),
            col("NAME", SqlType::String),
            col("PRICE", SqlType::Decimal(4, 2)),
        ],
        false,
    );
    let row = decode(
        &c,
        r#"{"id": 1, "Name": "x", "extra": [1, {"a": 2}], "price": 10.5}"#,
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        row,
        vec![Value::BigInt(1), Value::String("x".into()), dec("10.50")]
    );
    assert_eq!(encode(&c, row), r#"{"ID":1,"NAME":"x","PRICE":10.50}"#);
    // Missing fields are null; `{}` is a row of nulls.
    let row = decode(&c, "{}").unwrap().unwrap();
    assert!(row.iter().all(Value::is_null));
    assert_eq!(encode(&c, row), r#"{"ID":null,"NAME":null,"PRICE":null}"#);
}

#[test]
fn quoted_columns_match_exactly_and_exact_beats_upper() {
    let c = JsonCodec::new(
        vec![col("with.dot", SqlType::String), col("V", SqlType::Int)],
        false,
    );
    let row = decode(
        &c,
        r#"{"WITH.DOT": "no", "with.dot": "yes", "v": 1, "V": 2, "v": 3}"#,
    )
    .unwrap()
    .unwrap();
    assert_eq!(row, vec![Value::String("yes".into()), Value::Int(2)]);
    let row = decode(&c, r#"{"With.Dot": "no"}"#).unwrap().unwrap();
    assert_eq!(row[0], Value::Null);
}

#[test]
fn many_columns_use_the_hashed_lookup() {
    let cols: Vec<Column> = (0..40)
        .map(|i| col(&format!("C{i}"), SqlType::Int))
        .collect();
    let c = JsonCodec::new(cols, false);
    let row = decode(&c, r#"{"c7": 7, "C39": 39, "C7": 70}"#)
        .unwrap()
        .unwrap();
    assert_eq!(row[7], Value::Int(70));
    assert_eq!(row[39], Value::Int(39));
    assert_eq!(row[0], Value::Null);
}

#[test]
fn null_and_absent_records() {
    let c = JsonCodec::new(vec![col("A", SqlType::Int)], false);
    assert_eq!(c.decode(None).unwrap(), None);
    assert_eq!(decode(&c, " null ").unwrap(), None);
    let u = JsonCodec::new(vec![col("A", SqlType::Int)], true);
    assert_eq!(decode(&u, "null").unwrap(), None);
    assert_eq!(u.encode(&[Value::Null]).unwrap(), None);
    assert!(decode(&c, "").is_err());
    let none = JsonCodec::new(vec![], false);
    assert_eq!(none.encode(&[]).unwrap(), None);
    assert_eq!(decode(&none, "whatever").unwrap(), Some(vec![]));
}

#[test]
fn unwrapped_values() {
    let u = JsonCodec::new(
        vec![col("V", SqlType::Array(Box::new(SqlType::String)))],
        true,
    );
    let row = decode(&u, r#"["a", 1, null, true]"#).unwrap().unwrap();
    assert_eq!(
        row,
        vec![Value::Array(vec![
            Value::String("a".into()),
            Value::String("1".into()),
            Value::Null,
            Value::String("true".into()),
        ])]
    );
    assert_eq!(encode(&u, row), r#"["a","1",null,"true"]"#);
    let s = JsonCodec::new(
        vec![col(
            "K",
            SqlType::Struct(vec![("F".into(), SqlType::Double)]),
        )],
        true,
    );
    let row = decode(&s, r#"{"f": 45.67}"#).unwrap().unwrap();
    assert_eq!(encode(&s, row), r#"{"F":45.67}"#);
    // An unwrapped primitive does not accept an object.
    let p = JsonCodec::new(vec![col("FOO", SqlType::Int)], true);
    let err = decode(&p, r#"{"FOO": 1}"#).unwrap_err().to_string();
    assert_eq!(
        err,
        "Can't convert type. sourceType: ObjectNode, requiredType: INTEGER, path: $"
    );
}

#[test]
fn lenient_numbers() {
    assert_eq!(one(SqlType::Int, "1.9").unwrap(), Value::Int(1));
    assert_eq!(one(SqlType::Int, "-1.9").unwrap(), Value::Int(-1));
    assert_eq!(one(SqlType::Int, "\"42\"").unwrap(), Value::Int(42));
    assert_eq!(one(SqlType::Int, "4294967297").unwrap(), Value::Int(1));
    assert_eq!(one(SqlType::BigInt, "1e3").unwrap(), Value::BigInt(1000));
    assert_eq!(one(SqlType::BigInt, "\"-7\"").unwrap(), Value::BigInt(-7));
    assert_eq!(one(SqlType::Double, "1").unwrap(), Value::Double(1.0));
    assert_eq!(
        one(SqlType::Double, "\" 2.5 \"").unwrap(),
        Value::Double(2.5)
    );
    assert_eq!(one(SqlType::Date, "-10").unwrap(), Value::Date(-10));
    assert_eq!(one(SqlType::Time, "10").unwrap(), Value::Time(10));
    assert!(one(SqlType::Time, "-1").is_err());
    assert_eq!(
        one(SqlType::Timestamp, "\"1000\"").unwrap(),
        Value::Timestamp(1000)
    );
}

#[test]
fn decimals_keep_exact_digits() {
    let ty = SqlType::Decimal(21, 19);
    assert_eq!(
        one(ty.clone(), "10.1234512345123451234").unwrap(),
        dec("10.1234512345123451234")
    );
    assert_eq!(
        one(SqlType::Decimal(4, 2), "\"1.005\"").unwrap(),
        dec("1.01")
    );
    assert_eq!(one(SqlType::Decimal(4, 2), "-1.005").unwrap(), dec("-1.01"));
    assert_eq!(one(SqlType::Decimal(6, 4), "1E1").unwrap(), dec("10.0000"));
    assert_eq!(one(SqlType::Decimal(6, 4), "0e999").unwrap(), dec("0.0000"));
    let err = one(SqlType::Decimal(4, 2), "123.4")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("Numeric field overflow"), "{err}");
    assert!(one(SqlType::Decimal(4, 2), "1e99999").is_err());
    assert!(one(SqlType::Decimal(4, 2), "\"abc\"").is_err());
    let mut out = String::new();
    write_json(&mut out, &dec("-0.050"));
    assert_eq!(out, "-0.050");
}

#[test]
fn strings_from_anything() {
    assert_eq!(
        one(SqlType::String, "10").unwrap(),
        Value::String("10".into())
    );
    assert_eq!(
        one(SqlType::String, "1.50").unwrap(),
        Value::String("1.50".into())
    );
    assert_eq!(
        one(SqlType::String, "1e3").unwrap(),
        Value::String("1E+3".into())
    );
    assert_eq!(
        one(SqlType::String, "0.0000001").unwrap(),
        Value::String("1E-7".into())
    );
    assert_eq!(
        one(SqlType::String, "false").unwrap(),
        Value::String("false".into())
    );
    assert_eq!(
        one(SqlType::String, r#"{ "a" : [1, "x\n"], "b": {} }"#).unwrap(),
        Value::String(r#"{"a":[1,"x\n"],"b":{}}"#.into())
    );
    assert_eq!(
        one(SqlType::String, r#"[1, [2, "a"], null, {"k":1.0}]"#).unwrap(),
        Value::String(r#"[1, [2, a], null, {"k":1.0}]"#.into())
    );
    assert_eq!(
        one(SqlType::String, r#""\u00e9\ud83d\ude00\"""#).unwrap(),
        Value::String("é😀\"".into())
    );
}

#[test]
fn conversion_errors_name_the_source_and_path() {
    let c = JsonCodec::new(
        vec![
            col("A", SqlType::Int),
            col(
                "S",
                SqlType::Struct(vec![("L".into(), SqlType::Array(Box::new(SqlType::Int)))]),
            ),
        ],
        false,
    );
    let err = decode(&c, r#"{"A": "abc"}"#).unwrap_err().to_string();
    assert_eq!(
        err,
        "Can't coerce string to type. targetType: INTEGER, path: $.A"
    );
    let err = decode(&c, r#"{"A": 1, "S": {"l": [1, true]}}"#)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "Can't convert type. sourceType: BooleanNode, requiredType: INTEGER, path: $.S.L[1]"
    );
    let err = decode(&c, "[1]").unwrap_err().to_string();
    assert!(err.starts_with("Can't convert type. sourceType: ArrayNode, requiredType: STRUCT<"));
    assert!(one(SqlType::Boolean, "\"true\"").is_err());
    assert!(one(SqlType::Bytes, "\"!!\"").is_err());
    // A bad field is ignored when a better-matching field follows.
    let row = decode(&c, r#"{"a": "x", "A": 5}"#).unwrap().unwrap();
    assert_eq!(row[0], Value::Int(5));
}

#[test]
fn syntax_errors() {
    let c = JsonCodec::new(vec![col("A", SqlType::Int)], false);
    for bad in [
        r#"{"A": 1,}"#,
        r#"{"A": 01}"#,
        r#"{"A" 1}"#,
        r#"{"A": [1}"#,
        "{\"A\": \"\u{1}\"}",
        "{",
    ] {
        let err = decode(&c, bad).unwrap_err().to_string();
        assert!(err.starts_with("Invalid JSON"), "{bad}: {err}");
    }
    // Unknown fields are still checked.
    assert!(decode(&c, r#"{"B": tru}"#).is_err());
    let deep = "[".repeat(MAX_DEPTH + 10);
    let u = JsonCodec::new(vec![col("A", SqlType::String)], true);
    assert!(decode(&u, &deep).is_err());
}

#[test]
fn maps_structs_and_bytes() {
    let ty = SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Int));
    let v = one(ty.clone(), r#"{"a": 1, "b": null, "a": 3}"#).unwrap();
    assert_eq!(
        v,
        Value::Map(vec![
            (Value::String("a".into()), Value::Int(3)),
            (Value::String("b".into()), Value::Null),
        ])
    );
    let big: String = format!(
        "{{{}}}",
        (0..20)
            .map(|i| format!("\"k{}\": {i}", i % 10))
            .collect::<Vec<_>>()
            .join(",")
    );
    match one(ty, &big).unwrap() {
        Value::Map(e) => assert_eq!(e.len(), 10),
        other => panic!("{other:?}"),
    }
    let st = SqlType::Struct(vec![
        ("X".into(), SqlType::Bytes),
        ("y".into(), SqlType::Boolean),
    ]);
    let v = one(st, r#"{"x": "AQI=", "y": true, "Y": false}"#).unwrap();
    assert_eq!(
        v,
        Value::Struct(vec![
            ("X".into(), Value::Bytes(vec![1, 2])),
            ("y".into(), Value::Bool(true)),
        ])
    );
    let mut out = String::new();
    write_json(&mut out, &v);
    assert_eq!(out, r#"{"X":"AQI=","y":true}"#);
}

#[test]
fn doubles_and_special_values() {
    let mut out = String::new();
    for v in [1.0, 1e21, 0.1, -2.5e-8, f64::NAN, f64::NEG_INFINITY] {
        out.clear();
        write_json(&mut out, &Value::Double(v));
        let back = one(SqlType::Double, &out).unwrap();
        match back {
            Value::Double(b) => assert!(b == v || (b.is_nan() && v.is_nan()), "{out}"),
            other => panic!("{other:?}"),
        }
    }
    out.clear();
    write_json(&mut out, &Value::Double(1.0));
    assert_eq!(out, "1.0");
}

#[test]
fn json_value_helpers_round_trip() {
    let ty = SqlType::Struct(vec![
        ("A".into(), SqlType::Array(Box::new(SqlType::Decimal(4, 2)))),
        (
            "M".into(),
            SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Double)),
        ),
        ("B".into(), SqlType::Bytes),
        ("T".into(), SqlType::Timestamp),
        ("S".into(), SqlType::String),
    ]);
    let j = json!({"a": [10.5, "1.25", null], "m": {"x": 1.5}, "b": "AQ==", "t": 5, "s": "q\""});
    let v = json_to_value(&j, &ty).unwrap();
    assert_eq!(
        value_to_json(&v),
        json!({"A": [10.5, 1.25, null], "M": {"x": 1.5}, "B": "AQ==", "T": 5, "S": "q\""})
    );
    assert_eq!(
        json_to_value(&json!(null), &SqlType::Int).unwrap(),
        Value::Null
    );
    assert_eq!(value_to_json(&dec("12")), json!(12));
    assert_eq!(value_to_json(&Value::Double(f64::NAN)), json!("NaN"));
    let any = json_to_value(&json!({"k": [1, 2.5, "s"]}), &SqlType::Any).unwrap();
    assert_eq!(value_to_json(&any), json!({"k": [1, 2.5, "s"]}));
}

#[test]
fn json_sr_header_is_skipped() {
    let c = JsonCodec::new(vec![col("A", SqlType::Int)], false);
    let mut bytes = vec![0u8, 0, 0, 0, 7];
    bytes.extend_from_slice(br#"{"A": 3}"#);
    assert_eq!(c.decode(Some(&bytes)).unwrap(), Some(vec![Value::Int(3)]));
}

#[test]
fn string_escaping() {
    let mut out = String::new();
    write_json_string(&mut out, "a\"b\\c\n\u{1}é");
    assert_eq!(out, "\"a\\\"b\\\\c\\n\\u0001é\"");
    assert_eq!(
        one(SqlType::String, &out).unwrap(),
        Value::String("a\"b\\c\n\u{1}é".into())
    );
}
