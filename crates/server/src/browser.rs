//! Browser sign-in, as the original GNU Health FHIR server offered it: `/auth/login` (a
//! form protected against cross-site request forgery by a signed double-submit token),
//! `/auth/home`, `/auth/logout`. A successful sign-in opens a session in trytond's
//! `ir_session` and sets a Secure, HttpOnly, SameSite=Strict cookie that the FHIR
//! endpoints accept as well.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Extensions, HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::{AppState, audit, client_ip, policy};
use crate::auth::{Principal, SESSION_COOKIE, cookie, random_hex};
use crate::error::ApiError;

const CSRF_COOKIE: &str = "ghf_csrf";
/// How long a sign-in form may be left open.
const FORM_SECONDS: i64 = 3600;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title} · GNU Health FHIR</title>\
         <style>body{{font-family:sans-serif;max-width:40em;margin:3em auto;padding:0 1em}}\
         label{{display:block;margin:.8em 0}}input{{font-size:1em}}\
         .error{{color:#a00}}</style></head>\
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

fn set_cookie(resp: &mut Response, name: &str, value: &str, path: &str, max_age: i64) {
    let text = format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; Secure; HttpOnly; SameSite=Strict"
    );
    if let Ok(v) = HeaderValue::from_str(&text) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn redirect(to: &'static str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    resp.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(to));
    resp
}

/// The sign-in form, with a fresh CSRF nonce (cookie) and its signed token (field).
fn login_form(state: &AppState, status: StatusCode, message: Option<&str>) -> Response {
    let nonce = random_hex(16);
    let now = chrono::Utc::now().timestamp();
    let token = state.auth.csrf_token(&nonce, now + FORM_SECONDS);
    let error = message
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(m)))
        .unwrap_or_default();
    let body = format!(
        "{error}<form method=\"post\" action=\"/auth/login\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{token}\">\
         <label>Login <input name=\"login\" autocomplete=\"username\" required autofocus></label>\
         <label>Password <input name=\"password\" type=\"password\" \
         autocomplete=\"current-password\" required></label>\
         <button type=\"submit\">Sign in</button></form>\
         <p>Use your GNU Health user name and password.</p>"
    );
    let mut resp = page(status, "Sign in", &body);
    set_cookie(&mut resp, CSRF_COOKIE, &nonce, "/auth", FORM_SECONDS);
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

fn csrf_refused() -> Response {
    page(
        StatusCode::FORBIDDEN,
        "Form expired",
        "<p>The form has expired or did not come from this server. \
         <a href=\"/auth/login\">Sign in again</a>.</p>",
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
    headers: HeaderMap,
    ext: Extensions,
    body: Bytes,
) -> Result<Response, ApiError> {
    if method == Method::GET || method == Method::HEAD {
        if session(&state, &headers).await.is_some() {
            return Ok(redirect("/auth/home"));
        }
        return Ok(login_form(&state, StatusCode::OK, None));
    }
    if method != Method::POST {
        return Err(ApiError::MethodNotAllowed(method.to_string()));
    }
    let fields = form_fields(&headers, &body)?;
    if !csrf_ok(&state, &headers, &fields) {
        return Ok(csrf_refused());
    }
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let login = field("login");
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
            let mut resp = redirect("/auth/home");
            let age = state.auth.session_age.as_secs() as i64;
            set_cookie(&mut resp, SESSION_COOKIE, &value, "/", age);
            set_cookie(&mut resp, CSRF_COOKIE, "", "/auth", 0);
            Ok(resp)
        }
        Err(ApiError::Unauthorized) => Ok(login_form(
            &state,
            StatusCode::UNAUTHORIZED,
            Some("Wrong login or password."),
        )),
        Err(ApiError::TooManyRequests { retry_after, .. }) => {
            let mut resp = login_form(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                Some("Too many sign-in attempts. Please wait a few minutes."),
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
        return Ok(redirect("/auth/login"));
    };
    let policy = policy(&state, &principal).await?;
    let links: String = gnuhealth::registry::all()
        .iter()
        .filter(|d| policy.check_type(d).is_ok())
        .map(|d| {
            format!(
                "<li><a href=\"/{t}?_count=20\">{t}</a></li>",
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
         <p><a href=\"/metadata\">CapabilityStatement</a></p>\
         <form method=\"post\" action=\"/auth/logout\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{token}\">\
         <button type=\"submit\">Sign out</button></form>",
        login = escape(&principal.login)
    );
    let mut resp = page(StatusCode::OK, "GNU Health FHIR", &body);
    set_cookie(&mut resp, CSRF_COOKIE, &nonce, "/auth", FORM_SECONDS);
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
        return Ok(csrf_refused());
    }
    if let Some(key) = cookie(&headers, SESSION_COOKIE).and_then(|c| state.auth.session_key(c)) {
        gnuhealth::security::delete_session(&state.db, &key).await?;
    }
    let mut resp = redirect("/auth/login");
    set_cookie(&mut resp, SESSION_COOKIE, "", "/", 0);
    Ok(resp)
}
