//! The FHIR search-parameter syntax (`fhir::search`) on arbitrary query strings.
//!
//! The input is decoded like the query string of a request and every parser runs on every
//! key and value. Besides "never panics", each parser's documented contract is checked, so
//! a parser that silently returns nonsense is found too.
#![no_main]

use chrono::{NaiveDateTime, TimeDelta};
use fhir::search::{self, Bound, DateCondition, DateRange, Prefix, StoredKind, TextMatch};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for (key, value) in form_urlencoded::parse(data) {
        let modifier = check_key(&key);
        check_whole_value(&value);
        for item in search::split_or(&value) {
            check_item(&item, modifier.as_deref());
        }
        check_escaping(&key, &value);
        check_folding(&key, &value);
        check_folding(&value, &key);
    }
});

/// `parse_key` splits at the first colon and loses nothing; returns the modifier.
fn check_key(key: &str) -> Option<String> {
    let k = search::parse_key(key);
    match &k.modifier {
        Some(m) => {
            assert_eq!(format!("{}:{m}", k.name), key);
            assert!(!k.name.contains(':'));
        }
        None => assert_eq!(k.name, key),
    }
    k.modifier
}

/// The parsers that take a whole value rather than an item of an OR-list.
fn check_whole_value(value: &str) {
    let b = search::parse_bool(value);
    assert_eq!(b.is_ok(), value == "true" || value == "false");
    assert!(b.is_err() || b == Ok(value == "true"));

    // The numeric value when `value` is a plain decimal number that fits a u64.
    let number = (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
        .then(|| value.trim_start_matches('0'))
        // 19 digits always fit; longer is above any u32 limit, which `None` stands for.
        .filter(|digits| digits.len() <= 19)
        .map(|digits| match digits {
            "" => 0,
            _ => digits.parse::<u64>().expect("at most 19 digits"),
        });
    // Limits around the one the server uses, the extremes, and one taken from the input.
    let from_input = u32::try_from(value.len()).unwrap_or(u32::MAX);
    for max in [0, 1, 100, 1000, u32::MAX, from_input] {
        match search::parse_count(value, max) {
            Ok(n) => {
                assert!(n <= max, "{value:?}: {n} > {max}");
                assert_eq!(number, Some(u64::from(n)), "{value:?}");
            }
            Err(_) => assert!(number.is_none_or(|n| n > u64::from(max)), "{value:?}"),
        }
    }
}

/// One item of an OR-list through every parser it can reach.
fn check_item(item: &str, modifier: Option<&str>) {
    // Dates as the server reads them: unescaped first, then prefix and date.
    let unescaped = search::unescape(item);
    let (prefix, rest) = search::split_prefix(&unescaped);
    if rest.len() < unescaped.len() {
        assert_eq!(format!("{}{rest}", prefix.as_str()), unescaped);
        assert_eq!(Prefix::from_code(prefix.as_str()), Some(prefix));
    } else {
        assert_eq!((prefix, rest), (Prefix::Eq, unescaped.as_str()));
    }
    if let Ok(range) = search::parse_date(rest) {
        check_date(prefix, &range);
    }

    if let Ok(t) = search::parse_token(item) {
        assert!(t.system.is_some() || t.code.is_some(), "{item:?}");
        assert_ne!(t.code.as_deref(), Some(""), "{item:?}");
    }

    if let Ok(r) = search::parse_reference(&unescaped, modifier) {
        assert!(fhir::is_valid_id(&r.id), "{item:?}");
        if let Some(t) = &r.resource_type {
            assert!(t.len() >= 2 && t.starts_with(|c: char| c.is_ascii_uppercase()));
            assert!(t.bytes().all(|b| b.is_ascii_alphabetic()), "{item:?}");
        }
        if modifier.is_some() {
            assert_eq!(r.resource_type.as_deref(), modifier, "{item:?}");
        }
    }
}

const PREFIXES: [Prefix; 9] = [
    Prefix::Eq,
    Prefix::Ne,
    Prefix::Gt,
    Prefix::Lt,
    Prefix::Ge,
    Prefix::Le,
    Prefix::Sa,
    Prefix::Eb,
    Prefix::Ap,
];

/// A parsed date is a non-empty range, and the conditions of the prefixes relate the way
/// R4 defines them (`ne` = not `eq`, `ge` = `gt` or `eq`, `le` = `lt` or `eq`) for stored
/// values of every kind around the range's edges.
fn check_date(prefix: Prefix, range: &DateRange) {
    assert!(range.start < range.end, "{range:?}");
    let _ = search::date_condition(prefix, range, StoredKind::Day);

    let ns = TimeDelta::nanoseconds(1);
    let day = TimeDelta::days(1);
    let mut points = Vec::new();
    for edge in [range.start, range.end] {
        for delta in [-day, -ns, TimeDelta::zero(), ns, day] {
            points.extend(edge.checked_add_signed(delta));
        }
    }
    for kind in [StoredKind::Day, StoredKind::Instant, StoredKind::Period] {
        let cond = |p: Prefix| search::date_condition_at(p, range, kind, range.start);
        let conds: Vec<DateCondition> = PREFIXES.iter().map(|&p| cond(p)).collect();
        let at = |p: Prefix, lo: Option<NaiveDateTime>, hi: Option<NaiveDateTime>| {
            let i = PREFIXES.iter().position(|&q| q == p).expect("every prefix");
            conds[i].matches(lo, hi)
        };
        // `now` only moves the `ap` window; the extremes probe its saturation.
        let far_ap = [NaiveDateTime::MIN, NaiveDateTime::MAX]
            .map(|now| search::date_condition_at(Prefix::Ap, range, kind, now));
        if kind == StoredKind::Instant {
            for cond in &conds {
                let terms = match cond {
                    DateCondition::All(t) => t.clone(),
                    DateCondition::Any(alts) => alts.concat(),
                };
                assert!(terms.iter().all(|t| t.0 == Bound::Low), "{cond:?}");
            }
            assert!(at(Prefix::Eq, Some(range.start), Some(range.start)));
        }
        let mut stored: Vec<(Option<NaiveDateTime>, Option<NaiveDateTime>)> = Vec::new();
        for &lo in &points {
            match kind {
                StoredKind::Instant => stored.push((Some(lo), Some(lo))),
                StoredKind::Day => {
                    let midnight = lo.date().and_time(chrono::NaiveTime::MIN);
                    stored.extend(
                        midnight
                            .checked_add_signed(day)
                            .map(|next| (Some(midnight), Some(next))),
                    );
                }
                StoredKind::Period => {
                    stored.push((Some(lo), None));
                    stored.push((None, Some(lo)));
                    for &hi in points.iter().filter(|&&hi| hi >= lo) {
                        stored.push((Some(lo), Some(hi)));
                    }
                }
            }
        }
        if kind == StoredKind::Period {
            stored.push((None, None));
        }
        for (lo, hi) in stored {
            // Only formatted when an assertion fails.
            let why = || format!("{range:?} {kind:?} {lo:?}..{hi:?}");
            let eq = at(Prefix::Eq, lo, hi);
            assert_eq!(at(Prefix::Ne, lo, hi), !eq, "ne {}", why());
            let ge = at(Prefix::Gt, lo, hi) || eq;
            assert_eq!(at(Prefix::Ge, lo, hi), ge, "ge {}", why());
            let le = at(Prefix::Lt, lo, hi) || eq;
            assert_eq!(at(Prefix::Le, lo, hi), le, "le {}", why());
            // Entirely after or entirely before is neither equal nor both.
            let (sa, eb) = (at(Prefix::Sa, lo, hi), at(Prefix::Eb, lo, hi));
            assert!(!(sa && eb) && !(eq && (sa || eb)), "sa/eb {}", why());
            // What the range contains is approximately it, whenever now is.
            let ap = at(Prefix::Ap, lo, hi) && far_ap.iter().all(|c| c.matches(lo, hi));
            assert!(!eq || ap, "ap {}", why());
        }
    }
}

/// What a client escapes as R4 says comes back exactly: `split_or` + `unescape` for an
/// OR-list of two items, `split_or` + `parse_token` for `system|code`.
fn check_escaping(a: &str, b: &str) {
    let list = format!("{},{}", escape(a), escape(b));
    let items: Vec<String> = search::split_or(&list)
        .iter()
        .map(|i| search::unescape(i))
        .collect();
    assert_eq!(items, [a, b], "{list:?}");

    let token = format!("{}|{}", escape(a), escape(b));
    let items = search::split_or(&token);
    assert_eq!(items.len(), 1, "{token:?}");
    match search::parse_token(&items[0]) {
        Ok(t) => {
            assert_eq!(t.system.as_deref(), Some(a), "{token:?}");
            assert_eq!(t.code.as_deref(), (!b.is_empty()).then_some(b), "{token:?}");
        }
        Err(_) => assert!(a.is_empty() && b.is_empty(), "{token:?}"),
    }
}

/// R4's escaping of a literal value (§3.1.1.3).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | ',' | '$' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `fold` is a normal form (idempotent, same as `fold_chars`), and `folded_match` agrees
/// with the plain string operations on folded copies it avoids building.
fn check_folding(text: &str, value: &str) {
    let (ft, fv) = (search::fold(text), search::fold(value));
    assert_eq!(search::fold(&ft), ft, "{text:?}");
    assert_eq!(search::fold_chars(text).collect::<String>(), ft);
    let prefix = ft.starts_with(&fv);
    let contains = ft.contains(&fv);
    let word_prefix = prefix || ft.contains(&format!(" {fv}"));
    // Only formatted when an assertion fails.
    let why = || format!("{text:?} {value:?}");
    assert_eq!(
        search::folded_match(text, &fv, TextMatch::Prefix),
        prefix,
        "{}",
        why()
    );
    assert_eq!(
        search::folded_match(text, &fv, TextMatch::Contains),
        contains,
        "{}",
        why()
    );
    assert_eq!(
        search::folded_match(text, &fv, TextMatch::WordPrefix),
        word_prefix,
        "{}",
        why()
    );
}
