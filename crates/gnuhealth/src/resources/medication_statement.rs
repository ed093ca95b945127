//! MedicationStatement ← `gnuhealth_patient_medication`: a medicament in a patient's
//! medication history, with its dosage (dose and unit, route, SNOMED CT common dosage,
//! frequency, duration, administration times, infusion rate), its indication (ICD-10) and
//! the lines of the prescription order it comes from (MedicationRequest ids).

use chrono::NaiveTime;
use fhir::datatypes::{
    Annotation, CodeableConcept, ICD10, Period, Quantity, Reference, SNOMED, UCUM,
};
use fhir::resources::medication_statement::{
    Dosage, DosageDoseAndRate, MedicationStatement, Timing, TimingRepeat,
};
use serde_json::Value;

use super::diagnostic_report::children;
use super::observation::is_ucum;
use super::{
    Cond, Context, FieldUse, Kind, Path, ResourceDef, SearchParam, Stored, System, group_by, meta,
    to_json,
};
use crate::db::{Database, DbError, Row};
use crate::tryton::fhir_datetime;

pub const STATUS_SYSTEM: &str = "http://hl7.org/fhir/CodeSystem/medication-statement-status";
/// GNU Health's drug routes (`PO`, `IM`, `IH`…, HL7-like but not a published code system).
pub const ROUTE_SYSTEM: &str = "CodeSystem/drug-route";
/// GNU Health's dose units, for those that are not UCUM (`unit`).
pub const DOSE_UNIT_SYSTEM: &str = "CodeSystem/dose-unit";
/// SNOMED CT 420449005 |As required|: already says "as needed".
const AS_REQUIRED: &str = "420449005";

/// [`status`] in SQL for the `status` search parameter (checked against it in the tests).
const STATUS_SQL: &str = "(CASE WHEN r.discontinued = TRUE THEN 'stopped' \
     WHEN r.course_completed = TRUE THEN 'completed' WHEN r.is_active = TRUE THEN 'active' \
     WHEN r.end_treatment IS NOT NULL THEN 'completed' ELSE 'unknown' END)";

const PATIENT_PATHS: &[Path] = &[Path::col("r.patient", Stored::Id)];

pub static MEDICATION_STATEMENT: ResourceDef = ResourceDef {
    type_name: "MedicationStatement",
    models: &["gnuhealth.patient.medication"],
    from: "gnuhealth_patient_medication r",
    // subject and medication[x] are required: rows without them cannot be served.
    filter: &[Cond::Sql(
        "r.patient IS NOT NULL AND r.medicament IS NOT NULL",
    )],
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
            "http://hl7.org/fhir/SearchParameter/MedicationStatement-subject",
            PATIENT_PATHS,
            &["Patient"],
        ),
        SearchParam::reference(
            "medication",
            "http://hl7.org/fhir/SearchParameter/medications-medication",
            &[Path::col("r.medicament", Stored::Id)],
            &["Medication"],
        ),
        SearchParam::new(
            "status",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/medications-status",
            &[Path::col(
                STATUS_SQL,
                Stored::Code(System::Fixed(STATUS_SYSTEM)),
            )],
        ),
        SearchParam::new(
            "effective",
            Kind::Date,
            "http://hl7.org/fhir/SearchParameter/MedicationStatement-effective",
            &[Path::col("r.start_treatment", Stored::Timestamp)],
        ),
        SearchParam::reference(
            "source",
            "http://hl7.org/fhir/SearchParameter/MedicationStatement-source",
            &[Path::col("r.healthprof", Stored::Id)],
            &["Practitioner"],
        ),
    ],
    load,
    aliases: &[("gnuhealth.patient.medication", "r")],
    // `status` (required) is derived from four fields, all required. The medicament's
    // product name, the ICD-10 indication, and the unit, form, route and common dosage codes
    // and names are the value of the field pointing to them. Every dosage field also
    // feeds the dosage text. The prescription's lines are read as a whole model. The
    // assertion date is `create_date`, not access-controlled.
    fields: &[
        FieldUse::required(
            "gnuhealth.patient.medication",
            "patient",
            &["subject"],
            &["patient", "subject"],
        ),
        FieldUse::required(
            "gnuhealth.patient.medication",
            "medicament",
            &["medicationReference", "basedOn"],
            &["medication"],
        ),
        FieldUse::required(
            "gnuhealth.patient.medication",
            "is_active",
            &["status", "statusReason"],
            &["status"],
        ),
        FieldUse::required(
            "gnuhealth.patient.medication",
            "discontinued",
            &["status", "statusReason"],
            &["status"],
        ),
        FieldUse::required(
            "gnuhealth.patient.medication",
            "course_completed",
            &["status", "statusReason"],
            &["status"],
        ),
        FieldUse::required(
            "gnuhealth.patient.medication",
            "end_treatment",
            &["status", "statusReason", "effectivePeriod.end"],
            &["status"],
        ),
        FieldUse::new(
            "gnuhealth.patient.medication",
            "discontinued_reason",
            &["statusReason"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient.medication",
            "start_treatment",
            &["effectivePeriod.start"],
            &["effective"],
        ),
        FieldUse::new(
            "gnuhealth.patient.medication",
            "healthprof",
            &["informationSource"],
            &["source"],
        ),
        FieldUse::new(
            "gnuhealth.patient.medication",
            "indication",
            &["reasonCode"],
            &[],
        ),
        FieldUse::new("gnuhealth.patient.medication", "notes", &["note"], &[]),
        FieldUse::new(
            "gnuhealth.patient.medication",
            "adverse_reaction",
            &["note"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient.medication",
            "prescription",
            &["basedOn"],
            &[],
        ),
        FieldUse::new("gnuhealth.patient.medication", "qty", &["dosage.text"], &[]),
        FieldUse::new(
            "gnuhealth.patient.medication",
            "form",
            &["dosage.text"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient.medication",
            "dose",
            &["dosage.doseAndRate.doseQuantity", "dosage.text"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient.medication",
            "dose_unit",
            &[
                "dosage.doseAndRate.doseQuantity.unit",
                "dosage.doseAndRate.doseQuantity.system",
                "dosage.doseAndRate.doseQuantity.code",
                "dosage.text",
            ],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient.medication",
            "route",
            &["dosage.route", "dosage.text"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient.medication",
            "common_dosage",
            &["dosage.timing.code", "dosage.text"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient.medication",
            "frequency",
            &[
                "dosage.timing.repeat.frequency",
                "dosage.timing.repeat.period",
                "dosage.timing.repeat.periodUnit",
                "dosage.text",
            ],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient.medication",
            "frequency_unit",
            &[
                "dosage.timing.repeat.frequency",
                "dosage.timing.repeat.period",
                "dosage.timing.repeat.periodUnit",
                "dosage.asNeededBoolean",
                "dosage.text",
            ],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient.medication",
            "frequency_prn",
            &["dosage.asNeededBoolean", "dosage.text"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient.medication",
            "admin_times",
            &["dosage.timing.repeat.timeOfDay", "dosage.text"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient.medication",
            "duration",
            &["dosage.timing.repeat.boundsDuration", "dosage.text"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient.medication",
            "duration_period",
            &["dosage.timing.repeat.boundsDuration", "dosage.text"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient.medication",
            "infusion",
            &["dosage.doseAndRate.rateQuantity", "dosage.text"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient.medication",
            "infusion_rate",
            &["dosage.doseAndRate.rateQuantity", "dosage.text"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient.medication",
            "infusion_rate_units",
            &["dosage.doseAndRate.rateQuantity", "dosage.text"],
            &[],
        ),
        FieldUse::new("gnuhealth.prescription.line", "", &["basedOn"], &[]),
    ],
    count_from: None,
    id_rows: &[],
};

super::int_loader!(load_statements);

async fn load_statements(db: &Database, ctx: &Context, ids: &[i64]) -> Result<Vec<Value>, DbError> {
    let mut main = db.sql();
    main.push(
        "SELECT r.id, r.patient, r.medicament, pt.name, r.is_active, r.discontinued, \
         r.discontinued_reason, r.course_completed, r.start_treatment, r.end_treatment, \
         r.create_date, r.healthprof, pa.code, pa.name, r.notes, r.adverse_reaction, r.dose, \
         du.code, du.name, r.qty, f.name, ro.code, ro.name, cd.code, cd.name, r.frequency, \
         r.frequency_unit, r.frequency_prn, r.admin_times, r.duration, r.duration_period, \
         r.infusion, r.infusion_rate, r.infusion_rate_units, \
         COALESCE(r.write_date, r.create_date) \
         FROM gnuhealth_patient_medication r \
         LEFT JOIN gnuhealth_medicament m ON m.id = r.medicament \
         LEFT JOIN product_product pp ON pp.id = m.product \
         LEFT JOIN product_template pt ON pt.id = pp.template \
         LEFT JOIN gnuhealth_pathology pa ON pa.id = r.indication \
         LEFT JOIN gnuhealth_dose_unit du ON du.id = r.dose_unit \
         LEFT JOIN gnuhealth_drug_form f ON f.id = r.form \
         LEFT JOIN gnuhealth_drug_route ro ON ro.id = r.route \
         LEFT JOIN gnuhealth_medication_dosage cd ON cd.id = r.common_dosage \
         WHERE r.patient IS NOT NULL AND r.medicament IS NOT NULL AND ",
    )
    .in_ids("r.id", ids);
    let mut lines = db.sql();
    lines
        .push(
            "SELECT r.id, pl.id, pl.medicament FROM gnuhealth_patient_medication r \
             JOIN gnuhealth_prescription_line pl ON pl.presc_order = r.prescription WHERE ",
        )
        .in_ids("r.id", ids)
        .push(" ORDER BY r.id, pl.id");
    let (rows, lines) = tokio::try_join!(db.query(&main), db.query(&lines))?;
    let lines = group_by(lines, 0);
    rows.iter()
        .map(|row| to_json(&statement(ctx, row, children(&lines, row.int(0)))))
        .collect()
}

/// One row (columns of the main query) and its order's lines → MedicationStatement.
fn statement(ctx: &Context, row: &Row, lines: &[Row]) -> MedicationStatement {
    let status = status(
        row.bool(4),
        row.bool(5),
        row.bool(7),
        row.opt_str(9).is_some(),
    );
    let medicament = row.int(2);
    // The order's line for this medicament; if none matches, the order as a whole.
    let same: Vec<&Row> = lines.iter().filter(|l| l.int(2) == medicament).collect();
    let based_on = if same.is_empty() {
        lines.iter().collect()
    } else {
        same
    };
    MedicationStatement {
        resource_type: "MedicationStatement",
        id: row.int(0).to_string(),
        meta: meta(row.opt_str(34)),
        based_on: based_on
            .iter()
            .map(|l| Reference::to("MedicationRequest", l.int(1), None))
            .collect(),
        status,
        status_reason: row
            .opt_text(6)
            .filter(|_| status == "stopped")
            .map(CodeableConcept::text)
            .into_iter()
            .collect(),
        medication_reference: Reference::to("Medication", medicament, row.opt_text(3)),
        subject: Reference::to("Patient", row.int(1), None),
        effective_period: Period::from(
            row.opt_str(8).and_then(fhir_datetime),
            row.opt_str(9).and_then(fhir_datetime),
        ),
        date_asserted: row.opt_str(10).and_then(fhir_datetime),
        information_source: row
            .opt_int(11)
            .map(|hp| Reference::to("Practitioner", hp, None)),
        reason_code: row
            .opt_text(12)
            .map(|code| CodeableConcept::coded(ICD10, code, row.opt_text(13)))
            .into_iter()
            .collect(),
        note: row
            .opt_text(14)
            .into_iter()
            .chain(row.opt_text(15).map(|r| format!("Adverse reaction: {r}")))
            .map(Annotation::text)
            .collect(),
        dosage: dosage(ctx, row).into_iter().collect(),
        ..Default::default()
    }
}

/// Statement status: stopped when discontinued, completed when the course was completed,
/// active while taken; otherwise completed if the treatment has an end, else unknown.
pub fn status(
    is_active: bool,
    discontinued: bool,
    course_completed: bool,
    has_end: bool,
) -> &'static str {
    if discontinued {
        "stopped"
    } else if course_completed {
        "completed"
    } else if is_active {
        "active"
    } else if has_end {
        "completed"
    } else {
        "unknown"
    }
}

/// UCUM unit of time of a `frequency_unit` (`wr`, "when required", has none).
pub fn frequency_unit(code: &str) -> Option<(&'static str, &'static str)> {
    match code {
        "seconds" => Some(("s", "seconds")),
        "minutes" => Some(("min", "minutes")),
        "hours" => Some(("h", "hours")),
        "days" => Some(("d", "days")),
        "weeks" => Some(("wk", "weeks")),
        _ => None,
    }
}

/// UCUM unit of time of a `duration_period` (`indefinite` has none).
pub fn duration_unit(code: &str) -> Option<(&'static str, &'static str)> {
    match code {
        "minutes" => Some(("min", "minutes")),
        "hours" => Some(("h", "hours")),
        "days" => Some(("d", "days")),
        "months" => Some(("mo", "months")),
        "years" => Some(("a", "years")),
        _ => None,
    }
}

/// `admin_times` (free text such as `08:00 20:00`) → FHIR `time`s; `None` when a part is
/// not a time, so the text is kept only in the dosage text.
pub fn times_of_day(text: &str) -> Option<Vec<String>> {
    text.split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|t| !t.is_empty())
        .map(|t| {
            NaiveTime::parse_from_str(t, "%H:%M:%S")
                .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M"))
                .ok()
                .map(|time| time.format("%H:%M:%S").to_string())
        })
        .collect()
}

/// A decimal as people write it (`10`, not `10.0`).
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        v.to_string()
    }
}

/// The dose: UCUM when the unit is a UCUM code (`mg`, `mL`), else GNU Health's unit code.
fn dose_quantity(ctx: &Context, value: f64, code: Option<&str>, name: Option<&str>) -> Quantity {
    let (system, code) = match code {
        Some(c) if is_ucum(c) => (Some(UCUM.to_owned()), Some(c.to_owned())),
        Some(c) => (Some(ctx.system(DOSE_UNIT_SYSTEM)), Some(c.to_owned())),
        None => (None, None),
    };
    Quantity {
        value: Some(value),
        unit: name.or(code.as_deref()).map(str::to_owned),
        system,
        code,
        ..Default::default()
    }
}

/// The one dosage of a statement, or `None` when nothing about it is recorded: from a row
/// whose columns 16–33 are, in order: dose, dose unit code
/// and name, quantity, form name, route code and name, common dosage code and name,
/// frequency, frequency unit, as needed, administration times, duration, duration period,
/// infusion, infusion rate, rate unit (MedicationRequest selects its lines likewise).
pub(crate) fn dosage(ctx: &Context, row: &Row) -> Option<Dosage> {
    let mut text = Vec::new();
    if let Some(qty) = row.opt_int(19).filter(|q| *q > 0) {
        text.push(format!(
            "{qty} {}",
            row.opt_text(20).unwrap_or_else(|| "unit(s)".into())
        ));
    }
    let dose = row.opt_float(16).map(|v| {
        let (code, name) = (row.opt_str(17), row.opt_str(18));
        text.push(
            [Some(number(v)), name.or(code).map(str::to_owned)]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
        );
        dose_quantity(ctx, v, code, name)
    });
    let route = row
        .opt_text(21)
        .map(|code| CodeableConcept::coded(&ctx.system(ROUTE_SYSTEM), code, row.opt_text(22)));
    text.extend(row.opt_text(22));

    let common = row.opt_text(23);
    let as_required = common.as_deref() == Some(AS_REQUIRED);
    let code = common.map(|c| CodeableConcept::coded(SNOMED, c, row.opt_text(24)));
    text.extend(row.opt_text(24));
    let unit = row.opt_str(26);
    let mut repeat = TimingRepeat::default();
    if let (Some(n), Some((ucum, words))) = (
        row.opt_int(25)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0),
        unit.and_then(frequency_unit),
    ) {
        // GNU Health's frequency is the interval: once every `n` units.
        repeat.frequency = Some(1);
        repeat.period = Some(n);
        repeat.period_unit = Some(ucum);
        text.push(format!("every {n} {words}"));
    }
    let as_needed = row.bool(27) || unit == Some("wr");
    if as_needed && !as_required {
        text.push("as needed".into());
    }
    if let Some(times) = row.opt_str(28) {
        repeat.time_of_day = times_of_day(times).unwrap_or_default();
        text.push(format!("at {times}"));
    }
    match (row.opt_int(29).filter(|n| *n > 0), row.opt_str(30)) {
        (Some(n), Some(period)) => {
            if let Some((ucum, words)) = duration_unit(period) {
                repeat.bounds_duration = Some(Quantity {
                    value: Some(n as f64),
                    unit: Some(words.into()),
                    system: Some(UCUM.into()),
                    code: Some(ucum.into()),
                    ..Default::default()
                });
                text.push(format!("for {n} {words}"));
            }
        }
        (_, Some("indefinite")) => text.push("indefinitely".into()),
        _ => {}
    }
    let repeat = (repeat != TimingRepeat::default()).then_some(repeat);
    let timing = (repeat.is_some() || code.is_some()).then_some(Timing { repeat, code });

    // Only one infusion rate unit exists: mL/hour.
    let rate = row
        .opt_float(32)
        .filter(|_| row.bool(31) && row.opt_str(33).is_none_or(|u| u == "mlhr"))
        .map(|v| {
            text.push(format!("infusion at {} mL/hour", number(v)));
            Quantity {
                value: Some(v),
                unit: Some("mL/hour".into()),
                system: Some(UCUM.into()),
                code: Some("mL/h".into()),
                ..Default::default()
            }
        });
    let dose_and_rate = (dose.is_some() || rate.is_some()).then_some(DosageDoseAndRate {
        dose_quantity: dose,
        rate_quantity: rate,
    });
    let d = Dosage {
        text: (!text.is_empty()).then(|| text.join(", ")),
        timing,
        as_needed_boolean: as_needed.then_some(true),
        route,
        dose_and_rate: dose_and_rate.into_iter().collect(),
    };
    (d != Dosage::default()).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Val;

    #[test]
    fn field_uses() {
        crate::resources::patient::field_checks::check(&MEDICATION_STATEMENT, &[]);
    }

    #[test]
    fn statuses() {
        assert_eq!(status(true, true, false, false), "stopped");
        assert_eq!(status(true, false, true, false), "completed");
        assert_eq!(status(true, false, false, true), "active");
        assert_eq!(status(false, false, false, true), "completed");
        assert_eq!(status(false, false, false, false), "unknown");
    }

    /// The SQL of the `status` search parameter agrees with [`status`].
    #[test]
    fn status_sql_matches_mapping() -> rusqlite::Result<()> {
        let conn = rusqlite::Connection::open_in_memory()?;
        let sql = format!(
            "SELECT {STATUS_SQL} FROM (SELECT ?1 AS is_active, ?2 AS discontinued, \
             ?3 AS course_completed, ?4 AS end_treatment) r"
        );
        let flags = [None, Some(false), Some(true)];
        for a in flags {
            for d in flags {
                for c in flags {
                    for end in [None, Some("2024-01-01 00:00:00")] {
                        let got: String =
                            conn.query_row(&sql, rusqlite::params![a, d, c, end], |r| r.get(0))?;
                        let want = status(
                            a.unwrap_or(false),
                            d.unwrap_or(false),
                            c.unwrap_or(false),
                            end.is_some(),
                        );
                        assert_eq!(got, want, "{a:?} {d:?} {c:?} {end:?}");
                    }
                }
            }
        }
        Ok(())
    }

    #[test]
    fn units_and_times() {
        assert_eq!(frequency_unit("hours"), Some(("h", "hours")));
        assert_eq!(frequency_unit("wr"), None);
        assert_eq!(duration_unit("years"), Some(("a", "years")));
        assert_eq!(duration_unit("indefinite"), None);
        assert_eq!(
            times_of_day("08:00 20:00"),
            Some(vec!["08:00:00".to_owned(), "20:00:00".to_owned()])
        );
        assert_eq!(
            times_of_day("8:30, 14:00:15"),
            Some(vec!["08:30:00".to_owned(), "14:00:15".to_owned()])
        );
        assert_eq!(times_of_day("morning"), None);
        assert_eq!(number(10.0), "10");
        assert_eq!(number(0.5), "0.5");
    }

    fn ctx() -> Context {
        Context {
            base_url: "https://h.example/fhir".into(),
        }
    }

    fn row() -> Row {
        let t = |s: &str| Val::Text(s.into());
        Row(vec![
            Val::Int(1),
            Val::Int(1),
            Val::Int(1),
            t("Enalapril 10 mg"),
            Val::Int(1),
            Val::Int(0),
            Val::Null,
            Val::Int(0),
            t("2024-05-06 09:00:00"),
            Val::Null,
            t("2026-11-26 10:55:29.283623"),
            Val::Int(1),
            t("I10"),
            t("Essential (primary) hypertension"),
            t("Long term"),
            Val::Null,
            Val::Float(10.0),
            t("mg"),
            t("mg"),
            Val::Int(1),
            t("Tablet"),
            t("PO"),
            t("Oral"),
            t("229799001"),
            t("2 times per day"),
            Val::Int(12),
            t("hours"),
            Val::Int(0),
            t("08:00 20:00"),
            Val::Null,
            t("indefinite"),
            Val::Int(0),
            Val::Null,
            Val::Null,
            t("2026-11-26 10:55:29.392826"),
        ])
    }

    #[test]
    fn maps_a_statement() {
        let lines = [
            Row(vec![Val::Int(1), Val::Int(1), Val::Int(1)]),
            Row(vec![Val::Int(1), Val::Int(2), Val::Int(5)]),
        ];
        let m = statement(&ctx(), &row(), &lines);
        assert_eq!(m.status, "active");
        assert_eq!(
            m.medication_reference.reference.as_deref(),
            Some("Medication/1")
        );
        assert_eq!(m.based_on.len(), 1);
        assert_eq!(
            m.based_on[0].reference.as_deref(),
            Some("MedicationRequest/1")
        );
        assert_eq!(m.reason_code[0].coding[0].code.as_deref(), Some("I10"));
        let d = &m.dosage[0];
        assert_eq!(
            d.text.as_deref(),
            Some(
                "1 Tablet, 10 mg, Oral, 2 times per day, every 12 hours, at 08:00 20:00, indefinitely"
            )
        );
        let timing = d.timing.as_ref();
        assert_eq!(
            timing
                .and_then(|t| t.code.as_ref())
                .map(|c| c.coding[0].code.clone()),
            Some(Some("229799001".into()))
        );
        let repeat = timing.and_then(|t| t.repeat.as_ref());
        assert_eq!(repeat.and_then(|r| r.period), Some(12));
        assert_eq!(repeat.and_then(|r| r.period_unit), Some("h"));
        assert_eq!(repeat.map(|r| r.time_of_day.len()), Some(2));
        let dose = d.dose_and_rate[0].dose_quantity.as_ref();
        assert_eq!(dose.and_then(|q| q.system.as_deref()), Some(UCUM));
        assert_eq!(d.as_needed_boolean, None);
    }

    #[test]
    fn non_ucum_dose_unit_is_local() {
        let q = dose_quantity(&ctx(), 2.0, Some("unit"), Some("unit"));
        assert_eq!(
            q.system.as_deref(),
            Some("https://h.example/fhir/CodeSystem/dose-unit")
        );
        assert_eq!(q.code.as_deref(), Some("unit"));
    }
}
