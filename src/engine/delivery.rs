//! Step 2, delivery (MODEL.md section 3): each provider serves contracted volume up to its
//! capacity, pro rata across its customers; the rest is done by each CCG's fallback, in-house at
//! its in-house price, and counted as unmet for the provider, whose quality falls with the overload.

use crate::scenario::schema::ProviderKind;

use super::networks::MemberSlots;
use super::observation::Ledger;
use super::state::Replication;
use sums::{ContractSums, PairSums};

mod sums;

/// What one quarter's delivery produced.
#[derive(Debug, Default)]
pub(super) struct Delivery {
    pub(super) ccg_spend: f64,
    pub(super) unmet: f64,
    pub(super) provider_contracted: f64,
    /// Per service: volume served in-house, by local, collaborative, national, independent.
    pub(super) mix: Vec<[f64; 5]>,
    pub(super) hhi: Vec<f64>,
    /// Per service: sum of squared in-house volumes (each CCG's team is its own supplier).
    pub(super) in_house_sq: Vec<f64>,
    /// The run's money before this quarter's delivery: the quarter's in-house and independent
    /// spend are what the ledger gained since.
    pub(super) ledger_before: Ledger,
    /// Which member of each network delivers to each CCG, kept until a merger or departure.
    pub(super) slots: MemberSlots,
    /// The contracts summed per line and per service, kept until they change (`sums.rs`).
    pub(super) sums: ContractSums,
}

/// A line's slot for a collaborative.
const COLLABORATIVE: usize = 2;

/// A quarter's share of an annual volume (exact: a power of two).
const QUARTER: f64 = 0.25;

impl Delivery {
    /// Clears the quarter's figures, keeping the buffers.
    fn reset(&mut self, services: usize) {
        self.ccg_spend = 0.0;
        self.unmet = 0.0;
        self.provider_contracted = 0.0;
        self.mix.clear();
        self.mix.resize(services, [0.0; 5]);
        self.hhi.clear();
        self.hhi.resize(services, 0.0);
        self.in_house_sq.clear();
        self.in_house_sq.resize(services, 0.0);
    }

    /// Marks the kept per-line sums out of date: a contract's supplier may have changed.
    pub(super) fn contracts_changed(&mut self) {
        self.sums.contracts_changed();
    }
}

/// Where a provider kind's volume goes in [`Delivery::mix`].
fn kind_slot(k: ProviderKind) -> usize {
    match k {
        ProviderKind::Local => 1,
        ProviderKind::Collaborative => COLLABORATIVE,
        ProviderKind::National => 3,
    }
}

/// The quarter's running sums that every line and service adds to.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    ledger: Ledger,
    spend: f64,
    unmet: f64,
    contracted: f64,
}

impl Totals {
    /// Pairs served by the CCGs' own teams: `q` is their quarter's sums.
    fn in_house(&mut self, q: PairSums, mix: &mut [f64; 5], in_house_sq: &mut f64) {
        self.ledger.ccg_spend += q.in_house_cost;
        self.ledger.in_house_spend += q.in_house_cost;
        self.spend += q.in_house_cost;
        mix[0] += q.volume;
        *in_house_sq += q.volume_sq;
    }
}

impl Replication<'_> {
    /// Step 2: providers serve up to capacity; the rest falls back in-house. Works per line from
    /// the contracts' per-line sums (`sums.rs`): a line serves the same share `frac` of each of
    /// its customers' volumes, so each pair's figures summed over the line are the line's sums
    /// times its share, price or shortfall.
    pub fn deliver(&mut self) {
        let ns = self.ns();
        let m = self.m;
        // Brings the per-line sums up to date and sets each line's contracted volume.
        self.tally_contracted();
        let mut d = std::mem::take(&mut self.delivery);
        d.reset(ns);
        d.ledger_before = self.ledger;
        let sums = &d.sums;
        let mut t = Totals {
            ledger: self.ledger,
            ..Totals::default()
        };
        let loss = m.rules.overload_quality_loss;
        let rows = self.providers.iter_mut().zip(&m.providers);
        for (pi, (st, p)) in rows.enumerate() {
            let open = st.is_open();
            let slot = kind_slot(p.kind);
            let members =
                &sums.member_volume[sums.member_start[pi] * ns..sums.member_start[pi + 1] * ns];
            st.delivered.fill(0.0);
            let line_sums = &sums.lines[pi * ns..(pi + 1) * ns];
            for (s, (l, x)) in st.lines.iter_mut().zip(line_sums).enumerate() {
                l.served = 0.0;
                l.revenue = 0.0;
                let frac = if l.contracted > 0.0 {
                    (l.capacity / l.contracted).min(1.0)
                } else {
                    1.0
                };
                l.eff_quality = (l.quality * (1.0 - loss * (1.0 - frac))).max(0.0);
                let q = PairSums {
                    volume: x.volume * QUARTER,
                    in_house_cost: x.in_house_cost * QUARTER,
                    volume_sq: x.volume_sq * (QUARTER * QUARTER),
                };
                if !open {
                    // A closed provider's customers fall back in-house until they choose again.
                    t.in_house(q, &mut d.mix[s], &mut d.in_house_sq[s]);
                    continue;
                }
                // Each customer is served `frac` of its volume and its own team does the rest.
                let short = 1.0 - frac;
                let served = q.volume * frac;
                let unmet = q.volume * short;
                let pay = l.price * served;
                let fallback = q.in_house_cost * short;
                l.served = served;
                l.revenue = pay;
                st.unmet += unmet;
                if slot == COLLABORATIVE {
                    // What each member delivered: its share of the line's customers.
                    let per_member = members.chunks_exact(ns);
                    for (delivered, volumes) in st.delivered.iter_mut().zip(per_member) {
                        *delivered += volumes[s] * QUARTER * frac;
                    }
                }
                t.ledger.ccg_spend += pay + fallback;
                t.ledger.provider_revenue += pay;
                t.ledger.in_house_spend += fallback;
                t.spend += pay + fallback;
                t.unmet += unmet;
                t.contracted += q.volume;
                let mix = &mut d.mix[s];
                mix[slot] += served;
                mix[0] += unmet;
                d.in_house_sq[s] += q.volume_sq * short * short;
            }
        }
        for s in 0..ns {
            let x = sums.in_house[s];
            let q = PairSums {
                volume: x.volume * QUARTER,
                in_house_cost: x.in_house_cost * QUARTER,
                volume_sq: x.volume_sq * (QUARTER * QUARTER),
            };
            t.in_house(q, &mut d.mix[s], &mut d.in_house_sq[s]);
            let v = sums.independent[s] * QUARTER;
            let pay = m.services[s].independent_price * v;
            t.ledger.ccg_spend += pay;
            t.ledger.independent_spend += pay;
            t.spend += pay;
            d.mix[s][4] += v;
        }
        self.ledger = t.ledger;
        (d.ccg_spend, d.unmet, d.provider_contracted) = (t.spend, t.unmet, t.contracted);
        for s in 0..ns {
            let total: f64 = d.mix[s].iter().sum();
            if total > 0.0 {
                let mut sq = d.in_house_sq[s] + d.mix[s][4] * d.mix[s][4];
                for st in &self.providers {
                    sq += st.lines[s].served * st.lines[s].served;
                }
                d.hhi[s] = sq / (total * total);
            }
        }
        self.delivery = d;
    }
}

#[cfg(test)]
mod tests;
