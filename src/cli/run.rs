//! `csmarket run`: every chosen configuration of a scenario, written under the output folder.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::options::Options;
use super::output::headline_table;
use super::{InputError, RunArgs, progress};
use crate::experiment::Summary;
use crate::experiment::resumable::{Finished, ResumableRun, Stopped};
use crate::experiment::resume::{self, RowsMark};
use crate::experiment::shard::{RunIdentity, Shard};
use crate::export::merge::{self as shard_merge, ShardState};
use crate::export::{self, Provenance, ReplicationLog};
use crate::model::Market;
use crate::scenario::Scenario;

/// A validated run: scenario, configurations, replications, seed, threads and output folder.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// The scenario.
    pub scenario: Scenario,
    /// Configurations to run, in order.
    pub configurations: Vec<String>,
    /// Replications per configuration.
    pub replications: u64,
    /// Master seed.
    pub seed: u64,
    /// Worker threads (0 = all cores).
    pub threads: usize,
    /// Output folder.
    pub out: PathBuf,
    /// The part of the replications this machine runs (the whole run unless `--shard`).
    pub shard: Shard,
    /// Carry on from saved progress.
    pub resume: bool,
    /// Least time between saves of progress.
    pub save_every: Duration,
    /// The posterior sample replications draw their parameters from (`--posterior`).
    pub posterior: Option<std::sync::Arc<crate::explore::calibrate::posterior::Posterior>>,
}

impl RunPlan {
    /// Turns raw arguments into a plan, checking every name against the scenario.
    pub fn from_args(args: &RunArgs) -> anyhow::Result<RunPlan> {
        let options = Options::from_args(&args.common)?;
        let configurations = options.configurations(&args.configs)?;
        Ok(RunPlan {
            scenario: options.scenario,
            configurations,
            replications: options.replications,
            seed: options.seed,
            threads: options.threads,
            out: options.out,
            shard: args.shard.unwrap_or(Shard::WHOLE),
            resume: args.resume,
            save_every: Duration::from_secs(args.save_secs),
            posterior: options.posterior,
        })
    }

    /// The compiled market of a configuration, with the plan's seed.
    pub fn market(&self, configuration: &str) -> anyhow::Result<Market> {
        let resolved = self.scenario.resolve(configuration)?;
        let mut market = Market::compile(&resolved, configuration).map_err(|e| {
            InputError(format!(
                "{}: in configuration `{configuration}`: {e}",
                self.scenario.file
            ))
        })?;
        market.seed = self.seed;
        if let Some(p) = &self.posterior {
            let build = |row: &[crate::scenario::Edit]| -> Result<Market, String> {
                let resolved = self
                    .scenario
                    .resolve_with(configuration, row)
                    .map_err(|e| e.to_string())?;
                Market::compile(&resolved, configuration).map_err(|e| e.to_string())
            };
            p.attach(&mut market, &build).map_err(InputError)?;
        }
        Ok(market)
    }

    /// Threads actually used.
    pub fn thread_count(&self) -> usize {
        crate::experiment::Provenance::threads_used(self.threads)
    }
}

/// The identity of a configuration's run under a plan.
fn identity(plan: &RunPlan, configuration: &str) -> RunIdentity {
    RunIdentity {
        csmarket_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario_sha256: plan.scenario.sha256.clone(),
        configuration: configuration.to_string(),
        seed: plan.seed,
        replications: plan.replications,
        shard: plan.shard,
    }
}

/// Runs one configuration (the plan's shard of it) into `out/<configuration>/` through the
/// library's [`ResumableRun`], and writes its results: summary tables and charts, or for a shard
/// `state.json` for `csmarket merge` (a shard's charts would show part of the run).
pub fn run_configuration(
    plan: &RunPlan,
    configuration: &str,
    argv: &[String],
) -> anyhow::Result<Summary> {
    let market = plan.market(configuration)?;
    let dir = plan.out.join(configuration);
    let job = ResumableRun {
        market: &market,
        identity: identity(plan, configuration),
        dir: dir.clone(),
        threads: plan.threads,
        resume: plan.resume,
        save_every: plan.save_every,
        stop: &|| super::stop::requested().is_some(),
    };
    let range = job.range();
    let bar = progress::bar(range.end - range.start, configuration);
    let open_log = |path: &Path, saved: Option<&RowsMark>| match saved {
        None => ReplicationLog::create(path, &market),
        Some(mark) => ReplicationLog::reopen(path, &market, mark),
    };
    let write_results = |done: &Finished| -> anyhow::Result<()> {
        bar.finish_and_clear();
        let provenance = Provenance {
            csmarket_version: job.identity.csmarket_version.clone(),
            scenario: plan.scenario.base.scenario.name.clone(),
            scenario_file: plan.scenario.file.clone(),
            scenario_sha256: plan.scenario.sha256.clone(),
            configuration: configuration.to_string(),
            seed: plan.seed,
            first_replication: Some(range.start),
            replications: range.end - range.start,
            threads: plan.thread_count(),
            started: done.started.clone(),
            finished: chrono::Utc::now().to_rfc3339(),
            command_line: argv.to_vec(),
        };
        export::write_summary(&dir, &done.summary, &provenance)
            .with_context(|| format!("cannot write results in {}", dir.display()))?;
        let labels = crate::experiment::Labels::from_markets([&market]);
        if plan.shard == Shard::WHOLE {
            super::output::write_configuration_charts(&dir, &done.summary, &labels)?;
        } else {
            let state = ShardState {
                identity: Cow::Borrowed(&job.identity),
                provenance: Cow::Borrowed(&provenance),
                rows: done.rows.clone(),
                summary: Cow::Borrowed(&done.summary),
                labels: Cow::Borrowed(&labels),
            };
            shard_merge::write_state(&dir, &state).with_context(|| {
                format!(
                    "cannot write {}",
                    dir.join(crate::export::layout::SHARD_STATE).display()
                )
            })?;
        }
        Ok(())
    };
    // The run reports the replications already saved first; a resumed run says so, so that a
    // log shows where each attempt carried on from.
    let first_report = std::sync::atomic::AtomicBool::new(true);
    let progress = |done: u64| {
        if first_report.swap(false, std::sync::atomic::Ordering::Relaxed) && done > 0 {
            errln!(
                "{configuration}: resuming with replications {}..{} of {}..{} saved in {}",
                range.start,
                range.start + done,
                range.start,
                range.end,
                resume::progress_dir(&dir).display()
            );
        }
        bar.set_position(done);
    };
    let finished = job.run(open_log, &progress, write_results)?;
    bar.finish_and_clear();
    Ok(finished.summary)
}

/// Removes the saved progress of every configuration of a finished run.
pub fn clear_progress(plan: &RunPlan) -> anyhow::Result<()> {
    for c in &plan.configurations {
        resume::clear(&plan.out.join(c))?;
    }
    Ok(())
}

/// `csmarket run`.
pub fn run(args: &RunArgs, argv: &[String]) -> anyhow::Result<ExitCode> {
    let plan = RunPlan::from_args(args)?;
    let _lock = super::lock_output(&plan.out, argv)?;
    super::stop::cooperate();
    let mut summaries = Vec::new();
    for c in &plan.configurations {
        let stopped = match super::stop::requested() {
            Some(_) => None,
            None => match run_configuration(&plan, c, argv) {
                Ok(s) => {
                    summaries.push(s);
                    continue;
                }
                Err(e) => Some(e.downcast::<Stopped>()?),
            },
        };
        return Ok(stopped_early(&plan, &summaries, stopped, argv));
    }
    // Every configuration is written: the saved progress has done its job.
    clear_progress(&plan)?;
    out!("{}", headline_table(&summaries));
    outln!("Results written to {}", display_dir(&plan.out));
    Ok(ExitCode::SUCCESS)
}

/// Says, after a signal, what finished, what was saved and the command that resumes; returns
/// the exit status of a process stopped by that signal.
fn stopped_early(
    plan: &RunPlan,
    finished: &[Summary],
    stopped: Option<Stopped>,
    argv: &[String],
) -> ExitCode {
    let signal = super::stop::requested().unwrap_or(15);
    let mut say = format!("Stopped by {}.\n", super::stop::name(signal));
    let names = |cs: &[String]| cs.join(", ");
    let done = finished.len();
    if done > 0 {
        say += &format!(
            "Finished: {} (written to {}).\n",
            names(&plan.configurations[..done]),
            display_dir(&plan.out)
        );
    }
    let mut next = done;
    if let Some(s) = stopped {
        let c = &plan.configurations[done];
        say += &format!(
            "{c}: replications {}..{} of {}..{} saved in {}.\n",
            s.first,
            s.next,
            s.first,
            s.end,
            resume::progress_dir(&plan.out.join(c)).display()
        );
        next += 1;
    }
    if next < plan.configurations.len() {
        say += &format!("Not started: {}.\n", names(&plan.configurations[next..]));
    }
    say += &format!("Resume with:\n  {}\n", super::stop::resume_command(argv));
    super::say_err(&say);
    ExitCode::from(super::stop::exit_status(signal))
}

fn display_dir(p: &Path) -> String {
    format!("{}/", p.display())
}
