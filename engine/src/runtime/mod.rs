//! The runtime: the tasks that run persistent and push queries over the
//! Log (reading sources, running a query's operators, writing results and
//! committing offsets), repartition stages, queries split by partition,
//! table views for pull queries, and the processing log.

pub mod processing_log;
pub mod push_hub;
pub mod reader;
pub mod repartition;
pub mod spec;
pub mod split;
pub mod task;
pub mod view;

use crate::error::Result;
use crate::types::Value;

/// Where a push query's rows come from (the facade's `PushQuery` wraps
/// one): a shared feed, a query over what the topics hold, or PRINT.
pub(crate) trait PushSource: Send {
    /// The result columns: (name, SQL type).
    fn columns(&self) -> Vec<(String, String)>;
    /// Waits up to `timeout` for more rows; None when the query finished.
    fn next_rows(&mut self, timeout: std::time::Duration) -> Result<Option<Vec<Vec<Value>>>>;
}
