//! `checkpoints.csv`: the checkpoint diagnostics of one configuration in long form, one row per
//! provider, checkpoint and assurance domain (MODEL.md section 10).

use super::{num, to_csv};
use crate::engine::DOMAINS;
use crate::experiment::Summary;

/// The columns of `checkpoints.csv`, in order.
pub const COLUMNS: [&str; 19] = [
    "config",
    "provider",
    "checkpoint",
    "rated_runs",
    "p_rated_a",
    "p_rated_b",
    "p_rated_c",
    "domain",
    "threshold",
    "p_failed",
    "p_marginal",
    "value_mean",
    "value_p05",
    "value_p50",
    "value_p95",
    "values_approximate",
    "most_common_failed_domains",
    "p_most_common_failed_domains",
    "runs",
];

/// `checkpoints.csv` of a summary: every provider and checkpoint, rated or not (probabilities are
/// of the runs in which the provider was rated there; empty when it never was).
pub fn checkpoints_csv(s: &Summary) -> anyhow::Result<Vec<u8>> {
    let mut rows = vec![COLUMNS.map(String::from).to_vec()];
    for c in &s.diagnostics.cells {
        let shares = c.rating_shares();
        let common = c.most_common_failure();
        for (d, name) in DOMAINS.iter().enumerate() {
            let x = &c.domains[d];
            let (failed, marginal) = c.domain_shares(d).unzip();
            let [q05, q50, q95] = x.value.quantiles([0.05, 0.5, 0.95]);
            rows.push(vec![
                s.configuration.clone(),
                c.provider.clone(),
                c.checkpoint.clone(),
                c.rated.to_string(),
                num(shares.map(|r| r[0])),
                num(shares.map(|r| r[1])),
                num(shares.map(|r| r[2])),
                name.to_string(),
                num(Some(x.threshold)),
                num(failed),
                num(marginal),
                num(x.value.mean()),
                num(q05),
                num(q50),
                num(q95),
                x.value.is_approximate().to_string(),
                common.as_ref().map_or_else(String::new, |(names, _)| {
                    if names.is_empty() {
                        "none".into()
                    } else {
                        names.join("+")
                    }
                }),
                num(common.as_ref().map(|c| c.1)),
                s.replications.to_string(),
            ]);
        }
    }
    to_csv(rows)
}
