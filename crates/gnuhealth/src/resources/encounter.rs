//! Encounter ← three GNU Health tables sharing one id space through prefixes:
//! `eval-<id>` a patient evaluation (`gnuhealth_patient_evaluation`: outpatient, inpatient,
//! home-care or telemedicine visit), `inp-<id>` a hospital stay
//! (`gnuhealth_inpatient_registration`, class IMP, the bed as its location) and `amb-<id>`
//! a nursing session (`gnuhealth_patient_ambulatory_care`). An evaluation made during a
//! stay is `partOf` it; nursing rounds are not encounters of their own, their vital signs
//! belong to the stay.
//!
//! Search runs over a UNION ALL of the three with the FHIR values (status, class,
//! priority) computed in SQL; the loader reads the same union, so search and the resources
//! cannot disagree. Diagnoses are pathologies, not patient conditions: they are served as
//! contained Conditions (main diagnosis, secondary conditions, differential hypotheses,
//! admission reason and discharge diagnosis).

use fhir::datatypes::{
    CodeableConcept, Coding, ICD10, Identifier, Period, Quantity, Reference, UCUM,
};
use fhir::resources::encounter::{
    Encounter, EncounterDiagnosis, EncounterHospitalization, EncounterLocation,
    EncounterParticipant,
};
use serde_json::json;

use super::practitioner::SPECIALTY_SYSTEM;
use super::{
    Context, FieldUse, Kind, LoadFuture, Path, ResourceDef, SearchParam, Stored, System, group_by,
    meta, to_json,
};
use crate::db::{Database, Row};
use crate::tryton::fhir_datetime;

pub const CLASS_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
pub const PRIORITY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ActPriority";
pub const PARTICIPANT_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
pub const DIAGNOSIS_ROLE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/diagnosis-role";
pub const DISCHARGE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/discharge-disposition";
const CONDITION_CATEGORY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/condition-category";
const VERIFICATION_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
/// GNU Health's visit types (`new`, `followup`, `well_child`…).
pub const VISIT_TYPE_SYSTEM: &str = "CodeSystem/visit-type";
/// GNU Health's admission types (`routine`, `maternity`, `elective`, `urgent`, `emergency`).
pub const ADMISSION_TYPE_SYSTEM: &str = "CodeSystem/admission-type";
/// Evaluation codes (`EVAL 2026/000001`).
pub const EVALUATION_SYSTEM: &str = "sid/evaluation";
/// Hospitalization codes (`INPAC001`).
pub const REGISTRATION_SYSTEM: &str = "sid/inpatient-registration";
/// Nursing session codes (`AC 2026/001`).
pub const SESSION_SYSTEM: &str = "sid/ambulatory-care";

/// FHIR status ← evaluation `state` (a NULL state is Tryton's default, in progress).
macro_rules! evaluation_status_sql {
    () => {
        "(CASE COALESCE(e.state, 'in_progress') WHEN 'in_progress' THEN 'in-progress' \
         WHEN 'done' THEN 'finished' WHEN 'signed' THEN 'finished' ELSE 'unknown' END)"
    };
}
/// FHIR status ← inpatient registration `state` (default `free`).
macro_rules! stay_status_sql {
    () => {
        "(CASE COALESCE(g.state, 'free') WHEN 'free' THEN 'planned' \
         WHEN 'confirmed' THEN 'planned' WHEN 'hospitalized' THEN 'in-progress' \
         WHEN 'done' THEN 'finished' WHEN 'finished' THEN 'finished' \
         WHEN 'cancelled' THEN 'cancelled' ELSE 'unknown' END)"
    };
}
/// FHIR status ← nursing session `state` (default `draft`, "in progress").
macro_rules! session_status_sql {
    () => {
        "(CASE COALESCE(a.state, 'draft') WHEN 'draft' THEN 'in-progress' \
         WHEN 'done' THEN 'finished' ELSE 'unknown' END)"
    };
}

/// Every encounter with what search and the loader need, keyed by the text FHIR id
/// `r.fhir_id`; the columns are listed in [`COLUMNS`] order.
const FROM: &str = concat!(
    "(SELECT 'eval-' || CAST(e.id AS VARCHAR) AS fhir_id, e.id AS eval_row, ",
    "CAST(NULL AS INTEGER) AS inp_row, CAST(NULL AS INTEGER) AS amb_row, ",
    "e.patient AS patient, e.code AS identifier, ",
    evaluation_status_sql!(),
    " AS status, (CASE e.evaluation_type WHEN 'inpatient' THEN 'IMP' ",
    "WHEN 'homecare' THEN 'HH' WHEN 'telemedicine' THEN 'VR' ELSE 'AMB' END) AS class, ",
    "e.visit_type AS type_code, e.specialty AS specialty, ",
    "(CASE e.urgency WHEN 'a' THEN 'R' WHEN 'b' THEN 'UR' WHEN 'c' THEN 'EM' END) AS priority, ",
    "e.evaluation_start AS start, e.evaluation_endtime AS period_end, ",
    "e.healthprof AS prof1, e.signed_by AS prof2, e.derived_from AS prof3, ",
    "e.derived_to AS prof4, e.institution AS institution, e.appointment AS appointment, ",
    "(CASE WHEN e.inpatient_registration_code IS NOT NULL THEN 'inp-' || ",
    "CAST(e.inpatient_registration_code AS VARCHAR) END) AS part_of, ",
    // R4 lets a reason be a Condition, not an allergy (served as AllergyIntolerance).
    "(SELECT d.id FROM gnuhealth_patient_disease d WHERE d.id = e.related_condition ",
    "AND (d.is_allergy IS NULL OR d.is_allergy = FALSE)) AS reason_condition, ",
    "CAST(NULL AS INTEGER) AS reason_pathology, ",
    "CAST(NULL AS VARCHAR) AS location, e.chief_complaint AS reason_text, ",
    "e.discharge_reason AS discharge, e.diagnosis AS dx_main, ",
    "CAST(NULL AS INTEGER) AS dx_discharge, ",
    "COALESCE(e.write_date, e.create_date) AS stamp ",
    "FROM gnuhealth_patient_evaluation e WHERE e.patient IS NOT NULL ",
    "UNION ALL ",
    "SELECT 'inp-' || CAST(g.id AS VARCHAR), NULL, g.id, NULL, g.patient, g.name, ",
    stay_status_sql!(),
    ", 'IMP', g.admission_type, NULL, ",
    "(CASE g.admission_type WHEN 'emergency' THEN 'EM' WHEN 'urgent' THEN 'UR' ",
    "WHEN 'elective' THEN 'EL' WHEN 'routine' THEN 'R' END), ",
    "g.hospitalization_date, ",
    // `discharge_date` is the expected discharge until the patient has left.
    "(CASE WHEN g.state IN ('done', 'finished') THEN g.discharge_date END), ",
    "g.attending_physician, g.operating_physician, g.discharged_by, NULL, g.institution, ",
    "NULL, NULL, NULL, g.admission_reason, ",
    "(CASE WHEN g.bed IS NOT NULL THEN 'bed-' || CAST(g.bed AS VARCHAR) END), NULL, ",
    "g.discharge_reason, NULL, g.discharge_dx, COALESCE(g.write_date, g.create_date) ",
    "FROM gnuhealth_inpatient_registration g WHERE g.patient IS NOT NULL ",
    "UNION ALL ",
    "SELECT 'amb-' || CAST(a.id AS VARCHAR), NULL, NULL, a.id, a.patient, a.name, ",
    session_status_sql!(),
    ", 'AMB', NULL, NULL, NULL, a.session_start, a.session_end, a.health_professional, ",
    "a.ordering_professional, a.signed_by, NULL, NULL, NULL, NULL, NULL, a.base_condition, ",
    "NULL, NULL, NULL, NULL, NULL, COALESCE(a.write_date, a.create_date) ",
    "FROM gnuhealth_patient_ambulatory_care a WHERE a.patient IS NOT NULL) r"
);

/// The columns of [`FROM`] the loader reads, in this order.
const COLUMNS: &str = "r.fhir_id, r.eval_row, r.inp_row, r.amb_row, r.patient, r.identifier, \
     r.status, r.class, r.type_code, sp.code, sp.name, r.priority, r.start, r.period_end, \
     r.prof1, r.prof2, r.prof3, r.prof4, r.institution, r.appointment, r.part_of, \
     r.reason_condition, rp.code, rp.name, r.location, r.reason_text, r.discharge, \
     dm.code, dm.name, dd.code, dd.name, r.stamp";

const PATIENT_PATHS: &[Path] = &[Path::col("r.patient", Stored::Id)];
const PRACTITIONER_PATHS: &[Path] = &[
    Path::col("r.prof1", Stored::Id),
    Path::col("r.prof2", Stored::Id),
    Path::col("r.prof3", Stored::Id),
    Path::col("r.prof4", Stored::Id),
];

const EVALUATION: &str = "gnuhealth.patient.evaluation";
const STAY: &str = "gnuhealth.inpatient.registration";
const SESSION: &str = "gnuhealth.patient.ambulatory_care";
const EVALUATION_ROWS: &str = "r.eval_row IS NOT NULL";
const STAY_ROWS: &str = "r.inp_row IS NOT NULL";
const SESSION_ROWS: &str = "r.amb_row IS NOT NULL";

/// A field of one of the three tables: when the user may not read it, the encounters of
/// that table are not served (each field feeds elements of only that table's encounters).
macro_rules! field_rows {
    ($(($model:expr, $rows:expr, [$($field:literal),* $(,)?])),* $(,)?) => {
        &[$($(FieldUse::rows($model, $field, $rows),)*)*]
    };
}

pub static ENCOUNTER: ResourceDef = ResourceDef {
    type_name: "Encounter",
    // Each table's rows are served to the users who may read its model (see `fields`).
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
            "http://hl7.org/fhir/SearchParameter/Encounter-subject",
            PATIENT_PATHS,
            &["Patient"],
        ),
        SearchParam::new(
            "identifier",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/clinical-identifier",
            &[
                Path::col(
                    "r.identifier",
                    Stored::Code(System::Local(EVALUATION_SYSTEM)),
                )
                .when(EVALUATION_ROWS),
                Path::col(
                    "r.identifier",
                    Stored::Code(System::Local(REGISTRATION_SYSTEM)),
                )
                .when(STAY_ROWS),
                Path::col("r.identifier", Stored::Code(System::Local(SESSION_SYSTEM)))
                    .when(SESSION_ROWS),
            ],
        ),
        SearchParam::new(
            "date",
            Kind::Date,
            "http://hl7.org/fhir/SearchParameter/clinical-date",
            &[Path::col("r.start", Stored::Timestamp)],
        ),
        SearchParam::new(
            "status",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Encounter-status",
            &[Path::col(
                "r.status",
                Stored::Code(System::Fixed("http://hl7.org/fhir/encounter-status")),
            )],
        ),
        SearchParam::new(
            "class",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Encounter-class",
            &[Path::col(
                "r.class",
                Stored::Code(System::Fixed(CLASS_SYSTEM)),
            )],
        ),
        SearchParam::new(
            "type",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/clinical-type",
            &[
                Path::col(
                    "r.type_code",
                    Stored::Code(System::Local(VISIT_TYPE_SYSTEM)),
                )
                .when(EVALUATION_ROWS),
                Path::col(
                    "r.type_code",
                    Stored::Code(System::Local(ADMISSION_TYPE_SYSTEM)),
                )
                .when(STAY_ROWS),
            ],
        ),
        SearchParam::reference(
            "participant",
            "http://hl7.org/fhir/SearchParameter/Encounter-participant",
            PRACTITIONER_PATHS,
            &["Practitioner"],
        ),
        SearchParam::reference(
            "practitioner",
            "http://hl7.org/fhir/SearchParameter/Encounter-practitioner",
            PRACTITIONER_PATHS,
            &["Practitioner"],
        ),
        SearchParam::reference(
            "service-provider",
            "http://hl7.org/fhir/SearchParameter/Encounter-service-provider",
            &[Path::col("r.institution", Stored::Id)],
            &["Organization"],
        ),
        SearchParam::reference(
            "appointment",
            "http://hl7.org/fhir/SearchParameter/Encounter-appointment",
            &[Path::col("r.appointment", Stored::Id)],
            &["Appointment"],
        ),
        SearchParam::reference(
            "part-of",
            "http://hl7.org/fhir/SearchParameter/Encounter-part-of",
            &[Path::col("r.part_of", Stored::Text)],
            &["Encounter"],
        ),
        SearchParam::reference(
            "reason-reference",
            "http://hl7.org/fhir/SearchParameter/Encounter-reason-reference",
            &[Path::col("r.reason_condition", Stored::Id)],
            &["Condition"],
        ),
        SearchParam::new(
            "reason-code",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Encounter-reason-code",
            &[Path::child(
                "gnuhealth_pathology rc",
                "rc.id = r.reason_pathology",
                "rc.code",
                Stored::Code(System::Fixed(ICD10)),
            )
            .text("rc.name")],
        ),
        SearchParam::reference(
            "location",
            "http://hl7.org/fhir/SearchParameter/Encounter-location",
            &[Path::col("r.location", Stored::Text)],
            &["Location"],
        ),
    ],
    load,
    // Three tables under one union: no alias to put a rule on.
    aliases: &[],
    // Each field feeds only its own table's encounters: a denied one hides those rows.
    // The hospital stays and nursing sessions as whole models too.
    fields: field_rows![
        (
            EVALUATION,
            EVALUATION_ROWS,
            [
                "",
                "patient",
                "code",
                "state",
                "evaluation_type",
                "visit_type",
                "specialty",
                "urgency",
                "evaluation_start",
                "evaluation_endtime",
                "healthprof",
                "signed_by",
                "derived_from",
                "derived_to",
                "institution",
                "appointment",
                "inpatient_registration_code",
                "related_condition",
                "chief_complaint",
                "discharge_reason",
                "diagnosis",
                "secondary_conditions",
                "diagnostic_hypothesis",
            ]
        ),
        (
            STAY,
            STAY_ROWS,
            [
                "",
                "patient",
                "name",
                "state",
                "admission_type",
                "hospitalization_date",
                "discharge_date",
                "attending_physician",
                "operating_physician",
                "discharged_by",
                "institution",
                "admission_reason",
                "bed",
                "discharge_reason",
                "discharge_dx",
            ]
        ),
        (
            SESSION,
            SESSION_ROWS,
            [
                "",
                "patient",
                "name",
                "state",
                "session_start",
                "session_end",
                "health_professional",
                "ordering_professional",
                "signed_by",
                "base_condition",
            ]
        ),
        ("gnuhealth.secondary_condition", EVALUATION_ROWS, [""]),
        ("gnuhealth.diagnostic_hypothesis", EVALUATION_ROWS, [""]),
    ],
    count_from: None,
    id_rows: &[
        ("eval-", "r.eval_row"),
        ("inp-", "r.inp_row"),
        ("amb-", "r.amb_row"),
    ],
};

fn load<'a>(db: &'a Database, ctx: &'a Context, ids: &'a [String]) -> LoadFuture<'a> {
    Box::pin(async move {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut main = db.sql();
        main.push("SELECT ")
            .push(COLUMNS)
            .push(" FROM ")
            .push(FROM)
            .push(
                " LEFT JOIN gnuhealth_specialty sp ON sp.id = r.specialty \
                 LEFT JOIN gnuhealth_pathology rp ON rp.id = r.reason_pathology \
                 LEFT JOIN gnuhealth_pathology dm ON dm.id = r.dx_main \
                 LEFT JOIN gnuhealth_pathology dd ON dd.id = r.dx_discharge WHERE ",
            );
        crate::search::push_key_in(&mut main, &ENCOUNTER, ids);
        let evaluations: Vec<i64> = ids
            .iter()
            .filter_map(|id| id.strip_prefix("eval-")?.parse().ok())
            .collect();
        let mut others = db.sql();
        others
            .push(
                "SELECT s.evaluation, 'CM', p.code, p.name, s.comments \
                 FROM gnuhealth_secondary_condition s \
                 JOIN gnuhealth_pathology p ON p.id = s.pathology WHERE ",
            )
            .in_ids("s.evaluation", &evaluations)
            .push(
                " UNION ALL SELECT h.evaluation, 'differential', p.code, p.name, h.comments \
                 FROM gnuhealth_diagnostic_hypothesis h \
                 JOIN gnuhealth_pathology p ON p.id = h.pathology WHERE ",
            )
            .in_ids("h.evaluation", &evaluations)
            .push(" ORDER BY 1, 2, 3");
        let (rows, others) = if evaluations.is_empty() {
            (db.query(&main).await?, Vec::new())
        } else {
            tokio::try_join!(db.query(&main), db.query(&others))?
        };
        let others = group_by(others, 0);
        rows.iter()
            .map(|row| {
                let extra = row
                    .opt_int(1)
                    .and_then(|e| others.get(&e))
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                to_json(&encounter(ctx, row, extra))
            })
            .collect()
    })
}

/// One row of [`COLUMNS`] (+ the evaluation's secondary conditions and hypotheses) →
/// Encounter.
fn encounter(ctx: &Context, row: &Row, extra: &[Row]) -> Encounter {
    let id = row.opt_text(0).unwrap_or_default();
    let (is_eval, is_stay) = (row.opt_int(1).is_some(), row.opt_int(2).is_some());
    let status = static_status(row.opt_str(6));
    let patient = row.opt_int(4);
    let start = row.opt_str(12).and_then(fhir_datetime);
    let end = row.opt_str(13).and_then(fhir_datetime);
    let identifier_system = if is_eval {
        EVALUATION_SYSTEM
    } else if is_stay {
        REGISTRATION_SYSTEM
    } else {
        SESSION_SYSTEM
    };
    let mut enc = Encounter {
        resource_type: "Encounter",
        id,
        meta: meta(row.opt_str(31)),
        identifier: row
            .opt_text(5)
            .map(|c| Identifier::new(ctx.system(identifier_system), c))
            .into_iter()
            .collect(),
        status,
        class: class(row.opt_str(7).unwrap_or("AMB")),
        type_: row
            .opt_str(8)
            .and_then(|t| encounter_type(ctx, is_eval, t))
            .into_iter()
            .collect(),
        service_type: row
            .opt_text(9)
            .map(|c| CodeableConcept::coded(&ctx.system(SPECIALTY_SYSTEM), c, row.opt_text(10))),
        priority: row.opt_str(11).and_then(priority),
        subject: patient.map(|p| Reference::to("Patient", p, None)),
        participant: participants(is_eval, is_stay, [14, 15, 16, 17].map(|i| row.opt_int(i))),
        appointment: row
            .opt_int(19)
            .map(|a| Reference::to("Appointment", a, None))
            .into_iter()
            .collect(),
        length: length(row.opt_str(12), row.opt_str(13)),
        period: Period::from(start, end),
        reason_code: row
            .opt_text(25)
            .map(CodeableConcept::text)
            .into_iter()
            .chain(super::condition::icd10(row.opt_text(22), row.opt_text(23)))
            .collect(),
        reason_reference: row
            .opt_int(21)
            .map(|c| Reference::to("Condition", c, None))
            .into_iter()
            .collect(),
        service_provider: row
            .opt_int(18)
            .map(|o| Reference::to("Organization", o, None)),
        part_of: row.opt_text(20).map(|p| Reference {
            reference: Some(format!("Encounter/{p}")),
            ..Default::default()
        }),
        ..Default::default()
    };
    if status == "finished"
        && let Some(d) = row.opt_str(26).and_then(discharge_disposition)
    {
        enc.hospitalization = Some(EncounterHospitalization {
            discharge_disposition: Some(d),
            ..Default::default()
        });
    }
    if let Some(place) = row.opt_text(24) {
        enc.location.push(EncounterLocation {
            location: Reference {
                reference: Some(format!("Location/{place}")),
                ..Default::default()
            },
            status: location_status(status),
        });
    }
    // Diagnoses: (role, verification, code, note).
    type Diagnosis<'r> = (
        Option<&'r str>,
        Option<&'r str>,
        Option<CodeableConcept>,
        Option<String>,
    );
    let icd10 = super::condition::icd10;
    let mut diagnoses: Vec<Diagnosis> = Vec::new();
    if is_stay {
        diagnoses.push((
            Some("AD"),
            None,
            icd10(row.opt_text(22), row.opt_text(23)),
            None,
        ));
        diagnoses.push((
            Some("DD"),
            None,
            icd10(row.opt_text(29), row.opt_text(30)),
            None,
        ));
        // The admission reason is a diagnosis here, not a reason code.
        enc.reason_code.clear();
    } else {
        diagnoses.push((None, None, icd10(row.opt_text(27), row.opt_text(28)), None));
    }
    for r in extra {
        let (role, verification) = match r.opt_str(1) {
            Some("CM") => (Some("CM"), None),
            _ => (None, Some("differential")),
        };
        diagnoses.push((
            role,
            verification,
            icd10(r.opt_text(2), r.opt_text(3)),
            r.opt_text(4),
        ));
    }
    for (role, verification, code, note) in diagnoses {
        let Some(code) = code else {
            continue;
        };
        let local = format!("dx{}", enc.contained.len() + 1);
        // In R4 element order.
        let mut condition = serde_json::Map::new();
        condition.insert("resourceType".into(), json!("Condition"));
        condition.insert("id".into(), json!(local));
        if let Some(v) = verification {
            condition.insert(
                "verificationStatus".into(),
                json!({"coding": [{
                    "system": VERIFICATION_SYSTEM, "code": v, "display": "Differential"
                }]}),
            );
        }
        condition.insert(
            "category".into(),
            json!([{"coding": [{
                "system": CONDITION_CATEGORY_SYSTEM,
                "code": "encounter-diagnosis",
                "display": "Encounter Diagnosis"
            }]}]),
        );
        condition.insert("code".into(), json!(code));
        if let Some(p) = patient {
            condition.insert(
                "subject".into(),
                json!({"reference": format!("Patient/{p}")}),
            );
        }
        if let Some(n) = note {
            condition.insert("note".into(), json!([{"text": n}]));
        }
        enc.diagnosis.push(EncounterDiagnosis {
            condition: Reference {
                reference: Some(format!("#{local}")),
                ..Default::default()
            },
            use_: role.map(|r| {
                CodeableConcept::coded(DIAGNOSIS_ROLE_SYSTEM, r, Some(role_display(r).into()))
            }),
            rank: (enc.contained.is_empty() && is_eval).then_some(1),
        });
        enc.contained.push(condition.into());
    }
    enc
}

/// The status computed in SQL, as one of R4's codes.
fn static_status(s: Option<&str>) -> &'static str {
    const CODES: &[&str] = &["planned", "in-progress", "finished", "cancelled"];
    s.and_then(|s| CODES.iter().find(|c| **c == s).copied())
        .unwrap_or("unknown")
}

fn class(code: &str) -> Coding {
    let display = match code {
        "IMP" => "inpatient encounter",
        "HH" => "home health",
        "VR" => "virtual",
        _ => "ambulatory",
    };
    let code = if ["IMP", "HH", "VR"].contains(&code) {
        code
    } else {
        "AMB"
    };
    Coding::new(CLASS_SYSTEM, code, Some(display.into()))
}

/// The visit type of an evaluation, the admission type of a stay.
fn encounter_type(ctx: &Context, is_eval: bool, code: &str) -> Option<CodeableConcept> {
    let (system, display) = if is_eval {
        let d = match code {
            "new" => "New health condition",
            "followup" => "Follow-up",
            "well_child" => "Well child visit",
            "well_woman" => "Well woman visit",
            "well_man" => "Well man visit",
            _ => return None,
        };
        (VISIT_TYPE_SYSTEM, d)
    } else {
        let d = match code {
            "routine" => "Routine",
            "maternity" => "Maternity",
            "elective" => "Elective",
            "urgent" => "Urgent",
            "emergency" => "Emergency",
            _ => return None,
        };
        (ADMISSION_TYPE_SYSTEM, d)
    };
    Some(CodeableConcept::coded(
        &ctx.system(system),
        code,
        Some(display.into()),
    ))
}

fn priority(code: &str) -> Option<CodeableConcept> {
    let display = match code {
        "R" => "routine",
        "UR" => "urgent",
        "EM" => "emergency",
        "EL" => "elective",
        _ => return None,
    };
    Some(CodeableConcept::coded(
        PRIORITY_SYSTEM,
        code,
        Some(display.into()),
    ))
}

/// The people of an encounter in the roles their columns give them (the `prof1..4`
/// columns of the union).
fn participants(
    is_eval: bool,
    is_stay: bool,
    people: [Option<i64>; 4],
) -> Vec<EncounterParticipant> {
    let roles: [Option<&str>; 4] = if is_eval {
        // initiated by, signed by, referred from, referred to
        [Some("PPRF"), Some("PART"), Some("REF"), Some("CON")]
    } else if is_stay {
        // attending, operating, discharged by
        [Some("ATND"), Some("PART"), Some("DIS"), None]
    } else {
        // performed by, ordered by, signed by
        [Some("PPRF"), Some("REF"), Some("PART"), None]
    };
    people
        .into_iter()
        .zip(roles)
        .filter_map(|(person, role)| {
            let (person, role) = (person?, role?);
            Some(EncounterParticipant {
                type_: vec![CodeableConcept::coded(
                    PARTICIPANT_SYSTEM,
                    role,
                    Some(participant_display(role).into()),
                )],
                individual: Some(Reference::to("Practitioner", person, None)),
            })
        })
        .collect()
}

fn participant_display(code: &str) -> &'static str {
    match code {
        "PPRF" => "primary performer",
        "ATND" => "attender",
        "REF" => "referrer",
        "CON" => "consultant",
        "DIS" => "discharger",
        _ => "Participation",
    }
}

fn role_display(code: &str) -> &'static str {
    match code {
        "AD" => "Admission diagnosis",
        "DD" => "Discharge diagnosis",
        _ => "Comorbidity diagnosis",
    }
}

/// R4 discharge-disposition ← `discharge_reason`.
fn discharge_disposition(reason: &str) -> Option<CodeableConcept> {
    let (code, display) = match reason {
        "home" => ("home", "Home"),
        "transfer" => ("other-hcf", "Other healthcare facility"),
        "against_advice" => ("aadvice", "Left against advice"),
        "death" => ("exp", "Expired"),
        _ => return None,
    };
    Some(CodeableConcept::coded(
        DISCHARGE_SYSTEM,
        code,
        Some(display.into()),
    ))
}

/// The bed's status in the stay follows the stay's.
fn location_status(status: &str) -> Option<&'static str> {
    match status {
        "planned" => Some("planned"),
        "in-progress" => Some("active"),
        "finished" => Some("completed"),
        _ => None,
    }
}

/// The encounter's length in minutes, when it has ended.
fn length(start: Option<&str>, end: Option<&str>) -> Option<Quantity> {
    let parse = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").ok();
    let minutes = (parse(end?)? - parse(start?)?).num_minutes();
    (minutes >= 0).then(|| Quantity {
        value: Some(minutes as f64),
        unit: Some("min".into()),
        system: Some(UCUM.into()),
        code: Some("min".into()),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_uses() {
        // Every parameter is on rows that a denied field hides as a whole.
        let all: Vec<&str> = ENCOUNTER.params.iter().map(|p| p.name).collect();
        crate::resources::patient::field_checks::check(&ENCOUNTER, &all);
    }

    #[test]
    fn lengths_need_both_ends_in_order() {
        let q = length(Some("2024-05-06 08:40:00"), Some("2024-05-06 09:05:00"));
        assert_eq!(q.and_then(|q| q.value), Some(25.0));
        assert!(length(Some("2024-05-06 08:40:00"), None).is_none());
        assert!(length(Some("2024-05-06 09:40:00"), Some("2024-05-06 09:05:00")).is_none());
    }

    #[test]
    fn codes() {
        assert_eq!(class("IMP").code.as_deref(), Some("IMP"));
        assert_eq!(class("weird").code.as_deref(), Some("AMB"));
        assert_eq!(static_status(Some("finished")), "finished");
        assert_eq!(static_status(Some("x")), "unknown");
        assert!(discharge_disposition("death").is_some());
        assert!(priority("Q").is_none());
    }
}
