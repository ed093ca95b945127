//! Location and PractitionerRole on the demo database: reads, every search parameter,
//! chains and includes through `partOf`. Expected results come from SQL written here over
//! GNU Health's tables, not from the server's own union.

mod common;

use common::{all_ids, get, sql_ids, sql_texts};

async fn location_ids(query: &str) -> Vec<String> {
    let mut ids = all_ids(&format!("/Location?{query}&_count=7")).await;
    ids.sort();
    ids
}

/// Every place, as `prefix-id`, with the condition `cond` on each table (aliased `t`);
/// `None` skips a table.
fn places(cond: [Option<&str>; 5]) -> Vec<String> {
    let tables = [
        ("bu", "gnuhealth_hospital_building"),
        ("unit", "gnuhealth_hospital_unit"),
        ("ward", "gnuhealth_hospital_ward"),
        ("bed", "gnuhealth_hospital_bed"),
        ("or", "gnuhealth_hospital_or"),
    ];
    let parts: Vec<String> = tables
        .iter()
        .zip(cond)
        .filter_map(|((prefix, table), c)| {
            c.map(|c| format!("SELECT '{prefix}-' || t.id FROM {table} t WHERE {c}"))
        })
        .collect();
    sql_texts(&parts.join(" UNION ALL "))
}

#[tokio::test]
async fn every_place_is_a_location_with_its_parent_and_institution() {
    let all = location_ids("_id:missing=false").await;
    let expected = places([Some("1 = 1"); 5]);
    assert_eq!(all, expected);
    // Every kind is in the demo.
    for prefix in ["bu-", "unit-", "ward-", "bed-", "or-"] {
        assert!(all.iter().any(|i| i.starts_with(prefix)), "{prefix}");
    }

    let (status, bed) = get("/Location/bed-1").await;
    assert_eq!(status, 200, "{bed}");
    let ward = sql_texts("SELECT 'ward-' || ward FROM gnuhealth_hospital_bed WHERE id = 1");
    assert_eq!(
        bed["partOf"]["reference"],
        format!("Location/{}", ward[0]).as_str()
    );
    assert_eq!(bed["physicalType"]["coding"][0]["code"], "bd");
    let name = sql_texts(
        "SELECT t.name FROM gnuhealth_hospital_bed b JOIN product_product p ON p.id = b.product \
         JOIN product_template t ON t.id = p.template WHERE b.id = 1",
    );
    assert_eq!(bed["name"], name[0].as_str());
    let (status, org) = get(&format!(
        "/{}",
        bed["managingOrganization"]["reference"]
            .as_str()
            .unwrap_or_default()
    ))
    .await;
    assert_eq!(status, 200, "{org}");
    assert_eq!(org["resourceType"], "Organization");
    let (status, building) = get("/Location/bu-1").await;
    assert_eq!(status, 200);
    assert_eq!(building["physicalType"]["coding"][0]["code"], "bu");
    assert_eq!(building.get("partOf"), None);
    // Unknown kinds and ids are not found.
    assert_eq!(get("/Location/1").await.0, 404);
    assert_eq!(get("/Location/bed-999999").await.0, 404);
}

#[tokio::test]
async fn location_search_parameters_match_the_tables() {
    let name = location_ids("name=surg").await;
    let mut expected = places([
        Some("LOWER(t.name) LIKE 'surg%'"),
        Some("LOWER(t.name) LIKE 'surg%'"),
        Some("LOWER(t.name) LIKE 'surg%'"),
        Some(
            "t.product IN (SELECT p.id FROM product_product p JOIN product_template pt \
             ON pt.id = p.template WHERE LOWER(pt.name) LIKE 'surg%')",
        ),
        Some("LOWER(t.name) LIKE 'surg%'"),
    ]);
    assert_eq!(name, expected);
    assert!(!name.is_empty());

    let code = sql_texts("SELECT code FROM gnuhealth_hospital_building LIMIT 1");
    assert_eq!(
        location_ids(&format!("identifier={}", code[0])).await,
        places([
            Some(&format!("t.code = '{}'", code[0])),
            Some(&format!("t.code = '{}'", code[0])),
            None,
            None,
            None
        ])
    );

    // Status: not available is suspended, everything else active.
    let na = Some("t.state = 'na'");
    let suspended = location_ids("status=suspended").await;
    assert_eq!(suspended, places([None, None, na, na, na]));
    assert!(!suspended.is_empty());
    let active = location_ids("status=active").await;
    let not_na = Some("t.state IS NULL OR t.state <> 'na'");
    assert_eq!(
        active,
        places([Some("1 = 1"), Some("1 = 1"), not_na, not_na, not_na])
    );

    // Operational status (v2-0116) of beds and operating rooms.
    for (code, state) in [
        ("U", "free"),
        ("O", "occupied"),
        ("H", "to_clean"),
        ("C", "na"),
    ] {
        let c = format!("t.state = '{state}'");
        expected = places([None, None, None, Some(&c), Some(&c)]);
        assert_eq!(
            location_ids(&format!(
                "operational-status=http://terminology.hl7.org/CodeSystem/v2-0116|{code}"
            ))
            .await,
            expected,
            "{code}"
        );
        assert!(!expected.is_empty(), "{code}");
    }

    // Type: the bed type, and hospital units.
    let electric = location_ids("type=electric").await;
    assert_eq!(
        electric,
        places([None, None, None, Some("t.bed_type = 'electric'"), None])
    );
    assert!(!electric.is_empty());
    assert_eq!(
        location_ids("type=http://terminology.hl7.org/CodeSystem/v3-RoleCode|HU").await,
        places([None, Some("1 = 1"), None, None, None])
    );

    // Part of: beds in a ward, wards and rooms in a building.
    let beds = location_ids("partof=Location/ward-1").await;
    assert_eq!(beds, places([None, None, None, Some("t.ward = 1"), None]));
    assert!(!beds.is_empty());
    let in_building = location_ids("partof=bu-1").await;
    let b1 = Some("t.building = 1");
    assert_eq!(in_building, places([None, None, b1, None, b1]));
    assert!(!in_building.is_empty());
    assert_eq!(
        location_ids("partof=Location/1").await,
        Vec::<String>::new()
    );

    let org = location_ids("organization=Organization/1").await;
    let i1 = Some("t.institution = 1");
    assert_eq!(org, places([i1; 5]));
    assert!(!org.is_empty());
}

#[tokio::test]
async fn location_chains_and_includes_follow_part_of() {
    let ward_name = sql_texts("SELECT name FROM gnuhealth_hospital_ward WHERE id = 1");
    let chained = location_ids(&format!("partof:Location.name={}", ward_name[0])).await;
    assert_eq!(
        chained,
        places([None, None, None, Some("t.ward = 1"), None])
    );
    let (status, b) =
        get("/Location?_id=bed-1&_include=Location:partof&_include=Location:organization").await;
    assert_eq!(status, 200, "{b}");
    let mut included: Vec<String> = b["entry"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["search"]["mode"] == "include")
                .map(|e| {
                    format!(
                        "{}/{}",
                        e["resource"]["resourceType"].as_str().unwrap_or_default(),
                        e["resource"]["id"].as_str().unwrap_or_default()
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    included.sort();
    assert_eq!(included, ["Location/ward-1", "Organization/1"]);
    // Beds whose ward is in building 1 (two levels of part-of).
    let deep = location_ids("partof:Location.partof=Location/bu-1").await;
    assert_eq!(
        deep,
        places([
            None,
            None,
            None,
            Some("t.ward IN (SELECT id FROM gnuhealth_hospital_ward WHERE building = 1)"),
            None
        ])
    );
}

#[tokio::test]
async fn a_surgery_refers_to_its_operating_room() {
    let surgery = sql_ids("SELECT id FROM gnuhealth_surgery WHERE operating_room IS NOT NULL");
    let Some(id) = surgery.first() else {
        panic!("no surgery with an operating room in the demo")
    };
    let (status, p) = get(&format!("/Procedure/surg-{id}")).await;
    assert_eq!(status, 200, "{p}");
    let room = sql_texts(&format!(
        "SELECT 'Location/or-' || operating_room FROM gnuhealth_surgery WHERE id = {id}"
    ));
    assert_eq!(p["location"]["reference"], room[0].as_str());
    let (status, _) = get(&format!("/{}", room[0])).await;
    assert_eq!(status, 200);
}

const ROLES: &str = "SELECT r.id FROM gnuhealth_healthprofessional r \
     JOIN party_party p ON p.id = r.party WHERE 1 = 1";

async fn role_ids(query: &str) -> Vec<String> {
    common::sorted(all_ids(&format!("/PractitionerRole?{query}&_count=9")).await)
}

#[tokio::test]
async fn practitioner_roles_match_the_health_professionals() {
    assert_eq!(role_ids("_id:missing=false").await, sql_ids(ROLES));
    let (status, r) = get("/PractitionerRole/1").await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["practitioner"]["reference"], "Practitioner/1");
    assert_eq!(get("/Practitioner/1").await.0, 200);
    let main = sql_texts(
        "SELECT s.code FROM gnuhealth_hp_specialty hs JOIN gnuhealth_specialty s \
         ON s.id = hs.specialty WHERE hs.healthprof = 1 AND hs.mainsp = 1",
    );
    assert_eq!(r["specialty"][0]["coding"][0]["code"], main[0].as_str());

    assert_eq!(
        role_ids("practitioner=Practitioner/3").await,
        vec!["3".to_owned()]
    );
    let org = role_ids("organization=Organization/1").await;
    assert_eq!(org, sql_ids(&format!("{ROLES} AND r.institution = 1")));
    assert!(!org.is_empty());
    let gp = role_ids("specialty=GP").await;
    assert_eq!(
        gp,
        sql_ids(&format!(
            "{ROLES} AND r.id IN (SELECT hs.healthprof FROM gnuhealth_hp_specialty hs \
             JOIN gnuhealth_specialty s ON s.id = hs.specialty WHERE s.code = 'GP')"
        ))
    );
    assert!(!gp.is_empty());
    let active = role_ids("active=true").await;
    assert_eq!(
        active,
        sql_ids(&format!("{ROLES} AND r.active = 1 AND p.active = 1"))
    );
    let unit = role_ids("location=Location/unit-1").await;
    assert_eq!(
        unit,
        sql_ids(&format!("{ROLES} AND r.institution_unit = 1"))
    );
    assert!(!unit.is_empty());
    let (_, with_unit) = get(&format!("/PractitionerRole/{}", unit[0])).await;
    assert_eq!(with_unit["location"][0]["reference"], "Location/unit-1");
    assert_eq!(get("/Location/unit-1").await.0, 200);
}
