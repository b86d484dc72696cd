//! Kafka Connect's REST API over the connectors Sluice runs (`/connectors`,
//! `/connector-plugins`), with Connect's JSON and its error shape
//! (`{"error_code":404,"message":...}`), and the connector JSON ksqlDB's
//! entities embed (`ConnectorInfo`, `ConnectorStateInfo`).

use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::{json, Map, Value as Json};
use sluice_engine::connect::{self, ConfigValidation};
use sluice_engine::results::{ConnectorInfo, ConnectorStatus, WorkerState};
use sluice_engine::{Engine, Error};
use std::collections::BTreeMap;

/// Connect's routes, to merge into the server's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/connectors", get(list).post(create))
        .route("/connectors/{name}", get(info).delete(delete))
        .route("/connectors/{name}/config", get(config).put(put_config))
        .route("/connectors/{name}/status", get(status))
        .route("/connectors/{name}/tasks", get(tasks))
        .route("/connectors/{name}/tasks/{task}/status", get(task_status))
        .route("/connectors/{name}/pause", put(pause))
        .route("/connectors/{name}/resume", put(resume))
        .route("/connectors/{name}/restart", post(restart))
        .route("/connector-plugins", get(plugins))
        .route("/connector-plugins/{plugin}/config/validate", put(validate))
}

/// Kafka Connect's `ConnectorInfo`.
pub fn info_json(info: &ConnectorInfo) -> Json {
    json!({
        "name": info.name,
        "config": info.config,
        "tasks": info.tasks.iter().map(|t| json!({"connector": info.name, "task": t})).collect::<Vec<_>>(),
        "type": info.kind,
    })
}

fn state_json(s: &WorkerState, id: Option<u32>) -> Json {
    let mut m = Map::new();
    if let Some(id) = id {
        m.insert("id".into(), json!(id));
    }
    m.insert("state".into(), json!(s.state));
    m.insert("worker_id".into(), json!(s.worker_id));
    if let Some(t) = &s.trace {
        m.insert("trace".into(), json!(t));
    }
    Json::Object(m)
}

/// Kafka Connect's `ConnectorStateInfo`.
pub fn status_json(s: &ConnectorStatus) -> Json {
    json!({
        "name": s.name,
        "connector": state_json(&s.connector, None),
        "tasks": s.tasks.iter().map(|(id, t)| state_json(t, Some(*id))).collect::<Vec<_>>(),
        "type": s.kind,
    })
}

/// Connect's error body with its status.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"error_code": status.as_u16(), "message": message.into()}).to_string(),
    )
        .into_response()
}

fn engine_error(e: &Error) -> Response {
    let status = match e {
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Catalog(_) => StatusCode::CONFLICT,
        Error::Plan(_) | Error::Parse { .. } => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, e.to_string())
}

fn ok(status: StatusCode, body: Json) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Runs blocking engine work off the async threads.
async fn blocking<T: Send + 'static>(
    engine: &Engine,
    f: impl FnOnce(&Engine) -> Result<T, Error> + Send + 'static,
) -> Result<T, Response> {
    let engine = engine.clone();
    match tokio::task::spawn_blocking(move || f(&engine)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(engine_error(&e)),
        Err(e) => Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("connector request failed: {e}"),
        )),
    }
}

/// A JSON object of strings (a connector configuration).
fn string_map(v: &Json) -> Result<BTreeMap<String, String>, Response> {
    let Some(obj) = v.as_object() else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "The configuration must be a JSON object",
        ));
    };
    let mut out = BTreeMap::new();
    for (k, v) in obj {
        let text = match v {
            Json::String(s) => s.clone(),
            Json::Null => continue,
            other => other.to_string(),
        };
        out.insert(k.clone(), text);
    }
    Ok(out)
}

fn parse_body(body: &Bytes) -> Result<Json, Response> {
    serde_json::from_slice(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            format!("Invalid JSON in the request: {e}"),
        )
    })
}

/// GET /connectors (`?expand=status`, `?expand=info`).
async fn list(State(state): State<AppState>, uri: Uri) -> Response {
    let engine = state.engine.clone();
    let expand: Vec<&str> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.strip_prefix("expand="))
        .collect();
    let names = engine.connector_names();
    if expand.is_empty() {
        return ok(StatusCode::OK, json!(names));
    }
    let mut out = Map::new();
    for name in names {
        let mut entry = Map::new();
        if expand.contains(&"status") {
            if let Ok(s) = engine.connector_status(&name) {
                entry.insert("status".into(), status_json(&s));
            }
        }
        if expand.contains(&"info") {
            if let Ok(i) = engine.connector_info(&name) {
                entry.insert("info".into(), info_json(&i));
            }
        }
        out.insert(name, Json::Object(entry));
    }
    ok(StatusCode::OK, Json::Object(out))
}

/// POST /connectors: `{"name": ..., "config": {...}}`.
async fn create(State(state): State<AppState>, body: Bytes) -> Response {
    let req = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(name) = req.get("name").and_then(Json::as_str).map(str::to_string) else {
        return error(StatusCode::BAD_REQUEST, "Connector name is required");
    };
    if name.trim().is_empty() {
        return error(StatusCode::BAD_REQUEST, "Connector name is required");
    }
    let config = match string_map(req.get("config").unwrap_or(&Json::Null)) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match blocking(&state.engine, move |e| {
        e.put_connector(&name, config, false)
    })
    .await
    {
        Ok((info, _)) => ok(StatusCode::CREATED, info_json(&info)),
        Err(r) => r,
    }
}

/// GET /connectors/{name}
async fn info(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    match state.engine.connector_info(&name) {
        Ok(i) => ok(StatusCode::OK, info_json(&i)),
        Err(e) => engine_error(&e),
    }
}

/// GET /connectors/{name}/config
async fn config(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    match state.engine.connector_info(&name) {
        Ok(i) => ok(StatusCode::OK, json!(i.config)),
        Err(e) => engine_error(&e),
    }
}

/// PUT /connectors/{name}/config: creates (201) or reconfigures (200).
async fn put_config(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let config = match parse_body(&body).and_then(|v| string_map(&v)) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Some(other) = config.get("name").filter(|n| **n != name) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("Connector name configuration ({other}) doesn't match connector name in the URL ({name})"),
        );
    }
    match blocking(&state.engine, move |e| e.put_connector(&name, config, true)).await {
        Ok((info, created)) => ok(
            if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            info_json(&info),
        ),
        Err(r) => r,
    }
}

/// GET /connectors/{name}/status
async fn status(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    match state.engine.connector_status(&name) {
        Ok(s) => ok(StatusCode::OK, status_json(&s)),
        Err(e) => engine_error(&e),
    }
}

/// GET /connectors/{name}/tasks/{task}/status
async fn task_status(
    State(state): State<AppState>,
    Path((name, task)): Path<(String, u32)>,
) -> Response {
    match state.engine.connector_status(&name) {
        Ok(s) => match s.tasks.iter().find(|(id, _)| *id == task) {
            Some((id, t)) => ok(StatusCode::OK, state_json(t, Some(*id))),
            None => error(
                StatusCode::NOT_FOUND,
                format!("No status found for task {name}-{task}"),
            ),
        },
        Err(e) => engine_error(&e),
    }
}

/// GET /connectors/{name}/tasks
async fn tasks(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    match state.engine.connector_info(&name) {
        Ok(i) => ok(
            StatusCode::OK,
            Json::Array(
                i.tasks
                    .iter()
                    .map(|t| json!({"id": {"connector": i.name, "task": t}, "config": i.config}))
                    .collect(),
            ),
        ),
        Err(e) => engine_error(&e),
    }
}

/// PUT /connectors/{name}/pause
async fn pause(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    match blocking(&state.engine, move |e| e.pause_connector(&name, true)).await {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(r) => r,
    }
}

/// PUT /connectors/{name}/resume
async fn resume(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    match blocking(&state.engine, move |e| e.pause_connector(&name, false)).await {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(r) => r,
    }
}

/// POST /connectors/{name}/restart
async fn restart(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    match state.engine.restart_connector(&name) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => engine_error(&e),
    }
}

/// DELETE /connectors/{name}
async fn delete(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    match blocking(&state.engine, move |e| e.delete_connector(&name)).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(r) => r,
    }
}

/// GET /connector-plugins
async fn plugins() -> Response {
    ok(
        StatusCode::OK,
        Json::Array(
            connect::plugin_list()
                .iter()
                .map(|p| json!({"class": p.class, "type": p.kind, "version": p.version}))
                .collect(),
        ),
    )
}

fn validation_json(v: &ConfigValidation) -> Json {
    json!({
        "name": v.name,
        "error_count": v.error_count,
        "groups": v.groups,
        "configs": v.configs.iter().enumerate().map(|(i, c)| json!({
            "definition": {
                "name": c.name,
                "type": c.ty,
                "required": c.required,
                "default_value": c.default,
                "importance": if c.required { "HIGH" } else { "MEDIUM" },
                "documentation": c.doc,
                "group": c.group,
                "width": "NONE",
                "display_name": c.name,
                "dependents": [],
                "order": i + 1,
            },
            "value": {
                "name": c.name,
                "value": c.value,
                "recommended_values": [],
                "errors": c.errors,
                "visible": true,
            },
        })).collect::<Vec<_>>(),
    })
}

/// PUT /connector-plugins/{plugin}/config/validate
async fn validate(Path(plugin): Path<String>, body: Bytes) -> Response {
    let config = match parse_body(&body).and_then(|v| string_map(&v)) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Some(class) = config.get("connector.class") {
        let named = connect::plugins::find(class).map(|p| p.class);
        if named != connect::plugins::find(&plugin).map(|p| p.class) {
            return error(
                StatusCode::BAD_REQUEST,
                "Connector class in the URL doesn't match connector.class in the configuration",
            );
        }
    }
    match connect::validate(&plugin, &config) {
        Ok(v) => ok(StatusCode::OK, validation_json(&v)),
        Err(e) => engine_error(&e),
    }
}
