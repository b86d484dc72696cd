//! COUNT, SUM, AVG, MIN and MAX.
//!
//! As in ksqlDB: COUNT is BIGINT; SUM keeps its argument's type (INT and
//! BIGINT wrap on overflow like Java's, DECIMAL(p, s) fails the query when
//! the sum no longer fits); AVG is DOUBLE over a STRUCT<SUM, COUNT> state
//! (0.0 before any value), with DECIMAL averaged as DOUBLE. Nulls are
//! skipped by all but COUNT(*). MIN and MAX order numbers, strings, bytes
//! and dates/times, and cannot be undone, so ksqlDB rejects them on tables.

use super::{
    call_args, f64_of, field, i32_of, i64_of, is_orderable, java_cmp, make_struct, raise,
    set_field, value_at, AggregateRegistry, NumKind, ResolvedAggregate,
};
use crate::error::{Error, Result};
use crate::functions::no_signature;
use crate::types::{Decimal, SqlType, Value};
use std::cmp::Ordering;

/// Registers this family's functions.
pub fn register(reg: &mut AggregateRegistry) {
    reg.add(
        "COUNT",
        "Counts the rows, or the non-null values of the argument.",
        resolve_count,
    );
    reg.add(
        "SUM",
        "Sums the non-null values of a numeric column.",
        resolve_sum,
    );
    reg.add(
        "AVG",
        "Returns the average of the non-null values of a numeric column.",
        resolve_avg,
    );
    reg.add(
        "MIN",
        "Returns the smallest non-null value of the column.",
        |a, l| resolve_extreme("MIN", Ordering::Less, a, l),
    );
    reg.add(
        "MAX",
        "Returns the largest non-null value of the column.",
        |a, l| resolve_extreme("MAX", Ordering::Greater, a, l),
    );
}

fn resolve_count(args: &[SqlType], literals: &[Option<Value>]) -> Result<ResolvedAggregate> {
    let call = call_args(args, literals);
    if call.len() > 1 {
        return Err(no_signature("COUNT", args));
    }
    // COUNT(*) counts rows; COUNT(x) the rows where x is not null.
    let column = call.first().map(|a| a.literal.clone());
    let counts = move |values: &[Value]| match &column {
        None => true,
        Some(lit) => !value_at(values, 0, lit).is_null(),
    };
    let counts_too = counts.clone();
    Ok(ResolvedAggregate::new(
        SqlType::BigInt,
        SqlType::BigInt,
        Value::BigInt(0),
        move |st, values| {
            if counts(values) {
                *st = Value::BigInt(i64_of(st).wrapping_add(1));
            }
        },
        |st| Value::BigInt(i64_of(st)),
    )
    .with_retract(move |st, values| {
        if counts_too(values) {
            *st = Value::BigInt(i64_of(st).wrapping_sub(1));
        }
    })
    .with_merge(|st, other| *st = Value::BigInt(i64_of(st).wrapping_add(i64_of(other)))))
}

fn resolve_sum(args: &[SqlType], literals: &[Option<Value>]) -> Result<ResolvedAggregate> {
    let call = call_args(args, literals);
    let [arg] = call.as_slice() else {
        return Err(no_signature("SUM", args));
    };
    let lit = arg.literal.clone();
    let lit_undo = lit.clone();
    let agg = match arg.ty {
        SqlType::Int => ResolvedAggregate::new(
            SqlType::Int,
            SqlType::Int,
            Value::Int(0),
            move |st, values| {
                let v = value_at(values, 0, &lit);
                if !v.is_null() {
                    *st = Value::Int(i32_of(st).wrapping_add(i32_of(v)));
                }
            },
            |st| Value::Int(i32_of(st)),
        )
        .with_retract(move |st, values| {
            let v = value_at(values, 0, &lit_undo);
            if !v.is_null() {
                *st = Value::Int(i32_of(st).wrapping_sub(i32_of(v)));
            }
        })
        .with_merge(|st, other| *st = Value::Int(i32_of(st).wrapping_add(i32_of(other)))),
        SqlType::BigInt => ResolvedAggregate::new(
            SqlType::BigInt,
            SqlType::BigInt,
            Value::BigInt(0),
            move |st, values| {
                let v = value_at(values, 0, &lit);
                if !v.is_null() {
                    *st = Value::BigInt(i64_of(st).wrapping_add(i64_of(v)));
                }
            },
            |st| Value::BigInt(i64_of(st)),
        )
        .with_retract(move |st, values| {
            let v = value_at(values, 0, &lit_undo);
            if !v.is_null() {
                *st = Value::BigInt(i64_of(st).wrapping_sub(i64_of(v)));
            }
        })
        .with_merge(|st, other| *st = Value::BigInt(i64_of(st).wrapping_add(i64_of(other)))),
        SqlType::Double => ResolvedAggregate::new(
            SqlType::Double,
            SqlType::Double,
            Value::Double(0.0),
            move |st, values| {
                let v = value_at(values, 0, &lit);
                if !v.is_null() {
                    *st = Value::Double(f64_of(st) + f64_of(v));
                }
            },
            |st| Value::Double(f64_of(st)),
        )
        .with_retract(move |st, values| {
            let v = value_at(values, 0, &lit_undo);
            if !v.is_null() {
                *st = Value::Double(f64_of(st) - f64_of(v));
            }
        })
        .with_merge(|st, other| *st = Value::Double(f64_of(st) + f64_of(other))),
        SqlType::Decimal(p, s) => decimal_sum(p, s, lit, lit_undo),
        _ => return Err(no_signature("SUM", args)),
    };
    Ok(agg)
}

/// SUM over DECIMAL(p, s): exact, failing (state unchanged, error raised)
/// when the sum needs more than p - s integer digits, as ksqlDB does.
fn decimal_sum(p: u8, s: u8, lit: Option<Value>, lit_undo: Option<Value>) -> ResolvedAggregate {
    let ty = SqlType::Decimal(p, s);
    let zero = Decimal::new(0, s);
    let dec = move |v: &Value| v.as_decimal().and_then(|d| d.rescale(s));
    ResolvedAggregate::new(
        ty.clone(),
        ty,
        Value::Decimal(zero),
        move |st, values| {
            let Some(v) = dec(value_at(values, 0, &lit)) else {
                return;
            };
            let current = dec(st).unwrap_or(zero);
            match current.add(&v) {
                Some(sum) if sum.fit(p, s).is_some() => *st = Value::Decimal(sum),
                Some(sum) => raise(overflow(p, s, &sum)),
                None => raise(overflow(p, s, &current)),
            }
        },
        move |st| match st {
            Value::Null => Value::Decimal(zero),
            v => v.clone(),
        },
    )
    .with_retract(move |st, values| {
        if let Some(v) = dec(value_at(values, 0, &lit_undo)) {
            if let Some(d) = dec(st).and_then(|c| c.sub(&v)) {
                *st = Value::Decimal(d);
            }
        }
    })
    .with_merge(move |st, other| {
        if let (Some(a), Some(b)) = (dec(st), dec(other)) {
            if let Some(d) = a.add(&b) {
                *st = Value::Decimal(d);
            }
        }
    })
}

/// ksqlDB's error for a DECIMAL sum that outgrew its precision; the value
/// shown is rounded to `p` significant digits, as BigDecimal does.
fn overflow(p: u8, s: u8, sum: &Decimal) -> Error {
    Error::eval(format!(
        "Numeric field overflow: A field with precision {p} and scale {s} must round to an \
         absolute value less than 10^{}. Got {}",
        p - s,
        round_to_precision(sum, p)
    ))
}

/// Renders `d` rounded HALF_UP to `p` significant digits, in plain form.
fn round_to_precision(d: &Decimal, p: u8) -> String {
    let digits = d.unscaled.unsigned_abs().to_string().len() as u32;
    let p = u32::from(p.max(1));
    if digits <= p {
        return d.to_string();
    }
    let drop = digits - p;
    let scale = u32::from(d.scale);
    if drop <= scale {
        d.rescale((scale - drop) as u8)
            .map(|r| r.to_string())
            .unwrap_or_else(|| d.to_string())
    } else {
        // Rounded past the decimal point: the kept digits then zeros.
        let r = d.rescale(0).map(|r| r.unscaled).unwrap_or(0);
        let extra = drop - scale;
        let f = 10i128.pow(extra);
        let q = r / f;
        let rem = r % f;
        let q = if rem.unsigned_abs() * 2 >= f.unsigned_abs() {
            q + r.signum()
        } else {
            q
        };
        format!("{}{}", q, "0".repeat(extra as usize))
    }
}

fn resolve_avg(args: &[SqlType], literals: &[Option<Value>]) -> Result<ResolvedAggregate> {
    let call = call_args(args, literals);
    let [arg] = call.as_slice() else {
        return Err(no_signature("AVG", args));
    };
    // ksqlDB has INT, BIGINT and DOUBLE versions; DECIMAL widens to DOUBLE.
    let kind = match arg.ty {
        SqlType::Decimal(..) => NumKind::Double,
        ref t => NumKind::of(t).ok_or_else(|| no_signature("AVG", args))?,
    };
    let state_type = SqlType::Struct(vec![
        ("SUM".to_string(), kind.sql_type()),
        ("COUNT".to_string(), SqlType::BigInt),
    ]);
    let initial = make_struct(vec![("SUM", kind.zero()), ("COUNT", Value::BigInt(0))]);
    let step = move |st: &mut Value, v: &Value, sign: i32| {
        if v.is_null() {
            return;
        }
        let sum = kind.combine(field(st, 0), v, sign);
        let count = i64_of(field(st, 1)).wrapping_add(i64::from(sign));
        set_field(st, 0, sum);
        set_field(st, 1, Value::BigInt(count));
    };
    let lit = arg.literal.clone();
    let lit_undo = lit.clone();
    Ok(ResolvedAggregate::new(
        SqlType::Double,
        state_type,
        initial,
        move |st, values| step(st, value_at(values, 0, &lit), 1),
        |st| {
            let count = i64_of(field(st, 1));
            if count == 0 {
                Value::Double(0.0)
            } else {
                Value::Double(f64_of(field(st, 0)) / count as f64)
            }
        },
    )
    .with_retract(move |st, values| step(st, value_at(values, 0, &lit_undo), -1))
    .with_merge(move |st, other| {
        let sum = kind.combine(field(st, 0), field(other, 0), 1);
        let count = i64_of(field(st, 1)).wrapping_add(i64_of(field(other, 1)));
        set_field(st, 0, sum);
        set_field(st, 1, Value::BigInt(count));
    }))
}

/// MIN (`keep` = Less) or MAX (`keep` = Greater): the state is the
/// extreme value so far, NULL until a non-null value arrives.
fn resolve_extreme(
    name: &'static str,
    keep: Ordering,
    args: &[SqlType],
    literals: &[Option<Value>],
) -> Result<ResolvedAggregate> {
    let call = call_args(args, literals);
    let [arg] = call.as_slice() else {
        return Err(no_signature(name, args));
    };
    if !is_orderable(&arg.ty) {
        return Err(no_signature(name, args));
    }
    let pick = move |st: &mut Value, v: &Value| {
        if v.is_null() {
            return;
        }
        if st.is_null() || java_cmp(v, st) == keep {
            *st = v.clone();
        }
    };
    let lit = arg.literal.clone();
    Ok(ResolvedAggregate::new(
        arg.ty.clone(),
        arg.ty.clone(),
        Value::Null,
        move |st, values| pick(st, value_at(values, 0, &lit)),
        |st| st.clone(),
    )
    .with_merge(move |st, other| pick(st, other)))
}

#[cfg(test)]
mod tests {
    use super::super::take_error;
    use super::super::test_support::*;
    use crate::types::{SqlType, Value};

    #[test]
    fn count_star_and_column() {
        let star = resolve("COUNT", &[], &[]);
        assert_eq!(star.return_type, SqlType::BigInt);
        assert_eq!(
            run(&star, &[vec![], vec![], vec![]]),
            vec![big(1), big(2), big(3)]
        );
        let col = resolve("count", &[SqlType::String], &[None]);
        assert_eq!(
            run(&col, &[vec![s("a")], vec![Value::Null], vec![s("b")]]),
            vec![big(1), big(1), big(2)]
        );
        // COUNT(1): a literal argument the row may not carry.
        let lit = resolve("COUNT", &[SqlType::Int], &[Some(int(1))]);
        assert_eq!(run(&lit, &[vec![], vec![]]), vec![big(1), big(2)]);
    }

    #[test]
    fn count_retracts_back_to_zero_and_merges() {
        let c = resolve("COUNT", &[SqlType::BigInt], &[None]);
        let mut st = fold(&c, &[vec![big(3)], vec![big(3)]]);
        retract(&c, &mut st, &[big(3)]);
        assert_eq!((c.result)(&st), big(1));
        retract(&c, &mut st, &[Value::Null]);
        assert_eq!((c.result)(&st), big(1));
        retract(&c, &mut st, &[big(3)]);
        assert_eq!((c.result)(&st), big(0));
        let a = fold(&c, &[vec![big(1)], vec![big(2)]]);
        let b = fold(&c, &[vec![big(1)]]);
        assert_eq!(merged(&c, &a, &b), big(3));
        assert!(
            resolve_err("COUNT", &[SqlType::Int, SqlType::Int], &[]).contains("does not accept")
        );
    }

    #[test]
    fn sum_types_and_nulls() {
        let i = resolve("SUM", &[SqlType::Int], &[None]);
        assert_eq!(i.return_type, SqlType::Int);
        assert_eq!(
            run(
                &i,
                &[
                    vec![int(0)],
                    vec![int(100)],
                    vec![Value::Null],
                    vec![int(5)]
                ]
            ),
            vec![int(0), int(100), int(100), int(105)]
        );
        let l = resolve("SUM", &[SqlType::BigInt], &[Some(big(2))]);
        assert_eq!(run(&l, &[vec![], vec![]]), vec![big(2), big(4)]);
        let d = resolve("SUM", &[SqlType::Double], &[None]);
        assert_eq!(
            run(&d, &[vec![dbl(5.4)], vec![dbl(100.1)]]),
            vec![dbl(5.4), dbl(105.5)]
        );
        assert!(resolve_err("SUM", &[SqlType::String], &[None])
            .contains("Function 'SUM' does not accept parameters (STRING)"));
    }

    #[test]
    fn sum_decimal_keeps_type_and_overflows() {
        let d = resolve("SUM", &[SqlType::Decimal(6, 2)], &[None]);
        assert_eq!(d.return_type, SqlType::Decimal(6, 2));
        assert_eq!(d.state_type, SqlType::Decimal(6, 2));
        let out = run(&d, &[vec![dec("5.4")], vec![dec("100.1")]]);
        assert_eq!(out[1].to_string(), "105.50");
        assert!(conforms(&out[1], &d.state_type));

        let small = resolve("SUM", &[SqlType::Decimal(3, 1)], &[None]);
        let mut st = small.initial.clone();
        (small.add)(&mut st, &[dec("50.9")]);
        assert!(take_error().is_none());
        (small.add)(&mut st, &[dec("50.8")]);
        let err = take_error().expect("overflow").to_string();
        assert!(err.starts_with("Numeric field overflow"), "{err}");
        assert!(err.ends_with("Got 102"), "{err}");
        assert_eq!((small.result)(&st).to_string(), "50.9");
    }

    #[test]
    fn sum_retract_and_merge() {
        let i = resolve("SUM", &[SqlType::Int], &[None]);
        let mut st = fold(&i, &[vec![int(3)], vec![int(4)]]);
        retract(&i, &mut st, &[int(3)]);
        assert_eq!((i.result)(&st), int(4));
        let other = fold(&i, &[vec![int(10)]]);
        assert_eq!(merged(&i, &st, &other), int(14));
        let d = resolve("SUM", &[SqlType::Decimal(4, 1)], &[None]);
        let mut st = fold(&d, &[vec![dec("1.5")], vec![dec("2.5")]]);
        retract(&d, &mut st, &[dec("1.5")]);
        assert_eq!((d.result)(&st).to_string(), "2.5");
    }

    #[test]
    fn avg_matches_ksqldb() {
        let a = resolve("AVG", &[SqlType::Int], &[None]);
        assert_eq!(a.return_type, SqlType::Double);
        assert!(matches!(a.state_type, SqlType::Struct(_)));
        assert_eq!((a.result)(&a.initial), dbl(0.0));
        let out = run(
            &a,
            &[vec![int(1)], vec![int(2)], vec![int(2)], vec![Value::Null]],
        );
        assert_eq!(
            out,
            vec![
                dbl(1.0),
                dbl(1.5),
                dbl(1.6666666666666667),
                dbl(1.6666666666666667)
            ]
        );
        let l = resolve("AVG", &[SqlType::BigInt], &[None]);
        let out = run(&l, &[vec![big(-1)], vec![big(i64::MAX)], vec![big(1)]]);
        assert_eq!(out[1], dbl(4.611686018427388e18));
        assert_eq!(out[2], dbl(3.0744573456182584e18));
        let st = fold(&l, &[vec![big(1)], vec![big(2)]]);
        assert!(conforms(&st, &l.state_type));
    }

    #[test]
    fn avg_retract_merge_and_decimal() {
        let a = resolve("AVG", &[SqlType::Int], &[None]);
        let mut st = fold(&a, &[vec![int(1)], vec![int(2)]]);
        retract(&a, &mut st, &[int(1)]);
        (a.add)(&mut st, &[int(4)]);
        assert_eq!((a.result)(&st), dbl(3.0));
        let other = fold(&a, &[vec![int(6)]]);
        assert_eq!(merged(&a, &st, &other), dbl(4.0));
        let d = resolve("AVG", &[SqlType::Decimal(4, 2)], &[None]);
        assert_eq!(
            run(&d, &[vec![dec("1.50")], vec![dec("2.50")]])[1],
            dbl(2.0)
        );
        assert!(resolve_err("AVG", &[SqlType::String], &[None]).contains("does not accept"));
    }

    #[test]
    fn min_max_types_nulls_and_no_retract() {
        let max = resolve("MAX", &[SqlType::Int], &[None]);
        assert!(max.retract.is_none());
        assert_eq!(max.return_type, SqlType::Int);
        assert_eq!(
            run(
                &max,
                &[
                    vec![Value::Null],
                    vec![int(-5)],
                    vec![int(5)],
                    vec![Value::Null],
                    vec![int(2)]
                ]
            ),
            vec![Value::Null, int(-5), int(5), int(5), int(5)]
        );
        let min = resolve("MIN", &[SqlType::String], &[None]);
        assert_eq!(
            run(&min, &[vec![s("B")], vec![s("A")], vec![s("C")]]),
            vec![s("B"), s("A"), s("A")]
        );
        let min_dec = resolve("MIN", &[SqlType::Decimal(4, 2)], &[None]);
        assert_eq!(
            run(&min_dec, &[vec![dec("21.79")], vec![dec("-1.79")]])[1],
            dec("-1.79")
        );
        let max_ts = resolve("MAX", &[SqlType::Timestamp], &[None]);
        assert_eq!(
            run(
                &max_ts,
                &[vec![Value::Timestamp(5)], vec![Value::Timestamp(-100)]]
            )[1],
            Value::Timestamp(5)
        );
        let max_bytes = resolve("MAX", &[SqlType::Bytes], &[None]);
        assert_eq!(
            run(
                &max_bytes,
                &[
                    vec![Value::Bytes(vec![0x42])],
                    vec![Value::Bytes(vec![0x41])]
                ]
            )[1],
            Value::Bytes(vec![0x42])
        );
        let a = fold(&max, &[vec![int(3)]]);
        let b = fold(&max, &[vec![int(7)]]);
        assert_eq!(merged(&max, &a, &b), int(7));
        assert_eq!(merged(&max, &a, &max.initial), int(3));
        assert!(resolve_err("MIN", &[SqlType::Boolean], &[None])
            .contains("Function 'MIN' does not accept parameters (BOOLEAN)"));
    }
}
