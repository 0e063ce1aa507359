//! Tests of the quantile sketch: accuracy, exact merging, the fast bucket index, serde.

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
        let v =
            1e-9 * 2f64.powi((bits % 1054) as i32) * (1.0 + (bits >> 11) as f64 / 2f64.powi(53));
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
    let good =
        r#"{"positive":{"3":2},"negative":{},"zero":0,"non_finite":0,"min":"1.0","max":"1.003"}"#;
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
        r#"{"positive":{"x":2},"negative":{},"zero":0,"non_finite":0,"min":"1.0","max":"1.003"}"#,
        r#"{"positive":{"3":1,"03":1},"negative":{},"zero":0,"non_finite":0,"min":"1.0","max":"1.003"}"#,
    ] {
        assert!(
            serde_json::from_str::<QuantileSketch>(bad).is_err(),
            "{bad}"
        );
    }
}

/// A store is written as runs of consecutive buckets (short gaps as zeros), smaller than the map
/// from index to count that earlier builds wrote, which is still read to the same sketch.
#[test]
fn sketch_stores_are_written_as_runs_and_the_older_maps_still_read() {
    let values: Vec<f64> = (1..=3000)
        .map(|k| -50.0 + f64::from(k).powf(1.3) * 0.01)
        .collect();
    let s = sketch_of(&values);
    let json = serde_json::to_string(&s).unwrap();
    assert!(json.starts_with(r#"{"positive":[["#), "{}", &json[..60]);
    let map = |m: &BTreeMap<i32, u64>| -> serde_json::Value {
        m.iter()
            .map(|(i, n)| (i.to_string(), serde_json::Value::from(*n)))
            .collect()
    };
    let mut old: serde_json::Value = serde_json::from_str(&json).unwrap();
    old["positive"] = map(&s.positive);
    old["negative"] = map(&s.negative);
    let old = old.to_string();
    assert!(
        json.len() * 10 < old.len() * 7,
        "{} against {}",
        json.len(),
        old.len()
    );
    assert_eq!(serde_json::from_str::<QuantileSketch>(&old).unwrap(), s);
    assert_eq!(serde_json::from_str::<QuantileSketch>(&json).unwrap(), s);
}

#[test]
fn sketch_runs_that_are_empty_overlap_or_pass_the_last_bucket_are_refused() {
    let with = |positive: &str| {
        format!(
            r#"{{"positive":{positive},"negative":[],"zero":0,"non_finite":0,"min":"1.0","max":"1.0"}}"#
        )
    };
    assert!(serde_json::from_str::<QuantileSketch>(&with("[[0,[1]]]")).is_ok());
    assert!(serde_json::from_str::<QuantileSketch>(&with("[[0,[1,0,2]],[3,[1]]]")).is_ok());
    for bad in [
        "[[0,[]]]",
        "[[0,[1,0,2]],[2,[1]]]",
        "[[3,[1]],[0,[1]]]",
        "[[2147483647,[1,1]]]",
        "[[0,[0]]]",
    ] {
        assert!(
            serde_json::from_str::<QuantileSketch>(&with(bad)).is_err(),
            "{bad}"
        );
    }
}
