//! Calibration by approximate Bayesian computation with sequential Monte Carlo (ABC-SMC, MODEL.md
//! section 11): the scenario's `uncertain` parameters with a prior range are fitted to the
//! `[[observed.targets]]` of one configuration.
//!
//! The parts are those of pyabc, each in its own place: the distance, the tolerance schedule, the
//! transition kernel and the weights ([`abc`]); the sampler ([`sampler`]), which turns a generation
//! into a list of particle tasks, each drawing only from streams keyed by (seed, generation,
//! particle, attempt, purpose), so a generation is the same for any thread count and any split
//! into shards; the files that save each generation and the results ([`store`]); and the
//! posterior that other commands draw their parameters from ([`posterior`]).

pub mod abc;
mod exact;
pub mod measure;
pub mod posterior;
pub mod resume;
pub mod sampler;
pub mod store;

use serde::{Deserialize, Serialize};

use super::{ExploreError, NumericField, Study};
use crate::experiment::RunError;
use crate::experiment::shard::Shard;
use crate::scenario::schema::Target;
use measure::Measure;
use sampler::{Generation, Round};

/// An uncertain parameter with its uniform prior.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// Dotted path.
    pub path: String,
    /// Least value.
    pub min: f64,
    /// Greatest value.
    pub max: f64,
    /// The field, for edits.
    pub field: NumericField,
}

/// A target of the configuration calibrated.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetSpec {
    /// Name in outputs.
    pub label: String,
    /// Observed value.
    pub observed: f64,
    /// One unit of distance.
    pub tolerance: f64,
    /// Where the figure comes from.
    pub source: String,
    /// How to read it from a replication.
    pub measure: Measure,
}

/// What a calibration asks for.
#[derive(Debug, Clone)]
pub struct CalibrationPlan {
    /// Scenario, configuration, seed, replications per particle and threads.
    pub study: Study,
    /// Particles per generation.
    pub particles: usize,
    /// Most generations (generation 0 samples the prior).
    pub generations: u32,
    /// Stop once a generation's tolerance is at most this.
    pub final_tolerance: Option<f64>,
    /// Quantile of the last generation's distances that becomes the next tolerance.
    pub quantile: f64,
    /// Most proposals one particle may try in a generation.
    pub max_attempts: u32,
}

/// Most particles per generation.
pub const MAX_PARTICLES: usize = 100_000;
/// Most generations.
pub const MAX_GENERATIONS: u32 = 1_000;
/// The tolerance counts as falling only if it shrinks by more than this share per generation.
pub const STALL: f64 = 0.02;

/// What a calibration works with: its parameters and targets, resolved against the scenario.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Parameters, in the scenario's order.
    pub parameters: Vec<Parameter>,
    /// Targets of the configuration, in the scenario's order.
    pub targets: Vec<TargetSpec>,
    /// What was left out and why.
    pub notes: Vec<String>,
}

/// Who a calibration's saved files belong to: resuming or merging refuses any other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// csmarket version.
    pub csmarket_version: String,
    /// SHA-256 of the scenario file.
    pub scenario_sha256: String,
    /// Configuration calibrated.
    pub configuration: String,
    /// Master seed.
    pub seed: u64,
    /// Particles per generation.
    pub particles: usize,
    /// Replications per particle.
    pub replications: u64,
    /// Tolerance quantile.
    #[serde(with = "exact::one")]
    pub quantile: f64,
    /// Most proposals per particle.
    pub max_attempts: u32,
    /// Parameter paths and prior ranges (numbers as exact text).
    pub parameters: Vec<(String, String, String)>,
    /// Target labels, observed values and tolerances (numbers as exact text).
    pub targets: Vec<(String, String, String)>,
}

impl CalibrationPlan {
    /// Checks the options; the scenario's checks come with [`CalibrationPlan::setup`].
    pub fn check(&self) -> Result<(), ExploreError> {
        let bad = |m: String| Err(ExploreError::Input(m));
        if !(2..=MAX_PARTICLES).contains(&self.particles) {
            return bad(format!(
                "--particles {}: must be from 2 to {MAX_PARTICLES}",
                self.particles
            ));
        }
        if !(1..=MAX_GENERATIONS).contains(&self.generations) {
            return bad(format!(
                "--generations {}: must be from 1 to {MAX_GENERATIONS}",
                self.generations
            ));
        }
        if !(self.quantile > 0.0 && self.quantile < 1.0) {
            return bad(format!(
                "--quantile {}: must be between 0 and 1 (exclusive)",
                self.quantile
            ));
        }
        if let Some(e) = self
            .final_tolerance
            .filter(|e| !(e.is_finite() && *e >= 0.0))
        {
            return bad(format!(
                "--tolerance {e}: must be a finite number of at least 0"
            ));
        }
        if !(1..=1_000_000).contains(&self.max_attempts) {
            return bad(format!(
                "--max-attempts {}: must be from 1 to 1000000",
                self.max_attempts
            ));
        }
        Ok(())
    }

    /// The parameters with a prior and the targets observed under the configuration, each
    /// checked against the scenario: a prior's ends must give a valid market.
    pub fn setup(&self) -> Result<Setup, ExploreError> {
        let s = &self.study.scenario;
        let file = &s.file;
        let mut notes = Vec::new();
        let mut parameters = Vec::new();
        for (i, u) in s.base.uncertain.iter().enumerate() {
            let Some((min, max)) = u.prior() else {
                notes.push(format!(
                    "uncertain[{i}] `{}` has no prior range (min, max) and is not calibrated",
                    u.path
                ));
                continue;
            };
            let field = self.study.field(&u.path)?;
            for end in [min, max] {
                self.study.market(&[field.edit(end)]).map_err(|e| {
                    ExploreError::Input(format!(
                        "{file}: uncertain[{i}] `{}`: the prior's end {end} does not give a valid \
                         market: {e}",
                        u.path
                    ))
                })?;
            }
            parameters.push(Parameter {
                path: u.path.clone(),
                min,
                max,
                field,
            });
        }
        if parameters.is_empty() {
            return Err(ExploreError::Input(format!(
                "{file}: no uncertain parameter has a prior range; write \
                 `uncertain = [{{ path = \"...\", min = ..., max = ... }}]`"
            )));
        }
        let Some(observed) = &s.base.observed else {
            return Err(ExploreError::Input(format!(
                "{file}: the scenario has no [observed] section with targets to calibrate to"
            )));
        };
        let market = self.study.market(&[])?;
        let mut targets = Vec::new();
        for (i, t) in observed.targets.iter().enumerate() {
            let under = t.configuration.as_ref().unwrap_or(&observed.configuration);
            if *under != self.study.configuration {
                notes.push(format!(
                    "observed.targets[{i}] `{}` was observed under `{under}`, not `{}`; left out",
                    t.label(),
                    self.study.configuration
                ));
                continue;
            }
            targets.push(
                spec(t, &market).map_err(|m| {
                    ExploreError::Input(format!("{file}: observed.targets[{i}]: {m}"))
                })?,
            );
        }
        if targets.is_empty() {
            return Err(ExploreError::Input(format!(
                "{file}: no target of [observed] was observed under configuration `{}`",
                self.study.configuration
            )));
        }
        Ok(Setup {
            parameters,
            targets,
            notes,
        })
    }

    /// The identity of this calibration's files.
    pub fn identity(&self, setup: &Setup) -> Identity {
        Identity {
            csmarket_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario_sha256: self.study.scenario.sha256.clone(),
            configuration: self.study.configuration.clone(),
            seed: self.study.seed,
            particles: self.particles,
            replications: self.study.replications,
            quantile: self.quantile,
            max_attempts: self.max_attempts,
            parameters: setup
                .parameters
                .iter()
                .map(|p| {
                    (
                        p.path.clone(),
                        format!("{:?}", p.min),
                        format!("{:?}", p.max),
                    )
                })
                .collect(),
            targets: setup
                .targets
                .iter()
                .map(|t| {
                    (
                        t.label.clone(),
                        format!("{:?}", t.observed),
                        format!("{:?}", t.tolerance),
                    )
                })
                .collect(),
        }
    }
}

fn spec(t: &Target, market: &crate::model::Market) -> Result<TargetSpec, String> {
    Ok(TargetSpec {
        label: t.label(),
        observed: t.value,
        tolerance: t.tolerance,
        source: t.source.clone(),
        measure: Measure::of(t, market)?,
    })
}

/// Why a calibration stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Stop {
    /// It ran the generations asked for.
    Generations,
    /// The tolerance reached `--tolerance`.
    Tolerance,
    /// The tolerance stopped falling: some targets cannot be reached together.
    Stalled,
    /// A merge finished a generation; more remain (run the next round of shards).
    Merged,
    /// A particle found no acceptable proposal in `--max-attempts` tries.
    Exhausted {
        /// The generation that could not be completed.
        generation: u32,
        /// Its tolerance.
        epsilon: f64,
    },
}

impl Stop {
    /// In words, for the terminal and the results.
    pub fn describe(&self) -> String {
        match self {
            Stop::Generations => "ran every generation asked for".into(),
            Stop::Tolerance => "reached the final tolerance".into(),
            Stop::Merged => "merged a generation; more remain to be run by shards".into(),
            Stop::Stalled => format!(
                "the tolerance stopped falling (by less than {:.0}% a generation)",
                STALL * 100.0
            ),
            Stop::Exhausted {
                generation,
                epsilon,
            } => format!(
                "generation {generation} (tolerance {epsilon:.4}) was abandoned: a particle found \
                 no acceptable proposal within --max-attempts"
            ),
        }
    }
}

/// Whether the calibration should stop before generation `next`, given the generations so far.
pub fn stop_before(plan: &CalibrationPlan, done: &[sampler::Generation]) -> Option<Stop> {
    let last = done.last()?;
    if done.len() as u32 >= plan.generations {
        return Some(Stop::Generations);
    }
    if let (Some(e), Some(eps)) = (plan.final_tolerance, last.epsilon) {
        if eps <= e {
            return Some(Stop::Tolerance);
        }
    }
    if let Some(eps) = last.epsilon {
        let next = last.next_epsilon(plan.quantile);
        if next > eps * (1.0 - STALL) {
            return Some(Stop::Stalled);
        }
    }
    None
}

/// What this invocation of `calibrate` does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Every generation on this machine (`resume`: carry on from the saved ones).
    Whole {
        /// Carry on from the saved generations.
        resume: bool,
    },
    /// One shard of the next generation's tasks, saved for `--merge`.
    Shard {
        /// Which shard.
        shard: Shard,
        /// Carry on from the tasks a stopped run of the shard saved.
        resume: bool,
    },
    /// Folds the next generation's shards (split this many ways) into the generation.
    Merge(u64),
}

/// What a calibration tells its caller as it goes.
pub struct Listener<'a> {
    /// A generation starts: its index and tolerance, and how many tasks this machine runs.
    pub generation: &'a dyn Fn(u32, Option<f64>, u64),
    /// Tasks of the current generation done on this machine.
    pub task_done: &'a (dyn Fn(u64) + Sync),
    /// Whether a shard should stop (a signal came): it saves what it finished and returns.
    pub stop: &'a (dyn Fn() -> bool + Sync),
    /// A shard resumes from the tasks an earlier run of it saved.
    pub resumed: &'a dyn Fn(&resume::Resumed),
}

/// What a calibration did.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Results were written (the calibration stopped, or a merge finished a generation).
    Results {
        /// Parameters and targets.
        setup: Box<Setup>,
        /// Every generation so far.
        generations: Vec<Generation>,
        /// What `calibration.json` holds.
        summary: Box<store::Summary>,
    },
    /// A shard's tasks were saved.
    Shard {
        /// Generation.
        generation: u32,
        /// Tasks run.
        tasks: std::ops::Range<usize>,
        /// They were saved complete before (a resumed shard that had finished).
        already: bool,
    },
    /// A shard stopped on request before its last task, with the tasks it finished saved.
    Stopped {
        /// Generation.
        generation: u32,
        /// Tasks finished and saved.
        finished: usize,
        /// The shard's tasks.
        tasks: std::ops::Range<usize>,
        /// Where they are saved.
        place: String,
    },
    /// Nothing was left to do: the saved generations already meet a stopping rule.
    AlreadyDone(Stop),
}

pub(crate) fn machine(e: impl Into<anyhow::Error>) -> ExploreError {
    ExploreError::Run(RunError::Sink(e.into()))
}

/// Runs a calibration (or a shard of it, or a merge), keeping its generations in `store`; the
/// caller writes the results.
pub fn run(
    plan: &CalibrationPlan,
    store: &mut dyn store::Store,
    mode: Mode,
    command_line: &[String],
    listen: &Listener,
) -> Result<Outcome, ExploreError> {
    plan.check()?;
    let setup = plan.setup()?;
    let id = plan.identity(&setup);
    let mut done = match mode {
        Mode::Whole { resume: false } => {
            store.clear().map_err(machine)?;
            Vec::new()
        }
        _ => store::load_generations(store, &id)?,
    };
    let stop = loop {
        if let Some(s) = stop_before(plan, &done) {
            if matches!(mode, Mode::Shard { .. } | Mode::Merge(_)) {
                return Ok(Outcome::AlreadyDone(s));
            }
            break s;
        }
        let finished = {
            let round = Round::after(plan, &setup, &done);
            let results = match mode {
                Mode::Merge(count) => store::load_shards(store, &id, round.index, count)?,
                Mode::Shard { shard, resume } => {
                    return resume::run_shard(
                        plan, &setup, &id, &round, shard, resume, store, listen,
                    );
                }
                Mode::Whole { .. } => {
                    let n = plan.particles;
                    (listen.generation)(round.index, round.epsilon, n as u64);
                    sampler::run_tasks(plan, &setup, &round, 0..n, listen.task_done)?
                }
            };
            sampler::finish(&round, results)
        };
        match finished {
            Ok(g) => {
                let saved = store::SavedGeneration {
                    identity: id.clone(),
                    generation: g,
                };
                store.save_generation(&saved).map_err(machine)?;
                let g = saved.generation;
                done.push(g);
            }
            Err((generation, epsilon)) => {
                break Stop::Exhausted {
                    generation,
                    epsilon,
                };
            }
        }
        if let Mode::Merge(_) = mode {
            break stop_before(plan, &done).unwrap_or(Stop::Merged);
        }
    };
    let last = done
        .last()
        .ok_or_else(|| ExploreError::Input("no generation finished; nothing to report".into()))?;
    let fit = store::fit(&setup, last);
    let mut origin = plan.study.provenance();
    origin.command_line = command_line.to_vec();
    let summary = store::Summary {
        origin,
        stop,
        generations: done.len() as u32,
        marginals: store::marginals(&setup, last),
        unreachable: fit
            .iter()
            .filter(|f| !f.reachable())
            .map(|f| f.target.clone())
            .collect(),
        fit,
        notes: setup.notes.clone(),
    };
    Ok(Outcome::Results {
        setup: Box::new(setup),
        generations: done,
        summary: Box::new(summary),
    })
}

#[cfg(test)]
mod tests {
    use super::sampler::{Generation, Particle};
    use super::*;
    use crate::scenario::Scenario;

    fn plan(generations: u32, final_tolerance: Option<f64>) -> CalibrationPlan {
        let s = Scenario::from_text(
            "small.toml",
            include_str!("../../../tests/fixtures/small.toml"),
        )
        .unwrap();
        CalibrationPlan {
            study: Study {
                scenario: s,
                configuration: "local".into(),
                seed: 1,
                replications: 1,
                threads: 1,
                posterior: None,
            },
            particles: 4,
            generations,
            final_tolerance,
            quantile: 0.5,
            max_attempts: 10,
        }
    }

    fn generation(index: u32, epsilon: Option<f64>, distances: &[f64]) -> Generation {
        Generation {
            index,
            epsilon,
            particles: distances
                .iter()
                .map(|&d| Particle {
                    theta: vec![0.5],
                    weight: 1.0 / distances.len() as f64,
                    distance: d,
                    values: Vec::new(),
                })
                .collect(),
            simulations: distances.len() as u64,
            acceptance: 1.0,
            ess: distances.len() as f64,
        }
    }

    #[test]
    fn stops_after_the_generations_asked_for() {
        let done = [generation(0, None, &[1.0, 2.0, 3.0, 4.0])];
        assert_eq!(stop_before(&plan(1, None), &done), Some(Stop::Generations));
        assert_eq!(stop_before(&plan(5, None), &done), None);
        assert_eq!(stop_before(&plan(5, None), &[]), None);
    }

    #[test]
    fn stops_at_the_final_tolerance_and_when_the_tolerance_stops_falling() {
        let falling = [
            generation(0, None, &[4.0, 5.0, 6.0, 7.0]),
            generation(1, Some(5.0), &[1.0, 2.0, 3.0, 4.0]),
        ];
        assert_eq!(stop_before(&plan(9, None), &falling), None);
        assert_eq!(
            stop_before(&plan(9, Some(5.0)), &falling),
            Some(Stop::Tolerance)
        );
        // Every distance at the tolerance: the next one would be no smaller.
        let stuck = [
            generation(0, None, &[4.0, 5.0, 6.0, 7.0]),
            generation(1, Some(3.0), &[2.99, 3.0, 3.0, 3.0]),
        ];
        assert_eq!(stop_before(&plan(9, None), &stuck), Some(Stop::Stalled));
    }

    #[test]
    fn options_out_of_range_are_refused() {
        let mut p = plan(3, None);
        assert!(p.check().is_ok());
        p.particles = 1;
        assert!(p.check().unwrap_err().to_string().contains("--particles 1"));
        let mut p = plan(3, Some(-1.0));
        assert!(
            p.check()
                .unwrap_err()
                .to_string()
                .contains("--tolerance -1")
        );
        p.final_tolerance = None;
        p.quantile = 1.0;
        assert!(p.check().unwrap_err().to_string().contains("--quantile 1"));
    }
}
