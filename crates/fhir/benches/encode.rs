//! The output side of every response: a typical Patient (as the server loads it from the
//! demo database, `data/patient.json`) and a 50-entry searchset Bundle of them, encoded as
//! JSON (serde_json) and as XML (`fhir::xml`, through the element table), and the
//! generated narrative (`fhir::narrative::add`) each resource gets before it leaves. These
//! run once per resource served, so they bound how fast a large page can be answered.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use fhir::bundle::{Bundle, BundleEntry, BundleLink, EntrySearch, SearchMode};
use serde_json::Value;

const BASE: &str = "https://fhir.example.org";
const ENTRIES: usize = 50;

/// The Patient as loaded, without its narrative.
fn loaded_patient() -> Value {
    serde_json::from_str(include_str!("data/patient.json")).expect("valid JSON in the fixture")
}

/// The Patient as served: with its generated narrative.
fn served_patient() -> Value {
    let mut p = loaded_patient();
    fhir::narrative::add(&mut p);
    assert!(p.get("text").is_some(), "the narrative was added");
    p
}

/// A first page of 50 matches, as the server builds it: links, total, full URLs.
fn searchset() -> Bundle {
    let patient = served_patient();
    let mut bundle = Bundle::searchset();
    bundle.total = Some(300);
    let query = "family=gar&_count=50";
    for (relation, cursor) in [("self", ""), ("first", ""), ("next", "&_cursor=AAAA")] {
        bundle.link.push(BundleLink {
            relation,
            url: format!("{BASE}/Patient?{query}{cursor}"),
        });
    }
    for i in 0..ENTRIES {
        let id = (i + 1).to_string();
        let mut resource = patient.clone();
        resource["id"] = Value::String(id.clone());
        bundle.entry.push(BundleEntry {
            full_url: Some(format!("{BASE}/Patient/{id}")),
            resource,
            search: Some(EntrySearch {
                mode: SearchMode::Match,
            }),
        });
    }
    bundle
}

fn bench_json(c: &mut Criterion) {
    let patient = served_patient();
    let bundle = searchset();
    let mut group = c.benchmark_group("json");
    group.bench_function("patient", |b| {
        b.iter(|| serde_json::to_vec(black_box(&patient)).expect("JSON"))
    });
    group.bench_function("bundle_50", |b| {
        b.iter(|| serde_json::to_vec(black_box(&bundle)).expect("JSON"))
    });
    group.finish();
}

fn bench_xml(c: &mut Criterion) {
    let patient = served_patient();
    let bundle = searchset();
    let mut group = c.benchmark_group("xml");
    group.bench_function("patient", |b| {
        b.iter(|| fhir::xml::to_xml(black_box(&patient), false).expect("XML"))
    });
    // As the server renders XML: the Bundle as a JSON value first, then XML.
    group.bench_function("bundle_50", |b| {
        b.iter(|| {
            let v = serde_json::to_value(black_box(&bundle)).expect("JSON value");
            fhir::xml::to_xml(&v, false).expect("XML")
        })
    });
    group.finish();
}

fn bench_narrative(c: &mut Criterion) {
    let patient = loaded_patient();
    c.bench_function("narrative/patient", |b| {
        b.iter_batched(
            || patient.clone(),
            |mut p| {
                fhir::narrative::add(&mut p);
                p
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, bench_json, bench_xml, bench_narrative);
criterion_main!(benches);
