//! Shard results and merging them: a shard writes, beside its usual files, `state.json` with its
//! exactly mergeable summary and where it came from; [`merge`] checks that a set of shards makes
//! one whole run and writes the files one machine would have written for it.
//!
//! Every results file of the merge (`providers.csv`, `services.csv`, `timeseries.csv`,
//! `replications.csv`) is bit for bit the one-machine file. So is `summary.json`, except for the
//! provenance fields that describe how the work was run rather than what was computed:
//! [`RUN_FIELDS`].

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::atomic::{self, AtomicFile};
use super::{Provenance, write_summary};
use crate::experiment::Summary;
use crate::experiment::resume::RowsMark;
use crate::experiment::sealed::{self, HashingReader, hex_digest};
use crate::experiment::shard::{self, RunIdentity, SetProblem, Shard};

/// A shard's state file, in each configuration folder of a shard's output.
pub const STATE_FILE: &str = super::layout::SHARD_STATE;
/// Version of the state file format. Format 2 seals the state with its SHA-256 and records the
/// SHA-256 of the shard's `replications.csv`.
pub const FORMAT: u32 = 3;
/// Provenance fields of `summary.json` that may differ between a merge and a one-machine run:
/// they record how and when the work was done (the merge's command line and thread count, the
/// first shard's start and the merge's end), not what was computed.
pub const RUN_FIELDS: [&str; 4] = ["threads", "started", "finished", "command_line"];

/// What a shard leaves for the merge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardState<'a> {
    /// The run and the shard of it.
    pub identity: Cow<'a, RunIdentity>,
    /// The shard's provenance, as in its `summary.json`.
    pub provenance: Cow<'a, Provenance>,
    /// Length and SHA-256 of the shard's `replications.csv`, to catch a truncated or edited copy.
    pub rows: RowsMark,
    /// The shard's summary.
    pub summary: Cow<'a, Summary>,
    /// Display names for the charts the merged output draws, as one machine would.
    #[serde(default)]
    pub labels: Cow<'a, crate::experiment::Labels>,
}

/// Why shards could not be merged; every message names the folders or files at fault.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A file could not be read or written.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// Cause.
        source: io::Error,
    },
    /// A folder holds no shard results.
    #[error(
        "{dir}: no shard results here (no <configuration>/{STATE_FILE}); shards are written by `csmarket run --shard K/N --out DIR` (or compare, sweep, sensitivity, backtest)"
    )]
    NotAShard {
        /// The folder.
        dir: String,
    },
    /// A state file is not one this version can read.
    #[error("{file}: not a shard state file ({message})")]
    Corrupt {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// Two shards ran different sets of configurations.
    #[error(
        "{dir} has configurations {found} but {first} has {expected}; shards of one run hold the same configurations"
    )]
    Configurations {
        /// The odd folder.
        dir: String,
        /// Its configurations.
        found: String,
        /// The first folder.
        first: String,
        /// The first folder's configurations.
        expected: String,
    },
    /// Two shards come from different runs.
    #[error(
        "{file} and {other} are not shards of the same run: {field} {a} vs {b}; merge only shards of one scenario, seed, version and replication count"
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
    /// The same shard was given twice.
    #[error("{file} and {other} are both shard {shard}; each shard must be given once")]
    Duplicate {
        /// One.
        file: String,
        /// The other.
        other: String,
        /// The shard.
        shard: Shard,
    },
    /// Shards are missing, so the ranges do not cover the run.
    #[error(
        "configuration `{configuration}`: shard{s} {missing} of {count} missing; replications {gap} would not be covered",
        s = if missing.contains(',') { "s" } else { "" }
    )]
    Missing {
        /// Configuration.
        configuration: String,
        /// The missing shard indices.
        missing: String,
        /// Shard count.
        count: u64,
        /// The first uncovered range.
        gap: String,
    },
    /// A shard's rows file is not the one it wrote.
    #[error("{file}: {message}; copy the shard's folder again")]
    Rows {
        /// The rows file.
        file: String,
        /// What differs.
        message: String,
    },
    /// A shard folder given to merge does not exist.
    #[error("{0}: no such shard folder")]
    NoSuchFolder(String),
    /// The output folder is one of the shards.
    #[error("--out {0} is one of the shard folders; merge into a new folder")]
    OutIsShard(String),
    /// Writing the merged results failed.
    #[error("cannot write merged results in {dir}: {source:#}")]
    Write {
        /// The folder.
        dir: String,
        /// Cause.
        source: anyhow::Error,
    },
}

impl MergeError {
    /// Whether the error is in what the user gave (exit status 2) rather than a disk failure.
    pub fn is_input_error(&self) -> bool {
        !matches!(self, MergeError::Io { .. } | MergeError::Write { .. })
    }
}

fn io_at(file: &Path) -> impl FnOnce(io::Error) -> MergeError + '_ {
    move |source| MergeError::Io {
        file: file.display().to_string(),
        source,
    }
}

/// Writes a shard's state file, sealed with its SHA-256, into its configuration folder.
pub fn write_state(config_dir: &Path, state: &ShardState<'_>) -> anyhow::Result<()> {
    atomic::write(&config_dir.join(STATE_FILE), &sealed::seal(FORMAT, state)?)?;
    Ok(())
}

/// Reads a shard's state file from its configuration folder.
pub fn read_state(config_dir: &Path) -> Result<ShardState<'static>, MergeError> {
    let file = config_dir.join(STATE_FILE);
    let bytes = fs::read(&file).map_err(io_at(&file))?;
    let corrupt = |message: String| MergeError::Corrupt {
        file: file.display().to_string(),
        message,
    };
    let state: ShardState<'static> =
        sealed::open(FORMAT, &bytes).map_err(|e| corrupt(e.to_string()))?;
    let shard = state.identity.shard;
    if Shard::new(shard.index, shard.count).is_err() {
        return Err(corrupt(format!("no such shard {shard}")));
    }
    let range = state.identity.range();
    if state.summary.replications != range.end - range.start
        || state.provenance.first_replication != Some(range.start)
    {
        return Err(corrupt(format!(
            "shard {} should hold replications {}..{} but holds {} from {}",
            state.identity.shard,
            range.start,
            range.end,
            state.summary.replications,
            state
                .provenance
                .first_replication
                .map_or_else(|| "nowhere".into(), |f| f.to_string())
        )));
    }
    Ok(state)
}

/// The configurations a shard folder holds results for, by name.
fn shard_configurations(dir: &Path) -> Result<BTreeMap<String, PathBuf>, MergeError> {
    let mut found = BTreeMap::new();
    if !dir.is_dir() {
        return Err(if dir.exists() {
            MergeError::NotAShard {
                dir: dir.display().to_string(),
            }
        } else {
            MergeError::NoSuchFolder(dir.display().to_string())
        });
    }
    for entry in fs::read_dir(dir).map_err(io_at(dir))? {
        let entry = entry.map_err(io_at(dir))?;
        let path = entry.path();
        if path.join(STATE_FILE).is_file() {
            found.insert(entry.file_name().to_string_lossy().into_owned(), path);
        }
    }
    if found.is_empty() {
        return Err(MergeError::NotAShard {
            dir: dir.display().to_string(),
        });
    }
    Ok(found)
}

fn names(m: &BTreeMap<String, PathBuf>) -> String {
    m.keys().cloned().collect::<Vec<_>>().join(", ")
}

/// One configuration's shards, checked and in shard order.
struct Shards {
    states: Vec<(PathBuf, ShardState<'static>)>,
}

/// Checks that the shards of one configuration belong to one run and cover it exactly.
fn check(configuration: &str, dirs: Vec<PathBuf>) -> Result<Shards, MergeError> {
    let mut states = Vec::with_capacity(dirs.len());
    let mut first_header = None;
    for d in dirs {
        let s = read_state(&d)?;
        let header = check_rows(
            &d.join(super::layout::REPLICATIONS),
            &s,
            first_header.as_ref(),
        )?;
        first_header.get_or_insert(header);
        states.push((d, s));
    }
    let state_file = |d: &Path| d.join(STATE_FILE).display().to_string();
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
            return Err(MergeError::Mismatch {
                file: state_file(first_dir),
                other: state_file(d),
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
            return Err(MergeError::Duplicate {
                file: state_file(d0),
                other: state_file(d1),
                shard,
            });
        }
        Err(SetProblem::Missing(missing)) => {
            let id = &states[0].1.identity;
            let count = id.shard.count;
            let gap = Shard {
                index: missing[0],
                count,
            }
            .range(id.replications);
            return Err(MergeError::Missing {
                configuration: configuration.to_string(),
                missing: missing
                    .iter()
                    .map(|k| format!("{k}/{count}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                count,
                gap: format!("{}..{}", gap.start, gap.end),
            });
        }
    }
    Ok(Shards { states })
}

/// Reads a shard's whole rows file and checks it is the one the shard wrote: its length and
/// SHA-256, a header like the first shard's, and one row per replication of the shard's range, in
/// order. Returns the header.
fn check_rows(
    file: &Path,
    state: &ShardState<'_>,
    first_header: Option<&csv::ByteRecord>,
) -> Result<csv::ByteRecord, MergeError> {
    let refuse = |message: String| MergeError::Rows {
        file: file.display().to_string(),
        message,
    };
    let found = fs::metadata(file).map_err(io_at(file))?.len();
    if found != state.rows.bytes {
        return Err(refuse(format!(
            "{found} bytes, but the shard wrote {}",
            state.rows.bytes
        )));
    }
    let f = File::open(file).map_err(io_at(file))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(HashingReader::new(BufReader::with_capacity(1 << 20, f)));
    let mut record = csv::ByteRecord::new();
    let csv_error = |e: csv::Error| refuse(format!("not a CSV file ({e})"));
    if !reader.read_byte_record(&mut record).map_err(csv_error)? {
        return Err(refuse("empty, with no header".into()));
    }
    let header = record.clone();
    if first_header.is_some_and(|h| *h != header) {
        return Err(refuse("its header differs from the first shard's".into()));
    }
    let range = state.identity.range();
    let mut expected = range.clone();
    while reader.read_byte_record(&mut record).map_err(csv_error)? {
        let id = record.get(1).and_then(|b| std::str::from_utf8(b).ok());
        match (expected.next(), id) {
            (Some(want), Some(id)) if id == want.to_string() && record.len() == header.len() => {}
            (want, _) => {
                return Err(refuse(format!(
                    "row {} is not replication {} of the shard's {}..{}",
                    record.position().map_or(0, |p| p.line()),
                    want.map_or_else(|| "(none left)".into(), |w| w.to_string()),
                    range.start,
                    range.end
                )));
            }
        }
    }
    if let Some(want) = expected.next() {
        return Err(refuse(format!(
            "its rows stop before replication {want} of the shard's {}..{}",
            range.start, range.end
        )));
    }
    let (_, hasher) = reader.into_inner().finish();
    if hex_digest(hasher) != state.rows.sha256 {
        return Err(refuse(
            "its rows are not those the shard wrote (edited or damaged after they were written)"
                .into(),
        ));
    }
    Ok(header)
}

/// Splits a `replications.csv` reader after its header line.
fn header(reader: &mut BufReader<File>, file: &Path) -> Result<Vec<u8>, MergeError> {
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line).map_err(io_at(file))?;
    Ok(line)
}

/// Concatenates the shards' rows under one header into `target`; every rows file was checked,
/// and only its length is checked again here.
fn merge_rows(shards: &Shards, target: &Path) -> Result<(), MergeError> {
    let mut out = AtomicFile::create(target).map_err(io_at(target))?;
    for (k, (dir, s)) in shards.states.iter().enumerate() {
        let file = dir.join(super::layout::REPLICATIONS);
        let found = fs::metadata(&file).map_err(io_at(&file))?.len();
        if found != s.rows.bytes {
            return Err(MergeError::Rows {
                file: file.display().to_string(),
                message: format!(
                    "changed while being merged ({found} bytes, was {})",
                    s.rows.bytes
                ),
            });
        }
        let f = File::open(&file).map_err(io_at(&file))?;
        let mut reader = BufReader::with_capacity(1 << 20, f);
        let h = header(&mut reader, &file)?;
        if k == 0 {
            out.write_all(&h).map_err(io_at(target))?;
        }
        io::copy(&mut reader, &mut out).map_err(io_at(&file))?;
    }
    out.commit().map_err(io_at(target))
}

/// Concatenates the shards' `series.csv` under one header into `target`, when every shard wrote
/// one (`--series`); rows are in replication order within each shard, and shards in order.
fn merge_series(shards: &Shards, target: &Path) -> Result<(), MergeError> {
    let files: Vec<PathBuf> = shards
        .states
        .iter()
        .map(|(dir, _)| dir.join(super::layout::SERIES))
        .collect();
    if !files.iter().all(|f| f.is_file()) {
        return Ok(());
    }
    let mut out = AtomicFile::create(target).map_err(io_at(target))?;
    for (k, file) in files.iter().enumerate() {
        let f = File::open(file).map_err(io_at(file))?;
        let mut reader = BufReader::with_capacity(1 << 20, f);
        let h = header(&mut reader, file)?;
        if k == 0 {
            out.write_all(&h).map_err(io_at(target))?;
        }
        io::copy(&mut reader, &mut out).map_err(io_at(file))?;
    }
    out.commit().map_err(io_at(target))
}

/// The provenance of the merged run: the shards' own, for the whole range, with the run fields
/// ([`RUN_FIELDS`]) describing the merge.
fn merged_provenance(shards: &Shards, command_line: &[String]) -> Provenance {
    let mut p = shards.states[0].1.provenance.as_ref().clone();
    p.first_replication = Some(0);
    p.replications = shards.states[0].1.identity.replications;
    p.threads = shards
        .states
        .iter()
        .map(|(_, s)| s.provenance.threads)
        .max()
        .unwrap_or(p.threads);
    p.started = shards
        .states
        .iter()
        .map(|(_, s)| s.provenance.started.clone())
        .min()
        .unwrap_or_default();
    p.finished = chrono::Utc::now().to_rfc3339();
    p.command_line = command_line.to_vec();
    p
}

/// Shard folders checked to be every shard of one run, ready to be written as one.
pub struct CheckedMerge {
    configurations: Vec<(String, Shards)>,
    /// The shard folders, for the scenario text they were run from.
    roots: Vec<PathBuf>,
}

/// Checks that shard folders are every shard of one run, reading everything the merge will use,
/// so that a refusal leaves nothing written.
pub fn check_shards(shard_dirs: &[PathBuf], out: &Path) -> Result<CheckedMerge, MergeError> {
    let canonical_out = fs::canonicalize(out).ok();
    let mut layouts = Vec::with_capacity(shard_dirs.len());
    for d in shard_dirs {
        if canonical_out.is_some() && fs::canonicalize(d).ok() == canonical_out {
            return Err(MergeError::OutIsShard(out.display().to_string()));
        }
        layouts.push((d, shard_configurations(d)?));
    }
    let (first_dir, first) = &layouts[0];
    for (d, l) in &layouts[1..] {
        if l.keys().ne(first.keys()) {
            return Err(MergeError::Configurations {
                dir: d.display().to_string(),
                found: names(l),
                first: first_dir.display().to_string(),
                expected: names(first),
            });
        }
    }
    let mut configurations = Vec::with_capacity(first.len());
    for configuration in first.keys() {
        let dirs = layouts
            .iter()
            .map(|(_, l)| l[configuration].clone())
            .collect();
        configurations.push((configuration.clone(), check(configuration, dirs)?));
    }
    Ok(CheckedMerge {
        configurations,
        roots: shard_dirs.to_vec(),
    })
}

/// One configuration of a merged run: its folder, summary and display names, from which the
/// caller draws the charts one machine would have drawn (charts are not drawn here).
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The configuration's folder under the merge's output.
    pub dir: PathBuf,
    /// The merged summary.
    pub summary: Summary,
    /// Display names, as the shards kept them.
    pub labels: crate::experiment::Labels,
}

/// Merges shard folders into `out`: checks they are every shard of one run, folds their summaries
/// in shard order and writes each configuration's results files as one machine would have.
/// Returns each configuration's merged summary, in name order.
pub fn merge(
    shard_dirs: &[PathBuf],
    out: &Path,
    command_line: &[String],
) -> Result<Vec<Merged>, MergeError> {
    check_shards(shard_dirs, out)?.write(out, command_line)
}

impl CheckedMerge {
    /// The configurations of the shards, in name order.
    pub fn configuration_names(&self) -> Vec<String> {
        self.configurations.iter().map(|(c, _)| c.clone()).collect()
    }

    /// Puts the configurations in the order of `names` (a comparison's), which the tidy tables follow.
    pub fn order_by(&mut self, names: &[String]) {
        self.configurations
            .sort_by_key(|(c, _)| names.iter().position(|n| n == c));
    }

    /// Folds the checked shards' summaries in shard order and writes each configuration's results
    /// files into `out` as one machine would have; returns each merged configuration, from which
    /// the caller draws the charts (as `run` draws them).
    pub fn write(self, out: &Path, command_line: &[String]) -> Result<Vec<Merged>, MergeError> {
        let mut summaries = Vec::with_capacity(self.configurations.len());
        let names: Vec<String> = self.configurations.iter().map(|(c, _)| c.clone()).collect();
        let scenario_sha256 = self
            .configurations
            .first()
            .map(|(_, s)| s.states[0].1.identity.scenario_sha256.clone());
        for (configuration, shards) in self.configurations {
            let mut summary = shards.states[0].1.summary.as_ref().clone();
            for (_, s) in &shards.states[1..] {
                summary.merge(&s.summary);
            }
            let dir = out.join(&configuration);
            let write_error = |source: anyhow::Error| MergeError::Write {
                dir: dir.display().to_string(),
                source,
            };
            fs::create_dir_all(&dir).map_err(io_at(&dir))?;
            merge_rows(&shards, &dir.join(super::layout::REPLICATIONS))?;
            merge_series(&shards, &dir.join(super::layout::SERIES))?;
            write_summary(&dir, &summary, &merged_provenance(&shards, command_line))
                .map_err(write_error)?;
            summaries.push(Merged {
                labels: shards.states[0].1.labels.as_ref().clone(),
                dir,
                summary,
            });
        }
        // The tidy tables are made from the merged rows, so they are one machine's bytes too.
        let tidy_error = |source: anyhow::Error| MergeError::Write {
            dir: out.display().to_string(),
            source,
        };
        super::tidy::write_tidy(out, &names).map_err(tidy_error)?;
        // The scenario text the shards ran, when a shard kept it and it is the text they ran.
        for root in &self.roots {
            let file = root.join(super::layout::SCENARIO);
            let Ok(text) = fs::read(&file) else { continue };
            let sha = hex_digest(sha2::Sha256::new_with_prefix(&text));
            if Some(&sha) == scenario_sha256.as_ref() {
                atomic::write(&out.join(super::layout::SCENARIO), &text)
                    .map_err(io_at(&out.join(super::layout::SCENARIO)))?;
                break;
            }
        }
        Ok(summaries)
    }
}
