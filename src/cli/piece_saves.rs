//! A study (`sweep`, `sensitivity`, `backtest`, or a shard of one) that can be stopped and
//! resumed, like `run`: each finished piece (a grid point or design row, or the part of one a
//! shard runs) is saved in `DIR/.progress/` (its outcome, sealed with its SHA-256, and for a sweep
//! how long the rows log was when it finished), and a sweep's rows of `runs.csv` go to a log there.
//! On SIGINT or SIGTERM the study stops after the piece it is running; `--resume` reloads the
//! pieces saved, cuts the rows log back to the last of them and runs the rest, so the files are
//! those of an uninterrupted run.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::InputError;
use crate::experiment::resume::RowsMark;
use crate::experiment::sealed;
use crate::experiment::shard::Shard;
use crate::explore::pieces::{PieceOutcome, SavedPieces};
use crate::export::atomic;
use crate::export::study_shard::{StudyIdentity, mark_of};
use crate::export::tidy::RunsWriter;

/// Version of the saved piece format.
const FORMAT: u32 = 2;
/// The progress folder under the command's folder.
const PROGRESS: &str = ".progress";
/// The rows log in the progress folder.
const ROWS: &str = "runs.csv";

/// One finished piece.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SavedPiece<'a> {
    identity: Cow<'a, StudyIdentity>,
    piece: usize,
    /// The rows log's length when the piece finished.
    rows_bytes: u64,
    outcome: Cow<'a, PieceOutcome>,
}

/// The rows of a sweep's `runs.csv`: the configuration, the parameter columns and each grid
/// point's values.
pub struct Rows<'a> {
    /// Configuration.
    pub configuration: &'a str,
    /// Parameter columns and their meanings, as in `export::tidy::runs_columns`.
    pub parameters: &'a [(String, String)],
    /// Each point's parameter values.
    pub values: Vec<Vec<f64>>,
}

/// The pieces a study saved and its rows log, for [`crate::explore::pieces::Evaluation::run`].
pub struct PieceSaves {
    dir: PathBuf,
    identity: StudyIdentity,
    loaded: Vec<PieceOutcome>,
    /// `runs.csv` rows, appended as replications arrive, and each point's values.
    rows: Option<(RunsWriter<File>, Vec<Vec<f64>>)>,
    /// Pieces finished, saved ones included.
    pub finished: usize,
    /// The study stopped on a signal after `finished` pieces.
    pub stopped: bool,
    /// The first row that could not be written, reported when the piece finishes.
    row_error: Option<anyhow::Error>,
}

fn piece_file(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("piece-{i}.json"))
}

impl PieceSaves {
    /// Opens the study's saved progress in `study_dir`: afresh, or with `resume` the pieces a
    /// stopped run saved (refused when they belong to another study or were damaged). `rows`:
    /// write `runs.csv` (a sweep).
    pub fn open(
        study_dir: &Path,
        identity: StudyIdentity,
        rows: Option<Rows<'_>>,
        resume: bool,
    ) -> anyhow::Result<PieceSaves> {
        let dir = study_dir.join(PROGRESS);
        let rows_path = dir.join(ROWS);
        let mut loaded = Vec::new();
        let mut rows_bytes = None;
        if resume {
            while let Ok(bytes) = std::fs::read(piece_file(&dir, loaded.len())) {
                let file = piece_file(&dir, loaded.len());
                let p: SavedPiece<'static> = sealed::open(FORMAT, &bytes)
                    .map_err(|e| InputError(format!("{}: {e}", file.display())))?;
                if *p.identity != identity || p.piece != loaded.len() {
                    let what = p
                        .identity
                        .mismatch(&identity)
                        .map_or_else(|| "shard".to_string(), |(field, _, _)| field.to_string());
                    return Err(InputError(format!(
                        "{}: saved by another {} ({what} differs); run it without --resume to \
                         start afresh",
                        file.display(),
                        identity.command
                    ))
                    .into());
                }
                rows_bytes = Some(p.rows_bytes);
                loaded.push(p.outcome.into_owned());
            }
        } else if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot clear old progress in {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create output folder {}", dir.display()))?;
        if !loaded.is_empty() {
            // Said every time, so that a log shows where each attempt carried on from.
            let shard = if identity.shard == Shard::WHOLE {
                String::new()
            } else {
                format!(" shard {}", identity.shard)
            };
            super::note(&format!(
                "{}{shard}: resuming with pieces 1..{} saved in {}",
                identity.command,
                loaded.len(),
                dir.display()
            ));
        }
        let named = |e: std::io::Error| anyhow::anyhow!("{}: {e}", rows_path.display());
        let rows = match rows {
            None => None,
            Some(r) => Some((
                match rows_bytes {
                    Some(bytes) => {
                        let mut file = OpenOptions::new()
                            .write(true)
                            .open(&rows_path)
                            .map_err(named)?;
                        let found = file.metadata().map_err(named)?.len();
                        if found < bytes {
                            return Err(InputError(format!(
                                "{}: {found} bytes, but the saved pieces counted {bytes}; run \
                                 without --resume to start afresh",
                                rows_path.display()
                            ))
                            .into());
                        }
                        file.set_len(bytes).map_err(named)?;
                        file.seek(SeekFrom::End(0)).map_err(named)?;
                        RunsWriter::new(file, r.configuration, r.parameters, false)?
                    }
                    None => RunsWriter::new(
                        File::create(&rows_path).map_err(named)?,
                        r.configuration,
                        r.parameters,
                        true,
                    )?,
                },
                r.values,
            )),
        };
        Ok(PieceSaves {
            dir,
            identity,
            finished: loaded.len(),
            loaded,
            rows,
            stopped: false,
            row_error: None,
        })
    }

    /// The progress folder.
    pub fn progress_dir(&self) -> &Path {
        &self.dir
    }

    /// Moves the complete rows log (if any) to `runs.csv` in `study_dir` and removes the saved
    /// progress; returns the length and SHA-256 of `runs.csv`.
    pub fn finish(self, study_dir: &Path) -> anyhow::Result<Option<RowsMark>> {
        let mut mark = None;
        if let Some((rows, _)) = self.rows {
            let file = rows.into_inner()?;
            file.sync_data()?;
            let target = study_dir.join(crate::export::layout::RUNS);
            std::fs::rename(self.dir.join(ROWS), &target)
                .with_context(|| format!("cannot write {}", target.display()))?;
            mark = Some(
                mark_of(&target).with_context(|| format!("cannot read {}", target.display()))?,
            );
        }
        std::fs::remove_dir_all(&self.dir)
            .with_context(|| format!("cannot remove {}", self.dir.display()))?;
        Ok(mark)
    }
}

/// The study stopped on a signal after the piece it was running.
#[derive(Debug, thiserror::Error)]
#[error("stopped on request")]
struct Stop;

impl SavedPieces for PieceSaves {
    fn row(&mut self, point: usize, r: &crate::engine::ReplicationOutcome) {
        if let Some((rows, values)) = &mut self.rows {
            if self.row_error.is_none() {
                let v = values.get(point).map_or(&[][..], |v| v.as_slice());
                self.row_error = rows.write(v, r).err();
            }
        }
    }

    fn load(&mut self, j: usize) -> Option<PieceOutcome> {
        self.loaded.get(j).cloned()
    }

    fn save(&mut self, j: usize, outcome: &PieceOutcome, more: bool) -> anyhow::Result<()> {
        if let Some(e) = self.row_error.take() {
            return Err(e.context(format!("cannot write {}", self.dir.join(ROWS).display())));
        }
        let rows_bytes = match &mut self.rows {
            Some((rows, _)) => {
                rows.flush()?;
                let file = rows.get_ref();
                file.sync_data()?;
                file.metadata()?.len()
            }
            None => 0,
        };
        let saved = SavedPiece {
            identity: Cow::Borrowed(&self.identity),
            piece: j,
            rows_bytes,
            outcome: Cow::Borrowed(outcome),
        };
        atomic::write(&piece_file(&self.dir, j), &sealed::seal(FORMAT, &saved)?)?;
        self.finished = j + 1;
        // A shard whose last piece is saved is complete: it finishes rather than stopping with
        // nothing left to resume. (A whole study stops, so that a sweep's --refine waits.)
        let last_of_shard = !more && self.identity.shard != Shard::WHOLE;
        if super::stop::requested().is_some() && !last_of_shard {
            self.stopped = true;
            return Err(Stop.into());
        }
        Ok(())
    }
}
