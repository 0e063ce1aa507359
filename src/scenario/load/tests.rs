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
        // Into elements by index and by id, twice into one, and switching one the
        // configuration switches too.
        vec![
            edit("providers[2].reserves", Value::Integer(7)),
            edit(&format!("providers.{provider}.markup"), Value::Float(0.2)),
            edit(&format!("providers.{provider}.reserves"), Value::Float(1.0)),
            edit("providers.national-comms.enabled", Value::Boolean(false)),
            edit("providers.comms-north.enabled", Value::Boolean(true)),
            edit("regions[0].name", Value::String("North".into())),
        ],
        // Bad edits inside an element, and one replacing an element's id.
        vec![edit(
            &format!("providers.{provider}.servics.x"),
            Value::Integer(1),
        )],
        vec![edit(
            &format!("providers.{provider}.reserves"),
            Value::Float(f64::NAN),
        )],
        vec![edit(
            &format!("providers.{provider}.id"),
            Value::String("x".into()),
        )],
        vec![edit("providers[999].reserves", Value::Integer(1))],
    ];
    // Every England configuration, and the good edits, resolve in parts: the providers are not
    // parsed again whole for an edit that reaches into one of them.
    for cf in &parts.base.configurations {
        for e in [&[][..], &edits[0], &edits[1], &edits[5]] {
            let hints = &mut Suggester::new();
            let r = parts
                .document
                .resolve(&parts.text, &parts.base, Some(cf), e, hints);
            assert!(r.is_some(), "{}: {e:?}", cf.name);
        }
    }
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

/// Every file made from the fixture by deleting, duplicating or moving one line, or by turning a
/// provider's line into a sub-table of it: reading in parts accepts only what reading whole
/// accepts, and reads the same scenario and configurations. (When it does not accept, loading
/// reads whole, so messages are those of reading whole.)
#[test]
fn reading_in_parts_accepts_only_what_reading_whole_accepts() {
    let lines: Vec<&str> = SMALL.lines().collect();
    let mut variants = Vec::new();
    for i in 0..lines.len() {
        let mut deleted = lines.clone();
        deleted.remove(i);
        variants.push(deleted);
        let mut doubled = lines.clone();
        doubled.insert(i, lines[i]);
        variants.push(doubled);
        let mut moved = lines.clone();
        let line = moved.remove(i);
        moved.push(line);
        variants.push(moved);
    }
    let sub_tables: Vec<String> = lines
        .iter()
        .map(|l| match l.split_once(" = ") {
            Some((k, v)) if k.starts_with("services.") => format!("[providers.{k}]\n{}", inline(v)),
            _ => (*l).to_string(),
        })
        .collect();
    variants.push(sub_tables.iter().map(String::as_str).collect());
    let (mut accepted, mut refused) = (0, 0);
    for (i, v) in variants.iter().enumerate() {
        let text: Arc<str> = (v.join("\n") + "\n").into();
        let parts = Scenario::read_quietly("v.toml", &text);
        match (parts, Scenario::read_with_positions("v.toml", &text)) {
            (Some(p), Ok(w)) => {
                accepted += 1;
                assert_eq!(json(&p.base), json(&w.base), "{text}");
                for c in w.configuration_names() {
                    let (p, w) = (p.resolve(&c), w.resolve(&c));
                    assert_eq!(json(&p.unwrap()), json(&w.unwrap()), "{c}:\n{text}");
                }
            }
            (Some(_), Err(e)) => panic!("accepted in parts, refused whole ({e}):\n{text}"),
            (None, _) => {
                assert!(
                    i + 1 < variants.len(),
                    "sub-tables of providers read in parts"
                );
                refused += 1;
            }
        }
    }
    assert!(
        accepted > 50 && refused > 50,
        "{accepted} accepted, {refused} refused"
    );
}

/// The keys of an inline table (`{ a = 1, b = 2 }`), one a line.
fn inline(v: &str) -> String {
    let body = v.trim().trim_start_matches('{').trim_end_matches('}');
    body.split(", ")
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("\n")
}
