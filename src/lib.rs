//! csmarket: a parallel stochastic simulator of a public procurement market for commissioning support.
//!
//! Data flows one way: scenario file -> validated [`scenario`] -> compiled [`model`] -> one replication
//! in the [`engine`] -> many replications in [`experiment`] -> [`stats`] summaries -> [`export`].
//! [`generate`] writes scenario files of any size, at the head of that chain.
//!
//! Cargo features, both on by default: `charts` (charts and the report, with plotters) and `cli`
//! (the command line, with clap and progress bars; needs `charts`). Without them the library
//! simulates, summarises and writes CSV and JSON.

#[cfg(feature = "charts")]
pub mod charts;
#[cfg(feature = "cli")]
pub mod cli;
pub mod compare;
pub mod engine;
pub mod experiment;
pub mod explore;
pub mod export;
pub mod generate;
pub mod model;
#[cfg(feature = "charts")]
pub mod report;
pub mod scenario;
pub mod stats;
