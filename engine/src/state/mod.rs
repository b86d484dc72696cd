//! Local state stores: where a stateful operator keeps its state between
//! restarts. Each task's store is a key-value store on disk (`kv`, fjall)
//! with a bounded in-memory cache in front (`cache`); every write of the
//! store also records the changelog checkpoint it reflects, so a restart
//! opens the store and replays only the changelog after that checkpoint.
//! The changelog stays the source of truth: a store that is missing,
//! damaged or does not match its changelog is rebuilt from it.
//!
//! Layout: `<data-dir>/state/<query-id>/<store>-<partition>/`. Over Kafka
//! the root is `ksql.streams.state.dir` (or a temporary directory removed
//! when the engine closes); an engine without a data directory keeps state
//! in memory only.

pub mod cache;
pub mod kv;

pub use cache::{CachedStore, Codec};
pub use kv::{KvStore, StoreMeta};

use std::path::PathBuf;
use std::sync::Arc;

/// The default bound of a store's cache, in entries (the property
/// [`CACHE_ENTRIES_PROPERTY`] sets it).
pub const DEFAULT_CACHE_ENTRIES: usize = 100_000;

/// The property bounding each store's cache, in entries.
pub const CACHE_ENTRIES_PROPERTY: &str = "ksql.sluice.state.cache.max.entries";

/// ksqlDB's property naming the state directory (used over Kafka).
pub const STATE_DIR_PROPERTY: &str = "ksql.streams.state.dir";

/// Where an engine's stores live.
#[derive(Debug, Clone)]
pub enum StateRoot {
    /// A directory on disk (the data directory's `state/`, or the state
    /// directory over Kafka).
    Dir(PathBuf),
    /// A temporary directory that is removed when the last handle to it
    /// goes (over Kafka without a state directory).
    Temp(Arc<tempfile::TempDir>),
    /// Nothing on disk: state lives in memory (an engine without a data
    /// directory).
    Memory,
}

/// How a query's stores are opened.
#[derive(Debug, Clone)]
pub struct StateConfig {
    pub root: StateRoot,
    /// The bound of each store's cache, in entries.
    pub cache_entries: usize,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            root: StateRoot::Memory,
            cache_entries: DEFAULT_CACHE_ENTRIES,
        }
    }
}

/// Where one query's stores live.
#[derive(Debug, Clone)]
pub struct StateScope {
    pub config: StateConfig,
    pub query_id: String,
}

/// A store's place: its directory (None in memory) and cache bound.
#[derive(Debug, Clone)]
pub struct StoreLocation {
    pub dir: Option<PathBuf>,
    pub cache_entries: usize,
}

impl StateScope {
    /// The location of the store `name` of partition `partition`.
    pub fn location(&self, name: &str, partition: i32) -> StoreLocation {
        let base = match &self.config.root {
            StateRoot::Dir(d) => Some(d.clone()),
            StateRoot::Temp(t) => Some(t.path().to_path_buf()),
            StateRoot::Memory => None,
        };
        StoreLocation {
            dir: base.map(|b| {
                b.join(file_name(&self.query_id))
                    .join(format!("{}-{partition}", file_name(name)))
            }),
            cache_entries: match self.config.root {
                // Nothing to fall back on: everything stays in the cache.
                StateRoot::Memory => usize::MAX,
                _ => self.config.cache_entries,
            },
        }
    }

    /// The directory of all of the query's stores (None in memory).
    pub fn query_dir(&self) -> Option<PathBuf> {
        match &self.config.root {
            StateRoot::Dir(d) => Some(d.join(file_name(&self.query_id))),
            StateRoot::Temp(t) => Some(t.path().join(file_name(&self.query_id))),
            StateRoot::Memory => None,
        }
    }
}

/// A name made safe as one path component.
fn file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
