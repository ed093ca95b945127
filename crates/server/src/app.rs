//! Routes and handlers: CapabilityStatement, read, search (GET and POST `_search`),
//! content negotiation, and the mapping of every failure to an OperationOutcome.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use fhir::bundle::{Bundle, BundleEntry, BundleLink, EntrySearch, SearchMode};
use fhir::subset::{Subset, Summary};
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
    /// The OpenAPI description of the routes (`/openapi.json`), rendered once.
    pub openapi: Bytes,
    /// TLS, trusted proxies, size limits: what the layers in front of the routes apply.
    pub transport: Arc<crate::transport::Transport>,
    /// Where the audit lines go, if `audit_log` is configured.
    pub audit: Option<Arc<crate::audit::AuditLog>>,
    /// Request counts and latencies, for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
}

pub fn router(state: Arc<AppState>) -> Router {
    let transport = state.transport.clone();
    let audit = state.audit.clone();
    let metrics = state.metrics.clone();
    let view_state = state.clone();
    let routes = Router::new()
        .route("/", any(metadata))
        .route("/metadata", any(metadata))
        .route("/healthz", get(crate::metrics::healthz))
        .route("/openapi.json", get(openapi))
        .route("/readyz", get(crate::metrics::readyz))
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
    // Client address and HSTS, size limits, OperationOutcome for every error; outermost,
    // those OperationOutcomes in XML for clients that asked for XML; around that, every
    // answer as a page for browsers.
    // Outermost of all, the metrics count every request, refused ones too, and the
    // request id marks every log line.
    crate::transport::layers(routes, transport)
        .layer(axum::middleware::from_fn(xml_errors))
        .layer(axum::middleware::from_fn_with_state(
            view_state,
            crate::browser_view::layer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            crate::metrics::layer,
        ))
        .layer(axum::middleware::from_fn(crate::request_id::layer))
}

/// Error responses are OperationOutcomes in JSON wherever they were produced (handlers,
/// extractors, limits); a request that asked for XML gets them in XML.
async fn xml_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let xml = wants_xml(req.headers(), &query_pairs(req.uri())).unwrap_or(false);
    let resp = next.run(req).await;
    let json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(fhir::JSON_MIME));
    if !xml || !json || resp.status().is_success() {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    // OperationOutcomes are small; the limit only guards against surprises.
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return ApiError::Internal.into_response();
    };
    let converted = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| fhir::xml::to_xml(&v, false).ok());
    // No body (HEAD) or not a resource: left as it is.
    let Some(xml) = converted else {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+xml; charset=utf-8"),
    );
    Response::from_parts(parts, axum::body::Body::from(xml))
}

/// `/openapi.json`: open, like the CapabilityStatement.
async fn openapi(State(state): State<Arc<AppState>>) -> Response {
    let mut resp = state.openapi.clone().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {}", uri.path()))
}

/// A FHIR answer in the negotiated format.
pub(crate) fn fhir_response(status: StatusCode, body: Rendered) -> Response {
    let mut resp = (status, body.bytes).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if body.xml {
            "application/fhir+xml; charset=utf-8"
        } else {
            "application/fhir+json; charset=utf-8"
        }),
    );
    resp
}

/// A rendered resource and its format.
pub(crate) struct Rendered {
    bytes: Vec<u8>,
    xml: bool,
}

/// Output options from `_format`, `_pretty`, `Accept`, `_summary` and `_elements`.
pub(crate) struct Output {
    pretty: bool,
    xml: bool,
    pub(crate) subset: Subset,
}

const JSON_TYPES: &[&str] = &[
    "json",
    "application/json",
    "application/fhir+json",
    "application/json+fhir",
    "text/json",
];
const XML_TYPES: &[&str] = &[
    "xml",
    "application/xml",
    "application/fhir+xml",
    "application/xml+fhir",
    "text/xml",
];

/// The format asked for: XML when `_format` says so, or when `Accept` ranks an XML type
/// above every JSON one; JSON otherwise; 406 when neither is acceptable.
fn wants_xml(headers: &HeaderMap, query: &[(String, String)]) -> Result<bool, ApiError> {
    if let Some((_, f)) = query.iter().find(|(k, _)| k == "_format") {
        // An unencoded `+` in a query string arrives as a space.
        let f = f.split(';').next().unwrap_or("").trim().replace(' ', "+");
        let f = f.to_ascii_lowercase();
        if XML_TYPES.contains(&f.as_str()) {
            return Ok(true);
        }
        if JSON_TYPES.contains(&f.as_str()) {
            return Ok(false);
        }
        return Err(ApiError::NotAcceptable(format!(
            "_format '{f}' is not supported; this server speaks application/fhir+json and application/fhir+xml"
        )));
    }
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(false);
    };
    let q = AcceptQualities::of(accept);
    if q.json <= 0.0 && q.xml <= 0.0 {
        return Err(ApiError::NotAcceptable(format!(
            "cannot produce any of '{accept}'; this server speaks application/fhir+json and application/fhir+xml"
        )));
    }
    Ok(q.xml > q.json)
}

/// The quality an `Accept` header gives each format we can answer in (RFC 9110 §12.5.1):
/// the best of the ranges naming it, else the best of the wildcards. HTML counts only
/// when named: a wildcard means a program that takes whatever comes, not a person.
pub(crate) struct AcceptQualities {
    pub json: f32,
    pub xml: f32,
    pub html: f32,
}

impl AcceptQualities {
    pub(crate) fn of(accept: &str) -> AcceptQualities {
        let (mut json, mut xml, mut html, mut any) =
            (None::<f32>, None::<f32>, None::<f32>, None::<f32>);
        let best = |slot: &mut Option<f32>, q: f32| *slot = Some(slot.map_or(q, |s| s.max(q)));
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match media.as_str() {
                "" | "*/*" | "application/*" | "text/*" => best(&mut any, q),
                "text/html" => best(&mut html, q),
                m if JSON_TYPES.contains(&m) => best(&mut json, q),
                m if XML_TYPES.contains(&m) => best(&mut xml, q),
                _ => {}
            }
        }
        AcceptQualities {
            json: json.or(any).unwrap_or(0.0),
            xml: xml.or(any).unwrap_or(0.0),
            html: html.unwrap_or(0.0),
        }
    }
}

/// Format, indentation and the elements asked for; 406 for a format we cannot produce,
/// 400 for an invalid `_summary`.
pub(crate) fn negotiate(
    headers: &HeaderMap,
    query: &[(String, String)],
) -> Result<Output, ApiError> {
    let xml = wants_xml(headers, query)?;
    let pretty = query.iter().any(|(k, v)| k == "_pretty" && v == "true");
    let mut subset = Subset::default();
    for (k, v) in query {
        match k.as_str() {
            "_summary" => subset.summary = Summary::parse(v).map_err(ApiError::BadRequest)?,
            "_elements" => subset.elements.get_or_insert_with(Vec::new).extend(
                v.split(',')
                    .map(|e| e.trim().to_owned())
                    .filter(|e| !e.is_empty()),
            ),
            _ => {}
        }
    }
    Ok(Output {
        pretty,
        xml,
        subset,
    })
}

/// A resource or Bundle in the negotiated format, its entries' resources (or itself)
/// reduced to what `_summary`/`_elements` asked for.
pub(crate) fn render<T: serde::Serialize>(value: &T, out: &Output) -> Result<Rendered, ApiError> {
    if !out.xml && out.subset.is_full() {
        let bytes = if out.pretty {
            serde_json::to_vec_pretty(value)
        } else {
            serde_json::to_vec(value)
        };
        return Ok(Rendered {
            bytes: bytes.map_err(|_| ApiError::Internal)?,
            xml: false,
        });
    }
    let mut v = serde_json::to_value(value).map_err(|_| ApiError::Internal)?;
    if !out.subset.is_full() {
        // A searchset is subset entry by entry; the Bundle itself is kept whole.
        if v["resourceType"] == "Bundle" {
            let entries = v.get_mut("entry").and_then(|e| e.as_array_mut());
            for r in entries
                .into_iter()
                .flatten()
                .filter_map(|e| e.get_mut("resource"))
            {
                out.subset.apply(r);
            }
        } else {
            out.subset.apply(&mut v);
        }
    }
    let bytes = if out.xml {
        fhir::xml::to_xml(&v, out.pretty).map_err(|e| {
            tracing::error!("XML rendering failed: {e}");
            ApiError::Internal
        })?
    } else if out.pretty {
        serde_json::to_vec_pretty(&v).map_err(|_| ApiError::Internal)?
    } else {
        serde_json::to_vec(&v).map_err(|_| ApiError::Internal)?
    };
    Ok(Rendered {
        bytes,
        xml: out.xml,
    })
}

pub(crate) fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
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
    let body = if out.pretty || out.xml || !out.subset.is_full() {
        let v: serde_json::Value =
            serde_json::from_slice(&state.capability).map_err(|_| ApiError::Internal)?;
        render(&v, &out)?
    } else {
        Rendered {
            bytes: state.capability.to_vec(),
            xml: false,
        }
    };
    Ok(fhir_response(StatusCode::OK, body))
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
pub(crate) async fn require_read(
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

/// What every resource goes through before it is sent: the elements the user may not see
/// left out (and the resource marked a subset), then its narrative generated from what
/// is left.
pub(crate) fn redact(policy: &Policy, def: &ResourceDef, resource: &mut serde_json::Value) {
    if policy.redact(def, resource) {
        fhir::subset::mark_subsetted(resource);
    }
    fhir::narrative::add(resource);
}

pub(crate) fn context(state: &AppState) -> Context {
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
    if let Some(operation) = id.strip_prefix('$') {
        return Err(ApiError::BadRequest(format!(
            "${operation} is not supported on all {type_name} resources: the server offers \
             Patient/[id]/$everything, one patient at a time"
        )));
    }
    if method != Method::GET && method != Method::HEAD {
        return Err(ApiError::MethodNotAllowed(method.to_string()));
    }
    let query = query_pairs(&uri);
    let out = negotiate(&headers, &query)?;
    if out.subset.summary == Summary::Count {
        return Err(ApiError::BadRequest(
            "_summary=count is for searches; a read returns one resource".into(),
        ));
    }
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
    let mut resp = fhir_response(StatusCode::OK, render(&resource, &out)?);
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

/// `GET /Patient/[id]/[type]?…`: a search of `type` within the patient's compartment;
/// `/Patient/[id]/$everything`: the whole compartment (`crate::everything`).
async fn compartment(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    ext: Extensions,
    uri: Uri,
    Path((owner, id, type_name)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    if owner != "Patient" {
        return Err(ApiError::NotFound(format!(
            "no route for {}: only the Patient compartment is served",
            uri.path()
        )));
    }
    if type_name == "$everything" {
        return crate::everything::everything(&state, method, &headers, &ext, &uri, id, body).await;
    }
    let def = resource_def(&type_name)?;
    if method != Method::GET && method != Method::HEAD {
        return Err(ApiError::MethodNotAllowed(method.to_string()));
    }
    let param = gnuhealth::everything::compartment_param(def).ok_or_else(|| {
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
pub(crate) fn lenient(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .any(|p| p.trim().eq_ignore_ascii_case("handling=lenient"))
}

/// A searchset entry telling the client something about the search (R4
/// `search.mode = outcome`).
pub(crate) fn outcome_entry(
    outcome: &fhir::outcome::OperationOutcome,
) -> Result<BundleEntry, ApiError> {
    Ok(BundleEntry {
        full_url: None,
        resource: serde_json::to_value(outcome).map_err(|_| ApiError::Internal)?,
        search: Some(EntrySearch {
            mode: SearchMode::Outcome,
        }),
    })
}

/// What a search-like request does first: its output format, its audit entry (the
/// parameters without the cursor), and who asks.
pub(crate) async fn open_search(
    state: &AppState,
    headers: &HeaderMap,
    ext: &Extensions,
    interaction: &'static str,
    type_name: &str,
    query: &[(String, String)],
) -> Result<(Output, Principal), ApiError> {
    let out = negotiate(headers, query)?;
    audit(ext, |e| {
        e.interaction = Some(interaction);
        e.resource_type = Some(type_name.to_owned());
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
    Ok((out, principal))
}

async fn search(
    state: &AppState,
    def: &'static ResourceDef,
    headers: &HeaderMap,
    ext: &Extensions,
    query: Vec<(String, String)>,
) -> Result<Response, ApiError> {
    let (out, principal) =
        open_search(state, headers, ext, "search-type", def.type_name, &query).await?;
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
                for key in gnuhealth::search::parse_sort(def, &v)? {
                    // Ordering by a field reveals it, so trytond refuses it like a search.
                    if denied.contains(&key.name.as_str()) {
                        return Err(ApiError::Forbidden(format!(
                            "user '{}' may not sort {} by '{}': it reads a field they may not read",
                            principal.login, def.type_name, key.name
                        )));
                    }
                    sort.push(key);
                }
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
            // They shape the answer (render), not the matches.
            "_summary" | "_elements" => result.push((k, v)),
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
    if out.subset.summary == Summary::Count {
        count = 0;
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
        either: Vec::new(),
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
        bundle.entry.push(outcome_entry(&outcome)?);
    }
    Ok(fhir_response(StatusCode::OK, render(&bundle, &out)?))
}
