//! FamilyMemberHistory ← `gnuhealth_patient_family_diseases`: one resource per row, i.e. one
//! ICD-10 disease of one relative. The relationship is the v3 RoleCode of `relative` on the
//! side given by `xory` (maternal/paternal); the relative's sex follows from `relative`.

use fhir::datatypes::CodeableConcept;
use fhir::resources::family_member_history::{FamilyMemberHistory, FamilyMemberHistoryCondition};
use serde_json::Value;

use super::condition::icd10;
use super::patient::GENDER_SYSTEM;
use super::{
    Cond, Context, FieldUse, Kind, Path, ResourceDef, SearchParam, Stored, System, meta, to_json,
};
use crate::db::{Database, DbError};
use crate::tryton::fhir_datetime;

pub const ROLE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-RoleCode";
pub const STATUS_SYSTEM: &str = "http://hl7.org/fhir/history-status";

/// RoleCode ← `relative`, for relatives on no particular side.
const DIRECT: &[(&str, &[&str])] = &[
    ("MTH", &["mother"]),
    ("FTH", &["father"]),
    ("BRO", &["brother"]),
    ("SIS", &["sister"]),
    // Family history is about heredity: the natural children.
    ("SON", &["son"]),
    ("DAU", &["daughter"]),
    ("NEPHEW", &["nephew"]),
    ("NIECE", &["niece"]),
];
/// RoleCode ← `relative` when `xory = 'm'`.
const MATERNAL: &[(&str, &[&str])] = &[
    ("MAUNT", &["aunt"]),
    ("MUNCLE", &["uncle"]),
    ("MGRFTH", &["grandfather"]),
    ("MGRMTH", &["grandmother"]),
    ("MCOUSN", &["cousin"]),
];
/// RoleCode ← `relative` when `xory = 'f'`.
const PATERNAL: &[(&str, &[&str])] = &[
    ("PAUNT", &["aunt"]),
    ("PUNCLE", &["uncle"]),
    ("PGRFTH", &["grandfather"]),
    ("PGRMTH", &["grandmother"]),
    ("PCOUSN", &["cousin"]),
];
/// RoleCode ← `relative` when the side is unknown (or `s`, sibling).
const UNSIDED: &[(&str, &[&str])] = &[
    ("AUNT", &["aunt"]),
    ("UNCLE", &["uncle"]),
    ("GRFTH", &["grandfather"]),
    ("GRMTH", &["grandmother"]),
    ("COUSN", &["cousin"]),
];
/// The code of a relative GNU Health does not know (hand-edited rows).
const ANY_RELATIVE: (&str, &str) = ("FAMMEMB", "family member");

/// Administrative gender ← `relative`.
pub const SEXES: &[(&str, &[&str])] = &[
    (
        "female",
        &[
            "mother",
            "sister",
            "daughter",
            "aunt",
            "niece",
            "grandmother",
        ],
    ),
    (
        "male",
        &["father", "brother", "son", "uncle", "nephew", "grandfather"],
    ),
];

const PATHOLOGY_JOIN: (&str, &str) = ("gnuhealth_pathology pg", "pg.id = r.disease");
const UNSIDED_SQL: &str = "(r.xory IS NULL OR r.xory NOT IN ('m', 'f'))";
/// Rows whose `relative` no table above knows, which [`role_code`] calls `FAMMEMB`.
const UNKNOWN_RELATIVE_SQL: &str = "(r.relative IS NULL OR r.relative NOT IN ('mother', \
     'father', 'brother', 'sister', 'son', 'daughter', 'nephew', 'niece', 'aunt', 'uncle', \
     'grandfather', 'grandmother', 'cousin'))";

pub static FAMILY_MEMBER_HISTORY: ResourceDef = ResourceDef {
    type_name: "FamilyMemberHistory",
    models: &["gnuhealth.patient.family.diseases"],
    from: "gnuhealth_patient_family_diseases r",
    // FamilyMemberHistory.patient is required.
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
            "code",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/clinical-code",
            &[Path::child(
                PATHOLOGY_JOIN.0,
                PATHOLOGY_JOIN.1,
                "pg.code",
                Stored::Code(System::Fixed(fhir::datatypes::ICD10)),
            )],
        ),
        SearchParam::new(
            "date",
            Kind::Date,
            "http://hl7.org/fhir/SearchParameter/clinical-date",
            &[Path::col("r.create_date", Stored::Timestamp)],
        ),
        SearchParam::new(
            "relationship",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/FamilyMemberHistory-relationship",
            &[
                Path::col(
                    "r.relative",
                    Stored::Mapped(System::Fixed(ROLE_SYSTEM), DIRECT),
                ),
                Path::col(
                    "r.relative",
                    Stored::Mapped(System::Fixed(ROLE_SYSTEM), MATERNAL),
                )
                .when("r.xory = 'm'"),
                Path::col(
                    "r.relative",
                    Stored::Mapped(System::Fixed(ROLE_SYSTEM), PATERNAL),
                )
                .when("r.xory = 'f'"),
                Path::col(
                    "r.relative",
                    Stored::Mapped(System::Fixed(ROLE_SYSTEM), UNSIDED),
                )
                .when(UNSIDED_SQL),
                Path::col(
                    "CAST('FAMMEMB' AS VARCHAR)",
                    Stored::Code(System::Fixed(ROLE_SYSTEM)),
                )
                .when(UNKNOWN_RELATIVE_SQL),
            ],
        ),
        SearchParam::new(
            "sex",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/FamilyMemberHistory-sex",
            &[Path::col(
                "r.relative",
                Stored::Mapped(System::Fixed(GENDER_SYSTEM), SEXES),
            )],
        ),
        SearchParam::new(
            "status",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/FamilyMemberHistory-status",
            &[Path::col(
                "CAST('completed' AS VARCHAR)",
                Stored::Code(System::Fixed(STATUS_SYSTEM)),
            )],
        ),
    ],
    load,
    aliases: &[("gnuhealth.patient.family.diseases", "r")],
    // `relationship` (required) comes from `relative` and its side `xory`. The ICD-10 code
    // and name are the value of `disease`. The status is constant and the date is
    // `create_date`, not access-controlled.
    fields: &[
        FieldUse::required(
            "gnuhealth.patient.family.diseases",
            "patient",
            &["patient"],
            &["patient"],
        ),
        FieldUse::required(
            "gnuhealth.patient.family.diseases",
            "relative",
            &["relationship", "sex"],
            &["relationship", "sex"],
        ),
        FieldUse::required(
            "gnuhealth.patient.family.diseases",
            "xory",
            &["relationship"],
            &["relationship"],
        ),
        FieldUse::new(
            "gnuhealth.patient.family.diseases",
            "disease",
            &["condition"],
            &["code"],
        ),
    ],
    count_from: None,
    id_rows: &[],
};

super::int_loader!(load_histories);

async fn load_histories(db: &Database, ctx: &Context, ids: &[i64]) -> Result<Vec<Value>, DbError> {
    let mut main = db.sql();
    main.push(
        "SELECT r.id, r.patient, r.relative, r.xory, pg.code, pg.name, r.create_date, \
         COALESCE(r.write_date, r.create_date) \
         FROM gnuhealth_patient_family_diseases r \
         LEFT JOIN gnuhealth_pathology pg ON pg.id = r.disease WHERE ",
    )
    .in_ids("r.id", ids)
    .push(" AND ");
    crate::search::where_clause(&mut main, &FAMILY_MEMBER_HISTORY, ctx, &[])
        .map_err(|e| DbError::Query(e.to_string()))?;
    let rows = db.query(&main).await?;

    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(patient) = row.opt_int(1) else {
            continue;
        };
        let relative = row.opt_str(2).unwrap_or_default();
        let h = FamilyMemberHistory {
            resource_type: "FamilyMemberHistory",
            id: row.int(0).to_string(),
            meta: meta(row.opt_str(7)),
            // Each row is a finished statement about one relative's disease.
            status: "completed",
            patient: fhir::datatypes::Reference::to("Patient", patient, None),
            date: row.opt_str(6).and_then(fhir_datetime),
            relationship: relationship(relative, row.opt_str(3)),
            sex: sex(relative),
            condition: icd10(row.opt_text(4), row.opt_text(5))
                .map(|code| FamilyMemberHistoryCondition { code })
                .into_iter()
                .collect(),
            ..Default::default()
        };
        out.push(to_json(&h)?);
    }
    Ok(out)
}

/// The v3 RoleCode of a relative on a side (`m` maternal, `f` paternal, else unknown).
pub fn role_code(relative: &str, xory: Option<&str>) -> &'static str {
    let sided = match xory {
        Some("m") => MATERNAL,
        Some("f") => PATERNAL,
        _ => UNSIDED,
    };
    DIRECT
        .iter()
        .chain(sided)
        .find(|(_, stored)| stored.contains(&relative))
        .map(|(code, _)| *code)
        .unwrap_or(ANY_RELATIVE.0)
}

/// The display of a RoleCode used here, as in the v3 code system.
fn role_display(code: &str) -> &'static str {
    match code {
        "MTH" => "mother",
        "FTH" => "father",
        "BRO" => "brother",
        "SIS" => "sister",
        "SON" => "natural son",
        "DAU" => "natural daughter",
        "NEPHEW" => "nephew",
        "NIECE" => "niece",
        "MAUNT" => "maternal aunt",
        "MUNCLE" => "maternal uncle",
        "MGRFTH" => "maternal grandfather",
        "MGRMTH" => "maternal grandmother",
        "MCOUSN" => "maternal cousin",
        "PAUNT" => "paternal aunt",
        "PUNCLE" => "paternal uncle",
        "PGRFTH" => "paternal grandfather",
        "PGRMTH" => "paternal grandmother",
        "PCOUSN" => "paternal cousin",
        "AUNT" => "aunt",
        "UNCLE" => "uncle",
        "GRFTH" => "grandfather",
        "GRMTH" => "grandmother",
        "COUSN" => "cousin",
        _ => ANY_RELATIVE.1,
    }
}

fn relationship(relative: &str, xory: Option<&str>) -> CodeableConcept {
    let code = role_code(relative, xory);
    let mut cc = CodeableConcept::coded(ROLE_SYSTEM, code, Some(role_display(code).into()));
    if code == ANY_RELATIVE.0 && !relative.is_empty() {
        // Keep what GNU Health says when it has no code.
        cc.text = Some(relative.to_owned());
    }
    cc
}

/// Administrative gender of a relative (none for a cousin).
pub fn sex(relative: &str) -> Option<CodeableConcept> {
    let (code, _) = SEXES.iter().find(|(_, r)| r.contains(&relative))?;
    let display = if *code == "female" { "Female" } else { "Male" };
    Some(CodeableConcept::coded(
        GENDER_SYSTEM,
        *code,
        Some(display.into()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_uses() {
        crate::resources::patient::field_checks::check(&FAMILY_MEMBER_HISTORY, &["date", "status"]);
    }

    #[test]
    fn role_codes() {
        assert_eq!(role_code("mother", Some("m")), "MTH");
        assert_eq!(role_code("father", None), "FTH");
        assert_eq!(role_code("grandfather", Some("f")), "PGRFTH");
        assert_eq!(role_code("grandmother", Some("m")), "MGRMTH");
        assert_eq!(role_code("aunt", Some("m")), "MAUNT");
        assert_eq!(role_code("uncle", Some("f")), "PUNCLE");
        assert_eq!(role_code("cousin", Some("s")), "COUSN");
        assert_eq!(role_code("cousin", None), "COUSN");
        assert_eq!(role_code("son", Some("f")), "SON");
        assert_eq!(role_code("stepfather", None), "FAMMEMB");
    }

    #[test]
    fn every_code_has_a_display() {
        for table in [DIRECT, MATERNAL, PATERNAL, UNSIDED] {
            for (code, _) in table {
                assert_ne!(role_display(code), ANY_RELATIVE.1, "{code}");
            }
        }
    }

    #[test]
    fn every_relative_maps_on_every_side() {
        let relatives = [
            "mother",
            "father",
            "brother",
            "sister",
            "daughter",
            "son",
            "aunt",
            "uncle",
            "nephew",
            "niece",
            "grandfather",
            "grandmother",
            "cousin",
        ];
        for r in relatives {
            for side in [Some("m"), Some("f"), Some("s"), None] {
                assert_ne!(role_code(r, side), "FAMMEMB", "{r} {side:?}");
            }
        }
    }

    #[test]
    fn unknown_relative_sql_lists_every_known_relative() {
        for table in [DIRECT, MATERNAL, PATERNAL, UNSIDED] {
            for (_, relatives) in table {
                for r in *relatives {
                    assert!(UNKNOWN_RELATIVE_SQL.contains(&format!("'{r}'")), "{r}");
                }
            }
        }
    }

    #[test]
    fn unknown_relative_keeps_its_text() {
        let r = relationship("stepfather", None);
        assert_eq!(r.coding[0].code.as_deref(), Some("FAMMEMB"));
        assert_eq!(r.text.as_deref(), Some("stepfather"));
    }

    #[test]
    fn sexes() {
        assert_eq!(
            sex("grandmother").and_then(|s| s.coding[0].code.clone()),
            Some("female".into())
        );
        assert_eq!(
            sex("nephew").and_then(|s| s.coding[0].code.clone()),
            Some("male".into())
        );
        assert_eq!(sex("cousin"), None);
    }
}
