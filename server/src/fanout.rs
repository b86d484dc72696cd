//! Push-query fan-out: every client's rows pass through a bounded
//! [`Subscriber`] buffer, and a client that falls [`SUBSCRIBER_BUFFER`]
//! rows behind is disconnected with a message rather than slowing anyone.
//! Clients asking the same shareable push query (same text, properties,
//! variables and response format; see `PushQuery::shareable`) share one
//! running query, a [`Group`]: each row is encoded once and the same bytes
//! go to every subscriber, each row its own chunk or DATA frame; while rows
//! keep coming, they are handed over in rounds a few milliseconds apart
//! (see [`LINGER_PER_SUBSCRIBER`]).

use crate::query::{Format, QueryRegistry};
use axum::body::Bytes;
use sluice_engine::{PushQuery, ResultColumn};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

/// Rows a client may have waiting before it is disconnected as too slow.
pub const SUBSCRIBER_BUFFER: usize = 4096;
/// How long a group waits for rows before checking for closed and
/// departed subscribers.
const POLL: Duration = Duration::from_millis(100);
/// While rows keep coming, each round of deliveries waits this long per
/// subscriber (up to [`MAX_LINGER`]) for more rows to go with it: a round
/// costs every subscriber a wake-up and a write, whatever its size, so
/// this bounds those to a share of the CPU while adding a few
/// milliseconds at most to a row's latency. Each row is still its own
/// chunk or DATA frame.
const LINGER_PER_SUBSCRIBER: Duration = Duration::from_micros(10);
const MAX_LINGER: Duration = Duration::from_millis(5);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One client's end of a push query: a bounded buffer of chunks, the last
/// chunk (end of the response, an error, or the slow-client message), and
/// the flag `/close-query` sets.
pub struct Subscriber {
    id: String,
    rows: mpsc::Sender<Bytes>,
    last: Arc<Mutex<Option<Bytes>>>,
    closed: Arc<AtomicBool>,
}

/// What a client's response body reads: the buffered chunks, then the last
/// one.
pub struct Delivery {
    rows: mpsc::Receiver<Bytes>,
    last: Arc<Mutex<Option<Bytes>>>,
}

/// A new subscriber and the delivery its response reads.
pub fn subscriber(id: &str, closed: Arc<AtomicBool>) -> (Subscriber, Delivery) {
    let (tx, rx) = mpsc::channel(SUBSCRIBER_BUFFER);
    let last = Arc::new(Mutex::new(None));
    (
        Subscriber {
            id: id.to_string(),
            rows: tx,
            last: last.clone(),
            closed,
        },
        Delivery { rows: rx, last },
    )
}

impl Delivery {
    /// The next chunk: a buffered one, then the last one; None after it.
    pub async fn next(&mut self) -> Option<Bytes> {
        match self.rows.recv().await {
            Some(chunk) => Some(chunk),
            None => lock(&self.last).take(),
        }
    }
}

/// A query's answer: chunks delivered as a running query produces them, or
/// all of them at once.
pub enum Answer {
    /// From a query running elsewhere.
    Streamed(Delivery),
    /// Complete (a lookup answered in place).
    Ready(std::collections::VecDeque<Bytes>),
}

impl Answer {
    /// The next chunk; None at the end.
    pub async fn next(&mut self) -> Option<Bytes> {
        match self {
            Answer::Streamed(d) => d.next().await,
            Answer::Ready(chunks) => chunks.pop_front(),
        }
    }

    /// The chunks as a response body stream.
    pub fn into_stream(self) -> impl futures_util::Stream<Item = Result<Bytes, Infallible>> {
        futures_util::stream::unfold(self, |mut answer| async move {
            answer.next().await.map(|chunk| (Ok(chunk), answer))
        })
    }
}

/// What became of a chunk offered to a subscriber.
#[derive(Debug, PartialEq, Eq)]
pub enum Offer {
    /// Buffered.
    Taken,
    /// The client is gone or closed the query: stop.
    Gone,
    /// The buffer is full: the client was disconnected as too slow.
    Overflowed,
}

impl Subscriber {
    /// The query id this client was given.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether `/close-query` named this client's query, or the client left.
    pub fn closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst) || self.rows.is_closed()
    }

    /// Buffers a chunk without waiting; on overflow the client's response
    /// ends with the slow-client message after what it has buffered.
    pub fn offer(&self, chunk: Bytes, format: Format) -> Offer {
        match self.rows.try_send(chunk) {
            Ok(()) => Offer::Taken,
            Err(TrySendError::Closed(_)) => Offer::Gone,
            Err(TrySendError::Full(_)) => {
                tracing::info!(query_id = self.id.as_str(), "slow push client disconnected");
                self.finish(Some(format.error_chunk(
                    u64::from(crate::error::codes::SERVER_ERROR),
                    &format!(
                        "Push query {} disconnected: the client fell more than {SUBSCRIBER_BUFFER} rows behind",
                        self.id
                    ),
                )));
                Offer::Overflowed
            }
        }
    }

    /// The buffer's sending end, for answers that wait for room (a pull
    /// query's finite rows).
    pub fn sender(&self) -> mpsc::Sender<Bytes> {
        self.rows.clone()
    }

    /// Buffers a chunk if there is room (the header, before any row).
    pub fn send_now(&self, chunk: Bytes) -> bool {
        self.rows.try_send(chunk).is_ok()
    }

    /// Sets the response's last chunk (sent once the buffer drains); the
    /// response ends when the subscriber is dropped.
    pub fn finish(&self, last: Option<Bytes>) {
        *lock(&self.last) = last;
    }
}

/// A running shared push query and its subscribers.
struct Group {
    columns: Vec<ResultColumn>,
    /// The query id the clients' ids are made from (`transient_S`).
    id_prefix: String,
    subscribers: Mutex<Vec<Subscriber>>,
}

/// The shared push queries, by what makes two requests the same query.
#[derive(Clone, Default)]
pub struct Fanout {
    groups: Arc<Mutex<HashMap<String, Arc<Group>>>>,
    next_id: Arc<AtomicU64>,
}

impl Fanout {
    /// How many shared queries run.
    pub fn groups(&self) -> usize {
        lock(&self.groups).len()
    }

    /// Adds a client to the running query `key` names, if one runs: it is
    /// given its own query id (registered with `registry`) and its header,
    /// and then every row the query produces. Returns the delivery its
    /// response reads.
    pub fn join(&self, key: &str, format: Format, registry: &QueryRegistry) -> Option<Delivery> {
        let groups = lock(&self.groups);
        let group = groups.get(key)?;
        let id = format!(
            "{}_{}",
            group.id_prefix,
            self.next_id.fetch_add(1, Ordering::Relaxed)
        );
        let closed = registry.register(&id);
        let (sub, delivery) = subscriber(&id, closed);
        let header = format.header(&id, &group.columns, false);
        if !sub.send_now(Bytes::from(header)) {
            registry.remove(&id);
            return None;
        }
        lock(&group.subscribers).push(sub);
        tracing::debug!(query_id = id.as_str(), "joined a shared push query");
        Some(delivery)
    }

    /// Runs a shareable push query for its first client (whose header was
    /// sent) and every client that joins it under `key`, until the last one
    /// leaves or the query fails. Blocks: call it on a blocking thread.
    pub fn serve(
        &self,
        key: String,
        mut query: PushQuery,
        format: Format,
        first: Subscriber,
        registry: &QueryRegistry,
    ) {
        let engine_id = query.query_id();
        let id_prefix = engine_id
            .rsplit_once('_')
            .map_or(engine_id.as_str(), |(p, _)| p)
            .to_string();
        self.next_id.fetch_max(now_ms() * 1000, Ordering::Relaxed);
        let group = Arc::new(Group {
            columns: query.columns(),
            id_prefix,
            subscribers: Mutex::new(vec![first]),
        });
        // A group started meanwhile by another client keeps the key; this
        // one then serves its own client alone.
        let listed = {
            let mut groups = lock(&self.groups);
            if groups.contains_key(&key) {
                false
            } else {
                groups.insert(key.clone(), group.clone());
                true
            }
        };
        let end = loop {
            let mut chunks: Vec<Bytes> = Vec::new();
            let mut wait = POLL;
            let mut deadline = None;
            let ended = loop {
                match query.next_changes(wait) {
                    Ok(Some(rows)) => {
                        chunks.extend(rows.iter().map(|row| Bytes::from(format.push_row(row))))
                    }
                    Ok(None) => break Some(format.end(true).map(Bytes::from)),
                    Err(e) => {
                        tracing::warn!(error = %e, "shared push query failed");
                        break Some(Some(Bytes::from(format.error(&e))));
                    }
                }
                if chunks.is_empty() {
                    break None;
                }
                // Rows that arrive within the linger go out with these.
                let n = lock(&group.subscribers).len() as u32;
                let until = *deadline.get_or_insert_with(|| {
                    Instant::now() + (LINGER_PER_SUBSCRIBER * n).min(MAX_LINGER)
                });
                match until.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => wait = left,
                    _ => break None,
                }
            };
            if let Some(end) = ended {
                deliver(&group, &chunks, format, registry);
                break end;
            }
            if deliver(&group, &chunks, format, registry) {
                continue;
            }
            // Nobody is left: stop, unless a client joined meanwhile.
            if !listed {
                break None;
            }
            let mut groups = lock(&self.groups);
            if lock(&group.subscribers).is_empty() {
                groups.remove(&key);
                break None;
            }
        };
        if listed {
            let mut groups = lock(&self.groups);
            if groups.get(&key).is_some_and(|g| Arc::ptr_eq(g, &group)) {
                groups.remove(&key);
            }
        }
        for sub in lock(&group.subscribers).drain(..) {
            sub.finish(end.clone());
            registry.remove(&sub.id);
        }
        tracing::debug!(query_id = engine_id.as_str(), "shared push query ended");
    }
}

/// Offers the rows to every subscriber, ending the responses of those that
/// closed, left or overflowed; false when none is left.
fn deliver(group: &Group, chunks: &[Bytes], format: Format, registry: &QueryRegistry) -> bool {
    let mut subs = lock(&group.subscribers);
    subs.retain(|sub| {
        if sub.closed() {
            sub.finish(format.end(false).map(Bytes::from));
            registry.remove(&sub.id);
            return false;
        }
        for chunk in chunks {
            if sub.offer(chunk.clone(), format) != Offer::Taken {
                registry.remove(&sub.id);
                return false;
            }
        }
        true
    });
    !subs.is_empty()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn an_overflowing_subscriber_ends_with_the_slow_client_message() {
        let (sub, delivery) = subscriber("q1", Arc::new(AtomicBool::new(false)));
        for i in 0..SUBSCRIBER_BUFFER {
            assert_eq!(
                sub.offer(Bytes::from(format!("[{i}]\n")), Format::Delimited),
                Offer::Taken
            );
        }
        assert_eq!(
            sub.offer(Bytes::from("[x]\n"), Format::Delimited),
            Offer::Overflowed
        );
        drop(sub);
        let chunks: Vec<Bytes> = Answer::Streamed(delivery)
            .into_stream()
            .map(|c| c.unwrap_or_default())
            .collect()
            .await;
        assert_eq!(chunks.len(), SUBSCRIBER_BUFFER + 1);
        assert_eq!(chunks[0], "[0]\n");
        let last: serde_json::Value =
            serde_json::from_slice(&chunks[SUBSCRIBER_BUFFER]).expect("JSON");
        assert_eq!(last["error_code"], 50000);
        assert!(last["message"]
            .as_str()
            .is_some_and(|m| m.contains("q1 disconnected")));
    }

    #[tokio::test]
    async fn a_closed_subscriber_is_gone() {
        let closed = Arc::new(AtomicBool::new(false));
        let (sub, delivery) = subscriber("q2", closed.clone());
        assert!(!sub.closed());
        closed.store(true, Ordering::SeqCst);
        assert!(sub.closed());
        let (sub2, delivery2) = subscriber("q3", Arc::new(AtomicBool::new(false)));
        drop(delivery2);
        assert!(sub2.closed());
        assert_eq!(sub2.offer(Bytes::from("x"), Format::Delimited), Offer::Gone);
        drop((sub, delivery));
    }
}
