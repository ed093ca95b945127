//! Routes and handlers: CapabilityStatement, read, search (GET and POST `_search`),
//! content negotiation, and the mapping of every failure to an OperationOutcome.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use fhir::bundle::{Bundle, BundleEntry, BundleLink, EntrySearch, SearchMode};
use gnuhealth::access::Policy;
use gnuhealth::db::Database;
use gnuhealth::resources::{Context, ResourceDef};
use gnuhealth::search::{PagePos, SearchRequest};

use crate::auth::{Authenticator, Principal};
use crate::cursor;
use crate::error::ApiError;

/// Shared, read-only state of the server (nothing here is per-user or must outlive the
/// process: instances are interchangeable).
pub struct AppState {
    pub db: Database,
    pub base_url: String,
    pub secret: Vec<u8>,
    pub auth: Authenticator,
    /// Per-user access rights with the stamp of the security tables they were read under:
    /// a different stamp means GNU Health's rights changed, and they are read again.
    pub policies: moka::future::Cache<i64, Arc<(String, Arc<Policy>)>>,
    /// The current stamp of the security tables, re-read every second.
    pub stamp: moka::future::Cache<(), String>,
    /// Lifetime of the bearer tokens `POST /auth/token` issues, in seconds.
    pub token_seconds: i64,
    pub default_count: u32,
    pub max_count: u32,
    /// The CapabilityStatement, rendered once.
    pub capability: Bytes,
    /// TLS, trusted proxies, size limits: what the layers in front of the routes apply.
    pub transport: Arc<crate::transport::Transport>,
    /// Where the audit lines go, if `audit_log` is configured.
    pub audit: Option<Arc<crate::audit::AuditLog>>,
}

pub fn router(state: Arc<AppState>) -> Router {
    let transport = state.transport.clone();
    let audit = state.audit.clone();
    let routes = Router::new()
        .route("/", any(metadata))
        .route("/metadata", any(metadata))
        .route("/auth/token", any(token))
        .route("/auth/login", any(crate::browser::login))
        .route("/auth/home", any(crate::browser::home))
        .route("/auth/logout", any(crate::browser::logout))
        .route("/{type}", any(type_level))
        .route("/{type}/_search", any(search_post))
        .route("/{type}/{id}", any(instance_level))
        .route("/{type}/{id}/{compartment}", any(compartment))
        .fallback(not_found)
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(
            audit,
            crate::audit::layer,
        ));
    // Client address and HSTS, size limits, OperationOutcome for every error.
    crate::transport::layers(routes, transport)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {}", uri.path()))
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json; charset=utf-8"),
    );
    resp
}

/// Output options from `_format`, `_pretty` and `Accept`.
struct Output {
    pretty: bool,
}

/// FHIR JSON is what we serve; anything else a client insists on is a 406.
fn negotiate(headers: &HeaderMap, query: &[(String, String)]) -> Result<Output, ApiError> {
    const JSON: &[&str] = &[
        "json",
        "application/json",
        "application/fhir+json",
        "application/json+fhir",
        "text/json",
    ];
    let pretty = query.iter().any(|(k, v)| k == "_pretty" && v == "true");
    if let Some((_, f)) = query.iter().find(|(k, _)| k == "_format") {
        let f = f.split(';').next().unwrap_or("").trim();
        if !JSON.contains(&f) {
            return Err(ApiError::NotAcceptable(format!(
                "_format '{f}' is not supported; this server speaks application/fhir+json"
            )));
        }
        return Ok(Output { pretty });
    }
    if let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) {
        let ok = accept.split(',').any(|range| {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    == Some(0.0)
            });
            !refused
                && (JSON.contains(&media.as_str())
                    || media == "*/*"
                    || media == "application/*"
                    || media.is_empty())
        });
        if !ok {
            return Err(ApiError::NotAcceptable(format!(
                "cannot produce any of '{accept}'; this server speaks application/fhir+json"
            )));
        }
    }
    Ok(Output { pretty })
}

fn render<T: serde::Serialize>(value: &T, out: &Output) -> Result<Vec<u8>, ApiError> {
    let r = if out.pretty {
        serde_json::to_vec_pretty(value)
    } else {
        serde_json::to_vec(value)
    };
    r.map_err(|_| ApiError::Internal)
}

fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

async fn metadata(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    if method != Method::GET && method != Method::HEAD {
        return Err(ApiError::MethodNotAllowed(method.to_string()));
    }
    let query = query_pairs(&uri);
    let out = negotiate(&headers, &query)?;
    let body = if out.pretty {
        let v: serde_json::Value =
            serde_json::from_slice(&state.capability).map_err(|_| ApiError::Internal)?;
        render(&v, &out)?
    } else {
        state.capability.to_vec()
    };
    Ok(json_response(StatusCode::OK, body))
}

/// Add to the request's audit line (when the audit log is on).
pub(crate) fn audit(ext: &Extensions, f: impl FnOnce(&mut crate::audit::AuditEvent)) {
    if let Some(slot) = ext.get::<crate::audit::AuditSlot>() {
        slot.record(f);
    }
}

/// The client's address as the transport layer established it (trusted proxies
/// considered); unspecified when unknown.
pub(crate) fn client_ip(ext: &Extensions) -> IpAddr {
    ext.get::<crate::client::ClientAddr>()
        .map_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |c| c.ip)
}

/// `POST /auth/token` with `login` and `password` (form or JSON): a bearer token.
async fn token(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    ext: Extensions,
    body: Bytes,
) -> Result<Response, ApiError> {
    if method != Method::POST {
        return Err(ApiError::MethodNotAllowed(method.to_string()));
    }
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
    let fields: Vec<(String, String)> = match media.as_deref() {
        Some("application/x-www-form-urlencoded") => {
            form_urlencoded::parse(&body).into_owned().collect()
        }
        Some("application/json") => {
            let v: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {e}")))?;
            ["login", "password"]
                .iter()
                .filter_map(|k| Some(((*k).to_owned(), v.get(k)?.as_str()?.to_owned())))
                .collect()
        }
        _ => {
            return Err(ApiError::UnsupportedMediaType(
                "send login and password as application/x-www-form-urlencoded or application/json"
                    .into(),
            ));
        }
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| ApiError::BadRequest(format!("'{name}' is missing")))
    };
    let (login, password) = (field("login")?, field("password")?);
    audit(&ext, |e| {
        e.interaction = Some("token");
        e.user = Some(login.clone());
    });
    let principal = state
        .auth
        .check_password(&state.db, &login, password, client_ip(&ext))
        .await?;
    let now = chrono::Utc::now().timestamp();
    let token = state
        .auth
        .issue_token(&state.db, &principal, now, state.token_seconds)
        .await?;
    let body = serde_json::json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": state.token_seconds,
    });
    let mut resp = (StatusCode::OK, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // A credential: never cached by a browser or proxy.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

fn resource_def(type_name: &str) -> Result<&'static ResourceDef, ApiError> {
    gnuhealth::registry::find(type_name).ok_or_else(|| {
        ApiError::NotFound(format!("resource type '{type_name}' is not served here"))
    })
}

/// The user's access rights, as current as the security stamp.
pub(crate) async fn policy(
    state: &AppState,
    principal: &Principal,
) -> Result<Arc<Policy>, ApiError> {
    let db = state.db.clone();
    let stamp = state
        .stamp
        .try_get_with((), async move { gnuhealth::access::stamp(&db).await })
        .await
        .map_err(|e| ApiError::from((*e).clone()))?;
    let uid = principal.user_id;
    if let Some(cached) = state.policies.get(&uid).await
        && cached.0 == stamp
    {
        return Ok(cached.1.clone());
    }
    let policy = Arc::new(Policy::load(&state.db, uid, gnuhealth::registry::all_models()).await?);
    state
        .policies
        .insert(uid, Arc::new((stamp, policy.clone())))
        .await;
    Ok(policy)
}

/// The user's access rights if they may use `def` at all, else 403.
async fn require_read(
    state: &AppState,
    principal: &Principal,
    def: &ResourceDef,
) -> Result<Arc<Policy>, ApiError> {
    let policy = policy(state, principal).await?;
    match policy.check_type(def) {
        Ok(()) => Ok(policy),
        Err(refusal) => Err(ApiError::Forbidden(format!(
            "{} is not available: user '{}' {refusal}",
            def.type_name, principal.login
        ))),
    }
}

/// Leave out what the user may not see, and mark the resource as a subset (R4 §6.1.0.6).
fn redact(policy: &Policy, def: &ResourceDef, resource: &mut serde_json::Value) {
    if !policy.redact(def, resource) {
        return;
    }
    let tag = serde_json::json!({
        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
        "code": "SUBSETTED",
        "display": "subsetted",
    });
    if let Some(obj) = resource.as_object_mut() {
        let meta = obj.entry("meta").or_insert_with(|| serde_json::json!({}));
        if let Some(meta) = meta.as_object_mut() {
            let tags = meta.entry("tag").or_insert_with(|| serde_json::json!([]));
            if let Some(tags) = tags.as_array_mut() {
                tags.push(tag);
            }
        }
    }
}

fn context(state: &AppState) -> Context {
    Context {
        base_url: state.base_url.clone(),
    }
}

async fn instance_level(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    ext: Extensions,
    uri: Uri,
    Path((type_name, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let def = resource_def(&type_name)?;
    if method != Method::GET && method != Method::HEAD {
        return Err(ApiError::MethodNotAllowed(method.to_string()));
    }
    let query = query_pairs(&uri);
    let out = negotiate(&headers, &query)?;
    audit(&ext, |e| {
        e.interaction = Some("read");
        e.resource_type = Some(def.type_name.to_owned());
    });
    let principal = state
        .auth
        .authenticate(&state.db, &headers, client_ip(&ext))
        .await?;
    audit(&ext, |e| e.user = Some(principal.login.clone()));
    let policy = require_read(&state, &principal, def).await?;
    let missing = || ApiError::NotFound(format!("{type_name}/{id} is not known"));
    if !fhir::is_valid_id(&id) || (!def.key_is_text && id.parse::<i64>().is_err()) {
        return Err(missing());
    }
    let ctx = context(&state);
    // A row outside the user's record rules does not exist for them.
    if policy.has_rules(def) {
        let mut req = SearchRequest::new(vec![("_id".to_owned(), id.clone())], 1);
        req.count_total = false;
        req.policy = Some(policy.clone());
        let page = gnuhealth::search::search(&state.db, def, &ctx, &req).await?;
        if page.ids.is_empty() {
            return Err(missing());
        }
    }
    let ids = [id.clone()];
    let mut found = (def.load)(&state.db, &ctx, &ids).await?;
    let mut resource = found.pop().ok_or_else(missing)?;
    redact(&policy, def, &mut resource);
    audit(&ext, |e| e.ids = vec![id.clone()]);
    let version = resource
        .pointer("/meta/versionId")
        .and_then(|v| v.as_str())
        .map(|v| format!("W/\"{v}\""));
    let mut resp = json_response(StatusCode::OK, render(&resource, &out)?);
    if let Some(etag) = version.and_then(|v| HeaderValue::from_str(&v).ok()) {
        resp.headers_mut().insert(header::ETAG, etag);
    }
    Ok(resp)
}

async fn type_level(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    ext: Extensions,
    uri: Uri,
    Path(type_name): Path<String>,
) -> Result<Response, ApiError> {
    let def = resource_def(&type_name)?;
    if method != Method::GET && method != Method::HEAD {
        return Err(ApiError::MethodNotAllowed(method.to_string()));
    }
    let query = query_pairs(&uri);
    search(&state, def, &headers, &ext, query).await
}

async fn search_post(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    ext: Extensions,
    uri: Uri,
    Path(type_name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let def = resource_def(&type_name)?;
    if method != Method::POST {
        return Err(ApiError::MethodNotAllowed(method.to_string()));
    }
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    if form.as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(ApiError::UnsupportedMediaType(
            "POST _search needs a body of type application/x-www-form-urlencoded".into(),
        ));
    }
    let mut query = query_pairs(&uri);
    query.extend(form_urlencoded::parse(&body).into_owned());
    search(&state, def, &headers, &ext, query).await
}

/// The parameter that puts `def`'s resources in a patient's compartment (R4's Patient
/// CompartmentDefinition: `patient`, else `subject`; the Patient itself by `_id`).
fn compartment_param(def: &ResourceDef) -> Option<&'static str> {
    if def.type_name == "Patient" {
        return Some("_id");
    }
    ["patient", "subject"].into_iter().find(|name| {
        gnuhealth::search::find_param(def, name).is_some_and(|p| p.targets.contains(&"Patient"))
    })
}

/// `GET /Patient/[id]/[type]?…`: a search of `type` within the patient's compartment.
async fn compartment(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    ext: Extensions,
    uri: Uri,
    Path((owner, id, type_name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    if owner != "Patient" {
        return Err(ApiError::NotFound(format!(
            "no route for {}: only the Patient compartment is served",
            uri.path()
        )));
    }
    let def = resource_def(&type_name)?;
    if method != Method::GET && method != Method::HEAD {
        return Err(ApiError::MethodNotAllowed(method.to_string()));
    }
    let param = compartment_param(def).ok_or_else(|| {
        ApiError::BadRequest(format!("{type_name} is not in the Patient compartment"))
    })?;
    if !fhir::is_valid_id(&id) {
        return Err(ApiError::NotFound(format!("Patient/{id} is not known")));
    }
    let mut query = vec![(param.to_owned(), id)];
    query.extend(query_pairs(&uri));
    search(&state, def, &headers, &ext, query).await
}

/// `Prefer: handling=lenient` asks us to ignore parameters we do not know.
fn lenient(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .any(|p| p.trim().eq_ignore_ascii_case("handling=lenient"))
}

async fn search(
    state: &AppState,
    def: &'static ResourceDef,
    headers: &HeaderMap,
    ext: &Extensions,
    query: Vec<(String, String)>,
) -> Result<Response, ApiError> {
    let out = negotiate(headers, &query)?;
    audit(ext, |e| {
        e.interaction = Some("search-type");
        e.resource_type = Some(def.type_name.to_owned());
        e.search = Some(
            query
                .iter()
                .filter(|(k, _)| k != "_cursor")
                .cloned()
                .collect(),
        );
    });
    let principal = state
        .auth
        .authenticate(&state.db, headers, client_ip(ext))
        .await?;
    audit(ext, |e| e.user = Some(principal.login.clone()));
    let policy = require_read(state, &principal, def).await?;
    let lenient = lenient(headers);
    let denied = policy.denied_params(def);

    let mut count = state.default_count;
    let mut cursor_text = None;
    let mut params = Vec::new();
    // Result parameters that shape the answer: kept in the links and bound to the cursor.
    let mut result = Vec::new();
    let mut sort = Vec::new();
    let mut count_total = true;
    let mut ignored = Vec::new();
    let mut includes = Vec::new();
    for (k, v) in query {
        match k.as_str() {
            "_count" => {
                count = fhir::search::parse_count(&v, state.max_count)
                    .map_err(|e| ApiError::BadRequest(format!("_count: {e}")))?;
            }
            "_cursor" => cursor_text = Some(v),
            "_format" | "_pretty" => {}
            "_sort" => {
                sort.extend(gnuhealth::search::parse_sort(def, &v)?);
                result.push((k, v));
            }
            "_include" | "_revinclude" | "_include:iterate" | "_revinclude:iterate" => {
                let reverse = k.starts_with("_revinclude");
                let iterate = k.ends_with(":iterate");
                includes.push(gnuhealth::include::parse(&v, reverse, iterate)?);
                result.push((k, v));
            }
            "_total" => {
                count_total = match v.as_str() {
                    "none" => false,
                    // Counting is exact and costs one query: an estimate would not be cheaper.
                    "estimate" | "accurate" => true,
                    other => {
                        return Err(ApiError::BadRequest(format!(
                            "_total: '{other}' is not one of none, estimate, accurate"
                        )));
                    }
                };
                result.push((k, v));
            }
            _ => {
                let name = gnuhealth::search::key_param(&k).unwrap_or_else(|| k.clone());
                let known = gnuhealth::search::is_search_key(def, &k);
                if denied.contains(&name.as_str()) {
                    return Err(ApiError::Forbidden(format!(
                        "user '{}' may not search {} by '{name}': it reads a field they may not read",
                        principal.login, def.type_name
                    )));
                }
                if known {
                    params.push((k, v));
                } else if lenient {
                    ignored.push(k);
                } else {
                    return Err(ApiError::BadRequest(format!(
                        "unknown search parameter '{name}' for {} (send Prefer: handling=lenient to ignore it)",
                        def.type_name
                    )));
                }
            }
        }
    }
    let mut bound = params.clone();
    bound.extend(result.iter().cloned());
    let digest = cursor::query_digest(def.type_name, &bound, count);
    let (pos, known_total) = match &cursor_text {
        None => (PagePos::First, None),
        Some(c) => cursor::decode(&state.secret, &digest, c).ok_or_else(|| {
            ApiError::BadRequest("the paging cursor is invalid or belongs to another search".into())
        })?,
    };
    let req = SearchRequest {
        params: params.clone(),
        count,
        pos: pos.clone(),
        known_total,
        count_total,
        sort,
        policy: Some(policy.clone()),
    };
    let ctx = context(state);
    let page = gnuhealth::search::search(&state.db, def, &ctx, &req).await?;
    let resources = (def.load)(&state.db, &ctx, &page.ids).await?;
    audit(ext, |e| e.ids = page.ids.clone());

    // Keep the page's order: the loader may return rows in any order.
    let mut by_id: std::collections::HashMap<String, serde_json::Value> = resources
        .into_iter()
        .filter_map(|r| Some((r.get("id")?.as_str()?.to_owned(), r)))
        .collect();
    let mut bundle = Bundle::searchset();
    bundle.total = page.total;
    let link = |pos: Option<&PagePos>| {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &bound {
            ser.append_pair(k, v);
        }
        ser.append_pair("_count", &count.to_string());
        if let Some(p) = pos {
            ser.append_pair(
                "_cursor",
                &cursor::encode(&state.secret, &digest, p, page.total),
            );
        }
        format!("{}/{}?{}", state.base_url, def.type_name, ser.finish())
    };
    let self_pos = (pos != PagePos::First).then_some(&pos);
    bundle.link.push(BundleLink {
        relation: "self",
        url: link(self_pos),
    });
    bundle.link.push(BundleLink {
        relation: "first",
        url: link(None),
    });
    if page.has_previous && !page.first.is_empty() {
        bundle.link.push(BundleLink {
            relation: "previous",
            url: link(Some(&PagePos::Before(page.first.clone()))),
        });
    }
    if page.has_next && !page.last.is_empty() {
        bundle.link.push(BundleLink {
            relation: "next",
            url: link(Some(&PagePos::After(page.last.clone()))),
        });
    }
    for id in &page.ids {
        if let Some(mut resource) = by_id.remove(id) {
            redact(&policy, def, &mut resource);
            bundle.entry.push(BundleEntry {
                full_url: Some(format!("{}/{}/{}", state.base_url, def.type_name, id)),
                resource,
                search: Some(EntrySearch {
                    mode: SearchMode::Match,
                }),
            });
        }
    }
    if !includes.is_empty() {
        let included = gnuhealth::include::resolve(
            &state.db,
            &ctx,
            &policy,
            &includes,
            def,
            &page.ids,
            state.max_count,
        )
        .await?;
        for (t, mut resource) in included {
            let Some(id) = resource
                .get("id")
                .and_then(|v| v.as_str())
                .map(str::to_owned)
            else {
                continue;
            };
            redact(&policy, t, &mut resource);
            audit(ext, |e| e.ids.push(format!("{}/{id}", t.type_name)));
            bundle.entry.push(BundleEntry {
                full_url: Some(format!("{}/{}/{id}", state.base_url, t.type_name)),
                resource,
                search: Some(EntrySearch {
                    mode: SearchMode::Include,
                }),
            });
        }
    }
    if !ignored.is_empty() {
        // Lenient handling: say what was ignored (R4 3.1.1.4, search.mode = outcome).
        let outcome = fhir::outcome::OperationOutcome::single(
            fhir::outcome::Severity::Warning,
            "not-supported",
            format!(
                "ignored unknown search parameters for {}: {}",
                def.type_name,
                ignored.join(", ")
            ),
        );
        bundle.entry.push(BundleEntry {
            full_url: None,
            resource: serde_json::to_value(&outcome).map_err(|_| ApiError::Internal)?,
            search: Some(EntrySearch {
                mode: SearchMode::Outcome,
            }),
        });
    }
    Ok(json_response(StatusCode::OK, render(&bundle, &out)?))
}
