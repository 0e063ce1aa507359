//! The files of a back-test: `backtest.csv`, `confusion.csv`, `scores.csv` and `backtest.json`.

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

/// A file of a back-test.
#[derive(Debug, Clone, Copy)]
pub enum BacktestExport<'a> {
    /// `backtest.csv`.
    Predictions(&'a BacktestResult),
    /// `confusion.csv`.
    Confusion(&'a BacktestResult),
    /// `scores.csv`.
    Scores(&'a BacktestResult),
    /// `backtest.json`.
    Json(&'a BacktestResult),
}

impl Exporter for BacktestExport<'_> {
    fn file_name(&self) -> String {
        match self {
            BacktestExport::Predictions(_) => layout::BACKTEST_CSV,
            BacktestExport::Confusion(_) => layout::CONFUSION_CSV,
            BacktestExport::Scores(_) => layout::SCORES_CSV,
            BacktestExport::Json(_) => layout::BACKTEST_JSON,
        }
        .into()
    }

    fn bytes(&self) -> anyhow::Result<Vec<u8>> {
        match *self {
            BacktestExport::Predictions(r) => backtest_csv(r),
            BacktestExport::Confusion(r) => confusion_csv(r),
            BacktestExport::Scores(r) => scores_csv(r),
            BacktestExport::Json(r) => json_bytes(r),
        }
    }
}

/// The files of a back-test.
pub fn files(r: &BacktestResult) -> [BacktestExport<'_>; 4] {
    [
        BacktestExport::Predictions(r),
        BacktestExport::Confusion(r),
        BacktestExport::Scores(r),
        BacktestExport::Json(r),
    ]
}
