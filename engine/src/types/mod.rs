//! ksqlDB's type system: SQL types, runtime values and row schemas. A leaf:
//! everything else builds on these, they depend on nothing in the engine.

pub mod datetime_text;
mod decimal;
mod schema;
mod value;

pub use decimal::Decimal;
pub use schema::{Column, ColumnKind, Schema};
pub use value::Value;

use crate::error::{Error, Result};
use std::fmt;

/// A ksqlDB SQL type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SqlType {
    Boolean,
    Int,
    BigInt,
    Double,
    /// DECIMAL(precision, scale).
    Decimal(u8, u8),
    String,
    Bytes,
    Date,
    Time,
    Timestamp,
    Array(Box<SqlType>),
    /// MAP<key, value>; ksqlDB keys are strings, but any primitive is allowed.
    Map(Box<SqlType>, Box<SqlType>),
    /// STRUCT<name type, ...>; field names keep their case.
    Struct(Vec<(String, SqlType)>),
    /// A type declared with CREATE TYPE, by name; the catalog resolves it.
    Custom(String),
    /// The type of an untyped NULL literal; coerces to anything.
    Null,
    /// A lambda's parameter before inference, used only inside the planner.
    Any,
}

impl SqlType {
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            SqlType::Int | SqlType::BigInt | SqlType::Double | SqlType::Decimal(..)
        )
    }
    pub fn is_integral(&self) -> bool {
        matches!(self, SqlType::Int | SqlType::BigInt)
    }

    /// The DECIMAL type that holds every value of an integral type exactly.
    pub fn as_decimal(&self) -> Option<SqlType> {
        match self {
            SqlType::Int => Some(SqlType::Decimal(10, 0)),
            SqlType::BigInt => Some(SqlType::Decimal(19, 0)),
            SqlType::Decimal(p, s) => Some(SqlType::Decimal(*p, *s)),
            _ => None,
        }
    }

    /// The field of a struct type, found case-sensitively first, then
    /// ignoring case.
    pub fn struct_field(&self, name: &str) -> Option<(usize, &SqlType)> {
        let SqlType::Struct(fields) = self else {
            return None;
        };
        fields
            .iter()
            .position(|(n, _)| n == name)
            .or_else(|| {
                fields
                    .iter()
                    .position(|(n, _)| n.eq_ignore_ascii_case(name))
            })
            .map(|i| (i, &fields[i].1))
    }
}

/// Replaces `SqlType::Custom` names (recursively) using `types`.
pub fn resolve_custom(ty: &SqlType, types: &[(String, SqlType)]) -> Result<SqlType> {
    Ok(match ty {
        SqlType::Custom(name) => types
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, t)| t.clone())
            .ok_or_else(|| Error::plan(format!("Unknown type: {name}")))?,
        SqlType::Array(t) => SqlType::Array(Box::new(resolve_custom(t, types)?)),
        SqlType::Map(k, v) => SqlType::Map(
            Box::new(resolve_custom(k, types)?),
            Box::new(resolve_custom(v, types)?),
        ),
        SqlType::Struct(fields) => SqlType::Struct(
            fields
                .iter()
                .map(|(n, t)| Ok((n.clone(), resolve_custom(t, types)?)))
                .collect::<Result<_>>()?,
        ),
        other => other.clone(),
    })
}

/// Writes a name, quoting it with backticks when it would not read back as
/// the same identifier unquoted.
pub fn fmt_ident(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    if needs_quotes(name) {
        write!(f, "`{}`", name.replace('`', "``"))
    } else {
        f.write_str(name)
    }
}

/// True when `name` must be quoted to read back unchanged: it is not an
/// upper-case identifier, or it is a reserved word.
pub fn needs_quotes(name: &str) -> bool {
    let mut chars = name.chars();
    let ok_start = matches!(chars.next(), Some(c) if c.is_ascii_uppercase() || c == '_');
    let ok_rest = name
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '@' || c == '$');
    !(ok_start && ok_rest) || is_reserved(name)
}

/// Words that must be quoted to be used as identifiers: ksqlDB's reserved
/// words that the parser gives structure to. ksqlDB's non-reserved keywords
/// (`KEY`, `VALUE`, `TYPE`, `DATE`, `TOPIC`, `SOURCE`, `PARTITION`, `MAP`...)
/// can name columns and sources unquoted.
pub fn is_reserved(word: &str) -> bool {
    const RESERVED: &[&str] = &[
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "AS", "BY", "GROUP", "HAVING", "WINDOW",
        "JOIN", "LEFT", "RIGHT", "FULL", "OUTER", "INNER", "CROSS", "ON", "WITHIN", "LIMIT",
        "CREATE", "INSERT", "INTO", "VALUES", "TRUE", "FALSE", "NULL", "CASE", "WHEN", "THEN",
        "ELSE", "END", "CAST", "IS", "IN", "LIKE", "BETWEEN", "WITH", "TABLE", "STREAM", "DROP",
        "EXISTS", "DISTINCT",
    ];
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlType::Boolean => f.write_str("BOOLEAN"),
            SqlType::Int => f.write_str("INTEGER"),
            SqlType::BigInt => f.write_str("BIGINT"),
            SqlType::Double => f.write_str("DOUBLE"),
            SqlType::Decimal(p, s) => write!(f, "DECIMAL({p}, {s})"),
            SqlType::String => f.write_str("STRING"),
            SqlType::Bytes => f.write_str("BYTES"),
            SqlType::Date => f.write_str("DATE"),
            SqlType::Time => f.write_str("TIME"),
            SqlType::Timestamp => f.write_str("TIMESTAMP"),
            SqlType::Array(t) => write!(f, "ARRAY<{t}>"),
            SqlType::Map(k, v) => write!(f, "MAP<{k}, {v}>"),
            SqlType::Struct(fields) => {
                f.write_str("STRUCT<")?;
                for (i, (n, t)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    fmt_ident(f, n)?;
                    write!(f, " {t}")?;
                }
                f.write_str(">")
            }
            SqlType::Custom(name) => fmt_ident(f, name),
            SqlType::Null => f.write_str("NULL"),
            SqlType::Any => f.write_str("ANY"),
        }
    }
}
