//! Runtime values: one enum for every ksqlDB type, with ksqlDB's ordering,
//! equality and text rendering.

use super::datetime_text::{format_date, format_time, format_timestamp};
use super::{Decimal, SqlType};
use std::cmp::Ordering;
use std::fmt;

/// A single SQL value. Rows are `Vec<Value>` laid out by a [`super::Schema`].
#[derive(Debug, Clone, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i32),
    BigInt(i64),
    Double(f64),
    Decimal(Decimal),
    String(String),
    Bytes(Vec<u8>),
    /// Days since the Unix epoch.
    Date(i32),
    /// Milliseconds since midnight.
    Time(i64),
    /// Milliseconds since the Unix epoch, UTC.
    Timestamp(i64),
    Array(Vec<Value>),
    /// Entries in insertion order; keys are unique.
    Map(Vec<(Value, Value)>),
    /// Field values in the order of the struct type's fields, with names.
    Struct(Vec<(String, Value)>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Integral values widened to i64.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v as i64),
            Value::BigInt(v) => Some(*v),
            _ => None,
        }
    }

    /// Any numeric value as a double.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(v) => Some(*v as f64),
            Value::BigInt(v) => Some(*v as f64),
            Value::Double(v) => Some(*v),
            Value::Decimal(d) => Some(d.to_f64()),
            _ => None,
        }
    }

    /// Any exact numeric value as a decimal.
    pub fn as_decimal(&self) -> Option<Decimal> {
        match self {
            Value::Int(v) => Some(Decimal::from_i64(*v as i64)),
            Value::BigInt(v) => Some(Decimal::from_i64(*v)),
            Value::Decimal(d) => Some(*d),
            Value::Double(v) => Decimal::from_f64(*v),
            _ => None,
        }
    }

    /// The value's natural type, as far as it can tell from itself.
    pub fn natural_type(&self) -> SqlType {
        match self {
            Value::Null => SqlType::Null,
            Value::Bool(_) => SqlType::Boolean,
            Value::Int(_) => SqlType::Int,
            Value::BigInt(_) => SqlType::BigInt,
            Value::Double(_) => SqlType::Double,
            Value::Decimal(d) => SqlType::Decimal(d.precision(), d.scale),
            Value::String(_) => SqlType::String,
            Value::Bytes(_) => SqlType::Bytes,
            Value::Date(_) => SqlType::Date,
            Value::Time(_) => SqlType::Time,
            Value::Timestamp(_) => SqlType::Timestamp,
            Value::Array(items) => SqlType::Array(Box::new(
                items
                    .iter()
                    .find(|v| !v.is_null())
                    .map(Value::natural_type)
                    .unwrap_or(SqlType::Null),
            )),
            Value::Map(entries) => {
                let (k, v) = entries
                    .first()
                    .map(|(k, v)| (k.natural_type(), v.natural_type()))
                    .unwrap_or((SqlType::String, SqlType::Null));
                SqlType::Map(Box::new(k), Box::new(v))
            }
            Value::Struct(fields) => SqlType::Struct(
                fields
                    .iter()
                    .map(|(n, v)| (n.clone(), v.natural_type()))
                    .collect(),
            ),
        }
    }

    /// Looks up a map entry by key.
    pub fn map_get(&self, key: &Value) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.sql_eq(key)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// SQL equality between two non-null values, comparing numbers by value
    /// across numeric types. Nulls compare equal to each other here; callers
    /// apply three-valued logic themselves.
    pub fn sql_eq(&self, other: &Value) -> bool {
        self.sql_cmp(other) == Some(Ordering::Equal)
    }

    /// SQL ordering: numbers by value across types, strings by code point,
    /// None where the two values cannot be compared.
    pub fn sql_cmp(&self, other: &Value) -> Option<Ordering> {
        use Value::*;
        match (self, other) {
            (Null, Null) => Some(Ordering::Equal),
            (Null, _) | (_, Null) => None,
            (Bool(a), Bool(b)) => Some(a.cmp(b)),
            (Int(a), Int(b)) => Some(a.cmp(b)),
            (Int(_) | BigInt(_), Int(_) | BigInt(_)) => Some(self.as_i64()?.cmp(&other.as_i64()?)),
            (Decimal(_), Int(_) | BigInt(_) | Decimal(_)) | (Int(_) | BigInt(_), Decimal(_)) => {
                Some(self.as_decimal()?.cmp(&other.as_decimal()?))
            }
            (Double(_), _) | (_, Double(_))
                if self.as_f64().is_some() && other.as_f64().is_some() =>
            {
                self.as_f64()?.partial_cmp(&other.as_f64()?)
            }
            (String(a), String(b)) => Some(a.cmp(b)),
            (Bytes(a), Bytes(b)) => Some(a.cmp(b)),
            (Date(a), Date(b)) => Some(a.cmp(b)),
            (Time(a), Time(b)) => Some(a.cmp(b)),
            (Timestamp(a), Timestamp(b)) => Some(a.cmp(b)),
            (Array(a), Array(b)) => {
                for (x, y) in a.iter().zip(b.iter()) {
                    match x.sql_cmp(y)? {
                        Ordering::Equal => continue,
                        o => return Some(o),
                    }
                }
                Some(a.len().cmp(&b.len()))
            }
            (Map(a), Map(b)) => {
                if a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| other.map_get(k).is_some_and(|w| w.sql_eq(v)))
                {
                    Some(Ordering::Equal)
                } else {
                    None
                }
            }
            (Struct(a), Struct(b)) => {
                if a.len() != b.len() {
                    return None;
                }
                for ((_, x), (_, y)) in a.iter().zip(b.iter()) {
                    match x.sql_cmp(y)? {
                        Ordering::Equal => continue,
                        o => return Some(o),
                    }
                }
                Some(Ordering::Equal)
            }
            _ => None,
        }
    }

    /// A total order for sorting and de-duplicating (nulls first).
    pub fn total_cmp(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => Ordering::Less,
            (_, Value::Null) => Ordering::Greater,
            _ => self
                .sql_cmp(other)
                .unwrap_or_else(|| self.to_string().cmp(&other.to_string())),
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.total_cmp(other) == Ordering::Equal
    }
}

fn fmt_double(f: &mut fmt::Formatter<'_>, v: f64) -> fmt::Result {
    // Java prints doubles with at least one fractional digit and switches to
    // exponent form outside [1e-3, 1e7).
    if v.is_nan() {
        return f.write_str("NaN");
    }
    if v.is_infinite() {
        return f.write_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    }
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e7).contains(&a) {
        let s = format!("{v:E}");
        let (m, e) = s.split_once('E').unwrap_or((&s, "0"));
        let m = if m.contains('.') {
            m.to_string()
        } else {
            format!("{m}.0")
        };
        return write!(f, "{m}E{e}");
    }
    if v.fract() == 0.0 {
        write!(f, "{v:.1}")
    } else {
        write!(f, "{v}")
    }
}

impl fmt::Display for Value {
    /// ksqlDB's text rendering of a value, as its CLI and string casts show it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(v) => write!(f, "{v}"),
            Value::BigInt(v) => write!(f, "{v}"),
            Value::Double(v) => fmt_double(f, *v),
            Value::Decimal(d) => write!(f, "{d}"),
            Value::String(s) => f.write_str(s),
            Value::Bytes(b) => {
                use base64::Engine as _;
                f.write_str(&base64::engine::general_purpose::STANDARD.encode(b))
            }
            Value::Date(d) => write!(f, "{}", format_date(*d)),
            Value::Time(t) => write!(f, "{}", format_time(*t)),
            Value::Timestamp(t) => write!(f, "{}", format_timestamp(*t)),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}={v}")?;
                }
                f.write_str("}")
            }
            Value::Struct(fields) => {
                f.write_str("Struct{")?;
                let mut first = true;
                for (n, v) in fields.iter() {
                    if v.is_null() {
                        continue;
                    }
                    if !first {
                        f.write_str(",")?;
                    }
                    first = false;
                    write!(f, "{n}={v}")?;
                }
                f.write_str("}")
            }
        }
    }
}
