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

/// The stream for one key. `sub` separates draws of the same purpose (e.g. the service index).
pub fn stream(
    seed: u64,
    replication: u64,
    entity: u64,
    period: u32,
    purpose: Purpose,
    sub: u32,
) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[0..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&replication.to_le_bytes());
    key[16..24].copy_from_slice(&entity.to_le_bytes());
    let tail = (u64::from(period) << 40) ^ (u64::from(purpose as u32) << 32) ^ u64::from(sub);
    key[24..32].copy_from_slice(&tail.to_le_bytes());
    ChaCha8Rng::from_seed(key)
}

/// A uniform draw in [0, 1).
pub fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    rng.random::<f64>()
}

/// A standard normal draw (Box-Muller), written out so results do not depend on a distribution crate;
/// `libm` gives the same bits on every platform, where `f64::ln` and `cos` may not.
pub fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    // 1 - u lies in (0, 1], so the logarithm is finite.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * libm::log(u1)).sqrt() * libm::cos(std::f64::consts::TAU * u2)
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
