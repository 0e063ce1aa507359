//! Streaming, exactly mergeable statistics.
//!
//! Replications run in parallel and across machine shards, and results must be bit-identical
//! whatever the thread count or shard split. Every accumulator here is therefore
//!
//! * bounded: memory grows with the number of observations only up to [`EXACT_LIMIT`] per figure, and
//! * exactly mergeable: `merge(a, b)` gives bit-for-bit the state that pushing all values into one
//!   accumulator gives, in any order or grouping.
//!
//! Floating-point addition is not associative, so sums are kept in fixed-point integers
//! ([`ExactSum`]) and quantiles from the values themselves ([`Quantiles`]: up to [`EXACT_LIMIT`]
//! per figure, kept in replication order and sorted when read), beyond that in a log-bucket sketch
//! with integer counts ([`QuantileSketch`], 0.05% relative error, marked approximate).
//! Everything read out of them is a pure function of that integer state, computed with basic IEEE
//! operations only (no platform `ln`/`exp`, whose last bit may vary between machines).

mod detmath;
mod proportion;
mod quantiles;
mod sketch;
mod stat;
mod sum;

pub use proportion::Proportion;
pub use quantiles::{EXACT_LIMIT, Quantiles};
pub use sketch::QuantileSketch;
pub use stat::{Stat, StatRow};
pub use sum::ExactSum;
