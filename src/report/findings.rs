//! Headline findings in plain words, computed from the summaries and the paired differences.

use crate::charts::Labels;
use crate::compare::{Comparison, Measure, PairedEstimate};
use crate::experiment::MarketFigure;
use crate::experiment::{ProviderSummary, Summary};

/// A provider's share of runs stopped at checkpoint `k` (rated C).
fn stopped_share(p: &ProviderSummary, k: usize) -> Option<f64> {
    let c = p.ratings.get(k)?;
    let n: u64 = c.iter().sum();
    (n > 0).then(|| c[3] as f64 / n as f64)
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// "a, b and c".
fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn plural_kind(kind: &str, n: usize) -> String {
    let one = match kind {
        "local" => "local CSU",
        "collaborative" => "collaborative",
        "national" => "national service",
        other => other,
    };
    if n == 1 {
        one.to_string()
    } else {
        format!("{n} {one}s")
    }
}

/// Sentences about one configuration: who is least likely to survive, who is stopped at which
/// checkpoint, how each kind of provider fares, and what CCGs pay.
pub fn configuration_findings(s: &Summary, labels: &Labels) -> Vec<String> {
    let mut out = Vec::new();
    let c = &s.configuration;
    let mut survival: Vec<(f64, &ProviderSummary)> = s
        .providers
        .iter()
        .filter_map(|p| p.survived.estimate().map(|e| (e, p)))
        .collect();
    survival.sort_by(|a, b| a.0.total_cmp(&b.0));
    let weak: Vec<String> = survival
        .iter()
        .filter(|(e, _)| *e < 0.5)
        .take(5)
        .map(|(e, p)| format!("{} ({})", p.name, pct(*e)))
        .collect();
    if !weak.is_empty() {
        let more = survival.iter().filter(|(e, _)| *e < 0.5).count() - weak.len();
        let tail = if more > 0 {
            format!(", and {more} more")
        } else {
            String::new()
        };
        out.push(format!(
            "In {c}, {} survive{} in fewer than half the runs: {}{tail}.",
            if weak.len() + more == 1 {
                "one provider".to_string()
            } else {
                format!("{} providers", weak.len() + more)
            },
            if weak.len() + more == 1 { "s" } else { "" },
            list(&weak)
        ));
    } else if let Some((e, p)) = survival.first() {
        out.push(format!(
            "In {c}, every provider survives in at least {} of runs; the least likely to is {} ({}).",
            pct(*e),
            p.name,
            pct(*e)
        ));
    }
    // Stopped at a checkpoint in at least one run in ten.
    let mut stops: Vec<(f64, String)> = Vec::new();
    for p in &s.providers {
        for (k, cp) in s.checkpoints.iter().enumerate() {
            if let Some(x) = stopped_share(p, k).filter(|&x| x >= 0.1) {
                stops.push((
                    x,
                    format!(
                        "{} is stopped at {} in {} of runs",
                        p.name,
                        labels.checkpoint(cp),
                        pct(x)
                    ),
                ));
            }
        }
    }
    stops.sort_by(|a, b| b.0.total_cmp(&a.0));
    if !stops.is_empty() {
        let shown: Vec<String> = stops.iter().take(4).map(|x| x.1.clone()).collect();
        out.push(format!("In {c}, {}.", list(&shown)));
    }
    // Each kind of provider: the range of survival.
    let mut parts = Vec::new();
    for kind in ["national", "collaborative", "local"] {
        let of_kind: Vec<&(f64, &ProviderSummary)> =
            survival.iter().filter(|(_, p)| p.kind == kind).collect();
        match of_kind.as_slice() {
            [] => {}
            [(e, p)] => parts.push(format!(
                "the {} {} survives in {}",
                plural_kind(kind, 1),
                p.name,
                pct(*e)
            )),
            many => {
                let lo = many.iter().map(|x| x.0).fold(f64::INFINITY, f64::min);
                let hi = many.iter().map(|x| x.0).fold(f64::NEG_INFINITY, f64::max);
                let range = if (hi - lo).abs() < 0.005 {
                    pct(lo)
                } else {
                    format!("{}-{}", pct(lo), pct(hi))
                };
                parts.push(format!(
                    "the {} survive in {range}",
                    plural_kind(kind, many.len())
                ));
            }
        }
    }
    if !parts.is_empty() {
        out.push(format!("In {c}, {} of runs.", list(&parts)));
    }
    let h = &s.headline;
    if let (Some(med), Some(lo), Some(hi), Some(ih), Some(open)) = (
        h.cost_per_head.quantile(0.5),
        h.cost_per_head.quantile(0.05),
        h.cost_per_head.quantile(0.95),
        h.in_house_share.mean(),
        h.open_providers.mean(),
    ) {
        out.push(format!(
            "In {c}, CCGs pay £{med:.2} per head per year for support (median; £{lo:.2}-£{hi:.2} in 90% of runs), \
             {} of volume is done in-house at the end, and {open:.1} providers are open at the end on average.",
            pct(ih)
        ));
    }
    out
}

/// A signed figure with its unit prefix after the sign: "+£0.012", "-3".
fn signed(v: f64, prefix: &str, decimals: usize) -> String {
    let sign = if v < 0.0
        && format!("{:.decimals$}", v.abs())
            .trim_matches(['0', '.'])
            .is_empty()
    {
        "" // rounds to zero: no sign
    } else if v < 0.0 {
        "-"
    } else {
        "+"
    };
    format!("{sign}{prefix}{:.decimals$}", v.abs())
}

/// Decimals that show an estimate's interval to two significant figures.
fn decimals(e: &PairedEstimate, factor: f64) -> usize {
    e.interval.map_or(2, |(lo, hi)| {
        super::tables::precision((hi - lo) / 2.0 * factor)
    })
}

fn interval_text(e: &PairedEstimate, factor: f64, prefix: &str) -> String {
    let d = decimals(e, factor);
    match e.interval {
        Some((lo, hi)) => format!(
            " (95% interval {} to {})",
            signed(lo * factor, prefix, d),
            signed(hi * factor, prefix, d)
        ),
        None => String::new(),
    }
}

fn clear(e: &PairedEstimate) -> bool {
    e.interval.is_some_and(|(lo, hi)| lo > 0.0 || hi < 0.0)
}

/// Sentences about the paired differences: cost, in-house share and open providers of each
/// configuration against the baseline, and the biggest clear differences in survival.
pub fn comparison_findings(c: &Comparison, summaries: &[Summary]) -> Vec<String> {
    let mut out = Vec::new();
    let base = &c.baseline;
    let name_of = |id: &str| {
        summaries
            .iter()
            .find_map(|s| s.provider(id).map(|p| p.name.clone()))
            .unwrap_or_else(|| id.to_string())
    };
    for contrast in &c.contrasts {
        let other = &contrast.configuration;
        let est = |m: &Measure| contrast.get(m).and_then(|s| s.estimate());
        let mut parts = Vec::new();
        if let Some(e) = est(&Measure::Market(MarketFigure::CostPerHead)) {
            parts.push(if clear(&e) {
                format!(
                    "CCGs pay £{:.*} {} per head per year{}",
                    decimals(&e, 1.0),
                    e.diff.abs(),
                    if e.diff > 0.0 { "more" } else { "less" },
                    interval_text(&e, 1.0, "£")
                )
            } else {
                format!(
                    "cost per head shows no clear difference ({} per head per year{})",
                    signed(e.diff, "£", decimals(&e, 1.0)),
                    interval_text(&e, 1.0, "£")
                        .replace(" (", "; ")
                        .replace(')', "")
                )
            });
        }
        if let Some(e) = est(&Measure::Market(MarketFigure::InHouseShare)) {
            parts.push(format!(
                "the in-house share of volume changes by {} percentage points{}",
                signed(e.diff * 100.0, "", decimals(&e, 100.0)),
                interval_text(&e, 100.0, "")
            ));
        }
        if let Some(e) = est(&Measure::Market(MarketFigure::OpenProviders)) {
            parts.push(format!(
                "{:.1} providers are open at the end against {:.1}",
                e.mean, e.baseline_mean
            ));
        }
        if !parts.is_empty() {
            out.push(format!(
                "Paired run by run against {base}, in {other} {}.",
                list(&parts)
            ));
        }
        let mut moves: Vec<(f64, String)> = contrast
            .figures
            .iter()
            .filter_map(|(m, s)| {
                let id = m.provider()?;
                let e = s.estimate()?;
                clear(&e).then(|| {
                    (
                        e.diff.abs(),
                        format!(
                            "{} survives in {:.0}% of runs against {:.0}% ({:+.0} points{})",
                            name_of(id),
                            e.mean * 100.0,
                            e.baseline_mean * 100.0,
                            e.diff * 100.0,
                            interval_text(&e, 100.0, "")
                                .replace(" (", "; ")
                                .replace(')', "")
                        ),
                    )
                })
            })
            .collect();
        moves.sort_by(|a, b| b.0.total_cmp(&a.0));
        if !moves.is_empty() {
            let shown: Vec<String> = moves.iter().take(3).map(|m| m.1.clone()).collect();
            out.push(format!(
                "The biggest differences in survival in {other} against {base}: {}.",
                shown.join("; ")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_joins_with_commas_and_and() {
        let s = |v: &[&str]| list(&v.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(s(&[]), "");
        assert_eq!(s(&["a"]), "a");
        assert_eq!(s(&["a", "b", "c"]), "a, b and c");
    }

    #[test]
    fn signed_figures_put_the_unit_after_the_sign_and_drop_the_sign_of_zero() {
        assert_eq!(signed(0.0123, "£", 3), "+£0.012");
        assert_eq!(signed(-2.0, "", 0), "-2");
        assert_eq!(signed(-0.0001, "£", 2), "£0.00");
    }

    #[test]
    fn kinds_are_named_in_plain_words() {
        assert_eq!(plural_kind("collaborative", 4), "4 collaboratives");
        assert_eq!(plural_kind("national", 1), "national service");
    }
}
