//! `MedicationStatement` (R4): a medication a patient takes or took, with the
//! `Dosage` and `Timing` datatypes it needs.

use serde::Serialize;
use serde_with::skip_serializing_none;

use crate::datatypes::{
    Annotation, CodeableConcept, Extension, Meta, Narrative, Period, Quantity, Reference,
};

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MedicationStatement {
    pub resource_type: &'static str,
    pub id: String,
    pub meta: Option<Meta>,
    pub text: Option<Narrative>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub based_on: Vec<Reference>,
    /// Required: `active | completed | entered-in-error | intended | stopped | on-hold |
    /// unknown | not-taken`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub status_reason: Vec<CodeableConcept>,
    /// `medication[x]` is required; GNU Health always names a medicament.
    pub medication_reference: Reference,
    /// Required.
    pub subject: Reference,
    pub effective_period: Option<Period>,
    pub date_asserted: Option<String>,
    pub information_source: Option<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reason_code: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub note: Vec<Annotation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dosage: Vec<Dosage>,
}

/// `Dosage`: how the medication is taken.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Dosage {
    pub text: Option<String>,
    pub timing: Option<Timing>,
    pub as_needed_boolean: Option<bool>,
    pub route: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dose_and_rate: Vec<DosageDoseAndRate>,
}

/// `Dosage.doseAndRate`: `doseQuantity` and `rateQuantity` are SimpleQuantities.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DosageDoseAndRate {
    pub dose_quantity: Option<Quantity>,
    pub rate_quantity: Option<Quantity>,
}

/// `Timing`: a repeat rule and/or a coded schedule.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Timing {
    pub repeat: Option<TimingRepeat>,
    pub code: Option<CodeableConcept>,
}

/// `Timing.repeat` (tim-2: a `period` needs a `periodUnit`; tim-10: `timeOfDay` excludes
/// `when`, which is never emitted).
#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TimingRepeat {
    /// A `Duration`: a UCUM time quantity.
    pub bounds_duration: Option<Quantity>,
    pub frequency: Option<u32>,
    pub period: Option<u32>,
    /// `s | min | h | d | wk | mo | a`.
    pub period_unit: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub time_of_day: Vec<String>,
}
