//! Integration tests of the simulator core: scenario errors, reproducibility and the command line.

mod cli;
mod errors;
mod mechanism;
mod reproducibility;

/// The small test market's text.
pub const SMALL: &str = include_str!("../fixtures/small.toml");
