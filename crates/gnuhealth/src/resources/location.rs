//! Location ← the places of an institution, five GNU Health tables sharing one id space
//! through prefixes: `bu-<id>` a building (`gnuhealth_hospital_building`), `unit-<id>` a
//! unit (`gnuhealth_hospital_unit`), `ward-<id>` a ward (`gnuhealth_hospital_ward`),
//! `bed-<id>` a bed (`gnuhealth_hospital_bed`, named by its product) and `or-<id>` an
//! operating room (`gnuhealth_hospital_or`). Each maps to name, code, description, state,
//! physical type, the institution (managingOrganization) and what it is part of (a bed its
//! ward; a ward or operating room its building, else its unit).
//!
//! Search and loading run over a UNION ALL of the five with a text key, so a page is one
//! query whatever its mix of kinds.

use fhir::datatypes::{CodeableConcept, Coding, ContactPoint, Identifier, Reference};
use fhir::resources::location::Location;
use serde_json::Value;

use super::{
    Context, FieldUse, Kind, LoadFuture, Path, ResourceDef, SearchParam, Stored, System, meta,
    to_json,
};
use crate::db::{Database, DbError, Param};

pub const STATUS_SYSTEM: &str = "http://hl7.org/fhir/location-status";
pub const PHYSICAL_TYPE_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/location-physical-type";
/// HL7 v2 table 0116 (bed status), R4's binding of `operationalStatus`.
pub const BED_STATUS_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v2-0116";
pub const ROLE_CODE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-RoleCode";
/// The codes of buildings and units (`gnuhealth_hospital_building.code`, `_unit.code`).
pub const LOCATION_SID: &str = "sid/location-code";
/// GNU Health's bed types (`gnuhealth_hospital_bed.bed_type`).
pub const BED_TYPE_SYSTEM: &str = "CodeSystem/bed-type";

/// `bed_type` codes and their GNU Health labels.
const BED_TYPES: &[(&str, &str)] = &[
    ("gatch", "Gatch Bed"),
    ("electric", "Electric"),
    ("stretcher", "Stretcher"),
    ("low", "Low Bed"),
    ("low_air_loss", "Low Air Loss"),
    ("circo_electric", "Circo Electric"),
    ("clinitron", "Clinitron"),
];

/// v2-0116 codes and displays of the bed and operating-room states that have one
/// (`reserved`, `scheduled` and `confirmed` have none: the place is still empty).
const OPERATIONAL: &[(&str, &str, &str)] = &[
    ("free", "U", "Unoccupied"),
    ("occupied", "O", "Occupied"),
    ("to_clean", "H", "Housekeeping"),
    ("na", "C", "Closed"),
];

/// A place whose state is "not available" (`na`) is suspended; every other one is active
/// (GNU Health has no inactive flag on these tables).
macro_rules! status_sql {
    ($state:literal) => {
        concat!(
            "(CASE WHEN ",
            $state,
            " = 'na' THEN 'suspended' ELSE 'active' END)"
        )
    };
}

/// [`OPERATIONAL`] in SQL (checked against it in the tests).
macro_rules! operational_sql {
    ($state:literal) => {
        concat!(
            "(CASE ",
            $state,
            " WHEN 'free' THEN 'U' WHEN 'occupied' THEN 'O' WHEN 'to_clean' THEN 'H' ",
            "WHEN 'na' THEN 'C' END)"
        )
    };
}

/// All places with what search and the loader need, keyed by the text FHIR id `r.fhir_id`.
/// `part_of` is the FHIR id of the containing place.
const FROM: &str = concat!(
    "(SELECT 'bu-' || CAST(b.id AS VARCHAR) AS fhir_id, 'bu' AS kind, ",
    "b.code AS code, b.name AS name, b.extra_info AS description, ",
    "b.institution AS institution, CAST(NULL AS VARCHAR) AS part_of, ",
    "CAST(NULL AS VARCHAR) AS state, 'active' AS status, ",
    "CAST(NULL AS VARCHAR) AS operational, CAST(NULL AS VARCHAR) AS type_code, ",
    "CAST(NULL AS VARCHAR) AS phone, COALESCE(b.write_date, b.create_date) AS stamp ",
    "FROM gnuhealth_hospital_building b ",
    "UNION ALL ",
    "SELECT 'unit-' || CAST(u.id AS VARCHAR), 'unit', u.code, u.name, u.extra_info, ",
    "u.institution, NULL, NULL, 'active', NULL, 'HU', NULL, ",
    "COALESCE(u.write_date, u.create_date) ",
    "FROM gnuhealth_hospital_unit u ",
    "UNION ALL ",
    "SELECT 'ward-' || CAST(w.id AS VARCHAR), 'ward', NULL, w.name, w.extra_info, ",
    "w.institution, COALESCE('bu-' || CAST(w.building AS VARCHAR), ",
    "'unit-' || CAST(w.unit AS VARCHAR)), w.state, ",
    status_sql!("w.state"),
    ", NULL, NULL, NULL, COALESCE(w.write_date, w.create_date) ",
    "FROM gnuhealth_hospital_ward w ",
    "UNION ALL ",
    "SELECT 'bed-' || CAST(bd.id AS VARCHAR), 'bed', NULL, bt.name, bd.extra_info, ",
    "bd.institution, 'ward-' || CAST(bd.ward AS VARCHAR), bd.state, ",
    status_sql!("bd.state"),
    ", ",
    operational_sql!("bd.state"),
    ", bd.bed_type, bd.telephone_number, COALESCE(bd.write_date, bd.create_date) ",
    "FROM gnuhealth_hospital_bed bd ",
    "LEFT JOIN product_product bp ON bp.id = bd.product ",
    "LEFT JOIN product_template bt ON bt.id = bp.template ",
    "UNION ALL ",
    "SELECT 'or-' || CAST(o.id AS VARCHAR), 'or', NULL, o.name, o.extra_info, ",
    "o.institution, COALESCE('bu-' || CAST(o.building AS VARCHAR), ",
    "'unit-' || CAST(o.unit AS VARCHAR)), o.state, ",
    status_sql!("o.state"),
    ", ",
    operational_sql!("o.state"),
    ", NULL, NULL, COALESCE(o.write_date, o.create_date) ",
    "FROM gnuhealth_hospital_or o) r"
);

/// The models of the five tables, in the order of the union.
const MODELS: &[&str] = &[
    "gnuhealth.hospital.building",
    "gnuhealth.hospital.unit",
    "gnuhealth.hospital.ward",
    "gnuhealth.hospital.bed",
    "gnuhealth.hospital.or",
];

pub static LOCATION: ResourceDef = ResourceDef {
    type_name: "Location",
    models: MODELS,
    from: FROM,
    filter: &[],
    key: "r.fhir_id",
    key_is_text: true,
    last_updated: "r.stamp",
    params: &[
        SearchParam::new(
            "identifier",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Location-identifier",
            &[Path::col(
                "r.code",
                Stored::Code(System::Local(LOCATION_SID)),
            )],
        ),
        SearchParam::new(
            "name",
            Kind::String,
            "http://hl7.org/fhir/SearchParameter/Location-name",
            &[Path::col("r.name", Stored::Text)],
        ),
        SearchParam::new(
            "type",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Location-type",
            &[
                Path::col("r.type_code", Stored::Code(System::Fixed(ROLE_CODE_SYSTEM)))
                    .when("r.kind = 'unit'"),
                Path::col("r.type_code", Stored::Code(System::Local(BED_TYPE_SYSTEM)))
                    .when("r.kind = 'bed'"),
            ],
        ),
        SearchParam::new(
            "status",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Location-status",
            &[Path::col(
                "r.status",
                Stored::Code(System::Fixed(STATUS_SYSTEM)),
            )],
        ),
        SearchParam::new(
            "operational-status",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Location-operational-status",
            &[Path::col(
                "r.operational",
                Stored::Code(System::Fixed(BED_STATUS_SYSTEM)),
            )],
        ),
        SearchParam::reference(
            "partof",
            "http://hl7.org/fhir/SearchParameter/Location-partof",
            &[Path::col("r.part_of", Stored::Text)],
            &["Location"],
        ),
        SearchParam::reference(
            "organization",
            "http://hl7.org/fhir/SearchParameter/Location-organization",
            &[Path::col("r.institution", Stored::Id)],
            &["Organization"],
        ),
    ],
    load,
    // Five tables under one union: no alias to put a rule on.
    aliases: &[],
    // One list for the five tables: an element is left out of every Location when one of
    // its sources is denied. The bed's name is its product's. A unit's type is constant (a
    // hospital unit), so `type` reads a field only for beds.
    fields: &[
        FieldUse::new(
            "gnuhealth.hospital.building",
            "code",
            &["identifier"],
            &["identifier"],
        ),
        FieldUse::new("gnuhealth.hospital.building", "name", &["name"], &["name"]),
        FieldUse::new(
            "gnuhealth.hospital.building",
            "extra_info",
            &["description"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.hospital.building",
            "institution",
            &["managingOrganization"],
            &["organization"],
        ),
        FieldUse::new(
            "gnuhealth.hospital.unit",
            "code",
            &["identifier"],
            &["identifier"],
        ),
        FieldUse::new("gnuhealth.hospital.unit", "name", &["name"], &["name"]),
        FieldUse::new(
            "gnuhealth.hospital.unit",
            "extra_info",
            &["description"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.hospital.unit",
            "institution",
            &["managingOrganization"],
            &["organization"],
        ),
        FieldUse::new("gnuhealth.hospital.ward", "name", &["name"], &["name"]),
        FieldUse::new(
            "gnuhealth.hospital.ward",
            "extra_info",
            &["description"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.hospital.ward",
            "institution",
            &["managingOrganization"],
            &["organization"],
        ),
        FieldUse::new("gnuhealth.hospital.ward", "state", &["status"], &["status"]),
        FieldUse::new(
            "gnuhealth.hospital.ward",
            "building",
            &["partOf"],
            &["partof"],
        ),
        FieldUse::new("gnuhealth.hospital.ward", "unit", &["partOf"], &["partof"]),
        FieldUse::new("gnuhealth.hospital.bed", "product", &["name"], &["name"]),
        FieldUse::new("product.template", "name", &["name"], &["name"]),
        FieldUse::new(
            "gnuhealth.hospital.bed",
            "extra_info",
            &["description"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.hospital.bed",
            "institution",
            &["managingOrganization"],
            &["organization"],
        ),
        FieldUse::new(
            "gnuhealth.hospital.bed",
            "state",
            &["status", "operationalStatus"],
            &["status", "operational-status"],
        ),
        FieldUse::new("gnuhealth.hospital.bed", "ward", &["partOf"], &["partof"]),
        FieldUse::new("gnuhealth.hospital.bed", "bed_type", &["type"], &["type"]),
        FieldUse::new(
            "gnuhealth.hospital.bed",
            "telephone_number",
            &["telecom"],
            &[],
        ),
        FieldUse::new("gnuhealth.hospital.or", "name", &["name"], &["name"]),
        FieldUse::new("gnuhealth.hospital.or", "extra_info", &["description"], &[]),
        FieldUse::new(
            "gnuhealth.hospital.or",
            "institution",
            &["managingOrganization"],
            &["organization"],
        ),
        FieldUse::new(
            "gnuhealth.hospital.or",
            "state",
            &["status", "operationalStatus"],
            &["status", "operational-status"],
        ),
        FieldUse::new(
            "gnuhealth.hospital.or",
            "building",
            &["partOf"],
            &["partof"],
        ),
        FieldUse::new("gnuhealth.hospital.or", "unit", &["partOf"], &["partof"]),
    ],
    count_from: None,
    id_rows: &[],
};

/// One query for any mix of kinds: the union filtered by its key.
fn load<'a>(db: &'a Database, ctx: &'a Context, ids: &'a [String]) -> LoadFuture<'a> {
    Box::pin(load_locations(db, ctx, ids))
}

async fn load_locations(
    db: &Database,
    ctx: &Context,
    ids: &[String],
) -> Result<Vec<Value>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = db.sql();
    sql.push(
        "SELECT r.fhir_id, r.kind, r.code, r.name, r.description, r.institution, r.part_of, \
         r.state, r.status, r.type_code, r.phone, r.stamp FROM ",
    )
    .push(FROM)
    .push(" WHERE r.fhir_id IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.param(Param::Text(id.clone()));
    }
    sql.push(")");
    let rows = db.query(&sql).await?;

    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(id) = row.opt_text(0) else { continue };
        let kind = row.opt_str(1).unwrap_or_default();
        let state = row.opt_str(7);
        let l = Location {
            resource_type: "Location",
            id,
            meta: meta(row.opt_str(11)),
            identifier: row
                .opt_text(2)
                .map(|code| Identifier::new(ctx.system(LOCATION_SID), code))
                .into_iter()
                .collect(),
            status: row.opt_str(8).and_then(status),
            operational_status: state
                .filter(|_| matches!(kind, "bed" | "or"))
                .and_then(operational_status),
            name: row.opt_text(3),
            description: row.opt_text(4),
            // Each row is one real place, not a kind of place.
            mode: Some("instance"),
            type_: location_type(ctx, kind, row.opt_str(9))
                .into_iter()
                .collect(),
            telecom: row
                .opt_text(10)
                .map(|phone| ContactPoint {
                    system: Some("phone"),
                    value: Some(phone),
                    use_: Some("work"),
                    ..Default::default()
                })
                .into_iter()
                .collect(),
            physical_type: physical_type(kind),
            managing_organization: row
                .opt_int(5)
                .map(|org| Reference::to("Organization", org, None)),
            part_of: row
                .opt_text(6)
                .map(|parent| Reference::to("Location", parent, None)),
            ..Default::default()
        };
        out.push(to_json(&l)?);
    }
    Ok(out)
}

/// The FHIR status as computed in SQL (`'static` for the struct).
fn status(s: &str) -> Option<&'static str> {
    ["active", "suspended", "inactive"]
        .into_iter()
        .find(|c| *c == s)
}

/// v2-0116 coding of a bed or operating-room state.
fn operational_status(state: &str) -> Option<Coding> {
    OPERATIONAL
        .iter()
        .find(|(s, _, _)| *s == state)
        .map(|(_, code, display)| Coding::new(BED_STATUS_SYSTEM, *code, Some((*display).into())))
}

/// A unit is a hospital unit (v3 RoleCode `HU`); a bed has GNU Health's bed type.
fn location_type(ctx: &Context, kind: &str, code: Option<&str>) -> Option<CodeableConcept> {
    match (kind, code) {
        ("unit", _) => Some(CodeableConcept::coded(
            ROLE_CODE_SYSTEM,
            "HU",
            Some("Hospital unit".into()),
        )),
        ("bed", Some(code)) => {
            let label = BED_TYPES
                .iter()
                .find(|(c, _)| *c == code)
                .map(|(_, l)| (*l).to_owned());
            Some(CodeableConcept {
                coding: vec![Coding::new(
                    &ctx.system(BED_TYPE_SYSTEM),
                    code,
                    label.clone(),
                )],
                text: label,
            })
        }
        _ => None,
    }
}

/// location-physical-type of each kind; a unit is an organisational unit, not a physical
/// place, so it has none.
fn physical_type(kind: &str) -> Option<CodeableConcept> {
    let (code, display) = match kind {
        "bu" => ("bu", "Building"),
        "ward" => ("wa", "Ward"),
        "bed" => ("bd", "Bed"),
        "or" => ("ro", "Room"),
        _ => return None,
    };
    Some(CodeableConcept::coded(
        PHYSICAL_TYPE_SYSTEM,
        code,
        Some(display.into()),
    ))
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
        crate::resources::patient::field_checks::check(&LOCATION, &[]);
    }

    #[test]
    fn operational_sql_matches_the_table() {
        let sql = operational_sql!("s");
        for (state, code, _) in OPERATIONAL {
            assert!(
                sql.contains(&format!("WHEN '{state}' THEN '{code}'")),
                "{state}"
            );
        }
        assert_eq!(sql.matches("WHEN").count(), OPERATIONAL.len());
        assert_eq!(
            operational_status("to_clean").and_then(|c| c.code),
            Some("H".into())
        );
        assert_eq!(operational_status("reserved"), None);
    }

    #[test]
    fn statuses() {
        assert_eq!(status("suspended"), Some("suspended"));
        assert_eq!(status("other"), None);
        assert!(status_sql!("s").contains("'na' THEN 'suspended'"));
    }

    #[test]
    fn types() {
        let t = location_type(&ctx(), "bed", Some("electric"));
        let t = t.as_ref();
        assert_eq!(
            t.and_then(|t| t.coding[0].system.as_deref()),
            Some("https://fhir.example.org/fhir/CodeSystem/bed-type")
        );
        assert_eq!(t.and_then(|t| t.text.as_deref()), Some("Electric"));
        assert_eq!(
            location_type(&ctx(), "unit", None).map(|t| t.coding[0].code.clone()),
            Some(Some("HU".into()))
        );
        assert_eq!(location_type(&ctx(), "ward", None), None);
        assert_eq!(
            physical_type("ward").and_then(|t| t.coding[0].code.clone()),
            Some("wa".into())
        );
        assert_eq!(physical_type("unit"), None);
    }

    #[test]
    fn ids_have_their_prefixes() {
        for prefix in ["'bu-'", "'unit-'", "'ward-'", "'bed-'", "'or-'"] {
            assert!(FROM.contains(prefix), "{prefix}");
        }
        assert_eq!(MODELS.len(), FROM.matches("UNION ALL").count() + 1);
    }
}
