//! `CapabilityStatement`, generated from a description of what the server implements
//! (the resource registry), so it lists exactly the interactions and parameters served.

use serde::Serialize;
use serde_with::skip_serializing_none;

use crate::datatypes::CodeableConcept;

/// What the server offers for one resource type.
pub struct ResourceOffer {
    pub type_name: &'static str,
    pub interactions: &'static [&'static str],
    pub search_params: Vec<SearchParamOffer>,
    pub operations: Vec<OperationOffer>,
}

/// An operation offered on a resource type (`$name`).
pub struct OperationOffer {
    pub name: &'static str,
    /// Canonical URL of the OperationDefinition it implements.
    pub definition: &'static str,
    /// Markdown: how this server implements it.
    pub documentation: Option<&'static str>,
}

/// One search parameter of a resource type.
pub struct SearchParamOffer {
    pub name: &'static str,
    /// The R4 search parameter type: `string`, `token`, `date`, `reference`, …
    pub type_: &'static str,
    /// Canonical URL of the R4 SearchParameter it implements.
    pub definition: Option<String>,
    pub documentation: Option<&'static str>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CapabilityStatement {
    pub resource_type: &'static str,
    pub status: &'static str,
    pub date: String,
    pub publisher: Option<String>,
    pub kind: &'static str,
    pub software: Software,
    pub implementation: Implementation,
    pub fhir_version: &'static str,
    pub format: Vec<&'static str>,
    pub rest: Vec<Rest>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Serialize)]
pub struct Software {
    pub name: String,
    pub version: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Serialize)]
pub struct Implementation {
    pub description: String,
    pub url: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Serialize)]
pub struct Rest {
    pub mode: &'static str,
    /// Markdown: what is true of the whole server (the code systems it emits).
    pub documentation: Option<String>,
    pub security: Option<Security>,
    pub resource: Vec<RestResource>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub interaction: Vec<Interaction>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compartment: Vec<&'static str>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Serialize)]
pub struct Security {
    pub cors: Option<bool>,
    pub service: Vec<CodeableConcept>,
    pub description: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestResource {
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub profile: Option<String>,
    pub interaction: Vec<Interaction>,
    pub versioning: &'static str,
    pub read_history: bool,
    pub update_create: bool,
    pub conditional_create: bool,
    pub conditional_read: &'static str,
    pub conditional_update: bool,
    pub conditional_delete: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub search_param: Vec<SearchParam>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub operation: Vec<Operation>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Serialize)]
pub struct Operation {
    pub name: &'static str,
    pub definition: &'static str,
    pub documentation: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Interaction {
    pub code: &'static str,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Serialize)]
pub struct SearchParam {
    pub name: &'static str,
    pub definition: Option<String>,
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub documentation: Option<&'static str>,
}

/// Parameters every resource type supports, whatever its mapping.
pub const COMMON_SEARCH_PARAMS: &[(&str, &str, &str)] = &[
    (
        "_id",
        "token",
        "http://hl7.org/fhir/SearchParameter/Resource-id",
    ),
    (
        "_lastUpdated",
        "date",
        "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated",
    ),
];

/// R4's Patient compartment, which `GET /Patient/[id]/[type]` and `$everything` follow.
pub const PATIENT_COMPARTMENT: &str = "http://hl7.org/fhir/CompartmentDefinition/patient";

impl CapabilityStatement {
    /// The statement for a server offering `resources`.
    pub fn new(
        server_name: &str,
        version: &str,
        base_url: &str,
        date: String,
        resources: &[ResourceOffer],
    ) -> Self {
        let resource = resources
            .iter()
            .map(|r| RestResource {
                type_: r.type_name,
                profile: Some(format!(
                    "http://hl7.org/fhir/StructureDefinition/{}",
                    r.type_name
                )),
                interaction: r
                    .interactions
                    .iter()
                    .map(|code| Interaction { code })
                    .collect(),
                versioning: "no-version",
                read_history: false,
                update_create: false,
                conditional_create: false,
                conditional_read: "not-supported",
                conditional_update: false,
                conditional_delete: "not-supported",
                search_param: r
                    .search_params
                    .iter()
                    .map(|p| SearchParam {
                        name: p.name,
                        definition: p.definition.clone(),
                        type_: p.type_,
                        documentation: p.documentation,
                    })
                    .collect(),
                operation: r
                    .operations
                    .iter()
                    .map(|o| Operation {
                        name: o.name,
                        definition: o.definition,
                        documentation: o.documentation,
                    })
                    .collect(),
            })
            .collect();
        CapabilityStatement {
            resource_type: "CapabilityStatement",
            status: "active",
            date,
            publisher: Some(server_name.to_owned()),
            kind: "instance",
            software: Software {
                name: "gnuhealth-fhir".to_owned(),
                version: Some(version.to_owned()),
            },
            implementation: Implementation {
                description: format!("{server_name}: FHIR R4 server for GNU Health"),
                url: Some(base_url.to_owned()),
            },
            fhir_version: crate::FHIR_VERSION,
            format: vec!["json", "xml", crate::JSON_MIME, crate::XML_MIME],
            rest: vec![Rest {
                mode: "server",
                documentation: None,
                security: Some(Security {
                    cors: Some(false),
                    service: vec![CodeableConcept::coded(
                        "http://terminology.hl7.org/CodeSystem/restful-security-service",
                        "Basic",
                        Some("Basic".to_owned()),
                    )],
                    description: Some(
                        "HTTP Basic authentication with GNU Health (Tryton) user credentials, \
                         or a bearer token from POST /auth/token (login, password)"
                            .to_owned(),
                    ),
                }),
                resource,
                interaction: Vec::new(),
                compartment: resources
                    .iter()
                    .any(|r| r.type_name == "Patient")
                    .then_some(PATIENT_COMPARTMENT)
                    .into_iter()
                    .collect(),
            }],
        }
    }
}
