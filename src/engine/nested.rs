//! The nested-logit choice (MODEL.md section 10) from the round's menu: the engine's path for
//! England 2012 and any market whose nests are not all 1. It does what `choice::pick_nested`
//! does over the general path's options, with the same operations in the same order, so the pick
//! is the same bit for bit; what it saves is work, not precision. A CCG's choices of a round are
//! taken as a batch, phase by phase: every offer's utility (four offers at a time from the
//! menu's columns, `lanes.rs`), then one `exp` pass over all the batch's offers, then each
//! choice's nest sums and inclusive values, one `exp` pass over all the nests' factors, then the
//! picks. Where the processor has AVX2 the whole batch is compiled for it (one function, the
//! lanes and `exp` passes inlined); else phase 1 goes one offer at a time and `exp` two at a
//! time ([`kernel::exp_in_place`]), with the same bits. Each option's `exp` is taken once (the
//! general path took it for the nest's sum and again for the option's weight), the logarithms
//! are inline ([`kernel::ln`]), and nothing leaves the stack.

use super::choice::{
    MENU_OPTIONS, NEST_HOST_NETWORK, NEST_IN_HOUSE, NEST_INDEPENDENT, NEST_OTHER_NHS, NESTS,
    menu_pick, pick_nested, utility,
};
use super::kernel;
#[cfg(target_arch = "x86_64")]
use super::lanes::nest_weights_avx2;
use super::lanes::{Valuation, offer_values};
use super::menu::{COLUMN_PAD, Menu, MenuOffer};
use super::state::{Replication, Supplier};

/// Choices a batch holds: a CCG's choices of one round (one per service; England has 5) go
/// through in batches of up to this many.
pub(super) const BATCH: usize = 8;
/// Offers a batch holds: every choice's offers when each fits on the stack, a whole number of
/// four-value lanes.
const BATCH_OFFERS: usize = BATCH * (MENU_OPTIONS - 2);

/// A choice's weights on the stack: its options and whole lanes past the last.
const WEIGHTS: usize = MENU_OPTIONS + COLUMN_PAD;

/// The nests that hold one option each (in-house, the independent sector), whose sum is always 1.
const SINGLETON: [bool; NESTS] = {
    let mut alone = [false; NESTS];
    alone[NEST_IN_HOUSE] = true;
    alone[NEST_INDEPENDENT] = true;
    alone
};

/// A batch of one CCG's nested-logit choices: the choices gathered, then their phases up to the
/// picks. Its buffers are reused from batch to batch (one per thread of a round), so nothing is
/// cleared or allocated per batch.
pub(super) struct NestedBatch {
    /// Choices gathered.
    pub(super) len: usize,
    /// Each choice's service and current supplier.
    pub(super) choices: [(usize, Supplier); BATCH],
    /// Each choice's uniform.
    pub(super) u: [f64; BATCH],
    /// The end of the contract each choice signs.
    pub(super) end: [u32; BATCH],
    /// Each choice's pick, once made.
    pub(super) picks: [Supplier; BATCH],
    /// Each choice's offers in the round's menu (`offers[menu][d]`), and whether they fit on the
    /// stack (else the choice takes the general path).
    offers: [(u32, u32); BATCH],
    fits: [bool; BATCH],
    /// Where each choice's offers lie in `x`: `start[d]..start[d + 1]`.
    start: [usize; BATCH + 1],
    /// Each offer's `exp(U / lambda - max)` of its nest, choice after choice (and room for the
    /// last choice's whole lanes).
    x: [f64; BATCH_OFFERS + COLUMN_PAD],
    /// Per choice, which of its offers are in the CCG's host network's nest (bit `i` for its
    /// offer `i`; the others are in the other NHS nest).
    network: [u32; BATCH],
    /// Whether phase 1 takes AVX2 lanes (the processor has them).
    pub(super) lanes: bool,
    /// Per choice, each nest's largest utility over its lambda, and its sum.
    max: [[f64; NESTS]; BATCH],
    sum: [[f64; NESTS]; BATCH],
    /// Per choice, per nest: `exp(lambda I - top) / S` (0 for an empty nest).
    factor: [f64; NESTS * BATCH],
}

/// Whether the processor has AVX2 (phase 1's lanes).
fn avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx2");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

impl NestedBatch {
    /// An empty batch.
    pub(super) fn new() -> NestedBatch {
        NestedBatch {
            len: 0,
            choices: [(0, Supplier::None); BATCH],
            u: [0.0; BATCH],
            end: [0; BATCH],
            picks: [Supplier::None; BATCH],
            offers: [(0, 0); BATCH],
            fits: [false; BATCH],
            start: [0; BATCH + 1],
            x: [0.0; BATCH_OFFERS + COLUMN_PAD],
            network: [0; BATCH],
            lanes: avx2(),
            max: [[0.0; NESTS]; BATCH],
            sum: [[0.0; NESTS]; BATCH],
            factor: [0.0; NESTS * BATCH],
        }
    }

    /// Adds a choice: service, current supplier, uniform, and the end of the contract it signs.
    /// The batch must not be full.
    pub(super) fn push(&mut self, s: usize, current: Supplier, u: f64, end: u32) {
        self.choices[self.len] = (s, current);
        self.u[self.len] = u;
        self.end[self.len] = end;
        self.len += 1;
    }

    /// Choice `d`'s unnormalised nested-logit probabilities in the general path's option order
    /// (in-house, independent, then the menu's offers), written to `out`: the weights
    /// `choice::pick_nested` leaves in its options. Returns the number of options, their sum
    /// (added in option order, as `pick_nested` adds them) and the offers; none when the choice
    /// takes the general path.
    #[inline(always)]
    fn weights<'m, const LANES: bool>(
        &self,
        menu: &'m Menu,
        d: usize,
        out: &mut [f64; WEIGHTS],
    ) -> Option<(usize, f64, &'m [MenuOffer])> {
        if !self.fits[d] {
            return None;
        }
        let live = &menu.offers[self.offers[d].0 as usize..self.offers[d].1 as usize];
        let f = &self.factor[d * NESTS..(d + 1) * NESTS];
        // The singletons' exp is 1, and 1 times a factor is the factor.
        out[0] = f[NEST_IN_HOUSE];
        out[1] = f[NEST_INDEPENDENT];
        let mut total = 0.0;
        total += out[0];
        total += out[1];
        let (f_network, f_other) = (f[NEST_HOST_NETWORK], f[NEST_OTHER_NHS]);
        let offers = self.start[d]..self.start[d + 1];
        let n = offers.len() + 2;
        let net = self.network[d];
        let weights = &mut out[2..];
        let x = &self.x[offers.start..];
        #[cfg(target_arch = "x86_64")]
        if LANES {
            // SAFETY: `LANES` is set only where the processor has AVX2; `x` and `weights` hold
            // whole lanes past the choice's last offer (`COLUMN_PAD` more values each).
            unsafe { nest_weights_avx2(x, offers.len(), net, f_network, f_other, weights) };
        }
        if !LANES || cfg!(not(target_arch = "x86_64")) {
            for (i, (o, &x)) in weights[..offers.len()].iter_mut().zip(x).enumerate() {
                *o = x * if net >> i & 1 == 1 {
                    f_network
                } else {
                    f_other
                };
            }
        }
        for &o in &out[2..n] {
            total += o;
        }
        Some((n, total, live))
    }
}

impl Replication<'_> {
    /// CCG `c`'s nested-logit choices gathered in `b`, each by inverting its probabilities at
    /// its uniform, into `b.picks`: the same bit for bit as
    /// `choice::pick_nested` over the general path's options, which a choice takes when its
    /// region has more options than the stack holds.
    pub(super) fn choose_nested_batch(
        &self,
        c: usize,
        b: &mut NestedBatch,
        lambdas: [f64; NESTS],
        options: &mut Vec<(Supplier, f64)>,
    ) {
        #[cfg(target_arch = "x86_64")]
        if b.lanes {
            // SAFETY: `lanes` is set only where the processor has AVX2 (`NestedBatch::new`).
            return unsafe { self.choose_nested_batch_avx2(c, b, lambdas, options) };
        }
        self.choose_nested_batch_in::<false>(c, b, lambdas, options);
    }

    /// [`Self::choose_nested_batch`] compiled for AVX2, so that phase 1's lanes and the `exp`
    /// passes inline into it.
    ///
    /// # Safety
    /// The processor must have AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn choose_nested_batch_avx2(
        &self,
        c: usize,
        b: &mut NestedBatch,
        lambdas: [f64; NESTS],
        options: &mut Vec<(Supplier, f64)>,
    ) {
        self.choose_nested_batch_in::<true>(c, b, lambdas, options);
    }

    /// [`Self::choose_nested_batch`], phase 1 in AVX2 lanes when `LANES`.
    #[inline(always)]
    fn choose_nested_batch_in<const LANES: bool>(
        &self,
        c: usize,
        b: &mut NestedBatch,
        lambdas: [f64; NESTS],
        options: &mut Vec<(Supplier, f64)>,
    ) {
        self.nested_batch::<LANES>(c, b, lambdas);
        let mut w = [0.0; WEIGHTS];
        for d in 0..b.len {
            let u = b.u[d];
            b.picks[d] = match b.weights::<LANES>(&self.menu, d, &mut w) {
                Some((n, total, live)) => menu_pick(&w[..n], total, u, live),
                None => {
                    let (s, current) = b.choices[d];
                    self.general_options(c, s, current, options);
                    pick_nested(options, |o| self.nest(o, c), lambdas, u)
                }
            };
        }
    }

    /// One nested-logit choice, as a batch of one (a round gathers a CCG's choices into
    /// batches instead, `procurement.rs`).
    pub(super) fn choose_nested(
        &self,
        c: usize,
        s: usize,
        current: Supplier,
        u: f64,
        lambdas: [f64; NESTS],
        options: &mut Vec<(Supplier, f64)>,
    ) -> Supplier {
        let mut b = NestedBatch::new();
        b.push(s, current, u, 0);
        self.choose_nested_batch(c, &mut b, lambdas, options);
        b.picks[0]
    }

    /// A batch's phases up to the picks (see the module's note), for CCG `c`'s choices gathered
    /// in `b`.
    #[inline(always)]
    fn nested_batch<const LANES: bool>(
        &self,
        c: usize,
        b: &mut NestedBatch,
        lambdas: [f64; NESTS],
    ) {
        let m = self.m;
        let ns = self.ns();
        let menu = &self.menu;
        let w = self.prefs[c];
        let host = self.hosts[c];
        let region = m.ccgs[c].region;
        // Phase 1: each choice's utilities over their nests' lambdas, the nests' maxima, and each
        // offer's value less its nest's maximum.
        let mut end = 0;
        for d in 0..b.len {
            let (s, current) = b.choices[d];
            b.start[d] = end;
            let r = region * ns + s;
            let (first, last) = (menu.start[r], menu.start[r + 1]);
            let live = &menu.offers[first as usize..last as usize];
            b.offers[d] = (first, last);
            b.fits[d] = live.len() + 2 <= MENU_OPTIONS;
            if !b.fits[d] {
                continue;
            }
            let sv = &menu.services[s];
            let mx = &mut b.max[d];
            *mx = [f64::NEG_INFINITY; NESTS];
            mx[NEST_IN_HOUSE] = mx[NEST_IN_HOUSE].max(
                utility(
                    w,
                    self.in_house_ratio[c * ns + s],
                    sv.in_house_quality,
                    sv.in_house_close,
                    current == Supplier::InHouse,
                ) / lambdas[NEST_IN_HOUSE],
            );
            mx[NEST_INDEPENDENT] = mx[NEST_INDEPENDENT].max(
                utility(
                    w,
                    sv.independent_ratio,
                    sv.independent_quality,
                    sv.independent_close,
                    current == Supplier::Independent,
                ) / lambdas[NEST_INDEPENDENT],
            );
            // Collaboratives are in the host's network when the host is one of their members.
            let mut member_net = 0;
            if let Some(h) = host {
                let mut bits = menu.member_offers[r];
                while bits != 0 {
                    let i = bits.trailing_zeros() as usize;
                    if self.providers[live[i].provider as usize]
                        .members
                        .contains(&h)
                    {
                        member_net |= 1 << i;
                    }
                    bits &= bits - 1;
                }
            }
            let v = Valuation {
                w,
                host: host.map_or(-2, |h| h as i64),
                current: match current {
                    Supplier::Provider(p) => p as i64,
                    _ => -3,
                },
                lambda_network: lambdas[NEST_HOST_NETWORK],
                lambda_other: lambdas[NEST_OTHER_NHS],
            };
            let (net, max_network, max_other) = offer_values::<LANES>(
                &menu.columns,
                first as usize,
                live.len(),
                member_net,
                &v,
                &mut b.x[end..],
            );
            b.network[d] = net;
            mx[NEST_HOST_NETWORK] = max_network;
            mx[NEST_OTHER_NHS] = max_other;
            end += live.len();
        }
        b.start[b.len] = end;
        // Phase 2: every offer's exp, in whole lanes (zeros after the last offer, unused).
        let lanes = end.next_multiple_of(4);
        b.x[end..lanes].fill(0.0);
        kernel::exp_in_place_with::<LANES>(&mut b.x[..lanes]);
        // Phase 3: each choice's nest sums, its nests' lambda times their inclusive values, and
        // the largest of them.
        for d in 0..b.len {
            let factor = &mut b.factor[d * NESTS..(d + 1) * NESTS];
            if !b.fits[d] {
                factor.fill(0.0);
                continue;
            }
            let sum = &mut b.sum[d];
            *sum = [0.0; NESTS];
            sum[NEST_IN_HOUSE] += 1.0;
            sum[NEST_INDEPENDENT] += 1.0;
            let (mut sum_network, mut sum_other) = (0.0, 0.0);
            let net = b.network[d];
            for (i, &e) in b.x[b.start[d]..b.start[d + 1]].iter().enumerate() {
                if net >> i & 1 == 1 {
                    sum_network += e;
                } else {
                    sum_other += e;
                }
            }
            sum[NEST_HOST_NETWORK] = sum_network;
            sum[NEST_OTHER_NHS] = sum_other;
            let mut li = [0.0; NESTS];
            let mut top = f64::NEG_INFINITY;
            for k in 0..NESTS {
                if sum[k] > 0.0 {
                    // A singleton's sum is 0 + 1 = 1, whose ln is 0 exactly.
                    let ln = if SINGLETON[k] {
                        0.0
                    } else {
                        kernel::ln(sum[k])
                    };
                    li[k] = lambdas[k] * (b.max[d][k] + ln);
                    top = top.max(li[k]);
                }
            }
            for (f, l) in factor.iter_mut().zip(li) {
                *f = l - top;
            }
        }
        // Phase 4: every nest's exp, and its weight over its own sum.
        kernel::exp_in_place_with::<LANES>(&mut b.factor[..b.len * NESTS]);
        for (f, sum) in b.factor.chunks_exact_mut(NESTS).zip(&b.sum[..b.len]) {
            for k in 0..NESTS {
                // A singleton's sum is 1, and x / 1 is x exactly.
                if !SINGLETON[k] {
                    f[k] = if sum[k] > 0.0 { f[k] / sum[k] } else { 0.0 };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::choice::{pick, pick_nested};
    use crate::engine::testing::{market, replication_in_quarter_one};
    use crate::model::rng::{Purpose, stream, uniform};
    use crate::scenario::schema::Nests;

    /// The menu's nested weights are the general path's, bit for bit, and so is every pick: for
    /// every CCG, service and current supplier, with a host network of two (a local CSU and its
    /// collaborative), other NHS providers, national ones, and lambdas from near 0 to 1. The
    /// choices go in batches of every size from 1 to [`BATCH`], services and currents mixed, so
    /// a choice's weights do not depend on the others in its batch.
    #[test]
    fn nested_choice_from_the_menu_is_the_general_path_bit_for_bit() {
        let mut r = stream(21, 0, 0, 0, Purpose::Choice, 0);
        let mut compared = 0;
        for config in ["local", "collaborative", "national"] {
            let mut m = market(config);
            for lambdas in [
                [1.0, 0.7, 0.3, 1.0],
                [0.5, 0.05, 0.9, 0.2],
                [1.0, 1.0, 0.05, 1.0],
            ] {
                let [in_house, host_network, other_nhs, independent] = lambdas;
                m.choice.nests = Nests {
                    in_house,
                    host_network,
                    other_nhs,
                    independent,
                };
                let w = replication_in_quarter_one(&m);
                let nests = w.nesting().unwrap();
                let mut options = Vec::new();
                let widths = [false, true].into_iter().filter(|&l| !l || avx2());
                for (lanes, c) in widths.flat_map(|l| (0..m.ccgs.len()).map(move |c| (l, c))) {
                    let mut choices = Vec::new();
                    for s in 0..m.services.len() {
                        let providers = (0..m.providers.len()).map(Supplier::Provider);
                        let currents = [Supplier::None, Supplier::InHouse, Supplier::Independent];
                        for current in currents.into_iter().chain(providers) {
                            choices.push((s, current));
                        }
                    }
                    let mut size = 1 + c % BATCH;
                    let mut b = NestedBatch::new();
                    // Phase 1 one offer at a time, then in AVX2 lanes where the processor has them.
                    b.lanes = lanes;
                    for batch in choices.chunks(size) {
                        size = 1 + size % BATCH;
                        b.len = 0;
                        for &(s, current) in batch {
                            b.push(s, current, 0.5, 0);
                        }
                        if lanes {
                            w.nested_batch::<true>(c, &mut b, nests);
                        } else {
                            w.nested_batch::<false>(c, &mut b, nests);
                        }
                        for (d, &(s, current)) in batch.iter().enumerate() {
                            let mut x = [0.0; WEIGHTS];
                            let (n, _, _) = if lanes {
                                b.weights::<true>(&w.menu, d, &mut x).unwrap()
                            } else {
                                b.weights::<false>(&w.menu, d, &mut x).unwrap()
                            };
                            w.general_options(c, s, current, &mut options);
                            assert_eq!(n, options.len());
                            pick_nested(&mut options, |o| w.nest(o, c), nests, 0.5);
                            for (a, o) in x[..n].iter().zip(&options) {
                                assert_eq!(
                                    a.to_bits(),
                                    o.1.to_bits(),
                                    "{:?} against {options:?}",
                                    &x[..n]
                                );
                            }
                            compared += 1;
                        }
                        for _ in 0..20 {
                            for d in 0..batch.len() {
                                b.u[d] = uniform(&mut r);
                            }
                            w.choose_nested_batch(c, &mut b, nests, &mut options);
                            for (d, &(s, current)) in batch.iter().enumerate() {
                                let u = b.u[d];
                                w.general_options(c, s, current, &mut options);
                                let slow = pick_nested(&mut options, |o| w.nest(o, c), nests, u);
                                assert_eq!(b.picks[d], slow, "ccg {c}, service {s}, u {u}");
                            }
                        }
                    }
                }
            }
        }
        let widths = if avx2() { 2 } else { 1 };
        assert!(compared > 500 * widths, "{compared}");
    }

    /// The plain logit's menu path (every lambda 1) picks what the general path picks.
    #[test]
    fn plain_choice_from_the_menu_is_the_general_path() {
        let mut r = stream(22, 0, 0, 0, Purpose::Choice, 0);
        for config in ["local", "collaborative", "national"] {
            let m = market(config);
            let w = replication_in_quarter_one(&m);
            assert!(w.nesting().is_none());
            let mut options = Vec::new();
            for c in 0..m.ccgs.len() {
                for s in 0..m.services.len() {
                    let providers = (0..m.providers.len()).map(Supplier::Provider);
                    let currents = [Supplier::None, Supplier::InHouse, Supplier::Independent];
                    for current in currents.into_iter().chain(providers) {
                        for _ in 0..20 {
                            let u = uniform(&mut r);
                            let fast = w.choose(c, s, current, u, &mut options, None);
                            w.general_options(c, s, current, &mut options);
                            assert_eq!(fast, pick(&mut options, u), "ccg {c}, service {s}");
                        }
                    }
                }
            }
        }
    }
}
