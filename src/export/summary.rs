//! The summary files of one configuration: `providers.csv`, `services.csv`, `timeseries.csv` and
//! `summary.json`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::column::{Column, column, stat_columns};
use super::{Exporter, json_bytes, layout, num, to_csv, write};
use crate::experiment::{
    CATEGORIES, Figure, HeadlineFigures, MarketFigure, Provenance, RatingOutcome, Summary,
};
use crate::stats::{Proportion, Stat};

/// A provider's headline survival.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurvivalFigure {
    /// Provider id.
    pub provider: String,
    /// Survival probability.
    pub p_survive: Option<f64>,
    /// 95% Wilson interval, low.
    pub lo: Option<f64>,
    /// 95% Wilson interval, high.
    pub hi: Option<f64>,
}

/// The headline figures in `summary.json`: the headline market figures under their keys, the
/// intended host share, and each provider's survival.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryHeadline {
    /// The headline market figures, each under its key.
    #[serde(flatten)]
    pub figures: HeadlineFigures,
    /// Share of intended volume going to CCGs' own host CSUs (quarter 0).
    pub intended_host_share: Figure,
    /// Each provider's survival.
    pub survival: Vec<SurvivalFigure>,
}

/// The contents of `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryFile {
    /// Where the run came from.
    pub provenance: Provenance,
    /// Headline figures.
    pub headline: SummaryHeadline,
}

/// Headline figures of a summary.
pub fn headline(s: &Summary) -> SummaryHeadline {
    SummaryHeadline {
        figures: HeadlineFigures::of(s),
        intended_host_share: MarketFigure::IntendedHostShare.of_summary(s).into(),
        survival: s
            .providers
            .iter()
            .map(|p| {
                let ci = p.survived.wilson(Proportion::Z95);
                SurvivalFigure {
                    provider: p.id.clone(),
                    p_survive: p.survived.estimate(),
                    lo: ci.map(|c| c.0),
                    hi: ci.map(|c| c.1),
                }
            })
            .collect(),
    }
}

fn stat_cells(s: &Stat, quantiles: &[f64]) -> Vec<String> {
    let mut out = vec![num(s.mean())];
    out.extend(quantiles.iter().map(|&q| num(s.quantile(q))));
    out
}

fn stat_headers(name: &str, quantiles: &[&str]) -> Vec<String> {
    let mut out = vec![format!("{name}_mean")];
    out.extend(quantiles.iter().map(|q| format!("{name}_{q}")));
    out
}

const Q3: [f64; 3] = [0.05, 0.5, 0.95];
const Q3N: [&str; 3] = ["p05", "p50", "p95"];

/// The provider figures of `providers.csv` summarised over runs: (name, unit, what).
const PROVIDER_FIGURES: [(&str, &str, &str); 6] = [
    (
        "margin",
        "share of revenue",
        "the surplus over revenue of its last four quarters open",
    ),
    ("customers", "CCGs", "the CCGs buying from it at the end"),
    (
        "population",
        "people",
        "the population of the CCGs buying from it at the end",
    ),
    ("staff", "FTE", "its staff at the end"),
    ("reserves", "£", "its reserves at the end"),
    (
        "revenue",
        "£",
        "its revenue over its last four quarters open",
    ),
];

/// The columns of `providers.csv` (a family per checkpoint: `p_<checkpoint>_A` ...).
pub fn providers_columns() -> Vec<Column> {
    let f = layout::PROVIDERS;
    let p = "probability (0 to 1)";
    let mut c = vec![
        column(f, "config", "name", "the configuration run"),
        column(f, "provider", "id", "the provider (its id in the scenario)"),
        column(f, "name", "text", "the provider's name"),
        column(
            f,
            "kind",
            "local, collaborative or national",
            "the kind of provider",
        ),
        column(
            f,
            "region",
            "id",
            "its region; empty for a national provider",
        ),
        column(f, "replications", "runs", "the runs summarised"),
        column(
            f,
            "p_survive",
            p,
            "share of runs in which it is open at the end",
        ),
        column(
            f,
            "p_survive_lo",
            p,
            "95% Wilson interval of p_survive, low end",
        ),
        column(
            f,
            "p_survive_hi",
            p,
            "95% Wilson interval of p_survive, high end",
        ),
        column(
            f,
            "p_stopped",
            p,
            "share of runs in which it is stopped at a checkpoint",
        ),
        column(
            f,
            "p_failed",
            p,
            "share of runs in which it fails (insolvent) and leaves",
        ),
        column(
            f,
            "p_merged",
            p,
            "share of runs in which it fails (insolvent) and merges into another CSU",
        ),
        column(
            f,
            "p_ended",
            p,
            "share of runs in which it ends as a collaborative without members",
        ),
    ];
    for r in RatingOutcome::ALL {
        let r = r.as_str();
        c.push(column(
            f,
            &format!("p_<checkpoint>_{r}"),
            p,
            &if r == "unrated" {
                "one column per checkpoint: share of runs in which it is not open by then".into()
            } else {
                format!("one column per checkpoint: share of runs in which it is rated {r} there")
            },
        ));
    }
    for (name, unit, what) in PROVIDER_FIGURES {
        c.extend(stat_columns(f, name, unit, what, &Q3N));
    }
    c
}

/// The columns of `services.csv`.
pub fn services_columns() -> Vec<Column> {
    let f = layout::SERVICES;
    let mut c = vec![
        column(f, "config", "name", "the configuration run"),
        column(
            f,
            "service",
            "id",
            "the service line (its id in the scenario)",
        ),
    ];
    for k in CATEGORIES {
        let who = match k {
            "in_house" => "CCGs' own teams (in-house)".to_string(),
            "local" => "local CSUs".into(),
            other => format!("{other} providers"),
        };
        c.extend(stat_columns(
            f,
            k,
            "share (0 to 1)",
            &format!("the share of the service line's volume supplied by {who} at the end"),
            &Q3N,
        ));
    }
    c.extend(stat_columns(
        f,
        "hhi",
        "index (0 to 1)",
        "the service line's concentration at the end (Herfindahl-Hirschman index of suppliers' shares)",
        &Q3N,
    ));
    c
}

/// The columns of `timeseries.csv`.
pub fn timeseries_columns() -> Vec<Column> {
    let f = layout::TIMESERIES;
    let mut c = vec![
        column(f, "config", "name", "the configuration run"),
        column(
            f,
            "period",
            "quarter of the run",
            "1 = the first quarter after the planning quarter 0",
        ),
        column(
            f,
            "quarter",
            "calendar quarter (2013Q2)",
            "the period's calendar quarter, counted from the scenario's first_quarter",
        ),
    ];
    for (name, unit, what) in [
        (
            "open_providers",
            "providers",
            "the providers open at the end of the quarter",
        ),
        (
            "in_house_share",
            "share (0 to 1)",
            "the in-house share of volume in the quarter",
        ),
        (
            "cost_per_head",
            "£ per head per year",
            "what CCGs paid in the quarter, annualised",
        ),
    ] {
        c.extend(stat_columns(f, name, unit, what, &Q3N));
    }
    for (name, what) in [
        (
            "open_local",
            "the local CSUs open at the end of the quarter",
        ),
        (
            "open_collaborative",
            "the collaboratives open at the end of the quarter",
        ),
        (
            "open_national",
            "the national providers open at the end of the quarter",
        ),
    ] {
        c.extend(stat_columns(f, name, "providers", what, &["p50"]));
    }
    c
}

/// `providers.csv`: survival with its Wilson interval, fates, ratings per checkpoint, and figures.
pub fn providers_csv(s: &Summary) -> anyhow::Result<Vec<u8>> {
    let mut header: Vec<String> = [
        "config",
        "provider",
        "name",
        "kind",
        "region",
        "replications",
        "p_survive",
        "p_survive_lo",
        "p_survive_hi",
    ]
    .map(String::from)
    .to_vec();
    header.extend(["p_stopped", "p_failed", "p_merged", "p_ended"].map(String::from));
    for cp in &s.checkpoints {
        for r in RatingOutcome::ALL {
            header.push(format!("p_{cp}_{}", r.as_str()));
        }
    }
    for (f, _, _) in PROVIDER_FIGURES {
        header.extend(stat_headers(f, &Q3N));
    }
    let mut rows = vec![header];
    for p in &s.providers {
        let ci = p.survived.wilson(Proportion::Z95);
        let mut r = vec![
            s.configuration.clone(),
            p.id.clone(),
            p.name.clone(),
            p.kind.clone(),
            p.region.clone(),
            p.survived.trials().to_string(),
            num(p.survived.estimate()),
            num(ci.map(|c| c.0)),
            num(ci.map(|c| c.1)),
            num(p.stopped.estimate()),
            num(p.failed.estimate()),
            num(p.merged.estimate()),
            num(p.ended.estimate()),
        ];
        let n = s.replications.max(1) as f64;
        for counts in &p.ratings {
            for k in RatingOutcome::counts(counts) {
                r.push(num(Some(k as f64 / n)));
            }
        }
        for st in [
            &p.margin,
            &p.customers,
            &p.population,
            &p.staff,
            &p.reserves,
            &p.revenue,
        ] {
            r.extend(stat_cells(st, &Q3));
        }
        rows.push(r);
    }
    to_csv(rows)
}

/// `services.csv`: volume shares by kind of supplier, with quantiles, and concentration.
pub fn services_csv(s: &Summary) -> anyhow::Result<Vec<u8>> {
    let mut header = vec!["config".to_string(), "service".to_string()];
    for c in CATEGORIES {
        header.extend(stat_headers(c, &Q3N));
    }
    header.extend(stat_headers("hhi", &Q3N));
    let mut rows = vec![header];
    for sv in &s.services {
        let mut r = vec![s.configuration.clone(), sv.id.clone()];
        for st in &sv.shares {
            r.extend(stat_cells(st, &Q3));
        }
        r.extend(stat_cells(&sv.hhi, &Q3));
        rows.push(r);
    }
    to_csv(rows)
}

/// `timeseries.csv`: per quarter (its index and calendar quarter), mean, median and 5-95% band of
/// open providers, in-house share and cost per head; mean and median of open local CSUs,
/// collaboratives and national providers.
pub fn timeseries_csv(s: &Summary) -> anyhow::Result<Vec<u8>> {
    let q = Q3;
    let qn = ["p05", "p50", "p95"];
    let mut header = vec![
        "config".to_string(),
        "period".to_string(),
        "quarter".to_string(),
    ];
    for f in ["open_providers", "in_house_share", "cost_per_head"] {
        header.extend(stat_headers(f, &qn));
    }
    for f in ["open_local", "open_collaborative", "open_national"] {
        header.extend(stat_headers(f, &["p50"]));
    }
    let mut rows = vec![header];
    for p in &s.series {
        let mut r = vec![
            s.configuration.clone(),
            p.period.to_string(),
            crate::scenario::schema::quarter_label(s.first_quarter.as_deref(), p.period),
        ];
        for st in [&p.open_providers, &p.in_house_share, &p.cost_per_head] {
            r.extend(stat_cells(st, &q));
        }
        for st in &p.open_by_kind {
            r.extend(stat_cells(st, &[0.5]));
        }
        rows.push(r);
    }
    to_csv(rows)
}

/// A file of one configuration's summary.
#[derive(Debug, Clone, Copy)]
pub enum SummaryExport<'a> {
    /// `providers.csv`.
    Providers(&'a Summary),
    /// `services.csv`.
    Services(&'a Summary),
    /// `timeseries.csv`.
    Timeseries(&'a Summary),
    /// `checkpoints.csv`.
    Checkpoints(&'a Summary),
    /// `summary.json`.
    Json(&'a Summary, &'a Provenance),
}

impl Exporter for SummaryExport<'_> {
    fn file_name(&self) -> String {
        match self {
            SummaryExport::Providers(_) => layout::PROVIDERS,
            SummaryExport::Services(_) => layout::SERVICES,
            SummaryExport::Timeseries(_) => layout::TIMESERIES,
            SummaryExport::Checkpoints(_) => layout::CHECKPOINTS,
            SummaryExport::Json(..) => layout::SUMMARY,
        }
        .into()
    }

    fn bytes(&self) -> anyhow::Result<Vec<u8>> {
        match *self {
            SummaryExport::Providers(s) => providers_csv(s),
            SummaryExport::Services(s) => services_csv(s),
            SummaryExport::Timeseries(s) => timeseries_csv(s),
            SummaryExport::Checkpoints(s) => super::checkpoints::checkpoints_csv(s),
            SummaryExport::Json(s, provenance) => json_bytes(&SummaryFile {
                provenance: provenance.clone(),
                headline: headline(s),
            }),
        }
    }
}

/// Writes the summary tables and `summary.json` of one configuration into `dir`.
pub fn write_summary(dir: &Path, s: &Summary, provenance: &Provenance) -> anyhow::Result<()> {
    write(
        dir,
        &[
            SummaryExport::Providers(s),
            SummaryExport::Services(s),
            SummaryExport::Timeseries(s),
            SummaryExport::Checkpoints(s),
            SummaryExport::Json(s, provenance),
        ],
    )?;
    Ok(())
}
