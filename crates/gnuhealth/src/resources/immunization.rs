//! Immunization ← `gnuhealth_vaccination`: the vaccine (a medicament: product name and
//! code), date, lot, site (v3 ActSite), route (v3 RouteOfAdministration), amount, the
//! administering and signing professionals, the institution and the dose number.
//!
//! The institution is the place of vaccination; Immunization.location must be a Location,
//! which this server does not serve, so it is a logical reference (institution code and
//! name). The next dose date (an ImmunizationRecommendation in FHIR) goes into an extension.

use fhir::datatypes::{
    Annotation, CodeableConcept, Extension, ExtensionValue, Identifier, Quantity, Reference,
};
use fhir::resources::immunization::{
    Immunization, ImmunizationPerformer, ImmunizationProtocolApplied,
};
use serde_json::Value;

use super::medication::{PRODUCT_SYSTEM, product_code};
use super::organization::INSTITUTION_SID;
use super::{
    Cond, Context, FieldUse, Kind, Path, ResourceDef, SearchParam, Stored, System, meta, to_json,
};
use crate::db::{Database, DbError};
use crate::tryton::{fhir_date, fhir_datetime};

pub const STATUS_SYSTEM: &str = "http://hl7.org/fhir/event-status";
pub const SITE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ActSite";
pub const ROUTE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration";

/// `admin_site` → (v3 ActSite code, its display, GNU Health's label). The thigh and
/// upper-arm fat sites map to the limb; the forearm, which ActSite has only by third
/// (upper/mid/lower), to the arm.
const SITES: &[(&str, &str, &str, &str)] = &[
    (
        "lvl",
        "LVL",
        "left vastus lateralis",
        "left vastus lateralis",
    ),
    (
        "rvl",
        "RVL",
        "right vastus lateralis",
        "right vastus lateralis",
    ),
    ("ld", "LD", "left deltoid", "left deltoid"),
    ("rd", "RD", "right deltoid", "right deltoid"),
    (
        "lalt",
        "LT",
        "left thigh",
        "left anterolateral fat of thigh",
    ),
    (
        "ralt",
        "RT",
        "right thigh",
        "right anterolateral fat of thigh",
    ),
    (
        "lpua",
        "LUA",
        "left upper arm",
        "left posterolateral fat of upper arm",
    ),
    (
        "rpua",
        "RUA",
        "right upper arm",
        "right posterolateral fat of upper arm",
    ),
    ("lfa", "LA", "left arm", "left fore arm"),
    ("rfa", "RA", "right arm", "right fore arm"),
];

/// `admin_route` → (v3 RouteOfAdministration code, display as in R4's immunization-route
/// value set, GNU Health's label).
const ROUTES: &[(&str, &str, &str, &str)] = &[
    ("im", "IM", "Injection, intramuscular", "Intramuscular"),
    ("sc", "SQ", "Injection, subcutaneous", "Subcutaneous"),
    ("id", "IDINJ", "Injection, intradermal", "Intradermal"),
    ("nas", "NASINHLC", "Inhalation, nasal", "Intranasal"),
    ("po", "PO", "Swallow, oral", "Oral"),
];

pub static IMMUNIZATION: ResourceDef = ResourceDef {
    type_name: "Immunization",
    models: &["gnuhealth.vaccination"],
    from: "gnuhealth_vaccination r",
    // Immunization.patient is required (SQLite does not enforce GNU Health's NOT NULL).
    filter: &[Cond::Sql("r.patient IS NOT NULL")],
    key: "r.id",
    key_is_text: false,
    last_updated: "COALESCE(r.write_date, r.create_date)",
    params: &[
        SearchParam::reference(
            "patient",
            "http://hl7.org/fhir/SearchParameter/clinical-patient",
            &[Path::col("r.patient", Stored::Id)],
            &["Patient"],
        ),
        SearchParam::new(
            "date",
            Kind::Date,
            "http://hl7.org/fhir/SearchParameter/clinical-date",
            &[Path::col("r.date", Stored::Timestamp)],
        ),
        SearchParam::new(
            "vaccine-code",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Immunization-vaccine-code",
            &[Path::child(
                "gnuhealth_medicament vm JOIN product_product vp ON vp.id = vm.product",
                "vm.id = r.vaccine",
                "vp.code",
                Stored::Code(System::Local(PRODUCT_SYSTEM)),
            )
            .text("(SELECT vt.name FROM product_template vt WHERE vt.id = vp.template)")],
        ),
        // Signed or not, a recorded vaccination was given (see `STATUS`).
        SearchParam::new(
            "status",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Immunization-status",
            &[Path::col(
                "CAST('completed' AS VARCHAR)",
                Stored::Code(System::Fixed(STATUS_SYSTEM)),
            )],
        ),
        SearchParam::new(
            "lot-number",
            Kind::String,
            "http://hl7.org/fhir/SearchParameter/Immunization-lot-number",
            &[Path::col("r.vaccine_lot", Stored::Text)],
        ),
        SearchParam::reference(
            "performer",
            "http://hl7.org/fhir/SearchParameter/Immunization-performer",
            &[
                Path::col("r.healthprof", Stored::Id),
                Path::col("r.signed_by", Stored::Id),
            ],
            &["Practitioner"],
        ),
    ],
    load,
    aliases: &[("gnuhealth.vaccination", "r")],
    // The vaccine's product code and name are the value of `vaccine`, the institution's code
    // and name that of `institution`. The two performers cannot be told apart (no text
    // key), so either professional's field hides both. The status is constant and the
    // recorded date is `create_date`, not access-controlled.
    fields: &[
        FieldUse::required(
            "gnuhealth.vaccination",
            "patient",
            &["patient"],
            &["patient"],
        ),
        FieldUse::required(
            "gnuhealth.vaccination",
            "vaccine",
            &["vaccineCode"],
            &["vaccine-code"],
        ),
        FieldUse::required(
            "gnuhealth.vaccination",
            "date",
            &["occurrenceDateTime", "occurrenceString"],
            &["date"],
        ),
        FieldUse::new(
            "gnuhealth.vaccination",
            "vaccine_lot",
            &["lotNumber"],
            &["lot-number"],
        ),
        FieldUse::new(
            "gnuhealth.vaccination",
            "vaccine_expiration_date",
            &["expirationDate"],
            &[],
        ),
        FieldUse::new("gnuhealth.vaccination", "admin_site", &["site"], &[]),
        FieldUse::new("gnuhealth.vaccination", "admin_route", &["route"], &[]),
        FieldUse::new("gnuhealth.vaccination", "amount", &["doseQuantity"], &[]),
        FieldUse::new(
            "gnuhealth.vaccination",
            "healthprof",
            &["performer"],
            &["performer"],
        ),
        FieldUse::new(
            "gnuhealth.vaccination",
            "signed_by",
            &["performer"],
            &["performer"],
        ),
        FieldUse::new("gnuhealth.vaccination", "institution", &["location"], &[]),
        FieldUse::new("gnuhealth.vaccination", "observations", &["note"], &[]),
        FieldUse::new("gnuhealth.vaccination", "dose", &["protocolApplied"], &[]),
        FieldUse::new(
            "gnuhealth.vaccination",
            "next_dose_date",
            &["extension[url$=/StructureDefinition/immunization-next-dose-date]"],
            &[],
        ),
    ],
    count_from: None,
    id_rows: &[],
};

super::int_loader!(load_immunizations);

async fn load_immunizations(
    db: &Database,
    ctx: &Context,
    ids: &[i64],
) -> Result<Vec<Value>, DbError> {
    let mut main = db.sql();
    main.push(
        "SELECT r.id, r.patient, vp.code, vt.name, r.date, r.create_date, \
         r.vaccine_lot, r.vaccine_expiration_date, r.admin_site, r.admin_route, r.amount, \
         r.healthprof, r.signed_by, ins.code, ip.name, r.observations, r.dose, \
         r.next_dose_date, COALESCE(r.write_date, r.create_date) \
         FROM gnuhealth_vaccination r \
         LEFT JOIN gnuhealth_medicament vm ON vm.id = r.vaccine \
         LEFT JOIN product_product vp ON vp.id = vm.product \
         LEFT JOIN product_template vt ON vt.id = vp.template \
         LEFT JOIN gnuhealth_institution ins ON ins.id = r.institution \
         LEFT JOIN party_party ip ON ip.id = ins.party WHERE ",
    )
    .in_ids("r.id", ids)
    .push(" AND ");
    crate::search::where_clause(&mut main, &IMMUNIZATION, ctx, &[])
        .map_err(|e| DbError::Query(e.to_string()))?;
    let rows = db.query(&main).await?;

    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(patient) = row.opt_int(1) else {
            continue;
        };
        let occurrence = row.opt_str(4).and_then(fhir_datetime);
        let mut im = Immunization {
            resource_type: "Immunization",
            id: row.int(0).to_string(),
            meta: meta(row.opt_str(18)),
            status: STATUS,
            vaccine_code: product_code(ctx, row.opt_text(2), row.opt_text(3))
                .unwrap_or_else(unknown),
            patient: Reference::to("Patient", patient, None),
            // occurrence[x] is required: say so when GNU Health has no date.
            occurrence_string: occurrence.is_none().then(|| "unknown".to_owned()),
            occurrence_date_time: occurrence,
            recorded: row.opt_str(5).and_then(fhir_datetime),
            location: location(ctx, row.opt_text(13), row.opt_text(14)),
            lot_number: row.opt_text(6),
            expiration_date: row.opt_str(7).and_then(fhir_date),
            site: row.opt_str(8).and_then(site),
            route: row.opt_str(9).and_then(route),
            dose_quantity: row.opt_float(10).map(|ml| Quantity::ucum(ml, "mL")),
            note: row.opt_text(15).map(Annotation::text).into_iter().collect(),
            protocol_applied: row.opt_int(16).map(dose_number).into_iter().collect(),
            ..Default::default()
        };
        if let Some(hp) = row.opt_int(11) {
            im.performer.push(performer(
                hp,
                "http://terminology.hl7.org/CodeSystem/v2-0443",
                "AP",
                "Administering Provider",
            ));
        }
        if let Some(hp) = row.opt_int(12) {
            im.performer.push(performer(
                hp,
                "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                "VRF",
                "verifier",
            ));
        }
        if let Some(next) = row.opt_str(17).and_then(fhir_datetime) {
            im.extension.push(Extension::new(
                ctx.system("StructureDefinition/immunization-next-dose-date"),
                ExtensionValue::DateTime(next),
            ));
        }
        out.push(to_json(&im)?);
    }
    Ok(out)
}

/// FHIR has no "not yet signed": a recorded vaccination (`in_progress` or `done`) was given.
const STATUS: &str = "completed";

fn unknown() -> CodeableConcept {
    CodeableConcept::coded(
        "http://terminology.hl7.org/CodeSystem/data-absent-reason",
        "unknown",
        Some("Unknown".into()),
    )
}

/// The v3 ActSite concept of a stored `admin_site`, with GNU Health's label as the text.
pub fn site(code: &str) -> Option<CodeableConcept> {
    coded(SITES, SITE_SYSTEM, code)
}

/// The v3 RouteOfAdministration concept of a stored `admin_route`.
pub fn route(code: &str) -> Option<CodeableConcept> {
    coded(ROUTES, ROUTE_SYSTEM, code)
}

fn coded(
    table: &[(&str, &str, &str, &str)],
    system: &str,
    stored: &str,
) -> Option<CodeableConcept> {
    let (_, code, display, label) = table.iter().find(|(s, ..)| *s == stored)?;
    let mut cc = CodeableConcept::coded(system, *code, Some((*display).to_owned()));
    cc.text = Some((*label).to_owned());
    Some(cc)
}

fn performer(hp: i64, system: &str, code: &str, display: &str) -> ImmunizationPerformer {
    ImmunizationPerformer {
        function: Some(CodeableConcept::coded(
            system,
            code,
            Some(display.to_owned()),
        )),
        actor: Reference::to("Practitioner", hp, None),
    }
}

/// The institution as a logical reference: its code, and its name.
fn location(ctx: &Context, code: Option<String>, name: Option<String>) -> Option<Reference> {
    if code.is_none() && name.is_none() {
        return None;
    }
    Some(Reference {
        type_: Some("Location".into()),
        identifier: code.map(|c| Identifier::new(ctx.system(INSTITUTION_SID), c)),
        display: name,
        ..Default::default()
    })
}

/// `doseNumberPositiveInt`, or the number as a string when it is not positive.
fn dose_number(dose: i64) -> ImmunizationProtocolApplied {
    match u32::try_from(dose) {
        Ok(n) if n >= 1 => ImmunizationProtocolApplied {
            dose_number_positive_int: Some(n),
            ..Default::default()
        },
        _ => ImmunizationProtocolApplied {
            dose_number_string: Some(dose.to_string()),
            ..Default::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(cc: Option<CodeableConcept>) -> Option<String> {
        cc.and_then(|c| c.coding.first().and_then(|c| c.code.clone()))
    }

    #[test]
    fn field_uses() {
        crate::resources::patient::field_checks::check(&IMMUNIZATION, &["status"]);
    }

    #[test]
    fn sites() {
        assert_eq!(code_of(site("lvl")).as_deref(), Some("LVL"));
        assert_eq!(code_of(site("ralt")).as_deref(), Some("RT"));
        assert_eq!(code_of(site("lpua")).as_deref(), Some("LUA"));
        assert_eq!(code_of(site("rfa")).as_deref(), Some("RA"));
        assert_eq!(
            site("lfa").and_then(|c| c.text).as_deref(),
            Some("left fore arm")
        );
        assert_eq!(site("xx"), None);
    }

    #[test]
    fn routes() {
        assert_eq!(code_of(route("im")).as_deref(), Some("IM"));
        assert_eq!(code_of(route("sc")).as_deref(), Some("SQ"));
        assert_eq!(code_of(route("id")).as_deref(), Some("IDINJ"));
        assert_eq!(code_of(route("nas")).as_deref(), Some("NASINHLC"));
        assert_eq!(code_of(route("po")).as_deref(), Some("PO"));
        assert_eq!(
            route("sc")
                .and_then(|c| c.coding[0].system.clone())
                .as_deref(),
            Some(ROUTE_SYSTEM)
        );
    }

    #[test]
    fn dose_numbers() {
        assert_eq!(dose_number(2).dose_number_positive_int, Some(2));
        assert_eq!(dose_number(0).dose_number_string.as_deref(), Some("0"));
    }

    #[test]
    fn logical_location() {
        let ctx = Context {
            base_url: "https://fhir.example.org/fhir".into(),
        };
        let l = location(&ctx, Some("CS-VEGUETA".into()), Some("Centro".into()));
        assert_eq!(l.as_ref().and_then(|l| l.reference.clone()), None);
        assert_eq!(
            l.and_then(|l| l.identifier)
                .and_then(|i| i.system)
                .as_deref(),
            Some("https://fhir.example.org/fhir/sid/institution-code")
        );
        assert_eq!(location(&ctx, None, None), None);
    }
}
