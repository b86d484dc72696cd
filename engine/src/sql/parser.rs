//! A recursive-descent parser for ksqlDB's SQL dialect.
//!
//! [`split_statements`] cuts a script into statements at `;`;
//! [`parse_statement`] parses one of them, with error positions counted in
//! the whole script. [`parse`] does both for a script, and [`parse_expr`] /
//! [`parse_type`] parse a lone expression or type.
//!
//! Expression precedence, loosest first: `OR`, `AND`, `NOT`, the predicates
//! (comparisons, `IS`, `LIKE`, `BETWEEN`, `IN`; not chainable), `||`,
//! `+ -`, `* / %`, unary `- +`, then the postfix `[index]` and `->field`.

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

/// Words that may not start an implicit alias (`FROM t x`): they start the
/// clauses that can follow a relation.
const CLAUSE_WORDS: &[&str] = &[
    "WINDOW",
    "WHERE",
    "GROUP",
    "PARTITION",
    "HAVING",
    "EMIT",
    "ORDER",
    "LIMIT",
    "JOIN",
    "INNER",
    "LEFT",
    "RIGHT",
    "FULL",
    "OUTER",
    "CROSS",
    "WITHIN",
    "ON",
    "FROM",
    "AS",
];

struct Parser {
    toks: Vec<Token>,
    i: usize,
}

type Dur = Duration;

impl Parser {
    fn new(text: &str, start: Pos) -> Result<Self> {
        Ok(Parser {
            toks: tokenize(text, start)?,
            i: 0,
        })
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
            "TERMINATE" => {
                self.i += 1;
                Ok(Statement::Terminate(self.query_target("TERMINATE")?))
            }
            "PAUSE" => {
                self.i += 1;
                Ok(Statement::Pause(self.query_target("PAUSE")?))
            }
            "RESUME" => {
                self.i += 1;
                Ok(Statement::Resume(self.query_target("RESUME")?))
            }
            "SET" => {
                self.i += 1;
                let name = self.string_lit("a quoted property name after SET")?;
                self.expect_symbol("=")?;
                let value = self.string_lit("a quoted property value")?;
                Ok(Statement::Set { name, value })
            }
            "UNSET" => {
                self.i += 1;
                let name = self.string_lit("a quoted property name after UNSET")?;
                Ok(Statement::Unset { name })
            }
            "DEFINE" => {
                self.i += 1;
                let name = self.ident("a variable name after DEFINE")?;
                self.expect_symbol("=")?;
                let value = self.string_lit("a quoted variable value")?;
                Ok(Statement::Define { name, value })
            }
            "UNDEFINE" => {
                self.i += 1;
                let name = self.ident("a variable name after UNDEFINE")?;
                Ok(Statement::Undefine { name })
            }
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

    fn source_kind(&mut self, after: &str, allow_type: bool) -> Result<Option<SourceKind>> {
        if self.eat_keyword("STREAM") {
            Ok(Some(SourceKind::Stream))
        } else if self.eat_keyword("TABLE") {
            Ok(Some(SourceKind::Table))
        } else if allow_type && self.eat_keyword("TYPE") {
            Ok(None)
        } else if allow_type {
            self.error_here(&format!("one of STREAM, TABLE, TYPE after {after}"))
        } else {
            self.error_here(&format!("STREAM or TABLE after {after}"))
        }
    }

    fn if_not_exists(&mut self) -> Result<bool> {
        if self.at_keyword("IF") && self.peek_at(1).is_keyword("NOT") {
            self.i += 2;
            self.expect_keyword("EXISTS")?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn if_exists(&mut self) -> Result<bool> {
        if self.at_keyword("IF") && self.peek_at(1).is_keyword("EXISTS") {
            self.i += 2;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn create(&mut self) -> Result<Statement> {
        self.expect_keyword("CREATE")?;
        let mut or_replace = false;
        if self.eat_keyword("OR") {
            self.expect_keyword("REPLACE")?;
            or_replace = true;
        }
        let is_source = self.eat_keyword("SOURCE");
        let after = match (or_replace, is_source) {
            (_, true) => "CREATE SOURCE",
            (true, false) => "CREATE OR REPLACE",
            _ => "CREATE",
        };
        let kind = match self.source_kind(after, !or_replace && !is_source)? {
            Some(k) => k,
            None => return self.create_type(),
        };
        let if_not_exists = self.if_not_exists()?;
        let name = self.ident("a stream or table name")?;
        let mut elements = Vec::new();
        let has_elements = self.at_symbol("(");
        if has_elements {
            elements = self.table_elements()?;
        }
        let properties = self.opt_with()?;
        if self.at_keyword("AS") {
            let as_tok = self.peek().clone();
            if has_elements {
                return Err(parse_error(
                    as_tok.pos,
                    "CREATE ... AS SELECT cannot declare columns: they come from the query",
                ));
            }
            if is_source {
                return Err(parse_error(
                    as_tok.pos,
                    "CREATE SOURCE STREAM/TABLE cannot be created AS SELECT",
                ));
            }
            self.i += 1;
            if !self.at_keyword("SELECT") {
                return self.error_here("SELECT after AS");
            }
            let query = Box::new(self.query()?);
            return Ok(Statement::CreateAsSelect(CreateAsSelect {
                kind,
                or_replace,
                if_not_exists,
                name,
                properties,
                query,
            }));
        }
        if !self.at_end() && !self.at_symbol(";") {
            let expected = if properties.is_empty() {
                if has_elements {
                    "WITH or AS"
                } else {
                    "a column list, WITH or AS"
                }
            } else {
                "AS or end of statement"
            };
            return self.error_here(expected);
        }
        Ok(Statement::CreateSource(CreateSource {
            kind,
            or_replace,
            if_not_exists,
            is_source,
            name,
            elements,
            properties,
        }))
    }

    fn create_type(&mut self) -> Result<Statement> {
        let if_not_exists = self.if_not_exists()?;
        let name = self.ident("a type name")?;
        self.expect_keyword("AS")?;
        let ty = self.sql_type()?;
        Ok(Statement::CreateType {
            if_not_exists,
            name,
            ty,
        })
    }

    fn table_elements(&mut self) -> Result<Vec<TableElement>> {
        self.expect_symbol("(")?;
        let mut out = Vec::new();
        loop {
            let name = self.ident("a column name")?;
            let ty = self.sql_type()?;
            let constraint = if self.eat_keyword("KEY") {
                ColumnConstraint::Key
            } else if self.eat_keyword("PRIMARY") {
                self.expect_keyword("KEY")?;
                ColumnConstraint::PrimaryKey
            } else if self.eat_keyword("HEADERS") {
                ColumnConstraint::Headers
            } else if self.eat_keyword("HEADER") {
                self.expect_symbol("(")?;
                let k = self.string_lit("a quoted header key")?;
                self.expect_symbol(")")?;
                ColumnConstraint::Header(k)
            } else {
                ColumnConstraint::None
            };
            out.push(TableElement {
                name,
                ty,
                constraint,
            });
            if self.eat_symbol(",") {
                continue;
            }
            if self.eat_symbol(")") {
                return Ok(out);
            }
            return self.error_here("one of KEY, PRIMARY KEY, HEADERS, HEADER, ',' or ')'");
        }
    }

    fn opt_with(&mut self) -> Result<Properties> {
        if self.eat_keyword("WITH") {
            self.properties()
        } else {
            Ok(Vec::new())
        }
    }

    fn properties(&mut self) -> Result<Properties> {
        self.expect_symbol("(")?;
        let mut out = Vec::new();
        if self.eat_symbol(")") {
            return Ok(out);
        }
        loop {
            let name = self.any_word("a property name")?;
            self.expect_symbol("=")?;
            let value = self.prop_value()?;
            out.push((name, value));
            if !self.list_continues(")")? {
                return Ok(out);
            }
        }
    }

    fn prop_value(&mut self) -> Result<PropValue> {
        let t = self.peek().clone();
        let v = match &t.kind {
            TokenKind::String(s) => PropValue::String(s.clone()),
            TokenKind::Number(n) => PropValue::Number(n.clone()),
            TokenKind::Symbol("-") => {
                if let TokenKind::Number(n) = &self.peek_at(1).kind {
                    let n = format!("-{n}");
                    self.i += 2;
                    return Ok(PropValue::Number(n));
                }
                return self.error_here("a property value (a string, number or boolean)");
            }
            _ if t.is_keyword("TRUE") => PropValue::Bool(true),
            _ if t.is_keyword("FALSE") => PropValue::Bool(false),
            _ => return self.error_here("a property value (a string, number or boolean)"),
        };
        self.i += 1;
        Ok(v)
    }

    fn insert(&mut self) -> Result<Statement> {
        self.expect_keyword("INSERT")?;
        self.expect_keyword("INTO")?;
        let target = self.ident("a stream name after INSERT INTO")?;
        if self.at_keyword("WITH") {
            // INSERT INTO ... WITH (QUERY_ID = ...) SELECT: the AST has no
            // place for these properties, so they are checked and dropped.
            self.i += 1;
            self.properties()?;
            if !self.at_keyword("SELECT") {
                return self.error_here("SELECT");
            }
        }
        if self.at_keyword("SELECT") {
            let query = Box::new(self.query()?);
            return Ok(Statement::InsertInto { target, query });
        }
        let mut columns = None;
        if self.eat_symbol("(") {
            let mut cols = Vec::new();
            loop {
                cols.push(self.ident("a column name")?);
                if !self.list_continues(")")? {
                    break;
                }
            }
            columns = Some(cols);
        }
        if !self.eat_keyword("VALUES") {
            return if columns.is_some() {
                self.error_here("VALUES")
            } else {
                self.error_here("one of SELECT, VALUES, '('")
            };
        }
        self.expect_symbol("(")?;
        let mut values = Vec::new();
        if !self.eat_symbol(")") {
            loop {
                values.push(self.expr()?);
                if !self.list_continues(")")? {
                    break;
                }
            }
        }
        Ok(Statement::InsertValues {
            target,
            columns,
            values,
        })
    }

    fn show(&mut self) -> Result<Statement> {
        let verb = self.next().text.to_uppercase();
        let what = if self.eat_keyword("STREAMS") {
            ShowWhat::Streams
        } else if self.eat_keyword("TABLES") {
            ShowWhat::Tables
        } else if self.eat_keyword("QUERIES") {
            ShowWhat::Queries
        } else if self.eat_keyword("TOPICS") {
            ShowWhat::Topics { all: false }
        } else if self.at_keyword("ALL") && self.peek_at(1).is_keyword("TOPICS") {
            self.i += 2;
            ShowWhat::Topics { all: true }
        } else if self.eat_keyword("PROPERTIES") {
            ShowWhat::Properties
        } else if self.eat_keyword("FUNCTIONS") {
            ShowWhat::Functions
        } else if self.eat_keyword("TYPES") {
            ShowWhat::Types
        } else if self.eat_keyword("VARIABLES") {
            ShowWhat::Variables
        } else {
            return self.error_here(&format!(
                "one of STREAMS, TABLES, QUERIES, TOPICS, ALL TOPICS, PROPERTIES, FUNCTIONS, \
                 TYPES, VARIABLES after {verb}"
            ));
        };
        let extended = self.eat_keyword("EXTENDED");
        Ok(Statement::Show { what, extended })
    }

    fn at_statement_end(&self, n: usize) -> bool {
        let t = self.peek_at(n);
        matches!(t.kind, TokenKind::Eof) || t.is_symbol(";") || t.is_keyword("EXTENDED")
    }

    fn describe(&mut self) -> Result<Statement> {
        self.expect_keyword("DESCRIBE")?;
        if self.at_keyword("FUNCTION") && !self.at_statement_end(1) {
            self.i += 1;
            let name = self.ident("a function name")?;
            return Ok(Statement::DescribeFunction(name));
        }
        let target = if self.at_keyword("STREAMS") && self.at_statement_end(1) {
            self.i += 1;
            DescribeTarget::Streams
        } else if self.at_keyword("TABLES") && self.at_statement_end(1) {
            self.i += 1;
            DescribeTarget::Tables
        } else {
            DescribeTarget::Source(
                self.ident("a stream or table name, STREAMS, TABLES or FUNCTION after DESCRIBE")?,
            )
        };
        let extended = self.eat_keyword("EXTENDED");
        Ok(Statement::Describe { target, extended })
    }

    fn explain(&mut self) -> Result<Statement> {
        self.expect_keyword("EXPLAIN")?;
        let single = matches!(self.peek().kind, TokenKind::Ident { .. }) && {
            let t = self.peek_at(1);
            matches!(t.kind, TokenKind::Eof) || t.is_symbol(";")
        };
        if single {
            let id = self.ident("a query id")?;
            return Ok(Statement::Explain(ExplainTarget::QueryId(id)));
        }
        let stmt = self.statement()?;
        Ok(Statement::Explain(ExplainTarget::Statement(Box::new(stmt))))
    }

    fn drop(&mut self) -> Result<Statement> {
        self.expect_keyword("DROP")?;
        let kind = self.source_kind("DROP", true)?;
        let if_exists = self.if_exists()?;
        match kind {
            None => {
                let name = self.ident("a type name")?;
                Ok(Statement::DropType { if_exists, name })
            }
            Some(kind) => {
                let name = self.ident("a stream or table name")?;
                let delete_topic = if self.eat_keyword("DELETE") {
                    self.expect_keyword("TOPIC")?;
                    true
                } else {
                    false
                };
                Ok(Statement::Drop {
                    kind,
                    if_exists,
                    name,
                    delete_topic,
                })
            }
        }
    }

    fn query_target(&mut self, verb: &str) -> Result<QueryTarget> {
        if self.eat_keyword("ALL") {
            return Ok(QueryTarget::All);
        }
        match self.peek_ident() {
            Some(id) => {
                self.i += 1;
                Ok(QueryTarget::Id(id))
            }
            None => self.error_here(&format!("a query id or ALL after {verb}")),
        }
    }

    fn print(&mut self) -> Result<Statement> {
        self.expect_keyword("PRINT")?;
        let topic = match &self.peek().kind {
            TokenKind::String(s) => {
                let s = s.clone();
                self.i += 1;
                s
            }
            _ => self.ident("a topic name after PRINT")?,
        };
        let mut from_beginning = false;
        let mut interval = None;
        let mut limit = None;
        if self.eat_keyword("FROM") {
            self.expect_keyword("BEGINNING")?;
            from_beginning = true;
        }
        if self.eat_keyword("INTERVAL") || self.eat_keyword("SAMPLE") {
            interval = Some(self.unsigned("an interval")?);
        }
        if self.eat_keyword("LIMIT") {
            limit = Some(self.unsigned("a limit")?);
        }
        Ok(Statement::Print {
            topic,
            from_beginning,
            interval,
            limit,
        })
    }

    fn name_or_string(&mut self, what: &str) -> Result<String> {
        if let TokenKind::String(s) = &self.peek().kind {
            let s = s.clone();
            self.i += 1;
            return Ok(s);
        }
        self.ident(what)
    }

    fn assert(&mut self) -> Result<Statement> {
        self.expect_keyword("ASSERT")?;
        let not_exists = if self.eat_keyword("NOT") {
            self.expect_keyword("EXISTS")?;
            true
        } else {
            false
        };
        let kind = if self.eat_keyword("TOPIC") {
            let name = self.name_or_string("a topic name")?;
            let properties = self.opt_with()?;
            AssertKind::Topic { name, properties }
        } else if self.eat_keyword("SCHEMA") {
            let mut subject = None;
            let mut id = None;
            if self.eat_keyword("SUBJECT") {
                subject = Some(self.name_or_string("a subject name")?);
            }
            if self.eat_keyword("ID") {
                let t = self.peek().clone();
                let n = self.unsigned("a schema id")?;
                id = Some(i64::try_from(n).map_err(|_| parse_error(t.pos, "schema id too large"))?);
            }
            if subject.is_none() && id.is_none() {
                return self.error_here("SUBJECT or ID after ASSERT SCHEMA");
            }
            AssertKind::Schema { subject, id }
        } else if not_exists {
            return self.error_here("TOPIC or SCHEMA after ASSERT NOT EXISTS");
        } else {
            return self.error_here("one of TOPIC, SCHEMA, NOT EXISTS after ASSERT");
        };
        let timeout = if self.eat_keyword("TIMEOUT") {
            Some(self.duration("a timeout")?)
        } else {
            None
        };
        Ok(Statement::Assert(AssertStatement {
            not_exists,
            kind,
            timeout,
        }))
    }

    fn alter(&mut self) -> Result<Statement> {
        self.expect_keyword("ALTER")?;
        let kind = self
            .source_kind("ALTER", false)?
            .unwrap_or(SourceKind::Stream);
        let name = self.ident("a stream or table name")?;
        let mut add_columns = Vec::new();
        loop {
            self.expect_keyword("ADD")?;
            self.eat_keyword("COLUMN");
            let col = self.ident("a column name")?;
            let ty = self.sql_type()?;
            add_columns.push((col, ty));
            if !self.eat_symbol(",") {
                break;
            }
        }
        Ok(Statement::Alter {
            kind,
            name,
            add_columns,
        })
    }

    // ---- queries -------------------------------------------------------

    fn query(&mut self) -> Result<Query> {
        self.expect_keyword("SELECT")?;
        let mut select = Vec::new();
        loop {
            select.push(self.select_item()?);
            if !self.eat_symbol(",") {
                break;
            }
        }
        if !self.eat_keyword("FROM") {
            return self.error_here("',' or FROM");
        }
        let from = self.relation()?;
        let mut joins = Vec::new();
        while let Some(kind) = self.join_kind()? {
            joins.push(self.join(kind)?);
        }
        let mut q = Query {
            select,
            from,
            joins,
            window: None,
            where_clause: None,
            group_by: Vec::new(),
            partition_by: Vec::new(),
            having: None,
            emit: None,
            order_by: Vec::new(),
            limit: None,
        };
        if self.eat_keyword("WINDOW") {
            q.window = Some(self.window()?);
        }
        if self.eat_keyword("WHERE") {
            q.where_clause = Some(self.expr()?);
        }
        // GROUP BY, PARTITION BY and HAVING, each at most once, in any order.
        let (mut seen_group, mut seen_partition) = (false, false);
        loop {
            if !seen_group && self.at_keyword("GROUP") {
                self.i += 1;
                self.expect_keyword("BY")?;
                q.group_by = self.grouping_list()?;
                seen_group = true;
            } else if !seen_partition && self.at_keyword("PARTITION") {
                self.i += 1;
                self.expect_keyword("BY")?;
                q.partition_by = self.grouping_list()?;
                seen_partition = true;
            } else if q.having.is_none() && self.eat_keyword("HAVING") {
                q.having = Some(self.expr()?);
            } else {
                break;
            }
        }
        if self.eat_keyword("EMIT") {
            q.emit = Some(if self.eat_keyword("CHANGES") {
                Emit::Changes
            } else if self.eat_keyword("FINAL") {
                Emit::Final
            } else {
                return self.error_here("CHANGES or FINAL after EMIT");
            });
        }
        if self.at_keyword("ORDER") {
            self.i += 1;
            self.expect_keyword("BY")?;
            loop {
                let e = self.expr()?;
                let desc = if self.eat_keyword("DESC") {
                    true
                } else {
                    self.eat_keyword("ASC");
                    false
                };
                q.order_by.push((e, desc));
                if !self.eat_symbol(",") {
                    break;
                }
            }
        }
        if self.eat_keyword("LIMIT") {
            q.limit = Some(self.unsigned("a row count after LIMIT")?);
        }
        if !self.at_end() && !self.at_symbol(";") {
            return self.error_here(&self.query_follow_set(&q));
        }
        Ok(q)
    }

    /// The clauses that could still follow, for an error message.
    fn query_follow_set(&self, q: &Query) -> String {
        let open = q.limit.is_none();
        let before_emit = open && q.emit.is_none();
        let before_grouping =
            before_emit && q.group_by.is_empty() && q.partition_by.is_empty() && q.having.is_none();
        let before_where = before_grouping && q.where_clause.is_none();
        let before_window = before_where && q.window.is_none();
        let opts = [
            (
                before_window && q.joins.is_empty() && q.from.alias.is_none(),
                "an alias",
            ),
            (before_window, "JOIN"),
            (before_window, "WINDOW"),
            (before_where, "WHERE"),
            (before_emit && q.group_by.is_empty(), "GROUP BY"),
            (before_emit && q.partition_by.is_empty(), "PARTITION BY"),
            (before_emit && q.having.is_none(), "HAVING"),
            (before_emit, "EMIT"),
            (open && q.order_by.is_empty(), "ORDER BY"),
            (open, "LIMIT"),
            (true, "';'"),
        ];
        let names: Vec<&str> = opts.iter().filter(|(ok, _)| *ok).map(|(_, n)| *n).collect();
        format!("one of {}", names.join(", "))
    }

    fn select_item(&mut self) -> Result<SelectItem> {
        if self.eat_symbol("*") {
            return Ok(SelectItem::Star(None));
        }
        if self.peek_ident().is_some()
            && self.peek_at(1).is_symbol(".")
            && self.peek_at(2).is_symbol("*")
        {
            let q = self.ident("a source name")?;
            self.i += 2;
            return Ok(SelectItem::Star(Some(q)));
        }
        let start = self.peek().pos;
        let expr = self.expr()?;
        if self.at_symbol("->") && self.peek_at(1).is_symbol("*") {
            // `struct->*`: all fields of a struct. The AST has no node for
            // it: it is a Deref of the field named `*`.
            if !matches!(
                expr,
                Expr::Column { .. }
                    | Expr::Deref { .. }
                    | Expr::Subscript { .. }
                    | Expr::Function { .. }
            ) {
                return Err(parse_error(
                    start,
                    "'->*' applies to a column, field, element or function result",
                ));
            }
            self.i += 2;
            return Ok(SelectItem::Expr {
                expr: Expr::Deref {
                    expr: Box::new(expr),
                    field: "*".to_string(),
                },
                alias: None,
            });
        }
        let alias = if self.eat_keyword("AS") {
            Some(self.ident("an alias after AS")?)
        } else {
            let alias = self.peek_ident();
            if alias.is_some() {
                self.i += 1;
            }
            alias
        };
        Ok(SelectItem::Expr { expr, alias })
    }

    fn relation(&mut self) -> Result<Relation> {
        let name = self.ident("a stream or table name")?;
        let alias = if self.eat_keyword("AS") {
            Some(self.ident("an alias after AS")?)
        } else {
            match self.peek_ident() {
                Some(a) if !is_clause_word(self.peek()) => {
                    self.i += 1;
                    Some(a)
                }
                _ => None,
            }
        };
        Ok(Relation { name, alias })
    }

    fn join_kind(&mut self) -> Result<Option<JoinKind>> {
        let kind = if self.eat_keyword("JOIN") {
            return Ok(Some(JoinKind::Inner));
        } else if self.eat_keyword("INNER") {
            JoinKind::Inner
        } else if self.eat_keyword("LEFT") {
            self.eat_keyword("OUTER");
            JoinKind::Left
        } else if self.eat_keyword("RIGHT") {
            self.eat_keyword("OUTER");
            JoinKind::Right
        } else if self.eat_keyword("FULL") {
            self.eat_keyword("OUTER");
            JoinKind::Full
        } else {
            return Ok(None);
        };
        self.expect_keyword("JOIN")?;
        Ok(Some(kind))
    }

    fn join(&mut self, kind: JoinKind) -> Result<Join> {
        let right = self.relation()?;
        let within = if self.eat_keyword("WITHIN") {
            let (before, after, asymmetric) = if self.eat_symbol("(") {
                let b = self.duration("a time span")?;
                self.expect_symbol(",")?;
                let a = self.duration("a time span")?;
                self.expect_symbol(")")?;
                (b, a, true)
            } else {
                let d = self.duration("a time span")?;
                (d, d, false)
            };
            let grace = if self.eat_keyword("GRACE") {
                self.expect_keyword("PERIOD")?;
                Some(self.duration("a grace period")?)
            } else {
                None
            };
            Some(Within {
                before,
                after,
                asymmetric,
                grace,
            })
        } else {
            None
        };
        if !self.eat_keyword("ON") {
            return if within.is_none() {
                self.error_here("WITHIN or ON")
            } else {
                self.error_here("ON")
            };
        }
        let on = self.expr()?;
        Ok(Join {
            kind,
            right,
            within,
            on,
        })
    }

    fn window(&mut self) -> Result<WindowSpec> {
        // ksqlDB accepts (and ignores) a name before the window kind.
        let kinds = ["TUMBLING", "HOPPING", "SESSION"];
        if !kinds.iter().any(|k| self.at_keyword(k))
            && self.peek_ident().is_some()
            && kinds.iter().any(|k| self.peek_at(1).is_keyword(k))
        {
            self.i += 1;
        }
        let kind = if self.eat_keyword("TUMBLING") {
            0
        } else if self.eat_keyword("HOPPING") {
            1
        } else if self.eat_keyword("SESSION") {
            2
        } else {
            return self.error_here("one of TUMBLING, HOPPING, SESSION after WINDOW");
        };
        self.expect_symbol("(")?;
        let size = if kind == 2 {
            self.duration("a session gap")?
        } else {
            self.expect_keyword("SIZE")?;
            self.duration("a window size")?
        };
        let mut advance = None;
        if kind == 1 {
            self.expect_symbol(",")?;
            self.expect_keyword("ADVANCE")?;
            self.expect_keyword("BY")?;
            advance = Some(self.duration("a window advance")?);
        }
        let mut retention = None;
        let mut grace = None;
        while self.eat_symbol(",") {
            if retention.is_none() && self.eat_keyword("RETENTION") {
                retention = Some(self.duration("a retention")?);
            } else if grace.is_none() && self.eat_keyword("GRACE") {
                self.expect_keyword("PERIOD")?;
                grace = Some(self.duration("a grace period")?);
            } else {
                return self.error_here("RETENTION or GRACE PERIOD");
            }
        }
        self.expect_symbol(")")?;
        Ok(match (kind, advance) {
            (0, _) => WindowSpec::Tumbling {
                size,
                retention,
                grace,
            },
            (1, Some(advance)) => WindowSpec::Hopping {
                size,
                advance,
                retention,
                grace,
            },
            _ => WindowSpec::Session {
                gap: size,
                retention,
                grace,
            },
        })
    }

    /// GROUP BY / PARTITION BY items: value expressions (no boolean
    /// operators), either listed plainly or all in one pair of parentheses.
    fn grouping_list(&mut self) -> Result<Vec<Expr>> {
        if self.at_symbol("(") {
            let save = self.i;
            if let Ok(list) = self.paren_grouping() {
                if self.at_grouping_end() {
                    return Ok(list);
                }
            }
            self.i = save;
        }
        let mut out = Vec::new();
        loop {
            out.push(self.value_expr()?);
            if !self.eat_symbol(",") {
                return Ok(out);
            }
        }
    }

    fn paren_grouping(&mut self) -> Result<Vec<Expr>> {
        self.expect_symbol("(")?;
        let mut out = Vec::new();
        if self.eat_symbol(")") {
            return Ok(out);
        }
        loop {
            out.push(self.value_expr()?);
            if !self.list_continues(")")? {
                return Ok(out);
            }
        }
    }

    fn at_grouping_end(&self) -> bool {
        let t = self.peek();
        matches!(t.kind, TokenKind::Eof)
            || t.is_symbol(";")
            || ["GROUP", "PARTITION", "HAVING", "EMIT", "LIMIT"]
                .iter()
                .any(|k| t.is_keyword(k))
    }

    // ---- expressions ---------------------------------------------------

    fn expr(&mut self) -> Result<Expr> {
        self.or_expr()
    }

    fn or_expr(&mut self) -> Result<Expr> {
        let mut left = self.and_expr()?;
        while self.eat_keyword("OR") {
            let right = self.and_expr()?;
            left = binary(BinaryOp::Or, left, right);
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr> {
        let mut left = self.not_expr()?;
        while self.eat_keyword("AND") {
            let right = self.not_expr()?;
            left = binary(BinaryOp::And, left, right);
        }
        Ok(left)
    }

    fn not_expr(&mut self) -> Result<Expr> {
        if self.eat_keyword("NOT") {
            let e = self.not_expr()?;
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
    fn value_expr(&mut self) -> Result<Expr> {
        let mut left = self.additive()?;
        while self.eat_symbol("||") {
            let right = self.additive()?;
            left = binary(BinaryOp::Concat, left, right);
        }
        Ok(left)
    }

    fn additive(&mut self) -> Result<Expr> {
        let mut left = self.multiplicative()?;
        loop {
            let op = if self.eat_symbol("+") {
                BinaryOp::Add
            } else if self.eat_symbol("-") {
                BinaryOp::Sub
            } else {
                return Ok(left);
            };
            let right = self.multiplicative()?;
            left = binary(op, left, right);
        }
    }

    fn multiplicative(&mut self) -> Result<Expr> {
        let mut left = self.unary()?;
        loop {
            let op = if self.eat_symbol("*") {
                BinaryOp::Mul
            } else if self.eat_symbol("/") {
                BinaryOp::Div
            } else if self.eat_symbol("%") {
                BinaryOp::Mod
            } else {
                return Ok(left);
            };
            let right = self.unary()?;
            left = binary(op, left, right);
        }
    }

    fn unary(&mut self) -> Result<Expr> {
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
        let mut e = self.primary()?;
        loop {
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
                    _ if super::is_reserved(value) => self.error_here("an expression"),
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

    // ---- types ---------------------------------------------------------

    fn sql_type(&mut self) -> Result<SqlType> {
        let t = self.peek().clone();
        let (name, quoted) = match &t.kind {
            TokenKind::Ident { value, quoted } => (value.clone(), *quoted),
            _ => return self.error_here("a type"),
        };
        self.i += 1;
        if quoted {
            return Ok(SqlType::Custom(name));
        }
        if name == "DECIMAL" {
            self.expect_symbol("(")?;
            let p = self.type_param("a precision")?;
            self.expect_symbol(",")?;
            let s = self.type_param("a scale")?;
            self.expect_symbol(")")?;
            return Ok(SqlType::Decimal(p, s));
        }
        if !matches!(name.as_str(), "ARRAY" | "MAP" | "STRUCT") && self.at_symbol("(") {
            // ksqlDB accepts parameters on any base type (`VARCHAR(10)`,
            // even `VARCHAR(STRING)`); only DECIMAL's mean anything.
            self.i += 1;
            loop {
                if matches!(self.peek().kind, TokenKind::Number(_)) || self.at_keyword("STRING") {
                    self.i += 1;
                } else {
                    return self.error_here("a type parameter (a number or STRING)");
                }
                if !self.eat_symbol(",") {
                    break;
                }
            }
            self.expect_symbol(")")?;
        }
        Ok(match name.as_str() {
            "BOOLEAN" => SqlType::Boolean,
            "INT" | "INTEGER" => SqlType::Int,
            "BIGINT" => SqlType::BigInt,
            "DOUBLE" => SqlType::Double,
            "STRING" | "VARCHAR" => SqlType::String,
            "BYTES" => SqlType::Bytes,
            "DATE" => SqlType::Date,
            "TIME" => SqlType::Time,
            "TIMESTAMP" => SqlType::Timestamp,
            "ARRAY" => {
                self.expect_symbol("<")?;
                let inner = self.sql_type()?;
                self.expect_symbol(">")?;
                SqlType::Array(Box::new(inner))
            }
            "MAP" => {
                self.expect_symbol("<")?;
                let k = self.sql_type()?;
                self.expect_symbol(",")?;
                let v = self.sql_type()?;
                self.expect_symbol(">")?;
                SqlType::Map(Box::new(k), Box::new(v))
            }
            "STRUCT" => {
                self.expect_symbol("<")?;
                let mut fields = Vec::new();
                if !self.eat_symbol(">") {
                    loop {
                        let f = self.any_word("a field name")?;
                        let ft = self.sql_type()?;
                        fields.push((f, ft));
                        if !self.list_continues(">")? {
                            break;
                        }
                    }
                }
                SqlType::Struct(fields)
            }
            _ if super::is_reserved(&name) => {
                self.i -= 1;
                return self.error_here("a type");
            }
            _ => SqlType::Custom(name),
        })
    }

    fn type_param(&mut self, what: &str) -> Result<u8> {
        let t = self.peek().clone();
        let n = self.unsigned(what)?;
        u8::try_from(n).map_err(|_| parse_error(t.pos, format!("{what} of {n} is too large")))
    }
}

fn binary(op: BinaryOp, left: Expr, right: Expr) -> Expr {
    Expr::Binary {
        op,
        left: Box::new(left),
        right: Box::new(right),
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

fn is_clause_word(t: &Token) -> bool {
    CLAUSE_WORDS.iter().any(|w| t.is_keyword(w))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn p(sql: &str) -> Statement {
        match parse_statement(sql, Pos { line: 1, col: 1 }) {
            Ok(s) => s,
            Err(e) => panic!("{sql}\n  -> {e}"),
        }
    }

    fn err(sql: &str) -> (Pos, String) {
        match parse_statement(sql, Pos { line: 1, col: 1 }) {
            Err(crate::Error::Parse { pos, message }) => (pos, message),
            other => panic!("expected a parse error for {sql}, got {other:?}"),
        }
    }

    fn col(name: &str) -> Expr {
        Expr::Column {
            qualifier: None,
            name: name.into(),
        }
    }

    fn int(i: i64) -> Expr {
        Expr::Literal(Literal::Integer(i))
    }

    fn query(sql: &str) -> Query {
        match p(sql) {
            Statement::Query(q) => *q,
            other => panic!("not a query: {other:?}"),
        }
    }

    #[test]
    fn create_stream_with_columns() {
        let s = p("create stream s (id string key, `Val` int, h array<struct<`KEY` string, `VALUE` bytes>> headers, \
                   x bytes header('k')) with (kafka_topic='t', partitions=2, wrap_single_value=false);");
        let Statement::CreateSource(c) = s else {
            panic!("not a create")
        };
        assert_eq!(c.kind, SourceKind::Stream);
        assert_eq!(c.name, "S");
        assert_eq!(c.elements[0].name, "ID");
        assert_eq!(c.elements[0].constraint, ColumnConstraint::Key);
        assert_eq!(c.elements[1].name, "Val");
        assert_eq!(c.elements[1].ty, SqlType::Int);
        assert_eq!(c.elements[2].constraint, ColumnConstraint::Headers);
        assert_eq!(
            c.elements[3].constraint,
            ColumnConstraint::Header("k".into())
        );
        assert_eq!(
            c.properties,
            vec![
                ("KAFKA_TOPIC".into(), PropValue::String("t".into())),
                ("PARTITIONS".into(), PropValue::Number("2".into())),
                ("WRAP_SINGLE_VALUE".into(), PropValue::Bool(false)),
            ]
        );
    }

    #[test]
    fn create_as_select_and_clauses() {
        let s = p(
            "CREATE TABLE IF NOT EXISTS t WITH (kafka_topic='o') AS SELECT k, COUNT(*) AS c \
                   FROM s WINDOW TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 10 SECONDS) WHERE x > 1 \
                   GROUP BY k HAVING COUNT(*) > 2 EMIT FINAL",
        );
        let Statement::CreateAsSelect(c) = s else {
            panic!("not a CTAS")
        };
        assert!(c.if_not_exists);
        let q = c.query;
        assert_eq!(q.group_by, vec![col("K")]);
        assert_eq!(q.emit, Some(Emit::Final));
        assert_eq!(
            q.window,
            Some(WindowSpec::Tumbling {
                size: Duration {
                    amount: 1,
                    unit: TimeUnit::Minutes
                },
                retention: None,
                grace: Some(Duration {
                    amount: 10,
                    unit: TimeUnit::Seconds
                }),
            })
        );
    }

    #[test]
    fn joins() {
        let q = query(
            "SELECT * FROM a x LEFT OUTER JOIN b AS y WITHIN (1 SECOND, 2 SECONDS) GRACE PERIOD 3 SECONDS \
             ON x.id = y.id FULL JOIN c ON x.id = c.id JOIN d WITHIN 5 MINUTES ON d.k = x.k EMIT CHANGES",
        );
        assert_eq!(q.from.alias.as_deref(), Some("X"));
        assert_eq!(q.joins.len(), 3);
        assert_eq!(q.joins[0].kind, JoinKind::Left);
        let w = q.joins[0].within.as_ref().unwrap();
        assert!(w.asymmetric);
        assert_eq!(w.after.amount, 2);
        assert_eq!(w.grace.unwrap().amount, 3);
        assert_eq!(q.joins[1].kind, JoinKind::Full);
        assert_eq!(q.joins[2].kind, JoinKind::Inner);
        assert!(!q.joins[2].within.as_ref().unwrap().asymmetric);
    }

    #[test]
    fn precedence() {
        let e = parse_expr("a OR b AND NOT c = 1 + 2 * -3").unwrap();
        let expected = Expr::Binary {
            op: BinaryOp::Or,
            left: Box::new(col("A")),
            right: Box::new(Expr::Binary {
                op: BinaryOp::And,
                left: Box::new(col("B")),
                right: Box::new(Expr::Unary {
                    op: UnaryOp::Not,
                    expr: Box::new(Expr::Binary {
                        op: BinaryOp::Eq,
                        left: Box::new(col("C")),
                        right: Box::new(Expr::Binary {
                            op: BinaryOp::Add,
                            left: Box::new(int(1)),
                            right: Box::new(Expr::Binary {
                                op: BinaryOp::Mul,
                                left: Box::new(int(2)),
                                right: Box::new(int(-3)),
                            }),
                        }),
                    }),
                }),
            }),
        };
        assert_eq!(e, expected);
        let e = parse_expr("a || b + c").unwrap();
        assert!(matches!(
            e,
            Expr::Binary {
                op: BinaryOp::Concat,
                ..
            }
        ));
        let e = parse_expr("1 - 2 - 3").unwrap();
        let Expr::Binary { left, .. } = e else {
            panic!()
        };
        assert!(matches!(
            *left,
            Expr::Binary {
                op: BinaryOp::Sub,
                ..
            }
        ));
    }

    #[test]
    fn literals() {
        assert_eq!(
            parse_expr("1.5").unwrap(),
            Expr::Literal(Literal::Decimal("1.5".into()))
        );
        assert_eq!(
            parse_expr(".5").unwrap(),
            Expr::Literal(Literal::Decimal(".5".into()))
        );
        assert_eq!(
            parse_expr("1e3").unwrap(),
            Expr::Literal(Literal::Double("1e3".into()))
        );
        assert_eq!(
            parse_expr("-1.5E-3").unwrap(),
            Expr::Literal(Literal::Double("-1.5E-3".into()))
        );
        assert_eq!(
            parse_expr("-9223372036854775808").unwrap(),
            Expr::Literal(Literal::Integer(i64::MIN))
        );
        assert!(parse_expr("9223372036854775808").is_err());
        assert_eq!(
            parse_expr("'it''s'").unwrap(),
            Expr::Literal(Literal::String("it's".into()))
        );
    }

    #[test]
    fn expression_forms() {
        let e = parse_expr("s.a->b->c[1]").unwrap();
        let Expr::Subscript { expr, .. } = e else {
            panic!()
        };
        let Expr::Deref { expr, field } = *expr else {
            panic!()
        };
        assert_eq!(field, "C");
        assert!(matches!(*expr, Expr::Deref { .. }));
        let e = parse_expr("TRANSFORM(m, (k, v) => k, x => x + 1)").unwrap();
        let Expr::Function { args, .. } = e else {
            panic!()
        };
        assert!(matches!(&args[1], Expr::Lambda { params, .. } if params.len() == 2));
        assert!(matches!(&args[2], Expr::Lambda { params, .. } if params == &["X"]));
        assert!(matches!(
            parse_expr("count(*)").unwrap(),
            Expr::Function { star: true, .. }
        ));
        assert!(matches!(
            parse_expr("count(distinct x)").unwrap(),
            Expr::Function { distinct: true, .. }
        ));
        assert_eq!(
            parse_expr("TIMESTAMPADD(SECONDS, 5, ts)").unwrap(),
            Expr::Function {
                name: "TIMESTAMPADD".into(),
                args: vec![col("SECONDS"), int(5), col("TS")],
                star: false,
                distinct: false
            }
        );
        assert!(matches!(
            parse_expr("x NOT LIKE 'a%' ESCAPE '\\'").unwrap(),
            Expr::Like {
                negated: true,
                escape: Some(_),
                ..
            }
        ));
        assert!(matches!(
            parse_expr("x IS NOT DISTINCT FROM y").unwrap(),
            Expr::IsDistinctFrom { negated: true, .. }
        ));
        // Non-reserved keywords are names.
        assert_eq!(parse_expr("key").unwrap(), col("KEY"));
        assert_eq!(parse_expr("`key`").unwrap(), col("key"));
        assert_eq!(parse_expr("\"a\"\"b\"").unwrap(), col("a\"b"));
        assert!(parse_expr("array").is_ok());
        assert!(parse_expr("from").is_err());
    }

    #[test]
    fn types() {
        assert_eq!(
            parse_type("MAP<STRING, ARRAY<DECIMAL(4, 2)>>").unwrap(),
            SqlType::Map(
                Box::new(SqlType::String),
                Box::new(SqlType::Array(Box::new(SqlType::Decimal(4, 2))))
            )
        );
        assert_eq!(
            parse_type("STRUCT<a INT, `b` varchar>").unwrap(),
            SqlType::Struct(vec![
                ("A".into(), SqlType::Int),
                ("b".into(), SqlType::String)
            ])
        );
        assert_eq!(
            parse_type("address").unwrap(),
            SqlType::Custom("ADDRESS".into())
        );
        assert!(parse_type("DECIMAL(4)").is_err());
    }

    #[test]
    fn partition_and_group_by_order() {
        let q = query("SELECT * FROM s PARTITION BY a, b EMIT CHANGES");
        assert_eq!(q.partition_by, vec![col("A"), col("B")]);
        let q = query("SELECT a, COUNT(*) FROM s GROUP BY (a, b) HAVING COUNT(*) > 1");
        assert_eq!(q.group_by, vec![col("A"), col("B")]);
        let q = query("SELECT a FROM s GROUP BY (a + 1) * 2");
        assert!(matches!(
            q.group_by[0],
            Expr::Binary {
                op: BinaryOp::Mul,
                ..
            }
        ));
        // ksqlDB rejects boolean operators and nested lists here.
        assert!(parse_statement("SELECT * FROM s GROUP BY a AND b", Pos::default()).is_err());
        assert!(parse_statement("SELECT * FROM s GROUP BY a, (b, c)", Pos::default()).is_err());
        assert!(parse_statement("SELECT * FROM s WHERE x IN ( )", Pos::default()).is_err());
    }

    #[test]
    fn error_positions() {
        let (pos, msg) = err("CREATE STREEM s (a INT);");
        assert_eq!(pos, Pos { line: 1, col: 8 });
        assert_eq!(
            msg,
            "expected one of STREAM, TABLE, TYPE after CREATE, found 'STREEM'"
        );
        let (pos, msg) = err("SELECT a,\n  b\n  FROM s\n  WHERE x = \n  GROUP BY a;");
        assert_eq!(pos, Pos { line: 5, col: 3 });
        assert!(msg.contains("expected an expression"), "{msg}");
        assert!(msg.contains("'GROUP'"), "{msg}");
        let (pos, msg) = err("SELECT * FROM s\nWHERE a = 'x\n");
        assert_eq!(pos, Pos { line: 2, col: 11 });
        assert!(msg.contains("unterminated string"), "{msg}");
        let (pos, _) = err("ASSERT VALUES foo (id INT) VALUES (123);");
        assert_eq!(pos, Pos { line: 1, col: 8 });
        let (pos, msg) = err("RUN SCRIPT 'foo';");
        assert_eq!(pos, Pos { line: 1, col: 1 });
        assert!(msg.contains("unknown statement 'RUN'"), "{msg}");
        // Like ksqlDB: 'line 1:32: ... Expecting {'STRING', INTEGER_VALUE}'.
        let (pos, msg) = err("CREATE STREAM INPUT (K STRING (KEY)) WITH (kafka_topic='input');");
        assert_eq!(pos, Pos { line: 1, col: 32 });
        assert_eq!(
            msg,
            "expected a type parameter (a number or STRING), found 'KEY'"
        );
        let (pos, msg) = err("SELECT * FROM s EMIT CHANGES extra");
        assert_eq!(pos, Pos { line: 1, col: 30 });
        assert!(msg.contains("'extra'"), "{msg}");
        // Offsets: a statement starting at 3:5 in its script.
        match parse_statement("SELECT *\nFROM", Pos { line: 3, col: 5 }) {
            Err(crate::Error::Parse { pos, .. }) => assert_eq!(pos, Pos { line: 4, col: 5 }),
            other => panic!("{other:?}"),
        }
        match parse_statement("SELECT * FROM", Pos { line: 3, col: 5 }) {
            Err(crate::Error::Parse { pos, .. }) => assert_eq!(pos, Pos { line: 3, col: 18 }),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn error_messages() {
        for (sql, expected) in [
            (
                "SELECT a, FROM s",
                "line 1:11: expected an expression, found 'FROM'",
            ),
            (
                "SELECT * FROM select",
                "line 1:15: expected a stream or table name, found reserved word 'select' \
                 (quote it with backticks to use it as a name)",
            ),
            (
                "SELECT f(a b) FROM s",
                "line 1:12: expected ',' or ')', found 'b'",
            ),
            (
                "SELECT * FROM s LEFT JOIN t x = y",
                "line 1:31: expected WITHIN or ON, found '='",
            ),
            (
                "SELECT * FROM s WHERE a = 1 FETCH 5",
                "line 1:29: expected one of GROUP BY, PARTITION BY, HAVING, EMIT, ORDER BY, LIMIT, ';', \
                 found 'FETCH'",
            ),
            ("", "line 1:1: expected a statement, found end of input"),
        ] {
            let e = parse_statement(sql, Pos::default()).unwrap_err();
            assert_eq!(e.to_string(), expected, "{sql}");
        }
    }

    #[test]
    fn error_display() {
        let e = parse("SELECT * FROM s;\n\nDROP STREEM x;").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 3:6: expected one of STREAM, TABLE, TYPE after DROP, found 'STREEM'"
        );
    }

    #[test]
    fn split() {
        let script = "SELECT ';' FROM s; -- a; comment\n/* b; */ SELECT `x;y` FROM \"t;\";\n  ;; SHOW STREAMS";
        let parts = split_statements(script).unwrap();
        assert_eq!(parts.len(), 3, "{parts:?}");
        assert_eq!(parts[0].text, "SELECT ';' FROM s;");
        assert_eq!(parts[0].pos, Pos { line: 1, col: 1 });
        assert_eq!(parts[1].text, "SELECT `x;y` FROM \"t;\";");
        assert_eq!(parts[1].pos, Pos { line: 2, col: 10 });
        assert_eq!(parts[2].text, "SHOW STREAMS");
        assert_eq!(parts[2].pos, Pos { line: 3, col: 6 });
        // Trailing comments and whitespace are dropped.
        let parts = split_statements("SHOW TABLES;\n -- done\n /* really */ \n").unwrap();
        assert_eq!(parts.len(), 1);
        // An unterminated string is an incomplete trailing piece.
        let parts = split_statements("SHOW TABLES; SELECT 'abc;").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1].text, "SELECT 'abc;");
        assert!(split_statements("").unwrap().is_empty());
        let all = parse("SHOW TABLES; LIST STREAMS EXTENDED;\nDESCRIBE s;").unwrap();
        assert_eq!(all.len(), 3);
    }

    #[test]
    fn statement_kinds() {
        assert_eq!(
            p("show all topics extended"),
            Statement::Show {
                what: ShowWhat::Topics { all: true },
                extended: true
            }
        );
        assert_eq!(
            p("DESCRIBE streams extended"),
            Statement::Describe {
                target: DescribeTarget::Streams,
                extended: true
            }
        );
        assert_eq!(
            p("DESCRIBE FUNCTION concat"),
            Statement::DescribeFunction("CONCAT".into())
        );
        assert_eq!(
            p("EXPLAIN CSAS_OUTPUT_0"),
            Statement::Explain(ExplainTarget::QueryId("CSAS_OUTPUT_0".into()))
        );
        assert!(matches!(
            p("EXPLAIN SELECT * FROM s"),
            Statement::Explain(ExplainTarget::Statement(_))
        ));
        assert_eq!(p("TERMINATE ALL"), Statement::Terminate(QueryTarget::All));
        assert_eq!(
            p("PRINT 'my-topic' FROM BEGINNING SAMPLE 2 LIMIT 10"),
            Statement::Print {
                topic: "my-topic".into(),
                from_beginning: true,
                interval: Some(2),
                limit: Some(10)
            }
        );
        assert_eq!(
            p("SET 'auto.offset.reset' = 'earliest'"),
            Statement::Set {
                name: "auto.offset.reset".into(),
                value: "earliest".into()
            }
        );
        assert!(matches!(
            p("ASSERT NOT EXISTS SCHEMA SUBJECT `s-value` ID 3 TIMEOUT 1 SECOND"),
            Statement::Assert(AssertStatement {
                not_exists: true,
                kind: AssertKind::Schema { id: Some(3), .. },
                timeout: Some(_)
            })
        ));
        assert_eq!(
            p("ALTER TABLE t ADD COLUMN a INT, ADD b STRING"),
            Statement::Alter {
                kind: SourceKind::Table,
                name: "T".into(),
                add_columns: vec![("A".into(), SqlType::Int), ("B".into(), SqlType::String)]
            }
        );
        assert_eq!(
            p("INSERT INTO s (a, `b`) VALUES (1, 'x')"),
            Statement::InsertValues {
                target: "S".into(),
                columns: Some(vec!["A".into(), "b".into()]),
                values: vec![int(1), Expr::Literal(Literal::String("x".into()))]
            }
        );
    }

    /// Statements covering every statement kind and expression form; each
    /// must print back to SQL that parses to an equal tree.
    pub(crate) const ROUND_TRIP: &[&str] = &[
        "CREATE STREAM s (id STRING KEY, v INT) WITH (kafka_topic='t', value_format='JSON')",
        "CREATE OR REPLACE SOURCE TABLE IF NOT EXISTS `t` (id BIGINT PRIMARY KEY, `Mixed` DOUBLE, d DECIMAL(10, 2)) WITH (kafka_topic='t', format='AVRO', partitions=4, replicas=-1, x=1.5, y=TRUE)",
        "CREATE STREAM h (hs ARRAY<STRUCT<`KEY` STRING, `VALUE` BYTES>> HEADERS, one BYTES HEADER('a''b'), m MAP<STRING, ARRAY<INT>>, st STRUCT<a DATE, `b c` TIME, d TIMESTAMP>, c ADDRESS) WITH (kafka_topic='h')",
        "CREATE STREAM kw (key STRING KEY, value INT, type STRING, topic STRING, source BYTES, `window` INT) WITH (kafka_topic='kw')",
        "SELECT * FROM s WHERE type = 'a' AND source = 'b' AND `window` > 1",
        "CREATE STREAM inferred WITH (kafka_topic='x', value_format='AVRO')",
        "CREATE TABLE t AS SELECT k, COUNT(*) AS cnt FROM s GROUP BY k EMIT CHANGES",
        "CREATE OR REPLACE STREAM o WITH (kafka_topic='o') AS SELECT * FROM s PARTITION BY a, b->c",
        "INSERT INTO o SELECT a.*, b.x FROM a JOIN b WITHIN 1 HOUR ON a.k = b.k",
        "INSERT INTO o VALUES (1, 'a', NULL, TRUE, 1.50, 2e10, -3)",
        "INSERT INTO o (`k`, v) VALUES ('x', ARRAY[1, 2])",
        "SELECT * FROM t WHERE k = 'a'",
        "SELECT * FROM s EMIT CHANGES LIMIT 5",
        "SELECT x, y AS z FROM s AS q LEFT JOIN t ON q.id = t.id RIGHT OUTER JOIN u ON u.id = q.id FULL OUTER JOIN v ON v.id = q.id INNER JOIN w WITHIN (1 SECOND, 2 MINUTES) GRACE PERIOD 3 DAYS ON w.id = q.id EMIT CHANGES",
        "SELECT k, SUM(v) FROM s WINDOW TUMBLING (SIZE 1 MINUTE, RETENTION 2 DAYS, GRACE PERIOD 10 SECONDS) GROUP BY k EMIT FINAL",
        "SELECT k, COUNT(*) FROM s WINDOW HOPPING (SIZE 30 SECONDS, ADVANCE BY 10 SECONDS) WHERE v > 0 GROUP BY k HAVING COUNT(*) > 1 EMIT CHANGES",
        "SELECT k, WINDOWSTART, WINDOWEND FROM s WINDOW SESSION (5 MINUTES, GRACE PERIOD 1 MINUTE) GROUP BY k, (a + b) EMIT CHANGES",
        "SELECT a OR b AND NOT c, (a OR b) AND c, NOT (a = b), a = (b = c) FROM s",
        "SELECT 1 + 2 * 3, (1 + 2) * 3, 1 - (2 - 3), 1 - 2 - 3, -x, -(-x), - (5), -5, - -5, +x, a % b / c FROM s",
        "SELECT a || b || c, a || (b || c), (a + 1) || 'x' FROM s",
        "SELECT x IS NULL, x IS NOT NULL, x IS DISTINCT FROM y, x IS NOT DISTINCT FROM y, (a = b) IS NULL FROM s",
        "SELECT x LIKE 'a%', x NOT LIKE '%b' ESCAPE '!', x BETWEEN 1 AND 10, x NOT BETWEEN a + 1 AND b * 2, x IN (1, 2, 3), x NOT IN ('a') FROM s",
        "SELECT CASE WHEN a > 1 THEN 'big' WHEN a < 0 THEN 'neg' ELSE 'small' END, CASE a WHEN 1 THEN 'one' END FROM s",
        "SELECT CAST(a AS STRING), CAST(b AS DECIMAL(5, 2)), CAST(c AS ARRAY<MAP<STRING, BIGINT>>), CAST(d AS STRUCT<X BOOLEAN>) FROM s",
        "SELECT COUNT(*), COUNT(DISTINCT x), LATEST_BY_OFFSET(v, 2), NOW(), `myUdf`(a) FROM s GROUP BY k",
        "SELECT s->a->b, arr[1], arr[i + 1]->f, m['k'], (-5)[1], s.col->`x y` FROM s",
        "SELECT ARRAY[1, 2, 3], ARRAY[], MAP('a' := 1, 'b' := 2), MAP(), STRUCT(a := 1, `b` := 'x'), STRUCT() FROM s",
        "SELECT TRANSFORM(arr, x => x * 2), TRANSFORM(m, (k, v) => UCASE(k), (k, v) => v + 1), REDUCE(arr, 0, (s, x) => s + x), FILTER(arr, x => x > 1 AND x < 5) FROM s",
        "SELECT v1->*, s.a->b->*, arr[1]->*, F(x)->*, ROUND(v, -1) AS 1R FROM s WINDOW w TUMBLING (SIZE 1 SECOND)",
        "CREATE STREAM p (k VARCHAR(STRING) KEY, v VARCHAR(10), w STRING) WITH (kafka_topic='p')",
        "SELECT TIMESTAMPADD(SECONDS, 5, ts), DATEADD(DAYS, 1, d) FROM s",
        "SELECT key, value, `timestamp`, date, time, type, topic, source, partition, emit FROM s",
        "SELECT 'it''s', 1.5, .5, 1e3, 1.5E-3, -1.5, 9223372036854775807, -9223372036854775808, NULL, TRUE, FALSE FROM s",
        "SELECT `Select`, `with space`, `back``tick`, \"dq\" FROM `from`",
        "SHOW STREAMS",
        "SHOW TABLES EXTENDED",
        "LIST QUERIES",
        "SHOW TOPICS",
        "SHOW ALL TOPICS EXTENDED",
        "SHOW PROPERTIES",
        "SHOW FUNCTIONS",
        "SHOW TYPES",
        "SHOW VARIABLES",
        "DESCRIBE s",
        "DESCRIBE s EXTENDED",
        "DESCRIBE STREAMS",
        "DESCRIBE TABLES EXTENDED",
        "DESCRIBE `STREAMS`",
        "DESCRIBE FUNCTION concat",
        "EXPLAIN CSAS_X_1",
        "EXPLAIN SELECT * FROM s EMIT CHANGES",
        "EXPLAIN CREATE STREAM o AS SELECT * FROM s",
        "DROP STREAM s",
        "DROP TABLE IF EXISTS t DELETE TOPIC",
        "DROP TYPE IF EXISTS address",
        "DROP TYPE address",
        "TERMINATE CSAS_X_1",
        "TERMINATE ALL",
        "TERMINATE `ALL`",
        "PAUSE q1",
        "PAUSE ALL",
        "RESUME q1",
        "RESUME ALL",
        "SET 'auto.offset.reset'='earliest'",
        "UNSET 'auto.offset.reset'",
        "DEFINE topic_name = 'a''b'",
        "UNDEFINE topic_name",
        "PRINT 'my-topic'",
        "PRINT topic FROM BEGINNING INTERVAL 3 LIMIT 10",
        "CREATE TYPE address AS STRUCT<street STRING, `zip` INT>",
        "CREATE TYPE IF NOT EXISTS ids AS ARRAY<BIGINT>",
        "ASSERT TOPIC `my-topic` WITH (partitions=1) TIMEOUT 10 SECONDS",
        "ASSERT NOT EXISTS TOPIC t",
        "ASSERT SCHEMA SUBJECT `s-value` ID 12 TIMEOUT 3 MINUTES",
        "ASSERT NOT EXISTS SCHEMA ID 4",
        "ALTER STREAM s ADD COLUMN a INT, ADD COLUMN b ARRAY<STRING>",
        "ALTER TABLE t ADD c STRING",
    ];

    #[test]
    fn round_trips() {
        for sql in ROUND_TRIP {
            let first = p(sql);
            let printed = first.to_string();
            let second = match parse_statement(&printed, Pos { line: 1, col: 1 }) {
                Ok(s) => s,
                Err(e) => panic!("{sql}\nprinted as {printed}\n  -> {e}"),
            };
            assert_eq!(first, second, "{sql}\nprinted as {printed}");
            // Printing is stable.
            assert_eq!(printed, second.to_string());
        }
    }

    #[test]
    fn printed_forms() {
        assert_eq!(
            p("create stream s as select * from t emit changes;").to_string(),
            "CREATE STREAM S AS SELECT * FROM T EMIT CHANGES"
        );
        assert_eq!(parse_expr("a - -5").unwrap().to_string(), "A - -5");
        assert_eq!(
            parse_expr("(a OR b) AND `c d`").unwrap().to_string(),
            "(A OR B) AND `c d`"
        );
    }

    /// Parses every statement of ksqlDB's conformance cases (when the
    /// shared folder is present) and checks each round-trips through
    /// Display. Only cases that expect an error may fail to parse.
    #[test]
    fn qtt_corpus() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/qtt/qtt");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!("skipping: {} not found", dir.display());
            return;
        };
        let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        let (mut total, mut parsed, mut round_tripped) = (0usize, 0usize, 0usize);
        let mut unexpected = Vec::new();
        let mut expected_failures = Vec::new();
        for path in files {
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let json: String = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
            for case in doc["tests"].as_array().into_iter().flatten() {
                let expects_error = case.get("expectedException").is_some();
                for stmt in case["statements"].as_array().into_iter().flatten() {
                    let sql = stmt.as_str().unwrap().replace("{FORMAT}", "JSON");
                    let pieces = match split_statements(&sql) {
                        Ok(p) => p,
                        Err(e) => panic!("split failed: {sql}: {e}"),
                    };
                    for piece in pieces {
                        total += 1;
                        let where_ = format!("{} / {}", path.display(), case["name"]);
                        match parse_statement(&piece.text, piece.pos) {
                            Ok(ast) => {
                                parsed += 1;
                                let printed = ast.to_string();
                                match parse_statement(&printed, Pos { line: 1, col: 1 }) {
                                    Ok(again) if again == ast => round_tripped += 1,
                                    Ok(_) => unexpected
                                        .push(format!("{where_}: round trip differs: {sql}\n   printed: {printed}")),
                                    Err(e) => unexpected.push(format!(
                                        "{where_}: printed form fails: {sql}\n   printed: {printed}\n   {e}"
                                    )),
                                }
                            }
                            Err(e) if expects_error => {
                                expected_failures.push(format!("{where_}: {sql}\n   {e}"))
                            }
                            Err(e) => unexpected.push(format!("{where_}: {sql}\n   {e}")),
                        }
                    }
                }
            }
        }
        eprintln!(
            "qtt corpus: {total} statements, {parsed} parsed, {round_tripped} round-tripped, \
             {} failed in cases expecting an error",
            expected_failures.len()
        );
        for f in &expected_failures {
            eprintln!("  expected failure: {f}");
        }
        assert!(
            unexpected.is_empty(),
            "{} unexpected failures:\n{}",
            unexpected.len(),
            unexpected.join("\n")
        );
    }
}
