//! Tests of the row-by-row operators over streams and table changes:
//! WHERE (`FilterOperator`), the SELECT list (`ProjectOperator`) and table
//! materialization (`MaterializeOperator`).

use crate::operators::testing::*;

fn kv() -> Layout {
    layout("K STRING, V BIGINT")
}

#[test]
fn filter_keeps_true_and_drops_false_null_and_stream_tombstones() {
    let l = kv();
    let mut h = OpHarness::new(l.clone(), FilterOperator::new(l.expr("V > 3")));
    h.check(
        "
        + a 5 @1
        + b 3 @2
        + c null @3
        - d 9 @4
        + e 4 [0,10) @5 nokey
        ",
        "
        + a 5 @1
        + e 4 [0,10) @5 nokey
        ",
    );
    assert!(h.errors().is_empty());
}

#[test]
fn filter_expression_error_is_logged_and_the_row_skipped() {
    let l = kv();
    let mut h = OpHarness::new(l.clone(), FilterOperator::new(l.expr("10 / V > 1")));
    h.check(
        "
        + a 0 @1
        + b 2 @2
        ",
        "+ b 2 @2",
    );
    assert_eq!(
        h.errors(),
        vec!["Error evaluating predicate: / by zero in [a, 0]".to_string()]
    );
}

#[test]
fn table_filter_deletes_a_key_that_stops_matching() {
    let l = kv();
    let mut h = OpHarness::new(l.clone(), FilterOperator::for_table(l.expr("V > 3")));
    h.check(
        "
        + a 5 @1
        + a 2 @2 old(a 5)
        + a 1 @3 old(a 2)
        + a 7 @4 old(a 1)
        + a 8 @5 old(a 7)
        - a null @6 old(a 8)
        ",
        "
        + a 5 @1
        - a 2 @2 old(a 5)
        # The old row did not match: it is not passed on to be retracted.
        + a 7 @4
        + a 8 @5 old(a 7)
        - a null @6 old(a 8)
        ",
    );
}

#[test]
fn table_filter_is_silent_for_a_key_that_never_matched() {
    let l = kv();
    let mut h = OpHarness::new(l.clone(), FilterOperator::for_table(l.expr("V > 3")));
    h.check(
        "
        + b 1 @1
        + b 2 @2 old(b 1)
        - b null @3 old(b 2)
        - c null @4
        ",
        "",
    );
}

#[test]
fn project_computes_expressions_and_keeps_time_window_and_key_flag() {
    let l = kv();
    let exprs = vec![l.expr("K"), l.expr("V * 2"), l.expr("CONCAT(K, '!')")];
    let mut h = OpHarness::new(l, ProjectOperator::new(exprs, vec![0]));
    h.check(
        "
        + a 5 [0,10) @3 nokey
        + b null @4
        ",
        "
        + a 10 'a!' [0,10) @3 nokey
        + b null 'b!' @4
        ",
    );
}

#[test]
fn project_tombstone_computes_only_key_columns_and_old_values_fully() {
    let l = kv();
    let exprs = vec![l.expr("K"), l.expr("V * 2"), l.expr("CONCAT(K, '!')")];
    let mut h = OpHarness::new(l, ProjectOperator::new(exprs, vec![0]));
    h.check(
        "
        + a 5 @1 old(a 4)
        - a null @2 old(a 5)
        ",
        "
        + a 10 'a!' @1 old(a 8 'a!')
        - a null null @2 old(a 10 'a!')
        ",
    );
}

#[test]
fn project_expression_error_yields_null_and_is_logged() {
    let l = kv();
    let exprs = vec![l.expr("K"), l.expr("10 / V")];
    let mut h = OpHarness::new(l, ProjectOperator::new(exprs, vec![0]));
    h.check(
        "
        + a 0 @1
        + b 5 @2
        ",
        "
        + a null @1
        + b 2 @2
        ",
    );
    assert_eq!(
        h.errors(),
        vec!["Error computing expression: / by zero in [a, 0]".to_string()]
    );
}

#[test]
fn project_rearranges_columns_and_rekeying_gives_rows_a_key() {
    let l = kv();
    let swap = || vec![l.expr("V"), l.expr("K")];
    let mut plain = OpHarness::new(l.clone(), ProjectOperator::new(swap(), vec![1]));
    plain.check("+ a 5 @1 nokey", "+ 5 a @1 nokey");
    let mut rekey = OpHarness::new(l.clone(), ProjectOperator::rekey(swap(), vec![]));
    rekey.check(
        "
        + a 5 @1 nokey
        - a null @2
        ",
        "
        + 5 a @1
        # The new key is computed from a value column: a tombstone has none.
        - null null @2
        ",
    );
}

#[test]
fn materialize_annotates_each_change_with_the_row_it_replaces() {
    let l = kv();
    let mut h = OpHarness::new(l, MaterializeOperator::new(vec![0]));
    h.check(
        "
        + a 1 @1
        + b 2 @2
        + a 3 @3
        - a null @4
        - x null @5
        + a 5 @6
        + c 9 @7 nokey
        ",
        "
        + a 1 @1
        + b 2 @2
        + a 3 @3 old(a 1)
        - a null @4 old(a 3)
        - x null @5
        + a 5 @6
        ",
    );
    // The state outlives the batch.
    h.check("+ b 4 @8", "+ b 4 @8 old(b 2)");
    let mut current: Vec<String> =
        h.op.rows()
            .map(|r| r.iter().map(render_value).collect::<Vec<_>>().join(" "))
            .collect();
    current.sort();
    assert_eq!(current, vec!["a 5", "b 4"]);
}
