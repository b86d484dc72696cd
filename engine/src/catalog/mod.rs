//! The catalog: streams and tables (their columns, topic and formats),
//! custom types, and the persistent queries that feed them. What is here is
//! rebuilt at start by replaying the metastore (`metastore.rs`).

pub mod metastore;

use crate::error::{Error, Result};
use crate::formats::FormatSpec;
use crate::sql::ast::SourceKind;
use crate::types::{resolve_custom, Schema, SqlType};
use std::collections::BTreeMap;

/// How event time is taken from a source's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampSpec {
    /// The column holding event time.
    pub column: String,
    /// A Java-style pattern when the column is a STRING.
    pub format: Option<String>,
}

/// The windowing of a windowed source's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowInfo {
    Tumbling { size: i64 },
    Hopping { size: i64, advance: i64 },
    Session,
}

impl WindowInfo {
    /// ksqlDB's name for the window type.
    pub fn type_name(&self) -> &'static str {
        match self {
            WindowInfo::Tumbling { .. } => "TUMBLING",
            WindowInfo::Hopping { .. } => "HOPPING",
            WindowInfo::Session => "SESSION",
        }
    }

    /// The length of a time window; None for sessions.
    pub fn size(&self) -> Option<i64> {
        match self {
            WindowInfo::Tumbling { size } | WindowInfo::Hopping { size, .. } => Some(*size),
            WindowInfo::Session => None,
        }
    }
}

/// A stream or table.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub kind: SourceKind,
    pub schema: Schema,
    pub topic: String,
    pub key_format: FormatSpec,
    pub value_format: FormatSpec,
    pub timestamp: Option<TimestampSpec>,
    /// CREATE SOURCE STREAM/TABLE: read-only, no INSERT.
    pub is_source: bool,
    /// The statement that created it.
    pub sql: String,
    /// The persistent query writing into it (CSAS/CTAS), if any.
    pub created_by: Option<String>,
    /// Windowed keys (windowed aggregations, or WINDOW_TYPE in WITH).
    pub window: Option<WindowInfo>,
}

impl Source {
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            SourceKind::Stream => "STREAM",
            SourceKind::Table => "TABLE",
        }
    }
}

/// What a persistent query is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryState {
    Running,
    Paused,
    Error,
}

/// A persistent query as the catalog lists it.
#[derive(Debug, Clone)]
pub struct QueryInfo {
    pub id: String,
    pub sql: String,
    /// The source it writes to.
    pub sink: String,
    pub sink_topic: String,
    /// The sources it reads.
    pub sources: Vec<String>,
    pub state: QueryState,
}

/// Every named thing the engine knows.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    sources: BTreeMap<String, Source>,
    types: BTreeMap<String, SqlType>,
    queries: BTreeMap<String, QueryInfo>,
}

impl Catalog {
    pub fn source(&self, name: &str) -> Result<&Source> {
        self.sources
            .get(name)
            .ok_or_else(|| Error::not_found(format!("{name} does not exist.")))
    }

    pub fn find_source(&self, name: &str) -> Option<&Source> {
        self.sources.get(name)
    }

    pub fn sources(&self) -> impl Iterator<Item = &Source> {
        self.sources.values()
    }

    /// Sources reading from or writing to `topic`.
    pub fn sources_on_topic<'a>(&'a self, topic: &'a str) -> impl Iterator<Item = &'a Source> + 'a {
        self.sources.values().filter(move |s| s.topic == topic)
    }

    pub fn add_source(&mut self, source: Source) {
        self.sources.insert(source.name.clone(), source);
    }

    pub fn remove_source(&mut self, name: &str) -> Option<Source> {
        self.sources.remove(name)
    }

    pub fn add_type(&mut self, name: &str, ty: SqlType) {
        self.types.insert(name.to_string(), ty);
    }

    pub fn remove_type(&mut self, name: &str) -> Option<SqlType> {
        self.types.remove(name)
    }

    pub fn types(&self) -> &BTreeMap<String, SqlType> {
        &self.types
    }

    /// Custom types as (name, type) pairs, for expression scopes.
    pub fn type_list(&self) -> Vec<(String, SqlType)> {
        self.types
            .iter()
            .map(|(n, t)| (n.clone(), t.clone()))
            .collect()
    }

    /// Replaces custom type names in `ty` with their definitions.
    pub fn resolve_type(&self, ty: &SqlType) -> Result<SqlType> {
        resolve_custom(ty, &self.type_list())
    }

    pub fn add_query(&mut self, q: QueryInfo) {
        self.queries.insert(q.id.clone(), q);
    }

    pub fn remove_query(&mut self, id: &str) -> Option<QueryInfo> {
        self.queries.remove(id)
    }

    pub fn query(&self, id: &str) -> Option<&QueryInfo> {
        self.queries.get(id)
    }

    pub fn query_mut(&mut self, id: &str) -> Option<&mut QueryInfo> {
        self.queries.get_mut(id)
    }

    pub fn queries(&self) -> impl Iterator<Item = &QueryInfo> {
        self.queries.values()
    }

    /// Queries that read `source`.
    pub fn readers_of<'a>(&'a self, source: &'a str) -> impl Iterator<Item = &'a QueryInfo> + 'a {
        self.queries
            .values()
            .filter(move |q| q.sources.iter().any(|s| s == source))
    }
}
