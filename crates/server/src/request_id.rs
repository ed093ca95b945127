//! Request ids: every request gets one — the `X-Request-Id` a proxy or client sent when
//! it is a short token, else a new random one — which every log line written while
//! answering it carries (a tracing span, with the method and the path, never the query:
//! search values can name patients) and which the response returns in `X-Request-Id`.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

const HEADER: &str = "x-request-id";

/// Up to 64 letters, digits, `-`, `_` and `.`: what proxies send (nginx's `$request_id`,
/// UUIDs), and nothing that could forge a log line.
fn acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

pub async fn layer(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map_or_else(|| crate::auth::random_hex(8), str::to_owned);
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %req.method(),
        path = %req.uri().path()
    );
    let mut resp = next.run(req).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(HEADER, value);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::acceptable;

    #[test]
    fn only_short_plain_tokens_are_taken() {
        assert!(acceptable("3f2a9c1e-77b0-4c1e-9d7e-0c1d2e3f4a5b"));
        assert!(acceptable("req_12.a"));
        assert!(!acceptable(""));
        assert!(!acceptable("a b"));
        assert!(!acceptable("x\ny"));
        assert!(!acceptable(&"a".repeat(65)));
    }
}
