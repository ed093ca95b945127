//! `Immunization` (R4): one vaccine dose given to a patient.

use serde::Serialize;
use serde_with::skip_serializing_none;

use crate::datatypes::{
    Annotation, CodeableConcept, Extension, Meta, Narrative, Quantity, Reference,
};

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Immunization {
    pub resource_type: &'static str,
    pub id: String,
    pub meta: Option<Meta>,
    pub text: Option<Narrative>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// Required: `completed | entered-in-error | not-done`.
    pub status: &'static str,
    /// Required.
    pub vaccine_code: CodeableConcept,
    /// Required.
    pub patient: Reference,
    /// `occurrence[x]` is required: the date time, or a text when it is unknown.
    pub occurrence_date_time: Option<String>,
    pub occurrence_string: Option<String>,
    pub recorded: Option<String>,
    pub location: Option<Reference>,
    pub lot_number: Option<String>,
    pub expiration_date: Option<String>,
    pub site: Option<CodeableConcept>,
    pub route: Option<CodeableConcept>,
    pub dose_quantity: Option<Quantity>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub performer: Vec<ImmunizationPerformer>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub note: Vec<Annotation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub protocol_applied: Vec<ImmunizationProtocolApplied>,
}

/// `Immunization.performer`: `actor` is required.
#[skip_serializing_none]
#[derive(Debug, Clone, Serialize)]
pub struct ImmunizationPerformer {
    pub function: Option<CodeableConcept>,
    pub actor: Reference,
}

/// `Immunization.protocolApplied`: `doseNumber[x]` is required.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImmunizationProtocolApplied {
    pub dose_number_positive_int: Option<u32>,
    pub dose_number_string: Option<String>,
}
