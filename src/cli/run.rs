//! `csmarket run`: every chosen configuration of a scenario, written under the output folder.

use std::path::Path;
use std::process::ExitCode;

use super::RunArgs;
use super::output::headline_table;
use super::plan::RunPlan;

/// `csmarket run`.
pub fn run(args: &RunArgs, argv: &[String]) -> anyhow::Result<ExitCode> {
    let plan = RunPlan::from_args(args)?;
    let mut summaries = Vec::new();
    for c in &plan.configurations {
        // Each configuration is run (the plan's shard of it) and written, saving progress as it goes
        // so that `--resume` can finish it.
        summaries.push(super::scale::run_configuration(&plan, c, argv)?);
    }
    // Every configuration is written: the saved progress has done its job.
    super::scale::clear_progress(&plan)?;
    print!("{}", headline_table(&summaries));
    println!("Results written to {}", display_dir(&plan.out));
    Ok(ExitCode::SUCCESS)
}

fn display_dir(p: &Path) -> String {
    format!("{}/", p.display())
}
