//! The analysis of a sensitivity analysis, read from results alone: Morris elementary effects
//! and the paired interval of a one-at-a-time swing.

use super::Trajectory;

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
pub(crate) fn paired(a: &[f64], b: &[f64]) -> (f64, f64) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::sensitivity::morris_design;

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
