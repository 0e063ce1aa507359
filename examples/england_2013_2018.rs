//! What the calibrated England 2012 model predicts for 2013 to 2018 under a configuration
//! (default `comms-collaboratives`, the September 2012 plan): local CSUs open, the in-house share
//! of volume and the staff of NHS providers at the end of each financial year, with 90% bands over
//! replications, each drawing its parameter values from the shipped posterior
//! (`scenarios/england-2012.posterior.csv`), as the default job does.
//!
//! ```text
//! cargo run --release --example england_2013_2018 -- [CONFIGURATION] [REPLICATIONS] [--uncalibrated]
//! ```
//!
//! `--uncalibrated` runs the scenario's own values instead, for a before-and-after comparison.
//! Staff is counted at the end of each financial year from the quarter's figures where the
//! engine records them (local CSUs open, in-house share) and at the end of the run (staff).

use std::process::ExitCode;

use csmarket::cli::DEFAULT_POSTERIOR_NAME;
use csmarket::cli::run::builtin_market;
use csmarket::experiment;
use csmarket::explore::calibrate::abc::weighted_quantile;
use csmarket::scenario::schema::ProviderKind;

/// Mean, 5th and 95th percentiles of values.
fn band(values: &[f64]) -> (f64, f64, f64) {
    let ones = vec![1.0; values.len()];
    (
        values.iter().sum::<f64>() / values.len().max(1) as f64,
        weighted_quantile(values, &ones, 0.05),
        weighted_quantile(values, &ones, 0.95),
    )
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let uncalibrated = args.iter().any(|a| a == "--uncalibrated");
    let plain: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let configuration = plain.first().map_or("comms-collaboratives", |s| s.as_str());
    let n: u64 = match plain.get(1) {
        Some(s) => s.parse()?,
        None => 1000,
    };
    let market = builtin_market(configuration, !uncalibrated, 0..n)?;
    // The end of each financial year: quarter 4 is January-March 2014 when quarter 1 is 2013Q2.
    let year_ends = [4usize, 8, 12, 16, 20];
    let mut local = vec![Vec::new(); year_ends.len()];
    let mut in_house = vec![Vec::new(); year_ends.len()];
    let mut staff = Vec::new();
    let kinds: Vec<ProviderKind> = market.providers.iter().map(|p| p.kind).collect();
    experiment::run(
        &market,
        0..n,
        0,
        &mut |r| {
            for (k, &q) in year_ends.iter().enumerate() {
                if let Some(f) = r.series.get(q - 1) {
                    local[k].push(f64::from(f.open_by_kind[0]));
                    in_house[k].push(f.in_house_share);
                }
            }
            // Collaboratives deliver through their members' staff: counted once, at the members.
            staff.push(
                r.providers
                    .iter()
                    .zip(&kinds)
                    .filter(|(_, k)| **k != ProviderKind::Collaborative)
                    .map(|(p, _)| p.staff)
                    .sum::<f64>(),
            );
            Ok(())
        },
        &|_| {},
    )?;
    println!(
        "England 2012, configuration `{configuration}`, {n} replications, {}",
        if uncalibrated {
            "the scenario's own values (not calibrated)".to_string()
        } else {
            format!("calibrated (posterior {DEFAULT_POSTERIOR_NAME})")
        }
    );
    println!(
        "{:<12} {:>28} {:>30}",
        "year end", "local CSUs open (90% band)", "in-house share (90% band)"
    );
    for (k, &q) in year_ends.iter().enumerate() {
        let (m, lo, hi) = band(&local[k]);
        let (hm, hlo, hhi) = band(&in_house[k]);
        println!(
            "{:<12} {:>10.1} ({:>4.0} to {:>4.0})    {:>10.1}% ({:>4.1}% to {:>4.1}%)",
            format!("March {}", 2013 + q / 4),
            m,
            lo,
            hi,
            hm * 100.0,
            hlo * 100.0,
            hhi * 100.0
        );
    }
    let (m, lo, hi) = band(&staff);
    println!("Staff of local CSUs and national services, March 2018: {m:.0} ({lo:.0} to {hi:.0})");
    Ok(())
}
