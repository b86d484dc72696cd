//! Analytic SELECTs over the embedded engine with DataFusion installed:
//! every SQL form over tables, windowed tables and streams, checked against
//! rows computed by hand from the records the tests write.

mod errors;
mod forms;
mod types;

use serde_json::json;
use sluice_engine::types::Value;
use sluice_engine::{Engine, EngineConfig, StatementResult};

/// An in-memory engine with DataFusion installed.
fn engine() -> Engine {
    let e = Engine::open(EngineConfig::default()).expect("engine opens");
    sluice_analytic::install(&e).expect("analytic SQL installs");
    e
}

/// Appends one record to `topic`, encoded in its source's formats.
fn put(e: &Engine, topic: &str, key: serde_json::Value, value: serde_json::Value, ts: i64) {
    let (k, v) = e.encode_record_for_topic(topic, &key, &value).unwrap();
    e.log()
        .append(
            topic,
            None,
            sluice_engine::log::Record {
                key: k,
                value: v,
                timestamp: ts,
                headers: vec![],
            },
        )
        .unwrap();
}

/// The header and rows one SELECT returns.
fn query(e: &Engine, sql: &str) -> (Vec<String>, Vec<Vec<Value>>) {
    match e
        .execute(sql)
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .pop()
    {
        Some(StatementResult::Rows(set)) => {
            (set.columns.into_iter().map(|c| c.name).collect(), set.rows)
        }
        other => panic!("{sql}: expected rows, got {other:?}"),
    }
}

/// The rows one SELECT returns.
fn rows(e: &Engine, sql: &str) -> Vec<Vec<Value>> {
    query(e, sql).1
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

/// Trades (a stream), their volume per symbol (a table), per 10-second
/// window (a windowed table), and sectors (a source table):
///
/// | symbol | shares | ROWTIME |
/// |--------|--------|---------|
/// | ACME   | 10     | 1000    |
/// | ACME   | 5      | 2000    |
/// | INIT   | 7      | 3000    |
/// | ACME   | 1      | 12000   |
/// | ZETA   | 4      | 13000   |
///
/// Sectors: ACME tools, INIT tools, BOLT parts (ZETA has none).
fn market() -> Engine {
    let e = engine();
    e.execute(
        "SET 'auto.offset.reset' = 'earliest';
         CREATE STREAM trades (symbol STRING KEY, price DOUBLE, shares INT) WITH (kafka_topic='trades', value_format='JSON', partitions=1);
         CREATE TABLE volume AS SELECT symbol, COUNT(*) AS n, SUM(shares) AS shares FROM trades GROUP BY symbol;
         CREATE TABLE volume_10s AS SELECT symbol, COUNT(*) AS n FROM trades WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY symbol;
         CREATE SOURCE TABLE sectors (symbol STRING PRIMARY KEY, sector STRING) WITH (kafka_topic='sectors', value_format='JSON', partitions=1);",
    )
    .unwrap();
    for (sym, price, shares, ts) in [
        ("ACME", 1.5, 10, 1_000),
        ("ACME", 2.0, 5, 2_000),
        ("INIT", 3.0, 7, 3_000),
        ("ACME", 2.5, 1, 12_000),
        ("ZETA", 9.0, 4, 13_000),
    ] {
        put(
            &e,
            "trades",
            json!(sym),
            json!({"PRICE": price, "SHARES": shares}),
            ts,
        );
    }
    for (sym, sector) in [("ACME", "tools"), ("INIT", "tools"), ("BOLT", "parts")] {
        put(&e, "sectors", json!(sym), json!({"SECTOR": sector}), 1);
    }
    e.run_until_idle().unwrap();
    e
}
