//! Each SQL form over tables, windowed tables and streams.

use super::{market, query, rows, s};
use sluice_engine::types::Value;

#[test]
fn joins_a_table_with_a_table() {
    let e = market();
    assert_eq!(
        query(
            &e,
            "SELECT v.symbol, s.sector, v.shares FROM volume v JOIN sectors s ON v.symbol = s.symbol ORDER BY v.symbol;"
        ),
        (
            vec!["SYMBOL".into(), "SECTOR".into(), "SHARES".into()],
            vec![
                vec![s("ACME"), s("tools"), Value::Int(16)],
                vec![s("INIT"), s("tools"), Value::Int(7)],
            ]
        )
    );
    // Outer joins keep the rows without a match on either side.
    assert_eq!(
        rows(
            &e,
            "SELECT s.symbol, v.n FROM sectors s LEFT JOIN volume v ON v.symbol = s.symbol ORDER BY s.symbol;"
        ),
        vec![
            vec![s("ACME"), Value::BigInt(3)],
            vec![s("BOLT"), Value::Null],
            vec![s("INIT"), Value::BigInt(1)],
        ]
    );
    assert_eq!(
        rows(
            &e,
            "SELECT COALESCE(s.symbol, v.symbol) AS sym FROM sectors s FULL OUTER JOIN volume v ON v.symbol = s.symbol ORDER BY sym;"
        ),
        vec![vec![s("ACME")], vec![s("BOLT")], vec![s("INIT")], vec![s("ZETA")]]
    );
}

#[test]
fn joins_a_stream_with_a_table_and_reads_its_pseudo_columns() {
    let e = market();
    assert_eq!(
        rows(
            &e,
            "SELECT t.symbol, t.shares, s.sector, t.ROWTIME, t.ROWPARTITION, t.ROWOFFSET
             FROM trades t LEFT JOIN sectors s ON t.symbol = s.symbol ORDER BY t.ROWOFFSET;"
        ),
        vec![
            vec![
                s("ACME"),
                Value::Int(10),
                s("tools"),
                Value::BigInt(1_000),
                Value::Int(0),
                Value::BigInt(0)
            ],
            vec![
                s("ACME"),
                Value::Int(5),
                s("tools"),
                Value::BigInt(2_000),
                Value::Int(0),
                Value::BigInt(1)
            ],
            vec![
                s("INIT"),
                Value::Int(7),
                s("tools"),
                Value::BigInt(3_000),
                Value::Int(0),
                Value::BigInt(2)
            ],
            vec![
                s("ACME"),
                Value::Int(1),
                s("tools"),
                Value::BigInt(12_000),
                Value::Int(0),
                Value::BigInt(3)
            ],
            vec![
                s("ZETA"),
                Value::Int(4),
                Value::Null,
                Value::BigInt(13_000),
                Value::Int(0),
                Value::BigInt(4)
            ],
        ]
    );
}

#[test]
fn groups_with_having_and_orders() {
    let e = market();
    // tools: ACME 10+5+1, INIT 7 -> 23 over 4 trades; ZETA has no sector.
    assert_eq!(
        query(
            &e,
            "SELECT s.sector, SUM(t.shares) AS total, COUNT(*) AS trades
             FROM trades t JOIN sectors s ON t.symbol = s.symbol
             GROUP BY s.sector HAVING COUNT(*) > 1 ORDER BY total DESC;"
        ),
        (
            vec!["SECTOR".into(), "TOTAL".into(), "TRADES".into()],
            vec![vec![s("tools"), Value::BigInt(23), Value::BigInt(4)]]
        )
    );
    // An unnamed expression is named as ksqlDB names it.
    assert_eq!(
        query(&e, "SELECT symbol, MAX(shares) FROM trades GROUP BY symbol ORDER BY 2 DESC LIMIT 1 OFFSET 1;"),
        (
            vec!["SYMBOL".into(), "KSQL_COL_1".into()],
            vec![vec![s("INIT"), Value::Int(7)]]
        )
    );
    // ROLLUP adds the subtotal per sector and the grand total.
    assert_eq!(
        rows(
            &e,
            "SELECT s.sector, t.symbol, SUM(t.shares) AS total
             FROM trades t JOIN sectors s ON t.symbol = s.symbol
             GROUP BY ROLLUP (s.sector, t.symbol) ORDER BY s.sector NULLS FIRST, t.symbol NULLS FIRST;"
        ),
        vec![
            vec![Value::Null, Value::Null, Value::BigInt(23)],
            vec![s("tools"), Value::Null, Value::BigInt(23)],
            vec![s("tools"), s("ACME"), Value::BigInt(16)],
            vec![s("tools"), s("INIT"), Value::BigInt(7)],
        ]
    );
    assert_eq!(
        rows(&e, "SELECT DISTINCT symbol FROM trades ORDER BY symbol;"),
        vec![vec![s("ACME")], vec![s("INIT")], vec![s("ZETA")]]
    );
}

#[test]
fn ranks_with_a_window_function() {
    let e = market();
    assert_eq!(
        rows(
            &e,
            "SELECT symbol, shares, ROW_NUMBER() OVER (PARTITION BY symbol ORDER BY shares DESC) AS rn,
                    SUM(shares) OVER (PARTITION BY symbol) AS total
             FROM trades ORDER BY symbol, rn;"
        ),
        vec![
            vec![s("ACME"), Value::Int(10), Value::BigInt(1), Value::BigInt(16)],
            vec![s("ACME"), Value::Int(5), Value::BigInt(2), Value::BigInt(16)],
            vec![s("ACME"), Value::Int(1), Value::BigInt(3), Value::BigInt(16)],
            vec![s("INIT"), Value::Int(7), Value::BigInt(1), Value::BigInt(7)],
            vec![s("ZETA"), Value::Int(4), Value::BigInt(1), Value::BigInt(4)],
        ]
    );
}

#[test]
fn answers_ctes_subqueries_and_set_operations() {
    let e = market();
    assert_eq!(
        rows(
            &e,
            "WITH big AS (SELECT symbol, shares FROM trades WHERE shares > 4)
             SELECT symbol, COUNT(*) AS n FROM big GROUP BY symbol ORDER BY symbol;"
        ),
        vec![
            vec![s("ACME"), Value::BigInt(2)],
            vec![s("INIT"), Value::BigInt(1)]
        ]
    );
    assert_eq!(
        rows(
            &e,
            "SELECT symbol FROM volume WHERE shares > (SELECT AVG(shares) FROM trades) ORDER BY symbol;"
        ),
        // The average trade is 27 / 5 = 5.4 shares.
        vec![vec![s("ACME")], vec![s("INIT")]]
    );
    assert_eq!(
        rows(
            &e,
            "SELECT symbol FROM volume UNION SELECT symbol FROM sectors ORDER BY symbol;"
        ),
        vec![
            vec![s("ACME")],
            vec![s("BOLT")],
            vec![s("INIT")],
            vec![s("ZETA")]
        ]
    );
    assert_eq!(
        rows(
            &e,
            "SELECT symbol FROM volume INTERSECT SELECT symbol FROM sectors ORDER BY symbol;"
        ),
        vec![vec![s("ACME")], vec![s("INIT")]]
    );
    assert_eq!(
        rows(
            &e,
            "SELECT symbol FROM volume EXCEPT SELECT symbol FROM sectors;"
        ),
        vec![vec![s("ZETA")]]
    );
    assert_eq!(
        rows(
            &e,
            "SELECT symbol FROM volume UNION ALL SELECT symbol FROM sectors;"
        )
        .len(),
        6
    );
}

#[test]
fn reads_windowed_tables_with_their_windows() {
    let e = market();
    assert_eq!(
        rows(
            &e,
            "SELECT symbol, WINDOWSTART, WINDOWEND, n FROM volume_10s ORDER BY symbol, WINDOWSTART;"
        ),
        vec![
            vec![s("ACME"), Value::BigInt(0), Value::BigInt(10_000), Value::BigInt(2)],
            vec![s("ACME"), Value::BigInt(10_000), Value::BigInt(20_000), Value::BigInt(1)],
            vec![s("INIT"), Value::BigInt(0), Value::BigInt(10_000), Value::BigInt(1)],
            vec![s("ZETA"), Value::BigInt(10_000), Value::BigInt(20_000), Value::BigInt(1)],
        ]
    );
}

#[test]
fn calls_ksqldb_functions_and_keeps_its_identifier_case() {
    let e = market();
    assert_eq!(
        query(
            &e,
            "select lcase(symbol) as `lower`, CONCAT(symbol, '-', sector) AS label FROM sectors ORDER BY `lower`;"
        ),
        (
            vec!["lower".into(), "LABEL".into()],
            vec![
                vec![s("acme"), s("ACME-tools")],
                vec![s("bolt"), s("BOLT-parts")],
                vec![s("init"), s("INIT-tools")],
            ]
        )
    );
}

#[test]
fn leaves_ksqldb_pull_forms_to_the_engine_and_explains_datafusion_plans() {
    let e = market();
    // A key lookup and a scan are ksqlDB's own pull queries (in ksqlDB's
    // order, which is the engine's).
    assert_eq!(
        rows(&e, "SELECT * FROM volume WHERE symbol = 'ACME';"),
        vec![vec![s("ACME"), Value::BigInt(3), Value::Int(16)]]
    );
    // ksqlDB's own clauses (WINDOW, WITHIN) keep the engine's answers, as
    // without DataFusion.
    let plain = sluice_engine::Engine::open(Default::default()).unwrap();
    plain
        .execute("CREATE STREAM trades (symbol STRING KEY, price DOUBLE, shares INT) WITH (kafka_topic='trades', value_format='JSON', partitions=1);")
        .unwrap();
    for sql in [
        "SELECT * FROM trades WINDOW TUMBLING (SIZE 1 SECOND);",
        "SELECT * FROM trades a JOIN trades b WITHIN 10 SECONDS ON a.symbol = b.symbol;",
    ] {
        let with = e.execute(sql).unwrap_err().to_string();
        assert_eq!(with, plain.execute(sql).unwrap_err().to_string(), "{sql}");
    }
    let plan = match e
        .execute("EXPLAIN SELECT symbol, COUNT(*) FROM trades GROUP BY symbol ORDER BY symbol;")
        .unwrap()
        .pop()
    {
        Some(sluice_engine::StatementResult::QueryDescription(d)) => d.plan,
        other => panic!("expected a query description, got {other:?}"),
    };
    let names: Vec<&str> = plan.iter().map(|n| n.name.as_str()).collect();
    assert!(names.contains(&"AggregateExec"), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("Sort")), "{names:?}");
    // Inputs come before the operators that read them.
    for node in &plan {
        assert!(node.inputs.iter().all(|&i| i < node.id), "{plan:?}");
    }
}
