//! FHIR search → SQL. Parameters are validated against the resource's parameter table,
//! turned into one WHERE clause, and run as (1) a COUNT for `Bundle.total` and (2) one
//! keyset-paged query for the page's ids. Loading the page is the resource's batched
//! loader's job. Nothing is filtered or sorted in memory.

use chrono::{Duration, NaiveTime};
use fhir::search::{self as syntax, Bound, Cmp, DateCondition, DateTerm, StoredKind, TextMatch};

use crate::access::Policy;
use crate::db::{Database, DbError, Param, Sql};
use crate::resources::{Cond, Context, Kind, Path, ResourceDef, SearchParam, Stored};

/// Why a search cannot run.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The client's mistake: a 400 with this message.
    #[error("{0}")]
    BadRequest(String),
    /// The user's access rights do not allow it: a 403 with this message.
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Which page to fetch: rows strictly after or before a position (from a paging cursor).
/// A position holds the value of every sort term of a row, the key last (`None`: NULL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PagePos {
    First,
    After(Vec<Option<String>>),
    Before(Vec<Option<String>>),
}

/// One `_sort` key: a search parameter of the type (or `_id`, `_lastUpdated`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub name: String,
    pub descending: bool,
}

/// Parse `_sort` (`a,-b`): keys in order, `-` for descending.
pub fn parse_sort(def: &ResourceDef, value: &str) -> Result<Vec<SortKey>, SearchError> {
    value
        .split(',')
        .map(|k| {
            let k = k.trim();
            let (name, descending) = match k.strip_prefix('-') {
                Some(n) => (n, true),
                None => (k, false),
            };
            if sort_source(def, name).is_none() {
                return Err(SearchError::BadRequest(format!(
                    "_sort: '{name}' is not a parameter {} can be sorted by",
                    def.type_name
                )));
            }
            Ok(SortKey {
                name: name.to_owned(),
                descending,
            })
        })
        .collect()
}

/// A parsed, validated search.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// The parameters that take part (name with modifier, raw value), in request order;
    /// paging and result parameters (`_count`, cursors, `_format`) are not in here.
    pub params: Vec<(String, String)>,
    pub count: u32,
    pub pos: PagePos,
    /// The total found by the first page (paging cursors carry it), so later pages are not
    /// counted again.
    pub known_total: Option<u64>,
    /// Whether to count the matches at all (`_total=none` does not).
    pub count_total: bool,
    pub sort: Vec<SortKey>,
    /// The user's access rights: their record rules restrict the rows.
    pub policy: Option<std::sync::Arc<crate::access::Policy>>,
    /// Groups of parameters of which at least one must hold as a whole, AND-ed with
    /// `params` (a search URL cannot say "this OR that"; `$everything` needs "no care
    /// date, or one in the range").
    pub either: Vec<Vec<(String, String)>>,
}

impl SearchRequest {
    /// The first page of a search for `params`, counted, in key order.
    pub fn new(params: Vec<(String, String)>, count: u32) -> SearchRequest {
        SearchRequest {
            params,
            count,
            pos: PagePos::First,
            known_total: None,
            count_total: true,
            sort: Vec::new(),
            policy: None,
            either: Vec::new(),
        }
    }
}

/// One page of search results.
#[derive(Debug, Clone)]
pub struct SearchPage {
    pub total: Option<u64>,
    pub ids: Vec<String>,
    pub has_next: bool,
    pub has_previous: bool,
    /// Positions of the first and last row of the page (for the paging cursors).
    pub first: Vec<Option<String>>,
    pub last: Vec<Option<String>>,
}

/// How a sort term's values are bound when a cursor compares with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortValue {
    Int,
    Float,
    Text,
    Date,
    Timestamp,
}

/// One term of a search's order.
struct SortTerm {
    expr: String,
    descending: bool,
    value: SortValue,
    /// What the term is: a sort key's NULL flag, its value, or the resource's key.
    role: TermRole,
}

#[derive(Clone, Copy, PartialEq)]
enum TermRole {
    /// 0 for NULL, else 1: lets a cursor position compare NULLs. Selected and compared,
    /// but not in ORDER BY, where the value term says `NULLS FIRST`/`LAST` instead, so an
    /// index on the value can give the order.
    NullFlag,
    Value,
    Key,
}

/// The column or child value a sort key orders by, and how it is stored.
fn sort_source(def: &ResourceDef, name: &str) -> Option<(Path, SortValue)> {
    let (path, stored) = match name {
        "_id" => (
            Path::col(def.key, Stored::Code(crate::resources::System::None)),
            None,
        ),
        "_lastUpdated" => (Path::col(def.last_updated, Stored::Timestamp), None),
        _ => {
            let p = find_param(def, name)?;
            // The first path is the parameter's main value (e.g. a name's family part).
            let path = *p.paths.first()?;
            (path, Some(path.value))
        }
    };
    let value = match (name, stored) {
        ("_id", _) if def.key_is_text => SortValue::Text,
        ("_id", _) => SortValue::Int,
        ("_lastUpdated", _) => SortValue::Timestamp,
        (_, Some(Stored::Date)) => SortValue::Date,
        (_, Some(Stored::Timestamp)) => SortValue::Timestamp,
        (_, Some(Stored::Id | Stored::Bool)) => SortValue::Int,
        (_, Some(Stored::Number | Stored::Quantity { .. })) => SortValue::Float,
        (_, Some(_)) => SortValue::Text,
        (_, None) => return None,
    };
    Some((path, value))
}

/// The ORDER BY terms of a search: per sort key a NULL flag (NULLs first ascending, last
/// descending) and the value, then the key, so the order is total and stable and a cursor
/// can continue it.
fn sort_terms(
    sql: &Sql,
    def: &ResourceDef,
    sort: &[SortKey],
) -> Result<Vec<SortTerm>, SearchError> {
    let mut terms = Vec::new();
    for k in sort {
        let (path, value) = sort_source(def, &k.name).ok_or_else(|| {
            SearchError::BadRequest(format!("_sort: unknown parameter '{}'", k.name))
        })?;
        let mut expr = if matches!(path.value, Stored::Bool) {
            format!("(CASE WHEN {} THEN 1 ELSE 0 END)", sql.is_true(path.expr))
        } else {
            format!("({})", path.expr)
        };
        if let Some((from, on)) = path.join {
            // Several child rows: ascending uses the lowest value, descending the highest.
            let agg = if k.descending { "MAX" } else { "MIN" };
            let when = path.when.map(|w| format!(" AND {w}")).unwrap_or_default();
            expr = format!("(SELECT {agg}{expr} FROM {from} WHERE {on}{when})");
        }
        // Byte order for text on both backends (PostgreSQL would follow the database's
        // locale, SQLite compares bytes).
        if value == SortValue::Text && sql.dialect() == crate::db::Dialect::Postgres {
            expr = format!("({expr} COLLATE \"C\")");
        }
        terms.push(SortTerm {
            expr: format!("(CASE WHEN {expr} IS NULL THEN 0 ELSE 1 END)"),
            descending: k.descending,
            value: SortValue::Int,
            role: TermRole::NullFlag,
        });
        terms.push(SortTerm {
            expr,
            descending: k.descending,
            value,
            role: TermRole::Value,
        });
    }
    terms.push(SortTerm {
        expr: def.key.to_owned(),
        descending: false,
        value: if def.key_is_text {
            SortValue::Text
        } else {
            SortValue::Int
        },
        role: TermRole::Key,
    });
    Ok(terms)
}

fn sort_param(value: SortValue, text: &str) -> Result<Param, SearchError> {
    let bad = || SearchError::BadRequest("invalid paging cursor".into());
    Ok(match value {
        SortValue::Int => Param::Int(text.parse().map_err(|_| bad())?),
        SortValue::Float => Param::Float(text.parse().map_err(|_| bad())?),
        SortValue::Text => Param::Text(text.to_owned()),
        SortValue::Date => Param::Date(crate::tryton::parse_date(text).ok_or_else(bad)?),
        SortValue::Timestamp => {
            Param::DateTime(crate::tryton::parse_timestamp(text).ok_or_else(bad)?)
        }
    })
}

/// Rows strictly after (or before) `pos` in the order of `terms`.
fn keyset(
    sql: &mut Sql,
    terms: &[SortTerm],
    pos: &[Option<String>],
    after: bool,
) -> Result<(), SearchError> {
    if pos.len() != terms.len() {
        return Err(SearchError::BadRequest("invalid paging cursor".into()));
    }
    sql.push("(");
    let mut first = true;
    for (i, (term, value)) in terms.iter().zip(pos).enumerate() {
        // A NULL value equals every NULL row already singled out by its flag term.
        let Some(value) = value else { continue };
        if !first {
            sql.push(" OR ");
        }
        first = false;
        sql.push("(");
        for (t, v) in terms[..i].iter().zip(&pos[..i]) {
            if let Some(v) = v {
                sql.push(&t.expr).push(" = ");
                sql.param(sort_param(t.value, v)?);
                sql.push(" AND ");
            }
        }
        let greater = after != term.descending;
        sql.push(&term.expr)
            .push(if greater { " > " } else { " < " });
        sql.param(sort_param(term.value, value)?);
        sql.push(")");
    }
    if first {
        sql.push("1 = 0");
    }
    sql.push(")");
    // Implied by the above, but a range the database can start an index scan at (the
    // disjunction is not): rows on the "greater" side of a non-NULL first sort value are
    // all greater or equal, and the NULLs are all on the other side.
    if let ([flag, first, ..], [_, Some(value), ..]) = (terms, pos)
        && flag.role == TermRole::NullFlag
        && after != first.descending
    {
        sql.push(" AND ").push(&first.expr).push(" >= ");
        sql.param(sort_param(first.value, value)?);
    }
    Ok(())
}

/// Is `name` (without modifier) a parameter this resource type supports?
pub fn find_param<'a>(def: &'a ResourceDef, name: &str) -> Option<&'a SearchParam> {
    def.params.iter().find(|p| p.name == name)
}

/// Parameters every type supports, expressed over its key and last-update columns.
pub fn common_param(def: &ResourceDef, name: &str) -> Option<(Kind, Vec<Path>)> {
    match name {
        "_id" => Some((
            Kind::Token,
            vec![Path::col(
                def.key,
                Stored::Code(crate::resources::System::None),
            )],
        )),
        "_lastUpdated" => Some((
            Kind::Date,
            vec![Path::col(def.last_updated, Stored::Timestamp)],
        )),
        _ => None,
    }
}

/// The statement of one page: the sort terms of every row, keyset-positioned, one row more
/// than the page.
fn page_sql(
    db: &Database,
    def: &ResourceDef,
    ctx: &Context,
    req: &SearchRequest,
) -> Result<(Sql, Vec<SortTerm>), SearchError> {
    let mut page = db.sql();
    let terms = sort_terms(&page, def, &req.sort)?;
    page.push("SELECT ");
    for (i, t) in terms.iter().enumerate() {
        if i > 0 {
            page.push(", ");
        }
        page.push(&t.expr);
    }
    page.push(" FROM ").push(def.from);
    let filtered = with_where(&mut page, def, ctx, req)?;
    let (pos, after, reverse) = match &req.pos {
        PagePos::First => (None, true, false),
        PagePos::After(p) => (Some(p), true, false),
        PagePos::Before(p) => (Some(p), false, true),
    };
    if let Some(p) = pos {
        page.push(if filtered { " AND " } else { " WHERE " });
        keyset(&mut page, &terms, p, after)?;
    }
    page.push(" ORDER BY ");
    for (i, t) in terms
        .iter()
        .filter(|t| t.role != TermRole::NullFlag)
        .enumerate()
    {
        if i > 0 {
            page.push(", ");
        }
        // Backwards (a previous page): the whole order reversed, the rows put back after.
        let descending = t.descending != reverse;
        page.push(&t.expr)
            .push(if descending { " DESC" } else { " ASC" });
        if t.role == TermRole::Value {
            // As the NULL flag orders them: first ascending, last descending.
            page.push(if descending {
                " NULLS LAST"
            } else {
                " NULLS FIRST"
            });
        }
    }
    // One extra row tells whether another page exists; LIMIT is our own number, not input.
    page.push(&format!(" LIMIT {}", u64::from(req.count) + 1));
    Ok((page, terms))
}

/// The statement counting every match: over the type's [`crate::resources::CountFrom`] when the
/// conditions allow it.
fn count_sql(
    db: &Database,
    def: &ResourceDef,
    ctx: &Context,
    req: &SearchRequest,
) -> Result<Sql, SearchError> {
    if let Some(rows) = &def.count_from {
        let mut count = db.sql();
        count
            .push("SELECT COALESCE(SUM(r.n), 0) FROM ")
            .push(rows.from);
        let head = count.text().len();
        with_where(&mut count, def, ctx, req)?;
        if names_only(&count.text()[head..], rows.columns) {
            return Ok(count);
        }
    }
    let mut count = db.sql();
    count.push("SELECT COUNT(*) FROM ").push(def.from);
    with_where(&mut count, def, ctx, req)?;
    Ok(count)
}

/// Does every column of `r` that `sql` names (as `r.column`) belong to `columns`?
fn names_only(sql: &str, columns: &[&str]) -> bool {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    sql.match_indices("r.").all(|(at, _)| {
        // `pr.x`, `"r".x`, `a.r.x`: another alias, not `r`.
        if sql[..at]
            .chars()
            .next_back()
            .is_some_and(|c| is_word(c) || c == '.' || c == '"')
        {
            return true;
        }
        let rest = &sql[at + 2..];
        let name = &rest[..rest.find(|c: char| !is_word(c)).unwrap_or(rest.len())];
        columns.contains(&name)
    })
}

/// The database's query plans for a search's page and count statements (the `explain`
/// command shows them, to check which indexes a search uses).
pub async fn explain(
    db: &Database,
    def: &ResourceDef,
    ctx: &Context,
    req: &SearchRequest,
) -> Result<Vec<(String, Vec<String>)>, SearchError> {
    let (page, _) = page_sql(db, def, ctx, req)?;
    let count = count_sql(db, def, ctx, req)?;
    let mut out = Vec::new();
    for sql in [page, count] {
        let plan = sql.prefixed(match db.dialect() {
            crate::db::Dialect::Sqlite => "EXPLAIN QUERY PLAN ",
            crate::db::Dialect::Postgres => "EXPLAIN ",
        });
        let rows = db.query(&plan).await?;
        let lines = rows
            .iter()
            .map(|r| {
                (0..r.0.len())
                    .filter_map(|i| r.opt_text(i))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        out.push((sql.text().to_owned(), lines));
    }
    Ok(out)
}

/// Run a search: total count and one page of ids.
pub async fn search(
    db: &Database,
    def: &ResourceDef,
    ctx: &Context,
    req: &SearchRequest,
) -> Result<SearchPage, SearchError> {
    let (page, terms) = page_sql(db, def, ctx, req)?;
    let rows = if req.count == 0 {
        Vec::new()
    } else {
        db.query(&page).await?
    };
    // Later pages reuse the first page's total. (Counting inside the page query with
    // `COUNT(*) OVER ()` was measured slower: it stops the page from being read in key
    // order with an early LIMIT.)
    let total = match (req.known_total, req.count_total) {
        (Some(t), _) => Some(t),
        (None, false) => None,
        (None, true) => {
            let count = count_sql(db, def, ctx, req)?;
            let n = db.query(&count).await?.first().map_or(0, |r| r.int(0));
            Some(n.max(0) as u64)
        }
    };
    let key = terms.len() - 1;
    let mut positions: Vec<Vec<Option<String>>> = rows
        .iter()
        .filter(|r| r.opt_text(key).is_some())
        .map(|r| (0..terms.len()).map(|i| r.opt_text(i)).collect())
        .collect();
    let more = positions.len() > req.count as usize;
    positions.truncate(req.count as usize);
    let (has_next, has_previous) = match req.pos {
        PagePos::First => (more, false),
        PagePos::After(_) => (more, true),
        PagePos::Before(_) => {
            positions.reverse();
            (true, more)
        }
    };
    Ok(SearchPage {
        total,
        ids: positions
            .iter()
            .filter_map(|p| p.get(key).cloned().flatten())
            .collect(),
        has_next,
        has_previous,
        first: positions.first().cloned().unwrap_or_default(),
        last: positions.last().cloned().unwrap_or_default(),
    })
}

/// Append ` WHERE …` when there is any condition (filter, parameters, record rules);
/// tells whether there was.
fn with_where(
    sql: &mut Sql,
    def: &ResourceDef,
    ctx: &Context,
    req: &SearchRequest,
) -> Result<bool, SearchError> {
    let policy = req.policy.as_deref();
    let rules = policy.is_some_and(|p| p.has_rules(def));
    if def.filter.is_empty() && req.params.is_empty() && req.either.is_empty() && !rules {
        return Ok(false);
    }
    sql.push(" WHERE ");
    conditions(sql, def, ctx, &req.params, policy, 0)?;
    if !req.either.is_empty() {
        sql.push(" AND (");
        for (i, group) in req.either.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push("(");
            for (j, (key, value)) in group.iter().enumerate() {
                if j > 0 {
                    sql.push(" AND ");
                }
                key_condition(sql, def, ctx, policy, key, value, 0)?;
            }
            if group.is_empty() {
                sql.push("1 = 1");
            }
            sql.push(")");
        }
        sql.push(")");
    }
    Ok(true)
}

/// Build the WHERE clause (without the keyword) for the static filter and all parameters.
pub fn where_clause(
    sql: &mut Sql,
    def: &ResourceDef,
    ctx: &Context,
    params: &[(String, String)],
) -> Result<(), SearchError> {
    conditions(sql, def, ctx, params, None, 0)
}

/// How deep chains and `_has` may nest.
const MAX_CHAIN_DEPTH: usize = 4;

/// Is `key` a search key of `def`: a parameter (with any modifier), a common one, a chain
/// (`param.x`, `param:Type.x`) or a reverse chain (`_has:…`)? Chains are checked fully when
/// the SQL is built.
pub fn is_search_key(def: &ResourceDef, key: &str) -> bool {
    if key.starts_with("_has:") {
        return true;
    }
    let head = key.split_once('.').map_or(key, |(h, _)| h);
    let name = syntax::parse_key(head).name;
    find_param(def, &name).is_some() || common_param(def, &name).is_some()
}

/// The parameter a search key reads first (`patient` of `patient.name`); `_has` reads none
/// of `def`'s own.
pub fn key_param(key: &str) -> Option<String> {
    if key.starts_with("_has:") {
        return None;
    }
    let head = key.split_once('.').map_or(key, |(h, _)| h);
    Some(syntax::parse_key(head).name)
}

/// Filter, parameters and (with a policy) the user's record rules of `def`, AND-ed.
fn conditions(
    sql: &mut Sql,
    def: &ResourceDef,
    ctx: &Context,
    params: &[(String, String)],
    policy: Option<&Policy>,
    depth: usize,
) -> Result<(), SearchError> {
    let mut first = true;
    let mut and = |sql: &mut Sql| {
        if !first {
            sql.push(" AND ");
        }
        first = false;
    };
    for c in def.filter {
        and(sql);
        match c {
            Cond::Sql(s) => sql.push(s),
            Cond::IsTrue(e) => {
                let t = sql.is_true(e);
                sql.push(&t)
            }
            Cond::IsFalse(e) => {
                let t = sql.is_true(e);
                sql.push(&format!("NOT ({t})"))
            }
        };
    }
    for (key, value) in params {
        and(sql);
        key_condition(sql, def, ctx, policy, key, value, depth)?;
    }
    let mut none = first;
    if let Some(p) = policy {
        p.push_rule_conditions(def, sql, &mut none);
    }
    if none {
        sql.push("1 = 1");
    }
    Ok(())
}

/// The served type a chain or `_has` leads to, if the user may search it by `param`.
fn reachable(
    type_name: &str,
    policy: Option<&Policy>,
    param: Option<&str>,
) -> Result<&'static ResourceDef, SearchError> {
    let def = crate::registry::find(type_name).ok_or_else(|| {
        SearchError::BadRequest(format!("resource type '{type_name}' is not served here"))
    })?;
    if let Some(p) = policy {
        p.check_type(def).map_err(|r| {
            SearchError::Forbidden(format!(
                "{} cannot be searched: the user {r}",
                def.type_name
            ))
        })?;
        if let Some(name) = param
            && p.denied_params(def).contains(&name)
        {
            return Err(SearchError::Forbidden(format!(
                "{}.{name} reads a field the user may not read",
                def.type_name
            )));
        }
    }
    Ok(def)
}

/// One search key's condition: a parameter, a chain (`subject:Patient.name=x`: the
/// reference is one of the Patients whose name matches) or a reverse chain
/// (`_has:Observation:patient:code=x`: some Observation with that code refers to the row),
/// nested up to [`MAX_CHAIN_DEPTH`]. The rows reached obey the user's access rights too.
fn key_condition(
    sql: &mut Sql,
    def: &ResourceDef,
    ctx: &Context,
    policy: Option<&Policy>,
    key: &str,
    value: &str,
    depth: usize,
) -> Result<(), SearchError> {
    if depth >= MAX_CHAIN_DEPTH {
        return Err(SearchError::BadRequest(format!(
            "'{key}': chains nest at most {MAX_CHAIN_DEPTH} levels"
        )));
    }
    if let Some(rest) = key.strip_prefix("_has:") {
        let mut parts = rest.splitn(3, ':');
        let (Some(other_type), Some(ref_name), Some(inner)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(SearchError::BadRequest(format!(
                "'{key}': _has needs _has:Type:reference:parameter"
            )));
        };
        let other = reachable(other_type, policy, Some(ref_name))?;
        let reference = find_param(other, ref_name)
            .filter(|p| p.kind == Kind::Reference && p.targets.contains(&def.type_name))
            .ok_or_else(|| {
                SearchError::BadRequest(format!(
                    "'{key}': {other_type} has no reference parameter '{ref_name}' to {}",
                    def.type_name
                ))
            })?;
        let paths: Vec<&Path> = reference
            .paths
            .iter()
            .filter(|p| p.refers_to(def.type_name))
            .collect();
        sql.push("(");
        for (i, path) in paths.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            // Child rows as a second FROM item joined in WHERE (their FROM may itself be
            // a join).
            let (from, on) = match path.join {
                None => (other.from.to_owned(), None),
                Some((child, on)) => (format!("{}, {child}", other.from), Some(on)),
            };
            sql.push(def.key)
                .push(" IN (SELECT ")
                .push(path.expr)
                .push(" FROM ")
                .push(&from)
                .push(" WHERE ");
            if let Some(on) = on {
                sql.push(on).push(" AND ");
            }
            if let Some(w) = path.when {
                sql.push(w).push(" AND ");
            }
            let inner_params = [(inner.to_owned(), value.to_owned())];
            conditions(sql, other, ctx, &inner_params, policy, depth + 1)?;
            sql.push(")");
        }
        if paths.is_empty() {
            sql.push("1 = 0");
        }
        sql.push(")");
        return Ok(());
    }
    if let Some((head, rest)) = key.split_once('.') {
        let k = syntax::parse_key(head);
        let reference = find_param(def, &k.name)
            .filter(|p| p.kind == Kind::Reference)
            .ok_or_else(|| {
                SearchError::BadRequest(format!(
                    "'{key}': '{}' is not a reference parameter of {}",
                    k.name, def.type_name
                ))
            })?;
        let served: Vec<&str> = reference
            .targets
            .iter()
            .copied()
            .filter(|t| crate::registry::find(t).is_some())
            .collect();
        let target_name = match (k.modifier.as_deref(), served.as_slice()) {
            (Some(t), _) if reference.targets.contains(&t) => t,
            (Some(t), _) => {
                return Err(SearchError::BadRequest(format!(
                    "'{key}': '{}' does not refer to {t}",
                    k.name
                )));
            }
            (None, [only]) => only,
            (None, _) => {
                return Err(SearchError::BadRequest(format!(
                    "'{key}': name the type the chain goes through, e.g. {}:{}.{rest}",
                    k.name,
                    served.first().copied().unwrap_or("Patient")
                )));
            }
        };
        let rest_name = key_param(rest).unwrap_or_default();
        let target = reachable(target_name, policy, Some(&rest_name))?;
        let paths: Vec<Path> = reference
            .paths
            .iter()
            .filter(|p| p.refers_to(target_name))
            .copied()
            .collect();
        return any_path(sql, &paths, |sql, p| {
            sql.push(p.expr)
                .push(" IN (SELECT ")
                .push(target.key)
                .push(" FROM ")
                .push(target.from)
                .push(" WHERE ");
            let inner_params = [(rest.to_owned(), value.to_owned())];
            conditions(sql, target, ctx, &inner_params, policy, depth + 1)?;
            sql.push(")");
            Ok(())
        });
    }
    let k = syntax::parse_key(key);
    // `subject:identifier=…` is the chain `subject.identifier=…`.
    if k.modifier.as_deref() == Some("identifier")
        && find_param(def, &k.name).is_some_and(|p| p.kind == Kind::Reference)
    {
        let chain = format!("{}.identifier", k.name);
        return key_condition(sql, def, ctx, policy, &chain, value, depth);
    }
    if let Some(p) = find_param(def, &k.name).filter(|p| p.kind == Kind::Composite) {
        return composite_condition(
            sql,
            def,
            ctx,
            policy,
            p,
            k.modifier.as_deref(),
            value,
            depth,
        );
    }
    let (kind, paths, targets): (Kind, Vec<Path>, &[&str]) = match find_param(def, &k.name) {
        Some(p) => (p.kind, p.paths.to_vec(), p.targets),
        None => match common_param(def, &k.name) {
            Some((kind, paths)) => (kind, paths, &[]),
            None => {
                return Err(SearchError::BadRequest(format!(
                    "unknown search parameter '{}' for {}",
                    k.name, def.type_name
                )));
            }
        },
    };
    if depth > 0
        && let Some(p) = policy
        && p.denied_params(def).contains(&k.name.as_str())
    {
        return Err(SearchError::Forbidden(format!(
            "{}.{} reads a field the user may not read",
            def.type_name, k.name
        )));
    }
    let id_hint = k.name == "_id" && k.modifier.is_none() && !def.id_rows.is_empty();
    if id_hint {
        sql.push("(");
    }
    param_condition(
        sql,
        ctx,
        &k.name,
        k.modifier.as_deref(),
        kind,
        &paths,
        targets,
        value,
    )?;
    if id_hint {
        let ids: Vec<String> = syntax::split_unescaped(value, ',')
            .into_iter()
            .map(|v| v.rsplit('|').next().unwrap_or(v).to_owned())
            .collect();
        sql.push(" AND ");
        push_id_rows(sql, def, &ids);
        sql.push(")");
    }
    Ok(())
}

/// `key IN (ids)` for the FHIR ids of `def`; for text keys of a union with row ids
/// ([`ResourceDef::id_rows`]) also the condition on those, which the database answers from
/// the branches' keys.
pub fn push_key_in(sql: &mut Sql, def: &ResourceDef, ids: &[String]) {
    if !def.key_is_text {
        sql.in_ids(def.key, &crate::resources::int_ids(ids));
        return;
    }
    let keys: Vec<Param> = ids.iter().map(|id| Param::Text(id.clone())).collect();
    sql.push(def.key).push(" IN (").param_list(&keys).push(")");
    if !def.id_rows.is_empty() {
        sql.push(" AND ");
        push_id_rows(sql, def, ids);
    }
}

/// `ids` split by the branch of `def` they name (per [`ResourceDef::id_rows`] prefix, ids
/// that fit none dropped: they cannot exist); all together for other types.
pub fn id_groups(def: &ResourceDef, ids: &[String]) -> Vec<Vec<String>> {
    if def.id_rows.is_empty() {
        return vec![ids.to_vec()];
    }
    let mut groups: Vec<Vec<String>> = vec![Vec::new(); def.id_rows.len()];
    for id in ids {
        // The longest prefix that fits: `eval-` before the bare digits of `""`.
        let fits = |prefix: &str| match id.strip_prefix(prefix) {
            Some(rest) if prefix.is_empty() => rest.bytes().all(|b| b.is_ascii_digit()),
            Some(rest) => rest.bytes().next().is_some_and(|b| b.is_ascii_digit()),
            None => false,
        };
        if let Some(i) = def.id_rows.iter().position(|(prefix, _)| fits(prefix)) {
            groups[i].push(id.clone());
        }
    }
    groups.retain(|g| !g.is_empty());
    groups
}

/// The row ids that FHIR ids of `def` name, per [`ResourceDef::id_rows`] column: an
/// indexable condition implied by `key IN (ids)` (`1 = 0` when no id fits).
pub fn push_id_rows(sql: &mut Sql, def: &ResourceDef, ids: &[String]) {
    let mut first = true;
    for (prefix, column) in def.id_rows {
        let mut rows: Vec<i64> = ids
            .iter()
            .filter_map(|id| {
                let rest = id.strip_prefix(prefix)?;
                let digits = rest.split('-').next().unwrap_or(rest);
                // A bare id (prefix "") is only digits; a prefixed one may go on after '-'.
                if prefix.is_empty() && digits.len() != rest.len() {
                    return None;
                }
                digits.parse().ok()
            })
            .collect();
        // A vital-sign row holds a dozen Observations: its id once.
        rows.sort_unstable();
        rows.dedup();
        let rows: Vec<Param> = rows.into_iter().map(Param::Int).collect();
        if rows.is_empty() {
            continue;
        }
        sql.push(if first { "(" } else { " OR " });
        first = false;
        // Placeholders, not a bound array: the database pushes each into the union's
        // branches, where `NULL IN (?1, ?2)` skips the branches whose column is NULL.
        if column.contains("{ids}") {
            sql.push("(");
            for (i, part) in column.split("{ids}").enumerate() {
                if i > 0 {
                    sql.param_list(&rows);
                }
                sql.push(part);
            }
            sql.push(")");
        } else {
            sql.push(column).push(" IN (").param_list(&rows).push(")");
        }
    }
    sql.push(if first { "1 = 0" } else { ")" });
}

/// A composite: `a$b,c$d` is (a AND b) OR (c AND d), each part a value of the component
/// parameter at its position.
#[allow(clippy::too_many_arguments)]
fn composite_condition(
    sql: &mut Sql,
    def: &ResourceDef,
    ctx: &Context,
    policy: Option<&Policy>,
    p: &SearchParam,
    modifier: Option<&str>,
    value: &str,
    depth: usize,
) -> Result<(), SearchError> {
    let bad = |msg: String| SearchError::BadRequest(format!("parameter '{}': {msg}", p.name));
    if let Some(m) = modifier {
        return Err(bad(format!(
            "modifier ':{m}' is not supported for a composite"
        )));
    }
    sql.push("(");
    for (i, alternative) in syntax::split_unescaped(value, ',').into_iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        let parts = syntax::split_unescaped(alternative, '$');
        if parts.len() != p.components.len() {
            return Err(bad(format!(
                "'{alternative}' needs {} parts separated by $ ({})",
                p.components.len(),
                p.components.join(", ")
            )));
        }
        sql.push("(");
        for (k, (component, part)) in p.components.iter().zip(parts).enumerate() {
            if k > 0 {
                sql.push(" AND ");
            }
            key_condition(sql, def, ctx, policy, component, part, depth)?;
        }
        sql.push(")");
    }
    sql.push(")");
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn param_condition(
    sql: &mut Sql,
    ctx: &Context,
    name: &str,
    modifier: Option<&str>,
    kind: Kind,
    paths: &[Path],
    targets: &[&str],
    value: &str,
) -> Result<(), SearchError> {
    let bad = |msg: String| SearchError::BadRequest(format!("parameter '{name}': {msg}"));
    if modifier == Some("missing") {
        let missing = syntax::parse_bool(value).map_err(|e| bad(e.to_string()))?;
        sql.push(if missing { "NOT (" } else { "(" });
        any_path(sql, paths, |sql, p| {
            sql.push(p.expr).push(" IS NOT NULL");
            Ok(())
        })?;
        sql.push(")");
        return Ok(());
    }
    let allowed: &[&str] = match kind {
        Kind::String => &["exact", "contains"],
        Kind::Token => &["not", "text", "of-type"],
        Kind::Date | Kind::Reference | Kind::Number | Kind::Quantity | Kind::Composite => &[],
    };
    let mut ref_type = None;
    if let Some(m) = modifier {
        if kind == Kind::Reference && targets.contains(&m) {
            ref_type = Some(m);
        } else if !allowed.contains(&m) {
            return Err(bad(format!(
                "modifier ':{m}' is not supported for a {} parameter",
                kind.as_str()
            )));
        }
    }
    if value.is_empty() {
        return Err(bad("empty value".into()));
    }
    match modifier {
        Some("text") => return text_condition(sql, paths, value).map_err(bad),
        Some("of-type") => return of_type_condition(sql, ctx, paths, value).map_err(bad),
        _ => {}
    }
    let values = syntax::split_or(value);
    let negate = modifier == Some("not");
    if negate {
        sql.push("NOT ");
    }
    sql.push("(");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        match kind {
            Kind::String => string_condition(sql, paths, modifier, &syntax::unescape(v))?,
            Kind::Token => token_condition(sql, ctx, paths, v).map_err(|e| bad(e.to_string()))?,
            Kind::Date => {
                date_condition(sql, paths, &syntax::unescape(v)).map_err(|e| bad(e.to_string()))?
            }
            Kind::Reference => {
                let r = syntax::parse_reference(&syntax::unescape(v), ref_type)
                    .map_err(|e| bad(e.to_string()))?;
                reference_condition(sql, paths, targets, &r)?
            }
            Kind::Number => {
                let (prefix, digits) = syntax::split_prefix(v);
                let n = fhir::number::parse_number(digits).map_err(|e| bad(e.to_string()))?;
                any_path(sql, paths, |sql, p| {
                    number_terms(sql, p.expr, &fhir::number::number_condition(prefix, &n));
                    Ok(())
                })?
            }
            Kind::Quantity => {
                let q = fhir::number::parse_quantity(v).map_err(|e| bad(e.to_string()))?;
                quantity_condition(sql, paths, &q)?
            }
            Kind::Composite => return Err(bad("a composite value cannot be used here".into())),
        }
    }
    sql.push(")");
    Ok(())
}

/// The `(from, on)` of a path in child rows, or `None` for the main row.
type ChildJoin = Option<(&'static str, &'static str)>;

/// `(path1 OR path2 …)`. Paths in the same child table share one sub-select, so the child
/// rows are read once however many of their columns are searched; child tables reached
/// from the same outer column share one `outer IN (SELECT … UNION ALL SELECT …)`, so the
/// database can start from the matching child rows (through their indexes) instead of
/// testing every parent row against each sub-select in turn.
fn any_path(
    sql: &mut Sql,
    paths: &[Path],
    mut f: impl FnMut(&mut Sql, &Path) -> Result<(), SearchError>,
) -> Result<(), SearchError> {
    let mut groups: Vec<(ChildJoin, Vec<&Path>)> = Vec::new();
    for p in paths {
        match groups.iter_mut().find(|(j, _)| j.is_some() && *j == p.join) {
            Some((_, members)) => members.push(p),
            None => groups.push((p.join, vec![p])),
        }
    }
    // What each group becomes; semi-joins on one outer column go together.
    enum Unit<'a> {
        /// `outer IN (SELECT inner FROM from WHERE rest …)` per (from, inner, rest, paths).
        In(
            &'a str,
            Vec<(&'a str, &'a str, Vec<&'a str>, &'a [&'a Path])>,
        ),
        Exists(&'a str, &'a str, &'a [&'a Path]),
        Plain(&'a [&'a Path]),
    }
    let mut units: Vec<Unit> = Vec::new();
    for (join, members) in &groups {
        let unit = match join {
            // Uncorrelated: the child table is read once, not probed per parent row
            // (SQLite has no statistics on GNU Health's tables to find that plan alone).
            Some((from, on)) => match semi_join(from, on) {
                Some((inner, outer, rest)) => {
                    let branch = (*from, inner, rest, members.as_slice());
                    if let Some(Unit::In(_, branches)) = units
                        .iter_mut()
                        .find(|u| matches!(u, Unit::In(o, _) if *o == outer))
                    {
                        branches.push(branch);
                        continue;
                    }
                    Unit::In(outer, vec![branch])
                }
                None => Unit::Exists(from, on, members.as_slice()),
            },
            None => Unit::Plain(members.as_slice()),
        };
        units.push(unit);
    }
    let mut members_or = |sql: &mut Sql, members: &[&Path]| -> Result<(), SearchError> {
        for (k, p) in members.iter().enumerate() {
            if k > 0 {
                sql.push(" OR ");
            }
            sql.push("(");
            if let Some(w) = p.when {
                sql.push(w).push(" AND ");
            }
            f(sql, p)?;
            sql.push(")");
        }
        Ok(())
    };
    sql.push("(");
    for (i, unit) in units.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        match unit {
            Unit::In(outer, branches) => {
                sql.push("(")
                    .push(outer)
                    .push(" IS NOT NULL AND ")
                    .push(outer)
                    .push(" IN (");
                for (b, (from, inner, rest, members)) in branches.iter().enumerate() {
                    if b > 0 {
                        sql.push(" UNION ALL ");
                    }
                    sql.push("SELECT ")
                        .push(inner)
                        .push(" FROM ")
                        .push(from)
                        .push(" WHERE ")
                        .push(inner)
                        .push(" IS NOT NULL");
                    for term in rest {
                        sql.push(" AND ").push(term);
                    }
                    sql.push(" AND (");
                    members_or(sql, members)?;
                    sql.push(")");
                }
                sql.push("))");
            }
            Unit::Exists(from, on, members) => {
                sql.push("EXISTS (SELECT 1 FROM ")
                    .push(from)
                    .push(" WHERE ")
                    .push(on)
                    .push(" AND (");
                members_or(sql, members)?;
                sql.push("))");
            }
            Unit::Plain(members) => {
                sql.push("(");
                members_or(sql, members)?;
                sql.push(")");
            }
        }
    }
    if paths.is_empty() {
        sql.push("1 = 0");
    }
    sql.push(")");
    Ok(())
}

/// When `on` reads `child.col = outer [AND terms on the child tables only]`, the pieces of
/// the equivalent `outer IN (SELECT child.col FROM from WHERE terms …)`; `None` when the
/// join is correlated in any other way (then `EXISTS` is used).
fn semi_join<'a>(from: &str, on: &'a str) -> Option<(&'a str, &'a str, Vec<&'a str>)> {
    // Aliases of the child tables: the word after the first table and after each JOINed one.
    let words: Vec<&str> = from.split_whitespace().collect();
    let mut aliases: Vec<&str> = words.get(1).copied().into_iter().collect();
    for (i, w) in words.iter().enumerate() {
        if w.eq_ignore_ascii_case("JOIN")
            && let Some(a) = words.get(i + 2)
        {
            aliases.push(a);
        }
    }
    let only_child = |expr: &str| qualifiers(expr).iter().all(|q| aliases.contains(q));
    let mut terms = on.split(" AND ");
    let (inner, outer) = terms.next()?.split_once(" = ")?;
    let (inner, outer) = (inner.trim(), outer.trim());
    let rest: Vec<&str> = terms.collect();
    let outer_is_outside = qualifiers(outer).iter().all(|q| !aliases.contains(q));
    (!qualifiers(inner).is_empty()
        && only_child(inner)
        && outer_is_outside
        && rest.iter().all(|t| only_child(t)))
    .then_some((inner, outer, rest))
}

/// The table qualifiers (`x` of `x.col`) an SQL expression mentions.
fn qualifiers(expr: &str) -> Vec<&str> {
    let bytes = expr.as_bytes();
    let mut out = Vec::new();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'.' {
            let start = expr[..i]
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(0, |k| k + 1);
            if start < i {
                out.push(&expr[start..i]);
            }
        }
    }
    out
}

fn string_condition(
    sql: &mut Sql,
    paths: &[Path],
    modifier: Option<&str>,
    v: &str,
) -> Result<(), SearchError> {
    any_path(sql, paths, |sql, p| {
        let words = matches!(p.value, Stored::Words);
        match modifier {
            Some("exact") if words => {
                // One of the space-separated values, exactly (case-sensitive).
                let spaced = format!("(' ' || {} || ' ')", p.expr);
                let pos = sql.position_of(&spaced);
                sql.push(&pos);
                sql.param(Param::Text(format!(" {v} ")));
                sql.push(") > 0");
            }
            Some("exact") => {
                sql.push(p.expr).push(" = ");
                sql.param(Param::Text(v.to_owned()));
            }
            Some("contains") => {
                sql.text_match(p.expr, v, TextMatch::Contains);
            }
            _ if words => {
                sql.text_match(p.expr, v, TextMatch::WordPrefix);
            }
            _ => {
                sql.text_match(p.expr, v, TextMatch::Prefix);
                if let Some((from, _)) = p.join
                    && let Some(ix) = crate::indexes::SUGGESTED
                        .iter()
                        .find(|ix| ix.folds(from, p.expr))
                {
                    sql.folded_prefix_range(p.expr, v, &ix.name());
                }
            }
        }
        Ok(())
    })
}

fn token_condition(
    sql: &mut Sql,
    ctx: &Context,
    paths: &[Path],
    v: &str,
) -> Result<(), syntax::SyntaxError> {
    let t = syntax::parse_token(v)?;
    // Keep only the paths whose system agrees with the searched one.
    let matching: Vec<Path> = paths
        .iter()
        .filter(|p| {
            let sys = match p.value {
                Stored::Code(s) | Stored::Mapped(s, _) => s.resolve(ctx),
                _ => None,
            };
            match t.system.as_deref() {
                None => true,
                Some("") => sys.is_none(),
                Some(s) => sys.as_deref() == Some(s),
            }
        })
        .copied()
        .collect();
    let code = t.code.clone();
    let r = any_path(sql, &matching, |sql, p| {
        match (&p.value, &code) {
            (_, None) => {
                sql.push(p.expr).push(" IS NOT NULL");
            }
            (Stored::Bool, Some(c)) => {
                let truth =
                    syntax::parse_bool(c).map_err(|e| SearchError::BadRequest(e.to_string()))?;
                let t = sql.is_true(p.expr);
                if truth {
                    sql.push(&t);
                } else {
                    sql.push(&format!("NOT ({t})"));
                }
            }
            (Stored::Mapped(_, table), Some(c)) => {
                let stored: Vec<&str> = table
                    .iter()
                    .filter(|(fhir, _)| fhir == c)
                    .flat_map(|(_, s)| s.iter().copied())
                    .collect();
                if stored.is_empty() {
                    sql.push("1 = 0");
                } else {
                    sql.push(p.expr).push(" IN (");
                    for (i, s) in stored.iter().enumerate() {
                        if i > 0 {
                            sql.push(", ");
                        }
                        sql.param(Param::Text((*s).to_owned()));
                    }
                    sql.push(")");
                }
            }
            (Stored::Id, Some(c)) => match c.parse::<i64>() {
                Ok(n) => {
                    sql.push(p.expr).push(" = ");
                    sql.param(Param::Int(n));
                }
                Err(_) => {
                    sql.push("1 = 0");
                }
            },
            (Stored::Code(_), Some(c)) if p.expr.ends_with(".id") || p.expr == "r.id" => {
                match c.parse::<i64>() {
                    Ok(n) => {
                        sql.push(p.expr).push(" = ");
                        sql.param(Param::Int(n));
                    }
                    Err(_) => {
                        sql.push("1 = 0");
                    }
                }
            }
            (_, Some(c)) => {
                sql.push(p.expr).push(" = ");
                sql.param(Param::Text(c.clone()));
            }
        }
        Ok(())
    });
    r.map_err(|e| syntax::SyntaxError(e.to_string()))
}

fn reference_condition(
    sql: &mut Sql,
    paths: &[Path],
    targets: &[&str],
    r: &syntax::ReferenceValue,
) -> Result<(), SearchError> {
    let type_ok = r
        .resource_type
        .as_deref()
        .is_none_or(|t| targets.contains(&t));
    if !type_ok {
        sql.push("1 = 0");
        return Ok(());
    }
    let int_id = r.id.parse::<i64>().ok();
    // `Patient/5` is not practitioner 5 when the type has both in separate columns.
    let paths: Vec<Path> = paths
        .iter()
        .filter(|p| r.resource_type.as_deref().is_none_or(|t| p.refers_to(t)))
        .copied()
        .collect();
    any_path(sql, &paths, |sql, p| {
        match (p.value, int_id) {
            // A text id: the target's rows come from several tables (`Location/ward-3`).
            (Stored::Text, _) => {
                sql.push(p.expr).push(" = ");
                sql.param(Param::Text(r.id.clone()));
            }
            (_, Some(id)) => {
                sql.push(p.expr).push(" = ");
                sql.param(Param::Int(id));
            }
            (_, None) => {
                sql.push("1 = 0");
            }
        }
        Ok(())
    })
}

/// `:text`: the text shown with the code (its display) matches as a string: any word of
/// it starts with the value, case and accents aside.
fn text_condition(sql: &mut Sql, paths: &[Path], value: &str) -> Result<(), String> {
    let with_text: Vec<Path> = paths.iter().filter(|p| p.text.is_some()).copied().collect();
    if with_text.is_empty() {
        return Err("modifier ':text' is not supported: no text goes with these codes".into());
    }
    sql.push("(");
    for (i, v) in syntax::split_or(value).iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        let v = syntax::unescape(v);
        any_path(sql, &with_text, |sql, p| {
            sql.text_match(p.text.unwrap_or("NULL"), &v, TextMatch::WordPrefix);
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    }
    sql.push(")");
    Ok(())
}

/// The identifier types (HL7 v2 table 0203) GNU Health's alternative ids have, with the
/// naming system each is served in.
const V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";

/// `identifier:of-type=type-system|type-code|value`: an identifier of that type with that
/// value.
fn of_type_condition(
    sql: &mut Sql,
    ctx: &Context,
    paths: &[Path],
    value: &str,
) -> Result<(), String> {
    sql.push("(");
    for (i, v) in syntax::split_or(value).iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        let parts = syntax::split_unescaped(v, '|');
        let [type_system, type_code, id_value] = parts.as_slice() else {
            return Err(format!("'{v}' is not type-system|type-code|value"));
        };
        if id_value.is_empty() {
            return Err(format!("'{v}' has no value"));
        }
        let systems: Vec<String> = if *type_system == V2_0203 {
            crate::resources::patient::sid::ALTERNATIVE
                .iter()
                .filter(|(_, _, t)| *t == Some(*type_code))
                .map(|(_, system, _)| ctx.system(system))
                .collect()
        } else {
            Vec::new()
        };
        sql.push("(");
        for (k, system) in systems.iter().enumerate() {
            if k > 0 {
                sql.push(" OR ");
            }
            token_condition(sql, ctx, paths, &format!("{system}|{id_value}"))
                .map_err(|e| e.to_string())?;
        }
        if systems.is_empty() {
            sql.push("1 = 0");
        }
        sql.push(")");
    }
    sql.push(")");
    Ok(())
}

/// `(v op bound AND …) OR …` over one numeric column.
fn number_terms(sql: &mut Sql, expr: &str, alternatives: &[Vec<(Cmp, f64)>]) {
    sql.push("(");
    for (i, terms) in alternatives.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        sql.push("(");
        for (k, (cmp, bound)) in terms.iter().enumerate() {
            if k > 0 {
                sql.push(" AND ");
            }
            sql.push(expr).push(" ").push(cmp.sql()).push(" ");
            sql.param(Param::Float(*bound));
        }
        sql.push(")");
    }
    if alternatives.is_empty() {
        sql.push("1 = 0");
    }
    sql.push(")");
}

/// A quantity: the number with its prefix, and the unit when one is given — the stored
/// unit's code or name; a system other than UCUM (the only one units are emitted in)
/// matches nothing.
fn quantity_condition(
    sql: &mut Sql,
    paths: &[Path],
    q: &fhir::number::QuantityValue,
) -> Result<(), SearchError> {
    if q.system
        .as_deref()
        .is_some_and(|s| s != fhir::datatypes::UCUM)
    {
        sql.push("1 = 0");
        return Ok(());
    }
    let terms = fhir::number::number_condition(q.prefix, &q.number);
    any_path(sql, paths, |sql, p| {
        number_terms(sql, p.expr, &terms);
        if let (
            Stored::Quantity {
                unit_code,
                unit_name,
            },
            Some(code),
        ) = (p.value, &q.code)
        {
            sql.push(" AND (").push(unit_code).push(" = ");
            sql.param(Param::Text(code.clone()));
            sql.push(" OR ").push(unit_name).push(" = ");
            sql.param(Param::Text(code.clone()));
            sql.push(")");
        }
        Ok(())
    })
}

/// A date parameter over each path, with the R4 prefix semantics of
/// [`fhir::search::date_condition`]: a DATE column is the day it names, a timestamp an instant.
fn date_condition(sql: &mut Sql, paths: &[Path], v: &str) -> Result<(), syntax::SyntaxError> {
    let (prefix, rest) = syntax::split_prefix(v);
    let range = syntax::parse_date(rest)?;
    let r = any_path(sql, paths, |sql, p| {
        let kind = if matches!(p.value, Stored::Date) {
            StoredKind::Day
        } else {
            StoredKind::Instant
        };
        let condition = syntax::date_condition(prefix, &range, kind);
        let condition = if kind == StoredKind::Day {
            // A stored day ends exactly a day after it starts: a term on its end is a term
            // on its start a day earlier. Then `ge` and `le`, an OR of a term on each end,
            // are one bound on the column (`dob >= ?`), which an index on it answers; SQLite
            // read every patient for the OR.
            condition
                .map_terms(|(bound, cmp, c)| match bound {
                    Bound::High => match c.checked_sub_signed(Duration::days(1)) {
                        Some(start) => (Bound::Low, cmp, start),
                        None => (bound, cmp, c),
                    },
                    Bound::Low => (bound, cmp, c),
                })
                .simplified()
        } else {
            condition
        };
        match condition {
            DateCondition::All(terms) => date_terms(sql, p.expr, kind, &terms),
            DateCondition::Any(alternatives) => {
                sql.push("(");
                for (i, terms) in alternatives.iter().enumerate() {
                    if i > 0 {
                        sql.push(" OR ");
                    }
                    date_terms(sql, p.expr, kind, terms);
                }
                if alternatives.is_empty() {
                    sql.push("1 = 0");
                }
                sql.push(")");
            }
        }
        Ok(())
    });
    r.map_err(|e| syntax::SyntaxError(e.to_string()))
}

/// `(term AND term …)` over one column.
fn date_terms(sql: &mut Sql, expr: &str, kind: StoredKind, terms: &[DateTerm]) {
    sql.push("(");
    for (i, (bound, cmp, c)) in terms.iter().enumerate() {
        if i > 0 {
            sql.push(" AND ");
        }
        if kind == StoredKind::Day {
            // The day d covers [d 00:00, d+1 00:00): rewrite the comparison on d itself so
            // the column stays bare (and indexable).
            let c = match bound {
                Bound::Low => *c,
                Bound::High => *c - Duration::days(1),
            };
            let midnight = c.time() == NaiveTime::MIN;
            let (op, day) = match cmp {
                Cmp::Ge | Cmp::Lt if !midnight => (cmp.sql(), c.date() + Duration::days(1)),
                _ => (cmp.sql(), c.date()),
            };
            sql.push(expr).push(" ").push(op).push(" ");
            sql.param(Param::Date(day));
        } else {
            sql.push(expr).push(" ").push(cmp.sql()).push(" ");
            sql.param(Param::DateTime(*c));
        }
    }
    if terms.is_empty() {
        sql.push("1 = 1");
    }
    sql.push(")");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_only_sees_every_column_of_r_and_no_other_alias() {
        let cols = ["patient", "eval_row"];
        assert!(names_only(
            " WHERE r.patient = ?1 AND NOT (r.eval_row IS NULL)",
            &cols
        ));
        assert!(names_only(" WHERE pr.code = 1 AND x.r.code = 2", &cols));
        assert!(!names_only(
            " WHERE r.patient = ?1 AND (r.code = ?2)",
            &cols
        ));
        assert!(!names_only(" WHERE r.patients = 1", &cols));
        assert!(!names_only("(r.measure = 'bp')", &cols));
    }

    #[test]
    fn simple_joins_become_uncorrelated_subqueries() {
        assert_eq!(
            semi_join("gnuhealth_person_name n", "n.party = r.party"),
            Some(("n.party", "r.party", vec![]))
        );
        assert_eq!(
            semi_join(
                "party_contact_mechanism cm",
                "cm.party = r.party AND cm.active = TRUE"
            ),
            Some(("cm.party", "r.party", vec!["cm.active = TRUE"]))
        );
        assert_eq!(
            semi_join(
                "gnuhealth_medicament vm JOIN product_product vp ON vp.id = vm.product",
                "vm.id = r.vaccine"
            ),
            Some(("vm.id", "r.vaccine", vec![]))
        );
        // Correlated beyond the first equality: stays EXISTS.
        assert_eq!(
            semi_join(
                "gnuhealth_patient_lab_test sr",
                "sr.request = l.request_order AND sr.test_type = l.test"
            ),
            None
        );
        assert_eq!(semi_join("gnuhealth_du du", "p.du = du.id"), None);
    }

    /// Child tables reached from one outer column become one `IN (… UNION ALL …)`, each
    /// child table once however many of its columns are searched; others stay apart.
    #[test]
    fn sub_selects_on_one_column_are_united() -> Result<(), SearchError> {
        let paths = [
            Path::child(
                "gnuhealth_person_name n",
                "n.party = r.party",
                "n.family",
                Stored::Text,
            ),
            Path::child(
                "gnuhealth_person_name n",
                "n.party = r.party",
                "n.given",
                Stored::Text,
            ),
            Path::child(
                "party_party pp",
                "pp.id = r.party",
                "pp.lastname",
                Stored::Text,
            ),
            Path::child("gnuhealth_du du", "du.id = r.du", "du.city", Stored::Text),
            Path::col("r.code", Stored::Text),
        ];
        let mut sql = Sql::new(crate::db::Dialect::Postgres);
        any_path(&mut sql, &paths, |sql, p| {
            sql.push(p.expr).push(" = 'x'");
            Ok(())
        })?;
        assert_eq!(
            sql.text(),
            "((r.party IS NOT NULL AND r.party IN (\
             SELECT n.party FROM gnuhealth_person_name n WHERE n.party IS NOT NULL \
             AND ((n.family = 'x') OR (n.given = 'x')) \
             UNION ALL SELECT pp.id FROM party_party pp WHERE pp.id IS NOT NULL \
             AND ((pp.lastname = 'x')))) \
             OR (r.du IS NOT NULL AND r.du IN (SELECT du.id FROM gnuhealth_du du \
             WHERE du.id IS NOT NULL AND ((du.city = 'x')))) \
             OR ((r.code = 'x')))"
        );
        Ok(())
    }
}
