//! `csmarket compare`: every chosen configuration on common random numbers, with paired
//! differences against a baseline, charts and a report, written under `OUT/compare/`.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::output::headline_table;
use super::run::RunPlan;
use super::{CommonArgs, InputError, RunArgs, output, progress};
use crate::charts::{self, Labels};
use crate::compare::{self, Measure};
use crate::explore::backtest::BacktestResult;
use crate::explore::sensitivity::SensitivityResult;
use crate::explore::sweep::SweepResult;
use crate::export::compare::ComparisonExport;
use crate::export::layout::{self, OutputLayout};
use crate::export::{self, Provenance, ReplicationWriter};
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
    /// Configurations to compare, comma-separated (default: all).
    #[arg(long = "configs", alias = "config", value_delimiter = ',')]
    pub configs: Vec<String>,
    /// Configuration the others are compared against (default: the first).
    #[arg(long)]
    pub baseline: Option<String>,
}

impl CompareArgs {
    /// The default job: every configuration of the built-in scenario.
    pub fn default_job() -> CompareArgs {
        CompareArgs {
            common: CommonArgs::default(),
            configs: Vec::new(),
            baseline: None,
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
    /// Checks the arguments against the scenario; a baseline not among `--configs` is added first.
    pub fn from_args(args: &CompareArgs) -> anyhow::Result<ComparePlan> {
        let mut plan = RunPlan::from_args(&RunArgs {
            common: args.common.clone(),
            configs: args.configs.clone(),
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

/// `csmarket compare`.
pub fn run(args: &CompareArgs, argv: &[String]) -> anyhow::Result<ExitCode> {
    let ComparePlan { plan, baseline } = ComparePlan::from_args(args)?;
    let markets: Vec<Market> = plan
        .configurations
        .iter()
        .map(|c| plan.market(c))
        .collect::<anyhow::Result<_>>()?;
    let out = &plan.out;
    let _lock = super::lock_output(out, argv)?;
    // The comparison's own folder holds one folder per configuration, laid out as `run`'s.
    let folders = OutputLayout::new(out);
    let mut writers = Vec::new();
    for m in &markets {
        let dir = folders.configuration(&m.configuration);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create output folder {}", dir.display()))?;
        let path = dir.join(layout::REPLICATIONS);
        writers.push((
            ReplicationWriter::create(&path, m)
                .with_context(|| format!("cannot write {}", path.display()))?,
            path,
        ));
    }
    let started = chrono::Utc::now().to_rfc3339();
    let bar = progress::bar(plan.replications, "compare");
    let outcome = compare::run(
        &markets,
        baseline,
        0..plan.replications,
        plan.threads,
        &mut |c, r| {
            let (w, path) = &mut writers[c];
            w.write(r)
                .with_context(|| format!("cannot write {}", path.display()))
        },
        &|done| bar.set_position(done),
    )?;
    bar.finish_and_clear();
    let finished = chrono::Utc::now().to_rfc3339();
    for (w, path) in writers {
        w.finish()
            .with_context(|| format!("cannot write {}", path.display()))?;
    }

    let labels = Labels::from_markets(&markets);
    // The comparison's provenance names the baseline; each configuration's names itself.
    let provenance = Provenance {
        csmarket_version: Provenance::this_version(),
        scenario: plan.scenario.base.scenario.name.clone(),
        scenario_file: plan.scenario.file.clone(),
        scenario_sha256: plan.scenario.sha256.clone(),
        configuration: plan.configurations[baseline].clone(),
        seed: plan.seed,
        first_replication: Some(0),
        replications: plan.replications,
        threads: plan.thread_count(),
        started,
        finished,
        command_line: argv.to_vec(),
    };
    for (m, s) in markets.iter().zip(&outcome.summaries) {
        let dir = folders.configuration(&m.configuration);
        let own = Provenance {
            configuration: m.configuration.clone(),
            ..provenance.clone()
        };
        export::write_summary(&dir, s, &own)
            .with_context(|| format!("cannot write results in {}", dir.display()))?;
        output::write_configuration_charts(&dir, s, &labels)?;
    }
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
    let explorations = explorations_beside(&OutputLayout::new(out.parent().unwrap_or(out)))?;
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
    outln!("Report: {}", out.join(layout::REPORT_HTML).display());
    Ok(ExitCode::SUCCESS)
}

/// The sweep, sensitivity analysis and back-test an earlier command left under the same output
/// root, read back from their JSON files, each with its charts drawn again in memory for the
/// report.
fn explorations_beside(root: &OutputLayout) -> anyhow::Result<Explorations> {
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
        calibration: export::read_json(&root.calibrate().join(layout::CALIBRATION_JSON)),
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
    for contrast in &c.contrasts {
        for m in &Measure::MARKET {
            if let Some(e) = contrast.get(m).and_then(|x| x.estimate()) {
                let factor = if m.is_share() { 100.0 } else { 1.0 };
                let unit = if m.is_share() { " points" } else { "" };
                let ci = e.interval.map_or_else(String::new, |(lo, hi)| {
                    format!(" ({:+.2} to {:+.2})", lo * factor, hi * factor)
                });
                s.push_str(&format!(
                    "{:<24} {:<34} {:+.2}{unit}{ci}\n",
                    contrast.configuration,
                    m.label(),
                    e.diff * factor
                ));
            }
        }
    }
    s
}
