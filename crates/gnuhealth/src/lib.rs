//! Everything that knows GNU Health 5.0's schema: database access ([`db`]), Tryton's
//! storage conventions ([`tryton`]), users and passwords ([`security`]), the FHIR
//! resource mappings ([`resources`]), search → SQL ([`search`]), the list of served
//! types ([`registry`]) and the embedded demo database ([`demo`]).

pub mod db;
pub mod demo;
pub mod registry;
pub mod resources;
pub mod search;
pub mod security;
pub mod tryton;
