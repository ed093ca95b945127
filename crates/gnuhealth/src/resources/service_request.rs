//! ServiceRequest ← `gnuhealth_patient_lab_test`: a laboratory test ordered for a patient
//! (or a sample of another source). Several tests ordered together share the order
//! number `request`, served as `requisition`; the test type is the code, the pathology
//! that motivated it the reason. DiagnosticReport and Observation point here (`basedOn`).

use fhir::datatypes::{Annotation, CodeableConcept, Identifier, Reference, SNOMED};
use fhir::resources::service_request::ServiceRequest;
use serde_json::Value;

use super::condition::icd10;
use super::diagnostic_report::{TEST_TYPE_SYSTEM, subject, test_type_code};
use super::{
    Context, FieldUse, Kind, Path, ResourceDef, SearchParam, Stored, System, meta, to_json,
};
use crate::db::{Database, DbError};
use crate::tryton::fhir_datetime;

pub const STATUS_SYSTEM: &str = "http://hl7.org/fhir/request-status";
pub const PRIORITY_SYSTEM: &str = "http://hl7.org/fhir/request-priority";
pub const INTENT_SYSTEM: &str = "http://hl7.org/fhir/request-intent";
/// The order numbers GNU Health gives lab requests.
pub const REQUISITION_SYSTEM: &str = "sid/lab-request";
/// SNOMED CT "Laboratory procedure", the category R4's examples use for lab orders.
const LAB_PROCEDURE: (&str, &str) = ("108252007", "Laboratory procedure");

/// ServiceRequest status ← `state`.
pub const STATUSES: &[(&str, &[&str])] = &[
    ("draft", &["draft"]),
    ("active", &["ordered"]),
    ("completed", &["tested"]),
    ("revoked", &["cancel"]),
];

const SUBJECT_IS_PATIENT: &str = "COALESCE(r.source_type, 'patient') = 'patient'";
const PATIENT_PATHS: &[Path] = &[Path::col("r.patient_id", Stored::Id).when(SUBJECT_IS_PATIENT)];
const URGENT: &str = "CASE WHEN r.urgent = TRUE THEN 'urgent' ELSE 'routine' END";

pub static SERVICE_REQUEST: ResourceDef = ResourceDef {
    type_name: "ServiceRequest",
    models: &["gnuhealth.patient.lab.test"],
    from: "gnuhealth_patient_lab_test r",
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
            "http://hl7.org/fhir/SearchParameter/ServiceRequest-subject",
            PATIENT_PATHS,
            &["Patient"],
        ),
        SearchParam::new(
            "code",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/clinical-code",
            &[Path::child(
                "gnuhealth_lab_test_type tt",
                "tt.id = r.test_type",
                "tt.code",
                Stored::Code(System::Local(TEST_TYPE_SYSTEM)),
            )
            .text("tt.name")],
        ),
        SearchParam::new(
            "status",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/ServiceRequest-status",
            &[Path::col(
                "r.state",
                Stored::Mapped(System::Fixed(STATUS_SYSTEM), STATUSES),
            )],
        ),
        SearchParam::new(
            "intent",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/ServiceRequest-intent",
            &[Path::col(
                "'order'",
                Stored::Code(System::Fixed(INTENT_SYSTEM)),
            )],
        ),
        SearchParam::new(
            "category",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/ServiceRequest-category",
            &[Path::col(
                "'108252007'",
                Stored::Code(System::Fixed(SNOMED)),
            )],
        ),
        SearchParam::new(
            "priority",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/ServiceRequest-priority",
            &[Path::col(
                URGENT,
                Stored::Code(System::Fixed(PRIORITY_SYSTEM)),
            )],
        ),
        SearchParam::new(
            "authored",
            Kind::Date,
            "http://hl7.org/fhir/SearchParameter/ServiceRequest-authored",
            &[Path::col("r.date", Stored::Timestamp)],
        ),
        SearchParam::reference(
            "requester",
            "http://hl7.org/fhir/SearchParameter/ServiceRequest-requester",
            &[Path::col("r.doctor_id", Stored::Id)],
            &["Practitioner"],
        ),
        SearchParam::new(
            "requisition",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/ServiceRequest-requisition",
            &[Path::col(
                "CAST(r.request AS TEXT)",
                Stored::Code(System::Local(REQUISITION_SYSTEM)),
            )],
        ),
    ],
    load,
    aliases: &[("gnuhealth.patient.lab.test", "r")],
    // The intent and category are constant.
    fields: &[
        FieldUse::required(
            "gnuhealth.patient.lab.test",
            "patient_id",
            &["subject"],
            &["patient", "subject"],
        ),
        FieldUse::required(
            "gnuhealth.patient.lab.test",
            "source_type",
            &["subject"],
            &["patient", "subject"],
        ),
        FieldUse::new(
            "gnuhealth.patient.lab.test",
            "other_source",
            &["subject.display"],
            &[],
        ),
        FieldUse::required(
            "gnuhealth.patient.lab.test",
            "state",
            &["status"],
            &["status"],
        ),
        FieldUse::new(
            "gnuhealth.patient.lab.test",
            "test_type",
            &["code"],
            &["code"],
        ),
        FieldUse::new(
            "gnuhealth.patient.lab.test",
            "urgent",
            &["priority"],
            &["priority"],
        ),
        FieldUse::new(
            "gnuhealth.patient.lab.test",
            "date",
            &["authoredOn"],
            &["authored"],
        ),
        FieldUse::new(
            "gnuhealth.patient.lab.test",
            "doctor_id",
            &["requester"],
            &["requester"],
        ),
        FieldUse::new(
            "gnuhealth.patient.lab.test",
            "request",
            &["requisition"],
            &["requisition"],
        ),
        FieldUse::new(
            "gnuhealth.patient.lab.test",
            "context",
            &["reasonCode"],
            &[],
        ),
        FieldUse::new("gnuhealth.patient.lab.test", "comment", &["note"], &[]),
    ],
    count_from: None,
    id_rows: &[],
};

super::int_loader!(load_requests);

async fn load_requests(db: &Database, ctx: &Context, ids: &[i64]) -> Result<Vec<Value>, DbError> {
    let mut sql = db.sql();
    sql.push(
        "SELECT r.id, r.request, r.state, r.urgent, r.source_type, r.patient_id, \
         r.other_source, r.date, r.doctor_id, r.comment, tt.code, tt.name, pg.code, pg.name, \
         COALESCE(r.write_date, r.create_date) \
         FROM gnuhealth_patient_lab_test r \
         LEFT JOIN gnuhealth_lab_test_type tt ON tt.id = r.test_type \
         LEFT JOIN gnuhealth_pathology pg ON pg.id = r.context WHERE ",
    )
    .in_ids("r.id", ids);
    let mut out = Vec::new();
    for row in db.query(&sql).await? {
        // A request is always about someone or some sample; without either it cannot be
        // a valid ServiceRequest.
        let Some(subject) = subject(row.opt_str(4), row.opt_int(5), row.opt_text(6)) else {
            continue;
        };
        let request = ServiceRequest {
            resource_type: "ServiceRequest",
            id: row.int(0).to_string(),
            meta: meta(row.opt_str(14)),
            requisition: row
                .opt_int(1)
                .map(|n| Identifier::new(ctx.system(REQUISITION_SYSTEM), n.to_string())),
            status: status(row.opt_str(2)),
            intent: "order",
            category: vec![CodeableConcept::coded(
                SNOMED,
                LAB_PROCEDURE.0,
                Some(LAB_PROCEDURE.1.into()),
            )],
            priority: Some(if row.bool(3) { "urgent" } else { "routine" }),
            code: (row.opt_text(10).is_some() || row.opt_text(11).is_some())
                .then(|| test_type_code(ctx, row.opt_text(10), row.opt_text(11))),
            subject,
            authored_on: row.opt_str(7).and_then(fhir_datetime),
            requester: row
                .opt_int(8)
                .map(|d| Reference::to("Practitioner", d, None)),
            reason_code: icd10(row.opt_text(12), row.opt_text(13))
                .into_iter()
                .collect(),
            note: row.opt_text(9).map(Annotation::text).into_iter().collect(),
            ..Default::default()
        };
        out.push(to_json(&request)?);
    }
    Ok(out)
}

/// ServiceRequest status of a stored state (`unknown` for anything else).
pub fn status(state: Option<&str>) -> &'static str {
    state
        .and_then(|s| {
            STATUSES
                .iter()
                .find(|(_, stored)| stored.contains(&s))
                .map(|(fhir, _)| *fhir)
        })
        .unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_uses() {
        crate::resources::patient::field_checks::check(&SERVICE_REQUEST, &["intent", "category"]);
    }

    #[test]
    fn statuses() {
        assert_eq!(status(Some("ordered")), "active");
        assert_eq!(status(Some("tested")), "completed");
        assert_eq!(status(Some("cancel")), "revoked");
        assert_eq!(status(None), "unknown");
    }
}
