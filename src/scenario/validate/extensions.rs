//! Checks of the fields of MODEL.md section 10: nest dissimilarities, the hosting charge and the
//! synergy of voluntary mergers (`on_c` is an enum serde checks).

use super::super::limits::{MAX_ALLOWANCE, MIN_NEST_LAMBDA};
use super::super::schema::ScenarioFile;
use super::checker::Checker;

/// Adds the findings of the section 10 fields.
pub(super) fn check(c: &mut Checker, s: &ScenarioFile) {
    let n = &s.choice.nests;
    for (k, v) in [
        ("in_house", n.in_house),
        ("host_network", n.host_network),
        ("other_nhs", n.other_nhs),
        ("independent", n.independent),
    ] {
        // In (0, 1]; below the floor a nest already picks its best option, and U / lambda could
        // overflow.
        c.range(&format!("choice.nests.{k}"), v, MIN_NEST_LAMBDA, 1.0);
    }
    // Per head per year, like the running-cost allowance it comes out of.
    c.range(
        "finance.hosting_charge",
        s.finance.hosting_charge,
        0.0,
        MAX_ALLOWANCE,
    );
    let synergy = s.consolidation.synergy;
    c.range("consolidation.synergy", synergy, 0.0, 1.0);
    if synergy == 1.0 {
        c.fail(
            "consolidation.synergy",
            "must be below 1 (a merger cannot save every fixed cost); allowed: 0 up to, not \
             including, 1",
        );
    }
}
