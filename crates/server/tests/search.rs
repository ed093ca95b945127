//! The result side of search on the demo database: `_sort` (with keyset paging in both
//! directions), `_total`, lenient handling reported in the Bundle, compartments, chaining,
//! `_has`, `_include` and `_revinclude`. Expected results come from SQL written here, on
//! the demo database, not from the server's own SQL.

mod common;

use common::{all_ids, get, ids, link, sql_ids, sql_ids_in_order};

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
