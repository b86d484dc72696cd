//! Type syntax: the base types (with ksqlDB's ignored parameters, as in
//! `VARCHAR(10)`), `DECIMAL(p, s)`, `ARRAY<...>`, `MAP<..., ...>`,
//! `STRUCT<...>` and custom type names.

use super::Parser;
use crate::error::Result;
use crate::sql::lexer::{parse_error, TokenKind};
use crate::types::SqlType;

impl Parser {
    pub(super) fn sql_type(&mut self) -> Result<SqlType> {
        let depth = self.depth;
        self.nest()?;
        let t = self.nested_type();
        self.depth = depth;
        t
    }

    fn nested_type(&mut self) -> Result<SqlType> {
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
            _ if crate::sql::is_reserved(&name) => {
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
