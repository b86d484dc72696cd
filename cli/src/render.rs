//! Turning the engine's typed results into what the shell prints: a
//! message, or a table of named columns and rows (push queries and PRINT
//! are streamed by the shell itself).

use crate::table;
use sluice_engine::results::{QueryDescription, SourceDescription, StatementResult};
use sluice_engine::types::{ColumnKind, Schema, SqlType, Value};

/// What the shell prints for a result answered at once.
pub enum Printed {
    /// A one-cell message box (nothing when empty).
    Message(String),
    /// Text printed as it is (DESCRIBE, EXPLAIN).
    Text(String),
    /// An aligned table.
    Table {
        columns: Vec<String>,
        rows: Vec<Vec<Value>>,
    },
    /// Several parts, one after the other (DESCRIBE EXTENDED of several
    /// sources).
    Many(Vec<Printed>),
}

impl Printed {
    /// The text to print (without a trailing newline), or None.
    pub fn text(&self, layout: table::Layout) -> Option<String> {
        match self {
            Printed::Message(m) if m.is_empty() => None,
            Printed::Message(m) => Some(table::message(m)),
            Printed::Text(t) => Some(t.clone()),
            Printed::Table { columns, rows } => Some(table::render(columns, rows, layout)),
            Printed::Many(parts) => {
                let texts: Vec<String> = parts.iter().filter_map(|p| p.text(layout)).collect();
                (!texts.is_empty()).then(|| texts.join("\n\n"))
            }
        }
    }
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn names(columns: &[&str]) -> Vec<String> {
    columns.iter().map(|c| c.to_string()).collect()
}

/// The printable form of every result but a push query or PRINT (None
/// for those).
pub fn printed(result: &StatementResult, layout: table::Layout) -> Option<Printed> {
    let terminal = layout.terminal;
    Some(match result {
        StatementResult::Status(status) => Printed::Message(status.message.clone()),
        StatementResult::Message(m) => Printed::Message(m.clone()),
        StatementResult::Sources(list) => {
            let name = if list.kind == "TABLE" {
                "Table Name"
            } else {
                "Stream Name"
            };
            Printed::Table {
                columns: names(&[
                    name,
                    "Kafka Topic",
                    "Key Format",
                    "Value Format",
                    "Windowed",
                ]),
                rows: list
                    .sources
                    .iter()
                    .map(|x| {
                        vec![
                            s(&x.name),
                            s(&x.topic),
                            s(&x.key_format),
                            s(&x.value_format),
                            Value::Bool(x.is_windowed),
                        ]
                    })
                    .collect(),
            }
        }
        StatementResult::SourceDescriptions(all) => Printed::Many(
            all.iter()
                .map(|d| source_description(d, terminal))
                .collect(),
        ),
        StatementResult::SourceDescription(d) => source_description(d, terminal),
        StatementResult::Queries(queries) => Printed::Table {
            columns: names(&[
                "Query ID",
                "Query Type",
                "Status",
                "Sink Name",
                "Sink Kafka Topic",
                "Query String",
            ]),
            rows: queries
                .iter()
                .map(|q| {
                    vec![
                        s(&q.id),
                        s(&q.query_type),
                        s(&format!("{}:1", q.state)),
                        s(&q.sinks.join(", ")),
                        s(&q.sink_topics.join(", ")),
                        s(&q.statement),
                    ]
                })
                .collect(),
        },
        StatementResult::QueryDescription(d) => query_description(d, terminal),
        StatementResult::Properties(props) => Printed::Table {
            columns: names(&["Property", "Scope", "Value"]),
            rows: props
                .iter()
                .map(|p| vec![s(&p.name), s(&p.scope), s(&p.value)])
                .collect(),
        },
        StatementResult::Functions(functions) => Printed::Table {
            columns: names(&["Function Name", "Type", "Category"]),
            rows: functions
                .iter()
                .map(|f| vec![s(&f.name), s(&f.kind), s(&f.category)])
                .collect(),
        },
        StatementResult::FunctionDescription(f) => Printed::Table {
            columns: names(&["Property", "Value"]),
            rows: vec![
                vec![s("Name"), s(&f.name)],
                vec![s("Type"), s(&f.kind)],
                vec![s("Category"), s(&f.category)],
                vec![s("Description"), s(&f.description)],
            ],
        },
        StatementResult::Topics(topics) => Printed::Table {
            columns: names(&["Kafka Topic", "Partitions", "Partition Replicas"]),
            rows: topics
                .iter()
                .map(|t| {
                    vec![
                        s(&t.name),
                        Value::Int(t.partitions),
                        Value::Int(i32::from(t.replicas)),
                    ]
                })
                .collect(),
        },
        StatementResult::Types(types) => Printed::Table {
            columns: names(&["Type Name", "Schema"]),
            rows: types
                .iter()
                .map(|(name, ty)| vec![s(name), s(&type_string(ty))])
                .collect(),
        },
        StatementResult::Variables(vars) => Printed::Table {
            columns: names(&["Variable Name", "Value"]),
            rows: vars.iter().map(|(k, v)| vec![s(k), s(v)]).collect(),
        },
        StatementResult::AssertTopic { topic, exists } => Printed::Message(if *exists {
            format!("Topic {topic} exists")
        } else {
            format!("Topic {topic} does not exist")
        }),
        StatementResult::Rows(rows) => Printed::Table {
            columns: rows.columns.iter().map(|c| c.name.clone()).collect(),
            rows: rows.rows.clone(),
        },
        StatementResult::ConnectorInfo(info) => {
            Printed::Message(format!("Created connector {}", info.name))
        }
        StatementResult::Connectors(list) => Printed::Table {
            columns: names(&["Connector Name", "Type", "Class", "Status"]),
            rows: list
                .iter()
                .map(|c| {
                    let kind = if c.kind.is_empty() {
                        "UNKNOWN".to_string()
                    } else {
                        c.kind.to_uppercase()
                    };
                    vec![s(&c.name), s(&kind), s(&c.class), s(&c.state)]
                })
                .collect(),
        },
        StatementResult::ConnectorDescription(d) => connector_description(d, terminal),
        StatementResult::DropConnector(name) => {
            Printed::Message(format!("Dropped connector \"{name}\""))
        }
        StatementResult::Warning(m) => Printed::Message(m.clone()),
        StatementResult::Push(_) | StatementResult::Print(_) => return None,
    })
}

/// DESCRIBE CONNECTOR as ksqlDB's CLI prints it: the status, the tasks,
/// the streams and tables over its topics, and its topics; then how it
/// delivers (Sluice's addition).
fn connector_description(
    d: &sluice_engine::results::ConnectorDescription,
    terminal: Option<usize>,
) -> Printed {
    let st = &d.status;
    let mut out = vec![
        field("Name", &st.name, terminal),
        field("Class", &d.class, terminal),
        field("Type", &st.kind, terminal),
        field("State", &st.connector.state, terminal),
        field("WorkerId", &st.connector.worker_id, terminal),
    ];
    if let Some(t) = &st.connector.trace {
        out.push(field("Trace", t, terminal));
    }
    out.push(field("Delivery", &d.delivery, terminal));
    if let Some(o) = &d.offset {
        out.push(field("Offset", o, terminal));
    }
    out.push(field("Records", &d.records.to_string(), terminal));
    if !st.tasks.is_empty() {
        out.push(String::new());
        let rows: Vec<Vec<String>> = st
            .tasks
            .iter()
            .map(|(id, t)| {
                vec![
                    id.to_string(),
                    t.state.clone(),
                    t.trace.clone().unwrap_or_default(),
                ]
            })
            .collect();
        out.extend(table::plain(
            &["Task ID", "State", "Error Trace"],
            &rows,
            terminal,
        ));
    }
    if !d.sources.is_empty() {
        out.push(String::new());
        let rows: Vec<Vec<String>> = d
            .sources
            .iter()
            .map(|x| vec![x.name.clone(), x.topic.clone(), x.kind.clone()])
            .collect();
        out.extend(table::plain(
            &["ksqlDB Source Name", "Kafka Topic", "Type"],
            &rows,
            terminal,
        ));
    }
    if !d.topics.is_empty() {
        out.push(String::new());
        let rows: Vec<Vec<String>> = d.topics.iter().map(|t| vec![t.clone()]).collect();
        out.extend(table::plain(&["Related Topics"], &rows, terminal));
    }
    Printed::Text(out.join("\n"))
}

/// A type as ksqlDB's CLI names it in DESCRIBE: `VARCHAR(STRING)` for
/// strings (also inside ARRAY, MAP and STRUCT), `MAP<STRING, ...>`.
pub fn type_string(ty: &SqlType) -> String {
    match ty {
        SqlType::String => "VARCHAR(STRING)".to_string(),
        SqlType::Array(t) => format!("ARRAY<{}>", type_string(t)),
        SqlType::Map(_, v) => format!("MAP<STRING, {}>", type_string(v)),
        SqlType::Struct(fields) => format!(
            "STRUCT<{}>",
            fields
                .iter()
                .map(|(n, t)| format!("{n} {}", type_string(t)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// `Name                 : value`, ksqlDB's label column; a value of
/// several lines (or wider than the terminal) continues under itself.
fn field(name: &str, value: &str, terminal: Option<usize>) -> String {
    const LABEL: usize = 23;
    let room = terminal.map_or(usize::MAX, |t| t.saturating_sub(LABEL).max(20));
    let mut lines = Vec::new();
    for l in table::escape_controls(value, true).lines() {
        let mut rest = l;
        while table::width(rest) > room {
            let cut = rest
                .char_indices()
                .scan(0, |w, (i, c)| {
                    *w += unicode_width::UnicodeWidthChar::width(c).unwrap_or(1);
                    Some((i, *w))
                })
                .find(|(_, w)| *w > room)
                .map_or(rest.len(), |(i, _)| i);
            // Break at the last space before the edge, if there is one.
            let at = rest[..cut].rfind(' ').filter(|i| *i > 0).unwrap_or(cut);
            lines.push(rest[..at].to_string());
            rest = rest[at..].trim_start();
        }
        lines.push(rest.to_string());
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    let pad = " ".repeat(LABEL);
    let mut out = format!("{name:<20} : {}", lines[0]);
    for l in &lines[1..] {
        out.push('\n');
        out.push_str(&pad);
        out.push_str(l);
    }
    out
}

/// The `Field | Type` table of DESCRIBE and EXPLAIN: keys marked `(key)`
/// (`(primary key)` in tables) with the window type of windowed keys,
/// headers marked.
fn schema_lines(
    schema: &Schema,
    window: Option<&str>,
    is_table: bool,
    terminal: Option<usize>,
) -> Vec<String> {
    if schema.columns.is_empty() {
        return Vec::new();
    }
    let rows: Vec<Vec<String>> = schema
        .columns
        .iter()
        .map(|c| {
            let ty = type_string(&c.ty);
            let ty = match &c.kind {
                ColumnKind::Key => {
                    let key = if is_table { "(primary key)" } else { "(key)" };
                    let w = window
                        .map(|w| format!(" (Window type: {w})"))
                        .unwrap_or_default();
                    format!("{ty:<16} {key}{w}")
                }
                ColumnKind::Value => ty,
                ColumnKind::Header(None) => format!("{ty:<16} (headers)"),
                ColumnKind::Header(Some(h)) => format!("{ty:<16} (header('{h}'))"),
            };
            vec![c.name.clone(), ty]
        })
        .collect();
    table::plain(&["Field", "Type"], &rows, terminal)
}

/// A section title and its rule, after a blank line.
fn section(out: &mut Vec<String>, title: &str, rule: usize) {
    out.push(String::new());
    out.push(title.to_string());
    out.push("-".repeat(rule));
}

/// DESCRIBE as ksqlDB's CLI prints it: the name, (with EXTENDED) the
/// source's details, the fields, and (with EXTENDED) the queries that
/// read and write it and its runtime statistics.
fn source_description(d: &SourceDescription, terminal: Option<usize>) -> Printed {
    let is_table = d.kind.eq_ignore_ascii_case("TABLE");
    let window = d.window_type.as_deref();
    let mut out = vec![field("Name", &d.name, terminal)];
    if !d.extended {
        out.extend(schema_lines(&d.schema, window, is_table, terminal));
        out.push(
            "For runtime statistics and query details run: DESCRIBE <Stream,Table> EXTENDED;"
                .to_string(),
        );
        return Printed::Text(out.join("\n"));
    }
    out.push(field("Type", &d.kind, terminal));
    out.push(field(
        "Timestamp field",
        d.timestamp
            .as_deref()
            .unwrap_or("Not set - using <ROWTIME>"),
        terminal,
    ));
    out.push(field("Key format", &d.key_format, terminal));
    out.push(field("Value format", &d.value_format, terminal));
    let topic = if d.partitions != 0 {
        format!(
            "{} (partitions: {}, replication: {})",
            d.topic, d.partitions, d.replication
        )
    } else {
        d.topic.clone()
    };
    out.push(field("Kafka topic", &topic, terminal));
    out.push(field("Statement", &d.statement, terminal));
    out.push(String::new());
    out.extend(schema_lines(&d.schema, window, is_table, terminal));
    for (what, queries) in [("read", &d.read_queries), ("write", &d.write_queries)] {
        if queries.is_empty() {
            continue;
        }
        section(
            &mut out,
            &format!("Queries that {what} from this {}", d.kind),
            35,
        );
        for q in queries.iter() {
            let one_line = q.statement.split_whitespace().collect::<Vec<_>>().join(" ");
            out.push(table::escape_controls(
                &format!("{} (RUNNING) : {one_line}", q.id),
                false,
            ));
        }
        out.push(String::new());
        out.push("For query topology and execution plan please run: EXPLAIN <QueryId>".to_string());
    }
    section(&mut out, "Local runtime statistics", 24);
    let s = &d.statistics;
    out.push(format!(
        "messages-consumed: {} messages-produced: {}",
        s.messages_consumed, s.messages_produced
    ));
    out.push(if s.processing_errors > 0 {
        format!("processing-errors: {}", s.processing_errors)
    } else {
        String::new()
    });
    out.push(format!(
        "(Statistics of the local Sluice process's interaction with the topic {})",
        d.topic
    ));
    Printed::Text(out.join("\n"))
}

/// EXPLAIN as ksqlDB's CLI prints it: the query (id, type, statement,
/// status, failure), its result fields, the sources it reads and the
/// sinks it writes, then its execution plan, one line per operator, each
/// indented under the operator that reads it.
fn query_description(d: &QueryDescription, terminal: Option<usize>) -> Printed {
    let mut out = Vec::new();
    out.push(field("ID", d.id.as_deref().unwrap_or(""), terminal));
    let kind = if d.id.is_some() { "PERSISTENT" } else { "PUSH" };
    out.push(field("Query Type", kind, terminal));
    if !d.statement.is_empty() {
        out.push(field("SQL", &d.statement, terminal));
    }
    if let Some(state) = &d.state {
        out.push(field("Status", state, terminal));
    }
    out.push(String::new());
    out.extend(schema_lines(
        &d.schema,
        d.window_type.as_deref(),
        false,
        terminal,
    ));
    if !d.sources.is_empty() {
        section(&mut out, "Sources that this query reads from: ", 35);
        out.extend(d.sources.iter().cloned());
        out.push(String::new());
        out.push("For source description please run: DESCRIBE [EXTENDED] <SourceId>".to_string());
    }
    if !d.sinks.is_empty() {
        section(&mut out, "Sinks that this query writes to: ", 35);
        out.extend(d.sinks.iter().cloned());
        out.push(String::new());
        out.push("For sink description please run: DESCRIBE [EXTENDED] <SinkId>".to_string());
    }
    if !d.plan.is_empty() {
        section(&mut out, "Execution plan", 14);
        out.extend(
            d.plan_lines()
                .iter()
                .map(|l| table::escape_controls(l, false)),
        );
    }
    if let Some(error) = &d.error {
        out.push(String::new());
        out.push(field("Error Date", &utc_millis(error.at_ms), terminal));
        out.push(field("Error Details", &error.message, terminal));
    }
    Printed::Text(out.join("\n"))
}

/// A time in milliseconds since the epoch, as `2026-12-07 17:09:52.286 UTC`.
fn utc_millis(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string(),
        None => ms.to_string(),
    }
}
