//! The local registry's state: what replaying the `_schemas` topic builds
//! (subjects, versions, ids, compatibility levels), and the look-ups and
//! checks over it that the registry's calls share.

use super::{
    codes, err, incompatibilities, Compatibility, RegistryError, Schema, SchemaReference,
    SchemaType, VersionSpec,
};
use crate::error::{Error, Result};
use serde_json::Value as Json;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) id: u32,
    pub(super) schema: Schema,
    pub(super) deleted: bool,
}

#[derive(Default)]
pub(super) struct State {
    /// subject -> version -> entry.
    pub(super) subjects: BTreeMap<String, BTreeMap<i32, Entry>>,
    /// (type, canonical text, references) -> id: the same schema gets the
    /// same id in every subject, and again after a permanent delete.
    pub(super) ids: HashMap<(SchemaType, String, Vec<SchemaReference>), u32>,
    pub(super) max_id: u32,
    pub(super) global: Option<Compatibility>,
    pub(super) configs: BTreeMap<String, Compatibility>,
    /// The next offset to read.
    pub(super) position: i64,
}

pub(super) fn references_from(json: Option<&Json>) -> Vec<SchemaReference> {
    json.and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| {
                    Some(SchemaReference {
                        name: r.get("name")?.as_str()?.to_string(),
                        subject: r.get("subject")?.as_str()?.to_string(),
                        version: i32::try_from(r.get("version")?.as_i64()?).ok()?,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

impl State {
    pub(super) fn apply(&mut self, key: &Json, value: Option<&Json>) {
        let subject = key
            .get("subject")
            .and_then(Json::as_str)
            .map(str::to_string);
        match key.get("keytype").and_then(Json::as_str) {
            Some("SCHEMA") => {
                let (Some(subject), Some(version)) = (
                    subject,
                    key.get("version")
                        .and_then(Json::as_i64)
                        .and_then(|v| i32::try_from(v).ok()),
                ) else {
                    tracing::warn!(%key, "skipping a malformed _schemas key");
                    return;
                };
                let Some(value) = value else {
                    if let Some(versions) = self.subjects.get_mut(&subject) {
                        versions.remove(&version);
                        if versions.is_empty() {
                            self.subjects.remove(&subject);
                        }
                    }
                    return;
                };
                let id = value
                    .get("id")
                    .and_then(Json::as_u64)
                    .and_then(|i| u32::try_from(i).ok());
                let text = value.get("schema").and_then(Json::as_str);
                let kind = value
                    .get("schemaType")
                    .and_then(Json::as_str)
                    .map_or(Ok(SchemaType::Avro), SchemaType::parse);
                let (Some(id), Some(text), Ok(schema_type)) = (id, text, kind) else {
                    tracing::warn!(%key, "skipping a malformed _schemas record");
                    return;
                };
                let schema = Schema {
                    schema_type,
                    schema: text.to_string(),
                    references: references_from(value.get("references")),
                };
                let deleted = value
                    .get("deleted")
                    .and_then(Json::as_bool)
                    .unwrap_or(false);
                self.max_id = self.max_id.max(id);
                self.ids
                    .entry((
                        schema_type,
                        schema.schema.clone(),
                        schema.references.clone(),
                    ))
                    .or_insert(id);
                self.subjects.entry(subject).or_default().insert(
                    version,
                    Entry {
                        id,
                        schema,
                        deleted,
                    },
                );
            }
            Some("CONFIG") => {
                let level = value
                    .and_then(|v| v.get("compatibilityLevel"))
                    .and_then(Json::as_str)
                    .and_then(|l| Compatibility::parse(l).ok());
                match (subject, level) {
                    (None, level) => self.global = level,
                    (Some(s), Some(level)) => {
                        self.configs.insert(s, level);
                    }
                    (Some(s), None) => {
                        self.configs.remove(&s);
                    }
                }
            }
            _ => tracing::debug!(%key, "skipping a _schemas record of another kind"),
        }
    }

    /// The subject's versions a caller sees.
    pub(super) fn live(&self, subject: &str, deleted: bool) -> Vec<(i32, &Entry)> {
        self.subjects
            .get(subject)
            .map(|v| {
                v.iter()
                    .filter(|(_, e)| deleted || !e.deleted)
                    .map(|(n, e)| (*n, e))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(super) fn find(
        &self,
        subject: &str,
        spec: VersionSpec,
        deleted: bool,
    ) -> Result<(i32, &Entry)> {
        let live = self.live(subject, deleted);
        if live.is_empty() {
            return err(
                codes::SUBJECT_NOT_FOUND,
                format!("Subject '{subject}' not found."),
            );
        }
        let found = match spec {
            VersionSpec::Latest => live.last().copied(),
            VersionSpec::Number(n) => live.into_iter().find(|(v, _)| *v == n),
        };
        found.ok_or_else(|| {
            Error::Registry(RegistryError::new(
                codes::VERSION_NOT_FOUND,
                format!("Version {} not found.", spec_text(spec)),
            ))
        })
    }

    /// The texts of the schemas `refs` name, transitively, each before the
    /// schemas that use it.
    pub(super) fn referenced(&self, refs: &[SchemaReference], depth: usize) -> Result<Vec<String>> {
        if depth > 32 {
            return err(
                codes::INVALID_SCHEMA,
                "Invalid schema: references nest too deep",
            );
        }
        let mut out = Vec::new();
        for r in refs {
            let (_, entry) = self
                .find(&r.subject, VersionSpec::Number(r.version), true)
                .map_err(|_| {
                    Error::Registry(RegistryError::new(
                        codes::INVALID_SCHEMA,
                        format!(
                            "Invalid schema: the reference {} (subject '{}', version {}) does \
                             not exist",
                            r.name, r.subject, r.version
                        ),
                    ))
                })?;
            out.extend(self.referenced(&entry.schema.references, depth + 1)?);
            out.push(entry.schema.schema.clone());
        }
        Ok(out)
    }

    pub(super) fn level(&self, subject: &str) -> Compatibility {
        self.configs
            .get(subject)
            .copied()
            .or(self.global)
            .unwrap_or(Compatibility::Backward)
    }

    /// Why `schema` may not join `subject` against `against` (the versions
    /// to compare with), under `level`.
    pub(super) fn reasons(
        &self,
        level: Compatibility,
        schema: &Schema,
        against: &[&Entry],
    ) -> Result<Vec<String>> {
        let new_refs = self.referenced(&schema.references, 0)?;
        let mut out = Vec::new();
        for old in against {
            let old_refs = self.referenced(&old.schema.references, 0)?;
            out.extend(incompatibilities(
                level,
                (schema, &new_refs),
                (&old.schema, &old_refs),
            )?);
        }
        Ok(out)
    }
}

pub(super) fn spec_text(spec: VersionSpec) -> String {
    match spec {
        VersionSpec::Latest => "latest".into(),
        VersionSpec::Number(n) => n.to_string(),
    }
}
