//! R4 resources as this server emits them: one file per resource type, holding only the
//! elements GNU Health has data for, in R4 element order.

pub mod allergy_intolerance;
pub mod appointment;
pub mod condition;
pub mod coverage;
pub mod diagnostic_report;
pub mod encounter;
pub mod family_member_history;
pub mod immunization;
pub mod location;
pub mod medication;
pub mod medication_request;
pub mod medication_statement;
pub mod observation;
pub mod organization;
pub mod patient;
pub mod practitioner;
pub mod practitioner_role;
pub mod procedure;
pub mod related_person;
pub mod service_request;
