//! The design of a sensitivity analysis, as data: which parameters vary, the ends of each one's
//! range, and the Morris trajectories through the box they span.

use rand::rngs::ChaCha8Rng;
use rand::{Rng, SeedableRng};

use super::{Factor, SensitivityPlan, Skipped};
use crate::explore::{ExploreError, NumericField, Study};
use crate::scenario::limits::{MAX_LEVELS, MAX_TRAJECTORIES};
use crate::scenario::path;

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
pub(crate) fn factor(study: &Study, f: &NumericField, fraction: f64) -> Result<Factor, String> {
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
            match study.market_for(&[f.edit(t)], 0..study.replications) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
