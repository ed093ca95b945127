//! The raw limits the HTTP benchmark compares the server with, served by the same HTTP
//! stack (axum on axum-server, HTTP/1, tokio's multi-threaded runtime):
//! - `GET /static`: a Patient of typical size as a fixed JSON body, no database;
//! - `GET /sql/{id}`: exactly the statements an authenticated `GET /Patient/{id}` runs
//!   (the sign-in read of the demo user, then the Patient's read), through the server's
//!   own database layer, answered with the number of rows: no password check, no access
//!   rights, no mapping, no JSON encoding.
//!
//! Usage: `raw_limits DATABASE_URL LISTEN_ADDRESS` (the URL as the server takes it).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use gnuhealth::db::Database;

/// A Patient as the server sends it (narrative included).
const PATIENT: &[u8] = include_bytes!("../../fhir/benches/data/patient.json");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: raw_limits DATABASE_URL LISTEN_ADDRESS";
    let url = args.next().ok_or(usage)?;
    let listen: SocketAddr = args.next().ok_or(usage)?.parse()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let db = Arc::new(Database::connect(&url).await?);
        let app = axum::Router::new()
            .route("/static", get(static_patient))
            .route("/sql/{id}", get(patient_sql))
            .with_state(db);
        let listener = std::net::TcpListener::bind(listen)?;
        listener.set_nonblocking(true)?;
        println!("raw limits on http://{listen}/static and http://{listen}/sql/{{id}}");
        axum_server::from_tcp(listener)?
            .http1_only()
            .serve(app.into_make_service())
            .await?;
        Ok(())
    })
}

async fn static_patient() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/fhir+json")], PATIENT)
}

async fn patient_sql(
    State(db): State<Arc<Database>>,
    Path(id): Path<i64>,
) -> Result<String, StatusCode> {
    let now = chrono::Utc::now().naive_utc();
    let client = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let throttle = gnuhealth::security::Throttle::default();
    let sign_in = gnuhealth::security::sign_in_statements(&db, &throttle, "demo", client, now);
    let read = gnuhealth::resources::patient::read_statements(&db, &[id]);
    let sign_in: Vec<_> = sign_in.iter().collect();
    let read: Vec<_> = read.iter().collect();
    let users = db
        .query_all(&sign_in)
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    let rows = db
        .query_all(&read)
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    let count: usize = users.iter().chain(&rows).map(Vec::len).sum();
    Ok(format!("{{\"rows\":{count}}}"))
}
