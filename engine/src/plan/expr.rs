//! SQL expressions, resolved and typed against an input scope and compiled
//! into a tree that evaluates on one row at a time. ksqlDB's typing rules
//! (numeric widening, DECIMAL precision, three-valued logic, casts) live
//! here; the functions themselves live in `crate::functions`.

use crate::error::{Error, Result};
use crate::functions::{self, FunctionRegistry, ScalarImpl};
use crate::sql::ast::{BinaryOp, Expr, Literal, UnaryOp};
use crate::types::{Decimal, SqlType, Value};
use std::cmp::Ordering;
use std::sync::Arc;

/// One column visible to an expression.
#[derive(Debug, Clone)]
pub struct ScopeColumn {
    /// The source alias it can be qualified with (`a.col`), if any.
    pub qualifier: Option<String>,
    pub name: String,
    pub ty: SqlType,
}

/// The columns an expression can refer to, by position in the row.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub columns: Vec<ScopeColumn>,
    /// Custom types declared with CREATE TYPE, for CAST targets.
    pub custom_types: Vec<(String, SqlType)>,
}

impl Scope {
    pub fn new(columns: Vec<ScopeColumn>) -> Self {
        Scope {
            columns,
            custom_types: Vec::new(),
        }
    }

    /// The row index and type of `[qualifier.]name`.
    pub fn resolve(&self, qualifier: Option<&str>, name: &str) -> Result<(usize, SqlType)> {
        let matches: Vec<usize> = (0..self.columns.len())
            .filter(|&i| {
                let c = &self.columns[i];
                c.name == name
                    && match qualifier {
                        Some(q) => c.qualifier.as_deref() == Some(q),
                        None => true,
                    }
            })
            .collect();
        // After a join, an unqualified pseudo-column means the first
        // (left-most) source's.
        let pseudo = matches!(
            name,
            "ROWTIME" | "ROWPARTITION" | "ROWOFFSET" | "WINDOWSTART" | "WINDOWEND"
        );
        match matches.as_slice() {
            [i] => Ok((*i, self.columns[*i].ty.clone())),
            [i, ..] if pseudo && qualifier.is_none() => Ok((*i, self.columns[*i].ty.clone())),
            [] => Err(Error::plan(match qualifier {
                Some(q) => format!("Column '{q}.{name}' cannot be resolved."),
                None => format!("Column '{name}' cannot be resolved."),
            })),
            _ => Err(Error::plan(format!(
                "Column '{name}' is ambiguous. Could be any of: {}",
                matches
                    .iter()
                    .map(|i| format!(
                        "{}.{}",
                        self.columns[*i].qualifier.as_deref().unwrap_or(""),
                        self.columns[*i].name
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Replaces custom type names with their definitions.
    pub fn resolve_type(&self, ty: &SqlType) -> Result<SqlType> {
        resolve_custom(ty, &self.custom_types)
    }
}

/// Replaces `SqlType::Custom` names (recursively) using `types`.
pub fn resolve_custom(ty: &SqlType, types: &[(String, SqlType)]) -> Result<SqlType> {
    Ok(match ty {
        SqlType::Custom(name) => types
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, t)| t.clone())
            .ok_or_else(|| Error::plan(format!("Unknown type: {name}")))?,
        SqlType::Array(t) => SqlType::Array(Box::new(resolve_custom(t, types)?)),
        SqlType::Map(k, v) => SqlType::Map(
            Box::new(resolve_custom(k, types)?),
            Box::new(resolve_custom(v, types)?),
        ),
        SqlType::Struct(fields) => SqlType::Struct(
            fields
                .iter()
                .map(|(n, t)| Ok((n.clone(), resolve_custom(t, types)?)))
                .collect::<Result<_>>()?,
        ),
        other => other.clone(),
    })
}

/// A compiled, typed expression.
#[derive(Clone)]
pub struct Compiled {
    pub ty: SqlType,
    node: Node,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Compiled({})", self.ty)
    }
}

#[derive(Clone)]
enum Node {
    Literal(Value),
    Column(usize),
    /// A lambda parameter: index into the lambda environment.
    LambdaVar(usize),
    Not(Box<Compiled>),
    Neg(Box<Compiled>),
    Arith(ArithOp, Box<Compiled>, Box<Compiled>),
    Compare(BinaryOp, Box<Compiled>, Box<Compiled>),
    And(Box<Compiled>, Box<Compiled>),
    Or(Box<Compiled>, Box<Compiled>),
    IsNull(Box<Compiled>, bool),
    IsDistinct(Box<Compiled>, Box<Compiled>, bool),
    Like(Box<Compiled>, Box<Compiled>, Option<char>, bool),
    Between(Box<Compiled>, Box<Compiled>, Box<Compiled>, bool),
    InList(Box<Compiled>, Vec<Compiled>, bool),
    Case(Vec<(Compiled, Compiled)>, Option<Box<Compiled>>),
    Cast(Box<Compiled>),
    Call(ScalarImpl, Vec<Compiled>),
    Deref(Box<Compiled>, usize),
    Subscript(Box<Compiled>, Box<Compiled>),
    MakeArray(Vec<Compiled>),
    MakeMap(Vec<(Compiled, Compiled)>),
    MakeStruct(Vec<(String, Compiled)>),
    /// TRANSFORM / FILTER / REDUCE over an array or map.
    Lambda(LambdaFn, Vec<Compiled>, Box<Compiled>, Vec<Compiled>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Concat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LambdaFn {
    TransformArray,
    TransformMap,
    FilterArray,
    FilterMap,
    ReduceArray,
    ReduceMap,
}

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
    fn new(ty: SqlType, node: Node) -> Self {
        Compiled { ty, node }
    }

    /// A constant.
    pub fn literal(value: Value, ty: SqlType) -> Self {
        Compiled::new(ty, Node::Literal(value))
    }

    /// A plain column reference.
    pub fn column(index: usize, ty: SqlType) -> Self {
        Compiled::new(ty, Node::Column(index))
    }

    /// The row index this expression reads, when it is a bare column.
    pub fn as_column(&self) -> Option<usize> {
        match self.node {
            Node::Column(i) => Some(i),
            _ => None,
        }
    }

    /// Appends the row positions this expression reads.
    pub fn references(&self, out: &mut Vec<usize>) {
        let mut visit = |c: &Compiled| c.references(out);
        match &self.node {
            Node::Literal(_) | Node::LambdaVar(_) => {}
            Node::Column(i) => out.push(*i),
            Node::Not(a)
            | Node::Neg(a)
            | Node::IsNull(a, _)
            | Node::Cast(a)
            | Node::Deref(a, _) => visit(a),
            Node::Arith(_, a, b)
            | Node::Compare(_, a, b)
            | Node::And(a, b)
            | Node::Or(a, b)
            | Node::IsDistinct(a, b, _)
            | Node::Like(a, b, _, _)
            | Node::Subscript(a, b) => {
                visit(a);
                visit(b);
            }
            Node::Between(a, b, c, _) => {
                visit(a);
                visit(b);
                visit(c);
            }
            Node::InList(a, list, _) => {
                visit(a);
                list.iter().for_each(visit);
            }
            Node::Case(whens, e) => {
                for (w, t) in whens {
                    visit(w);
                    visit(t);
                }
                if let Some(e) = e {
                    visit(e);
                }
            }
            Node::Call(_, args) | Node::MakeArray(args) => args.iter().for_each(visit),
            Node::MakeMap(entries) => entries.iter().for_each(|(k, v)| {
                visit(k);
                visit(v);
            }),
            Node::MakeStruct(fields) => fields.iter().for_each(|(_, v)| visit(v)),
            Node::Lambda(_, inputs, body, extra) => {
                inputs.iter().for_each(&mut visit);
                visit(body);
                extra.iter().for_each(visit);
            }
        }
    }

    /// The constant value, when it is a literal.
    pub fn as_literal(&self) -> Option<&Value> {
        match &self.node {
            Node::Literal(v) => Some(v),
            _ => None,
        }
    }

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

fn negate(v: Value) -> Result<Value> {
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

/// The DECIMAL type of an arithmetic result, by ksqlDB's (SQL Server's)
/// precision and scale rules.
fn decimal_result(op: ArithOp, (p1, s1): (u8, u8), (p2, s2): (u8, u8)) -> SqlType {
    let (p1, s1, p2, s2) = (p1 as i32, s1 as i32, p2 as i32, s2 as i32);
    let (p, s) = match op {
        ArithOp::Add | ArithOp::Sub => {
            let s = s1.max(s2);
            ((p1 - s1).max(p2 - s2) + s + 1, s)
        }
        ArithOp::Mul => (p1 + p2 + 1, s1 + s2),
        ArithOp::Div => {
            let s = 6.max(s1 + p2 + 1);
            (p1 - s1 + s2 + s, s)
        }
        ArithOp::Mod => {
            let s = s1.max(s2);
            ((p1 - s1).min(p2 - s2) + s, s)
        }
        ArithOp::Concat => (38, 0),
    };
    SqlType::Decimal(p.clamp(1, 38) as u8, s.clamp(0, 38) as u8)
}

/// The result type of numeric arithmetic on two operand types.
fn numeric_result(op: ArithOp, a: &SqlType, b: &SqlType) -> Option<SqlType> {
    use SqlType::*;
    Some(match (a, b) {
        // ksqlDB rejects arithmetic on an untyped NULL.
        (Null, _) | (_, Null) => return None,
        (Int, Int) => Int,
        (Int | BigInt, Int | BigInt) => BigInt,
        (Double, t) | (t, Double) if t.is_numeric() => Double,
        (Decimal(..), _) | (_, Decimal(..)) if a.is_numeric() && b.is_numeric() => {
            let da = a.as_decimal()?;
            let db = b.as_decimal()?;
            match (da, db) {
                (Decimal(p1, s1), Decimal(p2, s2)) => decimal_result(op, (p1, s1), (p2, s2)),
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// The common type of several branches (CASE, COALESCE, array elements).
pub fn common_type(types: &[SqlType]) -> Option<SqlType> {
    let mut acc = SqlType::Null;
    for t in types {
        acc = match (&acc, t) {
            (SqlType::Null, t) => t.clone(),
            (a, SqlType::Null) => a.clone(),
            (a, b) if a == b => a.clone(),
            (a, b) if a.is_numeric() && b.is_numeric() => {
                numeric_result(ArithOp::Add, a, b).map(|t| match (a, b, t) {
                    (SqlType::Decimal(p1, s1), SqlType::Decimal(p2, s2), SqlType::Decimal(..)) => {
                        let s = (*s1).max(*s2);
                        SqlType::Decimal(((*p1 - *s1).max(*p2 - *s2) + s).min(38), s)
                    }
                    (_, _, t) => t,
                })?
            }
            (SqlType::Array(a), SqlType::Array(b)) => {
                SqlType::Array(Box::new(common_type(&[(**a).clone(), (**b).clone()])?))
            }
            (SqlType::Map(ka, va), SqlType::Map(kb, vb)) => SqlType::Map(
                Box::new(common_type(&[(**ka).clone(), (**kb).clone()])?),
                Box::new(common_type(&[(**va).clone(), (**vb).clone()])?),
            ),
            _ => return None,
        };
    }
    Some(acc)
}

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

/// A name the planner gives a column computed from an expression: the
/// column's or field's own name, or None when it must be generated.
pub fn implicit_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Column { name, .. } => Some(name.clone()),
        Expr::Deref { field, .. } => Some(field.clone()),
        _ => None,
    }
}

/// Compiles an expression against a scope.
pub struct ExprCompiler<'a> {
    scope: &'a Scope,
    /// Lambda parameters in scope, innermost last: (name, type).
    lambda: Vec<(String, SqlType)>,
}

impl<'a> ExprCompiler<'a> {
    pub fn new(scope: &'a Scope) -> Self {
        ExprCompiler {
            scope,
            lambda: Vec::new(),
        }
    }

    pub fn compile(&mut self, expr: &Expr) -> Result<Compiled> {
        match expr {
            Expr::Literal(l) => literal(l),
            Expr::Column { qualifier, name } => {
                if qualifier.is_none() {
                    if let Some(i) = self.lambda.iter().rposition(|(n, _)| n == name) {
                        return Ok(Compiled::new(self.lambda[i].1.clone(), Node::LambdaVar(i)));
                    }
                }
                let (i, ty) = self.scope.resolve(qualifier.as_deref(), name)?;
                Ok(Compiled::column(i, ty))
            }
            Expr::Unary { op, expr } => {
                let e = self.compile(expr)?;
                match op {
                    UnaryOp::Not => {
                        expect_bool(&e, "NOT")?;
                        Ok(Compiled::new(SqlType::Boolean, Node::Not(Box::new(e))))
                    }
                    UnaryOp::Plus => Ok(e),
                    UnaryOp::Neg => {
                        if !e.ty.is_numeric() && e.ty != SqlType::Null {
                            return Err(Error::plan(format!("Cannot negate {}", e.ty)));
                        }
                        if let Some(v) = e.as_literal() {
                            return Ok(Compiled::literal(negate(v.clone())?, e.ty.clone()));
                        }
                        Ok(Compiled::new(e.ty.clone(), Node::Neg(Box::new(e))))
                    }
                }
            }
            Expr::Binary { op, left, right } => self.binary(*op, left, right),
            Expr::IsNull { expr, negated } => {
                let e = self.compile(expr)?;
                Ok(Compiled::new(
                    SqlType::Boolean,
                    Node::IsNull(Box::new(e), *negated),
                ))
            }
            Expr::IsDistinctFrom {
                left,
                right,
                negated,
            } => {
                let a = self.compile(left)?;
                let b = self.compile(right)?;
                check_comparable(&a, &b, BinaryOp::Eq, left, right)?;
                Ok(Compiled::new(
                    SqlType::Boolean,
                    Node::IsDistinct(Box::new(a), Box::new(b), *negated),
                ))
            }
            Expr::Like {
                expr,
                pattern,
                escape,
                negated,
            } => {
                let e = self.compile(expr)?;
                let p = self.compile(pattern)?;
                for (x, what) in [(&e, "value"), (&p, "pattern")] {
                    if !matches!(x.ty, SqlType::String | SqlType::Null) {
                        return Err(Error::plan(format!(
                            "LIKE {what} must be a STRING, got {}",
                            x.ty
                        )));
                    }
                }
                let esc = match escape {
                    Some(s) if s.chars().count() == 1 => s.chars().next(),
                    Some(s) => {
                        return Err(Error::plan(format!(
                            "Escape character must be a single character, got '{s}'"
                        )))
                    }
                    None => None,
                };
                Ok(Compiled::new(
                    SqlType::Boolean,
                    Node::Like(Box::new(e), Box::new(p), esc, *negated),
                ))
            }
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let e = self.compile(expr)?;
                let l = magic_timestamp(expr, &e, self.compile(low)?)?;
                let h = magic_timestamp(expr, &e, self.compile(high)?)?;
                check_comparable(&e, &l, BinaryOp::GtEq, expr, low)?;
                check_comparable(&e, &h, BinaryOp::LtEq, expr, high)?;
                Ok(Compiled::new(
                    SqlType::Boolean,
                    Node::Between(Box::new(e), Box::new(l), Box::new(h), *negated),
                ))
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let e = self.compile(expr)?;
                let items = list
                    .iter()
                    .map(|i| {
                        let mut c = self.compile(i)?;
                        // ksqlDB converts string literals in an IN list to
                        // the type of the tested expression.
                        if let (Some(Value::String(text)), true) = (
                            c.as_literal(),
                            e.ty.is_numeric() || e.ty == SqlType::Boolean,
                        ) {
                            let to = if e.ty.is_numeric() {
                                SqlType::Decimal(38, 10)
                            } else {
                                SqlType::Boolean
                            };
                            let v = cast_value(Value::String(text.clone()), &to).map_err(|_| {
                                Error::plan(format!(
                                    "invalid input syntax for type {}: \"{text}\".",
                                    e.ty
                                ))
                            })?;
                            c = Compiled::literal(v, to);
                        }
                        check_comparable(&e, &c, BinaryOp::Eq, expr, i)?;
                        Ok(c)
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Compiled::new(
                    SqlType::Boolean,
                    Node::InList(Box::new(e), items, *negated),
                ))
            }
            Expr::Case {
                operand,
                whens,
                else_result,
            } => {
                let operand = operand.as_ref().map(|o| self.compile(o)).transpose()?;
                let mut conds = Vec::new();
                let mut results = Vec::new();
                for (w, t) in whens {
                    let c = self.compile(w)?;
                    let c = match &operand {
                        Some(o) => Compiled::new(
                            SqlType::Boolean,
                            Node::Compare(BinaryOp::Eq, Box::new(o.clone()), Box::new(c)),
                        ),
                        None => {
                            if !matches!(c.ty, SqlType::Boolean | SqlType::Null) {
                                return Err(Error::plan(format!(
                                    "WHEN operand type should be boolean.\nType for '{w}' is {}",
                                    c.ty
                                )));
                            }
                            c
                        }
                    };
                    conds.push(c);
                    results.push(self.compile(t)?);
                }
                let else_c = else_result.as_ref().map(|e| self.compile(e)).transpose()?;
                let mut types: Vec<SqlType> = results.iter().map(|r| r.ty.clone()).collect();
                if let Some(e) = &else_c {
                    types.push(e.ty.clone());
                }
                let ty = common_type(&types).ok_or_else(|| {
                    Error::plan(format!(
                        "Invalid Case expression. Type for all 'THEN' clauses should be the same.\nTHEN expression '{}' has type: {}.",
                        whens.get(1).map(|w| w.1.to_string()).unwrap_or_default(),
                        types.get(1).map(|t| t.to_string()).unwrap_or_default()
                    ))
                })?;
                let whens = conds
                    .into_iter()
                    .zip(results.into_iter().map(|r| coerce_to(r, &ty)))
                    .collect();
                Ok(Compiled::new(
                    ty.clone(),
                    Node::Case(whens, else_c.map(|e| Box::new(coerce_to(e, &ty)))),
                ))
            }
            Expr::Cast { expr, ty } => {
                let e = self.compile(expr)?;
                let to = self.scope.resolve_type(ty)?;
                if !cast_supported(&e.ty, &to) {
                    return Err(Error::plan(format!(
                        "Cast of {} to {} is not supported",
                        e.ty, to
                    )));
                }
                if e.ty == to {
                    return Ok(e);
                }
                Ok(Compiled::new(to, Node::Cast(Box::new(e))))
            }
            Expr::Function {
                name,
                args,
                star,
                distinct: _,
            } => self.function(name, args, *star),
            Expr::Deref { expr: base, field } => {
                let b = self.compile(base)?;
                match &b.ty {
                    SqlType::Struct(_) => {
                        let (i, t) = b.ty.struct_field(field).ok_or_else(|| {
                            Error::plan(format!("Could not find field '{field}' in '{base}'."))
                        })?;
                        let t = t.clone();
                        Ok(Compiled::new(t, Node::Deref(Box::new(b), i)))
                    }
                    other => Err(Error::plan(format!(
                        "Expected STRUCT type for dereference '{expr}', got {other}"
                    ))),
                }
            }
            Expr::Subscript { expr: base, index } => {
                let b = self.compile(base)?;
                let i = self.compile(index)?;
                let ty = match &b.ty {
                    SqlType::Array(t) => {
                        if !i.ty.is_integral() && i.ty != SqlType::Null {
                            return Err(Error::plan(format!(
                                "Array index must be an integer, got {}",
                                i.ty
                            )));
                        }
                        (**t).clone()
                    }
                    SqlType::Map(_, v) => (**v).clone(),
                    other => {
                        return Err(Error::plan(format!(
                            "Subscript expression ({expr}) must be on an ARRAY or MAP, got {other}"
                        )))
                    }
                };
                Ok(Compiled::new(ty, Node::Subscript(Box::new(b), Box::new(i))))
            }
            Expr::Array(items) => {
                let items = items
                    .iter()
                    .map(|i| self.compile(i))
                    .collect::<Result<Vec<_>>>()?;
                if items.is_empty() {
                    return Err(Error::plan(
                        "Array constructor cannot be empty. Please supply at least one element (see https://github.com/confluentinc/ksql/issues/4239).",
                    ));
                }
                let types: Vec<SqlType> = items.iter().map(|i| i.ty.clone()).collect();
                if types.iter().all(|t| *t == SqlType::Null) {
                    return Err(Error::plan("Cannot construct an array with all NULL elements (see https://github.com/confluentinc/ksql/issues/4239). As a workaround, you may cast a NULL value to the desired type."));
                }
                let elem = common_type(&types).ok_or_else(|| {
                    Error::plan(format!(
                        "invalid input syntax for type {}: \"{}\".",
                        types[0], expr
                    ))
                })?;
                let items = items.into_iter().map(|i| coerce_to(i, &elem)).collect();
                Ok(Compiled::new(
                    SqlType::Array(Box::new(elem)),
                    Node::MakeArray(items),
                ))
            }
            Expr::Map(entries) => {
                let mut ks = Vec::new();
                let mut vs = Vec::new();
                for (k, v) in entries {
                    ks.push(self.compile(k)?);
                    vs.push(self.compile(v)?);
                }
                if entries.is_empty() {
                    return Err(Error::plan("Map constructor cannot be empty. Please supply at least one key value pair (see https://github.com/confluentinc/ksql/issues/4239)."));
                }
                let kt: Vec<SqlType> = ks.iter().map(|k| k.ty.clone()).collect();
                let vt: Vec<SqlType> = vs.iter().map(|v| v.ty.clone()).collect();
                if kt.iter().all(|t| *t == SqlType::Null) {
                    return Err(Error::plan("Cannot construct a map with all NULL keys (see https://github.com/confluentinc/ksql/issues/4239). As a workaround, you may cast a NULL key to the desired type."));
                }
                if vt.iter().all(|t| *t == SqlType::Null) {
                    return Err(Error::plan("Cannot construct a map with all NULL values (see https://github.com/confluentinc/ksql/issues/4239). As a workaround, you may cast a NULL value to the desired type."));
                }
                let k = common_type(&kt)
                    .ok_or_else(|| Error::plan("Map keys must all have the same type"))?;
                let v = common_type(&vt)
                    .ok_or_else(|| Error::plan("Map values must all have the same type"))?;
                let entries = ks
                    .into_iter()
                    .zip(vs)
                    .map(|(a, b)| (coerce_to(a, &k), coerce_to(b, &v)))
                    .collect();
                Ok(Compiled::new(
                    SqlType::Map(Box::new(k), Box::new(v)),
                    Node::MakeMap(entries),
                ))
            }
            Expr::Struct(fields) => {
                let mut out = Vec::new();
                let mut types = Vec::new();
                for (i, (n, _)) in fields.iter().enumerate() {
                    if fields[..i].iter().any(|(m, _)| m == n) {
                        return Err(Error::plan(format!(
                            "Duplicate field names found in STRUCT: '{expr}'"
                        )));
                    }
                }
                for (n, e) in fields {
                    let c = self.compile(e)?;
                    types.push((n.clone(), c.ty.clone()));
                    out.push((n.clone(), c));
                }
                Ok(Compiled::new(SqlType::Struct(types), Node::MakeStruct(out)))
            }
            Expr::Lambda { .. } => Err(Error::plan(format!(
                "A lambda ({expr}) can only be used as an argument of TRANSFORM, FILTER or REDUCE"
            ))),
        }
    }

    fn binary(&mut self, op: BinaryOp, left: &Expr, right: &Expr) -> Result<Compiled> {
        let mut a = self.compile(left)?;
        let mut b = self.compile(right)?;
        if !matches!(op, BinaryOp::And | BinaryOp::Or) {
            b = magic_timestamp(left, &a, b)?;
            a = magic_timestamp(right, &b, a)?;
        }
        let arith_op = match op {
            BinaryOp::Add => Some(ArithOp::Add),
            BinaryOp::Sub => Some(ArithOp::Sub),
            BinaryOp::Mul => Some(ArithOp::Mul),
            BinaryOp::Div => Some(ArithOp::Div),
            BinaryOp::Mod => Some(ArithOp::Mod),
            BinaryOp::Concat => Some(ArithOp::Concat),
            _ => None,
        };
        if let Some(aop) = arith_op {
            let ty = if aop == ArithOp::Concat
                || (aop == ArithOp::Add && (a.ty == SqlType::String || b.ty == SqlType::String))
            {
                if !matches!(a.ty, SqlType::String | SqlType::Null)
                    || !matches!(b.ty, SqlType::String | SqlType::Null)
                {
                    return Err(arith_error(op, &a, &b, left, right));
                }
                SqlType::String
            } else {
                numeric_result(aop, &a.ty, &b.ty)
                    .ok_or_else(|| arith_error(op, &a, &b, left, right))?
            };
            let node = Node::Arith(aop, Box::new(a), Box::new(b));
            let c = Compiled::new(ty.clone(), node);
            return fold_constant(c);
        }
        match op {
            BinaryOp::And | BinaryOp::Or => {
                expect_bool(&a, if op == BinaryOp::And { "AND" } else { "OR" })?;
                expect_bool(&b, if op == BinaryOp::And { "AND" } else { "OR" })?;
                let node = if op == BinaryOp::And {
                    Node::And(Box::new(a), Box::new(b))
                } else {
                    Node::Or(Box::new(a), Box::new(b))
                };
                Ok(Compiled::new(SqlType::Boolean, node))
            }
            _ => {
                if a.ty == SqlType::Null && b.ty == SqlType::Null {
                    return Err(Error::plan(format!(
                        "Comparison with NULL not supported: {} {} {}",
                        left, op, right
                    )));
                }
                check_comparable(&a, &b, op, left, right)?;
                Ok(Compiled::new(
                    SqlType::Boolean,
                    Node::Compare(op, Box::new(a), Box::new(b)),
                ))
            }
        }
    }

    fn function(&mut self, name: &str, args: &[Expr], star: bool) -> Result<Compiled> {
        let upper = name.to_ascii_uppercase();
        match upper.as_str() {
            "TRANSFORM" | "FILTER" | "REDUCE" => return self.lambda_call(&upper, args),
            _ => {}
        }
        if star {
            return Err(Error::plan(format!(
                "Function '{upper}' does not accept '*' here"
            )));
        }
        let mut compiled = Vec::with_capacity(args.len());
        for (i, a) in args.iter().enumerate() {
            // Time-unit keywords (TIMESTAMPADD(SECONDS, ...)) are passed as
            // upper-case strings to the functions that take them.
            if let Expr::Column {
                qualifier: None,
                name: unit,
            } = a
            {
                let takes_unit = i == 0
                    && matches!(
                        upper.as_str(),
                        "TIMESTAMPADD"
                            | "TIMESTAMPSUB"
                            | "DATEADD"
                            | "DATESUB"
                            | "TIMEADD"
                            | "TIMESUB"
                    );
                if takes_unit && crate::sql::ast::TimeUnit::parse(unit).is_some() {
                    compiled.push(Compiled::literal(
                        Value::String(unit.to_ascii_uppercase()),
                        SqlType::String,
                    ));
                    continue;
                }
            }
            compiled.push(self.compile(a)?);
        }
        let types: Vec<SqlType> = compiled.iter().map(|c| c.ty.clone()).collect();
        let resolved = FunctionRegistry::global()
            .resolve(&upper, &types)
            .map_err(|e| {
                if FunctionRegistry::global().get(&upper).is_none()
                    && crate::functions::is_aggregate(&upper)
                {
                    Error::plan(format!("Aggregate function '{upper}' is not allowed here"))
                } else {
                    e
                }
            })?;
        Ok(Compiled::new(
            resolved.return_type,
            Node::Call(resolved.eval, compiled),
        ))
    }

    fn lambda_call(&mut self, name: &str, args: &[Expr]) -> Result<Compiled> {
        let wrong = || {
            Error::plan(format!(
                "Function '{name}' does not accept parameters ({}).",
                args.iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        };
        let input = self.compile(args.first().ok_or_else(wrong)?)?;
        let lambdas: Vec<(&Vec<String>, &Expr)> = args[1..]
            .iter()
            .filter_map(|a| match a {
                Expr::Lambda { params, body } => Some((params, body.as_ref())),
                _ => None,
            })
            .collect();
        let with_params = |this: &mut Self, params: &[String], types: Vec<SqlType>, body: &Expr| {
            if params.len() != types.len() {
                return Err(Error::plan(format!(
                    "Was expecting {} arguments to lambda function, got {}",
                    types.len(),
                    params.len()
                )));
            }
            let base = this.lambda.len();
            for (p, t) in params.iter().zip(types) {
                this.lambda.push((p.clone(), t));
            }
            let r = this.compile(body);
            this.lambda.truncate(base);
            r
        };
        match (name, &input.ty) {
            ("TRANSFORM", SqlType::Array(t)) if args.len() == 2 && lambdas.len() == 1 => {
                let body = with_params(self, lambdas[0].0, vec![(**t).clone()], lambdas[0].1)?;
                Ok(Compiled::new(
                    SqlType::Array(Box::new(body.ty.clone())),
                    Node::Lambda(
                        LambdaFn::TransformArray,
                        vec![input],
                        Box::new(body),
                        vec![],
                    ),
                ))
            }
            ("TRANSFORM", SqlType::Map(k, v)) if args.len() == 3 && lambdas.len() == 2 => {
                let kv = vec![(**k).clone(), (**v).clone()];
                let kb = with_params(self, lambdas[0].0, kv.clone(), lambdas[0].1)?;
                let vb = with_params(self, lambdas[1].0, kv, lambdas[1].1)?;
                Ok(Compiled::new(
                    SqlType::Map(Box::new(kb.ty.clone()), Box::new(vb.ty.clone())),
                    Node::Lambda(LambdaFn::TransformMap, vec![input], Box::new(kb), vec![vb]),
                ))
            }
            ("FILTER", SqlType::Array(t)) if args.len() == 2 && lambdas.len() == 1 => {
                let body = with_params(self, lambdas[0].0, vec![(**t).clone()], lambdas[0].1)?;
                expect_bool(&body, "FILTER lambda")?;
                Ok(Compiled::new(
                    input.ty.clone(),
                    Node::Lambda(LambdaFn::FilterArray, vec![input], Box::new(body), vec![]),
                ))
            }
            ("FILTER", SqlType::Map(k, v)) if args.len() == 2 && lambdas.len() == 1 => {
                let body = with_params(
                    self,
                    lambdas[0].0,
                    vec![(**k).clone(), (**v).clone()],
                    lambdas[0].1,
                )?;
                expect_bool(&body, "FILTER lambda")?;
                Ok(Compiled::new(
                    input.ty.clone(),
                    Node::Lambda(LambdaFn::FilterMap, vec![input], Box::new(body), vec![]),
                ))
            }
            ("REDUCE", SqlType::Array(t) | SqlType::Map(t, _))
                if args.len() == 3 && lambdas.len() == 1 =>
            {
                let init = self.compile(&args[1])?;
                let is_map = matches!(input.ty, SqlType::Map(..));
                let mut params = vec![init.ty.clone(), (**t).clone()];
                if let SqlType::Map(_, v) = &input.ty {
                    params.push((**v).clone());
                }
                let body = with_params(self, lambdas[0].0, params, lambdas[0].1)?;
                let ty = if init.ty == SqlType::Null {
                    body.ty.clone()
                } else {
                    init.ty.clone()
                };
                let body = coerce_to(body, &ty);
                Ok(Compiled::new(
                    ty,
                    Node::Lambda(
                        if is_map {
                            LambdaFn::ReduceMap
                        } else {
                            LambdaFn::ReduceArray
                        },
                        vec![input],
                        Box::new(body),
                        vec![init],
                    ),
                ))
            }
            _ => Err(wrong()),
        }
    }
}

/// ksqlDB lets ROWTIME, WINDOWSTART and WINDOWEND (BIGINT milliseconds) be
/// compared with timestamp text: a string literal compared with one of them
/// becomes the epoch milliseconds it denotes.
fn magic_timestamp(column: &Expr, column_c: &Compiled, other: Compiled) -> Result<Compiled> {
    let is_magic = matches!(column, Expr::Column { name, .. }
        if matches!(name.as_str(), "ROWTIME" | "WINDOWSTART" | "WINDOWEND"))
        && column_c.ty == SqlType::BigInt;
    match (is_magic, other.as_literal()) {
        (true, Some(Value::String(text))) => {
            let ms = crate::functions::datetime::parse_timestamp_text(text)
                .ok_or_else(|| Error::plan(format!("Failed to parse timestamp '{text}'")))?;
            Ok(Compiled::literal(Value::BigInt(ms), SqlType::BigInt))
        }
        _ => Ok(other),
    }
}

fn op_name(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Eq => "EQUAL",
        BinaryOp::NotEq => "NOT_EQUAL",
        BinaryOp::Lt => "LESS_THAN",
        BinaryOp::LtEq => "LESS_THAN_OR_EQUAL",
        BinaryOp::Gt => "GREATER_THAN",
        BinaryOp::GtEq => "GREATER_THAN_OR_EQUAL",
        _ => "OPERATOR",
    }
}

fn arith_error(op: BinaryOp, a: &Compiled, b: &Compiled, l: &Expr, r: &Expr) -> Error {
    if a.ty == SqlType::Null || b.ty == SqlType::Null {
        let name = |t: &SqlType| {
            if *t == SqlType::Null {
                "null".to_string()
            } else {
                t.to_string()
            }
        };
        return Error::plan(format!(
            "Error processing expression: ({l} {} {r}). Arithmetic on types {} and {} are not supported.",
            op,
            name(&a.ty),
            name(&b.ty)
        ));
    }
    Error::plan(format!(
        "Error processing expression: ({l} {} {r}). Unsupported arithmetic types. {} {}",
        op, a.ty, b.ty
    ))
}

fn expect_bool(e: &Compiled, ctx: &str) -> Result<()> {
    if matches!(e.ty, SqlType::Boolean | SqlType::Null) {
        Ok(())
    } else {
        Err(Error::plan(format!(
            "Type mismatch: {ctx} expects a BOOLEAN operand, got {}",
            e.ty
        )))
    }
}

/// Rejects comparisons ksqlDB rejects: different type families, or ordering
/// on collections.
fn check_comparable(a: &Compiled, b: &Compiled, op: BinaryOp, l: &Expr, r: &Expr) -> Result<()> {
    use SqlType::*;
    let ok = match (&a.ty, &b.ty) {
        (Null, _) | (_, Null) => true,
        (x, y) if x.is_numeric() && y.is_numeric() => true,
        (String, String) | (Boolean, Boolean) | (Bytes, Bytes) => true,
        (Timestamp | Date | Time, String) | (String, Timestamp | Date | Time) => true,
        (Timestamp, Date) | (Date, Timestamp) => true,
        (x, y) if x == y && matches!(x, Timestamp | Date | Time) => true,
        (Array(_), Array(_)) | (Map(..), Map(..)) => {
            matches!(op, BinaryOp::Eq | BinaryOp::NotEq)
                && common_type(&[a.ty.clone(), b.ty.clone()]).is_some()
        }
        (Struct(fa), Struct(fb)) => {
            matches!(op, BinaryOp::Eq | BinaryOp::NotEq)
                && fa.iter().all(|(n, ta)| {
                    fb.iter()
                        .find(|(m, _)| m.eq_ignore_ascii_case(n))
                        .is_none_or(|(_, tb)| {
                            ta == tb
                                || (ta.is_numeric() && tb.is_numeric())
                                || matches!(ta, Null | String)
                                || matches!(tb, Null | String)
                        })
                })
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::plan(format!(
            "Cannot compare {l} ({}) to {r} ({}) with {}.",
            a.ty,
            b.ty,
            op_name(op)
        )))
    }
}

/// Wraps an expression so its values have type `ty` (numeric widening).
pub fn coerce_to(c: Compiled, ty: &SqlType) -> Compiled {
    if &c.ty == ty || c.ty == SqlType::Null && matches!(c.node, Node::Literal(_)) {
        return Compiled {
            ty: ty.clone(),
            ..c
        };
    }
    if c.ty.is_numeric() && ty.is_numeric() {
        return Compiled::new(ty.clone(), Node::Cast(Box::new(c)));
    }
    match (&c.ty, ty) {
        (SqlType::Array(_), SqlType::Array(_)) | (SqlType::Map(..), SqlType::Map(..)) => {
            Compiled::new(ty.clone(), Node::Cast(Box::new(c)))
        }
        _ => c,
    }
}

/// Evaluates a subtree made only of literals once, at plan time.
fn fold_constant(c: Compiled) -> Result<Compiled> {
    let all_literal = match &c.node {
        Node::Arith(_, a, b) => a.as_literal().is_some() && b.as_literal().is_some(),
        _ => false,
    };
    if !all_literal {
        return Ok(c);
    }
    match c.eval(&[]) {
        Ok(v) => Ok(Compiled::literal(v, c.ty)),
        Err(_) => Ok(c),
    }
}

fn literal(l: &Literal) -> Result<Compiled> {
    Ok(match l {
        Literal::Null => Compiled::literal(Value::Null, SqlType::Null),
        Literal::Bool(b) => Compiled::literal(Value::Bool(*b), SqlType::Boolean),
        Literal::Integer(i) => {
            if let Ok(v) = i32::try_from(*i) {
                Compiled::literal(Value::Int(v), SqlType::Int)
            } else {
                Compiled::literal(Value::BigInt(*i), SqlType::BigInt)
            }
        }
        Literal::Decimal(text) => {
            let d = Decimal::parse(text)
                .ok_or_else(|| Error::plan(format!("Invalid decimal literal {text}")))?;
            Compiled::literal(Value::Decimal(d), SqlType::Decimal(d.precision(), d.scale))
        }
        Literal::Double(text) => {
            let d: f64 = text
                .parse()
                .map_err(|_| Error::plan(format!("Invalid number {text}")))?;
            if d.is_infinite() {
                return Err(Error::plan(format!("Number overflows DOUBLE: {text}")));
            }
            Compiled::literal(Value::Double(d), SqlType::Double)
        }
        Literal::String(s) => Compiled::literal(Value::String(s.clone()), SqlType::String),
    })
}

impl Compiled {
    /// Compiles `expr` against `scope`.
    pub fn compile(expr: &Expr, scope: &Scope) -> Result<Compiled> {
        ExprCompiler::new(scope).compile(expr)
    }
}

/// A shared, immutable compiled expression.
pub type CompiledRef = Arc<Compiled>;

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

    #[test]
    fn decimal_result_types() {
        assert_eq!(
            numeric_result(
                ArithOp::Add,
                &SqlType::Decimal(4, 2),
                &SqlType::Decimal(4, 2)
            ),
            Some(SqlType::Decimal(5, 2))
        );
        assert_eq!(
            numeric_result(ArithOp::Add, &SqlType::Int, &SqlType::BigInt),
            Some(SqlType::BigInt)
        );
    }
}
