//! Step 6, failure (MODEL.md sections 3 and 9): after independence a provider whose reserves fall
//! below the insolvency threshold fails; it exits (its CCGs choose again), or a local CSU merges
//! into the open local CSU of its region with the largest reserves, which takes its patch,
//! customers, capacity and reserves. Also how any provider leaves the market (`close`), and the
//! one `merge` that a C under `on_c = "merge"` and voluntary mergers (`consolidation.rs`) reuse.

use crate::scenario::schema::ProviderKind;

use super::observation::Fate;
use super::state::{Replication, Status, Supplier};

impl Replication<'_> {
    /// Step 6: from quarter `independence` on, an open local or national provider whose reserves
    /// are below `insolvency_threshold x` its last four quarters' revenue fails: it merges into the
    /// open local CSU of its region with the largest reserves (local CSUs under `on_failure =
    /// "merge"`), or else exits. Collaboratives hold no reserves and cannot fail.
    pub fn fail(&mut self) {
        let m = self.m;
        let t = self.quarter;
        if t < m.independence {
            return;
        }
        let failing: Vec<usize> = (0..m.providers.len())
            .filter(|&pi| {
                let st = &self.providers[pi];
                let turnover: f64 = st.revenue_hist.iter().sum();
                st.is_open()
                    && m.providers[pi].kind != ProviderKind::Collaborative
                    && st.reserves < m.finance.insolvency_threshold * turnover
            })
            .collect();
        for &f in &failing {
            if !self.providers[f].is_open() {
                continue;
            }
            let absorber = if m.merges_on_failure() {
                self.absorber(f, &failing)
            } else {
                None
            };
            match absorber {
                Some(a) => self.merge(f, a, t, None),
                None => self.close(f, t, Fate::Failed),
            }
        }
    }

    /// The CSU a local CSU `f` merges into (MODEL.md section 3 step 6): the open local CSU of its
    /// region with the largest reserves, on a tie the earlier in the file, leaving out `excluded`
    /// (those failing or stopped at the same moment). None for other kinds.
    pub(super) fn absorber(&self, f: usize, excluded: &[usize]) -> Option<usize> {
        let m = self.m;
        if m.providers[f].kind != ProviderKind::Local {
            return None;
        }
        let region = m.providers[f]
            .region
            .map_or(&[][..], |r| &m.region_locals[r][..]);
        region
            .iter()
            .copied()
            .filter(|&a| a != f && !excluded.contains(&a) && self.providers[a].is_open())
            .max_by(|&a, &b| {
                self.providers[a]
                    .reserves
                    .total_cmp(&self.providers[b].reserves)
                    .then(b.cmp(&a))
            })
    }

    /// A CSU `f` merges into another, `a`: customers, capacity, reserves and patch move to it. The
    /// one merge of the model: on failure, at a C under `on_c = "merge"` (no `synergy`), and in a
    /// voluntary merger, where the pair's active lines carry `1 - synergy` of their summed fixed
    /// costs.
    pub(super) fn merge(&mut self, f: usize, a: usize, t: u32, synergy: Option<f64>) {
        // Hosts and customers move: the deliverer slots and the per-line sums kept for delivery
        // are out of date.
        self.delivery.slots.invalidate();
        self.delivery.contracts_changed();
        let ns = self.ns();
        let m = self.m;
        let region_ccgs = m.providers[f]
            .region
            .map_or(&[][..], |r| &m.region_ccgs[r][..]);
        for s in 0..ns {
            let fl = self.providers[f].lines[s].clone();
            if !fl.active {
                continue;
            }
            let al = &mut self.providers[a].lines[s];
            let takes = if al.active {
                al.capacity += fl.capacity;
                if synergy.is_some() {
                    al.fixed += fl.fixed;
                }
                true
            } else if !al.exists {
                *al = fl;
                true
            } else {
                false
            };
            // A local CSU sells only in its region, so only that region's CCGs can be its customers.
            for &c in region_ccgs {
                let k = &mut self.contracts[c * ns + s];
                if k.supplier == Supplier::Provider(f) {
                    // Customers of a service the absorber cannot offer alone choose again.
                    k.supplier = if takes {
                        Supplier::Provider(a)
                    } else {
                        Supplier::None
                    };
                }
            }
        }
        if let Some(synergy) = synergy {
            for l in self.providers[a].lines.iter_mut().filter(|l| l.active) {
                l.fixed *= 1.0 - synergy;
            }
        }
        let reserves = self.providers[f].reserves;
        self.providers[a].reserves += reserves;
        // A CSU's patch lies in its region (validation checks hosts).
        for &c in region_ccgs {
            if self.hosts[c] == Some(f) {
                self.hosts[c] = Some(a);
            }
        }
        self.patch_pop[a] += self.patch_pop[f];
        self.patch_pop[f] = 0.0;
        self.close(f, t, Fate::Merged);
    }

    /// Closes a provider: a network hands its services back to its members; a CSU leaves its networks.
    pub(super) fn close(&mut self, pi: usize, t: u32, fate: Fate) {
        let m = self.m;
        if matches!(fate, Fate::Stopped | Fate::Failed) {
            // Counted before the contracts move: CCGs with any service from this provider. A
            // provider of a region sells only there (a merger hands contracts to a CSU of the same
            // region), so only that region's CCGs are looked at: not every CCG for every closure.
            let ns = self.ns();
            let buys = |c: usize| {
                self.contracts[c * ns..(c + 1) * ns]
                    .iter()
                    .any(|k| k.supplier == Supplier::Provider(pi))
            };
            let stranded = match m.providers[pi].region {
                _ if ns == 0 => 0,
                Some(r) => m.region_ccgs[r].iter().filter(|&&c| buys(c)).count(),
                None => (0..m.ccgs.len()).filter(|&c| buys(c)).count(),
            };
            self.observer.reprocuring_ccgs = self
                .observer
                .reprocuring_ccgs
                .saturating_add(u32::try_from(stranded).unwrap_or(u32::MAX));
        }
        self.providers[pi].status = Status::Closed(fate);
        self.providers[pi].exit_period = Some(t);
        if m.providers[pi].kind == ProviderKind::Collaborative {
            self.hand_back(pi);
        } else {
            for &net in &m.networks_of[pi] {
                self.leave_network(net, pi, t);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::testing::*;

    #[test]
    fn exit_moves_every_customer_of_the_failed_provider() {
        let m = market("local");
        let mut w = replication_in_quarter_one(&m);
        let f = index(&m, "north-a");
        assert!(
            w.contracts
                .iter()
                .any(|k| k.supplier == Supplier::Provider(f)),
            "fixture should give north-a customers"
        );
        w.close(f, 1, Fate::Failed);
        w.start_quarter();
        w.procure();
        assert!(
            w.contracts
                .iter()
                .all(|k| k.supplier != Supplier::Provider(f))
        );
    }

    #[test]
    fn merge_moves_every_customer_patch_and_reserves_to_the_absorber() {
        let m = market("local");
        let mut w = replication_in_quarter_one(&m);
        let (f, a) = (index(&m, "north-a"), index(&m, "north-b"));
        w.providers[f].reserves = -5000.0;
        w.providers[a].reserves = 20000.0;
        let before = w
            .contracts
            .iter()
            .filter(|k| k.supplier == Supplier::Provider(f))
            .count();
        let absorber_before = w
            .contracts
            .iter()
            .filter(|k| k.supplier == Supplier::Provider(a))
            .count();
        assert!(before > 0);
        w.merge(f, a, 1, None);
        assert!(
            w.contracts
                .iter()
                .all(|k| k.supplier != Supplier::Provider(f))
        );
        let after = w
            .contracts
            .iter()
            .filter(|k| k.supplier == Supplier::Provider(a))
            .count();
        assert_eq!(
            after,
            absorber_before + before,
            "every customer moves to the absorber"
        );
        assert!(w.hosts.iter().all(|h| *h != Some(f)));
        assert_eq!(w.providers[a].reserves, 15000.0);
        assert_eq!(w.providers[f].status, Status::Closed(Fate::Merged));
    }
}
