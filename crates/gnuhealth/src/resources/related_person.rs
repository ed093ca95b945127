//! RelatedPerson ← `gnuhealth_family_member`: for each patient who belongs to a family
//! (`gnuhealth_family`), every other member of that family is a person related to that
//! patient, with id `<member row id>-<patient id>`. The person is the member's party:
//! identifier (PUID), names, telecoms, gender, birth date, home (DU) and other addresses,
//! as for Patient.
//!
//! Why families: they are the only place GNU Health records a relative as a person of
//! their own. Emergency contacts are a name in a contact mechanism's remarks (served as
//! `Patient.contact`), and `party_address.relative_id` is filled neither by GNU Health's
//! forms nor in the data we know.
//!
//! The member's `role` (free text: "Father", "Daughter", …) is its role in the family,
//! not towards each patient: the mother's partner is "Father" to her too. So every member
//! is a v3 `FAMMEMB` (family member) with the role as text, and where the two roles
//! settle it — a parent and a child, two children — the precise relation (`FTH`, `MTH`,
//! `SONC`, `DAUC`, `BRO`, `SIS`) comes as a second relationship.

use fhir::datatypes::{CodeableConcept, Coding, Identifier, Reference};
use fhir::resources::related_person::RelatedPerson;
use serde_json::Value;

use super::patient::{NAME_PATHS, PersonChildren, du_address, gender, person, person_fields, sid};
use super::{
    Context, FieldUse, Kind, LoadFuture, Path, ResourceDef, SearchParam, Stored, System, meta,
    to_json,
};
use crate::db::{Database, DbError, Param};
use crate::tryton::{fhir_date, newest};

pub const ROLE_CODE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-RoleCode";

/// The member `r` (its party `p`), and each patient `pt` whose party is another member
/// (`pm`, the first row of that party in the family) of the same family.
const FROM: &str = "gnuhealth_family_member r JOIN party_party p ON p.id = r.party \
     JOIN gnuhealth_family_member pm ON pm.family = r.family AND pm.party <> r.party \
     AND pm.id = (SELECT MIN(x.id) FROM gnuhealth_family_member x \
     WHERE x.family = pm.family AND x.party = pm.party) \
     JOIN gnuhealth_patient pt ON pt.party = pm.party";
const KEY: &str = "CAST(r.id AS VARCHAR) || '-' || CAST(pt.id AS VARCHAR)";

/// The relation the two family roles settle: the member's (`r.role`) towards the
/// patient's (`pm.role`). Mirrored by [`relation`] (checked in the tests).
const RELATION_SQL: &str = "(CASE \
     WHEN LOWER(TRIM(pm.role)) IN ('son', 'daughter') THEN CASE LOWER(TRIM(r.role)) \
     WHEN 'father' THEN 'FTH' WHEN 'mother' THEN 'MTH' WHEN 'son' THEN 'BRO' \
     WHEN 'daughter' THEN 'SIS' END \
     WHEN LOWER(TRIM(pm.role)) IN ('father', 'mother') THEN CASE LOWER(TRIM(r.role)) \
     WHEN 'son' THEN 'SONC' WHEN 'daughter' THEN 'DAUC' END END)";

/// v3-RoleCode displays of the relations.
const RELATIONS: &[(&str, &str)] = &[
    ("FTH", "father"),
    ("MTH", "mother"),
    ("SONC", "son"),
    ("DAUC", "daughter"),
    ("BRO", "brother"),
    ("SIS", "sister"),
];

pub static RELATED_PERSON: ResourceDef = ResourceDef {
    type_name: "RelatedPerson",
    models: &[
        "gnuhealth.family_member",
        "party.party",
        "gnuhealth.patient",
    ],
    from: FROM,
    filter: &[],
    key: KEY,
    key_is_text: true,
    last_updated: "COALESCE(r.write_date, r.create_date)",
    params: &[
        SearchParam::reference(
            "patient",
            "http://hl7.org/fhir/SearchParameter/RelatedPerson-patient",
            &[Path::col("pt.id", Stored::Id)],
            &["Patient"],
        ),
        SearchParam::new(
            "identifier",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/RelatedPerson-identifier",
            &[Path::col("p.ref", Stored::Code(System::Local(sid::PUID)))],
        ),
        SearchParam::new(
            "name",
            Kind::String,
            "http://hl7.org/fhir/SearchParameter/RelatedPerson-name",
            NAME_PATHS,
        ),
        SearchParam::new(
            "relationship",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/RelatedPerson-relationship",
            &[
                Path::col("'FAMMEMB'", Stored::Code(System::Fixed(ROLE_CODE_SYSTEM)))
                    .text("r.role"),
                Path::col(RELATION_SQL, Stored::Code(System::Fixed(ROLE_CODE_SYSTEM))),
            ],
        ),
        SearchParam::new(
            "birthdate",
            Kind::Date,
            "http://hl7.org/fhir/SearchParameter/individual-birthdate",
            &[Path::col("p.dob", Stored::Date)],
        ),
        SearchParam::new(
            "active",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/RelatedPerson-active",
            &[Path::col("p.active", Stored::Bool)],
        ),
        person::GENDER,
        person::TELECOM,
        person::PHONE,
        person::EMAIL,
        person::ADDRESS,
        person::ADDRESS_CITY,
        person::ADDRESS_POSTALCODE,
    ],
    load,
    aliases: &[
        ("gnuhealth.family_member", "r"),
        ("party.party", "p"),
        ("gnuhealth.patient", "pt"),
    ],
    // The person's elements are its party's, as for Patient; emergency contacts are
    // other people's numbers and are not sent.
    fields: &[
        FieldUse::required(
            "gnuhealth.family_member",
            "party",
            &[
                "identifier",
                "name",
                "telecom",
                "gender",
                "birthDate",
                "address",
                "active",
            ],
            &[
                "identifier",
                "name",
                "birthdate",
                "active",
                "gender",
                "telecom",
                "phone",
                "email",
                "address",
                "address-city",
                "address-postalcode",
            ],
        ),
        FieldUse::required(
            "gnuhealth.family_member",
            "family",
            &["patient", "relationship"],
            &["patient", "relationship"],
        ),
        FieldUse::new(
            "gnuhealth.family_member",
            "role",
            &["relationship"],
            &["relationship"],
        ),
        FieldUse::required("gnuhealth.patient", "party", &["patient"], &["patient"]),
        FieldUse::new("party.party", "ref", &["identifier"], &["identifier"]),
        FieldUse::new("party.party", "active", &["active"], &["active"]),
        FieldUse::new("party.party", "name", &["name.given"], &["name"]),
        FieldUse::new("party.party", "lastname", &["name.family"], &["name"]),
        FieldUse::new("party.party", "gender", &["gender"], &["gender"]),
        FieldUse::new("party.party", "dob", &["birthDate"], &["birthdate"]),
        person_fields::DU,
        person_fields::DU_ROWS,
        person_fields::ADDRESS_ROWS,
        FieldUse::new("gnuhealth.person_name", "", &["name"], &["name"]),
        FieldUse::new(
            "party.contact_mechanism",
            "",
            &["telecom"],
            &["telecom", "phone", "email"],
        ),
    ],
    count_from: None,
    id_rows: &[],
};

/// One query for the page's pairs, by the text key, then the members' parties' children.
fn load<'a>(db: &'a Database, ctx: &'a Context, ids: &'a [String]) -> LoadFuture<'a> {
    Box::pin(load_related(db, ctx, ids))
}

async fn load_related(db: &Database, ctx: &Context, ids: &[String]) -> Result<Vec<Value>, DbError> {
    // Only well-formed ids can exist; the member ids select the parties' children.
    let pairs: Vec<(&String, i64)> = ids
        .iter()
        .filter_map(|id| {
            let (member, patient) = id.split_once('-')?;
            patient.parse::<i64>().ok()?;
            Some((id, member.parse().ok()?))
        })
        .collect();
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let members: Vec<i64> = pairs.iter().map(|(_, m)| *m).collect();
    let mut sql = db.sql();
    sql.push("SELECT ")
        .push(KEY)
        .push(", p.id, p.ref, p.active, pt.id, r.role, ")
        .push(RELATION_SQL)
        .push(
            ", p.name, p.lastname, p.gender, p.dob, \
             du.address_street, du.address_street_number, du.address_street_bis, \
             du.address_district, du.address_municipality, du.address_city, du.address_zip, \
             sub.name, cc.code, du.latitude, du.longitude, \
             COALESCE(r.write_date, r.create_date), COALESCE(p.write_date, p.create_date) FROM ",
        )
        .push(FROM)
        .push(
            " LEFT JOIN gnuhealth_du du ON du.id = p.du \
             LEFT JOIN country_subdivision sub ON sub.id = du.address_subdivision \
             LEFT JOIN country_country cc ON cc.id = du.address_country WHERE ",
        )
        .in_ids("r.id", &members)
        .push(" AND ")
        .push(KEY)
        .push(" IN (");
    for (i, (id, _)) in pairs.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.param(Param::Text((*id).clone()));
    }
    sql.push(")");
    let statements = [
        sql,
        PersonChildren::statement(
            db,
            &members,
            "(SELECT party FROM gnuhealth_family_member WHERE ",
        ),
    ];
    let (mut main_rows, children) = PersonChildren::read(db, &statements).await?;
    let rows = main_rows.pop().unwrap_or_default();

    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(id) = row.opt_text(0) else { continue };
        let party = row.int(1);
        let kids = children.of(party);
        let mut address: Vec<_> = du_address(&row, 11).into_iter().collect();
        address.extend(kids.addresses());
        let stamps = [row.opt_str(22), row.opt_str(23)]
            .into_iter()
            .chain(kids.stamps.iter().map(|s| Some(s.as_str())));
        let mut relationship = vec![CodeableConcept {
            coding: vec![Coding::new(
                ROLE_CODE_SYSTEM,
                "FAMMEMB",
                Some("family member".into()),
            )],
            text: row.opt_text(5),
        }];
        relationship.extend(row.opt_str(6).and_then(relation));
        let r = RelatedPerson {
            resource_type: "RelatedPerson",
            id,
            meta: meta(newest(stamps).as_deref()),
            identifier: row
                .opt_text(2)
                .map(|puid| Identifier::new(ctx.system(sid::PUID), puid))
                .into_iter()
                .collect(),
            active: Some(row.bool(3)),
            patient: Reference::to("Patient", row.int(4), None),
            relationship,
            name: kids.names(row.opt_text(7), row.opt_text(8)),
            telecom: kids.telecoms().0,
            gender: row.opt_str(9).and_then(gender),
            birth_date: row.opt_str(10).and_then(fhir_date),
            address,
            ..Default::default()
        };
        out.push(to_json(&r)?);
    }
    Ok(out)
}

/// The v3-RoleCode concept of a relation computed by [`RELATION_SQL`].
fn relation(code: &str) -> Option<CodeableConcept> {
    let (code, display) = RELATIONS.iter().find(|(c, _)| *c == code)?;
    Some(CodeableConcept::coded(
        ROLE_CODE_SYSTEM,
        *code,
        Some((*display).to_owned()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_uses() {
        crate::resources::patient::field_checks::check(&RELATED_PERSON, &[]);
    }

    #[test]
    fn relations_match_the_sql() {
        for (code, _) in RELATIONS {
            assert!(RELATION_SQL.contains(&format!("THEN '{code}'")), "{code}");
            assert!(relation(code).is_some());
        }
        assert_eq!(RELATION_SQL.matches("THEN '").count(), RELATIONS.len());
        assert!(relation("FAMMEMB").is_none());
    }
}
