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
//! State lives in memory and every change is written to a changelog topic
//! (through `Context::changelog`) before the task commits its input
//! offsets; `restore` rebuilds the state from that topic on start.

use crate::error::{Error, Result};
use crate::expr::Compiled;
use crate::formats::json::{json_text_to_value, write_json};
use crate::functions::aggregate::ResolvedAggregate;
use crate::log::{Log, Record};
use crate::operators::{Context, Operator, Row, Window};
use crate::types::{SqlType, Value};

/// Writes values as a JSON array (as `write_json` of an ARRAY would),
/// without building the array.
fn write_json_list(out: &mut String, values: &[Value]) {
    out.push('[');
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json(out, v);
    }
    out.push(']');
}

/// The store (and changelog) key of a group: its key values as JSON, and
/// the window start.
fn group_id(key: &[Value], window: Option<Window>) -> Vec<u8> {
    let mut out = String::with_capacity(32);
    write_group_id(&mut out, key, window);
    out.into_bytes()
}

/// Appends the id of [`group_id`] to `out`.
fn write_group_id(out: &mut String, key: &[Value], window: Option<Window>) {
    write_json_list(out, key);
    if let Some(w) = window {
        out.push('@');
        out.push_str(itoa::Buffer::new().format(w.start));
    }
}

/// The groups by id: hashbrown's map with its default hasher (foldhash,
/// much cheaper than SipHash on these short byte strings and seeded per
/// map all the same), whose `entry_ref` copies the id only for a new group.
type GroupMap<V> = hashbrown::HashMap<Vec<u8>, V>;

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
/// persisted): its state, or its deletion.
fn log_change(topic: Option<&str>, id: &[u8], g: Option<&Group>, ctx: &mut Context) {
    let Some(topic) = topic else { return };
    let value = g.map(|g| {
        let mut out = String::with_capacity(64);
        out.push('[');
        write_json_list(&mut out, &g.key);
        out.push(',');
        write_json_list(&mut out, &g.states);
        let mut num = itoa::Buffer::new();
        out.push(',');
        out.push_str(num.format(g.ts));
        out.push(',');
        match g.window {
            Some(w) => {
                out.push('[');
                out.push_str(num.format(w.start));
                out.push(',');
                out.push_str(num.format(w.end));
                out.push(']');
            }
            None => out.push_str("null"),
        }
        out.push(']');
        out.into_bytes()
    });
    ctx.changelog.push((
        topic.to_string(),
        Record {
            key: Some(id.to_vec()),
            value,
            timestamp: g.map(|g| g.ts).unwrap_or(0),
            headers: Vec::new(),
        },
    ));
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

/// The accumulated state of one group (and window).
#[derive(Debug, Clone)]
struct Group {
    key: Vec<Value>,
    window: Option<Window>,
    states: Vec<Value>,
    /// The largest timestamp of the rows folded in.
    ts: i64,
    /// Changed in the current batch (its id is in `dirty`).
    dirty: bool,
}

/// Groups rows and maintains their aggregates.
pub struct AggregateOperator {
    keys: Vec<Compiled>,
    key_types: Vec<SqlType>,
    calls: Vec<AggregateCall>,
    window: Option<WindowAssigner>,
    /// Time windows and plain groups, by key (and window start).
    groups: GroupMap<Group>,
    /// Session windows by key, ordered by start.
    sessions: GroupMap<Vec<Group>>,
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
    /// The input positions of the restored state's checkpoint.
    checkpoint: Option<crate::operators::checkpoint::Positions>,
    /// How long closed windows stay in the store (RETENTION), past their
    /// end; by default the window's size plus its grace period.
    retention: Option<i64>,
    /// Stream time at which the store is next scanned for expired windows.
    next_expiry: i64,
    /// Groups changed in the current batch, in order of first change
    /// (each flagged `dirty`).
    dirty: Vec<Vec<u8>>,
    /// Reused buffer for the id of the group being updated.
    id_buf: String,
}

impl AggregateOperator {
    pub fn new(
        keys: Vec<Compiled>,
        calls: Vec<AggregateCall>,
        window: Option<WindowAssigner>,
        changelog: Option<String>,
        table_input: bool,
    ) -> Self {
        AggregateOperator {
            table_input,
            emit_final: false,
            emitted_until: i64::MIN,
            checkpoint: None,
            retention: None,
            next_expiry: i64::MIN,
            dirty: Vec::new(),
            id_buf: String::new(),
            key_types: keys.iter().map(|k| k.ty.clone()).collect(),
            keys,
            calls,
            window,
            groups: GroupMap::default(),
            sessions: GroupMap::default(),
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
    fn expire(&mut self, ctx: &mut Context) {
        let Some(assigner) = self.window else { return };
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
            return;
        }
        self.next_expiry = self.stream_time.saturating_add((keep / 4).max(1));
        let horizon = self.stream_time.saturating_sub(keep);
        let expired = |g: &Group| g.window.is_some_and(|w| w.end < horizon);
        let mut gone: Vec<Vec<u8>> = self
            .groups
            .iter()
            .filter(|(_, g)| expired(g))
            .map(|(id, _)| id.clone())
            .collect();
        for id in &gone {
            self.groups.remove(id);
        }
        for list in self.sessions.values_mut() {
            list.retain(|g| {
                if expired(g) {
                    gone.push(group_id(&g.key, g.window));
                    false
                } else {
                    true
                }
            });
        }
        self.sessions.retain(|_, l| !l.is_empty());
        for id in gone {
            self.log_change(&id, None, ctx);
        }
    }

    /// Emits only final results, when windows close (EMIT FINAL).
    pub fn emit_final(mut self) -> Self {
        self.emit_final = true;
        self
    }

    /// EMIT FINAL: emits every window that closed since the last call, in
    /// order of window start. A window that closed and also fell out of
    /// retention (size plus grace) before it could be emitted is not.
    fn emit_closed(&mut self, out: &mut Vec<Row>) {
        let Some(assigner) = self.window else { return };
        let (close, retention) = match assigner {
            WindowAssigner::Session { gap, grace } => {
                (self.stream_time.saturating_sub(gap + grace), None)
            }
            WindowAssigner::Tumbling { size, grace }
            | WindowAssigner::Hopping { size, grace, .. } => (
                self.stream_time.saturating_sub(grace),
                Some(self.stream_time.saturating_sub(size + grace)),
            ),
        };
        if close <= self.emitted_until {
            return;
        }
        let last = self.emitted_until;
        let in_range = |g: &Group| {
            let w = g.window.expect("windowed groups have windows");
            w.end <= close && w.end > last && retention.is_none_or(|r| w.start >= r)
        };
        let mut ready: Vec<Group> = self
            .groups
            .values()
            .filter(|g| in_range(g))
            .cloned()
            .collect();
        for list in self.sessions.values() {
            ready.extend(list.iter().filter(|g| in_range(g)).cloned());
        }
        ready.sort_by(|a, b| {
            let wa = a.window.map(|w| (w.start, w.end)).unwrap_or_default();
            let wb = b.window.map(|w| (w.start, w.end)).unwrap_or_default();
            wa.cmp(&wb).then_with(|| {
                a.key
                    .iter()
                    .zip(&b.key)
                    .map(|(x, y)| x.total_cmp(y))
                    .find(|o| o.is_ne())
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
        });
        for g in &ready {
            out.push(self.output(g));
        }
        self.emitted_until = close;
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

    fn log_change(&self, id: &[u8], g: Option<&Group>, ctx: &mut Context) {
        log_change(self.changelog.as_deref(), id, g, ctx)
    }

    fn id(&self, key: &[Value], window: Option<Window>) -> Vec<u8> {
        group_id(key, window)
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
        let mut id = std::mem::take(&mut self.id_buf);
        id.clear();
        write_group_id(&mut id, key, window);
        let calls = &self.calls;
        // One hash lookup per row and window; the id is copied only for a
        // new group and when the group is first changed in the batch.
        let group = match self.groups.entry_ref(id.as_bytes()) {
            hashbrown::hash_map::EntryRef::Occupied(o) => o.into_mut(),
            hashbrown::hash_map::EntryRef::Vacant(v) => v.insert(Group {
                key: key.to_vec(),
                window,
                states: initial_states(calls),
                ts: i64::MIN,
                dirty: false,
            }),
        };
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
            return Err(Error::eval(format!("Exception caught in process: {e}")));
        }
        group.ts = group.ts.max(ts);
        // The changelog gets the group's state once per batch (see
        // `log_dirty`), not once per update.
        let newly_dirty = !group.dirty;
        group.dirty = true;
        if !self.emit_final {
            out.push(output_row(calls, group));
        }
        if newly_dirty {
            self.dirty.push(id.as_bytes().to_vec());
        }
        self.id_buf = id;
        let _ = &ctx;
        Ok(())
    }

    /// Writes the current state of every group changed in this batch.
    fn log_dirty(&mut self, ctx: &mut Context) {
        let dirty = std::mem::take(&mut self.dirty);
        for id in dirty {
            let group = self.groups.get_mut(&id).map(|g| {
                g.dirty = false;
                &*g
            });
            log_change(self.changelog.as_deref(), &id, group, ctx);
        }
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
    ) {
        let Some(WindowAssigner::Session { gap, grace }) = self.window else {
            return;
        };
        let kid = self.id(&key, None);
        let held_after = time_before.saturating_sub(self.session_retention(gap, grace));
        let mergeable = |s: &Group| {
            let w = s.window.expect("sessions have windows");
            w.end > held_after && ts >= w.start - gap && ts <= w.end + gap
        };
        let mut window = Window { start: ts, end: ts };
        for s in self.sessions.get(&kid).into_iter().flatten() {
            if mergeable(s) {
                let w = s.window.expect("sessions have windows");
                window.start = window.start.min(w.start);
                window.end = window.end.max(w.end);
            }
        }
        let close = self.stream_time.saturating_sub(gap.saturating_add(grace));
        if window.end < close {
            ctx.late_records += 1;
            return;
        }
        let mut sessions = self.sessions.remove(&kid).unwrap_or_default();
        let (merged, kept): (Vec<Group>, Vec<Group>) = sessions.drain(..).partition(mergeable);
        let mut group = Group {
            key: key.clone(),
            window: Some(window),
            states: self.initial(),
            ts,
            dirty: false,
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
            let id = self.id(&m.key, m.window);
            self.log_change(&id, None, ctx);
            if !self.emit_final {
                out.push(self.tombstone(m));
            }
        }
        let id = self.id(&group.key, group.window);
        self.log_change(&id, Some(&group), ctx);
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
        self.sessions.insert(kid, all);
    }

    /// Rebuilds state from the changelog topic.
    fn restore_state(&mut self, log: &dyn Log) -> Result<()> {
        let Some(topic) = self.changelog.clone() else {
            return Ok(());
        };
        let Some(info) = log.describe_topic(&topic)? else {
            return Ok(());
        };
        let _ = info;
        let restored = crate::operators::checkpoint::read(log, &topic, self.changelog_partition)?;
        let partition = self.changelog_partition.unwrap_or(0);
        crate::operators::checkpoint::repair(log, &topic, partition, &restored)?;
        self.checkpoint = restored.checkpoint.clone();
        for (id, value) in restored.latest {
            let Some(bytes) = value else { continue };
            let text = std::str::from_utf8(&bytes).map_err(|e| Error::format(e.to_string()))?;
            let parsed: serde_json::Value = serde_json::from_str(text)?;
            let arr = parsed
                .as_array()
                .ok_or_else(|| Error::format("bad changelog record"))?;
            let key = arr
                .first()
                .and_then(|k| k.as_array())
                .cloned()
                .unwrap_or_default()
                .iter()
                .zip(&self.key_types)
                .map(|(j, t)| json_text_to_value(&j.to_string(), t))
                .collect::<Result<Vec<_>>>()?;
            let states_json = arr
                .get(1)
                .and_then(|v| v.as_array())
                .cloned()
                .unwrap_or_default();
            let states = states_json
                .iter()
                .zip(&self.calls)
                .map(|(j, c)| json_text_to_value(&j.to_string(), &c.function.state_type))
                .collect::<Result<Vec<_>>>()?;
            let ts = arr.get(2).and_then(|v| v.as_i64()).unwrap_or(0);
            let window = arr.get(3).and_then(|v| v.as_array()).map(|w| Window {
                start: w.first().and_then(|x| x.as_i64()).unwrap_or(0),
                end: w.get(1).and_then(|x| x.as_i64()).unwrap_or(0),
            });
            self.stream_time = self.stream_time.max(ts);
            let group = Group {
                key,
                window,
                states,
                ts,
                dirty: false,
            };
            if matches!(self.window, Some(WindowAssigner::Session { .. })) {
                let kid = self.id(&group.key, None);
                let list = self.sessions.entry(kid).or_default();
                list.push(group);
                list.sort_by_key(|g| g.window.map(|w| w.start).unwrap_or(0));
            } else {
                self.groups.insert(id, group);
            }
        }
        Ok(())
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
        parts.push(("store", "in memory".to_string()));
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
                    self.apply_session(key, &args, (row.ts, time_before), ctx, &mut out)
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
                self.emit_closed(&mut out);
            }
        }
        self.log_dirty(ctx);
        self.expire(ctx);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::aggregate::AggregateRegistry;

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
        assert_eq!(op.groups.len(), 2);
        // Window [0, 10) ends 30 before stream time 40: past its retention.
        let out = op.process(vec![row("a", 40)], &mut ctx).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(op.groups.len(), 1);
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
}
