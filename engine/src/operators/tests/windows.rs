//! Tests of windowed aggregation (`AggregateOperator` with a
//! `WindowAssigner`): tumbling, hopping and session windows, the grace
//! period and late rows, EMIT FINAL, and HAVING over session merges.
//!
//! Result rows are `K, COUNT(*), WINDOWSTART, WINDOWEND` with the row's
//! window; sessions are shown with the same `[start,end)` brackets though
//! their end is inclusive.

use super::aggregate::with_having;
use crate::operators::testing::*;

const DAY: i64 = 24 * 3_600_000;

fn kv() -> Layout {
    layout("K STRING, V BIGINT")
}

/// `SELECT K, COUNT(*) FROM <stream> WINDOW ... GROUP BY K`.
fn count(window: WindowAssigner) -> AggregateOperator {
    let l = kv();
    AggregateOperator::new(
        vec![l.expr("K")],
        vec![l.aggregate("COUNT(*)")],
        Some(window),
        None,
        false,
    )
}

#[test]
fn tumbling_windows_count_per_key_and_window() {
    let op = count(WindowAssigner::Tumbling {
        size: 10_000,
        grace: 5_000,
    });
    let mut h = OpHarness::new(kv(), op);
    h.check(
        "
        + a 1 @1000
        + a 1 @9999
        + a 1 @10000
        + b 1 @2000
        ",
        "
        + a 1 0 10000 [0,10000) @1000
        + a 2 0 10000 [0,10000) @9999
        + a 1 10000 20000 [10000,20000) @10000
        + b 1 0 10000 [0,10000) @2000
        ",
    );
    assert_eq!(h.ctx.late_records, 0);
}

#[test]
fn tumbling_rows_past_the_grace_period_are_dropped_and_counted() {
    let op = count(WindowAssigner::Tumbling {
        size: 10_000,
        grace: 2_000,
    });
    let mut h = OpHarness::new(kv(), op);
    h.check(
        "
        + a 1 @1000
        + a 1 @11999
        + a 1 @9000
        + a 1 @12000
        + a 1 @9500
        + b 1 @100
        ",
        "
        + a 1 0 10000 [0,10000) @1000
        + a 1 10000 20000 [10000,20000) @11999
        # Stream time 11999: [0,10000) closes at 12000, still open.
        + a 2 0 10000 [0,10000) @9000
        + a 2 10000 20000 [10000,20000) @12000
        # Stream time 12000: [0,10000) has closed, for every key.
        ",
    );
    assert_eq!(h.ctx.late_records, 2);
}

#[test]
fn hopping_windows_take_a_row_into_every_window_containing_it() {
    let op = count(WindowAssigner::Hopping {
        size: 10_000,
        advance: 5_000,
        grace: DAY,
    });
    let mut h = OpHarness::new(kv(), op);
    h.check(
        "
        + a 1 @7000
        + a 1 @12000
        + a 1 @2000
        ",
        "
        + a 1 0 10000 [0,10000) @7000
        + a 1 5000 15000 [5000,15000) @7000
        + a 2 5000 15000 [5000,15000) @12000
        + a 1 10000 20000 [10000,20000) @12000
        # Windows starting before 0 are left out.
        + a 2 0 10000 [0,10000) @7000
        ",
    );
}

#[test]
fn session_windows_grow_and_merge_deleting_the_sessions_they_replace() {
    let op = count(WindowAssigner::Session {
        gap: 5_000,
        grace: DAY,
    });
    let mut h = OpHarness::new(kv(), op);
    h.check(
        "
        + a 1 @1000
        + a 1 @3000
        + a 1 @20000
        + a 1 @12000
        + b 1 @12500
        + a 1 @16000
        ",
        "
        + a 1 1000 1000 [1000,1000) @1000
        - a 1 1000 1000 [1000,1000) @1000
        + a 2 1000 3000 [1000,3000) @3000
        + a 1 20000 20000 [20000,20000) @20000
        + a 1 12000 12000 [12000,12000) @12000
        + b 1 12500 12500 [12500,12500) @12500
        # 16000 is within the gap of both [12000] and [20000]: one session.
        - a 1 12000 12000 [12000,12000) @12000
        - a 1 20000 20000 [20000,20000) @20000
        + a 3 12000 20000 [12000,20000) @20000
        ",
    );
}

#[test]
fn session_rows_past_gap_and_grace_are_dropped_and_counted() {
    let op = count(WindowAssigner::Session {
        gap: 5_000,
        grace: 1_000,
    });
    let mut h = OpHarness::new(kv(), op);
    h.check(
        "
        + a 1 @20000
        + a 1 @13999
        + a 1 @14000
        ",
        "
        + a 1 20000 20000 [20000,20000) @20000
        # 13999 + gap 5000 + grace 1000 < stream time 20000: late.
        + a 1 14000 14000 [14000,14000) @14000
        ",
    );
    assert_eq!(h.ctx.late_records, 1);
}

#[test]
fn session_rows_within_the_gap_merge_without_a_grace_period() {
    let op = count(WindowAssigner::Session {
        gap: 5_000,
        grace: 0,
    });
    let mut h = OpHarness::new(kv(), op);
    h.check(
        "
        + a 1 @1000
        + a 1 @3000
        ",
        "
        + a 1 1000 1000 [1000,1000) @1000
        - a 1 1000 1000 [1000,1000) @1000
        + a 2 1000 3000 [1000,3000) @3000
        ",
    );
}

#[test]
fn session_rows_merge_across_the_gap_in_either_order_without_a_grace_period() {
    let op = count(WindowAssigner::Session {
        gap: 5_000,
        grace: 0,
    });
    let mut h = OpHarness::new(kv(), op);
    h.check_each(
        "
        + a 1 @3000
        + a 1 @1000
        + b 1 @2000
        + b 1 @7000
        ",
        "
        + a 1 3000 3000 [3000,3000) @3000
        # Out of order, within the gap before the session: merged.
        - a 1 3000 3000 [3000,3000) @3000
        + a 2 1000 3000 [1000,3000) @3000
        + b 1 2000 2000 [2000,2000) @2000
        # Exactly the gap after the session's end: merged.
        - b 1 2000 2000 [2000,2000) @2000
        + b 2 2000 7000 [2000,7000) @7000
        ",
    );
    assert_eq!(h.ctx.late_records, 0);
}

#[test]
fn session_row_past_end_gap_and_grace_is_dropped_and_counted() {
    let op = count(WindowAssigner::Session {
        gap: 5_000,
        grace: 0,
    });
    let mut h = OpHarness::new(kv(), op);
    h.check_each(
        "
        + a 1 @1000
        + b 1 @3000
        + b 1 @7000
        + a 1 @1500
        + a 1 @2000
        + b 1 @1500
        ",
        "
        + a 1 1000 1000 [1000,1000) @1000
        + b 1 3000 3000 [3000,3000) @3000
        - b 1 3000 3000 [3000,3000) @3000
        + b 2 3000 7000 [3000,7000) @7000
        # Stream time 7000: the session [1000] closed at 1000 + gap 5000, so
        # a row within its gap is late (1500 + gap < 7000) ...
        # ... while one at stream time minus the gap is not, and starts a
        # session of its own: the closed one is no longer there to merge.
        + a 1 2000 2000 [2000,2000) @2000
        # A row older than stream time minus the gap still counts when it
        # falls within the gap of a session that is open.
        - b 2 3000 7000 [3000,7000) @7000
        + b 3 1500 7000 [1500,7000) @7000
        ",
    );
    assert_eq!(h.ctx.late_records, 1);
}

#[test]
fn emit_final_emits_each_window_once_when_stream_time_passes_its_end() {
    let op = count(WindowAssigner::Tumbling {
        size: 10_000,
        grace: 0,
    })
    .emit_final();
    let mut h = OpHarness::new(kv(), op);
    h.check(
        "
        + a 1 @1000
        + b 1 @9999
        + a 1 @5000
        ",
        "",
    );
    h.check(
        "+ a 1 @10000",
        "
        + a 2 0 10000 [0,10000) @5000
        + b 1 0 10000 [0,10000) @9999
        ",
    );
    h.check(
        "
        + a 1 @12000
        + a 1 @3000
        + c 1 @15000
        ",
        "",
    );
    assert_eq!(h.ctx.late_records, 1);
    h.check(
        "+ a 1 @20000",
        "
        + a 2 10000 20000 [10000,20000) @12000
        + c 1 10000 20000 [10000,20000) @15000
        ",
    );
}

#[test]
fn emit_final_waits_for_the_grace_period() {
    let op = count(WindowAssigner::Tumbling {
        size: 10_000,
        grace: 2_000,
    })
    .emit_final();
    let mut h = OpHarness::new(kv(), op);
    h.check_each(
        "
        + a 1 @1000
        + a 1 @11999
        + a 1 @9000
        ",
        "",
    );
    h.check("+ b 1 @12000", "+ a 2 0 10000 [0,10000) @9000");
    // Emitted once: later rows do not repeat it.
    h.check("+ b 1 @13000", "");
}

#[test]
fn emit_final_session_is_emitted_when_gap_and_grace_have_passed() {
    // ksqlDB's "final results for session windows": SESSION (5 ms,
    // GRACE PERIOD 6 ms) EMIT FINAL.
    let op = count(WindowAssigner::Session { gap: 5, grace: 6 }).emit_final();
    let mut h = OpHarness::new(kv(), op);
    h.check_each(
        "
        + k1 1 @0
        + k1 1 @4
        + k1 1 @8
        + k1 1 @12
        + k1 1 @14
        + k1 1 @30
        + k1 1 @29
        + k1 1 @17
        + k1 1 @42
        ",
        "
        + k1 5 0 14 [0,14) @14
        + k1 2 29 30 [29,30) @30
        ",
    );
    assert_eq!(h.ctx.late_records, 1);
}

#[test]
fn emit_final_session_without_grace_is_emitted_once_it_can_no_longer_merge() {
    let op = count(WindowAssigner::Session {
        gap: 5_000,
        grace: 0,
    })
    .emit_final();
    let mut h = OpHarness::new(kv(), op);
    h.check_each(
        "
        + a 1 @1000
        + a 1 @3000
        + b 1 @7999
        ",
        "",
    );
    // Stream time 8000 is the end of [1000,3000] plus the gap: no later row
    // can merge with it any more.
    h.check("+ b 1 @8000", "+ a 2 1000 3000 [1000,3000) @3000");
    // A row at the close time is not late, but can take no more rows: it is
    // final at once, and a row after it starts a new session.
    h.check("+ c 1 @3000", "+ c 1 3000 3000 [3000,3000) @3000");
    h.check("+ c 1 @3001", "");
    // (A row for b at 13000, the end of [7999,8000] plus the gap, would
    // still have merged with it.)
    h.check(
        "+ b 1 @13001",
        "
        + c 1 3001 3001 [3001,3001) @3001
        + b 2 7999 8000 [7999,8000) @8000
        ",
    );
    assert_eq!(h.ctx.late_records, 0);
}

#[test]
fn having_over_sessions_deletes_a_shown_session_when_it_merges() {
    let l = kv();
    let agg = AggregateOperator::new(
        vec![l.expr("K")],
        vec![l.aggregate("COUNT(*)"), l.aggregate("SUM(V)")],
        Some(WindowAssigner::Session {
            gap: 5_000,
            grace: DAY,
        }),
        None,
        false,
    );
    let mut h = OpHarness::new(l, with_having(agg, "CNT >= 2", true));
    h.check(
        "
        + a 1 @1000
        + a 1 @3000
        + a 1 @6000
        ",
        "
        + a 2 2 1000 3000 [1000,3000) @3000
        - a 2 2 1000 3000 [1000,3000) @3000
        + a 3 3 1000 6000 [1000,6000) @6000
        ",
    );
}
