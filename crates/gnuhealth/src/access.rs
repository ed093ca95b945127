//! Tryton's access rights for one user, computed as trytond does: effective groups, model
//! access (`ir_model_access`), field access (`ir_model_field_access`) and record rules
//! (`ir_rule_group`/`ir_rule`), read in a fixed number of queries into a [`Policy`] that
//! decides which types a user may use, which elements they see and which rows.
//! [`stamp`] tells cheaply when any of those tables changed, so cached policies are
//! renewed within seconds.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use serde_json::Value;

use crate::db::{Database, DbError, Param, Sql};
use crate::resources::{FieldUse, ResourceDef};
use crate::rule::{self, Domain, EvalContext};

/// The record rules on one model for one user.
#[derive(Debug, Clone)]
pub enum RuleState {
    /// The rows the user may see satisfy this domain.
    Applied(Domain),
    /// A rule applies that this server cannot translate exactly: the model is refused.
    Untranslatable(String),
}

/// What one user may read.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub user_id: i64,
    /// Active groups of the user and their active ancestors.
    pub groups: Vec<i64>,
    /// Read permission per model, for the models that have applicable access rows.
    models: HashMap<String, bool>,
    /// `(model, field)` pairs the user may not read.
    denied_fields: HashSet<(String, String)>,
    rules: HashMap<String, RuleState>,
}

/// Why a resource type is refused to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Model access denies reading this model.
    Model(String),
    /// A field the type cannot be served without is denied.
    Field(String, String),
    /// A record rule on this model cannot be applied.
    Rule(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Model(m) => write!(f, "may not read {m} records in GNU Health"),
            Refusal::Field(m, field) => write!(f, "may not read the field {field} of {m}"),
            Refusal::Rule(m) => write!(
                f,
                "is restricted by a record rule on {m} that this server cannot apply, \
                 so access is refused"
            ),
        }
    }
}

impl Policy {
    /// May the user read `model` (no applicable row means yes, as in trytond)?
    pub fn can_read_model(&self, model: &str) -> bool {
        self.models.get(model).copied().unwrap_or(true)
    }

    /// May the user read `field` of `model` (no applicable row means yes)?
    pub fn can_read_field(&self, model: &str, field: &str) -> bool {
        !self
            .denied_fields
            .contains(&(model.to_owned(), field.to_owned()))
    }

    pub fn rule(&self, model: &str) -> Option<&RuleState> {
        self.rules.get(model)
    }

    /// Are the elements of `u` visible? A whole-model use needs the model readable and
    /// free of record rules (loaders of child rows cannot apply them).
    fn can_see(&self, u: &FieldUse) -> bool {
        if u.field.is_empty() {
            self.can_read_model(u.model) && self.rule(u.model).is_none()
        } else {
            self.can_read_model(u.model) && self.can_read_field(u.model, u.field)
        }
    }

    /// Are all of `model`'s rows of `def` hidden (a whole-model [`FieldUse::rows`] the
    /// user may not see)? Then its fields concern only rows the user does not get: they
    /// neither refuse the type nor leave elements out of the other rows.
    fn model_hidden(&self, def: &ResourceDef, model: &str) -> bool {
        def.fields
            .iter()
            .any(|u| u.model == model && u.field.is_empty() && u.rows.is_some() && !self.can_see(u))
    }

    /// The field uses that apply to what the user gets of `def` and that they may not see.
    fn denied_uses<'d>(&'d self, def: &'d ResourceDef) -> impl Iterator<Item = &'d FieldUse> + 'd {
        def.fields
            .iter()
            .filter(|u| u.rows.is_none() && !self.can_see(u) && !self.model_hidden(def, u.model))
    }

    /// Whether the user may use resource type `def` at all.
    pub fn check_type(&self, def: &ResourceDef) -> Result<(), Refusal> {
        if let Some(m) = def.models.iter().find(|m| !self.can_read_model(m)) {
            return Err(Refusal::Model((*m).to_owned()));
        }
        for m in def.models {
            let applicable = match self.rule(m) {
                None => true,
                Some(RuleState::Untranslatable(_)) => false,
                Some(RuleState::Applied(_)) => def.aliases.iter().any(|(am, _)| am == m),
            };
            if !applicable {
                return Err(Refusal::Rule((*m).to_owned()));
            }
        }
        // A type gathering several models' rows: refused when the user gets none of them.
        let sources: Vec<&FieldUse> = def
            .fields
            .iter()
            .filter(|u| u.field.is_empty() && u.rows.is_some())
            .collect();
        if def.models.is_empty()
            && let Some(first) = sources.first()
            && sources.iter().all(|u| !self.can_see(u))
        {
            return Err(Refusal::Model(first.model.to_owned()));
        }
        if let Some(u) = self.denied_uses(def).find(|u| u.required) {
            return Err(Refusal::Field(u.model.to_owned(), u.field.to_owned()));
        }
        Ok(())
    }

    /// The search parameters of `def` that read a field the user may not read.
    pub fn denied_params(&self, def: &ResourceDef) -> Vec<&'static str> {
        self.denied_uses(def)
            .flat_map(|u| u.params.iter().copied())
            .collect()
    }

    /// Does any record rule, or a denied field that rows come from, restrict the rows of
    /// `def`?
    pub fn has_rules(&self, def: &ResourceDef) -> bool {
        def.models.iter().any(|m| self.rules.contains_key(*m))
            || self.hidden_rows(def).next().is_some()
    }

    /// The conditions of the rows of `def` whose source the user may not read, each once.
    /// A condition that narrows a hidden one (`x AND …` when `x` is hidden: a measure of
    /// a hidden table) hides nothing more and is left out, so the conditions name only the
    /// columns they need (a count can then go by source rows: `CountFrom`).
    fn hidden_rows(&self, def: &ResourceDef) -> impl Iterator<Item = &'static str> {
        let hidden: Vec<&'static str> = def
            .fields
            .iter()
            .filter(|u| !self.can_see(u))
            .filter_map(|u| u.rows)
            .collect();
        let kept: Vec<&'static str> = hidden
            .iter()
            .enumerate()
            .filter(|&(i, rows)| {
                let repeated = hidden[..i].contains(rows);
                let narrower = hidden.iter().any(|wider| {
                    rows.strip_prefix(wider)
                        .is_some_and(|rest| rest.starts_with(" AND "))
                });
                !repeated && !narrower
            })
            .map(|(_, rows)| *rows)
            .collect();
        kept.into_iter()
    }

    /// The record-rule conditions on `def`'s rows and the exclusion of rows whose source
    /// field the user may not read, ANDed, as ` AND …` fragments.
    pub fn push_rule_conditions(&self, def: &ResourceDef, sql: &mut Sql, first: &mut bool) {
        for (model, alias) in def.aliases {
            if let Some(RuleState::Applied(d)) = self.rule(model) {
                if !*first {
                    sql.push(" AND ");
                }
                *first = false;
                d.to_sql(sql, alias);
            }
        }
        for rows in self.hidden_rows(def) {
            if !*first {
                sql.push(" AND ");
            }
            *first = false;
            sql.push("NOT (").push(rows).push(")");
        }
    }

    /// Leave out of `resource` the elements whose source the user may not read; tells
    /// whether anything was left out.
    pub fn redact(&self, def: &ResourceDef, resource: &mut Value) -> bool {
        let mut removed = false;
        for u in self.denied_uses(def) {
            for path in u.elements {
                removed |= remove_path(resource, path);
            }
        }
        removed
    }
}

/// Remove the elements at `path` (syntax of [`FieldUse::elements`]); empty arrays and
/// objects left behind go too, since FHIR JSON never carries them.
fn remove_path(value: &mut Value, path: &str) -> bool {
    // A filter may hold dots (URLs, a key's path): the step ends at the first dot outside
    // brackets.
    let mut depth = 0usize;
    let end = path.char_indices().find_map(|(i, c)| {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '.' if depth == 0 => return Some(i),
            _ => {}
        }
        None
    });
    let (head, rest) = match end {
        Some(i) => (&path[..i], Some(&path[i + 1..])),
        None => (path, None),
    };
    let Some(obj) = value.as_object_mut() else {
        return false;
    };
    let (key, filter) = match head.split_once('[') {
        Some((k, f)) => (k, f.strip_suffix(']')),
        None => (head, None),
    };
    let matches = |item: &Value| match filter {
        None => true,
        Some(f) => {
            let (k, op, want) = match (f.split_once("$="), f.split_once("^=")) {
                (Some((k, v)), _) => (k, '$', v),
                (None, Some((k, v))) => (k, '^', v),
                (None, None) => match f.split_once('=') {
                    Some((k, v)) => (k, '=', v),
                    None => return false,
                },
            };
            // `k` may descend into objects: `actor.reference`.
            k.split('.')
                .try_fold(item, |node, step| node.get(step))
                .and_then(Value::as_str)
                .is_some_and(|s| match op {
                    '$' => s.ends_with(want),
                    '^' => s.starts_with(want),
                    _ => s == want,
                })
        }
    };
    let mut removed = false;
    let drop_key = match (obj.get_mut(key), rest) {
        (None, _) => false,
        (Some(Value::Array(items)), None) => {
            let before = items.len();
            items.retain(|i| !matches(i));
            removed = items.len() != before;
            items.is_empty()
        }
        (Some(_), None) => {
            removed = filter.is_none();
            filter.is_none()
        }
        (Some(Value::Array(items)), Some(rest)) => {
            for item in items.iter_mut().filter(|i| matches(i)) {
                removed |= remove_path(item, rest);
            }
            items.retain(|i| !i.as_object().is_some_and(|o| o.is_empty()));
            items.is_empty()
        }
        (Some(child), Some(rest)) => {
            removed = remove_path(child, rest);
            child.as_object().is_some_and(|o| o.is_empty())
        }
    };
    if drop_key {
        obj.remove(key);
    }
    removed
}

/// The user's effective groups: active groups they belong to, plus their active ancestors.
pub async fn effective_groups(db: &Database, user_id: i64) -> Result<Vec<i64>, DbError> {
    let mut sql = db.sql();
    let active = sql.is_true("g.active");
    sql.push(
        "WITH RECURSIVE anc(id, parent) AS ( \
           SELECT id, id FROM res_group \
           UNION SELECT g.id, anc.parent FROM res_group g JOIN anc ON g.parent = anc.id) \
         SELECT DISTINCT anc.parent FROM \"res_user-res_group\" ug \
         JOIN anc ON anc.id = ug.\"group\" JOIN res_group g ON g.id = anc.parent \
         WHERE ug.\"user\" = ",
    );
    sql.param(Param::Int(user_id));
    sql.push(" AND ").push(&active);
    let mut groups: Vec<i64> = db.query(&sql).await?.iter().map(|r| r.int(0)).collect();
    groups.sort_unstable();
    Ok(groups)
}

fn push_models(sql: &mut Sql, models: &[&str]) {
    sql.push("m.model IN (");
    for (i, m) in models.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.param(Param::Text((*m).to_owned()));
    }
    if models.is_empty() {
        sql.push("NULL");
    }
    sql.push(")");
}

/// A rule group that applies to the user, with its rules' domains (text).
struct RuleGroup {
    model: String,
    global: bool,
    domains: Vec<String>,
}

impl Policy {
    /// The policy of `user_id` for `models`: groups, then model access, field access and
    /// record rules (four queries, plus a probe per column a rule compares).
    pub async fn load(db: &Database, user_id: i64, models: &[&str]) -> Result<Policy, DbError> {
        let groups = effective_groups(db, user_id).await?;

        let mut sql = db.sql();
        let active = sql.is_true("a.active");
        sql.push(
            "SELECT m.model, MAX(CASE WHEN a.perm_read THEN 1 ELSE 0 END) \
             FROM ir_model_access a JOIN ir_model m ON m.id = a.model WHERE ",
        );
        sql.push(&active).push(" AND (a.\"group\" IS NULL OR ");
        sql.in_ids("a.\"group\"", &groups);
        sql.push(") AND ");
        push_models(&mut sql, models);
        sql.push(" GROUP BY m.model");
        let model_rows = db.query(&sql);

        let mut sql = db.sql();
        let active = sql.is_true("a.active");
        sql.push(
            "SELECT m.model, f.name FROM ir_model_field_access a \
             JOIN ir_model_field f ON f.id = a.field JOIN ir_model m ON m.id = f.model WHERE ",
        );
        sql.push(&active).push(" AND (a.\"group\" IS NULL OR ");
        sql.in_ids("a.\"group\"", &groups);
        sql.push(") AND ");
        push_models(&mut sql, models);
        sql.push(
            " GROUP BY m.model, f.name \
             HAVING MAX(CASE WHEN a.perm_read THEN 1 ELSE 0 END) = 0",
        );
        let field_rows = db.query(&sql);

        let mut sql = db.sql();
        let read = sql.is_true("rg.perm_read");
        let global = sql.is_true("rg.global_p");
        let default = sql.is_true("rg.default_p");
        sql.push(&format!(
            "SELECT rg.id, m.model, CASE WHEN {global} THEN 1 ELSE 0 END, ru.domain \
             FROM ir_rule_group rg JOIN ir_model m ON m.id = rg.model \
             LEFT JOIN ir_rule ru ON ru.rule_group = rg.id WHERE {read} AND ("
        ));
        sql.push(&format!("{global} OR {default} OR rg.id IN (SELECT gg.rule_group FROM \"ir_rule_group-res_group\" gg WHERE "));
        sql.in_ids("gg.\"group\"", &groups);
        sql.push(")) AND ");
        push_models(&mut sql, models);
        sql.push(" ORDER BY rg.id, ru.id");
        let rule_rows = db.query(&sql);

        let (model_rows, field_rows, rule_rows) =
            tokio::try_join!(model_rows, field_rows, rule_rows)?;

        let mut policy = Policy {
            user_id,
            groups: groups.clone(),
            models: model_rows
                .iter()
                .filter_map(|r| Some((r.opt_text(0)?, r.int(1) != 0)))
                .collect(),
            denied_fields: field_rows
                .iter()
                .filter_map(|r| Some((r.opt_text(0)?, r.opt_text(1)?)))
                .collect(),
            rules: HashMap::new(),
        };

        let mut rule_groups: Vec<(i64, RuleGroup)> = Vec::new();
        for r in &rule_rows {
            let id = r.int(0);
            if rule_groups.last().is_none_or(|(last, _)| *last != id) {
                rule_groups.push((
                    id,
                    RuleGroup {
                        model: r.opt_text(1).unwrap_or_default(),
                        global: r.int(2) != 0,
                        domains: Vec::new(),
                    },
                ));
            }
            if let (Some(d), Some((_, g))) = (r.opt_text(3), rule_groups.last_mut()) {
                g.domains.push(d);
            }
        }
        let ctx = EvalContext { user_id, groups };
        let mut by_model: HashMap<String, Vec<(i64, RuleGroup)>> = HashMap::new();
        for (id, g) in rule_groups {
            by_model.entry(g.model.clone()).or_default().push((id, g));
        }
        for (model, groups) in by_model {
            let state = match combine(&groups, &ctx) {
                Ok(d) => match check_columns(db, &model, &d).await? {
                    Ok(()) => RuleState::Applied(d),
                    Err(why) => RuleState::Untranslatable(why),
                },
                Err(why) => RuleState::Untranslatable(why),
            };
            if let RuleState::Untranslatable(why) = &state {
                warn_once(&model, groups.iter().map(|(id, _)| *id), why);
            }
            policy.rules.insert(model, state);
        }
        Ok(policy)
    }
}

/// trytond's combination: the rules of one group OR-ed (a group without rules is no
/// restriction), the non-global groups OR-ed together, the global groups AND-ed with that.
fn combine(groups: &[(i64, RuleGroup)], ctx: &EvalContext) -> Result<Domain, String> {
    let mut global = Vec::new();
    let mut others = Vec::new();
    for (_, g) in groups {
        let domains = g
            .domains
            .iter()
            .map(|d| rule::parse(d, ctx))
            .collect::<Result<Vec<_>, _>>()?;
        let d = if domains.is_empty() {
            Domain::all()
        } else {
            Domain::Or(domains)
        };
        if g.global {
            global.push(d);
        } else {
            others.push(d);
        }
    }
    if !others.is_empty() {
        global.push(Domain::Or(others));
    }
    Ok(Domain::And(global))
}

/// Rules are translated only over stored columns whose type matches the compared
/// literals; anything else would be an SQL error or a silent difference from trytond.
async fn check_columns(
    db: &Database,
    model: &str,
    domain: &Domain,
) -> Result<Result<(), String>, DbError> {
    let leaves = domain.leaves();
    if leaves.is_empty() {
        return Ok(Ok(()));
    }
    let mut sql = db.sql();
    sql.push(
        "SELECT f.name, f.ttype FROM ir_model_field f JOIN ir_model m ON m.id = f.model \
         WHERE m.model = ",
    );
    sql.param(Param::Text(model.to_owned()));
    let types: HashMap<String, String> = db
        .query(&sql)
        .await?
        .iter()
        .filter_map(|r| Some((r.opt_text(0)?, r.opt_text(1)?)))
        .collect();
    for (field, value) in &leaves {
        let Some(ttype) = types.get(*field) else {
            return Ok(Err(format!("{model} has no field '{field}'")));
        };
        if !value_fits(ttype, value) {
            return Ok(Err(format!(
                "'{field}' ({ttype}) is compared with a value of another type"
            )));
        }
    }
    let table = model.replace('.', "_");
    let mut probe = db.sql();
    let mut fields = domain.fields();
    fields.sort_unstable();
    fields.dedup();
    let cols: Vec<String> = fields.iter().map(|f| format!("t.\"{f}\"")).collect();
    probe.push(&format!(
        "SELECT {} FROM \"{table}\" t WHERE 1 = 0",
        cols.join(", ")
    ));
    Ok(match db.query(&probe).await {
        Ok(_) => Ok(()),
        Err(DbError::Query(_)) => Err(format!("a field of {model} in the rule is not stored")),
        Err(e) => return Err(e),
    })
}

fn value_fits(ttype: &str, value: &rule::Value) -> bool {
    use rule::Value as V;
    match value {
        V::Null => true,
        V::List(items) => items.iter().all(|v| value_fits(ttype, v)),
        V::Bool(_) => ttype == "boolean",
        V::Int(_) => matches!(ttype, "integer" | "biginteger" | "many2one"),
        V::Float(_) => ttype == "float",
        V::Text(_) => matches!(ttype, "char" | "text" | "selection"),
    }
}

/// Log an untranslatable rule once per process (it is re-read with every policy).
fn warn_once(model: &str, rule_groups: impl Iterator<Item = i64>, why: &str) {
    static SEEN: Mutex<Option<HashSet<(String, String)>>> = Mutex::new(None);
    let key = (model.to_owned(), why.to_owned());
    let first = match SEEN.lock() {
        Ok(mut seen) => seen.get_or_insert_with(HashSet::new).insert(key),
        Err(_) => true,
    };
    if first {
        let ids: Vec<String> = rule_groups.map(|i| i.to_string()).collect();
        tracing::warn!(
            "record rule on {model} (rule groups {}) cannot be translated: {why}; \
             {model} is refused to the users it applies to",
            ids.join(", ")
        );
    }
}

/// A fingerprint of every table access rights are computed from (row counts and newest
/// change): it differs as soon as a row is added, changed or deleted.
pub async fn stamp(db: &Database) -> Result<String, DbError> {
    const TABLES: &[&str] = &[
        "res_group",
        "\"res_user-res_group\"",
        "ir_model_access",
        "ir_model_field_access",
        "ir_rule_group",
        "ir_rule",
        "\"ir_rule_group-res_group\"",
    ];
    let parts: Vec<String> = TABLES
        .iter()
        .map(|t| {
            format!(
                "(SELECT COUNT(*) FROM {t}), \
                 (SELECT CAST(MAX(COALESCE(write_date, create_date)) AS TEXT) FROM {t})"
            )
        })
        .collect();
    let mut sql = db.sql();
    sql.push(&format!("SELECT {}", parts.join(", ")));
    let rows = db.query(&sql).await?;
    let row = rows
        .first()
        .ok_or_else(|| DbError::Query("the access stamp returned no row".into()))?;
    Ok((0..TABLES.len() * 2)
        .map(|i| row.opt_text(i).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("|"))
}

/// The decisions of a policy for `models`, and for every field of them, as JSON (the
/// `access` command prints it to compare with trytond).
pub async fn report(
    db: &Database,
    policy: &Policy,
    models: &[&str],
) -> Result<serde_json::Value, DbError> {
    let mut sql = db.sql();
    sql.push(
        "SELECT m.model, f.name FROM ir_model_field f JOIN ir_model m ON m.id = f.model WHERE ",
    );
    push_models(&mut sql, models);
    let mut fields: serde_json::Map<String, Value> = serde_json::Map::new();
    for r in db.query(&sql).await? {
        let (Some(m), Some(f)) = (r.opt_text(0), r.opt_text(1)) else {
            continue;
        };
        let allowed = policy.can_read_field(&m, &f);
        if let Value::Object(o) = fields
            .entry(m)
            .or_insert_with(|| Value::Object(Default::default()))
        {
            o.insert(f, Value::Bool(allowed));
        }
    }
    let models: serde_json::Map<String, Value> = models
        .iter()
        .map(|m| {
            let rule = match policy.rule(m) {
                None => "none",
                Some(RuleState::Applied(_)) => "applied",
                Some(RuleState::Untranslatable(_)) => "untranslatable",
            };
            (
                (*m).to_owned(),
                serde_json::json!({"read": policy.can_read_model(m), "rule": rule}),
            )
        })
        .collect();
    Ok(serde_json::json!({
        "user_id": policy.user_id,
        "groups": policy.groups,
        "models": models,
        "fields": fields,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn removes_elements_by_path_and_filter() {
        let mut v = json!({
            "resourceType": "Patient",
            "birthDate": "1990-01-01",
            "extension": [{"url": "a", "valueCode": "x"}, {"url": "b", "valueCode": "y"}],
            "identifier": [{"system": "http://h/sid/puid", "value": "1"}, {"system": "http://h/sid/passport", "value": "2"}],
            "contact": [{"telecom": [{"value": "1"}]}, {"telecom": [{"value": "2"}], "name": {"text": "n"}}],
        });
        assert!(remove_path(&mut v, "birthDate"));
        assert!(!remove_path(&mut v, "birthDate"));
        assert!(remove_path(&mut v, "extension[url=a]"));
        assert_eq!(v["extension"], json!([{"url": "b", "valueCode": "y"}]));
        assert!(remove_path(&mut v, "extension[url=b]"));
        assert!(v.get("extension").is_none());
        assert!(remove_path(&mut v, "identifier[system$=/sid/passport]"));
        assert_eq!(v["identifier"].as_array().map(Vec::len), Some(1));
        assert!(remove_path(&mut v, "contact.telecom"));
        // Filters on a key's path, by prefix, with dots inside the brackets.
        let mut p = json!({"participant": [
            {"actor": {"reference": "Patient/1"}, "status": "accepted"},
            {"actor": {"reference": "Practitioner/2"}, "status": "accepted"},
        ], "extension": [{"url": "http://a.b/c", "valueCode": "x"}, {"url": "d"}]});
        assert!(remove_path(
            &mut p,
            "participant[actor.reference^=Practitioner/]"
        ));
        assert_eq!(p["participant"].as_array().map(Vec::len), Some(1));
        assert_eq!(p["participant"][0]["actor"]["reference"], "Patient/1");
        assert!(!remove_path(
            &mut p,
            "participant[actor.reference^=Practitioner/]"
        ));
        assert!(remove_path(&mut p, "extension[url=http://a.b/c]"));
        assert_eq!(p["extension"], json!([{"url": "d"}]));
        assert_eq!(v["contact"], json!([{"name": {"text": "n"}}]));
        assert!(v.get("birthDate").is_none());
    }
}
