//! The embedded reference SQL exported from a real GNU Health 5.0 SQLite database
//! (`compat/reference/`): the DDL trytond creates for every table the server reads, GNU
//! Health's default security rows, and the code tables its modules load.
//!
//! Tables are created first and their indexes last, after the data (building an index
//! once over sorted keys is much faster than maintaining it row by row); the resulting
//! schema is the same as trytond's.

use rusqlite::Connection;

use super::generate::{GenResult, INSTALLED, Stamp};

pub(super) const SCHEMA: &str = include_str!("../../../../compat/reference/schema.sql");
const SECURITY: &str = include_str!("../../../../compat/reference/security.sql");
const CODES: &str = include_str!("../../../../compat/reference/codes.sql");

/// The statements of a script: split at semicolons outside quotes, comment lines dropped.
pub(super) fn statements(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for line in script.lines() {
        if quote.is_none() && current.trim().is_empty() && line.trim_start().starts_with("--") {
            continue;
        }
        for c in line.chars() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == '\'' || c == '"' => quote = Some(c),
                None if c == ';' => {
                    let s = current.trim();
                    if !s.is_empty() {
                        out.push(s.to_string());
                    }
                    current.clear();
                    continue;
                }
                None => {}
            }
            current.push(c);
        }
        current.push('\n');
    }
    let s = current.trim();
    if !s.is_empty() {
        out.push(s.to_string());
    }
    out
}

/// The file adds `IF NOT EXISTS` to trytond's statements; the database is new, so the
/// statements run as trytond wrote them (and `sqlite_master` keeps trytond's text).
fn as_trytond_wrote_it(statement: &str) -> String {
    for prefix in ["CREATE TABLE ", "CREATE INDEX ", "CREATE UNIQUE INDEX "] {
        if let Some(rest) = statement
            .strip_prefix(prefix)
            .and_then(|r| r.strip_prefix("IF NOT EXISTS "))
        {
            return format!("{prefix}{rest}");
        }
    }
    statement.to_string()
}

pub(super) fn is_index(statement: &str) -> bool {
    let s = statement.trim_start().to_ascii_uppercase();
    s.starts_with("CREATE INDEX") || s.starts_with("CREATE UNIQUE INDEX")
}

/// Create the tables; return the index statements, to run once the data is in.
pub(super) fn create_tables(conn: &Connection) -> GenResult<Vec<String>> {
    let mut indexes = Vec::new();
    for s in statements(SCHEMA).iter().map(|s| as_trytond_wrote_it(s)) {
        if is_index(&s) {
            indexes.push(s);
        } else {
            conn.execute_batch(&s)?;
        }
    }
    Ok(indexes)
}

/// Load the security rows and code tables. They were exported without their creation
/// time (the time of that build); here they get the module installation time, except
/// the rows trytond registers with raw SQL (most `ir_model`/`ir_model_field` rows), which
/// have neither `create_uid` nor `create_date` in a real database either.
pub(super) fn load_reference(conn: &Connection) -> GenResult<()> {
    conn.execute_batch(SECURITY)?;
    conn.execute_batch(CODES)?;
    // codes.sql carries only id/code/name/active of the languages, which trytond's `ir`
    // module creates (create_uid 0).
    conn.execute_batch("UPDATE ir_lang SET create_uid = 0 WHERE create_uid IS NULL")?;
    let tables: Vec<String> = {
        let mut st = conn.prepare(
            "SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) c \
             WHERE m.type = 'table' AND c.name = 'create_date' ORDER BY m.name",
        )?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect::<Result<_, _>>()?
    };
    for t in tables {
        conn.execute(
            &format!(
                "UPDATE \"{t}\" SET create_date = ?1 WHERE create_date IS NULL AND create_uid IS NOT NULL"
            ),
            [Stamp(INSTALLED)],
        )?;
    }
    Ok(())
}

pub(super) fn create_indexes(conn: &Connection, indexes: &[String]) -> GenResult<()> {
    for s in indexes {
        conn.execute_batch(s)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_outside_quotes() {
        let s =
            statements("-- c\nCREATE TABLE \"a;b\" (x);\nINSERT INTO t VALUES ('x;\n-- y', 1);\n");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0], "CREATE TABLE \"a;b\" (x)");
        assert!(s[1].contains("'x;\n-- y'"));
    }

    #[test]
    fn schema_has_tables_and_indexes() {
        let all = statements(SCHEMA);
        assert!(all.iter().any(|s| s.contains("\"gnuhealth_patient\"")));
        assert!(all.iter().any(|s| is_index(s)));
    }
}
