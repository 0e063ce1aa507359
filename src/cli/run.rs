//! `csmarket run`: every chosen configuration of a scenario, written under the output folder.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use super::{InputError, RunArgs, load_scenario};
use crate::experiment::Summary;
use crate::experiment::shard::Shard;
use crate::model::Market;
use crate::scenario::{Scenario, ScenarioError};

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
}

impl RunPlan {
    /// Turns raw arguments into a plan, checking every name against the scenario.
    pub fn from_args(args: &RunArgs) -> anyhow::Result<RunPlan> {
        let scenario = load_scenario(args.common.scenario.as_ref())?;
        let available = scenario.configuration_names();
        let configurations = if args.configs.is_empty() {
            available.clone()
        } else {
            args.configs.clone()
        };
        for c in &configurations {
            if !available.contains(c) {
                return Err(ScenarioError::UnknownConfiguration {
                    name: c.clone(),
                    available: available.clone(),
                }
                .into());
            }
        }
        let replications = args
            .common
            .replications
            .unwrap_or(u64::from(scenario.base.scenario.replications));
        if replications == 0 {
            return Err(InputError("--replications must be at least 1".into()).into());
        }
        let seed = args.common.seed.unwrap_or(scenario.base.scenario.seed);
        let out = super::default_out(args.common.out.as_ref(), args.common.scenario.as_ref());
        Ok(RunPlan {
            scenario,
            configurations,
            replications,
            seed,
            threads: args.common.threads,
            out,
            shard: args.shard.unwrap_or(Shard::WHOLE),
            resume: args.resume,
            save_every: Duration::from_secs(args.save_secs),
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
        Ok(market)
    }

    /// Threads actually used.
    pub fn thread_count(&self) -> usize {
        if self.threads == 0 {
            rayon::current_num_threads()
        } else {
            self.threads
        }
    }
}

/// Runs one configuration (the plan's shard of it) and writes its folder under `out`, saving
/// progress as it goes so that `--resume` can finish it; returns its summary.
pub fn run_configuration(
    plan: &RunPlan,
    configuration: &str,
    argv: &[String],
) -> anyhow::Result<Summary> {
    super::scale::run_configuration(plan, configuration, argv)
}

/// `csmarket run`.
pub fn run(args: &RunArgs, argv: &[String]) -> anyhow::Result<ExitCode> {
    let plan = RunPlan::from_args(args)?;
    let mut summaries = Vec::new();
    for c in &plan.configurations {
        summaries.push(run_configuration(&plan, c, argv)?);
    }
    // Every configuration is written: the saved progress has done its job.
    super::scale::clear_progress(&plan)?;
    print!("{}", headline_table(&summaries));
    println!("Results written to {}", display_dir(&plan.out));
    Ok(ExitCode::SUCCESS)
}

fn display_dir(p: &Path) -> String {
    format!("{}/", p.display())
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |v| format!("{:.0}%", v * 100.0))
}

/// The short table of headline figures per configuration printed at the end of a run.
pub fn headline_table(summaries: &[Summary]) -> String {
    let mut s = format!(
        "{:<24} {:>7} {:>22} {:>9} {:>6} {:>7}  {}\n",
        "configuration",
        "reps",
        "cost £/head (5-95%)",
        "in-house",
        "open",
        "unmet",
        "least likely to survive"
    );
    for x in summaries {
        let h = &x.headline;
        let cost = match (
            h.cost_per_head.mean(),
            h.cost_per_head.quantile(0.05),
            h.cost_per_head.quantile(0.95),
        ) {
            (Some(m), Some(lo), Some(hi)) => format!("{m:.2} ({lo:.2}-{hi:.2})"),
            _ => "-".into(),
        };
        let weakest = x
            .providers
            .iter()
            .filter_map(|p| p.survived.estimate().map(|e| (e, p)))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map_or_else(|| "-".into(), |(e, p)| format!("{} {}", p.id, pct(Some(e))));
        s.push_str(&format!(
            "{:<24} {:>7} {:>22} {:>9} {:>6} {:>7}  {}\n",
            x.configuration,
            x.replications,
            cost,
            pct(h.in_house_share.mean()),
            h.open_providers
                .mean()
                .map_or_else(|| "-".into(), |v| format!("{v:.1}")),
            h.unmet_share
                .mean()
                .map_or_else(|| "-".into(), |v| format!("{:.1}%", v * 100.0)),
            weakest
        ));
    }
    s
}
