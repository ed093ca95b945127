//! The R4 element definitions the format and subsetting code descends by: for every
//! resource, complex datatype and backbone element, its child elements in definition
//! order. The table itself (`r4.rs`) is generated from HL7's StructureDefinitions by
//! `scripts/gen-definitions.py`; this module owns its shape and the look-ups.

// Generated: laid out by the generator, one element per line.
#[rustfmt::skip]
mod r4;

/// What a [`TypeDef`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Resource,
    /// A complex datatype (`HumanName`, `Quantity`, …).
    Datatype,
    /// A group of elements inside a type, named by its path (`Patient.contact`).
    Backbone,
}

/// A resource, complex datatype or backbone element.
#[derive(Debug)]
pub struct TypeDef {
    pub name: &'static str,
    pub kind: Kind,
    /// Child elements in definition order: the order of XML elements.
    pub elements: &'static [Element],
}

/// One child element.
#[derive(Debug)]
pub struct Element {
    /// JSON name; for a choice (`value[x]`) the part before `[x]`.
    pub name: &'static str,
    /// Type codes: a primitive (`string`, `decimal`, …), `xhtml`, `Resource` (an embedded
    /// resource), a datatype name, or a backbone path. Several for a choice.
    pub types: &'static [&'static str],
    flags: u8,
}

const R: u8 = 1;
const S: u8 = 2;
const M: u8 = 4;
const A: u8 = 8;
const C: u8 = 16;

const fn e(name: &'static str, types: &'static [&'static str], flags: u8) -> Element {
    Element { name, types, flags }
}

impl Element {
    /// Max cardinality above 1: a JSON array, repeated XML elements.
    pub fn repeats(&self) -> bool {
        self.flags & R != 0
    }
    /// Part of `_summary=true`.
    pub fn summary(&self) -> bool {
        self.flags & S != 0
    }
    /// Min cardinality above 0.
    pub fn mandatory(&self) -> bool {
        self.flags & M != 0
    }
    /// Written as an XML attribute (`id` of elements, `Extension.url`).
    pub fn xml_attr(&self) -> bool {
        self.flags & A != 0
    }
    /// A choice `name[x]`: the JSON/XML name is `name` + the capitalised type code.
    pub fn choice(&self) -> bool {
        self.flags & C != 0
    }

    /// The type of the element named `key` (a JSON key without `_`, or an XML element
    /// name) when `key` is this element: `valueQuantity` → `Quantity` for `value[x]`.
    pub fn type_of(&self, key: &str) -> Option<&'static str> {
        if !self.choice() {
            return self.types.first().copied().filter(|_| key == self.name);
        }
        let suffix = key.strip_prefix(self.name)?;
        let mut chars = suffix.chars();
        let first = chars.next()?;
        self.types.iter().copied().find(|t| {
            let mut tc = t.chars();
            tc.next().map(|c| c.to_ascii_uppercase()) == Some(first)
                && tc.as_str() == chars.as_str()
        })
    }

    /// The name of this element when it holds `type_` (the concrete name of a choice).
    pub fn name_for(&self, type_: &str) -> String {
        if !self.choice() {
            return self.name.to_owned();
        }
        let mut chars = type_.chars();
        match chars.next() {
            Some(first) => format!(
                "{}{}{}",
                self.name,
                first.to_ascii_uppercase(),
                chars.as_str()
            ),
            None => self.name.to_owned(),
        }
    }
}

impl TypeDef {
    /// The element `key` is an instance of, with its concrete type.
    pub fn element(&self, key: &str) -> Option<(&'static Element, &'static str)> {
        self.elements
            .iter()
            .find_map(|el| Some((el, el.type_of(key)?)))
    }
}

/// The resource, datatype or backbone element named `name`.
pub fn find(name: &str) -> Option<&'static TypeDef> {
    r4::TYPES
        .binary_search_by(|t| t.name.cmp(name))
        .ok()
        .map(|i| &r4::TYPES[i])
}

/// The resource type `name`, if it is one.
pub fn resource(name: &str) -> Option<&'static TypeDef> {
    find(name).filter(|t| t.kind == Kind::Resource)
}

/// True for the FHIR primitive types (`xhtml` included: it is written as a string in JSON).
pub fn is_primitive(type_: &str) -> bool {
    r4::PRIMITIVES.contains(&type_)
}

/// The primitives written as JSON numbers.
pub fn is_number(type_: &str) -> bool {
    matches!(type_, "decimal" | "integer" | "positiveInt" | "unsignedInt")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_complete() {
        assert!(r4::TYPES.windows(2).all(|w| w[0].name < w[1].name));
        // Every element's types are known: primitives, xhtml, Resource or a listed type.
        for t in r4::TYPES {
            for el in t.elements {
                for ty in el.types {
                    assert!(
                        is_primitive(ty) || *ty == "Resource" || find(ty).is_some(),
                        "{}.{}: {ty}",
                        t.name,
                        el.name
                    );
                }
            }
        }
    }

    #[test]
    fn lookups() {
        let obs = resource("Observation").map(|t| t.elements.len());
        assert!(obs.is_some_and(|n| n > 20));
        let obs = find("Observation").expect("Observation");
        let (el, ty) = obs.element("valueQuantity").expect("value[x]");
        assert_eq!((el.name, ty), ("value", "Quantity"));
        assert_eq!(obs.element("valueDateTime").map(|e| e.1), Some("dateTime"));
        assert!(obs.element("valueFoo").is_none());
        assert!(obs.element("value").is_none());
        assert_eq!(el.name_for("dateTime"), "valueDateTime");
        let (status, _) = obs.element("status").expect("status");
        assert!(status.mandatory() && status.summary() && !status.repeats());
        let ext = find("Extension").expect("Extension");
        assert!(
            ext.element("url")
                .is_some_and(|(e, t)| e.xml_attr() && t == "uri")
        );
        assert_eq!(
            find("Patient.contact").map(|t| t.kind),
            Some(Kind::Backbone)
        );
        assert!(resource("HumanName").is_none());
        assert!(is_primitive("xhtml") && is_number("decimal") && !is_number("string"));
    }
}
