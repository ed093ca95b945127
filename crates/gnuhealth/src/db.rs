//! Connections to the GNU Health database, SQLite or PostgreSQL, behind one small API:
//! build a statement with [`Sql`] (placeholders and id lists rendered for the dialect),
//! run it with [`Database::query`], read the [`Row`]s. Values come back in Tryton's own
//! text forms whatever the backend (dates `YYYY-MM-DD`, timestamps `YYYY-MM-DD HH:MM:SS[.ffffff]`),
//! so the mappings never see a dialect difference.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime};
use fhir::search::TextMatch;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

/// SQL dialect of a [`Database`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Database failures, split by who is to blame.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DbError {
    /// The database cannot be reached or opened: a 503 for the client.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A statement failed: a bug on our side or an unexpected schema.
    #[error("database query failed: {0}")]
    Query(String),
    /// A statement ran past the query timeout and was cancelled: the request asked for
    /// too much, not a fault of the database.
    #[error("the query ran past its time limit and was cancelled")]
    Timeout,
}

/// How [`Database::connect_with`] sets up its connections.
#[derive(Debug, Clone, Default)]
pub struct DbOptions {
    /// Statements running longer are cancelled with [`DbError::Timeout`] (none if `None`).
    pub query_timeout: Option<Duration>,
}

/// One bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Int(i64),
    Float(f64),
    Text(String),
    Bool(bool),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
    IntList(Vec<i64>),
}

/// A statement under construction for one dialect.
#[derive(Debug, Clone)]
pub struct Sql {
    dialect: Dialect,
    text: String,
    params: Vec<Param>,
    /// The indexes on folded names the SQLite database had when the server connected.
    folded_indexes: Option<Arc<Vec<String>>>,
}

impl Sql {
    pub fn new(dialect: Dialect) -> Self {
        Sql {
            dialect,
            text: String::with_capacity(256),
            params: Vec::new(),
            folded_indexes: None,
        }
    }

    /// This statement with `prefix` before its text (`EXPLAIN `), its parameters kept.
    pub fn prefixed(&self, prefix: &str) -> Sql {
        let mut sql = self.clone();
        sql.text.insert_str(0, prefix);
        sql
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// Append SQL text (never user input: values go through [`Sql::param`]).
    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Append a placeholder bound to `p`.
    pub fn param(&mut self, p: Param) -> &mut Self {
        self.params.push(p);
        let n = self.params.len();
        match self.dialect {
            Dialect::Sqlite => self.text.push_str(&format!("?{n}")),
            Dialect::Postgres => self.text.push_str(&format!("${n}")),
        }
        self
    }

    /// A comma-separated list of placeholders bound to `values`, padded to the next power
    /// of two by repeating the last value: a list of any length gives one of a few
    /// statement texts, so the prepared statement is found in the cache rather than parsed
    /// and planned again (a millisecond or more for the union types' statements). Unlike
    /// [`Sql::in_ids`], each value is its own placeholder, which the database can push into
    /// the branches of a union.
    pub fn param_list(&mut self, values: &[Param]) -> &mut Self {
        let Some(last) = values.last() else {
            return self.push("NULL");
        };
        let padded = values.len().next_power_of_two();
        for i in 0..padded {
            if i > 0 {
                self.push(", ");
            }
            self.param(values.get(i).unwrap_or(last).clone());
        }
        self
    }

    /// `expr IN (ids)` with the whole list bound as one parameter, so the statement text
    /// (and its prepared plan) is the same whatever the number of ids; `expr = id` for
    /// one id (a read), which SQLite answers without building a temporary index of the
    /// list.
    pub fn in_ids(&mut self, expr: &str, ids: &[i64]) -> &mut Self {
        self.push(expr);
        if let [id] = ids {
            return self.push(" = ").param(Param::Int(*id));
        }
        match self.dialect {
            Dialect::Sqlite => {
                self.push(" IN (SELECT value FROM json_each(");
                let list = format!(
                    "[{}]",
                    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
                );
                self.param(Param::Text(list));
                self.push("))")
            }
            Dialect::Postgres => {
                self.push(" = ANY(");
                self.param(Param::IntList(ids.to_vec()));
                self.push(")")
            }
        }
    }

    /// On SQLite with the index `index` on [`sqlite_folded_start`] of `expr`, for a prefix
    /// search of an ASCII value `v`: `AND (start IN (prefixes of v) OR start BETWEEN v AND
    /// v-with-its-last-letter-next)`, which holds every match of [`Sql::text_match`]
    /// (`ghf_match` stays the exact test) and which the index answers. A match's start
    /// and `v` are both prefixes of its fold, and the start has at most [`FOLDED_START`]
    /// characters (each folds to one or none): so when `v` has that many, the start is a
    /// prefix of `v` and the `IN` list alone holds every match. It is then written alone,
    /// as SQLite answers an `OR` of two index ranges by looking up every row they find in
    /// the table (a third less time for `family=mar` at 100k patients). Nothing without
    /// the index (the folded start is hundreds of comparisons per row), nor on PostgreSQL,
    /// whose `LIKE 'gar%'` an index on the folded text answers as it is.
    pub fn folded_prefix_range(&mut self, expr: &str, value: &str, index: &str) -> &mut Self {
        let folded = fhir::search::fold(value);
        let Some(last) = folded.chars().last() else {
            return self;
        };
        let indexed = self
            .folded_indexes
            .as_ref()
            .is_some_and(|names| names.iter().any(|n| n == index));
        if self.dialect != Dialect::Sqlite || !indexed || !folded.is_ascii() {
            return self;
        }
        let start = sqlite_folded_start(expr);
        let prefixes: Vec<Param> = (0..=folded.len().min(FOLDED_START))
            .map(|k| Param::Text(folded[..k].to_owned()))
            .collect();
        if folded.len() >= FOLDED_START {
            self.push(&format!(" AND {start} IN ("))
                .param_list(&prefixes)
                .push(")");
            return self;
        }
        let next = char::from(last as u8 + 1);
        let high = format!("{}{next}", &folded[..folded.len() - 1]);
        self.push(&format!(" AND ({start} IN ("))
            .param_list(&prefixes)
            .push(&format!(") OR {start} BETWEEN "));
        self.param(Param::Text(folded));
        self.push(" AND ");
        self.param(Param::Text(high));
        self.push(")")
    }

    /// FHIR string matching of `expr` against a search value (case- and accent-insensitive):
    /// SQLite calls `ghf_match`, which folds and compares in one pass without a folded copy
    /// of every row; PostgreSQL folds with `translate(lower())` and uses `LIKE`.
    pub fn text_match(&mut self, expr: &str, value: &str, how: TextMatch) -> &mut Self {
        let folded = fhir::search::fold(value);
        match self.dialect {
            Dialect::Sqlite => {
                let code = match how {
                    TextMatch::Prefix => 0,
                    TextMatch::WordPrefix => 1,
                    TextMatch::Contains => 2,
                };
                self.push(&format!("ghf_match({expr}, "));
                self.param(Param::Text(folded));
                self.push(&format!(", {code})"))
            }
            Dialect::Postgres => {
                let escaped = like_escape(&folded);
                let (lhs, pattern) = match how {
                    TextMatch::Prefix => (String::new(), format!("{escaped}%")),
                    TextMatch::WordPrefix => ("' ' || ".to_owned(), format!("% {escaped}%")),
                    TextMatch::Contains => (String::new(), format!("%{escaped}%")),
                };
                self.push(&format!("({lhs}{}) LIKE ", pg_folded(expr)));
                self.param(Param::Text(pattern));
                self.push(" ESCAPE '\\'")
            }
        }
    }

    /// The start of "position of a needle in `haystack`" (1-based, 0 when absent); push
    /// the needle parameter and `)` after it.
    pub fn position_of(&self, haystack: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("instr({haystack}, "),
            Dialect::Postgres => format!("strpos({haystack}, "),
        }
    }

    /// A boolean column as a SQL truth value (SQLite stores 0/1 or NULL).
    pub fn is_true(&self, expr: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("COALESCE({expr}, 0) = 1"),
            Dialect::Postgres => format!("COALESCE({expr}, false)"),
        }
    }
}

/// How many characters of a text [`sqlite_folded_start`] folds.
const FOLDED_START: usize = 3;

/// The fold (lower case, accents and combining marks removed) of the first
/// [`FOLDED_START`] characters of `expr`, on SQLite with nothing but `substr()`, `CASE`
/// and `||`, so that an index on it can be created and kept up to date by any SQLite
/// connection: trytond's too, which knows nothing of `ghf_match`, and older SQLite
/// versions, whose parser cannot nest a few hundred `replace()` calls. Each character
/// whose fold is ASCII or nothing becomes that fold (ASCII capitals included: `lower()`
/// would depend on how SQLite was built); other characters stay, as their fold is not
/// ASCII and no ASCII search value reaches past it. So for an ASCII value `v` and a
/// matching text, this and `v` are both prefixes of the text's fold: one is a prefix of
/// the other ([`Sql::folded_prefix_range`]).
pub(crate) fn sqlite_folded_start(expr: &str) -> String {
    let whens = sqlite_fold_whens();
    let chars: Vec<String> = (1..=FOLDED_START)
        .map(|i| {
            let c = format!("substr({expr}, {i}, 1)");
            format!("CASE {c}{whens} ELSE {c} END")
        })
        .collect();
    format!("({})", chars.join(" || "))
}

/// The `WHEN 'c' THEN 'fold'` list of [`sqlite_folded_start`], written once.
fn sqlite_fold_whens() -> &'static str {
    static WHENS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    WHENS.get_or_init(|| {
        sqlite_fold_map()
            .iter()
            .map(|(from, to)| format!(" WHEN '{from}' THEN '{}'", to.replace('\'', "''")))
            .collect()
    })
}

/// The characters [`sqlite_folded_start`] replaces, with their fold.
fn sqlite_fold_map() -> &'static [(char, String)] {
    static MAP: std::sync::OnceLock<Vec<(char, String)>> = std::sync::OnceLock::new();
    MAP.get_or_init(|| {
        ('A'..='Z')
            .chain('\u{80}'..=char::MAX)
            .filter_map(|c| {
                let folded = fhir::search::fold(c.encode_utf8(&mut [0; 4]));
                (folded.is_ascii() && folded != c.to_string()).then_some((c, folded))
            })
            .collect()
    })
}

/// `expr` folded for string search on PostgreSQL (lower case, accents removed), written
/// the same way in the searches and in the suggested indexes on folded names, which
/// PostgreSQL only uses for an identical expression.
pub(crate) fn pg_folded(expr: &str) -> String {
    let (from, to) = pg_fold_table();
    format!("translate(lower({expr}), '{from}', '{to}')")
}

/// The `translate()` table for PostgreSQL: the fold table, plus the upper-case accented
/// letters (`lower()` leaves them alone under the C locale), plus the combining marks,
/// which have no counterpart and so are deleted.
fn pg_fold_table() -> &'static (String, String) {
    static TABLE: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let (from, to) = fhir::search::fold_table();
        let (mut f, mut t) = (from.to_owned(), to.to_owned());
        for (a, b) in from.chars().zip(to.chars()) {
            let mut up = a.to_uppercase();
            if let (Some(u), None) = (up.next(), up.next())
                && u != a
                && !f.contains(u)
            {
                f.push(u);
                t.push(b);
            }
        }
        f.push_str(fhir::search::combining_marks());
        // Quotes never occur in the table, but the SQL text must stay well-formed.
        (f.replace('\'', "''"), t.replace('\'', "''"))
    })
}

/// One value of a result row.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
}

/// A result row, read by column index.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Val>);

impl Row {
    fn get(&self, i: usize) -> &Val {
        self.0.get(i).unwrap_or(&Val::Null)
    }
    pub fn opt_int(&self, i: usize) -> Option<i64> {
        match self.get(i) {
            Val::Int(v) => Some(*v),
            Val::Float(v) => Some(*v as i64),
            Val::Bool(b) => Some(i64::from(*b)),
            Val::Text(t) => t.trim().parse().ok(),
            _ => None,
        }
    }
    pub fn int(&self, i: usize) -> i64 {
        self.opt_int(i).unwrap_or_default()
    }
    pub fn opt_float(&self, i: usize) -> Option<f64> {
        match self.get(i) {
            Val::Float(v) => Some(*v),
            Val::Int(v) => Some(*v as f64),
            // Tryton stores SQLite NUMERIC as a BLOB holding the ASCII decimal.
            Val::Text(t) => t.trim().parse().ok(),
            Val::Bytes(b) => std::str::from_utf8(b).ok()?.trim().parse().ok(),
            _ => None,
        }
    }
    /// Text, with empty strings treated as absent (Tryton's empty choice is NULL, but
    /// hand-edited rows hold '').
    pub fn opt_text(&self, i: usize) -> Option<String> {
        match self.get(i) {
            Val::Text(t) if !t.is_empty() => Some(t.clone()),
            Val::Int(v) => Some(v.to_string()),
            Val::Float(v) => Some(v.to_string()),
            Val::Bytes(b) => String::from_utf8(b.clone()).ok().filter(|s| !s.is_empty()),
            _ => None,
        }
    }
    pub fn opt_str(&self, i: usize) -> Option<&str> {
        match self.get(i) {
            Val::Text(t) if !t.is_empty() => Some(t.as_str()),
            _ => None,
        }
    }
    /// Booleans: NULL is false, as in Tryton.
    pub fn bool(&self, i: usize) -> bool {
        self.opt_bool(i).unwrap_or(false)
    }
    pub fn opt_bool(&self, i: usize) -> Option<bool> {
        match self.get(i) {
            Val::Bool(b) => Some(*b),
            Val::Int(v) => Some(*v != 0),
            Val::Text(t) => Some(t == "1" || t.eq_ignore_ascii_case("true")),
            _ => None,
        }
    }
    pub fn bytes(&self, i: usize) -> Option<&[u8]> {
        match self.get(i) {
            Val::Bytes(b) if !b.is_empty() => Some(b),
            _ => None,
        }
    }
}

/// A SQLite connection pool: rusqlite is synchronous, so statements that take time run on
/// tokio's blocking pool with a connection taken from here. Most statements are key
/// lookups of a few microseconds, less than the hand-over to another thread costs: those
/// run in place, on a connection of the calling thread ([`SqlitePool::query_inline`]).
struct SqlitePool {
    /// Names this pool's connections in the threads' own connection lists.
    id: u64,
    path: PathBuf,
    idle: Mutex<Vec<rusqlite::Connection>>,
    /// At most this many connections exist: requests wait for one rather than opening
    /// more, so connections (and their prepared statements) are reused.
    permits: tokio::sync::Semaphore,
    query_timeout: Option<Duration>,
    /// The names of the indexes on folded names (`ghf_…_folded`) found when connecting:
    /// searches use them (see [`Sql::folded_prefix_range`]); created later, they are
    /// used after a restart.
    folded_indexes: std::sync::OnceLock<Arc<Vec<String>>>,
}

/// How many SQLite virtual-machine steps run between two checks of the query deadline:
/// small enough to stop within milliseconds, large enough to cost nothing measurable.
const PROGRESS_STEPS: std::ffi::c_int = 10_000;

/// Connections to a SQLite database: a few per core is enough, SQLite work is CPU-bound.
const SQLITE_CONNECTIONS: usize = 8;

/// How much CPU time a statement may take in place on an async thread before it is
/// interrupted and run again on the blocking pool: key lookups and pages of a few rows
/// finish well within it, scans do not, and then at most this much work is thrown away.
/// Such a statement is remembered as slow. CPU time, not wall time: under load the
/// scheduler runs other threads in the middle of a quick statement, and wall time would
/// call it slow (and send it to the pool from then on, with two thread hand-overs per
/// read).
const INLINE_BUDGET: Duration = Duration::from_millis(1);

/// The wall time a statement may take in place all the same: reading pages from the disk
/// (a database not yet in the page cache) costs wall time, not CPU time, and must not
/// hold an async thread. Such a statement goes to the pool this time only.
const INLINE_WAIT: Duration = Duration::from_millis(5);

/// The CPU time this thread has used.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec it is given, which lives here.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        // No CPU clock: the wall-time limit alone applies.
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// How much of the database file each connection reads through a memory map: the bundled
/// SQLite's maximum (2 GB), beyond which a larger file is read as usual. Without the map,
/// each connection copies every page it misses from the OS cache into its own 2 MB cache,
/// and a search that visits thousands of rows spent most of its time there and in the
/// allocator's lock: `Patient?family=` at 100k patients went from 46 to 200 requests/s
/// with it. The mapped pages are the OS page cache's, not the process's memory (they show
/// in RSS as file pages, once per connection).
const MMAP_SIZE: i64 = 0x7fff_0000;

/// Steps between two checks of the in-place budget (a check is one clock read).
const INLINE_STEPS: std::ffi::c_int = 1_000;

/// Prepared statements each SQLite connection keeps.
const STATEMENT_CACHE: usize = 256;

/// Statements a thread remembers as too long to run in place (they go to the pool at once).
const SLOW_STATEMENTS: usize = 256;

/// Databases a thread keeps its own connection to (a server has one; tests open many).
const INLINE_DATABASES: usize = 4;

/// Source of [`SqlitePool::id`].
static NEXT_POOL_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's own connections, by pool id: no lock, no hand-over, and the
    /// connection's prepared statements stay warm for the statements this thread runs.
    static INLINE_CONNECTIONS: RefCell<Vec<(u64, rusqlite::Connection)>> =
        const { RefCell::new(Vec::new()) };
    /// Hashes of the statement texts (with their pool id) that ran past the in-place
    /// budget on this thread: not tried in place again, so their work is not thrown away
    /// on every request. Forgotten all at once when full.
    static SLOW_IN_PLACE: RefCell<std::collections::HashSet<u64>> =
        RefCell::new(std::collections::HashSet::new());
}

/// The key of a read in [`SLOW_IN_PLACE`].
fn slow_key(pool: u64, sqls: &[&Sql]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    pool.hash(&mut h);
    for sql in sqls {
        sql.text().hash(&mut h);
    }
    h.finish()
}

impl SqlitePool {
    fn open(&self) -> Result<rusqlite::Connection, DbError> {
        use rusqlite::OpenFlags;
        // Never create the file: a missing database is a configuration error.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = rusqlite::Connection::open_with_flags(&self.path, flags).map_err(|e| {
            DbError::Unavailable(format!("cannot open {}: {e}", self.path.display()))
        })?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        register_fold(&conn).map_err(|e| DbError::Unavailable(e.to_string()))?;
        conn.pragma_update(None, "mmap_size", MMAP_SIZE)
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        // A request runs a dozen statements or more (search, count, loaders, includes):
        // the default cache of 16 would prepare the large union statements again and again.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }

    fn take(&self) -> Result<rusqlite::Connection, DbError> {
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        match idle {
            Some(c) => Ok(c),
            None => self.open(),
        }
    }

    fn give_back(&self, conn: rusqlite::Connection) {
        if let Ok(mut v) = self.idle.lock()
            && v.len() < SQLITE_CONNECTIONS
        {
            v.push(conn);
        }
    }

    /// Run `sqls` in place on this thread's own connection if they finish within
    /// [`INLINE_BUDGET`] (and [`INLINE_WAIT`]); `None` when they would take longer (it was
    /// interrupted) or no connection of this thread can be used: the caller then runs it
    /// on the blocking pool, which also reports what is wrong with the database.
    fn query_inline(&self, sqls: &[&Sql]) -> Option<Result<Vec<Vec<Row>>, DbError>> {
        let key = slow_key(self.id, sqls);
        if SLOW_IN_PLACE.with(|slow| slow.try_borrow().map_or(true, |s| s.contains(&key))) {
            return None;
        }
        INLINE_CONNECTIONS.with(|cell| {
            let mut conns = cell.try_borrow_mut().ok()?;
            let pos = match conns.iter().position(|(id, _)| *id == self.id) {
                Some(pos) => pos,
                None => {
                    let conn = self.open().ok()?;
                    // Never wait for a writer's lock here, on an async thread: the
                    // blocking pool waits instead.
                    conn.busy_timeout(Duration::ZERO).ok()?;
                    // Read the schema now, not within the first statement's budget: GNU
                    // Health's takes longer than that, and the first statement would be
                    // remembered as slow.
                    conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |_| Ok(()))
                        .ok()?;
                    if conns.len() >= INLINE_DATABASES {
                        conns.remove(0);
                    }
                    conns.push((self.id, conn));
                    conns.len() - 1
                }
            };
            let conn = &conns[pos].1;
            let wall = Instant::now() + INLINE_WAIT;
            let cpu = thread_cpu_time() + INLINE_BUDGET;
            conn.progress_handler(
                INLINE_STEPS,
                Some(move || thread_cpu_time() >= cpu || Instant::now() >= wall),
            );
            let res = sqlite_read(conn, sqls);
            conn.progress_handler(INLINE_STEPS, None::<fn() -> bool>);
            if !end_read(conn) {
                conns.remove(pos);
                return None;
            }
            match res {
                Err(DbError::Timeout) if thread_cpu_time() < cpu => {
                    tracing::debug!(target: "gnuhealth::sql", "waited too long in place: on the pool this time");
                    None
                }
                Err(DbError::Timeout) => {
                    tracing::debug!(target: "gnuhealth::sql", "too long to run in place: on the pool from now on");
                    SLOW_IN_PLACE.with(|slow| {
                        if let Ok(mut slow) = slow.try_borrow_mut() {
                            if slow.len() >= SLOW_STATEMENTS {
                                slow.clear();
                            }
                            slow.insert(key);
                        }
                    });
                    None
                }
                Err(DbError::Unavailable(_)) => {
                    // Busy, or the file was replaced or damaged: opened again next time.
                    conns.remove(pos);
                    None
                }
                done => Some(done),
            }
        })
    }
}

/// `ghf_match(text, folded value, how)`: the SQLite side of FHIR's case- and
/// accent-insensitive string search (`how`: 0 prefix, 1 word prefix, 2 contains). Reads the
/// row's text in place: no copy, no allocation for the common prefix case.
fn register_fold(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    use rusqlite::types::ValueRef;
    conn.create_scalar_function(
        "ghf_match",
        3,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let (ValueRef::Text(text), ValueRef::Text(value)) = (ctx.get_raw(0), ctx.get_raw(1))
            else {
                return Ok(false);
            };
            let how = match ctx.get::<i64>(2)? {
                0 => TextMatch::Prefix,
                1 => TextMatch::WordPrefix,
                _ => TextMatch::Contains,
            };
            Ok(
                match (std::str::from_utf8(text), std::str::from_utf8(value)) {
                    (Ok(t), Ok(v)) => fhir::search::folded_match(t, v, how),
                    _ => false,
                },
            )
        },
    )
}

/// A value for `LIKE … ESCAPE '\'`: its wildcards taken literally.
fn like_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The GNU Health database.
#[derive(Clone)]
pub struct Database {
    inner: Arc<Backend>,
}

enum Backend {
    Sqlite(SqlitePool),
    /// The pool, and how long a read or write may take once it has a connection.
    Postgres(deadpool_postgres::Pool, Option<Duration>),
}

/// Beyond the query timeout (which PostgreSQL enforces itself), how long the server waits
/// for an answer before it gives up on the connection: a server that stopped answering
/// (a dead host, a network cut, a socket that connected to itself while PostgreSQL was
/// down) would otherwise hold the request for ever.
const PG_ANSWER_MARGIN: Duration = Duration::from_secs(2);

/// A PostgreSQL connection that did not answer in time: out of the pool for good.
fn pg_no_answer(client: deadpool_postgres::Object) -> DbError {
    drop(deadpool_postgres::Object::take(client));
    DbError::Unavailable("PostgreSQL did not answer in time".into())
}

impl Database {
    /// Open `sqlite:///abs/path.sqlite` or `postgresql://user:pass@host:port/db`, with no
    /// query timeout. Checks that the database answers before returning.
    pub async fn connect(url: &str) -> Result<Database, DbError> {
        Database::connect_with(url, DbOptions::default()).await
    }

    /// [`Database::connect`] with options (the server's query timeout).
    pub async fn connect_with(url: &str, opts: DbOptions) -> Result<Database, DbError> {
        let backend = if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(DbError::Unavailable(
                    "sqlite URL needs a path: sqlite:///abs/path/health.sqlite".into(),
                ));
            }
            let path = PathBuf::from(path);
            if !path.is_file() {
                return Err(DbError::Unavailable(format!(
                    "SQLite database {} does not exist",
                    path.display()
                )));
            }
            Backend::Sqlite(SqlitePool {
                id: NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed),
                path,
                idle: Mutex::new(Vec::new()),
                permits: tokio::sync::Semaphore::new(SQLITE_CONNECTIONS),
                query_timeout: opts.query_timeout,
                folded_indexes: std::sync::OnceLock::new(),
            })
        } else if url.starts_with("postgresql://") || url.starts_with("postgres://") {
            let mut pg: tokio_postgres::Config = url
                .parse()
                .map_err(|e| DbError::Unavailable(format!("bad PostgreSQL URL: {e}")))?;
            if let Some(t) = opts.query_timeout {
                // Set per session at connection start, so every pooled connection carries
                // it and the server cancels long statements itself (SQLSTATE 57014), with
                // no extra round trip per query. Options already in the URL are kept.
                let mut options = pg.get_options().unwrap_or_default().to_owned();
                if !options.is_empty() {
                    options.push(' ');
                }
                options.push_str(&format!("-c statement_timeout={}", t.as_millis().max(1)));
                pg.options(options);
            }
            let mgr = deadpool_postgres::Manager::from_config(
                pg,
                tokio_postgres::NoTls,
                deadpool_postgres::ManagerConfig {
                    recycling_method: deadpool_postgres::RecyclingMethod::Fast,
                },
            );
            let pool = deadpool_postgres::Pool::builder(mgr)
                .max_size(16)
                .wait_timeout(Some(Duration::from_secs(5)))
                .create_timeout(Some(Duration::from_secs(5)))
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .build()
                .map_err(|e| DbError::Unavailable(e.to_string()))?;
            Backend::Postgres(pool, opts.query_timeout.map(|t| t + PG_ANSWER_MARGIN))
        } else {
            return Err(DbError::Unavailable(format!(
                "unsupported database URL (use sqlite:///path or postgresql://…): {}",
                redact_url(url)
            )));
        };
        let db = Database {
            inner: Arc::new(backend),
        };
        let mut probe = db.sql();
        probe.push("SELECT COUNT(*) FROM gnuhealth_patient");
        db.query(&probe).await?;
        if let Backend::Sqlite(pool) = &*db.inner {
            let names = crate::indexes::folded_present(&db).await?;
            if !names.is_empty() {
                // Built here (a scan of every character) rather than by the first search.
                sqlite_fold_whens();
            }
            let _ = pool.folded_indexes.set(Arc::new(names));
        }
        Ok(db)
    }

    pub fn dialect(&self) -> Dialect {
        match &*self.inner {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres(..) => Dialect::Postgres,
        }
    }

    /// Pooled connections in use, and the most there may be: SQLite's blocking pool (the
    /// threads' own in-place connections are not counted), or PostgreSQL's pool.
    pub fn connections(&self) -> (usize, usize) {
        match &*self.inner {
            Backend::Sqlite(pool) => (
                SQLITE_CONNECTIONS.saturating_sub(pool.permits.available_permits()),
                SQLITE_CONNECTIONS,
            ),
            Backend::Postgres(pool, _) => {
                let status = pool.status();
                (
                    status.size.saturating_sub(status.available),
                    status.max_size,
                )
            }
        }
    }

    /// Close the pooled connections (at shutdown): PostgreSQL's end their sessions now,
    /// and no new one is opened.
    pub fn close(&self) {
        match &*self.inner {
            Backend::Sqlite(pool) => {
                pool.permits.close();
                if let Ok(mut idle) = pool.idle.lock() {
                    idle.clear();
                }
            }
            Backend::Postgres(pool, _) => pool.close(),
        }
    }

    /// A new statement in this database's dialect.
    pub fn sql(&self) -> Sql {
        let mut sql = Sql::new(self.dialect());
        if let Backend::Sqlite(pool) = &*self.inner {
            sql.folded_indexes = pool.folded_indexes.get().cloned();
        }
        sql
    }

    /// Run `f` with a pooled SQLite connection on tokio's blocking pool (rusqlite is
    /// synchronous: a statement must not hold an async worker thread).
    async fn with_sqlite<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        let Backend::Sqlite(pool) = &*self.inner else {
            return Err(DbError::Query("not a SQLite database".into()));
        };
        let _permit = pool
            .permits
            .acquire()
            .await
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        let this = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let Backend::Sqlite(pool) = &*this else {
                return Err(DbError::Query("not a SQLite database".into()));
            };
            let conn = pool.take()?;
            // The deadline counts from the moment the statement may run (waiting for a
            // connection is not the query's cost). SQLite calls the handler every few
            // thousand virtual-machine steps; returning true interrupts the statement.
            let deadline = pool.query_timeout.map(|t| Instant::now() + t);
            if let Some(deadline) = deadline {
                conn.progress_handler(PROGRESS_STEPS, Some(move || Instant::now() >= deadline));
            }
            let res = f(&conn);
            if deadline.is_some() {
                // The next statement on this connection gets its own deadline.
                conn.progress_handler(PROGRESS_STEPS, None::<fn() -> bool>);
            }
            if end_read(&conn) {
                pool.give_back(conn);
            }
            res
        })
        .await
        .map_err(|e| DbError::Query(format!("query task failed: {e}")))?
    }

    /// Run a query and return all its rows.
    pub async fn query(&self, sql: &Sql) -> Result<Vec<Row>, DbError> {
        let mut all = self.query_all(&[sql]).await?;
        Ok(all.pop().unwrap_or_default())
    }

    /// Run several queries as one read and return the rows of each, in order: on SQLite
    /// in one transaction (one lock and one look at the journal for all of them, which
    /// is most of what a key lookup costs), on PostgreSQL on one connection, pipelined
    /// (one round trip's wait for all of them).
    pub async fn query_all(&self, sqls: &[&Sql]) -> Result<Vec<Vec<Row>>, DbError> {
        for sql in sqls {
            // `RUST_LOG=gnuhealth::sql=debug` shows every statement: what a request costs.
            tracing::debug!(target: "gnuhealth::sql", "{}", sql.text());
        }
        match &*self.inner {
            Backend::Sqlite(pool) => {
                let start = Instant::now();
                if let Some(done) = pool.query_inline(sqls) {
                    tracing::debug!(target: "gnuhealth::sql", "in place: {:?}", start.elapsed());
                    return done;
                }
                let tried = start.elapsed();
                let sqls: Vec<Sql> = sqls.iter().map(|s| (*s).clone()).collect();
                let done = self.with_sqlite(move |conn| sqlite_read(conn, &sqls)).await;
                tracing::debug!(target: "gnuhealth::sql", "on the pool: {:?} (in place first: {tried:?})", start.elapsed());
                done
            }
            Backend::Postgres(pool, limit) => {
                let client = pool
                    .get()
                    .await
                    .map_err(|e| DbError::Unavailable(e.to_string()))?;
                let read = async {
                    let mut statements = Vec::with_capacity(sqls.len());
                    for sql in sqls {
                        statements.push(client.prepare_cached(sql.text()).await.map_err(pg_error)?);
                    }
                    let params: Vec<Vec<&(dyn ToSql + Sync)>> = sqls
                        .iter()
                        .map(|sql| {
                            sql.params()
                                .iter()
                                .map(|p| p as &(dyn ToSql + Sync))
                                .collect()
                        })
                        .collect();
                    // Polled together, tokio-postgres sends them all before reading answers.
                    let all = futures_util::future::try_join_all(
                        statements
                            .iter()
                            .zip(&params)
                            .map(|(stmt, params)| client.query(stmt, params)),
                    )
                    .await
                    .map_err(pg_error)?;
                    all.iter()
                        .map(|rows| rows.iter().map(pg_row).collect())
                        .collect()
                };
                let answered = match limit {
                    Some(limit) => tokio::time::timeout(*limit, read).await.ok(),
                    None => Some(read.await),
                };
                match answered {
                    Some(rows) => rows,
                    None => Err(pg_no_answer(client)),
                }
            }
        }
    }

    /// Run a statement that changes rows (login attempts, demo set-up); returns the count.
    pub async fn execute(&self, sql: &Sql) -> Result<u64, DbError> {
        match &*self.inner {
            Backend::Sqlite(_) => {
                let sql = sql.clone();
                self.with_sqlite(move |conn| {
                    let params = sqlite_params(&sql);
                    conn.execute(sql.text(), rusqlite::params_from_iter(params.iter()))
                        .map(|n| n as u64)
                        .map_err(sqlite_error)
                })
                .await
            }
            Backend::Postgres(pool, limit) => {
                let client = pool
                    .get()
                    .await
                    .map_err(|e| DbError::Unavailable(e.to_string()))?;
                let params: Vec<&(dyn ToSql + Sync)> = sql
                    .params()
                    .iter()
                    .map(|p| p as &(dyn ToSql + Sync))
                    .collect();
                let write = client.execute(sql.text(), &params);
                let answered = match limit {
                    Some(limit) => tokio::time::timeout(*limit, write).await.ok(),
                    None => Some(write.await),
                };
                match answered {
                    Some(done) => done.map_err(pg_error),
                    None => Err(pg_no_answer(client)),
                }
            }
        }
    }
}

/// A URL without its password, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..s + 3], user, &url[at..])
        }
        _ => url.to_owned(),
    }
}

fn sqlite_error(e: rusqlite::Error) -> DbError {
    match &e {
        // Only our progress handler interrupts statements: the query timeout.
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::OperationInterrupted =>
        {
            DbError::Timeout
        }
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy
                    | rusqlite::ErrorCode::DatabaseLocked
                    | rusqlite::ErrorCode::CannotOpen
                    | rusqlite::ErrorCode::NotADatabase
                    | rusqlite::ErrorCode::DatabaseCorrupt
                    | rusqlite::ErrorCode::SystemIoFailure
            ) =>
        {
            DbError::Unavailable(e.to_string())
        }
        _ => DbError::Query(e.to_string()),
    }
}

fn pg_error(e: tokio_postgres::Error) -> DbError {
    // 57014 query_canceled: statement_timeout fired.
    if e.code() == Some(&tokio_postgres::error::SqlState::QUERY_CANCELED) {
        return DbError::Timeout;
    }
    // The server going away or refusing connections for now: class 08 (connection
    // exceptions), 53 (insufficient resources: too many connections) and 57 (operator
    // intervention: shutting down, starting up).
    let transient = e.code().is_some_and(|c| {
        ["08", "53", "57"]
            .iter()
            .any(|class| c.code().starts_with(class))
    });
    if e.is_closed() || e.as_db_error().is_none() || transient {
        DbError::Unavailable(e.to_string())
    } else {
        DbError::Query(e.to_string())
    }
}

fn sqlite_params(sql: &Sql) -> Vec<rusqlite::types::Value> {
    use rusqlite::types::Value as V;
    sql.params()
        .iter()
        .map(|p| match p {
            Param::Int(v) => V::Integer(*v),
            Param::Float(v) => V::Real(*v),
            Param::Text(v) => V::Text(v.clone()),
            Param::Bool(v) => V::Integer(i64::from(*v)),
            Param::Date(d) => V::Text(d.format("%Y-%m-%d").to_string()),
            Param::DateTime(d) => V::Text(crate::tryton::format_timestamp(d)),
            Param::IntList(ids) => V::Text(format!(
                "[{}]",
                ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
            )),
        })
        .collect()
}

/// The rows of each statement; several are read in one transaction, so they see the same
/// state of the database and take its lock once.
fn sqlite_read<S: std::borrow::Borrow<Sql>>(
    conn: &rusqlite::Connection,
    sqls: &[S],
) -> Result<Vec<Vec<Row>>, DbError> {
    if let [one] = sqls {
        return Ok(vec![sqlite_query(conn, one.borrow())?]);
    }
    let run = |sql: &str| -> Result<(), DbError> {
        conn.prepare_cached(sql)
            .and_then(|mut s| s.execute([]))
            .map(|_| ())
            .map_err(sqlite_error)
    };
    run("BEGIN")?;
    let all: Result<Vec<Vec<Row>>, DbError> = sqls
        .iter()
        .map(|s| sqlite_query(conn, s.borrow()))
        .collect();
    all.and_then(|all| run("COMMIT").map(|()| all))
}

/// After a read: the connection out of any transaction a failed or interrupted read left
/// open (its progress handler already removed, so the rollback itself cannot be
/// interrupted). False if it could not be: the connection must be dropped.
fn end_read(conn: &rusqlite::Connection) -> bool {
    conn.is_autocommit() || (conn.execute_batch("ROLLBACK").is_ok() && conn.is_autocommit())
}

fn sqlite_query(conn: &rusqlite::Connection, sql: &Sql) -> Result<Vec<Row>, DbError> {
    use rusqlite::types::ValueRef;
    let mut stmt = conn.prepare_cached(sql.text()).map_err(sqlite_error)?;
    let ncol = stmt.column_count();
    let params = sqlite_params(sql);
    let mut rows = stmt
        .query(rusqlite::params_from_iter(params.iter()))
        .map_err(sqlite_error)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(sqlite_error)? {
        let mut vals = Vec::with_capacity(ncol);
        for i in 0..ncol {
            let v = match r.get_ref(i).map_err(sqlite_error)? {
                ValueRef::Null => Val::Null,
                ValueRef::Integer(v) => Val::Int(v),
                ValueRef::Real(v) => Val::Float(v),
                ValueRef::Text(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Val::Bytes(b.to_vec()),
            };
            vals.push(v);
        }
        out.push(Row(vals));
    }
    Ok(out)
}

fn pg_row(row: &tokio_postgres::Row) -> Result<Row, DbError> {
    let mut vals = Vec::with_capacity(row.len());
    for i in 0..row.len() {
        let v: PgVal = row
            .try_get(i)
            .map_err(|e| DbError::Query(format!("column {i}: {e}")))?;
        vals.push(v.0);
    }
    Ok(Row(vals))
}

/// Decodes any column type Tryton uses into a [`Val`].
struct PgVal(Val);

impl<'a> tokio_postgres::types::FromSql<'a> for PgVal {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let v = match *ty {
            Type::BOOL => Val::Bool(bool::from_sql(ty, raw)?),
            Type::INT2 => Val::Int(i16::from_sql(ty, raw)?.into()),
            Type::INT4 => Val::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT8 => Val::Int(i64::from_sql(ty, raw)?),
            Type::FLOAT4 => Val::Float(f32::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Val::Float(f64::from_sql(ty, raw)?),
            Type::NUMERIC => Val::Text(decode_numeric(raw)?),
            Type::DATE => Val::Text(NaiveDate::from_sql(ty, raw)?.format("%Y-%m-%d").to_string()),
            Type::TIMESTAMP => Val::Text(crate::tryton::format_timestamp(
                &NaiveDateTime::from_sql(ty, raw)?,
            )),
            Type::TIME => Val::Text(
                chrono::NaiveTime::from_sql(ty, raw)?
                    .format("%H:%M:%S")
                    .to_string(),
            ),
            Type::BYTEA => Val::Bytes(raw.to_vec()),
            Type::INTERVAL => Val::Null,
            _ => Val::Text(String::from_utf8_lossy(raw).into_owned()),
        };
        Ok(PgVal(v))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(PgVal(Val::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// PostgreSQL's binary NUMERIC as a decimal string.
fn decode_numeric(raw: &[u8]) -> Result<String, Box<dyn std::error::Error + Sync + Send>> {
    let word = |i: usize| -> Result<i16, Box<dyn std::error::Error + Sync + Send>> {
        raw.get(i..i + 2)
            .map(|b| i16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "short numeric".into())
    };
    let ndigits = word(0)?.max(0) as usize;
    let weight = word(2)? as i32;
    let sign = word(4)? as u16;
    let dscale = word(6)?.max(0) as usize;
    if sign == 0xC000 {
        return Ok("NaN".into());
    }
    let digits: Vec<i16> = (0..ndigits)
        .map(|k| word(8 + 2 * k))
        .collect::<Result<_, _>>()?;
    let mut int_part = String::new();
    for k in 0..=weight.max(-1) {
        let d = digits.get(k as usize).copied().unwrap_or(0);
        if int_part.is_empty() {
            int_part = d.to_string();
        } else {
            int_part.push_str(&format!("{d:04}"));
        }
    }
    if int_part.is_empty() {
        int_part.push('0');
    }
    let mut frac = String::new();
    let mut k = weight + 1;
    while frac.len() < dscale {
        let d = if k < 0 {
            0
        } else {
            digits.get(k as usize).copied().unwrap_or(0)
        };
        frac.push_str(&format!("{d:04}"));
        k += 1;
    }
    frac.truncate(dscale);
    let sign = if sign == 0x4000 { "-" } else { "" };
    Ok(if frac.is_empty() {
        format!("{sign}{int_part}")
    } else {
        format!("{sign}{int_part}.{frac}")
    })
}

impl ToSql for Param {
    /// Binds to whatever type PostgreSQL inferred for the placeholder, so one [`Param`]
    /// works against `integer`, `date`, `timestamp` or text columns alike.
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match (self, ty) {
            (Param::Int(v), &Type::INT2) => i16::try_from(*v)?.to_sql(ty, out),
            (Param::Int(v), &Type::INT4) => i32::try_from(*v)?.to_sql(ty, out),
            (Param::Int(v), &Type::INT8) => v.to_sql(ty, out),
            (Param::Int(v), &Type::FLOAT8) => (*v as f64).to_sql(ty, out),
            (Param::Float(v), &Type::FLOAT8) => v.to_sql(ty, out),
            (Param::Float(v), &Type::FLOAT4) => (*v as f32).to_sql(ty, out),
            (Param::Bool(v), _) => v.to_sql(ty, out),
            (Param::Date(d), &Type::TIMESTAMP) => {
                d.and_hms_opt(0, 0, 0).ok_or("bad date")?.to_sql(ty, out)
            }
            (Param::Date(d), _) => d.to_sql(ty, out),
            (Param::DateTime(d), &Type::DATE) => d.date().to_sql(ty, out),
            (Param::DateTime(d), _) => d.to_sql(ty, out),
            (Param::IntList(v), &Type::INT4_ARRAY) => {
                let v: Vec<i32> = v
                    .iter()
                    .map(|x| i32::try_from(*x))
                    .collect::<Result<_, _>>()?;
                v.to_sql(ty, out)
            }
            (Param::IntList(v), _) => v.to_sql(ty, out),
            (Param::Text(s), _) => s.as_str().to_sql(ty, out),
            (p, t) => Err(format!("cannot bind {p:?} as {t}").into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_per_dialect() {
        let mut s = Sql::new(Dialect::Postgres);
        s.push("SELECT 1 WHERE a = ").param(Param::Int(1));
        s.push(" AND ").in_ids("b", &[1, 2]);
        assert_eq!(s.text(), "SELECT 1 WHERE a = $1 AND b = ANY($2)");
        let mut s = Sql::new(Dialect::Sqlite);
        s.push("SELECT 1 WHERE a = ").param(Param::Int(1));
        s.push(" AND ").in_ids("b", &[1, 2]);
        assert_eq!(
            s.text(),
            "SELECT 1 WHERE a = ?1 AND b IN (SELECT value FROM json_each(?2))"
        );
        assert_eq!(s.params()[1], Param::Text("[1,2]".into()));
        // One id (a read): a plain comparison on both.
        for (dialect, text) in [(Dialect::Sqlite, "b = ?1"), (Dialect::Postgres, "b = $1")] {
            let mut s = Sql::new(dialect);
            s.in_ids("b", &[7]);
            assert_eq!((s.text(), s.params()), (text, &[Param::Int(7)][..]));
        }
    }

    /// Lists of 5 to 8 values give one statement text; the padding repeats the last value.
    #[test]
    fn param_lists_are_padded_to_a_power_of_two() {
        let list = |n: i64| {
            let mut s = Sql::new(Dialect::Sqlite);
            let values: Vec<Param> = (1..=n).map(Param::Int).collect();
            s.push("x IN (").param_list(&values).push(")");
            s
        };
        let five = list(5);
        assert_eq!(five.text(), "x IN (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
        assert_eq!(
            five.params()[4..],
            [Param::Int(5), Param::Int(5), Param::Int(5), Param::Int(5)]
        );
        assert_eq!(list(8).text(), five.text());
        assert_eq!(list(1).text(), "x IN (?1)");
        assert_eq!(list(0).text(), "x IN (NULL)");
    }

    /// For every ASCII prefix `v` of a text's fold, the folded start of the text and `v`
    /// are prefixes of one another, so the index range finds the text; and the start has
    /// at most `FOLDED_START` characters, so a value that long needs no range.
    #[test]
    fn sqlite_folded_start_agrees_with_fold() -> rusqlite::Result<()> {
        assert!(
            sqlite_fold_map()
                .iter()
                .all(|(_, f)| f.chars().count() <= 1)
        );
        let conn = rusqlite::Connection::open_in_memory()?;
        let sql = format!("SELECT {}", sqlite_folded_start("?1"));
        for s in [
            "GARCÍA",
            "Müller",
            "Mu\u{308}\u{301}ller",
            "ŁUKASZ",
            "Ørsted",
            "\u{212a}elvin",
            "İpek",
            "Straße",
            "O'Brien",
            "Дмитрий",
            "Jo",
            "ÆSIR",
            "",
        ] {
            let start: String = conn.query_row(&sql, [s], |r| r.get(0))?;
            assert!(start.chars().count() <= FOLDED_START, "{s}: {start}");
            let folded = fhir::search::fold(s);
            let ascii = folded.find(|c: char| !c.is_ascii()).unwrap_or(folded.len());
            for k in 1..=ascii {
                let v = &folded[..k];
                assert!(
                    v.starts_with(&start) || start.starts_with(v),
                    "{s}: {start} / {v}"
                );
            }
        }
        Ok(())
    }

    #[test]
    fn numeric_decoding() {
        // 28.10384: weight 0, digits [28, 1038, 4000], dscale 5
        let mut raw = Vec::new();
        for w in [3i16, 0, 0, 5, 28, 1038, 4000] {
            raw.extend_from_slice(&w.to_be_bytes());
        }
        assert_eq!(decode_numeric(&raw).ok().as_deref(), Some("28.10384"));
        // -15.5: sign 0x4000
        let mut raw = Vec::new();
        for w in [2i16, 0, 0x4000, 1, 15, 5000] {
            raw.extend_from_slice(&w.to_be_bytes());
        }
        assert_eq!(decode_numeric(&raw).ok().as_deref(), Some("-15.5"));
    }

    /// A database the pool accepts: the probe in `connect` reads `gnuhealth_patient`.
    fn tiny_database(name: &str) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("ghf-db-{name}-{}.sqlite", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let created = rusqlite::Connection::open(&path).and_then(|c| {
            c.execute_batch("CREATE TABLE gnuhealth_patient (id INTEGER PRIMARY KEY)")
        });
        assert!(created.is_ok(), "{created:?}");
        path
    }

    /// A statement counting to `n` with a recursive CTE: work that grows with `n`.
    fn count_to(db: &Database, n: u64) -> Sql {
        let mut sql = db.sql();
        sql.push(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
             SELECT COUNT(*) FROM n"
        ));
        sql
    }

    #[tokio::test]
    async fn sqlite_query_timeout_cancels_and_the_connection_stays_usable() {
        let path = tiny_database("timeout");
        let opts = DbOptions {
            query_timeout: Some(Duration::from_millis(1000)),
        };
        let url = format!("sqlite://{}", path.display());
        let db = match Database::connect_with(&url, opts).await {
            Ok(db) => db,
            Err(e) => panic!("{e}"),
        };
        // Counting to ten billion: minutes of work without the timeout.
        let started = Instant::now();
        let res = db.query(&count_to(&db, 10_000_000_000)).await;
        assert!(matches!(res, Err(DbError::Timeout)), "{res:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        // The interrupted connection went back to the pool (it is the one taken next) and
        // answers again: the old deadline does not linger on it. Counting to 100,000 takes
        // longer than a statement may run in place, so these too run on the pool.
        for _ in 0..3 {
            let rows = db.query(&count_to(&db, 100_000)).await;
            assert_eq!(rows.ok().map(|r| r[0].int(0)), Some(100_000));
        }
        // Quick statements run in place, on this thread's own connection.
        let mut quick = db.sql();
        quick.push("SELECT COUNT(*) FROM gnuhealth_patient");
        let rows = db.query(&quick).await;
        assert_eq!(rows.ok().map(|r| r[0].int(0)), Some(0));
        let _ = std::fs::remove_file(&path);
    }

    #[tokio::test]
    async fn a_read_too_long_to_run_in_place_is_read_again_on_the_pool() {
        let path = tiny_database("batch");
        let url = format!("sqlite://{}", path.display());
        let db = match Database::connect(&url).await {
            Ok(db) => db,
            Err(e) => panic!("{e}"),
        };
        let mut quick = db.sql();
        quick.push("SELECT COUNT(*) FROM gnuhealth_patient");
        let longer = count_to(&db, 100_000);
        // In place, the second statement is interrupted inside the read's transaction; the
        // connection must come out of it, or the next read on this thread fails.
        for _ in 0..3 {
            let counts = db
                .query_all(&[&quick, &longer])
                .await
                .map(|all| all.iter().map(|rows| rows[0].int(0)).collect::<Vec<_>>());
            assert_eq!(counts.ok(), Some(vec![0, 100_000]));
            let counts = db
                .query_all(&[&quick, &quick])
                .await
                .map(|all| all.iter().map(|rows| rows[0].int(0)).collect::<Vec<_>>());
            assert_eq!(counts.ok(), Some(vec![0, 0]));
        }
        let _ = std::fs::remove_file(&path);
    }

    #[tokio::test]
    async fn no_timeout_without_the_option() {
        let path = tiny_database("notimeout");
        let url = format!("sqlite://{}", path.display());
        let db = match Database::connect(&url).await {
            Ok(db) => db,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            db.query(&count_to(&db, 200_000))
                .await
                .ok()
                .map(|r| r[0].int(0)),
            Some(200_000)
        );
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn redacts_password() {
        assert_eq!(
            redact_url("postgresql://u:secret@h:5432/db"),
            "postgresql://u:***@h:5432/db"
        );
    }
}
