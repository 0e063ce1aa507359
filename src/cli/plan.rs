//! The validated plan of a run (and of a comparison, which runs the same way): the scenario,
//! configurations, replications, seed, threads, output folder, shard and saved progress. Kept
//! apart from the commands so that `run` and the resumable run in `scale` both use it without
//! using each other.

use std::path::PathBuf;
use std::time::Duration;

use super::options::Options;
use super::{InputError, RunArgs};
use crate::experiment::shard::Shard;
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
    pub checkpoint_every: Duration,
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
            checkpoint_every: Duration::from_secs(args.checkpoint_secs),
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
        crate::experiment::Provenance::threads_used(self.threads)
    }
}
