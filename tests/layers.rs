//! The architecture itself: data flows one way (STYLE.md), file -> validated scenario -> compiled
//! model -> replications -> summaries -> exports and charts, with the command line on top. Each
//! top-level module of `src/` sits in a layer and may use only modules of lower layers; modules
//! of one layer may not use each other. Read from every `crate::` path in the code (`use` lines
//! and inline paths, comments left out) and every `super::` chain that climbs to the crate root.

use std::fs;
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may use modules of lower layers only.
const LAYERS: &[&[&str]] = &[
    // Statistics: exactly mergeable sums, proportions, sketches. Uses nothing.
    &["stats"],
    // What the user wrote: the scenario file, parsed and checked.
    &["scenario"],
    // The compiled market the engine runs on.
    &["model"],
    // One replication; and scenario files generated from a seed.
    &["engine", "generate"],
    // Many replications: runs, summaries, figures, shards, saved progress.
    &["experiment"],
    // Experiments built on runs: paired comparisons; sweeps, sensitivity, back-tests.
    &["compare", "explore"],
    // Results as files: the output layout, the exporters, merging shards.
    &["export"],
    // Results as pictures, rendered to bytes.
    &["charts"],
    // Results as a document: HTML and Markdown.
    &["report"],
    // The command line: parses, validates and wires the rest together.
    &["cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file under `src/` (`charts/explore/mod.rs` is `charts::explore`).
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// An identifier starting at `s`.
fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The top-level modules a line of code names through `crate::` (including `crate::{a, b::c}`) or
/// through a `super::` chain from `module` that reaches the crate root.
fn used_modules(code: &str, module: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            // Top-level names of a group: those at brace depth 0 after a `{` or a `,`.
            let mut depth = 0;
            let mut expect = true;
            for (k, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => expect = true,
                    c if expect && (c.is_ascii_alphanumeric() || c == '_') => {
                        out.push(ident(&group[k..]).to_string());
                        expect = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.push(ident(after).to_string());
        }
        rest = after;
    }
    let mut rest = code;
    while let Some(i) = rest.find("super::") {
        // Only a chain that starts a path (not `x::super::`, which Rust forbids anyway).
        let mut tail = &rest[i..];
        let mut ups = 0;
        while let Some(t) = tail.strip_prefix("super::") {
            ups += 1;
            tail = t;
        }
        if ups == module.len() {
            out.push(ident(tail).to_string());
        }
        rest = &rest[i + "super::".len() * ups..];
    }
    out
}

#[test]
fn no_module_uses_a_module_of_its_own_or_a_higher_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let module = module_path(rel);
        // The crate root and the binary only declare and wire modules.
        if rel.components().count() == 1 && matches!(module[0].as_str(), "lib" | "main") {
            continue;
        }
        let Some(mine) = layer_of(&module[0]) else {
            wrong.push(format!(
                "src/{}: module `{}` is in no layer; add it to LAYERS in tests/layers.rs",
                rel.display(),
                module[0]
            ));
            continue;
        };
        let text = fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for used in used_modules(code, &module) {
                if used == module[0] {
                    continue;
                }
                match layer_of(&used) {
                    Some(theirs) if theirs < mine => {}
                    Some(_) => wrong.push(format!(
                        "src/{}:{}: `{}` uses `{used}`, which is not in a lower layer: {}",
                        rel.display(),
                        n + 1,
                        module[0],
                        line.trim()
                    )),
                    // `crate::self`-like names and macros are not modules.
                    None => {}
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "data must flow one way (tests/layers.rs lists the layers):\n{}",
        wrong.join("\n")
    );
}

/// The sibling modules (files or folders beside it, not `mod.rs`) a file names through `super::x`
/// or through `crate::<its own path>::x`.
fn sibling_uses(text: &str, module: &[String], siblings: &[String]) -> Vec<String> {
    let parent = module[..module.len() - 1].join("::");
    let own = format!("crate::{parent}::");
    let mut out = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        for prefix in ["super::", own.as_str()] {
            let mut rest = code;
            while let Some(i) = rest.find(prefix) {
                let after = &rest[i + prefix.len()..];
                let name = ident(after);
                // `super::super::` climbs further; only a direct sibling counts.
                if !after.starts_with("super::") && siblings.iter().any(|s| s == name) {
                    out.push(name.to_string());
                }
                rest = after;
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Files that every other file of their folder may use and be used by: a hub is not a cycle.
/// (folder under `src/`, file stem, why.)
const HUBS: &[(&str, &str, &str)] = &[(
    "engine",
    "state",
    "the replication's whole state: it holds each step's part (books, deliveries, assessments, \
     the ledger) and every step works on it",
)];

#[test]
fn no_two_files_of_one_folder_use_each_other_in_a_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    // Folder -> its modules (file stems and subfolders, mod.rs aside) -> the siblings each uses.
    let mut graphs: std::collections::BTreeMap<PathBuf, Vec<(String, Vec<String>)>> =
        Default::default();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let stem = rel.file_stem().unwrap().to_string_lossy().to_string();
        if stem == "mod" || rel.components().count() == 1 {
            continue;
        }
        let folder = file.parent().unwrap().to_path_buf();
        let siblings: Vec<String> = fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "rs"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().to_string())
            .filter(|n| n != "mod" && *n != stem)
            .collect();
        let module = module_path(rel);
        let within = folder
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let hub = |name: &str| HUBS.iter().any(|(f, h, _)| *f == within && *h == name);
        if hub(&stem) {
            continue;
        }
        let mut used = sibling_uses(&fs::read_to_string(file).unwrap(), &module, &siblings);
        used.retain(|u| !hub(u));
        graphs.entry(folder).or_default().push((stem, used));
    }
    let mut cycles = Vec::new();
    for (folder, nodes) in &graphs {
        let uses = |n: &str| {
            nodes
                .iter()
                .find(|(m, _)| m == n)
                .map_or(&[][..], |(_, u)| u.as_slice())
        };
        // A cycle through `start`: a path of uses that comes back to it.
        for (start, _) in nodes {
            let mut stack = vec![(start.clone(), vec![start.clone()])];
            let mut seen = Vec::new();
            while let Some((at, path)) = stack.pop() {
                for next in uses(&at) {
                    if next == start {
                        cycles.push(format!(
                            "{}: {} -> {start}",
                            folder.strip_prefix(&src).unwrap().display(),
                            path.join(" -> ")
                        ));
                    } else if !seen.contains(next) {
                        seen.push(next.clone());
                        let mut p = path.clone();
                        p.push(next.clone());
                        stack.push((next.clone(), p));
                    }
                }
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "files of one folder use each other in a cycle:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_layer_check_sees_every_way_of_naming_a_module() {
    let charts = vec!["charts".to_string(), "explore".to_string()];
    assert_eq!(used_modules("use crate::report::x;", &charts), ["report"]);
    assert_eq!(
        used_modules("use crate::{cli, export::{a, b}, stats};", &charts),
        ["cli", "export", "stats"]
    );
    assert_eq!(
        used_modules("let x = crate::cli::run(1);", &charts),
        ["cli"]
    );
    // Two steps up from `charts::explore` is the crate root.
    assert_eq!(
        used_modules("use super::super::report;", &charts),
        ["report"]
    );
    assert!(used_modules("use super::draw;", &charts).is_empty());
    let run = vec!["cli".to_string(), "run".to_string()];
    let siblings = vec!["scale".to_string(), "plan".to_string()];
    assert_eq!(
        sibling_uses(
            "use super::plan::RunPlan;\nlet x = crate::cli::scale::f(); // super::nothing",
            &run,
            &siblings
        ),
        ["plan", "scale"]
    );
}

#[test]
fn every_module_is_in_exactly_one_layer() {
    let mut all: Vec<&str> = LAYERS.iter().flat_map(|l| l.iter().copied()).collect();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "a module appears in two layers");
}
