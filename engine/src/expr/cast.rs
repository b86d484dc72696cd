//! ksqlDB's CAST: which casts it supports, and casting one value.

use crate::error::{Error, Result};
use crate::types::{Decimal, SqlType, Value};

/// ksqlDB's CAST between two types, for one value.
pub fn cast_value(v: Value, to: &SqlType) -> Result<Value> {
    use crate::functions::datetime as dt;
    if v.is_null() {
        return Ok(Value::Null);
    }
    Ok(match (to, v) {
        (SqlType::String, Value::String(s)) => Value::String(s),
        (SqlType::String, v) => Value::String(v.to_string()),
        (SqlType::Boolean, Value::Bool(b)) => Value::Bool(b),
        (SqlType::Boolean, Value::String(s)) => {
            // ksqlDB accepts any non-empty prefix of true/yes/false/no.
            let t = s.trim().to_ascii_lowercase();
            let prefix_of = |w: &str| !t.is_empty() && w.starts_with(t.as_str());
            if prefix_of("true") || prefix_of("yes") {
                Value::Bool(true)
            } else if prefix_of("false") || prefix_of("no") {
                Value::Bool(false)
            } else {
                return Err(Error::eval(format!("Cannot cast '{s}' to BOOLEAN")));
            }
        }
        (SqlType::Int, v) => match v {
            Value::Int(i) => Value::Int(i),
            Value::BigInt(i) => Value::Int(i as i32),
            Value::Double(d) => Value::Int(d as i32),
            Value::Decimal(d) => Value::Int(d.trunc_i128() as i32),
            Value::String(s) => Value::Int(parse_int(&s)?),
            other => return Err(Error::eval(format!("Cannot cast {other} to INT"))),
        },
        (SqlType::BigInt, v) => match v {
            Value::Int(i) => Value::BigInt(i as i64),
            Value::BigInt(i) => Value::BigInt(i),
            Value::Double(d) => Value::BigInt(d as i64),
            Value::Decimal(d) => Value::BigInt(d.trunc_i128() as i64),
            Value::String(s) => Value::BigInt(
                s.trim()
                    .parse::<i64>()
                    .map_err(|_| Error::eval(format!("Cannot cast '{s}' to BIGINT")))?,
            ),
            Value::Timestamp(t) => Value::BigInt(t),
            other => return Err(Error::eval(format!("Cannot cast {other} to BIGINT"))),
        },
        (SqlType::Double, v) => match v {
            Value::String(s) => Value::Double(
                s.trim()
                    .parse::<f64>()
                    .map_err(|_| Error::eval(format!("Cannot cast '{s}' to DOUBLE")))?,
            ),
            other => match other.as_f64() {
                Some(d) => Value::Double(d),
                None => return Err(Error::eval(format!("Cannot cast {other} to DOUBLE"))),
            },
        },
        (SqlType::Decimal(p, s), v) => {
            let d = match v {
                Value::String(text) => Decimal::parse(&text)
                    .ok_or_else(|| Error::eval(format!("Cannot cast '{text}' to DECIMAL")))?,
                other => other
                    .as_decimal()
                    .ok_or_else(|| Error::eval(format!("Cannot cast {other} to DECIMAL")))?,
            };
            Value::Decimal(d.fit(*p, *s).ok_or_else(|| {
                Error::eval(format!(
                    "Cannot fit decimal '{d}' into DECIMAL({p}, {s}) without rounding."
                ))
            })?)
        }
        (SqlType::Timestamp, v) => match v {
            Value::Timestamp(t) => Value::Timestamp(t),
            Value::Date(d) => Value::Timestamp(d as i64 * 86_400_000),
            Value::String(s) => Value::Timestamp(
                dt::parse_timestamp_text(&s)
                    .ok_or_else(|| Error::eval(format!("Cannot cast '{s}' to TIMESTAMP")))?,
            ),
            other => return Err(Error::eval(format!("Cannot cast {other} to TIMESTAMP"))),
        },
        (SqlType::Date, v) => match v {
            Value::Date(d) => Value::Date(d),
            Value::Timestamp(t) => Value::Date(t.div_euclid(86_400_000) as i32),
            Value::String(s) => Value::Date(
                dt::parse_date_text(&s)
                    .ok_or_else(|| Error::eval(format!("Cannot cast '{s}' to DATE")))?,
            ),
            other => return Err(Error::eval(format!("Cannot cast {other} to DATE"))),
        },
        (SqlType::Time, v) => match v {
            Value::Time(t) => Value::Time(t),
            Value::Timestamp(t) => Value::Time(t.rem_euclid(86_400_000)),
            Value::String(s) => Value::Time(
                dt::parse_time_text(&s)
                    .ok_or_else(|| Error::eval(format!("Cannot cast '{s}' to TIME")))?,
            ),
            other => return Err(Error::eval(format!("Cannot cast {other} to TIME"))),
        },
        (SqlType::Bytes, Value::Bytes(b)) => Value::Bytes(b),
        (SqlType::Array(t), Value::Array(items)) => Value::Array(
            items
                .into_iter()
                .map(|v| cast_value(v, t))
                .collect::<Result<_>>()?,
        ),
        (SqlType::Map(kt, vt), Value::Map(entries)) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| Ok((cast_value(k, kt)?, cast_value(v, vt)?)))
                .collect::<Result<_>>()?,
        ),
        (SqlType::Struct(fields), Value::Struct(values)) => Value::Struct(
            fields
                .iter()
                .map(|(n, t)| {
                    let v = values
                        .iter()
                        .find(|(vn, _)| vn == n)
                        .map(|(_, v)| v.clone())
                        .unwrap_or(Value::Null);
                    Ok((n.clone(), cast_value(v, t)?))
                })
                .collect::<Result<_>>()?,
        ),
        (to, v) => return Err(Error::eval(format!("Cannot cast {v} to {to}"))),
    })
}

fn parse_int(s: &str) -> Result<i32> {
    s.trim()
        .parse::<i32>()
        .map_err(|_| Error::eval(format!("Cannot cast '{s}' to INT")))
}

/// True when ksqlDB's CAST supports `from` to `to` at all.
pub fn cast_supported(from: &SqlType, to: &SqlType) -> bool {
    use SqlType::*;
    match (from, to) {
        (Null, _) | (_, String) => true,
        (a, b) if a == b => true,
        (Boolean, Boolean) => true,
        (String, Boolean | Int | BigInt | Double | Decimal(..) | Timestamp | Date | Time) => true,
        (a, Int | BigInt | Double | Decimal(..)) if a.is_numeric() => true,
        (Timestamp, BigInt) => true,
        (Timestamp | Date, Timestamp | Date) => true,
        (Timestamp, Time) => true,
        (Array(a), Array(b)) => cast_supported(a, b),
        (Map(ka, va), Map(kb, vb)) => cast_supported(ka, kb) && cast_supported(va, vb),
        (Struct(_), Struct(_)) => true,
        _ => false,
    }
}
