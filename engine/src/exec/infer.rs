//! Schema inference for CREATE STREAM/TABLE: the columns a statement
//! leaves out are read from the schema registry, as ksqlDB reads them:
//! values from the latest version of `<topic>-value` (or the schema
//! `VALUE_SCHEMA_ID` names), keys from `<topic>-key` (or `KEY_SCHEMA_ID`).
//! AVRO only for now.

use super::{prop_int, EngineInner};
use crate::error::{Error, Result};
use crate::formats::{FormatKind, FormatSpec};
use crate::registry::infer::{avro_columns, Inferred};
use crate::registry::{codes, SchemaType, VersionSpec};
use crate::sql::ast::*;

/// Which part of the record a schema describes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Key,
    Value,
}

impl EngineInner {
    /// The statement's columns with those it leaves out inferred: value
    /// columns when it declares none and the value format is AVRO, key
    /// columns when it declares none, the key format is AVRO and the
    /// registry has a key schema. A single-value schema is unwrapped.
    pub(super) fn inferred_elements(
        &self,
        c: &CreateSource,
        topic: &str,
        key_format: &mut FormatSpec,
        value_format: &mut FormatSpec,
    ) -> Result<Vec<TableElement>> {
        let mut elements = c.elements.clone();
        let is_key = |e: &TableElement| {
            matches!(
                e.constraint,
                ColumnConstraint::Key | ColumnConstraint::PrimaryKey
            )
        };
        let is_header = |e: &TableElement| {
            matches!(
                e.constraint,
                ColumnConstraint::Headers | ColumnConstraint::Header(_)
            )
        };
        let has_key = elements.iter().any(is_key);
        let has_value = elements.iter().any(|e| !is_key(e) && !is_header(e));
        let key_constraint = match c.kind {
            SourceKind::Stream => ColumnConstraint::Key,
            SourceKind::Table => ColumnConstraint::PrimaryKey,
        };
        if !has_key && key_format.kind == FormatKind::Avro {
            let id = prop_int(&c.properties, "KEY_SCHEMA_ID")?;
            if let Some(found) = self.registry_schema(topic, Part::Key, id, id.is_some())? {
                let keys = match found {
                    Inferred::Record(fields) => fields,
                    Inferred::Single(ty) => vec![("ROWKEY".to_string(), ty)],
                };
                elements.splice(
                    0..0,
                    keys.into_iter().map(|(name, ty)| TableElement {
                        name,
                        ty,
                        constraint: key_constraint.clone(),
                    }),
                );
            }
        }
        if !has_value && value_format.kind == FormatKind::Avro {
            let id = prop_int(&c.properties, "VALUE_SCHEMA_ID")?;
            let required = id.is_some() || c.elements.is_empty();
            if let Some(found) = self.registry_schema(topic, Part::Value, id, required)? {
                let values = match found {
                    Inferred::Record(fields) => fields,
                    Inferred::Single(ty) => {
                        value_format.wrap_single = false;
                        vec![("ROWVAL".to_string(), ty)]
                    }
                };
                elements.extend(values.into_iter().map(|(name, ty)| TableElement {
                    name,
                    ty,
                    constraint: ColumnConstraint::None,
                }));
            }
        }
        Ok(elements)
    }

    /// The columns of the schema `id` names, or of the latest version of
    /// the topic's key or value subject; None when there is none and it
    /// is not `required`.
    fn registry_schema(
        &self,
        topic: &str,
        part: Part,
        id: Option<i64>,
        required: bool,
    ) -> Result<Option<Inferred>> {
        let registry = self.schema_registry()?;
        let (what, suffix) = match part {
            Part::Key => ("keys", "key"),
            Part::Value => ("values", "value"),
        };
        let subject = format!("{topic}-{suffix}");
        let schema = match id {
            Some(id) => {
                let id = u32::try_from(id)
                    .map_err(|_| Error::plan(format!("Invalid schema id {id}")))?;
                registry.schema_by_id(id).map_err(|e| match e {
                    Error::Registry(r) if r.code == codes::SCHEMA_NOT_FOUND => Error::plan(format!(
                        "Schema for message {what} on topic '{topic}' does not exist in the Schema Registry.Subject: {subject}\nSchema Id: {id}"
                    )),
                    other => other,
                })?
            }
            None => match registry.version(&subject, VersionSpec::Latest, false) {
                Ok(v) => v.schema,
                Err(Error::Registry(r))
                    if r.code == codes::SUBJECT_NOT_FOUND || r.code == codes::VERSION_NOT_FOUND =>
                {
                    if !required {
                        return Ok(None);
                    }
                    return Err(Error::plan(format!(
                        "Schema for message {what} on topic '{topic}' does not exist in the Schema Registry.\nSubject: {subject}"
                    )));
                }
                Err(e) => return Err(e),
            },
        };
        if schema.schema_type != SchemaType::Avro {
            return Err(Error::plan(format!(
                "Unable to verify if the {suffix} schema for topic: {topic} is compatible with \
                 ksqlDB: the registry holds a {} schema, not AVRO.",
                schema.schema_type.name()
            )));
        }
        avro_columns(&schema.schema).map(Some)
    }
}

impl EngineInner {
    /// Registers the AVRO schemas of a CSAS/CTAS sink's key and value under
    /// `<topic>-key` and `<topic>-value`, as ksqlDB does, and has the sink's
    /// codecs write the ids they got. A `KEY_SCHEMA_ID`/`VALUE_SCHEMA_ID`
    /// in the statement names the schema to write with instead (not checked
    /// against the columns yet). A schema the subject's compatibility level
    /// refuses is written with the default id and a warning: Sluice's Avro
    /// schema for a MAP (an Avro map) differs from the one ksqlDB registers
    /// (an array of key/value records), so refusing would reject what
    /// ksqlDB accepts. On replay the schemas are registered already: the
    /// same schema gets the same id.
    pub(super) fn register_sink_schemas(
        &self,
        sink: &mut crate::catalog::Source,
        properties: &Properties,
    ) -> Result<()> {
        let keys: Vec<crate::types::Column> = sink.schema.keys().cloned().collect();
        let values: Vec<crate::types::Column> = sink.schema.values().cloned().collect();
        let parts = [
            (Part::Key, keys, sink.key_format.kind),
            (Part::Value, values, sink.value_format.kind),
        ];
        for (part, columns, kind) in parts {
            if kind != FormatKind::Avro || columns.is_empty() {
                continue;
            }
            let (suffix, unwrap, given) = match part {
                Part::Key => ("key", columns.len() == 1, "KEY_SCHEMA_ID"),
                Part::Value => (
                    "value",
                    columns.len() == 1 && !sink.value_format.wrap_single,
                    "VALUE_SCHEMA_ID",
                ),
            };
            let id = match prop_int(properties, given)? {
                Some(id) => Some(
                    u32::try_from(id)
                        .map_err(|_| Error::plan(format!("Invalid schema id {id}")))?,
                ),
                None => {
                    let schema = crate::formats::avro::avro_schema_json(&columns, unwrap);
                    let subject = format!("{}-{suffix}", sink.topic);
                    let registry = self.schema_registry()?;
                    match registry
                        .register(&subject, &crate::registry::Schema::avro(schema.to_string()))
                    {
                        Ok(id) => Some(id),
                        Err(Error::Registry(r)) if r.code == codes::INCOMPATIBLE_SCHEMA => {
                            tracing::warn!(
                                subject,
                                "the sink's schema is incompatible with the registered one; \
                                 writing with the default schema id: {}",
                                r.message
                            );
                            None
                        }
                        Err(e) => return Err(e),
                    }
                }
            };
            match part {
                Part::Key => sink.key_format.schema_id = id,
                Part::Value => sink.value_format.schema_id = id,
            }
        }
        Ok(())
    }
}
