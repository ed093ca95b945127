//! Operations endpoints. The health probes load balancers poll, open to anyone like the
//! CapabilityStatement: `/healthz` (the process answers) and `/readyz` (the database
//! answers; 503 with an OperationOutcome when it does not). Prometheus metrics
//! (`/metrics`), served only on the separate address `metrics_listen` names, as they
//! describe the hospital's traffic: requests by FHIR interaction, resource type and
//! status, their latency, the database connections in use and the failed sign-ins.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::app::AppState;
use crate::error::ApiError;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    interaction: &'static str,
    resource_type: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InteractionLabels {
    interaction: &'static str,
}

type Latency = Family<InteractionLabels, Histogram, fn() -> Histogram>;

/// The server's metrics, shared by every request.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Latency,
    /// Failed sign-ins (unknown or inactive user, wrong password), counted where they are
    /// recorded for throttling.
    pub login_failures: Counter,
    db_in_use: Gauge,
    db_max: Gauge,
}

/// Buckets from 0.5 ms to 16 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("ghf");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by FHIR interaction, resource type and status",
            requests.clone(),
        );
        let latency: Latency = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request (to its headers), by FHIR interaction",
            latency.clone(),
        );
        let login_failures = Counter::default();
        registry.register(
            "login_failures",
            "Failed sign-ins (unknown or inactive user, wrong password)",
            login_failures.clone(),
        );
        let db_in_use = Gauge::default();
        registry.register(
            "db_connections_in_use",
            "Pooled database connections in use (SQLite: those of the blocking pool)",
            db_in_use.clone(),
        );
        let db_max = Gauge::default();
        registry.register(
            "db_connections_max",
            "The most pooled database connections there may be",
            db_max.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            login_failures,
            db_in_use,
            db_max,
        }
    }

    fn record(
        &self,
        interaction: &'static str,
        resource_type: &'static str,
        status: u16,
        took: Duration,
    ) {
        self.requests
            .get_or_create(&RequestLabels {
                interaction,
                resource_type,
                status,
            })
            .inc();
        self.latency
            .get_or_create(&InteractionLabels { interaction })
            .observe(took.as_secs_f64());
    }
}

/// The FHIR interaction and resource type of a request, from its method and path alone
/// (before routing, so refused requests are counted too). Label values come only from
/// fixed names and the served types: nothing a client sends becomes a label.
fn classify(method: &Method, path: &str) -> (&'static str, &'static str) {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let served = |t: &str| gnuhealth::registry::find(t).map_or("", |d| d.type_name);
    match segments.as_slice() {
        [] | ["metadata"] => ("capabilities", ""),
        ["auth", ..] => ("auth", ""),
        ["healthz"] | ["readyz"] | ["metrics"] => ("health", ""),
        [t] => ("search-type", served(t)),
        [t, "_search"] if method == Method::POST => ("search-type", served(t)),
        [t, "_history"] => ("history-type", served(t)),
        [t, _] => ("read", served(t)),
        [t, _, "_history"] => ("history-instance", served(t)),
        [t, _, "_history", _] => ("vread", served(t)),
        [t, _, op] if op.starts_with('$') => ("operation", served(t)),
        [t, _, _] => ("search-compartment", served(t)),
        _ => ("other", ""),
    }
}

/// Counts every request and its latency: the outermost layer of the FHIR routes.
pub async fn layer(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let (interaction, resource_type) = classify(req.method(), req.uri().path());
    let start = Instant::now();
    let resp = next.run(req).await;
    metrics.record(
        interaction,
        resource_type,
        resp.status().as_u16(),
        start.elapsed(),
    );
    resp
}

/// `/healthz`: the process is up and answering.
pub async fn healthz() -> Response {
    json(StatusCode::OK, r#"{"status":"ok"}"#)
}

/// `/readyz`: the database answers a read of GNU Health's patients table; else a 503
/// OperationOutcome (the cause goes to the log).
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let mut probe = state.db.sql();
    probe.push("SELECT COUNT(*) FROM (SELECT id FROM gnuhealth_patient LIMIT 1) t");
    match state.db.query(&probe).await {
        Ok(_) => json(StatusCode::OK, r#"{"status":"ready"}"#),
        // Whatever kept the probe from its answer (an outage, a statement timeout, a
        // schema that is not GNU Health's), this instance cannot serve: 503, so that a
        // load balancer takes it out.
        Err(e) => {
            tracing::warn!("readiness probe failed: {e}");
            ApiError::Unavailable.into_response()
        }
    }
}

fn json(status: StatusCode, body: &'static str) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    resp
}

/// `/metrics` in the OpenMetrics text format Prometheus reads.
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let (in_use, max) = state.db.connections();
    let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    state.metrics.db_in_use.set(gauge(in_use));
    state.metrics.db_max.set(gauge(max));
    let mut text = String::new();
    if prometheus_client::encoding::text::encode(&mut text, &state.metrics.registry).is_err() {
        return ApiError::Internal.into_response();
    }
    let mut resp = text.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ),
    );
    resp
}

/// The routes of the `metrics_listen` address: the metrics and the two probes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_classified_by_interaction_and_served_type() {
        let get = Method::GET;
        assert_eq!(classify(&get, "/"), ("capabilities", ""));
        assert_eq!(classify(&get, "/metadata"), ("capabilities", ""));
        assert_eq!(classify(&get, "/Patient"), ("search-type", "Patient"));
        assert_eq!(
            classify(&Method::POST, "/Observation/_search"),
            ("search-type", "Observation")
        );
        assert_eq!(classify(&get, "/Patient/12"), ("read", "Patient"));
        assert_eq!(
            classify(&get, "/Patient/12/_history/1"),
            ("vread", "Patient")
        );
        assert_eq!(
            classify(&get, "/Patient/12/$everything"),
            ("operation", "Patient")
        );
        assert_eq!(
            classify(&get, "/Patient/12/Observation"),
            ("search-compartment", "Patient")
        );
        assert_eq!(classify(&get, "/auth/token"), ("auth", ""));
        // What a client makes up never becomes a label value.
        assert_eq!(classify(&get, "/NoSuchType/1"), ("read", ""));
        assert_eq!(classify(&get, "/a/b/c/d/e"), ("other", ""));
    }
}
