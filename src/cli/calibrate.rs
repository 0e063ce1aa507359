//! `csmarket calibrate`: ABC-SMC of the scenario's uncertain parameters against its observed
//! targets, with a progress bar per generation, written under `OUT/calibrate/`.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::options::Options;
use super::terminal::TerminalTable;
use super::{CommonArgs, InputError, output};
use crate::experiment::shard::Shard;
use crate::explore::calibrate::{self, CalibrationPlan, Listener, Mode, Outcome};
use crate::explore::{ExploreError, Study};
use crate::export::calibration::{FileStore, files};

/// `csmarket calibrate`.
#[derive(Debug, Clone, Args)]
pub struct CalibrateArgs {
    /// Scenario, seed, threads and output folder (results go to its `calibrate/`); use --reps,
    /// not -n, for replications per particle.
    #[command(flatten)]
    pub study: CommonArgs,
    /// Configuration whose targets are fitted (default: the observed section's).
    #[arg(long)]
    pub config: Option<String>,
    /// Particles per generation, 2 to 100000.
    #[arg(long, default_value_t = 200)]
    pub particles: usize,
    /// Most generations, 1 to 1000 (generation 0 samples the prior).
    #[arg(long, default_value_t = 8)]
    pub generations: u32,
    /// Stop once a generation's tolerance (in tolerance units of the targets) is at most this.
    #[arg(long)]
    pub tolerance: Option<f64>,
    /// Quantile of the last generation's distances that becomes the next tolerance, between 0
    /// and 1.
    #[arg(long, default_value_t = 0.5)]
    pub quantile: f64,
    /// Replications per particle, 1 to 1000000000; the distance uses each target's mean over
    /// them.
    #[arg(long, default_value_t = 5)]
    pub reps: u64,
    /// Most proposals a particle may try in one generation before the calibration stops, 1 to
    /// 1000000.
    #[arg(long, default_value_t = 1000)]
    pub max_attempts: u32,
    /// Carry on from the generations saved in the output folder.
    #[arg(long)]
    pub resume: bool,
    /// Run only shard K of N of the next generation's particles and save them for --merge.
    #[arg(long, value_name = "K/N", conflicts_with_all = ["merge", "resume"])]
    pub shard: Option<Shard>,
    /// Fold the N shards of the next generation into it (after every `--shard K/N` finished).
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    pub merge: Option<u64>,
}

fn report(e: ExploreError) -> anyhow::Error {
    if e.is_input() {
        anyhow::Error::new(InputError(e.to_string()))
    } else {
        anyhow::Error::new(e)
    }
}

/// `csmarket calibrate`.
pub fn calibrate(args: &CalibrateArgs, argv: &[String]) -> anyhow::Result<ExitCode> {
    if args.study.replications.is_some() {
        return Err(InputError(
            "calibrate takes --reps (replications per particle), not -n/--replications".into(),
        )
        .into());
    }
    if args.study.posterior.is_some() {
        return Err(InputError(
            "calibrate fits the parameters itself and takes no --posterior".into(),
        )
        .into());
    }
    let options = Options::from_args(&args.study)?;
    let observed = options
        .scenario
        .base
        .observed
        .as_ref()
        .map(|o| o.configuration.clone());
    let configuration = options.configuration(args.config.as_deref().or(observed.as_deref()))?;
    let reps = super::options::check_replications("--reps", args.reps)?;
    let mode = match (args.shard, args.merge) {
        (Some(s), _) => Mode::Shard(s),
        (None, Some(0)) => return Err(InputError("--merge 0: at least one shard".into()).into()),
        (None, Some(n)) => Mode::Merge(n),
        (None, None) => Mode::Whole {
            resume: args.resume,
        },
    };
    let plan = CalibrationPlan {
        study: Study {
            scenario: options.scenario,
            configuration,
            seed: options.seed,
            replications: reps,
            threads: options.threads,
            posterior: None,
        },
        particles: args.particles,
        generations: args.generations,
        final_tolerance: args.tolerance,
        quantile: args.quantile,
        max_attempts: args.max_attempts,
    };
    plan.check().map_err(report)?;
    let dir = crate::export::layout::OutputLayout::new(&options.out).calibrate();
    let _lock = super::lock_output(&dir, argv)
        .with_context(|| format!("cannot use output folder {}", dir.display()))?;
    let bar = super::progress::bar_of(0, "calibrate", "particles");
    let listen = Listener {
        generation: &|t, eps, n| {
            bar.reset();
            bar.set_length(n);
            bar.set_prefix(match eps {
                Some(e) => format!("generation {t} (eps {e:.3})"),
                None => format!("generation {t} (prior)"),
            });
        },
        task_done: &|done| bar.set_position(done),
    };
    let mut store = FileStore::new(&dir);
    let outcome = calibrate::run(&plan, &mut store, mode, argv, &listen).map_err(report)?;
    bar.finish_and_clear();
    match outcome {
        Outcome::AlreadyDone(stop) => {
            outln!(
                "Nothing to do: the saved generations in {} already stop ({}).",
                dir.display(),
                stop.describe()
            );
        }
        Outcome::Shard { generation, tasks } => {
            outln!(
                "Generation {generation}: particles {}..{} saved in {}/state/; merge with \
                 `csmarket calibrate --merge N` once every shard is done.",
                tasks.start,
                tasks.end,
                dir.display()
            );
        }
        Outcome::Results {
            setup,
            generations,
            summary,
        } => {
            for n in &summary.notes {
                super::note(&format!("note: {n}"));
            }
            outln!(
                "{:>10} {:>10} {:>10} {:>8} {:>11}",
                "generation",
                "tolerance",
                "accepted",
                "ESS",
                "simulations"
            );
            for g in &generations {
                outln!(
                    "{:>10} {:>10} {:>9.1}% {:>8.1} {:>11}",
                    g.index,
                    g.epsilon
                        .map_or_else(|| "prior".into(), |e| format!("{e:.4}")),
                    g.acceptance * 100.0,
                    g.ess,
                    g.simulations
                );
            }
            outln!("Stopped: {}.", summary.stop.describe());
            let f = |x: f64| super::terminal::figure(x);
            let width = super::terminal::width();
            let parameters = TerminalTable {
                header: ["parameter", "prior", "median", "90% interval"]
                    .map(String::from)
                    .to_vec(),
                rows: summary
                    .marginals
                    .iter()
                    .map(|m| {
                        vec![
                            m.path.clone(),
                            format!("{} to {}", f(m.prior.0), f(m.prior.1)),
                            f(m.quantiles[1]),
                            format!("{} to {}", f(m.quantiles[0]), f(m.quantiles[2])),
                        ]
                    })
                    .collect(),
                groups: vec![vec![1, 2, 3]],
            };
            out!("\n{}\n", parameters.render(width));
            let fit = TerminalTable {
                header: ["target", "observed", "predicted", "90% band", "inside"]
                    .map(String::from)
                    .to_vec(),
                rows: summary
                    .fit
                    .iter()
                    .map(|x| {
                        vec![
                            x.target.clone(),
                            f(x.observed),
                            f(x.mean),
                            format!("{} to {}", f(x.band.0), f(x.band.1)),
                            if x.inside { "yes" } else { "no" }.into(),
                        ]
                    })
                    .collect(),
                groups: vec![vec![1, 2, 3, 4]],
            };
            out!("{}", fit.render(width));
            if !summary.unreachable.is_empty() {
                out!(
                    "{}",
                    super::terminal::wrap(
                        &format!(
                            "Cannot be reached: no particle comes within one tolerance of {}.",
                            summary.unreachable.join(", ")
                        ),
                        super::terminal::prose_width(),
                        "",
                        "  "
                    )
                );
            }
            if let Some(last) = generations.last() {
                output::write_files(&dir, &files(&setup, &generations, last, &summary))?;
                super::study_output::write_dictionary(
                    &dir,
                    &crate::export::calibration::columns(&setup),
                )?;
                let drawn = crate::charts::calibration::calibration_charts(
                    &setup,
                    last,
                    &summary.marginals,
                )?;
                output::write_charts(&dir, &drawn)?;
            }
            outln!("Results written to {}/", dir.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
