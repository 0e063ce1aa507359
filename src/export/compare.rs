//! The file of a comparison: `comparison.csv`.

use super::{Exporter, layout, num};
use crate::compare::Comparison;

/// `comparison.csv`: one row per compared configuration and figure, with the baseline's and the
/// configuration's means, the mean paired difference, its standard deviation and 95% interval.
pub fn comparison_csv(c: &Comparison) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "baseline",
        "config",
        "figure",
        "provider",
        "pairs",
        "baseline_mean",
        "config_mean",
        "diff_mean",
        "diff_sd",
        "diff_lo",
        "diff_hi",
    ])?;
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
