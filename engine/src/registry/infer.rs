//! Column inference: the SQL columns ksqlDB derives from an Avro schema in
//! the registry when a CREATE declares none. A record's fields become
//! columns (names upper-cased, as ksqlDB's translation does); any other
//! schema is one column (`ROWKEY` for a key, `ROWVAL` for a value).
//!
//! Types: boolean BOOLEAN; int INT (`date` DATE, `time-millis` TIME); long
//! BIGINT (`timestamp-millis` TIMESTAMP); float and double DOUBLE; string
//! and enum STRING; bytes BYTES (`decimal` DECIMAL(p, s)); fixed with
//! `decimal` DECIMAL, else BYTES; array ARRAY; map MAP<STRING, V>; record
//! STRUCT (field names upper-cased); a union of null and one type is that
//! type (nullable, as every ksqlDB column is). Other unions have no SQL
//! type here and are refused.

use crate::error::{Error, Result};
use crate::types::SqlType;
use serde_json::Value as Json;
use std::collections::HashMap;

/// Whether the inferred schema is a record (its fields are the columns) or
/// a single anonymous value.
#[derive(Debug, Clone, PartialEq)]
pub enum Inferred {
    /// (column name, type) per record field.
    Record(Vec<(String, SqlType)>),
    /// The type of the single value.
    Single(SqlType),
}

/// The columns `schema` (an Avro schema's text) holds.
pub fn avro_columns(schema: &str) -> Result<Inferred> {
    let json: Json = serde_json::from_str(schema)
        .map_err(|e| Error::plan(format!("the registry's schema is not valid Avro JSON: {e}")))?;
    let mut named = HashMap::new();
    match record_fields(&json) {
        Some(fields) => {
            let mut out = Vec::new();
            remember(&json, "", &mut named);
            for f in fields {
                let name = f
                    .get("name")
                    .and_then(Json::as_str)
                    .ok_or_else(|| Error::plan("a record field without a name"))?;
                let ty = f
                    .get("type")
                    .ok_or_else(|| Error::plan(format!("field {name} has no type")))?;
                out.push((
                    name.to_ascii_uppercase(),
                    sql_type(ty, &namespace_of(&json, ""), &mut named, name)?,
                ));
            }
            Ok(Inferred::Record(out))
        }
        None => Ok(Inferred::Single(sql_type(&json, "", &mut named, "value")?)),
    }
}

fn record_fields(json: &Json) -> Option<&Vec<Json>> {
    match json.get("type").and_then(Json::as_str) {
        Some("record") | Some("error") => json.get("fields").and_then(Json::as_array),
        _ => None,
    }
}

fn namespace_of(json: &Json, enclosing: &str) -> String {
    let name = json.get("name").and_then(Json::as_str).unwrap_or("");
    if let Some((ns, _)) = name.rsplit_once('.') {
        return ns.to_string();
    }
    json.get("namespace")
        .and_then(Json::as_str)
        .unwrap_or(enclosing)
        .to_string()
}

/// Records a named type's definition under its full and simple names.
fn remember(json: &Json, enclosing: &str, named: &mut HashMap<String, Json>) {
    if let Some(name) = json.get("name").and_then(Json::as_str) {
        let ns = namespace_of(json, enclosing);
        let simple = name.rsplit('.').next().unwrap_or(name).to_string();
        if !ns.is_empty() {
            named.insert(format!("{ns}.{simple}"), json.clone());
        }
        named.insert(simple, json.clone());
    }
}

fn sql_type(
    json: &Json,
    namespace: &str,
    named: &mut HashMap<String, Json>,
    path: &str,
) -> Result<SqlType> {
    let unsupported = |what: &str| {
        Error::plan(format!(
            "cannot infer a column type for {path}: {what} has no SQL type"
        ))
    };
    match json {
        Json::String(name) => match name.as_str() {
            "boolean" => Ok(SqlType::Boolean),
            "int" => Ok(SqlType::Int),
            "long" => Ok(SqlType::BigInt),
            "float" | "double" => Ok(SqlType::Double),
            "string" => Ok(SqlType::String),
            "bytes" => Ok(SqlType::Bytes),
            "null" => Err(unsupported("null")),
            other => {
                let full = if other.contains('.') || namespace.is_empty() {
                    other.to_string()
                } else {
                    format!("{namespace}.{other}")
                };
                let def = named
                    .get(&full)
                    .or_else(|| named.get(other))
                    .cloned()
                    .ok_or_else(|| unsupported(&format!("the unknown type {other}")))?;
                if record_fields(&def).is_some() && def.get("type") == Some(&Json::from("record")) {
                    // A reference back to a record being defined: SQL types
                    // cannot recurse.
                    if def.get("__inferring").is_some() {
                        return Err(unsupported("a recursive record"));
                    }
                }
                sql_type(&def, namespace, named, path)
            }
        },
        Json::Array(branches) => {
            let non_null: Vec<&Json> = branches
                .iter()
                .filter(|b| b.as_str() != Some("null"))
                .collect();
            match non_null.as_slice() {
                [one] => sql_type(one, namespace, named, path),
                _ => Err(unsupported("a union of several types")),
            }
        }
        Json::Object(obj) => {
            let logical = obj.get("logicalType").and_then(Json::as_str);
            let kind = obj
                .get("type")
                .ok_or_else(|| unsupported("a schema without a type"))?;
            match (kind.as_str(), logical) {
                (Some("int"), Some("date")) => Ok(SqlType::Date),
                (Some("int"), Some("time-millis")) => Ok(SqlType::Time),
                (Some("long"), Some("timestamp-millis")) => Ok(SqlType::Timestamp),
                (Some("bytes") | Some("fixed"), Some("decimal")) => {
                    let num = |k: &str| obj.get(k).and_then(Json::as_u64).unwrap_or(0);
                    let (p, s) = (num("precision"), num("scale"));
                    match (u8::try_from(p), u8::try_from(s)) {
                        (Ok(p), Ok(s)) if p >= 1 && s <= p => Ok(SqlType::Decimal(p, s)),
                        _ => Err(unsupported(&format!("decimal({p}, {s})"))),
                    }
                }
                (Some("fixed"), _) => {
                    remember(json, namespace, named);
                    Ok(SqlType::Bytes)
                }
                (Some("enum"), _) => {
                    remember(json, namespace, named);
                    Ok(SqlType::String)
                }
                (Some("array"), _) => {
                    let items = obj
                        .get("items")
                        .ok_or_else(|| unsupported("an array without items"))?;
                    Ok(SqlType::Array(Box::new(sql_type(
                        items, namespace, named, path,
                    )?)))
                }
                (Some("map"), _) => {
                    let values = obj
                        .get("values")
                        .ok_or_else(|| unsupported("a map without values"))?;
                    Ok(SqlType::Map(
                        Box::new(SqlType::String),
                        Box::new(sql_type(values, namespace, named, path)?),
                    ))
                }
                (Some("record") | Some("error"), _) => {
                    let ns = namespace_of(json, namespace);
                    let mut marked = json.clone();
                    marked["__inferring"] = Json::Bool(true);
                    remember(&marked, namespace, named);
                    let mut fields = Vec::new();
                    for f in record_fields(json).into_iter().flatten() {
                        let name = f
                            .get("name")
                            .and_then(Json::as_str)
                            .ok_or_else(|| unsupported("a field without a name"))?;
                        let ty = f
                            .get("type")
                            .ok_or_else(|| unsupported("a field without a type"))?;
                        fields.push((
                            name.to_ascii_uppercase(),
                            sql_type(ty, &ns, named, &format!("{path}.{name}"))?,
                        ));
                    }
                    remember(json, namespace, named);
                    Ok(SqlType::Struct(fields))
                }
                _ => sql_type(kind, namespace, named, path),
            }
        }
        other => Err(unsupported(&format!("{other}"))),
    }
}
