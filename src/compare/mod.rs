//! Paired comparisons of configurations on common random numbers.
//!
//! Every configuration of a scenario runs the same replication indices with the same seed, and the
//! engine keys its random streams by (seed, replication, entity, period, purpose), so replication
//! `r` of two configurations sees the same draws wherever the two markets agree. Comparing them
//! replication by replication ([`PairedStat`]) removes the noise they share, which makes the
//! differences far sharper than comparing two independent summaries.
//!
//! [`run`] simulates all configurations block by block in lockstep, so a pair is formed from the
//! outcomes of the same replication index while the block is in memory, and memory stays bounded by
//! one block whatever the number of replications. Pairs are folded in replication order into exactly
//! mergeable sums, so results are bit-identical for any thread count.

mod paired;

use std::ops::Range;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::engine::{self, Fate, ReplicationOutcome};
use crate::experiment::{self, BLOCK, MarketFigure, RunError, Summary};
use crate::model::Market;
pub use paired::{PairedEstimate, PairedStat};

/// A figure compared between two configurations: a market-wide one (from the registry,
/// [`MarketFigure`]) or a provider's survival.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Measure {
    /// A provider open at the end (1) or not (0); the mean is its survival probability.
    Survival {
        /// Provider id.
        provider: String,
    },
    /// A market-wide figure.
    #[serde(untagged)]
    Market(MarketFigure),
}

impl Measure {
    /// The name used in `comparison.csv`.
    pub fn key(&self) -> &'static str {
        match self {
            Measure::Survival { .. } => "survival",
            Measure::Market(f) => f.key(),
        }
    }

    /// A label for people, with the unit.
    pub fn label(&self) -> String {
        match self {
            Measure::Survival { provider } => format!("survival of {provider}"),
            Measure::Market(f) => f.label().into(),
        }
    }

    /// Whether the figure is a probability or share, best shown in percentage points.
    pub fn is_share(&self) -> bool {
        match self {
            Measure::Survival { .. } => true,
            Measure::Market(f) => f.is_share(),
        }
    }

    /// The provider a survival measure is about.
    pub fn provider(&self) -> Option<&str> {
        match self {
            Measure::Survival { provider } => Some(provider),
            Measure::Market(_) => None,
        }
    }

    /// The market-wide measures, in the order they are reported.
    pub const MARKET: [Measure; 4] = [
        Measure::Market(MarketFigure::HEADLINE[0]),
        Measure::Market(MarketFigure::HEADLINE[1]),
        Measure::Market(MarketFigure::HEADLINE[2]),
        Measure::Market(MarketFigure::HEADLINE[3]),
    ];
}

/// One configuration compared with the baseline, figure by figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contrast {
    /// The compared configuration.
    pub configuration: String,
    /// Each figure with its paired statistic: market-wide figures first, then the survival of
    /// every provider present in both configurations, in the baseline's order.
    pub figures: Vec<(Measure, PairedStat)>,
    /// For each survival figure, the provider's index in the baseline and in the compared market.
    #[serde(skip)]
    survival_index: Vec<(usize, usize)>,
}

impl Contrast {
    /// An empty contrast of `other` against `baseline`.
    pub fn new(baseline: &Market, other: &Market) -> Contrast {
        let mut figures: Vec<(Measure, PairedStat)> = Measure::MARKET
            .iter()
            .map(|m| (m.clone(), PairedStat::new()))
            .collect();
        let mut survival_index = Vec::new();
        for (i, p) in baseline.providers.iter().enumerate() {
            if let Some(j) = other.providers.iter().position(|q| q.id == p.id) {
                survival_index.push((i, j));
                figures.push((
                    Measure::Survival {
                        provider: p.id.clone(),
                    },
                    PairedStat::new(),
                ));
            }
        }
        Contrast {
            configuration: other.configuration.clone(),
            figures,
            survival_index,
        }
    }

    /// Folds in one pair of outcomes of the same replication.
    pub fn push(&mut self, a: &ReplicationOutcome, b: &ReplicationOutcome) {
        debug_assert_eq!(a.replication, b.replication);
        let market = |r: &ReplicationOutcome| MarketFigure::HEADLINE.map(|f| f.of_replication(r));
        let (ma, mb) = (market(a), market(b));
        let (head, tail) = self.figures.split_at_mut(Measure::MARKET.len());
        for (k, (_, s)) in head.iter_mut().enumerate() {
            s.push(ma[k], mb[k]);
        }
        let alive = |r: &ReplicationOutcome, i: usize| {
            f64::from(u8::from(r.providers[i].fate == Fate::Survived))
        };
        for ((_, s), &(i, j)) in tail.iter_mut().zip(&self.survival_index) {
            s.push(alive(a, i), alive(b, j));
        }
    }

    /// Folds in one pair read back from files: each side's headline figures (in
    /// [`MarketFigure::HEADLINE`] order) and whether each provider survived (in market order).
    /// The same sums as [`push`](Self::push) of the outcomes the figures came from.
    pub fn push_figures(&mut self, a: &[f64; 4], b: &[f64; 4], a_alive: &[bool], b_alive: &[bool]) {
        let (head, tail) = self.figures.split_at_mut(Measure::MARKET.len());
        for (k, (_, s)) in head.iter_mut().enumerate() {
            s.push(a[k], b[k]);
        }
        let one = |alive: &[bool], i: usize| f64::from(u8::from(alive.get(i) == Some(&true)));
        for ((_, s), &(i, j)) in tail.iter_mut().zip(&self.survival_index) {
            s.push(one(a_alive, i), one(b_alive, j));
        }
    }

    /// The paired statistic of a measure.
    pub fn get(&self, m: &Measure) -> Option<&PairedStat> {
        self.figures.iter().find(|(x, _)| x == m).map(|(_, s)| s)
    }
}

/// Paired differences of every compared configuration against a baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The baseline configuration.
    pub baseline: String,
    /// Replications paired.
    pub replications: u64,
    /// One contrast per other configuration, in the order they were given.
    pub contrasts: Vec<Contrast>,
}

impl Comparison {
    /// An empty comparison of `markets` against `markets[baseline]`.
    pub fn new(markets: &[Market], baseline: usize) -> Comparison {
        Comparison {
            baseline: markets
                .get(baseline)
                .map(|m| m.configuration.clone())
                .unwrap_or_default(),
            replications: 0,
            contrasts: markets
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != baseline)
                .map(|(_, m)| Contrast::new(&markets[baseline], m))
                .collect(),
        }
    }

    /// Every figure of every contrast as a row, in report order.
    pub fn rows(&self) -> Vec<DifferenceRow> {
        let mut out = Vec::new();
        for c in &self.contrasts {
            for (m, s) in &c.figures {
                if let Some(e) = s.estimate() {
                    out.push(DifferenceRow {
                        configuration: c.configuration.clone(),
                        measure: m.clone(),
                        estimate: e,
                    });
                }
            }
        }
        out
    }
}

/// One line of `comparison.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DifferenceRow {
    /// The compared configuration.
    pub configuration: String,
    /// The figure.
    pub measure: Measure,
    /// Means, difference and interval.
    pub estimate: PairedEstimate,
}

/// The result of a comparison run: one summary per configuration and the paired differences.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareOutcome {
    /// Summaries in the order of the markets given.
    pub summaries: Vec<Summary>,
    /// Paired differences against the baseline.
    pub comparison: Comparison,
}

/// Runs replications `reps` of every market in lockstep and pairs each with the baseline's
/// (`markets[baseline]`). `sink` hears every outcome, with its market's index, in replication order;
/// `progress` hears how many replications of each market are done.
pub fn run(
    markets: &[Market],
    baseline: usize,
    reps: Range<u64>,
    threads: usize,
    sink: &mut dyn FnMut(usize, &ReplicationOutcome) -> anyhow::Result<()>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<CompareOutcome, RunError> {
    let pool = experiment::pool(threads)?;
    let mut summaries: Vec<Summary> = markets.iter().map(Summary::new).collect();
    let mut comparison = Comparison::new(markets, baseline);
    let k = markets.len();
    let mut start = reps.start;
    while start < reps.end {
        let end = (start + BLOCK).min(reps.end);
        let len = (end - start) as usize;
        // All configurations of the block at once, so every core has work even with few reps.
        let block: Vec<ReplicationOutcome> = pool.install(|| {
            (0..k * len)
                .into_par_iter()
                // Each worker's replications reuse one workspace's buffers (the outcome is the same).
                .map_init(engine::Workspace::default, |ws, i| {
                    engine::simulate_in(&markets[i / len], start + (i % len) as u64, ws)
                })
                .collect()
        });
        // Fold in replication order: nothing depends on which thread finished first.
        for j in 0..len {
            for (c, summary) in summaries.iter_mut().enumerate() {
                let r = &block[c * len + j];
                summary.push(r);
                sink(c, r)?;
            }
            let a = &block[baseline * len + j];
            let others = (0..k).filter(|&c| c != baseline);
            for (contrast, c) in comparison.contrasts.iter_mut().zip(others) {
                contrast.push(a, &block[c * len + j]);
            }
            comparison.replications += 1;
        }
        progress(end - reps.start);
        start = end;
    }
    Ok(CompareOutcome {
        summaries,
        comparison,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    const SMALL: &str = include_str!("../../tests/fixtures/small.toml");

    fn markets(names: &[&str]) -> Vec<Market> {
        let s = Scenario::from_text("small.toml", SMALL).unwrap();
        names
            .iter()
            .map(|n| Market::compile(&s.resolve(n).unwrap(), n).unwrap())
            .collect()
    }

    fn compare(ms: &[Market], reps: u64, threads: usize) -> CompareOutcome {
        run(ms, 0, 0..reps, threads, &mut |_, _| Ok(()), &|_| {}).unwrap()
    }

    #[test]
    fn paired_differences_equal_differences_of_same_replication_outcomes() {
        let ms = markets(&["local", "national"]);
        let got = compare(&ms, 40, 2);
        let contrast = &got.comparison.contrasts[0];
        let (mut sum_cost, mut sum_alive) = (0.0, 0.0);
        let a_ix = ms[0]
            .providers
            .iter()
            .position(|p| p.id == "north-a")
            .unwrap();
        let b_ix = ms[1]
            .providers
            .iter()
            .position(|p| p.id == "north-a")
            .unwrap();
        for r in 0..40 {
            let (a, b) = (engine::simulate(&ms[0], r), engine::simulate(&ms[1], r));
            sum_cost += b.cost_per_head - a.cost_per_head;
            let alive = |o: &ReplicationOutcome, i: usize| {
                f64::from(u8::from(o.providers[i].fate == Fate::Survived))
            };
            sum_alive += alive(&b, b_ix) - alive(&a, a_ix);
        }
        let cost = contrast
            .get(&Measure::Market(MarketFigure::CostPerHead))
            .unwrap()
            .estimate()
            .unwrap();
        assert!((cost.diff - sum_cost / 40.0).abs() < 1e-9, "{cost:?}");
        let north_a = Measure::Survival {
            provider: "north-a".into(),
        };
        let alive = contrast.get(&north_a).unwrap().estimate().unwrap();
        assert!((alive.diff - sum_alive / 40.0).abs() < 1e-12);
        assert_eq!(got.comparison.replications, 40);
    }

    #[test]
    fn survival_is_compared_only_for_providers_present_in_both() {
        let ms = markets(&["local", "national"]);
        let c = Contrast::new(&ms[0], &ms[1]);
        let ids: Vec<&str> = c.figures.iter().filter_map(|(m, _)| m.provider()).collect();
        // `local` disables bi-north and `national` enables national-comms: neither is in both.
        assert_eq!(ids, ["north-a", "north-b", "south-a"]);
    }

    #[test]
    fn comparison_is_bit_identical_for_any_thread_count() {
        let ms = markets(&["collaborative", "local", "national"]);
        let one = compare(&ms, 30, 1);
        let four = compare(&ms, 30, 4);
        // `comparison.csv` is made from the comparison alone, so equal comparisons give equal files.
        assert_eq!(one, four);
    }

    #[test]
    fn summaries_equal_those_of_separate_runs() {
        let ms = markets(&["local", "collaborative"]);
        let got = compare(&ms, 25, 2);
        for (m, s) in ms.iter().zip(&got.summaries) {
            assert_eq!(&crate::experiment::summarise(m, 0..25, 2).unwrap(), s);
        }
    }

    #[test]
    fn sink_hears_every_outcome_in_replication_order() {
        let ms = markets(&["local", "national"]);
        let mut seen = Vec::new();
        run(
            &ms,
            1,
            3..7,
            2,
            &mut |c, r| {
                seen.push((c, r.replication));
                Ok(())
            },
            &|_| {},
        )
        .unwrap();
        let want: Vec<(usize, u64)> = (3..7).flat_map(|r| [(0, r), (1, r)]).collect();
        assert_eq!(seen, want);
    }
}
