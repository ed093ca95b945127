//! Formats and subsets end to end: JSON and XML by `_format` and `Accept` (q-values,
//! 406), errors in the format asked for, XML that reads back to the same JSON for every
//! resource type, `_summary` and `_elements` with the SUBSETTED tag.

mod common;

use common::{get, ids, link, server};
use serde_json::Value;

struct Fetched {
    status: u16,
    content_type: String,
    etag: Option<String>,
    body: String,
}

/// GET as the demo user, with an `Accept` header when given.
async fn fetch(path: &str, accept: Option<&str>) -> Fetched {
    let url = if path.starts_with("http") {
        path.to_owned()
    } else {
        format!("{}{path}", server().base)
    };
    let mut req = common::client().get(url).basic_auth(
        gnuhealth::demo::DEMO_LOGIN,
        Some(gnuhealth::demo::DEMO_PASSWORD),
    );
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Fetched {
        status: resp.status().as_u16(),
        content_type: header("content-type").unwrap_or_default(),
        etag: header("etag"),
        body: resp.text().await.unwrap_or_default(),
    }
}

const XML: &str = "application/fhir+xml; charset=utf-8";
const JSON: &str = "application/fhir+json; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";

fn from_xml(f: &Fetched) -> Value {
    assert_eq!(f.content_type, XML, "{}", f.body);
    fhir::xml::from_xml(&f.body).unwrap_or_else(|e| panic!("{e}: {}", f.body))
}

fn is_subsetted(r: &Value) -> bool {
    let tags = r["meta"]["tag"].as_array().cloned().unwrap_or_default();
    let n = tags.iter().filter(|t| t["code"] == "SUBSETTED").count();
    assert!(n <= 1, "SUBSETTED twice: {r}");
    n == 1
}

fn keys(r: &Value) -> Vec<String> {
    r.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn format_parameter_and_accept_header_choose_the_format() {
    let (_, json) = get("/Patient/1").await;
    let json_etag = fetch("/Patient/1", None).await.etag;
    for format in [
        "xml",
        "application/fhir%2Bxml",
        // An unencoded `+` arrives as a space.
        "application/fhir+xml",
        "application/xml",
        "text/xml",
    ] {
        let f = fetch(&format!("/Patient/1?_format={format}"), None).await;
        assert_eq!(f.status, 200, "{format}: {}", f.body);
        assert!(
            f.body
                .starts_with("<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"1\"/>"),
            "{}",
            f.body
        );
        assert_eq!(from_xml(&f), json, "{format}");
        assert_eq!(f.etag, json_etag);
    }
    for format in [
        "json",
        "application/fhir%2Bjson",
        "application/json",
        "text/json",
    ] {
        let f = fetch(&format!("/Patient/1?_format={format}"), None).await;
        assert_eq!((f.status, f.content_type.as_str()), (200, JSON), "{format}");
    }
    let cases = [
        ("application/fhir+xml", XML),
        ("application/xml", XML),
        (
            "application/fhir+json;q=0.5, application/fhir+xml;q=0.9",
            XML,
        ),
        ("application/fhir+xml;q=0.5, application/json", JSON),
        // Equal preference, or anything: JSON.
        ("application/xml, application/json", JSON),
        ("*/*", JSON),
        // HTML preferred: the browser view's page; a wildcard alone is not a browser.
        ("text/html, */*;q=0.1", HTML),
        ("text/html, application/fhir+xml;q=0.2", HTML),
        ("text/html;q=0.2, application/fhir+xml", XML),
        ("text/*", JSON),
        // A type named outranks a wildcard.
        ("application/fhir+json;q=0, */*", XML),
    ];
    for (accept, want) in cases {
        let f = fetch("/Patient/1", Some(accept)).await;
        assert_eq!((f.status, f.content_type.as_str()), (200, want), "{accept}");
    }
    // `_format` wins over Accept.
    let f = fetch("/Patient/1?_format=json", Some("application/fhir+xml")).await;
    assert_eq!(f.content_type, JSON);
    for accept in [
        "image/png",
        "application/fhir+xml;q=0, application/json;q=0",
    ] {
        let f = fetch("/Patient/1", Some(accept)).await;
        assert_eq!((f.status, f.content_type.as_str()), (406, JSON), "{accept}");
    }
    let f = fetch("/Patient/1?_format=html", None).await;
    assert_eq!((f.status, f.content_type.as_str()), (406, JSON));
}

#[tokio::test]
async fn errors_follow_the_format_asked_for() {
    for (path, accept, status) in [
        ("/Patient/999999?_format=xml", None, 404),
        (
            "/Patient?no-such-parameter=1",
            Some("application/fhir+xml"),
            400,
        ),
        ("/Patient?_summary=maybe&_format=xml", None, 400),
        ("/NoSuchType?_format=xml", None, 404),
    ] {
        let f = fetch(path, accept).await;
        assert_eq!(f.status, status, "{path}");
        let outcome = from_xml(&f);
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        assert!(outcome["issue"][0]["diagnostics"].is_string(), "{path}");
    }
    // Without credentials too (the 401 comes before any handler work).
    let resp = common::client()
        .get(format!("{}/Patient/1?_format=xml", server().base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));
    let body = resp.text().await.unwrap_or_default();
    assert!(
        body.starts_with("<OperationOutcome xmlns=\"http://hl7.org/fhir\">"),
        "{body}"
    );
}

#[tokio::test]
async fn pretty_xml_and_the_capability_statement() {
    let f = fetch("/Patient/1?_format=xml&_pretty=true", None).await;
    assert!(f.body.contains("\n  <id value=\"1\"/>"), "{}", f.body);
    let (_, json) = get("/Patient/1").await;
    assert_eq!(from_xml(&f), json);
    let (_, cs) = get("/metadata").await;
    let formats = cs["format"].to_string();
    assert!(
        formats.contains("\"xml\"") && formats.contains("\"json\""),
        "{formats}"
    );
    let f = fetch("/metadata", Some("application/fhir+xml")).await;
    assert_eq!(from_xml(&f), cs);
}

/// Every resource the demo server emits, of every type, reads back from XML as the
/// JSON it serves.
#[tokio::test]
async fn every_resource_type_round_trips_through_xml() {
    for def in gnuhealth::registry::all() {
        let path = format!("/{}?_count=1000", def.type_name);
        let (status, json) = get(&path).await;
        assert_eq!(status, 200, "{json}");
        assert!(!ids(&json).is_empty(), "{} has no data", def.type_name);
        let f = fetch(&format!("{path}&_format=xml"), None).await;
        assert_eq!(from_xml(&f), json, "{}", def.type_name);
    }
}

#[tokio::test]
async fn summary_variants() {
    let (_, full) = get("/Patient/1").await;
    assert!(!is_subsetted(&full));
    let (status, r) = get("/Patient/1?_summary=true").await;
    assert_eq!(status, 200);
    let summary = fhir::definitions::resource("Patient").map_or(Vec::new(), |d| {
        d.elements
            .iter()
            .filter(|e| e.summary() || e.mandatory())
            .map(|e| e.name)
            .collect()
    });
    for k in keys(&r) {
        let base = k.trim_start_matches('_');
        assert!(
            k == "resourceType" || summary.iter().any(|s| base.starts_with(s)),
            "{k} is not a summary element"
        );
    }
    assert!(r.get("name").is_some() && r.get("communication").is_none());
    // The demo patients have non-summary elements (communication, contacts…).
    assert!(is_subsetted(&r), "{r}");
    assert_eq!(r["meta"]["versionId"], full["meta"]["versionId"]);

    let (_, r) = get("/Patient/1?_summary=text").await;
    assert_eq!(keys(&r), ["resourceType", "id", "meta", "text"]);
    assert_eq!(r["text"], full["text"]);
    assert!(is_subsetted(&r));
    // Everything but the narrative.
    let (_, r) = get("/Patient/1?_summary=data").await;
    let mut expected = keys(&full);
    expected.retain(|k| k != "text");
    assert_eq!(keys(&r), expected);
    assert!(is_subsetted(&r));
    let (_, r) = get("/Patient/1?_summary=false").await;
    assert_eq!(r, full);
    for bad in [
        "/Patient/1?_summary=maybe",
        "/Patient?_summary=1",
        "/Patient/1?_summary=count",
    ] {
        let (status, body) = get(bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["resourceType"], "OperationOutcome");
    }
    // In XML too.
    let f = fetch("/Patient/1?_summary=true&_format=xml", None).await;
    assert_eq!(from_xml(&f), get("/Patient/1?_summary=true").await.1);
}

#[tokio::test]
async fn summary_count_and_elements_in_searches() {
    let (status, b) = get("/Patient?_summary=count").await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["total"].as_u64(), Some(u64::from(common::PATIENTS)));
    assert!(b.get("entry").is_none(), "{b}");
    let self_link = link(&b, "self").unwrap_or_default();
    assert!(self_link.contains("_summary=count"), "{self_link}");

    let (status, b) = get("/Patient?_elements=name,gender&_count=5").await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(ids(&b).len(), 5);
    for e in b["entry"].as_array().into_iter().flatten() {
        let r = &e["resource"];
        for k in keys(r) {
            assert!(
                ["resourceType", "id", "meta", "name", "gender"].contains(&k.as_str()),
                "{k}"
            );
        }
        assert!(r.get("name").is_some() && is_subsetted(r), "{r}");
    }
    // The result parameters stay in the links, and the next page is subset as well.
    let next = link(&b, "next").unwrap_or_default();
    assert!(next.contains("_elements=name%2Cgender"), "{next}");
    let (status, page2) = get(&next).await;
    assert_eq!(status, 200, "{page2}");
    assert_eq!(ids(&page2).len(), 5);
    assert!(
        page2["entry"][0]["resource"].get("birthDate").is_none(),
        "{page2}"
    );
    let (_, b) = get("/Patient?_summary=true&_count=3").await;
    for e in b["entry"].as_array().into_iter().flatten() {
        assert!(e["resource"].get("communication").is_none());
        assert_eq!(e["search"]["mode"], "match");
    }
    // On a read.
    let (_, r) = get("/Patient/1?_elements=birthDate").await;
    assert_eq!(keys(&r), ["resourceType", "id", "meta", "birthDate"]);
    assert!(is_subsetted(&r));
}

/// The generated narrative summarises the record: a patient's headline is their official
/// name, sex and birth date as GNU Health stores them.
#[tokio::test]
async fn narrative_headline_says_who_the_patient_is() {
    let conn = rusqlite::Connection::open(&server().db_path)
        .unwrap_or_else(|e| panic!("open demo db: {e}"));
    let (id, name, gender, dob): (i64, String, String, String) = conn
        .query_row(
            "SELECT pa.id, \
             trim(coalesce(n.prefix, '') || ' ' || n.given || ' ' || n.family || ' ' \
                  || coalesce(n.suffix, '')), \
             CASE p.gender WHEN 'm' THEN 'male' ELSE 'female' END, p.dob \
             FROM gnuhealth_patient pa JOIN party_party p ON p.id = pa.party \
             JOIN gnuhealth_person_name n ON n.party = p.id AND n.use = 'official' \
             WHERE p.gender IN ('m', 'f') AND p.dob IS NOT NULL \
             ORDER BY pa.id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, p) = get(&format!("/Patient/{id}")).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["text"]["status"], "generated");
    let div = p["text"]["div"].as_str().unwrap_or_default();
    let headline = format!(
        "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p><b>{name}</b> ({gender}, {dob})</p><table>"
    );
    assert!(div.starts_with(&headline), "{div}");
}
