//! Statements that describe: SHOW/LIST, DESCRIBE, EXPLAIN and ASSERT.

use super::{prop_int, EngineInner};
use crate::catalog::QueryState;
use crate::error::{Error, Result};
use crate::plan::planner::plan_query;
use crate::sql::ast::*;
use crate::types::{ColumnKind, Value};
use crate::{RowSet, StatementResult};

impl EngineInner {
    pub(super) fn show(&self, what: &ShowWhat, extended: bool) -> Result<StatementResult> {
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
                for n in crate::plan::table_function_names() {
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

    pub(super) fn describe(
        &self,
        target: &DescribeTarget,
        extended: bool,
    ) -> Result<StatementResult> {
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

    pub(super) fn describe_function(&self, name: &str) -> Result<StatementResult> {
        let s = |v: &str| Value::String(v.to_string());
        let upper = name.to_ascii_uppercase();
        let (kind, category, description) =
            match crate::functions::FunctionRegistry::global().get(&upper) {
                Some(f) => ("SCALAR", f.category, f.description),
                None if crate::plan::is_aggregate(&upper) => (
                    "AGGREGATE",
                    "AGGREGATE",
                    crate::functions::aggregate::AggregateRegistry::global()
                        .get(&upper)
                        .map(|f| f.description)
                        .unwrap_or("An aggregate function"),
                ),
                None if crate::plan::table_function_names().contains(&upper.as_str()) => (
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

    pub(super) fn explain(&self, target: &ExplainTarget) -> Result<StatementResult> {
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

    pub(super) fn assert(&self, a: &AssertStatement) -> Result<StatementResult> {
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
}
