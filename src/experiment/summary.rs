//! Streaming, exactly mergeable summaries of many replications of one configuration.
//! Folding replications in any grouping gives the same bits, so thread counts and shards agree.

use serde::{Deserialize, Serialize};

use crate::engine::{Fate, ReplicationOutcome};
use crate::model::Market;
use crate::stats::{Proportion, Stat};

/// Summary of one provider over replications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderSummary {
    /// Identifier.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Kind (local, collaborative, national).
    pub kind: String,
    /// Region id, empty for national providers.
    pub region: String,
    /// Open at the end.
    pub survived: Proportion,
    /// Stopped at a checkpoint.
    pub stopped: Proportion,
    /// Failed and left.
    pub failed: Proportion,
    /// Failed and merged into another CSU.
    pub merged: Proportion,
    /// A network that lost all its members.
    pub ended: Proportion,
    /// Per checkpoint, counts of not rated, A, B, C.
    pub ratings: Vec<[u64; 4]>,
    /// Margin over the last four quarters open.
    pub margin: Stat,
    /// CCGs buying from it at the end.
    pub customers: Stat,
    /// Population of those CCGs.
    pub population: Stat,
    /// Staff at the end.
    pub staff: Stat,
    /// Reserves at the end.
    pub reserves: Stat,
    /// Revenue over the last four quarters open.
    pub revenue: Stat,
}

/// Market structure of one service line over replications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceSummary {
    /// Identifier.
    pub id: String,
    /// Volume shares: in-house, local, collaborative, national, independent.
    pub shares: [Stat; 5],
    /// Concentration.
    pub hhi: Stat,
}

/// Market-wide figures of one quarter over replications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodSummary {
    /// Quarter index.
    pub period: u32,
    /// Open providers.
    pub open_providers: Stat,
    /// In-house share of volume.
    pub in_house_share: Stat,
    /// £ per head per year paid by CCGs.
    pub cost_per_head: Stat,
}

/// Headline figures of a configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    /// £ per head paid by CCGs in the last year.
    pub cost_per_head: Stat,
    /// In-house share at the end.
    pub in_house_share: Stat,
    /// Open providers at the end.
    pub open_providers: Stat,
    /// Unmet share of provider-contracted volume.
    pub unmet_share: Stat,
    /// Share of intended volume going to CCGs' own host CSUs (quarter 0).
    pub intended_host_share: Stat,
}

/// Everything a run of one configuration reports, built by folding replications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// Configuration name.
    pub configuration: String,
    /// Checkpoint ids in order.
    pub checkpoints: Vec<String>,
    /// Replications folded in.
    pub replications: u64,
    /// Supplier choices CCGs made over those replications.
    #[serde(default)]
    pub decisions: u64,
    /// Per provider.
    pub providers: Vec<ProviderSummary>,
    /// Per service line.
    pub services: Vec<ServiceSummary>,
    /// Per quarter from 1 on.
    pub series: Vec<PeriodSummary>,
    /// Headline figures.
    pub headline: Headline,
}

/// The names of the volume-share categories, in the order of the `shares` arrays.
pub const CATEGORIES: [&str; 5] = [
    "in_house",
    "local",
    "collaborative",
    "national",
    "independent",
];

impl Summary {
    /// An empty summary for a market.
    pub fn new(m: &Market) -> Summary {
        Summary {
            scenario: m.scenario.clone(),
            configuration: m.configuration.clone(),
            checkpoints: m.checkpoints.iter().map(|c| c.id.clone()).collect(),
            replications: 0,
            decisions: 0,
            providers: m
                .providers
                .iter()
                .map(|p| ProviderSummary {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    kind: p.kind.as_str().to_string(),
                    region: p
                        .region
                        .map(|r| m.regions[r].id.clone())
                        .unwrap_or_default(),
                    survived: Proportion::new(),
                    stopped: Proportion::new(),
                    failed: Proportion::new(),
                    merged: Proportion::new(),
                    ended: Proportion::new(),
                    ratings: vec![[0; 4]; m.checkpoints.len()],
                    margin: Stat::new(),
                    customers: Stat::new(),
                    population: Stat::new(),
                    staff: Stat::new(),
                    reserves: Stat::new(),
                    revenue: Stat::new(),
                })
                .collect(),
            services: m
                .services
                .iter()
                .map(|s| ServiceSummary {
                    id: s.id.clone(),
                    shares: Default::default(),
                    hhi: Stat::new(),
                })
                .collect(),
            series: (1..m.periods)
                .map(|t| PeriodSummary {
                    period: t,
                    open_providers: Stat::new(),
                    in_house_share: Stat::new(),
                    cost_per_head: Stat::new(),
                })
                .collect(),
            headline: Headline::default(),
        }
    }

    /// Folds one replication in.
    pub fn push(&mut self, r: &ReplicationOutcome) {
        self.replications += 1;
        self.decisions += r.decisions;
        for (s, o) in self.providers.iter_mut().zip(&r.providers) {
            s.survived.push(o.fate == Fate::Survived);
            s.stopped.push(o.fate == Fate::Stopped);
            s.failed.push(o.fate == Fate::Failed);
            s.merged.push(o.fate == Fate::Merged);
            s.ended.push(o.fate == Fate::Ended);
            for (counts, &rating) in s.ratings.iter_mut().zip(&o.ratings) {
                counts[usize::from(rating.min(3))] += 1;
            }
            if let Some(m) = o.margin {
                s.margin.push(m);
            }
            s.customers.push(f64::from(o.customers));
            s.population.push(o.population);
            s.staff.push(o.staff);
            s.reserves.push(o.reserves);
            s.revenue.push(o.revenue);
        }
        for (s, o) in self.services.iter_mut().zip(&r.services) {
            for (st, &v) in s.shares.iter_mut().zip(&o.shares) {
                st.push(v);
            }
            s.hhi.push(o.hhi);
        }
        for (s, o) in self.series.iter_mut().zip(&r.series) {
            s.open_providers.push(f64::from(o.open_providers));
            s.in_house_share.push(o.in_house_share);
            s.cost_per_head.push(o.cost_per_head);
        }
        self.headline.push(r);
    }

    /// Folds another summary of the same configuration in (shards, blocks).
    pub fn merge(&mut self, o: &Summary) {
        self.replications += o.replications;
        self.decisions += o.decisions;
        for (s, x) in self.providers.iter_mut().zip(&o.providers) {
            s.survived.merge(&x.survived);
            s.stopped.merge(&x.stopped);
            s.failed.merge(&x.failed);
            s.merged.merge(&x.merged);
            s.ended.merge(&x.ended);
            for (a, b) in s.ratings.iter_mut().zip(&x.ratings) {
                for k in 0..4 {
                    a[k] += b[k];
                }
            }
            s.margin.merge(&x.margin);
            s.customers.merge(&x.customers);
            s.population.merge(&x.population);
            s.staff.merge(&x.staff);
            s.reserves.merge(&x.reserves);
            s.revenue.merge(&x.revenue);
        }
        for (s, x) in self.services.iter_mut().zip(&o.services) {
            for (a, b) in s.shares.iter_mut().zip(&x.shares) {
                a.merge(b);
            }
            s.hhi.merge(&x.hhi);
        }
        for (s, x) in self.series.iter_mut().zip(&o.series) {
            s.open_providers.merge(&x.open_providers);
            s.in_house_share.merge(&x.in_house_share);
            s.cost_per_head.merge(&x.cost_per_head);
        }
        self.headline.merge(&o.headline);
    }

    /// The provider summary with an id.
    pub fn provider(&self, id: &str) -> Option<&ProviderSummary> {
        self.providers.iter().find(|p| p.id == id)
    }
}
