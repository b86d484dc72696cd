//! End-to-end tests of the engine facade: restart durability, bad records,
//! bad statements, push and pull queries; the layering of the engine's
//! modules (`layering`); the planner's golden cases (`planner`); deep
//! input (`nesting`); the facade's API (`api`); batched JSON inserts
//! (`inserts`); connectors (`connect`); pull queries from views in memory (`views`); damage and
//! retention in the data directory (`storage`); local state stores
//! (`state`); and the local schema registry (`registry`).

mod api;
mod connect;
mod inserts;
mod layering;
mod nesting;
mod planner;
mod registry;
mod state;
mod storage;
mod views;

use sluice_engine::log::Log as _;
use sluice_engine::{Engine, EngineConfig, Error, StatementResult};
use std::time::Duration;

fn open(dir: &std::path::Path, background: bool) -> Engine {
    Engine::open(EngineConfig {
        data_dir: Some(dir.to_path_buf()),
        background,
        properties: Default::default(),
        ..Default::default()
    })
    .expect("engine opens")
}

fn memory() -> Engine {
    Engine::open(EngineConfig::default()).expect("engine opens")
}

/// Every record value of a topic, decoded as test-case JSON.
fn topic_values(engine: &Engine, topic: &str) -> Vec<serde_json::Value> {
    let log = engine.log();
    let info = log.describe_topic(topic).unwrap().expect("topic exists");
    let mut out = Vec::new();
    for p in 0..info.partitions {
        for r in log.read(topic, p, 0, usize::MAX).unwrap() {
            out.push(engine.decode_record_for_topic(topic, &r.record).unwrap().1);
        }
    }
    out
}

fn rows(result: StatementResult) -> Vec<Vec<sluice_engine::types::Value>> {
    match result {
        StatementResult::Rows(r) => r.rows,
        other => panic!("expected rows, got {other:?}"),
    }
}

#[test]
fn persistent_query_resumes_after_restart_without_loss_or_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    {
        let e = open(dir.path(), false);
        e.execute(
            "CREATE STREAM s (id INT KEY, v STRING) WITH (kafka_topic='s', value_format='JSON', partitions=2);
             CREATE STREAM up AS SELECT id, UCASE(v) AS v FROM s;
             INSERT INTO s (id, v) VALUES (1, 'a');
             INSERT INTO s (id, v) VALUES (2, 'b');",
        )
        .unwrap();
        e.run_until_idle().unwrap();
        assert_eq!(topic_values(&e, "UP").len(), 2);
        // Records arriving while the engine is down must be processed later.
    }
    {
        let e = open(dir.path(), false);
        e.execute("INSERT INTO s (id, v) VALUES (3, 'c');").unwrap();
        e.run_until_idle().unwrap();
        let mut got: Vec<String> = topic_values(&e, "UP")
            .iter()
            .map(|v| v["V"].as_str().unwrap().to_string())
            .collect();
        got.sort();
        assert_eq!(got, vec!["A", "B", "C"]);
    }
    {
        // A third start with nothing new must not reprocess anything.
        let e = open(dir.path(), false);
        e.run_until_idle().unwrap();
        assert_eq!(topic_values(&e, "UP").len(), 3);
    }
}

#[test]
fn background_queries_keep_running_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let e = open(dir.path(), true);
        e.execute(
            "CREATE STREAM s (id INT KEY, n INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);
             CREATE STREAM big AS SELECT id, n FROM s WHERE n > 10;",
        )
        .unwrap();
    }
    let e = open(dir.path(), true);
    e.execute("INSERT INTO s (id, n) VALUES (1, 5); INSERT INTO s (id, n) VALUES (2, 50);")
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = e.log().end_offset("BIG", 0).unwrap();
        if got == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "query did not process input"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(topic_values(&e, "BIG"), vec![serde_json::json!({"N": 50})]);
}

#[test]
fn malformed_record_is_skipped_logged_and_query_keeps_running() {
    let e = memory();
    e.execute(
        "CREATE STREAM s (id INT KEY, n INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);
         CREATE STREAM out AS SELECT id, n * 2 AS n2 FROM s;",
    )
    .unwrap();
    let log = e.log();
    let append = |value: &[u8]| {
        log.append(
            "s",
            Some(0),
            sluice_engine::log::Record {
                key: Some(1i32.to_be_bytes().to_vec()),
                value: Some(value.to_vec()),
                timestamp: 1,
                headers: vec![],
            },
        )
        .unwrap();
    };
    append(br#"{"N": 1}"#);
    append(br#"{"N": "not a number"#); // truncated JSON
    append(br#"{"N": 3}"#);
    e.run_until_idle().unwrap();
    assert_eq!(
        topic_values(&e, "OUT"),
        vec![serde_json::json!({"N2": 2}), serde_json::json!({"N2": 6})]
    );
    // The bad record is in the processing log, queryable as a stream.
    let logged = rows(
        e.execute(
            "SELECT MESSAGE->DESERIALIZATIONERROR->ERRORMESSAGE AS M FROM KSQL_PROCESSING_LOG;",
        )
        .unwrap()
        .pop()
        .unwrap(),
    );
    assert_eq!(logged.len(), 1);
    let msg = logged[0][0].to_string();
    assert!(
        msg.contains("Failed to deserialize value from topic: s"),
        "{msg}"
    );
}

#[test]
fn malformed_statement_names_line_and_column() {
    let e = memory();
    let err = e
        .execute("CREATE STREAM s (id INT KEY) WITH (kafka_topic='s', value_format='JSON', partitions=1);\nSELECT id FROM s WHERE id = = 1;")
        .unwrap_err();
    match &err {
        Error::Parse { pos, .. } => {
            assert_eq!(pos.line, 2);
            assert_eq!(pos.col, 29);
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
    assert!(err.to_string().starts_with("line 2:29"), "{err}");
    // The statement before the bad one took effect; nothing else was lost.
    assert!(e.describe_source("S").is_some());
}

#[test]
fn push_query_streams_new_rows_and_stops_at_limit() {
    let e = memory();
    e.execute(
        "CREATE STREAM s (id INT KEY, v STRING) WITH (kafka_topic='s', value_format='JSON', partitions=1);",
    )
    .unwrap();
    let mut q = match e
        .execute("SELECT id, v FROM s WHERE v <> 'skip' EMIT CHANGES LIMIT 2;")
        .unwrap()
        .pop()
        .unwrap()
    {
        StatementResult::Push(q) => q,
        other => panic!("expected a push query, got {other:?}"),
    };
    assert_eq!(q.columns().len(), 2);
    e.execute("INSERT INTO s VALUES (1, 'a'); INSERT INTO s VALUES (2, 'skip'); INSERT INTO s VALUES (3, 'c');")
        .unwrap();
    let mut got = Vec::new();
    while let Some(batch) = q.next_rows(Duration::from_millis(500)).unwrap() {
        got.extend(batch);
    }
    assert_eq!(got.len(), 2);
    assert_eq!(got[1][1].to_string(), "c");
}

#[test]
fn variables_are_substituted() {
    let e = memory();
    e.execute(
        "DEFINE topic = 'vt';
         CREATE STREAM s (id INT KEY) WITH (kafka_topic='${topic}', value_format='JSON', partitions=1);",
    )
    .unwrap();
    assert_eq!(e.describe_source("S").unwrap().topic, "vt");
}

#[test]
fn table_state_survives_restart_for_joins_and_table_aggregations() {
    let dir = tempfile::tempdir().unwrap();
    {
        let e = open(dir.path(), false);
        e.execute(
            "SET 'auto.offset.reset' = 'earliest';
             CREATE TABLE users (id STRING PRIMARY KEY, region STRING) WITH (kafka_topic='users', value_format='JSON', partitions=1);
             CREATE STREAM views (user_id STRING KEY, page STRING) WITH (kafka_topic='views', value_format='JSON', partitions=1);
             CREATE STREAM enriched AS SELECT v.user_id, v.page, u.region FROM views v LEFT JOIN users u ON v.user_id = u.id;
             CREATE TABLE per_region AS SELECT region, COUNT(*) AS n FROM users GROUP BY region;
             INSERT INTO users (id, region) VALUES ('u1', 'eu');
             INSERT INTO users (id, region) VALUES ('u2', 'eu');",
        )
        .unwrap();
        e.run_until_idle().unwrap();
    }
    let e = open(dir.path(), false);
    // The join still knows u1's region, and moving u2 retracts it from 'eu'.
    e.execute(
        "INSERT INTO views (user_id, page) VALUES ('u1', '/home');
         INSERT INTO users (id, region) VALUES ('u2', 'us');",
    )
    .unwrap();
    e.run_until_idle().unwrap();
    assert_eq!(
        topic_values(&e, "ENRICHED"),
        vec![serde_json::json!({"PAGE": "/home", "REGION": "eu"})]
    );
    let counts = rows(
        e.execute("SELECT region, n FROM per_region;")
            .unwrap()
            .pop()
            .unwrap(),
    );
    let mut got: Vec<(String, String)> = counts
        .iter()
        .map(|r| (r[0].to_string(), r[1].to_string()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("eu".to_string(), "1".to_string()),
            ("us".to_string(), "1".to_string())
        ]
    );
}

/// Appends a JSON record with a key to a topic at a given time.
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
    e.run_until_idle().unwrap();
}

/// Every record of a topic as (key, value) JSON, in append order per partition.
fn topic_records(e: &Engine, topic: &str) -> Vec<(serde_json::Value, serde_json::Value)> {
    let log = e.log();
    let info = log.describe_topic(topic).unwrap().expect("topic exists");
    let mut out = Vec::new();
    for p in 0..info.partitions {
        for r in log.read(topic, p, 0, usize::MAX).unwrap() {
            out.push(e.decode_record_for_topic(topic, &r.record).unwrap());
        }
    }
    out
}

#[test]
fn stream_stream_join_matches_within_the_window_and_drops_late_rows() {
    use serde_json::json;
    let e = memory();
    e.execute(
        "SET 'auto.offset.reset' = 'earliest';
         CREATE STREAM coffee (customer STRING KEY, item STRING, price DOUBLE) WITH (kafka_topic='coffee', value_format='JSON', partitions=1);
         CREATE STREAM tech (customer STRING KEY, item STRING, price DOUBLE) WITH (kafka_topic='tech', value_format='JSON', partitions=1);
         CREATE STREAM both_bought AS SELECT c.customer, c.item AS coffee, t.item AS tech, c.price + t.price AS total
           FROM coffee c JOIN tech t WITHIN 20 MINUTES GRACE PERIOD 1 MINUTE ON c.customer = t.customer;
         CREATE STREAM left_bought AS SELECT c.customer, c.item AS coffee, t.item AS tech
           FROM coffee c LEFT JOIN tech t WITHIN 20 MINUTES ON c.customer = t.customer;",
    )
    .unwrap();
    let min = 60_000;
    put(
        &e,
        "coffee",
        json!("ann"),
        json!({"ITEM": "latte", "PRICE": 4.0}),
        0,
    );
    put(
        &e,
        "tech",
        json!("ann"),
        json!({"ITEM": "cable", "PRICE": 10.0}),
        5 * min,
    );
    // Outside the window for ann's coffee: no match.
    put(
        &e,
        "tech",
        json!("ann"),
        json!({"ITEM": "phone", "PRICE": 500.0}),
        30 * min,
    );
    // Far ahead, then a record older than window + grace: dropped.
    put(
        &e,
        "coffee",
        json!("bob"),
        json!({"ITEM": "mocha", "PRICE": 5.0}),
        120 * min,
    );
    put(
        &e,
        "tech",
        json!("bob"),
        json!({"ITEM": "mouse", "PRICE": 20.0}),
        60 * min,
    );
    assert_eq!(
        topic_records(&e, "BOTH_BOUGHT"),
        vec![(
            json!("ann"),
            json!({"COFFEE": "latte", "TECH": "cable", "TOTAL": 14.0})
        )]
    );
    // The left join emits unmatched coffees at once, then the match.
    assert_eq!(
        topic_records(&e, "LEFT_BOUGHT"),
        vec![
            (json!("ann"), json!({"COFFEE": "latte", "TECH": null})),
            (json!("ann"), json!({"COFFEE": "latte", "TECH": "cable"})),
            (json!("bob"), json!({"COFFEE": "mocha", "TECH": null})),
        ]
    );
}

#[test]
fn outer_stream_stream_join_with_grace_holds_unmatched_rows_until_the_window_closes() {
    use serde_json::json;
    let e = memory();
    e.execute(
        "SET 'auto.offset.reset' = 'earliest';
         CREATE STREAM l (k STRING KEY, v INT) WITH (kafka_topic='l', value_format='JSON', partitions=1);
         CREATE STREAM r (k STRING KEY, w INT) WITH (kafka_topic='r', value_format='JSON', partitions=1);
         CREATE STREAM lj AS SELECT l.k, l.v, r.w
           FROM l LEFT JOIN r WITHIN 1 MINUTE GRACE PERIOD 30 SECONDS ON l.k = r.k;
         CREATE STREAM fj AS SELECT ROWKEY AS k, l.v, r.w
           FROM l FULL OUTER JOIN r WITHIN 1 MINUTE GRACE PERIOD 30 SECONDS ON l.k = r.k;",
    )
    .unwrap();
    let s = 1_000;
    let timed = |topic: &str| -> Vec<(serde_json::Value, serde_json::Value, i64)> {
        let log = e.log();
        log.read(topic, 0, 0, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|r| {
                let (k, v) = e.decode_record_for_topic(topic, &r.record).unwrap();
                (k, v, r.record.timestamp)
            })
            .collect()
    };
    // Matched later within the window: never padded with NULLs.
    put(&e, "l", json!("a"), json!({"V": 1}), 0);
    put(&e, "r", json!("a"), json!({"W": 2}), 30 * s);
    // Unmatched: held while their windows are open.
    put(&e, "l", json!("b"), json!({"V": 3}), 10 * s);
    put(&e, "r", json!("x"), json!({"W": 4}), 40 * s);
    assert_eq!(timed("LJ").len(), 1);
    assert_eq!(timed("FJ").len(), 1);
    // Matched just before b's window plus grace closes (10s + 1m + 30s).
    put(&e, "l", json!("e"), json!({"V": 5}), 50 * s);
    put(&e, "r", json!("e"), json!({"W": 6}), 100 * s);
    // Stream time passes the windows of b and x: their padded results come
    // first, oldest first, with their own times.
    put(&e, "r", json!("z"), json!({"W": 7}), 200 * s);
    // A row whose window closed before it arrived is padded at once.
    put(&e, "l", json!("d"), json!({"V": 8}), 20 * s);
    assert_eq!(
        timed("LJ"),
        vec![
            (json!("a"), json!({"V": 1, "W": 2}), 30 * s),
            (json!("e"), json!({"V": 5, "W": 6}), 100 * s),
            (json!("b"), json!({"V": 3, "W": null}), 10 * s),
            (json!("d"), json!({"V": 8, "W": null}), 20 * s),
        ]
    );
    // The full join holds both sides; z's window is still open.
    assert_eq!(
        timed("FJ"),
        vec![
            (json!("a"), json!({"V": 1, "W": 2}), 30 * s),
            (json!("e"), json!({"V": 5, "W": 6}), 100 * s),
            (json!("b"), json!({"V": 3, "W": null}), 10 * s),
            (json!("x"), json!({"V": null, "W": 4}), 40 * s),
            (json!("d"), json!({"V": 8, "W": null}), 20 * s),
        ]
    );
}

#[test]
fn stream_table_join_uses_the_latest_row_and_tombstones_remove_it() {
    use serde_json::json;
    let e = memory();
    e.execute(
        "SET 'auto.offset.reset' = 'earliest';
         CREATE TABLE users (id STRING PRIMARY KEY, region STRING) WITH (kafka_topic='users', value_format='JSON', partitions=1);
         CREATE STREAM views (user_id STRING KEY, page STRING) WITH (kafka_topic='views', value_format='JSON', partitions=1);
         CREATE STREAM inner_views AS SELECT v.user_id, v.page, u.region FROM views v JOIN users u ON v.user_id = u.id;
         CREATE STREAM left_views AS SELECT v.user_id, v.page, u.region FROM views v LEFT JOIN users u ON v.user_id = u.id;",
    )
    .unwrap();
    put(&e, "users", json!("u1"), json!({"REGION": "eu"}), 1);
    put(&e, "views", json!("u1"), json!({"PAGE": "/a"}), 2);
    put(&e, "users", json!("u1"), json!({"REGION": "us"}), 3); // no output by itself
    put(&e, "views", json!("u1"), json!({"PAGE": "/b"}), 4);
    put(&e, "users", json!("u1"), json!(null), 5); // tombstone
    put(&e, "views", json!("u1"), json!({"PAGE": "/c"}), 6);
    assert_eq!(
        topic_records(&e, "INNER_VIEWS"),
        vec![
            (json!("u1"), json!({"PAGE": "/a", "REGION": "eu"})),
            (json!("u1"), json!({"PAGE": "/b", "REGION": "us"})),
        ]
    );
    assert_eq!(
        topic_records(&e, "LEFT_VIEWS").last().cloned(),
        Some((json!("u1"), json!({"PAGE": "/c", "REGION": null})))
    );
}

#[test]
fn table_table_and_foreign_key_joins_follow_updates_and_deletes() {
    use serde_json::json;
    let e = memory();
    e.execute(
        "SET 'auto.offset.reset' = 'earliest';
         CREATE TABLE customers (id INT PRIMARY KEY, name STRING) WITH (kafka_topic='customers', value_format='JSON', partitions=1);
         CREATE TABLE accounts (id INT PRIMARY KEY, balance INT) WITH (kafka_topic='accounts', value_format='JSON', partitions=1);
         CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT, amount INT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
         CREATE TABLE customer_accounts AS SELECT c.id, c.name, a.balance FROM customers c JOIN accounts a ON c.id = a.id;
         CREATE TABLE order_view AS SELECT o.id, c.name, o.amount FROM orders o JOIN customers c ON o.customer_id = c.id;",
    )
    .unwrap();
    put(&e, "customers", json!(1), json!({"NAME": "ann"}), 1);
    put(&e, "accounts", json!(1), json!({"BALANCE": 10}), 2);
    put(
        &e,
        "orders",
        json!(100),
        json!({"CUSTOMER_ID": 1, "AMOUNT": 5}),
        3,
    );
    put(
        &e,
        "orders",
        json!(101),
        json!({"CUSTOMER_ID": 2, "AMOUNT": 7}),
        4,
    ); // no customer 2 yet
    put(&e, "customers", json!(2), json!({"NAME": "bob"}), 5);
    put(
        &e,
        "orders",
        json!(100),
        json!({"CUSTOMER_ID": 2, "AMOUNT": 5}),
        6,
    ); // foreign key changes
    put(&e, "accounts", json!(1), json!(null), 7); // delete: the joined row goes
    assert_eq!(
        topic_records(&e, "CUSTOMER_ACCOUNTS"),
        vec![
            (json!(1), json!({"NAME": "ann", "BALANCE": 10})),
            (json!(1), json!(null)),
        ]
    );
    assert_eq!(
        topic_records(&e, "ORDER_VIEW"),
        vec![
            (json!(100), json!({"NAME": "ann", "AMOUNT": 5})),
            (json!(101), json!({"NAME": "bob", "AMOUNT": 7})),
            (json!(100), json!({"NAME": "bob", "AMOUNT": 5})),
        ]
    );
}

#[test]
fn stream_stream_join_loses_no_match_across_a_restart() {
    use serde_json::json;
    let dir = tempfile::tempdir().unwrap();
    {
        let e = open(dir.path(), false);
        e.execute(
            "SET 'auto.offset.reset' = 'earliest';
             CREATE STREAM l (k STRING KEY, v INT) WITH (kafka_topic='l', value_format='JSON', partitions=1);
             CREATE STREAM r (k STRING KEY, w INT) WITH (kafka_topic='r', value_format='JSON', partitions=1);
             CREATE STREAM j AS SELECT l.k, l.v, r.w FROM l JOIN r WITHIN 1 MINUTE ON l.k = r.k;",
        )
        .unwrap();
        put(&e, "l", json!("a"), json!({"V": 1}), 1_000);
    }
    // The left row was consumed before the restart; its match arrives after.
    let e = open(dir.path(), false);
    put(&e, "r", json!("a"), json!({"W": 2}), 2_000);
    assert_eq!(
        topic_records(&e, "J"),
        vec![(json!("a"), json!({"V": 1, "W": 2}))]
    );
}

#[test]
fn record_caching_coalesces_a_tables_changes_unless_turned_off() {
    use serde_json::json;
    for (cache, expected) in [
        ("10000000", vec![json!({"N": 3})]),
        ("0", vec![json!({"N": 1}), json!({"N": 2}), json!({"N": 3})]),
    ] {
        let e = memory();
        e.execute(&format!(
            "SET 'auto.offset.reset' = 'earliest';
             SET 'cache.max.bytes.buffering' = '{cache}';
             CREATE STREAM clicks (user_id STRING KEY, page STRING) WITH (kafka_topic='clicks', value_format='JSON', partitions=1);
             CREATE TABLE counts AS SELECT user_id, COUNT(*) AS n FROM clicks GROUP BY user_id;"
        ))
        .unwrap();
        for page in ["/a", "/b", "/c"] {
            let (k, v) = e
                .encode_record_for_topic("clicks", &json!("u1"), &json!({"PAGE": page}))
                .unwrap();
            e.log()
                .append(
                    "clicks",
                    None,
                    sluice_engine::log::Record {
                        key: k,
                        value: v,
                        timestamp: 1,
                        headers: vec![],
                    },
                )
                .unwrap();
        }
        e.run_until_idle().unwrap();
        let values: Vec<serde_json::Value> = topic_records(&e, "COUNTS")
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        assert_eq!(values, expected, "cache.max.bytes.buffering = {cache}");
    }
}

#[test]
fn pull_queries_look_up_scan_window_group_and_join() {
    use serde_json::json;
    use sluice_engine::types::Value;
    let e = memory();
    e.execute(
        "SET 'auto.offset.reset' = 'earliest';
         CREATE STREAM trades (symbol STRING KEY, price DOUBLE, shares INT) WITH (kafka_topic='trades', value_format='JSON', partitions=1);
         CREATE TABLE volume AS SELECT symbol, COUNT(*) AS n, SUM(shares) AS shares FROM trades GROUP BY symbol;
         CREATE TABLE volume_10s AS SELECT symbol, COUNT(*) AS n FROM trades WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY symbol;
         CREATE SOURCE TABLE sectors (symbol STRING PRIMARY KEY, sector STRING) WITH (kafka_topic='sectors', value_format='JSON', partitions=1);",
    )
    .unwrap();
    for (sym, shares, ts) in [
        ("ACME", 10, 1_000),
        ("ACME", 5, 2_000),
        ("INIT", 7, 3_000),
        ("ACME", 1, 12_000),
    ] {
        put(
            &e,
            "trades",
            json!(sym),
            json!({"PRICE": 1.0, "SHARES": shares}),
            ts,
        );
    }
    put(&e, "sectors", json!("ACME"), json!({"SECTOR": "tools"}), 1);
    put(&e, "sectors", json!("INIT"), json!({"SECTOR": "tools"}), 1);
    let q = |sql: &str| -> Vec<Vec<Value>> {
        let mut r = rows(e.execute(sql).unwrap().pop().unwrap());
        r.sort_by(|a, b| a[0].total_cmp(&b[0]));
        r
    };
    let s = |v: &str| Value::String(v.into());
    // Key lookup.
    assert_eq!(
        q("SELECT * FROM volume WHERE symbol = 'ACME';"),
        vec![vec![s("ACME"), Value::BigInt(3), Value::Int(16)]]
    );
    // Range and non-key predicates over a scan, with LIMIT.
    assert_eq!(
        q("SELECT symbol FROM volume WHERE shares < 10;"),
        vec![vec![s("INIT")]]
    );
    assert_eq!(q("SELECT * FROM volume LIMIT 1;").len(), 1);
    // Windowed lookup with bounds on the window start.
    assert_eq!(
        q("SELECT symbol, WINDOWSTART, n FROM volume_10s WHERE symbol = 'ACME' AND WINDOWSTART >= 10000;"),
        vec![vec![s("ACME"), Value::BigInt(10_000), Value::BigInt(1)]]
    );
    // Beyond ksqlDB: GROUP BY and a join between materialized tables.
    assert_eq!(
        q("SELECT sector, SUM(shares) AS total FROM volume v JOIN sectors s ON v.symbol = s.symbol GROUP BY sector;"),
        vec![vec![s("tools"), Value::Int(23)]]
    );
    // Beyond ksqlDB: ORDER BY (with LIMIT) over the result's columns.
    let ordered = rows(
        e.execute("SELECT symbol, shares FROM volume ORDER BY shares DESC LIMIT 1;")
            .unwrap()
            .pop()
            .unwrap(),
    );
    assert_eq!(ordered, vec![vec![s("ACME"), Value::Int(16)]]);
    let ordered = rows(
        e.execute("SELECT symbol FROM volume ORDER BY symbol DESC;")
            .unwrap()
            .pop()
            .unwrap(),
    );
    assert_eq!(ordered, vec![vec![s("INIT")], vec![s("ACME")]]);
    // A plain table is not materialized: the error says what would work.
    e.execute("CREATE TABLE raw (id STRING PRIMARY KEY, v INT) WITH (kafka_topic='raw', value_format='JSON', partitions=1);")
        .unwrap();
    let err = e.execute("SELECT * FROM raw;").unwrap_err().to_string();
    assert!(
        err.contains("CREATE TABLE QUERYABLE_RAW AS SELECT * FROM RAW"),
        "{err}"
    );
}

#[test]
fn a_stream_joined_on_a_value_column_is_repartitioned_by_the_join_key() {
    use serde_json::json;
    let dir = tempfile::tempdir().unwrap();
    let group = "_confluent-ksql-default_query_CSAS_ENRICHED_0";
    let internal = "_confluent-ksql-default_query_CSAS_ENRICHED_0-Join-repartition";
    let click = |e: &Engine, i: i64| {
        put(
            e,
            "clicks",
            json!(format!("/page/{i}")),
            json!({"USER_ID": i % 8}),
            1_000 + i,
        )
    };
    {
        let e = open(dir.path(), false);
        e.execute(
            "SET 'auto.offset.reset' = 'earliest';
             CREATE TABLE users (id INT PRIMARY KEY, name STRING)
               WITH (kafka_topic='users', key_format='KAFKA', value_format='JSON', partitions=4);
             CREATE STREAM clicks (page STRING KEY, user_id INT)
               WITH (kafka_topic='clicks', value_format='JSON', partitions=3);
             CREATE STREAM enriched AS SELECT c.user_id, c.page, u.name
               FROM clicks c JOIN users u ON c.user_id = u.id;",
        )
        .unwrap();
        for id in 0..8 {
            put(
                &e,
                "users",
                json!(id),
                json!({"NAME": format!("user{id}")}),
                0,
            );
        }
        for i in 0..20 {
            click(&e, i);
        }
    }
    // A crash that lost every commit: the query's positions go back to the
    // start of the clicks and of the internal topic, which keeps all 20.
    let e = open(dir.path(), false);
    let info = e
        .log()
        .describe_topic(internal)
        .unwrap()
        .expect("repartition topic");
    assert_eq!(info.partitions, 4, "partitioned like the table");
    let mut rewind: Vec<(String, i32, i64)> =
        (0..3).map(|p| ("clicks".to_string(), p, 0)).collect();
    rewind.extend((0..4).map(|p| (internal.to_string(), p, 0)));
    e.log().commit_offsets(group, &rewind).unwrap();
    drop(e);
    let e = open(dir.path(), false);
    for i in 20..30 {
        click(&e, i);
    }
    let log = e.log();
    // Every click reached the internal topic once, keyed by its user id in
    // the table's key format, on the partition holding that user.
    let user_partition = |key: &[u8]| {
        (0..4)
            .find(|p| {
                log.read("users", *p, 0, usize::MAX)
                    .unwrap()
                    .iter()
                    .any(|r| r.record.key.as_deref() == Some(key))
            })
            .expect("user exists")
    };
    let mut internal_count = 0;
    for p in 0..4 {
        for r in log.read(internal, p, 0, usize::MAX).unwrap() {
            let key = r.record.key.clone().expect("keyed");
            assert_eq!(key.len(), 4, "KAFKA INT key");
            assert_eq!(user_partition(&key), p);
            internal_count += 1;
        }
    }
    assert_eq!(internal_count, 30, "no click written twice, none lost");
    // Every click joined: those whose commit was lost at least once.
    let out = topic_records(&e, "ENRICHED");
    for i in 0..30i64 {
        let n = out
            .iter()
            .filter(|(k, v)| {
                *k == json!(i % 8)
                    && *v == json!({"PAGE": format!("/page/{i}"), "NAME": format!("user{}", i % 8)})
            })
            .count();
        assert!(
            if i < 20 { (1..=2).contains(&n) } else { n == 1 },
            "click {i} joined {n} times: {out:?}"
        );
    }
    // Terminating the query removes its internal topic.
    e.execute("TERMINATE CSAS_ENRICHED_0;").unwrap();
    assert!(e.log().describe_topic(internal).unwrap().is_none());
}

#[test]
fn an_n_way_join_re_keys_an_earlier_joins_result_through_an_internal_topic() {
    use serde_json::json;
    let e = memory();
    e.execute(
        "SET 'auto.offset.reset' = 'earliest';
         CREATE STREAM orders (id INT KEY, item STRING) WITH (kafka_topic='orders', value_format='JSON', partitions=2);
         CREATE STREAM payments (id INT KEY, amount INT) WITH (kafka_topic='payments', value_format='JSON', partitions=2);
         CREATE TABLE items (name STRING PRIMARY KEY, price INT) WITH (kafka_topic='items', value_format='JSON', partitions=3);
         CREATE STREAM paid AS SELECT o.id AS id, o.item AS item, p.amount AS amount, i.price AS price
           FROM orders o JOIN payments p WITHIN 1 MINUTE ON o.id = p.id
           JOIN items i ON o.item = i.name;",
    )
    .unwrap();
    put(&e, "items", json!("tea"), json!({"PRICE": 3}), 0);
    put(&e, "items", json!("cake"), json!({"PRICE": 5}), 0);
    put(&e, "orders", json!(1), json!({"ITEM": "tea"}), 1_000);
    put(&e, "orders", json!(2), json!({"ITEM": "cake"}), 1_000);
    put(&e, "payments", json!(2), json!({"AMOUNT": 5}), 2_000);
    put(&e, "payments", json!(1), json!({"AMOUNT": 3}), 3_000);
    // Keyed by the last join's key, the item.
    let mut out = topic_records(&e, "PAID");
    out.sort_by_key(|(k, _)| k.to_string());
    assert_eq!(
        out,
        vec![
            (json!("cake"), json!({"ID": 2, "AMOUNT": 5, "PRICE": 5})),
            (json!("tea"), json!({"ID": 1, "AMOUNT": 3, "PRICE": 3})),
        ]
    );
    // The first join's results went through the internal topic keyed by
    // the item (KAFKA STRING, as the items table is keyed), partitioned
    // like the table.
    let internal = "_confluent-ksql-default_query_CSAS_PAID_0-Join-left-repartition";
    let log = e.log();
    assert_eq!(log.describe_topic(internal).unwrap().unwrap().partitions, 3);
    let mut keys = Vec::new();
    for p in 0..3 {
        for r in log.read(internal, p, 0, usize::MAX).unwrap() {
            let key = r.record.key.clone().unwrap();
            let table_partition = (0..3)
                .find(|q| {
                    log.read("items", *q, 0, usize::MAX)
                        .unwrap()
                        .iter()
                        .any(|t| t.record.key.as_deref() == Some(key.as_slice()))
                })
                .unwrap();
            assert_eq!(table_partition, p, "co-partitioned with the table");
            keys.push(String::from_utf8(key).unwrap());
        }
    }
    keys.sort();
    assert_eq!(keys, vec!["cake", "tea"]);
}

fn push(result: StatementResult) -> sluice_engine::PushQuery {
    match result {
        StatementResult::Push(q) => q,
        other => panic!("expected a push query, got {other:?}"),
    }
}

/// Reads a push query until it ends or has `n` rows (or 5 s pass).
fn take(q: &mut sluice_engine::PushQuery, n: usize) -> Vec<Vec<sluice_engine::types::Value>> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut got = Vec::new();
    while got.len() < n && std::time::Instant::now() < deadline {
        match q.next_rows(Duration::from_millis(100)).unwrap() {
            Some(rows) => got.extend(rows),
            None => break,
        }
    }
    got
}

#[cfg(target_os = "linux")]
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|c| c.trim() == name)
        .count()
}

#[test]
fn push_queries_over_one_source_share_its_reading_and_keep_their_own_semantics() {
    let e = memory();
    e.execute(
        "CREATE STREAM s (id INT KEY, v STRING) WITH (kafka_topic='s', value_format='JSON', partitions=2);
         INSERT INTO s VALUES (1, 'before');",
    )
    .unwrap();
    let mut all = push(
        e.execute("SELECT * FROM s EMIT CHANGES;")
            .unwrap()
            .pop()
            .unwrap(),
    );
    let mut limited = push(
        e.execute("SELECT v, id FROM s WHERE v <> 'skip' EMIT CHANGES LIMIT 2;")
            .unwrap()
            .pop()
            .unwrap(),
    );
    e.set_property("auto.offset.reset", "earliest");
    let mut earliest = push(
        e.execute("SELECT UCASE(v) AS u FROM s EMIT CHANGES;")
            .unwrap()
            .pop()
            .unwrap(),
    );
    let log = e.log();
    let append = |id: i32, value: &[u8]| {
        log.append(
            "s",
            None,
            sluice_engine::log::Record {
                key: Some(id.to_be_bytes().to_vec()),
                value: Some(value.to_vec()),
                timestamp: 1,
                headers: vec![],
            },
        )
        .unwrap();
    };
    append(2, br#"{"V": "skip"}"#);
    append(2, br#"{"V": "#); // truncated JSON
    append(2, br#"{"V": "a"}"#);
    append(2, br#"{"V": "b"}"#);
    append(2, br#"{"V": "c"}"#);

    let text = |rows: Vec<Vec<sluice_engine::types::Value>>| -> Vec<String> {
        rows.iter()
            .map(|r| {
                r.iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect()
    };
    assert_eq!(text(take(&mut all, 4)), ["2,skip", "2,a", "2,b", "2,c"]);
    let got = take(&mut limited, 10);
    assert_eq!(text(got), ["a,2", "b,2"]);
    assert!(limited.next_rows(Duration::ZERO).unwrap().is_none());
    assert_eq!(
        text(take(&mut earliest, 5)),
        ["BEFORE", "SKIP", "A", "B", "C"]
    );
    // Each query that read the bad record logged it under its own id.
    let logged = rows(
        e.execute("SELECT LOGGER FROM KSQL_PROCESSING_LOG;")
            .unwrap()
            .pop()
            .unwrap(),
    );
    assert_eq!(logged.len(), 3, "{logged:?}");

    // A query that falls far behind (past the records the shared reader
    // keeps) still receives everything, in order.
    let n = 40_000;
    for i in 0..n {
        append(7, format!(r#"{{"V": "{i}"}}"#).as_bytes());
    }
    std::thread::sleep(Duration::from_millis(300));
    let got = take(&mut all, n);
    assert_eq!(got.len(), n);
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r[1].to_string(), i.to_string());
    }

    // The shared reader ends with its last query.
    #[cfg(target_os = "linux")]
    {
        assert_eq!(threads_named("sluice-push-s"), 1);
        drop((all, limited, earliest));
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while threads_named("sluice-push-s") > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(threads_named("sluice-push-s"), 0);
    }
}

#[test]
fn a_push_query_sleeping_in_next_rows_wakes_for_a_new_row() {
    let e = memory();
    e.execute(
        "CREATE STREAM s (id INT KEY, v STRING) WITH (kafka_topic='s', value_format='JSON', partitions=1);",
    )
    .unwrap();
    let mut q = push(
        e.execute("SELECT * FROM s EMIT CHANGES;")
            .unwrap()
            .pop()
            .unwrap(),
    );
    // Quiet first, so the shared reader is idle when the row comes.
    assert_eq!(
        q.next_rows(Duration::from_millis(50)).unwrap(),
        Some(vec![])
    );
    let writer = {
        let e = e.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            e.execute("INSERT INTO s VALUES (1, 'x');").unwrap();
            std::time::Instant::now()
        })
    };
    let rows = q.next_rows(Duration::from_secs(10)).unwrap().unwrap();
    let received = std::time::Instant::now();
    let sent = writer.join().unwrap();
    assert_eq!(rows.len(), 1);
    assert!(received.duration_since(sent) < Duration::from_secs(1));
}

/// A log whose records arrive unannounced, as other processes' writes to a
/// Kafka cluster do: `append_seq` never grows and waits just time out (in
/// at most 10 ms, as the Kafka log's do).
struct Unannounced(sluice_engine::log::EmbeddedLog);

impl sluice_engine::log::Log for Unannounced {
    fn create_topic(
        &self,
        name: &str,
        config: &sluice_engine::log::TopicConfig,
    ) -> sluice_engine::Result<()> {
        self.0.create_topic(name, config)
    }
    fn describe_topic(
        &self,
        name: &str,
    ) -> sluice_engine::Result<Option<sluice_engine::log::TopicInfo>> {
        self.0.describe_topic(name)
    }
    fn list_topics(&self) -> sluice_engine::Result<Vec<sluice_engine::log::TopicInfo>> {
        self.0.list_topics()
    }
    fn delete_topic(&self, name: &str) -> sluice_engine::Result<()> {
        self.0.delete_topic(name)
    }
    fn append(
        &self,
        topic: &str,
        partition: Option<i32>,
        record: sluice_engine::log::Record,
    ) -> sluice_engine::Result<(i32, i64)> {
        self.0.append(topic, partition, record)
    }
    fn read(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max: usize,
    ) -> sluice_engine::Result<Vec<sluice_engine::log::StoredRecord>> {
        self.0.read(topic, partition, offset, max)
    }
    fn end_offset(&self, topic: &str, partition: i32) -> sluice_engine::Result<i64> {
        self.0.end_offset(topic, partition)
    }
    fn commit(
        &self,
        group: &str,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> sluice_engine::Result<()> {
        self.0.commit(group, topic, partition, offset)
    }
    fn committed(
        &self,
        group: &str,
        topic: &str,
        partition: i32,
    ) -> sluice_engine::Result<Option<i64>> {
        self.0.committed(group, topic, partition)
    }
    fn append_seq(&self) -> u64 {
        0
    }
    fn wait_for_append(&self, _seen: u64, timeout: Duration) -> u64 {
        std::thread::sleep(timeout.min(Duration::from_millis(10)));
        0
    }
    fn flush(&self) -> sluice_engine::Result<()> {
        self.0.flush()
    }
}

#[test]
fn push_queries_see_records_the_log_does_not_announce() {
    let log = std::sync::Arc::new(Unannounced(sluice_engine::log::EmbeddedLog::in_memory()));
    let e = Engine::with_log(EngineConfig::default(), log.clone()).unwrap();
    e.execute(
        "CREATE STREAM s (id INT KEY, v STRING) WITH (kafka_topic='s', value_format='JSON', partitions=1);",
    )
    .unwrap();
    let mut a = push(
        e.execute("SELECT * FROM s EMIT CHANGES;")
            .unwrap()
            .pop()
            .unwrap(),
    );
    let mut b = push(
        e.execute("SELECT v FROM s EMIT CHANGES LIMIT 2;")
            .unwrap()
            .pop()
            .unwrap(),
    );
    for v in ["x", "y", "z"] {
        // Straight into the inner log: nothing tells the engine.
        log.0
            .append(
                "s",
                None,
                sluice_engine::log::Record {
                    key: Some(1i32.to_be_bytes().to_vec()),
                    value: Some(format!(r#"{{"V": "{v}"}}"#).into_bytes()),
                    timestamp: 1,
                    headers: vec![],
                },
            )
            .unwrap();
    }
    assert_eq!(take(&mut a, 3).len(), 3);
    assert_eq!(take(&mut b, 3).len(), 2);
}
