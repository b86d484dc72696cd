//! ksqlDB's REST entities (`currentStatus`, `streams`, `sourceDescription`,
//! ...) and query rows turned back into the engine's typed results, so the
//! remote shell prints with the embedded shell's renderer. The inverse of
//! the server's `json` module.

use anyhow::{anyhow, bail, Result};
use serde_json::Value as Json;
use sluice_engine::results::{
    CommandStatus, FunctionDescription, FunctionSummary, PlanNode, Property, QueryDescription,
    QueryFailure, QueryRef, QuerySummary, ResultColumn, RuntimeStats, SourceDescription,
    SourceList, SourceSummary, StatementResult, TopicSummary,
};
use sluice_engine::types::{Column, ColumnKind, Schema, SqlType, Value};

fn text(j: &Json, key: &str) -> String {
    match j.get(key) {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn opt_text(j: &Json, key: &str) -> Option<String> {
    j.get(key).and_then(Json::as_str).map(str::to_string)
}

fn texts(j: &Json, key: &str) -> Vec<String> {
    j.get(key)
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn items<'a>(j: &'a Json, key: &str) -> &'a [Json] {
    j.get(key)
        .and_then(Json::as_array)
        .map_or(&[], Vec::as_slice)
}

/// One entity of a `/ksql` answer as a typed result.
pub fn result(e: &Json) -> Result<StatementResult> {
    let kind = e
        .get("@type")
        .and_then(Json::as_str)
        .ok_or_else(|| anyhow!("the server answered an entity without @type: {e}"))?;
    Ok(match kind {
        "currentStatus" => {
            let status = e.get("commandStatus").cloned().unwrap_or(Json::Null);
            StatementResult::Status(CommandStatus {
                statement: text(e, "statementText"),
                command_id: text(e, "commandId"),
                status: text(&status, "status"),
                message: text(&status, "message"),
                query_id: opt_text(&status, "queryId"),
                sequence_number: e
                    .get("commandSequenceNumber")
                    .and_then(Json::as_i64)
                    .unwrap_or(-1),
                warnings: items(e, "warnings")
                    .iter()
                    .map(|w| text(w, "message"))
                    .collect(),
            })
        }
        "streams" | "tables" => {
            let (list_kind, key) = if kind == "tables" {
                ("TABLE", "tables")
            } else {
                ("STREAM", "streams")
            };
            StatementResult::Sources(SourceList {
                kind: list_kind.to_string(),
                sources: items(e, key)
                    .iter()
                    .map(|s| SourceSummary {
                        name: text(s, "name"),
                        kind: text(s, "type"),
                        topic: text(s, "topic"),
                        key_format: text(s, "keyFormat"),
                        value_format: text(s, "valueFormat"),
                        is_windowed: s.get("isWindowed").and_then(Json::as_bool).unwrap_or(false),
                    })
                    .collect(),
            })
        }
        "sourceDescription" => StatementResult::SourceDescription(source_description(
            e.get("sourceDescription").unwrap_or(&Json::Null),
        )?),
        "source_descriptions" => StatementResult::SourceDescriptions(
            items(e, "sourceDescriptions")
                .iter()
                .map(source_description)
                .collect::<Result<_>>()?,
        ),
        "queries" => StatementResult::Queries(
            items(e, "queries")
                .iter()
                .map(|q| QuerySummary {
                    id: text(q, "id"),
                    query_type: text(q, "queryType"),
                    state: text(q, "state"),
                    error: None,
                    statement: text(q, "queryString"),
                    sinks: texts(q, "sinks"),
                    sink_topics: texts(q, "sinkKafkaTopics"),
                })
                .collect(),
        ),
        "queryDescription" => StatementResult::QueryDescription(query_description(
            e.get("queryDescription").unwrap_or(&Json::Null),
        )?),
        "properties" => StatementResult::Properties(
            items(e, "properties")
                .iter()
                .map(|p| Property {
                    name: text(p, "name"),
                    value: text(p, "value"),
                    scope: text(p, "scope"),
                })
                .collect(),
        ),
        "function_names" => StatementResult::Functions(
            items(e, "functions")
                .iter()
                .map(|f| FunctionSummary {
                    name: text(f, "name"),
                    kind: text(f, "type"),
                    category: text(f, "category"),
                })
                .collect(),
        ),
        "describe_function" => StatementResult::FunctionDescription(FunctionDescription {
            name: text(e, "name"),
            kind: text(e, "type"),
            category: text(e, "category"),
            description: text(e, "description"),
        }),
        "kafka_topics" => StatementResult::Topics(
            items(e, "topics")
                .iter()
                .map(|t| {
                    let replicas = items(t, "replicaInfo");
                    TopicSummary {
                        name: text(t, "name"),
                        partitions: i32::try_from(replicas.len()).unwrap_or(i32::MAX),
                        replicas: replicas
                            .first()
                            .and_then(Json::as_i64)
                            .and_then(|r| i16::try_from(r).ok())
                            .unwrap_or(0),
                    }
                })
                .collect(),
        ),
        "type_list" => StatementResult::Types(
            e.get("types")
                .and_then(Json::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(name, schema)| Ok((name.clone(), schema_type(schema)?)))
                        .collect::<Result<Vec<_>>>()
                })
                .transpose()?
                .unwrap_or_default(),
        ),
        "variables" => StatementResult::Variables(
            items(e, "variables")
                .iter()
                .map(|v| (text(v, "name"), text(v, "value")))
                .collect(),
        ),
        "assert_topic" => StatementResult::AssertTopic {
            topic: text(e, "topicName"),
            exists: e.get("exists").and_then(Json::as_bool).unwrap_or(false),
        },
        other => match super::connectors::result(other, e) {
            Some(r) => r?,
            None => bail!("the server answered an entity this shell does not know: {other}"),
        },
    })
}

/// ksqlDB's schema entity (`type`, `fields`, `memberSchema`,
/// `parameters`) as a type. MAP keys are always strings in its API.
pub fn schema_type(s: &Json) -> Result<SqlType> {
    let name = text(s, "type");
    let member = || schema_type(s.get("memberSchema").unwrap_or(&Json::Null));
    Ok(match name.as_str() {
        "ARRAY" => SqlType::Array(Box::new(member()?)),
        "MAP" => SqlType::Map(Box::new(SqlType::String), Box::new(member()?)),
        "STRUCT" => SqlType::Struct(
            items(s, "fields")
                .iter()
                .map(|f| {
                    Ok((
                        text(f, "name"),
                        schema_type(f.get("schema").unwrap_or(&Json::Null))?,
                    ))
                })
                .collect::<Result<_>>()?,
        ),
        "DECIMAL" => {
            let p = s.get("parameters").unwrap_or(&Json::Null);
            let int = |k: &str| {
                p.get(k)
                    .and_then(Json::as_u64)
                    .and_then(|n| u8::try_from(n).ok())
                    .ok_or_else(|| anyhow!("a DECIMAL schema without its {k}: {s}"))
            };
            SqlType::Decimal(int("precision")?, int("scale")?)
        }
        other => sluice_engine::sql::parse_type(other)
            .map_err(|e| anyhow!("the server sent a type this shell cannot read: {other}: {e}"))?,
    })
}

fn schema(fields: &[Json]) -> Result<Schema> {
    Ok(Schema::new(
        fields
            .iter()
            .map(|f| {
                let kind = if text(f, "type") == "KEY" {
                    ColumnKind::Key
                } else {
                    ColumnKind::Value
                };
                Ok(Column::new(
                    text(f, "name"),
                    schema_type(f.get("schema").unwrap_or(&Json::Null))?,
                    kind,
                ))
            })
            .collect::<Result<_>>()?,
    ))
}

/// `messages-consumed: 3 messages-produced: 2` -> the counters named.
fn counter(stats: &str, name: &str) -> u64 {
    let mut words = stats.split_whitespace();
    while let Some(w) = words.next() {
        if w.trim_end_matches(':') == name {
            return words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        }
    }
    0
}

fn query_refs(j: &Json, key: &str) -> Vec<QueryRef> {
    items(j, key)
        .iter()
        .map(|q| QueryRef {
            id: text(q, "id"),
            statement: text(q, "queryString"),
        })
        .collect()
}

pub(super) fn source_description(d: &Json) -> Result<SourceDescription> {
    let stats = text(d, "statistics");
    let errors = text(d, "errorStats");
    let timestamp = text(d, "timestamp");
    Ok(SourceDescription {
        name: text(d, "name"),
        kind: text(d, "type"),
        schema: schema(items(d, "fields"))?,
        key_format: text(d, "keyFormat"),
        value_format: text(d, "valueFormat"),
        topic: text(d, "topic"),
        partitions: d
            .get("partitions")
            .and_then(Json::as_i64)
            .and_then(|n| i32::try_from(n).ok())
            .unwrap_or(0),
        replication: d
            .get("replication")
            .and_then(Json::as_i64)
            .and_then(|n| i16::try_from(n).ok())
            .unwrap_or(0),
        window_type: opt_text(d, "windowType"),
        timestamp: (!timestamp.is_empty()).then_some(timestamp),
        statement: text(d, "statement"),
        is_source: false,
        key_features: Vec::new(),
        value_features: Vec::new(),
        read_queries: query_refs(d, "readQueries"),
        write_queries: query_refs(d, "writeQueries"),
        statistics: RuntimeStats {
            messages_consumed: counter(&stats, "messages-consumed"),
            messages_produced: counter(&stats, "messages-produced"),
            processing_errors: counter(&errors, "processing-errors"),
            late_records_dropped: 0,
        },
        extended: d.get("extended").and_then(Json::as_bool).unwrap_or(false),
    })
}

/// An `executionPlan` drawn as an indented tree (`> [ Name ] | params`,
/// each input indented below the operator that reads it: four spaces a
/// level as Sluice draws it, or two tabs as ksqlDB does) read back into
/// operators with their edges. Lines that are not operators are skipped.
pub fn plan_tree(text: &str) -> Vec<PlanNode> {
    let mut nodes: Vec<PlanNode> = Vec::new();
    // The operator last seen at each depth, by its index in `nodes`.
    let mut open: Vec<usize> = Vec::new();
    for line in text.lines() {
        let body = line.trim_start();
        let indent = &line[..line.len() - body.len()];
        let depth = indent.matches('\t').count() / 2 + indent.matches(' ').count() / 4;
        let Some(rest) = body.strip_prefix("> [ ") else {
            continue;
        };
        let Some((name, params)) = rest.split_once(" ]") else {
            continue;
        };
        let index = nodes.len();
        open.truncate(depth);
        if let Some(&parent) = open.last() {
            nodes[parent].inputs.push(index);
        }
        open.push(index);
        nodes.push(PlanNode {
            id: index,
            name: name.to_string(),
            description: params.strip_prefix(" | ").unwrap_or(params).to_string(),
            inputs: Vec::new(),
        });
    }
    // The plan lists inputs before the operators that read them: number
    // the operators backwards, so that drawing it again gives the same tree.
    let last = nodes.len().saturating_sub(1);
    let mut plan: Vec<PlanNode> = nodes
        .into_iter()
        .rev()
        .map(|n| PlanNode {
            id: last - n.id,
            inputs: n.inputs.iter().map(|i| last - i).collect(),
            ..n
        })
        .collect();
    plan.sort_by_key(|n| n.id);
    plan
}

/// A query description; its plan read from `executionPlan`'s tree.
fn query_description(d: &Json) -> Result<QueryDescription> {
    let plan = plan_tree(&text(d, "executionPlan"));
    Ok(QueryDescription {
        id: opt_text(d, "id"),
        statement: text(d, "statementText"),
        sources: texts(d, "sources"),
        sinks: texts(d, "sinks"),
        sink_topics: texts(d, "sinkKafkaTopics"),
        schema: schema(items(d, "fields"))?,
        window_type: opt_text(d, "windowType"),
        state: opt_text(d, "state"),
        error: items(d, "queryErrors").first().map(|e| QueryFailure {
            message: text(e, "errorMessage"),
            at_ms: e.get("timestamp").and_then(|t| t.as_i64()).unwrap_or(0),
            attempts: 0,
        }),
        statistics: RuntimeStats::default(),
        plan,
    })
}

/// The columns named in a `/query-stream` header.
pub fn columns(header: &Json) -> Result<Vec<ResultColumn>> {
    let names = texts(header, "columnNames");
    let types = texts(header, "columnTypes");
    if names.len() != types.len() {
        bail!(
            "the server's query header names {} columns but gives {} types",
            names.len(),
            types.len()
        );
    }
    names
        .into_iter()
        .zip(types)
        .map(|(name, ty)| {
            let ty = sluice_engine::sql::parse_type(&ty)
                .map_err(|e| anyhow!("the server sent a type this shell cannot read: {ty}: {e}"))?;
            Ok(ResultColumn {
                name,
                ty,
                key: false,
            })
        })
        .collect()
}

/// One row of `/query-stream` (a JSON array) as values of the columns'
/// types.
pub fn row(j: &Json, columns: &[ResultColumn]) -> Result<Vec<Value>> {
    let cells = j
        .as_array()
        .ok_or_else(|| anyhow!("the server sent a row that is not an array: {j}"))?;
    cells
        .iter()
        .zip(columns)
        .map(|(cell, c)| value(cell, &c.ty))
        .collect()
}

/// A value as the query endpoints write it (DATE, TIME and TIMESTAMP as
/// ISO text, BYTES as base64) back as a typed value.
fn value(j: &Json, ty: &SqlType) -> Result<Value> {
    use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};
    if j.is_null() {
        return Ok(Value::Null);
    }
    let bad = || anyhow!("the server sent {j} for a {ty} value");
    Ok(match (ty, j) {
        (SqlType::Timestamp, Json::String(s)) => Value::Timestamp(
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .map_err(|_| bad())?
                .and_utc()
                .timestamp_millis(),
        ),
        (SqlType::Date, Json::String(s)) => {
            let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad())?;
            let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).ok_or_else(bad)?;
            Value::Date(i32::try_from((date - epoch).num_days()).map_err(|_| bad())?)
        }
        (SqlType::Time, Json::String(s)) => {
            let t = NaiveTime::parse_from_str(s, "%H:%M:%S%.f").map_err(|_| bad())?;
            Value::Time(
                i64::from(t.num_seconds_from_midnight()) * 1000
                    + i64::from(t.nanosecond() / 1_000_000),
            )
        }
        (SqlType::Array(member), Json::Array(items)) => Value::Array(
            items
                .iter()
                .map(|i| value(i, member))
                .collect::<Result<_>>()?,
        ),
        (SqlType::Map(k, v), Json::Object(entries)) => Value::Map(
            entries
                .iter()
                .map(|(key, val)| {
                    let key =
                        sluice_engine::formats::json::json_to_value(&Json::String(key.clone()), k)?;
                    Ok((key, value(val, v)?))
                })
                .collect::<Result<_>>()?,
        ),
        (SqlType::Struct(fields), Json::Object(entries)) => Value::Struct(
            fields
                .iter()
                .map(|(name, fty)| {
                    let v = entries.get(name).unwrap_or(&Json::Null);
                    Ok((name.clone(), value(v, fty)?))
                })
                .collect::<Result<_>>()?,
        ),
        _ => sluice_engine::formats::json::json_to_value(j, ty)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drawn_plan_reads_back_with_its_edges() {
        let node = |id, name: &str, inputs: Vec<usize>| PlanNode {
            id,
            name: name.to_string(),
            description: format!("{name} | params"),
            inputs,
        };
        let d = QueryDescription {
            id: None,
            statement: String::new(),
            sources: Vec::new(),
            sinks: Vec::new(),
            sink_topics: Vec::new(),
            schema: Schema::new(Vec::new()),
            window_type: None,
            state: None,
            error: None,
            statistics: RuntimeStats::default(),
            plan: vec![
                node(0, "Source", vec![]),
                node(1, "Source", vec![]),
                node(2, "Join", vec![0, 1]),
                node(3, "Project", vec![2]),
                node(4, "Sink", vec![3]),
            ],
        };
        let drawn = d.plan_lines().join("\n");
        let back = QueryDescription {
            plan: plan_tree(&drawn),
            ..d.clone()
        };
        assert_eq!(back.plan_lines().join("\n"), drawn);
        let sink = back
            .plan
            .iter()
            .find(|n| n.name == "Sink")
            .map(|n| n.inputs.len());
        assert_eq!(sink, Some(1));
        let join = back.plan.iter().find(|n| n.name == "Join");
        assert_eq!(join.map(|n| n.inputs.len()), Some(2), "{:?}", back.plan);
        // ksqlDB indents with two tabs a level.
        let ksql = " > [ SINK ] | a\n\t\t > [ PROJECT ] | b\n\t\t\t\t > [ SOURCE ] | c";
        let plan = plan_tree(ksql);
        assert_eq!(plan.len(), 3);
        assert_eq!(plan[2].name, "SINK");
        assert_eq!(plan[2].inputs, [1]);
        assert_eq!(plan[1].inputs, [0]);
    }
}
