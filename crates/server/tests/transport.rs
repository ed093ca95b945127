//! The HTTP edge, through real sockets: HTTPS with a certificate made at test time, the
//! refusal to serve plain HTTP unasked, forwarding headers believed from trusted proxies
//! only, and request limits and rejections answered with OperationOutcomes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;

use gnuhealth_fhir::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET: &[u8] = b"transport-test-secret-0123456789";

/// A small demo database of this test binary's own.
fn demo_db() -> &'static PathBuf {
    static DB: OnceLock<PathBuf> = OnceLock::new();
    DB.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("transport-test-demo.sqlite");
        let _ = std::fs::remove_file(&path);
        let opts = gnuhealth::demo::DemoOptions {
            patients: 5,
            seed: 5,
        };
        if let Err(e) = gnuhealth::demo::create_or_reuse(&path, &opts) {
            panic!("demo database: {e}");
        }
        path
    })
}

/// Serve `cfg` (its `listen` replaced by a free loopback port) the way `serve` does, on a
/// runtime of its own for the rest of the test binary; returns the address.
fn spawn(mut cfg: Config) -> SocketAddr {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("addr: {e}"));
    cfg.listen = addr.to_string();
    let mode = cfg
        .listen_mode()
        .unwrap_or_else(|e| panic!("listen mode: {e}"));
    let url = format!("sqlite://{}", demo_db().display());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        rt.block_on(async move {
            let state = gnuhealth_fhir::state(&cfg, &url, SECRET.to_vec())
                .await
                .unwrap_or_else(|e| panic!("state: {e}"));
            let _ = tx.send(());
            let served =
                gnuhealth_fhir::transport::serve_on(listener, &mode, state, std::future::pending())
                    .await;
            if let Err(e) = served {
                panic!("serve: {e}");
            }
        });
    });
    rx.recv()
        .unwrap_or_else(|e| panic!("server did not start: {e}"));
    addr
}

fn plain(trusted_proxies: &[&str]) -> Config {
    Config {
        plain_http: true,
        trusted_proxies: trusted_proxies.iter().map(|s| (*s).to_owned()).collect(),
        ..Config::default()
    }
}

/// A plain-HTTP server with the default limits and no trusted proxy.
fn default_server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| spawn(plain(&[])))
}

fn hsts(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get("strict-transport-security")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Status, content type and JSON body.
async fn parts(resp: reqwest::Response) -> (u16, String, serde_json::Value) {
    let status = resp.status().as_u16();
    let media = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = resp.json().await.unwrap_or(serde_json::Value::Null);
    (status, media, body)
}

fn assert_outcome(status: u16, media: &str, body: &serde_json::Value, expected: u16, code: &str) {
    assert_eq!(status, expected, "{}", body["resourceType"]);
    assert!(media.starts_with("application/fhir+json"), "{media}");
    assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
    assert_eq!(body["issue"][0]["code"], code, "{body}");
}

#[tokio::test]
async fn https_with_a_certificate_made_at_test_time() {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
        .unwrap_or_else(|e| panic!("certificate: {e}"));
    let cert_pem = made.cert.pem();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("transport-tls");
    let _ = std::fs::create_dir_all(&dir);
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    for (path, text) in [
        (&cert, &cert_pem),
        (&key, &made.signing_key.serialize_pem()),
    ] {
        std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let addr = spawn(Config {
        tls_cert: Some(cert),
        tls_key: Some(key),
        ..Config::default()
    });
    let root =
        reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap_or_else(|e| panic!("root: {e}"));
    let client = reqwest::Client::builder()
        .add_root_certificate(root)
        .resolve("localhost", addr)
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"));
    let resp = client
        .get(format!("https://localhost:{}/metadata", addr.port()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("TLS request: {e}"));
    assert_eq!(hsts(&resp).as_deref(), Some("max-age=31536000"));
    let (status, _, body) = parts(resp).await;
    assert_eq!(status, 200, "{body}");
    // The default base URL follows the scheme.
    assert_eq!(
        body["implementation"]["url"],
        format!("https://127.0.0.1:{}", addr.port())
    );
    // Errors over TLS carry HSTS too.
    let resp = client
        .get(format!(
            "https://localhost:{}/nowhere/at/all/x",
            addr.port()
        ))
        .send()
        .await
        .unwrap_or_else(|e| panic!("TLS request: {e}"));
    assert!(hsts(&resp).is_some());
    // Plain HTTP on the TLS port gets no answer.
    let plain = reqwest::Client::new()
        .get(format!("http://{addr}/metadata"))
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");
}

#[tokio::test]
async fn plain_http_must_be_asked_for() {
    // The refusal comes before the database is even looked at.
    let cfg = Config {
        database: Some("sqlite:///does/not/exist.sqlite".into()),
        ..Config::default()
    };
    let err = gnuhealth_fhir::serve(cfg, "sqlite:///does/not/exist.sqlite", SECRET.to_vec())
        .await
        .err()
        .unwrap_or_default();
    for key in ["tls_cert", "tls_key", "plain_http"] {
        assert!(err.contains(key), "{err}");
    }
    let half = Config {
        tls_key: Some("key.pem".into()),
        plain_http: true,
        ..Config::default()
    };
    let err = gnuhealth_fhir::serve(half, "sqlite:///does/not/exist.sqlite", SECRET.to_vec())
        .await
        .err()
        .unwrap_or_default();
    assert!(err.contains("tls_cert"), "{err}");
    // With plain_http the next thing to fail is the database.
    let err = gnuhealth_fhir::serve(
        plain(&[]),
        "sqlite:///does/not/exist.sqlite",
        SECRET.to_vec(),
    )
    .await
    .err()
    .unwrap_or_default();
    assert!(err.contains("does not exist"), "{err}");
}

#[tokio::test]
async fn forwarded_https_counts_only_from_a_trusted_proxy() {
    let behind_proxy = spawn(plain(&["127.0.0.0/8"]));
    let client = reqwest::Client::new();
    let get = |addr: SocketAddr, proto: Option<&'static str>| {
        let mut req = client
            .get(format!("http://{addr}/metadata"))
            .header("x-forwarded-for", "198.51.100.7");
        if let Some(p) = proto {
            req = req.header("x-forwarded-proto", p);
        }
        req.send()
    };
    let resp = get(behind_proxy, Some("https"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(hsts(&resp).as_deref(), Some("max-age=31536000"));
    let resp = get(behind_proxy, Some("http"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(hsts(&resp), None);
    let resp = get(behind_proxy, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(hsts(&resp), None);
    // The same headers from a peer that is not a trusted proxy are ignored.
    let resp = get(default_server(), Some("https"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(hsts(&resp), None);
}

#[tokio::test]
async fn oversized_body_is_a_413_outcome() {
    let addr = default_server();
    let body = vec![b'a'; 1024 * 1024 + 1];
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}/auth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, media, body) = parts(resp).await;
    assert_outcome(status, &media, &body, 413, "too-long");
    let text = body["issue"][0]["diagnostics"].as_str().unwrap_or_default();
    assert!(text.contains("1048576"), "{text}");

    // Sent without a length (chunked): stopped by the body limit while reading, and
    // still an OperationOutcome.
    let mut req = b"POST /Patient/_search HTTP/1.1\r\nHost: test\r\n\
        Content-Type: application/x-www-form-urlencoded\r\n\
        Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        .to_vec();
    let chunk = vec![b'a'; 64 * 1024];
    for _ in 0..17 {
        req.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        req.extend_from_slice(&chunk);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let answer = raw(addr, &req).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("content-type: application/fhir+json")
    );
    assert!(answer.contains("\"too-long\""), "{answer}");
}

/// Send raw bytes, return what comes back (write errors ignored: the server may answer
/// and close before reading everything).
async fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    let _ = s.write_all(bytes).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn oversized_headers_are_a_431_outcome() {
    let addr = default_server();
    let resp = reqwest::Client::new()
        .get(format!("http://{addr}/metadata"))
        .header("x-padding", "a".repeat(17 * 1024))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, media, body) = parts(resp).await;
    assert_outcome(status, &media, &body, 431, "too-long");
    let text = body["issue"][0]["diagnostics"].as_str().unwrap_or_default();
    assert!(text.contains("16384"), "{text}");
    // Many small headers count too (800 × 25 bytes), and hyper lets them through to us.
    let mut req = reqwest::Client::new().get(format!("http://{addr}/metadata"));
    for i in 0..800 {
        req = req.header(format!("x-h{i}"), "0123456789abcdefghij");
    }
    let (status, media, body) = parts(req.send().await.unwrap_or_else(|e| panic!("{e}"))).await;
    assert_outcome(status, &media, &body, 431, "too-long");
    // Just under the limit is fine.
    let resp = reqwest::Client::new()
        .get(format!("http://{addr}/metadata"))
        .header("x-padding", "a".repeat(15 * 1024))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn axum_rejections_become_outcomes() {
    let addr = default_server();
    // A path segment that is not UTF-8: the path extractor's plain-text 400.
    let resp = reqwest::Client::new()
        .get(format!("http://{addr}/Patient/%FF"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, media, body) = parts(resp).await;
    assert_outcome(status, &media, &body, 400, "invalid");
}

#[tokio::test]
async fn count_above_the_maximum_is_a_400() {
    let addr = default_server();
    let resp = reqwest::Client::new()
        .get(format!("http://{addr}/Patient?_count=5000"))
        .basic_auth(
            gnuhealth::demo::DEMO_LOGIN,
            Some(gnuhealth::demo::DEMO_PASSWORD),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, media, body) = parts(resp).await;
    assert_outcome(status, &media, &body, 400, "invalid");
    let text = body["issue"][0]["diagnostics"].as_str().unwrap_or_default();
    assert!(text.contains("maximum of 1000"), "{text}");
}
