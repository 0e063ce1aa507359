//! Reading a scenario file, applying a configuration's edits, and reporting problems with positions.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::{Spanned, Table, Value};

use super::document::{Document, read_in_parts, too_deep};
use super::edit::{remove_path, set_path};
use super::error::{Problem, ScenarioError, line_col};
use super::limits::{MAX_FILE_BYTES, MAX_NESTING};
use super::path::{self, Segment};
use super::schema::{Configuration, ScenarioFile};
use super::suggest::Suggester;
use super::validate::validate;

pub use super::edit::Edit;
pub use super::suggest::close_matches;
pub use prepared::Prepared;

/// The name of the single configuration of a scenario that defines none.
pub const BASE: &str = "base";

/// A scenario file that has been read and checked, with every configuration checked too.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file name shown in messages and provenance.
    pub file: String,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    /// The exact text read (its SHA-256 is `sha256`), written beside results as `scenario.toml`.
    pub text: Arc<str>,
    /// The scenario as written, before any configuration.
    pub base: ScenarioFile,
    /// The document as written, for configuration edits and path look-ups.
    document: Document,
}

/// A problem with the file as a whole (no position).
fn whole_file(file: &str, message: String) -> ScenarioError {
    ScenarioError::Invalid(vec![Problem {
        file: file.to_string(),
        position: None,
        path: String::new(),
        message,
        configuration: None,
    }])
}

/// Reads a scenario file's bytes: only a regular file of at most [`MAX_FILE_BYTES`].
fn read_bytes(path: &Path, file: &str) -> Result<Vec<u8>, ScenarioError> {
    let read_error = |source| ScenarioError::Read {
        file: file.to_string(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read_error)?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a directory"
        } else {
            "a device, pipe or socket"
        };
        return Err(whole_file(
            file,
            format!("is {what}, not a regular file; a scenario must be a TOML file"),
        ));
    }
    let too_big = |size: String| {
        whole_file(
            file,
            format!(
                "the file is {size}; a scenario file may be at most {MAX_FILE_BYTES} bytes (64 MiB)"
            ),
        )
    };
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_big(format!("{} bytes", meta.len())));
    }
    // Read at most one byte past the cap, in case the file grows or misreports its size. Sized
    // to the file, so a large file is not held in a buffer grown by doubling.
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big("larger than that".into()));
    }
    Ok(bytes)
}

/// The text of a scenario file's bytes, which must be UTF-8; a bad byte is named by its line and
/// column.
fn decode(file: &str, bytes: Vec<u8>) -> Result<String, ScenarioError> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        // The valid prefix is text, so its end gives the line and column of the bad byte.
        let prefix = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
        ScenarioError::Invalid(vec![Problem {
            file: file.to_string(),
            position: Some(line_col(prefix, at)),
            path: String::new(),
            message: format!(
                "invalid UTF-8 at byte {at} (0x{:02x}); scenario files must be UTF-8 text",
                bytes[at]
            ),
            configuration: None,
        }])
    })
}

/// The start of the dotted key with the most `.`s, when it has more than [`MAX_NESTING`]: toml
/// refuses keys of 80 or more parts without saying where.
fn deepest_dotted_key(text: &str) -> Option<usize> {
    use toml_parser::lexer::TokenKind;
    let (mut start, mut dots, mut deepest) = (None, 0usize, (0usize, 0usize));
    for token in toml_parser::Source::new(text).lex() {
        match token.kind() {
            TokenKind::Dot => dots += 1,
            TokenKind::Whitespace => {}
            TokenKind::Atom | TokenKind::BasicString | TokenKind::LiteralString => {
                start.get_or_insert(token.span().start());
            }
            _ => {
                if dots > deepest.0 {
                    deepest = (dots, start.unwrap_or(0));
                }
                (start, dots) = (None, 0);
            }
        }
    }
    if dots > deepest.0 {
        deepest = (dots, start.unwrap_or(0));
    }
    (deepest.0 > MAX_NESTING).then_some(deepest.1)
}

fn nesting_message() -> String {
    format!(
        "tables, arrays and dotted keys nest deeper than {MAX_NESTING} levels here; \
         a scenario needs at most 5"
    )
}

impl Scenario {
    /// Reads and checks a scenario file: a regular file of at most [`MAX_FILE_BYTES`], in UTF-8.
    pub fn from_path(path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let bytes = read_bytes(path, &file)?;
        Scenario::from_bytes(&file, bytes)
    }

    /// Checks a scenario given as bytes (UTF-8 text); `file` names it in messages.
    pub fn from_bytes(file: &str, bytes: Vec<u8>) -> Result<Scenario, ScenarioError> {
        // The text is kept as shared text; the decoded copy goes before parsing starts.
        let text: Arc<str> = decode(file, bytes)?.into();
        Scenario::from_shared(file, text)
    }

    /// Checks a scenario given as text; `file` names it in messages.
    ///
    /// A valid scenario is read in parts, keeping no positions (see [`super::document`]); only
    /// when that finds a problem is the file parsed again whole, with a position for every value,
    /// to report each problem's line and column.
    pub fn from_text(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::from_shared(file, text.into())
    }

    fn from_shared(file: &str, text: Arc<str>) -> Result<Scenario, ScenarioError> {
        match Scenario::read_quietly(file, &text) {
            Some(scenario) => Ok(scenario),
            None => Scenario::read_with_positions(file, &text),
        }
    }

    /// Reads and checks a scenario in parts, configurations included: `None` on any problem.
    fn read_quietly(file: &str, text: &Arc<str>) -> Option<Scenario> {
        let (base, document) = read_in_parts(text)?;
        if !validate(&base).is_empty() {
            return None;
        }
        let scenario = Scenario {
            file: file.to_string(),
            sha256: hex_sha256(text.as_bytes()),
            text: Arc::clone(text),
            base,
            document,
        };
        for u in &scenario.base.uncertain {
            if !matches!(
                scenario.value_at(&u.path),
                Some(Value::Integer(_) | Value::Float(_))
            ) {
                return None;
            }
        }
        let mut hints = Suggester::new();
        for cf in &scenario.base.configurations {
            scenario.resolve_checked(&cf.name, &[], &mut hints).ok()?;
        }
        Some(scenario)
    }

    /// Reads and checks a scenario as one document with a position for every value, so that
    /// every problem names its line and column.
    fn read_with_positions(file: &str, text: &Arc<str>) -> Result<Scenario, ScenarioError> {
        let problem = |position, path: String, message: String| Problem {
            file: file.to_string(),
            position,
            path,
            message,
            configuration: None,
        };
        let syntax = |e: toml::de::Error| {
            let pos = e
                .span()
                .map(|s| line_col(text, s.start))
                .or_else(|| deepest_dotted_key(text).map(|at| line_col(text, at)))
                .or(Some((1, 1)));
            let mut message = first_line(e.message());
            if message.contains("recurs") {
                message = format!("{message}: {}", nesting_message());
            }
            ScenarioError::Invalid(vec![problem(pos, String::new(), message)])
        };
        let spanned = DeTable::parse(text)
            .map(|t| {
                let span = t.span();
                Spanned::new(span, DeValue::Table(t.into_inner()))
            })
            .map_err(syntax)?;
        if let Some(at) = too_deep(&spanned) {
            return Err(ScenarioError::Invalid(vec![problem(
                Some(line_col(text, at)),
                String::new(),
                nesting_message(),
            )]));
        }
        // Deserialized from a copy of the tree already parsed: parsing the text again would hold
        // the parser's token and event lists, several times the file's size, beside the tree.
        let de = ValueDeserializer::from(spanned.clone());
        let base: ScenarioFile = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = clean_path(&e.path().to_string());
            let pos = e
                .inner()
                .span()
                .map(|s| line_col(text, s.start))
                .or_else(|| Some(locate(text, &spanned, &path)));
            ScenarioError::Invalid(vec![problem(pos, path, first_line(e.inner().message()))])
        })?;
        let mut problems: Vec<Problem> = validate(&base)
            .into_iter()
            .map(|f| problem(Some(locate(text, &spanned, &f.path)), f.path, f.message))
            .collect();
        let raw = Table::deserialize(ValueDeserializer::from(spanned.clone())).map_err(syntax)?;
        let scenario = Scenario {
            file: file.to_string(),
            sha256: hex_sha256(text.as_bytes()),
            text: Arc::clone(text),
            base,
            document: Document::whole(raw),
        };
        // Uncertain parameters must name numeric fields, so sensitivity analysis can vary them.
        // One suggester for every hint, so thousands of misspelt paths stay fast.
        let mut hints = Suggester::new();
        let mut numeric = None;
        for (i, u) in scenario.base.uncertain.iter().enumerate() {
            let path = &u.path;
            let message = match scenario.value_at(path) {
                Some(Value::Integer(_) | Value::Float(_)) => continue,
                Some(v) => format!("`{path}` is a {}, not a number", v.type_str()),
                None => {
                    let names = numeric.get_or_insert_with(|| scenario.numeric_paths());
                    let near = hints.close_matches(path, names);
                    let mut m = format!("no numeric field `{path}`");
                    if !near.is_empty() {
                        m.push_str(&format!("; did you mean `{}`?", near.join("` or `")));
                    }
                    m
                }
            };
            let at = format!("uncertain[{i}]");
            let at = if u.prior().is_some() || !u.reason.is_empty() {
                format!("{at}.path")
            } else {
                at
            };
            problems.push(problem(Some(locate(text, &spanned, &at)), at, message));
        }
        if problems.is_empty() {
            // Each configuration must produce a valid scenario too; its problems point at it.
            for (i, cf) in scenario.base.configurations.iter().enumerate() {
                let Err(e) = scenario.resolve_checked(&cf.name, &[], &mut hints) else {
                    continue;
                };
                let pos = locate(text, &spanned, &format!("configurations[{i}]"));
                problems.extend(e.problems().iter().cloned().map(|mut p| {
                    p.position = p.position.or(Some(pos));
                    p
                }));
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
        self.resolve_checked(configuration, extra, &mut Suggester::new())
    }

    fn resolve_checked(
        &self,
        configuration: &str,
        extra: &[Edit],
        hints: &mut Suggester,
    ) -> Result<ScenarioFile, ScenarioError> {
        let names = self.configuration_names();
        if !names.iter().any(|n| n == configuration) {
            return Err(ScenarioError::UnknownConfiguration {
                name: configuration.to_string(),
                available: names,
            });
        }
        let problem = |path: String, message: String| self.problem(configuration, path, message);
        let cf = self
            .base
            .configurations
            .iter()
            .find(|c| c.name == configuration);
        if let Some(resolved) = self
            .document
            .resolve(&self.text, &self.base, cf, extra, hints)
        {
            return Ok(resolved);
        }
        let mut problems = Vec::new();
        let Some(mut doc) = self.configured_whole(configuration, cf, hints, &mut problems) else {
            return Err(ScenarioError::Invalid(vec![problem(
                String::new(),
                "the scenario's text no longer matches what was read".into(),
            )]));
        };
        for e in extra {
            if let Err(m) = set_path(&mut doc, &e.path, e.value.clone(), hints) {
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

    /// A problem with a configuration's scenario (no position: the edits made it).
    fn problem(&self, configuration: &str, path: String, message: String) -> Problem {
        Problem {
            file: self.file.clone(),
            position: None,
            path,
            message,
            configuration: Some(configuration.to_string()),
        }
    }

    /// The whole document as a configuration makes it (providers switched on and off, then its
    /// removals and settings), each edit that cannot be made added to `problems`; `None` only if
    /// the scenario's text no longer matches what was read.
    fn configured_whole(
        &self,
        configuration: &str,
        cf: Option<&Configuration>,
        hints: &mut Suggester,
        problems: &mut Vec<Problem>,
    ) -> Option<Table> {
        let mut doc = self.document.whole_table(&self.text)?;
        let Some(cf) = cf else {
            return Some(doc);
        };
        let problem = |path: String, message: String| self.problem(configuration, path, message);
        // One pass over the providers, however many are switched (generated markets have
        // thousands); a later switch of the same id wins, as in the file.
        let mut switches: HashMap<&str, bool> = HashMap::new();
        for id in &cf.enable {
            switches.insert(id, true);
        }
        for id in &cf.disable {
            switches.insert(id, false);
        }
        let mut found = HashSet::new();
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
            if let Err(m) = remove_path(&mut doc, path, hints) {
                problems.push(problem(path.clone(), m));
            }
        }
        for (path, value) in &cf.set {
            if let Err(m) = set_path(&mut doc, path, value.clone(), hints) {
                problems.push(problem(path.clone(), m));
            }
        }
        Some(doc)
    }

    /// Every numeric field's path in the base scenario, for suggestions and `sensitivity --all`.
    pub fn numeric_paths(&self) -> Vec<String> {
        self.document.numeric_paths(&self.text)
    }

    /// The value at a path of the base scenario, if any.
    pub fn value_at(&self, path: &str) -> Option<Value> {
        self.document.value_at(&self.text, &self.base, path)
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

/// Finds the position of a field path (as printed by validation) in the original text: the
/// deepest part of the path the file writes, or the start of the file when it writes none of it
/// (a missing table, say), so that every problem names a line.
fn locate(text: &str, root: &Spanned<DeValue<'_>>, path: &str) -> (usize, usize) {
    let mut best = None;
    if let Ok(segs) = path::parse(path) {
        let mut node = root;
        for s in &segs {
            let next = match s {
                Segment::Key(k) => node.get_ref().get(k.as_str()),
                Segment::Index(i) => node.get_ref().get(*i),
            };
            match next {
                Some(n) => {
                    node = n;
                    best = Some(n.span().start);
                }
                None => break,
            }
        }
    }
    best.map_or((1, 1), |o| line_col(text, o))
}

mod prepared;
#[cfg(test)]
mod tests;
