//! Step 5, assurance (MODEL.md section 5): at a checkpoint every open provider is rated on three
//! domains (customer share of its targets, projected margin, capability) with the rating table
//! and its marginal band; all are rated on the same state, then those rated C are stopped, and,
//! where the checkpoint says so, those rated B before that do not reach A now.

use crate::model::Checkpoint;
use crate::scenario::schema::{ProviderKind, Rating};

use super::observation::Fate;
use super::state::{Replication, Supplier};

/// A provider's domains at the last checkpoint that rated it, and its rating there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assessment {
    /// Customer domain: population share of its targets buying (or intending to buy) from it.
    pub customer_share: f64,
    /// Finance domain: projected margin for the next year (a member counts its networks' share).
    pub projected_margin: f64,
    /// Capability domain: mean of the four standards as drawn for the replication.
    pub capability: f64,
    /// The rating from the table (before any "B must reach A" stop).
    pub rating: Rating,
}

/// The rating table: two or more failed domains give C; one failed domain, or a pass within the
/// marginal band of its threshold, gives B; otherwise A. Each domain is `(value, threshold)`.
pub fn rate(domains: &[(f64, f64)], marginal_band: f64) -> Rating {
    let mut failed = 0;
    let mut marginal = false;
    for &(value, threshold) in domains {
        if value < threshold || value.is_nan() {
            failed += 1;
        } else if value < threshold + marginal_band * threshold.abs() {
            marginal = true;
        }
    }
    match failed {
        0 if !marginal => Rating::A,
        0 | 1 => Rating::B,
        _ => Rating::C,
    }
}

impl Replication<'_> {
    /// Step 5: runs each checkpoint scheduled in the current quarter, in file order.
    pub fn assure(&mut self) {
        let m = self.m;
        let t = self.quarter;
        for (ci, cp) in m.checkpoints.iter().enumerate() {
            if cp.period == t {
                self.assure_checkpoint(t, ci, cp);
            }
        }
    }

    /// Checkpoint `ci` in quarter `t`: rate every open provider on the same state, then stop
    /// those rated C (or B where the checkpoint requires A after a B).
    pub(super) fn assure_checkpoint(&mut self, t: u32, ci: usize, cp: &Checkpoint) {
        let m = self.m;
        let mut stops = Vec::new();
        let customers = self.customer_shares();
        let shares = self.projected_shares();
        for pi in 0..m.providers.len() {
            if !self.providers[pi].is_open() {
                continue;
            }
            let domains = [
                (customers[pi], cp.min_customer_share),
                (self.projected_margin(pi, &shares), cp.min_margin),
                (self.providers[pi].capability, cp.min_capability),
            ];
            let rating = rate(&domains, cp.marginal_band);
            let st = &mut self.providers[pi];
            st.ratings[ci] = 1 + rating as u8;
            st.assessment = Some(Assessment {
                customer_share: domains[0].0,
                projected_margin: domains[1].0,
                capability: domains[2].0,
                rating,
            });
            let must_reach_a =
                cp.b_must_reach_a && st.last_rating == Some(Rating::B) && rating != Rating::A;
            st.last_rating = Some(rating);
            if rating == Rating::C || must_reach_a {
                stops.push(pi);
            }
        }
        for pi in stops {
            self.close(pi, t, Fate::Stopped);
        }
    }

    /// Per provider, the population share of its targets (current patch, members' current patches,
    /// or every CCG) buying at least one service from it; a member counts the CCGs of its patch
    /// buying from a network it belongs to. One pass over the CCGs.
    fn customer_shares(&self) -> Vec<f64> {
        let m = self.m;
        let ns = self.ns();
        let np = m.providers.len();
        let (mut target_pop, mut customer_pop) = (vec![0.0; np], vec![0.0; np]);
        let nationals: Vec<usize> = (0..np)
            .filter(|&p| m.providers[p].kind == ProviderKind::National)
            .collect();
        let mut credited: Vec<usize> = Vec::with_capacity(8);
        for c in 0..m.ccgs.len() {
            let pop = m.ccgs[c].population;
            let host = self.hosts[c];
            for &p in &nationals {
                target_pop[p] += pop;
            }
            if let Some(h) = host {
                target_pop[h] += pop;
                for &net in &m.networks_of[h] {
                    if self.providers[net].members.contains(&h) {
                        target_pop[net] += pop;
                    }
                }
            }
            credited.clear();
            for s in 0..ns {
                let Supplier::Provider(p) = self.contracts[c * ns + s].supplier else {
                    continue;
                };
                let mut credit = |x: usize| {
                    if !credited.contains(&x) {
                        credited.push(x);
                    }
                };
                match m.providers[p].kind {
                    ProviderKind::National => credit(p),
                    ProviderKind::Local if host == Some(p) => credit(p),
                    ProviderKind::Collaborative => {
                        if let Some(h) = host.filter(|h| self.providers[p].members.contains(h)) {
                            credit(p);
                            credit(h);
                        }
                    }
                    ProviderKind::Local => {}
                }
            }
            for &x in &credited {
                customer_pop[x] += pop;
            }
        }
        (0..np)
            .map(|p| {
                if target_pop[p] > 0.0 {
                    customer_pop[p] / target_pop[p]
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// Projected revenue and cost for the next year at current contracts and prices.
    fn projection(&self, pi: usize) -> (f64, f64) {
        let m = self.m;
        let f = &m.finance;
        let st = &self.providers[pi];
        let (mut rev, mut cost) = (0.0, 0.0);
        for s in 0..self.ns() {
            let l = &st.lines[s];
            if !l.active {
                continue;
            }
            rev += l.price * l.contracted;
            cost += self.fixed_cost(pi, s)
                + l.unit * l.contracted
                + f.idle_cost_share * l.unit * (l.capacity - l.contracted).max(0.0);
        }
        (rev, cost)
    }

    /// Per network, each member's share of the volume it would deliver at current contracts
    /// (by what it delivered this quarter when the network has none, then by patch population). One pass over the contracts.
    fn projected_shares(&self) -> Vec<Vec<f64>> {
        let ns = self.ns();
        let mut v: Vec<Vec<f64>> = self
            .providers
            .iter()
            .map(|st| vec![0.0; st.members.len()])
            .collect();
        for c in 0..self.m.ccgs.len() {
            for s in 0..ns {
                if let Supplier::Provider(net) = self.contracts[c * ns + s].supplier {
                    if self.m.providers[net].kind != ProviderKind::Collaborative {
                        continue;
                    }
                    let st = &self.providers[net];
                    if let Some(j) = self
                        .deliverer(net, c)
                        .and_then(|mi| st.members.iter().position(|&x| x == mi))
                    {
                        v[net][j] += self.volume[c * ns + s];
                    }
                }
            }
        }
        v.into_iter()
            .enumerate()
            .map(|(net, x)| {
                // Without projected volume, what each member delivered this quarter decides.
                let total: f64 = x.iter().sum();
                let volume = if total > 0.0 {
                    &x[..]
                } else {
                    &self.providers[net].delivered[..]
                };
                (0..x.len())
                    .map(|j| self.member_share(net, volume, j))
                    .collect()
            })
            .collect()
    }

    /// Projected margin; a member counts its share of its networks' projected results.
    fn projected_margin(&self, pi: usize, shares: &[Vec<f64>]) -> f64 {
        let (mut rev, mut cost) = self.projection(pi);
        if self.m.providers[pi].kind == ProviderKind::Local {
            for &net in &self.m.networks_of[pi] {
                if !self.providers[net].is_open() {
                    continue;
                }
                if let Some(j) = self.providers[net].members.iter().position(|&x| x == pi) {
                    let (r, c) = self.projection(net);
                    let w = shares[net][j];
                    rev += w * r;
                    cost += w * c;
                }
            }
        }
        if rev > 0.0 { (rev - cost) / rev } else { -1.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rating_table_two_failures_give_c() {
        assert_eq!(
            rate(&[(0.1, 0.5), (-0.2, 0.05), (0.9, 0.5)], 0.1),
            Rating::C
        );
        assert_eq!(
            rate(&[(0.1, 0.5), (-0.2, 0.05), (0.1, 0.5)], 0.1),
            Rating::C
        );
    }

    #[test]
    fn rating_table_one_failure_gives_b() {
        assert_eq!(rate(&[(0.1, 0.5), (0.2, 0.05), (0.9, 0.5)], 0.1), Rating::B);
    }

    #[test]
    fn rating_table_marginal_pass_gives_b() {
        // 0.52 passes 0.5 but lies within 10% of it.
        assert_eq!(
            rate(&[(0.52, 0.5), (0.2, 0.05), (0.9, 0.5)], 0.1),
            Rating::B
        );
        assert_eq!(
            rate(&[(0.56, 0.5), (0.2, 0.05), (0.9, 0.5)], 0.1),
            Rating::A
        );
    }

    #[test]
    fn rating_table_nan_counts_as_a_failure() {
        assert_eq!(
            rate(&[(f64::NAN, 0.5), (f64::NAN, 0.05), (0.9, 0.5)], 0.1),
            Rating::C
        );
    }
}
