//! Organization ← `gnuhealth_institution` + its party (`party_party`): institution code and
//! party identifiers, name, type (`institution_type`), contact mechanisms and addresses.
//!
//! Insurers and pharmacies are parties without an institution row and are not served here;
//! beds, operating rooms, specialties and the like have no Organization element.

use fhir::datatypes::{Address, CodeableConcept, Coding, ContactPoint, Identifier};
use fhir::resources::organization::{Organization, OrganizationContact};
use serde_json::Value;

use super::patient::{PartyChildren, PersonChildren, person_identifiers};
use super::practitioner::with_party_identifiers;
use super::{
    Context, FieldUse, Kind, Path, ResourceDef, SearchParam, Stored, System, meta, to_json,
};
use crate::db::{Database, DbError, Row};
use crate::tryton::newest;

/// Naming system of `gnuhealth_institution.code`.
pub const INSTITUTION_SID: &str = "sid/institution-code";
/// GNU Health's institution types (`gnuhealth_institution.institution_type`).
pub const INSTITUTION_TYPE_SYSTEM: &str = "CodeSystem/institution-type";
pub const ORGANIZATION_TYPE_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/organization-type";

/// `institution_type` codes and their GNU Health labels.
const INSTITUTION_TYPES: &[(&str, &str)] = &[
    ("doctor_office", "Doctor office"),
    ("primary_care", "Primary Care Center"),
    ("clinic", "Clinic"),
    ("hospital", "General Hospital"),
    ("specialized", "Specialized Hospital"),
    ("nursing_home", "Nursing Home"),
    ("hospice", "Hospice"),
    ("rural", "Rural facility"),
];

const ADDRESS_JOIN: (&str, &str) = (
    "party_address pa LEFT JOIN country_country ac ON ac.id = pa.country \
     LEFT JOIN country_subdivision asub ON asub.id = pa.subdivision",
    "pa.party = r.party AND pa.active = TRUE",
);

pub static ORGANIZATION: ResourceDef = ResourceDef {
    type_name: "Organization",
    models: &["gnuhealth.institution", "party.party"],
    from: "gnuhealth_institution r JOIN party_party p ON p.id = r.party",
    filter: &[],
    key: "r.id",
    key_is_text: false,
    last_updated: "COALESCE(r.write_date, r.create_date)",
    params: &[
        // The institution code, then the party identifiers (as for persons).
        SearchParam::new(
            "identifier",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Organization-identifier",
            &with_party_identifiers::<9>(Path::col(
                "r.code",
                Stored::Code(System::Local(INSTITUTION_SID)),
            )),
        ),
        SearchParam::new(
            "name",
            Kind::String,
            "http://hl7.org/fhir/SearchParameter/Organization-name",
            &[Path::col("p.name", Stored::Text)],
        ),
        SearchParam::new(
            "type",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Organization-type",
            &[
                Path::col(
                    "r.institution_type",
                    Stored::Code(System::Local(INSTITUTION_TYPE_SYSTEM)),
                ),
                // Every institution is a healthcare provider.
                Path::col(
                    "CAST('prov' AS VARCHAR)",
                    Stored::Code(System::Fixed(ORGANIZATION_TYPE_SYSTEM)),
                ),
            ],
        ),
        SearchParam::new(
            "active",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Organization-active",
            &[Path::col("p.active", Stored::Bool)],
        ),
        SearchParam::new(
            "address",
            Kind::String,
            "http://hl7.org/fhir/SearchParameter/Organization-address",
            &[
                Path::child(ADDRESS_JOIN.0, ADDRESS_JOIN.1, "pa.name", Stored::Text),
                Path::child(ADDRESS_JOIN.0, ADDRESS_JOIN.1, "pa.street", Stored::Text),
                Path::child(ADDRESS_JOIN.0, ADDRESS_JOIN.1, "pa.city", Stored::Text),
                Path::child(
                    ADDRESS_JOIN.0,
                    ADDRESS_JOIN.1,
                    "pa.postal_code",
                    Stored::Text,
                ),
                Path::child(ADDRESS_JOIN.0, ADDRESS_JOIN.1, "asub.name", Stored::Text),
                Path::child(ADDRESS_JOIN.0, ADDRESS_JOIN.1, "ac.code", Stored::Text),
            ],
        ),
        SearchParam::new(
            "address-city",
            Kind::String,
            "http://hl7.org/fhir/SearchParameter/Organization-address-city",
            &[Path::child(
                ADDRESS_JOIN.0,
                ADDRESS_JOIN.1,
                "pa.city",
                Stored::Text,
            )],
        ),
        SearchParam::new(
            "address-postalcode",
            Kind::String,
            "http://hl7.org/fhir/SearchParameter/Organization-address-postalcode",
            &[Path::child(
                ADDRESS_JOIN.0,
                ADDRESS_JOIN.1,
                "pa.postal_code",
                Stored::Text,
            )],
        ),
        SearchParam::new(
            "address-state",
            Kind::String,
            "http://hl7.org/fhir/SearchParameter/Organization-address-state",
            &[Path::child(
                ADDRESS_JOIN.0,
                ADDRESS_JOIN.1,
                "asub.name",
                Stored::Text,
            )],
        ),
        SearchParam::new(
            "address-country",
            Kind::String,
            "http://hl7.org/fhir/SearchParameter/Organization-address-country",
            &[
                Path::child(ADDRESS_JOIN.0, ADDRESS_JOIN.1, "ac.code", Stored::Text),
                Path::child(ADDRESS_JOIN.0, ADDRESS_JOIN.1, "ac.name", Stored::Text),
            ],
        ),
    ],
    load,
    aliases: &[("gnuhealth.institution", "r"), ("party.party", "p")],
    // The party as for Patient (see there); the country and subdivision of an address are
    // part of the address rows. The `prov` type is constant: only the institution type's
    // coding and the texts go with `institution_type`.
    fields: &[
        FieldUse::new(
            "gnuhealth.institution",
            "code",
            &["identifier[system$=/sid/institution-code]"],
            &["identifier"],
        ),
        FieldUse::new(
            "gnuhealth.institution",
            "institution_type",
            &[
                "type.coding[system$=/CodeSystem/institution-type]",
                "type.text",
            ],
            &["type"],
        ),
        FieldUse::new(
            "party.party",
            "ref",
            &["identifier[system$=/sid/puid]"],
            &["identifier"],
        ),
        FieldUse::new(
            "party.party",
            "federation_account",
            &["identifier[system$=/sid/federation-account]"],
            &["identifier"],
        ),
        FieldUse::new(
            "party.party",
            "code",
            &["identifier[system$=/sid/party-code]"],
            &["identifier"],
        ),
        FieldUse::new("party.party", "name", &["name"], &["name"]),
        FieldUse::new("party.party", "active", &["active"], &["active"]),
        FieldUse::new("party.contact_mechanism", "", &["telecom", "contact"], &[]),
        FieldUse::new(
            "party.address",
            "",
            &["address"],
            &[
                "address",
                "address-city",
                "address-postalcode",
                "address-state",
                "address-country",
            ],
        ),
        FieldUse::new(
            "gnuhealth.person_alternative_identification",
            "",
            &[
                "identifier[system$=/sid/country-id]",
                "identifier[system$=/sid/passport]",
                "identifier[system$=/sid/medical-record]",
                "identifier[system$=/sid/federation-account]",
                "identifier[system$=/sid/other-id]",
            ],
            &["identifier"],
        ),
    ],
    count_from: None,
    id_rows: &[],
};

super::int_loader!(load_organizations);

/// `party IN (parties of these institutions)`.
const PARTIES: &str = "(SELECT party FROM gnuhealth_institution WHERE ";

async fn load_organizations(
    db: &Database,
    ctx: &Context,
    ids: &[i64],
) -> Result<Vec<Value>, DbError> {
    let mut main = db.sql();
    main.push(
        "SELECT r.id, p.active, p.id, r.code, p.ref, p.federation_account, p.code, p.name, \
         r.institution_type, COALESCE(r.write_date, r.create_date), \
         COALESCE(p.write_date, p.create_date) \
         FROM gnuhealth_institution r JOIN party_party p ON p.id = r.party WHERE ",
    )
    .in_ids("r.id", ids);
    let statements = [main, PersonChildren::statement(db, ids, PARTIES)];
    let (mut main_rows, children) = PersonChildren::read(db, &statements).await?;
    let rows = main_rows.pop().unwrap_or_default();

    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let c = children.of(row.int(2));
        let mut o = Organization {
            resource_type: "Organization",
            id: row.int(0).to_string(),
            active: Some(row.bool(1)),
            name: row.opt_text(7),
            ..Default::default()
        };
        let stamps = [row.opt_str(9), row.opt_str(10)]
            .into_iter()
            .chain(c.stamps.iter().map(|s| Some(s.as_str())));
        o.meta = meta(newest(stamps).as_deref());
        o.identifier = identifiers(ctx, row.opt_text(3), &row, 4, &c);
        o.type_ = org_types(ctx, row.opt_str(8));
        let (telecom, contacts) = c.telecoms();
        o.telecom = telecom.into_iter().map(work_contact_point).collect();
        // Emergency numbers of an institution are those of a contact person.
        o.contact = contacts
            .into_iter()
            .map(|pc| OrganizationContact {
                name: pc.name,
                telecom: pc.telecom.into_iter().map(work_contact_point).collect(),
            })
            .collect();
        o.address = c.addresses().into_iter().map(work_address).collect();
        out.push(to_json(&o)?);
    }
    Ok(out)
}

/// Institution code (official), then the party's identifiers as for a person (columns
/// `at`…`at + 2`: PUID `NP-…`, federation account, party code; alternative ids), all
/// secondary: the institution code is the one GNU Health requires and keeps unique.
fn identifiers(
    ctx: &Context,
    code: Option<String>,
    row: &Row,
    at: usize,
    c: &PartyChildren<'_>,
) -> Vec<Identifier> {
    let party = person_identifiers(ctx, row, at, c)
        .into_iter()
        .map(|i| Identifier {
            use_: Some("secondary"),
            ..i
        });
    code.map(|code| Identifier {
        use_: Some("official"),
        ..Identifier::new(ctx.system(INSTITUTION_SID), code)
    })
    .into_iter()
    .chain(party)
    .collect()
}

/// `prov` (every institution provides care), then GNU Health's own institution type.
fn org_types(ctx: &Context, institution_type: Option<&str>) -> Vec<CodeableConcept> {
    let mut types = vec![CodeableConcept::coded(
        ORGANIZATION_TYPE_SYSTEM,
        "prov",
        Some("Healthcare Provider".into()),
    )];
    if let Some(code) = institution_type {
        let label = INSTITUTION_TYPES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, l)| (*l).to_owned());
        types.push(CodeableConcept {
            coding: vec![Coding::new(
                &ctx.system(INSTITUTION_TYPE_SYSTEM),
                code,
                label.clone(),
            )],
            text: label,
        });
    }
    types
}

/// org-3: an organization's telecom is never `home`.
fn work_contact_point(cp: ContactPoint) -> ContactPoint {
    ContactPoint {
        use_: match cp.use_ {
            Some("home") => Some("work"),
            other => other,
        },
        ..cp
    }
}

/// org-2: an organization's address is never `home`.
fn work_address(a: Address) -> Address {
    Address {
        use_: Some("work"),
        ..a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context {
            base_url: "https://fhir.example.org/fhir".into(),
        }
    }

    #[test]
    fn field_uses() {
        crate::resources::patient::field_checks::check(&ORGANIZATION, &[]);
    }

    #[test]
    fn types() {
        let t = org_types(&ctx(), Some("hospital"));
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].coding[0].code.as_deref(), Some("prov"));
        assert_eq!(
            t[1].coding[0].system.as_deref(),
            Some("https://fhir.example.org/fhir/CodeSystem/institution-type")
        );
        assert_eq!(t[1].text.as_deref(), Some("General Hospital"));
        assert_eq!(org_types(&ctx(), None).len(), 1);
        // A code added locally keeps its code, without a label.
        let t = org_types(&ctx(), Some("mobile_unit"));
        assert_eq!(t[1].coding[0].code.as_deref(), Some("mobile_unit"));
        assert_eq!(t[1].text, None);
    }

    #[test]
    fn never_home() {
        let cp = work_contact_point(ContactPoint {
            system: Some("phone"),
            use_: Some("home"),
            ..Default::default()
        });
        assert_eq!(cp.use_, Some("work"));
        let cp = work_contact_point(ContactPoint {
            use_: Some("mobile"),
            ..Default::default()
        });
        assert_eq!(cp.use_, Some("mobile"));
        assert_eq!(work_address(Address::default()).use_, Some("work"));
    }
}
