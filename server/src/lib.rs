//! Sluice's REST API, shaped like ksqlDB's: `/ksql` for statements,
//! `/query` and `/query-stream` for queries, `/inserts-stream` for rows,
//! `/info` and friends for the server's state. HTTP/1.1 and HTTP/2 (h2c
//! with prior knowledge) are served on one port; an `https://` listener
//! serves both over TLS ([`tls`]), and basic authentication ([`auth`]) may
//! guard the endpoints. The server uses only the
//! engine's facade: each request runs in its own [`sluice_engine::Session`]
//! on a blocking thread.

pub mod auth;
pub mod connect;
pub mod console;
pub mod error;
pub mod fanout;
pub mod info;
pub mod inserts;
pub mod json;
pub mod ksql;
pub mod metrics;
pub mod query;
pub mod registry;
pub mod request;
pub mod tls;
pub mod ws;

pub use error::{ApiError, ServerError};
pub use sluice_engine::Engine;

use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use sluice_engine::EngineConfig;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// The listener a server binds when given none.
pub const DEFAULT_LISTENER: &str = "http://0.0.0.0:8088";

/// How long a stopping server waits for open responses to finish.
const DRAIN: Duration = Duration::from_secs(3);

/// How to run a server: where it listens and the engine it opens.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `http://HOST:PORT` or `https://HOST:PORT`, or several of them
    /// separated by commas (served at once).
    pub listener: String,
    /// The engine to open.
    pub engine: EngineConfig,
    /// Authentication and TLS.
    pub security: Security,
    /// Where the schema registry API listens (`schema.registry.listeners`):
    /// None serves it on [`registry::DEFAULT_REGISTRY_LISTENER`] when that
    /// port is free (a warning otherwise); a URL must be bound; `none`
    /// serves no registry API.
    pub registry_listener: Option<String>,
    /// The engine SELECTs beyond ksqlDB's pull-query forms run on (the
    /// `sluice` binary installs DataFusion's); None answers only what the
    /// engine answers itself.
    pub analytic: Option<Arc<dyn sluice_engine::analytic::AnalyticSql>>,
}

/// Who may call the server and how it encrypts: from a ksqlDB properties
/// file's `authentication.*` and `ssl.*` settings.
#[derive(Debug, Clone, Default)]
pub struct Security {
    /// Basic authentication, when `authentication.method=BASIC`.
    pub auth: Option<Arc<auth::BasicAuth>>,
    /// The certificate and key an `https://` listener serves.
    pub tls: Option<tls::TlsSettings>,
}

impl Security {
    /// The security `settings` configure (later entries winning); reads
    /// the users file, so a bad one stops the server from starting.
    pub fn from_settings(settings: &[(String, String)]) -> Result<Security, ServerError> {
        let map: HashMap<String, String> = settings.iter().cloned().collect();
        Ok(Security {
            auth: auth::BasicAuth::from_settings(&map)?.map(Arc::new),
            tls: tls::TlsSettings::from_settings(&map)?,
        })
    }
}

/// What `/info` and `/clusterStatus` report about this server.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    /// `ksql.service.id`.
    pub service_id: String,
    /// The Kafka cluster's id, or the embedded log's name.
    pub cluster_id: String,
    /// The URL clients reach the server at.
    pub advertised: String,
    /// How long a request naming a `commandSequenceNumber` waits for that
    /// command (`ksql.server.command.response.timeout.ms`, 5 s unless set).
    pub command_timeout: std::time::Duration,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The engine requests run on.
    pub engine: Engine,
    /// Push queries running for clients.
    pub queries: query::QueryRegistry,
    /// The shared push queries.
    pub fanout: fanout::Fanout,
    /// The server's identity.
    pub info: Arc<ServerInfo>,
    /// Basic authentication, if the server requires it.
    pub auth: Option<Arc<auth::BasicAuth>>,
    /// What `/metrics` reports of the server's own work.
    pub metrics: metrics::ServerMetrics,
}

/// The router: every endpoint, with ksqlDB's error shape for unknown paths
/// and methods.
pub fn router(state: AppState) -> Router {
    let auth = state.auth.clone();
    let counted = state.metrics.clone();
    let router = Router::new()
        .route("/ksql", post(ksql::handle))
        .route("/query", post(query::handle_v1))
        .route("/query-stream", post(query::handle_v2))
        .route("/close-query", post(query::close))
        .route("/inserts-stream", post(inserts::handle))
        .route("/info", get(info::info))
        .route("/healthcheck", get(info::healthcheck))
        .route("/status", get(info::statuses))
        .route("/status/{*id}", get(info::status))
        .route("/clusterStatus", get(info::cluster_status))
        .route("/ws/query", get(ws::handle))
        .route("/metrics", get(metrics::handle))
        .route("/", get(console::index))
        .route("/console/{file}", get(console::asset))
        .merge(connect::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);
    let router = match auth {
        Some(auth) => router.layer(axum::middleware::from_fn_with_state(auth, auth::require)),
        None => router,
    };
    // Outermost, so requests refused by authentication are counted too.
    router.layer(axum::middleware::from_fn_with_state(
        counted,
        metrics::count_requests,
    ))
}

async fn not_found(uri: Uri) -> Response {
    ApiError::generic(
        error::codes::NOT_FOUND,
        format!("no endpoint at {}", uri.path()),
    )
    .into_response()
}

async fn method_not_allowed(uri: Uri) -> Response {
    ApiError::generic(
        error::codes::METHOD_NOT_ALLOWED,
        format!("{} does not serve this method", uri.path()),
    )
    .into_response()
}

/// `host:port` from `http://host:port` or `https://host:port` (a trailing
/// `/` allowed).
pub fn listener_address(url: &str) -> Result<String, ServerError> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| ServerError::Listener(url.to_string()))?
        .trim_end_matches('/');
    if rest.is_empty() || rest.contains('/') || !rest.contains(':') {
        return Err(ServerError::Listener(url.to_string()));
    }
    Ok(rest.to_string())
}

impl AppState {
    /// The state of a server over `engine` reached at `advertised`.
    pub fn new(engine: Engine, advertised: String) -> AppState {
        let properties = engine.session().properties();
        let service_id = properties
            .get("ksql.service.id")
            .cloned()
            .unwrap_or_else(|| "default_".to_string());
        let command_timeout = std::time::Duration::from_millis(
            properties
                .get("ksql.server.command.response.timeout.ms")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(5000),
        );
        AppState {
            engine,
            queries: query::QueryRegistry::default(),
            fanout: fanout::Fanout::default(),
            info: Arc::new(ServerInfo {
                service_id,
                cluster_id: "sluice".to_string(),
                advertised,
                command_timeout,
            }),
            auth: None,
            metrics: metrics::ServerMetrics::default(),
        }
    }

    /// The same state, requiring `auth`'s credentials.
    pub fn with_auth(mut self, auth: Option<Arc<auth::BasicAuth>>) -> AppState {
        self.auth = auth;
        self
    }
}

/// Serves `engine` on `listener` until `shutdown` completes; then closes
/// the running push queries and waits a little for open responses.
pub async fn serve(
    engine: Engine,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let advertised = format!("http://{}/", listener.local_addr()?);
    serve_state(AppState::new(engine, advertised), listener, shutdown).await
}

/// [`serve`] with a state the caller made (and may keep a clone of, to
/// watch the running queries).
pub async fn serve_state(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    use axum::serve::ListenerExt;
    // Each row of a streamed answer is its own small write: without
    // TCP_NODELAY, Nagle's algorithm holds them until the client's delayed
    // ACK (a ~40 ms stall at p99 in the HTTP pull benchmark).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!("cannot set TCP_NODELAY: {e}");
        }
    });
    serve_on(state, listener, "http", shutdown).await
}

/// [`serve_state`] over TLS: each connection's handshake with `acceptor`
/// (which offers `h2` and `http/1.1`), then HTTP.
pub async fn serve_state_tls(
    state: AppState,
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let listener = tls::TlsListener::new(listener, acceptor)?;
    serve_on(state, listener, "https", shutdown).await
}

async fn serve_on<L>(
    state: AppState,
    listener: L,
    scheme: &str,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError>
where
    L: axum::serve::Listener<Addr = std::net::SocketAddr>,
{
    let local = listener.local_addr()?;
    let queries = state.queries.clone();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        queries.close_all();
        let _ = stop_tx.send(true);
    });
    let mut graceful_rx = stop_rx.clone();
    let mut deadline_rx = stop_rx;
    tracing::info!("listening on {scheme}://{local}");
    let server = axum::serve(listener, router(state)).with_graceful_shutdown(async move {
        let _ = graceful_rx.wait_for(|s| *s).await;
    });
    tokio::select! {
        r = server => r?,
        _ = async move {
            let _ = deadline_rx.wait_for(|s| *s).await;
            tokio::time::sleep(DRAIN).await;
        } => tracing::warn!("open responses did not finish in time"),
    }
    Ok(())
}

/// Blocking threads: one per running push query, plus statements.
const MAX_BLOCKING_THREADS: usize = 4096;

/// One listening socket and, for an `https://` listener, its TLS acceptor.
pub struct Listener {
    pub socket: TcpListener,
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

/// Serves `state` on every listener at once (ksqlDB's `listeners` may name
/// several, `http://` and `https://` alike) until `shutdown` completes.
pub async fn serve_listeners(
    state: AppState,
    listeners: Vec<Listener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let servers = listeners.into_iter().map(|listener| {
        let mut stop_rx = stop_rx.clone();
        let stop = async move {
            let _ = stop_rx.wait_for(|s| *s).await;
        };
        let state = state.clone();
        async move {
            match listener.tls {
                Some(acceptor) => serve_state_tls(state, listener.socket, acceptor, stop).await,
                None => serve_state(state, listener.socket, stop).await,
            }
        }
    });
    futures_util::future::try_join_all(servers).await?;
    Ok(())
}

/// The URLs of a `listeners` setting: one, or several separated by commas.
pub fn listener_urls(listeners: &str) -> Result<Vec<String>, ServerError> {
    let urls: Vec<String> = listeners
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string)
        .collect();
    if urls.is_empty() {
        return Err(ServerError::Listener(listeners.to_string()));
    }
    for url in &urls {
        listener_address(url)?;
    }
    Ok(urls)
}

/// Opens the engine, serves it on the configured listeners until SIGINT or
/// SIGTERM, then stops (blocking the calling thread).
pub fn run(config: ServerConfig) -> Result<(), ServerError> {
    let urls = listener_urls(&config.listener)?;
    let mut planned = Vec::with_capacity(urls.len());
    for url in &urls {
        let acceptor = match (url.starts_with("https://"), &config.security.tls) {
            (true, Some(tls)) => Some(tls.acceptor()?),
            (true, None) => {
                return Err(ServerError::Config(format!(
                    "listener {url} needs ssl.certificate.location and ssl.key.location"
                )))
            }
            (false, _) => None,
        };
        planned.push((listener_address(url)?, acceptor));
    }
    if config.security.tls.is_some() && planned.iter().all(|(_, a)| a.is_none()) {
        tracing::warn!("ssl.* settings are ignored: no listener is https://");
    }
    // Statements run on the runtime's blocking threads: they get the
    // engine's query stack, which deeply nested expressions need.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(sluice_engine::runtime::THREAD_STACK)
        // Each push query holds a blocking thread while it runs: tokio's
        // default of 512 would cap the server at 512 push queries (and
        // starve inserts behind them).
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build()?;
    let data_dir = match &config.engine.kafka {
        None => config.engine.data_dir.clone(),
        Some(_) => None,
    };
    let engine = Engine::open(config.engine)?;
    if let Some(analytic) = config.analytic {
        engine.set_analytic(analytic);
    }
    runtime.block_on(async move {
        let mut listeners = Vec::with_capacity(planned.len());
        let mut first_url = None;
        for (address, tls) in planned {
            let socket = TcpListener::bind(&address).await?;
            let local = socket.local_addr()?;
            let scheme = if tls.is_some() { "https" } else { "http" };
            first_url.get_or_insert((scheme, local));
            listeners.push(Listener { socket, tls });
        }
        let Some((scheme, local)) = first_url else {
            return Err(ServerError::Listener(String::new()));
        };
        if let Some(dir) = &data_dir {
            // A second `sluice` on this directory is told to connect here
            // (the first listener).
            let host = match local.ip().is_unspecified() {
                true => "localhost".to_string(),
                false => local.ip().to_string(),
            };
            let url = format!("{scheme}://{host}:{}", local.port());
            if let Err(e) = sluice_engine::log::embedded::advertise(dir, &url) {
                tracing::warn!("could not note the server's URL in the data directory: {e}");
            }
        }
        let registry = match config.registry_listener.as_deref() {
            Some(off) if off.eq_ignore_ascii_case("none") => None,
            Some(url) => {
                let address = listener_address(url)?;
                Some(TcpListener::bind(&address).await?)
            }
            None => {
                let address = listener_address(registry::DEFAULT_REGISTRY_LISTENER)?;
                match TcpListener::bind(&address).await {
                    Ok(l) => Some(l),
                    Err(e) => {
                        tracing::warn!(
                            "the schema registry API is not served: cannot bind {address}: {e}"
                        );
                        None
                    }
                }
            }
        };
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            stop_signal().await;
            let _ = stop_tx.send(true);
        });
        let stopped = move || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|s| *s).await;
            }
        };
        let registry_task = registry.map(|listener| {
            let (engine, auth, stop) = (engine.clone(), config.security.auth.clone(), stopped());
            tokio::spawn(registry::serve(engine, auth, listener, stop))
        });
        let state =
            AppState::new(engine, format!("{scheme}://{local}/")).with_auth(config.security.auth);
        let served = serve_listeners(state, listeners, stopped()).await;
        if let Some(task) = registry_task {
            match task.await {
                Ok(Err(e)) => tracing::warn!("the schema registry API failed: {e}"),
                Err(e) => tracing::warn!("the schema registry API failed: {e}"),
                Ok(Ok(())) => {}
            }
        }
        served
    })?;
    tracing::info!("server stopped");
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
async fn stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    tracing::info!("stopping");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_listeners_are_separated_by_commas() {
        let urls = listener_urls("http://0.0.0.0:8088, https://0.0.0.0:8089,").ok();
        assert_eq!(
            urls.as_deref(),
            Some(
                &[
                    "http://0.0.0.0:8088".to_string(),
                    "https://0.0.0.0:8089".to_string()
                ][..]
            )
        );
        assert!(listener_urls("").is_err());
        assert!(listener_urls("http://0.0.0.0:8088,ftp://x:1").is_err());
    }

    #[test]
    fn listeners_are_http_urls() {
        assert_eq!(
            listener_address("http://0.0.0.0:8088").ok().as_deref(),
            Some("0.0.0.0:8088")
        );
        assert_eq!(
            listener_address("http://localhost:1/").ok().as_deref(),
            Some("localhost:1")
        );
        assert_eq!(listener_address("https://x:1").ok().as_deref(), Some("x:1"));
        assert!(listener_address("ftp://x:1").is_err());
        assert!(listener_address("http://x").is_err());
    }
}
