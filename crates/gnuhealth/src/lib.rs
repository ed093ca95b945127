//! Everything that knows GNU Health 5.0's schema: database access ([`db`]), Tryton's
//! storage conventions ([`tryton`]), users and passwords ([`security`]), Tryton's access
//! rights ([`access`], record rules via [`rule`]), the FHIR
//! resource mappings ([`resources`]), search → SQL ([`search`], with `_include`/`_revinclude` in [`include`]), the list of served
//! types ([`registry`]) and the embedded demo database ([`demo`]).

pub mod access;
pub mod db;
pub mod demo;
pub mod everything;
pub mod include;
pub mod indexes;
pub mod registry;
pub mod resources;
pub mod rule;
pub mod search;
pub mod security;
pub mod systems;
pub mod tryton;
