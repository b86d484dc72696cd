//! The Log over a real Kafka cluster, through rdkafka (librdkafka).
//!
//! Topics, partitions, offsets and consumer-group commits are Kafka's own;
//! this module only maps the `Log` trait onto the clients:
//! - appends go through one producer, keyed records to the partition Kafka's
//!   Java clients would choose (murmur2), acknowledged asynchronously: an
//!   append never waits for the broker (`acks`). `commit`, `flush` and
//!   `hand_off` wait (asleep) for every outstanding acknowledgement, so
//!   results are durable before the offsets that produced them are
//!   committed; a read or an end offset waits only for this process's writes
//!   to that topic, so a reader sees what this process wrote while a query's
//!   results to other topics stay in flight;
//! - reads use pooled consumers assigned to one partition at an explicit
//!   offset (no group membership), so a reader positioned where the last
//!   read ended streams on without seeking;
//! - commits go through one client per consumer group.
//!
//! Every name is prefixed with `topic_prefix` (topics, groups), which keeps
//! several engines (tests, conformance cases) apart on one cluster.
//!
//! Client settings (each can be overridden through `KafkaConfig::settings`,
//! i.e. the server's properties file):
//! - producer: `linger.ms=5` (a query hands records over every step; 5 ms
//!   lets a batch fill while the previous one is in flight, and bounds what
//!   a read of a just-written topic waits for), `batch.size=1048576` and
//!   `batch.num.messages=10000` (large batches: fewer requests per record),
//!   `compression.type=none` (the CPU is the bottleneck on a small machine,
//!   not the network), `queue.buffering.max.messages=500000` (a commit
//!   interval's worth of results may be in flight), `acks=all`, idempotence
//!   off (transactions turn it on for exactly-once);
//! - readers: `fetch.wait.max.ms=10` (a reader at the end of a partition
//!   hears of new records within 10 ms), `fetch.min.bytes=1`,
//!   `queued.min.messages=100000` and `queued.max.messages.kbytes=65536`
//!   (librdkafka prefetches up to that much per partition while the query
//!   computes), `fetch.queue.backoff.ms=10` (librdkafka's default, 1000,
//!   stops fetching for a second whenever the prefetch queue is full: a
//!   query draining it faster than that then starves, which held queries
//!   at about 100k records/s), `max.partition.fetch.bytes=4194304` (4 MB
//!   per fetch).
//!
//! Submodules: `acks` (acknowledgements and the waits on them), `errors`,
//! `txn`
//! (exactly-once transactions), `group` (consumer-group membership).

mod acks;
mod errors;
mod group;
mod txn;

use acks::{send, AckBook, Delivery};
use errors::{kafka_err, transient};
use group::{KafkaMember, MemberContext, Members};
use txn::KafkaTxnWriter;

use super::{
    partition_for_key, GroupMember, Header, Log, Record, StoredRecord, TopicConfig, TopicInfo,
    TxnWriter,
};
use crate::error::{Error, Result};
use parking_lot::{Condvar, Mutex};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::Producer as _;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How to reach a cluster.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// `host:port[,host:port...]`.
    pub bootstrap_servers: String,
    /// librdkafka settings passed through unchanged (`security.protocol`,
    /// `sasl.*`, `ssl.*`, `client.id`, ...).
    pub settings: BTreeMap<String, String>,
    /// Prepended to every topic and group name.
    pub topic_prefix: String,
    /// How long one request to the cluster may take before it fails.
    pub timeout: Duration,
}

impl KafkaConfig {
    pub fn new(bootstrap_servers: &str) -> Self {
        KafkaConfig {
            bootstrap_servers: bootstrap_servers.to_string(),
            settings: BTreeMap::new(),
            topic_prefix: String::new(),
            timeout: Duration::from_secs(30),
        }
    }
}

/// A consumer assigned to one partition, and where it stands.
struct PartitionReader {
    consumer: BaseConsumer,
    /// The offset of the next record it will return.
    next: i64,
    /// The partition's end when the reader was positioned.
    end_hint: i64,
}

/// The Log over Kafka.
pub struct KafkaLog {
    config: KafkaConfig,
    producer: acks::Producer,
    acks: Arc<AckBook>,
    admin: AdminClient<DefaultClientContext>,
    /// For metadata and watermarks.
    meta: BaseConsumer,
    /// Idle readers per (full topic name, partition).
    readers: Mutex<HashMap<(String, i32), Vec<PartitionReader>>>,
    /// One committing client per (full) group id.
    groups: Mutex<HashMap<String, Arc<BaseConsumer>>>,
    /// Groups this process joined as a member.
    members: Members,
    /// Known topics (full names).
    topics: Mutex<HashMap<String, TopicInfo>>,
    seq: Mutex<u64>,
    appended: Condvar,
}

impl KafkaLog {
    /// Connects to the cluster; fails with a clear message when it cannot be
    /// reached within the configured timeout.
    pub fn connect(config: KafkaConfig) -> Result<KafkaLog> {
        let acks = Arc::new(AckBook::default());
        let producer: acks::Producer = config
            .client_over(producer_defaults())
            .set("enable.idempotence", "false")
            .create_with_context(Delivery { book: acks.clone() })
            .map_err(|e| kafka_err("cannot create a Kafka producer", e))?;
        let admin: AdminClient<DefaultClientContext> = config
            .client()
            .create()
            .map_err(|e| kafka_err("cannot create a Kafka admin client", e))?;
        let meta: BaseConsumer = config
            .client()
            .create()
            .map_err(|e| kafka_err("cannot create a Kafka client", e))?;
        let probe = config.timeout.min(Duration::from_secs(10));
        meta.fetch_metadata(None, probe).map_err(|e| {
            Error::log(format!(
                "cannot reach Kafka at {} within {} s: {e}",
                config.bootstrap_servers,
                probe.as_secs()
            ))
        })?;
        Ok(KafkaLog {
            config,
            producer,
            acks,
            admin,
            meta,
            readers: Mutex::new(HashMap::new()),
            groups: Mutex::new(HashMap::new()),
            members: Arc::new(Mutex::new(HashMap::new())),
            topics: Mutex::new(HashMap::new()),
            seq: Mutex::new(0),
            appended: Condvar::new(),
        })
    }

    fn full(&self, name: &str) -> String {
        format!("{}{}", self.config.topic_prefix, name)
    }

    fn timeout(&self) -> Duration {
        self.config.timeout
    }

    /// Appends a record (see `Log::append`), borrowing it.
    fn append_record(
        &self,
        topic: &str,
        partition: Option<i32>,
        record: &Record,
    ) -> Result<(i32, i64)> {
        let full = self.full(topic);
        // (From the cache without copying the topic's description: this
        // runs for every record.)
        let cached = self.topics.lock().get(&full).map(|i| i.partitions);
        let partitions = match cached {
            Some(n) => n,
            None => self.info(&full)?.partitions,
        };
        let partition = match (partition, &record.key) {
            (Some(p), _) => {
                if p < 0 || p >= partitions {
                    return Err(Error::log(format!(
                        "Topic {topic} has no partition {p} (it has {partitions})"
                    )));
                }
                p
            }
            (None, Some(key)) => partition_for_key(key, partitions),
            (None, None) => 0,
        };
        send(
            &self.producer,
            &self.acks,
            &full,
            partition,
            record,
            self.timeout(),
        )
        .map_err(|e| kafka_err(&format!("cannot write to {topic}"), e))?;
        self.notify_append();
        Ok((partition, -1))
    }

    /// Waits for this process's writes to a topic (full name), and returns
    /// one past the highest offset acknowledged in the partition.
    fn caught_up(&self, full: &str, partition: i32) -> Result<i64> {
        self.await_topic(full)?;
        Ok(self.acks.acks.lock().end(full, partition).unwrap_or(0))
    }

    /// Waits for every outstanding acknowledgement; fails if a write failed.
    fn await_acks(&self) -> Result<()> {
        self.acks.wait(None, self.timeout())
    }

    /// Waits for the acknowledgements of this process's writes to one
    /// topic (full name); fails if a write failed.
    fn await_topic(&self, full: &str) -> Result<()> {
        self.acks.wait(Some(full), self.timeout())
    }

    /// Metadata of one topic (full name), or None when it does not exist.
    fn fetch_topic(&self, full: &str) -> Result<Option<TopicInfo>> {
        let md = self
            .meta
            .fetch_metadata(Some(full), self.timeout())
            .map_err(|e| kafka_err(&format!("cannot describe topic {full}"), e))?;
        let Some(t) = md.topics().iter().find(|t| t.name() == full) else {
            return Ok(None);
        };
        match t.error() {
            None => {}
            Some(e) if RDKafkaErrorCode::from(e) == RDKafkaErrorCode::UnknownTopicOrPartition => {
                return Ok(None)
            }
            Some(e) => {
                return Err(Error::log(format!(
                    "cannot describe topic {full}: {}",
                    RDKafkaErrorCode::from(e)
                )))
            }
        }
        if t.partitions().is_empty() {
            return Ok(None);
        }
        let replicas = t.partitions()[0].replicas().len().max(1) as i16;
        Ok(Some(TopicInfo {
            name: full.to_string(),
            partitions: t.partitions().len() as i32,
            replicas,
            compact: self.is_compacted(full),
        }))
    }

    /// Whether a topic's cleanup.policy includes compact (false when the
    /// cluster does not say).
    fn is_compacted(&self, full: &str) -> bool {
        let opts = AdminOptions::new().request_timeout(Some(self.timeout()));
        let resources = [ResourceSpecifier::Topic(full)];
        match futures_executor::block_on(self.admin.describe_configs(&resources, &opts)) {
            Ok(results) => results.into_iter().flatten().any(|r| {
                r.get("cleanup.policy")
                    .and_then(|e| e.value.as_deref())
                    .is_some_and(|v| v.contains("compact"))
            }),
            Err(_) => false,
        }
    }

    /// The topic's partition count, from the cache or the cluster.
    fn info(&self, full: &str) -> Result<TopicInfo> {
        if let Some(info) = self.topics.lock().get(full) {
            return Ok(info.clone());
        }
        let info = self
            .fetch_topic(full)?
            .ok_or_else(|| Error::log(format!("Topic {full} does not exist")))?;
        self.topics.lock().insert(full.to_string(), info.clone());
        Ok(info)
    }

    fn reader_config(&self) -> ClientConfig {
        let mut defaults = ClientConfig::new();
        defaults
            .set("fetch.wait.max.ms", "10")
            .set("fetch.min.bytes", "1")
            .set("queued.min.messages", "100000")
            .set("queued.max.messages.kbytes", "65536")
            .set("fetch.queue.backoff.ms", "10")
            .set("max.partition.fetch.bytes", "4194304");
        let mut c = self.config.client_over(defaults);
        c.set(
            "group.id",
            format!("{}sluice-reader", self.config.topic_prefix),
        )
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "true")
        .set("auto.offset.reset", "earliest")
        .set("allow.auto.create.topics", "false");
        c
    }

    /// A reader of the partition positioned at `offset`: an idle one that
    /// stands there, else one moved there.
    fn take_reader(&self, full: &str, partition: i32, offset: i64) -> Result<PartitionReader> {
        let spare = {
            let mut pool = self.readers.lock();
            let idle = pool.entry((full.to_string(), partition)).or_default();
            if let Some(i) = idle.iter().position(|r| r.next == offset) {
                return Ok(idle.swap_remove(i));
            }
            idle.pop()
        };
        let mut reader = match spare {
            Some(r) => r,
            None => PartitionReader {
                consumer: self
                    .reader_config()
                    .create()
                    .map_err(|e| kafka_err("cannot create a Kafka consumer", e))?,
                next: -1,
                end_hint: 0,
            },
        };
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(full, partition, Offset::Offset(offset))
            .map_err(|e| kafka_err("bad offset", e))?;
        reader
            .consumer
            .assign(&tpl)
            .map_err(|e| kafka_err(&format!("cannot read topic {full}"), e))?;
        reader.next = offset;
        // Where the partition ends now: a moved reader must at least get
        // there before it may report that nothing is left.
        reader.end_hint = self
            .meta
            .fetch_watermarks(full, partition, self.timeout())
            .map_err(|e| kafka_err(&format!("cannot read the end of {full}"), e))?
            .1;
        Ok(reader)
    }

    fn group_client(&self, group: &str) -> Result<Arc<BaseConsumer>> {
        let full = self.full(group);
        if let Some(c) = self.groups.lock().get(&full) {
            return Ok(c.clone());
        }
        let consumer: BaseConsumer = self
            .config
            .client()
            .set("group.id", &full)
            .set("enable.auto.commit", "false")
            .create()
            .map_err(|e| kafka_err("cannot create a Kafka consumer", e))?;
        let consumer = Arc::new(consumer);
        self.groups.lock().insert(full, consumer.clone());
        Ok(consumer)
    }

    fn notify_append(&self) {
        *self.seq.lock() += 1;
        self.appended.notify_all();
    }

    /// Waits until metadata shows the topic present (or absent).
    fn await_metadata(&self, full: &str, present: bool) -> Result<()> {
        let deadline = Instant::now() + self.timeout();
        loop {
            if self.fetch_topic(full)?.is_some() == present {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::log(format!(
                    "topic {full} was not {} in time",
                    if present { "created" } else { "deleted" }
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The producers' settings before the user's (see the module docs).
fn producer_defaults() -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("linger.ms", "5")
        .set("batch.size", "1048576")
        .set("batch.num.messages", "10000")
        .set("compression.type", "none")
        .set("queue.buffering.max.messages", "500000")
        .set("acks", "all")
        .set("message.max.bytes", "10000000");
    c
}

impl KafkaConfig {
    /// A client configuration carrying the connection and pass-through
    /// settings.
    fn client(&self) -> ClientConfig {
        self.client_over(ClientConfig::new())
    }

    /// `defaults` with the connection and pass-through settings on top
    /// (so users can override the defaults).
    fn client_over(&self, defaults: ClientConfig) -> ClientConfig {
        let mut c = defaults;
        c.set("bootstrap.servers", &self.bootstrap_servers);
        c.set(
            "socket.timeout.ms",
            self.timeout.as_millis().max(10).to_string(),
        );
        for (k, v) in &self.settings {
            c.set(k, v);
        }
        c
    }
}

impl Log for KafkaLog {
    fn create_topic(&self, name: &str, config: &TopicConfig) -> Result<()> {
        let full = self.full(name);
        let mut topic = NewTopic::new(
            &full,
            config.partitions,
            TopicReplication::Fixed(config.replicas as i32),
        );
        if config.compact {
            topic = topic.set("cleanup.policy", "compact");
        }
        let opts = AdminOptions::new().operation_timeout(Some(self.timeout()));
        let results = futures_executor::block_on(self.admin.create_topics([&topic], &opts))
            .map_err(|e| kafka_err(&format!("cannot create topic {name}"), e))?;
        for r in results {
            if let Err((_, code)) = r {
                return Err(match code {
                    RDKafkaErrorCode::TopicAlreadyExists => {
                        Error::log(format!("Topic {name} already exists"))
                    }
                    code => Error::log(format!("cannot create topic {name}: {code}")),
                });
            }
        }
        self.await_metadata(&full, true)?;
        self.topics.lock().insert(
            full.clone(),
            TopicInfo {
                name: full,
                partitions: config.partitions,
                replicas: config.replicas,
                compact: config.compact,
            },
        );
        Ok(())
    }

    fn describe_topic(&self, name: &str) -> Result<Option<TopicInfo>> {
        let full = self.full(name);
        let info = self.fetch_topic(&full)?;
        match &info {
            Some(i) => self.topics.lock().insert(full, i.clone()),
            None => self.topics.lock().remove(&full),
        };
        Ok(info.map(|i| TopicInfo {
            name: name.to_string(),
            ..i
        }))
    }

    fn list_topics(&self) -> Result<Vec<TopicInfo>> {
        let md = self
            .meta
            .fetch_metadata(None, self.timeout())
            .map_err(|e| kafka_err("cannot list topics", e))?;
        let prefix = &self.config.topic_prefix;
        let mut out: Vec<TopicInfo> = md
            .topics()
            .iter()
            .filter(|t| t.error().is_none() && !t.partitions().is_empty())
            .filter_map(|t| {
                let name = t.name().strip_prefix(prefix.as_str())?;
                if name.starts_with("__") {
                    return None;
                }
                Some(TopicInfo {
                    name: name.to_string(),
                    partitions: t.partitions().len() as i32,
                    replicas: t.partitions()[0].replicas().len().max(1) as i16,
                    compact: self.topics.lock().get(t.name()).is_some_and(|i| i.compact),
                })
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn delete_topic(&self, name: &str) -> Result<()> {
        let full = self.full(name);
        if self.fetch_topic(&full)?.is_none() {
            return Err(Error::log(format!("Topic {name} does not exist")));
        }
        self.await_acks()?;
        // Consumers still assigned to a deleted topic can crash in
        // librdkafka on the metadata that follows (seen with Tansu): let
        // this process's readers go first.
        self.readers.lock().retain(|(t, _), _| *t != full);
        let opts = AdminOptions::new().operation_timeout(Some(self.timeout()));
        let results = futures_executor::block_on(self.admin.delete_topics(&[&full], &opts))
            .map_err(|e| kafka_err(&format!("cannot delete topic {name}"), e))?;
        for r in results {
            if let Err((_, code)) = r {
                return Err(Error::log(format!("cannot delete topic {name}: {code}")));
            }
        }
        self.topics.lock().remove(&full);
        self.acks.acks.lock().ends.remove(&full);
        self.await_metadata(&full, false)
    }

    fn append(&self, topic: &str, partition: Option<i32>, record: Record) -> Result<(i32, i64)> {
        self.append_record(topic, partition, &record)
    }

    fn append_or_return(
        &self,
        topic: &str,
        partition: Option<i32>,
        record: Record,
    ) -> std::result::Result<(i32, i64), (Error, Record)> {
        // The producer copies the bytes it is handed: the record needs no
        // copy of its own to be given back after a failure.
        self.append_record(topic, partition, &record)
            .map_err(|e| (e, record))
    }

    fn read(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max: usize,
    ) -> Result<Vec<StoredRecord>> {
        let full = self.full(topic);
        // What this process knows is there: the reader must not stop short
        // of it. Its writes still in flight are waited for only when
        // nothing else is left to read, so a reader sees all this process
        // wrote before it read. A query's internal repartition topic (which
        // only that query reads, in its next steps) is not waited for: the
        // query reads what was acknowledged so far while its latest writes
        // travel.
        let (known_end, mut unacked) = {
            let acks = self.acks.acks.lock();
            (
                acks.end(&full, partition).unwrap_or(0),
                acks.in_flight(&full) > 0 && !full.ends_with("-repartition"),
            )
        };
        let mut reader = self.take_reader(&full, partition, offset)?;
        let mut out = Vec::new();
        let deadline = Instant::now() + self.timeout();
        let mut must_reach = known_end.max(reader.end_hint);
        let result = loop {
            if out.len() >= max {
                break Ok(());
            }
            // Wait only while records known to exist have not arrived;
            // later ones (from other processes) come with later reads.
            let must_wait = out.is_empty() && reader.next < must_reach;
            let wait = if must_wait {
                Duration::from_millis(20)
            } else {
                Duration::ZERO
            };
            match reader.consumer.poll(wait) {
                Some(Ok(m)) => {
                    if m.offset() < reader.next {
                        continue;
                    }
                    reader.next = m.offset() + 1;
                    out.push(stored(&m));
                }
                Some(Err(KafkaError::PartitionEOF(_))) => {
                    // An end reported before the latest writes is stale;
                    // one at or past what must be reached means nothing
                    // is left (control records can make the end lie past
                    // the last record).
                    let position = reader
                        .consumer
                        .position()
                        .ok()
                        .and_then(|tpl| {
                            tpl.find_partition(&full, partition)
                                .and_then(|e| e.offset().to_raw())
                        })
                        .unwrap_or(reader.next);
                    if out.is_empty() && position >= must_reach {
                        if !unacked {
                            break Ok(());
                        }
                        match self.caught_up(&full, partition) {
                            Ok(end) => must_reach = must_reach.max(end),
                            Err(e) => break Err(e),
                        }
                        unacked = false;
                    }
                }
                Some(Err(e)) if transient(&e) => {
                    // librdkafka reconnects by itself; the read goes on
                    // (a loaded machine can drop a connection for a moment).
                    tracing::debug!("reading topic {topic}: {e}");
                }
                Some(Err(e)) => break Err(kafka_err(&format!("cannot read topic {topic}"), e)),
                None if !must_wait => {
                    if !(out.is_empty() && unacked) {
                        break Ok(());
                    }
                    match self.caught_up(&full, partition) {
                        Ok(end) => must_reach = must_reach.max(end),
                        Err(e) => break Err(e),
                    }
                    unacked = false;
                }
                None if Instant::now() >= deadline => {
                    break Err(Error::log(format!(
                        "timed out reading topic {topic} partition {partition} at offset {offset}"
                    )))
                }
                None => {}
            }
        };
        if result.is_ok() {
            self.readers
                .lock()
                .entry((full, partition))
                .or_default()
                .push(reader);
        }
        result.map(|()| out)
    }

    fn end_offset(&self, topic: &str, partition: i32) -> Result<i64> {
        let full = self.full(topic);
        self.await_topic(&full)?;
        let (_, high) = self
            .meta
            .fetch_watermarks(&full, partition, self.timeout())
            .map_err(|e| kafka_err(&format!("cannot read the end of {topic}"), e))?;
        Ok(high)
    }

    fn acknowledged_end(&self, topic: &str, partition: i32) -> Option<i64> {
        let full = self.full(topic);
        self.acks.acks.lock().end(&full, partition)
    }

    fn start_offset(&self, topic: &str, partition: i32) -> Result<i64> {
        let full = self.full(topic);
        self.await_topic(&full)?;
        let (low, _) = self
            .meta
            .fetch_watermarks(&full, partition, self.timeout())
            .map_err(|e| kafka_err(&format!("cannot read the start of {topic}"), e))?;
        Ok(low)
    }

    fn commit(&self, group: &str, topic: &str, partition: i32, offset: i64) -> Result<()> {
        self.commit_offsets(group, &[(topic.to_string(), partition, offset)])
    }

    fn commit_offsets(&self, group: &str, offsets: &[(String, i32, i64)]) -> Result<()> {
        // Results first: offsets are committed only after everything written
        // before them is acknowledged.
        self.await_acks()?;
        let mut tpl = TopicPartitionList::new();
        for (topic, p, o) in offsets {
            tpl.add_partition_offset(&self.full(topic), *p, Offset::Offset(*o))
                .map_err(|e| kafka_err("bad offset", e))?;
        }
        let member = self.members.lock().get(&self.full(group)).cloned();
        let committed = match member {
            Some(member) => member.commit(&tpl, CommitMode::Sync),
            None => self.group_client(group)?.commit(&tpl, CommitMode::Sync),
        };
        committed.map_err(|e| kafka_err(&format!("cannot commit offsets of group {group}"), e))
    }

    fn committed(&self, group: &str, topic: &str, partition: i32) -> Result<Option<i64>> {
        let client = self.group_client(group)?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(&self.full(topic), partition);
        let got = client
            .committed_offsets(tpl, self.timeout())
            .map_err(|e| kafka_err(&format!("cannot read offsets of group {group}"), e))?;
        Ok(got.elements().first().and_then(|e| match e.offset() {
            Offset::Offset(o) => Some(o),
            _ => None,
        }))
    }

    fn append_seq(&self) -> u64 {
        *self.seq.lock()
    }

    fn wait_for_append(&self, seen: u64, timeout: Duration) -> u64 {
        // Other processes' writes are not announced: wake at least every
        // few milliseconds so readers poll the cluster.
        let mut seq = self.seq.lock();
        if *seq <= seen {
            self.appended
                .wait_for(&mut seq, timeout.min(Duration::from_millis(10)));
        }
        *seq
    }

    fn flush(&self) -> Result<()> {
        self.await_acks()
    }

    fn join_group(&self, group: &str, topics: &[String]) -> Result<Option<Box<dyn GroupMember>>> {
        let full = self.full(group);
        let mut config = ClientConfig::new();
        // Sticky, so partitions stay where they are while their owner
        // lives; short sessions, so a dead owner's partitions move soon.
        config
            .set("partition.assignment.strategy", "cooperative-sticky")
            .set("session.timeout.ms", "6000")
            .set("heartbeat.interval.ms", "500")
            // Also bounds how long a rebalance waits for members that
            // left in the middle of joining.
            .set("max.poll.interval.ms", "30000");
        let mut config = self.config.client_over(config);
        config
            .set("group.id", &full)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false");
        let consumer: BaseConsumer<MemberContext> = config
            .create_with_context(MemberContext::default())
            .map_err(|e| kafka_err("cannot create a Kafka consumer", e))?;
        let names: Vec<String> = topics.iter().map(|t| self.full(t)).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        consumer
            .subscribe(&refs)
            .map_err(|e| kafka_err(&format!("cannot join group {group}"), e))?;
        let consumer = Arc::new(consumer);
        self.members.lock().insert(full.clone(), consumer.clone());
        Ok(Some(Box::new(KafkaMember {
            consumer,
            group: full,
            prefix: self.config.topic_prefix.clone(),
            members: self.members.clone(),
            owned: Vec::new(),
        })))
    }

    fn hand_off(&self, _topic: &str) -> Result<()> {
        self.await_acks()
    }

    fn transactional_writer(&self, id: &str, group: &str) -> Result<Option<Box<dyn TxnWriter>>> {
        let written = Arc::new(AckBook::default());
        let producer: acks::Producer = self
            .config
            .client_over(producer_defaults())
            .set("transactional.id", self.full(id))
            .create_with_context(Delivery {
                book: written.clone(),
            })
            .map_err(|e| kafka_err("cannot create a transactional Kafka producer", e))?;
        // Fences any earlier writer with this id (a process that lost the
        // query but does not know it yet).
        producer.init_transactions(self.timeout()).map_err(|e| {
            kafka_err(
                &format!("cannot start transactions as {id} (does the cluster support them?)"),
                e,
            )
        })?;
        Ok(Some(Box::new(KafkaTxnWriter {
            producer,
            written,
            committed: self.acks.clone(),
            open: false,
            group: self.full(group),
            fallback_group: self.group_client(group)?,
            members: self.members.clone(),
            prefix: self.config.topic_prefix.clone(),
            partitions: HashMap::new(),
            timeout: self.timeout(),
        })))
    }
}

fn stored(m: &rdkafka::message::BorrowedMessage<'_>) -> StoredRecord {
    let headers = m
        .headers()
        .map(|hs| {
            hs.iter()
                .map(|h| Header {
                    key: h.key.to_string(),
                    value: h.value.map(|v| v.to_vec()),
                })
                .collect()
        })
        .unwrap_or_default();
    StoredRecord {
        partition: m.partition(),
        offset: m.offset(),
        record: Record {
            key: m.key().map(|k| k.to_vec()),
            value: m.payload().map(|v| v.to_vec()),
            timestamp: m.timestamp().to_millis().unwrap_or(0),
            headers,
        },
    }
}
