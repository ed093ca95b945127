//! `Encounter` (R4): a patient's evaluation, nursing session or hospital stay.

use serde::Serialize;
use serde_json::Value;
use serde_with::skip_serializing_none;

use crate::datatypes::{
    CodeableConcept, Coding, Identifier, Meta, Narrative, Period, Quantity, Reference,
};

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Encounter {
    pub resource_type: &'static str,
    pub id: String,
    pub meta: Option<Meta>,
    pub text: Option<Narrative>,
    /// The diagnoses, as Conditions that exist only within the encounter.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contained: Vec<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    /// Required: `planned | arrived | triaged | in-progress | onleave | finished | cancelled
    /// | entered-in-error | unknown`.
    pub status: &'static str,
    /// Required (v3 ActCode).
    pub class: Coding,
    #[serde(rename = "type", skip_serializing_if = "Vec::is_empty")]
    pub type_: Vec<CodeableConcept>,
    pub service_type: Option<CodeableConcept>,
    pub priority: Option<CodeableConcept>,
    pub subject: Option<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub participant: Vec<EncounterParticipant>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub appointment: Vec<Reference>,
    pub period: Option<Period>,
    pub length: Option<Quantity>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reason_code: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reason_reference: Vec<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diagnosis: Vec<EncounterDiagnosis>,
    pub hospitalization: Option<EncounterHospitalization>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub location: Vec<EncounterLocation>,
    pub service_provider: Option<Reference>,
    pub part_of: Option<Reference>,
}

/// `Encounter.participant`.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct EncounterParticipant {
    #[serde(rename = "type", skip_serializing_if = "Vec::is_empty")]
    pub type_: Vec<CodeableConcept>,
    pub individual: Option<Reference>,
}

/// `Encounter.diagnosis`.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct EncounterDiagnosis {
    /// Required.
    pub condition: Reference,
    #[serde(rename = "use")]
    pub use_: Option<CodeableConcept>,
    pub rank: Option<u32>,
}

/// `Encounter.hospitalization`.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EncounterHospitalization {
    pub admit_source: Option<CodeableConcept>,
    pub discharge_disposition: Option<CodeableConcept>,
}

/// `Encounter.location`.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EncounterLocation {
    /// Required.
    pub location: Reference,
    pub status: Option<&'static str>,
}
