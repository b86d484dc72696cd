//! What a connector's task does, whatever the connector: a source task
//! polls records (each with the source offset after it) for one topic; a
//! sink task takes records and makes them durable on `flush`.

use crate::error::Result;
use crate::registry::LazyRegistry;
use std::sync::Arc;

/// What tasks may use beside their configuration.
#[derive(Clone)]
pub struct Context {
    /// The schema registry (for AvroConverter).
    pub registry: Arc<LazyRegistry>,
}
use crate::log::StoredRecord;
use serde_json::Value as Json;

/// A record a source task made, with its source offset (where the task
/// resumes after this record).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub offset: Json,
}

/// A source task.
pub trait SourceTask: Send {
    /// The topic it writes.
    fn topic(&self) -> &str;
    /// Continues after `offset`, the last committed one.
    fn restore(&mut self, offset: &Json) -> Result<()>;
    /// The records available now (maybe none), and how long to wait
    /// (milliseconds) before polling again.
    fn poll(&mut self) -> Result<(Vec<SourceRecord>, u64)>;
}

/// A sink task.
pub trait SinkTask: Send {
    /// The topics it reads.
    fn topics(&self) -> &[String];
    /// Takes records of `topic` (durable only after `flush`).
    fn put(&mut self, topic: &str, records: &[StoredRecord]) -> Result<()>;
    /// Makes everything put so far durable.
    fn flush(&mut self) -> Result<()>;
}

/// A context over an in-memory log, for unit tests.
#[cfg(test)]
pub fn tests_context() -> Context {
    Context {
        registry: Arc::new(LazyRegistry::new(
            Default::default(),
            Arc::new(crate::log::EmbeddedLog::in_memory()),
        )),
    }
}
