//! ksqlDB's null-handling functions: COALESCE, IFNULL and NULLIF.
//!
//! Their arguments share one generic type; this file also holds the
//! common-type rules (`common_type`) and the value conversion (`convert`)
//! that the collection functions use for their generic parameters.
//! AS_VALUE is not here: the planner handles it.

use super::math::{arg, widen_decimal};
use super::{no_signature, FunctionRegistry, Resolved};
use crate::error::Result;
use crate::types::{SqlType, Value};

const CATEGORY: &str = "OTHER";

/// Registers this family's functions.
pub fn register(reg: &mut FunctionRegistry) {
    reg.add(
        "COALESCE",
        CATEGORY,
        "Returns the first non-null argument; all arguments must share a type.",
        resolve_coalesce,
    );
    reg.add(
        "IFNULL",
        CATEGORY,
        "Returns the first argument, or the second when the first is null.",
        resolve_ifnull,
    );
    reg.add(
        "NULLIF",
        CATEGORY,
        "Returns null when both arguments are equal, otherwise the first.",
        resolve_nullif,
    );
}

/// The type both `a` and `b` convert to without loss of meaning: NULL
/// takes the other side, numbers widen INT -> BIGINT -> DECIMAL -> DOUBLE,
/// collections widen element-wise and structs merge their fields. None when
/// the types have nothing in common.
pub(crate) fn common_type(a: &SqlType, b: &SqlType) -> Option<SqlType> {
    use SqlType::*;
    match (a, b) {
        (Null, t) | (t, Null) => Some(t.clone()),
        (a, b) if a == b => Some(a.clone()),
        (Int, BigInt) | (BigInt, Int) => Some(BigInt),
        (Int | BigInt | Decimal(..), Int | BigInt | Decimal(..)) => widen_decimal(a, b),
        (Int | BigInt | Decimal(..) | Double, Int | BigInt | Decimal(..) | Double) => Some(Double),
        (Array(x), Array(y)) => Some(Array(Box::new(common_type(x, y)?))),
        (Map(ka, va), Map(kb, vb)) => Some(Map(
            Box::new(common_type(ka, kb)?),
            Box::new(common_type(va, vb)?),
        )),
        (Struct(fa), Struct(fb)) => {
            let mut fields = fa.clone();
            for (name, t) in fb {
                match fields.iter_mut().find(|(n, _)| n == name) {
                    Some((_, existing)) => *existing = common_type(existing, t)?,
                    None => fields.push((name.clone(), t.clone())),
                }
            }
            Some(Struct(fields))
        }
        _ => None,
    }
}

/// The common type of all `types`, or None when some pair has none.
pub(crate) fn common_of<'a>(types: impl IntoIterator<Item = &'a SqlType>) -> Option<SqlType> {
    types
        .into_iter()
        .try_fold(SqlType::Null, |acc, t| common_type(&acc, t))
}

/// Converts a value of some type to `target`, a type `common_type` chose
/// for it: numbers widen (decimals to the target scale), collections and
/// structs convert their members. Anything else is returned unchanged.
pub(crate) fn convert(value: &Value, target: &SqlType) -> Value {
    match (target, value) {
        (_, Value::Null) => Value::Null,
        (SqlType::BigInt, Value::Int(i)) => Value::BigInt(*i as i64),
        (SqlType::Double, v @ (Value::Int(_) | Value::BigInt(_) | Value::Decimal(_))) => {
            v.as_f64().map_or(Value::Null, Value::Double)
        }
        (SqlType::Decimal(_, s), v @ (Value::Int(_) | Value::BigInt(_) | Value::Decimal(_))) => v
            .as_decimal()
            .and_then(|d| d.rescale(*s))
            .map_or_else(|| v.clone(), Value::Decimal),
        (SqlType::Array(t), Value::Array(items)) => {
            Value::Array(items.iter().map(|v| convert(v, t)).collect())
        }
        (SqlType::Map(kt, vt), Value::Map(entries)) => Value::Map(
            entries
                .iter()
                .map(|(k, v)| (convert(k, kt), convert(v, vt)))
                .collect(),
        ),
        (SqlType::Struct(fields), Value::Struct(values)) => Value::Struct(
            fields
                .iter()
                .map(|(name, t)| {
                    let v = values
                        .iter()
                        .find(|(n, _)| n == name)
                        .map_or(Value::Null, |(_, v)| convert(v, t));
                    (name.clone(), v)
                })
                .collect(),
        ),
        (_, v) => v.clone(),
    }
}

fn resolve_coalesce(args: &[SqlType]) -> Result<Resolved> {
    if args.is_empty() {
        return Err(no_signature("COALESCE", args));
    }
    let ret = common_of(args).ok_or_else(|| no_signature("COALESCE", args))?;
    let target = ret.clone();
    Ok(Resolved::new(ret, move |v| {
        Ok(v.iter()
            .find(|x| !x.is_null())
            .map_or(Value::Null, |x| convert(x, &target)))
    }))
}

fn resolve_ifnull(args: &[SqlType]) -> Result<Resolved> {
    let ret = match args {
        [a, b] => common_type(a, b),
        _ => None,
    }
    .ok_or_else(|| no_signature("IFNULL", args))?;
    let target = ret.clone();
    Ok(Resolved::new(ret, move |v| {
        let first = arg(v, 0);
        let chosen = if first.is_null() { arg(v, 1) } else { first };
        Ok(convert(chosen, &target))
    }))
}

fn resolve_nullif(args: &[SqlType]) -> Result<Resolved> {
    let ret = match args {
        [a, b] => common_type(a, b),
        _ => None,
    }
    .ok_or_else(|| no_signature("NULLIF", args))?;
    let target = ret.clone();
    Ok(Resolved::new(ret, move |v| {
        let (first, second) = (arg(v, 0), arg(v, 1));
        if first.is_null() || (!second.is_null() && first.sql_eq(second)) {
            Ok(Value::Null)
        } else {
            Ok(convert(first, &target))
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Decimal;

    fn call(name: &str, types: &[SqlType], values: &[Value]) -> (SqlType, Value) {
        let r = FunctionRegistry::global().resolve(name, types).unwrap();
        let v = (r.eval)(values).unwrap();
        (r.return_type, v)
    }

    #[test]
    fn coalesce_picks_first_non_null_in_common_type() {
        let types = [SqlType::Null, SqlType::Int, SqlType::BigInt];
        let (t, v) = call(
            "COALESCE",
            &types,
            &[Value::Null, Value::Int(3), Value::BigInt(4)],
        );
        assert_eq!(t, SqlType::BigInt);
        assert!(matches!(v, Value::BigInt(3)));
        let (t, v) = call("COALESCE", &[SqlType::Int], &[Value::Null]);
        assert_eq!((t, v), (SqlType::Int, Value::Null));
        let reg = FunctionRegistry::global();
        let err = reg.resolve("COALESCE", &[]).err().unwrap();
        assert!(err
            .to_string()
            .contains("'COALESCE' does not accept parameters ()"));
        assert!(reg
            .resolve("COALESCE", &[SqlType::Int, SqlType::String])
            .is_err());
        let arrays = [
            SqlType::Array(Box::new(SqlType::Int)),
            SqlType::Array(Box::new(SqlType::Decimal(3, 1))),
        ];
        let (t, v) = call(
            "COALESCE",
            &arrays,
            &[Value::Array(vec![Value::Int(7)]), Value::Null],
        );
        assert_eq!(t, SqlType::Array(Box::new(SqlType::Decimal(11, 1))));
        assert_eq!(v.to_string(), "[7.0]");
    }

    #[test]
    fn ifnull_and_nullif() {
        let types = [SqlType::Int, SqlType::Int];
        assert_eq!(
            call("IFNULL", &types, &[Value::Null, Value::Int(10)]).1,
            Value::Int(10)
        );
        assert_eq!(
            call("IFNULL", &types, &[Value::Int(1), Value::Int(10)]).1,
            Value::Int(1)
        );
        assert_eq!(
            call("NULLIF", &types, &[Value::Int(1), Value::Int(1)]).1,
            Value::Null
        );
        assert_eq!(
            call("NULLIF", &types, &[Value::Int(1), Value::Null]).1,
            Value::Int(1)
        );
        let mixed = [SqlType::Decimal(3, 1), SqlType::Int];
        let d = Value::Decimal(Decimal::parse("2.0").unwrap());
        let (t, v) = call("NULLIF", &mixed, &[d, Value::Int(2)]);
        assert_eq!((t, v), (SqlType::Decimal(11, 1), Value::Null));
    }

    #[test]
    fn struct_common_type_merges_fields() {
        let a = SqlType::Struct(vec![
            ("X".into(), SqlType::Int),
            ("Y".into(), SqlType::BigInt),
        ]);
        let b = SqlType::Struct(vec![
            ("Y".into(), SqlType::Int),
            ("Z".into(), SqlType::BigInt),
        ]);
        let c = common_type(&a, &b).unwrap();
        assert_eq!(c.to_string(), "STRUCT<X INTEGER, Y BIGINT, Z BIGINT>");
        let v = Value::Struct(vec![
            ("Y".into(), Value::Int(30)),
            ("Z".into(), Value::BigInt(40)),
        ]);
        assert_eq!(convert(&v, &c).to_string(), "Struct{Y=30,Z=40}");
    }
}
