//! A recursive-descent parser for ksqlDB's SQL dialect.
//!
//! [`split_statements`] cuts a script into statements at `;`;
//! [`parse_statement`] parses one of them, with error positions counted in
//! the whole script. [`parse`] does both for a script, and [`parse_expr`] /
//! [`parse_type`] parse a lone expression or type.
//!
//! This file holds the entry points, the `Parser` with its token-cursor
//! helpers and the statement dispatcher. Each family of syntax has its own
//! file, all of them methods of `Parser`:
//!
//! - `ddl`: `CREATE`, `CREATE TYPE`, `DROP`, `ALTER` and `WITH (...)`
//!   properties;
//! - `query`: `SELECT` and its clauses (joins, windows, `EMIT`...);
//! - `commands`: every other statement (`INSERT`, `SHOW`, `DESCRIBE`,
//!   `EXPLAIN`, `TERMINATE`, `SET`, `DEFINE`, `PRINT`, `ASSERT`...);
//! - `expr`: expressions, with their precedence;
//! - `types`: type syntax.

mod commands;
mod connectors;
mod ddl;
mod expr;
mod query;
mod types;

use super::ast::*;
use super::lexer::{parse_error, tokenize, Cursor, Token, TokenKind};
use crate::error::{Pos, Result};
use crate::types::SqlType;

/// One statement's text cut out of a script, with where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementText {
    /// The statement from its first token up to and including its `;` (a
    /// trailing statement without `;` ends at the end of the script).
    pub text: String,
    /// Where `text` starts in the script.
    pub pos: Pos,
}

/// Splits a script into statements at each `;` outside string literals,
/// quoted identifiers and comments. Leading whitespace and comments are not
/// part of a statement; pieces holding nothing but `;` are dropped, as is a
/// trailing piece of only whitespace and comments. A trailing piece without
/// `;` is returned as is (it may be incomplete, even inside an unterminated
/// string or comment): callers that read interactively decide whether to
/// wait for more input.
pub fn split_statements(sql: &str) -> Result<Vec<StatementText>> {
    let mut out = Vec::new();
    let mut cur = Cursor::new(sql, Pos { line: 1, col: 1 });
    loop {
        // Skip what precedes the statement; an unterminated comment here is
        // an incomplete trailing piece.
        let before = cur.clone();
        if cur.skip_trivia().is_err() {
            push_piece(&mut out, &before, sql.len());
            return Ok(out);
        }
        let start = cur.clone();
        if cur.peek().is_none() {
            return Ok(out);
        }
        loop {
            match cur.peek() {
                None => {
                    push_piece(&mut out, &start, cur.offset);
                    return Ok(out);
                }
                Some(';') => {
                    cur.bump();
                    if cur.offset - start.offset > 1 {
                        push_piece(&mut out, &start, cur.offset);
                    }
                    break;
                }
                Some(q @ ('\'' | '`' | '"')) => {
                    if cur.quoted(q, "quoted text").is_err() {
                        push_piece(&mut out, &start, sql.len());
                        return Ok(out);
                    }
                }
                Some('-') if cur.peek_at(1) == Some('-') => {
                    if cur.skip_trivia().is_err() {
                        push_piece(&mut out, &start, sql.len());
                        return Ok(out);
                    }
                }
                Some('/') if cur.peek_at(1) == Some('*') => {
                    if cur.skip_trivia().is_err() {
                        push_piece(&mut out, &start, sql.len());
                        return Ok(out);
                    }
                }
                Some(_) => {
                    cur.bump();
                }
            }
        }
    }
}

fn push_piece(out: &mut Vec<StatementText>, start: &Cursor<'_>, end: usize) {
    let text = &start.rest()[..end - start.offset];
    if !text.trim().is_empty() {
        out.push(StatementText {
            text: text.to_string(),
            pos: start.pos(),
        });
    }
}

/// Parses exactly one statement (an optional trailing `;` allowed). `start`
/// is where `text` begins in its script: error positions are absolute.
pub fn parse_statement(text: &str, start: Pos) -> Result<Statement> {
    let mut p = Parser::new(text, start)?;
    let stmt = p.statement()?;
    p.eat_symbol(";");
    p.expect_end("end of statement")?;
    Ok(stmt)
}

/// Parses a whole script into its statements (no variable substitution).
pub fn parse(sql: &str) -> Result<Vec<Statement>> {
    split_statements(sql)?
        .into_iter()
        .map(|s| parse_statement(&s.text, s.pos))
        .collect()
}

/// Parses a lone expression.
pub fn parse_expr(text: &str) -> Result<Expr> {
    let mut p = Parser::new(text, Pos { line: 1, col: 1 })?;
    let e = p.expr()?;
    p.expect_end("end of expression")?;
    Ok(e)
}

/// Parses a lone type (`INT`, `ARRAY<STRING>`, `STRUCT<A INT>`, a custom
/// type's name...).
pub fn parse_type(text: &str) -> Result<SqlType> {
    let mut p = Parser::new(text, Pos { line: 1, col: 1 })?;
    let t = p.sql_type()?;
    p.expect_end("end of type")?;
    Ok(t)
}

/// How deeply expressions and types may nest: each parenthesis, function
/// call, constructor, `CASE`, `CAST`, `NOT`, unary sign, subscript, field
/// access and each operator of a chain (`a OR b OR c` is two levels) counts
/// one level. Deeper input is a parse error rather than a stack overflow
/// here or in whatever walks the expression later (typing, compiling,
/// evaluating); flat lists (columns, `IN` lists, arguments) do not count.
pub const MAX_NESTING: usize = 500;

/// A parser over the tokens of one text: `i` is the next token's index (the
/// last token is always `Eof`).
struct Parser {
    toks: Vec<Token>,
    i: usize,
    /// How deeply the expression or type being parsed nests so far (see
    /// [`MAX_NESTING`]).
    depth: usize,
}

type Dur = Duration;

/// The error for input nested deeper than [`MAX_NESTING`], at `pos`.
fn too_deep(pos: Pos) -> crate::error::Error {
    parse_error(
        pos,
        format!(
            "nesting deeper than {MAX_NESTING} levels (each parenthesis, call and chained operator counts one): simplify the expression"
        ),
    )
}

impl Parser {
    fn new(text: &str, start: Pos) -> Result<Self> {
        Ok(Parser {
            toks: tokenize(text, start)?,
            i: 0,
            depth: 0,
        })
    }

    // ---- nesting ---------------------------------------------------------

    /// Goes one level deeper, failing at the next token past
    /// [`MAX_NESTING`]. Callers restore `depth` when the level ends.
    fn nest(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(too_deep(self.peek().pos));
        }
        Ok(())
    }

    // ---- token helpers -------------------------------------------------

    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    fn peek_at(&self, n: usize) -> &Token {
        let idx = (self.i + n).min(self.toks.len() - 1);
        &self.toks[idx]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }

    fn at_keyword(&self, kw: &str) -> bool {
        self.peek().is_keyword(kw)
    }

    fn at_symbol(&self, s: &str) -> bool {
        self.peek().is_symbol(s)
    }

    fn at_end(&self) -> bool {
        matches!(self.peek().kind, TokenKind::Eof)
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        if self.at_keyword(kw) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn eat_symbol(&mut self, s: &str) -> bool {
        if self.at_symbol(s) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn error_here<T>(&self, expected: &str) -> Result<T> {
        let t = self.peek();
        Err(parse_error(
            t.pos,
            format!("expected {expected}, found {}", t.describe()),
        ))
    }

    fn expect_keyword(&mut self, kw: &str) -> Result<()> {
        if self.eat_keyword(kw) {
            Ok(())
        } else {
            self.error_here(kw)
        }
    }

    fn expect_symbol(&mut self, s: &str) -> Result<()> {
        if self.eat_symbol(s) {
            Ok(())
        } else {
            self.error_here(&format!("'{s}'"))
        }
    }

    /// After a list item: true when `,` follows (more items), false when
    /// `close` ends the list.
    fn list_continues(&mut self, close: &str) -> Result<bool> {
        if self.eat_symbol(",") {
            Ok(true)
        } else if self.eat_symbol(close) {
            Ok(false)
        } else {
            self.error_here(&format!("',' or '{close}'"))
        }
    }

    fn expect_end(&self, what: &str) -> Result<()> {
        if self.at_end() {
            Ok(())
        } else {
            let t = self.peek();
            Err(parse_error(
                t.pos,
                format!("expected {what}, found extra input {}", t.describe()),
            ))
        }
    }

    /// The next token if it is an identifier usable as a name: quoted, or
    /// unquoted and not reserved.
    fn peek_ident(&self) -> Option<String> {
        ident_value(self.peek())
    }

    /// An identifier (quoted, or an unquoted non-reserved word).
    fn ident(&mut self, what: &str) -> Result<String> {
        match self.peek_ident() {
            Some(v) => {
                self.i += 1;
                Ok(v)
            }
            None => self.reserved_or_expected(what),
        }
    }

    fn reserved_or_expected<T>(&self, what: &str) -> Result<T> {
        let t = self.peek();
        if let TokenKind::Ident { quoted: false, .. } = &t.kind {
            return Err(parse_error(
                t.pos,
                format!(
                    "expected {what}, found reserved word {} (quote it with backticks to use it as a name)",
                    t.describe()
                ),
            ));
        }
        self.error_here(what)
    }

    /// Any word, reserved or not (used where no keyword can appear: field
    /// names after `->`, property names, struct field names).
    fn any_word(&mut self, what: &str) -> Result<String> {
        match &self.peek().kind {
            TokenKind::Ident { value, .. } => {
                let v = value.clone();
                self.i += 1;
                Ok(v)
            }
            _ => self.error_here(what),
        }
    }

    fn string_lit(&mut self, what: &str) -> Result<String> {
        match &self.peek().kind {
            TokenKind::String(s) => {
                let s = s.clone();
                self.i += 1;
                Ok(s)
            }
            _ => self.error_here(what),
        }
    }

    fn unsigned(&mut self, what: &str) -> Result<u64> {
        let t = self.peek().clone();
        match &t.kind {
            TokenKind::Number(n) => match n.parse::<u64>() {
                Ok(v) => {
                    self.i += 1;
                    Ok(v)
                }
                Err(_) => Err(parse_error(
                    t.pos,
                    format!("expected {what} (a whole number), found {}", t.describe()),
                )),
            },
            _ => self.error_here(what),
        }
    }

    fn duration(&mut self, what: &str) -> Result<Dur> {
        let amount = self.unsigned(what)?;
        let t = self.peek().clone();
        let unit = match &t.kind {
            TokenKind::Ident {
                value,
                quoted: false,
            } => TimeUnit::parse(value),
            _ => None,
        };
        match unit {
            Some(unit) => {
                self.i += 1;
                Ok(Duration { amount, unit })
            }
            None => self.error_here("a time unit (MILLISECONDS, SECONDS, MINUTES, HOURS or DAYS)"),
        }
    }

    // ---- statements ----------------------------------------------------

    /// One statement: dispatches on its first word to the parser of that
    /// statement family (`ddl`, `query`, `commands`).
    fn statement(&mut self) -> Result<Statement> {
        let t = self.peek().clone();
        let word = match &t.kind {
            TokenKind::Ident {
                value,
                quoted: false,
            } => value.clone(),
            TokenKind::Eof => return self.error_here("a statement"),
            _ => {
                return Err(parse_error(
                    t.pos,
                    format!("expected a statement, found {}", t.describe()),
                ))
            }
        };
        match word.as_str() {
            "CREATE" => self.create(),
            "INSERT" => self.insert(),
            "SELECT" => Ok(Statement::Query(Box::new(self.query()?))),
            "SHOW" | "LIST" => self.show(),
            "DESCRIBE" => self.describe(),
            "EXPLAIN" => self.explain(),
            "DROP" => self.drop(),
            "TERMINATE" => self.terminate(),
            "PAUSE" => self.pause(),
            "RESUME" => self.resume(),
            "SET" => self.set(),
            "UNSET" => self.unset(),
            "DEFINE" => self.define(),
            "UNDEFINE" => self.undefine(),
            "PRINT" => self.print(),
            "ASSERT" => self.assert(),
            "ALTER" => self.alter(),
            _ => Err(parse_error(
                t.pos,
                format!(
                    "unknown statement {}: expected one of CREATE, INSERT, SELECT, SHOW, LIST, \
                     DESCRIBE, EXPLAIN, DROP, TERMINATE, PAUSE, RESUME, SET, UNSET, DEFINE, \
                     UNDEFINE, PRINT, ASSERT, ALTER",
                    t.describe()
                ),
            )),
        }
    }
}

/// The value of an identifier token usable as a name.
fn ident_value(t: &Token) -> Option<String> {
    match &t.kind {
        TokenKind::Ident { value, quoted } if *quoted || !super::is_reserved(value) => {
            Some(value.clone())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
