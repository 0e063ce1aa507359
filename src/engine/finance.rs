//! Step 3, finance (MODEL.md section 3): revenue, costs and reserves. Revenue is price x served
//! volume; cost is the fixed cost, unit cost x served, the cost of idle capacity and redundancy.
//! A collaborative's result flows to its members (shared in `networks.rs`); while hosted, the Board
//! absorbs deficits. No accounts are kept in the planning quarter. Prices are reviewed after the
//! accounts, in `pricing.rs`.

use crate::scenario::schema::ProviderKind;

use super::state::Replication;

/// Per-provider sums of one quarter's accounts, kept between quarters to avoid reallocating.
#[derive(Debug, Default)]
pub(super) struct Books {
    revenue: Vec<f64>,
    cost: Vec<f64>,
    share_revenue: Vec<f64>,
    share_cost: Vec<f64>,
}

impl Books {
    fn reset(&mut self, providers: usize) {
        for v in [
            &mut self.revenue,
            &mut self.cost,
            &mut self.share_revenue,
            &mut self.share_cost,
        ] {
            v.clear();
            v.resize(providers, 0.0);
        }
    }
}

impl Replication<'_> {
    /// Step 3: revenue, costs and reserves; a network's result goes to its members.
    pub fn finance(&mut self) {
        let t = self.quarter;
        let m = self.m;
        let ns = self.ns();
        let slot = (t % 4) as usize;
        let hosted = t < m.independence;
        let mut b = std::mem::take(&mut self.books);
        b.reset(m.providers.len());
        for pi in 0..m.providers.len() {
            if !self.providers[pi].is_open() {
                continue;
            }
            let charged = self.hosting_charge(pi);
            for s in 0..ns {
                let l = &self.providers[pi].lines[s];
                if !l.active {
                    continue;
                }
                let fixed = self.fixed_cost(pi, s, charged);
                let idle = (l.capacity / 4.0 - l.served).max(0.0);
                b.revenue[pi] += l.revenue;
                b.cost[pi] += fixed / 4.0
                    + l.unit * l.served
                    + m.finance.idle_cost_share * l.unit * idle
                    + l.redundancy;
            }
        }
        // A network holds no reserves: its result flows to its members.
        for pi in 0..m.providers.len() {
            if m.providers[pi].kind == ProviderKind::Collaborative && self.providers[pi].is_open() {
                let st = &self.providers[pi];
                for j in 0..st.members.len() {
                    let (mi, w) = (st.members[j], self.member_share(pi, &st.delivered, j));
                    b.share_revenue[mi] += w * b.revenue[pi];
                    b.share_cost[mi] += w * b.cost[pi];
                }
            }
        }
        for pi in 0..m.providers.len() {
            let st = &mut self.providers[pi];
            if !st.is_open() {
                continue;
            }
            let collaborative = m.providers[pi].kind == ProviderKind::Collaborative;
            let (rev, cst) = if collaborative {
                (b.revenue[pi], b.cost[pi])
            } else {
                (
                    b.revenue[pi] + b.share_revenue[pi],
                    b.cost[pi] + b.share_cost[pi],
                )
            };
            st.revenue_hist[slot] = rev;
            st.cost_hist[slot] = cst;
            st.quarters_open += 1;
            if !collaborative {
                let r = st.reserves + rev - cst;
                // While hosted, the Board absorbs deficits.
                st.reserves = if hosted { r.max(0.0) } else { r };
            }
        }
        self.books = b;
    }

    /// Fixed cost of a line per year; a network adds coordination per member, and a provider
    /// paying a hosting `charge` (asked once per provider with [`Self::hosting_charge`], so the
    /// lines' loops stay as fast as without a charge) its line's part of it.
    #[inline]
    pub(super) fn fixed_cost(&self, pi: usize, s: usize, charge: Option<HostingCharge>) -> f64 {
        let p = &self.m.providers[pi];
        let st = &self.providers[pi];
        let mut f = st.lines[s].fixed;
        if p.kind == ProviderKind::Collaborative {
            f += p.coordination_cost * st.members.len() as f64;
        }
        if let Some(h) = charge {
            f += if st.lines[s].active && h.need > 0.0 {
                h.charge * self.m.services[s].need_per_head / h.need
            } else {
                0.0
            };
        }
        f
    }

    /// The hosting charge a provider pays now, if any: a local CSU's while hosted, where the
    /// scenario has one (`finance.hosting_charge` per head of its patch per year, MODEL.md
    /// section 10), spread over its active lines in proportion to their services' need per head,
    /// so every line's price rises by the same amount per unit of planned volume.
    pub(super) fn hosting_charge(&self, pi: usize) -> Option<HostingCharge> {
        if !(self.m.finance.hosting_charge > 0.0
            && self.m.providers[pi].kind == ProviderKind::Local
            && self.quarter < self.m.independence)
        {
            return None;
        }
        let st = &self.providers[pi];
        Some(HostingCharge {
            charge: self.m.finance.hosting_charge * self.patch_pop[pi],
            need: (0..self.ns())
                .filter(|&k| st.lines[k].active)
                .map(|k| self.m.services[k].need_per_head)
                .sum(),
        })
    }
}

/// A provider's hosting charge per year and the need per head of its active lines, read once
/// per provider for the loops over its lines (valid while no line is switched on or off).
#[derive(Debug, Clone, Copy)]
pub(super) struct HostingCharge {
    charge: f64,
    need: f64,
}
