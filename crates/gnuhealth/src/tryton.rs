//! Tryton's storage conventions: naive-UTC timestamps in `YYYY-MM-DD HH:MM:SS[.ffffff]`,
//! plain calendar dates, and their FHIR forms.

use std::sync::OnceLock;

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{NaiveDate, NaiveDateTime};

/// A format, read once: chrono's `parse_from_str` and `format` read their format string
/// again on every call (2 % of a Patient read's CPU, for its few timestamps).
struct Format {
    spec: &'static str,
    items: OnceLock<Vec<Item<'static>>>,
}

impl Format {
    const fn new(spec: &'static str) -> Self {
        Format {
            spec,
            items: OnceLock::new(),
        }
    }

    fn items(&self) -> &[Item<'static>] {
        self.items
            .get_or_init(|| StrftimeItems::new(self.spec).collect())
    }

    fn parse(&self, s: &str) -> Option<Parsed> {
        let mut parsed = Parsed::new();
        chrono::format::parse(&mut parsed, s, self.items().iter()).ok()?;
        Some(parsed)
    }

    fn timestamp(&self, s: &str) -> Option<NaiveDateTime> {
        self.parse(s)?.to_naive_datetime_with_offset(0).ok()
    }

    fn datetime(&self, t: &NaiveDateTime) -> String {
        t.format_with_items(self.items().iter()).to_string()
    }

    fn date(&self, d: &NaiveDate) -> String {
        d.format_with_items(self.items().iter()).to_string()
    }
}

static STORED: Format = Format::new("%Y-%m-%d %H:%M:%S%.f");
static STORED_T: Format = Format::new("%Y-%m-%dT%H:%M:%S%.f");
static STORED_MINUTES: Format = Format::new("%Y-%m-%d %H:%M");
static STORED_SECONDS: Format = Format::new("%Y-%m-%d %H:%M:%S");
static STORED_MICROS: Format = Format::new("%Y-%m-%d %H:%M:%S%.6f");
static DATE: Format = Format::new("%Y-%m-%d");
static FHIR_SECONDS: Format = Format::new("%Y-%m-%dT%H:%M:%SZ");
static FHIR_MICROS: Format = Format::new("%Y-%m-%dT%H:%M:%S%.6fZ");

/// Tryton's text form of a timestamp (microseconds only when non-zero), as trytond's SQLite
/// adapter writes it; also what [`crate::db`] returns for PostgreSQL timestamps.
pub fn format_timestamp(t: &NaiveDateTime) -> String {
    if t.and_utc().timestamp_subsec_micros() == 0 {
        STORED_SECONDS.datetime(t)
    } else {
        STORED_MICROS.datetime(t)
    }
}

/// Parse a stored timestamp (`T` or space separator, optional fraction).
pub fn parse_timestamp(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    STORED
        .timestamp(s)
        .or_else(|| STORED_T.timestamp(s))
        .or_else(|| STORED_MINUTES.timestamp(s))
        .or_else(|| parse_date(s).and_then(|d| d.and_hms_opt(0, 0, 0)))
}

/// Parse a stored date (`YYYY-MM-DD`; a timestamp's date part is accepted too).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    DATE.parse(s.get(..10).unwrap_or(s))?.to_naive_date().ok()
}

/// A stored timestamp as a FHIR `dateTime`/`instant` in UTC (`2024-03-01T09:30:00Z`).
pub fn fhir_datetime(stored: &str) -> Option<String> {
    parse_timestamp(stored).map(|t| {
        if t.and_utc().timestamp_subsec_micros() == 0 {
            FHIR_SECONDS.datetime(&t)
        } else {
            FHIR_MICROS.datetime(&t)
        }
    })
}

/// A stored date as a FHIR `date`.
pub fn fhir_date(stored: &str) -> Option<String> {
    parse_date(stored).map(|d| DATE.date(&d))
}

/// `meta.versionId` derived from the last-update timestamp (Tryton keeps no version counter;
/// its own optimistic lock uses the same timestamp): microseconds since the epoch.
pub fn version_id(stored: &str) -> Option<String> {
    parse_timestamp(stored).map(|t| t.and_utc().timestamp_micros().to_string())
}

/// The newest of several stored timestamps (text compares correctly in Tryton's format,
/// but parse to be safe about `T` vs space).
pub fn newest<'a>(stamps: impl IntoIterator<Item = Option<&'a str>>) -> Option<String> {
    stamps
        .into_iter()
        .flatten()
        .filter_map(|s| parse_timestamp(s).map(|t| (t, s)))
        .max_by_key(|(t, _)| *t)
        .map(|(_, s)| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(
            fhir_datetime("2024-03-01 09:30:00").as_deref(),
            Some("2024-03-01T09:30:00Z")
        );
        assert_eq!(
            fhir_datetime("2024-03-01 09:30:00.123456").as_deref(),
            Some("2024-03-01T09:30:00.123456Z")
        );
        assert_eq!(fhir_date("1977-04-12").as_deref(), Some("1977-04-12"));
        assert_eq!(fhir_datetime("garbage"), None);
        let t = parse_timestamp("2024-03-01 09:30:00.5").map(|t| format_timestamp(&t));
        assert_eq!(t.as_deref(), Some("2024-03-01 09:30:00.500000"));
        assert_eq!(
            newest([
                Some("2024-01-01 00:00:00"),
                None,
                Some("2024-02-01 00:00:00")
            ])
            .as_deref(),
            Some("2024-02-01 00:00:00")
        );
    }
}
