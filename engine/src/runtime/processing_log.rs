//! The processing log: records that a query could not read, compute or
//! write are skipped, counted, and described here as JSON records of the
//! `KSQL_PROCESSING_LOG` stream, so users can query them like any stream.

use crate::catalog::metastore::now_ms;
use crate::error::Result;
use crate::log::{Log, Record, TopicConfig};
use crate::operators::ProcessingError;
use base64::Engine as _;
use serde_json::json;

/// The processing log's topic.
pub const TOPIC: &str = "default_ksql_processing_log";
/// The stream over it.
pub const STREAM: &str = "KSQL_PROCESSING_LOG";

/// The statement that declares the stream, with ksqlDB's schema.
pub fn create_statement() -> String {
    format!(
        "CREATE STREAM {STREAM} (LOGGER STRING, LEVEL STRING, TIME BIGINT, MESSAGE STRUCT<\
         TYPE INT, \
         DESERIALIZATIONERROR STRUCT<TARGET STRING, ERRORMESSAGE STRING, RECORDB64 STRING, CAUSE ARRAY<STRING>, `topic` STRING>, \
         RECORDPROCESSINGERROR STRUCT<ERRORMESSAGE STRING, RECORD STRING, CAUSE ARRAY<STRING>>, \
         SERIALIZATIONERROR STRUCT<TARGET STRING, ERRORMESSAGE STRING, RECORD STRING, CAUSE ARRAY<STRING>, `topic` STRING>>) \
         WITH (KAFKA_TOPIC='{TOPIC}', VALUE_FORMAT='JSON');"
    )
}

/// Makes sure the topic exists.
pub fn init(log: &dyn Log) -> Result<()> {
    crate::log::ensure_topic(log, TOPIC, &TopicConfig::default())?;
    Ok(())
}

/// Writes one entry for a query's failed record.
pub fn write(log: &dyn Log, query_id: &str, error: &ProcessingError) -> Result<()> {
    let (logger, message) = match error {
        ProcessingError::Deserialization {
            topic,
            target,
            message,
            record,
        } => (
            format!("{query_id}.KsqlTopic.Source.deserializer"),
            json!({
                "TYPE": 0,
                "DESERIALIZATIONERROR": {
                    "TARGET": target,
                    "ERRORMESSAGE": message,
                    "RECORDB64": record.as_ref().map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
                    "CAUSE": [],
                    "topic": topic,
                },
                "RECORDPROCESSINGERROR": null,
                "SERIALIZATIONERROR": null,
            }),
        ),
        ProcessingError::Processing { message, row } => (
            format!("{query_id}.Project"),
            json!({
                "TYPE": 1,
                "DESERIALIZATIONERROR": null,
                "RECORDPROCESSINGERROR": {"ERRORMESSAGE": message, "RECORD": row, "CAUSE": []},
                "SERIALIZATIONERROR": null,
            }),
        ),
        ProcessingError::Serialization {
            topic,
            target,
            message,
            row,
        } => (
            format!("{query_id}.KsqlTopic.Sink.serializer"),
            json!({
                "TYPE": 3,
                "DESERIALIZATIONERROR": null,
                "RECORDPROCESSINGERROR": null,
                "SERIALIZATIONERROR": {"TARGET": target, "ERRORMESSAGE": message, "RECORD": row, "CAUSE": [], "topic": topic},
            }),
        ),
    };
    let value = json!({
        "LOGGER": format!("processing.{logger}"),
        "LEVEL": "ERROR",
        "TIME": now_ms(),
        "MESSAGE": message,
    });
    log.append(
        TOPIC,
        Some(0),
        Record {
            key: None,
            value: Some(serde_json::to_vec(&value)?),
            timestamp: now_ms(),
            headers: Vec::new(),
        },
    )?;
    Ok(())
}
