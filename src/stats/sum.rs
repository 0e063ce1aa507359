//! [`ExactSum`]: an order-independent sum of `f64` values in fixed point.

use serde::{Deserialize, Serialize};

/// Fixed-point scale: values are stored in units of 2^-32.
const SCALE: f64 = 4_294_967_296.0;
/// Finite values are clamped to ±2^64 (~1.8e19), so one value is at most 2^96 in fixed point and
/// 2^31 such extreme values still fit an `i128` total.
const MAX_ABS: f64 = 18_446_744_073_709_551_616.0;

/// Exactly associative sum of `f64` values.
///
/// Each finite value is rounded to a multiple of 2^-32 and added to an `i128`, so pushes and
/// merges commute and associate bit-for-bit. Integer addition wraps, which keeps merging a group
/// operation (any grouping gives the same bits) and the total exact whenever the true sum lies
/// within ±2^95 (~4e28). Values beyond ±2^64 are clamped; non-finite values are counted in
/// `non_finite` and otherwise skipped.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct ExactSum {
    /// Sum of the pushed values in units of 2^-32 (a decimal string in serialized form, since
    /// JSON numbers cannot carry an `i128` portably).
    #[serde(with = "i128_string")]
    total: i128,
    /// Number of finite values pushed.
    count: u64,
    /// Number of NaN or infinite values skipped.
    non_finite: u64,
}

impl ExactSum {
    /// Empty sum.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one value (see the type docs for rounding, clamping and non-finite handling).
    pub fn push(&mut self, v: f64) {
        if !v.is_finite() {
            self.non_finite = self.non_finite.saturating_add(1);
            return;
        }
        self.total = self.total.wrapping_add(fixed_point(v));
        self.count = self.count.saturating_add(1);
    }

    /// Adds another sum's values into this one.
    pub fn merge(&mut self, other: &ExactSum) {
        self.total = self.total.wrapping_add(other.total);
        self.count = self.count.saturating_add(other.count);
        self.non_finite = self.non_finite.saturating_add(other.non_finite);
    }

    /// Number of finite values pushed.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Number of non-finite values skipped.
    pub fn non_finite(&self) -> u64 {
        self.non_finite
    }

    /// Raw fixed-point total, in units of 2^-32.
    pub fn fixed_total(&self) -> i128 {
        self.total
    }

    /// The sum, rounded once to the nearest `f64` (0 when empty).
    pub fn sum(&self) -> f64 {
        // int-to-float casts round to nearest; dividing by 2^32 is exact.
        self.total as f64 / SCALE
    }

    /// The mean of the finite values, or `None` when there are none.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum() / self.count as f64)
    }
}

/// A finite value in units of 2^-32, rounded half away from zero (values beyond ±2^64 clamped).
///
/// Scaling by a power of two is exact, and so is `as i128` of an integral value of this size, so
/// the only rounding is the explicit `round()`. Below 2^62 in fixed point (every figure but sums
/// of more than about a billion pounds) the same rounding is done in `i64` arithmetic, without
/// the two library calls (`round` and the conversion to `i128`) that baseline x86-64 makes for it.
#[inline]
fn fixed_point(v: f64) -> i128 {
    let x = v * SCALE;
    if x.abs() < SMALL {
        // `as i64` truncates toward zero exactly; the fraction left is exact too (an `f64`
        // minus its integer part), so comparing it with one half rounds half away from zero.
        let whole = x as i64;
        let frac = x - whole as f64;
        let step = i64::from(frac >= 0.5) - i64::from(frac <= -0.5);
        i128::from(whole + step)
    } else {
        (v.clamp(-MAX_ABS, MAX_ABS) * SCALE).round() as i128
    }
}

/// Fixed-point magnitudes below this are rounded in `i64` arithmetic (2^62: room for the step).
const SMALL: f64 = 4_611_686_018_427_387_904.0;

/// Serde adapter writing an `i128` as a decimal string.
mod i128_string {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(v: &i128, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i128, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map_err(|e| D::Error::custom(format!("invalid i128 total {text:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sum_of(values: &[f64]) -> ExactSum {
        let mut s = ExactSum::new();
        values.iter().for_each(|&v| s.push(v));
        s
    }

    /// Finite values over many magnitudes, plus specials.
    fn any_value() -> impl Strategy<Value = f64> {
        prop_oneof![
            -1e3..1e3_f64,
            -1e12..1e12_f64,
            -1e-6..1e-6_f64,
            proptest::num::f64::ANY,
        ]
    }

    proptest! {
        #[test]
        fn exact_sum_merge_equals_sequential_push_for_any_split(
            values in prop::collection::vec(any_value(), 0..200),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..5),
        ) {
            let whole = sum_of(&values);
            let mut bounds: Vec<usize> = cuts.iter().map(|c| c.index(values.len() + 1)).collect();
            bounds.extend([0, values.len()]);
            bounds.sort_unstable();
            let parts: Vec<ExactSum> = bounds.windows(2).map(|w| sum_of(&values[w[0]..w[1]])).collect();
            // Merge the parts in reverse order to exercise a different grouping too.
            let mut merged = ExactSum::new();
            parts.iter().rev().for_each(|p| merged.merge(p));
            prop_assert_eq!(&merged, &whole);
            prop_assert_eq!(merged.sum().to_bits(), whole.sum().to_bits());
            prop_assert_eq!(merged.mean().map(f64::to_bits), whole.mean().map(f64::to_bits));
        }

        #[test]
        fn exact_sum_is_independent_of_push_order(values in prop::collection::vec(any_value(), 0..200)) {
            let reversed: Vec<f64> = values.iter().rev().copied().collect();
            prop_assert_eq!(sum_of(&values), sum_of(&reversed));
        }

        #[test]
        fn exact_sum_serde_round_trip_is_exact(values in prop::collection::vec(any_value(), 0..50)) {
            let s = sum_of(&values);
            let json = serde_json::to_string(&s).unwrap();
            prop_assert_eq!(serde_json::from_str::<ExactSum>(&json).unwrap(), s);
        }
    }

    #[test]
    fn the_fixed_point_of_a_value_is_the_rounded_scaled_value_on_both_paths() {
        let slow = |v: f64| (v.clamp(-MAX_ABS, MAX_ABS) * SCALE).round() as i128;
        // The magnitudes one ulp above and below a positive value, either sign.
        let around = |x: f64| {
            let (up, down) = (
                f64::from_bits(x.to_bits() + 1),
                f64::from_bits(x.to_bits() - 1),
            );
            [x, -x, up, -up, down, -down]
        };
        let mut values = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            f64::MIN_POSITIVE,
            5e-324,
            MAX_ABS,
            -MAX_ABS,
        ];
        // Exact halves and their neighbours in fixed point, either sign, small and near 2^62.
        for whole in [
            1.0,
            7.0,
            12345.0,
            2f64.powi(52),
            2f64.powi(61),
            SMALL - 1024.0,
        ] {
            for half in [0.5, 0.25, 0.75, 0.0] {
                values.extend(around((whole + half) / SCALE));
            }
        }
        for half in [0.5, 0.25, 0.75, 1.5, 2.5] {
            values.extend(around(half / SCALE));
        }
        // Either side of the switch to the library path, and far beyond it.
        for x in [SMALL, 2.0 * SMALL, 1e25, 1e300] {
            values.extend(around(x / SCALE));
        }
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let v = f64::from_bits(state);
            if v.is_finite() {
                values.extend([v, v * 1e-300, v.fract()]);
            }
        }
        for v in values {
            assert_eq!(fixed_point(v), slow(v), "{v:e}");
        }
    }

    #[test]
    fn exact_sum_rounds_each_value_to_two_to_the_minus_32() {
        let s = sum_of(&[0.1; 10]);
        assert!((s.sum() - 1.0).abs() <= 10.0 / SCALE);
        assert_eq!(sum_of(&[0.5, 0.25, -1.75]).sum(), -1.0);
        assert_eq!(sum_of(&[1e18, 1.0, -1e18]).sum(), 1.0);
    }

    #[test]
    fn exact_sum_counts_and_skips_non_finite() {
        let s = sum_of(&[1.0, f64::NAN, f64::INFINITY, 2.0, f64::NEG_INFINITY]);
        assert_eq!((s.count(), s.non_finite()), (2, 3));
        assert_eq!(s.sum(), 3.0);
        assert_eq!(s.mean(), Some(1.5));
    }

    #[test]
    fn exact_sum_clamps_huge_values() {
        let s = sum_of(&[1e300, -1e300, f64::MAX]);
        assert_eq!(s.sum(), MAX_ABS);
        assert_eq!(s.count(), 3);
    }

    #[test]
    fn exact_sum_mean_of_empty_is_none() {
        assert_eq!(ExactSum::new().mean(), None);
        assert_eq!(ExactSum::new().sum(), 0.0);
    }

    #[test]
    fn exact_sum_serializes_total_as_string() {
        let s = sum_of(&[-1e18; 3]);
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"total\":\"-"), "{json}");
        assert_eq!(serde_json::from_str::<ExactSum>(&json).unwrap(), s);
        let bad = r#"{"total":"12x","count":1,"non_finite":0}"#;
        assert!(serde_json::from_str::<ExactSum>(bad).is_err());
    }
}
