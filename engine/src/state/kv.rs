//! The key-value store under a cache: fjall (a pure-Rust LSM tree) in a
//! directory of its own, or an ordered map in memory. A write applies a
//! batch of changes and the store's metadata (the changelog checkpoint the
//! state reflects) atomically, in one write batch. Nothing is fsynced: the
//! changelog remains the source of truth, and a store that lost its last
//! writes is caught up from it.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The memtable bound of a store.
const MEMTABLE_BYTES: u64 = 8 << 20;

/// The key of the metadata among the data: one zero byte, before every
/// key a store holds (none is that short).
const META_KEY: &[u8] = b"\x00";

/// What a store's contents reflect.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreMeta {
    /// The offset, in the store's changelog partition, of the checkpoint
    /// record the contents equal; None when they match no checkpoint (a
    /// write in the middle of a restore, or under a Kafka transaction
    /// whose offsets are not known): such a store is rebuilt on restore.
    pub changelog_offset: Option<i64>,
    /// That checkpoint's input positions: (topic, partition, next offset).
    pub positions: Vec<(String, i32, i64)>,
    /// The operator's own values (e.g. its stream time).
    pub extra: serde_json::Value,
}

impl StoreMeta {
    fn encode(&self) -> Vec<u8> {
        let positions: Vec<serde_json::Value> = self
            .positions
            .iter()
            .map(|(t, p, o)| serde_json::json!([t, p, o]))
            .collect();
        serde_json::json!({
            "changelog_offset": self.changelog_offset,
            "positions": positions,
            "extra": self.extra,
        })
        .to_string()
        .into_bytes()
    }

    fn decode(bytes: &[u8]) -> Result<StoreMeta> {
        let v: serde_json::Value = serde_json::from_slice(bytes)?;
        let positions = v
            .get("positions")
            .and_then(|p| p.as_array())
            .ok_or_else(|| Error::format("state store metadata without positions"))?
            .iter()
            .map(|e| {
                match (
                    e.get(0).and_then(|x| x.as_str()),
                    e.get(1).and_then(|x| x.as_i64()),
                    e.get(2).and_then(|x| x.as_i64()),
                ) {
                    (Some(t), Some(p), Some(o)) => Ok((t.to_string(), p as i32, o)),
                    _ => Err(Error::format("bad position in state store metadata")),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(StoreMeta {
            changelog_offset: v.get("changelog_offset").and_then(|o| o.as_i64()),
            positions,
            extra: v.get("extra").cloned().unwrap_or(serde_json::Value::Null),
        })
    }
}

fn kv_error(dir: &Path, e: impl std::fmt::Display) -> Error {
    Error::log(format!("state store {}: {e}", dir.display()))
}

/// An ordered key-value store with metadata.
pub enum KvStore {
    Disk {
        dir: PathBuf,
        db: fjall::Database,
        data: fjall::Keyspace,
    },
    Memory {
        data: BTreeMap<Vec<u8>, Vec<u8>>,
        meta: Option<StoreMeta>,
    },
}

impl KvStore {
    /// Opens (or creates) the store in `dir`, or one in memory.
    pub fn open(dir: Option<&Path>) -> Result<KvStore> {
        let Some(dir) = dir else {
            return Ok(KvStore::Memory {
                data: BTreeMap::new(),
                meta: None,
            });
        };
        std::fs::create_dir_all(dir)?;
        let db = fjall::Database::builder(dir)
            .worker_threads(1)
            .cache_size(8 << 20)
            .open()
            .map_err(|e| kv_error(dir, e))?;
        // One keyspace (the metadata among the data), so that every flush
        // of its memtable lets the journal go; small memtables bound the
        // journal a store replays when it is opened again.
        let data = db
            .keyspace("data", || {
                fjall::KeyspaceCreateOptions::default().max_memtable_size(MEMTABLE_BYTES)
            })
            .map_err(|e| kv_error(dir, e))?;
        Ok(KvStore::Disk {
            dir: dir.to_path_buf(),
            db,
            data,
        })
    }

    /// Opens the store in `dir`; one that cannot be opened (damaged, or
    /// of another format) is removed and created afresh.
    pub fn open_or_reset(dir: Option<&Path>) -> Result<KvStore> {
        match KvStore::open(dir) {
            Ok(store) => Ok(store),
            Err(e) => {
                let Some(dir) = dir else { return Err(e) };
                tracing::warn!(
                    "{e}; the store is rebuilt from its changelog ({})",
                    dir.display()
                );
                std::fs::remove_dir_all(dir)?;
                KvStore::open(Some(dir))
            }
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self {
            KvStore::Disk { dir, data, .. } => Ok(data
                .get(key)
                .map_err(|e| kv_error(dir, e))?
                .map(|v| v.to_vec())),
            KvStore::Memory { data, .. } => Ok(data.get(key).cloned()),
        }
    }

    /// Calls `f` with every entry whose key is in `[from, to)` (to the end
    /// without `to`), in key order.
    pub fn scan(
        &self,
        from: &[u8],
        to: Option<&[u8]>,
        mut f: impl FnMut(&[u8], &[u8]) -> Result<()>,
    ) -> Result<()> {
        use std::ops::Bound;
        if to.is_some_and(|t| t <= from) {
            return Ok(());
        }
        let upper = match to {
            Some(t) => Bound::Excluded(t),
            None => Bound::Unbounded,
        };
        match self {
            KvStore::Disk { dir, data, .. } => {
                for guard in data.range::<&[u8], _>((Bound::Included(from), upper)) {
                    let (k, v) = guard.into_inner().map_err(|e| kv_error(dir, e))?;
                    if &*k != META_KEY {
                        f(&k, &v)?;
                    }
                }
            }
            KvStore::Memory { data, .. } => {
                for (k, v) in data.range::<[u8], _>((Bound::Included(from), upper)) {
                    f(k, v)?;
                }
            }
        }
        Ok(())
    }

    /// Applies `changes` (a value, or None to delete) and sets the
    /// metadata, atomically.
    pub fn write(
        &mut self,
        changes: impl IntoIterator<Item = (Vec<u8>, Option<Vec<u8>>)>,
        meta: &StoreMeta,
    ) -> Result<()> {
        match self {
            KvStore::Disk { dir, db, data } => {
                let mut batch = db.batch();
                for (k, v) in changes {
                    match v {
                        Some(v) => batch.insert(data, k, v),
                        None => batch.remove(data, k),
                    }
                }
                batch.insert(data, META_KEY, meta.encode());
                batch.commit().map_err(|e| kv_error(dir, e))
            }
            KvStore::Memory { data, meta: stored } => {
                for (k, v) in changes {
                    match v {
                        Some(v) => data.insert(k, v),
                        None => data.remove(&k),
                    };
                }
                *stored = Some(meta.clone());
                Ok(())
            }
        }
    }

    /// The metadata of the last write (None for a new store). Metadata
    /// that cannot be read counts as none: the store is then rebuilt.
    pub fn meta(&self) -> Result<Option<StoreMeta>> {
        match self {
            KvStore::Disk { dir, data, .. } => {
                let Some(bytes) = data.get(META_KEY).map_err(|e| kv_error(dir, e))? else {
                    return Ok(None);
                };
                match StoreMeta::decode(&bytes) {
                    Ok(m) => Ok(Some(m)),
                    Err(e) => {
                        tracing::warn!("state store {}: {e}", dir.display());
                        Ok(None)
                    }
                }
            }
            KvStore::Memory { meta, .. } => Ok(meta.clone()),
        }
    }

    /// Removes every entry and the metadata.
    pub fn clear(&mut self) -> Result<()> {
        match self {
            KvStore::Disk { dir, data, .. } => data.clear().map_err(|e| kv_error(dir, e)),
            KvStore::Memory { data, meta } => {
                data.clear();
                *meta = None;
                Ok(())
            }
        }
    }

    /// The largest key the store holds (None when empty).
    pub fn last_key(&self) -> Result<Option<Vec<u8>>> {
        match self {
            KvStore::Disk { dir, data, .. } => match data.last_key_value() {
                Some(guard) => {
                    let (k, _) = guard.into_inner().map_err(|e| kv_error(dir, e))?;
                    Ok(Some(k.to_vec()))
                }
                None => Ok(None),
            },
            KvStore::Memory { data, .. } => Ok(data.keys().next_back().cloned()),
        }
    }

    /// True when the store keeps nothing on disk.
    pub fn in_memory(&self) -> bool {
        matches!(self, KvStore::Memory { .. })
    }
}
