//! Why providers are stopped, in words: for each provider a checkpoint stops in enough runs, which
//! assurance domains failed, by how much, and how often (from the checkpoint diagnostics).

use crate::charts::Labels;
use crate::experiment::Summary;
use crate::experiment::checkpoints::CheckpointDiagnostics;
use crate::stats::Stat;

/// Providers stopped in fewer runs than this are not explained one by one.
const EXPLAIN_FROM: f64 = 0.1;
/// Domains that fail in fewer rated runs than this are left out of a sentence.
const DOMAIN_FROM: f64 = 0.01;

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// "mean, 5-95% lo-hi" of a domain's value, shown with `fmt`.
fn spread(v: &Stat, fmt: &dyn Fn(f64) -> String) -> String {
    let [lo, hi] = v.quantiles([0.05, 0.95]);
    let approx = if v.is_approximate() { "≈" } else { "" };
    match (v.mean(), lo, hi) {
        (Some(m), Some(lo), Some(hi)) => {
            format!("{}, 5-95% {approx}{} to {}", fmt(m), fmt(lo), fmt(hi))
        }
        _ => "-".into(),
    }
}

/// What failed, for one domain of one provider at one checkpoint: e.g. "too few customers
/// (customer share 3%, 5-95% 2-4%, against 50%) in 100%".
fn domain_clause(c: &CheckpointDiagnostics, d: usize, intended: bool) -> Option<(f64, String)> {
    let (failed, _) = c.domain_shares(d)?;
    if failed < DOMAIN_FROM {
        return None;
    }
    let x = &c.domains[d];
    let percent = |v: f64| format!("{:.0}%", v * 100.0);
    let text = match d {
        0 => format!(
            "too few customers ({}customer share {}, against {})",
            if intended { "intended " } else { "" },
            spread(&x.value, &percent),
            percent(x.threshold)
        ),
        1 => format!(
            "margin below {} (projected margin {})",
            percent(x.threshold),
            spread(&x.value, &percent)
        ),
        _ => format!(
            "capability below {:.2} (capability {})",
            x.threshold,
            spread(&x.value, &|v| format!("{v:.2}"))
        ),
    };
    Some((failed, format!("{text} in {}", pct(failed))))
}

/// One sentence for a provider stopped at a checkpoint in `stopped` of the runs.
fn sentence(
    name: &str,
    checkpoint: &str,
    stopped: f64,
    c: &CheckpointDiagnostics,
    intended: bool,
) -> String {
    // In the domains' order (customer, finance, capability): the same reading in every sentence.
    let clauses: Vec<(f64, String)> = (0..c.domains.len())
        .filter_map(|d| domain_clause(c, d, intended))
        .collect();
    let mut s = format!(
        "{name} is stopped at {checkpoint} in {} of runs",
        pct(stopped)
    );
    if clauses.is_empty() {
        s.push_str(": no domain failed; it was rated B where an A was needed");
    } else {
        s.push_str(": ");
        s.push_str(
            &clauses
                .into_iter()
                .map(|c| c.1)
                .collect::<Vec<_>>()
                .join("; "),
        );
    }
    if let Some((names, share)) = c.most_common_failure() {
        if names.len() > 1 {
            s.push_str(&format!(
                "; most often {} failed together ({})",
                names.join(" and "),
                pct(share)
            ));
        }
    }
    s.push('.');
    s
}

/// Why a configuration's providers are stopped: one sentence per provider and checkpoint that
/// stops it in at least 10% of runs, the most often stopped first, with that share.
pub fn why_findings(s: &Summary, labels: &Labels) -> Vec<(f64, String)> {
    let mut out = Vec::new();
    let runs = s.replications;
    if runs == 0 {
        return out;
    }
    for (k, cp) in s.checkpoints.iter().enumerate() {
        for p in &s.providers {
            let Some(c) = s.diagnostics.get(&p.id, k) else {
                continue;
            };
            let stopped = c.ratings[2] as f64 / runs as f64;
            if stopped < EXPLAIN_FROM {
                continue;
            }
            // A checkpoint of the planning quarter judges intentions, not contracts.
            let intended = labels
                .checkpoints
                .iter()
                .any(|(id, _, t)| id == cp && *t == 0);
            out.push((
                stopped,
                format!(
                    "In {}, {}",
                    s.configuration,
                    sentence(&p.name, &labels.checkpoint(cp), stopped, c, intended)
                ),
            ));
        }
    }
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    out
}
