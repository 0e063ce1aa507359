//! `csmarket compare`: every chosen configuration on common random numbers, with paired
//! differences against a baseline, charts and a report, written under `OUT/compare/`.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::output::headline_table;
use super::run::RunPlan;
use super::{CommonArgs, InputError, RunArgs, output, study_shards};
use crate::charts::{self, Labels};
use crate::compare::{self, Measure};
use crate::experiment::figures::MarketFigure;
use crate::experiment::shard::Shard;
use crate::explore::backtest::BacktestResult;
use crate::explore::sensitivity::SensitivityResult;
use crate::explore::sweep::SweepResult;
use crate::export;
use crate::export::compare::ComparisonExport;
use crate::export::layout::{self, OutputLayout};
use crate::model::Market;
use crate::report::explore::Explorations;
use crate::report::{self, ReportInput, RunInfo};
use crate::scenario::ScenarioError;

/// Options of `csmarket compare`.
#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// Scenario, replications, seed, threads and output folder (results go to its `compare/`).
    #[command(flatten)]
    pub common: CommonArgs,
    /// Configurations to compare, repeatable or comma-separated (default: all).
    #[arg(long = "config", alias = "configs", value_delimiter = ',')]
    pub configs: Vec<String>,
    /// Configuration the others are compared against (default: the first).
    #[arg(long)]
    pub baseline: Option<String>,
    /// Also write series.csv in each configuration's folder: every replication's figures per
    /// quarter, in long form.
    #[arg(long)]
    pub series: bool,
    /// Carry on from the progress a stopped comparison saved (starts afresh if none); a shard
    /// already complete returns at once.
    #[arg(long)]
    pub resume: bool,
    /// Run only shard K of N: replications [K R/N, (K+1) R/N) of every configuration (numbered
    /// from 0); join the shards' folders with `csmarket merge`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Seconds between saves of progress; the first block of replications is always saved.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub save_secs: u64,
}

impl CompareArgs {
    /// The default job: every configuration of the built-in scenario.
    pub fn default_job() -> CompareArgs {
        CompareArgs {
            common: CommonArgs::default(),
            configs: Vec::new(),
            baseline: None,
            series: false,
            resume: false,
            shard: None,
            save_secs: 30,
        }
    }
}

/// A validated comparison: the run plan (its `out` already the `compare/` folder) and the
/// baseline's index among its configurations.
#[derive(Debug, Clone)]
pub struct ComparePlan {
    /// Scenario, configurations, replications, seed, threads and output folder.
    pub plan: RunPlan,
    /// Index of the baseline in `plan.configurations`.
    pub baseline: usize,
}

impl ComparePlan {
    /// Checks the arguments against the scenario; a baseline not among `--config` is added first.
    pub fn from_args(args: &CompareArgs) -> anyhow::Result<ComparePlan> {
        let mut plan = RunPlan::from_args(&RunArgs {
            common: args.common.clone(),
            configs: args.configs.clone(),
            shard: args.shard,
            save_secs: args.save_secs,
            ..RunArgs::default_job()
        })?;
        let baseline = match &args.baseline {
            None => 0,
            Some(b) => match plan.configurations.iter().position(|c| c == b) {
                Some(i) => i,
                None if plan.scenario.configuration_names().contains(b) => {
                    plan.configurations.insert(0, b.clone());
                    0
                }
                None => {
                    return Err(ScenarioError::UnknownConfiguration {
                        name: b.clone(),
                        available: plan.scenario.configuration_names(),
                    }
                    .into());
                }
            },
        };
        let mut seen = Vec::new();
        for c in &plan.configurations {
            if seen.contains(&c) {
                return Err(InputError(format!("configuration `{c}` is named twice")).into());
            }
            seen.push(c);
        }
        plan.out = OutputLayout::new(&plan.out).compare();
        Ok(ComparePlan { plan, baseline })
    }
}

/// `csmarket compare`: each configuration runs in turn as `run` runs it (resumable, under
/// `OUT/compare/<configuration>/`), then the pairs are read back from the rows in replication
/// order. Common random numbers make each replication index the same draws in every
/// configuration, so the comparison is the one a lockstep run forms in memory, bit for bit.
pub fn run(args: &CompareArgs, argv: &[String]) -> anyhow::Result<ExitCode> {
    let ComparePlan { mut plan, baseline } = ComparePlan::from_args(args)?;
    plan.resume = args.resume;
    plan.series = args.series;
    let markets: Vec<Market> = plan
        .configurations
        .iter()
        .map(|c| plan.base_market(c))
        .collect::<anyhow::Result<_>>()?;
    let out = &plan.out;
    let _lock = super::lock_output(out, argv)?;
    let labels = Labels::from_markets(&markets);
    let started = chrono::Utc::now().to_rfc3339();
    let identity = study_shards::identity(
        "compare",
        &plan.scenario,
        &plan.configurations.join(","),
        plan.seed,
        plan.replications,
        &study_shards::CompareSettings {
            configurations: plan.configurations.clone(),
            baseline,
            series: plan.series,
        },
        args.common.posterior.as_deref(),
        plan.shard,
    )?;
    if study_shards::already_complete(out, &identity, plan.resume) {
        return Ok(ExitCode::SUCCESS);
    }
    let summaries = match super::run::run_all(&plan, argv, Some(&labels))? {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    if plan.shard != Shard::WHOLE {
        // Each configuration's folder holds its `run` shard; `shard.json`, written last, says the
        // comparison's shard is complete and how to merge it.
        let notes = plan.notes.clone();
        study_shards::finish(
            out,
            identity,
            &plan.scenario,
            &notes,
            started,
            Vec::new(),
            None,
        )?;
        super::run::clear_progress(&plan)?;
        return Ok(ExitCode::SUCCESS);
    }
    plan.write_tidy()?;
    write_comparison(&plan, baseline, summaries, started, argv)?;
    // Every file is written: the saved progress has done its job.
    super::run::clear_progress(&plan)?;
    Ok(ExitCode::SUCCESS)
}

/// Writes a comparison's own files (its configurations' folders and tidy tables written already):
/// the paired differences read back from the rows, the charts and the report; prints the tables.
/// `compare` and the merge of its shards both end here.
pub fn write_comparison(
    plan: &RunPlan,
    baseline: usize,
    summaries: Vec<crate::experiment::Summary>,
    started: String,
    argv: &[String],
) -> anyhow::Result<()> {
    let out = &plan.out;
    let markets: Vec<Market> = plan
        .configurations
        .iter()
        .map(|c| plan.base_market(c))
        .collect::<anyhow::Result<_>>()?;
    let labels = Labels::from_markets(&markets);
    let folders = OutputLayout::new(out);
    let dirs: Vec<_> = plan
        .configurations
        .iter()
        .map(|c| folders.configuration(c))
        .collect();
    let comparison = export::tidy::comparison_from_rows(&markets, baseline, &dirs)?;
    let outcome = compare::CompareOutcome {
        summaries,
        comparison,
    };
    // The comparison's provenance names the baseline; each configuration's names itself.
    let provenance = plan.provenance(
        &plan.configurations[baseline],
        0,
        plan.replications,
        started,
        argv,
    );
    output::write_files(out, &[ComparisonExport(&outcome.comparison)])?;
    let drawn = charts::comparison_charts(&outcome.summaries, &outcome.comparison, &labels)?;
    output::write_charts(out, &drawn)?;
    let info = RunInfo {
        provenance,
        configurations: plan
            .configurations
            .iter()
            .map(|c| {
                let description = plan
                    .scenario
                    .base
                    .configurations
                    .iter()
                    .find(|x| &x.name == c)
                    .map(|x| x.description.clone())
                    .unwrap_or_default();
                (c.clone(), description)
            })
            .collect(),
    };
    let builtin = plan
        .posterior
        .as_ref()
        .is_some_and(|p| p.file == super::DEFAULT_POSTERIOR_NAME);
    let explorations =
        explorations_beside(&OutputLayout::new(out.parent().unwrap_or(out)), builtin)?;
    let input = ReportInput {
        run: &info,
        summaries: &outcome.summaries,
        comparison: &outcome.comparison,
        labels: &labels,
        charts: &drawn,
        extra: &report::explore::exploration_sections(&explorations),
    };
    export::write(out, &report::files(&input))
        .with_context(|| format!("cannot write the report in {}", out.display()))?;
    out!("{}", headline_table(&outcome.summaries));
    out!("{}", difference_table(&outcome.comparison));
    if let Some(p) = &plan.posterior {
        let p = p.source();
        out!(
            "{}",
            super::terminal::wrap(
                &format!(
                    "Calibrated model: each run drew its parameter values from {} ({} particles, \
                     SHA-256 {}).",
                    p.file, p.rows, p.sha256
                ),
                super::terminal::prose_width(),
                "",
                ""
            )
        );
    }
    outln!("Report: {}", out.join(layout::REPORT_HTML).display());
    Ok(())
}

/// The sweep, sensitivity analysis and back-test an earlier command left under the same output
/// root, read back from their JSON files, each with its charts drawn again in memory for the
/// report; and the calibration there, or, when the built-in posterior ran (`builtin`), the
/// calibration that made it.
fn explorations_beside(root: &OutputLayout, builtin: bool) -> anyhow::Result<Explorations> {
    let sweep = export::read_json::<SweepResult>(&root.sweep().join(layout::SWEEP_JSON));
    let sensitivity =
        export::read_json::<SensitivityResult>(&root.sensitivity().join(layout::SENSITIVITY_JSON));
    let backtest =
        export::read_json::<BacktestResult>(&root.backtest().join(layout::BACKTEST_JSON));
    Ok(Explorations {
        sweep: match sweep {
            Some(r) => {
                let drawn = charts::explore::sweep_charts(&r)?;
                Some((r, drawn))
            }
            None => None,
        },
        sensitivity: match sensitivity {
            Some(r) => {
                let drawn = charts::explore::sensitivity_charts(&r)?;
                Some((r, drawn))
            }
            None => None,
        },
        backtest: match backtest {
            Some(r) => {
                let drawn = charts::explore::backtest_charts(&r)?;
                Some((r, drawn))
            }
            None => None,
        },
        calibration: export::read_json(&root.calibrate().join(layout::CALIBRATION_JSON)).or_else(
            || {
                builtin
                    .then(|| serde_json::from_str(super::DEFAULT_CALIBRATION).ok())
                    .flatten()
            },
        ),
    })
}

/// The market-wide paired differences printed at the end of a comparison.
pub fn difference_table(c: &compare::Comparison) -> String {
    let mut s = String::new();
    if c.contrasts.is_empty() {
        return s;
    }
    s.push_str(&format!(
        "\npaired differences against {} (95% interval)\n",
        c.baseline
    ));
    // One configuration per heading and its measures indented beneath, so that a row stays
    // within 80 columns whatever the configuration's name.
    for contrast in &c.contrasts {
        s.push_str(&format!("{}\n", contrast.configuration));
        for m in &Measure::MARKET {
            if let Some(e) = contrast.get(m).and_then(|x| x.estimate()) {
                let factor = if m.is_share() { 100.0 } else { 1.0 };
                let unit = if m.is_share() { " points" } else { "" };
                let money = if *m == Measure::Market(MarketFigure::CostPerHead) {
                    "£"
                } else {
                    ""
                };
                // As in the report: enough decimals that the interval shows (two significant
                // figures of its half-width), so a narrow one does not read "-0.16 to -0.16".
                let d = e.interval.map_or(2, |(lo, hi)| {
                    report::tables::precision((hi - lo) / 2.0 * factor).max(2)
                });
                let signed = |v: f64| {
                    let digits = format!("{:.d$}", v.abs());
                    let sign = if digits.trim_matches(['0', '.']).is_empty() {
                        "" // rounds to zero: no sign
                    } else if v < 0.0 {
                        "-"
                    } else {
                        "+"
                    };
                    format!("{sign}{money}{digits}")
                };
                let ci = e.interval.map_or_else(String::new, |(lo, hi)| {
                    format!(" ({} to {})", signed(lo * factor), signed(hi * factor))
                });
                s.push_str(&format!(
                    "  {:<33} {}{unit}{ci}\n",
                    m.label(),
                    signed(e.diff * factor)
                ));
            }
        }
    }
    s
}
