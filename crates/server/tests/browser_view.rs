//! The browser view over HTTP: what a browser's `Accept` gets (a page made from the FHIR
//! answer), the trip through the sign-in form and back, links that lead to working pages,
//! and clients other than browsers left as they were.

mod common;

use common::browser::{browser, login_form_at, post_form, set_cookie};
use common::server;
use gnuhealth::demo::{DEMO_LOGIN, DEMO_PASSWORD};

/// What Chromium and Firefox send for a page.
const BROWSER_ACCEPT: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

/// GET `path` as a browser with these extra headers: (status, headers, body).
async fn page(path: &str, headers: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, String) {
    send(path, headers, false).await
}

/// GET `path` as a browser signed in with the demo user's basic credentials.
async fn signed_in_page(path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    send(path, &[], true).await
}

async fn send(
    path: &str,
    headers: &[(&str, &str)],
    signed_in: bool,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = browser()
        .get(format!("{}{path}", server().base))
        .header("accept", BROWSER_ACCEPT);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if signed_in {
        req = req.basic_auth(DEMO_LOGIN, Some(DEMO_PASSWORD));
    }
    let resp = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap_or_default())
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The `href`s of a page's links, entities undone.
fn hrefs(html: &str) -> Vec<String> {
    html.split("<a href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|h| h.replace("&amp;", "&"))
        .collect()
}

/// The JSON a page shows, as the client would have had it: tags dropped, entities undone.
fn page_json(html: &str) -> serde_json::Value {
    let pre = html
        .split("<pre>")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .unwrap_or_else(|| panic!("no JSON in the page: {html}"));
    let mut text = String::new();
    let mut in_tag = false;
    for c in pre.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Sign in as the demo user through the form opened at `form_path`, the form's `next`
/// field set to `next`.
async fn sign_in_returning_to(form_path: &str, next: &str) -> reqwest::Response {
    let (nonce, csrf) = login_form_at(&server().base, form_path).await;
    post_form(
        &server().base,
        "/auth/login",
        &format!("ghf_csrf={nonce}"),
        &[
            ("csrf", &csrf),
            ("login", DEMO_LOGIN),
            ("password", DEMO_PASSWORD),
            ("next", next),
        ],
    )
    .await
}

fn redirected_to(resp: &reqwest::Response) -> Option<&str> {
    resp.headers().get("location").and_then(|v| v.to_str().ok())
}

fn assert_is_page(status: u16, headers: &reqwest::header::HeaderMap, expected: u16) {
    assert_eq!(status, expected);
    assert_eq!(header(headers, "content-type"), "text/html; charset=utf-8");
    assert!(
        header(headers, "content-security-policy").starts_with("default-src 'none'"),
        "{headers:?}"
    );
    assert_eq!(header(headers, "cache-control"), "no-store");
    assert!(headers.get("etag").is_none() && headers.get("www-authenticate").is_none());
}

#[tokio::test]
async fn a_browser_is_sent_to_sign_in_and_brought_back_to_the_page() {
    let target = "/Patient/1?_elements=name,generalPractitioner";
    let (status, headers, _) = page(target, &[]).await;
    assert_eq!(status, 303, "no basic-auth prompt, the sign-in form");
    let location = header(&headers, "location").to_owned();
    assert_eq!(
        location,
        "/auth/login?next=%2FPatient%2F1%3F_elements%3Dname%2CgeneralPractitioner"
    );

    let resp = sign_in_returning_to(&location, target).await;
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(redirected_to(&resp), Some(target));
    let (session, _) = set_cookie(&resp, "ghf_session").unwrap_or_default();
    let cookies = format!("ghf_session={session}");

    let (status, headers, html) = page(target, &[("cookie", &cookies)]).await;
    assert_is_page(status, &headers, 200);
    assert!(html.contains("<h1>Patient/1</h1>"), "{html}");
    assert!(html.contains("&quot;generalPractitioner&quot;"), "{html}");
    // Signed in, the form sends the browser straight on.
    let resp = browser()
        .get(format!("{}{location}", server().base))
        .header("cookie", &cookies)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(redirected_to(&resp), Some(target));
}

#[tokio::test]
async fn sign_in_returns_only_to_this_servers_pages() {
    for next in [
        "//evil.example/Patient/1",
        "/\\evil.example/Patient/1",
        "https://evil.example/",
        "Patient/1",
        "/Patient/1\r\nSet-Cookie: x=y",
        "/Patient/ü",
    ] {
        let resp = sign_in_returning_to("/auth/login", next).await;
        assert_eq!(resp.status().as_u16(), 303);
        assert_eq!(redirected_to(&resp), Some("/auth/home"), "next={next:?}");
    }
}

#[tokio::test]
async fn a_resource_page_shows_its_json_and_links_that_work() {
    let (status, headers, html) = signed_in_page("/Patient/1").await;
    assert_is_page(status, &headers, 200);
    let (_, json) = common::get("/Patient/1").await;
    assert_eq!(page_json(&html), json, "the page shows the answer, whole");
    assert!(
        html.contains("<div xmlns=\"http://www.w3.org/1999/xhtml\">"),
        "the narrative: {html}"
    );

    let links = hrefs(&html);
    let practitioner = json["generalPractitioner"][0]["reference"]
        .as_str()
        .unwrap_or_else(|| panic!("{json}"));
    assert!(links.contains(&format!("/{practitioner}")), "{links:?}");
    for expected in [
        "/Patient/1/$everything",
        "/Condition?patient=Patient/1",
        "/Observation?patient=Patient/1",
        "/Patient/1?_format=json&_pretty=true",
        "/Patient/1?_format=xml&_pretty=true",
    ] {
        assert!(links.iter().any(|l| l == expected), "{expected}: {links:?}");
    }
    for link in links.iter().filter(|l| !l.starts_with("/auth/")) {
        assert!(link.starts_with('/') && !link.starts_with("//"), "{link}");
        let (status, _, _) = signed_in_page(link).await;
        assert_eq!(status, 200, "{link}");
    }
    // The raw formats are the API's own answers.
    let resp = browser()
        .get(format!("{}/Patient/1?_format=json", server().base))
        .header("accept", BROWSER_ACCEPT)
        .basic_auth(DEMO_LOGIN, Some(DEMO_PASSWORD))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/fhir+json; charset=utf-8")
    );
}

#[tokio::test]
async fn a_search_page_lists_its_entries_and_pages_through_next_links() {
    let expected = common::all_ids("/Observation?patient=1&_count=4").await;
    assert!(expected.len() > 4, "{expected:?}");
    let mut seen = Vec::new();
    let mut path = "/Observation?patient=1&_count=4".to_owned();
    loop {
        let (status, headers, html) = signed_in_page(&path).await;
        assert_is_page(status, &headers, 200);
        assert!(
            html.contains("<h1>Observation search (searchset)</h1>"),
            "{html}"
        );
        let bundle = page_json(&html);
        seen.extend(common::ids(&bundle));
        for id in common::ids(&bundle) {
            assert!(
                html.contains(&format!(
                    "<h2><a href=\"/Observation/{id}\">Observation/{id}</a>"
                )),
                "{id}"
            );
        }
        // The paging links are `<a href="…" rel="next">`.
        let next = html
            .split("\" rel=\"next\"")
            .next()
            .filter(|before| before.len() < html.len())
            .and_then(|before| before.rsplit("<a href=\"").next())
            .map(|h| h.replace("&amp;", "&"));
        match next {
            Some(next) => path = next,
            None => break,
        }
    }
    assert_eq!(common::sorted(seen), common::sorted(expected));
}

#[tokio::test]
async fn errors_are_pages_with_the_status_and_the_details_escaped() {
    let (status, headers, html) = signed_in_page("/Patient?birthdate=%3Cscript%3Ealert(1)").await;
    assert_is_page(status, &headers, 400);
    assert!(html.contains("<h1>400 Bad Request</h1>"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)"), "{html}");
    assert!(!html.contains("<script"), "{html}");

    let (status, headers, html) = signed_in_page("/Patient/999999").await;
    assert_is_page(status, &headers, 404);
    assert!(html.contains("not-found"), "{html}");

    // Credentials that fail: the page says so; no redirect, no basic-auth prompt.
    let (status, headers, _) = page("/Patient/1", &[("authorization", "Bearer nonsense")]).await;
    assert_is_page(status, &headers, 401);
}

#[tokio::test]
async fn clients_other_than_browsers_get_fhir_as_before() {
    let client = common::client();
    for (accept, expected) in [
        ("*/*", "application/fhir+json"),
        (
            "application/fhir+json, text/html;q=0.5",
            "application/fhir+json",
        ),
        ("application/fhir+xml", "application/fhir+xml"),
        (
            "text/html;q=0.9, application/fhir+xml",
            "application/fhir+xml",
        ),
        ("text/html", "text/html"),
    ] {
        let resp = client
            .get(format!("{}/Patient/1", server().base))
            .header("accept", accept)
            .basic_auth(DEMO_LOGIN, Some(DEMO_PASSWORD))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            content_type.starts_with(expected),
            "{accept}: {content_type}"
        );
        assert_eq!(
            resp.headers().get("vary").and_then(|v| v.to_str().ok()),
            Some("accept"),
            "{accept}"
        );
    }
    // An API client without credentials gets the 401 it always had.
    let resp = client
        .get(format!("{}/Patient/1", server().base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 401);
    // The CapabilityStatement is open, as a page too.
    let (status, headers, html) = page("/metadata", &[]).await;
    assert_is_page(status, &headers, 200);
    assert!(html.contains("<h1>CapabilityStatement</h1>"), "{html}");
}
