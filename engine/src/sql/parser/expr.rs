//! Expressions: the operators by precedence, literals, columns, function
//! calls and their lambda arguments, `CASE`, `CAST` and the `ARRAY`, `MAP`
//! and `STRUCT` constructors.
//!
//! Precedence, loosest first: `OR`, `AND`, `NOT`, the predicates
//! (comparisons, `IS`, `LIKE`, `BETWEEN`, `IN`; not chainable), `||`,
//! `+ -`, `* / %`, unary `- +`, then the postfix `[index]` and `->field`.

use super::{ident_value, too_deep, Parser, MAX_NESTING};
use crate::error::Result;
use crate::sql::ast::*;
use crate::sql::lexer::{parse_error, Token, TokenKind};

impl Parser {
    /// An expression, one level deeper than where it appears. The outermost
    /// one's tree is checked against [`MAX_NESTING`] as a whole once parsed
    /// (a chain's first operand ends up deeper than it was parsed at).
    pub(super) fn expr(&mut self) -> Result<Expr> {
        let depth = self.depth;
        let start = self.peek().pos;
        self.nest()?;
        let e = self.or_expr();
        self.depth = depth;
        let e = e?;
        if depth == 0 && tree_depth(&e) > MAX_NESTING {
            dismantle(e);
            return Err(too_deep(start));
        }
        Ok(e)
    }

    fn or_expr(&mut self) -> Result<Expr> {
        let depth = self.depth;
        let mut left = self.and_expr()?;
        while self.eat_keyword("OR") {
            self.nest()?;
            let right = self.and_expr()?;
            left = binary(BinaryOp::Or, left, right);
        }
        self.depth = depth;
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr> {
        let depth = self.depth;
        let mut left = self.not_expr()?;
        while self.eat_keyword("AND") {
            self.nest()?;
            let right = self.not_expr()?;
            left = binary(BinaryOp::And, left, right);
        }
        self.depth = depth;
        Ok(left)
    }

    fn not_expr(&mut self) -> Result<Expr> {
        if self.eat_keyword("NOT") {
            let depth = self.depth;
            self.nest()?;
            let e = self.not_expr()?;
            self.depth = depth;
            return Ok(Expr::Unary {
                op: UnaryOp::Not,
                expr: Box::new(e),
            });
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Expr> {
        let left = self.value_expr()?;
        let t = self.peek().clone();
        if let TokenKind::Symbol(s) = t.kind {
            let op = match s {
                "=" => Some(BinaryOp::Eq),
                "<>" => Some(BinaryOp::NotEq),
                "<" => Some(BinaryOp::Lt),
                "<=" => Some(BinaryOp::LtEq),
                ">" => Some(BinaryOp::Gt),
                ">=" => Some(BinaryOp::GtEq),
                _ => None,
            };
            if let Some(op) = op {
                self.i += 1;
                let right = self.value_expr()?;
                return Ok(binary(op, left, right));
            }
            return Ok(left);
        }
        if self.eat_keyword("IS") {
            let negated = self.eat_keyword("NOT");
            if self.eat_keyword("NULL") {
                return Ok(Expr::IsNull {
                    expr: Box::new(left),
                    negated,
                });
            }
            if self.eat_keyword("DISTINCT") {
                self.expect_keyword("FROM")?;
                let right = self.value_expr()?;
                return Ok(Expr::IsDistinctFrom {
                    left: Box::new(left),
                    right: Box::new(right),
                    negated,
                });
            }
            return self.error_here(if negated {
                "NULL or DISTINCT FROM after IS NOT"
            } else {
                "one of NULL, NOT NULL, DISTINCT FROM after IS"
            });
        }
        let negated = if self.at_keyword("NOT")
            && ["BETWEEN", "LIKE", "IN"]
                .iter()
                .any(|k| self.peek_at(1).is_keyword(k))
        {
            self.i += 1;
            true
        } else {
            false
        };
        if self.eat_keyword("BETWEEN") {
            let low = self.value_expr()?;
            self.expect_keyword("AND")?;
            let high = self.value_expr()?;
            return Ok(Expr::Between {
                expr: Box::new(left),
                low: Box::new(low),
                high: Box::new(high),
                negated,
            });
        }
        if self.eat_keyword("LIKE") {
            let pattern = self.value_expr()?;
            let escape = if self.at_keyword("ESCAPE")
                && matches!(self.peek_at(1).kind, TokenKind::String(_))
            {
                self.i += 1;
                Some(self.string_lit("an escape character")?)
            } else {
                None
            };
            return Ok(Expr::Like {
                expr: Box::new(left),
                pattern: Box::new(pattern),
                escape,
                negated,
            });
        }
        if self.eat_keyword("IN") {
            self.expect_symbol("(")?;
            let mut list = Vec::new();
            loop {
                list.push(self.expr()?);
                if !self.list_continues(")")? {
                    break;
                }
            }
            return Ok(Expr::InList {
                expr: Box::new(left),
                list,
                negated,
            });
        }
        Ok(left)
    }

    /// `||` and the arithmetic below it: what ksqlDB calls a value
    /// expression.
    pub(super) fn value_expr(&mut self) -> Result<Expr> {
        let depth = self.depth;
        let mut left = self.additive()?;
        while self.eat_symbol("||") {
            self.nest()?;
            let right = self.additive()?;
            left = binary(BinaryOp::Concat, left, right);
        }
        self.depth = depth;
        Ok(left)
    }

    fn additive(&mut self) -> Result<Expr> {
        let depth = self.depth;
        let mut left = self.multiplicative()?;
        loop {
            let op = if self.eat_symbol("+") {
                BinaryOp::Add
            } else if self.eat_symbol("-") {
                BinaryOp::Sub
            } else {
                self.depth = depth;
                return Ok(left);
            };
            self.nest()?;
            let right = self.multiplicative()?;
            left = binary(op, left, right);
        }
    }

    fn multiplicative(&mut self) -> Result<Expr> {
        let depth = self.depth;
        let mut left = self.unary()?;
        loop {
            let op = if self.eat_symbol("*") {
                BinaryOp::Mul
            } else if self.eat_symbol("/") {
                BinaryOp::Div
            } else if self.eat_symbol("%") {
                BinaryOp::Mod
            } else {
                self.depth = depth;
                return Ok(left);
            };
            self.nest()?;
            let right = self.unary()?;
            left = binary(op, left, right);
        }
    }

    fn unary(&mut self) -> Result<Expr> {
        let depth = self.depth;
        let e = self.signed();
        self.depth = depth;
        e
    }

    fn signed(&mut self) -> Result<Expr> {
        if self.at_symbol("-") || self.at_symbol("+") {
            self.nest()?;
        }
        if self.eat_symbol("-") {
            // `-5` is a negative literal, as in ksqlDB's grammar (unless a
            // postfix operator applies to the number).
            if let TokenKind::Number(n) = &self.peek().kind {
                let next = self.peek_at(1);
                if !next.is_symbol("[") && !next.is_symbol("->") {
                    let n = n.clone();
                    let tok = self.next();
                    return Ok(Expr::Literal(number_literal(&n, &tok, true)?));
                }
            }
            let e = self.unary()?;
            return Ok(Expr::Unary {
                op: UnaryOp::Neg,
                expr: Box::new(e),
            });
        }
        if self.eat_symbol("+") {
            let e = self.unary()?;
            return Ok(Expr::Unary {
                op: UnaryOp::Plus,
                expr: Box::new(e),
            });
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Expr> {
        let depth = self.depth;
        let mut e = self.primary()?;
        loop {
            if self.at_symbol("[") || self.at_symbol("->") {
                self.nest()?;
            }
            if self.eat_symbol("[") {
                let index = self.expr()?;
                self.expect_symbol("]")?;
                e = Expr::Subscript {
                    expr: Box::new(e),
                    index: Box::new(index),
                };
            } else if self.at_symbol("->") && !self.peek_at(1).is_symbol("*") {
                self.i += 1;
                let field = self.any_word("a field name after '->'")?;
                e = Expr::Deref {
                    expr: Box::new(e),
                    field,
                };
            } else {
                self.depth = depth;
                return Ok(e);
            }
        }
    }

    fn primary(&mut self) -> Result<Expr> {
        let t = self.peek().clone();
        match &t.kind {
            TokenKind::Number(n) => {
                self.i += 1;
                Ok(Expr::Literal(number_literal(n, &t, false)?))
            }
            TokenKind::String(s) => {
                self.i += 1;
                Ok(Expr::Literal(Literal::String(s.clone())))
            }
            TokenKind::Symbol("(") => {
                self.i += 1;
                let e = self.expr()?;
                self.expect_symbol(")")?;
                Ok(e)
            }
            TokenKind::Ident {
                value,
                quoted: false,
            } => {
                let next = self.peek_at(1);
                match value.as_str() {
                    "NULL" => {
                        self.i += 1;
                        Ok(Expr::Literal(Literal::Null))
                    }
                    "TRUE" => {
                        self.i += 1;
                        Ok(Expr::Literal(Literal::Bool(true)))
                    }
                    "FALSE" => {
                        self.i += 1;
                        Ok(Expr::Literal(Literal::Bool(false)))
                    }
                    "CASE" => self.case(),
                    "CAST" if next.is_symbol("(") => self.cast(),
                    "ARRAY" if next.is_symbol("[") => self.array(),
                    "MAP" if next.is_symbol("(") => self.map(),
                    "STRUCT" if next.is_symbol("(") => self.struct_ctor(),
                    _ if crate::sql::is_reserved(value) => self.error_here("an expression"),
                    _ => self.column_or_call(),
                }
            }
            TokenKind::Ident { quoted: true, .. } => self.column_or_call(),
            _ => self.error_here("an expression"),
        }
    }

    fn column_or_call(&mut self) -> Result<Expr> {
        let name = self.ident("a name")?;
        if self.eat_symbol("(") {
            return self.call(name);
        }
        if self.at_symbol(".") {
            if let Some(col) = ident_value(self.peek_at(1)) {
                self.i += 2;
                return Ok(Expr::Column {
                    qualifier: Some(name),
                    name: col,
                });
            }
            self.i += 1;
            return self.reserved_or_expected("a column name after '.'");
        }
        Ok(Expr::Column {
            qualifier: None,
            name,
        })
    }

    fn call(&mut self, name: String) -> Result<Expr> {
        let mut args = Vec::new();
        let mut star = false;
        let mut distinct = false;
        if self.at_symbol("*") && self.peek_at(1).is_symbol(")") {
            self.i += 2;
            star = true;
        } else if !self.eat_symbol(")") {
            distinct = self.eat_keyword("DISTINCT");
            loop {
                args.push(self.argument()?);
                if !self.list_continues(")")? {
                    break;
                }
            }
        }
        Ok(Expr::Function {
            name,
            args,
            star,
            distinct,
        })
    }

    /// A function argument: a lambda or an expression.
    fn argument(&mut self) -> Result<Expr> {
        if ident_value(self.peek()).is_some() && self.peek_at(1).is_symbol("=>") {
            let p = self.ident("a lambda parameter")?;
            self.i += 1;
            let body = self.expr()?;
            return Ok(Expr::Lambda {
                params: vec![p],
                body: Box::new(body),
            });
        }
        if self.at_symbol("(") {
            // `(x, y) => body`?
            let mut n = 1;
            let mut ok = false;
            while ident_value(self.peek_at(n)).is_some() {
                let sep = self.peek_at(n + 1);
                if sep.is_symbol(",") {
                    n += 2;
                } else {
                    ok = sep.is_symbol(")") && self.peek_at(n + 2).is_symbol("=>");
                    break;
                }
            }
            if ok {
                self.i += 1;
                let mut params = Vec::new();
                loop {
                    params.push(self.ident("a lambda parameter")?);
                    if !self.eat_symbol(",") {
                        break;
                    }
                }
                self.expect_symbol(")")?;
                self.expect_symbol("=>")?;
                let body = self.expr()?;
                return Ok(Expr::Lambda {
                    params,
                    body: Box::new(body),
                });
            }
        }
        self.expr()
    }

    fn case(&mut self) -> Result<Expr> {
        self.expect_keyword("CASE")?;
        let operand = if self.at_keyword("WHEN") {
            None
        } else {
            Some(Box::new(self.expr()?))
        };
        let mut whens = Vec::new();
        while self.eat_keyword("WHEN") {
            let cond = self.expr()?;
            self.expect_keyword("THEN")?;
            let result = self.expr()?;
            whens.push((cond, result));
        }
        if whens.is_empty() {
            return self.error_here("WHEN");
        }
        let else_result = if self.eat_keyword("ELSE") {
            Some(Box::new(self.expr()?))
        } else {
            None
        };
        if !self.eat_keyword("END") {
            return self.error_here(if else_result.is_some() {
                "END"
            } else {
                "one of WHEN, ELSE, END"
            });
        }
        Ok(Expr::Case {
            operand,
            whens,
            else_result,
        })
    }

    fn cast(&mut self) -> Result<Expr> {
        self.expect_keyword("CAST")?;
        self.expect_symbol("(")?;
        let e = self.expr()?;
        self.expect_keyword("AS")?;
        let ty = self.sql_type()?;
        self.expect_symbol(")")?;
        Ok(Expr::Cast {
            expr: Box::new(e),
            ty,
        })
    }

    fn array(&mut self) -> Result<Expr> {
        self.expect_keyword("ARRAY")?;
        self.expect_symbol("[")?;
        let mut items = Vec::new();
        if self.eat_symbol("]") {
            return Ok(Expr::Array(items));
        }
        loop {
            items.push(self.expr()?);
            if !self.list_continues("]")? {
                return Ok(Expr::Array(items));
            }
        }
    }

    fn map(&mut self) -> Result<Expr> {
        self.expect_keyword("MAP")?;
        self.expect_symbol("(")?;
        let mut entries = Vec::new();
        if self.eat_symbol(")") {
            return Ok(Expr::Map(entries));
        }
        loop {
            let k = self.expr()?;
            self.expect_symbol(":=")?;
            let v = self.expr()?;
            entries.push((k, v));
            if !self.list_continues(")")? {
                return Ok(Expr::Map(entries));
            }
        }
    }

    fn struct_ctor(&mut self) -> Result<Expr> {
        self.expect_keyword("STRUCT")?;
        self.expect_symbol("(")?;
        let mut fields = Vec::new();
        if self.eat_symbol(")") {
            return Ok(Expr::Struct(fields));
        }
        loop {
            let name = self.any_word("a field name")?;
            self.expect_symbol(":=")?;
            let v = self.expr()?;
            fields.push((name, v));
            if !self.list_continues(")")? {
                return Ok(Expr::Struct(fields));
            }
        }
    }
}

fn binary(op: BinaryOp, left: Expr, right: Expr) -> Expr {
    Expr::Binary {
        op,
        left: Box::new(left),
        right: Box::new(right),
    }
}

/// The literal of a number token; `negative` prefixes a minus sign.
fn number_literal(text: &str, tok: &Token, negative: bool) -> Result<Literal> {
    let signed = if negative {
        format!("-{text}")
    } else {
        text.to_string()
    };
    if text.contains(['e', 'E']) {
        Ok(Literal::Double(signed))
    } else if text.contains('.') {
        Ok(Literal::Decimal(signed))
    } else {
        signed.parse::<i64>().map(Literal::Integer).map_err(|_| {
            parse_error(
                tok.pos,
                format!("integer literal {signed} is out of range for BIGINT"),
            )
        })
    }
}

/// The expressions directly inside `e`.
fn children<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
    match e {
        Expr::Column { .. } | Expr::Literal(_) => {}
        Expr::Unary { expr, .. }
        | Expr::IsNull { expr, .. }
        | Expr::Cast { expr, .. }
        | Expr::Deref { expr, .. }
        | Expr::Lambda { body: expr, .. } => out.push(expr),
        Expr::Binary { left, right, .. } | Expr::IsDistinctFrom { left, right, .. } => {
            out.push(left);
            out.push(right);
        }
        Expr::Subscript { expr, index } => {
            out.push(expr);
            out.push(index);
        }
        Expr::Like { expr, pattern, .. } => {
            out.push(expr);
            out.push(pattern);
        }
        Expr::Between {
            expr, low, high, ..
        } => out.extend([&**expr, &**low, &**high]),
        Expr::InList { expr, list, .. } => {
            out.push(expr);
            out.extend(list);
        }
        Expr::Case {
            operand,
            whens,
            else_result,
        } => {
            out.extend(operand.as_deref());
            for (w, t) in whens {
                out.push(w);
                out.push(t);
            }
            out.extend(else_result.as_deref());
        }
        Expr::Function { args, .. } | Expr::Array(args) => out.extend(args),
        Expr::Map(entries) => {
            for (k, v) in entries {
                out.push(k);
                out.push(v);
            }
        }
        Expr::Struct(fields) => out.extend(fields.iter().map(|(_, v)| v)),
    }
}

/// How many levels deep `e`'s tree goes, found without recursion.
fn tree_depth(e: &Expr) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(e, 1)];
    let mut kids = Vec::new();
    while let Some((e, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        children(e, &mut kids);
        stack.extend(kids.drain(..).map(|k| (k, depth + 1)));
    }
    deepest
}

/// Drops a tree too deep to drop by recursion, one node at a time.
fn dismantle(e: Expr) {
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match e {
            Expr::Column { .. } | Expr::Literal(_) => {}
            Expr::Unary { expr, .. }
            | Expr::IsNull { expr, .. }
            | Expr::Cast { expr, .. }
            | Expr::Deref { expr, .. }
            | Expr::Lambda { body: expr, .. } => stack.push(*expr),
            Expr::Binary { left, right, .. } | Expr::IsDistinctFrom { left, right, .. } => {
                stack.extend([*left, *right])
            }
            Expr::Subscript { expr, index } => stack.extend([*expr, *index]),
            Expr::Like { expr, pattern, .. } => stack.extend([*expr, *pattern]),
            Expr::Between {
                expr, low, high, ..
            } => stack.extend([*expr, *low, *high]),
            Expr::InList { expr, list, .. } => {
                stack.push(*expr);
                stack.extend(list);
            }
            Expr::Case {
                operand,
                whens,
                else_result,
            } => {
                stack.extend(operand.map(|o| *o));
                for (w, t) in whens {
                    stack.extend([w, t]);
                }
                stack.extend(else_result.map(|e| *e));
            }
            Expr::Function { args, .. } | Expr::Array(args) => stack.extend(args),
            Expr::Map(entries) => {
                for (k, v) in entries {
                    stack.extend([k, v]);
                }
            }
            Expr::Struct(fields) => stack.extend(fields.into_iter().map(|(_, v)| v)),
        }
    }
}
