//! The pure rules of the model: the logit choice (MODEL.md section 4) and the checkpoint rating
//! table (section 5). Kept free of state so each can be tested on its own.

use super::Supplier;
use crate::scenario::schema::Rating;

/// Systematic utility of an option, with weights `[price, quality, locality, inertia]`:
/// `-bp (price_ratio - 1) + bq quality + bl closeness_term + bi [current]`, where
/// `closeness_term` is the service's locality times the option's closeness.
pub fn utility(
    weights: [f64; 4],
    price_ratio: f64,
    quality: f64,
    closeness_term: f64,
    is_current: bool,
) -> f64 {
    let [bp, bq, bl, bi] = weights;
    -bp * (price_ratio - 1.0)
        + bq * quality
        + bl * closeness_term
        + if is_current { bi } else { 0.0 }
}

/// Multinomial-logit probabilities of utilities (numerically stable softmax, portable `libm::exp`).
pub fn probabilities(utilities: &[f64]) -> Vec<f64> {
    let max = utilities.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = utilities.iter().map(|u| libm::exp(u - max)).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

/// Picks an option with logit probabilities by inverting the cumulative distribution at `u` in [0, 1).
/// The options' utilities are overwritten with their unnormalised weights.
pub fn pick(options: &mut [(Supplier, f64)], u: f64) -> Supplier {
    let max = options
        .iter()
        .map(|o| o.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for o in options.iter_mut() {
        o.1 = libm::exp(o.1 - max);
        sum += o.1;
    }
    let mut target = u * sum;
    for o in options.iter() {
        if target < o.1 {
            return o.0;
        }
        target -= o.1;
    }
    options.last().map_or(Supplier::InHouse, |o| o.0)
}

/// The rating table: two or more failed domains give C; one failed domain, or a pass within the
/// marginal band of its threshold, gives B; otherwise A. Each domain is `(value, threshold)`.
pub fn rate(domains: &[(f64, f64)], marginal_band: f64) -> Rating {
    let mut failed = 0;
    let mut marginal = false;
    for &(value, threshold) in domains {
        if value < threshold || value.is_nan() {
            failed += 1;
        } else if value < threshold + marginal_band * threshold.abs() {
            marginal = true;
        }
    }
    match failed {
        0 if !marginal => Rating::A,
        0 | 1 => Rating::B,
        _ => Rating::C,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rng::{Purpose, stream, uniform};

    #[test]
    fn logit_probabilities_sum_to_one() {
        for us in [
            vec![0.0],
            vec![1.0, 2.0, 3.0],
            vec![-500.0, 500.0, 0.0, 1e-9],
        ] {
            let p = probabilities(&us);
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{p:?}");
            assert!(p.iter().all(|x| (0.0..=1.0).contains(x)));
        }
    }

    #[test]
    fn two_option_choice_matches_analytic_logit_over_many_draws() {
        let (ua, ub): (f64, f64) = (0.7, -0.3);
        let expected = 1.0 / (1.0 + (ub - ua).exp());
        let n = 200_000;
        let mut rng = stream(11, 0, 0, 0, Purpose::Choice, 0);
        let mut hits = 0;
        for _ in 0..n {
            let mut o = [(Supplier::InHouse, ua), (Supplier::Independent, ub)];
            if pick(&mut o, uniform(&mut rng)) == Supplier::InHouse {
                hits += 1;
            }
        }
        let share = f64::from(hits) / f64::from(n);
        // Four standard errors.
        let se = (expected * (1.0 - expected) / f64::from(n)).sqrt();
        assert!(
            (share - expected).abs() < 4.0 * se,
            "share {share}, expected {expected}"
        );
    }

    #[test]
    fn utility_rewards_quality_and_closeness_and_penalises_price() {
        let w = [3.0, 2.0, 1.5, 1.0];
        let base = utility(w, 1.0, 0.5, 0.5, false);
        assert!(utility(w, 1.2, 0.5, 0.5, false) < base);
        assert!(utility(w, 1.0, 0.7, 0.5, false) > base);
        assert!(utility(w, 1.0, 0.5, 0.9, false) > base);
        assert_eq!(utility(w, 1.0, 0.5, 0.5, true), base + 1.0);
    }

    #[test]
    fn rating_table_two_failures_give_c() {
        assert_eq!(
            rate(&[(0.1, 0.5), (-0.2, 0.05), (0.9, 0.5)], 0.1),
            Rating::C
        );
        assert_eq!(
            rate(&[(0.1, 0.5), (-0.2, 0.05), (0.1, 0.5)], 0.1),
            Rating::C
        );
    }

    #[test]
    fn rating_table_one_failure_gives_b() {
        assert_eq!(rate(&[(0.1, 0.5), (0.2, 0.05), (0.9, 0.5)], 0.1), Rating::B);
    }

    #[test]
    fn rating_table_marginal_pass_gives_b() {
        // 0.52 passes 0.5 but lies within 10% of it.
        assert_eq!(
            rate(&[(0.52, 0.5), (0.2, 0.05), (0.9, 0.5)], 0.1),
            Rating::B
        );
        assert_eq!(
            rate(&[(0.56, 0.5), (0.2, 0.05), (0.9, 0.5)], 0.1),
            Rating::A
        );
    }

    #[test]
    fn rating_table_nan_counts_as_a_failure() {
        assert_eq!(
            rate(&[(f64::NAN, 0.5), (f64::NAN, 0.05), (0.9, 0.5)], 0.1),
            Rating::C
        );
    }
}
