//! Data definition: CREATE STREAM/TABLE over a topic, DROP, ALTER, and
//! CREATE/DROP TYPE.

use super::{prop_int, prop_str, EngineInner, SessionState, State};
use crate::catalog::{Source, TimestampSpec};
use crate::error::{Error, Result};
use crate::formats::{FormatKind, FormatSpec};
use crate::log::TopicConfig;
use crate::operators::SourceDecoder;
use crate::results::CommandStatus;
use crate::sql::ast::*;
use crate::types::{Column, ColumnKind, Schema, SqlType};
use crate::StatementResult;
use std::sync::atomic::Ordering;

impl EngineInner {
    pub(super) fn formats_from(
        session: &SessionState,
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
                    session
                        .property("ksql.persistence.default.format.key")
                        .unwrap_or("KAFKA"),
                )?),
            },
        };
        let mut value_spec = match value.or(format) {
            Some(v) => FormatSpec::new(FormatKind::parse(&v)?),
            None => match default_value {
                Some(v) => FormatSpec { wrap_single: true, ..v },
                None => match session.property("ksql.persistence.default.format.value") {
                    Some(v) => FormatSpec::new(FormatKind::parse(v)?),
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
        } else if let Some(w) = session.property("ksql.persistence.wrap.single.values") {
            value_spec.wrap_single = w.eq_ignore_ascii_case("true");
        }
        Ok((key_spec, value_spec))
    }

    pub(super) fn check_name_free(&self, st: &State, name: &str, kind: SourceKind) -> Result<()> {
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

    pub(super) fn create_source(
        &self,
        session: &SessionState,
        c: &CreateSource,
        text: &str,
    ) -> Result<StatementResult> {
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
                    return Ok(CommandStatus::success(
                        &what.to_ascii_lowercase(),
                        &c.name,
                        "create",
                        format!(
                            "Cannot add {} '{}': A {} with the same name already exists",
                            what.to_ascii_lowercase(),
                            c.name,
                            existing.kind_name().to_ascii_lowercase()
                        ),
                    )
                    .into());
                }
                if !c.or_replace {
                    self.check_name_free(&st, &c.name, c.kind)?;
                }
            }
        }
        let topic = prop_str(&c.properties, "KAFKA_TOPIC").ok_or_else(|| {
            Error::plan("Missing required property \"KAFKA_TOPIC\" which has no default value.")
        })?;
        let (key_format, value_format) = Self::formats_from(session, &c.properties, None, None)?;
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
        let (mut key_format, mut value_format) = (key_format, value_format);
        let elements = self.inferred_elements(c, &topic, &mut key_format, &mut value_format)?;
        if elements.is_empty() {
            return Err(Error::plan(format!(
                "The statement does not define any columns.\nNo columns supplied. {} cannot infer columns: Sluice infers columns from the schema registry for AVRO only.",
                value_format.kind
            )));
        }
        let mut columns = Vec::new();
        let types = self.state.lock().catalog.type_list();
        for el in &elements {
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
        Ok(CommandStatus::success(
            &what.to_ascii_lowercase(),
            &c.name,
            "create",
            format!("{what} created"),
        )
        .into())
    }

    pub(super) fn timestamp_spec(
        &self,
        props: &Properties,
        schema: &Schema,
    ) -> Result<Option<TimestampSpec>> {
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

    pub(super) fn drop_source(
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
                    return Ok(CommandStatus::success(
                        kind_name(kind),
                        name,
                        "drop",
                        format!("Source `{name}` does not exist."),
                    )
                    .into())
                }
                None => return Err(Error::not_found(format!("Source {name} does not exist."))),
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
        if delete_topic {
            // As ksqlDB: a topic other streams or tables use stays.
            let others: Vec<String> = self
                .state
                .lock()
                .catalog
                .sources_on_topic(&src.topic)
                .filter(|s| s.name != src.name)
                .map(|s| s.name.clone())
                .collect();
            if !others.is_empty() {
                return Err(Error::plan(format!(
                    "Refusing to delete topic. Found other data sources ({}) using topic {}",
                    others.join(", "),
                    src.topic
                )));
            }
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
        Ok(CommandStatus::success(
            kind_name(kind),
            name,
            "drop",
            format!("Source {name} (topic: {}) was dropped.", src.topic),
        )
        .into())
    }

    pub(super) fn alter(
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
        let message = if kind == SourceKind::Stream {
            "Stream altered."
        } else {
            "Table altered."
        };
        Ok(CommandStatus::success(kind_name(kind), name, "alter", message).into())
    }

    /// `CREATE TYPE [IF NOT EXISTS] name AS type;`
    pub(super) fn create_type(
        &self,
        name: &str,
        ty: &SqlType,
        if_not_exists: bool,
    ) -> Result<StatementResult> {
        let mut st = self.state.lock();
        if let Some(existing) = st.catalog.types().get(name) {
            if if_not_exists {
                return Ok(CommandStatus::success(
                    "type",
                    name,
                    "create",
                    format!("Type {name} already exists"),
                )
                .into());
            }
            return Err(Error::catalog(format!(
                "Cannot register custom type '{name}' since it is already registered with type: {existing}"
            )));
        }
        let resolved = st.catalog.resolve_type(ty)?;
        st.catalog.add_type(name, resolved);
        Ok(CommandStatus::success(
            "type",
            name,
            "create",
            format!("Registered custom type with name '{name}' and SQL type {ty}"),
        )
        .into())
    }

    /// `DROP TYPE [IF EXISTS] name;`
    pub(super) fn drop_type(&self, name: &str, if_exists: bool) -> Result<StatementResult> {
        let mut st = self.state.lock();
        if st.catalog.remove_type(name).is_none() && !if_exists {
            return Err(Error::not_found(format!("Type {name} does not exist.")));
        }
        Ok(CommandStatus::success("type", name, "drop", format!("Dropped type '{name}'")).into())
    }
}

/// The kind of source in command ids: "stream" or "table".
pub(super) fn kind_name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Stream => "stream",
        SourceKind::Table => "table",
    }
}

/// Unquoted identifiers in property values are upper-cased; quoted keep case.
pub(super) fn normalize_ident(s: &str) -> String {
    let t = s.trim();
    if (t.starts_with('`') && t.ends_with('`') && t.len() >= 2)
        || (t.starts_with('"') && t.ends_with('"') && t.len() >= 2)
    {
        t[1..t.len() - 1].to_string()
    } else {
        t.to_ascii_uppercase()
    }
}

pub(super) fn parse_delimiter(d: &str) -> Result<char> {
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

/// A declared windowed source: WITH (WINDOW_TYPE='TUMBLING', WINDOW_SIZE='30 SECONDS').
pub(super) fn window_from(props: &Properties) -> Result<Option<crate::catalog::WindowInfo>> {
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

/// JSON (and JSON_SR) can only write maps keyed by strings.
pub(super) fn check_map_keys(
    columns: &[Column],
    key: &FormatSpec,
    value: &FormatSpec,
) -> Result<()> {
    pub(super) fn bad(t: &SqlType) -> bool {
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
