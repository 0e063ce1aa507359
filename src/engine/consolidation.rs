//! Voluntary mergers (MODEL.md section 10), after each checkpoint's ratings when
//! `consolidation.enabled`: each open local CSU whose projected margin is below the checkpoint's
//! `min_margin`, smallest patch first, looks at every open local CSU of its region. A merged pair
//! would carry `1 - synergy` of their summed fixed costs and the sums of their capacities,
//! customers and reserves; the CSU merges with the partner giving the highest combined projected
//! margin, if that margin passes `min_margin` and beats the partner's own. The larger patch absorbs
//! the smaller through the one `merge` of `failure.rs`. No random draw is made.

use crate::model::Checkpoint;
use crate::scenario::schema::ProviderKind;

use super::assurance::{AssuranceScratch, margin};
use super::state::Replication;

impl Replication<'_> {
    /// Runs the voluntary mergers that follow checkpoint `cp` in quarter `t`. `projection_holds`:
    /// the projected shares and results in `self.assurance` are those of the state now (the
    /// checkpoint stopped no one), so they need not be computed again.
    pub(super) fn consolidate(&mut self, t: u32, cp: &Checkpoint, projection_holds: bool) {
        let m = self.m;
        let synergy = m.consolidation.synergy;
        let mut a = std::mem::take(&mut self.assurance);
        a.order.clear();
        a.order.extend((0..m.providers.len()).filter(|&p| {
            m.providers[p].kind == ProviderKind::Local && self.providers[p].is_open()
        }));
        // Smallest patch first; on a tie, the earlier in the file.
        a.order.sort_by(|&x, &y| {
            self.patch_pop[x]
                .total_cmp(&self.patch_pop[y])
                .then(x.cmp(&y))
        });
        // Only a merger changes what the projection reads, so it is taken afresh after each
        // merger, and each provider's projected result is computed once between mergers.
        let mut fresh = projection_holds;
        for k in 0..a.order.len() {
            let f = a.order[k];
            if !self.providers[f].is_open() {
                continue;
            }
            if !fresh {
                self.refresh_member_slots();
                self.fill_projected_shares(&mut a.shares);
                a.forget_results(m.providers.len());
                fresh = true;
            }
            let (rev_f, cost_f) = self.cached_result(&mut a, f);
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
                let (rev_p, cost_p) = self.cached_result(&mut a, p);
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
                fresh = false;
            }
        }
        self.assurance = a;
    }

    /// A provider's projected (revenue, cost), computed once while `a.shares` holds.
    fn cached_result(&self, a: &mut AssuranceScratch, p: usize) -> (f64, f64) {
        if let Some(r) = a.results[p] {
            return r;
        }
        let r = self.projected_result_kept(p, &a.shares, &mut a.own);
        a.results[p] = Some(r);
        r
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
