//! Observation ← lab results and vital signs, in one id space.
//!
//! A lab result (id: the row id) is one analyte row of a lab report:
//! `gnuhealth_lab_test_critearea` with `gnuhealth_lab_id` set, plus its report
//! `gnuhealth_lab` (subject, dates, state, people, specimen) and `gnuhealth_lab_test_units`.
//! The same table also holds the test types' template rows (`gnuhealth_lab_id` NULL): they
//! are not results and are never served, neither by search (the union's lab branch) nor by
//! read (the loader's own condition). Vital signs and measurements (`eval-…`, `amb-…`,
//! `rnd-…`) are columns of the encounter tables: see [`super::vital_signs`].
//!
//! Search runs over a UNION ALL of both (the lab branch first, carrying the analyte's own
//! columns; the vital-sign branches theirs), with the lab report joined as `l` (NULL for
//! vital signs).

use fhir::datatypes::{Annotation, CodeableConcept, Coding, LOINC, Quantity, Reference, UCUM};
use fhir::resources::observation::{Observation, ObservationReferenceRange};
use serde_json::Value;

use super::diagnostic_report::{children, request_link, request_link_no_patient, subject};
use super::vital_signs::MEASUREMENT_SYSTEM;
use super::{
    Context, CountFrom, FieldUse, Kind, LoadFuture, Path, ResourceDef, SearchParam, Stored, System,
    group_by, meta, to_json,
};
use crate::db::{Database, DbError, Row};
use crate::tryton::{fhir_datetime, newest};

pub const CATEGORY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
pub const STATUS_SYSTEM: &str = "http://hl7.org/fhir/observation-status";
pub const INTERPRETATION_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
pub const DATA_ABSENT_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/data-absent-reason";
/// GNU Health's analyte codes (`HGB`, `WBC`, `GLU`…): no LOINC is stored.
pub const ANALYTE_SYSTEM: &str = "CodeSystem/lab-analyte";

/// [`status`] in SQL, for the `status` search parameter; `mapping_matches_sql` checks
/// that both agree. A NULL lab state is Tryton's default, `draft`.
const STATUS_SQL: &str = "(CASE WHEN r.excluded = TRUE THEN 'cancelled' \
     WHEN COALESCE(r.lab_state, 'draft') = 'draft' THEN \
     (CASE WHEN r.result IS NULL AND COALESCE(r.result_text, '') = '' \
     THEN 'registered' ELSE 'preliminary' END) \
     WHEN r.lab_state IN ('done', 'validated') THEN 'final' ELSE 'unknown' END)";

/// The columns of a lab result's analyte row `c` and report `lr` that every resource of
/// the row shares, in the order of [`super::vital_signs::evaluation_row_sql!`]. The
/// analyte row and its report change independently (the report's state drives the
/// status): the result is as new as the newer of the two.
macro_rules! lab_row_sql {
    () => {
        concat!(
            "c.id AS lab_row, CAST(NULL AS INTEGER) AS eval_row, ",
            "CAST(NULL AS INTEGER) AS amb_row, CAST(NULL AS INTEGER) AS rnd_row, ",
            "lr.id AS gnuhealth_lab_id, c.result_text AS result_text, c.units AS units, ",
            "c.excluded AS excluded, lr.patient AS patient, lr.date_analysis AS effective, ",
            "CAST(NULL AS VARCHAR) AS vstatus, lr.pathologist AS perf1, lr.done_by AS perf2, ",
            "lr.validated_by AS perf3, CAST(NULL AS VARCHAR) AS encounter, ",
            "(CASE WHEN COALESCE(lr.write_date, lr.create_date) > COALESCE(c.write_date, c.create_date) ",
            "THEN COALESCE(lr.write_date, lr.create_date) ELSE COALESCE(c.write_date, c.create_date) END) ",
            "AS stamp, lr.state AS lab_state, lr.source_type AS source_type"
        )
    };
}

/// The analytes that are results, each with its report. CROSS JOIN keeps the reports as
/// the outer loop in SQLite, which has no statistics to prefer them: a patient's few
/// reports, then their analytes by index.
macro_rules! lab_join_sql {
    () => {
        " FROM gnuhealth_lab lr CROSS JOIN gnuhealth_lab_test_critearea c \
         WHERE c.gnuhealth_lab_id = lr.id"
    };
}

/// Lab results and vital signs, keyed by the text FHIR id `r.fhir_id`: the columns that
/// depend on the measure ([`super::vital_signs::measure_columns_sql!`]), then those of
/// the source row ([`lab_row_sql!`]).
const FROM: &str = concat!(
    "(SELECT CAST(c.id AS VARCHAR) AS fhir_id, c.code AS code, c.name AS name, ",
    "c.result AS result, CAST(NULL AS VARCHAR) AS unit_code, ",
    "CAST(NULL AS VARCHAR) AS unit_name, CAST('laboratory' AS VARCHAR) AS category, ",
    "CAST('lab' AS VARCHAR) AS code_kind, CAST(NULL AS VARCHAR) AS measure, ",
    "CAST(NULL AS VARCHAR) AS profile, CAST(NULL AS FLOAT) AS sys, ",
    "CAST(NULL AS FLOAT) AS dia, ",
    lab_row_sql!(),
    lab_join_sql!(),
    super::vital_signs::vital_branches_sql!(),
    ") r"
);

/// [`FROM`] for counting: a row per source row, `n` the resources it makes.
const COUNT_FROM: &str = concat!(
    "(SELECT ",
    lab_row_sql!(),
    ", 1 AS n",
    lab_join_sql!(),
    super::vital_signs::vital_count_branches_sql!(),
    ") r"
);

const LAB_ROWS: &str = "r.lab_row IS NOT NULL";
const VITAL_ROWS: &str = "r.lab_row IS NULL";

/// The subject of a lab report may be a sample of another source: only a patient's count.
const PATIENT_PATHS: &[Path] =
    &[Path::col("r.patient", Stored::Id).when("COALESCE(r.source_type, 'patient') = 'patient'")];

/// The analyte's or measure's code (its name is the text shown with it).
const CODE_PATHS: &[Path] = &[
    Path::col("r.code", Stored::Code(System::Local(ANALYTE_SYSTEM)))
        .text("r.name")
        .when(LAB_ROWS),
    Path::col("r.code", Stored::Code(System::Fixed(LOINC)))
        .text("r.name")
        .when("r.code_kind = 'loinc'"),
    Path::col("r.code", Stored::Code(System::Local(MEASUREMENT_SYSTEM)))
        .text("r.name")
        .when("r.code_kind = 'local'"),
];

/// The codes of a blood pressure's components.
const COMPONENT_CODE_PATHS: &[Path] = &[
    Path::col("'8480-6'", Stored::Code(System::Fixed(LOINC)))
        .text("'Systolic blood pressure'")
        .when("r.sys IS NOT NULL"),
    Path::col("'8462-4'", Stored::Code(System::Fixed(LOINC)))
        .text("'Diastolic blood pressure'")
        .when("r.dia IS NOT NULL"),
];

const MM_HG: Stored = Stored::Quantity {
    unit_code: "'mm[Hg]'",
    unit_name: "'mmHg'",
};

/// The values of a blood pressure's components.
const COMPONENT_VALUE_PATHS: &[Path] = &[Path::col("r.sys", MM_HG), Path::col("r.dia", MM_HG)];

/// The numeric result in its lab unit, or the measure in its UCUM unit.
const VALUE_QUANTITY_PATHS: &[Path] = &[Path::col(
    "r.result",
    Stored::Quantity {
        unit_code: "COALESCE(r.unit_code, \
                    (SELECT vu.code FROM gnuhealth_lab_test_units vu WHERE vu.id = r.units))",
        unit_name: "COALESCE(r.unit_name, \
                    (SELECT vu.name FROM gnuhealth_lab_test_units vu WHERE vu.id = r.units))",
    },
)];

/// The value or, for a blood pressure, the components' values.
const COMBO_VALUE_PATHS: &[Path] = &[
    VALUE_QUANTITY_PATHS[0],
    COMPONENT_VALUE_PATHS[0],
    COMPONENT_VALUE_PATHS[1],
];

/// The code or, for a blood pressure, the components' codes.
const COMBO_CODE_PATHS: &[Path] = &[
    CODE_PATHS[0],
    CODE_PATHS[1],
    CODE_PATHS[2],
    COMPONENT_CODE_PATHS[0],
    COMPONENT_CODE_PATHS[1],
];

pub static OBSERVATION: ResourceDef = ResourceDef {
    type_name: "Observation",
    // Lab results and vital signs come from different models: a user who may read only
    // some of them gets those rows (see the whole-model uses in `fields`).
    models: &[],
    from: FROM,
    filter: &[],
    key: "r.fhir_id",
    key_is_text: true,
    last_updated: "r.stamp",
    params: &[
        SearchParam::reference(
            "patient",
            "http://hl7.org/fhir/SearchParameter/clinical-patient",
            PATIENT_PATHS,
            &["Patient"],
        ),
        SearchParam::reference(
            "subject",
            "http://hl7.org/fhir/SearchParameter/Observation-subject",
            PATIENT_PATHS,
            &["Patient"],
        ),
        SearchParam::new(
            "code",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/clinical-code",
            CODE_PATHS,
        ),
        SearchParam::new(
            "combo-code",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Observation-combo-code",
            COMBO_CODE_PATHS,
        ),
        SearchParam::new(
            "component-code",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Observation-component-code",
            COMPONENT_CODE_PATHS,
        ),
        SearchParam::new(
            "category",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Observation-category",
            &[Path::col(
                "r.category",
                Stored::Code(System::Fixed(CATEGORY_SYSTEM)),
            )],
        ),
        SearchParam::new(
            "date",
            Kind::Date,
            "http://hl7.org/fhir/SearchParameter/clinical-date",
            &[Path::col("r.effective", Stored::Timestamp)],
        ),
        SearchParam::new(
            "status",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Observation-status",
            &[
                Path::col(STATUS_SQL, Stored::Code(System::Fixed(STATUS_SYSTEM))).when(LAB_ROWS),
                Path::col("r.vstatus", Stored::Code(System::Fixed(STATUS_SYSTEM))).when(VITAL_ROWS),
            ],
        ),
        SearchParam::reference(
            "performer",
            "http://hl7.org/fhir/SearchParameter/Observation-performer",
            &[
                Path::col("r.perf1", Stored::Id),
                Path::col("r.perf2", Stored::Id),
                Path::col("r.perf3", Stored::Id),
            ],
            &["Practitioner"],
        ),
        SearchParam::reference(
            "encounter",
            "http://hl7.org/fhir/SearchParameter/clinical-encounter",
            &[Path::col("r.encounter", Stored::Text)],
            &["Encounter"],
        ),
        // Reports and requests are matched once, in a sub-select over the reports,
        // rather than once per analyte.
        SearchParam::reference(
            "based-on",
            "http://hl7.org/fhir/SearchParameter/Observation-based-on",
            &[
                Path::child(
                    concat!(
                        "gnuhealth_lab bl JOIN gnuhealth_patient_lab_test sr ON ",
                        request_link!("bl")
                    ),
                    "bl.id = r.gnuhealth_lab_id",
                    "sr.id",
                    Stored::Id,
                ),
                Path::child(
                    concat!(
                        "gnuhealth_lab bl JOIN gnuhealth_patient_lab_test sr ON ",
                        request_link_no_patient!("bl")
                    ),
                    "bl.id = r.gnuhealth_lab_id",
                    "sr.id",
                    Stored::Id,
                ),
            ],
            &["ServiceRequest"],
        ),
        SearchParam::new(
            "value-quantity",
            Kind::Quantity,
            "http://hl7.org/fhir/SearchParameter/Observation-value-quantity",
            VALUE_QUANTITY_PATHS,
        ),
        SearchParam::new(
            "combo-value-quantity",
            Kind::Quantity,
            "http://hl7.org/fhir/SearchParameter/Observation-combo-value-quantity",
            COMBO_VALUE_PATHS,
        ),
        SearchParam::new(
            "component-value-quantity",
            Kind::Quantity,
            "http://hl7.org/fhir/SearchParameter/Observation-component-value-quantity",
            COMPONENT_VALUE_PATHS,
        ),
        SearchParam::composite(
            "code-value-quantity",
            "http://hl7.org/fhir/SearchParameter/Observation-code-value-quantity",
            &["code", "value-quantity"],
        ),
        SearchParam::composite(
            "combo-code-value-quantity",
            "http://hl7.org/fhir/SearchParameter/Observation-combo-code-value-quantity",
            &["combo-code", "combo-value-quantity"],
        ),
        SearchParam::composite(
            "code-value-string",
            "http://hl7.org/fhir/SearchParameter/Observation-code-value-string",
            &["code", "value-string"],
        ),
        // A qualitative text is the value only when there is no numeric result.
        SearchParam::new(
            "value-string",
            Kind::String,
            "http://hl7.org/fhir/SearchParameter/Observation-value-string",
            &[Path::col("r.result_text", Stored::Text).when("r.result IS NULL")],
        ),
    ],
    load,
    // Lab results and vital signs under one union: no alias to put a rule on.
    aliases: &[],
    // `status` (required) is derived from `excluded`, the values and the report's `state`,
    // so all of them are required; so is the link to the report, which every report
    // element goes through. The unit's code and name are the value of `units`; the
    // request matched for `basedOn` is read as a whole model. The category is constant.
    fields: super::vital_signs::with_field_rows![
        FieldUse::rows("gnuhealth.lab.test.critearea", "", LAB_ROWS),
        FieldUse::rows("gnuhealth.lab", "", LAB_ROWS),
        FieldUse::required(
            "gnuhealth.lab.test.critearea",
            "code",
            &["code"],
            &[
                "code",
                "combo-code",
                "code-value-quantity",
                "combo-code-value-quantity",
                "code-value-string",
            ],
        ),
        FieldUse::required("gnuhealth.lab.test.critearea", "name", &["code"], &[]),
        FieldUse::required(
            "gnuhealth.lab.test.critearea",
            "result",
            &[
                "valueQuantity",
                "interpretation",
                "status",
                "dataAbsentReason",
            ],
            &[
                "value-string",
                "value-quantity",
                "combo-value-quantity",
                "code-value-quantity",
                "combo-code-value-quantity",
                "code-value-string",
            ],
        ),
        FieldUse::required(
            "gnuhealth.lab.test.critearea",
            "result_text",
            &["valueString", "note", "status", "dataAbsentReason"],
            &["value-string", "code-value-string"],
        ),
        FieldUse::required(
            "gnuhealth.lab.test.critearea",
            "excluded",
            &["status", "dataAbsentReason"],
            &["status"],
        ),
        FieldUse::required(
            "gnuhealth.lab.test.critearea",
            "gnuhealth_lab_id",
            &[
                "subject",
                "status",
                "effectiveDateTime",
                "issued",
                "performer",
                "specimen",
                "basedOn",
                "dataAbsentReason",
            ],
            &[
                "patient",
                "subject",
                "date",
                "status",
                "performer",
                "based-on",
            ],
        ),
        FieldUse::new(
            "gnuhealth.lab.test.critearea",
            "units",
            &[
                "valueQuantity.unit",
                "valueQuantity.system",
                "valueQuantity.code",
                "referenceRange.low.unit",
                "referenceRange.low.system",
                "referenceRange.low.code",
                "referenceRange.high.unit",
                "referenceRange.high.system",
                "referenceRange.high.code",
            ],
            &[
                "value-quantity",
                "combo-value-quantity",
                "code-value-quantity",
                "combo-code-value-quantity",
            ],
        ),
        FieldUse::new(
            "gnuhealth.lab.test.critearea",
            "lower_limit",
            &["referenceRange.low", "interpretation"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.lab.test.critearea",
            "upper_limit",
            &["referenceRange.high", "interpretation"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.lab.test.critearea",
            "normal_range",
            &["referenceRange.text"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.lab.test.critearea",
            "warning",
            &["interpretation"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.lab.test.critearea",
            "test_method",
            &["method"],
            &[],
        ),
        FieldUse::new("gnuhealth.lab.test.critearea", "remarks", &["note"], &[]),
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
        FieldUse::required(
            "gnuhealth.lab",
            "state",
            &["status", "dataAbsentReason"],
            &["status"],
        ),
        FieldUse::new(
            "gnuhealth.lab",
            "date_analysis",
            &["effectiveDateTime"],
            &["date"],
        ),
        FieldUse::new("gnuhealth.lab", "validation_date", &["issued"], &[]),
        FieldUse::new("gnuhealth.lab", "done_date", &["issued"], &[]),
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
            &["performer"],
            &["performer"],
        ),
        FieldUse::new("gnuhealth.lab", "specimen_type", &["specimen"], &[]),
        FieldUse::new(
            "gnuhealth.lab",
            "request_order",
            &["basedOn"],
            &["based-on"],
        ),
        FieldUse::new("gnuhealth.lab", "test", &["basedOn"], &["based-on"]),
        FieldUse::new(
            "gnuhealth.patient.lab.test",
            "",
            &["basedOn"],
            &["based-on"],
        ),
    ],
    count_from: Some(CountFrom {
        from: COUNT_FROM,
        columns: &[
            "lab_row",
            "eval_row",
            "amb_row",
            "rnd_row",
            "gnuhealth_lab_id",
            "result_text",
            "units",
            "excluded",
            "patient",
            "effective",
            "vstatus",
            "perf1",
            "perf2",
            "perf3",
            "encounter",
            "stamp",
            "lab_state",
            "source_type",
        ],
    }),
    id_rows: &[
        // The report is the outer loop of the lab branch: find the reports first.
        (
            "",
            "r.lab_row IN ({ids}) AND r.gnuhealth_lab_id IN \
             (SELECT ci.gnuhealth_lab_id FROM gnuhealth_lab_test_critearea ci WHERE ci.id IN ({ids}))",
        ),
        ("eval-", "r.eval_row"),
        ("amb-", "r.amb_row"),
        ("rnd-", "r.rnd_row"),
    ],
};

/// Lab results (integer ids) and vital signs (the others), each kind in its own queries.
fn load<'a>(db: &'a Database, ctx: &'a Context, ids: &'a [String]) -> LoadFuture<'a> {
    Box::pin(async move {
        let lab = super::int_ids(ids);
        let vitals: Vec<&String> = ids.iter().filter(|id| id.parse::<i64>().is_err()).collect();
        let (mut out, more) = tokio::try_join!(
            async {
                if lab.is_empty() {
                    Ok(Vec::new())
                } else {
                    load_observations(db, ctx, &lab).await
                }
            },
            super::vital_signs::load(db, ctx, FROM, &OBSERVATION, &vitals)
        )?;
        out.extend(more);
        Ok(out)
    })
}

async fn load_observations(
    db: &Database,
    ctx: &Context,
    ids: &[i64],
) -> Result<Vec<Value>, DbError> {
    let mut main = db.sql();
    main.push(
        "SELECT r.id, r.code, r.name, r.result, r.result_text, u.code, u.name, \
         r.lower_limit, r.upper_limit, r.normal_range, r.warning, r.excluded, r.test_method, \
         r.remarks, l.patient, l.source_type, l.state, l.date_analysis, l.validation_date, \
         l.done_date, l.pathologist, l.done_by, l.validated_by, l.specimen_type, \
         COALESCE(r.write_date, r.create_date), COALESCE(l.write_date, l.create_date), \
         l.other_source \
         FROM gnuhealth_lab_test_critearea r JOIN gnuhealth_lab l ON l.id = r.gnuhealth_lab_id \
         LEFT JOIN gnuhealth_lab_test_units u ON u.id = r.units \
         WHERE r.gnuhealth_lab_id IS NOT NULL AND ",
    )
    .in_ids("r.id", ids);
    let mut requests = db.sql();
    requests
        .push(concat!(
            "SELECT r.id, sr.id FROM gnuhealth_lab_test_critearea r ",
            "JOIN gnuhealth_lab l ON l.id = r.gnuhealth_lab_id ",
            "JOIN gnuhealth_patient_lab_test sr ON ",
            request_link!("l"),
            " WHERE "
        ))
        .in_ids("r.id", ids)
        .push(concat!(
            " UNION ALL SELECT r.id, sr.id FROM gnuhealth_lab_test_critearea r ",
            "JOIN gnuhealth_lab l ON l.id = r.gnuhealth_lab_id ",
            "JOIN gnuhealth_patient_lab_test sr ON ",
            request_link_no_patient!("l"),
            " WHERE "
        ))
        .in_ids("r.id", ids)
        .push(" ORDER BY 1, 2");
    let (rows, requests) = tokio::try_join!(db.query(&main), db.query(&requests))?;
    let requests = group_by(requests, 0);
    rows.iter()
        .map(|row| to_json(&observation(ctx, row, children(&requests, row.int(0)))))
        .collect()
}

/// One result row (columns of the main query) → Observation.
fn observation(ctx: &Context, row: &Row, requests: &[Row]) -> Observation {
    let result = row.opt_float(3);
    let result_text = row.opt_text(4);
    let has_value = result.is_some() || result_text.is_some();
    let status = status(row.bool(11), has_value, row.opt_str(16));
    let (unit_code, unit_name) = (row.opt_str(5), row.opt_str(6));
    let mut obs = Observation {
        resource_type: "Observation",
        id: row.int(0).to_string(),
        meta: meta(newest([row.opt_str(24), row.opt_str(25)]).as_deref()),
        based_on: requests
            .iter()
            .map(|r| Reference::to("ServiceRequest", r.int(1), None))
            .collect(),
        status,
        category: vec![CodeableConcept {
            coding: vec![Coding::new(
                CATEGORY_SYSTEM,
                "laboratory",
                Some("Laboratory".into()),
            )],
            text: None,
        }],
        code: analyte_code(ctx, row.opt_text(1), row.opt_text(2)),
        effective_date_time: row.opt_str(17).and_then(fhir_datetime),
        issued: row.opt_str(18).or(row.opt_str(19)).and_then(fhir_datetime),
        performer: practitioners([row.opt_int(20), row.opt_int(21), row.opt_int(22)]),
        method: row.opt_text(12).map(CodeableConcept::text),
        specimen: row.opt_text(23).map(|s| Reference {
            type_: Some("Specimen".into()),
            display: Some(s),
            ..Default::default()
        }),
        subject: subject(row.opt_str(15), row.opt_int(14), row.opt_text(26)),
        ..Default::default()
    };
    match (result, result_text) {
        (Some(v), text) => {
            obs.value_quantity = Some(quantity(v, unit_code, unit_name));
            // Both a number and a text: the text qualifies the number.
            obs.note.extend(text.map(Annotation::text));
        }
        (None, Some(text)) => obs.value_string = Some(text),
        (None, None) => {
            obs.data_absent_reason = data_absent_reason(status).map(|(code, display)| {
                CodeableConcept::coded(DATA_ABSENT_SYSTEM, code, Some(display.into()))
            });
        }
    }
    let (low, high) = (row.opt_float(7), row.opt_float(8));
    if has_value && let Some((code, display)) = interpretation(result, low, high, row.bool(10)) {
        obs.interpretation.push(CodeableConcept::coded(
            INTERPRETATION_SYSTEM,
            code,
            Some(display.into()),
        ));
    }
    obs.note.extend(row.opt_text(13).map(Annotation::text));
    let range = ObservationReferenceRange {
        low: low.map(|v| quantity(v, unit_code, unit_name)),
        high: high.map(|v| quantity(v, unit_code, unit_name)),
        text: row.opt_text(9),
    };
    if range != ObservationReferenceRange::default() {
        obs.reference_range.push(range);
    }
    obs
}

/// The analyte's local code (when it has one) and name.
fn analyte_code(ctx: &Context, code: Option<String>, name: Option<String>) -> CodeableConcept {
    CodeableConcept {
        coding: code
            .map(|c| Coding::new(&ctx.system(ANALYTE_SYSTEM), c, name.clone()))
            .into_iter()
            .collect(),
        // `code` is required: a nameless, codeless analyte is still a lab analyte.
        text: name.or_else(|| Some("Laboratory analyte".into())),
    }
}

/// Observation status. An excluded analyte was not performed; a report still in draft has
/// preliminary values (or none yet); a done or validated report is final, values or not.
pub fn status(excluded: bool, has_value: bool, lab_state: Option<&str>) -> &'static str {
    if excluded {
        return "cancelled";
    }
    match lab_state.unwrap_or("draft") {
        "draft" if has_value => "preliminary",
        "draft" => "registered",
        "done" | "validated" => "final",
        _ => "unknown",
    }
}

/// Why a result without value has none (obs-6 forbids it when there is a value): an
/// excluded analyte was not performed; in a finished report the value is just not known.
/// A registered observation is simply awaiting its value.
pub fn data_absent_reason(status: &str) -> Option<(&'static str, &'static str)> {
    match status {
        "cancelled" => Some(("not-performed", "Not Performed")),
        "registered" => None,
        _ => Some(("unknown", "Unknown")),
    }
}

/// v3 ObservationInterpretation, as GNU Health's report marks a result: below the lower
/// limit ↓, above the upper ↑, else `warning` (set by the professional) *; within stated
/// limits without warning it is normal.
pub fn interpretation(
    result: Option<f64>,
    low: Option<f64>,
    high: Option<f64>,
    warning: bool,
) -> Option<(&'static str, &'static str)> {
    match result {
        Some(v) if low.is_some_and(|l| v < l) => Some(("L", "Low")),
        Some(v) if high.is_some_and(|h| v > h) => Some(("H", "High")),
        _ if warning => Some(("A", "Abnormal")),
        Some(_) if low.is_some() || high.is_some() => Some(("N", "Normal")),
        _ => None,
    }
}

/// A quantity in a lab unit: coded in UCUM when the unit is a valid UCUM code (the code
/// column first, then the name), else with the unit's text only.
pub fn quantity(value: f64, code: Option<&str>, name: Option<&str>) -> Quantity {
    let ucum = [code, name].into_iter().flatten().find(|u| is_ucum(u));
    Quantity {
        value: Some(value),
        unit: name.or(code).map(str::to_owned),
        system: ucum.map(|_| UCUM.to_owned()),
        code: ucum.map(str::to_owned),
        ..Default::default()
    }
}

/// Distinct practitioner references, in order.
pub(crate) fn practitioners(ids: impl IntoIterator<Item = Option<i64>>) -> Vec<Reference> {
    let mut seen = Vec::new();
    for id in ids.into_iter().flatten() {
        if !seen.contains(&id) {
            seen.push(id);
        }
    }
    seen.into_iter()
        .map(|id| Reference::to("Practitioner", id, None))
        .collect()
}

/// UCUM prefixes (case-sensitive form), longest first so `da` wins over `d`.
const UCUM_PREFIXES: &[&str] = &[
    "da", "Y", "Z", "E", "P", "T", "G", "M", "k", "h", "d", "c", "m", "u", "n", "p", "f", "a", "z",
    "y",
];
/// UCUM units that take a prefix (the ones met in clinical units).
const UCUM_METRIC: &[&str] = &[
    "m", "g", "s", "l", "L", "mol", "K", "Cel", "Hz", "N", "Pa", "J", "W", "A", "V", "C", "Ohm",
    "S", "F", "Wb", "T", "H", "lm", "lx", "Bq", "Gy", "Sv", "eq", "osm", "U", "kat", "bar", "[IU]",
    "[iU]", "gf", "t", "m[Hg]", "m[H2O]", "cal", "Ci", "R", "sr", "rad",
];
/// UCUM units that take no prefix.
const UCUM_PLAIN: &[&str] = &[
    "%", "min", "h", "d", "wk", "mo", "a", "[ppm]", "[ppb]", "[ppth]", "[pptr]", "deg", "[degF]",
    "[in_i]", "[ft_i]", "[lb_av]", "[oz_av]", "[drp]", "[HPF]", "[LPF]", "[arb'U]", "[pH]", "10*",
    "10^",
];

/// True when `s` is a valid UCUM (case-sensitive) unit expression: terms of (prefixed) units
/// with exponents and annotations, joined by `.` and `/`, with parentheses and integer
/// factors. Units outside the common clinical set above are rejected, so a `false` never
/// turns into a wrong UCUM code.
pub fn is_ucum(s: &str) -> bool {
    let mut p = UcumParser {
        s: s.as_bytes(),
        at: 0,
    };
    !s.is_empty() && p.term() && p.at == s.len()
}

struct UcumParser<'a> {
    s: &'a [u8],
    at: usize,
}

impl UcumParser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    /// term := ['/'] component (('.' | '/') component)*
    fn term(&mut self) -> bool {
        if self.peek() == Some(b'/') {
            self.at += 1;
        }
        if !self.component() {
            return false;
        }
        while matches!(self.peek(), Some(b'.' | b'/')) {
            self.at += 1;
            if !self.component() {
                return false;
            }
        }
        true
    }

    /// component := '(' term ')' | annotation | unit [exponent] [annotation] | integer
    fn component(&mut self) -> bool {
        match self.peek() {
            Some(b'(') => {
                self.at += 1;
                if !self.term() || self.peek() != Some(b')') {
                    return false;
                }
                self.at += 1;
                true
            }
            Some(b'{') => self.annotation(),
            Some(_) => {
                let start = self.at;
                // The unit symbol runs to the next operator, parenthesis or annotation.
                while let Some(c) = self.peek() {
                    if matches!(c, b'.' | b'/' | b'(' | b')' | b'{') {
                        break;
                    }
                    self.at += 1;
                }
                let Ok(text) = std::str::from_utf8(&self.s[start..self.at]) else {
                    return false;
                };
                if !simple_unit_with_exponent(text) {
                    return false;
                }
                if self.peek() == Some(b'{') {
                    return self.annotation();
                }
                true
            }
            None => false,
        }
    }

    fn annotation(&mut self) -> bool {
        match self.s[self.at..].iter().position(|&c| c == b'}') {
            Some(end) => {
                self.at += end + 1;
                true
            }
            None => false,
        }
    }
}

/// `unit[exponent]` or a plain integer factor.
fn simple_unit_with_exponent(text: &str) -> bool {
    if !text.is_empty() && text.bytes().all(|c| c.is_ascii_digit()) {
        return true;
    }
    let head = text.trim_end_matches(|c: char| c.is_ascii_digit());
    let has_exponent = head.len() < text.len();
    // A sign belongs to the exponent, so only when digits follow it.
    let body = match head.strip_suffix(['+', '-']) {
        Some(b) if has_exponent => b,
        _ => head,
    };
    // `10*3` / `10^3`: the atom ends with the operator and needs its exponent.
    if body == "10*" || body == "10^" {
        return has_exponent;
    }
    UCUM_PLAIN.contains(&body)
        || UCUM_METRIC.contains(&body)
        || UCUM_PREFIXES.iter().any(|p| {
            body.strip_prefix(p)
                .is_some_and(|atom| UCUM_METRIC.contains(&atom))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Val;

    #[test]
    fn field_uses() {
        crate::resources::patient::field_checks::check(
            &OBSERVATION,
            &[
                "category",
                "encounter",
                "component-code",
                "component-value-quantity",
            ],
        );
    }

    /// Ids are grouped by the branch they name; ids of none are dropped.
    #[test]
    fn id_groups_split_by_branch() {
        let ids: Vec<String> = ["12", "eval-3-bp", "x-1", "amb-2-weight", "eval-4-bmi", "7"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let groups = crate::search::id_groups(&OBSERVATION, &ids);
        assert_eq!(
            groups,
            vec![
                vec!["12".to_owned(), "7".to_owned()],
                vec!["eval-3-bp".to_owned(), "eval-4-bmi".to_owned()],
                vec!["amb-2-weight".to_owned()],
            ]
        );
    }

    #[test]
    fn status_derivation() {
        assert_eq!(status(true, true, Some("done")), "cancelled");
        assert_eq!(status(true, false, Some("draft")), "cancelled");
        assert_eq!(status(false, true, Some("draft")), "preliminary");
        assert_eq!(status(false, true, None), "preliminary");
        assert_eq!(status(false, false, Some("draft")), "registered");
        assert_eq!(status(false, true, Some("done")), "final");
        assert_eq!(status(false, false, Some("validated")), "final");
        assert_eq!(status(false, true, Some("other")), "unknown");
        assert_eq!(
            data_absent_reason("cancelled").map(|r| r.0),
            Some("not-performed")
        );
        assert_eq!(data_absent_reason("final").map(|r| r.0), Some("unknown"));
        assert_eq!(data_absent_reason("registered"), None);
    }

    /// The SQL used by the `status` search parameter gives the same status as [`status`].
    #[test]
    fn status_sql_matches_mapping() -> rusqlite::Result<()> {
        let conn = rusqlite::Connection::open_in_memory()?;
        let sql = format!(
            "SELECT {STATUS_SQL} FROM (SELECT ?1 AS excluded, ?2 AS result, ?3 AS result_text, \
             ?4 AS lab_state) r"
        );
        let values: [(Option<bool>, Option<f64>, Option<&str>); 6] = [
            (None, None, None),
            (Some(false), Some(1.5), None),
            (Some(false), None, Some("")),
            (Some(false), None, Some("positive")),
            (Some(true), Some(2.0), None),
            (Some(true), None, None),
        ];
        for (excluded, result, text) in values {
            for state in [
                None,
                Some("draft"),
                Some("done"),
                Some("validated"),
                Some("odd"),
            ] {
                let got: String = conn.query_row(
                    &sql,
                    rusqlite::params![excluded, result, text, state],
                    |r| r.get(0),
                )?;
                let has_value = result.is_some() || text.is_some_and(|t| !t.is_empty());
                let want = status(excluded.unwrap_or(false), has_value, state);
                assert_eq!(got, want, "{excluded:?} {result:?} {text:?} {state:?}");
            }
        }
        Ok(())
    }

    #[test]
    fn interpretations() {
        let i = |r, l, h, w| interpretation(r, l, h, w).map(|x| x.0);
        assert_eq!(i(Some(10.9), Some(11.0), Some(16.0), true), Some("L"));
        assert_eq!(i(Some(162.0), Some(70.0), Some(100.0), true), Some("H"));
        assert_eq!(i(Some(11.0), Some(11.0), Some(16.0), true), Some("A"));
        assert_eq!(i(Some(12.0), Some(11.0), Some(16.0), false), Some("N"));
        assert_eq!(i(Some(12.0), None, Some(16.0), false), Some("N"));
        assert_eq!(i(Some(12.0), None, None, false), None);
        assert_eq!(i(None, None, None, true), Some("A"));
        assert_eq!(i(None, Some(1.0), None, false), None);
    }

    #[test]
    fn ucum_units() {
        for ok in [
            "g/dL",
            "10^3/uL",
            "10^9/L",
            "10^12/L",
            "10*6/uL",
            "%",
            "fl",
            "fL",
            "pg",
            "mg/dl",
            "mmol/L",
            "U/L",
            "ng/ml",
            "pg/ml",
            "g/L",
            "mL",
            "mg",
            "ug",
            "kg",
            "mmol",
            "mm[Hg]",
            "mL/h",
            "/min",
            "m2",
            "kg/m2",
            "mmol/(24.h)",
            "{cells}/uL",
            "cm3",
            "[IU]/L",
            "meq/L",
            "dam",
        ] {
            assert!(is_ucum(ok), "{ok}");
        }
        for bad in [
            "",
            "mcc",
            "mm/hr",
            "mmol/24h",
            "/hpf",
            "IU/l",
            "mIU/l",
            "aTU/ml",
            "unit",
            "Millions/cc",
            "mg/",
            "(mg",
            "10^",
            "mEq/L",
            "m2-",
            "g{x",
        ] {
            assert!(!is_ucum(bad), "{bad}");
        }
    }

    #[test]
    fn quantities() {
        let q = quantity(10.9, Some("g/dL"), Some("g/dL"));
        assert_eq!(q.code.as_deref(), Some("g/dL"));
        assert_eq!(q.system.as_deref(), Some(UCUM));
        let q = quantity(7.5, Some("mm/hr"), Some("mm/hr"));
        assert_eq!(
            (q.unit.as_deref(), q.code, q.system),
            (Some("mm/hr"), None, None)
        );
    }

    fn ctx() -> Context {
        Context {
            base_url: "https://h.example/fhir".into(),
        }
    }

    /// A row of the main query, as the database returns it.
    fn row(result: Val, text: Val, excluded: bool, state: &str) -> Row {
        let t = |s: &str| Val::Text(s.into());
        Row(vec![
            Val::Int(100),
            t("HGB"),
            t("Hemoglobin"),
            result,
            text,
            t("g/dL"),
            t("g/dL"),
            Val::Float(11.0),
            Val::Float(16.0),
            t("11-16.0"),
            Val::Int(1),
            Val::Int(i64::from(excluded)),
            Val::Null,
            t("Repeat"),
            Val::Int(1),
            t("patient"),
            t(state),
            t("2024-05-07 07:30:00"),
            Val::Null,
            t("2024-05-07 09:00:00"),
            Val::Int(2),
            Val::Int(1),
            Val::Int(2),
            t("whole blood"),
            t("2024-05-07 10:00:00"),
            t("2024-05-08 10:00:00"),
            Val::Null,
        ])
    }

    #[test]
    fn maps_a_result() {
        let req = [Row(vec![Val::Int(100), Val::Int(1)])];
        let o = observation(
            &ctx(),
            &row(Val::Float(10.9), Val::Null, false, "done"),
            &req,
        );
        assert_eq!(o.status, "final");
        assert_eq!(
            o.code.coding[0].system.as_deref(),
            Some("https://h.example/fhir/CodeSystem/lab-analyte")
        );
        assert_eq!(
            o.subject.and_then(|s| s.reference).as_deref(),
            Some("Patient/1")
        );
        assert_eq!(o.value_quantity.and_then(|q| q.value), Some(10.9));
        assert_eq!(o.interpretation[0].coding[0].code.as_deref(), Some("L"));
        assert_eq!(o.performer.len(), 2);
        assert_eq!(o.based_on[0].reference.as_deref(), Some("ServiceRequest/1"));
        assert_eq!(o.issued.as_deref(), Some("2024-05-07T09:00:00Z"));
        assert_eq!(
            o.effective_date_time.as_deref(),
            Some("2024-05-07T07:30:00Z")
        );
        assert_eq!(
            o.meta.and_then(|m| m.last_updated).as_deref(),
            Some("2024-05-08T10:00:00Z")
        );
        assert_eq!(o.reference_range[0].text.as_deref(), Some("11-16.0"));
        assert!(o.data_absent_reason.is_none());
    }

    #[test]
    fn maps_absent_and_qualitative_values() {
        let o = observation(&ctx(), &row(Val::Null, Val::Null, false, "done"), &[]);
        assert!(o.value_quantity.is_none() && o.value_string.is_none());
        assert!(o.interpretation.is_empty());
        let dar = o.data_absent_reason.map(|d| d.coding[0].code.clone());
        assert_eq!(dar, Some(Some("unknown".into())));
        let o = observation(
            &ctx(),
            &row(Val::Null, Val::Text("Normocytic".into()), false, "draft"),
            &[],
        );
        assert_eq!(o.status, "preliminary");
        assert_eq!(o.value_string.as_deref(), Some("Normocytic"));
        let o = observation(&ctx(), &row(Val::Null, Val::Null, true, "done"), &[]);
        assert_eq!(o.status, "cancelled");
    }
}
