//! Keyed random streams: every draw comes from a ChaCha8 stream whose key is
//! (seed, replication, entity, period, purpose), so a draw never depends on the order in which
//! replications, threads or shards run, and two configurations see the same draw for the same
//! CCG, period and purpose (common random numbers).

use rand::rngs::ChaCha8Rng;

#[cfg(target_arch = "x86_64")]
use super::draws8;
use super::{box_muller, chacha8x8};
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
    key[24..32].copy_from_slice(&key_tail(period, purpose, sub).to_le_bytes());
    key
}

/// The key's last 64 bits: period, purpose and sub.
fn key_tail(period: u32, purpose: Purpose, sub: u32) -> u64 {
    (u64::from(period) << 40) ^ (u64::from(purpose as u32) << 32) ^ u64::from(sub)
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
        uniforms_from_block(&chacha8_block(&key, block as u64), chunk);
    }
}

/// The first `per` uniforms of each entity's stream, for up to [`ENTITIES`] entities:
/// `out[k * per..(k + 1) * per]` is what [`first_uniforms`] gives for `entities[k]` (the same
/// bits), the blocks of all of them computed together, and the uniforms taken from them four
/// at a time, where the processor has AVX2.
#[allow(clippy::too_many_arguments)]
pub fn first_uniforms_of(
    seed: u64,
    replication: u64,
    entities: &[u64],
    period: u32,
    purpose: Purpose,
    sub: u32,
    per: usize,
    out: &mut [f64],
) {
    assert!(out.len() >= entities.len() * per, "{per} each");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        let tail = key_tail(period, purpose, sub);
        // SAFETY: AVX2 was detected.
        unsafe { draws8::first_uniforms_avx2((seed, replication, tail), entities, per, out) };
        return;
    }
    let streams = (seed, replication, period, purpose, sub);
    each_block_of(streams, entities, per.div_ceil(8), |k, block, words| {
        let (first, last) = (8 * block, (8 * block + 8).min(per));
        uniforms_from_block(words, &mut out[k * per + first..k * per + last]);
    });
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
        normals_from_block(&chacha8_block(&key, block as u64), chunk);
    }
}

/// Entities [`first_uniforms_of`] and [`first_normals_of`] draw for in one call at most.
pub const ENTITIES: usize = chacha8x8::LANES;

/// The first `per` standard normals of each entity's stream, for up to [`ENTITIES`] entities:
/// `out[k * per..(k + 1) * per]` is what [`first_normals`] gives for `entities[k]` (the same
/// bits), the blocks of all of them computed together, and their normals four at a time, where
/// the processor has AVX2.
#[allow(clippy::too_many_arguments)]
pub fn first_normals_of(
    seed: u64,
    replication: u64,
    entities: &[u64],
    period: u32,
    purpose: Purpose,
    sub: u32,
    per: usize,
    out: &mut [f64],
) {
    assert!(out.len() >= entities.len() * per, "{per} each");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        let tail = key_tail(period, purpose, sub);
        // SAFETY: AVX2 was detected.
        unsafe {
            draws8::first_normals_avx2((seed, replication, tail), entities, per, out, normal_from)
        };
        return;
    }
    let streams = (seed, replication, period, purpose, sub);
    each_block_of(streams, entities, per.div_ceil(4), |k, block, words| {
        let (first, last) = (4 * block, (4 * block + 4).min(per));
        normals_from_block(words, &mut out[k * per + first..k * per + last]);
    });
}

/// Blocks `0..count` of the streams of up to [`ENTITIES`] entities (their seed, replication,
/// period, purpose and sub given once): `each(k, block, words)` for `entities[k]`, the eight
/// entities' blocks computed together.
#[inline(always)]
fn each_block_of(
    (seed, replication, period, purpose, sub): (u64, u64, u32, Purpose, u32),
    entities: &[u64],
    count: usize,
    mut each: impl FnMut(usize, usize, &[u32; 16]),
) {
    let n = entities.len();
    assert!(n <= ENTITIES, "{n} entities");
    let mut keys = [[0u8; 32]; ENTITIES];
    for (k, &e) in keys.iter_mut().zip(entities) {
        *k = key(seed, replication, e, period, purpose, sub);
    }
    let mut blocks = [[0u32; 16]; ENTITIES];
    for block in 0..count {
        chacha8_blocks(&keys[..n], block as u64, &mut blocks);
        for (k, words) in blocks[..n].iter().enumerate() {
            each(k, block, words);
        }
    }
}

/// Up to eight uniforms from one keystream block: uniform `j` takes words `2j` and `2j + 1`.
#[inline(always)]
fn uniforms_from_block(words: &[u32; 16], chunk: &mut [f64]) {
    for (j, u) in chunk.iter_mut().enumerate() {
        *u = to_uniform(u64::from(words[2 * j]) | (u64::from(words[2 * j + 1]) << 32));
    }
}

/// Up to four normals from one keystream block: normal `j` takes words `4j..4j+4`.
#[inline(always)]
fn normals_from_block(words: &[u32; 16], chunk: &mut [f64]) {
    let w = |i: usize| u64::from(words[i]) | (u64::from(words[i + 1]) << 32);
    // Two at a time where the block gives two.
    let last = chunk.len() & !1;
    let mut pairs = chunk.chunks_exact_mut(2);
    for (p, pair) in (&mut pairs).enumerate() {
        let j = 2 * p;
        let a = [to_uniform(w(4 * j)), to_uniform(w(4 * j + 4))];
        let b = [to_uniform(w(4 * j + 2)), to_uniform(w(4 * j + 6))];
        pair.copy_from_slice(&box_muller::normal_pair(a, b, normal_from));
    }
    for z in pairs.into_remainder() {
        *z = normal_from(to_uniform(w(4 * last)), to_uniform(w(4 * last + 2)));
    }
}

/// Block `counter` of each key's keystream into `out` (at least as long as `keys`, at most
/// [`ENTITIES`] keys): eight at a time in AVX2 lanes where the processor has them. Where it has
/// them, [`first_uniforms_of`] and [`first_normals_of`] take their draws from the keystream's
/// registers (`draws8`) instead; this is their path without AVX2, and the test's word-for-word
/// look at the eight-lane keystream.
fn chacha8_blocks(keys: &[[u8; 32]], counter: u64, out: &mut [[u32; 16]]) {
    #[cfg(target_arch = "x86_64")]
    if keys.len() > 1 && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 was detected.
        unsafe { chacha8x8::blocks_avx2(keys, counter, out) };
        return;
    }
    for (k, o) in keys.iter().zip(out.iter_mut()) {
        *o = chacha8_block(k, counter);
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
    #[cfg(target_arch = "x86_64")]
    {
        chacha8_rows::<Sse2Row>(key, counter)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        chacha8_rows::<[u32; 4]>(key, counter)
    }
}

/// The one ChaCha8 block function, written a row of four state words at a time: each step is
/// the same on all four words (the columns, then the diagonals lined up by turning rows b, c
/// and d), so a row is one vector register where the target has them.
#[inline(always)]
fn chacha8_rows<R: ChaChaRow>(key: &[u8; 32], counter: u64) -> [u32; 16] {
    let word =
        |i: usize| u32::from_le_bytes([key[4 * i], key[4 * i + 1], key[4 * i + 2], key[4 * i + 3]]);
    let a0 = R::from_words([0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
    let b0 = R::from_words([word(0), word(1), word(2), word(3)]);
    let c0 = R::from_words([word(4), word(5), word(6), word(7)]);
    let d0 = R::from_words([counter as u32, (counter >> 32) as u32, 0, 0]);
    let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
    // Eight rounds: four double rounds of columns then diagonals.
    for _ in 0..4 {
        quarter_round(&mut a, &mut b, &mut c, &mut d);
        (b, c, d) = (b.turn::<1>(), c.turn::<2>(), d.turn::<3>());
        quarter_round(&mut a, &mut b, &mut c, &mut d);
        (b, c, d) = (b.turn::<3>(), c.turn::<2>(), d.turn::<1>());
    }
    let mut out = [0u32; 16];
    for (k, (row, row0)) in [(a, a0), (b, b0), (c, c0), (d, d0)].into_iter().enumerate() {
        out[4 * k..4 * k + 4].copy_from_slice(&row.add(row0).words());
    }
    out
}

/// The ChaCha quarter round on four columns (or diagonals) at once.
#[inline(always)]
fn quarter_round<R: ChaChaRow>(a: &mut R, b: &mut R, c: &mut R, d: &mut R) {
    *a = a.add(*b);
    *d = d.xor_rotate::<16, 16>(*a);
    *c = c.add(*d);
    *b = b.xor_rotate::<12, 20>(*c);
    *a = a.add(*b);
    *d = d.xor_rotate::<8, 24>(*a);
    *c = c.add(*d);
    *b = b.xor_rotate::<7, 25>(*c);
}

/// A row of four 32-bit words of the ChaCha state, and the word-wise steps the rounds take.
trait ChaChaRow: Copy {
    fn from_words(w: [u32; 4]) -> Self;
    fn words(self) -> [u32; 4];
    /// Word-wise wrapping sum.
    fn add(self, other: Self) -> Self;
    /// Word-wise `(self ^ other)` rotated left by `L` bits (`R` is `32 - L`).
    fn xor_rotate<const L: i32, const R: i32>(self, other: Self) -> Self;
    /// The row turned left by `K` words (1 to 3).
    fn turn<const K: usize>(self) -> Self;
}

/// Portable rows.
impl ChaChaRow for [u32; 4] {
    fn from_words(w: [u32; 4]) -> Self {
        w
    }
    fn words(self) -> [u32; 4] {
        self
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        std::array::from_fn(|i| self[i].wrapping_add(other[i]))
    }
    #[inline(always)]
    fn xor_rotate<const L: i32, const R: i32>(self, other: Self) -> Self {
        std::array::from_fn(|i| (self[i] ^ other[i]).rotate_left(L as u32))
    }
    #[inline(always)]
    fn turn<const K: usize>(self) -> Self {
        std::array::from_fn(|i| self[(i + K) % 4])
    }
}

/// A row in an SSE2 register (the x86-64 baseline).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Sse2Row(std::arch::x86_64::__m128i);

// SAFETY (every block below): SSE2 is part of the x86-64 baseline; the loads and stores are
// unaligned ones of arrays of exactly four words.
#[cfg(target_arch = "x86_64")]
impl ChaChaRow for Sse2Row {
    #[inline(always)]
    fn from_words(w: [u32; 4]) -> Self {
        use std::arch::x86_64::*;
        Sse2Row(unsafe { _mm_loadu_si128(w.as_ptr() as *const __m128i) })
    }
    #[inline(always)]
    fn words(self) -> [u32; 4] {
        use std::arch::x86_64::*;
        let mut w = [0u32; 4];
        unsafe { _mm_storeu_si128(w.as_mut_ptr() as *mut __m128i, self.0) };
        w
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        use std::arch::x86_64::*;
        Sse2Row(unsafe { _mm_add_epi32(self.0, other.0) })
    }
    #[inline(always)]
    fn xor_rotate<const L: i32, const R: i32>(self, other: Self) -> Self {
        use std::arch::x86_64::*;
        unsafe {
            let x = _mm_xor_si128(self.0, other.0);
            Sse2Row(_mm_or_si128(_mm_slli_epi32::<L>(x), _mm_srli_epi32::<R>(x)))
        }
    }
    #[inline(always)]
    fn turn<const K: usize>(self) -> Self {
        use std::arch::x86_64::*;
        // Lane i takes word (i + K) mod 4.
        Sse2Row(unsafe {
            match K {
                1 => _mm_shuffle_epi32::<0x39>(self.0),
                2 => _mm_shuffle_epi32::<0x4e>(self.0),
                _ => _mm_shuffle_epi32::<0x93>(self.0),
            }
        })
    }
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
    fn chacha8_block_is_the_generators_keystream() {
        let mut keys = stream(4, 0, 0, 0, Purpose::Choice, 0);
        for n in 0..500 {
            let key: [u8; 32] = std::array::from_fn(|_| keys.random::<u8>());
            let mut r = ChaCha8Rng::from_seed(key);
            // Blocks 0 to 8: past the generator's batch of four, and its second batch.
            for counter in 0..9u64 {
                let want: [u32; 16] = std::array::from_fn(|_| r.random::<u32>());
                assert_eq!(
                    chacha8_block(&key, counter),
                    want,
                    "key {n}, block {counter}"
                );
            }
        }
    }

    /// The eight-lane blocks are the one-block function's, for every number of keys from 1 to
    /// eight and counters past the first; so are the uniforms and normals drawn for several
    /// entities at once.
    #[test]
    fn eight_streams_at_once_are_each_streams_own_draws() {
        let mut keys = stream(5, 0, 0, 0, Purpose::Choice, 0);
        for n in 0..400usize {
            let len = 1 + n % ENTITIES;
            let k: Vec<[u8; 32]> = (0..len)
                .map(|_| std::array::from_fn(|_| keys.random::<u8>()))
                .collect();
            let counter = (n % 3) as u64;
            let mut out = [[0u32; 16]; ENTITIES];
            chacha8_blocks(&k, counter, &mut out);
            for (key, block) in k.iter().zip(&out) {
                assert_eq!(*block, chacha8_block(key, counter), "case {n}");
            }
            let entities: Vec<u64> = (0..len).map(|_| keys.random::<u64>()).collect();
            let per = n % 19;
            let mut many = vec![0.0; len * per];
            first_uniforms_of(
                7,
                n as u64,
                &entities,
                3,
                Purpose::Choice,
                0,
                per,
                &mut many,
            );
            for (e, got) in entities.iter().zip(many.chunks(per.max(1))) {
                let mut one = vec![0.0; per];
                first_uniforms(7, n as u64, *e, 3, Purpose::Choice, 0, &mut one);
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(got), bits(&one), "case {n}");
            }
            let mut many = vec![0.0; len * per];
            first_normals_of(
                9,
                n as u64,
                &entities,
                0,
                Purpose::Demand,
                0,
                per,
                &mut many,
            );
            for (e, got) in entities.iter().zip(many.chunks(per.max(1))) {
                let mut one = vec![0.0; per];
                first_normals(9, n as u64, *e, 0, Purpose::Demand, 0, &mut one);
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(got), bits(&one), "case {n}");
            }
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
