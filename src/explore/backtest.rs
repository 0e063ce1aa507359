//! Back-testing: the scenario's observed checkpoint ratings against the probabilities the model gives
//! them, scored by accuracy of the modal prediction, a confusion matrix and the multi-class Brier
//! score.

use serde::{Deserialize, Serialize};

use super::calibrate::measure::Measure;
use super::pieces::{
    Evaluation, KeepNothing, PieceOutcome, PointOutcome, SavedPieces, assemble, pieces,
};
use super::target_check::TargetCheck;
use super::{ExploreError, Progress, Study};
use crate::experiment::shard::Shard;
use crate::experiment::{Provenance, RatingOutcome, Summary};
use crate::scenario::schema::Rating;

/// Index of an observed rating among the outcomes ([`RatingOutcome::ALL`], the order of every
/// probability array here).
pub fn outcome_index(r: Rating) -> usize {
    RatingOutcome::of(r).index()
}

/// The name of the outcome at an index of [`RatingOutcome::ALL`].
pub fn outcome_name(i: usize) -> &'static str {
    RatingOutcome::ALL[i].as_str()
}

/// The modal outcome of a probability vector (ties go to the earlier outcome: A, B, C, unrated).
pub fn modal(p: &[f64; 4]) -> usize {
    let mut best = 0;
    for i in 1..4 {
        if p[i] > p[best] {
            best = i;
        }
    }
    best
}

/// Scores of predictions against observations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Observations scored.
    pub n: usize,
    /// Share whose modal prediction is the observed rating.
    pub accuracy: f64,
    /// Mean over observations of the sum over outcomes (A, B, C, unrated) of
    /// `(p - observed)^2`; 0 is perfect, 2 the worst possible.
    pub brier: f64,
    /// The Brier score of predicting, for every observation, the observed frequencies of A, B, C.
    pub brier_base_rate: f64,
    /// `1 - brier / brier_base_rate`: above 0 when the model beats the base rates.
    pub skill: f64,
    /// Counts: rows observed A, B, C; columns predicted (modal) A, B, C, unrated.
    pub confusion: [[u64; 4]; 3],
}

/// Scores probability vectors (A, B, C, unrated) against observed ratings.
pub fn score(predictions: &[[f64; 4]], observed: &[Rating]) -> Scores {
    let n = predictions.len().min(observed.len());
    let mut confusion = [[0u64; 4]; 3];
    let mut hits = 0usize;
    let mut brier = 0.0;
    let mut freq = [0.0; 4];
    for (p, &o) in predictions.iter().zip(observed) {
        let oi = outcome_index(o);
        let m = modal(p);
        confusion[oi][m] += 1;
        hits += usize::from(m == oi);
        brier += brier_one(p, oi);
        freq[oi] += 1.0;
    }
    let nf = n as f64;
    let (accuracy, brier, brier_base_rate) = if n == 0 {
        (f64::NAN, f64::NAN, f64::NAN)
    } else {
        let base = freq.map(|f| f / nf);
        let base_score = observed[..n]
            .iter()
            .map(|&o| brier_one(&base, outcome_index(o)))
            .sum::<f64>()
            / nf;
        (hits as f64 / nf, brier / nf, base_score)
    };
    Scores {
        n,
        accuracy,
        brier,
        brier_base_rate,
        skill: 1.0 - brier / brier_base_rate,
        confusion,
    }
}

/// The Brier score of one prediction against the observed outcome.
pub fn brier_one(p: &[f64; 4], observed: usize) -> f64 {
    (0..4)
        .map(|k| {
            let o = if k == observed { 1.0 } else { 0.0 };
            (p[k] - o) * (p[k] - o)
        })
        .sum()
}

/// One recorded rating and what the model says about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Checkpoint id.
    pub checkpoint: String,
    /// Provider id.
    pub provider: String,
    /// The rating recorded.
    pub observed: Rating,
    /// Replications giving A, B, C, or no rating (not open at the checkpoint).
    pub counts: [u64; 4],
    /// Probabilities of A, B, C, unrated.
    pub p: [f64; 4],
    /// Index in [`RatingOutcome::ALL`] of the modal prediction.
    pub modal: usize,
}

/// A back-test: predictions and scores; plain data for files, charts and the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestResult {
    /// Where it came from (the observed section's configuration).
    pub origin: Provenance,
    /// Where the observations come from.
    pub source: String,
    /// One per recorded rating, in file order.
    pub predictions: Vec<Prediction>,
    /// Scores.
    pub scores: Scores,
    /// Every calibration target of `[[observed.targets]]` against the model's predictive
    /// distribution and a naive reference ([`super::target_check`]).
    #[serde(default)]
    pub targets: Vec<TargetCheck>,
    /// Targets left out, and why (observed under another configuration).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_notes: Vec<String>,
}

impl Scores {
    /// Whether the model beats the base rate, in words.
    pub fn verdict(&self) -> String {
        let against = format!(
            "Brier {:.3} against {:.3} for always guessing the observed frequencies, skill {:+.2}; \
             accuracy {:.1}%",
            self.brier,
            self.brier_base_rate,
            self.skill,
            self.accuracy * 100.0
        );
        if self.skill > 0.0 {
            format!("the ratings beat the base rate ({against})")
        } else {
            format!("the ratings do not beat the base rate ({against})")
        }
    }
}

/// The configuration the scenario's observations were made under.
pub fn observed_configuration(
    scenario: &crate::scenario::Scenario,
) -> Result<String, ExploreError> {
    scenario
        .base
        .observed
        .as_ref()
        .map(|o| o.configuration.clone())
        .ok_or_else(|| {
            ExploreError::Input(format!(
                "{}: the scenario has no [observed] section to back-test against",
                scenario.file
            ))
        })
}

/// Checks that the scenario records ratings to back-test against.
pub fn check(study: &Study) -> Result<&crate::scenario::schema::Observed, ExploreError> {
    let observed = study.scenario.base.observed.as_ref().ok_or_else(|| {
        ExploreError::Input(format!(
            "{}: the scenario has no [observed] section to back-test against",
            study.scenario.file
        ))
    })?;
    if observed.ratings.is_empty() {
        return Err(ExploreError::Input(format!(
            "{}: the [observed] section records no ratings",
            study.scenario.file
        )));
    }
    Ok(observed)
}

/// Runs the observed configuration and scores every recorded rating.
pub fn run(study: &Study, progress: Progress) -> Result<BacktestResult, ExploreError> {
    run_with(study, progress, &mut KeepNothing)
}

/// [`run`], saving its finished piece in `saved` and taking it back after a stop.
pub fn run_with(
    study: &Study,
    progress: Progress,
    saved: &mut dyn SavedPieces,
) -> Result<BacktestResult, ExploreError> {
    check(study)?;
    let outcomes = run_shard(study, Shard::WHOLE, saved, progress)?;
    let point = assemble(1, study.replications, outcomes).map_err(ExploreError::Input)?;
    analyse(study, &point[0])
}

/// Runs shard `shard`'s part of the back-test's replications (its one point; see [`pieces`]).
pub fn run_shard(
    study: &Study,
    shard: Shard,
    saved: &mut dyn SavedPieces,
    progress: Progress,
) -> Result<Vec<PieceOutcome>, ExploreError> {
    let mine = pieces(1, study.replications, shard);
    let total = crate::explore::pieces::replications(&mine);
    // Each target's value in each replication is kept with the piece, for analyse.
    let targets = own_targets(study)?;
    Evaluation {
        study,
        edits: &[Vec::new()],
        keep: &|_, r| {
            targets
                .measures
                .iter()
                .map(|m| m.value(&targets.market, r))
                .collect()
        },
    }
    .run(&mine, saved, progress, 0, total)
}

/// Scores every recorded rating against the summary of the observed configuration's
/// replications, and every target observed under that configuration against the values the
/// replications kept ([`super::target_check`]).
pub fn analyse(study: &Study, point: &PointOutcome) -> Result<BacktestResult, ExploreError> {
    let observed = check(study)?;
    let s: &Summary = &point.summary;
    let own = own_targets(study)?;
    let targets = own
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let values = point.per_rep.get(i).map_or(&[][..], |v| &v[..]);
            super::target_check::check(t, &study.configuration, values, &own.market)
        })
        .collect();
    let mut predictions = Vec::new();
    for (i, o) in observed.ratings.iter().enumerate() {
        let at = format!("observed.ratings[{i}]");
        let ci = s
            .checkpoints
            .iter()
            .position(|c| *c == o.checkpoint)
            .ok_or_else(|| {
                ExploreError::Input(format!(
                    "{}: {at}: no checkpoint `{}`; the scenario has {}",
                    study.scenario.file,
                    o.checkpoint,
                    s.checkpoints.join(", ")
                ))
            })?;
        let p = s.provider(&o.provider).ok_or_else(|| {
            ExploreError::Input(format!(
                "{}: {at}: provider `{}` is not in configuration `{}`",
                study.scenario.file, o.provider, study.configuration
            ))
        })?;
        let counts = RatingOutcome::counts(&p.ratings[ci]);
        let total = counts.iter().sum::<u64>().max(1) as f64;
        let probs = counts.map(|x| x as f64 / total);
        predictions.push(Prediction {
            checkpoint: o.checkpoint.clone(),
            provider: o.provider.clone(),
            observed: o.rating,
            counts,
            p: probs,
            modal: modal(&probs),
        });
    }
    let ps: Vec<[f64; 4]> = predictions.iter().map(|p| p.p).collect();
    let os: Vec<Rating> = predictions.iter().map(|p| p.observed).collect();
    Ok(BacktestResult {
        origin: study.provenance(),
        source: observed.source.clone(),
        scores: score(&ps, &os),
        predictions,
        targets,
        target_notes: own.notes,
    })
}

/// The targets observed under the back-test's configuration, resolved against its market (its
/// scenario values: the structure is the same under a posterior); targets observed under another
/// configuration are named in notes (back-test them by calibrating or running that one).
struct OwnTargets {
    targets: Vec<crate::scenario::schema::Target>,
    measures: Vec<Measure>,
    market: crate::model::Market,
    notes: Vec<String>,
}

fn own_targets(study: &Study) -> Result<OwnTargets, ExploreError> {
    let file = &study.scenario.file;
    let c = &study.configuration;
    let market = crate::model::Market::compile(&study.scenario.resolve(c)?, c)
        .map_err(|e| ExploreError::Input(format!("{file}: in configuration `{c}`: {e}")))?;
    let mut own = OwnTargets {
        targets: Vec::new(),
        measures: Vec::new(),
        market,
        notes: Vec::new(),
    };
    let Some(observed) = &study.scenario.base.observed else {
        return Ok(own);
    };
    for (i, t) in observed.targets.iter().enumerate() {
        let under = t
            .configuration
            .as_deref()
            .unwrap_or(&observed.configuration);
        if under != c {
            own.notes.push(format!(
                "observed.targets[{i}] `{}` was observed under `{under}`, not the back-test's \
                 `{c}`; not back-tested here",
                t.label()
            ));
            continue;
        }
        let m = Measure::of(t, &own.market).map_err(|e| {
            ExploreError::Input(format!(
                "{file}: observed.targets[{i}] `{}`: {e}",
                t.label()
            ))
        })?;
        own.targets.push(t.clone());
        own.measures.push(m);
    }
    Ok(own)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_match_a_hand_computed_case() {
        // Three observations:
        //   1. observed A, p = (0.7, 0.2, 0.1, 0): modal A, right; Brier 0.09 + 0.04 + 0.01 = 0.14.
        //   2. observed B, p = (0.5, 0.3, 0.2, 0): modal A, wrong; Brier 0.25 + 0.49 + 0.04 = 0.78.
        //   3. observed C, p = (0.1, 0.1, 0.2, 0.6): modal unrated, wrong;
        //      Brier 0.01 + 0.01 + 0.64 + 0.36 = 1.02.
        let p = [
            [0.7, 0.2, 0.1, 0.0],
            [0.5, 0.3, 0.2, 0.0],
            [0.1, 0.1, 0.2, 0.6],
        ];
        let s = score(&p, &[Rating::A, Rating::B, Rating::C]);
        assert_eq!(s.n, 3);
        assert!((s.accuracy - 1.0 / 3.0).abs() < 1e-12);
        assert!(
            (s.brier - (0.14 + 0.78 + 1.02) / 3.0).abs() < 1e-12,
            "{}",
            s.brier
        );
        assert_eq!(s.confusion, [[1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]]);
        // Base rates 1/3 each: every observation scores (2/3)^2 + 2 (1/3)^2 = 2/3.
        assert!((s.brier_base_rate - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.skill - (1.0 - (1.94 / 3.0) / (2.0 / 3.0))).abs() < 1e-12);
    }

    #[test]
    fn perfect_predictions_score_zero_and_full_accuracy() {
        let s = score(
            &[[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]],
            &[Rating::A, Rating::C],
        );
        assert_eq!((s.accuracy, s.brier), (1.0, 0.0));
        assert_eq!(s.confusion, [[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0]]);
    }

    #[test]
    fn modal_ties_go_to_the_earlier_outcome() {
        assert_eq!(modal(&[0.4, 0.4, 0.2, 0.0]), 0);
        assert_eq!(modal(&[0.0, 0.3, 0.3, 0.4]), 3);
    }
}
