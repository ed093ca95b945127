//! `Coverage` (R4): a person's health insurance.

use serde::Serialize;
use serde_with::skip_serializing_none;

use crate::datatypes::{CodeableConcept, Identifier, Meta, Narrative, Period, Reference};

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Coverage {
    pub resource_type: &'static str,
    pub id: String,
    pub meta: Option<Meta>,
    pub text: Option<Narrative>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    /// Required: `active | cancelled | draft | entered-in-error`.
    pub status: &'static str,
    #[serde(rename = "type")]
    pub type_: Option<CodeableConcept>,
    pub policy_holder: Option<Reference>,
    pub subscriber: Option<Reference>,
    pub subscriber_id: Option<String>,
    /// Required.
    pub beneficiary: Reference,
    pub relationship: Option<CodeableConcept>,
    pub period: Option<Period>,
    /// Required: at least one.
    pub payor: Vec<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub class: Vec<CoverageClass>,
    pub order: Option<u32>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CoverageClass {
    /// Required.
    #[serde(rename = "type")]
    pub type_: CodeableConcept,
    /// Required.
    pub value: String,
    pub name: Option<String>,
}
