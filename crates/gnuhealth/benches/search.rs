//! Search parsing and SQL building, the CPU work of every search before the database sees
//! it: a query string becomes a validated [`SearchRequest`] (the server's loop over the
//! parameters, done here with the same public functions: `_count`, `_sort`, `_include`,
//! known keys), then its WHERE clause is built for PostgreSQL and SQLite. Run on every
//! request, so a slowdown here is paid by every search; no database is involved.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gnuhealth::db::{Dialect, Sql};
use gnuhealth::include::Include;
use gnuhealth::resources::{Context, ResourceDef};
use gnuhealth::search::{SearchError, SearchRequest};

/// Representative searches: strings with a date prefix and a sort, a token with a
/// system, a chain with an include, a reverse chain.
const QUERIES: &[(&str, &str, &str)] = &[
    (
        "patient_family_birthdate_sort",
        "Patient",
        "family=gar&birthdate=ge1980-01-01&_sort=-birthdate&_count=50",
    ),
    (
        "observation_token",
        "Observation",
        "code=http://loinc.org|718-7&_count=50",
    ),
    (
        "observation_chain_include",
        "Observation",
        "subject:Patient.family=gar&date=ge2020&_include=Observation:patient&_count=50",
    ),
    (
        "patient_has",
        "Patient",
        "_has:Observation:patient:code=http://loinc.org%7C718-7&gender=female",
    ),
];

/// The largest `_count` accepted (the server's default limit).
const MAX_COUNT: u32 = 1000;

/// A query string as the server reads it: decoded pairs, the result parameters taken out,
/// every other key checked against the type's parameters.
fn parse(def: &ResourceDef, query: &str) -> Result<(SearchRequest, Vec<Include>), SearchError> {
    let mut req = SearchRequest::new(Vec::new(), 20);
    let mut includes = Vec::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()).into_owned() {
        match k.as_str() {
            "_count" => {
                req.count = fhir::search::parse_count(&v, MAX_COUNT)
                    .map_err(|e| SearchError::BadRequest(format!("_count: {e}")))?;
            }
            "_sort" => req.sort.extend(gnuhealth::search::parse_sort(def, &v)?),
            "_include" | "_revinclude" | "_include:iterate" | "_revinclude:iterate" => {
                let reverse = k.starts_with("_revinclude");
                let iterate = k.ends_with(":iterate");
                includes.push(gnuhealth::include::parse(&v, reverse, iterate)?);
            }
            _ if gnuhealth::search::is_search_key(def, &k) => req.params.push((k, v)),
            _ => {
                return Err(SearchError::BadRequest(format!(
                    "unknown search parameter '{k}'"
                )));
            }
        }
    }
    Ok((req, includes))
}

fn def(type_name: &str) -> &'static ResourceDef {
    gnuhealth::registry::find(type_name).expect("a served resource type")
}

fn bench_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("search_request");
    for &(name, type_name, query) in QUERIES {
        let def = def(type_name);
        // Each query must be valid: a benchmark of an error path would measure nothing.
        parse(def, query).expect("a valid search");
        group.bench_function(name, |b| {
            b.iter(|| parse(def, black_box(query)).expect("a valid search"))
        });
    }
    group.finish();
}

fn bench_sql(c: &mut Criterion) {
    let ctx = Context {
        base_url: "https://fhir.example.org".into(),
    };
    let mut group = c.benchmark_group("search_sql");
    for &(name, type_name, query) in QUERIES {
        let def = def(type_name);
        let (req, _) = parse(def, query).expect("a valid search");
        for (dialect, suffix) in [(Dialect::Postgres, "pg"), (Dialect::Sqlite, "sqlite")] {
            group.bench_function(format!("{name}/{suffix}"), |b| {
                b.iter(|| {
                    let mut sql = Sql::new(dialect);
                    gnuhealth::search::where_clause(&mut sql, def, &ctx, black_box(&req.params))
                        .expect("a valid search");
                    sql
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_parse, bench_sql);
criterion_main!(benches);
