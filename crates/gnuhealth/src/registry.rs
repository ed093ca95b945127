//! The resource types this server serves. Every type is declared once, here; routing and
//! the CapabilityStatement are derived from this list.

use fhir::capability::{ResourceOffer, SearchParamOffer};

use crate::resources::{self, ResourceDef};

/// Interactions implemented for every resource type.
pub const INTERACTIONS: &[&str] = &["read", "search-type"];

/// All served resource types.
pub fn all() -> &'static [&'static ResourceDef] {
    ALL
}

static ALL: &[&ResourceDef] = &[
    &resources::allergy_intolerance::ALLERGY_INTOLERANCE,
    &resources::appointment::APPOINTMENT,
    &resources::condition::CONDITION,
    &resources::coverage::COVERAGE,
    &resources::diagnostic_report::DIAGNOSTIC_REPORT,
    &resources::encounter::ENCOUNTER,
    &resources::family_member_history::FAMILY_MEMBER_HISTORY,
    &resources::immunization::IMMUNIZATION,
    &resources::location::LOCATION,
    &resources::medication::MEDICATION,
    &resources::medication_request::MEDICATION_REQUEST,
    &resources::medication_statement::MEDICATION_STATEMENT,
    &resources::observation::OBSERVATION,
    &resources::organization::ORGANIZATION,
    &resources::patient::PATIENT,
    &resources::practitioner::PRACTITIONER,
    &resources::practitioner_role::PRACTITIONER_ROLE,
    &resources::procedure::PROCEDURE,
    &resources::related_person::RELATED_PERSON,
    &resources::service_request::SERVICE_REQUEST,
];

/// The definition of a resource type by its FHIR name.
pub fn find(type_name: &str) -> Option<&'static ResourceDef> {
    all().iter().copied().find(|d| d.type_name == type_name)
}

/// Every Tryton model behind the served types (for access checks), without duplicates.
pub fn all_models() -> &'static [&'static str] {
    static MODELS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    MODELS.get_or_init(|| {
        let mut v: Vec<&'static str> = all()
            .iter()
            .flat_map(|d| {
                d.models
                    .iter()
                    .copied()
                    .chain(d.fields.iter().map(|u| u.model))
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    })
}

/// What the CapabilityStatement says about each type.
pub fn offers() -> Vec<ResourceOffer> {
    all()
        .iter()
        .map(|d| {
            let mut search_params: Vec<SearchParamOffer> = fhir::capability::COMMON_SEARCH_PARAMS
                .iter()
                .map(|(name, type_, def)| SearchParamOffer {
                    name,
                    type_,
                    definition: Some((*def).to_owned()),
                    documentation: None,
                })
                .collect();
            search_params.extend(d.params.iter().map(|p| SearchParamOffer {
                name: p.name,
                type_: p.kind.as_str(),
                definition: Some(p.definition.to_owned()),
                documentation: None,
            }));
            let operations = if d.type_name == "Patient" {
                vec![crate::everything::offer()]
            } else {
                Vec::new()
            };
            ResourceOffer {
                type_name: d.type_name,
                interactions: INTERACTIONS,
                search_params,
                operations,
            }
        })
        .collect()
}
