//! AllergyIntolerance on the demo database: the allergy rows of `gnuhealth_patient_disease`
//! (which Condition leaves out), the mapping of one resource, and every search parameter,
//! the expected ids coming from SQL written here, not from the server's own SQL.

mod common;

use common::{all_ids, get, sql_ids, sql_text, sql_texts};

/// The allergies: flagged rows of a patient.
const ALLERGIES: &str = "SELECT d.id FROM gnuhealth_patient_disease d \
     WHERE d.is_allergy = 1 AND d.patient IS NOT NULL";

/// The search's ids, sorted like `sql_ids`.
async fn search(query: &str) -> Vec<String> {
    common::sorted(all_ids(&format!("/AllergyIntolerance?{query}&_count=7")).await)
}

#[tokio::test]
async fn allergies_are_allergy_intolerances_and_not_conditions() {
    let allergies = sql_ids(ALLERGIES);
    assert!(allergies.len() > 3, "the demo has allergies: {allergies:?}");
    assert_eq!(search("_count=7").await, allergies);
    let conditions = all_ids("/Condition?_count=200").await;
    assert!(!conditions.is_empty());
    assert!(conditions.iter().all(|c| !allergies.contains(c)));
    // One id space, split by the flag: each id is read from its own type only.
    assert_eq!(get(&format!("/Condition/{}", allergies[0])).await.0, 404);
    assert_eq!(
        get(&format!("/AllergyIntolerance/{}", conditions[0]))
            .await
            .0,
        404
    );
    assert_eq!(get("/AllergyIntolerance/x-1").await.0, 404);
}

#[tokio::test]
async fn read_maps_the_row() {
    let id = sql_text(&format!(
        "SELECT CAST(MIN(d.id) AS TEXT) FROM ({ALLERGIES} AND d.allergy_type = 'da' \
         AND d.disease_severity = '3_sv' AND d.short_comment IS NOT NULL) x \
         JOIN gnuhealth_patient_disease d ON d.id = x.id"
    ));
    let row = |col: &str| {
        sql_text(&format!(
            "SELECT CAST({col} AS TEXT) FROM gnuhealth_patient_disease d \
             JOIN gnuhealth_pathology pg ON pg.id = d.pathology WHERE d.id = {id}"
        ))
    };
    let (status, a) = get(&format!("/AllergyIntolerance/{id}")).await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["resourceType"], "AllergyIntolerance");
    assert_eq!(
        a["patient"]["reference"],
        format!("Patient/{}", row("d.patient"))
    );
    let coding = &a["code"]["coding"][0];
    assert_eq!(coding["system"], "http://hl7.org/fhir/sid/icd-10");
    assert_eq!(coding["code"], row("pg.code"));
    assert_eq!(coding["display"], row("pg.name"));
    assert_eq!(a["type"], "allergy");
    assert_eq!(a["category"], serde_json::json!(["medication"]));
    assert_eq!(a["criticality"], "high");
    assert_eq!(a["verificationStatus"]["coding"][0]["code"], "confirmed");
    assert_eq!(a["clinicalStatus"]["coding"][0]["code"], "active");
    assert_eq!(a["onsetDateTime"], row("d.diagnosed_date"));
    assert_eq!(
        a["recorder"]["reference"],
        format!("Practitioner/{}", row("d.healthprof"))
    );
    assert_eq!(a["asserter"], a["recorder"]);
    let comment = row("d.short_comment");
    assert_eq!(a["note"][0]["text"], comment.as_str());
    assert_eq!(
        a["reaction"][0]["manifestation"][0]["text"],
        comment.as_str()
    );
    assert_eq!(a["reaction"][0]["severity"], "severe");
    assert!(
        a["recordedDate"]
            .as_str()
            .is_some_and(|d| d.starts_with(&row("substr(d.create_date, 1, 10)")))
    );
    assert!(a["meta"]["lastUpdated"].is_string());
}

#[tokio::test]
async fn token_parameters_match_the_stored_codes() {
    for code in sql_texts(&format!(
        "SELECT DISTINCT pg.code FROM gnuhealth_pathology pg \
         WHERE pg.id IN (SELECT d.pathology FROM ({ALLERGIES}) x \
         JOIN gnuhealth_patient_disease d ON d.id = x.id)"
    )) {
        let expected = sql_ids(&format!(
            "{ALLERGIES} AND d.pathology IN (SELECT id FROM gnuhealth_pathology WHERE code = '{code}')"
        ));
        assert_eq!(search(&format!("code={code}")).await, expected, "{code}");
        assert_eq!(
            search(&format!("code=http://hl7.org/fhir/sid/icd-10|{code}")).await,
            expected
        );
    }
    assert!(search("code=I10").await.is_empty(), "a condition's code");

    let by_type = |stored: &str| sql_ids(&format!("{ALLERGIES} AND d.allergy_type IN ({stored})"));
    assert_eq!(search("type=allergy").await, by_type("'da', 'fa', 'ma'"));
    assert_eq!(search("type=intolerance").await, by_type("'mc'"));
    assert_eq!(search("category=medication").await, by_type("'da'"));
    assert_eq!(search("category=food").await, by_type("'fa'"));
    assert_eq!(
        search("category=http://hl7.org/fhir/allergy-intolerance-category|environment").await,
        by_type("'ma'")
    );
    assert!(search("category=biologic").await.is_empty());

    let by_severity = |stored: &str, extra: &str| {
        sql_ids(&format!(
            "{ALLERGIES} AND d.disease_severity IN ({stored}){extra}"
        ))
    };
    assert_eq!(search("criticality=high").await, by_severity("'3_sv'", ""));
    assert_eq!(
        search("criticality=low").await,
        by_severity("'1_mi', '2_mo'", "")
    );
    let with_comment = " AND TRIM(d.short_comment) <> ''";
    for (fhir, stored) in [
        ("mild", "'1_mi'"),
        ("moderate", "'2_mo'"),
        ("severe", "'3_sv'"),
    ] {
        assert_eq!(
            search(&format!("severity={fhir}")).await,
            by_severity(stored, with_comment),
            "{fhir}"
        );
    }

    let all = sql_ids(ALLERGIES);
    let resolved = sql_ids(&format!(
        "{ALLERGIES} AND (d.status = 'h' OR d.healed_date IS NOT NULL)"
    ));
    let active = sql_ids(&format!(
        "{ALLERGIES} AND NOT (d.status = 'h' OR d.healed_date IS NOT NULL) AND d.is_active = 1"
    ));
    assert_eq!(search("clinical-status=resolved").await, resolved);
    assert_eq!(search("clinical-status=active").await, active);
    assert_eq!(
        search("clinical-status=active,inactive,resolved").await,
        all
    );
    assert_eq!(search("verification-status=confirmed").await, all);
    assert!(search("verification-status=refuted").await.is_empty());
}

#[tokio::test]
async fn reference_parameters_and_the_patient_compartment() {
    let patient = sql_text(&format!(
        "SELECT CAST(d.patient AS TEXT) FROM ({ALLERGIES}) x \
         JOIN gnuhealth_patient_disease d ON d.id = x.id ORDER BY d.id LIMIT 1"
    ));
    let expected = sql_ids(&format!("{ALLERGIES} AND d.patient = {patient}"));
    assert!(!expected.is_empty());
    assert_eq!(search(&format!("patient={patient}")).await, expected);
    assert_eq!(
        search(&format!("patient=Patient/{patient}")).await,
        expected
    );
    let compartment = all_ids(&format!("/Patient/{patient}/AllergyIntolerance?_count=2")).await;
    assert_eq!(common::sorted(compartment), expected);

    for prof in sql_texts(&format!(
        "SELECT DISTINCT CAST(d.healthprof AS TEXT) FROM ({ALLERGIES}) x \
         JOIN gnuhealth_patient_disease d ON d.id = x.id WHERE d.healthprof IS NOT NULL"
    )) {
        let expected = sql_ids(&format!("{ALLERGIES} AND d.healthprof = {prof}"));
        assert_eq!(search(&format!("recorder={prof}")).await, expected);
        assert_eq!(
            search(&format!("asserter=Practitioner/{prof}")).await,
            expected
        );
    }

    // The included patient comes with the allergy.
    let (status, b) = get(&format!(
        "/AllergyIntolerance?patient={patient}&_include=AllergyIntolerance:patient"
    ))
    .await;
    assert_eq!(status, 200, "{b}");
    let included: Vec<String> = b["entry"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["search"]["mode"] == "include")
                .filter_map(|e| e["resource"]["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(included, vec![patient.clone()]);
    // And the patient brings its allergies back.
    let (_, b) = get(&format!(
        "/Patient?_id={patient}&_revinclude=AllergyIntolerance:patient"
    ))
    .await;
    assert_eq!(
        b["entry"].as_array().map(Vec::len),
        Some(1 + expected.len())
    );
}

#[tokio::test]
async fn date_parameters_and_ids() {
    // The middle of each column's values splits the allergies in two non-empty parts.
    let middle = |col: &str| {
        let days = sql_texts(&format!(
            "SELECT DISTINCT substr({col}, 1, 10) FROM ({ALLERGIES}) x \
             JOIN gnuhealth_patient_disease d ON d.id = x.id WHERE {col} IS NOT NULL ORDER BY 1"
        ));
        days.get(days.len() / 2).cloned().unwrap_or_default()
    };
    let onset = middle("d.diagnosed_date");
    assert_eq!(
        search(&format!("onset=ge{onset}")).await,
        sql_ids(&format!("{ALLERGIES} AND d.diagnosed_date >= '{onset}'"))
    );
    assert_eq!(
        search(&format!("onset={onset}")).await,
        sql_ids(&format!("{ALLERGIES} AND d.diagnosed_date = '{onset}'"))
    );
    let recorded = middle("d.create_date");
    assert_eq!(
        search(&format!("date=lt{recorded}")).await,
        sql_ids(&format!("{ALLERGIES} AND d.create_date < '{recorded}'"))
    );
    let updated = middle("COALESCE(d.write_date, d.create_date)");
    assert_eq!(
        search(&format!("_lastUpdated=ge{updated}")).await,
        sql_ids(&format!(
            "{ALLERGIES} AND COALESCE(d.write_date, d.create_date) >= '{updated}'"
        ))
    );

    let all = sql_ids(ALLERGIES);
    let two = format!("{},{}", all[0], all[1]);
    assert_eq!(search(&format!("_id={two}")).await, all[..2].to_vec());
    // A condition's id is no allergy.
    let condition = sql_text(
        "SELECT CAST(MIN(id) AS TEXT) FROM gnuhealth_patient_disease \
         WHERE is_allergy IS NULL OR is_allergy = 0",
    );
    assert!(search(&format!("_id={condition}")).await.is_empty());
}
