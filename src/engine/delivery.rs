//! Step 2, delivery (MODEL.md section 3): each provider serves contracted volume up to its
//! capacity, pro rata across its customers; the rest is done by each CCG's fallback, in-house at
//! its in-house price, and counted as unmet for the provider, whose quality falls with the overload.

use crate::scenario::schema::ProviderKind;

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
    /// Volume each network served to each CCG this quarter, in pair order: `(network, CCG, served)`.
    collaborative: Vec<(usize, usize, f64)>,
}

/// A line as the loop over CCGs sees it.
#[derive(Debug, Clone, Copy)]
struct DeliveryLine {
    open: bool,
    /// Where its volume goes in [`Delivery::mix`].
    slot: u8,
    collaborative: bool,
    /// Share of contracted volume served (capacity over contracted, at most 1).
    frac: f64,
    price: f64,
    served: f64,
    revenue: f64,
    /// The provider's unmet volume so far (kept on its first line only).
    unmet: f64,
}

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
}

/// Where a provider kind's volume goes in [`Delivery::mix`].
fn kind_slot(k: ProviderKind) -> usize {
    match k {
        ProviderKind::Local => 1,
        ProviderKind::Collaborative => 2,
        ProviderKind::National => 3,
    }
}

impl Replication<'_> {
    /// Step 2: providers serve up to capacity; the rest falls back in-house.
    pub fn deliver(&mut self) {
        let ns = self.ns();
        let m = self.m;
        self.tally_contracted();
        for st in &mut self.providers {
            st.delivered.iter_mut().for_each(|d| *d = 0.0);
            for l in &mut st.lines {
                l.served = 0.0;
                l.revenue = 0.0;
                let frac = if l.contracted > 0.0 {
                    (l.capacity / l.contracted).min(1.0)
                } else {
                    1.0
                };
                l.eff_quality =
                    (l.quality * (1.0 - m.rules.overload_quality_loss * (1.0 - frac))).max(0.0);
            }
        }
        let mut d = std::mem::take(&mut self.delivery);
        d.reset(ns);
        d.ledger_before = self.ledger;
        // Each line's share served and price, read once for the loop over CCGs; what the loop
        // adds up stays in locals and flat arrays, added in the same order as one pass over
        // (CCG, service) pairs, so every sum has the same bits as when it went to the state.
        d.lines.clear();
        for (st, p) in self.providers.iter().zip(&m.providers) {
            let open = st.is_open();
            let slot = kind_slot(p.kind) as u8;
            let collaborative = p.kind == ProviderKind::Collaborative;
            for (s, l) in st.lines.iter().enumerate() {
                d.lines.push(DeliveryLine {
                    open,
                    slot,
                    collaborative,
                    frac: if l.contracted > 0.0 {
                        (l.capacity / l.contracted).min(1.0)
                    } else {
                        1.0
                    },
                    price: l.price,
                    served: 0.0,
                    revenue: 0.0,
                    // The provider's running total, carried on as one sum over the quarters.
                    unmet: if s == 0 { st.unmet } else { 0.0 },
                });
            }
        }
        let mut ledger = self.ledger;
        let (mut spend, mut unmet_all, mut contracted) =
            (d.ccg_spend, d.unmet, d.provider_contracted);
        let pairs = m.ccgs.len() * ns;
        let volume = &self.volume[..pairs];
        let contracts = &self.contracts[..pairs];
        let in_house = &self.in_house_prices[..pairs];
        let mut collaborative_deliveries = std::mem::take(&mut d.collaborative);
        collaborative_deliveries.clear();
        let mix = &mut d.mix[..ns];
        let in_house_sq = &mut d.in_house_sq[..ns];
        let lines = &mut d.lines[..];
        // One CCG's row of pairs at a time, each service's figures zipped with the row, so the
        // loop needs no division and few bounds checks; pairs are taken in the same order.
        let rows = contracts
            .chunks_exact(ns.max(1))
            .zip(volume.chunks_exact(ns.max(1)))
            .zip(in_house.chunks_exact(ns.max(1)));
        for (c, ((row, vols), in_house)) in rows.enumerate() {
            let per_service = mix.iter_mut().zip(in_house_sq.iter_mut());
            let pairs = row.iter().zip(vols).zip(in_house).zip(per_service);
            for (s, (((k, &vol), &in_house), (mix, in_house_sq))) in pairs.enumerate() {
                let v = vol / 4.0;
                match k.supplier {
                    Supplier::Provider(p) if lines[p * ns + s].open => {
                        let line = &mut lines[p * ns + s];
                        let served = v * line.frac;
                        let unmet = v - served;
                        let pay = line.price * served;
                        let fallback = in_house * unmet;
                        line.served += served;
                        line.revenue += pay;
                        let (slot, collaborative) = (line.slot as usize, line.collaborative);
                        // A provider's unmet volume is one sum over all its lines, in pair order.
                        lines[p * ns].unmet += unmet;
                        if collaborative {
                            collaborative_deliveries.push((p, c, served));
                        }
                        ledger.ccg_spend += pay + fallback;
                        ledger.provider_revenue += pay;
                        ledger.in_house_spend += fallback;
                        spend += pay + fallback;
                        unmet_all += unmet;
                        contracted += v;
                        mix[slot] += served;
                        mix[0] += unmet;
                        *in_house_sq += unmet * unmet;
                    }
                    Supplier::Independent => {
                        let pay = m.services[s].independent_price * v;
                        ledger.ccg_spend += pay;
                        ledger.independent_spend += pay;
                        spend += pay;
                        mix[4] += v;
                    }
                    // In-house, or a supplier that has just gone: the CCG's own team does the work.
                    _ => {
                        let pay = in_house * v;
                        ledger.ccg_spend += pay;
                        ledger.in_house_spend += pay;
                        spend += pay;
                        mix[0] += v;
                        *in_house_sq += v * v;
                    }
                }
            }
        }
        self.ledger = ledger;
        (d.ccg_spend, d.unmet, d.provider_contracted) = (spend, unmet_all, contracted);
        for (pi, st) in self.providers.iter_mut().enumerate() {
            let lines = &d.lines[pi * ns..(pi + 1) * ns];
            for (l, x) in st.lines.iter_mut().zip(lines) {
                l.served += x.served;
                l.revenue += x.revenue;
            }
            if let Some(x) = lines.first() {
                st.unmet = x.unmet;
            }
        }
        // Networks' deliveries by member, in pair order as before.
        for &(p, c, served) in &collaborative_deliveries {
            if let Some(mi) = self.deliverer(p, c) {
                if let Some(j) = self.providers[p].members.iter().position(|&x| x == mi) {
                    self.providers[p].delivered[j] += served;
                }
            }
        }
        d.collaborative = collaborative_deliveries;
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
mod tests {
    use crate::engine::simulate;
    use crate::engine::testing::market;

    #[test]
    fn money_is_conserved_ccg_spend_equals_revenue_plus_in_house_and_independent() {
        for config in ["local", "collaborative", "national"] {
            let m = market(config);
            for rep in 0..20 {
                let l = simulate(&m, rep).ledger;
                let parts = l.provider_revenue + l.in_house_spend + l.independent_spend;
                assert!(l.ccg_spend > 0.0);
                assert!(
                    (l.ccg_spend - parts).abs() <= 1e-9 * l.ccg_spend,
                    "{config} rep {rep}: {l:?}"
                );
            }
        }
    }
}
