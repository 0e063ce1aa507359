//! Eight ChaCha8 blocks at once, one per key, in AVX2 registers: word `i` of the eight states
//! lies in register `i`, lane `k` holding key `k`'s word, so each step of the rounds is one
//! instruction for all eight blocks and the diagonals need no shuffles. A replication starts by
//! drawing the first block of hundreds of streams (each CCG's preferences and demand, each
//! provider's standards and qualities), which the one-block function in `rng.rs` computes one
//! at a time; the words are the same, bit for bit (a test in `rng.rs` compares them).

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Keys one call takes at most.
pub(super) const LANES: usize = 8;

/// `(x ^ y)` rotated left by `L` bits in each 32-bit lane (`R` is `32 - L`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn xor_rotate<const L: i32, const R: i32>(x: __m256i, y: __m256i) -> __m256i {
    // SAFETY: the caller runs with AVX2 enabled.
    unsafe {
        let v = _mm256_xor_si256(x, y);
        // Turns by whole bytes are one byte shuffle (each 32-bit lane's bytes reordered).
        match L {
            16 => _mm256_shuffle_epi8(v, bytes_turned::<false>()),
            8 => _mm256_shuffle_epi8(v, bytes_turned::<true>()),
            _ => _mm256_or_si256(_mm256_slli_epi32::<L>(v), _mm256_srli_epi32::<R>(v)),
        }
    }
}

/// A byte-shuffle mask turning each 32-bit lane left by 16 (`EIGHT` false) or 8 bits.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn bytes_turned<const EIGHT: bool>() -> __m256i {
    // SAFETY: the caller runs with AVX2 enabled.
    unsafe {
        if EIGHT {
            _mm256_setr_epi8(
                3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14, 3, 0, 1, 2, 7, 4, 5, 6, 11,
                8, 9, 10, 15, 12, 13, 14,
            )
        } else {
            _mm256_setr_epi8(
                2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7, 4, 5, 10,
                11, 8, 9, 14, 15, 12, 13,
            )
        }
    }
}

/// The quarter round on words `a, b, c, d` of the eight states.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn quarter_round(x: &mut [__m256i; 16], a: usize, b: usize, c: usize, d: usize) {
    // SAFETY: the caller runs with AVX2 enabled.
    unsafe {
        x[a] = _mm256_add_epi32(x[a], x[b]);
        x[d] = xor_rotate::<16, 16>(x[d], x[a]);
        x[c] = _mm256_add_epi32(x[c], x[d]);
        x[b] = xor_rotate::<12, 20>(x[b], x[c]);
        x[a] = _mm256_add_epi32(x[a], x[b]);
        x[d] = xor_rotate::<8, 24>(x[d], x[a]);
        x[c] = _mm256_add_epi32(x[c], x[d]);
        x[b] = xor_rotate::<7, 25>(x[b], x[c]);
    }
}

/// Block `counter` of eight keystreams (zero nonce), word `i` of the eight blocks in register
/// `i`, from the eight keys' words lane by lane (`key[i]` holds word `i` of each key).
///
/// # Safety
/// The caller runs with AVX2 enabled.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) unsafe fn keystream(key: &[__m256i; 8], counter: u64) -> [__m256i; 16] {
    // SAFETY: the caller runs with AVX2 enabled.
    unsafe {
        let splat = |w: u32| _mm256_set1_epi32(w as i32);
        let x0: [__m256i; 16] = [
            splat(0x6170_7865),
            splat(0x3320_646e),
            splat(0x7962_2d32),
            splat(0x6b20_6574),
            key[0],
            key[1],
            key[2],
            key[3],
            key[4],
            key[5],
            key[6],
            key[7],
            splat(counter as u32),
            splat((counter >> 32) as u32),
            splat(0),
            splat(0),
        ];
        let mut x = x0;
        for _ in 0..4 {
            quarter_round(&mut x, 0, 4, 8, 12);
            quarter_round(&mut x, 1, 5, 9, 13);
            quarter_round(&mut x, 2, 6, 10, 14);
            quarter_round(&mut x, 3, 7, 11, 15);
            quarter_round(&mut x, 0, 5, 10, 15);
            quarter_round(&mut x, 1, 6, 11, 12);
            quarter_round(&mut x, 2, 7, 8, 13);
            quarter_round(&mut x, 3, 4, 9, 14);
        }
        // A plain loop: `array::from_fn`'s closure would not inline the intrinsic (no AVX2 there).
        for (xi, x0i) in x.iter_mut().zip(x0) {
            *xi = _mm256_add_epi32(*xi, x0i);
        }
        x
    }
}

/// Block `counter` of each key's ChaCha8 keystream (zero nonce) into `out[k]`, for up to
/// [`LANES`] keys (`out` at least as long as `keys`): what `rng::chacha8_block` gives for each.
///
/// # Safety
/// The processor must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn blocks_avx2(keys: &[[u8; 32]], counter: u64, out: &mut [[u32; 16]]) {
    debug_assert!(keys.len() <= LANES && out.len() >= keys.len());
    // Key words lane by lane; unused lanes compute a block of zeros that nobody reads.
    let mut words = [[0u32; LANES]; 8];
    for (k, key) in keys.iter().enumerate() {
        for (i, w) in words.iter_mut().enumerate() {
            w[k] = u32::from_le_bytes([key[4 * i], key[4 * i + 1], key[4 * i + 2], key[4 * i + 3]]);
        }
    }
    // SAFETY: the loads read whole arrays of eight words; AVX2 is enabled on this function.
    let load = |w: &[u32; LANES]| unsafe { _mm256_loadu_si256(w.as_ptr() as *const __m256i) };
    let mut key = [_mm256_setzero_si256(); 8];
    for (k, w) in key.iter_mut().zip(&words) {
        *k = load(w);
    }
    // SAFETY: AVX2 is enabled on this function.
    let x = unsafe { keystream(&key, counter) };
    let mut lanes = [[0u32; LANES]; 16];
    for (i, lane) in lanes.iter_mut().enumerate() {
        // SAFETY: the store writes a whole array of eight words.
        unsafe { _mm256_storeu_si256(lane.as_mut_ptr() as *mut __m256i, x[i]) };
    }
    for (k, block) in out.iter_mut().enumerate().take(keys.len()) {
        for (i, w) in block.iter_mut().enumerate() {
            *w = lanes[i][k];
        }
    }
}
