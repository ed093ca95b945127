//! The HTTP interface end to end on the embedded demo database: CapabilityStatement,
//! authentication, read, search, paging, and every error's status and OperationOutcome.

mod common;

use common::{all_ids, client, get, ids, link, server, sorted, sql_ids};

#[tokio::test]
async fn capability_statement_is_public_and_lists_every_type() {
    for path in ["/metadata", "/"] {
        let resp = client()
            .get(format!("{}{path}", server().base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(resp.status().as_u16(), 200);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap_or("")
                .starts_with("application/fhir+json")
        );
        let cs: serde_json::Value = resp.json().await.unwrap_or_default();
        assert_eq!(cs["resourceType"], "CapabilityStatement");
        assert_eq!(cs["fhirVersion"], "4.0.1");
        let types: Vec<&str> = cs["rest"][0]["resource"]
            .as_array()
            .map(|a| a.iter().filter_map(|r| r["type"].as_str()).collect())
            .unwrap_or_default();
        for t in gnuhealth::registry::all() {
            assert!(types.contains(&t.type_name), "{} missing", t.type_name);
        }
        let patient = &cs["rest"][0]["resource"]
            .as_array()
            .and_then(|a| a.iter().find(|r| r["type"] == "Patient").cloned())
            .unwrap_or_default();
        let params: Vec<&str> = patient["searchParam"]
            .as_array()
            .map(|a| a.iter().filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        for p in [
            "_id",
            "identifier",
            "name",
            "family",
            "given",
            "birthdate",
            "gender",
            "telecom",
            "phone",
            "email",
            "address-city",
            "general-practitioner",
            "active",
            "deceased",
        ] {
            assert!(params.contains(&p), "Patient parameter {p} missing");
        }
    }
}

#[tokio::test]
async fn every_other_endpoint_needs_credentials() {
    let base = &server().base;
    for path in ["/Patient", "/Patient/1", "/Condition?patient=1"] {
        let resp = client()
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(resp.status().as_u16(), 401, "{path}");
        assert!(resp.headers().contains_key("www-authenticate"));
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        assert_eq!(body["resourceType"], "OperationOutcome");
    }
    let wrong = client()
        .get(format!("{base}/Patient/1"))
        .basic_auth(gnuhealth::demo::DEMO_LOGIN, Some("wrong-password"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(wrong.status().as_u16(), 401);
    let nobody = client()
        .get(format!("{base}/Patient/1"))
        .basic_auth("nobody-here", Some("x"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(nobody.status().as_u16(), 401);
}

#[tokio::test]
async fn read_returns_the_resource_with_an_etag() {
    let resp = client()
        .get(format!("{}/Patient/1", server().base))
        .basic_auth(
            gnuhealth::demo::DEMO_LOGIN,
            Some(gnuhealth::demo::DEMO_PASSWORD),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 200);
    let etag = resp
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let p: serde_json::Value = resp.json().await.unwrap_or_default();
    assert_eq!(p["resourceType"], "Patient");
    assert_eq!(p["id"], "1");
    let version = p["meta"]["versionId"].as_str().unwrap_or("");
    assert_eq!(etag, Some(format!("W/\"{version}\"")));
    assert!(p["name"][0]["family"].is_string());
}

#[tokio::test]
async fn errors_are_operation_outcomes_with_the_right_status() {
    let cases = [
        ("/Patient/999999", 404),
        ("/Patient/not-a-number", 404),
        ("/Patient/bad%20id", 404),
        ("/NoSuchType/1", 404),
        ("/NoSuchType", 404),
        ("/Patient?no-such-param=1", 400),
        ("/Patient?birthdate=1977-13-01", 400),
        ("/Patient?gender:exact=male", 400),
        ("/Patient?_count=-1", 400),
        ("/Patient?_cursor=forged.cursor", 400),
        ("/Patient?_format=html", 406),
        ("/Patient?active=maybe", 400),
    ];
    for (path, status) in cases {
        let (got, body) = get(path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(body["resourceType"], "OperationOutcome", "{path}");
        assert!(body["issue"][0]["diagnostics"].is_string(), "{path}");
    }
}

#[tokio::test]
async fn method_media_type_and_accept_errors() {
    let base = &server().base;
    let auth = (
        gnuhealth::demo::DEMO_LOGIN,
        Some(gnuhealth::demo::DEMO_PASSWORD),
    );
    let del = client()
        .delete(format!("{base}/Patient/1"))
        .basic_auth(auth.0, auth.1)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(del.status().as_u16(), 405);
    let html = client()
        .get(format!("{base}/Patient/1"))
        .header("accept", "image/png")
        .basic_auth(auth.0, auth.1)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(html.status().as_u16(), 406);
    let json_body = client()
        .post(format!("{base}/Patient/_search"))
        .header("content-type", "application/json")
        .body("{}")
        .basic_auth(auth.0, auth.1)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json_body.status().as_u16(), 415);
}

#[tokio::test]
async fn post_search_equals_get_search() {
    let (_, by_get) = get("/Patient?gender=female&_count=100").await;
    let resp = client()
        .post(format!("{}/Patient/_search", server().base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("gender=female&_count=100")
        .basic_auth(
            gnuhealth::demo::DEMO_LOGIN,
            Some(gnuhealth::demo::DEMO_PASSWORD),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 200);
    let by_post: serde_json::Value = resp.json().await.unwrap_or_default();
    assert_eq!(ids(&by_get), ids(&by_post));
    assert_eq!(by_get["total"], by_post["total"]);
}

#[tokio::test]
async fn lenient_handling_ignores_unknown_parameters() {
    let resp = client()
        .get(format!(
            "{}/Patient?no-such-param=1&gender=male",
            server().base
        ))
        .header("prefer", "handling=lenient")
        .basic_auth(
            gnuhealth::demo::DEMO_LOGIN,
            Some(gnuhealth::demo::DEMO_PASSWORD),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 200);
    let b: serde_json::Value = resp.json().await.unwrap_or_default();
    let self_link = link(&b, "self").unwrap_or_default();
    assert!(!self_link.contains("no-such-param"), "{self_link}");
    assert!(self_link.contains("gender=male"), "{self_link}");
}

#[tokio::test]
async fn paging_walks_every_match_once_in_both_directions() {
    let expected = sql_ids("SELECT id FROM gnuhealth_patient");
    let walked = all_ids("/Patient?_count=7").await;
    assert_eq!(sorted(walked.clone()), expected);
    let mut dedup = walked.clone();
    dedup.dedup();
    assert_eq!(dedup.len(), walked.len(), "duplicates while paging");
    // Total is the number of matches, whatever the page size.
    let (_, first) = get("/Patient?_count=7").await;
    assert_eq!(first["total"].as_u64(), Some(expected.len() as u64));
    assert_eq!(ids(&first).len(), 7);
    // next then previous gives the first page back.
    let next = link(&first, "next").unwrap_or_default();
    let (_, second) = get(&next).await;
    let prev = link(&second, "previous").unwrap_or_default();
    let (_, back) = get(&prev).await;
    assert_eq!(ids(&back), ids(&first));
    // A cursor is bound to its search.
    let cursor = next.split("_cursor=").nth(1).unwrap_or_default();
    let (status, _) = get(&format!("/Patient?gender=male&_count=7&_cursor={cursor}")).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn count_zero_and_count_above_the_maximum() {
    let (status, b) = get("/Patient?_count=0").await;
    assert_eq!(status, 200);
    assert!(ids(&b).is_empty());
    assert_eq!(b["total"].as_u64(), Some(u64::from(common::PATIENTS)));
    let (status, b) = get("/Patient?_count=1000").await;
    assert_eq!(status, 200);
    assert_eq!(ids(&b).len(), common::PATIENTS as usize);
    // Above max_count (1000 by default): refused, with the maximum in the message.
    let (status, b) = get("/Patient?_count=100000").await;
    assert_eq!(status, 400);
    assert_eq!(b["resourceType"], "OperationOutcome");
    let text = b["issue"][0]["diagnostics"].as_str().unwrap_or_default();
    assert!(text.contains("maximum of 1000"), "{text}");
}

#[tokio::test]
async fn patient_search_parameters_match_the_database() {
    // Each expectation is computed with plain SQL on the demo file.
    let cases = [
        (
            "/Patient?gender=female",
            "SELECT pat.id FROM gnuhealth_patient pat JOIN party_party p ON p.id = pat.party WHERE p.gender = 'f'",
        ),
        (
            "/Patient?birthdate=ge1980-01-01",
            "SELECT pat.id FROM gnuhealth_patient pat JOIN party_party p ON p.id = pat.party WHERE p.dob >= '1980-01-01'",
        ),
        (
            "/Patient?birthdate=lt1950",
            "SELECT pat.id FROM gnuhealth_patient pat JOIN party_party p ON p.id = pat.party WHERE p.dob < '1950-01-01'",
        ),
        (
            "/Patient?deceased=true",
            "SELECT pat.id FROM gnuhealth_patient pat JOIN party_party p ON p.id = pat.party WHERE p.deceased = 1",
        ),
        (
            "/Patient?general-practitioner=Practitioner/1",
            "SELECT id FROM gnuhealth_patient WHERE primary_care_doctor = 1",
        ),
    ];
    for (path, sql) in cases {
        let got = sorted(all_ids(path).await);
        assert_eq!(got, sql_ids(sql), "{path}");
    }
    // Name search: case- and accent-insensitive prefix of a family name.
    let conn = rusqlite::Connection::open(&server().db_path).unwrap_or_else(|e| panic!("{e}"));
    let family: String = conn
        .query_row(
            "SELECT n.family FROM gnuhealth_person_name n \
             JOIN gnuhealth_patient pat ON pat.party = n.party \
             WHERE n.use = 'official' ORDER BY n.id LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let prefix: String = family.chars().take(3).collect::<String>().to_uppercase();
    let got = sorted(all_ids(&format!("/Patient?family={prefix}")).await);
    // SQLite's LIKE is case-insensitive for ASCII: a lower bound for the folded search.
    let like = sql_ids(&format!(
        "SELECT DISTINCT pat.id FROM gnuhealth_patient pat \
         JOIN gnuhealth_person_name n ON n.party = pat.party WHERE n.family LIKE '{}%'",
        prefix.replace('\'', "''")
    ));
    assert!(
        like.iter().all(|id| got.contains(id)),
        "family={prefix}: {got:?} vs {like:?}"
    );
    for id in &got {
        let (_, p) = get(&format!("/Patient/{id}")).await;
        let folded = fhir::search::fold(&prefix);
        let hit = p["name"].as_array().into_iter().flatten().any(|n| {
            n["family"]
                .as_str()
                .is_some_and(|f| fhir::search::fold(f).starts_with(&folded))
        });
        assert!(
            hit,
            "Patient/{id} has no family name starting with {prefix}"
        );
    }
    let exact = all_ids(&format!("/Patient?family:exact={family}")).await;
    assert!(!exact.is_empty());
    assert!(exact.iter().all(|id| got.contains(id)));
    let contains = all_ids(&format!(
        "/Patient?family:contains={}",
        family.chars().skip(1).take(3).collect::<String>()
    ))
    .await;
    assert!(exact.iter().all(|id| contains.contains(id)));
}

#[tokio::test]
async fn every_resource_type_searches_and_reads() {
    for def in gnuhealth::registry::all() {
        let (status, b) = get(&format!("/{}?_count=3", def.type_name)).await;
        assert_eq!(status, 200, "{}: {b}", def.type_name);
        assert_eq!(b["resourceType"], "Bundle");
        assert!(
            b["total"].as_u64().unwrap_or(0) > 0,
            "{} has no data",
            def.type_name
        );
        for e in b["entry"].as_array().cloned().unwrap_or_default() {
            assert_eq!(e["resource"]["resourceType"], def.type_name);
            assert_eq!(e["search"]["mode"], "match");
            let id = e["resource"]["id"].as_str().unwrap_or_default();
            let (status, r) = get(&format!("/{}/{id}", def.type_name)).await;
            assert_eq!(status, 200);
            assert_eq!(
                r, e["resource"],
                "read and search disagree for {}/{id}",
                def.type_name
            );
        }
    }
}

#[tokio::test]
async fn telecom_search_finds_own_numbers_not_emergency_contacts() {
    let conn = rusqlite::Connection::open(&server().db_path).unwrap_or_else(|e| panic!("{e}"));
    let pick = |emergency: i64| -> String {
        conn.query_row(
            "SELECT cm.value FROM party_contact_mechanism cm \
             JOIN gnuhealth_patient pat ON pat.party = cm.party \
             WHERE cm.emergency = ?1 AND cm.type IN ('phone', 'mobile') ORDER BY cm.id LIMIT 1",
            [emergency],
            |r| r.get(0),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let expected = |value: &str| {
        sql_ids(&format!(
            "SELECT DISTINCT pat.id FROM gnuhealth_patient pat \
             JOIN party_contact_mechanism cm ON cm.party = pat.party \
             WHERE cm.active = 1 AND COALESCE(cm.emergency, 0) = 0 AND cm.value = '{}'",
            value.replace('\'', "''")
        ))
    };
    for value in [pick(0), pick(1)] {
        let q: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
        let got = sorted(all_ids(&format!("/Patient?telecom={q}")).await);
        assert_eq!(got, expected(&value), "telecom={value}");
        let got = sorted(all_ids(&format!("/Patient?phone={q}")).await);
        assert_eq!(got, expected(&value), "phone={value}");
    }
}

/// `POST /auth/token` with a form body; returns the status and the JSON answer.
async fn post_token(content_type: &str, body: String) -> (u16, serde_json::Value) {
    let resp = client()
        .post(format!("{}/auth/token", server().base))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

async fn get_with_token(path: &str, token: &str) -> u16 {
    client()
        .get(format!("{}{path}", server().base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .status()
        .as_u16()
}

fn form(login: &str, password: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("login", login)
        .append_pair("password", password)
        .finish()
}

#[tokio::test]
async fn bearer_tokens_are_issued_and_accepted() {
    let (login, password) = (gnuhealth::demo::DEMO_LOGIN, gnuhealth::demo::DEMO_PASSWORD);
    let (status, body) =
        post_token("application/x-www-form-urlencoded", form(login, password)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    let token = body["access_token"].as_str().unwrap_or_default().to_owned();
    assert_eq!(get_with_token("/Patient/1", &token).await, 200);
    let json = serde_json::json!({"login": login, "password": password}).to_string();
    let (status, body) = post_token("application/json", json).await;
    assert_eq!(status, 200, "{body}");

    // Refused: wrong password, missing field, other media types, forged or altered tokens.
    let (status, body) = post_token("application/x-www-form-urlencoded", form(login, "nope")).await;
    assert_eq!(
        (status, body["resourceType"].as_str()),
        (401, Some("OperationOutcome"))
    );
    let (status, _) = post_token("application/x-www-form-urlencoded", "login=demo".into()).await;
    assert_eq!(status, 400);
    let (status, _) = post_token("text/plain", form(login, password)).await;
    assert_eq!(status, 415);
    assert_eq!(get_with_token("/Patient/1", "garbage").await, 401);
    let mut altered = token.clone().into_bytes();
    if let Some(b) = altered.get_mut(3) {
        *b = if *b == b'A' { b'B' } else { b'A' };
    }
    let altered = String::from_utf8(altered).unwrap_or_default();
    assert_eq!(get_with_token("/Patient/1", &altered).await, 401);
}

#[tokio::test]
async fn expired_and_revoked_tokens_are_refused() {
    use gnuhealth_fhir::auth::{Authenticator, Principal};
    let path = &server().db_path;
    let conn = rusqlite::Connection::open(path).unwrap_or_else(|e| panic!("{e}"));
    let hash = gnuhealth::security::hash_scrypt("first-Password-1", b"0123456789abcdef")
        .unwrap_or_default();
    conn.execute(
        "INSERT INTO res_user (login, name, active, password_hash, create_uid, create_date) \
         VALUES ('token_test', 'Token Test', 1, ?1, 0, '2026-01-01 00:00:00')",
        [&hash],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let uid = conn.last_insert_rowid();

    let (status, body) = post_token(
        "application/x-www-form-urlencoded",
        form("token_test", "first-Password-1"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap_or_default().to_owned();
    assert_eq!(get_with_token("/Patient/1", &token).await, 200);

    // Expired: signed with the server's key, but issued two hours ago for one hour.
    let db = gnuhealth::db::Database::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let auth = Authenticator::new(
        b"test-secret-key-0123456789",
        std::time::Duration::from_secs(1),
        gnuhealth::security::Throttle::default(),
        false,
    );
    let principal = Principal {
        user_id: uid,
        login: "token_test".into(),
    };
    let now = chrono::Utc::now().timestamp();
    let expired = auth
        .issue_token(&db, &principal, now - 7200, 3600)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(get_with_token("/Patient/1", &expired).await, 401);
    let fresh = auth
        .issue_token(&db, &principal, now, 3600)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(get_with_token("/Patient/1", &fresh).await, 200);

    // A password change revokes the tokens issued before it; so does deactivation.
    let new_hash = gnuhealth::security::hash_scrypt("second-Password-2", b"fedcba9876543210")
        .unwrap_or_default();
    conn.execute(
        "UPDATE res_user SET password_hash = ?1 WHERE id = ?2",
        rusqlite::params![new_hash, uid],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(get_with_token("/Patient/1", &token).await, 401);
    let (_, body) = post_token(
        "application/x-www-form-urlencoded",
        form("token_test", "second-Password-2"),
    )
    .await;
    let token = body["access_token"].as_str().unwrap_or_default().to_owned();
    assert_eq!(get_with_token("/Patient/1", &token).await, 200);
    conn.execute("UPDATE res_user SET active = 0 WHERE id = ?1", [uid])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(get_with_token("/Patient/1", &token).await, 401);
}
