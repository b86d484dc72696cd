//! The metastore: a durable, ordered log of every accepted statement that
//! changes the catalog, kept in a single-partition topic of the Log (like
//! ksqlDB's command topic). Replaying it at start rebuilds the catalog and
//! restarts the persistent queries, which resume from their committed
//! offsets.

use crate::error::Result;
use crate::log::{Log, Record, TopicConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The topic holding a service's statements (ksqlDB's name for it): every
/// process started with the same `ksql.service.id` shares it.
pub fn command_topic(service_id: &str) -> String {
    format!("_confluent-ksql-{service_id}_command_topic")
}

/// One accepted statement, with the session properties it ran under.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Command {
    pub statement: String,
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// The process that ran it first (see `instance_id`): processes
    /// following the topic skip their own commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

/// An id for this process, unique among the processes of a service.
pub fn instance_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}-{nanos}", std::process::id())
}

/// Appends and replays commands.
pub struct Metastore;

impl Metastore {
    /// Makes sure the command topic exists.
    pub fn init(log: &dyn Log, topic: &str) -> Result<()> {
        crate::log::ensure_topic(
            log,
            topic,
            &TopicConfig {
                partitions: 1,
                replicas: 1,
                compact: false,
            },
        )
    }

    /// Every command from offset `from` on, in order, with its offset.
    pub fn read_from(log: &dyn Log, topic: &str, from: i64) -> Result<Vec<(i64, Command)>> {
        let mut out = Vec::new();
        let mut offset = from;
        loop {
            let batch = log.read(topic, 0, offset, 1000)?;
            if batch.is_empty() {
                break;
            }
            for r in batch {
                offset = r.offset + 1;
                if let Some(v) = r.record.value {
                    out.push((r.offset, serde_json::from_slice(&v)?));
                }
            }
        }
        Ok(out)
    }

    /// Durably appends a command; returns its offset (the command's
    /// sequence number).
    pub fn append(log: &dyn Log, topic: &str, command: &Command) -> Result<i64> {
        let value = serde_json::to_vec(command)?;
        let (_, offset) = log.append(
            topic,
            Some(0),
            Record {
                key: None,
                value: Some(value),
                timestamp: now_ms(),
                headers: Vec::new(),
            },
        )?;
        log.flush()?;
        if offset >= 0 {
            return Ok(offset);
        }
        // Kafka's producer learns the offset from its acknowledgement: the
        // command is this process's latest append to the command topic
        // (appends of commands take turns), so one before its end.
        match log.acknowledged_end(topic, 0) {
            Some(end) => Ok(end - 1),
            None => Ok(log.end_offset(topic, 0)? - 1),
        }
    }
}

/// Wall-clock milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_log_keeps_command_topics_twice() {
        assert!(crate::log::EmbeddedLog::mirrors(&command_topic("default_")));
        assert!(crate::log::EmbeddedLog::mirrors(&command_topic("svc")));
        assert!(!crate::log::EmbeddedLog::mirrors("orders"));
    }
}
