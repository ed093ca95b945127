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
    pub kind: IndexKind,
}

/// What an index holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    /// The column's non-NULL values: lookups by it.
    Lookup,
    /// Every row, NULLs first as searches order them: `_sort` by the column.
    Sort,
    /// The column's text folded as string searches compare it (lower case, no accents),
    /// for prefix searches such as `family=gar`: on PostgreSQL the search's own
    /// expression, on SQLite the folded first characters (`db::sqlite_folded_start`; an
    /// index cannot hold the server's `ghf_match`).
    Folded,
}

impl SuggestedIndex {
    /// The index's name: ours, so an administrator can tell it from trytond's.
    pub fn name(&self) -> String {
        match self.kind {
            IndexKind::Folded => format!("ghf_{}_{}_folded", self.table, self.column),
            _ => format!("ghf_{}_{}", self.table, self.column),
        }
    }

    /// Whether prefix string searches of `expr` (`alias.column` of a table `from`, as in a
    /// search path) can use this index.
    pub fn folds(&self, from: &str, expr: &str) -> bool {
        self.kind == IndexKind::Folded
            && from.split_whitespace().next() == Some(self.table)
            && expr.rsplit('.').next() == Some(self.column)
    }

    /// The statement creating it. PostgreSQL builds it without blocking writes
    /// (`CONCURRENTLY`, which cannot run inside a transaction block).
    pub fn create_sql(&self, dialect: Dialect) -> String {
        let concurrently = match dialect {
            Dialect::Postgres => "CONCURRENTLY ",
            Dialect::Sqlite => "",
        };
        let column = format!("\"{}\"", self.column);
        let (key, only_values) = match (self.kind, dialect) {
            (IndexKind::Lookup, _) => (column.clone(), format!(" WHERE {column} IS NOT NULL")),
            // SQLite puts NULLs first in an ascending index anyway.
            (IndexKind::Sort, Dialect::Sqlite) => (column, String::new()),
            (IndexKind::Sort, Dialect::Postgres) => {
                (format!("{column} NULLS FIRST"), String::new())
            }
            // `text_pattern_ops`: `LIKE 'gar%'` can use it whatever the database's locale.
            (IndexKind::Folded, Dialect::Postgres) => (
                format!("({}) text_pattern_ops", crate::db::pg_folded(&column)),
                String::new(),
            ),
            (IndexKind::Folded, Dialect::Sqlite) => {
                (crate::db::sqlite_folded_start(&column), String::new())
            }
        };
        format!(
            "CREATE INDEX {concurrently}IF NOT EXISTS \"{}\" ON \"{}\" ({key}){only_values};",
            self.name(),
            self.table,
        )
    }
}

pub const SUGGESTED: &[SuggestedIndex] = &[
    SuggestedIndex {
        table: "gnuhealth_lab",
        column: "patient",
        why: "a patient's lab reports and results: DiagnosticReport?patient, Observation?patient, $everything",
        kind: IndexKind::Lookup,
    },
    SuggestedIndex {
        table: "gnuhealth_patient_evaluation",
        column: "patient",
        why: "a patient's evaluations and their vital signs: Encounter?patient, Observation?patient",
        kind: IndexKind::Lookup,
    },
    SuggestedIndex {
        table: "gnuhealth_patient_ambulatory_care",
        column: "patient",
        why: "a patient's nursing sessions and their vital signs",
        kind: IndexKind::Lookup,
    },
    SuggestedIndex {
        table: "gnuhealth_inpatient_registration",
        column: "patient",
        why: "a patient's hospital stays",
        kind: IndexKind::Lookup,
    },
    SuggestedIndex {
        table: "gnuhealth_patient_rounding",
        column: "registration",
        why: "the nursing rounds of a hospital stay and their vital signs",
        kind: IndexKind::Lookup,
    },
    SuggestedIndex {
        table: "gnuhealth_prescription_order",
        column: "patient",
        why: "a patient's prescriptions: MedicationRequest?patient",
        kind: IndexKind::Lookup,
    },
    SuggestedIndex {
        table: "gnuhealth_patient_procedure",
        column: "patient",
        why: "a patient's recorded procedures: Procedure?patient",
        kind: IndexKind::Lookup,
    },
    SuggestedIndex {
        table: "gnuhealth_patient",
        column: "party",
        why: "the patient of a party: Coverage, RelatedPerson",
        kind: IndexKind::Lookup,
    },
    SuggestedIndex {
        table: "gnuhealth_family_member",
        column: "party",
        why: "the families of a person: RelatedPerson",
        kind: IndexKind::Lookup,
    },
    SuggestedIndex {
        table: "party_party",
        column: "dob",
        why: "searches sorted by birth date (Patient?_sort=birthdate): every page after the first starts in the index",
        kind: IndexKind::Sort,
    },
    SuggestedIndex {
        table: "gnuhealth_person_name",
        column: "family",
        why: "family-name searches (family= of Patient, Practitioner, RelatedPerson) start from the matching names",
        kind: IndexKind::Folded,
    },
    SuggestedIndex {
        table: "party_party",
        column: "lastname",
        why: "family-name searches of persons without a person-name row",
        kind: IndexKind::Folded,
    },
];

/// `(table, first column, index name)` of every index the database has (no column for an
/// index on an expression).
async fn existing(db: &Database) -> Result<Vec<(String, Option<String>, String)>, DbError> {
    let mut sql = db.sql();
    match db.dialect() {
        Dialect::Sqlite => sql.push(
            "SELECT m.tbl_name, ii.name, m.name FROM sqlite_master m, pragma_index_info(m.name) ii \
             WHERE m.type = 'index' AND ii.seqno = 0",
        ),
        Dialect::Postgres => sql.push(
            "SELECT t.relname::text, a.attname::text, c.relname::text FROM pg_index i \
             JOIN pg_class t ON t.oid = i.indrelid \
             JOIN pg_class c ON c.oid = i.indexrelid \
             LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0]",
        ),
    };
    Ok(db
        .query(&sql)
        .await?
        .iter()
        .filter_map(|r| Some((r.opt_text(0)?, r.opt_text(1), r.opt_text(2)?)))
        .collect())
}

/// The suggested indexes the database lacks. An index
/// on the column, whatever its name, counts; an index on folded text counts by its name.
pub async fn missing(db: &Database) -> Result<Vec<&'static SuggestedIndex>, DbError> {
    let have = existing(db).await?;
    Ok(SUGGESTED
        .iter()
        .filter(|ix| {
            !have.iter().any(|(t, c, name)| match ix.kind {
                IndexKind::Folded => *name == ix.name(),
                _ => t == ix.table && c.as_deref() == Some(ix.column),
            })
        })
        .collect())
}

/// The names of the suggested indexes on folded names the database has: searches on
/// SQLite add the range those indexes answer only then (`Sql::folded_prefix_range`).
pub(crate) async fn folded_present(db: &Database) -> Result<Vec<String>, DbError> {
    let have = existing(db).await?;
    Ok(SUGGESTED
        .iter()
        .filter(|ix| ix.kind == IndexKind::Folded)
        .map(SuggestedIndex::name)
        .filter(|name| have.iter().any(|(_, _, present)| present == name))
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
