//! `csmarket run`: every chosen configuration of a scenario, written under the output folder.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::options::Options;
use super::output::headline_table;
use super::progress::Progress;
use super::{InputError, RunArgs};
use crate::experiment::resumable::{Finished, ResumableRun, Stopped};
use crate::experiment::resume::{self, RowsMark};
use crate::experiment::shard::{RunIdentity, Shard};
use crate::experiment::{Labels, Summary};
use crate::explore::calibrate::posterior::Posterior;
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
    /// What the command says about which scenario ran, kept in provenance.
    pub notes: Vec<String>,
    /// Write `series.csv` too.
    pub series: bool,
    /// The posterior sample replications draw their parameters from (`--posterior`).
    pub posterior: Option<std::sync::Arc<crate::explore::calibrate::posterior::Posterior>>,
}

impl RunPlan {
    /// Turns raw arguments into a plan, checking every name against the scenario.
    pub fn from_args(args: &RunArgs) -> anyhow::Result<RunPlan> {
        let options = Options::from_args(&args.common)?.calibrated(&args.common)?;
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
            notes: options.notes,
            series: args.series,
            posterior: options.posterior,
        })
    }

    /// The provenance of `replications` replications of `configuration` from `first`.
    pub fn provenance(
        &self,
        configuration: &str,
        first: u64,
        replications: u64,
        started: String,
        argv: &[String],
    ) -> Provenance {
        Provenance {
            csmarket_version: Provenance::this_version(),
            scenario: self.scenario.base.scenario.name.clone(),
            scenario_file: self.scenario.file.clone(),
            scenario_sha256: self.scenario.sha256.clone(),
            configuration: configuration.to_string(),
            seed: self.seed,
            first_replication: Some(first),
            replications,
            threads: self.thread_count(),
            started,
            finished: chrono::Utc::now().to_rfc3339(),
            command_line: argv.to_vec(),
            commit: Provenance::this_commit(),
            build_profile: Provenance::this_profile(),
            notes: self.notes.clone(),
            posterior: self.posterior.as_ref().map(|p| p.source()),
        }
    }

    /// Replications each configuration runs on this machine (its shard of them).
    pub fn replications_here(&self) -> u64 {
        let r = self.shard.range(self.replications);
        r.end - r.start
    }

    /// Writes the tidy tables of the configurations run (`fates.csv` in each folder, `runs.csv`
    /// and `columns.csv` beside them) and the exact scenario text, `scenario.toml`.
    pub fn write_tidy(&self) -> anyhow::Result<()> {
        export::tidy::write_tidy(&self.out, &self.configurations)?;
        let file = self.out.join(crate::export::layout::SCENARIO);
        crate::export::atomic::write(&file, self.scenario.text.as_bytes())
            .with_context(|| format!("cannot write {}", file.display()))?;
        Ok(())
    }

    /// The compiled market of a configuration at the scenario's own values, with the plan's seed:
    /// its layout (ids, names, checkpoints) is every posterior row's, without the cost of
    /// compiling a market per row.
    pub fn base_market(&self, configuration: &str) -> anyhow::Result<Market> {
        base_market(&self.scenario, configuration, self.seed)
    }

    /// The compiled market of a configuration, with the plan's seed and, under a posterior, the
    /// market of every posterior row its replications here (its shard) draw.
    pub fn market(&self, configuration: &str) -> anyhow::Result<Market> {
        market(
            &self.scenario,
            self.posterior.as_ref(),
            configuration,
            self.seed,
            self.shard.range(self.replications),
        )
    }

    /// Threads actually used.
    pub fn thread_count(&self) -> usize {
        crate::experiment::Provenance::threads_used(self.threads)
    }
}

/// A configuration's market compiled at the scenario's own values, with the master seed `seed`.
fn base_market(scenario: &Scenario, configuration: &str, seed: u64) -> anyhow::Result<Market> {
    let resolved = scenario.resolve(configuration)?;
    let mut market = Market::compile(&resolved, configuration).map_err(|e| {
        InputError(format!(
            "{}: in configuration `{configuration}`: {e}",
            scenario.file
        ))
    })?;
    market.seed = seed;
    Ok(market)
}

/// A configuration's market as `run` simulates it: under a posterior, with the market of every
/// posterior row replications `replications` draw attached (`bench` measures the same).
pub fn market(
    scenario: &Scenario,
    posterior: Option<&std::sync::Arc<Posterior>>,
    configuration: &str,
    seed: u64,
    replications: std::ops::Range<u64>,
) -> anyhow::Result<Market> {
    // The seed first: every posterior row's market takes the base market's.
    let mut market = base_market(scenario, configuration, seed)?;
    if let Some(p) = posterior {
        // The configuration is made once; each row's values are set on a copy of it.
        let prepared = scenario.prepare(configuration);
        let resolve = |row: &[crate::scenario::Edit]| {
            let row = Posterior::under_configuration(row, scenario, configuration);
            prepared.resolve_with(&row).map_err(|e| e.to_string())
        };
        let build = |row: &[crate::scenario::Edit]| -> Result<Market, String> {
            Market::compile(&resolve(row)?, configuration).map_err(|e| e.to_string())
        };
        let check = |row: &[crate::scenario::Edit]| resolve(row).map(drop);
        p.attach_for(&mut market, replications, &build, &check)
            .map_err(InputError)?;
    }
    Ok(market)
}

/// The built-in England 2012 market of a configuration as the default job simulates it, for
/// replications `replications`: calibrated (each replication draws its parameters from the
/// shipped posterior) unless `calibrated` is false, with the scenario's own seed. For the
/// examples, which study the default job's market outside the command line.
pub fn builtin_market(
    configuration: &str,
    calibrated: bool,
    replications: std::ops::Range<u64>,
) -> anyhow::Result<Market> {
    let scenario = Scenario::from_text(super::DEFAULT_SCENARIO_NAME, super::DEFAULT_SCENARIO)?;
    let posterior = if calibrated {
        let p = Posterior::from_text(
            super::DEFAULT_POSTERIOR_NAME,
            super::DEFAULT_POSTERIOR,
            &scenario,
        )
        .map_err(InputError)?;
        Some(std::sync::Arc::new(p))
    } else {
        None
    };
    let seed = scenario.base.scenario.seed;
    market(
        &scenario,
        posterior.as_ref(),
        configuration,
        seed,
        replications,
    )
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
        posterior_sha256: plan.posterior.as_ref().map(|p| p.source().sha256),
    }
}

/// Runs one configuration (the plan's shard of it) into `out/<configuration>/` through the
/// library's [`ResumableRun`], and writes its results: summary tables and charts, or for a shard
/// `state.json` for `csmarket merge` (a shard's charts would show part of the run).
pub fn run_configuration(
    plan: &RunPlan,
    k: usize,
    argv: &[String],
    bar: &Progress,
    labels: Option<&Labels>,
) -> anyhow::Result<Summary> {
    let configuration = plan.configurations[k].as_str();
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
    let len = range.end - range.start;
    bar.configuration(k, plan.configurations.len(), configuration, k as u64 * len);
    let open_log = |path: &Path, saved: Option<&RowsMark>| {
        let log = match saved {
            None => ReplicationLog::create(path, &market),
            Some(mark) => ReplicationLog::reopen(path, &market, mark),
        }?;
        if plan.series {
            log.with_series(saved.is_some())
        } else {
            Ok(log)
        }
    };
    let own_labels;
    let labels = match labels {
        Some(l) => l,
        None => {
            own_labels = Labels::from_markets([&market]);
            &own_labels
        }
    };
    let write_results = |done: &Finished| -> anyhow::Result<()> {
        let provenance =
            plan.provenance(configuration, range.start, len, done.started.clone(), argv);
        export::write_summary(&dir, &done.summary, &provenance)
            .with_context(|| format!("cannot write results in {}", dir.display()))?;
        if plan.shard == Shard::WHOLE {
            super::output::write_configuration_charts(&dir, &done.summary, labels)?;
        } else {
            let state = ShardState {
                identity: Cow::Borrowed(&job.identity),
                provenance: Cow::Borrowed(&provenance),
                rows: done.rows.clone(),
                summary: Cow::Borrowed(&done.summary),
                labels: Cow::Borrowed(labels),
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
    // The first count is what saved progress already holds: shown, but not counted in the rate.
    // A resumed run says so, so that a log shows where each attempt carried on from.
    let started = std::sync::atomic::AtomicBool::new(false);
    let finished = job.run(
        open_log,
        &|done| {
            if !started.swap(true, std::sync::atomic::Ordering::Relaxed) && done > 0 {
                super::note(&format!(
                    "{configuration}: resuming with replications {}..{} of {}..{} saved in {}",
                    range.start,
                    range.start + done,
                    range.start,
                    range.end,
                    resume::progress_dir(&dir).display()
                ));
                bar.resumed(done);
            } else {
                bar.done(done);
            }
        },
        write_results,
    )?;
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
    let summaries = match run_all(&plan, argv, None)? {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    plan.write_tidy()?;
    // Every configuration is written: the saved progress has done its job.
    clear_progress(&plan)?;
    out!("{}", headline_table(&summaries));
    outln!("Results written to {}", display_dir(&plan.out));
    Ok(ExitCode::SUCCESS)
}

/// Runs every configuration of a plan in turn under one progress bar, each resumable; stops
/// cleanly on a signal. Returns the summaries, or the exit status of a stopped run after saying
/// what finished and how to resume.
pub fn run_all(
    plan: &RunPlan,
    argv: &[String],
    labels: Option<&Labels>,
) -> anyhow::Result<Result<Vec<Summary>, ExitCode>> {
    super::stop::cooperate();
    let bar = Progress::new(plan.replications_here() * plan.configurations.len() as u64);
    let mut summaries = Vec::new();
    for k in 0..plan.configurations.len() {
        let stopped = match super::stop::requested() {
            Some(_) => None,
            None => match run_configuration(plan, k, argv, &bar, labels) {
                Ok(s) => {
                    summaries.push(s);
                    continue;
                }
                Err(e) => {
                    bar.finish();
                    Some(e.downcast::<Stopped>()?)
                }
            },
        };
        bar.finish();
        return Ok(Err(stopped_early(plan, &summaries, stopped, argv)));
    }
    bar.finish();
    Ok(Ok(summaries))
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
