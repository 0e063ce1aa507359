//! Checks of calibration targets (`observed.targets`) and of uncertain parameters' prior ranges:
//! each kind of target takes the fields it needs and no others.

use std::collections::{BTreeMap, BTreeSet};

use super::super::load::BASE;
use super::super::schema::{ScenarioFile, Target, TargetKind};
use super::checker::{Checker, Entry};

/// Largest spend per head a target may state (£ per head per year).
const MAX_SPEND_PER_HEAD: f64 = 1e6;
/// Largest count of providers a target may state.
const MAX_PROVIDER_COUNT: f64 = 1e6;

/// Checks every target and every prior range.
pub(super) fn check(c: &mut Checker, s: &ScenarioFile, checkpoints: &BTreeSet<&str>) {
    let mut paths: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, u) in s.uncertain.iter().enumerate() {
        let at = Entry("uncertain", i);
        if let Some(j) = paths.insert(u.path.as_str(), i) {
            c.fail(
                format!("{at}.path"),
                format!(
                    "`{}` is already listed at uncertain[{j}]; list each parameter once",
                    u.path
                ),
            );
        }
        match (u.min, u.max) {
            (None, None) => {}
            (Some(lo), Some(hi)) => {
                c.range(format_args!("{at}.min"), lo, f64::MIN, f64::MAX);
                c.range(format_args!("{at}.max"), hi, f64::MIN, f64::MAX);
                if lo.is_finite() && hi.is_finite() && lo >= hi {
                    c.fail(
                        format!("{at}.max"),
                        format!(
                            "the prior range is empty: max ({hi}) must be greater than min ({lo})"
                        ),
                    );
                }
            }
            (Some(_), None) => c.fail(
                format!("{at}.max"),
                "missing; a prior range needs both `min` and `max`",
            ),
            (None, Some(_)) => c.fail(
                format!("{at}.min"),
                "missing; a prior range needs both `min` and `max`",
            ),
        }
    }

    let Some(o) = &s.observed else { return };
    let configurations: BTreeSet<&str> = if s.configurations.is_empty() {
        [BASE].into()
    } else {
        s.configurations.iter().map(|x| x.name.as_str()).collect()
    };
    let mut labels: BTreeMap<String, usize> = BTreeMap::new();
    for (i, t) in o.targets.iter().enumerate() {
        let at = Entry("observed.targets", i);
        if let Some(id) = &t.id {
            c.id(format_args!("{at}.id"), id);
        }
        if let Some(j) = labels.insert(t.label(), i) {
            c.fail(
                format!("{at}.kind"),
                format!(
                    "the same target as observed.targets[{j}] (`{}`); record each target once, or \
                     give them different ids",
                    t.label()
                ),
            );
        }
        if !(t.tolerance.is_finite() && t.tolerance > 0.0) {
            c.fail(
                format!("{at}.tolerance"),
                format!(
                    "got {}; allowed: a finite number greater than 0 (how far off counts as one unit)",
                    t.tolerance
                ),
            );
        }
        if t.source.trim().is_empty() {
            c.fail(
                format!("{at}.source"),
                "empty; say where the figure comes from (publication, date, table)",
            );
        }
        if let Some(cf) = &t.configuration {
            c.reference(
                format_args!("{at}.configuration"),
                cf,
                &configurations,
                "configuration",
            );
        }
        fields(c, at, t, s.scenario.periods, checkpoints);
    }
}

/// The fields each kind needs and allows, and the range of its value.
fn fields(c: &mut Checker, at: Entry, t: &Target, periods: u32, checkpoints: &BTreeSet<&str>) {
    let kind = t.kind.as_str();
    let (needs, allows): (&[&str], &[&str]) = match t.kind {
        TargetKind::RatingCount => (&["checkpoint", "rating"], &["provider_kind"]),
        TargetKind::IntentionShare => (&["destination"], &[]),
        TargetKind::SpendPerHead => (&["quarter"], &["to"]),
        TargetKind::OpenProviders => (&["quarter"], &["provider_kind"]),
        TargetKind::InHouseShare => (&["quarter"], &[]),
    };
    let present = [
        ("checkpoint", t.checkpoint.is_some()),
        ("rating", t.rating.is_some()),
        ("provider_kind", t.provider_kind.is_some()),
        ("destination", t.destination.is_some()),
        ("quarter", t.quarter.is_some()),
        ("to", t.to.is_some()),
    ];
    for (field, is) in present {
        if needs.contains(&field) && !is {
            c.fail(
                format!("{at}.{field}"),
                format!("missing; a `{kind}` target needs {}", needs.join(" and ")),
            );
        } else if is && !needs.contains(&field) && !allows.contains(&field) {
            let takes: Vec<&str> = needs.iter().chain(allows).copied().collect();
            c.fail(
                format!("{at}.{field}"),
                format!(
                    "a `{kind}` target takes no `{field}`; it takes: {}",
                    takes.join(", ")
                ),
            );
        }
    }
    if let Some(cp) = &t.checkpoint {
        c.reference(
            format_args!("{at}.checkpoint"),
            cp,
            checkpoints,
            "checkpoint",
        );
    }
    if let Some(q) = t.quarter {
        let last = periods.saturating_sub(1);
        c.count(
            format_args!("{at}.quarter"),
            q.into(),
            1,
            last.into(),
            "(quarters after planning)",
        );
    }
    let value = format_args!("{at}.value");
    match t.kind {
        TargetKind::RatingCount | TargetKind::OpenProviders => {
            c.range(value, t.value, 0.0, MAX_PROVIDER_COUNT)
        }
        TargetKind::IntentionShare | TargetKind::InHouseShare => c.unit(value, t.value),
        TargetKind::SpendPerHead => c.range(value, t.value, 0.0, MAX_SPEND_PER_HEAD),
    }
}
