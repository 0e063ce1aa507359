//! The checks validation is made of: ranges, counts, ids, uniqueness and references.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;

use super::super::schema::Normal;
use super::Finding;

/// Collects findings; each check says what was wrong and what is allowed. A check takes its
/// field's path as anything displayable (`format_args!` where it is built from indices) and writes
/// it out only when it fails: a posterior's every row is validated, thousands of times a run, and
/// almost never fails.
pub(super) struct Checker {
    /// The findings so far.
    pub(super) findings: Vec<Finding>,
}

impl Checker {
    pub(super) fn fail(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.findings.push(Finding {
            path: path.into(),
            message: message.into(),
        });
    }

    /// A finite number in `[lo, hi]`.
    pub(super) fn range(&mut self, path: impl Display, v: f64, lo: f64, hi: f64) {
        if !v.is_finite() {
            self.fail(
                path.to_string(),
                format!(
                    "must be a finite number, got {}; allowed: {}",
                    show(v),
                    describe(lo, hi)
                ),
            );
        } else if v < lo || v > hi {
            self.fail(
                path.to_string(),
                format!(
                    "out of range: got {}; allowed: {}",
                    show(v),
                    describe(lo, hi)
                ),
            );
        }
    }

    pub(super) fn unit(&mut self, path: impl Display, v: f64) {
        self.range(path, v, 0.0, 1.0);
    }

    /// A count from `lo` to `hi` (quarters, CCGs, replications).
    pub(super) fn count(&mut self, path: impl Display, v: u64, lo: u64, hi: u64, unit: &str) {
        if v < lo || v > hi {
            self.fail(
                path.to_string(),
                format!("out of range: got {v}; allowed: {lo} to {hi} {unit}"),
            );
        }
    }

    pub(super) fn normal(&mut self, path: impl Display, n: &Normal) {
        self.range(format_args!("{path}.mean"), n.mean, 0.0, 1e6);
        self.range(format_args!("{path}.sd"), n.sd, 0.0, 1e6);
    }

    pub(super) fn id(&mut self, path: impl Display, id: &str) {
        if !is_id(id) {
            self.fail(
                path.to_string(),
                format!("invalid id `{id}`; allowed: letters, digits, `-` and `_`"),
            );
        }
    }

    /// Ids that must be well formed and unique: the `i`th id's path is `path(i)`.
    pub(super) fn unique<'a, P: Display>(
        &mut self,
        what: &str,
        path: impl Fn(usize) -> P,
        ids: impl Iterator<Item = &'a str>,
    ) -> BTreeSet<&'a str> {
        let mut seen = BTreeMap::new();
        for (i, id) in ids.enumerate() {
            if !is_id(id) {
                self.id(path(i), id);
            }
            if let Some(first) = seen.insert(id, i) {
                self.fail(
                    path(i).to_string(),
                    format!(
                        "duplicate {what} id `{id}` (first defined at {}); ids must be unique",
                        path(first)
                    ),
                );
            }
        }
        seen.into_keys().collect()
    }

    pub(super) fn reference(
        &mut self,
        path: impl Display,
        id: &str,
        known: &BTreeSet<&str>,
        what: &str,
    ) {
        if !known.contains(id) {
            let list: Vec<&str> = known.iter().copied().collect();
            let known = if list.is_empty() {
                format!("the scenario defines no {what}s")
            } else {
                format!("known {what}s: {}", list.join(", "))
            };
            self.fail(path.to_string(), format!("unknown {what} `{id}`; {known}"));
        }
    }
}

/// The path of a list's `i`th entry, `list[i]`, written out only when a check fails.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry(pub(super) &'static str, pub(super) usize);

impl Display for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}]", self.0, self.1)
    }
}

/// Letters, digits, `-` and `_`, at least one.
fn is_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn describe(lo: f64, hi: f64) -> String {
    match (lo.is_finite(), hi.is_finite()) {
        (true, true) => format!("a number from {} to {}", show(lo), show(hi)),
        (true, false) => format!("a number of at least {}", show(lo)),
        (false, true) => format!("a number of at most {}", show(hi)),
        (false, false) => "a finite number".into(),
    }
}

/// A number as a message shows it: in full when it reads well, with an exponent when it is huge
/// or tiny (`1e300`, not three hundred digits).
fn show(v: f64) -> String {
    if v != 0.0 && v.is_finite() && (v.abs() >= 1e15 || v.abs() < 1e-6) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}
