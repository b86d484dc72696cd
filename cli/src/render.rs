//! Turning the engine's typed results into what the shell prints: a
//! message, or a table of named columns and rows (push queries and PRINT
//! are streamed by the shell itself).

use crate::table;
use sluice_engine::results::{QueryDescription, SourceDescription, StatementResult};
use sluice_engine::types::{ColumnKind, Value};

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
                (!texts.is_empty()).then(|| texts.join("\n"))
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
pub fn printed(result: &StatementResult) -> Option<Printed> {
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
        StatementResult::SourceDescriptions(all) => {
            Printed::Many(all.iter().map(source_description).collect())
        }
        StatementResult::SourceDescription(d) => source_description(d),
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
        StatementResult::QueryDescription(d) => query_description(d),
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
                .map(|(name, ty)| vec![s(name), s(&ty.to_string())])
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
        StatementResult::Push(_) | StatementResult::Print(_) => return None,
    })
}

/// DESCRIBE as ksqlDB's CLI prints it: the name, (with EXTENDED) the
/// source's details, the columns, and (with EXTENDED) the queries that
/// write and read it and their runtime statistics.
fn source_description(d: &SourceDescription) -> Printed {
    let field = |name: &str, value: &str| format!("{name:<21}: {value}");
    let mut out = vec![field("Name", &d.name)];
    if d.extended {
        out.push(field("Type", &d.kind));
        out.push(field(
            "Timestamp field",
            d.timestamp
                .as_deref()
                .unwrap_or("Not set - using <ROWTIME>"),
        ));
        out.push(field("Key format", &d.key_format));
        out.push(field("Value format", &d.value_format));
        out.push(field(
            "Kafka topic",
            &format!(
                "{} (partitions: {}, replication: {})",
                d.topic, d.partitions, d.replication
            ),
        ));
        if let Some(w) = &d.window_type {
            out.push(field("Window type", w));
        }
        out.push(field("Statement", &d.statement));
        out.push(String::new());
    }
    let mut columns = vec![(
        "ROWTIME".to_string(),
        "BIGINT".to_string(),
        "(system)".to_string(),
    )];
    for c in &d.schema.columns {
        let extra = match &c.kind {
            ColumnKind::Key if d.kind == "TABLE" => "(primary key)".to_string(),
            ColumnKind::Key => "(key)".to_string(),
            ColumnKind::Value => String::new(),
            ColumnKind::Header(None) => "(headers)".to_string(),
            ColumnKind::Header(Some(h)) => format!("(header('{h}'))"),
        };
        columns.push((c.name.clone(), c.ty.to_string(), extra));
    }
    let name_width = columns
        .iter()
        .map(|c| c.0.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    let type_width = columns
        .iter()
        .map(|c| c.1.chars().count())
        .max()
        .unwrap_or(4)
        .max(16);
    let rule = "-".repeat(name_width + type_width + 20);
    out.push(format!(" {:<name_width$} | Type", "Field"));
    out.push(rule.clone());
    for (name, ty, extra) in &columns {
        let line = format!(" {name:<name_width$} | {ty:<type_width$} {extra}");
        out.push(line.trim_end().to_string());
    }
    out.push(rule);
    if !d.extended {
        out.push(
            "For runtime statistics and query details run: DESCRIBE <Stream,Table> EXTENDED;"
                .to_string(),
        );
        return Printed::Text(out.join("\n"));
    }
    let kind = &d.kind;
    for (what, queries) in [
        ("write into", &d.write_queries),
        ("read from", &d.read_queries),
    ] {
        let title = format!("Queries that {what} this {kind}");
        out.push(String::new());
        out.push(title.clone());
        out.push("-".repeat(title.len()));
        for q in queries.iter() {
            out.push(format!("{} : {}", q.id, q.statement));
        }
    }
    out.push(String::new());
    out.push("For query topology and execution plan please run: EXPLAIN <QueryId>".to_string());
    out.push(String::new());
    out.push("Local runtime statistics".to_string());
    out.push("------------------------".to_string());
    let s = &d.statistics;
    out.push(format!(
        "messages-consumed: {} messages-produced: {} processing-errors: {}",
        s.messages_consumed, s.messages_produced, s.processing_errors
    ));
    out.push(format!(
        "(Statistics of the local Sluice process's queries on the topic {})",
        d.topic
    ));
    Printed::Text(out.join("\n"))
}

/// EXPLAIN, in ksqlDB's spirit: the query (id, status, statement), its
/// result fields, the sources it reads and the sinks it writes, then its
/// execution plan, one line per operator, each indented under the operator
/// that reads it.
fn query_description(d: &QueryDescription) -> Printed {
    let mut lines = Vec::new();
    if let Some(id) = &d.id {
        lines.push(format!("ID           : {id}"));
    }
    if let Some(state) = &d.state {
        lines.push(format!("Status       : {state}"));
    }
    if let Some(error) = &d.error {
        lines.push(format!(
            "Error        : {} (last at {})",
            error.message,
            utc_millis(error.at_ms)
        ));
    }
    lines.push(format!("SQL          : {}", d.statement));
    if let Some(w) = &d.window_type {
        lines.push(format!("Window       : {w}"));
    }
    if d.id.is_some() {
        let s = &d.statistics;
        lines.push(format!(
            "Statistics   : consumed {}, produced {}, processing errors {}",
            s.messages_consumed, s.messages_produced, s.processing_errors
        ));
    }
    lines.push(String::new());
    lines.extend(field_lines(d));
    lines.push(String::new());
    lines.push("Sources that this query reads from:".to_string());
    lines.push("-----------------------------------".to_string());
    lines.extend(d.sources.iter().cloned());
    if !d.sinks.is_empty() {
        lines.push(String::new());
        lines.push("Sinks that this query writes to:".to_string());
        lines.push("--------------------------------".to_string());
        for (i, sink) in d.sinks.iter().enumerate() {
            match d.sink_topics.get(i) {
                Some(topic) => lines.push(format!("{sink} (topic {topic})")),
                None => lines.push(sink.clone()),
            }
        }
    }
    if !d.plan.is_empty() {
        lines.push(String::new());
        lines.push("Execution plan".to_string());
        lines.push("--------------".to_string());
        lines.extend(plan_lines(d));
    }
    Printed::Text(lines.join("\n"))
}

/// The result's fields as DESCRIBE lists a source's: name, type, and
/// whether it is a key.
fn field_lines(d: &QueryDescription) -> Vec<String> {
    let name_width = d
        .schema
        .columns
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    let types: Vec<String> = d.schema.columns.iter().map(|c| c.ty.to_string()).collect();
    let type_width = types
        .iter()
        .map(|t| t.chars().count())
        .max()
        .unwrap_or(4)
        .max(16);
    let rule = "-".repeat(name_width + type_width + 20);
    let mut out = vec![format!(" {:<name_width$} | Type", "Field"), rule.clone()];
    for (c, ty) in d.schema.columns.iter().zip(&types) {
        let extra = if c.is_key() { "(key)" } else { "" };
        let line = format!(" {:<name_width$} | {ty:<type_width$} {extra}", c.name);
        out.push(line.trim_end().to_string());
    }
    out.push(rule);
    out
}

/// The plan drawn as a tree: the last operator first, each input indented
/// below the operator that reads it (`> [ Name ] | parameters`).
fn plan_lines(d: &QueryDescription) -> Vec<String> {
    fn walk(d: &QueryDescription, node: usize, depth: usize, out: &mut Vec<String>) {
        let Some(n) = d.plan.get(node) else {
            return;
        };
        let params = if n.description.is_empty() {
            String::new()
        } else {
            format!(" | {}", n.description)
        };
        out.push(format!("{} > [ {} ]{params}", "    ".repeat(depth), n.name));
        for &input in &n.inputs {
            walk(d, input, depth + 1, out);
        }
    }
    // The roots are the nodes no other node reads: the sink (or the last
    // operator), last first.
    let read: std::collections::HashSet<usize> = d
        .plan
        .iter()
        .flat_map(|n| n.inputs.iter().copied())
        .collect();
    let mut out = Vec::new();
    for n in d.plan.iter().rev().filter(|n| !read.contains(&n.id)) {
        walk(d, n.id, 0, &mut out);
    }
    out
}

/// A time in milliseconds since the epoch, as `2026-12-07 17:09:52.286 UTC`.
fn utc_millis(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string(),
        None => ms.to_string(),
    }
}
