//! How the aggregate operator's state comes back on start and is kept on
//! commits: the local store is opened; when the checkpoint it recorded is
//! still in the changelog only the changelog after it is replayed (usually
//! nothing), otherwise the store is cleared and the whole changelog is;
//! either way only up to the changelog's last checkpoint, changes after it
//! (a step that never completed) being overwritten with the restored
//! values. Commits hand the store the changelog checkpoint just written.

use super::state::{split_changelog_key, start_bytes, Group};
use super::{memory_store, AggregateOperator, WindowAssigner};
use crate::error::Result;
use crate::log::Log;
use crate::operators::checkpoint::{self, Positions};
use crate::state::{Codec, KvStore, StoreMeta};

impl AggregateOperator {
    /// Whether the store holds a list per key (sessions, or hopping
    /// windows' slices) rather than one group per key and window.
    fn sessioned(&self) -> bool {
        matches!(self.window, Some(WindowAssigner::Session { .. })) || self.slice.is_some()
    }

    /// Changelog records the last restore read (all of the changelog when
    /// the local store could not be used; what followed its checkpoint
    /// otherwise).
    pub fn changelog_records_read(&self) -> usize {
        self.changelog_records_read
    }

    /// Opens the operator's store at its place in the query's scope
    /// (stays in memory without one).
    fn open_store(&mut self, topic: &str, partition: i32) -> Result<()> {
        let Some(scope) = &self.scope else {
            return Ok(());
        };
        let location = scope.location(topic, partition);
        let cap = location.cache_entries;
        // A store opened before is closed first (one handle per directory).
        if self.sessioned() {
            let codec = self.sessions.codec().clone();
            self.sessions = memory_store(codec.clone());
            let kv = KvStore::open_or_reset(location.dir.as_deref())?;
            self.sessions = crate::state::CachedStore::new(kv, codec, cap);
        } else {
            let codec = self.groups.codec().clone();
            self.groups = memory_store(codec.clone());
            let kv = KvStore::open_or_reset(location.dir.as_deref())?;
            self.groups = crate::state::CachedStore::new(kv, codec, cap);
        }
        Ok(())
    }

    fn store_meta(&self) -> Result<Option<StoreMeta>> {
        if self.sessioned() {
            self.sessions.meta()
        } else {
            self.groups.meta()
        }
    }

    fn clear_store(&mut self) -> Result<()> {
        if self.sessioned() {
            self.sessions.clear()
        } else {
            self.groups.clear()
        }
    }

    /// Writes the store under `meta` (when `force`d, or when it is time).
    fn commit_store(&mut self, meta: StoreMeta, force: bool) -> Result<()> {
        if self.sessioned() {
            self.sessions.commit(meta, force)
        } else {
            self.groups.commit(meta, force)
        }
    }

    fn meta(&self, changelog_offset: Option<i64>, positions: Positions) -> StoreMeta {
        StoreMeta {
            changelog_offset,
            positions,
            extra: serde_json::json!({ "stream_time": self.stream_time }),
        }
    }

    /// Hands the store the checkpoint a commit just wrote to the
    /// changelog (`checkpoints`: each changelog's checkpoint offset, none
    /// when they are not known).
    pub(super) fn commit_stores(
        &mut self,
        checkpoints: &[(String, i64)],
        positions: &Positions,
    ) -> Result<()> {
        let Some(topic) = &self.changelog else {
            return Ok(());
        };
        let offset = checkpoints
            .iter()
            .find(|(t, _)| t == topic)
            .map(|(_, o)| *o);
        let meta = self.meta(offset, positions.clone());
        self.commit_store(meta, false)
    }

    /// Applies one changelog record (its latest value) to the store.
    fn replay(&mut self, id: &[u8], value: Option<&[u8]>) -> Result<()> {
        let windowed = self.window.is_some();
        let (kid, start) = split_changelog_key(id, windowed)?;
        if self.sessioned() {
            let start = start.unwrap_or(0);
            let mut list = self.sessions.remove(kid)?.unwrap_or_default();
            list.retain(|g| g.window.map(|w| w.start) != Some(start));
            if let Some(bytes) = value {
                let g = self.groups.codec().decode(bytes)?;
                if let (Some(len), Some(w)) = (self.slice, g.window) {
                    if w.end - w.start != len {
                        return Err(crate::error::Error::format(format!(
                            "the changelog holds hopping windows, where this query keeps slices of {len} ms: it was written by an earlier version of Sluice; recreate the query to rebuild its state"
                        )));
                    }
                }
                self.stream_time = self.stream_time.max(g.ts);
                list.push(g);
                list.sort_by_key(|g| g.window.map(|w| w.start).unwrap_or(0));
            }
            if !list.is_empty() {
                self.sessions.put(kid, list)?;
            }
            return self.sessions.spill();
        }
        let mut key = Vec::with_capacity(id.len() + 8);
        if let Some(start) = start {
            key.extend_from_slice(&start_bytes(start));
        }
        key.extend_from_slice(kid);
        match value {
            Some(bytes) => {
                let g = self.groups.codec().decode(bytes)?;
                self.stream_time = self.stream_time.max(g.ts);
                self.groups.put(&key, g)?;
            }
            None => {
                self.groups.remove(&key)?;
            }
        }
        self.groups.spill()
    }

    /// The changelog value of the group a changelog key names, as the
    /// store now holds it.
    fn changelog_value(&mut self, id: &[u8]) -> Result<Option<Vec<u8>>> {
        let windowed = self.window.is_some();
        let (kid, start) = split_changelog_key(id, windowed)?;
        let group: Option<Group> = if self.sessioned() {
            self.sessions.get(kid)?.and_then(|list| {
                list.iter()
                    .find(|g| g.window.map(|w| w.start) == start)
                    .cloned()
            })
        } else {
            let mut key = Vec::with_capacity(id.len() + 8);
            if let Some(start) = start {
                key.extend_from_slice(&start_bytes(start));
            }
            key.extend_from_slice(kid);
            self.groups.get(&key)?.cloned()
        };
        Ok(group.map(|g| self.groups.codec().encode(&g)))
    }

    /// Rebuilds state: the local store, caught up from the changelog.
    pub(super) fn restore_state(&mut self, log: &dyn Log) -> Result<()> {
        let Some(topic) = self.changelog.clone() else {
            return Ok(());
        };
        let Some(info) = log.describe_topic(&topic)? else {
            return Ok(());
        };
        // The store mirrors one changelog partition.
        let partition = match self.changelog_partition {
            Some(p) => Some(p),
            None if info.partitions == 1 => Some(0),
            None => None,
        };
        if let Some(p) = partition {
            self.open_store(&topic, p)?;
        }
        let mut from = 0;
        let mut base: Option<StoreMeta> = None;
        if let (Some(p), Some(meta)) = (partition, self.store_meta()?) {
            if let Some(offset) = meta.changelog_offset {
                if checkpoint::holds(log, &topic, p, offset, &meta.positions)? {
                    from = offset + 1;
                    base = Some(meta);
                }
            }
        }
        match &base {
            Some(meta) => {
                if let Some(t) = meta.extra.get("stream_time").and_then(|t| t.as_i64()) {
                    self.stream_time = self.stream_time.max(t);
                }
            }
            None => {
                // Missing, damaged, or not matching the changelog: the
                // whole changelog rebuilds it.
                self.clear_store()?;
            }
        }
        let mut restored = checkpoint::read_from(log, &topic, self.changelog_partition, from)?;
        if let (Some(meta), None) = (&base, &restored.checkpoint) {
            // No checkpoint after the store's: what follows it are the
            // changes of a step that never completed.
            restored
                .stale
                .extend(restored.latest.drain().map(|(k, _)| k));
            restored.checkpoint = Some(meta.positions.clone());
        }
        self.changelog_records_read = restored.records_read;
        let mut latest: Vec<(&Vec<u8>, &Option<Vec<u8>>)> = restored.latest.iter().collect();
        // Deletions and values of different keys commute; sorted for a
        // deterministic store.
        latest.sort_by(|a, b| a.0.cmp(b.0));
        for (id, value) in latest {
            self.replay(id, value.as_deref())?;
        }
        let repaired = checkpoint::repair(log, &topic, partition.unwrap_or(0), &restored, |id| {
            self.changelog_value(id)
        })?;
        self.checkpoint = restored
            .checkpoint
            .clone()
            .or_else(|| base.as_ref().map(|m| m.positions.clone()));
        let offset = repaired
            .or(restored.checkpoint_offset)
            .or_else(|| base.as_ref().and_then(|m| m.changelog_offset));
        let changed = base.is_none() || restored.records_read > 0;
        if changed {
            // Only a store that mirrors one partition can name its offset.
            let offset = partition.and(offset);
            let meta = self.meta(offset, self.checkpoint.clone().unwrap_or_default());
            self.commit_store(meta, true)?;
        }
        self.index_unemitted()?;
        tracing::debug!(
            "restored {topic}: {} changelog records read from offset {from}",
            restored.records_read
        );
        Ok(())
    }
}
