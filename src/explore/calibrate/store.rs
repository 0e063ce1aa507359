//! What a calibration keeps and reports: each finished generation (so `--resume` carries on from
//! the last one), each shard's tasks (for `--merge`), behind the [`Store`] trait (the files are in
//! `export::calibration`); and the analysis of the last generation: marginal posteriors and the
//! posterior predictive fit to each target.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::abc::weighted_quantile;
use super::sampler::{Generation, TaskResult};
use super::{Identity, Setup, Stop};
use crate::experiment::Provenance;
use crate::experiment::shard::Shard;
use crate::explore::ExploreError;

/// A saved generation with the identity of its calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedGeneration {
    /// Whose generation it is.
    pub identity: Identity,
    /// The generation.
    pub generation: Generation,
}

/// A shard's task results for one generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedShard {
    /// Whose shard it is.
    pub identity: Identity,
    /// Generation index.
    pub generation: u32,
    /// Which shard.
    pub shard: Shard,
    /// The tasks it ran.
    pub tasks: Range<usize>,
    /// Their results, in task order.
    pub results: Vec<TaskResult>,
}

/// The particles of a shard that finished before it was stopped (a signal, a time limit, a lost
/// node), so that `--shard K/N --resume` runs only the others: each particle task draws only from
/// its own streams, so the shard it completes is the one an uninterrupted run saves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedProgress {
    /// Whose shard it is.
    pub identity: Identity,
    /// Generation index.
    pub generation: u32,
    /// Which shard.
    pub shard: Shard,
    /// The finished tasks and their results, in task order.
    pub finished: Vec<(usize, TaskResult)>,
}

/// Where a calibration's generations and shards are kept (files in `export::calibration`; memory
/// in tests). Reads return `Ok(None)` for what was never saved, and a message for what cannot be
/// read.
pub trait Store {
    /// Forgets every saved generation and shard (a fresh calibration).
    fn clear(&mut self) -> anyhow::Result<()>;
    /// Generation `t`, if saved.
    fn generation(&self, t: u32) -> Result<Option<SavedGeneration>, String>;
    /// Saves a finished generation.
    fn save_generation(&mut self, saved: &SavedGeneration) -> anyhow::Result<()>;
    /// Shard `s` of generation `t`, if saved.
    fn shard(&self, t: u32, s: Shard) -> Result<Option<SavedShard>, String>;
    /// Saves a shard's results.
    fn save_shard(&mut self, saved: &SavedShard) -> anyhow::Result<()>;
    /// The progress saved by shard `s` of generation `t` when it was stopped, if any.
    fn progress(&self, t: u32, s: Shard) -> Result<Option<SavedProgress>, String>;
    /// Saves a shard's progress (replacing what was saved before).
    fn save_progress(&mut self, saved: &SavedProgress) -> anyhow::Result<()>;
    /// Forgets shard `s` of generation `t`'s progress (it finished, or starts afresh).
    fn clear_progress(&mut self, t: u32, s: Shard) -> anyhow::Result<()>;
    /// Where shard `s` of generation `t` keeps its progress, for messages.
    fn progress_place(&self, t: u32, s: Shard) -> String;
    /// Where generation `t` (`shard` none) or one of its shards is kept, for messages.
    fn place(&self, t: u32, shard: Option<Shard>) -> String;
}

fn input(m: String) -> ExploreError {
    ExploreError::Input(m)
}

/// The saved generations 0, 1, ... of this calibration, in order; a file of another calibration
/// is refused, naming what differs.
pub fn load_generations(
    store: &dyn Store,
    identity: &Identity,
) -> Result<Vec<Generation>, ExploreError> {
    let mut out = Vec::new();
    loop {
        let t = out.len() as u32;
        let Some(saved) = store.generation(t).map_err(input)? else {
            return Ok(out);
        };
        let place = store.place(t, None);
        check_identity(&place, &saved.identity, identity)?;
        if saved.generation.index != t {
            return Err(input(format!(
                "{place}: holds generation {}, expected {t}",
                saved.generation.index
            )));
        }
        out.push(saved.generation);
    }
}

/// Reads every shard of generation `t` split `count` ways; they must cover its tasks exactly.
pub fn load_shards(
    store: &dyn Store,
    identity: &Identity,
    t: u32,
    count: u64,
) -> Result<Vec<TaskResult>, ExploreError> {
    let mut results = Vec::new();
    for index in 0..count {
        let shard = Shard { index, count };
        let place = store.place(t, Some(shard));
        let Some(saved) = store.shard(t, shard).map_err(input)? else {
            return Err(input(format!(
                "{place}: missing; run `csmarket calibrate --shard {shard}` first"
            )));
        };
        check_identity(&place, &saved.identity, identity)?;
        let expected = task_range(identity.particles, shard);
        if saved.generation != t || saved.tasks != expected || saved.results.len() != expected.len()
        {
            return Err(input(format!(
                "{place}: holds generation {} tasks {:?} ({} results), expected generation {t} tasks {expected:?}",
                saved.generation,
                saved.tasks,
                saved.results.len()
            )));
        }
        results.extend(saved.results);
    }
    Ok(results)
}

/// The finished tasks a stopped shard saved, by task; none when nothing was saved. Progress of
/// another calibration, generation or shard, or of a task outside the shard's, is refused.
pub fn load_progress(
    store: &dyn Store,
    identity: &Identity,
    t: u32,
    s: Shard,
    tasks: &Range<usize>,
) -> Result<std::collections::BTreeMap<usize, TaskResult>, ExploreError> {
    let Some(saved) = store.progress(t, s).map_err(input)? else {
        return Ok(Default::default());
    };
    let place = store.progress_place(t, s);
    check_identity(&place, &saved.identity, identity)?;
    if saved.generation != t || saved.shard != s {
        return Err(input(format!(
            "{place}: holds the progress of generation {} shard {}, expected generation {t} shard {s}",
            saved.generation, saved.shard
        )));
    }
    let mut out = std::collections::BTreeMap::new();
    for (i, r) in saved.finished {
        if !tasks.contains(&i) || out.insert(i, r).is_some() {
            return Err(input(format!(
                "{place}: task {i} is outside the shard's tasks {tasks:?} or saved twice; run \
                 without --resume to start the shard afresh"
            )));
        }
    }
    Ok(out)
}

/// The tasks shard `s` runs out of `particles`.
pub fn task_range(particles: usize, s: Shard) -> Range<usize> {
    let r = s.range(particles as u64);
    r.start as usize..r.end as usize
}

fn check_identity(place: &str, found: &Identity, ours: &Identity) -> Result<(), ExploreError> {
    if found == ours {
        return Ok(());
    }
    let what = if found.scenario_sha256 != ours.scenario_sha256 {
        "another scenario file"
    } else if found.configuration != ours.configuration {
        "another configuration"
    } else if found.seed != ours.seed {
        "another seed"
    } else if found.particles != ours.particles || found.replications != ours.replications {
        "other --particles or --reps"
    } else {
        "other options, priors or targets"
    };
    Err(input(format!(
        "{place}: belongs to a calibration with {what}; run without --resume to start afresh, or \
         give the same options"
    )))
}

/// Posterior summary of one parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Marginal {
    /// Path.
    pub path: String,
    /// Prior range.
    pub prior: (f64, f64),
    /// Weighted 5%, 50% and 95% quantiles.
    pub quantiles: [f64; 3],
    /// Weighted mean.
    pub mean: f64,
}

/// How well the posterior reproduces one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fit {
    /// Target name.
    pub target: String,
    /// Observed value.
    pub observed: f64,
    /// Tolerance.
    pub tolerance: f64,
    /// Posterior predictive mean over particles and replications.
    pub mean: f64,
    /// Posterior predictive 5% and 95% quantiles.
    pub band: (f64, f64),
    /// Whether the observation lies in the 90% band.
    pub inside: bool,
    /// Smallest |mean simulated - observed| / tolerance over the particles.
    pub closest: f64,
    /// Where the figure comes from.
    pub source: String,
}

impl Fit {
    /// Whether some particle comes within one tolerance of the observation.
    pub fn reachable(&self) -> bool {
        self.closest <= 1.0
    }
}

/// Marginal posteriors of a generation.
pub fn marginals(setup: &Setup, g: &Generation) -> Vec<Marginal> {
    let w: Vec<f64> = g.particles.iter().map(|p| p.weight).collect();
    setup
        .parameters
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let x: Vec<f64> = g.particles.iter().map(|q| q.theta[k]).collect();
            Marginal {
                path: p.path.clone(),
                prior: (p.min, p.max),
                quantiles: [0.05, 0.5, 0.95].map(|q| weighted_quantile(&x, &w, q)),
                mean: x.iter().zip(&w).map(|(a, b)| a * b).sum(),
            }
        })
        .collect()
}

/// Posterior predictive fit of each target: every particle's replications, each weighted by its
/// particle's weight over the replications.
pub fn fit(setup: &Setup, g: &Generation) -> Vec<Fit> {
    setup
        .targets
        .iter()
        .enumerate()
        .map(|(k, t)| {
            let (mut x, mut w) = (Vec::new(), Vec::new());
            let mut closest = f64::INFINITY;
            for p in &g.particles {
                let n = p.values.len().max(1) as f64;
                let mean = p.values.iter().map(|v| v[k]).sum::<f64>() / n;
                closest = closest.min((mean - t.observed).abs() / t.tolerance);
                for v in &p.values {
                    x.push(v[k]);
                    w.push(p.weight / n);
                }
            }
            let band = (
                weighted_quantile(&x, &w, 0.05),
                weighted_quantile(&x, &w, 0.95),
            );
            Fit {
                target: t.label.clone(),
                observed: t.observed,
                tolerance: t.tolerance,
                mean: x.iter().zip(&w).map(|(a, b)| a * b).sum(),
                band,
                inside: band.0 <= t.observed && t.observed <= band.1,
                closest,
                source: t.source.clone(),
            }
        })
        .collect()
}

/// What `calibration.json` records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Where it came from.
    pub origin: Provenance,
    /// Why it stopped.
    pub stop: Stop,
    /// Generations run.
    pub generations: u32,
    /// Marginal posteriors.
    pub marginals: Vec<Marginal>,
    /// Fit to each target.
    pub fit: Vec<Fit>,
    /// Targets no particle comes within one tolerance of.
    pub unreachable: Vec<String>,
    /// What was left out and why.
    pub notes: Vec<String>,
}
