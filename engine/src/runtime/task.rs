//! Tasks: the loop that reads a source's partitions from the Log, runs the
//! records through a query's operators and hands the results on — to a sink
//! topic for persistent queries (committing source offsets only after the
//! results are appended), or to the caller for push queries.

use super::{processing_log, Context, Operator, ProcessingError, Row};
use crate::error::Result;
use crate::log::{Log, StoredRecord};
use crate::operators::{SinkEncoder, SourceDecoder};

/// How many records a task reads from one partition per step.
const BATCH: usize = 500;

/// Reads a topic's partitions from per-partition positions.
pub struct SourceReader {
    pub topic: String,
    /// (partition, next offset to read)
    pub positions: Vec<(i32, i64)>,
}

impl SourceReader {
    /// Positions every partition at the committed offset of `group`, or at
    /// the start (`earliest`) or end (`latest`) of each partition.
    pub fn open(log: &dyn Log, topic: &str, group: Option<&str>, earliest: bool) -> Result<Self> {
        let info = log
            .describe_topic(topic)?
            .ok_or_else(|| crate::Error::log(format!("Topic {topic} does not exist")))?;
        let mut positions = Vec::new();
        for p in 0..info.partitions {
            let committed = match group {
                Some(g) => log.committed(g, topic, p)?,
                None => None,
            };
            let start = match committed {
                Some(o) => o,
                None if earliest => 0,
                None => log.end_offset(topic, p)?,
            };
            positions.push((p, start));
        }
        Ok(SourceReader {
            topic: topic.to_string(),
            positions,
        })
    }

    /// The next records, in partition order, and advances past them.
    pub fn read(&mut self, log: &dyn Log) -> Result<Vec<StoredRecord>> {
        let mut out = Vec::new();
        for (p, pos) in self.positions.iter_mut() {
            let batch = log.read(&self.topic, *p, *pos, BATCH)?;
            if let Some(last) = batch.last() {
                *pos = last.offset + 1;
            }
            out.extend(batch);
        }
        Ok(out)
    }

    /// Commits the current positions for `group`.
    pub fn commit(&self, log: &dyn Log, group: &str) -> Result<()> {
        for (p, pos) in &self.positions {
            log.commit(group, &self.topic, *p, *pos)?;
        }
        Ok(())
    }
}

/// Decoding plus the operator chain of one query.
pub struct Pipeline {
    pub decoder: SourceDecoder,
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

/// A persistent query's task: source -> operators -> sink topic.
pub struct PersistentTask {
    pub query_id: String,
    /// The consumer group its offsets are committed under.
    pub group: String,
    pub reader: SourceReader,
    pub pipeline: Pipeline,
    pub sink: SinkEncoder,
    /// Records skipped because they could not be processed.
    pub errors: u64,
}

impl PersistentTask {
    /// Processes whatever input is available now; returns how many input
    /// records were consumed.
    pub fn poll(&mut self, log: &dyn Log) -> Result<usize> {
        let records = self.reader.read(log)?;
        if records.is_empty() {
            return Ok(0);
        }
        let mut ctx = Context::default();
        let rows = self.pipeline.run(&records, &mut ctx)?;
        for row in &rows {
            match self.sink.encode(row) {
                Ok(rec) => {
                    log.append(self.sink.topic(), None, rec)?;
                }
                Err(e) => ctx.errors.push(e),
            }
        }
        self.report(log, &ctx.errors)?;
        for (topic, record) in ctx.changelog.drain(..) {
            log.append(&topic, Some(0), record)?;
        }
        // Results and state changes are appended before the offsets that
        // produced them are committed: a crash in between replays input,
        // never loses it.
        self.reader.commit(log, &self.group)?;
        Ok(records.len())
    }

    fn report(&mut self, log: &dyn Log, errors: &[ProcessingError]) -> Result<()> {
        for e in errors {
            self.errors += 1;
            processing_log::write(log, &self.query_id, e)?;
        }
        Ok(())
    }
}

/// A push query's task: source -> operators -> rows for the caller.
pub struct TransientTask {
    pub query_id: String,
    pub reader: SourceReader,
    pub pipeline: Pipeline,
    /// Output positions shown to the caller, in order.
    pub output: Vec<usize>,
    pub limit: Option<u64>,
    pub emitted: u64,
}

impl TransientTask {
    /// Rows available now; None once the LIMIT has been reached.
    pub fn poll(&mut self, log: &dyn Log) -> Result<Option<Vec<Vec<crate::types::Value>>>> {
        if self.limit.is_some_and(|l| self.emitted >= l) {
            return Ok(None);
        }
        let records = self.reader.read(log)?;
        let mut ctx = Context::default();
        let rows = self.pipeline.run(&records, &mut ctx)?;
        for e in &ctx.errors {
            processing_log::write(log, &self.query_id, e)?;
        }
        let mut out = Vec::new();
        for row in rows {
            if self.limit.is_some_and(|l| self.emitted >= l) {
                break;
            }

            out.push(
                self.output
                    .iter()
                    .map(|i| row.values.get(*i).cloned().unwrap_or_default())
                    .collect(),
            );
            self.emitted += 1;
        }
        Ok(Some(out))
    }

    pub fn finished(&self) -> bool {
        self.limit.is_some_and(|l| self.emitted >= l)
    }
}
