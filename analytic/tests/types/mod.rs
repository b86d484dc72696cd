//! ksqlDB's types through Arrow and back: a stream with every type, read
//! through DataFusion, returns the values the engine's own pull query does.

use super::{engine, rows};
use sluice_engine::types::Value;

#[test]
fn every_type_round_trips_through_arrow() {
    let e = engine();
    e.execute(
        "SET 'auto.offset.reset' = 'earliest';
         CREATE STREAM everything (id INT KEY, b BOOLEAN, i INT, l BIGINT, d DOUBLE, m DECIMAL(10, 2),
             s STRING, y BYTES, dt DATE, t TIME, ts TIMESTAMP, a ARRAY<INT>, mp MAP<STRING, BIGINT>,
             st STRUCT<name STRING, tags ARRAY<STRING>>)
           WITH (kafka_topic='everything', value_format='JSON', partitions=1);
         INSERT INTO everything (id, b, i, l, d, m, s, y, dt, t, ts, a, mp, st) VALUES
           (1, true, 7, 9000000000, 1.25, 12.34, 'x', TO_BYTES('AQI=', 'base64'), '2024-02-29', '12:34:56',
            '2024-02-29T12:34:56.789', ARRAY[1, NULL, 3], MAP('k' := 5), STRUCT(name := 'n', tags := ARRAY['p', 'q']));
         INSERT INTO everything (id) VALUES (2);",
    )
    .unwrap();
    let direct = rows(&e, "SELECT * FROM everything;");
    assert_eq!(direct.len(), 2);
    let analytic = rows(&e, "SELECT * FROM everything ORDER BY id;");
    let without_pseudo: Vec<Vec<Value>> = analytic
        .into_iter()
        .map(|mut r| {
            r.truncate(direct[0].len());
            r
        })
        .collect();
    assert_eq!(without_pseudo, direct);
    // Values computed by DataFusion come back typed too.
    assert_eq!(
        rows(
            &e,
            "SELECT m * 2 AS twice, ARRAY_LENGTH(a) AS n FROM everything WHERE id = 1 ORDER BY id;"
        ),
        vec![vec![
            Value::Decimal(sluice_engine::types::Decimal::new(2468, 2)),
            Value::Int(3)
        ]]
    );
}
