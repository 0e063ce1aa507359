//! The verdict: one row per configuration with the figures an analyst weighs, the best value of
//! each column marked, the paired difference in cost against the baseline, and a plain sentence.
//!
//! A configuration is *viable* when every watched provider (the scenario's `viability.providers`,
//! by default every at-scale provider: collaboratives and national services) survives to the end
//! together in at least `viability.survival` of the runs (default 90%).

use crate::compare::{Comparison, Measure};
use crate::experiment::{MarketFigure, Summary};

use super::tables::{Table, mean_band};

/// Marks the best value in a column.
pub const BEST: &str = "★";

/// The verdict's figures for one configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Configuration name.
    pub configuration: String,
    /// Probability that every watched provider survives (`None` when none is watched).
    pub all_survive: Option<f64>,
    /// Whether that probability reaches the scenario's threshold (`None` when none is watched).
    pub viable: Option<bool>,
    /// Threshold that counts as viable.
    pub threshold: f64,
    /// Watched providers.
    pub watched: usize,
    /// Expected providers stopped at a checkpoint, failed and exited, and failed and merged.
    pub stopped: f64,
    /// See `stopped`.
    pub failed: f64,
    /// See `stopped`.
    pub merged: f64,
    /// Expected CCGs forced to re-procure because their provider was stopped or failed.
    pub reprocuring: Option<f64>,
    /// The watched provider least likely to survive, with that probability.
    pub weakest: Option<(String, f64)>,
}

impl Verdict {
    /// The verdict's figures of a summary.
    pub fn of(s: &Summary) -> Verdict {
        let expected = |f: fn(&crate::experiment::ProviderSummary) -> Option<f64>| {
            s.providers.iter().filter_map(f).sum::<f64>()
        };
        let v = &s.viability;
        let all_survive = (!v.watched.is_empty())
            .then(|| v.all_survive.estimate())
            .flatten();
        Verdict {
            configuration: s.configuration.clone(),
            all_survive,
            viable: all_survive.map(|p| p >= v.threshold),
            threshold: v.threshold,
            watched: v.watched.len(),
            stopped: expected(|p| p.stopped.estimate()),
            failed: expected(|p| p.failed.estimate()),
            merged: expected(|p| p.merged.estimate()),
            reprocuring: v.reprocuring_ccgs.mean(),
            weakest: v
                .watched
                .iter()
                .filter_map(|id| s.provider(id))
                .filter_map(|p| p.survived.estimate().map(|e| (p.name.clone(), e)))
                .min_by(|a, b| a.1.total_cmp(&b.1)),
        }
    }

    /// One plain sentence: viable or not, and why.
    pub fn sentence(&self, s: &Summary) -> String {
        let c = &self.configuration;
        let cost = mean_band(&s.headline.cost_per_head, &|v| format!("£{v:.2}"));
        let losses = format!(
            "on average {:.1} providers are stopped, {:.1} fail and {:.1} merge, and {:.1} CCGs must find a new supplier",
            self.stopped,
            self.failed,
            self.merged,
            self.reprocuring.unwrap_or(0.0)
        );
        let who = if self.watched == 1 {
            "its at-scale provider survives".to_string()
        } else {
            format!("all {} at-scale providers survive together", self.watched)
        };
        let pay = format!("CCGs pay {cost} per head per year (mean, 5-95% of runs)");
        match (self.viable, self.all_survive) {
            (Some(true), Some(p)) => format!(
                "{c} is viable: {who} in {:.0}% of runs (at least {:.0}% needed); {losses}; {pay}.",
                p * 100.0,
                self.threshold * 100.0
            ),
            (Some(false), Some(p)) => format!(
                "{c} is not viable: {who} in only {:.0}% of runs ({:.0}% needed){}; {losses}; {pay}.",
                p * 100.0,
                self.threshold * 100.0,
                match &self.weakest {
                    Some((name, e)) if self.watched > 1 => {
                        format!(", the least likely being {name} ({:.0}%)", e * 100.0)
                    }
                    _ => String::new(),
                }
            ),
            _ => format!("{c} has no at-scale provider to judge; {losses}; {pay}."),
        }
    }
}

/// Which of `values` are best (highest when `high_is_best`), within a display rounding `eps`.
fn best(values: &[Option<f64>], high_is_best: bool, eps: f64) -> Vec<bool> {
    let key = |v: f64| if high_is_best { v } else { -v };
    let top = values
        .iter()
        .flatten()
        .map(|&v| key(v))
        .fold(f64::NEG_INFINITY, f64::max);
    // Marking every row says nothing: only when some row is worse.
    let differ = values.iter().flatten().any(|&v| key(v) < top - eps);
    values
        .iter()
        .map(|v| differ && v.is_some_and(|v| key(v) >= top - eps))
        .collect()
}

/// The verdict's columns: the report's heading and the terminal's shorter one (`\n` stacks it on
/// two lines), so that the table fits 100 columns of a terminal.
const HEADINGS: [(&str, &str); 10] = [
    ("configuration", "configuration"),
    ("viable", "viable"),
    ("P(all survive)", "P(all\nsurvive)"),
    ("stopped", "stopped"),
    ("failed", "failed"),
    ("merged", "merged"),
    ("CCGs re-procuring", "CCGs re-\nprocuring"),
    ("cost £/head: mean (5-95%)", "cost £/head\nmean (5-95%)"),
    ("in-house", "in-\nhouse"),
    ("unmet", "unmet"),
];

/// The first of the verdict's cost and volume columns; those before it (after the
/// configuration) are about survival. A terminal keeps each kind together where it can.
pub const FIRST_COST_COLUMN: usize = 7;

/// The terminal's headings of a verdict [`table`]: shorter, stacked on two lines.
pub fn short_header(t: &Table) -> Vec<String> {
    t.header
        .iter()
        .map(|h| {
            HEADINGS.iter().find(|(long, _)| long == h).map_or_else(
                // The paired difference in cost: "cost vs <baseline> (95% interval)".
                || h.replacen(" (", "\n(", 1),
                |(_, short)| short.to_string(),
            )
        })
        .collect()
}

/// The viability table: a row per configuration, the best value per column marked with
/// [`BEST`]; with a comparison, the paired difference in cost against the baseline.
pub fn table(summaries: &[Summary], comparison: Option<&Comparison>) -> Table {
    let verdicts: Vec<Verdict> = summaries.iter().map(Verdict::of).collect();
    let col = |f: &dyn Fn(&Verdict, &Summary) -> Option<f64>| -> Vec<Option<f64>> {
        verdicts
            .iter()
            .zip(summaries)
            .map(|(v, s)| f(v, s))
            .collect()
    };
    let survive = col(&|v, _| v.all_survive);
    let stopped = col(&|v, _| Some(v.stopped));
    let failed = col(&|v, _| Some(v.failed));
    let merged = col(&|v, _| Some(v.merged));
    let reprocuring = col(&|v, _| v.reprocuring);
    let cost = col(&|_, s| s.headline.cost_per_head.mean());
    let unmet = col(&|_, s| s.headline.unmet_share.mean());
    let marks = [
        best(&survive, true, 0.005),
        best(&stopped, false, 0.05),
        best(&failed, false, 0.05),
        best(&merged, false, 0.05),
        best(&reprocuring, false, 0.05),
        best(&cost, false, 0.005),
        best(&unmet, false, 0.0005),
    ];
    let mark = |text: String, k: usize, i: usize| {
        if marks[k][i] {
            format!("{text} {BEST}")
        } else {
            text
        }
    };
    let baseline = comparison.map(|c| c.baseline.clone());
    let rows = verdicts
        .iter()
        .zip(summaries)
        .enumerate()
        .map(|(i, (v, s))| {
            let h = &s.headline;
            let viable = match v.viable {
                Some(true) => "yes",
                Some(false) => "no",
                None => "n/a",
            };
            let mut row = vec![
                v.configuration.clone(),
                viable.to_string(),
                mark(
                    v.all_survive
                        .map_or_else(|| "none at scale".into(), |p| format!("{:.0}%", p * 100.0)),
                    0,
                    i,
                ),
                mark(format!("{:.1}", v.stopped), 1, i),
                mark(format!("{:.1}", v.failed), 2, i),
                mark(format!("{:.1}", v.merged), 3, i),
                mark(
                    v.reprocuring
                        .map_or_else(|| "-".into(), |x| format!("{x:.1}")),
                    4,
                    i,
                ),
                mark(mean_band(&h.cost_per_head, &|x| format!("£{x:.2}")), 5, i),
                h.in_house_share
                    .mean()
                    .map_or_else(|| "-".into(), |x| format!("{:.0}%", x * 100.0)),
                mark(
                    h.unmet_share
                        .mean()
                        .map_or_else(|| "-".into(), |x| format!("{:.2}%", x * 100.0)),
                    6,
                    i,
                ),
            ];
            if let Some(c) = comparison {
                row.push(cost_difference(c, &v.configuration));
            }
            row
        })
        .collect();
    let mut header: Vec<String> = HEADINGS.map(|(long, _)| long.to_string()).to_vec();
    if let Some(b) = &baseline {
        header.push(format!("cost vs {b} (95% interval)"));
    }
    Table {
        caption: format!("Verdict: is each configuration viable? ({BEST} best in column)"),
        header,
        rows,
    }
}

/// What the verdict's columns mean, in a sentence for under the table.
pub fn definition(summaries: &[Summary]) -> String {
    let threshold = summaries.first().map_or_else(
        || "-".into(),
        |s| format!("{:.0}%", s.viability.threshold * 100.0),
    );
    format!(
        "Viable: every at-scale provider (collaboratives and national services, or those the scenario's [viability] names) survives to the end, all together, in at least {threshold} of runs; P(all survive) is that share. Stopped, failed, merged and CCGs re-procuring are expected numbers per run; cost is £ per head per year, the mean with the 5-95% band of runs; in-house and unmet are mean shares of volume."
    )
}

/// The paired difference in cost per head against the baseline, with its 95% interval.
fn cost_difference(c: &Comparison, configuration: &str) -> String {
    if configuration == c.baseline {
        return "baseline".into();
    }
    let Some(e) = c
        .contrasts
        .iter()
        .find(|k| k.configuration == configuration)
        .and_then(|k| k.get(&Measure::Market(MarketFigure::CostPerHead)))
        .and_then(|p| p.estimate())
    else {
        return "-".into();
    };
    match e.interval {
        Some((lo, hi)) => format!("{:+.3} ({lo:+.3} to {hi:+.3})", e.diff),
        None => format!("{:+.3}", e.diff),
    }
}

/// One sentence per configuration.
pub fn sentences(summaries: &[Summary]) -> Vec<String> {
    summaries
        .iter()
        .map(|s| Verdict::of(s).sentence(s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_marks_only_when_rows_differ() {
        assert_eq!(
            best(&[Some(1.0), Some(2.0), None], true, 0.0),
            [false, true, false]
        );
        assert_eq!(best(&[Some(1.0), Some(2.0)], false, 0.0), [true, false]);
        assert_eq!(best(&[Some(1.0), Some(1.0)], false, 0.0), [false, false]);
    }
}
