//! `GET|POST /Patient/[id]/$everything` (R4 `Patient-everything`): the patient, every
//! resource of their compartment the user may read, and the practitioners, organizations,
//! medications and locations those refer to, as a paged searchset. The parameters, access
//! rights and paging links live here; which types, the per-type searches and the
//! referenced resources are `gnuhealth::everything`'s.

use axum::body::Bytes;
use axum::http::{Extensions, HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use fhir::bundle::{Bundle, BundleEntry, BundleLink, EntrySearch, SearchMode};
use fhir::outcome::{Issue, OperationOutcome, Severity};
use fhir::subset::Summary;
use gnuhealth::everything::{Filter, Part, compartment_types};
use gnuhealth::resources::ResourceDef;
use gnuhealth::search::{PagePos, SearchRequest};
use serde_json::Value;

use crate::app::{
    AppState, audit, context, fhir_response, lenient, open_search, outcome_entry, query_pairs,
    redact, render, require_read,
};
use crate::cursor;
use crate::error::ApiError;

/// The name the paging cursors of the operation are bound to (with its parameters).
const OPERATION: &str = "Patient/$everything";

/// `/Patient/[id]/$everything`: GET (or HEAD), or POST with no body or a `Parameters`
/// resource (R4 allows both for an operation that changes nothing).
pub async fn everything(
    state: &AppState,
    method: Method,
    headers: &HeaderMap,
    ext: &Extensions,
    uri: &Uri,
    id: String,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut query = query_pairs(uri);
    match method {
        Method::GET | Method::HEAD => {}
        Method::POST => query.extend(parameters(headers, &body)?),
        _ => return Err(ApiError::MethodNotAllowed(method.to_string())),
    }
    let (out, principal) = open_search(state, headers, ext, "operation", "Patient", &query).await?;
    let patient_def = gnuhealth::registry::find("Patient").ok_or(ApiError::Internal)?;
    let policy = require_read(state, &principal, patient_def).await?;

    let mut filter = Filter::default();
    let mut count = state.default_count;
    let mut cursor_text = None;
    let mut types: Option<Vec<&'static ResourceDef>> = None;
    let mut ignored = Vec::new();
    // What shapes the answer: kept in the links and bound to the cursor.
    let mut bound = vec![("id".to_owned(), id.clone())];
    for (k, v) in query {
        match k.as_str() {
            "start" | "end" | "_since" => {
                let slot = match k.as_str() {
                    "start" => &mut filter.start,
                    "end" => &mut filter.end,
                    _ => &mut filter.since,
                };
                if slot.is_some() {
                    return Err(ApiError::BadRequest(format!("{k} is given more than once")));
                }
                fhir::search::parse_date(&v)
                    .map_err(|e| ApiError::BadRequest(format!("{k}: '{v}' is not a date: {e}")))?;
                *slot = Some(v.clone());
                bound.push((k, v));
            }
            "_type" => {
                let list = types.get_or_insert_with(Vec::new);
                for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    let def = compartment_types()
                        .into_iter()
                        .find(|d| d.type_name == name)
                        .ok_or_else(|| {
                            ApiError::BadRequest(format!(
                                "_type: '{name}' is not a resource type of the Patient compartment served here"
                            ))
                        })?;
                    list.push(def);
                }
                bound.push((k, v));
            }
            "_count" => {
                count = fhir::search::parse_count(&v, state.max_count)
                    .map_err(|e| ApiError::BadRequest(format!("_count: {e}")))?;
            }
            "_cursor" => cursor_text = Some(v),
            "_format" | "_pretty" => {}
            "_summary" | "_elements" => bound.push((k, v)),
            _ if lenient(headers) => ignored.push(k),
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "unknown parameter '{k}' for $everything (it takes start, end, _since, \
                     _type and _count; send Prefer: handling=lenient to ignore others)"
                )));
            }
        }
    }
    if let Some(t) = &types
        && t.is_empty()
    {
        return Err(ApiError::BadRequest("_type names no resource type".into()));
    }
    if out.subset.summary == Summary::Count {
        count = 0;
    }

    // The patient must exist for the user: unknown or outside their record rules is 404.
    let missing = || ApiError::NotFound(format!("Patient/{id} is not known"));
    if !fhir::is_valid_id(&id) || id.parse::<i64>().is_err() {
        return Err(missing());
    }
    let ctx = context(state);
    let mut check = SearchRequest::new(vec![("_id".to_owned(), id.clone())], 1);
    check.count_total = false;
    check.policy = Some(policy.clone());
    if gnuhealth::search::search(&state.db, patient_def, &ctx, &check)
        .await?
        .ids
        .is_empty()
    {
        return Err(missing());
    }

    // The types asked for (all by default) the user may read, in the compartment's order;
    // the others are left out and said so (R4: the server returns what the user may see).
    let mut parts = Vec::new();
    let mut left_out = Vec::new();
    for def in compartment_types() {
        if types
            .as_ref()
            .is_some_and(|t| !t.iter().any(|d| d.type_name == def.type_name))
        {
            continue;
        }
        if let Err(refusal) = policy.check_type(def) {
            left_out.push(format!("{} (the user {refusal})", def.type_name));
            continue;
        }
        let Some(part) = Part::new(def, &id, &filter) else {
            continue;
        };
        let denied = policy.denied_params(def);
        if let Some(p) = part.reads.iter().find(|p| denied.contains(p)) {
            left_out.push(format!(
                "{} (finding them reads '{p}', a field the user may not read)",
                def.type_name
            ));
            continue;
        }
        parts.push(part);
    }

    let digest = cursor::query_digest(OPERATION, &bound, count);
    let (from, known_total) = match &cursor_text {
        None => ((0, PagePos::First), None),
        Some(c) => {
            let invalid = || {
                ApiError::BadRequest(
                    "the paging cursor is invalid or belongs to another request".into(),
                )
            };
            let (pos, total) = cursor::decode(&state.secret, &digest, c).ok_or_else(invalid)?;
            (position(&parts, pos).ok_or_else(invalid)?, total)
        }
    };
    let total = match known_total {
        Some(t) => t,
        None => gnuhealth::everything::total(&state.db, &ctx, &policy, &parts).await?,
    };
    let page =
        gnuhealth::everything::page(&state.db, &ctx, &policy, &parts, from.clone(), count).await?;

    let mut matches: Vec<(&'static ResourceDef, Value)> = Vec::new();
    for (def, ids) in &page.matches {
        let mut by_id: std::collections::HashMap<String, Value> = (def.load)(&state.db, &ctx, ids)
            .await?
            .into_iter()
            .filter_map(|r| Some((r.get("id")?.as_str()?.to_owned(), r)))
            .collect();
        for id in ids {
            if let Some(mut r) = by_id.remove(id) {
                redact(&policy, def, &mut r);
                matches.push((def, r));
            }
        }
    }
    let prepare = |def: &ResourceDef, r: &mut Value| redact(&policy, def, r);
    let included =
        gnuhealth::everything::referenced(&state.db, &ctx, &policy, &matches, &prepare).await?;

    let mut bundle = Bundle::searchset();
    bundle.total = Some(total);
    let link = |pos: Option<(usize, &PagePos)>| {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in bound.iter().skip(1) {
            ser.append_pair(k, v);
        }
        ser.append_pair("_count", &count.to_string());
        if let Some(p) = pos.and_then(|(i, p)| cursor_pos(&parts, i, p)) {
            ser.append_pair(
                "_cursor",
                &cursor::encode(&state.secret, &digest, &p, Some(total)),
            );
        }
        format!(
            "{}/Patient/{id}/$everything?{}",
            state.base_url,
            ser.finish()
        )
    };
    let self_pos = (cursor_text.is_some()).then_some((from.0, &from.1));
    bundle.link.push(BundleLink {
        relation: "self",
        url: link(self_pos),
    });
    bundle.link.push(BundleLink {
        relation: "first",
        url: link(None),
    });
    if let Some((i, p)) = &page.next {
        bundle.link.push(BundleLink {
            relation: "next",
            url: link(Some((*i, p))),
        });
    }
    let mut entry = |def: &ResourceDef, resource: Value, mode: SearchMode| {
        let rid = resource.get("id").and_then(Value::as_str).unwrap_or("");
        let full_url = format!("{}/{}/{rid}", state.base_url, def.type_name);
        audit(ext, |e| e.ids.push(format!("{}/{rid}", def.type_name)));
        bundle.entry.push(BundleEntry {
            full_url: Some(full_url),
            resource,
            search: Some(EntrySearch { mode }),
        });
    };
    for (def, r) in matches {
        entry(def, r, SearchMode::Match);
    }
    for (def, r) in included.resources {
        entry(def, r, SearchMode::Include);
    }
    for t in included.refused {
        left_out.push(format!("{t} referred to (the user may not read {t})"));
    }
    let mut issues = Vec::new();
    if !left_out.is_empty() {
        issues.push(Issue {
            severity: Severity::Warning,
            code: "suppressed",
            diagnostics: Some(format!(
                "left out, not readable by user '{}': {}",
                principal.login,
                left_out.join("; ")
            )),
            expression: Vec::new(),
        });
    }
    if !ignored.is_empty() {
        issues.push(Issue {
            severity: Severity::Warning,
            code: "not-supported",
            diagnostics: Some(format!(
                "ignored unknown parameters of $everything: {}",
                ignored.join(", ")
            )),
            expression: Vec::new(),
        });
    }
    if !issues.is_empty() {
        let outcome = OperationOutcome {
            resource_type: "OperationOutcome",
            issue: issues,
        };
        bundle.entry.push(outcome_entry(&outcome)?);
    }
    Ok(fhir_response(StatusCode::OK, render(&bundle, &out)?))
}

/// A position of the walk as a cursor position: the type's name first (a type, not an
/// index, so a cursor survives types being added), then its own position (none: the
/// type's first row).
fn cursor_pos(parts: &[Part], index: usize, pos: &PagePos) -> Option<PagePos> {
    let mut values = vec![Some(parts.get(index)?.def.type_name.to_owned())];
    match pos {
        PagePos::First => {}
        PagePos::After(v) => values.extend(v.iter().cloned()),
        // The walk only goes forwards.
        PagePos::Before(_) => return None,
    }
    Some(PagePos::After(values))
}

/// The walk's position a cursor stands for.
fn position(parts: &[Part], pos: PagePos) -> Option<(usize, PagePos)> {
    let PagePos::After(values) = pos else {
        return None;
    };
    let (head, rest) = values.split_first()?;
    let name = head.as_deref()?;
    let index = parts.iter().position(|p| p.def.type_name == name)?;
    let pos = if rest.is_empty() {
        PagePos::First
    } else {
        PagePos::After(rest.to_vec())
    };
    Some((index, pos))
}

/// The parameters of a POST: none (empty body) or a `Parameters` resource in JSON or XML,
/// each `parameter` as name and the text of its `value[x]`.
fn parameters(headers: &HeaderMap, body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let value: Value = match media.as_str() {
        "application/fhir+json" | "application/json" => serde_json::from_slice(body)
            .map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {e}")))?,
        "application/fhir+xml" | "application/xml" => {
            let text = std::str::from_utf8(body)
                .map_err(|_| ApiError::BadRequest("the body is not UTF-8".into()))?;
            fhir::xml::from_xml(text)
                .map_err(|e| ApiError::BadRequest(format!("the body is not FHIR XML: {e}")))?
        }
        _ => {
            return Err(ApiError::UnsupportedMediaType(
                "POST $everything takes no body or a Parameters resource \
                 (application/fhir+json or application/fhir+xml)"
                    .into(),
            ));
        }
    };
    if value["resourceType"] != "Parameters" {
        return Err(ApiError::BadRequest(
            "the body of POST $everything must be a Parameters resource".into(),
        ));
    }
    let mut out = Vec::new();
    for p in value["parameter"].as_array().into_iter().flatten() {
        let name = p["name"]
            .as_str()
            .ok_or_else(|| ApiError::BadRequest("Parameters.parameter without a name".into()))?;
        let text = p.as_object().and_then(|o| {
            o.iter()
                .filter(|(k, _)| k.starts_with("value"))
                .find_map(|(_, v)| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
        });
        let text = text.ok_or_else(|| {
            ApiError::BadRequest(format!(
                "parameter '{name}' needs a value (valueDate, valueInstant, valueCode, valueInteger…)"
            ))
        })?;
        out.push((name.to_owned(), text));
    }
    Ok(out)
}
