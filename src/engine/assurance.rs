//! Step 5, assurance (MODEL.md section 5): at a checkpoint every open provider is rated on three
//! domains (customer share of its targets, projected margin, capability) with the rating table
//! and its marginal band; all are rated on the same state, then those rated C are stopped, and,
//! where the checkpoint says so, those rated B before that do not reach A now. Under `on_c =
//! "merge"` a local CSU rated C merges into a neighbour instead (MODEL.md section 10); voluntary
//! mergers follow the ratings (`consolidation.rs`). Every rating is recorded with its domains.

use crate::model::Checkpoint;
use crate::scenario::schema::{OnC, ProviderKind, Rating};

use super::networks::MemberSlots;
use super::observation::{DomainCheck, Fate, RatingRecord};
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
        let d = judge(value, threshold, marginal_band);
        if d.failed {
            failed += 1;
        } else if d.marginal {
            marginal = true;
        }
    }
    match failed {
        0 if !marginal => Rating::A,
        0 | 1 => Rating::B,
        _ => Rating::C,
    }
}

/// One domain judged against its threshold: failed below it (or NaN), marginal when it passes
/// within `marginal_band` of it. The rating table's reading of a domain, kept for explanation.
pub fn judge(value: f64, threshold: f64, marginal_band: f64) -> DomainCheck {
    let failed = value < threshold || value.is_nan();
    DomainCheck {
        value,
        threshold,
        failed,
        marginal: !failed && value < threshold + marginal_band * threshold.abs(),
    }
}

/// Per network, each member's share of the network's projected result, flat: provider `p`'s
/// members at `start[p]..start[p + 1]` of `values` (empty for providers without members).
#[derive(Debug, Default, Clone)]
pub(super) struct Shares {
    start: Vec<usize>,
    values: Vec<f64>,
    /// Per provider: `start[p]` for a network with members, else [`NOT_A_NETWORK`].
    first: Vec<usize>,
}

/// A provider whose contracts no member shares.
const NOT_A_NETWORK: usize = usize::MAX;

impl Shares {
    /// Member shares of network `net`, in member order.
    pub(super) fn of(&self, net: usize) -> &[f64] {
        &self.values[self.start[net]..self.start[net + 1]]
    }
}

/// Buffers a checkpoint reuses (no allocation at checkpoints after the first), and the
/// projection a checkpoint's ratings leave for its voluntary mergers.
#[derive(Debug, Default)]
pub(super) struct AssuranceScratch {
    /// Projected member shares of every network, as of the last [`Replication::fill_projected_shares`].
    pub(super) shares: Shares,
    /// Per provider: its projected (revenue, cost) once asked for since `shares` was filled.
    pub(super) results: Vec<Option<(f64, f64)>>,
    /// Per provider: its own [`Replication::projection`], once asked for while `results` holds
    /// (a network's is read by each of its members).
    pub(super) own: Vec<Option<(f64, f64)>>,
    customers: Vec<f64>,
    target_pop: Vec<f64>,
    nationals: Vec<usize>,
    /// Per provider: the last CCG (from 1) that credited it with custom.
    credited_by: Vec<usize>,
    /// Per provider: the last CCG (from 1) whose host is one of its members.
    host_in: Vec<usize>,
    /// Per provider: its kind, read once per pass.
    kinds: Vec<ProviderKind>,
    stops: Vec<usize>,
    rated_c: Vec<bool>,
    /// Local CSUs in the order voluntary mergers consider them.
    pub(super) order: Vec<usize>,
}

impl AssuranceScratch {
    /// Forgets every provider's projected result and own projection, for `np` providers.
    pub(super) fn forget_results(&mut self, np: usize) {
        for v in [&mut self.results, &mut self.own] {
            v.clear();
            v.resize(np, None);
        }
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
    /// those rated C (or B where the checkpoint requires A after a B); under `on_c = "merge"` a
    /// local CSU rated C merges into a neighbour instead. Voluntary mergers come last.
    pub(super) fn assure_checkpoint(&mut self, t: u32, ci: usize, cp: &Checkpoint) {
        let m = self.m;
        let mut a = std::mem::take(&mut self.assurance);
        // The customer shares read the member slots.
        self.refresh_member_slots();
        self.customer_shares(&mut a);
        self.fill_projected_shares(&mut a.shares);
        a.stops.clear();
        a.rated_c.clear();
        a.forget_results(m.providers.len());
        for pi in 0..m.providers.len() {
            if !self.providers[pi].is_open() {
                continue;
            }
            let (rev, cost) = self.projected_result_kept(pi, &a.shares, &mut a.own);
            a.results[pi] = Some((rev, cost));
            let domains = [
                (a.customers[pi], cp.min_customer_share),
                (margin(rev, cost), cp.min_margin),
                (self.providers[pi].capability, cp.min_capability),
            ];
            let rating = rate(&domains, cp.marginal_band);
            self.observer.ratings.push(RatingRecord {
                checkpoint: ci,
                provider: pi,
                domains: domains.map(|(v, th)| judge(v, th, cp.marginal_band)),
                rating,
            });
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
                a.stops.push(pi);
                a.rated_c.push(rating == Rating::C);
            }
        }
        for k in 0..a.stops.len() {
            let (pi, c) = (a.stops[k], a.rated_c[k]);
            // Those stopped at the same checkpoint cannot absorb anyone.
            let absorber = if c && cp.on_c == OnC::Merge {
                self.absorber(pi, &a.stops)
            } else {
                None
            };
            match absorber {
                Some(to) => self.merge(pi, to, t, None),
                None => self.close(pi, t, Fate::Stopped),
            }
        }
        // Without stops nothing the projection reads has changed since the ratings: the
        // voluntary mergers start from it.
        let projection_holds = a.stops.is_empty();
        self.assurance = a;
        if m.consolidation.enabled {
            self.consolidate(t, cp, projection_holds);
        }
    }

    /// Fills `a.customers`: per provider, the population share of its targets (current patch,
    /// members' current patches, or every CCG) buying at least one service from it; a member
    /// counts the CCGs of its patch buying from a network it belongs to. One pass over the CCGs;
    /// the member slots must be up to date.
    fn customer_shares(&self, a: &mut AssuranceScratch) {
        let m = self.m;
        let ns = self.ns();
        let np = m.providers.len();
        let (target_pop, customer_pop) = (&mut a.target_pop, &mut a.customers);
        target_pop.clear();
        target_pop.resize(np, 0.0);
        customer_pop.clear();
        customer_pop.resize(np, 0.0);
        a.nationals.clear();
        a.nationals
            .extend((0..np).filter(|&p| m.providers[p].kind == ProviderKind::National));
        // A national's target is every CCG: the same sum, in CCG order, for each, so it is
        // taken once (the same bits), unless a national hosts a patch, whose population would
        // come between (then each is summed CCG by CCG, as before).
        let national_hosts = self
            .hosts
            .iter()
            .any(|h| h.is_some_and(|h| m.providers[h].kind == ProviderKind::National));
        if !national_hosts {
            let everyone = m.ccgs.iter().fold(0.0, |sum, c| sum + c.population);
            for &p in &a.nationals {
                target_pop[p] = everyone;
            }
        }
        // Per provider, stamped with the CCG (counted from 1) now being read: `credited_by`, it
        // was credited with the CCG's custom (each once per CCG, added to in CCG order: the same
        // bits as crediting after the CCG's services); `host_in`, it is a network with the CCG's
        // host among its members (read from the member slots, which list exactly those).
        let (credited_by, host_in) = (&mut a.credited_by, &mut a.host_in);
        for v in [&mut *credited_by, &mut *host_in] {
            v.clear();
            v.resize(np, 0);
        }
        a.kinds.clear();
        a.kinds.extend(m.providers.iter().map(|p| p.kind));
        let kinds = &a.kinds;
        let slots = &self.delivery.slots;
        let rows = self.contracts[..m.ccgs.len() * ns]
            .chunks_exact(ns.max(1))
            .zip(&self.hosts)
            .zip(&m.ccgs);
        for (c, ((row, &host), ccg)) in rows.enumerate() {
            let pop = ccg.population;
            let tag = c + 1;
            if national_hosts {
                for &p in &a.nationals {
                    target_pop[p] += pop;
                }
            }
            if let Some(h) = host {
                for &(net, _) in slots.of_host(host) {
                    host_in[net as usize] = tag;
                }
                target_pop[h] += pop;
                for &net in &m.networks_of[h] {
                    if host_in[net] == tag {
                        target_pop[net] += pop;
                    }
                }
            }
            let mut credit = |x: usize| {
                if credited_by[x] != tag {
                    credited_by[x] = tag;
                    customer_pop[x] += pop;
                }
            };
            for k in row {
                let Supplier::Provider(p) = k.supplier else {
                    continue;
                };
                match kinds[p] {
                    ProviderKind::National => credit(p),
                    ProviderKind::Local if host == Some(p) => credit(p),
                    ProviderKind::Collaborative => {
                        if let Some(h) = host.filter(|_| host_in[p] == tag) {
                            credit(p);
                            credit(h);
                        }
                    }
                    ProviderKind::Local => {}
                }
            }
        }
        for (share, &target) in customer_pop.iter_mut().zip(target_pop.iter()) {
            *share = if target > 0.0 { *share / target } else { 0.0 };
        }
    }

    /// Projected revenue and cost for the next year at current contracts and prices.
    fn projection(&self, pi: usize) -> (f64, f64) {
        let m = self.m;
        let f = &m.finance;
        let st = &self.providers[pi];
        let (mut rev, mut cost) = (0.0, 0.0);
        let charged = self.hosting_charge(pi);
        for s in 0..self.ns() {
            let l = &st.lines[s];
            if !l.active {
                continue;
            }
            rev += l.price * l.contracted;
            cost += self.fixed_cost(pi, s, charged)
                + l.unit * l.contracted
                + f.idle_cost_share * l.unit * (l.capacity - l.contracted).max(0.0);
        }
        (rev, cost)
    }

    /// Per network, each member's share of the volume it would deliver at current contracts
    /// (by what it delivered this quarter when the network has none, then by patch population).
    pub(super) fn projected_shares(&self) -> Shares {
        let mut shares = Shares::default();
        self.fill_projected_shares(&mut shares);
        shares
    }

    /// [`Self::projected_shares`] into reused buffers. Each member's volume is added in pair
    /// order, as [`Replication::member_share`] would add it: kept by delivery's per-line sums
    /// where they hold, else one pass over the contracts.
    pub(super) fn fill_projected_shares(&self, out: &mut Shares) {
        let m = self.m;
        out.start.clear();
        out.values.clear();
        out.first.clear();
        let mut n = 0;
        for (st, p) in self.providers.iter().zip(&m.providers) {
            out.start.push(n);
            // Only networks have members (a network without members has nothing to share).
            let network = !st.members.is_empty() && p.kind == ProviderKind::Collaborative;
            out.first.push(if network { n } else { NOT_A_NETWORK });
            n += st.members.len();
        }
        out.start.push(n);
        out.values.resize(n, 0.0);
        // At a checkpoint after delivery the per-line sums kept for delivery hold these volumes,
        // added in the same order; after a merger (or before the first delivery) they are added
        // up here.
        match self.delivery.sums.member_totals(&self.delivery.slots) {
            Some(totals) if totals.len() == n => out.values.copy_from_slice(totals),
            _ => self.add_member_volumes(out),
        }
        for net in 0..self.providers.len() {
            let x = &mut out.values[out.start[net]..out.start[net + 1]];
            // Without projected volume, what each member delivered this quarter decides.
            let total: f64 = x.iter().sum();
            if total > 0.0 {
                x.iter_mut().for_each(|v| *v /= total);
            } else {
                let delivered = &self.providers[net].delivered;
                for (j, v) in x.iter_mut().enumerate() {
                    *v = self.member_share(net, delivered, j);
                }
            }
        }
    }

    /// Adds each network member's delivered volume at current contracts into `out.values`
    /// (zeroed, laid out by `out.first`), in pair order: one pass over the contracts.
    pub(super) fn add_member_volumes(&self, out: &mut Shares) {
        let m = self.m;
        let ns = self.ns();
        // The replication's kept slots; only a caller that cannot refresh them (a test's look at
        // the projection) finds them out of date and has them filled apart.
        let own;
        let slots = if self.delivery.slots.is_valid() {
            &self.delivery.slots
        } else {
            let mut fresh = MemberSlots::default();
            self.fill_member_slots(&mut fresh);
            own = fresh;
            &own
        };
        let contracts = &self.contracts[..m.ccgs.len() * ns];
        let volume = &self.volume[..contracts.len()];
        let rows = contracts
            .chunks_exact(ns.max(1))
            .zip(volume.chunks_exact(ns.max(1)))
            .zip(&self.hosts);
        for ((row, vols), &host) in rows {
            let host = slots.of_host(host);
            for (k, &v) in row.iter().zip(vols) {
                let Supplier::Provider(net) = k.supplier else {
                    continue;
                };
                let first = out.first[net];
                if first == NOT_A_NETWORK {
                    continue;
                }
                // The deliverer (the CCG's host if a member, else the lead), by its member slot.
                if let Some(j) = slots.slot_in(net, host) {
                    out.values[first + j] += v;
                }
            }
        }
    }

    /// Projected margin; a member counts its share of its networks' projected results.
    pub(super) fn projected_margin_with(&self, pi: usize, shares: &Shares) -> f64 {
        let (rev, cost) = self.projected_result(pi, shares);
        margin(rev, cost)
    }

    /// Projected revenue and cost for the next year; a member counts its share of its networks'.
    pub(super) fn projected_result(&self, pi: usize, shares: &Shares) -> (f64, f64) {
        let mut own = vec![None; self.providers.len()];
        self.projected_result_kept(pi, shares, &mut own)
    }

    /// [`Self::projected_result`], taking each provider's own projection from `own` where it
    /// is there and keeping it there where not (valid while nothing it reads changes).
    pub(super) fn projected_result_kept(
        &self,
        pi: usize,
        shares: &Shares,
        own: &mut [Option<(f64, f64)>],
    ) -> (f64, f64) {
        let mut projection = |p: usize| *own[p].get_or_insert_with(|| self.projection(p));
        let (mut rev, mut cost) = projection(pi);
        if self.m.providers[pi].kind == ProviderKind::Local {
            for &net in &self.m.networks_of[pi] {
                if !self.providers[net].is_open() {
                    continue;
                }
                if let Some(j) = self.providers[net].members.iter().position(|&x| x == pi) {
                    let (r, c) = projection(net);
                    let w = shares.of(net)[j];
                    rev += w * r;
                    cost += w * c;
                }
            }
        }
        (rev, cost)
    }
}

/// Margin of a projected result: surplus over revenue, -1 without revenue.
pub(super) fn margin(rev: f64, cost: f64) -> f64 {
    if rev > 0.0 { (rev - cost) / rev } else { -1.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::testing::market;
    use crate::model::Market;
    use crate::scenario::Scenario;

    /// Where delivery's kept sums hold, their members' volumes against one pass over the pairs,
    /// bit for bit; returns 1 where they held with some volume delivered by a member.
    fn compare_member_volumes(w: &mut Replication, what: &str) -> u32 {
        w.refresh_member_slots();
        let mut by_pass = w.projected_shares();
        by_pass.values.fill(0.0);
        w.add_member_volumes(&mut by_pass);
        let Some(kept) = w.delivery.sums.member_totals(&w.delivery.slots) else {
            return 0;
        };
        let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(kept), bits(&by_pass.values), "{what}");
        u32::from(kept.iter().any(|&v| v > 0.0))
    }

    /// Runs replications quarter by quarter; after the choices, and before and after each
    /// quarter's checkpoints (and the mergers they bring), the kept member volumes, where they
    /// hold, must equal the pass.
    fn check_kept_member_volumes(m: &Market, reps: u64) -> u32 {
        let mut held = 0;
        for rep in 0..reps {
            let mut w = Replication::new(m, rep);
            w.plan();
            for _ in 1..m.periods {
                let t = w.start_quarter();
                w.procure();
                // Choices may have moved customers since the sums were built.
                held += compare_member_volumes(&mut w, &format!("rep {rep} chose in {t}"));
                w.deliver();
                w.finance();
                w.review_prices();
                w.adjust_capacity();
                held += compare_member_volumes(&mut w, &format!("rep {rep} quarter {t}"));
                w.assure();
                held += compare_member_volumes(&mut w, &format!("rep {rep} after quarter {t}"));
                w.fail();
                w.observe();
            }
        }
        held
    }

    #[test]
    fn projected_member_volumes_kept_by_delivery_equal_one_pass_over_the_pairs() {
        let mut held = check_kept_member_volumes(&market("collaborative"), 20);
        // England 2012 with voluntary mergers that pass: hosts and customers move after ratings.
        let text = include_str!("../../scenarios/england-2012.toml");
        let s = Scenario::from_text("england-2012.toml", text).unwrap();
        let config = "comms-collaboratives";
        let mut m = Market::compile(&s.resolve(config).unwrap(), config).unwrap();
        m.consolidation.synergy = 0.3;
        held += check_kept_member_volumes(&m, 2);
        assert!(held > 0, "kept volumes with members' deliveries never met");
    }

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
