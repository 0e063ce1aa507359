//! The documented default of every optional field (`docs/scenario-format.md` cites them), and
//! the `Default` of each table that may be left out whole.

use super::{Closeness, Demand, Finance, Normal, OnFailure, Preferences, Rules};

impl Default for Rules {
    fn default() -> Self {
        Rules {
            contract_length: 6,
            notice_periods: 2,
            quality_threshold: 0.4,
            on_failure: OnFailure::Merge,
            quality_sd: 0.05,
            capability_sd: 0.08,
            overload_quality_loss: 0.5,
            plan_share: 0.8,
        }
    }
}

impl Default for Finance {
    fn default() -> Self {
        Finance {
            markup: 0.05,
            max_price_change: 0.15,
            hire_rate: 0.25,
            shed_rate: 0.10,
            idle_cost_share: 0.5,
            redundancy_cost: 0.5,
            insolvency_threshold: -0.1,
            cost_per_fte: 50_000.0,
            hosting_charge: 0.0,
        }
    }
}

impl Default for Closeness {
    fn default() -> Self {
        Closeness {
            in_house: 1.0,
            host: 0.9,
            member_collaborative: 0.85,
            same_region_local: 0.4,
            region_collaborative: 0.4,
            other: 0.0,
        }
    }
}

impl Default for Preferences {
    fn default() -> Self {
        Preferences {
            price: Normal { mean: 3.0, sd: 1.0 },
            quality: Normal { mean: 3.0, sd: 1.0 },
            locality: Normal {
                mean: 2.0,
                sd: 0.75,
            },
            inertia: Normal { mean: 1.0, sd: 0.5 },
        }
    }
}

impl Default for Demand {
    fn default() -> Self {
        Demand { multiplier_sd: 0.1 }
    }
}

/// Default master seed.
pub fn seed() -> u64 {
    2012
}
/// Default replication count.
pub fn replications() -> u32 {
    1000
}
/// Default horizon: the planning quarter and five years.
pub fn periods() -> u32 {
    21
}
/// Default first independent quarter (April 2016 when period 1 is April 2013).
pub fn independence() -> u32 {
    13
}
/// One.
pub fn one() -> f64 {
    1.0
}
/// True.
pub fn yes() -> bool {
    true
}
/// Running-cost allowance 2013/14, £ per head.
pub fn allowance() -> f64 {
    25.0
}
/// Spread of log CCG size.
pub fn size_sigma() -> f64 {
    0.45
}
/// Smallest CCG in April 2013.
pub fn min_population() -> f64 {
    63_100.0
}
/// Largest CCG in April 2013.
pub fn max_population() -> f64 {
    869_400.0
}
/// Least customer share at a checkpoint.
pub fn min_customer_share() -> f64 {
    0.5
}
/// The 5% surplus the Board required.
pub fn min_margin() -> f64 {
    0.05
}
/// Least mean standard score.
pub fn min_capability() -> f64 {
    0.5
}
/// Marginal band as a fraction of a threshold.
pub fn marginal_band() -> f64 {
    0.1
}
