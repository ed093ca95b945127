//! `Bundle` of type `searchset`: the answer to every search.

use serde::Serialize;
use serde_with::skip_serializing_none;

use crate::datatypes::Meta;

#[skip_serializing_none]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    pub resource_type: &'static str,
    pub id: Option<String>,
    pub meta: Option<Meta>,
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub total: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub link: Vec<BundleLink>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entry: Vec<BundleEntry>,
}

impl Bundle {
    /// An empty searchset.
    pub fn searchset() -> Self {
        Bundle {
            resource_type: "Bundle",
            id: None,
            meta: None,
            type_: "searchset",
            total: None,
            link: Vec::new(),
            entry: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BundleLink {
    pub relation: &'static str,
    pub url: String,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleEntry {
    pub full_url: Option<String>,
    pub resource: serde_json::Value,
    pub search: Option<EntrySearch>,
}

/// Why an entry is in a searchset.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    Match,
    Include,
    Outcome,
}

#[derive(Debug, Clone, Serialize)]
pub struct EntrySearch {
    pub mode: SearchMode,
}
