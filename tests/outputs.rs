//! What the outputs promise an analyst: tidy tables with a data dictionary, one flag name per
//! concept on the command line, and provenance that reproduces the run.

use std::fs;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::util::{csmarket, fixture};

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap();
    r.records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect()
}

fn tutorial_run(out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    csmarket()
        .args(["run", fixture(), "-n", "30", "--seed", "9", "--out"])
        .arg(out)
        .args(extra)
        .assert()
        .success()
}

#[test]
fn a_run_writes_tidy_tables_and_a_data_dictionary_for_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    tutorial_run(&out, &["--config", "national", "--config", "local"]);
    let runs = csv_rows(&out.join("runs.csv"));
    assert_eq!(
        runs[0],
        [
            "configuration",
            "replication",
            "cost_per_head",
            "in_house_share",
            "open_providers",
            "unmet_share",
            "intended_host_share"
        ]
    );
    // One row per configuration and replication, configurations in name order.
    assert_eq!(runs.len(), 1 + 2 * 30);
    assert_eq!(runs[1][..2], ["local", "0"]);
    assert_eq!(runs[31][..2], ["national", "0"]);
    // The figures are those of the configuration's own rows.
    let wide = csv_rows(&out.join("local/replications.csv"));
    for k in 0..5 {
        let col = wide[0].iter().position(|h| *h == runs[0][2 + k]).unwrap();
        assert_eq!(runs[5][2 + k], wide[5][col], "{}", runs[0][2 + k]);
    }
    // Fates in long form: a row per provider per replication, no ids in column names.
    let fates = csv_rows(&out.join("local/fates.csv"));
    assert_eq!(
        fates[0],
        [
            "configuration",
            "replication",
            "provider",
            "fate",
            "exit_quarter"
        ]
    );
    let providers = wide[0].iter().filter(|h| h.starts_with("fate_")).count();
    assert_eq!(fates.len(), 1 + providers * 30);
    for row in &fates[1..] {
        assert!(
            ["survived", "stopped", "failed", "merged", "ended"].contains(&row[3].as_str()),
            "{row:?}"
        );
        assert_eq!(row[3] == "survived", row[4].is_empty(), "{row:?}");
    }
    // The dictionary names every column of the tidy tables, with a unit and a meaning.
    let columns = csv_rows(&out.join("columns.csv"));
    assert_eq!(columns[0], ["file", "column", "unit", "meaning"]);
    for (file, header) in [("runs.csv", &runs[0]), ("fates.csv", &fates[0])] {
        for name in header {
            let entry = columns
                .iter()
                .find(|c| c[0] == file && c[1] == *name)
                .unwrap_or_else(|| panic!("{file} {name} is not in columns.csv"));
            assert!(!entry[2].is_empty() && !entry[3].is_empty(), "{entry:?}");
        }
    }
}

#[test]
fn every_command_takes_one_name_per_concept_and_shows_examples() {
    let help = |args: &[&str]| {
        let out = csmarket().args(args).arg("--help").output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let top = help(&[]);
    assert!(top.contains("Run with no command"), "{top}");
    assert!(top.contains("--quiet"), "{top}");
    for c in [
        "run",
        "compare",
        "validate",
        "sweep",
        "sensitivity",
        "backtest",
        "calibrate",
        "bench",
        "generate",
        "merge",
    ] {
        assert!(
            help(&[c]).contains("Examples:"),
            "{c} --help has no examples"
        );
    }
    let compare = help(&["compare"]);
    assert!(compare.contains("--config <"), "{compare}");
    assert!(!compare.contains("--configs"), "the old name stays hidden");
    let sensitivity = help(&["sensitivity"]);
    assert!(sensitivity.contains("--metrics"), "{sensitivity}");
    assert!(!sensitivity.contains("--output"), "{sensitivity}");

    // The old spellings still work, as hidden aliases; --config repeats or takes a list.
    let dir = tempfile::tempdir().unwrap();
    for (k, flags) in [
        vec!["--config", "local", "--config", "national"],
        vec!["--configs", "local,national"],
    ]
    .into_iter()
    .enumerate()
    {
        csmarket()
            .args(["compare", fixture(), "-n", "4", "--out"])
            .arg(dir.path().join(k.to_string()))
            .args(flags)
            .assert()
            .success();
    }
    assert_eq!(
        fs::read(dir.path().join("0/compare/comparison.csv")).unwrap(),
        fs::read(dir.path().join("1/compare/comparison.csv")).unwrap()
    );
    // --quiet: nothing on stdout, no notes on stderr.
    let quiet = csmarket()
        .args(["-q", "run", fixture(), "-n", "3", "--out"])
        .arg(dir.path().join("q"))
        .output()
        .unwrap();
    assert!(quiet.status.success());
    assert!(quiet.stdout.is_empty(), "{:?}", quiet.stdout);
    assert!(quiet.stderr.is_empty(), "{:?}", quiet.stderr);
}

#[test]
fn results_keep_the_scenario_text_the_commit_and_the_build() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    tutorial_run(&out, &["--config", "local"]);
    let text = fs::read(out.join("scenario.toml")).unwrap();
    assert_eq!(text, fs::read(fixture()).unwrap());
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("local/summary.json")).unwrap()).unwrap();
    let p = &summary["provenance"];
    assert_eq!(
        p["scenario_sha256"].as_str().unwrap(),
        format!("{:x}", Sha256::digest(&text))
    );
    let commit = p["commit"].as_str().unwrap();
    assert!(
        commit == "unknown"
            || (commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{commit}"
    );
    // The binary under test is built in the test's own profile.
    assert_eq!(
        p["build_profile"],
        csmarket::experiment::provenance::BUILD_PROFILE
    );
    assert!(["debug", "release"].contains(&p["build_profile"].as_str().unwrap()));
}

#[test]
fn an_edited_local_copy_of_the_default_scenario_is_named_beside_the_built_in_one() {
    let dir = tempfile::tempdir().unwrap();
    let builtin = include_str!("../scenarios/england-2012.toml");
    fs::create_dir_all(dir.path().join("scenarios")).unwrap();
    let run = |edit: &str| {
        fs::write(
            dir.path().join("scenarios/england-2012.toml"),
            format!("{builtin}{edit}"),
        )
        .unwrap();
        csmarket()
            .current_dir(dir.path())
            .args(["run", "-n", "1", "--config", "national-comms", "--out", "o"])
            .output()
            .unwrap()
    };
    // The same text: nothing to say.
    let same = run("");
    assert!(same.status.success());
    assert!(!String::from_utf8_lossy(&same.stderr).contains("differs"));
    let edited = run("\n# edited\n");
    assert!(edited.status.success());
    let stderr = String::from_utf8_lossy(&edited.stderr);
    assert!(
        stderr.contains("differs from the built-in copy; the built-in copy ran"),
        "{stderr}"
    );
    let summary: serde_json::Value = serde_json::from_slice(
        &fs::read(dir.path().join("o/national-comms/summary.json")).unwrap(),
    )
    .unwrap();
    let p = &summary["provenance"];
    assert!(
        p["scenario_file"].as_str().unwrap().contains("built-in"),
        "{p}"
    );
    assert!(
        p["notes"][0]
            .as_str()
            .unwrap()
            .contains("built-in copy ran"),
        "{p}"
    );
    // What ran is the built-in text, kept beside the results.
    assert_eq!(
        fs::read_to_string(dir.path().join("o/scenario.toml")).unwrap(),
        builtin
    );
}

#[test]
fn a_sweep_writes_runs_with_the_points_parameter_values() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    csmarket()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "sweep",
            "scenarios/tutorial.toml",
            "--config",
            "national",
            "--param",
            "services.communications.locality=0:1:3",
            "-n",
            "5",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let runs = csv_rows(&out.join("sweep/runs.csv"));
    assert_eq!(
        runs[0][..3],
        [
            "configuration",
            "replication",
            "services_communications_locality"
        ]
    );
    assert_eq!(runs.len(), 1 + 3 * 5);
    let values: Vec<&str> = runs[1..].iter().map(|r| r[2].as_str()).collect();
    assert_eq!(values[0], "0");
    assert_eq!(values[5], "0.5");
    assert_eq!(values[14], "1");
    assert!(runs[1..].iter().all(|r| r[0] == "national" && r.len() == 8));
    let columns = csv_rows(&out.join("sweep/columns.csv"));
    assert!(
        columns
            .iter()
            .any(|c| c[1] == "services_communications_locality"
                && c[3].contains("services.communications.locality")),
        "{columns:?}"
    );
    assert_eq!(
        fs::read(out.join("sweep/scenario.toml")).unwrap(),
        fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/tutorial.toml")).unwrap()
    );
}

/// `--quiet` promises errors and warnings only: no progress bar, no tables, no notes. Every
/// command that prints something is run quietly, the built-in scenario's included (its runs say
/// they are calibrated), and must print nothing; an error and a warning are still said.
#[test]
fn quiet_prints_nothing_but_errors_and_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).display().to_string();
    // The built-in scenario where a command says it runs calibrated (run, compare: the default
    // job is `compare`); the small market elsewhere, to keep the test short.
    let builtin_reps = ["-n", "1", "--seed", "3"];
    let commands: Vec<Vec<String>> = [
        vec!["run", "--config", "all-local", "--out", &d("run")],
        vec![
            "compare",
            "--config",
            "all-local,national-comms",
            "--out",
            &d("compare"),
        ],
    ]
    .into_iter()
    .map(|c| {
        c.into_iter()
            .chain(builtin_reps)
            .map(String::from)
            .collect()
    })
    .chain(
        [
            vec![
                "sweep",
                fixture(),
                "--config",
                "national",
                "--param",
                "services.comms.locality=0:1:2",
                "-n",
                "2",
                "--out",
                &d("sweep"),
            ],
            vec!["backtest", fixture(), "-n", "2", "--out", &d("backtest")],
            vec![
                "sensitivity",
                fixture(),
                "--config",
                "national",
                "--all",
                "-n",
                "2",
                "--trajectories",
                "1",
                "--out",
                &d("sensitivity"),
            ],
            vec![
                "calibrate",
                "--config",
                "national-comms",
                "--particles",
                "2",
                "--generations",
                "1",
                "--reps",
                "1",
                "--out",
                &d("calibrate"),
            ],
            vec!["validate", fixture()],
            vec![
                "generate",
                "--ccgs",
                "20",
                "--providers",
                "4",
                "--regions",
                "2",
                "--out",
                &d("generated.toml"),
            ],
            vec![
                "run",
                fixture(),
                "-n",
                "4",
                "--shard",
                "0/2",
                "--out",
                &d("s0"),
            ],
            vec![
                "run",
                fixture(),
                "-n",
                "4",
                "--shard",
                "1/2",
                "--out",
                &d("s1"),
            ],
            vec!["merge", &d("s0"), &d("s1"), "--out", &d("merged")],
            vec![
                "backtest",
                fixture(),
                "-n",
                "4",
                "--shard",
                "0/2",
                "--out",
                &d("b0"),
            ],
            // Complete already: a note that nothing is left to do.
            vec![
                "backtest",
                fixture(),
                "-n",
                "4",
                "--shard",
                "0/2",
                "--resume",
                "--out",
                &d("b0"),
            ],
        ]
        .into_iter()
        .map(|c| c.into_iter().map(String::from).collect()),
    )
    .collect();
    for args in &commands {
        let out = csmarket().arg("-q").args(args).output().unwrap();
        let said = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        assert!(out.status.success(), "{args:?}: {}", said(&out.stderr));
        assert!(
            out.stdout.is_empty(),
            "{args:?} printed: {}",
            said(&out.stdout)
        );
        assert!(
            out.stderr.is_empty(),
            "{args:?} said: {}",
            said(&out.stderr)
        );
    }
    // An error is still said.
    let bad = dir.path().join("bad.toml");
    fs::write(&bad, "[scenario\n").unwrap();
    let out = csmarket()
        .arg("-q")
        .arg("validate")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.toml"),
        "{out:?}"
    );
    // And so is a warning: an edited scenarios/england-2012.toml in the working folder did not run.
    let local = dir.path().join("edited");
    fs::create_dir_all(local.join("scenarios")).unwrap();
    fs::write(local.join("scenarios/england-2012.toml"), "# edited\n").unwrap();
    let out = csmarket()
        .current_dir(&local)
        .args(["-q", "run", "-n", "1", "--config", "all-local"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("Warning: ") && err.contains("differs from the built-in copy"),
        "{err}"
    );
    assert!(!err.contains("calibrated"), "a note under --quiet: {err}");
}

/// Every CSV file a command writes is described, column by column, in the data dictionary
/// (`columns.csv`) of its folder or the nearest folder above it: run (with `--series`), compare,
/// sweep (refined), sensitivity (with Morris), backtest and calibrate.
#[test]
fn every_csv_a_command_writes_has_each_column_in_the_data_dictionary() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let out = |name: &str| root.join(name).display().to_string();
    let commands: Vec<Vec<String>> = [
        vec![
            "run",
            fixture(),
            "-n",
            "4",
            "--series",
            "--out",
            &out("run"),
        ],
        vec!["compare", fixture(), "-n", "4", "--out", &out("compare")],
        vec![
            "sweep",
            fixture(),
            "--config",
            "national",
            "--param",
            "services.comms.locality=0:1:3",
            "--param",
            "services.bi.locality=0.1,0.5",
            "-n",
            "4",
            "--out",
            &out("sweep"),
        ],
        vec![
            "sweep",
            fixture(),
            "--config",
            "national",
            "--param",
            "services.comms.locality=0:1:3",
            "-n",
            "8",
            "--refine",
            "--refine-steps",
            "1",
            "--out",
            &out("refined"),
        ],
        vec![
            "sensitivity",
            fixture(),
            "--config",
            "national",
            "--all",
            "-n",
            "2",
            "--trajectories",
            "1",
            "--out",
            &out("sensitivity"),
        ],
        vec!["backtest", fixture(), "-n", "2", "--out", &out("backtest")],
        vec![
            "calibrate",
            "--config",
            "national-comms",
            "--particles",
            "2",
            "--generations",
            "1",
            "--reps",
            "1",
            "--out",
            &out("calibrate"),
        ],
    ]
    .into_iter()
    .map(|c| c.into_iter().map(String::from).collect())
    .collect();
    for args in &commands {
        let o = csmarket().arg("-q").args(args).output().unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let mut csvs = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "csv")
                && p.file_name().is_some_and(|n| n != "columns.csv")
            {
                csvs.push(p);
            }
        }
    }
    let mut files = std::collections::BTreeSet::new();
    for csv in &csvs {
        let dictionary = csv
            .ancestors()
            .skip(1)
            .take_while(|a| a.starts_with(root))
            .map(|a| a.join("columns.csv"))
            .find(|c| c.exists())
            .unwrap_or_else(|| panic!("no columns.csv for {}", csv.display()));
        let entries: Vec<Vec<String>> = csv_rows(&dictionary).into_iter().skip(1).collect();
        for e in &entries {
            assert!(
                !e[2].is_empty() && !e[3].is_empty(),
                "{e:?} lacks a unit or a meaning"
            );
        }
        let name = csv.file_name().unwrap().to_string_lossy().into_owned();
        files.insert(name.clone());
        for column in &csv_rows(csv)[0] {
            assert!(
                entries
                    .iter()
                    .any(|e| e[0] == name && csmarket::export::column::name_matches(&e[1], column)),
                "{}: column `{column}` is not in {}",
                csv.display(),
                dictionary.display()
            );
        }
    }
    // Every kind of CSV was seen, so none escaped the check by not being written.
    for f in [
        "runs.csv",
        "fates.csv",
        "series.csv",
        "replications.csv",
        "providers.csv",
        "services.csv",
        "timeseries.csv",
        "checkpoints.csv",
        "comparison.csv",
        "sweep.csv",
        "tipping.csv",
        "refine.csv",
        "sensitivity.csv",
        "morris.csv",
        "backtest.csv",
        "confusion.csv",
        "scores.csv",
        "targets.csv",
        "posterior.csv",
        "generations.csv",
        "fit.csv",
    ] {
        assert!(files.contains(f), "no {f} written: {files:?}");
    }
}
