//! Practitioner ← `gnuhealth_healthprofessional` + its person party (`party_party`): the
//! licence code and the party's identifiers, names, contact mechanisms, home (DU) and other
//! addresses, photo and language (the same party joins as Patient), and the specialties
//! (`gnuhealth_hp_specialty` ⋈ `gnuhealth_specialty`) as qualifications, main one first.
//!
//! `institution` and `institution_unit` have no Practitioner element: they belong to
//! PractitionerRole (see `practitioner_role`).

use std::collections::HashSet;

use fhir::datatypes::{CodeableConcept, Coding, Identifier};
use fhir::resources::practitioner::{Practitioner, PractitionerQualification};
use serde_json::Value;

use super::patient::{
    NAME_PATHS, PersonChildren, du_address, gender, person_identifiers, photo, sid,
};
use super::{
    Context, FieldUse, Kind, Path, ResourceDef, SearchParam, Stored, System, group_by, meta,
    to_json,
};
use crate::db::{Database, DbError, Row};
use crate::tryton::{fhir_date, newest};

/// Naming system of the licence code (`gnuhealth_healthprofessional.code`).
pub const LICENSE_SID: &str = "sid/hp-license";
/// GNU Health's specialty table (`gnuhealth_specialty.code`).
pub const SPECIALTY_SYSTEM: &str = "CodeSystem/specialty";

const LANG_JOIN: (&str, &str) = (
    "party_party_lang pl JOIN ir_lang l ON l.id = pl.lang",
    "pl.party = r.party",
);

pub static PRACTITIONER: ResourceDef = ResourceDef {
    type_name: "Practitioner",
    models: &["gnuhealth.healthprofessional", "party.party"],
    from: "gnuhealth_healthprofessional r JOIN party_party p ON p.id = r.party",
    filter: &[],
    key: "r.id",
    key_is_text: false,
    last_updated: "COALESCE(r.write_date, r.create_date)",
    params: crate::person_search_params![
        // The licence code, then the person identifiers Patient searches too.
        SearchParam::new(
            "identifier",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Practitioner-identifier",
            &with_party_identifiers::<9>(Path::col(
                "r.code",
                Stored::Code(System::Local(LICENSE_SID)),
            ))
        ),
        SearchParam::new(
            "name",
            Kind::String,
            "http://hl7.org/fhir/SearchParameter/Practitioner-name",
            NAME_PATHS
        ),
        SearchParam::new(
            "active",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Practitioner-active",
            &[Path::col("(r.active AND p.active)", Stored::Bool)]
        ),
        // Emitted as BCP-47 (`es-419`), stored in Tryton's form (`es_419`).
        SearchParam::new(
            "communication",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Practitioner-communication",
            &[Path::child(
                LANG_JOIN.0,
                LANG_JOIN.1,
                "REPLACE(l.code, '_', '-')",
                Stored::Code(System::Fixed("urn:ietf:bcp:47")),
            )]
        ),
    ],
    load,
    aliases: &[("gnuhealth.healthprofessional", "r"), ("party.party", "p")],
    // The person party as for Patient (see there), without what only a patient has
    // (emergency contacts, death, marital status, replacement), plus the licence code and
    // the specialties (whose names are part of the specialty rows).
    fields: crate::person_field_uses![
        FieldUse::new(
            "gnuhealth.healthprofessional",
            "code",
            &["identifier[system$=/sid/hp-license]"],
            &["identifier"],
        ),
        FieldUse::new(
            "gnuhealth.healthprofessional",
            "active",
            &["active"],
            &["active"],
        ),
        FieldUse::new("party.party", "dob", &["birthDate"], &[]),
        FieldUse::new("gnuhealth.hp_specialty", "", &["qualification"], &[]),
        FieldUse::new(
            "party.contact_mechanism",
            "",
            &["telecom"],
            &["telecom", "phone", "email"],
        ),
        FieldUse::new(
            "party.party.lang",
            "",
            &["communication"],
            &["communication"],
        ),
    ],
    count_from: None,
    id_rows: &[],
};

/// `first`, then the identifier paths of the person party `p` (as Patient searches them):
/// for types whose own code comes first. `N` is checked when compiling.
pub(crate) const fn with_party_identifiers<const N: usize>(first: Path) -> [Path; N] {
    const PARTY: &[Path] = crate::person_identifier_paths!();
    assert!(
        N == PARTY.len() + 1,
        "N is one more than the party identifier paths"
    );
    let mut all = [first; N];
    let mut i = 0;
    while i < PARTY.len() {
        all[i + 1] = PARTY[i];
        i += 1;
    }
    all
}

super::int_loader!(load_practitioners);

/// `party IN (parties of these health professionals)`.
const PARTIES: &str = "(SELECT party FROM gnuhealth_healthprofessional WHERE ";

async fn load_practitioners(
    db: &Database,
    ctx: &Context,
    ids: &[i64],
) -> Result<Vec<Value>, DbError> {
    let mut main = db.sql();
    main.push(
        "SELECT r.id, r.active, p.active, p.id, p.ref, p.federation_account, p.code, \
         r.code, p.gender, p.dob, p.photo, p.name, p.lastname, \
         COALESCE(r.write_date, r.create_date), COALESCE(p.write_date, p.create_date), \
         du.address_street, du.address_street_number, du.address_street_bis, \
         du.address_district, du.address_municipality, du.address_city, du.address_zip, \
         sub.name, cc.code, du.latitude, du.longitude \
         FROM gnuhealth_healthprofessional r JOIN party_party p ON p.id = r.party \
         LEFT JOIN gnuhealth_du du ON du.id = p.du \
         LEFT JOIN country_subdivision sub ON sub.id = du.address_subdivision \
         LEFT JOIN country_country cc ON cc.id = du.address_country WHERE ",
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
    let statements = [
        main,
        specialties,
        PersonChildren::statement(db, ids, PARTIES),
    ];
    let (mut main_rows, children) = PersonChildren::read(db, &statements).await?;
    let specialties = main_rows.pop().unwrap_or_default();
    let rows = main_rows.pop().unwrap_or_default();
    let specialties = group_by(specialties, 0);

    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let id = row.int(0);
        let c = children.of(row.int(3));
        let specs = specialties.get(&id).map(Vec::as_slice).unwrap_or(&[]);
        let mut p = Practitioner {
            resource_type: "Practitioner",
            id: id.to_string(),
            active: Some(row.bool(1) && row.bool(2)),
            ..Default::default()
        };
        let stamps = [row.opt_str(13), row.opt_str(14)]
            .into_iter()
            .chain(c.stamps.iter().map(|s| Some(s.as_str())))
            .chain(specs.iter().map(|s| s.opt_str(3)));
        p.meta = meta(newest(stamps).as_deref());
        p.identifier = license(ctx, row.opt_text(7)).into_iter().collect();
        p.identifier.extend(person_identifiers(ctx, &row, 4, &c));
        p.name = c.names(row.opt_text(11), row.opt_text(12));
        // Emergency contacts are other people's numbers: Practitioner has no place for them.
        p.telecom = c.telecoms().0;
        p.address = du_address(&row, 15).into_iter().collect();
        p.address.extend(c.addresses());
        p.gender = row.opt_str(8).and_then(gender);
        p.birth_date = row.opt_str(9).and_then(fhir_date);
        p.photo = row.bytes(10).map(photo).into_iter().collect();
        p.qualification = qualifications(ctx, specs);
        p.communication = c.communication().into_iter().map(|l| l.language).collect();
        out.push(to_json(&p)?);
    }
    Ok(out)
}

/// The licence code as an identifier of type v2-0203 `LN` (licence number).
fn license(ctx: &Context, code: Option<String>) -> Option<Identifier> {
    Some(Identifier {
        type_: Some(CodeableConcept::coded(
            "http://terminology.hl7.org/CodeSystem/v2-0203",
            "LN",
            Some("License number".into()),
        )),
        ..Identifier::new(ctx.system(LICENSE_SID), code?)
    })
}

/// One qualification per specialty row (code, name), in the given order.
fn qualifications(ctx: &Context, rows: &[Row]) -> Vec<PractitionerQualification> {
    let system = ctx.system(SPECIALTY_SYSTEM);
    let mut seen = HashSet::new();
    rows.iter()
        .filter_map(|r| {
            let code = r.opt_text(1)?;
            // The same specialty may be entered twice; FHIR gains nothing from repeats.
            if !seen.insert(code.clone()) {
                return None;
            }
            let name = r.opt_text(2);
            Some(PractitionerQualification {
                code: CodeableConcept {
                    coding: vec![Coding::new(&system, code, name.clone())],
                    text: name,
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Val;

    fn ctx() -> Context {
        Context {
            base_url: "https://fhir.example.org/fhir".into(),
        }
    }

    #[test]
    fn field_uses() {
        crate::resources::patient::field_checks::check(&PRACTITIONER, &[]);
    }

    #[test]
    fn license_identifier() {
        let id = license(&ctx(), Some("MED-0001".into()));
        let id = id.as_ref();
        assert_eq!(
            id.and_then(|i| i.system.as_deref()),
            Some("https://fhir.example.org/fhir/sid/hp-license")
        );
        assert_eq!(id.and_then(|i| i.value.as_deref()), Some("MED-0001"));
        assert_eq!(license(&ctx(), None), None);
    }

    #[test]
    fn qualifications_keep_order_and_drop_repeats() {
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
            row("ANESTHESIO", "Anesthesiology"),
            row("GP", "General Practitioner"),
        ];
        let q = qualifications(&ctx(), &rows);
        assert_eq!(q.len(), 2);
        assert_eq!(q[0].code.coding[0].code.as_deref(), Some("GP"));
        assert_eq!(
            q[0].code.coding[0].system.as_deref(),
            Some("https://fhir.example.org/fhir/CodeSystem/specialty")
        );
        assert_eq!(q[1].code.text.as_deref(), Some("Anesthesiology"));
    }
}
