//! AllergyIntolerance ← `gnuhealth_patient_disease` rows that are allergies (`is_allergy`
//! true; GNU Health 5.0 has no allergy model of its own, so Condition and
//! AllergyIntolerance share the table and its id space). The code is the ICD-10 pathology
//! (`Z88.0` allergy to penicillin…); the substance and the reaction are only free text, in
//! the comment. `allergy_type` gives the type and category, `disease_severity` the
//! criticality and the reaction's severity.

use fhir::datatypes::{CodeableConcept, Reference};
use fhir::resources::allergy_intolerance::{AllergyIntolerance, AllergyIntoleranceReaction};
use serde_json::Value;

use super::condition::{
    CLINICAL_CODE, CLINICAL_PATIENT, CLINICAL_STATUS_SQL, age, clinical_status, icd10, notes,
};
use super::{
    Cond, Context, FieldUse, Kind, Path, ResourceDef, SearchParam, Stored, System, meta, to_json,
};
use crate::db::{Database, DbError};
use crate::tryton::{fhir_date, fhir_datetime};

pub const CLINICAL_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";
pub const VERIFICATION_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification";
pub const TYPE_SYSTEM: &str = "http://hl7.org/fhir/allergy-intolerance-type";
pub const CATEGORY_SYSTEM: &str = "http://hl7.org/fhir/allergy-intolerance-category";
pub const CRITICALITY_SYSTEM: &str = "http://hl7.org/fhir/allergy-intolerance-criticality";
pub const SEVERITY_SYSTEM: &str = "http://hl7.org/fhir/reaction-event-severity";

/// `type` ← `allergy_type`: a "misc contraindication" is an intolerance, every other kind
/// an allergy.
pub const TYPES: &[(&str, &[&str])] = &[("allergy", &["da", "fa", "ma"]), ("intolerance", &["mc"])];

/// `category` ← `allergy_type`. A contraindication names no kind of substance: no category.
pub const CATEGORIES: &[(&str, &[&str])] = &[
    ("medication", &["da"]),
    ("food", &["fa"]),
    ("environment", &["ma"]),
];

/// `criticality` ← `disease_severity`: only a severe allergy is a high risk of a
/// life-threatening reaction.
pub const CRITICALITIES: &[(&str, &[&str])] = &[("low", &["1_mi", "2_mo"]), ("high", &["3_sv"])];

/// `reaction.severity` ← `disease_severity`.
pub const SEVERITIES: &[(&str, &[&str])] = &[
    ("mild", &["1_mi"]),
    ("moderate", &["2_mo"]),
    ("severe", &["3_sv"]),
];

/// The rows with a reaction: its manifestation is the comment (R4 requires one), so a
/// severity without a comment stays the criticality only. Same test as [`reaction`].
const HAS_REACTION_SQL: &str = "TRIM(r.short_comment) <> ''";

const MODEL: &str = "gnuhealth.patient.disease";

pub static ALLERGY_INTOLERANCE: ResourceDef = ResourceDef {
    type_name: "AllergyIntolerance",
    models: &[MODEL],
    from: "gnuhealth_patient_disease r",
    // AllergyIntolerance.patient is required: a row whose patient was deleted is none.
    filter: &[
        Cond::IsTrue("r.is_allergy"),
        Cond::Sql("r.patient IS NOT NULL"),
    ],
    key: "r.id",
    key_is_text: false,
    last_updated: "COALESCE(r.write_date, r.create_date)",
    params: &[
        CLINICAL_PATIENT,
        CLINICAL_CODE,
        SearchParam::new(
            "clinical-status",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/AllergyIntolerance-clinical-status",
            &[Path::col(
                CLINICAL_STATUS_SQL,
                Stored::Code(System::Fixed(CLINICAL_SYSTEM)),
            )],
        ),
        // Every recorded allergy is confirmed (see `load_allergies`).
        SearchParam::new(
            "verification-status",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/AllergyIntolerance-verification-status",
            &[Path::col(
                "CAST('confirmed' AS VARCHAR)",
                Stored::Code(System::Fixed(VERIFICATION_SYSTEM)),
            )],
        ),
        SearchParam::new(
            "type",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/clinical-type",
            &[Path::col(
                "r.allergy_type",
                Stored::Mapped(System::Fixed(TYPE_SYSTEM), TYPES),
            )],
        ),
        SearchParam::new(
            "category",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/AllergyIntolerance-category",
            &[Path::col(
                "r.allergy_type",
                Stored::Mapped(System::Fixed(CATEGORY_SYSTEM), CATEGORIES),
            )],
        ),
        SearchParam::new(
            "criticality",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/AllergyIntolerance-criticality",
            &[Path::col(
                "r.disease_severity",
                Stored::Mapped(System::Fixed(CRITICALITY_SYSTEM), CRITICALITIES),
            )],
        ),
        SearchParam::new(
            "severity",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/AllergyIntolerance-severity",
            &[Path::col(
                "r.disease_severity",
                Stored::Mapped(System::Fixed(SEVERITY_SYSTEM), SEVERITIES),
            )
            .when(HAS_REACTION_SQL)],
        ),
        SearchParam::new(
            "onset",
            Kind::Date,
            "http://hl7.org/fhir/SearchParameter/AllergyIntolerance-onset",
            &[Path::col("r.diagnosed_date", Stored::Date)],
        ),
        SearchParam::new(
            "date",
            Kind::Date,
            "http://hl7.org/fhir/SearchParameter/clinical-date",
            &[Path::col("r.create_date", Stored::Timestamp)],
        ),
        SearchParam::reference(
            "recorder",
            "http://hl7.org/fhir/SearchParameter/AllergyIntolerance-recorder",
            &[Path::col("r.healthprof", Stored::Id)],
            &["Practitioner"],
        ),
        SearchParam::reference(
            "asserter",
            "http://hl7.org/fhir/SearchParameter/AllergyIntolerance-asserter",
            &[Path::col("r.healthprof", Stored::Id)],
            &["Practitioner"],
        ),
    ],
    load,
    aliases: &[(MODEL, "r")],
    // The ICD-10 code and name are the value of `pathology`. The verification status is
    // constant; the recorded date is `create_date`, not access-controlled.
    fields: &[
        FieldUse::required(MODEL, "patient", &["patient"], &["patient"]),
        FieldUse::new(MODEL, "pathology", &["code"], &["code"]),
        FieldUse::new(MODEL, "status", &["clinicalStatus"], &["clinical-status"]),
        FieldUse::new(
            MODEL,
            "is_active",
            &["clinicalStatus"],
            &["clinical-status"],
        ),
        FieldUse::new(
            MODEL,
            "healed_date",
            &["clinicalStatus"],
            &["clinical-status"],
        ),
        FieldUse::new(
            MODEL,
            "allergy_type",
            &["type", "category"],
            &["type", "category"],
        ),
        FieldUse::new(
            MODEL,
            "disease_severity",
            &["criticality", "reaction"],
            &["criticality", "severity"],
        ),
        FieldUse::new(MODEL, "diagnosed_date", &["onsetDateTime"], &["onset"]),
        FieldUse::new(MODEL, "age", &["onsetAge"], &[]),
        FieldUse::new(
            MODEL,
            "healthprof",
            &["recorder", "asserter"],
            &["recorder", "asserter"],
        ),
        FieldUse::new(MODEL, "short_comment", &["note", "reaction"], &["severity"]),
        FieldUse::new(MODEL, "extra_info", &["note"], &[]),
    ],
    count_from: None,
    id_rows: &[],
};

super::int_loader!(load_allergies);

async fn load_allergies(db: &Database, ctx: &Context, ids: &[i64]) -> Result<Vec<Value>, DbError> {
    let mut main = db.sql();
    main.push(
        "SELECT r.id, r.patient, pg.code, pg.name, r.status, r.healed_date, r.is_active, \
         r.allergy_type, r.disease_severity, r.diagnosed_date, r.age, r.create_date, \
         r.healthprof, r.short_comment, r.extra_info, COALESCE(r.write_date, r.create_date) \
         FROM gnuhealth_patient_disease r \
         LEFT JOIN gnuhealth_pathology pg ON pg.id = r.pathology WHERE ",
    )
    .in_ids("r.id", ids)
    .push(" AND ");
    // A read of a condition's id must not find it here.
    crate::search::where_clause(&mut main, &ALLERGY_INTOLERANCE, ctx, &[])
        .map_err(|e| DbError::Query(e.to_string()))?;
    let rows = db.query(&main).await?;

    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(patient) = row.opt_int(1) else {
            continue;
        };
        let healed = row.opt_str(5).and_then(fhir_date).is_some();
        let status = clinical_status(row.opt_str(4), healed, row.bool(6));
        let kind = row.opt_str(7);
        let severity = row.opt_str(8);
        let comment = row.opt_text(13);
        let mut a = AllergyIntolerance {
            resource_type: "AllergyIntolerance",
            id: row.int(0).to_string(),
            meta: meta(row.opt_str(15)),
            clinical_status: Some(CodeableConcept::coded(
                CLINICAL_SYSTEM,
                status,
                Some(display(status)),
            )),
            // As for Condition: GNU Health records what was established, not suspicions.
            verification_status: Some(CodeableConcept::coded(
                VERIFICATION_SYSTEM,
                "confirmed",
                Some("Confirmed".into()),
            )),
            type_: kind.and_then(|k| mapped(TYPES, k)),
            category: kind
                .and_then(|k| mapped(CATEGORIES, k))
                .into_iter()
                .collect(),
            criticality: severity.and_then(|s| mapped(CRITICALITIES, s)),
            code: icd10(row.opt_text(2), row.opt_text(3)),
            patient: Reference::to("Patient", patient, None),
            recorded_date: row.opt_str(11).and_then(fhir_datetime),
            reaction: reaction(severity, comment.as_deref()).into_iter().collect(),
            ..Default::default()
        };
        match row.opt_str(9).and_then(fhir_date) {
            Some(d) => a.onset_date_time = Some(d),
            None => a.onset_age = row.opt_int(10).map(age),
        }
        if let Some(hp) = row.opt_int(12) {
            // The professional who recorded the allergy is the one who established it.
            a.recorder = Some(Reference::to("Practitioner", hp, None));
            a.asserter = a.recorder.clone();
        }
        a.note = notes(comment, row.opt_text(14), None);
        out.push(to_json(&a)?);
    }
    Ok(out)
}

/// The FHIR code a stored code maps to in one of the tables above.
fn mapped(table: &[(&'static str, &[&str])], stored: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|(_, codes)| codes.contains(&stored))
        .map(|(fhir, _)| *fhir)
}

/// The display of a clinical status code.
fn display(status: &str) -> String {
    match status {
        "active" => "Active",
        "resolved" => "Resolved",
        _ => "Inactive",
    }
    .to_owned()
}

/// The reaction: GNU Health keeps what happened only as the free-text comment ("Penicillin:
/// urticaria"), which becomes the manifestation; without it there is no reaction to
/// describe (R4 requires a manifestation) and the severity is the criticality only.
fn reaction(severity: Option<&str>, comment: Option<&str>) -> Option<AllergyIntoleranceReaction> {
    let severity = mapped(SEVERITIES, severity?)?;
    let comment = comment.map(str::trim).filter(|c| !c.is_empty())?;
    Some(AllergyIntoleranceReaction {
        manifestation: vec![CodeableConcept::text(comment)],
        severity: Some(severity),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_uses() {
        crate::resources::patient::field_checks::check(
            &ALLERGY_INTOLERANCE,
            &["verification-status", "date"],
        );
    }

    #[test]
    fn every_allergy_type_has_a_type_and_all_but_contraindications_a_category() {
        assert_eq!(mapped(TYPES, "da"), Some("allergy"));
        assert_eq!(mapped(TYPES, "mc"), Some("intolerance"));
        assert_eq!(mapped(CATEGORIES, "da"), Some("medication"));
        assert_eq!(mapped(CATEGORIES, "fa"), Some("food"));
        assert_eq!(mapped(CATEGORIES, "ma"), Some("environment"));
        assert_eq!(mapped(CATEGORIES, "mc"), None);
        for code in ["da", "fa", "ma", "mc"] {
            assert!(mapped(TYPES, code).is_some(), "{code}");
        }
        assert_eq!(mapped(TYPES, "x"), None);
    }

    #[test]
    fn only_severe_is_high_criticality() {
        assert_eq!(mapped(CRITICALITIES, "3_sv"), Some("high"));
        assert_eq!(mapped(CRITICALITIES, "2_mo"), Some("low"));
        assert_eq!(mapped(CRITICALITIES, "1_mi"), Some("low"));
    }

    #[test]
    fn reaction_needs_a_severity_and_a_comment() {
        let r = reaction(Some("2_mo"), Some(" Penicillin: urticaria "));
        assert_eq!(r.as_ref().and_then(|r| r.severity), Some("moderate"));
        assert_eq!(
            r.and_then(|r| r.manifestation[0].text.clone()).as_deref(),
            Some("Penicillin: urticaria")
        );
        assert!(reaction(None, Some("Peanut: urticaria")).is_none());
        assert!(reaction(Some("3_sv"), Some("  ")).is_none());
        assert!(reaction(Some("3_sv"), None).is_none());
        // The SQL of the severity parameter tests the same blank comment.
        assert!(HAS_REACTION_SQL.contains("TRIM(r.short_comment)"));
    }

    #[test]
    fn clinical_status_displays() {
        for code in ["active", "inactive", "resolved"] {
            assert!(CLINICAL_STATUS_SQL.contains(&format!("'{code}'")));
            assert!(display(code).eq_ignore_ascii_case(code));
        }
    }
}
