//! The first uniforms and normals of eight streams at once, in AVX2 lanes: the eight streams'
//! ChaCha8 blocks come out of [`chacha8x8::keystream`] with word `i` of the eight blocks in
//! register `i`, and the draws are taken from those registers four streams to a register,
//! without laying the blocks out stream by stream. The uniforms are `rng::to_uniform`'s and the
//! normals libm's, bit for bit: the normals' formulas are `box_muller`'s (musl's `log`,
//! `__rem_pio2`, `__cos`, `__sin`, the same operations in the same order, no fused
//! multiply-add) over four f64 lanes, and a lane whose arguments leave libm's common path
//! (`a = 0`, a tiny angle, an angle near a multiple of pi/2) is computed one at a time by the
//! caller's scalar function.

use std::arch::x86_64::*;
use std::ops::{Add, Div, Mul, Sub};

use super::box_muller::{Lanes, PIO2_1, PIO2_1T, polar};
use super::chacha8x8::{self, LANES};

/// Four f64 lanes of an AVX2 register as [`Lanes`].
#[derive(Clone, Copy)]
struct Pd4(__m256d);

// SAFETY (every block below): these run only inlined into `first_normals_avx2`, which has AVX2.
macro_rules! op {
    ($trait:ident, $f:ident, $intrinsic:ident) => {
        impl $trait for Pd4 {
            type Output = Pd4;
            #[inline(always)]
            fn $f(self, o: Pd4) -> Pd4 {
                Pd4(unsafe { $intrinsic(self.0, o.0) })
            }
        }
    };
}
op!(Add, add, _mm256_add_pd);
op!(Sub, sub, _mm256_sub_pd);
op!(Mul, mul, _mm256_mul_pd);
op!(Div, div, _mm256_div_pd);

impl Lanes for Pd4 {
    #[inline(always)]
    fn splat(x: f64) -> Pd4 {
        Pd4(unsafe { _mm256_set1_pd(x) })
    }
}

/// The first `per` standard normals of each entity's stream (up to [`LANES`] entities; the key's
/// other words: `seed`, `replication` and `tail`, the period, purpose and sub), entity `k`'s into
/// `out[k * per..(k + 1) * per]`: what `rng::first_normals` gives for each. `one(a, b)` is the
/// scalar normal of uniforms `a` and `b`, for the lanes off libm's common path.
///
/// # Safety
/// The processor must have AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn first_normals_avx2(
    (seed, replication, tail): (u64, u64, u64),
    entities: &[u64],
    per: usize,
    out: &mut [f64],
    one: fn(f64, f64) -> f64,
) {
    let n = entities.len();
    assert!(
        n <= LANES && out.len() >= n * per,
        "{n} entities, {per} each"
    );
    // SAFETY: AVX2 is enabled on this function.
    let key = unsafe { lane_key((seed, replication, tail), entities) };
    // Lanes 4 to 7 only where there are more than four entities.
    let halves = if n > 4 { 2 } else { 1 };
    for block in 0..per.div_ceil(4) {
        // SAFETY: AVX2 is enabled on this function.
        let w = unsafe { chacha8x8::keystream(&key, block as u64) };
        for j in 0..(per - 4 * block).min(4) {
            // Normal j of the block: `a` from words 4j (low) and 4j + 1, `b` from 4j + 2 and 4j + 3.
            for half in 0..halves {
                let part = |x: __m256i| half_of(x, half);
                let a = uniforms(part(w[4 * j]), part(w[4 * j + 1]));
                let b = uniforms(part(w[4 * j + 2]), part(w[4 * j + 3]));
                // SAFETY: AVX2 is enabled on this function.
                let z = unsafe { normals(a, b, one) };
                let lanes = (n - 4 * half).min(4);
                for (i, &zi) in z.iter().enumerate().take(lanes) {
                    out[(4 * half + i) * per + 4 * block + j] = zi;
                }
            }
        }
    }
}

/// The first `per` uniforms of each entity's stream (up to [`LANES`] entities; the key's other
/// words as for [`first_normals_avx2`]), entity `k`'s into `out[k * per..(k + 1) * per]`: what
/// `rng::first_uniforms` gives for each.
///
/// # Safety
/// The processor must have AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn first_uniforms_avx2(
    (seed, replication, tail): (u64, u64, u64),
    entities: &[u64],
    per: usize,
    out: &mut [f64],
) {
    let n = entities.len();
    assert!(
        n <= LANES && out.len() >= n * per,
        "{n} entities, {per} each"
    );
    // SAFETY: AVX2 is enabled on this function.
    let key = unsafe { lane_key((seed, replication, tail), entities) };
    let halves = if n > 4 { 2 } else { 1 };
    for block in 0..per.div_ceil(8) {
        // SAFETY: AVX2 is enabled on this function.
        let w = unsafe { chacha8x8::keystream(&key, block as u64) };
        for j in 0..(per - 8 * block).min(8) {
            // Uniform j of the block: words 2j (low) and 2j + 1.
            for half in 0..halves {
                let u = uniforms(half_of(w[2 * j], half), half_of(w[2 * j + 1], half));
                let mut lanes = [0.0; 4];
                // SAFETY: the store writes a whole array of four.
                unsafe { _mm256_storeu_pd(lanes.as_mut_ptr(), u) };
                for (i, &ui) in lanes.iter().enumerate().take((n - 4 * half).min(4)) {
                    out[(4 * half + i) * per + 8 * block + j] = ui;
                }
            }
        }
    }
}

/// The stream keys' eight words lane by lane (`rng::key`'s bytes, little-endian): only the
/// entity's two differ from lane to lane; lanes past the entities hold entity 0.
///
/// # Safety
/// The caller runs with AVX2 enabled.
#[inline(always)]
unsafe fn lane_key((seed, replication, tail): (u64, u64, u64), entities: &[u64]) -> [__m256i; 8] {
    let (mut low, mut high) = ([0u32; LANES], [0u32; LANES]);
    for (k, &e) in entities.iter().enumerate() {
        (low[k], high[k]) = (e as u32, (e >> 32) as u32);
    }
    // SAFETY: the caller runs with AVX2; the loads read whole arrays of eight words.
    unsafe {
        let splat = |w: u64| _mm256_set1_epi32(w as u32 as i32);
        let load = |w: &[u32; LANES]| _mm256_loadu_si256(w.as_ptr() as *const __m256i);
        [
            splat(seed),
            splat(seed >> 32),
            splat(replication),
            splat(replication >> 32),
            load(&low),
            load(&high),
            splat(tail),
            splat(tail >> 32),
        ]
    }
}

/// Lanes 0 to 3 (`half` 0) or 4 to 7 (`half` 1) of eight 32-bit lanes.
#[inline(always)]
fn half_of(x: __m256i, half: usize) -> __m128i {
    // SAFETY: inlined into functions that have AVX2.
    unsafe {
        if half == 0 {
            _mm256_castsi256_si128(x)
        } else {
            _mm256_extracti128_si256::<1>(x)
        }
    }
}

/// Four uniforms as `rng::to_uniform` makes them from the 64-bit words `low | high << 32`: the
/// 53 high bits times 2^-53, here `high 2^-32 + (low >> 11) 2^-53`, which is exact (the sum is a
/// 53-bit integer times 2^-53), so the bits are the same.
#[inline(always)]
fn uniforms(low: __m128i, high: __m128i) -> __m256d {
    // SAFETY: inlined into `first_normals_avx2`, which has AVX2.
    unsafe {
        // `high` as unsigned: flip the sign bit, convert, add 2^31 back (all exact).
        let h = _mm256_add_pd(
            _mm256_cvtepi32_pd(_mm_xor_si128(high, _mm_set1_epi32(i32::MIN))),
            _mm256_set1_pd(2147483648.0),
        );
        let l = _mm256_cvtepi32_pd(_mm_srli_epi32::<11>(low));
        _mm256_add_pd(
            _mm256_mul_pd(h, _mm256_set1_pd(1.0 / 4294967296.0)),
            _mm256_mul_pd(l, _mm256_set1_pd(1.0 / (1u64 << 53) as f64)),
        )
    }
}

/// A small non-negative integer in each 64-bit lane (below 2^52) as an f64, exactly.
#[inline(always)]
unsafe fn small_to_f64(v: __m256i) -> __m256d {
    // SAFETY: the caller runs with AVX2 enabled.
    unsafe {
        let two52 = 4503599627370496.0;
        let bits = _mm256_or_si256(v, _mm256_castpd_si256(_mm256_set1_pd(two52)));
        _mm256_sub_pd(_mm256_castsi256_pd(bits), _mm256_set1_pd(two52))
    }
}

/// Four Box-Muller normals from uniforms `a` and `b` in [0, 1): each
/// `sqrt(-2 log(1 - a)) cos(2 pi b)` with libm's bits (`box_muller::normal_pair`'s steps, lane
/// by lane; `one(a, b)` for the lanes off its common path).
///
/// # Safety
/// The caller runs with AVX2 enabled.
#[inline(always)]
unsafe fn normals(a: __m256d, b: __m256d, one: fn(f64, f64) -> f64) -> [f64; 4] {
    // SAFETY: the caller runs with AVX2 enabled.
    unsafe {
        let i64s = |x: i64| _mm256_set1_epi64x(x);
        let u = _mm256_sub_pd(_mm256_set1_pd(1.0), a);
        let t = _mm256_mul_pd(_mm256_set1_pd(std::f64::consts::TAU), b);
        // log's reduction (`box_muller::log_reduce`): u = (1 + f) 2^k, k from the high word.
        let ui = _mm256_castpd_si256(u);
        let hx = _mm256_add_epi64(_mm256_srli_epi64::<32>(ui), i64s(0x3ff0_0000 - 0x3fe6_a09e));
        let biased = _mm256_srli_epi64::<20>(hx);
        let hx = _mm256_add_epi64(_mm256_and_si256(hx, i64s(0x000f_ffff)), i64s(0x3fe6_a09e));
        let x = _mm256_or_si256(
            _mm256_slli_epi64::<32>(hx),
            _mm256_and_si256(ui, i64s(0xffff_ffff)),
        );
        let f = _mm256_sub_pd(_mm256_castsi256_pd(x), _mm256_set1_pd(1.0));
        let dk = _mm256_sub_pd(small_to_f64(biased), _mm256_set1_pd(1023.0));
        // cos's quadrant (`box_muller::cos_quadrant`) from the angle's high word.
        let ix = _mm256_srli_epi64::<32>(_mm256_castpd_si256(t));
        let above = |c: i64| _mm256_cmpgt_epi64(ix, i64s(c));
        let equal = |v: __m256i, c: i64| _mm256_cmpeq_epi64(v, i64s(c));
        let minus_n = _mm256_add_epi64(
            _mm256_add_epi64(above(0x3fe9_21fb), above(0x4002_d97c)),
            _mm256_add_epi64(above(0x400f_6a7a), above(0x4015_fdbc)),
        );
        let n = _mm256_sub_epi64(_mm256_setzero_si256(), minus_n);
        let near_pio2 = _mm256_and_si256(
            _mm256_or_si256(equal(n, 1), equal(n, 2)),
            equal(_mm256_and_si256(ix, i64s(0xfffff)), 0x921fb),
        );
        let apart = _mm256_or_si256(
            _mm256_or_si256(
                _mm256_cmpgt_epi64(i64s(0x3e46_a09e), ix),
                above(0x401c_463b),
            ),
            _mm256_or_si256(
                near_pio2,
                _mm256_or_si256(equal(ix, 0x4012_d97c), equal(ix, 0x4019_21fb)),
            ),
        );
        // u = 1 (a = 0) is log's one case apart here: u is in [2^-53, 1], positive and normal.
        let apart = _mm256_movemask_pd(_mm256_castsi256_pd(apart))
            | _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_EQ_OQ>(u, _mm256_set1_pd(1.0)));
        // `__rem_pio2` in quadrant n: n times each part of pi/2 is what its table holds (the
        // same rounded product; 0 for n = 0).
        let nf = small_to_f64(n);
        let z = _mm256_sub_pd(t, _mm256_mul_pd(nf, _mm256_set1_pd(PIO2_1)));
        let nt = _mm256_mul_pd(nf, _mm256_set1_pd(PIO2_1T));
        let y0 = _mm256_sub_pd(z, nt);
        let y1 = _mm256_sub_pd(_mm256_sub_pd(z, y0), nt);
        let (r2, c, s) = polar(Pd4(f), Pd4(dk), Pd4(y0), Pd4(y1));
        // cos by quadrant: __cos, -__sin, -__cos, __sin, chosen on the bits.
        let sine = _mm256_sub_epi64(_mm256_setzero_si256(), _mm256_and_si256(n, i64s(1)));
        let sign = _mm256_slli_epi64::<62>(_mm256_and_si256(_mm256_add_epi64(n, i64s(1)), i64s(2)));
        let v = _mm256_xor_si256(
            _mm256_or_si256(
                _mm256_andnot_si256(sine, _mm256_castpd_si256(c.0)),
                _mm256_and_si256(_mm256_castpd_si256(s.0), sine),
            ),
            sign,
        );
        let z = _mm256_mul_pd(_mm256_sqrt_pd(r2.0), _mm256_castsi256_pd(v));
        let mut out = [0.0; 4];
        _mm256_storeu_pd(out.as_mut_ptr(), z);
        if apart != 0 {
            let (mut aa, mut bb) = ([0.0; 4], [0.0; 4]);
            _mm256_storeu_pd(aa.as_mut_ptr(), a);
            _mm256_storeu_pd(bb.as_mut_ptr(), b);
            for (i, o) in out.iter_mut().enumerate() {
                if apart & (1 << i) != 0 {
                    *o = one(aa[i], bb[i]);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The normal as `rng` computes it one at a time, with libm.
    fn libm_normal(a: f64, b: f64) -> f64 {
        (-2.0 * libm::log(1.0 - a)).sqrt() * libm::cos(std::f64::consts::TAU * b)
    }

    /// A value that libm's normal never gives, to see which lanes took `one`.
    fn marked(_: f64, _: f64) -> f64 {
        1e300
    }

    /// Four lanes of uniforms from words `low | high << 32`, and the uniforms themselves.
    fn lanes_of(words: [u64; 4]) -> (__m256d, [f64; 4]) {
        let low: [u32; 4] = words.map(|w| w as u32);
        let high: [u32; 4] = words.map(|w| (w >> 32) as u32);
        // SAFETY: the tests run only where AVX2 is detected.
        let v = unsafe {
            uniforms(
                _mm_loadu_si128(low.as_ptr() as *const __m128i),
                _mm_loadu_si128(high.as_ptr() as *const __m128i),
            )
        };
        let mut u = [0.0; 4];
        // SAFETY: as above.
        unsafe { _mm256_storeu_pd(u.as_mut_ptr(), v) };
        (v, u)
    }

    /// SplitMix64 words.
    fn words(state: &mut u64) -> [u64; 4] {
        std::array::from_fn(|_| {
            *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = *state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        })
    }

    /// The lanes' uniforms are `rng::to_uniform`'s, and their normals libm's bits, over a million
    /// random words and the words at libm's thresholds (a = 0, tiny angles, angles at and near
    /// each multiple of pi/2 that `cos_quadrant` sets apart), which take `one`, and only they.
    #[test]
    fn four_lanes_give_libms_normals_bit_for_bit() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        let check = |wa: [u64; 4], wb: [u64; 4]| {
            let ((a, ua), (b, ub)) = (lanes_of(wa), lanes_of(wb));
            for i in 0..4 {
                let want = |w: u64| (w >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
                assert_eq!(
                    ua[i].to_bits(),
                    want(wa[i]).to_bits(),
                    "uniform {:x}",
                    wa[i]
                );
                assert_eq!(
                    ub[i].to_bits(),
                    want(wb[i]).to_bits(),
                    "uniform {:x}",
                    wb[i]
                );
            }
            // SAFETY: AVX2 was detected.
            let (z, m) = unsafe { (normals(a, b, libm_normal), normals(a, b, marked)) };
            for i in 0..4 {
                let want = libm_normal(ua[i], ub[i]);
                assert_eq!(z[i].to_bits(), want.to_bits(), "a {} b {}", ua[i], ub[i]);
                // A lane that took `one` must be one the scalar pair sets apart too.
                if m[i] == 1e300 {
                    let lone =
                        super::super::box_muller::normal_pair([ua[i], 0.5], [ub[i], 0.3], marked);
                    assert_eq!(lone[0], 1e300, "a {} b {} set apart", ua[i], ub[i]);
                }
            }
        };
        let mut state = 11u64;
        for _ in 0..250_000 {
            check(words(&mut state), words(&mut state));
        }
        // Words whose uniform b gives angles at libm's thresholds, and a = 0.
        let mut special = vec![0u64, 1 << 11, 1 << 20, 1 << 40, u64::MAX];
        for k in 1..=4u32 {
            let b = f64::from(k) / 4.0;
            let w = ((b * (1u64 << 53) as f64) as u64) << 11;
            for d in -3i64..=3 {
                special.push(w.wrapping_add((d << 11) as u64));
                special.push(w.wrapping_add((d << 40) as u64));
            }
        }
        for (i, &s) in special.iter().enumerate() {
            let other = words(&mut state);
            check([s, other[1], 0, s], [other[2], s, s, 0]);
            check(
                [other[0], s, s, 0],
                [s, other[3], 0, s.rotate_left(i as u32)],
            );
        }
    }

    /// Eight lanes of blocks: every entity's normals are its own stream's, whatever the number
    /// of entities and normals (compared in `rng`'s tests against one stream at a time).
    #[test]
    fn lanes_past_the_entities_write_nothing() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        for n in 1..=LANES {
            let entities: Vec<u64> = (0..n as u64).map(|e| e * 0x9e37_79b9).collect();
            let mut out = vec![7.0; LANES * 9];
            // SAFETY: AVX2 was detected.
            unsafe { first_normals_avx2((1, 2, 3), &entities, 9, &mut out, libm_normal) };
            assert!(out[..n * 9].iter().all(|z| z.abs() < 10.0), "{n} entities");
            assert!(out[n * 9..].iter().all(|&z| z == 7.0), "{n} entities");
        }
    }
}
