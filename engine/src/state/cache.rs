//! The cache in front of a store: decoded values of the keys in use, and
//! the changes not yet written (write-back). Changes reach the store only
//! at a commit, together with the changelog checkpoint they reflect, so
//! the store never holds a change its changelog could lack at that
//! checkpoint. Writes are batched: a commit writes when enough changes
//! wait, when the last write is old, or when forced; one that does not
//! write leaves the changes for the next (a restart replays the changelog
//! after the store's last write). The cache holds at most its bound in
//! entries after a commit, evicting the least recently used clean ones;
//! between commits it also holds the keys changed since.

use super::kv::{KvStore, StoreMeta};
use crate::error::Result;
use std::time::{Duration, Instant};

/// How often a store is written at least (while it changes).
const WRITE_INTERVAL: Duration = Duration::from_secs(2);

/// Turns a store's values into bytes and back.
pub trait Codec<V>: Send {
    fn encode(&self, value: &V) -> Vec<u8>;
    fn decode(&self, bytes: &[u8]) -> Result<V>;
}

/// A cached key: its value (None when absent or deleted), whether it
/// changed since the last write, and when it was last used.
#[derive(Debug)]
struct Slot<V> {
    value: Option<V>,
    dirty: bool,
    used: u64,
}

/// A store with a bounded cache in front.
pub struct CachedStore<V, C: Codec<V>> {
    kv: KvStore,
    codec: C,
    slots: hashbrown::HashMap<Vec<u8>, Slot<V>>,
    /// Keys changed since the last write (each slot flagged `dirty`).
    dirty: Vec<Vec<u8>>,
    capacity: usize,
    /// No key above this one is in the store (None: not known), so a
    /// key above it is not looked up there: new time windows, whose keys
    /// sort after every stored one, cost no read.
    stored_max: Option<Vec<u8>>,
    /// False for a store in memory without a bound: everything stays in
    /// the cache, and nothing is tracked for writing back.
    write_back: bool,
    /// Counts commits: a slot's `used` is the commit count when it was
    /// last used.
    epoch: u64,
    last_write: Instant,
    /// The metadata of the last commit, and whether the contents changed
    /// since: when they did not, what is cached may be written under it.
    committed: Option<StoreMeta>,
    changed: bool,
}

impl<V, C: Codec<V>> CachedStore<V, C> {
    pub fn new(kv: KvStore, codec: C, capacity: usize) -> Self {
        let stored_max = match kv.last_key() {
            Ok(max) => Some(max.unwrap_or_default()),
            Err(e) => {
                tracing::warn!("reading a state store: {e}");
                None
            }
        };
        CachedStore {
            stored_max,
            write_back: !(kv.in_memory() && capacity == usize::MAX),
            kv,
            codec,
            slots: hashbrown::HashMap::new(),
            dirty: Vec::new(),
            capacity: capacity.max(1),
            epoch: 0,
            last_write: Instant::now(),
            committed: None,
            changed: false,
        }
    }

    /// The codec.
    pub fn codec(&self) -> &C {
        &self.codec
    }

    /// The metadata of the store's last write.
    pub fn meta(&self) -> Result<Option<StoreMeta>> {
        self.kv.meta()
    }

    /// How many keys are cached.
    pub fn cached(&self) -> usize {
        self.slots.len()
    }

    /// The slot of `key`, read from the store on a miss.
    fn slot(&mut self, key: &[u8]) -> Result<&mut Slot<V>> {
        let epoch = self.epoch;
        if !self.slots.contains_key(key) {
            let above = self
                .stored_max
                .as_ref()
                .is_some_and(|max| key > max.as_slice());
            let stored = if above { None } else { self.kv.get(key)? };
            let value = match stored {
                Some(bytes) => Some(self.codec.decode(&bytes)?),
                None => None,
            };
            self.slots.insert(
                key.to_vec(),
                Slot {
                    value,
                    dirty: false,
                    used: epoch,
                },
            );
        }
        let slot = self
            .slots
            .get_mut(key)
            .expect("the slot was inserted above");
        slot.used = epoch;
        Ok(slot)
    }

    fn mark(&mut self, key: &[u8]) {
        self.changed = true;
        if !self.write_back {
            return;
        }
        if let Some(slot) = self.slots.get_mut(key) {
            if !slot.dirty {
                slot.dirty = true;
                self.dirty.push(key.to_vec());
            }
        }
    }

    /// The value of `key`.
    pub fn get(&mut self, key: &[u8]) -> Result<Option<&V>> {
        Ok(self.slot(key)?.value.as_ref())
    }

    /// The value of `key`, to change (it counts as changed).
    pub fn get_mut(&mut self, key: &[u8]) -> Result<Option<&mut V>> {
        self.slot(key)?;
        self.mark(key);
        Ok(self.slots.get_mut(key).and_then(|s| s.value.as_mut()))
    }

    /// The value of `key`, made with `new` when there is none, to change.
    pub fn get_or_insert_with(&mut self, key: &[u8], new: impl FnOnce() -> V) -> Result<&mut V> {
        if !self.slots.contains_key(key) {
            self.slot(key)?;
        }
        self.changed = true;
        // The hot path: two lookups for a cached key.
        let slot = self.slots.get_mut(key).expect("the slot exists");
        slot.used = self.epoch;
        if !slot.dirty && self.write_back {
            slot.dirty = true;
            self.dirty.push(key.to_vec());
        }
        Ok(slot.value.get_or_insert_with(new))
    }

    /// Sets the value of `key`.
    pub fn put(&mut self, key: &[u8], value: V) -> Result<()> {
        if !self.slots.contains_key(key) {
            // No need to read what is replaced.
            self.slots.insert(
                key.to_vec(),
                Slot {
                    value: None,
                    dirty: false,
                    used: self.epoch,
                },
            );
        }
        self.mark(key);
        if let Some(slot) = self.slots.get_mut(key) {
            slot.value = Some(value);
            slot.used = self.epoch;
        }
        Ok(())
    }

    /// Deletes `key`; returns its value.
    pub fn remove(&mut self, key: &[u8]) -> Result<Option<V>> {
        if !self.write_back {
            // Nothing was ever written back: nothing to delete there.
            self.changed = true;
            return Ok(self.slots.remove(key).and_then(|s| s.value));
        }
        let old = self.slot(key)?.value.take();
        self.mark(key);
        Ok(old)
    }

    /// The keys in `[from, to)` that have values, in key order.
    pub fn keys_in(&mut self, from: &[u8], to: Option<&[u8]>) -> Result<Vec<Vec<u8>>> {
        let in_range = |k: &[u8]| k >= from && to.is_none_or(|t| k < t);
        let mut keys = Vec::new();
        let slots = &self.slots;
        self.kv.scan(from, to, |k, _| {
            if !slots.contains_key(k) {
                keys.push(k.to_vec());
            }
            Ok(())
        })?;
        keys.extend(
            self.slots
                .iter()
                .filter(|(k, s)| s.value.is_some() && in_range(k))
                .map(|(k, _)| k.clone()),
        );
        keys.sort_unstable();
        Ok(keys)
    }

    /// The entries in `[from, to)`, in key order (read without being
    /// cached).
    pub fn scan(&mut self, from: &[u8], to: Option<&[u8]>) -> Result<Vec<(Vec<u8>, V)>>
    where
        V: Clone,
    {
        let in_range = |k: &[u8]| k >= from && to.is_none_or(|t| k < t);
        let mut out = Vec::new();
        let (slots, codec) = (&self.slots, &self.codec);
        self.kv.scan(from, to, |k, v| {
            if !slots.contains_key(k) {
                out.push((k.to_vec(), codec.decode(v)?));
            }
            Ok(())
        })?;
        for (k, s) in &self.slots {
            if let (Some(v), true) = (&s.value, in_range(k)) {
                out.push((k.clone(), v.clone()));
            }
        }
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Writes the changed keys under `meta`.
    fn write(&mut self, meta: &StoreMeta) -> Result<()> {
        let dirty = std::mem::take(&mut self.dirty);
        let mut changes = Vec::with_capacity(dirty.len());
        for key in dirty {
            if let Some(slot) = self.slots.get_mut(&key) {
                slot.dirty = false;
                let value = slot.value.as_ref().map(|v| self.codec.encode(v));
                if let Some(max) = self.stored_max.as_mut() {
                    if value.is_some() && key > *max {
                        max.clone_from(&key);
                    }
                }
                changes.push((key, value));
            }
        }
        self.kv.write(changes, meta)?;
        self.last_write = Instant::now();
        Ok(())
    }

    /// Notes that the contents now equal the changelog checkpoint `meta`
    /// describes; writes them when enough changed, when the last write is
    /// old, or when `force`d; then evicts down to the cache's bound.
    pub fn commit(&mut self, meta: StoreMeta, force: bool) -> Result<()> {
        self.epoch += 1;
        self.changed = false;
        let clean = self.slots.len().saturating_sub(self.dirty.len());
        let over = self.slots.len().saturating_sub(self.capacity);
        if !self.write_back {
            // Everything stays in the cache: nothing to write back.
        } else if !self.dirty.is_empty()
            && (force
                || self.dirty.len() >= (self.capacity / 2).max(1)
                || self.last_write.elapsed() >= WRITE_INTERVAL
                || clean < over)
        {
            self.write(&meta)?;
        } else if force {
            self.kv.write(Vec::new(), &meta)?;
        }
        self.committed = Some(meta);
        self.evict();
        Ok(())
    }

    /// Writes the changes so far under no checkpoint (while a restore
    /// replays a long changelog: the store is rebuilt again if the restore
    /// does not finish), keeping the cache within its bound.
    pub fn spill(&mut self) -> Result<()> {
        if self.dirty.len() < (self.capacity / 2).max(1) {
            return Ok(());
        }
        self.write(&StoreMeta::default())?;
        self.evict();
        Ok(())
    }

    /// Evicts the least recently used clean slots down to 90% of the bound.
    fn evict(&mut self) {
        if self.slots.len() <= self.capacity {
            return;
        }
        let target = self.capacity - self.capacity / 10;
        let mut remove = self.slots.len().saturating_sub(target);
        let mut ages: Vec<u64> = self
            .slots
            .values()
            .filter(|s| !s.dirty)
            .map(|s| s.used)
            .collect();
        if ages.is_empty() || remove == 0 {
            return;
        }
        let nth = remove.min(ages.len()) - 1;
        let (_, cutoff, _) = ages.select_nth_unstable(nth);
        let cutoff = *cutoff;
        self.slots.retain(|_, s| {
            if remove > 0 && !s.dirty && s.used <= cutoff {
                remove -= 1;
                false
            } else {
                true
            }
        });
    }

    /// Drops everything, in the store and the cache.
    pub fn clear(&mut self) -> Result<()> {
        self.slots.clear();
        self.dirty.clear();
        self.committed = None;
        self.kv.clear()?;
        self.stored_max = Some(Vec::new());
        Ok(())
    }

    /// Writes what the last commit described, if nothing changed since
    /// (when the operator goes away, so a restart replays nothing).
    pub fn close(&mut self) -> Result<()> {
        if self.changed || self.dirty.is_empty() {
            return Ok(());
        }
        match self.committed.clone() {
            Some(meta) => self.write(&meta),
            None => Ok(()),
        }
    }
}

impl<V, C: Codec<V>> Drop for CachedStore<V, C> {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::warn!("closing a state store: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values are strings.
    struct Text;

    impl Codec<String> for Text {
        fn encode(&self, v: &String) -> Vec<u8> {
            v.clone().into_bytes()
        }
        fn decode(&self, b: &[u8]) -> Result<String> {
            Ok(String::from_utf8_lossy(b).into_owned())
        }
    }

    fn meta(offset: i64) -> StoreMeta {
        StoreMeta {
            changelog_offset: Some(offset),
            positions: vec![("in".into(), 0, offset)],
            extra: serde_json::Value::Null,
        }
    }

    fn reopen(dir: &std::path::Path) -> KvStore {
        KvStore::open(Some(dir)).unwrap()
    }

    #[test]
    fn the_store_holds_what_a_checkpoint_describes_and_never_more() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = CachedStore::new(reopen(dir.path()), Text, 100);
            store.put(b"a", "1".into()).unwrap();
            // Not written yet (few changes, recent write): still cached.
            store.commit(meta(7), false).unwrap();
            store.put(b"b", "2".into()).unwrap();
            // Closed after a change no checkpoint describes: the change
            // must not reach the store, nor what came before without it.
        }
        let kv = reopen(dir.path());
        assert_eq!(kv.get(b"b").unwrap(), None);
        assert_eq!(kv.meta().unwrap(), None);
        drop(kv);
        {
            let mut store = CachedStore::new(reopen(dir.path()), Text, 100);
            store.put(b"a", "1".into()).unwrap();
            store.commit(meta(9), false).unwrap();
            // Closed with nothing changed since the commit: written under it.
        }
        let kv = reopen(dir.path());
        assert_eq!(kv.get(b"a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(kv.meta().unwrap(), Some(meta(9)));
    }

    #[test]
    fn the_cache_stays_within_its_bound_and_reads_back_what_it_evicted() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = CachedStore::new(reopen(dir.path()), Text, 10);
        for round in 0..3 {
            for i in 0..100 {
                let key = format!("k{i:03}");
                let v = store
                    .get_or_insert_with(key.as_bytes(), String::new)
                    .unwrap();
                v.push_str(&round.to_string());
            }
            store.commit(meta(round), false).unwrap();
            assert!(store.cached() <= 10, "{}", store.cached());
        }
        assert_eq!(store.get(b"k042").unwrap().map(String::as_str), Some("012"));
        store.remove(b"k042").unwrap();
        let keys = store.keys_in(b"k04", Some(b"k05")).unwrap();
        assert_eq!(keys.len(), 9);
        assert!(!keys.contains(&b"k042".to_vec()));
        let scanned = store.scan(b"k098", None).unwrap();
        assert_eq!(
            scanned,
            vec![
                (b"k098".to_vec(), "012".to_string()),
                (b"k099".to_vec(), "012".to_string())
            ]
        );
    }
}
