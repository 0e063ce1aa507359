//! Edits to a scenario's TOML tree by dotted path: what configurations (`set`, `remove`) and
//! explorations (`sweep --param`, sensitivity factors) do to a scenario before it is checked again.

use toml::{Table, Value};

use super::path::{self, Segment, child, child_mut};
use super::suggest::Suggester;

/// One edit to a scenario: a path and the value it takes (used by configurations and sweeps).
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    /// Dotted path, e.g. `services.communications.locality` or `providers.essex.services.bi.capacity`.
    pub path: String,
    /// New value.
    pub value: Value,
}

fn keys_of(v: &Value) -> Vec<String> {
    match v {
        Value::Table(t) => t.keys().cloned().collect(),
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.get("id").and_then(Value::as_str).map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Says which segment of a path does not exist, with the closest names found there.
fn not_found(
    path: &str,
    segs: &[Segment],
    i: usize,
    parent: &Value,
    hints: &mut Suggester,
) -> String {
    let here: Vec<String> = segs[..i].iter().map(Segment::name).collect();
    let wanted = segs[i].name();
    let names = keys_of(parent);
    let hint = hints.close_matches(&wanted, &names);
    let mut m = format!(
        "no field `{wanted}` at `{}` (path `{path}` does not exist)",
        if here.is_empty() {
            "the top level".into()
        } else {
            here.join(".")
        }
    );
    if !hint.is_empty() {
        m.push_str(&format!(
            "; did you mean {}?",
            hint.iter()
                .map(|h| format!("`{h}`"))
                .collect::<Vec<_>>()
                .join(" or ")
        ));
    } else if !names.is_empty() && names.len() <= 30 {
        m.push_str(&format!("; fields there: {}", names.join(", ")));
    }
    m
}

/// Walks to the parent of a path's last segment and applies `edit` to it, reporting the first
/// segment that does not exist. The shared part of setting and removing.
fn edit_parent(
    doc: &mut Table,
    path: &str,
    hints: &mut Suggester,
    edit: impl FnOnce(&mut Value, &Segment, &[Segment], &mut Suggester) -> Result<(), String>,
) -> Result<(), String> {
    let segs = path::parse(path)?;
    let mut root = Value::Table(std::mem::take(doc));
    let result = (|| {
        let (last, parents) = segs.split_last().ok_or("empty path")?;
        let mut node = &mut root;
        for (i, s) in parents.iter().enumerate() {
            if child(node, s).is_none() {
                return Err(not_found(path, &segs, i, node, hints));
            }
            node = child_mut(node, s).ok_or("unreachable")?;
        }
        edit(node, last, &segs, hints)
    })();
    if let Value::Table(t) = root {
        *doc = t;
    }
    result
}

/// Sets the value at a path. The parent must exist; the last key may be new only when the parent
/// is a table and the value is not (serde then rejects keys that are not fields).
pub fn set_path(
    doc: &mut Table,
    path: &str,
    value: Value,
    hints: &mut Suggester,
) -> Result<(), String> {
    edit_parent(doc, path, hints, |node, last, segs, hints| {
        match (node, last) {
            (Value::Table(t), Segment::Key(k)) => {
                if let Some(old) = t.get(k) {
                    if !same_kind(old, &value) {
                        return Err(format!(
                            "expected {}, got {}",
                            old.type_str(),
                            value.type_str()
                        ));
                    }
                } else if value.is_table() {
                    return Err(not_found(
                        path,
                        segs,
                        segs.len() - 1,
                        &Value::Table(t.clone()),
                        hints,
                    ));
                }
                t.insert(k.clone(), coerce(t.get(k), value));
                Ok(())
            }
            (n @ Value::Array(_), s) => {
                let slot = child_mut(n, s)
                    .ok_or_else(|| format!("no element `{}` in path `{path}`", s.name()))?;
                *slot = value;
                Ok(())
            }
            _ => Err(format!("`{path}` does not lead to a table field")),
        }
    })
}

/// Integers may stand where floats are expected, so `capacity = 5` and `= 5.0` both work.
fn coerce(old: Option<&Value>, v: Value) -> Value {
    match (old, v) {
        (Some(Value::Float(_)), Value::Integer(i)) => Value::Float(i as f64),
        (_, v) => v,
    }
}

fn same_kind(a: &Value, b: &Value) -> bool {
    matches!(
        (a, b),
        (
            Value::Integer(_) | Value::Float(_),
            Value::Integer(_) | Value::Float(_)
        ) | (Value::String(_), Value::String(_))
            | (Value::Boolean(_), Value::Boolean(_))
            | (Value::Table(_), Value::Table(_))
            | (Value::Array(_), Value::Array(_))
            | (Value::Datetime(_), Value::Datetime(_))
    )
}

/// Removes the table key or array element at a path.
pub fn remove_path(doc: &mut Table, path: &str, hints: &mut Suggester) -> Result<(), String> {
    edit_parent(doc, path, hints, |node, last, segs, hints| {
        if child(node, last).is_none() {
            return Err(not_found(path, segs, segs.len() - 1, node, hints));
        }
        match (node, last) {
            (Value::Table(t), Segment::Key(k)) => {
                t.remove(k);
            }
            (Value::Array(a), Segment::Index(i)) => {
                a.remove(*i);
            }
            (Value::Array(a), Segment::Key(k)) => {
                a.retain(|x| x.get("id").and_then(Value::as_str) != Some(k))
            }
            _ => return Err(format!("cannot remove `{path}`")),
        }
        Ok(())
    })
}
