//! `FamilyMemberHistory` (R4): one condition of one relative.

use serde::Serialize;
use serde_with::skip_serializing_none;

use crate::datatypes::{CodeableConcept, Extension, Meta, Narrative, Reference};

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FamilyMemberHistory {
    pub resource_type: &'static str,
    pub id: String,
    pub meta: Option<Meta>,
    pub text: Option<Narrative>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// Required: `partial | completed | entered-in-error | health-unknown`.
    pub status: &'static str,
    /// Required.
    pub patient: Reference,
    pub date: Option<String>,
    /// Required.
    pub relationship: CodeableConcept,
    pub sex: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub condition: Vec<FamilyMemberHistoryCondition>,
}

/// `FamilyMemberHistory.condition`: `code` is required.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FamilyMemberHistoryCondition {
    pub code: CodeableConcept,
}
