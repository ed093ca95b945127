//! Tryton's storage conventions: naive-UTC timestamps in `YYYY-MM-DD HH:MM:SS[.ffffff]`,
//! plain calendar dates, and their FHIR forms.

use chrono::{NaiveDate, NaiveDateTime};

/// Tryton's text form of a timestamp (microseconds only when non-zero), as trytond's SQLite
/// adapter writes it; also what [`crate::db`] returns for PostgreSQL timestamps.
pub fn format_timestamp(t: &NaiveDateTime) -> String {
    if t.and_utc().timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
    }
}

/// Parse a stored timestamp (`T` or space separator, optional fraction).
pub fn parse_timestamp(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f"))
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M"))
        .ok()
        .or_else(|| parse_date(s).and_then(|d| d.and_hms_opt(0, 0, 0)))
}

/// Parse a stored date (`YYYY-MM-DD`; a timestamp's date part is accepted too).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").ok()
}

/// A stored timestamp as a FHIR `dateTime`/`instant` in UTC (`2024-03-01T09:30:00Z`).
pub fn fhir_datetime(stored: &str) -> Option<String> {
    parse_timestamp(stored).map(|t| {
        if t.and_utc().timestamp_subsec_micros() == 0 {
            t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
        } else {
            t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
        }
    })
}

/// A stored date as a FHIR `date`.
pub fn fhir_date(stored: &str) -> Option<String> {
    parse_date(stored).map(|d| d.format("%Y-%m-%d").to_string())
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
