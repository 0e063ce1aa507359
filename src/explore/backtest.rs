//! Back-testing: the scenario's observed checkpoint ratings against the probabilities the model gives
//! them, scored by accuracy of the modal prediction, a confusion matrix and the multi-class Brier
//! score.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ExploreError, Origin, Progress, Study, cell, html_escape, to_csv};
use crate::export::atomic;
use crate::scenario::schema::Rating;

/// The outcomes a provider can have at a checkpoint, in the order of every probability array here.
pub const OUTCOMES: [&str; 4] = ["A", "B", "C", "unrated"];

/// Index of an observed rating in [`OUTCOMES`].
pub fn outcome_index(r: Rating) -> usize {
    match r {
        Rating::A => 0,
        Rating::B => 1,
        Rating::C => 2,
    }
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

fn brier_one(p: &[f64; 4], observed: usize) -> f64 {
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
    /// Index in [`OUTCOMES`] of the modal prediction.
    pub modal: usize,
}

/// A back-test: predictions and scores; plain data for files, charts and the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestResult {
    /// Where it came from (the observed section's configuration).
    pub origin: Origin,
    /// Where the observations come from.
    pub source: String,
    /// One per recorded rating, in file order.
    pub predictions: Vec<Prediction>,
    /// Scores.
    pub scores: Scores,
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

/// Runs the observed configuration and scores every recorded rating.
pub fn run(study: &Study, progress: Progress) -> Result<BacktestResult, ExploreError> {
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
    let n = study.replications;
    let s = study.run(&[], 0..n, &mut |_| {}, &|d| progress(d, n))?;
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
        // The summary counts (unrated, A, B, C); here outcomes are (A, B, C, unrated).
        let c = p.ratings[ci];
        let counts = [c[1], c[2], c[3], c[0]];
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
        origin: Origin::of(study),
        source: observed.source.clone(),
        scores: score(&ps, &os),
        predictions,
    })
}

/// `backtest.csv`: one row per recorded rating with the probability of each outcome, then the
/// scores as comment-free summary rows (`provider` = `ALL`).
pub fn backtest_csv(r: &BacktestResult) -> anyhow::Result<Vec<u8>> {
    let mut rows = vec![
        [
            "checkpoint",
            "provider",
            "observed",
            "p_A",
            "p_B",
            "p_C",
            "p_unrated",
            "modal",
            "correct",
            "brier",
            "replications",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for p in &r.predictions {
        let oi = outcome_index(p.observed);
        rows.push(vec![
            p.checkpoint.clone(),
            p.provider.clone(),
            p.observed.as_str().into(),
            cell(Some(p.p[0])),
            cell(Some(p.p[1])),
            cell(Some(p.p[2])),
            cell(Some(p.p[3])),
            OUTCOMES[p.modal].into(),
            (p.modal == oi).to_string(),
            cell(Some(brier_one(&p.p, oi))),
            p.counts.iter().sum::<u64>().to_string(),
        ]);
    }
    to_csv(rows)
}

/// `confusion.csv`: observed rating by modal prediction, then the scores.
pub fn confusion_csv(r: &BacktestResult) -> anyhow::Result<Vec<u8>> {
    let mut rows = vec![vec![
        "observed".to_string(),
        "predicted_A".into(),
        "predicted_B".into(),
        "predicted_C".into(),
        "predicted_unrated".into(),
    ]];
    for (i, row) in r.scores.confusion.iter().enumerate() {
        let mut out = vec![OUTCOMES[i].to_string()];
        out.extend(row.iter().map(u64::to_string));
        rows.push(out);
    }
    to_csv(rows)
}

/// `scores.csv`: accuracy, Brier score, its base-rate reference and the skill score.
pub fn scores_csv(r: &BacktestResult) -> anyhow::Result<Vec<u8>> {
    let s = &r.scores;
    to_csv(vec![
        vec![
            "observations".into(),
            "accuracy".into(),
            "brier".into(),
            "brier_base_rate".into(),
            "brier_skill".into(),
            "replications".into(),
        ],
        vec![
            s.n.to_string(),
            cell(Some(s.accuracy)),
            cell(Some(s.brier)),
            cell(Some(s.brier_base_rate)),
            cell(Some(s.skill)),
            r.origin.replications.to_string(),
        ],
    ])
}

/// Writes `backtest.csv`, `confusion.csv`, `scores.csv` and `backtest.json` into `dir`, each whole
/// or not at all; returns the paths written.
pub fn write(dir: &Path, r: &BacktestResult) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut json = serde_json::to_vec_pretty(r)?;
    json.push(b'\n');
    let files = vec![
        (dir.join("backtest.csv"), backtest_csv(r)?),
        (dir.join("confusion.csv"), confusion_csv(r)?),
        (dir.join("scores.csv"), scores_csv(r)?),
        (dir.join("backtest.json"), json),
    ];
    for (path, bytes) in &files {
        atomic::write(path, bytes)?;
    }
    Ok(files.into_iter().map(|(p, _)| p).collect())
}

/// The report's section for a back-test: scores, confusion matrix, chart (from `backtest/` beside
/// the report) and every prediction.
pub fn html_section(r: &BacktestResult) -> String {
    let s = &r.scores;
    let mut h =
        String::from("<section class=\"backtest\">\n<h2>Back-test against observed ratings</h2>\n");
    h.push_str(&format!(
        "<p>Configuration <code>{}</code>, {} replications (seed {}){}. {} recorded ratings: \
         accuracy of the modal prediction {:.0}%, Brier score {:.3} (base rates {:.3}, skill {:+.2}).</p>\n",
        html_escape(&r.origin.configuration),
        r.origin.replications,
        r.origin.seed,
        if r.source.is_empty() {
            String::new()
        } else {
            format!("; observations from {}", html_escape(&r.source))
        },
        s.n,
        s.accuracy * 100.0,
        s.brier,
        s.brier_base_rate,
        s.skill
    ));
    h.push_str("<figure><img src=\"backtest/backtest.svg\" alt=\"Simulated rating probabilities and observed ratings\"></figure>\n");
    h.push_str("<table>\n<tr><th>observed \\ predicted</th>");
    for o in OUTCOMES {
        h.push_str(&format!("<th>{o}</th>"));
    }
    h.push_str("</tr>\n");
    for (i, row) in s.confusion.iter().enumerate() {
        h.push_str(&format!("<tr><th>{}</th>", OUTCOMES[i]));
        for c in row {
            h.push_str(&format!("<td>{c}</td>"));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n<table>\n<tr><th>checkpoint</th><th>provider</th><th>observed</th><th>P(A)</th><th>P(B)</th><th>P(C)</th><th>P(unrated)</th><th>modal</th></tr>\n");
    for p in &r.predictions {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td></tr>\n",
            html_escape(&p.checkpoint),
            html_escape(&p.provider),
            p.observed.as_str(),
            p.p[0],
            p.p[1],
            p.p[2],
            p.p[3],
            OUTCOMES[p.modal]
        ));
    }
    h.push_str("</table>\n</section>\n");
    h
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
