//! Operations: the health probes, the Prometheus metrics on their own address, and a
//! graceful stop on SIGTERM (the real binary: requests in progress are finished, new
//! connections refused, the process exits cleanly).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{client, get, get_with, server};

#[tokio::test]
async fn health_probes_answer_without_credentials() {
    let s = server();
    for (path, status) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let resp = client()
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        assert_eq!(body["status"], status, "{path}");
    }
}

#[tokio::test]
async fn the_routes_are_described_in_openapi() {
    let resp = client()
        .get(format!("{}/openapi.json", server().base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 200);
    let doc: serde_json::Value = resp.json().await.unwrap_or_default();
    assert_eq!(doc["openapi"], "3.0.3");
    let types = &doc["paths"]["/{type}"]["get"]["parameters"][0]["schema"]["enum"];
    let served: Vec<&str> = gnuhealth::registry::all()
        .iter()
        .map(|d| d.type_name)
        .collect();
    assert_eq!(types, &serde_json::json!(served));
    for path in [
        "/metadata",
        "/auth/token",
        "/{type}/{id}",
        "/Patient/{id}/$everything",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
}

/// The value of the metric line `name{labels}` (labels in the order the server writes).
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_latency_sign_in_failures_and_connections() {
    let s = server();
    let metrics = || async {
        let resp = client()
            .get(format!("{}/metrics", s.metrics_base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("metrics: {e}"));
        assert_eq!(resp.status().as_u16(), 200);
        resp.text().await.unwrap_or_default()
    };
    let read =
        r#"ghf_http_requests_total{interaction="read",resource_type="Patient",status="200"}"#;
    let failures = "ghf_login_failures_total";
    let before = metrics().await;
    let reads_before = metric(&before, read).unwrap_or(0.0);
    let failures_before = metric(&before, failures).unwrap_or(0.0);

    let (status, _) = get("/Patient/1").await;
    assert_eq!(status, 200);
    let (status, _) = get_with(
        gnuhealth::demo::DEMO_LOGIN,
        "not-the-password",
        "/Patient/1",
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = get("/NoSuchType/1").await;
    assert_eq!(status, 404);

    let after = metrics().await;
    assert_eq!(metric(&after, read), Some(reads_before + 1.0), "{after}");
    assert!(
        metric(
            &after,
            r#"ghf_http_requests_total{interaction="read",resource_type="Patient",status="401"}"#
        )
        .is_some_and(|n| n >= 1.0),
        "{after}"
    );
    assert_eq!(
        metric(&after, failures),
        Some(failures_before + 1.0),
        "{after}"
    );
    assert!(
        metric(
            &after,
            r#"ghf_http_request_duration_seconds_count{interaction="read"}"#
        )
        .is_some_and(|n| n >= 2.0),
        "{after}"
    );
    // The SQLite blocking pool's size.
    assert_eq!(
        metric(&after, "ghf_db_connections_max"),
        Some(8.0),
        "{after}"
    );
    assert!(
        metric(&after, "ghf_db_connections_in_use").is_some(),
        "{after}"
    );
    // What a client sends is never a label.
    assert!(!after.contains("NoSuchType"), "{after}");
    // The metrics are not served on the FHIR address.
    let resp = client()
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let s = server();
    let id_of = |resp: &reqwest::Response| {
        resp.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let plain = client()
        .get(format!("{}/metadata", s.base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let made = id_of(&plain).unwrap_or_default();
    assert!(
        made.len() == 16 && made.bytes().all(|b| b.is_ascii_hexdigit()),
        "{made}"
    );
    // A proxy's id is kept (errors too); one that could forge a log line is replaced.
    for (sent, kept) in [("nginx-5f2c.1", true), ("two words", false)] {
        let resp = client()
            .get(format!("{}/Patient/1", s.base))
            .header("X-Request-Id", sent)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(resp.status().as_u16(), 401);
        let got = id_of(&resp).unwrap_or_default();
        assert_eq!(got == sent, kept, "{sent} -> {got}");
        assert!(!got.is_empty());
    }
}

/// A free loopback port (bound, then released for the child to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("port: {e}"))
}

#[test]
fn sigterm_finishes_the_request_in_progress_then_exits() {
    let db =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("operations-sigterm.sqlite");
    let _ = std::fs::remove_file(&db);
    let opts = gnuhealth::demo::DemoOptions {
        patients: 10,
        seed: 5,
    };
    gnuhealth::demo::create_or_reuse(&db, &opts).unwrap_or_else(|e| panic!("demo: {e}"));
    let addr = format!("127.0.0.1:{}", free_port());
    let log = db.with_extension("log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gnuhealth-fhir"))
        .args(["demo", "--db"])
        .arg(&db)
        .args(["--listen", &addr])
        .env("GNUHEALTH_FHIR_LOG_FORMAT", "json")
        .env("RUST_LOG", "info,gnuhealth::sql=debug")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap_or_else(|e| panic!("log: {e}")))
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let started = Instant::now();
    let mut conn = loop {
        match TcpStream::connect(&addr) {
            Ok(c) => break c,
            Err(_) if started.elapsed() < Duration::from_secs(30) => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => {
                let _ = child.kill();
                panic!("server did not start: {e}");
            }
        }
    };
    // A search whose body is still arriving when the signal comes.
    let credentials = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            gnuhealth::demo::DEMO_LOGIN,
            gnuhealth::demo::DEMO_PASSWORD
        ))
    };
    let body = "_count=1&_total=accurate";
    let head = format!(
        "POST /Patient/_search HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {credentials}\r\n\
         Accept: application/fhir+json\r\nX-Request-Id: sigterm-search\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    let (first, rest) = body.split_at(5);
    conn.write_all(head.as_bytes())
        .and_then(|()| conn.write_all(first.as_bytes()))
        .unwrap_or_else(|e| panic!("write: {e}"));
    std::thread::sleep(Duration::from_millis(300));

    // SAFETY: sends SIGTERM to the child process this test started; no memory is involved.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(sent, 0, "kill");
    std::thread::sleep(Duration::from_millis(500));

    // No new connection is taken…
    assert!(
        TcpStream::connect(&addr).is_err(),
        "a new connection was accepted after SIGTERM"
    );
    // …but the request in progress is answered in full.
    conn.write_all(rest.as_bytes())
        .unwrap_or_else(|e| panic!("write: {e}"));
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:.300}");
    assert!(
        answer.contains(r#""resourceType":"Bundle""#),
        "{answer:.300}"
    );

    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                panic!("the server did not exit after SIGTERM");
            }
        }
    };
    assert!(status.success(), "{status}");

    // The log is JSON lines (after the demo's own banner); the search's statements carry
    // its request id.
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .skip_while(|l| !l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("shutting down"))),
        "{text}"
    );
    assert!(
        lines.iter().any(|l| l["target"] == "gnuhealth::sql"
            && l["span"]["name"] == "request"
            && l["span"]["id"] == "sigterm-search"
            && l["span"]["path"] == "/Patient/_search"),
        "{text}"
    );
}
