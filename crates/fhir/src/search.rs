//! FHIR R4 search-parameter *syntax* (<https://hl7.org/fhir/R4/search.html>): parameter
//! keys and modifiers, OR-lists and escapes, prefixes, dates as ranges, tokens, references,
//! booleans, `_count`, and the accent/case folding used for `string` parameters.
//!
//! Nothing here knows about SQL, HTTP or GNU Health. Values are parsed into small plain
//! types, and date comparisons are returned as a predicate description
//! ([`DateCondition`]) that the SQL layer renders, so the FHIR semantics live in one
//! place and can be unit-tested without a database.
//!
//! # Escapes (R4 §3.1.1.3)
//!
//! `\,` `\$` `\|` and `\\` escape the OR separator, the composite separator, the token
//! separator and the backslash itself. [`split_or`] splits on unescaped commas and resolves
//! `\,` and `\$`, but keeps `\|` **and** `\\` escaped: a token value must still tell an
//! escaped `\|` from a separating `|`, and resolving `\\` early would turn `a\\|b` (a
//! backslash, then a separator) into `a\|b` (an escaped pipe). [`parse_token`] splits on
//! unescaped `|` and then resolves; other parameter types call [`unescape`].
//!
//! # Dates
//!
//! A search value is the half-open UTC interval `[start, end)` its precision implies
//! ([`parse_date`]). A stored value is an interval too; see [`StoredKind`] for how each kind
//! of column maps to one and [`date_condition`] for the prefix semantics chosen.

use std::sync::OnceLock;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};

/// A syntax error in a search parameter, with a message a client can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct SyntaxError(pub String);

// ---------------------------------------------------------------------------------------
// Keys, OR-lists, escapes, prefixes
// ---------------------------------------------------------------------------------------

/// A parameter key split at its first `:` into `name` and `modifier`
/// (`name:exact` → `name` + `exact`; `subject:Patient` → `subject` + `Patient`).
///
/// Reverse chaining (`_has:Observation:patient:code`) and chained keys (`subject:Patient.name`,
/// `subject.name`) are kept whole in `name` with no modifier for now: their colons and dots are
/// structure, not a modifier, and the caller rejects them as unsupported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamKey {
    pub name: String,
    /// `Some("")` for a trailing colon (`name:`), which the caller reports as an unknown modifier.
    pub modifier: Option<String>,
}

/// Split a query-parameter key into name and modifier; see [`ParamKey`].
pub fn parse_key(key: &str) -> ParamKey {
    if key.starts_with("_has:") || key.contains('.') {
        return ParamKey {
            name: key.to_string(),
            modifier: None,
        };
    }
    match key.split_once(':') {
        Some((name, modifier)) => ParamKey {
            name: name.to_string(),
            modifier: Some(modifier.to_string()),
        },
        None => ParamKey {
            name: key.to_string(),
            modifier: None,
        },
    }
}

/// Split a parameter value on unescaped commas (the OR-list), resolving `\,` and `\$`.
///
/// `\|` and `\\` stay escaped (see the module docs): token values go on to [`parse_token`],
/// everything else to [`unescape`]. A backslash before any other character, or at the end,
/// is kept literally. Empty items are kept (`a,,b` → `["a", "", "b"]`) so the caller can
/// reject them with a message naming the parameter.
pub fn split_or(value: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ (',' | '$')) => current.push(e),
                Some(other) => {
                    current.push('\\');
                    current.push(other);
                }
                None => current.push('\\'),
            },
            ',' => items.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    items.push(current);
    items
}

/// Resolve the search escapes `\\` `\|` `\,` `\$` in a single value (an item of
/// [`split_or`] for a non-token parameter). A backslash before anything else is literal.
pub fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(e @ ('\\' | '|' | ',' | '$')) => out.push(e),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Split `value` on every `sep` not preceded by an escaping backslash (`|` of a token or
/// quantity, `$` of a composite); escapes are kept for the part's own parser.
pub fn split_unescaped(value: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut from = 0;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            parts.push(&value[from..i]);
            from = i + c.len_utf8();
        }
    }
    parts.push(&value[from..]);
    parts
}

/// A comparison prefix for number, date and quantity values (R4 §3.1.1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Sa,
    Eb,
    Ap,
}

impl Prefix {
    /// The prefix for a two-letter code, if it is one of R4's nine.
    pub fn from_code(code: &str) -> Option<Prefix> {
        Some(match code {
            "eq" => Prefix::Eq,
            "ne" => Prefix::Ne,
            "gt" => Prefix::Gt,
            "lt" => Prefix::Lt,
            "ge" => Prefix::Ge,
            "le" => Prefix::Le,
            "sa" => Prefix::Sa,
            "eb" => Prefix::Eb,
            "ap" => Prefix::Ap,
            _ => return None,
        })
    }

    /// The two-letter code, e.g. for echoing the search back in `Bundle.link[self]`.
    pub fn as_str(self) -> &'static str {
        match self {
            Prefix::Eq => "eq",
            Prefix::Ne => "ne",
            Prefix::Gt => "gt",
            Prefix::Lt => "lt",
            Prefix::Ge => "ge",
            Prefix::Le => "le",
            Prefix::Sa => "sa",
            Prefix::Eb => "eb",
            Prefix::Ap => "ap",
        }
    }
}

/// Strip an R4 prefix (two lower-case letters from the list) if present; default [`Prefix::Eq`].
///
/// Values of the prefixed types start with a digit or sign, so a leading known code is
/// always a prefix; anything else is left for the value parser to reject.
pub fn split_prefix(value: &str) -> (Prefix, &str) {
    // `get` rather than slicing: the value may start with a multi-byte character.
    match value.get(..2).and_then(Prefix::from_code) {
        Some(prefix) => (prefix, &value[2..]),
        None => (Prefix::Eq, value),
    }
}

// ---------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------

/// A date/dateTime search value as the half-open UTC interval `[start, end)` its precision
/// implies: `2020` is the whole year, `2020-03` the month, `2020-03-04` the day,
/// `2020-03-04T10:00` the minute, `…T10:00:05` the second, `…T10:00:05.12` the hundredth of a
/// second (one unit of the last fractional digit given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub start: NaiveDateTime,
    /// Exclusive.
    pub end: NaiveDateTime,
}

/// A byte cursor over an ASCII date string.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        if hit {
            self.pos += 1;
        }
        hit
    }

    /// Exactly `n` ASCII digits as a number, or None (consuming nothing).
    fn digits(&mut self, n: usize) -> Option<u32> {
        let run = self.bytes.get(self.pos..self.pos + n)?;
        if !run.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.pos += n;
        Some(run.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
    }

    /// A run of ASCII digits: (value of the first 9, number of digits).
    fn digit_run(&mut self) -> (u32, usize) {
        let (mut value, mut count) = (0u32, 0usize);
        while let Some(d) = self.peek().filter(u8::is_ascii_digit) {
            if count < 9 {
                value = value * 10 + u32::from(d - b'0');
            }
            count += 1;
            self.pos += 1;
        }
        (value, count)
    }

    fn is_done(&self) -> bool {
        self.pos == self.bytes.len()
    }
}

/// Parse a date/dateTime search value (without its prefix) into the UTC range it denotes.
///
/// Accepted: `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, `YYYY-MM-DDThh:mm`, `…Thh:mm:ss`,
/// `…Thh:mm:ss.f` (1–9 digits), each time optionally followed by `Z` or `±hh:mm` (up to
/// ±14:00), which converts to UTC. Without an offset the time is taken as UTC, because the
/// server's data is naive UTC. A space is accepted in place of `+` because form-decoding
/// turns an unencoded `+` into one and nothing else can be meant there. Impossible dates
/// (`2020-13`, `2019-02-29`, `T24:00`, leap second `:60`) are errors.
pub fn parse_date(value: &str) -> Result<DateRange, SyntaxError> {
    let err = |why: &str| {
        SyntaxError(format!(
            "invalid date '{value}': {why} (expected YYYY, YYYY-MM, YYYY-MM-DD or \
             YYYY-MM-DDThh:mm[:ss[.fff]][Z|+hh:mm|-hh:mm])"
        ))
    };
    let mut c = Cursor {
        bytes: value.as_bytes(),
        pos: 0,
    };
    let year = c
        .digits(4)
        .filter(|y| *y > 0)
        .ok_or_else(|| err("the year must be four digits from 0001"))?;
    // At most 9999, so the cast cannot wrap.
    let year = year as i32;
    let midnight = |y: i32, m: u32, d: u32| {
        NaiveDate::from_ymd_opt(y, m, d)
            .map(|date| date.and_time(NaiveTime::MIN))
            .ok_or_else(|| err("date out of range"))
    };

    let range = if !c.eat(b'-') {
        DateRange {
            start: midnight(year, 1, 1)?,
            end: midnight(year + 1, 1, 1)?,
        }
    } else {
        let month = c
            .digits(2)
            .filter(|m| (1..=12).contains(m))
            .ok_or_else(|| err("the month must be two digits from 01 to 12"))?;
        if !c.eat(b'-') {
            let (next_year, next_month) = if month == 12 {
                (year + 1, 1)
            } else {
                (year, month + 1)
            };
            DateRange {
                start: midnight(year, month, 1)?,
                end: midnight(next_year, next_month, 1)?,
            }
        } else {
            let day = c
                .digits(2)
                .ok_or_else(|| err("the day must be two digits"))?;
            let date = NaiveDate::from_ymd_opt(year, month, day)
                .ok_or_else(|| err("no such day in that month"))?;
            if c.eat(b'T') {
                parse_time(&mut c, date, &err)?
            } else {
                let start = date.and_time(NaiveTime::MIN);
                DateRange {
                    start,
                    end: start
                        .checked_add_signed(TimeDelta::days(1))
                        .ok_or_else(|| err("date out of range"))?,
                }
            }
        }
    };
    if !c.is_done() {
        return Err(err("unexpected characters after the date"));
    }
    Ok(range)
}

/// The `hh:mm[:ss[.f]][offset]` part of a dateTime on `date`, as a UTC range.
fn parse_time(
    c: &mut Cursor<'_>,
    date: NaiveDate,
    err: &dyn Fn(&str) -> SyntaxError,
) -> Result<DateRange, SyntaxError> {
    let hour = c
        .digits(2)
        .filter(|h| *h < 24)
        .ok_or_else(|| err("the hour must be two digits from 00 to 23"))?;
    if !c.eat(b':') {
        return Err(err("a time needs at least hours and minutes (hh:mm)"));
    }
    let minute = c
        .digits(2)
        .filter(|m| *m < 60)
        .ok_or_else(|| err("the minutes must be two digits from 00 to 59"))?;
    let (mut second, mut nanos, mut unit) = (0, 0, TimeDelta::minutes(1));
    if c.eat(b':') {
        second = c
            .digits(2)
            .filter(|s| *s < 60)
            .ok_or_else(|| err("the seconds must be two digits from 00 to 59"))?;
        unit = TimeDelta::seconds(1);
        if c.eat(b'.') {
            let (fraction, count) = c.digit_run();
            if !(1..=9).contains(&count) {
                return Err(err("fractional seconds need 1 to 9 digits"));
            }
            // `count` is 1..=9, so the exponent is 0..=8.
            let scale = 10u32.pow(9 - count as u32);
            nanos = fraction * scale;
            unit = TimeDelta::nanoseconds(i64::from(scale));
        }
    }
    let offset = parse_offset(c, err)?;
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
        .ok_or_else(|| err("no such time"))?;
    // Local time minus its offset east of UTC is UTC.
    let start = date
        .and_time(time)
        .checked_sub_signed(offset)
        .ok_or_else(|| err("date out of range"))?;
    let end = start
        .checked_add_signed(unit)
        .ok_or_else(|| err("date out of range"))?;
    Ok(DateRange { start, end })
}

/// An optional `Z` / `±hh:mm` offset east of UTC; zero when absent.
fn parse_offset(
    c: &mut Cursor<'_>,
    err: &dyn Fn(&str) -> SyntaxError,
) -> Result<TimeDelta, SyntaxError> {
    let sign = match c.peek() {
        Some(b'Z') => {
            c.pos += 1;
            return Ok(TimeDelta::zero());
        }
        Some(b'+' | b' ') => 1,
        Some(b'-') => -1,
        _ => return Ok(TimeDelta::zero()),
    };
    c.pos += 1;
    let bad = || err("the time zone must be Z or +hh:mm / -hh:mm between -14:00 and +14:00");
    let hours = c.digits(2).ok_or_else(bad)?;
    if !c.eat(b':') {
        return Err(bad());
    }
    let minutes = c.digits(2).filter(|m| *m < 60).ok_or_else(bad)?;
    let total = i64::from(hours * 60 + minutes);
    if total > 14 * 60 {
        return Err(bad());
    }
    Ok(TimeDelta::minutes(sign * total))
}

/// Which end of the stored value's interval a [`DateTerm`] constrains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// The stored value's start.
    Low,
    /// The stored value's end; exclusive or inclusive depending on [`StoredKind`].
    High,
}

impl Bound {
    /// Whether an open end (SQL NULL in a [`StoredKind::Period`]) satisfies `cmp`: an open
    /// `Low` is −∞, an open `High` is +∞. The SQL layer renders a term on a nullable column
    /// as `(col IS NULL OR col op $c)` when this is true and `col op $c` otherwise.
    pub fn open_satisfies(self, cmp: Cmp) -> bool {
        match self {
            Bound::Low => matches!(cmp, Cmp::Lt | Cmp::Le),
            Bound::High => matches!(cmp, Cmp::Gt | Cmp::Ge),
        }
    }
}

/// A comparison between a stored bound (left) and a constant (right).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    /// The SQL operator.
    pub fn sql(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }

    /// `left op right`.
    pub fn holds(self, left: NaiveDateTime, right: NaiveDateTime) -> bool {
        match self {
            Cmp::Lt => left < right,
            Cmp::Le => left <= right,
            Cmp::Gt => left > right,
            Cmp::Ge => left >= right,
        }
    }

    /// True for `>`/`>=` (the term bounds the stored value from below).
    fn is_lower_limit(self) -> bool {
        matches!(self, Cmp::Gt | Cmp::Ge)
    }
}

/// One comparison: `stored bound` `op` `constant`.
pub type DateTerm = (Bound, Cmp, NaiveDateTime);

/// How a stored date value maps to an interval. The SQL layer tells [`date_condition`]
/// which kind of column it is comparing against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredKind {
    /// A DATE column: the whole day, `Low` = that day 00:00, `High` = the **next** day 00:00
    /// (exclusive).
    Day,
    /// A TIMESTAMP column: a single point in time. Conditions reference only `Bound::Low`
    /// (render it as the column); a NULL value matches nothing.
    Instant,
    /// Two TIMESTAMP columns bounding a period, **both inclusive** (`Low` = start,
    /// `High` = end); either may be NULL for an open end, see [`Bound::open_satisfies`].
    Period,
}

/// A predicate over the stored value, for the SQL layer to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateCondition {
    /// The stored value must satisfy all of these (an empty list is always true).
    All(Vec<DateTerm>),
    /// At least one alternative must hold entirely (an empty list is always false).
    Any(Vec<Vec<DateTerm>>),
}

impl DateCondition {
    /// Evaluate against a stored value's bounds (`None` = open end; for
    /// [`StoredKind::Instant`] pass the point as both). The reference semantics for the SQL
    /// rendering, and handy for filtering in memory.
    pub fn matches(&self, low: Option<NaiveDateTime>, high: Option<NaiveDateTime>) -> bool {
        let term = |&(bound, cmp, constant): &DateTerm| {
            let value = match bound {
                Bound::Low => low,
                Bound::High => high,
            };
            match value {
                Some(v) => cmp.holds(v, constant),
                None => bound.open_satisfies(cmp),
            }
        };
        match self {
            DateCondition::All(terms) => terms.iter().all(term),
            DateCondition::Any(alternatives) => {
                alternatives.iter().any(|terms| terms.iter().all(term))
            }
        }
    }

    pub fn map_terms(self, f: impl Fn(DateTerm) -> DateTerm) -> DateCondition {
        match self {
            DateCondition::All(terms) => DateCondition::All(terms.into_iter().map(f).collect()),
            DateCondition::Any(alternatives) => DateCondition::Any(
                alternatives
                    .into_iter()
                    .map(|terms| terms.into_iter().map(&f).collect())
                    .collect(),
            ),
        }
    }

    /// An `Any` of single terms on the same bound in the same direction is just the weakest
    /// of them (`t >= a OR t >= b` = `t >= min(a, b)`): simpler SQL for instants.
    pub fn simplified(self) -> DateCondition {
        let DateCondition::Any(alternatives) = &self else {
            return self;
        };
        let singles: Option<Vec<DateTerm>> = alternatives
            .iter()
            .map(|terms| match terms.as_slice() {
                [term] => Some(*term),
                _ => None,
            })
            .collect();
        let Some(singles) = singles else {
            return self;
        };
        let Some(&first) = singles.first() else {
            return self;
        };
        if !singles
            .iter()
            .all(|t| t.0 == first.0 && t.1.is_lower_limit() == first.1.is_lower_limit())
        {
            return self;
        }
        let weakest = singles.into_iter().fold(first, |a, b| {
            let b_weaker = if a.1.is_lower_limit() {
                b.2 < a.2 || (b.2 == a.2 && b.1 == Cmp::Ge)
            } else {
                b.2 > a.2 || (b.2 == a.2 && b.1 == Cmp::Le)
            };
            if b_weaker { b } else { a }
        });
        DateCondition::All(vec![weakest])
    }
}

/// [`date_condition_at`] with `now` = the current UTC time (only `ap` depends on it).
pub fn date_condition(prefix: Prefix, v: &DateRange, stored: StoredKind) -> DateCondition {
    date_condition_at(prefix, v, stored, Utc::now().naive_utc())
}

/// How a search value with `prefix` and range `v = [s, e)` matches a stored value.
///
/// The rules are R4's (§3.1.1.5.4 "date"), stated for a stored half-open interval `[lo, hi)`:
///
/// | prefix | R4 wording | condition |
/// |---|---|---|
/// | `eq` | search range fully contains the stored range | `lo >= s AND hi <= e` |
/// | `ne` | not `eq` | `lo < s OR hi > e` |
/// | `gt` | the range above the search value overlaps the stored range | `hi > e` |
/// | `lt` | the range below the search value overlaps the stored range | `lo < s` |
/// | `ge` | `gt` or `eq` | `hi > e OR lo >= s` |
/// | `le` | `lt` or `eq` | `lo < s OR hi <= e` |
/// | `sa` | no overlap, stored range is above | `lo >= e` |
/// | `eb` | no overlap, stored range is below | `hi <= s` |
/// | `ap` | stored range overlaps the widened search range `[s', e')` | `lo < e' AND hi > s'` |
///
/// (`ge` = `gt OR eq` = `hi > e OR (lo >= s AND hi <= e)`, which is `hi > e OR lo >= s`;
/// `le` likewise.) Taken literally, `gt`/`lt` match any stored range that reaches past the
/// search range, so a DATE `2020-03-04` matches both `gt2020-03-04T10:00` and
/// `lt2020-03-04T10:00`: the day overlaps both sides of that minute.
///
/// `ap` is left to servers by R4. Here the search range is widened on both sides by 10 % of
/// the gap between it and `now` (zero when `now` lies inside it), but at least one day, and
/// a stored value matches if it overlaps the widened range.
///
/// Stored intervals per [`StoredKind`]: a `Day` is exactly `[lo, hi)` with `hi` the next
/// midnight, so the table applies as is. A `Period` end, and an `Instant`, are inclusive
/// points: `hi` stands for "just after hi", so `hi > c` becomes `hi >= c` and `hi <= c`
/// becomes `hi < c`. An instant `t` is the period `[t, t]`, and every term is expressed on
/// `Bound::Low`; e.g. `eq2020-01-01` matches `t` iff `2020-01-01T00:00 <= t < 2020-01-02T00:00`,
/// `ge2020` iff `t >= 2020-01-01T00:00`, `le2020` iff `t < 2021-01-01T00:00`.
pub fn date_condition_at(
    prefix: Prefix,
    v: &DateRange,
    stored: StoredKind,
    now: NaiveDateTime,
) -> DateCondition {
    use Bound::{High, Low};
    use DateCondition::{All, Any};
    let (s, e) = (v.start, v.end);
    let half_open = match prefix {
        Prefix::Eq => All(vec![(Low, Cmp::Ge, s), (High, Cmp::Le, e)]),
        Prefix::Ne => Any(vec![vec![(Low, Cmp::Lt, s)], vec![(High, Cmp::Gt, e)]]),
        Prefix::Gt => All(vec![(High, Cmp::Gt, e)]),
        Prefix::Lt => All(vec![(Low, Cmp::Lt, s)]),
        Prefix::Ge => Any(vec![vec![(Low, Cmp::Ge, s)], vec![(High, Cmp::Gt, e)]]),
        Prefix::Le => Any(vec![vec![(Low, Cmp::Lt, s)], vec![(High, Cmp::Le, e)]]),
        Prefix::Sa => All(vec![(Low, Cmp::Ge, e)]),
        Prefix::Eb => All(vec![(High, Cmp::Le, s)]),
        Prefix::Ap => {
            let (ws, we) = ap_window(v, now);
            All(vec![(Low, Cmp::Lt, we), (High, Cmp::Gt, ws)])
        }
    };
    // An inclusive end `hi` behaves like the exclusive end "hi + ε".
    let inclusive_high = |(bound, cmp, c): DateTerm| match (bound, cmp) {
        (High, Cmp::Gt) => (High, Cmp::Ge, c),
        (High, Cmp::Le) => (High, Cmp::Lt, c),
        other => (other.0, other.1, c),
    };
    match stored {
        StoredKind::Day => half_open,
        StoredKind::Period => half_open.map_terms(inclusive_high),
        StoredKind::Instant => half_open
            .map_terms(|t| {
                let (_, cmp, c) = inclusive_high(t);
                (Low, cmp, c)
            })
            .simplified(),
    }
}

/// The `ap` window: `v` widened by max(1 day, 10 % of its distance from `now`).
fn ap_window(v: &DateRange, now: NaiveDateTime) -> (NaiveDateTime, NaiveDateTime) {
    let gap = if now < v.start {
        v.start - now
    } else if now >= v.end {
        now - v.end
    } else {
        TimeDelta::zero()
    };
    let margin = (gap / 10).max(TimeDelta::days(1));
    (
        v.start
            .checked_sub_signed(margin)
            .unwrap_or(NaiveDateTime::MIN),
        v.end
            .checked_add_signed(margin)
            .unwrap_or(NaiveDateTime::MAX),
    )
}

// ---------------------------------------------------------------------------------------
// Tokens and references
// ---------------------------------------------------------------------------------------

/// A token search value (`[system|]code`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenValue {
    /// `None`: any system; `Some("")`: the code must have no system.
    pub system: Option<String>,
    /// `None`: any code in `system`.
    pub code: Option<String>,
}

/// Parse one token value (an item of [`split_or`], escapes still in place).
///
/// `code` → any system; `system|code` → both; `|code` → no system; `system|` → any code in
/// the system. The parts are unescaped after splitting on the unescaped `|`. Empty values,
/// a bare `|` and more than one unescaped `|` are errors.
pub fn parse_token(value: &str) -> Result<TokenValue, SyntaxError> {
    if value.is_empty() {
        return Err(SyntaxError(
            "empty token value: expected code, system|code, |code or system|".into(),
        ));
    }
    match split_unescaped(value, '|').as_slice() {
        [code] => Ok(TokenValue {
            system: None,
            code: Some(unescape(code)),
        }),
        ["", ""] => Err(SyntaxError(
            "token value '|' has neither system nor code".into(),
        )),
        [system, code] => Ok(TokenValue {
            system: Some(unescape(system)),
            code: (!code.is_empty()).then(|| unescape(code)),
        }),
        _ => Err(SyntaxError(format!(
            "token value '{value}' has more than one '|'; escape a literal '|' as '\\|'"
        ))),
    }
}

/// A reference search value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceValue {
    /// From the value (`Patient/123`) or the `:Type` modifier; `None` if neither gave one.
    pub resource_type: Option<String>,
    pub id: String,
}

/// Whether `s` looks like a resource type name (`[A-Z][A-Za-z]+`).
fn is_resource_type(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_uppercase())
        && s.len() >= 2
        && bytes.all(|b| b.is_ascii_alphabetic())
}

/// Parse a reference search value: `123`, `Patient/123`, `Patient/123/_history/4` (the
/// version is ignored) or an absolute URL `http://host/base/Patient/123` (type and id from the
/// last two path segments; the base is not checked). `modifier_type` is the `:Type` modifier,
/// if any; it supplies the type of a bare id and must agree with a type in the value.
pub fn parse_reference(
    value: &str,
    modifier_type: Option<&str>,
) -> Result<ReferenceValue, SyntaxError> {
    if let Some(t) = modifier_type
        && !is_resource_type(t)
    {
        return Err(SyntaxError(format!(
            "':{t}' is not a resource type modifier (expected e.g. ':Patient')"
        )));
    }
    if value.is_empty() {
        return Err(SyntaxError(
            "empty reference: expected id, Type/id or an absolute URL".into(),
        ));
    }
    let bad = |why: &str| {
        SyntaxError(format!(
            "invalid reference '{value}': {why} (expected id, Type/id, Type/id/_history/vid \
             or an absolute URL ending in Type/id)"
        ))
    };
    let (absolute, path) = match value.split_once("://") {
        Some((_scheme, rest)) => (true, rest),
        None => (false, value),
    };
    let mut segments: Vec<&str> = path.split('/').collect();
    if segments.len() >= 2 && segments[segments.len() - 2] == "_history" {
        segments.truncate(segments.len() - 2);
    }
    let (resource_type, id) = match (absolute, segments.as_slice()) {
        // An absolute URL needs at least host, type and id.
        (true, [_host, .., t, id]) => (Some(*t), *id),
        (true, _) => return Err(bad("an absolute URL must end in Type/id")),
        (false, [id]) => (None, *id),
        (false, [t, id]) => (Some(*t), *id),
        (false, _) => return Err(bad("too many '/'")),
    };
    if let Some(t) = resource_type
        && !is_resource_type(t)
    {
        return Err(bad(&format!("'{t}' is not a resource type")));
    }
    if !crate::is_valid_id(id) {
        return Err(bad(&format!(
            "'{id}' is not a valid id ([A-Za-z0-9-.], 1 to 64 characters)"
        )));
    }
    if let (Some(t), Some(m)) = (resource_type, modifier_type)
        && t != m
    {
        return Err(bad(&format!(
            "the type '{t}' contradicts the modifier ':{m}'"
        )));
    }
    Ok(ReferenceValue {
        resource_type: resource_type.or(modifier_type).map(str::to_string),
        id: id.to_string(),
    })
}

// ---------------------------------------------------------------------------------------
// String folding, booleans, counts
// ---------------------------------------------------------------------------------------

/// Lower-case accented letters and their plain forms, same index = same letter. Covers the
/// Latin-1 Supplement and Latin Extended-A letters whose NFD decomposition is a plain letter
/// plus combining marks, plus, like PostgreSQL's `unaccent`, the letters with a stroke or
/// dot that NFD leaves alone (ø đ ħ ı ŀ ł ŧ), and Romanian ș ț (Latin Extended-B).
/// Letters that are not an accented plain letter (ß æ œ ĳ ð þ ŋ ĸ ŉ ſ) are unchanged:
/// mapping them would need more than one character, which `translate()` cannot do.
const FOLD_FROM: &str = concat!(
    "àáâãäåāăą",
    "çćĉċč",
    "ďđ",
    "èéêëēĕėęě",
    "ĝğġģ",
    "ĥħ",
    "ìíîïĩīĭįı",
    "ĵ",
    "ķ",
    "ĺļľŀł",
    "ñńņň",
    "òóôõöøōŏő",
    "ŕŗř",
    "śŝşšș",
    "ţťŧț",
    "ùúûüũūŭůűų",
    "ŵ",
    "ýÿŷ",
    "źżž",
);
const FOLD_TO: &str = concat!(
    "aaaaaaaaa",
    "ccccc",
    "dd",
    "eeeeeeeee",
    "gggg",
    "hh",
    "iiiiiiiii",
    "j",
    "k",
    "lllll",
    "nnnn",
    "ooooooooo",
    "rrr",
    "sssss",
    "tttt",
    "uuuuuuuuuu",
    "w",
    "yyy",
    "zzz",
);

/// Combining diacritical marks (U+0300–U+036F), which [`fold`] drops.
fn is_combining_mark(c: char) -> bool {
    ('\u{300}'..='\u{36f}').contains(&c)
}

/// The string-search normal form used on both sides of a comparison: lower-cased
/// (`char::to_lowercase`), accented Latin letters replaced by their plain letter per
/// [`fold_table`], and combining marks (U+0300–U+036F) dropped, so `"Zénon"` and `"zenon"`,
/// `"MÜLLER"` and `"muller"`, and a decomposed `"e\u{301}"` and `"e"` all fold alike.
pub fn fold(s: &str) -> String {
    fold_chars(s).collect()
}

/// [`fold`] as a lazy iterator, for comparisons that need no folded copy.
pub fn fold_chars(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars()
        .flat_map(char::to_lowercase)
        .filter(|c| !is_combining_mark(*c))
        .map(|c| {
            // ASCII (most text) needs no table lookup.
            if c.is_ascii() {
                return c;
            }
            match FOLD_FROM.chars().position(|a| a == c) {
                Some(i) => FOLD_TO.chars().nth(i).unwrap_or(c),
                None => c,
            }
        })
}

/// How a string search value must occur in a stored text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextMatch {
    /// The text starts with the value (FHIR's default string search).
    Prefix,
    /// One of the text's space-separated words starts with the value.
    WordPrefix,
    /// The value occurs anywhere (`:contains`).
    Contains,
}

/// Does the folded form of `text` match `folded_value` (already [`fold`]ed) as `how` says?
/// Walks `text` once without building its folded copy.
pub fn folded_match(text: &str, folded_value: &str, how: TextMatch) -> bool {
    let value: Vec<char> = folded_value.chars().collect();
    let starts_at = |rest: &mut dyn Iterator<Item = char>| {
        let mut n = 0;
        for c in rest {
            if n == value.len() {
                return true;
            }
            if value[n] != c {
                return false;
            }
            n += 1;
        }
        n == value.len()
    };
    match how {
        TextMatch::Prefix => starts_at(&mut fold_chars(text)),
        TextMatch::WordPrefix | TextMatch::Contains => {
            let folded: Vec<char> = fold_chars(text).collect();
            (0..=folded.len()).any(|i| {
                let at_word = i == 0 || folded[i - 1] == ' ';
                (how == TextMatch::Contains || at_word)
                    && starts_at(&mut folded[i..].iter().copied())
            })
        }
    }
}

/// The table [`fold`] uses, as `(accented, plain)` strings of equal length in characters, for
/// SQL: `translate(lower(col), accented, plain)`. Both are lower-case, so lower first.
/// To also drop combining marks like [`fold`], append [`combining_marks`] to `accented` only:
/// `translate` deletes characters that have no counterpart.
pub fn fold_table() -> (&'static str, &'static str) {
    (FOLD_FROM, FOLD_TO)
}

/// The combining marks [`fold`] drops (U+0300–U+036F), as one string.
pub fn combining_marks() -> &'static str {
    static MARKS: OnceLock<String> = OnceLock::new();
    MARKS.get_or_init(|| ('\u{300}'..='\u{36f}').collect())
}

/// A boolean search value: exactly `true` or `false`.
pub fn parse_bool(value: &str) -> Result<bool, SyntaxError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(SyntaxError(format!(
            "invalid boolean '{value}': expected true or false"
        ))),
    }
}

/// A `_count`-style value: a non-negative decimal integer, at most `max`. R4 would let a
/// server quietly return fewer, but a client asking for more than the limit is told so
/// (every exceeded limit is a clear error here), with the limit in the message.
pub fn parse_count(value: &str, max: u32) -> Result<u32, SyntaxError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SyntaxError(format!(
            "invalid count '{value}': expected a non-negative integer"
        )));
    }
    // Only digits remain, so a parse failure can only be an overflow: above max too.
    match value
        .parse::<u64>()
        .ok()
        .and_then(|n| u32::try_from(n).ok())
    {
        Some(n) if n <= max => Ok(n),
        _ => Err(SyntaxError(format!(
            "{value} is above this server's maximum of {max}: ask for at most {max} \
             and follow the next links"
        ))),
    }
}

#[cfg(test)]
mod split_tests {
    use super::*;

    #[test]
    fn splits_on_unescaped_separators_only() {
        assert_eq!(split_unescaped(r"a$b\$c$", '$'), vec!["a", r"b\$c", ""]);
        assert_eq!(split_unescaped(r"1|s|a\|b", '|'), vec!["1", "s", r"a\|b"]);
        assert_eq!(split_unescaped(r"x\\|y", '|'), vec![r"x\\", "y"]);
        assert_eq!(split_unescaped("", '|'), vec![""]);
    }
}

#[cfg(test)]
mod folded_match_tests {
    use super::*;

    #[test]
    fn matches_without_copy() {
        assert!(folded_match("Zénon Ruiz", "zen", TextMatch::Prefix));
        assert!(!folded_match("Zénon Ruiz", "ruiz", TextMatch::Prefix));
        assert!(folded_match("Ana Isabel", "isa", TextMatch::WordPrefix));
        assert!(!folded_match("Ana Isabel", "sab", TextMatch::WordPrefix));
        assert!(folded_match("Ana Isabel", "sab", TextMatch::Contains));
        assert!(folded_match("MÜLLER", "muller", TextMatch::Prefix));
        assert!(!folded_match("Mu", "muller", TextMatch::Prefix));
        assert!(folded_match("anything", "", TextMatch::Prefix));
        assert!(!folded_match("", "a", TextMatch::Contains));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
            .or_else(|_| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d").map(|d| d.and_time(NaiveTime::MIN))
            })
            .unwrap_or_else(|e| panic!("bad test datetime {s}: {e}"))
    }

    fn range(s: &str, e: &str) -> DateRange {
        DateRange {
            start: dt(s),
            end: dt(e),
        }
    }

    /// A fixed "now" so `ap` is deterministic.
    fn now() -> NaiveDateTime {
        dt("2026-01-01T00:00:00")
    }

    fn cond(query: &str, kind: StoredKind) -> DateCondition {
        let (prefix, rest) = split_prefix(query);
        let v = parse_date(rest).unwrap_or_else(|e| panic!("{query}: {e}"));
        date_condition_at(prefix, &v, kind, now())
    }

    /// Does `query` match a DATE column holding `day`?
    fn day(query: &str, day: &str) -> bool {
        let lo = dt(day);
        cond(query, StoredKind::Day).matches(Some(lo), Some(lo + TimeDelta::days(1)))
    }

    /// Does `query` match a TIMESTAMP column holding `t`?
    fn instant(query: &str, t: &str) -> bool {
        let t = dt(t);
        cond(query, StoredKind::Instant).matches(Some(t), Some(t))
    }

    /// Does `query` match a period with inclusive ends (None = open)?
    fn period(query: &str, lo: Option<&str>, hi: Option<&str>) -> bool {
        cond(query, StoredKind::Period).matches(lo.map(dt), hi.map(dt))
    }

    // --- keys, OR-lists, escapes, prefixes ---

    #[test]
    fn keys() {
        let k = parse_key("name");
        assert_eq!((k.name.as_str(), k.modifier), ("name", None));
        let k = parse_key("name:exact");
        assert_eq!(k.name, "name");
        assert_eq!(k.modifier.as_deref(), Some("exact"));
        let k = parse_key("subject:Patient");
        assert_eq!(
            (k.name.as_str(), k.modifier.as_deref()),
            ("subject", Some("Patient"))
        );
        let k = parse_key("name:");
        assert_eq!(k.modifier.as_deref(), Some(""));
        for whole in [
            "_has:Observation:patient:code",
            "subject:Patient.name",
            "subject.name",
        ] {
            let k = parse_key(whole);
            assert_eq!((k.name.as_str(), k.modifier), (whole, None));
        }
    }

    #[test]
    fn or_lists_and_escapes() {
        assert_eq!(split_or("a,b,c"), ["a", "b", "c"]);
        assert_eq!(split_or("a"), ["a"]);
        assert_eq!(split_or(""), [""]);
        assert_eq!(split_or("a,,b,"), ["a", "", "b", ""]);
        assert_eq!(split_or(r"a\,b,c"), ["a,b", "c"]);
        assert_eq!(split_or(r"a\$b"), ["a$b"]);
        // `\|` and `\\` stay escaped for parse_token / unescape.
        assert_eq!(split_or(r"s\|x|c,d"), [r"s\|x|c", "d"]);
        assert_eq!(split_or(r"a\\,b"), [r"a\\", "b"]);
        assert_eq!(split_or(r"a\\\,b"), [r"a\\,b"]);
        // Unknown escapes and a trailing backslash are literal.
        assert_eq!(split_or(r"a\xb\"), [r"a\xb\"]);
        assert_eq!(split_or("é,ü"), ["é", "ü"]);

        assert_eq!(unescape(r"a\|b\\c\,d\$e\x\"), r"a|b\c,d$e\x\");
        // Round trip: items of split_or, unescaped, are the literal values.
        let items: Vec<String> = split_or(r"O\'Brien\, Jr,a\\,b\|c")
            .iter()
            .map(|s| unescape(s))
            .collect();
        assert_eq!(items, [r"O\'Brien, Jr", r"a\", "b|c"]);
    }

    #[test]
    fn prefixes() {
        let all = [
            ("eq", Prefix::Eq),
            ("ne", Prefix::Ne),
            ("gt", Prefix::Gt),
            ("lt", Prefix::Lt),
            ("ge", Prefix::Ge),
            ("le", Prefix::Le),
            ("sa", Prefix::Sa),
            ("eb", Prefix::Eb),
            ("ap", Prefix::Ap),
        ];
        for (code, prefix) in all {
            assert_eq!(split_prefix(&format!("{code}2020")), (prefix, "2020"));
            assert_eq!(Prefix::from_code(code), Some(prefix));
            assert_eq!(prefix.as_str(), code);
        }
        assert_eq!(split_prefix("2020"), (Prefix::Eq, "2020"));
        assert_eq!(split_prefix("GT2020"), (Prefix::Eq, "GT2020"));
        assert_eq!(split_prefix("xx2020"), (Prefix::Eq, "xx2020"));
        assert_eq!(split_prefix("ge"), (Prefix::Ge, ""));
        assert_eq!(split_prefix("g"), (Prefix::Eq, "g"));
        assert_eq!(split_prefix(""), (Prefix::Eq, ""));
        // A multi-byte first character must not panic.
        assert_eq!(split_prefix("é2020"), (Prefix::Eq, "é2020"));
        assert_eq!(split_prefix("gé"), (Prefix::Eq, "gé"));
    }

    // --- date parsing ---

    #[test]
    fn partial_dates() {
        let cases = [
            ("2020", "2020-01-01", "2021-01-01"),
            ("2020-03", "2020-03-01", "2020-04-01"),
            ("2020-12", "2020-12-01", "2021-01-01"),
            ("2020-02", "2020-02-01", "2020-03-01"),
            ("2019-02", "2019-02-01", "2019-03-01"),
            ("2020-03-04", "2020-03-04", "2020-03-05"),
            ("2020-12-31", "2020-12-31", "2021-01-01"),
            ("2020-02-29", "2020-02-29", "2020-03-01"),
            ("2000-02-29", "2000-02-29", "2000-03-01"),
            ("0001", "0001-01-01", "0002-01-01"),
        ];
        for (input, s, e) in cases {
            assert_eq!(parse_date(input), Ok(range(s, e)), "{input}");
        }
        // The last year ends in year 10000, which chrono's text parser does not read.
        let y10000 = NaiveDate::from_ymd_opt(10000, 1, 1).map(|d| d.and_time(NaiveTime::MIN));
        assert_eq!(
            parse_date("9999").map(|r| (r.start, Some(r.end))),
            Ok((dt("9999-01-01"), y10000))
        );
    }

    #[test]
    fn date_times() {
        let cases = [
            (
                "2020-03-04T10:00",
                "2020-03-04T10:00:00",
                "2020-03-04T10:01:00",
            ),
            (
                "2020-03-04T23:59",
                "2020-03-04T23:59:00",
                "2020-03-05T00:00:00",
            ),
            (
                "2020-03-04T10:00:05",
                "2020-03-04T10:00:05",
                "2020-03-04T10:00:06",
            ),
            (
                "2020-03-04T10:00:05.5",
                "2020-03-04T10:00:05.5",
                "2020-03-04T10:00:05.6",
            ),
            (
                "2020-03-04T10:00:05.120",
                "2020-03-04T10:00:05.12",
                "2020-03-04T10:00:05.121",
            ),
            (
                "2020-03-04T10:00:05.123456789",
                "2020-03-04T10:00:05.123456789",
                "2020-03-04T10:00:05.12345679",
            ),
            // Time zones convert to UTC.
            (
                "2020-03-04T10:00Z",
                "2020-03-04T10:00:00",
                "2020-03-04T10:01:00",
            ),
            (
                "2020-03-04T10:00:00+02:00",
                "2020-03-04T08:00:00",
                "2020-03-04T08:00:01",
            ),
            (
                "2020-03-04T10:00:00-05:30",
                "2020-03-04T15:30:00",
                "2020-03-04T15:30:01",
            ),
            // Crossing a day, a year and a leap day.
            (
                "2020-01-01T00:30+01:00",
                "2019-12-31T23:30:00",
                "2019-12-31T23:31:00",
            ),
            (
                "2020-02-28T23:00:00-02:00",
                "2020-02-29T01:00:00",
                "2020-02-29T01:00:01",
            ),
            (
                "2020-03-04T10:00+14:00",
                "2020-03-03T20:00:00",
                "2020-03-03T20:01:00",
            ),
            (
                "2020-03-04T10:00-00:00",
                "2020-03-04T10:00:00",
                "2020-03-04T10:01:00",
            ),
            // A form-decoded '+' arrives as a space.
            (
                "2020-03-04T10:00:00 02:00",
                "2020-03-04T08:00:00",
                "2020-03-04T08:00:01",
            ),
        ];
        for (input, s, e) in cases {
            assert_eq!(parse_date(input), Ok(range(s, e)), "{input}");
        }
    }

    #[test]
    fn invalid_dates() {
        for bad in [
            "",
            "20",
            "202",
            "20200",
            "0000",
            "abcd",
            "2020-",
            "2020-1",
            "2020-13",
            "2020-00",
            "2020-01-",
            "2020-01-1",
            "2020-01-00",
            "2020-01-32",
            "2020-02-30",
            "2019-02-29",
            "1900-02-29",
            "2020-04-31",
            "2020/01/01",
            "2020-01-01Z",
            "2020-01-01T",
            "2020-01-01T10",
            "2020-01-01T10Z",
            "2020-01-01T1:00",
            "2020-01-01T24:00",
            "2020-01-01T10:60",
            "2020-01-01T10:00:60",
            "2020-01-01T10:00:00.",
            "2020-01-01T10:00:00.1234567890",
            "2020-01-01T10:00.5",
            "2020-01-01T10:00+01",
            "2020-01-01T10:00+0100",
            "2020-01-01T10:00+15:00",
            "2020-01-01T10:00+14:30",
            "2020-01-01T10:00+01:60",
            "2020-01-01T10:00z",
            "2020-01-01t10:00",
            "2020-01-01T10:00ZZ",
            "2020-01-01 ",
            " 2020",
            "２０２０",
            "2020-01-01T10:00:00+01:00x",
        ] {
            let result = parse_date(bad);
            assert!(result.is_err(), "{bad:?} parsed as {result:?}");
        }
        let msg = parse_date("2020-13").map(|_| ()).unwrap_err().0;
        assert!(msg.contains("2020-13") && msg.contains("month"), "{msg}");
        let msg = parse_date("2020-02-30").map(|_| ()).unwrap_err().0;
        assert!(msg.contains("no such day"), "{msg}");
    }

    // --- date conditions ---

    #[test]
    fn eq_day_and_instant() {
        assert!(day("eq2020", "2020-01-01"));
        assert!(day("eq2020", "2020-12-31"));
        assert!(!day("eq2020", "2019-12-31"));
        assert!(!day("eq2020", "2021-01-01"));
        assert!(day("2020-03-04", "2020-03-04"));
        assert!(!day("2020-03-04", "2020-03-05"));
        // A day is not contained in a minute.
        assert!(!day("eq2020-03-04T10:00", "2020-03-04"));

        assert!(instant("eq2020-01-01", "2020-01-01T10:00"));
        assert!(instant("eq2020-01-01", "2020-01-01T00:00"));
        assert!(instant("eq2020-01-01", "2020-01-01T23:59:59.999999999"));
        assert!(!instant("eq2020-01-01", "2020-01-02T00:00"));
        assert!(!instant("eq2020-01-01", "2019-12-31T23:59:59.999"));
        assert!(instant("eq2020-01-01T10:00", "2020-01-01T10:00:59"));
        assert!(!instant("eq2020-01-01T10:00", "2020-01-01T10:01"));
        assert!(instant("eq2020-01-01T12:00+02:00", "2020-01-01T10:00:30"));
    }

    #[test]
    fn ne() {
        assert!(!day("ne2020-01-01", "2020-01-01"));
        assert!(day("ne2020-01-01", "2020-01-02"));
        assert!(day("ne2020-01-01", "2019-12-31"));
        assert!(!day("ne2020", "2020-07-01"));
        assert!(instant("ne2020-01-01", "2020-01-02T00:00"));
        assert!(instant("ne2020-01-01", "2019-12-31T23:59:59"));
        assert!(!instant("ne2020-01-01", "2020-01-01T00:00"));
        assert!(!instant("ne2020-01-01", "2020-01-01T12:00"));
    }

    #[test]
    fn gt_and_lt() {
        assert!(day("gt2020", "2021-01-01"));
        assert!(!day("gt2020", "2020-12-31"));
        assert!(!day("gt2020", "2020-01-01"));
        assert!(day("gt2020-01-01", "2020-01-02"));
        assert!(!day("gt2020-01-01", "2020-01-01"));
        assert!(instant("gt2020", "2021-01-01T00:00"));
        assert!(!instant("gt2020", "2020-12-31T23:59:59.999"));

        assert!(day("lt2020", "2019-12-31"));
        assert!(!day("lt2020", "2020-01-01"));
        assert!(instant("lt2020", "2019-12-31T23:59:59.999"));
        assert!(!instant("lt2020", "2020-01-01T00:00"));

        // R4 literally: a day that overlaps both sides of a minute is gt and lt it.
        assert!(day("gt2020-03-04T10:00", "2020-03-04"));
        assert!(day("lt2020-03-04T10:00", "2020-03-04"));
        assert!(!day("gt2020-03-04T10:00", "2020-03-03"));
        assert!(!day("lt2020-03-04T10:00", "2020-03-05"));
    }

    #[test]
    fn ge_and_le() {
        assert!(day("ge2020", "2020-06-01"));
        assert!(day("ge2020", "2021-01-01"));
        assert!(day("ge2020", "2020-01-01"));
        assert!(!day("ge2020", "2019-12-31"));
        assert!(instant("ge2020", "2020-01-01T00:00"));
        assert!(instant("ge2020", "2025-05-05T05:05"));
        assert!(!instant("ge2020", "2019-12-31T23:59:59.999"));

        assert!(day("le2020-01", "2019-06-15"));
        assert!(day("le2020-01", "2020-01-31"));
        assert!(day("le2020-01", "2020-01-01"));
        assert!(!day("le2020-01", "2020-02-01"));
        assert!(instant("le2020", "2020-12-31T23:59:59.999"));
        assert!(instant("le2020", "1970-01-01T00:00"));
        assert!(!instant("le2020", "2021-01-01T00:00"));

        // A day containing the searched minute overlaps above and below it.
        assert!(day("ge2020-03-04T10:00", "2020-03-04"));
        assert!(day("le2020-03-04T10:00", "2020-03-04"));
    }

    #[test]
    fn sa_and_eb() {
        assert!(day("sa2020", "2021-01-01"));
        assert!(!day("sa2020", "2020-12-31"));
        assert!(!day("sa2020-03-04T10:00", "2020-03-04"));
        assert!(day("sa2020-03-04T10:00", "2020-03-05"));
        assert!(instant("sa2020", "2021-01-01T00:00"));
        assert!(!instant("sa2020", "2020-12-31T23:59:59.999"));

        assert!(day("eb2020", "2019-12-31"));
        assert!(!day("eb2020", "2020-01-01"));
        assert!(!day("eb2020-03-04T10:00", "2020-03-04"));
        assert!(day("eb2020-03-04T10:00", "2020-03-03"));
        assert!(instant("eb2020", "2019-12-31T23:59:59.999999999"));
        assert!(!instant("eb2020", "2020-01-01T00:00"));
    }

    #[test]
    fn ap() {
        // now = 2026-01-01; 2020-06-15 ends ~5.5 years before: margin ~200 days.
        assert!(day("ap2020-06-15", "2020-06-15"));
        assert!(day("ap2020-06-15", "2020-01-01"));
        assert!(day("ap2020-06-15", "2020-12-01"));
        assert!(!day("ap2020-06-15", "2019-06-15"));
        assert!(!day("ap2020-06-15", "2021-06-15"));
        // Near now the margin is one day.
        assert!(day("ap2026-01-01", "2025-12-31"));
        assert!(day("ap2026-01-01", "2026-01-02"));
        assert!(!day("ap2026-01-01", "2025-12-30"));
        assert!(!day("ap2026-01-01", "2026-01-03"));
        assert!(instant("ap2026-01-01", "2025-12-31T00:00"));
        assert!(!instant("ap2026-01-01", "2025-12-30T23:59:59"));
        assert!(instant("ap2026-01-01", "2026-01-02T23:59:59"));
        assert!(!instant("ap2026-01-01", "2026-01-03T00:00"));
        // Future values widen by their distance too: 2036 is 10 years away → ~1 year.
        assert!(day("ap2036-06-01", "2035-09-01"));
        assert!(!day("ap2036-06-01", "2034-06-01"));
        // The window saturates instead of overflowing.
        let v = range("0001-01-01", "0001-01-02");
        let c = date_condition_at(Prefix::Ap, &v, StoredKind::Day, dt("9999-01-01"));
        assert!(c.matches(Some(dt("0001-01-01")), Some(dt("0001-01-02"))));
        // The clock-based variant produces the same shape.
        assert!(matches!(
            date_condition(Prefix::Ap, &v, StoredKind::Instant),
            DateCondition::All(terms) if terms.len() == 2
        ));
    }

    #[test]
    fn period_with_inclusive_and_open_ends() {
        let year_2020 = (Some("2020-01-01T00:00"), Some("2020-12-31T23:59:59"));
        assert!(period("eq2020", year_2020.0, year_2020.1));
        // An inclusive end exactly at the search end leaves the search range.
        let to_2021 = (Some("2020-06-01T00:00"), Some("2021-01-01T00:00"));
        assert!(!period("eq2020", to_2021.0, to_2021.1));
        assert!(period("ne2020", to_2021.0, to_2021.1));
        assert!(period("gt2020", to_2021.0, to_2021.1));
        assert!(period("ge2020", to_2021.0, to_2021.1));
        assert!(!period("le2020", to_2021.0, to_2021.1));
        assert!(!period("sa2020", to_2021.0, to_2021.1));
        // A period ending exactly at the search start ends before it.
        assert!(!period(
            "eb2020",
            Some("2019-01-01T00:00"),
            Some("2020-01-01T00:00")
        ));
        assert!(period(
            "eb2020",
            Some("2019-01-01T00:00"),
            Some("2019-12-31T23:59:59")
        ));
        // Open ends are infinite.
        assert!(period("gt2020", Some("2019-01-01T00:00"), None));
        assert!(period("lt2020", Some("2019-01-01T00:00"), None));
        assert!(!period("eq2020", Some("2020-02-01T00:00"), None));
        assert!(period("ne2020", Some("2020-02-01T00:00"), None));
        assert!(!period("sa2020", Some("2020-02-01T00:00"), None));
        assert!(period("lt2020", None, Some("2018-01-01T00:00")));
        assert!(!period("gt2020", None, Some("2018-01-01T00:00")));
        assert!(period("eb2020", None, Some("2018-01-01T00:00")));
        assert!(period("ap2020", None, None));
        assert!(!period("eq2020", None, None));
    }

    #[test]
    fn condition_shapes() {
        let v = range("2020-01-01", "2021-01-01");
        let (s, e) = (v.start, v.end);
        let at = |p, k| date_condition_at(p, &v, k, now());
        use Bound::{High, Low};
        assert_eq!(
            at(Prefix::Eq, StoredKind::Day),
            DateCondition::All(vec![(Low, Cmp::Ge, s), (High, Cmp::Le, e)])
        );
        assert_eq!(
            at(Prefix::Eq, StoredKind::Period),
            DateCondition::All(vec![(Low, Cmp::Ge, s), (High, Cmp::Lt, e)])
        );
        assert_eq!(
            at(Prefix::Eq, StoredKind::Instant),
            DateCondition::All(vec![(Low, Cmp::Ge, s), (Low, Cmp::Lt, e)])
        );
        assert_eq!(
            at(Prefix::Ge, StoredKind::Instant),
            DateCondition::All(vec![(Low, Cmp::Ge, s)])
        );
        assert_eq!(
            at(Prefix::Le, StoredKind::Instant),
            DateCondition::All(vec![(Low, Cmp::Lt, e)])
        );
        assert_eq!(
            at(Prefix::Gt, StoredKind::Instant),
            DateCondition::All(vec![(Low, Cmp::Ge, e)])
        );
        assert_eq!(
            at(Prefix::Ne, StoredKind::Instant),
            DateCondition::Any(vec![vec![(Low, Cmp::Lt, s)], vec![(Low, Cmp::Ge, e)]])
        );
        assert_eq!(
            at(Prefix::Ge, StoredKind::Day),
            DateCondition::Any(vec![vec![(Low, Cmp::Ge, s)], vec![(High, Cmp::Gt, e)]])
        );
        // Instants only ever constrain Low.
        let all = [
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
        for p in all {
            let terms: Vec<DateTerm> = match at(p, StoredKind::Instant) {
                DateCondition::All(t) => t,
                DateCondition::Any(alts) => alts.concat(),
            };
            assert!(terms.iter().all(|t| t.0 == Low), "{p:?}");
        }
        assert!(DateCondition::All(vec![]).matches(None, None));
        assert!(!DateCondition::Any(vec![]).matches(None, None));
        assert_eq!(Cmp::Ge.sql(), ">=");
        assert!(Bound::High.open_satisfies(Cmp::Gt));
        assert!(!Bound::High.open_satisfies(Cmp::Le));
        assert!(Bound::Low.open_satisfies(Cmp::Lt));
        assert!(!Bound::Low.open_satisfies(Cmp::Ge));
    }

    /// Instants and inclusive periods against the half-open reference at nanosecond
    /// resolution: a closed `[lo, hi]` is the half-open `[lo, hi + 1ns)`.
    #[test]
    fn inclusive_kinds_agree_with_half_open_reference() {
        let ns = TimeDelta::nanoseconds(1);
        let searches = [
            "2020",
            "2020-02",
            "2020-02-29",
            "2020-02-29T10:00",
            "2020-02-29T10:00:00.5",
        ];
        let all = [
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
        for search in searches {
            let v = parse_date(search).unwrap_or_else(|e| panic!("{e}"));
            let mut points = vec![dt("1999-01-01"), dt("2040-01-01")];
            for edge in [v.start, v.end] {
                points.extend([edge - ns, edge, edge + ns, edge - TimeDelta::days(1)]);
            }
            points.push(v.start + (v.end - v.start) / 2);
            for p in all {
                let reference = date_condition_at(p, &v, StoredKind::Day, now());
                let inst = date_condition_at(p, &v, StoredKind::Instant, now());
                let per = date_condition_at(p, &v, StoredKind::Period, now());
                for &lo in &points {
                    assert_eq!(
                        inst.matches(Some(lo), Some(lo)),
                        reference.matches(Some(lo), Some(lo + ns)),
                        "{p:?}{search} instant {lo}"
                    );
                    for &hi in points.iter().filter(|hi| **hi >= lo) {
                        assert_eq!(
                            per.matches(Some(lo), Some(hi)),
                            reference.matches(Some(lo), Some(hi + ns)),
                            "{p:?}{search} period {lo}..={hi}"
                        );
                    }
                }
            }
        }
    }

    // --- tokens and references ---

    #[test]
    fn tokens() {
        let t = |system: Option<&str>, code: Option<&str>| TokenValue {
            system: system.map(str::to_string),
            code: code.map(str::to_string),
        };
        assert_eq!(parse_token("male"), Ok(t(None, Some("male"))));
        assert_eq!(
            parse_token("http://loinc.org|1234-5"),
            Ok(t(Some("http://loinc.org"), Some("1234-5")))
        );
        assert_eq!(parse_token("|x"), Ok(t(Some(""), Some("x"))));
        assert_eq!(
            parse_token("http://loinc.org|"),
            Ok(t(Some("http://loinc.org"), None))
        );
        // Escaped pipes are part of the values.
        assert_eq!(parse_token(r"a\|b"), Ok(t(None, Some("a|b"))));
        assert_eq!(parse_token(r"s\|1|c\|2"), Ok(t(Some("s|1"), Some("c|2"))));
        // An escaped backslash before a separator.
        assert_eq!(parse_token(r"s\\|c"), Ok(t(Some(r"s\"), Some("c"))));
        // Through split_or: the comma escape is resolved, the pipe escape kept for us.
        let items = split_or(r"s|a\,b,s|c\|d");
        let parsed: Vec<_> = items.iter().map(|i| parse_token(i)).collect();
        assert_eq!(
            parsed,
            [Ok(t(Some("s"), Some("a,b"))), Ok(t(Some("s"), Some("c|d")))]
        );
        for bad in ["", "|", "a|b|c", "||"] {
            assert!(parse_token(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn references() {
        let r = |t: Option<&str>, id: &str| ReferenceValue {
            resource_type: t.map(str::to_string),
            id: id.to_string(),
        };
        assert_eq!(parse_reference("123", None), Ok(r(None, "123")));
        assert_eq!(
            parse_reference("123", Some("Patient")),
            Ok(r(Some("Patient"), "123"))
        );
        assert_eq!(
            parse_reference("Patient/123", None),
            Ok(r(Some("Patient"), "123"))
        );
        assert_eq!(
            parse_reference("Patient/123", Some("Patient")),
            Ok(r(Some("Patient"), "123"))
        );
        assert_eq!(
            parse_reference("Patient/a-1.b/_history/4", None),
            Ok(r(Some("Patient"), "a-1.b"))
        );
        assert_eq!(
            parse_reference("http://host/base/Patient/123", None),
            Ok(r(Some("Patient"), "123"))
        );
        assert_eq!(
            parse_reference("https://host:8080/fhir/r4/Practitioner/7/_history/2", None),
            Ok(r(Some("Practitioner"), "7"))
        );
        assert_eq!(
            parse_reference("http://host/Patient/123", Some("Patient")),
            Ok(r(Some("Patient"), "123"))
        );
        let long_id = "x".repeat(64);
        assert_eq!(parse_reference(&long_id, None), Ok(r(None, &long_id)));

        for (bad, modifier) in [
            ("", None),
            ("Patient/", None),
            ("/123", None),
            ("patient/123", None),
            ("P/123", None),
            ("Pat1ent/123", None),
            ("a/Patient/123", None),
            ("Patient/123/", None),
            ("Patient/12 3", None),
            ("Patient/12_3", None),
            ("Patient/é", None),
            ("Patient/123", Some("Practitioner")),
            ("123", Some("patient")),
            ("123", Some("")),
            ("http://host", None),
            ("http://host/123", None),
            ("http://Patient/123", None),
            ("http://host/base/Patient/123?x=1", None),
            ("urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0", None),
            ("Patient/123/_history", None),
        ] {
            assert!(
                parse_reference(bad, modifier).is_err(),
                "{bad:?} {modifier:?}"
            );
        }
        assert!(parse_reference(&"x".repeat(65), None).is_err());
        let msg = parse_reference("Patient/123", Some("Practitioner"))
            .map(|_| ())
            .unwrap_err()
            .0;
        assert!(msg.contains("Practitioner"), "{msg}");
    }

    // --- folding, booleans, counts ---

    #[test]
    fn folding() {
        assert_eq!(fold("Zénon"), "zenon");
        assert_eq!(fold("Zénon"), fold("zenon"));
        assert_eq!(fold("MÜLLER"), "muller");
        assert_eq!(fold("Łódź"), "lodz");
        assert_eq!(fold("ČESKÁ Ŕepublika"), "ceska republika");
        assert_eq!(fold("Ștefan Țiriac"), "stefan tiriac");
        assert_eq!(fold("Øyvind Ærø"), "oyvind æro");
        assert_eq!(fold("İstanbul"), "istanbul");
        assert_eq!(fold("Straße"), "straße");
        // A decomposed accent folds like the precomposed one.
        assert_eq!(fold("Ze\u{301}non"), "zenon");
        assert_eq!(fold(""), "");
        assert_eq!(fold("ABC 123-x"), "abc 123-x");
    }

    #[test]
    fn fold_table_agrees_with_fold() {
        let (accented, plain) = fold_table();
        assert_eq!(accented.chars().count(), plain.chars().count());
        for (a, p) in accented.chars().zip(plain.chars()) {
            assert_eq!(fold(&a.to_string()), p.to_string(), "{a}");
            assert!(a.is_lowercase(), "{a} is not lower-case");
            assert!(p.is_ascii_lowercase(), "{p}");
        }
        let mut sorted: Vec<char> = accented.chars().collect();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), accented.chars().count(), "duplicate in table");
        // Upper-case letters reach the table through to_lowercase.
        for c in '\u{c0}'..='\u{17f}' {
            let lower: String = c.to_lowercase().collect();
            if c.is_uppercase() && lower.chars().count() == 1 && accented.contains(&lower) {
                assert_eq!(fold(&c.to_string()), fold(&lower), "{c}");
            }
        }
        let marks = combining_marks();
        assert_eq!(marks.chars().count(), 0x70);
        assert!(marks.chars().all(|m| fold(&m.to_string()).is_empty()));
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool("true"), Ok(true));
        assert_eq!(parse_bool("false"), Ok(false));
        for bad in ["", "TRUE", "True", "1", "0", "yes", " true"] {
            assert!(parse_bool(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn counts() {
        assert_eq!(parse_count("0", 100), Ok(0));
        assert_eq!(parse_count("10", 100), Ok(10));
        assert_eq!(parse_count("007", 100), Ok(7));
        assert_eq!(parse_count("100", 100), Ok(100));
        for above in ["101", "4294967296", "99999999999999999999999999"] {
            let err = parse_count(above, 100)
                .err()
                .map(|e| e.0)
                .unwrap_or_default();
            assert!(err.contains("maximum of 100"), "{above}: {err}");
        }
        for bad in ["", "-1", "+1", "1.5", "1e3", " 1", "ten", "１"] {
            assert!(parse_count(bad, 100).is_err(), "{bad:?}");
        }
    }
}
