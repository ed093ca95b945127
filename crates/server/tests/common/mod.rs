//! A server on a small embedded demo database, started once per test binary on a free
//! loopback port, with helpers to call it.
// Several test binaries share this module, each using a part of it.
#![allow(dead_code)]

pub mod browser;

use std::path::PathBuf;
use std::sync::OnceLock;

pub const PATIENTS: u32 = 40;

pub struct TestServer {
    pub base: String,
    /// The metrics address (`metrics_listen`).
    pub metrics_base: String,
    pub db_path: PathBuf,
}

/// The shared server (built on first use).
pub fn server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(start)
}

/// A listener on a free loopback port, and its address.
async fn loopback_listener() -> (tokio::net::TcpListener, std::net::SocketAddr) {
    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => panic!("bind: {e}"),
    };
    match listener.local_addr() {
        Ok(addr) => (listener, addr),
        Err(e) => panic!("addr: {e}"),
    }
}

fn start() -> TestServer {
    // Cargo's scratch directory for integration tests: one file, rebuilt on every run.
    // One database per test binary: each may change its own.
    let db_path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{}-test-demo.sqlite", env!("CARGO_CRATE_NAME")));
    let _ = std::fs::remove_file(&db_path);
    let opts = gnuhealth::demo::DemoOptions {
        patients: PATIENTS,
        seed: 5,
    };
    if let Err(e) = gnuhealth::demo::create_or_reuse(&db_path, &opts) {
        panic!("demo database: {e}");
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let path = db_path.clone();
    std::thread::spawn(move || {
        let rt = match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => panic!("runtime: {e}"),
        };
        rt.block_on(async move {
            let (listener, addr) = loopback_listener().await;
            let cfg = gnuhealth_fhir::config::Config {
                listen: addr.to_string(),
                // The throttling tests count failures; they need no random waits.
                login_delay: false,
                ..Default::default()
            };
            let url = format!("sqlite://{}", path.display());
            let state =
                match gnuhealth_fhir::state(&cfg, &url, b"test-secret-key-0123456789".to_vec())
                    .await
                {
                    Ok(s) => s,
                    Err(e) => panic!("state: {e}"),
                };
            let (metrics, metrics_addr) = loopback_listener().await;
            let routes = gnuhealth_fhir::metrics::router(state.clone());
            tokio::spawn(async move { axum::serve(metrics, routes).await });
            let _ = tx.send((format!("http://{addr}"), format!("http://{metrics_addr}")));
            // With connect info, as the real server runs: the client layer sees the peer.
            let app = gnuhealth_fhir::app::router(state)
                .into_make_service_with_connect_info::<std::net::SocketAddr>();
            let _ = axum::serve(listener, app).await;
        });
    });
    let (base, metrics_base) = match rx.recv() {
        Ok(b) => b,
        Err(e) => panic!("server did not start: {e}"),
    };
    TestServer {
        base,
        metrics_base,
        db_path,
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// GET with the demo user's credentials; returns status and JSON body.
pub async fn get(path: &str) -> (u16, serde_json::Value) {
    get_as(gnuhealth::demo::DEMO_LOGIN, path).await
}

/// GET as one of the demo users (they share a password).
pub async fn get_as(login: &str, path: &str) -> (u16, serde_json::Value) {
    get_with(login, gnuhealth::demo::DEMO_PASSWORD, path).await
}

/// GET with these credentials.
pub async fn get_with(login: &str, password: &str, path: &str) -> (u16, serde_json::Value) {
    let s = server();
    let url = if path.starts_with("http") {
        path.to_owned()
    } else {
        format!("{}{}", s.base, path)
    };
    let resp = client()
        .get(url)
        .basic_auth(login, Some(password))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

/// The ids of a searchset's entries.
pub fn ids(bundle: &serde_json::Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["resource"]["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The URL of a Bundle link relation.
pub fn link(bundle: &serde_json::Value, relation: &str) -> Option<String> {
    bundle["link"]
        .as_array()?
        .iter()
        .find_map(|l| (l["relation"] == relation).then(|| l["url"].as_str().map(str::to_owned))?)
}

/// Every id a search returns, following `next` links.
pub async fn all_ids(path: &str) -> Vec<String> {
    all_ids_as(gnuhealth::demo::DEMO_LOGIN, path).await
}

/// Every id a search returns for one of the demo users, following `next` links.
pub async fn all_ids_as(login: &str, path: &str) -> Vec<String> {
    let (status, mut page) = get_as(login, path).await;
    assert_eq!(status, 200, "{path}: {page}");
    let mut out = ids(&page);
    let mut guard = 0;
    while let Some(next) = link(&page, "next") {
        let (status, p) = get_as(login, &next).await;
        assert_eq!(status, 200, "{next}: {p}");
        out.extend(ids(&p));
        page = p;
        guard += 1;
        assert!(guard < 10_000, "paging does not end");
    }
    out
}

/// Integer ids from a direct SQL query on the demo database (the independent side of
/// the comparison).
pub fn sql_ids(sql: &str) -> Vec<String> {
    sorted(sql_ids_in_order(sql))
}

/// Integer ids from a direct SQL query, in the query's order.
pub fn sql_ids_in_order(sql: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(&server().db_path)
        .unwrap_or_else(|e| panic!("open demo db: {e}"));
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let rows = stmt
        .query_map([], |r| r.get::<_, i64>(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.filter_map(Result::ok).map(|i| i.to_string()).collect()
}

/// Text values of the first column of a query on the demo database, in the query's order.
pub fn sql_texts_in_order(sql: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(&server().db_path)
        .unwrap_or_else(|e| panic!("open demo db: {e}"));
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.filter_map(Result::ok).collect()
}

/// Text values of the first column of a query on the demo database, sorted.
pub fn sql_texts(sql: &str) -> Vec<String> {
    let mut out = sql_texts_in_order(sql);
    out.sort();
    out
}

/// The first value a query on the demo database returns, as text.
pub fn sql_text(sql: &str) -> String {
    sql_texts_in_order(sql)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no row: {sql}"))
}

/// Sorted copy.
pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort_by_key(|s| s.parse::<i64>().unwrap_or(i64::MAX));
    v
}
