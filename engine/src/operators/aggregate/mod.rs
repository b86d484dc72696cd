//! GROUP BY: folds rows into per-key (and per-window) accumulator states
//! and emits the new aggregate row of every key a row changes.
//!
//! Over a stream each row is added. Over a table, a change first retracts
//! the row it replaces (from that row's group) and then adds the new one,
//! emitting after each, as Kafka Streams' table aggregation does.
//!
//! Windows: TUMBLING and HOPPING assign a row to every window containing
//! its time; SESSION windows grow and merge per key, and a merge deletes
//! the sessions it replaces. A row for a window that closed (its end plus
//! the grace period is behind stream time; for a session, its end plus the
//! gap and the grace period) is dropped and counted.
//!
//! State lives in a local store (see `crate::state`): on disk with a
//! bounded cache in front, or in memory for an engine without a data
//! directory. Every change is also written to a changelog topic (through
//! `Context::changelog`) before the task commits its input offsets; the
//! store is written at commits with the changelog checkpoint it reflects,
//! and `restore` opens it and replays only the changelog after that
//! checkpoint (all of it when the store is missing or does not match).

mod restore;
mod slices;
mod state;

use crate::error::{Error, Result};
use crate::expr::Compiled;
use crate::functions::aggregate::ResolvedAggregate;
use crate::log::{Log, Record};
use crate::operators::{Context, Operator, Row, Window};
use crate::state::{CachedStore, KvStore, StateScope};
use crate::types::Value;
use state::{
    changelog_key, start_bytes, store_key, write_group, write_json_list, Group, GroupCodec,
    SessionCodec,
};
use std::collections::BTreeMap;

/// Orders rows (or keys) by their leading key values.
fn cmp_keys(a: &[Value], b: &[Value]) -> std::cmp::Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.total_cmp(y))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// Writes the key list of a group (its store key without the window).
fn write_key_json(out: &mut String, key: &[Value]) {
    out.clear();
    write_json_list(out, key);
}

fn initial_states(calls: &[AggregateCall]) -> Vec<Value> {
    calls.iter().map(|c| c.function.initial.clone()).collect()
}

/// The result row of a group: its key, the aggregates' results, and the
/// window bounds.
fn output_row(calls: &[AggregateCall], g: &Group) -> Row {
    let mut values = Vec::with_capacity(g.key.len() + calls.len() + 2);
    values.extend_from_slice(&g.key);
    for (c, s) in calls.iter().zip(&g.states) {
        values.push((c.function.result)(s));
    }
    if let Some(w) = g.window {
        values.push(Value::BigInt(w.start));
        values.push(Value::BigInt(w.end));
    }
    Row {
        values,
        ts: g.ts,
        window: g.window,
        ..Row::default()
    }
}

/// Adds the change of a group to the changelog (`topic`, if state is
/// persisted) under its changelog key `id`: its state, or its deletion.
fn log_change(topic: Option<&str>, id: Vec<u8>, g: Option<&Group>, ctx: &mut Context) {
    let Some(topic) = topic else { return };
    let value = g.map(|g| {
        let mut out = String::with_capacity(64);
        write_group(&mut out, g);
        out.into_bytes()
    });
    ctx.changelog.push((
        topic.to_string(),
        Record {
            key: Some(id),
            value,
            timestamp: g.map(|g| g.ts).unwrap_or(0),
            headers: Vec::new(),
        },
    ));
}

/// The changelog key of a session of the key whose list is `kid`.
fn session_id(kid: &[u8], start: i64) -> Vec<u8> {
    let mut id = kid.to_vec();
    id.push(b'@');
    id.extend_from_slice(itoa::Buffer::new().format(start).as_bytes());
    id
}

/// How rows are assigned to windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowAssigner {
    Tumbling { size: i64, grace: i64 },
    Hopping { size: i64, advance: i64, grace: i64 },
    Session { gap: i64, grace: i64 },
}

impl WindowAssigner {
    /// The time windows containing `ts` (not for sessions), in order of
    /// start (hopping windows starting before 0 are left out).
    fn windows(&self, ts: i64) -> impl Iterator<Item = Window> {
        // Window starts from `first` to `last`, `step` apart.
        let (first, last, step, size) = match *self {
            WindowAssigner::Tumbling { size, .. } => {
                let start = ts - ts.rem_euclid(size);
                (start, start, 1, size)
            }
            WindowAssigner::Hopping { size, advance, .. } => {
                let last = ts - ts.rem_euclid(advance);
                let mut first = last;
                if last <= ts - size {
                    // In a gap between windows (advance longer than size).
                    first = last + 1;
                }
                while first - advance > ts - size {
                    first -= advance;
                }
                while first < 0 && first <= last {
                    first += advance;
                }
                (first, last, advance, size)
            }
            WindowAssigner::Session { .. } => (1, 0, 1, 0),
        };
        (first..=last)
            .step_by(usize::try_from(step).unwrap_or(1).max(1))
            .map(move |start| Window {
                start,
                end: start + size,
            })
    }

    fn grace(&self) -> i64 {
        match *self {
            WindowAssigner::Tumbling { grace, .. }
            | WindowAssigner::Hopping { grace, .. }
            | WindowAssigner::Session { grace, .. } => grace,
        }
    }
}

/// One aggregate call: its argument expressions and accumulator.
#[derive(Clone)]
pub struct AggregateCall {
    pub args: Vec<Compiled>,
    pub function: ResolvedAggregate,
}

/// Groups rows and maintains their aggregates.
pub struct AggregateOperator {
    keys: Vec<Compiled>,
    calls: Vec<AggregateCall>,
    window: Option<WindowAssigner>,
    /// Time windows and plain groups, by store key (the window start,
    /// then the key).
    groups: CachedStore<Group, GroupCodec>,
    /// Session windows by key, ordered by start; or, for hopping windows
    /// kept by slices, each key's slices.
    sessions: CachedStore<Vec<Group>, SessionCodec>,
    /// Hopping windows kept by slices of this length (see `slices`).
    slice: Option<i64>,
    /// The slices changed in the current batch: (key list, slice start).
    dirty_slices: Vec<(Vec<u8>, i64)>,
    /// Record caching: changed groups' rows are held until `drain`
    /// (see `Operator::defer_changes`); sessions still emit per row.
    defer: bool,
    /// The store keys of the groups held, in order of first change.
    held: Vec<Vec<u8>>,
    /// Sliced windows held: each key list with the starts of its windows,
    /// in order of first change, and where each key is in that list.
    held_windows: Vec<(Vec<u8>, Vec<i64>)>,
    held_index: hashbrown::HashMap<Vec<u8>, usize>,
    /// Held rows computed before an expiry scan could remove their state.
    released: Vec<Row>,
    /// Where the query keeps its stores (None: in memory).
    scope: Option<StateScope>,
    /// Changelog records the last restore read.
    changelog_records_read: usize,
    stream_time: i64,
    changelog: Option<String>,
    /// The changelog partition this copy restores from (a query split by
    /// partition); all of the changelog when None.
    changelog_partition: Option<i32>,
    /// Input rows are table changes (retract the old, add the new).
    table_input: bool,
    /// EMIT FINAL: nothing is emitted until a window closes; then its final
    /// row is, once.
    emit_final: bool,
    /// The window-close time up to which final rows were emitted.
    emitted_until: i64,
    /// EMIT FINAL over time windows: the store keys of the windows not yet
    /// emitted, by window start (so by end: all have the same size).
    /// Advancing stream time takes only the windows that close.
    closing: BTreeMap<i64, Vec<Vec<u8>>>,
    /// The input positions of the restored state's checkpoint.
    checkpoint: Option<crate::operators::checkpoint::Positions>,
    /// How long closed windows stay in the store (RETENTION), past their
    /// end; by default the window's size plus its grace period.
    retention: Option<i64>,
    /// Stream time at which the store is next scanned for expired windows.
    next_expiry: i64,
    /// Time windows starting before this were expired already: the next
    /// scan starts here (not over the deletions of the earlier ones).
    expired_below: i64,
    /// Groups changed in the current batch, in order of first change
    /// (each flagged `dirty`).
    dirty: Vec<Vec<u8>>,
    /// Reused buffers for the key list and store key of the group being
    /// updated.
    id_buf: String,
    key_buf: Vec<u8>,
}

/// A store in memory that keeps everything in its cache.
fn memory_store<V, C: crate::state::Codec<V>>(codec: C) -> CachedStore<V, C> {
    CachedStore::new(
        KvStore::Memory {
            data: Default::default(),
            meta: None,
        },
        codec,
        usize::MAX,
    )
}

impl AggregateOperator {
    pub fn new(
        keys: Vec<Compiled>,
        calls: Vec<AggregateCall>,
        window: Option<WindowAssigner>,
        changelog: Option<String>,
        table_input: bool,
    ) -> Self {
        let codec = GroupCodec {
            key_types: keys.iter().map(|k| k.ty.clone()).collect(),
            state_types: calls
                .iter()
                .map(|c| c.function.state_type.clone())
                .collect(),
        };
        let mergeable = calls.iter().all(|c| c.function.merge.is_some());
        AggregateOperator {
            slice: slices::slice_length(window).filter(|_| mergeable && !table_input),
            dirty_slices: Vec::new(),
            defer: false,
            held: Vec::new(),
            held_windows: Vec::new(),
            held_index: hashbrown::HashMap::new(),
            released: Vec::new(),
            groups: memory_store(codec.clone()),
            sessions: memory_store(SessionCodec(codec)),
            scope: None,
            changelog_records_read: 0,
            key_buf: Vec::new(),
            table_input,
            emit_final: false,
            emitted_until: i64::MIN,
            closing: BTreeMap::new(),
            checkpoint: None,
            retention: None,
            next_expiry: i64::MIN,
            expired_below: i64::MIN,
            dirty: Vec::new(),
            id_buf: String::new(),
            keys,
            calls,
            window,
            stream_time: i64::MIN,
            changelog,
            changelog_partition: None,
        }
    }

    /// Sets the RETENTION of windows.
    pub fn with_retention(mut self, retention: Option<i64>) -> Self {
        self.retention = retention;
        self
    }

    /// Drops windows that ended longer ago than the retention, writing
    /// their deletion to the changelog. (A row for them would be late.)
    fn expire(&mut self, ctx: &mut Context) -> Result<()> {
        let Some(assigner) = self.window else {
            return Ok(());
        };
        let keep = match assigner {
            WindowAssigner::Tumbling { size, grace }
            | WindowAssigner::Hopping { size, grace, .. } => {
                self.retention.unwrap_or(size + grace).max(grace)
            }
            WindowAssigner::Session { gap, grace } => self.session_retention(gap, grace),
        };
        // Scanning the store is amortized: only after stream time moved a
        // quarter of the retention since the last scan.
        if self.stream_time < self.next_expiry {
            return Ok(());
        }
        self.next_expiry = self.stream_time.saturating_add((keep / 4).max(1));
        let horizon = self.stream_time.saturating_sub(keep);
        match assigner {
            WindowAssigner::Hopping { .. } if self.slice.is_some() => {
                self.expire_slices(horizon, ctx)?;
            }
            WindowAssigner::Tumbling { size, .. } | WindowAssigner::Hopping { size, .. } => {
                // A window ends before the horizon when it starts before
                // the horizon less its size: a range of the store.
                let below = horizon.saturating_sub(size);
                let from = start_bytes(self.expired_below);
                self.expired_below = self.expired_below.max(below);
                for key in self.groups.keys_in(&from, Some(&start_bytes(below)))? {
                    self.groups.remove(&key)?;
                    let id = changelog_key(&key, true);
                    self.log_change(id, None, ctx);
                }
            }
            WindowAssigner::Session { .. } => {
                let expired = |g: &Group| g.window.is_some_and(|w| w.end < horizon);
                for (kid, list) in self.sessions.scan(&[], None)? {
                    if !list.iter().any(expired) {
                        continue;
                    }
                    let (gone, kept): (Vec<Group>, Vec<Group>) =
                        list.into_iter().partition(expired);
                    if kept.is_empty() {
                        self.sessions.remove(&kid)?;
                    } else {
                        self.sessions.put(&kid, kept)?;
                    }
                    for g in gone {
                        let start = g.window.map(|w| w.start).unwrap_or(0);
                        self.log_change(session_id(&kid, start), None, ctx);
                    }
                }
            }
        }
        Ok(())
    }

    /// Emits only final results, when windows close (EMIT FINAL).
    pub fn emit_final(mut self) -> Self {
        self.emit_final = true;
        self
    }

    /// How long a time window stays visible past its start (RETENTION,
    /// by default its size plus grace, as ksqlDB's window stores keep it).
    fn time_retention(&self, size: i64, grace: i64) -> i64 {
        let open = size.saturating_add(grace);
        self.retention.unwrap_or(open).max(open)
    }

    /// EMIT FINAL: emits every window that closed since the last call (its
    /// end plus the grace period is at or behind stream time), in order of
    /// window start, then key. As in ksqlDB, a window is emitted only while
    /// the store still holds it: one that stream time jumped past by more
    /// than its retention (measured from its start) is dropped unemitted.
    fn emit_closed(&mut self, out: &mut Vec<Row>) -> Result<()> {
        let Some(assigner) = self.window else {
            return Ok(());
        };
        let (size, grace) = match assigner {
            WindowAssigner::Session { gap, grace } => {
                return self.emit_closed_sessions(gap, grace, out)
            }
            WindowAssigner::Hopping { .. } if self.slice.is_some() => {
                return self.emit_closed_sliced(out)
            }
            WindowAssigner::Tumbling { size, grace }
            | WindowAssigner::Hopping { size, grace, .. } => (size, grace),
        };
        for (_, keys) in self.take_closed(size, grace) {
            let mut ready = Vec::with_capacity(keys.len());
            for key in keys {
                if let Some(g) = self.groups.get(&key)? {
                    ready.push(output_row(&self.calls, g));
                }
            }
            ready.sort_by(|a, b| cmp_keys(&a.values, &b.values));
            out.extend(ready);
        }
        Ok(())
    }

    /// EMIT FINAL over time windows: takes out of the index the windows
    /// that closed since the last call (end plus grace at or behind stream
    /// time), by start; those past their retention are dropped unemitted.
    fn take_closed(&mut self, size: i64, grace: i64) -> Vec<(i64, Vec<Vec<u8>>)> {
        let close = self.stream_time.saturating_sub(grace);
        self.emitted_until = self.emitted_until.max(close);
        // Windows ending at or before `close` start at or before this.
        let last_start = close.saturating_sub(size);
        let oldest_kept = self
            .stream_time
            .saturating_sub(self.time_retention(size, grace));
        let mut closed = Vec::new();
        while let Some(entry) = self.closing.first_entry() {
            if *entry.key() > last_start {
                break;
            }
            let (start, keys) = entry.remove_entry();
            if start >= oldest_kept {
                closed.push((start, keys));
            }
        }
        closed
    }

    /// EMIT FINAL over sessions: emits the sessions that closed since the
    /// last call (end plus gap plus grace at or behind stream time).
    fn emit_closed_sessions(&mut self, gap: i64, grace: i64, out: &mut Vec<Row>) -> Result<()> {
        let close = self.stream_time.saturating_sub(gap.saturating_add(grace));
        if close <= self.emitted_until {
            return Ok(());
        }
        let last = self.emitted_until;
        let mut ready: Vec<Group> = Vec::new();
        for (_, list) in self.sessions.scan(&[], None)? {
            ready.extend(
                list.into_iter()
                    .filter(|g| g.window.is_some_and(|w| w.end <= close && w.end > last)),
            );
        }
        ready.sort_by(|a, b| {
            let wa = a.window.map(|w| (w.start, w.end)).unwrap_or_default();
            let wb = b.window.map(|w| (w.start, w.end)).unwrap_or_default();
            wa.cmp(&wb).then_with(|| cmp_keys(&a.key, &b.key))
        });
        for g in &ready {
            out.push(self.output(g));
        }
        self.emitted_until = close;
        Ok(())
    }

    /// After a restore: the time windows not yet emitted go back into the
    /// EMIT FINAL index, and what was emitted before is not again (every
    /// processed row emitted what its stream time closed).
    fn index_unemitted(&mut self) -> Result<()> {
        let Some(assigner) = self.window.filter(|_| self.emit_final) else {
            return Ok(());
        };
        if self.stream_time == i64::MIN {
            return Ok(());
        }
        let (size, grace) = match assigner {
            WindowAssigner::Session { gap, grace } => {
                self.emitted_until = self.stream_time.saturating_sub(gap.saturating_add(grace));
                return Ok(());
            }
            WindowAssigner::Hopping { .. } if self.slice.is_some() => {
                return self.index_unemitted_slices();
            }
            WindowAssigner::Tumbling { size, grace }
            | WindowAssigner::Hopping { size, grace, .. } => (size, grace),
        };
        self.emitted_until = self.stream_time.saturating_sub(grace);
        let first_open = self.emitted_until.saturating_sub(size).saturating_add(1);
        self.closing.clear();
        for key in self.groups.keys_in(&start_bytes(first_open), None)? {
            if let Some(start) = state::key_start(&key) {
                self.closing.entry(start).or_default().push(key);
            }
        }
        Ok(())
    }

    /// The changelog topic, if state is persisted.
    pub fn changelog_topic(&self) -> Option<&str> {
        self.changelog.as_deref()
    }

    fn eval_key(&self, values: &[Value], row: &Row, ctx: &mut Context) -> Option<Vec<Value>> {
        let mut key = Vec::with_capacity(self.keys.len());
        for k in &self.keys {
            let mut errors = Vec::new();
            let v = k.eval_row(values, &mut errors);
            for e in errors {
                ctx.expression_error(format!("Error computing GROUP BY expression: {e}"), row);
            }
            if v.is_null() {
                // ksqlDB excludes rows whose grouping expressions are null.
                return None;
            }
            key.push(v);
        }
        Some(key)
    }

    fn eval_args(&self, values: &[Value], row: &Row, ctx: &mut Context) -> Vec<Vec<Value>> {
        self.calls
            .iter()
            .map(|c| {
                c.args
                    .iter()
                    .map(|a| {
                        let mut errors = Vec::new();
                        let v = a.eval_row(values, &mut errors);
                        for e in errors {
                            ctx.expression_error(
                                format!("Error computing aggregate argument: {e}"),
                                row,
                            );
                        }
                        v
                    })
                    .collect()
            })
            .collect()
    }

    fn initial(&self) -> Vec<Value> {
        initial_states(&self.calls)
    }

    fn output(&self, g: &Group) -> Row {
        output_row(&self.calls, g)
    }

    fn tombstone(&self, g: &Group) -> Row {
        let mut row = self.output(g);
        row.tombstone = true;
        row
    }

    fn log_change(&self, id: Vec<u8>, g: Option<&Group>, ctx: &mut Context) {
        log_change(self.changelog.as_deref(), id, g, ctx)
    }

    /// Folds (or retracts) one row's arguments into a time window or plain
    /// group and emits the result.
    fn apply(
        &mut self,
        (key, window): (&[Value], Option<Window>),
        args: &[Vec<Value>],
        ts: i64,
        retract: bool,
        ctx: &mut Context,
        out: &mut Vec<Row>,
    ) -> Result<()> {
        let mut failure = None;
        write_key_json(&mut self.id_buf, key);
        let mut id = std::mem::take(&mut self.key_buf);
        store_key(&mut id, &self.id_buf, window);
        let calls = &self.calls;
        // One cache lookup per row and window (the store is read only for
        // a group not cached); the key is copied only for a new group and
        // when the group is first changed in the batch.
        let group = self.groups.get_or_insert_with(&id, || Group {
            key: key.to_vec(),
            window,
            states: initial_states(calls),
            ts: i64::MIN,
            dirty: false,
            held: false,
        });
        let group = match group {
            Ok(g) => g,
            Err(e) => {
                self.key_buf = id;
                return Err(e);
            }
        };
        if self.emit_final && group.ts == i64::MIN {
            // A new window: it waits to close.
            if let Some(w) = window {
                self.closing.entry(w.start).or_default().push(id.clone());
            }
        }
        for ((c, state), a) in calls.iter().zip(group.states.iter_mut()).zip(args) {
            if retract {
                if let Some(r) = &c.function.retract {
                    r(state, a);
                }
            } else {
                (c.function.add)(state, a);
            }
            if let Some(e) = crate::functions::aggregate::take_error() {
                failure.get_or_insert(e);
            }
        }
        if let Some(e) = failure {
            // ksqlDB fails the query (e.g. a DECIMAL sum overflowing).
            self.key_buf = id;
            return Err(Error::eval(format!("Exception caught in process: {e}")));
        }
        group.ts = group.ts.max(ts);
        // The changelog gets the group's state once per batch (see
        // `log_dirty`), not once per update.
        let newly_dirty = !group.dirty;
        group.dirty = true;
        if self.defer {
            if !group.held {
                group.held = true;
                self.held.push(id.clone());
            }
        } else if !self.emit_final {
            out.push(output_row(calls, group));
        }
        if newly_dirty {
            self.dirty.push(id.clone());
        }
        self.key_buf = id;
        let _ = &ctx;
        Ok(())
    }

    /// Computes the rows of the groups held (record caching) into
    /// `released`.
    fn release_held(&mut self) -> Result<()> {
        for key in std::mem::take(&mut self.held) {
            if let Some(g) = self.groups.get_mut(&key)? {
                g.held = false;
                self.released.push(output_row(&self.calls, g));
            }
        }
        self.release_held_windows()
    }

    /// Writes the current state of every group changed in this batch.
    fn log_dirty(&mut self, ctx: &mut Context) -> Result<()> {
        self.log_dirty_slices(ctx)?;
        let dirty = std::mem::take(&mut self.dirty);
        let windowed = self.window.is_some();
        for key in dirty {
            let group = self.groups.get_mut(&key)?.map(|g| {
                g.dirty = false;
                &*g
            });
            if self.changelog.is_some() {
                log_change(
                    self.changelog.as_deref(),
                    changelog_key(&key, windowed),
                    group,
                    ctx,
                );
            }
        }
        Ok(())
    }

    /// How long a session stays in the store past its end (RETENTION, by
    /// default and at least the inactivity gap plus the grace period, as
    /// Kafka Streams' session store requires).
    fn session_retention(&self, gap: i64, grace: i64) -> i64 {
        let open = gap.saturating_add(grace);
        self.retention.unwrap_or(open).max(open)
    }

    /// Folds one row into its key's sessions, as Kafka Streams' session
    /// aggregation does: the row merges with every session it is within
    /// the gap of that the store still holds (one ending more than the
    /// retention before the stream time preceding the row is gone), and it
    /// is late, dropped and counted, only when the merged session ends
    /// before stream time minus gap and grace. So a session keeps taking
    /// rows until its end plus gap plus grace, even with no grace period,
    /// and a row older than that still counts when it falls into a session
    /// that is open.
    fn apply_session(
        &mut self,
        key: Vec<Value>,
        args: &[Vec<Value>],
        (ts, time_before): (i64, i64),
        ctx: &mut Context,
        out: &mut Vec<Row>,
    ) -> Result<()> {
        let Some(WindowAssigner::Session { gap, grace }) = self.window else {
            return Ok(());
        };
        let mut kid_text = String::new();
        write_key_json(&mut kid_text, &key);
        let kid = kid_text.into_bytes();
        let held_after = time_before.saturating_sub(self.session_retention(gap, grace));
        let mergeable = |s: &Group| {
            let w = s.window.expect("sessions have windows");
            w.end > held_after && ts >= w.start - gap && ts <= w.end + gap
        };
        let mut window = Window { start: ts, end: ts };
        for s in self.sessions.get(&kid)?.into_iter().flatten() {
            if mergeable(s) {
                let w = s.window.expect("sessions have windows");
                window.start = window.start.min(w.start);
                window.end = window.end.max(w.end);
            }
        }
        let close = self.stream_time.saturating_sub(gap.saturating_add(grace));
        if window.end < close {
            ctx.late_records += 1;
            return Ok(());
        }
        let mut sessions = self.sessions.remove(&kid)?.unwrap_or_default();
        let (merged, kept): (Vec<Group>, Vec<Group>) = sessions.drain(..).partition(mergeable);
        let mut group = Group {
            key: key.clone(),
            window: Some(window),
            states: self.initial(),
            ts,
            dirty: false,
            held: false,
        };
        for m in &merged {
            for ((c, state), other) in self
                .calls
                .iter()
                .zip(group.states.iter_mut())
                .zip(&m.states)
            {
                if let Some(merge) = &c.function.merge {
                    merge(state, other);
                }
            }
            group.ts = group.ts.max(m.ts);
        }
        for ((c, state), a) in self.calls.iter().zip(group.states.iter_mut()).zip(args) {
            (c.function.add)(state, a);
        }
        // Old sessions that were merged are deleted, oldest first, each with
        // its own timestamp.
        for m in merged.iter() {
            let start = m.window.map(|w| w.start).unwrap_or(0);
            self.log_change(session_id(&kid, start), None, ctx);
            if !self.emit_final {
                out.push(self.tombstone(m));
            }
        }
        self.log_change(session_id(&kid, window.start), Some(&group), ctx);
        if !self.emit_final {
            out.push(self.output(&group));
        } else if window.end <= self.emitted_until {
            // EMIT FINAL: a session ending at the close time `emit_closed`
            // already emitted up to (it is not late, but just) can take no
            // more rows, so it is final now; `emit_closed` only looks at
            // sessions ending after that time.
            out.push(self.output(&group));
        }
        let mut all = kept;
        all.push(group);
        all.sort_by_key(|g| g.window.map(|w| w.start).unwrap_or(0));
        self.sessions.put(&kid, all)
    }
}

impl AggregateCall {
    /// The call as SQL writes it, for plans: `SUM(B.W)`, `COUNT(*)`,
    /// `TOPK(V, 3)`.
    pub fn describe(&self) -> String {
        let mut args: Vec<String> = self.args.iter().map(|a| a.to_string()).collect();
        args.extend(self.function.literals.iter().map(|v| v.to_string()));
        if args.is_empty() {
            args.push("*".to_string());
        }
        format!("{}({})", self.function.name, args.join(", "))
    }
}

impl WindowAssigner {
    /// The window as SQL writes it, for plans: `TUMBLING (SIZE 10 SECONDS,
    /// GRACE PERIOD 1 DAY)`.
    pub fn describe(&self) -> String {
        use super::describe::duration;
        match *self {
            WindowAssigner::Tumbling { size, grace } => format!(
                "TUMBLING (SIZE {}, GRACE PERIOD {})",
                duration(size),
                duration(grace)
            ),
            WindowAssigner::Hopping {
                size,
                advance,
                grace,
            } => format!(
                "HOPPING (SIZE {}, ADVANCE BY {}, GRACE PERIOD {})",
                duration(size),
                duration(advance),
                duration(grace)
            ),
            WindowAssigner::Session { gap, grace } => format!(
                "SESSION ({}, GRACE PERIOD {})",
                duration(gap),
                duration(grace)
            ),
        }
    }
}

impl Operator for AggregateOperator {
    fn name(&self) -> &'static str {
        "Aggregate"
    }

    fn describe(&self) -> String {
        use super::describe::{duration, fields, list};
        let mut parts = Vec::new();
        parts.push((
            "group by",
            if self.keys.is_empty() {
                "(one group)".to_string()
            } else {
                list(&self.keys)
            },
        ));
        let calls: Vec<String> = self.calls.iter().map(AggregateCall::describe).collect();
        parts.push(("aggregates", calls.join(", ")));
        if let Some(w) = &self.window {
            let mut window = w.describe();
            if let (Some(r), Some(open)) = (self.retention, window.strip_suffix(')')) {
                window = format!("{open}, RETENTION {})", duration(r));
            }
            parts.push(("window", window));
        }
        parts.push((
            "emit",
            if self.emit_final { "FINAL" } else { "CHANGES" }.to_string(),
        ));
        if self.table_input {
            parts.push((
                "input",
                "table changes (the replaced row is retracted)".to_string(),
            ));
        }
        parts.push(("store", "local (a cache over disk)".to_string()));
        if let Some(topic) = &self.changelog {
            parts.push(("changelog", topic.clone()));
        }
        fields(&parts)
    }

    fn restore(&mut self, log: &dyn Log) -> Result<()> {
        self.restore_state(log)
    }

    fn set_changelog_partition(&mut self, partition: i32) {
        self.changelog_partition = Some(partition);
    }

    fn attach_state(&mut self, scope: &StateScope) {
        self.scope = Some(scope.clone());
    }

    fn commit_state(
        &mut self,
        checkpoints: &[(String, i64)],
        positions: &crate::operators::checkpoint::Positions,
    ) -> Result<()> {
        self.commit_stores(checkpoints, positions)
    }

    fn checkpoint(&self) -> Option<crate::operators::checkpoint::Positions> {
        self.checkpoint.clone()
    }

    fn process(&mut self, rows: Vec<Row>, ctx: &mut Context) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        for row in rows {
            if !self.table_input && row.tombstone {
                continue;
            }
            let new_key = if row.tombstone {
                None
            } else {
                self.eval_key(&row.values, &row, ctx)
            };
            // Table input: retract what the row replaces. When the row stays
            // in the same group, the retraction and the addition make one
            // change, emitted once.
            if let Some(old) = &row.old {
                if let Some(key) = self.eval_key(old, &row, ctx) {
                    let args = self.eval_args(old, &row, ctx);
                    let same_group = new_key.as_ref() == Some(&key);
                    let mut emitted = Vec::new();
                    self.apply((&key, None), &args, row.ts, true, ctx, &mut emitted)?;
                    if !same_group {
                        out.extend(emitted);
                    }
                }
            }
            let Some(key) = new_key else {
                continue;
            };
            let args = self.eval_args(&row.values, &row, ctx);
            let time_before = self.stream_time;
            self.stream_time = self.stream_time.max(row.ts);
            match self.window {
                None => self.apply((&key, None), &args, row.ts, false, ctx, &mut out)?,
                Some(WindowAssigner::Session { .. }) => {
                    self.apply_session(key, &args, (row.ts, time_before), ctx, &mut out)?
                }
                Some(_) if self.slice.is_some() => {
                    self.apply_sliced(key, &args, row.ts, ctx, &mut out)?
                }
                Some(assigner) => {
                    let close = self.stream_time.saturating_sub(assigner.grace());
                    for w in assigner.windows(row.ts) {
                        if w.end <= close {
                            ctx.late_records += 1;
                            continue;
                        }
                        self.apply((&key, Some(w)), &args, row.ts, false, ctx, &mut out)?;
                    }
                }
            }
            if self.emit_final {
                self.emit_closed(&mut out)?;
            }
        }
        self.log_dirty(ctx)?;
        if self.defer && self.stream_time >= self.next_expiry {
            self.release_held()?;
        }
        self.expire(ctx)?;
        Ok(out)
    }

    fn defer_changes(&mut self) {
        // EMIT FINAL emits only closed windows, and session merges emit
        // deletions: both stay as they are.
        let sessions = matches!(self.window, Some(WindowAssigner::Session { .. }));
        self.defer = !self.emit_final && !sessions;
    }

    fn drain(&mut self, _ctx: &mut Context) -> Result<Vec<Row>> {
        self.release_held()?;
        Ok(std::mem::take(&mut self.released))
    }
}

#[cfg(test)]
mod tests;
