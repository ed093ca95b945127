//! `Medication` (R4): a medicament of GNU Health's catalogue.

use serde::Serialize;
use serde_with::skip_serializing_none;

use crate::datatypes::{CodeableConcept, Extension, Meta, Narrative, Quantity};

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Medication {
    pub resource_type: &'static str,
    pub id: String,
    pub meta: Option<Meta>,
    pub text: Option<Narrative>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    pub code: Option<CodeableConcept>,
    /// `active | inactive | entered-in-error`.
    pub status: Option<&'static str>,
    pub form: Option<CodeableConcept>,
    pub amount: Option<Ratio>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ingredient: Vec<MedicationIngredient>,
}

/// `Medication.ingredient`; the substance is only known by name, hence
/// `itemCodeableConcept` (required) with a text.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MedicationIngredient {
    pub item_codeable_concept: CodeableConcept,
    pub is_active: Option<bool>,
    pub strength: Option<Ratio>,
}

/// `Ratio` (rat-1: numerator and denominator both present, or both absent).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Ratio {
    pub numerator: Quantity,
    pub denominator: Quantity,
}
