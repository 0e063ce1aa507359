//! Running a sweep: every point of the design on the same replication indices, then the tipping
//! points, then `--refine`'s bisection where asked.

use super::{
    Axis, CurvePoint, Method, PointHeadline, ProviderInfo, RefinedPoint, Survival, SweepPlan,
    SweepPoint, SweepResult, THRESHOLD, TippingPoint, find_crossings, grid, grid_tipping_points,
};
use crate::experiment::Summary;
use crate::experiment::shard::Shard;
use crate::explore::pieces::{
    Evaluation, KeepNothing, PieceOutcome, SavedPieces, assemble, pieces,
};
use crate::explore::{ExploreError, NumericField, Progress, Study};
use crate::scenario::Edit;
use crate::scenario::path;
use crate::scenario::suggest::close_matches;

/// A sweep's design checked against the scenario: each axis's field, the grid of points and
/// each point's edits.
#[derive(Debug, Clone)]
pub struct SweepDesign {
    /// Each axis's field, in axis order.
    pub fields: Vec<NumericField>,
    /// Every grid point's values, in [`grid`] order.
    pub grid: Vec<Vec<f64>>,
    /// Every grid point's edits.
    pub edits: Vec<Vec<Edit>>,
}

/// Checks a sweep's plan and every point's edits (before any replication runs, so a bad value
/// fails fast) and lays out its grid.
pub fn design(plan: &SweepPlan) -> Result<SweepDesign, ExploreError> {
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
    let mut edits = Vec::with_capacity(grid.len());
    for values in &grid {
        let e: Vec<_> = fields.iter().zip(values).map(|(f, &v)| f.edit(v)).collect();
        study.market_for(&e, 0..study.replications)?;
        edits.push(e);
    }
    Ok(SweepDesign {
        fields,
        grid,
        edits,
    })
}

/// Runs a sweep: every grid point, tipping points along every axis, and `--refine` if asked.
pub fn run(plan: &SweepPlan, progress: Progress) -> Result<SweepResult, ExploreError> {
    run_with_rows(plan, progress, &mut KeepNothing)
}

/// Runs shard `shard`'s pieces of a sweep's grid points (see [`pieces`]), handing every
/// replication to `saved` and taking back the pieces an earlier, stopped run finished.
pub fn run_shard(
    plan: &SweepPlan,
    design: &SweepDesign,
    shard: Shard,
    saved: &mut dyn SavedPieces,
    progress: Progress,
) -> Result<Vec<PieceOutcome>, ExploreError> {
    let mine = pieces(design.grid.len(), plan.study.replications, shard);
    let total = crate::explore::pieces::replications(&mine);
    Evaluation {
        study: &plan.study,
        edits: &design.edits,
        keep: &|_, _| Vec::new(),
    }
    .run(&mine, saved, progress, 0, total)
}

/// [`run`], handing every replication of every grid point to `saved` (refined points are not
/// among them) and every finished point, and taking back the points an earlier, stopped sweep
/// finished.
pub fn run_with_rows(
    plan: &SweepPlan,
    progress: Progress,
    saved: &mut dyn SavedPieces,
) -> Result<SweepResult, ExploreError> {
    let design = design(plan)?;
    let outcomes = run_shard(plan, &design, Shard::WHOLE, saved, progress)?;
    let n = plan.study.replications;
    let points = assemble(design.grid.len(), n, outcomes).map_err(ExploreError::Input)?;
    let summaries: Vec<Summary> = points.into_iter().map(|p| p.summary).collect();
    let mut result = analyse(plan, &design, &summaries)?;
    refine(plan, &design, &mut result, progress)?;
    Ok(result)
}

/// A sweep's result from every grid point's summary (in grid order): survival and headline
/// figures per point, the providers charted and the tipping points on the grid (`--refine` is
/// run separately).
pub fn analyse(
    plan: &SweepPlan,
    design: &SweepDesign,
    summaries: &[Summary],
) -> Result<SweepResult, ExploreError> {
    let study = &plan.study;
    let mut points = Vec::with_capacity(summaries.len());
    let mut providers = Vec::new();
    for (values, s) in design.grid.iter().zip(summaries) {
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
            headline: PointHeadline::of(s),
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
    Ok(result)
}

/// `--refine`: narrows each charted provider's tipping point by bisection with more replications,
/// on this machine (a refined point waits on the one before it).
fn refine(
    plan: &SweepPlan,
    design: &SweepDesign,
    result: &mut SweepResult,
    progress: Progress,
) -> Result<(), ExploreError> {
    let study = &plan.study;
    let n = study.replications;
    let mut total = design.grid.len() as u64 * n;
    if let Some(refine) = plan.refine {
        let field = &design.fields[0];
        let targets: Vec<TippingPoint> = result
            .tipping
            .iter()
            .filter(|t| result.chosen.contains(&t.provider))
            .cloned()
            .collect();
        let reps = n.saturating_mul(refine.factor.max(1));
        total += targets.len() as u64 * u64::from(refine.steps + 2) * reps;
        let mut done = design.grid.len() as u64 * n;
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
    Ok(())
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
