//! Condition ← `gnuhealth_patient_disease` rows that are not allergies (`is_allergy` false;
//! the allergies share the table and the id space). The code is the ICD-10 pathology; the
//! treatment, infectiousness, pregnancy and institution details GNU Health records have no
//! R4 element and go into extensions under the server's base URL.

use fhir::datatypes::{
    Annotation, CodeableConcept, Coding, Extension, ExtensionValue, ICD10, Quantity, Reference,
    SNOMED, UCUM,
};
use fhir::resources::condition::{Condition, ConditionEvidence};
use serde_json::Value;

use super::{
    Cond, Context, FieldUse, Kind, Path, ResourceDef, SearchParam, Stored, System, meta, to_json,
};
use crate::db::{Database, DbError, Row};
use crate::tryton::{fhir_date, fhir_datetime};

pub const CLINICAL_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
pub const VERIFICATION_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
pub const CATEGORY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/condition-category";
/// Local code system of `gnuhealth_procedure.name` (ICD-10-PCS, CPT… whatever was loaded).
pub const PROCEDURE_SYSTEM: &str = "CodeSystem/procedure";

/// SNOMED CT severity ← `disease_severity`.
pub const SEVERITIES: &[(&str, &[&str])] = &[
    ("255604002", &["1_mi"]),
    ("6736007", &["2_mo"]),
    ("24484000", &["3_sv"]),
];

/// The clinical status as SQL, the same derivation as [`clinical_status`].
pub(crate) const CLINICAL_STATUS_SQL: &str = "CASE WHEN r.status = 'h' OR r.healed_date IS NOT NULL \
     THEN 'resolved' WHEN r.is_active = TRUE THEN 'active' ELSE 'inactive' END";

const PATHOLOGY_JOIN: (&str, &str) = ("gnuhealth_pathology pg", "pg.id = r.pathology");

/// `patient` over a `gnuhealth_patient_disease` row (Condition and AllergyIntolerance).
pub(crate) const CLINICAL_PATIENT: SearchParam = SearchParam::reference(
    "patient",
    "http://hl7.org/fhir/SearchParameter/clinical-patient",
    &[Path::col("r.patient", Stored::Id)],
    &["Patient"],
);

/// `code` of a `gnuhealth_patient_disease` row: its pathology's ICD-10 code.
pub(crate) const CLINICAL_CODE: SearchParam = SearchParam::new(
    "code",
    Kind::Token,
    "http://hl7.org/fhir/SearchParameter/clinical-code",
    &[Path::child(
        PATHOLOGY_JOIN.0,
        PATHOLOGY_JOIN.1,
        "pg.code",
        Stored::Code(System::Fixed(ICD10)),
    )
    .text("pg.name")],
);

pub static CONDITION: ResourceDef = ResourceDef {
    type_name: "Condition",
    models: &["gnuhealth.patient.disease"],
    from: "gnuhealth_patient_disease r",
    // Condition.subject is required: a row whose patient was deleted is no Condition.
    filter: &[
        Cond::IsFalse("r.is_allergy"),
        Cond::Sql("r.patient IS NOT NULL"),
    ],
    key: "r.id",
    key_is_text: false,
    last_updated: "COALESCE(r.write_date, r.create_date)",
    params: &[
        CLINICAL_PATIENT,
        SearchParam::reference(
            "subject",
            "http://hl7.org/fhir/SearchParameter/Condition-subject",
            &[Path::col("r.patient", Stored::Id)],
            &["Patient"],
        ),
        CLINICAL_CODE,
        SearchParam::new(
            "clinical-status",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Condition-clinical-status",
            &[Path::col(
                CLINICAL_STATUS_SQL,
                Stored::Code(System::Fixed(CLINICAL_SYSTEM)),
            )],
        ),
        // Every recorded disease is a confirmed diagnosis (see `load_conditions`).
        SearchParam::new(
            "verification-status",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Condition-verification-status",
            &[Path::col(
                "CAST('confirmed' AS VARCHAR)",
                Stored::Code(System::Fixed(VERIFICATION_SYSTEM)),
            )],
        ),
        SearchParam::new(
            "category",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Condition-category",
            &[Path::col(
                "CAST('problem-list-item' AS VARCHAR)",
                Stored::Code(System::Fixed(CATEGORY_SYSTEM)),
            )],
        ),
        SearchParam::new(
            "severity",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Condition-severity",
            &[Path::col(
                "r.disease_severity",
                Stored::Mapped(System::Fixed(SNOMED), SEVERITIES),
            )],
        ),
        SearchParam::new(
            "onset-date",
            Kind::Date,
            "http://hl7.org/fhir/SearchParameter/Condition-onset-date",
            &[Path::col("r.diagnosed_date", Stored::Date)],
        ),
        SearchParam::new(
            "abatement-date",
            Kind::Date,
            "http://hl7.org/fhir/SearchParameter/Condition-abatement-date",
            &[Path::col("r.healed_date", Stored::Date)],
        ),
        SearchParam::new(
            "recorded-date",
            Kind::Date,
            "http://hl7.org/fhir/SearchParameter/Condition-recorded-date",
            &[Path::col("r.create_date", Stored::Timestamp)],
        ),
        SearchParam::reference(
            "asserter",
            "http://hl7.org/fhir/SearchParameter/Condition-asserter",
            &[Path::col("r.healthprof", Stored::Id)],
            &["Practitioner"],
        ),
        SearchParam::reference(
            "evidence-detail",
            "http://hl7.org/fhir/SearchParameter/Condition-evidence-detail",
            &[Path::col("r.lab_test", Stored::Id)],
            &["DiagnosticReport"],
        ),
    ],
    load,
    aliases: &[("gnuhealth.patient.disease", "r")],
    // The ICD-10 code and name are the value of `pathology`, the procedure's of `pcs_code`.
    // The treatment sub-extensions go as a whole (an extension left without value would be
    // invalid), and the notes cannot be told apart. Category and verification status are
    // constant; the recorded date is `create_date`, not access-controlled.
    fields: &[
        FieldUse::required(
            "gnuhealth.patient.disease",
            "patient",
            &["subject"],
            &["patient", "subject"],
        ),
        FieldUse::new(
            "gnuhealth.patient.disease",
            "pathology",
            &["code"],
            &["code"],
        ),
        FieldUse::new(
            "gnuhealth.patient.disease",
            "status",
            &["clinicalStatus"],
            &["clinical-status"],
        ),
        FieldUse::new(
            "gnuhealth.patient.disease",
            "is_active",
            &["clinicalStatus"],
            &["clinical-status"],
        ),
        FieldUse::new(
            "gnuhealth.patient.disease",
            "healed_date",
            &["clinicalStatus", "abatementDateTime"],
            &["clinical-status", "abatement-date"],
        ),
        FieldUse::new(
            "gnuhealth.patient.disease",
            "disease_severity",
            &["severity"],
            &["severity"],
        ),
        FieldUse::new(
            "gnuhealth.patient.disease",
            "diagnosed_date",
            &["onsetDateTime"],
            &["onset-date"],
        ),
        FieldUse::new("gnuhealth.patient.disease", "age", &["onsetAge"], &[]),
        FieldUse::new(
            "gnuhealth.patient.disease",
            "est_dodx",
            &["extension[url$=/StructureDefinition/condition-onset-estimated]"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient.disease",
            "healthprof",
            &["asserter", "recorder"],
            &["asserter"],
        ),
        FieldUse::new(
            "gnuhealth.patient.disease",
            "institution",
            &["extension[url$=/StructureDefinition/condition-institution]"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient.disease",
            "lab_test",
            &["evidence"],
            &["evidence-detail"],
        ),
        FieldUse::new("gnuhealth.patient.disease", "short_comment", &["note"], &[]),
        FieldUse::new("gnuhealth.patient.disease", "extra_info", &["note"], &[]),
        FieldUse::new(
            "gnuhealth.patient.disease",
            "treatment_description",
            &["note"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient.disease",
            "is_infectious",
            &["extension[url$=/StructureDefinition/condition-infectious]"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient.disease",
            "is_on_treatment",
            &["extension[url$=/StructureDefinition/condition-treatment]"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient.disease",
            "date_start_treatment",
            &["extension[url$=/StructureDefinition/condition-treatment]"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient.disease",
            "date_stop_treatment",
            &["extension[url$=/StructureDefinition/condition-treatment]"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient.disease",
            "pcs_code",
            &["extension[url$=/StructureDefinition/condition-treatment]"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient.disease",
            "pregnancy_warning",
            &["extension[url$=/StructureDefinition/condition-pregnancy-warning]"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient.disease",
            "weeks_of_pregnancy",
            &["extension[url$=/StructureDefinition/condition-weeks-of-pregnancy]"],
            &[],
        ),
    ],
    count_from: None,
    id_rows: &[],
};

super::int_loader!(load_conditions);

async fn load_conditions(db: &Database, ctx: &Context, ids: &[i64]) -> Result<Vec<Value>, DbError> {
    let mut main = db.sql();
    main.push(
        "SELECT r.id, r.patient, pg.code, pg.name, r.status, r.healed_date, r.is_active, \
         r.disease_severity, r.diagnosed_date, r.age, r.est_dodx, r.create_date, \
         r.healthprof, r.institution, r.short_comment, r.extra_info, \
         r.treatment_description, r.lab_test, r.is_infectious, r.is_on_treatment, \
         r.date_start_treatment, r.date_stop_treatment, pr.name, pr.description, \
         r.pregnancy_warning, r.weeks_of_pregnancy, COALESCE(r.write_date, r.create_date) \
         FROM gnuhealth_patient_disease r \
         LEFT JOIN gnuhealth_pathology pg ON pg.id = r.pathology \
         LEFT JOIN gnuhealth_procedure pr ON pr.id = r.pcs_code WHERE ",
    )
    .in_ids("r.id", ids)
    .push(" AND ");
    // A read of an allergy id must not find it here.
    crate::search::where_clause(&mut main, &CONDITION, ctx, &[])
        .map_err(|e| DbError::Query(e.to_string()))?;
    let rows = db.query(&main).await?;

    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(patient) = row.opt_int(1) else {
            continue;
        };
        let healed = row.opt_str(5).and_then(fhir_date);
        let mut c = Condition {
            resource_type: "Condition",
            id: row.int(0).to_string(),
            meta: meta(row.opt_str(26)),
            subject: Reference::to("Patient", patient, None),
            ..Default::default()
        };
        c.extension = extensions(ctx, &row);
        let status = clinical_status(row.opt_str(4), healed.is_some(), row.bool(6));
        c.clinical_status = Some(CodeableConcept::coded(
            CLINICAL_SYSTEM,
            status,
            Some(capitalized(status)),
        ));
        // GNU Health records diagnoses, not hypotheses (those live in the evaluation's
        // `gnuhealth_diagnostic_hypothesis`): a patient disease is confirmed.
        c.verification_status = Some(CodeableConcept::coded(
            VERIFICATION_SYSTEM,
            "confirmed",
            Some("Confirmed".into()),
        ));
        c.category = vec![CodeableConcept::coded(
            CATEGORY_SYSTEM,
            "problem-list-item",
            Some("Problem List Item".into()),
        )];
        c.severity = row.opt_str(7).and_then(severity);
        c.code = icd10(row.opt_text(2), row.opt_text(3));
        match row.opt_str(8).and_then(fhir_date) {
            Some(d) => c.onset_date_time = Some(d),
            None => c.onset_age = row.opt_int(9).map(age),
        }
        c.abatement_date_time = healed;
        c.recorded_date = row.opt_str(11).and_then(fhir_datetime);
        if let Some(hp) = row.opt_int(12) {
            // The professional who diagnosed is also the one who recorded it.
            c.asserter = Some(Reference::to("Practitioner", hp, None));
            c.recorder = c.asserter.clone();
        }
        if let Some(lab) = row.opt_int(17) {
            c.evidence.push(ConditionEvidence {
                detail: vec![Reference::to("DiagnosticReport", lab, None)],
                ..Default::default()
            });
        }
        c.note = notes(row.opt_text(14), row.opt_text(15), row.opt_text(16));
        out.push(to_json(&c)?);
    }
    Ok(out)
}

/// `resolved` when healed (status `h` or a healed date), else `active` per `is_active`.
pub fn clinical_status(status: Option<&str>, healed: bool, is_active: bool) -> &'static str {
    if status == Some("h") || healed {
        "resolved"
    } else if is_active {
        "active"
    } else {
        "inactive"
    }
}

fn capitalized(code: &str) -> String {
    let mut chars = code.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// SNOMED CT severity of a stored `disease_severity` (the codes the old server used).
pub fn severity(code: &str) -> Option<CodeableConcept> {
    let (snomed, display) = match code {
        "1_mi" => ("255604002", "Mild"),
        "2_mo" => ("6736007", "Moderate"),
        "3_sv" => ("24484000", "Severe"),
        _ => return None,
    };
    Some(CodeableConcept::coded(SNOMED, snomed, Some(display.into())))
}

/// An ICD-10 pathology (code, name) as a concept.
pub fn icd10(code: Option<String>, name: Option<String>) -> Option<CodeableConcept> {
    match code {
        Some(code) => Some(CodeableConcept::coded(ICD10, code, name)),
        None => name.map(CodeableConcept::text),
    }
}

/// Age at diagnosis, in years.
pub(crate) fn age(years: i64) -> Quantity {
    Quantity {
        value: Some(years as f64),
        unit: Some("years".into()),
        system: Some(UCUM.into()),
        code: Some("a".into()),
        ..Default::default()
    }
}

pub(crate) fn notes(
    comment: Option<String>,
    extra_info: Option<String>,
    treatment: Option<String>,
) -> Vec<Annotation> {
    [
        comment,
        extra_info,
        treatment.map(|t| format!("Treatment: {t}")),
    ]
    .into_iter()
    .flatten()
    .filter(|t| !t.trim().is_empty())
    .map(Annotation::text)
    .collect()
}

/// URL of one of this server's Condition extensions.
fn ext_url(ctx: &Context, name: &str) -> String {
    ctx.system(&format!("StructureDefinition/condition-{name}"))
}

/// Columns 10 (estimated onset), 13 (institution), 18–25 (infectious, treatment,
/// pregnancy) as extensions; flags only when set.
fn extensions(ctx: &Context, row: &Row) -> Vec<Extension> {
    let mut ext = Vec::new();
    if row.bool(10) {
        ext.push(Extension::new(
            ext_url(ctx, "onset-estimated"),
            ExtensionValue::Boolean(true),
        ));
    }
    if let Some(inst) = row.opt_int(13) {
        ext.push(Extension::new(
            ext_url(ctx, "institution"),
            ExtensionValue::Reference(Reference::to("Organization", inst, None)),
        ));
    }
    if row.bool(18) {
        ext.push(Extension::new(
            ext_url(ctx, "infectious"),
            ExtensionValue::Boolean(true),
        ));
    }
    let mut treatment = Vec::new();
    if row.bool(19) {
        treatment.push(Extension::new("onTreatment", ExtensionValue::Boolean(true)));
    }
    if let Some(d) = row.opt_str(20).and_then(fhir_date) {
        treatment.push(Extension::new("start", ExtensionValue::Date(d)));
    }
    if let Some(d) = row.opt_str(21).and_then(fhir_date) {
        treatment.push(Extension::new("end", ExtensionValue::Date(d)));
    }
    if let Some(code) = row.opt_text(22) {
        let description = row.opt_text(23);
        treatment.push(Extension::new(
            "procedure",
            ExtensionValue::CodeableConcept(CodeableConcept {
                coding: vec![Coding::new(
                    &ctx.system(PROCEDURE_SYSTEM),
                    code,
                    description.clone(),
                )],
                text: description,
            }),
        ));
    }
    if !treatment.is_empty() {
        ext.push(Extension::new(
            ext_url(ctx, "treatment"),
            ExtensionValue::Extensions(treatment),
        ));
    }
    if row.bool(24) {
        ext.push(Extension::new(
            ext_url(ctx, "pregnancy-warning"),
            ExtensionValue::Boolean(true),
        ));
    }
    if let Some(weeks) = row.opt_int(25).filter(|w| *w > 0) {
        ext.push(Extension::new(
            ext_url(ctx, "weeks-of-pregnancy"),
            ExtensionValue::Integer(weeks),
        ));
    }
    ext
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_uses() {
        crate::resources::patient::field_checks::check(
            &CONDITION,
            &["verification-status", "category", "recorded-date"],
        );
    }

    #[test]
    fn clinical_status_derivation() {
        assert_eq!(clinical_status(Some("c"), false, true), "active");
        assert_eq!(clinical_status(Some("h"), false, true), "resolved");
        assert_eq!(clinical_status(Some("a"), true, false), "resolved");
        assert_eq!(clinical_status(None, false, false), "inactive");
        assert_eq!(clinical_status(Some("i"), false, false), "inactive");
    }

    #[test]
    fn clinical_status_sql_has_every_code() {
        for code in ["resolved", "active", "inactive"] {
            assert!(CLINICAL_STATUS_SQL.contains(&format!("'{code}'")));
        }
    }

    #[test]
    fn severities() {
        let s = severity("2_mo");
        let coding = s.as_ref().map(|s| &s.coding[0]);
        assert_eq!(coding.and_then(|c| c.code.as_deref()), Some("6736007"));
        assert_eq!(coding.and_then(|c| c.system.as_deref()), Some(SNOMED));
        assert_eq!(coding.and_then(|c| c.display.as_deref()), Some("Moderate"));
        assert_eq!(
            severity("1_mi").and_then(|s| s.text),
            Some("Mild".to_owned())
        );
        assert_eq!(
            severity("3_sv").and_then(|s| s.text),
            Some("Severe".to_owned())
        );
        assert_eq!(severity("x"), None);
        // The search table says the same.
        for (snomed, stored) in SEVERITIES {
            for code in *stored {
                let c = severity(code).and_then(|s| s.coding[0].code.clone());
                assert_eq!(c.as_deref(), Some(*snomed));
            }
        }
    }

    #[test]
    fn icd10_code() {
        let c = icd10(
            Some("I10".into()),
            Some("Essential (primary) hypertension".into()),
        );
        assert_eq!(
            c.as_ref().map(|c| c.coding[0].system.as_deref()),
            Some(Some(ICD10))
        );
        assert_eq!(icd10(None, None), None);
    }

    #[test]
    fn notes_skip_blanks() {
        let n = notes(
            Some("well controlled".into()),
            Some("  ".into()),
            Some("Enalapril".into()),
        );
        assert_eq!(n.len(), 2);
        assert_eq!(n[1].text, "Treatment: Enalapril");
    }

    #[test]
    fn onset_age_is_ucum_years() {
        let a = age(45);
        assert_eq!(a.code.as_deref(), Some("a"));
        assert_eq!(a.system.as_deref(), Some(UCUM));
        assert_eq!(a.value, Some(45.0));
    }
}
