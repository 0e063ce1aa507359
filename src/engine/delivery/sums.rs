//! What delivery and the tally read of the contracts, summed once per line (`p * S + s`) and per
//! service, and kept until the contracts or the networks' deliverers change. A quarter's
//! delivery then works per line: what it adds up per pair is a line's share served, price or
//! in-house fallback times a figure of the pair that only its contract decides (its volume, its
//! in-house price times volume, its squared volume), so the line's sums of those figures give the
//! same totals, up to the order of the additions.
//!
//! Who changes what the sums are made of, and marks them out of date:
//! - the contracts' suppliers: a round of choices (`close_round` in `agenda.rs`, after every
//!   round that was not skipped), a merger (customers move to the absorber, or to no one), a new
//!   replication (`state.rs`'s restart). Notices change a contract's end only;
//! - which member of a network serves a CCG: a merger (hosts move) or a departure, which refill
//!   the member slots; the sums keep the slots' generation and are rebuilt when it moved.
//!
//! Volumes and in-house prices are drawn once per replication. Whether a line's provider is open,
//! its capacity and price change from quarter to quarter and are read per line at delivery.

use crate::scenario::schema::ProviderKind;

use super::super::networks::MemberSlots;
use super::super::state::{Replication, Supplier};

/// Sums over a set of (CCG, service) pairs, in annual volume.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(in crate::engine) struct PairSums {
    /// Volume.
    pub(in crate::engine) volume: f64,
    /// In-house price times volume: what the CCGs' own teams would cost for all of it.
    pub(in crate::engine) in_house_cost: f64,
    /// Squared volumes (each CCG's team is its own supplier in the HHI).
    pub(in crate::engine) volume_sq: f64,
}

impl PairSums {
    fn add(&mut self, volume: f64, in_house_price: f64) {
        self.volume += volume;
        self.in_house_cost += in_house_price * volume;
        self.volume_sq += volume * volume;
    }
}

/// The sums of [`PairSums`] per line and per service, and how each network's volume splits
/// between the members that deliver it (module docs).
#[derive(Debug, Default)]
pub(in crate::engine) struct ContractSums {
    /// The sums describe the contracts of now (see [`ContractSums::contracts_changed`]).
    valid: bool,
    /// The member slots' generation the sums were built with.
    slots_generation: u64,
    /// Per line: its customers' pairs, added in pair order (the tally's contracted volume is
    /// `volume`, the same bits as one pass over the pairs).
    pub(in crate::engine) lines: Vec<PairSums>,
    /// Per service: the pairs served in-house (in-house contracts, or none yet).
    pub(in crate::engine) in_house: Vec<PairSums>,
    /// Per service: the volume contracted with the independent sector.
    pub(in crate::engine) independent: Vec<f64>,
    /// Per network member and service: the volume of the network's customers it delivers to,
    /// member `j` of provider `p` at `(member_start[p] + j) * S + s`.
    pub(in crate::engine) member_volume: Vec<f64>,
    /// Per provider, where its members start in `member_volume` (in members), then the total.
    pub(in crate::engine) member_start: Vec<usize>,
    /// Per network member (at `member_start[p] + j`): the volume of the network's customers it
    /// delivers to over every service, added in pair order (what the projected member shares of
    /// `assurance.rs` are made of).
    member_total: Vec<f64>,
    /// How many times the sums were built (tests check they are rebuilt when they must be).
    #[cfg(test)]
    pub(in crate::engine) rebuilds: u32,
}

impl ContractSums {
    /// Marks the sums out of date: some contract's supplier may have changed.
    pub(in crate::engine) fn contracts_changed(&mut self) {
        self.valid = false;
    }

    /// Each network member's delivered volume over every service, in pair order (laid out as
    /// `member_start`), where the sums describe the contracts of now and were built with
    /// `slots`, which hold the members, leads and hosts of now; else none.
    pub(in crate::engine) fn member_totals(&self, slots: &MemberSlots) -> Option<&[f64]> {
        let holds = self.valid && slots.is_valid() && self.slots_generation == slots.generation();
        holds.then_some(&self.member_total[..])
    }
}

impl Replication<'_> {
    /// Brings the per-line sums (and the member slots they read) up to date: one pass over the
    /// pairs when the contracts or the networks' deliverers changed since the last pass.
    pub(in crate::engine) fn refresh_contract_sums(&mut self) {
        self.refresh_member_slots();
        let d = &self.delivery;
        if d.sums.valid && d.sums.slots_generation == d.slots.generation() {
            return;
        }
        let mut sums = std::mem::take(&mut self.delivery.sums);
        self.fill_contract_sums(&mut sums);
        self.delivery.sums = sums;
    }

    /// Fills `out` from the contracts, volumes and in-house prices of now, in pair order.
    fn fill_contract_sums(&self, out: &mut ContractSums) {
        let (m, ns) = (self.m, self.ns());
        let slots = &self.delivery.slots;
        out.valid = true;
        out.slots_generation = slots.generation();
        #[cfg(test)]
        {
            out.rebuilds += 1;
        }
        out.lines.clear();
        out.lines
            .resize(self.providers.len() * ns, PairSums::default());
        out.in_house.clear();
        out.in_house.resize(ns, PairSums::default());
        out.independent.clear();
        out.independent.resize(ns, 0.0);
        out.member_start.clear();
        let mut members = 0;
        for st in &self.providers {
            out.member_start.push(members);
            members += st.members.len();
        }
        out.member_start.push(members);
        out.member_volume.clear();
        out.member_volume.resize(members * ns, 0.0);
        out.member_total.clear();
        out.member_total.resize(members, 0.0);
        let pairs = m.ccgs.len() * ns;
        let rows = self.contracts[..pairs]
            .chunks_exact(ns.max(1))
            .zip(self.volume[..pairs].chunks_exact(ns.max(1)))
            .zip(self.in_house_prices[..pairs].chunks_exact(ns.max(1)))
            .zip(&self.hosts[..m.ccgs.len()]);
        for (((row, vols), in_house), &host) in rows {
            let host = slots.of_host(host);
            for (s, ((k, &v), &h)) in row.iter().zip(vols).zip(in_house).enumerate() {
                match k.supplier {
                    Supplier::Provider(p) => {
                        out.lines[p * ns + s].add(v, h);
                        if m.providers[p].kind == ProviderKind::Collaborative {
                            // The member that delivers to this CCG: its host if a member, else
                            // the lead (none when the network has neither).
                            if let Some(j) = slots.slot_in(p, host) {
                                let member = out.member_start[p] + j;
                                out.member_volume[member * ns + s] += v;
                                out.member_total[member] += v;
                            }
                        }
                    }
                    Supplier::Independent => out.independent[s] += v,
                    // In-house, or no contract yet: the CCG's own team does the work.
                    Supplier::InHouse | Supplier::None => out.in_house[s].add(v, h),
                }
            }
        }
    }
}
