//! Large runs: shards merge into the one-machine output bit for bit, a killed run resumes to the
//! same output, merging pieces of different runs is refused, and generated markets are valid.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::util::{csmarket, fixture, signal, temporaries, wait_for_file};
use csmarket::experiment::sealed;
use csmarket::experiment::{self, Summary};
use csmarket::export::merge::{self, RUN_FIELDS, ShardState};
use csmarket::model::Market;
use csmarket::scenario::Scenario;

const CONFIGS: [&str; 3] = ["local", "collaborative", "national"];
const RESULTS: [&str; 16] = [
    "fates.csv",
    "series.csv",
    "providers.csv",
    "services.csv",
    "timeseries.csv",
    "replications.csv",
    "survival.svg",
    "survival.png",
    "ratings.svg",
    "ratings.png",
    "structure.svg",
    "structure.png",
    "over-time.svg",
    "over-time.png",
    "cost.svg",
    "cost.png",
];

fn run(out: &Path, extra: &[&str]) {
    csmarket()
        .args(["run", fixture(), "-n", "301", "--seed", "11", "--out"])
        .arg(out)
        .args(extra)
        .assert()
        .success();
}

/// `summary.json` without the provenance fields that record how the work was run.
fn summary_without_run_fields(dir: &Path) -> serde_json::Value {
    let text = fs::read_to_string(dir.join("summary.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let provenance = json["provenance"].as_object_mut().unwrap();
    for f in RUN_FIELDS {
        assert!(provenance.remove(f).is_some(), "provenance lacks {f}");
    }
    json
}

/// Every results file byte for byte, and `summary.json` but for the run fields.
fn assert_same_output(a: &Path, b: &Path, configs: &[&str]) {
    for c in configs {
        for f in RESULTS {
            let x = fs::read(a.join(c).join(f)).unwrap();
            let y = fs::read(b.join(c).join(f)).unwrap();
            assert!(x == y, "{c}/{f} differs between {a:?} and {b:?}");
        }
        assert_eq!(
            summary_without_run_fields(&a.join(c)),
            summary_without_run_fields(&b.join(c)),
            "{c}/summary.json"
        );
        let names = |d: &Path| {
            let mut v: Vec<String> = fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(&a.join(c)), names(&b.join(c)), "{c}: the same files");
    }
    // The tables across configurations and the scenario text, byte for byte.
    for f in ["runs.csv", "columns.csv", "scenario.toml"] {
        let x = fs::read(a.join(f)).unwrap();
        let y = fs::read(b.join(f)).unwrap();
        assert!(x == y, "{f} differs between {a:?} and {b:?}");
    }
}

fn three_shards(root: &Path) -> Vec<PathBuf> {
    (0..3)
        .map(|k| {
            let d = root.join(format!("shard{k}"));
            run(
                &d,
                &["--shard", &format!("{k}/3"), "--threads", "2", "--series"],
            );
            d
        })
        .collect()
}

#[test]
fn three_shards_merged_equal_a_one_machine_run() {
    let root = tempfile::tempdir().unwrap();
    let one = root.path().join("one");
    run(&one, &["--threads", "1", "--series"]);
    let shards = three_shards(root.path());
    // Shard order on the command line does not matter.
    let merged = root.path().join("merged");
    csmarket()
        .arg("merge")
        .args([&shards[2], &shards[0], &shards[1]])
        .arg("--out")
        .arg(&merged)
        .assert()
        .success();
    assert_same_output(&one, &merged, &CONFIGS);
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(merged.join("local/summary.json")).unwrap())
            .unwrap();
    assert_eq!(json["provenance"]["first_replication"], 0);
    assert_eq!(json["provenance"]["replications"], 301);
}

#[test]
fn a_shard_runs_its_global_replication_range() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path().join("s");
    run(&d, &["--shard", "1/3", "--config", "local"]);
    let rows = fs::read_to_string(d.join("local/replications.csv")).unwrap();
    let ids: Vec<u64> = rows
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    // 301 replications in three shards: [100, 200).
    assert_eq!(ids, (100..200).collect::<Vec<_>>());
    assert!(d.join("local/state.json").is_file());
}

fn market(config: &str) -> Market {
    let s = Scenario::from_path(Path::new(fixture())).unwrap();
    Market::compile(&s.resolve(config).unwrap(), config).unwrap()
}

#[test]
fn summaries_of_any_split_merge_to_the_whole_runs_bits() {
    let m = market("collaborative");
    let whole = experiment::summarise(&m, 0..500, 2).unwrap();
    for cuts in [
        vec![0, 250, 500],
        vec![0, 1, 499, 500],
        vec![0, 100, 101, 333, 500],
    ] {
        let parts: Vec<Summary> = cuts
            .windows(2)
            .map(|w| experiment::summarise(&m, w[0]..w[1], 1).unwrap())
            .collect();
        let mut merged = parts[0].clone();
        parts[1..].iter().for_each(|p| merged.merge(p));
        assert_eq!(merged, whole, "split at {cuts:?}");
    }
}

fn merge_fails(shards: &[&Path], out: &Path) -> String {
    let out = csmarket()
        .arg("merge")
        .args(shards)
        .arg("--out")
        .arg(out)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn merging_shards_of_different_runs_is_refused_with_the_reason() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let s = three_shards(r);
    let out = r.join("out");

    let other_seed = r.join("seed12");
    csmarket()
        .args([
            "run",
            fixture(),
            "-n",
            "301",
            "--seed",
            "12",
            "--shard",
            "2/3",
            "--out",
        ])
        .arg(&other_seed)
        .assert()
        .success();
    let e = merge_fails(&[&s[0], &s[1], &other_seed], &out);
    assert!(
        e.contains("not shards of the same run: seed 11 vs 12"),
        "{e}"
    );

    let e = merge_fails(&[&s[0], &s[2]], &out);
    assert!(e.contains("shard 1/3 of 3 missing"), "{e}");
    assert!(e.contains("replications 100..200"), "{e}");

    let e = merge_fails(&[&s[0], &s[1], &s[1]], &out);
    assert!(e.contains("are both shard 1/3"), "{e}");

    // Another version of csmarket wrote one shard (sealed as that version would seal it).
    let state = s[2].join("local/state.json");
    let text = fs::read(&state).unwrap();
    let mut other: ShardState<'static> = sealed::open(merge::FORMAT, &text).unwrap();
    other.identity.to_mut().csmarket_version = "0.0.1".into();
    fs::write(&state, sealed::seal(merge::FORMAT, &other).unwrap()).unwrap();
    let e = merge_fails(&[&s[0], &s[1], &s[2]], &out);
    assert!(e.contains("csmarket version"), "{e}");
    fs::write(&state, text).unwrap();

    // A shard of an edited scenario.
    let edited = r.join("edited.toml");
    fs::write(
        &edited,
        fs::read_to_string(fixture())
            .unwrap()
            .replace("need_per_head = 1.6", "need_per_head = 1.7"),
    )
    .unwrap();
    let other_scenario = r.join("edited");
    csmarket()
        .arg("run")
        .arg(&edited)
        .args(["-n", "301", "--seed", "11", "--shard", "2/3", "--out"])
        .arg(&other_scenario)
        .assert()
        .success();
    let e = merge_fails(&[&s[0], &s[1], &other_scenario], &out);
    assert!(e.contains("scenario SHA-256"), "{e}");

    // A shard whose replications drew their parameters from a posterior sample.
    let posterior = r.join("posterior.csv");
    fs::write(&posterior, "weight,services.bi.locality\n1,0.3\n1,0.7\n").unwrap();
    let with_posterior = r.join("posterior");
    csmarket()
        .args(["run", fixture(), "-n", "301", "--seed", "11"])
        .args(["--shard", "2/3", "--posterior"])
        .arg(&posterior)
        .arg("--out")
        .arg(&with_posterior)
        .assert()
        .success();
    let e = merge_fails(&[&s[0], &s[1], &with_posterior], &out);
    assert!(e.contains("posterior SHA-256"), "{e}");

    // A folder that is not a shard at all, and a shard with a configuration missing.
    let e = merge_fails(&[&s[0], r], &out);
    assert!(e.contains("no shard results here"), "{e}");
    fs::remove_file(s[1].join("national/state.json")).unwrap();
    let e = merge_fails(&[&s[0], &s[1], &s[2]], &out);
    assert!(
        e.contains("has configurations collaborative, local but"),
        "{e}"
    );
    assert!(!out.exists(), "nothing written on refusal");
}

#[test]
fn a_shard_whose_rows_were_cut_short_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let s = three_shards(root.path());
    let rows = s[1].join("collaborative/replications.csv");
    let bytes = fs::read(&rows).unwrap();
    fs::write(&rows, &bytes[..bytes.len() - 10]).unwrap();
    let out = root.path().join("out");
    let e = merge_fails(&[&s[0], &s[1], &s[2]], &out);
    assert!(e.contains("but the shard wrote"), "{e}");
    assert!(!out.exists(), "nothing written on refusal");
}

fn resumable_run(out: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("csmarket"));
    c.args([
        "run",
        fixture(),
        "-n",
        "2500",
        "--seed",
        "5",
        "--config",
        "local",
    ])
    .args(["--save-secs", "0", "--threads", "2", "--series", "--out"])
    .arg(out)
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    c
}

#[test]
fn a_killed_run_resumes_to_the_output_of_an_uninterrupted_one() {
    let root = tempfile::tempdir().unwrap();
    let killed = root.path().join("killed");
    let mut child = resumable_run(&killed).spawn().unwrap();
    let state = killed.join("local/.progress/state.json");
    wait_for_file(&mut child, &state, "first save");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !killed.join("local/replications.csv").exists(),
        "the run was killed before it finished"
    );
    let mut resume = resumable_run(&killed);
    resume.arg("--resume").stderr(Stdio::piped());
    let resumed = resume.output().unwrap();
    assert!(resumed.status.success());
    // The resumed run says where it carried on from (a Slurm task's log shows it per attempt).
    let said = String::from_utf8_lossy(&resumed.stderr);
    assert!(
        said.contains("local: resuming with replications 0..")
            && said.contains(" of 0..2500 saved in "),
        "{said}"
    );
    assert!(
        !killed.join("local/.progress").exists(),
        "progress is cleared when done"
    );

    let whole = root.path().join("whole");
    assert!(resumable_run(&whole).status().unwrap().success());
    assert_same_output(&killed, &whole, &["local"]);
}

#[test]
fn resuming_with_other_settings_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("o");
    let mut child = resumable_run(&out).spawn().unwrap();
    let state = out.join("local/.progress/state.json");
    while !state.exists() && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let out_arg = out.to_str().unwrap();
    let result = csmarket()
        .args([
            "run",
            fixture(),
            "-n",
            "2500",
            "--seed",
            "6",
            "--config",
            "local",
        ])
        .args(["--resume", "--out", out_arg])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&result.get_output().stderr).into_owned();
    assert!(
        stderr.contains("saved progress is from another run (seed 5, this run 6)"),
        "{stderr}"
    );
    assert!(stderr.contains(".progress"), "names the file: {stderr}");
}

#[test]
fn a_finished_run_resumed_is_not_run_again() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("o");
    run(&out, &["--config", "local", "--resume"]);
    let first = fs::read(out.join("local/replications.csv")).unwrap();
    run(&out, &["--config", "local", "--resume"]);
    assert_eq!(fs::read(out.join("local/replications.csv")).unwrap(), first);
}

#[test]
fn shard_numbers_are_checked() {
    let out = csmarket()
        .args(["run", fixture(), "--shard", "3/3"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("numbered from 0"), "{stderr}");
}

#[test]
fn generate_writes_a_valid_deterministic_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.toml");
    let args = [
        "generate",
        "--ccgs",
        "400",
        "--providers",
        "9",
        "--regions",
        "3",
        "--seed",
        "4",
    ];
    csmarket()
        .args(args)
        .arg("--out")
        .arg(&a)
        .assert()
        .success();
    let stdout = csmarket().args(args).assert().success();
    assert_eq!(
        fs::read(&a).unwrap(),
        stdout.get_output().stdout,
        "same bytes each time"
    );
    let valid = csmarket().arg("validate").arg(&a).assert().success();
    let stdout = String::from_utf8_lossy(&valid.get_output().stdout).into_owned();
    assert!(stdout.contains("ok (3 configurations"), "{stdout}");
    let out = dir.path().join("run");
    csmarket()
        .arg("run")
        .arg(&a)
        .args(["-n", "3", "--config", "all-local", "--out"])
        .arg(&out)
        .assert()
        .success();
    let rows = fs::read_to_string(out.join("all-local/replications.csv")).unwrap();
    assert_eq!(rows.lines().count(), 4);
}

#[test]
fn generate_refuses_a_region_without_a_csu() {
    let out = csmarket()
        .args([
            "generate",
            "--ccgs",
            "10",
            "--providers",
            "2",
            "--regions",
            "3",
        ])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("--regions 3 exceeds --providers 2"),
        "{stderr}"
    );
}

#[test]
fn bench_reports_rates_speed_up_and_peak_memory() {
    let out = csmarket()
        .args([
            "bench",
            fixture(),
            "-n",
            "40",
            "--threads",
            "1,2",
            "--config",
            "local",
        ])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    for want in [
        "reps/s",
        "decisions/s",
        "vs 1 thr.",
        "1.00x",
        "counted by the engine",
        "ns/decision",
        "vs kernel",
        "Bare logit kernel (6 options: 6 utilities, 6 exp, one ChaCha8 uniform; 1 thread):",
        " ns per decision",
    ] {
        assert!(stdout.contains(want), "{want} missing:\n{stdout}");
    }
    if cfg!(target_os = "linux") {
        assert!(stdout.contains("Peak memory (VmHWM):"), "{stdout}");
    }
}

fn resumable_compare(out: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("csmarket"));
    c.args(["compare", fixture(), "-n", "2500", "--seed", "5"])
        .args(["--threads", "2", "--series", "--out"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

#[test]
fn a_compare_stopped_by_ctrl_c_resumes_to_the_output_of_an_uninterrupted_one() {
    let root = tempfile::tempdir().unwrap();
    let stopped = root.path().join("stopped");
    let mut child = resumable_compare(&stopped).spawn().unwrap();
    // Stopped while the second configuration runs: the first is complete, the second saved.
    let second = stopped.join("compare/collaborative/.progress/state.json");
    wait_for_file(&mut child, &second, "second configuration's saved progress");
    signal(&child, "INT");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("Finished: local"), "{stderr}");
    assert!(
        stderr.contains("collaborative: replications 0.."),
        "{stderr}"
    );
    assert!(stderr.contains("Not started: national"), "{stderr}");
    assert!(
        stderr.contains("compare") && stderr.contains("--resume"),
        "{stderr}"
    );
    // Nothing half-written is left behind, and no report of a comparison not done.
    assert_eq!(temporaries(&stopped), Vec::<String>::new());
    assert!(!stopped.join("compare/comparison.csv").exists());

    let mut resume = resumable_compare(&stopped);
    resume.arg("--resume");
    assert!(resume.status().unwrap().success());
    let whole = root.path().join("whole");
    assert!(resumable_compare(&whole).status().unwrap().success());
    assert_same_output(&stopped.join("compare"), &whole.join("compare"), &CONFIGS);
    for f in ["comparison.csv", "differences.svg", "cost.svg"] {
        let x = fs::read(stopped.join("compare").join(f)).unwrap();
        let y = fs::read(whole.join("compare").join(f)).unwrap();
        assert!(x == y, "compare/{f} differs");
    }
    assert!(!stopped.join("compare/local/.progress").exists());
}

fn resumable_sweep(out: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("csmarket"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["sweep", "scenarios/tutorial.toml", "--config", "national"])
        .args(["--param", "services.communications.locality=0:1:11"])
        .args(["-n", "300", "--seed", "3", "--threads", "2", "--out"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

#[test]
fn a_sweep_stopped_by_ctrl_c_resumes_to_the_output_of_an_uninterrupted_one() {
    let root = tempfile::tempdir().unwrap();
    let stopped = root.path().join("stopped");
    let mut child = resumable_sweep(&stopped).spawn().unwrap();
    let saved = stopped.join("sweep/.progress/piece-1.json");
    wait_for_file(&mut child, &saved, "saved second point");
    signal(&child, "INT");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("of 11 finished and saved"), "{stderr}");
    assert!(
        stderr.contains("sweep") && stderr.contains("--resume"),
        "{stderr}"
    );
    assert!(!stopped.join("sweep/sweep.csv").exists(), "not finished");

    let mut resume = resumable_sweep(&stopped);
    resume.arg("--resume");
    assert!(resume.status().unwrap().success());
    assert!(
        !stopped.join("sweep/.progress").exists(),
        "progress is cleared when done"
    );
    let whole = root.path().join("whole");
    assert!(resumable_sweep(&whole).status().unwrap().success());
    for f in [
        "sweep.csv",
        "tipping.csv",
        "runs.csv",
        "columns.csv",
        "survival.svg",
    ] {
        let x = fs::read(stopped.join("sweep").join(f)).unwrap();
        let y = fs::read(whole.join("sweep").join(f)).unwrap();
        assert!(x == y, "sweep/{f} differs");
    }
    let json = |d: &Path| {
        let mut v: serde_json::Value =
            serde_json::from_slice(&fs::read(d.join("sweep/sweep.json")).unwrap()).unwrap();
        v["origin"].as_object_mut().unwrap().remove("command_line");
        v
    };
    assert_eq!(json(&stopped), json(&whole));
}
