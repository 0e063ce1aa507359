//! Step 2, delivery (MODEL.md section 3): each provider serves contracted volume up to its
//! capacity, pro rata across its customers; the rest is done by each CCG's fallback, in-house at
//! its in-house price, and counted as unmet for the provider, whose quality falls with the overload.

use crate::scenario::schema::ProviderKind;

use super::networks::MemberSlots;
use super::observation::Ledger;
use super::state::{Replication, Supplier};

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
    /// spend are what the ledger gained since (kept out of the loop over CCGs, which is hot).
    pub(super) ledger_before: Ledger,
    /// Per provider and service (`p * S + s`), what the loop over CCGs reads and adds up.
    lines: Vec<DeliveryLine>,
    /// Per provider, its unmet volume: the running total carried over the quarters.
    unmet_by_provider: Vec<f64>,
    /// Per service, what the loop adds up: [`Delivery::mix`]'s five slots, then the squared
    /// in-house volumes, padded to eight so a line's slot needs no bounds check.
    per_service: Vec<[f64; 8]>,
    /// Per service, the independent sector's price.
    independent_price: Vec<f64>,
    /// Which member of each network delivers to each CCG, kept until a merger or departure.
    pub(super) slots: MemberSlots,
    /// Per network member, the volume it delivered this quarter: network `p`'s members at
    /// `member_start[p]..member_start[p + 1]`.
    member_delivered: Vec<f64>,
    member_start: Vec<usize>,
}

/// A line as the loop over CCGs sees it.
#[derive(Debug, Clone, Copy)]
struct DeliveryLine {
    /// Where its volume goes in [`Delivery::mix`]: 1 local, 2 collaborative, 3 national; 0 when
    /// its provider is closed, whose customers fall back in-house.
    slot: u8,
    /// Share of contracted volume served (capacity over contracted, at most 1).
    frac: f64,
    price: f64,
    served: f64,
    revenue: f64,
}

/// A line's slot for a collaborative.
const COLLABORATIVE: u8 = 2;

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
        self.per_service.clear();
        self.per_service.resize(services, [0.0; 8]);
    }
}

/// Where a provider kind's volume goes in [`Delivery::mix`].
fn kind_slot(k: ProviderKind) -> usize {
    match k {
        ProviderKind::Local => 1,
        ProviderKind::Collaborative => COLLABORATIVE as usize,
        ProviderKind::National => 3,
    }
}

impl Replication<'_> {
    /// Step 2: providers serve up to capacity; the rest falls back in-house.
    pub fn deliver(&mut self) {
        let ns = self.ns();
        let m = self.m;
        self.tally_contracted();
        self.refresh_member_slots();
        let mut d = std::mem::take(&mut self.delivery);
        d.reset(ns);
        d.ledger_before = self.ledger;
        // Each line's share served and price, read once for the loop over CCGs; what the loop
        // adds up stays in locals and flat arrays, added in the same order as one pass over
        // (CCG, service) pairs, so every sum has the same bits as when it went to the state.
        d.lines.clear();
        d.unmet_by_provider.clear();
        d.member_start.clear();
        let mut members = 0;
        let loss = m.rules.overload_quality_loss;
        for (st, p) in self.providers.iter_mut().zip(&m.providers) {
            let slot = if st.is_open() {
                kind_slot(p.kind) as u8
            } else {
                0
            };
            for l in &mut st.lines {
                l.served = 0.0;
                l.revenue = 0.0;
                let frac = if l.contracted > 0.0 {
                    (l.capacity / l.contracted).min(1.0)
                } else {
                    1.0
                };
                l.eff_quality = (l.quality * (1.0 - loss * (1.0 - frac))).max(0.0);
                d.lines.push(DeliveryLine {
                    slot,
                    frac,
                    price: l.price,
                    served: 0.0,
                    revenue: 0.0,
                });
            }
            d.unmet_by_provider.push(st.unmet);
            d.member_start.push(members);
            members += st.delivered.len();
        }
        d.member_start.push(members);
        d.member_delivered.clear();
        d.member_delivered.resize(members, 0.0);
        d.independent_price.clear();
        d.independent_price
            .extend(m.services.iter().map(|s| s.independent_price));
        let mut ledger = self.ledger;
        let (mut spend, mut unmet_all, mut contracted) =
            (d.ccg_spend, d.unmet, d.provider_contracted);
        let pairs = m.ccgs.len() * ns;
        let volume = &self.volume[..pairs];
        let contracts = &self.contracts[..pairs];
        let in_house = &self.in_house_prices[..pairs];
        let hosts = &self.hosts[..m.ccgs.len()];
        let per_service = &mut d.per_service[..ns];
        let independent_price = &d.independent_price[..ns];
        let lines = &mut d.lines[..];
        let unmet_by_provider = &mut d.unmet_by_provider[..];
        let (slots, member_start) = (&d.slots, &d.member_start[..]);
        let member_delivered = &mut d.member_delivered[..];
        // One CCG's row of pairs at a time, each service's figures zipped with the row, so the
        // loop needs no division and few bounds checks; pairs are taken in the same order.
        let rows = contracts
            .chunks_exact(ns.max(1))
            .zip(volume.chunks_exact(ns.max(1)))
            .zip(in_house.chunks_exact(ns.max(1)))
            .zip(hosts);
        for (((row, vols), in_house), &host) in rows {
            let per_service = per_service.iter_mut().zip(independent_price);
            let pairs = row.iter().zip(vols).zip(in_house).zip(per_service);
            for (s, (((k, &vol), &in_house), (acc, &independent_price))) in pairs.enumerate() {
                let v = vol / 4.0;
                match k.supplier {
                    Supplier::Provider(p) if lines[p * ns + s].slot != 0 => {
                        let line = &mut lines[p * ns + s];
                        let served = v * line.frac;
                        let unmet = v - served;
                        let pay = line.price * served;
                        let fallback = in_house * unmet;
                        line.served += served;
                        line.revenue += pay;
                        let slot = line.slot;
                        // A provider's unmet volume is one sum over all its lines, in pair order.
                        unmet_by_provider[p] += unmet;
                        if slot == COLLABORATIVE {
                            // What each member delivered, in pair order as the network's sums.
                            if let Some(j) = slots.slot(p, host) {
                                member_delivered[member_start[p] + j] += served;
                            }
                        }
                        ledger.ccg_spend += pay + fallback;
                        ledger.provider_revenue += pay;
                        ledger.in_house_spend += fallback;
                        spend += pay + fallback;
                        unmet_all += unmet;
                        contracted += v;
                        acc[(slot & 7) as usize] += served;
                        acc[0] += unmet;
                        acc[5] += unmet * unmet;
                    }
                    Supplier::Independent => {
                        let pay = independent_price * v;
                        ledger.ccg_spend += pay;
                        ledger.independent_spend += pay;
                        spend += pay;
                        acc[4] += v;
                    }
                    // In-house, or a supplier that has just gone: the CCG's own team does the work.
                    _ => {
                        let pay = in_house * v;
                        ledger.ccg_spend += pay;
                        ledger.in_house_spend += pay;
                        spend += pay;
                        acc[0] += v;
                        acc[5] += v * v;
                    }
                }
            }
        }
        self.ledger = ledger;
        (d.ccg_spend, d.unmet, d.provider_contracted) = (spend, unmet_all, contracted);
        for (s, acc) in d.per_service.iter().enumerate() {
            d.mix[s].copy_from_slice(&acc[..5]);
            d.in_house_sq[s] = acc[5];
        }
        for (pi, st) in self.providers.iter_mut().enumerate() {
            let lines = &d.lines[pi * ns..(pi + 1) * ns];
            for (l, x) in st.lines.iter_mut().zip(lines) {
                l.served = x.served;
                l.revenue = x.revenue;
            }
            st.unmet = d.unmet_by_provider[pi];
            let delivered = &d.member_delivered[d.member_start[pi]..d.member_start[pi + 1]];
            st.delivered.copy_from_slice(delivered);
        }
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
