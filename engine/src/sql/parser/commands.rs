//! The statements that are not DDL or a query: `INSERT`, `SHOW`/`LIST`,
//! `DESCRIBE`, `EXPLAIN`, `TERMINATE`/`PAUSE`/`RESUME`, `SET`/`UNSET`,
//! `DEFINE`/`UNDEFINE`, `PRINT` and `ASSERT`.

use super::Parser;
use crate::error::Result;
use crate::sql::ast::*;
use crate::sql::lexer::{parse_error, TokenKind};

impl Parser {
    pub(super) fn insert(&mut self) -> Result<Statement> {
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

    pub(super) fn show(&mut self) -> Result<Statement> {
        let verb = self.next().text.to_uppercase();
        if let Some(stmt) = self.show_connectors() {
            return Ok(stmt);
        }
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

    pub(super) fn describe(&mut self) -> Result<Statement> {
        self.expect_keyword("DESCRIBE")?;
        if self.at_keyword("FUNCTION") && !self.at_statement_end(1) {
            self.i += 1;
            let name = self.ident("a function name")?;
            return Ok(Statement::DescribeFunction(name));
        }
        if self.at_connector_target() {
            return Ok(Statement::DescribeConnector(self.connector_name()?));
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

    pub(super) fn explain(&mut self) -> Result<Statement> {
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

    pub(super) fn print(&mut self) -> Result<Statement> {
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

    pub(super) fn assert(&mut self) -> Result<Statement> {
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

    pub(super) fn terminate(&mut self) -> Result<Statement> {
        self.expect_keyword("TERMINATE")?;
        Ok(Statement::Terminate(self.query_target("TERMINATE")?))
    }

    pub(super) fn pause(&mut self) -> Result<Statement> {
        self.expect_keyword("PAUSE")?;
        if self.at_connector_target() {
            return Ok(Statement::PauseConnector(self.connector_name()?));
        }
        Ok(Statement::Pause(self.query_target("PAUSE")?))
    }

    pub(super) fn resume(&mut self) -> Result<Statement> {
        self.expect_keyword("RESUME")?;
        if self.at_connector_target() {
            return Ok(Statement::ResumeConnector(self.connector_name()?));
        }
        Ok(Statement::Resume(self.query_target("RESUME")?))
    }

    pub(super) fn set(&mut self) -> Result<Statement> {
        self.expect_keyword("SET")?;
        let name = self.string_lit("a quoted property name after SET")?;
        self.expect_symbol("=")?;
        let value = self.string_lit("a quoted property value")?;
        Ok(Statement::Set { name, value })
    }

    pub(super) fn unset(&mut self) -> Result<Statement> {
        self.expect_keyword("UNSET")?;
        let name = self.string_lit("a quoted property name after UNSET")?;
        Ok(Statement::Unset { name })
    }

    pub(super) fn define(&mut self) -> Result<Statement> {
        self.expect_keyword("DEFINE")?;
        let name = self.ident("a variable name after DEFINE")?;
        self.expect_symbol("=")?;
        let value = self.string_lit("a quoted variable value")?;
        Ok(Statement::Define { name, value })
    }

    pub(super) fn undefine(&mut self) -> Result<Statement> {
        self.expect_keyword("UNDEFINE")?;
        let name = self.ident("a variable name after UNDEFINE")?;
        Ok(Statement::Undefine { name })
    }
}
