//! DDL: `CREATE STREAM/TABLE` (with columns, or `AS SELECT`), `CREATE TYPE`,
//! `DROP`, `ALTER ... ADD COLUMN`, and the `WITH (...)` properties they take.

use super::Parser;
use crate::error::Result;
use crate::sql::ast::*;
use crate::sql::lexer::{parse_error, TokenKind};

impl Parser {
    pub(super) fn create(&mut self) -> Result<Statement> {
        self.expect_keyword("CREATE")?;
        let mut or_replace = false;
        if self.eat_keyword("OR") {
            self.expect_keyword("REPLACE")?;
            or_replace = true;
        }
        if !or_replace && self.at_connector_kind() {
            return self.create_connector();
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

    pub(super) fn if_not_exists(&mut self) -> Result<bool> {
        if self.at_keyword("IF") && self.peek_at(1).is_keyword("NOT") {
            self.i += 2;
            self.expect_keyword("EXISTS")?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    pub(super) fn if_exists(&mut self) -> Result<bool> {
        if self.at_keyword("IF") && self.peek_at(1).is_keyword("EXISTS") {
            self.i += 2;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    pub(super) fn drop(&mut self) -> Result<Statement> {
        self.expect_keyword("DROP")?;
        if self.at_keyword("CONNECTOR") {
            return self.drop_connector();
        }
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

    pub(super) fn alter(&mut self) -> Result<Statement> {
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

    pub(super) fn opt_with(&mut self) -> Result<Properties> {
        if self.eat_keyword("WITH") {
            self.properties()
        } else {
            Ok(Vec::new())
        }
    }

    pub(super) fn properties(&mut self) -> Result<Properties> {
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

    pub(super) fn prop_value(&mut self) -> Result<PropValue> {
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
}
