//! Tests of windowed stream-stream joins (`StreamStreamJoinOperator`):
//! WITHIN windows in both arrival orders, outer joins with and without a
//! GRACE PERIOD, and rows older than the join's retention.
//!
//! Joined rows are `L.ID LV R.ID RV ROWKEY`, timed by the later row.

use crate::operators::testing::*;

const DAY: i64 = 24 * 3_600_000;

/// A join on ID of `WITHIN (before, after)` with a grace period; `held`
/// when the grace period is explicit (unmatched outer rows wait for their
/// window to close).
fn join(
    kind: JoinKind,
    within: (i64, i64),
    grace: i64,
    held: bool,
) -> JoinHarness<StreamStreamJoinOperator> {
    join_windowed(kind, within, grace, held, None)
}

/// [`join`] of two windowed sources (windowed alike).
fn join_windowed(
    kind: JoinKind,
    (before, after): (i64, i64),
    grace: i64,
    held: bool,
    window: Option<WindowInfo>,
) -> JoinHarness<StreamStreamJoinOperator> {
    let l = layout("ID STRING, LV BIGINT");
    let r = layout("ID STRING, RV BIGINT");
    let op = StreamStreamJoinOperator::new(
        join_layout(&l, &r),
        [l.expr("ID"), r.expr("ID")],
        kind,
        (before, after, grace),
        held,
        window,
    );
    JoinHarness::new(l, r, op)
}

#[test]
fn inner_join_matches_rows_within_the_window_in_either_order() {
    let mut h = join(JoinKind::Inner, (10_000, 10_000), DAY, false);
    h.check(
        "
        left: + a 1 @1000
        right: + a 10 @5000
        right: + a 11 @20000
        left: + a 2 @15000
        right: + b 12 @15000
        left: - a 3 @15000
        ",
        "
        + a 1 a 10 a @5000
        # A new row meets every buffered row in its window, oldest first.
        + a 2 a 10 a @15000
        + a 2 a 11 a @20000
        ",
    );
}

#[test]
fn within_before_and_after_bound_the_right_rows_time() {
    // WITHIN (1 SECOND, 5 SECONDS): right in [left - 1s, left + 5s].
    let mut h = join(JoinKind::Inner, (1_000, 5_000), DAY, false);
    h.check(
        "
        left: + a 1 @10000
        right: + a 10 @8999
        right: + a 11 @9000
        right: + a 12 @15000
        right: + a 13 @15001
        left: + a 2 @16000
        ",
        "
        + a 1 a 11 a @10000
        + a 1 a 12 a @15000
        # Seen from the left: the right rows of [15000, 21000].
        + a 2 a 12 a @16000
        + a 2 a 13 a @16000
        ",
    );
}

#[test]
fn left_join_without_grace_period_pads_unmatched_rows_at_once() {
    let mut h = join(JoinKind::Left, (1_000, 1_000), DAY, false);
    h.check(
        "
        left: + a 1 @1000
        right: + a 10 @1500
        right: + b 20 @3000
        left: + c 3 @4000
        ",
        "
        + a 1 null null a @1000
        + a 1 a 10 a @1500
        + c 3 null null c @4000
        ",
    );
}

#[test]
fn left_join_with_grace_period_holds_unmatched_rows_until_their_window_closes() {
    let mut h = join(JoinKind::Left, (1_000, 1_000), 500, true);
    h.check(
        "
        left: + a 1 @1000
        left: + b 2 @1200
        right: + a 10 @1500
        right: + y 0 @2000
        ",
        "
        # a matched before its window closed: no padded row for it.
        + a 1 a 10 a @1500
        ",
    );
    // b's window closes at 1200 + 1000 + 500: a row past that releases it
    // (with b's own time), before the row's own results.
    h.check("right: + x 0 @2700", "");
    h.check(
        "
        right: + z 0 @2701
        left: + z 5 @2701
        ",
        "
        + b 2 null null b @1200
        + z 5 z 0 z @2701
        ",
    );
}

#[test]
fn full_outer_join_pads_either_side() {
    let mut h = join(JoinKind::Full, (1_000, 1_000), DAY, false);
    h.check(
        "
        left: + a 1 @1000
        right: + b 20 @1000
        right: + a 10 @1500
        ",
        "
        + a 1 null null a @1000
        + null null b 20 b @1000
        + a 1 a 10 a @1500
        ",
    );
}

#[test]
fn full_outer_join_with_grace_period_releases_held_rows_oldest_first() {
    let mut h = join(JoinKind::Full, (1_000, 1_000), 0, true);
    h.check(
        "
        left: + a 1 @1000
        right: + b 20 @1000
        left: + c 3 @900
        ",
        "",
    );
    h.check(
        "left: + x 9 @5000",
        "
        + c 3 null null c @900
        # At equal times, right rows come first.
        + null null b 20 b @1000
        + a 1 null null a @1000
        ",
    );
}

#[test]
fn rows_older_than_the_retention_still_join_but_are_not_kept() {
    // Each side keeps rows for before + after + grace = 2000 behind its
    // latest time.
    let mut h = join(JoinKind::Inner, (1_000, 1_000), 0, false);
    h.check(
        "
        left: + a 1 @10000
        right: + a 10 @10500
        left: + a 2 @9800
        left: + b 3 @20000
        left: + a 4 @11000
        right: + a 11 @11900
        ",
        "
        + a 1 a 10 a @10500
        + a 2 a 10 a @10500
        # Left time is 20000: a 4 is too old to keep, yet it joins.
        + a 4 a 10 a @11000
        # a 4 would meet a 11, but was not kept.
        ",
    );
    assert_eq!(h.ctx.late_records, 1);
}

#[test]
fn windowed_sources_join_only_rows_of_the_same_window() {
    let tumbling = Some(WindowInfo::Tumbling { size: 10_000 });
    let mut h = join_windowed(JoinKind::Left, (DAY, DAY), DAY, false, tumbling);
    h.check(
        "
        left: + a 1 [0,10000) @5000
        right: + a 10 [10000,20000) @12000
        right: + a 11 [0,10000) @6000
        ",
        "
        + a 1 null null a [0,10000) @5000
        + a 1 a 11 a [0,10000) @6000
        ",
    );
}
