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
            for s in 0..ns {
                let fixed = self.fixed_cost(pi, s);
                let l = &self.providers[pi].lines[s];
                if !l.active {
                    continue;
                }
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

    /// Fixed cost of a line per year; a network adds coordination per member.
    pub(super) fn fixed_cost(&self, pi: usize, s: usize) -> f64 {
        let p = &self.m.providers[pi];
        let st = &self.providers[pi];
        let mut f = st.lines[s].fixed;
        if p.kind == ProviderKind::Collaborative {
            f += p.coordination_cost * st.members.len() as f64;
        }
        f
    }
}
