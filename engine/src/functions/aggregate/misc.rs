//! COUNT_DISTINCT, ATTR and SUM_LIST.
//!
//! COUNT_DISTINCT counts distinct non-null values exactly (ksqlDB estimates
//! with HyperLogLog, exact for small counts), over a sorted ARRAY<T> of the
//! values seen; like ksqlDB's it is for streams only. ATTR returns the one value
//! all rows share (NULL included) and NULL when they differ; its state is
//! `ARRAY<STRUCT<VALUE T, COUNT INTEGER>>` so it can be undone on tables.
//! SUM_LIST sums the non-null elements of INT, BIGINT or DOUBLE arrays into
//! the element type.

use super::{
    call_args, field, i32_of, items, items_mut, make_struct, value_at, AggregateRegistry, NumKind,
    ResolvedAggregate,
};
use crate::error::Result;
use crate::functions::{accepts, no_signature};
use crate::types::{SqlType, Value};

/// Registers this family's functions.
pub fn register(reg: &mut AggregateRegistry) {
    reg.add(
        "COUNT_DISTINCT",
        "Returns the number of distinct non-null values of a column.",
        resolve_count_distinct,
    );
    reg.add(
        "ATTR",
        "Returns the single value of a column when all rows agree on it, NULL otherwise.",
        resolve_attr,
    );
    reg.add(
        "SUM_LIST",
        "Sums the elements of the arrays of a column.",
        resolve_sum_list,
    );
}

fn resolve_count_distinct(
    args: &[SqlType],
    literals: &[Option<Value>],
) -> Result<ResolvedAggregate> {
    let call = call_args(args, literals);
    let [arg] = call.as_slice() else {
        return Err(no_signature("COUNT_DISTINCT", args));
    };
    let lit = arg.literal.clone();
    // Kept sorted, so membership is a binary search.
    let insert = |list: &mut Vec<Value>, v: &Value| {
        if v.is_null() {
            return;
        }
        if let Err(i) = list.binary_search_by(|x| x.total_cmp(v)) {
            list.insert(i, v.clone());
        }
    };
    Ok(ResolvedAggregate::new(
        SqlType::BigInt,
        SqlType::Array(Box::new(arg.ty.clone())),
        Value::Array(Vec::new()),
        move |st, values| insert(items_mut(st), value_at(values, 0, &lit)),
        |st| Value::BigInt(items(st).len() as i64),
    )
    .with_merge(move |st, other| {
        let list = items_mut(st);
        for v in items(other) {
            insert(list, v);
        }
    }))
}

const VALUE: usize = 0;
const COUNT: usize = 1;

/// Adds `by` to the count of `v`'s entry (counts never go below zero; a
/// new entry only for a positive change).
fn attr_update(st: &mut Value, v: &Value, by: i32) {
    let list = items_mut(st);
    let mut found = false;
    for e in list.iter_mut() {
        if field(e, VALUE) == v {
            found = true;
            let n = i32_of(field(e, COUNT)).saturating_add(by).max(0);
            super::set_field(e, COUNT, Value::Int(n));
        }
    }
    if !found && by > 0 {
        list.push(make_struct(vec![
            ("VALUE", v.clone()),
            ("COUNT", Value::Int(by)),
        ]));
    }
}

fn resolve_attr(args: &[SqlType], literals: &[Option<Value>]) -> Result<ResolvedAggregate> {
    let call = call_args(args, literals);
    let [arg] = call.as_slice() else {
        return Err(no_signature("ATTR", args));
    };
    let state_type = SqlType::Array(Box::new(SqlType::Struct(vec![
        ("VALUE".to_string(), arg.ty.clone()),
        ("COUNT".to_string(), SqlType::Int),
    ])));
    let lit = arg.literal.clone();
    let lit_undo = lit.clone();
    Ok(ResolvedAggregate::new(
        arg.ty.clone(),
        state_type,
        Value::Array(Vec::new()),
        move |st, values| attr_update(st, value_at(values, 0, &lit), 1),
        |st| {
            let mut live = items(st).iter().filter(|e| i32_of(field(e, COUNT)) > 0);
            match (live.next(), live.next()) {
                (Some(e), None) => field(e, VALUE).clone(),
                _ => Value::Null,
            }
        },
    )
    .with_retract(move |st, values| attr_update(st, value_at(values, 0, &lit_undo), -1))
    .with_merge(|st, other| {
        for e in items(other) {
            attr_update(st, field(e, VALUE), i32_of(field(e, COUNT)));
        }
    }))
}

fn resolve_sum_list(args: &[SqlType], literals: &[Option<Value>]) -> Result<ResolvedAggregate> {
    let call = call_args(args, literals);
    let [arg] = call.as_slice() else {
        return Err(no_signature("SUM_LIST", args));
    };
    // The exact element type first, then ksqlDB's implicit widening.
    let candidates = [NumKind::Int, NumKind::Long, NumKind::Double];
    let kind = match &arg.ty {
        SqlType::Array(e) if NumKind::of(e).is_some() => NumKind::of(e),
        t => candidates
            .into_iter()
            .find(|c| accepts(&SqlType::Array(Box::new(c.sql_type())), t)),
    }
    .ok_or_else(|| no_signature("SUM_LIST", args))?;
    let step = move |st: &mut Value, list: &Value, sign: i32| {
        if let Value::Array(xs) = list {
            let sum = xs
                .iter()
                .filter(|x| !x.is_null())
                .fold(kind.zero(), |acc, x| kind.combine(&acc, x, 1));
            *st = kind.combine(st, &sum, sign);
        }
    };
    let lit = arg.literal.clone();
    let lit_undo = lit.clone();
    Ok(ResolvedAggregate::new(
        kind.sql_type(),
        kind.sql_type(),
        kind.zero(),
        move |st, values| step(st, value_at(values, 0, &lit), 1),
        |st| st.clone(),
    )
    .with_retract(move |st, values| step(st, value_at(values, 0, &lit_undo), -1))
    .with_merge(move |st, other| *st = kind.combine(st, other, 1)))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn count_distinct() {
        let c = resolve("COUNT_DISTINCT", &[SqlType::String], &[None]);
        assert_eq!(c.return_type, SqlType::BigInt);
        assert!(c.retract.is_none());
        let out = run(
            &c,
            &[vec![s("a")], vec![s("a")], vec![Value::Null], vec![s("b")]],
        );
        assert_eq!(out, vec![big(1), big(1), big(1), big(2)]);
        let a = fold(&c, &[vec![s("a")], vec![s("b")]]);
        let b = fold(&c, &[vec![s("b")], vec![s("c")]]);
        assert_eq!(merged(&c, &a, &b), big(3));
        assert!(conforms(&a, &c.state_type));
    }

    #[test]
    fn attr_values_and_nulls() {
        let a = resolve("ATTR", &[SqlType::String], &[None]);
        assert_eq!(a.return_type, SqlType::String);
        assert_eq!(run(&a, &[vec![s("s")], vec![s("s")]]), vec![s("s"), s("s")]);
        assert_eq!(
            run(&a, &[vec![s("1")], vec![s("2")], vec![s("3")]]),
            vec![s("1"), Value::Null, Value::Null]
        );
        assert_eq!(
            run(&a, &[vec![Value::Null], vec![s("2")], vec![s("2")]]),
            vec![Value::Null; 3]
        );
        let st = fold(&a, &[vec![Value::Null], vec![s("2")]]);
        assert!(conforms(&st, &a.state_type));
    }

    #[test]
    fn attr_retract_like_table_tombstones() {
        let a = resolve("ATTR", &[SqlType::String], &[None]);
        let mut st = a.initial.clone();
        (a.add)(&mut st, &[s("1")]);
        (a.add)(&mut st, &[s("1")]);
        retract(&a, &mut st, &[s("1")]);
        assert_eq!((a.result)(&st), s("1"));
        retract(&a, &mut st, &[s("1")]);
        assert_eq!((a.result)(&st), Value::Null);
        (a.add)(&mut st, &[s("2")]);
        assert_eq!((a.result)(&st), s("2"));
        (a.add)(&mut st, &[s("3")]);
        assert_eq!((a.result)(&st), Value::Null);
        retract(&a, &mut st, &[s("3")]);
        assert_eq!((a.result)(&st), s("2"));
        let x = fold(&a, &[vec![s("x")]]);
        assert_eq!(merged(&a, &x, &x), s("x"));
        let y = fold(&a, &[vec![s("y")]]);
        assert_eq!(merged(&a, &x, &y), Value::Null);
    }

    #[test]
    fn sum_list() {
        let t = SqlType::Array(Box::new(SqlType::Int));
        let l = resolve("SUM_LIST", &[t], &[None]);
        assert_eq!(l.return_type, SqlType::Int);
        let out = run(
            &l,
            &[
                vec![arr(vec![int(1), int(2)])],
                vec![Value::Null],
                vec![arr(vec![int(3), Value::Null])],
            ],
        );
        assert_eq!(out, vec![int(3), int(3), int(6)]);
        let mut st = fold(
            &l,
            &[vec![arr(vec![int(1), int(2)])], vec![arr(vec![int(4)])]],
        );
        retract(&l, &mut st, &[arr(vec![int(1), int(2)])]);
        assert_eq!((l.result)(&st), int(4));
        assert_eq!(merged(&l, &st, &st), int(8));
        let d = resolve(
            "SUM_LIST",
            &[SqlType::Array(Box::new(SqlType::Double))],
            &[None],
        );
        assert_eq!(run(&d, &[vec![arr(vec![dbl(1.5), dbl(2.0)])]])[0], dbl(3.5));
        let b = resolve(
            "SUM_LIST",
            &[SqlType::Array(Box::new(SqlType::BigInt))],
            &[None],
        );
        assert_eq!(b.return_type, SqlType::BigInt);
        assert!(resolve_err("SUM_LIST", &[SqlType::Int], &[None]).contains("does not accept"));
        assert!(resolve_err(
            "SUM_LIST",
            &[SqlType::Array(Box::new(SqlType::String))],
            &[None]
        )
        .contains("does not accept"));
    }

    #[test]
    fn every_function_is_registered_and_unknown_errors() {
        let reg = super::super::AggregateRegistry::global();
        for name in [
            "COUNT",
            "COUNT_DISTINCT",
            "SUM",
            "AVG",
            "MIN",
            "MAX",
            "TOPK",
            "TOPKDISTINCT",
            "COLLECT_LIST",
            "COLLECT_SET",
            "HISTOGRAM",
            "EARLIEST_BY_OFFSET",
            "LATEST_BY_OFFSET",
            "STDDEV_SAMP",
            "STDDEV_SAMPLE",
            "CORRELATION",
            "ATTR",
            "SUM_LIST",
        ] {
            assert!(reg.get(name).is_some(), "{name}");
        }
        assert_eq!(
            resolve_err("wont_find_me", &[], &[]),
            "Can't find any functions with the name 'WONT_FIND_ME'"
        );
    }
}
