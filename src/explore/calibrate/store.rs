//! A calibration's files: each finished generation saved under `state/` (so `--resume` carries
//! on from the last one), each shard's tasks saved for `--merge`, and the results: `posterior.csv`,
//! `generations.csv`, `fit.csv` and `calibration.json`. Every file is written whole or not at all.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::abc::weighted_quantile;
use super::sampler::{Generation, TaskResult};
use super::{Identity, Setup, Stop};
use crate::experiment::shard::Shard;
use crate::explore::{ExploreError, Origin, cell, to_csv};
use crate::export::atomic;

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

/// Where generation `t` is saved.
pub fn generation_file(dir: &Path, t: u32) -> PathBuf {
    dir.join("state").join(format!("generation-{t:03}.json"))
}

/// Where shard `s` of generation `t` is saved.
pub fn shard_file(dir: &Path, t: u32, s: Shard) -> PathBuf {
    dir.join("state")
        .join(format!("generation-{t:03}"))
        .join(format!("shard-{}-of-{}.json", s.index, s.count))
}

fn input(m: String) -> ExploreError {
    ExploreError::Input(m)
}

fn save<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let bytes = serde_json::to_vec(value)?;
    atomic::write(path, &bytes)?;
    Ok(())
}

fn load<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, ExploreError> {
    let bytes =
        std::fs::read(path).map_err(|e| input(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        input(format!(
            "{}: not a saved calibration file of this version: {e}",
            path.display()
        ))
    })
}

/// Saves a finished generation.
pub fn save_generation(dir: &Path, identity: &Identity, g: &Generation) -> anyhow::Result<()> {
    let saved = SavedGeneration {
        identity: identity.clone(),
        generation: g.clone(),
    };
    save(&generation_file(dir, g.index), &saved)
}

/// Saves a shard's results.
pub fn save_shard(dir: &Path, saved: &SavedShard) -> anyhow::Result<()> {
    save(&shard_file(dir, saved.generation, saved.shard), saved)
}

/// The saved generations 0, 1, ... of this calibration, in order; a file of another calibration
/// is refused, naming what differs.
pub fn load_generations(dir: &Path, identity: &Identity) -> Result<Vec<Generation>, ExploreError> {
    let mut out = Vec::new();
    loop {
        let path = generation_file(dir, out.len() as u32);
        if !path.exists() {
            return Ok(out);
        }
        let saved: SavedGeneration = load(&path)?;
        check_identity(&path, &saved.identity, identity)?;
        if saved.generation.index != out.len() as u32 {
            return Err(input(format!(
                "{}: holds generation {}, expected {}",
                path.display(),
                saved.generation.index,
                out.len()
            )));
        }
        out.push(saved.generation);
    }
}

/// Removes saved generations (a fresh calibration starts from generation 0).
pub fn clear(dir: &Path) -> std::io::Result<()> {
    let state = dir.join("state");
    match std::fs::remove_dir_all(&state) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Reads every shard of generation `t` split `count` ways; they must cover its tasks exactly.
pub fn load_shards(
    dir: &Path,
    identity: &Identity,
    t: u32,
    count: u64,
) -> Result<Vec<TaskResult>, ExploreError> {
    let mut results = Vec::new();
    for index in 0..count {
        let shard = Shard { index, count };
        let path = shard_file(dir, t, shard);
        if !path.exists() {
            return Err(input(format!(
                "{}: missing; run `csmarket calibrate --shard {shard}` first",
                path.display()
            )));
        }
        let saved: SavedShard = load(&path)?;
        check_identity(&path, &saved.identity, identity)?;
        let expected = task_range(identity.particles, shard);
        if saved.generation != t || saved.tasks != expected || saved.results.len() != expected.len()
        {
            return Err(input(format!(
                "{}: holds generation {} tasks {:?} ({} results), expected generation {t} tasks {expected:?}",
                path.display(),
                saved.generation,
                saved.tasks,
                saved.results.len()
            )));
        }
        results.extend(saved.results);
    }
    Ok(results)
}

/// The tasks shard `s` runs out of `particles`.
pub fn task_range(particles: usize, s: Shard) -> Range<usize> {
    let r = s.range(particles as u64);
    r.start as usize..r.end as usize
}

fn check_identity(path: &Path, found: &Identity, ours: &Identity) -> Result<(), ExploreError> {
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
        "{}: belongs to a calibration with {what}; run without --resume to start afresh, or \
         give the same options",
        path.display()
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
    pub origin: Origin,
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

/// `posterior.csv`: one row per particle of the last generation.
pub fn posterior_csv(setup: &Setup, g: &Generation) -> anyhow::Result<Vec<u8>> {
    let mut header = vec!["particle".to_string()];
    header.extend(setup.parameters.iter().map(|p| p.path.clone()));
    header.extend(["weight".into(), "distance".into()]);
    let mut rows = vec![header];
    for (i, p) in g.particles.iter().enumerate() {
        let mut row = vec![i.to_string()];
        row.extend(p.theta.iter().map(|x| format!("{x}")));
        row.push(format!("{}", p.weight));
        row.push(format!("{}", p.distance));
        rows.push(row);
    }
    to_csv(rows)
}

/// `generations.csv`: tolerance, acceptance rate, effective sample size and simulations.
pub fn generations_csv(gs: &[Generation]) -> anyhow::Result<Vec<u8>> {
    let mut rows = vec![
        [
            "generation",
            "tolerance",
            "acceptance_rate",
            "ess",
            "simulations",
            "median_distance",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for g in gs {
        let d: Vec<f64> = g.particles.iter().map(|p| p.distance).collect();
        let w: Vec<f64> = g.particles.iter().map(|p| p.weight).collect();
        rows.push(vec![
            g.index.to_string(),
            cell(g.epsilon),
            format!("{}", g.acceptance),
            format!("{}", g.ess),
            g.simulations.to_string(),
            format!("{}", weighted_quantile(&d, &w, 0.5)),
        ]);
    }
    to_csv(rows)
}

/// `fit.csv`: each target against the posterior predictive distribution.
pub fn fit_csv(fits: &[Fit]) -> anyhow::Result<Vec<u8>> {
    let mut rows = vec![
        [
            "target",
            "observed",
            "tolerance",
            "predictive_mean",
            "p5",
            "p95",
            "inside_90",
            "closest_in_tolerances",
            "source",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for f in fits {
        rows.push(vec![
            f.target.clone(),
            format!("{}", f.observed),
            format!("{}", f.tolerance),
            format!("{}", f.mean),
            format!("{}", f.band.0),
            format!("{}", f.band.1),
            f.inside.to_string(),
            format!("{}", f.closest),
            f.source.clone(),
        ]);
    }
    to_csv(rows)
}

/// Writes the results of the last generation into `dir`.
pub fn write_results(
    dir: &Path,
    setup: &Setup,
    generations: &[Generation],
    summary: &Summary,
) -> anyhow::Result<()> {
    let Some(last) = generations.last() else {
        return Ok(());
    };
    std::fs::create_dir_all(dir)?;
    atomic::write(&dir.join("posterior.csv"), &posterior_csv(setup, last)?)?;
    atomic::write(&dir.join("generations.csv"), &generations_csv(generations)?)?;
    atomic::write(&dir.join("fit.csv"), &fit_csv(&summary.fit)?)?;
    let json = serde_json::to_vec_pretty(summary)?;
    atomic::write(&dir.join("calibration.json"), &json)?;
    Ok(())
}
