//! Benchmark groups, and the markets they share.

pub mod choice;
pub mod generated;
pub mod replication;
pub mod run;

use csmarket::cli::{DEFAULT_SCENARIO, DEFAULT_SCENARIO_NAME};
use csmarket::model::Market;
use csmarket::scenario::Scenario;

/// The built-in scenario.
pub fn builtin() -> Scenario {
    Scenario::from_text(DEFAULT_SCENARIO_NAME, DEFAULT_SCENARIO)
        .expect("the built-in scenario is valid")
}

/// A configuration of a scenario, compiled.
pub fn market(s: &Scenario, configuration: &str) -> Market {
    let resolved = s.resolve(configuration).expect("configuration resolves");
    Market::compile(&resolved, configuration).expect("configuration compiles")
}
