//! `csmarket merge` of the shards of `compare`, `sweep`, `sensitivity` and `backtest`: checks that
//! the folders are every shard of one study, folds their pieces in order and runs the command's
//! own analysis on them (nothing is simulated), then writes the files one machine writes.

use std::path::{Path, PathBuf};

use super::InputError;
use super::run::RunPlan;
use super::study_shards::{CompareSettings, SensitivitySettings, SweepSettings};
use crate::experiment::shard::Shard;
use crate::explore::pieces::assemble;
use crate::explore::sensitivity::SensitivityPlan;
use crate::explore::sweep::SweepPlan;
use crate::explore::{self, Study};
use crate::export::layout;
use crate::export::merge::{self as shard_merge, MergeError};
use crate::export::study_shard::{self, StudyIdentity, StudyShard};
use crate::scenario::Scenario;

/// The study commands whose shards `merge` joins, in the order it merges them: the explorations
/// before the comparison, whose report shows the explorations beside it.
const STUDIES: [&str; 4] = [
    layout::SWEEP_DIR,
    layout::SENSITIVITY_DIR,
    layout::BACKTEST_DIR,
    layout::COMPARE_DIR,
];

/// What a shard folder holds: `run` shards (a configuration folder with `state.json`) and the
/// study commands with a `shard.json`.
fn contents(dir: &Path) -> Result<(bool, Vec<&'static str>), MergeError> {
    if !dir.is_dir() {
        return Err(MergeError::NoSuchFolder(dir.display().to_string()));
    }
    let studies: Vec<&str> = STUDIES
        .into_iter()
        .filter(|s| dir.join(s).join(layout::STUDY_SHARD).is_file())
        .collect();
    let run = std::fs::read_dir(dir)
        .map_err(|source| MergeError::Io {
            file: dir.display().to_string(),
            source,
        })?
        .flatten()
        .any(|e| {
            let name = e.file_name();
            !STUDIES.iter().any(|s| name == *s) && e.path().join(layout::SHARD_STATE).is_file()
        });
    Ok((run, studies))
}

/// The study shards of a merge, every set checked and analysed, ready to write; and whether `run`
/// shards are left to the caller (they are, or the folders hold no study).
pub struct CheckedStudies {
    studies: Vec<CheckedStudy>,
    /// `run` shards are left to the caller.
    pub run_left: bool,
}

/// One study command's merge, checked and analysed: only the writing is left.
enum CheckedStudy {
    Sweep {
        dir: PathBuf,
        plan: Box<SweepPlan>,
        result: Box<explore::sweep::SweepResult>,
        shards: Vec<(PathBuf, StudyShard)>,
    },
    Sensitivity {
        dir: PathBuf,
        study: Box<Study>,
        result: Box<explore::sensitivity::SensitivityResult>,
    },
    Backtest {
        dir: PathBuf,
        study: Box<Study>,
        result: Box<explore::backtest::BacktestResult>,
    },
    Compare {
        checked: Box<shard_merge::CheckedMerge>,
        plan: Box<RunPlan>,
        baseline: usize,
        started: String,
    },
}

/// Checks the study shards (`compare`, `sweep`, `sensitivity`, `backtest`) in `shards`, every
/// command's set, and analyses them, writing nothing: a merge is written whole or not at all, so
/// a later command's set refused leaves no earlier command's output behind.
pub fn check(shards: &[PathBuf], out: &Path) -> anyhow::Result<CheckedStudies> {
    let mut found = Vec::with_capacity(shards.len());
    let canonical_out = std::fs::canonicalize(out).ok();
    for d in shards {
        if canonical_out.is_some() && std::fs::canonicalize(d).ok() == canonical_out {
            return Err(MergeError::OutIsShard(out.display().to_string()).into());
        }
        found.push(contents(d)?);
    }
    let describe = |(run, studies): &(bool, Vec<&str>)| {
        let mut all: Vec<&str> = studies.clone();
        if *run {
            all.push("run");
        }
        if all.is_empty() {
            "no shards".to_string()
        } else {
            format!("shards of {}", all.join(", "))
        }
    };
    let none = CheckedStudies {
        studies: Vec::new(),
        run_left: true,
    };
    if found
        .iter()
        .any(|(run, studies)| !run && studies.is_empty())
    {
        // The merge of `run` shards names the folder that holds no shards at all.
        return Ok(none);
    }
    for (d, f) in shards.iter().zip(&found).skip(1) {
        if *f != found[0] {
            return Err(InputError(format!(
                "{} holds {} but {} holds {}; merge only the shards of one command",
                d.display(),
                describe(f),
                shards[0].display(),
                describe(&found[0])
            ))
            .into());
        }
    }
    let studies = found[0]
        .1
        .iter()
        .map(|command| {
            let dirs: Vec<PathBuf> = shards.iter().map(|d| d.join(command)).collect();
            check_study(command, &dirs, out)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(CheckedStudies {
        run_left: found[0].0 || found[0].1.is_empty(),
        studies,
    })
}

impl CheckedStudies {
    /// Writes every study's merged output under the `out` it was checked for, in the order checked (the explorations
    /// before the comparison, whose report shows them).
    pub fn write(self, argv: &[String]) -> anyhow::Result<()> {
        for study in self.studies {
            write_study(study, argv)?;
        }
        Ok(())
    }
}

/// The study the shards ran, from the first shard's scenario text and identity.
fn study_of(first: &StudyShard) -> anyhow::Result<Study> {
    let id = &first.identity;
    let scenario = Scenario::from_text(&first.scenario_file, &first.scenario_text)?;
    if scenario.sha256 != id.scenario_sha256 {
        return Err(InputError(format!(
            "{}: the scenario text kept in the shard is not the one it ran",
            first.scenario_file
        ))
        .into());
    }
    Ok(Study {
        scenario,
        configuration: id.configuration.clone(),
        seed: id.seed,
        replications: id.replications,
        threads: 0,
        posterior: None,
    })
}

fn settings<T: serde::de::DeserializeOwned>(id: &StudyIdentity) -> anyhow::Result<T> {
    serde_json::from_str(&id.settings)
        .map_err(|e| InputError(format!("{} shard: unreadable settings ({e})", id.command)).into())
}

fn explore_error(e: explore::ExploreError) -> anyhow::Error {
    if e.is_input() {
        anyhow::Error::new(InputError(e.to_string()))
    } else {
        anyhow::Error::new(e)
    }
}

/// Checks one study command's shard folders and analyses them for `OUT/<command>/`; nothing is
/// written.
fn check_study(command: &str, dirs: &[PathBuf], out_root: &Path) -> anyhow::Result<CheckedStudy> {
    let shards = study_shard::check_set(dirs)?;
    let first = shards[0].1.clone();
    let id = &first.identity;
    let n = id.replications;
    // The layout's folder names are the commands' names.
    let dir = out_root.join(command);
    if command == layout::COMPARE_DIR {
        return check_compare(&first, dirs, &dir);
    }
    let study = study_of(&first)?;
    let fold = |points: usize, shards: Vec<(PathBuf, StudyShard)>| {
        assemble(points, n, study_shard::all_pieces(shards))
            .map_err(|e| InputError(format!("{command} shards: {e}")))
    };
    match command {
        layout::SWEEP_DIR => {
            let s: SweepSettings = settings(id)?;
            let plan = SweepPlan {
                study,
                axes: s.axes,
                providers: s.providers,
                refine: None,
            };
            let design = explore::sweep::design(&plan).map_err(explore_error)?;
            let summaries: Vec<_> = fold(design.grid.len(), shards.clone())?
                .into_iter()
                .map(|p| p.summary)
                .collect();
            let result =
                explore::sweep::analyse(&plan, &design, &summaries).map_err(explore_error)?;
            Ok(CheckedStudy::Sweep {
                dir,
                plan: Box::new(plan),
                result: Box::new(result),
                shards,
            })
        }
        layout::SENSITIVITY_DIR => {
            let s: SensitivitySettings = settings(id)?;
            let plan = SensitivityPlan {
                study,
                all: s.all,
                fraction: s.fraction,
                outputs: s.outputs,
                trajectories: s.trajectories,
                levels: s.levels,
            };
            let design = explore::sensitivity::design(&plan).map_err(explore_error)?;
            let points = fold(design.edits.len(), shards)?;
            let result =
                explore::sensitivity::analyse(&plan, &design, &points).map_err(explore_error)?;
            Ok(CheckedStudy::Sensitivity {
                dir,
                study: Box::new(plan.study),
                result: Box::new(result),
            })
        }
        _ => {
            let points = fold(1, shards)?;
            let result = explore::backtest::analyse(&study, &points[0]).map_err(explore_error)?;
            Ok(CheckedStudy::Backtest {
                dir,
                study: Box::new(study),
                result: Box::new(result),
            })
        }
    }
}

/// Writes one checked study's merged output.
fn write_study(study: CheckedStudy, argv: &[String]) -> anyhow::Result<()> {
    match study {
        CheckedStudy::Sweep {
            dir,
            plan,
            result,
            shards,
        } => {
            let _lock = super::lock_output(&dir, argv)?;
            study_shard::merge_rows(&shards, &dir.join(layout::RUNS))?;
            super::study_output::write_sweep(&dir, &plan, *result, argv)
        }
        CheckedStudy::Sensitivity { dir, study, result } => {
            let _lock = super::lock_output(&dir, argv)?;
            super::study_output::write_sensitivity(&dir, &study, *result, argv)
        }
        CheckedStudy::Backtest { dir, study, result } => {
            let _lock = super::lock_output(&dir, argv)?;
            super::study_output::write_backtest(&dir, &study, *result, argv)
        }
        CheckedStudy::Compare {
            checked,
            plan,
            baseline,
            started,
        } => {
            let out = &plan.out;
            let _lock = super::lock_output(out, argv)?;
            let merged = checked.write(out, argv)?;
            for m in &merged {
                super::output::write_configuration_charts(&m.dir, &m.summary, &m.labels)?;
            }
            let summaries = merged.into_iter().map(|m| m.summary).collect();
            super::compare::write_comparison(&plan, baseline, summaries, started, argv)
        }
    }
}

/// Checks a comparison's shards: each configuration's `run` shards (for `OUT/compare/<c>/`) and
/// the comparison's own settings; the paired comparison, charts and report are written from the
/// merged rows, as `compare` writes them.
fn check_compare(first: &StudyShard, dirs: &[PathBuf], out: &Path) -> anyhow::Result<CheckedStudy> {
    let id = &first.identity;
    let s: CompareSettings = settings(id)?;
    let study = study_of(first)?;
    let mut checked = shard_merge::check_shards(dirs, out)?;
    let have = checked.configuration_names();
    let mut want = s.configurations.clone();
    want.sort();
    if have != want {
        return Err(InputError(format!(
            "{}: the comparison's configurations are {} but its shards hold {}",
            dirs[0].display(),
            s.configurations.join(", "),
            have.join(", ")
        ))
        .into());
    }
    checked.order_by(&s.configurations);
    let plan = RunPlan {
        scenario: study.scenario,
        configurations: s.configurations,
        replications: id.replications,
        seed: id.seed,
        threads: 0,
        out: out.to_path_buf(),
        shard: Shard::WHOLE,
        resume: false,
        save_every: std::time::Duration::from_secs(30),
        notes: first.notes.clone(),
        series: s.series,
        posterior: None,
    };
    Ok(CheckedStudy::Compare {
        checked: Box::new(checked),
        plan: Box::new(plan),
        baseline: s.baseline,
        started: shards_started(dirs),
    })
}

/// When the first of a comparison's shards started.
fn shards_started(dirs: &[PathBuf]) -> String {
    dirs.iter()
        .filter_map(|d| study_shard::read(d).ok())
        .map(|s| s.started)
        .min()
        .unwrap_or_default()
}
