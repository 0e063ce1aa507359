//! Reading a scenario file, applying a configuration's edits, and reporting problems with positions.

use std::path::Path;

use sha2::{Digest, Sha256};
use toml::de::{DeTable, DeValue};
use toml::{Spanned, Table, Value};

use super::error::{Problem, ScenarioError, line_col};
use super::schema::ScenarioFile;
use super::validate::validate;

/// The name of the single configuration of a scenario that defines none.
pub const BASE: &str = "base";

/// A scenario file that has been read and checked, with every configuration checked too.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file name shown in messages and provenance.
    pub file: String,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    /// The scenario as written, before any configuration.
    pub base: ScenarioFile,
    raw: Table,
}

/// One edit to a scenario: a path and the value it takes (used by configurations and sweeps).
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    /// Dotted path, e.g. `services.communications.locality` or `providers.essex.services.bi.capacity`.
    pub path: String,
    /// New value.
    pub value: Value,
}

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn from_path(path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            file: file.clone(),
            source,
        })?;
        Scenario::from_text(&file, &text)
    }

    /// Checks a scenario given as text; `file` names it in messages.
    pub fn from_text(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
        let problem = |position, path: String, message: String| Problem {
            file: file.to_string(),
            position,
            path,
            message,
            configuration: None,
        };
        let spanned = DeTable::parse(text)
            .map(|t| {
                let span = t.span();
                Spanned::new(span, DeValue::Table(t.into_inner()))
            })
            .map_err(|e| {
                let pos = e.span().map(|s| line_col(text, s.start));
                ScenarioError::Invalid(vec![problem(pos, String::new(), first_line(e.message()))])
            })?;
        let de = toml::Deserializer::parse(text).map_err(|e| {
            let pos = e.span().map(|s| line_col(text, s.start));
            ScenarioError::Invalid(vec![problem(pos, String::new(), first_line(e.message()))])
        })?;
        let base: ScenarioFile = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = clean_path(&e.path().to_string());
            let pos = e
                .inner()
                .span()
                .map(|s| line_col(text, s.start))
                .or_else(|| locate(text, &spanned, &path));
            ScenarioError::Invalid(vec![problem(pos, path, first_line(e.inner().message()))])
        })?;
        let mut problems: Vec<Problem> = validate(&base)
            .into_iter()
            .map(|f| problem(locate(text, &spanned, &f.path), f.path, f.message))
            .collect();
        let raw: Table = toml::from_str(text).map_err(|e| {
            ScenarioError::Invalid(vec![problem(None, String::new(), first_line(e.message()))])
        })?;
        let scenario = Scenario {
            file: file.to_string(),
            sha256: hex_sha256(text.as_bytes()),
            base,
            raw,
        };
        // Uncertain parameters must name numeric fields, so sensitivity analysis can vary them.
        for (i, path) in scenario.base.uncertain.iter().enumerate() {
            let message = match scenario.value_at(path) {
                Some(Value::Integer(_) | Value::Float(_)) => continue,
                Some(v) => format!("`{path}` is a {}, not a number", v.type_str()),
                None => {
                    let near = close_matches(path, &scenario.numeric_paths());
                    let mut m = format!("no numeric field `{path}`");
                    if !near.is_empty() {
                        m.push_str(&format!("; did you mean `{}`?", near.join("` or `")));
                    }
                    m
                }
            };
            let at = format!("uncertain[{i}]");
            problems.push(problem(locate(text, &spanned, &at), at, message));
        }
        if problems.is_empty() {
            // Each configuration must produce a valid scenario too.
            for (i, cf) in scenario.base.configurations.iter().enumerate() {
                if let Err(ScenarioError::Invalid(ps)) = scenario.resolve_with(&cf.name, &[]) {
                    let pos = locate(text, &spanned, &format!("configurations[{i}]"));
                    problems.extend(ps.into_iter().map(|mut p| {
                        p.position = p.position.or(pos);
                        p
                    }));
                }
            }
        }
        if problems.is_empty() {
            Ok(scenario)
        } else {
            Err(ScenarioError::Invalid(problems))
        }
    }

    /// Names of the configurations, in file order; a scenario with none has one, `base`.
    pub fn configuration_names(&self) -> Vec<String> {
        if self.base.configurations.is_empty() {
            vec![BASE.to_string()]
        } else {
            self.base
                .configurations
                .iter()
                .map(|c| c.name.clone())
                .collect()
        }
    }

    /// The scenario as a configuration makes it.
    pub fn resolve(&self, configuration: &str) -> Result<ScenarioFile, ScenarioError> {
        self.resolve_with(configuration, &[])
    }

    /// The scenario as a configuration makes it, with further edits on top (for sweeps).
    pub fn resolve_with(
        &self,
        configuration: &str,
        extra: &[Edit],
    ) -> Result<ScenarioFile, ScenarioError> {
        let names = self.configuration_names();
        if !names.iter().any(|n| n == configuration) {
            return Err(ScenarioError::UnknownConfiguration {
                name: configuration.to_string(),
                available: names,
            });
        }
        let problem = |path: String, message: String| Problem {
            file: self.file.clone(),
            position: None,
            path,
            message,
            configuration: Some(configuration.to_string()),
        };
        let mut doc = self.raw.clone();
        let mut problems = Vec::new();
        if let Some(cf) = self
            .base
            .configurations
            .iter()
            .find(|c| c.name == configuration)
        {
            // One pass over the providers, however many are switched (generated markets have
            // thousands); a later switch of the same id wins, as in the file.
            let mut switches: std::collections::HashMap<&str, bool> =
                std::collections::HashMap::new();
            for id in &cf.enable {
                switches.insert(id, true);
            }
            for id in &cf.disable {
                switches.insert(id, false);
            }
            let mut found = std::collections::HashSet::new();
            if let Some(Value::Array(providers)) = doc.get_mut("providers") {
                for p in providers.iter_mut() {
                    let Some(t) = p.as_table_mut() else { continue };
                    let Some(id) = t.get("id").and_then(Value::as_str).map(str::to_string) else {
                        continue;
                    };
                    if let Some(&on) = switches.get(id.as_str()) {
                        t.insert("enabled".into(), Value::Boolean(on));
                        found.insert(id);
                    }
                }
            }
            for (verb, ids) in [("enable", &cf.enable), ("disable", &cf.disable)] {
                for id in ids.iter().filter(|id| !found.contains(id.as_str())) {
                    problems.push(problem(
                        format!("{verb}: {id}"),
                        format!("no provider `{id}`"),
                    ));
                }
            }
            for path in &cf.remove {
                if let Err(m) = remove_path(&mut doc, path) {
                    problems.push(problem(path.clone(), m));
                }
            }
            for (path, value) in &cf.set {
                if let Err(m) = set_path(&mut doc, path, value.clone(), false) {
                    problems.push(problem(path.clone(), m));
                }
            }
        }
        for e in extra {
            if let Err(m) = set_path(&mut doc, &e.path, e.value.clone(), false) {
                problems.push(problem(e.path.clone(), m));
            }
        }
        if !problems.is_empty() {
            return Err(ScenarioError::Invalid(problems));
        }
        let resolved: ScenarioFile =
            serde_path_to_error::deserialize(Value::Table(doc)).map_err(|e| {
                ScenarioError::Invalid(vec![problem(
                    clean_path(&e.path().to_string()),
                    first_line(&e.inner().to_string()),
                )])
            })?;
        let findings = validate(&resolved);
        if findings.is_empty() {
            Ok(resolved)
        } else {
            Err(ScenarioError::Invalid(
                findings
                    .into_iter()
                    .map(|f| problem(f.path, f.message))
                    .collect(),
            ))
        }
    }

    /// Every numeric field's path in the base scenario, for suggestions and `sensitivity --all`.
    pub fn numeric_paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        collect_numeric(&Value::Table(self.raw.clone()), String::new(), &mut out);
        out
    }

    /// The value at a path of the base scenario, if any.
    pub fn value_at(&self, path: &str) -> Option<Value> {
        let segs = parse_path(path).ok()?;
        let root = Value::Table(self.raw.clone());
        let mut node = &root;
        for s in &segs {
            node = child(node, s)?;
        }
        Some(node.clone())
    }
}

fn collect_numeric(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Integer(_) | Value::Float(_) => out.push(at),
        Value::Table(t) => {
            for (k, x) in t {
                if at == "configurations"
                    || (at.is_empty() && (k == "configurations" || k == "observed"))
                {
                    continue;
                }
                let p = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                collect_numeric(x, p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                // Elements with an id are addressed by it, which survives reordering.
                let p = match x.get("id").and_then(Value::as_str) {
                    Some(id) => format!("{at}.{id}"),
                    None => format!("{at}[{i}]"),
                };
                collect_numeric(x, p, out);
            }
        }
        _ => {}
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn first_line(s: &str) -> String {
    s.trim().lines().next().unwrap_or("").trim().to_string()
}

/// serde_path_to_error prints `?` for positions it cannot name and `.` before array indices.
fn clean_path(p: &str) -> String {
    if p == "." {
        String::new()
    } else {
        p.to_string()
    }
}

/// A path segment: a table key, an array index, or an array element found by its `id`.
#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn parse_path(path: &str) -> Result<Vec<Seg>, String> {
    let mut segs = Vec::new();
    if path.trim().is_empty() {
        return Err("empty path".into());
    }
    for part in path.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            segs.push(Seg::Key(name.to_string()));
        } else if rest.is_empty() {
            return Err(format!("empty segment in path `{path}`"));
        }
        while let Some(r) = rest.strip_prefix('[') {
            let end = r
                .find(']')
                .ok_or_else(|| format!("unclosed `[` in path `{path}`"))?;
            let idx = r[..end]
                .parse()
                .map_err(|_| format!("bad index `{}` in path `{path}`", &r[..end]))?;
            segs.push(Seg::Index(idx));
            rest = &r[end + 1..];
        }
        if !rest.is_empty() {
            return Err(format!("unexpected `{rest}` in path `{path}`"));
        }
    }
    Ok(segs)
}

fn child<'a>(v: &'a Value, s: &Seg) -> Option<&'a Value> {
    match (v, s) {
        (Value::Table(t), Seg::Key(k)) => t.get(k),
        (Value::Array(a), Seg::Index(i)) => a.get(*i),
        (Value::Array(a), Seg::Key(k)) => a
            .iter()
            .find(|x| x.get("id").and_then(Value::as_str) == Some(k)),
        _ => None,
    }
}

fn child_mut<'a>(v: &'a mut Value, s: &Seg) -> Option<&'a mut Value> {
    match (v, s) {
        (Value::Table(t), Seg::Key(k)) => t.get_mut(k),
        (Value::Array(a), Seg::Index(i)) => a.get_mut(*i),
        (Value::Array(a), Seg::Key(k)) => a
            .iter_mut()
            .find(|x| x.get("id").and_then(Value::as_str) == Some(k)),
        _ => None,
    }
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

fn seg_name(s: &Seg) -> String {
    match s {
        Seg::Key(k) => k.clone(),
        Seg::Index(i) => format!("[{i}]"),
    }
}

/// Edit distance, for suggesting the path the user meant.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Up to three names closest to `wanted`, for "did you mean" hints.
pub fn close_matches(wanted: &str, names: &[String]) -> Vec<String> {
    let mut scored: Vec<(usize, &String)> =
        names.iter().map(|n| (distance(wanted, n), n)).collect();
    scored.sort();
    let limit = (wanted.len() / 2).max(2);
    scored
        .into_iter()
        .filter(|(d, _)| *d <= limit)
        .take(3)
        .map(|(_, n)| n.clone())
        .collect()
}

fn not_found(path: &str, segs: &[Seg], i: usize, parent: &Value) -> String {
    let here: Vec<String> = segs[..i].iter().map(seg_name).collect();
    let wanted = seg_name(&segs[i]);
    let names = keys_of(parent);
    let hint = close_matches(&wanted, &names);
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
    edit: impl FnOnce(&mut Value, &Seg, &[Seg]) -> Result<(), String>,
) -> Result<(), String> {
    let segs = parse_path(path)?;
    let mut root = Value::Table(std::mem::take(doc));
    let result = (|| {
        let (last, parents) = segs.split_last().ok_or("empty path")?;
        let mut node = &mut root;
        for (i, s) in parents.iter().enumerate() {
            if child(node, s).is_none() {
                return Err(not_found(path, &segs, i, node));
            }
            node = child_mut(node, s).ok_or("unreachable")?;
        }
        edit(node, last, &segs)
    })();
    if let Value::Table(t) = root {
        *doc = t;
    }
    result
}

/// Sets the value at a path. The parent must exist; the last key may be new only when
/// `create` is true or the parent is a table (serde then rejects keys that are not fields).
fn set_path(doc: &mut Table, path: &str, value: Value, create: bool) -> Result<(), String> {
    edit_parent(doc, path, |node, last, segs| match (node, last) {
        (Value::Table(t), Seg::Key(k)) => {
            if let Some(old) = t.get(k) {
                if !same_kind(old, &value) {
                    return Err(format!(
                        "expected {}, got {}",
                        old.type_str(),
                        value.type_str()
                    ));
                }
            } else if !create && value.is_table() {
                return Err(not_found(
                    path,
                    segs,
                    segs.len() - 1,
                    &Value::Table(t.clone()),
                ));
            }
            t.insert(k.clone(), coerce(t.get(k), value));
            Ok(())
        }
        (n @ Value::Array(_), s) => {
            let slot = child_mut(n, s)
                .ok_or_else(|| format!("no element `{}` in path `{path}`", seg_name(s)))?;
            *slot = value;
            Ok(())
        }
        _ => Err(format!("`{path}` does not lead to a table field")),
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
fn remove_path(doc: &mut Table, path: &str) -> Result<(), String> {
    edit_parent(doc, path, |node, last, segs| {
        if child(node, last).is_none() {
            return Err(not_found(path, segs, segs.len() - 1, node));
        }
        match (node, last) {
            (Value::Table(t), Seg::Key(k)) => {
                t.remove(k);
            }
            (Value::Array(a), Seg::Index(i)) => {
                a.remove(*i);
            }
            (Value::Array(a), Seg::Key(k)) => {
                a.retain(|x| x.get("id").and_then(Value::as_str) != Some(k))
            }
            _ => return Err(format!("cannot remove `{path}`")),
        }
        Ok(())
    })
}

/// Finds the position of a field path (as printed by validation) in the original text.
fn locate(text: &str, root: &Spanned<DeValue<'_>>, path: &str) -> Option<(usize, usize)> {
    let segs = parse_path(path).ok()?;
    let mut node = root;
    let mut best = None;
    for s in &segs {
        let next = match s {
            Seg::Key(k) => node.get_ref().get(k.as_str()),
            Seg::Index(i) => node.get_ref().get(*i),
        };
        match next {
            Some(n) => {
                node = n;
                best = Some(n.span().start);
            }
            None => break,
        }
    }
    best.map(|o| line_col(text, o))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parser_reads_keys_and_indices() {
        assert_eq!(
            parse_path("providers[3].services.bi").unwrap(),
            vec![
                Seg::Key("providers".into()),
                Seg::Index(3),
                Seg::Key("services".into()),
                Seg::Key("bi".into())
            ]
        );
        assert!(parse_path("a..b").is_err());
        assert!(parse_path("a[x]").is_err());
    }

    #[test]
    fn close_matches_suggest_the_nearest_names() {
        let names = vec![
            "locality".to_string(),
            "need_per_head".to_string(),
            "in_house".to_string(),
        ];
        assert_eq!(
            close_matches("localty", &names),
            vec!["locality".to_string()]
        );
    }
}
