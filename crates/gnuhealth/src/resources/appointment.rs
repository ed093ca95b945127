//! Appointment ← `gnuhealth_appointment`: a patient's booking with a health professional
//! (participants `patient` and `practitioner`), its number (`name`), state, start, the
//! consultation service booked (serviceType, a product), the medical specialty (R4's
//! `specialty`: the practitioner's specialty the visit needs), visit type
//! (appointmentType), urgency (priority) and comments.
//!
//! GNU Health books a start time and no end: R4 requires an end whenever there is a start
//! (app-2) and both for every appointment but proposed, cancelled and waitlisted ones
//! (app-3). An end made up from a slot length would be false data, so the end is sent as
//! absent with the reason `unknown` (`_end` with the data-absent-reason extension), which
//! keeps both invariants; likewise `_start` when an appointment has no date at all.
//!
//! The institution has no place among the participants (R4 allows no Organization there,
//! and GNU Health names no Location for it), so it is not sent. The urgency is an
//! iCalendar priority (R4's `unsignedInt`): normal 5 (iCalendar's "medium"), urgent 3,
//! medical emergency 1 (highest).

use fhir::datatypes::{CodeableConcept, Coding, Identifier, PrimitiveExtensions, Reference};
use fhir::resources::appointment::{Appointment, AppointmentParticipant};
use serde_json::Value;

use super::medication::{PRODUCT_SYSTEM, product_code};
use super::practitioner::SPECIALTY_SYSTEM;
use super::{
    Context, FieldUse, Kind, Path, ResourceDef, SearchParam, Stored, System, meta, to_json,
};
use crate::db::{Database, DbError};
use crate::tryton::fhir_datetime;

pub const STATUS_SYSTEM: &str = "http://hl7.org/fhir/appointmentstatus";
/// HL7 v2 table 0276 (appointment reason codes), R4's preferred binding of appointmentType.
pub const APPOINTMENT_TYPE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v2-0276";
pub const CANCELATION_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason";
/// The numbers GNU Health gives appointments (`APP 2026/1`).
pub const APPOINTMENT_SID: &str = "sid/appointment";

/// Appointment status ← `state`; an empty state is nothing confirmed, as `free`.
pub const STATUSES: &[(&str, &[&str])] = &[
    ("proposed", &["free"]),
    ("booked", &["confirmed"]),
    ("arrived", &["checked_in"]),
    ("fulfilled", &["done"]),
    ("cancelled", &["user_cancelled", "center_cancelled"]),
    ("noshow", &["no_show"]),
];
const STATE: &str = "COALESCE(r.state, 'free')";

/// v2-0276 ← `visit_type`, where one fits: a new health condition is no check-up, no
/// follow-up and no emergency, so it has only its text.
pub const VISIT_TYPES: &[(&str, &[&str])] = &[
    ("FOLLOWUP", &["followup"]),
    ("CHECKUP", &["well_child", "well_woman", "well_man"]),
];
/// GNU Health's labels of `visit_type`, and the v2-0276 display of the mapped ones.
const VISIT_LABELS: &[(&str, &str)] = &[
    ("new", "New health condition"),
    ("followup", "Followup"),
    ("well_child", "Well Child visit"),
    ("well_woman", "Well Woman visit"),
    ("well_man", "Well Man visit"),
];
const V2_0276_DISPLAY: &[(&str, &str)] = &[
    ("FOLLOWUP", "A follow up visit from a previous appointment"),
    ("CHECKUP", "A routine check-up, such as an annual physical"),
];
/// [`VISIT_LABELS`] in SQL, for `appointment-type:text` (checked against it in the tests).
const VISIT_LABEL_SQL: &str = "(CASE r.visit_type WHEN 'new' THEN 'New health condition' \
     WHEN 'followup' THEN 'Followup' WHEN 'well_child' THEN 'Well Child visit' \
     WHEN 'well_woman' THEN 'Well Woman visit' WHEN 'well_man' THEN 'Well Man visit' END)";

const PATIENT_PATH: Path = Path::col("r.patient", Stored::Id);
const PRACTITIONER_PATH: Path = Path::col("r.healthprof", Stored::Id);

pub static APPOINTMENT: ResourceDef = ResourceDef {
    type_name: "Appointment",
    models: &["gnuhealth.appointment"],
    from: "gnuhealth_appointment r",
    filter: &[],
    key: "r.id",
    key_is_text: false,
    last_updated: "COALESCE(r.write_date, r.create_date)",
    params: &[
        SearchParam::new(
            "identifier",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Appointment-identifier",
            &[Path::col(
                "r.name",
                Stored::Code(System::Local(APPOINTMENT_SID)),
            )],
        ),
        SearchParam::new(
            "status",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Appointment-status",
            &[Path::col(
                STATE,
                Stored::Mapped(System::Fixed(STATUS_SYSTEM), STATUSES),
            )],
        ),
        // The participants' statuses as [`patient_status`] and [`practitioner_status`] give
        // them (a participant only when the appointment names one).
        SearchParam::new(
            "part-status",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Appointment-part-status",
            &[
                Path::col(
                    STATE,
                    Stored::Mapped(System::Fixed(PARTICIPATION_SYSTEM), PATIENT_STATUSES),
                )
                .when("r.patient IS NOT NULL"),
                Path::col(
                    STATE,
                    Stored::Mapped(System::Fixed(PARTICIPATION_SYSTEM), PRACTITIONER_STATUSES),
                )
                .when("r.healthprof IS NOT NULL"),
            ],
        ),
        SearchParam::new(
            "date",
            Kind::Date,
            "http://hl7.org/fhir/SearchParameter/Appointment-date",
            &[Path::col("r.appointment_date", Stored::Timestamp)],
        ),
        SearchParam::reference(
            "patient",
            "http://hl7.org/fhir/SearchParameter/Appointment-patient",
            &[PATIENT_PATH],
            &["Patient"],
        ),
        SearchParam::reference(
            "practitioner",
            "http://hl7.org/fhir/SearchParameter/Appointment-practitioner",
            &[PRACTITIONER_PATH],
            &["Practitioner"],
        ),
        SearchParam::reference(
            "actor",
            "http://hl7.org/fhir/SearchParameter/Appointment-actor",
            &[
                PATIENT_PATH.target("Patient"),
                PRACTITIONER_PATH.target("Practitioner"),
            ],
            &["Patient", "Practitioner"],
        ),
        SearchParam::new(
            "specialty",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Appointment-specialty",
            &[Path::child(
                "gnuhealth_specialty s",
                "s.id = r.speciality",
                "s.code",
                Stored::Code(System::Local(SPECIALTY_SYSTEM)),
            )
            .text("s.name")],
        ),
        SearchParam::new(
            "service-type",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Appointment-service-type",
            &[Path::child(
                "product_product sp JOIN product_template st ON st.id = sp.template",
                "sp.id = r.consultations",
                "sp.code",
                Stored::Code(System::Local(PRODUCT_SYSTEM)),
            )
            .text("st.name")],
        ),
        SearchParam::new(
            "appointment-type",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Appointment-appointment-type",
            &[Path::col(
                "r.visit_type",
                Stored::Mapped(System::Fixed(APPOINTMENT_TYPE_SYSTEM), VISIT_TYPES),
            )
            .text(VISIT_LABEL_SQL)],
        ),
    ],
    load,
    aliases: &[("gnuhealth.appointment", "r")],
    // Each participant can be left out alone, by its actor's type. Without a date no status but proposed or cancelled is valid, and
    // without the state no status at all.
    fields: &[
        FieldUse::required(
            "gnuhealth.appointment",
            "state",
            &["status", "cancelationReason", "participant.status"],
            &["status", "part-status"],
        ),
        FieldUse::required(
            "gnuhealth.appointment",
            "appointment_date",
            &["start", "_start", "_end"],
            &["date"],
        ),
        FieldUse::required(
            "gnuhealth.appointment",
            "patient",
            &["participant[actor.reference^=Patient/]"],
            &["patient", "actor"],
        ),
        FieldUse::new(
            "gnuhealth.appointment",
            "healthprof",
            &["participant[actor.reference^=Practitioner/]"],
            &["practitioner", "actor"],
        ),
        FieldUse::new(
            "gnuhealth.appointment",
            "name",
            &["identifier"],
            &["identifier"],
        ),
        FieldUse::new(
            "gnuhealth.appointment",
            "consultations",
            &["serviceType"],
            &["service-type"],
        ),
        FieldUse::new(
            "gnuhealth.appointment",
            "speciality",
            &["specialty"],
            &["specialty"],
        ),
        FieldUse::new(
            "gnuhealth.appointment",
            "visit_type",
            &["appointmentType"],
            &["appointment-type"],
        ),
        FieldUse::new("gnuhealth.appointment", "urgency", &["priority"], &[]),
        FieldUse::new("gnuhealth.appointment", "comments", &["comment"], &[]),
        FieldUse::new("gnuhealth.appointment", "create_date", &["created"], &[]),
    ],
    count_from: None,
    id_rows: &[],
};

super::int_loader!(load_appointments);

async fn load_appointments(
    db: &Database,
    ctx: &Context,
    ids: &[i64],
) -> Result<Vec<Value>, DbError> {
    let mut sql = db.sql();
    sql.push(
        "SELECT r.id, r.name, r.state, r.appointment_date, r.patient, r.healthprof, \
         s.code, s.name, r.visit_type, r.urgency, r.comments, r.create_date, \
         COALESCE(r.write_date, r.create_date), sp.code, st.name \
         FROM gnuhealth_appointment r LEFT JOIN gnuhealth_specialty s ON s.id = r.speciality \
         LEFT JOIN product_product sp ON sp.id = r.consultations \
         LEFT JOIN product_template st ON st.id = sp.template WHERE ",
    )
    .in_ids("r.id", ids);
    let mut out = Vec::new();
    for row in db.query(&sql).await? {
        let state = row.opt_str(2);
        let status = status(state);
        let mut participant = Vec::new();
        if let Some(patient) = row.opt_int(4) {
            participant.push(AppointmentParticipant {
                actor: Some(Reference::to("Patient", patient, None)),
                status: patient_status(state),
            });
        }
        if let Some(hp) = row.opt_int(5) {
            participant.push(AppointmentParticipant {
                actor: Some(Reference::to("Practitioner", hp, None)),
                status: practitioner_status(state),
            });
        }
        // An open slot with nobody in it is no valid Appointment (R4 wants a participant).
        if participant.is_empty() {
            continue;
        }
        let start = row.opt_str(3).and_then(fhir_datetime);
        let unknown_start = start.is_none() && !matches!(status, "proposed" | "cancelled");
        let a = Appointment {
            resource_type: "Appointment",
            id: row.int(0).to_string(),
            meta: meta(row.opt_str(12)),
            identifier: row
                .opt_text(1)
                .map(|n| Identifier::new(ctx.system(APPOINTMENT_SID), n))
                .into_iter()
                .collect(),
            status,
            cancelation_reason: cancelation_reason(state),
            service_type: product_code(ctx, row.opt_text(13), row.opt_text(14))
                .into_iter()
                .collect(),
            specialty: row
                .opt_text(6)
                .map(|code| {
                    let name = row.opt_text(7);
                    CodeableConcept {
                        coding: vec![Coding::new(
                            &ctx.system(SPECIALTY_SYSTEM),
                            code,
                            name.clone(),
                        )],
                        text: name,
                    }
                })
                .into_iter()
                .collect(),
            appointment_type: row.opt_str(8).and_then(appointment_type),
            priority: row.opt_str(9).and_then(priority),
            start_ext: unknown_start.then(|| PrimitiveExtensions::absent("unknown")),
            end_ext: (start.is_some() || unknown_start)
                .then(|| PrimitiveExtensions::absent("unknown")),
            start,
            created: row.opt_str(11).and_then(fhir_datetime),
            comment: row.opt_text(10),
            participant,
            ..Default::default()
        };
        out.push(to_json(&a)?);
    }
    Ok(out)
}

/// Appointment status of a stored state.
pub fn status(state: Option<&str>) -> &'static str {
    let state = state.unwrap_or("free");
    STATUSES
        .iter()
        .find(|(_, stored)| stored.contains(&state))
        .map_or("proposed", |(fhir, _)| *fhir)
}

pub const PARTICIPATION_SYSTEM: &str = "http://hl7.org/fhir/participationstatus";
/// [`patient_status`] as a map for search (the state with NULL read as `free`).
const PATIENT_STATUSES: &[(&str, &[&str])] = &[
    ("needs-action", &["free"]),
    ("declined", &["user_cancelled"]),
    (
        "accepted",
        &[
            "confirmed",
            "checked_in",
            "done",
            "no_show",
            "center_cancelled",
        ],
    ),
];
/// [`practitioner_status`] as a map for search.
const PRACTITIONER_STATUSES: &[(&str, &[&str])] = &[
    ("declined", &["center_cancelled"]),
    (
        "accepted",
        &[
            "free",
            "confirmed",
            "checked_in",
            "done",
            "no_show",
            "user_cancelled",
        ],
    ),
];

/// The patient accepted every appointment but an offered slot (still to be taken up) and
/// one they cancelled.
fn patient_status(state: Option<&str>) -> &'static str {
    match state {
        None | Some("free") => "needs-action",
        Some("user_cancelled") => "declined",
        _ => "accepted",
    }
}

/// The health professional offered or accepted it, unless the centre cancelled it.
fn practitioner_status(state: Option<&str>) -> &'static str {
    match state {
        Some("center_cancelled") => "declined",
        _ => "accepted",
    }
}

/// Who cancelled: the patient (`pat`) or the health centre, the provider (`prov`).
fn cancelation_reason(state: Option<&str>) -> Option<CodeableConcept> {
    let (code, display) = match state? {
        "user_cancelled" => ("pat", "Patient"),
        "center_cancelled" => ("prov", "Provider"),
        _ => return None,
    };
    Some(CodeableConcept {
        coding: vec![Coding::new(
            CANCELATION_SYSTEM,
            code,
            Some(display.to_owned()),
        )],
        text: Some(
            if code == "pat" {
                "Cancelled by patient"
            } else {
                "Cancelled by Health Center"
            }
            .to_owned(),
        ),
    })
}

/// The visit type as text, with its v2-0276 code where one fits.
fn appointment_type(visit: &str) -> Option<CodeableConcept> {
    let label = VISIT_LABELS.iter().find(|(v, _)| *v == visit)?.1;
    let coding = VISIT_TYPES
        .iter()
        .find(|(_, stored)| stored.contains(&visit))
        .map(|(code, _)| {
            let display = V2_0276_DISPLAY
                .iter()
                .find(|(c, _)| c == code)
                .map(|(_, d)| (*d).to_owned());
            Coding::new(APPOINTMENT_TYPE_SYSTEM, *code, display)
        });
    Some(CodeableConcept {
        coding: coding.into_iter().collect(),
        text: Some(label.to_owned()),
    })
}

/// iCalendar priority of an urgency.
fn priority(urgency: &str) -> Option<u32> {
    match urgency {
        "a" => Some(5),
        "b" => Some(3),
        "c" => Some(1),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_uses() {
        crate::resources::patient::field_checks::check(&APPOINTMENT, &[]);
    }

    #[test]
    fn statuses() {
        assert_eq!(status(None), "proposed");
        assert_eq!(status(Some("confirmed")), "booked");
        assert_eq!(status(Some("checked_in")), "arrived");
        assert_eq!(status(Some("done")), "fulfilled");
        assert_eq!(status(Some("center_cancelled")), "cancelled");
        assert_eq!(status(Some("no_show")), "noshow");
        assert_eq!(patient_status(Some("user_cancelled")), "declined");
        // The search maps say the same for every state (NULL is searched as `free`).
        let mapped = |map: &[(&'static str, &[&str])], state: &str| {
            map.iter()
                .find(|(_, stored)| stored.contains(&state))
                .map(|(fhir, _)| *fhir)
        };
        for state in [
            "free",
            "confirmed",
            "checked_in",
            "done",
            "no_show",
            "user_cancelled",
            "center_cancelled",
        ] {
            assert_eq!(
                mapped(PATIENT_STATUSES, state),
                Some(patient_status(Some(state)))
            );
            assert_eq!(
                mapped(PRACTITIONER_STATUSES, state),
                Some(practitioner_status(Some(state)))
            );
        }
        assert_eq!(patient_status(None), patient_status(Some("free")));
        assert_eq!(practitioner_status(Some("user_cancelled")), "accepted");
        assert_eq!(
            cancelation_reason(Some("center_cancelled")).map(|c| c.coding[0].code.clone()),
            Some(Some("prov".into()))
        );
        assert!(cancelation_reason(Some("no_show")).is_none());
    }

    #[test]
    fn visit_types_and_priorities() {
        let t = appointment_type("well_woman");
        assert_eq!(
            t.as_ref().and_then(|t| t.coding[0].code.as_deref()),
            Some("CHECKUP")
        );
        assert_eq!(t.and_then(|t| t.text), Some("Well Woman visit".to_owned()));
        let new = appointment_type("new");
        assert_eq!(new.as_ref().map(|t| t.coding.len()), Some(0));
        assert_eq!(appointment_type("other"), None);
        for (visit, label) in VISIT_LABELS {
            assert!(
                VISIT_LABEL_SQL.contains(&format!("WHEN '{visit}' THEN '{label}'")),
                "{visit}"
            );
        }
        assert_eq!(priority("a"), Some(5));
        assert_eq!(priority("c"), Some(1));
        assert_eq!(priority("x"), None);
    }
}
