//! Scenario files: the schema the user writes, parsing with positions, validation and configurations.

pub mod document;
pub mod edit;
pub mod error;
pub mod limits;
pub mod load;
pub mod path;
pub mod schema;
pub mod split;
pub mod suggest;
pub mod validate;

pub use edit::Edit;
pub use error::{Problem, ScenarioError};
pub use load::{BASE, Prepared, Scenario};
pub use schema::ScenarioFile;
