//! Queries answered to the caller: pull queries (now), push queries (as
//! rows arrive) and PRINT.

use super::{EngineInner, SessionState};
use crate::catalog::Source;
use crate::error::{Error, Pos, Result};
use crate::expr::{Compiled, Scope};
use crate::log::Log;
use crate::plan::planner::plan_query;
use crate::results::{PushQuery, PushRow, PushSource, ResultColumn, RowSet, StatementResult};
use crate::runtime::deploy::{open_flow, FlowSpec};
use crate::runtime::reader::SourceReader;
use crate::runtime::task::TransientTask;
use crate::sql::ast::*;
use crate::sql::parser::parse_statement;
use crate::types::{Column, Schema, SqlType, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

impl EngineInner {
    pub(super) fn select(&self, session: &SessionState, q: &Query) -> Result<StatementResult> {
        let push = q.emit.is_some();
        if !push
            && q.limit.is_some()
            && !session.property_bool("ksql.query.pull.limit.clause.enabled", true)
        {
            return Err(Error::plan("LIMIT clause in pull queries is currently disabled. You can enable them by setting ksql.query.pull.limit.clause.enabled=true. See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query."));
        }
        if !q.order_by.is_empty() {
            return self.ordered_pull(session, q);
        }
        // Beyond ksqlDB: a pull query may join materialized tables; joins
        // involving streams still need EMIT CHANGES.
        if !push && !q.joins.is_empty() && !self.reads_only_tables(q) {
            return Err(Error::plan("Pull queries don't support JOIN clauses. See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query."));
        }
        let options = self.plan_options(session, None, true, None);
        let plan = plan_query(q, &self.state.lock().catalog, &options)?;
        let earliest = !push || session.reads_from_earliest();
        let columns = result_columns(&plan.schema);
        // Show columns in SELECT order: keys were moved first by the planner
        // only for sinks; for a push query the schema order is fine.
        let output: Vec<usize> = (0..plan.schema.columns.len()).collect();
        let id = transient_query_id(&plan.source.name);
        let source = plan.source.clone();
        let (kind, schema) = (plan.kind, plan.schema.clone());
        let feed = push
            .then(|| crate::runtime::push_hub::FeedKey::of(&plan.inputs, plan.join.is_some()))
            .flatten();
        let spec = FlowSpec {
            inputs: plan.inputs,
            join: plan.join,
            operators: plan.operators,
        };
        let flow = open_flow(self.log.as_ref(), spec, None, earliest)?;
        let mut task = TransientTask {
            query_id: id.clone(),
            flow,
            output,
            limit: q.limit,
            emitted: 0,
        };
        if push {
            let source: Box<dyn PushSource> = match feed {
                Some(feed) => {
                    Box::new(
                        self.push_hub
                            .subscribe(self.log.clone(), feed, task, columns)?,
                    )
                }
                None => Box::new(TransientPush {
                    log: self.log.clone(),
                    task,
                    columns,
                }),
            };
            let shareable = q.limit.is_none() && !earliest;
            return Ok(StatementResult::Push(
                PushQuery::new(source).with_shareable(shareable),
            ));
        }
        if kind == SourceKind::Table || source.kind == SourceKind::Table {
            return self.pull_table(q, &source, &schema, task, columns);
        }
        // A pull query over a stream: everything up to the current end.
        let ends = task.flow.ends(self.log.as_ref())?;
        let mut rows = Vec::new();
        loop {
            if task.flow.reached(&ends) || task.finished() {
                break;
            }
            match task.poll(self.log.as_ref())? {
                Some(r) => rows.extend(r),
                None => break,
            }
        }
        Ok(StatementResult::Rows(RowSet {
            query_id: id,
            columns,
            rows,
            over_stream: true,
            limit_reached: task.finished(),
        }))
    }

    /// True when every source the query reads is a table.
    pub(super) fn reads_only_tables(&self, q: &Query) -> bool {
        let st = self.state.lock();
        std::iter::once(&q.from.name)
            .chain(q.joins.iter().map(|j| &j.right.name))
            .all(|n| {
                st.catalog
                    .find_source(n)
                    .is_some_and(|s| s.kind == SourceKind::Table)
            })
    }

    /// A pull query with ORDER BY (beyond ksqlDB): the rows of the query
    /// without it, sorted by expressions over the result columns, then
    /// limited.
    pub(super) fn ordered_pull(
        &self,
        session: &SessionState,
        q: &Query,
    ) -> Result<StatementResult> {
        if q.emit.is_some() || !self.reads_only_tables(q) {
            return Err(Error::plan(
                "ORDER BY is only supported in pull queries over tables: a stream's rows, and a push query's, arrive in the order they happen.",
            ));
        }
        let mut inner = q.clone();
        inner.order_by.clear();
        let limit = inner.limit.take();
        let StatementResult::Rows(mut set) = self.select(session, &inner)? else {
            return Err(Error::plan("ORDER BY needs a query that returns rows"));
        };
        let types = self.state.lock().catalog.type_list();
        let scope = Scope {
            columns: set
                .columns
                .iter()
                .map(|c| crate::expr::ScopeColumn {
                    qualifier: None,
                    name: c.name.clone(),
                    ty: c.ty.clone(),
                })
                .collect(),
            custom_types: types,
        };
        let keys: Vec<(Compiled, bool)> = q
            .order_by
            .iter()
            .map(|(e, desc)| {
                Compiled::compile(e, &scope)
                    .map(|c| (c, *desc))
                    .map_err(|err| {
                        Error::plan(format!(
                            "ORDER BY {e}: {err} (ORDER BY refers to the result's columns)"
                        ))
                    })
            })
            .collect::<Result<_>>()?;
        let mut keyed: Vec<(Vec<Value>, Vec<Value>)> = set
            .rows
            .drain(..)
            .map(|row| {
                let mut errors = Vec::new();
                let k = keys
                    .iter()
                    .map(|(c, _)| c.eval_row(&row, &mut errors))
                    .collect();
                (k, row)
            })
            .collect();
        keyed.sort_by(|(a, _), (b, _)| {
            for ((x, y), (_, desc)) in a.iter().zip(b).zip(&keys) {
                let o = x.total_cmp(y);
                if o != std::cmp::Ordering::Equal {
                    return if *desc { o.reverse() } else { o };
                }
            }
            std::cmp::Ordering::Equal
        });
        set.rows = keyed.into_iter().map(|(_, r)| r).collect();
        if let Some(l) = limit {
            set.rows.truncate(l as usize);
        }
        Ok(StatementResult::Rows(set))
    }

    /// A pull query over a table: the table's current rows that match,
    /// computed by running the query over the table's topic up to its
    /// current end and keeping the last row of every key.
    pub(super) fn pull_table(
        &self,
        q: &Query,
        source: &Source,
        schema: &Schema,
        mut task: TransientTask,
        columns: Vec<ResultColumn>,
    ) -> Result<StatementResult> {
        if source.kind == SourceKind::Table && source.created_by.is_none() && !source.is_source {
            return Err(Error::plan(format!(
                "The `{name}` table isn't queryable. To derive a queryable table, you can do 'CREATE TABLE QUERYABLE_{name} AS SELECT * FROM {name}'. See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query.",
                name = source.name
            )));
        }
        let key_idx = schema.key_indexes();
        let mut latest: BTreeMap<Vec<u8>, Option<Vec<Value>>> = BTreeMap::new();
        let mut order: Vec<Vec<u8>> = Vec::new();
        // One table: answer from its materialized view (a key lookup reads
        // only that key's rows). Joins run over the topics.
        let from_view = task.flow.inputs.len() == 1 && source.kind == SourceKind::Table;
        let mut batches: Vec<Vec<crate::operators::Row>> = Vec::new();
        if from_view {
            // The map is locked only to find the view; the view's own locks
            // let lookups run beside its catching up.
            let view = self.view_of(source)?;
            view.catch_up(self.log.as_ref())?;
            let candidates = match key_lookup(q, source) {
                Some(key) => view.lookup(&key),
                None => view.scan(),
            };
            let mut ctx = crate::operators::Context::default();
            let mut rows = candidates;
            for op in task.flow.operators.iter_mut() {
                if rows.is_empty() {
                    break;
                }
                rows = op.process(rows, &mut ctx)?;
            }
            batches.push(rows);
        }
        loop {
            if from_view {
                break;
            }
            let mut ctx = crate::operators::Context::default();
            let log = self.log.as_ref();
            let (read, out) =
                task.flow
                    .step(log, &mut crate::runtime::reader::Out::Log(log), &mut ctx)?;
            if read == 0 {
                break;
            }
            batches.push(out);
        }
        for out in batches {
            for row in out {
                let mut id = crate::operators::materialize::key_bytes(&key_idx, &row.values);
                if let Some(w) = row.window {
                    id.extend_from_slice(&w.start.to_be_bytes());
                }
                if !latest.contains_key(&id) {
                    order.push(id.clone());
                }
                latest.insert(
                    id,
                    if row.tombstone {
                        None
                    } else {
                        Some(row.values)
                    },
                );
            }
        }
        let mut rows = Vec::new();
        for id in order {
            if let Some(Some(values)) = latest.remove(&id) {
                if q.limit.is_some_and(|l| rows.len() as u64 >= l) {
                    break;
                }
                rows.push(values);
            }
        }
        Ok(StatementResult::Rows(RowSet {
            query_id: task.query_id,
            columns,
            rows,
            over_stream: false,
            limit_reached: false,
        }))
    }

    pub(super) fn print(
        &self,
        topic: &str,
        from_beginning: bool,
        interval: u64,
        limit: Option<u64>,
    ) -> Result<StatementResult> {
        let topic = self
            .log
            .list_topics()?
            .into_iter()
            .find(|t| t.name == topic || t.name.eq_ignore_ascii_case(topic))
            .ok_or_else(|| Error::not_found(format!("Could not find topic '{topic}', or the KSQL user does not have permissions to list the topic. Topic names are case-sensitive.")))?;
        let reader = SourceReader::open(self.log.as_ref(), &topic.name, None, from_beginning)?;
        Ok(StatementResult::Print(PushQuery::new(Box::new(
            PrintPush {
                query_id: transient_query_id(&topic.name),
                source: self.source_on_topic(&topic.name),
                log: self.log.clone(),
                reader,
                interval: interval.max(1),
                seen: 0,
                limit,
                emitted: 0,
                header_sent: false,
            },
        ))))
    }
}

impl EngineInner {
    /// The materialized view of a table, opened the first time. The map is
    /// locked only to find the view; the view's own locks let lookups run
    /// beside its catching up.
    pub(super) fn view_of(&self, source: &Source) -> Result<Arc<crate::runtime::view::TableView>> {
        let mut views = self.views.lock();
        if let Some(view) = views.get(&view_key(source)) {
            return Ok(view.clone());
        }
        let view = Arc::new(crate::runtime::view::TableView::open(
            self.log.as_ref(),
            source,
        )?);
        views.insert(view_key(source), view.clone());
        Ok(view)
    }
}

/// What names a table's materialized view.
fn view_key(source: &Source) -> String {
    format!("{}\u{0}{}", source.name, source.sql)
}

impl EngineInner {
    /// True when `sql` is one pull query (no EMIT, join or ORDER BY) over a
    /// table whose materialized view is open already: it is answered from
    /// memory, without reading the Log beyond what was appended since.
    pub(crate) fn pull_from_view(&self, sql: &str) -> bool {
        let Ok(Statement::Query(q)) = parse_statement(sql, Pos::default()) else {
            return false;
        };
        if q.emit.is_some() || !q.joins.is_empty() || !q.order_by.is_empty() {
            return false;
        }
        let key = {
            let st = self.state.lock();
            match st.catalog.find_source(&q.from.name) {
                Some(s) if s.kind == SourceKind::Table => view_key(s),
                _ => return false,
            }
        };
        self.views.lock().contains_key(&key)
    }
}

/// A transient query's id, as ksqlDB names them.
pub(super) fn transient_query_id(source: &str) -> String {
    format!(
        "transient_{}_{}",
        source,
        crate::catalog::metastore::now_ms()
    )
}

/// A result schema's columns, keys marked.
pub(super) fn result_columns(schema: &Schema) -> Vec<ResultColumn> {
    schema
        .columns
        .iter()
        .map(|c| ResultColumn {
            name: c.name.clone(),
            ty: c.ty.clone(),
            key: c.is_key(),
        })
        .collect()
}

/// A push query over a transient pipeline.
pub(super) struct TransientPush {
    log: Arc<dyn Log>,
    task: TransientTask,
    columns: Vec<ResultColumn>,
}

impl PushSource for TransientPush {
    fn query_id(&self) -> String {
        self.task.query_id.clone()
    }

    fn columns(&self) -> Vec<ResultColumn> {
        self.columns.clone()
    }

    fn next_rows(&mut self, timeout: Duration) -> Result<Option<Vec<PushRow>>> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let seen = self.log.append_seq();
            match self.task.poll_changes(self.log.as_ref())? {
                None => return Ok(None),
                Some(rows) if !rows.is_empty() => return Ok(Some(rows)),
                Some(_) => {}
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return Ok(Some(Vec::new()));
            }
            self.log.wait_for_append(seen, deadline - now);
        }
    }
}

/// PRINT: a topic's records as text, one row per record.
pub(super) struct PrintPush {
    query_id: String,
    log: Arc<dyn Log>,
    /// A source declared over the topic, whose formats read its records.
    source: Option<Source>,
    reader: SourceReader,
    interval: u64,
    seen: u64,
    limit: Option<u64>,
    emitted: u64,
    /// Whether the `Key format:` / `Value format:` lines went out (before
    /// the first record, as ksqlDB's PRINT writes them).
    header_sent: bool,
}

/// The format PRINT names for record bytes read without a source over
/// the topic, guessed as ksqlDB does from what they parse as.
fn guessed_format(bytes: Option<&[u8]>) -> &'static str {
    match bytes {
        None => "\u{af}\\_(\u{30c4})_/\u{af} - no data processed",
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) if serde_json::from_str::<serde_json::Value>(s)
                .is_ok_and(|j| j.is_object() || j.is_array()) =>
            {
                "JSON"
            }
            Ok(s) if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => {
                "KAFKA_STRING"
            }
            _ if b.len() == 4 => "KAFKA_INT",
            _ if b.len() == 8 => "KAFKA_BIGINT",
            _ => "does not match any supported format. It may be a STRING with encoding other than UTF8, or some other format.",
        },
    }
}

impl PrintPush {
    /// PRINT's header lines: the key and value formats, the source's over
    /// the topic (a KAFKA key named by its type, as ksqlDB detects it:
    /// `KAFKA_STRING`, `KAFKA_INT`...) or guessed from `first`.
    fn header(&self, first: &crate::log::Record) -> [String; 2] {
        let (key, value) = match &self.source {
            Some(s) => {
                let keys: Vec<_> = s.schema.keys().collect();
                let key = match (s.key_format.kind.name(), keys.as_slice()) {
                    ("KAFKA", [k]) => match k.ty {
                        SqlType::Int => "KAFKA_INT".to_string(),
                        SqlType::BigInt => "KAFKA_BIGINT".to_string(),
                        SqlType::Double => "KAFKA_DOUBLE".to_string(),
                        _ => "KAFKA_STRING".to_string(),
                    },
                    (name, _) => name.to_string(),
                };
                (key, s.value_format.kind.name().to_string())
            }
            None => (
                guessed_format(first.key.as_deref()).to_string(),
                guessed_format(first.value.as_deref()).to_string(),
            ),
        };
        [
            format!("Key format: {key}"),
            format!("Value format: {value}"),
        ]
    }

    /// A record's key and value as text: decoded with the formats of a
    /// source over the topic when there is one, otherwise guessed (UTF-8
    /// text, a 4- or 8-byte big-endian number, or hex).
    pub(super) fn render(&self, record: &crate::log::Record) -> (String, String) {
        let guess = |b: &Option<Vec<u8>>| match b.as_deref() {
            None => "<null>".to_string(),
            Some(b) => match std::str::from_utf8(b) {
                Ok(s) if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => {
                    s.to_string()
                }
                _ if b.len() == 4 => i32::from_be_bytes([b[0], b[1], b[2], b[3]]).to_string(),
                _ if b.len() == 8 => {
                    i64::from_be_bytes(b.try_into().expect("length checked")).to_string()
                }
                _ => format!("0x{}", hex::encode(b)),
            },
        };
        let Some(s) = &self.source else {
            return (guess(&record.key), guess(&record.value));
        };
        let keys: Vec<_> = s.schema.keys().cloned().collect();
        let values: Vec<_> = s.schema.values().cloned().collect();
        let mut key = record.key.as_deref();
        if let (Some(kind), Some(bytes)) = (s.window, key) {
            key = crate::operators::source::split_windowed_key(bytes, kind).map(|(k, _)| k);
        }
        let show = |j: serde_json::Value| match j {
            serde_json::Value::Null => "<null>".to_string(),
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        let k = crate::testkit::decode_part(key, Some(&s.key_format), &keys, true)
            .map(show)
            .unwrap_or_else(|_| guess(&record.key));
        let v = crate::testkit::decode_part(
            record.value.as_deref(),
            Some(&s.value_format),
            &values,
            false,
        )
        .map(show)
        .unwrap_or_else(|_| guess(&record.value));
        (k, v)
    }
}

impl PushSource for PrintPush {
    fn query_id(&self) -> String {
        self.query_id.clone()
    }

    fn columns(&self) -> Vec<ResultColumn> {
        vec![ResultColumn {
            name: "Record".into(),
            ty: SqlType::String,
            key: false,
        }]
    }

    fn next_rows(&mut self, timeout: Duration) -> Result<Option<Vec<PushRow>>> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if self.limit.is_some_and(|l| self.emitted >= l) {
                return Ok(None);
            }
            let seq = self.log.append_seq();
            let records = self.reader.read(self.log.as_ref())?;
            let mut out = Vec::new();
            for r in records {
                self.seen += 1;
                if !(self.seen - 1).is_multiple_of(self.interval)
                    || self.limit.is_some_and(|l| self.emitted >= l)
                {
                    continue;
                }
                self.emitted += 1;
                if !self.header_sent {
                    self.header_sent = true;
                    for line in self.header(&r.record) {
                        out.push(PushRow {
                            values: vec![Value::String(line)],
                            tombstone: false,
                        });
                    }
                }
                let (key, value) = self.render(&r.record);
                let rowtime = chrono::DateTime::from_timestamp_millis(r.record.timestamp)
                    .map_or_else(
                        || "N/A".to_string(),
                        |t| t.format("%Y/%m/%d %H:%M:%S%.3f Z").to_string(),
                    );
                out.push(PushRow {
                    values: vec![Value::String(format!(
                        "rowtime: {rowtime}, key: {}, value: {}, partition: {}",
                        key, value, r.partition
                    ))],
                    tombstone: false,
                });
            }
            if !out.is_empty() {
                return Ok(Some(out));
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return Ok(Some(Vec::new()));
            }
            self.log.wait_for_append(seq, deadline - now);
        }
    }
}

/// The key a pull query looks up, when its WHERE clause pins the table's
/// single key column to a literal (`key = 'x' [AND ...]`): the fast path.
pub(super) fn key_lookup(q: &Query, source: &Source) -> Option<Value> {
    let keys: Vec<&Column> = source.schema.keys().collect();
    let [key] = keys.as_slice() else { return None };
    let mut conjuncts = Vec::new();
    let mut stack = vec![q.where_clause.as_ref()?];
    while let Some(e) = stack.pop() {
        match e {
            Expr::Binary {
                op: BinaryOp::And,
                left,
                right,
            } => {
                stack.push(left);
                stack.push(right);
            }
            other => conjuncts.push(other),
        }
    }
    for c in conjuncts {
        let Expr::Binary {
            op: BinaryOp::Eq,
            left,
            right,
        } = c
        else {
            continue;
        };
        let (col, lit) = match (left.as_ref(), right.as_ref()) {
            (Expr::Column { name, .. }, Expr::Literal(l))
            | (Expr::Literal(l), Expr::Column { name, .. }) => (name, l),
            _ => continue,
        };
        if *col != key.name {
            continue;
        }
        let value = match (lit, &key.ty) {
            (Literal::String(s), SqlType::String) => Value::String(s.clone()),
            (Literal::Integer(i), SqlType::Int) => Value::Int(i32::try_from(*i).ok()?),
            (Literal::Integer(i), SqlType::BigInt) => Value::BigInt(*i),
            (Literal::Bool(b), SqlType::Boolean) => Value::Bool(*b),
            _ => return None,
        };
        return Some(value);
    }
    None
}
