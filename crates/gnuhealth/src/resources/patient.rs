//! Patient ← `gnuhealth_patient` + its person party (`party_party`), with names
//! (`gnuhealth_person_name`), contact mechanisms, the domiciliary unit (home address),
//! other addresses, alternative identifiers and the preferred language.

use std::collections::HashMap;

use fhir::datatypes::{
    Address, Attachment, CodeableConcept, Coding, ContactPoint, Extension, ExtensionValue,
    HumanName, Identifier, Period, Reference,
};
use fhir::resources::patient::{Patient, PatientCommunication, PatientContact, PatientLink};
use serde_json::Value;

use super::{
    Context, FieldUse, Kind, Path, ResourceDef, SearchParam, Stored, System, meta, to_json,
};
use crate::db::{Database, DbError, Dialect, Row, Sql};
use crate::tryton::{fhir_date, fhir_datetime, newest};

pub const GENDER_SYSTEM: &str = "http://hl7.org/fhir/administrative-gender";

/// FHIR administrative gender ← `party_party.gender`.
pub const GENDERS: &[(&str, &[&str])] = &[
    ("male", &["m"]),
    ("female", &["f"]),
    ("other", &["nb", "other"]),
    ("unknown", &["nd", "u"]),
];

/// FHIR gender of a stored gender code.
pub fn gender(code: &str) -> Option<&'static str> {
    GENDERS
        .iter()
        .find(|(_, stored)| stored.contains(&code))
        .map(|(fhir, _)| *fhir)
}

/// Naming systems of GNU Health's person identifiers (under the server's base URL).
pub mod sid {
    pub const PUID: &str = "sid/puid";
    pub const FEDERATION: &str = "sid/federation-account";
    pub const PARTY_CODE: &str = "sid/party-code";
    /// `gnuhealth_person_alternative_identification.alternative_id_type` → (system, v2-0203 type).
    pub const ALTERNATIVE: &[(&str, &str, Option<&str>)] = &[
        ("country_id", "sid/country-id", Some("NI")),
        ("passport", "sid/passport", Some("PPN")),
        ("medical_record", "sid/medical-record", Some("MR")),
        ("ghealth_federation", "sid/federation-account", None),
        ("other", "sid/other-id", None),
    ];
}

pub(crate) const NAME_JOIN: (&str, &str) = ("gnuhealth_person_name n", "n.party = r.party");
/// The person's own party row as a child row: its name fields are then searched as
/// `r.party IN (SELECT pp.id …)`, like the person names, rather than on the joined `p`,
/// so a name search is only conditions on `r.party` and an index on the names (or the
/// party's names) can find the parties without reading every one.
pub(crate) const PARTY_JOIN: (&str, &str) = ("party_party pp", "pp.id = r.party");
/// A party's names (`name` searches): its person-name rows, then the party's own name
/// fields (a party without person names is searched by those).
pub(crate) const NAME_PATHS: &[Path] = &[
    Path::child(NAME_JOIN.0, NAME_JOIN.1, "n.family", Stored::Text),
    Path::child(NAME_JOIN.0, NAME_JOIN.1, "n.given", Stored::Words),
    Path::child(NAME_JOIN.0, NAME_JOIN.1, "n.prefix", Stored::Text),
    Path::child(NAME_JOIN.0, NAME_JOIN.1, "n.suffix", Stored::Text),
    Path::child(PARTY_JOIN.0, PARTY_JOIN.1, "pp.lastname", Stored::Text),
    Path::child(PARTY_JOIN.0, PARTY_JOIN.1, "pp.name", Stored::Words),
];
/// Emergency contacts are other people's numbers (emitted as `Patient.contact`), not the
/// person's own telecom.
pub(crate) const TELECOM_JOIN: (&str, &str) = (
    "party_contact_mechanism cm",
    "cm.party = r.party AND cm.active = TRUE AND (cm.emergency IS NULL OR cm.emergency = FALSE)",
);
pub(crate) const ALT_JOIN: (&str, &str) = (
    "gnuhealth_person_alternative_identification ai",
    "ai.party = r.party",
);
pub(crate) const DU_JOIN: (&str, &str) = ("gnuhealth_du du", "du.id = p.du");
pub(crate) const ADDRESS_JOIN: (&str, &str) = (
    "party_address pa",
    "pa.party = r.party AND pa.active = TRUE",
);

/// The identifier paths of a person party (`p`), shared with Practitioner.
#[macro_export]
macro_rules! person_identifier_paths {
    () => {
        &[
            Path::col("p.ref", Stored::Code(System::Local(sid::PUID))),
            Path::col(
                "p.federation_account",
                Stored::Code(System::Local(sid::FEDERATION)),
            ),
            Path::col("p.code", Stored::Code(System::Local(sid::PARTY_CODE))),
            Path::child(
                $crate::resources::patient::ALT_JOIN.0,
                $crate::resources::patient::ALT_JOIN.1,
                "ai.code",
                Stored::Code(System::Local("sid/country-id")),
            )
            .when("ai.alternative_id_type = 'country_id'"),
            Path::child(
                $crate::resources::patient::ALT_JOIN.0,
                $crate::resources::patient::ALT_JOIN.1,
                "ai.code",
                Stored::Code(System::Local("sid/passport")),
            )
            .when("ai.alternative_id_type = 'passport'"),
            Path::child(
                $crate::resources::patient::ALT_JOIN.0,
                $crate::resources::patient::ALT_JOIN.1,
                "ai.code",
                Stored::Code(System::Local("sid/medical-record")),
            )
            .when("ai.alternative_id_type = 'medical_record'"),
            Path::child(
                $crate::resources::patient::ALT_JOIN.0,
                $crate::resources::patient::ALT_JOIN.1,
                "ai.code",
                Stored::Code(System::Local(sid::FEDERATION)),
            )
            .when("ai.alternative_id_type = 'ghealth_federation'"),
            Path::child(
                $crate::resources::patient::ALT_JOIN.0,
                $crate::resources::patient::ALT_JOIN.1,
                "ai.code",
                Stored::Code(System::Local("sid/other-id")),
            )
            .when("(ai.alternative_id_type = 'other' OR ai.alternative_id_type IS NULL)"),
        ]
    };
}

/// The search parameters R4 defines once for Patient and Practitioner (`individual-*`),
/// over a person party (main row `r` with `r.party`, the party joined as `p`).
pub mod person {
    use super::{
        ADDRESS_JOIN, DU_JOIN, GENDER_SYSTEM, GENDERS, NAME_JOIN, PARTY_JOIN, TELECOM_JOIN,
    };
    use crate::resources::{Kind, Path, SearchParam, Stored, System};

    pub const FAMILY: SearchParam = SearchParam::new(
        "family",
        Kind::String,
        "http://hl7.org/fhir/SearchParameter/individual-family",
        &[
            Path::child(NAME_JOIN.0, NAME_JOIN.1, "n.family", Stored::Text),
            Path::child(PARTY_JOIN.0, PARTY_JOIN.1, "pp.lastname", Stored::Text),
        ],
    );

    pub const GIVEN: SearchParam = SearchParam::new(
        "given",
        Kind::String,
        "http://hl7.org/fhir/SearchParameter/individual-given",
        &[
            Path::child(NAME_JOIN.0, NAME_JOIN.1, "n.given", Stored::Words),
            Path::child(PARTY_JOIN.0, PARTY_JOIN.1, "pp.name", Stored::Words),
        ],
    );

    pub const GENDER: SearchParam = SearchParam::new(
        "gender",
        Kind::Token,
        "http://hl7.org/fhir/SearchParameter/individual-gender",
        &[Path::col(
            "p.gender",
            Stored::Mapped(System::Fixed(GENDER_SYSTEM), GENDERS),
        )],
    );

    pub const TELECOM: SearchParam = SearchParam::new(
        "telecom",
        Kind::Token,
        "http://hl7.org/fhir/SearchParameter/individual-telecom",
        &[
            Path::child(
                TELECOM_JOIN.0,
                TELECOM_JOIN.1,
                "cm.value",
                Stored::Code(System::Fixed("phone")),
            )
            .when("cm.type IN ('phone', 'mobile')"),
            Path::child(
                TELECOM_JOIN.0,
                TELECOM_JOIN.1,
                "cm.value",
                Stored::Code(System::Fixed("fax")),
            )
            .when("cm.type = 'fax'"),
            Path::child(
                TELECOM_JOIN.0,
                TELECOM_JOIN.1,
                "cm.value",
                Stored::Code(System::Fixed("email")),
            )
            .when("cm.type = 'email'"),
            Path::child(
                TELECOM_JOIN.0,
                TELECOM_JOIN.1,
                "cm.value",
                Stored::Code(System::Fixed("url")),
            )
            .when("cm.type = 'website'"),
            Path::child(
                TELECOM_JOIN.0,
                TELECOM_JOIN.1,
                "cm.value",
                Stored::Code(System::Fixed("other")),
            )
            .when("cm.type NOT IN ('phone', 'mobile', 'fax', 'email', 'website')"),
        ],
    );

    pub const PHONE: SearchParam = SearchParam::new(
        "phone",
        Kind::Token,
        "http://hl7.org/fhir/SearchParameter/individual-phone",
        &[
            Path::child(
                TELECOM_JOIN.0,
                TELECOM_JOIN.1,
                "cm.value",
                Stored::Code(System::None),
            )
            .when("cm.type IN ('phone', 'mobile')"),
            Path::child(
                TELECOM_JOIN.0,
                TELECOM_JOIN.1,
                "cm.value_compact",
                Stored::Code(System::None),
            )
            .when("cm.type IN ('phone', 'mobile')"),
        ],
    );

    pub const EMAIL: SearchParam = SearchParam::new(
        "email",
        Kind::Token,
        "http://hl7.org/fhir/SearchParameter/individual-email",
        &[Path::child(
            TELECOM_JOIN.0,
            TELECOM_JOIN.1,
            "cm.value",
            Stored::Code(System::None),
        )
        .when("cm.type = 'email'")],
    );

    pub const ADDRESS: SearchParam = SearchParam::new(
        "address",
        Kind::String,
        "http://hl7.org/fhir/SearchParameter/individual-address",
        &[
            Path::child(DU_JOIN.0, DU_JOIN.1, "du.address_street", Stored::Text),
            Path::child(DU_JOIN.0, DU_JOIN.1, "du.address_city", Stored::Text),
            Path::child(DU_JOIN.0, DU_JOIN.1, "du.address_district", Stored::Text),
            Path::child(DU_JOIN.0, DU_JOIN.1, "du.address_zip", Stored::Text),
            Path::child(ADDRESS_JOIN.0, ADDRESS_JOIN.1, "pa.street", Stored::Text),
            Path::child(ADDRESS_JOIN.0, ADDRESS_JOIN.1, "pa.city", Stored::Text),
            Path::child(
                ADDRESS_JOIN.0,
                ADDRESS_JOIN.1,
                "pa.postal_code",
                Stored::Text,
            ),
        ],
    );

    pub const ADDRESS_CITY: SearchParam = SearchParam::new(
        "address-city",
        Kind::String,
        "http://hl7.org/fhir/SearchParameter/individual-address-city",
        &[
            Path::child(DU_JOIN.0, DU_JOIN.1, "du.address_city", Stored::Text),
            Path::child(ADDRESS_JOIN.0, ADDRESS_JOIN.1, "pa.city", Stored::Text),
        ],
    );

    pub const ADDRESS_POSTALCODE: SearchParam = SearchParam::new(
        "address-postalcode",
        Kind::String,
        "http://hl7.org/fhir/SearchParameter/individual-address-postalcode",
        &[
            Path::child(DU_JOIN.0, DU_JOIN.1, "du.address_zip", Stored::Text),
            Path::child(
                ADDRESS_JOIN.0,
                ADDRESS_JOIN.1,
                "pa.postal_code",
                Stored::Text,
            ),
        ],
    );
}

/// A person type's search parameters: its own, then the shared [`person`] ones.
#[macro_export]
macro_rules! person_search_params {
    ($($own:expr),* $(,)?) => {
        &[$($own,)* $crate::resources::patient::person::FAMILY, $crate::resources::patient::person::GIVEN, $crate::resources::patient::person::GENDER, $crate::resources::patient::person::TELECOM, $crate::resources::patient::person::PHONE, $crate::resources::patient::person::EMAIL, $crate::resources::patient::person::ADDRESS, $crate::resources::patient::person::ADDRESS_CITY, $crate::resources::patient::person::ADDRESS_POSTALCODE]
    };
}

/// Where a person party's elements come from, for field access: shared by Patient and
/// Practitioner (each adds its own with [`person_field_uses!`]).
pub mod person_fields {
    use crate::resources::FieldUse;

    pub const REF: FieldUse = FieldUse::new(
        "party.party",
        "ref",
        &["identifier[system$=/sid/puid]"],
        &["identifier"],
    );

    pub const FEDERATION_ACCOUNT: FieldUse = FieldUse::new(
        "party.party",
        "federation_account",
        &["identifier[system$=/sid/federation-account]"],
        &["identifier"],
    );

    pub const CODE: FieldUse = FieldUse::new(
        "party.party",
        "code",
        &["identifier[system$=/sid/party-code]"],
        &["identifier"],
    );

    pub const ACTIVE: FieldUse = FieldUse::new("party.party", "active", &["active"], &["active"]);

    pub const NAME: FieldUse =
        FieldUse::new("party.party", "name", &["name.given"], &["given", "name"]);

    pub const LASTNAME: FieldUse = FieldUse::new(
        "party.party",
        "lastname",
        &["name.family"],
        &["family", "name"],
    );

    pub const GENDER: FieldUse = FieldUse::new("party.party", "gender", &["gender"], &["gender"]);

    pub const PHOTO: FieldUse = FieldUse::new("party.party", "photo", &["photo"], &[]);

    pub const DU: FieldUse = FieldUse::new(
        "party.party",
        "du",
        &["address[use=home]"],
        &["address", "address-city", "address-postalcode"],
    );

    pub const NAME_ROWS: FieldUse = FieldUse::new(
        "gnuhealth.person_name",
        "",
        &["name"],
        &["family", "given", "name"],
    );

    pub const DU_ROWS: FieldUse = FieldUse::new(
        "gnuhealth.du",
        "",
        &["address[use=home]"],
        &["address", "address-city", "address-postalcode"],
    );

    pub const ADDRESS_ROWS: FieldUse = FieldUse::new(
        "party.address",
        "",
        &["address"],
        &["address", "address-city", "address-postalcode"],
    );

    pub const ALTERNATIVE_ID_ROWS: FieldUse = FieldUse::new(
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
    );
}

/// A person type's field uses: its own, then the shared [`person_fields`] ones.
#[macro_export]
macro_rules! person_field_uses {
    ($($own:expr),* $(,)?) => {
        &[$($own,)* $crate::resources::patient::person_fields::REF, $crate::resources::patient::person_fields::FEDERATION_ACCOUNT, $crate::resources::patient::person_fields::CODE, $crate::resources::patient::person_fields::ACTIVE, $crate::resources::patient::person_fields::NAME, $crate::resources::patient::person_fields::LASTNAME, $crate::resources::patient::person_fields::GENDER, $crate::resources::patient::person_fields::PHOTO, $crate::resources::patient::person_fields::DU, $crate::resources::patient::person_fields::NAME_ROWS, $crate::resources::patient::person_fields::DU_ROWS, $crate::resources::patient::person_fields::ADDRESS_ROWS, $crate::resources::patient::person_fields::ALTERNATIVE_ID_ROWS]
    };
}

pub static PATIENT: ResourceDef = ResourceDef {
    type_name: "Patient",
    models: &["gnuhealth.patient", "party.party"],
    from: "gnuhealth_patient r JOIN party_party p ON p.id = r.party",
    filter: &[],
    key: "r.id",
    key_is_text: false,
    last_updated: "COALESCE(r.write_date, r.create_date)",
    params: crate::person_search_params![
        SearchParam::new(
            "identifier",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Patient-identifier",
            person_identifier_paths!()
        ),
        SearchParam::new(
            "name",
            Kind::String,
            "http://hl7.org/fhir/SearchParameter/Patient-name",
            NAME_PATHS
        ),
        SearchParam::new(
            "birthdate",
            Kind::Date,
            "http://hl7.org/fhir/SearchParameter/individual-birthdate",
            &[Path::col("p.dob", Stored::Date)]
        ),
        SearchParam::reference(
            "general-practitioner",
            "http://hl7.org/fhir/SearchParameter/Patient-general-practitioner",
            &[Path::col("r.primary_care_doctor", Stored::Id)],
            &["Practitioner"]
        ),
        SearchParam::new(
            "active",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Patient-active",
            &[Path::col("(r.active AND p.active)", Stored::Bool)]
        ),
        SearchParam::new(
            "deceased",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Patient-deceased",
            &[Path::col("p.deceased", Stored::Bool)]
        ),
    ],
    load,
    aliases: &[("gnuhealth.patient", "r"), ("party.party", "p")],
    // The person's own columns are `party.party` fields (as trytond stores them, not the
    // patient's function fields). The joined child tables count as whole models. Country,
    // subdivision, language and death-certificate values read through a many2one belong to
    // that field. The DU address and the party's own addresses can both be `home`, and the
    // party's and an alternative federation id share a system: hiding one hides both.
    fields: crate::person_field_uses![
        FieldUse::new("party.party", "dob", &["birthDate"], &["birthdate"]),
        FieldUse::new(
            "party.party",
            "deceased",
            &["deceasedBoolean"],
            &["deceased"],
        ),
        FieldUse::new("party.party", "dod", &["deceasedDateTime"], &[]),
        FieldUse::new(
            "party.party",
            "death_certificate",
            &["deceasedDateTime"],
            &[],
        ),
        FieldUse::new("party.party", "marital_status", &["maritalStatus"], &[]),
        FieldUse::new("party.party", "replaced_by", &["link"], &[]),
        FieldUse::new("gnuhealth.patient", "active", &["active"], &["active"]),
        FieldUse::new(
            "gnuhealth.patient",
            "biological_sex",
            &["extension[url=http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex]"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.patient",
            "primary_care_doctor",
            &["generalPractitioner"],
            &["general-practitioner"],
        ),
        FieldUse::new(
            "gnuhealth.death_certificate",
            "",
            &["deceasedDateTime"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.death_certificate",
            "dod",
            &["deceasedDateTime"],
            &[],
        ),
        FieldUse::new(
            "party.contact_mechanism",
            "",
            &["telecom", "contact"],
            &["telecom", "phone", "email"],
        ),
        FieldUse::new("party.party.lang", "", &["communication"], &[]),
    ],
    count_from: None,
    id_rows: &[],
};

super::int_loader!(load_patients);

/// `party IN (parties of these patients)`, so every child query can run at once.
const PARTIES: &str = "(SELECT party FROM gnuhealth_patient WHERE ";

/// The statements a read of these patients runs, in one read: the main rows, then the
/// party's child tables ([`PersonChildren`]). Public so benchmarks can run exactly them.
pub fn read_statements(db: &Database, ids: &[i64]) -> Vec<Sql> {
    let mut main = db.sql();
    main.push(
        "SELECT r.id, r.active, p.active, p.id, p.ref, p.federation_account, p.code, \
         p.gender, r.biological_sex, p.dob, p.marital_status, p.deceased, dc.dod, \
         r.primary_care_doctor, COALESCE(r.write_date, r.create_date), \
         COALESCE(p.write_date, p.create_date), p.photo, \
         du.address_street, du.address_street_number, du.address_street_bis, \
         du.address_district, du.address_municipality, du.address_city, du.address_zip, \
         sub.name, cc.code, du.latitude, du.longitude, \
         CASE WHEN p.replaced_by IS NOT NULL THEN \
         (SELECT rp.id FROM gnuhealth_patient rp WHERE rp.party = p.replaced_by) END, \
         p.name, p.lastname, p.name_representation \
         FROM gnuhealth_patient r JOIN party_party p ON p.id = r.party \
         LEFT JOIN gnuhealth_death_certificate dc ON dc.id = p.death_certificate \
         LEFT JOIN gnuhealth_du du ON du.id = p.du \
         LEFT JOIN country_subdivision sub ON sub.id = du.address_subdivision \
         LEFT JOIN country_country cc ON cc.id = du.address_country WHERE ",
    )
    .in_ids("r.id", ids);
    vec![main, PersonChildren::statement(db, ids, PARTIES)]
}

async fn load_patients(db: &Database, ctx: &Context, ids: &[i64]) -> Result<Vec<Value>, DbError> {
    let (mut main, children) = PersonChildren::read(db, &read_statements(db, ids)).await?;
    let rows = main.pop().unwrap_or_default();

    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let party = row.int(3);
        let c = children.of(party);
        let mut patient = Patient {
            resource_type: "Patient",
            id: row.int(0).to_string(),
            active: Some(row.bool(1) && row.bool(2)),
            ..Default::default()
        };
        let stamps = [row.opt_str(14), row.opt_str(15)];
        patient.meta = meta(
            newest(
                stamps
                    .into_iter()
                    .chain(c.stamps.iter().map(|s| Some(s.as_str()))),
            )
            .as_deref(),
        );
        if let Some(code) = row.opt_str(8) {
            patient.extension.push(Extension::new(
                "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex",
                ExtensionValue::Code(code.to_uppercase()),
            ));
        }
        patient.identifier = person_identifiers(ctx, &row, 4, &c);
        patient.name = c.names(row.opt_text(29), row.opt_text(30));
        let (telecom, contacts) = c.telecoms();
        patient.telecom = telecom;
        patient.contact = contacts;
        patient.gender = row.opt_str(7).and_then(gender);
        patient.birth_date = row.opt_str(9).and_then(fhir_date);
        match row.opt_str(12).and_then(fhir_datetime) {
            Some(dod) => patient.deceased_date_time = Some(dod),
            None => patient.deceased_boolean = Some(row.bool(11)),
        }
        if let Some(home) = du_address(&row, 17) {
            patient.address.push(home);
        }
        patient.address.extend(c.addresses());
        patient.marital_status = row.opt_str(10).and_then(marital_status);
        patient.photo = row.bytes(16).map(photo).into_iter().collect();
        patient.communication = c.communication();
        if let Some(gp) = row.opt_int(13) {
            patient
                .general_practitioner
                .push(Reference::to("Practitioner", gp, None));
        }
        if let Some(other) = row.opt_int(28) {
            patient.link.push(PatientLink {
                other: Reference::to("Patient", other, None),
                type_: "replaced-by",
            });
        }
        out.push(to_json(&patient)?);
    }
    Ok(out)
}

/// The PUID, federation account and party code of a person party (columns `at`, `at+1`,
/// `at+2` of `row`), then its alternative identifiers.
pub(crate) fn person_identifiers(
    ctx: &Context,
    row: &Row,
    at: usize,
    c: &PartyChildren<'_>,
) -> Vec<Identifier> {
    let mut ids = Vec::new();
    if let Some(puid) = row.opt_text(at) {
        ids.push(Identifier {
            use_: Some("official"),
            ..Identifier::new(ctx.system(sid::PUID), puid)
        });
    }
    if let Some(fed) = row.opt_text(at + 1) {
        ids.push(Identifier {
            use_: Some("secondary"),
            ..Identifier::new(ctx.system(sid::FEDERATION), fed)
        });
    }
    if let Some(code) = row.opt_text(at + 2) {
        ids.push(Identifier {
            use_: Some("secondary"),
            ..Identifier::new(ctx.system(sid::PARTY_CODE), code)
        });
    }
    ids.extend(c.alternative_ids(ctx));
    ids
}

/// Home address from the domiciliary unit columns starting at `at`:
/// street, number, bis, district, municipality, city, zip, subdivision, country, lat, long.
pub(crate) fn du_address(row: &Row, at: usize) -> Option<Address> {
    let street = [row.opt_text(at), row.opt_text(at + 1)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let mut line = Vec::new();
    if !street.is_empty() {
        line.push(street);
    }
    line.extend(row.opt_text(at + 2));
    let mut a = Address {
        use_: Some("home"),
        line,
        district: row.opt_text(at + 3).or(row.opt_text(at + 4)),
        city: row.opt_text(at + 5),
        postal_code: row.opt_text(at + 6),
        state: row.opt_text(at + 7),
        country: row.opt_text(at + 8),
        ..Default::default()
    };
    if let (Some(lat), Some(lon)) = (row.opt_float(at + 9), row.opt_float(at + 10)) {
        a.extension.push(Extension::new(
            "http://hl7.org/fhir/StructureDefinition/geolocation",
            ExtensionValue::Extensions(vec![
                Extension::new("latitude", ExtensionValue::Decimal(lat)),
                Extension::new("longitude", ExtensionValue::Decimal(lon)),
            ]),
        ));
    }
    let empty = a.line.is_empty() && a.city.is_none() && a.postal_code.is_none();
    (!empty || !a.extension.is_empty()).then_some(a)
}

fn marital_status(code: &str) -> Option<CodeableConcept> {
    let (c, display) = match code {
        "s" => ("S", "Never Married"),
        "m" => ("M", "Married"),
        "c" => ("T", "Domestic partner"),
        "w" => ("W", "Widowed"),
        "d" => ("D", "Divorced"),
        "x" => ("L", "Legally Separated"),
        _ => return None,
    };
    Some(CodeableConcept::coded(
        "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus",
        c,
        Some(display.to_owned()),
    ))
}

/// An inline photo; the content type is sniffed (GNU Health keeps the uploaded format).
pub(crate) fn photo(bytes: &[u8]) -> Attachment {
    use base64::Engine;
    let content_type = if bytes.starts_with(b"\x89PNG") {
        "image/png"
    } else if bytes.starts_with(&[0xFF, 0xD8]) {
        "image/jpeg"
    } else if bytes.starts_with(b"GIF8") {
        "image/gif"
    } else {
        "application/octet-stream"
    };
    Attachment {
        content_type: Some(content_type.to_owned()),
        data: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
        size: u32::try_from(bytes.len()).ok(),
        ..Default::default()
    }
}

/// The child rows of a page of person parties, read in one statement
/// ([`PersonChildren::statement`]).
#[derive(Default)]
pub(crate) struct PersonChildren {
    names: HashMap<i64, Vec<Row>>,
    telecoms: HashMap<i64, Vec<Row>>,
    addresses: HashMap<i64, Vec<Row>>,
    alt_ids: HashMap<i64, Vec<Row>>,
    langs: HashMap<i64, Vec<Row>>,
}

/// The children of one party.
pub(crate) struct PartyChildren<'a> {
    names: &'a [Row],
    telecoms: &'a [Row],
    addresses: &'a [Row],
    alt_ids: &'a [Row],
    langs: &'a [Row],
    pub stamps: Vec<String>,
}

/// The columns of [`PersonChildren::statement`]: the party, which child table
/// ([`NAME`]…), six texts, a flag, two dates, the row's last change, three order keys
/// (from [`ORDER`] on). What each holds per table is named by the constants below.
mod child {
    pub const KIND: usize = 1;
    pub const T1: usize = 2;
    pub const T2: usize = 3;
    pub const T3: usize = 4;
    pub const T4: usize = 5;
    pub const T5: usize = 6;
    pub const T6: usize = 7;
    pub const FLAG: usize = 8;
    pub const DATE1: usize = 9;
    pub const DATE2: usize = 10;
    pub const STAMP: usize = 11;
    pub const ORDER: usize = 12;
    pub const NAME: i64 = 0;
    pub const TELECOM: i64 = 1;
    pub const ADDRESS: i64 = 2;
    pub const ALT_ID: i64 = 3;
    pub const LANG: i64 = 4;
}

impl PersonChildren {
    /// The statement reading the children of the parties selected by `parties_of` +
    /// `id IN ids` + `)`, e.g. `(SELECT party FROM gnuhealth_patient WHERE ` for patient
    /// ids: names, telecoms, addresses, other identifiers and languages, as one UNION ALL
    /// in the [`child`] columns. One statement, not five: a read's statements are most of
    /// its cost. Unordered: [`PersonChildren::read`] orders each party's rows by their
    /// keys. (An ORDER BY over the union made PostgreSQL merge whole indexes in party
    /// order: 10 ms for the practitioners of one `$everything` page at 100k patients.)
    pub(crate) fn statement(db: &Database, ids: &[i64], parties_of: &str) -> Sql {
        let mut s = db.sql();
        let branches: [&str; 5] = [
            "SELECT n.party, 0, n.use, n.prefix, n.given, n.family, n.suffix, \
             CAST(NULL AS VARCHAR), CAST(NULL AS BOOLEAN), n.date_from, n.date_to, \
             COALESCE(n.write_date, n.create_date), \
             CASE WHEN n.use = 'official' THEN 0 ELSE 1 END, n.id, 0 \
             FROM gnuhealth_person_name n WHERE n.party",
            "SELECT cm.party, 1, cm.type, cm.value, cm.remarks, cm.name, NULL, NULL, \
             cm.emergency, NULL, NULL, COALESCE(cm.write_date, cm.create_date), \
             CASE WHEN cm.sequence IS NOT NULL THEN 1 ELSE 0 END, cm.sequence, cm.id \
             FROM party_contact_mechanism cm WHERE cm.active = TRUE AND cm.party",
            "SELECT pa.party, 2, pa.name, pa.street, pa.postal_code, pa.city, c.code, \
             s.name, pa.is_work, NULL, NULL, COALESCE(pa.write_date, pa.create_date), \
             CASE WHEN pa.sequence IS NOT NULL THEN 1 ELSE 0 END, pa.sequence, pa.id \
             FROM party_address pa LEFT JOIN country_country c ON c.id = pa.country \
             LEFT JOIN country_subdivision s ON s.id = pa.subdivision \
             WHERE pa.active = TRUE \
             AND COALESCE(pa.street, pa.city, pa.postal_code, pa.name) IS NOT NULL AND pa.party",
            "SELECT ai.party, 3, ai.alternative_id_type, ai.other_alternative_id_type, \
             ai.code, NULL, NULL, NULL, NULL, ai.expiration_date, NULL, \
             COALESCE(ai.write_date, ai.create_date), ai.id, 0, 0 \
             FROM gnuhealth_person_alternative_identification ai WHERE ai.party",
            "SELECT pl.party, 4, l.code, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
             NULL, CASE WHEN pl.company IS NULL THEN 1 ELSE 0 END, pl.id, 0 \
             FROM party_party_lang pl JOIN ir_lang l ON l.id = pl.lang WHERE pl.party",
        ];
        for (i, select) in branches.into_iter().enumerate() {
            if i > 0 {
                s.push(" UNION ALL ");
            }
            // One party: a scalar sub-select, no temporary index of a list. Several, on
            // PostgreSQL: an array of them, looked up in the party index. (As a semi-join,
            // PostgreSQL misjudged how few addresses are not the empty one every party
            // gets, and merged the whole address index: 10 ms at 100k patients.)
            let (open, close) = match (ids.len(), s.dialect()) {
                (1, _) => (" = ", ")"),
                (_, Dialect::Postgres) => (" = ANY(ARRAY", "))"),
                (_, Dialect::Sqlite) => (" IN ", ")"),
            };
            s.push(select).push(open).push(parties_of).in_ids("id", ids);
            s.push(close);
        }
        s
    }

    /// Run `statements`: the caller's own first (the main rows, whose rows come back in
    /// order), then [`PersonChildren::statement`], all in one read.
    pub(crate) async fn read(
        db: &Database,
        statements: &[Sql],
    ) -> Result<(Vec<Vec<Row>>, PersonChildren), DbError> {
        let refs: Vec<&Sql> = statements.iter().collect();
        let mut rows = db.query_all(&refs).await?;
        let children = rows.pop().ok_or_else(|| {
            DbError::Query("a person's child tables: wrong number of results".into())
        })?;
        let mut out = PersonChildren::default();
        for row in children {
            let table = match row.int(child::KIND) {
                child::NAME => &mut out.names,
                child::TELECOM => &mut out.telecoms,
                child::ADDRESS => &mut out.addresses,
                child::ALT_ID => &mut out.alt_ids,
                child::LANG => &mut out.langs,
                _ => continue,
            };
            table.entry(row.int(0)).or_default().push(row);
        }
        for table in [
            &mut out.names,
            &mut out.telecoms,
            &mut out.addresses,
            &mut out.alt_ids,
            &mut out.langs,
        ] {
            for rows in table.values_mut() {
                rows.sort_by_key(|r| {
                    (
                        r.int(child::ORDER),
                        r.opt_int(child::ORDER + 1),
                        r.int(child::ORDER + 2),
                    )
                });
            }
        }
        Ok((rows, out))
    }

    pub(crate) fn of(&self, party: i64) -> PartyChildren<'_> {
        fn get(m: &HashMap<i64, Vec<Row>>, party: i64) -> &[Row] {
            m.get(&party).map(Vec::as_slice).unwrap_or(&[])
        }
        let names = get(&self.names, party);
        let telecoms = get(&self.telecoms, party);
        let addresses = get(&self.addresses, party);
        let alt_ids = get(&self.alt_ids, party);
        let stamps = [names, telecoms, addresses, alt_ids]
            .into_iter()
            .flatten()
            .filter_map(|r| r.opt_text(child::STAMP))
            .collect();
        PartyChildren {
            names,
            telecoms,
            addresses,
            alt_ids,
            langs: get(&self.langs, party),
            stamps,
        }
    }
}

impl PartyChildren<'_> {
    /// `HumanName`s, official first; the party's own name/lastname when it has none.
    pub(crate) fn names(&self, given: Option<String>, family: Option<String>) -> Vec<HumanName> {
        if self.names.is_empty() {
            if given.is_none() && family.is_none() {
                return Vec::new();
            }
            return vec![HumanName {
                use_: Some("official".into()),
                family,
                given: given
                    .map(|g| g.split_whitespace().map(str::to_owned).collect())
                    .unwrap_or_default(),
                ..Default::default()
            }];
        }
        self.names
            .iter()
            .map(|n| HumanName {
                use_: n.opt_text(child::T1),
                family: n.opt_text(child::T4),
                given: n
                    .opt_str(child::T3)
                    .map(|g| g.split_whitespace().map(str::to_owned).collect())
                    .unwrap_or_default(),
                prefix: n.opt_text(child::T2).into_iter().collect(),
                suffix: n.opt_text(child::T5).into_iter().collect(),
                period: Period::from(
                    n.opt_str(child::DATE1).and_then(fhir_date),
                    n.opt_str(child::DATE2).and_then(fhir_date),
                ),
                ..Default::default()
            })
            .collect()
    }

    /// Contact points, and emergency contacts (GNU Health keeps the contact's name in
    /// `remarks`) as `Patient.contact`.
    pub(crate) fn telecoms(&self) -> (Vec<ContactPoint>, Vec<PatientContact>) {
        let mut telecom = Vec::new();
        let mut contacts = Vec::new();
        for (rank, t) in self.telecoms.iter().enumerate() {
            let (system, use_) = match t.opt_str(child::T1).unwrap_or("other") {
                "phone" => ("phone", Some("home")),
                "mobile" => ("phone", Some("mobile")),
                "fax" => ("fax", None),
                "email" => ("email", None),
                "website" => ("url", None),
                _ => ("other", None),
            };
            let cp = ContactPoint {
                system: Some(system),
                value: t.opt_text(child::T2),
                use_,
                rank: u32::try_from(rank + 1).ok(),
                period: None,
            };
            if t.bool(child::FLAG) {
                contacts.push(PatientContact {
                    relationship: vec![CodeableConcept::coded(
                        "http://terminology.hl7.org/CodeSystem/v2-0131",
                        "C",
                        Some("Emergency Contact".into()),
                    )],
                    name: t
                        .opt_text(child::T3)
                        .or(t.opt_text(child::T4))
                        .map(|text| HumanName {
                            text: Some(text),
                            ..Default::default()
                        }),
                    telecom: vec![ContactPoint { rank: None, ..cp }],
                    ..Default::default()
                });
            } else {
                telecom.push(cp);
            }
        }
        (telecom, contacts)
    }

    /// `party_address` rows (the empty row every party gets is already filtered out).
    pub(crate) fn addresses(&self) -> Vec<Address> {
        self.addresses
            .iter()
            .map(|a| Address {
                use_: Some(if a.bool(child::FLAG) { "work" } else { "home" }),
                text: a.opt_text(child::T1),
                line: a
                    .opt_str(child::T2)
                    .map(|s| {
                        s.lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
                postal_code: a.opt_text(child::T3),
                city: a.opt_text(child::T4),
                country: a.opt_text(child::T5),
                state: a.opt_text(child::T6),
                ..Default::default()
            })
            .collect()
    }

    pub(crate) fn alternative_ids(&self, ctx: &Context) -> Vec<Identifier> {
        self.alt_ids
            .iter()
            .filter_map(|a| {
                let kind = a.opt_str(child::T1).unwrap_or("other");
                let (_, system, v2) = sid::ALTERNATIVE
                    .iter()
                    .find(|(k, _, _)| *k == kind)
                    .copied()
                    .unwrap_or(("other", "sid/other-id", None));
                let type_ = match v2 {
                    Some(code) => Some(CodeableConcept {
                        coding: vec![Coding::new(
                            "http://terminology.hl7.org/CodeSystem/v2-0203",
                            code,
                            None,
                        )],
                        text: a.opt_text(child::T2),
                    }),
                    None => a.opt_text(child::T2).map(CodeableConcept::text),
                };
                Some(Identifier {
                    use_: Some("secondary"),
                    type_,
                    period: Period::from(None, a.opt_str(child::DATE1).and_then(fhir_date)),
                    ..Identifier::new(ctx.system(system), a.opt_text(child::T3)?)
                })
            })
            .collect()
    }

    /// Preferred language (Tryton's `es_419` → BCP-47 `es-419`).
    pub(crate) fn communication(&self) -> Vec<PatientCommunication> {
        self.langs
            .first()
            .and_then(|l| l.opt_str(child::T1))
            .map(|code| PatientCommunication {
                language: CodeableConcept::coded("urn:ietf:bcp:47", code.replace('_', "-"), None),
                preferred: Some(true),
            })
            .into_iter()
            .collect()
    }
}

/// Checks of the `fields` of every resource type, shared by the modules' tests.
#[cfg(test)]
pub(crate) mod field_checks {
    use crate::resources::ResourceDef;

    /// The Tryton models (GNU Health 5.0 `ir_model.model`) whose fields or rows the served
    /// types read.
    pub(crate) const TRYTON_MODELS: &[&str] = &[
        "party.party",
        "party.address",
        "party.contact_mechanism",
        "party.party.lang",
        "product.product",
        "product.template",
        "ir.attachment",
        "gnuhealth.patient",
        "gnuhealth.person_name",
        "gnuhealth.person_alternative_identification",
        "gnuhealth.du",
        "gnuhealth.death_certificate",
        "gnuhealth.prescription.order",
        "gnuhealth.healthprofessional",
        "gnuhealth.hp_specialty",
        "gnuhealth.institution",
        "gnuhealth.hospital.building",
        "gnuhealth.hospital.unit",
        "gnuhealth.hospital.ward",
        "gnuhealth.hospital.bed",
        "gnuhealth.hospital.or",
        "gnuhealth.patient.disease",
        "gnuhealth.lab",
        "gnuhealth.lab.test.critearea",
        "gnuhealth.patient.lab.test",
        "gnuhealth.surgery",
        "gnuhealth.surgery_team",
        "gnuhealth.surgery.complication",
        "gnuhealth.operation",
        "gnuhealth.patient.procedure",
        "gnuhealth.patient.family.diseases",
        "gnuhealth.medicament",
        "gnuhealth.patient.medication",
        "gnuhealth.prescription.line",
        "gnuhealth.vaccination",
        "gnuhealth.patient.evaluation",
        "gnuhealth.inpatient.registration",
        "gnuhealth.patient.ambulatory_care",
        "gnuhealth.patient.rounding",
        "gnuhealth.secondary_condition",
        "gnuhealth.diagnostic_hypothesis",
        "gnuhealth.appointment",
        "gnuhealth.insurance",
        "gnuhealth.family_member",
    ];

    fn is_name(s: &str) -> bool {
        !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    }

    /// `a.b`, each step a name optionally filtered by `[k=v]` or `[k$=v]`.
    fn is_path(path: &str) -> bool {
        // A filter value may hold dots (URLs): split on the dots outside brackets.
        let mut steps = Vec::new();
        let (mut depth, mut start) = (0usize, 0usize);
        for (i, c) in path.char_indices() {
            match c {
                '[' => depth += 1,
                ']' => depth = depth.saturating_sub(1),
                '.' if depth == 0 => {
                    steps.push(&path[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        steps.push(&path[start..]);
        steps.iter().all(|step| match step.split_once('[') {
            None => is_name(step),
            Some((key, filter)) => {
                let Some(filter) = filter.strip_suffix(']') else {
                    return false;
                };
                let (k, v) = match (filter.split_once("$="), filter.split_once("^=")) {
                    (Some(kv), _) | (None, Some(kv)) => kv,
                    (None, None) => filter.split_once('=').unwrap_or(("", "")),
                };
                is_name(key) && k.split('.').all(is_name) && !v.is_empty()
            }
        })
    }

    /// Every use of `def` names a known model, a field spelled as Tryton spells it, at
    /// least one well-formed element path, and only parameters `def` has; every parameter
    /// of `def` but `constant` (those reading no field) is refused with some use.
    pub(crate) fn check(def: &ResourceDef, constant: &[&str]) {
        let t = def.type_name;
        assert!(!def.fields.is_empty(), "{t} has no field uses");
        for u in def.fields {
            let what = format!("{t}: {}.{}", u.model, u.field);
            assert!(TRYTON_MODELS.contains(&u.model), "{what}: unknown model");
            assert!(u.field.is_empty() || is_name(u.field), "{what}: field name");
            // A use that hides rows has no elements of its own.
            assert!(
                u.elements.is_empty() == u.rows.is_some(),
                "{what}: elements or rows"
            );
            for e in u.elements {
                assert!(is_path(e), "{what}: element path {e}");
            }
            for p in u.params {
                assert!(
                    *p == "_id" || def.params.iter().any(|sp| sp.name == *p),
                    "{what}: {t} has no search parameter {p}"
                );
            }
        }
        for sp in def.params {
            let used = def.fields.iter().any(|u| u.params.contains(&sp.name));
            assert!(
                used != constant.contains(&sp.name),
                "{t}: parameter {} is {} a field use",
                sp.name,
                if used { "constant but in" } else { "in no" }
            );
        }
        // Each main model of the type is read somewhere.
        for m in def.models {
            assert!(
                def.fields.iter().any(|u| u.model == *m),
                "{t}: no use of {m}"
            );
        }
    }

    #[test]
    fn paths_are_checked() {
        assert!(is_path("birthDate"));
        assert!(is_path("extension[url=http://a.b/c].extension[url=start]"));
        assert!(is_path("identifier[system$=/sid/puid]"));
        assert!(is_path("participant[actor.reference^=Patient/]"));
        assert!(!is_path("identifier[system$=/sid/puid"));
        assert!(!is_path("a..b"));
        assert!(!is_path("a[=x]"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_uses() {
        field_checks::check(&PATIENT, &[]);
    }
}
