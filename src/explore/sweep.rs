//! Parameter sweeps: a configuration run at every point of a grid over one or more numeric fields,
//! every point on the same replication indices, and the tipping points where a provider's survival
//! probability crosses 50%.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ExploreError, NumericField, Origin, Progress, Study, cell, html_escape, to_csv};
use crate::experiment::Summary;
use crate::export::{Figure, atomic};
use crate::scenario::limits::{MAX_REFINE_STEPS, MAX_REPLICATIONS, MAX_SWEEP_POINTS};
use crate::scenario::path;
use crate::scenario::suggest::close_matches;
use crate::stats::Proportion;

/// The survival probability a tipping point is defined by.
pub const THRESHOLD: f64 = 0.5;

/// One swept parameter: a numeric field and the values it takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    /// Dotted path of the field.
    pub path: String,
    /// Values, in the order given.
    pub values: Vec<f64>,
}

/// Reads a value spec: `a:b:n` (n evenly spaced values from a to b inclusive) or a comma list.
pub fn parse_spec(spec: &str) -> Result<Vec<f64>, String> {
    let num = |s: &str| -> Result<f64, String> {
        let v: f64 = s
            .trim()
            .parse()
            .map_err(|_| format!("`{}` is not a number", s.trim()))?;
        if v.is_finite() {
            Ok(v)
        } else {
            Err(format!("`{}` is not a finite number", s.trim()))
        }
    };
    let values = if spec.contains(':') {
        let parts: Vec<&str> = spec.split(':').collect();
        let [a, b, n] = parts[..] else {
            return Err(format!(
                "a range is `from:to:count`, e.g. `0:1:21`; got `{spec}`"
            ));
        };
        let (a, b) = (num(a)?, num(b)?);
        let n: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("the count `{}` is not a whole number", n.trim()))?;
        if n > MAX_SWEEP_POINTS {
            return Err(format!(
                "the count {n} is more than {MAX_SWEEP_POINTS}, the most points a sweep may have"
            ));
        }
        match n {
            0 => return Err("the count of a range must be at least 1".into()),
            1 if a != b => {
                return Err(format!(
                    "a range of one value must start and end at the same value, got {a}:{b}:1"
                ));
            }
            1 => vec![a],
            _ => (0..n)
                .map(|i| {
                    if i == n - 1 {
                        b
                    } else {
                        tidy(a + (b - a) * (i as f64) / ((n - 1) as f64))
                    }
                })
                .collect(),
        }
    } else {
        let values = spec.split(',').map(num).collect::<Result<Vec<_>, _>>()?;
        if values.len() > MAX_SWEEP_POINTS {
            return Err(format!(
                "{} values is more than {MAX_SWEEP_POINTS}, the most points a sweep may have",
                values.len()
            ));
        }
        values
    };
    // One pass with a set of the values' bits (0 and -0 are one value), not a scan per value.
    let mut seen = std::collections::HashSet::with_capacity(values.len());
    for v in &values {
        if !seen.insert((v + 0.0).to_bits()) {
            return Err(format!("the value {v} appears twice"));
        }
    }
    Ok(values)
}

/// Rounds to 15 significant digits, so `0:1:21` gives 0.35 rather than 0.35000000000000003.
fn tidy(x: f64) -> f64 {
    format!("{x:.14e}").parse().unwrap_or(x)
}

/// Reads a `--param PATH=SPEC` argument.
pub fn parse_param(arg: &str) -> Result<Axis, ExploreError> {
    let bad = |why: String| ExploreError::BadParam {
        arg: arg.to_string(),
        why,
    };
    let (path, spec) = arg
        .split_once('=')
        .ok_or_else(|| bad("expected PATH=VALUES, e.g. `services.comms.locality=0:1:11`".into()))?;
    let path = path.trim();
    if path.is_empty() {
        return Err(bad("the path is empty".into()));
    }
    let values = parse_spec(spec).map_err(bad)?;
    Ok(Axis {
        path: path.to_string(),
        values,
    })
}

/// Every point of the grid, first axis slowest and last fastest (row-major).
pub fn grid(axes: &[Axis]) -> Vec<Vec<f64>> {
    let mut points = vec![Vec::new()];
    for axis in axes {
        points = points
            .into_iter()
            .flat_map(|p| {
                axis.values.iter().map(move |&v| {
                    let mut q = p.clone();
                    q.push(v);
                    q
                })
            })
            .collect();
    }
    points
}

/// How `--refine` narrows a tipping point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refine {
    /// Bisection steps.
    pub steps: u32,
    /// Replications at refined points, as a multiple of the sweep's.
    pub factor: u64,
}

impl Default for Refine {
    fn default() -> Self {
        Refine {
            steps: 6,
            factor: 4,
        }
    }
}

/// A validated sweep.
#[derive(Debug, Clone)]
pub struct SweepPlan {
    /// Scenario, configuration, seed, replications and threads.
    pub study: Study,
    /// Swept parameters.
    pub axes: Vec<Axis>,
    /// Providers to chart and refine (empty: those whose survival changes most).
    pub providers: Vec<String>,
    /// Whether and how to refine tipping points (one-parameter sweeps only).
    pub refine: Option<Refine>,
}

/// A provider of the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderInfo {
    /// Identifier.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Kind (local, collaborative, national).
    pub kind: String,
}

/// A survival count with its estimate and 95% Wilson interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Survival {
    /// Replications in which the provider survived.
    pub successes: u64,
    /// Replications.
    pub trials: u64,
    /// Survival probability.
    pub p: f64,
    /// Wilson 95% interval, low.
    pub lo: f64,
    /// Wilson 95% interval, high.
    pub hi: f64,
}

impl Survival {
    /// From a proportion (no trials reads as 0 with interval [0, 1]).
    pub fn of(p: &Proportion) -> Survival {
        let (lo, hi) = p.wilson(Proportion::Z95).unwrap_or((0.0, 1.0));
        Survival {
            successes: p.successes(),
            trials: p.trials(),
            p: p.estimate().unwrap_or(0.0),
            lo,
            hi,
        }
    }
}

/// Headline figures at a point: mean and 5/50/95% quantiles over replications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointHeadline {
    /// £ per head paid by CCGs in the last year.
    pub cost_per_head: Figure,
    /// In-house share of volume at the end.
    pub in_house_share: Figure,
    /// Providers open at the end.
    pub open_providers: Figure,
    /// Unmet share of provider-contracted volume.
    pub unmet_share: Figure,
}

impl PointHeadline {
    /// The headline figures of a summary.
    pub fn of(s: &Summary) -> PointHeadline {
        PointHeadline {
            cost_per_head: (&s.headline.cost_per_head).into(),
            in_house_share: (&s.headline.in_house_share).into(),
            open_providers: (&s.headline.open_providers).into(),
            unmet_share: (&s.headline.unmet_share).into(),
        }
    }

    /// The figures with their CSV names, in column order.
    pub fn named(&self) -> [(&'static str, &Figure); 4] {
        [
            ("cost_per_head", &self.cost_per_head),
            ("in_house_share", &self.in_house_share),
            ("open_providers", &self.open_providers),
            ("unmet_share", &self.unmet_share),
        ]
    }
}

/// One point of the grid and what the replications there gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// Value of each axis.
    pub values: Vec<f64>,
    /// Survival of each provider, in [`SweepResult::providers`] order.
    pub survival: Vec<Survival>,
    /// Headline figures.
    pub headline: PointHeadline,
}

/// A point of a survival curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    /// Parameter value.
    pub x: f64,
    /// Survival probability.
    pub p: f64,
    /// Interval, low.
    pub lo: f64,
    /// Interval, high.
    pub hi: f64,
}

impl CurvePoint {
    /// A curve point from a survival.
    pub fn new(x: f64, s: &Survival) -> CurvePoint {
        CurvePoint {
            x,
            p: s.p,
            lo: s.lo,
            hi: s.hi,
        }
    }
}

/// Whether survival falls or rises through 50% as the parameter grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Above 50% below the tipping point, below 50% above it.
    Falling,
    /// Below 50% below the tipping point, above 50% above it.
    Rising,
}

impl Direction {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Falling => "falling",
            Direction::Rising => "rising",
        }
    }
}

/// Where a survival curve crosses 50%.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Crossing {
    /// Linear interpolation of the estimates between the two points either side.
    pub estimate: f64,
    /// Low end of the interval: where the interval band stops containing 50% to the left; `None`
    /// when it still contains 50% at the first point.
    pub lo: Option<f64>,
    /// High end of the interval, likewise to the right; `None` beyond the last point.
    pub hi: Option<f64>,
    /// Falling or rising.
    pub direction: Direction,
    /// The two parameter values either side of the estimate.
    pub bracket: (f64, f64),
}

fn interpolate(x0: f64, y0: f64, x1: f64, y1: f64) -> f64 {
    if y1 == y0 {
        x0
    } else {
        x0 + (THRESHOLD - y0) / (y1 - y0) * (x1 - x0)
    }
}

/// The band at a point excludes 50%: the point is clearly on one side.
fn decided(c: &CurvePoint) -> bool {
    c.lo > THRESHOLD || c.hi < THRESHOLD
}

/// Where, on segment `i..i+1`, the band of the decided point `d` (one of `i`, `i+1`) reaches 50%.
fn band_edge(curve: &[CurvePoint], i: usize, d: usize) -> f64 {
    let (a, b) = (&curve[i], &curve[i + 1]);
    if curve[d].lo > THRESHOLD {
        interpolate(a.x, a.lo, b.x, b.lo)
    } else {
        interpolate(a.x, a.hi, b.x, b.hi)
    }
}

/// The tipping points of a survival curve (sorted by `x`): every place where the estimate crosses
/// 50% between adjacent points, found by linear interpolation. The interval is the stretch around it
/// where the interpolated Wilson band still contains 50%. Crossings that share one such stretch are
/// one tipping point (noise near 50%): an even number of them is a wobble and is dropped, an odd
/// number is reported at its middle crossing.
pub fn find_crossings(curve: &[CurvePoint]) -> Vec<Crossing> {
    let above = |c: &CurvePoint| c.p >= THRESHOLD;
    let mut raw = Vec::new();
    for i in 0..curve.len().saturating_sub(1) {
        let (a, b) = (&curve[i], &curve[i + 1]);
        if above(a) == above(b) {
            continue;
        }
        let estimate = interpolate(a.x, a.p, b.x, b.p);
        // Walk left from the crossing to the first decided point.
        let mut lo = None;
        let mut j = i;
        loop {
            if decided(&curve[j]) {
                lo = Some(band_edge(curve, j, j));
                break;
            }
            if j == 0 {
                break;
            }
            j -= 1;
        }
        let mut hi = None;
        let mut k = i + 1;
        loop {
            if decided(&curve[k]) {
                hi = Some(band_edge(curve, k - 1, k));
                break;
            }
            if k + 1 == curve.len() {
                break;
            }
            k += 1;
        }
        let direction = if above(a) {
            Direction::Falling
        } else {
            Direction::Rising
        };
        raw.push(Crossing {
            estimate,
            lo,
            hi,
            direction,
            bracket: (a.x, b.x),
        });
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let mut j = i + 1;
        while j < raw.len() && raw[j].lo == raw[i].lo && raw[j].hi == raw[i].hi {
            j += 1;
        }
        let group = &raw[i..j];
        if group.len() % 2 == 1 {
            let mut c = group[group.len() / 2];
            c.direction = group[0].direction;
            out.push(c);
        }
        i = j;
    }
    out
}

/// How a tipping point was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// From the sweep's grid.
    Grid,
    /// Narrowed by bisection with more replications.
    Refined,
}

impl Method {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Grid => "grid",
            Method::Refined => "refined",
        }
    }
}

/// A provider's tipping point along one axis (the other axes held at `fixed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TippingPoint {
    /// Provider id.
    pub provider: String,
    /// The axis varied.
    pub parameter: String,
    /// The other axes and their values.
    pub fixed: Vec<(String, f64)>,
    /// The crossing.
    pub crossing: Crossing,
    /// Grid or refined.
    pub method: Method,
    /// Replications per point behind it.
    pub replications: u64,
}

/// A point evaluated while refining a tipping point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefinedPoint {
    /// Provider whose tipping point was refined.
    pub provider: String,
    /// Parameter value.
    pub x: f64,
    /// Survival there.
    pub survival: Survival,
}

/// Everything a sweep found; plain data for files, charts and the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepResult {
    /// Where it came from.
    pub origin: Origin,
    /// Swept parameters.
    pub axes: Vec<Axis>,
    /// Providers of the configuration.
    pub providers: Vec<ProviderInfo>,
    /// Every grid point, in [`grid`] order.
    pub points: Vec<SweepPoint>,
    /// Providers charted (chosen or those whose survival changes most).
    pub chosen: Vec<String>,
    /// Tipping points from the grid, then refined ones.
    pub tipping: Vec<TippingPoint>,
    /// Points evaluated by `--refine`.
    pub refined: Vec<RefinedPoint>,
    /// Remarks for the user (e.g. a parameter of a disabled provider).
    pub notes: Vec<String>,
}

impl SweepResult {
    /// Index of a provider.
    pub fn provider_index(&self, id: &str) -> Option<usize> {
        self.providers.iter().position(|p| p.id == id)
    }

    /// A provider's survival curve along axis `axis` with every other axis at index `at[j]`
    /// (the entry for `axis` itself is ignored), sorted by parameter value.
    pub fn curve(&self, provider: usize, axis: usize, at: &[usize]) -> Vec<CurvePoint> {
        let mut curve: Vec<CurvePoint> = (0..self.axes[axis].values.len())
            .map(|v| {
                let mut ix = at.to_vec();
                ix[axis] = v;
                let pt = &self.points[self.point_index(&ix)];
                CurvePoint::new(pt.values[axis], &pt.survival[provider])
            })
            .collect();
        curve.sort_by(|a, b| a.x.total_cmp(&b.x));
        curve
    }

    /// The position in [`SweepResult::points`] of the point with these axis value indices.
    pub fn point_index(&self, ix: &[usize]) -> usize {
        ix.iter()
            .zip(&self.axes)
            .fold(0, |acc, (&i, a)| acc * a.values.len() + i)
    }

    /// How much a provider's survival estimate changes across the sweep (max - min).
    pub fn survival_range(&self, provider: usize) -> f64 {
        let ps = self.points.iter().map(|p| p.survival[provider].p);
        let max = ps.clone().fold(f64::NEG_INFINITY, f64::max);
        let min = ps.fold(f64::INFINITY, f64::min);
        if max >= min { max - min } else { 0.0 }
    }
}

impl SweepPlan {
    /// Checks the sizes asked for against their caps, before anything runs or is written.
    pub fn check(&self) -> Result<(), ExploreError> {
        if self.axes.is_empty() {
            return Err(ExploreError::Input(
                "a sweep needs at least one --param".into(),
            ));
        }
        let points = self
            .axes
            .iter()
            .try_fold(1usize, |n, a| n.checked_mul(a.values.len()))
            .filter(|&n| n <= MAX_SWEEP_POINTS);
        if points.is_none() {
            return Err(ExploreError::Input(format!(
                "the --param grid has {} points; a sweep may have at most {MAX_SWEEP_POINTS}",
                self.axes
                    .iter()
                    .map(|a| a.values.len().to_string())
                    .collect::<Vec<_>>()
                    .join(" x ")
            )));
        }
        if let Some(r) = self.refine {
            if r.steps > MAX_REFINE_STEPS {
                return Err(ExploreError::Input(format!(
                    "--refine-steps {} is more than {MAX_REFINE_STEPS}",
                    r.steps
                )));
            }
            let reps = self.study.replications.checked_mul(r.factor.max(1));
            if reps.is_none_or(|n| n > MAX_REPLICATIONS) {
                return Err(ExploreError::Input(format!(
                    "--refine-factor {} times {} replications is more than {MAX_REPLICATIONS}",
                    r.factor, self.study.replications
                )));
            }
        }
        Ok(())
    }
}

/// Runs a sweep: every grid point, tipping points along every axis, and `--refine` if asked.
pub fn run(plan: &SweepPlan, progress: Progress) -> Result<SweepResult, ExploreError> {
    let study = &plan.study;
    plan.check()?;
    let mut fields: Vec<NumericField> = Vec::new();
    for a in &plan.axes {
        if fields.iter().any(|f| f.path == a.path) {
            return Err(ExploreError::Input(format!(
                "--param `{}` is given twice",
                a.path
            )));
        }
        fields.push(study.field(&a.path)?);
    }
    if plan.refine.is_some() && plan.axes.len() != 1 {
        return Err(ExploreError::Input(
            "--refine needs a sweep over one parameter".into(),
        ));
    }
    let grid = grid(&plan.axes);
    let n = study.replications;
    let mut total = grid.len() as u64 * n;
    // Check every point's edits before running any, so a bad value fails fast.
    let mut markets_ok = Vec::with_capacity(grid.len());
    for values in &grid {
        let edits: Vec<_> = fields.iter().zip(values).map(|(f, &v)| f.edit(v)).collect();
        study.market(&edits)?;
        markets_ok.push(edits);
    }
    let mut points = Vec::with_capacity(grid.len());
    let mut providers = Vec::new();
    for (i, (values, edits)) in grid.iter().zip(&markets_ok).enumerate() {
        let base = i as u64 * n;
        let s = study.run(edits, 0..n, &mut |_| {}, &|d| progress(base + d, total))?;
        if providers.is_empty() {
            providers = s
                .providers
                .iter()
                .map(|p| ProviderInfo {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    kind: p.kind.clone(),
                })
                .collect();
        }
        points.push(SweepPoint {
            values: values.clone(),
            survival: s
                .providers
                .iter()
                .map(|p| Survival::of(&p.survived))
                .collect(),
            headline: PointHeadline::of(&s),
        });
    }
    let mut result = SweepResult {
        origin: Origin::of(study),
        axes: plan.axes.clone(),
        providers,
        points,
        chosen: Vec::new(),
        tipping: Vec::new(),
        refined: Vec::new(),
        notes: disabled_notes(study, &plan.axes),
    };
    result.chosen = choose(&result, &plan.providers)?;
    result.tipping = grid_tipping_points(&result);
    if let Some(refine) = plan.refine {
        let field = &fields[0];
        let targets: Vec<TippingPoint> = result
            .tipping
            .iter()
            .filter(|t| result.chosen.contains(&t.provider))
            .cloned()
            .collect();
        let reps = n.saturating_mul(refine.factor.max(1));
        total += targets.len() as u64 * u64::from(refine.steps + 2) * reps;
        let mut done = grid.len() as u64 * n;
        for t in targets {
            let Some(pi) = result.provider_index(&t.provider) else {
                continue;
            };
            let mut evaluate = |x: f64| -> Result<Survival, ExploreError> {
                let base = done;
                let s = study.run(&[field.edit(x)], 0..reps, &mut |_| {}, &|d| {
                    progress(base + d, total)
                })?;
                done += reps;
                Ok(Survival::of(&s.providers[pi].survived))
            };
            let (mut a, mut b) = t.crossing.bracket;
            let mut pts = vec![(a, evaluate(a)?), (b, evaluate(b)?)];
            let mut a_above = pts[0].1.p >= THRESHOLD;
            if a_above != (pts[1].1.p >= THRESHOLD) {
                for _ in 0..refine.steps {
                    let m = 0.5 * (a + b);
                    let s = evaluate(m)?;
                    pts.push((m, s));
                    if (s.p >= THRESHOLD) == a_above {
                        a = m;
                        a_above = s.p >= THRESHOLD;
                    } else {
                        b = m;
                    }
                }
            } else {
                result.notes.push(format!(
                    "{}: with {reps} replications survival no longer crosses 50% between {} and {}; \
                     the grid's tipping point stands",
                    t.provider, t.crossing.bracket.0, t.crossing.bracket.1
                ));
            }
            pts.sort_by(|p, q| p.0.total_cmp(&q.0));
            // The interval may reach past the refined bracket: beyond it, the grid's points (with
            // their own, wider intervals) continue the curve.
            let (first, last) = (pts[0].0, pts[pts.len() - 1].0);
            let mut curve: Vec<CurvePoint> = result
                .curve(pi, 0, &[0])
                .into_iter()
                .filter(|c| c.x < first || c.x > last)
                .chain(pts.iter().map(|(x, s)| CurvePoint::new(*x, s)))
                .collect();
            curve.sort_by(|p, q| p.x.total_cmp(&q.x));
            let centre = 0.5 * (a + b);
            if let Some(c) = find_crossings(&curve).into_iter().min_by(|p, q| {
                (p.estimate - centre)
                    .abs()
                    .total_cmp(&(q.estimate - centre).abs())
            }) {
                result.tipping.push(TippingPoint {
                    provider: t.provider.clone(),
                    parameter: t.parameter.clone(),
                    fixed: Vec::new(),
                    crossing: c,
                    method: Method::Refined,
                    replications: reps,
                });
            }
            result
                .refined
                .extend(pts.into_iter().map(|(x, survival)| RefinedPoint {
                    provider: t.provider.clone(),
                    x,
                    survival,
                }));
        }
    }
    Ok(result)
}

/// Notes for axes that edit a provider the configuration disables (they change nothing).
fn disabled_notes(study: &Study, axes: &[Axis]) -> Vec<String> {
    let Ok(resolved) = study.scenario.resolve(&study.configuration) else {
        return Vec::new();
    };
    axes.iter()
        .filter_map(|a| {
            let id = path::provider_id(&a.path)?;
            let p = resolved.providers.iter().find(|p| p.id == id)?;
            (!p.enabled).then(|| {
                format!(
                    "`{}` belongs to provider `{id}`, which configuration `{}` disables: \
                     the sweep changes nothing",
                    a.path, study.configuration
                )
            })
        })
        .collect()
}

/// The providers to chart: those asked for (checked), or up to six whose survival changes most.
fn choose(result: &SweepResult, asked: &[String]) -> Result<Vec<String>, ExploreError> {
    let ids: Vec<String> = result.providers.iter().map(|p| p.id.clone()).collect();
    if !asked.is_empty() {
        for a in asked {
            if !ids.contains(a) {
                let near = close_matches(a, &ids);
                return Err(ExploreError::Input(format!(
                    "{}: configuration `{}` has no provider `{a}`{}",
                    result.origin.scenario_file,
                    result.origin.configuration,
                    if near.is_empty() {
                        String::new()
                    } else {
                        format!("; did you mean {}?", near.join(" or "))
                    }
                )));
            }
        }
        return Ok(asked.to_vec());
    }
    let mut ranked: Vec<(f64, usize)> = (0..ids.len())
        .map(|i| (result.survival_range(i), i))
        .collect();
    // Largest change first; ties keep the market's order.
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let moving: Vec<String> = ranked
        .iter()
        .filter(|(r, _)| *r >= 0.05)
        .take(6)
        .map(|&(_, i)| ids[i].clone())
        .collect();
    Ok(if moving.is_empty() {
        ranked
            .iter()
            .take(3)
            .map(|&(_, i)| ids[i].clone())
            .collect()
    } else {
        moving
    })
}

/// Tipping points of every provider along every axis, for every combination of the other axes.
pub fn grid_tipping_points(result: &SweepResult) -> Vec<TippingPoint> {
    let mut out = Vec::new();
    let dims: Vec<usize> = result.axes.iter().map(|a| a.values.len()).collect();
    for (pi, p) in result.providers.iter().enumerate() {
        for (ai, axis) in result.axes.iter().enumerate() {
            // Every combination of the other axes' indices, in grid order.
            let mut others = vec![vec![0usize; dims.len()]];
            for (j, &d) in dims.iter().enumerate() {
                if j == ai {
                    continue;
                }
                others = others
                    .into_iter()
                    .flat_map(|ix| {
                        (0..d).map(move |v| {
                            let mut q = ix.clone();
                            q[j] = v;
                            q
                        })
                    })
                    .collect();
            }
            for at in others {
                let curve = result.curve(pi, ai, &at);
                let fixed: Vec<(String, f64)> = result
                    .axes
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != ai)
                    .map(|(j, a)| (a.path.clone(), a.values[at[j]]))
                    .collect();
                for c in find_crossings(&curve) {
                    out.push(TippingPoint {
                        provider: p.id.clone(),
                        parameter: axis.path.clone(),
                        fixed: fixed.clone(),
                        crossing: c,
                        method: Method::Grid,
                        replications: result.origin.replications,
                    });
                }
            }
        }
    }
    out
}

/// `sweep.csv`: one row per point: parameter values, each provider's survival with its Wilson
/// interval, and the headline figures (mean and 5/50/95% quantiles).
pub fn sweep_csv(r: &SweepResult) -> anyhow::Result<Vec<u8>> {
    let mut header = vec!["point".to_string()];
    header.extend(r.axes.iter().map(|a| a.path.clone()));
    header.push("replications".into());
    for p in &r.providers {
        for c in ["p_survive", "p_survive_lo", "p_survive_hi"] {
            header.push(format!("{}.{c}", p.id));
        }
    }
    if let Some(first) = r.points.first() {
        for (name, _) in first.headline.named() {
            for q in ["mean", "p05", "p50", "p95"] {
                header.push(format!("{name}_{q}"));
            }
        }
    }
    let mut rows = vec![header];
    for (i, pt) in r.points.iter().enumerate() {
        let mut row = vec![i.to_string()];
        row.extend(pt.values.iter().map(|v| format!("{v}")));
        row.push(r.origin.replications.to_string());
        for s in &pt.survival {
            row.extend([s.p, s.lo, s.hi].map(|v| cell(Some(v))));
        }
        for (_, f) in pt.headline.named() {
            row.extend([f.mean, f.p05, f.p50, f.p95].map(cell));
        }
        rows.push(row);
    }
    to_csv(rows)
}

/// `tipping.csv`: one row per tipping point; an empty `lo` or `hi` means the interval runs past
/// the end of the sweep.
pub fn tipping_csv(r: &SweepResult) -> anyhow::Result<Vec<u8>> {
    let mut rows = vec![
        [
            "provider",
            "parameter",
            "fixed",
            "direction",
            "tipping_point",
            "lo",
            "hi",
            "bracket_lo",
            "bracket_hi",
            "method",
            "replications",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for t in &r.tipping {
        rows.push(vec![
            t.provider.clone(),
            t.parameter.clone(),
            t.fixed
                .iter()
                .map(|(p, v)| format!("{p}={v}"))
                .collect::<Vec<_>>()
                .join(";"),
            t.crossing.direction.as_str().into(),
            cell(Some(t.crossing.estimate)),
            cell(t.crossing.lo),
            cell(t.crossing.hi),
            cell(Some(t.crossing.bracket.0)),
            cell(Some(t.crossing.bracket.1)),
            t.method.as_str().into(),
            t.replications.to_string(),
        ]);
    }
    to_csv(rows)
}

/// `refine.csv`: the points `--refine` evaluated.
pub fn refine_csv(r: &SweepResult) -> anyhow::Result<Vec<u8>> {
    let mut rows = vec![
        [
            "provider",
            "x",
            "successes",
            "replications",
            "p_survive",
            "p_survive_lo",
            "p_survive_hi",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for p in &r.refined {
        let s = &p.survival;
        rows.push(vec![
            p.provider.clone(),
            cell(Some(p.x)),
            s.successes.to_string(),
            s.trials.to_string(),
            cell(Some(s.p)),
            cell(Some(s.lo)),
            cell(Some(s.hi)),
        ]);
    }
    to_csv(rows)
}

/// Writes `sweep.csv`, `tipping.csv`, `refine.csv` (when refined) and `sweep.json` into `dir`,
/// each whole or not at all; returns the paths written.
pub fn write(dir: &Path, r: &SweepResult) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut files = vec![
        (dir.join("sweep.csv"), sweep_csv(r)?),
        (dir.join("tipping.csv"), tipping_csv(r)?),
    ];
    if !r.refined.is_empty() {
        files.push((dir.join("refine.csv"), refine_csv(r)?));
    }
    let mut json = serde_json::to_vec_pretty(r)?;
    json.push(b'\n');
    files.push((dir.join("sweep.json"), json));
    for (path, bytes) in &files {
        atomic::write(path, bytes)?;
    }
    Ok(files.into_iter().map(|(p, _)| p).collect())
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// A short text of a tipping point: `0.43 (0.38 to 0.47)`.
pub fn describe(c: &Crossing) -> String {
    let end =
        |v: Option<f64>, word: &str| v.map_or_else(|| word.to_string(), |x| format!("{x:.4}"));
    format!(
        "{:.4} ({} to {})",
        c.estimate,
        end(c.lo, "below the range"),
        end(c.hi, "above the range")
    )
}

/// The report's section for a sweep: tipping points, charts (from `sweep/` beside the report) and
/// the survival of the chosen providers at each point.
pub fn html_section(r: &SweepResult) -> String {
    let mut h = String::from("<section class=\"sweep\">\n<h2>Parameter sweep</h2>\n");
    h.push_str(&format!(
        "<p>Configuration <code>{}</code>, {} replications per point (seed {}), sweeping {}.</p>\n",
        html_escape(&r.origin.configuration),
        r.origin.replications,
        r.origin.seed,
        r.axes
            .iter()
            .map(|a| format!(
                "<code>{}</code> over {} values",
                html_escape(&a.path),
                a.values.len()
            ))
            .collect::<Vec<_>>()
            .join(" and ")
    ));
    for n in &r.notes {
        h.push_str(&format!("<p class=\"note\">{}</p>\n", html_escape(n)));
    }
    h.push_str("<h3>Tipping points (survival crosses 50%)</h3>\n");
    if r.tipping.is_empty() {
        h.push_str("<p>No provider's survival crosses 50% within the sweep.</p>\n");
    } else {
        h.push_str("<table>\n<tr><th>provider</th><th>parameter</th><th>other parameters</th><th>direction</th><th>tipping point (interval)</th><th>method</th><th>replications</th></tr>\n");
        for t in &r.tipping {
            h.push_str(&format!(
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                html_escape(&t.provider),
                html_escape(&t.parameter),
                html_escape(
                    &t.fixed
                        .iter()
                        .map(|(p, v)| format!("{p}={v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                t.crossing.direction.as_str(),
                html_escape(&describe(&t.crossing)),
                t.method.as_str(),
                t.replications
            ));
        }
        h.push_str("</table>\n");
    }
    if r.axes.len() == 1 {
        h.push_str("<figure><img src=\"sweep/survival.svg\" alt=\"Survival against the parameter\"></figure>\n");
        h.push_str("<figure><img src=\"sweep/headline.svg\" alt=\"Headline figures against the parameter\"></figure>\n");
    } else if r.axes.len() == 2 {
        for id in &r.chosen {
            h.push_str(&format!(
                "<figure><img src=\"sweep/heatmap-{}.svg\" alt=\"Survival of {} over the grid\"></figure>\n",
                html_escape(id),
                html_escape(id)
            ));
        }
    }
    h.push_str("<h3>Survival at each point</h3>\n<table>\n<tr>");
    for a in &r.axes {
        h.push_str(&format!("<th><code>{}</code></th>", html_escape(&a.path)));
    }
    for id in &r.chosen {
        h.push_str(&format!("<th>{}</th>", html_escape(id)));
    }
    h.push_str("<th>cost £/head</th></tr>\n");
    let chosen: Vec<usize> = r
        .chosen
        .iter()
        .filter_map(|id| r.provider_index(id))
        .collect();
    for pt in &r.points {
        h.push_str("<tr>");
        for v in &pt.values {
            h.push_str(&format!("<td>{v}</td>"));
        }
        for &i in &chosen {
            let s = &pt.survival[i];
            h.push_str(&format!(
                "<td>{} ({}&ndash;{})</td>",
                pct(s.p),
                pct(s.lo),
                pct(s.hi)
            ));
        }
        h.push_str(&format!(
            "<td>{}</td></tr>\n",
            pt.headline
                .cost_per_head
                .mean
                .map_or_else(|| "-".into(), |m| format!("{m:.2}"))
        ));
    }
    h.push_str("</table>\n</section>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn range_spec_gives_evenly_spaced_values_ending_exactly() {
        assert_eq!(parse_spec("0:1:3").unwrap(), vec![0.0, 0.5, 1.0]);
        assert_eq!(parse_spec("2:2:1").unwrap(), vec![2.0]);
        let v = parse_spec("0:1:21").unwrap();
        assert_eq!(v.len(), 21);
        assert_eq!(v[20], 1.0);
        assert_eq!(v[7], 0.35);
        assert_eq!(parse_spec("1:0:3").unwrap(), vec![1.0, 0.5, 0.0]);
    }

    #[test]
    fn list_spec_keeps_the_order_given() {
        assert_eq!(parse_spec("0.1,0.5,0.9").unwrap(), vec![0.1, 0.5, 0.9]);
        assert_eq!(parse_spec("3, 1").unwrap(), vec![3.0, 1.0]);
    }

    #[test]
    fn bad_specs_are_refused_with_a_reason() {
        for (spec, why) in [
            ("0:1", "from:to:count"),
            ("0:1:0", "at least 1"),
            ("0:1:x", "whole number"),
            ("a,b", "not a number"),
            ("1,1", "appears twice"),
            ("0:1:1", "same value"),
            ("nan", "finite"),
        ] {
            let e = parse_spec(spec).unwrap_err();
            assert!(e.contains(why), "{spec}: {e}");
        }
        assert!(parse_param("services.x.locality").is_err());
        let a = parse_param("services.x.locality=0:1:3").unwrap();
        assert_eq!(a.path, "services.x.locality");
    }

    #[test]
    fn grid_is_the_cartesian_product_with_the_last_axis_fastest() {
        let axes = vec![
            Axis {
                path: "a".into(),
                values: vec![1.0, 2.0],
            },
            Axis {
                path: "b".into(),
                values: vec![10.0, 20.0, 30.0],
            },
        ];
        assert_eq!(
            grid(&axes),
            vec![
                vec![1.0, 10.0],
                vec![1.0, 20.0],
                vec![1.0, 30.0],
                vec![2.0, 10.0],
                vec![2.0, 20.0],
                vec![2.0, 30.0],
            ]
        );
        assert_eq!(grid(&axes[..1]), vec![vec![1.0], vec![2.0]]);
    }

    fn curve(points: &[(f64, f64, f64, f64)]) -> Vec<CurvePoint> {
        points
            .iter()
            .map(|&(x, p, lo, hi)| CurvePoint { x, p, lo, hi })
            .collect()
    }

    #[test]
    fn tipping_point_is_interpolated_where_survival_crosses_half() {
        // Falls from 0.9 to 0.1 linearly over [0, 1]: crosses at 0.5 exactly.
        let c = curve(&[
            (0.0, 0.9, 0.8, 0.95),
            (0.25, 0.7, 0.6, 0.8),
            (0.5, 0.5, 0.4, 0.6),
            (0.75, 0.3, 0.2, 0.4),
            (1.0, 0.1, 0.05, 0.2),
        ]);
        let found = find_crossings(&c);
        assert_eq!(found.len(), 1);
        let t = found[0];
        assert!(close(t.estimate, 0.5), "{t:?}");
        assert_eq!(t.direction, Direction::Falling);
        // Left, lo falls from 0.6 at 0.25 to 0.4 at 0.5: 50% at 0.375. Right, hi from 0.6 to 0.4.
        assert!(close(t.lo.unwrap(), 0.375), "{t:?}");
        assert!(close(t.hi.unwrap(), 0.625), "{t:?}");
    }

    #[test]
    fn rising_crossing_between_points_and_open_interval_at_the_ends() {
        let c = curve(&[(0.0, 0.2, 0.1, 0.55), (1.0, 0.6, 0.45, 0.7)]);
        let t = find_crossings(&c)[0];
        assert_eq!(t.direction, Direction::Rising);
        assert!(close(t.estimate, 0.75));
        assert_eq!((t.lo, t.hi), (None, None));
        assert_eq!(t.bracket, (0.0, 1.0));
    }

    #[test]
    fn noise_near_half_is_one_tipping_point_and_a_wobble_is_none() {
        // Down, up, down inside one undecided stretch: one falling point at the middle crossing.
        let c = curve(&[
            (0.0, 0.9, 0.8, 0.95),
            (1.0, 0.48, 0.4, 0.56),
            (2.0, 0.52, 0.44, 0.6),
            (3.0, 0.46, 0.38, 0.54),
            (4.0, 0.1, 0.05, 0.2),
        ]);
        let found = find_crossings(&c);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].direction, Direction::Falling);
        assert!(close(found[0].estimate, 1.5));
        // Dips under 50% and comes back, never clearly below: not a tipping point.
        let c = curve(&[
            (0.0, 0.9, 0.8, 0.95),
            (1.0, 0.48, 0.4, 0.56),
            (2.0, 0.9, 0.8, 0.95),
        ]);
        assert!(find_crossings(&c).is_empty());
        // A flat curve has none.
        assert!(find_crossings(&curve(&[(0.0, 0.9, 0.8, 1.0), (1.0, 0.9, 0.8, 1.0)])).is_empty());
    }

    #[test]
    fn two_clear_crossings_are_two_tipping_points() {
        let c = curve(&[
            (0.0, 0.9, 0.8, 0.95),
            (1.0, 0.1, 0.05, 0.2),
            (2.0, 0.9, 0.8, 0.95),
        ]);
        let found = find_crossings(&c);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].direction, Direction::Falling);
        assert_eq!(found[1].direction, Direction::Rising);
        assert!(close(found[0].estimate, 0.5) && close(found[1].estimate, 1.5));
    }
}
