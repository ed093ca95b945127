//! `OperationOutcome`: the body of every error response.

use serde::Serialize;
use serde_with::skip_serializing_none;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationOutcome {
    pub resource_type: &'static str,
    pub issue: Vec<Issue>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Serialize)]
pub struct Issue {
    pub severity: Severity,
    /// A code from http://hl7.org/fhir/issue-type (e.g. `invalid`, `not-found`, `security`).
    pub code: &'static str,
    pub diagnostics: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expression: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Fatal,
    Error,
    Warning,
    Information,
}

impl OperationOutcome {
    /// One issue with a diagnostic message.
    pub fn single(severity: Severity, code: &'static str, diagnostics: impl Into<String>) -> Self {
        OperationOutcome {
            resource_type: "OperationOutcome",
            issue: vec![Issue {
                severity,
                code,
                diagnostics: Some(diagnostics.into()),
                expression: Vec::new(),
            }],
        }
    }
}
