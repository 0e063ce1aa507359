//! The market-wide figures of a run, declared once: what each is called in files, its unit, what
//! it means, and how to read it from one replication and from a summary. The CSV writers, the
//! report, the charts, compare, sensitivity and the terminal table all read them from here.

use serde::{Deserialize, Serialize};

use super::summary::{Headline, Summary};
use crate::engine::ReplicationOutcome;
use crate::scenario::schema::Rating;
use crate::stats::Stat;

/// What a market-wide figure counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Pounds per head of population per year.
    PoundsPerHead,
    /// A share between 0 and 1 (shown as a percentage).
    Share,
    /// A number of providers.
    Providers,
}

impl Unit {
    /// What a difference between two values is counted in.
    pub fn difference_label(self) -> &'static str {
        match self {
            Unit::PoundsPerHead => "£ per head per year",
            Unit::Share => "percentage points",
            Unit::Providers => "providers",
        }
    }

    /// The unit as the data dictionary (`columns.csv`) states it.
    pub fn file_unit(self) -> &'static str {
        match self {
            Unit::PoundsPerHead => "£ per head per year",
            Unit::Share => "share (0 to 1)",
            Unit::Providers => "providers",
        }
    }

    /// The factor that turns a value into the unit shown (100 for shares, in percent).
    pub fn difference_factor(self) -> f64 {
        match self {
            Unit::Share => 100.0,
            _ => 1.0,
        }
    }
}

/// A market-wide figure of one replication, summarised over many. The one list of them: every
/// table, file, chart and experiment that shows market-wide figures iterates
/// [`MarketFigure::HEADLINE`] or [`MarketFigure::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MarketFigure {
    /// £ per head paid by CCGs in the last year.
    CostPerHead,
    /// In-house share of volume at the end.
    InHouseShare,
    /// Providers open at the end.
    OpenProviders,
    /// Unmet share of provider-contracted volume over the run.
    UnmetShare,
    /// Share of intended volume going to CCGs' own host CSUs (quarter 0).
    IntendedHostShare,
}

impl MarketFigure {
    /// The headline figures, in the order every table, file and chart shows them.
    pub const HEADLINE: [MarketFigure; 4] = [
        MarketFigure::CostPerHead,
        MarketFigure::InHouseShare,
        MarketFigure::OpenProviders,
        MarketFigure::UnmetShare,
    ];

    /// Every figure: the headline ones, then the intended host share.
    pub const ALL: [MarketFigure; 5] = [
        MarketFigure::CostPerHead,
        MarketFigure::InHouseShare,
        MarketFigure::OpenProviders,
        MarketFigure::UnmetShare,
        MarketFigure::IntendedHostShare,
    ];

    /// The name in files and on the command line.
    pub fn key(self) -> &'static str {
        match self {
            MarketFigure::CostPerHead => "cost_per_head",
            MarketFigure::InHouseShare => "in_house_share",
            MarketFigure::OpenProviders => "open_providers",
            MarketFigure::UnmetShare => "unmet_share",
            MarketFigure::IntendedHostShare => "intended_host_share",
        }
    }

    /// The headline figure named `key`.
    pub fn headline_from_key(key: &str) -> Option<MarketFigure> {
        MarketFigure::HEADLINE.into_iter().find(|f| f.key() == key)
    }

    /// What it counts in.
    pub fn unit(self) -> Unit {
        match self {
            MarketFigure::CostPerHead => Unit::PoundsPerHead,
            MarketFigure::OpenProviders => Unit::Providers,
            MarketFigure::InHouseShare
            | MarketFigure::UnmetShare
            | MarketFigure::IntendedHostShare => Unit::Share,
        }
    }

    /// Whether it is a share, best shown in percentage points.
    pub fn is_share(self) -> bool {
        self.unit() == Unit::Share
    }

    /// What it means, in a sentence.
    pub fn meaning(self) -> &'static str {
        match self {
            MarketFigure::CostPerHead => "£ per head paid by CCGs in the last year",
            MarketFigure::InHouseShare => "in-house share of volume at the end",
            MarketFigure::OpenProviders => "providers open at the end",
            MarketFigure::UnmetShare => "unmet share of provider-contracted volume over the run",
            MarketFigure::IntendedHostShare => {
                "share of intended volume going to CCGs' own host CSUs in the first quarter"
            }
        }
    }

    /// A label for people, with the unit (tables, the terminal, comparisons).
    pub fn label(self) -> &'static str {
        match self {
            MarketFigure::CostPerHead => "cost per head (£/head/year)",
            MarketFigure::InHouseShare => "in-house share of volume",
            MarketFigure::OpenProviders => "providers open at the end",
            MarketFigure::UnmetShare => "unmet share of contracted volume",
            MarketFigure::IntendedHostShare => "intended share to host CSUs",
        }
    }

    /// A heading for a chart panel.
    pub fn title(self) -> &'static str {
        match self {
            MarketFigure::CostPerHead => "Cost per head",
            MarketFigure::InHouseShare => "In-house share of volume at the end",
            MarketFigure::OpenProviders => "Providers open at the end",
            MarketFigure::UnmetShare => "Unmet share of contracted volume",
            MarketFigure::IntendedHostShare => "Intended share to host CSUs",
        }
    }

    /// A short label for chart titles and axes.
    pub fn short_label(self) -> &'static str {
        match self {
            MarketFigure::CostPerHead => "cost per head (£/year)",
            MarketFigure::InHouseShare => "in-house share",
            MarketFigure::OpenProviders => "open providers",
            MarketFigure::UnmetShare => "unmet share",
            MarketFigure::IntendedHostShare => "intended host share",
        }
    }

    /// Its value in one replication.
    pub fn of_replication(self, r: &ReplicationOutcome) -> f64 {
        match self {
            MarketFigure::CostPerHead => r.cost_per_head,
            MarketFigure::InHouseShare => r.in_house_share,
            MarketFigure::OpenProviders => f64::from(r.open_providers),
            MarketFigure::UnmetShare => r.unmet_share,
            MarketFigure::IntendedHostShare => r.intended_host_share,
        }
    }

    /// Its distribution over the replications of a summary.
    pub fn of_summary(self, s: &Summary) -> &Stat {
        s.headline.get(self)
    }
}

impl Headline {
    /// The statistic of one figure.
    pub fn get(&self, f: MarketFigure) -> &Stat {
        match f {
            MarketFigure::CostPerHead => &self.cost_per_head,
            MarketFigure::InHouseShare => &self.in_house_share,
            MarketFigure::OpenProviders => &self.open_providers,
            MarketFigure::UnmetShare => &self.unmet_share,
            MarketFigure::IntendedHostShare => &self.intended_host_share,
        }
    }

    fn get_mut(&mut self, f: MarketFigure) -> &mut Stat {
        match f {
            MarketFigure::CostPerHead => &mut self.cost_per_head,
            MarketFigure::InHouseShare => &mut self.in_house_share,
            MarketFigure::OpenProviders => &mut self.open_providers,
            MarketFigure::UnmetShare => &mut self.unmet_share,
            MarketFigure::IntendedHostShare => &mut self.intended_host_share,
        }
    }

    /// Folds in one replication's figures.
    pub fn push(&mut self, r: &ReplicationOutcome) {
        for f in MarketFigure::ALL {
            self.get_mut(f).push(f.of_replication(r));
        }
    }

    /// Folds in another summary's figures.
    pub fn merge(&mut self, o: &Headline) {
        for f in MarketFigure::ALL {
            self.get_mut(f).merge(o.get(f));
        }
    }
}

/// The headline market figures of a summary ([`MarketFigure::HEADLINE`]), each as its mean and
/// quantiles, written into `summary.json` and `sweep.json` under each figure's key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadlineFigures {
    /// £ per head paid by CCGs in the last year.
    pub cost_per_head: Figure,
    /// In-house share of volume at the end.
    pub in_house_share: Figure,
    /// Providers open at the end.
    pub open_providers: Figure,
    /// Unmet share of provider-contracted volume.
    pub unmet_share: Figure,
}

impl HeadlineFigures {
    /// The headline figures of a summary.
    pub fn of(s: &Summary) -> HeadlineFigures {
        let f = |m: MarketFigure| Figure::from(m.of_summary(s));
        HeadlineFigures {
            cost_per_head: f(MarketFigure::CostPerHead),
            in_house_share: f(MarketFigure::InHouseShare),
            open_providers: f(MarketFigure::OpenProviders),
            unmet_share: f(MarketFigure::UnmetShare),
        }
    }

    /// One figure; the intended host share is not a headline figure.
    pub fn get(&self, m: MarketFigure) -> Option<&Figure> {
        match m {
            MarketFigure::CostPerHead => Some(&self.cost_per_head),
            MarketFigure::InHouseShare => Some(&self.in_house_share),
            MarketFigure::OpenProviders => Some(&self.open_providers),
            MarketFigure::UnmetShare => Some(&self.unmet_share),
            MarketFigure::IntendedHostShare => None,
        }
    }

    /// Each figure with its registry entry, in [`MarketFigure::HEADLINE`] order.
    pub fn named(&self) -> [(MarketFigure, &Figure); 4] {
        let fig = |m: MarketFigure| match m {
            MarketFigure::CostPerHead => &self.cost_per_head,
            MarketFigure::InHouseShare => &self.in_house_share,
            MarketFigure::OpenProviders => &self.open_providers,
            _ => &self.unmet_share,
        };
        MarketFigure::HEADLINE.map(|m| (m, fig(m)))
    }
}

/// What a provider can get at a checkpoint, in the order every table, chart and file shows them:
/// A, B, C, then not rated (not open at the checkpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RatingOutcome {
    /// Rated A.
    A,
    /// Rated B.
    B,
    /// Rated C.
    C,
    /// Not rated.
    Unrated,
}

impl RatingOutcome {
    /// Every outcome, in display order.
    pub const ALL: [RatingOutcome; 4] = [
        RatingOutcome::A,
        RatingOutcome::B,
        RatingOutcome::C,
        RatingOutcome::Unrated,
    ];

    /// The name in files: `A`, `B`, `C`, `unrated`.
    pub fn as_str(self) -> &'static str {
        match self {
            RatingOutcome::A => "A",
            RatingOutcome::B => "B",
            RatingOutcome::C => "C",
            RatingOutcome::Unrated => "unrated",
        }
    }

    /// Its index in display order (in [`RatingOutcome::ALL`]).
    pub fn index(self) -> usize {
        self as usize
    }

    /// Its index in a summary's per-checkpoint counts, which follow the engine's rating code
    /// (0 not rated, 1 A, 2 B, 3 C).
    pub fn count_index(self) -> usize {
        match self {
            RatingOutcome::Unrated => 0,
            RatingOutcome::A => 1,
            RatingOutcome::B => 2,
            RatingOutcome::C => 3,
        }
    }

    /// The outcome of a recorded rating.
    pub fn of(r: Rating) -> RatingOutcome {
        match r {
            Rating::A => RatingOutcome::A,
            Rating::B => RatingOutcome::B,
            Rating::C => RatingOutcome::C,
        }
    }

    /// A summary's counts for one checkpoint, in display order.
    pub fn counts(counts: &[u64; 4]) -> [u64; 4] {
        RatingOutcome::ALL.map(|o| counts[o.count_index()])
    }
}

/// A figure with its mean and quantiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// Mean.
    pub mean: Option<f64>,
    /// 5% quantile.
    pub p05: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 95% quantile.
    pub p95: Option<f64>,
    /// The quantiles come from a sketch (within 0.05%), not the values: written only when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub approximate: bool,
}

impl From<&Stat> for Figure {
    fn from(s: &Stat) -> Figure {
        let [p05, p50, p95] = s.quantiles([0.05, 0.5, 0.95]);
        Figure {
            mean: s.mean(),
            p05,
            p50,
            p95,
            approximate: s.is_approximate(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figure_keys_are_the_field_names_of_the_headline_in_files() {
        // summary.json, sweep.json and the summary state name each figure by its field; the
        // registry's keys must be those names, in the same order.
        let json = serde_json::to_value(Headline::default()).unwrap();
        let fields: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        let mut keys: Vec<&str> = MarketFigure::ALL.iter().map(|f| f.key()).collect();
        keys.sort();
        assert_eq!(fields, keys);
        for f in MarketFigure::ALL {
            assert_eq!(
                MarketFigure::headline_from_key(f.key()),
                MarketFigure::HEADLINE.contains(&f).then_some(f)
            );
        }
    }

    #[test]
    fn headline_figures_are_written_under_the_registry_keys() {
        let s = Figure {
            mean: Some(1.0),
            p05: None,
            p50: None,
            p95: None,
            approximate: false,
        };
        let h = HeadlineFigures {
            cost_per_head: s.clone(),
            in_house_share: s.clone(),
            open_providers: s.clone(),
            unmet_share: s,
        };
        let json = serde_json::to_value(&h).unwrap();
        let mut fields: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        let mut keys: Vec<&str> = MarketFigure::HEADLINE.iter().map(|f| f.key()).collect();
        fields.sort();
        keys.sort();
        assert_eq!(fields, keys);
        for (m, f) in h.named() {
            assert_eq!(h.get(m), Some(f));
        }
    }

    #[test]
    fn rating_outcomes_reorder_summary_counts_for_display() {
        // Counts of (not rated, A, B, C) shown as (A, B, C, not rated).
        assert_eq!(RatingOutcome::counts(&[4, 1, 2, 3]), [1, 2, 3, 4]);
        assert_eq!(RatingOutcome::of(Rating::B).index(), 1);
        let names: Vec<&str> = RatingOutcome::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(names, ["A", "B", "C", "unrated"]);
    }
}
