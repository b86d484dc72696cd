//! The datagen source (`io.confluent.kafka.connect.datagen.DatagenConnector`):
//! Confluent's quickstart record shapes (users, pageviews, orders, ratings,
//! stock_trades, clickstream) with their field names, types and ranges,
//! generated here. Record `i` is a function of (`random.seed`, `i`), so a
//! run is deterministic and a restart continues the same sequence.

use super::config::ConnectorConfig;
use super::converter::{ConnectType, ConnectValue, Converter};
use super::task::{Context, SourceRecord, SourceTask};
use crate::error::{Error, Result};
use serde_json::{json, Map, Value as Json};

/// How one field's values are made.
#[derive(Debug, Clone)]
enum Gen {
    /// A long in [min, max].
    Long(i64, i64),
    /// An int in [min, max].
    Int(i64, i64),
    /// A double in [min, max).
    Double(f64, f64),
    /// A long or int counting up: start + step * i.
    Iter(ConnectType, i64, i64),
    /// One of these strings.
    Options(&'static [&'static str]),
    /// A literal prefix, then characters from a class: (lo, hi, min
    /// repeats, max repeats) per part.
    Pattern(&'static str, &'static [(char, char, u32, u32)]),
    /// An int in [min, max] derived from another field's value (the
    /// clickstream user of a session).
    HashOf(&'static str, i64, i64),
    Struct(&'static str, Vec<Field>),
}

#[derive(Debug, Clone)]
struct Field {
    name: &'static str,
    gen: Gen,
}

fn f(name: &'static str, gen: Gen) -> Field {
    Field { name, gen }
}

/// The quickstart names Sluice generates.
pub const QUICKSTARTS: &[&str] = &[
    "users",
    "pageviews",
    "orders",
    "ratings",
    "stock_trades",
    "clickstream",
];

/// A quickstart's schema name, fields and default key field.
fn quickstart(name: &str) -> Option<(&'static str, Vec<Field>, &'static str)> {
    use Gen::*;
    const D: (char, char, u32, u32) = ('1', '9', 1, 1);
    Some(match name.to_ascii_lowercase().as_str() {
        "users" => (
            "ksql.users",
            vec![
                f("registertime", Long(1487715775521, 1519273364600)),
                f("userid", Pattern("User_", &[D])),
                f("regionid", Pattern("Region_", &[D])),
                f("gender", Options(&["MALE", "FEMALE", "OTHER"])),
            ],
            "userid",
        ),
        "pageviews" => (
            "ksql.pageviews",
            vec![
                f("viewtime", Iter(ConnectType::Int64, 1, 10)),
                f("userid", Pattern("User_", &[D])),
                f("pageid", Pattern("Page_", &[D, ('0', '9', 1, 1)])),
            ],
            "viewtime",
        ),
        "orders" => (
            "ksql.orders",
            vec![
                f("ordertime", Long(1487715775521, 1519273364600)),
                f("orderid", Iter(ConnectType::Int32, 0, 1)),
                f("itemid", Pattern("Item_", &[D, ('0', '9', 0, 2)])),
                f("orderunits", Double(0.1, 10.0)),
                f(
                    "address",
                    Struct(
                        "ksql.address",
                        vec![
                            f("city", Pattern("City_", &[('1', '9', 0, 2)])),
                            f("state", Pattern("State_", &[('1', '9', 0, 2)])),
                            f("zipcode", Long(10000, 99999)),
                        ],
                    ),
                ),
            ],
            "orderid",
        ),
        "ratings" => (
            "ksql.ratings",
            vec![
                f("rating_id", Iter(ConnectType::Int64, 1, 1)),
                f("user_id", Int(-1, 20)),
                f("stars", Int(1, 5)),
                f("route_id", Int(1, 9999)),
                f("rating_time", Iter(ConnectType::Int64, 1, 12)),
                f("channel", Options(&["web", "iOS", "ios", "iOS-test", "android"])),
                f(
                    "message",
                    Options(&[
                        "worst. flight. ever. #neveragain",
                        "meh",
                        "more peanuts please",
                        "your team here rocks!",
                        "is this as good as it gets? really ?",
                        "Exceeded all my expectations. Thank you !",
                    ]),
                ),
            ],
            "rating_id",
        ),
        "stock_trades" => (
            "ksql.StockTrade",
            vec![
                f("side", Options(&["BUY", "SELL"])),
                f("quantity", Int(1, 5000)),
                f(
                    "symbol",
                    Options(&["ZBZX", "ZJZZT", "ZTEST", "ZVV", "ZVZZT", "ZWZZT", "ZXZZT"]),
                ),
                f("price", Int(5, 1000)),
                f("account", Options(&["ABC123", "LMN456", "XYZ789"])),
                f("userid", Pattern("User_", &[D])),
            ],
            "symbol",
        ),
        "clickstream" => (
            "clickstream.events",
            vec![
                f(
                    "ip",
                    Options(&[
                        "111.152.45.45",
                        "111.203.236.146",
                        "111.168.57.122",
                        "111.249.79.93",
                        "222.152.45.45",
                        "222.203.236.146",
                        "222.90.225.227",
                        "122.173.165.203",
                        "233.145.28.144",
                        "233.245.174.233",
                    ]),
                ),
                f("userid", HashOf("ip", -1, 40)),
                f("remote_user", Options(&["-"])),
                f("time", Iter(ConnectType::String, 1, 10)),
                f("_time", Iter(ConnectType::Int64, 1, 10)),
                f(
                    "request",
                    Options(&[
                        "GET /index.html HTTP/1.1",
                        "GET /site/user_status.html HTTP/1.1",
                        "GET /site/login.html HTTP/1.1",
                        "GET /images/track.png HTTP/1.1",
                        "GET /images/logo-small.png HTTP/1.1",
                    ]),
                ),
                f("status", Options(&["200", "302", "404", "405", "406", "407"])),
                f("bytes", Options(&["278", "1289", "2048", "4096", "4006", "4196", "14096"])),
                f("referrer", Options(&["-"])),
                f(
                    "agent",
                    Options(&[
                        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/59.0.3071.115 Safari/537.36",
                    ]),
                ),
            ],
            "ip",
        ),
        _ => return None,
    })
}

/// SplitMix64: small, fast, and fully determined by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// In [lo, hi].
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi - lo) as u64 + 1;
        lo + (self.next() % span) as i64
    }
    /// In [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn schema_of(gen: &Gen) -> ConnectType {
    match gen {
        Gen::Long(..) => ConnectType::Int64,
        Gen::Int(..) | Gen::HashOf(..) => ConnectType::Int32,
        Gen::Double(..) => ConnectType::Float64,
        Gen::Iter(t, ..) => t.clone(),
        Gen::Options(_) | Gen::Pattern(..) => ConnectType::String,
        Gen::Struct(name, fields) => ConnectType::Struct(
            name.to_string(),
            fields
                .iter()
                .map(|f| (f.name.to_string(), schema_of(&f.gen)))
                .collect(),
        ),
    }
}

fn generate(fields: &[Field], i: u64, rng: &mut Rng) -> Map<String, Json> {
    let mut out = Map::new();
    for field in fields {
        let v = match &field.gen {
            Gen::Long(lo, hi) | Gen::Int(lo, hi) => json!(rng.between(*lo, *hi)),
            Gen::Double(lo, hi) => json!(lo + (hi - lo) * rng.unit()),
            Gen::Iter(t, start, step) => {
                let n = start + step * i as i64;
                if *t == ConnectType::String {
                    json!(n.to_string())
                } else {
                    json!(n)
                }
            }
            Gen::Options(opts) => json!(opts[(rng.next() % opts.len() as u64) as usize]),
            Gen::Pattern(prefix, parts) => {
                let mut s = prefix.to_string();
                for (lo, hi, min, max) in parts.iter() {
                    let n = rng.between(i64::from(*min), i64::from(*max));
                    for _ in 0..n {
                        let c = rng.between(*lo as i64, *hi as i64) as u32;
                        s.push(char::from_u32(c).unwrap_or(*lo));
                    }
                }
                json!(s)
            }
            Gen::HashOf(other, lo, hi) => {
                let text = out.get(*other).map(|v| v.to_string()).unwrap_or_default();
                let h = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
                });
                json!(lo + (h % ((hi - lo) as u64 + 1)) as i64)
            }
            Gen::Struct(_, inner) => Json::Object(generate(inner, i, rng)),
        };
        out.insert(field.name.to_string(), v);
    }
    out
}

/// A running datagen task.
pub struct DatagenTask {
    topic: String,
    schema: ConnectType,
    fields: Vec<Field>,
    key_field: Option<String>,
    key_converter: Converter,
    value_converter: Converter,
    seed: u64,
    /// Records to make in all; None for no end.
    iterations: Option<u64>,
    max_interval_ms: u64,
    /// The next record's number.
    next: u64,
}

impl DatagenTask {
    pub fn new(config: &ConnectorConfig, ctx: &Context) -> Result<DatagenTask> {
        let topic = config.required("kafka.topic")?.to_string();
        let name = match config.get("quickstart") {
            Some(q) => q.to_string(),
            None if config.get("schema.string").is_some() || config.get("schema.filename").is_some() => {
                return Err(Error::plan(
                    "datagen's schema.string and schema.filename are not available in Sluice: use quickstart",
                ))
            }
            None => return Err(Error::plan(format!(
                "Missing required configuration \"quickstart\": one of {}",
                QUICKSTARTS.join(", ")
            ))),
        };
        let Some((schema_name, fields, default_key)) = quickstart(&name) else {
            return Err(Error::plan(format!(
                "Invalid value {name} for configuration quickstart: one of {}",
                QUICKSTARTS.join(", ")
            )));
        };
        let key_field = match config.get("schema.keyfield") {
            Some("") => None,
            Some(k) if !fields.iter().any(|f| f.name == k) => {
                return Err(Error::plan(format!(
                    "schema.keyfield {k} is not a field of quickstart {name}"
                )))
            }
            Some(k) => Some(k.to_string()),
            None => Some(default_key.to_string()),
        };
        let iterations = config.int("iterations", -1)?;
        let schema = ConnectType::Struct(
            schema_name.to_string(),
            fields
                .iter()
                .map(|f| (f.name.to_string(), schema_of(&f.gen)))
                .collect(),
        );
        Ok(DatagenTask {
            topic: topic.clone(),
            schema,
            fields,
            key_field,
            key_converter: Converter::from_config(
                config,
                "key.converter",
                super::converter::DEFAULT_KEY_CONVERTER,
                ctx,
                &topic,
            )?,
            value_converter: super::converter::value_converter(config, ctx, &topic)?,
            seed: config.int("random.seed", 0)? as u64,
            iterations: u64::try_from(iterations).ok().filter(|_| iterations >= 0),
            max_interval_ms: u64::try_from(config.int("max.interval", 500)?).unwrap_or(0),
            next: 0,
        })
    }

    /// Record `i`: its key and value.
    fn record(&self, i: u64) -> Result<SourceRecord> {
        let mut rng = Rng(self.seed ^ i.wrapping_mul(0xD1B5_4A32_D192_ED03));
        let data = generate(&self.fields, i, &mut rng);
        let key = match &self.key_field {
            None => None,
            Some(k) => {
                let v = data.get(k).cloned().unwrap_or(Json::Null);
                let schema = match &self.schema {
                    ConnectType::Struct(_, fs) => fs
                        .iter()
                        .find(|(n, _)| n == k)
                        .map(|(_, t)| t.clone())
                        .unwrap_or(ConnectType::String),
                    other => other.clone(),
                };
                // Keys are the field's text under StringConverter, as
                // datagen writes them.
                Some(
                    self.key_converter
                        .encode(&ConnectValue { schema, data: v })?,
                )
            }
        };
        let value = self.value_converter.encode(&ConnectValue {
            schema: self.schema.clone(),
            data: Json::Object(data),
        })?;
        Ok(SourceRecord {
            key,
            value: Some(value),
            offset: json!({"current.iteration": i + 1}),
        })
    }

    /// A pause before the next record: up to `max.interval`, drawn from the
    /// same seeded sequence.
    fn pause_ms(&self) -> u64 {
        if self.max_interval_ms == 0 {
            return 0;
        }
        let mut rng = Rng(self.seed.wrapping_add(self.next).wrapping_mul(0x9E37_79B9));
        rng.next() % (self.max_interval_ms + 1)
    }
}

impl SourceTask for DatagenTask {
    fn topic(&self) -> &str {
        &self.topic
    }

    fn restore(&mut self, offset: &Json) -> Result<()> {
        self.next = offset
            .get("current.iteration")
            .and_then(Json::as_u64)
            .unwrap_or(0);
        Ok(())
    }

    fn poll(&mut self) -> Result<(Vec<SourceRecord>, u64)> {
        if self.iterations.is_some_and(|n| self.next >= n) {
            return Ok((Vec::new(), 1000));
        }
        // Without a pause, a batch at a time; with one, a record per pause.
        let batch = if self.max_interval_ms == 0 { 1000 } else { 1 };
        let mut out = Vec::new();
        while out.len() < batch && self.iterations.is_none_or(|n| self.next < n) {
            out.push(self.record(self.next)?);
            self.next += 1;
        }
        Ok((out, self.pause_ms()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        super::super::task::tests_context()
    }

    fn config(pairs: &[(&str, &str)]) -> ConnectorConfig {
        ConnectorConfig::new(
            "dg",
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn every_quickstart_makes_its_fields_deterministically() {
        for q in QUICKSTARTS {
            let c = config(&[
                ("kafka.topic", "t"),
                ("quickstart", q),
                ("random.seed", "7"),
            ]);
            let mut a = DatagenTask::new(&c, &ctx()).unwrap();
            a.max_interval_ms = 0;
            let (ra, _) = a.poll().unwrap();
            let mut b = DatagenTask::new(&c, &ctx()).unwrap();
            b.restore(&json!({"current.iteration": 10})).unwrap();
            b.max_interval_ms = 0;
            let (rb, _) = b.poll().unwrap();
            assert_eq!(ra[10], rb[0], "{q}: a restart continues the same sequence");
            let v: Json = serde_json::from_slice(ra[3].value.as_ref().unwrap()).unwrap();
            let (_, fields, _) = quickstart(q).unwrap();
            for f in &fields {
                assert!(v.get(f.name).is_some(), "{q} lacks {}", f.name);
            }
        }
    }

    #[test]
    fn field_shapes_follow_the_quickstarts() {
        let c = config(&[
            ("kafka.topic", "t"),
            ("quickstart", "users"),
            ("iterations", "300"),
        ]);
        let mut t = DatagenTask::new(&c, &ctx()).unwrap();
        t.max_interval_ms = 0;
        let (rs, _) = t.poll().unwrap();
        assert_eq!(rs.len(), 300, "iterations bounds the records");
        for r in &rs {
            let v: Json = serde_json::from_slice(r.value.as_ref().unwrap()).unwrap();
            let user = v["userid"].as_str().unwrap();
            assert!(user.len() == 6 && user.starts_with("User_"), "{user}");
            assert_eq!(r.key.as_deref(), Some(user.as_bytes()), "keyed by userid");
            let t = v["registertime"].as_i64().unwrap();
            assert!((1487715775521..=1519273364600).contains(&t));
            assert!(["MALE", "FEMALE", "OTHER"].contains(&v["gender"].as_str().unwrap()));
        }
        assert!(t.poll().unwrap().0.is_empty(), "no records past iterations");
        let bad = config(&[("kafka.topic", "t"), ("quickstart", "nope")]);
        assert!(DatagenTask::new(&bad, &ctx()).is_err());
    }
}
