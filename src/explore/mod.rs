//! Exploring a scenario: parameter sweeps and tipping points ([`sweep`]), sensitivity analysis
//! ([`sensitivity`]) and back-testing against observed ratings ([`backtest`]).
//!
//! Every tool runs a configuration many times with edits on top (by dotted path, as configurations
//! do), always on the same replication indices, so that two points differ only by the edit: the
//! engine's keyed streams give each point the same draws (common random numbers). Summaries come
//! from [`experiment`], which folds replications in index order, so results are bit-identical for
//! any thread count; nothing here reduces floats in parallel.

pub mod backtest;
pub mod calibrate;
pub mod pieces;
pub mod sensitivity;
pub mod sweep;
pub mod target_check;

use std::ops::Range;

use toml::Value;

use crate::engine::ReplicationOutcome;
use crate::experiment::{self, Provenance, RunError, Summary};
use crate::model::Market;
use crate::scenario::path::{self, navigate};
use crate::scenario::suggest::close_matches;
use crate::scenario::{Edit, Scenario, ScenarioError};

/// Why an exploration could not run.
#[derive(Debug, thiserror::Error)]
pub enum ExploreError {
    /// A path that names no numeric field of the scenario.
    #[error("{file}: no numeric field `{path}`{hint}")]
    UnknownPath {
        /// Scenario file.
        file: String,
        /// The path asked for.
        path: String,
        /// "; did you mean ..." or what the scenario said about the path.
        hint: String,
    },
    /// A path that names a field that is not a number.
    #[error("{file}: `{path}` is {kind}, not a number; only numeric fields can be varied")]
    NotNumeric {
        /// Scenario file.
        file: String,
        /// The path asked for.
        path: String,
        /// The TOML type found there.
        kind: String,
    },
    /// A `--param` or value list that cannot be read.
    #[error("bad parameter `{arg}`: {why}")]
    BadParam {
        /// The argument as given.
        arg: String,
        /// What was wrong.
        why: String,
    },
    /// Any other problem with what the user asked for (names, options).
    #[error("{0}")]
    Input(String),
    /// The scenario rejected an edit.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The edited scenario did not compile into a market.
    #[error("{file}: in configuration `{configuration}`: {message}")]
    Compile {
        /// Scenario file.
        file: String,
        /// Configuration.
        configuration: String,
        /// What went wrong.
        message: String,
    },
    /// Running replications failed.
    #[error(transparent)]
    Run(#[from] RunError),
}

impl ExploreError {
    /// Whether the error is in the user's input (exit status 2) rather than a failure while running.
    pub fn is_input(&self) -> bool {
        !matches!(self, ExploreError::Run(_))
    }
}

/// Hears how many replications are done out of how many in all (the total may grow, e.g. when
/// `--refine` adds points).
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// A progress listener that ignores everything.
pub fn no_progress(_done: u64, _total: u64) {}

/// What every exploration runs on: one configuration of a scenario, a seed, a number of
/// replications (always indices `0..replications`) and a thread count.
#[derive(Debug, Clone)]
pub struct Study {
    /// The scenario.
    pub scenario: Scenario,
    /// Configuration explored.
    pub configuration: String,
    /// Master seed.
    pub seed: u64,
    /// Replications per point.
    pub replications: u64,
    /// Worker threads (0 = all cores).
    pub threads: usize,
    /// A posterior sample each replication draws its parameters from (`--posterior`).
    pub posterior: Option<std::sync::Arc<calibrate::posterior::Posterior>>,
}

/// A numeric field of the scenario that an exploration varies.
#[derive(Debug, Clone, PartialEq)]
pub struct NumericField {
    /// Dotted path.
    pub path: String,
    /// Its value in the configuration explored; `None` for an optional field the file leaves
    /// unset (its default applies).
    pub value: Option<f64>,
    /// Whether the file writes it as an integer (edits then stay integers when they can).
    pub integer: bool,
}

impl NumericField {
    /// The edit that sets this field to `x`.
    pub fn edit(&self, x: f64) -> Edit {
        let value = if self.integer && x.fract() == 0.0 && x.abs() < 9.0e15 {
            Value::Integer(x as i64)
        } else {
            Value::Float(x)
        };
        Edit {
            path: self.path.clone(),
            value,
        }
    }
}

impl Study {
    /// Checks that `path` names a numeric field, suggesting close matches when it does not.
    pub fn field(&self, path: &str) -> Result<NumericField, ExploreError> {
        let file = self.scenario.file.clone();
        let integer = match self.scenario.value_at(path) {
            Some(Value::Integer(_)) => true,
            Some(Value::Float(_)) => false,
            Some(other) => {
                return Err(ExploreError::NotNumeric {
                    file,
                    path: path.to_string(),
                    kind: format!("a {}", other.type_str()),
                });
            }
            None => return self.unset_field(path),
        };
        // The configuration may have changed the value; read it from the resolved scenario.
        let resolved = self.scenario.resolve(&self.configuration)?;
        let value = toml::Value::try_from(&resolved)
            .ok()
            .and_then(|v| navigate(&v, path).and_then(number))
            .or_else(|| self.scenario.value_at(path).as_ref().and_then(number));
        if value.is_none() {
            return Err(ExploreError::NotNumeric {
                file,
                path: path.to_string(),
                kind: "not a finite number".into(),
            });
        }
        Ok(NumericField {
            path: path.to_string(),
            value,
            integer,
        })
    }

    /// A path the file does not write: an optional numeric field left to its default (it can be
    /// set, but has no value to vary by a fraction), or a mistake, answered with close matches.
    fn unset_field(&self, path: &str) -> Result<NumericField, ExploreError> {
        let mut said = None;
        for probe in [0.5, 1.0, 0.0] {
            let edit = Edit {
                path: path.to_string(),
                value: Value::Float(probe),
            };
            match self.scenario.resolve_with(&self.configuration, &[edit]) {
                Ok(resolved) => {
                    let found = toml::Value::try_from(&resolved)
                        .ok()
                        .and_then(|v| navigate(&v, path).and_then(number));
                    if found.is_some() {
                        return Ok(NumericField {
                            path: path.to_string(),
                            value: None,
                            integer: false,
                        });
                    }
                    break;
                }
                Err(e) => said = Some(last_message(&e)),
            }
        }
        // A field with a default inside a table the file does not write cannot be edited yet.
        let defaulted = self
            .scenario
            .resolve(&self.configuration)
            .ok()
            .and_then(|r| toml::Value::try_from(&r).ok())
            .and_then(|v| navigate(&v, path).and_then(number));
        if let Some(v) = defaulted {
            // The shortest part of the path the file does not write.
            let prefix = path::prefixes(path)
                .into_iter()
                .find(|p| self.scenario.value_at(p).is_none())
                .unwrap_or_else(|| path.to_string());
            return Err(ExploreError::UnknownPath {
                file: self.scenario.file.clone(),
                path: path.to_string(),
                hint: format!(
                    " in the file: it takes its default ({v}) because the file has no `{prefix}`; \
                     write `{prefix}` into the scenario to vary it"
                ),
            });
        }
        let near = close_matches(path, &self.scenario.numeric_paths());
        let hint = if !near.is_empty() {
            format!(
                "; did you mean {}?",
                near.iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )
        } else if let Some(m) = said {
            format!(" ({m})")
        } else {
            String::new()
        };
        Err(ExploreError::UnknownPath {
            file: self.scenario.file.clone(),
            path: path.to_string(),
            hint,
        })
    }

    /// The compiled market of the configuration with `edits` on top, with the study's seed; under
    /// a posterior, with the market of every row of the sample attached, whichever replications
    /// run (checks and runs use [`Self::market_for`], which compiles only the rows drawn).
    pub fn market(&self, edits: &[Edit]) -> Result<Market, ExploreError> {
        self.market_with(edits, None)
    }

    /// The compiled market of the configuration with `edits` on top, with the study's seed; under
    /// a posterior, with the markets of the rows replications `reps` draw attached.
    pub fn market_for(&self, edits: &[Edit], reps: Range<u64>) -> Result<Market, ExploreError> {
        self.market_with(edits, Some(reps))
    }

    /// [`Self::market`] (`reps` none: every row) or [`Self::market_for`].
    fn market_with(
        &self,
        edits: &[Edit],
        reps: Option<Range<u64>>,
    ) -> Result<Market, ExploreError> {
        let resolved = self.scenario.resolve_with(&self.configuration, edits)?;
        let mut market =
            Market::compile(&resolved, &self.configuration).map_err(|e| ExploreError::Compile {
                file: self.scenario.file.clone(),
                configuration: self.configuration.clone(),
                message: e.to_string(),
            })?;
        market.seed = self.seed;
        if let Some(p) = &self.posterior {
            // The configuration is made once; each row's values are set on a copy of it.
            let prepared = self.scenario.prepare(&self.configuration);
            // The row's values first, then this study's edits: a swept value wins.
            let resolve = |row: &[Edit]| {
                let row = calibrate::posterior::Posterior::under_configuration(
                    row,
                    &self.scenario,
                    &self.configuration,
                );
                let all: Vec<Edit> = row.iter().chain(edits).cloned().collect();
                prepared.resolve_with(&all).map_err(|e| e.to_string())
            };
            let build = |row: &[Edit]| -> Result<Market, String> {
                Market::compile(&resolve(row)?, &self.configuration).map_err(|e| e.to_string())
            };
            let check = |row: &[Edit]| resolve(row).map(drop);
            match reps {
                Some(reps) => p.attach_for(&mut market, reps, &build, &check),
                None => p.attach(&mut market, &build),
            }
            .map_err(ExploreError::Input)?;
        }
        Ok(market)
    }

    /// Runs replications `reps` of the configuration with `edits`, handing each outcome to `sink`
    /// in index order; `progress` hears how many of these are done.
    pub fn run(
        &self,
        edits: &[Edit],
        reps: Range<u64>,
        sink: &mut dyn FnMut(&ReplicationOutcome),
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Summary, ExploreError> {
        let market = self.market_for(edits, reps.clone())?;
        Ok(experiment::run(
            &market,
            reps,
            self.threads,
            &mut |r| {
                sink(r);
                Ok(())
            },
            progress,
        )?)
    }
}

/// The last line of an error's message (the most specific part).
fn last_message(e: &ScenarioError) -> String {
    match e.problems().first() {
        Some(p) => p.message.clone(),
        None => e.to_string(),
    }
}

/// A finite number, from an integer or a float.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Float(f) if f.is_finite() => Some(*f),
        _ => None,
    }
}

impl Study {
    /// Where a result of this study came from (the command line is added by the caller).
    pub fn provenance(&self) -> Provenance {
        Provenance {
            csmarket_version: Provenance::this_version(),
            scenario: self.scenario.base.scenario.name.clone(),
            scenario_file: self.scenario.file.clone(),
            scenario_sha256: self.scenario.sha256.clone(),
            configuration: self.configuration.clone(),
            seed: self.seed,
            first_replication: None,
            replications: self.replications,
            threads: Provenance::threads_used(self.threads),
            started: String::new(),
            finished: String::new(),
            command_line: Vec::new(),
            commit: Provenance::this_commit(),
            build_profile: Provenance::this_profile(),
            notes: Vec::new(),
            posterior: self.posterior.as_ref().map(|p| p.source()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Scenario {
        Scenario::from_text(
            "small.toml",
            include_str!("../../tests/fixtures/small.toml"),
        )
        .unwrap()
    }

    fn study(config: &str) -> Study {
        Study {
            scenario: small(),
            configuration: config.into(),
            seed: 1,
            replications: 10,
            threads: 1,
            posterior: None,
        }
    }

    #[test]
    fn numeric_path_resolves_to_its_value_in_the_configuration() {
        let f = study("national")
            .field("providers.national-comms.services.comms.fixed_cost")
            .unwrap();
        assert_eq!(f.value, Some(150000.0));
        assert!(f.integer);
        assert_eq!(f.edit(165000.0).value, Value::Integer(165000));
        assert_eq!(f.edit(0.5).value, Value::Float(0.5));
    }

    #[test]
    fn misspelt_path_suggests_close_matches() {
        let e = study("national")
            .field("services.comms.localty")
            .unwrap_err();
        let m = e.to_string();
        assert!(m.contains("did you mean `services.comms.locality`"), "{m}");
        assert!(m.starts_with("small.toml: "), "{m}");
        assert!(e.is_input());
    }

    #[test]
    fn unset_optional_field_can_be_swept_but_has_no_value() {
        let f = study("national")
            .field("providers.national-comms.markup")
            .unwrap();
        assert_eq!(f.value, None);
        let e = study("national")
            .field("providers.national-comms.markupp")
            .unwrap_err();
        assert!(e.to_string().contains("markup"), "{e}");
    }

    #[test]
    fn defaulted_field_in_an_unwritten_table_says_what_to_add() {
        let e = study("national").field("finance.markup").unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("default (0.05)") && m.contains("no `finance`"),
            "{m}"
        );
    }

    #[test]
    fn non_numeric_field_is_refused() {
        let e = study("national")
            .field("providers.bi-north.lead")
            .unwrap_err();
        assert!(matches!(e, ExploreError::NotNumeric { .. }), "{e}");
        assert!(e.to_string().contains("a string, not a number"), "{e}");
    }
}
