//! Tests of the demo database: row counts, determinism, referential consistency, the
//! demo user, reuse and refusal.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::Connection;

use super::*;

const PATIENTS: u32 = 50;

fn temp_db(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!(
        "ghf-demo-test-{}-{n}-{name}.sqlite",
        std::process::id()
    ))
}

fn options() -> DemoOptions {
    DemoOptions {
        patients: PATIENTS,
        seed: 5,
    }
}

/// A generated database, deleted when dropped (each test gets its own: generating 50
/// patients takes a fraction of a second, and nothing is left in the temp directory).
struct TempDb(PathBuf);

impl TempDb {
    fn new(name: &str) -> Self {
        let path = temp_db(name);
        if let Err(e) = create_or_reuse(&path, &options()) {
            panic!("{e}");
        }
        TempDb(path)
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn open(path: &PathBuf) -> Connection {
    Connection::open(path).unwrap_or_else(|e| panic!("{e}"))
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every row of a table, as text, in id order.
fn dump(conn: &Connection, table: &str) -> Vec<String> {
    let mut st = conn
        .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY id"))
        .unwrap_or_else(|e| panic!("{e}"));
    let n = st.column_count();
    let rows = st
        .query_map([], |r| {
            let mut line = Vec::with_capacity(n);
            for i in 0..n {
                line.push(format!("{:?}", r.get_ref(i)?));
            }
            Ok(line.join("|"))
        })
        .unwrap_or_else(|e| panic!("{e}"));
    rows.map(|r| r.unwrap_or_else(|e| panic!("{e}"))).collect()
}

fn expected_row_counts(conn: &Connection) {
    assert_eq!(
        count(conn, "SELECT COUNT(*) FROM gnuhealth_patient"),
        i64::from(PATIENTS)
    );
    assert_eq!(count(conn, "SELECT MIN(id) FROM gnuhealth_patient"), 1);
    assert_eq!(
        count(conn, "SELECT MAX(id) FROM gnuhealth_patient"),
        i64::from(PATIENTS)
    );
    // Every party has the empty address and a language row; every person an official name.
    let parties = count(conn, "SELECT COUNT(*) FROM party_party");
    assert_eq!(
        count(
            conn,
            "SELECT COUNT(DISTINCT party) FROM party_address WHERE street IS NULL AND city IS NULL AND name IS NULL"
        ),
        parties
    );
    assert_eq!(
        count(conn, "SELECT COUNT(*) FROM party_party_lang"),
        parties
    );
    for table in [
        "gnuhealth_patient_disease",
        "gnuhealth_lab",
        "gnuhealth_vaccination",
        "gnuhealth_patient_medication",
        "gnuhealth_prescription_line",
        "gnuhealth_patient_family_diseases",
        "gnuhealth_surgery",
        "gnuhealth_operation",
        "gnuhealth_patient_procedure",
        "gnuhealth_healthprofessional",
        "gnuhealth_institution",
        "gnuhealth_medicament",
        "party_contact_mechanism",
        "gnuhealth_person_alternative_identification",
        "gnuhealth_du",
        "gnuhealth_appointment",
        "gnuhealth_insurance",
        "gnuhealth_insurance_plan",
    ] {
        assert!(
            count(conn, &format!("SELECT COUNT(*) FROM {table}")) > 0,
            "{table} is empty"
        );
    }
    assert!(
        count(
            conn,
            "SELECT COUNT(*) FROM gnuhealth_patient_disease WHERE is_allergy = 1"
        ) > 0
    );
    assert!(count(conn, "SELECT COUNT(*) FROM gnuhealth_pathology") >= 150);
}

fn every_patient_has_one_official_name_in_sync(conn: &Connection) {
    let bad = count(
        conn,
        "SELECT COUNT(*) FROM gnuhealth_patient pat JOIN party_party p ON p.id = pat.party \
         WHERE (SELECT COUNT(*) FROM gnuhealth_person_name n WHERE n.party = p.id AND n.use = 'official' \
                AND n.given = p.name AND n.family = p.lastname) != 1",
    );
    assert_eq!(bad, 0);
}

fn references_resolve(conn: &Connection) {
    let checks = [
        "SELECT COUNT(*) FROM gnuhealth_patient_disease d LEFT JOIN gnuhealth_pathology p ON p.id = d.pathology WHERE p.id IS NULL",
        "SELECT COUNT(*) FROM gnuhealth_patient_family_diseases d LEFT JOIN gnuhealth_pathology p ON p.id = d.disease WHERE p.id IS NULL",
        "SELECT COUNT(*) FROM gnuhealth_patient_medication m LEFT JOIN gnuhealth_medicament x ON x.id = m.medicament WHERE x.id IS NULL",
        "SELECT COUNT(*) FROM gnuhealth_vaccination v LEFT JOIN gnuhealth_medicament x ON x.id = v.vaccine WHERE x.id IS NULL OR x.is_vaccine != 1",
        "SELECT COUNT(*) FROM gnuhealth_medicament m LEFT JOIN product_product p ON p.id = m.product LEFT JOIN product_template t ON t.id = p.template WHERE t.id IS NULL",
        "SELECT COUNT(*) FROM gnuhealth_lab l LEFT JOIN gnuhealth_lab_test_type t ON t.id = l.test WHERE t.id IS NULL",
        "SELECT COUNT(*) FROM gnuhealth_patient p LEFT JOIN gnuhealth_healthprofessional h ON h.id = p.primary_care_doctor WHERE h.id IS NULL",
        "SELECT COUNT(*) FROM gnuhealth_healthprofessional h LEFT JOIN gnuhealth_institution i ON i.id = h.institution WHERE i.id IS NULL",
        "SELECT COUNT(*) FROM gnuhealth_hp_specialty s LEFT JOIN gnuhealth_specialty x ON x.id = s.specialty WHERE x.id IS NULL",
        "SELECT COUNT(*) FROM gnuhealth_prescription_line l LEFT JOIN gnuhealth_prescription_order o ON o.id = l.presc_order WHERE o.id IS NULL",
        "SELECT COUNT(*) FROM gnuhealth_operation o LEFT JOIN gnuhealth_procedure p ON p.id = o.procedure WHERE p.id IS NULL",
        "SELECT COUNT(*) FROM party_party p LEFT JOIN gnuhealth_du d ON d.id = p.du WHERE p.du IS NOT NULL AND d.id IS NULL",
        "SELECT COUNT(*) FROM party_party_lang l LEFT JOIN ir_lang i ON i.id = l.lang WHERE l.lang IS NOT NULL AND i.id IS NULL",
        "SELECT COUNT(*) FROM party_party WHERE deceased = 1 AND death_certificate IS NULL",
        "SELECT COUNT(*) FROM gnuhealth_lab_test_critearea c LEFT JOIN gnuhealth_lab_test_units u ON u.id = c.units WHERE c.units IS NOT NULL AND u.id IS NULL",
        "SELECT COUNT(*) FROM gnuhealth_appointment a LEFT JOIN gnuhealth_patient p ON p.id = a.patient LEFT JOIN gnuhealth_healthprofessional h ON h.id = a.healthprof LEFT JOIN gnuhealth_specialty s ON s.id = a.speciality LEFT JOIN gnuhealth_institution i ON i.id = a.institution WHERE p.id IS NULL OR h.id IS NULL OR s.id IS NULL OR i.id IS NULL",
        "SELECT COUNT(*) FROM gnuhealth_appointment a LEFT JOIN gnuhealth_insurance i ON i.id = a.insurance JOIN gnuhealth_patient p ON p.id = a.patient WHERE a.insurance IS NOT NULL AND (i.id IS NULL OR i.party != p.party)",
        "SELECT COUNT(*) FROM gnuhealth_insurance i LEFT JOIN party_party c ON c.id = i.company LEFT JOIN gnuhealth_insurance_plan pl ON pl.id = i.plan_id LEFT JOIN gnuhealth_patient p ON p.party = i.party WHERE c.is_insurance_company != 1 OR pl.company != i.company OR p.id IS NULL",
        "SELECT COUNT(*) FROM gnuhealth_patient p LEFT JOIN gnuhealth_insurance i ON i.id = p.current_insurance WHERE p.current_insurance IS NOT NULL AND (i.party != p.party OR i.member_exp <= '2026-01-01')",
        "SELECT COUNT(*) FROM (SELECT company, number FROM gnuhealth_insurance GROUP BY company, number HAVING COUNT(*) > 1)",
        "SELECT COUNT(*) FROM (SELECT name FROM gnuhealth_appointment WHERE name IS NOT NULL GROUP BY name HAVING COUNT(*) > 1)",
    ];
    for sql in checks {
        assert_eq!(count(conn, sql), 0, "{sql}");
    }
}

fn lab_results_and_templates(conn: &Connection) {
    // Templates belong to a test type and no report; results to a report only.
    assert!(
        count(
            conn,
            "SELECT COUNT(*) FROM gnuhealth_lab_test_critearea WHERE gnuhealth_lab_id IS NULL"
        ) >= 99
    );
    assert_eq!(
        count(
            conn,
            "SELECT COUNT(*) FROM gnuhealth_lab_test_critearea WHERE gnuhealth_lab_id IS NULL AND test_type_id IS NULL"
        ),
        0
    );
    assert_eq!(
        count(
            conn,
            "SELECT COUNT(*) FROM gnuhealth_lab_test_critearea WHERE gnuhealth_lab_id IS NOT NULL AND test_type_id IS NOT NULL"
        ),
        0
    );
    assert_eq!(
        count(
            conn,
            "SELECT COUNT(*) FROM gnuhealth_lab_test_critearea c LEFT JOIN gnuhealth_lab l ON l.id = c.gnuhealth_lab_id WHERE c.gnuhealth_lab_id IS NOT NULL AND l.id IS NULL"
        ),
        0
    );
    assert!(
        count(
            conn,
            "SELECT COUNT(*) FROM gnuhealth_lab_test_critearea WHERE gnuhealth_lab_id IS NOT NULL AND result IS NOT NULL"
        ) > 0
    );
    // A warning means out of range.
    assert_eq!(
        count(
            conn,
            "SELECT COUNT(*) FROM gnuhealth_lab_test_critearea WHERE warning = 1 AND NOT (result < lower_limit OR result > upper_limit OR (upper_limit IS NULL AND result < lower_limit))"
        ),
        0
    );
}

fn storage_conventions(conn: &Connection) {
    // Numeric as an ASCII BLOB, timestamps and dates as text, booleans as 0/1.
    assert_eq!(
        count(
            conn,
            "SELECT COUNT(*) FROM gnuhealth_du WHERE typeof(latitude) != 'blob'"
        ),
        0
    );
    assert_eq!(
        count(
            conn,
            "SELECT COUNT(*) FROM party_party WHERE create_date IS NULL OR create_uid IS NULL OR typeof(create_date) != 'text' OR create_date NOT GLOB '[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9]*'"
        ),
        0
    );
    assert_eq!(
        count(
            conn,
            "SELECT COUNT(*) FROM party_party WHERE dob IS NOT NULL AND length(dob) != 10"
        ),
        0
    );
    assert_eq!(
        count(
            conn,
            "SELECT COUNT(*) FROM party_party WHERE create_date LIKE '%.000000'"
        ),
        0
    );
    assert_eq!(
        count(
            conn,
            "SELECT COUNT(*) FROM gnuhealth_patient WHERE active NOT IN (0, 1)"
        ),
        0
    );
    assert_eq!(
        count(
            conn,
            "SELECT COUNT(*) FROM party_party WHERE ref NOT GLOB '[A-Z][A-Z][A-Z][0-9][0-9][0-9][A-Z][A-Z][A-Z]' AND ref NOT LIKE 'NP-%' AND ref NOT LIKE 'NN-%'"
        ),
        0
    );
    assert_eq!(
        count(
            conn,
            "SELECT COUNT(*) FROM (SELECT ref FROM party_party GROUP BY ref HAVING COUNT(*) > 1)"
        ),
        0
    );
    assert_eq!(
        count(
            conn,
            "SELECT COUNT(*) FROM party_party WHERE code NOT LIKE '%-GNU Solidario Hospital'"
        ),
        0
    );
    // No row anywhere is dated after the reference date.
    assert_eq!(
        count(
            conn,
            "SELECT COUNT(*) FROM gnuhealth_patient_disease WHERE create_date > '2026-01-01 09:00:00' OR diagnosed_date > '2026-01-01'"
        ),
        0
    );
    // create_uid/create_date on every row, but for the ir_model(_field) rows trytond
    // registers with raw SQL.
    let tables: Vec<String> = conn
        .prepare("SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) c WHERE m.type = 'table' AND c.name = 'create_date'")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .unwrap_or_else(|e| panic!("{e}"));
    for t in tables {
        let missing = count(
            conn,
            &format!(
                "SELECT COUNT(*) FROM \"{t}\" WHERE create_date IS NULL OR create_uid IS NULL"
            ),
        );
        if t != "ir_model" && t != "ir_model_field" {
            assert_eq!(missing, 0, "{t} has rows without create_uid/create_date");
        }
    }
    // The file is an ordinary database once built.
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap_or_default();
    assert_eq!(mode, "delete");
}

fn demo_user_password_verifies(conn: &Connection) {
    let hash: String = conn
        .query_row(
            "SELECT password_hash FROM res_user WHERE login = ?1 AND active = 1",
            [DEMO_LOGIN],
            |r| r.get(0),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(hash.starts_with("$scrypt$ln=16,r=8,p=1$"));
    assert!(crate::security::verify_password(DEMO_PASSWORD, &hash));
    // A Health Doctor.
    assert_eq!(
        count(
            conn,
            "SELECT COUNT(*) FROM \"res_user-res_group\" ug JOIN res_user u ON u.id = ug.\"user\" JOIN res_group g ON g.id = ug.\"group\" WHERE u.login = 'demo' AND g.name = 'Health Doctor'"
        ),
        1
    );
}

/// One generated database, checked from every angle (generation and the scrypt hash
/// are the slow part, so the read-only checks share it).
#[test]
fn generated_database_is_consistent() {
    let db = TempDb::new("db");
    let conn = open(&db.0);
    expected_row_counts(&conn);
    every_patient_has_one_official_name_in_sync(&conn);
    references_resolve(&conn);
    lab_results_and_templates(&conn);
    storage_conventions(&conn);
    demo_user_password_verifies(&conn);
    security_rows_are_consistent_and_let_the_demo_user_read(&conn);
    nothing_happens_after_death_or_before_birth(&conn);
    appointments_follow_the_clock(&conn);
}

#[test]
fn same_seed_same_data_and_reuse() {
    let first = TempDb::new("first");
    let second = TempDb(temp_db("again"));
    let other = &second.0;
    let summary = create_or_reuse(other, &options()).unwrap_or_else(|e| panic!("{e}"));
    assert!(!summary.reused);
    assert_eq!(summary.patients, u64::from(PATIENTS));
    let (a, b) = (open(&first.0), open(other));
    for table in [
        "gnuhealth_patient",
        "party_party",
        "gnuhealth_lab_test_critearea",
        "res_user",
    ] {
        assert_eq!(dump(&a, table), dump(&b, table), "{table} differs");
    }
    drop((a, b));
    // Not only the rows: the whole file is the same, byte for byte.
    let bytes = |p: &PathBuf| std::fs::read(p).unwrap_or_else(|e| panic!("{e}"));
    assert!(bytes(&first.0) == bytes(other), "the two files differ");
    // A second call reuses the file, whatever the options say.
    let again = create_or_reuse(
        other,
        &DemoOptions {
            patients: 7,
            seed: 1,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(again.reused);
    assert_eq!(again.patients, u64::from(PATIENTS));
}

#[test]
fn refuses_to_overwrite_other_files() {
    let path = temp_db("foreign");
    std::fs::write(&path, b"not a database at all, just some text")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        create_or_reuse(&path, &options()),
        Err(DemoError::NotGnuHealth(_))
    ));
    let empty = temp_db("empty-sqlite");
    Connection::open(&empty)
        .and_then(|c| c.execute_batch("CREATE TABLE x (id INTEGER)"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        create_or_reuse(&empty, &options()),
        Err(DemoError::NotGnuHealth(_))
    ));
    assert!(std::fs::read(&path).is_ok_and(|b| b.starts_with(b"not a database")));
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&empty);
}

fn security_rows_are_consistent_and_let_the_demo_user_read(conn: &Connection) {
    assert_eq!(
        count(
            conn,
            "SELECT COUNT(*) FROM ir_model_access a LEFT JOIN ir_model m ON m.id = a.model WHERE m.id IS NULL"
        ),
        0
    );
    assert_eq!(
        count(
            conn,
            "SELECT COUNT(*) FROM ir_model_field_access a LEFT JOIN ir_model_field f ON f.id = a.field WHERE f.id IS NULL"
        ),
        0
    );
    // Tryton's rule (no applicable row: granted; else OR over the user's groups and NULL).
    for model in [
        "gnuhealth.patient",
        "party.party",
        "gnuhealth.patient.disease",
        "gnuhealth.lab",
        "gnuhealth.lab.test.critearea",
        "gnuhealth.vaccination",
        "gnuhealth.medicament",
        "gnuhealth.patient.medication",
        "gnuhealth.prescription.order",
        "gnuhealth.institution",
        "gnuhealth.healthprofessional",
        "gnuhealth.surgery",
        "gnuhealth.operation",
        "gnuhealth.patient.family.diseases",
    ] {
        let (n, r): (i64, i64) = conn
            .query_row(
                "SELECT COUNT(*), COALESCE(MAX(a.perm_read), 0) FROM ir_model_access a \
                 JOIN ir_model m ON m.id = a.model \
                 WHERE m.model = ?1 AND a.active = 1 AND (a.\"group\" IS NULL OR a.\"group\" IN \
                   (SELECT ug.\"group\" FROM \"res_user-res_group\" ug JOIN res_user u ON u.id = ug.\"user\" WHERE u.login = 'demo'))",
                [model],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(n == 0 || r == 1, "demo cannot read {model}");
    }
}

fn nothing_happens_after_death_or_before_birth(conn: &Connection) {
    let dead = "JOIN gnuhealth_patient p ON p.id = x.patient JOIN party_party pp ON pp.id = p.party \
                JOIN gnuhealth_death_certificate dc ON dc.id = pp.death_certificate";
    for (table, column) in [
        ("gnuhealth_patient_disease", "diagnosed_date"),
        ("gnuhealth_vaccination", "date"),
        ("gnuhealth_lab", "date_requested"),
        ("gnuhealth_prescription_order", "prescription_date"),
        ("gnuhealth_patient_medication", "start_treatment"),
        ("gnuhealth_appointment", "appointment_date"),
    ] {
        let sql = format!("SELECT COUNT(*) FROM {table} x {dead} WHERE x.{column} > dc.dod");
        assert_eq!(count(conn, &sql), 0, "{table} after death");
        let sql = format!(
            "SELECT COUNT(*) FROM {table} x JOIN gnuhealth_patient p ON p.id = x.patient \
             JOIN party_party pp ON pp.id = p.party WHERE x.{column} < pp.dob"
        );
        assert_eq!(count(conn, &sql), 0, "{table} before birth");
    }
    let running =
        format!("SELECT COUNT(*) FROM gnuhealth_patient_medication x {dead} WHERE x.is_active = 1");
    assert_eq!(count(conn, &running), 0);
}

/// Past appointments were kept, missed or cancelled; upcoming ones are booked or offered,
/// and only those have no number.
fn appointments_follow_the_clock(conn: &Connection) {
    let now = "'2026-01-01 09:00:00'";
    for (sql, what) in [
        (
            format!(
                "SELECT COUNT(*) FROM gnuhealth_appointment WHERE appointment_date < {now} AND state IN ('confirmed', 'free')"
            ),
            "past and still open",
        ),
        (
            format!(
                "SELECT COUNT(*) FROM gnuhealth_appointment WHERE appointment_date > {now} AND state NOT IN ('confirmed', 'free')"
            ),
            "upcoming and closed",
        ),
        (
            "SELECT COUNT(*) FROM gnuhealth_appointment WHERE (name IS NULL) != (state = 'free')"
                .to_owned(),
            "numbering",
        ),
        (
            "SELECT COUNT(*) FROM gnuhealth_appointment WHERE create_date > appointment_date"
                .to_owned(),
            "booked after the visit",
        ),
    ] {
        assert_eq!(count(conn, &sql), 0, "{what}");
    }
    for state in [
        "done",
        "no_show",
        "user_cancelled",
        "center_cancelled",
        "confirmed",
    ] {
        let sql = format!("SELECT COUNT(*) FROM gnuhealth_appointment WHERE state = '{state}'");
        assert!(count(conn, &sql) > 0, "no {state} appointment");
    }
}
