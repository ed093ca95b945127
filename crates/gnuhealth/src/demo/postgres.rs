//! The demo database in PostgreSQL (`demo --db postgresql://…`): the same rows as the
//! SQLite demo of the same options, in the tables trytond's PostgreSQL backend creates.
//!
//! The generator writes a scratch SQLite database (without indexes: it is only read
//! whole, in id order); this module owns the rest: the reference DDL translated to
//! PostgreSQL as trytond maps field types (identity ids, `TIMESTAMP(0)` DateTime and
//! `TIMESTAMP(6)` Timestamp fields, booleans defaulting to false, `FLOAT8`, `BYTEA`, long
//! index names hashed), every table streamed from SQLite into `COPY … FREEZE`, then
//! primary keys, identity sequences, indexes and `ANALYZE`.
//! trytond's `NOT NULL`, unique and foreign-key constraints are not in the reference DDL
//! (its SQLite backend creates none) and are not created.
//!
//! Safety: it writes only into a database without tables; one that has GNU Health
//! patients is reused as it is; any other is refused. Everything happens in one
//! transaction (under an advisory lock, with the check repeated inside), so an
//! interrupted run leaves the database as it found it. The database itself must exist.

use std::path::{Path, PathBuf};
use std::time::Instant;

use bytes::Bytes;
use futures_util::SinkExt;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_postgres::{GenericClient, NoTls, Transaction};

use super::schema::{SCHEMA, is_index, statements};
use super::{DemoError, DemoOptions, DemoSummary};
use crate::db::redact_url;

/// The server's own message (with its detail and hint), which the error's `Display`
/// leaves out; a missing database says that the demo does not create one.
fn pg_message(e: &tokio_postgres::Error) -> String {
    let Some(db) = e.as_db_error() else {
        return match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        };
    };
    if db.code() == &tokio_postgres::error::SqlState::INVALID_CATALOG_NAME {
        format!("{db} (the demo does not create the database: create it first, empty)")
    } else {
        db.to_string()
    }
}

/// Whether `demo --db` names a PostgreSQL database rather than a SQLite file.
pub fn is_url(db: &str) -> bool {
    db.starts_with("postgresql://") || db.starts_with("postgres://")
}

/// Fill the (existing, empty) PostgreSQL database at `url` with the demo, or reuse it
/// when it already has GNU Health patients.
pub async fn create_or_reuse(url: &str, opts: &DemoOptions) -> Result<DemoSummary, DemoError> {
    let shown = redact_url(url);
    let fail = |e: String| DemoError::Db(shown.clone(), e);
    let schema = Schema::reference().map_err(fail)?;
    let (mut client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(|e| fail(pg_message(&e)))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!("demo database connection: {e}");
        }
    });
    if let Some(reused) = existing(&client, &shown).await? {
        return Ok(reused);
    }
    let started = Instant::now();
    // Generated first, outside the transaction: a refusal above costs nothing.
    let scratch = Scratch::new().map_err(|e| fail(e.to_string()))?;
    let (path, generate) = (scratch.0.clone(), opts.clone());
    tokio::task::spawn_blocking(move || super::build(&path, &generate, false))
        .await
        .map_err(|e| fail(e.to_string()))?
        .map_err(|e| fail(e.to_string()))?;
    let tx = client
        .transaction()
        .await
        .map_err(|e| fail(pg_message(&e)))?;
    // One builder at a time; the check is repeated under the lock, as another run may
    // have filled the database while this one generated.
    tx.batch_execute(
        "SET LOCAL statement_timeout = 0; SET LOCAL maintenance_work_mem = '256MB'; \
         SELECT pg_advisory_xact_lock(7135926412083552069)",
    )
    .await
    .map_err(|e| fail(pg_message(&e)))?;
    if let Some(reused) = existing(&tx, &shown).await? {
        return Ok(reused);
    }
    load(&tx, &schema, &scratch.0).await.map_err(fail)?;
    tx.commit().await.map_err(|e| fail(pg_message(&e)))?;
    let (patients, bytes) = size(&client).await.map_err(fail)?;
    Ok(DemoSummary {
        path: shown,
        patients,
        reused: false,
        bytes,
        elapsed: Some(started.elapsed()),
    })
}

/// What the database holds: no table (`None`: build the demo), GNU Health with patients
/// (reuse it); anything else is refused.
async fn existing(
    client: &impl GenericClient,
    shown: &str,
) -> Result<Option<DemoSummary>, DemoError> {
    let fail = |e: String| DemoError::Db(shown.to_owned(), e);
    // Every table but the system's and those an extension owns (PostGIS has one).
    let rows = client
        .query(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND n.nspname NOT LIKE 'pg\\_%' \
               AND n.nspname <> 'information_schema' \
               AND NOT EXISTS (SELECT 1 FROM pg_depend d \
                 WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid \
                   AND d.deptype = 'e') \
             ORDER BY 1",
            &[],
        )
        .await
        .map_err(|e| fail(pg_message(&e)))?;
    if rows.is_empty() {
        return Ok(None);
    }
    let gnuhealth = client
        .query_one("SELECT to_regclass('gnuhealth_patient') IS NOT NULL", &[])
        .await
        .and_then(|r| r.try_get::<_, bool>(0))
        .map_err(|e| fail(pg_message(&e)))?;
    if gnuhealth {
        let (patients, bytes) = size(client).await.map_err(fail)?;
        if patients > 0 {
            return Ok(Some(DemoSummary {
                path: shown.to_owned(),
                patients,
                reused: true,
                bytes,
                elapsed: None,
            }));
        }
    }
    let names: Vec<String> = rows
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()
        .map_err(|e| fail(pg_message(&e)))?;
    let mut listed = names[..names.len().min(5)].join(", ");
    if names.len() > 5 {
        listed.push_str(&format!(" and {} more", names.len() - 5));
    }
    Err(DemoError::NotEmpty(shown.to_owned(), listed))
}

/// The number of patients and the size of the database in bytes.
async fn size(client: &impl GenericClient) -> Result<(u64, u64), String> {
    let row = client
        .query_one(
            "SELECT (SELECT COUNT(*) FROM gnuhealth_patient), \
                    pg_database_size(current_database())",
            &[],
        )
        .await
        .map_err(|e| pg_message(&e))?;
    let patients: i64 = row.try_get(0).map_err(|e| pg_message(&e))?;
    let bytes: i64 = row.try_get(1).map_err(|e| pg_message(&e))?;
    Ok((
        u64::try_from(patients).unwrap_or(0),
        u64::try_from(bytes).unwrap_or(0),
    ))
}

/// The scratch SQLite database the generator writes, deleted when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> std::io::Result<Self> {
        let path =
            std::env::temp_dir().join(format!("gnuhealth-demo-{}.sqlite", std::process::id()));
        // A file left by a killed run of the same process id would otherwise be reused.
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        Ok(Scratch(path))
    }
}

impl Drop for Scratch {
    /// Also when the build is dropped half-way (Ctrl-C) while the generator writes.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Create the tables, copy the rows, then keys, sequences, indexes and statistics.
async fn load(tx: &Transaction<'_>, schema: &Schema, sqlite: &Path) -> Result<(), String> {
    let counts = {
        let path = sqlite.to_owned();
        let names: Vec<String> = schema.tables.iter().map(|t| t.name.clone()).collect();
        tokio::task::spawn_blocking(move || row_counts(&path, &names))
            .await
            .map_err(|e| e.to_string())??
    };
    let bar = super::progress_bar(counts.iter().sum(), "rows");
    bar.set_message("tables");
    for t in &schema.tables {
        tx.batch_execute(&t.create_sql())
            .await
            .map_err(|e| format!("{}: {}", t.name, pg_message(&e)))?;
    }
    bar.set_message("copy");
    for t in &schema.tables {
        copy_table(tx, sqlite, t, &bar).await?;
    }
    bar.set_message("indexes");
    for t in &schema.tables {
        let name = quote(&t.name);
        tx.batch_execute(&format!("ALTER TABLE {name} ADD PRIMARY KEY (id)"))
            .await
            .map_err(|e| format!("{}: {}", t.name, pg_message(&e)))?;
        // The identity continues after the copied ids, as after trytond's inserts.
        tx.query(
            &format!(
                "SELECT setval(pg_get_serial_sequence($1, 'id'), max(id)) FROM {name} \
                 HAVING max(id) > 0"
            ),
            &[&name],
        )
        .await
        .map_err(|e| format!("{}: {}", t.name, pg_message(&e)))?;
    }
    for i in &schema.indexes {
        tx.batch_execute(i)
            .await
            .map_err(|e| format!("{i}: {}", pg_message(&e)))?;
    }
    bar.set_message("analyze");
    let names: Vec<String> = schema.tables.iter().map(|t| quote(&t.name)).collect();
    tx.batch_execute(&format!("ANALYZE {}", names.join(", ")))
        .await
        .map_err(|e| pg_message(&e))?;
    bar.finish_and_clear();
    Ok(())
}

/// The number of rows of each table in the SQLite database (for the progress bar).
fn row_counts(sqlite: &Path, tables: &[String]) -> Result<Vec<u64>, String> {
    let conn = Connection::open_with_flags(sqlite, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| e.to_string())?;
    tables
        .iter()
        .map(|t| {
            conn.query_row(&format!("SELECT COUNT(*) FROM {}", quote(t)), [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(|e| format!("{t}: {e}"))
        })
        .collect()
}

/// Bytes of COPY text handed to PostgreSQL at a time.
const CHUNK: usize = 256 * 1024;

/// Rows of COPY text, and how many.
struct Chunk {
    text: Bytes,
    rows: u64,
}

/// Stream one table from SQLite into `COPY … FREEZE` (no later rewrite of every page
/// to mark the rows visible: they are frozen as written, in a table this transaction
/// created). A blocking thread reads and encodes while PostgreSQL takes the previous
/// chunk; the counts on both sides must agree.
async fn copy_table(
    tx: &Transaction<'_>,
    sqlite: &Path,
    table: &Table,
    bar: &indicatif::ProgressBar,
) -> Result<(), String> {
    let failed = |e: &dyn std::fmt::Display| format!("copying {}: {e}", table.name);
    let sink = tx
        .copy_in(&table.copy_sql())
        .await
        .map_err(|e| failed(&pg_message(&e)))?;
    let mut sink = std::pin::pin!(sink);
    let (chunks_tx, mut chunks) = mpsc::channel::<Chunk>(4);
    let (path, t) = (sqlite.to_owned(), table.clone());
    let reader = tokio::task::spawn_blocking(move || read_table(&path, &t, &chunks_tx));
    while let Some(chunk) = chunks.recv().await {
        sink.send(chunk.text)
            .await
            .map_err(|e| failed(&pg_message(&e)))?;
        bar.inc(chunk.rows);
    }
    let read = reader.await.map_err(|e| failed(&e))??;
    let copied = sink
        .as_mut()
        .finish()
        .await
        .map_err(|e| failed(&pg_message(&e)))?;
    if copied != read {
        return Err(failed(&format!("{read} rows read but {copied} copied")));
    }
    Ok(())
}

/// Encode every row of `table` as COPY text, in id order, into `out`; returns the
/// number of rows.
fn read_table(sqlite: &Path, table: &Table, out: &mpsc::Sender<Chunk>) -> Result<u64, String> {
    let failed = |e: &dyn std::fmt::Display| format!("reading {}: {e}", table.name);
    let conn = Connection::open_with_flags(sqlite, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| failed(&e))?;
    let columns: Vec<String> = table.columns.iter().map(|c| quote(&c.name)).collect();
    let mut st = conn
        .prepare(&format!(
            "SELECT {} FROM {} ORDER BY id",
            columns.join(", "),
            quote(&table.name)
        ))
        .map_err(|e| failed(&e))?;
    let mut rows = st.query([]).map_err(|e| failed(&e))?;
    let (mut total, mut pending) = (0u64, 0u64);
    let mut buf = Vec::with_capacity(CHUNK + 4096);
    let send = |buf: &mut Vec<u8>, rows: u64| {
        let text = Bytes::from(std::mem::replace(buf, Vec::with_capacity(CHUNK + 4096)));
        // A closed channel: the COPY failed, and its error is the one to report.
        out.blocking_send(Chunk { text, rows })
            .map_err(|_| failed(&"the copy stopped"))
    };
    while let Some(row) = rows.next().map_err(|e| failed(&e))? {
        for (i, c) in table.columns.iter().enumerate() {
            if i > 0 {
                buf.push(b'\t');
            }
            let v = row.get_ref(i).map_err(|e| failed(&e))?;
            encode(c.kind, v, &mut buf).map_err(|e| failed(&format!("{}: {e}", c.name)))?;
        }
        buf.push(b'\n');
        total += 1;
        pending += 1;
        if buf.len() >= CHUNK {
            send(&mut buf, pending)?;
            pending = 0;
        }
    }
    if !buf.is_empty() {
        send(&mut buf, pending)?;
    }
    Ok(total)
}

/// How a column's SQLite values become COPY text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    /// trytond's SQLite adapter stores booleans as 0 and 1.
    Bool,
    Float,
    /// Stored by trytond's SQLite adapter as the decimal's ASCII text in a BLOB.
    Numeric,
    /// Text, dates and timestamps (trytond's text forms are PostgreSQL's input forms).
    Text,
    Bytes,
}

/// One SQLite value of a column of `kind` as COPY text (`\N` for NULL). Anything
/// trytond would not have stored there is an error rather than a guess.
fn encode(kind: Kind, v: ValueRef<'_>, out: &mut Vec<u8>) -> Result<(), String> {
    use std::io::Write;
    let wrong = |v: ValueRef<'_>| Err(format!("unexpected {:?} value", v.data_type()));
    match (kind, v) {
        (_, ValueRef::Null) => out.extend_from_slice(b"\\N"),
        (Kind::Int | Kind::Float | Kind::Numeric, ValueRef::Integer(i)) => {
            let _ = write!(out, "{i}");
        }
        (Kind::Bool, ValueRef::Integer(i)) => out.push(if i == 0 { b'f' } else { b't' }),
        // Rust prints the shortest text that reads back as the same double, as
        // PostgreSQL's float8 output does.
        (Kind::Float | Kind::Numeric, ValueRef::Real(f)) => {
            let _ = write!(out, "{f}");
        }
        (Kind::Numeric, ValueRef::Blob(b)) => {
            let s = std::str::from_utf8(b).map_err(|_| "a numeric that is not text")?;
            escape(s, out)?;
        }
        (Kind::Numeric | Kind::Text, ValueRef::Text(t)) => {
            let s = std::str::from_utf8(t).map_err(|_| "text that is not UTF-8")?;
            escape(s, out)?;
        }
        (Kind::Bytes, ValueRef::Blob(b) | ValueRef::Text(b)) => {
            // bytea's hex input `\x…`, its backslash escaped for COPY.
            out.extend_from_slice(b"\\\\x");
            for byte in b {
                let _ = write!(out, "{byte:02x}");
            }
        }
        (_, v) => return wrong(v),
    }
    Ok(())
}

/// Text in COPY's text format: backslash, tab, newline and carriage return escaped.
fn escape(s: &str, out: &mut Vec<u8>) -> Result<(), String> {
    for &b in s.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0 => return Err("text with a NUL character, which PostgreSQL cannot store".into()),
            _ => out.push(b),
        }
    }
    Ok(())
}

/// A table of the reference schema, as created in PostgreSQL.
#[derive(Debug, Clone)]
struct Table {
    name: String,
    columns: Vec<Column>,
}

#[derive(Debug, Clone)]
struct Column {
    name: String,
    /// The PostgreSQL type and default, as in trytond's DDL (`None`: the identity id).
    sql: Option<String>,
    kind: Kind,
}

/// The reference schema translated to PostgreSQL: tables, and index statements to run
/// once the data is in.
#[derive(Debug)]
struct Schema {
    tables: Vec<Table>,
    indexes: Vec<String>,
}

impl Schema {
    fn reference() -> Result<Schema, String> {
        let mut schema = Schema {
            tables: Vec::new(),
            indexes: Vec::new(),
        };
        for s in statements(SCHEMA) {
            if is_index(&s) {
                schema.indexes.push(index_sql(&s)?);
            } else {
                schema.tables.push(parse_table(&s)?);
            }
        }
        Ok(schema)
    }
}

impl Table {
    /// The table without its primary key, which is added after the copy (building an
    /// index once is faster than maintaining it row by row).
    fn create_sql(&self) -> String {
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|c| match &c.sql {
                Some(sql) => format!("{} {sql}", quote(&c.name)),
                None => format!(
                    "{} INTEGER GENERATED BY DEFAULT AS IDENTITY",
                    quote(&c.name)
                ),
            })
            .collect();
        format!(
            "CREATE TABLE {} ({})",
            quote(&self.name),
            columns.join(", ")
        )
    }

    fn copy_sql(&self) -> String {
        let columns: Vec<String> = self.columns.iter().map(|c| quote(&c.name)).collect();
        format!(
            "COPY {} ({}) FROM STDIN (FREEZE)",
            quote(&self.name),
            columns.join(", ")
        )
    }
}

/// trytond's `fields.Timestamp` columns (microseconds, `TIMESTAMP(6)`); its other
/// datetimes are `fields.DateTime` (whole seconds, `TIMESTAMP(0)`). SQLite's DDL
/// writes both as `TIMESTAMP`.
fn is_timestamp_field(table: &str, column: &str) -> bool {
    matches!(column, "create_date" | "write_date")
        || (table, column) == ("res_user", "password_reset_expire")
}

/// `CREATE TABLE IF NOT EXISTS name (column type, …)` as trytond wrote it for SQLite.
fn parse_table(statement: &str) -> Result<Table, String> {
    let bad = || format!("unexpected statement in the reference schema: {statement}");
    let rest = statement
        .strip_prefix("CREATE TABLE IF NOT EXISTS ")
        .ok_or_else(bad)?;
    let open = rest.find('(').ok_or_else(bad)?;
    let name = unquote(rest[..open].trim());
    let body = rest[open + 1..]
        .trim_end()
        .strip_suffix(')')
        .ok_or_else(bad)?;
    let columns = split_columns(body)
        .into_iter()
        .map(|def| parse_column(&name, def))
        .collect::<Result<_, _>>()?;
    Ok(Table { name, columns })
}

/// Column definitions: the body split at commas outside parentheses (`NUMERIC(16, 4)`).
fn split_columns(body: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in body.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(body[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(body[start..].trim());
    out.retain(|d| !d.is_empty());
    out
}

/// One column: its PostgreSQL type per trytond's PostgreSQL backend (`TYPES_MAPPING`;
/// Boolean fields also get `DEFAULT false`, which trytond sets on every one).
fn parse_column(table: &str, def: &str) -> Result<Column, String> {
    let bad = || format!("{table}: unexpected column definition {def:?}");
    let (name, decl) = match def.strip_prefix('"') {
        Some(rest) => {
            let end = rest.find('"').ok_or_else(bad)?;
            (&rest[..end], &rest[end + 1..])
        }
        None => def.split_once(char::is_whitespace).ok_or_else(bad)?,
    };
    let decl = decl.trim().to_ascii_uppercase();
    let (sql, kind) = match decl.as_str() {
        "INTEGER PRIMARY KEY AUTOINCREMENT" if name == "id" => (None, Kind::Int),
        "INTEGER" => (Some("INTEGER".to_owned()), Kind::Int),
        "BOOLEAN" => (Some("BOOLEAN DEFAULT false".to_owned()), Kind::Bool),
        "VARCHAR" | "TEXT" | "DATE" => (Some(decl.clone()), Kind::Text),
        "TIMESTAMP" if is_timestamp_field(table, name) => {
            (Some("TIMESTAMP(6)".to_owned()), Kind::Text)
        }
        "TIMESTAMP" => (Some("TIMESTAMP(0)".to_owned()), Kind::Text),
        "NUMERIC" => (Some("NUMERIC".to_owned()), Kind::Numeric),
        "FLOAT" => (Some("FLOAT8".to_owned()), Kind::Float),
        "BLOB" => (Some("BYTEA".to_owned()), Kind::Bytes),
        d if d
            .strip_prefix("VARCHAR(")
            .and_then(|n| n.strip_suffix(')'))
            .is_some_and(|n| n.parse::<u32>().is_ok()) =>
        {
            (Some(decl.clone()), Kind::Text)
        }
        _ => return Err(format!("{table}.{name}: no PostgreSQL type for {decl}")),
    };
    Ok(Column {
        name: name.to_owned(),
        sql,
        kind,
    })
}

/// `CREATE INDEX IF NOT EXISTS "idx_…" ON …` with the name PostgreSQL can hold.
fn index_sql(statement: &str) -> Result<String, String> {
    let rest = statement
        .strip_prefix("CREATE INDEX IF NOT EXISTS \"")
        .ok_or_else(|| format!("unexpected index statement: {statement}"))?;
    let end = rest
        .find('"')
        .ok_or_else(|| format!("unexpected index statement: {statement}"))?;
    Ok(format!(
        "CREATE INDEX {}{}",
        quote(&index_name(&rest[..end])),
        &rest[end + 1..]
    ))
}

/// trytond names an index `idx_` + a name that, on PostgreSQL (63-byte identifiers),
/// is replaced by the first 59 hex digits of its SHA-256 when 60 bytes or longer
/// (`TableHandler.convert_name`); its SQLite backend keeps the long name.
fn index_name(name: &str) -> String {
    match name.strip_prefix("idx_") {
        Some(inner) if inner.len() >= 60 => {
            let hex: String = Sha256::digest(inner.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            format!("idx_{}", &hex[..59])
        }
        _ => name.to_owned(),
    }
}

fn unquote(name: &str) -> String {
    name.trim_matches('"').replace("\"\"", "\"")
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column<'a>(schema: &'a Schema, table: &str, name: &str) -> &'a Column {
        schema
            .tables
            .iter()
            .find(|t| t.name == table)
            .and_then(|t| t.columns.iter().find(|c| c.name == name))
            .unwrap_or_else(|| panic!("{table}.{name} missing"))
    }

    #[test]
    fn every_reference_table_translates() {
        let schema = Schema::reference().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(schema.tables.len(), 95);
        assert_eq!(schema.indexes.len(), 68);
        for (table, col, expected) in [
            ("party_party", "id", None),
            ("party_party", "active", Some("BOOLEAN DEFAULT false")),
            ("party_party", "photo", Some("BYTEA")),
            ("party_party", "dob", Some("DATE")),
            ("country_country", "code", Some("VARCHAR(2)")),
            ("gnuhealth_lab", "date_analysis", Some("TIMESTAMP(0)")),
            ("gnuhealth_lab", "create_date", Some("TIMESTAMP(6)")),
            ("res_user", "password_reset_expire", Some("TIMESTAMP(6)")),
            ("gnuhealth_lab_test_critearea", "result", Some("FLOAT8")),
        ] {
            let sql = column(&schema, table, col).sql.as_deref();
            assert_eq!(sql, expected, "{table}.{col}");
        }
        // The multi-line tables of trytond's init script, with unquoted names.
        assert_eq!(column(&schema, "res_user", "login").kind, Kind::Text);
        assert_eq!(column(&schema, "ir_model_field", "access").kind, Kind::Bool);
        for t in &schema.tables {
            assert_eq!(t.columns.iter().filter(|c| c.sql.is_none()).count(), 1);
            assert!(
                t.create_sql()
                    .starts_with(&format!("CREATE TABLE \"{}\" (", t.name))
            );
        }
        for i in &schema.indexes {
            let name = i.split('"').nth(1).unwrap_or_default();
            assert!(name.starts_with("idx_") && name.len() <= 63, "{i}");
        }
    }

    #[test]
    fn long_index_names_are_hashed_like_trytond() {
        // trytond 7.0 on PostgreSQL: 'idx_' + sha256(name).hexdigest()[:59].
        let long =
            "idx_gnuhealth_person_alternative_identification_f3dd3d3a753aad77dba847b802ff237c";
        assert_eq!(
            index_name(long),
            "idx_c912753ab0d7f27a3bc7d4a3798db8cdecde44822b6a3f05eaa038d88ec"
        );
        let short = "idx_party_party_24daee01a7fc99222be0516f82de6e37";
        assert_eq!(index_name(short), short);
    }

    #[test]
    fn values_become_copy_text() {
        let text = |kind, v| {
            let mut out = Vec::new();
            encode(kind, v, &mut out).map(|()| String::from_utf8_lossy(&out).into_owned())
        };
        let ok = |kind, v| text(kind, v).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok(Kind::Int, ValueRef::Null), "\\N");
        assert_eq!(ok(Kind::Int, ValueRef::Integer(-42)), "-42");
        assert_eq!(ok(Kind::Bool, ValueRef::Integer(0)), "f");
        assert_eq!(ok(Kind::Bool, ValueRef::Integer(1)), "t");
        assert_eq!(ok(Kind::Float, ValueRef::Real(36.6)), "36.6");
        assert_eq!(
            ok(Kind::Float, ValueRef::Real(0.1 + 0.2)),
            "0.30000000000000004"
        );
        assert_eq!(ok(Kind::Numeric, ValueRef::Blob(b"12.50")), "12.50");
        assert_eq!(
            ok(Kind::Text, ValueRef::Text("a\\b\tc\nd\re".as_bytes())),
            "a\\\\b\\tc\\nd\\re"
        );
        assert_eq!(
            ok(Kind::Bytes, ValueRef::Blob(&[0, 0xab, 0x5c])),
            "\\\\x00ab5c"
        );
        assert!(text(Kind::Bool, ValueRef::Text(b"yes")).is_err());
        assert!(text(Kind::Int, ValueRef::Text(b"7")).is_err());
        assert!(text(Kind::Text, ValueRef::Text(b"nul\0")).is_err());
    }
}
