//! `Practitioner` (R4), with the elements GNU Health records for a health professional.

use serde::Serialize;
use serde_with::skip_serializing_none;

use crate::datatypes::{
    Address, Attachment, CodeableConcept, ContactPoint, Extension, HumanName, Identifier, Meta,
    Narrative,
};

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Practitioner {
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub address: Vec<Address>,
    pub gender: Option<&'static str>,
    pub birth_date: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub photo: Vec<Attachment>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub qualification: Vec<PractitionerQualification>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub communication: Vec<CodeableConcept>,
}

/// `Practitioner.qualification`: `code` is required.
#[derive(Debug, Clone, Serialize)]
pub struct PractitionerQualification {
    pub code: CodeableConcept,
}
