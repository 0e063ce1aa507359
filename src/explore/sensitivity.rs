//! Sensitivity analysis: which uncertain parameter decides the answer.
//!
//! Each parameter (those the scenario lists under `uncertain`, or every numeric one) is varied
//! within plus/minus a fraction of its value. One-at-a-time runs at both ends give the tornado
//! chart; Morris elementary effects over random trajectories through the box give the mean
//! absolute effect (mu*) and its spread (sigma, large when the parameter acts through interactions
//! or non-linearly). Every run uses replication indices `0..n`, so differences are paired.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use rand::rngs::ChaCha8Rng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::{ExploreError, NumericField, Origin, Progress, Study, cell, html_escape, to_csv};
use crate::engine::{Fate, ReplicationOutcome};
use crate::experiment::Summary;
use crate::export::atomic;
use crate::scenario::Edit;
use crate::scenario::limits::{MAX_LEVELS, MAX_TRAJECTORIES};
use crate::scenario::path;
use crate::scenario::suggest::close_matches;

/// A figure whose sensitivity is measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Output {
    /// Survival probability of a provider.
    Survival(String),
    /// £ per head paid by CCGs in the last year (mean).
    CostPerHead,
    /// In-house share of volume at the end (mean).
    InHouseShare,
    /// Providers open at the end (mean).
    OpenProviders,
    /// Unmet share of provider-contracted volume (mean).
    UnmetShare,
}

impl FromStr for Output {
    type Err = String;

    fn from_str(s: &str) -> Result<Output, String> {
        match s.trim() {
            "cost_per_head" => Ok(Output::CostPerHead),
            "in_house_share" => Ok(Output::InHouseShare),
            "open_providers" => Ok(Output::OpenProviders),
            "unmet_share" => Ok(Output::UnmetShare),
            t => match t.strip_prefix("survival:") {
                Some(id) if !id.is_empty() => Ok(Output::Survival(id.to_string())),
                _ => Err(format!(
                    "unknown output `{t}`; choose survival:PROVIDER, cost_per_head, \
                     in_house_share, open_providers or unmet_share"
                )),
            },
        }
    }
}

impl Output {
    /// The name used on the command line and in files.
    pub fn name(&self) -> String {
        match self {
            Output::Survival(id) => format!("survival:{id}"),
            Output::CostPerHead => "cost_per_head".into(),
            Output::InHouseShare => "in_house_share".into(),
            Output::OpenProviders => "open_providers".into(),
            Output::UnmetShare => "unmet_share".into(),
        }
    }

    /// A label for charts.
    pub fn label(&self) -> String {
        match self {
            Output::Survival(id) => format!("survival probability of {id}"),
            Output::CostPerHead => "cost per head (£/year)".into(),
            Output::InHouseShare => "in-house share".into(),
            Output::OpenProviders => "open providers".into(),
            Output::UnmetShare => "unmet share".into(),
        }
    }
}

/// An output with its provider resolved to an index of the market.
#[derive(Debug, Clone)]
struct Measure {
    output: Output,
    provider: usize,
}

impl Measure {
    fn of_summary(&self, s: &Summary) -> f64 {
        let v = match self.output {
            Output::Survival(_) => s.providers[self.provider].survived.estimate(),
            Output::CostPerHead => s.headline.cost_per_head.mean(),
            Output::InHouseShare => s.headline.in_house_share.mean(),
            Output::OpenProviders => s.headline.open_providers.mean(),
            Output::UnmetShare => s.headline.unmet_share.mean(),
        };
        v.unwrap_or(f64::NAN)
    }

    fn of_replication(&self, r: &ReplicationOutcome) -> f64 {
        match self.output {
            Output::Survival(_) => {
                f64::from(u8::from(r.providers[self.provider].fate == Fate::Survived))
            }
            Output::CostPerHead => r.cost_per_head,
            Output::InHouseShare => r.in_house_share,
            Output::OpenProviders => f64::from(r.open_providers),
            Output::UnmetShare => r.unmet_share,
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
    pub origin: Origin,
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

/// Last path segments of fields that are identifiers, seeds, counts or periods, which
/// `--all` leaves alone: varying them by a fraction is meaningless.
const DISCRETE: [&str; 8] = [
    "seed",
    "replications",
    "periods",
    "independence",
    "count",
    "period",
    "contract_length",
    "notice_periods",
];

/// The parameters to vary: the scenario's `uncertain` list, or with `all` every numeric field
/// except identifiers, seeds, counts and periods, and fields of providers the configuration
/// disables or removes.
pub fn parameter_paths(
    study: &Study,
    all: bool,
) -> Result<(Vec<String>, Vec<Skipped>), ExploreError> {
    if !all {
        if study.scenario.base.uncertain.is_empty() {
            return Err(ExploreError::Input(format!(
                "{}: the scenario marks no uncertain parameters; add `uncertain = [\"path\", ...]` \
                 at its top level, or use --all to vary every numeric field",
                study.scenario.file
            )));
        }
        return Ok((
            study
                .scenario
                .base
                .uncertain
                .iter()
                .map(|u| u.path.clone())
                .collect(),
            Vec::new(),
        ));
    }
    let resolved = study.scenario.resolve(&study.configuration)?;
    let tree = toml::Value::try_from(&resolved).ok();
    let mut keep = Vec::new();
    let mut skipped = Vec::new();
    for path in study.scenario.numeric_paths() {
        let last = path::last_key(&path).unwrap_or_default();
        let disabled = path::provider_id(&path)
            .and_then(|id| resolved.providers.iter().find(|p| p.id == id))
            .is_some_and(|p| !p.enabled);
        let why = if DISCRETE.contains(&last.as_str()) {
            Some("an identifier, seed, count or period")
        } else if disabled {
            Some("its provider is disabled in this configuration")
        } else if tree
            .as_ref()
            .is_some_and(|t| path::navigate(t, &path).is_none())
        {
            Some("the configuration removes it")
        } else {
            None
        };
        match why {
            Some(w) => skipped.push(Skipped {
                path,
                why: w.into(),
            }),
            None => keep.push(path),
        }
    }
    Ok((keep, skipped))
}

/// Sets a factor's range, keeping each end inside what the scenario accepts: an integer field is
/// rounded, and a value in [0, 1] is held to [0, 1] when the scenario refuses to leave it.
fn factor(study: &Study, f: &NumericField, fraction: f64) -> Result<Factor, String> {
    let settle = |x: f64| -> Result<f64, String> {
        let mut tries = vec![x];
        if f.integer && x.fract() != 0.0 {
            tries.push(x.round());
        }
        if f.value.is_some_and(|v| (0.0..=1.0).contains(&v)) {
            tries.push(x.clamp(0.0, 1.0));
        }
        let mut last = String::new();
        for t in tries {
            match study.market(&[f.edit(t)]) {
                Ok(_) => return Ok(t),
                Err(e) => last = e.to_string(),
            }
        }
        Err(last)
    };
    let Some(value) = f.value else {
        return Err("the scenario leaves it unset; give it a value to vary it".into());
    };
    if value == 0.0 {
        return Err("its value is 0, so a fraction of it changes nothing".into());
    }
    let low = settle(value * (1.0 - fraction))?;
    let high = settle(value * (1.0 + fraction))?;
    if low == high {
        return Err("its range is empty inside the values the scenario accepts".into());
    }
    Ok(Factor {
        path: f.path.clone(),
        base: value,
        low,
        high,
    })
}

/// A Morris trajectory: `k + 1` points of the unit box, each differing from the previous in one
/// factor by plus or minus the step.
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectory {
    /// Points in the unit box (0 = a factor's low end, 1 = its high end).
    pub points: Vec<Vec<f64>>,
    /// The factor moved between point `j` and `j + 1`.
    pub order: Vec<usize>,
}

/// A uniform integer in `0..n` (n > 0) from one 64-bit draw, with a fixed, documented algorithm
/// so designs do not change with the random-number library.
fn below(rng: &mut ChaCha8Rng, n: usize) -> usize {
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

/// `r` Morris trajectories over `k` factors on a grid of `levels` levels (Morris 1991, with the
/// usual step `levels / (2 (levels - 1))`), deterministic from `seed`.
pub fn morris_design(k: usize, r: usize, levels: u32, seed: u64) -> Vec<Trajectory> {
    let levels = levels.max(2);
    let top = f64::from(levels - 1);
    let delta = f64::from(levels) / (2.0 * top);
    // Starting levels from which a step of delta stays inside [0, 1].
    let starts: Vec<f64> = (0..levels / 2).map(|i| f64::from(i) / top).collect();
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..14].copy_from_slice(b"morris");
    let mut rng = ChaCha8Rng::from_seed(key);
    (0..r)
        .map(|_| {
            let mut x = Vec::with_capacity(k);
            let mut dir = Vec::with_capacity(k);
            for _ in 0..k {
                let base = starts[below(&mut rng, starts.len())];
                let up = below(&mut rng, 2) == 0;
                x.push(if up { base } else { base + delta });
                dir.push(if up { delta } else { -delta });
            }
            let mut order: Vec<usize> = (0..k).collect();
            for i in (1..k).rev() {
                order.swap(i, below(&mut rng, i + 1));
            }
            let mut points = vec![x.clone()];
            for &i in &order {
                x[i] += dir[i];
                points.push(x.clone());
            }
            Trajectory { points, order }
        })
        .collect()
}

/// Morris statistics `(mu, mu*, sigma, effects)` per factor from each trajectory's outputs
/// (`ys[t][j]` at point `j` of trajectory `t`). Effects are per unit of the box, i.e. the change
/// in output from a factor's low end to its high end; non-finite effects are left out.
pub fn elementary_effects(
    design: &[Trajectory],
    ys: &[Vec<f64>],
    k: usize,
) -> Vec<(f64, f64, f64, usize)> {
    let mut effects: Vec<Vec<f64>> = vec![Vec::new(); k];
    for (t, y) in design.iter().zip(ys) {
        for (j, &i) in t.order.iter().enumerate() {
            let step = t.points[j + 1][i] - t.points[j][i];
            let ee = (y[j + 1] - y[j]) / step;
            if ee.is_finite() {
                effects[i].push(ee);
            }
        }
    }
    effects
        .iter()
        .map(|e| {
            let n = e.len();
            if n == 0 {
                return (f64::NAN, f64::NAN, f64::NAN, 0);
            }
            let mu = e.iter().sum::<f64>() / n as f64;
            let mu_star = e.iter().map(|v| v.abs()).sum::<f64>() / n as f64;
            let sigma = if n > 1 {
                (e.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / (n - 1) as f64).sqrt()
            } else {
                0.0
            };
            (mu, mu_star, sigma, n)
        })
        .collect()
}

/// Mean and 95% interval of paired differences `b - a` over replications where both are finite.
fn paired(a: &[f64], b: &[f64]) -> (f64, f64) {
    let d: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(x, y)| y - x)
        .filter(|v| v.is_finite())
        .collect();
    let n = d.len();
    if n < 2 {
        return (f64::NAN, f64::NAN);
    }
    let mean = d.iter().sum::<f64>() / n as f64;
    let var = d.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64;
    let half = crate::stats::Proportion::Z95 * (var / n as f64).sqrt();
    (mean - half, mean + half)
}

/// Outputs at one point, and per replication when asked.
struct Eval {
    values: Vec<f64>,
    per_rep: Vec<Vec<f64>>,
}

impl SensitivityPlan {
    /// Checks the fraction and the Morris sizes against their bounds, before anything runs.
    pub fn check(&self) -> Result<(), ExploreError> {
        if !(self.fraction > 0.0 && self.fraction < 1.0) {
            return Err(ExploreError::Input(format!(
                "--fraction must be between 0 and 1, got {}",
                self.fraction
            )));
        }
        if self.levels < 2 || self.levels % 2 == 1 || self.levels > MAX_LEVELS {
            return Err(ExploreError::Input(format!(
                "Morris levels must be even, from 2 to {MAX_LEVELS}, got {}",
                self.levels
            )));
        }
        if self.trajectories > MAX_TRAJECTORIES {
            return Err(ExploreError::Input(format!(
                "--trajectories {} is more than {MAX_TRAJECTORIES}",
                self.trajectories
            )));
        }
        Ok(())
    }
}

/// Runs a sensitivity analysis: baseline, one-at-a-time at both ends of every factor, then Morris.
pub fn run(plan: &SensitivityPlan, progress: Progress) -> Result<SensitivityResult, ExploreError> {
    let study = &plan.study;
    plan.check()?;
    let (paths, mut skipped) = parameter_paths(study, plan.all)?;
    let mut factors = Vec::new();
    for path in &paths {
        let field = study.field(path)?;
        match factor(study, &field, plan.fraction) {
            Ok(f) => factors.push((field, f)),
            Err(why) => skipped.push(Skipped {
                path: path.clone(),
                why,
            }),
        }
    }
    if factors.is_empty() {
        return Err(ExploreError::Input(format!(
            "{}: no parameter can be varied{}",
            study.scenario.file,
            skipped
                .first()
                .map_or_else(String::new, |s| format!(" (`{}`: {})", s.path, s.why))
        )));
    }
    let n = study.replications;
    let k = factors.len();
    let r = plan.trajectories as usize;
    let total = (1 + 2 * k as u64 + (r * (k + 1)) as u64) * n;
    let mut done = 0u64;

    // The baseline tells which providers exist, to check and default the outputs.
    let market = study.market(&[])?;
    let ids: Vec<&str> = market.providers.iter().map(|p| p.id.as_str()).collect();
    let outputs: Vec<Output> = if plan.outputs.is_empty() {
        let mut o = vec![Output::CostPerHead, Output::InHouseShare];
        o.extend(
            market
                .providers
                .iter()
                .filter(|p| p.kind != crate::scenario::schema::ProviderKind::Local)
                .map(|p| Output::Survival(p.id.clone())),
        );
        o
    } else {
        plan.outputs.clone()
    };
    let mut measures = Vec::new();
    for o in &outputs {
        let provider = match o {
            Output::Survival(id) => ids.iter().position(|x| x == id).ok_or_else(|| {
                let names: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
                let near = close_matches(id, &names);
                ExploreError::Input(format!(
                    "{}: configuration `{}` has no provider `{id}`{}",
                    study.scenario.file,
                    study.configuration,
                    if near.is_empty() {
                        String::new()
                    } else {
                        format!("; did you mean {}?", near.join(" or "))
                    }
                ))
            })?,
            _ => 0,
        };
        measures.push(Measure {
            output: o.clone(),
            provider,
        });
    }

    let mut evaluate = |edits: &[Edit], keep: bool| -> Result<Eval, ExploreError> {
        let mut per_rep: Vec<Vec<f64>> = vec![Vec::new(); if keep { measures.len() } else { 0 }];
        let base = done;
        let s = study.run(
            edits,
            0..n,
            &mut |rep| {
                for (v, m) in per_rep.iter_mut().zip(&measures) {
                    v.push(m.of_replication(rep));
                }
            },
            &|d| progress(base + d, total),
        )?;
        done += n;
        Ok(Eval {
            values: measures.iter().map(|m| m.of_summary(&s)).collect(),
            per_rep,
        })
    };

    let baseline = evaluate(&[], false)?.values;
    let mut oat = Vec::new();
    for (field, f) in &factors {
        let lo = evaluate(&[field.edit(f.low)], true)?;
        let hi = evaluate(&[field.edit(f.high)], true)?;
        for (oi, o) in outputs.iter().enumerate() {
            oat.push(OatRow {
                output: o.name(),
                path: f.path.clone(),
                y_low: lo.values[oi],
                y_high: hi.values[oi],
                swing: hi.values[oi] - lo.values[oi],
                swing_ci: paired(&lo.per_rep[oi], &hi.per_rep[oi]),
            });
        }
    }
    // Per output (in output order), largest effect first; ties and NaN keep parameter order.
    let order_of = |name: &str| outputs.iter().position(|o| o.name() == name);
    oat.sort_by(|a, b| {
        order_of(&a.output).cmp(&order_of(&b.output)).then(
            b.effect()
                .partial_cmp(&a.effect())
                .unwrap_or(std::cmp::Ordering::Equal),
        )
    });

    let mut morris = Vec::new();
    if r > 0 {
        let design = morris_design(k, r, plan.levels, study.seed);
        let mut ys: Vec<Vec<Vec<f64>>> = vec![Vec::new(); outputs.len()];
        for t in &design {
            let mut per_output: Vec<Vec<f64>> = vec![Vec::new(); outputs.len()];
            for u in &t.points {
                let edits: Vec<Edit> = factors
                    .iter()
                    .zip(u)
                    .map(|((field, f), &x)| field.edit(f.low + x * (f.high - f.low)))
                    .collect();
                let e = evaluate(&edits, false)?;
                for (v, y) in per_output.iter_mut().zip(e.values) {
                    v.push(y);
                }
            }
            for (acc, v) in ys.iter_mut().zip(per_output) {
                acc.push(v);
            }
        }
        for (o, y) in outputs.iter().zip(&ys) {
            let stats = elementary_effects(&design, y, k);
            let mut rows: Vec<MorrisRow> = factors
                .iter()
                .zip(stats)
                .map(|((_, f), (mu, mu_star, sigma, effects))| MorrisRow {
                    output: o.name(),
                    path: f.path.clone(),
                    mu,
                    mu_star,
                    sigma,
                    effects,
                })
                .collect();
            rows.sort_by(|a, b| {
                b.mu_star
                    .partial_cmp(&a.mu_star)
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            morris.extend(rows);
        }
    }
    Ok(SensitivityResult {
        origin: Origin::of(study),
        fraction: plan.fraction,
        outputs,
        baseline,
        factors: factors.into_iter().map(|(_, f)| f).collect(),
        skipped,
        oat,
        morris,
        trajectories: plan.trajectories,
        levels: plan.levels,
    })
}

/// `sensitivity.csv`: one-at-a-time effects, per output, largest first.
pub fn sensitivity_csv(r: &SensitivityResult) -> anyhow::Result<Vec<u8>> {
    let mut rows = vec![
        [
            "output",
            "rank",
            "parameter",
            "base",
            "low",
            "high",
            "baseline",
            "y_low",
            "y_high",
            "swing",
            "effect",
            "swing_ci_lo",
            "swing_ci_hi",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for (oi, o) in r.outputs.iter().enumerate() {
        for (rank, row) in r.oat_of(o).into_iter().enumerate() {
            let Some(f) = r.factors.iter().find(|f| f.path == row.path) else {
                continue;
            };
            rows.push(vec![
                row.output.clone(),
                (rank + 1).to_string(),
                row.path.clone(),
                cell(Some(f.base)),
                cell(Some(f.low)),
                cell(Some(f.high)),
                cell(r.baseline.get(oi).copied()),
                cell(Some(row.y_low)),
                cell(Some(row.y_high)),
                cell(Some(row.swing)),
                cell(Some(row.effect())),
                cell(Some(row.swing_ci.0)),
                cell(Some(row.swing_ci.1)),
            ]);
        }
    }
    to_csv(rows)
}

/// `morris.csv`: Morris statistics, per output, largest mu* first.
pub fn morris_csv(r: &SensitivityResult) -> anyhow::Result<Vec<u8>> {
    let mut rows = vec![
        [
            "output",
            "rank",
            "parameter",
            "mu_star",
            "mu",
            "sigma",
            "effects",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for o in &r.outputs {
        for (rank, m) in r.morris_of(o).into_iter().enumerate() {
            rows.push(vec![
                m.output.clone(),
                (rank + 1).to_string(),
                m.path.clone(),
                cell(Some(m.mu_star)),
                cell(Some(m.mu)),
                cell(Some(m.sigma)),
                m.effects.to_string(),
            ]);
        }
    }
    to_csv(rows)
}

/// Writes `sensitivity.csv`, `morris.csv` (when Morris ran) and `sensitivity.json` into `dir`,
/// each whole or not at all; returns the paths written.
pub fn write(dir: &Path, r: &SensitivityResult) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut files = vec![(dir.join("sensitivity.csv"), sensitivity_csv(r)?)];
    if !r.morris.is_empty() {
        files.push((dir.join("morris.csv"), morris_csv(r)?));
    }
    let mut json = serde_json::to_vec_pretty(r)?;
    json.push(b'\n');
    files.push((dir.join("sensitivity.json"), json));
    for (path, bytes) in &files {
        atomic::write(path, bytes)?;
    }
    Ok(files.into_iter().map(|(p, _)| p).collect())
}

/// A file-name-safe form of an output's name (`survival:x` becomes `survival-x`).
pub fn slug(o: &Output) -> String {
    o.name()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The report's section for a sensitivity analysis: per output, the tornado chart (from
/// `sensitivity/` beside the report) and the ranking of parameters.
pub fn html_section(r: &SensitivityResult) -> String {
    let mut h = String::from("<section class=\"sensitivity\">\n<h2>Sensitivity</h2>\n");
    h.push_str(&format!(
        "<p>Configuration <code>{}</code>: {} parameters varied by &plusmn;{:.0}% of their value, \
         {} replications per run (seed {}), paired; Morris: {} trajectories on {} levels.</p>\n",
        html_escape(&r.origin.configuration),
        r.factors.len(),
        r.fraction * 100.0,
        r.origin.replications,
        r.origin.seed,
        r.trajectories,
        r.levels
    ));
    for (oi, o) in r.outputs.iter().enumerate() {
        h.push_str(&format!(
            "<h3>{} (baseline {})</h3>\n",
            html_escape(&o.label()),
            cell(r.baseline.get(oi).copied())
        ));
        h.push_str(&format!(
            "<figure><img src=\"sensitivity/tornado-{}.svg\" alt=\"Tornado chart for {}\"></figure>\n",
            slug(o),
            html_escape(&o.name())
        ));
        h.push_str("<table>\n<tr><th>parameter</th><th>at &minus;</th><th>at +</th><th>swing (95% paired interval)</th><th>Morris &mu;*</th><th>&sigma;</th></tr>\n");
        let morris = r.morris_of(o);
        for row in r.oat_of(o).into_iter().take(15) {
            let m = morris.iter().find(|m| m.path == row.path);
            h.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{:.4}</td><td>{:.4}</td><td>{:+.4} ({:+.4} to {:+.4})</td><td>{}</td><td>{}</td></tr>\n",
                html_escape(&row.path),
                row.y_low,
                row.y_high,
                row.swing,
                row.swing_ci.0,
                row.swing_ci.1,
                m.map_or_else(|| "-".into(), |m| format!("{:.4}", m.mu_star)),
                m.map_or_else(|| "-".into(), |m| format!("{:.4}", m.sigma)),
            ));
        }
        h.push_str("</table>\n");
    }
    h.push_str("</section>\n");
    h
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

    #[test]
    fn morris_design_moves_one_factor_per_step_inside_the_box() {
        let design = morris_design(5, 8, 4, 42);
        assert_eq!(design.len(), 8);
        for t in &design {
            assert_eq!(t.points.len(), 6);
            let mut order = t.order.clone();
            order.sort();
            assert_eq!(order, vec![0, 1, 2, 3, 4]);
            for (j, &i) in t.order.iter().enumerate() {
                for f in 0..5 {
                    let d = t.points[j + 1][f] - t.points[j][f];
                    if f == i {
                        assert!((d.abs() - 2.0 / 3.0).abs() < 1e-12, "{d}");
                    } else {
                        assert_eq!(d, 0.0);
                    }
                }
            }
            assert!(
                t.points
                    .iter()
                    .flatten()
                    .all(|&x| (-1e-12..=1.0 + 1e-12).contains(&x))
            );
        }
        assert_eq!(design, morris_design(5, 8, 4, 42));
        assert_ne!(design, morris_design(5, 8, 4, 43));
    }

    #[test]
    fn elementary_effects_of_a_linear_function_are_its_slopes() {
        // y = 10 x0 - 2 x1 + 0 x2: mu* = |slope|, sigma = 0.
        let design = morris_design(3, 6, 4, 1);
        let ys: Vec<Vec<f64>> = design
            .iter()
            .map(|t| t.points.iter().map(|x| 10.0 * x[0] - 2.0 * x[1]).collect())
            .collect();
        let s = elementary_effects(&design, &ys, 3);
        assert!((s[0].0 - 10.0).abs() < 1e-9 && (s[0].1 - 10.0).abs() < 1e-9);
        assert!((s[1].0 + 2.0).abs() < 1e-9 && (s[1].1 - 2.0).abs() < 1e-9);
        assert_eq!((s[2].0, s[2].1), (0.0, 0.0));
        assert!(s.iter().all(|x| x.2.abs() < 1e-9 && x.3 == 6));
    }

    #[test]
    fn interactions_show_as_spread_of_elementary_effects() {
        // y = x0 * x1: the effect of x0 depends on x1, so sigma > 0.
        let design = morris_design(2, 20, 4, 3);
        let ys: Vec<Vec<f64>> = design
            .iter()
            .map(|t| t.points.iter().map(|x| x[0] * x[1]).collect())
            .collect();
        let s = elementary_effects(&design, &ys, 2);
        assert!(s[0].2 > 0.1 && s[1].2 > 0.1, "{s:?}");
    }

    #[test]
    fn paired_interval_of_identical_runs_is_zero() {
        let a = [1.0, 2.0, 3.0];
        assert_eq!(paired(&a, &a), (0.0, 0.0));
        let (lo, hi) = paired(&[0.0, 0.0, 0.0, 0.0], &[1.0, 1.2, 0.8, 1.0]);
        assert!(lo < 1.0 && hi > 1.0 && lo > 0.5);
    }
}
