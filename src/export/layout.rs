//! The output layout: every folder and file name csmarket writes, declared once. Commands, writers,
//! charts and the report ask here rather than spelling a name themselves.
//!
//! ```text
//! OUT/                        run:      runs.csv columns.csv scenario.toml
//! OUT/<configuration>/        run:      replications.csv fates.csv providers.csv services.csv
//!                                       timeseries.csv summary.json (state.json for a shard),
//!                                       and the configuration charts
//! OUT/compare/                compare:  runs.csv columns.csv scenario.toml comparison.csv,
//!                                       report.html, report.md, comparison charts,
//!                                       and a <configuration>/ folder like run's for each
//! OUT/sweep/                  sweep:    sweep.csv tipping.csv refine.csv runs.csv columns.csv
//!                                       sweep.json, charts
//! OUT/sensitivity/            sensitivity.csv morris.csv columns.csv sensitivity.json, charts
//! OUT/backtest/               backtest.csv confusion.csv scores.csv targets.csv columns.csv
//!                                       backtest.json, chart
//! OUT/calibrate/              posterior.csv generations.csv fit.csv columns.csv
//!                                       calibration.json, charts, state/
//! ```
//!
//! Each `columns.csv` describes every column of every CSV file in its folder and the folders
//! below it (file, column, unit, meaning).

use std::path::{Path, PathBuf};

/// The folder of `csmarket compare` under the output root.
pub const COMPARE_DIR: &str = "compare";
/// The folder of `csmarket sweep` under the output root.
pub const SWEEP_DIR: &str = "sweep";
/// The folder of `csmarket sensitivity` under the output root.
pub const SENSITIVITY_DIR: &str = "sensitivity";
/// The folder of `csmarket backtest` under the output root.
pub const BACKTEST_DIR: &str = "backtest";

/// `replications.csv`: one row per replication. The resumable run (in `experiment`, a layer
/// below this one) names the file; the layout takes the name from there, so it is declared once.
pub const REPLICATIONS: &str = crate::experiment::resumable::REPLICATIONS_FILE;
/// `providers.csv`: survival, fates, ratings and figures per provider.
pub const PROVIDERS: &str = "providers.csv";
/// `services.csv`: volume shares and concentration per service line.
pub const SERVICES: &str = "services.csv";
/// `timeseries.csv`: figures per quarter.
pub const TIMESERIES: &str = "timeseries.csv";
/// `checkpoints.csv`: checkpoint diagnostics in long form (provider, checkpoint, domain).
pub const CHECKPOINTS: &str = "checkpoints.csv";
/// `fates.csv`: each provider's fate and exit quarter, one row per provider per replication.
pub const FATES: &str = "fates.csv";
/// `series.csv` (`--series`): every replication's figures per quarter, in long form.
pub const SERIES: &str = "series.csv";
/// `runs.csv`: one row per configuration and replication, with every registry figure.
pub const RUNS: &str = "runs.csv";
/// `columns.csv`: the data dictionary (file, column, unit, meaning).
pub const COLUMNS: &str = "columns.csv";
/// `scenario.toml`: the exact scenario text the results came from.
pub const SCENARIO: &str = "scenario.toml";
/// `summary.json`: provenance and headline figures.
pub const SUMMARY: &str = "summary.json";
/// `state.json`: what a shard leaves for `csmarket merge`.
pub const SHARD_STATE: &str = "state.json";
/// `shard.json`: what a shard of `compare`, `sweep`, `sensitivity` or `backtest` leaves for
/// `csmarket merge`, in the command's folder.
pub const STUDY_SHARD: &str = "shard.json";
/// `comparison.csv`: paired differences against the baseline.
pub const COMPARISON: &str = "comparison.csv";
/// `report.html`: the self-contained report.
pub const REPORT_HTML: &str = "report.html";
/// `report.md`: the Markdown summary.
pub const REPORT_MD: &str = "report.md";
/// `sweep.csv`: one row per grid point.
pub const SWEEP_CSV: &str = "sweep.csv";
/// `tipping.csv`: one row per tipping point.
pub const TIPPING_CSV: &str = "tipping.csv";
/// `refine.csv`: the points `--refine` evaluated.
pub const REFINE_CSV: &str = "refine.csv";
/// `sweep.json`: the whole sweep result.
pub const SWEEP_JSON: &str = "sweep.json";
/// `sensitivity.csv`: one-at-a-time effects.
pub const SENSITIVITY_CSV: &str = "sensitivity.csv";
/// `morris.csv`: Morris statistics.
pub const MORRIS_CSV: &str = "morris.csv";
/// `sensitivity.json`: the whole sensitivity result.
pub const SENSITIVITY_JSON: &str = "sensitivity.json";
/// `backtest.csv`: one row per recorded rating.
pub const BACKTEST_CSV: &str = "backtest.csv";
/// `confusion.csv`: observed rating by modal prediction.
pub const CONFUSION_CSV: &str = "confusion.csv";
/// `scores.csv`: accuracy and Brier scores.
pub const SCORES_CSV: &str = "scores.csv";
/// `targets.csv`: each calibration target against the model and a naive reference.
pub const TARGETS_CSV: &str = "targets.csv";
/// `backtest.json`: the whole back-test result.
pub const BACKTEST_JSON: &str = "backtest.json";
/// Folder of a calibration.
pub const CALIBRATE_DIR: &str = "calibrate";
/// `posterior.csv`: the last generation's particles, weights and distances.
pub const POSTERIOR_CSV: &str = "posterior.csv";
/// `generations.csv`: tolerance, acceptance rate and ESS per generation.
pub const GENERATIONS_CSV: &str = "generations.csv";
/// `fit.csv`: each target against the posterior predictive distribution.
pub const FIT_CSV: &str = "fit.csv";
/// `calibration.json`: provenance, stop, marginals and fit.
pub const CALIBRATION_JSON: &str = "calibration.json";
/// Folder of a calibration's saved generations and shards.
pub const CALIBRATION_STATE_DIR: &str = "state";

/// Chart names (file stems; each chart is written as `<name>.svg` and `<name>.png`).
pub mod chart {
    /// Provider survival.
    pub const SURVIVAL: &str = "survival";
    /// Checkpoint ratings.
    pub const RATINGS: &str = "ratings";
    /// Market structure.
    pub const STRUCTURE: &str = "structure";
    /// Figures over time.
    pub const OVER_TIME: &str = "over-time";
    /// Cost per head.
    pub const COST: &str = "cost";
    /// Paired differences against the baseline.
    pub const DIFFERENCES: &str = "differences";
    /// A sweep's survival curves (the same stem as the run's chart, in another folder).
    pub const SWEEP_SURVIVAL: &str = "survival";
    /// A sweep's headline figures.
    pub const SWEEP_HEADLINE: &str = "headline";
    /// A back-test's predictions.
    pub const BACKTEST: &str = "backtest";
    /// A calibration's marginal posteriors against the priors.
    pub const POSTERIOR: &str = "posterior";
    /// A calibration's particles, pair by pair.
    pub const PAIRS: &str = "pairs";

    /// A two-parameter sweep's heatmap of one provider's survival.
    pub fn heatmap(provider: &str) -> String {
        format!("heatmap-{}", super::file_safe(provider))
    }

    /// The tornado chart of one sensitivity output (named as on the command line).
    pub fn tornado(output: &str) -> String {
        format!("tornado-{}", super::file_safe(output))
    }

    /// The Morris chart of one sensitivity output (named as on the command line).
    pub fn morris(output: &str) -> String {
        format!("morris-{}", super::file_safe(output))
    }
}

/// The SVG file of a chart.
pub fn chart_svg(name: &str) -> String {
    format!("{name}.svg")
}

/// The PNG file of a chart.
pub fn chart_png(name: &str) -> String {
    format!("{name}.png")
}

/// A file-name-safe form of an id: anything but ASCII letters, digits, `-` and `_` becomes `-`.
pub fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The folders of one output root (`--out`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLayout {
    root: PathBuf,
}

impl OutputLayout {
    /// The layout under `root`.
    pub fn new(root: impl Into<PathBuf>) -> OutputLayout {
        OutputLayout { root: root.into() }
    }

    /// The output root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A configuration's folder of `csmarket run` (and of `csmarket merge`).
    pub fn configuration(&self, configuration: &str) -> PathBuf {
        self.root.join(configuration)
    }

    /// The folder of `csmarket compare`.
    pub fn compare(&self) -> PathBuf {
        self.root.join(COMPARE_DIR)
    }

    /// The folder of `csmarket calibrate`.
    pub fn calibrate(&self) -> PathBuf {
        self.root.join(CALIBRATE_DIR)
    }

    /// The folder of `csmarket sweep`.
    pub fn sweep(&self) -> PathBuf {
        self.root.join(SWEEP_DIR)
    }

    /// The folder of `csmarket sensitivity`.
    pub fn sensitivity(&self) -> PathBuf {
        self.root.join(SENSITIVITY_DIR)
    }

    /// The folder of `csmarket backtest`.
    pub fn backtest(&self) -> PathBuf {
        self.root.join(BACKTEST_DIR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_folder_hangs_off_the_root() {
        let l = OutputLayout::new("out");
        assert_eq!(l.configuration("a"), Path::new("out/a"));
        assert_eq!(l.compare(), Path::new("out/compare"));
        assert_eq!(l.sweep(), Path::new("out/sweep"));
        assert_eq!(l.sensitivity(), Path::new("out/sensitivity"));
        assert_eq!(l.backtest(), Path::new("out/backtest"));
    }

    #[test]
    fn chart_names_are_safe_file_names() {
        assert_eq!(chart::tornado("survival:x/y"), "tornado-survival-x-y");
        assert_eq!(chart::heatmap("bi-north"), "heatmap-bi-north");
        assert_eq!(chart_svg("cost"), "cost.svg");
    }
}
