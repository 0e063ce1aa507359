//! [`Quantiles`]: exact quantiles from the values themselves up to [`EXACT_LIMIT`] values, a
//! 0.05% sketch beyond it; exactly mergeable either way.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::QuantileSketch;

/// Most values kept per figure for exact quantiles (8 KB of `f64`: a run keeps thousands of
/// figures, and kept a million each it grew by 340 MB per 10,000 replications); beyond it the figure's
/// quantiles come from a [`QuantileSketch`] within 0.05% relative error and are marked approximate.
pub const EXACT_LIMIT: usize = 1_024;

/// The finite values of one figure, or a sketch of them once there are more than [`EXACT_LIMIT`].
///
/// Values are kept in the order pushed; merging appends the other's values, so folding
/// replications in replication order (as runs and shards do) keeps them in replication order.
/// Quantiles read the sorted values, so they never depend on that order, and the switch to a sketch
/// depends only on how many values there are: the state, and every quantile, is the same whatever
/// the thread count or shard split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "QuantilesRepr", into = "QuantilesRepr")]
pub enum Quantiles {
    /// Every finite value, in the order pushed.
    Exact(Vec<f64>),
    /// More than [`EXACT_LIMIT`] values: a sketch of them.
    Approximate(QuantileSketch),
}

impl Default for Quantiles {
    fn default() -> Self {
        Quantiles::Exact(Vec::new())
    }
}

impl Quantiles {
    /// Adds one value; non-finite values are the caller's to count (they are skipped here).
    pub fn push(&mut self, v: f64) {
        if !v.is_finite() {
            return;
        }
        match self {
            Quantiles::Exact(values) if values.len() < EXACT_LIMIT => values.push(v),
            Quantiles::Exact(values) => {
                let mut sketch = sketch_of(values);
                sketch.push(v);
                *self = Quantiles::Approximate(sketch);
            }
            Quantiles::Approximate(sketch) => sketch.push(v),
        }
    }

    /// Appends another's values (or merges sketches once past the limit).
    pub fn merge(&mut self, other: &Quantiles) {
        match (&mut *self, other) {
            (Quantiles::Exact(a), Quantiles::Exact(b)) if a.len() + b.len() <= EXACT_LIMIT => {
                a.extend_from_slice(b)
            }
            (Quantiles::Exact(a), _) => {
                // The other's values go straight into this sketch: the same counts and extremes
                // as merging a sketch of them, without building one.
                let mut sketch = sketch_of(a);
                match other {
                    Quantiles::Exact(b) => sketch.extend(b),
                    Quantiles::Approximate(b) => sketch.merge(b),
                }
                *self = Quantiles::Approximate(sketch);
            }
            (Quantiles::Approximate(s), Quantiles::Exact(b)) => s.extend(b),
            (Quantiles::Approximate(s), Quantiles::Approximate(b)) => s.merge(b),
        }
    }

    /// Whether quantiles are approximate (more than [`EXACT_LIMIT`] values).
    pub fn is_approximate(&self) -> bool {
        matches!(self, Quantiles::Approximate(_))
    }

    /// The `q`-quantiles for each `q` of `qs`: with the `n` values sorted ascending, the value at
    /// 0-based position `floor(q * (n - 1))`, no interpolation (the sketch's rule too). `None`
    /// when there are no values or `q` is not in `[0, 1]`.
    pub fn quantiles<const N: usize>(&self, qs: [f64; N]) -> [Option<f64>; N] {
        match self {
            Quantiles::Exact(values) => {
                let mut sorted = values.clone();
                sorted.sort_unstable_by(f64::total_cmp);
                qs.map(|q| rank_value(&sorted, q))
            }
            Quantiles::Approximate(sketch) => qs.map(|q| sketch.quantile(q)),
        }
    }
}

/// The value at rank `floor(q * (n - 1))` of ascending `sorted`.
fn rank_value(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let last = sorted.len() - 1;
    // `as usize` saturates, and the `min` guards against any float rounding past the end.
    let rank = ((q * last as f64).floor() as usize).min(last);
    sorted.get(rank).copied()
}

/// A sketch of some values.
fn sketch_of(values: &[f64]) -> QuantileSketch {
    let mut s = QuantileSketch::new();
    s.extend(values);
    s
}

/// Serialized form: exact values as the base64 of their little-endian bytes (bit for bit, and
/// about half the size of their bit patterns as decimal integers: the form earlier builds wrote,
/// still read).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum QuantilesRepr {
    ExactBase64(String),
    Exact(Vec<u64>),
    Approximate(QuantileSketch),
}

impl From<Quantiles> for QuantilesRepr {
    fn from(q: Quantiles) -> Self {
        match q {
            Quantiles::Exact(v) => {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                QuantilesRepr::ExactBase64(STANDARD.encode(bytes))
            }
            Quantiles::Approximate(s) => QuantilesRepr::Approximate(s),
        }
    }
}

/// Exact values from the base64 of their little-endian bytes.
fn from_base64(text: &str) -> Result<Vec<f64>, String> {
    let bytes = STANDARD
        .decode(text)
        .map_err(|e| format!("exact values are not base64: {e}"))?;
    if bytes.len() % 8 != 0 {
        return Err(format!(
            "exact values take {} bytes, not a whole number of 8-byte values",
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|b| {
            let mut le = [0u8; 8];
            le.copy_from_slice(b);
            f64::from_le_bytes(le)
        })
        .collect())
}

impl TryFrom<QuantilesRepr> for Quantiles {
    type Error = String;

    fn try_from(r: QuantilesRepr) -> Result<Self, Self::Error> {
        let values = match r {
            QuantilesRepr::ExactBase64(text) => from_base64(&text)?,
            QuantilesRepr::Exact(bits) => bits.into_iter().map(f64::from_bits).collect(),
            QuantilesRepr::Approximate(s) if s.count() as usize <= EXACT_LIMIT => {
                return Err(format!(
                    "a sketch of {} values, which would have been kept exactly",
                    s.count()
                ));
            }
            QuantilesRepr::Approximate(s) => return Ok(Quantiles::Approximate(s)),
        };
        if values.len() > EXACT_LIMIT {
            return Err(format!(
                "{} exact values, more than the {EXACT_LIMIT} kept",
                values.len()
            ));
        }
        if values.iter().any(|v| !v.is_finite()) {
            return Err("an exact value is not a finite number".to_string());
        }
        Ok(Quantiles::Exact(values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn of(values: &[f64]) -> Quantiles {
        let mut q = Quantiles::default();
        values.iter().for_each(|&v| q.push(v));
        q
    }

    proptest! {
        #[test]
        fn exact_quantiles_are_the_sorted_values_at_their_rank(
            values in prop::collection::vec(-1e9..1e9_f64, 1..300),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let n = sorted.len() - 1;
            let want = [0.05, 0.5, 0.95].map(|q| Some(sorted[(q * n as f64).floor() as usize]));
            // Merging the two halves (in replication order) gives the state of one push each.
            let (head, tail) = values.split_at(cut.index(values.len() + 1));
            let mut merged = of(head);
            merged.merge(&of(tail));
            prop_assert_eq!(&merged, &of(&values));
            prop_assert!(!merged.is_approximate());
            prop_assert_eq!(merged.quantiles([0.05, 0.5, 0.95]), want);
        }
    }

    #[test]
    fn beyond_the_limit_quantiles_come_from_a_sketch_within_a_twentieth_of_a_percent() {
        let values: Vec<f64> = (0..=EXACT_LIMIT).map(|i| 1.0 + i as f64).collect();
        let whole = of(&values);
        assert!(whole.is_approximate());
        // Two shards, each under the limit, merge to the same sketch as one run.
        let (head, tail) = values.split_at(EXACT_LIMIT / 2);
        let mut merged = of(head);
        merged.merge(&of(tail));
        assert_eq!(merged, whole);
        let [median] = whole.quantiles([0.5]);
        let exact = values[EXACT_LIMIT / 2];
        let median = median.unwrap();
        assert!(
            (median - exact).abs() <= 0.0005 * exact,
            "{median} vs {exact}"
        );
        assert!(!of(&values[..EXACT_LIMIT]).is_approximate());
    }

    #[test]
    fn non_finite_values_are_skipped_and_empty_has_no_quantile() {
        assert_eq!(of(&[f64::NAN, 2.0, f64::INFINITY]), of(&[2.0]));
        assert_eq!(Quantiles::default().quantiles([0.5, 1.1]), [None, None]);
        assert_eq!(of(&[1.0]).quantiles([-0.1]), [None]);
    }

    /// Exact values are written as base64, about half the size of their bit patterns as decimal
    /// integers; the older form is still read, to the same values.
    #[test]
    fn exact_values_are_saved_as_base64_and_the_older_bit_patterns_still_read() {
        let values: Vec<f64> = (1..=1000).map(|i| 1e6 / f64::from(i) - 0.3).collect();
        let q = of(&values);
        let json = serde_json::to_string(&q).unwrap();
        assert!(json.starts_with(r#"{"exact_base64":""#), "{}", &json[..40]);
        let bits: Vec<u64> = values.iter().map(|v| v.to_bits()).collect();
        let old = serde_json::to_string(&serde_json::json!({ "exact": bits })).unwrap();
        assert!(
            json.len() * 10 < old.len() * 6,
            "{} against {}",
            json.len(),
            old.len()
        );
        assert_eq!(serde_json::from_str::<Quantiles>(&old).unwrap(), q);
        assert_eq!(serde_json::from_str::<Quantiles>(&json).unwrap(), q);
    }

    #[test]
    fn serde_round_trip_is_exact_and_refuses_impossible_states() {
        let q = of(&[0.1, -2.5, 1e15, 5e-324]);
        let json = serde_json::to_string(&q).unwrap();
        assert_eq!(serde_json::from_str::<Quantiles>(&json).unwrap(), q);
        let nan = format!(r#"{{"exact":[{}]}}"#, f64::NAN.to_bits());
        assert!(serde_json::from_str::<Quantiles>(&nan).is_err());
        let nan = STANDARD.encode(f64::NAN.to_le_bytes());
        let nan = format!(r#"{{"exact_base64":"{nan}"}}"#);
        assert!(serde_json::from_str::<Quantiles>(&nan).is_err());
        for bad in ["AAAA", "not base64!"] {
            let bad = format!(r#"{{"exact_base64":"{bad}"}}"#);
            assert!(serde_json::from_str::<Quantiles>(&bad).is_err(), "{bad}");
        }
        let many = STANDARD.encode(vec![0u8; 8 * (EXACT_LIMIT + 1)]);
        let many = format!(r#"{{"exact_base64":"{many}"}}"#);
        assert!(serde_json::from_str::<Quantiles>(&many).is_err());
        let small_sketch = r#"{"approximate":{"positive":{"3":2},"negative":{},"zero":0,"non_finite":0,"min":"1.0","max":"1.003"}}"#;
        assert!(serde_json::from_str::<Quantiles>(small_sketch).is_err());
    }
}
