//! ksqlDB's connector entities (`connector_info`, `connector_list`,
//! `connector_description`, `drop_connector`) and `warning_entity` turned
//! back into the engine's typed results for the remote shell.

use anyhow::Result;
use serde_json::Value as Json;
use sluice_engine::results::{
    ConnectorDescription, ConnectorInfo, ConnectorStatus, ConnectorSummary, StatementResult,
    WorkerState,
};

fn text(j: &Json, key: &str) -> String {
    match j.get(key) {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn items<'a>(j: &'a Json, key: &str) -> &'a [Json] {
    j.get(key)
        .and_then(Json::as_array)
        .map_or(&[], Vec::as_slice)
}

fn worker_state(j: &Json) -> WorkerState {
    WorkerState {
        state: text(j, "state"),
        worker_id: text(j, "worker_id"),
        trace: j.get("trace").and_then(Json::as_str).map(str::to_string),
    }
}

/// The entity as a typed result, when it is one of these kinds.
pub fn result(kind: &str, e: &Json) -> Option<Result<StatementResult>> {
    Some(Ok(match kind {
        "connector_info" => {
            let info = e.get("info").unwrap_or(&Json::Null);
            StatementResult::ConnectorInfo(ConnectorInfo {
                name: text(info, "name"),
                config: info
                    .get("config")
                    .and_then(Json::as_object)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| {
                                let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                                (k.clone(), v)
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                tasks: items(info, "tasks")
                    .iter()
                    .filter_map(|t| t.get("task").and_then(Json::as_u64))
                    .filter_map(|t| u32::try_from(t).ok())
                    .collect(),
                kind: text(info, "type"),
            })
        }
        "connector_list" => StatementResult::Connectors(
            items(e, "connectors")
                .iter()
                .map(|c| ConnectorSummary {
                    name: text(c, "name"),
                    kind: text(c, "type"),
                    class: text(c, "className"),
                    state: text(c, "state"),
                })
                .collect(),
        ),
        "connector_description" => {
            let status = e.get("status").unwrap_or(&Json::Null);
            let sources = items(e, "sources")
                .iter()
                .map(super::entities::source_description)
                .collect::<Result<Vec<_>>>();
            let sources = match sources {
                Ok(s) => s,
                Err(err) => return Some(Err(err)),
            };
            StatementResult::ConnectorDescription(Box::new(ConnectorDescription {
                class: text(e, "connectorClass"),
                status: ConnectorStatus {
                    name: text(status, "name"),
                    connector: worker_state(status.get("connector").unwrap_or(&Json::Null)),
                    tasks: items(status, "tasks")
                        .iter()
                        .map(|t| {
                            let id = t.get("id").and_then(Json::as_u64).unwrap_or(0);
                            (u32::try_from(id).unwrap_or(0), worker_state(t))
                        })
                        .collect(),
                    kind: text(status, "type"),
                },
                sources,
                topics: items(e, "topics")
                    .iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect(),
                delivery: text(e, "deliveryGuarantee"),
                offset: e
                    .get("committedOffset")
                    .and_then(Json::as_str)
                    .map(str::to_string),
                records: e.get("recordsMoved").and_then(Json::as_u64).unwrap_or(0),
            }))
        }
        "drop_connector" => StatementResult::DropConnector(text(e, "connectorName")),
        "warning_entity" => StatementResult::Warning(text(e, "message")),
        _ => return None,
    }))
}
