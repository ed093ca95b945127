//! `Location` (R4), with the elements GNU Health records for a building, unit, ward, bed or
//! operating room.

use serde::Serialize;
use serde_with::skip_serializing_none;

use crate::datatypes::{
    CodeableConcept, Coding, ContactPoint, Extension, Identifier, Meta, Narrative, Reference,
};

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub resource_type: &'static str,
    pub id: String,
    pub meta: Option<Meta>,
    pub text: Option<Narrative>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    pub status: Option<&'static str>,
    pub operational_status: Option<Coding>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub mode: Option<&'static str>,
    #[serde(rename = "type", skip_serializing_if = "Vec::is_empty")]
    pub type_: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub telecom: Vec<ContactPoint>,
    pub physical_type: Option<CodeableConcept>,
    pub managing_organization: Option<Reference>,
    pub part_of: Option<Reference>,
}
