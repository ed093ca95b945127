//! Browser sign-in, as the original GNU Health FHIR server offered it: `/auth/login` (a
//! form protected against cross-site request forgery by a signed double-submit token),
//! `/auth/home`, `/auth/logout`. A successful sign-in opens a session in trytond's
//! `ir_session` and sets a Secure, HttpOnly, SameSite=Strict cookie that the FHIR
//! endpoints accept as well. A sign-in that a page of the browser view sent here
//! (`/auth/login?next=/Patient/1`) returns to that page.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Extensions, HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::app::{AppState, audit, client_ip, policy, query_pairs};
use crate::auth::{Principal, SESSION_COOKIE, cookie, random_hex};
use crate::error::ApiError;

const CSRF_COOKIE: &str = "ghf_csrf";
/// How long a sign-in form may be left open.
const FORM_SECONDS: i64 = 3600;

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A page of the sign-in forms.
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    html_page(
        status,
        title,
        "body{font-family:sans-serif;max-width:40em;margin:3em auto;padding:0 1em}\
         label{display:block;margin:.8em 0}input{font-size:1em}.error{color:#a00}",
        body,
    )
}

/// An HTML page of this server: never cached, never framed, nothing loaded or run but
/// its own inline style, forms posted only here.
pub(crate) fn html_page(status: StatusCode, title: &str, style: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title} · GNU Health FHIR</title><style>{style}</style></head>\
         <body><h1>{title}</h1>{body}</body></html>\n",
        title = escape(title)
    );
    let mut resp = (status, html).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
             frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}

/// The path of the public base URL (`/fhir` for `https://host/fhir`, empty at the root):
/// what the server's own links and redirects start with.
pub(crate) fn base_path(base_url: &str) -> &str {
    let after_scheme = base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest);
    after_scheme
        .find('/')
        .map_or("", |i| &after_scheme[i..])
        .trim_end_matches('/')
}

/// A place to return to after sign-in: a path of this server (`/Patient/1?x=y`), never
/// another site (`//host`, `/\\host`, `https://…`), in printable ASCII only (the request
/// target it came from is percent-encoded).
pub(crate) fn safe_next(next: &str) -> Option<&str> {
    let b = next.as_bytes();
    let ok = b.first() == Some(&b'/')
        && !matches!(b.get(1), Some(b'/' | b'\\'))
        && b.len() <= 4096
        && b.iter().all(|c| (0x21..=0x7e).contains(c));
    ok.then_some(next)
}

/// The `next` of a query or form, when it is a safe place to return to.
fn next_of(pairs: &[(String, String)]) -> Option<&str> {
    pairs
        .iter()
        .find(|(k, _)| k == "next")
        .and_then(|(_, v)| safe_next(v))
}

fn set_cookie(resp: &mut Response, name: &str, value: &str, path: &str, max_age: i64) {
    let text = format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; Secure; HttpOnly; SameSite=Strict"
    );
    if let Ok(v) = HeaderValue::from_str(&text) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// A cookie's path: `path` under the base URL's.
fn cookie_path(state: &AppState, path: &str) -> String {
    match (base_path(&state.base_url), path) {
        ("", p) => p.to_owned(),
        (base, "/") => base.to_owned(),
        (base, p) => format!("{base}{p}"),
    }
}

/// 303 to a path of this server (`to` starts with `/`).
pub(crate) fn redirect(state: &AppState, to: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    let location = format!("{}{to}", base_path(&state.base_url));
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// The sign-in form, with a fresh CSRF nonce (cookie) and its signed token (field), and
/// where to go after it.
fn login_form(
    state: &AppState,
    status: StatusCode,
    message: Option<&str>,
    next: Option<&str>,
) -> Response {
    let nonce = random_hex(16);
    let now = chrono::Utc::now().timestamp();
    let token = state.auth.csrf_token(&nonce, now + FORM_SECONDS);
    let error = message
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(m)))
        .unwrap_or_default();
    let next = next
        .map(|n| {
            format!(
                "<input type=\"hidden\" name=\"next\" value=\"{}\">",
                escape(n)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "{error}<form method=\"post\" action=\"{base}/auth/login\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{token}\">{next}\
         <label>Login <input name=\"login\" autocomplete=\"username\" required autofocus></label>\
         <label>Password <input name=\"password\" type=\"password\" \
         autocomplete=\"current-password\" required></label>\
         <button type=\"submit\">Sign in</button></form>\
         <p>Use your GNU Health user name and password.</p>",
        base = base_path(&state.base_url)
    );
    let mut resp = page(status, "Sign in", &body);
    set_cookie(
        &mut resp,
        CSRF_COOKIE,
        &nonce,
        &cookie_path(state, "/auth"),
        FORM_SECONDS,
    );
    resp
}

/// Does the submitted form carry a CSRF token matching this browser's nonce?
fn csrf_ok(state: &AppState, headers: &HeaderMap, fields: &[(String, String)]) -> bool {
    let token = fields.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v);
    match (token, cookie(headers, CSRF_COOKIE)) {
        (Some(token), Some(nonce)) => {
            state
                .auth
                .check_csrf(token, nonce, chrono::Utc::now().timestamp())
        }
        _ => false,
    }
}

fn csrf_refused(state: &AppState) -> Response {
    page(
        StatusCode::FORBIDDEN,
        "Form expired",
        &format!(
            "<p>The form has expired or did not come from this server. \
             <a href=\"{}/auth/login\">Sign in again</a>.</p>",
            base_path(&state.base_url)
        ),
    )
}

fn form_fields(headers: &HeaderMap, body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    if media.as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(ApiError::UnsupportedMediaType(
            "send the form as application/x-www-form-urlencoded".into(),
        ));
    }
    Ok(form_urlencoded::parse(body).into_owned().collect())
}

/// The signed-in user of a browser request, if any.
async fn session(state: &AppState, headers: &HeaderMap) -> Option<Principal> {
    let value = cookie(headers, SESSION_COOKIE)?;
    state
        .auth
        .check_session(&state.db, value, state.auth.session_age)
        .await
        .ok()
}

/// `GET /auth/login`: the form; `POST /auth/login`: sign in.
pub async fn login(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    ext: Extensions,
    body: Bytes,
) -> Result<Response, ApiError> {
    if method == Method::GET || method == Method::HEAD {
        let query = query_pairs(&uri);
        let next = next_of(&query);
        if session(&state, &headers).await.is_some() {
            return Ok(redirect(&state, next.unwrap_or("/auth/home")));
        }
        return Ok(login_form(&state, StatusCode::OK, None, next));
    }
    if method != Method::POST {
        return Err(ApiError::MethodNotAllowed(method.to_string()));
    }
    let fields = form_fields(&headers, &body)?;
    if !csrf_ok(&state, &headers, &fields) {
        return Ok(csrf_refused(&state));
    }
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let login = field("login");
    let next = next_of(&fields);
    audit(&ext, |e| {
        e.interaction = Some("login");
        e.user = Some(login.clone());
    });
    let checked = state
        .auth
        .check_password(&state.db, &login, field("password"), client_ip(&ext))
        .await;
    match checked {
        Ok(principal) => {
            let value = state.auth.open_session(&state.db, &principal).await?;
            let mut resp = redirect(&state, next.unwrap_or("/auth/home"));
            let age = state.auth.session_age.as_secs() as i64;
            set_cookie(
                &mut resp,
                SESSION_COOKIE,
                &value,
                &cookie_path(&state, "/"),
                age,
            );
            set_cookie(&mut resp, CSRF_COOKIE, "", &cookie_path(&state, "/auth"), 0);
            Ok(resp)
        }
        Err(ApiError::Unauthorized) => Ok(login_form(
            &state,
            StatusCode::UNAUTHORIZED,
            Some("Wrong login or password."),
            next,
        )),
        Err(ApiError::TooManyRequests { retry_after, .. }) => {
            let mut resp = login_form(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                Some("Too many sign-in attempts. Please wait a few minutes."),
                next,
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Ok(resp)
        }
        Err(e) => Err(e),
    }
}

/// `GET /auth/home`: who is signed in, what they may read, and the sign-out button.
pub async fn home(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if method != Method::GET && method != Method::HEAD {
        return Err(ApiError::MethodNotAllowed(method.to_string()));
    }
    let Some(principal) = session(&state, &headers).await else {
        return Ok(redirect(&state, "/auth/login"));
    };
    let base = base_path(&state.base_url);
    let policy = policy(&state, &principal).await?;
    let links: String = gnuhealth::registry::all()
        .iter()
        .filter(|d| policy.check_type(d).is_ok())
        .map(|d| {
            format!(
                "<li><a href=\"{base}/{t}?_count=20\">{t}</a></li>",
                t = d.type_name
            )
        })
        .collect();
    let nonce = random_hex(16);
    let token = state
        .auth
        .csrf_token(&nonce, chrono::Utc::now().timestamp() + FORM_SECONDS);
    let body = format!(
        "<p>Signed in as <strong>{login}</strong>.</p>\
         <p>Resources you may read in GNU Health:</p><ul>{links}</ul>\
         <p><a href=\"{base}/metadata\">CapabilityStatement</a></p>\
         <form method=\"post\" action=\"{base}/auth/logout\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{token}\">\
         <button type=\"submit\">Sign out</button></form>",
        login = escape(&principal.login)
    );
    let mut resp = page(StatusCode::OK, "GNU Health FHIR", &body);
    set_cookie(
        &mut resp,
        CSRF_COOKIE,
        &nonce,
        &cookie_path(&state, "/auth"),
        FORM_SECONDS,
    );
    Ok(resp)
}

/// `POST /auth/logout`: end the session everywhere (its `ir_session` row goes).
pub async fn logout(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    ext: Extensions,
    body: Bytes,
) -> Result<Response, ApiError> {
    if method != Method::POST {
        return Err(ApiError::MethodNotAllowed(method.to_string()));
    }
    audit(&ext, |e| e.interaction = Some("logout"));
    let fields = form_fields(&headers, &body)?;
    if !csrf_ok(&state, &headers, &fields) {
        return Ok(csrf_refused(&state));
    }
    if let Some(key) = cookie(&headers, SESSION_COOKIE).and_then(|c| state.auth.session_key(c)) {
        gnuhealth::security::delete_session(&state.db, &key).await?;
    }
    let mut resp = redirect(&state, "/auth/login");
    set_cookie(&mut resp, SESSION_COOKIE, "", &cookie_path(&state, "/"), 0);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_path_is_the_path_of_the_base_url() {
        assert_eq!(base_path("https://fhir.example.org"), "");
        assert_eq!(base_path("https://fhir.example.org/"), "");
        assert_eq!(base_path("https://example.org/fhir"), "/fhir");
        assert_eq!(
            base_path("https://example.org/gnuhealth/fhir/"),
            "/gnuhealth/fhir"
        );
    }

    #[test]
    fn only_paths_of_this_server_are_places_to_return_to() {
        for ok in ["/Patient/1", "/Patient?name=a%20b&_count=5", "/"] {
            assert_eq!(safe_next(ok), Some(ok));
        }
        for refused in [
            "",
            "Patient/1",
            "//evil.example/",
            "/\\evil.example/",
            "https://evil.example/",
            "/Patient/1 x",
            "/Patient/\u{fc}",
            "/a\r\nLocation: x",
        ] {
            assert_eq!(safe_next(refused), None, "{refused:?}");
        }
        assert_eq!(safe_next(&format!("/{}", "a".repeat(5000))), None);
    }
}
