//! `_include` and `_revinclude` (with `:iterate` and `*`): the resources a page of matches
//! refers to, and those that refer to it. Each include costs a fixed number of queries per
//! level, whatever the page size (the referenced ids of the whole page in one query, the
//! user's access rights and record rules in one search, then the batched loader), and
//! `:iterate` stops after [`MAX_ITERATE`] levels.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use crate::access::Policy;
use crate::db::Database;
use crate::resources::{Context, Kind, ResourceDef, SearchParam};
use crate::search::{SearchError, SearchRequest, find_param, search};

/// Levels `:iterate` follows beyond the matches.
pub const MAX_ITERATE: usize = 3;

/// One `_include` or `_revinclude`.
#[derive(Clone)]
pub struct Include {
    pub reverse: bool,
    pub iterate: bool,
    /// The type whose reference parameter is followed.
    pub source: &'static ResourceDef,
    /// That parameter, or every reference parameter of the source (`*`).
    pub params: Vec<&'static SearchParam>,
    /// `Source:param:Type`: only references to this type.
    pub target: Option<&'static str>,
}

/// Parse an include value `Source:param[:Type]` or `Source:*`.
pub fn parse(value: &str, reverse: bool, iterate: bool) -> Result<Include, SearchError> {
    let name = if reverse { "_revinclude" } else { "_include" };
    let bad = |msg: String| SearchError::BadRequest(format!("{name}={value}: {msg}"));
    let mut parts = value.split(':');
    let (Some(source), Some(param)) = (parts.next(), parts.next()) else {
        return Err(bad("expected Type:parameter[:TargetType]".into()));
    };
    let target = parts.next();
    if parts.next().is_some() {
        return Err(bad("expected Type:parameter[:TargetType]".into()));
    }
    let source = crate::registry::find(source)
        .ok_or_else(|| bad(format!("resource type '{source}' is not served here")))?;
    let params: Vec<&'static SearchParam> = if param == "*" {
        source
            .params
            .iter()
            .filter(|p| p.kind == Kind::Reference)
            .collect()
    } else {
        let p = find_param(source, param)
            .filter(|p| p.kind == Kind::Reference)
            .ok_or_else(|| bad(format!("'{param}' is not a reference parameter")))?;
        vec![p]
    };
    let target = match target {
        None => None,
        Some(t) => {
            if !params.iter().any(|p| p.targets.contains(&t)) {
                return Err(bad(format!("'{param}' does not refer to {t}")));
            }
            let def = crate::registry::find(t)
                .ok_or_else(|| bad(format!("resource type '{t}' is not served here")))?;
            Some(def.type_name)
        }
    };
    if param != "*" && !reverse && target.is_none() && served_targets(params[0], None).len() > 1 {
        return Err(bad(
            "the reference may point to several types: name one (Type:parameter:Target)".into(),
        ));
    }
    Ok(Include {
        reverse,
        iterate,
        source,
        params,
        target,
    })
}

/// The served types a parameter's references point to, restricted to `only`.
fn served_targets(p: &SearchParam, only: Option<&str>) -> Vec<&'static ResourceDef> {
    p.targets
        .iter()
        .filter(|t| only.is_none_or(|o| o == **t))
        .filter_map(|t| crate::registry::find(t))
        .collect()
}

/// What the includes add to a page of `matches` of `def`, at most `limit` resources per
/// include and level, each once, none that is already a match; the resources as loaded
/// (the caller applies field access, as for matches).
pub async fn resolve(
    db: &Database,
    ctx: &Context,
    policy: &Arc<Policy>,
    includes: &[Include],
    def: &'static ResourceDef,
    matches: &[String],
    limit: u32,
) -> Result<Vec<(&'static ResourceDef, Value)>, SearchError> {
    let mut seen: HashSet<(&str, String)> = matches
        .iter()
        .map(|id| (def.type_name, id.clone()))
        .collect();
    let mut frontier: Vec<(&'static ResourceDef, Vec<String>)> = vec![(def, matches.to_vec())];
    let mut out = Vec::new();
    for level in 0..=MAX_ITERATE {
        let mut found: HashMap<&'static str, (&'static ResourceDef, Vec<String>)> = HashMap::new();
        for inc in includes.iter().filter(|i| level == 0 || i.iterate) {
            for (from, ids) in &frontier {
                if ids.is_empty() {
                    continue;
                }
                let reached = if inc.reverse {
                    referring(db, ctx, policy, inc, from, ids, limit).await?
                } else if inc.source.type_name == from.type_name {
                    referred(db, ctx, policy, inc, from, ids, limit).await?
                } else {
                    Vec::new()
                };
                for (t, ids) in reached {
                    for id in ids {
                        if seen.insert((t.type_name, id.clone())) {
                            found
                                .entry(t.type_name)
                                .or_insert((t, Vec::new()))
                                .1
                                .push(id);
                        }
                    }
                }
            }
        }
        if found.is_empty() {
            break;
        }
        frontier = found.into_values().collect();
        for (t, ids) in &frontier {
            for resource in (t.load)(db, ctx, ids).await? {
                out.push((*t, resource));
            }
        }
    }
    Ok(out)
}

/// Of `ids` of type `target`, those the user may see (access rights and record rules),
/// in one search; none when the type is refused to them.
pub async fn visible(
    db: &Database,
    ctx: &Context,
    policy: &Arc<Policy>,
    target: &'static ResourceDef,
    ids: Vec<String>,
    limit: u32,
) -> Result<Vec<String>, SearchError> {
    if ids.is_empty() || policy.check_type(target).is_err() {
        return Ok(Vec::new());
    }
    let mut req = SearchRequest::new(vec![("_id".into(), ids.join(","))], limit);
    req.count_total = false;
    req.policy = Some(policy.clone());
    Ok(search(db, target, ctx, &req).await?.ids)
}

/// `_include`: the resources the page's rows of `from` refer to through the include's
/// parameters.
async fn referred(
    db: &Database,
    ctx: &Context,
    policy: &Arc<Policy>,
    inc: &Include,
    from: &'static ResourceDef,
    ids: &[String],
    limit: u32,
) -> Result<Vec<(&'static ResourceDef, Vec<String>)>, SearchError> {
    let mut out = Vec::new();
    let denied = policy.denied_params(from);
    for p in inc.params.iter().filter(|p| !denied.contains(&p.name)) {
        let targets = served_targets(p, inc.target);
        // A column of one table refers to one type: several possible types and none named
        // (from `*`) cannot be told apart, so nothing is included rather than a wrong one.
        let [target] = targets.as_slice() else {
            continue;
        };
        let mut referenced = Vec::new();
        // On a union type, one query per branch the page's ids come from: a condition
        // on several branches' row ids (an OR) would keep each branch from its key.
        for group in crate::search::id_groups(from, ids) {
            let ids = group.as_slice();
            for path in p
                .paths
                .iter()
                .filter(|path| path.refers_to(target.type_name))
            {
                let mut sql = db.sql();
                sql.push("SELECT DISTINCT ")
                    .push(path.expr)
                    .push(" FROM ")
                    .push(from.from);
                // The child rows as a second FROM item, joined in WHERE: the child's own
                // FROM may be a join of several tables.
                if let Some((child, _)) = path.join {
                    sql.push(", ").push(child);
                }
                sql.push(" WHERE ")
                    .push(path.expr)
                    .push(" IS NOT NULL AND ");
                if let Some((_, on)) = path.join {
                    sql.push(on).push(" AND ");
                }
                if let Some(w) = path.when {
                    sql.push(w).push(" AND ");
                }
                crate::search::push_key_in(&mut sql, from, ids);
                referenced.extend(db.query(&sql).await?.iter().filter_map(|r| r.opt_text(0)));
            }
        }
        referenced.sort_unstable();
        referenced.dedup();
        let seen = visible(db, ctx, policy, target, referenced, limit).await?;
        out.push((*target, seen));
    }
    Ok(out)
}

/// `_revinclude`: the resources of the include's source type that refer to the page's rows
/// of `to`, found by searching the source with the reference parameter.
async fn referring(
    db: &Database,
    ctx: &Context,
    policy: &Arc<Policy>,
    inc: &Include,
    to: &'static ResourceDef,
    ids: &[String],
    limit: u32,
) -> Result<Vec<(&'static ResourceDef, Vec<String>)>, SearchError> {
    if inc.target.is_some_and(|t| t != to.type_name) || policy.check_type(inc.source).is_err() {
        return Ok(Vec::new());
    }
    let value = ids
        .iter()
        .map(|id| format!("{}/{id}", to.type_name))
        .collect::<Vec<_>>()
        .join(",");
    let mut out = Vec::new();
    let denied = policy.denied_params(inc.source);
    for p in inc
        .params
        .iter()
        .filter(|p| p.targets.contains(&to.type_name) && !denied.contains(&p.name))
    {
        let mut req = SearchRequest::new(vec![(p.name.to_owned(), value.clone())], limit);
        req.count_total = false;
        req.policy = Some(policy.clone());
        out.push((inc.source, search(db, inc.source, ctx, &req).await?.ids));
    }
    Ok(out)
}
