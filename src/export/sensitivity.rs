//! The files of a sensitivity analysis: `sensitivity.csv`, `morris.csv` (when Morris ran) and
//! `sensitivity.json`.

use super::column::{Column, column};
use super::{Exporter, json_bytes, layout, num, to_csv};
use crate::explore::sensitivity::SensitivityResult;

const OUTPUT: &str = "the output's unit";

/// The columns of `sensitivity.csv`, in order: (name, unit, meaning).
const ONE_AT_A_TIME: [(&str, &str, &str); 13] = [
    (
        "output",
        "name",
        "the output measured: a market-wide figure, or survival:<provider>",
    ),
    (
        "rank",
        "1 = largest",
        "the parameter's rank for this output, by |swing|",
    ),
    ("parameter", "field path", "the parameter varied"),
    ("base", "the parameter's unit", "its value in the scenario"),
    ("low", "the parameter's unit", "its low end"),
    ("high", "the parameter's unit", "its high end"),
    (
        "baseline",
        OUTPUT,
        "the output's mean with every parameter at its base",
    ),
    (
        "y_low",
        OUTPUT,
        "the output's mean with this parameter at its low end",
    ),
    (
        "y_high",
        OUTPUT,
        "the output's mean with this parameter at its high end",
    ),
    ("swing", OUTPUT, "y_high minus y_low"),
    ("effect", OUTPUT, "|swing|, what the ranking sorts by"),
    (
        "swing_ci_lo",
        OUTPUT,
        "95% interval of the swing from the paired per-replication differences, low end",
    ),
    (
        "swing_ci_hi",
        OUTPUT,
        "95% interval of the swing from the paired per-replication differences, high end",
    ),
];

/// The columns of `morris.csv`, in order: (name, unit, meaning).
const MORRIS: [(&str, &str, &str); 7] = [
    (
        "output",
        "name",
        "the output measured: a market-wide figure, or survival:<provider>",
    ),
    (
        "rank",
        "1 = largest",
        "the parameter's rank for this output, by mu_star",
    ),
    ("parameter", "field path", "the parameter varied"),
    (
        "mu_star",
        "output's unit per range",
        "mean absolute elementary effect, per change from the parameter's low end to its high end",
    ),
    (
        "mu",
        "output's unit per range",
        "mean signed elementary effect",
    ),
    (
        "sigma",
        "output's unit per range",
        "standard deviation of the elementary effects (interactions or non-linearity)",
    ),
    (
        "effects",
        "count",
        "elementary effects measured (one per trajectory)",
    ),
];

/// The columns of `sensitivity.csv` and `morris.csv`, for the data dictionary.
pub fn columns() -> Vec<Column> {
    let f = |file: &'static str, table: &[(&str, &str, &str)]| -> Vec<Column> {
        table
            .iter()
            .map(|(n, u, m)| column(file, n, u, m))
            .collect()
    };
    let mut c = f(layout::SENSITIVITY_CSV, &ONE_AT_A_TIME);
    c.extend(f(layout::MORRIS_CSV, &MORRIS));
    c
}

fn names(table: &[(&str, &str, &str)]) -> Vec<String> {
    table.iter().map(|(n, _, _)| n.to_string()).collect()
}

/// `sensitivity.csv`: one-at-a-time effects, per output, largest first.
pub fn sensitivity_csv(r: &SensitivityResult) -> anyhow::Result<Vec<u8>> {
    let mut rows = vec![names(&ONE_AT_A_TIME)];
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
    let mut rows = vec![names(&MORRIS)];
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
