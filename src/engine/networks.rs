//! Collaboratives (MODEL.md sections 2 and 9): a network pools its members' capacity for the
//! services it covers, is delivered by its members (a CCG's host if a member, else the lead), and
//! shares its result, and on stopping its capacity, by the volume each member delivered, or by
//! patch population when it delivered nothing ([`Replication::member_share`], the one place).
//! A member that leaves takes its capacity; a network whose lead leaves is led by its member with
//! the largest patch; a network left without members ends; a stopped network hands each service
//! back to its members.

use crate::scenario::schema::ProviderKind;

use super::observation::Fate;
use super::state::{Replication, Status};

/// No member slot: the network has no deliverer for the CCG.
const NO_SLOT: u32 = u32::MAX;

/// Which member of each network delivers to a CCG, by its slot in the network's members: the
/// CCG's host if a member, else the lead ([`Replication::deliverer`] and the member's position),
/// read from flat tables built once per pass over the contracts instead of searching the member
/// list for every pair. Valid until the next change of members, leads or hosts.
#[derive(Debug, Default, Clone)]
pub(super) struct MemberSlots {
    /// Per network: the lead's slot, or [`NO_SLOT`].
    lead: Vec<u32>,
    /// Per provider `h`: its memberships at `entries[start[h]..start[h + 1]]`.
    start: Vec<u32>,
    /// `(network, slot)` of each membership.
    entries: Vec<(u32, u32)>,
    /// Where the next membership of each provider goes while filling.
    fill: Vec<u32>,
    /// The tables hold the members, leads and hosts of now: filled since the last merger or
    /// departure from a network (the only steps that change them).
    valid: bool,
    /// How many times the tables were filled: what was read from them is out of date when it
    /// moved (the per-line sums of `delivery/sums.rs`).
    generation: u64,
}

impl MemberSlots {
    /// Whether the tables hold the members, leads and hosts of now.
    pub(super) fn is_valid(&self) -> bool {
        self.valid
    }

    /// How many times the tables were filled.
    pub(super) fn generation(&self) -> u64 {
        self.generation
    }

    /// Marks the tables out of date: a merger moved hosts, or a member left a network.
    pub(super) fn invalidate(&mut self) {
        self.valid = false;
    }

    /// The memberships of a CCG's host (none without a host), read once per CCG.
    #[inline]
    pub(super) fn of_host(&self, host: Option<usize>) -> &[(u32, u32)] {
        match host {
            Some(h) => &self.entries[self.start[h] as usize..self.start[h + 1] as usize],
            None => &[],
        }
    }

    /// The slot of the member of network `net` that delivers to a CCG whose host has the
    /// memberships `host` ([`Self::of_host`]).
    #[inline]
    pub(super) fn slot_in(&self, net: usize, host: &[(u32, u32)]) -> Option<usize> {
        if let Some(&(_, j)) = host.iter().find(|e| e.0 as usize == net) {
            return Some(j as usize);
        }
        match self.lead[net] {
            NO_SLOT => None,
            j => Some(j as usize),
        }
    }
}

impl Replication<'_> {
    /// Planning: each network takes over its members' lines for the services it covers (theirs
    /// go dormant) and, unless the scenario gives its capacity, pools theirs. Members' weights
    /// are their shares of the pooled capacity, which they take with them if they leave.
    pub(super) fn pool_networks(&mut self) {
        let m = self.m;
        for (pi, p) in m.providers.iter().enumerate() {
            if p.kind != ProviderKind::Collaborative {
                continue;
            }
            let caps: Vec<f64> = p
                .members
                .iter()
                .map(|&mi| {
                    (0..m.services.len())
                        .filter(|&s| p.offers[s].is_some())
                        .map(|s| self.providers[mi].lines[s].capacity)
                        .sum()
                })
                .collect();
            let total: f64 = caps.iter().sum();
            let n = p.members.len().max(1) as f64;
            self.providers[pi].weights = caps
                .iter()
                .map(|c| if total > 0.0 { c / total } else { 1.0 / n })
                .collect();
            for s in 0..m.services.len() {
                if p.offers[s].is_none() {
                    continue;
                }
                let pooled: f64 = p
                    .members
                    .iter()
                    .map(|&mi| self.providers[mi].lines[s].capacity)
                    .sum();
                for &mi in &p.members {
                    self.providers[mi].lines[s].active = false;
                }
                let line = &mut self.providers[pi].lines[s];
                if p.offers[s].and_then(|o| o.capacity).is_none() {
                    line.capacity = pooled;
                }
            }
        }
    }

    /// The member of a network that delivers to a CCG: its host if a member, else the lead.
    pub(super) fn deliverer(&self, net: usize, c: usize) -> Option<usize> {
        let st = &self.providers[net];
        match self.hosts[c] {
            Some(h) if st.members.contains(&h) => Some(h),
            _ => st.lead,
        }
    }

    /// Brings the replication's deliverer slots (kept in its delivery buffers) up to date.
    pub(super) fn refresh_member_slots(&mut self) {
        if !self.delivery.slots.is_valid() {
            let mut slots = std::mem::take(&mut self.delivery.slots);
            self.fill_member_slots(&mut slots);
            self.delivery.slots = slots;
        }
    }

    /// Fills `out` with every network's deliverer slots as of now (see [`MemberSlots`]).
    pub(super) fn fill_member_slots(&self, out: &mut MemberSlots) {
        out.valid = true;
        out.generation = out.generation.wrapping_add(1);
        let np = self.providers.len();
        out.lead.clear();
        out.start.clear();
        out.start.resize(np + 1, 0);
        for st in &self.providers {
            let lead = st
                .lead
                .and_then(|l| st.members.iter().position(|&x| x == l));
            out.lead.push(lead.map_or(NO_SLOT, |j| j as u32));
            for &mi in &st.members {
                out.start[mi + 1] += 1;
            }
        }
        for h in 0..np {
            out.start[h + 1] += out.start[h];
        }
        // Each member's entries in network order, and within a network in member order, so the
        // first entry found for a network is the member's first slot in it, as `position` finds.
        out.entries.clear();
        out.entries.resize(out.start[np] as usize, (0, 0));
        out.fill.clear();
        out.fill.extend_from_slice(&out.start[..np]);
        for (net, st) in self.providers.iter().enumerate() {
            for (j, &mi) in st.members.iter().enumerate() {
                out.entries[out.fill[mi] as usize] = (net as u32, j as u32);
                out.fill[mi] += 1;
            }
        }
    }

    /// Member `j`'s share of network `net`'s result (or of its capacity when it stops): in
    /// proportion to `volume`, each member's delivered (or projected) volume in member order, or
    /// to the members' current patch populations when that volume is all zero, or equal shares.
    pub(super) fn member_share(&self, net: usize, volume: &[f64], j: usize) -> f64 {
        let total: f64 = volume.iter().sum();
        if total > 0.0 {
            return volume[j] / total;
        }
        let st = &self.providers[net];
        let sum: f64 = st.members.iter().map(|&mi| self.patch_pop[mi]).sum();
        let n = st.members.len().max(1) as f64;
        if sum > 0.0 {
            self.patch_pop[st.members[j]] / sum
        } else {
            1.0 / n
        }
    }

    /// A stopped network hands each service back to its open members that do not get it from
    /// another open network: their own line, at its business-plan price, with a share of the
    /// pooled capacity (by volume delivered this quarter, else patch population).
    pub(super) fn hand_back(&mut self, net: usize) {
        let m = self.m;
        let st = &self.providers[net];
        let shares: Vec<f64> = (0..st.members.len())
            .map(|j| self.member_share(net, &st.delivered, j))
            .collect();
        let members = st.members.clone();
        for s in 0..self.ns() {
            if !self.providers[net].lines[s].exists {
                continue;
            }
            let pooled = self.providers[net].lines[s].capacity;
            for (j, &mi) in members.iter().enumerate() {
                let covered_elsewhere = m.networks_of[mi].iter().any(|&n| {
                    n != net && self.providers[n].is_open() && self.providers[n].lines[s].exists
                });
                let open = self.providers[mi].status == Status::Open;
                let l = &mut self.providers[mi].lines[s];
                if l.exists && !covered_elsewhere && open {
                    l.active = true;
                    l.price = l.plan_price;
                    l.capacity = pooled * shares[j];
                }
            }
        }
    }

    /// A member leaves a network, taking its share of pooled capacity; a network led by it gets a
    /// new lead (the member with the largest patch); a network left empty ends.
    pub(super) fn leave_network(&mut self, net: usize, member: usize, t: u32) {
        if !self.providers[net].is_open() {
            return;
        }
        let Some(j) = self.providers[net]
            .members
            .iter()
            .position(|&x| x == member)
        else {
            return;
        };
        let w = self.providers[net].weights.get(j).copied().unwrap_or(0.0);
        self.delivery.slots.invalidate();
        {
            let st = &mut self.providers[net];
            st.members.remove(j);
            st.delivered.remove(j);
            if j < st.weights.len() {
                st.weights.remove(j);
            }
            let rest: f64 = st.weights.iter().sum();
            if rest > 0.0 {
                st.weights.iter_mut().for_each(|x| *x /= rest);
            }
            for l in &mut st.lines {
                l.capacity *= 1.0 - w;
            }
        }
        let st = &self.providers[net];
        if st.members.is_empty() {
            let st = &mut self.providers[net];
            st.status = Status::Closed(Fate::Ended);
            st.exit_period = Some(t);
            st.lead = None;
            return;
        }
        if st.lead == Some(member) {
            // The first of the members with the largest patch.
            let mut best = st.members[0];
            let mut best_pop = f64::NEG_INFINITY;
            for &mi in &st.members {
                let pop = self.patch_pop[mi];
                if pop > best_pop {
                    best = mi;
                    best_pop = pop;
                }
            }
            self.providers[net].lead = Some(best);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::testing::*;
    use crate::model::Market;
    use crate::scenario::Scenario;

    /// Runs replications of `m` and checks, after every quarter, the deliverer slots kept since
    /// delivery (unless a merger or departure marked them out of date) against `deliverer` for
    /// every network and CCG. Returns (pairs checked with a deliverer, kept tables checked, refreshes).
    fn check_kept_slots(m: &Market, reps: u64) -> (usize, usize, usize) {
        let (mut checked, mut kept, mut refreshed) = (0, 0, 0);
        for rep in 0..reps {
            let mut w = Replication::new(m, rep);
            w.plan();
            for _ in 1..m.periods {
                w.run_quarter();
                if w.delivery.slots.is_valid() {
                    kept += 1;
                } else {
                    w.refresh_member_slots();
                    refreshed += 1;
                }
                let slots = &w.delivery.slots;
                for net in 0..m.providers.len() {
                    let members = &w.providers[net].members;
                    for c in 0..m.ccgs.len() {
                        let want = w
                            .deliverer(net, c)
                            .and_then(|mi| members.iter().position(|&x| x == mi));
                        assert_eq!(
                            slots.slot_in(net, slots.of_host(w.hosts[c])),
                            want,
                            "rep {rep} {net} {c}"
                        );
                        checked += usize::from(want.is_some());
                    }
                }
            }
        }
        (checked, kept, refreshed)
    }

    #[test]
    fn kept_member_slots_name_the_deliverer_of_every_network_and_ccg_after_every_quarter() {
        let (checked, kept, refreshed) = check_kept_slots(&market("collaborative"), 40);
        assert!(
            checked > 0 && kept > 0 && refreshed > 0,
            "{checked} {kept} {refreshed}"
        );
        // England 2012 with voluntary mergers that pass (hosts move between CSUs).
        let text = include_str!("../../scenarios/england-2012.toml");
        let s = Scenario::from_text("england-2012.toml", text).unwrap();
        let config = "comms-collaboratives";
        let mut m = Market::compile(&s.resolve(config).unwrap(), config).unwrap();
        m.consolidation.synergy = 0.3;
        let (checked, kept, refreshed) = check_kept_slots(&m, 4);
        assert!(
            checked > 0 && kept > 0 && refreshed > 0,
            "{checked} {kept} {refreshed}"
        );
    }

    #[test]
    fn stopped_collaborative_hands_its_services_back_to_members() {
        let m = market("collaborative");
        let net = index(&m, "bi-north");
        let bi = m.services.iter().position(|s| s.id == "bi").unwrap();
        let members = [index(&m, "north-a"), index(&m, "north-b")];
        // A replication in which the network passed its first checkpoint.
        let mut w = (0..50)
            .map(|rep| {
                let mut w = Replication::new(&m, rep);
                w.plan();
                w
            })
            .find(|w| {
                w.providers[net].is_open() && members.iter().all(|&mi| w.providers[mi].is_open())
            })
            .expect("the network passes the first checkpoint in some replication");
        assert!(members.iter().all(|&mi| !w.providers[mi].lines[bi].active));
        let pooled = w.providers[net].lines[bi].capacity;
        w.close(net, 1, Fate::Stopped);
        let back: f64 = members
            .iter()
            .map(|&mi| w.providers[mi].lines[bi].capacity)
            .sum();
        assert!(members.iter().all(|&mi| w.providers[mi].lines[bi].active));
        assert!((back - pooled).abs() < 1e-6 * pooled.max(1.0));
    }
}
