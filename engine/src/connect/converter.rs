//! Converters, as Kafka Connect names them (`key.converter`,
//! `value.converter`): a connector's values (a Connect schema and JSON
//! data) to record bytes, and record bytes back to text for sinks.

use super::avro::AvroWriter;
use super::config::ConnectorConfig;
pub use super::schema::{ConnectType, ConnectValue};
use super::task::Context;
use crate::error::{Error, Result};
use serde_json::{json, Map, Value as Json};

/// The key converter when none is configured.
pub const DEFAULT_KEY_CONVERTER: &str = "org.apache.kafka.connect.storage.StringConverter";

/// The value converter a configuration names for values of `topic`; JSON
/// without schemas when none is named (so ksqlDB's JSON format reads the
/// values).
pub fn value_converter(config: &ConnectorConfig, ctx: &Context, topic: &str) -> Result<Converter> {
    if config.get("value.converter").is_none() {
        return Ok(Converter::Json { schemas: false });
    }
    Converter::from_config(config, "value.converter", JSON, ctx, topic)
}

/// How values become bytes.
pub enum Converter {
    /// `org.apache.kafka.connect.storage.StringConverter`
    String,
    /// `org.apache.kafka.connect.json.JsonConverter`, with the schema
    /// envelope or without.
    Json { schemas: bool },
    /// `org.apache.kafka.connect.converters.ByteArrayConverter`
    ByteArray,
    /// `io.confluent.connect.avro.AvroConverter`, through the schema
    /// registry.
    Avro(AvroWriter),
}

const STRING: &str = "org.apache.kafka.connect.storage.StringConverter";
const JSON: &str = "org.apache.kafka.connect.json.JsonConverter";
const BYTES: &str = "org.apache.kafka.connect.converters.ByteArrayConverter";
const AVRO: &str = "io.confluent.connect.avro.AvroConverter";

impl Converter {
    /// The converter `prefix` (`key.converter`, `value.converter`) names,
    /// with its `schemas.enable`; `default` when not set. Avro registers
    /// under `TOPIC-key` or `TOPIC-value`.
    pub fn from_config(
        config: &ConnectorConfig,
        prefix: &str,
        default: &str,
        ctx: &Context,
        topic: &str,
    ) -> Result<Converter> {
        let class = config.get(prefix).unwrap_or(default);
        match class {
            STRING | "StringConverter" => Ok(Converter::String),
            JSON | "JsonConverter" => Ok(Converter::Json {
                schemas: config.bool(&format!("{prefix}.schemas.enable"), true)?,
            }),
            BYTES | "ByteArrayConverter" => Ok(Converter::ByteArray),
            AVRO | "AvroConverter" => {
                let part = if prefix.starts_with("key") { "key" } else { "value" };
                Ok(Converter::Avro(AvroWriter::new(
                    ctx.registry.clone(),
                    format!("{topic}-{part}"),
                )))
            }
            other => Err(Error::plan(format!(
                "{prefix} {other} is not available in Sluice: use {STRING}, {JSON}, {BYTES} or {AVRO}"
            ))),
        }
    }

    /// The converters Sluice runs, for validation messages.
    pub fn classes() -> [&'static str; 4] {
        [STRING, JSON, BYTES, AVRO]
    }

    /// A value's bytes.
    pub fn encode(&self, value: &ConnectValue) -> Result<Vec<u8>> {
        match self {
            Converter::String => Ok(connect_text(&value.data).into_bytes()),
            Converter::Json { schemas: false } => Ok(serde_json::to_vec(&value.data)?),
            Converter::Json { schemas: true } => Ok(serde_json::to_vec(&json!({
                "schema": value.schema.json_schema(None),
                "payload": value.data,
            }))?),
            Converter::ByteArray => match &value.data {
                Json::String(s) => Ok(s.clone().into_bytes()),
                _ => Err(Error::format(
                    "ByteArrayConverter takes bytes; this connector's values are records",
                )),
            },
            Converter::Avro(w) => w.encode(&value.schema, &value.data),
        }
    }

    /// A record's bytes as the text a sink writes: a string as it is,
    /// anything else as compact JSON.
    pub fn decode_text(&self, bytes: &[u8]) -> Result<String> {
        match self {
            Converter::String | Converter::ByteArray => {
                Ok(String::from_utf8_lossy(bytes).into_owned())
            }
            Converter::Avro(_) => Err(Error::plan(
                "AvroConverter is available for source connectors only in Sluice",
            )),
            Converter::Json { schemas } => {
                let mut v: Json = serde_json::from_slice(bytes).map_err(|e| {
                    Error::format(format!(
                        "Converting byte[] to Kafka Connect data failed: {e}"
                    ))
                })?;
                if *schemas {
                    v = match v {
                        Json::Object(mut m) if m.contains_key("schema") && m.contains_key("payload") => {
                            m.remove("payload").unwrap_or(Json::Null)
                        }
                        _ => {
                            return Err(Error::format(
                                "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields",
                            ))
                        }
                    }
                }
                Ok(match v {
                    Json::String(s) => s,
                    other => other.to_string(),
                })
            }
        }
    }
}

/// Connect's text for a value (what StringConverter writes): strings as
/// they are, records as `Struct{a=1,b=x}`.
fn connect_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Object(m) => struct_text(m),
        other => other.to_string(),
    }
}

fn struct_text(m: &Map<String, Json>) -> String {
    let fields: Vec<String> = m
        .iter()
        .map(|(k, v)| format!("{k}={}", connect_text(v)))
        .collect();
    format!("Struct{{{}}}", fields.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value() -> ConnectValue {
        ConnectValue {
            schema: ConnectType::Struct(
                "ksql.t".into(),
                vec![
                    ("id".into(), ConnectType::Int32),
                    ("s".into(), ConnectType::String),
                ],
            ),
            data: json!({"id": 1, "s": "x"}),
        }
    }

    #[test]
    fn json_with_and_without_schemas_and_string() {
        let plain = Converter::Json { schemas: false }.encode(&value()).unwrap();
        assert_eq!(String::from_utf8(plain).unwrap(), r#"{"id":1,"s":"x"}"#);
        let env: Json =
            serde_json::from_slice(&Converter::Json { schemas: true }.encode(&value()).unwrap())
                .unwrap();
        assert_eq!(env["payload"], json!({"id": 1, "s": "x"}));
        assert_eq!(env["schema"]["type"], "struct");
        assert_eq!(
            env["schema"]["fields"][0],
            json!({"type":"int32","optional":false,"field":"id"})
        );
        let s = Converter::String.encode(&value()).unwrap();
        assert_eq!(String::from_utf8(s).unwrap(), "Struct{id=1,s=x}");
        let line = Converter::Json { schemas: true }
            .decode_text(br#"{"schema":{"type":"string"},"payload":"hi"}"#)
            .unwrap();
        assert_eq!(line, "hi");
    }
}
