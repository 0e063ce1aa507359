//! Saved progress of a long run, so that a run killed part-way can finish later with the same
//! output as an uninterrupted one.
//!
//! A run keeps, in `<configuration folder>/.progress/`, the replication rows written so far
//! (`replications.csv`) and the saved state (`state.json`): the exactly mergeable summary of every
//! replication before `next`, and how many bytes of the rows file those replications fill. The
//! rows file is synced before the state is renamed into place, so saved progress never counts
//! rows that are not on disk; rows written after the last save are cut off on resume.
//!
//! "Checkpoint" in csmarket means only the Board's assurance checkpoints; this is saved progress.

use std::borrow::Cow;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use sha2::Sha256;

use super::Summary;
use super::sealed::{self, file_prefix_digest, hex_digest};
use super::shard::RunIdentity;

/// Folder, inside a configuration's output folder, that holds a run's saved progress.
pub const PROGRESS_DIR: &str = ".progress";
/// The saved state file in the progress folder.
pub const STATE_FILE: &str = "state.json";
/// The replication rows written so far, in the progress folder.
pub const ROWS_FILE: &str = "replications.csv";
/// Marks the saved state complete, in the progress folder: it holds the digest the state was
/// sealed with. A marker rather than the state saved again, which for England 2012 is 8 to 12 MB.
pub const COMPLETE_FILE: &str = "complete";
/// Version of the saved-progress format; progress saved in another format is not resumed.
/// Format 2 seals the state with its SHA-256 and records the SHA-256 of the rows it counts.
pub const FORMAT: u32 = 3;

/// The progress folder of a configuration's output folder.
pub fn progress_dir(config_dir: &Path) -> PathBuf {
    config_dir.join(PROGRESS_DIR)
}

/// Removes a configuration folder's saved progress, once its results are all written.
pub fn clear(config_dir: &Path) -> Result<(), ResumeError> {
    let dir = progress_dir(config_dir);
    match fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error(&dir)(e)),
        _ => Ok(()),
    }
}

/// Why saved progress could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// Reading or writing a progress file failed.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// Cause.
        source: io::Error,
    },
    /// The saved progress is not one this version can read.
    #[error("{file}: not usable saved progress ({message}); delete the folder to start again")]
    Corrupt {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// The saved progress belongs to another run.
    #[error(
        "{file}: saved progress is from another run ({field} {saved}, this run {wanted}); \
         run without --resume to start again"
    )]
    Mismatch {
        /// The file.
        file: String,
        /// The field that differs.
        field: &'static str,
        /// Its value in the saved progress.
        saved: String,
        /// Its value in this run.
        wanted: String,
    },
}

/// How much of a rows file a state counts: its first `bytes` bytes, whose SHA-256 is `sha256`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowsMark {
    /// Length in bytes.
    pub bytes: u64,
    /// SHA-256 of those bytes, hex.
    pub sha256: String,
}

impl RowsMark {
    /// Checks that a rows file begins with the rows this mark counts; returns the hasher of
    /// those bytes, to carry on hashing rows appended after them.
    pub fn check(&self, rows: &Path, what: &str) -> Result<Sha256, ResumeError> {
        let corrupt = |message: String| ResumeError::Corrupt {
            file: rows.display().to_string(),
            message,
        };
        let (found, hasher) = file_prefix_digest(rows, self.bytes).map_err(io_error(rows))?;
        if found < self.bytes {
            return Err(corrupt(format!(
                "{found} bytes, but {what} counted {}",
                self.bytes
            )));
        }
        if hex_digest(hasher.clone()) != self.sha256 {
            return Err(corrupt(format!(
                "its rows are not those {what} counted (edited or damaged after they were written)"
            )));
        }
        Ok(hasher)
    }
}

/// A run's saved progress: everything needed to carry on from replication `next`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedProgress<'a> {
    /// The run this is progress of.
    pub identity: Cow<'a, RunIdentity>,
    /// When the run first started (RFC 3339); a resumed run reports it.
    pub started: String,
    /// The first replication not yet folded in.
    pub next: u64,
    /// The part of the rows file holding the replications before `next`.
    pub rows: RowsMark,
    /// Every output of the run has been written.
    pub complete: bool,
    /// Summary of the replications from the run's first to `next`.
    pub summary: Cow<'a, Summary>,
}

/// Writes `bytes` to `dir/name` whole or not at all (temporary file, sync, rename; the temporary
/// file is removed if that fails), so a kill at any moment leaves the previous file or this one.
fn write_whole(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), ResumeError> {
    let target = dir.join(name);
    let temp = dir.join(format!(".{name}.partial-{}", std::process::id()));
    let write = || -> io::Result<()> {
        let mut f = File::create(&temp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&temp, &target)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&temp);
        io_error(&target)(e)
    })
}

fn io_error(file: &Path) -> impl FnOnce(io::Error) -> ResumeError + '_ {
    move |source| ResumeError::Io {
        file: file.display().to_string(),
        source,
    }
}

impl SavedProgress<'_> {
    /// Writes the saved progress, sealed, into a progress folder, whole or not at all (temporary
    /// file, sync, rename): a kill at any moment leaves the previous save or this one. Returns
    /// the digest it was sealed with.
    pub fn save(&self, dir: &Path) -> Result<String, ResumeError> {
        let target = dir.join(STATE_FILE);
        let (bytes, digest) =
            sealed::seal_with_digest(FORMAT, self).map_err(|e| ResumeError::Corrupt {
                file: target.display().to_string(),
                message: e.to_string(),
            })?;
        write_whole(dir, STATE_FILE, &bytes)?;
        Ok(digest)
    }

    /// Marks the state saved in `dir` with seal `digest` complete: every output of its run is
    /// written. Whole or not at all; a marker naming another state is ignored.
    pub fn mark_complete(dir: &Path, digest: &str) -> Result<(), ResumeError> {
        write_whole(dir, COMPLETE_FILE, digest.as_bytes())
    }

    /// The saved progress in a progress folder, if there is one.
    pub fn load(dir: &Path) -> Result<Option<SavedProgress<'static>>, ResumeError> {
        Ok(Self::load_sealed(dir)?.map(|(c, _)| c))
    }

    /// [`Self::load`], and the digest the state was sealed with. The state is complete when it
    /// was saved so, or when the folder's complete marker names its digest.
    pub fn load_sealed(
        dir: &Path,
    ) -> Result<Option<(SavedProgress<'static>, String)>, ResumeError> {
        let file = dir.join(STATE_FILE);
        let bytes = match fs::read(&file) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&file)(e)),
        };
        let corrupt = |message: String| ResumeError::Corrupt {
            file: file.display().to_string(),
            message,
        };
        let (mut c, digest): (SavedProgress<'static>, String) =
            sealed::open_with_digest(FORMAT, &bytes).map_err(|e| corrupt(e.to_string()))?;
        let range = c.identity.range();
        if !(range.start..=range.end).contains(&c.next)
            || c.summary.replications != c.next - range.start
        {
            return Err(corrupt(format!(
                "it claims replications {}..{} but summarises {}",
                range.start, c.next, c.summary.replications
            )));
        }
        let marker = dir.join(COMPLETE_FILE);
        match fs::read(&marker) {
            Ok(named) => c.complete |= c.next == range.end && named == digest.as_bytes(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&marker)(e)),
        }
        Ok(Some((c, digest)))
    }

    /// Checks that the saved state is progress of the run `identity` (shard index included).
    pub fn belongs_to(&self, identity: &RunIdentity, dir: &Path) -> Result<(), ResumeError> {
        let mismatch = self.identity.mismatch(identity).or_else(|| {
            (self.identity.shard != identity.shard).then(|| {
                (
                    "shard",
                    self.identity.shard.to_string(),
                    identity.shard.to_string(),
                )
            })
        });
        match mismatch {
            None => Ok(()),
            Some((field, saved, wanted)) => Err(ResumeError::Mismatch {
                file: dir.join(STATE_FILE).display().to_string(),
                field,
                saved,
                wanted,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::shard::Shard;
    use crate::experiment::summarise;
    use crate::model::Market;

    fn market() -> Market {
        crate::engine::testing::market("collaborative")
    }

    fn identity() -> RunIdentity {
        RunIdentity {
            csmarket_version: "test".into(),
            scenario_sha256: "00".into(),
            configuration: "collaborative".into(),
            seed: 7,
            replications: 40,
            shard: Shard::new(1, 2).unwrap(),
            posterior_sha256: None,
        }
    }

    fn mark(bytes: u64) -> RowsMark {
        RowsMark {
            bytes,
            sha256: "ab".into(),
        }
    }

    #[test]
    fn saved_progress_edited_by_hand_is_refused() {
        let m = market();
        let summary = summarise(&m, 20..30, 1).unwrap();
        let id = identity();
        let c = SavedProgress {
            identity: Cow::Borrowed(&id),
            started: "then".into(),
            next: 30,
            rows: mark(123),
            complete: false,
            summary: Cow::Borrowed(&summary),
        };
        let dir = tempfile::tempdir().unwrap();
        c.save(dir.path()).unwrap();
        let file = dir.path().join(STATE_FILE);
        let text = fs::read_to_string(&file).unwrap();
        fs::write(&file, text.replace("\"next\":30", "\"next\":31")).unwrap();
        let e = SavedProgress::load(dir.path()).unwrap_err();
        assert!(matches!(e, ResumeError::Corrupt { .. }), "{e}");
        assert!(e.to_string().contains("SHA-256 seal"), "{e}");
    }

    #[test]
    fn rows_edited_or_cut_short_do_not_match_their_mark() {
        use sha2::Digest;
        let dir = tempfile::tempdir().unwrap();
        let rows = dir.path().join(ROWS_FILE);
        fs::write(&rows, "h\n1,0.5\n2,0.7\n").unwrap();
        let good = RowsMark {
            bytes: 8,
            sha256: hex_digest(Sha256::new_with_prefix(b"h\n1,0.5\n")),
        };
        good.check(&rows, "the save").unwrap();
        fs::write(&rows, "h\n1,0.6\n2,0.7\n").unwrap();
        let e = good.check(&rows, "the save").unwrap_err().to_string();
        assert!(e.contains("not those the save counted"), "{e}");
        fs::write(&rows, "h\n1,0").unwrap();
        let e = good.check(&rows, "the save").unwrap_err().to_string();
        assert!(e.contains("5 bytes, but the save counted 8"), "{e}");
    }

    #[test]
    fn saved_progress_round_trips_exactly() {
        let m = market();
        let summary = summarise(&m, 20..30, 1).unwrap();
        let id = identity();
        let c = SavedProgress {
            identity: Cow::Borrowed(&id),
            started: "then".into(),
            next: 30,
            rows: mark(123),
            complete: false,
            summary: Cow::Borrowed(&summary),
        };
        let dir = tempfile::tempdir().unwrap();
        c.save(dir.path()).unwrap();
        let back = SavedProgress::load(dir.path()).unwrap().unwrap();
        assert_eq!(back, c);
        back.belongs_to(&id, dir.path()).unwrap();
        let mut other = id.clone();
        other.shard = Shard::new(0, 2).unwrap();
        let e = back.belongs_to(&other, dir.path()).unwrap_err().to_string();
        assert!(e.contains("shard 1/2, this run 0/2"), "{e}");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
    }

    #[test]
    fn a_saved_state_is_complete_when_the_marker_names_its_seal_and_only_then() {
        let m = market();
        let id = identity();
        let dir = tempfile::tempdir().unwrap();
        let summary = summarise(&m, 20..40, 1).unwrap();
        let save = |started: &str| {
            SavedProgress {
                identity: Cow::Borrowed(&id),
                started: started.into(),
                next: 40,
                rows: mark(20),
                complete: false,
                summary: Cow::Borrowed(&summary),
            }
            .save(dir.path())
            .unwrap()
        };
        let complete = || SavedProgress::load(dir.path()).unwrap().unwrap().complete;
        let digest = save("then");
        assert!(!complete(), "no marker yet");
        SavedProgress::mark_complete(dir.path(), "0123").unwrap();
        assert!(!complete(), "a marker naming another state");
        SavedProgress::mark_complete(dir.path(), &digest).unwrap();
        assert!(complete());
        let (_, sealed) = SavedProgress::load_sealed(dir.path()).unwrap().unwrap();
        assert_eq!(sealed, digest);
        // Saved again (a state of other contents), the old marker no longer holds.
        save("later");
        assert!(!complete(), "the marker of the state before");
    }

    #[test]
    fn saved_progress_that_miscounts_is_refused() {
        let m = market();
        let summary = summarise(&m, 20..25, 1).unwrap();
        let id = identity();
        let c = SavedProgress {
            identity: Cow::Borrowed(&id),
            started: String::new(),
            next: 30,
            rows: mark(0),
            complete: false,
            summary: Cow::Borrowed(&summary),
        };
        let dir = tempfile::tempdir().unwrap();
        c.save(dir.path()).unwrap();
        assert!(matches!(
            SavedProgress::load(dir.path()),
            Err(ResumeError::Corrupt { .. })
        ));
        assert!(
            SavedProgress::load(&dir.path().join("none"))
                .unwrap()
                .is_none()
        );
    }
}
