//! Output that bad luck or a hostile user cannot hurt: one writer per output folder, tampered or
//! truncated shards and saved progress refused before anything is written, no temporary file
//! outliving a failure or a signal, a closed stdout, and I/O errors that name their file once.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::util::{csmarket, fixture, signal, temporaries, wait_for_file};
use csmarket::export::lock::OutputLock;

fn stderr_of(a: &assert_cmd::assert::Assert) -> String {
    let stderr = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn a_second_writer_of_one_output_folder_is_refused_naming_the_holder() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    let holder = vec![
        "csmarket".to_string(),
        "run".into(),
        "--out".into(),
        out.display().to_string(),
    ];
    let lock = OutputLock::acquire(&out, &holder).unwrap();
    let refused = csmarket()
        .args(["run", fixture(), "-n", "3", "--out"])
        .arg(&out)
        .assert()
        .code(2);
    let e = stderr_of(&refused);
    assert!(
        e.contains("is being written by another csmarket process"),
        "{e}"
    );
    assert!(e.contains(&format!("pid {}", std::process::id())), "{e}");
    assert!(
        e.contains(&format!("command csmarket run --out {}", out.display())),
        "{e}"
    );
    let entries: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, [".csmarket.lock"], "the refused run wrote nothing");

    // The holder's lock goes when it does; the next run proceeds and leaves no lock behind.
    drop(lock);
    csmarket()
        .args(["run", fixture(), "-n", "3", "--config", "local", "--out"])
        .arg(&out)
        .assert()
        .success();
    assert!(out.join("local/replications.csv").is_file());
    assert!(!out.join(".csmarket.lock").exists());
}

#[test]
fn a_merge_into_a_folder_another_process_writes_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let shards = two_shards(root.path());
    let out = root.path().join("merged");
    let _lock = OutputLock::acquire(&out, &["another".to_string()]).unwrap();
    let refused = csmarket()
        .arg("merge")
        .args(&shards)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2);
    let e = stderr_of(&refused);
    assert!(e.contains("command another"), "{e}");
    assert!(!out.join("local").exists(), "nothing merged");
}

/// `csmarket merge` of `shards` into `out`, refused with exit 2; returns its stderr.
fn merge_refused(shards: &[PathBuf], out: &Path) -> String {
    let refused = csmarket()
        .arg("merge")
        .args(shards)
        .arg("--out")
        .arg(out)
        .assert()
        .code(2);
    stderr_of(&refused)
}

#[test]
fn a_shard_whose_state_was_edited_is_refused_and_nothing_is_written() {
    let root = tempfile::tempdir().unwrap();
    let shards = two_shards(root.path());
    let state = shards[1].join("local/state.json");
    let text = fs::read_to_string(&state).unwrap();
    // One provider's survival count, one higher.
    let key = "\"survived\":{\"successes\":";
    let at = text.find(key).unwrap() + key.len();
    let end = at + text[at..].find(',').unwrap();
    let count: u64 = text[at..end].parse().unwrap();
    let edited = format!("{}{}{}", &text[..at], count + 1, &text[end..]);
    fs::write(&state, edited).unwrap();
    let out = root.path().join("merged");
    let e = merge_refused(&shards, &out);
    assert!(e.contains("s1/local/state.json"), "names the file: {e}");
    assert!(e.contains("do not match its SHA-256 seal"), "{e}");
    assert!(!out.exists(), "nothing written");
}

#[test]
fn a_shard_whose_rows_were_cut_short_or_edited_is_refused_and_nothing_is_written() {
    let root = tempfile::tempdir().unwrap();
    let shards = two_shards(root.path());
    let rows = shards[0].join("local/replications.csv");
    let whole = fs::read(&rows).unwrap();
    let out = root.path().join("merged");

    // Cut at a row boundary, as a copy that stopped early would be.
    let last_row = whole[..whole.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap();
    fs::write(&rows, &whole[..=last_row]).unwrap();
    let e = merge_refused(&shards, &out);
    assert!(
        e.contains("s0/local/replications.csv"),
        "names the file: {e}"
    );
    assert!(e.contains("but the shard wrote"), "{e}");

    // Same length, one digit changed.
    let mut edited = whole.clone();
    let digit = edited.iter().rposition(|b| b.is_ascii_digit()).unwrap();
    edited[digit] = if edited[digit] == b'1' { b'2' } else { b'1' };
    fs::write(&rows, &edited).unwrap();
    let e = merge_refused(&shards, &out);
    assert!(e.contains("not those the shard wrote"), "{e}");
    assert!(!out.exists(), "nothing written");

    fs::write(&rows, &whole).unwrap();
    csmarket()
        .arg("merge")
        .args(&shards)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
}

/// Starts a long run of the fixture's `local` configuration that saves progress after every
/// block, and waits until it has saved some; returns the running child.
fn long_run(out: &Path) -> std::process::Child {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("csmarket"))
        .args(["run", fixture(), "-n", "1000000", "--config", "local"])
        .args(["--save-secs", "0", "--threads", "2", "--out"])
        .arg(out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_file(
        &mut child,
        &out.join("local/.progress/state.json"),
        "saved progress",
    );
    child
}

/// A run killed after saving progress, in `root/o`.
fn killed_run(root: &Path) -> PathBuf {
    let out = root.join("o");
    let mut child = long_run(&out);
    child.kill().unwrap();
    child.wait().unwrap();
    out
}

fn resume_refused(out: &Path) -> String {
    let refused = csmarket()
        .args(["run", fixture(), "-n", "1000000", "--config", "local"])
        .args(["--resume", "--out"])
        .arg(out)
        .assert()
        .code(2);
    stderr_of(&refused)
}

#[test]
fn saved_progress_edited_or_cut_short_is_not_resumed() {
    let root = tempfile::tempdir().unwrap();
    let out = killed_run(root.path());
    let state = out.join("local/.progress/state.json");
    let text = fs::read_to_string(&state).unwrap();
    let edited = text.replacen("\"successes\":", "\"successes\":1", 1);
    fs::write(&state, edited).unwrap();
    let e = resume_refused(&out);
    assert!(e.contains(".progress/state.json"), "names the file: {e}");
    assert!(e.contains("do not match its SHA-256 seal"), "{e}");
    fs::write(&state, &text).unwrap();

    let rows = out.join("local/.progress/replications.csv");
    let bytes = fs::read(&rows).unwrap();
    fs::write(&rows, &bytes[..bytes.len() / 2]).unwrap();
    let e = resume_refused(&out);
    assert!(
        e.contains(".progress/replications.csv"),
        "names the file: {e}"
    );
    assert!(e.contains("but the saved progress counted"), "{e}");
    assert!(
        !out.join("local/replications.csv").exists(),
        "nothing written"
    );
}

#[test]
fn sigterm_stops_a_run_with_progress_saved_no_temporary_left_and_the_resume_command() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("o");
    let child = long_run(&out);
    signal(&child, "TERM");
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr).into_owned();
    assert_eq!(done.status.code(), Some(143), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("Stopped by SIGTERM."), "{stderr}");
    assert!(
        stderr.contains("local: replications 0..") && stderr.contains(" of 0..1000000 saved in "),
        "{stderr}"
    );
    let resume = format!(
        "Resume with:\n  {} run {} -n 1000000 --config local --save-secs 0 --threads 2 --out {} --resume\n",
        assert_cmd::cargo::cargo_bin("csmarket").display(),
        fixture(),
        out.display()
    );
    assert!(stderr.contains(&resume), "{stderr}\nwanted:\n{resume}");
    assert_eq!(temporaries(&out), Vec::<String>::new());
    assert!(!out.join(".csmarket.lock").exists());
    assert!(
        out.join("local/.progress/state.json").is_file(),
        "progress kept"
    );
    assert!(!out.join("local/replications.csv").exists(), "not finished");
}

#[test]
fn sigint_stops_compare_cleanly_saying_what_finished_and_how_to_resume() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("o");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("csmarket"))
        .args([
            "compare",
            fixture(),
            "-n",
            "1000000",
            "--threads",
            "2",
            "--out",
        ])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // compare runs each configuration as `run` does, saving progress after its first block.
    let saved = out.join("compare/local/.progress/state.json");
    wait_for_file(&mut child, &saved, "saved progress");
    signal(&child, "INT");
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr).into_owned();
    assert_eq!(done.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("Stopped by SIGINT"), "{stderr}");
    assert!(
        stderr.contains("local: replications 0..") && stderr.contains("Not started: collaborative"),
        "{stderr}"
    );
    assert!(
        stderr.contains(" compare ") && stderr.contains("--out") && stderr.contains("--resume\n"),
        "{stderr}"
    );
    assert_eq!(temporaries(&out), Vec::<String>::new());
    assert!(!out.join("compare/.csmarket.lock").exists());
    assert!(saved.is_file(), "progress kept for --resume");
    assert!(!out.join("compare/comparison.csv").exists(), "not finished");
}

#[test]
fn temporary_files_a_killed_run_left_are_removed_by_the_next_run() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("o");
    let stale = [
        out.join("local/.providers.csv.partial-4242"),
        out.join("local/.progress/.state.json.partial-4242"),
    ];
    for f in &stale {
        fs::create_dir_all(f.parent().unwrap()).unwrap();
        fs::write(f, "half").unwrap();
    }
    let done = csmarket()
        .args(["run", fixture(), "-n", "3", "--config", "local", "--out"])
        .arg(&out)
        .assert()
        .success();
    let e = stderr_of(&done);
    assert!(
        e.contains("Removed 2 temporary files a stopped run left"),
        "{e}"
    );
    assert_eq!(temporaries(&out), Vec::<String>::new());
}

#[test]
fn a_closed_stdout_is_not_an_error_and_never_panics() {
    // More output than a pipe holds, so the writes meet the closed pipe whatever the timing.
    let files = vec![fixture(); 800];
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("csmarket"))
        .arg("validate")
        .args(&files)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr).into_owned();
    assert_eq!(done.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stderr, "",
        "nothing to say about a reader that stopped reading"
    );
}

#[test]
fn a_closed_stdout_still_exits_2_for_bad_scenarios() {
    let root = tempfile::tempdir().unwrap();
    let bad = root.path().join("bad.toml");
    fs::write(&bad, "[scenario\n").unwrap();
    let mut files = vec![fixture().to_string(); 800];
    files.push(bad.display().to_string());
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("csmarket"))
        .arg("validate")
        .args(&files)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr).into_owned();
    assert_eq!(done.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.toml"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn an_io_error_names_the_file_says_the_reason_once_and_exits_1() {
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("a-file");
    fs::write(&file, "not a folder").unwrap();
    let out = file.join("out");
    let failed = csmarket()
        .args(["run", fixture(), "-n", "2", "--out"])
        .arg(&out)
        .assert()
        .code(1);
    let e = stderr_of(&failed);
    let reason = "Not a directory (os error 20)";
    assert!(e.contains(&format!("{}: {reason}", out.display())), "{e}");
    assert_eq!(e.matches(reason).count(), 1, "the reason once: {e}");
    assert_eq!(e.lines().count(), 1, "one line: {e}");
}

#[test]
fn a_missing_scenario_file_says_the_reason_once() {
    let root = tempfile::tempdir().unwrap();
    let missing = root.path().join("missing.toml");
    let failed = csmarket().arg("run").arg(&missing).assert().failure();
    let e = stderr_of(&failed);
    assert!(e.contains(&missing.display().to_string()), "{e}");
    assert_eq!(
        e.matches("No such file or directory").count(),
        1,
        "the reason once: {e}"
    );
}

#[test]
fn a_missing_shard_folder_is_bad_input() {
    let root = tempfile::tempdir().unwrap();
    let shards = two_shards(root.path());
    let missing = root.path().join("s2");
    let out = root.path().join("merged");
    let e = merge_refused(&[shards[0].clone(), missing.clone()], &out);
    assert!(
        e.contains(&format!("{}: no such shard folder", missing.display())),
        "{e}"
    );
    assert!(!out.exists(), "nothing written");
}

/// Two shards of a small run of one configuration, in `root/s0` and `root/s1`.
fn two_shards(root: &Path) -> Vec<PathBuf> {
    (0..2)
        .map(|k| {
            let d = root.join(format!("s{k}"));
            csmarket()
                .args([
                    "run",
                    fixture(),
                    "-n",
                    "40",
                    "--seed",
                    "3",
                    "--config",
                    "local",
                ])
                .args(["--shard", &format!("{k}/2"), "--out"])
                .arg(&d)
                .assert()
                .success();
            d
        })
        .collect()
}
