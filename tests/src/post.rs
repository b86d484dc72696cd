//! The `post` checks of a case: the sources the run must leave behind (type,
//! schema, formats, features) and the topics that must or must not exist.

use crate::case::{PostChecks, SourceCheck};
use regex::Regex;
use sluice_engine::error::Pos;
use sluice_engine::log::Log;
use sluice_engine::sql::ast::{ColumnConstraint, Statement};
use sluice_engine::sql::parser;
use sluice_engine::types::{Column, ColumnKind, Schema};
use sluice_engine::Engine;

/// Runs every `post` check; the first that fails gives the reason.
pub fn check(engine: &Engine, log: &dyn Log, post: &PostChecks) -> Result<(), String> {
    for source in &post.sources {
        check_source(engine, source)?;
    }
    if let Some(pattern) = &post.topic_blacklist {
        let re = Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| format!("post: bad blacklist regex {pattern}: {e}"))?;
        let topics = log.list_topics().map_err(|e| format!("post: log: {e}"))?;
        if let Some(t) = topics.iter().find(|t| re.is_match(&t.name)) {
            return Err(format!(
                "post: topic {} exists but matches the blacklist {pattern}",
                t.name
            ));
        }
    }
    for topic in &post.topics {
        let info = log
            .describe_topic(&topic.name)
            .map_err(|e| format!("post: log: {e}"))?
            .ok_or_else(|| {
                let internal: Vec<String> = log
                    .list_topics()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| t.name)
                    .filter(|n| n.starts_with("_confluent-ksql-") && !n.ends_with("_command_topic"))
                    .collect();
                format!(
                    "post: topic {} does not exist (internal topics: [{}])",
                    topic.name,
                    internal.join(", ")
                )
            })?;
        if let Some(p) = topic.partitions {
            if p != info.partitions {
                return Err(format!(
                    "post: topic {} has {} partitions, expected {p}",
                    topic.name, info.partitions
                ));
            }
        }
    }
    Ok(())
}

fn check_source(engine: &Engine, check: &SourceCheck) -> Result<(), String> {
    let name = &check.name;
    let desc = engine
        .describe_source(name)
        .or_else(|| engine.describe_source(&name.to_uppercase()))
        .ok_or_else(|| format!("post: source {name} does not exist"))?;
    if let Some(kind) = &check.kind {
        if !kind.eq_ignore_ascii_case(&desc.kind) {
            return Err(format!(
                "post: source {name} is a {}, expected a {kind}",
                desc.kind
            ));
        }
    }
    if let Some(text) = &check.schema {
        let expected = parse_schema(text)
            .map_err(|e| format!("post: source {name}: cannot parse expected schema: {e}"))?;
        if !same_columns(&expected, &desc.schema) {
            return Err(format!(
                "post: source {name} has schema `{}`, expected `{text}`",
                desc.schema
            ));
        }
    }
    for (what, expected, actual) in [
        ("key format", &check.key_format, &desc.key_format),
        ("value format", &check.value_format, &desc.value_format),
    ] {
        if let Some(e) = expected {
            if !e.eq_ignore_ascii_case(actual) {
                return Err(format!(
                    "post: source {name} has {what} {actual}, expected {e}"
                ));
            }
        }
    }
    for (what, expected, actual) in [
        ("key features", &check.key_features, &desc.key_features),
        (
            "value features",
            &check.value_features,
            &desc.value_features,
        ),
    ] {
        if let Some(e) = expected {
            if normalized(e) != normalized(actual) {
                return Err(format!(
                    "post: source {name} has {what} {actual:?}, expected {e:?}"
                ));
            }
        }
    }
    if let Some(is_source) = check.is_source {
        if is_source != desc.is_source {
            return Err(format!(
                "post: source {name} has isSource={}, expected {is_source}",
                desc.is_source
            ));
        }
    }
    Ok(())
}

fn normalized(features: &[String]) -> Vec<String> {
    let mut v: Vec<String> = features.iter().map(|f| f.to_ascii_uppercase()).collect();
    v.sort();
    v
}

/// Parses a schema such as `` ID INT KEY, `v` STRING `` (or with
/// `PRIMARY KEY`) with the engine's parser, by wrapping it in a CREATE
/// statement.
pub fn parse_schema(text: &str) -> Result<Schema, String> {
    if text.trim().is_empty() {
        return Ok(Schema::default());
    }
    let mut first_error = None;
    for kind in ["STREAM", "TABLE"] {
        let sql = format!(
            "CREATE {kind} QTT_SCHEMA_CHECK ({text}) WITH (kafka_topic='qtt_schema_check', value_format='JSON');"
        );
        match parser::parse_statement(&sql, Pos::default()) {
            Ok(Statement::CreateSource(create)) => {
                let columns = create
                    .elements
                    .into_iter()
                    .map(|e| {
                        let kind = match e.constraint {
                            ColumnConstraint::Key | ColumnConstraint::PrimaryKey => ColumnKind::Key,
                            ColumnConstraint::None => ColumnKind::Value,
                            ColumnConstraint::Headers => ColumnKind::Header(None),
                            ColumnConstraint::Header(h) => ColumnKind::Header(Some(h)),
                        };
                        Column::new(e.name, e.ty, kind)
                    })
                    .collect();
                return Ok(Schema::new(columns));
            }
            Ok(_) => return Err("not a column list".into()),
            Err(e) => {
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    Err(first_error.unwrap_or_default())
}

/// Same key columns in order and same other columns in order.
pub fn same_columns(expected: &Schema, actual: &Schema) -> bool {
    fn split(s: &Schema) -> (Vec<&Column>, Vec<&Column>) {
        s.columns.iter().partition(|c| c.is_key())
    }
    split(expected) == split(actual)
}
