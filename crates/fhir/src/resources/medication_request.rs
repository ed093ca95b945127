//! `MedicationRequest` (R4): one line of a prescription.

use serde::Serialize;
use serde_with::skip_serializing_none;

use super::medication_statement::Dosage;
use crate::datatypes::{
    Annotation, CodeableConcept, Identifier, Meta, Narrative, Period, Quantity, Reference,
};

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MedicationRequest {
    pub resource_type: &'static str,
    pub id: String,
    pub meta: Option<Meta>,
    pub text: Option<Narrative>,
    /// Required: `active | on-hold | cancelled | completed | entered-in-error | stopped |
    /// draft | unknown`.
    pub status: &'static str,
    /// Required.
    pub intent: &'static str,
    /// Required (medication[x]).
    pub medication_reference: Reference,
    /// Required.
    pub subject: Reference,
    pub authored_on: Option<String>,
    pub requester: Option<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reason_code: Vec<CodeableConcept>,
    /// The prescription the line belongs to.
    pub group_identifier: Option<Identifier>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub note: Vec<Annotation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dosage_instruction: Vec<Dosage>,
    pub dispense_request: Option<DispenseRequest>,
    pub substitution: Option<Substitution>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DispenseRequest {
    pub validity_period: Option<Period>,
    pub number_of_repeats_allowed: Option<u32>,
    pub quantity: Option<Quantity>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Substitution {
    /// Required (allowed[x]).
    pub allowed_boolean: bool,
}
