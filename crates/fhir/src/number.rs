//! Number and quantity search values (R4 search §3.1.1.4.2 and §3.1.1.4.6): the implied
//! precision of a number (`100` is [99.5, 100.5), `100.00` is [99.995, 100.005)), what each
//! prefix requires of a stored value, and the `number|system|code` form of quantities.

use crate::search::{Cmp, Prefix, SyntaxError, split_prefix};

/// A number as searched, with the interval its significant digits imply.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumberValue {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// Parse a decimal (`-1.50`, `1e3`, `1.5E-2`); the precision is one unit of the last digit
/// given, halved on each side.
pub fn parse_number(text: &str) -> Result<NumberValue, SyntaxError> {
    let bad = || SyntaxError(format!("'{text}' is not a number"));
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i32>().map_err(|_| bad())?),
        None => (text, 0),
    };
    let digits = mantissa.strip_prefix(['-', '+']).unwrap_or(mantissa);
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if int_part.is_empty() || !all_digits(int_part) || !all_digits(frac_part) {
        return Err(bad());
    }
    if digits.ends_with('.') {
        return Err(bad());
    }
    let value: f64 = text.parse().map_err(|_| bad())?;
    if !value.is_finite() {
        return Err(bad());
    }
    let decimals = i32::try_from(frac_part.len()).map_err(|_| bad())?;
    let half = 0.5 * 10f64.powi(exponent.saturating_sub(decimals));
    Ok(NumberValue {
        value,
        low: value - half,
        high: value + half,
    })
}

/// What `prefix` asks of a stored value `v`: alternatives (OR) of conjunctions of
/// comparisons `v op bound`.
pub fn number_condition(prefix: Prefix, n: &NumberValue) -> Vec<Vec<(Cmp, f64)>> {
    match prefix {
        Prefix::Eq => vec![vec![(Cmp::Ge, n.low), (Cmp::Lt, n.high)]],
        Prefix::Ne => vec![vec![(Cmp::Lt, n.low)], vec![(Cmp::Ge, n.high)]],
        Prefix::Gt => vec![vec![(Cmp::Gt, n.value)]],
        Prefix::Lt => vec![vec![(Cmp::Lt, n.value)]],
        Prefix::Ge => vec![vec![(Cmp::Ge, n.value)]],
        Prefix::Le => vec![vec![(Cmp::Le, n.value)]],
        // Starts after / ends before the whole interval the value stands for.
        Prefix::Sa => vec![vec![(Cmp::Ge, n.high)]],
        Prefix::Eb => vec![vec![(Cmp::Lt, n.low)]],
        // Approximately: within 10 % of the value, and never narrower than its precision.
        Prefix::Ap => {
            let spread = (n.value.abs() * 0.1).max(n.high - n.value);
            vec![vec![
                (Cmp::Ge, n.value - spread),
                (Cmp::Le, n.value + spread),
            ]]
        }
    }
}

/// A quantity search value: `[prefix]number[|system|code]`.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantityValue {
    pub prefix: Prefix,
    pub number: NumberValue,
    /// `None`: any system; never `Some("")` (an empty system is "any").
    pub system: Option<String>,
    /// `None`: any unit.
    pub code: Option<String>,
}

/// Parse a quantity value; `\|` stands for a literal bar.
pub fn parse_quantity(text: &str) -> Result<QuantityValue, SyntaxError> {
    let parts = crate::search::split_unescaped(text, '|');
    let (number, system, code) = match parts.as_slice() {
        [n] => (*n, None, None),
        [n, s, c] => (*n, Some(*s), Some(*c)),
        _ => {
            return Err(SyntaxError(format!(
                "'{text}' is not a quantity (number, or number|system|code)"
            )));
        }
    };
    let (prefix, digits) = split_prefix(number);
    let unescape = |s: &str| crate::search::unescape(s);
    Ok(QuantityValue {
        prefix,
        number: parse_number(digits)?,
        system: system.filter(|s| !s.is_empty()).map(unescape),
        code: code.filter(|c| !c.is_empty()).map(unescape),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn precision_follows_the_digits_given() {
        let n = parse_number("100").unwrap_or_else(|e| panic!("{e}"));
        assert!(close(n.low, 99.5) && close(n.high, 100.5));
        let n = parse_number("100.00").unwrap_or_else(|e| panic!("{e}"));
        assert!(close(n.low, 99.995) && close(n.high, 100.005));
        let n = parse_number("1e2").unwrap_or_else(|e| panic!("{e}"));
        assert!(close(n.low, 50.0) && close(n.high, 150.0));
        let n = parse_number("-1.5").unwrap_or_else(|e| panic!("{e}"));
        assert!(close(n.low, -1.55) && close(n.high, -1.45));
        for bad in [
            "", "abc", "1.", ".5", "1e", "NaN", "inf", "1,5", "--1", "1e400",
        ] {
            assert!(parse_number(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prefixes() {
        let n = parse_number("5.4").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(number_condition(Prefix::Gt, &n), vec![vec![(Cmp::Gt, 5.4)]]);
        let eq = number_condition(Prefix::Eq, &n);
        assert_eq!(eq.len(), 1);
        assert_eq!(number_condition(Prefix::Ne, &n).len(), 2);
        let ap = number_condition(Prefix::Ap, &n);
        assert!(close(ap[0][0].1, 4.86) && close(ap[0][1].1, 5.94));
    }

    #[test]
    fn quantities() {
        let q =
            parse_quantity("gt5.4|http://unitsofmeasure.org|mg").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.prefix, Prefix::Gt);
        assert_eq!(q.system.as_deref(), Some("http://unitsofmeasure.org"));
        assert_eq!(q.code.as_deref(), Some("mg"));
        let q = parse_quantity("5.4||mg").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((q.system, q.code.as_deref()), (None, Some("mg")));
        let q = parse_quantity("5.4").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((q.system, q.code), (None, None));
        let q = parse_quantity(r"1|s|a\|b").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.code.as_deref(), Some("a|b"));
        assert!(parse_quantity("5.4|mg").is_err());
        assert!(parse_quantity("x|a|b").is_err());
    }
}
