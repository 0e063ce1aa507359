//! One configuration's run that survives being killed and can be split across machines: rows go
//! to a log in `.progress/`, progress is saved after the first block and then at most every
//! `save_every` (not after the last block: the run saves once more before its rows move, and once
//! its results are written marks that state complete), and `resume` carries on from the last save
//! to the output an uninterrupted run would have written. A shard is the same run over its part of
//! the replication range.
//!
//! The file formats are the caller's: rows go through a [`RowLog`] and the results files are
//! written by the `write_results` hook, so this layer knows nothing of CSV or charts.

use std::borrow::Cow;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::resume::{self, ROWS_FILE, RowsMark, SavedProgress};
use super::shard::RunIdentity;
use super::{Observer, Summary};
use crate::engine::ReplicationOutcome;
use crate::model::Market;

/// The file name of a configuration's replication rows, once the run is complete.
pub const REPLICATIONS_FILE: &str = "replications.csv";

/// Where a resumable run appends its replication rows.
pub trait RowLog {
    /// Appends one replication's row.
    fn append(&mut self, r: &ReplicationOutcome) -> anyhow::Result<()>;
    /// Makes every row so far durable; returns the log's length and SHA-256.
    fn sync(&mut self) -> anyhow::Result<RowsMark>;
    /// Syncs the log and moves it to `target`; returns its length and SHA-256.
    fn finish(self, target: &Path) -> anyhow::Result<RowsMark>;
}

/// One configuration's resumable run.
pub struct ResumableRun<'a> {
    /// The compiled market, seed included.
    pub market: &'a Market,
    /// The run and the shard of it this machine runs.
    pub identity: RunIdentity,
    /// The configuration's output folder.
    pub dir: PathBuf,
    /// Worker threads (0 = all cores).
    pub threads: usize,
    /// Carry on from saved progress (start afresh if there is none).
    pub resume: bool,
    /// Least time between saves of progress.
    pub save_every: Duration,
    /// Asked after each block: true stops the run there, with its progress saved ([`Stopped`]).
    pub stop: &'a (dyn Fn() -> bool + Sync),
}

/// A run stopped on request (e.g. by a signal) with its progress saved, so `resume` finishes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stopped on request with replications {first}..{next} of {first}..{end} saved")]
pub struct Stopped {
    /// The shard's first replication.
    pub first: u64,
    /// The first replication not saved.
    pub next: u64,
    /// The end of the shard's range.
    pub end: u64,
}

/// What the results files of a finished run are written from.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Summary of the run's replications.
    pub summary: Summary,
    /// When the run first started (RFC 3339), before any interruption.
    pub started: String,
    /// Length and SHA-256 of the complete `replications.csv`.
    pub rows: RowsMark,
}

impl ResumableRun<'_> {
    /// The replication ids this machine runs.
    pub fn range(&self) -> Range<u64> {
        self.identity.range()
    }

    /// Runs (or finishes) the configuration: `open_log` opens a new row log (`None`) or reopens
    /// the saved one, checked against its mark and cut back to it; `progress` hears how many replications of
    /// [`range`](Self::range) are done; `write_results` writes the results files before the run
    /// is marked complete. A run resumed after it was complete is not run or written again.
    pub fn run<L: RowLog>(
        &self,
        open_log: impl FnOnce(&Path, Option<&RowsMark>) -> anyhow::Result<L>,
        progress: &(dyn Fn(u64) + Sync),
        write_results: impl FnOnce(&Finished) -> anyhow::Result<()>,
    ) -> anyhow::Result<Finished> {
        let progress_dir = resume::progress_dir(&self.dir);
        let range = self.range();
        let (saved, digest) = match self.resume {
            true => SavedProgress::load_sealed(&progress_dir)?.unzip(),
            false => (None, None),
        };
        if let Some(c) = &saved {
            c.belongs_to(&self.identity, &progress_dir)?;
            if c.complete {
                // Reported like any resumption, so that a log shows this attempt's start.
                progress(c.next - range.start);
                return Ok(Finished {
                    summary: c.summary.as_ref().clone(),
                    started: c.started.clone(),
                    rows: c.rows.clone(),
                });
            }
        }
        if saved.is_none() && progress_dir.exists() {
            std::fs::remove_dir_all(&progress_dir).with_context(|| {
                format!("cannot clear old progress in {}", progress_dir.display())
            })?;
        }
        std::fs::create_dir_all(&progress_dir)
            .with_context(|| format!("cannot create output folder {}", progress_dir.display()))?;
        let rows_path = progress_dir.join(ROWS_FILE);
        let final_rows = self.dir.join(REPLICATIONS_FILE);
        // Killed after the rows were moved into place but before the run was marked complete.
        let rows_in_place = saved
            .as_ref()
            .is_some_and(|c| c.next == range.end && !rows_path.exists() && final_rows.exists());
        if let Some(c) = saved.as_ref().filter(|_| rows_in_place) {
            c.rows.check(&final_rows, "the saved progress")?;
        }
        // What was finished, and the digest and rows of the state saved with every replication
        // (marked complete once the results are written).
        let (finished, sealed) = match saved {
            Some(c) if rows_in_place => {
                progress(c.next - range.start);
                let sealed = digest.map(|d| (d, c.rows.clone()));
                let finished = Finished {
                    summary: c.summary.into_owned(),
                    started: c.started,
                    rows: c.rows,
                };
                (finished, sealed)
            }
            saved => {
                let (start, next, started, log) = match saved {
                    Some(c) => {
                        let log = open_log(&rows_path, Some(&c.rows))?;
                        (c.summary.into_owned(), c.next, c.started, log)
                    }
                    None => (
                        Summary::new(self.market),
                        range.start,
                        chrono::Utc::now().to_rfc3339(),
                        open_log(&rows_path, None)?,
                    ),
                };
                let before = next - range.start;
                progress(before);
                let mut saver = Saver {
                    log,
                    identity: &self.identity,
                    dir: &progress_dir,
                    started: &started,
                    every: self.save_every,
                    last: None,
                    stop: self.stop,
                    range: range.clone(),
                };
                let summary = super::run_from(
                    self.market,
                    next..range.end,
                    self.threads,
                    start,
                    &mut saver,
                    &|done| progress(before + done),
                )
                .map_err(|e| match e {
                    // Handed back as itself, so the caller can tell a stop from a failure.
                    super::RunError::Sink(e) if e.is::<Stopped>() => e,
                    e => e.into(),
                })?;
                let sealed = Some(saver.save(&summary, range.end)?);
                let rows = saver.log.finish(&final_rows)?;
                let finished = Finished {
                    summary,
                    started,
                    rows,
                };
                (finished, sealed)
            }
        };
        write_results(&finished)?;
        if let Some((digest, _)) = sealed.filter(|(_, rows)| *rows == finished.rows) {
            SavedProgress::mark_complete(&progress_dir, &digest)?;
        } else {
            // The rows moved are not those the last save counted: save the state afresh.
            SavedProgress {
                identity: Cow::Borrowed(&self.identity),
                started: finished.started.clone(),
                next: range.end,
                rows: finished.rows.clone(),
                complete: true,
                summary: Cow::Borrowed(&finished.summary),
            }
            .save(&progress_dir)?;
        }
        Ok(finished)
    }
}

/// Saves a run's progress after its first block and then at most every `every`.
struct Saver<'a, L> {
    log: L,
    identity: &'a RunIdentity,
    dir: &'a Path,
    started: &'a str,
    every: Duration,
    last: Option<Instant>,
    stop: &'a (dyn Fn() -> bool + Sync),
    range: Range<u64>,
}

impl<L: RowLog> Saver<'_, L> {
    /// Saves the progress; returns the digest it was sealed with and the rows it counts.
    fn save(&mut self, summary: &Summary, next: u64) -> anyhow::Result<(String, RowsMark)> {
        let rows = self.log.sync()?;
        let digest = SavedProgress {
            identity: Cow::Borrowed(self.identity),
            started: self.started.to_string(),
            next,
            rows: rows.clone(),
            complete: false,
            summary: Cow::Borrowed(summary),
        }
        .save(self.dir)?;
        self.last = Some(Instant::now());
        Ok((digest, rows))
    }
}

impl<L: RowLog> Observer for Saver<'_, L> {
    fn replication(&mut self, r: &ReplicationOutcome) -> anyhow::Result<()> {
        self.log.append(r)
    }

    fn block_done(&mut self, summary: &Summary, next: u64) -> anyhow::Result<()> {
        // After the last block the run saves once more anyway, before moving its rows.
        let last = next >= self.range.end;
        let stop = !last && (self.stop)();
        if stop || (!last && self.last.is_none_or(|t| t.elapsed() >= self.every)) {
            self.save(summary, next)?;
        }
        if stop {
            return Err(Stopped {
                first: self.range.start,
                next,
                end: self.range.end,
            }
            .into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::shard::Shard;
    use std::sync::Mutex;

    fn market() -> Market {
        crate::engine::testing::market("collaborative")
    }

    /// A run of `market` into `dir`, resumable, saving after every block, never stopped.
    fn job<'a>(market: &'a Market, dir: &Path, identity: RunIdentity) -> ResumableRun<'a> {
        ResumableRun {
            market,
            identity,
            dir: dir.to_path_buf(),
            threads: 1,
            resume: true,
            save_every: Duration::ZERO,
            stop: &|| false,
        }
    }

    fn identity(replications: u64, shard: Shard) -> RunIdentity {
        RunIdentity {
            csmarket_version: "test".into(),
            scenario_sha256: "00".into(),
            configuration: "collaborative".into(),
            seed: 7,
            replications,
            shard,
            posterior_sha256: None,
        }
    }

    /// Rows kept nowhere: these tests are about what the run reports, not the rows.
    struct NoRows;

    impl RowLog for NoRows {
        fn append(&mut self, _: &ReplicationOutcome) -> anyhow::Result<()> {
            Ok(())
        }
        fn sync(&mut self) -> anyhow::Result<RowsMark> {
            Ok(RowsMark {
                bytes: 0,
                sha256: super::super::sealed::hex_digest(sha2::Sha256::default()),
            })
        }
        fn finish(mut self, target: &Path) -> anyhow::Result<RowsMark> {
            std::fs::write(target, "")?;
            self.sync()
        }
    }

    /// Counts the saves of progress (each syncs the row log once) and the final move.
    struct CountedRows<'a>(&'a Mutex<(u32, u32)>);

    impl RowLog for CountedRows<'_> {
        fn append(&mut self, _: &ReplicationOutcome) -> anyhow::Result<()> {
            Ok(())
        }
        fn sync(&mut self) -> anyhow::Result<RowsMark> {
            self.0.lock().unwrap().0 += 1;
            NoRows.sync()
        }
        fn finish(self, target: &Path) -> anyhow::Result<RowsMark> {
            self.0.lock().unwrap().1 += 1;
            NoRows.finish(target)
        }
    }

    #[test]
    fn progress_is_saved_after_each_block_but_the_last_and_once_before_the_rows_move() {
        let market = market();
        let dir = tempfile::tempdir().unwrap();
        let blocks = 3;
        let whole = identity(blocks * super::super::BLOCK - 5, Shard::WHOLE);
        let job = ResumableRun {
            resume: false,
            ..job(&market, dir.path(), whole)
        };
        let counts = Mutex::new((0, 0));
        job.run(|_, _| Ok(CountedRows(&counts)), &|_| {}, |_| Ok(()))
            .unwrap();
        // Saved after blocks 1 and 2 (every block is due at `save_every` 0), not after the
        // last, whose save would be the one that follows it; then the rows move once.
        assert_eq!(*counts.lock().unwrap(), (blocks as u32, 1));
    }

    #[test]
    fn a_run_killed_after_its_rows_moved_writes_its_results_on_resume_and_is_then_complete() {
        let market = market();
        let dir = tempfile::tempdir().unwrap();
        let job = job(&market, dir.path(), identity(40, Shard::new(1, 2).unwrap()));
        let killed = job.run(|_, _| Ok(NoRows), &|_| {}, |_| anyhow::bail!("killed"));
        assert!(killed.is_err());
        assert!(dir.path().join(REPLICATIONS_FILE).is_file(), "rows moved");
        let heard = Mutex::new(Vec::new());
        let written = Mutex::new(0);
        let resume = || {
            job.run(
                |_, _| -> anyhow::Result<NoRows> { panic!("nothing is simulated again") },
                &|done| heard.lock().unwrap().push(done),
                |_| {
                    *written.lock().unwrap() += 1;
                    Ok(())
                },
            )
            .unwrap()
        };
        resume();
        assert_eq!(
            (heard.lock().unwrap().clone(), *written.lock().unwrap()),
            (vec![20], 1)
        );
        resume();
        assert_eq!(*written.lock().unwrap(), 1, "complete: not written again");
    }

    #[test]
    fn a_run_resumed_after_it_was_complete_reports_every_replication_done() {
        let market = market();
        let dir = tempfile::tempdir().unwrap();
        let heard = Mutex::new(Vec::new());
        let job = job(&market, dir.path(), identity(40, Shard::new(1, 2).unwrap()));
        let progress = |done| heard.lock().unwrap().push(done);
        let first = job.run(|_, _| Ok(NoRows), &progress, |_| Ok(())).unwrap();
        heard.lock().unwrap().clear();
        let mut written = false;
        let again = job
            .run(
                |_, _| Ok(NoRows),
                &progress,
                |_| {
                    written = true;
                    Ok(())
                },
            )
            .unwrap();
        // A task stopped between configurations carries on here; its log must show it.
        assert_eq!(*heard.lock().unwrap(), vec![20]);
        assert!(!written, "a complete run is not written again");
        assert_eq!(again.started, first.started);
    }
}
