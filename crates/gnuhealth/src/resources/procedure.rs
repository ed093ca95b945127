//! Procedure ← three GNU Health tables sharing one id space through prefixes:
//! `surg-<id>` a surgery as a whole (`gnuhealth_surgery`, with its team, complications and
//! operating room), `op-<id>` one procedure line of a surgery (`gnuhealth_operation`, which
//! takes the surgery's patient, dates, status, team and room), and `pp-<id>` a procedure
//! recorded during an evaluation, nursing session, rounding or surgery
//! (`gnuhealth_patient_procedure`). Search runs over a UNION ALL of the three with a text
//! key; the loader splits the ids by prefix and queries each table once per page.

use fhir::datatypes::{
    Annotation, CodeableConcept, Coding, ICD10, Identifier, Period, Reference, SNOMED,
};
use fhir::resources::procedure::{Procedure, ProcedurePerformer};
use serde_json::Value;

use super::diagnostic_report::children;
use super::{
    Context, FieldUse, Kind, LoadFuture, Path, ResourceDef, SearchParam, Stored, System, group_by,
    meta, to_json,
};
use crate::db::{Database, DbError, Row, Sql};
use crate::tryton::{fhir_datetime, newest};

pub const STATUS_SYSTEM: &str = "http://hl7.org/fhir/event-status";
/// GNU Health's procedure codes (`gnuhealth_procedure.name`: ICD-10-PCS, ICPM, CPT… depending
/// on the coding module installed, so no standard system can be claimed).
pub const PROCEDURE_SYSTEM: &str = "CodeSystem/procedure";
/// The surgery code (`SRG-2026-00001`).
pub const IDENTIFIER_SYSTEM: &str = "sid/surgery";
/// SNOMED CT 387713003 |Surgical procedure|.
pub const SURGICAL: &str = "387713003";

/// FHIR status ← `gnuhealth_surgery.state` (a recorded patient procedure is completed).
pub const SURGERY_STATUSES: &[(&str, &[&str])] = &[
    ("preparation", &["draft", "confirmed"]),
    ("in-progress", &["in_progress"]),
    ("completed", &["done", "signed"]),
    ("not-done", &["cancelled"]),
];

/// [`surgery_status`] in SQL over a surgery `s` (checked against it in the tests).
macro_rules! surgery_status_sql {
    () => {
        "(CASE COALESCE(s.state, 'draft') WHEN 'draft' THEN 'preparation' \
         WHEN 'confirmed' THEN 'preparation' WHEN 'in_progress' THEN 'in-progress' \
         WHEN 'done' THEN 'completed' WHEN 'signed' THEN 'completed' \
         WHEN 'cancelled' THEN 'not-done' ELSE 'unknown' END)"
    };
}

/// The procedure that codes a whole surgery: its main procedure, else the intervention,
/// else its first procedure line.
macro_rules! surgery_procedure_sql {
    () => {
        "COALESCE(s.main_procedure, s.surgical_intervention, (SELECT o1.procedure \
         FROM gnuhealth_operation o1 WHERE o1.surgery = s.id ORDER BY o1.id LIMIT 1))"
    };
}

/// The hospital stay (`inp-<id>`, an Encounter) a surgery `s` was done in.
macro_rules! stay_sql {
    () => {
        "(CASE WHEN s.admission IS NOT NULL THEN 'inp-' || CAST(s.admission AS VARCHAR) END)"
    };
}

/// All procedures with what search needs, keyed by the text FHIR id `r.fhir_id`. An
/// operation line shows its surgery's data, so it is as new as the newer of both rows.
const FROM: &str = concat!(
    "(SELECT 'surg-' || CAST(s.id AS VARCHAR) AS fhir_id, s.id AS surgery, ",
    "s.patient AS patient, ",
    surgery_procedure_sql!(),
    " AS procedure_id, s.surgery_date AS performed, ",
    surgery_status_sql!(),
    " AS status, s.surgeon AS surgeon, s.anesthetist AS anesthetist, s.pathology AS reason, ",
    "s.code AS identifier, '387713003' AS category, ",
    stay_sql!(),
    " AS encounter, COALESCE(s.write_date, s.create_date) AS stamp ",
    "FROM gnuhealth_surgery s WHERE s.patient IS NOT NULL ",
    "UNION ALL ",
    "SELECT 'op-' || CAST(o.id AS VARCHAR), s.id, s.patient, o.procedure, s.surgery_date, ",
    surgery_status_sql!(),
    ", s.surgeon, s.anesthetist, s.pathology, NULL, '387713003', ",
    stay_sql!(),
    ", (CASE WHEN COALESCE(s.write_date, s.create_date) > COALESCE(o.write_date, o.create_date) ",
    "THEN COALESCE(s.write_date, s.create_date) ELSE COALESCE(o.write_date, o.create_date) END) ",
    "FROM gnuhealth_operation o JOIN gnuhealth_surgery s ON s.id = o.surgery ",
    "WHERE s.patient IS NOT NULL ",
    "UNION ALL ",
    "SELECT 'pp-' || CAST(p.id AS VARCHAR), NULL, p.patient, p.procedure, p.pdate, ",
    "'completed', NULL, NULL, NULL, NULL, ",
    "(CASE WHEN p.ctx = 'surgery' THEN '387713003' END), ",
    // `reference` is `model,id` of the record the procedure was done in.
    "(CASE WHEN p.reference LIKE 'gnuhealth.patient.evaluation,%' ",
    "THEN 'eval-' || substr(p.reference, 30) ",
    "WHEN p.reference LIKE 'gnuhealth.patient.ambulatory_care,%' ",
    "THEN 'amb-' || substr(p.reference, 35) END), ",
    "COALESCE(p.write_date, p.create_date) ",
    "FROM gnuhealth_patient_procedure p WHERE p.patient IS NOT NULL) r"
);

const PATIENT_PATHS: &[Path] = &[Path::col("r.patient", Stored::Id)];

pub static PROCEDURE: ResourceDef = ResourceDef {
    type_name: "Procedure",
    models: &[
        "gnuhealth.surgery",
        "gnuhealth.operation",
        "gnuhealth.patient.procedure",
    ],
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
            "http://hl7.org/fhir/SearchParameter/Procedure-subject",
            PATIENT_PATHS,
            &["Patient"],
        ),
        SearchParam::new(
            "identifier",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/clinical-identifier",
            &[Path::col(
                "r.identifier",
                Stored::Code(System::Local(IDENTIFIER_SYSTEM)),
            )],
        ),
        SearchParam::new(
            "code",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/clinical-code",
            &[Path::child(
                "gnuhealth_procedure pc",
                "pc.id = r.procedure_id",
                "pc.name",
                Stored::Code(System::Local(PROCEDURE_SYSTEM)),
            )
            .text("pc.description")],
        ),
        SearchParam::new(
            "date",
            Kind::Date,
            "http://hl7.org/fhir/SearchParameter/clinical-date",
            &[Path::col("r.performed", Stored::Timestamp)],
        ),
        SearchParam::new(
            "status",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Procedure-status",
            &[Path::col(
                "r.status",
                Stored::Code(System::Fixed(STATUS_SYSTEM)),
            )],
        ),
        SearchParam::new(
            "category",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Procedure-category",
            &[Path::col("r.category", Stored::Code(System::Fixed(SNOMED)))],
        ),
        SearchParam::reference(
            "performer",
            "http://hl7.org/fhir/SearchParameter/Procedure-performer",
            &[
                Path::col("r.surgeon", Stored::Id),
                Path::col("r.anesthetist", Stored::Id),
                Path::child(
                    "gnuhealth_surgery_team st",
                    "st.surgery = r.surgery",
                    "st.team_member",
                    Stored::Id,
                ),
            ],
            &["Practitioner"],
        ),
        SearchParam::reference(
            "encounter",
            "http://hl7.org/fhir/SearchParameter/clinical-encounter",
            &[Path::col("r.encounter", Stored::Text)],
            &["Encounter"],
        ),
        SearchParam::new(
            "reason-code",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Procedure-reason-code",
            &[Path::child(
                "gnuhealth_pathology rp",
                "rp.id = r.reason",
                "rp.code",
                Stored::Code(System::Fixed(ICD10)),
            )],
        ),
    ],
    load,
    // Three tables under one union: no alias to put a rule on.
    aliases: &[],
    // One list for the three tables: an element is left out of every Procedure when one of
    // its sources is denied. Procedure, pathology and operating-room names are the value of
    // the field that points to them; team and complication rows are whole models. An
    // operation line takes its surgery's data through `surgery` (so its subject and status).
    fields: &[
        FieldUse::required(
            "gnuhealth.surgery",
            "patient",
            &["subject"],
            &["patient", "subject"],
        ),
        FieldUse::required("gnuhealth.surgery", "state", &["status"], &["status"]),
        FieldUse::new(
            "gnuhealth.surgery",
            "code",
            &["identifier"],
            &["identifier"],
        ),
        FieldUse::new("gnuhealth.surgery", "description", &["code.text"], &[]),
        FieldUse::new("gnuhealth.surgery", "main_procedure", &["code"], &["code"]),
        FieldUse::new(
            "gnuhealth.surgery",
            "surgical_intervention",
            &["code"],
            &["code"],
        ),
        FieldUse::new(
            "gnuhealth.surgery",
            "surgery_date",
            &["performedPeriod.start"],
            &["date"],
        ),
        FieldUse::new(
            "gnuhealth.surgery",
            "surgery_end_date",
            &["performedPeriod.end"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.surgery",
            "surgeon",
            &["performer"],
            &["performer"],
        ),
        FieldUse::new(
            "gnuhealth.surgery",
            "anesthetist",
            &["performer"],
            &["performer"],
        ),
        FieldUse::new("gnuhealth.surgery", "signed_by", &["recorder"], &[]),
        FieldUse::new(
            "gnuhealth.surgery",
            "institution",
            &["performer.onBehalfOf"],
            &[],
        ),
        FieldUse::new("gnuhealth.surgery", "operating_room", &["location"], &[]),
        FieldUse::new(
            "gnuhealth.surgery",
            "pathology",
            &["reasonCode"],
            &["reason-code"],
        ),
        FieldUse::new("gnuhealth.surgery", "laterality", &["bodySite"], &[]),
        FieldUse::new(
            "gnuhealth.surgery",
            "classification",
            &["category.text"],
            &[],
        ),
        FieldUse::new("gnuhealth.surgery", "extra_info", &["note"], &[]),
        FieldUse::new("gnuhealth.surgery", "anesthesia_report", &["note"], &[]),
        FieldUse::new(
            "gnuhealth.surgery",
            "postoperative_guidelines",
            &["followUp"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.surgery",
            "discharge_instructions",
            &["followUp"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.surgery",
            "complications_notes",
            &["complication"],
            &[],
        ),
        FieldUse::new("gnuhealth.surgery_team", "", &["performer"], &["performer"]),
        FieldUse::new("gnuhealth.surgery.complication", "", &["complication"], &[]),
        FieldUse::required(
            "gnuhealth.operation",
            "surgery",
            &[
                "partOf",
                "subject",
                "status",
                "category",
                "performedPeriod",
                "performer",
                "recorder",
                "location",
                "reasonCode",
            ],
            &[
                "patient",
                "subject",
                "status",
                "date",
                "performer",
                "reason-code",
                "category",
            ],
        ),
        FieldUse::new("gnuhealth.operation", "procedure", &["code"], &["code"]),
        FieldUse::new("gnuhealth.operation", "notes", &["note"], &[]),
        FieldUse::required(
            "gnuhealth.patient.procedure",
            "patient",
            &["subject"],
            &["patient", "subject"],
        ),
        FieldUse::new(
            "gnuhealth.patient.procedure",
            "procedure",
            &["code"],
            &["code"],
        ),
        FieldUse::new(
            "gnuhealth.patient.procedure",
            "pdate",
            &["performedDateTime"],
            &["date"],
        ),
        FieldUse::new(
            "gnuhealth.patient.procedure",
            "reference",
            &["partOf", "encounter"],
            &["encounter"],
        ),
        FieldUse::new(
            "gnuhealth.surgery",
            "admission",
            &["encounter"],
            &["encounter"],
        ),
        FieldUse::new("gnuhealth.patient.procedure", "comments", &["note"], &[]),
        FieldUse::new(
            "gnuhealth.patient.procedure",
            "ctx",
            &["category"],
            &["category"],
        ),
    ],
    count_from: None,
    id_rows: &[],
};

/// The ids of one source table among FHIR ids `<prefix><integer>` (only the canonical
/// spelling: `surg-01` names nothing).
pub fn prefixed_ids(ids: &[String], prefix: &str) -> Vec<i64> {
    ids.iter()
        .filter_map(|id| {
            let n = id.strip_prefix(prefix)?;
            let v: i64 = n.parse().ok()?;
            (v.to_string() == n).then_some(v)
        })
        .collect()
}

fn load<'a>(db: &'a Database, ctx: &'a Context, ids: &'a [String]) -> LoadFuture<'a> {
    Box::pin(load_procedures(db, ctx, ids))
}

/// `col IN (the surgeries asked for, and those of the operation lines asked for)`.
fn in_surgeries(sql: &mut Sql, col: &str, surgeries: &[i64], operations: &[i64]) {
    sql.push("(").in_ids(col, surgeries).push(" OR ").push(col);
    sql.push(" IN (SELECT o.surgery FROM gnuhealth_operation o WHERE ")
        .in_ids("o.id", operations)
        .push("))");
}

async fn load_procedures(
    db: &Database,
    ctx: &Context,
    ids: &[String],
) -> Result<Vec<Value>, DbError> {
    let (surg_ids, op_ids, pp_ids) = (
        prefixed_ids(ids, "surg-"),
        prefixed_ids(ids, "op-"),
        prefixed_ids(ids, "pp-"),
    );
    if surg_ids.is_empty() && op_ids.is_empty() && pp_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut surgeries = db.sql();
    surgeries.push(concat!(
        "SELECT s.id, s.patient, s.state, s.code, s.description, s.surgery_date, ",
        "s.surgery_end_date, s.surgeon, s.anesthetist, s.signed_by, s.institution, orr.name, ",
        "pa.code, pa.name, s.laterality, s.classification, s.extra_info, s.anesthesia_report, ",
        "s.postoperative_guidelines, s.discharge_instructions, s.complications_notes, ",
        "COALESCE(s.write_date, s.create_date), pr.name, pr.description, orr.id, s.admission ",
        "FROM gnuhealth_surgery s ",
        "LEFT JOIN gnuhealth_hospital_or orr ON orr.id = s.operating_room ",
        "LEFT JOIN gnuhealth_pathology pa ON pa.id = s.pathology ",
        "LEFT JOIN gnuhealth_procedure pr ON pr.id = ",
        surgery_procedure_sql!(),
        " WHERE s.patient IS NOT NULL AND "
    ));
    in_surgeries(&mut surgeries, "s.id", &surg_ids, &op_ids);
    let mut operations = db.sql();
    operations
        .push(
            "SELECT o.id, o.surgery, pr.name, pr.description, o.notes, \
             COALESCE(o.write_date, o.create_date) FROM gnuhealth_operation o \
             LEFT JOIN gnuhealth_procedure pr ON pr.id = o.procedure WHERE ",
        )
        .in_ids("o.id", &op_ids);
    let mut team = db.sql();
    team.push(
        "SELECT st.surgery, st.team_member, sp.name, st.notes FROM gnuhealth_surgery_team st \
         LEFT JOIN gnuhealth_hp_specialty hs ON hs.id = st.role \
         LEFT JOIN gnuhealth_specialty sp ON sp.id = hs.specialty WHERE ",
    );
    in_surgeries(&mut team, "st.surgery", &surg_ids, &op_ids);
    team.push(" ORDER BY st.surgery, st.id");
    let mut complications = db.sql();
    complications.push(
        "SELECT sc.surgery, pa.code, pa.name, sc.severity, sc.short_comment \
         FROM gnuhealth_surgery_complication sc \
         LEFT JOIN gnuhealth_pathology pa ON pa.id = sc.complication WHERE ",
    );
    in_surgeries(&mut complications, "sc.surgery", &surg_ids, &op_ids);
    complications.push(" ORDER BY sc.surgery, sc.id");
    let mut recorded = db.sql();
    recorded
        .push(
            "SELECT p.id, p.patient, p.pdate, p.reference, p.comments, pr.name, \
             pr.description, COALESCE(p.write_date, p.create_date), p.ctx \
             FROM gnuhealth_patient_procedure p \
             LEFT JOIN gnuhealth_procedure pr ON pr.id = p.procedure \
             WHERE p.patient IS NOT NULL AND ",
        )
        .in_ids("p.id", &pp_ids);
    let (surgeries, operations, team, complications, recorded) = tokio::try_join!(
        db.query(&surgeries),
        db.query(&operations),
        db.query(&team),
        db.query(&complications),
        db.query(&recorded)
    )?;
    let (team, complications) = (group_by(team, 0), group_by(complications, 0));

    let mut out = Vec::with_capacity(ids.len());
    for s in &surgeries {
        let id = s.int(0);
        if surg_ids.contains(&id) {
            let p = surgery(ctx, s, children(&team, id), children(&complications, id));
            out.push(to_json(&p)?);
        }
    }
    for o in &operations {
        // An operation line without (a patient's) surgery has no subject: not served.
        let Some(s) = surgeries.iter().find(|s| s.int(0) == o.int(1)) else {
            continue;
        };
        out.push(to_json(&operation(ctx, o, s, children(&team, s.int(0))))?);
    }
    for p in &recorded {
        out.push(to_json(&recorded_procedure(ctx, p))?);
    }
    Ok(out)
}

/// What a surgery and its procedure lines share: status, subject, period, people, room,
/// reason and category.
fn surgery_base(id: String, s: &Row, team: &[Row]) -> Procedure {
    Procedure {
        resource_type: "Procedure",
        id,
        status: surgery_status(s.opt_str(2)),
        category: Some(surgical_category(s.opt_str(15))),
        subject: Reference::to("Patient", s.int(1), None),
        encounter: s
            .opt_int(25)
            .map(|stay| Reference::to("Encounter", format!("inp-{stay}"), None)),
        performed_period: Period::from(
            s.opt_str(5).and_then(fhir_datetime),
            s.opt_str(6).and_then(fhir_datetime),
        ),
        recorder: s
            .opt_int(9)
            .map(|hp| Reference::to("Practitioner", hp, None)),
        performer: performers(s.opt_int(7), s.opt_int(8), s.opt_int(10), team),
        // The operating room is a Location (`or-<id>`, see `location`).
        location: s
            .opt_int(24)
            .map(|room| Reference::to("Location", format!("or-{room}"), s.opt_text(11))),
        reason_code: s
            .opt_text(12)
            .map(|code| CodeableConcept::coded(ICD10, code, s.opt_text(13)))
            .into_iter()
            .collect(),
        ..Default::default()
    }
}

/// `surg-<id>`: the surgery as a whole.
fn surgery(ctx: &Context, s: &Row, team: &[Row], complications: &[Row]) -> Procedure {
    let mut p = surgery_base(format!("surg-{}", s.int(0)), s, team);
    p.meta = meta(s.opt_str(21));
    p.identifier = s
        .opt_text(3)
        .map(|code| Identifier {
            use_: Some("usual"),
            ..Identifier::new(ctx.system(IDENTIFIER_SYSTEM), code)
        })
        .into_iter()
        .collect();
    p.code = procedure_code(ctx, s.opt_text(22), s.opt_text(23), s.opt_text(4));
    p.body_site = s.opt_str(14).and_then(laterality).into_iter().collect();
    p.complication = complications
        .iter()
        .map(|c| {
            let severity = c.opt_str(3).and_then(severity);
            let text = [c.opt_text(2), severity.map(str::to_owned), c.opt_text(4)]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
            CodeableConcept {
                coding: c
                    .opt_text(1)
                    .map(|code| Coding::new(ICD10, code, c.opt_text(2)))
                    .into_iter()
                    .collect(),
                text: (!text.is_empty()).then_some(text),
            }
        })
        .chain(s.opt_text(20).map(CodeableConcept::text))
        .collect();
    p.follow_up = [s.opt_text(18), s.opt_text(19)]
        .into_iter()
        .flatten()
        .map(CodeableConcept::text)
        .collect();
    p.note = [s.opt_text(16), s.opt_text(17)]
        .into_iter()
        .flatten()
        .map(Annotation::text)
        .collect();
    p
}

/// `op-<id>`: one procedure line, part of its surgery.
fn operation(ctx: &Context, o: &Row, s: &Row, team: &[Row]) -> Procedure {
    let mut p = surgery_base(format!("op-{}", o.int(0)), s, team);
    p.meta = meta(newest([o.opt_str(5), s.opt_str(21)]).as_deref());
    p.part_of = vec![Reference::to(
        "Procedure",
        format!("surg-{}", s.int(0)),
        None,
    )];
    p.code = procedure_code(ctx, o.opt_text(2), o.opt_text(3), None);
    p.note = o.opt_text(4).map(Annotation::text).into_iter().collect();
    p
}

/// `pp-<id>`: a procedure recorded on a patient (always done).
fn recorded_procedure(ctx: &Context, r: &Row) -> Procedure {
    Procedure {
        resource_type: "Procedure",
        id: format!("pp-{}", r.int(0)),
        meta: meta(r.opt_str(7)),
        part_of: r
            .opt_str(3)
            .and_then(|reference| reference.strip_prefix("gnuhealth.surgery,"))
            .and_then(|id| id.parse::<i64>().ok())
            .map(|id| Reference::to("Procedure", format!("surg-{id}"), None))
            .into_iter()
            .collect(),
        status: "completed",
        category: (r.opt_str(8) == Some("surgery")).then(|| surgical_category(None)),
        code: procedure_code(ctx, r.opt_text(5), r.opt_text(6), None),
        subject: Reference::to("Patient", r.int(1), None),
        encounter: r.opt_str(3).and_then(encounter_of),
        performed_date_time: r.opt_str(2).and_then(fhir_datetime),
        note: r.opt_text(4).map(Annotation::text).into_iter().collect(),
        ..Default::default()
    }
}

/// The Encounter a recorded procedure was done in, from its `reference` (`model,id`):
/// an evaluation or a nursing session.
fn encounter_of(reference: &str) -> Option<Reference> {
    let (model, id) = reference.split_once(',')?;
    let prefix = match model {
        "gnuhealth.patient.evaluation" => "eval",
        "gnuhealth.patient.ambulatory_care" => "amb",
        _ => return None,
    };
    let id: i64 = id.parse().ok()?;
    Some(Reference::to("Encounter", format!("{prefix}-{id}"), None))
}

/// FHIR status of a surgery state (NULL is Tryton's default, draft).
pub fn surgery_status(state: Option<&str>) -> &'static str {
    let state = state.unwrap_or("draft");
    SURGERY_STATUSES
        .iter()
        .find(|(_, stored)| stored.contains(&state))
        .map_or("unknown", |(fhir, _)| *fhir)
}

/// A GNU Health procedure code, its description as display; the text is `text` when given
/// (a surgery's own description), else the description.
fn procedure_code(
    ctx: &Context,
    code: Option<String>,
    description: Option<String>,
    text: Option<String>,
) -> Option<CodeableConcept> {
    let cc = CodeableConcept {
        coding: code
            .map(|c| Coding::new(&ctx.system(PROCEDURE_SYSTEM), c, description.clone()))
            .into_iter()
            .collect(),
        text: text.or(description),
    };
    (!cc.coding.is_empty() || cc.text.is_some()).then_some(cc)
}

/// SNOMED "Surgical procedure"; the surgery's urgency classification (`o`/`r`/`u`/`e`) is
/// part of the text, since R4 Procedure has no priority of its own.
pub fn surgical_category(classification: Option<&str>) -> CodeableConcept {
    let urgency = match classification {
        Some("o") => Some("Optional"),
        Some("r") => Some("Required"),
        Some("u") => Some("Urgent"),
        Some("e") => Some("Emergency"),
        _ => None,
    };
    CodeableConcept {
        coding: vec![Coding::new(
            SNOMED,
            SURGICAL,
            Some("Surgical procedure".into()),
        )],
        text: Some(match urgency {
            Some(u) => format!("{u} surgical procedure"),
            None => "Surgical procedure".into(),
        }),
    }
}

/// `laterality` → SNOMED laterality qualifier (the R4 bodysite-laterality codes).
pub fn laterality(code: &str) -> Option<CodeableConcept> {
    let (snomed, display, text) = match code {
        "right" => ("419465000", "Unilateral right", "Right"),
        "left" => ("419161000", "Unilateral left", "Left"),
        "bilateral" => ("51440002", "Bilateral", "Bilateral"),
        _ => return None,
    };
    Some(CodeableConcept {
        coding: vec![Coding::new(SNOMED, snomed, Some(display.into()))],
        text: Some(text.into()),
    })
}

fn severity(code: &str) -> Option<&'static str> {
    match code {
        "1_mi" => Some("mild"),
        "2_mo" => Some("moderate"),
        "3_sv" => Some("severe"),
        _ => None,
    }
}

/// Surgeon and anesthetist (SNOMED occupations), then the other team members with their
/// role (a specialty) or remark; each professional once. They act for the institution.
fn performers(
    surgeon: Option<i64>,
    anesthetist: Option<i64>,
    institution: Option<i64>,
    team: &[Row],
) -> Vec<ProcedurePerformer> {
    let on_behalf_of = institution.map(|i| Reference::to("Organization", i, None));
    let mut seen = Vec::new();
    let mut out = Vec::new();
    let roles = [
        (surgeon, Some(("304292004", "Surgeon")), None),
        (anesthetist, Some(("88189002", "Anesthesiologist")), None),
    ]
    .into_iter()
    .chain(
        team.iter()
            .map(|t| (t.opt_int(1), None, t.opt_text(2).or(t.opt_text(3)))),
    );
    for (who, snomed, text) in roles {
        let Some(who) = who else { continue };
        if seen.contains(&who) {
            continue;
        }
        seen.push(who);
        let function = match (snomed, text) {
            (Some((code, display)), _) => Some(CodeableConcept::coded(
                SNOMED,
                code,
                Some(display.to_owned()),
            )),
            (None, Some(text)) => Some(CodeableConcept::text(text)),
            (None, None) => None,
        };
        out.push(ProcedurePerformer {
            function,
            actor: Reference::to("Practitioner", who, None),
            on_behalf_of: on_behalf_of.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Val;

    #[test]
    fn field_uses() {
        crate::resources::patient::field_checks::check(&PROCEDURE, &[]);
    }

    #[test]
    fn ids_by_prefix() {
        let ids: Vec<String> = [
            "surg-1", "op-2", "pp-3", "pp-10", "surg-01", "pp-x", "7", "op-",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        assert_eq!(prefixed_ids(&ids, "surg-"), vec![1]);
        assert_eq!(prefixed_ids(&ids, "op-"), vec![2]);
        assert_eq!(prefixed_ids(&ids, "pp-"), vec![3, 10]);
    }

    #[test]
    fn statuses() {
        assert_eq!(surgery_status(Some("draft")), "preparation");
        assert_eq!(surgery_status(None), "preparation");
        assert_eq!(surgery_status(Some("confirmed")), "preparation");
        assert_eq!(surgery_status(Some("in_progress")), "in-progress");
        assert_eq!(surgery_status(Some("done")), "completed");
        assert_eq!(surgery_status(Some("signed")), "completed");
        assert_eq!(surgery_status(Some("cancelled")), "not-done");
        assert_eq!(surgery_status(Some("odd")), "unknown");
    }

    /// The SQL of the search table gives the same status as [`surgery_status`].
    #[test]
    fn status_sql_matches_mapping() -> rusqlite::Result<()> {
        let conn = rusqlite::Connection::open_in_memory()?;
        let sql = concat!(
            "SELECT ",
            surgery_status_sql!(),
            " FROM (SELECT ?1 AS state) s"
        );
        for state in [
            None,
            Some("draft"),
            Some("confirmed"),
            Some("in_progress"),
            Some("done"),
            Some("signed"),
            Some("cancelled"),
            Some("odd"),
        ] {
            let got: String = conn.query_row(sql, [state], |r| r.get(0))?;
            assert_eq!(got, surgery_status(state), "{state:?}");
        }
        Ok(())
    }

    /// The search table's SQL is valid and keys each source table by its prefix.
    #[test]
    fn search_table_runs() -> rusqlite::Result<()> {
        let conn = rusqlite::Connection::open_in_memory()?;
        conn.execute_batch(
            "CREATE TABLE gnuhealth_surgery (id INTEGER, patient INTEGER, main_procedure INTEGER, \
             surgical_intervention INTEGER, surgery_date TEXT, state TEXT, surgeon INTEGER, \
             anesthetist INTEGER, pathology INTEGER, code TEXT, write_date TEXT, create_date TEXT, \
             admission INTEGER);
             CREATE TABLE gnuhealth_operation (id INTEGER, surgery INTEGER, procedure INTEGER, \
             write_date TEXT, create_date TEXT);
             CREATE TABLE gnuhealth_patient_procedure (id INTEGER, patient INTEGER, \
             procedure INTEGER, pdate TEXT, ctx TEXT, write_date TEXT, create_date TEXT, \
             reference TEXT);
             INSERT INTO gnuhealth_surgery VALUES (1, 1, NULL, NULL, '2024-02-11 22:15:00', \
             'signed', 2, 1, 5, 'SRG-1', NULL, '2024-02-12 00:00:00', 6);
             INSERT INTO gnuhealth_operation VALUES (4, 1, 9, NULL, '2024-02-11 00:00:00');
             INSERT INTO gnuhealth_patient_procedure VALUES (3, 1, 8, '2024-05-06 08:40:00', \
             'evaluation', NULL, '2024-05-06 09:00:00', 'gnuhealth.patient.evaluation,7');",
        )?;
        let mut stmt = conn.prepare(&format!(
            "SELECT r.fhir_id, r.procedure_id, r.status, r.stamp, r.encounter FROM {FROM} \
             ORDER BY r.fhir_id"
        ))?;
        let rows: Vec<(String, i64, String, String, String)> = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<_, _>>()?;
        assert_eq!(
            rows,
            vec![
                (
                    "op-4".into(),
                    9,
                    "completed".into(),
                    "2024-02-12 00:00:00".into(),
                    "inp-6".into()
                ),
                (
                    "pp-3".into(),
                    8,
                    "completed".into(),
                    "2024-05-06 09:00:00".into(),
                    "eval-7".into()
                ),
                (
                    "surg-1".into(),
                    9,
                    "completed".into(),
                    "2024-02-12 00:00:00".into(),
                    "inp-6".into()
                ),
            ]
        );
        Ok(())
    }

    #[test]
    fn categories_and_sites() {
        let c = surgical_category(Some("u"));
        assert_eq!(c.coding[0].code.as_deref(), Some(SURGICAL));
        assert_eq!(c.text.as_deref(), Some("Urgent surgical procedure"));
        assert_eq!(
            surgical_category(None).text.as_deref(),
            Some("Surgical procedure")
        );
        let site = laterality("right").map(|c| c.coding[0].code.clone());
        assert_eq!(site, Some(Some("419465000".into())));
        assert!(laterality("up").is_none());
    }

    #[test]
    fn performers_once_each() {
        let t = |s: &str| Val::Text(s.into());
        let team = [
            Row(vec![
                Val::Int(1),
                Val::Int(2),
                t("General Surgery"),
                t("Main surgeon"),
            ]),
            Row(vec![Val::Int(1), Val::Int(3), Val::Null, t("Scrub nurse")]),
        ];
        let p = performers(Some(2), Some(1), Some(1), &team);
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].actor.reference.as_deref(), Some("Practitioner/2"));
        assert_eq!(
            p[0].function.as_ref().map(|f| f.coding[0].code.clone()),
            Some(Some("304292004".into()))
        );
        assert_eq!(
            p[2].function
                .as_ref()
                .and_then(|f| f.text.clone())
                .as_deref(),
            Some("Scrub nurse")
        );
        assert_eq!(
            p[2].on_behalf_of
                .as_ref()
                .and_then(|r| r.reference.clone())
                .as_deref(),
            Some("Organization/1")
        );
    }

    #[test]
    fn recorded_procedures() {
        let t = |s: &str| Val::Text(s.into());
        let ctx = Context {
            base_url: "https://h.example/fhir".into(),
        };
        let row = Row(vec![
            Val::Int(3),
            Val::Int(1),
            t("2024-02-11 22:15:00"),
            t("gnuhealth.surgery,1"),
            Val::Null,
            t("0DTJ4ZZ"),
            t("Resection of Appendix"),
            t("2024-02-12 00:00:00"),
            t("surgery"),
        ]);
        let p = recorded_procedure(&ctx, &row);
        assert_eq!(p.id, "pp-3");
        assert_eq!(p.status, "completed");
        assert_eq!(p.part_of[0].reference.as_deref(), Some("Procedure/surg-1"));
        assert_eq!(
            p.performed_date_time.as_deref(),
            Some("2024-02-11T22:15:00Z")
        );
        assert_eq!(
            p.code.map(|c| c.coding[0].system.clone()),
            Some(Some("https://h.example/fhir/CodeSystem/procedure".into()))
        );
        assert!(p.category.is_some());
    }
}
