//! `checkpoints.csv`: the checkpoint diagnostics of one configuration in long form, one row per
//! provider, checkpoint and assurance domain (MODEL.md section 10).

use super::column::{Column, column};
use super::{layout, num, to_csv};
use crate::engine::DOMAINS;
use crate::experiment::Summary;

/// The columns of `checkpoints.csv`, in order: (name, unit, meaning).
const COLUMNS: [(&str, &str, &str); 19] = [
    ("config", "name", "the configuration run"),
    ("provider", "id", "the provider (its id in the scenario)"),
    (
        "checkpoint",
        "id",
        "the checkpoint (its id in the scenario)",
    ),
    (
        "rated_runs",
        "runs",
        "runs in which the provider was open and rated at this checkpoint",
    ),
    (
        "p_rated_a",
        P,
        "share of the rated runs in which it was rated A",
    ),
    (
        "p_rated_b",
        P,
        "share of the rated runs in which it was rated B",
    ),
    (
        "p_rated_c",
        P,
        "share of the rated runs in which it was rated C",
    ),
    (
        "domain",
        "customer, finance or capability",
        "the assurance domain of this row",
    ),
    (
        "threshold",
        "the domain's unit",
        "the value below which the domain fails at this checkpoint (customer: population \
         share of its targets buying or intending to buy from it; finance: projected margin for \
         the next year; capability: mean of its four standards)",
    ),
    (
        "p_failed",
        P,
        "share of the rated runs in which the domain failed",
    ),
    (
        "p_marginal",
        P,
        "share of the rated runs in which the domain passed within the marginal band of its threshold",
    ),
    (
        "value_mean",
        "the domain's unit",
        "mean over the rated runs of the domain's value",
    ),
    (
        "value_p05",
        "the domain's unit",
        "5th percentile over the rated runs of the domain's value",
    ),
    (
        "value_p50",
        "the domain's unit",
        "median over the rated runs of the domain's value",
    ),
    (
        "value_p95",
        "the domain's unit",
        "95th percentile over the rated runs of the domain's value",
    ),
    (
        "values_approximate",
        "true or false",
        "whether the value's quantiles come from a sketch (beyond 1,024 runs) rather than every value",
    ),
    (
        "most_common_failed_domains",
        "domains joined by +, or none",
        "the combination of failed domains seen in most rated runs",
    ),
    (
        "p_most_common_failed_domains",
        P,
        "share of the rated runs with that combination",
    ),
    ("runs", "runs", "the runs summarised"),
];

const P: &str = "probability (0 to 1)";

/// The columns of `checkpoints.csv`, for the data dictionary.
pub fn checkpoints_columns() -> Vec<Column> {
    COLUMNS
        .iter()
        .map(|(name, unit, meaning)| column(layout::CHECKPOINTS, name, unit, meaning))
        .collect()
}

/// `checkpoints.csv` of a summary: every provider and checkpoint, rated or not (probabilities are
/// of the runs in which the provider was rated there; empty when it never was).
pub fn checkpoints_csv(s: &Summary) -> anyhow::Result<Vec<u8>> {
    let mut rows = vec![COLUMNS.map(|(name, _, _)| name.to_string()).to_vec()];
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
