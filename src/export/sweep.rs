//! The files of a sweep: `sweep.csv`, `tipping.csv`, `refine.csv` (when refined) and `sweep.json`.

use super::{Exporter, json_bytes, layout, num, to_csv};
use crate::explore::sweep::SweepResult;

/// interval, and the headline figures (mean and 5/50/95% quantiles).
pub fn sweep_csv(r: &SweepResult) -> anyhow::Result<Vec<u8>> {
    let mut header = vec!["point".to_string()];
    header.extend(r.axes.iter().map(|a| a.path.clone()));
    header.push("replications".into());
    for p in &r.providers {
        for c in ["p_survive", "p_survive_lo", "p_survive_hi"] {
            header.push(format!("{}.{c}", p.id));
        }
    }
    if let Some(first) = r.points.first() {
        for (figure, _) in first.headline.named() {
            let name = figure.key();
            for q in ["mean", "p05", "p50", "p95"] {
                header.push(format!("{name}_{q}"));
            }
        }
    }
    let mut rows = vec![header];
    for (i, pt) in r.points.iter().enumerate() {
        let mut row = vec![i.to_string()];
        row.extend(pt.values.iter().map(|v| format!("{v}")));
        row.push(r.origin.replications.to_string());
        for s in &pt.survival {
            row.extend([s.p, s.lo, s.hi].map(|v| num(Some(v))));
        }
        for (_, f) in pt.headline.named() {
            row.extend([f.mean, f.p05, f.p50, f.p95].map(num));
        }
        rows.push(row);
    }
    to_csv(rows)
}

/// `tipping.csv`: one row per tipping point; an empty `lo` or `hi` means the interval runs past
/// the end of the sweep.
pub fn tipping_csv(r: &SweepResult) -> anyhow::Result<Vec<u8>> {
    let mut rows = vec![
        [
            "provider",
            "parameter",
            "fixed",
            "direction",
            "tipping_point",
            "lo",
            "hi",
            "bracket_lo",
            "bracket_hi",
            "method",
            "replications",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for t in &r.tipping {
        rows.push(vec![
            t.provider.clone(),
            t.parameter.clone(),
            t.fixed
                .iter()
                .map(|(p, v)| format!("{p}={v}"))
                .collect::<Vec<_>>()
                .join(";"),
            t.crossing.direction.as_str().into(),
            num(Some(t.crossing.estimate)),
            num(t.crossing.lo),
            num(t.crossing.hi),
            num(Some(t.crossing.bracket.0)),
            num(Some(t.crossing.bracket.1)),
            t.method.as_str().into(),
            t.replications.to_string(),
        ]);
    }
    to_csv(rows)
}

/// `refine.csv`: the points `--refine` evaluated.
pub fn refine_csv(r: &SweepResult) -> anyhow::Result<Vec<u8>> {
    let mut rows = vec![
        [
            "provider",
            "x",
            "successes",
            "replications",
            "p_survive",
            "p_survive_lo",
            "p_survive_hi",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for p in &r.refined {
        let s = &p.survival;
        rows.push(vec![
            p.provider.clone(),
            num(Some(p.x)),
            s.successes.to_string(),
            s.trials.to_string(),
            num(Some(s.p)),
            num(Some(s.lo)),
            num(Some(s.hi)),
        ]);
    }
    to_csv(rows)
}

/// A file of a sweep.
#[derive(Debug, Clone, Copy)]
pub enum SweepExport<'a> {
    /// `sweep.csv`.
    Points(&'a SweepResult),
    /// `tipping.csv`.
    Tipping(&'a SweepResult),
    /// `refine.csv`.
    Refined(&'a SweepResult),
    /// `sweep.json`.
    Json(&'a SweepResult),
}

impl Exporter for SweepExport<'_> {
    fn file_name(&self) -> String {
        match self {
            SweepExport::Points(_) => layout::SWEEP_CSV,
            SweepExport::Tipping(_) => layout::TIPPING_CSV,
            SweepExport::Refined(_) => layout::REFINE_CSV,
            SweepExport::Json(_) => layout::SWEEP_JSON,
        }
        .into()
    }

    fn bytes(&self) -> anyhow::Result<Vec<u8>> {
        match *self {
            SweepExport::Points(r) => sweep_csv(r),
            SweepExport::Tipping(r) => tipping_csv(r),
            SweepExport::Refined(r) => refine_csv(r),
            SweepExport::Json(r) => json_bytes(r),
        }
    }
}

/// The files of a sweep: `refine.csv` only when `--refine` evaluated points.
pub fn files(r: &SweepResult) -> Vec<SweepExport<'_>> {
    let mut out = vec![SweepExport::Points(r), SweepExport::Tipping(r)];
    if !r.refined.is_empty() {
        out.push(SweepExport::Refined(r));
    }
    out.push(SweepExport::Json(r));
    out
}
