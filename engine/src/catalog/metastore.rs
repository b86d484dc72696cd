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

    /// Every command so far, in order.
    pub fn read_all(log: &dyn Log, topic: &str) -> Result<Vec<Command>> {
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            let batch = log.read(topic, 0, offset, 1000)?;
            if batch.is_empty() {
                break;
            }
            for r in batch {
                offset = r.offset + 1;
                if let Some(v) = r.record.value {
                    out.push(serde_json::from_slice(&v)?);
                }
            }
        }
        Ok(out)
    }

    /// Durably appends a command.
    pub fn append(log: &dyn Log, topic: &str, command: &Command) -> Result<()> {
        let value = serde_json::to_vec(command)?;
        log.append(
            topic,
            Some(0),
            Record {
                key: None,
                value: Some(value),
                timestamp: now_ms(),
                headers: Vec::new(),
            },
        )?;
        log.flush()
    }
}

/// Wall-clock milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
