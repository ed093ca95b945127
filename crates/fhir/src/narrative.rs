//! Generated narratives (`text`, status `generated`): a short XHTML table of what a resource
//! says, for people reading it, built from the resource's own JSON — so it never shows more
//! than the resource holds (elements left out for access rights are left out here too).

use serde_json::Value;

/// How many items of a repeating element the table shows.
const MAX_ITEMS: usize = 5;

/// Elements that are about the resource, not its content.
const SKIPPED: &[&str] = &[
    "resourceType",
    "id",
    "meta",
    "text",
    "contained",
    "extension",
    "modifierExtension",
    "implicitRules",
    "language",
];

/// Text content needs only these three (no attribute carries data): the div reads the
/// same in JSON and once re-serialized in XML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `birthDate` → `Birth date`.
fn label(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if i == 0 {
            out.push(c.to_ascii_uppercase());
        } else if c.is_ascii_uppercase() {
            out.push(' ');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A one-line text for a value: a primitive as it is; a datatype by what people read of
/// it (display, text, name, quantity with unit, period, reference).
fn summary(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "yes" } else { "no" }.to_owned()),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(summary).collect();
            if parts.is_empty() {
                return None;
            }
            let more = parts.len().saturating_sub(MAX_ITEMS);
            let mut text = parts
                .into_iter()
                .take(MAX_ITEMS)
                .collect::<Vec<_>>()
                .join("; ");
            if more > 0 {
                text.push_str(&format!("; and {more} more"));
            }
            Some(text)
        }
        Value::Object(o) => {
            let field = |k: &str| o.get(k).and_then(summary);
            if let Some(t) = field("text").or_else(|| field("display")) {
                return Some(t);
            }
            if let Some(codings) = o.get("coding").and_then(Value::as_array) {
                return codings.iter().find_map(|c| {
                    c.get("display")
                        .and_then(summary)
                        .or_else(|| c.get("code").and_then(summary))
                });
            }
            if o.contains_key("family") || o.contains_key("given") {
                let mut parts: Vec<String> = o
                    .get("given")
                    .and_then(Value::as_array)
                    .map(|g| g.iter().filter_map(summary).collect())
                    .unwrap_or_default();
                parts.extend(field("family"));
                return (!parts.is_empty()).then(|| parts.join(" "));
            }
            if let Some(v) = field("value") {
                let unit = field("unit").or_else(|| field("code"));
                let system = field("system").filter(|_| o.contains_key("use") || unit.is_none());
                return Some(
                    [system, Some(v), unit]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" "),
                );
            }
            if o.contains_key("start") || o.contains_key("end") {
                return Some(format!(
                    "{} – {}",
                    field("start").unwrap_or_default(),
                    field("end").unwrap_or_default()
                ));
            }
            if let Some(r) = field("reference") {
                return Some(r);
            }
            let lines: Vec<String> = ["line", "city", "postalCode", "country"]
                .iter()
                .filter_map(|k| field(k))
                .collect();
            if !lines.is_empty() {
                return Some(lines.join(", "));
            }
            // A backbone element: its parts, briefly.
            let parts: Vec<String> = o
                .iter()
                .filter(|(k, _)| !SKIPPED.contains(&k.as_str()))
                .filter_map(|(k, v)| Some(format!("{}: {}", label(k), summary(v)?)))
                .take(MAX_ITEMS)
                .collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
        _ => None,
    }
}

/// The narrative of `resource`: its type and id, then a row per element.
pub fn generate(resource: &Value) -> Option<Value> {
    let o = resource.as_object()?;
    let type_name = o.get("resourceType")?.as_str()?;
    let mut rows = String::new();
    for (name, value) in o.iter().filter(|(k, _)| !SKIPPED.contains(&k.as_str())) {
        if let Some(text) = summary(value) {
            rows.push_str(&format!(
                "<tr><th>{}</th><td>{}</td></tr>",
                escape(&label(name)),
                escape(&text)
            ));
        }
    }
    let id = o.get("id").and_then(Value::as_str).unwrap_or("");
    let div = format!(
        "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p><b>{} {}</b></p>{}</div>",
        escape(type_name),
        escape(id),
        if rows.is_empty() {
            String::new()
        } else {
            format!("<table>{rows}</table>")
        }
    );
    Some(serde_json::json!({"status": "generated", "div": div}))
}

/// Give `resource` its generated narrative, unless it has one. `text` goes right after
/// `meta` (R4 element order), which the JSON map keeps.
pub fn add(resource: &mut Value) {
    if resource.get("text").is_some() {
        return;
    }
    let Some(text) = generate(resource) else {
        return;
    };
    let Some(o) = resource.as_object_mut() else {
        return;
    };
    let entries: Vec<(String, Value)> = std::mem::take(o).into_iter().collect();
    let mut placed = false;
    for (k, v) in entries {
        let after = k == "meta";
        let before_content = !placed && !["resourceType", "id", "meta"].contains(&k.as_str());
        if before_content {
            o.insert("text".into(), text.clone());
            placed = true;
        }
        o.insert(k, v);
        if after && !placed {
            o.insert("text".into(), text.clone());
            placed = true;
        }
    }
    if !placed {
        o.insert("text".into(), text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summarises_the_elements_in_xhtml() {
        let mut p = json!({
            "resourceType": "Patient",
            "id": "7",
            "meta": {"versionId": "1"},
            "name": [{"family": "Pérez", "given": ["Ana", "María"]}],
            "gender": "female",
            "birthDate": "1980-02-03",
            "active": true,
            "generalPractitioner": [{"reference": "Practitioner/2"}],
            "note": "<script>"
        });
        add(&mut p);
        let keys: Vec<&String> = p
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys[..4], ["resourceType", "id", "meta", "text"]);
        let div = p["text"]["div"].as_str().unwrap_or_default();
        assert_eq!(p["text"]["status"], "generated");
        assert!(div.starts_with("<div xmlns=\"http://www.w3.org/1999/xhtml\">"));
        assert!(div.contains("<b>Patient 7</b>"));
        assert!(div.contains("<th>Birth date</th><td>1980-02-03</td>"));
        assert!(div.contains("<td>Ana María Pérez</td>"));
        assert!(div.contains("<td>Practitioner/2</td>"));
        assert!(div.contains("&lt;script&gt;") && !div.contains("<script>"));
        // Never twice.
        let before = p.clone();
        add(&mut p);
        assert_eq!(p, before);
    }

    #[test]
    fn quantities_codes_and_periods() {
        assert_eq!(
            summary(&json!({"value": 5.4, "unit": "mg/dL"})).as_deref(),
            Some("5.4 mg/dL")
        );
        assert_eq!(
            summary(&json!({"coding": [{"system": "x", "code": "E11"}]})).as_deref(),
            Some("E11")
        );
        assert_eq!(
            summary(&json!({"start": "2020", "end": "2021"})).as_deref(),
            Some("2020 – 2021")
        );
        assert_eq!(summary(&json!([])), None);
    }
}
