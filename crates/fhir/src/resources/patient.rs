//! `Patient` (R4), with the elements GNU Health records.

use serde::Serialize;
use serde_with::skip_serializing_none;

use crate::datatypes::{
    Address, Attachment, CodeableConcept, ContactPoint, Extension, HumanName, Identifier, Meta,
    Narrative, Period, Reference,
};

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Patient {
    pub resource_type: &'static str,
    pub id: String,
    pub meta: Option<Meta>,
    pub text: Option<Narrative>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    pub active: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub name: Vec<HumanName>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub telecom: Vec<ContactPoint>,
    pub gender: Option<&'static str>,
    pub birth_date: Option<String>,
    pub deceased_boolean: Option<bool>,
    pub deceased_date_time: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub address: Vec<Address>,
    pub marital_status: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub photo: Vec<Attachment>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contact: Vec<PatientContact>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub communication: Vec<PatientCommunication>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub general_practitioner: Vec<Reference>,
    pub managing_organization: Option<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub link: Vec<PatientLink>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
pub struct PatientContact {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub relationship: Vec<CodeableConcept>,
    pub name: Option<HumanName>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub telecom: Vec<ContactPoint>,
    pub address: Option<Address>,
    pub period: Option<Period>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Serialize)]
pub struct PatientCommunication {
    pub language: CodeableConcept,
    pub preferred: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PatientLink {
    pub other: Reference,
    #[serde(rename = "type")]
    pub type_: &'static str,
}
