//! The generated events: Nexmark's people, auctions and bids, and the two
//! ksqlDB-style workloads' users, page views and clicks. Every generator is
//! deterministic (seeded [`SplitMix64`]) and gives event `i` the record
//! timestamp `BASE_TIME + i * ms_per_event`, so event time advances
//! steadily whatever the machine's speed.
//!
//! The Nexmark generator follows the benchmark's shape (not any project's
//! code): events come in epochs of 50 — one person, three auctions, 46 bids
//! (the standard 1:3:46 proportions) — ids are sequential from 1000, and
//! references are skewed towards "hot" ids: half of the bids go to the
//! newest auction whose id is a multiple of [`HOT_RATIO`], three quarters
//! of them come from the newest such person, half of the auctions are
//! opened by the newest such person; the rest pick uniformly among recent
//! ids. Prices are log-uniform between 1 and 1,000,000 (in cents: 100 to
//! 10^8), as in Nexmark.

use crate::rng::SplitMix64;
use serde_json::json;
use sluice_engine::log::Record;

/// The timestamp of the first event (ms since the epoch); a multiple of
/// every window size used, so windows line up with the start.
pub const BASE_TIME: i64 = 1_700_000_000_000;
/// Nexmark's first person and auction id.
pub const FIRST_ID: i64 = 1000;
/// Hot ids are multiples of this.
pub const HOT_RATIO: i64 = 10;
/// Nexmark's first category id; there are [`CATEGORIES`] of them.
pub const FIRST_CATEGORY: i64 = 10;
/// The number of auction categories.
pub const CATEGORIES: i64 = 5;
/// Events per epoch, and how many of each kind an epoch holds.
pub const EPOCH: u64 = 50;
const PERSONS_PER_EPOCH: u64 = 1;
const AUCTIONS_PER_EPOCH: u64 = 3;
/// Shortest and longest auction, in events (times `ms_per_event` in ms).
pub const AUCTION_MIN_EVENTS: i64 = 200;
/// See [`AUCTION_MIN_EVENTS`].
pub const AUCTION_MAX_EVENTS: i64 = 2000;
/// Non-hot bids pick among this many newest auctions.
const RECENT_AUCTIONS: i64 = 100;
/// Non-hot bidders and sellers pick among this many newest persons.
const RECENT_PERSONS: i64 = 500;

const FIRST_NAMES: &[&str] = &[
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter",
];
const LAST_NAMES: &[&str] = &[
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris",
];
const CITIES: &[&str] = &[
    "Phoenix",
    "Los Angeles",
    "San Francisco",
    "Boise",
    "Portland",
    "Bend",
    "Redmond",
    "Seattle",
    "Kent",
    "Cheyenne",
];
/// Nexmark's US states; q3 looks for OR, ID and CA.
pub const STATES: &[&str] = &["AZ", "CA", "ID", "OR", "WA", "WY"];
const CHANNELS: &[&str] = &["Google", "Facebook", "Baidu", "Apple"];

/// How events are generated.
#[derive(Debug, Clone, Copy)]
pub struct GenConfig {
    /// The PRNG seed.
    pub seed: u64,
    /// Event time between two consecutive events.
    pub ms_per_event: i64,
}

/// A Nexmark person (a new user of the auction site).
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub credit_card: String,
    pub city: String,
    pub state: String,
    pub date_time: i64,
}

/// A Nexmark auction: an item for sale until `expires`.
#[derive(Debug, Clone, PartialEq)]
pub struct Auction {
    pub id: i64,
    pub item_name: String,
    pub description: String,
    pub initial_bid: i64,
    pub reserve: i64,
    pub date_time: i64,
    pub expires: i64,
    pub seller: i64,
    pub category: i64,
}

/// A Nexmark bid on an auction.
#[derive(Debug, Clone, PartialEq)]
pub struct Bid {
    pub auction: i64,
    pub bidder: i64,
    /// In cents.
    pub price: i64,
    pub channel: String,
    pub url: String,
    pub date_time: i64,
}

/// A user of the page-view workload (the table side of the enrichment).
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub userid: String,
    pub registertime: i64,
    pub gender: String,
    pub regionid: String,
    pub timestamp: i64,
}

/// A page view (keyed by page, joined with users by `userid`).
#[derive(Debug, Clone, PartialEq)]
pub struct PageView {
    pub pageid: String,
    pub userid: String,
    pub viewtime: i64,
}

/// A click on a key of the windowed-count workload.
#[derive(Debug, Clone, PartialEq)]
pub struct Click {
    pub key: String,
    pub value: i64,
    pub timestamp: i64,
}

/// Any generated event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Person(Person),
    Auction(Auction),
    Bid(Bid),
    User(User),
    PageView(PageView),
    Click(Click),
    /// A row of the peer workload (see [`crate::peer`]).
    Peer(crate::peer::PeerRow),
}

/// Input topic names.
pub mod topics {
    /// Nexmark people.
    pub const PERSON: &str = "person";
    /// Nexmark auctions.
    pub const AUCTION: &str = "auction";
    /// Nexmark bids.
    pub const BID: &str = "bid";
    /// The enrichment workload's users (a table).
    pub const USERS: &str = "users";
    /// The enrichment workload's page views.
    pub const PAGEVIEWS: &str = "pageviews";
    /// The windowed-count workload's clicks.
    pub const CLICKS: &str = "clicks";
}

impl Event {
    /// The topic the event is appended to.
    pub fn topic(&self) -> &'static str {
        match self {
            Event::Person(_) => topics::PERSON,
            Event::Auction(_) => topics::AUCTION,
            Event::Bid(_) => topics::BID,
            Event::User(_) => topics::USERS,
            Event::PageView(_) => topics::PAGEVIEWS,
            Event::Click(_) => topics::CLICKS,
            Event::Peer(_) => crate::peer::TOPIC,
        }
    }

    /// The record timestamp (event time).
    pub fn timestamp(&self) -> i64 {
        match self {
            Event::Person(p) => p.date_time,
            Event::Auction(a) => a.date_time,
            Event::Bid(b) => b.date_time,
            Event::User(u) => u.timestamp,
            Event::PageView(v) => v.viewtime,
            Event::Click(c) => c.timestamp,
            Event::Peer(r) => r.ts,
        }
    }

    /// The record as a producer would write it: a KAFKA-format key (a
    /// BIGINT as 8 big-endian bytes, a STRING as its UTF-8 bytes; bids have
    /// none) and a JSON object value, with the event time as timestamp.
    pub fn to_record(&self) -> Record {
        let (key, value) = match self {
            Event::Person(p) => (
                Some(p.id.to_be_bytes().to_vec()),
                json!({"name": p.name, "email": p.email, "credit_card": p.credit_card,
                       "city": p.city, "state": p.state, "date_time": p.date_time, "extra": ""}),
            ),
            Event::Auction(a) => (
                Some(a.id.to_be_bytes().to_vec()),
                json!({"item_name": a.item_name, "description": a.description,
                       "initial_bid": a.initial_bid, "reserve": a.reserve,
                       "date_time": a.date_time, "expires": a.expires, "seller": a.seller,
                       "category": a.category, "extra": ""}),
            ),
            Event::Bid(b) => (
                None,
                json!({"auction": b.auction, "bidder": b.bidder, "price": b.price,
                       "channel": b.channel, "url": b.url, "date_time": b.date_time,
                       "extra": ""}),
            ),
            Event::User(u) => (
                Some(u.userid.as_bytes().to_vec()),
                json!({"registertime": u.registertime, "gender": u.gender,
                       "regionid": u.regionid}),
            ),
            Event::PageView(v) => (
                Some(v.pageid.as_bytes().to_vec()),
                json!({"viewtime": v.viewtime, "userid": v.userid}),
            ),
            Event::Click(c) => (Some(c.key.as_bytes().to_vec()), json!({"v": c.value})),
            Event::Peer(r) => (None, r.to_json()),
        };
        Record {
            key,
            value: Some(value.to_string().into_bytes()),
            timestamp: self.timestamp(),
            headers: Vec::new(),
        }
    }
}

/// The newest id (counting `count` ids from [`FIRST_ID`]) that is a
/// multiple of [`HOT_RATIO`], or the first id when there is none yet.
fn hot_id(count: i64) -> i64 {
    let last = FIRST_ID + count - 1;
    ((last / HOT_RATIO) * HOT_RATIO).max(FIRST_ID)
}

/// One of the `recent` newest of `count` ids.
fn recent_id(rng: &mut SplitMix64, count: i64, recent: i64) -> i64 {
    let span = count.min(recent).max(1);
    FIRST_ID + count - 1 - rng.below(span as u64) as i64
}

/// The infinite, deterministic Nexmark event sequence.
#[derive(Debug, Clone)]
pub struct Nexmark {
    rng: SplitMix64,
    ms_per_event: i64,
    index: u64,
    persons: i64,
    auctions: i64,
}

impl Nexmark {
    /// The sequence for a configuration.
    pub fn new(config: GenConfig) -> Self {
        Nexmark {
            rng: SplitMix64::new(config.seed ^ 0x4E45_584D_4152_4B00),
            ms_per_event: config.ms_per_event,
            index: 0,
            persons: 0,
            auctions: 0,
        }
    }

    fn person(&mut self, date_time: i64) -> Person {
        let id = FIRST_ID + self.persons;
        self.persons += 1;
        let first = *self.rng.pick(FIRST_NAMES);
        let last = *self.rng.pick(LAST_NAMES);
        let card: Vec<String> = (0..4)
            .map(|_| format!("{:04}", self.rng.below(10_000)))
            .collect();
        Person {
            id,
            name: format!("{first} {last}"),
            email: format!("{}@{}.com", first.to_lowercase(), last.to_lowercase()),
            credit_card: card.join(" "),
            city: self.rng.pick(CITIES).to_string(),
            state: self.rng.pick(STATES).to_string(),
            date_time,
        }
    }

    fn auction(&mut self, date_time: i64) -> Auction {
        let id = FIRST_ID + self.auctions;
        self.auctions += 1;
        let seller = if self.rng.one_in(2) {
            hot_id(self.persons)
        } else {
            recent_id(&mut self.rng, self.persons, RECENT_PERSONS)
        };
        let initial_bid = self.price();
        let events = AUCTION_MIN_EVENTS
            + self
                .rng
                .below((AUCTION_MAX_EVENTS - AUCTION_MIN_EVENTS + 1) as u64) as i64;
        Auction {
            id,
            item_name: format!("item-{}", self.rng.below(100_000)),
            description: format!("description-{}", self.rng.below(1_000)),
            initial_bid,
            reserve: initial_bid + self.price(),
            date_time,
            expires: date_time + events * self.ms_per_event,
            seller,
            category: FIRST_CATEGORY + self.rng.below(CATEGORIES as u64) as i64,
        }
    }

    fn bid(&mut self, date_time: i64) -> Bid {
        let auction = if self.rng.one_in(2) {
            hot_id(self.auctions)
        } else {
            recent_id(&mut self.rng, self.auctions, RECENT_AUCTIONS)
        };
        let bidder = if self.rng.below(4) < 3 {
            hot_id(self.persons)
        } else {
            recent_id(&mut self.rng, self.persons, RECENT_PERSONS)
        };
        let channel = self.rng.pick(CHANNELS).to_string();
        let url = format!(
            "https://www.nexmark.com/{}/item.htm?query={}",
            channel.to_lowercase(),
            self.rng.below(1_000)
        );
        Bid {
            auction,
            bidder,
            price: self.price(),
            channel,
            url,
            date_time,
        }
    }

    /// Log-uniform between 100 and 10^8 cents.
    fn price(&mut self) -> i64 {
        (10f64.powf(self.rng.unit() * 6.0) * 100.0).round() as i64
    }
}

impl Iterator for Nexmark {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        let date_time = BASE_TIME + self.index as i64 * self.ms_per_event;
        let slot = self.index % EPOCH;
        self.index += 1;
        Some(if slot < PERSONS_PER_EPOCH {
            Event::Person(self.person(date_time))
        } else if slot < PERSONS_PER_EPOCH + AUCTIONS_PER_EPOCH {
            Event::Auction(self.auction(date_time))
        } else {
            Event::Bid(self.bid(date_time))
        })
    }
}

/// Users of the enrichment workload: `User_0` .. `User_{n-1}`, all stamped
/// before the first page view.
pub fn users(config: GenConfig, n: u64) -> Vec<Event> {
    let mut rng = SplitMix64::new(config.seed ^ 0x5553_4552_5300);
    (0..n)
        .map(|i| {
            Event::User(User {
                userid: format!("User_{i}"),
                registertime: BASE_TIME - 1_000_000 + rng.below(1_000_000) as i64,
                gender: rng.pick(&["FEMALE", "MALE", "OTHER"]).to_string(),
                regionid: format!("Region_{}", rng.below(10)),
                timestamp: BASE_TIME - 1,
            })
        })
        .collect()
}

/// Page views over `pages` pages by user ids drawn from `0..users * 21 / 20`:
/// about one view in 21 names a user that does not exist (an inner join
/// drops it).
pub fn pageviews(config: GenConfig, users: u64, pages: u64) -> impl Iterator<Item = Event> {
    let mut rng = SplitMix64::new(config.seed ^ 0x5041_4745_5600);
    let ms = config.ms_per_event;
    let span = (users * 21 / 20).max(1);
    (0u64..).map(move |i| {
        Event::PageView(PageView {
            pageid: format!("Page_{}", rng.below(pages.max(1))),
            userid: format!("User_{}", rng.below(span)),
            viewtime: BASE_TIME + i as i64 * ms,
        })
    })
}

/// Clicks on keys drawn uniformly from `k0` .. `k{keys-1}`.
pub fn clicks(config: GenConfig, keys: u64) -> impl Iterator<Item = Event> {
    let mut rng = SplitMix64::new(config.seed ^ 0x434C_4943_4B00);
    let ms = config.ms_per_event;
    (0u64..).map(move |i| {
        Event::Click(Click {
            key: format!("k{}", rng.below(keys.max(1))),
            value: rng.below(1000) as i64,
            timestamp: BASE_TIME + i as i64 * ms,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nexmark_proportions_order_and_references() {
        let config = GenConfig {
            seed: 3,
            ms_per_event: 1,
        };
        let events: Vec<Event> = Nexmark::new(config).take(5000).collect();
        let count = |f: fn(&Event) -> bool| events.iter().filter(|e| f(e)).count();
        assert_eq!(count(|e| matches!(e, Event::Person(_))), 100);
        assert_eq!(count(|e| matches!(e, Event::Auction(_))), 300);
        assert_eq!(count(|e| matches!(e, Event::Bid(_))), 4600);
        let (mut persons, mut auctions) = (0, 0);
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e.timestamp(), BASE_TIME + i as i64);
            match e {
                Event::Person(_) => persons += 1,
                Event::Auction(a) => {
                    auctions += 1;
                    assert!(a.seller >= FIRST_ID && a.seller < FIRST_ID + persons);
                    assert!(a.expires > a.date_time);
                }
                Event::Bid(b) => {
                    assert!(b.auction >= FIRST_ID && b.auction < FIRST_ID + auctions);
                    assert!(b.bidder >= FIRST_ID && b.bidder < FIRST_ID + persons);
                    assert!((100..=100_000_000).contains(&b.price));
                }
                _ => unreachable!(),
            }
        }
        let again: Vec<Event> = Nexmark::new(config).take(5000).collect();
        assert_eq!(events, again);
    }
}
