//! EARLIEST_BY_OFFSET and LATEST_BY_OFFSET.
//!
//! Forms: `(col)`, `(col, ignoreNulls)`, `(col, n)` and
//! `(col, n, ignoreNulls)`, with literal `n` (at least 1) and
//! `ignoreNulls` (true by default). Rows are added in offset order, so the
//! earliest is the first added and the latest the last. The single forms
//! keep `STRUCT<SEQ BIGINT, VAL T>` (SEQ is NULL until a value is taken, so
//! a taken NULL differs from nothing yet); the n forms keep
//! `ARRAY<STRUCT<SEQ BIGINT, VAL T>>` and return `ARRAY<T>`. SEQ orders the
//! entries of merged session windows. Neither can be undone, so ksqlDB
//! rejects them on tables.

use super::{
    call_args, field, int_literal, items, items_mut, make_struct, next_sequence, not_literal,
    value_at, AggregateRegistry, ResolvedAggregate,
};
use crate::error::{Error, Result};
use crate::functions::no_signature;
use crate::types::{SqlType, Value};

/// Registers this family's functions.
pub fn register(reg: &mut AggregateRegistry) {
    reg.add(
        "EARLIEST_BY_OFFSET",
        "Returns the earliest value (or n values) of a column, by offset.",
        |a, l| resolve_by_offset(Which::Earliest, a, l),
    );
    reg.add(
        "LATEST_BY_OFFSET",
        "Returns the latest value (or n values) of a column, by offset.",
        |a, l| resolve_by_offset(Which::Latest, a, l),
    );
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Earliest,
    Latest,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Which::Earliest => "EARLIEST_BY_OFFSET",
            Which::Latest => "LATEST_BY_OFFSET",
        }
    }
}

const SEQ: usize = 0;
const VAL: usize = 1;

fn entry_type(t: &SqlType) -> SqlType {
    SqlType::Struct(vec![
        ("SEQ".to_string(), SqlType::BigInt),
        ("VAL".to_string(), t.clone()),
    ])
}

fn entry(v: &Value) -> Value {
    make_struct(vec![
        ("SEQ", Value::BigInt(next_sequence())),
        ("VAL", v.clone()),
    ])
}

fn seq(e: &Value) -> Option<i64> {
    field(e, SEQ).as_i64()
}

fn bool_param(which: Which, index: usize, lit: &Option<Value>) -> Result<bool> {
    match lit {
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(Error::plan(format!(
            "Parameter {} passed to function {} must be a boolean, but was: {}",
            index + 1,
            which.name(),
            v
        ))),
        None => Err(not_literal(which.name(), index)),
    }
}

fn resolve_by_offset(
    which: Which,
    args: &[SqlType],
    literals: &[Option<Value>],
) -> Result<ResolvedAggregate> {
    let call = call_args(args, literals);
    let name = which.name();
    let (n, ignore_nulls) = match call.as_slice() {
        [_] => (None, true),
        [_, p] if p.ty == SqlType::Boolean => (None, bool_param(which, 1, &p.literal)?),
        [_, p] if p.ty.is_integral() => (Some(int_literal(name, 1, p)?), true),
        [_, p, q] if p.ty.is_integral() && q.ty == SqlType::Boolean => (
            Some(int_literal(name, 1, p)?),
            bool_param(which, 2, &q.literal)?,
        ),
        _ => return Err(no_signature(name, args)),
    };
    let t = call[0].ty.clone();
    let lit = call[0].literal.clone();
    match n {
        None => Ok(single(which, t, lit, ignore_nulls)),
        Some(n) if n >= 1 => Ok(many(
            which,
            t,
            lit,
            usize::try_from(n).unwrap_or(usize::MAX),
            ignore_nulls,
        )),
        Some(_) => Err(Error::plan(match which {
            Which::Earliest => "earliestN must be 1 or greater",
            Which::Latest => "latestN must be 1 or greater",
        })),
    }
}

fn single(which: Which, t: SqlType, lit: Option<Value>, ignore_nulls: bool) -> ResolvedAggregate {
    let initial = make_struct(vec![("SEQ", Value::Null), ("VAL", Value::Null)]);
    ResolvedAggregate::new(
        t.clone(),
        entry_type(&t),
        initial,
        move |st, values| {
            let v = value_at(values, 0, &lit);
            if v.is_null() && ignore_nulls {
                return;
            }
            if which == Which::Earliest && seq(st).is_some() {
                return;
            }
            *st = entry(v);
        },
        |st| field(st, VAL).clone(),
    )
    .with_merge(move |st, other| {
        // Nothing taken loses; with ignoreNulls a NULL value loses too;
        // then the lower (earliest) or higher (latest) sequence wins.
        let rank = |e: &Value| -> Option<i64> {
            let s = seq(e)?;
            if ignore_nulls && field(e, VAL).is_null() {
                return None;
            }
            Some(s)
        };
        let take_other = match (rank(st), rank(other)) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(a), Some(b)) => match which {
                Which::Earliest => b < a,
                Which::Latest => b > a,
            },
        };
        if take_other {
            *st = other.clone();
        }
    })
}

fn many(
    which: Which,
    t: SqlType,
    lit: Option<Value>,
    n: usize,
    ignore_nulls: bool,
) -> ResolvedAggregate {
    let state_type = SqlType::Array(Box::new(entry_type(&t)));
    ResolvedAggregate::new(
        SqlType::Array(Box::new(t)),
        state_type,
        Value::Array(Vec::new()),
        move |st, values| {
            let v = value_at(values, 0, &lit);
            if v.is_null() && ignore_nulls {
                return;
            }
            let list = items_mut(st);
            match which {
                Which::Earliest => {
                    if list.len() < n {
                        list.push(entry(v));
                    }
                }
                Which::Latest => {
                    list.push(entry(v));
                    if list.len() > n {
                        let extra = list.len() - n;
                        list.drain(..extra);
                    }
                }
            }
        },
        |st| Value::Array(items(st).iter().map(|e| field(e, VAL).clone()).collect()),
    )
    .with_merge(move |st, other| {
        let list = items_mut(st);
        list.extend(items(other).iter().cloned());
        list.sort_by_key(|e| seq(e).unwrap_or(i64::MIN));
        if list.len() > n {
            match which {
                Which::Earliest => list.truncate(n),
                Which::Latest => {
                    let extra = list.len() - n;
                    list.drain(..extra);
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn b(v: bool) -> Option<Value> {
        Some(Value::Bool(v))
    }

    #[test]
    fn earliest_single() {
        let e = resolve("EARLIEST_BY_OFFSET", &[SqlType::Int], &[None]);
        assert_eq!(e.return_type, SqlType::Int);
        assert_eq!(e.state_type, entry_type(&SqlType::Int));
        assert!(e.retract.is_none());
        assert_eq!(
            run(
                &e,
                &[
                    vec![Value::Null],
                    vec![int(12)],
                    vec![Value::Null],
                    vec![int(13)]
                ]
            ),
            vec![Value::Null, int(12), int(12), int(12)]
        );
        let keep_nulls = resolve(
            "EARLIEST_BY_OFFSET",
            &[SqlType::Int, SqlType::Boolean],
            &[None, b(false)],
        );
        let st = fold(&keep_nulls, &[vec![Value::Null], vec![int(13)]]);
        assert_eq!((keep_nulls.result)(&st), Value::Null);
        assert!(conforms(&st, &keep_nulls.state_type));
        let d = resolve(
            "EARLIEST_BY_OFFSET",
            &[SqlType::Decimal(3, 2), SqlType::Boolean],
            &[None, b(true)],
        );
        assert_eq!(
            run(&d, &[vec![dec("3.40")], vec![dec("8.90")]])[1],
            dec("3.40")
        );
    }

    #[test]
    fn latest_single() {
        let l = resolve("LATEST_BY_OFFSET", &[SqlType::Int], &[None]);
        assert_eq!(
            run(&l, &[vec![int(12)], vec![Value::Null], vec![int(13)]]),
            vec![int(12), int(12), int(13)]
        );
        let keep_nulls = resolve(
            "LATEST_BY_OFFSET",
            &[SqlType::Int, SqlType::Boolean],
            &[None, b(false)],
        );
        assert_eq!(
            run(
                &keep_nulls,
                &[vec![int(12)], vec![Value::Null], vec![int(13)]]
            ),
            vec![int(12), Value::Null, int(13)]
        );
        let st = SqlType::Struct(vec![("A".into(), SqlType::String)]);
        let l = resolve("LATEST_BY_OFFSET", std::slice::from_ref(&st), &[None]);
        assert_eq!(l.return_type, st);
    }

    #[test]
    fn n_forms() {
        let e = resolve(
            "EARLIEST_BY_OFFSET",
            &[SqlType::Int, SqlType::Int],
            &[None, Some(int(2))],
        );
        assert_eq!(e.return_type, SqlType::Array(Box::new(SqlType::Int)));
        assert_eq!(
            run(
                &e,
                &[
                    vec![int(12)],
                    vec![Value::Null],
                    vec![int(13)],
                    vec![int(14)]
                ]
            ),
            vec![
                arr(vec![int(12)]),
                arr(vec![int(12)]),
                arr(vec![int(12), int(13)]),
                arr(vec![int(12), int(13)])
            ]
        );
        assert_eq!((e.result)(&e.initial), arr(vec![]));
        let e = resolve(
            "EARLIEST_BY_OFFSET",
            &[SqlType::Int, SqlType::Int, SqlType::Boolean],
            &[None, Some(int(2)), b(false)],
        );
        assert_eq!(
            run(&e, &[vec![Value::Null], vec![int(13)]])[1],
            arr(vec![Value::Null, int(13)])
        );
        let l = resolve(
            "LATEST_BY_OFFSET",
            &[SqlType::Int, SqlType::Int],
            &[None, Some(int(2))],
        );
        let st = fold(
            &l,
            &[vec![int(1)], vec![int(2)], vec![Value::Null], vec![int(3)]],
        );
        assert_eq!((l.result)(&st), arr(vec![int(2), int(3)]));
        assert!(conforms(&st, &l.state_type));
        // Only the literal count (trailing literal) given.
        let e = resolve(
            "EARLIEST_BY_OFFSET",
            &[SqlType::Int, SqlType::Int, SqlType::Boolean],
            &[Some(int(2)), b(true)],
        );
        assert_eq!(run(&e, &[vec![int(1)]])[0], arr(vec![int(1)]));
    }

    #[test]
    fn merges_by_sequence() {
        // Session windows: [1] then [3]; a record between them merges both.
        let e = resolve("EARLIEST_BY_OFFSET", &[SqlType::Int], &[None]);
        let w1 = fold(&e, &[vec![int(1)]]);
        let w2 = fold(&e, &[vec![int(3)]]);
        let mut m = e.initial.clone();
        (e.merge.as_ref().unwrap())(&mut m, &w2);
        (e.merge.as_ref().unwrap())(&mut m, &w1);
        (e.add)(&mut m, &[int(2)]);
        assert_eq!((e.result)(&m), int(1));

        let l = resolve("LATEST_BY_OFFSET", &[SqlType::Int], &[None]);
        let w1 = fold(&l, &[vec![int(1)]]);
        let w2 = fold(&l, &[vec![Value::Null]]);
        assert_eq!(merged(&l, &w1, &w2), int(1));
        assert_eq!(merged(&l, &w2, &w1), int(1));
        let w3 = fold(&l, &[vec![int(2)]]);
        assert_eq!(merged(&l, &w3, &w1), int(2));

        let keep = resolve(
            "LATEST_BY_OFFSET",
            &[SqlType::Int, SqlType::Boolean],
            &[None, b(false)],
        );
        let a = fold(&keep, &[vec![int(1)]]);
        let n = fold(&keep, &[vec![Value::Null]]);
        assert_eq!(merged(&keep, &a, &n), Value::Null);
        assert_eq!(merged(&keep, &keep.initial, &a), int(1));

        let en = resolve(
            "EARLIEST_BY_OFFSET",
            &[SqlType::Int, SqlType::Int, SqlType::Boolean],
            &[None, Some(int(2)), b(false)],
        );
        let w1 = fold(&en, &[vec![Value::Null]]);
        let w2 = fold(&en, &[vec![int(1)]]);
        let mut m = en.initial.clone();
        (en.merge.as_ref().unwrap())(&mut m, &w2);
        (en.merge.as_ref().unwrap())(&mut m, &w1);
        (en.add)(&mut m, &[Value::Null]);
        assert_eq!((en.result)(&m), arr(vec![Value::Null, int(1)]));

        let ln = resolve(
            "LATEST_BY_OFFSET",
            &[SqlType::Int, SqlType::Int],
            &[None, Some(int(2))],
        );
        let w1 = fold(&ln, &[vec![int(1)], vec![int(2)]]);
        let w2 = fold(&ln, &[vec![int(3)]]);
        assert_eq!(merged(&ln, &w2, &w1), arr(vec![int(2), int(3)]));
    }

    #[test]
    fn errors() {
        assert!(resolve_err(
            "EARLIEST_BY_OFFSET",
            &[SqlType::Int, SqlType::Int],
            &[None, None]
        )
        .contains("Parameter 2 passed to function EARLIEST_BY_OFFSET must be a literal constant"));
        assert!(resolve_err(
            "LATEST_BY_OFFSET",
            &[SqlType::Int, SqlType::Int],
            &[None, Some(int(0))]
        )
        .contains("latestN must be 1 or greater"));
        assert!(resolve_err(
            "LATEST_BY_OFFSET",
            &[SqlType::Int, SqlType::String],
            &[None, Some(s("x"))]
        )
        .contains("does not accept"));
        assert!(resolve_err("LATEST_BY_OFFSET", &[], &[]).contains("does not accept"));
    }
}
