//! Repartitioning: a stream input joined on something other than its key is
//! re-keyed through an internal `-repartition` topic, as ksqlDB does, so
//! that rows meeting in the join land on the same partition as the other
//! side's keys. The first stage reads the source, computes the join key and
//! appends each row to the internal topic keyed by it (serialized in the
//! join's key format, partitioned like the other side); the query's join
//! reads the internal topic back.
//!
//! The internal records' values carry the whole decoded row (its columns,
//! pseudo-columns, window and flags) in Sluice's own row encoding, so the
//! join sees exactly the row it would have seen without the topic; the
//! record timestamp is the row's event time and the headers travel along.
//! Each internal record also names the source record it came from, so a
//! restarted query resumes the first stage after the last record that made
//! it to the internal topic instead of writing that input a second time.

use super::reader::{Out, SourceReader};
use crate::error::Result;
use crate::log::Log;
use crate::operators::internal_row::record_origin;
use crate::operators::rekey::Rekey;
use crate::operators::{Context, Operator, SourceDecoder};

/// The first stage of a repartitioned input: source topic -> internal topic.
pub struct Repartition {
    /// Reads the source topic.
    pub reader: SourceReader,
    pub decoder: SourceDecoder,
    /// Stateless steps before re-keying (a GROUP BY's WHERE and table
    /// functions).
    pub operators: Vec<Box<dyn Operator>>,
    /// The new key, over the rows those steps produce.
    pub rekey: Rekey,
    /// The internal topic.
    pub topic: String,
    /// The query's consumer group.
    pub group: Option<String>,
}

impl Repartition {
    /// Moves what the source holds now to the internal topic; returns how
    /// many source records were read. Unreadable records go to
    /// `ctx.errors`.
    pub fn step(&mut self, log: &dyn Log, out: &mut Out<'_>, ctx: &mut Context) -> Result<usize> {
        let records = self.reader.read(log)?;
        let mut rows = Vec::with_capacity(records.len());
        for rec in &records {
            match self.decoder.decode(rec) {
                Ok(row) => rows.push((row, (rec.partition, rec.offset))),
                Err(e) => ctx.errors.push(e),
            }
        }
        if !self.operators.is_empty() {
            // Steps may drop or multiply rows: each result keeps the
            // position of the record it came from.
            let mut stepped = Vec::with_capacity(rows.len());
            for (row, origin) in rows {
                let mut out = vec![row];
                for op in self.operators.iter_mut() {
                    if out.is_empty() {
                        break;
                    }
                    out = op.process(out, ctx)?;
                }
                stepped.extend(out.into_iter().map(|r| (r, origin)));
            }
            rows = stepped;
        }
        for (row, origin) in rows {
            out.append(&self.topic, None, self.rekey.record(&row, origin))?;
        }
        Ok(records.len())
    }

    /// Positions the first stage after the last source record each
    /// partition already has in the internal topic, reading that topic from
    /// `from` (the query's positions in it) to its end; partitions of it
    /// this copy of the query does not read (a query split by partition
    /// writes to every partition of the topic) from the group's commits.
    pub fn resume(&mut self, log: &dyn Log, from: &[(i32, i64)]) -> Result<()> {
        let partitions = log
            .describe_topic(&self.topic)?
            .map_or(0, |info| info.partitions);
        let mut starts = Vec::new();
        for p in 0..partitions {
            let start = match from.iter().find(|(q, _)| *q == p) {
                Some((_, o)) => *o,
                None => match &self.group {
                    Some(g) => log.committed(g, &self.topic, p)?.unwrap_or(0),
                    None => 0,
                },
            };
            starts.push((p, start));
        }
        for (p, start) in &starts {
            let end = log.end_offset(&self.topic, *p)?;
            let mut at = *start;
            while at < end {
                let batch = log.read(&self.topic, *p, at, 500)?;
                let Some(last) = batch.last() else { break };
                at = last.offset + 1;
                for rec in &batch {
                    let Some((partition, offset)) =
                        rec.record.value.as_deref().and_then(record_origin)
                    else {
                        continue;
                    };
                    if let Some((_, pos)) = self
                        .reader
                        .positions
                        .iter_mut()
                        .find(|(q, _)| *q == partition)
                    {
                        *pos = (*pos).max(offset + 1);
                    }
                }
            }
        }
        Ok(())
    }
}
