//! Tests of GROUP BY without windows (`AggregateOperator`) over streams
//! and table changes, and of HAVING as the planner wires it: a
//! `FilterOperator::having` after the aggregation.

use crate::operators::testing::*;

/// `SELECT K, COUNT(*), SUM(V) FROM <stream> GROUP BY K`.
fn count_and_sum(l: &Layout, table_input: bool) -> AggregateOperator {
    AggregateOperator::new(
        vec![l.expr("K")],
        vec![l.aggregate("COUNT(*)"), l.aggregate("SUM(V)")],
        None,
        None,
        table_input,
    )
}

#[test]
fn stream_aggregate_counts_and_sums_per_key() {
    let l = layout("K STRING, V BIGINT");
    let mut h = OpHarness::new(l.clone(), count_and_sum(&l, false));
    h.check(
        "
        + a 1 @1
        + b 10 @2
        + a 2 @3
        + a null @4
        - a null @5
        + null 7 @6
        ",
        "
        + a 1 1 @1
        + b 1 10 @2
        + a 2 3 @3
        # SUM skips nulls; COUNT(*) counts the row.
        + a 3 3 @4
        # Stream tombstones and rows of a null group key are left out.
        ",
    );
    // Results are BIGINT counts and BIGINT sums of BIGINT.
    let out = h.process("+ a 1 @7");
    assert_eq!(out[0].values[1..], [Value::BigInt(4), Value::BigInt(4)]);
}

#[test]
fn aggregate_result_time_is_the_largest_time_folded_in() {
    let l = layout("K STRING, V BIGINT");
    let mut h = OpHarness::new(l.clone(), count_and_sum(&l, false));
    h.check_each(
        "
        + a 1 @10
        + a 1 @5
        + b 1 @7
        + a 1 @12
        ",
        "
        + a 1 1 @10
        + a 2 2 @10
        + b 1 1 @7
        + a 3 3 @12
        ",
    );
}

#[test]
fn group_by_expression_error_is_logged_and_the_row_left_out() {
    let l = layout("K STRING, V BIGINT");
    let op = AggregateOperator::new(
        vec![l.expr("100 / V")],
        vec![l.aggregate("COUNT(*)")],
        None,
        None,
        false,
    );
    let mut h = OpHarness::new(l, op);
    h.check(
        "
        + a 0 @1
        + b 50 @2
        + c 40 @3
        ",
        "
        + 2 1 @2
        + 2 2 @3
        ",
    );
    assert_eq!(
        h.errors(),
        vec!["Error computing GROUP BY expression: / by zero in [a, 0]".to_string()]
    );
}

/// A table keyed by ID, grouped by K.
fn table() -> Layout {
    layout("ID STRING, K STRING, V BIGINT")
}

#[test]
fn table_aggregate_retracts_the_row_an_update_replaces() {
    let l = table();
    let mut h = OpHarness::new(l.clone(), count_and_sum(&l, true));
    h.check(
        "
        + r1 a 5 @1
        + r2 a 3 @2
        + r1 a 7 @3 old(r1 a 5)
        + r1 b 7 @4 old(r1 a 7)
        ",
        "
        + a 1 5 @1
        + a 2 8 @2
        # Same group: the retraction and the addition are one change.
        + a 2 10 @3
        # Another group: the old group loses the row, the new one gains it.
        + a 1 3 @4
        + b 1 7 @4
        ",
    );
}

#[test]
fn table_tombstone_retracts_its_row_and_an_emptied_group_stays_at_zero() {
    let l = table();
    let mut h = OpHarness::new(l.clone(), count_and_sum(&l, true));
    h.check(
        "
        + r1 a 5 @1
        + r2 a 3 @2
        - r2 null null @3 old(r2 a 3)
        - r1 null null @4 old(r1 a 5)
        - r9 null null @5
        + r3 a 1 @6
        ",
        "
        + a 1 5 @1
        + a 2 8 @2
        + a 1 5 @3
        # As in ksqlDB (Kafka Streams' table aggregation keeps the
        # subtracted state), the emptied group is updated, not deleted.
        + a 0 0 @4
        + a 1 1 @6
        ",
    );
}

#[test]
fn table_update_with_a_null_group_key_only_retracts() {
    let l = table();
    let mut h = OpHarness::new(l.clone(), count_and_sum(&l, true));
    h.check(
        "
        + r1 a 5 @1
        + r1 null 6 @2 old(r1 a 5)
        + r1 b 7 @3 old(r1 null 6)
        ",
        "
        + a 1 5 @1
        + a 0 0 @2
        + b 1 7 @3
        ",
    );
}

#[test]
fn changelog_gets_each_changed_group_once_per_batch() {
    let l = layout("K STRING, V BIGINT");
    let op = AggregateOperator::new(
        vec![l.expr("K")],
        vec![l.aggregate("COUNT(*)")],
        None,
        Some("agg-changelog".into()),
        false,
    );
    let mut h = OpHarness::new(l, op);
    h.process(
        "
        + a 1 @1
        + a 1 @2
        + b 1 @3
        + a 1 @4
        ",
    );
    let logged: Vec<(String, String, String)> = h
        .ctx
        .changelog
        .iter()
        .map(|(topic, r)| {
            let text = |b: &Option<Vec<u8>>| String::from_utf8(b.clone().unwrap_or_default());
            (
                topic.clone(),
                text(&r.key).unwrap(),
                text(&r.value).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        logged,
        vec![
            (
                "agg-changelog".into(),
                r#"["a"]"#.into(),
                r#"[["a"],[3],4,null]"#.into()
            ),
            (
                "agg-changelog".into(),
                r#"["b"]"#.into(),
                r#"[["b"],[1],3,null]"#.into()
            ),
        ]
    );
}

/// The aggregation then `HAVING <having>`, over the aggregate's columns
/// `K, CNT, TOTAL` (and window bounds when windowed).
pub(super) fn with_having(agg: AggregateOperator, having: &str, windowed: bool) -> Chain {
    let mut cols = "K STRING, CNT BIGINT, TOTAL BIGINT".to_string();
    if windowed {
        cols.push_str(", WINDOWSTART BIGINT, WINDOWEND BIGINT");
    }
    let predicate = layout(&cols).expr(having);
    Chain(vec![
        Box::new(agg),
        Box::new(FilterOperator::having(predicate, vec![0])),
    ])
}

#[test]
fn having_shows_a_group_once_it_matches() {
    let l = layout("K STRING, V BIGINT");
    let chain = with_having(count_and_sum(&l, false), "CNT > 1", false);
    let mut h = OpHarness::new(l, chain);
    h.check(
        "
        + a 1 @1
        + b 1 @2
        + a 1 @3
        + a 1 @4
        ",
        "
        + a 2 2 @3
        + a 3 3 @4
        ",
    );
}

#[test]
fn having_deletes_a_shown_group_that_stops_matching_once() {
    let l = table();
    let chain = with_having(count_and_sum(&l, true), "TOTAL > 5", false);
    let mut h = OpHarness::new(l, chain);
    h.check(
        "
        + r1 a 3 @1
        + r2 a 4 @2
        + r2 a 1 @3 old(r2 a 4)
        + r3 a 1 @4
        + r3 a 9 @5 old(r3 a 1)
        - r3 null null @6 old(r3 a 9)
        ",
        "
        + a 2 7 @2
        - a 2 4 @3
        + a 3 13 @5
        - a 2 4 @6
        ",
    );
}
