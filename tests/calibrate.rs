//! Calibration (ABC-SMC) and posterior prediction: recovery of known parameters, determinism over
//! threads and shards, targets' validation, and `--posterior` runs.

use std::fs;
use std::path::Path;

use csmarket::engine;
use csmarket::explore::Study;
use csmarket::explore::calibrate::measure::Measure;
use csmarket::explore::calibrate::{self, CalibrationPlan, Listener, Mode, Outcome};
use csmarket::export::calibration::{FileStore, posterior_csv};
use csmarket::model::Market;
use csmarket::scenario::Scenario;

use crate::util::csmarket;

const TUTORIAL: &str = include_str!("../scenarios/tutorial.toml");

/// The parameters recovered: the unit cost of doing BI in-house (0.9 in the file) and the share
/// of their targets providers plan on (0.6). (Localities move these targets by less than one
/// replication's noise, so they cannot be recovered from them; a grid of 100 replications
/// showed it.)
const PRIORS: &str = r#"uncertain = [
  { path = "services.bi.in_house.unit_cost", min = 0.3, max = 1.2, reason = "recovery test" },
  { path = "rules.plan_share", min = 0.2, max = 1.0, reason = "recovery test" },
]
"#;

/// The true values of [`PRIORS`], as the tutorial writes them.
const TRUTH: [f64; 2] = [0.9, 0.6];

/// Targets read from the tutorial's `collaborative` configuration at its own parameter values.
const KINDS: [&str; 5] = [
    "kind = \"intention_share\"\ndestination = \"in_house\"",
    "kind = \"intention_share\"\ndestination = \"independent\"",
    "kind = \"in_house_share\"\nquarter = 4",
    "kind = \"spend_per_head\"\nquarter = 4",
    "kind = \"spend_per_head\"\nto = \"nhs\"\nquarter = 4",
];

/// The tutorial with priors and targets simulated at its true values: the mean of 200
/// replications, with half their standard deviation as tolerance.
fn recovery_scenario() -> String {
    let base = Scenario::from_text("tutorial.toml", TUTORIAL).unwrap();
    let market = Market::compile(&base.resolve("collaborative").unwrap(), "collaborative").unwrap();
    let reps = 200;
    let outcomes: Vec<_> = (0..reps).map(|r| engine::simulate(&market, r)).collect();
    let mut text = format!("{PRIORS}{TUTORIAL}\n[observed]\nconfiguration = \"collaborative\"\n");
    for kind in KINDS {
        let probe = format!("{kind}\nvalue = 0\ntolerance = 1\nsource = \"simulated\"\n");
        let t = toml::from_str(&probe).unwrap();
        let m = Measure::of(&t, &market).unwrap();
        let v: Vec<f64> = outcomes.iter().map(|o| m.value(&market, o)).collect();
        let mean = v.iter().sum::<f64>() / reps as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (reps - 1) as f64;
        let tolerance = (var.sqrt() / 2.0).max(0.005);
        text.push_str(&format!(
            "\n[[observed.targets]]\n{kind}\nvalue = {mean}\ntolerance = {tolerance}\n\
             source = \"simulated at the tutorial's own values\"\n"
        ));
    }
    text
}

fn plan(text: &str, threads: usize, particles: usize, generations: u32) -> CalibrationPlan {
    CalibrationPlan {
        study: Study {
            scenario: Scenario::from_text("recovery.toml", text).unwrap(),
            configuration: "collaborative".into(),
            seed: 3,
            replications: 4,
            threads,
            posterior: None,
        },
        particles,
        generations,
        final_tolerance: None,
        quantile: 0.5,
        max_attempts: 500,
    }
}

/// Runs a calibration with its generations saved under `dir`.
fn calibrate_in(plan: &CalibrationPlan, dir: &Path, mode: Mode) -> Outcome {
    let mut store = FileStore::new(dir);
    calibrate::run(plan, &mut store, mode, &[], &quiet()).unwrap()
}

fn quiet() -> Listener<'static> {
    Listener {
        generation: &|_, _, _| {},
        task_done: &|_| {},
        stop: &|| false,
        resumed: &|_| {},
    }
}

fn results(
    o: Outcome,
) -> (
    calibrate::Setup,
    Vec<calibrate::sampler::Generation>,
    calibrate::store::Summary,
) {
    match o {
        Outcome::Results {
            setup,
            generations,
            summary,
        } => (*setup, generations, *summary),
        other => panic!("expected results, got {other:?}"),
    }
}

#[test]
fn calibration_recovers_the_tutorials_own_parameters() {
    let text = recovery_scenario();
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let p = plan(&text, 2, 60, 4);
    let (_, gens, summary) = results(calibrate_in(&p, dir.path(), Mode::Whole { resume: false }));
    for (m, t) in summary.marginals.iter().zip(TRUTH) {
        eprintln!(
            "{}: true {t}, median {:.3}, 90% {:.3} to {:.3}",
            m.path, m.quantiles[1], m.quantiles[0], m.quantiles[2]
        );
        assert!(
            m.quantiles[0] <= t && t <= m.quantiles[2],
            "{} = {t} outside the 90% interval {:?}",
            m.path,
            m.quantiles
        );
    }
    // Narrower than the prior: a uniform prior's 90% interval is 0.9 of its range.
    let ratio = |m: &calibrate::store::Marginal| {
        (m.quantiles[2] - m.quantiles[0]) / (0.9 * (m.prior.1 - m.prior.0))
    };
    let ratios: Vec<f64> = summary.marginals.iter().map(ratio).collect();
    eprintln!("posterior 90% width / prior 90% width: {ratios:?}");
    assert!(ratios.iter().all(|r| *r < 1.0), "{ratios:?}");
    assert!(ratios.iter().any(|r| *r < 0.5), "{ratios:?}");
    let eps: Vec<_> = gens.iter().map(|g| g.epsilon).collect();
    eprintln!(
        "tolerances {eps:?}, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for f in &summary.fit {
        assert!(f.inside, "{} not inside its 90% band: {f:?}", f.target);
    }
    assert!(dir.path().join("state/generation-003.json").is_file());
}

/// A generation's shard stopped part way (a signal, a time limit, a lost node) keeps the
/// particles it finished; `--resume` runs only the others and saves the shard byte for byte as an
/// uninterrupted run does; resumed once complete, it returns at once.
#[test]
fn a_calibration_shard_stopped_part_way_resumes_to_the_shard_an_uninterrupted_one_saves() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let text = recovery_scenario();
    let shard = csmarket::experiment::shard::Shard::new(1, 2).unwrap();
    let file = "state/generation-001/shard-1-of-2.json";
    let progress = "state/generation-001/shard-1-of-2.progress.json";
    // Generation 0 on one machine, then shard 1/2 of generation 1 (particles 6..12): whole in
    // `straight`, stopped after two particles and resumed in `stopped`.
    let (straight, stopped) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for dir in [&straight, &stopped] {
        calibrate_in(
            &plan(&text, 1, 12, 1),
            dir.path(),
            Mode::Whole { resume: false },
        );
    }
    let two = plan(&text, 1, 12, 2);
    let shard_mode = |resume| Mode::Shard { shard, resume };
    assert!(matches!(
        calibrate_in(&two, straight.path(), shard_mode(false)),
        Outcome::Shard { already: false, .. }
    ));

    // The stop is asked before each task starts (one thread: one task at a time), so two run
    // and the rest are left, however fast the build. A stop that waited for two tasks to be
    // reported done raced the tasks (a release build ran all six first).
    let asked = AtomicU64::new(0);
    let stopping = Listener {
        generation: &|_, _, _| {},
        task_done: &|_| {},
        stop: &|| asked.fetch_add(1, Ordering::SeqCst) >= 2,
        resumed: &|_| panic!("nothing to resume from"),
    };
    let mut store = FileStore::new(stopped.path());
    let outcome = calibrate::run(&two, &mut store, shard_mode(false), &[], &stopping).unwrap();
    let Outcome::Stopped {
        generation,
        finished,
        tasks,
        ..
    } = outcome
    else {
        panic!("expected a stopped shard, got {outcome:?}");
    };
    assert_eq!((generation, tasks.clone()), (1, 6..12));
    assert_eq!(finished, 2, "stopped after {finished} of 6");
    assert!(stopped.path().join(progress).is_file(), "progress saved");
    assert!(!stopped.path().join(file).exists(), "no shard file yet");

    let resumed_with = AtomicU64::new(0);
    let resuming = Listener {
        generation: &|_, _, n| assert_eq!(n as usize, 6 - finished, "runs only the rest"),
        task_done: &|_| {},
        stop: &|| false,
        resumed: &|r| {
            assert_eq!((r.generation, r.tasks.clone()), (1, 6..12));
            resumed_with.store(r.saved as u64, Ordering::SeqCst);
        },
    };
    let outcome = calibrate::run(&two, &mut store, shard_mode(true), &[], &resuming).unwrap();
    assert!(matches!(outcome, Outcome::Shard { already: false, .. }));
    assert_eq!(resumed_with.load(Ordering::SeqCst) as usize, finished);
    assert_eq!(
        fs::read(straight.path().join(file)).unwrap(),
        fs::read(stopped.path().join(file)).unwrap(),
        "the resumed shard is the uninterrupted one"
    );
    assert!(!stopped.path().join(progress).exists(), "progress removed");
    assert!(matches!(
        calibrate_in(&two, stopped.path(), shard_mode(true)),
        Outcome::Shard { already: true, .. }
    ));

    // Stopped before its first particle, a shard saves nothing; a progress file that is not
    // one (here a saved shard) is refused, naming it, rather than resumed.
    fs::remove_file(stopped.path().join(file)).unwrap();
    let stop_at_once = Listener {
        stop: &|| true,
        ..quiet()
    };
    let mut store = FileStore::new(stopped.path());
    assert!(matches!(
        calibrate::run(&two, &mut store, shard_mode(false), &[], &stop_at_once).unwrap(),
        Outcome::Stopped { finished: 0, .. }
    ));
    assert!(!stopped.path().join(progress).exists());
    fs::copy(straight.path().join(file), stopped.path().join(progress)).unwrap();
    let e = calibrate::run(&two, &mut store, shard_mode(true), &[], &quiet()).unwrap_err();
    assert!(e.to_string().contains("shard-1-of-2.progress.json"), "{e}");
}

#[test]
fn calibration_is_the_same_for_one_and_two_threads_and_for_shards() {
    let text = recovery_scenario();
    let one = tempfile::tempdir().unwrap();
    let two = tempfile::tempdir().unwrap();
    let run = |dir: &Path, threads, mode| calibrate_in(&plan(&text, threads, 12, 2), dir, mode);
    let (setup, a, _) = results(run(one.path(), 1, Mode::Whole { resume: false }));
    let (_, b, _) = results(run(two.path(), 2, Mode::Whole { resume: false }));
    assert_eq!(a, b);
    let posterior =
        |g: &[calibrate::sampler::Generation]| posterior_csv(&setup, g.last().unwrap()).unwrap();
    assert_eq!(posterior(&a), posterior(&b));

    // The same two generations, each split over three shards and merged.
    let sharded = tempfile::tempdir().unwrap();
    let mut merged = None;
    for _generation in 0..2 {
        for k in 0..3 {
            let s = csmarket::experiment::shard::Shard::new(k, 3).unwrap();
            assert!(matches!(
                run(
                    sharded.path(),
                    1,
                    Mode::Shard {
                        shard: s,
                        resume: false,
                    },
                ),
                Outcome::Shard { .. }
            ));
        }
        merged = Some(run(sharded.path(), 2, Mode::Merge(3)));
    }
    assert!(matches!(
        run(sharded.path(), 1, Mode::Merge(3)),
        Outcome::AlreadyDone(_)
    ));
    let (_, m, _) = results(merged.unwrap());
    assert_eq!(a, m);
    assert_eq!(posterior(&a), posterior(&m));

    // Resuming after generation 0 gives the same as running straight through.
    let resumed = tempfile::tempdir().unwrap();
    calibrate_in(
        &plan(&text, 1, 12, 1),
        resumed.path(),
        Mode::Whole { resume: false },
    );
    let (_, c, _) = results(run(resumed.path(), 2, Mode::Whole { resume: true }));
    assert_eq!(a, c);

    // Saved generations of another calibration are refused, saying what differs.
    let mut other = plan(&text, 1, 12, 3);
    other.study.seed = 4;
    let mut store = FileStore::new(resumed.path());
    let e = calibrate::run(
        &other,
        &mut store,
        Mode::Whole { resume: true },
        &[],
        &quiet(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("generation-000.json") && e.contains("another seed"),
        "{e}"
    );
    // A saved generation edited after it was written breaks its seal and is refused.
    let saved = resumed.path().join("state/generation-000.json");
    let text_saved = std::fs::read_to_string(&saved).unwrap();
    assert!(
        text_saved.starts_with("{\"format\":1,\"sha256\":"),
        "{text_saved:.60}"
    );
    let edited = text_saved.clone();
    // Change one digit of the first particle's distance: still JSON, no longer what was sealed.
    let at = edited.find("\"distance\":").unwrap() + "\"distance\":".len();
    let mut bytes = edited.into_bytes();
    let digit = bytes[at..].iter().position(u8::is_ascii_digit).unwrap() + at;
    bytes[digit] = if bytes[digit] == b'1' { b'2' } else { b'1' };
    std::fs::write(&saved, &bytes).unwrap();
    let e = calibrate::run(
        &plan(&text, 1, 12, 3),
        &mut store,
        Mode::Whole { resume: true },
        &[],
        &quiet(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("generation-000.json") && e.contains("SHA-256 seal"),
        "{e}"
    );
    std::fs::write(&saved, text_saved).unwrap();
    // A merge with a shard missing says which and how to make it.
    let e = calibrate::run(
        &plan(&text, 1, 12, 3),
        &mut store,
        Mode::Merge(2),
        &[],
        &quiet(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("shard-0-of-2.json: missing") && e.contains("--shard 0/2"),
        "{e}"
    );
}

#[test]
fn targets_are_validated_with_line_and_column() {
    let cases = [
        (
            "kind = \"rating_count\"\nrating = \"A\"\nvalue = 3\ntolerance = 1\nsource = \"x\"",
            "checkpoint: missing; a `rating_count` target needs checkpoint and rating",
        ),
        (
            "kind = \"intention_share\"\ndestination = \"host\"\nvalue = 0.6\ntolerance = 0\nsource = \"x\"",
            "tolerance: got 0",
        ),
        (
            "kind = \"intention_share\"\ndestination = \"host\"\nvalue = 1.5\ntolerance = 0.1\nsource = \"x\"",
            "value: out of range",
        ),
        (
            "kind = \"in_house_share\"\nquarter = 40\nvalue = 0.5\ntolerance = 0.1\nsource = \"x\"",
            "quarter: out of range",
        ),
        (
            "kind = \"in_house_share\"\nquarter = 2\ndestination = \"host\"\nvalue = 0.5\ntolerance = 0.1\nsource = \"x\"",
            "takes no `destination`",
        ),
        (
            "kind = \"open_providers\"\nquarter = 2\nvalue = 3\ntolerance = 1\nsource = \"\"",
            "source: empty",
        ),
        (
            "kind = \"open_providers\"\nquarter = 2\nvalue = 3\ntolerance = 1\nsource = \"x\"\nconfiguration = \"nowhere\"",
            "unknown configuration `nowhere`",
        ),
    ];
    for (target, expected) in cases {
        let text = format!(
            "{TUTORIAL}\n[observed]\nconfiguration = \"local\"\n\n[[observed.targets]]\n{target}\n"
        );
        let e = Scenario::from_text("t.toml", &text)
            .unwrap_err()
            .to_string();
        assert!(e.contains(expected), "{expected}\n{e}");
        // The position is that of the target's table in the file.
        let line = TUTORIAL.lines().count() + 5;
        assert!(
            e.contains(&format!("t.toml:{line}:"))
                || e.contains(&format!("t.toml:{}:", line + 1))
                || e.contains("t.toml:2"),
            "{e}"
        );
    }
    let bad_kind = format!(
        "{TUTORIAL}\n[observed]\nconfiguration = \"local\"\n\n[[observed.targets]]\nkind = \"rating\"\nvalue = 1\ntolerance = 1\nsource = \"x\"\n"
    );
    let e = Scenario::from_text("t.toml", &bad_kind)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("observed.targets") && e.contains("rating_count"),
        "{e}"
    );
    let bad_prior = format!(
        "uncertain = [{{ path = \"rules.plan_share\", min = 0.9, max = 0.3 }}]\n{TUTORIAL}"
    );
    let e = Scenario::from_text("t.toml", &bad_prior)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("t.toml:1:")
            && e.contains("uncertain[0].max")
            && e.contains("prior range is empty"),
        "{e}"
    );
    let half = format!("uncertain = [{{ path = \"rules.plan_share\", min = 0.3 }}]\n{TUTORIAL}");
    let e = Scenario::from_text("t.toml", &half)
        .unwrap_err()
        .to_string();
    assert!(e.contains("uncertain[0].max: missing"), "{e}");
}

#[test]
fn posterior_runs_are_the_same_for_one_and_two_threads_and_carry_the_draws() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("tutorial.toml");
    fs::write(&scenario, TUTORIAL).unwrap();
    let posterior = dir.path().join("posterior.csv");
    fs::write(
        &posterior,
        "particle,services.communications.locality,weight,distance\n0,0.05,1,0\n1,0.95,1,0\n",
    )
    .unwrap();
    let run = |threads: &str, out: &str, with: bool| {
        let mut c = csmarket();
        c.arg("run")
            .arg(&scenario)
            .args(["--config", "national", "-n", "30", "-j", threads, "--out"])
            .arg(dir.path().join(out));
        if with {
            c.arg("--posterior").arg(&posterior);
        }
        c.assert().success();
        fs::read_to_string(
            dir.path()
                .join(out)
                .join("national")
                .join("replications.csv"),
        )
        .unwrap()
    };
    let a = run("1", "one", true);
    let b = run("2", "two", true);
    assert_eq!(a, b);
    let plain = run("2", "plain", false);
    assert_ne!(a, plain, "the posterior's localities change the results");
    // A sweep over the posterior: the same for one and two threads.
    let sweep = |threads: &str, out: &str| {
        csmarket()
            .arg("sweep")
            .arg(&scenario)
            .args(["--config", "national", "-n", "10", "-j", threads])
            .args(["--param", "services.bi.locality=0.2,0.8", "--posterior"])
            .arg(&posterior)
            .arg("--out")
            .arg(dir.path().join(out))
            .assert()
            .success();
        fs::read_to_string(dir.path().join(out).join("sweep/sweep.csv")).unwrap()
    };
    assert_eq!(sweep("1", "sweep1"), sweep("2", "sweep2"));
    // A posterior column that names no numeric field is refused before anything runs.
    fs::write(&posterior, "nothing,weight\n1,1\n").unwrap();
    let out = csmarket()
        .arg("run")
        .arg(&scenario)
        .args(["-n", "2", "--posterior"])
        .arg(&posterior)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 1, column 1"), "{err}");
}

#[test]
fn every_configuration_draws_the_same_posterior_row_for_a_replication() {
    let scenario = Scenario::from_text("tutorial.toml", TUTORIAL).unwrap();
    let text = "particle,services.communications.locality,weight,distance\n\
                0,0.05,1,0\n1,0.5,2,0\n2,0.95,1,0\n";
    let posterior =
        csmarket::explore::calibrate::posterior::Posterior::from_text("p.csv", text, &scenario)
            .unwrap();
    let posterior = std::sync::Arc::new(posterior);
    let market = |configuration: &str| {
        Study {
            scenario: scenario.clone(),
            configuration: configuration.into(),
            seed: 5,
            replications: 10,
            threads: 1,
            posterior: Some(posterior.clone()),
        }
        .market(&[])
        .unwrap()
    };
    let (local, national) = (market("local"), market("national"));
    let comms = local
        .services
        .iter()
        .position(|s| s.id == "communications")
        .unwrap();
    let locality =
        |m: &Market, r| m.variants.as_ref().unwrap().market_for(r).services[comms].locality;
    let mut seen = std::collections::BTreeSet::new();
    for r in 0..60 {
        let a = locality(&local, r);
        assert_eq!(
            a.to_bits(),
            locality(&national, r).to_bits(),
            "replication {r}"
        );
        seen.insert(a.to_bits());
    }
    assert_eq!(seen.len(), 3, "every row is drawn");
}

#[test]
fn calibrate_command_writes_its_files_and_refuses_what_it_cannot_fit() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("recovery.toml");
    fs::write(&scenario, recovery_scenario()).unwrap();
    let out = csmarket()
        .arg("calibrate")
        .arg(&scenario)
        .args([
            "--particles",
            "6",
            "--generations",
            "2",
            "--reps",
            "1",
            "-j",
            "2",
            "--out",
        ])
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("Stopped: ran every generation asked for"),
        "{said}"
    );
    for name in [
        "posterior.csv",
        "generations.csv",
        "fit.csv",
        "calibration.json",
        "posterior.svg",
        "posterior.png",
        "pairs.svg",
        "pairs.png",
        "state/generation-001.json",
    ] {
        assert!(
            dir.path().join("out/calibrate").join(name).is_file(),
            "{name}"
        );
    }
    // The posterior it wrote drives a run.
    csmarket()
        .arg("run")
        .arg(&scenario)
        .args(["--config", "collaborative", "-n", "4", "--posterior"])
        .arg(dir.path().join("out/calibrate/posterior.csv"))
        .arg("--out")
        .arg(dir.path().join("run"))
        .assert()
        .success();
    // A comparison written into the same folder reports the calibration.
    csmarket()
        .arg("compare")
        .arg(&scenario)
        .args(["-n", "4", "--out"])
        .arg(dir.path().join("out"))
        .assert()
        .success();
    let report = fs::read_to_string(dir.path().join("out/compare/report.html")).unwrap();
    assert!(
        report.contains("<h2>Calibration</h2>"),
        "no calibration section"
    );
    // A scenario with no priors (the tutorial): bad input, exit 2, saying what to write.
    let out = csmarket()
        .args([
            "calibrate",
            concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/tutorial.toml"),
        ])
        .args(["--config", "collaborative", "--particles", "4", "--out"])
        .arg(dir.path().join("england"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no uncertain parameter has a prior range"),
        "{err}"
    );
}

/// On the command line, a calibration shard stopped by SIGTERM ends the particles it is running,
/// saves those finished, says so and exits 143; `--resume` runs the rest and saves the shard byte
/// for byte as an uninterrupted run does; resumed again once complete, it says so and returns at
/// once.
#[test]
fn a_calibration_shard_stopped_by_sigterm_resumes_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("recovery.toml");
    fs::write(&scenario, recovery_scenario()).unwrap();
    // A shard of 12 particles of 1,000 replications: about 6 s on one thread of a debug build.
    let shard = |out: &Path| {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("csmarket"));
        c.arg("calibrate")
            .arg(&scenario)
            .args([
                "--particles",
                "24",
                "--reps",
                "1000",
                "--shard",
                "1/2",
                "-j",
                "1",
            ])
            .arg("--out")
            .arg(out);
        c
    };
    let file = "calibrate/state/generation-000/shard-1-of-2.json";
    let progress = "calibrate/state/generation-000/shard-1-of-2.progress.json";
    let straight = dir.path().join("straight");
    let started = std::time::Instant::now();
    let o = shard(&straight).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let whole = started.elapsed();

    let stopped = dir.path().join("stopped");
    let mut child = shard(&stopped)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    crate::util::wait_for_file(
        &mut child,
        &stopped.join("calibrate/.csmarket.lock"),
        "output lock",
    );
    // Well into its particles (each a small part of the whole), far from their end, in a debug
    // or a release build alike: the uninterrupted shard's time says how far that is.
    std::thread::sleep(whole * 2 / 5);
    crate::util::signal(&child, "TERM");
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(143), "{err}");
    assert!(
        err.contains("SIGTERM: stopping after the particles it is running"),
        "{err}"
    );
    assert!(
        err.contains("Stopped by SIGTERM.\nGeneration 0, particles 12..24: "),
        "{err}"
    );
    assert!(
        err.contains("Resume with:") && err.contains("--resume"),
        "{err}"
    );
    assert!(stopped.join(progress).is_file(), "particles saved: {err}");
    assert!(!stopped.join(file).exists());

    let o = shard(&stopped).arg("--resume").output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("calibrate shard 1/2: resuming generation 0 with "),
        "{err}"
    );
    assert_eq!(
        fs::read(straight.join(file)).unwrap(),
        fs::read(stopped.join(file)).unwrap(),
        "the resumed shard is the uninterrupted one"
    );
    assert!(!stopped.join(progress).exists(), "progress removed");

    let o = shard(&stopped).arg("--resume").output().unwrap();
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    assert!(said.contains("saved complete already"), "{said}");
}

#[test]
fn a_bad_posterior_value_is_refused_with_the_row_and_the_scenarios_own_message() {
    // The built-in England 2012 (read in parts): the row's values are set on the configuration
    // made once; a value out of range takes the long way, which reports every problem. The
    // messages are those of the build before the short way existed (7101e80), byte for byte.
    let dir = tempfile::tempdir().unwrap();
    let refused = |csv: &str| {
        let posterior = dir.path().join("bad.csv");
        fs::write(&posterior, csv).unwrap();
        let out = csmarket()
            .current_dir(dir.path())
            .args(["run", "--config", "national-comms,all-local", "-n", "40"])
            .arg("--posterior")
            .arg("bad.csv")
            .arg("--out")
            .arg(dir.path().join("out"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err =
        refused("services.communications.locality,rules.plan_share,weight\n0.5,0.5,1\n1.5,-3,1\n");
    let at = "scenarios/england-2012.toml (built-in): in configuration `national-comms`";
    assert_eq!(
        err,
        format!(
            "Error: bad.csv: row 1 (line 3): {at}: rules.plan_share: out of range: got -3; \
             allowed: a number from 0 to 1\n\
             {at}: rules.plan_share: must be greater than 0 (a business plan needs some volume)\n\
             {at}: services[3].locality: out of range: got 1.5; allowed: a number from 0 to 1\n\
             3 problems found\n"
        )
    );
    // A value inside a provider (an element read on its own) takes the long way from the start.
    let err = refused("providers.essex.services.bi.capacity,weight\n1,1\n-5,1\n");
    assert_eq!(
        err,
        format!(
            "Error: bad.csv: row 1 (line 3): {at}: providers[14].services.bi.capacity: out of \
             range: got -5; allowed: a number from 0 to 1e15\n"
        )
    );
    // Refused before anything ran: the output folder holds nothing.
    assert_eq!(fs::read_dir(dir.path().join("out")).unwrap().count(), 0);
}
