//! COLLECT_LIST, COLLECT_SET, HISTOGRAM, TOPK and TOPKDISTINCT.
//!
//! COLLECT_LIST and COLLECT_SET take any type, keep nulls, and stop adding
//! at a limit (`ksql.functions.collect_list.limit` and
//! `ksql.functions.collect_set.limit`, 1000 here by default; the planner
//! can pass another through [`collect_list_with_limit`]). COLLECT_LIST can
//! be undone (the last equal entry goes); COLLECT_SET, like ksqlDB's, is for
//! streams only. HISTOGRAM counts strings in a MAP<STRING, BIGINT> of at
//! most 1000 keys, and can be undone. TOPK(col, k) and TOPKDISTINCT(col, k)
//! keep the k greatest non-null values, descending; TOPK(col, other..., k)
//! keeps STRUCT<sort_col, col0, ...> entries ordered by `sort_col`, ties
//! in arrival order. The state of each is the result itself.

use super::{
    call_args, i64_of, int_literal, is_orderable, items, items_mut, java_cmp, value_at,
    AggregateRegistry, CallArg, ResolvedAggregate,
};
use crate::error::{Error, Result};
use crate::functions::no_signature;
use crate::types::{SqlType, Value};
use std::cmp::Ordering;

/// The collection limit ksqlDB applies by default.
pub const DEFAULT_COLLECT_LIMIT: usize = 1000;

/// HISTOGRAM's fixed limit on distinct keys.
const HISTOGRAM_LIMIT: usize = 1000;

/// Registers this family's functions.
pub fn register(reg: &mut AggregateRegistry) {
    reg.add(
        "COLLECT_LIST",
        "Gathers all of the values of a column into an array.",
        |a, l| collect_list_with_limit(a, l, DEFAULT_COLLECT_LIMIT),
    );
    reg.add(
        "COLLECT_SET",
        "Gathers the distinct values of a column into an array.",
        |a, l| collect_set_with_limit(a, l, DEFAULT_COLLECT_LIMIT),
    );
    reg.add(
        "HISTOGRAM",
        "Returns a map of each distinct string to the number of times it occurs.",
        resolve_histogram,
    );
    reg.add(
        "TOPK",
        "Returns the k greatest values of a column, descending.",
        resolve_topk,
    );
    reg.add(
        "TOPKDISTINCT",
        "Returns the k greatest distinct values of a column, descending.",
        resolve_topk_distinct,
    );
}

fn single_arg<'a>(name: &str, args: &[SqlType], call: &'a [CallArg]) -> Result<&'a CallArg> {
    match call {
        [arg] if arg.ty != SqlType::Any => Ok(arg),
        _ => Err(no_signature(name, args)),
    }
}

/// COLLECT_LIST keeping at most `limit` values (`usize::MAX` for none).
pub fn collect_list_with_limit(
    args: &[SqlType],
    literals: &[Option<Value>],
    limit: usize,
) -> Result<ResolvedAggregate> {
    let call = call_args(args, literals);
    let arg = single_arg("COLLECT_LIST", args, &call)?;
    let ty = SqlType::Array(Box::new(arg.ty.clone()));
    let lit = arg.literal.clone();
    let lit_undo = lit.clone();
    Ok(ResolvedAggregate::new(
        ty.clone(),
        ty,
        Value::Array(Vec::new()),
        move |st, values| {
            let list = items_mut(st);
            if list.len() < limit {
                list.push(value_at(values, 0, &lit).clone());
            }
        },
        |st| Value::Array(items(st).to_vec()),
    )
    .with_retract(move |st, values| {
        // Removes the last equal entry; absent when the limit dropped it.
        let v = value_at(values, 0, &lit_undo);
        let list = items_mut(st);
        if let Some(i) = list.iter().rposition(|x| x == v) {
            list.remove(i);
        }
    })
    .with_merge(move |st, other| {
        let list = items_mut(st);
        let room = limit.saturating_sub(list.len());
        list.extend(items(other).iter().take(room).cloned());
    }))
}

/// COLLECT_SET keeping at most `limit` values (`usize::MAX` for none).
pub fn collect_set_with_limit(
    args: &[SqlType],
    literals: &[Option<Value>],
    limit: usize,
) -> Result<ResolvedAggregate> {
    let call = call_args(args, literals);
    let arg = single_arg("COLLECT_SET", args, &call)?;
    let ty = SqlType::Array(Box::new(arg.ty.clone()));
    let lit = arg.literal.clone();
    let insert = move |list: &mut Vec<Value>, v: &Value| {
        if list.len() < limit && !list.contains(v) {
            list.push(v.clone());
        }
    };
    Ok(ResolvedAggregate::new(
        ty.clone(),
        ty,
        Value::Array(Vec::new()),
        move |st, values| insert(items_mut(st), value_at(values, 0, &lit)),
        |st| Value::Array(items(st).to_vec()),
    )
    .with_merge(move |st, other| {
        let list = items_mut(st);
        for v in items(other) {
            insert(list, v);
        }
    }))
}

fn resolve_histogram(args: &[SqlType], literals: &[Option<Value>]) -> Result<ResolvedAggregate> {
    let call = call_args(args, literals);
    let arg = single_arg("HISTOGRAM", args, &call)?;
    if !matches!(arg.ty, SqlType::String | SqlType::Null) {
        return Err(no_signature("HISTOGRAM", args));
    }
    let ty = SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::BigInt));
    let lit = arg.literal.clone();
    let lit_undo = lit.clone();
    Ok(ResolvedAggregate::new(
        ty.clone(),
        ty,
        Value::Map(Vec::new()),
        move |st, values| bump(st, value_at(values, 0, &lit), 1),
        |st| match st {
            Value::Map(entries) => Value::Map(entries.clone()),
            _ => Value::Map(Vec::new()),
        },
    )
    .with_retract(move |st, values| bump(st, value_at(values, 0, &lit_undo), -1))
    .with_merge(|st, other| {
        if let Value::Map(entries) = other {
            for (k, c) in entries {
                bump(st, k, i64_of(c));
            }
        }
    }))
}

/// Adds `by` to a histogram key's count: new keys only below the limit,
/// keys whose count drops below 1 removed. NULL keys are not counted (no
/// format could write them).
fn bump(st: &mut Value, key: &Value, by: i64) {
    if key.is_null() {
        return;
    }
    if !matches!(st, Value::Map(_)) {
        *st = Value::Map(Vec::new());
    }
    let Value::Map(entries) = st else {
        return;
    };
    match entries.iter().position(|(k, _)| k == key) {
        Some(i) => {
            let n = i64_of(&entries[i].1).saturating_add(by);
            if n < 1 {
                entries.remove(i);
            } else {
                entries[i].1 = Value::BigInt(n);
            }
        }
        None if by > 0 && entries.len() < HISTOGRAM_LIMIT => {
            entries.push((key.clone(), Value::BigInt(by)))
        }
        None => {}
    }
}

/// TOPK's and TOPKDISTINCT's k: the last argument, a positive literal.
fn top_k(name: &str, call: &[CallArg]) -> Result<usize> {
    let last = call.len() - 1;
    let k = int_literal(name, last, &call[last])?;
    if k < 1 {
        return Err(Error::plan(format!(
            "{name} k must be a positive integer, but was: {k}"
        )));
    }
    Ok(usize::try_from(k).unwrap_or(usize::MAX))
}

/// The value a TOPK entry is ordered by.
fn sort_key(entry: &Value, by_field: bool) -> &Value {
    if by_field {
        super::field(entry, 0)
    } else {
        entry
    }
}

fn resolve_topk(args: &[SqlType], literals: &[Option<Value>]) -> Result<ResolvedAggregate> {
    let call = call_args(args, literals);
    if call.len() < 2 || !is_orderable(&call[0].ty) || !call[call.len() - 1].ty.is_integral() {
        return Err(no_signature("TOPK", args));
    }
    let k = top_k("TOPK", &call)?;
    // TOPK(col, k) keeps values; TOPK(col, a, b, ..., k) keeps structs.
    let others = &call[1..call.len() - 1];
    let by_field = !others.is_empty();
    let entry_type = if by_field {
        let mut fields = vec![("sort_col".to_string(), call[0].ty.clone())];
        fields.extend(
            others
                .iter()
                .enumerate()
                .map(|(i, a)| (format!("col{i}"), a.ty.clone())),
        );
        SqlType::Struct(fields)
    } else {
        call[0].ty.clone()
    };
    let ty = SqlType::Array(Box::new(entry_type));
    let lits: Vec<Option<Value>> = call[..call.len() - 1]
        .iter()
        .map(|a| a.literal.clone())
        .collect();
    let width = lits.len();
    let entry = move |values: &[Value]| -> Option<Value> {
        let key = value_at(values, 0, &lits[0]);
        if key.is_null() {
            return None;
        }
        if !by_field {
            return Some(key.clone());
        }
        let mut fields = vec![("sort_col".to_string(), key.clone())];
        fields.extend((1..width).map(|i| {
            (
                format!("col{}", i - 1),
                value_at(values, i, &lits[i]).clone(),
            )
        }));
        Some(Value::Struct(fields))
    };
    Ok(ResolvedAggregate::new(
        ty.clone(),
        ty,
        Value::Array(Vec::new()),
        move |st, values| {
            let Some(e) = entry(values) else {
                return;
            };
            let list = items_mut(st);
            if list.len() >= k {
                if let Some(last) = list.last() {
                    if java_cmp(sort_key(&e, by_field), sort_key(last, by_field))
                        != Ordering::Greater
                    {
                        return;
                    }
                }
                list.truncate(k - 1);
            }
            list.push(e);
            // Stable: equal keys stay in arrival order.
            list.sort_by(|a, b| java_cmp(sort_key(b, by_field), sort_key(a, by_field)));
        },
        |st| Value::Array(items(st).to_vec()),
    )
    .with_merge(move |st, other| {
        let merged = merge_sorted(items(st), items(other), k, by_field, false);
        *st = Value::Array(merged);
    }))
}

fn resolve_topk_distinct(
    args: &[SqlType],
    literals: &[Option<Value>],
) -> Result<ResolvedAggregate> {
    let call = call_args(args, literals);
    if call.len() != 2 || !is_orderable(&call[0].ty) || !call[1].ty.is_integral() {
        return Err(no_signature("TOPKDISTINCT", args));
    }
    let k = top_k("TOPKDISTINCT", &call)?;
    let ty = SqlType::Array(Box::new(call[0].ty.clone()));
    let lit = call[0].literal.clone();
    Ok(ResolvedAggregate::new(
        ty.clone(),
        ty,
        Value::Array(Vec::new()),
        move |st, values| {
            let v = value_at(values, 0, &lit);
            if v.is_null() {
                return;
            }
            let list = items_mut(st);
            if list.len() >= k {
                if let Some(last) = list.last() {
                    if java_cmp(v, last) != Ordering::Greater {
                        return;
                    }
                }
            }
            if list.iter().any(|x| java_cmp(x, v) == Ordering::Equal) {
                return;
            }
            if list.len() >= k {
                list.truncate(k - 1);
            }
            list.push(v.clone());
            list.sort_by(|a, b| java_cmp(b, a));
        },
        |st| Value::Array(items(st).to_vec()),
    )
    .with_merge(move |st, other| {
        let merged = merge_sorted(items(st), items(other), k, false, true);
        *st = Value::Array(merged);
    }))
}

/// Merges two descending lists into the k greatest entries, preferring the
/// first list's entry on ties; `distinct` keeps one of two equal entries.
fn merge_sorted(a: &[Value], b: &[Value], k: usize, by_field: bool, distinct: bool) -> Vec<Value> {
    let mut out = Vec::with_capacity(k.min(a.len() + b.len()));
    let (mut i, mut j) = (0, 0);
    while out.len() < k {
        match (a.get(i), b.get(j)) {
            (None, None) => break,
            (Some(x), None) => {
                out.push(x.clone());
                i += 1;
            }
            (None, Some(y)) => {
                out.push(y.clone());
                j += 1;
            }
            (Some(x), Some(y)) => match java_cmp(sort_key(x, by_field), sort_key(y, by_field)) {
                Ordering::Less => {
                    out.push(y.clone());
                    j += 1;
                }
                Ordering::Equal if distinct => {
                    out.push(x.clone());
                    i += 1;
                    j += 1;
                }
                _ => {
                    out.push(x.clone());
                    i += 1;
                }
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn collect_list_keeps_nulls_order_and_complex_values() {
        let t = SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::BigInt));
        let c = resolve("COLLECT_LIST", std::slice::from_ref(&t), &[None]);
        assert_eq!(c.return_type, SqlType::Array(Box::new(t.clone())));
        assert_eq!(c.state_type, c.return_type);
        let m = Value::Map(vec![(s("Record0"), big(1))]);
        let out = run(&c, &[vec![m.clone()], vec![Value::Null], vec![m.clone()]]);
        assert_eq!(out[2], arr(vec![m.clone(), Value::Null, m.clone()]));
        assert!(conforms(&out[2], &c.state_type));
    }

    #[test]
    fn collect_list_retract_merge_and_limit() {
        let c = resolve("COLLECT_LIST", &[SqlType::Int], &[None]);
        let mut st = fold(&c, &[vec![int(1)], vec![int(2)], vec![int(1)]]);
        retract(&c, &mut st, &[int(1)]);
        assert_eq!((c.result)(&st), arr(vec![int(1), int(2)]));
        retract(&c, &mut st, &[int(9)]);
        assert_eq!((c.result)(&st), arr(vec![int(1), int(2)]));
        let other = fold(&c, &[vec![int(3)]]);
        assert_eq!(merged(&c, &st, &other), arr(vec![int(1), int(2), int(3)]));

        let one = collect_list_with_limit(&[SqlType::Int], &[None], 1).unwrap();
        assert_eq!(
            run(&one, &[vec![int(0)], vec![int(100)]]),
            vec![arr(vec![int(0)]), arr(vec![int(0)])]
        );
        let a = fold(&one, &[vec![int(5)]]);
        assert_eq!(merged(&one, &a, &a), arr(vec![int(5)]));
        let full = resolve("COLLECT_LIST", &[SqlType::Int], &[None]);
        let rows: Vec<Vec<Value>> = (0..1500).map(|i| vec![int(i)]).collect();
        assert_eq!(items(&fold(&full, &rows)).len(), DEFAULT_COLLECT_LIMIT);
    }

    #[test]
    fn collect_set_distinct_stream_only() {
        let c = resolve("COLLECT_SET", &[SqlType::String], &[None]);
        assert!(c.retract.is_none());
        let out = run(
            &c,
            &[
                vec![s("baz")],
                vec![s("baz")],
                vec![s("foo")],
                vec![Value::Null],
                vec![Value::Null],
            ],
        );
        assert_eq!(out[4], arr(vec![s("baz"), s("foo"), Value::Null]));
        // Maps are equal whatever their entry order.
        let mt = SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::BigInt));
        let m = resolve("COLLECT_SET", &[mt], &[None]);
        let a = Value::Map(vec![(s("a"), big(1)), (s("b"), big(2))]);
        let b = Value::Map(vec![(s("b"), big(2)), (s("a"), big(1))]);
        assert_eq!(run(&m, &[vec![a.clone()], vec![b]])[1], arr(vec![a]));
        let x = fold(&c, &[vec![s("a")], vec![s("b")]]);
        let y = fold(&c, &[vec![s("b")], vec![s("c")]]);
        assert_eq!(merged(&c, &x, &y), arr(vec![s("a"), s("b"), s("c")]));
        let one = collect_set_with_limit(&[SqlType::Int], &[None], 1).unwrap();
        assert_eq!(
            run(&one, &[vec![int(0)], vec![int(100)]])[1],
            arr(vec![int(0)])
        );
    }

    #[test]
    fn histogram_counts_retracts_merges() {
        let h = resolve("HISTOGRAM", &[SqlType::String], &[None]);
        assert_eq!(
            h.return_type,
            SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::BigInt))
        );
        let out = run(
            &h,
            &[
                vec![s("baz")],
                vec![s("baz")],
                vec![s("foo")],
                vec![Value::Null],
            ],
        );
        assert_eq!(
            out[2],
            Value::Map(vec![(s("baz"), big(2)), (s("foo"), big(1))])
        );
        assert_eq!(out[3], out[2]);
        let mut st = fold(&h, &[vec![s("a")], vec![s("b")], vec![s("b")]]);
        retract(&h, &mut st, &[s("a")]);
        retract(&h, &mut st, &[s("b")]);
        assert_eq!((h.result)(&st), Value::Map(vec![(s("b"), big(1))]));
        assert!(conforms(&st, &h.state_type));
        let other = fold(&h, &[vec![s("b")], vec![s("c")]]);
        assert_eq!(
            merged(&h, &st, &other),
            Value::Map(vec![(s("b"), big(2)), (s("c"), big(1))])
        );
        let rows: Vec<Vec<Value>> = (0..1100).map(|i| vec![s(&i.to_string())]).collect();
        match fold(&h, &rows) {
            Value::Map(e) => assert_eq!(e.len(), 1000),
            v => panic!("{v:?}"),
        }
        assert!(resolve_err("HISTOGRAM", &[SqlType::Int], &[None]).contains("does not accept"));
    }

    #[test]
    fn topk_values() {
        let t = resolve("TOPK", &[SqlType::Int, SqlType::Int], &[None, Some(int(3))]);
        assert_eq!(t.return_type, SqlType::Array(Box::new(SqlType::Int)));
        assert!(t.retract.is_none());
        let out = run(
            &t,
            &[
                vec![int(0)],
                vec![int(100)],
                vec![int(99)],
                vec![int(7)],
                vec![Value::Null],
                vec![int(100)],
            ],
        );
        assert_eq!(out[0], arr(vec![int(0)]));
        assert_eq!(out[2], arr(vec![int(100), int(99), int(0)]));
        assert_eq!(out[3], arr(vec![int(100), int(99), int(7)]));
        assert_eq!(out[5], arr(vec![int(100), int(100), int(99)]));
        // The row may carry k too.
        let st = fold(&t, &[vec![int(1), int(3)], vec![int(2), int(3)]]);
        assert_eq!(st, arr(vec![int(2), int(1)]));
        let a = fold(&t, &[vec![int(5)], vec![int(1)]]);
        let b = fold(&t, &[vec![int(5)], vec![int(3)]]);
        assert_eq!(merged(&t, &a, &b), arr(vec![int(5), int(5), int(3)]));
    }

    #[test]
    fn topk_struct_entries() {
        let t = resolve(
            "TOPK",
            &[SqlType::BigInt, SqlType::String, SqlType::BigInt],
            &[None, None, Some(big(3))],
        );
        let entry = SqlType::Struct(vec![
            ("sort_col".to_string(), SqlType::BigInt),
            ("col0".to_string(), SqlType::String),
        ]);
        assert_eq!(t.return_type, SqlType::Array(Box::new(entry)));
        let e =
            |k: i64, n: Value| Value::Struct(vec![("sort_col".into(), big(k)), ("col0".into(), n)]);
        let out = run(
            &t,
            &[
                vec![big(2147483648), s("zero")],
                vec![big(100), s("one")],
                vec![big(99), s("two")],
                vec![Value::Null, s("three")],
                vec![big(100), Value::Null],
            ],
        );
        assert_eq!(
            out[3],
            arr(vec![
                e(2147483648, s("zero")),
                e(100, s("one")),
                e(99, s("two"))
            ])
        );
        assert_eq!(
            out[4],
            arr(vec![
                e(2147483648, s("zero")),
                e(100, s("one")),
                e(100, Value::Null)
            ])
        );
        assert!(conforms(&out[4], &t.state_type));
    }

    #[test]
    fn topk_errors() {
        assert!(
            resolve_err("TOPK", &[SqlType::Int, SqlType::Int], &[None, None])
                .contains("must be a literal")
        );
        assert!(resolve_err("TOPK", &[SqlType::Int], &[None]).contains("does not accept"));
        assert!(resolve_err(
            "TOPK",
            &[SqlType::Boolean, SqlType::Int],
            &[None, Some(int(2))]
        )
        .contains("does not accept"));
        assert!(
            resolve_err("TOPK", &[SqlType::Int, SqlType::Int], &[None, Some(int(0))])
                .contains("positive")
        );
    }

    #[test]
    fn topk_distinct() {
        let t = resolve(
            "TOPKDISTINCT",
            &[SqlType::Decimal(2, 1), SqlType::Int],
            &[None, Some(int(3))],
        );
        assert_eq!(
            t.return_type,
            SqlType::Array(Box::new(SqlType::Decimal(2, 1)))
        );
        let out = run(
            &t,
            &[
                vec![dec("9.8")],
                vec![dec("8.9")],
                vec![Value::Null],
                vec![dec("7.8")],
                vec![dec("6.5")],
                vec![dec("9.9")],
                vec![dec("9.9")],
            ],
        );
        assert_eq!(out[1], arr(vec![dec("9.8"), dec("8.9")]));
        assert_eq!(out[4], arr(vec![dec("9.8"), dec("8.9"), dec("7.8")]));
        assert_eq!(out[6], arr(vec![dec("9.9"), dec("9.8"), dec("8.9")]));
        let d = resolve(
            "TOPKDISTINCT",
            &[SqlType::Date, SqlType::Int],
            &[None, Some(int(3))],
        );
        let out = run(
            &d,
            &[
                vec![Value::Date(0)],
                vec![Value::Date(100)],
                vec![Value::Date(99)],
                vec![Value::Date(100)],
            ],
        );
        assert_eq!(
            out[3],
            arr(vec![Value::Date(100), Value::Date(99), Value::Date(0)])
        );
        let a = fold(&d, &[vec![Value::Date(5)], vec![Value::Date(1)]]);
        let b = fold(&d, &[vec![Value::Date(5)], vec![Value::Date(3)]]);
        assert_eq!(
            merged(&d, &a, &b),
            arr(vec![Value::Date(5), Value::Date(3), Value::Date(1)])
        );
    }
}
