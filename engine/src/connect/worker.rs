//! Running one connector: a thread that starts its task, moves records
//! (source: poll, append with offsets, flush, commit; sink: read, put,
//! flush, commit the group's offsets) and keeps its state: RUNNING,
//! PAUSED, or FAILED with the error while it retries with backoff.

use super::config::ConnectorConfig;
use super::offsets::{self, Committed, RecordOffset};
use super::task::{Context, SinkTask, SourceTask};
use crate::error::{Error, Result};
use crate::log::{Log, Record};
use parking_lot::{Condvar, Mutex};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The first retry waits this long; each failure in a row doubles it.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A started task.
pub enum Task {
    Source(Box<dyn SourceTask>),
    Sink(Box<dyn SinkTask>),
}

/// Makes a connector's task from its configuration.
pub type TaskFactory = fn(&ConnectorConfig, &Context) -> Result<Task>;

/// What the owner asks of the thread.
#[derive(Debug, Default)]
struct Control {
    paused: bool,
    stop: bool,
    restart: bool,
}

/// What the thread reports.
#[derive(Debug, Clone)]
pub struct Status {
    /// "RUNNING", "PAUSED", "FAILED" or "UNASSIGNED" (not started yet).
    pub state: &'static str,
    pub trace: Option<String>,
    /// Failures in a row.
    pub attempts: u32,
    /// The last committed offset (source) or positions (sink), as JSON.
    pub offset: Option<String>,
}

/// The shared half of a running connector.
pub struct Shared {
    control: Mutex<Control>,
    wake: Condvar,
    status: Mutex<Status>,
    /// Records moved since the start in this process.
    pub records: AtomicU64,
}

impl Shared {
    pub fn status(&self) -> Status {
        self.status.lock().clone()
    }

    fn set(&self, state: &'static str, trace: Option<String>) {
        let mut s = self.status.lock();
        s.state = state;
        s.trace = trace;
    }

    /// Shows RUNNING, unless the owner paused the connector meanwhile.
    fn set_running(&self) {
        let c = self.control.lock();
        if !c.paused {
            self.set("RUNNING", None);
        }
    }

    /// Waits up to `d`, or until the owner changes something. True when
    /// the thread must stop.
    fn wait(&self, d: Duration) -> bool {
        let mut c = self.control.lock();
        if !(c.stop || c.restart) && d > Duration::ZERO {
            self.wake.wait_for(&mut c, d);
        }
        c.stop
    }
}

/// A connector's thread and its shared state.
pub struct Worker {
    pub shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    /// Starts the connector's thread (paused when `paused`).
    pub fn start(
        log: Arc<dyn Log>,
        config: ConnectorConfig,
        factory: TaskFactory,
        ctx: Context,
        paused: bool,
    ) -> Result<Worker> {
        let shared = Arc::new(Shared {
            control: Mutex::new(Control {
                paused,
                ..Default::default()
            }),
            wake: Condvar::new(),
            status: Mutex::new(Status {
                state: if paused { "PAUSED" } else { "UNASSIGNED" },
                trace: None,
                attempts: 0,
                offset: None,
            }),
            records: AtomicU64::new(0),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("connect-{}", config.name))
            .spawn(move || run(log, config, factory, ctx, s))?;
        Ok(Worker {
            shared,
            thread: Some(thread),
        })
    }

    fn change(&self, f: impl FnOnce(&mut Control)) {
        f(&mut self.shared.control.lock());
        self.shared.wake.notify_all();
    }

    pub fn pause(&self, paused: bool) {
        self.change(|c| c.paused = paused);
        if paused {
            // Shown at once; the thread moves nothing more once it sees it.
            self.shared.set("PAUSED", None);
        }
    }

    /// Stops the task and starts it again (after a failure, at once).
    pub fn restart(&self) {
        self.change(|c| c.restart = true);
    }

    /// Stops the thread and waits for it.
    pub fn stop(&mut self) {
        self.change(|c| c.stop = true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The thread: start, run, fail and retry until stopped.
fn run(
    log: Arc<dyn Log>,
    config: ConnectorConfig,
    factory: TaskFactory,
    ctx: Context,
    shared: Arc<Shared>,
) {
    let mut task: Option<Running> = None;
    let mut backoff = FIRST_BACKOFF;
    loop {
        {
            let mut c = shared.control.lock();
            if c.stop {
                break;
            }
            if c.restart {
                c.restart = false;
                task = None;
                backoff = FIRST_BACKOFF;
            }
            if c.paused {
                drop(c);
                shared.set("PAUSED", None);
                if shared.wait(Duration::from_secs(1)) {
                    break;
                }
                continue;
            }
        }
        let step = match task.as_mut() {
            Some(t) => t.step(log.as_ref(), &config.name, &shared),
            None => match Running::start(log.as_ref(), &config, factory, &ctx, &shared) {
                Ok(t) => {
                    task = Some(t);
                    shared.set_running();
                    shared.status.lock().attempts = 0;
                    Ok(0)
                }
                Err(e) => Err(e),
            },
        };
        let pause = match step {
            Ok(ms) => {
                backoff = FIRST_BACKOFF;
                if task.is_some() && shared.status.lock().state != "RUNNING" {
                    // Resumed after a pause.
                    shared.set_running();
                }
                Duration::from_millis(ms)
            }
            Err(e) => {
                tracing::warn!(connector = %config.name, error = %e, "connector failed; retrying");
                task = None;
                shared.set("FAILED", Some(e.to_string()));
                shared.status.lock().attempts += 1;
                let wait = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                wait
            }
        };
        if shared.wait(pause) {
            break;
        }
    }
    if let Some(Running::Sink { task, .. }) = task.as_mut() {
        let _ = task.flush();
    }
}

/// A task with where it stands.
enum Running {
    Source {
        task: Box<dyn SourceTask>,
        /// Records written so far (the last record's sequence number).
        seq: u64,
    },
    Sink {
        task: Box<dyn SinkTask>,
        /// The next offset to read per (topic, partition).
        positions: BTreeMap<(String, i32), i64>,
    },
}

/// The consumer group a sink connector commits under (Connect's name).
pub fn sink_group(name: &str) -> String {
    format!("connect-{name}")
}

impl Running {
    fn start(
        log: &dyn Log,
        config: &ConnectorConfig,
        factory: TaskFactory,
        ctx: &Context,
        shared: &Shared,
    ) -> Result<Running> {
        match factory(config, ctx)? {
            Task::Source(mut task) => {
                let topic = task.topic().to_string();
                if log.describe_topic(&topic)?.is_none() {
                    let partitions = config.int("topic.creation.default.partitions", 1)?;
                    crate::log::ensure_topic(
                        log,
                        &topic,
                        &crate::log::TopicConfig {
                            partitions: i32::try_from(partitions).unwrap_or(1).max(1),
                            ..Default::default()
                        },
                    )?;
                }
                let recovered = offsets::recover(log, &config.name, &topic)?;
                let seq = match &recovered {
                    Some(c) => {
                        task.restore(&c.offset)?;
                        shared.status.lock().offset = Some(c.offset.to_string());
                        c.seq
                    }
                    None => 0,
                };
                Ok(Running::Source { task, seq })
            }
            Task::Sink(task) => {
                let group = sink_group(&config.name);
                let mut positions = BTreeMap::new();
                for topic in task.topics() {
                    let Some(info) = log.describe_topic(topic)? else {
                        continue;
                    };
                    for p in 0..info.partitions {
                        let at = match log.committed(&group, topic, p)? {
                            Some(o) => o,
                            None => log.start_offset(topic, p)?,
                        };
                        positions.insert((topic.clone(), p), at);
                    }
                }
                Ok(Running::Sink { task, positions })
            }
        }
    }

    /// Moves what is there now; returns how long to wait before the next
    /// step (milliseconds).
    fn step(&mut self, log: &dyn Log, name: &str, shared: &Shared) -> Result<u64> {
        match self {
            Running::Source { task, seq } => {
                let (records, pause) = task.poll()?;
                let Some(last) = records.last() else {
                    return Ok(pause);
                };
                let last_offset = last.offset.clone();
                let topic = task.topic().to_string();
                let n = records.len() as u64;
                for r in records {
                    *seq += 1;
                    let header = RecordOffset {
                        connector: name.to_string(),
                        seq: *seq,
                        offset: r.offset,
                    }
                    .header()?;
                    log.append(
                        &topic,
                        None,
                        Record {
                            key: r.key,
                            value: r.value,
                            timestamp: offsets::now_ms(),
                            headers: vec![header],
                        },
                    )?;
                }
                log.flush()?;
                let partitions = log
                    .describe_topic(&topic)?
                    .ok_or_else(|| Error::log(format!("topic {topic} disappeared")))?
                    .partitions;
                let mut ends = BTreeMap::new();
                for p in 0..partitions {
                    ends.insert(p, log.end_offset(&topic, p)?);
                }
                offsets::write(
                    log,
                    name,
                    &Committed {
                        offset: last_offset.clone(),
                        seq: *seq,
                        ends,
                    },
                )?;
                shared.records.fetch_add(n, Ordering::Relaxed);
                shared.status.lock().offset = Some(last_offset.to_string());
                Ok(pause)
            }
            Running::Sink { task, positions } => {
                // Topics created after the start join in.
                for topic in task.topics().to_vec() {
                    if let Some(info) = log.describe_topic(&topic)? {
                        for p in 0..info.partitions {
                            if let std::collections::btree_map::Entry::Vacant(v) =
                                positions.entry((topic.clone(), p))
                            {
                                v.insert(log.start_offset(&topic, p)?);
                            }
                        }
                    }
                }
                let mut moved = 0u64;
                let mut commits = Vec::new();
                for ((topic, p), at) in positions.iter_mut() {
                    let batch = log.read(topic, *p, *at, 500)?;
                    let Some(last) = batch.last() else { continue };
                    let next = last.offset + 1;
                    task.put(topic, &batch)?;
                    moved += batch.len() as u64;
                    *at = next;
                    commits.push((topic.clone(), *p, next));
                }
                if commits.is_empty() {
                    return Ok(100);
                }
                task.flush()?;
                log.commit_offsets(&sink_group(name), &commits)?;
                log.flush()?;
                shared.records.fetch_add(moved, Ordering::Relaxed);
                let text: BTreeMap<String, i64> = positions
                    .iter()
                    .map(|((t, p), o)| (format!("{t}-{p}"), *o))
                    .collect();
                shared.status.lock().offset = serde_json::to_string(&text).ok();
                Ok(0)
            }
        }
    }
}
