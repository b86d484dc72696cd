//! ksqlDB's collection functions over ARRAY and MAP values: the ARRAY_*
//! family, SLICE, GENERATE_SERIES, AS_MAP, MAP_KEYS, MAP_VALUES, MAP_UNION
//! and ENTRIES.
//!
//! Generic parameters (an array's element type and a value compared with
//! it, two arrays combined) resolve to their common type, and results carry
//! it exactly: ARRAY_MAX(ARRAY<INT>) is INT, ARRAY_UNION(ARRAY<INT>,
//! ARRAY<BIGINT>) is ARRAY<BIGINT>. Element equality is SQL equality with
//! NULL equal to NULL, as Java's `equals` treats them. The constructors
//! (ARRAY[...], MAP(...)) and the lambda functions belong to the planner
//! and the evaluator.

use super::math::{arg, natural_cmp};
use super::nulls::{common_type, convert};
use super::{accepts, no_signature, FunctionRegistry, Resolved};
use crate::error::{Error, Result};
use crate::types::{SqlType, Value};
use std::cmp::Ordering;

const ARRAY: &str = "ARRAY";
const MAP: &str = "MAP";

/// Registers this family's functions.
pub fn register(reg: &mut FunctionRegistry) {
    reg.add(
        "ARRAY_CONTAINS",
        ARRAY,
        "Returns true if the array is non-null and contains the supplied value.",
        resolve_array_contains,
    );
    reg.add(
        "ARRAY_DISTINCT",
        ARRAY,
        "Returns the distinct elements of an array, in order of first occurrence.",
        resolve_array_distinct,
    );
    reg.add(
        "ARRAY_EXCEPT",
        ARRAY,
        "Returns the distinct elements of the first array that are not in the second.",
        |a| resolve_set_op("array_except", a, SetOp::Except),
    );
    reg.add(
        "ARRAY_INTERSECT",
        ARRAY,
        "Returns the distinct elements present in both arrays, in the first array's order.",
        |a| resolve_set_op("array_intersect", a, SetOp::Intersect),
    );
    reg.add(
        "ARRAY_UNION",
        ARRAY,
        "Returns the distinct elements of both arrays, in the order they are encountered.",
        |a| resolve_set_op("array_union", a, SetOp::Union),
    );
    reg.add(
        "ARRAY_CONCAT",
        ARRAY,
        "Concatenates two arrays; a NULL array counts as empty unless both are NULL.",
        resolve_array_concat,
    );
    reg.add(
        "ARRAY_JOIN",
        ARRAY,
        "Joins the elements of an array of primitives into a string, separated by the \
         delimiter (default ',').",
        resolve_array_join,
    );
    reg.add(
        "ARRAY_LENGTH",
        ARRAY,
        "Returns the number of elements in an array.",
        resolve_array_length,
    );
    reg.add(
        "ARRAY_MAX",
        ARRAY,
        "Returns the largest non-null element of an array of primitives.",
        |a| resolve_array_extreme("array_max", a, Ordering::Greater),
    );
    reg.add(
        "ARRAY_MIN",
        ARRAY,
        "Returns the smallest non-null element of an array of primitives.",
        |a| resolve_array_extreme("array_min", a, Ordering::Less),
    );
    reg.add(
        "ARRAY_REMOVE",
        ARRAY,
        "Removes every element equal to the given value from an array.",
        resolve_array_remove,
    );
    reg.add(
        "ARRAY_SORT",
        ARRAY,
        "Sorts an array of primitives in natural order, ASC (default) or DESC; NULLs go last.",
        resolve_array_sort,
    );
    reg.add(
        "SLICE",
        ARRAY,
        "Returns the elements from index `from` to index `to`, 1-based and inclusive.",
        resolve_slice,
    );
    reg.add(
        "GENERATE_SERIES",
        ARRAY,
        "Returns an array of the values from start to end inclusive, by step (default 1 or -1).",
        resolve_generate_series,
    );
    reg.add(
        "AS_MAP",
        MAP,
        "Builds a map from an array of keys and an array of values.",
        resolve_as_map,
    );
    reg.add(
        "MAP_KEYS",
        MAP,
        "Returns an array of a map's keys.",
        resolve_map_keys,
    );
    reg.add(
        "MAP_VALUES",
        MAP,
        "Returns an array of a map's values.",
        resolve_map_values,
    );
    reg.add(
        "MAP_UNION",
        MAP,
        "Returns the union of two maps; the second map's value wins for a shared key.",
        resolve_map_union,
    );
    reg.add(
        "ENTRIES",
        MAP,
        "Returns a map's entries as an array of STRUCT<K STRING, V ...>, optionally sorted by key.",
        resolve_entries,
    );
}

/// The element type of an ARRAY argument; an untyped NULL has element type
/// NULL.
fn element_type(t: &SqlType) -> Option<SqlType> {
    match t {
        SqlType::Array(e) => Some((**e).clone()),
        SqlType::Null => Some(SqlType::Null),
        _ => None,
    }
}

/// The key and value types of a MAP argument.
fn map_types(t: &SqlType) -> Option<(SqlType, SqlType)> {
    match t {
        SqlType::Map(k, v) => Some(((**k).clone(), (**v).clone())),
        SqlType::Null => Some((SqlType::String, SqlType::Null)),
        _ => None,
    }
}

fn is_primitive(t: &SqlType) -> bool {
    !matches!(t, SqlType::Array(_) | SqlType::Map(..) | SqlType::Struct(_))
}

/// Java `equals` between elements: NULL equals NULL, otherwise SQL
/// equality.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        _ => a.sql_eq(b),
    }
}

fn items(v: &Value) -> Option<&[Value]> {
    match v {
        Value::Array(items) => Some(items),
        _ => None,
    }
}

fn entries(v: &Value) -> Option<&[(Value, Value)]> {
    match v {
        Value::Map(entries) => Some(entries),
        _ => None,
    }
}

/// Appends `v` unless an equal element is already present.
fn push_distinct(out: &mut Vec<Value>, v: Value) {
    if !out.iter().any(|x| same(x, &v)) {
        out.push(v);
    }
}

fn resolve_array_contains(args: &[SqlType]) -> Result<Resolved> {
    let ok = match args {
        [a, v] => element_type(a).and_then(|e| common_type(&e, v)).is_some(),
        _ => false,
    };
    if !ok {
        return Err(no_signature("ARRAY_CONTAINS", args));
    }
    Ok(Resolved::new(SqlType::Boolean, |v| {
        let needle = arg(v, 1);
        let found = items(arg(v, 0)).is_some_and(|xs| xs.iter().any(|x| same(x, needle)));
        Ok(Value::Bool(found))
    }))
}

fn resolve_array_distinct(args: &[SqlType]) -> Result<Resolved> {
    let [a] = args else {
        return Err(no_signature("array_distinct", args));
    };
    let elem = element_type(a).ok_or_else(|| no_signature("array_distinct", args))?;
    Ok(Resolved::new(SqlType::Array(Box::new(elem)), |v| {
        Ok(match items(arg(v, 0)) {
            Some(xs) => {
                let mut out = Vec::new();
                for x in xs {
                    push_distinct(&mut out, x.clone());
                }
                Value::Array(out)
            }
            None => Value::Null,
        })
    }))
}

#[derive(Clone, Copy)]
enum SetOp {
    Except,
    Intersect,
    Union,
}

/// The common element type of two array arguments.
fn two_arrays(name: &str, args: &[SqlType]) -> Result<SqlType> {
    match args {
        [a, b] => element_type(a)
            .zip(element_type(b))
            .and_then(|(x, y)| common_type(&x, &y)),
        _ => None,
    }
    .ok_or_else(|| no_signature(name, args))
}

fn resolve_set_op(name: &str, args: &[SqlType], op: SetOp) -> Result<Resolved> {
    let elem = two_arrays(name, args)?;
    let target = elem.clone();
    Ok(Resolved::new(SqlType::Array(Box::new(elem)), move |v| {
        let (Some(left), Some(right)) = (items(arg(v, 0)), items(arg(v, 1))) else {
            return Ok(Value::Null);
        };
        let mut out = Vec::new();
        let conv = |x: &Value| convert(x, &target);
        match op {
            SetOp::Except => left
                .iter()
                .filter(|x| !right.iter().any(|y| same(x, y)))
                .for_each(|x| push_distinct(&mut out, conv(x))),
            SetOp::Intersect => left
                .iter()
                .filter(|x| right.iter().any(|y| same(x, y)))
                .for_each(|x| push_distinct(&mut out, conv(x))),
            SetOp::Union => left
                .iter()
                .chain(right.iter())
                .for_each(|x| push_distinct(&mut out, conv(x))),
        }
        Ok(Value::Array(out))
    }))
}

fn resolve_array_concat(args: &[SqlType]) -> Result<Resolved> {
    let elem = two_arrays("array_concat", args)?;
    let target = SqlType::Array(Box::new(elem));
    let ret = target.clone();
    Ok(Resolved::new(ret, move |v| {
        let (left, right) = (items(arg(v, 0)), items(arg(v, 1)));
        if left.is_none() && right.is_none() {
            return Ok(Value::Null);
        }
        let all: Vec<Value> = left.into_iter().chain(right).flatten().cloned().collect();
        Ok(convert(&Value::Array(all), &target))
    }))
}

fn resolve_array_join(args: &[SqlType]) -> Result<Resolved> {
    let ok = match args {
        [a] => element_type(a).is_some(),
        [a, d] => element_type(a).is_some() && accepts(&SqlType::String, d),
        _ => false,
    };
    if !ok {
        return Err(no_signature("ARRAY_JOIN", args));
    }
    let has_delimiter = args.len() == 2;
    Ok(Resolved::new(SqlType::String, move |v| {
        let Some(xs) = items(arg(v, 0)) else {
            return Ok(Value::Null);
        };
        let delimiter = if has_delimiter {
            arg(v, 1).as_str().unwrap_or("")
        } else {
            ","
        };
        let mut parts = Vec::with_capacity(xs.len());
        for x in xs {
            match x {
                Value::Null
                | Value::Bool(_)
                | Value::Int(_)
                | Value::BigInt(_)
                | Value::Double(_)
                | Value::Decimal(_)
                | Value::String(_) => parts.push(x.to_string()),
                other => {
                    return Err(Error::eval(format!(
                        "error: hit element of type {} which is currently not supported",
                        other.natural_type()
                    )))
                }
            }
        }
        Ok(Value::String(parts.join(delimiter)))
    }))
}

fn resolve_array_length(args: &[SqlType]) -> Result<Resolved> {
    match args {
        [a] if element_type(a).is_some() => {}
        _ => return Err(no_signature("ARRAY_LENGTH", args)),
    }
    Ok(Resolved::new(SqlType::Int, |v| {
        Ok(items(arg(v, 0)).map_or(Value::Null, |xs| Value::Int(xs.len() as i32)))
    }))
}

fn resolve_array_extreme(name: &str, args: &[SqlType], want: Ordering) -> Result<Resolved> {
    let elem = match args {
        [a] => element_type(a).filter(is_primitive),
        _ => None,
    }
    .ok_or_else(|| no_signature(name, args))?;
    Ok(Resolved::new(elem, move |v| {
        let Some(xs) = items(arg(v, 0)) else {
            return Ok(Value::Null);
        };
        let best = xs
            .iter()
            .filter(|x| !x.is_null())
            .fold(None, |best: Option<&Value>, x| match best {
                Some(b) if natural_cmp(x, b) != want => Some(b),
                _ => Some(x),
            });
        Ok(best.cloned().unwrap_or(Value::Null))
    }))
}

fn resolve_array_remove(args: &[SqlType]) -> Result<Resolved> {
    let elem = match args {
        [a, victim] => element_type(a).and_then(|e| common_type(&e, victim)),
        _ => None,
    }
    .ok_or_else(|| no_signature("array_remove", args))?;
    let target = SqlType::Array(Box::new(elem));
    let ret = target.clone();
    Ok(Resolved::new(ret, move |v| {
        let Some(xs) = items(arg(v, 0)) else {
            return Ok(Value::Null);
        };
        let victim = arg(v, 1);
        let kept: Vec<Value> = xs.iter().filter(|x| !same(x, victim)).cloned().collect();
        Ok(convert(&Value::Array(kept), &target))
    }))
}

fn resolve_array_sort(args: &[SqlType]) -> Result<Resolved> {
    let elem = match args {
        [a] => element_type(a),
        [a, d] if accepts(&SqlType::String, d) => element_type(a),
        _ => None,
    }
    .filter(is_primitive)
    .ok_or_else(|| no_signature("array_sort", args))?;
    let has_direction = args.len() == 2;
    Ok(Resolved::new(SqlType::Array(Box::new(elem)), move |v| {
        let Some(xs) = items(arg(v, 0)) else {
            return Ok(Value::Null);
        };
        let descending = if has_direction {
            match arg(v, 1).as_str().map(str::to_ascii_uppercase).as_deref() {
                Some("ASC" | "ASCENDING") => false,
                Some("DESC" | "DESCENDING") => true,
                _ => return Ok(Value::Null),
            }
        } else {
            false
        };
        let mut sorted = xs.to_vec();
        sorted.sort_by(|a, b| match (a.is_null(), b.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ if descending => natural_cmp(b, a),
            _ => natural_cmp(a, b),
        });
        Ok(Value::Array(sorted))
    }))
}

fn resolve_slice(args: &[SqlType]) -> Result<Resolved> {
    let ret = match args {
        [a, from, to] if accepts(&SqlType::Int, from) && accepts(&SqlType::Int, to) => {
            element_type(a).map(|e| SqlType::Array(Box::new(e)))
        }
        _ => None,
    }
    .ok_or_else(|| no_signature("slice", args))?;
    Ok(Resolved::new(ret, |v| {
        let Some(xs) = items(arg(v, 0)) else {
            return Ok(Value::Null);
        };
        // 1-based and inclusive; a NULL bound means the array's end.
        let start = arg(v, 1).as_i64().map_or(0, |f| f - 1);
        let end = arg(v, 2).as_i64().unwrap_or(xs.len() as i64);
        if start < 0 || end > xs.len() as i64 || start > end {
            return Ok(Value::Null);
        }
        Ok(Value::Array(xs[start as usize..end as usize].to_vec()))
    }))
}

fn resolve_generate_series(args: &[SqlType]) -> Result<Resolved> {
    let bounds_ok = |t: &SqlType| accepts(&SqlType::BigInt, t);
    let ok = match args {
        [s, e] => bounds_ok(s) && bounds_ok(e),
        [s, e, step] => bounds_ok(s) && bounds_ok(e) && accepts(&SqlType::Int, step),
        _ => false,
    };
    if !ok {
        return Err(no_signature("GENERATE_SERIES", args));
    }
    let int = args[..2]
        .iter()
        .all(|t| matches!(t, SqlType::Int | SqlType::Null));
    let elem = if int { SqlType::Int } else { SqlType::BigInt };
    let has_step = args.len() == 3;
    Ok(Resolved::new(SqlType::Array(Box::new(elem)), move |v| {
        let (Some(start), Some(end)) = (arg(v, 0).as_i64(), arg(v, 1).as_i64()) else {
            return Ok(Value::Null);
        };
        let step = if has_step {
            match arg(v, 2).as_i64() {
                Some(s) => s,
                None => return Ok(Value::Null),
            }
        } else if end > start {
            1
        } else {
            -1
        };
        let values = series(start as i128, end as i128, step as i128)?;
        Ok(Value::Array(
            values
                .map(|x| {
                    if int {
                        Value::Int(x as i32)
                    } else {
                        Value::BigInt(x as i64)
                    }
                })
                .collect(),
        ))
    }))
}

/// The values from `start` toward `end` (inclusive) by `step`; an error for
/// a zero step, a step pointing away from `end`, or more elements than a
/// Java list (ksqlDB's reference) can hold.
fn series(start: i128, end: i128, step: i128) -> Result<impl Iterator<Item = i128>> {
    if step == 0 {
        return Err(Error::eval("GENERATE_SERIES step cannot be zero"));
    }
    let diff = end - start;
    if (diff > 0 && step < 0) || (diff < 0 && step > 0) {
        return Err(Error::eval("GENERATE_SERIES step has wrong sign"));
    }
    let size = 1 + diff / step;
    if size > i32::MAX as i128 {
        return Err(Error::eval(format!(
            "GENERATE_SERIES would produce {size} elements, more than an array can hold"
        )));
    }
    Ok((0..size).map(move |i| start + i * step))
}

fn resolve_as_map(args: &[SqlType]) -> Result<Resolved> {
    let value_type = match args {
        [k, v] => element_type(k)
            .filter(|t| accepts(&SqlType::String, t))
            .and(element_type(v)),
        _ => None,
    }
    .ok_or_else(|| no_signature("AS_MAP", args))?;
    let ret = SqlType::Map(Box::new(SqlType::String), Box::new(value_type));
    Ok(Resolved::new(ret, |v| {
        let (Some(keys), Some(values)) = (items(arg(v, 0)), items(arg(v, 1))) else {
            return Ok(Value::Null);
        };
        let mut out: Vec<(Value, Value)> = Vec::with_capacity(keys.len());
        for (i, k) in keys.iter().enumerate() {
            let value = values.get(i).cloned().unwrap_or(Value::Null);
            put(&mut out, k.clone(), value);
        }
        Ok(Value::Map(out))
    }))
}

/// Inserts or replaces a map entry, keeping the key's first position.
fn put(map: &mut Vec<(Value, Value)>, key: Value, value: Value) {
    match map.iter_mut().find(|(k, _)| same(k, &key)) {
        Some((_, existing)) => *existing = value,
        None => map.push((key, value)),
    }
}

fn resolve_map_keys(args: &[SqlType]) -> Result<Resolved> {
    let (k, _) = match args {
        [m] => map_types(m),
        _ => None,
    }
    .ok_or_else(|| no_signature("map_keys", args))?;
    Ok(Resolved::new(SqlType::Array(Box::new(k)), |v| {
        Ok(entries(arg(v, 0)).map_or(Value::Null, |es| {
            Value::Array(es.iter().map(|(k, _)| k.clone()).collect())
        }))
    }))
}

fn resolve_map_values(args: &[SqlType]) -> Result<Resolved> {
    let (_, val) = match args {
        [m] => map_types(m),
        _ => None,
    }
    .ok_or_else(|| no_signature("map_values", args))?;
    Ok(Resolved::new(SqlType::Array(Box::new(val)), |v| {
        Ok(entries(arg(v, 0)).map_or(Value::Null, |es| {
            Value::Array(es.iter().map(|(_, v)| v.clone()).collect())
        }))
    }))
}

fn resolve_map_union(args: &[SqlType]) -> Result<Resolved> {
    let ret = match args {
        [a, b] => map_types(a)
            .zip(map_types(b))
            .and_then(|((ka, va), (kb, vb))| {
                Some(SqlType::Map(
                    Box::new(common_type(&ka, &kb)?),
                    Box::new(common_type(&va, &vb)?),
                ))
            }),
        _ => None,
    }
    .ok_or_else(|| no_signature("map_union", args))?;
    let target = ret.clone();
    Ok(Resolved::new(ret, move |v| {
        let inputs: Vec<&[(Value, Value)]> = [arg(v, 0), arg(v, 1)]
            .into_iter()
            .filter_map(entries)
            .collect();
        if inputs.is_empty() {
            return Ok(Value::Null);
        }
        let mut out = Vec::new();
        for (k, val) in inputs.into_iter().flatten() {
            put(&mut out, k.clone(), val.clone());
        }
        Ok(convert(&Value::Map(out), &target))
    }))
}

fn resolve_entries(args: &[SqlType]) -> Result<Resolved> {
    let value_type = match args {
        [m, sorted] if accepts(&SqlType::Boolean, sorted) => map_types(m)
            .filter(|(k, _)| accepts(&SqlType::String, k))
            .map(|(_, v)| v),
        _ => None,
    }
    .ok_or_else(|| no_signature("ENTRIES", args))?;
    let entry = SqlType::Struct(vec![
        ("K".to_string(), SqlType::String),
        ("V".to_string(), value_type),
    ]);
    Ok(Resolved::new(SqlType::Array(Box::new(entry)), |v| {
        let Some(es) = entries(arg(v, 0)) else {
            return Ok(Value::Null);
        };
        let mut es: Vec<&(Value, Value)> = es.iter().collect();
        if arg(v, 1).as_bool() == Some(true) {
            es.sort_by(|(a, _), (b, _)| a.total_cmp(b));
        }
        Ok(Value::Array(
            es.into_iter()
                .map(|(k, val)| {
                    Value::Struct(vec![
                        ("K".to_string(), k.clone()),
                        ("V".to_string(), val.clone()),
                    ])
                })
                .collect(),
        ))
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

    fn arr(t: SqlType) -> SqlType {
        SqlType::Array(Box::new(t))
    }

    fn ints(xs: &[Option<i32>]) -> Value {
        Value::Array(
            xs.iter()
                .map(|x| x.map_or(Value::Null, Value::Int))
                .collect(),
        )
    }

    fn strs(xs: &[Option<&str>]) -> Value {
        Value::Array(
            xs.iter()
                .map(|x| x.map_or(Value::Null, |s| Value::String(s.to_string())))
                .collect(),
        )
    }

    #[test]
    fn min_max_keep_element_type() {
        let t = [arr(SqlType::Int)];
        let v = ints(&[Some(0), None, Some(1), Some(-1)]);
        assert_eq!(
            call("ARRAY_MAX", &t, std::slice::from_ref(&v)),
            (SqlType::Int, Value::Int(1))
        );
        assert_eq!(call("ARRAY_MIN", &t, &[v]).1, Value::Int(-1));
        assert_eq!(call("ARRAY_MAX", &t, &[ints(&[None])]).1, Value::Null);
        assert_eq!(call("ARRAY_MAX", &t, &[Value::Null]).1, Value::Null);
        let s = strs(&[Some("foo"), Some("Food"), None, Some("F"), Some("food")]);
        let st = [arr(SqlType::String)];
        assert_eq!(
            call("ARRAY_MAX", &st, std::slice::from_ref(&s))
                .1
                .to_string(),
            "food"
        );
        assert_eq!(call("ARRAY_MIN", &st, &[s]).1.to_string(), "F");
        let nested = [arr(arr(SqlType::Int))];
        assert!(FunctionRegistry::global()
            .resolve("ARRAY_MAX", &nested)
            .is_err());
    }

    #[test]
    fn sort_puts_nulls_last_both_ways() {
        let t = [arr(SqlType::Int), SqlType::String];
        let v = ints(&[Some(0), None, Some(1), Some(-1)]);
        let desc = call("ARRAY_SORT", &t, &[v.clone(), Value::String("desc".into())]).1;
        assert_eq!(desc.to_string(), "[1, 0, -1, null]");
        let asc = call("ARRAY_SORT", &[arr(SqlType::Int)], std::slice::from_ref(&v)).1;
        assert_eq!(asc.to_string(), "[-1, 0, 1, null]");
        let bad = call("ARRAY_SORT", &t, &[v, Value::String("sideways".into())]).1;
        assert_eq!(bad, Value::Null);
    }

    #[test]
    fn set_functions() {
        let t = [arr(SqlType::Int), arr(SqlType::Int)];
        let a = ints(&[Some(0), Some(0), Some(1), None, Some(-1), None]);
        let b = ints(&[Some(1), Some(-2)]);
        let d = call("ARRAY_DISTINCT", &t[..1], std::slice::from_ref(&a)).1;
        assert_eq!(d.to_string(), "[0, 1, null, -1]");
        let e = call("ARRAY_EXCEPT", &t, &[a.clone(), b.clone()]).1;
        assert_eq!(e.to_string(), "[0, null, -1]");
        let i = call("ARRAY_INTERSECT", &t, &[a.clone(), b.clone()]).1;
        assert_eq!(i.to_string(), "[1]");
        let u = call("ARRAY_UNION", &t, &[a.clone(), b.clone()]).1;
        assert_eq!(u.to_string(), "[0, 1, null, -1, -2]");
        assert_eq!(
            call("ARRAY_UNION", &t, &[Value::Null, b.clone()]).1,
            Value::Null
        );
        let c = call("ARRAY_CONCAT", &t, &[Value::Null, b.clone()]).1;
        assert_eq!(c.to_string(), "[1, -2]");
        assert_eq!(
            call("ARRAY_CONCAT", &t, &[Value::Null, Value::Null]).1,
            Value::Null
        );
        // Mixed element types widen to the common type.
        let wide = [arr(SqlType::Int), arr(SqlType::BigInt)];
        let (rt, u) = call(
            "ARRAY_UNION",
            &wide,
            &[b, Value::Array(vec![Value::BigInt(7)])],
        );
        assert_eq!(rt, arr(SqlType::BigInt));
        assert!(matches!(&u, Value::Array(xs) if matches!(xs[0], Value::BigInt(1))));
    }

    #[test]
    fn contains_remove_join_length() {
        let t = [arr(SqlType::String), SqlType::String];
        let colors = strs(&[Some("Pink"), None]);
        let pink = Value::String("Pink".into());
        assert_eq!(
            call("ARRAY_CONTAINS", &t, &[colors.clone(), pink.clone()]).1,
            Value::Bool(true)
        );
        assert_eq!(
            call("ARRAY_CONTAINS", &t, &[Value::Null, pink]).1,
            Value::Bool(false)
        );
        assert_eq!(
            call("ARRAY_CONTAINS", &t, &[colors.clone(), Value::Null]).1,
            Value::Bool(true)
        );
        let r = call("ARRAY_REMOVE", &t, &[colors.clone(), Value::Null]).1;
        assert_eq!(r.to_string(), "[Pink]");
        let j = call("ARRAY_JOIN", &t, &[colors.clone(), Value::Null]).1;
        assert_eq!(j.to_string(), "Pinknull");
        let doubles = Value::Array(vec![Value::Double(1.23), Value::Double(0.0)]);
        let j = call("ARRAY_JOIN", &[arr(SqlType::Double)], &[doubles]).1;
        assert_eq!(j.to_string(), "1.23,0.0");
        let (lt, l) = call("ARRAY_LENGTH", &t[..1], &[colors]);
        assert_eq!((lt, l), (SqlType::Int, Value::Int(2)));
    }

    #[test]
    fn slice_and_series() {
        let t = [arr(SqlType::String), SqlType::Int, SqlType::Int];
        let l = strs(&[Some("a"), Some("b"), Some("c"), Some("d")]);
        let s = call("SLICE", &t, &[l.clone(), Value::Int(2), Value::Int(3)]).1;
        assert_eq!(s.to_string(), "[b, c]");
        assert_eq!(
            call("SLICE", &t, &[l.clone(), Value::Int(0), Value::Int(3)]).1,
            Value::Null
        );
        assert_eq!(
            call("SLICE", &t, &[l, Value::Int(3), Value::Null])
                .1
                .to_string(),
            "[c, d]"
        );
        let g = [SqlType::Int, SqlType::Int];
        let (rt, v) = call("GENERATE_SERIES", &g, &[Value::Int(4), Value::Int(0)]);
        assert_eq!(
            (rt, v.to_string()),
            (arr(SqlType::Int), "[4, 3, 2, 1, 0]".to_string())
        );
        let g3 = [SqlType::BigInt, SqlType::Int, SqlType::Int];
        let (rt, v) = call(
            "GENERATE_SERIES",
            &g3,
            &[Value::BigInt(1), Value::Int(-2), Value::Int(-2)],
        );
        assert_eq!(
            (rt, v.to_string()),
            (arr(SqlType::BigInt), "[1, -1]".to_string())
        );
        let r = FunctionRegistry::global()
            .resolve("GENERATE_SERIES", &g3)
            .unwrap();
        assert!((r.eval)(&[Value::BigInt(1), Value::Int(5), Value::Int(-1)]).is_err());
        assert!((r.eval)(&[Value::BigInt(1), Value::Int(5), Value::Int(0)]).is_err());
        let big = [SqlType::BigInt, SqlType::BigInt];
        let r = FunctionRegistry::global()
            .resolve("GENERATE_SERIES", &big)
            .unwrap();
        assert!((r.eval)(&[Value::BigInt(0), Value::BigInt(i64::MAX)]).is_err());
        let one = (r.eval)(&[Value::BigInt(3), Value::BigInt(3)]).unwrap();
        assert_eq!(one.to_string(), "[3]");
    }

    #[test]
    fn maps() {
        let mt = SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Int));
        let m = Value::Map(vec![
            (Value::String("b".into()), Value::Int(2)),
            (Value::String("a".into()), Value::Int(1)),
        ]);
        let (kt, keys) = call(
            "MAP_KEYS",
            std::slice::from_ref(&mt),
            std::slice::from_ref(&m),
        );
        assert_eq!(
            (kt, keys.to_string()),
            (arr(SqlType::String), "[b, a]".to_string())
        );
        let (vt, vals) = call(
            "MAP_VALUES",
            std::slice::from_ref(&mt),
            std::slice::from_ref(&m),
        );
        assert_eq!(
            (vt, vals.to_string()),
            (arr(SqlType::Int), "[2, 1]".to_string())
        );
        let other = Value::Map(vec![(Value::String("a".into()), Value::Int(50))]);
        let u = call("MAP_UNION", &[mt.clone(), mt.clone()], &[m.clone(), other]).1;
        assert_eq!(u.to_string(), "{b=2, a=50}");
        assert_eq!(
            call(
                "MAP_UNION",
                &[mt.clone(), mt.clone()],
                &[Value::Null, Value::Null]
            )
            .1,
            Value::Null
        );
        let (et, e) = call("ENTRIES", &[mt, SqlType::Boolean], &[m, Value::Bool(true)]);
        assert_eq!(et.to_string(), "ARRAY<STRUCT<K STRING, V INTEGER>>");
        assert_eq!(e.to_string(), "[Struct{K=a,V=1}, Struct{K=b,V=2}]");
        let at = [arr(SqlType::String), arr(SqlType::Decimal(2, 1))];
        let keys = strs(&[Some("x"), Some("y"), Some("x")]);
        let vals = Value::Array(vec![Value::Decimal(Decimal::parse("1.5").unwrap())]);
        let (mt2, m2) = call("AS_MAP", &at, &[keys, vals]);
        assert_eq!(mt2.to_string(), "MAP<STRING, DECIMAL(2, 1)>");
        assert_eq!(m2.to_string(), "{x=null, y=null}");
    }
}
