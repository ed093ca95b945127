//! `Observation` (R4): one laboratory result (an analyte of a lab report), or one vital
//! sign or measurement taken during an encounter.

use serde::Serialize;
use serde_with::skip_serializing_none;

use crate::datatypes::{
    Annotation, CodeableConcept, Extension, Meta, Narrative, Quantity, Reference,
};

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    pub resource_type: &'static str,
    pub id: String,
    pub meta: Option<Meta>,
    pub text: Option<Narrative>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub based_on: Vec<Reference>,
    /// Required: `registered | preliminary | final | amended | cancelled | entered-in-error | unknown`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub category: Vec<CodeableConcept>,
    /// Required.
    pub code: CodeableConcept,
    pub subject: Option<Reference>,
    pub encounter: Option<Reference>,
    pub effective_date_time: Option<String>,
    pub issued: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub performer: Vec<Reference>,
    pub value_quantity: Option<Quantity>,
    pub value_string: Option<String>,
    /// obs-6: only when there is no `value[x]`.
    pub data_absent_reason: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub interpretation: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub note: Vec<Annotation>,
    pub method: Option<CodeableConcept>,
    pub specimen: Option<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reference_range: Vec<ObservationReferenceRange>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub component: Vec<ObservationComponent>,
}

/// `Observation.component` (e.g. the systolic and diastolic parts of a blood pressure).
#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ObservationComponent {
    /// Required.
    pub code: CodeableConcept,
    pub value_quantity: Option<Quantity>,
    pub data_absent_reason: Option<CodeableConcept>,
}

/// `Observation.referenceRange` (obs-3: at least `low`, `high` or `text`).
#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ObservationReferenceRange {
    pub low: Option<Quantity>,
    pub high: Option<Quantity>,
    pub text: Option<String>,
}
