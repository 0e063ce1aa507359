//! The arithmetic at the bottom of every choice: `exp`, written out so the compiler can inline it
//! into the choice loop, and the bare logit kernel that `csmarket bench` measures the engine
//! against (issue 11: a replication should cost no more per decision than its decisions made
//! naively).

use std::hint::black_box;
use std::time::Instant;

use crate::model::rng::{self, Purpose};

const LN2HI: f64 = 6.931_471_803_691_238_164_90e-1;
const LN2LO: f64 = 1.908_214_929_270_587_700_02e-10;
const INVLN2: f64 = 1.442_695_040_888_963_387_00e0;
const P1: f64 = 1.666_666_666_666_660_190_37e-1;
const P2: f64 = -2.777_777_777_701_559_338_42e-3;
const P3: f64 = 6.613_756_321_437_934_361_17e-5;
const P4: f64 = -1.653_390_220_546_525_153_90e-6;
const P5: f64 = 4.138_136_797_057_238_460_39e-8;

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
        hi = x - k as f64 * LN2HI;
        lo = k as f64 * LN2LO;
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
            u[i] = super::choice::utility(w, price, quality, close, i == current);
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
/// only ever slows it).
pub fn bare_kernel_ns(decisions: u64, rounds: u32) -> f64 {
    let decisions = decisions.max(1);
    // Warm the caches and the branch predictors first.
    black_box(bare_kernel(decisions.min(10_000)));
    (0..rounds.max(1))
        .map(|_| {
            let t = Instant::now();
            black_box(bare_kernel(decisions));
            t.elapsed().as_secs_f64() * 1e9 / decisions as f64
        })
        .fold(f64::INFINITY, f64::min)
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
    fn bare_kernel_picks_every_option() {
        // Over many decisions each option is picked at some point: the kernel really chooses.
        let picks: std::collections::BTreeSet<usize> = (1..200).map(|n| bare_kernel(n)).collect();
        assert!(picks.len() >= 3, "{picks:?}");
        assert!(bare_kernel_ns(1000, 1) > 0.0);
    }
}
