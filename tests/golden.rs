//! Golden outputs: a digest of every file a fixed set of runs writes (England 2012 and the tutorial,
//! every command), so that a change meant to keep results bit for bit can show that it did.
//!
//! Provenance that names the moment, the thread count or the command line is left out of the
//! digest; everything else must match `tests/golden/digests.txt` byte for byte. After an intended
//! change of results, rewrite that file with `CSMARKET_BLESS=1 cargo test golden` and say why in the
//! commit.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::util::csmarket;

const DIGESTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/digests.txt");

/// The fixed runs: (folder, arguments before `--out`).
const RUNS: &[(&str, &[&str])] = &[
    (
        "run",
        &["run", "scenarios/tutorial.toml", "-n", "120", "--seed", "3"],
    ),
    (
        "run-england",
        &[
            "run",
            "-n",
            "30",
            "--seed",
            "5",
            "--config",
            "comms-collaboratives",
        ],
    ),
    (
        "compare",
        &[
            "compare",
            "scenarios/tutorial.toml",
            "-n",
            "100",
            "--seed",
            "4",
        ],
    ),
    ("compare-england", &["compare", "-n", "20", "--seed", "4"]),
    (
        "sweep",
        &[
            "sweep",
            "scenarios/tutorial.toml",
            "--config",
            "national",
            "--param",
            "services.communications.locality=0:1:3",
            "-n",
            "40",
            "--seed",
            "2",
            "--refine",
            "--refine-steps",
            "2",
        ],
    ),
    (
        "sensitivity",
        &[
            "sensitivity",
            "--config",
            "national-comms",
            "-n",
            "10",
            "--seed",
            "2",
            "--trajectories",
            "1",
        ],
    ),
    ("backtest", &["backtest", "-n", "20", "--seed", "2"]),
    (
        "shard0",
        &[
            "run",
            "scenarios/tutorial.toml",
            "-n",
            "120",
            "--seed",
            "3",
            "--shard",
            "0/2",
        ],
    ),
    (
        "shard1",
        &[
            "run",
            "scenarios/tutorial.toml",
            "-n",
            "120",
            "--seed",
            "3",
            "--shard",
            "1/2",
        ],
    ),
];

/// Provenance keys that describe the moment, the machine and the build, not the results (the
/// commit changes with every commit; the build profile with `--release`, whose outputs are the
/// same bits as a debug build's); and the SHA-256 seal of a state file, which covers that
/// provenance.
const VOLATILE_KEYS: [&str; 7] = [
    "started",
    "finished",
    "threads",
    "command_line",
    "sha256",
    "commit",
    "build_profile",
];
/// Report lines that carry the same provenance.
const VOLATILE_LINES: [&str; 6] = [
    "**Threads:**",
    "**Date:**",
    "**Command line:**",
    "<dt>Threads",
    "<dt>Date",
    "<dt>Command line",
];

fn strip(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for k in VOLATILE_KEYS {
                map.remove(k);
            }
            map.values_mut().for_each(strip);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
        _ => {}
    }
}

/// The bytes that count for a file: volatile provenance removed.
pub fn normalised(path: &Path) -> Vec<u8> {
    let bytes = fs::read(path).unwrap();
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext {
        "json" => {
            let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            strip(&mut v);
            serde_json::to_vec(&v).unwrap()
        }
        "md" | "html" => {
            let text = String::from_utf8(bytes).unwrap();
            let mut out = String::new();
            for line in text.lines() {
                if !VOLATILE_LINES.iter().any(|v| line.contains(v)) {
                    out.push_str(line);
                    out.push('\n');
                }
            }
            out.into_bytes()
        }
        _ => bytes,
    }
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(root, &path, out);
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.insert(rel, format!("{:x}", Sha256::digest(normalised(&path))));
        }
    }
}

fn digests() -> BTreeMap<String, String> {
    let tmp = tempfile::tempdir().unwrap();
    for (folder, args) in RUNS {
        let out = tmp.path().join(folder);
        csmarket()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(*args)
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
    }
    let merged = tmp.path().join("merged");
    csmarket()
        .arg("merge")
        .arg(tmp.path().join("shard0"))
        .arg(tmp.path().join("shard1"))
        .arg("--out")
        .arg(&merged)
        .assert()
        .success();
    let mut all = BTreeMap::new();
    walk(tmp.path(), tmp.path(), &mut all);
    all
}

#[test]
fn golden_outputs_are_unchanged_bit_for_bit() {
    let now = digests();
    let text: String = now.iter().map(|(f, d)| format!("{d}  {f}\n")).collect();
    if std::env::var_os("CSMARKET_BLESS").is_some() {
        fs::write(DIGESTS, &text).unwrap();
        return;
    }
    let recorded = fs::read_to_string(DIGESTS).unwrap();
    let before: BTreeMap<&str, &str> = recorded
        .lines()
        .filter_map(|l| l.split_once("  ").map(|(d, f)| (f, d)))
        .collect();
    let mut changed = Vec::new();
    for (f, d) in &now {
        match before.get(f.as_str()) {
            Some(old) if *old == d => {}
            Some(_) => changed.push(format!("changed: {f}")),
            None => changed.push(format!("new: {f}")),
        }
    }
    for f in before.keys() {
        if !now.contains_key(*f) {
            changed.push(format!("missing: {f}"));
        }
    }
    assert!(
        changed.is_empty(),
        "{} output files differ from tests/golden/digests.txt:\n{}",
        changed.len(),
        changed.join("\n")
    );
}
