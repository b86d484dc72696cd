//! STDDEV_SAMP, STDDEV_SAMPLE and CORRELATION, all DOUBLE, all undoable
//! and mergeable.
//!
//! Both standard deviations keep `STRUCT<SUM T, COUNT, M2 DOUBLE>` for
//! T = INT, BIGINT or DOUBLE (DECIMAL widens to DOUBLE) and update M2 with
//! the Youngs-Cramer recurrence, doing the integer parts in Java's integer
//! arithmetic so results match ksqlDB's to the bit. As in ksqlDB,
//! STDDEV_SAMP returns the sample *variance* (its COUNT is INTEGER and its
//! merge divides sums by counts in integers), while STDDEV_SAMPLE returns
//! the sample standard deviation (COUNT BIGINT); both are 0.0 for fewer than
//! two values. CORRELATION(x, y) keeps the running sums of the single-pass
//! Pearson formula and skips rows where either side is NULL.

use super::{
    call_args, f64_of, field, i32_of, i64_of, make_struct, value_at, AggregateRegistry,
    ResolvedAggregate,
};
use crate::error::Result;
use crate::functions::{accepts, no_signature};
use crate::types::{SqlType, Value};

/// Registers this family's functions.
pub fn register(reg: &mut AggregateRegistry) {
    reg.add(
        "STDDEV_SAMP",
        "Returns the sample variance of a numeric column (as ksqlDB computes it).",
        |a, l| resolve_stddev(Flavor::Samp, a, l),
    );
    reg.add(
        "STDDEV_SAMPLE",
        "Returns the sample standard deviation of a numeric column.",
        |a, l| resolve_stddev(Flavor::Sample, a, l),
    );
    reg.add(
        "CORRELATION",
        "Returns the Pearson correlation coefficient of two numeric columns.",
        resolve_correlation,
    );
}

/// Which of ksqlDB's two standard deviation UDAFs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// STDDEV_SAMP: INTEGER count, integer merge, variance result.
    Samp,
    /// STDDEV_SAMPLE: BIGINT count, double merge, square-root result.
    Sample,
}

/// The summed input's Java type.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Num {
    Int,
    Long,
    Double,
}

const SUM: usize = 0;
const COUNT: usize = 1;
const M2: usize = 2;

/// A decoded standard deviation state.
#[derive(Clone, Copy)]
struct Acc {
    sum_i: i64,
    sum_d: f64,
    count: i64,
    m2: f64,
}

struct StdDev {
    flavor: Flavor,
    num: Num,
}

impl StdDev {
    fn decode(&self, st: &Value) -> Acc {
        Acc {
            sum_i: i64_of(field(st, SUM)),
            sum_d: f64_of(field(st, SUM)),
            count: i64_of(field(st, COUNT)),
            m2: f64_of(field(st, M2)),
        }
    }

    fn encode(&self, a: &Acc) -> Value {
        let sum = match self.num {
            Num::Int => Value::Int(a.sum_i as i32),
            Num::Long => Value::BigInt(a.sum_i),
            Num::Double => Value::Double(a.sum_d),
        };
        let count = match self.flavor {
            Flavor::Samp => Value::Int(a.count as i32),
            Flavor::Sample => Value::BigInt(a.count),
        };
        make_struct(vec![
            ("SUM", sum),
            ("COUNT", count),
            ("M2", Value::Double(a.m2)),
        ])
    }

    /// Wraps a count to the state's Java type.
    fn count(&self, c: i64) -> i64 {
        match self.flavor {
            Flavor::Samp => c as i32 as i64,
            Flavor::Sample => c,
        }
    }

    /// `v * (COUNT + 1) - (SUM + v)`, with ksqlDB's Java types.
    fn delta(&self, a: &Acc, v: &Value) -> f64 {
        match (self.flavor, self.num) {
            (_, Num::Double) => {
                let x = f64_of(v);
                x * (a.count as f64 + 1.0) - (a.sum_d + x)
            }
            (Flavor::Samp, Num::Int) => {
                let x = i32_of(v);
                let sum = a.sum_i as i32;
                x.wrapping_mul((a.count as i32).wrapping_add(1))
                    .wrapping_sub(sum.wrapping_add(x)) as f64
            }
            (Flavor::Samp, Num::Long) => {
                let x = i64_of(v);
                x.wrapping_mul(i64::from((a.count as i32).wrapping_add(1)))
                    .wrapping_sub(a.sum_i.wrapping_add(x)) as f64
            }
            (Flavor::Sample, Num::Int) => {
                let x = i32_of(v);
                let sum = a.sum_i as i32;
                i64::from(x)
                    .wrapping_mul(a.count.wrapping_add(1))
                    .wrapping_sub(i64::from(sum.wrapping_add(x))) as f64
            }
            (Flavor::Sample, Num::Long) => {
                let x = i64_of(v);
                x.wrapping_mul(a.count.wrapping_add(1))
                    .wrapping_sub(a.sum_i.wrapping_add(x)) as f64
            }
        }
    }

    /// SUM plus (or minus) one value, wrapping like Java.
    fn sum_with(&self, a: &mut Acc, v: &Value, sign: i64) {
        match self.num {
            Num::Int => {
                a.sum_i =
                    i64::from((a.sum_i as i32).wrapping_add(i32_of(v).wrapping_mul(sign as i32)))
            }
            Num::Long => a.sum_i = a.sum_i.wrapping_add(i64_of(v).wrapping_mul(sign)),
            Num::Double => a.sum_d += f64_of(v) * sign as f64,
        }
    }

    fn add(&self, st: &mut Value, v: &Value) {
        if v.is_null() {
            return;
        }
        let mut a = self.decode(st);
        let new_count = self.count(a.count + 1);
        let m2 = if new_count - 1 > 0 {
            let d = self.delta(&a, v);
            d * d / self.count(new_count.wrapping_mul(new_count - 1)) as f64
        } else {
            0.0
        };
        self.sum_with(&mut a, v, 1);
        a.count = new_count;
        a.m2 += m2;
        *st = self.encode(&a);
    }

    fn undo(&self, st: &mut Value, v: &Value) {
        if v.is_null() {
            return;
        }
        let mut a = self.decode(st);
        let new_count = self.count(a.count - 1);
        let m2 = if new_count > 0 {
            let d = self.delta(&a, v);
            d * d / self.count(new_count.wrapping_mul(new_count + 1)) as f64
        } else {
            0.0
        };
        self.sum_with(&mut a, v, -1);
        a.count = new_count;
        a.m2 -= m2;
        *st = self.encode(&a);
    }

    fn merge(&self, st: &mut Value, other: &Value) {
        let a = self.decode(st);
        let b = self.decode(other);
        let count = self.count(a.count + b.count);
        let m2 = if a.count == 0 || b.count == 0 {
            a.m2 + b.m2
        } else {
            let inner = match (self.flavor, self.num) {
                (_, Num::Double) => a.sum_d / a.count as f64 - b.sum_d / b.count as f64,
                // STDDEV_SAMP divides in integers, as ksqlDB does.
                (Flavor::Samp, Num::Int) => {
                    ((a.sum_i as i32).wrapping_div(a.count as i32)
                        - (b.sum_i as i32).wrapping_div(b.count as i32)) as f64
                }
                (Flavor::Samp, Num::Long) => {
                    (a.sum_i.wrapping_div(a.count) - b.sum_i.wrapping_div(b.count)) as f64
                }
                (Flavor::Sample, _) => {
                    a.sum_i as f64 / a.count as f64 - b.sum_i as f64 / b.count as f64
                }
            };
            a.m2 + b.m2
                + self.count(a.count.wrapping_mul(b.count)) as f64 * inner * inner / count as f64
        };
        let mut out = Acc {
            sum_i: a.sum_i,
            sum_d: a.sum_d + b.sum_d,
            count,
            m2,
        };
        out.sum_i = match self.num {
            Num::Int => i64::from((a.sum_i as i32).wrapping_add(b.sum_i as i32)),
            _ => a.sum_i.wrapping_add(b.sum_i),
        };
        *st = self.encode(&out);
    }

    fn result(&self, st: &Value) -> Value {
        let a = self.decode(st);
        if a.count < 2 {
            return Value::Double(0.0);
        }
        let v = a.m2 / (a.count - 1) as f64;
        Value::Double(match self.flavor {
            Flavor::Samp => v,
            Flavor::Sample => v.sqrt(),
        })
    }
}

fn resolve_stddev(
    flavor: Flavor,
    args: &[SqlType],
    literals: &[Option<Value>],
) -> Result<ResolvedAggregate> {
    let name = match flavor {
        Flavor::Samp => "STDDEV_SAMP",
        Flavor::Sample => "STDDEV_SAMPLE",
    };
    let call = call_args(args, literals);
    let [arg] = call.as_slice() else {
        return Err(no_signature(name, args));
    };
    let (num, sum_type) = match arg.ty {
        SqlType::Int => (Num::Int, SqlType::Int),
        SqlType::BigInt => (Num::Long, SqlType::BigInt),
        SqlType::Double | SqlType::Decimal(..) => (Num::Double, SqlType::Double),
        _ => return Err(no_signature(name, args)),
    };
    let count_type = match flavor {
        Flavor::Samp => SqlType::Int,
        Flavor::Sample => SqlType::BigInt,
    };
    let state_type = SqlType::Struct(vec![
        ("SUM".to_string(), sum_type),
        ("COUNT".to_string(), count_type),
        ("M2".to_string(), SqlType::Double),
    ]);
    let sd = std::sync::Arc::new(StdDev { flavor, num });
    let initial = sd.encode(&Acc {
        sum_i: 0,
        sum_d: 0.0,
        count: 0,
        m2: 0.0,
    });
    let (sd_add, sd_undo, sd_merge) = (sd.clone(), sd.clone(), sd.clone());
    let lit = arg.literal.clone();
    let lit_undo = lit.clone();
    Ok(ResolvedAggregate::new(
        SqlType::Double,
        state_type,
        initial,
        move |st, values| sd_add.add(st, value_at(values, 0, &lit)),
        move |st| sd.result(st),
    )
    .with_retract(move |st, values| sd_undo.undo(st, value_at(values, 0, &lit_undo)))
    .with_merge(move |st, other| sd_merge.merge(st, other)))
}

const CORRELATION_FIELDS: [&str; 6] = [
    "X_SUM",
    "Y_SUM",
    "X_SQUARED_SUM",
    "Y_SQUARED_SUM",
    "XY_SUM",
    "COUNT",
];

fn resolve_correlation(args: &[SqlType], literals: &[Option<Value>]) -> Result<ResolvedAggregate> {
    let call = call_args(args, literals);
    let [x, y] = call.as_slice() else {
        return Err(no_signature("CORRELATION", args));
    };
    if !accepts(&SqlType::Double, &x.ty) || !accepts(&SqlType::Double, &y.ty) {
        return Err(no_signature("CORRELATION", args));
    }
    let state_type = SqlType::Struct(
        CORRELATION_FIELDS
            .iter()
            .map(|n| {
                let t = if *n == "COUNT" {
                    SqlType::BigInt
                } else {
                    SqlType::Double
                };
                (n.to_string(), t)
            })
            .collect(),
    );
    let encode = |s: [f64; 5], count: i64| -> Value {
        let mut fields: Vec<(&str, Value)> = CORRELATION_FIELDS[..5]
            .iter()
            .zip(s)
            .map(|(n, v)| (*n, Value::Double(v)))
            .collect();
        fields.push(("COUNT", Value::BigInt(count)));
        make_struct(fields)
    };
    let decode = |st: &Value| -> ([f64; 5], i64) {
        let mut s = [0.0; 5];
        for (i, v) in s.iter_mut().enumerate() {
            *v = f64_of(field(st, i));
        }
        (s, i64_of(field(st, 5)))
    };
    let step = move |st: &mut Value, x: &Value, y: &Value, sign: f64| {
        if x.is_null() || y.is_null() {
            return;
        }
        let (x, y) = (f64_of(x), f64_of(y));
        let (mut s, count) = decode(st);
        let terms = [x, y, x * x, y * y, x * y];
        for (acc, t) in s.iter_mut().zip(terms) {
            *acc += sign * t;
        }
        *st = encode(s, count + sign as i64);
    };
    let (lx, ly) = (x.literal.clone(), y.literal.clone());
    let (ux, uy) = (lx.clone(), ly.clone());
    Ok(ResolvedAggregate::new(
        SqlType::Double,
        state_type,
        encode([0.0; 5], 0),
        move |st, values| step(st, value_at(values, 0, &lx), value_at(values, 1, &ly), 1.0),
        move |st| {
            let ([sx, sy, sxx, syy, sxy], n) = decode(st);
            let n = n as f64;
            let numerator = n * sxy - sx * sy;
            let dx = n * sxx - sx * sx;
            let dy = n * syy - sy * sy;
            Value::Double(numerator / (dx * dy).sqrt())
        },
    )
    .with_retract(move |st, values| {
        step(st, value_at(values, 0, &ux), value_at(values, 1, &uy), -1.0)
    })
    .with_merge(move |st, other| {
        let (mut a, n) = decode(st);
        let (b, m) = decode(other);
        for (x, y) in a.iter_mut().zip(b) {
            *x += y;
        }
        *st = encode(a, n + m);
    }))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn results(name: &str, t: SqlType, rows: &[Value]) -> Vec<Value> {
        let agg = resolve(name, &[t], &[None]);
        let rows: Vec<Vec<Value>> = rows.iter().map(|v| vec![v.clone()]).collect();
        run(&agg, &rows)
    }

    #[test]
    fn stddev_sample_matches_ksqldb() {
        let out = results(
            "STDDEV_SAMPLE",
            SqlType::BigInt,
            &[big(2147483648), big(100), big(-2), Value::Null],
        );
        assert_eq!(
            out,
            vec![
                dbl(0.0),
                dbl(1518500179.2773468),
                dbl(1239850233.9629574),
                dbl(1239850233.9629574)
            ]
        );
        let out = results(
            "STDDEV_SAMPLE",
            SqlType::Double,
            &[dbl(9223372036854.775), dbl(300.8), dbl(-200000.6), dbl(0.0)],
        );
        assert_eq!(
            out,
            vec![
                dbl(0.0),
                dbl(6521908912453.693),
                dbl(5325116385962.54),
                dbl(4611686051710.689)
            ]
        );
        let out = results(
            "STDDEV_SAMPLE",
            SqlType::Double,
            &[dbl(10.0), dbl(12.0), dbl(13.0), dbl(14.0), dbl(16.0)],
        );
        assert_eq!(out[4], dbl(2.23606797749979));
    }

    #[test]
    fn stddev_samp_is_variance() {
        let out = results(
            "STDDEV_SAMP",
            SqlType::Int,
            &[int(0), int(10), int(7), int(6)],
        );
        assert_eq!(
            out,
            vec![
                dbl(0.0),
                dbl(50.0),
                dbl(26.333333333333332),
                dbl(17.583333333333332)
            ]
        );
        let out = results(
            "STDDEV_SAMP",
            SqlType::BigInt,
            &[big(500), big(100), big(0), big(-6), Value::Null],
        );
        assert_eq!(
            out,
            vec![
                dbl(0.0),
                dbl(80000.0),
                dbl(70000.0),
                dbl(57275.666666666664),
                dbl(57275.666666666664)
            ]
        );
        let out = results(
            "STDDEV_SAMP",
            SqlType::Double,
            &[dbl(10.0), dbl(12.0), dbl(13.0)],
        );
        assert_eq!(out[2], dbl(2.333333333333333));
    }

    #[test]
    fn stddev_state_retract_merge() {
        let agg = resolve("STDDEV_SAMPLE", &[SqlType::Int], &[None]);
        assert_eq!(
            agg.state_type,
            SqlType::Struct(vec![
                ("SUM".into(), SqlType::Int),
                ("COUNT".into(), SqlType::BigInt),
                ("M2".into(), SqlType::Double)
            ])
        );
        let mut st = fold(&agg, &[vec![int(2)], vec![int(4)], vec![int(9)]]);
        assert!(conforms(&st, &agg.state_type));
        retract(&agg, &mut st, &[int(9)]);
        let two = fold(&agg, &[vec![int(2)], vec![int(4)]]);
        assert_eq!((agg.result)(&st), (agg.result)(&two));
        retract(&agg, &mut st, &[Value::Null]);
        assert_eq!((agg.result)(&st), (agg.result)(&two));
        let a = fold(&agg, &[vec![int(2)], vec![int(4)]]);
        let b = fold(&agg, &[vec![int(4)], vec![int(8)]]);
        let all = fold(
            &agg,
            &[vec![int(2)], vec![int(4)], vec![int(4)], vec![int(8)]],
        );
        let Value::Double(m) = merged(&agg, &a, &b) else {
            panic!()
        };
        let Value::Double(f) = (agg.result)(&all) else {
            panic!()
        };
        assert!((m - f).abs() < 1e-12, "{m} vs {f}");
        assert_eq!(merged(&agg, &agg.initial, &a), (agg.result)(&a));

        let samp = resolve("STDDEV_SAMP", &[SqlType::Decimal(4, 1)], &[None]);
        assert!(
            matches!(&samp.state_type, SqlType::Struct(f) if f[1].1 == SqlType::Int && f[0].1 == SqlType::Double)
        );
        assert_eq!(
            run(&samp, &[vec![dec("1.0")], vec![dec("3.0")]])[1],
            dbl(2.0)
        );
        assert!(resolve_err("STDDEV_SAMP", &[SqlType::String], &[None]).contains("does not accept"));
    }

    #[test]
    fn correlation_matches_ksqldb() {
        let c = resolve(
            "CORRELATION",
            &[SqlType::Double, SqlType::Double],
            &[None, None],
        );
        assert_eq!(c.return_type, SqlType::Double);
        let out = run(
            &c,
            &[
                vec![dbl(1.5), dbl(8.0)],
                vec![dbl(-1.0), dbl(-2.0)],
                vec![dbl(-4.5), dbl(-1.0)],
                vec![Value::Null, dbl(-6.0)],
            ],
        );
        assert!(matches!(out[0], Value::Double(v) if v.is_nan()));
        assert_eq!(out[1], dbl(1.0));
        assert_eq!(out[2], dbl(0.7580764521133173));
        assert_eq!(out[3], dbl(0.7580764521133173));
        let ci = resolve("CORRELATION", &[SqlType::Int, SqlType::Int], &[None, None]);
        let out = run(
            &ci,
            &[
                vec![int(1), int(8)],
                vec![int(-1), int(-2)],
                vec![int(-4), int(-1)],
            ],
        );
        assert_eq!(out[2], dbl(0.7455284088780169));
        assert!(resolve_err(
            "CORRELATION",
            &[SqlType::String, SqlType::Double],
            &[None, None]
        )
        .contains("does not accept"));
    }

    #[test]
    fn correlation_retract_and_merge() {
        let c = resolve(
            "CORRELATION",
            &[SqlType::Double, SqlType::Double],
            &[None, None],
        );
        let mut st = fold(&c, &[vec![dbl(1.5), dbl(8.0)], vec![dbl(-3.5), dbl(-2.0)]]);
        assert_eq!((c.result)(&st), dbl(1.0));
        retract(&c, &mut st, &[dbl(1.5), dbl(8.0)]);
        (c.add)(&mut st, &[dbl(-1.0), dbl(-2.0)]);
        assert!(matches!((c.result)(&st), Value::Double(v) if v.is_nan()));
        (c.add)(&mut st, &[dbl(-4.5), dbl(-1.0)]);
        assert_eq!((c.result)(&st), dbl(-0.7205766921228921));
        assert!(conforms(&st, &c.state_type));
        let a = fold(&c, &[vec![dbl(1.5), dbl(8.0)]]);
        let b = fold(
            &c,
            &[vec![dbl(-1.0), dbl(-2.0)], vec![dbl(-4.5), dbl(-1.0)]],
        );
        assert_eq!(merged(&c, &a, &b), dbl(0.7580764521133173));
    }
}
