//! `AllergyIntolerance` (R4), with the elements GNU Health records for a patient's allergy
//! or contraindication.

use serde::Serialize;
use serde_with::skip_serializing_none;

use crate::datatypes::{
    Annotation, CodeableConcept, Extension, Meta, Narrative, Quantity, Reference,
};

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AllergyIntolerance {
    pub resource_type: &'static str,
    pub id: String,
    pub meta: Option<Meta>,
    pub text: Option<Narrative>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    pub clinical_status: Option<CodeableConcept>,
    pub verification_status: Option<CodeableConcept>,
    /// `allergy | intolerance`.
    #[serde(rename = "type")]
    pub type_: Option<&'static str>,
    /// `food | medication | environment | biologic`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub category: Vec<&'static str>,
    /// `low | high | unable-to-assess`.
    pub criticality: Option<&'static str>,
    pub code: Option<CodeableConcept>,
    /// Required.
    pub patient: Reference,
    pub onset_date_time: Option<String>,
    /// An `Age`: a UCUM time quantity.
    pub onset_age: Option<Quantity>,
    pub recorded_date: Option<String>,
    pub recorder: Option<Reference>,
    pub asserter: Option<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub note: Vec<Annotation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reaction: Vec<AllergyIntoleranceReaction>,
}

/// `AllergyIntolerance.reaction`: `manifestation` is required (1..*).
#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
pub struct AllergyIntoleranceReaction {
    pub manifestation: Vec<CodeableConcept>,
    /// `mild | moderate | severe`.
    pub severity: Option<&'static str>,
}
