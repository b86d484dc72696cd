//! Conversions between record bytes and the JSON notation of ksqlDB's test
//! cases (a KAFKA key as its plain value, a JSON payload as itself, a
//! DELIMITED payload as its text), used by the conformance runner and PRINT.

use crate::error::Result;
use crate::formats::json::{json_to_value, value_to_json};
use crate::formats::{codec, FormatKind, FormatSpec};
use crate::types::{Column, Value};

/// Encodes one record part (key or value) given in test-case notation.
pub fn encode_part(
    j: &serde_json::Value,
    format: Option<&FormatSpec>,
    columns: &[Column],
    is_key: bool,
) -> Result<Option<Vec<u8>>> {
    if j.is_null() {
        return Ok(None);
    }
    let kind = format.map(|f| f.kind);
    match kind {
        None | Some(FormatKind::Json) | Some(FormatKind::JsonSr) => Ok(Some(match j {
            serde_json::Value::String(s) if kind.is_none() => s.clone().into_bytes(),
            other => serde_json::to_vec(other)?,
        })),
        Some(FormatKind::Delimited) => Ok(Some(match j {
            serde_json::Value::String(s) => s.clone().into_bytes(),
            other => other.to_string().into_bytes(),
        })),
        Some(FormatKind::None) => Ok(None),
        Some(_) => {
            let spec = format.expect("kind came from the format");
            // A single column is written bare when the format does not wrap
            // it (keys, KAFKA, or WRAP_SINGLE_VALUE=false); the case gives
            // it bare too.
            let bare = single_is_bare(spec, columns.len(), is_key);
            let values: Vec<Value> = if bare {
                vec![json_to_value(j, &columns[0].ty)?]
            } else {
                columns
                    .iter()
                    .map(|c| {
                        let field = j
                            .as_object()
                            .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(&c.name)))
                            .map(|(_, v)| v.clone())
                            .unwrap_or(serde_json::Value::Null);
                        json_to_value(&field, &c.ty)
                    })
                    .collect::<Result<_>>()?
            };
            codec(spec, columns, is_key)?.encode(&values)
        }
    }
}

/// Decodes one record part into test-case notation.
pub fn decode_part(
    bytes: Option<&[u8]>,
    format: Option<&FormatSpec>,
    columns: &[Column],
    is_key: bool,
) -> Result<serde_json::Value> {
    let Some(b) = bytes else {
        return Ok(serde_json::Value::Null);
    };
    let kind = format.map(|f| f.kind);
    match kind {
        Some(FormatKind::Json) | Some(FormatKind::JsonSr) => Ok(serde_json::from_slice(b)
            .unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(b).into_owned())
            })),
        None | Some(FormatKind::Delimited) => Ok(serde_json::Value::String(
            String::from_utf8_lossy(b).into_owned(),
        )),
        Some(FormatKind::None) => Ok(serde_json::Value::Null),
        Some(_) => {
            let spec = format.expect("kind came from the format");
            let values = codec(spec, columns, is_key)?.decode(Some(b))?;
            Ok(match values {
                None => serde_json::Value::Null,
                Some(v) if single_is_bare(spec, v.len(), is_key) => value_to_json(&v[0]),
                Some(v) => serde_json::Value::Object(
                    columns
                        .iter()
                        .zip(v.iter())
                        .map(|(c, v)| (c.name.clone(), value_to_json(v)))
                        .collect(),
                ),
            })
        }
    }
}

/// Whether a lone column is written bare rather than inside a record:
/// keys, KAFKA, and WRAP_SINGLE_VALUE=false do; PROTOBUF always writes a
/// message.
fn single_is_bare(spec: &FormatSpec, columns: usize, is_key: bool) -> bool {
    let proto = matches!(spec.kind, FormatKind::Protobuf | FormatKind::ProtobufNoSr);
    columns == 1 && !proto && (is_key || !spec.wrap_single || spec.kind == FormatKind::Kafka)
}
