//! The design of a sweep, as data: the axes (a numeric field and its values), the grid of
//! points they make, and how `--refine` narrows a tipping point.

use serde::{Deserialize, Serialize};

use crate::explore::{ExploreError, Study};
use crate::scenario::limits::{MAX_REFINE_STEPS, MAX_REPLICATIONS, MAX_SWEEP_POINTS};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
