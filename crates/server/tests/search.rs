//! The result side of search on the demo database: `_sort` (with keyset paging in both
//! directions), `_total`, lenient handling reported in the Bundle, compartments, chaining,
//! `_has`, `_include` and `_revinclude`. Expected results come from SQL written here, on
//! the demo database, not from the server's own SQL.

mod common;

use common::{all_ids, all_ids_as, get, get_as, ids, link, sql_ids, sql_ids_in_order, sql_text};

/// Walk every page forwards, then every page backwards from the last one: the same ids.
async fn walk_both_ways(path: &str) -> Vec<String> {
    let forwards = all_ids(path).await;
    let (_, mut page) = get(path).await;
    while let Some(next) = link(&page, "next") {
        page = get(&next).await.1;
    }
    let mut backwards = ids(&page);
    while let Some(prev) = link(&page, "previous") {
        page = get(&prev).await.1;
        let mut earlier = ids(&page);
        earlier.extend(backwards);
        backwards = earlier;
    }
    assert_eq!(
        forwards, backwards,
        "{path}: previous links disagree with next links"
    );
    forwards
}

#[tokio::test]
async fn sort_orders_by_parameters_with_nulls_first_and_the_id_last() {
    let by_birthdate = walk_both_ways("/Patient?_sort=birthdate&_count=7").await;
    let expected = sql_ids_in_order(
        "SELECT r.id FROM gnuhealth_patient r JOIN party_party p ON p.id = r.party \
         ORDER BY p.dob IS NOT NULL, p.dob, r.id",
    );
    assert_eq!(by_birthdate, expected);

    // Descending: NULLs last; ties broken by id, ascending.
    let desc = walk_both_ways("/Patient?_sort=-birthdate&_count=6").await;
    let expected = sql_ids_in_order(
        "SELECT r.id FROM gnuhealth_patient r JOIN party_party p ON p.id = r.party \
         ORDER BY p.dob IS NOT NULL DESC, p.dob DESC, r.id",
    );
    assert_eq!(desc, expected);

    // Several keys, one of them in child rows (the lowest family name of a patient).
    let multi = walk_both_ways("/Patient?_sort=gender,family&_count=5").await;
    let expected = sql_ids_in_order(
        "SELECT r.id FROM gnuhealth_patient r JOIN party_party p ON p.id = r.party \
         ORDER BY p.gender IS NOT NULL, p.gender, \
         (SELECT MIN(n.family) FROM gnuhealth_person_name n WHERE n.party = r.party) IS NOT NULL, \
         (SELECT MIN(n.family) FROM gnuhealth_person_name n WHERE n.party = r.party), r.id",
    );
    assert_eq!(multi, expected);

    let by_id = walk_both_ways("/Condition?_sort=-_id&_count=9").await;
    let mut expected = sql_ids(
        "SELECT id FROM gnuhealth_patient_disease WHERE is_allergy IS NULL OR is_allergy = 0",
    );
    expected.reverse();
    assert_eq!(by_id, expected);

    let (status, body) = get("/Patient?_sort=no-such").await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn total_can_be_left_out_and_lenient_handling_reports_what_it_ignored() {
    let (_, b) = get("/Patient?_total=none&_count=5").await;
    assert!(b.get("total").is_none(), "{b}");
    let next = link(&b, "next").unwrap_or_default();
    assert!(next.contains("_total=none"), "{next}");
    assert!(get(&next).await.1.get("total").is_none());
    let (_, b) = get("/Patient?_total=accurate&_count=5").await;
    assert_eq!(b["total"].as_u64(), Some(u64::from(common::PATIENTS)));
    assert_eq!(get("/Patient?_total=maybe").await.0, 400);

    let resp = common::client()
        .get(format!(
            "{}/Patient?bogus=1&_count=2",
            common::server().base
        ))
        .header("prefer", "handling=lenient")
        .basic_auth(
            gnuhealth::demo::DEMO_LOGIN,
            Some(gnuhealth::demo::DEMO_PASSWORD),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let b: serde_json::Value = resp.json().await.unwrap_or_default();
    let entries = b["entry"].as_array().cloned().unwrap_or_default();
    let outcome = entries
        .iter()
        .find(|e| e["search"]["mode"] == "outcome")
        .unwrap_or_else(|| panic!("no outcome entry in {b}"));
    assert_eq!(outcome["resource"]["resourceType"], "OperationOutcome");
    assert!(outcome["resource"].to_string().contains("bogus"));
    assert_eq!(
        entries
            .iter()
            .filter(|e| e["search"]["mode"] == "match")
            .count(),
        2
    );
}

const CONDITIONS: &str = "SELECT d.id FROM gnuhealth_patient_disease d \
     JOIN gnuhealth_patient r ON r.id = d.patient JOIN party_party p ON p.id = r.party \
     WHERE (d.is_allergy IS NULL OR d.is_allergy = 0)";

#[tokio::test]
async fn chains_follow_references_to_the_rows_that_match() {
    let female = all_ids("/Condition?patient.gender=female&_count=50").await;
    assert_eq!(
        common::sorted(female.clone()),
        sql_ids(&format!("{CONDITIONS} AND p.gender = 'f'"))
    );
    assert!(!female.is_empty());
    // With the type named, and two levels deep (patient → general practitioner → name).
    let typed = all_ids("/Condition?subject:Patient.gender=female&_count=50").await;
    assert_eq!(typed, female);
    let family = sql_text(
        "SELECT n.family FROM gnuhealth_patient r \
         JOIN gnuhealth_healthprofessional hp ON hp.id = r.primary_care_doctor \
         JOIN gnuhealth_person_name n ON n.party = hp.party LIMIT 1",
    );
    let deep = all_ids(&format!(
        "/Condition?patient.general-practitioner.family={family}&_count=50"
    ))
    .await;
    let expected = sql_ids(&format!(
        "{CONDITIONS} AND r.primary_care_doctor IN (SELECT hp.id FROM gnuhealth_healthprofessional hp \
         JOIN gnuhealth_person_name n ON n.party = hp.party WHERE n.family LIKE '{family}%')"
    ));
    assert_eq!(common::sorted(deep), expected);
    assert!(!expected.is_empty());
    // Errors: not a reference, a type the reference does not take.
    assert_eq!(get("/Condition?code.x=1").await.0, 400);
    assert_eq!(get("/Condition?patient:Practitioner.name=x").await.0, 400);
}

#[tokio::test]
async fn has_finds_the_rows_other_resources_refer_to() {
    let code = sql_text(
        "SELECT pg.code FROM gnuhealth_patient_disease d \
         JOIN gnuhealth_pathology pg ON pg.id = d.pathology \
         WHERE d.is_allergy IS NULL OR d.is_allergy = 0 LIMIT 1",
    );
    let patients = all_ids(&format!("/Patient?_has:Condition:patient:code={code}")).await;
    let expected = sql_ids(&format!(
        "SELECT DISTINCT d.patient FROM gnuhealth_patient_disease d \
         JOIN gnuhealth_pathology pg ON pg.id = d.pathology \
         WHERE (d.is_allergy IS NULL OR d.is_allergy = 0) AND pg.code = '{code}'"
    ));
    assert_eq!(common::sorted(patients), expected);
    assert!(!expected.is_empty());
    // Nested: the practitioners whose patients have that condition.
    let doctors = all_ids(&format!(
        "/Practitioner?_has:Patient:general-practitioner:_has:Condition:patient:code={code}"
    ))
    .await;
    let expected = sql_ids(&format!(
        "SELECT DISTINCT r.primary_care_doctor FROM gnuhealth_patient r WHERE r.id IN ({}) \
         AND r.primary_care_doctor IS NOT NULL",
        if expected.is_empty() {
            "NULL".to_owned()
        } else {
            expected.join(",")
        }
    ));
    assert_eq!(common::sorted(doctors), expected);
    // The front desk may not read Conditions, so may not search through them either.
    let (status, body) = common::get_as(
        "frontdesk",
        &format!("/Patient?_has:Condition:patient:code={code}"),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(get("/Patient?_has:Condition:code=x").await.0, 400);
    assert_eq!(get("/Patient?_has:Nothing:patient:code=x").await.0, 400);
}

#[tokio::test]
async fn compartment_search_is_the_search_within_one_patient() {
    let patient = sql_text("SELECT CAST(MIN(patient) AS TEXT) FROM gnuhealth_patient_disease");
    let ids = all_ids(&format!("/Patient/{patient}/Condition?_count=3")).await;
    assert_eq!(
        common::sorted(ids.clone()),
        sql_ids(&format!("{CONDITIONS} AND d.patient = {patient}"))
    );
    assert!(!ids.is_empty());
    // Further parameters narrow it.
    let (_, b) = get(&format!("/Patient/{patient}/Condition?_id={}", ids[0])).await;
    assert_eq!(common::ids(&b), vec![ids[0].clone()]);
    let (_, b) = get(&format!("/Patient/{patient}/Patient")).await;
    assert_eq!(common::ids(&b), vec![patient.clone()]);
    assert_eq!(get(&format!("/Patient/{patient}/Medication")).await.0, 400);
    assert_eq!(get("/Practitioner/1/Condition").await.0, 404);
}

/// `(mode, type/id)` of every entry.
fn entries(b: &serde_json::Value) -> Vec<(String, String)> {
    b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["search"]["mode"].as_str().unwrap_or_default().to_owned(),
                format!(
                    "{}/{}",
                    e["resource"]["resourceType"].as_str().unwrap_or_default(),
                    e["resource"]["id"].as_str().unwrap_or_default()
                ),
            )
        })
        .collect()
}

fn included(b: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = entries(b)
        .into_iter()
        .filter(|(m, _)| m == "include")
        .map(|(_, r)| r)
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn includes_add_what_the_page_refers_to_and_what_refers_to_it_once() {
    let (condition, patient, doctor) = {
        let conn =
            rusqlite::Connection::open(&common::server().db_path).unwrap_or_else(|e| panic!("{e}"));
        conn.query_row(
            "SELECT d.id, d.patient, r.primary_care_doctor FROM gnuhealth_patient_disease d \
             JOIN gnuhealth_patient r ON r.id = d.patient \
             WHERE (d.is_allergy IS NULL OR d.is_allergy = 0) \
             AND r.primary_care_doctor IS NOT NULL ORDER BY d.id LIMIT 1",
            [],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            },
        )
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let (status, b) = get(&format!(
        "/Condition?_id={condition}&_include=Condition:patient"
    ))
    .await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(
        entries(&b),
        vec![
            ("match".to_owned(), format!("Condition/{condition}")),
            ("include".to_owned(), format!("Patient/{patient}")),
        ]
    );
    assert_eq!(b["total"], 1, "includes are not counted");
    assert!(
        link(&b, "self")
            .unwrap_or_default()
            .contains("_include=Condition%3Apatient")
    );

    // Every condition of the patient refers to it: the patient is included once.
    let (_, b) = get(&format!(
        "/Condition?patient={patient}&_include=Condition:patient"
    ))
    .await;
    assert_eq!(included(&b), vec![format!("Patient/{patient}")]);

    // :iterate follows the included patient to their practitioner; * takes every reference.
    let (_, b) = get(&format!(
        "/Condition?_id={condition}&_include=Condition:patient\
         &_include:iterate=Patient:general-practitioner"
    ))
    .await;
    assert_eq!(
        included(&b),
        vec![
            format!("Patient/{patient}"),
            format!("Practitioner/{doctor}")
        ]
    );
    let (_, b) = get(&format!("/Condition?_id={condition}&_include=Condition:*")).await;
    assert!(included(&b).contains(&format!("Patient/{patient}")), "{b}");

    // _revinclude: the patient's conditions.
    let (_, b) = get(&format!(
        "/Patient?_id={patient}&_revinclude=Condition:patient"
    ))
    .await;
    let expected: Vec<String> = {
        let mut v: Vec<String> = sql_ids(&format!("{CONDITIONS} AND d.patient = {patient}"))
            .into_iter()
            .map(|id| format!("Condition/{id}"))
            .collect();
        v.sort();
        v
    };
    assert_eq!(included(&b), expected);
    // Never what the user may not read: the front desk gets the patient, not the conditions.
    let (status, b) = common::get_as(
        "frontdesk",
        &format!("/Patient?_id={patient}&_revinclude=Condition:patient"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(included(&b).is_empty(), "{b}");

    assert_eq!(get("/Condition?_include=Condition:code").await.0, 400);
    assert_eq!(get("/Condition?_include=Nothing:patient").await.0, 400);
}

const ANALYTES: &str =
    "SELECT r.id FROM gnuhealth_lab_test_critearea r WHERE r.gnuhealth_lab_id IS NOT NULL";

#[tokio::test]
async fn quantities_follow_prefixes_precision_and_units() {
    for (query, condition) in [
        ("gt5.4", "r.result > 5.4"),
        ("le5.4", "r.result <= 5.4"),
        ("5.4", "r.result >= 5.35 AND r.result < 5.45"),
        ("ne5.4", "(r.result < 5.35 OR r.result >= 5.45)"),
        ("ap100", "r.result >= 90 AND r.result <= 110"),
        ("eb1e1", "r.result < 5"),
    ] {
        // The lab results (the vital signs have values too).
        let found = all_ids(&format!(
            "/Observation?value-quantity={query}&code={}/CodeSystem/lab-analyte|&_count=1000",
            common::server().base
        ))
        .await;
        let expected = sql_ids(&format!("{ANALYTES} AND {condition}"));
        assert_eq!(common::sorted(found), expected, "value-quantity={query}");
    }
    // With a unit: the unit's code (or name).
    let (unit, value) = {
        let conn =
            rusqlite::Connection::open(&common::server().db_path).unwrap_or_else(|e| panic!("{e}"));
        conn.query_row(
            "SELECT u.code, r.result FROM gnuhealth_lab_test_critearea r \
             JOIN gnuhealth_lab_test_units u ON u.id = r.units \
             WHERE r.result IS NOT NULL AND r.gnuhealth_lab_id IS NOT NULL AND u.code = 'g/dL' LIMIT 1",
            [],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?)),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let expected = sql_ids(&format!(
        "{ANALYTES} AND r.result >= {value} AND r.units IN \
         (SELECT id FROM gnuhealth_lab_test_units WHERE code = '{unit}' OR name = '{unit}')"
    ));
    assert!(!expected.is_empty());
    for system in ["http://unitsofmeasure.org", ""] {
        let found = all_ids(&format!(
            "/Observation?value-quantity=ge{value}|{system}|{unit}&_count=1000"
        ))
        .await;
        assert_eq!(common::sorted(found), expected, "system '{system}'");
    }
    let (_, b) = get(&format!(
        "/Observation?value-quantity=ge{value}|http://other|{unit}"
    ))
    .await;
    assert_eq!(b["total"], 0);
    assert_eq!(get("/Observation?value-quantity=abc").await.0, 400);
    assert_eq!(get("/Observation?value-quantity=5|mg").await.0, 400);
}

#[tokio::test]
async fn composite_parts_hold_for_the_same_observation() {
    let code = sql_text(
        "SELECT code FROM gnuhealth_lab_test_critearea \
         WHERE result IS NOT NULL AND gnuhealth_lab_id IS NOT NULL LIMIT 1",
    );
    let found = all_ids(&format!(
        "/Observation?code-value-quantity={code}$gt1,{code}$lt0&_count=1000"
    ))
    .await;
    let expected = sql_ids(&format!(
        "{ANALYTES} AND r.code = '{code}' AND (r.result > 1 OR r.result < 0)"
    ));
    assert_eq!(common::sorted(found), expected);
    assert!(!expected.is_empty());
    assert_eq!(get("/Observation?code-value-quantity=x").await.0, 400);
}

#[tokio::test]
async fn text_identifier_and_of_type_modifiers() {
    // :text searches the words shown with the code.
    let word = sql_text(
        "SELECT lower(substr(pg.name, 1, 4)) FROM gnuhealth_patient_disease d \
         JOIN gnuhealth_pathology pg ON pg.id = d.pathology \
         WHERE (d.is_allergy IS NULL OR d.is_allergy = 0) AND pg.name GLOB '[A-Za-z][a-z][a-z][a-z]*' \
         LIMIT 1",
    );
    let found = all_ids(&format!("/Condition?code:text={word}&_count=1000")).await;
    let expected = sql_ids(&format!(
        "{CONDITIONS} AND ' ' || lower((SELECT pg.name FROM gnuhealth_pathology pg \
         WHERE pg.id = d.pathology)) LIKE '% {word}%'"
    ));
    assert_eq!(common::sorted(found), expected);
    assert!(!expected.is_empty());
    assert_eq!(get("/Condition?clinical-status:text=act").await.0, 400);

    // :identifier on a reference: the patient's own identifier.
    let (patient, puid) = {
        let conn =
            rusqlite::Connection::open(&common::server().db_path).unwrap_or_else(|e| panic!("{e}"));
        conn.query_row(
            "SELECT d.patient, p.ref FROM gnuhealth_patient_disease d \
             JOIN gnuhealth_patient r ON r.id = d.patient JOIN party_party p ON p.id = r.party \
             WHERE p.ref IS NOT NULL LIMIT 1",
            [],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let base = &common::server().base;
    let found = all_ids(&format!(
        "/Condition?subject:identifier={base}/sid/puid|{puid}&_count=1000"
    ))
    .await;
    assert_eq!(
        common::sorted(found),
        sql_ids(&format!("{CONDITIONS} AND d.patient = {patient}"))
    );

    // :of-type: an identifier of a v2-0203 type.
    let (owner, passport) = {
        let conn =
            rusqlite::Connection::open(&common::server().db_path).unwrap_or_else(|e| panic!("{e}"));
        conn.query_row(
            "SELECT r.id, ai.code FROM gnuhealth_person_alternative_identification ai \
             JOIN gnuhealth_patient r ON r.party = ai.party \
             WHERE ai.alternative_id_type = 'passport' LIMIT 1",
            [],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let v2 = "http://terminology.hl7.org/CodeSystem/v2-0203";
    let (_, b) = get(&format!("/Patient?identifier:of-type={v2}|PPN|{passport}")).await;
    assert_eq!(ids(&b), vec![owner.to_string()]);
    let (_, b) = get(&format!("/Patient?identifier:of-type={v2}|MR|{passport}")).await;
    assert_eq!(b["total"], 0);
    assert_eq!(get("/Patient?identifier:of-type=PPN|x").await.0, 400);
}

#[tokio::test]
async fn observation_combo_and_string_composites() {
    let code = sql_text(
        "SELECT code FROM gnuhealth_lab_test_critearea \
         WHERE result IS NOT NULL AND gnuhealth_lab_id IS NOT NULL LIMIT 1",
    );
    let plain = all_ids(&format!(
        "/Observation?code-value-quantity={code}$gt1&_count=1000"
    ))
    .await;
    let combo = all_ids(&format!(
        "/Observation?combo-code-value-quantity={code}$gt1&_count=1000"
    ))
    .await;
    assert_eq!(plain, combo);
    assert_eq!(
        all_ids(&format!("/Observation?combo-code={code}&_count=1000")).await,
        all_ids(&format!("/Observation?code={code}&_count=1000")).await
    );
    let (code, text) = {
        let conn =
            rusqlite::Connection::open(&common::server().db_path).unwrap_or_else(|e| panic!("{e}"));
        conn.query_row(
            "SELECT code, result_text FROM gnuhealth_lab_test_critearea \
             WHERE result IS NULL AND result_text IS NOT NULL AND gnuhealth_lab_id IS NOT NULL \
             AND result_text GLOB '[A-Za-z]*' LIMIT 1",
            [],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let value: String =
        form_urlencoded::byte_serialize(format!("{code}${}", &text[..1]).as_bytes()).collect();
    let found = all_ids(&format!(
        "/Observation?code-value-string={value}&_count=1000"
    ))
    .await;
    let expected = sql_ids(&format!(
        "{ANALYTES} AND r.code = '{code}' AND r.result IS NULL AND lower(r.result_text) LIKE '{}%'",
        text[..1].to_lowercase()
    ));
    assert_eq!(common::sorted(found), expected);
    assert!(!expected.is_empty());
}

#[tokio::test]
async fn service_requests_are_the_lab_orders_reports_and_results_are_based_on() {
    let patient = sql_text("SELECT CAST(MIN(patient_id) AS TEXT) FROM gnuhealth_patient_lab_test");
    let found = all_ids(&format!("/ServiceRequest?patient={patient}")).await;
    let expected = sql_ids(&format!(
        "SELECT id FROM gnuhealth_patient_lab_test WHERE patient_id = {patient}"
    ));
    assert_eq!(common::sorted(found), expected);
    assert!(!expected.is_empty());
    let order = sql_text("SELECT CAST(request AS TEXT) FROM gnuhealth_patient_lab_test LIMIT 1");
    let base = &common::server().base;
    let found = all_ids(&format!(
        "/ServiceRequest?requisition={base}/sid/lab-request|{order}"
    ))
    .await;
    assert_eq!(
        common::sorted(found),
        sql_ids(&format!(
            "SELECT id FROM gnuhealth_patient_lab_test WHERE request = {order}"
        ))
    );
    let (_, b) = get(&format!(
        "/ServiceRequest?status=completed&patient={patient}"
    ))
    .await;
    assert_eq!(
        common::sorted(ids(&b)),
        sql_ids(&format!(
            "SELECT id FROM gnuhealth_patient_lab_test WHERE patient_id = {patient} AND state = 'tested'"
        ))
    );
    // The requests a report is based on now resolve as includes.
    let (status, b) = get(&format!(
        "/DiagnosticReport?patient={patient}&_include=DiagnosticReport:based-on&_count=50"
    ))
    .await;
    assert_eq!(status, 200, "{b}");
    let requests: Vec<String> = included(&b)
        .into_iter()
        .filter(|r| r.starts_with("ServiceRequest/"))
        .collect();
    assert!(!requests.is_empty(), "{b}");
    let (_, b) = get(&format!("/Patient/{patient}/ServiceRequest")).await;
    assert_eq!(b["total"].as_u64(), Some(expected.len() as u64));
    // And the other way: the requests some report is based on (a path in child rows).
    let answered =
        all_ids("/ServiceRequest?_has:DiagnosticReport:based-on:_id:missing=false&_count=500")
            .await;
    let expected = sql_ids(
        "SELECT DISTINCT sr.id FROM gnuhealth_patient_lab_test sr JOIN gnuhealth_lab bl \
         ON sr.request = bl.request_order AND sr.test_type = bl.test \
         AND (sr.patient_id = bl.patient OR (sr.patient_id IS NULL AND bl.patient IS NULL))",
    );
    assert_eq!(common::sorted(answered), expected);
    assert!(!expected.is_empty());
}

#[tokio::test]
async fn medication_requests_are_the_prescription_lines() {
    const LINES: &str = "SELECT r.id FROM gnuhealth_prescription_line r \
         JOIN gnuhealth_prescription_order o ON o.id = r.presc_order \
         WHERE r.medicament IS NOT NULL AND o.patient IS NOT NULL";
    let patient = sql_text("SELECT CAST(MIN(patient) AS TEXT) FROM gnuhealth_prescription_order");
    let found = all_ids(&format!("/MedicationRequest?patient={patient}")).await;
    let expected = sql_ids(&format!("{LINES} AND o.patient = {patient}"));
    assert_eq!(common::sorted(found), expected);
    assert!(!expected.is_empty());
    let (status, b) = get(&format!("/MedicationRequest/{}", expected[0])).await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["intent"], "order");
    assert!(
        b["medicationReference"]["reference"]
            .as_str()
            .is_some_and(|r| r.starts_with("Medication/"))
    );
    let all = all_ids("/MedicationRequest?status=active,draft&_count=500").await;
    assert_eq!(
        common::sorted(all),
        sql_ids(&format!(
            "{LINES} AND o.state IN ('draft', 'done', 'validated')"
        ))
    );
    // The statements based on a prescription now lead to it.
    let (status, b) = get(&format!(
        "/MedicationStatement?patient={patient}&_include=MedicationStatement:*&_count=50"
    ))
    .await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(
        get(&format!("/Patient/{patient}/MedicationRequest"))
            .await
            .0,
        200
    );
}

/// Observation totals are counted per source row (an evaluation's measures at once)
/// unless a condition names a measure: both ways must count what the pages hold, for a
/// user who sees every measure and for one whose hidden fields leave some out.
#[tokio::test]
async fn observation_totals_count_what_the_pages_hold() {
    let patient = sql_ids("SELECT MIN(patient) FROM gnuhealth_patient_evaluation")
        .pop()
        .unwrap_or_default();
    for login in [gnuhealth::demo::DEMO_LOGIN, "nurse"] {
        for query in [
            String::new(),
            format!("patient={patient}"),
            "_lastUpdated=gt2000-01-01".to_owned(),
            "date=ge2020-01-01".to_owned(),
            // Names a measure's column: counted over every Observation.
            "category=laboratory,vital-signs,exam,survey".to_owned(),
        ] {
            let (status, counted) =
                get_as(login, &format!("/Observation?{query}&_summary=count")).await;
            assert_eq!(status, 200, "{login} {query}: {counted}");
            let walked = all_ids_as(login, &format!("/Observation?{query}&_count=1000")).await;
            assert!(!walked.is_empty(), "{login} {query}");
            assert_eq!(
                counted["total"].as_u64(),
                Some(walked.len() as u64),
                "{login} {query}"
            );
        }
    }
}
