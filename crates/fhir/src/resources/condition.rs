//! `Condition` (R4), with the elements GNU Health records for a patient's disease.

use serde::Serialize;
use serde_with::skip_serializing_none;

use crate::datatypes::{
    Annotation, CodeableConcept, Extension, Meta, Narrative, Quantity, Reference,
};

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    pub resource_type: &'static str,
    pub id: String,
    pub meta: Option<Meta>,
    pub text: Option<Narrative>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    pub clinical_status: Option<CodeableConcept>,
    pub verification_status: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub category: Vec<CodeableConcept>,
    pub severity: Option<CodeableConcept>,
    pub code: Option<CodeableConcept>,
    /// Required.
    pub subject: Reference,
    pub onset_date_time: Option<String>,
    /// An `Age`: a UCUM time quantity.
    pub onset_age: Option<Quantity>,
    pub abatement_date_time: Option<String>,
    pub recorded_date: Option<String>,
    pub recorder: Option<Reference>,
    pub asserter: Option<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<ConditionEvidence>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub note: Vec<Annotation>,
}

/// `Condition.evidence` (con-2: a code or a detail).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConditionEvidence {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub code: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub detail: Vec<Reference>,
}
