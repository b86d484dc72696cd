//! Source offsets: the last position each source connector committed, in
//! a compacted topic of the Log keyed by connector name, plus the same
//! offset carried by every record the connector writes (a header), so a
//! restart resumes after the last record that is durably in the topic,
//! whether or not its offset commit happened before a crash.

use crate::error::Result;
use crate::log::{Header, Log, Record, TopicConfig};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// The offsets topic (Kafka Connect's is `connect-offsets`).
pub const OFFSETS_TOPIC: &str = "_sluice-connect-offsets";

/// The header each source record carries: its connector, sequence number
/// and the source offset after it.
pub const HEADER: &str = "sluice.connect.offset";

/// A committed source offset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Committed {
    /// Where the task resumes.
    pub offset: Json,
    /// Records written by the connector up to this offset.
    pub seq: u64,
    /// The topic's end offset per partition when this was committed:
    /// records past them may be newer than the commit.
    pub ends: BTreeMap<i32, i64>,
}

/// What a source record's header says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordOffset {
    pub connector: String,
    pub seq: u64,
    pub offset: Json,
}

impl RecordOffset {
    pub fn header(&self) -> Result<Header> {
        Ok(Header {
            key: HEADER.to_string(),
            value: Some(serde_json::to_vec(self)?),
        })
    }
}

/// Wall-clock milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Makes sure the offsets topic exists.
pub fn init(log: &dyn Log) -> Result<()> {
    crate::log::ensure_topic(
        log,
        OFFSETS_TOPIC,
        &TopicConfig {
            partitions: 1,
            replicas: 1,
            compact: true,
        },
    )
}

/// The offset `connector` last committed.
pub fn read(log: &dyn Log, connector: &str) -> Result<Option<Committed>> {
    let mut found = None;
    let mut at = log.start_offset(OFFSETS_TOPIC, 0)?;
    loop {
        let batch = log.read(OFFSETS_TOPIC, 0, at, 1000)?;
        let Some(last) = batch.last() else { break };
        at = last.offset + 1;
        for r in batch {
            if r.record.key.as_deref() == Some(connector.as_bytes()) {
                found = match r.record.value {
                    Some(v) => Some(serde_json::from_slice(&v)?),
                    None => None,
                };
            }
        }
    }
    Ok(found)
}

/// Durably commits `connector`'s offset.
pub fn write(log: &dyn Log, connector: &str, committed: &Committed) -> Result<()> {
    log.append(
        OFFSETS_TOPIC,
        Some(0),
        Record {
            key: Some(connector.as_bytes().to_vec()),
            value: Some(serde_json::to_vec(committed)?),
            timestamp: now_ms(),
            headers: Vec::new(),
        },
    )?;
    log.flush()
}

/// Where `connector` resumes writing `topic`: its committed offset, or a
/// later one carried by a record written after that commit.
pub fn recover(log: &dyn Log, connector: &str, topic: &str) -> Result<Option<Committed>> {
    let committed = read(log, connector)?;
    let Some(info) = log.describe_topic(topic)? else {
        return Ok(committed);
    };
    let mut best = committed.clone();
    for p in 0..info.partitions {
        let mut at = match committed.as_ref().and_then(|c| c.ends.get(&p)) {
            Some(end) => *end,
            None => log.start_offset(topic, p)?,
        };
        loop {
            let batch = log.read(topic, p, at, 1000)?;
            let Some(last) = batch.last() else { break };
            at = last.offset + 1;
            for r in &batch {
                let Some(h) = r.record.headers.iter().find(|h| h.key == HEADER) else {
                    continue;
                };
                let Some(Ok(ro)) = h
                    .value
                    .as_deref()
                    .map(serde_json::from_slice::<RecordOffset>)
                else {
                    continue;
                };
                if ro.connector == connector && best.as_ref().is_none_or(|b| ro.seq > b.seq) {
                    best = Some(Committed {
                        offset: ro.offset,
                        seq: ro.seq,
                        ends: BTreeMap::new(),
                    });
                }
            }
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::EmbeddedLog;
    use serde_json::json;

    #[test]
    fn recovery_takes_records_written_after_the_last_commit() {
        let log = EmbeddedLog::in_memory();
        init(&log).unwrap();
        log.create_topic("t", &TopicConfig::default()).unwrap();
        let append = |seq: u64, pos: u64| {
            let ro = RecordOffset {
                connector: "c".into(),
                seq,
                offset: json!({"position": pos}),
            };
            log.append(
                "t",
                Some(0),
                Record {
                    value: Some(b"x".to_vec()),
                    headers: vec![ro.header().unwrap()],
                    ..Default::default()
                },
            )
            .unwrap();
        };
        assert_eq!(recover(&log, "c", "t").unwrap(), None);
        append(1, 10);
        append(2, 20);
        let ends = [(0, log.end_offset("t", 0).unwrap())].into_iter().collect();
        write(
            &log,
            "c",
            &Committed {
                offset: json!({"position": 20}),
                seq: 2,
                ends,
            },
        )
        .unwrap();
        assert_eq!(
            recover(&log, "c", "t").unwrap().unwrap().offset,
            json!({"position": 20})
        );
        // Written, then a crash before the commit.
        append(3, 30);
        let r = recover(&log, "c", "t").unwrap().unwrap();
        assert_eq!((r.offset, r.seq), (json!({"position": 30}), 3));
        // Another connector's records are not ours.
        assert_eq!(recover(&log, "other", "t").unwrap(), None);
    }
}
