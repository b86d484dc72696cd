//! Hopping windows by slices: instead of one accumulator per window a row
//! falls in (size / advance of them), each key keeps one partial
//! accumulator per slice of time (the gcd of size and advance), and a
//! window's result is the merge of the slices it covers, computed when it
//! is emitted. A row updates one slice, and the changelog gets one record
//! per changed slice (`key@slice start`, as sessions are logged), not one
//! per window. Used when every aggregate can merge two states; otherwise
//! windows keep their own accumulators.
//!
//! A key's slices live in one store entry (the list, by start), as a key's
//! sessions do; a slice leaves the store when the last window covering it
//! falls out of retention.

use super::state::Group;
use super::{cmp_keys, output_row, session_id, AggregateCall, AggregateOperator, WindowAssigner};
use crate::error::{Error, Result};
use crate::operators::{Context, Row, Window};
use crate::types::Value;

/// The slice length of a hopping window, when slicing it saves work.
pub(super) fn slice_length(window: Option<WindowAssigner>) -> Option<i64> {
    match window {
        Some(WindowAssigner::Hopping { size, advance, .. }) if size != advance && advance > 0 => {
            let (mut a, mut b) = (size, advance);
            while b != 0 {
                (a, b) = (b, a % b);
            }
            (a > 0).then_some(a)
        }
        _ => None,
    }
}

impl AggregateOperator {
    /// The hopping window's size and advance (sliced operators only).
    fn hop(&self) -> (i64, i64, i64) {
        match self.window {
            Some(WindowAssigner::Hopping {
                size,
                advance,
                grace,
            }) => (size, advance, grace),
            _ => (1, 1, 0),
        }
    }

    /// Folds one row into its key's slice and emits (EMIT CHANGES) every
    /// open window it falls in; windows already closed count it as late.
    pub(super) fn apply_sliced(
        &mut self,
        key: Vec<Value>,
        args: &[Vec<Value>],
        ts: i64,
        ctx: &mut Context,
        out: &mut Vec<Row>,
    ) -> Result<()> {
        let (Some(len), Some(assigner)) = (self.slice, self.window) else {
            return Ok(());
        };
        let (size, _, grace) = self.hop();
        let close = self.stream_time.saturating_sub(grace);
        let mut open: Vec<Window> = Vec::new();
        for w in assigner.windows(ts) {
            if w.end > close {
                open.push(w);
            } else {
                ctx.late_records += 1;
            }
        }
        if open.is_empty() {
            return Ok(());
        }
        let start = ts - ts.rem_euclid(len);
        super::write_key_json(&mut self.id_buf, &key);
        let kid = self.id_buf.as_bytes();
        let calls = &self.calls;
        let list = self.sessions.get_or_insert_with(kid, Vec::new)?;
        let pos = match list.binary_search_by_key(&start, slice_start) {
            Ok(i) => i,
            Err(i) => {
                list.insert(
                    i,
                    Group {
                        key: key.clone(),
                        window: Some(Window {
                            start,
                            end: start + len,
                        }),
                        states: super::initial_states(calls),
                        ts: i64::MIN,
                        dirty: false,
                        held: false,
                    },
                );
                if self.emit_final {
                    // Only open windows wait to close (closed ones were
                    // emitted, or dropped as not retained).
                    for w in &open {
                        self.closing.entry(w.start).or_default().push(kid.to_vec());
                    }
                }
                i
            }
        };
        let slice = &mut list[pos];
        let mut failure = None;
        for ((c, state), a) in calls.iter().zip(slice.states.iter_mut()).zip(args) {
            (c.function.add)(state, a);
            if let Some(e) = crate::functions::aggregate::take_error() {
                failure.get_or_insert(e);
            }
        }
        slice.ts = slice.ts.max(ts);
        if !slice.dirty {
            slice.dirty = true;
            self.dirty_slices.push((kid.to_vec(), start));
        }
        if let Some(e) = failure {
            return Err(Error::eval(format!("Exception caught in process: {e}")));
        }
        if self.defer {
            // One entry per key, listing the windows changed since the
            // last drain.
            let i = match self.held_index.get(kid) {
                Some(i) => *i,
                None => {
                    self.held_index
                        .insert(kid.to_vec(), self.held_windows.len());
                    self.held_windows.push((kid.to_vec(), Vec::new()));
                    self.held_windows.len() - 1
                }
            };
            let held = &mut self.held_windows[i].1;
            for w in open {
                if !held.contains(&w.start) {
                    held.push(w.start);
                }
            }
        } else if !self.emit_final {
            for w in open {
                if let Some(g) = merge_window(calls, &key, list, w, size) {
                    out.push(output_row(calls, &g));
                }
            }
        }
        Ok(())
    }

    /// Computes the rows of the sliced windows held (record caching) into
    /// `released`.
    pub(super) fn release_held_windows(&mut self) -> Result<()> {
        let (size, _, _) = self.hop();
        self.held_index.clear();
        for (kid, starts) in std::mem::take(&mut self.held_windows) {
            let Some(list) = self.sessions.get(&kid)? else {
                continue;
            };
            let Some(key) = list.first().map(|g| g.key.as_slice()) else {
                continue;
            };
            for start in starts {
                let w = Window {
                    start,
                    end: start + size,
                };
                if let Some(g) = merge_window(&self.calls, key, list, w, size) {
                    self.released.push(output_row(&self.calls, &g));
                }
            }
        }
        Ok(())
    }

    /// Writes the slices changed in this batch to the changelog.
    pub(super) fn log_dirty_slices(&mut self, ctx: &mut Context) -> Result<()> {
        for (kid, start) in std::mem::take(&mut self.dirty_slices) {
            let Some(list) = self.sessions.get_mut(&kid)? else {
                continue;
            };
            let Some(slice) = list.iter_mut().find(|g| slice_start(g) == start) else {
                continue;
            };
            slice.dirty = false;
            let slice = slice.clone();
            self.log_change(session_id(&kid, start), Some(&slice), ctx);
        }
        Ok(())
    }

    /// EMIT FINAL: emits the windows whose end plus grace stream time has
    /// reached, in order of start and key, while retained (see
    /// `emit_closed`).
    pub(super) fn emit_closed_sliced(&mut self, out: &mut Vec<Row>) -> Result<()> {
        let (size, _, grace) = self.hop();
        for (start, mut kids) in self.take_closed(size, grace) {
            kids.sort_unstable();
            kids.dedup();
            let w = Window {
                start,
                end: start + size,
            };
            let mut ready = Vec::with_capacity(kids.len());
            for kid in kids {
                let Some(list) = self.sessions.get(&kid)? else {
                    continue;
                };
                let Some(key) = list.first().map(|g| g.key.as_slice()) else {
                    continue;
                };
                if let Some(g) = merge_window(&self.calls, key, list, w, size) {
                    ready.push(output_row(&self.calls, &g));
                }
            }
            ready.sort_by(|a, b| cmp_keys(&a.values, &b.values));
            out.extend(ready);
        }
        Ok(())
    }

    /// After a restore: the windows of the stored slices not yet emitted
    /// go back into the EMIT FINAL index.
    pub(super) fn index_unemitted_slices(&mut self) -> Result<()> {
        let Some(assigner) = self.window else {
            return Ok(());
        };
        let (size, _, grace) = self.hop();
        self.emitted_until = self.stream_time.saturating_sub(grace);
        self.closing.clear();
        for (kid, list) in self.sessions.scan(&[], None)? {
            for s in &list {
                for w in assigner.windows(slice_start(s)) {
                    if w.start + size > self.emitted_until {
                        self.closing.entry(w.start).or_default().push(kid.clone());
                    }
                }
            }
        }
        Ok(())
    }

    /// Drops the slices no retained window covers (a window leaves the
    /// store when it ended longer ago than `keep`), logging each deletion.
    pub(super) fn expire_slices(&mut self, horizon: i64, ctx: &mut Context) -> Result<()> {
        let (size, _, _) = self.hop();
        // The last window covering a slice ends `size` after its start.
        let gone = |g: &Group| slice_start(g) + size < horizon;
        for (kid, list) in self.sessions.scan(&[], None)? {
            if !list.iter().any(gone) {
                continue;
            }
            let (old, kept): (Vec<Group>, Vec<Group>) = list.into_iter().partition(gone);
            if kept.is_empty() {
                self.sessions.remove(&kid)?;
            } else {
                self.sessions.put(&kid, kept)?;
            }
            for g in old {
                self.log_change(session_id(&kid, slice_start(&g)), None, ctx);
            }
        }
        Ok(())
    }
}

/// A window's accumulated state: the merge of the key's slices in it
/// (None when none of them holds a row).
fn merge_window(
    calls: &[AggregateCall],
    key: &[Value],
    list: &[Group],
    w: Window,
    size: i64,
) -> Option<Group> {
    let first = list.partition_point(|g| slice_start(g) < w.start);
    let mut in_window = list[first..]
        .iter()
        .take_while(|s| slice_start(s) < w.start + size);
    let head = in_window.next()?;
    let mut g = Group {
        key: key.to_vec(),
        window: Some(w),
        states: head.states.clone(),
        ts: head.ts,
        dirty: false,
        held: false,
    };
    for s in in_window {
        for ((c, state), other) in calls.iter().zip(g.states.iter_mut()).zip(&s.states) {
            if let Some(merge) = &c.function.merge {
                merge(state, other);
            }
        }
        g.ts = g.ts.max(s.ts);
    }
    Some(g)
}

/// The start of a slice.
fn slice_start(g: &Group) -> i64 {
    g.window.map(|w| w.start).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_are_the_gcd_of_size_and_advance() {
        let hop = |size, advance| {
            Some(WindowAssigner::Hopping {
                size,
                advance,
                grace: 0,
            })
        };
        assert_eq!(slice_length(hop(30_000, 5_000)), Some(5_000));
        assert_eq!(slice_length(hop(10, 4)), Some(2));
        assert_eq!(slice_length(hop(10, 10)), None);
        assert_eq!(
            slice_length(Some(WindowAssigner::Tumbling { size: 10, grace: 0 })),
            None
        );
    }
}
