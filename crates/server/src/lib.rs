//! The `gnuhealth-fhir` server: HTTP (axum) over the `gnuhealth` crate — routes, content
//! negotiation, authentication, paging cursors, configuration. Only this crate knows HTTP.

pub mod app;
pub mod audit;
pub mod auth;
pub mod browser;
pub mod browser_view;
pub mod client;
pub mod config;
pub mod cursor;
pub mod error;
pub mod everything;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod request_id;
pub mod transport;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;

/// How long the stamp of GNU Health's security tables is trusted before it is read again:
/// changes of access rights take effect within this time.
const ACCESS_STAMP_SECONDS: u64 = 1;

/// Connect to the database and build the shared state of the server.
pub async fn state(cfg: &Config, url: &str, secret: Vec<u8>) -> Result<Arc<app::AppState>, String> {
    let transport = transport::Transport::from_config(cfg)?;
    let opts = gnuhealth::db::DbOptions {
        query_timeout: Some(Duration::from_millis(cfg.query_timeout_ms.max(1))),
    };
    let db = gnuhealth::db::Database::connect_with(url, opts)
        .await
        .map_err(|e| e.to_string())?;
    let base_url = cfg.base_url();
    let mut capability = fhir::capability::CapabilityStatement::new(
        &cfg.server_name,
        env!("CARGO_PKG_VERSION"),
        &base_url,
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        &gnuhealth::registry::offers(),
    );
    if let Some(rest) = capability.rest.first_mut() {
        let ctx = gnuhealth::resources::Context {
            base_url: base_url.clone(),
        };
        rest.documentation = Some(gnuhealth::systems::documentation(&ctx));
    }
    let capability = serde_json::to_vec(&capability).map_err(|e| e.to_string())?;
    let types: Vec<&str> = gnuhealth::registry::all()
        .iter()
        .map(|d| d.type_name)
        .collect();
    let openapi = serde_json::to_vec(&openapi::document(env!("CARGO_PKG_VERSION"), &types))
        .map_err(|e| e.to_string())?;
    let mut auth = auth::Authenticator::new(
        &secret,
        Duration::from_secs(cfg.auth_cache_seconds),
        cfg.throttle()?,
        cfg.login_delay,
    );
    auth.session_age = Duration::from_secs(cfg.session_seconds.max(60));
    let metrics = metrics::Metrics::new();
    auth.login_failures = metrics.login_failures.clone();
    Ok(Arc::new(app::AppState {
        metrics: Arc::new(metrics),
        db,
        base_url,
        auth,
        policies: moka::future::Cache::builder().max_capacity(10_000).build(),
        stamp: moka::future::Cache::builder()
            .max_capacity(1)
            .time_to_live(Duration::from_secs(ACCESS_STAMP_SECONDS))
            .build(),
        secret,
        token_seconds: cfg.token_seconds.max(1),
        default_count: cfg.default_count.min(cfg.max_count),
        max_count: cfg.max_count,
        capability: capability.into(),
        openapi: openapi.into(),
        transport: Arc::new(transport),
        audit: match &cfg.audit_log {
            Some(path) => Some(Arc::new(audit::AuditLog::open(path)?)),
            None => None,
        },
    }))
}

/// Serve on `cfg.listen` (and the metrics on `cfg.metrics_listen`) until SIGTERM or
/// Ctrl-C: HTTPS with `tls_cert` and `tls_key`, plain HTTP only with `plain_http` (see
/// [`Config::listen_mode`]). Then no new connection is accepted, the requests in progress
/// are finished (for at most 10 s) and the database pools are closed.
pub async fn serve(cfg: Config, url: &str, secret: Vec<u8>) -> Result<(), String> {
    // Before the database is touched: a refused configuration should fail at once.
    let mode = cfg.listen_mode()?;
    let state = state(&cfg, url, secret).await?;
    let addr: SocketAddr = cfg
        .listen
        .parse()
        .map_err(|e| format!("listen address {}: {e}", cfg.listen))?;
    let listener =
        std::net::TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!(
        "serving {} on {addr} over {} ({})",
        gnuhealth::db::redact_url(url),
        match mode {
            config::Listen::Https { .. } => "HTTPS",
            config::Listen::Http => "plain HTTP",
        },
        state.base_url
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: no new connections, finishing the requests in progress");
        let _ = stop.send(true);
    });
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    let metrics = match &cfg.metrics_listen {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr} (metrics_listen): {e}"))?;
            tracing::info!("metrics on http://{addr}/metrics");
            let routes = metrics::router(state.clone());
            let done = until_stopped(stopped.clone());
            Some(tokio::spawn(async move {
                axum::serve(listener, routes)
                    .with_graceful_shutdown(done)
                    .await
            }))
        }
        None => None,
    };
    let db = state.db.clone();
    let served = transport::serve_on(listener, &mode, state, until_stopped(stopped)).await;
    if let Some(task) = metrics
        && let Ok(Err(e)) = task.await
    {
        tracing::warn!("metrics listener: {e}");
    }
    db.close();
    tracing::info!("stopped");
    served
}

/// SIGTERM (systemd, containers) or Ctrl-C.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!("no SIGTERM handler ({e}): Ctrl-C only");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
