//! The summary files of one configuration: `providers.csv`, `services.csv`, `timeseries.csv` and
//! `summary.json`.

use std::path::Path;

use serde::{Deserialize, Serialize};

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
    for f in [
        "margin",
        "customers",
        "population",
        "staff",
        "reserves",
        "revenue",
    ] {
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

/// `timeseries.csv`: per quarter, mean and 5-95% band of open providers, in-house share and cost per head.
pub fn timeseries_csv(s: &Summary) -> anyhow::Result<Vec<u8>> {
    let q = [0.05, 0.95];
    let qn = ["p05", "p95"];
    let mut header = vec!["config".to_string(), "period".to_string()];
    for f in ["open_providers", "in_house_share", "cost_per_head"] {
        header.extend(stat_headers(f, &qn));
    }
    let mut rows = vec![header];
    for p in &s.series {
        let mut r = vec![s.configuration.clone(), p.period.to_string()];
        for st in [&p.open_providers, &p.in_house_share, &p.cost_per_head] {
            r.extend(stat_cells(st, &q));
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
    /// `summary.json`.
    Json(&'a Summary, &'a Provenance),
}

impl Exporter for SummaryExport<'_> {
    fn file_name(&self) -> String {
        match self {
            SummaryExport::Providers(_) => layout::PROVIDERS,
            SummaryExport::Services(_) => layout::SERVICES,
            SummaryExport::Timeseries(_) => layout::TIMESERIES,
            SummaryExport::Json(..) => layout::SUMMARY,
        }
        .into()
    }

    fn bytes(&self) -> anyhow::Result<Vec<u8>> {
        match *self {
            SummaryExport::Providers(s) => providers_csv(s),
            SummaryExport::Services(s) => services_csv(s),
            SummaryExport::Timeseries(s) => timeseries_csv(s),
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
            SummaryExport::Json(s, provenance),
        ],
    )?;
    Ok(())
}
