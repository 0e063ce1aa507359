//! Sensitivity analysis: which uncertain parameter decides the answer.
//!
//! Each parameter (those the scenario lists under `uncertain`, or every numeric one) is varied
//! within plus/minus a fraction of its value. One-at-a-time runs at both ends give the tornado
//! chart; Morris elementary effects over random trajectories through the box give the mean
//! absolute effect (mu*) and its spread (sigma, large when the parameter acts through interactions
//! or non-linearly). Every run uses replication indices `0..n`, so differences are paired.
//!
//! The method in parts, as SALib splits its own: the [`design`] (which parameters, their ranges,
//! the Morris trajectories) is plain data; [`run`](mod@run) evaluates it; [`analysis`] reads the results
//! (elementary effects, paired intervals). Files, charts and report sections are made from
//! [`SensitivityResult`] by `export`, `charts` and `report`.

pub mod analysis;
pub mod design;
pub mod run;

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Study;
use crate::experiment::{MarketFigure, Provenance};
pub use analysis::elementary_effects;
pub use design::{Trajectory, morris_design, parameter_paths};
pub use run::{SensitivityDesign, analyse, design, run, run_shard, run_with};

/// A figure whose sensitivity is measured: a provider's survival, or the mean of a market-wide
/// headline figure (from the registry, [`MarketFigure`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Output {
    /// Survival probability of a provider.
    Survival(String),
    /// The mean of a market-wide figure (written as the figure's own name, e.g. `"CostPerHead"`).
    #[serde(untagged)]
    Market(MarketFigure),
}

impl FromStr for Output {
    type Err = String;

    fn from_str(s: &str) -> Result<Output, String> {
        let t = s.trim();
        if let Some(f) = MarketFigure::headline_from_key(t) {
            return Ok(Output::Market(f));
        }
        match t.strip_prefix("survival:") {
            Some(id) if !id.is_empty() => Ok(Output::Survival(id.to_string())),
            _ => {
                let keys: Vec<&str> = MarketFigure::HEADLINE.iter().map(|f| f.key()).collect();
                let (last, rest) = keys.split_last().map_or(("", &[][..]), |(l, r)| (*l, r));
                Err(format!(
                    "unknown output `{t}`; choose survival:PROVIDER, {} or {last}",
                    rest.join(", ")
                ))
            }
        }
    }
}

impl Output {
    /// The name used on the command line and in files.
    pub fn name(&self) -> String {
        match self {
            Output::Survival(id) => format!("survival:{id}"),
            Output::Market(f) => f.key().into(),
        }
    }

    /// A label for charts.
    pub fn label(&self) -> String {
        match self {
            Output::Survival(id) => format!("survival probability of {id}"),
            Output::Market(f) => f.short_label().into(),
        }
    }
}

/// A parameter varied, with the ends of its range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    /// Dotted path.
    pub path: String,
    /// Value in the configuration.
    pub base: f64,
    /// Value at minus the fraction (kept inside what the scenario accepts).
    pub low: f64,
    /// Value at plus the fraction (kept inside what the scenario accepts).
    pub high: f64,
}

/// A parameter left out, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// Dotted path.
    pub path: String,
    /// Why.
    pub why: String,
}

/// One parameter's one-at-a-time effect on one output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OatRow {
    /// Output name.
    pub output: String,
    /// Parameter path.
    pub path: String,
    /// Output at the parameter's low end.
    pub y_low: f64,
    /// Output at the parameter's high end.
    pub y_high: f64,
    /// `y_high - y_low`.
    pub swing: f64,
    /// 95% interval of the swing from the paired per-replication differences.
    pub swing_ci: (f64, f64),
}

impl OatRow {
    /// Size of the effect, by which the tornado is sorted.
    pub fn effect(&self) -> f64 {
        self.swing.abs()
    }
}

/// One parameter's Morris statistics for one output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MorrisRow {
    /// Output name.
    pub output: String,
    /// Parameter path.
    pub path: String,
    /// Mean elementary effect (signed).
    pub mu: f64,
    /// Mean absolute elementary effect.
    pub mu_star: f64,
    /// Standard deviation of the elementary effects.
    pub sigma: f64,
    /// Finite effects behind these figures.
    pub effects: usize,
}

/// A validated sensitivity analysis.
#[derive(Debug, Clone)]
pub struct SensitivityPlan {
    /// Scenario, configuration, seed, replications and threads.
    pub study: Study,
    /// Every numeric parameter rather than the scenario's `uncertain` list.
    pub all: bool,
    /// The plus/minus fraction of each value.
    pub fraction: f64,
    /// Outputs (empty: cost per head, in-house share, survival of each at-scale provider).
    pub outputs: Vec<Output>,
    /// Morris trajectories (0: one-at-a-time only).
    pub trajectories: u32,
    /// Morris grid levels (even, at least 2).
    pub levels: u32,
}

/// Everything a sensitivity analysis found; plain data for files, charts and the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensitivityResult {
    /// Where it came from.
    pub origin: Provenance,
    /// The plus/minus fraction.
    pub fraction: f64,
    /// Outputs measured.
    pub outputs: Vec<Output>,
    /// Each output at the configuration's own values.
    pub baseline: Vec<f64>,
    /// Parameters varied.
    pub factors: Vec<Factor>,
    /// Parameters left out.
    pub skipped: Vec<Skipped>,
    /// One-at-a-time effects: per output, largest effect first.
    pub oat: Vec<OatRow>,
    /// Morris statistics: per output, largest mu* first.
    pub morris: Vec<MorrisRow>,
    /// Morris trajectories run.
    pub trajectories: u32,
    /// Morris grid levels.
    pub levels: u32,
}

impl SensitivityResult {
    /// The one-at-a-time rows of one output, largest effect first.
    pub fn oat_of(&self, output: &Output) -> Vec<&OatRow> {
        let name = output.name();
        self.oat.iter().filter(|r| r.output == name).collect()
    }

    /// The Morris rows of one output, largest mu* first.
    pub fn morris_of(&self, output: &Output) -> Vec<&MorrisRow> {
        let name = output.name();
        self.morris.iter().filter(|r| r.output == name).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_parse_and_print_back() {
        for s in [
            "survival:national-comms",
            "cost_per_head",
            "in_house_share",
            "open_providers",
            "unmet_share",
        ] {
            assert_eq!(s.parse::<Output>().unwrap().name(), s);
        }
        assert!("survival:".parse::<Output>().is_err());
        assert!(
            "cost"
                .parse::<Output>()
                .unwrap_err()
                .contains("cost_per_head")
        );
    }
}
