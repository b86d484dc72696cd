//! A producer's acknowledgements, kept as they arrive, and the blocking
//! waits on them.
//!
//! Producers are librdkafka's with a polling thread of their own
//! (`ThreadedProducer`): that thread blocks on librdkafka's event queue and
//! runs the delivery callback as each batch is acknowledged; the callback
//! updates the [`AckBook`] and wakes whoever waits on it (a condition
//! variable). Nobody polls in a loop: a task hands records over and goes on
//! computing, and only a commit (or a read of a topic this process wrote)
//! waits, asleep, for exactly the acknowledgements it needs.

use super::super::Record;
use crate::error::{Error, Result};
use parking_lot::{Condvar, Mutex};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header as KHeader, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the acknowledgements say so far.
#[derive(Default)]
pub(super) struct Acks {
    /// Per full topic name, per partition: one past the highest
    /// acknowledged offset.
    pub ends: HashMap<String, HashMap<i32, i64>>,
    /// Records handed to the producer and not yet acknowledged (or
    /// failed), per full topic name.
    in_flight: HashMap<String, u64>,
    /// Their sum.
    total: u64,
    /// The first delivery failure not yet reported.
    pub failure: Option<String>,
}

impl Acks {
    /// One past the highest acknowledged offset of a partition.
    pub fn end(&self, full: &str, partition: i32) -> Option<i64> {
        self.ends.get(full)?.get(&partition).copied()
    }

    /// Records to a topic not yet acknowledged.
    pub fn in_flight(&self, full: &str) -> u64 {
        self.in_flight.get(full).copied().unwrap_or(0)
    }

    /// Raises a partition's acknowledged end to `end`.
    pub fn raise(&mut self, full: &str, partition: i32, end: i64) {
        let partitions = match self.ends.get_mut(full) {
            Some(p) => p,
            None => self.ends.entry(full.to_string()).or_default(),
        };
        let e = partitions.entry(partition).or_insert(0);
        *e = (*e).max(end);
    }

    fn settle(&mut self, full: &str) {
        if let Some(n) = self.in_flight.get_mut(full) {
            *n = n.saturating_sub(1);
        }
        self.total = self.total.saturating_sub(1);
    }
}

/// The acknowledgements of one producer, and a condition variable that is
/// signalled whenever one arrives.
#[derive(Default)]
pub(super) struct AckBook {
    pub acks: Mutex<Acks>,
    acked: Condvar,
}

impl AckBook {
    /// Notes a record handed to the producer (before it is, so that its
    /// acknowledgement can never come first).
    fn sending(&self, full: &str) {
        let mut acks = self.acks.lock();
        match acks.in_flight.get_mut(full) {
            Some(n) => *n += 1,
            None => {
                acks.in_flight.insert(full.to_string(), 1);
            }
        }
        acks.total += 1;
    }

    /// Takes back [`AckBook::sending`] for a record the producer refused.
    fn not_sent(&self, full: &str) {
        self.acks.lock().settle(full);
        self.acked.notify_all();
    }

    /// Waits until no record to `full` (or to any topic, with None) is
    /// unacknowledged, then reports the first delivery failure since the
    /// last report, if any.
    pub fn wait(&self, full: Option<&str>, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut acks = self.acks.lock();
        loop {
            let pending = match full {
                Some(t) => acks.in_flight.get(t).copied().unwrap_or(0),
                None => acks.total,
            };
            if pending == 0 {
                break;
            }
            if self.acked.wait_until(&mut acks, deadline).timed_out() {
                return Err(Error::log(format!(
                    "{pending} writes to Kafka were not acknowledged within {} s",
                    timeout.as_secs()
                )));
            }
        }
        match acks.failure.take() {
            Some(f) => Err(Error::log(f)),
            None => Ok(()),
        }
    }

    /// Waits until some acknowledgement arrives, for up to `timeout`.
    fn wait_for_any(&self, timeout: Duration) {
        let mut acks = self.acks.lock();
        if acks.total > 0 {
            self.acked.wait_for(&mut acks, timeout);
        }
    }
}

/// A producer's context: books each acknowledgement.
pub(super) struct Delivery {
    pub book: Arc<AckBook>,
}

impl ClientContext for Delivery {}

impl ProducerContext for Delivery {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let mut acks = self.book.acks.lock();
        match result {
            Ok(m) => {
                acks.raise(m.topic(), m.partition(), m.offset() + 1);
                acks.settle(m.topic());
            }
            Err((e, m)) => {
                if acks.failure.is_none() {
                    acks.failure = Some(format!(
                        "could not write to topic {} partition {}: {e}",
                        m.topic(),
                        m.partition()
                    ));
                }
                acks.settle(m.topic());
            }
        }
        drop(acks);
        self.book.acked.notify_all();
    }
}

/// A producer whose acknowledgements are served by its own thread.
pub(super) type Producer = ThreadedProducer<Delivery>;

/// Hands a record to a producer (full topic name, chosen partition); while
/// the producer's queue is full, waits for acknowledgements to make room,
/// for up to `timeout`.
pub(super) fn send(
    producer: &Producer,
    book: &AckBook,
    full: &str,
    partition: i32,
    record: &Record,
    timeout: Duration,
) -> std::result::Result<(), KafkaError> {
    let mut rec: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(full)
        .partition(partition)
        .timestamp(record.timestamp);
    // (An empty header list would still cost an allocation in librdkafka.)
    if !record.headers.is_empty() {
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
        for h in &record.headers {
            headers = headers.insert(KHeader {
                key: &h.key,
                value: h.value.as_deref(),
            });
        }
        rec = rec.headers(headers);
    }
    if let Some(k) = record.key.as_deref() {
        rec = rec.key(k);
    }
    if let Some(v) = record.value.as_deref() {
        rec = rec.payload(v);
    }
    let deadline = Instant::now() + timeout;
    loop {
        book.sending(full);
        match producer.send(rec) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                if Instant::now() < deadline =>
            {
                book.not_sent(full);
                rec = back;
                book.wait_for_any(Duration::from_millis(100));
            }
            Err((e, _)) => {
                book.not_sent(full);
                return Err(e);
            }
        }
    }
}
