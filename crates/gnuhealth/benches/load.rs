//! Rows → resources: the batched loaders (`ResourceDef::load`) of Patient, Observation
//! and Encounter turning a page of 50 ids into FHIR JSON, on a small demo database built
//! in the setup, and the access-rights redaction of a loaded page. Every search and read
//! ends in a loader, so this is the per-page cost of the mapping (its queries included,
//! on SQLite in a local file, through the same blocking pool the server uses).

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use gnuhealth::access::Policy;
use gnuhealth::db::Database;
use gnuhealth::resources::{Context, ResourceDef};
use gnuhealth::search::SearchRequest;
use serde_json::Value;

/// Enough patients for full pages of every type, small enough to build in seconds.
const PATIENTS: u32 = 300;
const PAGE: u32 = 50;

struct Setup {
    rt: tokio::runtime::Runtime,
    db: Database,
    ctx: Context,
}

impl Setup {
    fn new() -> Setup {
        // Cargo's scratch directory for benchmarks; rebuilt on every run, so the figures
        // always come from the current generator.
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-demo.sqlite");
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("removing the old bench database: {e}"),
        }
        let opts = gnuhealth::demo::DemoOptions {
            patients: PATIENTS,
            seed: 5,
        };
        let summary =
            gnuhealth::demo::create_or_reuse(&path, &opts).expect("building the demo database");
        eprintln!("{summary}");
        hide_birth_dates_from_nurses(&path);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a tokio runtime");
        let url = format!("sqlite://{}", path.display());
        let db = rt
            .block_on(Database::connect(&url))
            .expect("opening the demo database");
        Setup {
            rt,
            db,
            ctx: Context {
                base_url: "https://fhir.example.org".into(),
            },
        }
    }

    /// The ids of the first page of a search, as a search hands them over.
    fn first_page(&self, def: &ResourceDef, params: &[(&str, &str)]) -> Vec<String> {
        let params = params
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let req = SearchRequest::new(params, PAGE);
        let page = self
            .rt
            .block_on(gnuhealth::search::search(&self.db, def, &self.ctx, &req))
            .expect("searching the demo database");
        assert_eq!(
            page.ids.len(),
            PAGE as usize,
            "a full page of {}",
            def.type_name
        );
        page.ids
    }

    fn load(&self, def: &ResourceDef, ids: &[String]) -> Vec<Value> {
        self.rt
            .block_on((def.load)(&self.db, &self.ctx, ids))
            .expect("loading a page")
    }
}

/// Deny the nurses' group the birth date (`party.party.dob`), as an administrator would in
/// GNU Health, so the redaction has something to leave out.
fn hide_birth_dates_from_nurses(path: &std::path::Path) {
    let conn = rusqlite::Connection::open(path).expect("opening the demo database");
    conn.execute(gnuhealth::demo::HIDE_BIRTH_DATES_FROM_NURSES, [])
        .expect("adding the field access row");
}

fn bench_loaders(c: &mut Criterion) {
    let setup = Setup::new();
    let mut group = c.benchmark_group("load_page_50");
    use gnuhealth::resources::{encounter::ENCOUNTER, observation::OBSERVATION, patient::PATIENT};
    // Observation has two loaders behind one type: lab results and vital signs.
    for (name, def, params) in [
        ("Patient", &PATIENT, &[][..]),
        (
            "Observation/laboratory",
            &OBSERVATION,
            &[("category", "laboratory")][..],
        ),
        (
            "Observation/vital-signs",
            &OBSERVATION,
            &[("category", "vital-signs")][..],
        ),
        ("Encounter", &ENCOUNTER, &[][..]),
    ] {
        let ids = setup.first_page(def, params);
        assert_eq!(setup.load(def, &ids).len(), ids.len(), "every id loads");
        group.bench_function(name, |b| b.iter(|| setup.load(def, black_box(&ids))));
    }
    group.finish();

    // The server's redaction of a page for a user whose field access hides an element:
    // the elements left out, the resource tagged SUBSETTED (narratives: the fhir benches).
    let def = &PATIENT;
    let patients = setup.load(def, &setup.first_page(def, &[]));
    let nurse = setup
        .rt
        .block_on(gnuhealth::security::find_active_user(&setup.db, "nurse"))
        .expect("reading the users")
        .expect("the demo nurse");
    let policy = setup
        .rt
        .block_on(Policy::load(
            &setup.db,
            nurse.id,
            gnuhealth::registry::all_models(),
        ))
        .expect("loading the nurse's access rights");
    let mut probe = patients[0].clone();
    assert!(policy.redact(def, &mut probe), "the birth date is redacted");
    c.bench_function("redact_page_50/Patient", |b| {
        b.iter_batched(
            || patients.clone(),
            |mut page| {
                for r in &mut page {
                    if policy.redact(def, r) {
                        fhir::subset::mark_subsetted(r);
                    }
                }
                page
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, bench_loaders);
criterion_main!(benches);
