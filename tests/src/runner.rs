//! Running one case against a fresh in-process engine, the way ksqlDB's
//! test driver does: topics up front, statements in order, then the inputs
//! one record at a time (each fully processed before the next), then the
//! output topics, `post` checks and (RQTT) query responses are compared.
//!
//! [`run_case`] runs a case on its own thread under `catch_unwind` and a
//! time budget, so a panic or a hang fails that case only.
//! [`run_case_over_http`] runs it through a server instead: statements and
//! queries go over real HTTP (`/ksql`, `/query`) and the answers are
//! compared with the case's `responses` ([`crate::rest`]).

use crate::case::{Case, ExpectedRecord, InputRecord, TopicSpec, WindowSpec};
use crate::compare::{clip, compare_topic, ObservedRecord};
use crate::http::HttpResponse;
use crate::panics;
use crate::post;
use crate::queries::{self, QueryOutput};
use crate::rest::{self, Answer, TestServer};
use serde_json::Value as Json;
use sluice_engine::error::Pos;
use sluice_engine::log::{Header, Log, Record, StoredRecord, TopicConfig};
use sluice_engine::sql::ast::{PropValue, Statement};
use sluice_engine::sql::parser;
use sluice_engine::{Engine, EngineConfig, StatementResult};
use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How a case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every check held.
    Pass,
    /// Something differed or failed; the reason is one line.
    Fail(String),
    /// The case was not run.
    Skip(String),
}

impl Outcome {
    /// `PASS`, `FAIL` or `SKIP`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail(_) => "FAIL",
            Outcome::Skip(_) => "SKIP",
        }
    }

    /// The reason of a failure or skip.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Pass => None,
            Outcome::Fail(r) | Outcome::Skip(r) => Some(r),
        }
    }
}

/// How long one case may run before it is failed.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(10);

/// How long a case may take on a real cluster, which adds network round
/// trips.
const KAFKA_BUDGET: Duration = Duration::from_secs(90);

/// The Kafka settings for a new case, with a prefix no other case uses.
fn kafka_config(servers: &str) -> sluice_engine::log::KafkaConfig {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut config = sluice_engine::log::KafkaConfig::new(servers);
    config.topic_prefix = format!("qtt{:x}{n}.", nanos % 0xffff_ffff);
    config
}

/// Runs a case in a fresh engine on its own thread, failing it on a panic
/// or when it takes longer than [`DEFAULT_BUDGET`].
pub fn run_case(case: &Case) -> Outcome {
    run_case_with_budget(case, DEFAULT_BUDGET, None)
}

/// [`run_case`] through a server on a free loopback port over the case's
/// fresh engine: statements go to `/ksql`, queries to `/query`, and the
/// answers are compared with the case's `responses`.
pub fn run_case_over_http(case: &Case) -> Outcome {
    run_guarded(case, DEFAULT_BUDGET, None, true)
}

/// [`run_case`] against the Kafka cluster at `bootstrap_servers` instead
/// of an in-memory embedded log; the case gets its own topic and group
/// prefix, so cases never see each other's records.
pub fn run_case_on_kafka(case: &Case, bootstrap_servers: &str) -> Outcome {
    run_case_with_budget(case, KAFKA_BUDGET, Some(bootstrap_servers))
}

/// [`run_case`] with a chosen time budget. A case that runs out of time is
/// failed and its thread left behind (threads cannot be stopped).
pub fn run_case_with_budget(case: &Case, budget: Duration, kafka: Option<&str>) -> Outcome {
    run_guarded(case, budget, kafka, false)
}

fn run_guarded(case: &Case, budget: Duration, kafka: Option<&str>, http: bool) -> Outcome {
    if !case.enabled {
        return Outcome::Skip("disabled in the case file (enabled: false)".into());
    }
    let (tx, rx) = mpsc::channel();
    let owned = case.clone();
    let kafka = kafka.map(kafka_config);
    let spawned = std::thread::Builder::new()
        .name("qtt-case".into())
        .spawn(move || {
            let outcome = panics::catch(|| execute_case_on(&owned, kafka, http));
            // The receiver is gone only when the case already timed out.
            let _ = tx.send(outcome);
        });
    if let Err(e) = spawned {
        return Outcome::Fail(format!("could not start the case's thread: {e}"));
    }
    match rx.recv_timeout(budget) {
        Ok(outcome) => outcome,
        Err(RecvTimeoutError::Timeout) => {
            Outcome::Fail(format!("timed out after {} s", budget.as_secs_f32()))
        }
        Err(RecvTimeoutError::Disconnected) => {
            Outcome::Fail("the case's thread ended without a result".into())
        }
    }
}

/// Where a failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// The statement with this index.
    Statement(usize),
    /// Producing or processing the input with this index.
    Input(usize),
    /// Processing what the statements themselves wrote (INSERT VALUES).
    Statements,
}

/// Runs a case on the calling thread, without panic or time protection.
pub fn execute_case(case: &Case) -> Outcome {
    execute_case_on(case, None, false)
}

fn execute_case_on(
    case: &Case,
    kafka: Option<sluice_engine::log::KafkaConfig>,
    http: bool,
) -> Outcome {
    let ran =
        CaseRun::start(case, kafka, http).and_then(
            |mut run| {
                if http {
                    run.run_http()
                } else {
                    run.run()
                }
            },
        );
    match ran {
        Ok(()) => Outcome::Pass,
        Err(Stop::Failed(at, message)) => judge_error(case, at, &message),
        Err(Stop::Rejected(at, status, body)) => judge_rejection(case, at, status, &body),
        Err(Stop::Mismatch(reason)) => Outcome::Fail(clip(&reason, 600)),
    }
}

/// Why a run stopped early.
enum Stop {
    /// The engine refused a statement or an input (may be expected).
    Failed(At, String),
    /// A check failed, or the harness could not do its part.
    Mismatch(String),
    /// The server answered an error (HTTP status, ksqlDB's error body).
    Rejected(At, u16, Json),
}

fn mismatch(reason: impl Into<String>) -> Stop {
    Stop::Mismatch(reason.into())
}

/// Decides whether an engine error ends the case well: only when the case
/// expects one, and it is the case's last statement, an input, or the
/// message contains the expected fragment.
fn judge_error(case: &Case, at: At, message: &str) -> Outcome {
    let what = match at {
        At::Statement(i) => format!(
            "statement #{} failed: {message} [{}]",
            i + 1,
            case.statements.get(i).map(String::as_str).unwrap_or("")
        ),
        At::Input(i) => format!("input #{} failed: {message}", i + 1),
        At::Statements => format!("processing after the statements failed: {message}"),
    };
    let Some(expected) = &case.expected_error else {
        return Outcome::Fail(clip(&what, 600));
    };
    let fragment = expected.message.as_deref().unwrap_or("");
    let matches = fragment.trim().is_empty() || contains_loosely(message, fragment);
    let last = matches!(at, At::Statement(i) if i + 1 == case.statements.len());
    if matches || last || matches!(at, At::Input(_) | At::Statements) {
        Outcome::Pass
    } else {
        Outcome::Fail(clip(
            &format!("expected error \"{fragment}\" but {what}"),
            600,
        ))
    }
}

/// [`judge_error`] for an error the server answered, which must also carry
/// the status and error type the case expects (a `KsqlStatementErrorMessage`
/// is a `statement_error`; any error body is a `KsqlErrorMessage`).
fn judge_rejection(case: &Case, at: At, status: u16, body: &Json) -> Outcome {
    let message = body
        .get("message")
        .and_then(Json::as_str)
        .map_or_else(|| body.to_string(), str::to_string);
    let outcome = judge_error(case, at, &format!("HTTP {status}: {message}"));
    let Some(expected) = (outcome == Outcome::Pass)
        .then_some(case.expected_error.as_ref())
        .flatten()
    else {
        return outcome;
    };
    if let Some(want) = expected.status {
        if want != status {
            return Outcome::Fail(clip(
                &format!("expected HTTP {want} but got {status}: {message}"),
                600,
            ));
        }
    }
    let ty = body.get("@type").and_then(Json::as_str).unwrap_or("");
    let statement_error = expected
        .type_name
        .as_deref()
        .is_some_and(|t| t.ends_with(".KsqlStatementErrorMessage"));
    if statement_error && ty != "statement_error" {
        return Outcome::Fail(clip(
            &format!("expected a statement_error but got {ty:?}: {message}"),
            600,
        ));
    }
    Outcome::Pass
}

/// Case-insensitive containment, with runs of whitespace treated alike.
fn contains_loosely(haystack: &str, needle: &str) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    norm(haystack).contains(&norm(needle))
}

/// Parses a statement with the engine's parser (None when it does not parse).
fn parse(sql: &str) -> Option<Statement> {
    parser::parse_statement(sql, Pos::default()).ok()
}

fn is_query(sql: &str) -> bool {
    match parse(sql) {
        Some(stmt) => matches!(stmt, Statement::Query(_)),
        None => sql.trim_start().to_ascii_uppercase().starts_with("SELECT"),
    }
}

/// The state of one case being run.
struct CaseRun<'a> {
    case: &'a Case,
    engine: Engine,
    log: std::sync::Arc<dyn Log>,
    tracker: OutputTracker,
    /// Per statement: the rows a query returned or the handle of a push query.
    results: Vec<Option<QueryOutput>>,
    /// REST mode: the server the statements are sent to.
    server: Option<TestServer>,
    /// REST mode, per statement: what the server answered.
    answers: Vec<Option<Answer>>,
    /// REST mode, per statement: a `/query` answer still being read.
    open: Vec<Option<HttpResponse>>,
}

impl<'a> CaseRun<'a> {
    fn start(
        case: &'a Case,
        kafka: Option<sluice_engine::log::KafkaConfig>,
        http: bool,
    ) -> Result<Self, Stop> {
        let mut properties = BTreeMap::new();
        // ksqlDB's test drivers read every topic from its beginning.
        properties.insert("auto.offset.reset".to_string(), "earliest".to_string());
        // ... with record caching off, so every change is emitted.
        properties.insert("cache.max.bytes.buffering".to_string(), "0".to_string());
        // ... under the service id its cases name internal topics by.
        properties.insert(
            "ksql.service.id".to_string(),
            "some.ksql.service.id".to_string(),
        );
        for (k, v) in &case.properties {
            properties.insert(k.clone(), v.clone());
        }
        let engine = Engine::open(EngineConfig {
            data_dir: None,
            background: false,
            properties: properties.clone(),
            kafka,
            ..Default::default()
        })
        .map_err(|e| mismatch(format!("the engine did not open: {e}")))?;
        for (k, v) in &properties {
            engine.set_property(k, v);
        }
        let log = engine.log();
        let mut outputs: Vec<String> = Vec::new();
        for o in &case.outputs {
            if !outputs.contains(&o.topic) {
                outputs.push(o.topic.clone());
            }
        }
        let server = match http {
            true => Some(
                TestServer::start(engine.clone())
                    .map_err(|e| mismatch(format!("the server did not start: {e:#}")))?,
            ),
            false => None,
        };
        let n = case.statements.len();
        Ok(CaseRun {
            case,
            engine,
            log,
            tracker: OutputTracker::new(outputs),
            results: (0..n).map(|_| None).collect(),
            server,
            answers: (0..n).map(|_| None).collect(),
            open: (0..n).map(|_| None).collect(),
        })
    }

    fn run(&mut self) -> Result<(), Stop> {
        self.create_topics()?;
        let statements = &self.case.statements;
        let first_query = statements
            .iter()
            .position(|s| is_query(s))
            .unwrap_or(statements.len());
        for i in 0..first_query {
            self.execute(i)?;
        }
        self.engine
            .run_until_idle()
            .map_err(|e| Stop::Failed(At::Statements, e.to_string()))?;
        self.poll_outputs()?;
        if self.case.wait_for_active_push_query {
            for i in first_query..statements.len() {
                self.execute(i)?;
            }
            self.produce_inputs()?;
        } else {
            self.produce_inputs()?;
            for i in first_query..statements.len() {
                self.execute(i)?;
            }
        }
        self.collect_query_rows()?;
        self.poll_outputs()?;
        self.no_error_expected()?;
        self.check_outputs()?;
        post::check(&self.engine, &*self.log, &self.case.post).map_err(Stop::Mismatch)?;
        if let Some(responses) = &self.case.responses {
            queries::check_responses(responses, &self.results).map_err(Stop::Mismatch)?;
        }
        Ok(())
    }

    /// Fails a case that expects an error once everything succeeded.
    fn no_error_expected(&self) -> Result<(), Stop> {
        match &self.case.expected_error {
            Some(e) => Err(mismatch(format!(
                "expected an error ({}{}) but every statement and input succeeded",
                e.type_name.as_deref().unwrap_or("exception"),
                e.message
                    .as_deref()
                    .map(|m| format!(": \"{m}\""))
                    .unwrap_or_default()
            ))),
            None => Ok(()),
        }
    }

    /// Registers the schemas the case's topics declare in the engine's
    /// registry, under `<topic>-key` and `<topic>-value`, as ksqlDB's
    /// runner does with its mock registry. An AVRO schema the registry
    /// refuses fails the case; other types are registered when they can be
    /// (Sluice infers columns from AVRO schemas only).
    fn register_schemas(&self) -> Result<(), Stop> {
        use sluice_engine::registry::{Schema, SchemaType};
        let declared: Vec<(String, &crate::case::DeclaredSchema)> = self
            .case
            .topics
            .iter()
            .flat_map(|t| {
                let key = t
                    .key_schema
                    .as_ref()
                    .map(|s| (format!("{}-key", t.name), s));
                let value = t
                    .value_schema
                    .as_ref()
                    .map(|s| (format!("{}-value", t.name), s));
                key.into_iter().chain(value)
            })
            .collect();
        if declared.is_empty() {
            return Ok(());
        }
        let registry = self
            .engine
            .schema_registry()
            .map_err(|e| mismatch(format!("the schema registry did not open: {e}")))?;
        for (subject, declared) in declared {
            let schema_type = SchemaType::parse(&declared.schema_type)
                .map_err(|e| mismatch(format!("{subject}: {e}")))?;
            let schema = Schema {
                schema_type,
                schema: declared.text.clone(),
                references: Vec::new(),
            };
            match registry.register(&subject, &schema) {
                Ok(_) => {}
                Err(e) if schema_type == SchemaType::Avro => {
                    return Err(mismatch(format!("registering {subject}: {e}")))
                }
                Err(_) => {}
            }
        }
        Ok(())
    }

    /// Creates the case's `topics`, the topics of its `CREATE STREAM/TABLE`
    /// statements (with their PARTITIONS/REPLICAS) and the topics it
    /// produces to, as ksqlDB's test driver does before the statements run.
    fn create_topics(&self) -> Result<(), Stop> {
        self.register_schemas()?;
        let mut wanted: Vec<TopicSpec> = self.case.topics.clone();
        for sql in &self.case.statements {
            if let Some(spec) = parse(sql).and_then(|s| source_topic(&s)) {
                wanted.push(spec);
            }
        }
        for input in &self.case.inputs {
            wanted.push(TopicSpec {
                name: input.topic.clone(),
                partitions: None,
                replicas: None,
                key_schema: None,
                value_schema: None,
            });
        }
        for spec in wanted {
            let exists = self
                .log
                .describe_topic(&spec.name)
                .map_err(|e| mismatch(format!("log: {e}")))?
                .is_some();
            if exists {
                continue;
            }
            let config = TopicConfig {
                partitions: spec.partitions.unwrap_or(1).max(1),
                replicas: spec.replicas.unwrap_or(1).max(1),
                compact: false,
            };
            self.log
                .create_topic(&spec.name, &config)
                .map_err(|e| mismatch(format!("creating topic {}: {e}", spec.name)))?;
        }
        Ok(())
    }

    /// Runs statement `i` on its own.
    fn execute(&mut self, i: usize) -> Result<(), Stop> {
        let sql = &self.case.statements[i];
        let results = self
            .engine
            .execute(sql)
            .map_err(|e| Stop::Failed(At::Statement(i), e.to_string()))?;
        for result in results {
            match result {
                StatementResult::Rows(rows) => {
                    self.results[i] = Some(QueryOutput::pull(rows));
                }
                StatementResult::Push(handle) | StatementResult::Print(handle) => {
                    self.results[i] = Some(QueryOutput::push(handle));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Produces every input, one at a time, each processed to idle.
    fn produce_inputs(&mut self) -> Result<(), Stop> {
        for (i, input) in self.case.inputs.iter().enumerate() {
            let record = self.encode(input);
            self.log
                .append(&input.topic, None, record)
                .map_err(|e| Stop::Failed(At::Input(i), e.to_string()))?;
            self.engine
                .run_until_idle()
                .map_err(|e| Stop::Failed(At::Input(i), e.to_string()))?;
            self.poll_outputs()?;
        }
        Ok(())
    }

    /// Encodes an input with the formats of the source declared on its
    /// topic, or, with no such source, as plain text/JSON bytes.
    fn encode(&self, input: &InputRecord) -> Record {
        let encoded = match &input.window {
            Some(w) => self.engine.encode_windowed_record_for_topic(
                &input.topic,
                &input.key,
                &input.value,
                w.start,
                w.end,
            ),
            None => self
                .engine
                .encode_record_for_topic(&input.topic, &input.key, &input.value),
        };
        let (key, value) =
            encoded.unwrap_or_else(|_| (raw_bytes(&input.key), raw_bytes(&input.value)));
        Record {
            key,
            value,
            timestamp: input.timestamp,
            headers: input
                .headers
                .iter()
                .map(|(k, v)| Header {
                    key: k.clone(),
                    value: v.clone(),
                })
                .collect(),
        }
    }

    fn poll_outputs(&mut self) -> Result<(), Stop> {
        self.tracker
            .poll(&*self.log)
            .map_err(|e| mismatch(format!("reading output topics: {e}")))
    }

    /// Reads the rows of every query the statements started.
    fn collect_query_rows(&mut self) -> Result<(), Stop> {
        let expected = queries::expected_row_counts(self.case);
        for (i, slot) in self.results.iter_mut().enumerate() {
            if let Some(out) = slot {
                out.collect(&self.engine, expected.get(&i).copied())
                    .map_err(|e| mismatch(format!("statement #{}: {e}", i + 1)))?;
            }
        }
        Ok(())
    }

    /// Compares each output topic's records with the expected ones.
    fn check_outputs(&self) -> Result<(), Stop> {
        for topic in &self.tracker.topics {
            let expected: Vec<&ExpectedRecord> = self
                .case
                .outputs
                .iter()
                .filter(|o| &o.topic == topic)
                .collect();
            let exists = self
                .log
                .describe_topic(topic)
                .map_err(|e| mismatch(format!("log: {e}")))?
                .is_some();
            if !exists {
                return Err(mismatch(format!(
                    "{topic}: the topic does not exist (expected {} records)",
                    expected.len()
                )));
            }
            let stored = self
                .tracker
                .observed
                .get(topic)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let mut observed = Vec::with_capacity(stored.len());
            for (n, s) in stored.iter().enumerate() {
                let (key, value) = self
                    .engine
                    .decode_record_for_topic(topic, &s.record)
                    .map_err(|e| {
                        mismatch(format!("{topic}: cannot decode record #{}: {e}", n + 1))
                    })?;
                observed.push(ObservedRecord {
                    key,
                    value,
                    timestamp: s.record.timestamp,
                    window: self.engine.record_window_for_topic(topic, &s.record).map(
                        |(start, end, kind)| WindowSpec {
                            start,
                            end,
                            kind: kind.to_string(),
                        },
                    ),
                    headers: s
                        .record
                        .headers
                        .iter()
                        .map(|h| (h.key.clone(), h.value.clone()))
                        .collect(),
                });
            }
            if let Some(why) = compare_topic(topic, &expected, &observed) {
                return Err(mismatch(why));
            }
        }
        Ok(())
    }
}

/// How long a `/ksql` answer or a pull query's answer may take.
const ANSWER_BUDGET: Duration = Duration::from_secs(5);
/// How long one read of a `/query` answer waits for more of it.
const HTTP_POLL: Duration = Duration::from_millis(50);
/// How long a push query's answer is read at most.
const HTTP_PUSH_BUDGET: Duration = Duration::from_secs(3);

/// REST mode: the case's statements over HTTP, as ksqlDB's REST
/// query-validation runner sends them.
impl CaseRun<'_> {
    /// Runs the case through the server: the statements before the first
    /// query in one `/ksql` request, then the inputs (after the queries are
    /// open when the case waits for an active push query), then each query
    /// through `/query` (any other statement through `/ksql`), each answer
    /// read while the engine is driven; then the same checks as in process,
    /// the answers compared with `responses`.
    fn run_http(&mut self) -> Result<(), Stop> {
        self.create_topics()?;
        let n = self.case.statements.len();
        let first_query = self
            .case
            .statements
            .iter()
            .position(|s| is_query(s))
            .unwrap_or(n);
        if first_query > 0 {
            self.send_ksql(0, first_query)?;
        }
        self.engine
            .run_until_idle()
            .map_err(|e| Stop::Failed(At::Statements, e.to_string()))?;
        self.poll_outputs()?;
        if self.case.wait_for_active_push_query {
            for i in first_query..n {
                self.send_later(i)?;
            }
            self.produce_inputs()?;
            for i in first_query..n {
                self.finish_query(i)?;
            }
        } else {
            self.produce_inputs()?;
            for i in first_query..n {
                self.send_later(i)?;
                self.finish_query(i)?;
            }
        }
        self.poll_outputs()?;
        self.no_error_expected()?;
        self.check_outputs()?;
        post::check(&self.engine, &*self.log, &self.case.post).map_err(Stop::Mismatch)?;
        if let Some(responses) = &self.case.responses {
            rest::check_responses(responses, &self.answers).map_err(Stop::Mismatch)?;
        }
        Ok(())
    }

    fn addr(&self) -> Result<std::net::SocketAddr, Stop> {
        self.server
            .as_ref()
            .map(|s| s.addr)
            .ok_or_else(|| mismatch("no server runs"))
    }

    /// `{"ksql": sql, "streamsProperties": the case's properties}`.
    fn request_body(&self, sql: &str) -> String {
        let properties: serde_json::Map<String, Json> = self
            .case
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), Json::String(v.clone())))
            .collect();
        serde_json::json!({"ksql": sql, "streamsProperties": properties}).to_string()
    }

    /// Sends statements `from..to` to `/ksql` in one request, keeping the
    /// entity answered for each.
    fn send_ksql(&mut self, from: usize, to: usize) -> Result<(), Stop> {
        let sql = self.case.statements[from..to].join("\n");
        let body = self.request_body(&sql);
        let mut response = HttpResponse::post(self.addr()?, "/ksql", &body)
            .map_err(|e| mismatch(format!("statement #{}: {e:#}", from + 1)))?;
        response
            .read_to_end(ANSWER_BUDGET)
            .map_err(|e| mismatch(format!("statement #{}: /ksql: {e:#}", from + 1)))?;
        let text = response.text();
        let json: Json = serde_json::from_str(&text).unwrap_or(Json::String(text.clone()));
        if response.status != 200 {
            // The error carries the entities of the statements before the
            // one that failed.
            let done = json
                .get("entities")
                .and_then(Json::as_array)
                .map_or(0, Vec::len);
            let at = At::Statement((from + done).min(to - 1));
            return Err(Stop::Rejected(at, response.status, json));
        }
        let Json::Array(entities) = json else {
            return Err(mismatch(format!(
                "statement #{}: /ksql answered {}",
                from + 1,
                clip(&text, 300)
            )));
        };
        for (j, entity) in entities.into_iter().enumerate().take(to - from) {
            self.answers[from + j] = Some(Answer::Admin(entity));
        }
        Ok(())
    }

    /// Sends statement `i`, which follows the first query: a query is
    /// opened on `/query` (read by [`CaseRun::finish_query`]), anything
    /// else goes to `/ksql`.
    fn send_later(&mut self, i: usize) -> Result<(), Stop> {
        let sql = &self.case.statements[i];
        if !is_query(sql) {
            return self.send_ksql(i, i + 1);
        }
        let body = self.request_body(sql);
        let mut response = HttpResponse::post(self.addr()?, "/query", &body)
            .map_err(|e| mismatch(format!("statement #{}: {e:#}", i + 1)))?;
        if response.status != 200 {
            response
                .read_to_end(ANSWER_BUDGET)
                .map_err(|e| mismatch(format!("statement #{}: /query: {e:#}", i + 1)))?;
            let text = response.text();
            let json = serde_json::from_str(&text).unwrap_or(Json::String(text));
            return Err(Stop::Rejected(At::Statement(i), response.status, json));
        }
        self.open[i] = Some(response);
        Ok(())
    }

    /// Reads statement `i`'s `/query` answer while driving the engine: a
    /// pull query's to its end; a push query's until it ends, it has the
    /// rows expected (and no final message is awaited) and nothing more
    /// comes, or the budget is spent. Then the connection is closed, which
    /// stops the push query.
    fn finish_query(&mut self, i: usize) -> Result<(), Stop> {
        let Some(mut response) = self.open[i].take() else {
            return Ok(());
        };
        let sql = &self.case.statements[i];
        let is_push = sql
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_uppercase()
            .contains("EMIT CHANGES");
        let expected = match self.case.responses.as_ref().and_then(|r| r.get(i)) {
            Some(crate::case::Response::Query(q)) => Some(q),
            _ => None,
        };
        let wanted_rows = expected.map(|q| q.rows.len());
        let awaits_final = expected.is_some_and(|q| q.final_message.is_some());
        let budget = if is_push {
            HTTP_PUSH_BUDGET
        } else {
            ANSWER_BUDGET
        };
        let deadline = Instant::now() + budget;
        let mut empty = 0;
        loop {
            self.engine
                .run_until_idle()
                .map_err(|e| Stop::Failed(At::Statement(i), e.to_string()))?;
            if response.is_complete() || Instant::now() > deadline {
                break;
            }
            let got = response
                .poll(HTTP_POLL)
                .map_err(|e| mismatch(format!("statement #{}: /query: {e:#}", i + 1)))?;
            if !is_push || response.is_complete() {
                continue;
            }
            empty = if got { 0 } else { empty + 1 };
            let rows = rest::count_rows(&response.text());
            let enough = wanted_rows.is_some_and(|n| rows >= n);
            let settled = match wanted_rows {
                Some(_) => enough && !awaits_final && empty >= 1,
                None => empty >= 3,
            };
            if settled {
                break;
            }
        }
        self.poll_outputs()?;
        let (entries, ended) = rest::parse_query_body(&response.text())
            .map_err(|e| mismatch(format!("statement #{}: {e}", i + 1)))?;
        if let Some(error) = rest::error_entry(&entries) {
            return Err(Stop::Rejected(
                At::Statement(i),
                response.status,
                error.clone(),
            ));
        }
        self.answers[i] = Some(Answer::Query {
            is_push,
            entries,
            complete: ended && response.is_complete(),
        });
        Ok(())
    }
}

/// The topic a `CREATE STREAM/TABLE` (not `AS SELECT`) statement reads.
fn source_topic(stmt: &Statement) -> Option<TopicSpec> {
    let Statement::CreateSource(create) = stmt else {
        return None;
    };
    let prop = |name: &str| {
        create
            .properties
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let text = |v: &PropValue| match v {
        PropValue::String(s) | PropValue::Number(s) => s.clone(),
        PropValue::Bool(b) => b.to_string(),
    };
    let name = prop("KAFKA_TOPIC").map(text)?;
    Some(TopicSpec {
        name,
        partitions: prop("PARTITIONS").and_then(|v| text(v).trim().parse().ok()),
        replicas: prop("REPLICAS").and_then(|v| text(v).trim().parse().ok()),
        key_schema: None,
        value_schema: None,
    })
}

/// Case JSON as bytes when no source says how to encode it: strings as
/// their UTF-8, everything else as JSON text; null as absent.
fn raw_bytes(v: &Json) -> Option<Vec<u8>> {
    match v {
        Json::Null => None,
        Json::String(s) => Some(s.as_bytes().to_vec()),
        other => Some(other.to_string().into_bytes()),
    }
}

/// Follows the output topics, keeping their records in the order they
/// appeared: after each input, the new records of every partition.
struct OutputTracker {
    topics: Vec<String>,
    next: HashMap<(String, i32), i64>,
    observed: HashMap<String, Vec<StoredRecord>>,
}

impl OutputTracker {
    fn new(topics: Vec<String>) -> Self {
        OutputTracker {
            topics,
            next: HashMap::new(),
            observed: HashMap::new(),
        }
    }

    fn poll(&mut self, log: &dyn Log) -> sluice_engine::Result<()> {
        for topic in &self.topics {
            let Some(info) = log.describe_topic(topic)? else {
                continue;
            };
            for p in 0..info.partitions {
                let next = self.next.entry((topic.clone(), p)).or_insert(0);
                loop {
                    let batch = log.read(topic, p, *next, 1000)?;
                    let Some(last) = batch.last() else {
                        break;
                    };
                    *next = last.offset + 1;
                    self.observed
                        .entry(topic.clone())
                        .or_default()
                        .extend(batch);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_matching_ignores_case_and_spacing() {
        assert!(contains_loosely(
            "Line 1:2: Unknown  column\nFOO",
            "unknown column foo"
        ));
        assert!(!contains_loosely("boom", "bang"));
    }

    #[test]
    fn raw_bytes_follow_case_json() {
        assert_eq!(raw_bytes(&Json::Null), None);
        assert_eq!(raw_bytes(&serde_json::json!("a,b")), Some(b"a,b".to_vec()));
        assert_eq!(raw_bytes(&serde_json::json!(12)), Some(b"12".to_vec()));
        assert_eq!(
            raw_bytes(&serde_json::json!({"A": 1})),
            Some(br#"{"A":1}"#.to_vec())
        );
    }
}
