//! Connect's AvroConverter (`io.confluent.connect.avro.AvroConverter`):
//! a value's Connect schema becomes an Avro schema registered under the
//! topic's subject (`TOPIC-value`, `TOPIC-key`) in the schema registry,
//! and the value is written in Confluent's wire format (magic byte 0, the
//! schema id, Avro binary). Fields are nullable unions, as Connect writes
//! optional fields, so SQL reads every column as nullable.

use super::schema::ConnectType;
use crate::error::{Error, Result};
use crate::registry::{LazyRegistry, Schema};
use parking_lot::Mutex;
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::sync::Arc;

/// Writes values of one subject.
pub struct AvroWriter {
    registry: Arc<LazyRegistry>,
    subject: String,
    /// Schema ids by schema text, once registered.
    ids: Mutex<HashMap<String, u32>>,
}

impl AvroWriter {
    pub fn new(registry: Arc<LazyRegistry>, subject: String) -> AvroWriter {
        AvroWriter {
            registry,
            subject,
            ids: Mutex::new(HashMap::new()),
        }
    }

    /// A value's bytes, its schema registered first if it is new.
    pub fn encode(&self, ty: &ConnectType, data: &Json) -> Result<Vec<u8>> {
        let text = avro_schema(ty).to_string();
        let id = {
            let mut ids = self.ids.lock();
            match ids.get(&text) {
                Some(id) => *id,
                None => {
                    let id = self
                        .registry
                        .get()?
                        .register(&self.subject, &Schema::avro(text.clone()))?;
                    ids.insert(text, id);
                    id
                }
            }
        };
        let mut out = vec![0u8];
        out.extend_from_slice(&id.to_be_bytes());
        write(ty, data, &mut out)?;
        Ok(out)
    }
}

/// The Avro schema of a Connect type.
pub fn avro_schema(ty: &ConnectType) -> Json {
    match ty {
        ConnectType::Int32 => json!("int"),
        ConnectType::Int64 => json!("long"),
        ConnectType::Float64 => json!("double"),
        ConnectType::Boolean => json!("boolean"),
        ConnectType::String => json!("string"),
        ConnectType::Struct(name, fields) => {
            let (namespace, short) = match name.rsplit_once('.') {
                Some((ns, n)) => (Some(ns), n),
                None => (None, name.as_str()),
            };
            let mut record = json!({
                "type": "record",
                "name": avro_name(short),
                "fields": fields.iter().map(|(n, t)| json!({
                    "name": avro_name(n),
                    "type": ["null", avro_schema(t)],
                    "default": null,
                })).collect::<Vec<_>>(),
            });
            if let (Some(ns), Json::Object(m)) = (namespace, &mut record) {
                m.insert("namespace".into(), json!(ns));
            }
            record
        }
    }
}

/// A name Avro accepts: letters, digits and `_`, not starting with a digit.
fn avro_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

fn varint(n: i64, out: &mut Vec<u8>) {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    loop {
        let b = (z & 0x7f) as u8;
        z >>= 7;
        if z == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn write(ty: &ConnectType, v: &Json, out: &mut Vec<u8>) -> Result<()> {
    let bad = || Error::format(format!("AvroConverter: {v} is not a {ty:?}"));
    match ty {
        ConnectType::Int32 | ConnectType::Int64 => varint(v.as_i64().ok_or_else(bad)?, out),
        ConnectType::Float64 => out.extend_from_slice(&v.as_f64().ok_or_else(bad)?.to_le_bytes()),
        ConnectType::Boolean => out.push(u8::from(v.as_bool().ok_or_else(bad)?)),
        ConnectType::String => {
            let s = v.as_str().ok_or_else(bad)?;
            varint(s.len() as i64, out);
            out.extend_from_slice(s.as_bytes());
        }
        ConnectType::Struct(_, fields) => {
            let obj = v.as_object().ok_or_else(bad)?;
            for (name, t) in fields {
                match obj.get(name) {
                    None | Some(Json::Null) => varint(0, out),
                    Some(fv) => {
                        varint(1, out);
                        write(t, fv, out)?;
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_become_nullable_avro_in_the_wire_format() {
        let ty = ConnectType::Struct(
            "ksql.users".into(),
            vec![
                ("id".into(), ConnectType::Int64),
                ("name".into(), ConnectType::String),
            ],
        );
        assert_eq!(
            avro_schema(&ty),
            json!({"type": "record", "name": "users", "namespace": "ksql", "fields": [
                {"name": "id", "type": ["null", "long"], "default": null},
                {"name": "name", "type": ["null", "string"], "default": null}]})
        );
        let mut out = Vec::new();
        write(&ty, &json!({"id": -2, "name": "ab"}), &mut out).unwrap();
        assert_eq!(out, vec![2, 3, 2, 4, b'a', b'b']);
        let mut out = Vec::new();
        write(&ty, &json!({"id": 1, "name": null}), &mut out).unwrap();
        assert_eq!(out, vec![2, 2, 0]);
    }
}
