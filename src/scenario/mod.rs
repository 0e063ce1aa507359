//! Scenario files: parsing, validation and configurations.

pub mod schema;
