//! `Organization` (R4), with the elements GNU Health records for an institution.

use serde::Serialize;
use serde_with::skip_serializing_none;

use crate::datatypes::{
    Address, CodeableConcept, ContactPoint, Extension, HumanName, Identifier, Meta, Narrative,
};

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub resource_type: &'static str,
    pub id: String,
    pub meta: Option<Meta>,
    pub text: Option<Narrative>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    pub active: Option<bool>,
    #[serde(rename = "type", skip_serializing_if = "Vec::is_empty")]
    pub type_: Vec<CodeableConcept>,
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub telecom: Vec<ContactPoint>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub address: Vec<Address>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contact: Vec<OrganizationContact>,
}

/// `Organization.contact`.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
pub struct OrganizationContact {
    pub name: Option<HumanName>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub telecom: Vec<ContactPoint>,
}
