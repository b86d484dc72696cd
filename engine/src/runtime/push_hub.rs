//! Shared reading for push queries, as ksqlDB's scalable push queries do:
//! the push queries over one source share a *feed* that reads each new
//! record of the source's topic from the Log once and decodes it once;
//! every query then applies only its own operators (filter, projection,
//! ...), LIMIT and output columns to the decoded rows.
//!
//! - **Reading**: a feed keeps the decoded records of every partition from
//!   where it started (the topic's end when the first query opened it) in
//!   a bounded window. A query positioned before that window (`earliest`,
//!   or one that fell far behind) reads and decodes those records itself,
//!   as an unshared push query would, until it reaches the window.
//! - **Waking**: one *pump* thread per feed waits on the Log for appends to
//!   its topic, decodes them into the window and wakes exactly the queries that sleep
//!   waiting for rows (each parked on its own thread), instead of every
//!   query waiting on the Log, which wakes every waiter of every topic on
//!   every append. While records keep coming, the pump wakes sleepers at
//!   most once per [`LINGER`], so a burst reaches each query in a few
//!   batches rather than in one wake-up per record; the first record after
//!   a quiet spell wakes them at once.
//! - **Helping**: a query that finds the Log ahead of the feed decodes the
//!   new records into the feed itself (unless another thread is doing so),
//!   so rows never wait for the pump's thread to be scheduled. (Only where
//!   the Log announces every append, as the embedded log does; over Kafka,
//!   where other processes append unannounced, the pump polls and reads.)
//! - **Errors**: a record that cannot be decoded is kept in the window as
//!   its error, and every query reading it writes it to the processing log
//!   under its own id, as each would when reading alone.
//!
//! A feed ends (its pump exits) when its last query is dropped.

use super::processing_log;
use super::spec::PlanInput;
use super::task::TransientTask;
use crate::catalog::Source;
use crate::error::Result;
use crate::log::{Log, StoredRecord};
use crate::operators::{Context, ProcessingError, Row, SourceDecoder};
use crate::results::{PushRow, PushSource, ResultColumn};
use crate::types::Value;
use parking_lot::{Mutex, RwLock};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::Thread;
use std::time::{Duration, Instant};

/// Records read from one partition per step (as a task reads).
const BATCH: usize = 500;
/// Decoded records a feed keeps, over all its partitions.
const WINDOW: usize = 32_768;
/// While records keep arriving, sleeping queries are woken at most once
/// per this much time for each query of the feed (a round of wake-ups
/// costs each query a switch of threads, some microseconds: this keeps
/// them to a fraction of a core), up to [`MAX_LINGER`]. The first record
/// after a quiet spell wakes them at once.
const LINGER_PER_QUERY: Duration = Duration::from_micros(20);
const MAX_LINGER: Duration = Duration::from_millis(5);
/// How often an idle pump checks whether its queries are gone.
const IDLE_CHECK: Duration = Duration::from_millis(100);

/// A record as the feed keeps it: its offset and its row, or why it could
/// not be decoded.
type Decoded = (i64, std::result::Result<Row, ProcessingError>);

/// The feeds of an engine, by what their records decode to.
#[derive(Default)]
pub struct PushHub {
    feeds: Arc<Mutex<HashMap<String, Arc<Feed>>>>,
}

/// What identifies a feed: a source's topic and everything its records
/// are decoded with. Only a query reading one source directly (no join,
/// no re-keying) can share one.
pub struct FeedKey {
    key: String,
    source: Source,
}

impl FeedKey {
    /// The feed a query over `inputs` can share, if any.
    pub fn of(inputs: &[PlanInput], joined: bool) -> Option<FeedKey> {
        let [input] = inputs else {
            return None;
        };
        if joined || input.repartition.is_some() {
            return None;
        }
        let s = &input.source;
        Some(FeedKey {
            key: format!(
                "{:?}",
                (
                    &s.topic,
                    &s.schema,
                    &s.key_format,
                    &s.value_format,
                    &s.timestamp,
                    &s.window
                )
            ),
            source: s.clone(),
        })
    }
}

impl PushHub {
    /// Opens a push query that reads through the shared feed of `key`
    /// (started if none runs). `task`'s flow must be the one input `key`
    /// was taken from, its reader positioned where the query starts.
    pub fn subscribe(
        &self,
        log: Arc<dyn Log>,
        key: FeedKey,
        task: TransientTask,
        columns: Vec<ResultColumn>,
    ) -> Result<SharedPush> {
        let signal = Arc::new(Signal::default());
        let mut feeds = self.feeds.lock();
        // A feed that failed, or that started before the topic had every
        // partition the query reads, is left to its queries: a new one
        // takes its place.
        let partitions = task.flow.inputs[0]
            .reader
            .positions
            .iter()
            .map(|(p, _)| *p as usize + 1)
            .max()
            .unwrap_or(0);
        let usable =
            |f: &&Arc<Feed>| !f.broken.load(Ordering::SeqCst) && f.ends.len() >= partitions;
        let feed = match feeds.get(&key.key).filter(usable) {
            Some(feed) => feed.clone(),
            None => {
                let feed = Arc::new(Feed::open(log.as_ref(), &key.source)?);
                feeds.insert(key.key.clone(), feed.clone());
                let (pump_feed, pump_log, hub) = (feed.clone(), log.clone(), self.feeds.clone());
                let pump_key = key.key.clone();
                let name = format!("sluice-push-{}", key.source.topic);
                let started = std::thread::Builder::new()
                    .name(name)
                    .stack_size(super::THREAD_STACK)
                    .spawn(move || loop {
                        pump(&pump_feed, pump_log.as_ref());
                        // Queries register under the hub's lock: checked under
                        // it, no query can join a feed whose pump has ended.
                        let mut feeds = hub.lock();
                        let broken = pump_feed.broken.load(Ordering::SeqCst);
                        if !broken && !pump_feed.subscribers.lock().is_empty() {
                            continue;
                        }
                        if feeds
                            .get(&pump_key)
                            .is_some_and(|f| Arc::ptr_eq(f, &pump_feed))
                        {
                            feeds.remove(&pump_key);
                        }
                        return;
                    });
                if let Err(e) = started {
                    feeds.remove(&key.key);
                    return Err(crate::Error::log(format!(
                        "could not start a push query's reader: {e}"
                    )));
                }
                feed
            }
        };
        // Registered under the hub's lock: a pump exits only once it has
        // no queries, checked under the same lock.
        feed.subscribers.lock().push(signal.clone());
        drop(feeds);
        Ok(SharedPush {
            log,
            feed,
            signal,
            task,
            columns,
            hub: self.feeds.clone(),
        })
    }
}

/// A query's parking spot: the pump wakes it when rows arrive while it
/// waits.
#[derive(Default)]
struct Signal {
    waiting: AtomicBool,
    thread: Mutex<Option<Thread>>,
}

/// One partition's window of decoded records.
struct Window {
    /// The first offset the window holds (everything from here to `end`).
    base: i64,
    /// Chunks of consecutive records, oldest first.
    chunks: VecDeque<Arc<Vec<Decoded>>>,
    /// How many records the chunks hold.
    len: usize,
}

/// The shared reading of one source's topic.
struct Feed {
    topic: String,
    /// Held while reading and decoding into the windows.
    decoder: Mutex<SourceDecoder>,
    /// Per partition.
    windows: RwLock<Vec<Window>>,
    /// Per partition: the next offset the feed will read (the window's
    /// end), readable without a lock.
    ends: Vec<AtomicI64>,
    /// Grows whenever records join a window.
    published: AtomicU64,
    /// The Log's `append_seq` before the last read that found every
    /// partition's end: nothing is new to the feed until it grows.
    checked: AtomicU64,
    /// Set when the feed failed to read: its queries read on their own.
    broken: AtomicBool,
    /// The Log announces every append (`Log::announces_appends`): reading
    /// can wait for `append_seq` to grow, and queries may read for the
    /// feed. Otherwise only the pump reads, polling.
    announced: bool,
    subscribers: Mutex<Vec<Arc<Signal>>>,
    /// Records a partition's window keeps.
    window_cap: usize,
}

impl Feed {
    fn open(log: &dyn Log, source: &Source) -> Result<Feed> {
        let info = log
            .describe_topic(&source.topic)?
            .ok_or_else(|| crate::Error::log(format!("Topic {} does not exist", source.topic)))?;
        let mut windows = Vec::new();
        let mut ends = Vec::new();
        for p in 0..info.partitions {
            let end = log.end_offset(&source.topic, p)?;
            windows.push(Window {
                base: end,
                chunks: VecDeque::new(),
                len: 0,
            });
            ends.push(AtomicI64::new(end));
        }
        Ok(Feed {
            topic: source.topic.clone(),
            decoder: Mutex::new(SourceDecoder::try_new(source)?),
            window_cap: (WINDOW / windows.len().max(1)).max(BATCH),
            windows: RwLock::new(windows),
            ends,
            published: AtomicU64::new(0),
            checked: AtomicU64::new(0),
            broken: AtomicBool::new(false),
            announced: log.announces_appends(),
            subscribers: Mutex::new(Vec::new()),
        })
    }

    /// True when the Log holds records the feed has not read (never known
    /// without announced appends).
    fn behind(&self, log: &dyn Log) -> bool {
        self.announced && log.append_seq() > self.checked.load(Ordering::SeqCst)
    }

    /// Reads and decodes what is new on the Log into the windows; returns
    /// how many records were added. With `wait` false, returns 0 at once
    /// when another thread is reading.
    fn advance(&self, log: &dyn Log, wait: bool) -> Result<usize> {
        let decoder = if wait {
            self.decoder.lock()
        } else {
            match self.decoder.try_lock() {
                Some(d) => d,
                None => return Ok(0),
            }
        };
        let seq = log.append_seq();
        if self.announced && seq <= self.checked.load(Ordering::SeqCst) {
            return Ok(0);
        }
        let mut added = 0;
        let mut complete = true;
        for (p, end) in self.ends.iter().enumerate() {
            let from = end.load(Ordering::SeqCst);
            let batch = log.read(&self.topic, p as i32, from, BATCH)?;
            let Some(last) = batch.last() else {
                continue;
            };
            complete &= batch.len() < BATCH;
            let next = last.offset + 1;
            let decoded: Vec<Decoded> = batch
                .iter()
                .map(|r| (r.offset, decoder.decode(r)))
                .collect();
            added += decoded.len();
            let mut windows = self.windows.write();
            let w = &mut windows[p];
            w.len += decoded.len();
            w.chunks.push_back(Arc::new(decoded));
            while w.len > self.window_cap && w.chunks.len() > 1 {
                let old = w.chunks.pop_front().expect("more than one chunk");
                w.len -= old.len();
                w.base = w.chunks[0][0].0;
            }
            drop(windows);
            end.store(next, Ordering::SeqCst);
        }
        if complete {
            self.checked.fetch_max(seq, Ordering::SeqCst);
        }
        if added > 0 {
            self.published.fetch_add(1, Ordering::SeqCst);
        }
        Ok(added)
    }

    /// Wakes the queries that wait for rows.
    fn wake(&self) {
        for s in self.subscribers.lock().iter() {
            if s.waiting.swap(false, Ordering::SeqCst) {
                if let Some(t) = s.thread.lock().as_ref() {
                    t.unpark();
                }
            }
        }
    }
}

/// A feed's thread: waits for appends, reads them into the feed and wakes
/// the queries waiting; returns once the feed has no queries or failed.
fn pump(feed: &Feed, log: &dyn Log) {
    let mut woken = 0u64;
    let mut last_wake: Option<Instant> = None;
    loop {
        let seen = log.topic_append_seq(&feed.topic);
        if let Err(e) = feed.advance(log, true) {
            // The queries read on their own from now on, and so meet the
            // error themselves.
            tracing::warn!("a push query's shared reader stopped: {e}");
            feed.broken.store(true, Ordering::SeqCst);
            feed.wake();
            return;
        }
        let published = feed.published.load(Ordering::SeqCst);
        if published != woken {
            if let Some(since) = last_wake.map(|t| t.elapsed()) {
                let linger = linger(feed.subscribers.lock().len());
                if since < linger {
                    std::thread::sleep(linger - since);
                    continue;
                }
            }
            woken = published;
            feed.wake();
            last_wake = Some(Instant::now());
            continue;
        }
        if feed.subscribers.lock().is_empty() {
            return;
        }
        log.wait_for_topic_append(&feed.topic, seen, IDLE_CHECK);
    }
}

/// How long after a round of wake-ups the next one may come.
fn linger(queries: usize) -> Duration {
    (LINGER_PER_QUERY * queries.min(u32::MAX as usize) as u32).min(MAX_LINGER)
}

/// A push query reading through a shared feed.
pub struct SharedPush {
    log: Arc<dyn Log>,
    feed: Arc<Feed>,
    signal: Arc<Signal>,
    /// The query: its reader's positions say where it is, its decoder reads
    /// what the feed no longer (or does not yet) hold.
    task: TransientTask,
    columns: Vec<ResultColumn>,
    hub: Arc<Mutex<HashMap<String, Arc<Feed>>>>,
}

impl SharedPush {
    /// Takes the rows available now through the query's operators; returns
    /// how many records were read, and the query's output rows (None once
    /// its LIMIT was reached).
    fn step(&mut self) -> Result<(usize, Option<Vec<PushRow>>)> {
        let task = &mut self.task;
        if task.finished() {
            return Ok((0, None));
        }
        let log = self.log.as_ref();
        let feed = &*self.feed;
        let broken = feed.broken.load(Ordering::SeqCst);
        if !broken && feed.behind(log) {
            feed.advance(log, false)?;
        }
        let mut ctx = Context::default();
        let mut rows = Vec::new();
        let mut read = 0;
        let input = &mut task.flow.inputs[0];
        let topic = &input.reader.topic;
        for (p, pos) in input.reader.positions.iter_mut() {
            let shared = if broken {
                None
            } else {
                usize::try_from(*p).ok().and_then(|i| {
                    let windows = feed.windows.read();
                    let w = windows.get(i)?;
                    (*pos >= w.base).then(|| {
                        // The chunks holding records from `pos` on.
                        let first = w
                            .chunks
                            .partition_point(|c| c.last().is_some_and(|(o, _)| *o < *pos));
                        w.chunks.range(first..).cloned().collect::<Vec<_>>()
                    })
                })
            };
            match shared {
                Some(chunks) => {
                    let mut n = 0;
                    'chunks: for chunk in &chunks {
                        let from = chunk.partition_point(|(o, _)| *o < *pos);
                        for (offset, decoded) in &chunk[from..] {
                            if n == BATCH {
                                break 'chunks;
                            }
                            match decoded {
                                Ok(row) => rows.push(row.clone()),
                                Err(e) => ctx.errors.push(e.clone()),
                            }
                            *pos = offset + 1;
                            n += 1;
                        }
                    }
                    read += n;
                }
                None => {
                    // Before the feed's window (or without a feed): read
                    // and decode alone, as an unshared query does.
                    let batch: Vec<StoredRecord> = log.read(topic, *p, *pos, BATCH)?;
                    if let Some(last) = batch.last() {
                        *pos = last.offset + 1;
                    }
                    read += batch.len();
                    for r in &batch {
                        match input.pipeline.decoder.decode(r) {
                            Ok(row) => rows.push(row),
                            Err(e) => ctx.errors.push(e),
                        }
                    }
                }
            }
        }
        if read == 0 {
            return Ok((0, Some(Vec::new())));
        }
        // As `Flow::step` runs a single input: its operators, then the
        // query's.
        for op in input
            .pipeline
            .operators
            .iter_mut()
            .chain(task.flow.operators.iter_mut())
        {
            if rows.is_empty() {
                break;
            }
            rows = op.process(rows, &mut ctx)?;
        }
        for e in &ctx.errors {
            processing_log::write(log, &task.query_id, e)?;
        }
        // As `TransientTask::poll` hands rows out.
        let mut out = Vec::with_capacity(rows.len());
        let leading = task.output.iter().enumerate().all(|(i, o)| i == *o);
        for row in rows {
            if task.finished() {
                break;
            }
            let values = if leading {
                // The row's first columns, in order: the row's own list.
                let mut values = row.values;
                values.resize(task.output.len(), Value::Null);
                values
            } else {
                task.output
                    .iter()
                    .map(|i| row.values.get(*i).cloned().unwrap_or_default())
                    .collect()
            };
            out.push(PushRow {
                values,
                tombstone: row.tombstone,
            });
            task.emitted += 1;
        }
        Ok((read, Some(out)))
    }

    /// True when the feed holds records past the query's position.
    fn has_news(&self) -> bool {
        self.task.flow.inputs[0]
            .reader
            .positions
            .iter()
            .any(|(p, pos)| {
                usize::try_from(*p)
                    .ok()
                    .and_then(|i| self.feed.ends.get(i))
                    .is_some_and(|end| end.load(Ordering::SeqCst) > *pos)
            })
    }

    /// Sleeps until the pump says rows arrived (or, without a working
    /// feed, until the Log's `append_seq` passes `seen`), or `deadline`.
    fn wait(&self, seen: u64, deadline: Instant) {
        if self.feed.broken.load(Ordering::SeqCst) {
            let now = Instant::now();
            if now < deadline {
                self.log.wait_for_append(seen, deadline - now);
            }
            return;
        }
        {
            let mut t = self.signal.thread.lock();
            if t.as_ref()
                .is_none_or(|t| t.id() != std::thread::current().id())
            {
                *t = Some(std::thread::current());
            }
        }
        self.signal.waiting.store(true, Ordering::SeqCst);
        // Checked after announcing the wait: the pump publishes before it
        // looks for waiters, so one of the two sees the other.
        if !self.has_news() {
            let now = Instant::now();
            if now < deadline {
                std::thread::park_timeout(deadline - now);
            }
        }
        self.signal.waiting.store(false, Ordering::SeqCst);
    }
}

impl PushSource for SharedPush {
    fn query_id(&self) -> String {
        self.task.query_id.clone()
    }

    fn columns(&self) -> Vec<ResultColumn> {
        self.columns.clone()
    }

    fn next_rows(&mut self, timeout: Duration) -> Result<Option<Vec<PushRow>>> {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = self.log.append_seq();
            let (read, rows) = self.step()?;
            match rows {
                None => return Ok(None),
                Some(rows) if !rows.is_empty() => return Ok(Some(rows)),
                Some(_) => {}
            }
            if Instant::now() >= deadline {
                return Ok(Some(Vec::new()));
            }
            // When everything read was filtered out, there may be more.
            if read == 0 {
                self.wait(seen, deadline);
            }
        }
    }
}

impl Drop for SharedPush {
    fn drop(&mut self) {
        // Under the hub's lock, as queries register.
        let _hub = self.hub.lock();
        self.feed
            .subscribers
            .lock()
            .retain(|s| !Arc::ptr_eq(s, &self.signal));
    }
}
