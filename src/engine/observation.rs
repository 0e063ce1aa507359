//! Observation (MODEL.md sections 7 and 10): what one replication records as the quarters pass,
//! and the small summary that experiments fold into statistics; for explanation, every rating with
//! its domains, and the providers open by kind each quarter.

use serde::{Deserialize, Serialize};

use crate::scenario::schema::{ProviderKind, Rating};

use super::state::{Replication, Status, Supplier};

/// How a provider's story ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fate {
    /// Still open at the end.
    Survived,
    /// Stopped at a checkpoint (rated C, or B where A was required).
    Stopped,
    /// Failed after independence and left the market.
    Failed,
    /// Merged into another CSU: after failing, at a C under `on_c = "merge"`, or voluntarily.
    Merged,
    /// A collaborative left without members.
    Ended,
}

impl Fate {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Fate::Survived => "survived",
            Fate::Stopped => "stopped",
            Fate::Failed => "failed",
            Fate::Merged => "merged",
            Fate::Ended => "ended",
        }
    }
}

/// One provider in one replication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderOutcome {
    /// Rating at each checkpoint: 0 not rated (not open), 1 A, 2 B, 3 C.
    pub ratings: Vec<u8>,
    /// How it ended.
    pub fate: Fate,
    /// Quarter in which it stopped, failed, merged or ended.
    pub exit_period: Option<u32>,
    /// Margin over its last four quarters open (surplus / revenue); none without revenue.
    pub margin: Option<f64>,
    /// CCGs buying at least one service from it at the end.
    pub customers: u32,
    /// Population of those CCGs.
    pub population: f64,
    /// Staff at the end (capacity / cost per FTE).
    pub staff: f64,
    /// Revenue over its last four quarters open (£).
    pub revenue: f64,
    /// Reserves at the end (£).
    pub reserves: f64,
    /// Contracted volume it could not serve, over the run (£ at reference cost).
    pub unmet: f64,
}

/// Market structure of one service line at the end of one replication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceOutcome {
    /// Volume shares: in-house, local, collaborative, national, independent.
    pub shares: [f64; 5],
    /// Herfindahl-Hirschman index of suppliers' volume shares, in [0, 1] (each CCG's in-house team
    /// counts as its own supplier).
    pub hhi: f64,
}

/// One assurance domain at a checkpoint: its value, its threshold and how it was judged.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DomainCheck {
    /// The provider's value.
    pub value: f64,
    /// The checkpoint's threshold.
    pub threshold: f64,
    /// Below the threshold (or not a number).
    pub failed: bool,
    /// Passed, but within the marginal band of the threshold.
    pub marginal: bool,
}

/// Names of the domains of a [`RatingRecord`], in its order.
pub const DOMAINS: [&str; 3] = ["customer", "finance", "capability"];

/// One provider rated at one checkpoint, with what decided its rating (MODEL.md section 10).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatingRecord {
    /// Checkpoint index, in the market's order.
    pub checkpoint: usize,
    /// Provider, by market index.
    pub provider: usize,
    /// Customer share, projected margin and capability, in the order of [`DOMAINS`].
    pub domains: [DomainCheck; 3],
    /// The rating from the table (before any "B must reach A" stop).
    pub rating: Rating,
}

/// Open providers of each kind: local CSUs, collaboratives, national providers.
pub type OpenByKind = [u32; 3];

/// Market-wide figures for one quarter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PeriodFigures {
    /// Providers open at the end of the quarter.
    pub open_providers: u32,
    /// In-house share of volume (fallback for unmet volume included).
    pub in_house_share: f64,
    /// What CCGs paid, £ per head per year (the quarter annualised).
    pub cost_per_head: f64,
    /// What CCGs paid to NHS providers (CSUs, collaboratives, national services), £ per head per
    /// year (the quarter annualised): comparable with CCGs' planned spend on their CSU.
    pub nhs_spend_per_head: f64,
    /// Providers open at the end of the quarter by kind: local, collaborative, national.
    pub open_by_kind: OpenByKind,
}

/// Money paid and received over the run, for the conservation check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    /// Paid by CCGs.
    pub ccg_spend: f64,
    /// Received by providers.
    pub provider_revenue: f64,
    /// Spent in-house (including fallback for unmet volume).
    pub in_house_spend: f64,
    /// Paid to the independent sector.
    pub independent_spend: f64,
}

/// Everything one replication records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicationOutcome {
    /// Global replication index.
    pub replication: u64,
    /// Per provider, in market order.
    pub providers: Vec<ProviderOutcome>,
    /// Per service line.
    pub services: Vec<ServiceOutcome>,
    /// Per quarter from 1 on.
    pub series: Vec<PeriodFigures>,
    /// What CCGs paid in the last four quarters, £ per head.
    pub cost_per_head: f64,
    /// In-house share of volume in the last quarter.
    pub in_house_share: f64,
    /// Share of intended volume (quarter 0, after its checkpoints) going to the CCG's own host CSU,
    /// directly or through a network the host belongs to: comparable with the April 2012 survey.
    pub intended_host_share: f64,
    /// Share of intended volume (quarter 0) going in-house.
    pub intended_in_house_share: f64,
    /// Share of intended volume (quarter 0) going to the independent sector.
    pub intended_independent_share: f64,
    /// Providers open at the end.
    pub open_providers: u32,
    /// Unmet share of provider-contracted volume over the run.
    pub unmet_share: f64,
    /// Money flows over the run.
    pub ledger: Ledger,
    /// Supplier choices CCGs made (intentions included).
    pub decisions: u64,
    /// CCGs that had to find a new supplier because a provider they bought from was stopped or
    /// failed (a CCG counts once per such provider; mergers move customers and are not counted).
    #[serde(default)]
    pub reprocuring_ccgs: u32,
    /// Every rating given, checkpoint by checkpoint, with its domains.
    pub ratings: Vec<RatingRecord>,
    /// Providers open by kind at the end of the planning quarter (after its checkpoints).
    pub planning_open_by_kind: OpenByKind,
}

/// Figures a replication records as its quarters pass, for its outcome.
#[derive(Debug)]
pub(super) struct Observer {
    /// Shares of intended volume going to each CCG's host, in-house and to the independent
    /// sector, after the planning quarter.
    intended: IntendedShares,
    /// Per quarter from 1 on.
    series: Vec<PeriodFigures>,
    /// What CCGs paid in each of the last four quarters, by quarter modulo 4.
    spend_hist: [f64; 4],
    unmet_total: f64,
    contracted_total: f64,
    /// CCGs whose provider was stopped or failed so far (see [`ReplicationOutcome`]).
    pub(super) reprocuring_ccgs: u32,
    /// The last quarter's figures (the planning quarter's before any).
    last: PeriodFigures,
    /// Providers open by kind after the planning quarter.
    planning_open_by_kind: OpenByKind,
    /// Every rating given so far.
    pub(super) ratings: Vec<RatingRecord>,
}

impl Observer {
    pub(super) fn new(periods: u32) -> Observer {
        Observer {
            intended: IntendedShares::default(),
            series: Vec::with_capacity(periods as usize),
            spend_hist: [0.0; 4],
            unmet_total: 0.0,
            contracted_total: 0.0,
            reprocuring_ccgs: 0,
            last: PeriodFigures::before_any(0),
            planning_open_by_kind: [0; 3],
            ratings: Vec::new(),
        }
    }
}

impl PeriodFigures {
    /// The figures of a quarter before any delivery: only providers open.
    fn before_any(open_providers: u32) -> PeriodFigures {
        PeriodFigures {
            open_providers,
            in_house_share: 0.0,
            cost_per_head: 0.0,
            nhs_spend_per_head: 0.0,
            open_by_kind: [0; 3],
        }
    }
}

/// Shares of intended volume by destination.
#[derive(Debug, Clone, Copy, Default)]
struct IntendedShares {
    host: f64,
    in_house: f64,
    independent: f64,
}

/// The position of a provider kind in [`PeriodFigures::open_by_kind`].
pub fn kind_index(kind: ProviderKind) -> usize {
    match kind {
        ProviderKind::Local => 0,
        ProviderKind::Collaborative => 1,
        ProviderKind::National => 2,
    }
}

impl Replication<'_> {
    /// Records what the planning quarter leaves: providers open and intended host share.
    pub(super) fn observe_plan(&mut self) {
        self.observer.intended = self.intended_shares();
        self.observer.planning_open_by_kind = self.open_by_kind();
        self.observer.last = PeriodFigures::before_any(self.open_count());
    }

    /// Open providers of each kind now.
    fn open_by_kind(&self) -> OpenByKind {
        let mut n = [0; 3];
        for (st, p) in self.providers.iter().zip(&self.m.providers) {
            if st.is_open() {
                n[kind_index(p.kind)] += 1;
            }
        }
        n
    }

    /// Records the quarter's figures (after its last step): spend, unmet volume, in-house share
    /// and providers open. [`Replication::run_quarter`] calls it last.
    pub fn observe(&mut self) {
        let m = self.m;
        let t = self.quarter;
        let d = &self.delivery;
        let o = &mut self.observer;
        o.unmet_total += d.unmet;
        o.contracted_total += d.provider_contracted;
        o.spend_hist[(t % 4) as usize] = d.ccg_spend;
        let total: f64 = d.mix.iter().flatten().sum();
        let in_house: f64 = d.mix.iter().map(|x| x[0]).sum();
        let mut open_by_kind = [0u32; 3];
        for (p, st) in m.providers.iter().zip(&self.providers) {
            if st.is_open() {
                open_by_kind[kind_index(p.kind)] += 1;
            }
        }
        let per_head = |spend: f64| {
            if m.population > 0.0 {
                spend * 4.0 / m.population
            } else {
                0.0
            }
        };
        o.last = PeriodFigures {
            open_providers: open_by_kind.iter().sum(),
            in_house_share: if total > 0.0 { in_house / total } else { 0.0 },
            cost_per_head: per_head(d.ccg_spend),
            nhs_spend_per_head: per_head(
                self.ledger.provider_revenue - d.ledger_before.provider_revenue,
            ),
            open_by_kind,
        };
        o.series.push(o.last);
    }

    /// The replication's outcome from what was observed: figures of the quarters run so far and
    /// the state at the end.
    pub fn into_outcome(self) -> ReplicationOutcome {
        self.finish().0
    }

    /// The outcome of [`Replication::into_outcome`], leaving the observer's buffers behind: the
    /// series moves out, the ratings are copied (exactly their length) and kept for reuse.
    pub(super) fn outcome(&mut self) -> ReplicationOutcome {
        let m = self.m;
        let quarters = (m.periods - 1).min(4) as f64;
        let year_spend: f64 = self.observer.spend_hist.iter().sum();
        let services = self
            .delivery
            .mix
            .iter()
            .zip(&self.delivery.hhi)
            .map(|(mix, &hhi)| {
                let total: f64 = mix.iter().sum();
                let shares = if total > 0.0 {
                    mix.map(|x| x / total)
                } else {
                    [0.0; 5]
                };
                ServiceOutcome { shares, hhi }
            })
            .collect();
        let providers = self.outcomes();
        let o = &mut self.observer;
        ReplicationOutcome {
            replication: self.rep,
            providers,
            services,
            series: std::mem::take(&mut o.series),
            cost_per_head: if m.population > 0.0 {
                year_spend * 4.0 / quarters / m.population
            } else {
                0.0
            },
            in_house_share: o.last.in_house_share,
            intended_host_share: o.intended.host,
            intended_in_house_share: o.intended.in_house,
            intended_independent_share: o.intended.independent,
            decisions: self.decisions,
            reprocuring_ccgs: o.reprocuring_ccgs,
            open_providers: o.last.open_providers,
            unmet_share: if o.contracted_total > 0.0 {
                o.unmet_total / o.contracted_total
            } else {
                0.0
            },
            ledger: self.ledger,
            ratings: o.ratings.clone(),
            planning_open_by_kind: o.planning_open_by_kind,
        }
    }

    /// Shares of contracted (or intended) volume bought from each CCG's host CSU (directly or
    /// through an open network the host belongs to), in-house and from the independent sector.
    fn intended_shares(&self) -> IntendedShares {
        let ns = self.ns();
        let (mut host, mut total) = (0.0, 0.0);
        let (mut in_house, mut independent) = (0.0, 0.0);
        for c in 0..self.m.ccgs.len() {
            for s in 0..ns {
                let v = self.volume[c * ns + s];
                total += v;
                let supplier = self.contracts[c * ns + s].supplier;
                match supplier {
                    Supplier::InHouse => in_house += v,
                    Supplier::Independent => independent += v,
                    _ => {}
                }
                let from_host = match (supplier, self.hosts[c]) {
                    (Supplier::Provider(p), Some(h)) if p == h => true,
                    (Supplier::Provider(p), Some(h)) => {
                        self.m.providers[p].kind == ProviderKind::Collaborative
                            && self.providers[p].members.contains(&h)
                    }
                    _ => false,
                };
                if from_host {
                    host += v;
                }
            }
        }
        let share = |x: f64| if total > 0.0 { x / total } else { 0.0 };
        IntendedShares {
            host: share(host),
            in_house: share(in_house),
            independent: share(independent),
        }
    }

    /// CCGs buying at least one service from each provider, and their population; a member counts
    /// the CCGs it delivers a network's service to. One pass over the contracts; each provider's
    /// population is added CCG by CCG, once per CCG, in CCG order.
    pub(super) fn customers(&self) -> (Vec<u32>, Vec<f64>) {
        let m = self.m;
        let ns = self.ns();
        let np = m.providers.len();
        let (mut counts, mut pops) = (vec![0u32; np], vec![0.0; np]);
        // The last CCG (plus one) that credited each provider: a provider counts a CCG once.
        let mut last = vec![0usize; np];
        let rows = self.contracts[..m.ccgs.len() * ns].chunks_exact(ns.max(1));
        for (c, (row, ccg)) in rows.zip(&m.ccgs).enumerate() {
            let mut credit = |x: usize| {
                if last[x] != c + 1 {
                    last[x] = c + 1;
                    counts[x] += 1;
                    pops[x] += ccg.population;
                }
            };
            for k in row {
                let Supplier::Provider(p) = k.supplier else {
                    continue;
                };
                if !self.providers[p].is_open() {
                    continue;
                }
                credit(p);
                if m.providers[p].kind == ProviderKind::Collaborative {
                    if let Some(d) = self.deliverer(p, c) {
                        credit(d);
                    }
                }
            }
        }
        (counts, pops)
    }

    fn outcomes(&self) -> Vec<ProviderOutcome> {
        let m = self.m;
        let (counts, pops) = self.customers();
        (0..m.providers.len())
            .map(|pi| {
                let st = &self.providers[pi];
                let n = st.quarters_open.min(4) as usize;
                // The last four quarters it was open sit in the ring buffer.
                let rev: f64 = st.revenue_hist.iter().sum();
                let cost: f64 = st.cost_hist.iter().sum();
                let margin = if n > 0 && rev > 0.0 {
                    Some((rev - cost) / rev)
                } else {
                    None
                };
                let (customers, population) = if st.is_open() {
                    (counts[pi], pops[pi])
                } else {
                    (0, 0.0)
                };
                let capacity: f64 = if st.is_open() {
                    st.lines
                        .iter()
                        .filter(|l| l.active)
                        .map(|l| l.capacity)
                        .sum()
                } else {
                    0.0
                };
                ProviderOutcome {
                    ratings: st.ratings.clone(),
                    fate: match st.status {
                        Status::Open => Fate::Survived,
                        Status::Closed(f) => f,
                    },
                    exit_period: st.exit_period,
                    margin,
                    customers,
                    population,
                    staff: capacity / m.finance.cost_per_fte,
                    revenue: rev,
                    reserves: st.reserves,
                    unmet: st.unmet,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::kind_index;
    use crate::engine::simulate;
    use crate::engine::testing::market;

    #[test]
    fn intended_shares_split_the_planned_volume() {
        let m = market("collaborative");
        let r = simulate(&m, 5);
        let parts = [
            r.intended_host_share,
            r.intended_in_house_share,
            r.intended_independent_share,
        ];
        assert!(parts.iter().all(|x| (0.0..=1.0).contains(x)), "{parts:?}");
        assert!(parts.iter().sum::<f64>() <= 1.0 + 1e-12, "{parts:?}");
        assert!(r.intended_host_share > 0.0);
    }

    #[test]
    fn open_providers_by_kind_add_up_and_nhs_spend_is_part_of_all_spend() {
        let m = market("collaborative");
        let r = simulate(&m, 2);
        let kinds: Vec<usize> = m.providers.iter().map(|p| kind_index(p.kind)).collect();
        assert!(kinds.contains(&1), "the fixture has a collaborative");
        for q in &r.series {
            assert_eq!(q.open_by_kind.iter().sum::<u32>(), q.open_providers);
            assert!(q.nhs_spend_per_head >= 0.0);
            assert!(q.nhs_spend_per_head <= q.cost_per_head + 1e-9, "{q:?}");
        }
        assert!(r.series.iter().any(|q| q.nhs_spend_per_head > 0.0));
    }
}
