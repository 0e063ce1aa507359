//! Running a sensitivity analysis: the baseline, both ends of every factor one at a time, then
//! every point of the Morris design, all on the same replication indices.

use super::analysis::paired;
use super::design::factor;
use super::{
    Factor, MorrisRow, OatRow, Output, SensitivityPlan, SensitivityResult, Skipped, Trajectory,
    elementary_effects, morris_design, parameter_paths,
};
use crate::engine::{Fate, ReplicationOutcome};
use crate::experiment::shard::Shard;
use crate::experiment::{MarketFigure, Summary};
use crate::explore::pieces::{
    Evaluation, KeepNothing, PieceOutcome, PointOutcome, SavedPieces, assemble, pieces,
};
use crate::explore::{ExploreError, NumericField, Progress};
use crate::scenario::Edit;
use crate::scenario::suggest::close_matches;

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
            Output::Market(f) => f.of_summary(s).mean(),
        };
        v.unwrap_or(f64::NAN)
    }

    fn of_replication(&self, r: &ReplicationOutcome) -> f64 {
        match self.output {
            Output::Survival(_) => {
                f64::from(u8::from(r.providers[self.provider].fate == Fate::Survived))
            }
            Output::Market(f) => f.of_replication(r),
        }
    }
}

/// A sensitivity analysis's design checked against the scenario: the factors and outputs, the
/// Morris trajectories, and every point it evaluates (the baseline, both ends of each factor one
/// at a time, then each trajectory's points), each with its edits.
#[derive(Debug, Clone)]
pub struct SensitivityDesign {
    factors: Vec<(NumericField, Factor)>,
    skipped: Vec<Skipped>,
    outputs: Vec<Output>,
    measures: Vec<Measure>,
    trajectories: Vec<Trajectory>,
    /// Each evaluated point's edits, in evaluation order.
    pub edits: Vec<Vec<Edit>>,
}

impl SensitivityDesign {
    /// Whether point `p` keeps its outputs per replication (the one-at-a-time ends do, for the
    /// paired interval of their swing).
    fn keeps(&self, p: usize) -> bool {
        (1..=2 * self.factors.len()).contains(&p)
    }

    /// The outputs of point `p` in one replication, where the point keeps them.
    pub fn per_replication(&self, p: usize, r: &ReplicationOutcome) -> Vec<f64> {
        if self.keeps(p) {
            self.measures.iter().map(|m| m.of_replication(r)).collect()
        } else {
            Vec::new()
        }
    }
}

/// Checks a sensitivity analysis's plan against the scenario and lays out every point it runs.
pub fn design(plan: &SensitivityPlan) -> Result<SensitivityDesign, ExploreError> {
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
    let k = factors.len();
    let r = plan.trajectories as usize;

    // The baseline tells which providers exist, to check and default the outputs.
    let market = study.market_for(&[], 0..study.replications)?;
    let ids: Vec<&str> = market.providers.iter().map(|p| p.id.as_str()).collect();
    let outputs: Vec<Output> = if plan.outputs.is_empty() {
        let mut o = vec![
            Output::Market(MarketFigure::CostPerHead),
            Output::Market(MarketFigure::InHouseShare),
        ];
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
    let trajectories = if r > 0 {
        morris_design(k, r, plan.levels, study.seed)
    } else {
        Vec::new()
    };
    let mut edits = vec![Vec::new()];
    for (field, f) in &factors {
        edits.push(vec![field.edit(f.low)]);
        edits.push(vec![field.edit(f.high)]);
    }
    for t in &trajectories {
        for u in &t.points {
            edits.push(
                factors
                    .iter()
                    .zip(u)
                    .map(|((field, f), &x)| field.edit(f.low + x * (f.high - f.low)))
                    .collect(),
            );
        }
    }
    Ok(SensitivityDesign {
        factors,
        skipped,
        outputs,
        measures,
        trajectories,
        edits,
    })
}

/// Runs a sensitivity analysis: baseline, one-at-a-time at both ends of every factor, then Morris.
pub fn run(plan: &SensitivityPlan, progress: Progress) -> Result<SensitivityResult, ExploreError> {
    run_with(plan, progress, &mut KeepNothing)
}

/// [`run`], saving every finished point in `saved` and taking back those an earlier, stopped run
/// finished.
pub fn run_with(
    plan: &SensitivityPlan,
    progress: Progress,
    saved: &mut dyn SavedPieces,
) -> Result<SensitivityResult, ExploreError> {
    let design = design(plan)?;
    let outcomes = run_shard(plan, &design, Shard::WHOLE, saved, progress)?;
    let points = assemble(design.edits.len(), plan.study.replications, outcomes)
        .map_err(ExploreError::Input)?;
    analyse(plan, &design, &points)
}

/// Runs shard `shard`'s pieces of the design's points (see [`pieces`]).
pub fn run_shard(
    plan: &SensitivityPlan,
    design: &SensitivityDesign,
    shard: Shard,
    saved: &mut dyn SavedPieces,
    progress: Progress,
) -> Result<Vec<PieceOutcome>, ExploreError> {
    let mine = pieces(design.edits.len(), plan.study.replications, shard);
    let total = crate::explore::pieces::replications(&mine);
    Evaluation {
        study: &plan.study,
        edits: &design.edits,
        keep: &|p, r| design.per_replication(p, r),
    }
    .run(&mine, saved, progress, 0, total)
}

/// The analysis of every point's outcome (in the design's order): the tornado's one-at-a-time
/// effects and the Morris statistics.
pub fn analyse(
    plan: &SensitivityPlan,
    design: &SensitivityDesign,
    points: &[PointOutcome],
) -> Result<SensitivityResult, ExploreError> {
    let study = &plan.study;
    let outputs = &design.outputs;
    let values = |p: &PointOutcome| -> Vec<f64> {
        design
            .measures
            .iter()
            .map(|m| m.of_summary(&p.summary))
            .collect()
    };
    if points.len() != design.edits.len() {
        return Err(ExploreError::Input(format!(
            "{} points evaluated of the design's {}",
            points.len(),
            design.edits.len()
        )));
    }
    let baseline = values(&points[0]);
    let mut oat = Vec::new();
    for (i, (_, f)) in design.factors.iter().enumerate() {
        let (lo, hi) = (&points[1 + 2 * i], &points[2 + 2 * i]);
        let (y_lo, y_hi) = (values(lo), values(hi));
        for (oi, o) in outputs.iter().enumerate() {
            oat.push(OatRow {
                output: o.name(),
                path: f.path.clone(),
                y_low: y_lo[oi],
                y_high: y_hi[oi],
                swing: y_hi[oi] - y_lo[oi],
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
    let k = design.factors.len();
    let r = plan.trajectories as usize;
    let factors = &design.factors;
    let mut next = 1 + 2 * k;
    let mut morris = Vec::new();
    if r > 0 {
        let design_t = &design.trajectories;
        let mut ys: Vec<Vec<Vec<f64>>> = vec![Vec::new(); outputs.len()];
        for t in design_t {
            let mut per_output: Vec<Vec<f64>> = vec![Vec::new(); outputs.len()];
            for _ in &t.points {
                let e = values(&points[next]);
                next += 1;
                for (v, y) in per_output.iter_mut().zip(e) {
                    v.push(y);
                }
            }
            for (acc, v) in ys.iter_mut().zip(per_output) {
                acc.push(v);
            }
        }
        for (o, y) in outputs.iter().zip(&ys) {
            let stats = elementary_effects(design_t, y, k);
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
        origin: study.provenance(),
        fraction: plan.fraction,
        outputs: outputs.clone(),
        baseline,
        factors: factors.iter().map(|(_, f)| f.clone()).collect(),
        skipped: design.skipped.clone(),
        oat,
        morris,
        trajectories: plan.trajectories,
        levels: plan.levels,
    })
}
