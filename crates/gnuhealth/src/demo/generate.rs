//! The generator's machinery: the reference clock, value types stored the way trytond's
//! SQLite adapter stores them, the `insert!` macro over cached prepared statements, the
//! id counters, seeded random helpers, and [`run`], which fills a database whose tables
//! already exist (see [`super::schema`]).
//!
//! Determinism: nothing reads the clock or an unseeded source. Site data comes from a
//! ChaCha stream of the seed; each household from its own stream (`set_stream`), so a
//! household's people do not change when other parts of the generator do.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta, Timelike};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rusqlite::Connection;
use rusqlite::types::{ToSql, ToSqlOutput, Value};

use super::DemoOptions;

/// "Now" for the generated data: every date is at or before it.
pub(super) const NOW: NaiveDateTime = datetime(2026, 1, 1, 9, 0, 0);
/// When the modules were installed (create date of module data and security rows).
pub(super) const INSTALLED: NaiveDateTime = datetime(2019, 3, 4, 8, 12, 31);
/// First patient registration; registrations then spread evenly up to [`NOW`].
pub(super) const OPENING: NaiveDateTime = datetime(2019, 4, 1, 8, 0, 0);

const fn datetime(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(date) => match date.and_hms_opt(h, mi, s) {
            Some(t) => t,
            None => panic!("invalid time"),
        },
        None => panic!("invalid date"),
    }
}

/// Why generation failed.
#[derive(Debug)]
pub(super) enum GenError {
    Sql(rusqlite::Error),
    /// Reference data the generator relies on is missing from the embedded SQL.
    Missing(String),
}

impl From<rusqlite::Error> for GenError {
    fn from(e: rusqlite::Error) -> Self {
        GenError::Sql(e)
    }
}

impl std::fmt::Display for GenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GenError::Sql(e) => write!(f, "{e}"),
            GenError::Missing(what) => write!(f, "reference data missing: {what}"),
        }
    }
}

pub(super) type GenResult<T> = Result<T, GenError>;

/// `INSERT INTO "table" ("a", "b") VALUES (?1, ?2)`.
pub(super) fn insert_sql(table: &str, cols: &[&str]) -> String {
    let names: Vec<String> = cols.iter().map(|c| format!("\"{c}\"")).collect();
    let params: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
    format!(
        "INSERT INTO \"{table}\" ({}) VALUES ({})",
        names.join(", "),
        params.join(", ")
    )
}

/// Insert one row: `insert!(conn, "table" { "col": value, … })`. The SQL text is built
/// once per call site and the statement comes from the connection's statement cache, so
/// the columns of a call site are listed next to their values without any cost per row.
macro_rules! insert {
    ($conn:expr, $table:literal { $($col:literal : $val:expr),+ $(,)? }) => {{
        static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let sql = SQL.get_or_init(|| $crate::demo::generate::insert_sql($table, &[$($col),+]));
        $conn
            .prepare_cached(sql)
            .and_then(|mut st| st.execute(rusqlite::params![$($val),+]))
    }};
}
pub(super) use insert;

/// A DateTime as trytond stores it: naive UTC text, microseconds only when non-zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Stamp(pub NaiveDateTime);

impl ToSql for Stamp {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Owned(Value::Text(stamp_text(&self.0))))
    }
}

/// [`crate::tryton::format_timestamp`] without chrono's format-string interpreter, which
/// took a tenth of the generation time.
fn stamp_text(t: &NaiveDateTime) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(26);
    let (d, time) = (t.date(), t.time());
    let micros = time.nanosecond() / 1000;
    let _ = write!(
        s,
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        d.year(),
        d.month(),
        d.day(),
        time.hour(),
        time.minute(),
        time.second()
    );
    if micros != 0 {
        let _ = write!(s, ".{micros:06}");
    }
    s
}

/// A Date as trytond stores it: `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Day(pub NaiveDate);

impl ToSql for Day {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        let d = self.0;
        Ok(ToSqlOutput::Owned(Value::Text(format!(
            "{:04}-{:02}-{:02}",
            d.year(),
            d.month(),
            d.day()
        ))))
    }
}

/// A Numeric field: trytond's SQLite adapter stores the decimal's ASCII text as a BLOB.
pub(super) struct Numeric(pub String);

impl ToSql for Numeric {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Owned(Value::Blob(self.0.as_bytes().to_vec())))
    }
}

/// A counter handing out consecutive ids.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Seq(i64);

impl Seq {
    pub fn starting_after(last: i64) -> Self {
        Seq(last)
    }
    pub fn next(&mut self) -> i64 {
        self.0 += 1;
        self.0
    }
    pub fn last(&self) -> i64 {
        self.0
    }
}

/// Next id of every table the generator fills after the site setup, and the numbers of
/// trytond's sequences (lab `TEST001`, `PRES 2024/000001`, …).
#[derive(Debug, Default)]
pub(super) struct Ids {
    pub party: Seq,
    pub person_name: Seq,
    pub alt_id: Seq,
    pub contact: Seq,
    pub address: Seq,
    pub party_lang: Seq,
    pub du: Seq,
    pub patient: Seq,
    pub family: Seq,
    pub family_member: Seq,
    pub death_certificate: Seq,
    pub underlying_condition: Seq,
    pub disease: Seq,
    pub lab: Seq,
    pub critearea: Seq,
    pub lab_request: Seq,
    pub vaccination: Seq,
    pub medication: Seq,
    pub prescription: Seq,
    pub prescription_line: Seq,
    pub surgery: Seq,
    pub operation: Seq,
    pub surgery_team: Seq,
    pub or_schedule: Seq,
    pub patient_procedure: Seq,
    pub family_disease: Seq,
    pub evaluation: Seq,
    pub secondary_condition: Seq,
    pub diagnostic_hypothesis: Seq,
    pub inpatient_registration: Seq,
    pub rounding: Seq,
    pub ambulatory_care: Seq,
    pub appointment: Seq,
    pub insurance: Seq,
    /// `ir_sequence` numbers (the last one used).
    pub seq_lab: Seq,
    pub seq_lab_request: Seq,
    pub seq_prescription: Seq,
    pub seq_surgery: Seq,
    pub seq_evaluation: Seq,
    pub seq_inpatient: Seq,
    pub seq_rounding: Seq,
    pub seq_ambulatory: Seq,
    pub seq_appointment: Seq,
}

/// Seeded randomness with the few distributions the generator needs.
pub(super) struct Dice(pub ChaCha8Rng);

impl Dice {
    /// Stream `stream` of the generator seeded with `seed`.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Dice(rng)
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.0.random_bool(p.clamp(0.0, 1.0))
    }
    /// Uniform integer in `lo..=hi`.
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            self.0.random_range(lo..=hi)
        }
    }
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        if hi <= lo {
            lo
        } else {
            self.0.random_range(lo..hi)
        }
    }
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.0.random_range(0..items.len())]
    }
    /// An item chosen with probability proportional to its weight.
    pub fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.0.random_range(0..total.max(1));
        for &(item, w) in items {
            if x < w {
                return item;
            }
            x -= w;
        }
        items[items.len() - 1].0
    }
    /// Index chosen with probability proportional to `weights`.
    pub fn weighted_index(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = self.0.random_range(0..total.max(1));
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
    /// Normal distribution (Box–Muller).
    pub fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let u1: f64 = 1.0 - self.0.random::<f64>();
        let u2: f64 = self.0.random::<f64>();
        mean + sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    /// Uppercase letters and digits.
    pub fn letters(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'A' + self.0.random_range(0..26u8)))
            .collect()
    }
    pub fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.0.random_range(0..10u8)))
            .collect()
    }
    /// A random (version 4) UUID, as Python's `uuid4()` prints it.
    pub fn uuid4(&mut self) -> String {
        let mut b: [u8; 16] = self.0.random();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }
    /// A creation timestamp: `t` plus a few seconds, with microseconds, as `now()` gives.
    pub fn stamp_after(&mut self, t: NaiveDateTime, max_seconds: i64) -> NaiveDateTime {
        let s = self.int(1, max_seconds.max(1));
        let us = self.int(0, 999_999);
        (t + TimeDelta::seconds(s) + TimeDelta::microseconds(us)).min(NOW)
    }
    /// A date between `from` and `to` (inclusive).
    pub fn date_between(&mut self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let days = (to - from).num_days();
        from + TimeDelta::days(self.int(0, days.max(0)))
    }
    /// A time of day during clinic hours on `d` (UTC; the islands are UTC+0/+1).
    pub fn clinic_time(&mut self, d: NaiveDate) -> NaiveDateTime {
        let minutes = self.int(8 * 60, 19 * 60) / 5 * 5;
        d.and_time(chrono::NaiveTime::MIN) + TimeDelta::minutes(minutes)
    }
}

/// A keyed permutation of `0..domain`: a Feistel network over the smallest even number
/// of bits covering the domain, walked until it lands inside. Unique codes (PUIDs, DNI
/// numbers) come from it, so they look random yet never collide.
pub(super) fn permute(index: u64, domain: u64, key: u64) -> u64 {
    let bits = (64 - domain.saturating_sub(1).leading_zeros())
        .max(2)
        .div_ceil(2);
    let mask = (1u64 << bits) - 1;
    let mut v = index % domain;
    loop {
        let (mut left, mut right) = (v >> bits, v & mask);
        for round in 0..4u64 {
            let f = splitmix(right ^ key.rotate_left(16 * round as u32) ^ (round << 56)) & mask;
            (left, right) = (right, left ^ f);
        }
        v = (left << bits) | right;
        if v < domain {
            return v;
        }
    }
}

/// SplitMix64's finaliser: a cheap, well-mixing function of 64 bits.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `d` plus `years` whole years (29 February becomes 28 February).
pub(super) fn add_years(d: NaiveDate, years: i32) -> NaiveDate {
    d.with_year(d.year() + years)
        .or_else(|| NaiveDate::from_ymd_opt(d.year() + years, d.month(), 28))
        .unwrap_or(d)
}

/// Whole years between `dob` and `on`.
pub(super) fn age_on(dob: NaiveDate, on: NaiveDate) -> i64 {
    let mut years = i64::from(on.year() - dob.year());
    if (on.month(), on.day()) < (dob.month(), dob.day()) {
        years -= 1;
    }
    years.max(0)
}

pub(super) fn round(v: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (v * f).round() / f
}

/// Ids of the catalogue and site rows that patients' records point to.
#[derive(Default)]
pub(super) struct Refs {
    pub country: HashMap<&'static str, i64>,
    pub subdivision: HashMap<&'static str, i64>,
    pub lang: HashMap<&'static str, i64>,
    pub specialty: HashMap<String, i64>,
    pub pathology: HashMap<&'static str, i64>,
    pub procedure: HashMap<&'static str, i64>,
    pub drug: HashMap<&'static str, super::site::DrugRef>,
    pub vaccine: HashMap<&'static str, i64>,
    pub lab_type: HashMap<&'static str, super::site::LabTypeRef>,
    pub dose_unit: HashMap<&'static str, i64>,
}

impl Refs {
    pub fn pathology(&self, code: &str) -> GenResult<i64> {
        self.pathology
            .get(code)
            .copied()
            .ok_or_else(|| GenError::Missing(format!("ICD-10 code {code}")))
    }
}

/// Fill the (empty, schema-only) database behind `conn`; returns the number of patients.
pub(super) fn run(
    conn: &Connection,
    opts: &DemoOptions,
    progress: &indicatif::ProgressBar,
) -> GenResult<u64> {
    let mut site = super::site::build(conn, opts)?;
    let mut people = super::patient::Households::new(opts.seed, opts.patients);
    progress.set_message("patients");
    while let Some(household) = people.next_household() {
        super::patient::write_household(conn, &mut site, household)?;
        progress.set_position(site.ids.patient.last().unsigned_abs());
    }
    super::site::write_sequences(conn, &site)?;
    Ok(site.ids.patient.last().unsigned_abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_formatted_like_trytond() {
        for t in [
            NOW,
            INSTALLED + TimeDelta::microseconds(1),
            OPENING + TimeDelta::microseconds(987_654),
        ] {
            assert_eq!(stamp_text(&t), crate::tryton::format_timestamp(&t));
        }
    }

    #[test]
    fn permutation_is_a_bijection() {
        let domain = 1_000;
        let mut seen: Vec<u64> = (0..domain).map(|i| permute(i, domain, 5)).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len() as u64, domain);
        assert!(seen.iter().all(|&v| v < domain));
    }
}
