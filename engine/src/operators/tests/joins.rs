//! Tests of the joins that involve tables: stream-table
//! (`StreamTableJoinOperator`), table-table on the primary key
//! (`TableTableJoinOperator`) and foreign-key (`FkJoinOperator`).
//!
//! Joined rows are the left values, the right values, then the join key
//! (ROWKEY); a missing side is NULLs.

use crate::operators::testing::*;

fn stream() -> Layout {
    layout("ID STRING, SV BIGINT")
}

fn table() -> Layout {
    layout("TK STRING, TV BIGINT")
}

fn stream_table(outer: bool) -> JoinHarness<StreamTableJoinOperator> {
    let (l, r) = (stream(), table());
    let op = StreamTableJoinOperator::new(join_layout(&l, &r), l.expr("ID"), 0, outer);
    JoinHarness::new(l, r, op)
}

#[test]
fn stream_table_inner_join_looks_up_the_current_table_row() {
    let mut h = stream_table(false);
    h.check(
        "
        left: + a 1 @1000
        right: + a 10 @500
        left: + a 2 @2000
        right: + a 11 @3000
        left: + a 3 @2500
        right: - a null @4000
        left: + a 4 @5000
        ",
        "
        # Table changes produce nothing; stream rows take the table's
        # latest row, whatever its time.
        + a 2 a 10 a @2000
        + a 3 a 11 a @2500
        ",
    );
}

#[test]
fn stream_table_left_join_pads_unmatched_stream_rows() {
    let mut h = stream_table(true);
    h.check(
        "
        left: + a 1 @1000
        right: + a 10 @1500
        left: + a 2 @2000
        right: - a null @3000
        left: + a 3 @4000
        left: + null 5 @4500
        left: - a null @4600
        right: + b 20 @4700 nokey
        left: + b 6 @5000
        ",
        "
        + a 1 null null a @1000
        + a 2 a 10 a @2000
        + a 3 null null a @4000
        # A null join key, a stream tombstone and a table record without a
        # key take no part.
        + b 6 null null b @5000
        ",
    );
}

#[test]
fn stream_table_join_key_expression_error_is_logged_and_the_row_dropped() {
    let l = layout("ID STRING, N BIGINT");
    let r = layout("TK BIGINT, TV STRING");
    let op = StreamTableJoinOperator::new(join_layout(&l, &r), l.expr("100 / N"), 0, true);
    let mut h = JoinHarness::new(l, r, op);
    h.check(
        "
        right: + 50 x @1
        left: + a 2 @2
        left: + b 0 @3
        ",
        "+ a 2 50 x 50 @2",
    );
    assert_eq!(
        h.errors(),
        vec!["Error computing join key: / by zero in [b, 0]".to_string()]
    );
}

fn table_table(kind: JoinKind) -> JoinHarness<TableTableJoinOperator> {
    let l = layout("ID STRING, LV BIGINT");
    let r = layout("ID STRING, RV BIGINT");
    let op = TableTableJoinOperator::new(join_layout(&l, &r), 0, 0, kind);
    JoinHarness::new(l, r, op)
}

#[test]
fn table_table_inner_join_updates_and_deletes_the_joined_row() {
    let mut h = table_table(JoinKind::Inner);
    h.check(
        "
        left: + a 1 @100
        right: + a 10 @200
        left: + a 2 @150
        right: + b 20 @160
        right: - a null @300
        right: - a null @400
        left: - a null @500
        left: + a 3 @600
        right: + a 30 @700
        left: - a null @800
        ",
        "
        # The result's time is the later of the two rows'.
        + a 1 a 10 a @200
        + a 2 a 10 a @200
        # A delete carries the key in every key column.
        - a null a null a @300
        + a 3 a 30 a @700
        - a null a null a @800
        ",
    );
}

#[test]
fn table_table_left_join_keeps_left_rows_and_deletes_with_them() {
    let mut h = table_table(JoinKind::Left);
    h.check(
        "
        left: + a 1 @100
        right: + a 10 @200
        right: + b 20 @250
        left: + a 2 @300
        right: - b null @350
        left: - a null @400
        right: - a null @500
        ",
        "
        + a 1 null null a @100
        + a 1 a 10 a @200
        + a 2 a 10 a @300
        - a null a null a @400
        ",
    );
}

#[test]
fn table_table_full_outer_join_keeps_either_side() {
    let mut h = table_table(JoinKind::Full);
    h.check(
        "
        right: + b 20 @100
        left: + a 1 @200
        right: + a 10 @300
        right: - b null @500
        left: + a 2 @600
        right: - b null @700
        ",
        "
        + null null b 20 b @100
        + a 1 null null a @200
        + a 1 a 10 a @300
        - b null b null b @500
        + a 2 a 10 a @600
        ",
    );
}

#[test]
fn outer_table_table_join_row_left_by_a_delete_is_timed_by_the_delete() {
    let mut left = table_table(JoinKind::Left);
    left.check(
        "
        left: + a 1 @100
        right: + a 10 @200
        right: - a null @300
        ",
        "
        + a 1 null null a @100
        + a 1 a 10 a @200
        + a 1 null null a @300
        ",
    );
    let mut full = table_table(JoinKind::Full);
    full.check(
        "
        left: + a 1 @100
        right: + a 10 @200
        left: - a null @500
        ",
        "
        + a 1 null null a @100
        + a 1 a 10 a @200
        + null null a 10 a @500
        ",
    );
}

#[test]
fn table_table_join_delete_is_timed_by_the_later_of_it_and_the_other_side() {
    let mut inner = table_table(JoinKind::Inner);
    inner.check(
        "
        right: + a 10 @500
        left: + a 1 @100
        left: - a null @300
        ",
        "
        + a 1 a 10 a @500
        # The right row is later than the delete: the delete takes its time.
        - a null a null a @500
        ",
    );
    let mut left = table_table(JoinKind::Left);
    left.check(
        "
        left: + a 1 @100
        right: + a 10 @400
        right: - a null @200
        left: - a null @300
        ",
        "
        + a 1 null null a @100
        + a 1 a 10 a @400
        # The left row stays, timed by the later of it and the delete.
        + a 1 null null a @200
        # Nothing is left on the right: the delete's own time.
        - a null a null a @300
        ",
    );
}

fn fk_join(outer: bool) -> JoinHarness<FkJoinOperator> {
    let l = layout("ID STRING, NAME STRING, FK BIGINT");
    let r = layout("RID BIGINT, F1 STRING");
    let op = FkJoinOperator::new(join_layout(&l, &r), vec![0], l.expr("FK"), 0, outer);
    JoinHarness::new(l, r, op)
}

#[test]
fn fk_inner_join_follows_right_changes_to_every_referring_left_row() {
    // ksqlDB's "Should support inner join with left value-column
    // expression", keyed by strings.
    let mut h = fk_join(false);
    h.check(
        "
        right: + 0 blah @0
        left: + k1 zero 0 @10000
        left: + k0 foo 100 @13000
        right: + 0 a @15000
        left: + k10 bar 0 @16000
        right: - 0 null @17000
        left: - k1 null null @18000
        ",
        "
        + k1 zero 0 0 blah k1 @10000
        + k1 zero 0 0 a k1 @15000
        + k10 bar 0 0 a k10 @16000
        - k1 zero 0 null null k1 @17000
        - k10 bar 0 null null k10 @17000
        # A deleted left row is always deleted from the result.
        - k1 null null null null k1 @18000
        ",
    );
}

#[test]
fn fk_left_join_moves_a_left_row_to_its_new_foreign_key() {
    let mut h = fk_join(true);
    h.check(
        "
        left: + k1 zero 0 @0
        right: + 0 blah @10000
        right: + 1 one @10500
        left: + k1 zero 1 @11000
        right: + 0 again @12000
        left: + k1 zero null @13000
        right: - 1 null @14000
        ",
        "
        + k1 zero 0 null null k1 @0
        + k1 zero 0 0 blah k1 @10000
        + k1 zero 1 1 one k1 @11000
        + k1 zero null null null k1 @13000
        ",
    );
}

#[test]
fn fk_inner_join_deletes_a_row_whose_new_foreign_key_has_no_match() {
    let mut h = fk_join(false);
    h.check(
        "
        right: + 0 blah @0
        left: + k1 zero 0 @10
        left: + k1 zero 5 @20
        left: + k1 zero 6 @30
        right: + 6 six @40
        ",
        "
        + k1 zero 0 0 blah k1 @10
        - k1 zero 5 null null k1 @20
        + k1 zero 6 6 six k1 @40
        ",
    );
}
