//! Many replications of a market, in parallel, folded in replication order into a [`Summary`].

pub mod summary;

use std::ops::Range;

use rayon::prelude::*;

use crate::engine::{self, ReplicationOutcome};
use crate::model::Market;
pub use summary::{CATEGORIES, Headline, PeriodSummary, ProviderSummary, ServiceSummary, Summary};

/// Replications simulated at once before they are folded; memory is bounded by one block.
pub const BLOCK: u64 = 1024;

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The thread pool could not be built.
    #[error("cannot start {threads} worker threads: {source}")]
    Pool {
        /// Threads asked for.
        threads: usize,
        /// Cause.
        source: rayon::ThreadPoolBuildError,
    },
    /// The consumer of replication rows failed (e.g. a disk error).
    #[error(transparent)]
    Sink(#[from] anyhow::Error),
}

/// Runs replications `reps` of a market on `threads` threads (0 = all cores). Each replication is
/// handed to `sink` in index order; `progress` hears how many are done.
pub fn run(
    market: &Market,
    reps: Range<u64>,
    threads: usize,
    sink: &mut dyn FnMut(&ReplicationOutcome) -> anyhow::Result<()>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Summary, RunError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|source| RunError::Pool { threads, source })?;
    let mut summary = Summary::new(market);
    let mut start = reps.start;
    while start < reps.end {
        let end = (start + BLOCK).min(reps.end);
        let block: Vec<ReplicationOutcome> = pool.install(|| {
            (start..end)
                .into_par_iter()
                .map(|r| engine::simulate(market, r))
                .collect()
        });
        // Fold in index order: the summary never depends on which thread finished first.
        for r in &block {
            summary.push(r);
            sink(r)?;
        }
        progress(end - reps.start);
        start = end;
    }
    Ok(summary)
}

/// Runs replications without keeping rows: the summary alone.
pub fn summarise(market: &Market, reps: Range<u64>, threads: usize) -> Result<Summary, RunError> {
    run(market, reps, threads, &mut |_| Ok(()), &|_| {})
}
