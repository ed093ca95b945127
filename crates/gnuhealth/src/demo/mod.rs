//! The embedded demo database: GNU Health 5.0's own tables (the DDL trytond creates)
//! filled with deterministic generated data, and a demo Tryton user.
//!
//! The site is a GNU Health installation in the Canary Islands: a hospital, primary-care
//! centres, their health professionals, and patients living in households across the
//! islands, each with names, addresses, telecoms, identifiers, conditions and allergies,
//! lab reports, vaccinations, medications and prescriptions, surgeries and family
//! history, insurances and appointments. The same options always give byte-identical tables.
//!
//! The database is built in `<path>.tmp` in one transaction and renamed at the end, so an
//! interrupted run never leaves a half-built database behind; an existing GNU Health
//! database at `path` is reused as it is. [`postgres`] puts the same rows into an empty
//! PostgreSQL database.

mod care;
mod clinical;
mod encounters;
mod generate;
mod labs;
mod names;
mod patient;
pub mod postgres;
mod schema;
mod shipped;
mod site;
#[cfg(test)]
mod tests;
mod visits;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

/// Login and password of the demo user.
pub const DEMO_LOGIN: &str = "demo";
pub const DEMO_PASSWORD: &str = "demo-GNUHealth-2026";
/// Further demo users (login, name, their one GNU Health group), same password.
pub const DEMO_COLLEAGUES: &[(&str, &str, &str)] = &[
    ("frontdesk", "Front Desk", "Health Front Desk"),
    ("nurse", "Nurse Ana Pérez", "Health Nurse"),
];

/// The SQLite statement an administrator's change in GNU Health comes down to: the nurses'
/// group may no longer read birth dates (`party.party.dob`). The demo grants every field;
/// tests and benchmarks run this to have a field to hide.
pub const HIDE_BIRTH_DATES_FROM_NURSES: &str = "INSERT INTO ir_model_field_access \
     (field, \"group\", perm_read, perm_write, perm_create, perm_delete, active, \
      create_date, create_uid) \
     SELECT f.id, g.id, 0, 0, 1, 1, 1, datetime('now'), 1 \
     FROM ir_model_field f JOIN ir_model m ON m.id = f.model, res_group g \
     WHERE m.model = 'party.party' AND f.name = 'dob' AND g.name = 'Health Nurse'";

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub patients: u32,
    pub seed: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo database {0}: {1}")]
    Db(String, String),
    #[error("{0} exists and is not a GNU Health database; refusing to overwrite it")]
    NotGnuHealth(String),
    #[error("demo database {0}: {1}")]
    Io(String, std::io::Error),
    #[error(
        "{0} already holds tables ({1}) and no GNU Health patients; refusing to write \
         into it: the demo fills only an empty database"
    )]
    NotEmpty(String, String),
}

/// What was created or found.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub path: String,
    pub patients: u64,
    pub reused: bool,
    /// Size of the database file in bytes.
    pub bytes: u64,
    /// Time taken to generate it (`None` when reused).
    pub elapsed: Option<Duration>,
}

impl std::fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} demo database {} ({} patients, {:.1} MB",
            if self.reused { "reusing" } else { "created" },
            self.path,
            self.patients,
            self.bytes as f64 / 1e6
        )?;
        if let Some(t) = self.elapsed {
            write!(f, ", {:.1} s", t.as_secs_f64())?;
        }
        write!(f, ")")
    }
}

/// Create the demo database at `path`, or reuse it when it already holds one.
pub fn create_or_reuse(path: &Path, opts: &DemoOptions) -> Result<DemoSummary, DemoError> {
    let shown = path.display().to_string();
    if path.exists() {
        let patients = existing_patients(path)?;
        return Ok(DemoSummary {
            bytes: file_size(path),
            path: shown,
            patients,
            reused: true,
            elapsed: None,
        });
    }
    let tmp = tmp_path(path);
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(DemoError::Io(tmp.display().to_string(), e)),
    }
    let started = Instant::now();
    let built = build(&tmp, opts, true).map_err(|e| DemoError::Db(shown.clone(), e.to_string()));
    let patients = match built {
        Ok(n) => n,
        Err(e) => {
            // Nothing half-built stays behind.
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    std::fs::rename(&tmp, path).map_err(|e| DemoError::Io(shown.clone(), e))?;
    Ok(DemoSummary {
        bytes: file_size(path),
        path: shown,
        patients,
        reused: false,
        elapsed: Some(started.elapsed()),
    })
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// The number of patients of an existing GNU Health database, or why it is not one.
fn existing_patients(path: &Path) -> Result<u64, DemoError> {
    let shown = path.display().to_string();
    let not_ours = || DemoError::NotGnuHealth(shown.clone());
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|_| not_ours())?;
    // A file that is not SQLite fails here ("file is not a database").
    let tables: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'gnuhealth_patient'",
            [],
            |r| r.get(0),
        )
        .map_err(|_| not_ours())?;
    if tables == 0 {
        return Err(not_ours());
    }
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM gnuhealth_patient", [], |r| r.get(0))
        .map_err(|e| DemoError::Db(shown.clone(), e.to_string()))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Build the database at `tmp`; returns the number of patients. Without `indexes` for a
/// scratch database that is only read whole (the PostgreSQL demo): their build takes
/// time, and memory for its sorts.
fn build(tmp: &Path, opts: &DemoOptions, indexes: bool) -> Result<u64, generate::GenError> {
    let conn = Connection::open(tmp)?;
    // No journal and no syncing while the file is private and disposable; the normal
    // settings come back before it is renamed into place.
    conn.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; \
         PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;",
    )?;
    conn.set_prepared_statement_cache_capacity(256);
    let progress = progress_bar(u64::from(opts.patients), "patients");
    progress.set_message("site");
    conn.execute_batch("BEGIN")?;
    let index_statements = schema::create_tables(&conn)?;
    schema::load_reference(&conn)?;
    let patients = generate::run(&conn, opts, &progress)?;
    if indexes {
        progress.set_message("indexes");
        schema::create_indexes(&conn, &index_statements)?;
    }
    conn.execute_batch("COMMIT")?;
    conn.execute_batch("PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL;")?;
    progress.finish_and_clear();
    conn.close().map_err(|(_, e)| e)?;
    Ok(patients)
}

/// Progress over `len` `unit`s on stderr (indicatif hides it when stderr is not a
/// terminal).
fn progress_bar(len: u64, unit: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
        "{{msg:>9}} [{{bar:40}}] {{pos}}/{{len}} {unit} ({{elapsed}}, {{eta}} left)"
    )) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
