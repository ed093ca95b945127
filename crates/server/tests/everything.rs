//! `Patient/[id]/$everything` on the demo database: the whole compartment once over all
//! pages (compared with the server's compartment searches and with SQL), the referred
//! practitioners, organizations, medications and locations, `_type`, `_since`,
//! `start`/`end`, paging, POST, errors, and what the front desk, a nurse and users with
//! fewer rights get.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{all_ids, get, get_as, link, server, sql_ids, sql_text, sql_texts};
use serde_json::Value;

/// A connection to the test server's database (to add users and rules, as an
/// administrator would).
fn db() -> rusqlite::Connection {
    rusqlite::Connection::open(&server().db_path).unwrap_or_else(|e| panic!("{e}"))
}

/// The patient with the most lab results (the richest record of the demo).
fn rich_patient() -> String {
    sql_text(
        "SELECT CAST(patient AS TEXT) FROM gnuhealth_lab GROUP BY patient \
         ORDER BY COUNT(*) DESC, patient LIMIT 1",
    )
}

/// Every page of an `$everything` request for `login`: the pages' bodies.
async fn pages_as(login: &str, path: &str) -> Vec<Value> {
    let (status, mut page) = get_as(login, path).await;
    assert_eq!(status, 200, "{path}: {page}");
    let mut out = Vec::new();
    while let Some(next) = link(&page, "next") {
        let (status, p) = get_as(login, &next).await;
        assert_eq!(status, 200, "{next}: {p}");
        out.push(page);
        page = p;
        assert!(out.len() < 5_000, "paging does not end");
    }
    out.push(page);
    out
}

async fn pages(path: &str) -> Vec<Value> {
    pages_as(gnuhealth::demo::DEMO_LOGIN, path).await
}

/// `Type/id` of the entries of `pages` with search mode `mode`, in order.
fn entries(pages: &[Value], mode: &str) -> Vec<String> {
    pages
        .iter()
        .flat_map(|p| p["entry"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["search"]["mode"] == mode)
        .map(|e| {
            format!(
                "{}/{}",
                e["resource"]["resourceType"].as_str().unwrap_or(""),
                e["resource"]["id"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// The served types, from the CapabilityStatement.
async fn served_types() -> Vec<String> {
    let (_, meta) = get("/metadata").await;
    meta["rest"][0]["resource"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["type"].as_str().map(str::to_owned))
        .collect()
}

/// The patient's compartment as the server's own compartment searches give it (every
/// served type that has one), as `Type/id`, with `query` added to each search.
async fn compartment(patient: &str, query: &str) -> BTreeSet<String> {
    compartment_as(gnuhealth::demo::DEMO_LOGIN, patient, query)
        .await
        .0
}

/// The patient's compartment as `login`'s compartment searches give it, and the
/// compartment types refused to them.
async fn compartment_as(
    login: &str,
    patient: &str,
    query: &str,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut found = BTreeSet::new();
    let mut refused = BTreeSet::new();
    for t in served_types().await {
        let (status, _) = get_as(login, &format!("/Patient/{patient}/{t}?_count=1")).await;
        match status {
            400 => continue, // not in the Patient compartment
            403 => {
                refused.insert(t);
                continue;
            }
            _ => {}
        }
        let path = format!("/Patient/{patient}/{t}?_count=50{query}");
        for id in common::all_ids_as(login, &path).await {
            found.insert(format!("{t}/{id}"));
        }
    }
    (found, refused)
}

/// Every relative reference in a resource.
fn references(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("reference") {
                out.insert(r.clone());
            }
            m.values().for_each(|x| references(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| references(x, out)),
        _ => {}
    }
}

const OUTSIDE: &[&str] = &[
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Medication",
    "Location",
];

#[tokio::test]
async fn every_compartment_resource_once_over_all_pages_with_what_they_refer_to() {
    let patient = rich_patient();
    let pages = pages(&format!("/Patient/{patient}/$everything?_count=7")).await;
    assert!(pages.len() > 3, "{}", pages.len());
    let matches = entries(&pages, "match");
    let unique: BTreeSet<String> = matches.iter().cloned().collect();
    assert_eq!(unique.len(), matches.len(), "a resource twice: {matches:?}");
    assert_eq!(matches.first(), Some(&format!("Patient/{patient}")));
    let expected = compartment(&patient, "").await;
    assert_eq!(unique, expected);
    // Every served compartment type with rows in the demo is in there.
    let types: BTreeSet<&str> = unique.iter().filter_map(|m| m.split('/').next()).collect();
    for t in [
        "Condition",
        "Observation",
        "DiagnosticReport",
        "Immunization",
    ] {
        assert!(types.contains(t), "{t}: {types:?}");
    }
    // Independently of the server's searches: the patient's lab results and
    // vaccinations, from GNU Health's tables.
    let of_type = |t: &str| -> Vec<String> {
        common::sorted(
            matches
                .iter()
                .filter_map(|m| m.strip_prefix(&format!("{t}/")).map(str::to_owned))
                .collect(),
        )
    };
    assert_eq!(
        of_type("Immunization"),
        sql_ids(&format!(
            "SELECT id FROM gnuhealth_vaccination WHERE patient = {patient}"
        ))
    );
    assert_eq!(
        of_type("DiagnosticReport"),
        sql_ids(&format!(
            "SELECT id FROM gnuhealth_lab WHERE patient = {patient}"
        ))
    );
    // The total counts the matches; every page says the same.
    for p in &pages {
        assert_eq!(p["total"].as_u64(), Some(matches.len() as u64));
        assert_eq!(p["type"], "searchset");
        for e in p["entry"].as_array().into_iter().flatten() {
            let mode = e["search"]["mode"].as_str().unwrap_or("");
            assert!(mode == "match" || mode == "include", "{e}");
            let r = &e["resource"];
            assert_eq!(
                e["fullUrl"].as_str().unwrap_or(""),
                format!(
                    "{}/{}/{}",
                    server().base,
                    r["resourceType"].as_str().unwrap_or(""),
                    r["id"].as_str().unwrap_or("")
                )
            );
        }
        // Each page holds what its matches refer to outside the compartment, each once,
        // and nothing else.
        let mut referred = BTreeSet::new();
        for e in p["entry"].as_array().into_iter().flatten() {
            references(&e["resource"], &mut referred);
        }
        let included = entries(std::slice::from_ref(p), "include");
        let included_set: BTreeSet<String> = included.iter().cloned().collect();
        assert_eq!(included_set.len(), included.len(), "{included:?}");
        let wanted: BTreeSet<String> = referred
            .into_iter()
            .filter(|r| OUTSIDE.iter().any(|t| r.starts_with(&format!("{t}/"))))
            .collect();
        assert_eq!(included_set, wanted);
    }
    let included = entries(&pages, "include");
    for t in ["Practitioner", "Organization", "Medication"] {
        assert!(
            included.iter().any(|i| i.starts_with(&format!("{t}/"))),
            "no {t} in {included:?}"
        );
    }
    // One page holding everything says the same.
    let (status, one) = get(&format!("/Patient/{patient}/$everything?_count=1000")).await;
    assert_eq!(status, 200);
    assert!(link(&one, "next").is_none());
    let all: BTreeSet<String> = entries(std::slice::from_ref(&one), "match")
        .into_iter()
        .collect();
    assert_eq!(all, expected);
    // Locations are reached too (a patient's lab results or prescriptions name none, but
    // some record in the demo does).
    let mut any_location = false;
    for p in sql_ids("SELECT id FROM gnuhealth_patient ORDER BY id LIMIT 15") {
        let (_, b) = get(&format!("/Patient/{p}/$everything?_count=1000")).await;
        any_location |= entries(std::slice::from_ref(&b), "include")
            .iter()
            .any(|i| i.starts_with("Location/"));
    }
    assert!(any_location);
}

#[tokio::test]
async fn type_since_and_care_dates_narrow_the_record() {
    let patient = rich_patient();
    let base = format!("/Patient/{patient}/$everything?_count=9");
    // _type: only those types, the patient too only when named.
    let only = entries(
        &pages(&format!("{base}&_type=Condition,Immunization")).await,
        "match",
    );
    let expected: BTreeSet<String> = compartment(&patient, "")
        .await
        .into_iter()
        .filter(|m| m.starts_with("Condition/") || m.starts_with("Immunization/"))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(only.iter().cloned().collect::<BTreeSet<_>>(), expected);
    let with_patient = entries(
        &pages(&format!("{base}&_type=Patient&_type=Immunization")).await,
        "match",
    );
    assert_eq!(with_patient.first(), Some(&format!("Patient/{patient}")));
    assert!(
        with_patient
            .iter()
            .skip(1)
            .all(|m| m.starts_with("Immunization/"))
    );

    // _since: what was updated at or after a moment, Patient included.
    let (_, everything) = get(&format!("/Patient/{patient}/$everything?_count=1000")).await;
    let mut stamps: Vec<(String, String)> = everything["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == "match")
        .filter_map(|e| {
            Some((
                e["resource"]["meta"]["lastUpdated"].as_str()?.to_owned(),
                format!(
                    "{}/{}",
                    e["resource"]["resourceType"].as_str()?,
                    e["resource"]["id"].as_str()?
                ),
            ))
        })
        .collect();
    stamps.sort();
    let cut = stamps[stamps.len() / 2].0.clone();
    let since: BTreeSet<String> = stamps
        .iter()
        .filter(|(s, _)| chrono_ge(s, &cut))
        .map(|(_, m)| m.clone())
        .collect();
    assert!(since.len() < stamps.len() && !since.is_empty());
    let got = entries(
        &pages(&format!("{base}&_since={}", urlencode(&cut))).await,
        "match",
    );
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), since);

    // start/end: resources whose care date falls in the range, and those without one; the
    // patient always (no care date). Expected from each type's own date search.
    // A range holding some of the patient's lab results but not the first or the last.
    let range = sql_texts(&format!(
        "SELECT date(MIN(date_analysis), '+1 day') FROM gnuhealth_lab WHERE patient = {patient} \
         UNION ALL SELECT date(MAX(date_analysis), '-1 day') FROM gnuhealth_lab \
         WHERE patient = {patient}"
    ));
    let (start, end) = (range[0].as_str(), range[1].as_str());
    let got: BTreeSet<String> = entries(
        &pages(&format!("{base}&start={start}&end={end}")).await,
        "match",
    )
    .into_iter()
    .collect();
    let mut expected = BTreeSet::from([format!("Patient/{patient}")]);
    for (t, date) in [
        ("Observation", "date"),
        ("DiagnosticReport", "date"),
        ("Immunization", "date"),
        ("MedicationRequest", "authoredon"),
        ("Condition", "onset-date"),
    ] {
        for q in [
            format!("{date}=ge{start}&{date}=le{end}"),
            format!("{date}:missing=true"),
        ] {
            for id in all_ids(&format!("/Patient/{patient}/{t}?{q}&_count=100")).await {
                expected.insert(format!("{t}/{id}"));
            }
        }
    }
    let checked: BTreeSet<String> = got
        .iter()
        .filter(|m| {
            m.starts_with("Patient/")
                || [
                    "Observation/",
                    "DiagnosticReport/",
                    "Immunization/",
                    "MedicationRequest/",
                    "Condition/",
                ]
                .iter()
                .any(|p| m.starts_with(p))
        })
        .cloned()
        .collect();
    assert_eq!(checked, expected);
    let all_obs = all_ids(&format!("/Patient/{patient}/Observation?_count=100")).await;
    let in_range = expected
        .iter()
        .filter(|m| m.starts_with("Observation/"))
        .count();
    assert!(
        in_range > 0 && in_range < all_obs.len(),
        "{in_range} of {}",
        all_obs.len()
    );
    // Only a start, only an end: each bounds one side.
    let after: BTreeSet<String> = entries(&pages(&format!("{base}&start={start}")).await, "match")
        .into_iter()
        .collect();
    let before: BTreeSet<String> = entries(&pages(&format!("{base}&end={end}")).await, "match")
        .into_iter()
        .collect();
    assert!(got.is_subset(&after) && got.is_subset(&before));
}

/// `a >= b` for two FHIR instants with offsets (`Z` or `+hh:mm`).
fn chrono_ge(a: &str, b: &str) -> bool {
    let p =
        |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    p(a) >= p(b)
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn paging_is_a_signed_cursor_that_continues_across_types() {
    let patient = rich_patient();
    let pages = pages(&format!("/Patient/{patient}/$everything?_count=1")).await;
    let matches = entries(&pages, "match");
    // One match a page, every page but (possibly) the last full.
    assert_eq!(pages.len(), matches.len());
    let types: Vec<&str> = matches.iter().filter_map(|m| m.split('/').next()).collect();
    let mut seen_types = Vec::new();
    for t in &types {
        if seen_types.last() != Some(t) {
            assert!(!seen_types.contains(t), "{t} comes back: {types:?}");
            seen_types.push(t);
        }
    }
    // A cursor is bound to its request and cannot be altered.
    let next = link(&pages[0], "next").unwrap_or_default();
    let (status, body) = get(&next.replace("_count=1", "_count=2")).await;
    assert_eq!(status, 400, "{body}");
    let tampered = format!("{}x", next);
    assert_eq!(get(&tampered).await.0, 400);
    let other = rich_patient_other(&patient);
    let (status, _) = get(&next.replace(
        &format!("/Patient/{patient}/"),
        &format!("/Patient/{other}/"),
    ))
    .await;
    assert_eq!(status, 400);
    // _summary=count: the total alone.
    let (status, count) = get(&format!("/Patient/{patient}/$everything?_summary=count")).await;
    assert_eq!(status, 200);
    assert_eq!(count["total"].as_u64(), Some(matches.len() as u64));
    assert!(count.get("entry").is_none(), "{count}");
    assert!(link(&count, "next").is_none(), "{count}");
    let (status, zero) = get(&format!("/Patient/{patient}/$everything?_count=0")).await;
    assert_eq!(status, 200);
    assert_eq!(zero["total"].as_u64(), Some(matches.len() as u64));
    assert!(link(&zero, "next").is_none(), "{zero}");
}

fn rich_patient_other(patient: &str) -> String {
    sql_text(&format!(
        "SELECT CAST(MIN(id) AS TEXT) FROM gnuhealth_patient WHERE id != {patient}"
    ))
}

#[tokio::test]
async fn post_errors_and_the_capability_statement() {
    let patient = rich_patient();
    let url = format!("{}/Patient/{patient}/$everything", server().base);
    let post = |body: Option<(&'static str, String)>| {
        let mut req = common::client().post(url.clone()).basic_auth(
            gnuhealth::demo::DEMO_LOGIN,
            Some(gnuhealth::demo::DEMO_PASSWORD),
        );
        if let Some((ct, b)) = body {
            req = req.header("content-type", ct).body(b);
        }
        async move {
            let resp = req.send().await.unwrap_or_else(|e| panic!("{e}"));
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (_, get_all) = get(&format!("/Patient/{patient}/$everything?_count=1000")).await;
    let (status, empty) = post(None).await;
    assert_eq!(status, 200, "{empty}");
    assert_eq!(empty["total"], get_all["total"]);
    let params = serde_json::json!({
        "resourceType": "Parameters",
        "parameter": [
            {"name": "_type", "valueCode": "Immunization"},
            {"name": "_count", "valueInteger": 1000},
        ]
    });
    let (status, posted) = post(Some(("application/fhir+json", params.to_string()))).await;
    assert_eq!(status, 200, "{posted}");
    let got = entries(std::slice::from_ref(&posted), "match");
    assert_eq!(
        common::sorted(
            got.iter()
                .filter_map(|m| m.strip_prefix("Immunization/").map(str::to_owned))
                .collect()
        ),
        sql_ids(&format!(
            "SELECT id FROM gnuhealth_vaccination WHERE patient = {patient}"
        ))
    );
    assert_eq!(got.len(), posted["total"].as_u64().unwrap_or(0) as usize);
    let (status, _) = post(Some((
        "application/fhir+json",
        "{\"resourceType\":\"Patient\"}".into(),
    )))
    .await;
    assert_eq!(status, 400);
    let (status, _) = post(Some(("text/plain", "x".into()))).await;
    assert_eq!(status, 415);

    // Errors are OperationOutcomes with a 4xx saying what was wrong.
    for (path, status) in [
        ("/Patient/$everything".to_owned(), 400),
        ("/Patient/999999/$everything".to_owned(), 404),
        ("/Patient/abc/$everything".to_owned(), 404),
        (
            format!("/Patient/{patient}/$everything?_type=Practitioner"),
            400,
        ),
        (format!("/Patient/{patient}/$everything?_type=Nothing"), 400),
        (
            format!("/Patient/{patient}/$everything?start=yesterday"),
            400,
        ),
        (
            format!("/Patient/{patient}/$everything?_since=2024-13-01"),
            400,
        ),
        (
            format!("/Patient/{patient}/$everything?start=2020&start=2021"),
            400,
        ),
        (format!("/Patient/{patient}/$everything?_count=x"), 400),
        (format!("/Patient/{patient}/$everything?color=blue"), 400),
    ] {
        let (got, body) = get(&path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(body["resourceType"], "OperationOutcome", "{path}");
    }
    // Lenient handling ignores unknown parameters and says so.
    let resp = common::client()
        .get(format!("{url}?color=blue&_count=1"))
        .basic_auth(
            gnuhealth::demo::DEMO_LOGIN,
            Some(gnuhealth::demo::DEMO_PASSWORD),
        )
        .header("prefer", "handling=lenient")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(body.to_string().contains("color"), "{body}");
    assert_eq!(entries(std::slice::from_ref(&body), "outcome").len(), 1);

    let (_, meta) = get("/metadata").await;
    let patient_offer = meta["rest"][0]["resource"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["type"] == "Patient")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(patient_offer["operation"][0]["name"], "everything");
    assert_eq!(
        patient_offer["operation"][0]["definition"],
        "http://hl7.org/fhir/OperationDefinition/Patient-everything"
    );
}

#[tokio::test]
async fn users_get_what_they_may_read_and_the_rest_is_named() {
    let patient = rich_patient();
    let path = format!("/Patient/{patient}/$everything?_count=1000");
    // The front desk reads patients but few clinical records, the nurse vaccinations
    // too: each gets what their own compartment searches give, and the types refused to
    // them are named.
    for login in ["frontdesk", "nurse"] {
        let (expected, refused) = compartment_as(login, &patient, "").await;
        assert!(refused.contains("Condition"), "{login}: {refused:?}");
        let got = pages_as(login, &path).await;
        let matches = entries(&got, "match");
        assert_eq!(matches.iter().cloned().collect::<BTreeSet<_>>(), expected);
        assert_eq!(matches.first(), Some(&format!("Patient/{patient}")));
        assert_eq!(got[0]["total"].as_u64(), Some(matches.len() as u64));
        assert_eq!(entries(&got, "outcome").len(), 1, "{login}");
        let said = got[0].to_string();
        for t in &refused {
            assert!(
                said.contains(&format!("{t} (")),
                "{login}: {t} not named: {said}"
            );
        }
    }
    let desk = entries(&pages_as("frontdesk", &path).await, "match");
    assert!(
        desk.iter().all(|m| !m.starts_with("Immunization/")),
        "{desk:?}"
    );
    let nurse = entries(&pages_as("nurse", &path).await, "match");
    let mut by_type: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in nurse {
        let (t, id) = m.split_once('/').unwrap_or_default();
        by_type.entry(t.to_owned()).or_default().push(id.to_owned());
    }
    assert_eq!(
        common::sorted(by_type["Immunization"].clone()),
        sql_ids(&format!(
            "SELECT id FROM gnuhealth_vaccination WHERE patient = {patient}"
        ))
    );

    // A user whose record rule on patients this server cannot apply may not read
    // patients at all: 403.
    let hash = gnuhealth::security::hash_scrypt("Everything-Pass-1", b"everything-salt1")
        .unwrap_or_default();
    db().execute_batch(&format!(
        "INSERT INTO res_user (login, name, active, password_hash, create_uid, create_date) \
         VALUES ('nopatients', 'No patients', 1, '{hash}', 0, '2026-01-01 00:00:00'); \
         INSERT INTO res_group (name, active, create_date, create_uid) \
         VALUES ('No patients', 1, datetime('now'), 1); \
         INSERT INTO \"res_user-res_group\" (\"user\", \"group\", create_date, create_uid) \
         SELECT u.id, g.id, datetime('now'), 1 FROM res_user u, res_group g \
         WHERE u.login = 'nopatients' AND g.name = 'No patients'; \
         INSERT INTO ir_rule_group (name, model, global_p, default_p, perm_read, perm_write, \
          perm_create, perm_delete, create_date, create_uid) \
         SELECT 'no patients', id, 0, 0, 1, 0, 0, 0, datetime('now'), 1 \
         FROM ir_model WHERE model = 'gnuhealth.patient'; \
         INSERT INTO ir_rule (rule_group, domain, create_date, create_uid) \
         SELECT MAX(id), '[[\"name.name\", \"ilike\", \"%a%\"]]', datetime('now'), 1 \
         FROM ir_rule_group WHERE name = 'no patients'; \
         INSERT INTO \"ir_rule_group-res_group\" (rule_group, \"group\", create_date, create_uid) \
         SELECT (SELECT MAX(id) FROM ir_rule_group WHERE name = 'no patients'), id, \
         datetime('now'), 1 FROM res_group WHERE name = 'No patients';"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let (status, body) = common::get_with("nopatients", "Everything-Pass-1", &path).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["resourceType"], "OperationOutcome");

    // A doctor whose record rules show one patient only: another is not known to them.
    let other = rich_patient_other(&patient);
    db().execute_batch(&format!(
        "INSERT INTO res_user (login, name, active, password_hash, create_uid, create_date) \
         VALUES ('onepatient', 'One patient', 1, '{hash}', 0, '2026-01-01 00:00:00'); \
         INSERT INTO res_group (name, active, create_date, create_uid) \
         VALUES ('One patient only', 1, datetime('now'), 1); \
         INSERT INTO \"res_user-res_group\" (\"user\", \"group\", create_date, create_uid) \
         SELECT u.id, g.id, datetime('now'), 1 FROM res_user u, res_group g \
         WHERE u.login = 'onepatient' AND g.name IN ('One patient only', 'Health Doctor'); \
         INSERT INTO ir_rule_group (name, model, global_p, default_p, perm_read, perm_write, \
          perm_create, perm_delete, create_date, create_uid) \
         SELECT 'one patient', id, 0, 0, 1, 0, 0, 0, datetime('now'), 1 \
         FROM ir_model WHERE model = 'gnuhealth.patient'; \
         INSERT INTO ir_rule (rule_group, domain, create_date, create_uid) \
         SELECT MAX(id), '[[\"id\", \"=\", {patient}]]', datetime('now'), 1 FROM ir_rule_group \
         WHERE name = 'one patient'; \
         INSERT INTO \"ir_rule_group-res_group\" (rule_group, \"group\", create_date, create_uid) \
         SELECT (SELECT MAX(id) FROM ir_rule_group WHERE name = 'one patient'), id, \
         datetime('now'), 1 FROM res_group WHERE name = 'One patient only';"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let (status, body) = common::get_with(
        "onepatient",
        "Everything-Pass-1",
        &format!("/Patient/{other}/$everything"),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = common::get_with("onepatient", "Everything-Pass-1", &path).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], get(&path).await.1["total"]);
}
