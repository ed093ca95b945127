//! The WHERE clause of a search (`gnuhealth::search::where_clause`) for arbitrary
//! parameters: it must never panic, and whatever it accepts must be well-formed SQL as far
//! as the input can influence it. Values only ever become bound parameters, so the
//! statement's parentheses stay balanced and its placeholders are numbered 1..=n for the n
//! parameters whatever the client sends.
#![no_main]

use gnuhealth::db::{Dialect, Sql};
use gnuhealth::resources::Context;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // `Type?query`, like the request it stands for, so seeds and crashes read as requests.
    let Some(at) = data.iter().position(|&b| b == b'?') else {
        return;
    };
    let (type_name, query) = (&data[..at], &data[at + 1..]);
    let Some(def) = std::str::from_utf8(type_name)
        .ok()
        .and_then(gnuhealth::registry::find)
    else {
        return;
    };
    let params: Vec<(String, String)> = form_urlencoded::parse(query).into_owned().collect();
    let ctx = Context {
        base_url: "https://fhir.example.org".into(),
    };
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let mut sql = Sql::new(dialect);
        if gnuhealth::search::where_clause(&mut sql, def, &ctx, &params).is_err() {
            continue;
        }
        assert!(balanced(sql.text()), "{}", sql.text());
        let marker = match dialect {
            Dialect::Sqlite => '?',
            Dialect::Postgres => '$',
        };
        let expected: Vec<usize> = (1..=sql.params().len()).collect();
        assert_eq!(placeholders(sql.text(), marker), expected, "{}", sql.text());
    }
});

/// Parentheses outside string literals pair up.
fn balanced(text: &str) -> bool {
    let (mut depth, mut in_literal) = (0usize, false);
    for c in text.chars() {
        match c {
            '\'' => in_literal = !in_literal,
            '(' if !in_literal => depth += 1,
            ')' if !in_literal => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            _ => {}
        }
    }
    depth == 0 && !in_literal
}

/// The numbers of the `?n` / `$n` placeholders outside string literals, in order.
fn placeholders(text: &str, marker: char) -> Vec<usize> {
    let mut found = Vec::new();
    let mut in_literal = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            in_literal = !in_literal;
        } else if c == marker && !in_literal {
            let mut end = i + 1;
            while let Some(&(j, d)) = chars.peek().filter(|(_, d)| d.is_ascii_digit()) {
                end = j + d.len_utf8();
                chars.next();
            }
            found.extend(text[i + 1..end].parse::<usize>().ok());
        }
    }
    found
}
