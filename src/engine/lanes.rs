//! The offers of a nested choice (`nested.rs`) over the menu's offer columns, in one pass: each
//! offer's utility over its nest's lambda, its `exp`, which offers are in the CCG's host network,
//! and the two offer nests' sums. Four offers at a time in AVX2 lanes where the processor has
//! them (asked at run time, as [`super::kernel::exp_in_place`] does), else one at a time. Every
//! lane does the same IEEE operations in the same order as [`utility`] then the product and
//! [`kernel::exp`] (each correctly rounded, no fused multiply-add), and each nest's sum is kept
//! as four partial sums, one per lane, added as `(p0 + p1) + (p2 + p3)`, which the one-at-a-time
//! path imitates; so both paths give the same bits. The values are not reduced by their nest's
//! maximum first: the caller checks that the sums are far from overflow and underflow, and takes
//! the general path where they are not.

use super::choice::utility;
use super::kernel;
use super::menu::OfferColumns;

/// What one choice's offers are valued with.
#[derive(Debug, Clone, Copy)]
pub(super) struct Valuation {
    /// The CCG's weights `[price, quality, locality, inertia]`.
    pub(super) w: [f64; 4],
    /// The CCG's host (a provider index), -2 when it has none.
    pub(super) host: i64,
    /// The current supplier when it is a provider, -3 otherwise.
    pub(super) current: i64,
    /// One over the host network's and the other NHS nest's lambdas.
    pub(super) inv_network: f64,
    pub(super) inv_other: f64,
}

/// Offers `first..first + n` of `cols` (`n` at most 32): writes each one's `exp(U / lambda)` of
/// its nest to `x[..n]` and returns which are in the host's network (bit `i` for offer
/// `first + i`: a local CSU that is the host, or a collaborative in `member_net`) and the two
/// nests' sums (0 for an empty nest). `x` must hold `n + 3` values (whole lanes are written;
/// what lies after `n` is not used).
#[inline(always)]
pub(super) fn offer_exps<const LANES: bool>(
    cols: &OfferColumns,
    first: usize,
    n: usize,
    member_net: u32,
    v: &Valuation,
    x: &mut [f64],
) -> (u32, f64, f64) {
    debug_assert!(n <= 32 && x.len() >= n + 3 && cols.price_ratio.len() >= first + n + 3);
    #[cfg(target_arch = "x86_64")]
    if LANES {
        // SAFETY: `LANES` is set only where the processor has AVX2 (`NestedBatch::new`), and
        // the columns and `x` hold whole lanes past the last offer (checked above in debug).
        return unsafe { offer_exps_avx2(cols, first, n, member_net, v, x) };
    }
    offer_exps_scalar(cols, first, n, member_net, v, x)
}

/// Four partial sums added as the lanes add them.
#[inline(always)]
fn lane_sum(p: [f64; 4]) -> f64 {
    (p[0] + p[1]) + (p[2] + p[3])
}

/// [`offer_exps`] one offer at a time, each nest's sum in the lanes' four partial sums.
#[inline(always)]
fn offer_exps_scalar(
    cols: &OfferColumns,
    first: usize,
    n: usize,
    member_net: u32,
    v: &Valuation,
    x: &mut [f64],
) -> (u32, f64, f64) {
    let (mut network, mut other) = ([0.0; 4], [0.0; 4]);
    let mut net = 0u32;
    let offers = first..first + n;
    let x = &mut x[..n];
    for (i, xi) in x.iter_mut().enumerate() {
        let o = offers.start + i;
        let related = cols.host[o] == v.host || member_net >> i & 1 == 1;
        let (close, inv) = if related {
            (cols.close_related[o], v.inv_network)
        } else {
            (cols.close[o], v.inv_other)
        };
        *xi = kernel::exp(
            utility(
                v.w,
                cols.price_ratio[o],
                cols.quality[o],
                close,
                cols.provider[o] == v.current,
            ) * inv,
        );
        if related {
            net |= 1 << i;
            network[i % 4] += *xi;
        } else {
            other[i % 4] += *xi;
        }
    }
    (net, lane_sum(network), lane_sum(other))
}

/// [`offer_exps`] four offers at a time in AVX2 lanes.
///
/// # Safety
/// The processor must have AVX2; the columns must hold `first + n + 3` values and `x` `n + 3`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn offer_exps_avx2(
    cols: &OfferColumns,
    first: usize,
    n: usize,
    member_net: u32,
    v: &Valuation,
    x: &mut [f64],
) -> (u32, f64, f64) {
    use std::arch::x86_64::*;
    // SAFETY: the caller guarantees AVX2 and whole lanes in the columns and in `x`, so every
    // load and store below stays inside them. No closures: they would not inherit AVX2.
    unsafe {
        let [bp, bq, bl, bi] = v.w;
        // `-bp * (p - 1)`: the negation is exact, then the same product as `utility`'s.
        let neg_bp = _mm256_set1_pd(-bp);
        let (bq, bl, bi) = (_mm256_set1_pd(bq), _mm256_set1_pd(bl), _mm256_set1_pd(bi));
        let one = _mm256_set1_pd(1.0);
        let host = _mm256_set1_epi64x(v.host);
        let current = _mm256_set1_epi64x(v.current);
        let inv_network = _mm256_set1_pd(v.inv_network);
        let inv_other = _mm256_set1_pd(v.inv_other);
        let bits = _mm256_set_epi64x(8, 4, 2, 1);
        let lane = _mm256_set_epi64x(3, 2, 1, 0);
        let (mut network, mut other) = (_mm256_setzero_pd(), _mm256_setzero_pd());
        let mut net = 0u32;
        let xp = x.as_mut_ptr();
        let mut i = 0;
        while i < n {
            let o = first + i;
            let price = _mm256_loadu_pd(cols.price_ratio.as_ptr().add(o));
            let quality = _mm256_loadu_pd(cols.quality.as_ptr().add(o));
            let close_related = _mm256_loadu_pd(cols.close_related.as_ptr().add(o));
            let close = _mm256_loadu_pd(cols.close.as_ptr().add(o));
            let hosts = _mm256_loadu_si256(cols.host.as_ptr().add(o).cast());
            let providers = _mm256_loadu_si256(cols.provider.as_ptr().add(o).cast());
            // The host's lanes, and the member collaboratives' (their bits spread over lanes).
            let members = _mm256_and_si256(_mm256_set1_epi64x(i64::from(member_net >> i)), bits);
            let related = _mm256_castsi256_pd(_mm256_or_si256(
                _mm256_cmpeq_epi64(hosts, host),
                _mm256_cmpeq_epi64(members, bits),
            ));
            let close = _mm256_blendv_pd(close, close_related, related);
            let inv = _mm256_blendv_pd(inv_other, inv_network, related);
            // bi where the offer is the current supplier, +0 elsewhere: `utility`'s last term.
            let inertia = _mm256_and_pd(
                _mm256_castsi256_pd(_mm256_cmpeq_epi64(providers, current)),
                bi,
            );
            let u = _mm256_add_pd(
                _mm256_add_pd(
                    _mm256_add_pd(
                        _mm256_mul_pd(neg_bp, _mm256_sub_pd(price, one)),
                        _mm256_mul_pd(bq, quality),
                    ),
                    _mm256_mul_pd(bl, close),
                ),
                inertia,
            );
            let e = kernel::exp_lanes(_mm256_mul_pd(u, inv));
            _mm256_storeu_pd(xp.add(i), e);
            // Lanes past the last offer count in neither nest (+0 added leaves a sum as it is).
            let live =
                _mm256_castsi256_pd(_mm256_cmpgt_epi64(_mm256_set1_epi64x((n - i) as i64), lane));
            let in_network = _mm256_and_pd(related, live);
            let in_other = _mm256_andnot_pd(related, live);
            network = _mm256_add_pd(network, _mm256_and_pd(e, in_network));
            other = _mm256_add_pd(other, _mm256_and_pd(e, in_other));
            net |= (_mm256_movemask_pd(in_network) as u32) << i;
            i += 4;
        }
        let mut sums = [[0.0; 4]; 2];
        _mm256_storeu_pd(sums[0].as_mut_ptr(), network);
        _mm256_storeu_pd(sums[1].as_mut_ptr(), other);
        (net, lane_sum(sums[0]), lane_sum(sums[1]))
    }
}

/// Offers `0..n`'s weights in place: each `x` times its nest's factor (`f_network` for the
/// offers whose bit is set in `net`, else `f_other`), four at a time: one product each, as the
/// scalar path takes it.
///
/// # Safety
/// The processor must have AVX2; `x` must hold `n + 3` values (whole lanes).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub(super) unsafe fn nest_weights_avx2(
    x: &mut [f64],
    n: usize,
    net: u32,
    f_network: f64,
    f_other: f64,
) {
    use std::arch::x86_64::*;
    debug_assert!(x.len() >= n + 3);
    // SAFETY: the caller guarantees AVX2 and whole lanes in `x`.
    unsafe {
        let bits = _mm256_set_epi64x(8, 4, 2, 1);
        let (tn, to) = (_mm256_set1_pd(f_network), _mm256_set1_pd(f_other));
        let xp = x.as_mut_ptr();
        let mut i = 0;
        while i < n {
            let members = _mm256_and_si256(_mm256_set1_epi64x(i64::from(net >> i)), bits);
            let related = _mm256_castsi256_pd(_mm256_cmpeq_epi64(members, bits));
            let factor = _mm256_blendv_pd(to, tn, related);
            _mm256_storeu_pd(xp.add(i), _mm256_mul_pd(_mm256_loadu_pd(xp.add(i)), factor));
            i += 4;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rng::{Purpose, stream, uniform};

    /// The AVX2 lanes give the scalar path's bits, sums and network for every number of
    /// offers from 0 to 32 (whole lanes, a tail of 1 to 3, several lanes), at every offset in
    /// the columns, with hosts, members and current suppliers anywhere among them. (The scalar
    /// path is held to the general path by `nested.rs`'s tests, whose market has at most four
    /// offers a region.)
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn offer_exps_in_lanes_are_the_scalar_exps_bit_for_bit() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        let mut r = stream(31, 0, 0, 0, Purpose::Choice, 0);
        let mut draw = move |lo: f64, hi: f64| lo + (hi - lo) * uniform(&mut r);
        let total = 64;
        let mut cols = OfferColumns::default();
        for _ in 0..total + 3 {
            let provider = draw(0.0, 8.0) as i64;
            cols.price_ratio.push(draw(0.5, 1.5));
            cols.quality.push(draw(0.0, 1.0));
            cols.close_related.push(draw(0.0, 1.0));
            cols.close.push(draw(0.0, 1.0));
            cols.provider.push(provider);
            cols.host
                .push(if draw(0.0, 1.0) < 0.5 { provider } else { -1 });
        }
        let mut compared = 0;
        for n in 0..=32 {
            for first in 0..total - n {
                let v = Valuation {
                    w: [
                        draw(0.0, 5.0),
                        draw(0.0, 5.0),
                        draw(0.0, 5.0),
                        draw(0.0, 2.0),
                    ],
                    host: draw(-2.0, 8.0) as i64,
                    current: draw(-3.0, 8.0) as i64,
                    inv_network: 1.0 / draw(0.05, 1.0),
                    inv_other: 1.0 / draw(0.05, 1.0),
                };
                let members = (draw(0.0, 1.0) * f64::from(u32::MAX)) as u32;
                let member_net = if n < 32 {
                    members & ((1 << n) - 1)
                } else {
                    members
                };
                let mut scalar = [0.0; 35];
                let mut lanes = [0.0; 35];
                let a = offer_exps_scalar(&cols, first, n, member_net, &v, &mut scalar);
                // SAFETY: the processor has AVX2 (checked above); the columns hold `first + n + 3`
                // values and `lanes` 35.
                let b = unsafe { offer_exps_avx2(&cols, first, n, member_net, &v, &mut lanes) };
                assert_eq!(a.0, b.0, "network, {n} offers from {first}");
                assert_eq!(
                    a.1.to_bits(),
                    b.1.to_bits(),
                    "network sum, {n} from {first}"
                );
                assert_eq!(a.2.to_bits(), b.2.to_bits(), "other sum, {n} from {first}");
                for (x, y) in scalar[..n].iter().zip(&lanes[..n]) {
                    assert_eq!(x.to_bits(), y.to_bits(), "{n} offers from {first}");
                }
                compared += 1;
            }
        }
        assert!(compared > 1000, "{compared}");
    }
}
