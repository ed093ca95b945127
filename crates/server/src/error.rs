//! The one error type of the HTTP layer; every failure leaves as an OperationOutcome with
//! the matching status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fhir::outcome::{OperationOutcome, Severity};
use gnuhealth::db::DbError;
use gnuhealth::search::SearchError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method {0} is not allowed here")]
    MethodNotAllowed(String),
    #[error("{0}")]
    NotAcceptable(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The request body is larger than `max_body_bytes`.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The request headers are larger than `max_header_bytes`.
    #[error("{0}")]
    HeadersTooLarge(String),
    /// A statement ran past `query_timeout_ms`.
    #[error("{0}")]
    TooCostly(String),
    /// Too many attempts (login throttling): try again after `retry_after` seconds.
    #[error("{message}")]
    TooManyRequests { retry_after: u64, message: String },
    /// A failure produced outside our handlers (an extractor's rejection, the router),
    /// carried over with its status.
    #[error("{message}")]
    Rejected { status: StatusCode, message: String },
    #[error("the database is unavailable, try again later")]
    Unavailable,
    #[error("internal error")]
    Internal,
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            // 422, not 400 or 5xx: the search is well-formed and the server is healthy, but
            // this search as asked costs more than the server allows; a 5xx would invite a
            // retry of the same search, while narrowing it is what helps.
            ApiError::TooCostly(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Rejected { status, .. } => *status,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn issue_code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "invalid",
            ApiError::Unauthorized => "login",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::MethodNotAllowed(_) | ApiError::NotAcceptable(_) => "not-supported",
            ApiError::UnsupportedMediaType(_) => "not-supported",
            ApiError::PayloadTooLarge(_) | ApiError::HeadersTooLarge(_) => "too-long",
            ApiError::TooCostly(_) => "too-costly",
            ApiError::TooManyRequests { .. } => "throttled",
            ApiError::Rejected { status, .. } => match status.as_u16() {
                401 => "login",
                403 => "forbidden",
                404 => "not-found",
                405 | 406 | 415 => "not-supported",
                408 => "timeout",
                413 | 414 | 431 => "too-long",
                429 => "throttled",
                400..=499 => "invalid",
                503 => "transient",
                _ => "exception",
            },
            ApiError::Unavailable => "transient",
            ApiError::Internal => "exception",
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(msg) => {
                tracing::warn!("database unavailable: {msg}");
                ApiError::Unavailable
            }
            DbError::Timeout => ApiError::TooCostly(
                "the search took too long and was stopped: narrow it (more or more selective \
                 search parameters, a smaller _count)"
                    .into(),
            ),
            DbError::Query(msg) => {
                tracing::error!("query failed: {msg}");
                ApiError::Internal
            }
        }
    }
}

impl From<SearchError> for ApiError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::BadRequest(msg) => ApiError::BadRequest(msg),
            SearchError::Forbidden(msg) => ApiError::Forbidden(msg),
            SearchError::Db(e) => e.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let severity = match &self {
            ApiError::Internal | ApiError::Unavailable => Severity::Fatal,
            ApiError::Rejected { status, .. } if status.is_server_error() => Severity::Fatal,
            _ => Severity::Error,
        };
        let outcome = OperationOutcome::single(severity, self.issue_code(), self.to_string());
        let body = serde_json::to_vec(&outcome).unwrap_or_default();
        let mut resp = (self.status(), body).into_response();
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/fhir+json; charset=utf-8"),
        );
        if matches!(self, ApiError::Unauthorized) {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"GNU Health FHIR\", charset=\"UTF-8\""),
            );
        }
        if matches!(self, ApiError::MethodNotAllowed(_)) {
            headers.insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, POST"));
        }
        if let ApiError::TooManyRequests { retry_after, .. } = &self
            && let Ok(v) = HeaderValue::from_str(&retry_after.to_string())
        {
            headers.insert(header::RETRY_AFTER, v);
        }
        if matches!(self, ApiError::Unavailable) {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        if let ApiError::TooManyRequests { retry_after, .. } = &self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn outcome(resp: Response) -> serde_json::Value {
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or_default()
    }

    #[tokio::test]
    async fn too_many_requests_says_when_to_retry() {
        let resp = ApiError::TooManyRequests {
            retry_after: 30,
            message: "too many failed logins, try again later".into(),
        }
        .into_response();
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            resp.headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
            Some("30")
        );
        assert_eq!(
            resp.headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("application/fhir+json; charset=utf-8")
        );
        let body = outcome(resp).await;
        assert_eq!(body["resourceType"], "OperationOutcome");
        assert_eq!(body["issue"][0]["code"], "throttled");
        assert_eq!(
            body["issue"][0]["diagnostics"],
            "too many failed logins, try again later"
        );
    }

    #[tokio::test]
    async fn query_timeout_is_too_costly_not_a_server_error() {
        let resp = ApiError::from(DbError::Timeout).into_response();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = outcome(resp).await;
        assert_eq!(body["issue"][0]["code"], "too-costly");
        assert_eq!(body["issue"][0]["severity"], "error");
    }
}
