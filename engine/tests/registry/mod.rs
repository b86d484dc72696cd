//! The local schema registry: ids, versions, Avro compatibility at every
//! level, references, soft and hard deletes with Confluent's error codes,
//! and its state surviving a restart through the `_schemas` topic.

use sluice_engine::log::{EmbeddedLog, Log};
use sluice_engine::registry::{
    codes, Compatibility, LocalRegistry, Schema, SchemaReference, SchemaRegistry, SchemaType,
    VersionSpec, SCHEMAS_TOPIC,
};
use sluice_engine::Error;
use std::sync::Arc;

fn registry() -> LocalRegistry {
    LocalRegistry::open(Arc::new(EmbeddedLog::in_memory())).expect("registry opens")
}

fn code<T: std::fmt::Debug>(r: Result<T, Error>) -> u32 {
    match r {
        Err(Error::Registry(e)) => e.code,
        other => panic!("expected a registry error, got {other:?}"),
    }
}

fn record(fields: &str) -> Schema {
    Schema::avro(format!(
        r#"{{"type":"record","name":"Pageview","namespace":"demo","fields":[{fields}]}}"#
    ))
}

const V1: &str = r#"{"name":"page","type":"string"}"#;
const V2_DEFAULT: &str =
    r#"{"name":"page","type":"string"},{"name":"ms","type":["null","long"],"default":null}"#;
const V2_NO_DEFAULT: &str = r#"{"name":"page","type":"string"},{"name":"ms","type":"long"}"#;

#[test]
fn the_same_schema_gets_the_same_id_everywhere() {
    let r = registry();
    let id = r.register("pv-value", &record(V1)).unwrap();
    assert_eq!(r.register("pv-value", &record(V1)).unwrap(), id);
    // White space does not make another schema.
    let spaced = Schema::avro(
        r#"{ "type": "record", "name": "Pageview", "namespace": "demo",
             "fields": [ {"name": "page", "type": "string"} ] }"#,
    );
    assert_eq!(r.register("pv-value", &spaced).unwrap(), id);
    assert_eq!(r.versions("pv-value", false).unwrap(), vec![1]);
    assert_eq!(r.register("other-value", &record(V1)).unwrap(), id);
    let id2 = r.register("pv-value", &record(V2_DEFAULT)).unwrap();
    assert_ne!(id2, id);
    assert_eq!(r.versions("pv-value", false).unwrap(), vec![1, 2]);
    let latest = r.version("pv-value", VersionSpec::Latest, false).unwrap();
    assert_eq!((latest.version, latest.id), (2, id2));
    assert_eq!(
        r.id_versions(id).unwrap(),
        vec![("other-value".to_string(), 1), ("pv-value".to_string(), 1)]
    );
    assert_eq!(r.schema_by_id(id2).unwrap().schema, latest.schema.schema);
    assert_eq!(
        r.subjects(false).unwrap(),
        vec!["other-value".to_string(), "pv-value".to_string()]
    );
    let found = r.lookup("pv-value", &spaced, false).unwrap();
    assert_eq!((found.version, found.id), (1, id));
    assert_eq!(
        code(r.lookup("pv-value", &record(V2_NO_DEFAULT), false)),
        codes::SCHEMA_NOT_FOUND
    );
    assert_eq!(code(r.schema_by_id(99)), codes::SCHEMA_NOT_FOUND);
    assert_eq!(code(r.versions("nope", false)), codes::SUBJECT_NOT_FOUND);
    assert_eq!(
        code(r.version("pv-value", VersionSpec::Number(7), false)),
        codes::VERSION_NOT_FOUND
    );
}

#[test]
fn invalid_schemas_are_42201() {
    let r = registry();
    for bad in [
        "not json",
        r#"{"type":"record","name":"R"}"#,
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"nosuch"}]}"#,
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"x"}]}"#,
        r#"["null",["int","long"]]"#,
        r#"["int","int"]"#,
        r#"{"type":"enum","name":"E","symbols":["A","A"]}"#,
        r#"{"type":"record","name":"1R","fields":[]}"#,
    ] {
        assert_eq!(
            code(r.register("s", &Schema::avro(bad))),
            codes::INVALID_SCHEMA,
            "{bad}"
        );
    }
    let json = Schema {
        schema_type: SchemaType::Json,
        schema: "[1,2]".into(),
        references: vec![],
    };
    assert_eq!(code(r.register("j", &json)), codes::INVALID_SCHEMA);
    let proto = Schema {
        schema_type: SchemaType::Protobuf,
        schema: "syntax = \"proto3\"; message M { string a = 1; ".into(),
        references: vec![],
    };
    assert_eq!(code(r.register("p", &proto)), codes::INVALID_SCHEMA);
    assert!(r.subjects(true).unwrap().is_empty());
}

#[test]
fn backward_is_the_default_and_checks_the_new_schema_reads_the_old() {
    let r = registry();
    assert_eq!(
        r.compatibility(None).unwrap(),
        Some(Compatibility::Backward)
    );
    r.register("s", &record(V1)).unwrap();
    // A new field without a default cannot be read from old records.
    assert_eq!(
        code(r.register("s", &record(V2_NO_DEFAULT))),
        codes::INCOMPATIBLE_SCHEMA
    );
    let reasons = r
        .check_compatibility("s", Some(VersionSpec::Latest), &record(V2_NO_DEFAULT))
        .unwrap();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].contains("ms"), "{reasons:?}");
    r.register("s", &record(V2_DEFAULT)).unwrap();
    // Removing a field is backward compatible.
    r.register("s", &record(V1))
        .unwrap_or_else(|e| panic!("{e}"));
    // int -> long is a promotion; long -> int is not.
    let r = registry();
    r.register("n", &record(r#"{"name":"x","type":"int"}"#))
        .unwrap();
    r.register("n", &record(r#"{"name":"x","type":"long"}"#))
        .unwrap();
    // (Registering a schema the subject holds returns its id, unchecked.)
    assert_eq!(
        r.register("n", &record(r#"{"name":"x","type":"int"}"#))
            .unwrap(),
        r.version("n", VersionSpec::Number(1), false).unwrap().id
    );
    r.register("m", &record(r#"{"name":"x","type":"long"}"#))
        .unwrap();
    assert_eq!(
        code(r.register("m", &record(r#"{"name":"x","type":"int"}"#))),
        codes::INCOMPATIBLE_SCHEMA
    );
    // A reader union reads a writer's plain type it has a branch for...
    r.register("m", &record(r#"{"name":"x","type":["null","long"]}"#))
        .unwrap();
    // ... and a plain type cannot read a writer's union with other branches.
    r.register("u", &record(r#"{"name":"x","type":["null","long"]}"#))
        .unwrap();
    assert_eq!(
        code(r.register("u", &record(r#"{"name":"x","type":"long"}"#))),
        codes::INCOMPATIBLE_SCHEMA,
        "a plain long cannot read a writer's null branch"
    );
}

#[test]
fn forward_full_and_none() {
    let r = registry();
    r.set_compatibility(Some("f"), Compatibility::Forward)
        .unwrap();
    r.register("f", &record(V2_DEFAULT)).unwrap();
    // FORWARD: old readers must read new data; dropping a field the old
    // schema has with a default is fine, adding a required one too.
    r.register("f", &record(V1)).unwrap();
    r.register("f", &record(V2_NO_DEFAULT)).unwrap();
    // ... but dropping a field the old reader needs without a default is not.
    let without_ms = record(r#"{"name":"page","type":"string"},{"name":"x","type":"int"}"#);
    assert_eq!(
        code(r.register("f", &without_ms)),
        codes::INCOMPATIBLE_SCHEMA
    );

    r.set_compatibility(Some("full"), Compatibility::Full)
        .unwrap();
    r.register("full", &record(V1)).unwrap();
    assert_eq!(
        code(r.register("full", &record(V2_NO_DEFAULT))),
        codes::INCOMPATIBLE_SCHEMA
    );
    r.register("full", &record(V2_DEFAULT)).unwrap();

    r.set_compatibility(Some("none"), Compatibility::None)
        .unwrap();
    r.register("none", &record(V1)).unwrap();
    r.register("none", &Schema::avro(r#""string""#)).unwrap();
    assert_eq!(r.versions("none", false).unwrap(), vec![1, 2]);
    assert_eq!(
        r.compatibility(Some("none")).unwrap(),
        Some(Compatibility::None)
    );
    assert_eq!(r.compatibility(Some("other")).unwrap(), None);
    assert_eq!(
        r.delete_compatibility(Some("none")).unwrap(),
        Compatibility::None
    );
    assert_eq!(r.compatibility(Some("none")).unwrap(), None);
    assert_eq!(
        code(r.delete_compatibility(Some("none"))),
        codes::SUBJECT_NOT_FOUND
    );
}

#[test]
fn transitive_levels_check_every_version() {
    let a = r#"{"name":"a","type":"string"}"#;
    let ab = r#"{"name":"a","type":"string"},{"name":"b","type":"int","default":0}"#;
    let a_b_nodefault = r#"{"name":"a","type":"string"},{"name":"b","type":"int"}"#;
    for (level, accepted) in [
        (Compatibility::Backward, true),
        (Compatibility::BackwardTransitive, false),
    ] {
        let r = registry();
        r.set_compatibility(None, level).unwrap();
        r.register("t", &record(a)).unwrap();
        r.register("t", &record(ab)).unwrap();
        // Reads v2 (which has b) but not v1 (which lacks it, no default).
        let third = r.register("t", &record(a_b_nodefault));
        assert_eq!(third.is_ok(), accepted, "{level:?}: {third:?}");
    }
}

#[test]
fn enums_records_and_recursion() {
    let e = |symbols: &str, default: &str| {
        Schema::avro(format!(
            r#"{{"type":"enum","name":"Color","symbols":[{symbols}]{default}}}"#
        ))
    };
    let r = registry();
    r.register("e", &e(r#""RED","GREEN""#, "")).unwrap();
    r.register("e", &e(r#""RED","GREEN","BLUE""#, "")).unwrap();
    assert_eq!(
        code(r.register("e", &e(r#""RED""#, ""))),
        codes::INCOMPATIBLE_SCHEMA
    );
    r.register("e", &e(r#""RED","OTHER""#, r#","default":"OTHER""#))
        .unwrap();
    // Record names must match.
    let other = Schema::avro(
        r#"{"type":"record","name":"Click","namespace":"demo","fields":[{"name":"page","type":"string"}]}"#,
    );
    r.register("rec", &record(V1)).unwrap();
    assert_eq!(code(r.register("rec", &other)), codes::INCOMPATIBLE_SCHEMA);
    // A recursive list type checks against itself without looping.
    let list = |extra: &str| {
        Schema::avro(format!(
            r#"{{"type":"record","name":"Node","fields":[{{"name":"v","type":"int"}},{{"name":"next","type":["null","Node"]}}{extra}]}}"#
        ))
    };
    r.register("list", &list("")).unwrap();
    r.register("list", &list(r#",{"name":"w","type":"long","default":1}"#))
        .unwrap();
    assert_eq!(
        code(r.register("list", &list(r#",{"name":"z","type":"long"}"#))),
        codes::INCOMPATIBLE_SCHEMA
    );
}

#[test]
fn references_resolve_named_types_of_other_subjects() {
    let r = registry();
    let address = Schema::avro(
        r#"{"type":"record","name":"Address","namespace":"demo","fields":[{"name":"city","type":"string"}]}"#,
    );
    r.register("address", &address).unwrap();
    let person = |refs: Vec<SchemaReference>| {
        Schema {
        schema_type: SchemaType::Avro,
        schema: r#"{"type":"record","name":"Person","namespace":"demo","fields":[{"name":"home","type":"demo.Address"}]}"#.into(),
        references: refs,
    }
    };
    assert_eq!(
        code(r.register("person", &person(vec![]))),
        codes::INVALID_SCHEMA
    );
    let good = vec![SchemaReference {
        name: "demo.Address".into(),
        subject: "address".into(),
        version: 1,
    }];
    let id = r.register("person", &person(good.clone())).unwrap();
    assert_eq!(r.schema_by_id(id).unwrap().references, good);
    let missing = vec![SchemaReference {
        version: 9,
        ..good[0].clone()
    }];
    assert_eq!(
        code(r.register("person2", &person(missing))),
        codes::INVALID_SCHEMA
    );
}

#[test]
fn soft_then_hard_deletes() {
    let r = registry();
    r.register("d", &record(V1)).unwrap();
    r.register("d", &record(V2_DEFAULT)).unwrap();
    assert_eq!(
        code(r.delete_version("d", VersionSpec::Number(1), true)),
        codes::VERSION_NOT_SOFT_DELETED
    );
    assert_eq!(
        r.delete_version("d", VersionSpec::Number(1), false)
            .unwrap(),
        1
    );
    assert_eq!(
        code(r.delete_version("d", VersionSpec::Number(1), false)),
        codes::VERSION_SOFT_DELETED
    );
    assert_eq!(r.versions("d", false).unwrap(), vec![2]);
    assert_eq!(r.versions("d", true).unwrap(), vec![1, 2]);
    assert_eq!(
        r.delete_version("d", VersionSpec::Number(1), true).unwrap(),
        1
    );
    assert_eq!(r.versions("d", true).unwrap(), vec![2]);
    assert_eq!(
        code(r.delete_subject("d", true)),
        codes::SUBJECT_NOT_SOFT_DELETED
    );
    assert_eq!(r.delete_subject("d", false).unwrap(), vec![2]);
    assert_eq!(
        code(r.delete_subject("d", false)),
        codes::SUBJECT_SOFT_DELETED
    );
    assert!(r.subjects(false).unwrap().is_empty());
    assert_eq!(r.subjects(true).unwrap(), vec!["d".to_string()]);
    // A soft-deleted schema is still readable by id.
    let id = r.version("d", VersionSpec::Number(2), true).unwrap().id;
    assert!(r.schema_by_id(id).is_ok());
    assert_eq!(r.delete_subject("d", true).unwrap(), vec![2]);
    assert!(r.subjects(true).unwrap().is_empty());
    assert_eq!(code(r.schema_by_id(id)), codes::SCHEMA_NOT_FOUND);
    assert_eq!(code(r.delete_subject("d", false)), codes::SUBJECT_NOT_FOUND);
    // Registering it again starts at version 1 and reuses the id.
    assert_eq!(r.register("d", &record(V2_DEFAULT)).unwrap(), id);
    assert_eq!(r.versions("d", false).unwrap(), vec![1]);
}

#[test]
fn the_registry_survives_a_restart_in_its_topic() {
    let dir = tempfile::tempdir().unwrap();
    let (id, id2) = {
        let log: Arc<dyn Log> = Arc::new(EmbeddedLog::open(dir.path()).unwrap());
        let r = LocalRegistry::open(log.clone()).unwrap();
        let id = r.register("a-value", &record(V1)).unwrap();
        let id2 = r.register("a-value", &record(V2_DEFAULT)).unwrap();
        r.register("gone", &record(V1)).unwrap();
        r.delete_subject("gone", false).unwrap();
        r.set_compatibility(Some("a-value"), Compatibility::Full)
            .unwrap();
        r.set_compatibility(None, Compatibility::Forward).unwrap();
        let topic = log.describe_topic(SCHEMAS_TOPIC).unwrap().unwrap();
        assert!(topic.compact, "the schemas topic is compacted");
        log.flush().unwrap();
        (id, id2)
    };
    let log: Arc<dyn Log> = Arc::new(EmbeddedLog::open(dir.path()).unwrap());
    let r = LocalRegistry::open(log).unwrap();
    assert_eq!(r.subjects(false).unwrap(), vec!["a-value".to_string()]);
    assert_eq!(r.subjects(true).unwrap().len(), 2);
    assert_eq!(
        r.version("a-value", VersionSpec::Number(1), false)
            .unwrap()
            .id,
        id
    );
    assert_eq!(
        r.version("a-value", VersionSpec::Latest, false).unwrap().id,
        id2
    );
    assert_eq!(
        r.compatibility(Some("a-value")).unwrap(),
        Some(Compatibility::Full)
    );
    assert_eq!(r.compatibility(None).unwrap(), Some(Compatibility::Forward));
    // New ids continue after the replayed ones.
    let id3 = r.register("b-value", &Schema::avro(r#""long""#)).unwrap();
    assert!(id3 > id2, "{id3} > {id2}");
}

#[test]
fn two_registries_on_one_log_see_each_other() {
    let log: Arc<dyn Log> = Arc::new(EmbeddedLog::in_memory());
    let a = LocalRegistry::open(log.clone()).unwrap();
    let b = LocalRegistry::open(log).unwrap();
    let id = a.register("x", &record(V1)).unwrap();
    assert_eq!(b.version("x", VersionSpec::Latest, false).unwrap().id, id);
    assert_eq!(
        code(b.register("x", &record(V2_NO_DEFAULT))),
        codes::INCOMPATIBLE_SCHEMA
    );
}

#[test]
fn create_without_columns_infers_them_from_the_latest_avro_schema() {
    let engine = sluice_engine::Engine::open(sluice_engine::EngineConfig::default()).unwrap();
    let registry = engine.schema_registry().unwrap();
    registry
        .register(
            "clicks-value",
            &Schema::avro(
                r#"{"type":"record","name":"Click","fields":[
                    {"name":"page","type":"string"},
                    {"name":"ms","type":["null","long"],"default":null},
                    {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
                    {"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":6,"scale":2}},
                    {"name":"tags","type":{"type":"array","items":"string"}},
                    {"name":"attrs","type":{"type":"map","values":"int"}},
                    {"name":"color","type":{"type":"enum","name":"Color","symbols":["RED"]}},
                    {"name":"geo","type":{"type":"record","name":"Geo","fields":[{"name":"lat","type":"double"}]}}
                ]}"#,
            ),
        )
        .unwrap();
    registry
        .register("clicks-key", &Schema::avro(r#""string""#))
        .unwrap();
    engine
        .execute(
            "CREATE STREAM clicks WITH (kafka_topic='clicks', key_format='AVRO', value_format='AVRO', partitions=1);",
        )
        .unwrap();
    let described = engine.describe_source("CLICKS").expect("the stream exists");
    let columns: Vec<String> = described
        .schema
        .columns
        .iter()
        .map(|c| format!("{} {}", c.name, c.ty))
        .collect();
    assert_eq!(
        columns,
        vec![
            "ROWKEY STRING",
            "PAGE STRING",
            "MS BIGINT",
            "AT TIMESTAMP",
            "PRICE DECIMAL(6, 2)",
            "TAGS ARRAY<STRING>",
            "ATTRS MAP<STRING, INTEGER>",
            "COLOR STRING",
            "GEO STRUCT<LAT DOUBLE>",
        ]
    );
    // Without a schema in the registry, ksqlDB's error.
    let err = engine
        .execute(
            "CREATE STREAM none WITH (kafka_topic='nothing', value_format='AVRO', partitions=1);",
        )
        .unwrap_err();
    assert!(
        err.to_string().contains(
            "Schema for message values on topic 'nothing' does not exist in the Schema Registry"
        ),
        "{err}"
    );
    // A schema id names the schema to use.
    let id = registry
        .register("other-value", &Schema::avro(r#""int""#))
        .unwrap();
    engine
        .execute(&format!(
            "CREATE STREAM by_id WITH (kafka_topic='clicks', value_format='AVRO', value_schema_id={id});"
        ))
        .unwrap();
    let described = engine.describe_source("BY_ID").expect("the stream exists");
    let columns: Vec<String> = described
        .schema
        .columns
        .iter()
        .map(|c| format!("{} {}", c.name, c.ty))
        .collect();
    assert_eq!(columns, vec!["ROWVAL INTEGER"]);
}

#[test]
fn a_csas_registers_its_avro_schemas_and_writes_their_ids() {
    let engine = sluice_engine::Engine::open(sluice_engine::EngineConfig::default()).unwrap();
    engine
        .execute(
            "CREATE STREAM src (id STRING KEY, n INT) WITH (kafka_topic='src', format='JSON', partitions=1);
             SET 'auto.offset.reset' = 'earliest';
             CREATE STREAM out WITH (kafka_topic='out', format='AVRO') AS SELECT id, n * 2 AS twice FROM src;
             INSERT INTO src (id, n) VALUES ('a', 21);",
        )
        .unwrap();
    engine.run_until_idle().unwrap();
    let registry = engine.schema_registry().unwrap();
    let value = registry
        .version("out-value", VersionSpec::Latest, false)
        .unwrap();
    let key = registry
        .version("out-key", VersionSpec::Latest, false)
        .unwrap();
    assert!(
        value.schema.schema.contains("TWICE"),
        "{}",
        value.schema.schema
    );
    assert_eq!(key.schema.schema, r#""string""#);
    let records = engine.log().read("out", 0, 0, 10).unwrap();
    assert_eq!(records.len(), 1);
    let bytes = records[0].record.value.clone().unwrap();
    assert_eq!(bytes[0], 0, "the magic byte");
    assert_eq!(
        u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]),
        value.id
    );
    let key_bytes = records[0].record.key.clone().unwrap();
    assert_eq!(
        u32::from_be_bytes([key_bytes[1], key_bytes[2], key_bytes[3], key_bytes[4]]),
        key.id
    );
    // SHOW TOPICS hides the registry's topic, as ksqlDB's internal topics.
    let shown = format!("{:?}", engine.execute("SHOW TOPICS;").unwrap());
    assert!(!shown.contains("_schemas"), "{shown}");
    let all = format!("{:?}", engine.execute("SHOW ALL TOPICS;").unwrap());
    assert!(all.contains("_schemas"), "{all}");
}
