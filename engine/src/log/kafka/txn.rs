//! Kafka transactions for exactly-once processing: a transactional
//! producer whose writes become readable together with the consumer
//! group's offsets when the transaction commits (on the query's commit
//! interval, not per step).

use super::acks::{send, AckBook, Producer};
use super::errors::kafka_err;
use super::group::Members;
use crate::error::{Error, Result};
use crate::log::{partition_for_key, Record, TxnWriter};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::Producer as _;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// A transactional producer: what it appends becomes readable (to
/// `read_committed` consumers, which Sluice's readers are) only when it
/// commits, together with the group's offsets (Kafka's exactly-once v2:
/// the offsets carry the member's group generation, so a member that lost
/// its partitions cannot commit for them).
pub(super) struct KafkaTxnWriter {
    pub producer: Producer,
    /// What the open transaction wrote, as acknowledged.
    pub written: Arc<AckBook>,
    /// The log's own acknowledgements: once committed, the transaction's
    /// writes join them, so this process's readers wait for them to become
    /// readable (the commit markers land a little after the commit).
    pub committed: Arc<AckBook>,
    /// A transaction is open.
    pub open: bool,
    /// The full group id.
    pub group: String,
    /// The group's metadata when this process is not a member of it.
    pub fallback_group: Arc<BaseConsumer>,
    pub members: Members,
    pub prefix: String,
    /// Partition counts by full topic name.
    pub partitions: HashMap<String, i32>,
    pub timeout: Duration,
}

impl KafkaTxnWriter {
    fn partition_count(&mut self, full: &str) -> Result<i32> {
        if let Some(n) = self.partitions.get(full) {
            return Ok(*n);
        }
        let md = self
            .producer
            .client()
            .fetch_metadata(Some(full), self.timeout)
            .map_err(|e| kafka_err(&format!("cannot describe topic {full}"), e))?;
        let n = md
            .topics()
            .iter()
            .find(|t| t.name() == full)
            .map(|t| t.partitions().len() as i32)
            .filter(|n| *n > 0)
            .ok_or_else(|| Error::log(format!("Topic {full} does not exist")))?;
        self.partitions.insert(full.to_string(), n);
        Ok(n)
    }

    fn begin(&mut self) -> Result<()> {
        if !self.open {
            self.producer
                .begin_transaction()
                .map_err(|e| kafka_err("cannot begin a transaction", e))?;
            self.open = true;
        }
        Ok(())
    }
}

impl TxnWriter for KafkaTxnWriter {
    fn append(&mut self, topic: &str, partition: Option<i32>, record: Record) -> Result<()> {
        self.begin()?;
        let full = format!("{}{topic}", self.prefix);
        let partition = match (partition, &record.key) {
            (Some(p), _) => p,
            (None, Some(key)) => partition_for_key(key, self.partition_count(&full)?),
            (None, None) => 0,
        };
        send(
            &self.producer,
            &self.written,
            &full,
            partition,
            &record,
            self.timeout,
        )
        .map_err(|e| kafka_err(&format!("cannot write to {topic}"), e))
    }

    fn commit(&mut self, offsets: &[(String, i32, i64)]) -> Result<()> {
        self.begin()?;
        let mut tpl = TopicPartitionList::new();
        for (topic, p, o) in offsets {
            tpl.add_partition_offset(&format!("{}{topic}", self.prefix), *p, Offset::Offset(*o))
                .map_err(|e| kafka_err("bad offset", e))?;
        }
        let member = self.members.lock().get(&self.group).cloned();
        let metadata = match member {
            Some(m) => m.group_metadata(),
            None => self.fallback_group.group_metadata(),
        }
        .ok_or_else(|| Error::log(format!("no metadata for group {}", self.group)))?;
        self.producer
            .send_offsets_to_transaction(&tpl, &metadata, self.timeout)
            .map_err(|e| kafka_err("cannot add offsets to the transaction", e))?;
        self.producer
            .commit_transaction(self.timeout)
            .map_err(|e| kafka_err("cannot commit the transaction", e))?;
        self.open = false;
        // The commit flushed every write; their acknowledgements come
        // through the producer's thread: wait for them, then hand them to
        // the log.
        self.written.wait(None, self.timeout)?;
        let written = std::mem::take(&mut self.written.acks.lock().ends);
        let mut committed = self.committed.acks.lock();
        for (topic, ends) in written {
            for (p, end) in ends {
                committed.raise(&topic, p, end);
            }
        }
        Ok(())
    }

    fn abort(&mut self) -> Result<()> {
        if !self.open {
            return Ok(());
        }
        self.open = false;
        let aborted = self
            .producer
            .abort_transaction(self.timeout)
            .map_err(|e| kafka_err("cannot abort the transaction", e));
        // The aborted writes are reported failed; forget them.
        let _ = self.written.wait(None, self.timeout);
        let mut written = self.written.acks.lock();
        written.ends.clear();
        written.failure = None;
        drop(written);
        aborted
    }
}
