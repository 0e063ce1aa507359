//! The arithmetic at the bottom of every choice: `exp`, written out so the compiler can inline it
//! into the choice loop, and the bare logit kernel that `csmarket bench` measures the engine
//! against (issue 11: a replication should cost no more per decision than its decisions made
//! naively).

use std::hint::black_box;
use std::time::Instant;

use crate::model::libm_log::{LG1, LG2, LG3, LG4, LG5, LG6, LG7, LN2_HI, LN2_LO};
use crate::model::rng::{self, Purpose};

// libm's `exp` constants, by their bits (as its source gives them beside the decimals).
const INVLN2: f64 = f64::from_bits(0x3ff7_1547_652b_82fe);
const P1: f64 = f64::from_bits(0x3fc5_5555_5555_553e);
const P2: f64 = f64::from_bits(0xbf66_c16c_16be_bd93);
const P3: f64 = f64::from_bits(0x3f11_566a_af25_de2c);
const P4: f64 = f64::from_bits(0xbebb_bd41_c5d2_6bf1);
const P5: f64 = f64::from_bits(0x3e66_3769_72be_a4d0);

/// `e^x`, bit for bit what `libm::exp` returns (the same FreeBSD algorithm and operations, in the
/// same order), inlined: the engine calls it once per option per choice. Arguments outside
/// `|x| < 708.39` (overflow, underflow, NaN) go to `libm::exp` itself.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    let hx = ((x.to_bits() >> 32) as u32) & 0x7fff_ffff;
    if hx >= 0x4086_232b {
        return libm::exp(x);
    }
    if hx <= 0x3e30_0000 {
        // |x| <= 2^-28: libm returns 1 + x.
        return 1.0 + x;
    }
    let (hi, lo, k, r);
    if hx > 0x3fd6_2e42 {
        // |x| > ln2 / 2: x = k ln2 + r.
        let negative = x.is_sign_negative();
        k = if hx >= 0x3ff0_a2b2 {
            (INVLN2 * x + if negative { -0.5 } else { 0.5 }) as i32
        } else if negative {
            -1
        } else {
            1
        };
        hi = x - k as f64 * LN2_HI;
        lo = k as f64 * LN2_LO;
        r = hi - lo;
    } else {
        k = 0;
        hi = x;
        lo = 0.0;
        r = x;
    }
    let xx = r * r;
    let c = r - xx * (P1 + xx * (P2 + xx * (P3 + xx * (P4 + xx * P5))));
    let y = 1.0 + (r * c / (2.0 - c) - lo + hi);
    if k == 0 {
        y
    } else {
        // k lies in [-1022, 1022] here, so 2^k is a normal number and one multiplication is
        // exactly libm's `scalbn`.
        y * f64::from_bits(((0x3ff + k) as u64) << 52)
    }
}

/// `ln x`, bit for bit what `libm::log` returns (the same FreeBSD algorithm and operations, in
/// the same order), inlined: a nested choice takes one per nest. Zero, negative, subnormal,
/// infinite and NaN arguments go to `libm::log` itself.
#[inline(always)]
pub fn ln(x: f64) -> f64 {
    let ui = x.to_bits();
    let hx = (ui >> 32) as u32;
    if !(0x0010_0000..0x7ff0_0000).contains(&hx) {
        // Sign set, zero, subnormal, infinite or NaN (a set sign makes hx at least 0x8000_0000).
        return libm::log(x);
    }
    if hx == 0x3ff0_0000 && ui << 32 == 0 {
        return 0.0;
    }
    // Reduce x into [sqrt(2)/2, sqrt(2)]: x = 2^k (1 + f).
    let h = hx + (0x3ff0_0000 - 0x3fe6_a09e);
    let k = (h >> 20) as i32 - 0x3ff;
    let h = (h & 0x000f_ffff) + 0x3fe6_a09e;
    let f = f64::from_bits((u64::from(h) << 32) | (ui & 0xffff_ffff)) - 1.0;
    let hfsq = 0.5 * f * f;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * (LG4 + w * LG6));
    let t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
    let r = t2 + t1;
    let dk = f64::from(k);
    s * (hfsq + r) + dk * LN2_LO - hfsq + f + dk * LN2_HI
}

/// `e^x` of each value in place, bit for bit [`exp`] of each, in the widest lanes the processor
/// has: four at a time with AVX2 where it has them (asked at run time), else two at a time with
/// SSE2 (every x86-64 processor has it), one at a time on other targets. Every lane does the same
/// IEEE operations in the same order as [`exp`] (no fused multiply-add, nothing approximate), so
/// every width gives the same bits on every machine.
#[inline]
pub fn exp_in_place(xs: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if xs.len() >= 4 && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2, checked just above.
            unsafe { exp_in_place_avx2(xs) };
        } else {
            exp_in_place_sse2(xs);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    for x in xs {
        *x = exp(*x);
    }
}

/// [`exp_in_place`] two at a time in SSE2 lanes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn exp_in_place_sse2(xs: &mut [f64]) {
    let mut pairs = xs.chunks_exact_mut(2);
    for pair in &mut pairs {
        let [a, b] = exp_pair([pair[0], pair[1]]);
        pair[0] = a;
        pair[1] = b;
    }
    for x in pairs.into_remainder() {
        *x = exp(*x);
    }
}

/// [`exp_in_place`] four at a time in AVX2 lanes, the rest two at a time.
///
/// # Safety
/// The processor must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn exp_in_place_avx2(xs: &mut [f64]) {
    let mut quads = xs.chunks_exact_mut(4);
    for quad in &mut quads {
        // SAFETY: this function runs only where the processor has AVX2.
        unsafe { exp_quad(quad) };
    }
    exp_in_place_sse2(quads.into_remainder());
}

/// [`exp`] of four values at once in AVX2 lanes, in place: [`exp_pair`]'s operations on wider
/// registers. A quad with any value outside the common range takes the scalar path.
///
/// # Safety
/// The processor must have AVX2, and `v` must hold 4 values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn exp_quad(v: &mut [f64]) {
    use std::arch::x86_64::*;
    debug_assert_eq!(v.len(), 4);
    // SAFETY: the caller guarantees AVX2 and 4 values, so the loads and stores stay inside `v`.
    unsafe { _mm256_storeu_pd(v.as_mut_ptr(), exp_lanes(_mm256_loadu_pd(v.as_ptr()))) }
}

/// [`exp`] of four values in an AVX2 register (the same bits in every lane as [`exp`]): what
/// [`exp_quad`] does, for callers that hold their values in registers (`lanes.rs`).
///
/// # Safety
/// The processor must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub(super) unsafe fn exp_lanes(x: std::arch::x86_64::__m256d) -> std::arch::x86_64::__m256d {
    use std::arch::x86_64::*;
    // SAFETY: the caller guarantees AVX2; nothing here reads or writes memory but `v` below.
    // No closures here: they would not inherit this function's target feature.
    unsafe {
        // Each lane's high word less its sign, twice (see exp_pair).
        let h = _mm256_and_si256(
            _mm256_shuffle_epi32::<0b11_11_01_01>(_mm256_castpd_si256(x)),
            _mm256_set1_epi32(0x7fff_ffff),
        );
        let outside = _mm256_cmpgt_epi32(h, _mm256_set1_epi32(0x4086_232a));
        if _mm256_movemask_pd(_mm256_castsi256_pd(outside)) != 0 {
            // |x| >= 708.39 in a lane: overflow, underflow or NaN, which the scalar exp handles.
            let mut v = [0.0; 4];
            _mm256_storeu_pd(v.as_mut_ptr(), x);
            let [a, b, c, d] = v.map(exp);
            return _mm256_set_pd(d, c, b, a);
        }
        let big = _mm256_castsi256_pd(_mm256_cmpgt_epi32(h, _mm256_set1_epi32(0x3ff0_a2b1)));
        let reduced = _mm256_castsi256_pd(_mm256_cmpgt_epi32(h, _mm256_set1_epi32(0x3fd6_2e42)));
        let tiny = _mm256_castsi256_pd(_mm256_cmpgt_epi32(_mm256_set1_epi32(0x3e30_0001), h));
        let sign = _mm256_and_pd(x, _mm256_set1_pd(-0.0));
        let half = _mm256_or_pd(_mm256_set1_pd(0.5), sign);
        let one = _mm256_set1_pd(1.0);
        // k: trunc(x / ln2 +- 1/2) for large |x|, +-1 in the middle, 0 for small |x|.
        let k_big = _mm256_cvtepi32_pd(_mm256_cvttpd_epi32(_mm256_add_pd(
            _mm256_mul_pd(_mm256_set1_pd(INVLN2), x),
            half,
        )));
        let k_mid = _mm256_or_pd(one, sign);
        let k_sel = _mm256_or_pd(_mm256_and_pd(big, k_big), _mm256_andnot_pd(big, k_mid));
        let k = _mm256_and_pd(reduced, k_sel);
        // With k = 0 these are hi = x, lo = 0 and r = x, as libm sets them.
        let hi = _mm256_sub_pd(x, _mm256_mul_pd(k, _mm256_set1_pd(LN2_HI)));
        let lo = _mm256_mul_pd(k, _mm256_set1_pd(LN2_LO));
        let r = _mm256_sub_pd(hi, lo);
        let xx = _mm256_mul_pd(r, r);
        let mut p = _mm256_add_pd(_mm256_set1_pd(P4), _mm256_mul_pd(xx, _mm256_set1_pd(P5)));
        p = _mm256_add_pd(_mm256_set1_pd(P3), _mm256_mul_pd(xx, p));
        p = _mm256_add_pd(_mm256_set1_pd(P2), _mm256_mul_pd(xx, p));
        p = _mm256_add_pd(_mm256_set1_pd(P1), _mm256_mul_pd(xx, p));
        let c = _mm256_sub_pd(r, _mm256_mul_pd(xx, p));
        let q = _mm256_div_pd(_mm256_mul_pd(r, c), _mm256_sub_pd(_mm256_set1_pd(2.0), c));
        let y = _mm256_add_pd(one, _mm256_add_pd(_mm256_sub_pd(q, lo), hi));
        // 2^k from its bits; 2^0 = 1 leaves y as it is, as libm does for k = 0.
        let ki = _mm_add_epi32(_mm256_cvttpd_epi32(k), _mm_set1_epi32(0x3ff));
        let scale = _mm256_castsi256_pd(_mm256_slli_epi64::<52>(_mm256_cvtepu32_epi64(ki)));
        let small = _mm256_add_pd(one, x);
        let scaled = _mm256_mul_pd(y, scale);
        _mm256_or_pd(_mm256_and_pd(tiny, small), _mm256_andnot_pd(tiny, scaled))
    }
}

/// [`exp`] of four values in place: in AVX2 lanes when `AVX2` (inlined into a caller compiled
/// for AVX2, which must have checked that the processor has it), else one at a time.
#[inline(always)]
pub(super) fn exp4_with<const AVX2: bool>(v: &mut [f64; 4]) {
    #[cfg(target_arch = "x86_64")]
    if AVX2 {
        // SAFETY: a caller asks for AVX2 only where the processor has it; `v` holds 4 values.
        unsafe { exp_quad(v) };
        return;
    }
    *v = v.map(exp);
}

/// [`exp`] of two values at once in SSE2 lanes; a pair with either value outside the common
/// range (`2^-28 < |x| < 708.39`, both limits handled by blending or by the scalar `exp`) takes
/// the scalar path.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn exp_pair(v: [f64; 2]) -> [f64; 2] {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86-64 baseline, so these intrinsics are always available.
    unsafe {
        let x = _mm_set_pd(v[1], v[0]);
        // Each lane's high word less its sign, twice, so that 32-bit compares give 64-bit masks
        // (the words are below 2^31, so the signed compares order them as libm's unsigned ones).
        let h = _mm_and_si128(
            _mm_shuffle_epi32::<0b11_11_01_01>(_mm_castpd_si128(x)),
            _mm_set1_epi32(0x7fff_ffff),
        );
        let above = |t: i32| _mm_castsi128_pd(_mm_cmpgt_epi32(h, _mm_set1_epi32(t)));
        if _mm_movemask_pd(above(0x4086_232a)) != 0 {
            // |x| >= 708.39 in a lane: overflow, underflow or NaN, which the scalar exp handles.
            return [exp(v[0]), exp(v[1])];
        }
        let big = above(0x3ff0_a2b1);
        let reduced = above(0x3fd6_2e42);
        let tiny = _mm_castsi128_pd(_mm_cmpgt_epi32(_mm_set1_epi32(0x3e30_0001), h));
        let sign = _mm_and_pd(x, _mm_set1_pd(-0.0));
        let half = _mm_or_pd(_mm_set1_pd(0.5), sign);
        let one = _mm_set1_pd(1.0);
        // k: trunc(x / ln2 +- 1/2) for large |x|, +-1 in the middle, 0 for small |x|.
        let k_big = _mm_cvtepi32_pd(_mm_cvttpd_epi32(_mm_add_pd(
            _mm_mul_pd(_mm_set1_pd(INVLN2), x),
            half,
        )));
        let k_mid = _mm_or_pd(one, sign);
        let select =
            |m: __m128d, a: __m128d, b: __m128d| _mm_or_pd(_mm_and_pd(m, a), _mm_andnot_pd(m, b));
        let k = _mm_and_pd(reduced, select(big, k_big, k_mid));
        // With k = 0 these are hi = x, lo = 0 and r = x, as libm sets them.
        let hi = _mm_sub_pd(x, _mm_mul_pd(k, _mm_set1_pd(LN2_HI)));
        let lo = _mm_mul_pd(k, _mm_set1_pd(LN2_LO));
        let r = _mm_sub_pd(hi, lo);
        let xx = _mm_mul_pd(r, r);
        let mut p = _mm_add_pd(_mm_set1_pd(P4), _mm_mul_pd(xx, _mm_set1_pd(P5)));
        p = _mm_add_pd(_mm_set1_pd(P3), _mm_mul_pd(xx, p));
        p = _mm_add_pd(_mm_set1_pd(P2), _mm_mul_pd(xx, p));
        p = _mm_add_pd(_mm_set1_pd(P1), _mm_mul_pd(xx, p));
        let c = _mm_sub_pd(r, _mm_mul_pd(xx, p));
        let q = _mm_div_pd(_mm_mul_pd(r, c), _mm_sub_pd(_mm_set1_pd(2.0), c));
        let y = _mm_add_pd(one, _mm_add_pd(_mm_sub_pd(q, lo), hi));
        // 2^k from its bits; 2^0 = 1 leaves y as it is, as libm does for k = 0.
        let ki = _mm_add_epi32(_mm_cvttpd_epi32(k), _mm_set1_epi32(0x3ff));
        let scale = _mm_castsi128_pd(_mm_slli_epi64(
            _mm_unpacklo_epi32(ki, _mm_setzero_si128()),
            52,
        ));
        let out = select(tiny, _mm_add_pd(one, x), _mm_mul_pd(y, scale));
        let mut res = [0.0; 2];
        _mm_storeu_pd(res.as_mut_ptr(), out);
        res
    }
}

/// Options in the bare kernel: in-house, independent and four providers, as in an England 2012
/// region.
pub const KERNEL_OPTIONS: usize = 6;

/// The bare logit kernel: for each of `decisions` choices, 6 utilities from a CCG's 4 weights, 6
/// `libm::exp` and one ChaCha8 uniform to invert the distribution, with nothing cached and no
/// market around it. Returns the index of the last pick (so none of it is optimised away).
pub fn bare_kernel(decisions: u64) -> usize {
    // (price ratio, quality, closeness term) of each option; weights vary a little per decision.
    const OFFERS: [(f64, f64, f64); KERNEL_OPTIONS] = [
        (1.30, 0.60, 0.80),
        (1.15, 0.60, 0.00),
        (0.95, 0.62, 0.60),
        (1.02, 0.58, 0.40),
        (1.10, 0.66, 0.40),
        (0.98, 0.55, 0.20),
    ];
    let mut r = rng::stream(2012, 0, 0, 0, Purpose::Choice, 0);
    let mut last = 0;
    let mut weights = [3.0, 2.0, 1.5, 1.0];
    for d in 0..decisions {
        weights[0] = 3.0 + (d & 7) as f64 * 0.01;
        let w = black_box(weights);
        let current = (d % KERNEL_OPTIONS as u64) as usize;
        let mut u = [0.0; KERNEL_OPTIONS];
        for (i, &(price, quality, close)) in black_box(&OFFERS).iter().enumerate() {
            // The utility of `choice::utility`, written out: the kernel stands alone.
            let loyal = if i == current { w[3] } else { 0.0 };
            u[i] = -w[0] * (price - 1.0) + w[1] * quality + w[2] * close + loyal;
        }
        let max = u.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut sum = 0.0;
        for x in &mut u {
            *x = libm::exp(*x - max);
            sum += *x;
        }
        let mut target = rng::uniform(&mut r) * sum;
        last = KERNEL_OPTIONS - 1;
        for (i, x) in u.iter().enumerate() {
            if target < *x {
                last = i;
                break;
            }
            target -= x;
        }
        black_box(last);
    }
    last
}

/// Nanoseconds per decision of [`bare_kernel`] on this machine, on the calling thread: the best
/// of `rounds` timed runs of `decisions` choices each (the best, because anything else running
/// only ever slows it). Timed by the thread's own CPU time where the system reports it (so that
/// other processes waiting for the core do not count), else by the wall clock.
pub fn bare_kernel_ns(decisions: u64, rounds: u32) -> f64 {
    let decisions = decisions.max(1);
    // Warm the caches and the branch predictors first.
    black_box(bare_kernel(decisions.min(10_000)));
    (0..rounds.max(1))
        .map(|_| {
            let (t, cpu) = (Instant::now(), thread_cpu_ns());
            black_box(bare_kernel(decisions));
            let ns = match (cpu, thread_cpu_ns()) {
                (Some(a), Some(b)) if b > a => (b - a) as f64,
                _ => t.elapsed().as_secs_f64() * 1e9,
            };
            ns / decisions as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// CPU time of the calling thread in nanoseconds (`/proc/thread-self/schedstat`), where the
/// system reports it.
pub fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rng::{Purpose, stream, uniform};

    fn same_bits(x: f64) {
        let (a, b) = (exp(x), libm::exp(x));
        assert!(
            a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            "exp({x:e}) = {a:e}, libm gives {b:e}"
        );
    }

    #[test]
    fn exp_gives_libms_bits_everywhere() {
        let mut r = stream(7, 0, 0, 0, Purpose::Choice, 0);
        // Wide, middle and narrow ranges, so every branch of the argument reduction is met.
        for scale in [800.0, 40.0, 3.0, 1.1, 0.4, 1e-3, 1e-8] {
            for _ in 0..200_000 {
                same_bits(scale * (2.0 * uniform(&mut r) - 1.0));
            }
        }
        // Each threshold of the high word, just below, on and just above it.
        for hx in [0x4086_232bu64, 0x3ff0_a2b2, 0x3fd6_2e42, 0x3e30_0000] {
            for sign in [0u64, 1 << 63] {
                for d in -3i64..=3 {
                    let bits = ((hx << 32) as i64 + d * (1 << 20)) as u64;
                    same_bits(f64::from_bits(bits | sign));
                    same_bits(f64::from_bits((hx << 32 | 0xffff_ffff) | sign));
                }
            }
        }
        for x in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            709.78,
            709.8,
            -708.4,
            -745.2,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
        ] {
            same_bits(x);
        }
    }

    #[test]
    fn ln_gives_libms_bits_everywhere() {
        let same = |x: f64| {
            let (a, b) = (ln(x), libm::log(x));
            assert!(
                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                "ln({x:e}) = {a:e}, libm gives {b:e}"
            );
        };
        let mut r = stream(9, 0, 0, 0, Purpose::Choice, 0);
        // Nest sums lie in [1, options]; the wider ranges meet every exponent.
        for (low, high) in [
            (1.0f64, 32.0f64),
            (0.5, 2.0),
            (1e-300, 1e300),
            (0.999, 1.001),
        ] {
            for _ in 0..300_000 {
                let x = low * (high / low).powf(uniform(&mut r));
                same(x);
            }
        }
        for x in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            2.0,
            std::f64::consts::SQRT_2,
            std::f64::consts::FRAC_1_SQRT_2,
            f64::MIN_POSITIVE,
            f64::MIN_POSITIVE / 3.0,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ] {
            same(x);
            same(f64::from_bits(x.to_bits().wrapping_add(1)));
            same(f64::from_bits(x.to_bits().wrapping_sub(1)));
        }
    }

    /// Every lane width `exp_in_place` can take on this machine, each on a copy of `xs`.
    fn every_width(xs: &[f64]) -> Vec<(&'static str, Vec<f64>)> {
        let mut out = Vec::new();
        let mut one = xs.to_vec();
        for x in &mut one {
            *x = exp(*x);
        }
        out.push(("one lane", one));
        #[cfg(target_arch = "x86_64")]
        {
            let mut two = xs.to_vec();
            exp_in_place_sse2(&mut two);
            out.push(("two lanes", two));
            if std::arch::is_x86_feature_detected!("avx2") {
                let mut four = xs.to_vec();
                // SAFETY: the processor has AVX2, checked just above.
                unsafe { exp_in_place_avx2(&mut four) };
                out.push(("four lanes", four));
            }
        }
        let mut chosen = xs.to_vec();
        exp_in_place(&mut chosen);
        out.push(("exp_in_place", chosen));
        out
    }

    #[test]
    fn exp_in_place_gives_libms_bits_in_every_lane_width() {
        #[cfg(target_arch = "x86_64")]
        assert!(
            every_width(&[0.5]).len() == 4 || !std::arch::is_x86_feature_detected!("avx2"),
            "the four-lane path is not tested on this machine"
        );
        let mut r = stream(8, 0, 0, 0, Purpose::Choice, 0);
        let specials = [
            0.0,
            -0.0,
            1e-9,
            -1e-300,
            0.3,
            -0.35,
            0.7,
            -1.0,
            709.0,
            709.79,
            709.8,
            -745.1,
            -745.2,
            -745.5,
            -800.0,
            1e6,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            // Subnormal arguments, and arguments whose exp is subnormal.
            f64::from_bits(1),
            -f64::from_bits(0x000f_ffff_ffff_ffff),
            -720.0,
            -740.0,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
        ];
        let mut checked = 0;
        for scale in [800.0, 40.0, 3.0, 1.1, 0.4, 1e-3, 1e-8] {
            for n in 0..20_000 {
                let len = 1 + n % 11;
                let xs: Vec<f64> = (0..len)
                    .map(|i| {
                        if (n + i) % 13 == 0 {
                            specials[(n + i) % specials.len()]
                        } else {
                            scale * (2.0 * uniform(&mut r) - 1.0)
                        }
                    })
                    .collect();
                let want: Vec<f64> = xs.iter().map(|&x| libm::exp(x)).collect();
                for (width, got) in every_width(&xs) {
                    for ((a, b), x) in got.iter().zip(&want).zip(&xs) {
                        assert!(
                            a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                            "{width}: exp({x:e}) = {a:e}, libm gives {b:e} (in {xs:?})"
                        );
                        checked += 1;
                    }
                }
            }
        }
        // Each threshold of the high word, just below, on and just above it, in every lane.
        for hx in [0x4086_232bu64, 0x3ff0_a2b2, 0x3fd6_2e42, 0x3e30_0000] {
            for sign in [0u64, 1 << 63] {
                for d in -3i64..=3 {
                    let near = f64::from_bits(((hx << 32) as i64 + d * (1 << 20)) as u64 | sign);
                    let top = f64::from_bits((hx << 32 | 0xffff_ffff) | sign);
                    for (lane, x) in (0..4).flat_map(|lane| [(lane, near), (lane, top)]) {
                        let mut xs = [0.25, -0.5, 2.0, -3.0];
                        xs[lane] = x;
                        for (width, got) in every_width(&xs) {
                            for (a, x) in got.iter().zip(&xs) {
                                let b = libm::exp(*x);
                                assert_eq!(a.to_bits(), b.to_bits(), "{width}: exp({x:e})");
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 1_000_000, "{checked}");
    }

    #[test]
    fn bare_kernel_picks_every_option() {
        // Over many decisions each option is picked at some point: the kernel really chooses.
        let picks: std::collections::BTreeSet<usize> = (1..200).map(bare_kernel).collect();
        assert!(picks.len() >= 3, "{picks:?}");
        assert!(bare_kernel_ns(1000, 1) > 0.0);
    }
}
