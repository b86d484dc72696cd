//! The connector classes Sluice runs, by Kafka Connect's class names (and
//! Connect's short aliases): their kind, their configuration keys, how
//! their configurations are validated and how their tasks are made.

use super::config::ConnectorConfig;
use super::converter::Converter;
use super::task::Context;
use super::worker::{Task, TaskFactory};
use crate::sql::ast::ConnectorKind;

/// One configuration key a plugin takes.
#[derive(Debug, Clone, Copy)]
pub struct KeyDef {
    pub name: &'static str,
    /// Connect's type name: STRING, INT, LONG, LIST, CLASS, BOOLEAN.
    pub ty: &'static str,
    pub required: bool,
    pub default: Option<&'static str>,
    pub doc: &'static str,
}

const fn key(
    name: &'static str,
    ty: &'static str,
    required: bool,
    default: Option<&'static str>,
    doc: &'static str,
) -> KeyDef {
    KeyDef {
        name,
        ty,
        required,
        default,
        doc,
    }
}

/// A connector class.
pub struct Plugin {
    pub class: &'static str,
    /// Other names Connect accepts for it (the simple class name, and
    /// without the `Connector` suffix).
    pub aliases: &'static [&'static str],
    pub kind: ConnectorKind,
    pub version: &'static str,
    /// Its own keys (the common ones come first, see [`COMMON`]).
    pub keys: &'static [KeyDef],
    pub factory: TaskFactory,
}

/// Keys every connector takes.
pub const COMMON: &[KeyDef] = &[
    key(
        "name",
        "STRING",
        true,
        None,
        "Globally unique name to use for this connector.",
    ),
    key(
        "connector.class",
        "STRING",
        true,
        None,
        "Name or alias of the class for this connector.",
    ),
    key(
        "tasks.max",
        "INT",
        false,
        Some("1"),
        "Maximum number of tasks to use for this connector (Sluice runs one).",
    ),
    key(
        "key.converter",
        "CLASS",
        false,
        None,
        "Converter class for keys (StringConverter by default).",
    ),
    key(
        "value.converter",
        "CLASS",
        false,
        None,
        "Converter class for values (JsonConverter without schemas by default).",
    ),
];

fn datagen(config: &ConnectorConfig, ctx: &Context) -> crate::error::Result<Task> {
    Ok(Task::Source(Box::new(super::datagen::DatagenTask::new(
        config, ctx,
    )?)))
}

fn file_source(config: &ConnectorConfig, ctx: &Context) -> crate::error::Result<Task> {
    Ok(Task::Source(Box::new(super::file::FileSourceTask::new(
        config, ctx,
    )?)))
}

fn file_sink(config: &ConnectorConfig, ctx: &Context) -> crate::error::Result<Task> {
    Ok(Task::Sink(Box::new(super::file::FileSinkTask::new(
        config, ctx,
    )?)))
}

fn jdbc_source(config: &ConnectorConfig, ctx: &Context) -> crate::error::Result<Task> {
    Ok(Task::Source(Box::new(super::jdbc::JdbcSourceTask::new(
        config, ctx,
    )?)))
}

fn jdbc_sink(config: &ConnectorConfig, ctx: &Context) -> crate::error::Result<Task> {
    Ok(Task::Sink(Box::new(super::jdbc_sink::JdbcSinkTask::new(
        config, ctx,
    )?)))
}

/// Every plugin.
pub static PLUGINS: &[Plugin] = &[
    Plugin {
        class: "io.confluent.kafka.connect.datagen.DatagenConnector",
        aliases: &["DatagenConnector", "Datagen"],
        kind: ConnectorKind::Source,
        version: "sluice",
        keys: &[
            key("kafka.topic", "STRING", true, None, "Topic to write to"),
            key("quickstart", "STRING", true, None, "Name of quickstart to use: users, pageviews, orders, ratings, stock_trades, clickstream"),
            key("max.interval", "LONG", false, Some("500"), "Max interval between messages (ms)"),
            key("iterations", "INT", false, Some("-1"), "Number of messages to send, or -1 for unlimited"),
            key("schema.keyfield", "STRING", false, None, "Name of field to use as the message key"),
            key("random.seed", "LONG", false, Some("0"), "Numeric seed for generating random data"),
        ],
        factory: datagen,
    },
    Plugin {
        class: "org.apache.kafka.connect.file.FileStreamSourceConnector",
        aliases: &["FileStreamSourceConnector", "FileStreamSource"],
        kind: ConnectorKind::Source,
        version: "sluice",
        keys: &[
            key("file", "STRING", true, None, "Source filename, followed as it grows."),
            key("topic", "STRING", true, None, "The topic to publish data to"),
            key("batch.size", "INT", false, Some("2000"), "The maximum number of records the source task can read from the file each time it is polled"),
        ],
        factory: file_source,
    },
    Plugin {
        class: "org.apache.kafka.connect.file.FileStreamSinkConnector",
        aliases: &["FileStreamSinkConnector", "FileStreamSink"],
        kind: ConnectorKind::Sink,
        version: "sluice",
        keys: &[
            key("file", "STRING", true, None, "Destination filename."),
            key("topics", "LIST", true, None, "List of topics to consume, separated by commas"),
        ],
        factory: file_sink,
    },
    Plugin {
        class: "io.confluent.connect.jdbc.JdbcSourceConnector",
        aliases: &["JdbcSourceConnector"],
        kind: ConnectorKind::Source,
        version: "sluice",
        keys: &[
            key("connection.url", "STRING", true, None, "JDBC connection URL: jdbc:postgresql://host[:port]/database"),
            key("connection.user", "STRING", false, None, "JDBC connection user."),
            key("connection.password", "PASSWORD", false, None, "JDBC connection password (trust, password or md5 authentication)."),
            key("mode", "STRING", true, None, "The mode for updating a table each time it is polled: incrementing, timestamp or timestamp+incrementing."),
            key("incrementing.column.name", "STRING", false, None, "The name of the strictly incrementing column to use to detect new rows."),
            key("timestamp.column.name", "STRING", false, None, "The name of the timestamp column to use to detect new or modified rows."),
            key("table.whitelist", "LIST", false, None, "The table to copy (one per connector)."),
            key("query", "STRING", false, None, "A query to read instead of a table."),
            key("topic.prefix", "STRING", true, None, "Prefix to prepend to table names to generate the name of the topic (the whole topic name with query)."),
            key("poll.interval.ms", "INT", false, Some("5000"), "Frequency in ms to poll for new data."),
            key("batch.max.rows", "INT", false, Some("100"), "Maximum number of rows to include in a single batch when polling for new data."),
        ],
        factory: jdbc_source,
    },
    Plugin {
        class: "io.confluent.connect.jdbc.JdbcSinkConnector",
        aliases: &["JdbcSinkConnector"],
        kind: ConnectorKind::Sink,
        version: "sluice",
        keys: &[
            key("connection.url", "STRING", true, None, "JDBC connection URL: jdbc:postgresql://host[:port]/database"),
            key("connection.user", "STRING", false, None, "JDBC connection user."),
            key("connection.password", "PASSWORD", false, None, "JDBC connection password (trust, password or md5 authentication)."),
            key("topics", "LIST", true, None, "List of topics to consume, separated by commas"),
            key("table.name.format", "STRING", false, Some("${topic}"), "The destination table name; ${topic} is the record's topic."),
            key("insert.mode", "STRING", false, Some("insert"), "insert or upsert"),
            key("pk.mode", "STRING", false, Some("none"), "none, record_key or record_value"),
            key("pk.fields", "LIST", false, None, "The primary key field names."),
            key("auto.create", "BOOLEAN", false, Some("false"), "Create the destination table from the first record when it is missing."),
            key("delete.enabled", "BOOLEAN", false, Some("false"), "Delete the key's row on a tombstone (pk.mode record_key)."),
        ],
        factory: jdbc_sink,
    },
];

/// The plugin a `connector.class` names.
pub fn find(class: &str) -> Option<&'static Plugin> {
    PLUGINS
        .iter()
        .find(|p| p.class == class || p.aliases.contains(&class))
}

/// The problems Connect's validation reports for one key (none when the
/// value is fine).
pub fn check(def: &KeyDef, config: &ConnectorConfig) -> Vec<String> {
    let value = config.get(def.name);
    let mut errors = Vec::new();
    match value {
        None | Some("") if def.required && def.default.is_none() => errors.push(format!(
            "Missing required configuration \"{}\" which has no default value.",
            def.name
        )),
        None => {}
        Some(v) => match def.ty {
            "INT" | "LONG" if v.trim().parse::<i64>().is_err() => errors.push(format!(
                "Invalid value {v} for configuration {}: Not a number of type {}",
                def.name, def.ty
            )),
            "BOOLEAN" if config.bool(def.name, false).is_err() => errors.push(format!(
                "Invalid value {v} for configuration {}: Expected value to be either true or false",
                def.name
            )),
            "CLASS" if !Converter::classes().iter().any(|c| c == &v || c.ends_with(&format!(".{v}"))) => {
                errors.push(format!(
                    "Invalid value {v} for configuration {}: Class {v} could not be found (Sluice runs {})",
                    def.name,
                    Converter::classes().join(", ")
                ))
            }
            _ => {}
        },
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_resolve_by_name_and_alias_and_keys_are_checked() {
        assert_eq!(
            find("FileStreamSource").unwrap().kind,
            ConnectorKind::Source
        );
        assert_eq!(
            find("org.apache.kafka.connect.file.FileStreamSinkConnector")
                .unwrap()
                .kind,
            ConnectorKind::Sink
        );
        assert!(find("com.example.Nope").is_none());
        let config = ConnectorConfig::new(
            "x",
            [
                ("max.interval", "soon"),
                ("value.converter", "ProtobufConverter"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        );
        let dg = find("DatagenConnector").unwrap();
        let errors: Vec<String> = COMMON
            .iter()
            .chain(dg.keys)
            .flat_map(|k| check(k, &config))
            .collect();
        assert_eq!(errors.len(), 5, "{errors:?}"); // class, topic, quickstart, interval, converter
    }
}
