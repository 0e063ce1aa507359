//! Voluntary mergers (MODEL.md section 10), after each checkpoint's ratings when
//! `consolidation.enabled`: each open local CSU whose projected margin is below the checkpoint's
//! `min_margin`, smallest patch first, looks at every open local CSU of its region. A merged pair
//! would carry `1 - synergy` of their summed fixed costs and the sums of their capacities,
//! customers and reserves; the CSU merges with the partner giving the highest combined projected
//! margin, if that margin passes `min_margin` and beats the partner's own. The larger patch absorbs
//! the smaller through the one `merge` of `failure.rs`. No random draw is made.

use crate::model::Checkpoint;
use crate::scenario::schema::ProviderKind;

use super::assurance::margin;
use super::state::Replication;

impl Replication<'_> {
    /// Runs the voluntary mergers that follow checkpoint `cp` in quarter `t`.
    pub(super) fn consolidate(&mut self, t: u32, cp: &Checkpoint) {
        let m = self.m;
        let synergy = m.consolidation.synergy;
        let mut order: Vec<usize> = (0..m.providers.len())
            .filter(|&p| m.providers[p].kind == ProviderKind::Local && self.providers[p].is_open())
            .collect();
        // Smallest patch first; on a tie, the earlier in the file.
        order.sort_by(|&a, &b| {
            self.patch_pop[a]
                .total_cmp(&self.patch_pop[b])
                .then(a.cmp(&b))
        });
        for f in order {
            if !self.providers[f].is_open() {
                continue;
            }
            // Each merger changes networks' shares, so the projection is taken afresh.
            let shares = self.projected_shares();
            let (rev_f, cost_f) = self.projected_result(f, &shares);
            if margin(rev_f, cost_f) >= cp.min_margin {
                continue;
            }
            let region = m.providers[f]
                .region
                .map_or(&[][..], |r| &m.region_locals[r][..]);
            let mut best: Option<(usize, f64)> = None;
            for &p in region {
                if p == f || !self.providers[p].is_open() {
                    continue;
                }
                let (rev_p, cost_p) = self.projected_result(p, &shares);
                let saved = synergy * (self.own_fixed_cost(f) + self.own_fixed_cost(p));
                let combined = margin(rev_f + rev_p, cost_f + cost_p - saved);
                let passes = combined >= cp.min_margin && combined > margin(rev_p, cost_p);
                if passes && best.is_none_or(|(_, b)| combined > b) {
                    best = Some((p, combined));
                }
            }
            if let Some((p, _)) = best {
                // The larger patch absorbs the smaller; on a tie, the partner absorbs.
                let (absorbed, absorber) = if self.patch_pop[f] > self.patch_pop[p] {
                    (p, f)
                } else {
                    (f, p)
                };
                self.merge(absorbed, absorber, t, Some(synergy));
            }
        }
    }

    /// A provider's own fixed costs per year: the sum over its active lines, before any network's
    /// coordination or hosting charge (what a merger's synergy saves on).
    pub(super) fn own_fixed_cost(&self, pi: usize) -> f64 {
        self.providers[pi]
            .lines
            .iter()
            .filter(|l| l.active)
            .map(|l| l.fixed)
            .sum()
    }
}
