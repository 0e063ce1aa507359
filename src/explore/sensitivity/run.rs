//! Running a sensitivity analysis: the baseline, both ends of every factor one at a time, then
//! every point of the Morris design, all on the same replication indices.

use super::analysis::paired;
use super::design::factor;
use super::{
    MorrisRow, OatRow, Output, SensitivityPlan, SensitivityResult, Skipped, elementary_effects,
    morris_design, parameter_paths,
};
use crate::engine::{Fate, ReplicationOutcome};
use crate::experiment::{MarketFigure, Summary};
use crate::explore::{ExploreError, Progress};
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

/// Outputs at one point, and per replication when asked.
struct Eval {
    values: Vec<f64>,
    per_rep: Vec<Vec<f64>>,
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
        origin: study.provenance(),
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
