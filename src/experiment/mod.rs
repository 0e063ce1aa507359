//! Many replications of a market, in parallel, folded in replication order into a [`Summary`].

pub mod checkpoints;
pub mod figures;
pub mod labels;
pub mod provenance;
pub mod resumable;
pub mod resume;
pub mod sealed;
pub mod shard;
pub mod summary;

use std::ops::Range;

use rayon::prelude::*;

use crate::engine::{self, ReplicationOutcome};
use crate::model::Market;
pub use figures::{Figure, HeadlineFigures, MarketFigure, RatingOutcome, Unit};
pub use labels::Labels;
pub use provenance::Provenance;
pub use summary::{
    CATEGORIES, Headline, PeriodSummary, ProviderSummary, ServiceSummary, Summary, ViabilitySummary,
};

/// Replications simulated at once before they are folded; memory is bounded by two blocks (one
/// being handed to the observer while the next is simulated).
pub const BLOCK: u64 = 1024;
/// Replications folded into one partial summary by one worker.
const FOLD_CHUNK: usize = 64;

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

/// What a run tells its caller as it goes: every replication in index order, and every block
/// folded in (the moment a long run can save its progress).
pub trait Observer {
    /// One replication, in index order.
    fn replication(&mut self, r: &ReplicationOutcome) -> anyhow::Result<()>;

    /// A block is folded in: `summary` now covers every replication of the run before `next`.
    fn block_done(&mut self, _summary: &Summary, _next: u64) -> anyhow::Result<()> {
        Ok(())
    }
}

/// An [`Observer`] that hands each replication to a closure.
struct EachReplication<'a>(&'a mut dyn FnMut(&ReplicationOutcome) -> anyhow::Result<()>);

impl Observer for EachReplication<'_> {
    fn replication(&mut self, r: &ReplicationOutcome) -> anyhow::Result<()> {
        (self.0)(r)
    }
}

/// A pool of `threads` worker threads (0 = all cores) for running replications.
pub fn pool(threads: usize) -> Result<rayon::ThreadPool, RunError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|source| RunError::Pool { threads, source })
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
    run_from(
        market,
        reps,
        threads,
        Summary::new(market),
        &mut EachReplication(sink),
        progress,
    )
}

/// Runs replications `reps` on `threads` threads, folding them into `start` (an empty summary, or
/// the saved summary of the replications before `reps.start` when a run resumes). `observer` hears
/// each replication and each completed block; `progress` hears, from any worker thread, how many
/// of `reps` are simulated each time one finishes (calls may arrive slightly out of order).
pub fn run_from(
    market: &Market,
    reps: Range<u64>,
    threads: usize,
    start: Summary,
    observer: &mut dyn Observer,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Summary, RunError> {
    let pool = pool(threads)?;
    // Replications simulated so far, counted as each finishes so a progress bar moves with every
    // replication, not once a block; only the count is shared, so results do not depend on it.
    let simulated = std::sync::atomic::AtomicU64::new(0);
    // Simulates a block and folds it into a summary, both in parallel; the fold is exact, so the
    // partial summaries merge to the bits of pushing every replication in order.
    let simulate = |block: Range<u64>| -> (Vec<ReplicationOutcome>, Summary) {
        pool.install(|| {
            // Each worker's replications reuse one workspace's buffers (the outcome is the same).
            let outcomes: Vec<ReplicationOutcome> = block
                .into_par_iter()
                .map_init(engine::Workspace::default, |ws, r| {
                    let outcome = engine::simulate_in(market, r, ws);
                    progress(simulated.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
                    outcome
                })
                .collect();
            let folded = fold(market, &outcomes);
            (outcomes, folded)
        })
    };
    let mut summary = start;
    // While the caller's thread hands block k to the observer (rows are written in order, on this
    // thread), the pool simulates block k + 1.
    std::thread::scope(|scope| -> Result<(), RunError> {
        let block_at = |first: u64| first..(first + BLOCK).min(reps.end);
        let mut current = (reps.start < reps.end).then(|| {
            let b = block_at(reps.start);
            (b.end, simulate(b))
        });
        while let Some((end, (outcomes, folded))) = current.take() {
            let next = (end < reps.end).then(|| {
                let b = block_at(end);
                (b.end, scope.spawn(move || simulate(b)))
            });
            summary.merge(&folded);
            for r in &outcomes {
                observer.replication(r)?;
            }
            observer.block_done(&summary, end)?;
            drop(outcomes);
            current = match next {
                Some((e, handle)) => match handle.join() {
                    Ok(done) => Some((e, done)),
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                None => None,
            };
        }
        Ok(())
    })?;
    Ok(summary)
}

/// The summary of consecutive replications of a market (a block), folded in parallel on the
/// current rayon pool; the fold is exact, so the partial summaries merge to the bits of pushing
/// every replication in order.
pub fn fold(market: &Market, outcomes: &[ReplicationOutcome]) -> Summary {
    // One partial summary per worker (of at least FOLD_CHUNK replications): each costs a
    // `Summary::new`, its figures' vectors grow from empty and it is copied again when merged.
    let chunk = outcomes
        .len()
        .div_ceil(rayon::current_num_threads().max(1))
        .max(FOLD_CHUNK);
    let partials: Vec<Summary> = outcomes
        .par_chunks(chunk)
        .map(|chunk| {
            let mut s = Summary::new(market);
            chunk.iter().for_each(|r| s.push(r));
            s
        })
        .collect();
    // Merging into an empty summary copies; the first partial is the start instead (the same
    // state: merges append in replication order).
    let mut rest = partials.into_iter();
    let mut folded = rest.next().unwrap_or_else(|| Summary::new(market));
    rest.for_each(|p| folded.merge(&p));
    folded
}

/// Runs replications without keeping rows: the summary alone.
pub fn summarise(market: &Market, reps: Range<u64>, threads: usize) -> Result<Summary, RunError> {
    run(market, reps, threads, &mut |_| Ok(()), &|_| {})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    #[test]
    fn progress_hears_every_replication_not_only_every_block() {
        let s = Scenario::from_text(
            "small.toml",
            include_str!("../../tests/fixtures/small.toml"),
        )
        .unwrap();
        let m = Market::compile(&s.resolve("local").unwrap(), "local").unwrap();
        let heard = std::sync::Mutex::new(Vec::new());
        let record = |n: u64| heard.lock().unwrap().push(n);
        let with_bar = run(&m, 0..12, 1, &mut |_| Ok(()), &record).unwrap();
        assert_eq!(*heard.lock().unwrap(), (1..=12).collect::<Vec<u64>>());
        // Counting is all it does: the summary is the one a run without a bar folds.
        assert_eq!(with_bar, summarise(&m, 0..12, 3).unwrap());
    }
}
