//! The back-test of every calibration target (MODEL.md section 11, validation): each
//! `[[observed.targets]]` entry against the model's predictive distribution over replications,
//! scored by the continuous ranked probability score (CRPS) against a naive reference forecast
//! stated for each kind of target, and said in words.
//!
//! The references are what someone with the scenario but no model would guess:
//! - a rating count: every rating equally likely, a third of the providers of the kind;
//! - an intention share or in-house share: the four nests of MODEL.md section 10 (in-house, the
//!   host's network, other NHS providers, the independent sector) equally likely, a quarter;
//! - spend per head: all the need bought at the reference price (the sum of `need_per_head x
//!   reference_price`);
//! - open providers: persistence, every provider of the kind the market starts with still open.
//!
//! The CRPS of a point forecast is its absolute error, so the reference is scored on the same
//! scale as the model's whole predictive distribution; skill `1 - CRPS / CRPS_reference` is above
//! 0 when the model beats the reference.

use serde::{Deserialize, Serialize};

use super::calibrate::abc::weighted_quantile;
use crate::model::Market;
use crate::scenario::schema::{Target, TargetKind};

/// One target against what the model predicts for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetCheck {
    /// The target's name (`rating_count:cp2:local:A`).
    pub target: String,
    /// Configuration it was observed under, and simulated.
    pub configuration: String,
    /// Observed value.
    pub observed: f64,
    /// One unit of distance (the target's tolerance).
    pub tolerance: f64,
    /// Mean over replications.
    pub mean: f64,
    /// 5th percentile over replications.
    pub p5: f64,
    /// 95th percentile over replications.
    pub p95: f64,
    /// Whether the observation falls inside the 5-95% band.
    pub inside_90: bool,
    /// The model's CRPS (same unit as the target).
    pub crps: f64,
    /// The naive reference forecast.
    pub reference: f64,
    /// How the reference is made, in words.
    pub reference_rule: String,
    /// The reference's CRPS: its absolute error.
    pub reference_crps: f64,
    /// `1 - crps / reference_crps`: above 0 when the model beats the reference.
    pub skill: f64,
    /// Where the observation comes from.
    pub source: String,
}

impl TargetCheck {
    /// Whether the model beats the naive reference (skill above 0).
    pub fn beats_reference(&self) -> bool {
        self.skill > 0.0
    }

    /// The verdict in words.
    pub fn verdict(&self) -> String {
        let band = if self.inside_90 { "inside" } else { "outside" };
        let against = format!(
            "CRPS {} against {} for the reference, {}",
            short(self.crps),
            short(self.reference_crps),
            self.reference_rule
        );
        if self.beats_reference() {
            format!(
                "beats the naive reference ({against}; skill {:+.2}); observed {} is {band} the \
                 90% band",
                self.skill,
                short(self.observed)
            )
        } else {
            format!(
                "does not beat the naive reference ({against}; skill {:+.2}); observed {} is \
                 {band} the 90% band",
                self.skill,
                short(self.observed)
            )
        }
    }
}

/// A number in a sentence: 4 significant digits at most.
fn short(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// The continuous ranked probability score of an ensemble against an observation:
/// `E|X - y| - E|X - X'| / 2` over the ensemble's values (the energy form, exact for an empirical
/// distribution). 0 is a certain, correct forecast; for a point forecast it is the absolute error.
pub fn crps(values: &[f64], observed: f64) -> f64 {
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let nf = n as f64;
    let error = sorted.iter().map(|x| (x - observed).abs()).sum::<f64>() / nf;
    // sum over pairs i < j of (x_j - x_i) = sum_i x_i (2i - n + 1), i from 0, on sorted values.
    let pairs: f64 = sorted
        .iter()
        .enumerate()
        .map(|(i, x)| x * (2.0 * i as f64 - nf + 1.0))
        .sum();
    error - pairs / (nf * nf)
}

/// The naive reference forecast of a target in a market, and how it is made.
pub fn reference(t: &Target, m: &Market) -> (f64, String) {
    let of_kind = || {
        m.providers
            .iter()
            .filter(|p| t.provider_kind.is_none_or(|k| p.kind == k))
            .count() as f64
    };
    let plural = if of_kind() == 1.0 { "" } else { "s" };
    let which = t.provider_kind.map_or_else(
        || format!("provider{plural}"),
        |k| format!("{} provider{plural}", k.as_str()),
    );
    match t.kind {
        TargetKind::RatingCount => (
            of_kind() / 3.0,
            format!(
                "every rating equally likely: a third of the {} {which}",
                of_kind()
            ),
        ),
        TargetKind::IntentionShare | TargetKind::InHouseShare => (
            0.25,
            "the four nests (in-house, host network, other NHS, independent) equally likely: 0.25"
                .into(),
        ),
        TargetKind::SpendPerHead => {
            let all: f64 = m
                .services
                .iter()
                .map(|s| s.need_per_head * s.reference_price)
                .sum();
            (
                all,
                format!("all the need bought at the reference price: {}", short(all)),
            )
        }
        TargetKind::OpenProviders => (
            of_kind(),
            format!(
                "persistence: the {} {which} of the market still open",
                of_kind()
            ),
        ),
    }
}

/// Scores one target's simulated values (one per replication) against its observation.
pub fn check(t: &Target, configuration: &str, values: &[f64], m: &Market) -> TargetCheck {
    // The same weighted quantile as the calibration's fit, each replication weighing the same.
    let ones = vec![1.0; values.len()];
    let (p5, p95) = (
        weighted_quantile(values, &ones, 0.05),
        weighted_quantile(values, &ones, 0.95),
    );
    let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
    let (reference, reference_rule) = reference(t, m);
    let model = crps(values, t.value);
    let reference_crps = (reference - t.value).abs();
    let skill = if reference_crps > 0.0 {
        1.0 - model / reference_crps
    } else if model == 0.0 {
        0.0
    } else {
        f64::NEG_INFINITY
    };
    TargetCheck {
        target: t.label(),
        configuration: configuration.to_string(),
        observed: t.value,
        tolerance: t.tolerance,
        mean,
        p5,
        p95,
        inside_90: p5 <= t.value && t.value <= p95,
        crps: model,
        reference,
        reference_rule,
        reference_crps,
        skill,
        source: t.source.clone(),
    }
}

/// The summary in words: how many targets the model beats its reference on, and how many
/// observations fall inside its 90% band.
pub fn summary(checks: &[TargetCheck]) -> String {
    if checks.is_empty() {
        return "no calibration targets to back-test".into();
    }
    let beats = checks.iter().filter(|c| c.beats_reference()).count();
    let inside = checks.iter().filter(|c| c.inside_90).count();
    let n = checks.len();
    let whole = if beats * 2 > n {
        "on most targets the model beats the naive reference"
    } else if beats == 0 {
        "on no target does the model beat the naive reference"
    } else {
        "on most targets the model does not beat the naive reference"
    };
    format!(
        "{whole}: it beats it on {beats} of {n} targets, and {inside} of {n} observations fall \
         inside the model's 90% band"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crps_of_a_point_is_its_absolute_error_and_a_spread_is_scored_by_hand() {
        assert!((crps(&[3.0, 3.0, 3.0], 5.0) - 2.0).abs() < 1e-12);
        // Values 0 and 2, observed 1: E|X - y| = 1, E|X - X'| = (0 + 2 + 2 + 0) / 4 = 1: CRPS 0.5.
        assert!((crps(&[0.0, 2.0], 1.0) - 0.5).abs() < 1e-12);
        // Values 0, 1, 2, observed 0: E|X - y| = 1, pairs sum |diffs| = 2 (1 + 2 + 1) = 8 over 9:
        // CRPS 1 - 8 / 18.
        assert!((crps(&[2.0, 0.0, 1.0], 0.0) - (1.0 - 8.0 / 18.0)).abs() < 1e-12);
        assert!(crps(&[], 1.0).is_nan());
    }

    fn target(text: &str) -> Target {
        toml::from_str(text).unwrap()
    }

    fn market() -> Market {
        let s = crate::scenario::Scenario::from_text(
            "small.toml",
            include_str!("../../tests/fixtures/small.toml"),
        )
        .unwrap();
        Market::compile(&s.resolve("collaborative").unwrap(), "collaborative").unwrap()
    }

    #[test]
    fn a_model_closer_than_the_reference_beats_it_and_a_farther_one_does_not() {
        let m = market();
        let t = target(
            "kind = \"intention_share\"\ndestination = \"host\"\nvalue = 0.6\ntolerance = 0.1\n\
             source = \"x\"",
        );
        // Reference 0.25: CRPS 0.35. A model at 0.55 to 0.65 scores far less.
        let good = check(&t, "c", &[0.55, 0.6, 0.65], &m);
        assert_eq!(good.reference, 0.25);
        assert!((good.reference_crps - 0.35).abs() < 1e-12);
        assert!(good.beats_reference() && good.inside_90, "{good:?}");
        assert!(good.verdict().starts_with("beats the naive reference"));
        // A model sure of 0.1: CRPS 0.5, worse than the reference's 0.35.
        let bad = check(&t, "c", &[0.1, 0.1], &m);
        assert!((bad.skill - (1.0 - 0.5 / 0.35)).abs() < 1e-12);
        assert!(!bad.beats_reference() && !bad.inside_90, "{bad:?}");
        assert!(bad.verdict().starts_with("does not beat"));
        // A reference that is exactly right cannot be beaten.
        let t = target(
            "kind = \"intention_share\"\ndestination = \"host\"\nvalue = 0.25\ntolerance = 0.1\n\
             source = \"x\"",
        );
        assert!(!check(&t, "c", &[0.24, 0.26], &m).beats_reference());
    }

    #[test]
    fn references_follow_the_stated_rules() {
        let m = market();
        let need: f64 = m
            .services
            .iter()
            .map(|s| s.need_per_head * s.reference_price)
            .sum();
        let t = target(
            "kind = \"spend_per_head\"\nquarter = 1\nvalue = 9\ntolerance = 1\nsource = \"x\"",
        );
        assert_eq!(reference(&t, &m).0, need);
        let locals = m
            .providers
            .iter()
            .filter(|p| p.kind == crate::scenario::schema::ProviderKind::Local)
            .count() as f64;
        let t = target(
            "kind = \"rating_count\"\ncheckpoint = \"x\"\nrating = \"A\"\nprovider_kind = \"local\"\n\
             value = 1\ntolerance = 1\nsource = \"x\"",
        );
        assert_eq!(reference(&t, &m).0, locals / 3.0);
        let t = target(
            "kind = \"open_providers\"\nquarter = 2\nprovider_kind = \"local\"\nvalue = 1\n\
             tolerance = 1\nsource = \"x\"",
        );
        assert_eq!(reference(&t, &m).0, locals);
    }

    #[test]
    fn the_summary_counts_wins_and_bands() {
        let m = market();
        let t = target(
            "kind = \"in_house_share\"\nquarter = 1\nvalue = 0.6\ntolerance = 0.1\nsource = \"x\"",
        );
        let checks = [
            check(&t, "c", &[0.6, 0.61], &m),
            check(&t, "c", &[0.0, 0.0], &m),
        ];
        assert_eq!(
            summary(&checks),
            "on most targets the model does not beat the naive reference: it beats it on 1 of 2 \
             targets, and 1 of 2 observations fall inside the model's 90% band"
        );
    }
}
