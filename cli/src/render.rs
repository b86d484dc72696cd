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
    /// An aligned table.
    Table {
        columns: Vec<String>,
        rows: Vec<Vec<Value>>,
    },
    /// Several parts, one after the other (DESCRIBE EXTENDED of several
    /// sources).
    Many(Vec<Printed>),
    /// Text printed as it is (EXPLAIN).
    Text(String),
}

impl Printed {
    /// The text to print (without a trailing newline), or None.
    pub fn text(&self) -> Option<String> {
        match self {
            Printed::Message(m) if m.is_empty() => None,
            Printed::Message(m) => Some(table::message(m)),
            Printed::Text(t) => Some(t.clone()),
            Printed::Table { columns, rows } => Some(table::render(columns, rows)),
            Printed::Many(parts) => {
                let texts: Vec<String> = parts.iter().filter_map(Printed::text).collect();
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

/// DESCRIBE: the columns, and with EXTENDED the source's details and the
/// queries that read and write it.
fn source_description(d: &SourceDescription) -> Printed {
    let mut rows = vec![vec![s("ROWTIME"), s("BIGINT"), s("(system)")]];
    for c in &d.schema.columns {
        let extra = match &c.kind {
            ColumnKind::Key if d.kind == "TABLE" => "(primary key)".to_string(),
            ColumnKind::Key => "(key)".to_string(),
            ColumnKind::Value => String::new(),
            ColumnKind::Header(None) => "(headers)".to_string(),
            ColumnKind::Header(Some(h)) => format!("(header('{h}'))"),
        };
        rows.push(vec![s(&c.name), s(&c.ty.to_string()), s(&extra)]);
    }
    if d.extended {
        rows.push(vec![s(""), s(""), s("")]);
        rows.push(vec![s("Type"), s(&d.kind), s("")]);
        rows.push(vec![s("Kafka topic"), s(&d.topic), s("")]);
        rows.push(vec![s("Partitions"), s(&d.partitions.to_string()), s("")]);
        rows.push(vec![s("Key format"), s(&d.key_format), s("")]);
        rows.push(vec![s("Value format"), s(&d.value_format), s("")]);
        if let Some(w) = &d.window_type {
            rows.push(vec![s("Window type"), s(w), s("")]);
        }
        if let Some(t) = &d.timestamp {
            rows.push(vec![s("Timestamp field"), s(t), s("")]);
        }
        rows.push(vec![s("Statement"), s(&d.statement), s("")]);
        for q in &d.write_queries {
            rows.push(vec![s("Written by"), s(&q.id), s(&q.statement)]);
        }
        for q in &d.read_queries {
            rows.push(vec![s("Read by"), s(&q.id), s(&q.statement)]);
        }
    }
    Printed::Table {
        columns: names(&["Field", "Type", "Extra"]),
        rows,
    }
}

/// EXPLAIN, in ksqlDB's spirit: the query, its result fields, the sources
/// it reads and the sinks it writes, then its execution plan, one line per
/// operator, each indented under the operator that reads it.
fn query_description(d: &QueryDescription) -> Printed {
    let mut lines = Vec::new();
    if let Some(id) = &d.id {
        lines.push(format!("ID           : {id}"));
    }
    if let Some(state) = &d.state {
        lines.push(format!("Status       : {state}"));
    }
    lines.push(format!("SQL          : {}", d.statement));
    if let Some(w) = &d.window_type {
        lines.push(format!("Window       : {w}"));
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
        lines.push("-----------------------------------".to_string());
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

/// The result's fields as ksqlDB lists them: name, type, and whether it
/// is a key.
fn field_lines(d: &QueryDescription) -> Vec<String> {
    let name_width = d
        .schema
        .columns
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0)
        .max("Field".len());
    let types: Vec<String> = d.schema.columns.iter().map(|c| c.ty.to_string()).collect();
    let type_width = types
        .iter()
        .map(|t| t.chars().count())
        .max()
        .unwrap_or(0)
        .max("Type".len());
    let rule = "-".repeat(name_width + type_width + 12);
    let mut out = vec![format!(" {:<name_width$} | Type", "Field"), rule.clone()];
    for (c, ty) in d.schema.columns.iter().zip(&types) {
        let row = if c.is_key() {
            format!(" {:<name_width$} | {ty:<type_width$}  (key)", c.name)
        } else {
            format!(" {:<name_width$} | {ty}", c.name)
        };
        out.push(row);
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
