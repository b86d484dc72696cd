//! Typed statement results as ksqlDB's REST entities (`currentStatus`,
//! `streams`, `sourceDescription`, ...), and values, rows and schemas as
//! ksqlDB's query endpoints write them.

use serde_json::{json, Map, Value as Json};
use sluice_engine::results::{
    CommandStatus, QueryDescription, QueryRef, QuerySummary, SourceDescription, SourceList,
};
use sluice_engine::types::{datetime_text, Column, SqlType, Value};
use sluice_engine::{ResultColumn, StatementResult};

/// The entity `/ksql` answers for one statement's result; None for results
/// ksqlDB answers with no entity (SET, DEFINE, INSERT VALUES, ...).
pub fn entity(statement: &str, result: &StatementResult) -> Option<Json> {
    let warnings = Json::Array(Vec::new());
    Some(match result {
        StatementResult::Status(status) => current_status(statement, status),
        StatementResult::Message(_) => return None,
        StatementResult::Sources(list) => source_list(statement, list),
        StatementResult::SourceDescriptions(descs) => json!({
            "@type": "source_descriptions",
            "statementText": statement,
            "sourceDescriptions": descs.iter().map(source_description).collect::<Vec<_>>(),
            "warnings": warnings,
        }),
        StatementResult::SourceDescription(desc) => json!({
            "@type": "sourceDescription",
            "statementText": statement,
            "sourceDescription": source_description(desc),
            "warnings": warnings,
        }),
        StatementResult::Queries(queries) => json!({
            "@type": "queries",
            "statementText": statement,
            "queries": queries.iter().map(query_summary).collect::<Vec<_>>(),
            "warnings": warnings,
        }),
        StatementResult::QueryDescription(desc) => json!({
            "@type": "queryDescription",
            "statementText": statement,
            "queryDescription": query_description(desc),
            "warnings": warnings,
        }),
        StatementResult::Properties(props) => json!({
            "@type": "properties",
            "statementText": statement,
            "properties": props.iter().map(|p| json!({
                "name": p.name, "scope": p.scope, "value": p.value,
            })).collect::<Vec<_>>(),
            "overwrittenProperties": [],
            "defaultProperties": [],
            "warnings": warnings,
        }),
        StatementResult::Functions(funcs) => json!({
            "@type": "function_names",
            "statementText": statement,
            "functions": funcs.iter().map(|f| json!({
                "name": f.name, "type": f.kind, "category": f.category,
            })).collect::<Vec<_>>(),
            "warnings": warnings,
        }),
        StatementResult::FunctionDescription(f) => json!({
            "@type": "describe_function",
            "statementText": statement,
            "name": f.name,
            "description": f.description,
            "author": "",
            "version": "",
            "path": "internal",
            "functions": [],
            "type": f.kind,
            // Sluice's addition beside ksqlDB's fields: the function's
            // category, as SHOW FUNCTIONS lists it.
            "category": f.category,
            "warnings": warnings,
        }),
        StatementResult::Topics(topics) => json!({
            "@type": "kafka_topics",
            "statementText": statement,
            "topics": topics.iter().map(|t| json!({
                "name": t.name,
                "replicaInfo": vec![t.replicas; usize::try_from(t.partitions).unwrap_or(0)],
            })).collect::<Vec<_>>(),
            "warnings": warnings,
        }),
        StatementResult::Types(types) => {
            let mut map = Map::new();
            for (name, ty) in types {
                map.insert(name.clone(), schema_info(ty));
            }
            json!({
                "@type": "type_list",
                "statementText": statement,
                "types": map,
                "warnings": warnings,
            })
        }
        StatementResult::Variables(vars) => json!({
            "@type": "variables",
            "statementText": statement,
            "variables": vars.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>(),
            "warnings": warnings,
        }),
        StatementResult::AssertTopic { topic, exists } => json!({
            "@type": "assert_topic",
            "statementText": statement,
            "topicName": topic,
            "exists": exists,
            "warnings": warnings,
        }),
        StatementResult::ConnectorInfo(info) => json!({
            "@type": "connector_info",
            "statementText": statement,
            "info": crate::connect::info_json(info),
            "warnings": warnings,
        }),
        StatementResult::Connectors(list) => json!({
            "@type": "connector_list",
            "statementText": statement,
            "warnings": warnings,
            "connectors": list.iter().map(|c| json!({
                "name": c.name, "type": c.kind, "className": c.class, "state": c.state,
            })).collect::<Vec<_>>(),
        }),
        StatementResult::ConnectorDescription(d) => json!({
            "@type": "connector_description",
            "statementText": statement,
            "connectorClass": d.class,
            "status": crate::connect::status_json(&d.status),
            "sources": d.sources.iter().map(source_description).collect::<Vec<_>>(),
            "topics": d.topics,
            "warnings": warnings,
            // Sluice's additions beside ksqlDB's fields.
            "deliveryGuarantee": d.delivery,
            "committedOffset": d.offset,
            "recordsMoved": d.records,
        }),
        StatementResult::DropConnector(name) => json!({
            "@type": "drop_connector",
            "statementText": statement,
            "connectorName": name,
            "warnings": warnings,
        }),
        StatementResult::Warning(message) => json!({
            "@type": "warning_entity",
            "statementText": statement,
            "message": message,
            "warnings": warnings,
        }),
        // Queries are not entities: the query endpoints stream them.
        StatementResult::Rows(_) | StatementResult::Push(_) | StatementResult::Print(_) => {
            return None
        }
    })
}

/// `currentStatus`: what a statement that changed the catalog did.
fn current_status(statement: &str, s: &CommandStatus) -> Json {
    let text = if s.statement.is_empty() {
        statement
    } else {
        &s.statement
    };
    json!({
        "@type": "currentStatus",
        "statementText": text,
        "commandId": s.command_id,
        "commandStatus": {
            "status": s.status,
            "message": s.message,
            "queryId": s.query_id,
        },
        "commandSequenceNumber": s.sequence_number,
        "warnings": s.warnings.iter().map(|w| json!({"message": w})).collect::<Vec<_>>(),
    })
}

/// `streams` or `tables`.
fn source_list(statement: &str, list: &SourceList) -> Json {
    let (kind, key) = if list.kind == "TABLE" {
        ("tables", "tables")
    } else {
        ("streams", "streams")
    };
    let items: Vec<Json> = list
        .sources
        .iter()
        .map(|s| {
            json!({
                "type": s.kind,
                "name": s.name,
                "topic": s.topic,
                "keyFormat": s.key_format,
                "valueFormat": s.value_format,
                "isWindowed": s.is_windowed,
            })
        })
        .collect();
    let mut out = Map::new();
    out.insert("@type".into(), kind.into());
    out.insert("statementText".into(), statement.into());
    out.insert(key.into(), Json::Array(items));
    out.insert("warnings".into(), Json::Array(Vec::new()));
    Json::Object(out)
}

/// A running query as a description names it (`readQueries`, ...).
fn query_ref(q: &QueryRef, sinks: &[String], sink_topics: &[String]) -> Json {
    json!({
        "queryString": q.statement,
        "sinks": sinks,
        "sinkKafkaTopics": sink_topics,
        "id": q.id,
        "statusCount": {"RUNNING": 1},
        "queryType": "PERSISTENT",
        "state": "RUNNING",
    })
}

/// One field of a description: name, schema and `KEY` for key columns.
fn field(c: &Column) -> Json {
    let mut f = Map::new();
    f.insert("name".into(), c.name.clone().into());
    f.insert("schema".into(), schema_info(&c.ty));
    if c.is_key() {
        f.insert("type".into(), "KEY".into());
    }
    Json::Object(f)
}

/// The body of `sourceDescription`.
pub(crate) fn source_description(d: &SourceDescription) -> Json {
    let statistics = if d.extended {
        format!(
            "messages-consumed: {} messages-produced: {}",
            d.statistics.messages_consumed, d.statistics.messages_produced
        )
    } else {
        String::new()
    };
    let error_stats = if d.extended && d.statistics.processing_errors > 0 {
        format!("processing-errors: {}", d.statistics.processing_errors)
    } else {
        String::new()
    };
    json!({
        "name": d.name,
        "windowType": d.window_type,
        "readQueries": d.read_queries.iter().map(|q| query_ref(q, &[], &[])).collect::<Vec<_>>(),
        "writeQueries": d.write_queries.iter()
            .map(|q| query_ref(q, std::slice::from_ref(&d.name), std::slice::from_ref(&d.topic)))
            .collect::<Vec<_>>(),
        "fields": d.schema.columns.iter().map(field).collect::<Vec<_>>(),
        "type": d.kind,
        "timestamp": d.timestamp.clone().unwrap_or_default(),
        "statistics": statistics,
        "errorStats": error_stats,
        "extended": d.extended,
        "keyFormat": d.key_format,
        "valueFormat": d.value_format,
        "topic": d.topic,
        "partitions": d.partitions,
        "replication": d.replication,
        "statement": d.statement,
        "queryOffsetSummaries": [],
        "sourceConstraints": [],
        "clusterStatistics": [],
        "clusterErrorStats": [],
    })
}

/// One line of `queries`.
fn query_summary(q: &QuerySummary) -> Json {
    json!({
        "queryString": q.statement,
        "sinks": q.sinks,
        "sinkKafkaTopics": q.sink_topics,
        "id": q.id,
        "statusCount": {q.state.clone(): 1},
        "queryType": q.query_type,
        "state": q.state,
    })
}

/// The body of `queryDescription`.
fn query_description(d: &QueryDescription) -> Json {
    // ksqlDB's executionPlan is the plan drawn as an indented tree; its
    // edges are read back from the indentation.
    let plan = d.plan_lines();
    json!({
        "id": d.id,
        "statementText": d.statement,
        "windowType": d.window_type,
        "fields": d.schema.columns.iter().map(field).collect::<Vec<_>>(),
        "sources": d.sources,
        "sinks": d.sinks,
        "sinkKafkaTopics": d.sink_topics,
        "topology": "",
        "executionPlan": plan.join("\n"),
        "overriddenProperties": {},
        "ksqlHostQueryStatus": {},
        "queryType": if d.id.is_some() { "PERSISTENT" } else { "PUSH" },
        // ksqlDB's QueryError: when, what, and its kind (the engine does
        // not tell user errors from system ones).
        "queryErrors": d
            .error
            .iter()
            .map(|e| json!({"timestamp": e.at_ms, "errorMessage": e.message, "type": "UNKNOWN"}))
            .collect::<Vec<_>>(),
        "tasksMetadata": [],
        "state": d.state,
        // Sluice's additions beside ksqlDB's fields, for the console: the
        // operator graph with its edges, and the counters as numbers.
        "sluicePlan": d
            .plan
            .iter()
            .map(|n| json!({
                "id": n.id,
                "name": n.name,
                "description": n.description,
                "inputs": n.inputs,
            }))
            .collect::<Vec<_>>(),
        "sluiceStatistics": {
            "messagesConsumed": d.statistics.messages_consumed,
            "messagesProduced": d.statistics.messages_produced,
            "processingErrors": d.statistics.processing_errors,
            "lateRecordsDropped": d.statistics.late_records_dropped,
        },
    })
}

/// ksqlDB's schema entity for a type: `type`, `fields` (STRUCT),
/// `memberSchema` (ARRAY, MAP values), `parameters` (DECIMAL).
pub fn schema_info(ty: &SqlType) -> Json {
    let (name, fields, member) = match ty {
        SqlType::Array(m) => ("ARRAY".to_string(), Json::Null, schema_info(m)),
        SqlType::Map(_, v) => ("MAP".to_string(), Json::Null, schema_info(v)),
        SqlType::Struct(fs) => (
            "STRUCT".to_string(),
            fs.iter()
                .map(|(n, t)| json!({"name": n, "schema": schema_info(t)}))
                .collect(),
            Json::Null,
        ),
        SqlType::Decimal(p, s) => {
            return json!({
                "type": "DECIMAL", "fields": null, "memberSchema": null,
                "parameters": {"precision": p, "scale": s},
            })
        }
        other => (other.to_string(), Json::Null, Json::Null),
    };
    json!({"type": name, "fields": fields, "memberSchema": member})
}

/// A value as ksqlDB's query endpoints write it: DATE, TIME and TIMESTAMP
/// as ISO text, BYTES as base64, DECIMAL as a number.
pub fn value(v: &Value) -> Json {
    match v {
        Value::Date(d) => Json::String(datetime_text::format_date(*d)),
        Value::Time(t) => Json::String(datetime_text::format_time(*t)),
        Value::Timestamp(t) => Json::String(datetime_text::format_timestamp(*t)),
        Value::Array(items) => Json::Array(items.iter().map(value).collect()),
        Value::Map(entries) => {
            let mut m = Map::new();
            for (k, v) in entries {
                let key = match k {
                    Value::String(s) => s.clone(),
                    other => match value(other) {
                        Json::String(s) => s,
                        j => j.to_string(),
                    },
                };
                m.insert(key, value(v));
            }
            Json::Object(m)
        }
        Value::Struct(fields) => {
            Json::Object(fields.iter().map(|(n, v)| (n.clone(), value(v))).collect())
        }
        other => sluice_engine::formats::json::value_to_json(other),
    }
}

/// A row as a JSON array of its values.
pub fn row(values: &[Value]) -> Json {
    Json::Array(values.iter().map(value).collect())
}

/// ksqlDB's schema text for a query's header: `` `ID` STRING KEY, `N` INTEGER``
/// (key columns marked only when `mark_keys`, as for pull queries over
/// tables, whose window bounds `WINDOWSTART` and `WINDOWEND` are part of
/// a windowed table's key).
pub fn schema_text(columns: &[ResultColumn], mark_keys: bool) -> String {
    columns
        .iter()
        .map(|c| {
            let window_bound =
                c.ty == SqlType::BigInt && (c.name == "WINDOWSTART" || c.name == "WINDOWEND");
            let key = if mark_keys && (c.key || window_bound) {
                " KEY"
            } else {
                ""
            };
            format!("{} {}{key}", quoted(&c.name), type_text(&c.ty))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn quoted(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A type as ksqlDB writes it in a header: struct fields quoted
/// (`` STRUCT<`F1` STRING> ``).
fn type_text(ty: &SqlType) -> String {
    match ty {
        SqlType::Array(t) => format!("ARRAY<{}>", type_text(t)),
        SqlType::Map(k, v) => format!("MAP<{}, {}>", type_text(k), type_text(v)),
        SqlType::Struct(fields) => format!(
            "STRUCT<{}>",
            fields
                .iter()
                .map(|(n, t)| format!("{} {}", quoted(n), type_text(t)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_answers_current_status() {
        let mut s = CommandStatus::success("stream", "S", "create", "Stream created");
        s.statement = "CREATE STREAM S (ID STRING) WITH (kafka_topic='s');".into();
        s.sequence_number = 2;
        let e = entity("ignored", &StatementResult::Status(s)).expect("an entity");
        assert_eq!(
            e.to_string(),
            r#"{"@type":"currentStatus","statementText":"CREATE STREAM S (ID STRING) WITH (kafka_topic='s');","commandId":"stream/`S`/create","commandStatus":{"status":"SUCCESS","message":"Stream created","queryId":null},"commandSequenceNumber":2,"warnings":[]}"#
        );
    }

    #[test]
    fn messages_have_no_entity() {
        assert!(entity("INSERT ...;", &StatementResult::Message(String::new())).is_none());
    }

    #[test]
    fn values_and_schemas() {
        assert_eq!(
            value(&Value::Timestamp(1)),
            json!("1970-01-01T00:00:00.001")
        );
        assert_eq!(row(&[Value::Int(1), Value::Null]), json!([1, null]));
        let cols = vec![
            ResultColumn {
                name: "ID".into(),
                ty: SqlType::String,
                key: true,
            },
            ResultColumn {
                name: "N".into(),
                ty: SqlType::Int,
                key: false,
            },
        ];
        assert_eq!(schema_text(&cols, true), "`ID` STRING KEY, `N` INTEGER");
        assert_eq!(schema_text(&cols, false), "`ID` STRING, `N` INTEGER");
        let nested = vec![
            ResultColumn {
                name: "WINDOWSTART".into(),
                ty: SqlType::BigInt,
                key: false,
            },
            ResultColumn {
                name: "S".into(),
                ty: SqlType::Array(Box::new(SqlType::Struct(vec![(
                    "F1".into(),
                    SqlType::String,
                )]))),
                key: false,
            },
        ];
        assert_eq!(
            schema_text(&nested, true),
            "`WINDOWSTART` BIGINT KEY, `S` ARRAY<STRUCT<`F1` STRING>>"
        );
        assert_eq!(
            schema_info(&SqlType::Array(Box::new(SqlType::Int))),
            json!({"type": "ARRAY", "fields": null, "memberSchema": {"type": "INTEGER", "fields": null, "memberSchema": null}})
        );
    }
}
