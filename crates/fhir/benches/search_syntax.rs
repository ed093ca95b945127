//! The search-parameter syntax of `fhir::search`, value by value: keys and modifiers,
//! OR-lists with escapes, dates with a prefix turned into a condition, tokens, references
//! and the folding of string values. Every search parameter of every request goes through
//! these (the whole query, validated and turned into SQL, is measured by the gnuhealth
//! crate's `search` benchmark).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use fhir::search::{self, StoredKind};

fn bench_syntax(c: &mut Criterion) {
    let mut group = c.benchmark_group("search_syntax");
    group.bench_function("parse_key", |b| {
        b.iter(|| {
            [
                "family",
                "code:not",
                "subject:Patient",
                "subject:Patient.family",
                "_has:Observation:patient:code",
            ]
            .map(|k| search::parse_key(black_box(k)))
        })
    });
    group.bench_function("split_or", |b| {
        b.iter(|| search::split_or(black_box(r"E11.9,I10,J45\,x,http://loinc.org|718-7")))
    });
    group.bench_function("date_ge_day", |b| {
        b.iter(|| {
            let (prefix, value) = search::split_prefix(black_box("ge1980-01-01"));
            let range = search::parse_date(value).expect("a valid date");
            search::date_condition(prefix, &range, StoredKind::Day)
        })
    });
    group.bench_function("date_eq_instant_tz", |b| {
        b.iter(|| {
            let (prefix, value) = search::split_prefix(black_box("2024-03-05T10:30:00+01:00"));
            let range = search::parse_date(value).expect("a valid date");
            search::date_condition(prefix, &range, StoredKind::Period)
        })
    });
    group.bench_function("token_system_code", |b| {
        b.iter(|| search::parse_token(black_box("http://loinc.org|718-7")).expect("a token"))
    });
    group.bench_function("reference_typed", |b| {
        b.iter(|| search::parse_reference(black_box("Patient/123"), None).expect("a reference"))
    });
    group.bench_function("reference_absolute", |b| {
        b.iter(|| {
            search::parse_reference(
                black_box("https://fhir.example.org/Patient/123/_history/4"),
                Some("Patient"),
            )
            .expect("a reference")
        })
    });
    group.bench_function("fold", |b| {
        b.iter(|| search::fold(black_box("García-Pérez Ñúñez, MÜLLER")))
    });
    group.finish();
}

criterion_group!(benches, bench_syntax);
criterion_main!(benches);
