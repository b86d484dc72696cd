//! The benchmark workloads: each one's Sluice SQL, the events it consumes,
//! the reference answer computed in plain Rust from those same events, and
//! how Sluice's output topic is read back to compare with it.
//!
//! Nexmark events live on three topics (`person`, `auction`, `bid`) with
//! JSON values and the event time as record timestamp; each query reads
//! only the topics it needs (the others' events still advance event time).
//! Where ksqlDB's dialect cannot say a Nexmark query as written, the
//! closest formulation is used and said so on the workload.

use crate::events::{self, topics, Event, GenConfig, Nexmark};
use crate::peer::{self, PeerQuery};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use sluice_engine::Engine;
use std::collections::{BTreeMap, HashMap};

/// Window sizes and join bounds, in ms of event time.
const Q5_SIZE_MS: i64 = 10_000;
const Q5_ADVANCE_MS: i64 = 2_000;
const Q7_SIZE_MS: i64 = 10_000;
const Q8_SIZE_MS: i64 = 10_000;
const COUNT_SIZE_MS: i64 = 300_000;
/// Users of the enrichment workload, and its pages.
pub const ENRICH_USERS: u64 = 10_000;
const ENRICH_PAGES: u64 = 1_000;
/// Distinct keys of the windowed-count workload.
pub const COUNT_KEYS: u64 = 100_000;

/// One benchmark workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    Q0,
    Q1,
    Q2,
    Q3,
    Q4,
    Q5,
    Q7,
    Q8,
    Enrich,
    Count,
    /// The peer comparison's queries ([`crate::peer`]).
    Peer(PeerQuery),
}

/// What a workload's output should hold, in a canonical form.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// A stream: its rows as a multiset (sorted canonical JSON texts).
    Rows(Vec<String>),
    /// A table: the final value of every key (canonical key text to value
    /// cells; numbers compare with a relative tolerance of 1e-9).
    Table(BTreeMap<String, Vec<Value>>),
}

impl Workload {
    /// Every workload, in suite order.
    pub const ALL: [Workload; 15] = [
        Workload::Q0,
        Workload::Q1,
        Workload::Q2,
        Workload::Q3,
        Workload::Q4,
        Workload::Q5,
        Workload::Q7,
        Workload::Q8,
        Workload::Enrich,
        Workload::Count,
        Workload::Peer(PeerQuery::Filter),
        Workload::Peer(PeerQuery::Tumble { final_only: false }),
        Workload::Peer(PeerQuery::Tumble { final_only: true }),
        Workload::Peer(PeerQuery::Hop { final_only: false }),
        Workload::Peer(PeerQuery::Hop { final_only: true }),
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Q0 => "q0",
            Workload::Q1 => "q1",
            Workload::Q2 => "q2",
            Workload::Q3 => "q3",
            Workload::Q4 => "q4",
            Workload::Q5 => "q5",
            Workload::Q7 => "q7",
            Workload::Q8 => "q8",
            Workload::Enrich => "enrich",
            Workload::Count => "count",
            Workload::Peer(PeerQuery::Filter) => "peer-filter",
            Workload::Peer(PeerQuery::Tumble { final_only: false }) => "peer-tumble",
            Workload::Peer(PeerQuery::Tumble { final_only: true }) => "peer-tumble-final",
            Workload::Peer(PeerQuery::Hop { final_only: false }) => "peer-hop",
            Workload::Peer(PeerQuery::Hop { final_only: true }) => "peer-hop-final",
        }
    }

    /// The workload of a name.
    pub fn parse(name: &str) -> Option<Workload> {
        Workload::ALL
            .into_iter()
            .find(|w| w.name().eq_ignore_ascii_case(name))
    }

    /// One line on what it measures.
    pub fn about(self) -> &'static str {
        match self {
            Workload::Q0 => "Nexmark q0: pass-through of bids",
            Workload::Q1 => "Nexmark q1: bid prices converted (price * 0.908)",
            Workload::Q2 => "Nexmark q2: bids on auctions with id % 123 = 0",
            Workload::Q3 => "Nexmark q3: local item suggestion (FK table-table join)",
            Workload::Q4 => {
                "Nexmark q4: average winning price per category (join + 2 aggregations)"
            }
            Workload::Q5 => "Nexmark q5: bids per auction, hopping 10 s / 2 s windows",
            Workload::Q7 => "Nexmark q7: highest bid per 10 s tumbling window",
            Workload::Q8 => {
                "Nexmark q8: new users who opened auctions (windowed stream-stream join)"
            }
            Workload::Enrich => {
                "ksqlDB: page views enriched with a users table (stream-table join)"
            }
            Workload::Count => "ksqlDB: COUNT per key over 5 min tumbling windows, 100k keys",
            Workload::Peer(PeerQuery::Filter) => "peer: filter + projection of 200-byte JSON rows",
            Workload::Peer(PeerQuery::Tumble { final_only }) => {
                if final_only {
                    "peer: COUNT/SUM per user, tumbling 10 s, EMIT FINAL"
                } else {
                    "peer: COUNT/SUM per user, tumbling 10 s, EMIT CHANGES"
                }
            }
            Workload::Peer(PeerQuery::Hop { final_only }) => {
                if final_only {
                    "peer: COUNT/SUM per user, hopping 30 s / 5 s, EMIT FINAL"
                } else {
                    "peer: COUNT/SUM per user, hopping 30 s / 5 s, EMIT CHANGES"
                }
            }
        }
    }

    /// Input events of a default benchmark run. `--all` took 7 min 10 s on
    /// two shared cores with these; they are bounded by memory rather
    /// than time: the embedded log keeps every topic (input, output,
    /// changelogs) in memory, so each workload peaks at about 2-3 GiB.
    pub fn default_events(self) -> u64 {
        match self {
            Workload::Q0 | Workload::Q1 => 3_000_000,
            Workload::Q2 => 5_000_000,
            Workload::Q3 | Workload::Q4 | Workload::Q5 | Workload::Q8 => 2_000_000,
            Workload::Q7 | Workload::Enrich | Workload::Count => 4_000_000,
            Workload::Peer(_) => 5_000_000,
        }
    }

    /// The topics whose events the workload appends (other generated events
    /// are skipped but still advance event time).
    pub fn inputs(self) -> &'static [&'static str] {
        match self {
            Workload::Q0 | Workload::Q1 | Workload::Q2 | Workload::Q5 | Workload::Q7 => {
                &[topics::BID]
            }
            Workload::Q3 | Workload::Q8 => &[topics::PERSON, topics::AUCTION],
            Workload::Q4 => &[topics::AUCTION, topics::BID],
            Workload::Enrich => &[topics::PAGEVIEWS],
            Workload::Count => &[topics::CLICKS],
            Workload::Peer(_) => &[peer::TOPIC],
        }
    }

    /// The topic holding the result that is checked.
    pub fn output(self) -> &'static str {
        match self {
            Workload::Q0 => "Q0",
            Workload::Q1 => "Q1",
            Workload::Q2 => "Q2",
            Workload::Q3 => "Q3",
            Workload::Q4 => "Q4",
            Workload::Q5 => "Q5",
            Workload::Q7 => "Q7",
            Workload::Q8 => "Q8",
            Workload::Enrich => "ENRICHED",
            Workload::Count => "CLICK_COUNTS",
            Workload::Peer(PeerQuery::Filter) => "PEER_FILTER",
            Workload::Peer(PeerQuery::Tumble { final_only: false }) => "PEER_TUMBLE",
            Workload::Peer(PeerQuery::Tumble { final_only: true }) => "PEER_TUMBLE_FINAL",
            Workload::Peer(PeerQuery::Hop { final_only: false }) => "PEER_HOP",
            Workload::Peer(PeerQuery::Hop { final_only: true }) => "PEER_HOP_FINAL",
        }
    }

    /// The statements that declare the sources and start the queries.
    pub fn sql(self, config: &GenConfig) -> String {
        let mut sql = String::new();
        let with = |topic: &str| {
            format!("WITH (kafka_topic='{topic}', value_format='JSON', partitions=1)")
        };
        const PERSON_COLS: &str = "name STRING, email STRING, credit_card STRING, city STRING, \
             state STRING, date_time BIGINT, extra STRING";
        const AUCTION_COLS: &str = "item_name STRING, description STRING, initial_bid BIGINT, \
             reserve BIGINT, date_time BIGINT, expires BIGINT, seller BIGINT, category BIGINT, \
             extra STRING";
        const BID_COLS: &str = "auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, \
             url STRING, date_time BIGINT, extra STRING";
        let person_stream = format!(
            "CREATE STREAM person (id BIGINT KEY, {PERSON_COLS}) {};\n",
            with(topics::PERSON)
        );
        let auction_stream = format!(
            "CREATE STREAM auction (id BIGINT KEY, {AUCTION_COLS}) {};\n",
            with(topics::AUCTION)
        );
        let bid_stream = format!("CREATE STREAM bid ({BID_COLS}) {};\n", with(topics::BID));
        match self {
            Workload::Peer(q) => sql += &q.sql(self.output()),
            Workload::Q0 => {
                sql += &bid_stream;
                sql += "CREATE STREAM q0 AS SELECT * FROM bid EMIT CHANGES;";
            }
            Workload::Q1 => {
                sql += &bid_stream;
                sql += "CREATE STREAM q1 AS SELECT auction, bidder, price * 0.908 AS price, \
                        date_time, extra FROM bid EMIT CHANGES;";
            }
            Workload::Q2 => {
                sql += &bid_stream;
                sql += "CREATE STREAM q2 AS SELECT auction, price FROM bid \
                        WHERE auction % 123 = 0 EMIT CHANGES;";
            }
            Workload::Q3 => {
                // Nexmark joins the whole history of people and auctions:
                // in ksqlDB terms two tables and a foreign-key join, whose
                // final state does not depend on arrival order.
                sql += &format!(
                    "CREATE TABLE person_t (id BIGINT PRIMARY KEY, {PERSON_COLS}) {};\n",
                    with(topics::PERSON)
                );
                sql += &format!(
                    "CREATE TABLE auction_t (id BIGINT PRIMARY KEY, {AUCTION_COLS}) {};\n",
                    with(topics::AUCTION)
                );
                sql += "CREATE TABLE q3 AS SELECT A.id AS id, P.name AS name, P.city AS city, \
                        P.state AS state FROM auction_t A JOIN person_t P ON A.seller = P.id \
                        WHERE A.category = 10 AND (P.state = 'OR' OR P.state = 'ID' \
                        OR P.state = 'CA') EMIT CHANGES;";
            }
            Workload::Q4 => {
                // Nexmark q4 as three persistent queries: bids joined with
                // their auction while it is open (a windowed stream-stream
                // join bounded by the longest auction), the winning (highest)
                // price per auction, and the average of those per category
                // (an aggregation over a table, retracting replaced maxima).
                let within = events::AUCTION_MAX_EVENTS * config.ms_per_event;
                sql += &auction_stream;
                sql += &bid_stream;
                sql += &format!(
                    "CREATE STREAM q4_bids AS SELECT A.id AS id, A.category AS category, \
                     B.price AS price FROM auction A JOIN bid B \
                     WITHIN (0 MILLISECONDS, {within} MILLISECONDS) ON A.id = B.auction \
                     WHERE B.date_time >= A.date_time AND B.date_time <= A.expires \
                     EMIT CHANGES;\n"
                );
                sql += "CREATE TABLE q4_winning AS SELECT id, LATEST_BY_OFFSET(category) AS \
                        category, MAX(price) AS final FROM q4_bids GROUP BY id EMIT CHANGES;\n";
                sql += "CREATE TABLE q4 AS SELECT category, AVG(final) AS avg_price \
                        FROM q4_winning GROUP BY category EMIT CHANGES;";
            }
            Workload::Q5 => {
                // Nexmark q5's core: bids per auction per hopping window.
                // Picking the top auction of each window needs a nested
                // query over the windowed table, which ksqlDB's dialect has
                // no way to say; the check covers every window's counts.
                sql += &bid_stream;
                sql += &format!(
                    "CREATE TABLE q5 AS SELECT auction, COUNT(*) AS num FROM bid \
                     WINDOW HOPPING (SIZE {Q5_SIZE_MS} MILLISECONDS, ADVANCE BY \
                     {Q5_ADVANCE_MS} MILLISECONDS) GROUP BY auction EMIT CHANGES;"
                );
            }
            Workload::Q7 => {
                // Nexmark q7 outputs the bids carrying each window's highest
                // price, which needs a join back to the windowed maximum
                // (not expressible in ksqlDB); this is the maximum itself.
                // A global aggregation needs a GROUP BY: every bid gets the
                // same group, `auction * 0`.
                sql += &bid_stream;
                sql += &format!(
                    "CREATE TABLE q7 AS SELECT auction * 0 AS all_bids, MAX(price) AS max_price \
                     FROM bid WINDOW TUMBLING (SIZE {Q7_SIZE_MS} MILLISECONDS) \
                     GROUP BY auction * 0 EMIT CHANGES;"
                );
            }
            Workload::Q8 => {
                // Nexmark q8 joins people and auctions of the same tumbling
                // window. ksqlDB's joins use sliding windows (WITHIN), so
                // the join is bounded by the window size and the pair is
                // kept when both fall in the same tumbling window.
                sql += &person_stream;
                sql += &auction_stream;
                sql += &format!(
                    "CREATE STREAM q8 AS SELECT P.id AS id, P.name AS name, A.id AS auction_id, \
                     (P.date_time / {Q8_SIZE_MS}) * {Q8_SIZE_MS} AS starttime \
                     FROM person P JOIN auction A WITHIN {Q8_SIZE_MS} MILLISECONDS \
                     ON P.id = A.seller \
                     WHERE P.date_time / {Q8_SIZE_MS} = A.date_time / {Q8_SIZE_MS} \
                     EMIT CHANGES;"
                );
            }
            Workload::Enrich => {
                sql += &format!(
                    "CREATE TABLE users (userid STRING PRIMARY KEY, registertime BIGINT, \
                     gender STRING, regionid STRING) {};\n",
                    with(topics::USERS)
                );
                sql += &format!(
                    "CREATE STREAM pageviews (pageid STRING KEY, viewtime BIGINT, \
                     userid STRING) {};\n",
                    with(topics::PAGEVIEWS)
                );
                sql += "CREATE STREAM enriched AS SELECT pv.userid AS userid, pv.pageid AS \
                        pageid, pv.viewtime AS viewtime, u.regionid AS regionid, u.gender AS \
                        gender FROM pageviews pv JOIN users u ON pv.userid = u.userid \
                        EMIT CHANGES;";
            }
            Workload::Count => {
                sql += &format!(
                    "CREATE STREAM clicks (k STRING KEY, v BIGINT) {};\n",
                    with(topics::CLICKS)
                );
                sql += &format!(
                    "CREATE TABLE click_counts AS SELECT k, COUNT(*) AS n FROM clicks \
                     WINDOW TUMBLING (SIZE {COUNT_SIZE_MS} MILLISECONDS) GROUP BY k \
                     EMIT CHANGES;"
                );
            }
        }
        sql
    }

    /// Events appended (and processed) before measuring: the users table
    /// of the enrichment, nothing for the others.
    pub fn preload(self, config: &GenConfig) -> Vec<Event> {
        match self {
            Workload::Enrich => events::users(*config, ENRICH_USERS),
            _ => Vec::new(),
        }
    }

    /// The measured input: the first `n` generated events restricted to
    /// the workload's input topics.
    pub fn events(self, config: &GenConfig, n: u64) -> Box<dyn Iterator<Item = Event> + Send> {
        let inputs = self.inputs();
        match self {
            Workload::Enrich => {
                Box::new(events::pageviews(*config, ENRICH_USERS, ENRICH_PAGES).take(n as usize))
            }
            Workload::Count => Box::new(events::clicks(*config, COUNT_KEYS).take(n as usize)),
            Workload::Peer(_) => Box::new(peer::rows(*config).take(n as usize)),
            _ => Box::new(
                Nexmark::new(*config)
                    .filter(move |e| inputs.contains(&e.topic()))
                    .take(n as usize),
            ),
        }
    }

    /// The answer, computed directly from the events.
    pub fn reference(self, config: &GenConfig, preload: &[Event], events: &[Event]) -> Expected {
        let bids = || {
            events.iter().filter_map(|e| match e {
                Event::Bid(b) => Some(b),
                _ => None,
            })
        };
        let rows = |mut v: Vec<Value>| {
            let mut rows: Vec<String> = v.drain(..).map(|r| r.to_string()).collect();
            rows.sort();
            Expected::Rows(rows)
        };
        match self {
            Workload::Peer(q) => match q.reference(events) {
                peer::Reference::Rows(r) => rows(r),
                peer::Reference::Table(t) => Expected::Table(t),
            },
            Workload::Q0 => rows(
                bids()
                    .map(|b| {
                        json!([
                            b.auction,
                            b.bidder,
                            b.price,
                            b.channel,
                            b.url,
                            b.date_time,
                            ""
                        ])
                    })
                    .collect(),
            ),
            Workload::Q1 => rows(
                bids()
                    .map(|b| json!([b.auction, b.bidder, exact_908(b.price), b.date_time, ""]))
                    .collect(),
            ),
            Workload::Q2 => rows(
                bids()
                    .filter(|b| b.auction % 123 == 0)
                    .map(|b| json!([b.auction, b.price]))
                    .collect(),
            ),
            Workload::Q3 => {
                let mut persons = HashMap::new();
                let mut auctions = BTreeMap::new();
                for e in events {
                    match e {
                        Event::Person(p) => {
                            persons.insert(p.id, p);
                        }
                        Event::Auction(a) => {
                            auctions.insert(a.id, a);
                        }
                        _ => {}
                    }
                }
                let mut table = BTreeMap::new();
                for a in auctions.values().filter(|a| a.category == 10) {
                    if let Some(p) = persons.get(&a.seller) {
                        if ["OR", "ID", "CA"].contains(&p.state.as_str()) {
                            table.insert(
                                a.id.to_string(),
                                vec![json!(p.name), json!(p.city), json!(p.state)],
                            );
                        }
                    }
                }
                Expected::Table(table)
            }
            Workload::Q4 => {
                let within = events::AUCTION_MAX_EVENTS * config.ms_per_event;
                let auctions: HashMap<i64, &events::Auction> = events
                    .iter()
                    .filter_map(|e| match e {
                        Event::Auction(a) => Some((a.id, a)),
                        _ => None,
                    })
                    .collect();
                let mut winning: HashMap<i64, (i64, i64)> = HashMap::new();
                for b in bids() {
                    let Some(a) = auctions.get(&b.auction) else {
                        continue;
                    };
                    let open = b.date_time >= a.date_time && b.date_time <= a.expires;
                    if open && b.date_time - a.date_time <= within {
                        let w = winning.entry(a.id).or_insert((a.category, b.price));
                        w.1 = w.1.max(b.price);
                    }
                }
                let mut per_category: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
                for (category, price) in winning.values() {
                    let c = per_category.entry(*category).or_default();
                    c.0 += *price as f64;
                    c.1 += 1.0;
                }
                Expected::Table(
                    per_category
                        .into_iter()
                        .map(|(c, (sum, n))| (c.to_string(), vec![json!(sum / n)]))
                        .collect(),
                )
            }
            Workload::Q5 => {
                let mut counts: BTreeMap<(i64, i64), i64> = BTreeMap::new();
                for b in bids() {
                    let last_start = b.date_time - b.date_time.rem_euclid(Q5_ADVANCE_MS);
                    let mut start = last_start;
                    while start > b.date_time - Q5_SIZE_MS {
                        *counts.entry((b.auction, start)).or_default() += 1;
                        start -= Q5_ADVANCE_MS;
                    }
                }
                Expected::Table(
                    counts
                        .into_iter()
                        .map(|((a, w), n)| (format!("{a}@{w}"), vec![json!(n)]))
                        .collect(),
                )
            }
            Workload::Q7 => {
                let mut max: BTreeMap<i64, i64> = BTreeMap::new();
                for b in bids() {
                    let w = b.date_time - b.date_time.rem_euclid(Q7_SIZE_MS);
                    let m = max.entry(w).or_insert(b.price);
                    *m = (*m).max(b.price);
                }
                Expected::Table(
                    max.into_iter()
                        .map(|(w, m)| (format!("0@{w}"), vec![json!(m)]))
                        .collect(),
                )
            }
            Workload::Q8 => {
                let mut by_seller: HashMap<i64, Vec<&events::Auction>> = HashMap::new();
                for e in events {
                    if let Event::Auction(a) = e {
                        by_seller.entry(a.seller).or_default().push(a);
                    }
                }
                let mut out = Vec::new();
                for e in events {
                    let Event::Person(p) = e else { continue };
                    for a in by_seller.get(&p.id).into_iter().flatten() {
                        let close = (a.date_time - p.date_time).abs() <= Q8_SIZE_MS;
                        if close && p.date_time / Q8_SIZE_MS == a.date_time / Q8_SIZE_MS {
                            let start = (p.date_time / Q8_SIZE_MS) * Q8_SIZE_MS;
                            out.push(json!([p.id, p.name, a.id, start]));
                        }
                    }
                }
                rows(out)
            }
            Workload::Enrich => {
                let users: HashMap<&str, &events::User> = preload
                    .iter()
                    .filter_map(|e| match e {
                        Event::User(u) => Some((u.userid.as_str(), u)),
                        _ => None,
                    })
                    .collect();
                rows(
                    events
                        .iter()
                        .filter_map(|e| match e {
                            Event::PageView(v) => users.get(v.userid.as_str()).map(|u| {
                                json!([v.userid, v.pageid, v.viewtime, u.regionid, u.gender])
                            }),
                            _ => None,
                        })
                        .collect(),
                )
            }
            Workload::Count => {
                let mut counts: BTreeMap<(&str, i64), i64> = BTreeMap::new();
                for e in events {
                    if let Event::Click(c) = e {
                        let w = c.timestamp - c.timestamp.rem_euclid(COUNT_SIZE_MS);
                        *counts.entry((c.key.as_str(), w)).or_default() += 1;
                    }
                }
                Expected::Table(
                    counts
                        .into_iter()
                        .map(|((k, w), n)| (format!("{k}@{w}"), vec![json!(n)]))
                        .collect(),
                )
            }
        }
    }

    /// What Sluice wrote to the output topic, in the same canonical form
    /// as [`Workload::reference`].
    pub fn actual(self, engine: &Engine) -> Result<Expected> {
        let topic = self.output();
        let log = engine.log();
        let info = log
            .describe_topic(topic)?
            .ok_or_else(|| anyhow!("output topic {topic} does not exist"))?;
        let mut rows = Vec::new();
        let mut table: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for p in 0..info.partitions {
            for stored in log.read(topic, p, 0, usize::MAX)? {
                let (key, value) = engine
                    .decode_record_for_topic(topic, &stored.record)
                    .with_context(|| format!("decoding a record of {topic}"))?;
                let window = engine.record_window_for_topic(topic, &stored.record);
                let field = |name: &str| value.get(name).cloned().unwrap_or(Value::Null);
                let fields = |names: &[&str]| -> Value {
                    Value::Array(names.iter().map(|n| field(n)).collect())
                };
                let windowed_key = || match window {
                    Some((start, _, _)) => format!("{}@{start}", plain(&key)),
                    None => plain(&key),
                };
                match self {
                    Workload::Peer(q) => match q.actual(&key, window.map(|w| w.0), &value) {
                        peer::Actual::Row(r) => rows.push(r),
                        peer::Actual::Change(k, Some(cells)) => {
                            table.insert(k, cells);
                        }
                        peer::Actual::Change(k, None) => {
                            table.remove(&k);
                        }
                    },
                    Workload::Q0 => rows.push(fields(&[
                        "AUCTION",
                        "BIDDER",
                        "PRICE",
                        "CHANNEL",
                        "URL",
                        "DATE_TIME",
                        "EXTRA",
                    ])),
                    Workload::Q1 => rows.push(fields(&[
                        "AUCTION",
                        "BIDDER",
                        "PRICE",
                        "DATE_TIME",
                        "EXTRA",
                    ])),
                    Workload::Q2 => rows.push(fields(&["AUCTION", "PRICE"])),
                    Workload::Q8 => rows.push(json!([
                        key,
                        field("NAME"),
                        field("AUCTION_ID"),
                        field("STARTTIME")
                    ])),
                    Workload::Enrich => rows.push(json!([
                        key,
                        field("PAGEID"),
                        field("VIEWTIME"),
                        field("REGIONID"),
                        field("GENDER")
                    ])),
                    Workload::Q3 | Workload::Q4 | Workload::Q5 | Workload::Q7 | Workload::Count => {
                        let k = windowed_key();
                        if value.is_null() {
                            table.remove(&k);
                            continue;
                        }
                        let cells = match self {
                            Workload::Q3 => vec![field("NAME"), field("CITY"), field("STATE")],
                            Workload::Q4 => vec![field("AVG_PRICE")],
                            Workload::Q5 => vec![field("NUM")],
                            Workload::Q7 => vec![field("MAX_PRICE")],
                            _ => vec![field("N")],
                        };
                        table.insert(k, cells);
                    }
                }
            }
        }
        Ok(match self {
            Workload::Q0
            | Workload::Q1
            | Workload::Q2
            | Workload::Q8
            | Workload::Enrich
            | Workload::Peer(PeerQuery::Filter)
            | Workload::Peer(PeerQuery::Tumble { final_only: true })
            | Workload::Peer(PeerQuery::Hop { final_only: true }) => {
                let mut rows: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
                rows.sort();
                Expected::Rows(rows)
            }
            _ => Expected::Table(table),
        })
    }
}

/// `price * 0.908` exactly, as ksqlDB's DECIMAL arithmetic gives it (a
/// BIGINT times DECIMAL(3,3) has scale 3).
fn exact_908(price: i64) -> Value {
    let milli = price as i128 * 908;
    let text = format!("{}.{:03}", milli / 1000, (milli % 1000).abs());
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A key as text: a string without quotes, anything else as JSON.
fn plain(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Compares Sluice's output with the reference; the error describes the
/// first differences.
pub fn compare(workload: Workload, expected: &Expected, actual: &Expected) -> Result<()> {
    match (expected, actual) {
        (Expected::Rows(e), Expected::Rows(a)) => {
            if e == a {
                return Ok(());
            }
            let missing: Vec<&String> = e.iter().filter(|r| a.binary_search(r).is_err()).collect();
            let extra: Vec<&String> = a.iter().filter(|r| e.binary_search(r).is_err()).collect();
            bail!(
                "{}: {} rows expected, {} written; {} missing (first: {:?}), {} unexpected \
                 (first: {:?})",
                workload.name(),
                e.len(),
                a.len(),
                missing.len(),
                missing.iter().take(3).collect::<Vec<_>>(),
                extra.len(),
                extra.iter().take(3).collect::<Vec<_>>()
            )
        }
        (Expected::Table(e), Expected::Table(a)) => {
            let mut problems = Vec::new();
            for (k, ev) in e {
                match a.get(k) {
                    None => problems.push(format!("key {k}: missing, expected {ev:?}")),
                    Some(av) if !cells_match(ev, av) => {
                        problems.push(format!("key {k}: expected {ev:?}, got {av:?}"))
                    }
                    Some(_) => {}
                }
            }
            for (k, av) in a {
                if !e.contains_key(k) {
                    problems.push(format!("key {k}: unexpected {av:?}"));
                }
            }
            if problems.is_empty() {
                return Ok(());
            }
            bail!(
                "{}: {} keys expected, {} in the table; {} differences, first: {:?}",
                workload.name(),
                e.len(),
                a.len(),
                problems.len(),
                &problems[..problems.len().min(3)]
            )
        }
        _ => bail!("{}: output of the wrong kind", workload.name()),
    }
}

fn cells_match(expected: &[Value], actual: &[Value]) -> bool {
    expected.len() == actual.len()
        && expected.iter().zip(actual).all(|(e, a)| match (e, a) {
            (Value::Number(x), Value::Number(y)) if x != y => match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
                _ => false,
            },
            _ => e == a,
        })
}
