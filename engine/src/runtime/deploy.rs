//! Deployment: how a planned persistent query becomes running work. It
//! decides, from a plain [`DeployConfig`], whether the query runs whole or
//! split by partition, whether it shares its partitions with other
//! processes of the service (a consumer group), whether it writes through
//! Kafka transactions, and whether a table's changes are coalesced; then it
//! runs the work on a thread of its own (or leaves it to the caller's
//! `poll`). Queries' operators are rebuilt through a [`FlowFactory`] when a
//! partition moves or a transaction fails.

use super::reader::SourceReader;
use super::repartition::Repartition;
use super::spec::PlanInput;
use super::split::{SplitQuery, TaskFactory};
use super::task::{
    panic_message, Decoder, Flow, Input, Membership, PersistentTask, Pipeline, QueryStats, Rebuild,
    TxnFactory, Work,
};
use crate::catalog::Source;
use crate::error::{Error, Result};
use crate::log::{Log, TopicConfig};
use crate::operators::rekey::Rekey;
use crate::operators::{JoinOperator, Operator, SinkEncoder, SourceDecoder};
use crate::sql::ast::SourceKind;
use parking_lot::Mutex;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

/// A query's operators as the planner built them, not yet reading anything.
pub struct FlowSpec {
    pub inputs: Vec<PlanInput>,
    /// How the inputs are combined when there are several.
    pub join: Option<Box<dyn JoinOperator>>,
    /// The operators after the inputs (and the join).
    pub operators: Vec<Box<dyn Operator>>,
}

/// Builds a query's operators afresh, with empty state: a task rebuilt
/// after its partition moved or its transaction failed starts from them.
pub type FlowFactory = Arc<dyn Fn() -> Result<FlowSpec> + Send + Sync>;

/// How to run one persistent query: what the engine's configuration, the
/// creating session's properties and the plan say, as plain values.
#[derive(Debug, Clone)]
pub struct DeployConfig {
    pub query_id: String,
    /// The consumer group its offsets are committed under.
    pub group: String,
    /// Start at the beginning of the inputs when the group has no offsets
    /// (`auto.offset.reset = earliest`).
    pub earliest: bool,
    /// Write results, state and offsets in one Kafka transaction
    /// (`processing.guarantee = exactly_once_v2`, on Kafka).
    pub exactly_once: bool,
    /// Coalesce a table's changes per key until the commit interval
    /// (`cache.max.bytes.buffering` not 0).
    pub caching: bool,
    /// `commit.interval.ms`.
    pub commit_interval: Duration,
    /// Run on a thread of its own; otherwise the caller polls.
    pub background: bool,
    /// The query is only recorded here: another process runs it.
    pub record_only: bool,
    /// The Log is a Kafka cluster (processes share queries through
    /// consumer groups).
    pub kafka: bool,
    /// This process's id, naming its share of a stateless query's writes.
    pub instance: String,
    /// The query keeps state (joins, aggregations, tables).
    pub stateful: bool,
    /// Its state only combines rows of one input partition, so it may run
    /// as one task per partition.
    pub partition_local: bool,
    /// The state changelog topics its operators write.
    pub changelogs: Vec<String>,
    /// Where its operators keep their local stores.
    pub state: crate::state::StateConfig,
}

impl DeployConfig {
    /// The query's place among the local stores.
    pub fn state_scope(&self) -> crate::state::StateScope {
        crate::state::StateScope {
            config: self.state.clone(),
            query_id: self.query_id.clone(),
        }
    }
}

/// Opens a query's inputs on the Log: each positioned at `group`'s
/// committed offsets, or else at the start (`earliest`) or end of its
/// topic; internal topics the query re-keys through are created.
pub fn open_flow(
    log: &dyn Log,
    spec: FlowSpec,
    group: Option<&str>,
    earliest: bool,
) -> Result<Flow> {
    let mut opened = Vec::with_capacity(spec.inputs.len());
    for input in spec.inputs {
        if let Some((topic, partitions)) = &input.rekeyed {
            ensure_internal_topic(log, topic, *partitions)?;
            opened.push(Input {
                // Everything in the internal topic is this query's.
                reader: SourceReader::open(log, topic, group, true)?,
                pipeline: Pipeline {
                    decoder: Decoder::Repartitioned(topic.clone()),
                    operators: input.operators,
                },
                repartition: None,
            });
            continue;
        }
        let source_reader = SourceReader::open(log, &input.source.topic, group, earliest)?;
        let source_decoder = SourceDecoder::try_new(&input.source)?;
        opened.push(match input.repartition {
            None => Input {
                reader: source_reader,
                pipeline: Pipeline {
                    decoder: Decoder::Source(source_decoder),
                    operators: input.operators,
                },
                repartition: None,
            },
            Some(stage) => {
                ensure_internal_topic(log, &stage.topic, stage.partitions)?;
                let rekey = Rekey::new(stage.key, &stage.key_format)?;
                Input {
                    // Everything in the internal topic is this query's.
                    reader: SourceReader::open(log, &stage.topic, group, true)?,
                    pipeline: Pipeline {
                        decoder: Decoder::Repartitioned(stage.topic.clone()),
                        operators: input.operators,
                    },
                    repartition: Some(Repartition {
                        reader: source_reader,
                        decoder: source_decoder,
                        operators: stage.operators,
                        rekey,
                        topic: stage.topic,
                        group: group.map(str::to_string),
                    }),
                }
            }
        });
    }
    Ok(Flow {
        inputs: opened,
        join: spec.join,
        operators: spec.operators,
        // A persistent query's (committed under its group).
        time_ordered: group.is_some(),
    })
}

fn ensure_internal_topic(log: &dyn Log, topic: &str, partitions: i32) -> Result<()> {
    crate::log::ensure_topic(
        log,
        topic,
        &TopicConfig {
            partitions,
            replicas: 1,
            compact: false,
        },
    )
}

/// A persistent query's work, shared with the thread that runs it.
type SharedWork = Arc<Mutex<Box<dyn Work>>>;

/// Why a persistent query fails, while it keeps failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// The error, or `panicked: ...` with a panic's message.
    pub message: String,
    /// When it last happened.
    pub at: SystemTime,
    /// How many attempts in a row failed.
    pub attempts: u32,
}

type SharedError = Arc<Mutex<Option<QueryError>>>;

/// The first wait before a failed query retries; it doubles with each
/// failure in a row, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait between two retries of a failing query.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A deployed persistent query: running (or paused) on its thread, or
/// waiting for the caller's [`Deployment::poll`].
pub struct Deployment {
    pub query_id: String,
    work: SharedWork,
    stop: Arc<AtomicBool>,
    paused: Arc<AtomicBool>,
    /// Set by RESUME: a failing query retries at once, not after its
    /// backoff.
    retry_now: Arc<AtomicBool>,
    /// Why the query last failed, while it keeps failing.
    error: SharedError,
    /// Its counters, shared with its tasks.
    stats: Arc<QueryStats>,
    thread: Option<JoinHandle<()>>,
}

impl Deployment {
    /// Deploys a query: `spec` is its plan, `factory` rebuilds it, `sink`
    /// is where its results go.
    pub fn start(
        log: Arc<dyn Log>,
        config: DeployConfig,
        spec: FlowSpec,
        factory: FlowFactory,
        sink: Source,
    ) -> Result<Deployment> {
        let stats = Arc::new(QueryStats::default());
        let work = build_work(&log, &config, spec, factory, sink, &stats)?;
        let work: SharedWork = Arc::new(Mutex::new(work));
        let stop = Arc::new(AtomicBool::new(false));
        let paused = Arc::new(AtomicBool::new(false));
        let retry_now = Arc::new(AtomicBool::new(false));
        let error = Arc::new(Mutex::new(None));
        let thread = if config.background && !config.record_only {
            let run = RunLoop {
                work: work.clone(),
                stop: stop.clone(),
                paused: paused.clone(),
                retry_now: retry_now.clone(),
                error: error.clone(),
                log,
                query_id: config.query_id.clone(),
            };
            Some(
                std::thread::Builder::new()
                    .name(format!("query-{}", config.query_id))
                    .stack_size(super::THREAD_STACK)
                    .spawn(move || run.run())
                    .map_err(Error::Io)?,
            )
        } else {
            None
        };
        Ok(Deployment {
            query_id: config.query_id,
            work,
            stop,
            paused,
            retry_now,
            error,
            stats,
            thread,
        })
    }

    /// The query's counters since it started in this process.
    pub fn stats(&self) -> &QueryStats {
        &self.stats
    }

    /// Pauses or resumes the query (resuming a failing query also makes
    /// it retry at once).
    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
        if !paused {
            self.retry_now.store(true, Ordering::SeqCst);
        }
    }

    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    /// Why the query is failing, while it is.
    pub fn error(&self) -> Option<String> {
        self.error.lock().as_ref().map(|e| e.message.clone())
    }

    /// The query's failure, with when it last happened, while it fails.
    pub fn last_error(&self) -> Option<QueryError> {
        self.error.lock().clone()
    }

    /// Runs the query on what its inputs hold now (for queries that do not
    /// run in the background); returns the records read.
    pub fn poll(&self, log: &dyn Log) -> Result<usize> {
        if self.is_paused() {
            return Ok(0);
        }
        self.work.lock().poll(log)
    }

    /// Writes what the query computed but holds for its commit interval
    /// (for queries that do not run in the background); true when there
    /// was something.
    pub fn flush_pending(&self, log: &dyn Log) -> Result<bool> {
        let mut work = self.work.lock();
        if !work.has_pending() {
            return Ok(false);
        }
        work.flush(log)?;
        Ok(true)
    }

    /// Stops the query's thread after it wrote what it had computed.
    pub fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Decides how the query runs and builds its work.
fn build_work(
    log: &Arc<dyn Log>,
    config: &DeployConfig,
    spec: FlowSpec,
    factory: FlowFactory,
    sink: Source,
    stats: &Arc<QueryStats>,
) -> Result<Box<dyn Work>> {
    let group = config.group.clone();
    let scope = config.state_scope();
    let mut flow = open_flow(log.as_ref(), spec, Some(&group), config.earliest)?;
    flow.attach_state(&scope);
    // Commit the starting positions so a restart resumes exactly here
    // (a query that ran before, maybe in another process of the
    // service, has its own).
    let mut uncommitted = false;
    for reader in flow.readers() {
        for (p, _) in &reader.positions {
            uncommitted |= log.committed(&group, &reader.topic, *p)?.is_none();
        }
    }
    if uncommitted {
        flow.commit(log.as_ref(), &group)?;
    }
    // Processes of one service share a query's partitions through its
    // consumer group (on Kafka; queries run in the background). A
    // stateful query whose state never combines rows of different
    // partitions, over inputs of one partition count, is split by
    // partition; any other stateful query runs whole on one process.
    let counts: Vec<usize> = flow.readers().map(|r| r.positions.len()).collect();
    let partitions = counts.first().copied().unwrap_or(1);
    // (Every process decides the same, including one that only records
    // the statement and creates the changelogs.)
    let splittable = config.stateful
        && config.partition_local
        && config.kafka
        && partitions > 1
        && counts.iter().all(|n| *n == partitions);
    let runs_here = config.background && !config.record_only;
    let mut split = splittable && runs_here;
    for topic in &config.changelogs {
        // A changelog made for the whole query has one partition.
        if let Some(info) = log.describe_topic(topic)? {
            split &= info.partitions as usize == partitions;
        }
    }
    let anchor = flow
        .inputs
        .first()
        .map(|i| i.source_topic().to_string())
        .unwrap_or_default();
    let topics: Vec<String> = if split {
        vec![anchor.clone()]
    } else {
        flow.inputs
            .iter()
            .map(|i| i.source_topic().to_string())
            .collect()
    };
    let member = if runs_here {
        log.join_group(&group, &topics)?
    } else {
        None
    };
    for topic in &config.changelogs {
        crate::log::ensure_topic(
            log.as_ref(),
            topic,
            &TopicConfig {
                partitions: if splittable { partitions as i32 } else { 1 },
                replicas: 1,
                compact: true,
            },
        )?;
    }
    // Exactly-once through transactions, where the log has them. (A
    // process that only records statements must not open a writer: that
    // would fence the process running the query.)
    if config.exactly_once && !config.kafka && !config.record_only {
        tracing::warn!(
            "query {} runs at least once: processing.guarantee=exactly_once_v2 needs Kafka transactions, which the embedded log does not have",
            config.query_id
        );
    }
    let exactly_once = config.exactly_once && config.kafka && !config.record_only;
    let coalesce =
        (config.caching && sink.kind == SourceKind::Table).then(|| sink.schema.key_indexes());
    let template = TaskTemplate {
        query_id: config.query_id.clone(),
        group: group.clone(),
        sink,
        // Results wait for the commit interval only where they can be
        // coalesced. (A caller driving queries itself gets them when the
        // queries are idle: `flush_pending`.)
        commit_interval: coalesce.is_some().then_some(config.commit_interval),
        // On Kafka, offsets (and exactly-once transactions) commit on the
        // interval while results flow to the log every step, as Kafka
        // Streams does; a caller driving queries itself (and the embedded
        // log, whose commits are cheap) commits with every write.
        commit_every: (config.kafka && config.background).then_some(config.commit_interval),
        coalesce,
        checkpoints: config.changelogs.clone(),
        stats: stats.clone(),
    };
    let earliest = config.earliest;
    let txn =
        |txn_id: String| exactly_once.then(|| txn_factory(log.clone(), group.clone(), txn_id));
    Ok(match member {
        Some(member) if split => {
            // One task per partition this process owns, each built (its
            // state restored from its changelog partition) when the group
            // hands the partition over.
            drop(flow);
            let log = log.clone();
            let make: TaskFactory = Box::new(move |p| {
                let group = &template.group;
                let mut rebuild = rebuilder(&log, &factory, group, earliest, Some(p), &scope);
                let mut flow = rebuild()?;
                flow.restore(log.as_ref())?;
                // Each partition's writer fences that partition's
                // earlier owner.
                let txn = exactly_once
                    .then(|| txn_factory(log.clone(), group.clone(), format!("{group}-txn-p{p}")));
                Ok(template.task(
                    flow,
                    SinkEncoder::try_new(&template.sink)?,
                    p,
                    None,
                    txn,
                    rebuild,
                ))
            });
            Box::new(SplitQuery::new(
                config.query_id.clone(),
                member,
                anchor,
                make,
            ))
        }
        Some(member) => {
            // The group says what to read, and the state is restored when
            // this process takes the query on.
            for reader in flow.readers_mut() {
                reader.positions.clear();
            }
            // A query running whole on one process writes as the query (a
            // new owner fences the old); a stateless one split across
            // processes writes as this process's share of it.
            let txn_id = if config.stateful {
                format!("{group}-txn")
            } else {
                format!("{group}-txn-{}", config.instance)
            };
            let encoder = SinkEncoder::try_new(&template.sink)?;
            Box::new(template.task(
                flow,
                encoder,
                0,
                Some(Membership::new(member, config.stateful, earliest)),
                txn(txn_id),
                rebuilder(log, &factory, &group, earliest, None, &scope),
            ))
        }
        None => {
            // State first: operators reload their stores from their
            // changelogs.
            flow.restore(log.as_ref())?;
            let encoder = SinkEncoder::try_new(&template.sink)?;
            Box::new(template.task(
                flow,
                encoder,
                0,
                None,
                txn(format!("{group}-txn")),
                rebuilder(log, &factory, &group, earliest, None, &scope),
            ))
        }
    })
}

/// Opens the query afresh at the group's committed positions: all of it,
/// or (`only`) partition p's task of a split query.
fn rebuilder(
    log: &Arc<dyn Log>,
    factory: &FlowFactory,
    group: &str,
    earliest: bool,
    only: Option<i32>,
    scope: &crate::state::StateScope,
) -> Rebuild {
    let (log, factory, group) = (log.clone(), factory.clone(), group.to_string());
    let scope = scope.clone();
    Box::new(move || {
        let mut flow = open_flow(log.as_ref(), factory()?, Some(&group), earliest)?;
        flow.attach_state(&scope);
        if let Some(p) = only {
            flow.only_partition(p);
        }
        Ok(flow)
    })
}

/// Opens the transactional writer `txn_id` of a query's group.
fn txn_factory(log: Arc<dyn Log>, group: String, txn_id: String) -> TxnFactory {
    Box::new(move || {
        log.transactional_writer(&txn_id, &group)?.ok_or_else(|| {
            Error::log("this log has no transactions for processing.guarantee exactly_once_v2")
        })
    })
}

/// What every task of a persistent query shares (a split query has one
/// task per partition).
struct TaskTemplate {
    query_id: String,
    group: String,
    sink: Source,
    commit_interval: Option<Duration>,
    commit_every: Option<Duration>,
    coalesce: Option<Vec<usize>>,
    checkpoints: Vec<String>,
    stats: Arc<QueryStats>,
}

impl TaskTemplate {
    fn task(
        &self,
        mut flow: Flow,
        encoder: SinkEncoder,
        changelog_partition: i32,
        group_member: Option<Membership>,
        exactly_once: Option<TxnFactory>,
        rebuild: Rebuild,
    ) -> PersistentTask {
        if self.coalesce.is_some() {
            flow.defer_changes();
        }
        PersistentTask {
            query_id: self.query_id.clone(),
            group: self.group.clone(),
            flow,
            sink: encoder,
            stats: self.stats.clone(),
            commit_interval: self.commit_interval,
            commit_every: self.commit_every,
            last_commit: std::time::Instant::now(),
            uncommitted: false,
            coalesce: self.coalesce.clone(),
            checkpoints: self.checkpoints.clone(),
            changelog_partition,
            pending: Default::default(),
            writes: Default::default(),
            group_member,
            exactly_once,
            txn: None,
            rebuild: Some(rebuild),
        }
    }
}

/// The thread of a query running in the background.
struct RunLoop {
    work: SharedWork,
    stop: Arc<AtomicBool>,
    paused: Arc<AtomicBool>,
    retry_now: Arc<AtomicBool>,
    error: SharedError,
    log: Arc<dyn Log>,
    query_id: String,
}

impl RunLoop {
    fn run(self) {
        let mut backoff = FIRST_BACKOFF;
        while !self.stop.load(Ordering::SeqCst) {
            if self.paused.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            let seen = self.log.append_seq();
            // A panic in the query's code fails this attempt like an
            // error: the process and the other queries go on.
            let polled = catch_unwind(AssertUnwindSafe(|| {
                self.work.lock().poll(self.log.as_ref())
            }))
            .unwrap_or_else(|panic| {
                Err(Error::internal(format!(
                    "panicked: {}",
                    panic_message(panic.as_ref())
                )))
            });
            match polled {
                Ok(read) => {
                    *self.error.lock() = None;
                    backoff = FIRST_BACKOFF;
                    if read == 0 {
                        self.log.wait_for_append(seen, Duration::from_millis(200));
                    }
                }
                Err(e) => {
                    // Said once per distinct failure; the query retries,
                    // waiting longer after each failure in a row.
                    let message = e.to_string();
                    let mut last = self.error.lock();
                    let attempts = last.as_ref().map_or(0, |l| l.attempts) + 1;
                    if last.as_ref().map(|l| &l.message) != Some(&message) {
                        tracing::error!(
                            "query {} failed, retrying in {backoff:?}: {message}",
                            self.query_id
                        );
                    }
                    *last = Some(QueryError {
                        message,
                        at: SystemTime::now(),
                        attempts,
                    });
                    drop(last);
                    backoff = match self.sleep(backoff) {
                        true => FIRST_BACKOFF,
                        false => (backoff * 2).min(MAX_BACKOFF),
                    };
                }
            }
        }
        // Stopping: write what waits for the commit interval.
        let flushed = catch_unwind(AssertUnwindSafe(|| {
            let mut work = self.work.lock();
            if work.has_pending() {
                work.flush(self.log.as_ref())
            } else {
                Ok(())
            }
        }));
        match flushed {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(
                "query {}: could not write its last results while stopping: {e}",
                self.query_id
            ),
            Err(panic) => tracing::error!(
                "query {}: panicked writing its last results while stopping: {}",
                self.query_id,
                panic_message(panic.as_ref())
            ),
        }
    }

    /// Waits `wait`, or less if the query is stopped or resumed
    /// meanwhile; true when it was resumed (RESUME asks for a retry now).
    fn sleep(&self, wait: Duration) -> bool {
        let until = std::time::Instant::now() + wait;
        while !self.stop.load(Ordering::SeqCst) {
            if self.retry_now.swap(false, Ordering::SeqCst) {
                return true;
            }
            let now = std::time::Instant::now();
            if now >= until {
                return false;
            }
            std::thread::sleep((until - now).min(Duration::from_millis(50)));
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::EmbeddedLog;

    /// Work that panics on its first `panics` polls, then reads nothing.
    struct Flaky {
        polls: Arc<std::sync::atomic::AtomicU32>,
        panics: u32,
    }

    impl Work for Flaky {
        fn poll(&mut self, _log: &dyn Log) -> Result<usize> {
            let n = self.polls.fetch_add(1, Ordering::SeqCst);
            if n < self.panics {
                panic!("boom {n}");
            }
            Ok(0)
        }
        fn has_pending(&self) -> bool {
            false
        }
        fn flush(&mut self, _log: &dyn Log) -> Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_panicking_query_shows_error_backs_off_and_recovers() {
        let polls = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let error: SharedError = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let run = RunLoop {
            work: Arc::new(Mutex::new(Box::new(Flaky {
                polls: polls.clone(),
                panics: 2,
            }))),
            stop: stop.clone(),
            paused: Arc::new(AtomicBool::new(false)),
            retry_now: Arc::new(AtomicBool::new(false)),
            error: error.clone(),
            log: Arc::new(EmbeddedLog::in_memory()),
            query_id: "Q".into(),
        };
        let started = std::time::Instant::now();
        let thread = std::thread::spawn(move || run.run());
        // The first panic is the query's error, with when it happened.
        let deadline = started + Duration::from_secs(5);
        let first = loop {
            if let Some(e) = error.lock().clone() {
                break e;
            }
            assert!(std::time::Instant::now() < deadline, "no error recorded");
            std::thread::sleep(Duration::from_millis(5));
        };
        assert_eq!(first.message, "internal error: panicked: boom 0");
        assert_eq!(first.attempts, 1);
        assert!(first.at <= SystemTime::now());
        // Retried after 0.5 s (panicking again), then after 1 s more.
        let deadline = started + Duration::from_secs(10);
        while error.lock().is_some() {
            assert!(std::time::Instant::now() < deadline, "never recovered");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            started.elapsed() >= FIRST_BACKOFF * 3,
            "no backoff: {:?}",
            started.elapsed()
        );
        assert!(polls.load(Ordering::SeqCst) >= 3);
        stop.store(true, Ordering::SeqCst);
        thread.join().expect("the run loop itself never panics");
    }
}
