//! `db suggest-indexes`: on a demo database (GNU Health's own schema, so none of the
//! suggested indexes), every suggestion is printed; once the administrator ran the SQL,
//! none is, a patient's Observation search uses the index on the lab reports, and the
//! pages after the first of a birth-date sort start in the index on birth dates, and a
//! family-name search in the indexes on folded names.

use gnuhealth::db::Database;
use gnuhealth::indexes::{SUGGESTED, suggestion};
use gnuhealth::resources::Context;
use gnuhealth::search::SearchRequest;

#[tokio::test]
async fn suggested_indexes_are_printed_until_created_and_then_used() {
    let path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("indexes-demo.sqlite");
    let _ = std::fs::remove_file(&path);
    let opts = gnuhealth::demo::DemoOptions {
        patients: 20,
        seed: 5,
    };
    gnuhealth::demo::create_or_reuse(&path, &opts).unwrap_or_else(|e| panic!("demo: {e}"));
    let url = format!("sqlite://{}", path.display());

    let db = Database::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let sql = suggestion(&db).await.unwrap_or_else(|e| panic!("{e}"));
    for ix in SUGGESTED {
        assert!(
            sql.contains(&ix.name()),
            "{} missing from:\n{sql}",
            ix.name()
        );
    }
    // Without the indexes, the folded names (hundreds of replace() calls) are not computed.
    let patient = gnuhealth::registry::find("Patient").unwrap_or_else(|| panic!("Patient"));
    let ctx = Context {
        base_url: "http://localhost".into(),
    };
    let family = SearchRequest::new(vec![("family".into(), "gar".into())], 5);
    let plans = gnuhealth::search::explain(&db, patient, &ctx, &family)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        plans.iter().all(|(sql, _)| !sql.contains("CASE substr(")),
        "{plans:?}"
    );
    drop(db);

    // The administrator runs it.
    let conn = rusqlite::Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
    conn.execute_batch(&sql).unwrap_or_else(|e| panic!("{e}"));
    drop(conn);

    let db = Database::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let again = suggestion(&db).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(!again.contains("CREATE INDEX"), "{again}");

    let def = gnuhealth::registry::find("Observation").unwrap_or_else(|| panic!("Observation"));
    let req = SearchRequest::new(vec![("patient".into(), "1".into())], 20);
    let plans = gnuhealth::search::explain(&db, def, &ctx, &req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let text: String = plans
        .iter()
        .flat_map(|(_, plan)| plan.iter().cloned())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("ghf_gnuhealth_lab_patient")
            && text.contains("ghf_gnuhealth_patient_evaluation_patient"),
        "{text}"
    );

    let def = gnuhealth::registry::find("Patient").unwrap_or_else(|| panic!("Patient"));
    let mut req = SearchRequest::new(Vec::new(), 5);
    req.sort = gnuhealth::search::parse_sort(def, "birthdate").unwrap_or_else(|e| panic!("{e}"));
    // After a patient born on 1970-01-01 with id 3: (NULL flag, birth date, id).
    req.pos = gnuhealth::search::PagePos::After(vec![
        Some("1".into()),
        Some("1970-01-01".into()),
        Some("3".into()),
    ]);
    let plans = gnuhealth::search::explain(&db, def, &ctx, &req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (page_sql, page_plan) = &plans[0];
    assert!(
        page_plan.iter().any(|l| l.contains("ghf_party_party_dob")),
        "{page_sql}\n{page_plan:?}"
    );

    // A family-name search starts from the folded names (its page and its count): with
    // a value as long as the folded start, from its prefixes alone; shorter, also from
    // the range of starts that begin with it.
    let short = SearchRequest::new(vec![("family".into(), "ga".into())], 5);
    for (search, range) in [(&family, false), (&short, true)] {
        let plans = gnuhealth::search::explain(&db, patient, &ctx, search)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        for (sql, plan) in &plans {
            assert_eq!(sql.contains("BETWEEN"), range, "{sql:.300}");
            for index in [
                "ghf_gnuhealth_person_name_family_folded",
                "ghf_party_party_lastname_folded",
            ] {
                assert!(
                    plan.iter().any(|l| l.contains(index)),
                    "{index}: {plan:?}\n{sql:.300}"
                );
            }
        }
    }
}
