//! [`Stat`]: mean and quantiles of one observed figure.

use serde::{Deserialize, Serialize};

use super::{ExactSum, Quantiles};

/// Exact mean plus quantiles of one observed figure (exact up to
/// [`EXACT_LIMIT`](super::EXACT_LIMIT) values, then within 0.05%); exactly mergeable.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Stat {
    /// Exact sum, for the mean.
    sum: ExactSum,
    /// The values (or their sketch), for quantiles.
    quantiles: Quantiles,
}

/// Headline summary of a [`Stat`]; every field is `None` when no finite value was observed.
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct StatRow {
    /// Mean.
    pub mean: Option<f64>,
    /// 5th percentile.
    pub q05: Option<f64>,
    /// Median.
    pub q50: Option<f64>,
    /// 95th percentile.
    pub q95: Option<f64>,
    /// Whether the quantiles come from a sketch (within 0.05%) rather than the values.
    pub approximate: bool,
}

impl Stat {
    /// Empty statistic.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one observation (non-finite values are counted and ignored).
    pub fn push(&mut self, v: f64) {
        self.sum.push(v);
        self.quantiles.push(v);
    }

    /// Adds another statistic's observations into this one.
    pub fn merge(&mut self, other: &Stat) {
        self.sum.merge(&other.sum);
        self.quantiles.merge(&other.quantiles);
    }

    /// Number of finite observations.
    pub fn count(&self) -> u64 {
        self.sum.count()
    }

    /// Number of non-finite observations ignored.
    pub fn non_finite(&self) -> u64 {
        self.sum.non_finite()
    }

    /// Mean of the finite observations (see [`ExactSum::mean`]).
    pub fn mean(&self) -> Option<f64> {
        self.sum.mean()
    }

    /// The `q`-quantile (see [`Quantiles::quantiles`]).
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let [v] = self.quantiles.quantiles([q]);
        v
    }

    /// Several quantiles at once (one sort of the values).
    pub fn quantiles<const N: usize>(&self, qs: [f64; N]) -> [Option<f64>; N] {
        self.quantiles.quantiles(qs)
    }

    /// Whether the quantiles are approximate (more values than are kept).
    pub fn is_approximate(&self) -> bool {
        self.quantiles.is_approximate()
    }

    /// The underlying exact sum.
    pub fn exact_sum(&self) -> &ExactSum {
        &self.sum
    }

    /// Mean, 5th percentile, median and 95th percentile.
    pub fn row(&self) -> StatRow {
        let [q05, q50, q95] = self.quantiles([0.05, 0.5, 0.95]);
        StatRow {
            mean: self.mean(),
            q05,
            q50,
            q95,
            approximate: self.is_approximate(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn stat_of(values: &[f64]) -> Stat {
        let mut s = Stat::new();
        values.iter().for_each(|&v| s.push(v));
        s
    }

    proptest! {
        #[test]
        fn stat_merge_equals_sequential_push_for_any_split(
            values in prop::collection::vec(-1e9..1e9_f64, 0..200),
            cut in any::<prop::sample::Index>(),
        ) {
            let whole = stat_of(&values);
            let (head, tail) = values.split_at(cut.index(values.len() + 1));
            // In replication order the state itself is that of one push each...
            let mut merged = stat_of(head);
            merged.merge(&stat_of(tail));
            prop_assert_eq!(&merged, &whole);
            // ...and in any order what is read out of it is, bit for bit.
            let mut backwards = stat_of(tail);
            backwards.merge(&stat_of(head));
            let bits = |r: StatRow| [r.mean, r.q05, r.q50, r.q95].map(|x| x.map(f64::to_bits));
            prop_assert_eq!(bits(merged.row()), bits(whole.row()));
            prop_assert_eq!(bits(backwards.row()), bits(whole.row()));
        }
    }

    #[test]
    fn stat_row_of_empty_is_all_none() {
        assert_eq!(Stat::new().row(), StatRow::default());
    }

    #[test]
    fn stat_row_summarises_values() {
        let values: Vec<f64> = (0..=100).map(f64::from).collect();
        let s = stat_of(&values);
        let row = s.row();
        assert_eq!(s.count(), 101);
        assert_eq!(row.mean, Some(50.0));
        assert_eq!(
            (row.q05, row.q50, row.q95),
            (Some(5.0), Some(50.0), Some(95.0))
        );
        assert!(!row.approximate);
    }

    #[test]
    fn stat_serde_round_trip_is_exact() {
        let s = stat_of(&[0.1, -2.5, 1e15, f64::NAN]);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Stat>(&json).unwrap(), s);
    }
}
