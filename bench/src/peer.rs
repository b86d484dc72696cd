//! The peer workload: the input and queries used to compare Sluice with
//! other stream processors (Flink SQL) row for row. About 200-byte JSON
//! rows `{"id","user","region","amount","ts","flag","pad"}` from 1,000
//! users, `amount` uniform in 0..500 (so `amount > 250` keeps about half),
//! and event time `ts` advancing `ms_per_event` per row (the stream's
//! TIMESTAMP column). Queries: a filter with a projection, and COUNT/SUM
//! per user over tumbling 10 s and hopping 30 s / 5 s windows, each with
//! EMIT CHANGES and EMIT FINAL (grace 1 s, so FINAL results close while
//! the input runs).
//!
//! Reference answers are computed here from the same rows: a FINAL query
//! must write every window whose end plus grace is at or before the last
//! row's time exactly once, with its complete counts, and nothing else.

use crate::events::{Event, GenConfig, BASE_TIME};
use crate::rng::SplitMix64;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Distinct users.
pub const USERS: u64 = 1_000;
/// Distinct regions.
const REGIONS: u64 = 20;
/// The filter keeps amounts above this.
const THRESHOLD: i64 = 250;
/// Window sizes, advance and grace, in ms of event time.
const TUMBLE_MS: i64 = 10_000;
const HOP_SIZE_MS: i64 = 30_000;
const HOP_ADVANCE_MS: i64 = 5_000;
const GRACE_MS: i64 = 1_000;
/// How long windows stay in the store past their start beyond size plus
/// grace: as in ksqlDB, EMIT FINAL emits a window only while the store
/// holds it, so stream time may overshoot its close by this much (more
/// than the sparse `--check` spacing) and it is still emitted.
const EXTRA_RETENTION_MS: i64 = 2_000;
/// Padding that brings a row to about 200 bytes of JSON.
const PAD: &str = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod \
                   tempor incididunt";

/// One input row.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerRow {
    pub id: i64,
    pub user: String,
    pub region: String,
    pub amount: i64,
    pub ts: i64,
    pub flag: bool,
}

impl PeerRow {
    /// The row's JSON value.
    pub fn to_json(&self) -> Value {
        json!({"id": self.id, "user": self.user, "region": self.region, "amount": self.amount,
               "ts": self.ts, "flag": self.flag, "pad": PAD})
    }
}

/// The RETENTION of a window of `size`.
fn retention(size: i64) -> i64 {
    size + GRACE_MS + EXTRA_RETENTION_MS
}

/// The input topic.
pub const TOPIC: &str = "peer";

/// The rows, deterministic for a seed.
pub fn rows(config: GenConfig) -> impl Iterator<Item = Event> {
    let mut rng = SplitMix64::new(config.seed ^ 0x5045_4552_0000);
    let ms = config.ms_per_event;
    (0u64..).map(move |i| {
        Event::Peer(PeerRow {
            id: i as i64,
            user: format!("user_{}", rng.below(USERS)),
            region: format!("region_{}", rng.below(REGIONS)),
            amount: rng.below(500) as i64,
            ts: BASE_TIME + i as i64 * ms,
            flag: rng.one_in(2),
        })
    })
}

/// The peer queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerQuery {
    Filter,
    Tumble { final_only: bool },
    Hop { final_only: bool },
}

impl PeerQuery {
    /// The window of an aggregation: (size, advance) in ms.
    fn window(self) -> Option<(i64, i64)> {
        match self {
            PeerQuery::Filter => None,
            PeerQuery::Tumble { .. } => Some((TUMBLE_MS, TUMBLE_MS)),
            PeerQuery::Hop { .. } => Some((HOP_SIZE_MS, HOP_ADVANCE_MS)),
        }
    }

    fn final_only(self) -> bool {
        matches!(
            self,
            PeerQuery::Tumble { final_only: true } | PeerQuery::Hop { final_only: true }
        )
    }

    /// The statements that declare the input and start the query writing
    /// `output`.
    pub fn sql(self, output: &str) -> String {
        let mut sql = format!(
            "CREATE STREAM {TOPIC} (id BIGINT, user STRING, region STRING, amount INT, \
             ts BIGINT, flag BOOLEAN, pad STRING) WITH (kafka_topic='{TOPIC}', \
             value_format='JSON', partitions=1, timestamp='ts');\n"
        );
        let emit = if self.final_only() {
            "FINAL"
        } else {
            "CHANGES"
        };
        let window = match self {
            PeerQuery::Filter => {
                sql += &format!(
                    "CREATE STREAM {output} AS SELECT id, user, amount * 2 AS amount2, ts \
                     FROM {TOPIC} WHERE amount > {THRESHOLD} EMIT CHANGES;"
                );
                return sql;
            }
            PeerQuery::Tumble { .. } => format!(
                "TUMBLING (SIZE {TUMBLE_MS} MILLISECONDS, RETENTION {} MILLISECONDS, \
                 GRACE PERIOD {GRACE_MS} MILLISECONDS)",
                retention(TUMBLE_MS)
            ),
            PeerQuery::Hop { .. } => format!(
                "HOPPING (SIZE {HOP_SIZE_MS} MILLISECONDS, ADVANCE BY {HOP_ADVANCE_MS} \
                 MILLISECONDS, RETENTION {} MILLISECONDS, GRACE PERIOD {GRACE_MS} MILLISECONDS)",
                retention(HOP_SIZE_MS)
            ),
        };
        sql += &format!(
            "CREATE TABLE {output} AS SELECT user, COUNT(*) AS n, SUM(amount) AS total \
             FROM {TOPIC} WINDOW {window} GROUP BY user EMIT {emit};"
        );
        sql
    }

    /// The answer: the filter's rows, a CHANGES query's final value per
    /// user and window (`user@start` to `[N, TOTAL]`), or a FINAL query's
    /// rows `[user, start, n, total]`, one per closed window.
    pub fn reference(self, events: &[Event]) -> Reference {
        let rows = || {
            events.iter().filter_map(|e| match e {
                Event::Peer(r) => Some(r),
                _ => None,
            })
        };
        let Some((size, advance)) = self.window() else {
            return Reference::Rows(
                rows()
                    .filter(|r| r.amount > THRESHOLD)
                    .map(|r| json!([r.id, r.user, r.amount * 2, r.ts]))
                    .collect(),
            );
        };
        let mut windows: BTreeMap<(String, i64), (i64, i64)> = BTreeMap::new();
        for r in rows() {
            let mut start = r.ts - r.ts.rem_euclid(advance);
            while start > r.ts - size {
                let w = windows.entry((r.user.clone(), start)).or_default();
                w.0 += 1;
                w.1 += r.amount;
                start -= advance;
            }
        }
        if self.final_only() {
            // A window closes at the first row at or past its end plus
            // grace, and is emitted if it is still retained then.
            let times: Vec<i64> = rows().map(|r| r.ts).collect();
            let emitted = |start: i64| {
                let close = start + size + GRACE_MS;
                let first = times.partition_point(|t| *t < close);
                times
                    .get(first)
                    .is_some_and(|t| start >= t - retention(size))
            };
            Reference::Rows(
                windows
                    .into_iter()
                    .filter(|((_, start), _)| emitted(*start))
                    .map(|((user, start), (n, total))| json!([user, start, n, total]))
                    .collect(),
            )
        } else {
            Reference::Table(
                windows
                    .into_iter()
                    .map(|((user, start), (n, total))| {
                        (format!("{user}@{start}"), vec![json!(n), json!(total)])
                    })
                    .collect(),
            )
        }
    }

    /// A written record as the reference shows it: a row for the filter
    /// and FINAL queries, `(user@start, cells)` for CHANGES ones (`None`
    /// cells for a tombstone).
    pub fn actual(self, key: &Value, window_start: Option<i64>, value: &Value) -> Actual {
        let field = |name: &str| value.get(name).cloned().unwrap_or(Value::Null);
        let user = match key {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let start = window_start.unwrap_or_default();
        match self {
            PeerQuery::Filter => Actual::Row(json!([
                field("ID"),
                field("USER"),
                field("AMOUNT2"),
                field("TS")
            ])),
            _ if self.final_only() => Actual::Row(json!([user, start, field("N"), field("TOTAL")])),
            _ => Actual::Change(
                format!("{user}@{start}"),
                (!value.is_null()).then(|| vec![field("N"), field("TOTAL")]),
            ),
        }
    }
}

/// A peer query's expected output.
pub enum Reference {
    Rows(Vec<Value>),
    Table(BTreeMap<String, Vec<Value>>),
}

/// One output record, read back.
pub enum Actual {
    Row(Value),
    Change(String, Option<Vec<Value>>),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> GenConfig {
        GenConfig {
            seed: 7,
            ms_per_event: 1,
        }
    }

    #[test]
    fn rows_are_about_200_bytes_and_the_filter_keeps_about_half() {
        let rows: Vec<Event> = rows(config()).take(10_000).collect();
        let len: usize = rows
            .iter()
            .map(|e| match e {
                Event::Peer(r) => r.to_json().to_string().len(),
                _ => 0,
            })
            .sum();
        let mean = len / rows.len();
        assert!((180..=230).contains(&mean), "mean row {mean} bytes");
        let Reference::Rows(kept) = PeerQuery::Filter.reference(&rows) else {
            panic!("the filter answers rows");
        };
        assert!((4_500..=5_500).contains(&kept.len()), "kept {}", kept.len());
    }

    #[test]
    fn final_reference_holds_only_windows_closed_by_the_last_row() {
        // 25 s of rows: tumbling windows [0,10) and [10,20) close (end plus
        // 1 s grace <= 25 s), [20,30) does not.
        let rows: Vec<Event> = rows(GenConfig {
            seed: 1,
            ms_per_event: 25,
        })
        .take(1_000)
        .collect();
        let Reference::Rows(done) = PeerQuery::Tumble { final_only: true }.reference(&rows) else {
            panic!("FINAL answers rows");
        };
        let starts: std::collections::BTreeSet<i64> =
            done.iter().filter_map(|r| r[1].as_i64()).collect();
        assert_eq!(
            starts.into_iter().collect::<Vec<_>>(),
            vec![BASE_TIME, BASE_TIME + TUMBLE_MS]
        );
        let counted: i64 = done.iter().filter_map(|r| r[2].as_i64()).sum();
        assert_eq!(counted, 800, "rows before 20 s");
    }
}
