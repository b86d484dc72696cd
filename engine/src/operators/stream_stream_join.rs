//! Stream-stream joins within a time window: each side buffers its rows by
//! join key; a new row joins every buffered row of the other side whose time
//! is within the window (`WITHIN (before, after)`: the right row's time lies
//! in `[left - before, left + after]`). Outer sides emit their row padded
//! with NULLs at once when nothing matches yet, as ksqlDB's joins do.
//! Rows older than the window plus the grace period are dropped from the
//! buffers, and late rows are dropped.

use super::join_row::{join_key_bytes, JoinLayout};
use crate::error::Result;
use crate::plan::expr::Compiled;
use crate::runtime::{Context, JoinOperator, Row};
use crate::sql::ast::JoinKind;
use crate::types::Value;
use std::collections::HashMap;

/// One side's buffered rows by join key: (time, values).
type Buffer = HashMap<Vec<u8>, Vec<(i64, Vec<Value>)>>;

pub struct StreamStreamJoinOperator {
    layout: JoinLayout,
    keys: [Compiled; 2],
    kind: JoinKind,
    before: i64,
    after: i64,
    grace: i64,
    buffers: [Buffer; 2],
    stream_time: i64,
    /// Stream time at which the buffers are next scanned for old rows.
    next_expiry: i64,
}

impl StreamStreamJoinOperator {
    pub fn new(
        layout: JoinLayout,
        keys: [Compiled; 2],
        kind: JoinKind,
        (before, after, grace): (i64, i64, i64),
    ) -> Self {
        StreamStreamJoinOperator {
            layout,
            keys,
            kind,
            before,
            after,
            grace,
            buffers: [HashMap::new(), HashMap::new()],
            stream_time: i64::MIN,
            next_expiry: i64::MIN,
        }
    }

    /// Whether a left row at `l` and a right row at `r` are within the window.
    fn within(&self, l: i64, r: i64) -> bool {
        r >= l - self.before && r <= l + self.after
    }

    fn expire(&mut self) {
        // Amortized: scan only after stream time moved a quarter of the
        // buffer span since the last scan.
        let span = self.before.max(self.after) + self.grace;
        if self.stream_time < self.next_expiry {
            return;
        }
        self.next_expiry = self.stream_time.saturating_add((span / 4).max(1));
        let horizon = self.stream_time.saturating_sub(span);
        for buffer in self.buffers.iter_mut() {
            buffer.retain(|_, rows| {
                rows.retain(|(ts, _)| *ts >= horizon);
                !rows.is_empty()
            });
        }
    }
}

impl JoinOperator for StreamStreamJoinOperator {
    fn process(&mut self, side: usize, rows: Vec<Row>, ctx: &mut Context) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        for row in rows {
            if row.tombstone {
                continue;
            }
            let mut errors = Vec::new();
            let key = self.keys[side].eval_row(&row.values, &mut errors);
            for e in errors {
                ctx.expression_error(format!("Error computing join key: {e}"), &row);
            }
            if key.is_null() {
                continue;
            }
            // A row older than the window plus grace behind stream time is late.
            if row.ts
                < self
                    .stream_time
                    .saturating_sub(self.before.max(self.after) + self.grace)
            {
                ctx.late_records += 1;
                continue;
            }
            self.stream_time = self.stream_time.max(row.ts);
            let id = join_key_bytes(&key);
            let other = 1 - side;
            let mut matched = false;
            if let Some(candidates) = self.buffers[other].get(&id) {
                for (ts, values) in candidates {
                    let (l, r) = if side == 0 {
                        (row.ts, *ts)
                    } else {
                        (*ts, row.ts)
                    };
                    if !self.within(l, r) {
                        continue;
                    }
                    matched = true;
                    let (lv, rv) = if side == 0 {
                        (&row.values, values)
                    } else {
                        (values, &row.values)
                    };
                    out.push(self.layout.row(Some(lv), Some(rv), &key, l.max(r)));
                }
            }
            let outer_side = match self.kind {
                JoinKind::Inner => false,
                JoinKind::Left => side == 0,
                JoinKind::Right => side == 1,
                JoinKind::Full => true,
            };
            if !matched && outer_side {
                let (lv, rv) = if side == 0 {
                    (Some(row.values.as_slice()), None)
                } else {
                    (None, Some(row.values.as_slice()))
                };
                out.push(self.layout.row(lv, rv, &key, row.ts));
            }
            self.buffers[side]
                .entry(id)
                .or_default()
                .push((row.ts, row.values));
        }
        self.expire();
        Ok(out)
    }
}
