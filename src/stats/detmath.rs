//! Deterministic `ln` and integer powers built from basic IEEE operations.
//!
//! `f64::ln` and `f64::powi` have platform- and version-dependent precision, so a value could
//! land in a different sketch bucket on another shard. `+ - * /` are correctly rounded everywhere
//! (and Rust never fuses them into FMAs), so these versions give the same bits on every machine.

use std::f64::consts::{LN_2, SQRT_2};

/// Natural logarithm of a positive, finite, normal `x`, accurate to a few ulp.
pub(crate) fn ln(x: f64) -> f64 {
    debug_assert!(x.is_normal() && x > 0.0);
    let bits = x.to_bits();
    // x = m * 2^e with m in [1, 2), read straight from the bits.
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    // Centre m on 1 so the series below converges fast: m in (1/sqrt2, sqrt2].
    if m > SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    // ln(m) = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), with |s| <= 0.172.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut series = 0.0;
    for k in (0..13).rev() {
        series = series * s2 + 1.0 / f64::from(2 * k + 1);
    }
    e as f64 * LN_2 + 2.0 * s * series
}

/// `base^n` by binary exponentiation (a fixed sequence of multiplications).
pub(crate) fn powi(base: f64, n: i32) -> f64 {
    let mut result = 1.0;
    let mut square = base;
    let mut k = n.unsigned_abs();
    while k > 0 {
        if k & 1 == 1 {
            result *= square;
        }
        square *= square;
        k >>= 1;
    }
    if n < 0 { 1.0 / result } else { result }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_ln_matches_std_ln() {
        let mut x = 1e-12_f64;
        while x < 1e300 {
            for y in [x, x * 1.234_567, x * SQRT_2, x * 1.415, x * 1.999_999] {
                let err = (ln(y) - y.ln()).abs();
                assert!(err <= 1e-15 * y.ln().abs().max(1.0), "ln({y}): err {err}");
            }
            x *= 3.7;
        }
        assert_eq!(ln(1.0), 0.0);
    }

    #[test]
    fn deterministic_powi_matches_std_powi() {
        let g: f64 = 1.005 / 0.995;
        for n in [-5000, -100, -1, 0, 1, 2, 7, 100, 5000] {
            let want = g.powi(n);
            assert!((powi(g, n) - want).abs() <= 1e-12 * want, "n = {n}");
        }
    }
}
