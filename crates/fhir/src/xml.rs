//! The FHIR R4 XML format: JSON resources (as `serde_json::Value`) to XML and back.
//!
//! Both directions descend the generated element table (`definitions`): XML elements
//! come in definition order whatever the JSON key order, primitives are `value`
//! attributes with their `_name` siblings (id, extensions) merged in, `id` of elements and
//! `Extension.url` are attributes, embedded resources are wrapped in an element named by
//! their type, and the narrative `div` is XHTML copied verbatim. Reading uses the same
//! table to know which elements repeat and which primitives are JSON numbers or booleans.

use std::borrow::Cow;

use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesEnd, BytesStart, Event};
use quick_xml::name::QName;
use quick_xml::{Reader, Writer, XmlVersion};
use serde_json::{Map, Value};

use crate::definitions::{self, Element, TypeDef};

/// The FHIR namespace every FHIR element is in.
pub const FHIR_NS: &str = "http://hl7.org/fhir";
/// The namespace of the narrative `div`.
pub const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum XmlError {
    /// An element (JSON key or XML element/attribute) R4 does not define there.
    #[error("unknown element '{0}'")]
    Unknown(String),
    /// A value of the wrong shape or type.
    #[error("invalid value at '{path}': {message}")]
    Invalid { path: String, message: String },
    /// Not well-formed XML.
    #[error("malformed XML: {0}")]
    Syntax(String),
}

fn invalid(path: &str, message: impl Into<String>) -> XmlError {
    XmlError::Invalid {
        path: path.to_owned(),
        message: message.into(),
    }
}

fn io(e: std::io::Error) -> XmlError {
    // Writing to a Vec cannot fail; kept as an error rather than a panic all the same.
    XmlError::Syntax(e.to_string())
}

/// A resource (JSON) as FHIR XML, indented when `pretty`.
pub fn to_xml(resource: &Value, pretty: bool) -> Result<Vec<u8>, XmlError> {
    let writer = if pretty {
        Writer::new_with_indent(Vec::new(), b' ', 2)
    } else {
        Writer::new(Vec::new())
    };
    let mut w = XmlWriter { w: writer };
    w.resource(resource, "", true)?;
    Ok(w.w.into_inner())
}

struct XmlWriter {
    w: Writer<Vec<u8>>,
}

/// The concrete element name of every key of `obj` (`_x` folded into `x`); an error for a
/// key the type does not define.
fn check_keys(obj: &Map<String, Value>, def: &TypeDef, path: &str) -> Result<(), XmlError> {
    for key in obj.keys() {
        if key == "resourceType" && def.kind == definitions::Kind::Resource {
            continue;
        }
        let base = key.strip_prefix('_').unwrap_or(key);
        match def.element(base) {
            // `_x` only exists for primitives.
            Some((_, ty)) if base == key || definitions::is_primitive(ty) => {}
            _ => return Err(XmlError::Unknown(format!("{path}.{key}"))),
        }
    }
    Ok(())
}

impl XmlWriter {
    fn event(&mut self, e: Event<'_>) -> Result<(), XmlError> {
        self.w.write_event(e).map_err(io)
    }

    fn resource(&mut self, v: &Value, path: &str, root: bool) -> Result<(), XmlError> {
        let obj = v
            .as_object()
            .ok_or_else(|| invalid(path, "a resource must be an object"))?;
        let rt = obj
            .get("resourceType")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(path, "resourceType is missing"))?;
        let def = definitions::resource(rt).ok_or_else(|| XmlError::Unknown(rt.to_owned()))?;
        let path = if path.is_empty() {
            rt.to_owned()
        } else {
            format!("{path}.{rt}")
        };
        check_keys(obj, def, &path)?;
        let mut start = BytesStart::new(rt);
        // Embedded resources inherit the namespace from the document element.
        if root {
            start.push_attribute(("xmlns", FHIR_NS));
        }
        self.event(Event::Start(start))?;
        self.children(obj, def, &path)?;
        self.event(Event::End(BytesEnd::new(rt)))
    }

    /// The child elements of `obj` (a complex value of type `def`), in definition order.
    fn children<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        def: &TypeDef,
        path: &str,
    ) -> Result<(), XmlError> {
        // Most objects have no `_x` keys and few keys at all: look up only what can be
        // there, without building every possible key of the type.
        let underscores = obj.keys().any(|k| k.starts_with('_'));
        for el in def.elements.iter().filter(|el| !el.xml_attr()) {
            if el.choice()
                && !obj
                    .keys()
                    .any(|k| k.trim_start_matches('_').starts_with(el.name))
            {
                continue;
            }
            for ty in el.types {
                let name: Cow<'static, str> = if el.choice() {
                    Cow::Owned(el.name_for(ty))
                } else {
                    Cow::Borrowed(el.name)
                };
                let v = obj.get(name.as_ref());
                let u = if underscores {
                    obj.get(&format!("_{name}"))
                } else {
                    None
                };
                if v.is_none() && u.is_none() {
                    continue;
                }
                let path = format!("{path}.{name}");
                if el.repeats() {
                    let as_array = |x: Option<&'a Value>| match x {
                        None => Ok(&[][..]),
                        Some(Value::Array(a)) => Ok(a.as_slice()),
                        Some(_) => Err(invalid(&path, "a repeating element must be an array")),
                    };
                    let (vs, us) = (as_array(v)?, as_array(u)?);
                    if !vs.is_empty() && !us.is_empty() && vs.len() != us.len() {
                        return Err(invalid(
                            &path,
                            format!("_{name} is not aligned with {name}"),
                        ));
                    }
                    for i in 0..vs.len().max(us.len()) {
                        self.value(el, &name, ty, vs.get(i), us.get(i), &path)?;
                    }
                } else {
                    self.value(el, &name, ty, v, u, &path)?;
                }
            }
        }
        Ok(())
    }

    fn value(
        &mut self,
        el: &Element,
        name: &str,
        ty: &str,
        v: Option<&Value>,
        u: Option<&Value>,
        path: &str,
    ) -> Result<(), XmlError> {
        let v = v.filter(|v| !v.is_null());
        let u = u.filter(|u| !u.is_null());
        if ty == "xhtml" {
            let div = v
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(path, "the narrative must be a string"))?;
            return self.xhtml(div, path);
        }
        if definitions::is_primitive(ty) {
            return self.primitive(name, ty, v, u, path);
        }
        let v = v.ok_or_else(|| invalid(path, "null where a value is needed"))?;
        if ty == "Resource" {
            self.event(Event::Start(BytesStart::new(name)))?;
            self.resource(v, path, false)?;
            return self.event(Event::End(BytesEnd::new(name)));
        }
        let def = definitions::find(ty).ok_or_else(|| XmlError::Unknown(ty.to_owned()))?;
        let obj = v
            .as_object()
            .ok_or_else(|| invalid(path, format!("{} must be an object", el.name)))?;
        check_keys(obj, def, path)?;
        let mut start = BytesStart::new(name);
        for attr in def.elements.iter().filter(|e| e.xml_attr()) {
            if let Some(value) = obj.get(attr.name) {
                let text = value
                    .as_str()
                    .ok_or_else(|| invalid(path, format!("{} must be a string", attr.name)))?;
                start.push_attribute(attribute(attr.name, text, path)?);
            }
        }
        let has_children = obj.keys().any(|k| {
            def.element(k.trim_start_matches('_'))
                .is_some_and(|(e, _)| !e.xml_attr())
        });
        if !has_children {
            return self.event(Event::Empty(start));
        }
        self.event(Event::Start(start))?;
        self.children(obj, def, path)?;
        self.event(Event::End(BytesEnd::new(name)))
    }

    fn primitive(
        &mut self,
        name: &str,
        ty: &str,
        v: Option<&Value>,
        u: Option<&Value>,
        path: &str,
    ) -> Result<(), XmlError> {
        let mut start = BytesStart::new(name);
        let mut extensions: &[Value] = &[];
        if let Some(u) = u {
            let u = u
                .as_object()
                .ok_or_else(|| invalid(path, format!("_{name} must be an object")))?;
            for (k, x) in u {
                match (k.as_str(), x) {
                    ("id", Value::String(id)) => start.push_attribute(attribute("id", id, path)?),
                    ("extension", Value::Array(a)) => extensions = a,
                    _ => return Err(XmlError::Unknown(format!("{path}._{name}.{k}"))),
                }
            }
        }
        if let Some(v) = v {
            let text = match v {
                Value::String(s) => Cow::Borrowed(s.as_str()),
                Value::Number(n) if definitions::is_number(ty) => Cow::Owned(n.to_string()),
                Value::Bool(b) if ty == "boolean" => {
                    Cow::Borrowed(if *b { "true" } else { "false" })
                }
                _ => return Err(invalid(path, format!("not a FHIR {ty}: {v}"))),
            };
            start.push_attribute(attribute("value", &text, path)?);
        }
        if extensions.is_empty() {
            return self.event(Event::Empty(start));
        }
        self.event(Event::Start(start))?;
        let def =
            definitions::find("Extension").ok_or_else(|| XmlError::Unknown("Extension".into()))?;
        let ext = def
            .elements
            .iter()
            .find(|e| e.name == "extension")
            .ok_or_else(|| XmlError::Unknown("Extension.extension".into()))?;
        for x in extensions {
            self.value(
                ext,
                "extension",
                "Extension",
                Some(x),
                None,
                &format!("{path}.extension"),
            )?;
        }
        self.event(Event::End(BytesEnd::new(name)))
    }

    /// The narrative, copied as it is once checked to be one well-formed XHTML `div`.
    fn xhtml(&mut self, div: &str, path: &str) -> Result<(), XmlError> {
        let mut reader = Reader::from_str(div);
        let mut depth = 0usize;
        let mut first = true;
        loop {
            let event = reader
                .read_event()
                .map_err(|e| invalid(path, format!("the narrative is not well-formed: {e}")))?;
            match event {
                Event::Start(ref e) | Event::Empty(ref e) if first => {
                    let xmlns = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key == QName("xmlns"))
                        .map(|a| a.value.into_owned());
                    let opens = matches!(event, Event::Start(_));
                    if e.name() != QName("div") || xmlns.as_deref() != Some(XHTML_NS) {
                        return Err(invalid(
                            path,
                            format!("the narrative must be a <div xmlns=\"{XHTML_NS}\">"),
                        ));
                    }
                    depth += usize::from(opens);
                    first = false;
                }
                Event::Start(_) => depth += 1,
                Event::End(_) => depth = depth.saturating_sub(1),
                Event::Eof => break,
                Event::Text(ref t) if depth == 0 && !t.trim().is_empty() => {
                    return Err(invalid(path, "text outside the narrative div"));
                }
                _ if depth == 0 && !first && !matches!(event, Event::Text(_)) => {
                    return Err(invalid(path, "more than one element in the narrative"));
                }
                _ => {}
            }
        }
        if first {
            return Err(invalid(path, "the narrative is empty"));
        }
        self.w.write_indent().map_err(io)?;
        std::io::Write::write_all(self.w.get_mut(), div.as_bytes()).map_err(io)
    }
}

/// An attribute with every character a parser would otherwise normalise (line breaks,
/// tabs) escaped, so that the value comes back exactly.
fn attribute<'a>(key: &'a str, value: &str, path: &str) -> Result<Attribute<'a>, XmlError> {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                return Err(invalid(
                    path,
                    format!("U+{:04X} cannot be written in XML", c as u32),
                ));
            }
            c => out.push(c),
        }
    }
    Ok(Attribute {
        key: QName(key),
        value: Cow::Owned(out),
    })
}

/// A parsed XML element: what the JSON conversion needs and nothing more.
struct Node {
    name: String,
    /// The default namespace in scope.
    ns: String,
    attrs: Vec<(String, String)>,
    children: Vec<Node>,
    /// For an XHTML `div`: the element as written.
    raw: Option<String>,
}

/// FHIR XML (one resource) as its JSON form.
pub fn from_xml(xml: &str) -> Result<Value, XmlError> {
    let root = parse(xml)?;
    if root.ns != FHIR_NS {
        return Err(XmlError::Syntax(format!(
            "the root element must be in the namespace {FHIR_NS}"
        )));
    }
    read_resource(&root, "")
}

fn syntax(e: impl std::fmt::Display) -> XmlError {
    XmlError::Syntax(e.to_string())
}

fn parse(xml: &str) -> Result<Node, XmlError> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Node> = Vec::new();
    loop {
        let before = reader.buffer_position();
        let event = reader.read_event().map_err(syntax)?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let mut node = Node {
                    name: e.name().as_ref().to_owned(),
                    ns: stack.last().map(|n| n.ns.clone()).unwrap_or_default(),
                    attrs: Vec::new(),
                    children: Vec::new(),
                    raw: None,
                };
                for a in e.attributes() {
                    let a = a.map_err(syntax)?;
                    let value = a
                        .normalized_value(XmlVersion::Implicit1_0)
                        .map_err(syntax)?;
                    match a.key.as_ref() {
                        "xmlns" => node.ns = value.into_owned(),
                        k if k.starts_with("xmlns:") => {}
                        k => node.attrs.push((k.to_owned(), value.into_owned())),
                    }
                }
                if node.ns == XHTML_NS {
                    // Narrative: keep the element exactly as written (its start tag begins
                    // after any whitespace skipped before it).
                    if !empty {
                        reader.read_to_end(e.name()).map_err(syntax)?;
                    }
                    let end = usize::try_from(reader.buffer_position()).map_err(syntax)?;
                    let before = usize::try_from(before).map_err(syntax)?;
                    let text = xml.get(before..end).unwrap_or_default();
                    node.raw = Some(text.trim_start().to_owned());
                } else if !empty {
                    stack.push(node);
                    continue;
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    // An empty document element.
                    None => return Ok(node),
                }
            }
            Event::End(_) => {
                let node = stack.pop().ok_or_else(|| syntax("unbalanced end tag"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return Ok(node),
                }
            }
            Event::Text(t) if t.trim().is_empty() => {}
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                let at = stack.last().map_or("", |n| n.name.as_str());
                return Err(XmlError::Syntax(format!(
                    "text content in <{at}>: FHIR elements hold values in attributes"
                )));
            }
            Event::Eof => return Err(syntax("no complete root element")),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
}

fn read_resource(node: &Node, path: &str) -> Result<Value, XmlError> {
    let path = if path.is_empty() {
        node.name.clone()
    } else {
        format!("{path}.{}", node.name)
    };
    if node.ns != FHIR_NS {
        return Err(XmlError::Unknown(path));
    }
    let def = definitions::resource(&node.name).ok_or_else(|| XmlError::Unknown(path.clone()))?;
    if let Some((a, _)) = node.attrs.first() {
        return Err(XmlError::Unknown(format!("{path}@{a}")));
    }
    let mut obj = Map::new();
    obj.insert("resourceType".into(), Value::String(node.name.clone()));
    read_children(node, def, &path, &mut obj)?;
    Ok(Value::Object(obj))
}

/// One element's occurrences while a complex value is read.
struct Field {
    name: String,
    el: &'static Element,
    primitive: bool,
    values: Vec<Value>,
    /// The `_name` parts (null where an occurrence has neither id nor extensions).
    unders: Vec<Value>,
}

/// The attributes and children of `node` (of type `def`) into `obj`.
fn read_children(
    node: &Node,
    def: &TypeDef,
    path: &str,
    obj: &mut Map<String, Value>,
) -> Result<(), XmlError> {
    for (k, v) in &node.attrs {
        match def.element(k) {
            Some((el, _)) if el.xml_attr() => {
                obj.insert(k.clone(), Value::String(v.clone()));
            }
            _ => return Err(XmlError::Unknown(format!("{path}@{k}"))),
        }
    }
    // Values and `_name` siblings per element, in document (= definition) order.
    let mut fields: Vec<Field> = Vec::new();
    for child in &node.children {
        let cpath = format!("{path}.{}", child.name);
        let (el, ty) = def
            .element(&child.name)
            .filter(|(el, ty)| {
                // FHIR elements in the FHIR namespace, the narrative in XHTML's.
                !el.xml_attr()
                    && ((child.ns == FHIR_NS && *ty != "xhtml")
                        || (child.ns == XHTML_NS && *ty == "xhtml"))
            })
            .ok_or_else(|| XmlError::Unknown(cpath.clone()))?;
        let (value, under) = read_value(child, ty, &cpath)?;
        let primitive = definitions::is_primitive(ty) && ty != "xhtml";
        let i = match fields.iter().position(|f| f.name == child.name) {
            Some(i) if el.repeats() => i,
            Some(_) => return Err(invalid(&cpath, "repeated, but may occur once")),
            None => {
                fields.push(Field {
                    name: child.name.clone(),
                    el,
                    primitive,
                    values: Vec::new(),
                    unders: Vec::new(),
                });
                fields.len() - 1
            }
        };
        fields[i].values.push(value);
        fields[i].unders.push(under);
    }
    for Field {
        name,
        el,
        primitive,
        values,
        unders,
    } in fields
    {
        let single = |mut v: Vec<Value>| {
            if el.repeats() {
                Value::Array(v)
            } else {
                v.pop().unwrap_or(Value::Null)
            }
        };
        if values.iter().any(|v| !v.is_null()) {
            obj.insert(name.clone(), single(values));
        }
        if primitive && unders.iter().any(|u| !u.is_null()) {
            obj.insert(format!("_{name}"), single(unders));
        }
    }
    Ok(())
}

/// One element's JSON value and, for a primitive, its `_name` part (or null).
fn read_value(node: &Node, ty: &str, path: &str) -> Result<(Value, Value), XmlError> {
    if ty == "xhtml" {
        let raw = node
            .raw
            .clone()
            .filter(|_| node.name == "div")
            .ok_or_else(|| {
                invalid(
                    path,
                    format!("the narrative must be an XHTML div in {XHTML_NS}"),
                )
            })?;
        return Ok((Value::String(raw), Value::Null));
    }
    if definitions::is_primitive(ty) {
        let mut value = Value::Null;
        let mut under = Map::new();
        for (k, v) in &node.attrs {
            match k.as_str() {
                "value" => value = primitive_json(v, ty, path)?,
                "id" => {
                    under.insert("id".into(), Value::String(v.clone()));
                }
                _ => return Err(XmlError::Unknown(format!("{path}@{k}"))),
            }
        }
        let ext_def =
            definitions::find("Extension").ok_or_else(|| XmlError::Unknown("Extension".into()))?;
        let mut extensions = Vec::new();
        for child in &node.children {
            if child.name != "extension" || child.ns != FHIR_NS {
                return Err(XmlError::Unknown(format!("{path}.{}", child.name)));
            }
            let mut ext = Map::new();
            read_children(child, ext_def, &format!("{path}.extension"), &mut ext)?;
            extensions.push(Value::Object(ext));
        }
        if !extensions.is_empty() {
            under.insert("extension".into(), Value::Array(extensions));
        }
        if value.is_null() && under.is_empty() {
            return Err(invalid(path, "neither a value nor extensions"));
        }
        let under = if under.is_empty() {
            Value::Null
        } else {
            Value::Object(under)
        };
        return Ok((value, under));
    }
    if ty == "Resource" {
        let [inner] = node.children.as_slice() else {
            return Err(invalid(path, "must hold exactly one resource"));
        };
        if !node.attrs.is_empty() {
            return Err(XmlError::Unknown(format!("{path}@{}", node.attrs[0].0)));
        }
        return Ok((read_resource(inner, path)?, Value::Null));
    }
    let def = definitions::find(ty).ok_or_else(|| XmlError::Unknown(ty.to_owned()))?;
    let mut obj = Map::new();
    read_children(node, def, path, &mut obj)?;
    Ok((Value::Object(obj), Value::Null))
}

/// A `value` attribute as JSON: numbers and booleans typed, everything else a string.
fn primitive_json(text: &str, ty: &str, path: &str) -> Result<Value, XmlError> {
    let bad = || invalid(path, format!("'{text}' is not a valid {ty}"));
    match ty {
        "boolean" => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(bad()),
        },
        "integer" | "positiveInt" | "unsignedInt" => {
            text.parse::<i64>().map(Value::from).map_err(|_| bad())
        }
        "decimal" => {
            // Integral decimals stay integers: JSON `5` and `5.0` both come back as written.
            if text.contains(['.', 'e', 'E']) {
                text.parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(bad)
            } else {
                text.parse::<i64>().map(Value::from).map_err(|_| bad())
            }
        }
        _ => Ok(Value::String(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn xml(v: &Value) -> String {
        String::from_utf8(to_xml(v, false).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// JSON → XML → JSON gives back the same JSON, compact and pretty.
    fn round_trip(v: &Value) -> String {
        let text = xml(v);
        assert_eq!(from_xml(&text), Ok(v.clone()), "{text}");
        let pretty = to_xml(v, true).unwrap_or_default();
        let pretty = String::from_utf8(pretty).unwrap_or_default();
        assert!(pretty.contains("\n  <"), "{pretty}");
        assert_eq!(from_xml(&pretty), Ok(v.clone()), "{pretty}");
        text
    }

    #[test]
    fn definition_order_attributes_and_types() {
        // Keys deliberately out of order: XML follows the definitions.
        let p = json!({
            "gender": "female",
            "active": true,
            "multipleBirthInteger": 2,
            "name": [{"given": ["Ana"], "family": "Díaz", "id": "n1"}],
            "id": "7",
            "resourceType": "Patient",
        });
        let text = round_trip(&p);
        assert_eq!(
            text,
            "<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"7\"/><active value=\"true\"/>\
             <name id=\"n1\"><family value=\"Díaz\"/><given value=\"Ana\"/></name>\
             <gender value=\"female\"/><multipleBirthInteger value=\"2\"/></Patient>"
        );
        let obs = json!({
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "weight"},
            "valueQuantity": {"value": 70.5, "unit": "kg"},
            "component": [{"code": {"text": "n"}, "valueInteger": 3}, {"code": {"text": "d"}, "valueQuantity": {"value": 5}}],
        });
        let text = round_trip(&obs);
        assert!(text.contains(
            "<valueQuantity><value value=\"70.5\"/><unit value=\"kg\"/></valueQuantity>"
        ));
    }

    #[test]
    fn primitive_extensions_and_aligned_arrays() {
        let p = json!({
            "resourceType": "Patient",
            "birthDate": "1970-03-30",
            "_birthDate": {"id": "b", "extension": [{
                "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                "valueDateTime": "1970-03-30T14:35:45-05:00",
            }]},
            "name": [{
                "given": ["Ana", null, "Eve"],
                "_given": [null, {"extension": [{"url": "http://example.org/u", "valueCode": "x"}]}, {"id": "g3"}],
            }],
            "_gender": {"extension": [{"url": "http://example.org/absent", "valueBoolean": false}]},
        });
        let text = round_trip(&p);
        assert!(text.contains(
            "<birthDate id=\"b\" value=\"1970-03-30\"><extension url=\"http://hl7.org/fhir/StructureDefinition/patient-birthTime\">\
             <valueDateTime value=\"1970-03-30T14:35:45-05:00\"/></extension></birthDate>"
        ), "{text}");
        assert!(text.contains(
            "<given value=\"Ana\"/><given><extension url=\"http://example.org/u\"><valueCode value=\"x\"/></extension></given>\
             <given id=\"g3\" value=\"Eve\"/>"
        ), "{text}");
        assert!(text.contains("<gender><extension url=\"http://example.org/absent\"><valueBoolean value=\"false\"/></extension></gender>"));
    }

    #[test]
    fn bundles_narrative_and_escaping() {
        let div =
            "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>A &amp; B <b>bold</b></p><br/></div>";
        let b = json!({
            "resourceType": "Bundle",
            "type": "searchset",
            "total": 1,
            "link": [{"relation": "self", "url": "http://x/Patient?a=1&b=%22"}],
            "entry": [{
                "fullUrl": "http://x/Patient/1",
                "resource": {
                    "resourceType": "Patient",
                    "id": "1",
                    "text": {"status": "generated", "div": div},
                    "name": [{"text": "<O'Brien & \"Sons\">\nline\ttab\r"}],
                    "contained": [{"resourceType": "Organization", "name": "Org"}],
                },
                "search": {"mode": "match"},
            }, {
                "resource": {"resourceType": "OperationOutcome", "issue": [{"severity": "warning", "code": "informational"}]},
                "search": {"mode": "outcome"},
            }],
        });
        let text = round_trip(&b);
        assert!(
            text.contains(
                "<entry><fullUrl value=\"http://x/Patient/1\"/><resource><Patient><id value=\"1\"/>"
            ),
            "{text}"
        );
        assert!(
            text.contains(&format!("<text><status value=\"generated\"/>{div}</text>")),
            "{text}"
        );
        assert!(text.contains("<url value=\"http://x/Patient?a=1&amp;b=%22\"/>"));
        assert!(
            text.contains(
                "<text value=\"&lt;O&apos;Brien &amp; &quot;Sons&quot;&gt;&#10;line&#9;tab&#13;\"/>"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "<contained><Organization><name value=\"Org\"/></Organization></contained>"
            )
        );
        // The XHTML stays XHTML when read back in a pretty document too.
        let pretty = String::from_utf8(to_xml(&b, true).unwrap_or_default()).unwrap_or_default();
        assert!(pretty.contains(div));
    }

    #[test]
    fn errors_name_the_element() {
        let unknown = json!({"resourceType": "Patient", "nickname": "x"});
        assert_eq!(
            to_xml(&unknown, false),
            Err(XmlError::Unknown("Patient.nickname".into()))
        );
        let bad_div =
            json!({"resourceType": "Patient", "text": {"status": "generated", "div": "<p>x</p>"}});
        assert!(matches!(
            to_xml(&bad_div, false),
            Err(XmlError::Invalid { .. })
        ));
        let ns = "xmlns=\"http://hl7.org/fhir\"";
        assert_eq!(
            from_xml(&format!(
                "<Patient {ns}><name><nick value=\"x\"/></name></Patient>"
            )),
            Err(XmlError::Unknown("Patient.name.nick".into()))
        );
        assert_eq!(
            from_xml(&format!("<Patient {ns}><active value=\"yes\"/></Patient>")),
            Err(XmlError::Invalid {
                path: "Patient.active".into(),
                message: "'yes' is not a valid boolean".into()
            })
        );
        assert_eq!(
            from_xml(&format!(
                "<Patient {ns}><gender value=\"male\"/><gender value=\"female\"/></Patient>"
            )),
            Err(XmlError::Invalid {
                path: "Patient.gender".into(),
                message: "repeated, but may occur once".into()
            })
        );
        assert_eq!(
            from_xml(&format!("<Patient {ns}><name foo=\"1\"/></Patient>")),
            Err(XmlError::Unknown("Patient.name@foo".into()))
        );
        assert_eq!(
            from_xml(&format!("<Nobody {ns}/>")),
            Err(XmlError::Unknown("Nobody".into()))
        );
        assert!(matches!(from_xml("<Patient/>"), Err(XmlError::Syntax(_))));
        assert!(matches!(
            from_xml(&format!("<Patient {ns}>text</Patient>")),
            Err(XmlError::Syntax(_))
        ));
        assert!(matches!(
            from_xml(&format!("<Patient {ns}><id value=\"1\"></Patient>")),
            Err(XmlError::Syntax(_))
        ));
        // A JSON array where one value belongs.
        let arr = json!({"resourceType": "Patient", "gender": ["male"]});
        assert!(matches!(to_xml(&arr, false), Err(XmlError::Invalid { .. })));
    }
}
