//! The aggregate operator's tests: window assignment, expiry, and its
//! state in a local store (restored without replaying the changelog, the
//! changelog's fallback when the store is gone, behind or ahead of it,
//! and a cache smaller than the keys).

use super::*;
use crate::functions::aggregate::AggregateRegistry;
use crate::types::SqlType;

fn row(key: &str, ts: i64) -> Row {
    Row {
        values: vec![Value::String(key.into())],
        ts,
        ..Row::default()
    }
}

#[test]
fn window_assignment() {
    // The windows of a time, as the plain definition gives them.
    let expected = |size: i64, advance: i64, ts: i64| -> Vec<Window> {
        let mut out = Vec::new();
        let mut start = ts - ts.rem_euclid(advance);
        while start > ts - size {
            if start >= 0 {
                out.push(Window {
                    start,
                    end: start + size,
                });
            }
            start -= advance;
        }
        out.reverse();
        out
    };
    for (size, advance) in [(10, 2), (10, 3), (10, 10), (7, 5), (1, 1), (5, 7)] {
        let hopping = WindowAssigner::Hopping {
            size,
            advance,
            grace: 0,
        };
        for ts in 0..40 {
            let got: Vec<Window> = hopping.windows(ts).collect();
            assert_eq!(got, expected(size, advance, ts), "{size} {advance} {ts}");
        }
    }
    let tumbling = WindowAssigner::Tumbling { size: 10, grace: 0 };
    assert_eq!(
        tumbling.windows(25).collect::<Vec<_>>(),
        vec![Window { start: 20, end: 30 }]
    );
    let session = WindowAssigner::Session { gap: 5, grace: 0 };
    assert_eq!(session.windows(25).count(), 0);
}

#[test]
fn windows_leave_the_store_after_retention() {
    let count = AggregateRegistry::global()
        .resolve("COUNT", &[], &[])
        .unwrap();
    let mut op = AggregateOperator::new(
        vec![Compiled::column(0, SqlType::String)],
        vec![AggregateCall {
            args: vec![],
            function: count,
        }],
        Some(WindowAssigner::Tumbling { size: 10, grace: 0 }),
        Some("changelog".into()),
        false,
    )
    .with_retention(Some(20));
    let mut ctx = Context::default();
    op.process(vec![row("a", 1), row("b", 5)], &mut ctx)
        .unwrap();
    assert_eq!(op.groups.keys_in(&[], None).unwrap().len(), 2);
    // Window [0, 10) ends 30 before stream time 40: past its retention.
    let out = op.process(vec![row("a", 40)], &mut ctx).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(op.groups.keys_in(&[], None).unwrap().len(), 1);
    // Both expired windows were deleted in the changelog too.
    assert_eq!(
        ctx.changelog
            .iter()
            .filter(|(_, r)| r.value.is_none())
            .count(),
        2
    );
    // A row for the expired window is late and dropped.
    let out = op.process(vec![row("a", 2)], &mut ctx).unwrap();
    assert!(out.is_empty());
    assert_eq!(ctx.late_records, 1);
}

/// A state scope in `dir` whose stores cache `cache` entries.
fn scope(dir: &std::path::Path, cache: usize) -> StateScope {
    StateScope {
        config: crate::state::StateConfig {
            root: crate::state::StateRoot::Dir(dir.to_path_buf()),
            cache_entries: cache,
        },
        query_id: "Q1".into(),
    }
}

const CHANGELOG: &str = "q1-changelog";

/// COUNT(*) per key (column 0), in `window`, its state in `scope`.
fn counter(window: Option<WindowAssigner>, scope: &StateScope) -> AggregateOperator {
    let count = AggregateRegistry::global()
        .resolve("COUNT", &[], &[])
        .unwrap();
    let mut op = AggregateOperator::new(
        vec![Compiled::column(0, SqlType::String)],
        vec![AggregateCall {
            args: vec![],
            function: count,
        }],
        window,
        Some(CHANGELOG.into()),
        false,
    );
    op.attach_state(scope);
    op.set_changelog_partition(0);
    op
}

fn log_with_changelog() -> crate::log::EmbeddedLog {
    let log = crate::log::EmbeddedLog::in_memory();
    log.create_topic(
        CHANGELOG,
        &crate::log::TopicConfig {
            partitions: 1,
            replicas: 1,
            compact: true,
        },
    )
    .unwrap();
    log
}

/// Runs `keys` (one row each, at times 1, 2, ...from `ts`) through `op`
/// and commits as a task does: changelog records, the checkpoint (input
/// position `upto`), then the store. Returns the last count of each key.
fn step(
    op: &mut AggregateOperator,
    log: &dyn Log,
    keys: &[&str],
    ts: i64,
    upto: i64,
) -> Vec<(String, Value)> {
    let rows: Vec<Row> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| row(k, ts + i as i64))
        .collect();
    let mut ctx = Context::default();
    let out = op.process(rows, &mut ctx).unwrap();
    for (topic, record) in ctx.changelog {
        log.append(&topic, Some(0), record).unwrap();
    }
    let positions = vec![("input".to_string(), 0, upto)];
    let (_, offset) = log
        .append(
            CHANGELOG,
            Some(0),
            crate::operators::checkpoint::record(&positions),
        )
        .unwrap();
    op.commit_state(&[(CHANGELOG.to_string(), offset)], &positions)
        .unwrap();
    out.into_iter()
        .map(|r| (r.values[0].to_string(), r.values[1].clone()))
        .collect()
}

fn counted(out: &[(String, Value)], key: &str) -> Option<Value> {
    out.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

#[test]
fn a_restart_restores_from_the_store_without_reading_the_changelog() {
    let dir = tempfile::tempdir().unwrap();
    let scope = scope(dir.path(), 1_000);
    let log = log_with_changelog();
    let mut op = counter(None, &scope);
    op.restore(&log).unwrap();
    step(&mut op, &log, &["a", "b", "a"], 1, 3);
    step(&mut op, &log, &["a", "c"], 10, 5);
    drop(op);

    let mut op = counter(None, &scope);
    op.restore(&log).unwrap();
    assert_eq!(op.changelog_records_read(), 0);
    assert_eq!(op.checkpoint(), Some(vec![("input".to_string(), 0, 5)]));
    let out = step(&mut op, &log, &["a", "b", "c"], 20, 8);
    assert_eq!(counted(&out, "a"), Some(Value::BigInt(4)));
    assert_eq!(counted(&out, "b"), Some(Value::BigInt(2)));
    assert_eq!(counted(&out, "c"), Some(Value::BigInt(2)));
}

#[test]
fn a_deleted_state_directory_is_rebuilt_from_the_changelog() {
    let dir = tempfile::tempdir().unwrap();
    let scope = scope(dir.path(), 1_000);
    let log = log_with_changelog();
    let mut op = counter(None, &scope);
    op.restore(&log).unwrap();
    step(&mut op, &log, &["a", "b", "a"], 1, 3);
    drop(op);
    std::fs::remove_dir_all(dir.path()).unwrap();

    let mut op = counter(None, &scope);
    op.restore(&log).unwrap();
    // Two group records and a checkpoint.
    assert_eq!(op.changelog_records_read(), 3);
    let out = step(&mut op, &log, &["a", "b"], 20, 5);
    assert_eq!(counted(&out, "a"), Some(Value::BigInt(3)));
    assert_eq!(counted(&out, "b"), Some(Value::BigInt(2)));
    // The rebuilt store serves the next restart on its own.
    drop(op);
    let mut op = counter(None, &scope);
    op.restore(&log).unwrap();
    assert_eq!(op.changelog_records_read(), 0);
}

/// Copies a directory tree.
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn a_store_behind_its_changelog_replays_only_what_followed() {
    let dir = tempfile::tempdir().unwrap();
    let scope = scope(dir.path(), 1_000);
    let log = log_with_changelog();
    let mut op = counter(None, &scope);
    op.restore(&log).unwrap();
    step(&mut op, &log, &["a", "b"], 1, 2);
    drop(op);
    let old = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), old.path());

    let mut op = counter(None, &scope);
    op.restore(&log).unwrap();
    step(&mut op, &log, &["a", "a", "c"], 10, 5);
    drop(op);

    // The older copy of the store: the changelog after its checkpoint
    // (group a, group c, a checkpoint) brings it up to date.
    let mut op = counter(
        None,
        &StateScope {
            config: crate::state::StateConfig {
                root: crate::state::StateRoot::Dir(old.path().to_path_buf()),
                cache_entries: 1_000,
            },
            query_id: "Q1".into(),
        },
    );
    op.restore(&log).unwrap();
    assert_eq!(op.changelog_records_read(), 3);
    let out = step(&mut op, &log, &["a", "b", "c"], 20, 8);
    assert_eq!(counted(&out, "a"), Some(Value::BigInt(4)));
    assert_eq!(counted(&out, "b"), Some(Value::BigInt(2)));
    assert_eq!(counted(&out, "c"), Some(Value::BigInt(2)));
}

#[test]
fn a_store_ahead_of_its_changelog_is_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let scope = scope(dir.path(), 1_000);
    let log = log_with_changelog();
    let mut op = counter(None, &scope);
    op.restore(&log).unwrap();
    step(&mut op, &log, &["a", "b"], 1, 2);
    step(&mut op, &log, &["a", "a"], 10, 4);
    drop(op);

    // A changelog that lost its last step (as a crash can take what was
    // not yet synced): the store names a checkpoint it does not hold.
    let short = log_with_changelog();
    for r in log.read(CHANGELOG, 0, 0, 3).unwrap() {
        short.append(CHANGELOG, Some(0), r.record).unwrap();
    }
    let mut op = counter(None, &scope);
    op.restore(&short).unwrap();
    assert_eq!(op.changelog_records_read(), 3);
    assert_eq!(op.checkpoint(), Some(vec![("input".to_string(), 0, 2)]));
    let out = step(&mut op, &short, &["a"], 20, 3);
    assert_eq!(counted(&out, "a"), Some(Value::BigInt(2)));
}

#[test]
fn changes_after_the_last_checkpoint_are_undone_on_restore() {
    let dir = tempfile::tempdir().unwrap();
    // A cache of two: the step's two changes are written at its commit.
    let scope = scope(dir.path(), 2);
    let log = log_with_changelog();
    let mut op = counter(None, &scope);
    op.restore(&log).unwrap();
    step(&mut op, &log, &["a", "b"], 1, 2);
    // A step whose changes reached the changelog but whose checkpoint
    // never did (a crash in the middle of the commit).
    let mut ctx = Context::default();
    op.process(vec![row("a", 5), row("c", 6)], &mut ctx)
        .unwrap();
    for (topic, record) in ctx.changelog {
        log.append(&topic, Some(0), record).unwrap();
    }
    drop(op);

    let mut op = counter(None, &scope);
    op.restore(&log).unwrap();
    assert_eq!(op.changelog_records_read(), 2);
    assert_eq!(op.checkpoint(), Some(vec![("input".to_string(), 0, 2)]));
    let out = step(&mut op, &log, &["a", "c"], 20, 4);
    assert_eq!(counted(&out, "a"), Some(Value::BigInt(2)));
    assert_eq!(counted(&out, "c"), Some(Value::BigInt(1)));
    // The repaired changelog restores the same state from scratch.
    std::fs::remove_dir_all(dir.path()).unwrap();
    let mut op = counter(None, &scope);
    op.restore(&log).unwrap();
    let out = step(&mut op, &log, &["a", "c"], 30, 6);
    assert_eq!(counted(&out, "a"), Some(Value::BigInt(3)));
    assert_eq!(counted(&out, "c"), Some(Value::BigInt(2)));
}

#[test]
fn a_cache_smaller_than_the_keys_counts_right_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let scope = scope(dir.path(), 4);
    let log = log_with_changelog();
    let names: Vec<String> = (0..50).map(|i| format!("k{i}")).collect();
    let keys: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut op = counter(
        Some(WindowAssigner::Tumbling {
            size: 1_000,
            grace: 100_000,
        }),
        &scope,
    );
    op.restore(&log).unwrap();
    for round in 0..3 {
        let out = step(&mut op, &log, &keys, 100 + round, 50 * (round + 1));
        assert!(op.groups.cached() <= 4, "{}", op.groups.cached());
        for k in &keys {
            assert_eq!(counted(&out, k), Some(Value::BigInt(round + 1)));
        }
    }
    drop(op);
    let mut op = counter(
        Some(WindowAssigner::Tumbling {
            size: 1_000,
            grace: 100_000,
        }),
        &scope,
    );
    op.restore(&log).unwrap();
    assert_eq!(op.changelog_records_read(), 0);
    let out = step(&mut op, &log, &keys, 500, 200);
    for k in &keys {
        assert_eq!(counted(&out, k), Some(Value::BigInt(4)));
    }
}
