//! Bad input: every problem names the file, the position where it can, the field path and what is
//! allowed, and never panics.

use csmarket::scenario::{Scenario, ScenarioError};

use super::SMALL;

/// Loads a variant of the small market and returns the rendered error.
fn error_of(text: &str) -> String {
    match Scenario::from_text("market.toml", text) {
        Ok(_) => panic!("expected the scenario to be rejected"),
        Err(e) => e.to_string(),
    }
}

fn edit(from: &str, to: &str) -> String {
    assert!(SMALL.contains(from), "fixture lacks {from:?}");
    SMALL.replacen(from, to, 1)
}

#[test]
fn unknown_key_is_rejected_with_position_and_expected_fields() {
    let e = error_of(&edit(
        "need_per_head = 1.6",
        "need_per_head = 1.6\nneed_per_haed = 2",
    ));
    assert!(e.starts_with("market.toml:"), "{e}");
    assert!(e.contains("unknown field `need_per_haed`"), "{e}");
    assert!(e.contains("need_per_head"), "lists the allowed fields: {e}");
    let line = SMALL
        .lines()
        .position(|l| l.contains("need_per_head = 1.6"))
        .unwrap()
        + 2;
    assert!(
        e.contains(&format!("market.toml:{line}:")),
        "names line {line}: {e}"
    );
}

#[test]
fn wrong_type_is_rejected_with_field_path() {
    let e = error_of(&edit("population = 250000", "population = \"many\""));
    assert!(e.contains("ccgs.list[0].population"), "{e}");
    assert!(e.contains("invalid type"), "{e}");
}

#[test]
fn missing_field_is_named() {
    let e = error_of(&edit("need_per_head = 1.6\n", ""));
    assert!(e.contains("missing field `need_per_head`"), "{e}");
    assert!(e.contains("services[0]"), "{e}");
}

#[test]
fn value_out_of_range_names_path_and_allowed_range() {
    let e = error_of(&edit("locality = 0.2", "locality = 1.7"));
    assert!(e.contains("services[0].locality"), "{e}");
    assert!(
        e.contains("out of range: got 1.7; allowed: a number from 0 to 1"),
        "{e}"
    );
    let line = SMALL
        .lines()
        .position(|l| l.contains("locality = 0.2"))
        .unwrap()
        + 1;
    assert!(
        e.contains(&format!("market.toml:{line}:")),
        "names line {line}: {e}"
    );
}

#[test]
fn nan_is_rejected() {
    let e = error_of(&edit("population = 250000", "population = nan"));
    assert!(e.contains("ccgs.list[0].population"), "{e}");
    assert!(e.contains("must be a finite number"), "{e}");
}

#[test]
fn negative_capacity_is_rejected_with_its_provider_path() {
    let e = error_of(&edit("capacity = 550000", "capacity = -5"));
    assert!(
        e.contains("providers[0].services.bi.capacity: out of range: got -5"),
        "{e}"
    );
}

#[test]
fn unknown_region_is_rejected_with_the_known_ones() {
    let e = error_of(&edit(
        "region = \"north\"\npopulation = 250000",
        "region = \"nowhere\"\npopulation = 250000",
    ));
    assert!(
        e.contains("ccgs.list[0].region: unknown region `nowhere`; known regions: north, south"),
        "{e}"
    );
}

#[test]
fn unknown_provider_named_as_host_or_member_is_rejected() {
    let e = error_of(&edit("host = \"north-a\"", "host = \"north-z\""));
    assert!(
        e.contains("ccgs.list[0].host: unknown local CSU `north-z`"),
        "{e}"
    );
    let e = error_of(&edit(
        "members = [\"north-a\", \"north-b\"]",
        "members = [\"north-a\", \"north-q\"]",
    ));
    assert!(
        e.contains("providers[3].members[1]: unknown provider `north-q`"),
        "{e}"
    );
}

#[test]
fn collaborative_lead_must_be_a_member() {
    let e = error_of(&edit("lead = \"north-a\"", "lead = \"south-a\""));
    assert!(
        e.contains(
            "providers[3].lead: lead `south-a` is not a member; allowed: one of north-a, north-b"
        ),
        "{e}"
    );
}

#[test]
fn configuration_changing_a_missing_field_is_rejected() {
    let e = error_of(&edit(
        "disable = [\"bi-north\"]",
        "disable = [\"bi-north\"]\nset = { \"services.bi.localty\" = 0.5 }",
    ));
    assert!(e.contains("in configuration `local`"), "{e}");
    assert!(e.contains("localty"), "{e}");
    let e = error_of(&edit(
        "disable = [\"bi-north\"]",
        "disable = [\"bi-north\"]\nremove = [\"providers.north-z\"]",
    ));
    assert!(e.contains("no field `north-z`"), "{e}");
}

#[test]
fn configuration_setting_a_value_out_of_range_is_rejected() {
    let e = error_of(&edit(
        "disable = [\"bi-north\"]",
        "disable = [\"bi-north\"]\nset = { \"services.bi.locality\" = 3.0 }",
    ));
    assert!(
        e.contains("in configuration `local`: services[0].locality: out of range"),
        "{e}"
    );
}

#[test]
fn duplicate_ids_are_rejected() {
    let e = error_of(&edit("id = \"n2\"", "id = \"n1\""));
    assert!(e.contains("duplicate CCG id `n1`"), "{e}");
}

#[test]
fn empty_market_is_rejected() {
    let start = SMALL.find("[[ccgs.list]]").unwrap();
    let end = SMALL.find("[[providers]]").unwrap();
    let text = format!("{}{}", &SMALL[..start], &SMALL[end..]);
    let e = error_of(&text);
    assert!(e.contains("the market has no CCGs"), "{e}");
}

#[test]
fn syntax_error_names_line_and_column() {
    let e = error_of(&edit("seed = 7", "seed = = 7"));
    let line = SMALL.lines().position(|l| l.contains("seed = 7")).unwrap() + 1;
    assert!(e.starts_with(&format!("market.toml:{line}:")), "{e}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = edit("locality = 0.2", "locality = 1.7").replacen(
        "lead = \"north-a\"",
        "lead = \"south-a\"",
        1,
    );
    let Err(ScenarioError::Invalid(problems)) = Scenario::from_text("market.toml", &text) else {
        panic!("expected problems")
    };
    assert_eq!(problems.len(), 2, "{problems:?}");
}

#[test]
fn unknown_configuration_lists_the_ones_that_exist() {
    let s = Scenario::from_text("market.toml", SMALL).unwrap();
    let e = s.resolve("nationl").unwrap_err().to_string();
    assert_eq!(
        e,
        "unknown configuration `nationl`; the scenario defines: local, collaborative, national"
    );
}

#[test]
fn a_ccgs_host_must_serve_its_region() {
    let e = error_of(&edit("host = \"north-a\"", "host = \"south-a\""));
    assert!(
        e.contains(
            "ccgs.list[0].host: host `south-a` serves region `south`, not the CCG's region `north`"
        ),
        "{e}"
    );
}

#[test]
fn first_quarter_must_be_a_calendar_quarter() {
    for bad in ["2013Q5", "April 2013", "13Q2", "2013Q"] {
        let e = error_of(&edit(
            "independence = 9",
            &format!("independence = 9\nfirst_quarter = \"{bad}\""),
        ));
        assert!(
            e.contains("scenario.first_quarter: must be a calendar quarter written YYYYQn"),
            "{e}"
        );
    }
}

#[test]
fn viability_survival_and_providers_are_checked() {
    let e = error_of(&format!("{SMALL}\n[viability]\nsurvival = 1.5\n"));
    assert!(
        e.contains("viability.survival: must be a probability in (0, 1], got 1.5"),
        "{e}"
    );
    let e = error_of(&format!(
        "{SMALL}\n[viability]\nproviders = [\"north-a\", \"nowhere\"]\n"
    ));
    assert!(
        e.contains("viability.providers[1]: names no provider of the scenario: \"nowhere\""),
        "{e}"
    );
    let e = error_of(&format!("{SMALL}\n[viability]\nsurvivl = 0.5\n"));
    assert!(e.contains("survivl"), "{e}");
}
