//! Bad input that could hurt (issue 8, item 6, the input half): each was found by trying the tool
//! as a hostile user would, and each is refused with exit 2, a position where the format allows
//! one, and what is allowed.

use std::time::Instant;

use csmarket::scenario::limits::{
    MAX_FILE_BYTES, MAX_GENERATED_CCGS, MAX_NESTING, MAX_REPLICATIONS, MAX_THREADS,
};
use csmarket::scenario::{Scenario, ScenarioError};

use crate::core::SMALL;
use crate::util::{csmarket, fixture};

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

/// The 1-based line of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

/// The small market with two more configurations, the second one broken by `broken`.
fn with_bad_configuration(broken: &str) -> String {
    edit(
        "[[configurations]]\nname = \"collaborative\"\n",
        &format!(
            "[[configurations]]\nname = \"collaborative\"\n\n[[configurations]]\nname = \"broken\"\n{broken}\n"
        ),
    )
}

#[test]
fn validate_refuses_a_configuration_that_disables_a_host_csu_with_its_line() {
    let text = with_bad_configuration("disable = [\"south-a\"]");
    let e = error_of(&text);
    let line = line_of(&text, "name = \"broken\"") - 1;
    assert!(
        e.contains(&format!(
            "market.toml:{line}:1: in configuration `broken`: ccgs.list[4].host: host `south-a` is disabled"
        )),
        "{e}"
    );
}

#[test]
fn validate_refuses_a_disabled_member_of_an_enabled_collaborative() {
    let text = with_bad_configuration("disable = [\"north-b\"]");
    let e = error_of(&text);
    let line = line_of(&text, "name = \"broken\"") - 1;
    assert!(
        e.contains(&format!(
            "market.toml:{line}:1: in configuration `broken`: providers[3].members[1]: member `north-b` is disabled, but collaborative `bi-north` is enabled"
        )),
        "{e}"
    );
}

#[test]
fn validate_run_and_compare_refuse_a_bad_configuration_before_writing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.toml");
    std::fs::write(&file, with_bad_configuration("disable = [\"south-a\"]")).unwrap();
    let out = csmarket().arg("validate").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in configuration `broken`"), "{err}");
    for command in ["run", "compare"] {
        let outdir = dir.path().join(command);
        let out = csmarket()
            .args([command, "-n", "2", "--out"])
            .arg(&outdir)
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{command}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("host `south-a` is disabled"),
            "{command}: {err}"
        );
        // The good configurations (`local`, `collaborative`) come first and are not written either.
        assert!(!outdir.exists(), "{command} wrote {}", outdir.display());
    }
}

#[test]
fn counts_above_their_caps_are_refused_with_line_and_allowed_range() {
    let generated = edit(
        "[[ccgs.list]]\nid = \"n1\"",
        "[ccgs.generate]\ncount = 2147483648\ntotal_population = 1e6\n\n[[ccgs.list]]\nid = \"n1\"",
    );
    let e = error_of(&generated);
    let line = line_of(&generated, "count = 2147483648");
    assert!(
        e.contains(&format!("market.toml:{line}:"))
            && e.contains(&format!(
                "ccgs.generate.count: out of range: got 2147483648; allowed: 1 to {MAX_GENERATED_CCGS} CCGs"
            )),
        "{e}"
    );
    for (field, value) in [
        ("contract_length", "4294967295"),
        ("notice_periods", "4000000000"),
    ] {
        let text = edit(
            "[[regions]]",
            &format!("[rules]\n{field} = {value}\n\n[[regions]]"),
        );
        let e = error_of(&text);
        let line = line_of(&text, &format!("{field} = "));
        assert!(
            e.contains(&format!(
                "market.toml:{line}:{}: rules.{field}: out of range: got {value}; allowed: ",
                field.len() + 4
            )) && e.contains("to 400 quarters"),
            "{e}"
        );
    }
    let e = error_of(&edit("replications = 50", "replications = 4000000000"));
    assert!(
        e.contains(&format!("allowed: 1 to {MAX_REPLICATIONS} replications")),
        "{e}"
    );
}

#[test]
fn absurd_but_finite_numbers_are_refused_by_range() {
    for (from, to, path) in [
        (
            "need_per_head = 1.6",
            "need_per_head = 1e300",
            "services[0].need_per_head",
        ),
        (
            "population = 250000",
            "population = 1e300",
            "ccgs.list[0].population",
        ),
        (
            "fixed_cost = 120000",
            "fixed_cost = 1e300",
            "services[0].in_house.fixed_cost",
        ),
        (
            "price = 1.15",
            "price = 1e300",
            "services[0].independent.price",
        ),
        (
            "capacity = 550000",
            "capacity = 1e300",
            "providers[0].services.bi.capacity",
        ),
        (
            "coordination_cost = 20000",
            "coordination_cost = 1e300",
            "providers[3].coordination_cost",
        ),
    ] {
        let text = edit(from, to);
        let e = error_of(&text);
        let line = line_of(&text, to);
        assert!(
            e.contains(&format!("market.toml:{line}:"))
                && e.contains(&format!(
                    "{path}: out of range: got 1e300; allowed: a number from"
                )),
            "{e}"
        );
    }
}

#[test]
fn threads_replications_and_exploration_sizes_above_their_caps_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let refused = |args: &[&str], says: &str| {
        let started = Instant::now();
        let out = csmarket()
            .args(args)
            .arg("--out")
            .arg(dir.path())
            .arg(fixture())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        // Refused at once, not after spawning threads or allocating points.
        assert!(started.elapsed().as_secs() < 30, "{args:?}");
    };
    refused(
        &["run", "--threads", "100000"],
        &format!("--threads 100000: at most {MAX_THREADS} worker threads"),
    );
    refused(
        &["run", "-n", "1000000001"],
        "--replications 1000000001: must be from 1 to 1000000000",
    );
    refused(&["compare", "-n", "0"], "must be from 1 to 1000000000");
    refused(
        &[
            "sweep",
            "--config",
            "national",
            "--param",
            "services.bi.locality=0:1:100000000000",
        ],
        "the count 100000000000 is more than 10000",
    );
    refused(
        &[
            "sweep",
            "--config",
            "national",
            "--param",
            "services.bi.locality=0:1:1000",
            "--param",
            "services.comms.locality=0:1:1000",
        ],
        "the --param grid has 1000 x 1000 points; a sweep may have at most 10000",
    );
    refused(
        &[
            "sweep",
            "--config",
            "national",
            "--param",
            "services.bi.locality=0:1:3",
            "--refine",
            "--refine-steps",
            "4000000000",
        ],
        "--refine-steps 4000000000 is more than 52",
    );
    refused(
        &[
            "sensitivity",
            "--config",
            "national",
            "--all",
            "--levels",
            "1000000",
        ],
        "Morris levels must be even, from 2 to 100, got 1000000",
    );
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing written"
    );
    let out = csmarket()
        .args(["bench", "--threads", "1,100000", "-n", "1", fixture()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--threads 100000: at most 1024"), "{err}");
}

#[test]
fn a_sweep_over_many_values_checks_duplicates_in_one_pass() {
    // 10,000 distinct values and one repeated at the end: found without a scan per value.
    let mut values: Vec<String> = (0..9_999).map(|i| format!("{}", i as f64 / 1e4)).collect();
    values.push("0.5".into());
    let e = csmarket::explore::sweep::parse_spec(&values.join(",")).unwrap_err();
    assert_eq!(e, "the value 0.5 appears twice");
    assert_eq!(
        csmarket::explore::sweep::parse_spec("0,-0").unwrap_err(),
        "the value -0 appears twice"
    );
    assert_eq!(
        csmarket::explore::sweep::parse_spec("0:1:10000")
            .unwrap()
            .len(),
        10_000
    );
}

#[test]
fn scenario_paths_must_be_regular_files_of_bounded_size() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.toml");
    // A sparse file one byte over the cap: nothing is written to disk, nothing is read.
    std::fs::File::create(&big)
        .unwrap()
        .set_len(MAX_FILE_BYTES + 1)
        .unwrap();
    let cases = [
        (
            std::path::PathBuf::from("/dev/zero"),
            "/dev/zero: is a device, pipe or socket, not a regular file".to_string(),
        ),
        (
            dir.path().to_path_buf(),
            format!(
                "{}: is a directory, not a regular file",
                dir.path().display()
            ),
        ),
        (
            big.clone(),
            format!(
                "{}: the file is {} bytes; a scenario file may be at most {MAX_FILE_BYTES} bytes (64 MiB)",
                big.display(),
                MAX_FILE_BYTES + 1
            ),
        ),
    ];
    for (path, says) in cases {
        let out_dir = dir.path().join("out");
        for command in ["validate", "run"] {
            let mut cmd = csmarket();
            cmd.arg(command).arg(&path);
            if command == "run" {
                cmd.arg("--out").arg(&out_dir);
            }
            let out = cmd.output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{command} {}: {err}",
                path.display()
            );
            assert!(err.contains(&says), "{command}: {err}");
        }
        assert!(!out_dir.exists());
        assert!(matches!(
            Scenario::from_path(&path),
            Err(ScenarioError::Invalid(_))
        ));
    }
}

#[test]
fn invalid_utf8_is_named_by_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.toml");
    let at = SMALL.find("locality = 0.2").unwrap();
    let mut bytes = SMALL.as_bytes().to_vec();
    bytes.insert(at + 4, 0xff);
    std::fs::write(&file, &bytes).unwrap();
    let e = Scenario::from_path(&file).unwrap_err().to_string();
    let line = line_of(SMALL, "locality = 0.2");
    assert!(
        e.contains(&format!(
            ":{line}:5: invalid UTF-8 at byte {} (0xff); scenario files must be UTF-8 text",
            at + 4
        )),
        "{e}"
    );
}

#[test]
fn integers_too_large_and_deep_nesting_are_named_by_line() {
    let text = edit("seed = 7", "seed = 99999999999999999999999");
    let e = error_of(&text);
    assert!(e.contains("market.toml:6:8: scenario.seed"), "{e}");
    let text = edit("periods = 17", "periods = 99999999999");
    let e = error_of(&text);
    assert!(
        e.contains("market.toml:8:11: scenario.periods: invalid value"),
        "{e}"
    );
    // A dotted key 100,000 deep: refused at its line, without recursion.
    let deep = format!("{SMALL}\n[x]\n{} = 1\n", vec!["a"; 100_000].join("."));
    let e = error_of(&deep);
    let line = SMALL.lines().count() + 3;
    assert!(
        e.contains(&format!("market.toml:{line}:"))
            && e.contains(&format!("nest deeper than {MAX_NESTING} levels")),
        "{e}"
    );
    let arrays = format!("{SMALL}\nx = {}{}\n", "[".repeat(40), "]".repeat(40));
    let e = error_of(&arrays);
    assert!(e.contains(&format!("market.toml:{}:", line - 1)), "{e}");
}

#[test]
fn missing_regions_and_services_name_a_line() {
    let no_regions = SMALL.replace(
        "[[regions]]\nid = \"north\"\n\n[[regions]]\nid = \"south\"\n",
        "",
    );
    let e = error_of(&no_regions);
    assert!(
        e.contains("market.toml:1:1: regions: the market has no regions"),
        "{e}"
    );
    let e = error_of(&edit(
        "[[services]]\nid = \"bi\"",
        "[[services]]\nid = \"bix\"",
    ));
    let line = line_of(SMALL, "services.bi = {");
    assert!(
        e.contains(&format!("market.toml:{line}:")) && e.contains("unknown service `bi`"),
        "{e}"
    );
}

#[test]
fn conflicting_observed_ratings_are_refused() {
    let text = edit(
        "  { checkpoint = \"cp2\", provider = \"national-comms\", rating = \"C\" },",
        "  { checkpoint = \"cp2\", provider = \"national-comms\", rating = \"C\" },\n  { checkpoint = \"cp2\", provider = \"north-a\", rating = \"B\" },",
    );
    let e = error_of(&text);
    let line = line_of(&text, "provider = \"north-a\", rating = \"B\"");
    assert!(
        e.contains(&format!(
            "market.toml:{line}:56: observed.ratings[2].rating: `north-a` is rated B at checkpoint `cp2` here but A at observed.ratings[0]"
        )),
        "{e}"
    );
    let twice = edit(
        "  { checkpoint = \"cp2\", provider = \"national-comms\", rating = \"C\" },",
        "  { checkpoint = \"cp2\", provider = \"national-comms\", rating = \"C\" },\n  { checkpoint = \"cp2\", provider = \"north-a\", rating = \"A\" },",
    );
    let e = error_of(&twice);
    assert!(
        e.contains("observed.ratings[2].rating: `north-a` at checkpoint `cp2` is already recorded at observed.ratings[0]"),
        "{e}"
    );
}

#[test]
fn thousands_of_misspelt_paths_are_all_reported_quickly() {
    let paths: Vec<String> = (0..2000)
        .map(|i| format!("\"providers.north-a.services.bi.capacty{i}\""))
        .collect();
    let text = format!("uncertain = [{}]\n{SMALL}", paths.join(", "));
    let started = Instant::now();
    let e = Scenario::from_text("market.toml", &text).unwrap_err();
    assert_eq!(e.problems().len(), 2000);
    assert!(
        e.problems()[0]
            .message
            .contains("did you mean `providers.north-a.services.bi.capacity`"),
        "{}",
        e.problems()[0]
    );
    assert!(
        e.problems()
            .iter()
            .all(|p| p.position.is_some_and(|(line, _)| line == 1))
    );
    // The suggestion work is bounded (see scenario::suggest); a generous bound for slow machines.
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
}

#[test]
fn help_states_the_caps() {
    let help = |args: &[&str]| {
        let out = csmarket().args(args).arg("--help").output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let run = help(&["run"]);
    assert!(run.contains("1 to 1000000000"), "{run}");
    assert!(run.contains("at most 1024"), "{run}");
    assert!(run.contains("at most 64 MiB"), "{run}");
    let sweep = help(&["sweep"]);
    assert!(sweep.contains("at most 10000 points"), "{sweep}");
    assert!(sweep.contains("at most 52"), "{sweep}");
    let sensitivity = help(&["sensitivity"]);
    assert!(sensitivity.contains("2 to 100"), "{sensitivity}");
    assert!(sensitivity.contains("at most 10000"), "{sensitivity}");
    assert!(help(&["bench"]).contains("each 1 to 1024"));
}

#[test]
fn generate_refuses_sizes_above_its_caps_before_allocating() {
    let out = csmarket()
        .args([
            "generate",
            "--ccgs",
            "4000000000",
            "--providers",
            "4000000000",
            "--regions",
            "1",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("at most 10000000 CCGs and 50000 local CSUs"),
        "{err}"
    );
}
