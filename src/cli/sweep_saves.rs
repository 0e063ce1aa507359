//! A sweep that can be stopped and resumed, like `run`: each finished grid point is saved in
//! `OUT/sweep/.progress/` (its summary, sealed with its SHA-256, and how long the rows log was when
//! it finished), and the rows of `runs.csv` go to a log there. On SIGINT or SIGTERM the sweep stops
//! after the grid point it is running; `--resume` reloads the points saved, cuts the rows log back
//! to the last of them and runs the rest, so the files are those of an uninterrupted sweep.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::InputError;
use crate::experiment::{Summary, sealed};
use crate::explore::sweep::{SavedPoints, SweepPlan};
use crate::export::atomic;
use crate::export::tidy::RunsWriter;

/// Version of the saved point format.
const FORMAT: u32 = 1;
/// The progress folder under the sweep's folder.
const PROGRESS: &str = ".progress";
/// The rows log in the progress folder.
const ROWS: &str = "runs.csv";

/// What a sweep is: saved points belong to the sweep with the same identity only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SweepIdentity {
    csmarket_version: String,
    scenario_sha256: String,
    configuration: String,
    seed: u64,
    replications: u64,
    /// Each swept parameter's path and values.
    axes: Vec<(String, Vec<f64>)>,
}

/// One finished grid point.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SavedPoint<'a> {
    identity: Cow<'a, SweepIdentity>,
    point: usize,
    /// The rows log's length when the point finished.
    rows_bytes: u64,
    summary: Cow<'a, Summary>,
}

/// The grid points a sweep saved and the rows log, for [`crate::explore::sweep::run_with_rows`].
pub struct SweepSaves {
    dir: PathBuf,
    identity: SweepIdentity,
    loaded: Vec<Summary>,
    /// The rows of `runs.csv`, appended as replications arrive.
    rows: RunsWriter<File>,
    /// Grid points finished, saved ones included.
    pub finished: usize,
    /// The sweep stopped on a signal after `finished` points.
    pub stopped: bool,
    /// The first row that could not be written, reported when the point finishes.
    row_error: Option<anyhow::Error>,
}

fn point_file(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("point-{i}.json"))
}

impl SweepSaves {
    /// Opens the sweep's saved progress in `sweep_dir`: afresh, or with `resume` the points a
    /// stopped sweep saved (refused when they belong to another sweep or were damaged).
    pub fn open(
        sweep_dir: &Path,
        plan: &SweepPlan,
        parameters: &[(String, String)],
        resume: bool,
    ) -> anyhow::Result<SweepSaves> {
        let study = &plan.study;
        let identity = SweepIdentity {
            csmarket_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario_sha256: study.scenario.sha256.clone(),
            configuration: study.configuration.clone(),
            seed: study.seed,
            replications: study.replications,
            axes: plan
                .axes
                .iter()
                .map(|a| (a.path.clone(), a.values.clone()))
                .collect(),
        };
        let dir = sweep_dir.join(PROGRESS);
        let rows_path = dir.join(ROWS);
        let mut loaded = Vec::new();
        let mut rows_bytes = None;
        if resume {
            while let Ok(bytes) = std::fs::read(point_file(&dir, loaded.len())) {
                let file = point_file(&dir, loaded.len());
                let p: SavedPoint<'static> = sealed::open(FORMAT, &bytes)
                    .map_err(|e| InputError(format!("{}: {e}", file.display())))?;
                if *p.identity != identity || p.point != loaded.len() {
                    return Err(InputError(format!(
                        "{}: saved by another sweep (scenario, configuration, seed, replications \
                         or parameter values differ); run it without --resume to start afresh",
                        file.display()
                    ))
                    .into());
                }
                rows_bytes = Some(p.rows_bytes);
                loaded.push(p.summary.into_owned());
            }
        } else if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot clear old progress in {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create output folder {}", dir.display()))?;
        let named = |e: std::io::Error| anyhow::anyhow!("{}: {e}", rows_path.display());
        let rows = match rows_bytes {
            Some(bytes) => {
                let mut file = OpenOptions::new()
                    .write(true)
                    .open(&rows_path)
                    .map_err(named)?;
                let found = file.metadata().map_err(named)?.len();
                if found < bytes {
                    return Err(InputError(format!(
                        "{}: {found} bytes, but the saved points counted {bytes}; run the \
                         sweep without --resume to start afresh",
                        rows_path.display()
                    ))
                    .into());
                }
                file.set_len(bytes).map_err(named)?;
                file.seek(SeekFrom::End(0)).map_err(named)?;
                RunsWriter::new(file, &study.configuration, parameters, false)?
            }
            None => RunsWriter::new(
                File::create(&rows_path).map_err(named)?,
                &study.configuration,
                parameters,
                true,
            )?,
        };
        Ok(SweepSaves {
            dir,
            identity,
            finished: loaded.len(),
            loaded,
            rows,
            stopped: false,
            row_error: None,
        })
    }

    /// Grid points loaded from saved progress.
    pub fn resumed(&self) -> usize {
        self.loaded.len()
    }

    /// The progress folder.
    pub fn progress_dir(&self) -> &Path {
        &self.dir
    }

    /// Moves the complete rows log to `runs.csv` in `sweep_dir` and removes the saved progress.
    pub fn finish(self, sweep_dir: &Path) -> anyhow::Result<()> {
        let file = self.rows.into_inner()?;
        file.sync_data()?;
        let target = sweep_dir.join(crate::export::layout::RUNS);
        std::fs::rename(self.dir.join(ROWS), &target)
            .with_context(|| format!("cannot write {}", target.display()))?;
        std::fs::remove_dir_all(&self.dir)
            .with_context(|| format!("cannot remove {}", self.dir.display()))?;
        Ok(())
    }
}

/// The sweep stopped on a signal after the point it was running.
#[derive(Debug, thiserror::Error)]
#[error("stopped on request")]
struct Stop;

impl SavedPoints for SweepSaves {
    fn row(&mut self, values: &[f64], r: &crate::engine::ReplicationOutcome) {
        if self.row_error.is_none() {
            self.row_error = self.rows.write(values, r).err();
        }
    }

    fn load(&mut self, i: usize) -> Option<Summary> {
        self.loaded.get(i).cloned()
    }

    fn save(&mut self, i: usize, summary: &Summary) -> anyhow::Result<()> {
        if let Some(e) = self.row_error.take() {
            return Err(e.context(format!("cannot write {}", self.dir.join(ROWS).display())));
        }
        self.rows.flush()?;
        let file = self.rows.get_ref();
        file.sync_data()?;
        let rows_bytes = file.metadata()?.len();
        let point = SavedPoint {
            identity: Cow::Borrowed(&self.identity),
            point: i,
            rows_bytes,
            summary: Cow::Borrowed(summary),
        };
        atomic::write(&point_file(&self.dir, i), &sealed::seal(FORMAT, &point)?)?;
        self.finished = i + 1;
        if super::stop::requested().is_some() {
            self.stopped = true;
            return Err(Stop.into());
        }
        Ok(())
    }
}
