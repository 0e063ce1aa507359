//! What folding replications into a summary costs, apart from simulating them: the calibrated
//! England 2012 outcomes are simulated (or read back) once, then folded block by block as
//! `experiment::run_from` folds them (`experiment::fold`, then a merge into the run's summary),
//! several times over, timed; `fold_all` is the function to toggle callgrind on.
//!
//! ```text
//! cargo run --release --example fold_cost -- save OUTCOMES.json [CONFIGURATION] [REPLICATIONS]
//! cargo run --release --example fold_cost -- fold OUTCOMES.json [CONFIGURATION] [TIMES] [SUMMARY.json]
//! valgrind --tool=callgrind --toggle-collect='fold_cost::fold_all' \
//!     target/release/examples/fold_cost fold OUTCOMES.json national-comms 1
//! ```

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Instant;

use csmarket::cli::run::builtin_market;
use csmarket::engine::ReplicationOutcome;
use csmarket::experiment::{self, BLOCK, Summary};
use csmarket::model::Market;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Folds every outcome as a run does: block by block, each block's summary merged into the run's.
#[inline(never)]
fn fold_all(market: &Market, outcomes: &[ReplicationOutcome]) -> Summary {
    let mut summary = Summary::new(market);
    for block in outcomes.chunks(BLOCK as usize) {
        summary.merge(&experiment::fold(market, block));
    }
    summary
}

fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, path) = match (args.first(), args.get(1)) {
        (Some(m), Some(p)) => (m.as_str(), p.as_str()),
        _ => anyhow::bail!("usage: fold_cost save|fold OUTCOMES.json [CONFIGURATION] [N]"),
    };
    let configuration = args.get(2).map_or("national-comms", |s| s.as_str());
    let n: u64 = args.get(3).map_or(Ok(3000), |s| s.parse())?;
    if mode == "save" {
        let market = builtin_market(configuration, true, 0..n)?;
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        experiment::run(
            &market,
            0..n,
            0,
            &mut |r| {
                serde_json::to_writer(&mut out, r)?;
                out.write_all(b"\n")?;
                Ok(())
            },
            &|_| {},
        )?;
        out.flush()?;
        return Ok(());
    }
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    let outcomes = file
        .lines()
        .map(|l| Ok(serde_json::from_str::<ReplicationOutcome>(&l?)?))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let market = builtin_market(configuration, true, 0..outcomes.len() as u64)?;
    let pool = experiment::pool(1)?;
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..n {
        let t = Instant::now();
        let s = pool.install(|| fold_all(&market, &outcomes));
        times.push(t.elapsed().as_secs_f64());
        last = Some(s);
    }
    times.sort_by(f64::total_cmp);
    let json = last.map(|s| serde_json::to_string(&s)).transpose()?;
    if let (Some(out), Some(json)) = (args.get(4), &json) {
        std::fs::write(out, json)?;
    }
    println!(
        "{} outcomes, fold of all: median {:.2} ms, min {:.2} ms ({} times); summary JSON {} bytes",
        outcomes.len(),
        times[times.len() / 2] * 1e3,
        times[0] * 1e3,
        times.len(),
        json.map_or(0, |j| j.len())
    );
    Ok(())
}
