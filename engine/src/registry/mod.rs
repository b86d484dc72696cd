//! The schema registry: subjects holding versions of schemas (AVRO,
//! PROTOBUF, JSON), global schema ids, references between schemas, and the
//! compatibility rules a new version must meet, as Confluent's Schema
//! Registry has them. One trait, [`SchemaRegistry`], with two
//! implementations: [`LocalRegistry`], kept in a compacted `_schemas` topic
//! of the engine's Log (it survives restarts and, on Kafka, is shared by
//! every server reading that topic), and [`HttpRegistry`], a client of an
//! external registry with Confluent's REST API (`ksql.schema.registry.url`).
//! The engine, the REST server and the conformance runner use only the trait.

mod avro;
mod http;
pub mod infer;
mod local;
mod state;

pub use crate::error::RegistryError;
pub use http::HttpRegistry;
pub use local::{LocalRegistry, SCHEMAS_TOPIC};

use crate::error::{Error, Result};
use crate::log::Log;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Confluent's error codes, as the registry's REST API answers them (the
/// HTTP status is the code's first three digits).
pub mod codes {
    /// No such subject.
    pub const SUBJECT_NOT_FOUND: u32 = 40401;
    /// The subject has no such version.
    pub const VERSION_NOT_FOUND: u32 = 40402;
    /// No schema with that id, or no version of the subject holds it.
    pub const SCHEMA_NOT_FOUND: u32 = 40403;
    /// The subject was soft-deleted (and `permanent` was not asked for
    /// again, or a soft delete was repeated).
    pub const SUBJECT_SOFT_DELETED: u32 = 40404;
    /// A permanent delete of a subject not soft-deleted first.
    pub const SUBJECT_NOT_SOFT_DELETED: u32 = 40405;
    /// The version was soft-deleted already.
    pub const VERSION_SOFT_DELETED: u32 = 40406;
    /// A permanent delete of a version not soft-deleted first.
    pub const VERSION_NOT_SOFT_DELETED: u32 = 40407;
    /// The subject has no compatibility level of its own.
    pub const SUBJECT_LEVEL_COMPATIBILITY_NOT_CONFIGURED: u32 = 40408;
    /// The schema is incompatible with the subject's earlier versions.
    pub const INCOMPATIBLE_SCHEMA: u32 = 409;
    /// The schema does not parse or does not resolve.
    pub const INVALID_SCHEMA: u32 = 42201;
    /// A version number that is not a positive integer or `latest`.
    pub const INVALID_VERSION: u32 = 42202;
    /// An unknown compatibility level.
    pub const INVALID_COMPATIBILITY_LEVEL: u32 = 42203;
    /// The registry failed (its store, or the external registry).
    pub const STORE_ERROR: u32 = 50001;
}

fn err<T>(code: u32, message: impl Into<String>) -> Result<T> {
    Err(Error::Registry(RegistryError::new(code, message)))
}

/// The kinds of schema a registry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SchemaType {
    Avro,
    Protobuf,
    Json,
}

impl SchemaType {
    /// Every type, as `/schemas/types` lists them.
    pub const ALL: [SchemaType; 3] = [SchemaType::Json, SchemaType::Protobuf, SchemaType::Avro];

    /// The name in the REST API (`AVRO`, `PROTOBUF`, `JSON`).
    pub fn name(self) -> &'static str {
        match self {
            SchemaType::Avro => "AVRO",
            SchemaType::Protobuf => "PROTOBUF",
            SchemaType::Json => "JSON",
        }
    }

    /// The type named (case-insensitively); an absent `schemaType` is AVRO.
    pub fn parse(name: &str) -> Result<SchemaType> {
        match name.to_ascii_uppercase().as_str() {
            "AVRO" => Ok(SchemaType::Avro),
            "PROTOBUF" => Ok(SchemaType::Protobuf),
            "JSON" => Ok(SchemaType::Json),
            _ => err(codes::INVALID_SCHEMA, format!("Invalid schema type {name}")),
        }
    }
}

/// A reference from a schema to another subject's version: `name` is how
/// the referring schema names it (an Avro full name, a Protobuf import
/// path, a JSON `$ref`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SchemaReference {
    pub name: String,
    pub subject: String,
    pub version: i32,
}

/// A schema as a client submits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    pub schema_type: SchemaType,
    /// The schema's text (Avro or JSON Schema JSON, Protobuf source).
    pub schema: String,
    pub references: Vec<SchemaReference>,
}

impl Schema {
    /// An AVRO schema without references.
    pub fn avro(text: impl Into<String>) -> Schema {
        Schema {
            schema_type: SchemaType::Avro,
            schema: text.into(),
            references: Vec::new(),
        }
    }
}

/// A version of a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredSchema {
    pub subject: String,
    pub version: i32,
    pub id: u32,
    pub schema: Schema,
}

/// Which version of a subject: a number, or the latest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSpec {
    Latest,
    Number(i32),
}

impl VersionSpec {
    /// `latest`, `-1` or a positive number, as the REST API's paths hold it.
    pub fn parse(text: &str) -> Result<VersionSpec> {
        if text.eq_ignore_ascii_case("latest") || text == "-1" {
            return Ok(VersionSpec::Latest);
        }
        match text.parse::<i32>() {
            Ok(n) if n > 0 => Ok(VersionSpec::Number(n)),
            _ => err(
                codes::INVALID_VERSION,
                format!(
                    "The specified version '{text}' is not a valid version id. Allowed values are \
                     between [1, 2^31-1] and the string \"latest\""
                ),
            ),
        }
    }
}

/// Confluent's compatibility levels: which earlier versions a new one is
/// checked against (the latest, or all: `_TRANSITIVE`) and in which
/// direction (BACKWARD: the new schema reads data written with the old;
/// FORWARD: the old reads the new; FULL: both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compatibility {
    None,
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
}

impl Compatibility {
    pub fn name(self) -> &'static str {
        match self {
            Compatibility::None => "NONE",
            Compatibility::Backward => "BACKWARD",
            Compatibility::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Compatibility::Forward => "FORWARD",
            Compatibility::ForwardTransitive => "FORWARD_TRANSITIVE",
            Compatibility::Full => "FULL",
            Compatibility::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    pub fn parse(text: &str) -> Result<Compatibility> {
        Ok(match text.to_ascii_uppercase().as_str() {
            "NONE" => Compatibility::None,
            "BACKWARD" => Compatibility::Backward,
            "BACKWARD_TRANSITIVE" => Compatibility::BackwardTransitive,
            "FORWARD" => Compatibility::Forward,
            "FORWARD_TRANSITIVE" => Compatibility::ForwardTransitive,
            "FULL" => Compatibility::Full,
            "FULL_TRANSITIVE" => Compatibility::FullTransitive,
            _ => {
                return err(
                    codes::INVALID_COMPATIBILITY_LEVEL,
                    format!("Invalid compatibility level: {text}"),
                )
            }
        })
    }

    /// Whether every earlier version is checked, not only the latest.
    fn transitive(self) -> bool {
        matches!(
            self,
            Compatibility::BackwardTransitive
                | Compatibility::ForwardTransitive
                | Compatibility::FullTransitive
        )
    }

    /// (the new schema must read the old ones, the old must read the new).
    fn directions(self) -> (bool, bool) {
        match self {
            Compatibility::None => (false, false),
            Compatibility::Backward | Compatibility::BackwardTransitive => (true, false),
            Compatibility::Forward | Compatibility::ForwardTransitive => (false, true),
            Compatibility::Full | Compatibility::FullTransitive => (true, true),
        }
    }
}

/// The registry, local or remote. Every method may be called from any
/// thread. Errors a client can cause are [`Error::Registry`] with
/// Confluent's code.
pub trait SchemaRegistry: Send + Sync {
    /// The subjects, sorted; with `deleted`, soft-deleted ones too.
    fn subjects(&self, deleted: bool) -> Result<Vec<String>>;
    /// A subject's version numbers, ascending (40401 when it has none).
    fn versions(&self, subject: &str, deleted: bool) -> Result<Vec<i32>>;
    /// One version of a subject (40401, 40402).
    fn version(
        &self,
        subject: &str,
        version: VersionSpec,
        deleted: bool,
    ) -> Result<RegisteredSchema>;
    /// Registers `schema` under `subject`, unless the subject already has a
    /// version with the same schema: returns the schema's global id (the
    /// same id wherever the same schema is registered). Fails with 42201
    /// for an invalid schema and 409 when the subject's compatibility level
    /// rejects it.
    fn register(&self, subject: &str, schema: &Schema) -> Result<u32>;
    /// The subject's version holding `schema` (40401, 40403).
    fn lookup(&self, subject: &str, schema: &Schema, deleted: bool) -> Result<RegisteredSchema>;
    /// The schema with a global id (40403).
    fn schema_by_id(&self, id: u32) -> Result<Schema>;
    /// The (subject, version)s holding the schema with a global id.
    fn id_versions(&self, id: u32) -> Result<Vec<(String, i32)>>;
    /// Deletes a subject's versions (soft, or for good with `permanent`
    /// after a soft delete): returns the version numbers deleted.
    fn delete_subject(&self, subject: &str, permanent: bool) -> Result<Vec<i32>>;
    /// Deletes one version (soft, or for good with `permanent` after a soft
    /// delete): returns its number.
    fn delete_version(&self, subject: &str, version: VersionSpec, permanent: bool) -> Result<i32>;
    /// The compatibility level of a subject (None without one of its own)
    /// or, with `subject` None, the global one.
    fn compatibility(&self, subject: Option<&str>) -> Result<Option<Compatibility>>;
    /// Sets the level of a subject, or the global one.
    fn set_compatibility(&self, subject: Option<&str>, level: Compatibility) -> Result<()>;
    /// Removes a subject's own level (it then follows the global one), or
    /// resets the global level to BACKWARD; returns the level it had.
    fn delete_compatibility(&self, subject: Option<&str>) -> Result<Compatibility>;
    /// Whether `schema` could be registered as far as compatibility goes:
    /// checked against `version` (or, with None, against the versions the
    /// subject's level names). Returns the reasons it is not compatible
    /// (empty when it is).
    fn check_compatibility(
        &self,
        subject: &str,
        version: Option<VersionSpec>,
        schema: &Schema,
    ) -> Result<Vec<String>>;
}

/// The registry the engine's properties ask for: the external one at
/// `ksql.schema.registry.url` (with `ksql.schema.registry.basic.auth.user.info`
/// as `user:password`), else the local one in `log`'s `_schemas` topic.
/// The registry the engine's properties name, opened on first use and
/// shared by everything that asks (statements, connectors' converters).
pub struct LazyRegistry {
    properties: BTreeMap<String, String>,
    log: Arc<dyn Log>,
    slot: parking_lot::Mutex<Option<Arc<dyn SchemaRegistry>>>,
}

impl LazyRegistry {
    pub fn new(properties: BTreeMap<String, String>, log: Arc<dyn Log>) -> LazyRegistry {
        LazyRegistry {
            properties,
            log,
            slot: parking_lot::Mutex::new(None),
        }
    }

    /// The registry, opened now if it was not yet.
    pub fn get(&self) -> Result<Arc<dyn SchemaRegistry>> {
        let mut slot = self.slot.lock();
        if let Some(r) = slot.as_ref() {
            return Ok(r.clone());
        }
        let r = open_registry(&self.properties, self.log.clone())?;
        *slot = Some(r.clone());
        Ok(r)
    }
}

pub fn open_registry(
    properties: &BTreeMap<String, String>,
    log: Arc<dyn Log>,
) -> Result<Arc<dyn SchemaRegistry>> {
    match properties.get("ksql.schema.registry.url") {
        Some(url) if !url.trim().is_empty() => {
            let auth = properties
                .get("ksql.schema.registry.basic.auth.user.info")
                .filter(|s| !s.is_empty())
                .map(String::as_str);
            Ok(Arc::new(HttpRegistry::new(url, auth)?))
        }
        _ => Ok(Arc::new(LocalRegistry::open(log)?)),
    }
}

/// Checks that `schema` parses as its type says, with `referenced` (the
/// texts of the schemas its references name, in order); returns its
/// canonical text, the form two equal schemas share.
fn canonical(schema: &Schema, referenced: &[String]) -> Result<String> {
    match schema.schema_type {
        SchemaType::Avro => avro::canonical(&schema.schema, referenced)
            .map_err(|m| Error::Registry(RegistryError::new(codes::INVALID_SCHEMA, m))),
        SchemaType::Json => {
            let parsed: serde_json::Value = serde_json::from_str(&schema.schema).map_err(|e| {
                Error::Registry(RegistryError::new(
                    codes::INVALID_SCHEMA,
                    format!("Invalid schema: {e}"),
                ))
            })?;
            if !(parsed.is_object() || parsed.is_boolean()) {
                return err(
                    codes::INVALID_SCHEMA,
                    "Invalid schema: a JSON schema is an object or a boolean",
                );
            }
            Ok(parsed.to_string())
        }
        SchemaType::Protobuf => {
            check_proto_shape(&schema.schema).map_err(|m| {
                Error::Registry(RegistryError::new(
                    codes::INVALID_SCHEMA,
                    format!("Invalid schema: {m}"),
                ))
            })?;
            Ok(schema.schema.trim().to_string())
        }
    }
}

/// The checks a `.proto` text gets here (Sluice has no Protobuf schema
/// parser yet): balanced braces outside strings and comments, and at least
/// one `message` or `enum` declaration.
fn check_proto_shape(text: &str) -> std::result::Result<(), String> {
    let mut depth = 0i64;
    let mut chars = text.chars().peekable();
    let mut words = String::new();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                for d in chars.by_ref() {
                    if d == c {
                        break;
                    }
                }
                words.push(' ');
            }
            '/' if chars.peek() == Some(&'/') => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
                words.push(' ');
            }
            '{' => {
                depth += 1;
                words.push(' ');
            }
            '}' => {
                depth -= 1;
                if depth < 0 {
                    return Err("unbalanced '}'".into());
                }
                words.push(' ');
            }
            c => words.push(c),
        }
    }
    if depth != 0 {
        return Err("unbalanced '{'".into());
    }
    if !words
        .split_whitespace()
        .any(|w| w == "message" || w == "enum")
    {
        return Err("no message or enum is declared".into());
    }
    Ok(())
}

/// The reasons `new` is not compatible with `old` under `level` (AVRO
/// only: other types are checked for validity, not compatibility).
fn incompatibilities(
    level: Compatibility,
    new: (&Schema, &[String]),
    old: (&Schema, &[String]),
) -> Result<Vec<String>> {
    if new.0.schema_type != old.0.schema_type {
        return Ok(vec![format!(
            "Incompatible schema type: {} is not {}",
            new.0.schema_type.name(),
            old.0.schema_type.name()
        )]);
    }
    if new.0.schema_type != SchemaType::Avro {
        return Ok(Vec::new());
    }
    let parse = |s: &Schema, refs: &[String]| {
        avro::AvroSchema::parse(&s.schema, refs)
            .map_err(|m| Error::Registry(RegistryError::new(codes::INVALID_SCHEMA, m)))
    };
    let (new_schema, old_schema) = (parse(new.0, new.1)?, parse(old.0, old.1)?);
    let (backward, forward) = level.directions();
    let mut out = Vec::new();
    if backward {
        out.extend(
            avro::can_read(&new_schema, &old_schema)
                .into_iter()
                .map(|m| {
                    format!("{m} (the new schema cannot read data written with an earlier one)")
                }),
        );
    }
    if forward {
        out.extend(
            avro::can_read(&old_schema, &new_schema)
                .into_iter()
                .map(|m| {
                    format!("{m} (an earlier schema cannot read data written with the new one)")
                }),
        );
    }
    Ok(out)
}
