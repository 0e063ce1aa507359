//! Output that bad luck or a hostile user cannot hurt: one writer per output folder, tampered or
//! truncated shards and saved progress refused before anything is written, no temporary file
//! outliving a failure or a signal, a closed stdout, and I/O errors that name their file once.

use std::fs;
use std::path::{Path, PathBuf};

use crate::util::{csmarket, fixture};
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

/// Whether any csmarket temporary file is left under `dir`.
pub fn temporaries(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if e.file_name().to_string_lossy().contains(".partial-") {
                found.push(p.display().to_string());
            }
        }
    }
    found
}
