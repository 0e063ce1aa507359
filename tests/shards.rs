//! Every study command shards: `compare`, `sweep`, `sensitivity` and `backtest` split with
//! `--shard K/N`, and `csmarket merge` of shards 0/3, 1/3 and 2/3 writes every file one machine
//! writes, byte for byte (provenance of when, how many threads and which command line aside, as
//! the golden test treats it); a set of shards that is not one whole study is refused with exit
//! status 2, naming the folder; a complete shard resumed returns at once; a stopped shard resumes
//! to the same pieces.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::golden::normalised;
use crate::util::{csmarket, fixture, signal, wait_for_file};

/// Every file under `dir`, by path relative to it, with its bytes as the golden test counts them.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, normalised(&p));
            }
        }
    }
    out
}

/// Runs `args` on one machine and as shards 0/3, 1/3 and 2/3 in `root`; returns the one-machine
/// folder and the shard folders.
fn one_and_shards(root: &Path, args: &[&str]) -> (PathBuf, Vec<PathBuf>) {
    let one = root.join("one");
    csmarket()
        .args(args)
        .arg("--out")
        .arg(&one)
        .assert()
        .success();
    let shards: Vec<PathBuf> = (0..3)
        .map(|k| {
            let d = root.join(format!("shard{k}"));
            csmarket()
                .args(args)
                .args(["--shard", &format!("{k}/3"), "--threads", "1", "--out"])
                .arg(&d)
                .assert()
                .success();
            d
        })
        .collect();
    (one, shards)
}

/// Merges `shards` into `out`; returns the exit status and standard error.
fn merge(shards: &[&Path], out: &Path) -> (Option<i32>, String) {
    let o = csmarket()
        .arg("merge")
        .args(shards)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Shards 0/3, 1/3, 2/3 of `args`, given in another order, merge into exactly the one-machine
/// files; then a shard of another seed, a missing shard, a shard of another split and a shard of
/// another command are each refused with exit status 2 and nothing written.
fn shards_merge_to_one_machine(command: &str, args: &[&str]) {
    let root = tempfile::tempdir().unwrap();
    let (one, s) = one_and_shards(root.path(), args);
    let merged = root.path().join("merged");
    let (code, err) = merge(&[&s[2], &s[0], &s[1]], &merged);
    assert_eq!(code, Some(0), "{err}");
    let (a, b) = (files(&one), files(&merged));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the merge writes the one-machine files"
    );
    assert!(
        a.keys().any(|f| f.ends_with(".svg")),
        "charts: {:?}",
        a.keys()
    );
    for (f, bytes) in &a {
        assert!(
            b[f] == *bytes,
            "{command}: {f} differs from the one-machine file"
        );
    }

    // A shard of another seed.
    let other = root.path().join("other-seed");
    let mut with_seed: Vec<&str> = args.to_vec();
    let at = with_seed.iter().position(|a| *a == "--seed").unwrap();
    with_seed[at + 1] = "99";
    with_seed.extend(["--shard", "1/3", "--out"]);
    csmarket().args(&with_seed).arg(&other).assert().success();
    let refused = root.path().join("refused");
    let (code, err) = merge(&[&s[0], &other, &s[2]], &refused);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("not shards of the same study: seed"), "{err}");
    assert!(err.contains("other-seed"), "names the folder: {err}");
    // A missing shard.
    let (code, err) = merge(&[&s[0], &s[2]], &refused);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("shard 1/3 of 3 missing"), "{err}");
    // A shard of a split in two.
    let halves = root.path().join("half");
    csmarket()
        .args(args)
        .args(["--shard", "1/2", "--out"])
        .arg(&halves)
        .assert()
        .success();
    let (code, err) = merge(&[&s[0], &halves, &s[2]], &refused);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("shard count 3 vs 2"), "{err}");
    // A shard of another command.
    let run = root.path().join("run-shard");
    csmarket()
        .args(["run", fixture(), "-n", "6", "--shard", "1/3", "--out"])
        .arg(&run)
        .assert()
        .success();
    let (code, err) = merge(&[&s[0], &run, &s[2]], &refused);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("run-shard holds shards of run") && err.contains(command),
        "{err}"
    );
    assert!(!refused.exists(), "a refused merge writes nothing");
}

#[test]
fn compare_shards_merge_into_the_one_machine_comparison_byte_for_byte() {
    shards_merge_to_one_machine(
        "compare",
        &[
            "compare",
            fixture(),
            "-n",
            "20",
            "--seed",
            "4",
            "--baseline",
            "national",
        ],
    );
}

#[test]
fn sweep_shards_merge_into_the_one_machine_sweep_byte_for_byte() {
    shards_merge_to_one_machine(
        "sweep",
        &[
            "sweep",
            fixture(),
            "--config",
            "national",
            "--param",
            "services.comms.locality=0:1:4",
            "-n",
            "10",
            "--seed",
            "2",
        ],
    );
}

#[test]
fn sensitivity_shards_merge_into_the_one_machine_analysis_byte_for_byte() {
    shards_merge_to_one_machine(
        "sensitivity",
        &[
            "sensitivity",
            fixture(),
            "--config",
            "national",
            "--all",
            "-n",
            "4",
            "--seed",
            "2",
            "--trajectories",
            "1",
        ],
    );
}

#[test]
fn backtest_shards_merge_into_the_one_machine_back_test_byte_for_byte() {
    shards_merge_to_one_machine(
        "backtest",
        &["backtest", fixture(), "-n", "10", "--seed", "2"],
    );
}

#[test]
fn a_sweep_shard_split_inside_a_grid_point_merges_exactly() {
    // Two points of 9 replications in 4 shards: shard 1 holds replications 4..9 of the first
    // point and none of the second; shard 2 holds replications 0..4 of the second.
    let args = [
        "sweep",
        fixture(),
        "--config",
        "national",
        "--param",
        "services.comms.locality=0.2,0.8",
        "-n",
        "9",
        "--seed",
        "5",
    ];
    let root = tempfile::tempdir().unwrap();
    let one = root.path().join("one");
    csmarket()
        .args(args)
        .arg("--out")
        .arg(&one)
        .assert()
        .success();
    let shards: Vec<PathBuf> = (0..4)
        .map(|k| {
            let d = root.path().join(format!("s{k}"));
            csmarket()
                .args(args)
                .args(["--shard", &format!("{k}/4"), "--out"])
                .arg(&d)
                .assert()
                .success();
            d
        })
        .collect();
    let merged = root.path().join("merged");
    let refs: Vec<&Path> = shards.iter().map(PathBuf::as_path).collect();
    let (code, err) = merge(&refs, &merged);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(files(&one), files(&merged));
}

#[test]
fn a_complete_study_shard_resumed_returns_at_once_and_refine_is_not_sharded() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("s");
    let args = ["backtest", fixture(), "-n", "6", "--shard", "0/2", "--out"];
    csmarket().args(args).arg(&out).assert().success();
    let state = out.join("backtest/shard.json");
    let before = fs::read(&state).unwrap();
    let o = csmarket()
        .args(args)
        .arg(&out)
        .arg("--resume")
        .output()
        .unwrap();
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("complete already"), "{err}");
    assert_eq!(
        fs::read(&state).unwrap(),
        before,
        "not run or written again"
    );

    let o = csmarket()
        .args(["sweep", fixture(), "--config", "national", "--param"])
        .args([
            "services.comms.locality=0:1:3",
            "--refine",
            "--shard",
            "0/2",
        ])
        .arg("--out")
        .arg(root.path().join("r"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--refine cannot be split"));
}

#[test]
fn a_sweep_shard_stopped_by_a_signal_resumes_to_the_shard_an_uninterrupted_one_writes() {
    let args = [
        "sweep",
        "scenarios/tutorial.toml",
        "--config",
        "national",
        "--param",
        "services.communications.locality=0:1:12",
        "-n",
        "200",
        "--seed",
        "3",
        "--threads",
        "2",
        "--shard",
        "1/2",
    ];
    let root = tempfile::tempdir().unwrap();
    let stopped = root.path().join("stopped");
    let spawn = |out: &Path, resume: bool| {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("csmarket"));
        c.current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(args)
            .arg("--out")
            .arg(out)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if resume {
            c.arg("--resume");
        }
        c
    };
    let mut child = spawn(&stopped, false).spawn().unwrap();
    wait_for_file(
        &mut child,
        &stopped.join("sweep/.progress/piece-1.json"),
        "second saved piece",
    );
    signal(&child, "TERM");
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{err}");
    assert!(
        err.contains("Shard 1/2 of the sweep: pieces 1..") && err.contains("--resume"),
        "{err}"
    );
    assert!(!stopped.join("sweep/shard.json").exists(), "not complete");
    let resumed = spawn(&stopped, true).output().unwrap();
    assert!(resumed.status.success());
    let whole = root.path().join("whole");
    assert!(spawn(&whole, false).status().unwrap().success());
    for f in ["runs.csv", "scenario.toml"] {
        assert!(
            fs::read(stopped.join("sweep").join(f)).unwrap()
                == fs::read(whole.join("sweep").join(f)).unwrap(),
            "{f} differs"
        );
    }
    let pieces = |d: &Path| {
        csmarket::export::study_shard::read(&d.join("sweep"))
            .unwrap()
            .pieces
    };
    assert_eq!(pieces(&stopped), pieces(&whole));
}

/// Shard folders that hold several commands' shards (a sweep's and a comparison's, then a
/// comparison's and a run's, each `--out` shared) are merged whole or not at all: when a later
/// command's set is refused, no earlier command's output is written either; when every set is
/// whole, every command's output is written.
#[test]
fn a_merge_of_several_commands_is_written_whole_or_not_at_all() {
    let root = tempfile::tempdir().unwrap();
    let sweep = [
        "sweep",
        fixture(),
        "--config",
        "national",
        "--param",
        "services.comms.locality=0:1:2",
        "-n",
        "4",
        "--seed",
        "2",
    ];
    let compare = |seed: &str| ["compare", fixture(), "-n", "6", "--seed", seed].map(String::from);
    let run = |seed: &str| ["run", fixture(), "-n", "6", "--seed", seed].map(String::from);
    let shard = |args: &[String], k: u32, dir: &Path| {
        csmarket()
            .args(args)
            .args(["--shard", &format!("{k}/2"), "--threads", "1", "--out"])
            .arg(dir)
            .assert()
            .success();
    };
    let sweep: Vec<String> = sweep.map(String::from).to_vec();
    // Folders a: the sweep's and the comparison's shards, shard 1's comparison of another seed
    // (the sweep, merged before the comparison, would be whole).
    let a: Vec<PathBuf> = (0..2).map(|k| root.path().join(format!("a{k}"))).collect();
    // Folders b: a whole comparison and the run's shards, shard 1's run of another seed (the
    // comparison is merged before the run).
    let b: Vec<PathBuf> = (0..2).map(|k| root.path().join(format!("b{k}"))).collect();
    for k in 0..2u32 {
        let i = k as usize;
        shard(&sweep, k, &a[i]);
        shard(&compare(if k == 0 { "3" } else { "9" }), k, &a[i]);
        shard(&compare("3"), k, &b[i]);
        shard(&run(if k == 0 { "3" } else { "9" }), k, &b[i]);
    }
    for (dirs, what) in [(&a, "compare"), (&b, "run")] {
        let out = root.path().join(format!("refused-{what}"));
        let (code, err) = merge(&[&dirs[0], &dirs[1]], &out);
        assert_eq!(code, Some(2), "{err}");
        assert!(
            err.contains("seed"),
            "says why the {what} set is refused: {err}"
        );
        assert!(
            !out.exists(),
            "a refused {what} set leaves nothing, not even the command merged before it"
        );
    }

    // Whole sets of every command: each command's output is written.
    for k in 0..2u32 {
        let i = k as usize;
        fs::remove_dir_all(&a[i]).unwrap();
        shard(&sweep, k, &a[i]);
        shard(&compare("3"), k, &a[i]);
        shard(&run("3"), k, &a[i]);
    }
    let out = root.path().join("merged");
    let (code, err) = merge(&[&a[0], &a[1]], &out);
    assert_eq!(code, Some(0), "{err}");
    for written in [
        "sweep/sweep.json",
        "compare/report.html",
        "national/summary.json",
    ] {
        assert!(out.join(written).is_file(), "{written} written");
    }
}
