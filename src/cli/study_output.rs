//! The files and terminal tables of `sweep`, `sensitivity` and `backtest`, written the same way
//! by the commands and by `csmarket merge` of their shards.

use std::path::Path;

use anyhow::Context;

use super::output;
use super::terminal::{self, TerminalTable};
use crate::charts;
use crate::explore::sweep::SweepPlan;
use crate::explore::{self, Study};
use crate::export;
use crate::export::layout;

/// Writes the exact scenario text a study ran, `scenario.toml`, into its folder.
pub fn write_scenario(dir: &Path, scenario: &crate::scenario::Scenario) -> anyhow::Result<()> {
    let file = dir.join(layout::SCENARIO);
    export::atomic::write(&file, scenario.text.as_bytes())
        .with_context(|| format!("cannot write {}", file.display()))
}

/// Writes the data dictionary `columns.csv` of a study's folder.
pub fn write_dictionary(dir: &Path, columns: &[export::column::Column]) -> anyhow::Result<()> {
    let file = dir.join(layout::COLUMNS);
    export::atomic::write(&file, &export::column::columns_csv(columns)?)
        .with_context(|| format!("cannot write {}", file.display()))
}

/// A sweep's parameter columns of `runs.csv`: a column per swept parameter, with its meaning.
pub fn parameters(plan: &SweepPlan) -> Vec<(String, String)> {
    plan.axes
        .iter()
        .map(|a| {
            (
                export::tidy::parameter_column(&a.path),
                format!("the value of `{}` at this point of the sweep", a.path),
            )
        })
        .collect()
}

/// Writes a sweep's files beside its `runs.csv` (the data dictionary, the scenario text, the
/// tables and charts) and prints its tipping points; `sweep` and the merge of its shards both end
/// here.
pub fn write_sweep(
    dir: &Path,
    plan: &SweepPlan,
    mut result: crate::explore::sweep::SweepResult,
    argv: &[String],
) -> anyhow::Result<()> {
    let mut columns = export::tidy::runs_columns(&parameters(plan));
    let axes: Vec<String> = result.axes.iter().map(|a| a.path.clone()).collect();
    columns.extend(export::sweep::columns(&axes));
    write_dictionary(dir, &columns)?;
    write_scenario(dir, &plan.study.scenario)?;
    result.origin.command_line = argv.to_vec();
    output::write_files(dir, &export::sweep::files(&result))?;
    output::write_charts(dir, &charts::explore::sweep_charts(&result)?)?;
    for n in &result.notes {
        super::note(&format!("note: {n}"));
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
        // The parameter on a line of its own: a path is long, and a grid has several.
        let along: Vec<&str> = result.axes.iter().map(|a| a.path.as_str()).collect();
        outln!("Where survival crosses 50%, along {}:", along.join(" and "));
        outln!(
            "{:<28} {:<8} {:<9} tipping point (interval)",
            "provider",
            "method",
            "direction"
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
    Ok(())
}

/// Writes a sensitivity analysis's files and charts and prints its largest effects; `sensitivity`
/// and the merge of its shards both end here.
pub fn write_sensitivity(
    dir: &Path,
    study: &Study,
    mut result: crate::explore::sensitivity::SensitivityResult,
    argv: &[String],
) -> anyhow::Result<()> {
    write_scenario(dir, &study.scenario)?;
    write_dictionary(dir, &export::sensitivity::columns())?;
    result.origin.command_line = argv.to_vec();
    output::write_files(dir, &export::sensitivity::files(&result))?;
    output::write_charts(dir, &charts::explore::sensitivity_charts(&result)?)?;
    if !result.skipped.is_empty() {
        super::note(&format!(
            "note: {} parameters left out (listed in sensitivity.json)",
            result.skipped.len()
        ));
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
    Ok(())
}

/// Writes a back-test's files and chart and prints its scores; `backtest` and the merge of its
/// shards both end here.
pub fn write_backtest(
    dir: &Path,
    study: &Study,
    mut result: crate::explore::backtest::BacktestResult,
    argv: &[String],
) -> anyhow::Result<()> {
    write_scenario(dir, &study.scenario)?;
    write_dictionary(dir, &export::backtest::columns())?;
    result.origin.command_line = argv.to_vec();
    output::write_files(dir, &export::backtest::files(&result))?;
    output::write_charts(dir, &charts::explore::backtest_charts(&result)?)?;
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
    let prose = terminal::prose_width();
    out!(
        "{}",
        terminal::wrap(&format!("In words: {}.", s.verdict()), prose, "", "")
    );
    if !result.targets.is_empty() {
        let f = |x: f64| terminal::figure(x);
        let table = TerminalTable {
            header: [
                "target",
                "observed",
                "mean",
                "90% band",
                "inside",
                "crps",
                "reference",
                "skill",
            ]
            .map(String::from)
            .to_vec(),
            rows: result
                .targets
                .iter()
                .map(|t| {
                    vec![
                        t.target.clone(),
                        f(t.observed),
                        f(t.mean),
                        format!("{} to {}", f(t.p5), f(t.p95)),
                        if t.inside_90 { "yes" } else { "no" }.into(),
                        f(t.crps),
                        f(t.reference),
                        format!("{:+.2}", t.skill),
                    ]
                })
                .collect(),
            groups: vec![vec![1, 2, 3, 4], vec![5, 6, 7]],
        };
        outln!("");
        out!("{}", table.render(terminal::width()));
        outln!("");
        for t in &result.targets {
            out!(
                "{}",
                terminal::wrap(&format!("{}: {}.", t.target, t.verdict()), prose, "", "  ")
            );
        }
        out!(
            "{}",
            terminal::wrap(
                &format!(
                    "In words: {}.",
                    explore::target_check::summary(&result.targets)
                ),
                prose,
                "",
                ""
            )
        );
    }
    for n in &result.target_notes {
        out!(
            "{}",
            terminal::wrap(&format!("Note: {n}."), prose, "", "  ")
        );
    }
    if let Some(p) = &result.origin.posterior {
        out!(
            "{}",
            terminal::wrap(
                &format!(
                    "Calibrated model: parameters drawn from {} (SHA-256 {}).",
                    p.file, p.sha256
                ),
                prose,
                "",
                ""
            )
        );
    }
    outln!("Results written to {}/", dir.display());
    Ok(())
}
