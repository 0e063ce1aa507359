//! [`QuantileSketch`]: a DDSketch-style mergeable quantile sketch with integer counts.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::detmath;

/// Relative accuracy of the quantiles returned (0.05%, finer than the differences compared).
pub const ALPHA: f64 = 0.0005;
/// Ratio between consecutive bucket bounds.
const GAMMA: f64 = (1.0 + ALPHA) / (1.0 - ALPHA);
/// `ln(GAMMA)` (checked against `f64::ln` in a test).
const LN_GAMMA: f64 = 0.001_000_000_083_333_275;
/// Values with a smaller magnitude are counted as zero.
const ZERO_THRESHOLD: f64 = 1e-9;

/// Mergeable quantile sketch with relative accuracy 0.05%.
///
/// A value `v` with `|v| >= 1e-9` goes to bucket `i = ceil(ln|v| / ln gamma)`, covering
/// `(gamma^(i-1), gamma^i]` with `gamma = 1.0005 / 0.9995`, in the positive or negative store by
/// sign; smaller magnitudes are counted as zero. Counts are integers in ordered maps and `min` and
/// `max` are exact, so merging is exact and order-independent, and [`quantile`](Self::quantile) is
/// a pure function of that state. Non-finite values are counted in `non_finite` and ignored.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(try_from = "SketchRepr", into = "SketchRepr")]
pub struct QuantileSketch {
    /// Bucket index to count, for positive values.
    positive: BTreeMap<i32, u64>,
    /// Bucket index (of `|v|`) to count, for negative values.
    negative: BTreeMap<i32, u64>,
    /// Number of values with `|v| < 1e-9`.
    zero: u64,
    /// Number of finite values pushed (sum of all the counts above).
    count: u64,
    /// Number of non-finite values ignored.
    non_finite: u64,
    /// Exact extremes; `None` exactly when `count == 0`.
    min: Option<f64>,
    /// See `min`.
    max: Option<f64>,
}

impl QuantileSketch {
    /// Empty sketch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one value.
    pub fn push(&mut self, v: f64) {
        if !v.is_finite() {
            self.non_finite = self.non_finite.saturating_add(1);
            return;
        }
        let magnitude = v.abs();
        if magnitude < ZERO_THRESHOLD {
            self.zero = self.zero.saturating_add(1);
        } else {
            let store = if v > 0.0 {
                &mut self.positive
            } else {
                &mut self.negative
            };
            add_count(store, bucket_index(magnitude), 1);
        }
        self.count = self.count.saturating_add(1);
        self.update_extremes(v, v);
    }

    /// Adds many values: the state of pushing each in turn. Once they are many beside the buckets
    /// already held, the map is built again in one pass over it and the values' sorted buckets
    /// (one count per bucket, not one search of the map per value).
    pub fn extend(&mut self, values: &[f64]) {
        if values.len() * 4 < self.positive.len() + self.negative.len() {
            values.iter().for_each(|&v| self.push(v));
            return;
        }
        let (mut positive, mut negative) = (Vec::with_capacity(values.len()), Vec::new());
        for &v in values {
            if !v.is_finite() {
                self.non_finite = self.non_finite.saturating_add(1);
                continue;
            }
            let magnitude = v.abs();
            if magnitude < ZERO_THRESHOLD {
                self.zero = self.zero.saturating_add(1);
            } else if v > 0.0 {
                positive.push(bucket_index(magnitude));
            } else {
                negative.push(bucket_index(magnitude));
            }
            self.count = self.count.saturating_add(1);
            self.update_extremes(v, v);
        }
        add_indices(&mut self.positive, positive);
        add_indices(&mut self.negative, negative);
    }

    /// Adds another sketch's values into this one.
    pub fn merge(&mut self, other: &QuantileSketch) {
        for (&i, &n) in &other.positive {
            add_count(&mut self.positive, i, n);
        }
        for (&i, &n) in &other.negative {
            add_count(&mut self.negative, i, n);
        }
        self.zero = self.zero.saturating_add(other.zero);
        self.count = self.count.saturating_add(other.count);
        self.non_finite = self.non_finite.saturating_add(other.non_finite);
        if let (Some(lo), Some(hi)) = (other.min, other.max) {
            self.update_extremes(lo, hi);
        }
    }

    /// Number of finite values pushed.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Number of non-finite values ignored.
    pub fn non_finite(&self) -> u64 {
        self.non_finite
    }

    /// Smallest value pushed, or `None` when empty.
    pub fn min(&self) -> Option<f64> {
        self.min
    }

    /// Largest value pushed, or `None` when empty.
    pub fn max(&self) -> Option<f64> {
        self.max
    }

    /// The `q`-quantile, within 0.05% relative error (absolute 1e-9 near zero).
    ///
    /// With the `n` values sorted ascending, this is the value at 0-based position
    /// `floor(q * (n - 1))` (no interpolation), approximated by its bucket's representative
    /// `2 gamma^i / (gamma + 1)` (sign restored) and clamped into `[min, max]`. `q = 0` and
    /// `q = 1` give the exact `min` and `max`. `None` when the sketch is empty or `q` is not in
    /// `[0, 1]`.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let (min, max) = (self.min?, self.max?);
        if !(0.0..=1.0).contains(&q) {
            return None;
        }
        if q == 0.0 {
            return Some(min);
        }
        if q == 1.0 {
            return Some(max);
        }
        let last = self.count.saturating_sub(1);
        // `as u64` saturates, and the `min` guards against any float rounding past the end.
        let rank = ((q * last as f64).floor() as u64).min(last);
        let value = self.value_at_rank(rank).unwrap_or(max);
        // Plain comparisons rather than f64::clamp/max/min: deterministic on signed zeros, and
        // no panic even on a hand-edited state with min > max.
        Some(if value < min {
            min
        } else if value > max {
            max
        } else {
            value
        })
    }

    /// Representative value of the item at 0-based `rank` in ascending order.
    fn value_at_rank(&self, rank: u64) -> Option<f64> {
        let mut seen = 0u64;
        // Ascending order: negatives from largest |v| down, then zeros, then positives.
        for (&i, &n) in self.negative.iter().rev() {
            seen = seen.saturating_add(n);
            if rank < seen {
                return Some(-representative(i));
            }
        }
        seen = seen.saturating_add(self.zero);
        if rank < seen {
            return Some(0.0);
        }
        for (&i, &n) in &self.positive {
            seen = seen.saturating_add(n);
            if rank < seen {
                return Some(representative(i));
            }
        }
        None
    }

    /// Widens `[min, max]` to cover `[lo, hi]`.
    fn update_extremes(&mut self, lo: f64, hi: f64) {
        // total_cmp orders -0.0 below +0.0, so the result never depends on merge order.
        self.min = Some(match self.min {
            Some(m) if m.total_cmp(&lo) != Ordering::Greater => m,
            _ => lo,
        });
        self.max = Some(match self.max {
            Some(m) if m.total_cmp(&hi) != Ordering::Less => m,
            _ => hi,
        });
    }
}

/// Bucket of a magnitude `a >= 1e-9`: [`exact_bucket_index`], found first from the platform's
/// `ln` (one or two dozen cycles, against about a hundred for the portable series).
///
/// The platform's `ln` is within an ulp or two of the true logarithm, `detmath::ln` within a few,
/// so their quotients by `ln gamma` differ by less than 1e-9 (a few ulp of at most 710, divided by
/// 0.001). When the platform's quotient is further than [`BUCKET_MARGIN`] from every integer, the
/// portable quotient lies strictly between the same two integers and has the same ceiling; only
/// nearer than that (a few values in a million) is the portable one computed. So the index is
/// `exact_bucket_index`'s, bit for bit, on every platform.
fn bucket_index(a: f64) -> i32 {
    let x = a.ln() * INV_LN_GAMMA;
    // `ceil` by truncation (`x` is within about ±71,000): no library call on baseline x86-64.
    let whole = x as i32;
    let up = whole + i32::from(x > f64::from(whole));
    let gap = f64::from(up) - x;
    if gap > BUCKET_MARGIN && gap < 1.0 - BUCKET_MARGIN {
        up
    } else {
        exact_bucket_index(a)
    }
}

/// `1 / ln(gamma)`: the platform quotient needs only to be within [`BUCKET_MARGIN`].
const INV_LN_GAMMA: f64 = 1.0 / LN_GAMMA;
/// How near an integer the platform's quotient must be for the portable one to be computed:
/// a thousand times the largest difference between the two.
const BUCKET_MARGIN: f64 = 1e-6;

/// Bucket of a magnitude `a >= 1e-9`, from the portable `ln` alone: the definition.
fn exact_bucket_index(a: f64) -> i32 {
    // Finite magnitudes give indices within about ±71,000, far inside i32.
    (detmath::ln(a) / LN_GAMMA).ceil() as i32
}

/// Value within `ALPHA` relative error of everything in bucket `i`.
fn representative(i: i32) -> f64 {
    2.0 * detmath::powi(GAMMA, i) / (GAMMA + 1.0)
}

/// Adds `n` to bucket `i`.
fn add_count(store: &mut BTreeMap<i32, u64>, i: i32, n: u64) {
    let slot = store.entry(i).or_insert(0);
    *slot = slot.saturating_add(n);
}

/// Adds one to the bucket of every index, building the map again from it and the sorted indices.
fn add_indices(store: &mut BTreeMap<i32, u64>, mut indices: Vec<i32>) {
    if indices.is_empty() {
        return;
    }
    indices.sort_unstable();
    let mut runs = indices
        .chunk_by(|a, b| a == b)
        .map(|run| (run[0], run.len() as u64))
        .peekable();
    let mut held = std::mem::take(store).into_iter().peekable();
    // Both in ascending order of bucket: a merge of the two, adding the counts of a bucket in both.
    let merged = std::iter::from_fn(|| match (held.peek(), runs.peek()) {
        (Some(&(i, n)), Some(&(j, k))) => match i.cmp(&j) {
            Ordering::Less => held.next(),
            Ordering::Greater => runs.next(),
            Ordering::Equal => {
                held.next();
                runs.next();
                Some((i, n.saturating_add(k)))
            }
        },
        (Some(_), None) => held.next(),
        (None, _) => runs.next(),
    });
    *store = merged.collect();
}

/// Serialized form: no redundant `count`, and `min`/`max` as strings because serde_json's
/// default float parsing is not guaranteed to round-trip every `f64` bit-for-bit.
#[derive(Serialize, Deserialize)]
struct SketchRepr {
    positive: BTreeMap<i32, u64>,
    negative: BTreeMap<i32, u64>,
    zero: u64,
    non_finite: u64,
    min: Option<String>,
    max: Option<String>,
}

impl From<QuantileSketch> for SketchRepr {
    fn from(s: QuantileSketch) -> Self {
        // `{:?}` prints the shortest decimal that parses back to the same bits.
        let text = |v: Option<f64>| v.map(|x| format!("{x:?}"));
        SketchRepr {
            positive: s.positive,
            negative: s.negative,
            zero: s.zero,
            non_finite: s.non_finite,
            min: text(s.min),
            max: text(s.max),
        }
    }
}

impl TryFrom<SketchRepr> for QuantileSketch {
    type Error = String;

    fn try_from(r: SketchRepr) -> Result<Self, Self::Error> {
        let mut count = r.zero;
        for (&i, &n) in r.positive.iter().chain(&r.negative) {
            if n == 0 {
                return Err(format!("sketch bucket {i} has a zero count"));
            }
            count = count
                .checked_add(n)
                .ok_or_else(|| "sketch counts overflow u64".to_string())?;
        }
        let parse = |field: &str, text: Option<String>| -> Result<Option<f64>, String> {
            text.map(|t| match t.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => Err(format!("sketch {field} {t:?} is not a finite number")),
            })
            .transpose()
        };
        let (min, max) = (parse("min", r.min)?, parse("max", r.max)?);
        match (min, max) {
            (None, None) if count == 0 => {}
            (Some(lo), Some(hi)) if count > 0 && lo.total_cmp(&hi) != Ordering::Greater => {}
            _ => return Err("sketch min/max do not match its counts".to_string()),
        }
        Ok(QuantileSketch {
            positive: r.positive,
            negative: r.negative,
            zero: r.zero,
            count,
            non_finite: r.non_finite,
            min,
            max,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sketch_of(values: &[f64]) -> QuantileSketch {
        let mut s = QuantileSketch::new();
        values.iter().for_each(|&v| s.push(v));
        s
    }

    /// The value at `floor(q * (n - 1))` of the sorted values: the rank rule the sketch uses.
    fn exact_quantile(values: &[f64], q: f64) -> f64 {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted[(q * (sorted.len() - 1) as f64).floor() as usize]
    }

    fn assert_close(est: f64, exact: f64) {
        // Tiny slack for the few-ulp error of the deterministic ln/pow near bucket bounds.
        let tolerance = (ALPHA * (1.0 + 1e-9) * exact.abs()).max(ZERO_THRESHOLD);
        assert!(
            (est - exact).abs() <= tolerance,
            "estimate {est} vs exact {exact}"
        );
    }

    fn any_value() -> impl Strategy<Value = f64> {
        prop_oneof![
            -1e6..1e6_f64,
            -2.0..0.3_f64,
            -1e-8..1e-8_f64,
            (-300.0..300.0_f64, any::<bool>()).prop_map(|(e, neg)| if neg {
                -(10f64.powf(e))
            } else {
                10f64.powf(e)
            }),
        ]
    }

    #[test]
    fn ln_gamma_constant_matches_gamma() {
        assert!((LN_GAMMA - GAMMA.ln()).abs() <= 2.0 * f64::EPSILON * LN_GAMMA);
        assert!((LN_GAMMA - detmath::ln(GAMMA)).abs() <= 2.0 * f64::EPSILON * LN_GAMMA);
    }

    #[test]
    fn bucket_bounds_bracket_the_value() {
        for v in [
            1e-9,
            0.001,
            0.5,
            1.0,
            1.5,
            7.0,
            1234.5,
            1e12,
            1e300,
            f64::MAX,
        ] {
            let i = bucket_index(v);
            let (lo, hi) = (GAMMA.powi(i - 1), GAMMA.powi(i));
            assert!(
                lo * (1.0 - 1e-12) < v && v <= hi * (1.0 + 1e-12),
                "{v} in bucket {i}"
            );
        }
    }

    #[test]
    fn the_fast_bucket_index_is_the_portable_one_everywhere_and_at_every_bound() {
        // Random magnitudes over the whole range the sketch buckets (1e-9 to f64::MAX)...
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..1_000_000 {
            let bits = next();
            let v = 1e-9
                * 2f64.powi((bits % 1054) as i32)
                * (1.0 + (bits >> 11) as f64 / 2f64.powi(53));
            if v.is_finite() {
                assert_eq!(bucket_index(v), exact_bucket_index(v), "{v:e}");
            }
        }
        // ...and, from 1e-9 to 1e12, the values either side of the exact place where the portable
        // index steps from one bucket to the next (found by bisection on the bits), where the fast
        // quotient is near an integer and the portable one must decide.
        for i in (exact_bucket_index(1e-9) - 1)..=exact_bucket_index(1e12) {
            let bound = detmath::powi(GAMMA, i);
            let (mut lo, mut hi) = ((bound * 0.999_999).to_bits(), (bound * 1.000_001).to_bits());
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if exact_bucket_index(f64::from_bits(mid)) <= i {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            for bits in lo - 3..=lo + 4 {
                let v = f64::from_bits(bits);
                assert_eq!(bucket_index(v), exact_bucket_index(v), "{v:e}, bound {i}");
            }
        }
    }

    proptest! {
        #[test]
        fn extending_a_sketch_is_pushing_each_value_in_turn(
            held in prop::collection::vec(any_value(), 0..300),
            values in prop::collection::vec(prop_oneof![
                any_value(),
                Just(0.0),
                Just(-0.0),
                Just(f64::NAN),
                Just(f64::INFINITY),
                (1..20_i32).prop_map(f64::from),
            ], 0..300),
        ) {
            let mut pushed = sketch_of(&held);
            values.iter().for_each(|&v| pushed.push(v));
            let mut extended = sketch_of(&held);
            extended.extend(&values);
            prop_assert_eq!(&extended, &pushed);
            prop_assert_eq!(extended.min().map(f64::to_bits), pushed.min().map(f64::to_bits));
            prop_assert_eq!(extended.max().map(f64::to_bits), pushed.max().map(f64::to_bits));
        }

        #[test]
        fn sketch_quantile_within_relative_accuracy(
            values in prop::collection::vec(any_value(), 1..300),
            qs in prop::collection::vec(0.0..=1.0_f64, 1..20),
        ) {
            let s = sketch_of(&values);
            for q in qs.into_iter().chain([0.0, 0.05, 0.5, 0.95, 1.0]) {
                assert_close(s.quantile(q).unwrap(), exact_quantile(&values, q));
            }
        }

        #[test]
        fn sketch_merge_is_order_independent(
            values in prop::collection::vec(any_value(), 0..300),
            a in any::<prop::sample::Index>(),
            b in any::<prop::sample::Index>(),
        ) {
            let whole = sketch_of(&values);
            let (mut i, mut j) = (a.index(values.len() + 1), b.index(values.len() + 1));
            if i > j {
                std::mem::swap(&mut i, &mut j);
            }
            let parts = [&values[..i], &values[i..j], &values[j..]].map(sketch_of);
            // (c + b) + a, and a + (b + c): different orders and groupings.
            let mut backwards = parts[2].clone();
            backwards.merge(&parts[1]);
            backwards.merge(&parts[0]);
            let mut tail = parts[1].clone();
            tail.merge(&parts[2]);
            let mut grouped = parts[0].clone();
            grouped.merge(&tail);
            for merged in [&backwards, &grouped] {
                prop_assert_eq!(merged, &whole);
                for q in [0.0, 0.05, 0.5, 0.95, 1.0] {
                    prop_assert_eq!(
                        merged.quantile(q).map(f64::to_bits),
                        whole.quantile(q).map(f64::to_bits)
                    );
                }
            }
        }

        #[test]
        fn sketch_serde_round_trip_is_exact(
            values in prop::collection::vec(prop_oneof![any_value(), proptest::num::f64::ANY], 0..100)
        ) {
            let s = sketch_of(&values);
            let json = serde_json::to_string(&s).unwrap();
            let back: QuantileSketch = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back.min().map(f64::to_bits), s.min().map(f64::to_bits));
            prop_assert_eq!(back.max().map(f64::to_bits), s.max().map(f64::to_bits));
            prop_assert_eq!(back, s);
        }
    }

    #[test]
    fn sketch_median_of_1_to_10001_within_a_twentieth_of_a_percent() {
        let values: Vec<f64> = (1..=10_001).map(f64::from).collect();
        let median = sketch_of(&values).quantile(0.5).unwrap();
        assert!(
            (median - 5001.0).abs() <= 0.0005 * 5001.0,
            "median {median}"
        );
    }

    #[test]
    fn sketch_handles_negative_and_mixed_sign_values() {
        // Margins between -2 and 0.3, including exact zeros.
        let values: Vec<f64> = (0..=2300).map(|k| -2.0 + f64::from(k) * 0.001).collect();
        let s = sketch_of(&values);
        assert_eq!((s.min(), s.max()), (Some(-2.0), Some(values[2300])));
        for q in [0.01, 0.05, 0.25, 0.5, 0.75, 0.87, 0.95, 0.99] {
            assert_close(s.quantile(q).unwrap(), exact_quantile(&values, q));
        }
        let negatives = sketch_of(&[-1.0, -10.0, -100.0]);
        assert_close(negatives.quantile(0.5).unwrap(), -10.0);
        assert_eq!(negatives.quantile(0.0), Some(-100.0));
    }

    #[test]
    fn sketch_extreme_quantiles_are_exact_min_and_max() {
        let s = sketch_of(&[3.3, -0.7, 1e-12, 42.0]);
        assert_eq!(s.quantile(0.0), Some(-0.7));
        assert_eq!(s.quantile(1.0), Some(42.0));
        // Representatives are clamped into [min, max].
        let one = sketch_of(&[1.234]);
        assert_eq!(one.quantile(0.5), Some(1.234));
    }

    #[test]
    fn sketch_quantile_is_none_when_empty_or_q_invalid() {
        assert_eq!(QuantileSketch::new().quantile(0.5), None);
        let s = sketch_of(&[1.0]);
        for q in [-0.1, 1.1, f64::NAN] {
            assert_eq!(s.quantile(q), None);
        }
    }

    #[test]
    fn sketch_ignores_non_finite() {
        let s = sketch_of(&[f64::NAN, 2.0, f64::INFINITY]);
        assert_eq!((s.count(), s.non_finite()), (1, 2));
        assert_eq!(s.quantile(0.5), Some(2.0));
    }

    #[test]
    fn sketch_min_max_ignore_merge_order_of_signed_zeros() {
        let (pos, neg) = (sketch_of(&[0.0]), sketch_of(&[-0.0]));
        let mut a = pos.clone();
        a.merge(&neg);
        let mut b = neg.clone();
        b.merge(&pos);
        assert_eq!(a.min().map(f64::to_bits), b.min().map(f64::to_bits));
        assert_eq!(a.max().map(f64::to_bits), b.max().map(f64::to_bits));
    }

    #[test]
    fn sketch_deserialize_rejects_inconsistent_state() {
        let good = r#"{"positive":{"3":2},"negative":{},"zero":0,"non_finite":0,"min":"1.0","max":"1.003"}"#;
        assert_eq!(
            serde_json::from_str::<QuantileSketch>(good)
                .unwrap()
                .count(),
            2
        );
        for bad in [
            r#"{"positive":{"3":2},"negative":{},"zero":0,"non_finite":0,"min":null,"max":null}"#,
            r#"{"positive":{},"negative":{},"zero":0,"non_finite":0,"min":"1.0","max":"1.0"}"#,
            r#"{"positive":{"3":0},"negative":{},"zero":1,"non_finite":0,"min":"0.0","max":"0.0"}"#,
            r#"{"positive":{"3":1},"negative":{},"zero":0,"non_finite":0,"min":"2.0","max":"1.0"}"#,
            r#"{"positive":{"3":1},"negative":{},"zero":0,"non_finite":0,"min":"NaN","max":"1.0"}"#,
        ] {
            assert!(
                serde_json::from_str::<QuantileSketch>(bad).is_err(),
                "{bad}"
            );
        }
    }
}
