//! Baseline for the HTTP benchmark: how many Patient point queries per second one thread
//! gets from SQLite directly (rusqlite, prepared statement, random ids), with no HTTP,
//! no mapping and no JSON. Usage: `sqlite_point_query DB_PATH [SECONDS]`.

use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: sqlite_point_query DB_PATH [SECONDS]")?;
    let seconds: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(10);
    let conn =
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let max: i64 = conn.query_row("SELECT MAX(id) FROM gnuhealth_patient", [], |r| r.get(0))?;
    let mut stmt = conn.prepare(
        "SELECT r.id, p.name, p.lastname, p.gender, p.dob, p.ref FROM gnuhealth_patient r \
         JOIN party_party p ON p.id = r.party WHERE r.id = ?1",
    )?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut latencies = Vec::new();
    let start = Instant::now();
    let mut found = 0u64;
    while start.elapsed() < Duration::from_secs(seconds) {
        let id = rng.random_range(1..=max);
        let t = Instant::now();
        let row: Option<(i64, Option<String>)> =
            stmt.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))).ok();
        latencies.push(t.elapsed());
        found += u64::from(row.is_some());
    }
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize];
    println!(
        "sqlite point query: {:.0} queries/s on one thread ({} found), p50 {:?}, p99 {:?}",
        latencies.len() as f64 / elapsed,
        found,
        pct(0.50),
        pct(0.99)
    );
    Ok(())
}
