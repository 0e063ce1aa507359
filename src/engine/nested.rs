//! The nested-logit choice (MODEL.md section 10) from the round's menu: the engine's path for
//! England 2012 and any market whose nests are not all 1. It computes what
//! `choice::pick_nested` computes over the general path's options, the same probabilities to
//! within rounding, with fewer operations:
//! - each offer's `exp(U / lambda)` is taken once, in the same pass as its utility (four offers
//!   at a time in AVX2 lanes from the menu's columns, `lanes.rs`), and each offer nest's sum
//!   `S` kept in four partial sums, one per lane;
//! - the values are not reduced by their nest's maximum first: where every nest's `ln S` and
//!   the in-house and independent utilities lie within [`SAFE`] of 0, no `exp` can overflow or
//!   lose the weights that matter; elsewhere the choice takes the general path, which does;
//! - a singleton nest (in-house, the independent sector) has `lambda I = U`, whatever its
//!   lambda, and an offer nest's factor `exp(lambda I - top) / S` is `exp((lambda - 1) ln S -
//!   top)`: the four nests' factors are one four-lane `exp`, with no division;
//! - the total is the nests' factors times their sums, not a sum over every option.
//!
//! A CCG's choices of a round go through as a batch, phase by phase, and the picks come last
//! ([`Replication::weigh_batch`] says why). The pick inverts the cumulative distribution in the
//! general path's option order at the choice's uniform, as before. Where the processor has AVX2
//! the whole batch is compiled for it (one function, the lanes and `exp` inlined); else one offer
//! at a time, with the same bits.

use super::choice::{
    MENU_OPTIONS, NEST_HOST_NETWORK, NEST_IN_HOUSE, NEST_INDEPENDENT, NEST_OTHER_NHS, NESTS,
    menu_pick, pick_nested, utility,
};
use super::kernel;
#[cfg(target_arch = "x86_64")]
use super::lanes::nest_weights_avx2;
use super::lanes::{Valuation, ln_pair, offer_exps};
use super::menu::COLUMN_PAD;
use super::state::{Replication, Supplier};

/// Choices a batch holds: a CCG's choices of one round (one per service; England has 5) go
/// through in batches of up to this many.
pub(super) const BATCH: usize = 8;

/// A choice's weights on the stack: its options and whole lanes past the last.
const WEIGHTS: usize = MENU_OPTIONS + COLUMN_PAD;

/// How far from 0 every offer nest's `ln S` and the singletons' utilities may lie for the
/// choice to take the menu's path: then each sum lies within `e^±(SAFE + ln 32)` and each
/// nest's factor's argument above `-2 SAFE`, far inside the doubles' range (`e^±708`).
const SAFE: f64 = 350.0;

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
    /// Whether the offers go in AVX2 lanes (the processor has them).
    pub(super) lanes: bool,
    /// Each choice's first offer in the menu and its number of offers; 0 options when the
    /// choice takes the general path.
    first: [usize; BATCH],
    options: [usize; BATCH],
    /// Each choice's in-house and independent utilities, and its offer nests' sums.
    singles: [[f64; 2]; BATCH],
    sums: [[f64; 2]; BATCH],
    /// Each choice's offers in its host's network (bit `i` for its offer `i`).
    net: [u32; BATCH],
    /// Per choice, per nest: the factor's argument, then the factor.
    factor: [[f64; NESTS]; BATCH],
    /// Each choice's weights in the general path's option order, and their total.
    weights: [[f64; WEIGHTS]; BATCH],
    total: [f64; BATCH],
}

/// Whether the processor has AVX2 (the offers' lanes).
fn avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx2");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// What a CCG's nested choices of a round share: its weights, host and region, and the nests'
/// lambdas as the menu's path uses them.
#[derive(Debug, Clone, Copy)]
struct Chooser {
    c: usize,
    w: [f64; 4],
    host: Option<usize>,
    region: usize,
    /// One over the offer nests' lambdas, and each less one.
    inv_network: f64,
    inv_other: f64,
    less_one_network: f64,
    less_one_other: f64,
    lambda_network: f64,
    lambda_other: f64,
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
            lanes: avx2(),
            first: [0; BATCH],
            options: [0; BATCH],
            singles: [[0.0; 2]; BATCH],
            sums: [[0.0; 2]; BATCH],
            net: [0; BATCH],
            factor: [[0.0; NESTS]; BATCH],
            weights: [[0.0; WEIGHTS]; BATCH],
            total: [0.0; BATCH],
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
}

impl Replication<'_> {
    /// CCG `c`'s nested-logit choices gathered in `b`, each by inverting its probabilities at
    /// its uniform, into `b.picks`: what `choice::pick_nested` picks over the general path's
    /// options (but where the uniform lies within rounding of a boundary), which a choice takes
    /// when its region has more options than the stack holds or its values lie outside [`SAFE`].
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

    /// [`Self::choose_nested_batch`] compiled for AVX2, so that the lanes and `exp` inline
    /// into it.
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

    /// [`Self::choose_nested_batch`], the offers in AVX2 lanes when `LANES`.
    #[inline(always)]
    fn choose_nested_batch_in<const LANES: bool>(
        &self,
        c: usize,
        b: &mut NestedBatch,
        lambdas: [f64; NESTS],
        options: &mut Vec<(Supplier, f64)>,
    ) {
        self.weigh_batch::<LANES>(&self.chooser(c, lambdas), b);
        for d in 0..b.len.min(BATCH) {
            let n = b.options[d];
            b.picks[d] = if n > 0 {
                let live = &self.menu.offers[b.first[d]..b.first[d] + n - 2];
                menu_pick(&b.weights[d][..n], b.total[d], b.u[d], live)
            } else {
                let (s, current) = b.choices[d];
                self.general_options(c, s, current, options);
                pick_nested(options, |o| self.nest(o, c), lambdas, b.u[d])
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

    /// What CCG `c`'s choices share, for nests `lambdas`.
    #[inline(always)]
    fn chooser(&self, c: usize, lambdas: [f64; NESTS]) -> Chooser {
        let (lambda_network, lambda_other) = (lambdas[NEST_HOST_NETWORK], lambdas[NEST_OTHER_NHS]);
        Chooser {
            c,
            w: self.prefs[c],
            host: self.hosts[c],
            region: self.m.ccgs[c].region,
            inv_network: 1.0 / lambda_network,
            inv_other: 1.0 / lambda_other,
            less_one_network: lambda_network - 1.0,
            less_one_other: lambda_other - 1.0,
            lambda_network,
            lambda_other,
        }
    }

    /// Every choice's unnormalised nested-logit probabilities in the general path's option
    /// order (in-house, independent, then the menu's offers) into `b.weights`, their number into
    /// `b.options` and their total into `b.total`: the weights `choice::pick_nested` leaves in
    /// its options, to within rounding. A choice gets 0 options when it takes the general path
    /// (more options than the stack holds, or values outside [`SAFE`]).
    ///
    /// The batch goes phase by phase (offers, logarithms, factors, weights), each over all its
    /// choices: a choice's phases are a long chain of dependent arithmetic (utility, `exp`, `ln`,
    /// `exp`), and chains of different choices overlap only when they lie close together in the
    /// instruction stream, with no branch between them that the processor cannot foresee (as a
    /// pick's search ends at one). So the picks come after every choice's weights.
    #[inline(always)]
    fn weigh_batch<const LANES: bool>(&self, k: &Chooser, b: &mut NestedBatch) {
        let len = b.len.min(BATCH);
        for d in 0..len {
            self.weigh_offers::<LANES>(k, b, d);
        }
        for d in 0..len {
            if b.options[d] > 0 {
                self.nest_arguments(k, b, d);
            }
        }
        for f in &mut b.factor[..len] {
            kernel::exp4_with::<LANES>(f);
        }
        for d in 0..len {
            let n = b.options[d];
            if n == 0 {
                continue;
            }
            let net = b.net[d];
            let (has_network, has_other) = (net != 0, net != (1u32 << (n - 2)) - 1);
            let f = &b.factor[d];
            let f_network = if has_network {
                f[NEST_HOST_NETWORK]
            } else {
                0.0
            };
            let f_other = if has_other { f[NEST_OTHER_NHS] } else { 0.0 };
            let [sum_network, sum_other] = b.sums[d];
            let (x, pad) = b.weights[d].split_at_mut(2);
            x[0] = f[NEST_IN_HOUSE];
            x[1] = f[NEST_INDEPENDENT];
            b.total[d] = (x[0] + x[1]) + f_network * sum_network + f_other * sum_other;
            #[cfg(target_arch = "x86_64")]
            if LANES {
                // SAFETY: `LANES` is set only where the processor has AVX2; `pad` holds whole
                // lanes past the choice's last offer (`COLUMN_PAD` more values).
                unsafe { nest_weights_avx2(pad, n - 2, net, f_network, f_other) };
            }
            if !LANES || cfg!(not(target_arch = "x86_64")) {
                for (i, o) in pad[..n - 2].iter_mut().enumerate() {
                    *o *= if net >> i & 1 == 1 {
                        f_network
                    } else {
                        f_other
                    };
                }
            }
        }
    }

    /// Choice `d`'s first phase: its offers, the singletons' utilities, each offer's
    /// `exp(U / lambda)` into its weights and the offer nests' sums; 0 options when it has more
    /// than the stack holds.
    #[inline(always)]
    fn weigh_offers<const LANES: bool>(&self, k: &Chooser, b: &mut NestedBatch, d: usize) {
        let (s, current) = b.choices[d];
        let menu = &self.menu;
        let ns = self.ns();
        let r = k.region * ns + s;
        let (first, last) = (menu.start[r] as usize, menu.start[r + 1] as usize);
        let n = last - first;
        b.first[d] = first;
        if n + 2 > MENU_OPTIONS {
            b.options[d] = 0;
            b.factor[d] = [0.0; NESTS];
            return;
        }
        b.options[d] = n + 2;
        let sv = &menu.services[s];
        b.singles[d] = [
            utility(
                k.w,
                self.in_house_ratio[k.c * ns + s],
                sv.in_house_quality,
                sv.in_house_close,
                current == Supplier::InHouse,
            ),
            utility(
                k.w,
                sv.independent_ratio,
                sv.independent_quality,
                sv.independent_close,
                current == Supplier::Independent,
            ),
        ];
        // Collaboratives are in the host's network when the host is one of their members.
        let mut member_net = 0;
        if let Some(h) = k.host {
            let live = &menu.offers[first..last];
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
            w: k.w,
            host: k.host.map_or(-2, |h| h as i64),
            current: match current {
                Supplier::Provider(p) => p as i64,
                _ => -3,
            },
            inv_network: k.inv_network,
            inv_other: k.inv_other,
        };
        let pad = &mut b.weights[d][2..];
        let (net, sum_network, sum_other) =
            offer_exps::<LANES>(&menu.columns, first, n, member_net, &v, pad);
        b.net[d] = net;
        b.sums[d] = [sum_network, sum_other];
    }

    /// Choice `d`'s second phase: its offer nests' `ln S`, and its nests' factors' arguments
    /// `lambda I - top` less `ln S` for the offer nests; 0 options when a value lies outside
    /// [`SAFE`].
    #[inline(always)]
    fn nest_arguments(&self, k: &Chooser, b: &mut NestedBatch, d: usize) {
        let n = b.options[d] - 2;
        let net = b.net[d];
        let [sum_network, sum_other] = b.sums[d];
        let [in_house, independent] = b.singles[d];
        // An empty nest has no factor; ln 1 = 0 stands in for its sum's.
        let (has_network, has_other) = (net != 0, net != (1u32 << n) - 1);
        let (ln_network, ln_other) = ln_pair(
            if has_network { sum_network } else { 1.0 },
            if has_other { sum_other } else { 1.0 },
        );
        // NaN fails every comparison, so it takes the general path too.
        let safe = |y: f64| y.abs() <= SAFE;
        if !(safe(in_house) && safe(independent) && safe(ln_network) && safe(ln_other)) {
            b.options[d] = 0;
            b.factor[d] = [0.0; NESTS];
            return;
        }
        let mut top = in_house.max(independent);
        if has_network {
            top = top.max(k.lambda_network * ln_network);
        }
        if has_other {
            top = top.max(k.lambda_other * ln_other);
        }
        let f = &mut b.factor[d];
        f[NEST_IN_HOUSE] = in_house - top;
        f[NEST_HOST_NETWORK] = k.less_one_network * ln_network - top;
        f[NEST_OTHER_NHS] = k.less_one_other * ln_other - top;
        f[NEST_INDEPENDENT] = independent - top;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::choice::{pick, pick_nested};
    use crate::engine::testing::{market, replication_in_quarter_one};
    use crate::model::rng::{Purpose, stream, uniform};
    use crate::scenario::schema::Nests;

    /// Relative difference of two weights (0 when both are 0).
    fn apart(a: f64, b: f64) -> f64 {
        if a == b {
            0.0
        } else {
            (a - b).abs() / a.abs().max(b.abs())
        }
    }

    /// The menu's nested weights are the general path's to within 1e-12 relative, and so are the
    /// picks but where the uniform lies within 1e-12 of a boundary of the general path's
    /// cumulative probabilities: for every CCG, service and current supplier, with a host network
    /// of two (a local CSU and its collaborative), other NHS providers, national ones, and
    /// lambdas from near 0 to 1; offers one at a time and in AVX2 lanes. The choices go in
    /// batches of every size from 1 to [`BATCH`], services and currents mixed, so a choice's pick
    /// does not depend on the others in its batch. Lambdas so small that the values leave
    /// [`SAFE`] take the general path, whose picks are the same exactly.
    #[test]
    fn nested_choice_from_the_menu_is_the_general_path_within_rounding() {
        let mut r = stream(21, 0, 0, 0, Purpose::Choice, 0);
        let (mut compared, mut general, mut picks, mut near) = (0, 0, 0, 0);
        for config in ["local", "collaborative", "national"] {
            let mut m = market(config);
            for lambdas in [
                [1.0, 0.7, 0.3, 1.0],
                [0.5, 0.05, 0.9, 0.2],
                [1.0, 1.0, 0.05, 1.0],
                [1.0, 0.001, 0.002, 1.0],
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
                    let k = w.chooser(c, nests);
                    let mut one = NestedBatch::new();
                    for &(s, current) in &choices {
                        one.len = 0;
                        one.push(s, current, 0.5, 0);
                        if lanes {
                            w.weigh_batch::<true>(&k, &mut one);
                        } else {
                            w.weigh_batch::<false>(&k, &mut one);
                        }
                        let (n, total, x) = (one.options[0], one.total[0], one.weights[0]);
                        w.general_options(c, s, current, &mut options);
                        pick_nested(&mut options, |o| w.nest(o, c), nests, 0.5);
                        if n == 0 {
                            general += 1;
                            continue;
                        }
                        assert_eq!(n, options.len());
                        let sum: f64 = options.iter().map(|o| o.1).sum();
                        assert!(apart(total, sum) < 1e-12, "total {total} against {sum}");
                        for (a, o) in x[..n].iter().zip(&options) {
                            assert!(apart(*a, o.1) < 1e-12, "{:?} against {options:?}", &x[..n]);
                        }
                        compared += 1;
                    }
                    let mut size = 1 + c % BATCH;
                    let mut b = NestedBatch::new();
                    b.lanes = lanes;
                    for batch in choices.chunks(size) {
                        size = 1 + size % BATCH;
                        for _ in 0..20 {
                            b.len = 0;
                            for &(s, current) in batch {
                                b.push(s, current, uniform(&mut r), 0);
                            }
                            w.choose_nested_batch(c, &mut b, nests, &mut options);
                            for (d, &(s, current)) in batch.iter().enumerate() {
                                let u = b.u[d];
                                w.general_options(c, s, current, &mut options);
                                let slow = pick_nested(&mut options, |o| w.nest(o, c), nests, u);
                                // The general path's boundaries: its running sums over its total.
                                let total: f64 = options.iter().map(|o| o.1).sum();
                                let mut edge = 0.0;
                                let boundary = options.iter().any(|o| {
                                    edge += o.1;
                                    (u - edge / total).abs() < 1e-12
                                });
                                if boundary && b.picks[d] != slow {
                                    near += 1;
                                    continue;
                                }
                                assert_eq!(b.picks[d], slow, "ccg {c}, service {s}, u {u}");
                                picks += 1;
                            }
                        }
                    }
                }
            }
        }
        let widths = if avx2() { 2 } else { 1 };
        assert!(compared > 500 * widths, "{compared}");
        assert!(
            general > 50 * widths,
            "{general} choices took the general path"
        );
        assert!(picks > 10_000 * widths, "{picks}");
        assert!(near < 10, "{near} picks differed at a boundary");
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
