//! Streaming, exactly mergeable statistics.
//!
//! Replications run in parallel and across machine shards, and results must be bit-identical
//! whatever the thread count or shard split. Every accumulator here is therefore
//!
//! * streaming: memory does not grow with the number of observations, and
//! * exactly mergeable: `merge(a, b)` gives bit-for-bit the state that pushing all values into one
//!   accumulator gives, in any order or grouping.
//!
//! Floating-point addition is not associative, so sums are kept in fixed-point integers
//! ([`ExactSum`]) and quantiles in a log-bucket sketch with integer counts ([`QuantileSketch`]).
//! Everything read out of them is a pure function of that integer state, computed with basic IEEE
//! operations only (no platform `ln`/`exp`, whose last bit may vary between machines).

mod detmath;
mod proportion;
mod sketch;
mod stat;
mod sum;

pub use proportion::Proportion;
pub use sketch::QuantileSketch;
pub use stat::{Stat, StatRow};
pub use sum::ExactSum;
