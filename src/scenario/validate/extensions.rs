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
        c.range(format_args!("choice.nests.{k}"), v, MIN_NEST_LAMBDA, 1.0);
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

#[cfg(test)]
mod tests {
    use crate::scenario::Scenario;
    use crate::scenario::schema::OnC;

    const SMALL: &str = include_str!("../../../tests/fixtures/small.toml");

    /// The small fixture with `tables` added before its regions and `checkpoint` after the first
    /// checkpoint's period.
    fn text(tables: &str, checkpoint: &str) -> String {
        SMALL
            .replacen("[[regions]]", &format!("{tables}\n\n[[regions]]"), 1)
            .replacen("period = 0\n", &format!("period = 0\n{checkpoint}"), 1)
    }

    fn error_of(tables: &str, checkpoint: &str) -> String {
        match Scenario::from_text("small.toml", &text(tables, checkpoint)) {
            Ok(_) => panic!("accepted:\n{tables}\n{checkpoint}"),
            Err(e) => e.to_string(),
        }
    }

    fn line_of(text: &str, needle: &str) -> usize {
        1 + text.lines().position(|l| l.contains(needle)).unwrap()
    }

    #[test]
    fn section_10_fields_out_of_range_are_refused_with_line_column_and_allowed_range() {
        for (tables, needle, expected) in [
            (
                "[choice.nests]\nother_nhs = 0.0",
                "other_nhs = ",
                "choice.nests.other_nhs: out of range: got 0; allowed: a number from 0.001 to 1",
            ),
            (
                "[choice.nests]\nhost_network = 1.5",
                "host_network = ",
                "choice.nests.host_network: out of range: got 1.5; allowed: a number from 0.001 to 1",
            ),
            (
                "[choice.nests]\nin_house = nan",
                "in_house = ",
                "choice.nests.in_house: must be a finite number",
            ),
            (
                "[consolidation]\nsynergy = 1.0",
                "synergy = ",
                "consolidation.synergy: must be below 1",
            ),
            (
                "[consolidation]\nsynergy = -0.1",
                "synergy = ",
                "consolidation.synergy: out of range: got -0.1; allowed: a number from 0 to 1",
            ),
            (
                "[finance]\nhosting_charge = -0.5",
                "hosting_charge = ",
                "finance.hosting_charge: out of range: got -0.5; allowed: a number from 0 to 10000",
            ),
            (
                "[finance]\nhosting_charge = 1e300",
                "hosting_charge = ",
                "finance.hosting_charge: out of range: got 1e300",
            ),
        ] {
            let e = error_of(tables, "");
            let line = line_of(&text(tables, ""), needle);
            assert!(
                e.contains(&format!("small.toml:{line}:")) && e.contains(expected),
                "{tables}:\n{e}"
            );
        }
    }

    #[test]
    fn unknown_on_c_and_misspelt_section_10_fields_are_refused() {
        let e = error_of("", "on_c = \"explode\"\n");
        assert!(
            e.contains("checkpoints[0].on_c") && e.contains("stop") && e.contains("merge"),
            "{e}"
        );
        let e = error_of("[choice.nests]\nother = 0.5", "");
        assert!(e.contains("choice.nests") && e.contains("other_nhs"), "{e}");
        let e = error_of("[consolidation]\nsynergie = 0.5", "");
        assert!(e.contains("consolidation") && e.contains("synergy"), "{e}");
    }

    #[test]
    fn section_10_fields_reach_the_resolved_scenario() {
        let tables = "[choice.nests]\nother_nhs = 0.3\n\n[consolidation]\nenabled = true\n\
                      synergy = 0.2\n\n[finance]\nhosting_charge = 0.5";
        let s = Scenario::from_text("small.toml", &text(tables, "on_c = \"merge\"\n")).unwrap();
        let m = s.resolve("local").unwrap();
        assert_eq!(m.choice.nests.lambdas(), [1.0, 1.0, 0.3, 1.0]);
        assert!(m.consolidation.enabled);
        assert_eq!(m.consolidation.synergy, 0.2);
        assert_eq!(m.finance.hosting_charge, 0.5);
        assert_eq!(m.checkpoints[0].on_c, OnC::Merge);
        assert_eq!(m.checkpoints[1].on_c, OnC::Stop);
        // A configuration can set each of them by path, and `uncertain` can name them.
        let uncertain = "uncertain = [\"choice.nests.other_nhs\", \"consolidation.synergy\"]\n";
        let text = format!("{uncertain}{}", text(tables, "")).replacen(
            "name = \"local\"\n",
            "name = \"local\"\nset = { \"choice.nests.other_nhs\" = 0.6, \
             \"consolidation.synergy\" = 0.1, \"finance.hosting_charge\" = 1, \
             \"checkpoints.cp2.on_c\" = \"merge\" }\n",
            1,
        );
        let s = Scenario::from_text("small.toml", &text).unwrap();
        let m = s.resolve("local").unwrap();
        assert_eq!(m.choice.nests.other_nhs, 0.6);
        assert_eq!(m.consolidation.synergy, 0.1);
        assert_eq!(m.finance.hosting_charge, 1.0);
        assert_eq!(m.checkpoints[0].on_c, OnC::Merge);
    }
}
