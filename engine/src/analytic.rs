//! The hook analytic SQL plugs into: a SELECT that is not one of ksqlDB's
//! own pull-query forms is answered by an [`AnalyticSql`] installed on the
//! engine (`sluice-analytic`, DataFusion), over [`SourceSnapshot`]s of the
//! streams and tables it reads, taken when the query starts. The engine
//! itself depends on no query engine: it only reads sources as rows.

use crate::error::Result;
use crate::results::{PlanNode, ResultColumn, RowSet};
use crate::types::Value;

/// How an analytic engine's parse errors start: a statement neither
/// parser reads is reported with the engine's own parse error (its
/// positions and wording are for ksqlDB's dialect).
pub const PARSE_ERROR: &str = "SQL parse error";

/// One stream or table as an analytic query reads it: its columns (a
/// table's keys, WINDOWSTART/WINDOWEND for a windowed one, then values; a
/// stream's columns then ROWTIME, ROWPARTITION and ROWOFFSET) and its rows
/// at the moment the query started.
#[derive(Debug, Clone)]
pub struct SourceSnapshot {
    /// The name as the catalog spells it.
    pub name: String,
    /// True for a stream (every record), false for a table (current rows).
    pub is_stream: bool,
    pub columns: Vec<ResultColumn>,
    pub rows: Vec<Vec<Value>>,
}

/// Reads the sources an analytic query names.
pub trait SnapshotReader {
    /// The snapshot of the stream or table `name` (as written in the query,
    /// quoted names exactly, others upper-cased); None when no source has
    /// that name.
    fn snapshot(&self, name: &str) -> Result<Option<SourceSnapshot>>;
}

/// A query engine for the SELECTs ksqlDB's pull queries do not cover
/// (joins, GROUP BY, window functions, CTEs, set operations, ...).
pub trait AnalyticSql: std::fmt::Debug + Send + Sync {
    /// Answers one SELECT (the statement text, ksqlDB's dialect), reading
    /// its sources through `sources`. Errors are for the user: unknown
    /// names, type errors, unsupported forms.
    fn query(&self, sql: &str, sources: &dyn SnapshotReader) -> Result<RowSet>;

    /// The plan of one SELECT: its operators, each naming the ones it reads.
    fn explain(&self, sql: &str, sources: &dyn SnapshotReader) -> Result<Vec<PlanNode>>;
}
