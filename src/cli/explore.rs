//! `csmarket sweep`, `csmarket sensitivity` and `csmarket backtest`: arguments turned into a plan
//! for [`crate::explore`], a progress bar, and the files and charts written under the output folder.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::options::Options;
use super::sweep_saves::SweepSaves;
use super::{CommonArgs, InputError, output, progress};
use crate::charts;
use crate::explore::sensitivity::{Output, SensitivityPlan};
use crate::explore::sweep::{Refine, SweepPlan};
use crate::explore::{self, ExploreError, Study};
use crate::export;
use crate::export::layout::{self, OutputLayout};

/// `csmarket sweep`.
#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// Scenario, replications, seed, threads and output folder.
    #[command(flatten)]
    pub study: CommonArgs,
    /// Configuration to sweep (may be left out when the scenario has only one).
    #[arg(long)]
    pub config: Option<String>,
    /// PATH=VALUES: a numeric field and its values, `from:to:count` or a comma list; several make a
    /// grid of at most 10000 points.
    #[arg(long = "param", required = true)]
    pub params: Vec<String>,
    /// Providers to chart and refine, comma-separated (default: those whose survival changes most).
    #[arg(long, value_delimiter = ',')]
    pub providers: Vec<String>,
    /// Narrow each charted provider's tipping point by bisection with more replications.
    #[arg(long)]
    pub refine: bool,
    /// Bisection steps for --refine (at most 52).
    #[arg(long, default_value_t = Refine::default().steps)]
    pub refine_steps: u32,
    /// Replications at refined points, as a multiple of -n (at most 1000000000 in all).
    #[arg(long, default_value_t = Refine::default().factor)]
    pub refine_factor: u64,
    /// Carry on from the grid points a stopped sweep saved (starts afresh if none).
    #[arg(long)]
    pub resume: bool,
}

/// `csmarket sensitivity`.
#[derive(Debug, Clone, Args)]
pub struct SensitivityArgs {
    /// Scenario, replications, seed, threads and output folder.
    #[command(flatten)]
    pub study: CommonArgs,
    /// Configuration to analyse (may be left out when the scenario has only one).
    #[arg(long)]
    pub config: Option<String>,
    /// Vary every numeric field (except identifiers, seeds, counts and periods), not only the
    /// scenario's `uncertain` list.
    #[arg(long)]
    pub all: bool,
    /// Each parameter is varied by plus and minus this fraction of its value.
    #[arg(long, default_value_t = 0.2)]
    pub fraction: f64,
    /// Figures to explain, repeatable or comma-separated: survival:PROVIDER, cost_per_head,
    /// in_house_share, open_providers, unmet_share (default: cost per head, in-house share,
    /// survival of each at-scale provider).
    #[arg(long = "metrics", alias = "output", value_delimiter = ',')]
    pub outputs: Vec<String>,
    /// Morris trajectories, at most 10000 (0: one-at-a-time only).
    #[arg(long, default_value_t = 10)]
    pub trajectories: u32,
    /// Morris grid levels (even, 2 to 100).
    #[arg(long, default_value_t = 4)]
    pub levels: u32,
}

/// `csmarket backtest`.
#[derive(Debug, Clone, Args)]
pub struct BacktestArgs {
    /// Scenario, replications, seed, threads and output folder.
    #[command(flatten)]
    pub study: CommonArgs,
}

/// Turns an exploration error into one the command line reports with the right exit status.
fn report(e: ExploreError) -> anyhow::Error {
    if e.is_input() {
        anyhow::Error::new(InputError(e.to_string()))
    } else {
        anyhow::Error::new(e)
    }
}

/// Runs an exploration under a progress bar whose length follows what the tool reports (it
/// grows when `--refine` adds points); the bar is cleared however the run ends.
fn with_bar<T>(
    label: &str,
    run: impl FnOnce(explore::Progress) -> Result<T, ExploreError>,
) -> anyhow::Result<T> {
    let bar = progress::Progress::new(0);
    bar.labelled(label);
    let result = run(&|done, total| {
        bar.set_total(total);
        bar.done(done);
    });
    bar.finish();
    result.map_err(report)
}

/// The study a command describes; `configuration` is checked against the scenario.
fn study(args: &CommonArgs, configuration: Option<&str>) -> anyhow::Result<Study> {
    let options = Options::from_args(args)?;
    let configuration = options.configuration(configuration)?;
    Ok(study_of(options, configuration))
}

fn study_of(options: Options, configuration: String) -> Study {
    Study {
        scenario: options.scenario,
        configuration,
        seed: options.seed,
        replications: options.replications,
        threads: options.threads,
        posterior: options.posterior,
    }
}

/// The output layout a command writes into.
fn layout(args: &CommonArgs) -> OutputLayout {
    OutputLayout::new(super::default_out(
        args.out.as_ref(),
        args.scenario.as_ref(),
    ))
}

/// Creates and locks the folder a tool writes into.
fn create(dir: &Path, argv: &[String]) -> anyhow::Result<crate::export::lock::OutputLock> {
    super::lock_output(dir, argv)
        .with_context(|| format!("cannot use output folder {}", dir.display()))
}

/// Writes the exact scenario text a study ran, `scenario.toml`, into its folder.
fn write_scenario(dir: &Path, scenario: &crate::scenario::Scenario) -> anyhow::Result<()> {
    let file = dir.join(layout::SCENARIO);
    export::atomic::write(&file, scenario.text.as_bytes())
        .with_context(|| format!("cannot write {}", file.display()))
}

/// Grid points of a sweep.
fn plan_points(plan: &SweepPlan) -> usize {
    plan.axes.iter().map(|a| a.values.len()).product()
}

/// Says, after a signal, which grid points of a sweep finished and the command that resumes;
/// returns the exit status of a process stopped by that signal.
fn sweep_stopped(saves: &SweepSaves, points: usize, argv: &[String]) -> ExitCode {
    let signal = super::stop::requested().unwrap_or(15);
    super::say_err(&format!(
        "Stopped by {}.\nSweep: grid points 1..{} of {points} finished and saved in {}.\n\
         Resume with:\n  {}\n",
        super::stop::name(signal),
        saves.finished,
        saves.progress_dir().display(),
        super::stop::resume_command(argv)
    ));
    ExitCode::from(super::stop::exit_status(signal))
}

/// `csmarket sweep`.
pub fn sweep(args: &SweepArgs, argv: &[String]) -> anyhow::Result<ExitCode> {
    let options = Options::from_args(&args.study)?.calibrated(&args.study)?;
    let configuration = options.configuration(args.config.as_deref())?;
    let study = study_of(options, configuration);
    let axes = args
        .params
        .iter()
        .map(|p| explore::sweep::parse_param(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(report)?;
    let plan = SweepPlan {
        study,
        axes,
        providers: args.providers.clone(),
        refine: args.refine.then_some(Refine {
            steps: args.refine_steps,
            factor: args.refine_factor,
        }),
    };
    plan.check().map_err(report)?;
    let dir = layout(&args.study).sweep();
    let _lock = create(&dir, argv)?;
    // runs.csv: a row per grid point and replication, the point's values as columns.
    let parameters: Vec<(String, String)> = plan
        .axes
        .iter()
        .map(|a| {
            (
                export::tidy::parameter_column(&a.path),
                format!("the value of `{}` at this point of the sweep", a.path),
            )
        })
        .collect();
    super::stop::cooperate();
    let mut saves = SweepSaves::open(&dir, &plan, &parameters, args.resume)?;
    let outcome = with_bar("sweep", |p| {
        explore::sweep::run_with_rows(&plan, p, &mut saves)
    });
    if saves.stopped {
        return Ok(sweep_stopped(&saves, plan_points(&plan), argv));
    }
    if outcome.is_err() && saves.finished == 0 {
        // Nothing to resume (bad input found before the first point): leave nothing behind.
        let _ = std::fs::remove_dir_all(saves.progress_dir());
    }
    let mut result = outcome?;
    saves.finish(&dir)?;
    export::atomic::write(
        &dir.join(layout::COLUMNS),
        &export::column::columns_csv(&export::tidy::runs_columns(&parameters))?,
    )
    .with_context(|| format!("cannot write {}", dir.join(layout::COLUMNS).display()))?;
    write_scenario(&dir, &plan.study.scenario)?;
    result.origin.command_line = argv.to_vec();
    output::write_files(&dir, &export::sweep::files(&result))?;
    output::write_charts(&dir, &charts::explore::sweep_charts(&result)?)?;
    for n in &result.notes {
        errln!("note: {n}");
    }
    outln!(
        "{} points x {} replications of `{}`",
        result.points.len(),
        result.origin.replications,
        result.origin.configuration
    );
    if result.tipping.is_empty() {
        outln!("No provider's survival crosses 50% within the sweep.");
    } else {
        outln!(
            "{:<28} {:<8} {:<9} tipping point (interval) on {}",
            "provider",
            "method",
            "direction",
            result.axes[0].path
        );
        for t in &result.tipping {
            let fixed = t
                .fixed
                .iter()
                .map(|(p, v)| format!("{p}={v}"))
                .collect::<Vec<_>>()
                .join(", ");
            outln!(
                "{:<28} {:<8} {:<9} {}{}{}",
                t.provider,
                t.method.as_str(),
                t.crossing.direction.as_str(),
                if result.axes.len() > 1 {
                    format!("{}: ", t.parameter)
                } else {
                    String::new()
                },
                explore::sweep::describe(&t.crossing),
                if fixed.is_empty() {
                    String::new()
                } else {
                    format!(" at {fixed}")
                }
            );
        }
    }
    outln!("Results written to {}/", dir.display());
    Ok(ExitCode::SUCCESS)
}

/// `csmarket sensitivity`.
pub fn sensitivity(args: &SensitivityArgs, argv: &[String]) -> anyhow::Result<ExitCode> {
    if args.study.posterior.is_some() {
        return Err(InputError(
            "sensitivity varies the uncertain parameters itself and takes no --posterior \
             (run, compare, sweep and backtest do)"
                .into(),
        )
        .into());
    }
    let study = study(&args.study, args.config.as_deref())?;
    let outputs = args
        .outputs
        .iter()
        .map(|o| o.parse::<Output>().map_err(InputError))
        .collect::<Result<Vec<_>, _>>()?;
    let plan = SensitivityPlan {
        study,
        all: args.all,
        fraction: args.fraction,
        outputs,
        trajectories: args.trajectories,
        levels: args.levels,
    };
    plan.check().map_err(report)?;
    let dir = layout(&args.study).sensitivity();
    let _lock = create(&dir, argv)?;
    let mut result = with_bar("sensitivity", |p| explore::sensitivity::run(&plan, p))?;
    write_scenario(&dir, &plan.study.scenario)?;
    result.origin.command_line = argv.to_vec();
    output::write_files(&dir, &export::sensitivity::files(&result))?;
    output::write_charts(&dir, &charts::explore::sensitivity_charts(&result)?)?;
    if !result.skipped.is_empty() {
        errln!(
            "note: {} parameters left out (listed in sensitivity.json)",
            result.skipped.len()
        );
    }
    outln!(
        "{} parameters varied by ±{}% on `{}`, {} replications per run",
        result.factors.len(),
        result.fraction * 100.0,
        result.origin.configuration,
        result.origin.replications
    );
    for (oi, o) in result.outputs.iter().enumerate() {
        outln!(
            "{} (baseline {:.4}): largest effects",
            o.name(),
            result.baseline.get(oi).copied().unwrap_or(f64::NAN)
        );
        let morris = result.morris_of(o);
        for row in result.oat_of(o).into_iter().take(5) {
            let m = morris.iter().find(|m| m.path == row.path);
            outln!(
                "  {:<52} swing {:+.4}{}",
                row.path,
                row.swing,
                m.map_or_else(String::new, |m| format!(
                    "  mu* {:.4}  sigma {:.4}",
                    m.mu_star, m.sigma
                ))
            );
        }
    }
    outln!("Results written to {}/", dir.display());
    Ok(ExitCode::SUCCESS)
}

/// `csmarket backtest`.
pub fn backtest(args: &BacktestArgs, argv: &[String]) -> anyhow::Result<ExitCode> {
    let options = Options::from_args(&args.study)?.calibrated(&args.study)?;
    let configuration =
        explore::backtest::observed_configuration(&options.scenario).map_err(report)?;
    let study = study_of(options, configuration);
    let dir = layout(&args.study).backtest();
    let _lock = create(&dir, argv)?;
    let mut result = with_bar("backtest", |p| explore::backtest::run(&study, p))?;
    write_scenario(&dir, &study.scenario)?;
    result.origin.command_line = argv.to_vec();
    output::write_files(&dir, &export::backtest::files(&result))?;
    output::write_charts(&dir, &charts::explore::backtest_charts(&result)?)?;
    let s = &result.scores;
    outln!(
        "{} recorded ratings, configuration `{}`, {} replications",
        s.n,
        result.origin.configuration,
        result.origin.replications
    );
    outln!(
        "accuracy {:.1}%  Brier {:.4}  (base rates {:.4}, skill {:+.3})",
        s.accuracy * 100.0,
        s.brier,
        s.brier_base_rate,
        s.skill
    );
    outln!("observed \\ modal     A     B     C  unrated");
    for (i, row) in s.confusion.iter().enumerate() {
        outln!(
            "{:<16} {:>5} {:>5} {:>5} {:>8}",
            explore::backtest::outcome_name(i),
            row[0],
            row[1],
            row[2],
            row[3]
        );
    }
    outln!("In words: {}.", s.verdict());
    if !result.targets.is_empty() {
        outln!(
            "\n{:<36} {:>9} {:>9} {:>21} {:>6} {:>9} {:>9} {:>7}",
            "target",
            "observed",
            "mean",
            "90% band",
            "inside",
            "crps",
            "reference",
            "skill"
        );
        for t in &result.targets {
            outln!(
                "{:<36} {:>9.4} {:>9.4} {:>10.4} to {:<7.4} {:>6} {:>9.4} {:>9.4} {:>+7.2}",
                t.target,
                t.observed,
                t.mean,
                t.p5,
                t.p95,
                if t.inside_90 { "yes" } else { "no" },
                t.crps,
                t.reference,
                t.skill
            );
        }
        for t in &result.targets {
            outln!("{}: {}.", t.target, t.verdict());
        }
        outln!(
            "In words: {}.",
            explore::target_check::summary(&result.targets)
        );
    }
    if let Some(p) = &result.origin.posterior {
        outln!(
            "Calibrated model: parameters drawn from {} (SHA-256 {}).",
            p.file,
            p.sha256
        );
    }
    outln!("Results written to {}/", dir.display());
    Ok(ExitCode::SUCCESS)
}
