//! [`PairedStat`]: the mean difference of paired observations with a 95% interval, exactly mergeable.

use serde::{Deserialize, Serialize};

use crate::stats::{ExactSum, Proportion};

/// Running sums of paired observations `(a, b)` and of `d = b - a` and `d^2`.
///
/// Every sum is an [`ExactSum`], so pushing pairs in any order or grouping gives the same bits,
/// and memory does not grow with the number of pairs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PairedStat {
    /// Baseline values.
    a: ExactSum,
    /// Compared values.
    b: ExactSum,
    /// Differences `b - a`.
    d: ExactSum,
    /// Squared differences.
    d2: ExactSum,
}

/// What a [`PairedStat`] says: means, mean difference, its spread and 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairedEstimate {
    /// Pairs observed.
    pub n: u64,
    /// Mean of the baseline values.
    pub baseline_mean: f64,
    /// Mean of the compared values.
    pub mean: f64,
    /// Mean difference (compared minus baseline).
    pub diff: f64,
    /// Standard deviation of the differences (`None` with fewer than two pairs).
    pub sd: Option<f64>,
    /// 95% normal-approximation interval of the mean difference (`None` with fewer than two pairs).
    pub interval: Option<(f64, f64)>,
}

impl PairedStat {
    /// No pairs yet.
    pub fn new() -> PairedStat {
        PairedStat::default()
    }

    /// Records one pair: `a` from the baseline, `b` from the compared configuration, same replication.
    pub fn push(&mut self, a: f64, b: f64) {
        // A non-finite value in either makes the pair meaningless: skip it whole so the sums stay paired.
        if !(a.is_finite() && b.is_finite()) {
            return;
        }
        let d = b - a;
        self.a.push(a);
        self.b.push(b);
        self.d.push(d);
        self.d2.push(d * d);
    }

    /// Adds another accumulator's pairs into this one.
    pub fn merge(&mut self, other: &PairedStat) {
        self.a.merge(&other.a);
        self.b.merge(&other.b);
        self.d.merge(&other.d);
        self.d2.merge(&other.d2);
    }

    /// Pairs observed.
    pub fn count(&self) -> u64 {
        self.d.count()
    }

    /// Means, mean difference and its 95% interval; `None` with no pairs.
    pub fn estimate(&self) -> Option<PairedEstimate> {
        let n = self.count();
        let diff = self.d.mean()?;
        let sd = (n > 1).then(|| {
            let nf = n as f64;
            // Sum of squares about the mean; rounding can make it a hair negative when all d agree.
            let ss = (self.d2.sum() - self.d.sum() * diff).max(0.0);
            (ss / (nf - 1.0)).sqrt()
        });
        let interval = sd.map(|s| {
            let half = Proportion::Z95 * s / (n as f64).sqrt();
            (diff - half, diff + half)
        });
        Some(PairedEstimate {
            n,
            baseline_mean: self.a.mean()?,
            mean: self.b.mean()?,
            diff,
            sd,
            interval,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(pairs: &[(f64, f64)]) -> PairedStat {
        let mut s = PairedStat::new();
        pairs.iter().for_each(|&(a, b)| s.push(a, b));
        s
    }

    #[test]
    fn paired_difference_is_mean_of_differences_with_normal_interval() {
        let e = of(&[(1.0, 2.0), (2.0, 2.5), (3.0, 5.0), (4.0, 4.5)])
            .estimate()
            .unwrap();
        // d = 1, 0.5, 2, 0.5: mean 1, sample sd sqrt(0.5).
        assert_eq!(e.n, 4);
        assert_eq!((e.baseline_mean, e.mean, e.diff), (2.5, 3.5, 1.0));
        let sd = e.sd.unwrap();
        assert!((sd - 0.5f64.sqrt()).abs() < 1e-12);
        let (lo, hi) = e.interval.unwrap();
        let half = 1.959_963_984_540_054 * sd / 2.0;
        assert!((lo - (1.0 - half)).abs() < 1e-12 && (hi - (1.0 + half)).abs() < 1e-12);
    }

    #[test]
    fn identical_pairs_give_a_zero_width_interval() {
        let e = of(&[(3.0, 3.0); 10]).estimate().unwrap();
        assert_eq!(
            (e.diff, e.sd, e.interval),
            (0.0, Some(0.0), Some((0.0, 0.0)))
        );
    }

    #[test]
    fn one_pair_has_no_interval_and_none_has_no_estimate() {
        assert_eq!(PairedStat::new().estimate(), None);
        let e = of(&[(1.0, 0.0)]).estimate().unwrap();
        assert_eq!((e.diff, e.sd, e.interval), (-1.0, None, None));
    }

    #[test]
    fn non_finite_pairs_are_skipped_whole() {
        let s = of(&[(1.0, 2.0), (f64::NAN, 1.0), (1.0, f64::INFINITY)]);
        assert_eq!(s.count(), 1);
        assert_eq!(s.estimate().unwrap().baseline_mean, 1.0);
    }

    #[test]
    fn paired_merge_equals_sequential_push() {
        let pairs: Vec<(f64, f64)> = (0..50)
            .map(|i| (f64::from(i) * 0.37, f64::from(i * i % 17) * 0.11))
            .collect();
        let mut merged = of(&pairs[30..]);
        merged.merge(&of(&pairs[..30]));
        assert_eq!(merged, of(&pairs));
    }
}
