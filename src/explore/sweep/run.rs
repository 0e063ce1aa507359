//! Running a sweep: every point of the design on the same replication indices, then the tipping
//! points, then `--refine`'s bisection where asked.

use super::{
    Axis, CurvePoint, Method, PointHeadline, ProviderInfo, RefinedPoint, Survival, SweepPlan,
    SweepPoint, SweepResult, THRESHOLD, TippingPoint, find_crossings, grid, grid_tipping_points,
};
use crate::experiment::Summary;
use crate::explore::{ExploreError, NumericField, Progress, Study};
use crate::scenario::path;
use crate::scenario::suggest::close_matches;

/// Where a sweep keeps its finished grid points, so that a stopped sweep can carry on: the
/// command line saves them in the output folder; [`KeepNothing`] keeps none.
pub trait SavedPoints {
    /// One replication of the grid point with parameter values `values`, in point order and
    /// replication order (the rows of `runs.csv`).
    fn row(&mut self, values: &[f64], r: &crate::engine::ReplicationOutcome);
    /// The summary of grid point `i`, saved by an earlier sweep that stopped (its rows are
    /// already kept, so they are not handed over again).
    fn load(&mut self, i: usize) -> Option<Summary>;
    /// Grid point `i` is finished and every one of its rows handed over. An error stops the
    /// sweep (handed back as [`ExploreError::Run`]).
    fn save(&mut self, i: usize, summary: &Summary) -> anyhow::Result<()>;
}

/// Keeps no grid points: a sweep run in one go.
pub struct KeepNothing;

impl SavedPoints for KeepNothing {
    fn row(&mut self, _: &[f64], _: &crate::engine::ReplicationOutcome) {}

    fn load(&mut self, _: usize) -> Option<Summary> {
        None
    }

    fn save(&mut self, _: usize, _: &Summary) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Runs a sweep: every grid point, tipping points along every axis, and `--refine` if asked.
pub fn run(plan: &SweepPlan, progress: Progress) -> Result<SweepResult, ExploreError> {
    run_with_rows(plan, progress, &mut KeepNothing)
}

/// [`run`], handing every replication of every grid point to `saved` with the point's values
/// (refined points are not among them) and every finished point, and taking back the points an
/// earlier, stopped sweep finished.
pub fn run_with_rows(
    plan: &SweepPlan,
    progress: Progress,
    saved: &mut dyn SavedPoints,
) -> Result<SweepResult, ExploreError> {
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
        let s = match saved.load(i) {
            Some(s) => {
                progress(base + n, total);
                s
            }
            None => {
                let s = study.run(edits, 0..n, &mut |r| saved.row(values, r), &|d| {
                    progress(base + d, total)
                })?;
                saved
                    .save(i, &s)
                    .map_err(|e| ExploreError::Run(crate::experiment::RunError::Sink(e)))?;
                s
            }
        };
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
        origin: study.provenance(),
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
