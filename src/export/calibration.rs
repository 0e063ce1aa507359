//! The files of a calibration: its saved generations and shards under `state/` (the
//! [`Store`] the calibration keeps them in, each sealed with its SHA-256), and its results: `posterior.csv`, `generations.csv`,
//! `fit.csv` and `calibration.json`. Every file is written whole or not at all.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::column::{Column, column};
use super::{Exporter, atomic, json_bytes, layout, num, to_csv};
use crate::experiment::sealed;
use crate::experiment::shard::Shard;
use crate::explore::calibrate::Setup;
use crate::explore::calibrate::abc::weighted_quantile;
use crate::explore::calibrate::sampler::Generation;
use crate::explore::calibrate::store::{Fit, SavedGeneration, SavedShard, Store, Summary};

/// A calibration's saved generations and shards, as files under `DIR/state/`.
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// The store of the calibration folder `dir`.
    pub fn new(dir: &Path) -> FileStore {
        FileStore {
            dir: dir.join(layout::CALIBRATION_STATE_DIR),
        }
    }

    fn generation_file(&self, t: u32) -> PathBuf {
        self.dir.join(format!("generation-{t:03}.json"))
    }

    fn shard_file(&self, t: u32, s: Shard) -> PathBuf {
        self.dir
            .join(format!("generation-{t:03}"))
            .join(format!("shard-{}-of-{}.json", s.index, s.count))
    }
}

/// Format of the sealed generation and shard files (`experiment::sealed`): a file edited, cut
/// short or damaged after it was written is refused rather than resumed or merged.
pub const STATE_FORMAT: u32 = 1;

fn save<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    atomic::write(path, &sealed::seal(STATE_FORMAT, value)?)?;
    Ok(())
}

fn load<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    sealed::open(STATE_FORMAT, &bytes).map(Some).map_err(|e| {
        format!(
            "{}: not a saved calibration file of this version: {e}",
            path.display()
        )
    })
}

impl Store for FileStore {
    fn clear(&mut self) -> anyhow::Result<()> {
        match std::fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    fn generation(&self, t: u32) -> Result<Option<SavedGeneration>, String> {
        load(&self.generation_file(t))
    }

    fn save_generation(&mut self, saved: &SavedGeneration) -> anyhow::Result<()> {
        save(&self.generation_file(saved.generation.index), saved)
    }

    fn shard(&self, t: u32, s: Shard) -> Result<Option<SavedShard>, String> {
        load(&self.shard_file(t, s))
    }

    fn save_shard(&mut self, saved: &SavedShard) -> anyhow::Result<()> {
        save(&self.shard_file(saved.generation, saved.shard), saved)
    }

    fn place(&self, t: u32, shard: Option<Shard>) -> String {
        match shard {
            None => self.generation_file(t),
            Some(s) => self.shard_file(t, s),
        }
        .display()
        .to_string()
    }
}

const DISTANCE: &str = "tolerances (root mean square)";

/// The columns of `generations.csv`, in order: (name, unit, meaning).
const GENERATIONS: [(&str, &str, &str); 6] = [
    (
        "generation",
        "index",
        "the generation (0 samples the prior)",
    ),
    (
        "tolerance",
        DISTANCE,
        "the largest distance accepted; empty for generation 0, which accepts every prior draw",
    ),
    (
        "acceptance_rate",
        "share (0 to 1)",
        "particles accepted per proposal simulated",
    ),
    (
        "ess",
        "particles",
        "effective sample size of the weights: (sum w)^2 / sum w^2",
    ),
    (
        "simulations",
        "proposals",
        "proposals simulated (each with --reps replications)",
    ),
    (
        "median_distance",
        DISTANCE,
        "the weighted median distance of the accepted particles",
    ),
];

/// The columns of `fit.csv`, in order: (name, unit, meaning).
const FIT: [(&str, &str, &str); 9] = [
    ("target", "name", "the target (kind, and what it counts)"),
    ("observed", "the target's unit", "the observed value"),
    (
        "tolerance",
        "the target's unit",
        "the tolerance the scenario gives it",
    ),
    (
        "predictive_mean",
        "the target's unit",
        "posterior predictive mean: over every particle's replications, weighted by its weight",
    ),
    (
        "p5",
        "the target's unit",
        "5th percentile of the posterior predictive distribution",
    ),
    (
        "p95",
        "the target's unit",
        "95th percentile of the posterior predictive distribution",
    ),
    (
        "inside_90",
        "true or false",
        "whether the observed value is inside the 5-95% band",
    ),
    (
        "closest_in_tolerances",
        "tolerances",
        "how far the closest particle comes, in tolerances; above 1: the target cannot be reached",
    ),
    (
        "source",
        "text",
        "where the observation comes from, as the scenario says",
    ),
];

fn names(table: &[(&str, &str, &str)]) -> Vec<String> {
    table.iter().map(|(n, _, _)| n.to_string()).collect()
}

/// The columns of a calibration's `posterior.csv`, `generations.csv` and `fit.csv`, for the data
/// dictionary: a column of `posterior.csv` per calibrated parameter of `setup`.
pub fn columns(setup: &Setup) -> Vec<Column> {
    let f = layout::POSTERIOR_CSV;
    let mut c = vec![column(
        f,
        "particle",
        "index",
        "the particle of the last generation",
    )];
    c.extend(setup.parameters.iter().map(|p| {
        column(
            f,
            &p.path,
            "as in the scenario",
            &format!(
                "the particle's value of the parameter (uniform prior from {} to {})",
                p.min, p.max
            ),
        )
    }));
    c.push(column(
        f,
        "weight",
        "weight (sums to 1)",
        "the particle's importance weight; --posterior draws rows by it",
    ));
    c.push(column(
        f,
        "distance",
        DISTANCE,
        "root mean square over targets of (simulated mean - observed) / tolerance",
    ));
    for (table, file) in [
        (&GENERATIONS[..], layout::GENERATIONS_CSV),
        (&FIT[..], layout::FIT_CSV),
    ] {
        c.extend(table.iter().map(|(n, u, m)| column(file, n, u, m)));
    }
    c
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
    let mut rows = vec![names(&GENERATIONS)];
    for g in gs {
        let d: Vec<f64> = g.particles.iter().map(|p| p.distance).collect();
        let w: Vec<f64> = g.particles.iter().map(|p| p.weight).collect();
        rows.push(vec![
            g.index.to_string(),
            num(g.epsilon),
            num(Some(g.acceptance)),
            num(Some(g.ess)),
            g.simulations.to_string(),
            num(Some(weighted_quantile(&d, &w, 0.5))),
        ]);
    }
    to_csv(rows)
}

/// `fit.csv`: each target against the posterior predictive distribution.
pub fn fit_csv(fits: &[Fit]) -> anyhow::Result<Vec<u8>> {
    let mut rows = vec![names(&FIT)];
    for f in fits {
        rows.push(vec![
            f.target.clone(),
            num(Some(f.observed)),
            num(Some(f.tolerance)),
            num(Some(f.mean)),
            num(Some(f.band.0)),
            num(Some(f.band.1)),
            f.inside.to_string(),
            num(Some(f.closest)),
            f.source.clone(),
        ]);
    }
    to_csv(rows)
}

/// A file of a calibration's results.
#[derive(Debug, Clone, Copy)]
pub enum CalibrationExport<'a> {
    /// `posterior.csv`.
    Posterior(&'a Setup, &'a Generation),
    /// `generations.csv`.
    Generations(&'a [Generation]),
    /// `fit.csv`.
    Fit(&'a Summary),
    /// `calibration.json`.
    Json(&'a Summary),
}

impl Exporter for CalibrationExport<'_> {
    fn file_name(&self) -> String {
        match self {
            CalibrationExport::Posterior(..) => layout::POSTERIOR_CSV,
            CalibrationExport::Generations(_) => layout::GENERATIONS_CSV,
            CalibrationExport::Fit(_) => layout::FIT_CSV,
            CalibrationExport::Json(_) => layout::CALIBRATION_JSON,
        }
        .into()
    }

    fn bytes(&self) -> anyhow::Result<Vec<u8>> {
        match *self {
            CalibrationExport::Posterior(s, g) => posterior_csv(s, g),
            CalibrationExport::Generations(gs) => generations_csv(gs),
            CalibrationExport::Fit(s) => fit_csv(&s.fit),
            CalibrationExport::Json(s) => json_bytes(s),
        }
    }
}

/// The result files of a calibration whose last generation is `last`.
pub fn files<'a>(
    setup: &'a Setup,
    generations: &'a [Generation],
    last: &'a Generation,
    summary: &'a Summary,
) -> [CalibrationExport<'a>; 4] {
    [
        CalibrationExport::Posterior(setup, last),
        CalibrationExport::Generations(generations),
        CalibrationExport::Fit(summary),
        CalibrationExport::Json(summary),
    ]
}
