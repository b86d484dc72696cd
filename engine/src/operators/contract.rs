//! The operator contract: the rows that flow between a query's steps, the
//! context a step reports into, and the traits every operator (`Operator`)
//! and join (`JoinOperator`) implements.

use crate::error::Result;
use crate::types::Value;

/// One row flowing between operators: values laid out by the schema of the
/// step that produced it, plus the record's event time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    pub values: Vec<Value>,
    /// Event time, milliseconds since the epoch.
    pub ts: i64,
    /// The record's value was null (a tombstone): value columns are all
    /// null, and sinks write a null value.
    pub tombstone: bool,
    /// The record had no key at all (not a key of null columns): sinks
    /// write no key. Re-keying clears it.
    pub null_key: bool,
    /// The input record's headers, forwarded to results as Kafka Streams
    /// does (None when it had none).
    pub headers: Option<std::sync::Arc<Vec<crate::log::Header>>>,
    /// The window of a windowed result or a windowed source's record.
    pub window: Option<Window>,
    /// For a change to a table: the row's previous values, when the key
    /// had one. Aggregations over tables retract it.
    pub old: Option<Vec<Value>>,
}

/// A time window `[start, end)`, or a session `[start, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Window {
    pub start: i64,
    pub end: i64,
}

/// A record that failed somewhere in a query, for the processing log.
#[derive(Debug, Clone)]
pub enum ProcessingError {
    /// The record's key or value could not be read.
    Deserialization {
        topic: String,
        target: &'static str,
        message: String,
        record: Option<Vec<u8>>,
    },
    /// An expression failed on a row.
    Processing { message: String, row: String },
    /// A result could not be written.
    Serialization {
        topic: String,
        target: &'static str,
        message: String,
        row: String,
    },
}

/// What an operator may use while processing: where to report bad records.
#[derive(Debug, Default)]
pub struct Context {
    pub errors: Vec<ProcessingError>,
    /// State changes to append to changelog topics before offsets are
    /// committed: (topic, record).
    pub changelog: Vec<(String, crate::log::Record)>,
    /// Late records dropped because their window had closed.
    pub late_records: u64,
    /// Rows an n-way join re-keys through an internal topic, appended
    /// (partitioned by their key) with the step's results: (topic, record).
    pub rekeyed: Vec<(String, crate::log::Record)>,
}

impl Context {
    /// Notes that evaluating an expression failed on a row.
    pub fn expression_error(&mut self, message: String, row: &Row) {
        self.errors.push(ProcessingError::Processing {
            message,
            row: format!(
                "[{}]",
                row.values
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
}

/// Combines the rows of several inputs (joins). `side` is the index of
/// the input the rows come from.
pub trait JoinOperator: Send {
    fn process(&mut self, side: usize, rows: Vec<Row>, ctx: &mut Context) -> Result<Vec<Row>>;

    /// Reloads state from changelogs before input is consumed.
    fn restore(&mut self, _log: &dyn crate::log::Log) -> Result<()> {
        Ok(())
    }

    /// The join's name in plans ("StreamTableJoin", ...).
    fn name(&self) -> &'static str;

    /// Its parameters in one line, for plans: kind, key, window, state.
    fn describe(&self) -> String;

    /// For an n-way join: its two-way joins in order, the result of each
    /// the left input of the next. Empty for a two-way join.
    fn links(&self) -> Vec<JoinLink<'_>> {
        Vec::new()
    }
}

/// One two-way join of an n-way join, as plans show it.
pub struct JoinLink<'a> {
    /// The two-way join.
    pub join: &'a dyn JoinOperator,
    /// Set when the rows reaching this join are re-keyed through an
    /// internal topic and read back as another input: (that input's index,
    /// the topic, the new key).
    pub rekeyed: Option<(usize, &'a str, String)>,
}

/// A step of a query: rows in, rows out. Stateless operators map, filter or
/// expand rows; stateful ones (aggregates, joins) keep stores.
pub trait Operator: Send {
    /// Processes a batch of rows in order.
    fn process(&mut self, rows: Vec<Row>, ctx: &mut Context) -> Result<Vec<Row>>;

    /// Record caching is on (a table sink whose changes are coalesced per
    /// key until the commit): an operator that emits a new row per update
    /// of a key may hold its changed keys instead and emit each once, in
    /// `drain`, as Kafka Streams' record cache forwards on flush.
    fn defer_changes(&mut self) {}

    /// The rows held back since the last drain (see `defer_changes`).
    fn drain(&mut self, _ctx: &mut Context) -> Result<Vec<Row>> {
        Ok(Vec::new())
    }

    /// Reloads the operator's state from its changelog before the query
    /// consumes input (stateless operators have nothing to do).
    fn restore(&mut self, _log: &dyn crate::log::Log) -> Result<()> {
        Ok(())
    }

    /// Which partition of its changelog this copy of the operator
    /// restores from (a query split by partition runs one copy per input
    /// partition, its state in the same partition of the changelog).
    fn set_changelog_partition(&mut self, _partition: i32) {}

    /// Tells a stateful operator where the query keeps its local stores
    /// (before `restore`, which opens them).
    fn attach_state(&mut self, _scope: &crate::state::StateScope) {}

    /// After a commit wrote the changelog checkpoints (`checkpoints`: each
    /// changelog's checkpoint offset, empty when not known) for input
    /// `positions`: the operator's stores may write their contents under
    /// that checkpoint.
    fn commit_state(
        &mut self,
        _checkpoints: &[(String, i64)],
        _positions: &super::checkpoint::Positions,
    ) -> Result<()> {
        Ok(())
    }

    /// The input positions the restored state reflects, when the
    /// changelog held a checkpoint.
    fn checkpoint(&self) -> Option<super::checkpoint::Positions> {
        None
    }

    /// The operator's name in plans ("Filter", "Aggregate", ...).
    /// True when processing a row may depend on rows processed before
    /// (an aggregation, HAVING's passing keys): such an operator cannot be
    /// reused for unrelated batches. Only operators known to be stateless
    /// say false.
    fn keeps_state(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str;

    /// Its parameters in one line, for plans: a filter's predicate, a
    /// projection's expressions, an aggregation's keys, calls, window and
    /// store, ...
    fn describe(&self) -> String;
}
