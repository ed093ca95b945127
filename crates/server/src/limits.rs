//! Request size limits and the last word on errors. Owns the header-size check (431), the
//! body-size check (413; a declared `Content-Length` is refused before anything is read,
//! a streamed body when it crosses the limit), and the rewrite of every error response that
//! did not come from our handlers — axum's plain-text rejections of a bad path, an
//! oversized body, … — into an OperationOutcome, so a client always gets FHIR.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Limited};

use crate::error::ApiError;
use crate::transport::Transport;

/// The size of a request's headers as counted against `max_header_bytes`: names and values,
/// without the separators hyper has already dropped.
pub fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum()
}

/// Middleware: 431 for oversized headers, 413 for a declared body above the limit.
pub async fn check(State(t): State<Arc<Transport>>, req: Request, next: Next) -> Response {
    let size = header_bytes(req.headers());
    if size > t.max_header_bytes {
        return ApiError::HeadersTooLarge(format!(
            "the request headers take {size} bytes, more than this server's maximum of {} bytes",
            t.max_header_bytes
        ))
        .into_response();
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > t.max_body_bytes as u64) {
        return body_too_large(&t).into_response();
    }
    next.run(req).await
}

fn body_too_large(t: &Transport) -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "the request body is larger than this server's maximum of {} bytes",
        t.max_body_bytes
    ))
}

/// The longest rejection text carried into an OperationOutcome; axum's are a line long.
const MAX_REJECTION_TEXT: usize = 4096;

/// Middleware: any 4xx/5xx response that is neither FHIR nor a sign-in page becomes an OperationOutcome
/// with the same status and headers (`Allow`, `Retry-After`, … stay).
pub async fn fhir_errors(State(t): State<Arc<Transport>>, req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let media = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim_start().to_ascii_lowercase())
        .unwrap_or_default();
    // FHIR already, or one of the sign-in pages meant for a person.
    if media.starts_with("application/fhir+json") || media.starts_with("text/html") {
        return resp;
    }
    // Only a plain-text body says something worth passing on (axum's rejection message).
    let plain = media.starts_with("text/plain");
    let (parts, body) = resp.into_parts();
    let text = if plain {
        Limited::new(body, MAX_REJECTION_TEXT)
            .collect()
            .await
            .map(|b| String::from_utf8_lossy(&b.to_bytes()).trim().to_owned())
            .unwrap_or_default()
    } else {
        String::new()
    };
    let err = match status {
        // The body limit hit while reading a body sent without a length.
        StatusCode::PAYLOAD_TOO_LARGE => body_too_large(&t),
        _ => ApiError::Rejected {
            status,
            message: if text.is_empty() {
                status
                    .canonical_reason()
                    .unwrap_or("the request failed")
                    .to_owned()
            } else {
                text
            },
        },
    };
    let mut out = err.into_response();
    // Headers of the OperationOutcome win; the others are carried over with all their values.
    let ours: Vec<_> = out.headers().keys().cloned().collect();
    for (name, value) in &parts.headers {
        if !ours.contains(name) && name != header::CONTENT_LENGTH {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn header_bytes_counts_names_and_values() {
        let mut h = HeaderMap::new();
        h.insert("x-a", HeaderValue::from_static("12345"));
        h.append("x-a", HeaderValue::from_static("1"));
        assert_eq!(header_bytes(&h), 3 + 5 + 3 + 1);
    }
}
