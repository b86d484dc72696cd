//! Compiling AST expressions against a scope into typed trees: name
//! resolution, type checking (with ksqlDB's error messages), function
//! resolution, lambdas and constant folding.

use super::cast::{cast_supported, cast_value};
use super::eval::negate;
use super::typing::{coerce_to, common_type, numeric_result};
use super::{ArithOp, Compiled, LambdaFn, Node, Scope};
use crate::error::{Error, Result};
use crate::functions::FunctionRegistry;
use crate::sql::ast::{BinaryOp, Expr, Literal, UnaryOp};
use crate::types::{Decimal, SqlType, Value};

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
    /// Compiles `expr` against `scope`; plans show it as `expr`'s SQL.
    pub fn compile(expr: &Expr, scope: &Scope) -> Result<Compiled> {
        Ok(ExprCompiler::new(scope)
            .compile(expr)?
            .with_text(expr.to_string()))
    }
}
