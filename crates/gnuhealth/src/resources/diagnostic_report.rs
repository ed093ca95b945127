//! DiagnosticReport ← `gnuhealth_lab` (a lab test report) with its test type
//! (`gnuhealth_lab_test_type`: code, name, category), its analyte rows (the Observations),
//! the request it answers (`gnuhealth_patient_lab_test`, referenced as ServiceRequest ids),
//! its ICD-10 diagnosis and its attached files (`ir_attachment`).

use std::collections::HashMap;

use fhir::datatypes::{Attachment, CodeableConcept, Coding, ICD10, Identifier, Reference};
use fhir::resources::diagnostic_report::DiagnosticReport;
use serde_json::Value;

use super::observation::practitioners;
use super::{
    Context, FieldUse, Kind, Path, ResourceDef, SearchParam, Stored, System, group_by, meta,
    to_json,
};
use crate::db::{Database, DbError, Row};
use crate::tryton::fhir_datetime;

/// The request a lab report answers, as a join condition on `gnuhealth_patient_lab_test sr`
/// for the report alias given: the report keeps the order number (`request_order`, shared by
/// the tests of one order), so the request is the order's line for the same test type and
/// patient. The patient equality comes first and stands alone so the index GNU Health has on
/// `patient_id` is used; reports on samples of no patient are matched by
/// [`request_link_no_patient`].
macro_rules! request_link {
    ($lab:literal) => {
        concat!(
            "sr.patient_id = ",
            $lab,
            ".patient AND sr.request = ",
            $lab,
            ".request_order AND sr.test_type = ",
            $lab,
            ".test"
        )
    };
}
pub(crate) use request_link;

/// [`request_link`] for reports on a sample of no patient (`other_source`).
macro_rules! request_link_no_patient {
    ($lab:literal) => {
        concat!(
            "sr.patient_id IS NULL AND ",
            $lab,
            ".patient IS NULL AND sr.request = ",
            $lab,
            ".request_order AND sr.test_type = ",
            $lab,
            ".test"
        )
    };
}
pub(crate) use request_link_no_patient;

pub const V2_0074: &str = "http://terminology.hl7.org/CodeSystem/v2-0074";
pub const V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";
pub const STATUS_SYSTEM: &str = "http://hl7.org/fhir/diagnostic-report-status";
/// GNU Health's lab test types (`CBC`, `GLU`…).
pub const TEST_TYPE_SYSTEM: &str = "CodeSystem/lab-test-type";
/// `gnuhealth_lab_test_type.category` codes.
pub const CATEGORY_SYSTEM: &str = "CodeSystem/lab-test-category";
/// The lab's own report number (`gnuhealth_lab.name`, sequence `TEST001`).
pub const IDENTIFIER_SYSTEM: &str = "sid/lab-test";

/// FHIR status ← `gnuhealth_lab.state`: a draft report is being filled in (partial and
/// unverified); done and validated reports are complete.
pub const STATUSES: &[(&str, &[&str])] =
    &[("partial", &["draft"]), ("final", &["done", "validated"])];

/// A test type category: GNU Health's code and label, and the v2-0074 service section
/// (code, display) when one matches.
pub struct LabCategory {
    pub code: &'static str,
    pub label: &'static str,
    pub v2: Option<(&'static str, &'static str)>,
}

const fn cat(
    code: &'static str,
    label: &'static str,
    v2: Option<(&'static str, &'static str)>,
) -> LabCategory {
    LabCategory { code, label, v2 }
}

/// `gnuhealth_lab_test_type.category` codes.
pub const CATEGORIES: &[LabCategory] = &[
    cat(
        "hematology",
        "Hematology Testing",
        Some(("HM", "Hematology")),
    ),
    cat("fluid_excreta", "Body Fluid and Excreta Examination", None),
    cat(
        "biochemical",
        "Biochemical Testing",
        Some(("CH", "Chemistry")),
    ),
    cat(
        "immunological",
        "Immunological Testing",
        Some(("IMM", "Immunology")),
    ),
    cat(
        "microbiological",
        "Microbiological Testing",
        Some(("MB", "Microbiology")),
    ),
    cat("molecular_biology", "Molecular Biology Testing", None),
    cat(
        "chromosome_genetic",
        "Chromosome and Genetic Disease Detection",
        Some(("GE", "Genetics")),
    ),
    cat("others", "Others", None),
];

/// The v2-0074 codes of [`CATEGORIES`] as a token map for search.
const V2_CATEGORIES: &[(&str, &[&str])] = &[
    ("HM", &["hematology"]),
    ("CH", &["biochemical"]),
    ("IMM", &["immunological"]),
    ("MB", &["microbiological"]),
    ("GE", &["chromosome_genetic"]),
];

const SUBJECT_IS_PATIENT: &str = "COALESCE(r.source_type, 'patient') = 'patient'";
const PATIENT_PATHS: &[Path] = &[Path::col("r.patient", Stored::Id).when(SUBJECT_IS_PATIENT)];

pub static DIAGNOSTIC_REPORT: ResourceDef = ResourceDef {
    type_name: "DiagnosticReport",
    models: &["gnuhealth.lab"],
    from: "gnuhealth_lab r LEFT JOIN gnuhealth_lab_test_type tt ON tt.id = r.test",
    filter: &[],
    key: "r.id",
    key_is_text: false,
    last_updated: "COALESCE(r.write_date, r.create_date)",
    params: &[
        SearchParam::reference(
            "patient",
            "http://hl7.org/fhir/SearchParameter/clinical-patient",
            PATIENT_PATHS,
            &["Patient"],
        ),
        SearchParam::reference(
            "subject",
            "http://hl7.org/fhir/SearchParameter/DiagnosticReport-subject",
            PATIENT_PATHS,
            &["Patient"],
        ),
        SearchParam::new(
            "identifier",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/clinical-identifier",
            &[Path::col(
                "r.name",
                Stored::Code(System::Local(IDENTIFIER_SYSTEM)),
            )],
        ),
        SearchParam::new(
            "code",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/clinical-code",
            &[Path::col(
                "tt.code",
                Stored::Code(System::Local(TEST_TYPE_SYSTEM)),
            )],
        ),
        SearchParam::new(
            "category",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/DiagnosticReport-category",
            &[
                Path::col("'LAB'", Stored::Code(System::Fixed(V2_0074))),
                Path::col(
                    "tt.category",
                    Stored::Mapped(System::Fixed(V2_0074), V2_CATEGORIES),
                ),
                Path::col("tt.category", Stored::Code(System::Local(CATEGORY_SYSTEM))),
            ],
        ),
        SearchParam::new(
            "date",
            Kind::Date,
            "http://hl7.org/fhir/SearchParameter/clinical-date",
            &[Path::col("r.date_analysis", Stored::Timestamp)],
        ),
        SearchParam::new(
            "issued",
            Kind::Date,
            "http://hl7.org/fhir/SearchParameter/DiagnosticReport-issued",
            &[Path::col(
                "COALESCE(r.validation_date, r.done_date)",
                Stored::Timestamp,
            )],
        ),
        SearchParam::new(
            "status",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/DiagnosticReport-status",
            &[Path::col(
                "COALESCE(r.state, 'draft')",
                Stored::Mapped(System::Fixed(STATUS_SYSTEM), STATUSES),
            )],
        ),
        SearchParam::reference(
            "result",
            "http://hl7.org/fhir/SearchParameter/DiagnosticReport-result",
            &[Path::child(
                "gnuhealth_lab_test_critearea rc",
                "rc.gnuhealth_lab_id = r.id",
                "rc.id",
                Stored::Id,
            )],
            &["Observation"],
        ),
        SearchParam::reference(
            "performer",
            "http://hl7.org/fhir/SearchParameter/DiagnosticReport-performer",
            &[
                Path::col("r.pathologist", Stored::Id),
                Path::col("r.done_by", Stored::Id),
            ],
            &["Practitioner"],
        ),
        SearchParam::reference(
            "results-interpreter",
            "http://hl7.org/fhir/SearchParameter/DiagnosticReport-results-interpreter",
            &[Path::col("r.validated_by", Stored::Id)],
            &["Practitioner"],
        ),
        SearchParam::new(
            "conclusion",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/DiagnosticReport-conclusion",
            &[Path::child(
                "gnuhealth_pathology pc",
                "pc.id = r.pathology",
                "pc.code",
                Stored::Code(System::Fixed(ICD10)),
            )],
        ),
        // Matched in one sub-select over reports and requests, not once per report.
        SearchParam::reference(
            "based-on",
            "http://hl7.org/fhir/SearchParameter/DiagnosticReport-based-on",
            &[
                Path::child(
                    concat!(
                        "gnuhealth_lab bl JOIN gnuhealth_patient_lab_test sr ON ",
                        request_link!("bl")
                    ),
                    "bl.id = r.id",
                    "sr.id",
                    Stored::Id,
                ),
                Path::child(
                    concat!(
                        "gnuhealth_lab bl JOIN gnuhealth_patient_lab_test sr ON ",
                        request_link_no_patient!("bl")
                    ),
                    "bl.id = r.id",
                    "sr.id",
                    Stored::Id,
                ),
            ],
            &["ServiceRequest"],
        ),
    ],
    load,
    aliases: &[("gnuhealth.lab", "r")],
    // The test type's code, name and category are the value of `test` (required: it is
    // the code), the ICD-10 code and name that of `pathology`. The analytes, the requests
    // matched for `basedOn` and the attached files are read as whole models.
    fields: &[
        FieldUse::new("gnuhealth.lab", "name", &["identifier"], &["identifier"]),
        FieldUse::required("gnuhealth.lab", "state", &["status"], &["status"]),
        FieldUse::required(
            "gnuhealth.lab",
            "test",
            &["code", "category", "basedOn"],
            &["code", "category", "based-on"],
        ),
        FieldUse::new(
            "gnuhealth.lab",
            "patient",
            &["subject", "basedOn"],
            &["patient", "subject", "based-on"],
        ),
        FieldUse::new(
            "gnuhealth.lab",
            "source_type",
            &["subject"],
            &["patient", "subject"],
        ),
        FieldUse::new("gnuhealth.lab", "other_source", &["subject"], &[]),
        FieldUse::new(
            "gnuhealth.lab",
            "request_order",
            &["basedOn"],
            &["based-on"],
        ),
        FieldUse::new(
            "gnuhealth.lab",
            "date_analysis",
            &["effectiveDateTime"],
            &["date"],
        ),
        FieldUse::new("gnuhealth.lab", "validation_date", &["issued"], &["issued"]),
        FieldUse::new("gnuhealth.lab", "done_date", &["issued"], &["issued"]),
        FieldUse::new(
            "gnuhealth.lab",
            "pathologist",
            &["performer"],
            &["performer"],
        ),
        FieldUse::new("gnuhealth.lab", "done_by", &["performer"], &["performer"]),
        FieldUse::new(
            "gnuhealth.lab",
            "validated_by",
            &["resultsInterpreter"],
            &["results-interpreter"],
        ),
        FieldUse::new("gnuhealth.lab", "specimen_type", &["specimen"], &[]),
        FieldUse::new("gnuhealth.lab", "results", &["conclusion"], &[]),
        FieldUse::new("gnuhealth.lab", "diagnosis", &["conclusion"], &[]),
        FieldUse::new(
            "gnuhealth.lab",
            "pathology",
            &["conclusionCode"],
            &["conclusion"],
        ),
        FieldUse::new("gnuhealth.lab.test.critearea", "", &["result"], &["result"]),
        FieldUse::new(
            "gnuhealth.patient.lab.test",
            "",
            &["basedOn"],
            &["based-on"],
        ),
        FieldUse::new("ir.attachment", "", &["presentedForm"], &[]),
    ],
    count_from: None,
    id_rows: &[],
};

super::int_loader!(load_reports);

/// `ir_attachment.resource` is `'gnuhealth.lab,<id>'`; the cast is guarded so PostgreSQL
/// never casts another model's reference.
const ATTACHMENT_LAB: &str = "(CASE WHEN a.resource LIKE 'gnuhealth.lab,%' THEN CAST(SUBSTR(a.resource, 15) AS INTEGER) END)";

async fn load_reports(db: &Database, ctx: &Context, ids: &[i64]) -> Result<Vec<Value>, DbError> {
    let mut main = db.sql();
    main.push(
        "SELECT r.id, r.name, r.state, tt.code, tt.name, tt.category, r.source_type, \
         r.patient, r.date_analysis, r.validation_date, r.done_date, r.pathologist, r.done_by, \
         r.validated_by, r.specimen_type, r.results, r.diagnosis, pa.code, pa.name, \
         COALESCE(r.write_date, r.create_date), r.other_source \
         FROM gnuhealth_lab r LEFT JOIN gnuhealth_lab_test_type tt ON tt.id = r.test \
         LEFT JOIN gnuhealth_pathology pa ON pa.id = r.pathology WHERE ",
    )
    .in_ids("r.id", ids);
    let mut results = db.sql();
    results
        .push("SELECT c.gnuhealth_lab_id, c.id FROM gnuhealth_lab_test_critearea c WHERE ")
        .in_ids("c.gnuhealth_lab_id", ids)
        // The report's order; a NULL sequence first on both backends (PostgreSQL would
        // put it last).
        .push(" ORDER BY c.gnuhealth_lab_id, (c.sequence IS NOT NULL), c.sequence, c.id");
    let mut requests = db.sql();
    requests
        .push(concat!(
            "SELECT r.id, sr.id FROM gnuhealth_lab r JOIN gnuhealth_patient_lab_test sr ON ",
            request_link!("r"),
            " WHERE "
        ))
        .in_ids("r.id", ids)
        .push(concat!(
            " UNION ALL SELECT r.id, sr.id FROM gnuhealth_lab r \
             JOIN gnuhealth_patient_lab_test sr ON ",
            request_link_no_patient!("r"),
            " WHERE "
        ))
        .in_ids("r.id", ids)
        .push(" ORDER BY 1, 2");
    let mut files = db.sql();
    files
        .push("SELECT ")
        .push(ATTACHMENT_LAB)
        .push(
            ", a.name, a.type, a.data, a.link FROM ir_attachment a \
             WHERE a.resource LIKE 'gnuhealth.lab,%' AND ",
        )
        .in_ids(ATTACHMENT_LAB, ids)
        .push(" ORDER BY a.id");
    let (rows, results, requests, files) = tokio::try_join!(
        db.query(&main),
        db.query(&results),
        db.query(&requests),
        db.query(&files)
    )?;
    let (results, requests, files) = (
        group_by(results, 0),
        group_by(requests, 0),
        group_by(files, 0),
    );
    rows.iter()
        .map(|row| {
            let id = row.int(0);
            to_json(&report(
                ctx,
                row,
                children(&results, id),
                children(&requests, id),
                children(&files, id),
            ))
        })
        .collect()
}

/// The child rows of one parent (none when it has no entry).
pub(crate) fn children(map: &HashMap<i64, Vec<Row>>, id: i64) -> &[Row] {
    map.get(&id).map(Vec::as_slice).unwrap_or(&[])
}

/// One report row and its children → DiagnosticReport.
fn report(
    ctx: &Context,
    row: &Row,
    results: &[Row],
    requests: &[Row],
    files: &[Row],
) -> DiagnosticReport {
    let mut dr = DiagnosticReport {
        resource_type: "DiagnosticReport",
        id: row.int(0).to_string(),
        meta: meta(row.opt_str(19)),
        identifier: row
            .opt_text(1)
            .map(|name| Identifier {
                use_: Some("usual"),
                type_: Some(CodeableConcept::coded(
                    V2_0203,
                    "FILL",
                    Some("Filler Identifier".into()),
                )),
                ..Identifier::new(ctx.system(IDENTIFIER_SYSTEM), name)
            })
            .into_iter()
            .collect(),
        based_on: requests
            .iter()
            .map(|r| Reference::to("ServiceRequest", r.int(1), None))
            .collect(),
        status: status(row.opt_str(2)),
        category: category(ctx, row.opt_str(5)),
        code: test_type_code(ctx, row.opt_text(3), row.opt_text(4)),
        subject: subject(row.opt_str(6), row.opt_int(7), row.opt_text(20)),
        effective_date_time: row.opt_str(8).and_then(fhir_datetime),
        issued: row.opt_str(9).or(row.opt_str(10)).and_then(fhir_datetime),
        performer: practitioners([row.opt_int(11), row.opt_int(12)]),
        results_interpreter: practitioners([row.opt_int(13)]),
        specimen: row
            .opt_text(14)
            .map(|s| Reference {
                type_: Some("Specimen".into()),
                display: Some(s),
                ..Default::default()
            })
            .into_iter()
            .collect(),
        result: results
            .iter()
            .map(|r| Reference::to("Observation", r.int(1), None))
            .collect(),
        presented_form: files.iter().filter_map(attachment).collect(),
        ..Default::default()
    };
    let conclusion: Vec<String> = [row.opt_text(15), row.opt_text(16)]
        .into_iter()
        .flatten()
        .collect();
    dr.conclusion = (!conclusion.is_empty()).then(|| conclusion.join("\n\n"));
    if let Some(code) = row.opt_text(17) {
        dr.conclusion_code
            .push(CodeableConcept::coded(ICD10, code, row.opt_text(18)));
    }
    dr
}

/// FHIR status of a stored lab state (NULL is Tryton's default, draft).
pub fn status(state: Option<&str>) -> &'static str {
    let state = state.unwrap_or("draft");
    STATUSES
        .iter()
        .find(|(_, stored)| stored.contains(&state))
        .map_or("unknown", |(fhir, _)| *fhir)
}

/// Always LAB; plus the test type's category, with its v2-0074 section when one matches.
fn category(ctx: &Context, code: Option<&str>) -> Vec<CodeableConcept> {
    let mut out = vec![CodeableConcept::coded(
        V2_0074,
        "LAB",
        Some("Laboratory".into()),
    )];
    if let Some(code) = code {
        let known = CATEGORIES.iter().find(|c| c.code == code);
        let label = known.map(|c| c.label.to_owned());
        let mut coding = vec![Coding::new(
            &ctx.system(CATEGORY_SYSTEM),
            code,
            label.clone(),
        )];
        if let Some((v2, display)) = known.and_then(|c| c.v2) {
            coding.push(Coding::new(V2_0074, v2, Some(display.to_owned())));
        }
        out.push(CodeableConcept {
            coding,
            text: label,
        });
    }
    out
}

pub(crate) fn test_type_code(
    ctx: &Context,
    code: Option<String>,
    name: Option<String>,
) -> CodeableConcept {
    CodeableConcept {
        coding: code
            .map(|c| Coding::new(&ctx.system(TEST_TYPE_SYSTEM), c, name.clone()))
            .into_iter()
            .collect(),
        // `code` is required even if the (required) test type is missing.
        text: name.or_else(|| Some("Laboratory test".into())),
    }
}

/// The patient, or for a sample of another source (`other_source`, free text) a reference
/// holding only that name.
pub(crate) fn subject(
    source_type: Option<&str>,
    patient: Option<i64>,
    other: Option<String>,
) -> Option<Reference> {
    if source_type.is_none_or(|s| s == "patient") {
        patient.map(|p| Reference::to("Patient", p, None))
    } else {
        other.map(|name| Reference {
            display: Some(name),
            ..Default::default()
        })
    }
}

/// An attached file kept in the database, or a link. Files in Tryton's file store
/// (`file_id`) are outside the database and are left out.
fn attachment(row: &Row) -> Option<Attachment> {
    use base64::Engine;
    let title = row.opt_text(1);
    match (row.opt_str(2), row.bytes(3), row.opt_text(4)) {
        (Some("link"), _, Some(url)) => Some(Attachment {
            url: Some(url),
            title,
            ..Default::default()
        }),
        (_, Some(data), _) => Some(Attachment {
            content_type: Some(content_type(data).to_owned()),
            data: Some(base64::engine::general_purpose::STANDARD.encode(data)),
            size: u32::try_from(data.len()).ok(),
            title,
            ..Default::default()
        }),
        _ => None,
    }
}

/// The media type of stored bytes (att-1: inline data needs one); Tryton keeps none.
fn content_type(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"%PDF") {
        "application/pdf"
    } else if bytes.starts_with(b"\x89PNG") {
        "image/png"
    } else if bytes.starts_with(&[0xFF, 0xD8]) {
        "image/jpeg"
    } else if bytes.starts_with(b"GIF8") {
        "image/gif"
    } else {
        "application/octet-stream"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Val;

    fn ctx() -> Context {
        Context {
            base_url: "https://h.example/fhir".into(),
        }
    }

    #[test]
    fn field_uses() {
        crate::resources::patient::field_checks::check(&DIAGNOSTIC_REPORT, &[]);
    }

    #[test]
    fn statuses() {
        assert_eq!(status(Some("draft")), "partial");
        assert_eq!(status(None), "partial");
        assert_eq!(status(Some("done")), "final");
        assert_eq!(status(Some("validated")), "final");
        assert_eq!(status(Some("odd")), "unknown");
    }

    #[test]
    fn categories() {
        let c = category(&ctx(), Some("hematology"));
        assert_eq!(c[0].coding[0].code.as_deref(), Some("LAB"));
        assert_eq!(c[1].coding[1].code.as_deref(), Some("HM"));
        assert_eq!(c[1].text.as_deref(), Some("Hematology Testing"));
        let c = category(&ctx(), Some("others"));
        assert_eq!(c[1].coding.len(), 1);
        assert_eq!(category(&ctx(), None).len(), 1);
        // The search map and the output agree.
        for (v2, stored) in V2_CATEGORIES {
            let found = CATEGORIES.iter().find(|c| stored.contains(&c.code));
            assert_eq!(found.and_then(|c| c.v2).map(|(code, _)| code), Some(*v2));
        }
    }

    #[test]
    fn subjects() {
        let s = subject(Some("patient"), Some(3), None);
        assert_eq!(s.and_then(|r| r.reference).as_deref(), Some("Patient/3"));
        let s = subject(Some("other_source"), Some(3), Some("Well water".into()));
        assert_eq!(s.as_ref().and_then(|r| r.reference.clone()), None);
        assert_eq!(s.and_then(|r| r.display).as_deref(), Some("Well water"));
    }

    #[test]
    fn maps_a_report() {
        let t = |s: &str| Val::Text(s.into());
        let row = Row(vec![
            Val::Int(1),
            t("TEST001"),
            t("done"),
            t("CBC"),
            t("COMPLETE BLOOD COUNT"),
            Val::Null,
            t("patient"),
            Val::Int(1),
            t("2024-05-07 07:30:00"),
            Val::Null,
            t("2024-05-07 09:00:00"),
            Val::Int(2),
            Val::Int(1),
            Val::Null,
            t("whole blood (EDTA)"),
            t("Mild normocytic anemia"),
            t("Mild anemia"),
            t("D64.9"),
            t("Anaemia, unspecified"),
            t("2024-05-07 10:00:00"),
            Val::Null,
        ]);
        let results = [Row(vec![Val::Int(1), Val::Int(100)])];
        let files = [Row(vec![
            Val::Int(1),
            t("smear.png"),
            t("data"),
            Val::Bytes(b"\x89PNGx".to_vec()),
            Val::Null,
        ])];
        let dr = report(&ctx(), &row, &results, &[], &files);
        assert_eq!(dr.status, "final");
        assert_eq!(dr.identifier[0].value.as_deref(), Some("TEST001"));
        assert_eq!(dr.code.coding[0].code.as_deref(), Some("CBC"));
        assert_eq!(dr.result[0].reference.as_deref(), Some("Observation/100"));
        assert_eq!(dr.issued.as_deref(), Some("2024-05-07T09:00:00Z"));
        assert_eq!(
            dr.conclusion.as_deref(),
            Some("Mild normocytic anemia\n\nMild anemia")
        );
        assert_eq!(
            dr.conclusion_code[0].coding[0].system.as_deref(),
            Some(ICD10)
        );
        assert_eq!(dr.performer.len(), 2);
        assert!(dr.results_interpreter.is_empty());
        assert_eq!(
            dr.presented_form[0].content_type.as_deref(),
            Some("image/png")
        );
    }
}
