//! Reading in parts (no positions kept) gives what reading the whole document gives: the
//! scenario, every configuration, path look-ups and edits, and the same messages for bad edits.

use super::*;

const ENGLAND: &str = include_str!("../../../scenarios/england-2012.toml");
const SMALL: &str = include_str!("../../../tests/fixtures/small.toml");

fn json<T: serde::Serialize>(x: &T) -> String {
    serde_json::to_string(x).expect("a scenario serializes")
}

fn both_ways(name: &str, text: &str) -> (Scenario, Scenario) {
    let text: Arc<str> = text.into();
    let parts = Scenario::read_quietly(name, &text).expect("reads in parts");
    let whole = Scenario::read_with_positions(name, &text).expect("reads whole");
    assert!(
        parts.document.is_split("providers"),
        "{name}: providers split off"
    );
    assert!(!whole.document.any_split(), "{name}");
    (parts, whole)
}

#[test]
fn reading_in_parts_gives_what_reading_the_whole_document_gives() {
    for (name, text) in [("england-2012.toml", ENGLAND), ("small.toml", SMALL)] {
        let (parts, whole) = both_ways(name, text);
        assert_eq!(json(&parts.base), json(&whole.base), "{name}");
        for c in whole.configuration_names() {
            let (p, w) = (parts.resolve(&c), whole.resolve(&c));
            assert_eq!(json(&p.unwrap()), json(&w.unwrap()), "{name}: {c}");
        }
        let paths = whole.numeric_paths();
        assert!(paths.iter().any(|p| p.starts_with("providers.")), "{name}");
        assert_eq!(parts.numeric_paths(), paths, "{name}");
        for p in &paths {
            assert_eq!(parts.value_at(p), whole.value_at(p), "{name}: {p}");
        }
        for p in [
            "providers",
            "providers[1]",
            "providers[1].id",
            "providers.nobody.x",
        ] {
            assert_eq!(parts.value_at(p), whole.value_at(p), "{name}: {p}");
        }
    }
}

#[test]
fn edits_in_parts_and_whole_agree_and_bad_ones_are_reported_alike() {
    let (parts, whole) = both_ways("england-2012.toml", ENGLAND);
    let provider = &whole.base.providers[3].id;
    let edit = |path: &str, value: Value| Edit {
        path: path.into(),
        value,
    };
    let edits = [
        // Reaches into a provider: the providers are parsed again for it.
        vec![edit(
            &format!("providers.{provider}.reserves"),
            Value::Float(5e6),
        )],
        // Does not: the providers are copied as read.
        vec![edit("rules.contract_length", Value::Integer(12))],
        // Misspelt and bad edits: the whole document says what is wrong, in both.
        vec![edit("rules.contract_lenght", Value::Integer(12))],
        vec![edit("provders.x", Value::Integer(1))],
        vec![edit("rules.contract_length", Value::Integer(-3))],
    ];
    for c in whole.configuration_names() {
        for e in &edits {
            let p = parts.resolve_with(&c, e).map(|s| json(&s));
            let w = whole.resolve_with(&c, e).map(|s| json(&s));
            match (p, w) {
                (Ok(p), Ok(w)) => assert_eq!(p, w, "{c}: {e:?}"),
                (Err(p), Err(w)) => assert_eq!(p.to_string(), w.to_string(), "{c}: {e:?}"),
                (p, w) => panic!("{c}: {e:?}: in parts {p:?}, whole {w:?}"),
            }
        }
    }
}
