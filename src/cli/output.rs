//! How commands write what the library returns: results files through [`export::write`] and
//! charts drawn in memory by [`charts`], every file whole or not at all, every name from the
//! [`layout`](crate::export::layout).

use std::path::Path;

use anyhow::Context;

use crate::charts::{self, Rendered};
use crate::experiment::{Labels, Summary};
use crate::export::{self, Exporter};

/// Writes files into `dir`, naming the folder when that fails.
pub fn write_files<E: Exporter>(dir: &Path, files: &[E]) -> anyhow::Result<()> {
    export::write(dir, files)
        .with_context(|| format!("cannot write results in {}", dir.display()))?;
    Ok(())
}

/// Writes drawn charts into `dir`, each as `<name>.svg` and `<name>.png`.
pub fn write_charts(dir: &Path, drawn: &[Rendered]) -> anyhow::Result<()> {
    export::write(dir, &Rendered::all_files(drawn))
        .with_context(|| format!("cannot write charts in {}", dir.display()))?;
    Ok(())
}

/// Draws and writes the charts of one configuration, as `run`, `compare` and `merge` all do.
pub fn write_configuration_charts(
    dir: &Path,
    summary: &Summary,
    labels: &Labels,
) -> anyhow::Result<()> {
    let drawn = charts::configuration_charts(std::slice::from_ref(summary), labels)?;
    write_charts(dir, &drawn)
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |v| format!("{:.0}%", v * 100.0))
}

/// The short table of headline figures per configuration printed at the end of a run.
pub fn headline_table(summaries: &[Summary]) -> String {
    let mut s = format!(
        "{:<24} {:>7} {:>22} {:>9} {:>6} {:>7}  {}\n",
        "configuration",
        "reps",
        "cost £/head (5-95%)",
        "in-house",
        "open",
        "unmet",
        "least likely to survive"
    );
    for x in summaries {
        let h = &x.headline;
        let cost = match (
            h.cost_per_head.mean(),
            h.cost_per_head.quantile(0.05),
            h.cost_per_head.quantile(0.95),
        ) {
            (Some(m), Some(lo), Some(hi)) => format!("{m:.2} ({lo:.2}-{hi:.2})"),
            _ => "-".into(),
        };
        let weakest = x
            .providers
            .iter()
            .filter_map(|p| p.survived.estimate().map(|e| (e, p)))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map_or_else(|| "-".into(), |(e, p)| format!("{} {}", p.id, pct(Some(e))));
        s.push_str(&format!(
            "{:<24} {:>7} {:>22} {:>9} {:>6} {:>7}  {}\n",
            x.configuration,
            x.replications,
            cost,
            pct(h.in_house_share.mean()),
            h.open_providers
                .mean()
                .map_or_else(|| "-".into(), |v| format!("{v:.1}")),
            h.unmet_share
                .mean()
                .map_or_else(|| "-".into(), |v| format!("{:.1}%", v * 100.0)),
            weakest
        ));
    }
    s
}
