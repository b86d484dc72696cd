//! Consumer-group membership on Kafka: a member takes part in the group
//! protocol only (its partitions are paused: the task reads them with the
//! log's own readers) and tells the task which partitions it owns.

use super::errors::kafka_err;
use crate::error::Result;
use crate::log::GroupMember;
use parking_lot::Mutex;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::ClientContext;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The groups this process joined as a member, by full group id: their
/// commits must come from the member.
pub(super) type Members = Arc<Mutex<HashMap<String, Arc<BaseConsumer<MemberContext>>>>>;

/// A group member's context: notes when the member has joined.
#[derive(Default)]
pub(super) struct MemberContext {
    joined: AtomicBool,
}

impl ClientContext for MemberContext {}

impl ConsumerContext for MemberContext {
    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(_) = rebalance {
            self.joined.store(true, Ordering::SeqCst);
        }
    }
}

/// A member of a consumer group. It only takes part in the protocol: its
/// partitions are paused, since the task reads them with its own readers.
pub(super) struct KafkaMember {
    pub consumer: Arc<BaseConsumer<MemberContext>>,
    pub group: String,
    pub prefix: String,
    pub members: Members,
    pub owned: Vec<(String, i32)>,
}

impl GroupMember for KafkaMember {
    fn poll(&mut self) -> Result<Option<Vec<(String, i32)>>> {
        // Records fetched before a pause took effect are not wanted here.
        while let Some(r) = self.consumer.poll(Duration::ZERO) {
            if let Err(e) = r {
                if !matches!(e, KafkaError::PartitionEOF(_)) && !super::errors::transient(&e) {
                    return Err(kafka_err(&format!("group {}", self.group), e));
                }
            }
        }
        if !self.consumer.context().joined.load(Ordering::SeqCst) {
            return Ok(None);
        }
        let assignment = self
            .consumer
            .assignment()
            .map_err(|e| kafka_err(&format!("group {}", self.group), e))?;
        let mut owned: Vec<(String, i32)> = assignment
            .elements()
            .iter()
            .filter_map(|e| {
                let topic = e.topic().strip_prefix(self.prefix.as_str())?;
                Some((topic.to_string(), e.partition()))
            })
            .collect();
        owned.sort();
        if owned != self.owned {
            let _ = self.consumer.pause(&assignment);
            self.owned = owned.clone();
        }
        Ok(Some(owned))
    }
}

impl Drop for KafkaMember {
    fn drop(&mut self) {
        // Leaving promptly lets the others take the partitions over now.
        self.members.lock().remove(&self.group);
        self.consumer.unsubscribe();
    }
}
