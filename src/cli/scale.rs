//! Large runs on the command line: resumable and sharded `run`, `merge`, `generate` and `bench`.

use std::borrow::Cow;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use super::run::{RunPlan, headline_table};
use super::{InputError, load_scenario, progress};
use crate::engine::ReplicationOutcome;
use crate::experiment::resume::{self, ROWS_FILE, SavedProgress};
use crate::experiment::shard::RunIdentity;
use crate::experiment::{self, Observer, Summary};
use crate::export::merge::{self as shard_merge, ShardState};
use crate::export::{self, Provenance, ReplicationLog, atomic};
use crate::generate::{self as market_gen, MarketSize};
use crate::model::Market;

/// Saves a run's progress after its first block and then at most every `every`.
struct Saver<'a> {
    log: ReplicationLog,
    identity: &'a RunIdentity,
    dir: &'a Path,
    started: &'a str,
    every: Duration,
    last: Option<Instant>,
}

impl Saver<'_> {
    fn save(&mut self, summary: &Summary, next: u64, complete: bool) -> anyhow::Result<u64> {
        let rows_bytes = self.log.sync()?;
        SavedProgress {
            format: resume::FORMAT,
            identity: Cow::Borrowed(self.identity),
            started: self.started.to_string(),
            next,
            rows_bytes,
            complete,
            summary: Cow::Borrowed(summary),
        }
        .save(self.dir)?;
        self.last = Some(Instant::now());
        Ok(rows_bytes)
    }
}

impl Observer for Saver<'_> {
    fn replication(&mut self, r: &ReplicationOutcome) -> anyhow::Result<()> {
        self.log.write(r)
    }

    fn block_done(&mut self, summary: &Summary, next: u64) -> anyhow::Result<()> {
        if self.last.is_none_or(|t| t.elapsed() >= self.every) {
            self.save(summary, next, false)?;
        }
        Ok(())
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

fn complete_progress<'a>(
    identity: &'a RunIdentity,
    started: &str,
    next: u64,
    rows_bytes: u64,
    summary: &'a Summary,
) -> SavedProgress<'a> {
    SavedProgress {
        format: resume::FORMAT,
        identity: Cow::Borrowed(identity),
        started: started.to_string(),
        next,
        rows_bytes,
        complete: true,
        summary: Cow::Borrowed(summary),
    }
}

/// Runs one configuration (the plan's shard of it) into `out/<configuration>/`, keeping progress
/// in `.progress/` so a killed run can be finished with `--resume`. A shard also writes
/// `state.json` for `csmarket merge`.
pub fn run_configuration(
    plan: &RunPlan,
    configuration: &str,
    argv: &[String],
) -> anyhow::Result<Summary> {
    let market = plan.market(configuration)?;
    let dir = plan.out.join(configuration);
    let progress_dir = resume::progress_dir(&dir);
    let id = identity(plan, configuration);
    let range = id.range();
    let saved = if plan.resume {
        SavedProgress::load(&progress_dir)?
    } else {
        None
    };
    if let Some(c) = &saved {
        c.belongs_to(&id, &progress_dir)?;
    }
    if let Some(c) = saved.as_ref().filter(|c| c.complete) {
        return Ok(c.summary.as_ref().clone());
    }
    if saved.is_none() && progress_dir.exists() {
        std::fs::remove_dir_all(&progress_dir)
            .with_context(|| format!("cannot clear old progress in {}", progress_dir.display()))?;
    }
    std::fs::create_dir_all(&progress_dir)
        .with_context(|| format!("cannot create output folder {}", progress_dir.display()))?;
    let rows_path = progress_dir.join(ROWS_FILE);
    let final_rows = dir.join("replications.csv");
    // Killed after the rows were moved into place but before the run was marked complete.
    let rows_in_place = saved.as_ref().is_some_and(|c| {
        c.next == range.end
            && !rows_path.exists()
            && std::fs::metadata(&final_rows).is_ok_and(|m| m.len() == c.rows_bytes)
    });
    let (summary, started, rows_bytes) = if rows_in_place {
        let c = saved
            .as_ref()
            .map(|c| (c.summary.as_ref().clone(), c.started.clone(), c.rows_bytes));
        c.ok_or_else(|| anyhow::anyhow!("internal: no saved progress"))?
    } else {
        let (start, next, started, log) = match &saved {
            Some(c) => (
                c.summary.as_ref().clone(),
                c.next,
                c.started.clone(),
                ReplicationLog::reopen(&rows_path, &market, c.rows_bytes)?,
            ),
            None => (
                Summary::new(&market),
                range.start,
                chrono::Utc::now().to_rfc3339(),
                ReplicationLog::create(&rows_path, &market)?,
            ),
        };
        let total = range.end - range.start;
        let bar = progress::bar(total, configuration);
        let before = next - range.start;
        bar.set_position(before);
        let mut saver = Saver {
            log,
            identity: &id,
            dir: &progress_dir,
            started: &started,
            every: plan.save_every,
            last: None,
        };
        let summary = experiment::run_from(
            &market,
            next..range.end,
            plan.threads,
            start,
            &mut saver,
            &|done| bar.set_position(before + done),
        )?;
        bar.finish_and_clear();
        let rows_bytes = saver.save(&summary, range.end, false)?;
        saver.log.finish(&final_rows)?;
        (summary, started, rows_bytes)
    };
    let provenance = Provenance {
        csmarket_version: id.csmarket_version.clone(),
        scenario: plan.scenario.base.scenario.name.clone(),
        scenario_file: plan.scenario.file.clone(),
        scenario_sha256: plan.scenario.sha256.clone(),
        configuration: configuration.to_string(),
        seed: plan.seed,
        first_replication: range.start,
        replications: range.end - range.start,
        threads: plan.thread_count(),
        started: started.clone(),
        finished: chrono::Utc::now().to_rfc3339(),
        command_line: argv.to_vec(),
    };
    export::write_summary(&dir, &summary, &provenance)
        .with_context(|| format!("cannot write results in {}", dir.display()))?;
    let labels = crate::charts::Labels::from_markets([&market]);
    if plan.shard == crate::experiment::shard::Shard::WHOLE {
        // A shard's charts would show part of the run; `merge` draws those of the whole.
        let drawn = crate::charts::configuration_charts(std::slice::from_ref(&summary), &labels)?;
        crate::charts::write(&dir, &drawn)
            .with_context(|| format!("cannot write charts in {}", dir.display()))?;
    } else {
        let state = ShardState {
            format: shard_merge::FORMAT,
            identity: Cow::Borrowed(&id),
            provenance: Cow::Borrowed(&provenance),
            rows_bytes,
            summary: Cow::Borrowed(&summary),
            labels: Cow::Borrowed(&labels),
        };
        shard_merge::write_state(&dir, &state)
            .with_context(|| format!("cannot write {}", dir.join("state.json").display()))?;
    }
    complete_progress(&id, &started, range.end, rows_bytes, &summary).save(&progress_dir)?;
    Ok(summary)
}

/// Removes the saved progress of every configuration of a finished run.
pub fn clear_progress(plan: &RunPlan) -> anyhow::Result<()> {
    for c in &plan.configurations {
        let dir = resume::progress_dir(&plan.out.join(c));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot remove {}", dir.display()))?;
        }
    }
    Ok(())
}

/// Arguments of `csmarket merge`.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// Output folders of `csmarket run --shard K/N`, one per shard, in any order.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// Folder for the merged results.
    #[arg(long)]
    pub out: PathBuf,
}

/// `csmarket merge`.
pub fn merge(args: &MergeArgs, argv: &[String]) -> anyhow::Result<ExitCode> {
    let summaries = shard_merge::merge(&args.shards, &args.out, argv)?;
    print!("{}", headline_table(&summaries));
    println!(
        "Merged {} shard folders into {}/",
        args.shards.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `csmarket generate`.
#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    /// Number of CCGs (buyers).
    #[arg(long)]
    pub ccgs: u32,
    /// Number of local CSUs.
    #[arg(long)]
    pub providers: u32,
    /// Number of regions (at most the number of CSUs).
    #[arg(long)]
    pub regions: u32,
    /// Seed of the generated figures and of the scenario.
    #[arg(long, default_value_t = 2012)]
    pub seed: u64,
    /// File to write (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `csmarket generate`.
pub fn generate(args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    let size = MarketSize {
        ccgs: args.ccgs,
        providers: args.providers,
        regions: args.regions,
        seed: args.seed,
    };
    let name = args
        .out
        .as_ref()
        .map_or_else(|| "<generated>".to_string(), |p| p.display().to_string());
    let (text, _) = market_gen::generate(&size, &name)?;
    match &args.out {
        Some(p) if p.as_os_str() != "-" => {
            atomic::write(p, text.as_bytes())
                .with_context(|| format!("cannot write {}", p.display()))?;
            eprintln!(
                "Wrote {} ({} CCGs, {} local CSUs, {} regions)",
                p.display(),
                size.ccgs,
                size.providers,
                size.regions
            );
        }
        _ => {
            let mut out = std::io::stdout().lock();
            if let Err(e) = out.write_all(text.as_bytes()) {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(e.into());
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `csmarket bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Scenario file (default: the built-in England 2012).
    pub scenario: Option<PathBuf>,
    /// Configurations to measure, comma-separated (default: all).
    #[arg(long = "config", value_delimiter = ',')]
    pub configs: Vec<String>,
    /// Replications per measurement.
    #[arg(long, short = 'n', default_value_t = 2048)]
    pub replications: u64,
    /// Thread counts to measure, comma-separated (default: 1, 2, 4, ... up to all cores).
    #[arg(long, value_delimiter = ',')]
    pub threads: Vec<usize>,
}

/// The process's peak resident memory in bytes (`VmHWM` of `/proc/self/status`), where the
/// system reports it.
pub fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The CPU model named in `/proc/cpuinfo`, where there is one.
pub fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_string())
}

/// One measurement of `csmarket bench`.
#[derive(Debug, Clone, Copy)]
pub struct Measurement {
    /// Worker threads.
    pub threads: usize,
    /// Replications run.
    pub replications: u64,
    /// Wall time.
    pub seconds: f64,
    /// Supplier choices CCGs made, counted by the engine.
    pub decisions: u64,
}

/// Times `n` replications of a market on `threads` threads, summaries only.
pub fn measure(m: &Market, n: u64, threads: usize) -> anyhow::Result<Measurement> {
    let t = Instant::now();
    let s = experiment::summarise(m, 0..n, threads)?;
    let seconds = t.elapsed().as_secs_f64();
    Ok(Measurement {
        threads,
        replications: n,
        seconds,
        decisions: s.decisions,
    })
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// `csmarket bench`.
pub fn bench(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let scenario = load_scenario(args.scenario.as_ref())?;
    let available = scenario.configuration_names();
    let configs = if args.configs.is_empty() {
        available.clone()
    } else {
        args.configs.clone()
    };
    if args.replications == 0 {
        return Err(InputError("-n must be at least 1".into()).into());
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = if args.threads.is_empty() {
        let mut t: Vec<usize> = std::iter::successors(Some(1usize), |t| Some(t * 2))
            .take_while(|&t| t < cores)
            .collect();
        t.push(cores);
        t
    } else {
        args.threads.clone()
    };
    if threads.contains(&0) {
        return Err(InputError("--threads: each thread count must be at least 1".into()).into());
    }
    println!(
        "Machine: {} logical cores, {}",
        cores,
        cpu_model().unwrap_or_else(|| "unknown CPU".into())
    );
    println!(
        "Scenario: {} ({})",
        scenario.base.scenario.name, scenario.file
    );
    let before = peak_memory();
    for c in &configs {
        let resolved = scenario.resolve(c)?;
        let market = Market::compile(&resolved, c)
            .map_err(|e| InputError(format!("{}: in configuration `{c}`: {e}", scenario.file)))?;
        println!(
            "\n{c}: {} CCGs, {} providers, {} services, {} quarters",
            market.ccgs.len(),
            market.providers.len(),
            market.services.len(),
            market.periods,
        );
        // Warm caches and the allocator before timing.
        measure(&market, args.replications.min(8), cores)?;
        println!(
            "{:>8} {:>8} {:>10} {:>12} {:>16} {:>13}",
            "threads",
            "reps",
            "seconds",
            "reps/s",
            "decisions/s",
            format!("vs {} thr.", threads[0])
        );
        let mut base: Option<f64> = None;
        for &t in &threads {
            let r = measure(&market, args.replications, t)?;
            let rate = r.replications as f64 / r.seconds;
            let base_rate = *base.get_or_insert(rate);
            println!(
                "{:>8} {:>8} {:>10.3} {:>12.1} {:>16.0} {:>12.2}x",
                t,
                r.replications,
                r.seconds,
                rate,
                r.decisions as f64 / r.seconds,
                rate / base_rate
            );
        }
    }
    match (peak_memory(), before) {
        (Some(p), Some(b)) => println!(
            "\nPeak memory (VmHWM): {} ({} before the first market was compiled)",
            mib(p),
            mib(b)
        ),
        _ => println!("\nPeak memory: not reported by this system"),
    }
    println!(
        "Decisions: supplier choices CCGs made, intentions included, as counted by the engine."
    );
    Ok(ExitCode::SUCCESS)
}
