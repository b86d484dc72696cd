//! Tests of table functions (`FlatMapOperator`: EXPLODE, CUBE_EXPLODE) and
//! of the sink's TIMESTAMP column (`TimestampOperator`).

use crate::operators::testing::*;

fn lists() -> Layout {
    layout("K STRING, XS ARRAY<BIGINT>, YS ARRAY<STRING>")
}

#[test]
fn explode_emits_one_row_per_element_with_the_element_appended() {
    let l = lists();
    let f = vec![TableFunction::Explode(l.expr("XS"))];
    let mut h = OpHarness::new(l, FlatMapOperator::new(f));
    h.check(
        "+ a [1,2,3] [] [0,10) @5",
        "
        + a [1,2,3] [] 1 [0,10) @5
        + a [1,2,3] [] 2 [0,10) @5
        + a [1,2,3] [] 3 [0,10) @5
        ",
    );
}

#[test]
fn explode_of_two_lists_pads_the_shorter_one_with_nulls() {
    let l = lists();
    let f = vec![
        TableFunction::Explode(l.expr("XS")),
        TableFunction::Explode(l.expr("YS")),
    ];
    let mut h = OpHarness::new(l, FlatMapOperator::new(f));
    h.check(
        "+ a [1,2] [x] @1",
        "
        + a [1,2] [x] 1 x @1
        + a [1,2] [x] 2 null @1
        ",
    );
}

#[test]
fn explode_of_null_or_empty_lists_and_of_tombstones_produces_nothing() {
    let l = lists();
    let f = vec![TableFunction::Explode(l.expr("XS"))];
    let mut h = OpHarness::new(l, FlatMapOperator::new(f));
    h.check(
        "
        + a null [] @1
        + b [] [] @2
        - c null null @3
        + d [null] [] @4
        ",
        "+ d [null] [] null @4",
    );
}

#[test]
fn cube_explode_emits_every_combination_of_kept_and_nulled_elements() {
    let l = lists();
    let f = vec![TableFunction::CubeExplode(l.expr("XS"))];
    let mut h = OpHarness::new(l, FlatMapOperator::new(f));
    h.check(
        "+ a [1,2] [] @1",
        "
        + a [1,2] [] [null,null] @1
        + a [1,2] [] [null,2] @1
        + a [1,2] [] [1,null] @1
        + a [1,2] [] [1,2] @1
        ",
    );
    // A null element is not varied: repeated combinations come once.
    h.check(
        "+ b [null,1] [] @2",
        "
        + b [null,1] [] [null,null] @2
        + b [null,1] [] [null,1] @2
        ",
    );
}

#[test]
fn table_function_error_is_logged_and_the_row_skipped() {
    let l = layout("K STRING, V BIGINT");
    let f = vec![TableFunction::Explode(l.expr("ARRAY[V, 10 / V]"))];
    let mut h = OpHarness::new(l, FlatMapOperator::new(f));
    h.check(
        "
        + a 0 @1
        + b 5 @2
        ",
        "
        + b 5 5 @2
        + b 5 2 @2
        ",
    );
    assert_eq!(
        h.errors(),
        vec!["Table function failed: / by zero in [a, 0]".to_string()]
    );
}

fn stamped() -> Layout {
    layout("K STRING, T BIGINT, S STRING")
}

#[test]
fn timestamp_takes_event_time_from_a_column_and_drops_unreadable_rows() {
    let mut h = OpHarness::new(stamped(), TimestampOperator::new(1, "TS", None));
    h.check(
        "
        + a 5000 x @1
        + b -5 x @2
        + c null x @3
        - d null null @4
        + e 0 x [0,10) @9
        ",
        "
        + a 5000 x @5000
        # A tombstone keeps its time: it has no column to read.
        - d null null @4
        + e 0 x [0,10) @0
        ",
    );
    assert_eq!(
        h.errors(),
        vec![
            "Negative timestamp -5 for the sink in [b, -5, x]".to_string(),
            "Failed to extract timestamp: Timestamp column is null in [c, null, x]".to_string(),
        ]
    );
}

#[test]
fn timestamp_parses_a_string_column_with_a_format() {
    let mut h = OpHarness::new(
        stamped(),
        TimestampOperator::new(2, "TS", Some("yyyy-MM-dd HH:mm:ss".into())),
    );
    h.check(
        "
        + a 0 '2020-01-01 00:00:01' @1
        + b 0 nope @2
        ",
        "+ a 0 '2020-01-01 00:00:01' @1577836801000",
    );
    let errors = h.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("Failed to extract timestamp: ")
            && errors[0].ends_with("[b, 0, nope]"),
        "{errors:?}"
    );
}
