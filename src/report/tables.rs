//! The report's tables, built once and rendered as HTML or Markdown.

use crate::charts::Labels;
use crate::charts::labels::provider_groups;
use crate::compare::{Comparison, Measure, PairedEstimate};
use crate::experiment::MarketFigure;
use crate::experiment::{CATEGORIES, Summary};
use crate::stats::{Proportion, Stat};

/// A table: a caption, a header and rows of text cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Caption.
    pub caption: String,
    /// Column headings.
    pub header: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |v| format!("{:.0}%", v * 100.0))
}

fn band(s: &Stat, fmt: &dyn Fn(f64) -> String) -> String {
    match (s.mean(), s.quantile(0.05), s.quantile(0.95)) {
        (Some(m), Some(lo), Some(hi)) => format!("{} ({}-{})", fmt(m), fmt(lo), fmt(hi)),
        _ => "-".into(),
    }
}

/// Headline figures per configuration.
pub fn headline(summaries: &[Summary]) -> Table {
    let rows = summaries
        .iter()
        .map(|s| {
            let h = &s.headline;
            let weakest = s
                .providers
                .iter()
                .filter_map(|p| p.survived.estimate().map(|e| (e, p)))
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .map_or_else(
                    || "-".into(),
                    |(e, p)| format!("{} ({})", p.name, pct(Some(e))),
                );
            vec![
                s.configuration.clone(),
                s.replications.to_string(),
                band(&h.cost_per_head, &|v| format!("£{v:.2}")),
                band(&h.in_house_share, &|v| format!("{:.0}%", v * 100.0)),
                band(&h.open_providers, &|v| format!("{v:.1}")),
                band(&h.unmet_share, &|v| format!("{:.1}%", v * 100.0)),
                weakest,
            ]
        })
        .collect();
    Table {
        caption: "Headline figures per configuration: mean (5-95% of runs)".into(),
        header: [
            "configuration",
            "runs",
            "cost per head (£/year)",
            "in-house share",
            "providers open at end",
            "unmet share",
            "least likely to survive",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    }
}

/// Decimals that show an interval's half-width to two significant figures (0 to 4).
pub fn precision(half_width: f64) -> usize {
    if !(half_width.is_finite() && half_width > 0.0) {
        return 1;
    }
    (1.0 - half_width.log10().floor()).clamp(0.0, 4.0) as usize
}

fn diff_cells(e: &PairedEstimate, factor: f64, unit: &str, decimals: usize) -> [String; 3] {
    let f = |v: f64| format!("{:.decimals$}{unit}", v * factor);
    // The difference gets as many decimals as its interval needs, at least the means' own.
    let dd = e.interval.map_or(decimals, |(lo, hi)| {
        precision((hi - lo) / 2.0 * factor).max(decimals)
    });
    let d = |v: f64| format!("{:+.dd$}", v * factor);
    [
        f(e.baseline_mean),
        f(e.mean),
        match e.interval {
            Some((lo, hi)) => format!("{} ({} to {})", d(e.diff), d(lo), d(hi)),
            None => d(e.diff),
        },
    ]
}

/// How a measure is shown: factor, unit after the number, decimals.
fn presentation(m: &Measure) -> (f64, &'static str, usize) {
    match m {
        Measure::Market(MarketFigure::CostPerHead) => (1.0, "", 2),
        Measure::Market(MarketFigure::OpenProviders) => (1.0, "", 1),
        Measure::Market(MarketFigure::UnmetShare) => (100.0, "%", 2),
        _ => (100.0, "%", 1),
    }
}

/// Paired differences against the baseline. With `survival_limit`, only that many survival rows
/// per configuration, the largest differences first; providers whose fate never differs are left out.
pub fn differences(c: &Comparison, summaries: &[Summary], survival_limit: Option<usize>) -> Table {
    let name_of = |id: &str| {
        summaries
            .iter()
            .find_map(|s| s.provider(id).map(|p| p.name.clone()))
            .unwrap_or_else(|| id.to_string())
    };
    let mut rows = Vec::new();
    for contrast in &c.contrasts {
        let mut survival = Vec::new();
        for (m, s) in &contrast.figures {
            let Some(e) = s.estimate() else { continue };
            let (factor, unit, decimals) = presentation(m);
            let label = match m.provider() {
                Some(id) => format!("survival of {}", name_of(id)),
                None => m.label(),
            };
            let mut row = vec![contrast.configuration.clone(), label];
            row.extend(diff_cells(&e, factor, unit, decimals));
            if m.provider().is_some() {
                if e.diff != 0.0 || e.sd.unwrap_or(0.0) != 0.0 {
                    survival.push((e.diff.abs(), row));
                }
            } else {
                rows.push(row);
            }
        }
        if let Some(limit) = survival_limit {
            survival.sort_by(|a, b| b.0.total_cmp(&a.0));
            survival.truncate(limit);
        }
        rows.extend(survival.into_iter().map(|x| x.1));
    }
    Table {
        caption: format!(
            "Paired differences against {} over {} runs: configuration minus baseline, 95% interval (survival and shares in percentage points)",
            c.baseline, c.replications
        ),
        header: [
            "configuration",
            "figure",
            &format!("{} (baseline)", c.baseline),
            "configuration",
            "difference (95% interval)",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    }
}

/// Survival of every provider in every configuration with its 95% Wilson interval.
pub fn survival(summaries: &[Summary], labels: &Labels) -> Table {
    let mut header = vec!["region".to_string(), "provider".into(), "kind".into()];
    header.extend(summaries.iter().map(|s| s.configuration.clone()));
    let mut rows = Vec::new();
    for g in provider_groups(summaries, labels) {
        for p in &g.providers {
            let mut row = vec![g.title.clone(), p.label(), p.kind.clone()];
            for s in summaries {
                row.push(match s.provider(&p.id) {
                    Some(ps) => match (ps.survived.estimate(), ps.survived.wilson(Proportion::Z95))
                    {
                        (Some(e), Some((lo, hi))) => {
                            format!("{:.0}% ({:.0}-{:.0})", e * 100.0, lo * 100.0, hi * 100.0)
                        }
                        _ => "-".into(),
                    },
                    None => "absent".into(),
                });
            }
            rows.push(row);
        }
    }
    Table {
        caption: "Probability of surviving to the end, with 95% interval, per configuration".into(),
        header,
        rows,
    }
}

/// Share of runs rated A, B and C per provider at each checkpoint of each configuration.
pub fn ratings(summaries: &[Summary], labels: &Labels) -> Table {
    let mut header = vec!["provider".to_string()];
    for s in summaries {
        for cp in &s.checkpoints {
            header.push(format!("{}: {}", s.configuration, labels.checkpoint(cp)));
        }
    }
    let mut rows = Vec::new();
    for g in provider_groups(summaries, labels) {
        for p in &g.providers {
            let mut row = vec![p.label()];
            for s in summaries {
                let ps = s.provider(&p.id);
                for k in 0..s.checkpoints.len() {
                    row.push(match ps.and_then(|x| x.ratings.get(k)) {
                        Some(c) if c.iter().sum::<u64>() > 0 => {
                            let n = c.iter().sum::<u64>() as f64;
                            let f = |i: usize| (c[i] as f64 / n * 100.0).round();
                            format!("A {:.0} / B {:.0} / C {:.0}", f(1), f(2), f(3))
                        }
                        _ => "absent".into(),
                    });
                }
            }
            rows.push(row);
        }
    }
    Table {
        caption: "Checkpoint ratings: % of runs rated A / B / C (the rest were not open by then)"
            .into(),
        header,
        rows,
    }
}

/// Mean volume shares per service line and configuration.
pub fn structure(summaries: &[Summary], labels: &Labels) -> Table {
    let mut header = vec!["service line".to_string(), "configuration".into()];
    header.extend(CATEGORIES.iter().map(|c| c.replace('_', "-")));
    header.push("HHI".into());
    let mut rows = Vec::new();
    let services: Vec<String> = summaries
        .first()
        .map(|s| s.services.iter().map(|x| x.id.clone()).collect())
        .unwrap_or_default();
    for id in services {
        for s in summaries {
            let Some(sv) = s.services.iter().find(|x| x.id == id) else {
                continue;
            };
            let mut row = vec![labels.service(&id), s.configuration.clone()];
            row.extend(sv.shares.iter().map(|st| pct(st.mean())));
            row.push(
                sv.hhi
                    .mean()
                    .map_or_else(|| "-".into(), |v| format!("{v:.2}")),
            );
            rows.push(row);
        }
    }
    Table {
        caption: "Market structure at the end: mean share of each service line's volume, and concentration (HHI, 0-1)".into(),
        header,
        rows,
    }
}
