//! Tryton's access rights over HTTP on the demo database: model access, field access,
//! record rules and how fast changes to them take effect; sign-in throttling shared by
//! two server processes.

mod common;

use std::time::{Duration, Instant};

use common::browser::{
    browser, browser_sign_in, csrf_field, login_form, post_form, set_cookie, status_with_cookie,
};
use common::{get_as, server};

/// A connection to the test server's database, to change access rights as GNU Health's
/// administrators would (every write sets `write_date`, as trytond does).
fn db() -> rusqlite::Connection {
    rusqlite::Connection::open(&server().db_path).unwrap_or_else(|e| panic!("{e}"))
}

fn exec(sql: &str) {
    db().execute_batch(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn scalar(sql: &str) -> i64 {
    db().query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// A user of this test alone (other tests sign in concurrently, and a success clears).
fn add_user(login: &str, password: &str) {
    let hash = gnuhealth::security::hash_scrypt(password, b"throttle-salt-16").unwrap_or_default();
    db().execute(
        "INSERT INTO res_user (login, name, active, password_hash, create_uid, create_date) \
         VALUES (?1, ?1, 1, ?2, 0, '2026-01-01 00:00:00')",
        [login, &hash],
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

/// Poll until `check` holds (the server re-reads access rights within seconds).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "not within 5 s: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn is_outcome(body: &serde_json::Value) -> bool {
    body["resourceType"] == "OperationOutcome"
}

#[tokio::test]
async fn model_access_follows_groups_their_parents_and_deactivation_at_once() {
    let (status, body) = get_as("frontdesk", "/Condition").await;
    assert_eq!(status, 403, "{body}");
    assert!(is_outcome(&body));
    assert!(
        body.to_string().contains("gnuhealth.patient.disease"),
        "{body}"
    );
    let (status, _) = get_as("frontdesk", "/Patient?_count=1").await;
    assert_eq!(status, 200);
    let (status, _) = get_as("demo", "/Condition?_count=1").await;
    assert_eq!(status, 200);

    // A group of its own, granting Condition through its parent group: deactivating the
    // parent takes the grant away at once, reactivating gives it back.
    add_user("group_test", "group-Password-1");
    exec(
        "INSERT INTO res_group (name, active, create_date, create_uid) \
         VALUES ('Test parent', 1, datetime('now'), 1); \
         INSERT INTO res_group (name, active, parent, create_date, create_uid) \
         SELECT 'Test child', 1, id, datetime('now'), 1 FROM res_group WHERE name = 'Test parent'; \
         INSERT INTO \"res_user-res_group\" (\"user\", \"group\", create_date, create_uid) \
         SELECT u.id, g.id, datetime('now'), 1 FROM res_user u, res_group g \
         WHERE u.login = 'group_test' AND g.name = 'Test child'; \
         INSERT INTO ir_model_access (model, \"group\", perm_read, perm_write, perm_create, \
          perm_delete, active, create_date, create_uid) \
         SELECT m.id, g.id, 1, 0, 0, 0, 1, datetime('now'), 1 FROM ir_model m, res_group g \
         WHERE m.model = 'gnuhealth.patient.disease' AND g.name = 'Test parent';",
    );
    async fn condition() -> u16 {
        common::get_with("group_test", "group-Password-1", "/Condition?_count=1")
            .await
            .0
    }
    eventually("granted through the parent group", || async {
        condition().await == 200
    })
    .await;
    exec(
        "UPDATE res_group SET active = 0, write_date = datetime('now') WHERE name = 'Test parent'",
    );
    eventually("deactivated parent group", || async {
        condition().await == 403
    })
    .await;
    exec(
        "UPDATE res_group SET active = 1, write_date = datetime('now') WHERE name = 'Test parent'",
    );
    eventually("reactivated parent group", || async {
        condition().await == 200
    })
    .await;
}

#[tokio::test]
async fn field_access_leaves_elements_out_and_refuses_their_search_parameters() {
    let (status, patient) = get_as("nurse", "/Patient/1").await;
    assert_eq!(status, 200, "{patient}");
    assert!(patient.get("birthDate").is_some(), "{patient}");
    let birth_date = patient["birthDate"].as_str().unwrap_or_default().to_owned();
    let narrative =
        |p: &serde_json::Value| p["text"]["div"].as_str().unwrap_or_default().to_owned();
    assert!(narrative(&patient).contains(&birth_date), "{patient}");

    // Hide party.party.dob from nurses, as an administrator would in GNU Health.
    exec(gnuhealth::demo::HIDE_BIRTH_DATES_FROM_NURSES);
    eventually("birthDate hidden from the nurse", || async {
        get_as("nurse", "/Patient/1")
            .await
            .1
            .get("birthDate")
            .is_none()
    })
    .await;
    let (_, patient) = get_as("nurse", "/Patient/1").await;
    let tags = patient["meta"]["tag"].to_string();
    assert!(tags.contains("SUBSETTED"), "{patient}");
    // Nor in the narrative, generated from what is left.
    assert!(narrative(&patient).contains("<b>"), "{patient}");
    assert!(!narrative(&patient).contains(&birth_date), "{patient}");
    // Left out for two reasons (access rights and _elements), tagged once.
    let (_, patient) = get_as("nurse", "/Patient/1?_elements=name").await;
    let subsetted = patient["meta"]["tag"]
        .as_array()
        .map_or(0, |t| t.iter().filter(|t| t["code"] == "SUBSETTED").count());
    assert_eq!(subsetted, 1, "{patient}");
    let (_, bundle) = get_as("nurse", "/Patient?_count=5").await;
    for e in bundle["entry"].as_array().into_iter().flatten() {
        assert!(e["resource"].get("birthDate").is_none(), "{e}");
    }
    let (status, body) = get_as("nurse", "/Patient?birthdate=ge1900").await;
    assert_eq!(status, 403, "{body}");
    assert!(is_outcome(&body));
    // Nor sorted by it, nor reached by a chain through it.
    assert_eq!(get_as("nurse", "/Patient?_sort=-birthdate").await.0, 403);
    assert_eq!(
        get_as("nurse", "/Immunization?patient.birthdate=ge1900")
            .await
            .0,
        403
    );
    // Only the nurse's group is concerned.
    let (_, patient) = get_as("demo", "/Patient/1").await;
    assert!(patient.get("birthDate").is_some(), "{patient}");
    assert!(!patient["meta"].to_string().contains("SUBSETTED"));

    exec(
        "DELETE FROM ir_model_field_access WHERE \"group\" = \
         (SELECT id FROM res_group WHERE name = 'Health Nurse')",
    );
    eventually("birthDate shown again", || async {
        get_as("nurse", "/Patient/1")
            .await
            .1
            .get("birthDate")
            .is_some()
    })
    .await;
}

#[tokio::test]
async fn record_rules_restrict_rows_and_untranslatable_ones_refuse_the_type() {
    let all = scalar("SELECT COUNT(*) FROM gnuhealth_vaccination WHERE patient IS NOT NULL");
    let first_doses =
        scalar("SELECT COUNT(*) FROM gnuhealth_vaccination WHERE patient IS NOT NULL AND dose = 1");
    let later = scalar("SELECT MIN(id) FROM gnuhealth_vaccination WHERE dose != 1");
    let first = scalar("SELECT MIN(id) FROM gnuhealth_vaccination WHERE dose = 1");
    assert!(
        first_doses > 0 && first_doses < all,
        "{first_doses} of {all}"
    );
    let total = |login: &'static str| async move {
        get_as(login, "/Immunization?_count=0").await.1["total"].as_i64()
    };
    assert_eq!(total("nurse").await, Some(all));

    exec(
        "INSERT INTO ir_rule_group (name, model, global_p, default_p, perm_read, perm_write, \
          perm_create, perm_delete, create_date, create_uid) \
         SELECT 'first doses only', id, 0, 0, 1, 0, 0, 0, datetime('now'), 1 \
         FROM ir_model WHERE model = 'gnuhealth.vaccination'; \
         INSERT INTO ir_rule (rule_group, domain, create_date, create_uid) \
         SELECT MAX(id), '[[\"dose\", \"=\", 1]]', datetime('now'), 1 FROM ir_rule_group; \
         INSERT INTO \"ir_rule_group-res_group\" (rule_group, \"group\", create_date, create_uid) \
         SELECT (SELECT MAX(id) FROM ir_rule_group), id, datetime('now'), 1 \
         FROM res_group WHERE name = 'Health Nurse';",
    );
    eventually("rule applied", || async {
        total("nurse").await == Some(first_doses)
    })
    .await;
    // Paging and reads obey the rule too; other groups are not concerned.
    let ids = common::all_ids_as("nurse", "/Immunization?_count=7").await;
    assert_eq!(ids.len() as i64, first_doses);
    assert_eq!(
        get_as("nurse", &format!("/Immunization/{later}")).await.0,
        404
    );
    assert_eq!(
        get_as("nurse", &format!("/Immunization/{first}")).await.0,
        200
    );
    assert_eq!(total("demo").await, Some(all));

    // A rule the server cannot translate (a dotted path) refuses the type.
    exec(
        "UPDATE ir_rule SET domain = '[[\"patient.name\", \"ilike\", \"%a%\"]]', \
         write_date = datetime('now') WHERE id = (SELECT MAX(id) FROM ir_rule)",
    );
    eventually("untranslatable rule refuses", || async {
        get_as("nurse", "/Immunization").await.0 == 403
    })
    .await;
    let (_, body) = get_as("nurse", "/Immunization").await;
    assert!(body.to_string().contains("record rule"), "{body}");

    exec(
        "DELETE FROM \"ir_rule_group-res_group\" WHERE rule_group = (SELECT MAX(id) FROM ir_rule_group); \
         DELETE FROM ir_rule WHERE rule_group = (SELECT MAX(id) FROM ir_rule_group); \
         DELETE FROM ir_rule_group WHERE id = (SELECT MAX(id) FROM ir_rule_group);",
    );
    eventually("rule removed", || async {
        total("nurse").await == Some(all)
    })
    .await;
}

/// A `gnuhealth-fhir serve` process on the test database.
struct Instance {
    child: std::process::Child,
    base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_instance(audit_log: Option<&std::path::Path>) -> Instance {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let listen = format!("127.0.0.1:{port}");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gnuhealth-fhir"));
    if let Some(path) = audit_log {
        cmd.env("GNUHEALTH_FHIR_AUDIT_LOG", path);
    }
    let child = cmd
        .args(["serve", "--listen", &listen, "--database"])
        .arg(format!("sqlite://{}", server().db_path.display()))
        .env("GNUHEALTH_FHIR_SECRET_KEY", "two-instances-share-this-key")
        .env("GNUHEALTH_FHIR_PLAIN_HTTP", "true")
        .env("GNUHEALTH_FHIR_LOGIN_DELAY", "false")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let base = format!("http://{listen}");
    let instance = Instance { child, base };
    let start = Instant::now();
    while common::client()
        .get(format!("{}/metadata", instance.base))
        .send()
        .await
        .is_err()
    {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "instance did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    instance
}

async fn sign_in(base: &str, login: &str, password: &str) -> reqwest::Response {
    common::client()
        .post(format!("{base}/auth/token"))
        .form(&[("login", login), ("password", password)])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

fn attempts(login: &str) -> i64 {
    db().query_row(
        "SELECT COUNT(*) FROM res_user_login_attempt WHERE login = ?1",
        [login],
        |r| r.get(0),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn throttling_is_shared_by_two_instances_and_tokens_work_on_both() {
    const PASSWORD: &str = "throttle-Password-1";
    add_user("throttle_locked", PASSWORD);
    add_user("throttle_cleared", PASSWORD);
    let audit_log = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("audit-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&audit_log);
    let (a, b) = (
        start_instance(Some(&audit_log)).await,
        start_instance(None).await,
    );
    // An unknown login and a known one with wrong passwords behave the same.
    for login in ["nobody-at-all", "throttle_locked"] {
        for i in 0..6 {
            let base = if i % 2 == 0 { &a.base } else { &b.base };
            let resp = sign_in(base, login, "not-the-password").await;
            assert_eq!(resp.status().as_u16(), 401, "{login} attempt {}", i + 1);
        }
        assert_eq!(attempts(login), 6);
        for base in [&a.base, &b.base] {
            let resp = sign_in(base, login, "not-the-password").await;
            assert_eq!(resp.status().as_u16(), 429, "{login}");
            assert!(resp.headers().get("retry-after").is_some());
            let body: serde_json::Value = resp.json().await.unwrap_or_default();
            assert_eq!(body["issue"][0]["code"], "throttled", "{body}");
        }
        // Locked means locked, even with the right password (as in trytond).
        let resp = sign_in(&a.base, login, PASSWORD).await;
        assert_eq!(resp.status().as_u16(), 429);
    }

    // Success forgets the failures; a token from one instance works on the other.
    for _ in 0..3 {
        sign_in(&b.base, "throttle_cleared", "not-the-password").await;
    }
    assert_eq!(attempts("throttle_cleared"), 3);
    let resp = sign_in(&a.base, "throttle_cleared", PASSWORD).await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(attempts("throttle_cleared"), 0);
    let token: serde_json::Value = resp.json().await.unwrap_or_default();
    let token = token["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let status = common::client()
        .get(format!("{}/Patient?_count=1", b.base))
        .bearer_auth(&token)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or_default();
    assert_eq!(status, 200);
    // So does a browser session.
    let session = browser_sign_in(&a.base, "throttle_cleared", PASSWORD).await;
    let cookies = format!("ghf_session={session}");
    assert_eq!(
        status_with_cookie(&b.base, "/Patient?_count=1", &cookies)
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn browser_sign_in_is_csrf_protected_and_its_session_works_until_sign_out() {
    let base = &server().base;
    let password = gnuhealth::demo::DEMO_PASSWORD;
    // Without the CSRF token, with another browser's, or with a forged one: refused.
    let (nonce, csrf) = login_form(base).await;
    let (other_nonce, _) = login_form(base).await;
    for (cookie, token) in [
        (format!("ghf_csrf={nonce}"), String::new()),
        (String::new(), csrf.clone()),
        (format!("ghf_csrf={other_nonce}"), csrf.clone()),
        (format!("ghf_csrf={nonce}"), format!("{csrf}x")),
    ] {
        let resp = post_form(
            base,
            "/auth/login",
            &cookie,
            &[("csrf", &token), ("login", "nurse"), ("password", password)],
        )
        .await;
        assert_eq!(resp.status().as_u16(), 403);
        assert!(set_cookie(&resp, "ghf_session").is_none());
    }
    // A wrong password shows the form again, without saying whether the login exists.
    let resp = post_form(
        base,
        "/auth/login",
        &format!("ghf_csrf={nonce}"),
        &[("csrf", &csrf), ("login", "nurse"), ("password", "wrong")],
    )
    .await;
    assert_eq!(resp.status().as_u16(), 401);
    assert!(
        resp.text()
            .await
            .unwrap_or_default()
            .contains("Wrong login or password")
    );

    let session = browser_sign_in(base, "nurse", password).await;
    let cookies = format!("ghf_session={session}");
    assert_eq!(
        status_with_cookie(base, "/Patient?_count=1", &cookies)
            .await
            .0,
        200
    );
    // The nurse's access rights apply to the session as to any credential.
    assert_eq!(
        status_with_cookie(base, "/Condition", &cookies).await.0,
        403
    );
    let (status, home) = status_with_cookie(base, "/auth/home", &cookies).await;
    assert_eq!(status, 200);
    assert!(
        home.contains("nurse") && home.contains("/Immunization?"),
        "{home}"
    );
    assert!(!home.contains("/Condition?"), "{home}");
    // An altered cookie is nobody's.
    let altered = format!("ghf_session=x{session}");
    assert_eq!(
        status_with_cookie(base, "/Patient?_count=1", &altered)
            .await
            .0,
        401
    );

    // Sign out (CSRF-protected as well) ends the session in the database.
    let home_resp = browser()
        .get(format!("{base}/auth/home"))
        .header("cookie", &cookies)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (nonce, _) = set_cookie(&home_resp, "ghf_csrf").unwrap_or_default();
    let csrf = csrf_field(&home_resp.text().await.unwrap_or_default());
    let sessions = || scalar("SELECT COUNT(*) FROM ir_session");
    let before = sessions();
    let resp = post_form(base, "/auth/logout", &cookies, &[("csrf", &csrf)]).await;
    assert_eq!(
        resp.status().as_u16(),
        403,
        "logout without the CSRF cookie"
    );
    let resp = post_form(
        base,
        "/auth/logout",
        &format!("{cookies}; ghf_csrf={nonce}"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(sessions(), before - 1);
    assert_eq!(
        status_with_cookie(base, "/Patient?_count=1", &cookies)
            .await
            .0,
        401
    );
    assert_eq!(
        status_with_cookie(base, "/auth/home", &cookies).await.0,
        303
    );
}

/// Requests that bring the same credentials at once share one password check, yet each
/// counts: every wrong one is a failed attempt, and a right one clears them.
#[tokio::test]
async fn concurrent_sign_ins_each_count() {
    const PASSWORD: &str = "concurrent-Password-1";
    add_user("concurrent_user", PASSWORD);
    async fn at_once(password: &'static str, n: usize) -> Vec<u16> {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..n {
            set.spawn(common::get_with(
                "concurrent_user",
                password,
                "/Patient?_count=1",
            ));
        }
        set.join_all().await.into_iter().map(|(s, _)| s).collect()
    }
    assert_eq!(at_once("not-the-password", 4).await, [401; 4]);
    assert_eq!(attempts("concurrent_user"), 4);
    assert_eq!(at_once(PASSWORD, 8).await, [200; 8]);
    assert_eq!(attempts("concurrent_user"), 0);
}
