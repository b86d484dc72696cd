//! Stream-stream joins within a time window: each side buffers its rows by
//! join key; a new row joins every buffered row of the other side whose time
//! is within the window (`WITHIN (before, after)`: the right row's time lies
//! in `[left - before, left + after]`), oldest first.
//!
//! Each side's buffer keeps rows for `before + after + grace` behind the
//! largest time seen on that side; older rows are neither kept nor found. A
//! row that arrives older than that still joins the other side's rows, it is
//! just not kept for later ones.
//!
//! Rows of an outer side (LEFT: left, RIGHT: right, FULL: both) that match
//! nothing produce a result padded with NULLs:
//! - without an explicit GRACE PERIOD, at once (ksqlDB's original joins);
//! - with one, only when their window has closed and nothing matched them
//!   meanwhile: a row is held until the join's stream time (the largest
//!   time seen on either side) passes its time plus the window's reach on
//!   its side (`after` for left rows, `before` for right ones) plus the
//!   grace period. Held rows are emitted, oldest first (right before left at
//!   equal times), with their own time, when a row that does not lag stream
//!   time arrives, before that row's own results. A row whose window has
//!   already closed when it arrives is not held: its padded result is
//!   emitted at once.
//!
//! Windowed sources (both sides windowed alike) join only rows of the same
//! window: the window start, and for sessions the end, are part of the key.

use super::join_row::{join_key_bytes, JoinLayout};
use crate::catalog::WindowInfo;
use crate::error::Result;
use crate::expr::Compiled;
use crate::operators::{Context, JoinOperator, Row, Window};
use crate::sql::ast::JoinKind;
use crate::types::Value;
use std::collections::{BTreeMap, HashMap};

/// A buffered row: time, values, and the window of a windowed source's row.
struct Buffered {
    ts: i64,
    values: Vec<Value>,
    window: Option<Window>,
}

/// One side's buffered rows by join key.
type Buffer = HashMap<Vec<u8>, Vec<Buffered>>;

/// Where a held outer row sorts: time, side (right first), the key in an
/// order like that of its serialized form, then the join key bytes.
type HeldKey = (i64, u8, Vec<u8>, Vec<u8>);

/// A held outer row: the side it came from, its join key and values.
struct Held {
    side: usize,
    key: Value,
    values: Vec<Value>,
    window: Option<Window>,
}

pub struct StreamStreamJoinOperator {
    layout: JoinLayout,
    keys: [Compiled; 2],
    kind: JoinKind,
    before: i64,
    after: i64,
    grace: i64,
    /// Unmatched outer rows wait for their window to close (an explicit
    /// GRACE PERIOD) instead of being emitted at once.
    hold_outer: bool,
    /// The sources' window type when they are windowed (the left one's).
    window: Option<WindowInfo>,
    buffers: [Buffer; 2],
    /// The largest time seen on each side: its buffer's clock.
    side_time: [i64; 2],
    /// The largest time seen on either side.
    stream_time: i64,
    held: BTreeMap<HeldKey, Vec<Held>>,
    /// Side time at which each buffer is next scanned for old rows.
    next_expiry: [i64; 2],
}

impl StreamStreamJoinOperator {
    pub fn new(
        layout: JoinLayout,
        keys: [Compiled; 2],
        kind: JoinKind,
        (before, after, grace): (i64, i64, i64),
        hold_outer: bool,
        window: Option<WindowInfo>,
    ) -> Self {
        StreamStreamJoinOperator {
            layout,
            keys,
            kind,
            before,
            after,
            grace,
            hold_outer,
            window,
            buffers: [HashMap::new(), HashMap::new()],
            side_time: [i64::MIN; 2],
            stream_time: i64::MIN,
            held: BTreeMap::new(),
            next_expiry: [i64::MIN; 2],
        }
    }

    /// How long a side keeps its rows behind its clock.
    fn retention(&self) -> i64 {
        self.before
            .saturating_add(self.after)
            .saturating_add(self.grace)
    }

    /// Whether a row of `side` at `ts` is still kept by its buffer.
    fn retained(&self, side: usize, ts: i64) -> bool {
        ts > self.side_time[side].saturating_sub(self.retention())
    }

    /// How far past its own time a row of `side` can find matches.
    fn reach(&self, side: usize) -> i64 {
        if side == 0 {
            self.after
        } else {
            self.before
        }
    }

    fn is_outer(&self, side: usize) -> bool {
        match self.kind {
            JoinKind::Inner => false,
            JoinKind::Left => side == 0,
            JoinKind::Right => side == 1,
            JoinKind::Full => true,
        }
    }

    /// The join key's identity: its canonical bytes, plus the window for
    /// windowed sources (only rows of the same window meet).
    fn identity(&self, key: &Value, window: Option<Window>) -> Vec<u8> {
        let mut id = join_key_bytes(key);
        if let (Some(kind), Some(w)) = (self.window, window) {
            if kind == WindowInfo::Session {
                id.extend_from_slice(&w.end.to_be_bytes());
            }
            id.extend_from_slice(&w.start.to_be_bytes());
        }
        id
    }

    /// The window of a result: the left row's, or for a right-only result
    /// the right row's start with the left source's window size.
    fn result_window(&self, left: Option<Window>, right: Option<Window>) -> Option<Window> {
        if left.is_some() {
            return left;
        }
        let w = right?;
        Some(match self.window {
            Some(WindowInfo::Tumbling { size }) | Some(WindowInfo::Hopping { size, .. }) => {
                Window {
                    start: w.start,
                    end: w.start.saturating_add(size),
                }
            }
            _ => w,
        })
    }

    /// A result padded with NULLs for an unmatched row of `side`.
    fn padded(
        &self,
        side: usize,
        values: &[Value],
        key: &Value,
        ts: i64,
        window: Option<Window>,
    ) -> Row {
        let mut row = if side == 0 {
            self.layout.row(Some(values), None, key, ts)
        } else {
            self.layout.row(None, Some(values), key, ts)
        };
        row.window = if side == 0 {
            self.result_window(window, None)
        } else {
            self.result_window(None, window)
        };
        row
    }

    /// Emits the held rows whose window has closed, oldest first.
    fn emit_closed(&mut self, out: &mut Vec<Row>) {
        let horizon = self
            .stream_time
            .saturating_sub(self.grace)
            .saturating_sub(self.before.min(self.after));
        let mut closed = Vec::new();
        for (hk, rows) in self.held.iter() {
            if hk.0 >= horizon {
                break;
            }
            let side = rows.first().map_or(0, |h| h.side);
            if hk
                .0
                .saturating_add(self.reach(side))
                .saturating_add(self.grace)
                < self.stream_time
            {
                closed.push(hk.clone());
            }
        }
        for hk in closed {
            for h in self.held.remove(&hk).unwrap_or_default() {
                out.push(self.padded(h.side, &h.values, &h.key, hk.0, h.window));
            }
        }
    }

    fn expire(&mut self, side: usize) {
        // Amortized: scan only after the side's clock moved a quarter of the
        // retention since the last scan.
        let retention = self.retention();
        if self.side_time[side] < self.next_expiry[side] {
            return;
        }
        self.next_expiry[side] = self.side_time[side].saturating_add((retention / 4).max(1));
        let horizon = self.side_time[side].saturating_sub(retention);
        self.buffers[side].retain(|_, rows| {
            rows.retain(|r| r.ts > horizon);
            !rows.is_empty()
        });
    }
}

/// Bytes that order keys as their serialized forms do (big-endian
/// integers, text by its bytes), for the order held rows are emitted in.
fn order_bytes(key: &Value, window: Option<Window>, kind: Option<WindowInfo>) -> Vec<u8> {
    // Integers as 64-bit (sign extension keeps the order), so that INT and
    // BIGINT keys of the two sides meet.
    let mut out = match key {
        Value::Int(i) => i64::from(*i).to_be_bytes().to_vec(),
        Value::BigInt(i) => i.to_be_bytes().to_vec(),
        Value::String(s) => s.as_bytes().to_vec(),
        other => join_key_bytes(other),
    };
    if let (Some(kind), Some(w)) = (kind, window) {
        if kind == WindowInfo::Session {
            out.extend_from_slice(&w.end.to_be_bytes());
        }
        out.extend_from_slice(&w.start.to_be_bytes());
    }
    out
}

impl JoinOperator for StreamStreamJoinOperator {
    fn name(&self) -> &'static str {
        "StreamStreamJoin"
    }

    fn describe(&self) -> String {
        use super::describe::{duration, fields, join_kind};
        let within = if self.before == self.after {
            duration(self.before)
        } else {
            format!("({}, {})", duration(self.before), duration(self.after))
        };
        let mut parts = vec![
            ("kind", join_kind(self.kind).to_string()),
            ("on", format!("{} = {}", self.keys[0], self.keys[1])),
            ("within", within),
            ("grace", duration(self.grace)),
        ];
        if self.kind != JoinKind::Inner {
            parts.push((
                "unmatched rows",
                if self.hold_outer {
                    "held until their window closes"
                } else {
                    "emitted at once"
                }
                .to_string(),
            ));
        }
        if let Some(w) = self.window {
            parts.push((
                "windowed sources",
                format!("{} (rows meet within their window)", w.type_name()),
            ));
        }
        parts.push((
            "store",
            format!(
                "each side's rows by key for {}, in memory (rebuilt from the inputs)",
                duration(self.retention())
            ),
        ));
        fields(&parts)
    }

    fn process(&mut self, side: usize, rows: Vec<Row>, ctx: &mut Context) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        let other = 1 - side;
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
            self.side_time[side] = self.side_time[side].max(row.ts);
            self.stream_time = self.stream_time.max(row.ts);
            if self.hold_outer && row.ts == self.stream_time && !self.held.is_empty() {
                self.emit_closed(&mut out);
            }
            let id = self.identity(&key, row.window);
            let mut matched = false;
            if let Some(candidates) = self.buffers[other].get(&id) {
                // Buffers are kept in time order: matches come oldest first.
                let mut matched_times = Vec::new();
                for c in candidates {
                    let (l, r) = if side == 0 {
                        (row.ts, c.ts)
                    } else {
                        (c.ts, row.ts)
                    };
                    if r < l.saturating_sub(self.before)
                        || r > l.saturating_add(self.after)
                        || !self.retained(other, c.ts)
                    {
                        continue;
                    }
                    matched = true;
                    let (lv, rv, lw, rw) = if side == 0 {
                        (&row.values, &c.values, row.window, c.window)
                    } else {
                        (&c.values, &row.values, c.window, row.window)
                    };
                    let mut joined = self.layout.row(Some(lv), Some(rv), &key, l.max(r));
                    joined.window = self.result_window(lw, rw);
                    out.push(joined);
                    if self.hold_outer && self.is_outer(other) {
                        matched_times.push((c.ts, c.window));
                    }
                }
                // The matched rows' padded results are no longer due.
                for (ts, window) in matched_times {
                    let hk = (
                        ts,
                        other as u8 ^ 1,
                        order_bytes(&key, window, self.window),
                        id.clone(),
                    );
                    self.held.remove(&hk);
                }
            }
            let keep = self.retained(side, row.ts);
            if !keep {
                ctx.late_records += 1;
            }
            if !matched && self.is_outer(side) {
                let closed = row.ts.saturating_add(self.reach(side)) < self.stream_time;
                if !self.hold_outer || closed {
                    out.push(self.padded(side, &row.values, &key, row.ts, row.window));
                } else {
                    let hk = (
                        row.ts,
                        side as u8 ^ 1,
                        order_bytes(&key, row.window, self.window),
                        id.clone(),
                    );
                    self.held.entry(hk).or_default().push(Held {
                        side,
                        key: key.clone(),
                        values: row.values.clone(),
                        window: row.window,
                    });
                }
            }
            if keep {
                let rows = self.buffers[side].entry(id).or_default();
                // In time order; rows of equal time in arrival order.
                let at = rows.partition_point(|r| r.ts <= row.ts);
                rows.insert(
                    at,
                    Buffered {
                        ts: row.ts,
                        values: row.values,
                        window: row.window,
                    },
                );
            }
        }
        for s in 0..2 {
            self.expire(s);
        }
        Ok(out)
    }
}
