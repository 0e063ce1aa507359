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

/// Serialized form: no redundant `count`, each store as runs of buckets, and `min`/`max` as
/// strings because serde_json's default float parsing is not guaranteed to round-trip every `f64`
/// bit-for-bit.
#[derive(Serialize, Deserialize)]
struct SketchRepr {
    positive: StoreRepr,
    negative: StoreRepr,
    zero: u64,
    non_finite: u64,
    min: Option<String>,
    max: Option<String>,
}

/// A store as written: runs `[first index, [counts]]` of consecutive buckets, a short gap of
/// empty buckets inside a run written as zeros (about 40% of the size of a map from index to
/// count, in a 10,000-replication England 2012 state), or, as earlier builds wrote it, that map.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum StoreRepr {
    Runs(Vec<(i32, Vec<u64>)>),
    // Keys as text: an untagged enum reads buffered JSON, whose keys serde parses as numbers
    // only when read straight from the text.
    Map(BTreeMap<String, u64>),
}

/// The most empty buckets a run carries as zeros rather than starting another run (of 0, 2, 4, 8
/// and 16, 4 wrote England 2012's 10,000-replication sketches in the fewest bytes).
const RUN_GAP: i64 = 4;

impl From<BTreeMap<i32, u64>> for StoreRepr {
    fn from(store: BTreeMap<i32, u64>) -> Self {
        let mut runs: Vec<(i32, Vec<u64>)> = Vec::new();
        for (i, n) in store {
            if let Some((first, counts)) = runs.last_mut() {
                // Empty buckets between the run's end and this one.
                let gap = i64::from(i) - i64::from(*first) - counts.len() as i64;
                if gap <= RUN_GAP {
                    counts.extend(std::iter::repeat_n(0, gap as usize));
                    counts.push(n);
                    continue;
                }
            }
            runs.push((i, vec![n]));
        }
        StoreRepr::Runs(runs)
    }
}

impl TryFrom<StoreRepr> for BTreeMap<i32, u64> {
    type Error = String;

    fn try_from(r: StoreRepr) -> Result<Self, Self::Error> {
        let runs = match r {
            StoreRepr::Map(map) => {
                let index = |k: String| {
                    k.parse::<i32>()
                        .map_err(|_| format!("sketch bucket {k:?} is not a bucket index"))
                };
                let len = map.len();
                let store: BTreeMap<i32, u64> = map
                    .into_iter()
                    .map(|(k, n)| Ok((index(k)?, n)))
                    .collect::<Result<_, String>>()?;
                // Two keys for one index ("3" and "03") would lose a count.
                if store.len() != len {
                    return Err("sketch buckets name an index twice".to_string());
                }
                return Ok(store);
            }
            StoreRepr::Runs(runs) => runs,
        };
        let mut store = BTreeMap::new();
        // The index after the last run's end: each run must start at or beyond it.
        let mut next = i64::MIN;
        for (first, counts) in runs {
            let (first, end) = (i64::from(first), i64::from(first) + counts.len() as i64);
            if counts.is_empty() || first < next || end - 1 > i64::from(i32::MAX) {
                return Err(format!(
                    "sketch bucket run at {first} is empty, overlaps the run before or ends \
                     past the last bucket"
                ));
            }
            next = end;
            let buckets = (first..end).zip(counts).filter(|&(_, n)| n > 0);
            store.extend(buckets.map(|(i, n)| (i as i32, n)));
        }
        Ok(store)
    }
}

impl From<QuantileSketch> for SketchRepr {
    fn from(s: QuantileSketch) -> Self {
        // `{:?}` prints the shortest decimal that parses back to the same bits.
        let text = |v: Option<f64>| v.map(|x| format!("{x:?}"));
        SketchRepr {
            positive: s.positive.into(),
            negative: s.negative.into(),
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
        let positive = BTreeMap::try_from(r.positive)?;
        let negative = BTreeMap::try_from(r.negative)?;
        let mut count = r.zero;
        for (&i, &n) in positive.iter().chain(&negative) {
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
            positive,
            negative,
            zero: r.zero,
            count,
            non_finite: r.non_finite,
            min,
            max,
        })
    }
}

#[cfg(test)]
mod tests;
