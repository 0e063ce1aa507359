//! The files of a sensitivity analysis: `sensitivity.csv`, `morris.csv` (when Morris ran) and
//! `sensitivity.json`.

use super::{Exporter, json_bytes, layout, num, to_csv};
use crate::explore::sensitivity::SensitivityResult;

/// `sensitivity.csv`: one-at-a-time effects, per output, largest first.
pub fn sensitivity_csv(r: &SensitivityResult) -> anyhow::Result<Vec<u8>> {
    let mut rows = vec![
        [
            "output",
            "rank",
            "parameter",
            "base",
            "low",
            "high",
            "baseline",
            "y_low",
            "y_high",
            "swing",
            "effect",
            "swing_ci_lo",
            "swing_ci_hi",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for (oi, o) in r.outputs.iter().enumerate() {
        for (rank, row) in r.oat_of(o).into_iter().enumerate() {
            let Some(f) = r.factors.iter().find(|f| f.path == row.path) else {
                continue;
            };
            rows.push(vec![
                row.output.clone(),
                (rank + 1).to_string(),
                row.path.clone(),
                num(Some(f.base)),
                num(Some(f.low)),
                num(Some(f.high)),
                num(r.baseline.get(oi).copied()),
                num(Some(row.y_low)),
                num(Some(row.y_high)),
                num(Some(row.swing)),
                num(Some(row.effect())),
                num(Some(row.swing_ci.0)),
                num(Some(row.swing_ci.1)),
            ]);
        }
    }
    to_csv(rows)
}

/// `morris.csv`: Morris statistics, per output, largest mu* first.
pub fn morris_csv(r: &SensitivityResult) -> anyhow::Result<Vec<u8>> {
    let mut rows = vec![
        [
            "output",
            "rank",
            "parameter",
            "mu_star",
            "mu",
            "sigma",
            "effects",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for o in &r.outputs {
        for (rank, m) in r.morris_of(o).into_iter().enumerate() {
            rows.push(vec![
                m.output.clone(),
                (rank + 1).to_string(),
                m.path.clone(),
                num(Some(m.mu_star)),
                num(Some(m.mu)),
                num(Some(m.sigma)),
                m.effects.to_string(),
            ]);
        }
    }
    to_csv(rows)
}

/// A file of a sensitivity analysis.
#[derive(Debug, Clone, Copy)]
pub enum SensitivityExport<'a> {
    /// `sensitivity.csv`.
    OneAtATime(&'a SensitivityResult),
    /// `morris.csv`.
    Morris(&'a SensitivityResult),
    /// `sensitivity.json`.
    Json(&'a SensitivityResult),
}

impl Exporter for SensitivityExport<'_> {
    fn file_name(&self) -> String {
        match self {
            SensitivityExport::OneAtATime(_) => layout::SENSITIVITY_CSV,
            SensitivityExport::Morris(_) => layout::MORRIS_CSV,
            SensitivityExport::Json(_) => layout::SENSITIVITY_JSON,
        }
        .into()
    }

    fn bytes(&self) -> anyhow::Result<Vec<u8>> {
        match *self {
            SensitivityExport::OneAtATime(r) => sensitivity_csv(r),
            SensitivityExport::Morris(r) => morris_csv(r),
            SensitivityExport::Json(r) => json_bytes(r),
        }
    }
}

/// The files of a sensitivity analysis: `morris.csv` only when Morris ran.
pub fn files(r: &SensitivityResult) -> Vec<SensitivityExport<'_>> {
    let mut out = vec![SensitivityExport::OneAtATime(r)];
    if !r.morris.is_empty() {
        out.push(SensitivityExport::Morris(r));
    }
    out.push(SensitivityExport::Json(r));
    out
}
