//! Evaluating compiled expressions on a row: ksqlDB's three-valued logic,
//! comparisons, arithmetic, indexing and the lambda functions (TRANSFORM,
//! FILTER, REDUCE), with errors caught where ksqlDB catches them.

use super::cast::cast_value;
use super::{ArithOp, Compiled, LambdaFn, Node};
use crate::error::{Error, Result};
use crate::functions;
use crate::sql::ast::BinaryOp;
use crate::types::{SqlType, Value};
use std::cmp::Ordering;

/// Evaluation context: the row and the lambda parameters in scope.
struct Env<'a> {
    row: &'a [Value],
    lambda: Vec<Value>,
    /// Errors caught where ksqlDB catches them (a function call, a cast):
    /// the failing node yields NULL and the message is kept for the
    /// processing log.
    errors: Vec<String>,
    /// Inside a lambda body, arithmetic on NULL is an error (it fails the
    /// whole lambda function call), as in ksqlDB's generated code.
    strict_nulls: bool,
}

impl Compiled {
    /// Evaluates against a row laid out as the scope it was compiled in.
    /// Errors caught inside the tree become NULLs; the first is returned.
    pub fn eval(&self, row: &[Value]) -> Result<Value> {
        let mut errors = Vec::new();
        let v = self.eval_row(row, &mut errors);
        match errors.into_iter().next() {
            Some(e) => Err(Error::eval(e)),
            None => Ok(v),
        }
    }

    /// Evaluates against a row: failures yield NULL where they happen (as
    /// ksqlDB does) and their messages are appended to `errors`.
    pub fn eval_row(&self, row: &[Value], errors: &mut Vec<String>) -> Value {
        let mut env = Env {
            row,
            lambda: Vec::new(),
            errors: Vec::new(),
            strict_nulls: false,
        };
        let v = match self.eval_in(&mut env) {
            Ok(v) => v,
            Err(e) => {
                env.errors.push(e.to_string());
                Value::Null
            }
        };
        errors.append(&mut env.errors);
        v
    }

    fn eval_in(&self, env: &mut Env<'_>) -> Result<Value> {
        Ok(match &self.node {
            Node::Literal(v) => v.clone(),
            Node::Column(i) => env.row.get(*i).cloned().unwrap_or(Value::Null),
            Node::LambdaVar(i) => env.lambda.get(*i).cloned().unwrap_or(Value::Null),
            Node::Not(e) => match e.eval_in(env)? {
                Value::Bool(b) => Value::Bool(!b),
                _ => Value::Null,
            },
            Node::Neg(e) => negate(e.eval_in(env)?)?,
            Node::Arith(op, a, b) => {
                let x = a.eval_in(env)?;
                let y = b.eval_in(env)?;
                if env.strict_nulls && (x.is_null() || y.is_null()) && *op != ArithOp::Concat {
                    return Err(Error::eval("null operand in arithmetic inside a lambda"));
                }
                match arith(*op, x, y, &self.ty) {
                    Ok(v) => v,
                    Err(e) => {
                        env.errors.push(e.to_string());
                        Value::Null
                    }
                }
            }
            Node::Compare(op, a, b) => {
                let x = a.eval_in(env)?;
                let y = b.eval_in(env)?;
                compare(*op, &x, &y)
            }
            Node::And(a, b) => match a.eval_in(env)? {
                Value::Bool(false) => Value::Bool(false),
                l => match (l, b.eval_in(env)?) {
                    (_, Value::Bool(false)) => Value::Bool(false),
                    (Value::Bool(true), Value::Bool(true)) => Value::Bool(true),
                    _ => Value::Null,
                },
            },
            Node::Or(a, b) => match a.eval_in(env)? {
                Value::Bool(true) => Value::Bool(true),
                l => match (l, b.eval_in(env)?) {
                    (_, Value::Bool(true)) => Value::Bool(true),
                    (Value::Bool(false), Value::Bool(false)) => Value::Bool(false),
                    _ => Value::Null,
                },
            },
            Node::IsNull(e, negated) => Value::Bool(e.eval_in(env)?.is_null() != *negated),
            Node::IsDistinct(a, b, negated) => {
                let x = a.eval_in(env)?;
                let y = b.eval_in(env)?;
                let distinct = match (&x, &y) {
                    (Value::Null, Value::Null) => false,
                    (Value::Null, _) | (_, Value::Null) => true,
                    _ => !x.sql_eq(&y),
                };
                Value::Bool(distinct != *negated)
            }
            Node::Like(e, p, escape, negated) => match (e.eval_in(env)?, p.eval_in(env)?) {
                (Value::String(s), Value::String(p)) => {
                    Value::Bool(like(&s, &p, *escape) != *negated)
                }
                _ => Value::Null,
            },
            Node::Between(e, lo, hi, negated) => {
                let v = e.eval_in(env)?;
                let l = lo.eval_in(env)?;
                let h = hi.eval_in(env)?;
                match (coerce_for_compare(&v, &l), coerce_for_compare(&v, &h)) {
                    _ if v.is_null() || l.is_null() || h.is_null() => Value::Null,
                    (Some(a), Some(b)) => {
                        let inside = a != Ordering::Less && b != Ordering::Greater;
                        Value::Bool(inside != *negated)
                    }
                    _ => Value::Null,
                }
            }
            Node::InList(e, list, negated) => {
                let v = e.eval_in(env)?;
                if v.is_null() {
                    return Ok(Value::Null);
                }
                let mut saw_null = false;
                for item in list {
                    let x = item.eval_in(env)?;
                    if x.is_null() {
                        saw_null = true;
                    } else if v.sql_eq(&x) {
                        return Ok(Value::Bool(!*negated));
                    }
                }
                if saw_null {
                    Value::Null
                } else {
                    Value::Bool(*negated)
                }
            }
            Node::Case(whens, else_result) => {
                for (cond, result) in whens {
                    if cond.eval_in(env)?.as_bool() == Some(true) {
                        return result.eval_in(env);
                    }
                }
                match else_result {
                    Some(e) => e.eval_in(env)?,
                    None => Value::Null,
                }
            }
            Node::Cast(e) => match cast_value(e.eval_in(env)?, &self.ty) {
                Ok(v) => v,
                Err(err) => {
                    env.errors.push(err.to_string());
                    Value::Null
                }
            },
            Node::Call(f, args) => {
                let values = args
                    .iter()
                    .map(|a| a.eval_in(env))
                    .collect::<Result<Vec<_>>>()?;
                match f(&values) {
                    Ok(v) => v,
                    Err(err) => {
                        env.errors.push(err.to_string());
                        Value::Null
                    }
                }
            }
            Node::Deref(e, i) => match e.eval_in(env)? {
                Value::Struct(fields) => fields
                    .into_iter()
                    .nth(*i)
                    .map(|(_, v)| v)
                    .unwrap_or(Value::Null),
                _ => Value::Null,
            },
            Node::Subscript(e, idx) => {
                let base = e.eval_in(env)?;
                let index = idx.eval_in(env)?;
                match base {
                    Value::Array(items) => match index.as_i64() {
                        Some(i) => array_index(items, i),
                        None => Value::Null,
                    },
                    Value::Map(_) => base.map_get(&index).cloned().unwrap_or(Value::Null),
                    _ => Value::Null,
                }
            }
            Node::MakeArray(items) => Value::Array(
                items
                    .iter()
                    .map(|i| {
                        i.eval_in(env)
                            .map(|v| functions::coerce(v, elem_type(&self.ty)))
                    })
                    .collect::<Result<_>>()?,
            ),
            Node::MakeMap(entries) => {
                let mut out: Vec<(Value, Value)> = Vec::new();
                let (kt, vt) = match &self.ty {
                    SqlType::Map(k, v) => ((**k).clone(), (**v).clone()),
                    _ => (SqlType::String, SqlType::Null),
                };
                for (k, v) in entries {
                    let key = functions::coerce(k.eval_in(env)?, &kt);
                    let value = functions::coerce(v.eval_in(env)?, &vt);
                    if let Some(slot) = out.iter_mut().find(|(x, _)| x.sql_eq(&key)) {
                        slot.1 = value;
                    } else {
                        out.push((key, value));
                    }
                }
                Value::Map(out)
            }
            Node::MakeStruct(fields) => Value::Struct(
                fields
                    .iter()
                    .map(|(n, e)| Ok((n.clone(), e.eval_in(env)?)))
                    .collect::<Result<_>>()?,
            ),
            Node::Lambda(kind, inputs, body, extra) => {
                let strict = std::mem::replace(&mut env.strict_nulls, true);
                let r = eval_lambda(*kind, inputs, body, extra, env);
                env.strict_nulls = strict;
                match r {
                    Ok(v) => v,
                    Err(err) => {
                        env.errors.push(err.to_string());
                        Value::Null
                    }
                }
            }
        })
    }
}

fn elem_type(ty: &SqlType) -> &SqlType {
    match ty {
        SqlType::Array(t) => t,
        _ => &SqlType::Null,
    }
}

/// ksqlDB array indexing: 1-based, negative counts from the end, out of
/// range is null.
fn array_index(mut items: Vec<Value>, i: i64) -> Value {
    let len = items.len() as i64;
    let pos = if i > 0 {
        i - 1
    } else if i < 0 {
        len + i
    } else {
        return Value::Null;
    };
    if pos < 0 || pos >= len {
        Value::Null
    } else {
        items.swap_remove(pos as usize)
    }
}

fn eval_lambda(
    kind: LambdaFn,
    inputs: &[Compiled],
    body: &Compiled,
    extra: &[Compiled],
    env: &mut Env<'_>,
) -> Result<Value> {
    let input = inputs[0].eval_in(env)?;
    let base = env.lambda.len();
    let call = |env: &mut Env<'_>, args: &[Value]| -> Result<Value> {
        env.lambda.truncate(base);
        env.lambda.extend_from_slice(args);
        let r = body.eval_in(env);
        env.lambda.truncate(base);
        r
    };
    Ok(match (kind, input) {
        (LambdaFn::ReduceArray | LambdaFn::ReduceMap, Value::Null) => extra[0].eval_in(env)?,
        (_, Value::Null) => Value::Null,
        (LambdaFn::TransformArray, Value::Array(items)) => Value::Array(
            items
                .into_iter()
                .map(|v| call(env, &[v]))
                .collect::<Result<_>>()?,
        ),
        (LambdaFn::FilterArray, Value::Array(items)) => {
            let mut out = Vec::new();
            for v in items {
                if call(env, std::slice::from_ref(&v))?.as_bool() == Some(true) {
                    out.push(v);
                }
            }
            Value::Array(out)
        }
        (LambdaFn::ReduceArray, Value::Array(items)) => {
            let mut acc = extra[0].eval_in(env)?;
            for v in items {
                acc = call(env, &[acc, v])?;
            }
            acc
        }
        (LambdaFn::TransformMap, Value::Map(entries)) => {
            let key_body = body;
            let value_body = &extra[0];
            let mut out: Vec<(Value, Value)> = Vec::new();
            for (k, v) in entries {
                env.lambda.truncate(base);
                env.lambda.extend_from_slice(&[k.clone(), v.clone()]);
                let nk = key_body.eval_in(env)?;
                let nv = value_body.eval_in(env)?;
                env.lambda.truncate(base);
                if out.iter().any(|(x, _)| x.sql_eq(&nk)) {
                    // Two entries mapping to one key fail the whole call.
                    return Err(Error::eval(format!(
                        "TRANSFORM produced the key {nk} more than once"
                    )));
                }
                out.push((nk, nv));
            }
            Value::Map(out)
        }
        (LambdaFn::FilterMap, Value::Map(entries)) => {
            let mut out = Vec::new();
            for (k, v) in entries {
                if call(env, &[k.clone(), v.clone()])?.as_bool() == Some(true) {
                    out.push((k, v));
                }
            }
            Value::Map(out)
        }
        (LambdaFn::ReduceMap, Value::Map(entries)) => {
            let mut acc = extra[0].eval_in(env)?;
            for (k, v) in entries {
                acc = call(env, &[acc, k, v])?;
            }
            acc
        }
        _ => Value::Null,
    })
}

/// SQL LIKE: `%` any run, `_` one character, optional escape character.
pub fn like(text: &str, pattern: &str, escape: Option<char>) -> bool {
    let t: Vec<char> = text.chars().collect();
    let mut p: Vec<(char, bool)> = Vec::new(); // (char, is_literal)
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            if let Some(n) = chars.next() {
                p.push((n, true));
            }
        } else {
            p.push((c, false));
        }
    }
    // Iterative wildcard match with backtracking on the last '%'.
    let (mut ti, mut pi) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && !p[pi].1 && p[pi].0 == '%' {
            star = Some(pi);
            pi += 1;
            mark = ti;
        } else if pi < p.len() && ((!p[pi].1 && p[pi].0 == '_') || p[pi].0 == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && !p[pi].1 && p[pi].0 == '%' {
        pi += 1;
    }
    pi == p.len()
}

pub(super) fn negate(v: Value) -> Result<Value> {
    Ok(match v {
        Value::Int(i) => Value::Int(i.wrapping_neg()),
        Value::BigInt(i) => Value::BigInt(i.wrapping_neg()),
        Value::Double(d) => Value::Double(-d),
        Value::Decimal(d) => Value::Decimal(d.neg()),
        _ => Value::Null,
    })
}

/// ksqlDB's comparison: FALSE when either side is NULL (its generated code
/// checks for nulls first), structural equality for collections.
fn compare(op: BinaryOp, x: &Value, y: &Value) -> Value {
    if x.is_null() || y.is_null() {
        return Value::Bool(false);
    }
    if matches!(op, BinaryOp::Eq | BinaryOp::NotEq)
        && matches!(x, Value::Array(_) | Value::Map(_) | Value::Struct(_))
    {
        return Value::Bool(structural_eq(x, y) == (op == BinaryOp::Eq));
    }
    let ord = match coerce_for_compare(x, y) {
        Some(o) => o,
        None => return Value::Bool(false),
    };
    Value::Bool(match op {
        BinaryOp::Eq => ord == Ordering::Equal,
        BinaryOp::NotEq => ord != Ordering::Equal,
        BinaryOp::Lt => ord == Ordering::Less,
        BinaryOp::LtEq => ord != Ordering::Greater,
        BinaryOp::Gt => ord == Ordering::Greater,
        BinaryOp::GtEq => ord != Ordering::Less,
        _ => return Value::Null,
    })
}

/// Equality of nested values, comparing numbers by value.
fn structural_eq(x: &Value, y: &Value) -> bool {
    match (x, y) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(p, q)| structural_eq(p, q))
        }
        (Value::Map(a), Value::Map(b)) => {
            a.len() == b.len()
                && a.iter().all(|(k, v)| {
                    b.iter()
                        .find(|(k2, _)| structural_eq(k, k2))
                        .is_some_and(|(_, v2)| structural_eq(v, v2))
                })
        }
        (Value::Struct(a), Value::Struct(b)) => {
            // Fields compare like top-level values: a NULL field is never
            // equal to anything.
            a.len() == b.len()
                && a.iter().all(|(n, v)| {
                    b.iter()
                        .find(|(n2, _)| n2.eq_ignore_ascii_case(n))
                        .is_some_and(|(_, v2)| {
                            !v.is_null() && !v2.is_null() && structural_eq(v, v2)
                        })
                })
        }
        _ => x.sql_eq(y),
    }
}

/// Compares values, converting strings to the temporal type they are
/// compared with (ksqlDB allows `ts > '2020-01-01'`).
fn coerce_for_compare(x: &Value, y: &Value) -> Option<Ordering> {
    use crate::functions::datetime as dt;
    match (x, y) {
        (Value::Timestamp(a), Value::String(s)) => Some(a.cmp(&dt::parse_timestamp_text(s)?)),
        (Value::String(s), Value::Timestamp(b)) => Some(dt::parse_timestamp_text(s)?.cmp(b)),
        (Value::Date(a), Value::String(s)) => Some(a.cmp(&dt::parse_date_text(s)?)),
        (Value::String(s), Value::Date(b)) => Some(dt::parse_date_text(s)?.cmp(b)),
        (Value::Time(a), Value::String(s)) => Some(a.cmp(&dt::parse_time_text(s)?)),
        (Value::String(s), Value::Time(b)) => Some(dt::parse_time_text(s)?.cmp(b)),
        (Value::Timestamp(a), Value::Date(d)) => Some(a.cmp(&(*d as i64 * 86_400_000))),
        (Value::Date(d), Value::Timestamp(b)) => Some((*d as i64 * 86_400_000).cmp(b)),
        _ => x.sql_cmp(y),
    }
}

fn arith(op: ArithOp, x: Value, y: Value, ty: &SqlType) -> Result<Value> {
    if x.is_null() || y.is_null() {
        return Ok(Value::Null);
    }
    if op == ArithOp::Concat {
        return Ok(Value::String(format!("{x}{y}")));
    }
    Ok(match ty {
        SqlType::String => match op {
            ArithOp::Add => Value::String(format!("{x}{y}")),
            _ => Value::Null,
        },
        SqlType::Int => {
            let (a, b) = (
                x.as_i64().unwrap_or(0) as i32,
                y.as_i64().unwrap_or(0) as i32,
            );
            match op {
                ArithOp::Add => Value::Int(a.wrapping_add(b)),
                ArithOp::Sub => Value::Int(a.wrapping_sub(b)),
                ArithOp::Mul => Value::Int(a.wrapping_mul(b)),
                ArithOp::Div if b == 0 => return Err(Error::eval("/ by zero")),
                ArithOp::Div => Value::Int(a.wrapping_div(b)),
                ArithOp::Mod if b == 0 => return Err(Error::eval("/ by zero")),
                ArithOp::Mod => Value::Int(a.wrapping_rem(b)),
                ArithOp::Concat => unreachable!("handled above"),
            }
        }
        SqlType::BigInt => {
            let (a, b) = (x.as_i64().unwrap_or(0), y.as_i64().unwrap_or(0));
            match op {
                ArithOp::Add => Value::BigInt(a.wrapping_add(b)),
                ArithOp::Sub => Value::BigInt(a.wrapping_sub(b)),
                ArithOp::Mul => Value::BigInt(a.wrapping_mul(b)),
                ArithOp::Div if b == 0 => return Err(Error::eval("/ by zero")),
                ArithOp::Div => Value::BigInt(a.wrapping_div(b)),
                ArithOp::Mod if b == 0 => return Err(Error::eval("/ by zero")),
                ArithOp::Mod => Value::BigInt(a.wrapping_rem(b)),
                ArithOp::Concat => unreachable!("handled above"),
            }
        }
        SqlType::Double => {
            let (a, b) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            Value::Double(match op {
                ArithOp::Add => a + b,
                ArithOp::Sub => a - b,
                ArithOp::Mul => a * b,
                ArithOp::Div => a / b,
                ArithOp::Mod => a % b,
                ArithOp::Concat => unreachable!("handled above"),
            })
        }
        SqlType::Decimal(p, s) => {
            let (a, b) = match (x.as_decimal(), y.as_decimal()) {
                (Some(a), Some(b)) => (a, b),
                _ => return Ok(Value::Null),
            };
            let r = match op {
                ArithOp::Add => a.add(&b),
                ArithOp::Sub => a.sub(&b),
                ArithOp::Mul => a.mul(&b),
                ArithOp::Div if b.unscaled == 0 => return Ok(Value::Null),
                ArithOp::Div => a.div(&b, *s),
                ArithOp::Mod if b.unscaled == 0 => return Ok(Value::Null),
                ArithOp::Mod => a.rem(&b),
                ArithOp::Concat => unreachable!("handled above"),
            };
            match r.and_then(|d| d.fit(*p, *s)) {
                Some(d) => Value::Decimal(d),
                None => {
                    return Err(Error::eval(format!(
                        "Numeric field overflow: A field with precision {p} and scale {s} cannot hold the result"
                    )))
                }
            }
        }
        SqlType::Timestamp | SqlType::Date | SqlType::Time => Value::Null,
        _ => Value::Null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        assert!(like("/home", "/h%", None));
        assert!(like("abc", "a_c", None));
        assert!(!like("abc", "a_", None));
        assert!(like("a%c", "a\\%c", Some('\\')));
        assert!(!like("abc", "a\\%c", Some('\\')));
        assert!(like("", "%", None));
    }
}
