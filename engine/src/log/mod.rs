//! The Log: Kafka-shaped topics of partitioned, offset-addressed records.
//! One trait, implemented by the file-backed embedded log (the default) and
//! by Kafka itself. Everything above this module sees only the trait.

pub mod embedded;
pub mod kafka;
mod partitioner;

pub use embedded::{Damage, EmbeddedConfig, EmbeddedLog, Retention};
pub use kafka::{KafkaConfig, KafkaLog};

pub use partitioner::{murmur2, partition_for_key};

use crate::error::{Error, Result};
use std::time::Duration;

/// A record header: a name and optional bytes, as Kafka has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub key: String,
    pub value: Option<Vec<u8>>,
}

/// A record to append.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    pub key: Option<Vec<u8>>,
    /// None is a tombstone.
    pub value: Option<Vec<u8>>,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    pub headers: Vec<Header>,
}

/// A record as read back, with where it sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub partition: i32,
    pub offset: i64,
    pub record: Record,
}

/// Settings for a new topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicConfig {
    pub partitions: i32,
    pub replicas: i16,
    /// `cleanup.policy=compact` (changelogs, tables).
    pub compact: bool,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            partitions: 1,
            replicas: 1,
            compact: false,
        }
    }
}

/// What a topic looks like now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    pub name: String,
    pub partitions: i32,
    pub replicas: i16,
    pub compact: bool,
}

/// Creates a topic unless it exists. Another process sharing the log may
/// create it at the same moment; that is not an error.
pub fn ensure_topic(log: &dyn Log, name: &str, config: &TopicConfig) -> Result<()> {
    if log.describe_topic(name)?.is_some() {
        return Ok(());
    }
    match log.create_topic(name, config) {
        Err(e) if log.describe_topic(name)?.is_none() => Err(e),
        _ => Ok(()),
    }
}

/// A member of a consumer group: the log divides the partitions of the
/// group's topics among the members of all processes that joined it.
pub trait GroupMember: Send {
    /// Serves the group's protocol (joining, heartbeats, rebalances) and
    /// returns the (topic, partition)s this member owns now, sorted; None
    /// until it has joined.
    fn poll(&mut self) -> Result<Option<Vec<(String, i32)>>>;
}

/// Writes that commit atomically with a consumer group's offsets.
pub trait TxnWriter: Send {
    /// Appends a record to the open transaction (opening one if needed);
    /// partitions are chosen as [`Log::append`] chooses them.
    fn append(&mut self, topic: &str, partition: Option<i32>, record: Record) -> Result<()>;
    /// Commits the open transaction with the group's next offsets.
    fn commit(&mut self, offsets: &[(String, i32, i64)]) -> Result<()>;
    /// Drops everything appended since the last commit.
    fn abort(&mut self) -> Result<()>;
}

/// Kafka-shaped storage for topics. Implementations are shared between
/// threads; every method may be called concurrently.
pub trait Log: Send + Sync {
    /// Creates a topic; an error if it exists already.
    fn create_topic(&self, name: &str, config: &TopicConfig) -> Result<()>;
    /// The topic, if it exists.
    fn describe_topic(&self, name: &str) -> Result<Option<TopicInfo>>;
    /// Every topic, sorted by name.
    fn list_topics(&self) -> Result<Vec<TopicInfo>>;
    /// Deletes a topic and its records; an error if it does not exist.
    fn delete_topic(&self, name: &str) -> Result<()>;
    /// Appends a record to a partition; with `partition` None, a keyed
    /// record goes to `partition_for_key(key)` and an unkeyed one to
    /// partition 0. Returns the partition, and the offset written when the
    /// log knows it at once (-1 when the write is acknowledged later, as
    /// with Kafka: `hand_off` waits for that).
    fn append(&self, topic: &str, partition: Option<i32>, record: Record) -> Result<(i32, i64)>;
    /// Up to `max` records of one partition starting at `offset` (an offset
    /// past the end returns nothing).
    fn read(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max: usize,
    ) -> Result<Vec<StoredRecord>>;
    /// The offset the next appended record of the partition will get.
    fn end_offset(&self, topic: &str, partition: i32) -> Result<i64>;
    /// One past the highest offset this process's own appends to the
    /// partition were acknowledged at, for a Log whose `append` cannot say
    /// the offset (it answers -1); None when nothing was acknowledged or
    /// `append` answers offsets itself.
    fn acknowledged_end(&self, _topic: &str, _partition: i32) -> Option<i64> {
        None
    }
    /// The partition's start offset (Kafka's log start offset, the low
    /// watermark): the first offset still kept. It moves up as retention
    /// deletes old segments; `earliest` means this offset, and a read
    /// below it returns records from it.
    fn start_offset(&self, _topic: &str, _partition: i32) -> Result<i64> {
        Ok(0)
    }
    /// Records a consumer group's next offset to read for a partition.
    fn commit(&self, group: &str, topic: &str, partition: i32, offset: i64) -> Result<()>;
    /// Records several next offsets of a group at once: (topic, partition,
    /// offset).
    fn commit_offsets(&self, group: &str, offsets: &[(String, i32, i64)]) -> Result<()> {
        for (topic, partition, offset) in offsets {
            self.commit(group, topic, *partition, *offset)?;
        }
        Ok(())
    }
    /// The offset a group committed for a partition, if any.
    fn committed(&self, group: &str, topic: &str, partition: i32) -> Result<Option<i64>>;
    /// A counter that grows on every append anywhere in the log; pair it with
    /// `wait_for_append` to sleep until new data arrives without polling.
    fn append_seq(&self) -> u64;
    /// Blocks until `append_seq()` exceeds `seen`, or `timeout` passes.
    /// Returns the current sequence.
    fn wait_for_append(&self, seen: u64, timeout: Duration) -> u64;
    /// True when `append_seq` grows with every record readers can see
    /// (every append goes through this log): a reader that has read
    /// everything may then skip reading until it grows. False where other
    /// processes append unannounced (Kafka): readers must poll.
    fn announces_appends(&self) -> bool {
        false
    }
    /// A counter that grows on every append to `topic`, in the same terms
    /// as `append_seq` (it may also grow on other appends: by default it
    /// is `append_seq`).
    fn topic_append_seq(&self, _topic: &str) -> u64 {
        self.append_seq()
    }
    /// Blocks until `topic_append_seq(topic)` exceeds `seen`, or `timeout`
    /// passes; wakes for appends to that topic only where the log can tell
    /// them apart. Returns the current sequence.
    fn wait_for_topic_append(&self, _topic: &str, seen: u64, timeout: Duration) -> u64 {
        self.wait_for_append(seen, timeout)
    }
    /// Makes every appended record and commit durable (fsync).
    fn flush(&self) -> Result<()>;

    /// Joins `group` as a member consuming `topics`; the group's commits
    /// from this process then go through the member. None where one
    /// process owns every partition (the embedded log).
    fn join_group(&self, _group: &str, _topics: &[String]) -> Result<Option<Box<dyn GroupMember>>> {
        Ok(None)
    }

    /// A writer whose appends, together with `group`'s offsets, become
    /// visible all at once or not at all (Kafka transactions, for
    /// `processing.guarantee = exactly_once_v2`). `id` names the writer
    /// across restarts, so a new writer with the same id fences an old one.
    /// None where the log has no transactions.
    fn transactional_writer(&self, _id: &str, _group: &str) -> Result<Option<Box<dyn TxnWriter>>> {
        Ok(None)
    }

    /// Makes the records appended to `topic` survive a crash of this
    /// process (handed to the operating system; `flush` also survives power
    /// loss). Logs without process-local buffers have nothing to do.
    fn hand_off(&self, _topic: &str) -> Result<()> {
        Ok(())
    }
    /// `append`, giving the record back with the error when it was not
    /// appended, for the caller to try again later.
    fn append_or_return(
        &self,
        topic: &str,
        partition: Option<i32>,
        record: Record,
    ) -> std::result::Result<(i32, i64), (Error, Record)> {
        let copy = record.clone();
        self.append(topic, partition, record).map_err(|e| (e, copy))
    }
    /// Appends a record and hands it off (see `hand_off`) at once: when
    /// this fails, the record was not appended (no reader sees it, no
    /// later write brings it back), so the caller may report it lost.
    fn append_written(
        &self,
        topic: &str,
        partition: Option<i32>,
        record: Record,
    ) -> Result<(i32, i64)> {
        let appended = self.append(topic, partition, record)?;
        self.hand_off(topic)?;
        Ok(appended)
    }
}
