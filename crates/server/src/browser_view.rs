//! The browser view: a GET whose `Accept` ranks `text/html` above the FHIR formats, as a
//! browser's does, and that names no `_format`, gets the FHIR answer as a page: the
//! narrative, the searches that point at the resource (or the Bundle's entries and paging
//! links), and the pretty-printed JSON with this server's references as links. The page
//! is made from the JSON answer the request would have had, so it shows exactly what the
//! user may see. A request without credentials goes to the sign-in form, which brings it
//! back.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gnuhealth::resources::Kind;
use serde_json::Value;

use crate::app::{AcceptQualities, AppState};
use crate::browser::{base_path, escape, html_page, redirect};
use crate::error::ApiError;

/// The largest answer turned into a page (a `$everything` of a long stay is a few MB).
const MAX_ANSWER: usize = 64 << 20;

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em auto;max-width:72em;padding:0 1em}\
    nav a{margin-right:1em}pre{background:#f6f6f6;padding:1em;overflow-x:auto}\
    section{border-top:1px solid #ccc;padding:.5em 0}h2{font-size:1.1em}\
    .mode{color:#666;font-weight:normal}table{border-collapse:collapse}\
    td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left}";

/// Paths with answers of their own kind: the sign-in pages, the probes, the OpenAPI text.
fn served_as_is(path: &str) -> bool {
    path.starts_with("/auth/") || matches!(path, "/healthz" | "/readyz" | "/openapi.json")
}

fn wants_page(req: &Request) -> bool {
    if req.method() != Method::GET || served_as_is(req.uri().path()) {
        return false;
    }
    let html_first = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            let q = AcceptQualities::of(accept);
            q.html > q.json.max(q.xml)
        });
    // `_format` wins over `Accept`; looked for only when a browser asks.
    html_first
        && !req
            .uri()
            .query()
            .is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "_format"))
}

pub async fn layer(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    if !wants_page(&req) {
        let mut resp = next.run(req).await;
        let fhir = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/fhir+"));
        if fhir {
            vary_by_accept(&mut resp);
        }
        return resp;
    }
    let target = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let credentials = req.headers().contains_key(header::AUTHORIZATION);
    req.headers_mut().insert(
        header::ACCEPT,
        HeaderValue::from_static("application/fhir+json"),
    );
    let resp = next.run(req).await;
    if resp.status() == StatusCode::UNAUTHORIZED && !credentials {
        let next: String = form_urlencoded::byte_serialize(target.as_bytes()).collect();
        return redirect(&state, &format!("/auth/login?next={next}"));
    }
    let fhir_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(fhir::JSON_MIME));
    if !fhir_json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ANSWER).await else {
        return ApiError::NotAcceptable(format!(
            "the answer is larger than {} MB, too large for a page; ask for it with _format=json",
            MAX_ANSWER >> 20
        ))
        .into_response();
    };
    let Ok(answer) = serde_json::from_slice::<Value>(&bytes) else {
        return ApiError::Internal.into_response();
    };
    let view = View {
        base_url: &state.base_url,
        base: base_path(&state.base_url),
        target: &target,
    };
    let (title, body) = view.render(parts.status, &answer);
    let mut page = html_page(parts.status, &title, STYLE, &body);
    // The answer's own headers that still hold for the page (Retry-After, Allow, …);
    // not its format, length or validators, which describe the JSON.
    for (name, value) in &parts.headers {
        let own = [
            header::CONTENT_TYPE,
            header::CONTENT_LENGTH,
            header::ETAG,
            header::LAST_MODIFIED,
            header::WWW_AUTHENTICATE,
        ];
        if !own.contains(name) && !page.headers().contains_key(name) {
            page.headers_mut().append(name.clone(), value.clone());
        }
    }
    vary_by_accept(&mut page);
    page
}

/// The same URL answers JSON, XML or a page as `Accept` asks: a cache must not give one
/// client's format to another.
fn vary_by_accept(resp: &mut Response) {
    resp.headers_mut()
        .append(header::VARY, HeaderValue::from_static("accept"));
}

/// What a page links relative to.
struct View<'a> {
    base_url: &'a str,
    /// The path of the base URL: links and redirects are paths, so the page works under
    /// whatever host name the browser used.
    base: &'a str,
    /// The request's path and query, as the browser sent it.
    target: &'a str,
}

impl View<'_> {
    /// The page's title and body.
    fn render(&self, status: StatusCode, answer: &Value) -> (String, String) {
        let resource_type = answer["resourceType"].as_str().unwrap_or("");
        let id = answer["id"].as_str().unwrap_or("");
        let title = if !status.is_success() {
            format!(
                "{} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )
        } else if resource_type == "Bundle" {
            format!(
                "{} ({})",
                self.bundle_title(),
                answer["type"].as_str().unwrap_or("")
            )
        } else if id.is_empty() {
            resource_type.to_owned()
        } else {
            format!("{resource_type}/{id}")
        };
        let mut body = self.nav();
        if resource_type == "Bundle" {
            self.bundle(answer, &mut body);
        } else {
            narrative(answer, &mut body);
            if resource_type == "OperationOutcome" {
                issues(answer, &mut body);
            }
            self.referring_searches(resource_type, id, &mut body);
        }
        body.push_str("<details open><summary>JSON</summary><pre>");
        self.json(answer, None, 0, &mut body);
        body.push_str("</pre></details>");
        (title, body)
    }

    fn nav(&self) -> String {
        let sep = if self.target.contains('?') {
            "&amp;"
        } else {
            "?"
        };
        let target = escape(self.target);
        format!(
            "<nav><a href=\"{base}/auth/home\">Home</a>\
             <a href=\"{base}/metadata\">CapabilityStatement</a>\
             <a href=\"{target}{sep}_format=json&amp;_pretty=true\">JSON</a>\
             <a href=\"{target}{sep}_format=xml&amp;_pretty=true\">XML</a></nav>",
            base = self.base
        )
    }

    /// "Patient search" for `/Patient?…`, "Patient/1 $everything" for the operation.
    fn bundle_title(&self) -> String {
        let path = self.target.split('?').next().unwrap_or("");
        let path = path.strip_prefix('/').unwrap_or(path);
        match path.rsplit_once('/') {
            Some((owner, "$everything")) => format!("{owner} $everything"),
            Some((owner, "_search")) => format!("{owner} search"),
            Some((owner, compartment)) => format!("{compartment} of {owner}"),
            None => format!("{path} search"),
        }
    }

    fn bundle(&self, bundle: &Value, out: &mut String) {
        if let Some(total) = bundle["total"].as_u64() {
            let _ = write!(out, "<p>{total} in all.</p>");
        }
        let paging = self.paging(bundle);
        out.push_str(&paging);
        for entry in bundle["entry"].as_array().into_iter().flatten() {
            let resource = &entry["resource"];
            let name = format!(
                "{}/{}",
                resource["resourceType"].as_str().unwrap_or(""),
                resource["id"].as_str().unwrap_or("")
            );
            out.push_str("<section><h2>");
            match entry["fullUrl"]
                .as_str()
                .and_then(|u| self.href(u, "fullUrl"))
            {
                Some(href) => {
                    let _ = write!(out, "<a href=\"{href}\">{}</a>", escape(&name));
                }
                None => out.push_str(&escape(&name)),
            }
            if let Some(mode) = entry["search"]["mode"].as_str()
                && mode != "match"
            {
                let _ = write!(out, " <span class=\"mode\">({})</span>", escape(mode));
            }
            out.push_str("</h2>");
            narrative(resource, out);
            if resource["resourceType"] == "OperationOutcome" {
                issues(resource, out);
            }
            out.push_str("</section>");
        }
        out.push_str(&paging);
    }

    /// The Bundle's first, previous, next and last pages, as links.
    fn paging(&self, bundle: &Value) -> String {
        let links: Vec<String> = ["first", "previous", "next", "last"]
            .iter()
            .filter_map(|relation| {
                let url = bundle["link"]
                    .as_array()?
                    .iter()
                    .find(|l| l["relation"] == *relation)?["url"]
                    .as_str()?;
                let href = self.href(url, "url")?;
                Some(format!(
                    "<a href=\"{href}\" rel=\"{relation}\">{relation}</a>"
                ))
            })
            .collect();
        if links.is_empty() {
            String::new()
        } else {
            format!("<nav>{}</nav>", links.concat())
        }
    }

    /// For a resource read: for every served type with a reference parameter that may
    /// point at this type, the search by the first such parameter for this resource; for
    /// a Patient, its `$everything`.
    fn referring_searches(&self, resource_type: &str, id: &str, out: &mut String) {
        if id.is_empty() || gnuhealth::registry::find(resource_type).is_none() {
            return;
        }
        let id_param: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
        let mut items = String::new();
        if resource_type == "Patient" {
            let _ = write!(
                items,
                "<li><a href=\"{base}/Patient/{id_param}/$everything\">$everything</a></li>",
                base = self.base
            );
        }
        for def in gnuhealth::registry::all() {
            let param = def
                .params
                .iter()
                .find(|p| p.kind == Kind::Reference && p.targets.contains(&resource_type));
            if let Some(param) = param {
                let _ = write!(
                    items,
                    "<li><a href=\"{base}/{t}?{p}={resource_type}/{id_param}\">{t}</a> \
                     <span class=\"mode\">({p})</span></li>",
                    base = self.base,
                    t = def.type_name,
                    p = param.name
                );
            }
        }
        if !items.is_empty() {
            let _ = write!(out, "<h2>Related</h2><ul>{items}</ul>");
        }
    }

    /// The path a value links to, if it names a resource or search of this server: a
    /// reference, full URL or link under the base URL, or a relative reference, to a
    /// served type. (Other values under the base URL, such as identifier systems, name
    /// no page.)
    fn href(&self, value: &str, key: &str) -> Option<String> {
        if !matches!(key, "reference" | "fullUrl" | "url") {
            return None;
        }
        let local = match value.strip_prefix(self.base_url) {
            Some(rest) if rest.starts_with('/') => rest,
            _ if key == "reference" => {
                let (_, id) = value.split_once('/')?;
                let id_ok = !id.is_empty()
                    && id.len() <= 64
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
                if !id_ok {
                    return None;
                }
                &format!("/{value}")
            }
            _ => return None,
        };
        let resource_type = local[1..].split(['/', '?']).next().unwrap_or("");
        gnuhealth::registry::find(resource_type)?;
        Some(escape(&format!("{}{local}", self.base)))
    }

    /// Pretty-printed JSON, escaped for HTML, with links where `href` finds them.
    fn json(&self, value: &Value, key: Option<&str>, depth: usize, out: &mut String) {
        let indent = |out: &mut String, depth: usize| {
            out.extend(std::iter::repeat_n("  ", depth));
        };
        match value {
            Value::Object(map) if !map.is_empty() => {
                out.push_str("{\n");
                for (i, (k, v)) in map.iter().enumerate() {
                    indent(out, depth + 1);
                    out.push_str(&escape(&Value::from(k.as_str()).to_string()));
                    out.push_str(": ");
                    self.json(v, Some(k), depth + 1, out);
                    out.push_str(if i + 1 < map.len() { ",\n" } else { "\n" });
                }
                indent(out, depth);
                out.push('}');
            }
            Value::Array(items) if !items.is_empty() => {
                out.push_str("[\n");
                for (i, v) in items.iter().enumerate() {
                    indent(out, depth + 1);
                    self.json(v, key, depth + 1, out);
                    out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                indent(out, depth);
                out.push(']');
            }
            Value::String(s) => {
                let text = escape(&value.to_string());
                match self.href(s, key.unwrap_or("")) {
                    Some(href) => {
                        let _ = write!(out, "<a href=\"{href}\">{text}</a>");
                    }
                    None => out.push_str(&text),
                }
            }
            other => out.push_str(&escape(&other.to_string())),
        }
    }
}

/// The resource's narrative: XHTML this server generated from the resource, with every
/// value escaped (`fhir::narrative`), so it goes into the page as it is.
fn narrative(resource: &Value, out: &mut String) {
    if let Some(div) = resource["text"]["div"].as_str() {
        out.push_str(div);
    }
}

/// An OperationOutcome's issues, as a table.
fn issues(outcome: &Value, out: &mut String) {
    let rows: String = outcome["issue"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|issue| {
            let cell = |k: &str| escape(issue[k].as_str().unwrap_or(""));
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                cell("severity"),
                cell("code"),
                cell("diagnostics")
            )
        })
        .collect();
    if !rows.is_empty() {
        let _ = write!(
            out,
            "<table><tr><th>Severity</th><th>Code</th><th>Details</th></tr>{rows}</table>"
        );
    }
}
