//! `csmarket compare`: every chosen configuration on common random numbers, with paired
//! differences against a baseline, charts and a report, written under `OUT/compare/`.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::run::{RunPlan, headline_table};
use super::{CommonArgs, InputError, RunArgs, progress};
use crate::charts::{self, Labels};
use crate::compare::{self, Measure};
use crate::export::{self, Provenance, ReplicationWriter, atomic};
use crate::model::Market;
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
        plan.out = plan.out.join("compare");
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
    let mut writers = Vec::new();
    for m in &markets {
        let dir = out.join(&m.configuration);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create output folder {}", dir.display()))?;
        let path = dir.join("replications.csv");
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
    for (m, s) in markets.iter().zip(&outcome.summaries) {
        let dir = out.join(&m.configuration);
        let provenance = Provenance {
            csmarket_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: plan.scenario.base.scenario.name.clone(),
            scenario_file: plan.scenario.file.clone(),
            scenario_sha256: plan.scenario.sha256.clone(),
            configuration: m.configuration.clone(),
            seed: plan.seed,
            first_replication: 0,
            replications: plan.replications,
            threads: plan.thread_count(),
            started: started.clone(),
            finished: finished.clone(),
            command_line: argv.to_vec(),
        };
        export::write_summary(&dir, s, &provenance)
            .with_context(|| format!("cannot write results in {}", dir.display()))?;
        let drawn = charts::configuration_charts(std::slice::from_ref(s), &labels)?;
        charts::write(&dir, &drawn)
            .with_context(|| format!("cannot write charts in {}", dir.display()))?;
    }
    let csv_path = out.join("comparison.csv");
    atomic::write(&csv_path, &compare::comparison_csv(&outcome.comparison)?)
        .with_context(|| format!("cannot write {}", csv_path.display()))?;
    let drawn = charts::comparison_charts(&outcome.summaries, &outcome.comparison, &labels)?;
    charts::write(out, &drawn)
        .with_context(|| format!("cannot write charts in {}", out.display()))?;
    let info = RunInfo {
        scenario: plan.scenario.base.scenario.name.clone(),
        scenario_file: plan.scenario.file.clone(),
        scenario_sha256: plan.scenario.sha256.clone(),
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
        baseline: plan.configurations[baseline].clone(),
        seed: plan.seed,
        replications: plan.replications,
        threads: plan.thread_count(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        date: finished,
        command_line: argv.to_vec(),
    };
    report::write(
        out,
        &ReportInput {
            run: &info,
            summaries: &outcome.summaries,
            comparison: &outcome.comparison,
            labels: &labels,
            charts: &drawn,
            extra: &report::explore::exploration_sections(out.parent().unwrap_or(out)),
        },
    )
    .with_context(|| format!("cannot write the report in {}", out.display()))?;

    out!("{}", headline_table(&outcome.summaries));
    out!("{}", difference_table(&outcome.comparison));
    outln!("Report: {}", out.join("report.html").display());
    Ok(ExitCode::SUCCESS)
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
