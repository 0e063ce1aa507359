//! End-to-end tests of `csmarket run` and `csmarket validate`.

use std::fs;
use std::path::Path;

use crate::util::{csmarket, fixture};

#[test]
fn validate_accepts_a_good_scenario() {
    let out = csmarket().args(["validate", fixture()]).assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        stdout.contains("ok (3 configurations: local, collaborative, national)"),
        "{stdout}"
    );
}

#[test]
fn validate_reports_every_problem_with_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let text = fs::read_to_string(fixture())
        .unwrap()
        .replacen("locality = 0.2", "locality = 1.7", 1)
        .replacen("lead = \"north-a\"", "lead = \"south-a\"", 1);
    fs::write(&bad, text).unwrap();
    let out = csmarket()
        .args(["validate", bad.to_str().unwrap()])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("services[0].locality"), "{stderr}");
    assert!(stderr.contains("providers[3].lead"), "{stderr}");
    assert!(stderr.contains("2 problems found"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn run_into(dir: &Path, threads: &str) {
    csmarket()
        .args([
            "run",
            fixture(),
            "-n",
            "120",
            "--seed",
            "5",
            "--threads",
            threads,
            "--out",
        ])
        .arg(dir)
        .assert()
        .success();
}

#[test]
fn run_writes_every_output_file_for_every_configuration() {
    let dir = tempfile::tempdir().unwrap();
    run_into(dir.path(), "2");
    for config in ["local", "collaborative", "national"] {
        let d = dir.path().join(config);
        for f in [
            "providers.csv",
            "services.csv",
            "timeseries.csv",
            "replications.csv",
            "summary.json",
        ] {
            assert!(d.join(f).is_file(), "{config}/{f} missing");
        }
        let providers = fs::read_to_string(d.join("providers.csv")).unwrap();
        let header = providers.lines().next().unwrap();
        for col in [
            "config",
            "provider",
            "kind",
            "region",
            "p_survive",
            "p_survive_lo",
            "p_survive_hi",
            "p_stopped",
        ] {
            assert!(
                header.split(',').any(|h| h == col),
                "providers.csv lacks {col}"
            );
        }
        let rows = fs::read_to_string(d.join("replications.csv")).unwrap();
        assert_eq!(
            rows.lines().count(),
            121,
            "a header and one row per replication"
        );
        let json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(d.join("summary.json")).unwrap()).unwrap();
        assert_eq!(json["provenance"]["replications"], 120);
        assert_eq!(json["provenance"]["seed"], 5);
        assert_eq!(
            json["provenance"]["scenario_sha256"]
                .as_str()
                .unwrap()
                .len(),
            64
        );
        // No temporary files are left behind.
        for e in fs::read_dir(&d).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.contains(".partial"), "left {name}");
        }
    }
}

#[test]
fn run_output_is_byte_identical_for_one_and_four_threads() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run_into(a.path(), "1");
    run_into(b.path(), "4");
    for config in ["local", "collaborative", "national"] {
        for f in [
            "providers.csv",
            "services.csv",
            "timeseries.csv",
            "replications.csv",
        ] {
            let x = fs::read(a.path().join(config).join(f)).unwrap();
            let y = fs::read(b.path().join(config).join(f)).unwrap();
            assert!(x == y, "{config}/{f} differs between 1 and 4 threads");
        }
    }
}

#[test]
fn run_with_unknown_configuration_fails_with_status_2_and_lists_names() {
    let dir = tempfile::tempdir().unwrap();
    let out = csmarket()
        .args(["run", fixture(), "--config", "nope", "--out"])
        .arg(dir.path())
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains(
        "unknown configuration `nope`; the scenario defines: local, collaborative, national"
    ));
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no partial output"
    );
}

#[test]
fn run_with_missing_scenario_file_names_it() {
    let out = csmarket()
        .args(["run", "no/such/file.toml"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("no/such/file.toml"), "{stderr}");
}

#[test]
fn calibrate_help_shows_no_option_it_refuses() {
    let out = csmarket().args(["calibrate", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    // The options listed (the examples below them may name other commands' options).
    let listed: Vec<&str> = help
        .lines()
        .filter(|l| l.trim_start().starts_with('-'))
        .collect();
    let listed = listed.join("\n");
    assert!(
        listed.contains("--reps") && listed.contains("--particles"),
        "{help}"
    );
    for refused in ["--replications", "-n,", "--posterior"] {
        assert!(!listed.contains(refused), "`{refused}` shown:\n{help}");
    }
    // Still refused with a reason when given.
    let out = csmarket()
        .args(["calibrate", "-n", "3", "--out"])
        .arg(tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("takes --reps"));
}
