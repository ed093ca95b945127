//! A browser's side of the sign-in forms: a client that shows redirects, the forms'
//! CSRF cookie and field, signing in and out.

/// A client that shows redirects instead of following them.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The value a response sets for cookie `name`, with the cookie's attributes.
pub fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<(String, String)> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let (pair, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (k, value) = pair.split_once('=')?;
            (k == name).then(|| (value.to_owned(), attrs.to_owned()))
        })
}

/// The CSRF field of a page's form.
pub fn csrf_field(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned()
}

/// Open the sign-in form: (CSRF cookie nonce, CSRF field).
pub async fn login_form(base: &str) -> (String, String) {
    login_form_at(base, "/auth/login").await
}

/// Open the sign-in form at `path` (`/auth/login?next=…`): (CSRF cookie nonce, CSRF field).
pub async fn login_form_at(base: &str, path: &str) -> (String, String) {
    let resp = browser()
        .get(format!("{base}{path}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 200);
    let (nonce, attrs) = set_cookie(&resp, "ghf_csrf").unwrap_or_default();
    for attr in ["Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(attrs.contains(attr), "{attrs}");
    }
    let html = resp.text().await.unwrap_or_default();
    (nonce, csrf_field(&html))
}

pub async fn post_form(
    base: &str,
    path: &str,
    cookies: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    browser()
        .post(format!("{base}{path}"))
        .header("cookie", cookies)
        .form(fields)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Sign in through the form; the session cookie.
pub async fn browser_sign_in(base: &str, login: &str, password: &str) -> String {
    let (nonce, csrf) = login_form(base).await;
    let resp = post_form(
        base,
        "/auth/login",
        &format!("ghf_csrf={nonce}"),
        &[("csrf", &csrf), ("login", login), ("password", password)],
    )
    .await;
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(
        resp.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/auth/home")
    );
    let (session, attrs) = set_cookie(&resp, "ghf_session").unwrap_or_default();
    for attr in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(attrs.contains(attr), "{attrs}");
    }
    session
}

pub async fn status_with_cookie(base: &str, path: &str, cookies: &str) -> (u16, String) {
    let resp = browser()
        .get(format!("{base}{path}"))
        .header("cookie", cookies)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}
