//! Indexes GNU Health 5.0 does not create and this server's searches want: mostly the
//! patient column of tables that hold a patient's records (lab reports, evaluations,
//! hospital stays, nursing sessions, prescriptions, procedures), without which a search
//! "everything of patient X" reads the whole table. The server never creates them (the
//! database is GNU Health's); `gnuhealth-fhir db suggest-indexes` prints the SQL for the
//! administrator to decide, leaving out those the database already has.

use crate::db::{Database, DbError, Dialect};

/// One index: a column of a GNU Health table and what it speeds up.
pub struct SuggestedIndex {
    pub table: &'static str,
    pub column: &'static str,
    pub why: &'static str,
    /// Whether searches sort by the column (`_sort`): then the index holds every row,
    /// NULLs first as the searches order them, not only the non-NULL ones.
    pub sorts: bool,
}

impl SuggestedIndex {
    /// The index's name: ours, so an administrator can tell it from trytond's.
    pub fn name(&self) -> String {
        format!("ghf_{}_{}", self.table, self.column)
    }

    /// The statement creating it. PostgreSQL builds it without blocking writes
    /// (`CONCURRENTLY`, which cannot run inside a transaction block).
    pub fn create_sql(&self, dialect: Dialect) -> String {
        let concurrently = match dialect {
            Dialect::Postgres => "CONCURRENTLY ",
            Dialect::Sqlite => "",
        };
        let (nulls_first, only_values) = match (self.sorts, dialect) {
            // SQLite puts NULLs first in an ascending index anyway.
            (true, Dialect::Sqlite) => ("", String::new()),
            (true, Dialect::Postgres) => (" NULLS FIRST", String::new()),
            (false, _) => ("", format!(" WHERE \"{}\" IS NOT NULL", self.column)),
        };
        format!(
            "CREATE INDEX {concurrently}IF NOT EXISTS \"{}\" ON \"{}\" (\"{}\"{nulls_first}){only_values};",
            self.name(),
            self.table,
            self.column,
        )
    }
}

pub const SUGGESTED: &[SuggestedIndex] = &[
    SuggestedIndex {
        table: "gnuhealth_lab",
        column: "patient",
        why: "a patient's lab reports and results: DiagnosticReport?patient, Observation?patient, $everything",
        sorts: false,
    },
    SuggestedIndex {
        table: "gnuhealth_patient_evaluation",
        column: "patient",
        why: "a patient's evaluations and their vital signs: Encounter?patient, Observation?patient",
        sorts: false,
    },
    SuggestedIndex {
        table: "gnuhealth_patient_ambulatory_care",
        column: "patient",
        why: "a patient's nursing sessions and their vital signs",
        sorts: false,
    },
    SuggestedIndex {
        table: "gnuhealth_inpatient_registration",
        column: "patient",
        why: "a patient's hospital stays",
        sorts: false,
    },
    SuggestedIndex {
        table: "gnuhealth_patient_rounding",
        column: "registration",
        why: "the nursing rounds of a hospital stay and their vital signs",
        sorts: false,
    },
    SuggestedIndex {
        table: "gnuhealth_prescription_order",
        column: "patient",
        why: "a patient's prescriptions: MedicationRequest?patient",
        sorts: false,
    },
    SuggestedIndex {
        table: "gnuhealth_patient_procedure",
        column: "patient",
        why: "a patient's recorded procedures: Procedure?patient",
        sorts: false,
    },
    SuggestedIndex {
        table: "gnuhealth_patient",
        column: "party",
        why: "the patient of a party: Coverage, RelatedPerson",
        sorts: false,
    },
    SuggestedIndex {
        table: "gnuhealth_family_member",
        column: "party",
        why: "the families of a person: RelatedPerson",
        sorts: false,
    },
    SuggestedIndex {
        table: "party_party",
        column: "dob",
        why: "searches sorted by birth date (Patient?_sort=birthdate): every page after the first starts in the index",
        sorts: true,
    },
];

/// `(table, column)` of every index the database has whose first column is that column.
async fn existing(db: &Database) -> Result<Vec<(String, String)>, DbError> {
    let mut sql = db.sql();
    match db.dialect() {
        Dialect::Sqlite => sql.push(
            "SELECT m.tbl_name, ii.name FROM sqlite_master m, pragma_index_info(m.name) ii \
             WHERE m.type = 'index' AND ii.seqno = 0",
        ),
        Dialect::Postgres => sql.push(
            "SELECT t.relname::text, a.attname::text FROM pg_index i \
             JOIN pg_class t ON t.oid = i.indrelid \
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0]",
        ),
    };
    Ok(db
        .query(&sql)
        .await?
        .iter()
        .filter_map(|r| Some((r.opt_text(0)?, r.opt_text(1)?)))
        .collect())
}

/// The suggested indexes the database lacks.
pub async fn missing(db: &Database) -> Result<Vec<&'static SuggestedIndex>, DbError> {
    let have = existing(db).await?;
    Ok(SUGGESTED
        .iter()
        .filter(|ix| !have.iter().any(|(t, c)| t == ix.table && c == ix.column))
        .collect())
}

/// What `db suggest-indexes` prints: a comment and a statement per missing index.
pub async fn suggestion(db: &Database) -> Result<String, DbError> {
    let missing = missing(db).await?;
    let mut out = String::new();
    if missing.is_empty() {
        out.push_str("-- every index gnuhealth-fhir suggests is present\n");
    }
    for ix in missing {
        out.push_str(&format!("-- {}\n{}\n", ix.why, ix.create_sql(db.dialect())));
    }
    Ok(out)
}
