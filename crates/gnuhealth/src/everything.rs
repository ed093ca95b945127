//! `Patient/[id]/$everything`: which types make up a patient's record (every served type
//! in the Patient compartment, so new types join by being registered), the care date each
//! is filtered by, the walk over those types that fills one page (a keyset search per
//! type, continuing where the previous page stopped), and the resources outside the
//! compartment that a page refers to.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use crate::access::Policy;
use crate::db::Database;
use crate::include::{MAX_ITERATE, visible};
use crate::resources::{Context, Kind, ResourceDef};
use crate::search::{PagePos, SearchError, SearchRequest, find_param, search};

/// The operation as the CapabilityStatement declares it on Patient.
pub fn offer() -> fhir::capability::OperationOffer {
    fhir::capability::OperationOffer {
        name: "everything",
        definition: "http://hl7.org/fhir/OperationDefinition/Patient-everything",
        documentation: Some(
            "`GET` or `POST /Patient/[id]/$everything` (POST: no body or a Parameters \
             resource), with `start`, `end`, `_since`, `_type` and `_count`. A searchset: the \
             Patient, every resource of each served type of the Patient compartment (one type \
             after another, paged with `next` links), then (search.mode `include`) the \
             practitioners, organizations, medications and locations they refer to. `start`/`end` \
             filter on each type's care date (`date`, else `authoredon`, `authored`, `effective`, \
             `onset-date`, `recorded-date`); resources without one are kept. `total` counts the \
             matches. Types the user may not read are left out and named in an \
             OperationOutcome entry (search.mode `outcome`); referred resources may appear \
             again on later pages. Not offered at the type level.",
        ),
    }
}

/// The parameter that puts `def`'s resources in a patient's compartment (R4's Patient
/// CompartmentDefinition: `patient`, else `subject`; the Patient itself by `_id`).
pub fn compartment_param(def: &ResourceDef) -> Option<&'static str> {
    if def.type_name == "Patient" {
        return Some("_id");
    }
    ["patient", "subject"]
        .into_iter()
        .find(|name| find_param(def, name).is_some_and(|p| p.targets.contains(&"Patient")))
}

/// The served types of the Patient compartment: the Patient first, then the registry's
/// order (the order of `$everything`'s pages).
pub fn compartment_types() -> Vec<&'static ResourceDef> {
    let mut types: Vec<&'static ResourceDef> = crate::registry::all()
        .iter()
        .copied()
        .filter(|d| compartment_param(d).is_some())
        .collect();
    types.sort_by_key(|d| d.type_name != "Patient");
    types
}

/// The date search parameters that say when care happened, most specific first (R4 has no
/// single name for it: `date` for most types, `authoredon` for a MedicationRequest, …).
/// A Patient's birth date is no care date.
const CARE_DATES: &[&str] = &[
    "date",
    "authoredon",
    "authored",
    "effective",
    "onset-date",
    "recorded-date",
    "period",
];

/// The parameter `start` and `end` filter `def` by, if it has a care date.
pub fn care_date(def: &ResourceDef) -> Option<&'static str> {
    CARE_DATES
        .iter()
        .find_map(|name| find_param(def, name).filter(|p| p.kind == Kind::Date))
        .map(|p| p.name)
}

/// The operation's filters, as given (`start`/`end`: dates, `_since`: an instant).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub start: Option<String>,
    pub end: Option<String>,
    pub since: Option<String>,
}

/// One type of the record and the search that finds the patient's resources of it.
#[derive(Clone)]
pub struct Part {
    pub def: &'static ResourceDef,
    pub params: Vec<(String, String)>,
    pub either: Vec<Vec<(String, String)>>,
    /// The parameters the search reads (the user must be allowed to read their fields).
    pub reads: Vec<&'static str>,
}

impl Part {
    /// The search for `patient`'s resources of `def`, or `None` when `def` is not in the
    /// compartment. Resources without a care date stay in whatever `start` and `end` say.
    pub fn new(def: &'static ResourceDef, patient: &str, filter: &Filter) -> Option<Part> {
        let param = compartment_param(def)?;
        let mut params = vec![(param.to_owned(), patient.to_owned())];
        let mut reads = vec![param];
        if let Some(since) = &filter.since {
            params.push(("_lastUpdated".to_owned(), format!("ge{since}")));
        }
        let mut either = Vec::new();
        if let (Some(date), true) = (
            care_date(def),
            filter.start.is_some() || filter.end.is_some(),
        ) {
            let mut range = Vec::new();
            if let Some(start) = &filter.start {
                range.push((date.to_owned(), format!("ge{start}")));
            }
            if let Some(end) = &filter.end {
                range.push((date.to_owned(), format!("le{end}")));
            }
            either = vec![range, vec![(format!("{date}:missing"), "true".to_owned())]];
            reads.push(date);
        }
        Some(Part {
            def,
            params,
            either,
            reads,
        })
    }

    fn request(&self, policy: &Arc<Policy>, count: u32, pos: PagePos) -> SearchRequest {
        let mut req = SearchRequest::new(self.params.clone(), count);
        req.either = self.either.clone();
        req.pos = pos;
        req.count_total = false;
        req.policy = Some(policy.clone());
        req
    }
}

/// One page of the record: the matches of each type in order, and where the next page
/// starts (the index of a part and the position within it).
pub struct Page {
    pub matches: Vec<(&'static ResourceDef, Vec<String>)>,
    pub next: Option<(usize, PagePos)>,
}

/// Fill a page of `count` resources from `parts`, starting at part `from.0` at position
/// `from.1`: one keyset search per part reached, so a page costs at most one query per
/// type whatever its size. A page that ends exactly where a type does has a next page,
/// which may turn out empty (finding out would cost a query per remaining type).
pub async fn page(
    db: &Database,
    ctx: &Context,
    policy: &Arc<Policy>,
    parts: &[Part],
    from: (usize, PagePos),
    count: u32,
) -> Result<Page, SearchError> {
    if count == 0 {
        // `_count=0` / `_summary=count`: the total alone, and no page after it.
        return Ok(Page {
            matches: Vec::new(),
            next: None,
        });
    }
    let (mut index, mut pos) = from;
    let mut remaining = count;
    let mut matches = Vec::new();
    let mut next = None;
    while let Some(part) = parts.get(index) {
        if remaining == 0 {
            next = Some((index, pos));
            break;
        }
        let found = search(db, part.def, ctx, &part.request(policy, remaining, pos)).await?;
        remaining = remaining.saturating_sub(found.ids.len() as u32);
        let has_next = found.has_next && !found.last.is_empty();
        if !found.ids.is_empty() {
            matches.push((part.def, found.ids));
        }
        if has_next {
            next = Some((index, PagePos::After(found.last)));
            break;
        }
        index += 1;
        pos = PagePos::First;
    }
    Ok(Page { matches, next })
}

/// How many resources all `parts` hold: one COUNT per part.
pub async fn total(
    db: &Database,
    ctx: &Context,
    policy: &Arc<Policy>,
    parts: &[Part],
) -> Result<u64, SearchError> {
    let mut total = 0;
    for part in parts {
        let mut req = part.request(policy, 0, PagePos::First);
        req.count_total = true;
        total += search(db, part.def, ctx, &req).await?.total.unwrap_or(0);
    }
    Ok(total)
}

/// The served types outside the Patient compartment (practitioners, organizations,
/// medications, locations, …): what a record refers to but does not hold.
fn outside(type_name: &str) -> Option<&'static ResourceDef> {
    crate::registry::find(type_name).filter(|d| compartment_param(d).is_none())
}

/// Every relative reference `Type/id` in a resource to a type outside the compartment.
fn references(value: &Value, out: &mut Vec<(&'static ResourceDef, String)>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("reference")
                && let Some((t, id)) = r.split_once('/')
                && let Some(def) = outside(t)
                && fhir::is_valid_id(id)
            {
                out.push((def, id.to_owned()));
            }
            map.values().for_each(|v| references(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

/// The resources outside the compartment that `resources` refer to, and those these refer
/// to in turn (up to [`MAX_ITERATE`] levels: a bed's ward, its unit, its building), each
/// once, only those the user may see; with the types referred to that the user may not
/// read at all. `prepare` is applied to every resource before its references are followed
/// (access-rights redaction: a hidden element refers to nothing). Per level and type one
/// search (access rights, record rules) and one batched load.
pub async fn referenced(
    db: &Database,
    ctx: &Context,
    policy: &Arc<Policy>,
    resources: &[(&'static ResourceDef, Value)],
    prepare: &(dyn Fn(&ResourceDef, &mut Value) + Sync),
) -> Result<Referenced, SearchError> {
    let mut seen: HashSet<(&'static str, String)> = HashSet::new();
    let mut refs = Vec::new();
    for (_, r) in resources {
        references(r, &mut refs);
    }
    let mut out: Vec<(&'static ResourceDef, Value)> = Vec::new();
    let mut refused = Vec::new();
    for _ in 0..=MAX_ITERATE {
        let mut wanted: BTreeMap<&'static str, (&'static ResourceDef, Vec<String>)> =
            BTreeMap::new();
        for (def, id) in refs.drain(..) {
            if seen.insert((def.type_name, id.clone())) {
                wanted
                    .entry(def.type_name)
                    .or_insert((def, Vec::new()))
                    .1
                    .push(id);
            }
        }
        if wanted.is_empty() {
            break;
        }
        let first_new = out.len();
        for (def, ids) in wanted.into_values() {
            if policy.check_type(def).is_err() {
                if !refused.contains(&def.type_name) {
                    refused.push(def.type_name);
                }
                continue;
            }
            let limit = u32::try_from(ids.len()).unwrap_or(u32::MAX);
            let ids = visible(db, ctx, policy, def, ids, limit).await?;
            if ids.is_empty() {
                continue;
            }
            let mut loaded: std::collections::HashMap<String, Value> = (def.load)(db, ctx, &ids)
                .await?
                .into_iter()
                .filter_map(|r| Some((r.get("id")?.as_str()?.to_owned(), r)))
                .collect();
            for id in &ids {
                if let Some(mut r) = loaded.remove(id) {
                    prepare(def, &mut r);
                    out.push((def, r));
                }
            }
        }
        for (_, r) in &out[first_new..] {
            references(r, &mut refs);
        }
    }
    Ok(Referenced {
        resources: out,
        refused,
    })
}

/// What a page refers to outside the compartment.
pub struct Referenced {
    pub resources: Vec<(&'static ResourceDef, Value)>,
    /// Types referred to that the user may not read (left out).
    pub refused: Vec<&'static str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compartment_starts_with_the_patient_and_holds_no_shared_resources() {
        let types: Vec<&str> = compartment_types().iter().map(|d| d.type_name).collect();
        assert_eq!(types.first(), Some(&"Patient"));
        for t in [
            "Condition",
            "Observation",
            "Immunization",
            "MedicationRequest",
        ] {
            assert!(types.contains(&t), "{t}");
        }
        for t in ["Practitioner", "Organization", "Medication", "Location"] {
            assert!(!types.contains(&t), "{t}");
            assert!(outside(t).is_some(), "{t}");
        }
        assert!(outside("Patient").is_none());
    }

    #[test]
    fn care_dates_are_clinical_dates_not_birth_dates() {
        let find = |t| crate::registry::find(t).map(care_date);
        assert_eq!(find("Patient"), Some(None));
        assert_eq!(find("Observation"), Some(Some("date")));
        assert_eq!(find("MedicationRequest"), Some(Some("authoredon")));
        assert_eq!(find("Condition"), Some(Some("onset-date")));
    }

    #[test]
    fn references_outside_the_compartment_are_collected() {
        let r = serde_json::json!({
            "subject": {"reference": "Patient/1"},
            "performer": [{"actor": {"reference": "Practitioner/7"}}],
            "location": {"reference": "Location/bed-3"},
            "contained": [{"reference": "#m"}],
            "other": {"reference": "Nothing/1"},
        });
        let mut out = Vec::new();
        references(&r, &mut out);
        let mut got: Vec<String> = out
            .iter()
            .map(|(d, id)| format!("{}/{id}", d.type_name))
            .collect();
        got.sort();
        assert_eq!(got, ["Location/bed-3", "Practitioner/7"]);
    }
}
