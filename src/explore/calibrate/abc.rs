//! The parts of ABC-SMC, each small and tested alone (as pyabc splits them): the distance, the
//! tolerance (epsilon) schedule, the transition (perturbation kernel), the importance weights and
//! the effective sample size. Every sum runs in index order, so results never depend on threads.

// Small dense matrices (one row and column per parameter) read clearest with index loops.
#![allow(clippy::needless_range_loop)]

/// Root mean square over targets of (simulated - observed) / tolerance.
pub fn distance(simulated: &[f64], observed: &[f64], tolerance: &[f64]) -> f64 {
    let n = simulated.len().min(observed.len()).min(tolerance.len());
    if n == 0 {
        return 0.0;
    }
    let sum: f64 = (0..n)
        .map(|i| ((simulated[i] - observed[i]) / tolerance[i]).powi(2))
        .sum();
    (sum / n as f64).sqrt()
}

/// The weighted `q`-quantile of values (the smallest value whose cumulative weight reaches `q`
/// of the total): the next generation's tolerance is this quantile of the last one's distances.
pub fn weighted_quantile(values: &[f64], weights: &[f64], q: f64) -> f64 {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    for &i in &order {
        acc += weights[i];
        if acc >= q * total {
            return values[i];
        }
    }
    order.last().map_or(f64::NAN, |&i| values[i])
}

/// Effective sample size of normalised or unnormalised weights: (sum w)^2 / sum w^2.
pub fn effective_sample_size(weights: &[f64]) -> f64 {
    let s: f64 = weights.iter().sum();
    let s2: f64 = weights.iter().map(|w| w * w).sum();
    if s2 > 0.0 { s * s / s2 } else { 0.0 }
}

/// Weights scaled to sum to 1 (all equal when they sum to nothing).
pub fn normalise(weights: &[f64]) -> Vec<f64> {
    let s: f64 = weights.iter().sum();
    if s > 0.0 && s.is_finite() {
        weights.iter().map(|w| w / s).collect()
    } else {
        vec![1.0 / weights.len().max(1) as f64; weights.len()]
    }
}

/// A Gaussian perturbation kernel with twice the population's weighted covariance (the choice
/// of Beaumont et al. 2009 that pyabc's MultivariateNormalTransition makes by default).
#[derive(Debug, Clone, PartialEq)]
pub struct Kernel {
    /// Lower-triangular Cholesky factor of the kernel covariance.
    chol: Vec<Vec<f64>>,
    /// Inverse of the kernel covariance.
    inverse: Vec<Vec<f64>>,
}

impl Kernel {
    /// The kernel of a weighted population; `scale` keeps each parameter's variance above a tiny
    /// share of its prior width squared, so a collapsed population can still move.
    pub fn fit(points: &[Vec<f64>], weights: &[f64], widths: &[f64]) -> Kernel {
        let d = widths.len();
        let w = normalise(weights);
        let mean: Vec<f64> = (0..d)
            .map(|k| points.iter().zip(&w).map(|(p, wi)| wi * p[k]).sum())
            .collect();
        let mut cov = vec![vec![0.0; d]; d];
        for (p, wi) in points.iter().zip(&w) {
            for a in 0..d {
                for b in 0..d {
                    cov[a][b] += wi * (p[a] - mean[a]) * (p[b] - mean[b]);
                }
            }
        }
        for a in 0..d {
            for b in 0..d {
                cov[a][b] *= 2.0;
            }
            cov[a][a] += 1e-10 * widths[a] * widths[a];
        }
        let chol = cholesky(&cov);
        let inverse = invert_spd(&chol);
        Kernel { chol, inverse }
    }

    /// A perturbation of `centre` by the kernel, given standard normal draws `z`.
    pub fn perturb(&self, centre: &[f64], z: &[f64]) -> Vec<f64> {
        (0..centre.len())
            .map(|a| centre[a] + (0..=a).map(|b| self.chol[a][b] * z[b]).sum::<f64>())
            .collect()
    }

    /// The kernel density of `x` around `centre`, up to a constant shared by every pair.
    pub fn density(&self, x: &[f64], centre: &[f64]) -> f64 {
        let d: Vec<f64> = x.iter().zip(centre).map(|(a, b)| a - b).collect();
        let mut q = 0.0;
        for a in 0..d.len() {
            for b in 0..d.len() {
                q += d[a] * self.inverse[a][b] * d[b];
            }
        }
        (-0.5 * q).exp()
    }
}

/// Importance weight of a particle of a uniform prior: 1 / sum_j w_j K(x | x_j).
pub fn importance_weight(x: &[f64], previous: &[Vec<f64>], weights: &[f64], k: &Kernel) -> f64 {
    let w = normalise(weights);
    let denominator: f64 = previous
        .iter()
        .zip(&w)
        .map(|(p, wi)| wi * k.density(x, p))
        .sum();
    if denominator > 0.0 {
        1.0 / denominator
    } else {
        0.0
    }
}

/// Cholesky factor of a symmetric positive definite matrix (a non-positive pivot is clamped to a
/// tiny positive value, so a degenerate population still gives a usable kernel).
fn cholesky(a: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = a.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                l[i][j] = (a[i][i] - s).max(1e-300).sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    l
}

/// The inverse of L L^T from its Cholesky factor L.
fn invert_spd(l: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = l.len();
    // Inverse of L by forward substitution, then (L^-1)^T L^-1.
    let mut li = vec![vec![0.0; n]; n];
    for i in 0..n {
        li[i][i] = 1.0 / l[i][i];
        for j in 0..i {
            let s: f64 = (j..i).map(|k| l[i][k] * li[k][j]).sum();
            li[i][j] = -s / l[i][i];
        }
    }
    let mut inv = vec![vec![0.0; n]; n];
    for a in 0..n {
        for b in 0..n {
            inv[a][b] = (a.max(b)..n).map(|k| li[k][a] * li[k][b]).sum();
        }
    }
    inv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_is_the_rms_of_tolerance_units() {
        // (2 - 0)/1 = 2 and (1 - 4)/3 = -1: sqrt((4 + 1) / 2).
        let d = distance(&[2.0, 1.0], &[0.0, 4.0], &[1.0, 3.0]);
        assert!((d - 2.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(distance(&[1.0], &[1.0], &[0.5]), 0.0);
    }

    #[test]
    fn weighted_quantile_follows_the_weights() {
        let v = [3.0, 1.0, 2.0, 4.0];
        assert_eq!(weighted_quantile(&v, &[1.0; 4], 0.5), 2.0);
        assert_eq!(weighted_quantile(&v, &[0.0, 0.0, 0.0, 1.0], 0.5), 4.0);
        assert_eq!(weighted_quantile(&v, &[1.0; 4], 1.0), 4.0);
    }

    #[test]
    fn ess_is_n_for_equal_weights_and_1_for_one() {
        assert!((effective_sample_size(&[0.25; 4]) - 4.0).abs() < 1e-12);
        assert!((effective_sample_size(&[0.0, 1.0, 0.0]) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn kernel_has_twice_the_weighted_covariance() {
        // Points -1 and 1 with equal weight: variance 1, kernel variance 2.
        let pts = vec![vec![-1.0, 0.0], vec![1.0, 0.0]];
        let k = Kernel::fit(&pts, &[1.0, 1.0], &[1.0, 1.0]);
        let x = k.perturb(&[0.0, 0.0], &[1.0, 0.0]);
        assert!((x[0] - 2f64.sqrt()).abs() < 1e-9, "{x:?}");
        // Density at one kernel standard deviation is exp(-1/2).
        let dens = k.density(&[2f64.sqrt(), 0.0], &[0.0, 0.0]);
        assert!((dens - (-0.5f64).exp()).abs() < 1e-6, "{dens}");
    }

    #[test]
    fn importance_weight_is_higher_away_from_the_crowd() {
        let pts = vec![vec![0.0], vec![0.1], vec![1.0]];
        let k = Kernel::fit(&pts, &[1.0; 3], &[1.0]);
        let crowded = importance_weight(&[0.05], &pts, &[1.0; 3], &k);
        let alone = importance_weight(&[1.0], &pts, &[1.0; 3], &k);
        assert!(alone > crowded);
    }
}
