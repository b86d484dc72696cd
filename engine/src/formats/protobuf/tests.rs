//! Tests of the PROTOBUF codec: encoding, decoding, schema text.

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
