//! Confluent's Schema Registry REST API over the engine's registry
//! ([`sluice_engine::registry::SchemaRegistry`]): subjects and versions,
//! schemas by id, lookups, compatibility configuration and checks, soft and
//! hard deletes, with Confluent's JSON, error codes and content type
//! (`application/vnd.schemaregistry.v1+json`). `sluice server` serves it on
//! its own listener (`schema.registry.listeners`, by default
//! [`DEFAULT_REGISTRY_LISTENER`]). Registry calls block (the log, or an
//! external registry), so each runs on a blocking thread.

use crate::auth;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value as Json};
use sluice_engine::registry::{
    codes, Compatibility, RegisteredSchema, RegistryError, Schema, SchemaReference, SchemaRegistry,
    SchemaType, VersionSpec,
};
use sluice_engine::{Engine, Error};
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Where `sluice server` serves the registry unless told otherwise.
pub const DEFAULT_REGISTRY_LISTENER: &str = "http://0.0.0.0:8081";

/// The registry API's content type.
pub const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// What the registry's handlers share: the engine, whose registry is
/// opened on the first request.
#[derive(Clone)]
pub struct RegistryState {
    engine: Engine,
}

type Params = RawQuery;

/// Whether the query string sets `name` (bare, or `=true`).
fn flag(params: &Option<String>, name: &str) -> bool {
    params.as_deref().is_some_and(|q| {
        q.split('&').any(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            k == name && (v.is_empty() || v.eq_ignore_ascii_case("true"))
        })
    })
}

/// An answer in the registry's content type.
fn answer(status: StatusCode, body: &Json) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        body.to_string(),
    )
        .into_response()
}

fn ok(body: Json) -> Response {
    answer(StatusCode::OK, &body)
}

/// Confluent's error entity: `{"error_code": N, "message": M}`.
fn failure(e: &RegistryError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    answer(status, &json!({"error_code": e.code, "message": e.message}))
}

fn engine_failure(e: Error) -> Response {
    match e {
        Error::Registry(r) => failure(&r),
        other => failure(&RegistryError::new(
            codes::STORE_ERROR,
            format!("Error in the backend data store: {other}"),
        )),
    }
}

/// Runs `f` against the registry on a blocking thread, answering its
/// value as `to_json` shapes it, or its error.
async fn call<T: Send + 'static>(
    state: RegistryState,
    f: impl FnOnce(&dyn SchemaRegistry) -> Result<T, Error> + Send + 'static,
    to_json: impl FnOnce(T) -> Response,
) -> Response {
    let result = tokio::task::spawn_blocking(move || {
        let registry = state.engine.schema_registry()?;
        f(registry.as_ref())
    })
    .await;
    match result {
        Ok(Ok(v)) => to_json(v),
        Ok(Err(e)) => engine_failure(e),
        Err(e) => failure(&RegistryError::new(
            codes::STORE_ERROR,
            format!("the registry call failed: {e}"),
        )),
    }
}

/// A version's JSON (`schemaType` only when not AVRO and `references`
/// only when there are some, as Confluent writes them).
fn version_json(v: &RegisteredSchema) -> Json {
    let mut out = json!({
        "subject": v.subject,
        "version": v.version,
        "id": v.id,
    });
    add_schema(&mut out, &v.schema);
    out
}

fn add_schema(out: &mut Json, schema: &Schema) {
    if schema.schema_type != SchemaType::Avro {
        out["schemaType"] = json!(schema.schema_type.name());
    }
    if !schema.references.is_empty() {
        out["references"] = Json::Array(
            schema
                .references
                .iter()
                .map(|r| json!({"name": r.name, "subject": r.subject, "version": r.version}))
                .collect(),
        );
    }
    out["schema"] = json!(schema.schema);
}

/// The schema a request body submits.
fn schema_of(body: &Bytes) -> Result<Schema, RegistryError> {
    let json: Json = serde_json::from_slice(body).map_err(|e| {
        RegistryError::new(codes::INVALID_SCHEMA, format!("Invalid request body: {e}"))
    })?;
    let text = match json.get("schema") {
        Some(Json::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => return Err(RegistryError::new(codes::INVALID_SCHEMA, "Empty schema")),
    };
    let schema_type = match json.get("schemaType") {
        None | Some(Json::Null) => SchemaType::Avro,
        Some(Json::String(t)) => SchemaType::parse(t).map_err(|e| match e {
            Error::Registry(r) => r,
            other => RegistryError::new(codes::INVALID_SCHEMA, other.to_string()),
        })?,
        Some(other) => {
            return Err(RegistryError::new(
                codes::INVALID_SCHEMA,
                format!("Invalid schema type {other}"),
            ))
        }
    };
    let mut references = Vec::new();
    for r in json
        .get("references")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let name = r.get("name").and_then(Json::as_str);
        let subject = r.get("subject").and_then(Json::as_str);
        let version = r
            .get("version")
            .and_then(Json::as_i64)
            .and_then(|v| i32::try_from(v).ok());
        match (name, subject, version) {
            (Some(n), Some(s), Some(v)) => references.push(SchemaReference {
                name: n.to_string(),
                subject: s.to_string(),
                version: v,
            }),
            _ => {
                return Err(RegistryError::new(
                    codes::INVALID_SCHEMA,
                    format!("Invalid schema reference {r}"),
                ))
            }
        }
    }
    Ok(Schema {
        schema_type,
        schema: text,
        references,
    })
}

fn version_of(text: &str) -> Result<VersionSpec, RegistryError> {
    VersionSpec::parse(text).map_err(|e| match e {
        Error::Registry(r) => r,
        other => RegistryError::new(codes::INVALID_VERSION, other.to_string()),
    })
}

fn level_of(body: &Bytes) -> Result<Compatibility, RegistryError> {
    let json: Json = serde_json::from_slice(body).map_err(|e| {
        RegistryError::new(
            codes::INVALID_COMPATIBILITY_LEVEL,
            format!("Invalid request body: {e}"),
        )
    })?;
    let level = json
        .get("compatibility")
        .or_else(|| json.get("compatibilityLevel"))
        .and_then(Json::as_str)
        .ok_or_else(|| {
            RegistryError::new(
                codes::INVALID_COMPATIBILITY_LEVEL,
                "Invalid compatibility level: none given",
            )
        })?;
    Compatibility::parse(level).map_err(|e| match e {
        Error::Registry(r) => r,
        other => RegistryError::new(codes::INVALID_COMPATIBILITY_LEVEL, other.to_string()),
    })
}

/// A raw schema text (`.../schema` endpoints).
fn raw(schema: Schema) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        schema.schema,
    )
        .into_response()
}

async fn root() -> Response {
    ok(json!({}))
}

async fn schema_types() -> Response {
    ok(json!(SchemaType::ALL.map(SchemaType::name)))
}

async fn subjects(State(s): State<RegistryState>, RawQuery(p): Params) -> Response {
    let deleted = flag(&p, "deleted");
    call(s, move |r| r.subjects(deleted), |v| ok(json!(v))).await
}

async fn versions(
    State(s): State<RegistryState>,
    Path(subject): Path<String>,
    RawQuery(p): Params,
) -> Response {
    let deleted = flag(&p, "deleted");
    call(s, move |r| r.versions(&subject, deleted), |v| ok(json!(v))).await
}

async fn register(
    State(s): State<RegistryState>,
    Path(subject): Path<String>,
    body: Bytes,
) -> Response {
    let schema = match schema_of(&body) {
        Ok(schema) => schema,
        Err(e) => return failure(&e),
    };
    call(
        s,
        move |r| r.register(&subject, &schema),
        |id| ok(json!({"id": id})),
    )
    .await
}

async fn lookup(
    State(s): State<RegistryState>,
    Path(subject): Path<String>,
    RawQuery(p): Params,
    body: Bytes,
) -> Response {
    let schema = match schema_of(&body) {
        Ok(schema) => schema,
        Err(e) => return failure(&e),
    };
    let deleted = flag(&p, "deleted");
    call(
        s,
        move |r| r.lookup(&subject, &schema, deleted),
        |v| ok(version_json(&v)),
    )
    .await
}

async fn get_version(
    State(s): State<RegistryState>,
    Path((subject, version)): Path<(String, String)>,
    RawQuery(p): Params,
) -> Response {
    let version = match version_of(&version) {
        Ok(v) => v,
        Err(e) => return failure(&e),
    };
    let deleted = flag(&p, "deleted");
    call(
        s,
        move |r| r.version(&subject, version, deleted),
        |v| ok(version_json(&v)),
    )
    .await
}

async fn get_version_schema(
    State(s): State<RegistryState>,
    Path((subject, version)): Path<(String, String)>,
    RawQuery(p): Params,
) -> Response {
    let version = match version_of(&version) {
        Ok(v) => v,
        Err(e) => return failure(&e),
    };
    let deleted = flag(&p, "deleted");
    call(
        s,
        move |r| r.version(&subject, version, deleted),
        |v| raw(v.schema),
    )
    .await
}

async fn delete_version(
    State(s): State<RegistryState>,
    Path((subject, version)): Path<(String, String)>,
    RawQuery(p): Params,
) -> Response {
    let version = match version_of(&version) {
        Ok(v) => v,
        Err(e) => return failure(&e),
    };
    let permanent = flag(&p, "permanent");
    call(
        s,
        move |r| r.delete_version(&subject, version, permanent),
        |v| ok(json!(v)),
    )
    .await
}

async fn delete_subject(
    State(s): State<RegistryState>,
    Path(subject): Path<String>,
    RawQuery(p): Params,
) -> Response {
    let permanent = flag(&p, "permanent");
    call(
        s,
        move |r| r.delete_subject(&subject, permanent),
        |v| ok(json!(v)),
    )
    .await
}

fn id_of(text: &str) -> Result<u32, RegistryError> {
    text.parse().map_err(|_| {
        RegistryError::new(codes::SCHEMA_NOT_FOUND, format!("Schema {text} not found"))
    })
}

async fn by_id(State(s): State<RegistryState>, Path(id): Path<String>) -> Response {
    let id = match id_of(&id) {
        Ok(id) => id,
        Err(e) => return failure(&e),
    };
    call(
        s,
        move |r| r.schema_by_id(id),
        |schema| {
            let mut out = json!({});
            add_schema(&mut out, &schema);
            ok(out)
        },
    )
    .await
}

async fn by_id_schema(State(s): State<RegistryState>, Path(id): Path<String>) -> Response {
    let id = match id_of(&id) {
        Ok(id) => id,
        Err(e) => return failure(&e),
    };
    call(s, move |r| r.schema_by_id(id), raw).await
}

async fn by_id_versions(State(s): State<RegistryState>, Path(id): Path<String>) -> Response {
    let id = match id_of(&id) {
        Ok(id) => id,
        Err(e) => return failure(&e),
    };
    call(
        s,
        move |r| r.id_versions(id),
        |v| {
            ok(Json::Array(
                v.into_iter()
                    .map(|(subject, version)| json!({"subject": subject, "version": version}))
                    .collect(),
            ))
        },
    )
    .await
}

async fn get_global_config(State(s): State<RegistryState>) -> Response {
    call(
        s,
        |r| r.compatibility(None),
        |level| ok(json!({"compatibilityLevel": level.unwrap_or(Compatibility::Backward).name()})),
    )
    .await
}

async fn put_global_config(State(s): State<RegistryState>, body: Bytes) -> Response {
    let level = match level_of(&body) {
        Ok(level) => level,
        Err(e) => return failure(&e),
    };
    call(
        s,
        move |r| r.set_compatibility(None, level),
        move |()| ok(json!({"compatibility": level.name()})),
    )
    .await
}

async fn delete_global_config(State(s): State<RegistryState>) -> Response {
    call(
        s,
        |r| r.delete_compatibility(None),
        |level| ok(json!({"compatibilityLevel": level.name()})),
    )
    .await
}

async fn get_config(
    State(s): State<RegistryState>,
    Path(subject): Path<String>,
    RawQuery(p): Params,
) -> Response {
    let to_global = flag(&p, "defaultToGlobal");
    call(
        s,
        move |r| {
            let own = r.compatibility(Some(&subject))?;
            match (own, to_global) {
                (Some(level), _) => Ok(level),
                (None, true) => Ok(r.compatibility(None)?.unwrap_or(Compatibility::Backward)),
                (None, false) => Err(Error::Registry(RegistryError::new(
                    codes::SUBJECT_LEVEL_COMPATIBILITY_NOT_CONFIGURED,
                    format!(
                        "Subject '{subject}' does not have subject-level compatibility \
                         configured"
                    ),
                ))),
            }
        },
        |level| ok(json!({"compatibilityLevel": level.name()})),
    )
    .await
}

async fn put_config(
    State(s): State<RegistryState>,
    Path(subject): Path<String>,
    body: Bytes,
) -> Response {
    let level = match level_of(&body) {
        Ok(level) => level,
        Err(e) => return failure(&e),
    };
    call(
        s,
        move |r| r.set_compatibility(Some(&subject), level),
        move |()| ok(json!({"compatibility": level.name()})),
    )
    .await
}

async fn delete_config(State(s): State<RegistryState>, Path(subject): Path<String>) -> Response {
    call(
        s,
        move |r| r.delete_compatibility(Some(&subject)),
        |level| ok(json!({"compatibilityLevel": level.name()})),
    )
    .await
}

fn compatibility_answer(reasons: Vec<String>, verbose: bool) -> Response {
    let mut out = json!({"is_compatible": reasons.is_empty()});
    if verbose {
        out["messages"] = json!(reasons);
    }
    ok(out)
}

async fn check_version(
    State(s): State<RegistryState>,
    Path((subject, version)): Path<(String, String)>,
    RawQuery(p): Params,
    body: Bytes,
) -> Response {
    let (version, schema) = match (version_of(&version), schema_of(&body)) {
        (Ok(v), Ok(schema)) => (v, schema),
        (Err(e), _) | (_, Err(e)) => return failure(&e),
    };
    let verbose = flag(&p, "verbose");
    call(
        s,
        move |r| r.check_compatibility(&subject, Some(version), &schema),
        move |reasons| compatibility_answer(reasons, verbose),
    )
    .await
}

async fn check_all(
    State(s): State<RegistryState>,
    Path(subject): Path<String>,
    RawQuery(p): Params,
    body: Bytes,
) -> Response {
    let schema = match schema_of(&body) {
        Ok(schema) => schema,
        Err(e) => return failure(&e),
    };
    let verbose = flag(&p, "verbose");
    call(
        s,
        move |r| r.check_compatibility(&subject, None, &schema),
        move |reasons| compatibility_answer(reasons, verbose),
    )
    .await
}

async fn not_found(uri: Uri) -> Response {
    answer(
        StatusCode::NOT_FOUND,
        &json!({"error_code": 404, "message": format!("HTTP 404 Not Found: {}", uri.path())}),
    )
}

async fn method_not_allowed() -> Response {
    answer(
        StatusCode::METHOD_NOT_ALLOWED,
        &json!({"error_code": 405, "message": "HTTP 405 Method Not Allowed"}),
    )
}

/// The registry's routes over `engine`'s registry, guarded by `auth` when
/// given.
pub fn router(engine: Engine, auth: Option<Arc<auth::BasicAuth>>) -> Router {
    let router = Router::new()
        .route("/", get(root))
        .route("/schemas/types", get(schema_types))
        .route("/schemas/ids/{id}", get(by_id))
        .route("/schemas/ids/{id}/schema", get(by_id_schema))
        .route("/schemas/ids/{id}/versions", get(by_id_versions))
        .route("/subjects", get(subjects))
        .route("/subjects/{subject}", post(lookup).delete(delete_subject))
        .route("/subjects/{subject}/versions", get(versions).post(register))
        .route(
            "/subjects/{subject}/versions/{version}",
            get(get_version).delete(delete_version),
        )
        .route(
            "/subjects/{subject}/versions/{version}/schema",
            get(get_version_schema),
        )
        .route(
            "/config",
            get(get_global_config)
                .put(put_global_config)
                .delete(delete_global_config),
        )
        .route(
            "/config/{subject}",
            get(get_config).put(put_config).delete(delete_config),
        )
        .route(
            "/compatibility/subjects/{subject}/versions",
            post(check_all),
        )
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(check_version),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(RegistryState { engine });
    match auth {
        Some(auth) => router.layer(axum::middleware::from_fn_with_state(auth, auth::require)),
        None => router,
    }
}

/// Serves the registry API of `engine` on `listener` until `shutdown`
/// completes.
pub async fn serve(
    engine: Engine,
    auth: Option<Arc<auth::BasicAuth>>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(
        "schema registry listening on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, router(engine, auth))
        .with_graceful_shutdown(shutdown)
        .await
}
