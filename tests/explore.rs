//! Sweeps, tipping points, sensitivity and back-testing, end to end and against the library.

use std::fs;
use std::path::{Path, PathBuf};

use crate::util::{csmarket, fixture};
use csmarket::experiment;
use csmarket::explore::sensitivity::{Output, SensitivityPlan};
use csmarket::explore::sweep::{self, SweepPlan};
use csmarket::explore::{Study, no_progress};
use csmarket::model::Market;
use csmarket::scenario::{Edit, Scenario};

/// One service, one region, a national provider that fails finance at every checkpoint by
/// construction (no margin reaches 100%) and always passes the customer test (threshold 0), so it
/// is stopped exactly when its capability falls short. Capability is the mean of four standards
/// drawn around 0.6, so survival crosses 50% where `min_capability` crosses 0.6. Nothing fails
/// after the checkpoint (independence is the last quarter).
const TIPPING: &str = r#"
[scenario]
name = "Tipping point by construction"
seed = 11
replications = 40
periods = 3
independence = 3

[rules]
capability_sd = 0.05

[[regions]]
id = "r"

[[services]]
id = "s"
need_per_head = 1.0
locality = 0.5
in_house = { fixed_cost = 100000, unit_cost = 0.9, quality = 0.6 }
independent = { price = 1.2, quality = 0.6 }

[[ccgs.list]]
id = "c1"
region = "r"
population = 200000

[[ccgs.list]]
id = "c2"
region = "r"
population = 300000

[[providers]]
id = "nat"
kind = "national"
services.s = { fixed_cost = 100000, unit_cost = 0.8, quality = 0.7, capacity = 1000000 }

[[checkpoints]]
id = "cp"
period = 0
min_customer_share = 0.0
min_margin = 1.0
min_capability = 0.5
"#;

/// Every CCG does the service in-house (the independent sector is priced out and no provider is
/// enabled), so cost per head is `fixed_cost / population + unit_cost x need_per_head x demand`:
/// `need_per_head` moves it by about 0.36 per head at plus/minus 20%, `in_house.fixed_cost` by
/// about 0.016, and `independent.quality` not at all.
const DOMINANT: &str = r#"
uncertain = ["services.s.independent.quality", "services.s.in_house.fixed_cost", "services.s.need_per_head"]

[scenario]
name = "One parameter dominates by construction"
seed = 5
replications = 20
periods = 5
independence = 5

[[regions]]
id = "r"

[[services]]
id = "s"
need_per_head = 1.0
locality = 0.5
in_house = { fixed_cost = 10000, unit_cost = 0.9, quality = 0.6 }
independent = { price = 50.0, quality = 0.6 }

[[ccgs.list]]
id = "c1"
region = "r"
population = 200000

[[ccgs.list]]
id = "c2"
region = "r"
population = 300000

[[providers]]
id = "nat"
kind = "national"
enabled = false
services.s = { fixed_cost = 100000, unit_cost = 0.8, quality = 0.7, capacity = 1000000 }
"#;

fn write_scenario(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let mut rows = vec![header];
    rows.extend(
        r.records()
            .map(|x| x.unwrap().iter().map(String::from).collect()),
    );
    rows
}

fn column(rows: &[Vec<String>], name: &str) -> usize {
    rows[0]
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", rows[0]))
}

#[test]
fn sweep_point_equals_a_plain_run_with_that_value() {
    let scenario = Scenario::from_path(Path::new(fixture())).unwrap();
    let study = Study {
        scenario: scenario.clone(),
        configuration: "national".into(),
        seed: 9,
        replications: 40,
        threads: 2,
        posterior: None,
    };
    let path = "providers.national-comms.services.comms.fixed_cost";
    let plan = SweepPlan {
        study,
        axes: vec![sweep::parse_param(&format!("{path}=50000,400000")).unwrap()],
        providers: Vec::new(),
        refine: None,
    };
    let result = sweep::run(&plan, &no_progress).unwrap();
    assert_eq!(result.points.len(), 2);
    for point in &result.points {
        let edit = Edit {
            path: path.into(),
            value: toml::Value::Integer(point.values[0] as i64),
        };
        let resolved = scenario.resolve_with("national", &[edit]).unwrap();
        let mut market = Market::compile(&resolved, "national").unwrap();
        market.seed = 9;
        let plain = experiment::summarise(&market, 0..40, 1).unwrap();
        for (s, p) in point.survival.iter().zip(&plain.providers) {
            assert_eq!(s.successes, p.survived.successes(), "{}", p.id);
            assert_eq!(s.trials, 40);
        }
        assert_eq!(
            point.headline.cost_per_head.mean.map(f64::to_bits),
            plain.headline.cost_per_head.mean().map(f64::to_bits)
        );
    }
    // The two points differ: the edit reached the market.
    assert_ne!(result.points[0], result.points[1]);
}

#[test]
fn tipping_point_is_found_where_the_synthetic_scenario_puts_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_scenario(dir.path(), "tipping.toml", TIPPING);
    let out = dir.path().join("out");
    csmarket()
        .arg("sweep")
        .arg(&file)
        .args([
            "--param",
            "checkpoints.cp.min_capability=0.4:0.8:21",
            "-n",
            "100",
            "--threads",
            "2",
            "--refine",
            "--refine-steps",
            "5",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let rows = csv_rows(&out.join("sweep/tipping.csv"));
    let (est, lo, hi, method) = (
        column(&rows, "tipping_point"),
        column(&rows, "lo"),
        column(&rows, "hi"),
        column(&rows, "method"),
    );
    let nat: Vec<&Vec<String>> = rows[1..].iter().filter(|r| r[0] == "nat").collect();
    let grid = nat
        .iter()
        .find(|r| r[method] == "grid")
        .expect("grid tipping point");
    let refined = nat
        .iter()
        .find(|r| r[method] == "refined")
        .expect("refined tipping point");
    let num = |r: &Vec<String>, c: usize| r[c].parse::<f64>().unwrap();
    for (r, tolerance) in [(grid, 0.02), (refined, 0.01)] {
        assert!((num(r, est) - 0.6).abs() < tolerance, "{r:?}");
        assert!(num(r, lo) <= 0.6 && 0.6 <= num(r, hi), "{r:?}");
        assert_eq!(r[column(&rows, "direction")], "falling");
    }
    assert!(num(refined, hi) - num(refined, lo) <= num(grid, hi) - num(grid, lo) + 1e-12);
    // The JSON reads back into the result the report builds its section from.
    let json = fs::read_to_string(out.join("sweep/sweep.json")).unwrap();
    let back: sweep::SweepResult = serde_json::from_str(&json).unwrap();
    let drawn = csmarket::charts::explore::sweep_charts(&back).unwrap();
    let html = csmarket::report::explore::sweep_section(&back, &drawn);
    assert!(
        html.contains("<svg") && !html.contains("not found"),
        "{html}"
    );
    assert!(
        html.contains("Tipping points") && html.contains("<td>nat</td>"),
        "{html}"
    );
    assert!(html.contains("refined"), "{html}");
    for f in [
        "sweep.csv",
        "sweep.json",
        "refine.csv",
        "survival.png",
        "survival.svg",
        "headline.png",
        "headline.svg",
    ] {
        assert!(out.join("sweep").join(f).is_file(), "{f} missing");
    }
}

#[test]
fn crossing_finder_locates_a_constructed_curve() {
    // Survival falls linearly from 1 at x = 0 to 0 at x = 1: crosses 50% at 0.5.
    let curve: Vec<sweep::CurvePoint> = (0..=10)
        .map(|i| {
            let x = f64::from(i) / 10.0;
            let p = 1.0 - x;
            sweep::CurvePoint {
                x,
                p,
                lo: (p - 0.15).max(0.0),
                hi: (p + 0.15).min(1.0),
            }
        })
        .collect();
    let found = sweep::find_crossings(&curve);
    assert_eq!(found.len(), 1);
    assert!((found[0].estimate - 0.5).abs() < 1e-12);
    assert!((found[0].lo.unwrap() - 0.35).abs() < 1e-9);
    assert!((found[0].hi.unwrap() - 0.65).abs() < 1e-9);
}

#[test]
fn sweep_results_are_identical_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let run = |threads: &str| {
        let out = dir.path().join(format!("t{threads}"));
        csmarket()
            .args(["sweep", fixture(), "--config", "national", "--param"])
            .args(["services.comms.locality=0,0.5", "--param"])
            .args(["providers.national-comms.markup=0.02,0.1", "-n", "30"])
            .args(["--threads", threads, "--out"])
            .arg(&out)
            .assert()
            .success();
        out.join("sweep")
    };
    let (a, b) = (run("1"), run("2"));
    for f in ["sweep.csv", "tipping.csv"] {
        assert_eq!(
            fs::read(a.join(f)).unwrap(),
            fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
    // A two-parameter sweep has four points in grid order, and heat maps.
    let rows = csv_rows(&a.join("sweep.csv"));
    let pairs: Vec<(String, String)> = rows[1..]
        .iter()
        .map(|r| (r[1].clone(), r[2].clone()))
        .collect();
    assert_eq!(
        pairs,
        [("0", "0.02"), ("0", "0.1"), ("0.5", "0.02"), ("0.5", "0.1")]
            .map(|(x, y)| (x.to_string(), y.to_string()))
    );
    assert!(fs::read_dir(&a).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("heatmap-")
    }));
}

#[test]
fn sensitivity_and_backtest_results_are_identical_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_scenario(dir.path(), "dominant.toml", DOMINANT);
    let run = |threads: &str| {
        let out = dir.path().join(format!("t{threads}"));
        csmarket()
            .arg("sensitivity")
            .arg(&file)
            .args([
                "-n",
                "12",
                "--trajectories",
                "2",
                "--threads",
                threads,
                "--out",
            ])
            .arg(&out)
            .assert()
            .success();
        csmarket()
            .args([
                "backtest",
                fixture(),
                "-n",
                "25",
                "--threads",
                threads,
                "--out",
            ])
            .arg(&out)
            .assert()
            .success();
        out
    };
    let (a, b) = (run("1"), run("2"));
    for f in [
        "sensitivity/sensitivity.csv",
        "sensitivity/morris.csv",
        "backtest/backtest.csv",
        "backtest/scores.csv",
    ] {
        assert_eq!(
            fs::read(a.join(f)).unwrap(),
            fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn unknown_path_is_an_input_error_that_suggests_close_matches() {
    let dir = tempfile::tempdir().unwrap();
    let out = csmarket()
        .args(["sweep", fixture(), "--config", "national", "--param"])
        .args(["services.comms.localty=0:1:3", "--out"])
        .arg(dir.path())
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("small.toml"), "{stderr}");
    assert!(
        stderr.contains("did you mean `services.comms.locality`"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn non_numeric_fields_and_bad_specs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (param, says) in [
        ("providers.bi-north.lead=1,2", "not a number"),
        ("services.comms.locality=0:1", "from:to:count"),
        ("services.comms.locality", "PATH=VALUES"),
    ] {
        let out = csmarket()
            .args(["sweep", fixture(), "--config", "national", "--param", param])
            .arg("--out")
            .arg(dir.path())
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(stderr.contains(says), "{param}: {stderr}");
    }
}

#[test]
fn tornado_puts_the_dominant_parameter_first() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_scenario(dir.path(), "dominant.toml", DOMINANT);
    let out = dir.path().join("out");
    csmarket()
        .arg("sensitivity")
        .arg(&file)
        .args([
            "--output",
            "cost_per_head",
            "-n",
            "20",
            "--trajectories",
            "4",
        ])
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let rows = csv_rows(&out.join("sensitivity/sensitivity.csv"));
    let p = column(&rows, "parameter");
    let order: Vec<&str> = rows[1..].iter().map(|r| r[p].as_str()).collect();
    assert_eq!(
        order,
        [
            "services.s.need_per_head",
            "services.s.in_house.fixed_cost",
            "services.s.independent.quality"
        ]
    );
    let swing = column(&rows, "swing");
    let dominant: f64 = rows[1][swing].parse().unwrap();
    assert!((dominant - 0.36).abs() < 0.03, "{dominant}");
    let morris = csv_rows(&out.join("sensitivity/morris.csv"));
    let mp = column(&morris, "parameter");
    assert_eq!(morris[1][mp], "services.s.need_per_head");
    let json = fs::read_to_string(out.join("sensitivity/sensitivity.json")).unwrap();
    let back: csmarket::explore::sensitivity::SensitivityResult =
        serde_json::from_str(&json).unwrap();
    // The section inlines the tornado chart drawn in memory from the result read back.
    let drawn = csmarket::charts::explore::sensitivity_charts(&back).unwrap();
    assert!(drawn.iter().any(|c| c.name == "tornado-cost_per_head"));
    let html = csmarket::report::explore::sensitivity_section(&back, &drawn);
    assert!(
        html.contains("<svg") && html.contains("effect of ±") && !html.contains("not found"),
        "{html}"
    );
    for f in [
        "tornado-cost_per_head.png",
        "morris-cost_per_head.svg",
        "sensitivity.json",
    ] {
        assert!(out.join("sensitivity").join(f).is_file(), "{f} missing");
    }
}

#[test]
fn sensitivity_runs_are_paired_so_a_parameter_without_effect_has_zero_swing() {
    let scenario = Scenario::from_text("dominant.toml", DOMINANT).unwrap();
    let plan = SensitivityPlan {
        study: Study {
            scenario,
            configuration: "base".into(),
            seed: 1,
            replications: 10,
            threads: 2,
            posterior: None,
        },
        all: false,
        fraction: 0.2,
        outputs: vec![Output::Market(
            csmarket::experiment::MarketFigure::CostPerHead,
        )],
        trajectories: 0,
        levels: 4,
    };
    let r = csmarket::explore::sensitivity::run(&plan, &no_progress).unwrap();
    let quality = r
        .oat
        .iter()
        .find(|x| x.path == "services.s.independent.quality")
        .unwrap();
    // Same draws at both ends: with the independent sector priced out, nothing changes at all.
    assert_eq!(quality.swing, 0.0);
    assert_eq!(quality.swing_ci, (0.0, 0.0));
    assert!(r.morris.is_empty());
}

#[test]
fn uncertain_paths_must_name_numeric_fields() {
    let bad = DOMINANT.replace("services.s.need_per_head\"]", "services.s.need_per_had\"]");
    let e = Scenario::from_text("bad.toml", &bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("uncertain[2]"), "{e}");
    assert!(e.contains("did you mean `services.s.need_per_head`"), "{e}");
}

#[test]
fn sensitivity_without_uncertain_parameters_asks_for_them_or_all() {
    let dir = tempfile::tempdir().unwrap();
    let out = csmarket()
        .args(["sensitivity", fixture(), "--config", "national", "--out"])
        .arg(dir.path())
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("--all"), "{stderr}");
}

#[test]
fn backtest_scores_every_observed_rating() {
    let dir = tempfile::tempdir().unwrap();
    let out = csmarket()
        .args(["backtest", fixture(), "-n", "60", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(stdout.contains("accuracy"), "{stdout}");
    let d = dir.path().join("backtest");
    let rows = csv_rows(&d.join("backtest.csv"));
    assert_eq!(rows.len(), 3, "{rows:?}");
    let (a, u) = (column(&rows, "p_A"), column(&rows, "p_unrated"));
    for r in &rows[1..] {
        let total: f64 = r[a..=u].iter().map(|x| x.parse::<f64>().unwrap()).sum();
        assert!((total - 1.0).abs() < 1e-12, "{r:?}");
    }
    // The probabilities are the checkpoint rating counts of a plain run of the observed configuration.
    let scenario = Scenario::from_path(Path::new(fixture())).unwrap();
    let mut market = Market::compile(&scenario.resolve("national").unwrap(), "national").unwrap();
    market.seed = scenario.base.scenario.seed;
    let plain = experiment::summarise(&market, 0..60, 1).unwrap();
    let counts = plain.provider("north-a").unwrap().ratings[0];
    let north = rows[1..].iter().find(|r| r[1] == "north-a").unwrap();
    assert_eq!(north[a].parse::<f64>().unwrap(), counts[1] as f64 / 60.0);
    let json = fs::read_to_string(d.join("backtest.json")).unwrap();
    let back: csmarket::explore::backtest::BacktestResult = serde_json::from_str(&json).unwrap();
    let drawn = csmarket::charts::explore::backtest_charts(&back).unwrap();
    let html = csmarket::report::explore::backtest_section(&back, &drawn);
    assert!(
        html.contains("<td>north-a</td>") && html.contains("Brier"),
        "{html}"
    );
    for f in [
        "confusion.csv",
        "scores.csv",
        "backtest.png",
        "backtest.svg",
    ] {
        assert!(d.join(f).is_file(), "{f} missing");
    }
    let confusion = csv_rows(&d.join("confusion.csv"));
    let total: u64 = confusion[1..]
        .iter()
        .flat_map(|r| r[1..].iter().map(|x| x.parse::<u64>().unwrap()))
        .sum();
    assert_eq!(total, 2);
}

#[test]
fn backtest_scores_every_target_of_its_configuration_against_its_reference() {
    let dir = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(fixture()).unwrap()
        + r#"
[[observed.targets]]
kind = "in_house_share"
quarter = 2
value = 0.3
tolerance = 0.1
source = "test"

[[observed.targets]]
kind = "open_providers"
quarter = 4
provider_kind = "local"
value = 2
tolerance = 1
source = "test"

[[observed.targets]]
kind = "open_providers"
quarter = 4
value = 2
tolerance = 1
configuration = "local"
source = "test"
"#;
    let file = dir.path().join("targets.toml");
    fs::write(&file, text).unwrap();
    let out = csmarket()
        .args(["backtest", "-n", "40", "--out"])
        .arg(dir.path())
        .arg(&file)
        .assert()
        .success();
    let said = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    // Sentences are wrapped to the terminal's width: read them as one line.
    let stdout = said.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(stdout.contains("In words: on "), "{stdout}");
    // A target observed under another configuration is named, not scored.
    assert!(
        stdout.contains("observed.targets[2]") && stdout.contains("not back-tested here"),
        "{stdout}"
    );
    let rows = csv_rows(&dir.path().join("backtest/targets.csv"));
    assert_eq!(rows.len(), 3, "{rows:?}");
    let at = |name: &str| column(&rows, name);
    // Each target's mean is the mean of the figure over a plain run of the observed configuration.
    let scenario = Scenario::from_path(&file).unwrap();
    let mut market = Market::compile(&scenario.resolve("national").unwrap(), "national").unwrap();
    market.seed = scenario.base.scenario.seed;
    let (mut in_house, mut open) = (0.0, 0.0);
    experiment::run(
        &market,
        0..40,
        1,
        &mut |r| {
            in_house += r.series[1].in_house_share;
            open += f64::from(r.series[3].open_by_kind[0]);
            Ok(())
        },
        &|_| {},
    )
    .unwrap();
    let value = |row: usize, name: &str| rows[row][at(name)].parse::<f64>().unwrap();
    assert_eq!(rows[1][0], "in_house_share:q2");
    assert_eq!(rows[1][at("configuration")], "national");
    assert!(
        (value(1, "mean") - in_house / 40.0).abs() < 1e-12,
        "{rows:?}"
    );
    assert!((value(2, "mean") - open / 40.0).abs() < 1e-12, "{rows:?}");
    // The references are those stated: a quarter for a share, persistence for open providers.
    assert_eq!(value(1, "reference"), 0.25);
    assert_eq!(value(2, "reference"), 3.0);
    // Skill is 1 - CRPS / |reference - observed|, and the verdict says whether it is above 0.
    for r in 1..3 {
        let skill = 1.0 - value(r, "crps") / (value(r, "reference") - value(r, "observed")).abs();
        assert!((value(r, "skill") - skill).abs() < 1e-9, "{rows:?}");
        let beats = rows[r][at("beats_reference")] == "true";
        assert_eq!(beats, skill > 0.0);
        assert_eq!(rows[r][at("verdict")].starts_with("beats"), beats);
    }
}

#[test]
fn refine_needs_a_single_parameter() {
    let dir = tempfile::tempdir().unwrap();
    let out = csmarket()
        .args(["sweep", fixture(), "--config", "national", "--refine"])
        .args(["--param", "services.comms.locality=0,1"])
        .args(["--param", "services.bi.locality=0,1", "--out"])
        .arg(dir.path())
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("one parameter"), "{stderr}");
}
