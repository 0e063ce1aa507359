//! The command line: parses arguments into a validated plan and wires the library together.

/// `println!` through [`say`]: a closed stdout is not an error and never panics.
macro_rules! outln {
    ($($t:tt)*) => { $crate::cli::say(&format!("{}\n", format_args!($($t)*))) };
}
/// `print!` through [`say`].
macro_rules! out {
    ($($t:tt)*) => { $crate::cli::say(&format!($($t)*)) };
}
/// `eprintln!` through [`say_err`]: never panics on a closed stderr.
macro_rules! errln {
    ($($t:tt)*) => { $crate::cli::say_err(&format!("{}\n", format_args!($($t)*))) };
}

pub mod calibrate;
pub mod compare;
pub mod explore;
pub mod options;
pub mod output;
pub mod piece_saves;
pub mod progress;
pub mod run;
pub mod scale;
pub mod stop;
pub mod study_merge;
pub mod study_output;
pub mod study_shards;
pub mod terminal;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::experiment::resume::ResumeError;
use crate::experiment::shard::Shard;
use crate::export::lock::{LockError, OutputLock};
use crate::export::merge::MergeError;
use crate::export::study_shard::StudyMergeError;
use crate::generate::GenerateError;
use crate::scenario::{Scenario, ScenarioError};

/// The built-in default scenario, England 2012.
pub const DEFAULT_SCENARIO: &str = include_str!("../../scenarios/england-2012.toml");
/// The name shown for the built-in scenario: provenance and messages say it is the built-in copy.
pub const DEFAULT_SCENARIO_NAME: &str = "scenarios/england-2012.toml (built-in)";
/// The posterior sample of the built-in scenario's calibration (`csmarket calibrate --config
/// national-comms`, docs/calibration.md): the default job runs the calibrated model.
pub const DEFAULT_POSTERIOR: &str = include_str!("../../scenarios/england-2012.posterior.csv");
/// The summary of the calibration that made [`DEFAULT_POSTERIOR`] (its `calibration.json`): the
/// default job's report shows its priors, posterior and fit.
pub const DEFAULT_CALIBRATION: &str = include_str!("../../scenarios/england-2012.calibration.json");
/// The name shown for the built-in posterior.
pub const DEFAULT_POSTERIOR_NAME: &str = "scenarios/england-2012.posterior.csv (built-in)";
/// Where the default scenario's file lives in a checkout of csmarket.
pub const DEFAULT_SCENARIO_FILE: &str = "scenarios/england-2012.toml";

/// csmarket: simulate a market for commissioning support and see which configurations are viable.
#[derive(Debug, Parser)]
#[command(
    name = "csmarket",
    version,
    about,
    long_about = None,
    after_help = "Run with no command, csmarket compares every configuration of the built-in England \
2012 scenario (`csmarket compare`) and writes the report to output/england-2012/compare/report.html.

Examples:
  csmarket                                      the default comparison, report included
  csmarket run scenarios/tutorial.toml -n 1000  one scenario's configurations, 1000 replications each
  csmarket compare --config all-local,national-comms --baseline all-local"
)]
pub struct Cli {
    /// What to do; without a command, compares every configuration of the built-in England 2012 scenario.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Print only errors and warnings: no progress bar, no tables, no notes.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run replications of a scenario's configurations and write results.
    #[command(after_help = "Examples:
  csmarket run -n 2000 --config national-comms
  csmarket run scenarios/tutorial.toml --series --out results
  csmarket run -n 1000000 --shard 0/4 --out shard0   (then `csmarket merge shard0 ... --out all`)")]
    Run(RunArgs),
    /// Compare configurations on common random numbers: paired differences, charts and a report.
    #[command(after_help = "Examples:
  csmarket compare
  csmarket compare scenarios/tutorial.toml -n 2000 --baseline local
  csmarket compare --config all-local,national-comms --resume   (after Ctrl-C)")]
    Compare(compare::CompareArgs),
    /// Check scenario files and report every problem found.
    #[command(after_help = "Examples:
  csmarket validate scenarios/england-2012.toml
  csmarket validate scenarios/*.toml")]
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run a configuration over a grid of parameter values and find tipping points.
    #[command(after_help = "Examples:
  csmarket sweep scenarios/tutorial.toml --config national --param services.communications.locality=0:1:11
  csmarket sweep --config national-comms --param providers.national-comms.reserves=0:4e6:9 --refine")]
    Sweep(explore::SweepArgs),
    /// Rank uncertain parameters by their effect: tornado (one at a time) and Morris screening.
    // --posterior comes with the shared options but sensitivity refuses it: not shown.
    #[command(mut_arg("posterior", |a| a.hide(true)))]
    #[command(after_help = "Examples:
  csmarket sensitivity --config national-comms
  csmarket sensitivity --config national-comms --metrics survival:national-comms,cost_per_head --all")]
    Sensitivity(explore::SensitivityArgs),
    /// Score the model against the scenario's observations: checkpoint ratings and targets.
    #[command(after_help = "Examples:
  csmarket backtest
  csmarket backtest -n 500 --seed 7")]
    Backtest(explore::BacktestArgs),
    /// Fit the scenario's uncertain parameters to its observed targets (ABC-SMC).
    // -n and --posterior come with the shared options but calibrate refuses them: not shown.
    #[command(
        mut_arg("replications", |a| a.hide(true)),
        mut_arg("posterior", |a| a.hide(true))
    )]
    #[command(after_help = "Examples:
  csmarket calibrate --config national-comms --particles 200 --reps 5
  csmarket calibrate --config national-comms --resume
  csmarket run --config national-comms --posterior output/england-2012/calibrate/posterior.csv")]
    Calibrate(calibrate::CalibrateArgs),
    /// Measure replications and CCG decisions per second, peak memory and speed-up per thread count.
    #[command(after_help = "Examples:
  csmarket bench
  csmarket bench --config all-local -n 4096 --threads 1,2,4")]
    Bench(scale::BenchArgs),
    /// Write a generated scenario of any size (CCGs, local CSUs, regions) from a seed.
    #[command(after_help = "Examples:
  csmarket generate --ccgs 2000 --providers 100 --regions 10 --out big.toml
  csmarket generate --ccgs 200 --providers 10 --regions 2 | csmarket validate /dev/stdin")]
    Generate(scale::GenerateArgs),
    /// Merge the output folders of `run`, `compare`, `sweep`, `sensitivity` or `backtest` with
    /// `--shard K/N` into the output one machine would have written.
    #[command(after_help = "Examples:
  csmarket merge shard0 shard1 shard2 shard3 --out all
  csmarket sweep --config national-comms --param services.communications.locality=0:1:21 --shard 0/2 --out s0
  csmarket merge s0 s1 --out all          (writes all/sweep/ as one machine would)
  csmarket merge machine-*/output --out merged")]
    Merge(scale::MergeArgs),
}

/// Options every command that runs replications shares.
#[derive(Debug, Clone, Default, Args)]
pub struct CommonArgs {
    /// Scenario file, a regular file of at most 64 MiB (default: the built-in England 2012).
    pub scenario: Option<PathBuf>,
    /// Replications per configuration or point, 1 to 1000000000 (default: the scenario's).
    #[arg(long, short = 'n')]
    pub replications: Option<u64>,
    /// Master seed (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads, at most 1024 (default 0: all cores); results do not depend on it.
    #[arg(long, short = 'j', default_value_t = 0)]
    pub threads: usize,
    /// Output folder (default: output/<scenario file name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A posterior sample (posterior.csv of `csmarket calibrate`): each replication draws its
    /// parameter values from it, keyed by seed and replication.
    #[arg(long, value_name = "FILE")]
    pub posterior: Option<PathBuf>,
}

/// Options of `csmarket run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Scenario, replications, seed, threads and output folder.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Configurations to run, repeatable or comma-separated (default: all).
    #[arg(long = "config", value_delimiter = ',')]
    pub configs: Vec<String>,
    /// Also write series.csv in each configuration's folder: every replication's figures per
    /// quarter, in long form (about 60 rows a replication).
    #[arg(long)]
    pub series: bool,
    /// Run only shard K of N (numbered from 0: replications [K R/N, (K+1) R/N)); merge the shards'
    /// folders with `csmarket merge`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Carry on from the progress a killed run saved in the output folder (starts afresh if none).
    #[arg(long)]
    pub resume: bool,
    /// Seconds between saves of progress; the first block of replications is always saved.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 30,
        alias = "checkpoint-secs"
    )]
    pub save_secs: u64,
}

/// The output folder a command uses: `--out`, or `output/<scenario file name>`
/// (`output/england-2012` for the built-in scenario).
pub fn default_out(out: Option<&PathBuf>, scenario: Option<&PathBuf>) -> PathBuf {
    out.cloned().unwrap_or_else(|| {
        let stem = scenario.and_then(|p| p.file_stem()).map_or_else(
            || "england-2012".to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        PathBuf::from("output").join(stem)
    })
}

/// Loads the scenario a command names, or the built-in one.
pub fn load_scenario(path: Option<&PathBuf>) -> Result<Scenario, ScenarioError> {
    match path {
        Some(p) => Scenario::from_path(p),
        None => Scenario::from_text(DEFAULT_SCENARIO_NAME, DEFAULT_SCENARIO),
    }
}

/// What to tell people about the scenario a command uses when the working folder holds its own
/// `scenarios/england-2012.toml` that differs from the built-in copy: which of the two ran.
/// `path` is the scenario file given (none: the built-in one).
pub fn scenario_notes(path: Option<&PathBuf>) -> Vec<String> {
    let local = Path::new(DEFAULT_SCENARIO_FILE);
    let Ok(text) = std::fs::read(local) else {
        return Vec::new();
    };
    if text == DEFAULT_SCENARIO.as_bytes() {
        return Vec::new();
    }
    match path {
        None => vec![format!(
            "{DEFAULT_SCENARIO_FILE} in this folder differs from the built-in copy; the built-in \
             copy ran (give the file's path to run it instead)"
        )],
        Some(p) if std::fs::canonicalize(p).ok() == std::fs::canonicalize(local).ok() => {
            vec![format!(
                "{DEFAULT_SCENARIO_FILE} differs from the built-in copy; this file ran, not the \
                 built-in copy"
            )]
        }
        Some(_) => Vec::new(),
    }
}

/// Runs the command line; returns the process exit code (2 for bad input, 1 for other failures).
pub fn main_with(cli: Cli, mut argv: Vec<String>) -> ExitCode {
    QUIET.store(cli.quiet, std::sync::atomic::Ordering::Relaxed);
    if cli.command.is_none() {
        // The default job is `compare`: provenance and the resume command say so.
        argv.insert(argv.len().min(1), "compare".into());
    }
    stop::install(&argv);
    let result = match cli.command {
        None => compare::run(&compare::CompareArgs::default_job(), &argv),
        Some(Command::Compare(args)) => compare::run(&args, &argv),
        Some(Command::Run(args)) => run::run(&args, &argv),
        Some(Command::Validate { files }) => validate(&files),
        Some(Command::Sweep(args)) => explore::sweep(&args, &argv),
        Some(Command::Sensitivity(args)) => explore::sensitivity(&args, &argv),
        Some(Command::Backtest(args)) => explore::backtest(&args, &argv),
        Some(Command::Calibrate(args)) => calibrate::calibrate(&args, &argv),
        Some(Command::Bench(args)) => scale::bench(&args),
        Some(Command::Generate(args)) => scale::generate(&args),
        Some(Command::Merge(args)) => scale::merge(&args, &argv),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            errln!("Error: {}", error_message(&e));
            if is_input_error(&e) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// `--quiet`: no progress bars, tables or notes; errors and warnings are still said.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether `--quiet` was given.
pub fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// A note for people on standard error (what was written, which scenario ran, where a run
/// resumed from); `--quiet` drops it.
pub fn note(text: &str) {
    if !quiet() {
        say_err(&format!("{text}\n"));
    }
}

/// A warning on standard error, said even under `--quiet`: something the user most likely did not
/// mean, such as a local scenario file that did not run.
pub fn warn(text: &str) {
    say_err(&format!("Warning: {text}\n"));
}

/// Writes text to standard output (`--quiet` drops it). A closed stdout (`csmarket validate *.toml | head -1`) is not
/// an error: the text is dropped, quietly, as the reader asked; other failures are reported once
/// on stderr. Never panics, unlike `print!`.
pub fn say(text: &str) {
    use std::io::Write;
    static CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if quiet() || CLOSED.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            say_err(&format!("cannot write to standard output: {e}\n"));
        }
    }
}

/// Writes text to standard error; a failure there has nowhere left to be reported, and is not a
/// reason to panic.
pub fn say_err(text: &str) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// An error and its causes on one line, each said once: many errors name their cause in their
/// own message too (`{file}: {source}`), and `{:#}` would repeat it.
pub fn error_message(e: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

/// Locks a command's output folder for this process (see [`OutputLock`]), saying which
/// temporary files of a killed run it removed.
pub fn lock_output(dir: &Path, argv: &[String]) -> anyhow::Result<OutputLock> {
    let lock = OutputLock::acquire(dir, argv)?;
    if !lock.cleaned().is_empty() {
        note(&format!(
            "Removed {} temporary file{} a stopped run left in {}",
            lock.cleaned().len(),
            if lock.cleaned().len() == 1 { "" } else { "s" },
            dir.display()
        ));
    }
    Ok(lock)
}

/// Bad input (a scenario problem, an unknown configuration, an output folder another process
/// holds) exits with status 2.
fn is_input_error(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<ScenarioError>().is_some()
            || c.downcast_ref::<InputError>().is_some()
            || c.downcast_ref::<MergeError>()
                .is_some_and(MergeError::is_input_error)
            || c.downcast_ref::<StudyMergeError>()
                .is_some_and(|e| !matches!(e, StudyMergeError::Io { .. }))
            || c.downcast_ref::<GenerateError>()
                .is_some_and(|e| matches!(e, GenerateError::Size(_)))
            || c.downcast_ref::<LockError>()
                .is_some_and(|e| matches!(e, LockError::Held { .. }))
            || c.downcast_ref::<ResumeError>()
                .is_some_and(|e| !matches!(e, ResumeError::Io { .. }))
    })
}

/// An error in what the user asked for (not in a scenario file).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

impl RunArgs {
    /// The default job: every configuration of the built-in scenario.
    pub fn default_job() -> RunArgs {
        RunArgs {
            common: CommonArgs::default(),
            configs: Vec::new(),
            series: false,
            shard: None,
            resume: false,
            save_secs: 30,
        }
    }
}

fn validate(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut bad = 0;
    for f in files {
        match Scenario::from_path(f) {
            Ok(s) => outln!(
                "{}: ok ({} configuration{}: {})",
                f.display(),
                s.configuration_names().len(),
                if s.configuration_names().len() == 1 {
                    ""
                } else {
                    "s"
                },
                s.configuration_names().join(", ")
            ),
            Err(e) => {
                bad += 1;
                errln!("{e}");
            }
        }
    }
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_posterior_fits_the_built_in_scenario_and_its_calibration_summary() {
        let s = Scenario::from_text(DEFAULT_SCENARIO_NAME, DEFAULT_SCENARIO).unwrap();
        let p = crate::explore::calibrate::posterior::Posterior::from_text(
            DEFAULT_POSTERIOR_NAME,
            DEFAULT_POSTERIOR,
            &s,
        )
        .unwrap();
        let summary: crate::explore::calibrate::store::Summary =
            serde_json::from_str(DEFAULT_CALIBRATION).unwrap();
        let columns: Vec<&str> = p.fields.iter().map(|f| f.path.as_str()).collect();
        let fitted: Vec<&str> = summary.marginals.iter().map(|m| m.path.as_str()).collect();
        assert_eq!(columns, fitted);
        // Every parameter of the posterior still has its prior in the scenario.
        for m in &summary.marginals {
            let u = s.base.uncertain.iter().find(|u| u.path == m.path).unwrap();
            assert_eq!(u.prior(), Some(m.prior), "{}", m.path);
        }
        assert_eq!(summary.origin.configuration, "national-comms");
    }

    /// The shipped calibration was fitted on the built-in scenario as it is: an edit to the file,
    /// even to a comment, must come with the calibration run again (docs/calibration.md).
    #[test]
    fn the_shipped_calibration_records_the_built_in_scenarios_sha256() {
        use sha2::{Digest, Sha256};
        let summary: crate::explore::calibrate::store::Summary =
            serde_json::from_str(DEFAULT_CALIBRATION).unwrap();
        let sha = crate::experiment::sealed::hex_digest(Sha256::new_with_prefix(DEFAULT_SCENARIO));
        assert_eq!(summary.origin.scenario_sha256, sha);
    }

    #[test]
    fn an_error_says_each_cause_once() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let reason = io.to_string();
        let e = anyhow::Error::new(LockError::Io {
            action: "lock",
            file: "/tmp/x".into(),
            source: io,
        })
        .context("cannot use output folder /tmp");
        assert_eq!(
            error_message(&e),
            format!("cannot use output folder /tmp: cannot lock /tmp/x: {reason}")
        );
    }
}
