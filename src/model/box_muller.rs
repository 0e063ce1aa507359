//! Box-Muller normals two at a time, for the first normals of a replication's streams: the same
//! bits as `sqrt(-2 log(1 - a)) cos(2 pi b)` with `libm`'s `log` and `cos` one at a time. The
//! functions below are libm's algorithms (musl's `log`, `cos`, `__rem_pio2`, `__cos`, `__sin`)
//! written once over [`Lanes`], with the same operations in the same order, so the two lanes of
//! an SSE2 register give each lane's scalar bits (x86-64 has SSE2 and no fused multiply-add by
//! default). Arguments outside the common path (cos near a multiple of pi/2, tiny angles,
//! `a = 0`) go to libm itself.

use std::ops::{Add, Div, Mul, Sub};

use super::libm_log::{LG1, LG2, LG3, LG4, LG5, LG6, LG7, LN2_HI, LN2_LO};
// libm's `__cos` and `__sin` constants (k_cos.rs, k_sin.rs).
const C1: f64 = f64::from_bits(0x3fa5_5555_5555_554c);
const C2: f64 = f64::from_bits(0xbf56_c16c_16c1_5177);
const C3: f64 = f64::from_bits(0x3efa_01a0_19cb_1590);
const C4: f64 = f64::from_bits(0xbe92_7e4f_809c_52ad);
const C5: f64 = f64::from_bits(0x3e21_ee9e_bdb4_b1c4);
const C6: f64 = f64::from_bits(0xbda8_fae9_be88_38d4);
const S1: f64 = f64::from_bits(0xbfc5_5555_5555_5549);
const S2: f64 = f64::from_bits(0x3f81_1111_1110_f8a6);
const S3: f64 = f64::from_bits(0xbf2a_01a0_19c1_61d5);
const S4: f64 = f64::from_bits(0x3ec7_1de3_57b1_fe7d);
const S5: f64 = f64::from_bits(0xbe5a_e5e6_8a2b_9ceb);
const S6: f64 = f64::from_bits(0x3de5_d93a_5acf_d57c);
// libm's `__rem_pio2` constants (rem_pio2.rs): pi/2 in two parts.
pub(super) const PIO2_1: f64 = f64::from_bits(0x3ff9_21fb_5440_0000);
pub(super) const PIO2_1T: f64 = f64::from_bits(0x3dd0_b461_1a62_6331);
/// `n` times each part for the quadrants `n` = 0 to 4, as `__rem_pio2` writes them (`2.0 *
/// PIO2_1` and so on, computed in f64 here as there).
const PIO2_1_TIMES: [f64; 5] = [0.0, PIO2_1, 2.0 * PIO2_1, 3.0 * PIO2_1, 4.0 * PIO2_1];
const PIO2_1T_TIMES: [f64; 5] = [0.0, PIO2_1T, 2.0 * PIO2_1T, 3.0 * PIO2_1T, 4.0 * PIO2_1T];

/// What libm's formulas need of a number type: IEEE `+ - * /` and constants.
pub(super) trait Lanes:
    Copy + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self>
{
    fn splat(x: f64) -> Self;
}

impl Lanes for f64 {
    fn splat(x: f64) -> f64 {
        x
    }
}

/// libm `log`'s result from the reduced `f = x / 2^k - 1` and `dk = k`.
#[inline(always)]
fn log_reduced<T: Lanes>(f: T, dk: T) -> T {
    let c = T::splat;
    let hfsq = c(0.5) * f * f;
    let s = f / (c(2.0) + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (c(LG2) + w * (c(LG4) + w * c(LG6)));
    let t2 = z * (c(LG1) + w * (c(LG3) + w * (c(LG5) + w * c(LG7))));
    let r = t2 + t1;
    s * (hfsq + r) + dk * c(LN2_LO) - hfsq + f + dk * c(LN2_HI)
}

/// libm's `__cos(x, y)`.
#[inline(always)]
fn k_cos<T: Lanes>(x: T, y: T) -> T {
    let c = T::splat;
    let z = x * x;
    let w = z * z;
    let r = z * (c(C1) + z * (c(C2) + z * c(C3))) + w * w * (c(C4) + z * (c(C5) + z * c(C6)));
    let hz = c(0.5) * z;
    let w = c(1.0) - hz;
    w + (((c(1.0) - w) - hz) + (z * r - x * y))
}

/// libm's `__sin(x, y, 1)`.
#[inline(always)]
fn k_sin<T: Lanes>(x: T, y: T) -> T {
    let c = T::splat;
    let z = x * x;
    let w = z * z;
    let r = c(S2) + z * (c(S3) + z * c(S4)) + z * w * (c(S5) + z * c(S6));
    let v = z * x;
    x - ((z * (c(0.5) * y - v * r) - y) - v * c(S1))
}

/// `log(u)`'s reduction for `u` in (0, 1) (positive, normal, not 1): `(f, k)` for
/// [`log_reduced`], as libm takes them from the bits.
#[inline(always)]
fn log_reduce(u: f64) -> (f64, f64) {
    let ui = u.to_bits();
    let hx = (ui >> 32) as u32 + (0x3ff0_0000 - 0x3fe6_a09e);
    let k = (hx >> 20) as i32 - 0x3ff;
    let hx = (hx & 0x000f_ffff) + 0x3fe6_a09e;
    let x = f64::from_bits((u64::from(hx) << 32) | (ui & 0xffff_ffff));
    (x - 1.0, f64::from(k))
}

/// `log(u)` takes libm's common path: `u` positive, normal, finite and not 1.
#[inline(always)]
fn log_is_common(u: f64) -> bool {
    let hx = (u.to_bits() >> 32) as u32;
    (0x0010_0000..0x7ff0_0000).contains(&hx) & (u != 1.0)
}

/// The quadrant `n` (0 to 4) in which libm's `cos` reduces `x`, for `x` in [0, 9 pi / 4] off
/// the cases it treats apart; `None` for those (tiny, near a multiple of pi/2, beyond, or a set
/// sign), which libm's own `cos` then takes.
#[inline(always)]
fn cos_quadrant(x: f64) -> Option<usize> {
    let bits = x.to_bits();
    let ix = (bits >> 32) as u32;
    let n = usize::from(ix > 0x3fe9_21fb)
        + usize::from(ix > 0x4002_d97c)
        + usize::from(ix > 0x400f_6a7a)
        + usize::from(ix > 0x4015_fdbc);
    // `|` and `&`, not `||` and `&&`: no branches to mispredict on random angles.
    let apart = !(0x3e46_a09e..=0x401c_463b).contains(&ix)
        | ((n == 1 || n == 2) & (ix & 0xfffff == 0x921fb))
        | (ix == 0x4012_d97c)
        | (ix == 0x4019_21fb);
    (!apart).then_some(n)
}

/// What the normal is made of, where [`log_is_common`] and [`cos_quadrant`] hold: `-2 log u`
/// (from its reduction `f`, `dk`), and `__cos` and `__sin` of the reduced angle `y0 + y1`.
#[inline(always)]
pub(super) fn polar<T: Lanes>(f: T, dk: T, y0: T, y1: T) -> (T, T, T) {
    (
        T::splat(-2.0) * log_reduced(f, dk),
        k_cos(y0, y1),
        k_sin(y0, y1),
    )
}

/// `__rem_pio2` of `x` in quadrant `n` (1 to 4; 0 leaves `x` as it is): `(y0, y1)`.
#[inline(always)]
fn reduce(x: f64, n: usize) -> (f64, f64) {
    let z = x - PIO2_1_TIMES[n];
    let y0 = z - PIO2_1T_TIMES[n];
    (y0, (z - y0) - PIO2_1T_TIMES[n])
}

/// Two Box-Muller normals from uniforms `a` and `b` in [0, 1): each
/// `sqrt(-2 log(1 - a)) cos(2 pi b)` with libm's bits.
#[inline]
pub(super) fn normal_pair(a: [f64; 2], b: [f64; 2], one: impl Fn(f64, f64) -> f64) -> [f64; 2] {
    let u = [1.0 - a[0], 1.0 - a[1]];
    let t = [std::f64::consts::TAU * b[0], std::f64::consts::TAU * b[1]];
    let (n0, n1) = match (cos_quadrant(t[0]), cos_quadrant(t[1])) {
        (Some(n0), Some(n1)) if log_is_common(u[0]) && log_is_common(u[1]) => (n0, n1),
        _ => return [one(a[0], b[0]), one(a[1], b[1])],
    };
    let ((f0, k0), (f1, k1)) = (log_reduce(u[0]), log_reduce(u[1]));
    let ((y00, y10), (y01, y11)) = (reduce(t[0], n0), reduce(t[1], n1));
    let [m0, m1] = lanes::polar_pair([f0, f1], [k0, k1], [y00, y01], [y10, y11]);
    // cos by quadrant: __cos, -__sin, -__cos, __sin; chosen on the bits, without a branch (the
    // quadrant is random, so a branch would be mispredicted half the time). Negation is the
    // sign bit, as `-v` is.
    let pick = |(r2, c, s): (f64, f64, f64), n: usize| {
        let sine = 0u64.wrapping_sub((n & 1) as u64);
        let sign = (((n + 1) & 2) as u64) << 62;
        let v = f64::from_bits(((c.to_bits() & !sine) | (s.to_bits() & sine)) ^ sign);
        r2.sqrt() * v
    };
    [pick(m0, n0), pick(m1, n1)]
}

#[cfg(target_arch = "x86_64")]
mod lanes {
    //! Two f64 lanes of an SSE2 register as [`Lanes`].

    use std::arch::x86_64::*;
    use std::ops::{Add, Div, Mul, Sub};

    use super::{Lanes, polar};

    #[derive(Clone, Copy)]
    pub(super) struct Pd(__m128d);

    // SAFETY (every block below): SSE2 is part of the x86-64 baseline.
    macro_rules! op {
        ($trait:ident, $f:ident, $intrinsic:ident) => {
            impl $trait for Pd {
                type Output = Pd;
                #[inline(always)]
                fn $f(self, o: Pd) -> Pd {
                    Pd(unsafe { $intrinsic(self.0, o.0) })
                }
            }
        };
    }
    op!(Add, add, _mm_add_pd);
    op!(Sub, sub, _mm_sub_pd);
    op!(Mul, mul, _mm_mul_pd);
    op!(Div, div, _mm_div_pd);

    impl Lanes for Pd {
        #[inline(always)]
        fn splat(x: f64) -> Pd {
            Pd(unsafe { _mm_set1_pd(x) })
        }
    }

    fn load(v: [f64; 2]) -> Pd {
        Pd(unsafe { _mm_set_pd(v[1], v[0]) })
    }

    fn store(v: Pd) -> [f64; 2] {
        let mut out = [0.0; 2];
        unsafe { _mm_storeu_pd(out.as_mut_ptr(), v.0) };
        out
    }

    /// [`polar`] of two lanes: per lane `(-2 log u, __cos, __sin)`.
    #[inline(always)]
    pub(super) fn polar_pair(
        f: [f64; 2],
        dk: [f64; 2],
        y0: [f64; 2],
        y1: [f64; 2],
    ) -> [(f64, f64, f64); 2] {
        let (r2, c, s) = polar(load(f), load(dk), load(y0), load(y1));
        let (r2, c, s) = (store(r2), store(c), store(s));
        [(r2[0], c[0], s[0]), (r2[1], c[1], s[1])]
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod lanes {
    //! One lane at a time where SSE2 is not there.

    use super::polar;

    /// [`polar`] of two values: per value `(-2 log u, __cos, __sin)`.
    pub(super) fn polar_pair(
        f: [f64; 2],
        dk: [f64; 2],
        y0: [f64; 2],
        y1: [f64; 2],
    ) -> [(f64, f64, f64); 2] {
        [0, 1].map(|i| polar(f[i], dk[i], y0[i], y1[i]))
    }
}

#[cfg(test)]
mod tests {
    use super::normal_pair;
    use std::f64::consts::TAU;

    /// Uniforms as the streams give them (multiples of 2^-53 in [0, 1)), from SplitMix64: the
    /// tests need no stream of `rng`, which uses this file.
    struct Uniforms(u64);

    fn uniform(r: &mut Uniforms) -> f64 {
        r.0 = r.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = r.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The normal as `rng` computes it one at a time, with libm.
    fn libm_normal(a: f64, b: f64) -> f64 {
        (-2.0 * libm::log(1.0 - a)).sqrt() * libm::cos(TAU * b)
    }

    /// A fallback that is not libm's, so a pair sent to it shows.
    fn marked(_: f64, _: f64) -> f64 {
        f64::NAN
    }

    fn same(a: [f64; 2], b: [f64; 2]) {
        let got = normal_pair(a, b, libm_normal);
        for i in 0..2 {
            let want = libm_normal(a[i], b[i]);
            assert!(
                got[i].to_bits() == want.to_bits(),
                "a = {:e}, b = {:e}: {:e}, libm gives {want:e}",
                a[i],
                b[i],
                got[i]
            );
        }
    }

    /// Uniforms as the streams give them: multiples of 2^-53 in [0, 1).
    fn grid(i: u64) -> f64 {
        (i % (1 << 53)) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn normal_pairs_have_libms_bits_on_random_uniforms() {
        let mut r = Uniforms(11);
        for _ in 0..1_000_000 {
            let (a, b) = (
                [uniform(&mut r), uniform(&mut r)],
                [uniform(&mut r), uniform(&mut r)],
            );
            same(a, b);
        }
    }

    #[test]
    fn normal_pairs_have_libms_bits_at_every_branch_of_log_and_cos() {
        let step = 1.0 / (1u64 << 53) as f64;
        let mut angles = Vec::new();
        // Angles near each multiple of pi/2 (where libm reduces apart), tiny and largest.
        for k in 0..=4u64 {
            for i in 0..2000u64 {
                let at = k as f64 / 4.0;
                angles.extend([at + i as f64 * step, at - i as f64 * step]);
            }
        }
        // Angles at libm's thresholds on the high word, with low words around the edges.
        for high in [
            0x3e46_a09e_u64,
            0x3fe9_21fb,
            0x4002_d97c,
            0x400f_6a7a,
            0x4015_fdbc,
            0x401c_463b,
            0x3ff9_21fb,
            0x4009_21fb,
            0x4012_d97c,
            0x4019_21fb,
        ] {
            for h in [high - 1, high, high + 1] {
                for low in [0u64, 1, 0x5444_2d18, 0x8000_0000, 0xffff_fffe, 0xffff_ffff] {
                    angles.push(f64::from_bits((h << 32) | low) / TAU);
                }
            }
        }
        let mut magnitudes = Vec::new();
        // 1 - a at 1 (a = 0), the smallest, near sqrt(2)/2 (log's reduction) and powers of 2.
        for i in 0..2000u64 {
            let d = i as f64 * step;
            for at in [0.0, 1.0 - std::f64::consts::FRAC_1_SQRT_2, 0.5, 0.75, 1.0] {
                magnitudes.extend([at + d, at - d]);
            }
        }
        angles.retain(|b| (0.0..1.0).contains(b));
        magnitudes.retain(|a| (0.0..1.0).contains(a));
        let mut r = Uniforms(12);
        for (i, &b) in angles.iter().enumerate() {
            let a = magnitudes[i % magnitudes.len()];
            same([a, uniform(&mut r)], [b, uniform(&mut r)]);
            same([uniform(&mut r), a], [uniform(&mut r), b]);
        }
        for (i, &a) in magnitudes.iter().enumerate() {
            let b = angles[i % angles.len()];
            same([a, grid(i as u64 * 7919)], [b, grid(i as u64 * 104_729)]);
        }
        same([0.0, 0.0], [0.0, 0.0]);
    }

    #[test]
    fn common_pairs_take_the_lanes_and_the_rest_take_libm() {
        // Two ordinary pairs are computed in the lanes, not handed to the fallback.
        assert!(!normal_pair([0.3, 0.6], [0.1, 0.7], marked)[0].is_nan());
        // a = 0 (log of 1), b = 0 (cos of 0) and b = 1/4 (cos near pi/2) are libm's.
        for (a, b) in [(0.0, 0.3), (0.3, 0.0), (0.3, 0.25)] {
            assert!(normal_pair([a, 0.5], [b, 0.5], marked)[0].is_nan());
        }
    }
}
