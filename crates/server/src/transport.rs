//! The HTTP edge. Owns how the server listens (HTTPS through rustls, or plain HTTP when
//! configured so), the settings every request is checked against before it is routed
//! ([`Transport`]), and the order of the layers that apply them.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderValue;
use axum::middleware::from_fn_with_state;

use crate::app::{self, AppState};
use crate::client::{self, TrustedProxies};
use crate::config::{Config, Listen};
use crate::limits;

/// What the layers in front of the routes need to know.
#[derive(Debug, Clone)]
pub struct Transport {
    /// Whether this process terminates TLS itself.
    pub tls: bool,
    /// The `Strict-Transport-Security` value sent on HTTPS responses.
    pub hsts: HeaderValue,
    pub trusted_proxies: TrustedProxies,
    pub max_body_bytes: usize,
    pub max_header_bytes: usize,
}

impl Transport {
    pub fn from_config(cfg: &Config) -> Result<Transport, String> {
        Ok(Transport {
            tls: cfg.tls_files()?.is_some(),
            hsts: HeaderValue::from(cfg.hsts_seconds)
                .to_str()
                .ok()
                .and_then(|s| HeaderValue::from_str(&format!("max-age={s}")).ok())
                .ok_or("hsts_seconds: not a valid max-age")?,
            trusted_proxies: TrustedProxies::parse(&cfg.trusted_proxies)?,
            max_body_bytes: cfg.max_body_bytes,
            max_header_bytes: cfg.max_header_bytes,
        })
    }
}

/// The layers around the routes, outermost first: the client address and HSTS (so every
/// response, errors included, gets HSTS), OperationOutcome for every error, the size
/// checks, and the body limit the body extractors enforce while reading.
pub fn layers(routes: Router, t: Arc<Transport>) -> Router {
    routes
        .layer(DefaultBodyLimit::max(t.max_body_bytes))
        .layer(from_fn_with_state(t.clone(), limits::check))
        .layer(from_fn_with_state(t.clone(), limits::fhir_errors))
        .layer(from_fn_with_state(t, client::layer))
}

/// A rustls server configuration from PEM files: TLS 1.3 and 1.2 only, the ring provider,
/// HTTP/1.1 (the only protocol this server speaks).
pub fn rustls_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("tls_cert {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("tls_cert {}: no certificate in it", cert.display()));
    }
    let private_key =
        PrivateKeyDer::from_pem_file(key).map_err(|e| format!("tls_key {}: {e}", key.display()))?;
    // An explicit provider: the process-wide default would depend on which rustls features
    // other crates happen to enable.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, private_key)
        .map_err(|e| format!("tls_cert/tls_key: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// How long open connections may finish their requests after a shutdown is asked for.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serve the router for `state` on `listener` (HTTPS or HTTP as `mode` says) until
/// `shutdown` completes. Every connection's peer address reaches the router (connect
/// info), which `client` needs.
pub async fn serve_on(
    listener: std::net::TcpListener,
    mode: &Listen,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("listener: {e}"))?;
    let max_header_bytes = state.transport.max_header_bytes;
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(SHUTDOWN_GRACE));
    });
    let service = app::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = match mode {
        Listen::Https { cert, key } => {
            let tls = axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(rustls_config(
                cert, key,
            )?));
            let mut server = axum_server::from_tcp_rustls(listener, tls)
                .map_err(|e| format!("listener: {e}"))?
                .http1_only()
                .handle(handle);
            server
                .http_builder()
                .http1()
                .max_headers(hyper_max_headers(max_header_bytes))
                .max_buf_size(hyper_max_buf(max_header_bytes));
            server.serve(service).await
        }
        Listen::Http => {
            let mut server = axum_server::from_tcp(listener)
                .map_err(|e| format!("listener: {e}"))?
                .http1_only()
                .handle(handle);
            server
                .http_builder()
                .http1()
                .max_headers(hyper_max_headers(max_header_bytes))
                .max_buf_size(hyper_max_buf(max_header_bytes));
            server.serve(service).await
        }
    };
    served.map_err(|e| e.to_string())
}

// hyper's own header limits are kept above `max_header_bytes`, so that our check (and its
// OperationOutcome) is what an oversized request meets, not hyper's bare 431.

/// Header count: each header takes at least a few bytes of the byte budget.
fn hyper_max_headers(max_header_bytes: usize) -> usize {
    (max_header_bytes / 8).clamp(100, 8192)
}

/// Read buffer: hyper's default (about 400 KiB), or twice our limit when that is larger.
fn hyper_max_buf(max_header_bytes: usize) -> usize {
    max_header_bytes.saturating_mul(2).max(400 * 1024)
}
