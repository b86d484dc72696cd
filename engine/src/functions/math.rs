//! ksqlDB's math functions: ABS, CEIL, FLOOR, ROUND, TRUNC, SIGN, the
//! exponential and logarithmic functions, POWER, the trigonometric family,
//! PI, RANDOM, GEO_DISTANCE and the variadic GREATEST / LEAST.
//!
//! Result types follow ksqlDB's overloads: ABS, CEIL and FLOOR keep their
//! argument's type; ROUND and TRUNC of a DOUBLE give a BIGINT, with decimal
//! places a DOUBLE, and keep DECIMAL for decimals; everything transcendental
//! is DOUBLE. ROUND breaks ties toward positive infinity, as Java's
//! `Math.round` does (ROUND(-1.5) = -1).
//!
//! This file also holds small helpers the collection and null functions
//! share: ksqlDB's natural ordering of values and DECIMAL widening.

use super::{accepts, no_signature, FunctionRegistry, Resolved};
use crate::error::{Error, Result};
use crate::types::{Decimal, SqlType, Value};
use std::cell::Cell;
use std::cmp::Ordering;

const CATEGORY: &str = "MATHEMATICAL";

/// Registers this family's functions.
pub fn register(reg: &mut FunctionRegistry) {
    reg.add(
        "ABS",
        CATEGORY,
        "Returns the absolute value of its argument.",
        resolve_abs,
    );
    reg.add(
        "CEIL",
        CATEGORY,
        "Returns the smallest integer greater than or equal to the argument.",
        |a| resolve_ceil_floor("Ceil", a, Rounding::Ceiling),
    );
    reg.add(
        "FLOOR",
        CATEGORY,
        "Returns the largest integer less than or equal to the argument.",
        |a| resolve_ceil_floor("Floor", a, Rounding::Floor),
    );
    reg.add(
        "ROUND",
        CATEGORY,
        "Rounds a value to the given number of decimal places (default 0); ties round toward \
         positive infinity.",
        |a| resolve_round_trunc("Round", a, Rounding::HalfTowardPositive),
    );
    reg.add(
        "TRUNC",
        CATEGORY,
        "Truncates a value toward zero to the given number of decimal places (default 0).",
        |a| resolve_round_trunc("trunc", a, Rounding::Down),
    );
    reg.add(
        "SIGN",
        CATEGORY,
        "Returns the sign of a value as an INTEGER: -1, 0 or 1.",
        resolve_sign,
    );
    reg.add(
        "SQRT",
        CATEGORY,
        "Returns the square root of a value.",
        |a| unary_double("sqrt", a, f64::sqrt),
    );
    reg.add("CBRT", CATEGORY, "Returns the cube root of a value.", |a| {
        unary_double("cbrt", a, f64::cbrt)
    });
    reg.add(
        "EXP",
        CATEGORY,
        "Returns e raised to the power of a value.",
        |a| unary_double("exp", a, f64::exp),
    );
    reg.add(
        "LN",
        CATEGORY,
        "Returns the natural logarithm of a value.",
        |a| unary_double("ln", a, f64::ln),
    );
    reg.add(
        "LOG",
        CATEGORY,
        "LOG(value) returns the natural logarithm of value; LOG(base, value) the logarithm of \
         value in the given base.",
        resolve_log,
    );
    reg.add(
        "POWER",
        CATEGORY,
        "Returns base raised to the power of exponent.",
        |a| binary_double("power", a, f64::powf),
    );
    reg.add(
        "SIN",
        CATEGORY,
        "Returns the sine of an angle in radians.",
        |a| unary_double("sin", a, f64::sin),
    );
    reg.add(
        "COS",
        CATEGORY,
        "Returns the cosine of an angle in radians.",
        |a| unary_double("cos", a, f64::cos),
    );
    reg.add(
        "TAN",
        CATEGORY,
        "Returns the tangent of an angle in radians.",
        |a| unary_double("tan", a, f64::tan),
    );
    reg.add(
        "COT",
        CATEGORY,
        "Returns the cotangent of an angle in radians.",
        |a| unary_double("cot", a, |x| 1.0 / x.tan()),
    );
    reg.add(
        "ASIN",
        CATEGORY,
        "Returns the arc sine of a value, in radians; NaN outside [-1, 1].",
        |a| unary_double("asin", a, f64::asin),
    );
    reg.add(
        "ACOS",
        CATEGORY,
        "Returns the arc cosine of a value, in radians; NaN outside [-1, 1].",
        |a| unary_double("acos", a, f64::acos),
    );
    reg.add(
        "ATAN",
        CATEGORY,
        "Returns the arc tangent of a value, in radians.",
        |a| unary_double("atan", a, f64::atan),
    );
    reg.add(
        "ATAN2",
        CATEGORY,
        "ATAN2(y, x) returns the angle theta of the point (x, y) in polar coordinates.",
        |a| binary_double("atan2", a, f64::atan2),
    );
    reg.add(
        "SINH",
        CATEGORY,
        "Returns the hyperbolic sine of a value.",
        |a| unary_double("sinh", a, f64::sinh),
    );
    reg.add(
        "COSH",
        CATEGORY,
        "Returns the hyperbolic cosine of a value.",
        |a| unary_double("cosh", a, f64::cosh),
    );
    reg.add(
        "TANH",
        CATEGORY,
        "Returns the hyperbolic tangent of a value.",
        |a| unary_double("tanh", a, f64::tanh),
    );
    reg.add("DEGREES", CATEGORY, "Converts radians to degrees.", |a| {
        unary_double("degrees", a, to_degrees)
    });
    reg.add("RADIANS", CATEGORY, "Converts degrees to radians.", |a| {
        unary_double("radians", a, to_radians)
    });
    reg.add("PI", CATEGORY, "Returns an approximate value of pi.", |a| {
        if !a.is_empty() {
            return Err(no_signature("pi", a));
        }
        Ok(Resolved::new(SqlType::Double, |_| {
            Ok(Value::Double(std::f64::consts::PI))
        }))
    });
    reg.add(
        "RANDOM",
        CATEGORY,
        "Returns a random DOUBLE value between 0.0 and 1.0.",
        |a| {
            if !a.is_empty() {
                return Err(no_signature("random", a));
            }
            Ok(Resolved::new(SqlType::Double, |_| {
                Ok(Value::Double(random_unit()))
            }))
        },
    );
    reg.add(
        "GEO_DISTANCE",
        CATEGORY,
        "The great-circle distance between two (lat, lon) points in decimal degrees, in KM \
         (default) or miles.",
        resolve_geo_distance,
    );
    reg.add(
        "GREATEST",
        CATEGORY,
        "Returns the highest non-null value among a variable number of comparable columns.",
        |a| resolve_extreme("greatest", a, Ordering::Greater),
    );
    reg.add(
        "LEAST",
        CATEGORY,
        "Returns the lowest non-null value among a variable number of comparable columns.",
        |a| resolve_extreme("least", a, Ordering::Less),
    );
}

// ---------------------------------------------------------------------------
// Shared helpers (also used by the collection and null functions).
// ---------------------------------------------------------------------------

static NULL: Value = Value::Null;

/// The `i`th evaluated argument, or NULL when the caller passed fewer.
pub(crate) fn arg(args: &[Value], i: usize) -> &Value {
    args.get(i).unwrap_or(&NULL)
}

/// The error ksqlDB gives when several overloads fit equally well.
pub(crate) fn ambiguous(name: &str, args: &[SqlType]) -> Error {
    let list: Vec<String> = args
        .iter()
        .map(|t| match t {
            SqlType::Null => "null".to_string(),
            t => t.to_string(),
        })
        .collect();
    Error::plan(format!(
        "Function '{}' cannot be resolved due to ambiguous method parameters ({}).",
        name,
        list.join(", ")
    ))
}

/// ksqlDB's DECIMAL widening: enough integer digits and enough scale for
/// both types. INT and BIGINT count as DECIMAL(10, 0) and DECIMAL(19, 0).
pub(crate) fn widen_decimal(a: &SqlType, b: &SqlType) -> Option<SqlType> {
    let (SqlType::Decimal(pa, sa), SqlType::Decimal(pb, sb)) = (a.as_decimal()?, b.as_decimal()?)
    else {
        return None;
    };
    let scale = sa.max(sb);
    let int_digits = pa.saturating_sub(sa).max(pb.saturating_sub(sb));
    Some(SqlType::Decimal(int_digits.saturating_add(scale), scale))
}

/// The natural order of two non-null values of one type, as Java's
/// `compareTo` sees them: doubles order -0.0 before 0.0 and NaN last, bytes
/// compare as signed bytes (`ByteBuffer`), everything else as SQL compares.
pub(crate) fn natural_cmp(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Double(x), Value::Double(y)) => x.total_cmp(y),
        (Value::Bytes(x), Value::Bytes(y)) => {
            let xs = x.iter().map(|&v| v as i8);
            let ys = y.iter().map(|&v| v as i8);
            xs.cmp(ys)
        }
        _ => a.total_cmp(b),
    }
}

/// How digits are dropped when rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rounding {
    /// Nearest, ties toward positive infinity (Java's `Math.round`).
    HalfTowardPositive,
    /// Toward zero.
    Down,
    /// Toward positive infinity.
    Ceiling,
    /// Toward negative infinity.
    Floor,
}

/// Rounds `d` to `places` digits after the point (before it when
/// negative) and returns the result at scale `out_scale`, which must be at
/// least `places`. None on overflow.
fn round_decimal(d: &Decimal, places: i32, mode: Rounding, out_scale: u8) -> Option<Decimal> {
    let scale = d.scale as i32;
    if places >= scale {
        return d.rescale(out_scale);
    }
    let drop = (scale - places) as u32;
    let (q, r, half) = if drop > 38 {
        // |unscaled| < 10^38 < half of 10^drop: everything is dropped.
        (0i128, d.unscaled, Ordering::Less)
    } else {
        let f = 10i128.pow(drop);
        let r = d.unscaled % f;
        (
            d.unscaled / f,
            r,
            (r.unsigned_abs() * 2).cmp(&f.unsigned_abs()),
        )
    };
    let q = match mode {
        Rounding::Down => q,
        Rounding::Ceiling if r > 0 => q + 1,
        Rounding::Floor if r < 0 => q - 1,
        Rounding::Ceiling | Rounding::Floor => q,
        Rounding::HalfTowardPositive if d.unscaled > 0 && half != Ordering::Less => q + 1,
        Rounding::HalfTowardPositive if d.unscaled < 0 && half == Ordering::Greater => q - 1,
        Rounding::HalfTowardPositive => q,
    };
    let shift = out_scale as i32 - places;
    if shift < 0 {
        return None;
    }
    let unscaled = q.checked_mul(10i128.checked_pow(shift as u32)?)?;
    Some(Decimal::new(unscaled, out_scale))
}

/// Rounds a double to `places` decimal places through its shortest decimal
/// form, as ksqlDB does with `BigDecimal.valueOf`.
fn round_double(x: f64, places: i32, mode: Rounding) -> Result<f64> {
    if !x.is_finite() {
        return Err(Error::eval(format!("Cannot round non-finite value {x}")));
    }
    if let Some(d) = Decimal::from_f64(x) {
        if places >= d.scale as i32 {
            return Ok(x);
        }
        if let Some(r) = round_decimal(&d, places, mode, places.max(0) as u8) {
            return Ok(r.to_f64());
        }
    }
    // Outside i128's reach: very large values are already integral, very
    // small ones round away entirely; fall back to binary arithmetic.
    if x.fract() == 0.0 && places >= 0 {
        return Ok(x);
    }
    let p = 10f64.powi(places);
    let y = x * p;
    let r = match mode {
        Rounding::HalfTowardPositive => java_round(y) as f64,
        Rounding::Down => y.trunc(),
        Rounding::Ceiling => y.ceil(),
        Rounding::Floor => y.floor(),
    };
    Ok(r / p)
}

/// Java's `Math.round(double)`: nearest integer, ties toward positive
/// infinity, NaN to 0, saturating at the i64 range.
fn java_round(x: f64) -> i64 {
    let f = x.floor();
    let r = if x - f >= 0.5 { f + 1.0 } else { f };
    r as i64
}

// ---------------------------------------------------------------------------
// Resolvers.
// ---------------------------------------------------------------------------

/// The single argument of a numeric overload set (INT, BIGINT, DOUBLE,
/// DECIMAL). An untyped NULL fits every overload and is ambiguous.
fn single_numeric<'a>(name: &str, args: &'a [SqlType]) -> Result<&'a SqlType> {
    match args {
        [SqlType::Null] => Err(ambiguous(name, args)),
        [t] if t.is_numeric() => Ok(t),
        _ => Err(no_signature(name, args)),
    }
}

fn resolve_abs(args: &[SqlType]) -> Result<Resolved> {
    let t = single_numeric("Abs", args)?;
    Ok(Resolved::new(t.clone(), |v| {
        Ok(match arg(v, 0) {
            Value::Int(i) => Value::Int(i.wrapping_abs()),
            Value::BigInt(i) => Value::BigInt(i.wrapping_abs()),
            Value::Double(d) => Value::Double(d.abs()),
            Value::Decimal(d) => Value::Decimal(if d.unscaled < 0 { d.neg() } else { *d }),
            _ => Value::Null,
        })
    }))
}

fn resolve_ceil_floor(name: &str, args: &[SqlType], mode: Rounding) -> Result<Resolved> {
    let t = single_numeric(name, args)?;
    Ok(Resolved::new(t.clone(), move |v| {
        Ok(match arg(v, 0) {
            Value::Double(d) => Value::Double(if mode == Rounding::Ceiling {
                d.ceil()
            } else {
                d.floor()
            }),
            Value::Decimal(d) => round_decimal(d, 0, mode, d.scale)
                .map(Value::Decimal)
                .ok_or_else(|| Error::eval(format!("Decimal overflow rounding {d}")))?,
            other => other.clone(),
        })
    }))
}

/// ROUND and TRUNC share their overloads and differ only in the rounding.
fn resolve_round_trunc(name: &str, args: &[SqlType], mode: Rounding) -> Result<Resolved> {
    let Some(first) = args.first() else {
        return Err(no_signature(name, args));
    };
    if first == &SqlType::Null {
        return Err(ambiguous(name, args));
    }
    if !first.is_numeric() {
        return Err(no_signature(name, args));
    }
    match args.len() {
        1 => match first {
            SqlType::Int | SqlType::BigInt => Ok(Resolved::new(SqlType::BigInt, |v| {
                Ok(arg(v, 0).as_i64().map_or(Value::Null, Value::BigInt))
            })),
            SqlType::Decimal(p, s) => {
                let ret = SqlType::Decimal(p.saturating_sub(*s).max(1), 0);
                Ok(Resolved::new(ret, move |v| match arg(v, 0) {
                    Value::Decimal(d) => round_decimal(d, 0, mode, 0)
                        .map(Value::Decimal)
                        .ok_or_else(|| Error::eval(format!("Decimal overflow rounding {d}"))),
                    _ => Ok(Value::Null),
                }))
            }
            _ => Ok(Resolved::new(SqlType::BigInt, move |v| {
                Ok(match arg(v, 0).as_f64() {
                    Some(x) if mode == Rounding::Down => Value::BigInt(x as i64),
                    Some(x) => Value::BigInt(java_round(x)),
                    None => Value::Null,
                })
            })),
        },
        2 if accepts(&SqlType::Int, &args[1]) => match first {
            SqlType::Decimal(_, s) => {
                let s = *s;
                Ok(Resolved::new(first.clone(), move |v| {
                    match (arg(v, 0), arg(v, 1).as_i64()) {
                        (Value::Decimal(d), Some(places)) => {
                            round_decimal(d, places as i32, mode, s.max(d.scale))
                                .map(Value::Decimal)
                                .ok_or_else(|| {
                                    Error::eval(format!("Decimal overflow rounding {d}"))
                                })
                        }
                        _ => Ok(Value::Null),
                    }
                }))
            }
            _ => Ok(Resolved::new(SqlType::Double, move |v| {
                match (arg(v, 0).as_f64(), arg(v, 1).as_i64()) {
                    (Some(x), Some(places)) => {
                        round_double(x, places as i32, mode).map(Value::Double)
                    }
                    _ => Ok(Value::Null),
                }
            })),
        },
        _ => Err(no_signature(name, args)),
    }
}

fn resolve_sign(args: &[SqlType]) -> Result<Resolved> {
    single_numeric("sign", args)?;
    Ok(Resolved::new(SqlType::Int, |v| {
        Ok(match arg(v, 0) {
            Value::Int(i) => Value::Int(i.signum()),
            Value::BigInt(i) => Value::Int(i.signum() as i32),
            other => match other.as_f64() {
                // Java's (int) Math.signum: NaN and -0.0 give 0.
                Some(x) if x > 0.0 => Value::Int(1),
                Some(x) if x < 0.0 => Value::Int(-1),
                Some(_) => Value::Int(0),
                None => Value::Null,
            },
        })
    }))
}

/// A DOUBLE -> DOUBLE function; narrower numeric arguments widen.
fn unary_double(name: &str, args: &[SqlType], op: fn(f64) -> f64) -> Result<Resolved> {
    if args.len() != 1 || !accepts(&SqlType::Double, &args[0]) {
        return Err(no_signature(name, args));
    }
    Ok(Resolved::new(SqlType::Double, move |v| {
        Ok(arg(v, 0)
            .as_f64()
            .map_or(Value::Null, |x| Value::Double(op(x))))
    }))
}

/// A (DOUBLE, DOUBLE) -> DOUBLE function; NULL when either is NULL.
fn binary_double(name: &str, args: &[SqlType], op: fn(f64, f64) -> f64) -> Result<Resolved> {
    if args.len() != 2 || !args.iter().all(|t| accepts(&SqlType::Double, t)) {
        return Err(no_signature(name, args));
    }
    Ok(Resolved::new(SqlType::Double, move |v| {
        Ok(match (arg(v, 0).as_f64(), arg(v, 1).as_f64()) {
            (Some(a), Some(b)) => Value::Double(op(a, b)),
            _ => Value::Null,
        })
    }))
}

fn resolve_log(args: &[SqlType]) -> Result<Resolved> {
    match args.len() {
        // ksqlDB's one-argument LOG is the natural logarithm.
        1 => unary_double("log", args, f64::ln),
        _ => binary_double("log", args, |base, value| {
            if base <= 0.0 || base == 1.0 {
                f64::NAN
            } else {
                value.ln() / base.ln()
            }
        }),
    }
}

const EARTH_RADIUS_KM: f64 = 6371.0;
const EARTH_RADIUS_MILES: f64 = 3959.0;

fn resolve_geo_distance(args: &[SqlType]) -> Result<Resolved> {
    let coords_ok = args.len() >= 4 && args[..4].iter().all(|t| accepts(&SqlType::Double, t));
    let unit_ok = match args.len() {
        4 => true,
        5 => accepts(&SqlType::String, &args[4]),
        _ => false,
    };
    if !coords_ok || !unit_ok {
        return Err(no_signature("geo_distance", args));
    }
    Ok(Resolved::new(SqlType::Double, |v| {
        let coords: Option<Vec<f64>> = (0..4).map(|i| arg(v, i).as_f64()).collect();
        let Some(c) = coords else {
            return Ok(Value::Null);
        };
        let radius = earth_radius(arg(v, 4).as_str())?;
        geo_distance(c[0], c[1], c[2], c[3], radius).map(Value::Double)
    }))
}

fn earth_radius(unit: Option<&str>) -> Result<f64> {
    let unit = unit.map(|u| u.trim().to_lowercase()).unwrap_or_default();
    match unit.as_str() {
        "" | "km" | "kilometer" | "kilometers" | "kilometre" | "kilometres" => Ok(EARTH_RADIUS_KM),
        "mi" | "mile" | "miles" => Ok(EARTH_RADIUS_MILES),
        _ => Err(Error::eval(
            "GeoDistance function units parameter must be one of mi, mile, miles, km, kilometer, \
             kilometers, kilometre or kilometres. Values are case-insensitive.",
        )),
    }
}

/// Haversine great-circle distance between two points in decimal degrees.
fn geo_distance(lat1: f64, lon1: f64, lat2: f64, lon2: f64, radius: f64) -> Result<f64> {
    if !(-90.0..=90.0).contains(&lat1) || !(-90.0..=90.0).contains(&lat2) {
        return Err(Error::eval(
            "valid latitude values for GeoDistance function are in the range of -90 to 90 \
             decimal degrees",
        ));
    }
    if !(-180.0..=180.0).contains(&lon1) || !(-180.0..=180.0).contains(&lon2) {
        return Err(Error::eval(
            "valid longitude values for GeoDistance function are in the range of -180 to +180 \
             decimal degrees",
        ));
    }
    let haversin = |x: f64| (x / 2.0).sin().powi(2);
    let d_lat = to_radians(lat2 - lat1);
    let d_lon = to_radians(lon2 - lon1);
    let a = haversin(d_lat) + haversin(d_lon) * to_radians(lat1).cos() * to_radians(lat2).cos();
    Ok(2.0 * a.sqrt().asin() * radius)
}

/// Degrees to radians, dividing before multiplying as the JVM that produced
/// ksqlDB's reference results did (the last bit can differ from
/// `f64::to_radians`).
fn to_radians(deg: f64) -> f64 {
    deg / 180.0 * std::f64::consts::PI
}

/// Radians to degrees, in the same operation order as `to_radians`.
fn to_degrees(rad: f64) -> f64 {
    rad * 180.0 / std::f64::consts::PI
}

/// A uniformly distributed double in [0, 1) from a per-thread xorshift
/// generator seeded from the process's random hasher keys and the clock.
fn random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or_default();
            h.write_u64(nanos);
            h.finish() | 1
        });
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    })
}

// ---------------------------------------------------------------------------
// GREATEST / LEAST.
// ---------------------------------------------------------------------------

fn is_temporal(t: &SqlType) -> bool {
    matches!(t, SqlType::Date | SqlType::Time | SqlType::Timestamp)
}

/// Whether GREATEST/LEAST's overload for `wanted` takes an `actual`
/// argument: the usual implicit widening, plus string literals for the
/// temporal overloads.
fn extreme_accepts(wanted: &SqlType, actual: &SqlType) -> bool {
    accepts(wanted, actual) || (is_temporal(wanted) && actual == &SqlType::String)
}

/// Picks GREATEST/LEAST's overload the way ksqlDB does: an exact match
/// (all non-null arguments of one type, decimals widened) wins; otherwise
/// exactly one overload must take every argument by implicit widening.
fn resolve_extreme(name: &str, args: &[SqlType], want: Ordering) -> Result<Resolved> {
    if args.is_empty() {
        return Err(no_signature(name, args));
    }
    let typed: Vec<&SqlType> = args.iter().filter(|t| **t != SqlType::Null).collect();
    let Some(first) = typed.first() else {
        return Err(ambiguous(name, args));
    };
    let comparable = |t: &SqlType| {
        matches!(
            t,
            SqlType::Int
                | SqlType::BigInt
                | SqlType::Double
                | SqlType::Decimal(..)
                | SqlType::String
                | SqlType::Bytes
                | SqlType::Date
                | SqlType::Time
                | SqlType::Timestamp
        )
    };
    // DECIMAL's overload widens across every exact-numeric argument.
    let decimal = typed
        .iter()
        .try_fold(None::<SqlType>, |acc, t| match acc {
            None => t.as_decimal().map(Some),
            Some(a) => widen_decimal(&a, t).map(Some),
        })
        .flatten();
    let all_same = typed.iter().all(|t| match (t, first) {
        (SqlType::Decimal(..), SqlType::Decimal(..)) => true,
        (a, b) => a == b,
    });
    let target = if all_same && comparable(first) {
        match first {
            SqlType::Decimal(..) => decimal.ok_or_else(|| no_signature(name, args))?,
            t => (*t).clone(),
        }
    } else {
        let mut candidates = vec![
            SqlType::Int,
            SqlType::BigInt,
            SqlType::Double,
            SqlType::String,
            SqlType::Bytes,
            SqlType::Date,
            SqlType::Time,
            SqlType::Timestamp,
        ];
        candidates.extend(decimal);
        let fits: Vec<SqlType> = candidates
            .into_iter()
            .filter(|c| typed.iter().all(|t| extreme_accepts(c, t)))
            .collect();
        match fits.as_slice() {
            [only] => only.clone(),
            [] => return Err(no_signature(name, args)),
            _ => return Err(ambiguous(name, args)),
        }
    };
    let ret = target.clone();
    Ok(Resolved::new(ret, move |v| {
        let mut best: Option<Value> = None;
        for value in v.iter().filter(|x| !x.is_null()) {
            let value = to_extreme_type(value, &target)?;
            let better = match &best {
                None => true,
                Some(b) => natural_cmp(&value, b) == want,
            };
            if better {
                best = Some(value);
            }
        }
        Ok(best.unwrap_or(Value::Null))
    }))
}

/// Converts one GREATEST/LEAST argument to the chosen overload's type.
fn to_extreme_type(value: &Value, target: &SqlType) -> Result<Value> {
    let bad = || Error::eval(format!("Cannot convert '{value}' to {target}"));
    Ok(match (target, value) {
        (SqlType::BigInt, v) => Value::BigInt(v.as_i64().ok_or_else(bad)?),
        (SqlType::Double, v) => Value::Double(v.as_f64().ok_or_else(bad)?),
        (SqlType::Decimal(_, s), v) => {
            let d = v.as_decimal().ok_or_else(bad)?;
            Value::Decimal(d.rescale(*s).ok_or_else(bad)?)
        }
        (SqlType::Date, Value::String(s)) => Value::Date(parse_date(s).ok_or_else(bad)?),
        (SqlType::Time, Value::String(s)) => Value::Time(parse_time(s).ok_or_else(bad)?),
        (SqlType::Timestamp, Value::String(s)) => {
            Value::Timestamp(parse_timestamp(s).ok_or_else(bad)?)
        }
        (_, v) => v.clone(),
    })
}

/// `yyyy-MM-dd` as days since the epoch.
fn parse_date(s: &str) -> Option<i32> {
    let d = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from((d - epoch).num_days()).ok()
}

/// `HH:mm[:ss[.fff]]` as milliseconds since midnight.
fn parse_time(s: &str) -> Option<i64> {
    let t = s.trim();
    let parsed = chrono::NaiveTime::parse_from_str(t, "%H:%M:%S%.f")
        .or_else(|_| chrono::NaiveTime::parse_from_str(t, "%H:%M"))
        .ok()?;
    let midnight = chrono::NaiveTime::from_hms_opt(0, 0, 0)?;
    Some((parsed - midnight).num_milliseconds())
}

/// An ISO-8601 timestamp (`yyyy-MM-dd['T'HH:mm[:ss[.fff]]][zone]`, UTC when
/// no zone is given) as milliseconds since the epoch.
fn parse_timestamp(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(dt.timestamp_millis());
    }
    // Split off a trailing zone: Z or +hh:mm / -hh:mm after the time part.
    let (body, offset_ms) = split_zone(t)?;
    let naive = if let Some(days) = parse_date(body) {
        days as i64 * 86_400_000
    } else {
        let (date, time) = body.split_once(['T', ' '])?;
        parse_date(date)? as i64 * 86_400_000 + parse_time(time)?
    };
    Some(naive - offset_ms)
}

/// Separates a timestamp's zone suffix, returning the rest and the zone's
/// offset from UTC in milliseconds.
fn split_zone(t: &str) -> Option<(&str, i64)> {
    if let Some(body) = t.strip_suffix('Z') {
        return Some((body, 0));
    }
    // A zone sign can only follow the time, which comes after a 'T' or ' '.
    let time_start = t.find(['T', ' ']).map_or(t.len(), |i| i + 1);
    match t[time_start..].rfind(['+', '-']) {
        Some(i) => {
            let (body, zone) = t.split_at(time_start + i);
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
            let (h, m) = match digits.len() {
                2 => (digits.parse::<i64>().ok()?, 0),
                4 => (
                    digits[..2].parse::<i64>().ok()?,
                    digits[2..].parse::<i64>().ok()?,
                ),
                _ => return None,
            };
            Some((body, sign * (h * 3_600_000 + m * 60_000)))
        }
        None => Some((t, 0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, types: &[SqlType], values: &[Value]) -> (SqlType, Value) {
        let r = super::super::FunctionRegistry::global()
            .resolve(name, types)
            .unwrap();
        let v = (r.eval)(values).unwrap();
        (r.return_type, v)
    }

    fn dec(s: &str) -> Value {
        Value::Decimal(Decimal::parse(s).unwrap())
    }

    fn double(v: Value) -> f64 {
        match v {
            Value::Double(d) => d,
            other => panic!("not a double: {other:?}"),
        }
    }

    #[test]
    fn round_types_and_ties() {
        let (t, v) = call("ROUND", &[SqlType::Double], &[Value::Double(-1.5)]);
        assert_eq!(t, SqlType::BigInt);
        assert_eq!(v, Value::BigInt(-1));
        assert_eq!(
            call("ROUND", &[SqlType::Double], &[Value::Double(1.5)]).1,
            Value::BigInt(2)
        );
        assert_eq!(
            call(
                "ROUND",
                &[SqlType::Double],
                &[Value::Double(0.49999999999999994)]
            )
            .1,
            Value::BigInt(0)
        );
        let two = [SqlType::Double, SqlType::Int];
        let (t, v) = call("round", &two, &[Value::Double(12345.678), Value::Int(2)]);
        assert_eq!(t, SqlType::Double);
        assert_eq!(double(v), 12345.68);
        let v = call("round", &two, &[Value::Double(-12345.678), Value::Int(-1)]).1;
        assert_eq!(double(v), -12350.0);
        let v = call("round", &two, &[Value::Double(-1.25), Value::Int(1)]).1;
        assert_eq!(double(v), -1.2);
        let v = call("round", &two, &[Value::Double(1.25), Value::Int(1)]).1;
        assert_eq!(double(v), 1.3);
        assert_eq!(
            call("round", &two, &[Value::Null, Value::Int(1)]).1,
            Value::Null
        );
        let (t, v) = call("ROUND", &[SqlType::Int], &[Value::Int(7)]);
        assert_eq!((t, v), (SqlType::BigInt, Value::BigInt(7)));
    }

    #[test]
    fn round_decimals_keep_decimal_types() {
        let ty = SqlType::Decimal(33, 16);
        let v = dec("12345678987654321.2345678987654321");
        let (t, r) = call("ROUND", std::slice::from_ref(&ty), std::slice::from_ref(&v));
        assert_eq!(t, SqlType::Decimal(17, 0));
        assert_eq!(r.to_string(), "12345678987654321");
        let (t, r) = call(
            "ROUND",
            &[ty.clone(), SqlType::Int],
            &[v.clone(), Value::Int(-2)],
        );
        assert_eq!(t, ty);
        assert_eq!(r.to_string(), "12345678987654300.0000000000000000");
        let r = call("ROUND", &[ty.clone(), SqlType::Int], &[v, Value::Int(10)]).1;
        assert_eq!(r.to_string(), "12345678987654321.2345678988000000");
        let r = call("ROUND", &[SqlType::Decimal(2, 1)], &[dec("-1.5")]).1;
        assert_eq!(r.to_string(), "-1");
    }

    #[test]
    fn trunc_ceil_floor_abs() {
        let two = [SqlType::Double, SqlType::Int];
        let v = call("TRUNC", &two, &[Value::Double(-12345.678), Value::Int(2)]).1;
        assert_eq!(double(v), -12345.67);
        assert_eq!(
            call("TRUNC", &[SqlType::Double], &[Value::Double(-1.7)]).1,
            Value::BigInt(-1)
        );
        let (t, v) = call(
            "TRUNC",
            &[SqlType::Decimal(12, 7)],
            &[dec("-12345.6780000")],
        );
        assert_eq!(
            (t, v.to_string()),
            (SqlType::Decimal(5, 0), "-12345".to_string())
        );
        let (t, v) = call("CEIL", &[SqlType::Decimal(3, 1)], &[dec("-1.5")]);
        assert_eq!(
            (t, v.to_string()),
            (SqlType::Decimal(3, 1), "-1.0".to_string())
        );
        let v = call("FLOOR", &[SqlType::Decimal(3, 1)], &[dec("-1.5")]).1;
        assert_eq!(v.to_string(), "-2.0");
        assert_eq!(
            call("FLOOR", &[SqlType::Double], &[Value::Double(-1.5)]).1,
            Value::Double(-2.0)
        );
        assert_eq!(
            call("CEIL", &[SqlType::Int], &[Value::Int(3)]),
            (SqlType::Int, Value::Int(3))
        );
        assert_eq!(
            call("ABS", &[SqlType::Int], &[Value::Int(-3)]).1,
            Value::Int(3)
        );
        assert_eq!(
            call("ABS", &[SqlType::Decimal(2, 1)], &[dec("-3.2")])
                .1
                .to_string(),
            "3.2"
        );
        assert!(FunctionRegistry::global()
            .resolve("ABS", &[SqlType::String])
            .is_err());
    }

    #[test]
    fn logs_and_powers() {
        let v = double(call("LOG", &[SqlType::Int], &[Value::Int(13)]).1);
        assert!((v - 2.5649493574615367).abs() < 1e-15);
        let two = [SqlType::BigInt, SqlType::BigInt];
        let v = double(call("LOG", &two, &[Value::BigInt(15), Value::BigInt(13)]).1);
        assert!((v - 0.9471572411831843).abs() < 1e-15);
        assert!(double(call("LOG", &two, &[Value::BigInt(1), Value::BigInt(13)]).1).is_nan());
        let v = double(call("LOG", &two, &[Value::BigInt(15), Value::BigInt(0)]).1);
        assert_eq!(v, f64::NEG_INFINITY);
        let v = double(call("POWER", &two, &[Value::BigInt(15), Value::BigInt(-1)]).1);
        assert!((v - 1.0 / 15.0).abs() < 1e-17);
        assert_eq!(
            call("POWER", &two, &[Value::Null, Value::BigInt(1)]).1,
            Value::Null
        );
        assert_eq!(
            double(call("CBRT", &[SqlType::Int], &[Value::Int(-8)]).1),
            -2.0
        );
        assert_eq!(
            call("SIGN", &[SqlType::Double], &[Value::Double(-3.0)]).1,
            Value::Int(-1)
        );
        let pi = double(call("PI", &[], &[]).1);
        assert_eq!(pi, std::f64::consts::PI);
        let r = double(call("RANDOM", &[], &[]).1);
        assert!((0.0..1.0).contains(&r));
    }

    #[test]
    fn geo_distance_units() {
        let types = vec![SqlType::Double; 4];
        let pts = [37.4439, -122.1663, 51.5257, -0.1122].map(Value::Double);
        let km = double(call("GEO_DISTANCE", &types, &pts).1);
        assert_eq!(km, 8634.659796579544);
        let mut types5 = types.clone();
        types5.push(SqlType::String);
        let mut args = pts.to_vec();
        args.push(Value::String("MI".into()));
        let mi = double(call("GEO_DISTANCE", &types5, &args).1);
        assert_eq!(mi, 5365.659729188262);
        let mut bad = types.clone();
        bad[2] = SqlType::String;
        assert!(FunctionRegistry::global()
            .resolve("GEO_DISTANCE", &bad)
            .is_err());
    }

    #[test]
    fn greatest_and_least_widening() {
        let reg = FunctionRegistry::global();
        let ints = [SqlType::Int, SqlType::Int, SqlType::Null, SqlType::Int];
        let (t, v) = call(
            "GREATEST",
            &ints,
            &[Value::Int(2), Value::Null, Value::Null, Value::Int(5)],
        );
        assert_eq!((t, v), (SqlType::Int, Value::Int(5)));
        let err = reg
            .resolve("GREATEST", &[SqlType::Int, SqlType::BigInt])
            .err()
            .unwrap();
        assert!(err.to_string().contains("ambiguous"), "{err}");
        let mixed = [
            SqlType::Int,
            SqlType::BigInt,
            SqlType::Decimal(30, 18),
            SqlType::Double,
        ];
        let (t, v) = call(
            "LEAST",
            &mixed,
            &[Value::Int(-1), Value::BigInt(-5), dec("3.5"), Value::Null],
        );
        assert_eq!((t, v), (SqlType::Double, Value::Double(-5.0)));
        let decs = [SqlType::Decimal(9, 2), SqlType::Decimal(7, 6)];
        let (t, v) = call("LEAST", &decs, &[dec("1234567.89"), dec("0.123456")]);
        assert_eq!(t, SqlType::Decimal(13, 6));
        assert_eq!(v.to_string(), "0.123456");
        assert!(reg
            .resolve("LEAST", &[SqlType::String, SqlType::Int])
            .is_err());
        assert!(reg.resolve("LEAST", &[]).is_err());
        let err = reg
            .resolve("LEAST", &[SqlType::Null, SqlType::Null])
            .err()
            .unwrap();
        assert!(err.to_string().contains("(null, null)"), "{err}");
        let dates = [SqlType::Date, SqlType::Null, SqlType::String];
        let (t, v) = call(
            "GREATEST",
            &dates,
            &[
                Value::Date(19071),
                Value::Null,
                Value::String("2022-06-14".into()),
            ],
        );
        assert_eq!((t, v), (SqlType::Date, Value::Date(19157)));
        let ts = [SqlType::Timestamp, SqlType::String];
        let v = call(
            "LEAST",
            &ts,
            &[
                Value::Timestamp(i64::MAX),
                Value::String("2022-06-14".into()),
            ],
        )
        .1;
        assert_eq!(v, Value::Timestamp(1_655_164_800_000));
        let times = [SqlType::Time, SqlType::String];
        let v = call(
            "GREATEST",
            &times,
            &[Value::Time(10), Value::String("09:16:00".into())],
        )
        .1;
        assert_eq!(v, Value::Time(33_360_000));
    }

    #[test]
    fn timestamp_strings() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:01.5"), Some(1500));
        assert_eq!(parse_timestamp("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_timestamp("1969-12-31"), Some(-86_400_000));
        assert_eq!(parse_timestamp("nope"), None);
    }
}
