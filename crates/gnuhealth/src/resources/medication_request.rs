//! MedicationRequest ← `gnuhealth_prescription_line` + its order
//! (`gnuhealth_prescription_order`): one request per prescribed medicament; the
//! prescription's number is the group identifier, the dosage is read like a statement's.

use fhir::datatypes::{Annotation, Identifier, Period, Quantity, Reference};
use fhir::resources::medication_request::{DispenseRequest, MedicationRequest, Substitution};
use serde_json::Value;

use super::condition::icd10;
use super::medication::PRODUCT_SYSTEM;
use super::medication_statement::dosage;
use super::{
    Context, FieldUse, Kind, Path, ResourceDef, SearchParam, Stored, System, meta, to_json,
};
use crate::db::{Database, DbError};
use crate::tryton::{fhir_datetime, newest};

pub const STATUS_SYSTEM: &str = "http://hl7.org/fhir/CodeSystem/medicationrequest-status";
pub const INTENT_SYSTEM: &str = "http://hl7.org/fhir/CodeSystem/medicationrequest-intent";
/// GNU Health's prescription numbers.
pub const PRESCRIPTION_SYSTEM: &str = "sid/prescription";

/// MedicationRequest status ← the order's `state`.
pub const STATUSES: &[(&str, &[&str])] =
    &[("draft", &["draft"]), ("active", &["done", "validated"])];

const LINE: &str = "gnuhealth.prescription.line";
const ORDER: &str = "gnuhealth.prescription.order";

pub static MEDICATION_REQUEST: ResourceDef = ResourceDef {
    type_name: "MedicationRequest",
    models: &[LINE, ORDER],
    from: "gnuhealth_prescription_line r JOIN gnuhealth_prescription_order o ON o.id = r.presc_order",
    // Medication and subject are required.
    filter: &[super::Cond::Sql(
        "r.medicament IS NOT NULL AND o.patient IS NOT NULL",
    )],
    key: "r.id",
    key_is_text: false,
    last_updated: "COALESCE(r.write_date, r.create_date)",
    params: &[
        SearchParam::reference(
            "patient",
            "http://hl7.org/fhir/SearchParameter/clinical-patient",
            &[Path::col("o.patient", Stored::Id)],
            &["Patient"],
        ),
        SearchParam::reference(
            "subject",
            "http://hl7.org/fhir/SearchParameter/MedicationRequest-subject",
            &[Path::col("o.patient", Stored::Id)],
            &["Patient"],
        ),
        SearchParam::reference(
            "medication",
            "http://hl7.org/fhir/SearchParameter/medications-medication",
            &[Path::col("r.medicament", Stored::Id)],
            &["Medication"],
        ),
        SearchParam::new(
            "code",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/clinical-code",
            &[Path::child(
                "gnuhealth_medicament rm JOIN product_product rp ON rp.id = rm.product",
                "rm.id = r.medicament",
                "rp.code",
                Stored::Code(System::Local(PRODUCT_SYSTEM)),
            )
            .text("(SELECT rt.name FROM product_template rt WHERE rt.id = rp.template)")],
        ),
        SearchParam::new(
            "status",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/medications-status",
            &[Path::col(
                "o.state",
                Stored::Mapped(System::Fixed(STATUS_SYSTEM), STATUSES),
            )],
        ),
        SearchParam::new(
            "intent",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/MedicationRequest-intent",
            &[Path::col(
                "'order'",
                Stored::Code(System::Fixed(INTENT_SYSTEM)),
            )],
        ),
        SearchParam::new(
            "authoredon",
            Kind::Date,
            "http://hl7.org/fhir/SearchParameter/MedicationRequest-authoredon",
            &[Path::col("o.prescription_date", Stored::Timestamp)],
        ),
        SearchParam::reference(
            "requester",
            "http://hl7.org/fhir/SearchParameter/MedicationRequest-requester",
            &[Path::col("o.healthprof", Stored::Id)],
            &["Practitioner"],
        ),
    ],
    load,
    aliases: &[(LINE, "r"), (ORDER, "o")],
    // The intent is constant; the dosage columns and the order's fields each feed what
    // they name.
    fields: &[
        FieldUse::required(
            LINE,
            "presc_order",
            &["subject", "status"],
            &["patient", "subject", "status", "authoredon", "requester"],
        ),
        FieldUse::required(ORDER, "patient", &["subject"], &["patient", "subject"]),
        FieldUse::required(ORDER, "state", &["status"], &["status"]),
        FieldUse::required(
            LINE,
            "medicament",
            &["medicationReference"],
            &["medication", "code"],
        ),
        FieldUse::new(ORDER, "prescription_id", &["groupIdentifier"], &[]),
        FieldUse::new(ORDER, "prescription_date", &["authoredOn"], &["authoredon"]),
        FieldUse::new(ORDER, "healthprof", &["requester"], &["requester"]),
        FieldUse::new(ORDER, "notes", &["note"], &[]),
        FieldUse::new(LINE, "short_comment", &["note"], &[]),
        FieldUse::new(LINE, "indication", &["reasonCode"], &[]),
        FieldUse::new(LINE, "dose", &["dosageInstruction"], &[]),
        FieldUse::new(LINE, "dose_unit", &["dosageInstruction"], &[]),
        FieldUse::new(LINE, "qty", &["dosageInstruction"], &[]),
        FieldUse::new(LINE, "form", &["dosageInstruction"], &[]),
        FieldUse::new(LINE, "route", &["dosageInstruction"], &[]),
        FieldUse::new(LINE, "common_dosage", &["dosageInstruction"], &[]),
        FieldUse::new(LINE, "frequency", &["dosageInstruction"], &[]),
        FieldUse::new(LINE, "frequency_unit", &["dosageInstruction"], &[]),
        FieldUse::new(LINE, "frequency_prn", &["dosageInstruction"], &[]),
        FieldUse::new(LINE, "admin_times", &["dosageInstruction"], &[]),
        FieldUse::new(LINE, "duration", &["dosageInstruction"], &[]),
        FieldUse::new(LINE, "duration_period", &["dosageInstruction"], &[]),
        FieldUse::new(LINE, "infusion", &["dosageInstruction"], &[]),
        FieldUse::new(LINE, "infusion_rate", &["dosageInstruction"], &[]),
        FieldUse::new(LINE, "infusion_rate_units", &["dosageInstruction"], &[]),
        FieldUse::new(LINE, "quantity", &["dispenseRequest.quantity"], &[]),
        FieldUse::new(
            LINE,
            "refills",
            &["dispenseRequest.numberOfRepeatsAllowed"],
            &[],
        ),
        FieldUse::new(LINE, "review", &["dispenseRequest.validityPeriod"], &[]),
        FieldUse::new(
            LINE,
            "start_treatment",
            &["dispenseRequest.validityPeriod"],
            &[],
        ),
        FieldUse::new(LINE, "allow_substitution", &["substitution"], &[]),
    ],
    count_from: None,
    id_rows: &[],
};

super::int_loader!(load_requests);

async fn load_requests(db: &Database, ctx: &Context, ids: &[i64]) -> Result<Vec<Value>, DbError> {
    let mut sql = db.sql();
    // Columns 16–33 are the dosage's, in the layout `dosage` reads.
    sql.push(
        "SELECT r.id, o.prescription_id, o.state, o.patient, r.medicament, pt.name, \
         o.prescription_date, o.healthprof, pa.code, pa.name, r.short_comment, o.notes, \
         COALESCE(r.write_date, r.create_date), COALESCE(o.write_date, o.create_date), \
         r.start_treatment, r.review, \
         r.dose, du.code, du.name, r.qty, f.name, ro.code, ro.name, cd.code, cd.name, \
         r.frequency, r.frequency_unit, r.frequency_prn, r.admin_times, r.duration, \
         r.duration_period, r.infusion, r.infusion_rate, r.infusion_rate_units, \
         r.quantity, r.refills, r.allow_substitution \
         FROM gnuhealth_prescription_line r \
         JOIN gnuhealth_prescription_order o ON o.id = r.presc_order \
         LEFT JOIN gnuhealth_medicament m ON m.id = r.medicament \
         LEFT JOIN product_product pp ON pp.id = m.product \
         LEFT JOIN product_template pt ON pt.id = pp.template \
         LEFT JOIN gnuhealth_pathology pa ON pa.id = r.indication \
         LEFT JOIN gnuhealth_dose_unit du ON du.id = r.dose_unit \
         LEFT JOIN gnuhealth_drug_form f ON f.id = r.form \
         LEFT JOIN gnuhealth_drug_route ro ON ro.id = r.route \
         LEFT JOIN gnuhealth_medication_dosage cd ON cd.id = r.common_dosage \
         WHERE r.medicament IS NOT NULL AND o.patient IS NOT NULL AND ",
    )
    .in_ids("r.id", ids);
    let mut out = Vec::new();
    for row in db.query(&sql).await? {
        let dispense = DispenseRequest {
            validity_period: Period::from(
                row.opt_str(14).and_then(fhir_datetime),
                row.opt_str(15).and_then(fhir_datetime),
            ),
            number_of_repeats_allowed: row.opt_int(35).and_then(|n| u32::try_from(n).ok()),
            quantity: row.opt_int(34).filter(|q| *q > 0).map(|q| Quantity {
                value: Some(q as f64),
                ..Default::default()
            }),
        };
        let request = MedicationRequest {
            resource_type: "MedicationRequest",
            id: row.int(0).to_string(),
            meta: meta(newest([row.opt_str(12), row.opt_str(13)]).as_deref()),
            status: status(row.opt_str(2)),
            intent: "order",
            medication_reference: Reference::to("Medication", row.int(4), row.opt_text(5)),
            subject: Reference::to("Patient", row.int(3), None),
            authored_on: row.opt_str(6).and_then(fhir_datetime),
            requester: row
                .opt_int(7)
                .map(|h| Reference::to("Practitioner", h, None)),
            reason_code: icd10(row.opt_text(8), row.opt_text(9))
                .into_iter()
                .collect(),
            group_identifier: row
                .opt_text(1)
                .map(|n| Identifier::new(ctx.system(PRESCRIPTION_SYSTEM), n)),
            note: [row.opt_text(10), row.opt_text(11)]
                .into_iter()
                .flatten()
                .map(Annotation::text)
                .collect(),
            dosage_instruction: dosage(ctx, &row).into_iter().collect(),
            dispense_request: (dispense != DispenseRequest::default()).then_some(dispense),
            substitution: row.opt_bool(36).map(|allowed| Substitution {
                allowed_boolean: allowed,
            }),
            ..Default::default()
        };
        out.push(to_json(&request)?);
    }
    Ok(out)
}

/// MedicationRequest status of an order state (`unknown` for anything else).
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
        crate::resources::patient::field_checks::check(&MEDICATION_REQUEST, &["intent"]);
    }

    #[test]
    fn statuses() {
        assert_eq!(status(Some("draft")), "draft");
        assert_eq!(status(Some("validated")), "active");
        assert_eq!(status(Some("x")), "unknown");
    }
}
