//! The files of a sweep: `sweep.csv`, `tipping.csv`, `refine.csv` (when refined) and `sweep.json`.

use super::column::{Column, column, stat_columns};
use super::{Exporter, json_bytes, layout, num, to_csv};
use crate::experiment::MarketFigure;
use crate::explore::sweep::SweepResult;

const P: &str = "probability (0 to 1)";

/// The columns of `tipping.csv`, in order: (name, unit, meaning).
const TIPPING: [(&str, &str, &str); 11] = [
    ("provider", "id", "the provider whose survival crosses 50%"),
    (
        "parameter",
        "field path",
        "the parameter along which it crosses",
    ),
    (
        "fixed",
        "path=value, separated by ;",
        "the other swept parameters and the values they are held at; empty with one parameter",
    ),
    (
        "direction",
        "falling or rising",
        "whether survival falls or rises through 50% as the parameter grows",
    ),
    (
        "tipping_point",
        "the parameter's unit",
        "where survival crosses 50% (interpolated between grid points, or bisected by --refine)",
    ),
    (
        "lo",
        "the parameter's unit",
        "the tipping point's interval, low end; empty when it runs past the sweep's end",
    ),
    (
        "hi",
        "the parameter's unit",
        "the tipping point's interval, high end; empty when it runs past the sweep's end",
    ),
    (
        "bracket_lo",
        "the parameter's unit",
        "the grid value below the crossing",
    ),
    (
        "bracket_hi",
        "the parameter's unit",
        "the grid value above the crossing",
    ),
    (
        "method",
        "grid or refined",
        "how the tipping point was found",
    ),
    ("replications", "runs", "replications per point"),
];

/// The columns of `refine.csv`, in order: (name, unit, meaning).
const REFINE: [(&str, &str, &str); 7] = [
    (
        "provider",
        "id",
        "the provider whose tipping point was refined",
    ),
    ("x", "the parameter's unit", "the parameter value evaluated"),
    ("successes", "runs", "runs in which the provider survived"),
    ("replications", "runs", "runs at this value"),
    (
        "p_survive",
        P,
        "share of runs in which the provider survived",
    ),
    (
        "p_survive_lo",
        P,
        "95% Wilson interval of p_survive, low end",
    ),
    (
        "p_survive_hi",
        P,
        "95% Wilson interval of p_survive, high end",
    ),
];

fn names<const N: usize>(table: &[(&str, &str, &str); N]) -> Vec<String> {
    table.iter().map(|(n, _, _)| n.to_string()).collect()
}

/// The columns of a sweep's `sweep.csv`, `tipping.csv` and `refine.csv`, for the data dictionary:
/// `axes` are the swept parameters' paths, a column each in `sweep.csv`.
pub fn columns(axes: &[String]) -> Vec<Column> {
    let f = layout::SWEEP_CSV;
    let mut c = vec![column(f, "point", "index", "the grid point, in grid order")];
    c.extend(axes.iter().map(|a| {
        column(
            f,
            a,
            "as in the scenario",
            "the swept parameter's value at the point",
        )
    }));
    c.push(column(
        f,
        "replications",
        "runs",
        "replications at the point",
    ));
    c.push(column(
        f,
        "<provider>.p_survive",
        P,
        "one column per provider: share of the point's runs in which it is open at the end",
    ));
    c.push(column(
        f,
        "<provider>.p_survive_lo",
        P,
        "one column per provider: 95% Wilson interval of its p_survive, low end",
    ));
    c.push(column(
        f,
        "<provider>.p_survive_hi",
        P,
        "one column per provider: 95% Wilson interval of its p_survive, high end",
    ));
    for m in MarketFigure::HEADLINE {
        c.extend(stat_columns(
            f,
            m.key(),
            m.unit().file_unit(),
            m.meaning(),
            &["p05", "p50", "p95"],
        ));
    }
    for (table, file) in [
        (&TIPPING[..], layout::TIPPING_CSV),
        (&REFINE[..], layout::REFINE_CSV),
    ] {
        c.extend(table.iter().map(|(n, u, m)| column(file, n, u, m)));
    }
    c
}

/// `sweep.csv`: one row per point: the parameter values, each provider's survival with its Wilson
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
    let mut rows = vec![names(&TIPPING)];
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
    let mut rows = vec![names(&REFINE)];
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
