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
        for c in 0..m.ccgs.len() {
            for s in 0..ns {
                let v = self.volume[c * ns + s] / 4.0;
                match self.contracts[c * ns + s].supplier {
                    Supplier::Provider(p) if self.providers[p].is_open() => {
                        let line = &self.providers[p].lines[s];
                        let frac = if line.contracted > 0.0 {
                            (line.capacity / line.contracted).min(1.0)
                        } else {
                            1.0
                        };
                        let served = v * frac;
                        let unmet = v - served;
                        let pay = line.price * served;
                        let fallback = self.in_house_price(c, s) * unmet;
                        let st = &mut self.providers[p];
                        st.lines[s].served += served;
                        st.lines[s].revenue += pay;
                        st.unmet += unmet;
                        if m.providers[p].kind == ProviderKind::Collaborative {
                            if let Some(mi) = self.deliverer(p, c) {
                                if let Some(j) =
                                    self.providers[p].members.iter().position(|&x| x == mi)
                                {
                                    self.providers[p].delivered[j] += served;
                                }
                            }
                        }
                        self.ledger.ccg_spend += pay + fallback;
                        self.ledger.provider_revenue += pay;
                        self.ledger.in_house_spend += fallback;
                        d.ccg_spend += pay + fallback;
                        d.unmet += unmet;
                        d.provider_contracted += v;
                        d.mix[s][kind_slot(m.providers[p].kind)] += served;
                        d.mix[s][0] += unmet;
                        d.in_house_sq[s] += unmet * unmet;
                    }
                    Supplier::Independent => {
                        let pay = m.services[s].independent_price * v;
                        self.ledger.ccg_spend += pay;
                        self.ledger.independent_spend += pay;
                        d.ccg_spend += pay;
                        d.mix[s][4] += v;
                    }
                    // In-house, or a supplier that has just gone: the CCG's own team does the work.
                    _ => {
                        let pay = self.in_house_price(c, s) * v;
                        self.ledger.ccg_spend += pay;
                        self.ledger.in_house_spend += pay;
                        d.ccg_spend += pay;
                        d.mix[s][0] += v;
                        d.in_house_sq[s] += v * v;
                    }
                }
            }
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
