//! Who has something to do in a round of choices (MODEL.md section 3, step 1), known without
//! visiting every CCG's contract for every service. A CCG chooses in a round only where its
//! contract ends, or its supplier can no longer be bought from; it gives notice only where its
//! supplier's quality is below the threshold. Most quarters none of that happens anywhere: the
//! round then makes no change, so it is skipped whole, menu included.
//!
//! What is kept between rounds, and why it is exact:
//! - per CCG, `due`: at most the earliest end of its contracts (no contract ends before it);
//!   a round's notices only bring ends forward, and only choices and notices set ends;
//! - per line, `open`: whether it could be bought from at the last round. After every round each
//!   contract is on such a line (kept contracts were checked available, new ones come from the
//!   menu, which offers only those). Between rounds only a merger moves contracts (to the
//!   absorber, or to no one), and a merger closes the merged provider, whose lines held them:
//!   so every contract that cannot be bought from now lies in the column of a line that was open
//!   at the last round and is not now, among the CCGs of that line's region (a provider of a
//!   region sells there only, and a merger hands contracts to a CSU of the same region).
//!
//! A round then scans the lines (not the contracts): the CCGs of a line that closed are marked due
//! where their contract for its service cannot be bought from; the contracts on an open line below
//! the quality threshold get their notice where they have none; then only the CCGs due now make
//! their choices, through the same `ccg_choices` as a round over every CCG.

use crate::model::Market;

use super::procurement::Round;
use super::state::{Replication, Supplier};

/// The state kept between rounds of choices to find who has something to do (module docs).
#[derive(Debug, Default)]
pub(super) struct Agenda {
    /// Whether `due`, `earliest` and `open` describe the contracts (not before the first round).
    valid: bool,
    /// Visit every CCG in every round, as before the agenda (a switch for tests to compare).
    pub(super) every_ccg: bool,
    /// Per CCG: no contract of it ends before this quarter; the current quarter where one of its
    /// suppliers went. The CCGs a round visits are those due by then.
    pub(super) due: Vec<u32>,
    /// The earliest of `due`.
    earliest: u32,
    /// Per line (`p * S + s`): whether it could be bought from at the last round.
    open: Vec<bool>,
    /// The lines open at the last round and not now (buffer reused).
    gone: Vec<usize>,
    /// The lines open now with an effective quality below the threshold (buffer reused).
    low: Vec<usize>,
    /// What the rounds did, for tests to check they met every case.
    #[cfg(test)]
    pub(super) seen: Seen,
}

/// Counts of what the rounds did (tests only).
#[cfg(test)]
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Seen {
    /// Rounds over every CCG.
    pub(super) whole: u32,
    /// Rounds over the CCGs due only.
    pub(super) partial: u32,
    /// Rounds skipped: no CCG had a choice to make.
    pub(super) skipped: u32,
    /// CCGs marked due because a supplier of theirs went.
    pub(super) stranded: u32,
    /// Notices given by the line scan.
    pub(super) notices: u32,
}

impl Agenda {
    /// As a new replication starts: nothing known, the buffers kept.
    pub(super) fn reset(&mut self) {
        self.valid = false;
        self.every_ccg = false;
        self.due.clear();
        self.earliest = 0;
        self.open.clear();
        self.gone.clear();
        self.low.clear();
        #[cfg(test)]
        {
            self.seen = Seen::default();
        }
    }
}

impl Replication<'_> {
    /// Before a round of choices in quarter `t`: reads which lines can be bought from now, gives
    /// the notices due on lines below the quality threshold, and marks the CCGs whose supplier
    /// went. Returns `None` when no CCG has a choice to make (the round would change nothing
    /// more), or whether the round must visit every CCG (`Some(true)`: the first round, the
    /// intentions, or the test switch) or only those due (`Some(false)`).
    // Out of line (called once a round) so that profiles show the agenda's cost on its own.
    #[inline(never)]
    pub(super) fn open_round(&mut self, t: u32, round: Round) -> Option<bool> {
        let m = self.m;
        let ns = self.ns();
        let mut a = std::mem::take(&mut self.agenda);
        let whole = a.every_ccg || !a.valid || matches!(round, Round::Intend(None));
        a.open.resize(self.providers.len() * ns, false);
        a.gone.clear();
        a.low.clear();
        let threshold = m.rules.quality_threshold;
        let rows = self
            .providers
            .iter()
            .zip(a.open.chunks_exact_mut(ns.max(1)));
        for (p, (st, was_open)) in rows.enumerate() {
            let open = st.is_open();
            for (s, (l, was)) in st.lines.iter().zip(was_open).enumerate() {
                // What the round's menu reads of the line (`Menu::lines`).
                let now = open && l.active;
                if *was && !now {
                    a.gone.push(p * ns + s);
                }
                *was = now;
                if now && l.eff_quality < threshold {
                    a.low.push(p * ns + s);
                }
            }
        }
        if !whole {
            for &i in &a.gone {
                let s = i % ns;
                let contracts = &self.contracts;
                for_customers(m, i / ns, |c| {
                    // A CCG due anyway is visited anyway.
                    if a.due[c] <= t {
                        return;
                    }
                    let available = match contracts[c * ns + s].supplier {
                        Supplier::None => false,
                        Supplier::InHouse | Supplier::Independent => true,
                        Supplier::Provider(q) => a.open[q * ns + s],
                    };
                    if !available {
                        a.due[c] = t;
                        a.earliest = t;
                        #[cfg(test)]
                        {
                            a.seen.stranded += 1;
                        }
                    }
                });
            }
            if matches!(round, Round::Procure) {
                let notice_end = t + m.rules.notice_periods.max(1);
                for &i in &a.low {
                    let (p, s) = (i / ns, i % ns);
                    let contracts = &mut self.contracts;
                    for_customers(m, p, |c| {
                        let k = &mut contracts[c * ns + s];
                        // A contract ending now is chosen again, not given notice.
                        if k.supplier == Supplier::Provider(p) && !k.notice && k.end > t {
                            k.end = k.end.min(notice_end);
                            k.notice = true;
                            a.due[c] = a.due[c].min(k.end);
                            a.earliest = a.earliest.min(k.end);
                            #[cfg(test)]
                            {
                                a.seen.notices += 1;
                            }
                        }
                    });
                }
            }
        }
        let busy = whole || a.earliest <= t;
        #[cfg(test)]
        {
            let seen = &mut a.seen;
            match (busy, whole) {
                (false, _) => seen.skipped += 1,
                (true, true) => seen.whole += 1,
                (true, false) => seen.partial += 1,
            }
        }
        self.agenda = a;
        busy.then_some(whole)
    }

    /// After a round of choices in quarter `t` (over every CCG if `whole`): each CCG the round
    /// visited is next due at its earliest contract end.
    // Out of line, as `open_round`.
    #[inline(never)]
    pub(super) fn close_round(&mut self, t: u32, whole: bool, switched: bool) {
        let ns = self.ns().max(1);
        let a = &mut self.agenda;
        a.due.resize(self.m.ccgs.len(), 0);
        let rows = self.contracts.chunks_exact(ns);
        let mut earliest = u32::MAX;
        for (due, row) in a.due.iter_mut().zip(rows) {
            if whole || *due <= t {
                *due = row.iter().map(|k| k.end).min().unwrap_or(u32::MAX);
            }
            earliest = earliest.min(*due);
        }
        a.earliest = earliest;
        a.valid = true;
        // Delivery's per-line sums read only the suppliers (volumes and in-house prices are set
        // with the market): a round that kept every supplier leaves them as they were.
        if switched {
            self.delivery.contracts_changed();
        }
    }
}

/// Calls `f` for every CCG that can hold a contract with provider `p`: its region's, or every
/// CCG for a provider of no region.
fn for_customers(m: &Market, p: usize, mut f: impl FnMut(usize)) {
    match m.providers[p].region {
        Some(r) => m.region_ccgs[r].iter().for_each(|&c| f(c)),
        None => (0..m.ccgs.len()).for_each(f),
    }
}

#[cfg(test)]
#[path = "agenda/tests.rs"]
mod tests;
