//! PractitionerRole ← `gnuhealth_healthprofessional` seen as a job: one role per health
//! professional (same id as its Practitioner), at its institution (organization) and unit
//! (location `unit-<id>`), with its specialties (`gnuhealth_hp_specialty` ⋈
//! `gnuhealth_specialty`, main one first). Active as the Practitioner is.

use fhir::datatypes::{CodeableConcept, Coding, Reference};
use fhir::resources::practitioner_role::PractitionerRole;
use serde_json::Value;

use super::practitioner::SPECIALTY_SYSTEM;
use super::{
    Context, FieldUse, Kind, Path, ResourceDef, SearchParam, Stored, System, group_by, meta,
    to_json,
};
use crate::db::{Database, DbError, Row};
use crate::tryton::newest;

const SPECIALTY_JOIN: (&str, &str) = (
    "gnuhealth_hp_specialty hs JOIN gnuhealth_specialty s ON s.id = hs.specialty",
    "hs.healthprof = r.id",
);

pub static PRACTITIONER_ROLE: ResourceDef = ResourceDef {
    type_name: "PractitionerRole",
    models: &["gnuhealth.healthprofessional", "party.party"],
    from: "gnuhealth_healthprofessional r JOIN party_party p ON p.id = r.party",
    filter: &[],
    key: "r.id",
    key_is_text: false,
    last_updated: "COALESCE(r.write_date, r.create_date)",
    params: &[
        SearchParam::reference(
            "practitioner",
            "http://hl7.org/fhir/SearchParameter/PractitionerRole-practitioner",
            &[Path::col("r.id", Stored::Id)],
            &["Practitioner"],
        ),
        SearchParam::reference(
            "organization",
            "http://hl7.org/fhir/SearchParameter/PractitionerRole-organization",
            &[Path::col("r.institution", Stored::Id)],
            &["Organization"],
        ),
        SearchParam::reference(
            "location",
            "http://hl7.org/fhir/SearchParameter/PractitionerRole-location",
            &[Path::col(
                "'unit-' || CAST(r.institution_unit AS VARCHAR)",
                Stored::Text,
            )],
            &["Location"],
        ),
        SearchParam::new(
            "specialty",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/PractitionerRole-specialty",
            &[Path::child(
                SPECIALTY_JOIN.0,
                SPECIALTY_JOIN.1,
                "s.code",
                Stored::Code(System::Local(SPECIALTY_SYSTEM)),
            )
            .text("s.name")],
        ),
        SearchParam::new(
            "active",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/PractitionerRole-active",
            &[Path::col("(r.active AND p.active)", Stored::Bool)],
        ),
    ],
    load,
    aliases: &[("gnuhealth.healthprofessional", "r"), ("party.party", "p")],
    // The role is the health professional itself: its id is `practitioner`.
    fields: &[
        FieldUse::new(
            "gnuhealth.healthprofessional",
            "active",
            &["active"],
            &["active"],
        ),
        FieldUse::new("party.party", "active", &["active"], &["active"]),
        FieldUse::new(
            "gnuhealth.healthprofessional",
            "institution",
            &["organization"],
            &["organization"],
        ),
        FieldUse::new(
            "gnuhealth.healthprofessional",
            "institution_unit",
            &["location"],
            &["location"],
        ),
        FieldUse::new("gnuhealth.hp_specialty", "", &["specialty"], &["specialty"]),
    ],
    count_from: None,
    id_rows: &[],
};

super::int_loader!(load_roles);

async fn load_roles(db: &Database, ctx: &Context, ids: &[i64]) -> Result<Vec<Value>, DbError> {
    let mut main = db.sql();
    main.push(
        "SELECT r.id, r.active, p.active, r.institution, r.institution_unit, \
         COALESCE(r.write_date, r.create_date) \
         FROM gnuhealth_healthprofessional r JOIN party_party p ON p.id = r.party WHERE ",
    )
    .in_ids("r.id", ids);
    let mut specialties = db.sql();
    specialties
        .push(
            "SELECT hs.healthprof, s.code, s.name, COALESCE(hs.write_date, hs.create_date) \
             FROM gnuhealth_hp_specialty hs JOIN gnuhealth_specialty s ON s.id = hs.specialty \
             WHERE ",
        )
        .in_ids("hs.healthprof", ids)
        .push(" ORDER BY hs.healthprof, CASE WHEN hs.mainsp = TRUE THEN 0 ELSE 1 END, hs.id");
    let (rows, specialties) = tokio::try_join!(db.query(&main), db.query(&specialties))?;
    let specialties = group_by(specialties, 0);

    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let id = row.int(0);
        let specs = specialties.get(&id).map(Vec::as_slice).unwrap_or(&[]);
        let stamps = std::iter::once(row.opt_str(5)).chain(specs.iter().map(|s| s.opt_str(3)));
        let r = PractitionerRole {
            resource_type: "PractitionerRole",
            id: id.to_string(),
            meta: meta(newest(stamps).as_deref()),
            active: Some(row.bool(1) && row.bool(2)),
            practitioner: Some(Reference::to("Practitioner", id, None)),
            organization: row
                .opt_int(3)
                .map(|org| Reference::to("Organization", org, None)),
            specialty: specialty_concepts(ctx, specs),
            location: row
                .opt_int(4)
                .map(|unit| Reference::to("Location", format!("unit-{unit}"), None))
                .into_iter()
                .collect(),
            ..Default::default()
        };
        out.push(to_json(&r)?);
    }
    Ok(out)
}

/// One concept per specialty row (code, name), in the given order, repeats dropped.
fn specialty_concepts(ctx: &Context, rows: &[Row]) -> Vec<CodeableConcept> {
    let system = ctx.system(SPECIALTY_SYSTEM);
    let mut out: Vec<CodeableConcept> = Vec::new();
    for r in rows {
        let Some(code) = r.opt_text(1) else { continue };
        if out
            .iter()
            .any(|c| c.coding.first().and_then(|c| c.code.as_deref()) == Some(code.as_str()))
        {
            continue;
        }
        let name = r.opt_text(2);
        out.push(CodeableConcept {
            coding: vec![Coding::new(&system, code, name.clone())],
            text: name,
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
        // `practitioner` is the row's own id.
        crate::resources::patient::field_checks::check(&PRACTITIONER_ROLE, &["practitioner"]);
    }

    #[test]
    fn specialties_keep_order_and_drop_repeats() {
        let ctx = Context {
            base_url: "https://fhir.example.org/fhir".into(),
        };
        let row = |code: &str, name: &str| {
            Row(vec![
                Val::Int(1),
                Val::Text(code.into()),
                Val::Text(name.into()),
                Val::Null,
            ])
        };
        let rows = [
            row("GP", "General Practitioner"),
            row("NURSING", "Nursing"),
            row("GP", "General Practitioner"),
        ];
        let s = specialty_concepts(&ctx, &rows);
        assert_eq!(s.len(), 2);
        assert_eq!(
            s[0].coding[0].system.as_deref(),
            Some("https://fhir.example.org/fhir/CodeSystem/specialty")
        );
        assert_eq!(s[1].text.as_deref(), Some("Nursing"));
    }
}
