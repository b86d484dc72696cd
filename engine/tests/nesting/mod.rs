//! Deep input cannot crash the process: expressions and types nested past
//! the parser's limit are a parse error naming line and column, long
//! operator chains count against it, and what is accepted types, compiles
//! and evaluates without overflowing a thread's stack; statements of
//! ksqlDB's sizes (10,000 columns, a 100,000-item IN list, a megabyte of
//! text) still run.

use sluice_engine::sql::parser::MAX_NESTING;
use sluice_engine::{Engine, EngineConfig, Error, StatementResult};
use std::time::Duration;

fn engine() -> Engine {
    Engine::open(EngineConfig {
        background: true,
        ..Default::default()
    })
    .expect("engine opens")
}

fn with_stream() -> Engine {
    let e = engine();
    e.execute(
        "SET 'auto.offset.reset'='earliest';
         CREATE STREAM s (id INT KEY, a INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);
         INSERT INTO s (id, a) VALUES (1, 1);",
    )
    .unwrap();
    e
}

/// Runs a test body as a caller of the engine should: on a thread with the
/// engine's query stack.
fn on_query_stack(body: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(sluice_engine::runtime::THREAD_STACK)
        .spawn(body)
        .unwrap()
        .join()
        .unwrap();
}

/// The error of a statement that must fail to parse for nesting too deep.
fn too_deep(e: &Engine, sql: &str) -> String {
    match e.execute(sql) {
        Err(err @ Error::Parse { .. }) => {
            let text = err.to_string();
            assert!(
                text.contains(&format!("nesting deeper than {MAX_NESTING} levels")),
                "{text}"
            );
            assert!(text.contains("line 1:"), "no position: {text}");
            text
        }
        other => panic!("expected a nesting error, got {other:?}"),
    }
}

/// The rows of a push query over `s` (the stream holds one row, a = 1).
fn first_row(e: &Engine, select: &str) -> Vec<sluice_engine::types::Value> {
    let mut q = match e.execute(select).unwrap().pop() {
        Some(StatementResult::Push(q)) => q,
        other => panic!("expected a push query, got {other:?}"),
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        if let Some(mut rows) = q.next_rows(Duration::from_millis(100)).unwrap() {
            if !rows.is_empty() {
                return rows.remove(0);
            }
        } else {
            break;
        }
    }
    panic!("no row from {}", &select[..select.len().min(80)]);
}

#[test]
fn three_thousand_or_terms_are_a_nesting_error() {
    on_query_stack(|| {
        let e = with_stream();
        let terms: Vec<String> = (0..3_000).map(|i| format!("a = {i}")).collect();
        let sql = format!("SELECT * FROM s WHERE {} EMIT CHANGES;", terms.join(" OR "));
        let err = too_deep(&e, &sql);
        // The chain is cut where it passes the limit.
        assert!(err.contains("line 1:"), "{err}");
    });
}

#[test]
fn three_thousand_plus_terms_are_a_nesting_error() {
    on_query_stack(|| {
        let e = with_stream();
        let sql = format!("SELECT a{} FROM s EMIT CHANGES;", " + a".repeat(3_000));
        too_deep(&e, &sql);
    });
}

#[test]
fn five_thousand_nested_parentheses_are_a_nesting_error() {
    on_query_stack(|| {
        let e = with_stream();
        let sql = format!(
            "SELECT {}a{} FROM s EMIT CHANGES;",
            "(".repeat(5_000),
            ")".repeat(5_000)
        );
        too_deep(&e, &sql);
    });
}

#[test]
fn five_thousand_nested_calls_are_a_nesting_error() {
    on_query_stack(|| {
        let e = with_stream();
        let sql = format!(
            "SELECT {}a{} FROM s EMIT CHANGES;",
            "ABS(".repeat(5_000),
            ")".repeat(5_000)
        );
        too_deep(&e, &sql);
    });
}

#[test]
fn other_deep_shapes_are_nesting_errors() {
    on_query_stack(|| {
        let e = with_stream();
        for sql in [
            format!("SELECT {}a FROM s EMIT CHANGES;", "- ".repeat(5_000)),
            format!(
                "SELECT a FROM s WHERE {}a = 1 EMIT CHANGES;",
                "NOT ".repeat(5_000)
            ),
            format!(
                "SELECT ARRAY[a]{} FROM s EMIT CHANGES;",
                "[1]".repeat(5_000)
            ),
            format!(
                "SELECT CAST(NULL AS {}INT{}) FROM s EMIT CHANGES;",
                "ARRAY<".repeat(5_000),
                ">".repeat(5_000)
            ),
            format!(
                "SELECT {}1{} FROM s EMIT CHANGES;",
                "CASE WHEN a = 1 THEN ".repeat(5_000),
                " END".repeat(5_000)
            ),
            // Chains inside chains: each short enough, the whole tree too deep.
            format!(
                "SELECT (a{chain}){chain} FROM s EMIT CHANGES;",
                chain = " + a".repeat(300)
            ),
        ] {
            too_deep(&e, &sql);
        }
    });
}

/// Expressions just inside the limit parse, type, compile and evaluate, in
/// a persistent query (on its thread), a push query and on the caller's
/// thread (a test thread's small stack).
#[test]
fn expressions_at_the_limit_run() {
    on_query_stack(expressions_at_the_limit);
}

fn expressions_at_the_limit() {
    let e = with_stream();
    let n = MAX_NESTING - 10;
    let chain = format!("a{}", " + a".repeat(n));
    let calls = format!("{}a{}", "ABS(".repeat(n - 1), ")".repeat(n - 1));
    let ors: Vec<String> = (0..n).map(|i| format!("a = {}", i + 1)).collect();
    let row = first_row(
        &e,
        &format!(
            "SELECT {chain} AS x, {calls} AS y FROM s WHERE {} EMIT CHANGES;",
            ors.join(" OR ")
        ),
    );
    assert_eq!(row[0].to_string(), (n + 1).to_string());
    assert_eq!(row[1].to_string(), "1");
    e.execute(&format!(
        "CREATE STREAM deep AS SELECT id, {chain} AS x FROM s WHERE {} ;",
        ors.join(" OR ")
    ))
    .unwrap();
    let row = first_row(&e, "SELECT x FROM deep EMIT CHANGES;");
    assert_eq!(row[0].to_string(), (n + 1).to_string());
}

#[test]
fn statements_of_ksqldb_sizes_still_run() {
    on_query_stack(|| {
        let e = with_stream();
        // 10,000 columns.
        let columns: Vec<String> = (0..10_000).map(|i| format!("c{i} INT")).collect();
        e.execute(&format!(
        "CREATE STREAM wide (id INT KEY, {}) WITH (kafka_topic='wide', value_format='JSON', partitions=1);",
        columns.join(", ")
    ))
    .unwrap();
        let picked: Vec<String> = (0..10_000).map(|i| format!("c{i}")).collect();
        e.execute(&format!(
            "CREATE STREAM narrow AS SELECT id, {} FROM wide;",
            picked.join(", ")
        ))
        .unwrap();
        // A 100,000-item IN list.
        let items: Vec<String> = (0..100_000).map(|i| i.to_string()).collect();
        let row = first_row(
            &e,
            &format!(
                "SELECT a FROM s WHERE a IN ({}) EMIT CHANGES;",
                items.join(", ")
            ),
        );
        assert_eq!(row[0].to_string(), "1");
        // A one-megabyte statement (a long string literal and a long CASE).
        let whens: String = (0..20_000)
            .map(|i| format!(" WHEN a = {i} THEN 'x{i}'"))
            .collect();
        let sql = format!(
            "SELECT CASE{whens} ELSE '{}' END AS v FROM s EMIT CHANGES;",
            "z".repeat(1 << 19)
        );
        assert!(sql.len() > 1 << 20, "{}", sql.len());
        let row = first_row(&e, &sql);
        assert_eq!(row[0].to_string(), "x1");
    });
}
