//! The checks validation is made of: ranges, counts, ids, uniqueness and references.

use std::collections::{BTreeMap, BTreeSet};

use super::super::schema::Normal;
use super::Finding;

/// Collects findings; each check says what was wrong and what is allowed.
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
    pub(super) fn range(&mut self, path: &str, v: f64, lo: f64, hi: f64) {
        if !v.is_finite() {
            self.fail(
                path,
                format!(
                    "must be a finite number, got {}; allowed: {}",
                    show(v),
                    describe(lo, hi)
                ),
            );
        } else if v < lo || v > hi {
            self.fail(
                path,
                format!(
                    "out of range: got {}; allowed: {}",
                    show(v),
                    describe(lo, hi)
                ),
            );
        }
    }

    pub(super) fn unit(&mut self, path: &str, v: f64) {
        self.range(path, v, 0.0, 1.0);
    }

    /// A count from `lo` to `hi` (quarters, CCGs, replications).
    pub(super) fn count(&mut self, path: &str, v: u64, lo: u64, hi: u64, unit: &str) {
        if v < lo || v > hi {
            self.fail(
                path,
                format!("out of range: got {v}; allowed: {lo} to {hi} {unit}"),
            );
        }
    }

    pub(super) fn normal(&mut self, path: &str, n: &Normal) {
        self.range(&format!("{path}.mean"), n.mean, 0.0, 1e6);
        self.range(&format!("{path}.sd"), n.sd, 0.0, 1e6);
    }

    pub(super) fn id(&mut self, path: &str, id: &str) {
        let ok = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            self.fail(
                path,
                format!("invalid id `{id}`; allowed: letters, digits, `-` and `_`"),
            );
        }
    }

    pub(super) fn unique<'a>(
        &mut self,
        what: &str,
        ids: impl Iterator<Item = (String, &'a str)>,
    ) -> BTreeSet<&'a str> {
        let mut seen = BTreeMap::new();
        for (path, id) in ids {
            self.id(&path, id);
            if let Some(first) = seen.insert(id, path.clone()) {
                self.fail(
                    path,
                    format!(
                        "duplicate {what} id `{id}` (first defined at {first}); ids must be unique"
                    ),
                );
            }
        }
        seen.into_keys().collect()
    }

    pub(super) fn reference(&mut self, path: &str, id: &str, known: &BTreeSet<&str>, what: &str) {
        if !known.contains(id) {
            let list: Vec<&str> = known.iter().copied().collect();
            let known = if list.is_empty() {
                format!("the scenario defines no {what}s")
            } else {
                format!("known {what}s: {}", list.join(", "))
            };
            self.fail(path, format!("unknown {what} `{id}`; {known}"));
        }
    }
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
