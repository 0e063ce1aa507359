//! Large runs on the command line: `merge` of shards, `generate` and `bench`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use super::options::{Options, check_threads};
use super::output::headline_table;
use super::{CommonArgs, InputError};
use crate::engine;
use crate::experiment;
use crate::export::atomic;
use crate::export::merge as shard_merge;
use crate::generate::{self as market_gen, MarketSize};
use crate::model::Market;

/// Arguments of `csmarket merge`.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// Output folders (`--out`) of `csmarket run`, `compare`, `sweep`, `sensitivity` or `backtest`
    /// with `--shard K/N`, one per shard, in any order.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// Folder for the merged results.
    #[arg(long)]
    pub out: PathBuf,
}

/// `csmarket merge`.
pub fn merge(args: &MergeArgs, argv: &[String]) -> anyhow::Result<ExitCode> {
    // Every set is checked before anything is written (a merge is written whole or not at all):
    // the shards of compare, sweep, sensitivity and backtest, then those of `run`, if the folders
    // hold any. They are written in the same order: a comparison's report shows the explorations
    // merged beside it.
    let studies = super::study_merge::check(&args.shards, &args.out)?;
    let runs = if studies.run_left {
        Some(shard_merge::check_shards(&args.shards, &args.out)?)
    } else {
        None
    };
    studies.write(argv)?;
    let Some(checked) = runs else {
        outln!(
            "Merged {} shard folders into {}/",
            args.shards.len(),
            args.out.display()
        );
        return Ok(ExitCode::SUCCESS);
    };
    let _lock = super::lock_output(&args.out, argv)?;
    let merged = checked.write(&args.out, argv)?;
    // The charts one machine would have drawn of the whole run, drawn as `run` draws them.
    for m in &merged {
        super::output::write_configuration_charts(&m.dir, &m.summary, &m.labels)?;
    }
    let summaries: Vec<experiment::Summary> = merged.into_iter().map(|m| m.summary).collect();
    out!("{}", headline_table(&summaries));
    outln!(
        "Merged {} shard folders into {}/",
        args.shards.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `csmarket generate`.
#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    /// Number of CCGs (buyers), at most 10000000.
    #[arg(long)]
    pub ccgs: u32,
    /// Number of local CSUs, at most 50000.
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
            super::note(&format!(
                "Wrote {} ({} CCGs, {} local CSUs, {} regions)",
                p.display(),
                size.ccgs,
                size.providers,
                size.regions
            ));
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
    /// Replications per measurement (1 to 1000000000).
    #[arg(long, short = 'n', default_value_t = 2048)]
    pub replications: u64,
    /// Thread counts to measure, comma-separated, each 1 to 1024 (default: 1, 2, 4, ... up to all
    /// cores).
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

/// Decisions per timed run of the bare kernel (about 0.1 s).
const KERNEL_DECISIONS: u64 = 2_000_000;

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
    /// CPU time of the whole process (every thread) during the measurement, where reported.
    pub cpu_seconds: Option<f64>,
}

/// CPU time the process has used, every thread included, in seconds (`utime + stime` of
/// `/proc/self/stat`, in Linux's fixed 100 ticks a second), where the system reports it.
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// Times `n` replications of a market on `threads` threads, summaries only.
pub fn measure(m: &Market, n: u64, threads: usize) -> anyhow::Result<Measurement> {
    let (t, cpu) = (Instant::now(), process_cpu_seconds());
    let s = experiment::summarise(m, 0..n, threads)?;
    let seconds = t.elapsed().as_secs_f64();
    let cpu_seconds = match (cpu, process_cpu_seconds()) {
        (Some(a), Some(b)) if b > a => Some(b - a),
        _ => None,
    };
    Ok(Measurement {
        threads,
        replications: n,
        seconds,
        decisions: s.decisions,
        cpu_seconds,
    })
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// `csmarket bench`.
pub fn bench(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let common = CommonArgs {
        scenario: args.scenario.clone(),
        replications: Some(args.replications),
        ..CommonArgs::default()
    };
    // The built-in England 2012 is measured calibrated, as `run` simulates it.
    let options = Options::from_args(&common)?.calibrated(&common)?;
    let configs = options.configurations(&args.configs)?;
    let posterior = options.posterior.clone();
    let scenario = options.scenario;
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
    for &t in &threads {
        check_threads(t)?;
    }
    outln!(
        "Machine: {} logical cores, {}",
        cores,
        cpu_model().unwrap_or_else(|| "unknown CPU".into())
    );
    outln!(
        "Scenario: {} ({})",
        scenario.base.scenario.name,
        scenario.file
    );
    if let Some(p) = &posterior {
        let source = p.source();
        outln!(
            "Calibrated: each replication draws its parameters from {} ({} particles)",
            source.file,
            source.rows
        );
    }
    // The bare kernel, measured in this run on one thread, is what each configuration's cost per
    // decision is compared with (issue 11).
    let kernel_ns = engine::kernel::bare_kernel_ns(KERNEL_DECISIONS, 5);
    outln!(
        "Bare logit kernel ({} options: {0} utilities, {0} exp, one ChaCha8 uniform; 1 thread): \
         {kernel_ns:.1} ns per decision",
        engine::kernel::KERNEL_OPTIONS
    );
    let before = peak_memory();
    for c in &configs {
        let market = super::run::market(
            &scenario,
            posterior.as_ref(),
            c,
            options.seed,
            0..args.replications,
        )?;
        outln!(
            "\n{c}: {} CCGs, {} providers, {} services, {} quarters",
            market.ccgs.len(),
            market.providers.len(),
            market.services.len(),
            market.periods,
        );
        // Warm caches and the allocator before timing.
        measure(&market, args.replications.min(8), cores)?;
        outln!(
            "{:>8} {:>8} {:>10} {:>12} {:>16} {:>13} {:>14} {:>10}",
            "threads",
            "reps",
            "seconds",
            "reps/s",
            "decisions/s",
            format!("vs {} thr.", threads[0]),
            "ns/decision",
            "vs kernel"
        );
        let mut base: Option<f64> = None;
        for &t in &threads {
            let r = measure(&market, args.replications, t)?;
            let rate = r.replications as f64 / r.seconds;
            let base_rate = *base.get_or_insert(rate);
            // CPU time per decision (wall time x threads where CPU time is not reported): on one
            // thread, the cost of a decision on one core, whatever else the machine runs.
            let busy = r.cpu_seconds.unwrap_or(r.seconds * t as f64);
            let ns = busy * 1e9 / r.decisions.max(1) as f64;
            outln!(
                "{:>8} {:>8} {:>10.3} {:>12.1} {:>16.0} {:>12.2}x {:>14.1} {:>9.2}x",
                t,
                r.replications,
                r.seconds,
                rate,
                r.decisions as f64 / r.seconds,
                rate / base_rate,
                ns,
                ns / kernel_ns
            );
        }
    }
    match (peak_memory(), before) {
        (Some(p), Some(b)) => outln!(
            "\nPeak memory (VmHWM): {} ({} before the first market was compiled)",
            mib(p),
            mib(b)
        ),
        _ => outln!("\nPeak memory: not reported by this system"),
    }
    outln!("Decisions: supplier choices CCGs made, intentions included, as counted by the engine.");
    outln!(
        "ns/decision: CPU time per decision, every thread's (on 1 thread, a decision's cost on \
         one core); vs kernel: over the bare kernel's CPU ns per decision measured above."
    );
    Ok(ExitCode::SUCCESS)
}
