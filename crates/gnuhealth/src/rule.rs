//! Tryton record-rule domains (`ir_rule.domain`, PYSON-encoded JSON) → SQL conditions.
//! Only what can be translated exactly is: comparisons of a model's own stored columns
//! with literals or the evaluation context (`user_id`, `groups`). Anything else — dotted
//! paths, `child_of`, `like`, other PYSON — is refused, and the caller fails closed.

use serde_json::Value as Json;

use crate::db::{Param, Sql};

/// A parsed domain.
#[derive(Debug, Clone, PartialEq)]
pub enum Domain {
    And(Vec<Domain>),
    Or(Vec<Domain>),
    Leaf { field: String, op: Op, value: Value },
}

/// A comparison operator of a domain leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
}

/// A literal of a domain leaf (PYSON already evaluated).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    List(Vec<Value>),
}

/// What PYSON `Eval` may read while a rule is decoded (trytond's rule context).
#[derive(Debug, Clone)]
pub struct EvalContext {
    pub user_id: i64,
    pub groups: Vec<i64>,
}

impl Domain {
    /// Always true (an empty domain).
    pub fn all() -> Domain {
        Domain::And(Vec::new())
    }

    /// Every leaf's field name.
    pub fn fields(&self) -> Vec<&str> {
        match self {
            Domain::And(v) | Domain::Or(v) => v.iter().flat_map(Domain::fields).collect(),
            Domain::Leaf { field, .. } => vec![field.as_str()],
        }
    }

    /// Every leaf, for type checks against the columns.
    pub fn leaves(&self) -> Vec<(&str, &Value)> {
        match self {
            Domain::And(v) | Domain::Or(v) => v.iter().flat_map(Domain::leaves).collect(),
            Domain::Leaf { field, value, .. } => vec![(field.as_str(), value)],
        }
    }

    /// Append the condition over the columns of table alias `alias`.
    pub fn to_sql(&self, sql: &mut Sql, alias: &str) {
        match self {
            Domain::And(v) | Domain::Or(v) if v.is_empty() => {
                sql.push(if matches!(self, Domain::And(_)) {
                    "1 = 1"
                } else {
                    "1 = 0"
                });
            }
            Domain::And(v) | Domain::Or(v) => {
                let joiner = if matches!(self, Domain::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                sql.push("(");
                for (i, d) in v.iter().enumerate() {
                    if i > 0 {
                        sql.push(joiner);
                    }
                    d.to_sql(sql, alias);
                }
                sql.push(")");
            }
            Domain::Leaf { field, op, value } => {
                leaf_sql(sql, &format!("{alias}.\"{field}\""), *op, value)
            }
        }
    }
}

fn leaf_sql(sql: &mut Sql, col: &str, op: Op, value: &Value) {
    match (op, value) {
        (Op::Eq, Value::Null) => {
            sql.push(&format!("{col} IS NULL"));
        }
        (Op::Ne, Value::Null) => {
            sql.push(&format!("{col} IS NOT NULL"));
        }
        // Tryton's false is "false or NULL".
        (Op::Eq, Value::Bool(b)) | (Op::Ne, Value::Bool(b)) => {
            let t = sql.is_true(col);
            if *b == (op == Op::Eq) {
                sql.push(&t);
            } else {
                sql.push(&format!("NOT ({t})"));
            }
        }
        (Op::In, Value::List(items)) | (Op::NotIn, Value::List(items)) => {
            let has_null = items.contains(&Value::Null);
            let values: Vec<&Value> = items.iter().filter(|v| **v != Value::Null).collect();
            let negate = op == Op::NotIn;
            sql.push("(");
            if values.is_empty() {
                sql.push(if negate { "1 = 1" } else { "1 = 0" });
            } else {
                sql.push(col)
                    .push(if negate { " NOT IN (" } else { " IN (" });
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        sql.push(", ");
                    }
                    sql.param(param(v));
                }
                sql.push(")");
            }
            if has_null {
                sql.push(&if negate {
                    format!(" AND {col} IS NOT NULL")
                } else {
                    format!(" OR {col} IS NULL")
                });
            }
            sql.push(")");
        }
        (op, v) => {
            let sym = match op {
                Op::Eq | Op::In => " = ",
                Op::Ne | Op::NotIn => " != ",
                Op::Lt => " < ",
                Op::Le => " <= ",
                Op::Gt => " > ",
                Op::Ge => " >= ",
            };
            sql.push(col).push(sym);
            sql.param(param(v));
        }
    }
}

fn param(v: &Value) -> Param {
    match v {
        Value::Bool(b) => Param::Bool(*b),
        Value::Int(i) => Param::Int(*i),
        Value::Float(f) => Param::Float(*f),
        Value::Text(s) => Param::Text(s.clone()),
        // Parsing keeps lists out of scalar positions and NULL out of comparisons.
        Value::Null | Value::List(_) => Param::Text(String::new()),
    }
}

/// Decode one rule's domain; `Err` says why it cannot be translated.
pub fn parse(text: &str, ctx: &EvalContext) -> Result<Domain, String> {
    let json: Json =
        serde_json::from_str(text).map_err(|e| format!("the domain is not JSON: {e}"))?;
    domain(&json, ctx)
}

fn domain(json: &Json, ctx: &EvalContext) -> Result<Domain, String> {
    let items = json
        .as_array()
        .ok_or_else(|| format!("a domain must be a list, not {json}"))?;
    let (or, rest) = match items.first().and_then(Json::as_str) {
        Some("OR") => (true, &items[1..]),
        Some("AND") => (false, &items[1..]),
        Some(_) if is_leaf(items) => return leaf(items, ctx),
        _ => (false, &items[..]),
    };
    let parts = rest
        .iter()
        .map(|item| match item.as_array() {
            Some(a) if is_leaf(a) => leaf(a, ctx),
            Some(_) => domain(item, ctx),
            None => Err(format!("unexpected domain element {item}")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(if or {
        Domain::Or(parts)
    } else {
        Domain::And(parts)
    })
}

/// `[field, operator, value]` or `[field, operator, value, target model]`.
fn is_leaf(items: &[Json]) -> bool {
    (items.len() == 3 || items.len() == 4)
        && items[0].is_string()
        && items[1].is_string()
        && !matches!(items[0].as_str(), Some("AND") | Some("OR"))
}

fn leaf(items: &[Json], ctx: &EvalContext) -> Result<Domain, String> {
    let field = items[0].as_str().unwrap_or_default();
    let op_text = items[1].as_str().unwrap_or_default();
    if items.len() == 4 {
        return Err(format!("'{field}': reference domains are not supported"));
    }
    let valid_name = field
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && field
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid_name {
        return Err(format!(
            "'{field}': only a model's own fields can be translated (no dotted paths)"
        ));
    }
    let op = match op_text {
        "=" => Op::Eq,
        "!=" => Op::Ne,
        "<" => Op::Lt,
        "<=" => Op::Le,
        ">" => Op::Gt,
        ">=" => Op::Ge,
        "in" => Op::In,
        "not in" => Op::NotIn,
        other => return Err(format!("'{field}': operator '{other}' is not supported")),
    };
    let value = value(&items[2], ctx)?;
    match (&value, op) {
        (Value::List(items), Op::In | Op::NotIn)
            if items.iter().any(|v| matches!(v, Value::List(_))) =>
        {
            return Err(format!("'{field}': nested lists"));
        }
        (Value::List(_), Op::In | Op::NotIn) => {}
        (Value::List(_), _) => return Err(format!("'{field}': a list needs 'in' or 'not in'")),
        (_, Op::In | Op::NotIn) => return Err(format!("'{field}': 'in' needs a list")),
        (Value::Null, Op::Eq | Op::Ne) => {}
        (Value::Null, _) => return Err(format!("'{field}': ordering against NULL")),
        _ => {}
    }
    Ok(Domain::Leaf {
        field: field.to_owned(),
        op,
        value,
    })
}

fn value(json: &Json, ctx: &EvalContext) -> Result<Value, String> {
    Ok(match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().ok_or("number out of range")?),
        },
        Json::String(s) => Value::Text(s.clone()),
        Json::Array(a) => Value::List(
            a.iter()
                .map(|v| value(v, ctx))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Json::Object(o) => match o.get("__class__").and_then(Json::as_str) {
            Some("Eval") => match o.get("v").and_then(Json::as_str) {
                Some("user_id") => Value::Int(ctx.user_id),
                Some("groups") => Value::List(ctx.groups.iter().map(|g| Value::Int(*g)).collect()),
                Some(other) => return Err(format!("PYSON Eval of '{other}' is not supported")),
                None => return Err("PYSON Eval without a name".into()),
            },
            Some(class) => return Err(format!("PYSON {class} is not supported")),
            None => return Err(format!("unexpected object {json}")),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Dialect;

    fn ctx() -> EvalContext {
        EvalContext {
            user_id: 7,
            groups: vec![3, 4],
        }
    }

    fn sql_of(text: &str) -> (String, Vec<Param>) {
        let d = match parse(text, &ctx()) {
            Ok(d) => d,
            Err(e) => panic!("{text}: {e}"),
        };
        let mut sql = Sql::new(Dialect::Sqlite);
        d.to_sql(&mut sql, "r");
        (sql.text().to_owned(), sql.params().to_vec())
    }

    #[test]
    fn translates_comparisons_and_context() {
        let (text, params) = sql_of(r#"[["dose", "=", 1]]"#);
        assert_eq!(text, "(r.\"dose\" = ?1)");
        assert_eq!(params, vec![Param::Int(1)]);
        let (text, params) = sql_of(
            r#"["OR", [["create_uid", "=", {"__class__": "Eval", "v": "user_id", "d": -1}]], ["group", "in", {"__class__": "Eval", "v": "groups", "d": []}]]"#,
        );
        assert_eq!(
            text,
            "((r.\"create_uid\" = ?1) OR (r.\"group\" IN (?2, ?3)))"
        );
        assert_eq!(params, vec![Param::Int(7), Param::Int(3), Param::Int(4)]);
    }

    #[test]
    fn null_bool_and_empty_lists() {
        assert_eq!(
            sql_of(r#"[["company", "=", null]]"#).0,
            "(r.\"company\" IS NULL)"
        );
        assert_eq!(
            sql_of(r#"[["active", "=", false]]"#).0,
            "(NOT (COALESCE(r.\"active\", 0) = 1))"
        );
        assert_eq!(sql_of(r#"[["state", "in", []]]"#).0, "((1 = 0))");
        assert_eq!(sql_of(r#"[["state", "not in", []]]"#).0, "((1 = 1))");
        assert_eq!(
            sql_of(r#"[["company", "in", [1, null]]]"#).0,
            "((r.\"company\" IN (?1) OR r.\"company\" IS NULL))"
        );
        assert_eq!(sql_of("[]").0, "1 = 1");
    }

    #[test]
    fn refuses_what_it_cannot_translate_exactly() {
        for text in [
            r#"[["patient.name", "=", "x"]]"#,
            r#"[["name", "ilike", "%a%"]]"#,
            r#"[["parent", "child_of", [1]]]"#,
            r#"[["company", "in", {"__class__": "Eval", "v": "companies", "d": []}]]"#,
            r#"[["x", "=", {"__class__": "If", "c": true, "t": 1, "e": 2}]]"#,
            r#"[["x", "<", null]]"#,
            r#"[["x", "in", 3]]"#,
            r#"[["Bad Name", "=", 1]]"#,
            "not json",
        ] {
            assert!(parse(text, &ctx()).is_err(), "{text} should be refused");
        }
    }
}
