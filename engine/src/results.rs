//! What a statement returns, as data: one kind per entity ksqlDB's REST API
//! returns (command status, source list, source description, query list,
//! properties, functions, topics, types, variables, rows, push and PRINT
//! handles). The shell renders them; the server serializes them.

use crate::error::Result;
use crate::types::{Schema, SqlType, Value};
use std::time::Duration;

/// The result of one statement.
#[derive(Debug)]
pub enum StatementResult {
    /// A statement that changed the catalog or the queries (CREATE, DROP,
    /// TERMINATE, ...): ksqlDB's `currentStatus`.
    Status(CommandStatus),
    /// A statement that only changed this session (SET, UNSET, DEFINE,
    /// UNDEFINE) or has nothing to report (INSERT VALUES): a line for the
    /// user, which may be empty. ksqlDB's REST API returns no entity.
    Message(String),
    /// SHOW/LIST STREAMS or TABLES.
    Sources(SourceList),
    /// SHOW/LIST STREAMS or TABLES EXTENDED.
    SourceDescriptions(Vec<SourceDescription>),
    /// DESCRIBE a stream or table.
    SourceDescription(SourceDescription),
    /// SHOW/LIST QUERIES.
    Queries(Vec<QuerySummary>),
    /// EXPLAIN a query id or a statement.
    QueryDescription(QueryDescription),
    /// SHOW PROPERTIES: the session's properties.
    Properties(Vec<Property>),
    /// SHOW FUNCTIONS.
    Functions(Vec<FunctionSummary>),
    /// DESCRIBE FUNCTION.
    FunctionDescription(FunctionDescription),
    /// SHOW TOPICS.
    Topics(Vec<TopicSummary>),
    /// SHOW TYPES: custom type names and the types they stand for.
    Types(Vec<(String, SqlType)>),
    /// SHOW VARIABLES: the session's variables.
    Variables(Vec<(String, String)>),
    /// ASSERT TOPIC.
    AssertTopic { topic: String, exists: bool },
    /// A pull query's rows, answered now.
    Rows(RowSet),
    /// A push query: rows keep arriving through the handle.
    Push(PushQuery),
    /// PRINT: a topic's records keep arriving through the handle, one
    /// text row per record.
    Print(PushQuery),
    /// CREATE SOURCE|SINK CONNECTOR: ksqlDB's `connector_info`.
    ConnectorInfo(ConnectorInfo),
    /// SHOW CONNECTORS: ksqlDB's `connector_list`.
    Connectors(Vec<ConnectorSummary>),
    /// DESCRIBE CONNECTOR: ksqlDB's `connector_description`.
    ConnectorDescription(Box<ConnectorDescription>),
    /// DROP CONNECTOR: ksqlDB's `drop_connector`, with the connector's name.
    DropConnector(String),
    /// A statement that did nothing, and why (CREATE CONNECTOR IF NOT
    /// EXISTS of one that exists): ksqlDB's `warning_entity`.
    Warning(String),
}

/// A connector's name, configuration and tasks (Kafka Connect's
/// `ConnectorInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorInfo {
    pub name: String,
    /// Every key as configured, `name` included.
    pub config: std::collections::BTreeMap<String, String>,
    /// Task numbers (the connector is `name`).
    pub tasks: Vec<u32>,
    /// "source" or "sink".
    pub kind: String,
}

/// One line of SHOW CONNECTORS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorSummary {
    pub name: String,
    /// "source" or "sink".
    pub kind: String,
    pub class: String,
    /// "RUNNING (1/1 tasks RUNNING)", "PAUSED", "FAILED", as ksqlDB
    /// summarizes a connector's status.
    pub state: String,
}

/// The state of a connector or one of its tasks (Kafka Connect's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerState {
    /// "RUNNING", "PAUSED", "FAILED" or "UNASSIGNED".
    pub state: String,
    pub worker_id: String,
    /// Why it failed, while it is FAILED.
    pub trace: Option<String>,
}

/// A connector's status (Kafka Connect's `ConnectorStateInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorStatus {
    pub name: String,
    pub connector: WorkerState,
    /// (task number, its state).
    pub tasks: Vec<(u32, WorkerState)>,
    /// "source" or "sink".
    pub kind: String,
}

/// DESCRIBE CONNECTOR: status, the streams and tables over its topics,
/// its topics, and how it delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorDescription {
    pub class: String,
    pub status: ConnectorStatus,
    /// Streams and tables declared over the connector's topics.
    pub sources: Vec<SourceDescription>,
    pub topics: Vec<String>,
    /// "exactly-once" or "at-least-once", and how.
    pub delivery: String,
    /// The last committed source offset or sink position, as JSON text.
    pub offset: Option<String>,
    /// Records the connector moved since it started in this process.
    pub records: u64,
}

/// ksqlDB's command status: what a statement that changed the catalog did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandStatus {
    /// The statement as it was recorded.
    pub statement: String,
    /// ksqlDB's command id: ``stream/`NAME`/create``, ``topic/`X`/create``,
    /// ``terminate/`ID`/execute``, ...
    pub command_id: String,
    /// "SUCCESS" for statements that ran.
    pub status: String,
    pub message: String,
    /// The persistent query a statement started.
    pub query_id: Option<String>,
    /// The statement's offset in the command topic (-1 when it was not
    /// recorded).
    pub sequence_number: i64,
    pub warnings: Vec<String>,
}

/// SHOW STREAMS / SHOW TABLES.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceList {
    /// "STREAM" or "TABLE".
    pub kind: String,
    pub sources: Vec<SourceSummary>,
}

/// One line of a source list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSummary {
    pub name: String,
    /// "STREAM" or "TABLE".
    pub kind: String,
    pub topic: String,
    pub key_format: String,
    pub value_format: String,
    pub is_windowed: bool,
}

/// A stream or table as callers see it (DESCRIBE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceDescription {
    pub name: String,
    /// "STREAM" or "TABLE".
    pub kind: String,
    /// Key columns first; ROWTIME is not included.
    pub schema: Schema,
    pub key_format: String,
    pub value_format: String,
    pub topic: String,
    pub partitions: i32,
    pub replication: i16,
    /// "TUMBLING", "HOPPING" or "SESSION" for windowed sources.
    pub window_type: Option<String>,
    /// The TIMESTAMP column, if one was set.
    pub timestamp: Option<String>,
    /// The statement that created it.
    pub statement: String,
    pub is_source: bool,
    pub key_features: Vec<String>,
    pub value_features: Vec<String>,
    /// Persistent queries that read it.
    pub read_queries: Vec<QueryRef>,
    /// Persistent queries that write it.
    pub write_queries: Vec<QueryRef>,
    /// What the persistent queries writing it and reading it did in this
    /// process.
    pub statistics: RuntimeStats,
    /// DESCRIBE EXTENDED (runtime details wanted).
    pub extended: bool,
}

/// Runtime counters of persistent queries since they started in this
/// process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RuntimeStats {
    /// Input records read.
    pub messages_consumed: u64,
    /// Result records written.
    pub messages_produced: u64,
    /// Records skipped because they could not be processed (each is in
    /// the processing log).
    pub processing_errors: u64,
    /// Records dropped because their window had closed.
    pub late_records_dropped: u64,
}

/// A persistent query named in a description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRef {
    pub id: String,
    pub statement: String,
}

/// One line of SHOW QUERIES.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuerySummary {
    pub id: String,
    /// "PERSISTENT" or "PUSH".
    pub query_type: String,
    /// "RUNNING", "PAUSED" or "ERROR".
    pub state: String,
    /// Why the query is failing, while it is (state "ERROR").
    pub error: Option<String>,
    pub statement: String,
    pub sinks: Vec<String>,
    pub sink_topics: Vec<String>,
}

/// EXPLAIN: a query's statement, sources, sinks, result schema and plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryDescription {
    /// The query id (None for EXPLAIN of a statement not running).
    pub id: Option<String>,
    pub statement: String,
    pub sources: Vec<String>,
    pub sinks: Vec<String>,
    pub sink_topics: Vec<String>,
    /// The result's columns.
    pub schema: Schema,
    /// "TUMBLING", "HOPPING" or "SESSION" for windowed results.
    pub window_type: Option<String>,
    /// "RUNNING", "PAUSED", "ERROR"; None for a statement not running.
    pub state: Option<String>,
    /// Why the query is failing, while it is (state "ERROR").
    pub error: Option<QueryFailure>,
    /// Its counters (zero for a statement not running).
    pub statistics: RuntimeStats,
    /// The query's operators, inputs before the operators that read them.
    pub plan: Vec<PlanNode>,
}

/// A query's failure, while it keeps failing (it retries with backoff).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryFailure {
    pub message: String,
    /// When it last failed, milliseconds since the epoch.
    pub at_ms: i64,
    /// Failed attempts in a row (0 when not known, as from a remote
    /// server).
    pub attempts: u32,
}

impl QueryDescription {
    /// The plan drawn as a tree, one line per operator (`> [ Name ] |
    /// parameters`): the last operator first, each input indented four
    /// spaces below the operator that reads it. The shell prints it; the
    /// server sends it as ksqlDB's `executionPlan`.
    pub fn plan_lines(&self) -> Vec<String> {
        fn walk(plan: &[PlanNode], node: usize, depth: usize, out: &mut Vec<String>) {
            let Some(n) = plan.iter().find(|n| n.id == node) else {
                return;
            };
            let params = if n.description.is_empty() {
                String::new()
            } else {
                format!(" | {}", n.description)
            };
            out.push(format!("{} > [ {} ]{params}", "    ".repeat(depth), n.name));
            for &input in &n.inputs {
                walk(plan, input, depth + 1, out);
            }
        }
        // The roots are the nodes no other node reads: the sink (or the
        // last operator), last first.
        let read: std::collections::HashSet<usize> = self
            .plan
            .iter()
            .flat_map(|n| n.inputs.iter().copied())
            .collect();
        let mut out = Vec::new();
        for n in self.plan.iter().rev().filter(|n| !read.contains(&n.id)) {
            walk(&self.plan, n.id, 0, &mut out);
        }
        out
    }
}

/// One operator of a query plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanNode {
    /// Its index in [`QueryDescription::plan`].
    pub id: usize,
    /// The operator's name ("Source", "Filter", "Aggregate", ...).
    pub name: String,
    /// Its parameters in one line.
    pub description: String,
    /// The nodes whose rows it reads.
    pub inputs: Vec<usize>,
}

/// One session property (SHOW PROPERTIES).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub name: String,
    pub value: String,
    /// "SESSION" when this session set it, "SERVER" when it came from the
    /// engine's configuration.
    pub scope: String,
}

/// One line of SHOW FUNCTIONS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSummary {
    pub name: String,
    /// "SCALAR", "AGGREGATE" or "TABLE".
    pub kind: String,
    pub category: String,
}

/// DESCRIBE FUNCTION.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionDescription {
    pub name: String,
    /// "SCALAR", "AGGREGATE" or "TABLE".
    pub kind: String,
    pub category: String,
    pub description: String,
}

/// One line of SHOW TOPICS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSummary {
    pub name: String,
    pub partitions: i32,
    pub replicas: i16,
}

/// A result column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultColumn {
    pub name: String,
    pub ty: SqlType,
    /// A key column of the result (ksqlDB's schema marks it `KEY`).
    pub key: bool,
}

/// Named, typed columns and rows of values.
#[derive(Debug, Clone, Default)]
pub struct RowSet {
    /// The transient query's id.
    pub query_id: String,
    pub columns: Vec<ResultColumn>,
    pub rows: Vec<Vec<Value>>,
    /// Whether the query read a stream (a scan to the stream's current
    /// end) rather than a table's state.
    pub over_stream: bool,
    /// Whether a scan of a stream stopped at the query's LIMIT.
    pub limit_reached: bool,
}

/// A running push query (or PRINT); dropping it stops it.
pub struct PushQuery {
    inner: Box<dyn PushSource>,
    shareable: bool,
}

impl std::fmt::Debug for PushQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushQuery")
            .field("query_id", &self.query_id())
            .field("columns", &self.columns())
            .finish()
    }
}

/// One row of a push query: its values, and whether it deletes its key
/// (a table's tombstone: only the key columns, and a window's bounds, are
/// set).
#[derive(Debug, Clone, PartialEq)]
pub struct PushRow {
    pub values: Vec<Value>,
    pub tombstone: bool,
}

/// Where a push query's rows come from.
pub(crate) trait PushSource: Send {
    fn query_id(&self) -> String;
    fn columns(&self) -> Vec<ResultColumn>;
    fn next_rows(&mut self, timeout: Duration) -> Result<Option<Vec<PushRow>>>;
}

impl PushQuery {
    pub(crate) fn new(inner: Box<dyn PushSource>) -> Self {
        PushQuery {
            inner,
            shareable: false,
        }
    }

    /// Marks the query as one whose rows, from now on, answer every client
    /// asking the same query in the same session settings.
    pub(crate) fn with_shareable(mut self, shareable: bool) -> Self {
        self.shareable = shareable;
        self
    }

    /// Whether another client asking the same query (same text,
    /// properties and variables) may be served this query's rows from now
    /// on: a push query with no LIMIT that starts at its source's end
    /// (`latest`), so a later subscriber would have seen the same rows.
    pub fn shareable(&self) -> bool {
        self.shareable
    }

    /// The transient query's id.
    pub fn query_id(&self) -> String {
        self.inner.query_id()
    }

    /// The result columns.
    pub fn columns(&self) -> Vec<ResultColumn> {
        self.inner.columns()
    }

    /// Waits up to `timeout` for more rows: `Ok(Some(rows))` (maybe empty
    /// when the timeout passed), or `Ok(None)` when the query has finished
    /// (its LIMIT was reached).
    pub fn next_rows(&mut self, timeout: Duration) -> Result<Option<Vec<Vec<Value>>>> {
        Ok(self
            .inner
            .next_rows(timeout)?
            .map(|rows| rows.into_iter().map(|r| r.values).collect()))
    }

    /// [`PushQuery::next_rows`] with each row saying whether it is a
    /// table's tombstone (ksqlDB marks those in `/query` answers).
    pub fn next_changes(&mut self, timeout: Duration) -> Result<Option<Vec<PushRow>>> {
        self.inner.next_rows(timeout)
    }
}

impl CommandStatus {
    /// A successful command with ksqlDB's command id, `{kind}/{entity}/
    /// {action}` (a stream or table being created is quoted:
    /// ``stream/`S`/create``, ``stream/S/drop``,
    /// ``terminate/CSAS_S_0/execute``), and its message. The executor fills
    /// in the statement and its sequence number once the command is
    /// recorded.
    pub fn success(kind: &str, entity: &str, action: &str, message: impl Into<String>) -> Self {
        let quoted = action == "create" && (kind == "stream" || kind == "table");
        let command_id = if quoted {
            format!("{kind}/`{entity}`/{action}")
        } else {
            format!("{kind}/{entity}/{action}")
        };
        CommandStatus {
            statement: String::new(),
            command_id,
            status: "SUCCESS".to_string(),
            message: message.into(),
            query_id: None,
            sequence_number: -1,
            warnings: Vec::new(),
        }
    }

    /// The same, naming the persistent query the command started.
    pub fn with_query(mut self, query_id: &str) -> Self {
        self.query_id = Some(query_id.to_string());
        self
    }
}

impl From<CommandStatus> for StatementResult {
    fn from(status: CommandStatus) -> Self {
        StatementResult::Status(status)
    }
}
