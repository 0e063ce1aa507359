//! Step 1, procurement (MODEL.md section 3): a CCG whose contract ends, or whose supplier went,
//! chooses again (the choice itself is in `choice.rs`); a CCG whose supplier's quality fell below
//! the threshold gives notice, and its contract ends `notice_periods` later. Intentions in the
//! planning quarter are the same choice.

use rayon::prelude::*;

use crate::model::rng::{self, Purpose};

use super::choice::NESTS;
use super::nested::{BATCH, NestedBatch};
use super::state::{Contract, Replication, Scratch, Supplier};

/// Which round of choices is run.
#[derive(Debug, Clone, Copy)]
pub(super) enum Round {
    /// Quarter-0 intentions: all CCGs, or after a checkpoint those whose supplier was stopped.
    Intend(Option<usize>),
    /// Procurement in a quarter with contracts.
    Procure,
}

/// What every choice of a round shares: its quarter, which round it is, and the nests'
/// dissimilarities where the choice is nested.
#[derive(Debug, Clone, Copy)]
struct RoundSpec {
    t: u32,
    round: Round,
    nests: Option<[f64; NESTS]>,
}

/// A round's buffers, one per thread: the choices' scratch and the batch of nested choices.
type Buffers = (Scratch, NestedBatch);

/// What a round's choices came to: how many were made, and how many of them changed the
/// contract's supplier (only those put delivery's kept sums out of date).
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    choices: u64,
    switches: u64,
}

impl Tally {
    fn take_in(&mut self, other: Tally) {
        *self = self.plus(other);
    }

    fn plus(self, other: Tally) -> Tally {
        Tally {
            choices: self.choices + other.choices,
            switches: self.switches + other.switches,
        }
    }
}

/// Markets with at least this many CCGs make their choices in parallel.
const PARALLEL_CCGS: usize = 4096;
/// CCGs per parallel task.
const CCG_CHUNK: usize = 1024;

impl Replication<'_> {
    /// Step 1: CCGs whose contract ends, or whose supplier went, choose; unhappy CCGs give notice.
    pub fn procure(&mut self) {
        self.choice_round(self.quarter, Round::Procure);
    }

    /// Runs one round of choices over every CCG: in parallel over chunks of CCGs for large markets.
    /// A CCG's choices depend only on its own draws and on provider state, which no choice changes,
    /// so the contracts come out the same whatever the number of threads.
    /// Only the CCGs with something to do are visited, and a round in which no CCG has a choice
    /// to make is skipped, menu included (`agenda.rs`): the others' contracts would not change.
    pub(super) fn choice_round(&mut self, t: u32, round: Round) {
        let Some(whole) = self.open_round(t, round) else {
            return;
        };
        let ns = self.ns();
        self.refresh_menu();
        let mut contracts = std::mem::take(&mut self.contracts);
        let mut bufs = (std::mem::take(&mut self.scratch), NestedBatch::new());
        let changed;
        {
            let this = &*self;
            let spec = RoundSpec {
                t,
                round,
                nests: this.nesting(),
            };
            let (purpose, sub) = match round {
                Round::Intend(Some(ci)) => (Purpose::Intention, ci as u32),
                Round::Intend(None) | Round::Procure => (Purpose::Choice, 0),
            };
            let work = |k: usize, chunk: &mut [Contract], bufs: &mut Buffers| -> Tally {
                // The CCGs visited, eight at a time: their uniforms are drawn together (one
                // ChaCha8 block each, in AVX2 lanes), the same numbers as drawing them one by one.
                // A CCG draws one uniform per service, in service order, from its stream for the
                // quarter and purpose: each service's draw is the same whichever services happen
                // to be chosen (common random numbers).
                const E: usize = rng::ENTITIES;
                let mut uniforms = std::mem::take(&mut bufs.0.uniforms);
                uniforms.resize(E * ns, 0.0);
                let mut made = Tally::default();
                for (g, group) in chunk.chunks_mut(ns * E).enumerate() {
                    let first = k * CCG_CHUNK + g * E;
                    let (mut visit, mut keys, mut n) = ([0usize; E], [0u64; E], 0);
                    for i in 0..group.len() / ns {
                        let c = first + i;
                        if whole || this.agenda.due[c] <= t {
                            (visit[n], keys[n]) = (i, this.m.ccgs[c].key);
                            n += 1;
                        }
                    }
                    if n == 0 {
                        continue;
                    }
                    let (seed, rep) = (this.m.seed, this.rep);
                    rng::first_uniforms_of(
                        seed,
                        rep,
                        &keys[..n],
                        t,
                        purpose,
                        sub,
                        ns,
                        &mut uniforms,
                    );
                    for (j, &i) in visit[..n].iter().enumerate() {
                        let row = &mut group[i * ns..(i + 1) * ns];
                        let u = &uniforms[j * ns..(j + 1) * ns];
                        made.take_in(this.ccg_choices(first + i, spec, row, u, bufs));
                    }
                }
                bufs.0.uniforms = uniforms;
                made
            };
            // Counts are integers, so their sum is the same in any order.
            let made = if this.m.ccgs.len() >= PARALLEL_CCGS {
                contracts
                    .par_chunks_mut(ns * CCG_CHUNK)
                    .enumerate()
                    .map_init(
                        || (Scratch::new(ns), NestedBatch::new()),
                        |bufs, (k, chunk)| work(k, chunk, bufs),
                    )
                    .reduce(Tally::default, Tally::plus)
            } else {
                contracts
                    .chunks_mut(ns * CCG_CHUNK)
                    .enumerate()
                    .map(|(k, chunk)| work(k, chunk, &mut bufs))
                    .fold(Tally::default(), Tally::plus)
            };
            self.decisions += made.choices;
            changed = made.switches > 0;
        }
        self.contracts = contracts;
        self.scratch = bufs.0;
        self.close_round(t, whole, changed);
    }

    /// One CCG's choices in a round; `row` holds its contract for each service. Returns how many
    /// choices it made and how many of them changed supplier. Nested choices are gathered and made in batches (`nested.rs`): each
    /// reads only its own service's contract and draw, so the order they are made in does not
    /// matter.
    fn ccg_choices(
        &self,
        c: usize,
        RoundSpec { t, round, nests }: RoundSpec,
        row: &mut [Contract],
        uniforms: &[f64],
        (sc, b): &mut Buffers,
    ) -> Tally {
        let m = self.m;
        let mut made = Tally::default();
        b.len = 0;
        for s in 0..row.len() {
            let k = row[s];
            let avail = self.available(k.supplier, s);
            let (current, end) = match round {
                Round::Intend(None) => (Supplier::None, 1),
                Round::Intend(Some(_)) if avail => continue,
                Round::Intend(Some(_)) => (Supplier::None, 1),
                Round::Procure if avail && k.end > t => {
                    if let Supplier::Provider(p) = k.supplier {
                        if !k.notice
                            && self.menu.lines[p * row.len() + s].1 < m.rules.quality_threshold
                        {
                            row[s].end = k.end.min(t + m.rules.notice_periods.max(1));
                            row[s].notice = true;
                        }
                    }
                    continue;
                }
                Round::Procure => {
                    let current = if avail { k.supplier } else { Supplier::None };
                    (current, t + m.rules.contract_length)
                }
            };
            made.choices += 1;
            // Intentions are not contracts: every CCG chooses again in quarter 1, loyal to its intention.
            let Some(lambdas) = nests else {
                let pick = self.choose(c, s, current, uniforms[s], &mut sc.options, None);
                made.switches += u64::from(pick != row[s].supplier);
                row[s] = Contract {
                    supplier: pick,
                    end,
                    notice: false,
                };
                continue;
            };
            b.push(s, current, uniforms[s], end);
            if b.len == BATCH {
                made.switches += self.choose_batch(c, b, row, sc, lambdas);
            }
        }
        if b.len > 0 {
            if let Some(lambdas) = nests {
                made.switches += self.choose_batch(c, b, row, sc, lambdas);
            }
        }
        made
    }

    /// Makes a CCG's nested choices gathered in `b`, writes their contracts and empties `b`.
    /// Returns how many changed supplier.
    fn choose_batch(
        &self,
        c: usize,
        b: &mut NestedBatch,
        row: &mut [Contract],
        sc: &mut Scratch,
        lambdas: [f64; NESTS],
    ) -> u64 {
        self.choose_nested_batch(c, b, lambdas, &mut sc.options);
        let mut switches = 0;
        for d in 0..b.len {
            switches += u64::from(b.picks[d] != row[b.choices[d].0].supplier);
            row[b.choices[d].0] = Contract {
                supplier: b.picks[d],
                end: b.end[d],
                notice: false,
            };
        }
        b.len = 0;
        switches
    }

    fn available(&self, sup: Supplier, s: usize) -> bool {
        match sup {
            Supplier::None => false,
            Supplier::InHouse | Supplier::Independent => true,
            // As the round's menu read it: provider open and line active.
            Supplier::Provider(p) => self.menu.lines[p * self.ns() + s].0,
        }
    }

    /// Sets each line's contracted annual volume: its customers' volumes, summed in pair order
    /// when the contracts last changed and kept since (`delivery/sums.rs`); a closed provider's
    /// lines count nothing.
    pub(super) fn tally_contracted(&mut self) {
        self.refresh_contract_sums();
        let ns = self.ns().max(1);
        let sums = self.delivery.sums.lines.chunks_exact(ns);
        for (st, line_sums) in self.providers.iter_mut().zip(sums) {
            let open = st.is_open();
            for (l, x) in st.lines.iter_mut().zip(line_sums) {
                l.contracted = if open { x.volume } else { 0.0 };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::simulate;
    use crate::engine::testing::market;

    #[test]
    fn decisions_count_intentions_and_every_renewal() {
        let m = market("local");
        let pairs = (m.ccgs.len() * m.services.len()) as u64;
        // Intentions, then quarter 1 and a renewal every contract length.
        let rounds = 1 + u64::from(m.periods - 1).div_ceil(u64::from(m.rules.contract_length));
        for rep in 0..10 {
            let d = simulate(&m, rep).decisions;
            assert!(d >= pairs * rounds, "rep {rep}: {d} < {}", pairs * rounds);
            // Extra choices come only from stops, exits and notice: at most one per pair per quarter.
            assert!(d <= pairs * u64::from(m.periods + m.checkpoints.len() as u32));
        }
    }
}
