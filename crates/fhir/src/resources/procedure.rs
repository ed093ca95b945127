//! `Procedure` (R4): a surgery, one of its procedure lines, or a procedure recorded
//! during an encounter.

use serde::Serialize;
use serde_with::skip_serializing_none;

use crate::datatypes::{
    Annotation, CodeableConcept, Extension, Identifier, Meta, Narrative, Period, Reference,
};

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Procedure {
    pub resource_type: &'static str,
    pub id: String,
    pub meta: Option<Meta>,
    pub text: Option<Narrative>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub part_of: Vec<Reference>,
    /// Required: `preparation | in-progress | not-done | on-hold | stopped | completed |
    /// entered-in-error | unknown`.
    pub status: &'static str,
    pub category: Option<CodeableConcept>,
    pub code: Option<CodeableConcept>,
    /// Required.
    pub subject: Reference,
    pub encounter: Option<Reference>,
    pub performed_date_time: Option<String>,
    pub performed_period: Option<Period>,
    pub recorder: Option<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub performer: Vec<ProcedurePerformer>,
    pub location: Option<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reason_code: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub body_site: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub complication: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub follow_up: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub note: Vec<Annotation>,
}

/// `Procedure.performer`: `actor` is required.
#[skip_serializing_none]
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProcedurePerformer {
    pub function: Option<CodeableConcept>,
    pub actor: Reference,
    pub on_behalf_of: Option<Reference>,
}
