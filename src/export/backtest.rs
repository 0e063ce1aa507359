//! The files of a back-test: `backtest.csv`, `confusion.csv`, `scores.csv`, `targets.csv` and
//! `backtest.json`.

use super::column::{Column, column};
use super::{Exporter, json_bytes, layout, num, to_csv};
use crate::experiment::RatingOutcome;
use crate::explore::backtest::{BacktestResult, brier_one, outcome_index, outcome_name};

const P: &str = "probability (0 to 1)";

/// The columns of `scores.csv`, in order: (name, unit, meaning).
const SCORES: [(&str, &str, &str); 6] = [
    ("observations", "ratings", "the recorded ratings scored"),
    (
        "accuracy",
        "share (0 to 1)",
        "share of recorded ratings whose modal prediction is right",
    ),
    (
        "brier",
        "score (0 best, 2 worst)",
        "multi-class Brier score: mean over ratings of the sum over A, B, C and unrated of \
         (p - observed)^2",
    ),
    (
        "brier_base_rate",
        "score (0 best, 2 worst)",
        "the Brier score of predicting the observed base rates for every provider",
    ),
    (
        "brier_skill",
        "score (1 best)",
        "1 - brier / brier_base_rate: above 0 when the model beats the base rates",
    ),
    ("replications", "runs", "replications simulated"),
];

/// The columns of `targets.csv`, in order: (name, unit, meaning).
const TARGETS: [(&str, &str, &str); 16] = [
    ("target", "name", "the target (kind, and what it counts)"),
    (
        "configuration",
        "name",
        "the configuration it was observed under",
    ),
    ("observed", "the target's unit", "the observed value"),
    (
        "tolerance",
        "the target's unit",
        "the tolerance the scenario gives it",
    ),
    (
        "mean",
        "the target's unit",
        "the model's mean over replications",
    ),
    (
        "p5",
        "the target's unit",
        "5th percentile of the model over replications",
    ),
    (
        "p95",
        "the target's unit",
        "95th percentile of the model over replications",
    ),
    (
        "inside_90",
        "true or false",
        "whether the observed value is inside the model's 5-95% band",
    ),
    (
        "crps",
        "the target's unit",
        "continuous ranked probability score of the model's replications (0: certain and right)",
    ),
    (
        "reference",
        "the target's unit",
        "the naive reference forecast (see reference_rule)",
    ),
    (
        "reference_crps",
        "the target's unit",
        "the reference's score: its absolute error",
    ),
    (
        "skill",
        "score (1 best)",
        "1 - crps / reference_crps: above 0 when the model beats the reference",
    ),
    (
        "beats_reference",
        "true or false",
        "whether skill is above 0",
    ),
    (
        "reference_rule",
        "text",
        "how the reference forecast is made",
    ),
    ("verdict", "text", "the comparison in words"),
    (
        "source",
        "text",
        "where the observation comes from, as the scenario says",
    ),
];

/// The columns of a back-test's `backtest.csv`, `confusion.csv`, `scores.csv` and
/// `targets.csv`, for the data dictionary.
pub fn columns() -> Vec<Column> {
    let b = layout::BACKTEST_CSV;
    let mut c = vec![
        column(
            b,
            "checkpoint",
            "id",
            "the checkpoint of the recorded rating",
        ),
        column(b, "provider", "id", "the provider rated"),
        column(b, "observed", "A, B, C or unrated", "the recorded rating"),
    ];
    for o in RatingOutcome::ALL {
        let o = o.as_str();
        c.push(column(
            b,
            &format!("p_{o}"),
            P,
            &if o == "unrated" {
                "share of runs in which the provider was not open at the checkpoint".to_string()
            } else {
                format!("share of runs in which the provider is rated {o} there")
            },
        ));
    }
    c.extend([
        column(
            b,
            "modal",
            "A, B, C or unrated",
            "the most likely outcome (ties go to the earlier of A, B, C, unrated)",
        ),
        column(
            b,
            "correct",
            "true or false",
            "whether modal is the recorded rating",
        ),
        column(
            b,
            "brier",
            "score (0 best, 2 worst)",
            "this rating's Brier score: the sum over outcomes of (p - observed)^2",
        ),
        column(
            b,
            "replications",
            "runs",
            "runs the probabilities come from",
        ),
    ]);
    let f = layout::CONFUSION_CSV;
    c.push(column(
        f,
        "observed",
        "A, B, C or unrated",
        "the recorded rating",
    ));
    for o in RatingOutcome::ALL {
        c.push(column(
            f,
            &format!("predicted_{}", o.as_str()),
            "ratings",
            &format!(
                "recorded ratings of this row whose modal prediction is {}",
                o.as_str()
            ),
        ));
    }
    for (table, file) in [
        (&SCORES[..], layout::SCORES_CSV),
        (&TARGETS[..], layout::TARGETS_CSV),
    ] {
        c.extend(table.iter().map(|(n, u, m)| column(file, n, u, m)));
    }
    c
}

fn names(table: &[(&str, &str, &str)]) -> Vec<String> {
    table.iter().map(|(n, _, _)| n.to_string()).collect()
}

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
        names(&SCORES),
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
    let mut rows = vec![names(&TARGETS)];
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
