//! Shards of `compare`, `sweep`, `sensitivity` and `backtest` on the command line: each command's
//! identity and settings, a complete shard found on `--resume`, a finished shard's `shard.json`,
//! and what a stopped study says. Their merge is in `study_merge`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::experiment::shard::Shard;
use crate::explore::Study;
use crate::explore::pieces::PieceOutcome;
use crate::explore::sensitivity::Output;
use crate::explore::sweep::Axis;
use crate::export::layout;
use crate::export::study_shard::{self, StudyIdentity, StudyShard};
use crate::scenario::Scenario;

/// What defines a sweep besides its study.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepSettings {
    /// Swept parameters and their values.
    pub axes: Vec<Axis>,
    /// Providers asked for (`--providers`).
    pub providers: Vec<String>,
}

/// What defines a sensitivity analysis besides its study.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SensitivitySettings {
    /// `--all`.
    pub all: bool,
    /// `--fraction`.
    pub fraction: f64,
    /// `--metrics`.
    pub outputs: Vec<Output>,
    /// `--trajectories`.
    pub trajectories: u32,
    /// `--levels`.
    pub levels: u32,
}

/// What defines a comparison besides its scenario, seed and replications.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompareSettings {
    /// Configurations, in order.
    pub configurations: Vec<String>,
    /// Index of the baseline among them.
    pub baseline: usize,
    /// `--series`.
    pub series: bool,
}

/// The identity of a study under a command's settings (each argument is a field of it).
#[allow(clippy::too_many_arguments)]
pub fn identity(
    command: &str,
    scenario: &Scenario,
    configuration: &str,
    seed: u64,
    replications: u64,
    settings: &impl Serialize,
    posterior: Option<&Path>,
    shard: Shard,
) -> anyhow::Result<StudyIdentity> {
    let posterior_sha256 = match posterior {
        Some(p) => Some(
            study_shard::file_sha256(p).with_context(|| format!("cannot read {}", p.display()))?,
        ),
        None => None,
    };
    Ok(StudyIdentity {
        command: command.to_string(),
        csmarket_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario_sha256: scenario.sha256.clone(),
        configuration: configuration.to_string(),
        seed,
        replications,
        settings: serde_json::to_string(settings)?,
        posterior_sha256,
        shard,
    })
}

/// The identity of an exploration's study.
pub fn study_identity(
    command: &str,
    study: &Study,
    settings: &impl Serialize,
    posterior: Option<&Path>,
    shard: Shard,
) -> anyhow::Result<StudyIdentity> {
    identity(
        command,
        &study.scenario,
        &study.configuration,
        study.seed,
        study.replications,
        settings,
        posterior,
        shard,
    )
}

/// With `--resume`, whether the shard in `dir` is complete already (it is then not run again).
pub fn already_complete(dir: &Path, identity: &StudyIdentity, resume: bool) -> bool {
    let done = resume && identity.shard != Shard::WHOLE && study_shard::complete(dir, identity);
    if done {
        super::note(&format!(
            "Shard {} of this {} is complete already in {}: nothing to do.",
            identity.shard,
            identity.command,
            dir.display()
        ));
    }
    done
}

/// Leaves a finished shard's `shard.json` (and the scenario text, `scenario.toml`) in `dir`, and
/// says so.
pub fn finish(
    dir: &Path,
    identity: StudyIdentity,
    scenario: &Scenario,
    notes: &[String],
    started: String,
    pieces: Vec<PieceOutcome>,
    rows: Option<crate::experiment::resume::RowsMark>,
) -> anyhow::Result<()> {
    let file = dir.join(layout::SCENARIO);
    crate::export::atomic::write(&file, scenario.text.as_bytes())
        .with_context(|| format!("cannot write {}", file.display()))?;
    let shard = identity.shard;
    let command = identity.command.clone();
    let state = StudyShard {
        identity,
        scenario_file: scenario.file.clone(),
        scenario_text: scenario.text.to_string(),
        notes: notes.to_vec(),
        started,
        pieces,
        rows,
    };
    study_shard::write(dir, &state)
        .with_context(|| format!("cannot write {}", dir.join(layout::STUDY_SHARD).display()))?;
    outln!(
        "Shard {shard} of the {command} saved in {}/; once every shard is done, join them with \
         `csmarket merge SHARD-FOLDERS... --out DIR`",
        dir.display()
    );
    Ok(())
}

/// Says, after a signal, which pieces of a study finished and the command that resumes; returns
/// the exit status of a process stopped by that signal.
pub fn stopped(
    what: &str,
    unit: &str,
    finished: usize,
    total: usize,
    progress_dir: &Path,
    argv: &[String],
) -> ExitCode {
    let signal = super::stop::requested().unwrap_or(15);
    super::say_err(&format!(
        "Stopped by {}.\n{what}: {unit} 1..{finished} of {total} finished and saved in {}.\n\
         Resume with:\n  {}\n",
        super::stop::name(signal),
        progress_dir.display(),
        super::stop::resume_command(argv)
    ));
    ExitCode::from(super::stop::exit_status(signal))
}
