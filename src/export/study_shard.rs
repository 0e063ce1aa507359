//! Shards of a study (`compare`, `sweep`, `sensitivity`, `backtest` with `--shard K/N`): each
//! shard leaves `shard.json` in its command's folder (`OUT/sweep/shard.json`, ...), written last,
//! with what it computed and everything the merge needs to write one machine's files: the
//! study's identity and settings, the scenario text, and its pieces' summaries. [`check_set`]
//! checks that a set of them is every shard of one study; the command line then runs the
//! command's own analysis on the folded pieces.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::atomic::{self, AtomicFile};
use crate::experiment::resume::RowsMark;
use crate::experiment::sealed::{self, hex_digest};
use crate::experiment::shard::{self, SetProblem, Shard};
use crate::explore::pieces::PieceOutcome;

/// The state file a study shard leaves in its command's folder.
pub const STATE_FILE: &str = super::layout::STUDY_SHARD;
/// Version of the state file format.
pub const FORMAT: u32 = 1;

/// What every shard of one study shares, its own index aside; saved progress is resumed, and
/// shards merged, only under the same identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudyIdentity {
    /// The command: `compare`, `sweep`, `sensitivity` or `backtest`.
    pub command: String,
    /// csmarket version that ran it.
    pub csmarket_version: String,
    /// SHA-256 of the scenario text.
    pub scenario_sha256: String,
    /// Configuration (for `compare`, every configuration, comma-separated).
    pub configuration: String,
    /// Master seed.
    pub seed: u64,
    /// Replications per point or configuration.
    pub replications: u64,
    /// The command's own settings (swept values, outputs, baseline...), as JSON.
    pub settings: String,
    /// SHA-256 of the `--posterior` file, if one was given.
    pub posterior_sha256: Option<String>,
    /// Which part of the study this is.
    pub shard: Shard,
}

impl StudyIdentity {
    /// The first field in which two pieces of a study differ (shard index ignored), as
    /// `(field, this value, other value)`.
    pub fn mismatch(&self, other: &StudyIdentity) -> Option<(&'static str, String, String)> {
        let posterior = |p: &Option<String>| p.clone().unwrap_or_else(|| "none".into());
        [
            ("command", self.command.clone(), other.command.clone()),
            (
                "csmarket version",
                self.csmarket_version.clone(),
                other.csmarket_version.clone(),
            ),
            (
                "scenario SHA-256",
                self.scenario_sha256.clone(),
                other.scenario_sha256.clone(),
            ),
            (
                "configuration",
                self.configuration.clone(),
                other.configuration.clone(),
            ),
            ("seed", self.seed.to_string(), other.seed.to_string()),
            (
                "replications",
                self.replications.to_string(),
                other.replications.to_string(),
            ),
            ("settings", self.settings.clone(), other.settings.clone()),
            (
                "posterior SHA-256",
                posterior(&self.posterior_sha256),
                posterior(&other.posterior_sha256),
            ),
            (
                "shard count",
                self.shard.count.to_string(),
                other.shard.count.to_string(),
            ),
        ]
        .into_iter()
        .find(|(_, a, b)| a != b)
    }
}

/// What a study shard leaves for the merge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyShard {
    /// The study and the shard of it.
    pub identity: StudyIdentity,
    /// The scenario's file name, as provenance names it.
    pub scenario_file: String,
    /// The exact scenario text the shard ran.
    pub scenario_text: String,
    /// What the command said about which scenario ran (kept in provenance).
    pub notes: Vec<String>,
    /// When the shard first started (RFC 3339).
    pub started: String,
    /// The shard's pieces, in order (none for `compare`, whose configurations are `run` shards).
    pub pieces: Vec<PieceOutcome>,
    /// Length and SHA-256 of the shard's `runs.csv`, where the command writes one per point.
    pub rows: Option<RowsMark>,
}

/// Why study shards could not be merged; every message names the folder or file at fault.
#[derive(Debug, thiserror::Error)]
pub enum StudyMergeError {
    /// A file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// Cause.
        source: io::Error,
    },
    /// A state file this version cannot read.
    #[error("{file}: not a shard state file ({message})")]
    Corrupt {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// Two shards of different studies.
    #[error(
        "{file} and {other} are not shards of the same study: {field} {a} vs {b}; merge only \
         shards of one command, scenario, seed, settings and shard count"
    )]
    Mismatch {
        /// One shard's state file.
        file: String,
        /// The other's.
        other: String,
        /// What differs.
        field: &'static str,
        /// Value in `file`.
        a: String,
        /// Value in `other`.
        b: String,
    },
    /// The same shard twice.
    #[error("{file} and {other} are both shard {shard}; each shard must be given once")]
    Duplicate {
        /// One.
        file: String,
        /// The other.
        other: String,
        /// The shard.
        shard: Shard,
    },
    /// Shards missing.
    #[error(
        "`{command}`: shard{s} {missing} of {count} missing (the shards given: {given}); merge \
         needs every shard's folder",
        s = if missing.contains(',') { "s" } else { "" }
    )]
    Missing {
        /// The command.
        command: String,
        /// The missing shards.
        missing: String,
        /// Shard count.
        count: u64,
        /// The folders given.
        given: String,
    },
    /// A shard's rows file is not the one it wrote.
    #[error("{file}: {message}; copy the shard's folder again")]
    Rows {
        /// The rows file.
        file: String,
        /// What differs.
        message: String,
    },
}

fn io_at(file: &Path) -> impl FnOnce(io::Error) -> StudyMergeError + '_ {
    move |source| StudyMergeError::Io {
        file: file.display().to_string(),
        source,
    }
}

/// Writes a study shard's state file into its command's folder, whole or not at all.
pub fn write(dir: &Path, state: &StudyShard) -> anyhow::Result<()> {
    atomic::write(&dir.join(STATE_FILE), &sealed::seal(FORMAT, state)?)?;
    Ok(())
}

/// Reads a study shard's state file from its command's folder.
pub fn read(dir: &Path) -> Result<StudyShard, StudyMergeError> {
    let file = dir.join(STATE_FILE);
    let bytes = fs::read(&file).map_err(io_at(&file))?;
    let state: StudyShard = sealed::open(FORMAT, &bytes).map_err(|e| StudyMergeError::Corrupt {
        file: file.display().to_string(),
        message: e.to_string(),
    })?;
    let s = state.identity.shard;
    if Shard::new(s.index, s.count).is_err() {
        return Err(StudyMergeError::Corrupt {
            file: file.display().to_string(),
            message: format!("no such shard {s}"),
        });
    }
    Ok(state)
}

/// The length and SHA-256 of a whole file.
pub fn mark_of(file: &Path) -> io::Result<RowsMark> {
    let mut hasher = Sha256::new();
    let bytes = io::copy(&mut File::open(file)?, &mut hasher)?;
    Ok(RowsMark {
        bytes,
        sha256: hex_digest(hasher),
    })
}

/// Whether `dir` holds a complete shard of the study `identity` (shard index included), its rows
/// file as it wrote it: a rerun with `--resume` then has nothing to do.
pub fn complete(dir: &Path, identity: &StudyIdentity) -> bool {
    let Ok(state) = read(dir) else {
        return false;
    };
    state.identity == *identity
        && state
            .rows
            .as_ref()
            .is_none_or(|m| mark_of(&dir.join(super::layout::RUNS)).is_ok_and(|found| found == *m))
}

/// Reads the shards in `dirs` (each a command's folder of one shard) and checks that they are
/// every shard of one study, each once; returns them in shard order with their folders.
pub fn check_set(dirs: &[PathBuf]) -> Result<Vec<(PathBuf, StudyShard)>, StudyMergeError> {
    let mut states = Vec::with_capacity(dirs.len());
    for d in dirs {
        states.push((d.clone(), read(d)?));
    }
    let file = |d: &Path| d.join(STATE_FILE).display().to_string();
    let checked = shard::check_set(
        &mut states,
        |(_, s)| s.identity.shard,
        |(_, a), (_, b)| a.identity.mismatch(&b.identity),
    );
    match checked {
        Ok(()) => {}
        Err(SetProblem::Mismatch {
            first: (first_dir, _),
            other: (d, _),
            field: (field, a, b),
        }) => {
            return Err(StudyMergeError::Mismatch {
                file: file(first_dir),
                other: file(d),
                field,
                a,
                b,
            });
        }
        Err(SetProblem::Duplicate {
            first: (d0, _),
            other: (d1, _),
            shard,
        }) => {
            return Err(StudyMergeError::Duplicate {
                file: file(d0),
                other: file(d1),
                shard,
            });
        }
        Err(SetProblem::Missing(missing)) => {
            let id = &states[0].1.identity;
            let count = id.shard.count;
            return Err(StudyMergeError::Missing {
                command: id.command.clone(),
                missing: missing
                    .iter()
                    .map(|k| format!("{k}/{count}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                count,
                given: dirs
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    for (d, s) in &states {
        if let Some(mark) = &s.rows {
            let rows = d.join(super::layout::RUNS);
            let found = mark_of(&rows).map_err(io_at(&rows))?;
            if found != *mark {
                return Err(StudyMergeError::Rows {
                    file: rows.display().to_string(),
                    message: format!(
                        "{} bytes with another SHA-256 than the {} bytes the shard wrote",
                        found.bytes, mark.bytes
                    ),
                });
            }
        }
    }
    Ok(states)
}

/// Concatenates the shards' `runs.csv` (checked by [`check_set`]) under one header into `target`.
pub fn merge_rows(shards: &[(PathBuf, StudyShard)], target: &Path) -> Result<(), StudyMergeError> {
    let mut out = AtomicFile::create(target).map_err(io_at(target))?;
    for (k, (dir, _)) in shards.iter().enumerate() {
        let file = dir.join(super::layout::RUNS);
        let mut reader =
            BufReader::with_capacity(1 << 20, File::open(&file).map_err(io_at(&file))?);
        let mut header = Vec::new();
        reader
            .read_until(b'\n', &mut header)
            .map_err(io_at(&file))?;
        if k == 0 {
            out.write_all(&header).map_err(io_at(target))?;
        }
        io::copy(&mut reader, &mut out).map_err(io_at(&file))?;
    }
    out.commit().map_err(io_at(target))
}

/// The SHA-256 of a file's bytes, for the identity of a `--posterior` file.
pub fn file_sha256(file: &Path) -> io::Result<String> {
    Ok(mark_of(file)?.sha256)
}

/// The pieces of every shard, in shard order.
pub fn all_pieces(shards: Vec<(PathBuf, StudyShard)>) -> impl Iterator<Item = PieceOutcome> {
    shards.into_iter().flat_map(|(_, s)| s.pieces)
}
