//! The sampler: a generation is a list of particle tasks, 0 to N-1. Task `i` of generation `t`
//! tries proposals `a = 0, 1, ...`, each drawn from the stream keyed by (seed, t, i, a, purpose),
//! and simulates each with a seed from the same key, until one is accepted. Tasks run in parallel
//! and are collected in index order, so a generation does not depend on threads; a shard runs a
//! range of tasks and [`finish`] folds any set of ranges into the same generation.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use rand::RngExt;
use rand::rngs::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::abc::{self, Kernel};
use super::{CalibrationPlan, Setup};
use crate::engine;
use crate::experiment::RunError;
use crate::explore::ExploreError;
use crate::model::rng::{self, Purpose};

/// Draws of one attempt, separated by purpose.
#[derive(Debug, Clone, Copy)]
#[repr(u32)]
enum Draw {
    /// The proposal: prior draw, or ancestor and perturbation.
    Propose = 1,
    /// The seed of the attempt's simulations.
    Simulate = 2,
}

fn stream(seed: u64, generation: u32, particle: usize, attempt: u32, d: Draw) -> ChaCha8Rng {
    rng::stream(
        seed,
        particle as u64,
        u64::from(generation),
        attempt,
        Purpose::Calibration,
        d as u32,
    )
}

/// What one particle task found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    /// Parameter values, in the setup's order.
    #[serde(with = "super::exact::many")]
    pub theta: Vec<f64>,
    /// Distance of its simulations to the targets.
    #[serde(with = "super::exact::one")]
    pub distance: f64,
    /// Simulated value of each target in each replication (replication-major).
    #[serde(with = "super::exact::rows")]
    pub values: Vec<Vec<f64>>,
    /// Whether a proposal was accepted (otherwise the last one tried).
    pub accepted: bool,
    /// Proposals tried, inside the prior or not.
    pub attempts: u32,
    /// Proposals simulated.
    pub simulations: u32,
}

/// One accepted particle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Particle {
    /// Parameter values.
    #[serde(with = "super::exact::many")]
    pub theta: Vec<f64>,
    /// Normalised importance weight.
    #[serde(with = "super::exact::one")]
    pub weight: f64,
    /// Distance to the targets.
    #[serde(with = "super::exact::one")]
    pub distance: f64,
    /// Simulated value of each target in each replication.
    #[serde(with = "super::exact::rows")]
    pub values: Vec<Vec<f64>>,
}

/// A finished generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    /// Index from 0 (the prior sample).
    pub index: u32,
    /// Its tolerance (none for generation 0, which accepts every prior draw).
    #[serde(with = "super::exact::maybe")]
    pub epsilon: Option<f64>,
    /// Particles, in task order.
    pub particles: Vec<Particle>,
    /// Proposals simulated.
    pub simulations: u64,
    /// Accepted particles per simulation.
    #[serde(with = "super::exact::one")]
    pub acceptance: f64,
    /// Effective sample size of the weights.
    #[serde(with = "super::exact::one")]
    pub ess: f64,
}

impl Generation {
    /// The tolerance of the next generation: the quantile of this one's weighted distances.
    pub fn next_epsilon(&self, quantile: f64) -> f64 {
        let d: Vec<f64> = self.particles.iter().map(|p| p.distance).collect();
        let w: Vec<f64> = self.particles.iter().map(|p| p.weight).collect();
        abc::weighted_quantile(&d, &w, quantile)
    }

    /// Parameter vectors and weights.
    pub fn points(&self) -> (Vec<Vec<f64>>, Vec<f64>) {
        (
            self.particles.iter().map(|p| p.theta.clone()).collect(),
            self.particles.iter().map(|p| p.weight).collect(),
        )
    }
}

/// What a generation's tasks draw from: its index, tolerance and the previous population.
#[derive(Debug, Clone)]
pub struct Round<'a> {
    /// Generation index.
    pub index: u32,
    /// Tolerance (none: accept every prior draw).
    pub epsilon: Option<f64>,
    /// Previous generation and its kernel (none for generation 0).
    pub previous: Option<(&'a Generation, Kernel)>,
}

impl<'a> Round<'a> {
    /// The round that follows `done` (generation 0 when nothing is done).
    pub fn after(plan: &CalibrationPlan, setup: &Setup, done: &'a [Generation]) -> Round<'a> {
        match done.last() {
            None => Round {
                index: 0,
                epsilon: None,
                previous: None,
            },
            Some(g) => {
                let (points, weights) = g.points();
                let widths: Vec<f64> = setup.parameters.iter().map(|p| p.max - p.min).collect();
                Round {
                    index: g.index + 1,
                    epsilon: Some(g.next_epsilon(plan.quantile)),
                    previous: Some((g, Kernel::fit(&points, &weights, &widths))),
                }
            }
        }
    }
}

/// Runs tasks `range` of a round on the plan's threads; `progress` hears each task finish.
pub fn run_tasks(
    plan: &CalibrationPlan,
    setup: &Setup,
    round: &Round,
    range: Range<usize>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<TaskResult>, ExploreError> {
    let threads = plan.study.threads;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|source| RunError::Pool { threads, source })?;
    let done = AtomicU64::new(0);
    pool.install(|| {
        range
            .into_par_iter()
            .map(|i| {
                let r = task(plan, setup, round, i);
                progress(done.fetch_add(1, Ordering::Relaxed) + 1);
                r
            })
            .collect()
    })
}

/// One particle task: proposals until one is accepted or `max_attempts` are spent.
pub(super) fn task(
    plan: &CalibrationPlan,
    setup: &Setup,
    round: &Round,
    i: usize,
) -> Result<TaskResult, ExploreError> {
    let seed = plan.study.seed;
    let mut simulations = 0;
    let mut last = None;
    for attempt in 0..plan.max_attempts {
        let mut r = stream(seed, round.index, i, attempt, Draw::Propose);
        let theta = match &round.previous {
            None => setup
                .parameters
                .iter()
                .map(|p| p.min + rng::uniform(&mut r) * (p.max - p.min))
                .collect(),
            Some((g, kernel)) => {
                let u = rng::uniform(&mut r);
                let ancestor = pick(&g.particles, u);
                let z: Vec<f64> = (0..setup.parameters.len())
                    .map(|_| rng::standard_normal(&mut r))
                    .collect();
                kernel.perturb(&g.particles[ancestor].theta, &z)
            }
        };
        let inside = setup
            .parameters
            .iter()
            .zip(&theta)
            .all(|(p, x)| (p.min..=p.max).contains(x));
        if !inside {
            continue;
        }
        let sim_seed: u64 = stream(seed, round.index, i, attempt, Draw::Simulate).random();
        let values = simulate(plan, setup, &theta, sim_seed)?;
        simulations += 1;
        let distance = distance(setup, &values);
        let accepted = round.epsilon.is_none_or(|e| distance <= e);
        let result = TaskResult {
            theta,
            distance,
            values,
            accepted,
            attempts: attempt + 1,
            simulations,
        };
        if accepted {
            return Ok(result);
        }
        last = Some(result);
    }
    Ok(last.unwrap_or(TaskResult {
        theta: Vec::new(),
        distance: f64::INFINITY,
        values: Vec::new(),
        accepted: false,
        attempts: plan.max_attempts,
        simulations,
    }))
}

/// The particle whose cumulative weight first passes `u` of the total.
fn pick(particles: &[Particle], u: f64) -> usize {
    let total: f64 = particles.iter().map(|p| p.weight).sum();
    let mut acc = 0.0;
    for (i, p) in particles.iter().enumerate() {
        acc += p.weight;
        if acc > u * total {
            return i;
        }
    }
    particles.len().saturating_sub(1)
}

/// The distance of a particle's simulations: targets averaged over its replications first.
pub fn distance(setup: &Setup, values: &[Vec<f64>]) -> f64 {
    let n = values.len().max(1) as f64;
    let mean: Vec<f64> = (0..setup.targets.len())
        .map(|k| values.iter().map(|v| v[k]).sum::<f64>() / n)
        .collect();
    let obs: Vec<f64> = setup.targets.iter().map(|t| t.observed).collect();
    let tol: Vec<f64> = setup.targets.iter().map(|t| t.tolerance).collect();
    abc::distance(&mean, &obs, &tol)
}

/// Simulates `--reps` replications of the configuration with `theta`, on this thread, and reads
/// every target from each.
pub fn simulate(
    plan: &CalibrationPlan,
    setup: &Setup,
    theta: &[f64],
    seed: u64,
) -> Result<Vec<Vec<f64>>, ExploreError> {
    let edits: Vec<_> = setup
        .parameters
        .iter()
        .zip(theta)
        .map(|(p, &x)| p.field.edit(if p.field.integer { x.round() } else { x }))
        .collect();
    let mut market = plan.study.market(&edits)?;
    market.seed = seed;
    let mut workspace = engine::Workspace::default();
    Ok((0..plan.study.replications)
        .map(|r| {
            let o = engine::simulate_in(&market, r, &mut workspace);
            setup
                .targets
                .iter()
                .map(|t| t.measure.value(&market, &o))
                .collect()
        })
        .collect())
}

/// Folds a round's task results (all of them, in task order) into the finished generation: weights
/// from the previous population, effective sample size and acceptance rate. Refuses a round in
/// which a particle found no acceptable proposal.
pub fn finish(round: &Round, results: Vec<TaskResult>) -> Result<Generation, (u32, f64)> {
    if results.iter().any(|r| !r.accepted) {
        return Err((round.index, round.epsilon.unwrap_or(f64::INFINITY)));
    }
    let simulations: u64 = results.iter().map(|r| u64::from(r.simulations)).sum();
    let raw: Vec<f64> = match &round.previous {
        None => vec![1.0; results.len()],
        Some((g, kernel)) => {
            let (points, weights) = g.points();
            results
                .iter()
                .map(|r| abc::importance_weight(&r.theta, &points, &weights, kernel))
                .collect()
        }
    };
    let weights = abc::normalise(&raw);
    let ess = abc::effective_sample_size(&weights);
    let acceptance = if simulations > 0 {
        results.len() as f64 / simulations as f64
    } else {
        0.0
    };
    Ok(Generation {
        index: round.index,
        epsilon: round.epsilon,
        particles: results
            .into_iter()
            .zip(weights)
            .map(|(r, weight)| Particle {
                theta: r.theta,
                weight,
                distance: r.distance,
                values: r.values,
            })
            .collect(),
        simulations,
        acceptance,
        ess,
    })
}
