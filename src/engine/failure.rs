//! Step 6, failure (MODEL.md sections 3 and 9): after independence a provider whose reserves fall
//! below the insolvency threshold fails; it exits (its CCGs choose again), or a local CSU merges
//! into the open local CSU of its region with the largest reserves, which takes its patch,
//! customers, capacity and reserves. Also how any provider leaves the market (`close`).

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
            let absorber = if m.merges_on_failure() && m.providers[f].kind == ProviderKind::Local {
                let region = m.providers[f]
                    .region
                    .map_or(&[][..], |r| &m.region_locals[r][..]);
                region
                    .iter()
                    .copied()
                    .filter(|&a| a != f && !failing.contains(&a) && self.providers[a].is_open())
                    // The largest reserves; on a tie, the earlier in the file.
                    .max_by(|&a, &b| {
                        self.providers[a]
                            .reserves
                            .total_cmp(&self.providers[b].reserves)
                            .then(b.cmp(&a))
                    })
            } else {
                None
            };
            match absorber {
                Some(a) => self.merge(f, a, t),
                None => self.close(f, t, Fate::Failed),
            }
        }
    }

    /// A failed CSU merges into another: customers, capacity, reserves and patch move to it.
    fn merge(&mut self, f: usize, a: usize, t: u32) {
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
        w.merge(f, a, 1);
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
