//! Encounter and the vital-sign Observations on the demo database: evaluations, hospital
//! stays and nursing sessions as encounters, the measures of evaluations, sessions and
//! nursing rounds as Observations, reads, search parameters, links between them. Expected
//! results come from SQL written here over GNU Health's tables, not from the server's union.

mod common;

use common::{all_ids, all_ids_as, get, sql_ids, sql_text, sql_texts};

async fn search(path: &str) -> Vec<String> {
    let sep = if path.contains('?') { '&' } else { '?' };
    common::sorted(all_ids(&format!("{path}{sep}_count=50")).await)
}

/// Every encounter as a FHIR id, with a condition on each table (aliased `t`).
fn encounters(eval: &str, stay: &str, session: &str) -> Vec<String> {
    sql_texts(&format!(
        "SELECT 'eval-' || t.id FROM gnuhealth_patient_evaluation t WHERE {eval} \
         UNION ALL SELECT 'inp-' || t.id FROM gnuhealth_inpatient_registration t WHERE {stay} \
         UNION ALL SELECT 'amb-' || t.id FROM gnuhealth_patient_ambulatory_care t WHERE {session}"
    ))
}

#[tokio::test]
async fn every_evaluation_stay_and_session_is_an_encounter() {
    let all = search("/Encounter?_id:missing=false").await;
    assert_eq!(all, encounters("1 = 1", "1 = 1", "1 = 1"));
    for prefix in ["eval-", "inp-", "amb-"] {
        assert!(all.iter().any(|i| i.starts_with(prefix)), "{prefix}");
    }
    assert_eq!(get("/Encounter/eval-999999").await.0, 404);
    assert_eq!(get("/Encounter/12").await.0, 404);
}

#[tokio::test]
async fn an_evaluation_reads_with_its_people_dates_and_diagnoses() {
    let id = sql_text(
        "SELECT CAST(MIN(e.id) AS TEXT) FROM gnuhealth_patient_evaluation e \
         WHERE e.state = 'signed' AND e.related_condition IS NOT NULL \
         AND EXISTS (SELECT 1 FROM gnuhealth_secondary_condition s WHERE s.evaluation = e.id)",
    );
    let col = |c: &str| {
        sql_text(&format!(
            "SELECT CAST({c} AS TEXT) FROM gnuhealth_patient_evaluation e WHERE e.id = {id}"
        ))
    };
    let (status, e) = get(&format!("/Encounter/eval-{id}")).await;
    assert_eq!(status, 200, "{e}");
    assert_eq!(e["status"], "finished");
    assert_eq!(e["class"]["code"], "AMB");
    assert_eq!(
        e["subject"]["reference"],
        format!("Patient/{}", col("e.patient"))
    );
    assert_eq!(e["identifier"][0]["value"], col("e.code"));
    assert!(
        e["period"]["start"]
            .as_str()
            .is_some_and(|s| s.starts_with(&col("substr(e.evaluation_start, 1, 10)")))
    );
    assert!(e["period"]["end"].is_string());
    assert_eq!(
        e["participant"][0]["individual"]["reference"],
        format!("Practitioner/{}", col("e.healthprof"))
    );
    assert_eq!(e["participant"][0]["type"][0]["coding"][0]["code"], "PPRF");
    assert_eq!(
        e["reasonReference"][0]["reference"],
        format!("Condition/{}", col("e.related_condition"))
    );
    assert_eq!(
        e["serviceProvider"]["reference"],
        format!("Organization/{}", col("e.institution"))
    );
    // Main diagnosis first, then the secondary conditions, each a contained Condition.
    let codes: Vec<String> = e["diagnosis"]
        .as_array()
        .unwrap_or_else(|| panic!("{e}"))
        .iter()
        .map(|d| {
            let local = d["condition"]["reference"]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches('#');
            let c = e["contained"]
                .as_array()
                .and_then(|cs| cs.iter().find(|c| c["id"] == local))
                .unwrap_or_else(|| panic!("{local} not contained: {e}"));
            c["code"]["coding"][0]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(
        codes[0],
        col("(SELECT p.code FROM gnuhealth_pathology p WHERE p.id = e.diagnosis)")
    );
    let secondary = sql_texts(&format!(
        "SELECT p.code FROM gnuhealth_secondary_condition s \
         JOIN gnuhealth_pathology p ON p.id = s.pathology WHERE s.evaluation = {id}"
    ));
    for s in &secondary {
        assert!(codes.contains(s), "{s} in {codes:?}");
    }
    assert_eq!(e["diagnosis"][1]["use"]["coding"][0]["code"], "CM");
}

#[tokio::test]
async fn a_stay_is_an_inpatient_encounter_in_its_bed() {
    let id = sql_text(
        "SELECT CAST(MIN(id) AS TEXT) FROM gnuhealth_inpatient_registration WHERE state = 'done'",
    );
    let bed = sql_text(&format!(
        "SELECT CAST(bed AS TEXT) FROM gnuhealth_inpatient_registration WHERE id = {id}"
    ));
    let (status, e) = get(&format!("/Encounter/inp-{id}")).await;
    assert_eq!(status, 200, "{e}");
    assert_eq!(e["class"]["code"], "IMP");
    assert_eq!(e["status"], "finished");
    assert_eq!(
        e["location"][0]["location"]["reference"],
        format!("Location/bed-{bed}")
    );
    assert_eq!(e["location"][0]["status"], "completed");
    assert_eq!(
        e["hospitalization"]["dischargeDisposition"]["coding"][0]["code"],
        "home"
    );
    let uses: Vec<&str> = e["diagnosis"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(|x| x["use"]["coding"][0]["code"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(uses, ["AD", "DD"]);
    // The bed resolves, and its encounters are found by location.
    assert_eq!(get(&format!("/Location/bed-{bed}")).await.0, 200);
    assert!(
        search(&format!("/Encounter?location=bed-{bed}"))
            .await
            .contains(&format!("inp-{id}"))
    );
    // The surgery of the stay, and its procedure lines, were done in it.
    let procedures = sql_texts(&format!(
        "SELECT 'surg-' || s.id FROM gnuhealth_surgery s WHERE s.admission = {id} \
         UNION ALL SELECT 'op-' || o.id FROM gnuhealth_operation o \
         JOIN gnuhealth_surgery s ON s.id = o.surgery WHERE s.admission = {id}"
    ));
    assert!(!procedures.is_empty());
    assert_eq!(
        search(&format!("/Procedure?encounter=inp-{id}")).await,
        procedures
    );
    let (_, p) = get(&format!("/Procedure/{}", procedures[0])).await;
    assert_eq!(p["encounter"]["reference"], format!("Encounter/inp-{id}"));
    // The nursing rounds' vital signs belong to the stay.
    let rounds = sql_texts(&format!(
        "SELECT 'rnd-' || id || '-temperature' FROM gnuhealth_patient_rounding \
         WHERE registration = {id} AND temperature IS NOT NULL"
    ));
    assert!(!rounds.is_empty());
    let query = format!("/Observation?encounter=inp-{id}&code=http://loinc.org|8310-5&_count=9");
    assert_eq!(common::sorted(all_ids_as("nurse", &query).await), rounds);
    // Nursing rounds are not for doctors in GNU Health's default access rights.
    assert!(search(&query).await.is_empty());
}

#[tokio::test]
async fn encounter_search_parameters_match_the_tables() {
    let patient =
        sql_text("SELECT CAST(MIN(patient) AS TEXT) FROM gnuhealth_inpatient_registration");
    assert_eq!(
        search(&format!("/Encounter?patient={patient}")).await,
        encounters(
            &format!("t.patient = {patient}"),
            &format!("t.patient = {patient}"),
            &format!("t.patient = {patient}")
        )
    );
    assert_eq!(
        search(&format!("/Patient/{patient}/Encounter")).await,
        search(&format!("/Encounter?subject=Patient/{patient}")).await
    );
    assert_eq!(
        search("/Encounter?class=IMP").await,
        encounters("t.evaluation_type = 'inpatient'", "1 = 1", "1 = 0")
    );
    assert_eq!(
        search("/Encounter?status=in-progress").await,
        encounters(
            "t.state = 'in_progress'",
            "t.state = 'hospitalized'",
            "t.state = 'draft'"
        )
    );
    assert_eq!(
        search("/Encounter?type=followup").await,
        encounters("t.visit_type = 'followup'", "1 = 0", "1 = 0")
    );
    assert_eq!(
        search("/Encounter?date=ge2024-01-01").await,
        encounters(
            "t.evaluation_start >= '2024-01-01'",
            "t.hospitalization_date >= '2024-01-01'",
            "t.session_start >= '2024-01-01'"
        )
    );
    let prof = sql_text("SELECT CAST(MIN(healthprof) AS TEXT) FROM gnuhealth_patient_evaluation");
    assert_eq!(
        search(&format!("/Encounter?practitioner={prof}")).await,
        encounters(
            &format!("{prof} IN (t.healthprof, t.signed_by, t.derived_from, t.derived_to)"),
            &format!("{prof} IN (t.attending_physician, t.operating_physician, t.discharged_by)"),
            &format!("{prof} IN (t.health_professional, t.ordering_professional, t.signed_by)")
        )
    );
    let condition =
        sql_text("SELECT CAST(MIN(related_condition) AS TEXT) FROM gnuhealth_patient_evaluation");
    assert_eq!(
        search(&format!(
            "/Encounter?reason-reference=Condition/{condition}"
        ))
        .await,
        encounters(
            &format!("t.related_condition = {condition}"),
            "1 = 0",
            "1 = 0"
        )
    );
    let code = sql_text("SELECT MIN(name) FROM gnuhealth_inpatient_registration");
    assert_eq!(
        search(&format!("/Encounter?identifier={code}")).await,
        encounters("1 = 0", &format!("t.name = '{code}'"), "1 = 0")
    );
    // One id of each kind at once, and a bad parameter.
    let some = encounters(
        "t.id = (SELECT MIN(id) FROM gnuhealth_patient_evaluation)",
        "t.id = 1",
        "t.id = 1",
    );
    assert_eq!(
        search(&format!("/Encounter?_id={}", some.join(","))).await,
        some
    );
    assert_eq!(get("/Encounter?class=").await.0, 400);
}

/// The vital signs of the demo, as FHIR ids, from the columns of the tables of `prefixes`.
fn vital_signs(prefixes: &[&str]) -> Vec<String> {
    let measures = [
        ("temperature", "temperature"),
        ("bp", "COALESCE(systolic, diastolic)"),
        ("heart-rate", "bpm"),
        ("respiratory-rate", "respiratory_rate"),
        ("oxygen-saturation", "osat"),
        ("weight", "weight"),
    ];
    let mut parts = Vec::new();
    for (key, col) in measures {
        for (prefix, table) in [
            ("eval", "gnuhealth_patient_evaluation"),
            ("amb", "gnuhealth_patient_ambulatory_care"),
            ("rnd", "gnuhealth_patient_rounding"),
        ] {
            if !prefixes.contains(&prefix) {
                continue;
            }
            parts.push(format!(
                "SELECT '{prefix}-' || id || '-{key}' FROM {table} WHERE {col} IS NOT NULL"
            ));
        }
    }
    for (key, col) in [
        ("height", "height"),
        ("bmi", "bmi"),
        ("head-circumference", "head_circumference"),
    ] {
        if !prefixes.contains(&"eval") {
            continue;
        }
        parts.push(format!(
            "SELECT 'eval-' || id || '-{key}' FROM gnuhealth_patient_evaluation WHERE {col} IS NOT NULL"
        ));
    }
    sql_texts(&parts.join(" UNION ALL "))
}

#[tokio::test]
async fn vital_signs_are_observations_of_their_encounter() {
    // Each user gets the measures of the tables they may read: the doctor not the nursing
    // rounds, the nurse everything, the front desk only the nursing sessions.
    let vitals = vital_signs(&["eval", "amb"]);
    assert!(vitals.len() > 100, "{}", vitals.len());
    assert_eq!(search("/Observation?category=vital-signs").await, vitals);
    let query = "/Observation?category=vital-signs&_count=200";
    assert_eq!(
        common::sorted(all_ids_as("nurse", query).await),
        vital_signs(&["eval", "amb", "rnd"])
    );
    assert_eq!(
        common::sorted(all_ids_as("frontdesk", query).await),
        vital_signs(&["amb"])
    );
    assert_eq!(
        common::sorted(all_ids_as("frontdesk", "/Encounter?_count=50").await),
        encounters("1 = 0", "1 = 0", "1 = 1")
    );

    // A blood pressure: one panel, two components, the R4 profile.
    let id = sql_text(
        "SELECT CAST(MIN(id) AS TEXT) FROM gnuhealth_patient_evaluation WHERE systolic IS NOT NULL AND diastolic IS NOT NULL",
    );
    let (sys, dia) = (
        sql_text(&format!(
            "SELECT CAST(systolic AS TEXT) FROM gnuhealth_patient_evaluation WHERE id = {id}"
        )),
        sql_text(&format!(
            "SELECT CAST(diastolic AS TEXT) FROM gnuhealth_patient_evaluation WHERE id = {id}"
        )),
    );
    let (status, o) = get(&format!("/Observation/eval-{id}-bp")).await;
    assert_eq!(status, 200, "{o}");
    assert_eq!(o["code"]["coding"][0]["code"], "85354-9");
    assert_eq!(
        o["meta"]["profile"][1],
        "http://hl7.org/fhir/StructureDefinition/bp"
    );
    assert_eq!(o["encounter"]["reference"], format!("Encounter/eval-{id}"));
    assert_eq!(o["component"][0]["code"]["coding"][0]["code"], "8480-6");
    assert_eq!(
        o["component"][0]["valueQuantity"]["value"].as_f64(),
        sys.parse::<f64>().ok()
    );
    assert_eq!(o["component"][0]["valueQuantity"]["code"], "mm[Hg]");
    assert_eq!(o["component"][1]["code"]["coding"][0]["code"], "8462-4");
    assert_eq!(
        o["component"][1]["valueQuantity"]["value"].as_f64(),
        dia.parse::<f64>().ok()
    );
    assert!(o.get("valueQuantity").is_none());

    // By code and value, component, encounter.
    assert_eq!(
        search("/Observation?code=http://loinc.org|8310-5&value-quantity=gt37.5").await,
        sql_texts(
            "SELECT 'eval-' || id || '-temperature' FROM gnuhealth_patient_evaluation WHERE temperature >= 37.55 \
             UNION ALL SELECT 'amb-' || id || '-temperature' FROM gnuhealth_patient_ambulatory_care WHERE temperature >= 37.55"
        )
    );
    assert_eq!(
        search("/Observation?component-code=8480-6&component-value-quantity=gt140").await,
        sql_texts(
            "SELECT 'eval-' || id || '-bp' FROM gnuhealth_patient_evaluation WHERE systolic > 140 OR diastolic > 140 \
             UNION ALL SELECT 'amb-' || id || '-bp' FROM gnuhealth_patient_ambulatory_care WHERE systolic > 140 OR diastolic > 140"
        )
    );
    let mine: Vec<String> = search(&format!("/Observation?encounter=Encounter/eval-{id}")).await;
    assert!(mine.contains(&format!("eval-{id}-bp")));
    assert!(mine.iter().all(|o| o.starts_with(&format!("eval-{id}-"))));
    // The encounter brings its observations along.
    let (_, b) = get(&format!(
        "/Encounter?_id=eval-{id}&_revinclude=Observation:encounter"
    ))
    .await;
    let included = b["entry"].as_array().map_or(0, |e| {
        e.iter()
            .filter(|x| x["search"]["mode"] == "include")
            .count()
    });
    assert_eq!(included, mine.len());
    // Lab results are still there, by their integer ids.
    let lab = sql_ids(
        "SELECT r.id FROM gnuhealth_lab_test_critearea r WHERE r.gnuhealth_lab_id IS NOT NULL",
    );
    let analytes = format!("{}/CodeSystem/lab-analyte|", common::server().base);
    assert_eq!(search(&format!("/Observation?code={analytes}")).await, lab);
    assert_eq!(get(&format!("/Observation/{}", lab[0])).await.0, 200);
}
