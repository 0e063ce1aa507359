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
//! The pick inverts the cumulative distribution in the general path's option order at the
//! choice's uniform, as before. Where the processor has AVX2 the whole batch is compiled for it
//! (one function, the lanes and `exp` inlined); else one offer at a time, with the same bits.

use super::choice::{
    MENU_OPTIONS, NEST_HOST_NETWORK, NEST_IN_HOUSE, NEST_INDEPENDENT, NEST_OTHER_NHS, NESTS,
    menu_pick, pick_nested, utility,
};
use super::kernel;
#[cfg(target_arch = "x86_64")]
use super::lanes::nest_weights_avx2;
use super::lanes::{Valuation, offer_exps};
use super::menu::{COLUMN_PAD, MenuOffer};
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

/// A batch of one CCG's nested-logit choices: the choices gathered, then their picks.
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
        let k = self.chooser(c, lambdas);
        let mut w = [0.0; WEIGHTS];
        for d in 0..b.len.min(BATCH) {
            let (s, current) = b.choices[d];
            b.picks[d] = match self.nested_weights::<LANES>(&k, s, current, &mut w) {
                Some((n, total, live)) => menu_pick(&w[..n], total, b.u[d], live),
                None => {
                    self.general_options(c, s, current, options);
                    pick_nested(options, |o| self.nest(o, c), lambdas, b.u[d])
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

    /// A choice's unnormalised nested-logit probabilities in the general path's option order
    /// (in-house, independent, then the menu's offers), written to `out`: the weights
    /// `choice::pick_nested` leaves in its options, to within rounding. Returns the number of
    /// options, their total and the offers; none when the choice takes the general path (more
    /// options than the stack holds, or values outside [`SAFE`]).
    #[inline(always)]
    fn nested_weights<'m, const LANES: bool>(
        &'m self,
        k: &Chooser,
        s: usize,
        current: Supplier,
        out: &mut [f64; WEIGHTS],
    ) -> Option<(usize, f64, &'m [MenuOffer])> {
        let menu = &self.menu;
        let ns = self.ns();
        let r = k.region * ns + s;
        let (first, last) = (menu.start[r] as usize, menu.start[r + 1] as usize);
        let live = &menu.offers[first..last];
        let n = live.len();
        if n + 2 > MENU_OPTIONS {
            return None;
        }
        let sv = &menu.services[s];
        let in_house = utility(
            k.w,
            self.in_house_ratio[k.c * ns + s],
            sv.in_house_quality,
            sv.in_house_close,
            current == Supplier::InHouse,
        );
        let independent = utility(
            k.w,
            sv.independent_ratio,
            sv.independent_quality,
            sv.independent_close,
            current == Supplier::Independent,
        );
        // Collaboratives are in the host's network when the host is one of their members.
        let mut member_net = 0;
        if let Some(h) = k.host {
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
        let (x, pad) = out.split_at_mut(2);
        let (net, sum_network, sum_other) =
            offer_exps::<LANES>(&menu.columns, first, n, member_net, &v, pad);
        // An empty nest has no factor; ln 1 = 0 stands in for its sum's.
        let (has_network, has_other) = (net != 0, net != (1u32 << n) - 1);
        let ln_network = if has_network {
            kernel::ln(sum_network)
        } else {
            0.0
        };
        let ln_other = if has_other {
            kernel::ln(sum_other)
        } else {
            0.0
        };
        // NaN fails every comparison, so it takes the general path too.
        let safe = |y: f64| y.abs() <= SAFE;
        if !(safe(in_house) && safe(independent) && safe(ln_network) && safe(ln_other)) {
            return None;
        }
        let mut top = in_house.max(independent);
        if has_network {
            top = top.max(k.lambda_network * ln_network);
        }
        if has_other {
            top = top.max(k.lambda_other * ln_other);
        }
        let mut f = [0.0; NESTS];
        f[NEST_IN_HOUSE] = in_house - top;
        f[NEST_HOST_NETWORK] = k.less_one_network * ln_network - top;
        f[NEST_OTHER_NHS] = k.less_one_other * ln_other - top;
        f[NEST_INDEPENDENT] = independent - top;
        kernel::exp4_with::<LANES>(&mut f);
        let f_network = if has_network {
            f[NEST_HOST_NETWORK]
        } else {
            0.0
        };
        let f_other = if has_other { f[NEST_OTHER_NHS] } else { 0.0 };
        x[0] = f[NEST_IN_HOUSE];
        x[1] = f[NEST_INDEPENDENT];
        let total = (x[0] + x[1]) + f_network * sum_network + f_other * sum_other;
        #[cfg(target_arch = "x86_64")]
        if LANES {
            // SAFETY: `LANES` is set only where the processor has AVX2; `pad` holds whole lanes
            // past the choice's last offer (`COLUMN_PAD` more values).
            unsafe { nest_weights_avx2(pad, n, net, f_network, f_other) };
        }
        if !LANES || cfg!(not(target_arch = "x86_64")) {
            for (i, o) in pad[..n].iter_mut().enumerate() {
                *o *= if net >> i & 1 == 1 {
                    f_network
                } else {
                    f_other
                };
            }
        }
        Some((n + 2, total, live))
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
                    for &(s, current) in &choices {
                        let mut x = [0.0; WEIGHTS];
                        let fast = if lanes {
                            w.nested_weights::<true>(&k, s, current, &mut x)
                        } else {
                            w.nested_weights::<false>(&k, s, current, &mut x)
                        };
                        w.general_options(c, s, current, &mut options);
                        pick_nested(&mut options, |o| w.nest(o, c), nests, 0.5);
                        let Some((n, total, _)) = fast else {
                            general += 1;
                            continue;
                        };
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
