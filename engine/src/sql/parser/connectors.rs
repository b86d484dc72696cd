//! Connector statements: `CREATE SOURCE|SINK CONNECTOR`, `SHOW|LIST
//! [SOURCE|SINK] CONNECTORS`, `DESCRIBE CONNECTOR`, `DROP CONNECTOR` (as
//! ksqlDB has them) and `PAUSE|RESUME CONNECTOR` (Sluice's own).

use super::Parser;
use crate::error::Result;
use crate::sql::ast::*;
use crate::sql::lexer::TokenKind;

impl Parser {
    /// True at `SOURCE CONNECTOR` or `SINK CONNECTOR` (after CREATE).
    pub(super) fn at_connector_kind(&self) -> bool {
        (self.at_keyword("SOURCE") || self.at_keyword("SINK"))
            && self.peek_at(1).is_keyword("CONNECTOR")
    }

    /// `SOURCE|SINK CONNECTOR [IF NOT EXISTS] name WITH (...)`, after CREATE.
    pub(super) fn create_connector(&mut self) -> Result<Statement> {
        let kind = if self.eat_keyword("SOURCE") {
            ConnectorKind::Source
        } else {
            self.expect_keyword("SINK")?;
            ConnectorKind::Sink
        };
        self.expect_keyword("CONNECTOR")?;
        let if_not_exists = self.if_not_exists()?;
        let name = self.ident("a connector name")?;
        self.expect_keyword("WITH")?;
        self.expect_symbol("(")?;
        let mut config = Vec::new();
        if !self.eat_symbol(")") {
            loop {
                // ksqlDB takes an identifier or a string as a key; quoted
                // keys ("connector.class") keep their case.
                let key = match &self.peek().kind {
                    TokenKind::String(s) => {
                        let s = s.clone();
                        self.i += 1;
                        s
                    }
                    _ => {
                        self.any_word("a configuration key (quote dotted keys: \"kafka.topic\")")?
                    }
                };
                self.expect_symbol("=")?;
                let value = match self.prop_value()? {
                    PropValue::String(s) | PropValue::Number(s) => s,
                    PropValue::Bool(b) => b.to_string(),
                };
                config.push((key, value));
                if !self.list_continues(")")? {
                    break;
                }
            }
        }
        Ok(Statement::CreateConnector(CreateConnector {
            kind,
            if_not_exists,
            name,
            config,
        }))
    }

    /// `[SOURCE|SINK] CONNECTORS` after SHOW or LIST, when they follow.
    pub(super) fn show_connectors(&mut self) -> Option<Statement> {
        let kind = if self.at_keyword("SOURCE") && self.peek_at(1).is_keyword("CONNECTORS") {
            Some(ConnectorKind::Source)
        } else if self.at_keyword("SINK") && self.peek_at(1).is_keyword("CONNECTORS") {
            Some(ConnectorKind::Sink)
        } else if self.at_keyword("CONNECTORS") {
            None
        } else {
            return None;
        };
        self.i += if kind.is_some() { 2 } else { 1 };
        Some(Statement::ShowConnectors(kind))
    }

    /// `CONNECTOR name` after DESCRIBE, DROP, PAUSE or RESUME.
    pub(super) fn connector_name(&mut self) -> Result<String> {
        self.expect_keyword("CONNECTOR")?;
        self.ident("a connector name")
    }

    /// True at `CONNECTOR name` (so a source called CONNECTOR still works
    /// where a name alone follows).
    pub(super) fn at_connector_target(&self) -> bool {
        self.at_keyword("CONNECTOR")
            && matches!(
                self.peek_at(1).kind,
                TokenKind::Ident { .. } | TokenKind::String(_)
            )
            && !self.peek_at(1).is_keyword("EXTENDED")
    }

    /// `CONNECTOR [IF EXISTS] name` after DROP.
    pub(super) fn drop_connector(&mut self) -> Result<Statement> {
        self.expect_keyword("CONNECTOR")?;
        let if_exists = self.if_exists()?;
        let name = self.ident("a connector name")?;
        Ok(Statement::DropConnector { if_exists, name })
    }
}
