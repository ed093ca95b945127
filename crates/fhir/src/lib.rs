//! FHIR R4 (4.0.1), independent of GNU Health and of any database or HTTP stack:
//! output datatypes (serde structs in R4 element order), Bundle, OperationOutcome,
//! CapabilityStatement, the search-parameter syntax (numbers and quantities in [`number`]),
//! the R4 element definitions and what is built on them: the XML format and
//! `_summary`/`_elements` subsetting.

pub mod bundle;
pub mod capability;
pub mod datatypes;
pub mod definitions;
pub mod narrative;
pub mod number;
pub mod outcome;
pub mod resources;
pub mod search;
pub mod subset;
pub mod xml;

/// The FHIR version every resource and the CapabilityStatement declare.
pub const FHIR_VERSION: &str = "4.0.1";

/// The JSON media type for FHIR R4.
pub const JSON_MIME: &str = "application/fhir+json";

/// The XML media type for FHIR R4.
pub const XML_MIME: &str = "application/fhir+xml";

/// True when `id` is a valid FHIR resource id (`[A-Za-z0-9\-\.]{1,64}`).
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids() {
        assert!(super::is_valid_id("eval-1-bp"));
        assert!(super::is_valid_id("123"));
        assert!(!super::is_valid_id(""));
        assert!(!super::is_valid_id("a/b"));
        assert!(!super::is_valid_id(&"x".repeat(65)));
    }
}
