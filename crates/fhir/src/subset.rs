//! `_summary` and `_elements` (R4 §3.1.1.5.8–9): which elements of a resource a client
//! asked for, decided from the element table, and the `SUBSETTED` tag every resource
//! with elements left out carries (R4 §6.1.0.6).

use serde_json::{Map, Value};

use crate::definitions::{self, Kind, TypeDef};

/// The values of `_summary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Summary {
    /// Only elements marked as summary (and mandatory ones).
    True,
    /// `text`, `id`, `meta` and the mandatory top-level elements.
    Text,
    /// Everything but `text`.
    Data,
    /// Only the number of matches (searches).
    Count,
    /// Everything.
    #[default]
    False,
}

impl Summary {
    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "true" => Ok(Summary::True),
            "text" => Ok(Summary::Text),
            "data" => Ok(Summary::Data),
            "count" => Ok(Summary::Count),
            "false" => Ok(Summary::False),
            _ => Err(format!(
                "_summary '{value}' is not one of true, text, data, count, false"
            )),
        }
    }
}

/// What a client asked to see of each resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subset {
    pub summary: Summary,
    /// `_elements`: the top-level elements asked for (as written, without `[x]`).
    pub elements: Option<Vec<String>>,
}

impl Subset {
    /// True when nothing is left out.
    pub fn is_full(&self) -> bool {
        matches!(self.summary, Summary::False | Summary::Count) && self.elements.is_none()
    }

    /// Leave out of `resource` what was not asked for; tags it `SUBSETTED` when
    /// anything was left out. Types the table does not know are left alone.
    pub fn apply(&self, resource: &mut Value) {
        let Some(def) = resource
            .get("resourceType")
            .and_then(Value::as_str)
            .and_then(definitions::resource)
        else {
            return;
        };
        let Some(obj) = resource.as_object_mut() else {
            return;
        };
        let mut removed = false;
        if let Some(names) = &self.elements {
            removed |= retain(obj, def, |el| {
                el.mandatory() || names.iter().any(|n| n == el.name)
            });
        }
        removed |= match self.summary {
            Summary::True => summary(obj, def),
            Summary::Text => retain(obj, def, |el| el.mandatory() || el.name == "text"),
            Summary::Data => retain(obj, def, |el| el.name != "text"),
            Summary::False | Summary::Count => false,
        };
        if removed {
            mark_subsetted(resource);
        }
    }
}

/// Keep the elements of `obj` for which `keep` holds (and always `id`, `meta` and
/// `resourceType`); true when something was removed.
fn retain(
    obj: &mut Map<String, Value>,
    def: &TypeDef,
    keep: impl Fn(&definitions::Element) -> bool,
) -> bool {
    let before = obj.len();
    obj.retain(|key, _| {
        let base = key.strip_prefix('_').unwrap_or(key);
        key == "resourceType"
            || base == "id"
            || base == "meta"
            || def.element(base).is_some_and(|(el, _)| keep(el))
    });
    obj.len() != before
}

/// `_summary=true`: summary and mandatory elements, recursively through backbone
/// elements (datatypes are kept whole: a partial `HumanName` is no use).
fn summary(obj: &mut Map<String, Value>, def: &TypeDef) -> bool {
    let mut removed = retain(obj, def, |el| el.summary() || el.mandatory());
    for (key, value) in obj.iter_mut() {
        let Some(inner) = def
            .element(key)
            .and_then(|(_, ty)| definitions::find(ty))
            .filter(|t| t.kind == Kind::Backbone)
        else {
            continue;
        };
        let items: Vec<&mut Value> = match value {
            Value::Array(a) => a.iter_mut().collect(),
            v => vec![v],
        };
        for item in items {
            if let Some(o) = item.as_object_mut() {
                removed |= summary(o, inner);
            }
        }
    }
    removed
}

/// The tag a resource with elements left out carries (R4 §6.1.0.6).
pub const SUBSETTED_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";

/// Tag `resource` as `SUBSETTED`, once however many reasons there are.
pub fn mark_subsetted(resource: &mut Value) {
    let Some(obj) = resource.as_object_mut() else {
        return;
    };
    let meta = obj
        .entry("meta")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(meta) = meta.as_object_mut() else {
        return;
    };
    let tags = meta
        .entry("tag")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(tags) = tags.as_array_mut() else {
        return;
    };
    let tagged = tags
        .iter()
        .any(|t| t["system"] == SUBSETTED_SYSTEM && t["code"] == "SUBSETTED");
    if !tagged {
        tags.push(serde_json::json!({
            "system": SUBSETTED_SYSTEM,
            "code": "SUBSETTED",
            "display": "subsetted",
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn observation() -> Value {
        json!({
            "resourceType": "Observation",
            "id": "1",
            "meta": {"versionId": "7"},
            "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
            "status": "final",
            "code": {"text": "weight"},
            "subject": {"reference": "Patient/1"},
            "valueQuantity": {"value": 70},
            "note": [{"text": "calm"}],
            "component": [{"code": {"text": "a"}, "valueString": "b", "interpretation": [{"text": "c"}]}],
        })
    }

    fn subset(summary: Summary, elements: Option<&[&str]>) -> Value {
        let mut r = observation();
        let s = Subset {
            summary,
            elements: elements.map(|e| e.iter().map(|s| (*s).to_owned()).collect()),
        };
        s.apply(&mut r);
        r
    }

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    fn tagged(v: &Value) -> bool {
        v["meta"]["tag"]
            .as_array()
            .is_some_and(|t| t.iter().filter(|t| t["code"] == "SUBSETTED").count() == 1)
    }

    #[test]
    fn summary_true_keeps_summary_and_mandatory_elements() {
        let r = subset(Summary::True, None);
        assert_eq!(
            keys(&r),
            [
                "resourceType",
                "id",
                "meta",
                "status",
                "code",
                "subject",
                "valueQuantity",
                "component"
            ]
        );
        // Backbone elements are subset too: component.interpretation is not summary.
        assert_eq!(keys(&r["component"][0]), ["code", "valueString"]);
        assert!(tagged(&r));
    }

    #[test]
    fn text_data_false_and_elements() {
        let r = subset(Summary::Text, None);
        assert_eq!(
            keys(&r),
            ["resourceType", "id", "meta", "text", "status", "code"]
        );
        let r = subset(Summary::Data, None);
        assert!(r.get("text").is_none() && r.get("note").is_some() && tagged(&r));
        assert_eq!(subset(Summary::False, None), observation());
        let r = subset(Summary::False, Some(&["subject", "value", "nothing"]));
        assert_eq!(
            keys(&r),
            [
                "resourceType",
                "id",
                "meta",
                "status",
                "code",
                "subject",
                "valueQuantity"
            ]
        );
        assert!(tagged(&r));
    }

    #[test]
    fn the_tag_is_added_once() {
        let mut r = observation();
        mark_subsetted(&mut r);
        Subset {
            summary: Summary::Data,
            elements: None,
        }
        .apply(&mut r);
        assert!(tagged(&r));
        assert_eq!(r["meta"]["versionId"], "7");
        assert!(Summary::parse("maybe").is_err());
        assert_eq!(Summary::parse("count"), Ok(Summary::Count));
    }
}
