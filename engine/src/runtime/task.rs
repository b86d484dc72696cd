//! Tasks: the loop that reads a source's partitions from the Log, runs the
//! records through a query's operators and hands the results on — to a sink
//! topic for persistent queries (committing source offsets only after the
//! results are appended), or to the caller for push queries.

use super::processing_log;
use super::reader::{Out, SourceReader, BATCH};
use super::repartition::Repartition;
use super::writes::Write;
use crate::error::Result;
use crate::log::{GroupMember, Log, StoredRecord, TxnWriter};
use crate::operators::checkpoint;
use crate::operators::internal_row::decode_row;
use crate::operators::{
    Context, JoinOperator, Operator, ProcessingError, Row, SinkEncoder, SourceDecoder,
};
use std::sync::atomic::{AtomicU64, Ordering};

/// How an input's records become rows.
pub enum Decoder {
    /// A source topic, in the source's formats.
    Source(SourceDecoder),
    /// An internal repartition topic (named), holding whole rows.
    Repartitioned(String),
}

impl Decoder {
    pub fn decode(&self, rec: &StoredRecord) -> std::result::Result<Row, ProcessingError> {
        match self {
            Decoder::Source(d) => d.decode(rec),
            Decoder::Repartitioned(topic) => decode_row(rec, topic),
        }
    }
}

/// Decoding plus the operator chain of one query.
pub struct Pipeline {
    pub decoder: Decoder,
    pub operators: Vec<Box<dyn Operator>>,
}

impl Pipeline {
    /// Runs records through the pipeline; bad records land in `ctx.errors`.
    pub fn run(&mut self, records: &[StoredRecord], ctx: &mut Context) -> Result<Vec<Row>> {
        let mut rows = Vec::with_capacity(records.len());
        for r in records {
            match self.decoder.decode(r) {
                Ok(row) => rows.push(row),
                Err(e) => ctx.errors.push(e),
            }
        }
        for op in self.operators.iter_mut() {
            if rows.is_empty() {
                break;
            }
            rows = op.process(rows, ctx)?;
        }
        Ok(rows)
    }
}

/// One input of a query: a topic's reader and the decoding and operators
/// applied to its records before they meet the other inputs.
pub struct Input {
    pub reader: SourceReader,
    pub pipeline: Pipeline,
    /// For an input re-keyed through an internal topic (which `reader`
    /// reads): the stage that fills that topic from the source.
    pub repartition: Option<Repartition>,
}

impl Input {
    /// The topic the query consumes from outside: the source, also when
    /// it is read through a repartition topic.
    pub fn source_topic(&self) -> &str {
        match &self.repartition {
            Some(r) => &r.reader.topic,
            None => &self.reader.topic,
        }
    }
}

/// What a query computes: its inputs, the join between them (when there
/// are several), and the operators after the join.
pub struct Flow {
    pub inputs: Vec<Input>,
    pub join: Option<Box<dyn JoinOperator>>,
    pub operators: Vec<Box<dyn Operator>>,
    /// A persistent query's inputs meet in event-time order (see `step`);
    /// a query over what the topics hold now reads them input by input.
    pub time_ordered: bool,
}

impl Flow {
    /// Reads what is available on every input (in input order), runs it
    /// through, and returns the number of records read and the results.
    /// Repartition stages write to `writes`.
    pub fn step(
        &mut self,
        log: &dyn Log,
        writes: &mut Out<'_>,
        ctx: &mut Context,
    ) -> Result<(usize, Vec<Row>)> {
        let mut read = 0;
        let mut out = Vec::new();
        for input in self.inputs.iter_mut() {
            if let Some(stage) = input.repartition.as_mut() {
                read += stage.step(log, writes, ctx)?;
            }
        }
        let mut sides = Vec::with_capacity(self.inputs.len());
        for input in self.inputs.iter_mut() {
            let records = input.reader.read(log)?;
            read += records.len();
            sides.push(if records.is_empty() {
                Vec::new()
            } else {
                input.pipeline.run(&records, ctx)?
            });
        }
        // The inputs of a join meet in event-time order, as Kafka Streams
        // picks the input whose next record is oldest: a table's rows that
        // are older than a stream's are in the table before the stream's
        // rows look them up, however the reads fell.
        let runs = if self.time_ordered {
            merge_by_time(sides)
        } else {
            sides
                .into_iter()
                .enumerate()
                .filter(|(_, rows)| !rows.is_empty())
                .collect()
        };
        for (side, rows) in runs {
            let mut rows = rows;
            if let Some(join) = self.join.as_mut() {
                rows = join.process(side, rows, ctx)?;
            }
            for op in self.operators.iter_mut() {
                if rows.is_empty() {
                    break;
                }
                rows = op.process(rows, ctx)?;
            }
            out.extend(rows);
        }
        Ok((read, out))
    }

    /// Has the operators hold changed rows until `drain` (record caching).
    pub fn defer_changes(&mut self) {
        for op in self.operators.iter_mut() {
            op.defer_changes();
        }
    }

    /// The rows operators held back (see `defer_changes`), each run
    /// through the operators after the one that held it.
    pub fn drain(&mut self, ctx: &mut Context) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        for i in 0..self.operators.len() {
            let mut rows = self.operators[i].drain(ctx)?;
            for op in self.operators[i + 1..].iter_mut() {
                if rows.is_empty() {
                    break;
                }
                rows = op.process(rows, ctx)?;
            }
            out.extend(rows);
        }
        Ok(out)
    }

    /// Every topic reader of the query: repartition stages' sources, then
    /// each input's own.
    pub fn readers(&self) -> impl Iterator<Item = &SourceReader> {
        self.inputs.iter().flat_map(|i| {
            i.repartition
                .as_ref()
                .map(|r| &r.reader)
                .into_iter()
                .chain(std::iter::once(&i.reader))
        })
    }

    pub fn readers_mut(&mut self) -> impl Iterator<Item = &mut SourceReader> {
        self.inputs.iter_mut().flat_map(|i| {
            i.repartition
                .as_mut()
                .map(|r| &mut r.reader)
                .into_iter()
                .chain(std::iter::once(&mut i.reader))
        })
    }

    /// Keeps only partition `p` of every reader, and has the operators
    /// keep their state in partition `p` of their changelogs.
    pub fn only_partition(&mut self, p: i32) {
        for reader in self.readers_mut() {
            reader.positions.retain(|(q, _)| *q == p);
        }
        for op in self.operators.iter_mut() {
            op.set_changelog_partition(p);
        }
    }

    /// Tells the stateful operators where the query keeps its stores.
    pub fn attach_state(&mut self, scope: &crate::state::StateScope) {
        for op in self.operators.iter_mut() {
            op.attach_state(scope);
        }
    }

    /// Hands the operators' stores the changelog checkpoints a commit
    /// just wrote (see [`Operator::commit_state`]).
    pub fn commit_state(
        &mut self,
        checkpoints: &[(String, i64)],
        positions: &checkpoint::Positions,
    ) -> Result<()> {
        for op in self.operators.iter_mut() {
            op.commit_state(checkpoints, positions)?;
        }
        Ok(())
    }

    /// Commits every input's position for `group`.
    pub fn commit(&self, log: &dyn Log, group: &str) -> Result<()> {
        log.commit_offsets(group, &self.positions())
    }

    /// Rebuilds state before a restarted query consumes input: operators
    /// after the inputs reload their changelogs; the inputs' own state (a
    /// table's current rows, a join's buffers) is rebuilt by replaying each
    /// input topic up to the committed position, discarding the results
    /// (a table's topic is its own changelog).
    pub fn restore(&mut self, log: &dyn Log) -> Result<()> {
        for op in self.operators.iter_mut() {
            op.restore(log)?;
        }
        // Resume from the state's checkpoint rather than the (possibly
        // later) committed offsets.
        if let Some(positions) = self.operators.iter().find_map(|op| op.checkpoint()) {
            for reader in self.readers_mut() {
                for (p, pos) in reader.positions.iter_mut() {
                    if let Some((_, _, o)) = positions
                        .iter()
                        .find(|(t, q, _)| *t == reader.topic && q == p)
                    {
                        *pos = *o;
                    }
                }
            }
        }
        // A repartition stage goes on after what already reached its
        // internal topic.
        for input in self.inputs.iter_mut() {
            if let Some(stage) = input.repartition.as_mut() {
                stage.resume(log, &input.reader.positions)?;
            }
        }
        let stateful =
            self.join.is_some() || self.inputs.iter().any(|i| !i.pipeline.operators.is_empty());
        if !stateful {
            return Ok(());
        }
        for side in 0..self.inputs.len() {
            let input = &mut self.inputs[side];
            let mut replay = SourceReader {
                topic: input.reader.topic.clone(),
                positions: input
                    .reader
                    .positions
                    .iter()
                    .map(|(p, _)| (*p, 0))
                    .collect(),
            };
            let ends: Vec<i64> = input.reader.positions.iter().map(|(_, o)| *o).collect();
            loop {
                let mut records = Vec::new();
                for ((p, pos), end) in replay.positions.iter_mut().zip(&ends) {
                    if *pos >= *end {
                        continue;
                    }
                    let batch = log.read(&replay.topic, *p, *pos, BATCH)?;
                    let batch: Vec<StoredRecord> =
                        batch.into_iter().filter(|r| r.offset < *end).collect();
                    if let Some(last) = batch.last() {
                        *pos = last.offset + 1;
                    } else {
                        *pos = *end;
                    }
                    records.extend(batch);
                }
                if records.is_empty() {
                    break;
                }
                let mut ctx = Context::default();
                let rows = input.pipeline.run(&records, &mut ctx)?;
                if let Some(join) = self.join.as_mut() {
                    join.process(side, rows, &mut ctx)?;
                }
            }
        }
        Ok(())
    }

    /// Every reader's current positions.
    pub fn positions(&self) -> checkpoint::Positions {
        self.readers()
            .flat_map(|r| {
                r.positions
                    .iter()
                    .map(move |(p, o)| (r.topic.clone(), *p, *o))
            })
            .collect()
    }

    /// True when every input has read up to `ends` (per input, per
    /// partition).
    pub fn reached(&self, ends: &[Vec<i64>]) -> bool {
        self.inputs.iter().zip(ends).all(|(input, ends)| {
            input
                .reader
                .positions
                .iter()
                .zip(ends)
                .all(|((_, pos), end)| pos >= end)
        })
    }

    /// The current end offsets of every input.
    pub fn ends(&self, log: &dyn Log) -> Result<Vec<Vec<i64>>> {
        self.inputs
            .iter()
            .map(|input| {
                input
                    .reader
                    .positions
                    .iter()
                    .map(|(p, _)| log.end_offset(&input.reader.topic, *p))
                    .collect()
            })
            .collect()
    }
}

/// A persistent query's counters since it started in this process.
#[derive(Debug, Default)]
pub struct QueryStats {
    /// Input records read.
    pub consumed: AtomicU64,
    /// Result records written to the sink.
    pub produced: AtomicU64,
    /// Records skipped because they could not be processed (each is in
    /// the processing log).
    pub errors: AtomicU64,
    /// Records dropped because they arrived after their window had
    /// closed (its grace period passed).
    pub late: AtomicU64,
}

/// A persistent query's task: inputs -> operators -> sink topic.
pub struct PersistentTask {
    pub query_id: String,
    /// The consumer group its offsets are committed under.
    pub group: String,
    pub flow: Flow,
    pub sink: SinkEncoder,
    /// The query's counters (shared by every task of a split query).
    pub stats: std::sync::Arc<QueryStats>,
    /// For a table sink with record caching on: the key columns by which
    /// the changes of one step are coalesced (only the last change of each
    /// key is written, as ksqlDB's cache does until its commit interval).
    pub coalesce: Option<Vec<usize>>,
    /// State changelogs that receive a checkpoint after every step.
    pub checkpoints: Vec<String>,
    /// The partition of the changelogs this task writes state changes and
    /// checkpoints to (its input partition when the query is split).
    pub changelog_partition: i32,
    /// How long results may wait to be coalesced (`commit.interval.ms`);
    /// None writes after every step.
    pub commit_interval: Option<std::time::Duration>,
    /// How often the input offsets are committed (`commit.interval.ms`, on
    /// Kafka, as Kafka Streams commits): results are handed to the log as
    /// they are computed (see `commit_interval`), and once this long has
    /// passed since the last commit, the log's outstanding writes are
    /// awaited and the offsets (with the state checkpoints) committed; under
    /// exactly-once, the transaction commits then. A crash replays the input
    /// after the last commit. None commits with every write.
    pub commit_every: Option<std::time::Duration>,
    /// When the offsets were last committed.
    pub last_commit: std::time::Instant,
    /// Results were written since the last commit, or input read: the
    /// offsets are not committed yet.
    pub uncommitted: bool,
    /// What was computed but not yet written.
    pub pending: Pending,
    /// The writes of a flush the log refused part of (a full disk), done
    /// before anything else.
    pub writes: super::writes::Writes,
    /// Where several processes share the query (Kafka): its membership of
    /// the query's consumer group, and what it owns.
    pub group_member: Option<Membership>,
    /// With `processing.guarantee = exactly_once_v2` on Kafka: opens the
    /// transactional writer through which results, state changes and
    /// input offsets commit together. It is opened when this process takes
    /// the query's work on (opening it fences an earlier writer of the
    /// same query, which may be a process that lost the query but does not
    /// know yet), and dropped when the work moves away.
    pub exactly_once: Option<TxnFactory>,
    /// The open writer.
    pub txn: Option<Box<dyn TxnWriter>>,
    /// Plans the query afresh, its inputs at the group's committed
    /// positions: how the query starts over from its committed state after
    /// an aborted transaction, or when it comes back to this process.
    pub rebuild: Option<Rebuild>,
}

/// What a caught panic says.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    match (
        payload.downcast_ref::<&str>(),
        payload.downcast_ref::<String>(),
    ) {
        (Some(s), _) => (*s).to_string(),
        (_, Some(s)) => s.clone(),
        _ => "a panic without a message".to_string(),
    }
}

/// Opens a query's flow anew (see [`PersistentTask::rebuild`]).
pub type Rebuild = Box<dyn FnMut() -> Result<Flow> + Send>;

/// Opens a query's transactional writer (see [`PersistentTask::exactly_once`]).
pub type TxnFactory = Box<dyn FnMut() -> Result<Box<dyn TxnWriter>> + Send>;

/// A persistent query's share of the work when several processes run it.
///
/// A stateless query reads exactly the partitions the group gives this
/// process. A stateful one that cannot be split by partition (see
/// `runtime::split` for those that can) runs whole on the process that owns
/// partition 0 of its first input; that process restores the state from
/// the changelogs when it takes the query over.
pub struct Membership {
    pub member: Box<dyn GroupMember>,
    /// Whether the query keeps state.
    pub stateful: bool,
    /// Read partitions without committed offsets from their start.
    pub earliest: bool,
    /// What the group gave this process last.
    owned: Option<Vec<(String, i32)>>,
    /// A stateful query that ran here and moved away: its state is stale.
    lost: bool,
}

impl Membership {
    pub fn new(member: Box<dyn GroupMember>, stateful: bool, earliest: bool) -> Self {
        Membership {
            member,
            stateful,
            earliest,
            owned: None,
            lost: false,
        }
    }
}

/// Results and state changes waiting for the commit interval.
#[derive(Debug)]
pub struct Pending {
    rows: Vec<Row>,
    changelog: Vec<(String, crate::log::Record)>,
    rekeyed: Vec<(String, crate::log::Record)>,
    dirty: bool,
    /// Steps whose changes are pending (one step's changelog holds one
    /// change per key already).
    steps: usize,
    since: std::time::Instant,
}

impl Default for Pending {
    fn default() -> Self {
        Pending {
            rows: Vec::new(),
            changelog: Vec::new(),
            rekeyed: Vec::new(),
            dirty: false,
            steps: 0,
            since: std::time::Instant::now(),
        }
    }
}

impl PersistentTask {
    /// Processes whatever input is available now; returns how many input
    /// records were consumed. Results, state changes and offsets are written
    /// together when the commit interval has passed (at once without one).
    pub fn poll(&mut self, log: &dyn Log) -> Result<usize> {
        // A panic in an operator fails the step like an error does (the
        // task starts over from its committed state below).
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.poll_once(log)))
            .unwrap_or_else(|panic| {
                Err(crate::Error::internal(format!(
                    "panicked: {}",
                    panic_message(panic.as_ref())
                )))
            });
        if polled.is_err() && self.writes.is_empty() {
            // (A flush the log refused part of resumes instead: starting
            // over would write its first part twice.)
            // What was read since the last commit may not have reached the
            // sink (and under exactly-once the transaction is gone): start
            // over from what committed, as after a restart, so the failed
            // input is processed again rather than lost.
            if let Err(e) = self.start_over(log) {
                tracing::warn!("query {}: {e}", self.query_id);
            }
        }
        polled
    }

    /// Drops everything not committed (the open transaction, pending
    /// results, in-memory state) and opens the query afresh at its
    /// committed positions and state.
    fn start_over(&mut self, log: &dyn Log) -> Result<()> {
        if let Some(mut txn) = self.txn.take() {
            if let Err(e) = txn.abort() {
                tracing::warn!("query {}: {e}", self.query_id);
            }
        }
        self.pending = Pending::default();
        self.writes = Default::default();
        self.uncommitted = false;
        self.last_commit = std::time::Instant::now();
        let Some(rebuild) = self.rebuild.as_mut() else {
            return Err(crate::Error::log(format!(
                "query {} cannot start over",
                self.query_id
            )));
        };
        self.flow = rebuild()?;
        if self.coalesce.is_some() {
            self.flow.defer_changes();
        }
        match self.group_member.as_mut() {
            // The group's next poll says what to read, and restores state.
            Some(m) => {
                for reader in self.flow.readers_mut() {
                    reader.positions.clear();
                }
                m.owned = None;
                m.lost = false;
            }
            None => self.flow.restore(log)?,
        }
        tracing::info!(
            "query {} started over from its committed state",
            self.query_id
        );
        Ok(())
    }

    fn poll_once(&mut self, log: &dyn Log) -> Result<usize> {
        self.finish_writes(log)?;
        if !self.follow_group(log)? {
            return Ok(0);
        }
        if self.txn.is_none() {
            if let Some(open) = self.exactly_once.as_mut() {
                self.txn = Some(open()?);
            }
        }
        let mut ctx = Context::default();
        let (read, rows) = match self.txn.as_mut() {
            Some(txn) => self.flow.step(log, &mut Out::Txn(txn.as_mut()), &mut ctx)?,
            None => self.flow.step(log, &mut Out::Log(log), &mut ctx)?,
        };
        self.report(log, &ctx.errors)?;
        if ctx.late_records > 0 {
            self.stats
                .late
                .fetch_add(ctx.late_records, Ordering::Relaxed);
        }
        if read > 0 {
            self.stats
                .consumed
                .fetch_add(read as u64, Ordering::Relaxed);
            self.pending.rows.extend(rows);
            self.pending.changelog.append(&mut ctx.changelog);
            self.pending.rekeyed.append(&mut ctx.rekeyed);
            self.pending.dirty = true;
            self.pending.steps += 1;
        }
        let due = self
            .commit_interval
            .is_none_or(|i| self.pending.since.elapsed() >= i);
        let commit_due = self
            .commit_every
            .is_none_or(|i| self.last_commit.elapsed() >= i);
        if self.pending.dirty && due {
            self.write_out(log, commit_due)?;
        } else if self.uncommitted && commit_due {
            self.write_out(log, true)?;
        }
        Ok(read)
    }

    /// Follows the consumer group (when the query is shared): takes up the
    /// partitions it gives this process and lets go of those it takes
    /// away. Returns whether this process has work in the query now.
    fn follow_group(&mut self, log: &dyn Log) -> Result<bool> {
        let Some(m) = self.group_member.as_mut() else {
            return Ok(true);
        };
        let Some(owned) = m.member.poll()? else {
            return Ok(false);
        };
        if m.owned.as_ref() == Some(&owned) {
            return Ok(self.active());
        }
        let before = m.owned.replace(owned.clone());
        let (stateful, earliest) = (m.stateful, m.earliest);
        let was_active = before.is_some() && self.active();
        if was_active && (self.pending.dirty || self.uncommitted) {
            // Results computed from partitions that may have moved: write
            // them (the commit may be refused; the new owner then redoes
            // that input, at least once).
            if let Err(e) = self.flush(log) {
                tracing::warn!("query {}: {e}", self.query_id);
            }
        }
        self.pending = Pending::default();
        let first = self
            .flow
            .inputs
            .first()
            .map(|i| i.source_topic().to_string());
        if stateful {
            let owner = first.is_some_and(|t| owned.contains(&(t, 0)));
            let m = self.group_member.as_mut().expect("checked above");
            match (was_active, owner) {
                (true, true) | (false, false) => {}
                (true, false) => {
                    m.lost = true;
                    self.txn = None;
                    tracing::info!(
                        "query {} moved to another process of the service",
                        self.query_id
                    );
                    for reader in self.flow.readers_mut() {
                        reader.positions.clear();
                    }
                }
                (false, true) if m.lost => {
                    // The state here is stale: plan the query afresh and
                    // take it over like a new owner.
                    tracing::info!("query {} came back to this process", self.query_id);
                    self.start_over(log)?;
                    return Ok(false);
                }
                (false, true) => {
                    // Taking the query over: every partition, from the
                    // committed offsets, with the state restored.
                    let group = self.group.clone();
                    for reader in self.flow.readers_mut() {
                        let all = SourceReader::open(log, &reader.topic, Some(&group), earliest)?;
                        reader.positions = all.positions;
                    }
                    self.flow.restore(log)?;
                    tracing::info!("query {} runs on this process", self.query_id);
                }
            }
        } else {
            for input in self.flow.inputs.iter_mut() {
                let all =
                    SourceReader::open(log, &input.reader.topic, Some(&self.group), earliest)?;
                input.reader.positions = all
                    .positions
                    .into_iter()
                    .filter(|(p, _)| owned.contains(&(input.reader.topic.clone(), *p)))
                    .collect();
            }
            let here: Vec<String> = owned.iter().map(|(t, p)| format!("{t}/{p}")).collect();
            tracing::info!(
                "query {} reads partitions [{}] on this process",
                self.query_id,
                here.join(", ")
            );
        }
        Ok(self.active())
    }

    /// True when this process reads any partition of the query.
    fn active(&self) -> bool {
        let lost = self.group_member.as_ref().is_some_and(|m| m.lost);
        !lost
            && self
                .flow
                .inputs
                .iter()
                .any(|i| !i.reader.positions.is_empty())
    }

    /// True when results or state changes wait to be written, or offsets
    /// to be committed.
    pub fn has_pending(&self) -> bool {
        self.pending.dirty || !self.writes.is_empty() || self.uncommitted
    }

    /// Writes what is pending: results (coalesced per key for a table with
    /// caching on), state changes, then the input offsets, then the
    /// checkpoint.
    pub fn flush(&mut self, log: &dyn Log) -> Result<()> {
        self.write_out(log, true)
    }

    /// Writes what is pending (see `flush`); with `commit` false, only the
    /// results and state changes (to the log, or into the open
    /// transaction), leaving the offsets, checkpoints and transaction to a
    /// later commit.
    fn write_out(&mut self, log: &dyn Log, commit: bool) -> Result<()> {
        // Rows the operators held back for the cache come out first.
        let mut ctx = Context::default();
        let held = self.flow.drain(&mut ctx)?;
        self.pending.rows.extend(held);
        self.pending.changelog.append(&mut ctx.changelog);
        self.pending.rekeyed.append(&mut ctx.rekeyed);
        self.report(log, &ctx.errors)?;
        let mut rows = std::mem::take(&mut self.pending.rows);
        let changelog = std::mem::take(&mut self.pending.changelog);
        let rekeyed = std::mem::take(&mut self.pending.rekeyed);
        self.pending.dirty = false;
        self.pending.since = std::time::Instant::now();
        if let Some(keys) = &self.coalesce {
            rows = coalesce(rows, keys);
        }
        // A changelog is last-write-wins per key: only each key's last
        // change of this flush is written.
        // (One step's changes are already one per key: only a flush that
        // gathered several steps needs the pass.)
        let steps = std::mem::take(&mut self.pending.steps);
        let changelog = if steps > 1 {
            latest_per_key(changelog)
        } else {
            changelog
        };
        let mut errors = Vec::new();
        let part = Some(self.changelog_partition);
        let positions = self.flow.positions();
        let Some(txn) = self.txn.as_mut() else {
            // Results and state changes are appended before the offsets
            // that produced them are committed: a crash in between replays
            // input, never loses it. The checkpoint comes after the
            // commit, which handed every earlier append (input included)
            // to the OS: it never names input or state that a crash could
            // still take away. All of it is done in order, resuming after
            // a write the log refused.
            let writes = &mut self.writes;
            for row in &rows {
                match self.sink.encode(row) {
                    Ok(rec) => writes.append(self.sink.topic(), None, rec),
                    Err(e) => errors.push(e),
                }
            }
            let produced = (rows.len() - errors.len()) as u64;
            for (topic, record) in rekeyed {
                writes.append(&topic, None, record);
            }
            for (topic, record) in changelog {
                writes.append(&topic, part, record);
            }
            if commit {
                // (The log's commit waits for every write before it.)
                writes.push(Write::Commit {
                    group: self.group.clone(),
                    positions: positions.clone(),
                });
                for topic in &self.checkpoints {
                    writes.push(Write::Checkpoint {
                        topic: topic.clone(),
                        partition: part,
                        record: checkpoint::record(&positions),
                    });
                }
                // Local stores may hold what the checkpoints describe once
                // they are written.
                writes.commit_state_after(positions);
                self.last_commit = std::time::Instant::now();
            }
            self.uncommitted = !commit;
            self.stats
                .errors
                .fetch_add(errors.len() as u64, Ordering::Relaxed);
            for error in errors {
                writes.push(Write::Report {
                    query_id: self.query_id.clone(),
                    error,
                });
            }
            self.stats.produced.fetch_add(produced, Ordering::Relaxed);
            return self.finish_writes(log);
        };
        // Results, state changes, the checkpoint and the offsets that
        // produced them commit together.
        let mut produced = 0;
        for row in &rows {
            match self.sink.encode(row) {
                Ok(rec) => {
                    txn.append(self.sink.topic(), None, rec)?;
                    produced += 1;
                }
                Err(e) => errors.push(e),
            }
        }
        for (topic, record) in rekeyed {
            txn.append(&topic, None, record)?;
        }
        for (topic, record) in changelog {
            txn.append(&topic, part, record)?;
        }
        if commit {
            for topic in &self.checkpoints {
                txn.append(topic, part, checkpoint::record(&positions))?;
            }
            txn.commit(&positions)?;
            // The checkpoints' offsets are not known here: the stores write
            // under none (a restart rebuilds them).
            self.flow.commit_state(&[], &positions)?;
            self.last_commit = std::time::Instant::now();
        }
        self.uncommitted = !commit;
        self.stats.produced.fetch_add(produced, Ordering::Relaxed);
        self.report(log, &errors)?;
        Ok(())
    }

    /// Does the writes a flush queued (resuming after a refused one), then
    /// hands the local stores the checkpoints written.
    fn finish_writes(&mut self, log: &dyn Log) -> Result<()> {
        self.writes.perform(log)?;
        if let Some((written, positions)) = self.writes.take_state_commit() {
            self.flow.commit_state(&written, &positions)?;
        }
        Ok(())
    }

    fn report(&mut self, log: &dyn Log, errors: &[ProcessingError]) -> Result<()> {
        for e in errors {
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
            processing_log::write(log, &self.query_id, e)?;
        }
        Ok(())
    }
}

/// A persistent query's work in this process: the whole query, or its
/// share of the partitions (see `runtime::split`).
pub trait Work: Send {
    /// Processes what is available now; returns how many input records
    /// were consumed.
    fn poll(&mut self, log: &dyn Log) -> Result<usize>;
    /// True when results or state changes wait to be written.
    fn has_pending(&self) -> bool;
    /// Writes what is pending.
    fn flush(&mut self, log: &dyn Log) -> Result<()>;
}

impl Work for PersistentTask {
    fn poll(&mut self, log: &dyn Log) -> Result<usize> {
        PersistentTask::poll(self, log)
    }

    fn has_pending(&self) -> bool {
        PersistentTask::has_pending(self)
    }

    fn flush(&mut self, log: &dyn Log) -> Result<()> {
        PersistentTask::flush(self, log)
    }
}

/// A push query's task: inputs -> operators -> rows for the caller.
pub struct TransientTask {
    pub query_id: String,
    pub flow: Flow,
    /// Output positions shown to the caller, in order.
    pub output: Vec<usize>,
    pub limit: Option<u64>,
    pub emitted: u64,
}

impl TransientTask {
    /// Rows available now; None once the LIMIT has been reached.
    pub fn poll(&mut self, log: &dyn Log) -> Result<Option<Vec<Vec<crate::types::Value>>>> {
        Ok(self
            .poll_changes(log)?
            .map(|rows| rows.into_iter().map(|r| r.values).collect()))
    }

    /// [`TransientTask::poll`] with each row saying whether it is a
    /// tombstone.
    pub fn poll_changes(&mut self, log: &dyn Log) -> Result<Option<Vec<crate::results::PushRow>>> {
        if self.limit.is_some_and(|l| self.emitted >= l) {
            return Ok(None);
        }
        let mut ctx = Context::default();
        let (_, rows) = self.flow.step(log, &mut Out::Log(log), &mut ctx)?;
        for e in &ctx.errors {
            processing_log::write(log, &self.query_id, e)?;
        }
        let mut out = Vec::new();
        for row in rows {
            if self.limit.is_some_and(|l| self.emitted >= l) {
                break;
            }
            out.push(crate::results::PushRow {
                values: self
                    .output
                    .iter()
                    .map(|i| row.values.get(*i).cloned().unwrap_or_default())
                    .collect(),
                tombstone: row.tombstone,
            });
            self.emitted += 1;
        }
        Ok(Some(out))
    }

    pub fn finished(&self) -> bool {
        self.limit.is_some_and(|l| self.emitted >= l)
    }
}

/// Splits each input's rows (in order) into runs, ordered across inputs by
/// event time: the next run is taken from the input whose next row is
/// oldest (the lower input on ties) and goes on while its rows are no newer
/// than any other input's next row. One input's rows stay one run.
fn merge_by_time(sides: Vec<Vec<Row>>) -> Vec<(usize, Vec<Row>)> {
    let busy = sides.iter().filter(|rows| !rows.is_empty()).count();
    if busy <= 1 {
        return sides
            .into_iter()
            .enumerate()
            .filter(|(_, rows)| !rows.is_empty())
            .collect();
    }
    let mut queues: Vec<std::collections::VecDeque<Row>> =
        sides.into_iter().map(Into::into).collect();
    let mut runs: Vec<(usize, Vec<Row>)> = Vec::new();
    loop {
        let next = queues
            .iter()
            .enumerate()
            .filter_map(|(i, q)| q.front().map(|r| (r.ts, i)))
            .min();
        let Some((_, side)) = next else { break };
        let bound = queues
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != side)
            .filter_map(|(_, q)| q.front().map(|r| r.ts))
            .min()
            .unwrap_or(i64::MAX);
        let mut run = Vec::new();
        while let Some(row) = queues[side].front() {
            // Ties go to the lower input, which was picked first.
            if !run.is_empty() && (row.ts > bound || (row.ts == bound && side > 0)) {
                break;
            }
            run.push(queues[side].pop_front().expect("front exists"));
        }
        match runs.last_mut() {
            Some((s, rows)) if *s == side => rows.extend(run),
            _ => runs.push((side, run)),
        }
    }
    runs
}

/// Keeps only the last change of each key (and window), in the order of
/// those last changes.
fn coalesce(rows: Vec<Row>, keys: &[usize]) -> Vec<Row> {
    if rows.len() < 2 {
        return rows;
    }
    let ids: Vec<Vec<u8>> = rows
        .iter()
        .map(|r| {
            let mut id = crate::operators::materialize::key_bytes(keys, &r.values);
            if let Some(w) = r.window {
                id.extend_from_slice(&w.start.to_be_bytes());
            }
            id
        })
        .collect();
    // The ids are borrowed (no copies), and hashed with hashbrown's cheap
    // default hasher: this runs over every change a table query emits.
    let mut last: hashbrown::HashMap<&[u8], usize> = hashbrown::HashMap::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        last.insert(id.as_slice(), i);
    }
    let keep: Vec<bool> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| last.get(id.as_slice()) == Some(&i))
        .collect();
    rows.into_iter()
        .zip(keep)
        .filter_map(|(r, k)| k.then_some(r))
        .collect()
}

/// Keeps the last record of each (topic, key), in the order of those last
/// records.
fn latest_per_key(records: Vec<(String, crate::log::Record)>) -> Vec<(String, crate::log::Record)> {
    if records.len() < 2 {
        return records;
    }
    let mut last = std::collections::HashMap::new();
    for (i, (topic, r)) in records.iter().enumerate() {
        last.insert((topic.as_str(), r.key.as_deref()), i);
    }
    let keep: std::collections::HashSet<usize> = last.into_values().collect();
    records
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep.contains(i))
        .map(|(_, r)| r)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(ts: &[i64]) -> Vec<Row> {
        ts.iter()
            .map(|t| Row {
                ts: *t,
                ..Row::default()
            })
            .collect()
    }

    fn shape(runs: &[(usize, Vec<Row>)]) -> Vec<(usize, Vec<i64>)> {
        runs.iter()
            .map(|(s, r)| (*s, r.iter().map(|r| r.ts).collect()))
            .collect()
    }

    #[test]
    fn join_inputs_meet_in_event_time_order() {
        // A stream read before the table it looks up, with older table rows.
        let runs = merge_by_time(vec![rows(&[5, 6, 9]), rows(&[1, 2, 7])]);
        assert_eq!(
            shape(&runs),
            vec![(1, vec![1, 2]), (0, vec![5, 6]), (1, vec![7]), (0, vec![9])]
        );
        // Ties go to the first input; one busy input stays one run.
        let runs = merge_by_time(vec![rows(&[3, 3]), rows(&[3])]);
        assert_eq!(shape(&runs), vec![(0, vec![3, 3]), (1, vec![3])]);
        let runs = merge_by_time(vec![rows(&[]), rows(&[4, 1])]);
        assert_eq!(shape(&runs), vec![(1, vec![4, 1])]);
    }
}
