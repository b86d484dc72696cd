//! Connector statements: CREATE SOURCE|SINK CONNECTOR, SHOW CONNECTORS,
//! DESCRIBE CONNECTOR, DROP CONNECTOR and PAUSE|RESUME CONNECTOR, over the
//! registry of connectors this process runs (`connect`).

use super::EngineInner;
use crate::error::Result;
use crate::results::{CommandStatus, ConnectorDescription, StatementResult};
use crate::sql::ast::{ConnectorKind, CreateConnector};
use std::collections::BTreeMap;

impl EngineInner {
    pub(super) fn create_connector(&self, c: &CreateConnector) -> Result<StatementResult> {
        if c.if_not_exists && self.connectors.exists(&c.name) {
            return Ok(StatementResult::Warning(format!(
                "Connector {} already exists",
                c.name
            )));
        }
        let map: BTreeMap<String, String> = c.config.iter().cloned().collect();
        let info = self.connectors.create(Some(c.kind), &c.name, map)?;
        Ok(StatementResult::ConnectorInfo(info))
    }

    pub(super) fn drop_connector(&self, name: &str, if_exists: bool) -> Result<StatementResult> {
        if if_exists && !self.connectors.exists(name) {
            return Ok(StatementResult::Warning(format!(
                "Connector '{name}' does not exist."
            )));
        }
        self.connectors.remove(name)?;
        Ok(StatementResult::DropConnector(name.to_string()))
    }

    pub(super) fn pause_connector(&self, name: &str, pause: bool) -> Result<StatementResult> {
        self.connectors.pause(name, pause)?;
        let (action, message) = if pause {
            ("pause", format!("Connector {name} paused."))
        } else {
            ("resume", format!("Connector {name} resumed."))
        };
        Ok(CommandStatus::success("connector", name, action, message).into())
    }

    pub(super) fn show_connectors(&self, kind: Option<ConnectorKind>) -> Result<StatementResult> {
        Ok(StatementResult::Connectors(self.connectors.list(kind)))
    }

    pub(super) fn describe_connector(&self, name: &str) -> Result<StatementResult> {
        let status = self.connectors.status(name)?;
        let crate::connect::Details {
            class,
            topics,
            delivery,
            offset,
            records,
        } = self.connectors.details(name)?;
        let st = self.state.lock();
        let mut sources = Vec::new();
        for src in st.catalog.sources() {
            if topics.contains(&src.topic) {
                sources.push(self.source_description(&st.catalog, src, false)?);
            }
        }
        Ok(StatementResult::ConnectorDescription(Box::new(
            ConnectorDescription {
                class,
                status,
                sources,
                topics,
                delivery,
                offset,
                records,
            },
        )))
    }
}
