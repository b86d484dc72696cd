//! What a user sees when an analytic SELECT is wrong.

use super::market;

fn error(sql: &str) -> sluice_engine::Error {
    market().execute(sql).expect_err(sql)
}

#[test]
fn an_unknown_column_is_named() {
    let e = error("SELECT nope FROM volume ORDER BY symbol;");
    let msg = e.to_string();
    assert!(msg.contains("NOPE"), "{msg}");
    // A statement error, as ksqlDB's REST API reports it (40001).
    assert_eq!(e.code(), 40001, "{msg}");
}

#[test]
fn an_unknown_source_is_named_as_ksqldb_names_it() {
    let msg = error("SELECT symbol FROM nowhere ORDER BY symbol;").to_string();
    assert!(msg.contains("NOWHERE does not exist."), "{msg}");
}

#[test]
fn type_errors_say_what_does_not_fit() {
    let msg = error("SELECT UCASE(shares) FROM volume ORDER BY symbol;").to_string();
    assert!(
        msg.contains("Function 'UCASE' does not accept parameters (INTEGER)"),
        "{msg}"
    );
    let msg = error("SELECT symbol FROM volume WHERE symbol > 3 ORDER BY symbol;").to_string();
    assert!(!msg.is_empty());
}

#[test]
fn text_neither_parser_reads_reports_the_engines_parse_error() {
    let msg = error("SELECT symbol FROM volume ORDER BY symbol LIMIT;").to_string();
    assert!(
        !msg.starts_with(sluice_engine::analytic::PARSE_ERROR),
        "{msg}"
    );
    assert!(msg.contains("line 1:"), "{msg}");
}
