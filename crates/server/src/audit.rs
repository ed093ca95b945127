//! The audit log: one JSON line per request that touches patient data or signs someone in
//! or out — time, user, client address, interaction, resource type, the ids returned (or
//! the search), status — appended to the file named by `audit_log`. Handlers fill an
//! [`AuditSlot`] the middleware puts into each request; the middleware writes the line once
//! the status is known. Passwords and tokens are never part of it.

use std::io::Write;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;

/// What a handler records about its request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditEvent {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interaction: Option<&'static str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<Vec<(String, String)>>,
}

/// The request's event, shared between the middleware and the handler.
#[derive(Debug, Clone, Default)]
pub struct AuditSlot(Arc<Mutex<AuditEvent>>);

impl AuditSlot {
    /// Change the event (a poisoned lock only loses this request's details).
    pub fn record(&self, f: impl FnOnce(&mut AuditEvent)) {
        if let Ok(mut e) = self.0.lock() {
            f(&mut e);
        }
    }

    fn take(&self) -> AuditEvent {
        self.0.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

/// One line of the log.
#[derive(Serialize)]
struct Line<'a> {
    time: String,
    client: IpAddr,
    method: &'a str,
    path: &'a str,
    status: u16,
    #[serde(flatten)]
    event: AuditEvent,
}

/// The open log file; lines are written whole, so several instances may share a file.
pub struct AuditLog {
    file: Mutex<std::fs::File>,
}

impl AuditLog {
    pub fn open(path: &Path) -> Result<AuditLog, String> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open the audit log {}: {e}", path.display()))?;
        Ok(AuditLog {
            file: Mutex::new(file),
        })
    }

    fn write(&self, line: &Line<'_>) {
        let Ok(mut text) = serde_json::to_vec(line) else {
            return;
        };
        text.push(b'\n');
        let written = self
            .file
            .lock()
            .map_err(|_| std::io::Error::other("audit log lock poisoned"))
            .and_then(|mut f| f.write_all(&text));
        if let Err(e) = written {
            tracing::error!("cannot write the audit log: {e}");
        }
    }
}

/// Paths whose requests are audited: everything but the public CapabilityStatement.
fn audited(path: &str) -> bool {
    !matches!(path, "/" | "/metadata")
}

/// Middleware: give the request an [`AuditSlot`], then log what the handler recorded.
pub async fn layer(
    State(log): State<Option<Arc<AuditLog>>>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(log) = log.filter(|_| audited(req.uri().path())) else {
        return next.run(req).await;
    };
    let slot = AuditSlot::default();
    req.extensions_mut().insert(slot.clone());
    let client = crate::app::client_ip(req.extensions());
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    log.write(&Line {
        time: chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string(),
        client,
        method: method.as_str(),
        path: &path,
        status: resp.status().as_u16(),
        event: slot.take(),
    });
    resp
}
