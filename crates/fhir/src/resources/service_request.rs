//! `ServiceRequest` (R4): an order for a service — here a laboratory test.

use serde::Serialize;
use serde_with::skip_serializing_none;

use crate::datatypes::{Annotation, CodeableConcept, Identifier, Meta, Narrative, Reference};

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRequest {
    pub resource_type: &'static str,
    pub id: String,
    pub meta: Option<Meta>,
    pub text: Option<Narrative>,
    /// The order several requests share.
    pub requisition: Option<Identifier>,
    /// Required: `draft | active | on-hold | revoked | completed | entered-in-error | unknown`.
    pub status: &'static str,
    /// Required.
    pub intent: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub category: Vec<CodeableConcept>,
    pub priority: Option<&'static str>,
    pub code: Option<CodeableConcept>,
    /// Required.
    pub subject: Reference,
    pub authored_on: Option<String>,
    pub requester: Option<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reason_code: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub note: Vec<Annotation>,
}
