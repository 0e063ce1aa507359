//! `csmarket sweep`, `csmarket sensitivity` and `csmarket backtest`: arguments turned into a plan
//! for [`crate::explore`], a progress bar, and the files and charts written under the output folder.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::options::Options;
use super::piece_saves::{PieceSaves, Rows};
use super::study_output::{parameters, write_backtest, write_sensitivity, write_sweep};
use super::study_shards::{self, SensitivitySettings, SweepSettings};
use super::{CommonArgs, InputError, progress};
use crate::experiment::shard::Shard;
use crate::explore::sensitivity::{Output, SensitivityPlan};
use crate::explore::sweep::{Refine, SweepPlan};
use crate::explore::{self, ExploreError, Study};
use crate::export::layout::OutputLayout;

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
    /// Carry on from the grid points a stopped sweep saved (starts afresh if none); a shard
    /// already complete returns at once.
    #[arg(long)]
    pub resume: bool,
    /// Run only shard K of N of the grid points' replications (numbered from 0); join the
    /// shards' folders with `csmarket merge`. Not with --refine.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
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
    /// Carry on from the design points a stopped analysis saved (starts afresh if none); a shard
    /// already complete returns at once.
    #[arg(long)]
    pub resume: bool,
    /// Run only shard K of N of the design points' replications (numbered from 0); join the
    /// shards' folders with `csmarket merge`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
}

/// `csmarket backtest`.
#[derive(Debug, Clone, Args)]
pub struct BacktestArgs {
    /// Scenario, replications, seed, threads and output folder.
    #[command(flatten)]
    pub study: CommonArgs,
    /// Carry on from what a stopped back-test saved (starts afresh if none); a shard already
    /// complete returns at once.
    #[arg(long)]
    pub resume: bool,
    /// Run only shard K of N of the replications (numbered from 0); join the shards' folders
    /// with `csmarket merge`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
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

/// Grid points of a sweep.
fn plan_points(plan: &SweepPlan) -> usize {
    plan.axes.iter().map(|a| a.values.len()).product()
}

/// How a study command's run ended.
enum Ran<T> {
    /// The whole study ran: its result, to be written.
    Whole(T),
    /// A shard ran and left its pieces for `csmarket merge`.
    Shard,
    /// A signal stopped it with its progress saved; the exit status to end with.
    Stopped(ExitCode),
}

/// Runs a study's pieces under a progress bar with its progress saved in `saves`, stopping
/// cleanly on a signal: the whole study (`whole`, which returns its result) or, for a shard, its
/// pieces (`shard`), which are then left in `dir` for `csmarket merge`.
#[allow(clippy::too_many_arguments)]
fn run_saved<T>(
    label: &str,
    dir: &Path,
    mut saves: PieceSaves,
    identity: crate::export::study_shard::StudyIdentity,
    scenario: &crate::scenario::Scenario,
    points: usize,
    argv: &[String],
    whole: impl FnOnce(explore::Progress, &mut PieceSaves) -> Result<T, ExploreError>,
    shard: impl FnOnce(
        explore::Progress,
        &mut PieceSaves,
    ) -> Result<Vec<crate::explore::pieces::PieceOutcome>, ExploreError>,
) -> anyhow::Result<Ran<T>> {
    let started = chrono::Utc::now().to_rfc3339();
    let sharded = identity.shard != Shard::WHOLE;
    let outcome = if sharded {
        with_bar(label, |p| shard(p, &mut saves)).map(Err)
    } else {
        with_bar(label, |p| whole(p, &mut saves)).map(Ok)
    };
    if saves.stopped {
        let (what, unit, total) = if sharded {
            let mine =
                crate::explore::pieces::pieces(points, identity.replications, identity.shard);
            (
                format!("Shard {} of the {label}", identity.shard),
                "pieces",
                mine.len(),
            )
        } else {
            let mut what = label.to_string();
            what[..1].make_ascii_uppercase();
            let unit = if label == "sweep" {
                "grid points"
            } else {
                "points"
            };
            (what, unit, points)
        };
        return Ok(Ran::Stopped(study_shards::stopped(
            &what,
            unit,
            saves.finished,
            total,
            saves.progress_dir(),
            argv,
        )));
    }
    if outcome.is_err() && saves.finished == 0 {
        // Nothing to resume (bad input found before the first piece): leave nothing behind.
        let _ = std::fs::remove_dir_all(saves.progress_dir());
    }
    let outcome = outcome?;
    let rows = saves.finish(dir)?;
    match outcome {
        Ok(result) => Ok(Ran::Whole(result)),
        Err(pieces) => {
            study_shards::finish(dir, identity, scenario, &[], started, pieces, rows)?;
            Ok(Ran::Shard)
        }
    }
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
    let shard = args.shard.unwrap_or(Shard::WHOLE);
    if shard != Shard::WHOLE && plan.refine.is_some() {
        return Err(InputError(
            "--refine cannot be split into shards (each refined point waits on the one before); \
             merge the sharded sweep, then refine on one machine"
                .into(),
        )
        .into());
    }
    let dir = layout(&args.study).sweep();
    let _lock = create(&dir, argv)?;
    let settings = SweepSettings {
        axes: plan.axes.clone(),
        providers: plan.providers.clone(),
    };
    let identity = study_shards::study_identity(
        "sweep",
        &plan.study,
        &settings,
        args.study.posterior.as_deref(),
        shard,
    )?;
    if study_shards::already_complete(&dir, &identity, args.resume) {
        return Ok(ExitCode::SUCCESS);
    }
    let parameters = parameters(&plan);
    super::stop::cooperate();
    let saves = PieceSaves::open(
        &dir,
        identity.clone(),
        Some(Rows {
            configuration: &plan.study.configuration,
            parameters: &parameters,
            values: explore::sweep::grid(&plan.axes),
        }),
        args.resume,
    )?;
    let result = run_saved(
        "sweep",
        &dir,
        saves,
        identity,
        &plan.study.scenario,
        plan_points(&plan),
        argv,
        |p, saves| explore::sweep::run_with_rows(&plan, p, saves),
        |p, saves| {
            let design = explore::sweep::design(&plan)?;
            explore::sweep::run_shard(&plan, &design, shard, saves, p)
        },
    );
    match result? {
        Ran::Stopped(code) => Ok(code),
        Ran::Shard => Ok(ExitCode::SUCCESS),
        Ran::Whole(result) => {
            write_sweep(&dir, &plan, result, argv)?;
            Ok(ExitCode::SUCCESS)
        }
    }
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
    let shard = args.shard.unwrap_or(Shard::WHOLE);
    let dir = layout(&args.study).sensitivity();
    let _lock = create(&dir, argv)?;
    let settings = SensitivitySettings {
        all: plan.all,
        fraction: plan.fraction,
        outputs: plan.outputs.clone(),
        trajectories: plan.trajectories,
        levels: plan.levels,
    };
    let identity =
        study_shards::study_identity("sensitivity", &plan.study, &settings, None, shard)?;
    if study_shards::already_complete(&dir, &identity, args.resume) {
        return Ok(ExitCode::SUCCESS);
    }
    super::stop::cooperate();
    // The design is laid out before any replication runs: a bad parameter fails at once.
    let design = explore::sensitivity::design(&plan).map_err(report)?;
    let saves = PieceSaves::open(&dir, identity.clone(), None, args.resume)?;
    let ran = run_saved(
        "sensitivity",
        &dir,
        saves,
        identity,
        &plan.study.scenario,
        design.edits.len(),
        argv,
        |p, saves| {
            let outcomes = explore::sensitivity::run_shard(&plan, &design, Shard::WHOLE, saves, p)?;
            let points = crate::explore::pieces::assemble(
                design.edits.len(),
                plan.study.replications,
                outcomes,
            )
            .map_err(ExploreError::Input)?;
            explore::sensitivity::analyse(&plan, &design, &points)
        },
        |p, saves| explore::sensitivity::run_shard(&plan, &design, shard, saves, p),
    )?;
    match ran {
        Ran::Stopped(code) => Ok(code),
        Ran::Shard => Ok(ExitCode::SUCCESS),
        Ran::Whole(result) => {
            write_sensitivity(&dir, &plan.study, result, argv)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `csmarket backtest`.
pub fn backtest(args: &BacktestArgs, argv: &[String]) -> anyhow::Result<ExitCode> {
    let options = Options::from_args(&args.study)?.calibrated(&args.study)?;
    let configuration =
        explore::backtest::observed_configuration(&options.scenario).map_err(report)?;
    let study = study_of(options, configuration);
    explore::backtest::check(&study).map_err(report)?;
    let shard = args.shard.unwrap_or(Shard::WHOLE);
    let dir = layout(&args.study).backtest();
    let _lock = create(&dir, argv)?;
    let identity = study_shards::study_identity(
        "backtest",
        &study,
        &serde_json::json!({}),
        args.study.posterior.as_deref(),
        shard,
    )?;
    if study_shards::already_complete(&dir, &identity, args.resume) {
        return Ok(ExitCode::SUCCESS);
    }
    super::stop::cooperate();
    let saves = PieceSaves::open(&dir, identity.clone(), None, args.resume)?;
    let ran = run_saved(
        "backtest",
        &dir,
        saves,
        identity,
        &study.scenario,
        1,
        argv,
        |p, saves| explore::backtest::run_with(&study, p, saves),
        |p, saves| explore::backtest::run_shard(&study, shard, saves, p),
    )?;
    match ran {
        Ran::Stopped(code) => Ok(code),
        Ran::Shard => Ok(ExitCode::SUCCESS),
        Ran::Whole(result) => {
            write_backtest(&dir, &study, result, argv)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
