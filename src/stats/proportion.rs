//! [`Proportion`]: a success rate with a Wilson score interval.

use serde::{Deserialize, Serialize};

/// Count of successes out of trials; exactly mergeable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "ProportionRepr", into = "ProportionRepr")]
pub struct Proportion {
    /// Number of successes; never more than `trials`.
    successes: u64,
    /// Number of trials.
    trials: u64,
}

impl Proportion {
    /// Two-sided 95% normal quantile, for [`wilson`](Self::wilson).
    pub const Z95: f64 = 1.959_963_984_540_054;

    /// No trials yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// From counts, or `None` when `successes > trials`.
    pub fn from_counts(successes: u64, trials: u64) -> Option<Self> {
        (successes <= trials).then_some(Self { successes, trials })
    }

    /// Records one trial.
    pub fn push(&mut self, success: bool) {
        // Saturating together so successes <= trials holds even at (unreachable) 2^64.
        if self.trials < u64::MAX {
            self.trials += 1;
            self.successes += u64::from(success);
        }
    }

    /// Adds another proportion's trials into this one.
    pub fn merge(&mut self, other: &Proportion) {
        self.trials = self.trials.saturating_add(other.trials);
        self.successes = self
            .successes
            .saturating_add(other.successes)
            .min(self.trials);
    }

    /// Number of successes.
    pub fn successes(&self) -> u64 {
        self.successes
    }

    /// Number of trials.
    pub fn trials(&self) -> u64 {
        self.trials
    }

    /// Observed success rate, or `None` with no trials.
    pub fn estimate(&self) -> Option<f64> {
        (self.trials > 0).then(|| self.successes as f64 / self.trials as f64)
    }

    /// Wilson score interval `(lo, hi)` for normal quantile `z` (e.g. [`Self::Z95`]).
    ///
    /// `None` with no trials or when `z` is negative or not finite. Bounds lie in `[0, 1]`, with
    /// `lo == 0` exactly when there are no successes and `hi == 1` exactly when all trials
    /// succeed.
    pub fn wilson(&self, z: f64) -> Option<(f64, f64)> {
        if self.trials == 0 || !z.is_finite() || z < 0.0 {
            return None;
        }
        let n = self.trials as f64;
        let p = self.successes as f64 / n;
        let z2 = z * z;
        let denom = 1.0 + z2 / n;
        let centre = (p + z2 / (2.0 * n)) / denom;
        let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
        // At the extremes the formula gives 0 or 1 only up to rounding; pin them exactly.
        let lo = if self.successes == 0 {
            0.0
        } else {
            (centre - half).clamp(0.0, 1.0)
        };
        let hi = if self.successes == self.trials {
            1.0
        } else {
            (centre + half).clamp(0.0, 1.0)
        };
        Some((lo, hi))
    }
}

/// Serialized form, validated on the way in.
#[derive(Serialize, Deserialize)]
struct ProportionRepr {
    successes: u64,
    trials: u64,
}

impl From<Proportion> for ProportionRepr {
    fn from(p: Proportion) -> Self {
        ProportionRepr {
            successes: p.successes,
            trials: p.trials,
        }
    }
}

impl TryFrom<ProportionRepr> for Proportion {
    type Error = String;

    fn try_from(r: ProportionRepr) -> Result<Self, Self::Error> {
        Proportion::from_counts(r.successes, r.trials).ok_or_else(|| {
            format!(
                "proportion has {} successes but only {} trials",
                r.successes, r.trials
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round4(x: f64) -> f64 {
        (x * 1e4).round() / 1e4
    }

    fn counts(successes: u64, trials: u64) -> Proportion {
        Proportion::from_counts(successes, trials).unwrap()
    }

    #[test]
    fn wilson_interval_matches_known_values() {
        let (lo, hi) = counts(5, 10).wilson(Proportion::Z95).unwrap();
        assert_eq!((round4(lo), round4(hi)), (0.2366, 0.7634));
        let (lo, hi) = counts(0, 10).wilson(Proportion::Z95).unwrap();
        assert_eq!((lo, round4(hi)), (0.0, 0.2775));
        let (lo, hi) = counts(81, 263).wilson(Proportion::Z95).unwrap();
        assert_eq!((round4(lo), round4(hi)), (0.2553, 0.3662));
    }

    #[test]
    fn wilson_bounds_are_zero_and_one_at_extremes() {
        for n in [1, 2, 10, 1000, 1_000_000] {
            let (lo, hi) = counts(0, n).wilson(Proportion::Z95).unwrap();
            assert_eq!(lo, 0.0);
            assert!(hi > 0.0 && hi < 1.0);
            let (lo, hi) = counts(n, n).wilson(Proportion::Z95).unwrap();
            assert_eq!(hi, 1.0);
            assert!(lo > 0.0 && lo < 1.0);
        }
        assert_eq!(counts(3, 7).wilson(0.0), Some((3.0 / 7.0, 3.0 / 7.0)));
    }

    #[test]
    fn proportion_with_no_trials_has_no_estimate() {
        let p = Proportion::new();
        assert_eq!(p.estimate(), None);
        assert_eq!(p.wilson(Proportion::Z95), None);
    }

    #[test]
    fn wilson_rejects_invalid_z() {
        for z in [-1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(counts(1, 2).wilson(z), None);
        }
    }

    #[test]
    fn proportion_deserialize_rejects_more_successes_than_trials() {
        let p: Proportion = serde_json::from_str(r#"{"successes":2,"trials":3}"#).unwrap();
        assert_eq!(p, counts(2, 3));
        assert!(serde_json::from_str::<Proportion>(r#"{"successes":4,"trials":3}"#).is_err());
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"successes":2,"trials":3}"#
        );
    }

    proptest! {
        #[test]
        fn proportion_merge_equals_sequential_push(
            outcomes in prop::collection::vec(any::<bool>(), 0..100),
            cut in any::<prop::sample::Index>(),
        ) {
            let of = |xs: &[bool]| {
                let mut p = Proportion::new();
                xs.iter().for_each(|&x| p.push(x));
                p
            };
            let (head, tail) = outcomes.split_at(cut.index(outcomes.len() + 1));
            let mut merged = of(tail);
            merged.merge(&of(head));
            prop_assert_eq!(merged, of(&outcomes));
            prop_assert_eq!(merged.successes(), outcomes.iter().filter(|&&x| x).count() as u64);
        }

        #[test]
        fn wilson_interval_contains_estimate(successes in 0..500u64, extra in 0..500u64) {
            let p = counts(successes, successes + extra);
            if let (Some(est), Some((lo, hi))) = (p.estimate(), p.wilson(Proportion::Z95)) {
                prop_assert!(0.0 <= lo && lo <= est && est <= hi && hi <= 1.0);
            }
        }
    }
}
