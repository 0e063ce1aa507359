//! Mutated scenarios (issue 8, item 6): the shipped scenarios and the test market, changed by bytes
//! (flip, insert, delete) and by structure (a number made huge, negative, not a number or a
//! string; a line dropped; a table duplicated), a few thousand in all. Loading, validating and
//! compiling never panics; every refusal names a line; every accepted mutant compiles in every
//! configuration (validation leaves nothing for `run` to refuse) and simulates one replication
//! (quarters capped so each case stays fast) without panicking.

use std::panic::{AssertUnwindSafe, catch_unwind};

use csmarket::engine;
use csmarket::model::Market;
use csmarket::scenario::{Scenario, ScenarioError};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// The scenarios mutated, with the number of cases each gets (the large one costs the most).
const SEEDS: [(&str, &str, u32); 3] = [
    ("small.toml", include_str!("fixtures/small.toml"), 1500),
    (
        "tutorial.toml",
        include_str!("../scenarios/tutorial.toml"),
        700,
    ),
    (
        "england-2012.toml",
        include_str!("../scenarios/england-2012.toml"),
        300,
    ),
];

/// Values a number is replaced by: beyond every cap, negative, not a number, not a number at all.
const HOSTILE: [&str; 14] = [
    "1e300",
    "-1e300",
    "9223372036854775807",
    "-9223372036854775808",
    "4294967296",
    "2147483648",
    "-1",
    "0",
    "nan",
    "inf",
    "-inf",
    "1e-300",
    "\"x\"",
    "99999999999999999999999",
];

/// One change to a scenario's bytes.
#[derive(Debug, Clone)]
enum Mutation {
    /// XOR one byte with a non-zero mask.
    Flip(usize, u8),
    /// Insert a byte.
    Insert(usize, u8),
    /// Delete a byte.
    Delete(usize),
    /// Replace the n-th number with a hostile value.
    Number(usize, usize),
    /// Drop the n-th line.
    DropLine(usize),
    /// Append a copy of the n-th table (from its header to the next).
    DuplicateTable(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(i, m)| Mutation::Flip(i, m)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), 0..HOSTILE.len()).prop_map(|(i, v)| Mutation::Number(i, v)),
        any::<usize>().prop_map(Mutation::DropLine),
        any::<usize>().prop_map(Mutation::DuplicateTable),
    ]
}

/// Byte ranges of the numbers written as values (after `= ` or in arrays), outside comments.
fn numbers(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut comment = false;
    while i < b.len() {
        match b[i] {
            b'#' => comment = true,
            b'\n' => comment = false,
            c if !comment
                && (c.is_ascii_digit() || c == b'-')
                && i > 0
                && matches!(b[i - 1], b' ' | b'[' | b'=') =>
            {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b"._-+".contains(&b[i])) {
                    i += 1;
                }
                out.push((start, i));
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

fn apply(text: &str, m: &Mutation) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    let n = bytes.len();
    match *m {
        Mutation::Flip(i, mask) => bytes[i % n] ^= mask,
        Mutation::Insert(i, b) => bytes.insert(i % (n + 1), b),
        Mutation::Delete(i) => {
            bytes.remove(i % n);
        }
        Mutation::Number(i, v) => {
            let found = numbers(text);
            if !found.is_empty() {
                let (a, b) = found[i % found.len()];
                bytes.splice(a..b, HOSTILE[v].bytes());
            }
        }
        Mutation::DropLine(i) => {
            let lines: Vec<&str> = text.lines().collect();
            let drop = i % lines.len();
            let kept: Vec<&str> = lines
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != drop)
                .map(|(_, l)| *l)
                .collect();
            bytes = kept.join("\n").into_bytes();
        }
        Mutation::DuplicateTable(i) => {
            let lines: Vec<&str> = text.lines().collect();
            let headers: Vec<usize> = (0..lines.len())
                .filter(|&j| lines[j].starts_with('['))
                .collect();
            if !headers.is_empty() {
                let h = headers[i % headers.len()];
                let end = (h + 1..lines.len())
                    .find(|&j| lines[j].starts_with('['))
                    .unwrap_or(lines.len());
                bytes.push(b'\n');
                bytes.extend(lines[h..end].join("\n").bytes());
                bytes.push(b'\n');
            }
        }
    }
    bytes
}

/// Whether a refusal names a line: each problem of an invalid scenario has a position.
fn names_a_line(e: &ScenarioError) -> bool {
    match e {
        ScenarioError::Invalid(problems) => {
            !problems.is_empty() && problems.iter().all(|p| p.position.is_some())
        }
        _ => false,
    }
}

/// Loads a mutant; for an accepted one compiles every configuration and simulates one
/// replication of each over at most 6 quarters. Returns what went wrong, if anything.
fn check(name: &str, bytes: Vec<u8>) -> Result<Verdict, String> {
    let scenario = match Scenario::from_bytes(name, bytes) {
        Ok(s) => s,
        Err(e) if names_a_line(&e) => return Ok(Verdict::Refused),
        Err(e) => return Err(format!("refusal names no line: {e}")),
    };
    for c in scenario.configuration_names() {
        let resolved = scenario
            .resolve(&c)
            .map_err(|e| format!("accepted, but configuration `{c}` does not resolve: {e}"))?;
        let mut market = Market::compile(&resolved, &c)
            .map_err(|e| format!("accepted, but `run` would refuse `{c}`: {e}"))?;
        // Enough quarters to plan, contract and rate; few enough that each case is quick.
        market.periods = market.periods.min(6);
        market.checkpoints.retain(|k| k.period < market.periods);
        if market.ccgs.len() <= 5_000 {
            let r = engine::simulate(&market, 0);
            for (what, v) in [
                ("cost_per_head", r.cost_per_head),
                ("in_house_share", r.in_house_share),
                ("unmet_share", r.unmet_share),
            ] {
                if !v.is_finite() {
                    return Err(format!("configuration `{c}`: {what} is {v}"));
                }
            }
        }
    }
    Ok(Verdict::Accepted)
}

/// What became of a mutant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Accepted,
    Refused,
}

#[test]
fn mutated_scenarios_never_panic_and_every_refusal_names_a_line() {
    for (name, text, cases) in SEEDS {
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        let counts = std::cell::Cell::new((0u32, 0u32));
        runner
            .run(&mutation(), |m| {
                let bytes = apply(text, &m);
                let outcome = catch_unwind(AssertUnwindSafe(|| check(name, bytes)));
                let (accepted, refused) = counts.get();
                match outcome {
                    Ok(Ok(Verdict::Accepted)) => {
                        counts.set((accepted + 1, refused));
                        Ok(())
                    }
                    Ok(Ok(Verdict::Refused)) => {
                        counts.set((accepted, refused + 1));
                        Ok(())
                    }
                    Ok(Err(why)) => Err(TestCaseError::fail(format!("{name} {m:?}: {why}"))),
                    Err(_) => Err(TestCaseError::fail(format!("{name} {m:?}: panicked"))),
                }
            })
            .unwrap_or_else(|e| panic!("{e}"));
        // Both kinds occur, so neither half of the property is empty.
        let (accepted, refused) = counts.get();
        eprintln!("{name}: {accepted} mutants accepted, {refused} refused");
        assert!(
            accepted > cases / 10 && refused > cases / 10,
            "{name}: {accepted} / {refused}"
        );
    }
}

#[test]
fn the_mutations_change_what_they_say() {
    let text = "[a]\nx = 12 # 34\ny = [5, -6]\n[b]\nz = 1\n";
    assert_eq!(numbers(text).len(), 4);
    let m = apply(text, &Mutation::Number(1, 0));
    assert_eq!(
        String::from_utf8(m).unwrap(),
        "[a]\nx = 12 # 34\ny = [1e300, -6]\n[b]\nz = 1\n"
    );
    let m = apply(text, &Mutation::DuplicateTable(1));
    assert!(
        String::from_utf8(m)
            .unwrap()
            .ends_with("[b]\nz = 1\n\n[b]\nz = 1\n")
    );
    let m = apply(text, &Mutation::DropLine(1));
    assert!(!String::from_utf8(m).unwrap().contains("x = "));
}
