//! Scenario files: the schema the user writes, parsing with positions, validation and configurations.

pub mod error;
pub mod load;
pub mod schema;
pub mod validate;

pub use error::{Problem, ScenarioError};
pub use load::{BASE, Edit, Scenario};
pub use schema::ScenarioFile;
