//! `Appointment` (R4): a booked (or offered, cancelled, kept) visit of a patient to a
//! health professional.

use serde::Serialize;
use serde_with::skip_serializing_none;

use crate::datatypes::{
    CodeableConcept, Identifier, Meta, Narrative, PrimitiveExtensions, Reference,
};

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Appointment {
    pub resource_type: &'static str,
    pub id: String,
    pub meta: Option<Meta>,
    pub text: Option<Narrative>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    /// Required: `proposed | pending | booked | arrived | fulfilled | cancelled | noshow |
    /// entered-in-error | checked-in | waitlist`.
    pub status: &'static str,
    pub cancelation_reason: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub service_type: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub specialty: Vec<CodeableConcept>,
    pub appointment_type: Option<CodeableConcept>,
    /// iCalendar priority: 1 highest, 9 lowest, 0 undefined.
    pub priority: Option<u32>,
    pub start: Option<String>,
    /// Why `start` is absent (R4 requires it for most statuses).
    #[serde(rename = "_start")]
    pub start_ext: Option<PrimitiveExtensions>,
    pub end: Option<String>,
    /// Why `end` is absent (R4 requires it whenever `start` is present).
    #[serde(rename = "_end")]
    pub end_ext: Option<PrimitiveExtensions>,
    pub created: Option<String>,
    pub comment: Option<String>,
    /// Required: at least one.
    pub participant: Vec<AppointmentParticipant>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentParticipant {
    pub actor: Option<Reference>,
    /// Required: `accepted | declined | tentative | needs-action`.
    pub status: &'static str,
}
