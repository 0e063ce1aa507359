//! The files of a back-test: `backtest.csv`, `confusion.csv`, `scores.csv`, `targets.csv` and
//! `backtest.json`.

use super::{Exporter, json_bytes, layout, num, to_csv};
use crate::experiment::RatingOutcome;
use crate::explore::backtest::{BacktestResult, brier_one, outcome_index, outcome_name};

/// `backtest.csv`: one row per recorded rating with the probability of each outcome, then the
/// scores as comment-free summary rows (`provider` = `ALL`).
pub fn backtest_csv(r: &BacktestResult) -> anyhow::Result<Vec<u8>> {
    let mut header: Vec<String> = ["checkpoint", "provider", "observed"]
        .map(String::from)
        .to_vec();
    header.extend(RatingOutcome::ALL.map(|o| format!("p_{}", o.as_str())));
    header.extend(["modal", "correct", "brier", "replications"].map(String::from));
    let mut rows = vec![header];
    for p in &r.predictions {
        let oi = outcome_index(p.observed);
        let mut row = vec![
            p.checkpoint.clone(),
            p.provider.clone(),
            p.observed.as_str().into(),
        ];
        row.extend(p.p.map(|x| num(Some(x))));
        row.extend([
            outcome_name(p.modal).into(),
            (p.modal == oi).to_string(),
            num(Some(brier_one(&p.p, oi))),
            p.counts.iter().sum::<u64>().to_string(),
        ]);
        rows.push(row);
    }
    to_csv(rows)
}

/// `confusion.csv`: observed rating by modal prediction, then the scores.
pub fn confusion_csv(r: &BacktestResult) -> anyhow::Result<Vec<u8>> {
    let mut header = vec!["observed".to_string()];
    header.extend(RatingOutcome::ALL.map(|o| format!("predicted_{}", o.as_str())));
    let mut rows = vec![header];
    for (i, row) in r.scores.confusion.iter().enumerate() {
        let mut out = vec![outcome_name(i).to_string()];
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
            num(Some(s.accuracy)),
            num(Some(s.brier)),
            num(Some(s.brier_base_rate)),
            num(Some(s.skill)),
            r.origin.replications.to_string(),
        ],
    ])
}

/// `targets.csv`: one row per calibration target: observed, the model's mean and 90% band, its
/// CRPS, the naive reference and its CRPS, the skill, and the verdict in words.
pub fn targets_csv(r: &BacktestResult) -> anyhow::Result<Vec<u8>> {
    let mut rows = vec![
        [
            "target",
            "configuration",
            "observed",
            "tolerance",
            "mean",
            "p5",
            "p95",
            "inside_90",
            "crps",
            "reference",
            "reference_crps",
            "skill",
            "beats_reference",
            "reference_rule",
            "verdict",
            "source",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for t in &r.targets {
        rows.push(vec![
            t.target.clone(),
            t.configuration.clone(),
            num(Some(t.observed)),
            num(Some(t.tolerance)),
            num(Some(t.mean)),
            num(Some(t.p5)),
            num(Some(t.p95)),
            t.inside_90.to_string(),
            num(Some(t.crps)),
            num(Some(t.reference)),
            num(Some(t.reference_crps)),
            num(Some(t.skill)),
            t.beats_reference().to_string(),
            t.reference_rule.clone(),
            t.verdict(),
            t.source.clone(),
        ]);
    }
    to_csv(rows)
}

/// A file of a back-test.
#[derive(Debug, Clone, Copy)]
pub enum BacktestExport<'a> {
    /// `backtest.csv`.
    Predictions(&'a BacktestResult),
    /// `confusion.csv`.
    Confusion(&'a BacktestResult),
    /// `scores.csv`.
    Scores(&'a BacktestResult),
    /// `targets.csv`.
    Targets(&'a BacktestResult),
    /// `backtest.json`.
    Json(&'a BacktestResult),
}

impl Exporter for BacktestExport<'_> {
    fn file_name(&self) -> String {
        match self {
            BacktestExport::Predictions(_) => layout::BACKTEST_CSV,
            BacktestExport::Confusion(_) => layout::CONFUSION_CSV,
            BacktestExport::Scores(_) => layout::SCORES_CSV,
            BacktestExport::Targets(_) => layout::TARGETS_CSV,
            BacktestExport::Json(_) => layout::BACKTEST_JSON,
        }
        .into()
    }

    fn bytes(&self) -> anyhow::Result<Vec<u8>> {
        match *self {
            BacktestExport::Predictions(r) => backtest_csv(r),
            BacktestExport::Confusion(r) => confusion_csv(r),
            BacktestExport::Scores(r) => scores_csv(r),
            BacktestExport::Targets(r) => targets_csv(r),
            BacktestExport::Json(r) => json_bytes(r),
        }
    }
}

/// The files of a back-test.
pub fn files(r: &BacktestResult) -> [BacktestExport<'_>; 5] {
    [
        BacktestExport::Predictions(r),
        BacktestExport::Confusion(r),
        BacktestExport::Scores(r),
        BacktestExport::Targets(r),
        BacktestExport::Json(r),
    ]
}
