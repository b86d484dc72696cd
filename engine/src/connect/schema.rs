//! Connect's data: a value's schema (the types built-in connectors
//! produce) and the value itself, with Connect's JSON form of a schema.

use serde_json::{json, Value as Json};

/// A Connect schema: the types built-in connectors produce.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectType {
    Int32,
    Int64,
    Float64,
    Boolean,
    String,
    /// A record with named fields, and its schema name (`ksql.users`).
    Struct(String, Vec<(String, ConnectType)>),
}

impl ConnectType {
    /// Connect's JSON schema for the type (what `schemas.enable=true`
    /// writes beside the payload).
    pub fn json_schema(&self, field: Option<&str>) -> Json {
        let mut out = match self {
            ConnectType::Int32 => json!({"type": "int32"}),
            ConnectType::Int64 => json!({"type": "int64"}),
            ConnectType::Float64 => json!({"type": "double"}),
            ConnectType::Boolean => json!({"type": "boolean"}),
            ConnectType::String => json!({"type": "string"}),
            ConnectType::Struct(name, fields) => json!({
                "type": "struct",
                "fields": fields.iter().map(|(n, t)| t.json_schema(Some(n))).collect::<Vec<_>>(),
                "name": name,
            }),
        };
        if let Json::Object(m) = &mut out {
            m.insert("optional".into(), Json::Bool(false));
            if let Some(f) = field {
                m.insert("field".into(), Json::String(f.to_string()));
            }
        }
        out
    }
}

/// A value a connector produces: its schema and its data.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectValue {
    pub schema: ConnectType,
    pub data: Json,
}
