//! The executor: runs statements against the catalog, the Log and the
//! running queries. It owns the engine's shared state, appends every
//! catalog-changing statement to the metastore, and replays it at start.

use crate::catalog::metastore::{Command, Metastore};
use crate::catalog::{Catalog, QueryInfo, QueryState, Source, TimestampSpec};
use crate::error::{Error, Pos, Result};
use crate::expr::{cast_value, Compiled, Scope};
use crate::formats::{FormatKind, FormatSpec};
use crate::log::{Log, TopicConfig};
use crate::operators::rekey::Rekey;
use crate::operators::{SinkEncoder, SourceDecoder};
use crate::plan::planner::plan_query;
use crate::plan::PlanOptions;
use crate::runtime::processing_log;
use crate::runtime::reader::SourceReader;
use crate::runtime::repartition::Repartition;
use crate::runtime::task::{
    Decoder, Flow, Input, Membership, PersistentTask, Pipeline, TransientTask, Work,
};
use crate::sql::ast::*;
use crate::sql::parser::{parse_statement, split_statements};
use crate::types::{Column, ColumnKind, Schema, SqlType, Value};
use crate::{EngineConfig, PushQuery, PushSource, RowSet, StatementResult};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A persistent query's work, shared with the thread that runs it.
type SharedWork = Arc<Mutex<Box<dyn Work>>>;

/// A persistent query that is running (or paused).
struct RunningQuery {
    id: String,
    task: SharedWork,
    stop: Arc<AtomicBool>,
    paused: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RunningQuery {
    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Catalog, session state and counters, behind one lock.
struct State {
    catalog: Catalog,
    properties: BTreeMap<String, String>,
    variables: BTreeMap<String, String>,
    next_query: u64,
}

/// Shared state behind the [`crate::Engine`] facade.
pub struct EngineInner {
    /// Itself, for threads that outlive a call (a query planning itself
    /// afresh).
    me: std::sync::Weak<EngineInner>,
    pub(crate) log: Arc<dyn Log>,
    /// `ksql.service.id`: processes with the same one share the command
    /// topic, and so the streams, tables and queries.
    service_id: String,
    /// The service's command topic.
    command_topic: String,
    state: Mutex<State>,
    queries: Mutex<Vec<RunningQuery>>,
    background: bool,
    /// Persistent queries are recorded, not run, in this process.
    record_only: bool,
    /// True while the metastore is being replayed.
    replaying: AtomicBool,
    /// Following the command topic for statements other processes of the
    /// service run (Kafka, with queries running here).
    follow_commands: bool,
    /// The Log is a Kafka cluster.
    kafka: bool,
    /// This process's id in the commands it records.
    instance: String,
    /// The next command-topic offset to apply; held while a statement
    /// that changes the catalog runs, so commands apply one at a time.
    applied: Mutex<i64>,
    /// Materialized views answering pull queries, by the statement that
    /// created the table.
    views: Mutex<std::collections::HashMap<String, crate::runtime::view::TableView>>,
    /// The shared reading of push queries' sources.
    push_hub: crate::runtime::push_hub::PushHub,
}

impl Drop for EngineInner {
    fn drop(&mut self) {
        for q in self.queries.get_mut().iter_mut() {
            q.shutdown();
        }
        let _ = self.log.flush();
    }
}

fn prop_str(props: &Properties, name: &str) -> Option<String> {
    props.iter().find(|(n, _)| n == name).map(|(_, v)| match v {
        PropValue::String(s) => s.clone(),
        PropValue::Number(n) => n.clone(),
        PropValue::Bool(b) => b.to_string(),
    })
}

fn prop_int(props: &Properties, name: &str) -> Result<Option<i64>> {
    match prop_str(props, name) {
        None => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .map(Some)
            .map_err(|_| Error::plan(format!("Invalid value for {name}: '{s}'"))),
    }
}

impl EngineInner {
    pub fn open(config: EngineConfig, log: Arc<dyn Log>) -> Result<Arc<EngineInner>> {
        let service_id = config
            .properties
            .get("ksql.service.id")
            .cloned()
            .unwrap_or_else(|| "default_".to_string());
        let command_topic = crate::catalog::metastore::command_topic(&service_id);
        Metastore::init(log.as_ref(), &command_topic)?;
        processing_log::init(log.as_ref())?;
        let inner = Arc::new_cyclic(|me| EngineInner {
            me: me.clone(),
            log,
            service_id,
            command_topic,
            state: Mutex::new(State {
                catalog: Catalog::default(),
                properties: config.properties.clone(),
                variables: BTreeMap::new(),
                next_query: 0,
            }),
            queries: Mutex::new(Vec::new()),
            background: config.background,
            record_only: config.record_only,
            replaying: AtomicBool::new(false),
            follow_commands: config.kafka.is_some() && config.background && !config.record_only,
            kafka: config.kafka.is_some(),
            instance: crate::catalog::metastore::instance_id(),
            applied: Mutex::new(0),
            views: Mutex::new(Default::default()),
            push_hub: Default::default(),
        });
        inner.execute_one(
            &processing_log::create_statement(),
            Pos { line: 1, col: 1 },
            false,
        )?;
        {
            let mut applied = inner.applied.lock();
            inner.apply_commands(&mut applied, true)?;
        }
        if inner.follow_commands {
            follow_commands(&inner);
        }
        Ok(inner)
    }

    /// Applies the command topic's commands from `*applied` on (skipping
    /// this process's own unless `all`) and advances `*applied` past them.
    fn apply_commands(&self, applied: &mut i64, all: bool) -> Result<()> {
        let commands = Metastore::read_from(self.log.as_ref(), &self.command_topic, *applied)?;
        if commands.is_empty() {
            return Ok(());
        }
        self.replaying.store(true, Ordering::SeqCst);
        for (offset, cmd) in commands {
            *applied = offset + 1;
            if !all && cmd.origin.as_deref() == Some(self.instance.as_str()) {
                continue;
            }
            let saved =
                std::mem::replace(&mut self.state.lock().properties, cmd.properties.clone());
            let r = self.execute_one(&cmd.statement, Pos { line: 1, col: 1 }, false);
            self.state.lock().properties = saved;
            match r {
                Err(e) if all => eprintln!(
                    "sluice: skipping stored statement that no longer runs: {e}: {}",
                    cmd.statement
                ),
                Err(e) => eprintln!(
                    "sluice: a statement another process of the service ran fails here: {e}: {}",
                    cmd.statement
                ),
                Ok(_) if !all => eprintln!(
                    "sluice: applied a statement from another process of the service: {}",
                    cmd.statement
                ),
                Ok(_) => {}
            }
        }
        self.replaying.store(false, Ordering::SeqCst);
        Ok(())
    }

    pub fn set_property(&self, name: &str, value: &str) {
        self.state
            .lock()
            .properties
            .insert(name.to_string(), value.to_string());
    }

    fn property(&self, name: &str) -> Option<String> {
        self.state.lock().properties.get(name).cloned()
    }

    fn property_bool(&self, name: &str, default: bool) -> bool {
        self.property(name)
            .map(|v| v.eq_ignore_ascii_case("true"))
            .unwrap_or(default)
    }

    /// Runs a script; stops at the first failing statement.
    pub fn execute(&self, sql: &str) -> Result<Vec<StatementResult>> {
        let mut out = Vec::new();
        for piece in split_statements(sql)? {
            out.push(self.execute_one(&piece.text, piece.pos, true)?);
        }
        Ok(out)
    }

    fn substitute(&self, text: &str) -> Result<String> {
        if !self.property_bool("ksql.variable.substitution.enable", true) || !text.contains("${") {
            return Ok(text.to_string());
        }
        let vars = self.state.lock().variables.clone();
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| Error::plan("Unterminated variable reference '${'"))?;
            let name = &after[..end];
            let value = vars
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .ok_or_else(|| Error::plan(format!("Can't find variable with name '{name}'")))?;
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Parses and runs one statement. `record` appends catalog changes to
    /// the metastore (off while replaying it).
    fn execute_one(&self, text: &str, pos: Pos, record: bool) -> Result<StatementResult> {
        let text = self.substitute(text)?;
        let stmt = parse_statement(&text, pos)?;
        let trimmed = text.trim().trim_end_matches(';').trim().to_string() + ";";
        if !record || !changes_catalog(&stmt) {
            return self.run_statement(&stmt, &trimmed);
        }
        // A statement that changes the catalog runs after every command
        // other processes recorded before it, then is recorded itself.
        let mut applied = self.applied.lock();
        if self.follow_commands {
            self.apply_commands(&mut applied, false)?;
        }
        let result = self.run_statement(&stmt, &trimmed)?;
        let properties = self.state.lock().properties.clone();
        Metastore::append(
            self.log.as_ref(),
            &self.command_topic,
            &Command {
                statement: trimmed,
                properties,
                origin: Some(self.instance.clone()),
            },
        )?;
        Ok(result)
    }

    fn run_statement(&self, stmt: &Statement, text: &str) -> Result<StatementResult> {
        match stmt {
            Statement::CreateSource(c) => self.create_source(c, text),
            Statement::CreateAsSelect(c) => self.create_as_select(c, text),
            Statement::InsertInto { target, query } => self.insert_into(target, query, text),
            Statement::InsertValues {
                target,
                columns,
                values,
            } => self.insert_values(target, columns.as_deref(), values),
            Statement::Query(q) => self.select(q),
            Statement::Show { what, extended } => self.show(what, *extended),
            Statement::Describe { target, extended } => self.describe(target, *extended),
            Statement::DescribeFunction(name) => self.describe_function(name),
            Statement::Explain(target) => self.explain(target),
            Statement::Drop {
                kind,
                if_exists,
                name,
                delete_topic,
            } => self.drop_source(*kind, *if_exists, name, *delete_topic),
            Statement::DropType { if_exists, name } => {
                let mut st = self.state.lock();
                if st.catalog.remove_type(name).is_none() && !if_exists {
                    return Err(Error::catalog(format!("Type {name} does not exist.")));
                }
                Ok(StatementResult::Message(format!("Dropped type '{name}'")))
            }
            Statement::CreateType {
                if_not_exists,
                name,
                ty,
            } => {
                let mut st = self.state.lock();
                if let Some(existing) = st.catalog.types().get(name) {
                    if *if_not_exists {
                        return Ok(StatementResult::Message(format!(
                            "Type {name} already exists"
                        )));
                    }
                    return Err(Error::catalog(format!(
                        "Cannot register custom type '{name}' since it is already registered with type: {existing}"
                    )));
                }
                let resolved = st.catalog.resolve_type(ty)?;
                st.catalog.add_type(name, resolved);
                Ok(StatementResult::Message(format!(
                    "Registered custom type with name '{name}' and SQL type {ty}"
                )))
            }
            Statement::Terminate(target) => self.terminate(target),
            Statement::Pause(target) => self.pause(target, true),
            Statement::Resume(target) => self.pause(target, false),
            Statement::Set { name, value } => {
                self.set_property(name, value);
                Ok(StatementResult::Message(format!(
                    "Successfully changed local property '{name}' to '{value}'."
                )))
            }
            Statement::Unset { name } => {
                self.state.lock().properties.remove(name);
                Ok(StatementResult::Message(format!(
                    "Successfully unset local property '{name}'."
                )))
            }
            Statement::Define { name, value } => {
                self.state
                    .lock()
                    .variables
                    .insert(name.clone(), value.clone());
                Ok(StatementResult::Message(format!("Defined variable {name}")))
            }
            Statement::Undefine { name } => {
                let mut st = self.state.lock();
                let key = st
                    .variables
                    .keys()
                    .find(|k| k.eq_ignore_ascii_case(name))
                    .cloned();
                match key {
                    Some(k) => {
                        st.variables.remove(&k);
                        Ok(StatementResult::Message(format!(
                            "Undefined variable {name}"
                        )))
                    }
                    None => Err(Error::plan(format!("Variable '{name}' is undefined"))),
                }
            }
            Statement::Print {
                topic,
                from_beginning,
                interval,
                limit,
            } => self.print(topic, *from_beginning, interval.unwrap_or(1), *limit),
            Statement::Assert(a) => self.assert(a),
            Statement::Alter {
                kind,
                name,
                add_columns,
            } => self.alter(*kind, name, add_columns),
        }
    }

    // ---- CREATE ------------------------------------------------------------

    fn formats_from(
        &self,
        props: &Properties,
        default_key: Option<FormatSpec>,
        default_value: Option<FormatSpec>,
    ) -> Result<(FormatSpec, FormatSpec)> {
        let format = prop_str(props, "FORMAT");
        let key = prop_str(props, "KEY_FORMAT");
        let value = prop_str(props, "VALUE_FORMAT");
        if format.is_some() && key.is_some() {
            return Err(Error::plan("Cannot supply both 'KEY_FORMAT' and 'FORMAT' properties, as 'FORMAT' sets both key and value formats. Either use just 'FORMAT', or use 'KEY_FORMAT' and 'VALUE_FORMAT'."));
        }
        if format.is_some() && value.is_some() {
            return Err(Error::plan("Cannot supply both 'VALUE_FORMAT' and 'FORMAT' properties, as 'FORMAT' sets both key and value formats. Either use just 'FORMAT', or use 'KEY_FORMAT' and 'VALUE_FORMAT'."));
        }
        let mut key_spec = match key.or(format.clone()) {
            Some(k) => FormatSpec::new(FormatKind::parse(&k)?),
            None => match default_key {
                Some(k) => k,
                None => FormatSpec::new(FormatKind::parse(
                    &self
                        .property("ksql.persistence.default.format.key")
                        .unwrap_or_else(|| "KAFKA".to_string()),
                )?),
            },
        };
        let mut value_spec = match value.or(format) {
            Some(v) => FormatSpec::new(FormatKind::parse(&v)?),
            None => match default_value {
                Some(v) => FormatSpec { wrap_single: true, ..v },
                None => match self.property("ksql.persistence.default.format.value") {
                    Some(v) => FormatSpec::new(FormatKind::parse(&v)?),
                    None => return Err(Error::plan("Statement is missing the 'VALUE_FORMAT' property from the WITH clause. Either provide one or set a default via the 'ksql.persistence.default.format.value' config.")),
                },
            },
        };
        if let Some(d) = prop_str(props, "VALUE_DELIMITER") {
            value_spec.delimiter = parse_delimiter(&d)?;
        }
        if let Some(d) = prop_str(props, "KEY_DELIMITER") {
            key_spec.delimiter = parse_delimiter(&d)?;
        }
        if let Some(w) = prop_str(props, "WRAP_SINGLE_VALUE") {
            value_spec.wrap_single = w.eq_ignore_ascii_case("true");
            if value_spec.wrap_single && value_spec.kind == FormatKind::Kafka {
                return Err(Error::plan(
                    "Format 'KAFKA' does not support 'WRAP_SINGLE_VALUE' set to 'true'.",
                ));
            }
            if !value_spec.wrap_single
                && matches!(
                    value_spec.kind,
                    FormatKind::Protobuf | FormatKind::ProtobufNoSr
                )
            {
                return Err(Error::plan(format!(
                    "Format '{}' does not support 'WRAP_SINGLE_VALUE' set to 'false'.",
                    value_spec.kind
                )));
            }
        } else if let Some(w) = self.property("ksql.persistence.wrap.single.values") {
            value_spec.wrap_single = w.eq_ignore_ascii_case("true");
        }
        Ok((key_spec, value_spec))
    }

    fn check_name_free(&self, st: &State, name: &str, kind: SourceKind) -> Result<()> {
        if let Some(existing) = st.catalog.find_source(name) {
            let what = match kind {
                SourceKind::Stream => "stream",
                SourceKind::Table => "table",
            };
            return Err(Error::catalog(format!(
                "Cannot add {what} '{name}': A {} with the same name already exists",
                existing.kind_name().to_ascii_lowercase()
            )));
        }
        Ok(())
    }

    fn create_source(&self, c: &CreateSource, text: &str) -> Result<StatementResult> {
        let what = match c.kind {
            SourceKind::Stream => "Stream",
            SourceKind::Table => "Table",
        };
        {
            let st = self.state.lock();
            if c.or_replace
                && (c.is_source || st.catalog.find_source(&c.name).is_some_and(|s| s.is_source))
            {
                return Err(Error::plan(format!(
                    "Cannot add {} '{}': CREATE OR REPLACE is not supported on source {}s.",
                    what.to_ascii_lowercase(),
                    c.name,
                    what.to_ascii_lowercase()
                )));
            }
            if let Some(existing) = st.catalog.find_source(&c.name) {
                if c.if_not_exists {
                    return Ok(StatementResult::Message(format!(
                        "Cannot add {} '{}': A {} with the same name already exists",
                        what.to_ascii_lowercase(),
                        c.name,
                        existing.kind_name().to_ascii_lowercase()
                    )));
                }
                if !c.or_replace {
                    self.check_name_free(&st, &c.name, c.kind)?;
                }
            }
        }
        let topic = prop_str(&c.properties, "KAFKA_TOPIC").ok_or_else(|| {
            Error::plan("Missing required property \"KAFKA_TOPIC\" which has no default value.")
        })?;
        let (key_format, value_format) = self.formats_from(&c.properties, None, None)?;
        for id in ["KEY_SCHEMA_ID", "VALUE_SCHEMA_ID"] {
            let is_key = id.starts_with("KEY");
            let has = c.elements.iter().any(|e| {
                matches!(
                    e.constraint,
                    ColumnConstraint::Key | ColumnConstraint::PrimaryKey
                ) == is_key
            });
            if prop_str(&c.properties, id).is_some() && has {
                return Err(Error::plan(format!(
                    "Table elements and {id} cannot both exist for create statement."
                )));
            }
        }
        if c.elements.is_empty() {
            return Err(Error::plan(format!(
                "The statement does not define any columns.\nNo columns supplied. {} cannot infer columns: Sluice has no schema registry to read them from.",
                value_format.kind
            )));
        }
        let mut columns = Vec::new();
        let types = self.state.lock().catalog.type_list();
        for el in &c.elements {
            let ty = crate::types::resolve_custom(&el.ty, &types)?;
            let kind = match (&el.constraint, c.kind) {
                (ColumnConstraint::None, _) => ColumnKind::Value,
                (ColumnConstraint::Key, SourceKind::Stream) => ColumnKind::Key,
                (ColumnConstraint::Key, SourceKind::Table) => {
                    return Err(Error::plan(format!(
                        "Column {} is a 'KEY' column: please use 'PRIMARY KEY' for tables.\nTables have PRIMARY KEYs, which are unique and NON NULL.\nStreams have KEYs, which have no uniqueness or NON NULL constraints.",
                        el.name
                    )))
                }
                (ColumnConstraint::PrimaryKey, SourceKind::Table) => ColumnKind::Key,
                (ColumnConstraint::PrimaryKey, SourceKind::Stream) => {
                    return Err(Error::plan(format!(
                        "Column {} is a 'PRIMARY KEY' column: please use 'KEY' for streams.\nTables have PRIMARY KEYs, which are unique and NON NULL.\nStreams have KEYs, which have no uniqueness or NON NULL constraints.",
                        el.name
                    )))
                }
                (ColumnConstraint::Headers, _) => ColumnKind::Header(None),
                (ColumnConstraint::Header(h), _) => ColumnKind::Header(Some(h.clone())),
            };
            if [
                "ROWTIME",
                "ROWPARTITION",
                "ROWOFFSET",
                "WINDOWSTART",
                "WINDOWEND",
            ]
            .contains(&el.name.as_str())
            {
                return Err(Error::plan(format!(
                    "'{}' is a reserved column name. You cannot use it as a name for a column.",
                    el.name
                )));
            }
            if columns.iter().any(|x: &Column| x.name == el.name) {
                return Err(Error::plan(format!(
                    "Duplicate column names:\n\t{}",
                    el.name
                )));
            }
            if let ColumnKind::Header(None) = kind {
                let expected = SqlType::Array(Box::new(SqlType::Struct(vec![
                    ("KEY".into(), SqlType::String),
                    ("VALUE".into(), SqlType::Bytes),
                ])));
                if ty != expected {
                    return Err(Error::plan(format!(
                        "Invalid type for HEADERS column: expected {expected}, got {ty}."
                    )));
                }
            }
            if let ColumnKind::Header(Some(_)) = kind {
                if ty != SqlType::Bytes {
                    return Err(Error::plan(format!(
                        "Invalid type for HEADER('...') column: expected BYTES, got {ty}."
                    )));
                }
            }
            columns.push(Column::new(el.name.clone(), ty, kind));
        }
        if c.kind == SourceKind::Table && !columns.iter().any(|c| c.is_key()) {
            return Err(Error::plan(
                "Tables require a PRIMARY KEY. Please define the PRIMARY KEY.",
            ));
        }
        if prop_str(&c.properties, "WRAP_SINGLE_VALUE").is_some()
            && !value_format.wrap_single
            && columns
                .iter()
                .filter(|c| c.kind == ColumnKind::Value)
                .count()
                != 1
        {
            return Err(Error::plan(
                "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas",
            ));
        }
        check_map_keys(&columns, &key_format, &value_format)?;
        // Keys first, as ksqlDB lays out schemas.
        let mut schema_cols: Vec<Column> = columns.iter().filter(|c| c.is_key()).cloned().collect();
        schema_cols.extend(columns.into_iter().filter(|c| !c.is_key()));
        let schema = Schema::new(schema_cols);
        let timestamp = self.timestamp_spec(&c.properties, &schema)?;
        let window = window_from(&c.properties)?;
        if window.is_some() && schema.keys().next().is_none() {
            return Err(Error::plan("Windowed sources require a key column."));
        }
        let source = Source {
            window,
            name: c.name.clone(),
            kind: c.kind,
            schema,
            topic: topic.clone(),
            key_format,
            value_format,
            timestamp,
            is_source: c.is_source,
            sql: text.to_string(),
            created_by: None,
        };
        // Codecs validate that the formats can carry the columns.
        SourceDecoder::try_new(&source)?;
        let partitions = prop_int(&c.properties, "PARTITIONS")?;
        let replicas = prop_int(&c.properties, "REPLICAS")?;
        match self.log.describe_topic(&topic)? {
            Some(info) => {
                if let Some(p) = partitions {
                    if p as i32 != info.partitions && !self.replaying.load(Ordering::SeqCst) {
                        return Err(Error::plan(format!(
                            "A Kafka topic with the name '{topic}' already exists, with different partition/replica configuration than required. KSQL expects {p} partitions (topic has {}), {} replication factor (topic has {}).",
                            info.partitions,
                            replicas.unwrap_or(info.replicas as i64),
                            info.replicas
                        )));
                    }
                }
            }
            None => match partitions {
                Some(p) => self.log.create_topic(
                    &topic,
                    &TopicConfig {
                        partitions: p as i32,
                        replicas: replicas.unwrap_or(1) as i16,
                        compact: c.kind == SourceKind::Table,
                    },
                )?,
                None => {
                    return Err(Error::plan(format!(
                        "Topic '{topic}' does not exist. If you want to create a new topic for the {} please re-run the statement providing the required 'PARTITIONS' configuration in the WITH clause (and, optionally, 'REPLICAS'). For example: CREATE {} {} (ID INT) WITH (KAFKA_TOPIC='{topic}', PARTITIONS=2, REPLICAS=1, FORMAT='JSON');",
                        what.to_ascii_lowercase(),
                        what.to_ascii_uppercase(),
                        c.name
                    )))
                }
            },
        }
        self.state.lock().catalog.add_source(source);
        Ok(StatementResult::Message(format!("{what} created")))
    }

    fn timestamp_spec(&self, props: &Properties, schema: &Schema) -> Result<Option<TimestampSpec>> {
        let Some(col) = prop_str(props, "TIMESTAMP") else {
            return Ok(None);
        };
        let column = normalize_ident(&col);
        let format = prop_str(props, "TIMESTAMP_FORMAT");
        let (_, c) = schema.find(&column).ok_or_else(|| {
            Error::plan(format!(
                "The TIMESTAMP column set in the WITH clause does not exist in the schema: '{column}'"
            ))
        })?;
        match (&c.ty, &format) {
            (SqlType::BigInt | SqlType::Timestamp, _) => {}
            (SqlType::String, Some(_)) => {}
            (SqlType::String, None) => {
                return Err(Error::plan(format!(
                    "Column {column} is a STRING: a TIMESTAMP_FORMAT is required to use it as the TIMESTAMP column"
                )))
            }
            (other, _) => {
                return Err(Error::plan(format!(
                    "Timestamp column, `{column}`, should be LONG(INT64), TIMESTAMP, or a String with a timestamp_format specified. Got {other}"
                )))
            }
        }
        Ok(Some(TimestampSpec { column, format }))
    }

    /// The id the next persistent query will get. Ids are only consumed
    /// (`consume_query_id`) when a query starts, so replaying the metastore
    /// (which holds only statements that succeeded) gives every query the
    /// same id, consumer group and changelogs as before.
    fn peek_query_id(&self, prefix: &str) -> String {
        format!("{prefix}_{}", self.state.lock().next_query)
    }

    fn consume_query_id(&self) {
        self.state.lock().next_query += 1;
    }

    fn plan_options(
        &self,
        sink_name: Option<String>,
        transient: bool,
        query_id: Option<String>,
    ) -> PlanOptions {
        PlanOptions {
            new_planner: self.property_bool("ksql.new.query.planner.enabled", false),
            transient,
            sink_name,
            query_id,
            service_id: self.service_id.clone(),
            repartition_groups: self.kafka && !transient,
            partitions: self
                .log
                .list_topics()
                .map(|ts| ts.into_iter().map(|t| (t.name, t.partitions)).collect())
                .unwrap_or_default(),
        }
    }

    fn create_as_select(&self, c: &CreateAsSelect, text: &str) -> Result<StatementResult> {
        let what = match c.kind {
            SourceKind::Stream => "STREAM",
            SourceKind::Table => "TABLE",
        };
        {
            let st = self.state.lock();
            if st.catalog.find_source(&c.name).is_some() {
                if c.if_not_exists {
                    return Ok(StatementResult::Message(format!(
                        "Cannot add {} '{}': A source with the same name already exists",
                        what.to_ascii_lowercase(),
                        c.name
                    )));
                }
                if !c.or_replace {
                    self.check_name_free(&st, &c.name, c.kind)?;
                }
            }
        }
        if c.query.limit.is_some() {
            return Err(Error::plan(format!(
                "CREATE {what} AS SELECT statements don't support LIMIT clause."
            )));
        }
        if c.query.emit == Some(Emit::Final) && c.query.window.is_none() {
            return Err(Error::plan(
                "EMIT FINAL is only supported for windowed aggregations.",
            ));
        }
        let prefix = match c.kind {
            SourceKind::Stream => "CSAS",
            SourceKind::Table => "CTAS",
        };
        let id = self.peek_query_id(&format!("{prefix}_{}", c.name));
        let options = self.plan_options(Some(c.name.clone()), false, Some(id.clone()));
        let plan = plan_query(&c.query, &self.state.lock().catalog, &options)?;
        if c.kind != plan.kind {
            let (produced, use_) = match plan.kind {
                SourceKind::Table => ("TABLE", "CREATE TABLE AS SELECT"),
                SourceKind::Stream => ("STREAM", "CREATE STREAM AS SELECT"),
            };
            return Err(Error::plan(format!(
                "Invalid result type. Your SELECT query produces a {produced}. Please use {use_} statement instead."
            )));
        }
        let topic = prop_str(&c.properties, "KAFKA_TOPIC").unwrap_or_else(|| {
            format!(
                "{}{}",
                self.property("ksql.output.topic.name.prefix")
                    .unwrap_or_default(),
                c.name
            )
        });
        let (mut key_format, value_format) = self.formats_from(
            &c.properties,
            Some(plan.source.key_format.clone()),
            Some(plan.source.value_format.clone()),
        )?;
        if plan.schema.keys().next().is_none()
            && prop_str(&c.properties, "KEY_FORMAT").is_none()
            && prop_str(&c.properties, "FORMAT").is_none()
        {
            key_format = FormatSpec::new(FormatKind::None);
        } else if key_format.kind == FormatKind::None
            && prop_str(&c.properties, "KEY_FORMAT").is_none()
            && prop_str(&c.properties, "FORMAT").is_none()
        {
            key_format = FormatSpec::new(FormatKind::Kafka);
        }
        let source_partitions = self
            .log
            .describe_topic(&plan.source.topic)?
            .map(|t| t.partitions)
            .unwrap_or(1);
        let partitions = prop_int(&c.properties, "PARTITIONS")?
            .map(|p| p as i32)
            .unwrap_or(source_partitions);
        let replicas = prop_int(&c.properties, "REPLICAS")?.unwrap_or(1) as i16;
        let timestamp = self.timestamp_spec(&c.properties, &plan.schema)?;
        let mut plan = plan;
        if let Some(spec) = &timestamp {
            let (i, _) = plan
                .schema
                .find(&spec.column)
                .expect("timestamp_spec checked the column exists");
            plan.operators
                .push(Box::new(crate::operators::TimestampOperator::new(
                    i,
                    spec.format.clone(),
                )));
        }
        let sink = Source {
            name: c.name.clone(),
            kind: c.kind,
            schema: plan.schema.clone(),
            topic: topic.clone(),
            key_format,
            value_format,
            timestamp,
            is_source: false,
            sql: text.to_string(),
            created_by: Some(id.clone()),
            window: plan.window,
        };
        if prop_str(&c.properties, "WRAP_SINGLE_VALUE").is_some()
            && !sink.value_format.wrap_single
            && sink.schema.values().count() != 1
        {
            return Err(Error::plan(
                "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas",
            ));
        }
        check_map_keys(&sink.schema.columns, &sink.key_format, &sink.value_format)?;
        let encoder = SinkEncoder::try_new(&sink)?;
        match self.log.describe_topic(&topic)? {
            Some(info)
                if info.partitions != partitions
                    && prop_int(&c.properties, "PARTITIONS")?.is_some()
                    && !self.replaying.load(Ordering::SeqCst) =>
            {
                return Err(Error::plan(format!(
                    "A Kafka topic with the name '{topic}' already exists, with different partition/replica configuration than required. KSQL expects {partitions} partitions (topic has {}), {replicas} replication factor (topic has 1).",
                    info.partitions
                )));
            }
            Some(_) => {}
            None => self.log.create_topic(
                &topic,
                &TopicConfig {
                    partitions,
                    replicas,
                    compact: c.kind == SourceKind::Table,
                },
            )?,
        }
        if c.or_replace {
            let existing = self
                .state
                .lock()
                .catalog
                .find_source(&c.name)
                .and_then(|s| s.created_by.clone());
            if let Some(old) = existing {
                self.stop_query(&old);
                self.state.lock().catalog.remove_query(&old);
            }
        }
        let replan: Replan =
            {
                let (query, options, timestamp) =
                    (c.query.clone(), options.clone(), sink.timestamp.clone());
                Arc::new(move |inner: &EngineInner| {
                    let mut plan = plan_query(&query, &inner.state.lock().catalog, &options)?;
                    if let Some(spec) = &timestamp {
                        if let Some((i, _)) = plan.schema.find(&spec.column) {
                            plan.operators.push(Box::new(
                                crate::operators::TimestampOperator::new(i, spec.format.clone()),
                            ));
                        }
                    }
                    Ok(plan)
                })
            };
        self.start_query(&id, text, plan, replan, sink.clone(), encoder)?;
        self.state.lock().catalog.add_source(sink);
        Ok(StatementResult::Message(format!(
            "Created query with ID {id}"
        )))
    }

    fn insert_into(&self, target: &str, query: &Query, text: &str) -> Result<StatementResult> {
        let sink = self.state.lock().catalog.source(target)?.clone();
        if sink.is_source {
            return Err(Error::plan(format!(
                "Cannot insert into read-only {} {target}.",
                sink.kind_name().to_ascii_lowercase()
            )));
        }
        if sink.kind == SourceKind::Table {
            return Err(Error::plan(format!(
                "INSERT INTO can only be used to insert into a stream. {target} is a table."
            )));
        }
        let id = self.peek_query_id("INSERTQUERY");
        let options = self.plan_options(Some(target.to_string()), false, Some(id.clone()));
        let plan = plan_query(query, &self.state.lock().catalog, &options)?;
        if !schemas_compatible(&plan.schema, &sink.schema) {
            return Err(Error::plan(format!(
                "Incompatible schema between results and sink.\nResult schema is {}\nSink schema is {}",
                plan.schema, sink.schema
            )));
        }
        let encoder = SinkEncoder::try_new(&sink)?;
        let replan: Replan = {
            let (query, options) = (query.clone(), options.clone());
            Arc::new(move |inner: &EngineInner| {
                plan_query(&query, &inner.state.lock().catalog, &options)
            })
        };
        self.start_query(&id, text, plan, replan, sink, encoder)?;
        Ok(StatementResult::Message(format!(
            "Created query with ID {id}"
        )))
    }

    fn start_query(
        &self,
        id: &str,
        text: &str,
        plan: crate::plan::planner::QueryPlan,
        replan: Replan,
        sink: Source,
        encoder: SinkEncoder,
    ) -> Result<()> {
        let group = format!("_confluent-ksql-{}query_{id}", self.service_id);
        let earliest = self
            .property("auto.offset.reset")
            .map(|v| v.eq_ignore_ascii_case("earliest"))
            .unwrap_or(false);
        let plan = plan;
        let stateful = plan.join.is_some()
            || !plan.changelogs.is_empty()
            || sink.kind == SourceKind::Table
            || plan
                .inputs
                .iter()
                .any(|i| i.source.kind == SourceKind::Table);
        let mut flow = self.flow(
            plan.inputs,
            plan.join,
            plan.operators,
            Some(&group),
            earliest,
        )?;
        // Commit the starting positions so a restart resumes exactly here
        // (a query that ran before, maybe in another process of the
        // service, has its own).
        let mut uncommitted = false;
        for reader in flow.readers() {
            for (p, _) in &reader.positions {
                uncommitted |= self.log.committed(&group, &reader.topic, *p)?.is_none();
            }
        }
        if uncommitted {
            flow.commit(self.log.as_ref(), &group)?;
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
        let splittable = stateful
            && plan.partition_local
            && self.kafka
            && partitions > 1
            && counts.iter().all(|n| *n == partitions);
        let mut split = splittable && self.background && !self.record_only;
        for topic in &plan.changelogs {
            // A changelog made for the whole query has one partition.
            if let Some(info) = self.log.describe_topic(topic)? {
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
        let member = if self.background && !self.record_only {
            self.log.join_group(&group, &topics)?
        } else {
            None
        };
        let plan_changelogs = plan.changelogs.clone();
        for topic in &plan.changelogs {
            crate::log::ensure_topic(
                self.log.as_ref(),
                topic,
                &TopicConfig {
                    partitions: if splittable { partitions as i32 } else { 1 },
                    replicas: 1,
                    compact: true,
                },
            )?;
        }
        // Exactly-once processing through transactions, where the log has
        // them. (A process that only records statements must not open a
        // writer: that would fence the process running the query.)
        let guarantee = self
            .property("processing.guarantee")
            .or_else(|| self.property("ksql.streams.processing.guarantee"))
            .unwrap_or_default();
        let exactly_once = guarantee.starts_with("exactly_once") && !self.record_only;
        if exactly_once && !self.kafka {
            eprintln!(
                "sluice: query {id} runs at least once: processing.guarantee={guarantee} needs Kafka transactions, which the embedded log does not have"
            );
        }
        let exactly_once = exactly_once && self.kafka;
        // Record caching (ksqlDB's default, 10 MB): a table's changes are
        // coalesced per key; `cache.max.bytes.buffering = 0` turns it off.
        let caching = self
            .property("cache.max.bytes.buffering")
            .or_else(|| self.property("ksql.streams.cache.max.bytes.buffering"))
            .map(|v| v.trim() != "0")
            .unwrap_or(true);
        let coalesce =
            (caching && sink.kind == SourceKind::Table).then(|| sink.schema.key_indexes());
        let template = TaskTemplate {
            query_id: id.to_string(),
            group: group.clone(),
            sink: sink.clone(),
            // Results wait for the commit interval only where they can be
            // coalesced, and only while queries run in the background (a
            // caller driving queries expects results when idle).
            commit_interval: (coalesce.is_some() && self.background).then(|| {
                Duration::from_millis(
                    self.property("commit.interval.ms")
                        .or_else(|| self.property("ksql.streams.commit.interval.ms"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(2_000),
                )
            }),
            coalesce,
            checkpoints: plan_changelogs,
        };
        let rebuild = |only: Option<i32>| {
            query_rebuild(self.me.clone(), replan.clone(), &group, earliest, only)
        };
        let txn = |txn_id: String| {
            exactly_once.then(|| txn_factory(self.log.clone(), group.clone(), txn_id))
        };
        let task: Box<dyn Work> = match member {
            Some(member) if split => {
                // One task per partition this process owns, each built
                // (its state restored from its changelog partition) when
                // the group hands the partition over.
                drop(flow);
                let (log, me, replan) = (self.log.clone(), self.me.clone(), replan.clone());
                let make: crate::runtime::split::TaskFactory = Box::new(move |p| {
                    let group = &template.group;
                    let mut rebuild =
                        query_rebuild(me.clone(), replan.clone(), group, earliest, Some(p));
                    let mut flow = rebuild()?;
                    flow.restore(log.as_ref())?;
                    // Each partition's writer fences that partition's
                    // earlier owner.
                    let txn = exactly_once.then(|| {
                        txn_factory(log.clone(), group.clone(), format!("{group}-txn-p{p}"))
                    });
                    Ok(template.task(
                        flow,
                        SinkEncoder::try_new(&template.sink)?,
                        p,
                        None,
                        txn,
                        rebuild,
                    ))
                });
                Box::new(crate::runtime::split::SplitQuery::new(
                    id.to_string(),
                    member,
                    anchor,
                    make,
                ))
            }
            Some(member) => {
                // The group says what to read, and the state is restored
                // when this process takes the query on.
                for reader in flow.readers_mut() {
                    reader.positions.clear();
                }
                // A query running whole on one process writes as the query
                // (a new owner fences the old); a stateless one split across
                // processes writes as this process's share of it.
                let txn_id = if stateful {
                    format!("{group}-txn")
                } else {
                    format!("{group}-txn-{}", self.instance)
                };
                Box::new(template.task(
                    flow,
                    encoder,
                    0,
                    Some(Membership::new(member, stateful, earliest)),
                    txn(txn_id),
                    rebuild(None),
                ))
            }
            None => {
                // State first: operators reload their stores from their
                // changelogs.
                flow.restore(self.log.as_ref())?;
                Box::new(template.task(
                    flow,
                    encoder,
                    0,
                    None,
                    txn(format!("{group}-txn")),
                    rebuild(None),
                ))
            }
        };
        self.consume_query_id();
        let task = Arc::new(Mutex::new(task));
        let stop = Arc::new(AtomicBool::new(false));
        let paused = Arc::new(AtomicBool::new(false));
        let thread = if self.background && !self.record_only {
            let (t, s, p, log) = (task.clone(), stop.clone(), paused.clone(), self.log.clone());
            let name = id.to_string();
            Some(
                std::thread::Builder::new()
                    .name(format!("query-{name}"))
                    .spawn(move || run_loop(t, s, p, log))
                    .map_err(Error::Io)?,
            )
        } else {
            None
        };
        self.queries.lock().push(RunningQuery {
            id: id.to_string(),
            task,
            stop,
            paused,
            thread,
        });
        self.state.lock().catalog.add_query(QueryInfo {
            id: id.to_string(),
            sql: text.to_string(),
            sink: sink.name.clone(),
            sink_topic: sink.topic.clone(),
            sources: plan.sources,
            state: QueryState::Running,
        });
        Ok(())
    }

    fn stop_query(&self, id: &str) -> bool {
        let mut qs = self.queries.lock();
        if let Some(i) = qs.iter().position(|q| q.id == id) {
            let mut q = qs.remove(i);
            drop(qs);
            q.shutdown();
            true
        } else {
            false
        }
    }

    /// Drives every persistent query until none has input left.
    pub fn run_until_idle(&self) -> Result<()> {
        loop {
            let tasks: Vec<(SharedWork, bool)> = self
                .queries
                .lock()
                .iter()
                .map(|q| (q.task.clone(), q.paused.load(Ordering::SeqCst)))
                .collect();
            let mut progress = 0;
            for (t, paused) in tasks {
                if paused {
                    continue;
                }
                progress += t.lock().poll(self.log.as_ref())?;
            }
            if progress == 0 {
                return Ok(());
            }
        }
    }

    // ---- INSERT VALUES ---------------------------------------------------

    fn insert_values(
        &self,
        target: &str,
        columns: Option<&[String]>,
        values: &[Expr],
    ) -> Result<StatementResult> {
        let source = self.state.lock().catalog.source(target)?.clone();
        if source.is_source {
            return Err(Error::plan(format!(
                "Cannot insert values into read-only {} {target}.",
                source.kind_name().to_ascii_lowercase()
            )));
        }
        let all: Vec<String> = source
            .schema
            .columns
            .iter()
            .filter(|c| !matches!(c.kind, ColumnKind::Header(_)))
            .map(|c| c.name.clone())
            .collect();
        let names: Vec<String> = match columns {
            Some(c) => c.to_vec(),
            None => all.clone(),
        };
        if names.len() != values.len() {
            return Err(Error::plan(format!(
                "Failed to prepare statement: Expected a value for each column. Expected Columns: [{}]. Got {} values",
                names.join(", "),
                values.len()
            )));
        }
        let scope = Scope::default();
        let mut row = vec![Value::Null; source.schema.columns.len()];
        let mut ts = crate::catalog::metastore::now_ms();
        for (name, e) in names.iter().zip(values) {
            let compiled = Compiled::compile(e, &scope)?;
            let v = compiled.eval(&[])?;
            if name == "ROWTIME" {
                ts = v
                    .as_i64()
                    .ok_or_else(|| Error::plan("ROWTIME must be a BIGINT"))?;
                continue;
            }
            let (i, col) = source
                .schema
                .find(name)
                .ok_or_else(|| Error::plan(format!("Column name {name} does not exist.")))?;
            if matches!(col.kind, ColumnKind::Header(_)) {
                return Err(Error::plan(format!(
                    "Cannot insert into HEADER columns: {name}"
                )));
            }
            row[i] = coerce_insert(v, &compiled.ty, &col.ty, name)?;
        }
        if let Some(spec) = &source.timestamp {
            if let Some((i, _)) = source.schema.find(&spec.column) {
                if !row[i].is_null() {
                    ts = crate::operators::source::extract_timestamp(
                        &row[i],
                        spec.format.as_deref(),
                    )?;
                }
            }
        }
        let encoder = SinkEncoder::try_new(&Source {
            schema: Schema::new(
                source
                    .schema
                    .columns
                    .iter()
                    .map(|c| match c.kind {
                        ColumnKind::Header(_) => {
                            Column::new(c.name.clone(), c.ty.clone(), ColumnKind::Header(None))
                        }
                        _ => c.clone(),
                    })
                    .collect(),
            ),
            ..source.clone()
        })?;
        let record = encoder
            .encode(&crate::operators::Row {
                values: row,
                ts,
                tombstone: false,
                null_key: false,
                headers: None,
                window: None,
                old: None,
            })
            .map_err(|e| {
                Error::format(format!("Failed to insert values into '{target}'. {e:?}"))
            })?;
        self.log.append(&source.topic, None, record)?;
        // An acknowledged INSERT survives a crash of this process.
        self.log.hand_off(&source.topic)?;
        Ok(StatementResult::Message(String::new()))
    }

    // ---- SELECT ------------------------------------------------------------

    fn select(&self, q: &Query) -> Result<StatementResult> {
        let push = q.emit.is_some();
        if !q.order_by.is_empty() {
            return self.ordered_pull(q);
        }
        // Beyond ksqlDB: a pull query may join materialized tables; joins
        // involving streams still need EMIT CHANGES.
        if !push && !q.joins.is_empty() && !self.reads_only_tables(q) {
            return Err(Error::plan("Pull queries don't support JOIN clauses. See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query."));
        }
        let options = self.plan_options(None, true, None);
        let plan = plan_query(q, &self.state.lock().catalog, &options)?;
        let earliest = !push
            || self
                .property("auto.offset.reset")
                .map(|v| v.eq_ignore_ascii_case("earliest"))
                .unwrap_or(false);
        let columns: Vec<(String, String)> = plan
            .schema
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.ty.to_string()))
            .collect();
        // Show columns in SELECT order: keys were moved first by the planner
        // only for sinks; for a push query the schema order is fine.
        let output: Vec<usize> = (0..plan.schema.columns.len()).collect();
        let id = format!(
            "transient_{}_{}",
            plan.source.name,
            crate::catalog::metastore::now_ms()
        );
        let source = plan.source.clone();
        let (kind, schema) = (plan.kind, plan.schema.clone());
        let feed = push
            .then(|| crate::runtime::push_hub::FeedKey::of(&plan.inputs, plan.join.is_some()))
            .flatten();
        let flow = self.flow(plan.inputs, plan.join, plan.operators, None, earliest)?;
        let mut task = TransientTask {
            query_id: id,
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
            return Ok(StatementResult::Push(PushQuery::new(source)));
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
        Ok(StatementResult::Rows(RowSet { columns, rows }))
    }

    /// True when every source the query reads is a table.
    fn reads_only_tables(&self, q: &Query) -> bool {
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
    fn ordered_pull(&self, q: &Query) -> Result<StatementResult> {
        if q.emit.is_some() || !self.reads_only_tables(q) {
            return Err(Error::plan(
                "ORDER BY is only supported in pull queries over tables: a stream's rows, and a push query's, arrive in the order they happen.",
            ));
        }
        let mut inner = q.clone();
        inner.order_by.clear();
        let limit = inner.limit.take();
        let StatementResult::Rows(mut set) = self.select(&inner)? else {
            return Err(Error::plan("ORDER BY needs a query that returns rows"));
        };
        let types = self.state.lock().catalog.type_list();
        let scope = Scope {
            columns: set
                .columns
                .iter()
                .map(|(name, ty)| {
                    Ok(crate::expr::ScopeColumn {
                        qualifier: None,
                        name: name.clone(),
                        ty: crate::sql::parser::parse_type(ty)?,
                    })
                })
                .collect::<Result<_>>()?,
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

    /// Opens a query's inputs on the Log: each positioned at `group`'s
    /// committed offsets, or else at the start or end of its topic.
    fn flow(
        &self,
        inputs: Vec<crate::runtime::spec::PlanInput>,
        join: Option<Box<dyn crate::operators::JoinOperator>>,
        operators: Vec<Box<dyn crate::operators::Operator>>,
        group: Option<&str>,
        earliest: bool,
    ) -> Result<Flow> {
        let mut opened = Vec::with_capacity(inputs.len());
        let log = self.log.as_ref();
        for input in inputs {
            if let Some((topic, partitions)) = &input.rekeyed {
                crate::log::ensure_topic(
                    log,
                    topic,
                    &TopicConfig {
                        partitions: *partitions,
                        replicas: 1,
                        compact: false,
                    },
                )?;
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
                Some(spec) => {
                    crate::log::ensure_topic(
                        log,
                        &spec.topic,
                        &TopicConfig {
                            partitions: spec.partitions,
                            replicas: 1,
                            compact: false,
                        },
                    )?;
                    let rekey = Rekey::new(spec.key, &spec.key_format)?;
                    Input {
                        // Everything in the internal topic is this query's.
                        reader: SourceReader::open(log, &spec.topic, group, true)?,
                        pipeline: Pipeline {
                            decoder: Decoder::Repartitioned(spec.topic.clone()),
                            operators: input.operators,
                        },
                        repartition: Some(Repartition {
                            reader: source_reader,
                            decoder: source_decoder,
                            operators: spec.operators,
                            rekey,
                            topic: spec.topic,
                            group: group.map(str::to_string),
                        }),
                    }
                }
            });
        }
        Ok(Flow {
            inputs: opened,
            join,
            operators,
            // A persistent query's (committed under its group).
            time_ordered: group.is_some(),
        })
    }

    /// A pull query over a table: the table's current rows that match,
    /// computed by running the query over the table's topic up to its
    /// current end and keeping the last row of every key.
    fn pull_table(
        &self,
        q: &Query,
        source: &Source,
        schema: &Schema,
        mut task: TransientTask,
        columns: Vec<(String, String)>,
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
            let mut views = self.views.lock();
            let view_key = format!("{}\u{0}{}", source.name, source.sql);
            if !views.contains_key(&view_key) {
                let view = crate::runtime::view::TableView::open(self.log.as_ref(), source)?;
                views.insert(view_key.clone(), view);
            }
            let view = views.get_mut(&view_key).expect("inserted above");
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
        Ok(StatementResult::Rows(RowSet { columns, rows }))
    }

    // ---- SHOW / DESCRIBE / EXPLAIN -----------------------------------------

    fn show(&self, what: &ShowWhat, extended: bool) -> Result<StatementResult> {
        let st = self.state.lock();
        let cols = |names: &[&str]| {
            names
                .iter()
                .map(|n| (n.to_string(), "STRING".to_string()))
                .collect()
        };
        let s = |v: &str| Value::String(v.to_string());
        Ok(StatementResult::Rows(match what {
            ShowWhat::Streams | ShowWhat::Tables => {
                let kind = if *what == ShowWhat::Streams {
                    SourceKind::Stream
                } else {
                    SourceKind::Table
                };
                let name = if kind == SourceKind::Stream {
                    "Stream Name"
                } else {
                    "Table Name"
                };
                let mut names = vec![
                    name,
                    "Kafka Topic",
                    "Key Format",
                    "Value Format",
                    "Windowed",
                ];
                if extended {
                    names.extend(["Columns", "Written By"]);
                }
                RowSet {
                    columns: cols(&names),
                    rows: st
                        .catalog
                        .sources()
                        .filter(|x| x.kind == kind)
                        .map(|x| {
                            let mut row = vec![
                                s(&x.name),
                                s(&x.topic),
                                s(x.key_format.kind.name()),
                                s(x.value_format.kind.name()),
                                Value::Bool(false),
                            ];
                            if extended {
                                row.push(s(&x.schema.to_string()));
                                row.push(s(x.created_by.as_deref().unwrap_or("")));
                            }
                            row
                        })
                        .collect(),
                }
            }
            ShowWhat::Queries => RowSet {
                columns: cols(&[
                    "Query ID",
                    "Query Type",
                    "Status",
                    "Sink Name",
                    "Sink Kafka Topic",
                    "Query String",
                ]),
                rows: st
                    .catalog
                    .queries()
                    .map(|q| {
                        vec![
                            s(&q.id),
                            s("PERSISTENT"),
                            s(match q.state {
                                QueryState::Running => "RUNNING:1",
                                QueryState::Paused => "PAUSED:1",
                                QueryState::Error => "ERROR:1",
                            }),
                            s(&q.sink),
                            s(&q.sink_topic),
                            s(&q.sql),
                        ]
                    })
                    .collect(),
            },
            ShowWhat::Topics { all } => RowSet {
                columns: cols(&["Kafka Topic", "Partitions", "Partition Replicas"]),
                rows: self
                    .log
                    .list_topics()?
                    .into_iter()
                    .filter(|t| *all || !t.name.starts_with("_confluent-ksql-"))
                    .map(|t| {
                        vec![
                            s(&t.name),
                            Value::Int(t.partitions),
                            Value::Int(t.replicas as i32),
                        ]
                    })
                    .collect(),
            },
            ShowWhat::Properties => RowSet {
                columns: cols(&["Property", "Value"]),
                rows: st
                    .properties
                    .iter()
                    .map(|(k, v)| vec![s(k), s(v)])
                    .collect(),
            },
            ShowWhat::Variables => RowSet {
                columns: cols(&["Variable Name", "Value"]),
                rows: st.variables.iter().map(|(k, v)| vec![s(k), s(v)]).collect(),
            },
            ShowWhat::Types => RowSet {
                columns: cols(&["Type Name", "Schema"]),
                rows: st
                    .catalog
                    .types()
                    .iter()
                    .map(|(k, v)| vec![s(k), s(&v.to_string())])
                    .collect(),
            },
            ShowWhat::Functions => {
                let mut rows: Vec<Vec<Value>> = crate::functions::FunctionRegistry::global()
                    .all()
                    .map(|f| vec![s(f.name), s("SCALAR"), s(f.category)])
                    .collect();
                for f in crate::functions::aggregate::AggregateRegistry::global().all() {
                    rows.push(vec![s(f.name), s("AGGREGATE"), s("AGGREGATE")]);
                }
                for n in crate::functions::table_function_names() {
                    rows.push(vec![s(n), s("TABLE"), s("TABLE")]);
                }
                for n in ["TRANSFORM", "FILTER", "REDUCE"] {
                    rows.push(vec![s(n), s("SCALAR"), s("LAMBDA")]);
                }
                rows.sort_by(|a, b| a[0].total_cmp(&b[0]));
                RowSet {
                    columns: cols(&["Function Name", "Type", "Category"]),
                    rows,
                }
            }
        }))
    }

    fn describe(&self, target: &DescribeTarget, extended: bool) -> Result<StatementResult> {
        let st = self.state.lock();
        let s = |v: &str| Value::String(v.to_string());
        match target {
            DescribeTarget::Streams | DescribeTarget::Tables => {
                drop(st);
                self.show(
                    if *target == DescribeTarget::Streams {
                        &ShowWhat::Streams
                    } else {
                        &ShowWhat::Tables
                    },
                    extended,
                )
            }
            DescribeTarget::Source(name) => {
                let src = st.catalog.source(name).map_err(|_| {
                    Error::catalog(format!(
                        "Could not find STREAM/TABLE '{name}' in the Metastore"
                    ))
                })?;
                let mut rows = vec![vec![s("ROWTIME"), s("BIGINT"), s("(system)")]];
                for c in &src.schema.columns {
                    let extra = match &c.kind {
                        ColumnKind::Key if src.kind == SourceKind::Table => {
                            "(primary key)".to_string()
                        }
                        ColumnKind::Key => "(key)".to_string(),
                        ColumnKind::Value => String::new(),
                        ColumnKind::Header(None) => "(headers)".to_string(),
                        ColumnKind::Header(Some(h)) => format!("(header('{h}'))"),
                    };
                    rows.push(vec![s(&c.name), s(&c.ty.to_string()), s(&extra)]);
                }
                if extended {
                    rows.push(vec![s(""), s(""), s("")]);
                    rows.push(vec![s("Type"), s(src.kind_name()), s("")]);
                    rows.push(vec![s("Kafka topic"), s(&src.topic), s("")]);
                    rows.push(vec![s("Key format"), s(src.key_format.kind.name()), s("")]);
                    rows.push(vec![
                        s("Value format"),
                        s(src.value_format.kind.name()),
                        s(""),
                    ]);
                    if let Some(t) = &src.timestamp {
                        rows.push(vec![s("Timestamp field"), s(&t.column), s("")]);
                    }
                    rows.push(vec![s("Statement"), s(&src.sql), s("")]);
                    for q in st.catalog.queries() {
                        if q.sink == src.name {
                            rows.push(vec![s("Written by"), s(&q.id), s(&q.sql)]);
                        } else if q.sources.contains(&src.name) {
                            rows.push(vec![s("Read by"), s(&q.id), s(&q.sql)]);
                        }
                    }
                }
                Ok(StatementResult::Rows(RowSet {
                    columns: vec![
                        ("Field".into(), "STRING".into()),
                        ("Type".into(), "STRING".into()),
                        ("Extra".into(), "STRING".into()),
                    ],
                    rows,
                }))
            }
        }
    }

    fn describe_function(&self, name: &str) -> Result<StatementResult> {
        let s = |v: &str| Value::String(v.to_string());
        let upper = name.to_ascii_uppercase();
        let (kind, category, description) =
            match crate::functions::FunctionRegistry::global().get(&upper) {
                Some(f) => ("SCALAR", f.category, f.description),
                None if crate::functions::is_aggregate(&upper) => (
                    "AGGREGATE",
                    "AGGREGATE",
                    crate::functions::aggregate::AggregateRegistry::global()
                        .get(&upper)
                        .map(|f| f.description)
                        .unwrap_or("An aggregate function"),
                ),
                None if crate::functions::table_function_names().contains(&upper.as_str()) => (
                    "TABLE",
                    "TABLE",
                    "A table function: one output row per element",
                ),
                None => {
                    return Err(Error::catalog(format!(
                        "Can't find any functions with the name '{upper}'"
                    )))
                }
            };
        Ok(StatementResult::Rows(RowSet {
            columns: vec![
                ("Property".into(), "STRING".into()),
                ("Value".into(), "STRING".into()),
            ],
            rows: vec![
                vec![s("Name"), s(&upper)],
                vec![s("Type"), s(kind)],
                vec![s("Category"), s(category)],
                vec![s("Description"), s(description)],
            ],
        }))
    }

    fn explain(&self, target: &ExplainTarget) -> Result<StatementResult> {
        match target {
            ExplainTarget::QueryId(id) => {
                let st = self.state.lock();
                let q = st
                    .catalog
                    .queries()
                    .find(|q| q.id.eq_ignore_ascii_case(id))
                    .ok_or_else(|| Error::catalog(format!("Query with id:{id} does not exist, use SHOW QUERIES to view the full set of running queries.")))?;
                Ok(StatementResult::Message(format!(
                    "ID           : {}\nQuery Type   : PERSISTENT\nSQL          : {}\nSources      : {}\nSink         : {} (topic {})\nState        : {:?}",
                    q.id, q.sql, q.sources.join(", "), q.sink, q.sink_topic, q.state
                )))
            }
            ExplainTarget::Statement(stmt) => {
                let q = match stmt.as_ref() {
                    Statement::Query(q) => q.as_ref(),
                    Statement::CreateAsSelect(c) => c.query.as_ref(),
                    Statement::InsertInto { query, .. } => query.as_ref(),
                    _ => return Err(Error::plan("Only queries can be explained")),
                };
                let options = self.plan_options(None, true, None);
                let plan = plan_query(q, &self.state.lock().catalog, &options)?;
                Ok(StatementResult::Message(format!(
                    "Source      : {} (topic {})\nSteps       : {} operator(s)\nResult     : {}",
                    plan.sources.join(" JOIN "),
                    plan.source.topic,
                    plan.operators.len() + plan.inputs.len() + usize::from(plan.join.is_some()),
                    plan.schema
                )))
            }
        }
    }

    // ---- DROP / TERMINATE / PAUSE ------------------------------------------

    fn drop_source(
        &self,
        kind: SourceKind,
        if_exists: bool,
        name: &str,
        delete_topic: bool,
    ) -> Result<StatementResult> {
        let src = {
            let st = self.state.lock();
            match st.catalog.find_source(name) {
                Some(s) => s.clone(),
                None if if_exists => {
                    return Ok(StatementResult::Message(format!(
                        "Source `{name}` does not exist."
                    )))
                }
                None => return Err(Error::catalog(format!("Source {name} does not exist."))),
            }
        };
        if src.kind != kind {
            let (want, got) = match kind {
                SourceKind::Stream => ("STREAM", "TABLE"),
                SourceKind::Table => ("TABLE", "STREAM"),
            };
            return Err(Error::plan(format!(
                "Incompatible data source type is {got}, but statement was DROP {want}"
            )));
        }
        let readers: Vec<String> = {
            let st = self.state.lock();
            st.catalog
                .readers_of(name)
                .filter(|q| Some(&q.id) != src.created_by.as_ref())
                .map(|q| q.id.clone())
                .collect()
        };
        if !readers.is_empty() {
            return Err(Error::plan(format!(
                "Cannot drop {name}.\nThe following queries read from this source: [{}].\nYou need to terminate them before dropping {name}.",
                readers.join(", ")
            )));
        }
        if delete_topic && src.is_source {
            return Err(Error::plan(format!(
                "Cannot delete topic for read-only source: {name}"
            )));
        }
        if let Some(q) = &src.created_by {
            self.stop_query(q);
            self.state.lock().catalog.remove_query(q);
        }
        self.state.lock().catalog.remove_source(name);
        let prefix = format!("{name}\u{0}");
        self.views.lock().retain(|k, _| !k.starts_with(&prefix));
        if delete_topic && self.log.describe_topic(&src.topic)?.is_some() {
            self.log.delete_topic(&src.topic)?;
        }
        Ok(StatementResult::Message(format!(
            "Source `{name}` (topic: {}) was dropped.",
            src.topic
        )))
    }

    fn query_ids(&self, target: &QueryTarget) -> Result<Vec<String>> {
        let st = self.state.lock();
        match target {
            QueryTarget::All => Ok(st.catalog.queries().map(|q| q.id.clone()).collect()),
            QueryTarget::Id(id) => st
                .catalog
                .queries()
                .find(|q| q.id.eq_ignore_ascii_case(id))
                .map(|q| vec![q.id.clone()])
                .ok_or_else(|| Error::catalog(format!("Unknown queryId: {id}"))),
        }
    }

    fn terminate(&self, target: &QueryTarget) -> Result<StatementResult> {
        for id in self.query_ids(target)? {
            self.stop_query(&id);
            self.state.lock().catalog.remove_query(&id);
            // On Kafka other processes of the service may still read them
            // until they apply the TERMINATE, and a consumer of a deleted
            // topic can crash (librdkafka with the test broker): they stay.
            if !self.kafka {
                self.delete_internal_topics(&id)?;
            }
        }
        Ok(StatementResult::Message("Query terminated.".into()))
    }

    /// Deletes a terminated query's internal topics (state changelogs and
    /// repartition topics), as ksqlDB cleans up after a query.
    fn delete_internal_topics(&self, id: &str) -> Result<()> {
        let prefix = format!("_confluent-ksql-{}query_{id}-", self.service_id);
        for topic in self.log.list_topics()? {
            if topic.name.starts_with(&prefix) {
                self.log.delete_topic(&topic.name)?;
            }
        }
        Ok(())
    }

    fn pause(&self, target: &QueryTarget, pause: bool) -> Result<StatementResult> {
        for id in self.query_ids(target)? {
            if let Some(q) = self.queries.lock().iter().find(|q| q.id == id) {
                q.paused.store(pause, Ordering::SeqCst);
            }
            if let Some(info) = self.state.lock().catalog.query_mut(&id) {
                info.state = if pause {
                    QueryState::Paused
                } else {
                    QueryState::Running
                };
            }
        }
        Ok(StatementResult::Message(
            if pause {
                "Query paused."
            } else {
                "Query resumed."
            }
            .into(),
        ))
    }

    // ---- PRINT / ASSERT / ALTER --------------------------------------------

    fn print(
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
            .ok_or_else(|| Error::catalog(format!("Could not find topic '{topic}', or the KSQL user does not have permissions to list the topic. Topic names are case-sensitive.")))?;
        let reader = SourceReader::open(self.log.as_ref(), &topic.name, None, from_beginning)?;
        Ok(StatementResult::Push(PushQuery::new(Box::new(PrintPush {
            source: self.source_on_topic(&topic.name),
            log: self.log.clone(),
            reader,
            interval: interval.max(1),
            seen: 0,
            limit,
            emitted: 0,
        }))))
    }

    fn assert(&self, a: &AssertStatement) -> Result<StatementResult> {
        match &a.kind {
            AssertKind::Topic { name, properties } => {
                let info = self.log.describe_topic(name)?;
                match (info, a.not_exists) {
                    (Some(_), true) => Err(Error::plan(format!("Topic {name} exists"))),
                    (None, true) => Ok(StatementResult::Message(format!(
                        "Topic {name} does not exist"
                    ))),
                    (None, false) => Err(Error::plan(format!("Topic {name} does not exist"))),
                    (Some(info), false) => {
                        if let Some(p) = prop_int(properties, "PARTITIONS")? {
                            if p as i32 != info.partitions {
                                return Err(Error::plan(format!(
                                    "Mismatched configuration for topic {name}: For config partitions, expected {p} got {}",
                                    info.partitions
                                )));
                            }
                        }
                        Ok(StatementResult::Message(format!("Topic {name} exists")))
                    }
                }
            }
            AssertKind::Schema { .. } => Err(Error::plan(
                "ASSERT SCHEMA needs a schema registry, which Sluice does not use",
            )),
        }
    }

    fn alter(
        &self,
        kind: SourceKind,
        name: &str,
        add: &[(String, SqlType)],
    ) -> Result<StatementResult> {
        let mut st = self.state.lock();
        let types = st.catalog.type_list();
        let src = st.catalog.source(name)?.clone();
        if src.kind != kind {
            return Err(Error::plan(format!(
                "Incompatible data source type is {}, but statement was ALTER {}",
                src.kind_name(),
                if kind == SourceKind::Stream {
                    "STREAM"
                } else {
                    "TABLE"
                }
            )));
        }
        if src.created_by.is_some() {
            return Err(Error::plan(
                "ALTER command is not supported for CREATE ... AS statements.",
            ));
        }
        if src.is_source {
            return Err(Error::plan(format!(
                "Cannot alter {} '{name}': ALTER operations are not supported on source {}s.",
                src.kind_name().to_ascii_lowercase(),
                src.kind_name().to_ascii_lowercase()
            )));
        }
        let mut schema = src.schema.clone();
        for (col, ty) in add {
            if schema.find(col).is_some() {
                return Err(Error::plan(format!("Cannot add column {col} to schema. A column with the same name already exists.")));
            }
            schema.columns.push(Column::new(
                col.clone(),
                crate::types::resolve_custom(ty, &types)?,
                ColumnKind::Value,
            ));
        }
        st.catalog.add_source(Source { schema, ..src });
        Ok(StatementResult::Message(format!(
            "{} altered.",
            if kind == SourceKind::Stream {
                "Stream"
            } else {
                "Table"
            }
        )))
    }

    // ---- test support --------------------------------------------------------

    pub fn source(&self, name: &str) -> Option<Source> {
        self.state.lock().catalog.find_source(name).cloned()
    }

    pub fn source_on_topic(&self, topic: &str) -> Option<Source> {
        let st = self.state.lock();
        let mut on: Vec<&Source> = st.catalog.sources_on_topic(topic).collect();
        // Prefer a source that writes the topic (its formats are the
        // topic's), then any declared over it.
        on.sort_by_key(|s| s.created_by.is_none());
        on.first().map(|s| (*s).clone())
    }
}

fn run_loop(task: SharedWork, stop: Arc<AtomicBool>, paused: Arc<AtomicBool>, log: Arc<dyn Log>) {
    let mut last_error: Option<String> = None;
    while !stop.load(Ordering::SeqCst) {
        if paused.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        let seen = log.append_seq();
        match task.lock().poll(log.as_ref()) {
            Ok(read) => {
                last_error = None;
                if read == 0 {
                    log.wait_for_append(seen, Duration::from_millis(200));
                }
            }
            Err(e) => {
                // Said once per distinct failure; the query retries.
                let msg = e.to_string();
                if last_error.as_deref() != Some(msg.as_str()) {
                    eprintln!("sluice: query failed, retrying: {msg}");
                    last_error = Some(msg);
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
    // Stopping: write what waits for the commit interval.
    let mut t = task.lock();
    if t.has_pending() {
        if let Err(e) = t.flush(log.as_ref()) {
            eprintln!("sluice: could not write a stopping query's last results: {e}");
        }
    }
}

/// A push query over a transient pipeline.
struct TransientPush {
    log: Arc<dyn Log>,
    task: TransientTask,
    columns: Vec<(String, String)>,
}

impl PushSource for TransientPush {
    fn columns(&self) -> Vec<(String, String)> {
        self.columns.clone()
    }

    fn next_rows(&mut self, timeout: Duration) -> Result<Option<Vec<Vec<Value>>>> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let seen = self.log.append_seq();
            match self.task.poll(self.log.as_ref())? {
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
struct PrintPush {
    log: Arc<dyn Log>,
    /// A source declared over the topic, whose formats read its records.
    source: Option<Source>,
    reader: SourceReader,
    interval: u64,
    seen: u64,
    limit: Option<u64>,
    emitted: u64,
}

impl PrintPush {
    /// A record's key and value as text: decoded with the formats of a
    /// source over the topic when there is one, otherwise guessed (UTF-8
    /// text, a 4- or 8-byte big-endian number, or hex).
    fn render(&self, record: &crate::log::Record) -> (String, String) {
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
    fn columns(&self) -> Vec<(String, String)> {
        vec![("Record".into(), "STRING".into())]
    }

    fn next_rows(&mut self, timeout: Duration) -> Result<Option<Vec<Vec<Value>>>> {
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
                let (key, value) = self.render(&r.record);
                out.push(vec![Value::String(format!(
                    "rowtime: {}, key: {}, value: {}, partition: {}",
                    crate::types::datetime_text::format_timestamp(r.record.timestamp),
                    key,
                    value,
                    r.partition
                ))]);
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

/// True for statements the metastore must remember.
fn changes_catalog(stmt: &Statement) -> bool {
    matches!(
        stmt,
        Statement::CreateSource(_)
            | Statement::CreateAsSelect(_)
            | Statement::InsertInto { .. }
            | Statement::Drop { .. }
            | Statement::DropType { .. }
            | Statement::CreateType { .. }
            | Statement::Terminate(_)
            | Statement::Pause(_)
            | Statement::Resume(_)
            | Statement::Alter { .. }
    )
}

/// An INSERT INTO query's result must match the sink column for column.
fn schemas_compatible(result: &Schema, sink: &Schema) -> bool {
    let strip = |s: &Schema| -> Vec<(String, SqlType, bool)> {
        s.columns
            .iter()
            .map(|c| (c.name.clone(), c.ty.clone(), c.is_key()))
            .collect()
    };
    strip(result) == strip(sink)
}

/// Unquoted identifiers in property values are upper-cased; quoted keep case.
fn normalize_ident(s: &str) -> String {
    let t = s.trim();
    if (t.starts_with('`') && t.ends_with('`') && t.len() >= 2)
        || (t.starts_with('"') && t.ends_with('"') && t.len() >= 2)
    {
        t[1..t.len() - 1].to_string()
    } else {
        t.to_ascii_uppercase()
    }
}

fn parse_delimiter(d: &str) -> Result<char> {
    match d.to_ascii_uppercase().as_str() {
        "TAB" | "\\T" => Ok('\t'),
        "SPACE" => Ok(' '),
        _ => {
            let mut chars = d.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Ok(c),
                _ => Err(Error::plan(format!(
                    "Invalid delimiter '{d}': a delimiter must be a single character, TAB or SPACE"
                ))),
            }
        }
    }
}

/// Converts an INSERT VALUES literal to its column's type, as ksqlDB's
/// implicit casts allow.
fn coerce_insert(v: Value, from: &SqlType, to: &SqlType, col: &str) -> Result<Value> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let ok = from == to
        || crate::functions::accepts(to, from)
        || matches!(
            (from, to),
            (
                SqlType::String,
                SqlType::Timestamp | SqlType::Date | SqlType::Time
            )
        )
        || matches!((from, to), (SqlType::Decimal(..), SqlType::Decimal(..)))
        || matches!((from, to), (SqlType::Struct(_), SqlType::Struct(_)))
        || matches!(
            (from, to),
            (SqlType::Array(_), SqlType::Array(_)) | (SqlType::Map(..), SqlType::Map(..))
        );
    if !ok {
        return Err(Error::plan(format!(
            "Expected type {to} for field {col} but got {v}({from})"
        )));
    }
    cast_value(v, to)
}

/// A declared windowed source: WITH (WINDOW_TYPE='TUMBLING', WINDOW_SIZE='30 SECONDS').
fn window_from(props: &Properties) -> Result<Option<crate::catalog::WindowInfo>> {
    use crate::catalog::WindowInfo;
    let Some(kind) = prop_str(props, "WINDOW_TYPE") else {
        if prop_str(props, "WINDOW_SIZE").is_some() {
            return Err(Error::plan("WINDOW_SIZE set without WINDOW_TYPE."));
        }
        return Ok(None);
    };
    let size = match prop_str(props, "WINDOW_SIZE") {
        Some(text) => {
            let mut parts = text.split_whitespace();
            let amount: u64 = parts
                .next()
                .and_then(|a| a.parse().ok())
                .ok_or_else(|| Error::plan(format!("Invalid WINDOW_SIZE '{text}'")))?;
            let unit = parts.next().and_then(TimeUnit::parse).ok_or_else(|| {
                Error::plan(format!(
                    "Invalid WINDOW_SIZE '{text}': expected a time unit"
                ))
            })?;
            Some((amount * unit.millis()) as i64)
        }
        None => None,
    };
    match (kind.to_ascii_uppercase().as_str(), size) {
        ("SESSION", None) => Ok(Some(WindowInfo::Session)),
        ("SESSION", Some(_)) => Err(Error::plan("'WINDOW_SIZE' should not be set for SESSION windows.")),
        ("TUMBLING", Some(size)) => Ok(Some(WindowInfo::Tumbling { size })),
        ("HOPPING", Some(size)) => Ok(Some(WindowInfo::Hopping { size, advance: size })),
        ("TUMBLING" | "HOPPING", None) => Err(Error::plan(format!(
            "{} windows require 'WINDOW_SIZE' to be provided in the WITH clause. For example: 'WINDOW_SIZE'='10 SECONDS'",
            kind.to_ascii_uppercase()
        ))),
        (other, _) => Err(Error::plan(format!(
            "Invalid value for WINDOW_TYPE property: '{other}'. Expected one of SESSION, HOPPING, TUMBLING"
        ))),
    }
}

/// The key a pull query looks up, when its WHERE clause pins the table's
/// single key column to a literal (`key = 'x' [AND ...]`): the fast path.
fn key_lookup(q: &Query, source: &Source) -> Option<Value> {
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

/// JSON (and JSON_SR) can only write maps keyed by strings.
fn check_map_keys(columns: &[Column], key: &FormatSpec, value: &FormatSpec) -> Result<()> {
    fn bad(t: &SqlType) -> bool {
        match t {
            SqlType::Map(k, v) => **k != SqlType::String || bad(v),
            SqlType::Array(e) => bad(e),
            SqlType::Struct(f) => f.iter().any(|(_, t)| bad(t)),
            _ => false,
        }
    }
    for c in columns {
        let format = if c.is_key() { key } else { value };
        if matches!(format.kind, FormatKind::Json | FormatKind::JsonSr) && bad(&c.ty) {
            return Err(Error::plan("JSON only supports MAP types with STRING keys"));
        }
    }
    Ok(())
}

/// Plans a persistent query afresh at the group's committed positions:
/// all of it, or (`only`) partition p's task of a split query.
fn query_rebuild(
    me: std::sync::Weak<EngineInner>,
    replan: Replan,
    group: &str,
    earliest: bool,
    only: Option<i32>,
) -> crate::runtime::task::Rebuild {
    let group = group.to_string();
    Box::new(move || {
        let inner = me
            .upgrade()
            .ok_or_else(|| Error::log("the engine is shutting down"))?;
        let plan = replan(&inner)?;
        let mut flow = inner.flow(
            plan.inputs,
            plan.join,
            plan.operators,
            Some(&group),
            earliest,
        )?;
        if let Some(p) = only {
            flow.only_partition(p);
        }
        Ok(flow)
    })
}

/// Opens the transactional writer `txn_id` of a query's group.
fn txn_factory(
    log: Arc<dyn Log>,
    group: String,
    txn_id: String,
) -> crate::runtime::task::TxnFactory {
    Box::new(move || {
        log.transactional_writer(&txn_id, &group)?.ok_or_else(|| {
            Error::log("this log has no transactions for processing.guarantee exactly_once_v2")
        })
    })
}

/// What every task of a persistent query shares (a split query has one
/// task per partition).
#[derive(Clone)]
struct TaskTemplate {
    query_id: String,
    group: String,
    sink: Source,
    commit_interval: Option<Duration>,
    coalesce: Option<Vec<usize>>,
    checkpoints: Vec<String>,
}

impl TaskTemplate {
    fn task(
        &self,
        flow: Flow,
        encoder: SinkEncoder,
        changelog_partition: i32,
        group_member: Option<Membership>,
        exactly_once: Option<crate::runtime::task::TxnFactory>,
        rebuild: crate::runtime::task::Rebuild,
    ) -> PersistentTask {
        PersistentTask {
            query_id: self.query_id.clone(),
            group: self.group.clone(),
            flow,
            sink: encoder,
            errors: 0,
            commit_interval: self.commit_interval,
            coalesce: self.coalesce.clone(),
            checkpoints: self.checkpoints.clone(),
            changelog_partition,
            pending: Default::default(),
            group_member,
            exactly_once,
            txn: None,
            rebuild: Some(rebuild),
        }
    }
}

/// Plans a persistent query again (see `PersistentTask::rebuild`).
type Replan = Arc<dyn Fn(&EngineInner) -> Result<crate::plan::planner::QueryPlan> + Send + Sync>;

/// How often a process looks for statements other processes recorded.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(500);

/// Starts the thread that applies the statements other processes of the
/// service record (new streams, tables and queries, TERMINATE, ...), as
/// ksqlDB's servers follow their command topic. It ends with the engine.
fn follow_commands(inner: &Arc<EngineInner>) {
    let weak = Arc::downgrade(inner);
    let spawned = std::thread::Builder::new()
        .name("command-follower".into())
        .spawn(move || loop {
            std::thread::sleep(FOLLOW_INTERVAL);
            let Some(inner) = weak.upgrade() else { return };
            let mut applied = inner.applied.lock();
            if let Err(e) = inner.apply_commands(&mut applied, false) {
                eprintln!("sluice: reading the command topic: {e}");
            }
        });
    if let Err(e) = spawned {
        eprintln!("sluice: cannot follow the command topic: {e}");
    }
}
