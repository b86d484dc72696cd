//! The local registry: every change is a record of the compacted
//! `_schemas` topic on the engine's Log, and the registry's state is what
//! replaying that topic builds. Each call first reads what was appended
//! since (by this process or, on Kafka, another server of the service), so
//! servers sharing the topic see one registry.
//!
//! Records, keyed by JSON as Confluent's registry keys them:
//! * `{"keytype":"SCHEMA","subject":S,"version":V,"magic":1}` ->
//!   `{"subject","version","id","schemaType","schema","references","deleted"}`
//!   (a soft delete rewrites it with `deleted: true`; a tombstone is a
//!   permanent delete);
//! * `{"keytype":"CONFIG","subject":S or null,"magic":0}` ->
//!   `{"compatibilityLevel":L}` (a tombstone removes a subject's level).
//!
//! Writes are serialized by a lock in this process; two servers on Kafka
//! registering at the same moment could hand out the same new id (Confluent
//! elects a leader for that; Sluice does not yet).

use super::state::{Entry, State};
use super::{
    canonical, codes, err, Compatibility, RegisteredSchema, Schema, SchemaReference,
    SchemaRegistry, VersionSpec,
};
use crate::error::{Error, Result};
use crate::log::{ensure_topic, Log, Record, TopicConfig};
use parking_lot::Mutex;
use serde_json::{json, Value as Json};
use std::sync::Arc;

/// The topic the local registry keeps its records in.
pub const SCHEMAS_TOPIC: &str = "_schemas";

/// Records read from the topic per call to the log.
const READ_BATCH: usize = 1000;

/// The registry kept in the Log's `_schemas` topic.
pub struct LocalRegistry {
    log: Arc<dyn Log>,
    state: Mutex<State>,
}

fn store_error(e: impl std::fmt::Display) -> Error {
    Error::Registry(super::RegistryError::new(
        codes::STORE_ERROR,
        format!("Error in the schema store: {e}"),
    ))
}

fn references_json(refs: &[SchemaReference]) -> Json {
    Json::Array(
        refs.iter()
            .map(|r| json!({"name": r.name, "subject": r.subject, "version": r.version}))
            .collect(),
    )
}

impl LocalRegistry {
    /// Opens the registry in `log`, creating its topic when missing and
    /// replaying it.
    pub fn open(log: Arc<dyn Log>) -> Result<LocalRegistry> {
        ensure_topic(
            log.as_ref(),
            SCHEMAS_TOPIC,
            &TopicConfig {
                partitions: 1,
                replicas: 1,
                compact: true,
            },
        )?;
        let registry = LocalRegistry {
            log,
            state: Mutex::new(State::default()),
        };
        registry.catch_up(&mut registry.state.lock())?;
        Ok(registry)
    }

    /// Applies every record appended since the last call.
    fn catch_up(&self, state: &mut State) -> Result<()> {
        let start = self.log.start_offset(SCHEMAS_TOPIC, 0)?;
        state.position = state.position.max(start);
        loop {
            let batch = self
                .log
                .read(SCHEMAS_TOPIC, 0, state.position, READ_BATCH)?;
            let Some(last) = batch.last() else {
                return Ok(());
            };
            state.position = last.offset + 1;
            for r in &batch {
                let Some(key) = r.record.key.as_deref() else {
                    continue;
                };
                let Ok(key) = serde_json::from_slice::<Json>(key) else {
                    tracing::warn!(
                        offset = r.offset,
                        "skipping a _schemas record whose key is not JSON"
                    );
                    continue;
                };
                let value = match r
                    .record
                    .value
                    .as_deref()
                    .map(serde_json::from_slice::<Json>)
                {
                    Some(Ok(v)) => Some(v),
                    Some(Err(_)) => {
                        tracing::warn!(
                            offset = r.offset,
                            "skipping a _schemas value that is not JSON"
                        );
                        continue;
                    }
                    None => None,
                };
                state.apply(&key, value.as_ref());
            }
        }
    }

    /// Appends a record and applies it (and anything before it).
    fn write(&self, state: &mut State, key: Json, value: Option<Json>) -> Result<()> {
        let record = Record {
            key: Some(key.to_string().into_bytes()),
            value: value.map(|v| v.to_string().into_bytes()),
            timestamp: chrono::Utc::now().timestamp_millis(),
            headers: Vec::new(),
        };
        self.log
            .append_written(SCHEMAS_TOPIC, Some(0), record)
            .map_err(store_error)?;
        self.catch_up(state)
    }

    fn write_version(
        &self,
        state: &mut State,
        subject: &str,
        version: i32,
        entry: Option<&Entry>,
    ) -> Result<()> {
        let key = json!({"keytype": "SCHEMA", "subject": subject, "version": version, "magic": 1});
        let value = entry.map(|e| {
            json!({
                "subject": subject,
                "version": version,
                "id": e.id,
                "schemaType": e.schema.schema_type.name(),
                "schema": e.schema.schema,
                "references": references_json(&e.schema.references),
                "deleted": e.deleted,
            })
        });
        self.write(state, key, value)
    }

    fn locked(&self) -> Result<parking_lot::MutexGuard<'_, State>> {
        let mut state = self.state.lock();
        self.catch_up(&mut state)?;
        Ok(state)
    }

    /// The schema with its text made canonical.
    fn canonical_schema(state: &State, schema: &Schema) -> Result<Schema> {
        let referenced = state.referenced(&schema.references, 0)?;
        Ok(Schema {
            schema_type: schema.schema_type,
            schema: canonical(schema, &referenced)?,
            references: schema.references.clone(),
        })
    }
}

impl SchemaRegistry for LocalRegistry {
    fn subjects(&self, deleted: bool) -> Result<Vec<String>> {
        let state = self.locked()?;
        Ok(state
            .subjects
            .keys()
            .filter(|s| !state.live(s, deleted).is_empty())
            .cloned()
            .collect())
    }

    fn versions(&self, subject: &str, deleted: bool) -> Result<Vec<i32>> {
        let state = self.locked()?;
        let live: Vec<i32> = state
            .live(subject, deleted)
            .iter()
            .map(|(v, _)| *v)
            .collect();
        if live.is_empty() {
            return err(
                codes::SUBJECT_NOT_FOUND,
                format!("Subject '{subject}' not found."),
            );
        }
        Ok(live)
    }

    fn version(
        &self,
        subject: &str,
        version: VersionSpec,
        deleted: bool,
    ) -> Result<RegisteredSchema> {
        let state = self.locked()?;
        let (n, e) = state.find(subject, version, deleted)?;
        Ok(RegisteredSchema {
            subject: subject.to_string(),
            version: n,
            id: e.id,
            schema: e.schema.clone(),
        })
    }

    fn register(&self, subject: &str, schema: &Schema) -> Result<u32> {
        let mut state = self.locked()?;
        let schema = Self::canonical_schema(&state, schema)?;
        let live = state.live(subject, false);
        if let Some((_, e)) = live.iter().find(|(_, e)| e.schema == schema) {
            return Ok(e.id);
        }
        let level = state.level(subject);
        let against: Vec<&Entry> = if level.transitive() {
            live.iter().map(|(_, e)| *e).collect()
        } else {
            live.last().map(|(_, e)| *e).into_iter().collect()
        };
        let reasons = state.reasons(level, &schema, &against)?;
        if !reasons.is_empty() {
            return err(
                codes::INCOMPATIBLE_SCHEMA,
                format!(
                    "Schema being registered is incompatible with an earlier schema for subject \
                     \"{subject}\", details: [{}]",
                    reasons.join(", ")
                ),
            );
        }
        let key = (
            schema.schema_type,
            schema.schema.clone(),
            schema.references.clone(),
        );
        let id = state.ids.get(&key).copied().unwrap_or(state.max_id + 1);
        let version = state
            .subjects
            .get(subject)
            .and_then(|v| v.keys().next_back())
            .map_or(1, |v| v + 1);
        let entry = Entry {
            id,
            schema,
            deleted: false,
        };
        self.write_version(&mut state, subject, version, Some(&entry))?;
        tracing::debug!(subject, version, id, "registered a schema");
        Ok(id)
    }

    fn lookup(&self, subject: &str, schema: &Schema, deleted: bool) -> Result<RegisteredSchema> {
        let state = self.locked()?;
        let live = state.live(subject, deleted);
        if live.is_empty() {
            return err(
                codes::SUBJECT_NOT_FOUND,
                format!("Subject '{subject}' not found."),
            );
        }
        let schema = Self::canonical_schema(&state, schema)?;
        live.iter()
            .find(|(_, e)| e.schema == schema)
            .map(|(n, e)| RegisteredSchema {
                subject: subject.to_string(),
                version: *n,
                id: e.id,
                schema: e.schema.clone(),
            })
            .ok_or_else(|| {
                Error::Registry(super::RegistryError::new(
                    codes::SCHEMA_NOT_FOUND,
                    "Schema not found",
                ))
            })
    }

    fn schema_by_id(&self, id: u32) -> Result<Schema> {
        let state = self.locked()?;
        state
            .subjects
            .values()
            .flat_map(|v| v.values())
            .find(|e| e.id == id)
            .map(|e| e.schema.clone())
            .ok_or_else(|| {
                Error::Registry(super::RegistryError::new(
                    codes::SCHEMA_NOT_FOUND,
                    format!("Schema {id} not found"),
                ))
            })
    }

    fn id_versions(&self, id: u32) -> Result<Vec<(String, i32)>> {
        let state = self.locked()?;
        let out: Vec<(String, i32)> = state
            .subjects
            .iter()
            .flat_map(|(s, v)| {
                v.iter()
                    .filter(|(_, e)| e.id == id && !e.deleted)
                    .map(move |(n, _)| (s.clone(), *n))
            })
            .collect();
        if out.is_empty()
            && !state
                .subjects
                .values()
                .flat_map(|v| v.values())
                .any(|e| e.id == id)
        {
            return err(codes::SCHEMA_NOT_FOUND, format!("Schema {id} not found"));
        }
        Ok(out)
    }

    fn delete_subject(&self, subject: &str, permanent: bool) -> Result<Vec<i32>> {
        let mut state = self.locked()?;
        let all: Vec<(i32, Entry)> = state
            .live(subject, true)
            .into_iter()
            .map(|(n, e)| (n, e.clone()))
            .collect();
        if all.is_empty() {
            return err(
                codes::SUBJECT_NOT_FOUND,
                format!("Subject '{subject}' not found."),
            );
        }
        let live = all.iter().any(|(_, e)| !e.deleted);
        if permanent {
            if live {
                return err(
                    codes::SUBJECT_NOT_SOFT_DELETED,
                    format!(
                        "Subject '{subject}' was not deleted first before being permanently \
                         deleted"
                    ),
                );
            }
            for (n, _) in &all {
                self.write_version(&mut state, subject, *n, None)?;
            }
            if state.configs.contains_key(subject) {
                let key = json!({"keytype": "CONFIG", "subject": subject, "magic": 0});
                self.write(&mut state, key, None)?;
            }
            return Ok(all.iter().map(|(n, _)| *n).collect());
        }
        if !live {
            return err(
                codes::SUBJECT_SOFT_DELETED,
                format!(
                    "Subject '{subject}' was soft deleted. Set permanent=true to delete \
                     permanently"
                ),
            );
        }
        let mut out = Vec::new();
        for (n, mut e) in all.into_iter().filter(|(_, e)| !e.deleted) {
            e.deleted = true;
            self.write_version(&mut state, subject, n, Some(&e))?;
            out.push(n);
        }
        Ok(out)
    }

    fn delete_version(&self, subject: &str, version: VersionSpec, permanent: bool) -> Result<i32> {
        let mut state = self.locked()?;
        let (n, entry) = {
            // `latest` names the latest live version; a number may name a
            // soft-deleted one.
            let (n, e) = state.find(subject, version, version != VersionSpec::Latest)?;
            (n, e.clone())
        };
        if permanent {
            if !entry.deleted {
                return err(
                    codes::VERSION_NOT_SOFT_DELETED,
                    format!(
                        "Subject '{subject}' Version {n} was not deleted first before being \
                         permanently deleted"
                    ),
                );
            }
            self.write_version(&mut state, subject, n, None)?;
            return Ok(n);
        }
        if entry.deleted {
            return err(
                codes::VERSION_SOFT_DELETED,
                format!(
                    "Subject '{subject}' Version {n} was soft deleted. Set permanent=true to \
                     delete permanently"
                ),
            );
        }
        let deleted = Entry {
            deleted: true,
            ..entry
        };
        self.write_version(&mut state, subject, n, Some(&deleted))?;
        Ok(n)
    }

    fn compatibility(&self, subject: Option<&str>) -> Result<Option<Compatibility>> {
        let state = self.locked()?;
        Ok(match subject {
            Some(s) => state.configs.get(s).copied(),
            None => Some(state.global.unwrap_or(Compatibility::Backward)),
        })
    }

    fn set_compatibility(&self, subject: Option<&str>, level: Compatibility) -> Result<()> {
        let mut state = self.locked()?;
        let key = json!({"keytype": "CONFIG", "subject": subject, "magic": 0});
        self.write(
            &mut state,
            key,
            Some(json!({"compatibilityLevel": level.name()})),
        )
    }

    fn delete_compatibility(&self, subject: Option<&str>) -> Result<Compatibility> {
        let mut state = self.locked()?;
        let had = match subject {
            Some(s) => state.configs.get(s).copied().ok_or_else(|| {
                Error::Registry(super::RegistryError::new(
                    codes::SUBJECT_NOT_FOUND,
                    format!("Subject '{s}' not found."),
                ))
            })?,
            None => state.global.unwrap_or(Compatibility::Backward),
        };
        let key = json!({"keytype": "CONFIG", "subject": subject, "magic": 0});
        self.write(&mut state, key, None)?;
        Ok(had)
    }

    fn check_compatibility(
        &self,
        subject: &str,
        version: Option<VersionSpec>,
        schema: &Schema,
    ) -> Result<Vec<String>> {
        let state = self.locked()?;
        let schema = Self::canonical_schema(&state, schema)?;
        let level = state.level(subject);
        let live = state.live(subject, false);
        let against: Vec<&Entry> = match version {
            Some(VersionSpec::Latest) if live.is_empty() => Vec::new(),
            Some(spec) => vec![state.find(subject, spec, false)?.1],
            None if level.transitive() => live.iter().map(|(_, e)| *e).collect(),
            None => live.last().map(|(_, e)| *e).into_iter().collect(),
        };
        state.reasons(level, &schema, &against)
    }
}
