//! R4 resources as this server emits them: one file per resource type, holding only the
//! elements GNU Health has data for, in R4 element order.

pub mod patient;
