//! The first phase of a nested choice (`nested.rs`) over the menu's offer columns: each offer's
//! utility over its nest's lambda, the host network's and the other NHS nest's maxima, and each
//! offer's value less its nest's maximum. Four offers at a time in AVX2 lanes where the processor
//! has them (asked at run time, as [`super::kernel::exp_in_place`] does), else one at a time.
//! Every lane does the same IEEE operations in the same order as [`utility`] then the division
//! (each correctly rounded, no fused multiply-add), and a maximum does not depend on the order
//! it is taken in, so both paths give the same bits.

use super::choice::utility;
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
    /// The host network's and the other NHS nest's lambdas.
    pub(super) lambda_network: f64,
    pub(super) lambda_other: f64,
}

/// Offers `first..first + n` of `cols` (`n` at most 32): writes each one's `U / lambda - max` of
/// its nest to `x[..n]` and returns which are in the host's network (bit `i` for offer
/// `first + i`: a local CSU that is the host, or a collaborative in `member_net`) and the two
/// nests' maxima (minus infinity for an empty nest). `x` must hold `n + 3` values (whole lanes
/// are written; what lies after `n` is not used).
#[inline(always)]
pub(super) fn offer_values<const LANES: bool>(
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
        return unsafe { offer_values_avx2(cols, first, n, member_net, v, x) };
    }
    offer_values_scalar(cols, first, n, member_net, v, x)
}

/// [`offer_values`] one offer at a time.
#[inline(always)]
fn offer_values_scalar(
    cols: &OfferColumns,
    first: usize,
    n: usize,
    member_net: u32,
    v: &Valuation,
    x: &mut [f64],
) -> (u32, f64, f64) {
    let (mut max_network, mut max_other) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    let mut net = 0u32;
    let offers = first..first + n;
    let x = &mut x[..n];
    for (i, xi) in x.iter_mut().enumerate() {
        let o = offers.start + i;
        let related = cols.host[o] == v.host || member_net >> i & 1 == 1;
        let (close, lambda) = if related {
            (cols.close_related[o], v.lambda_network)
        } else {
            (cols.close[o], v.lambda_other)
        };
        *xi = utility(
            v.w,
            cols.price_ratio[o],
            cols.quality[o],
            close,
            cols.provider[o] == v.current,
        ) / lambda;
        if related {
            net |= 1 << i;
            max_network = max_network.max(*xi);
        } else {
            max_other = max_other.max(*xi);
        }
    }
    for (i, xi) in x.iter_mut().enumerate() {
        *xi -= if net >> i & 1 == 1 {
            max_network
        } else {
            max_other
        };
    }
    (net, max_network, max_other)
}

/// [`offer_values`] four offers at a time in AVX2 lanes.
///
/// # Safety
/// The processor must have AVX2; the columns must hold `first + n + 3` values and `x` `n + 3`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn offer_values_avx2(
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
        let lambda_network = _mm256_set1_pd(v.lambda_network);
        let lambda_other = _mm256_set1_pd(v.lambda_other);
        let bits = _mm256_set_epi64x(8, 4, 2, 1);
        let lane = _mm256_set_epi64x(3, 2, 1, 0);
        let low = _mm256_set1_pd(f64::NEG_INFINITY);
        let (mut max_network, mut max_other) = (low, low);
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
            let lambda = _mm256_blendv_pd(lambda_other, lambda_network, related);
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
            let value = _mm256_div_pd(u, lambda);
            _mm256_storeu_pd(xp.add(i), value);
            // Lanes past the last offer count in neither nest.
            let live =
                _mm256_castsi256_pd(_mm256_cmpgt_epi64(_mm256_set1_epi64x((n - i) as i64), lane));
            let in_network = _mm256_and_pd(related, live);
            let in_other = _mm256_andnot_pd(related, live);
            // max(candidate, running): a NaN candidate leaves the running maximum, as f64::max.
            max_network = _mm256_max_pd(_mm256_blendv_pd(low, value, in_network), max_network);
            max_other = _mm256_max_pd(_mm256_blendv_pd(low, value, in_other), max_other);
            net |= (_mm256_movemask_pd(in_network) as u32) << i;
            i += 4;
        }
        let mut lanes = [[0.0; 4]; 2];
        _mm256_storeu_pd(lanes[0].as_mut_ptr(), max_network);
        _mm256_storeu_pd(lanes[1].as_mut_ptr(), max_other);
        let [top_network, top_other] =
            lanes.map(|l| l.into_iter().fold(f64::NEG_INFINITY, f64::max));
        let (tn, to) = (_mm256_set1_pd(top_network), _mm256_set1_pd(top_other));
        let mut i = 0;
        while i < n {
            let members = _mm256_and_si256(_mm256_set1_epi64x(i64::from(net >> i)), bits);
            let related = _mm256_castsi256_pd(_mm256_cmpeq_epi64(members, bits));
            let value = _mm256_loadu_pd(xp.add(i));
            let top = _mm256_blendv_pd(to, tn, related);
            _mm256_storeu_pd(xp.add(i), _mm256_sub_pd(value, top));
            i += 4;
        }
        (net, top_network, top_other)
    }
}

/// Offers `0..n`'s weights, `x` times its nest's factor (`f_network` for the offers whose bit
/// is set in `net`, else `f_other`), into `out`, four at a time: one product each, as the
/// scalar path takes it.
///
/// # Safety
/// The processor must have AVX2; `x` and `out` must hold `n + 3` values (whole lanes).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub(super) unsafe fn nest_weights_avx2(
    x: &[f64],
    n: usize,
    net: u32,
    f_network: f64,
    f_other: f64,
    out: &mut [f64],
) {
    use std::arch::x86_64::*;
    debug_assert!(x.len() >= n + 3 && out.len() >= n + 3);
    // SAFETY: the caller guarantees AVX2 and whole lanes in `x` and `out`.
    unsafe {
        let bits = _mm256_set_epi64x(8, 4, 2, 1);
        let (tn, to) = (_mm256_set1_pd(f_network), _mm256_set1_pd(f_other));
        let mut i = 0;
        while i < n {
            let members = _mm256_and_si256(_mm256_set1_epi64x(i64::from(net >> i)), bits);
            let related = _mm256_castsi256_pd(_mm256_cmpeq_epi64(members, bits));
            let factor = _mm256_blendv_pd(to, tn, related);
            let value = _mm256_loadu_pd(x.as_ptr().add(i));
            _mm256_storeu_pd(out.as_mut_ptr().add(i), _mm256_mul_pd(value, factor));
            i += 4;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rng::{Purpose, stream, uniform};

    /// The AVX2 lanes give the scalar path's bits, maxima and network for every number of
    /// offers from 0 to 32 (whole lanes, a tail of 1 to 3, several lanes), at every offset in
    /// the columns, with hosts, members and current suppliers anywhere among them. (The scalar
    /// path is held to the general path by `nested.rs`'s tests, whose market has at most four
    /// offers a region.)
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn offer_values_in_lanes_are_the_scalar_values_bit_for_bit() {
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
                    lambda_network: draw(0.05, 1.0),
                    lambda_other: draw(0.05, 1.0),
                };
                let members = (draw(0.0, 1.0) * f64::from(u32::MAX)) as u32;
                let member_net = if n < 32 {
                    members & ((1 << n) - 1)
                } else {
                    members
                };
                let mut scalar = [0.0; 35];
                let mut lanes = [0.0; 35];
                let a = offer_values_scalar(&cols, first, n, member_net, &v, &mut scalar);
                // SAFETY: the processor has AVX2 (checked above); the columns hold `first + n + 3`
                // values and `lanes` 35.
                let b = unsafe { offer_values_avx2(&cols, first, n, member_net, &v, &mut lanes) };
                assert_eq!(a.0, b.0, "network, {n} offers from {first}");
                assert_eq!(
                    a.1.to_bits(),
                    b.1.to_bits(),
                    "network maximum, {n} from {first}"
                );
                assert_eq!(
                    a.2.to_bits(),
                    b.2.to_bits(),
                    "other maximum, {n} from {first}"
                );
                for (x, y) in scalar[..n].iter().zip(&lanes[..n]) {
                    assert_eq!(x.to_bits(), y.to_bits(), "{n} offers from {first}");
                }
                compared += 1;
            }
        }
        assert!(compared > 1000, "{compared}");
    }
}
