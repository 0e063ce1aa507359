//! The file of a comparison: `comparison.csv`.

use super::column::{Column, column};
use super::{Exporter, layout, num};
use crate::compare::Comparison;

/// The columns of `comparison.csv`, in order: (name, unit, meaning).
const COLUMNS: [(&str, &str, &str); 11] = [
    (
        "baseline",
        "name",
        "the configuration every other is compared with",
    ),
    ("config", "name", "the configuration compared"),
    (
        "figure",
        "name",
        "the figure compared: a market-wide figure of runs.csv, or survival of a provider",
    ),
    (
        "provider",
        "id",
        "the provider whose survival is compared; empty for a market-wide figure",
    ),
    (
        "pairs",
        "runs",
        "pairs of runs compared (the same replication index, so the same random numbers, in both)",
    ),
    (
        "baseline_mean",
        "the figure's unit",
        "mean of the figure in the baseline",
    ),
    (
        "config_mean",
        "the figure's unit",
        "mean of the figure in the configuration",
    ),
    (
        "diff_mean",
        "the figure's unit",
        "mean paired difference: configuration minus baseline",
    ),
    (
        "diff_sd",
        "the figure's unit",
        "standard deviation of the paired differences",
    ),
    (
        "diff_lo",
        "the figure's unit",
        "95% interval of the mean difference, low end",
    ),
    (
        "diff_hi",
        "the figure's unit",
        "95% interval of the mean difference, high end",
    ),
];

/// The columns of `comparison.csv` (written by `compare` only), for the data dictionary.
pub fn comparison_columns() -> Vec<Column> {
    COLUMNS
        .iter()
        .map(|(name, unit, meaning)| {
            column(
                layout::COMPARISON,
                name,
                unit,
                &format!("compare only: {meaning}"),
            )
        })
        .collect()
}

/// `comparison.csv`: one row per compared configuration and figure, with the baseline's and the
/// configuration's means, the mean paired difference, its standard deviation and 95% interval.
pub fn comparison_csv(c: &Comparison) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS.map(|(name, _, _)| name))?;
    for r in c.rows() {
        let e = &r.estimate;
        w.write_record([
            c.baseline.clone(),
            r.configuration.clone(),
            r.measure.key().to_string(),
            r.measure.provider().unwrap_or_default().to_string(),
            e.n.to_string(),
            num(Some(e.baseline_mean)),
            num(Some(e.mean)),
            num(Some(e.diff)),
            num(e.sd),
            num(e.interval.map(|i| i.0)),
            num(e.interval.map(|i| i.1)),
        ])?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// `comparison.csv` of a comparison.
#[derive(Debug, Clone, Copy)]
pub struct ComparisonExport<'a>(pub &'a Comparison);

impl Exporter for ComparisonExport<'_> {
    fn file_name(&self) -> String {
        layout::COMPARISON.into()
    }

    fn bytes(&self) -> anyhow::Result<Vec<u8>> {
        comparison_csv(self.0)
    }
}
