//! The server's own state: `/info`, `/healthcheck`, `/status` (command
//! statuses) and `/clusterStatus`, in ksqlDB's shapes.

use crate::AppState;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value as Json};
use std::time::{SystemTime, UNIX_EPOCH};

/// The ksqlDB version whose REST API the server speaks (clients compare it
/// to pick features).
pub const KSQL_VERSION: &str = "0.29.0";

fn answer(body: Json) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// GET `/info`.
pub async fn info(State(state): State<AppState>) -> Response {
    answer(json!({"KsqlServerInfo": {
        "version": KSQL_VERSION,
        "kafkaClusterId": state.info.cluster_id,
        "ksqlServiceId": state.info.service_id,
        "serverStatus": "RUNNING",
    }}))
}

/// GET `/healthcheck`.
pub async fn healthcheck() -> Response {
    answer(json!({
        "isHealthy": true,
        "details": {
            "metastore": {"isHealthy": true},
            "kafka": {"isHealthy": true},
        },
        "serverState": "READY",
    }))
}

/// GET `/status`: commands run here are done when `/ksql` answers, so no
/// status is pending.
pub async fn statuses() -> Response {
    answer(json!({"commandStatuses": {}}))
}

/// GET `/status/{commandId}`: every command `/ksql` answered for has run.
pub async fn status(Path(_id): Path<String>) -> Response {
    answer(json!({"status": "SUCCESS", "message": "Executed"}))
}

/// GET `/clusterStatus`: this one server, alive.
pub async fn cluster_status(State(state): State<AppState>) -> Response {
    let now = now_ms();
    let mut hosts = serde_json::Map::new();
    hosts.insert(
        state.info.advertised.clone(),
        json!({
            "hostAlive": true,
            "lastStatusUpdateMs": now,
            "activeStandbyPerQuery": {},
            "hostStoreLags": {"stateStoreLags": {}, "updateTimeMs": now},
        }),
    );
    answer(json!({"clusterStatus": hosts}))
}
