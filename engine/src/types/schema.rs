//! Logical schemas of streams and tables: named, typed columns, each in the
//! record's key, its value, or its headers.

use super::{fmt_ident, SqlType};
use std::fmt;

/// Where a column's data lives in a record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ColumnKind {
    /// Part of the record key (KEY, or PRIMARY KEY for tables).
    Key,
    /// Part of the record value.
    Value,
    /// All headers (`HEADERS`, an ARRAY<STRUCT<KEY STRING, VALUE BYTES>>), or
    /// one header's last value (`HEADER('name')`, BYTES).
    Header(Option<String>),
}

/// One column of a source.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Column {
    pub name: String,
    pub ty: SqlType,
    pub kind: ColumnKind,
}

impl Column {
    pub fn new(name: impl Into<String>, ty: SqlType, kind: ColumnKind) -> Self {
        Column {
            name: name.into(),
            ty,
            kind,
        }
    }
    pub fn is_key(&self) -> bool {
        self.kind == ColumnKind::Key
    }
}

/// An ordered list of columns; keys first by convention.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct Schema {
    pub columns: Vec<Column>,
}

impl Schema {
    pub fn new(columns: Vec<Column>) -> Self {
        Schema { columns }
    }

    pub fn find(&self, name: &str) -> Option<(usize, &Column)> {
        self.columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == name)
    }

    pub fn keys(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.is_key())
    }

    pub fn values(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.kind == ColumnKind::Value)
    }

    pub fn key_indexes(&self) -> Vec<usize> {
        (0..self.columns.len())
            .filter(|i| self.columns[*i].is_key())
            .collect()
    }

    pub fn value_indexes(&self) -> Vec<usize> {
        (0..self.columns.len())
            .filter(|i| self.columns[*i].kind == ColumnKind::Value)
            .collect()
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_ident(f, &self.name)?;
        write!(f, " {}", self.ty)?;
        match &self.kind {
            ColumnKind::Key => f.write_str(" KEY"),
            ColumnKind::Value => Ok(()),
            ColumnKind::Header(None) => f.write_str(" HEADERS"),
            ColumnKind::Header(Some(h)) => write!(f, " HEADER('{}')", h.replace('\'', "''")),
        }
    }
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.columns.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}
