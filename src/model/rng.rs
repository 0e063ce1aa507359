//! Keyed random streams: every draw comes from a ChaCha8 stream whose key is
//! (seed, replication, entity, period, purpose), so a draw never depends on the order in which
//! replications, threads or shards run, and two configurations see the same draw for the same
//! CCG, period and purpose (common random numbers).

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

/// What a draw is for; part of the stream key so that different uses never share numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Purpose {
    /// A CCG's preference weights.
    Preferences = 1,
    /// A CCG's demand multiplier for a service.
    Demand = 2,
    /// A provider's quality for a service.
    Quality = 3,
    /// A provider's standards scores.
    Standards = 4,
    /// A CCG's choice of supplier for a service.
    Choice = 5,
    /// A CCG's intention, restated after a checkpoint.
    Intention = 6,
    /// Generating the market's CCGs.
    Generation = 7,
    /// Calibration: proposing, perturbing and seeding one particle's attempt.
    Calibration = 8,
    /// Posterior prediction: the parameter vector a replication draws.
    Posterior = 9,
}

/// A stable 64-bit key for an entity id (FNV-1a), so streams follow the id, not its position.
pub fn entity_key(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The key of the stream for (seed, replication, entity, period, purpose, sub).
fn key(
    seed: u64,
    replication: u64,
    entity: u64,
    period: u32,
    purpose: Purpose,
    sub: u32,
) -> [u8; 32] {
    let mut key = [0u8; 32];
    key[0..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&replication.to_le_bytes());
    key[16..24].copy_from_slice(&entity.to_le_bytes());
    let tail = (u64::from(period) << 40) ^ (u64::from(purpose as u32) << 32) ^ u64::from(sub);
    key[24..32].copy_from_slice(&tail.to_le_bytes());
    key
}

/// The stream for one key. `sub` separates draws of the same purpose (e.g. the service index).
pub fn stream(
    seed: u64,
    replication: u64,
    entity: u64,
    period: u32,
    purpose: Purpose,
    sub: u32,
) -> ChaCha8Rng {
    ChaCha8Rng::from_seed(key(seed, replication, entity, period, purpose, sub))
}

/// The first `out.len()` uniforms of the stream [`stream`] gives for this key, in order: the
/// same numbers as calling [`uniform`] on it that many times, computed block by block without
/// the generator (which computes four blocks at a time, where a choice needs one).
pub fn first_uniforms(
    seed: u64,
    replication: u64,
    entity: u64,
    period: u32,
    purpose: Purpose,
    sub: u32,
    out: &mut [f64],
) {
    let key = key(seed, replication, entity, period, purpose, sub);
    for (block, chunk) in out.chunks_mut(8).enumerate() {
        let words = chacha8_block(&key, block as u64);
        for (j, u) in chunk.iter_mut().enumerate() {
            *u = to_uniform(u64::from(words[2 * j]) | (u64::from(words[2 * j + 1]) << 32));
        }
    }
}

/// The first `out.len()` standard normals of the stream for this key: the same numbers as
/// calling [`standard_normal`] on it that many times (two 64-bit words each).
pub fn first_normals(
    seed: u64,
    replication: u64,
    entity: u64,
    period: u32,
    purpose: Purpose,
    sub: u32,
    out: &mut [f64],
) {
    let key = key(seed, replication, entity, period, purpose, sub);
    for (block, chunk) in out.chunks_mut(4).enumerate() {
        let words = chacha8_block(&key, block as u64);
        for (j, z) in chunk.iter_mut().enumerate() {
            let w = |i: usize| u64::from(words[i]) | (u64::from(words[i + 1]) << 32);
            *z = normal_from(to_uniform(w(4 * j)), to_uniform(w(4 * j + 2)));
        }
    }
}

/// rand's `StandardUniform` for f64 from one 64-bit word: its 53 high bits, times 2^-53.
#[inline(always)]
fn to_uniform(x: u64) -> f64 {
    (x >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Box-Muller from two uniforms in [0, 1), as [`standard_normal`] takes them.
#[inline(always)]
fn normal_from(a: f64, b: f64) -> f64 {
    // 1 - a lies in (0, 1], so the logarithm is finite.
    let u1 = 1.0 - a;
    (-2.0 * libm::log(u1)).sqrt() * libm::cos(std::f64::consts::TAU * b)
}

/// Block `counter` of the ChaCha8 keystream for a 256-bit key with a zero nonce: words
/// `16 counter .. 16 counter + 16` of what a `ChaCha8Rng` seeded with that key returns.
fn chacha8_block(key: &[u8; 32], counter: u64) -> [u32; 16] {
    let mut input = [0u32; 16];
    input[12] = counter as u32;
    input[13] = (counter >> 32) as u32;
    input[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
    for (w, b) in input[4..12].iter_mut().zip(key.chunks_exact(4)) {
        *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    #[cfg(target_arch = "x86_64")]
    {
        chacha8_rows_sse2(&input)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        chacha8_scalar(&input)
    }
}

/// ChaCha8 of one input block, a row of four words per SSE2 register (the x86-64 baseline).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn chacha8_rows_sse2(input: &[u32; 16]) -> [u32; 16] {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86-64 baseline; loads and stores are unaligned ones of
    // arrays of exactly 16 words.
    unsafe {
        macro_rules! rotl {
            ($x:expr, $n:literal) => {
                _mm_or_si128(_mm_slli_epi32($x, $n), _mm_srli_epi32($x, 32 - $n))
            };
        }
        let p = input.as_ptr() as *const __m128i;
        let (a0, b0, c0, d0) = (
            _mm_loadu_si128(p),
            _mm_loadu_si128(p.add(1)),
            _mm_loadu_si128(p.add(2)),
            _mm_loadu_si128(p.add(3)),
        );
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        macro_rules! quarter {
            () => {
                a = _mm_add_epi32(a, b);
                d = _mm_xor_si128(d, a);
                d = rotl!(d, 16);
                c = _mm_add_epi32(c, d);
                b = _mm_xor_si128(b, c);
                b = rotl!(b, 12);
                a = _mm_add_epi32(a, b);
                d = _mm_xor_si128(d, a);
                d = rotl!(d, 8);
                c = _mm_add_epi32(c, d);
                b = _mm_xor_si128(b, c);
                b = rotl!(b, 7);
            };
        }
        for _ in 0..4 {
            // Columns, then diagonals (rows turned so the diagonals line up, then back).
            quarter!();
            b = _mm_shuffle_epi32(b, 0x39);
            c = _mm_shuffle_epi32(c, 0x4e);
            d = _mm_shuffle_epi32(d, 0x93);
            quarter!();
            b = _mm_shuffle_epi32(b, 0x93);
            c = _mm_shuffle_epi32(c, 0x4e);
            d = _mm_shuffle_epi32(d, 0x39);
        }
        let mut out = [0u32; 16];
        let q = out.as_mut_ptr() as *mut __m128i;
        _mm_storeu_si128(q, _mm_add_epi32(a, a0));
        _mm_storeu_si128(q.add(1), _mm_add_epi32(b, b0));
        _mm_storeu_si128(q.add(2), _mm_add_epi32(c, c0));
        _mm_storeu_si128(q.add(3), _mm_add_epi32(d, d0));
        out
    }
}

/// ChaCha8 of one input block, word by word.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn chacha8_scalar(input: &[u32; 16]) -> [u32; 16] {
    let mut x = *input;
    let quarter = |x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize| {
        x[a] = x[a].wrapping_add(x[b]);
        x[d] = (x[d] ^ x[a]).rotate_left(16);
        x[c] = x[c].wrapping_add(x[d]);
        x[b] = (x[b] ^ x[c]).rotate_left(12);
        x[a] = x[a].wrapping_add(x[b]);
        x[d] = (x[d] ^ x[a]).rotate_left(8);
        x[c] = x[c].wrapping_add(x[d]);
        x[b] = (x[b] ^ x[c]).rotate_left(7);
    };
    // Eight rounds: four double rounds of columns then diagonals.
    for _ in 0..4 {
        quarter(&mut x, 0, 4, 8, 12);
        quarter(&mut x, 1, 5, 9, 13);
        quarter(&mut x, 2, 6, 10, 14);
        quarter(&mut x, 3, 7, 11, 15);
        quarter(&mut x, 0, 5, 10, 15);
        quarter(&mut x, 1, 6, 11, 12);
        quarter(&mut x, 2, 7, 8, 13);
        quarter(&mut x, 3, 4, 9, 14);
    }
    for (w, i) in x.iter_mut().zip(input) {
        *w = w.wrapping_add(*i);
    }
    x
}

/// A uniform draw in [0, 1).
pub fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    rng.random::<f64>()
}

/// A standard normal draw (Box-Muller), written out so results do not depend on a distribution crate;
/// `libm` gives the same bits on every platform, where `f64::ln` and `cos` may not.
pub fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let a = rng.random::<f64>();
    let b = rng.random::<f64>();
    normal_from(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_gives_same_stream_and_other_keys_differ() {
        let a = uniform(&mut stream(1, 2, 3, 4, Purpose::Choice, 0));
        let b = uniform(&mut stream(1, 2, 3, 4, Purpose::Choice, 0));
        let c = uniform(&mut stream(1, 2, 3, 4, Purpose::Choice, 1));
        let d = uniform(&mut stream(1, 3, 3, 4, Purpose::Choice, 0));
        assert_eq!(a.to_bits(), b.to_bits());
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn first_uniforms_are_the_streams_first_draws() {
        let mut keys = stream(3, 0, 0, 0, Purpose::Choice, 0);
        for n in 0..3000u64 {
            let (seed, rep, entity) = (keys.random::<u64>(), n, keys.random::<u64>());
            let period = (n % 40) as u32;
            let purpose = [Purpose::Choice, Purpose::Intention, Purpose::Demand][n as usize % 3];
            let sub = (n % 5) as u32;
            let len = (n % 37) as usize;
            let mut fast = vec![0.0; len];
            first_uniforms(seed, rep, entity, period, purpose, sub, &mut fast);
            let mut r = stream(seed, rep, entity, period, purpose, sub);
            for (i, &u) in fast.iter().enumerate() {
                let want = uniform(&mut r);
                assert_eq!(u.to_bits(), want.to_bits(), "key {n}, draw {i}");
            }
            first_normals(seed, rep, entity, period, purpose, sub, &mut fast);
            let mut r = stream(seed, rep, entity, period, purpose, sub);
            for (i, &z) in fast.iter().enumerate() {
                let want = standard_normal(&mut r);
                assert_eq!(z.to_bits(), want.to_bits(), "key {n}, normal {i}");
            }
        }
    }

    #[test]
    fn both_chacha8_block_functions_agree() {
        let mut r = stream(4, 0, 0, 0, Purpose::Choice, 0);
        for _ in 0..2000 {
            let input: [u32; 16] = std::array::from_fn(|_| r.random::<u32>());
            #[cfg(target_arch = "x86_64")]
            assert_eq!(chacha8_rows_sse2(&input), chacha8_scalar(&input));
            #[cfg(not(target_arch = "x86_64"))]
            assert_eq!(chacha8_scalar(&input), chacha8_scalar(&input));
        }
    }

    #[test]
    fn standard_normal_has_mean_zero_and_unit_variance() {
        let mut r = stream(9, 0, 0, 0, Purpose::Demand, 0);
        let n = 100_000;
        let xs: Vec<f64> = (0..n).map(|_| standard_normal(&mut r)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "variance {var}");
    }
}
