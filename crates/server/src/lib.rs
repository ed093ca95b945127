//! The `gnuhealth-fhir` server: HTTP (axum) over the `gnuhealth` crate — routes, content
//! negotiation, authentication, paging cursors, configuration. Only this crate knows HTTP.

pub mod app;
pub mod auth;
pub mod browser;
pub mod config;
pub mod cursor;
pub mod error;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;

/// How long the stamp of GNU Health's security tables is trusted before it is read again:
/// changes of access rights take effect within this time.
const ACCESS_STAMP_SECONDS: u64 = 1;

/// Connect to the database and build the shared state of the server.
pub async fn state(cfg: &Config, url: &str, secret: Vec<u8>) -> Result<Arc<app::AppState>, String> {
    let db = gnuhealth::db::Database::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    let base_url = cfg.base_url();
    let capability = fhir::capability::CapabilityStatement::new(
        &cfg.server_name,
        env!("CARGO_PKG_VERSION"),
        &base_url,
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        &gnuhealth::registry::offers(),
    );
    let capability = serde_json::to_vec(&capability).map_err(|e| e.to_string())?;
    let mut auth = auth::Authenticator::new(
        &secret,
        Duration::from_secs(cfg.auth_cache_seconds),
        cfg.throttle()?,
        cfg.login_delay,
    );
    auth.session_age = Duration::from_secs(cfg.session_seconds.max(60));
    Ok(Arc::new(app::AppState {
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
    }))
}

/// Serve until Ctrl-C.
pub async fn serve(cfg: Config, url: &str, secret: Vec<u8>) -> Result<(), String> {
    let state = state(&cfg, url, secret).await?;
    let addr: SocketAddr = cfg
        .listen
        .parse()
        .map_err(|e| format!("listen address {}: {e}", cfg.listen))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!(
        "serving {} on {addr} ({})",
        gnuhealth::db::redact_url(url),
        state.base_url
    );
    axum::serve(listener, app::router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}
