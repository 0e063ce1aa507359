//! The scenario document as written, read in parts and kept small: the rest of the file as a TOML
//! table, the long arrays of tables (providers, regions) only as the byte ranges of their
//! elements in the scenario text, each parsed again only when an edit or a look-up reaches into
//! it.
//!
//! Reading in parts never reports an error itself: any problem makes it give up, and loading then
//! parses the file whole, with positions, to say where the problem is.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::{Spanned, Table, Value};

use super::edit::{Edit, remove_path, set_path};
use super::limits::MAX_NESTING;
use super::path::{self, Segment};
use super::schema::{Configuration, Provider, Region, ScenarioFile};
use super::split::{self, SPLIT_KEYS};
use super::suggest::Suggester;
use super::validate::validate;

/// Elements parsed together, at most about this many bytes of text at a time: large enough that
/// parsing costs no more than in one piece, small enough that the parser's token and event lists
/// stay a few MiB.
const BATCH_BYTES: usize = 1 << 20;

/// The scenario as written, without a tree of its long arrays.
#[derive(Debug, Clone)]
pub struct Document {
    /// Every top-level key but those of the split arrays (every key, when read whole).
    rest: Table,
    /// The split arrays' elements (see [`SPLIT_KEYS`]), as byte ranges of the scenario text.
    elements: [Vec<Range<usize>>; SPLIT_KEYS.len()],
}

/// The first table or array nested deeper than [`MAX_NESTING`], by its start offset. Walks
/// without recursion, so a hostile file cannot exhaust the stack here.
pub fn too_deep(root: &Spanned<DeValue<'_>>) -> Option<usize> {
    let mut stack = vec![(root, 0usize)];
    while let Some((node, depth)) = stack.pop() {
        if depth > MAX_NESTING {
            return Some(node.span().start);
        }
        match node.get_ref() {
            DeValue::Table(t) => stack.extend(t.values().map(|v| (v, depth + 1))),
            DeValue::Array(a) => stack.extend(a.iter().map(|v| (v, depth + 1))),
            _ => {}
        }
    }
    None
}

/// Parses a TOML document into `T`, or `None` if it is not valid TOML, nests too deep or does
/// not fit `T`.
fn parse_part<T: DeserializeOwned>(text: &str) -> Option<T> {
    let doc = DeTable::parse(text).ok()?;
    let span = doc.span();
    let root = Spanned::new(span, DeValue::Table(doc.into_inner()));
    if too_deep(&root).is_some() {
        return None;
    }
    T::deserialize(ValueDeserializer::from(root)).ok()
}

/// Consecutive elements grouped into batches of about [`BATCH_BYTES`]: each batch's range and
/// how many elements it holds.
fn batches(ranges: &[Range<usize>]) -> Vec<(Range<usize>, usize)> {
    let mut out: Vec<(Range<usize>, usize)> = Vec::new();
    for r in ranges {
        match out.last_mut() {
            Some((b, n)) if b.end == r.start && b.len() < BATCH_BYTES => {
                b.end = r.end;
                *n += 1;
            }
            _ => out.push((r.clone(), 1)),
        }
    }
    out
}

/// The elements of one split array, deserialized batch by batch.
fn read_elements<T: DeserializeOwned>(
    text: &str,
    key: &str,
    ranges: &[Range<usize>],
) -> Option<Vec<T>> {
    let mut out = Vec::with_capacity(ranges.len());
    for (range, count) in batches(ranges) {
        let mut part: BTreeMap<String, Vec<T>> = parse_part(&text[range])?;
        let elements = part.remove(key)?;
        if !part.is_empty() || elements.len() != count {
            return None;
        }
        out.extend(elements);
    }
    Some(out)
}

/// Reads a scenario in parts: the typed scenario and the document as written, or `None` when the
/// file must be read whole (it does not split, or some part has a problem).
pub fn read_in_parts(text: &str) -> Option<(ScenarioFile, Document)> {
    let layout = split::layout(text)?;
    let rest_text = layout.rest_text(text);
    let mut base: ScenarioFile = parse_part(&rest_text)?;
    let rest: Table = toml::from_str(&rest_text).ok()?;
    for (k, key) in SPLIT_KEYS.iter().enumerate() {
        let ranges = &layout.elements[k];
        if ranges.is_empty() {
            continue;
        }
        // The array written both ways (`providers = [...]` and `[[providers]]`) is an error the
        // whole-file parser reports.
        if rest.contains_key(*key) {
            return None;
        }
        match *key {
            "providers" => base.providers = read_elements(text, key, ranges)?,
            "regions" => base.regions = read_elements(text, key, ranges)?,
            _ => return None,
        }
    }
    let elements = layout.elements;
    Some((base, Document { rest, elements }))
}

impl Document {
    /// A document read whole: nothing split off.
    pub fn whole(table: Table) -> Document {
        Document {
            rest: table,
            elements: Default::default(),
        }
    }

    /// Whether the top-level `key` is a split array (held as text ranges, not in [`Self::rest`]).
    pub fn is_split(&self, key: &str) -> bool {
        SPLIT_KEYS
            .iter()
            .position(|k| *k == key)
            .is_some_and(|k| !self.elements[k].is_empty())
    }

    /// Whether any array was split off.
    pub fn any_split(&self) -> bool {
        self.elements.iter().any(|e| !e.is_empty())
    }

    /// The top-level keys but the split arrays', as a table to edit.
    pub fn rest(&self) -> &Table {
        &self.rest
    }

    /// Copies the split arrays of `from` (the base scenario) into `into`, which was deserialized
    /// from [`Self::rest`] and so has them empty.
    pub fn splice(&self, from: &ScenarioFile, into: &mut ScenarioFile) {
        if self.is_split("providers") {
            into.providers = from.providers.clone();
        }
        if self.is_split("regions") {
            into.regions = from.regions.clone();
        }
    }

    /// The elements of the split array `k` of [`SPLIT_KEYS`] as TOML values, parsed again from
    /// the text.
    fn array(&self, text: &str, k: usize) -> Option<Vec<Value>> {
        let mut out = Vec::with_capacity(self.elements[k].len());
        for (range, count) in batches(&self.elements[k]) {
            let mut part: Table = toml::from_str(text.get(range)?).ok()?;
            match part.remove(SPLIT_KEYS[k]) {
                Some(Value::Array(a)) if a.len() == count => out.extend(a),
                _ => return None,
            }
        }
        Some(out)
    }

    /// The whole document as one TOML table, split arrays parsed again from `text`; `None` only
    /// if `text` is not the text the document was read from.
    pub fn whole_table(&self, text: &str) -> Option<Table> {
        let mut table = self.rest.clone();
        for (k, key) in SPLIT_KEYS.iter().enumerate() {
            if !self.elements[k].is_empty() {
                table.insert((*key).to_string(), Value::Array(self.array(text, k)?));
            }
        }
        Some(table)
    }

    /// The value at a path, as [`path::child`] finds it in the whole document; `base` names the
    /// split arrays' elements by id.
    pub fn value_at(&self, text: &str, base: &ScenarioFile, path: &str) -> Option<Value> {
        let segs = path::parse(path).ok()?;
        let (first, rest) = segs.split_first()?;
        let Segment::Key(key) = first else {
            return None;
        };
        let Some(k) = SPLIT_KEYS.iter().position(|s| s == key) else {
            return rest
                .iter()
                .try_fold(self.rest.get(key)?, path::child)
                .cloned();
        };
        if self.elements[k].is_empty() {
            return rest
                .iter()
                .try_fold(self.rest.get(key)?, path::child)
                .cloned();
        }
        let Some((second, rest)) = rest.split_first() else {
            return Some(Value::Array(self.array(text, k)?));
        };
        let element = self.element(text, k, self.element_index(base, k, second)?)?;
        rest.iter().try_fold(&element, path::child).cloned()
    }

    /// The element of split array `k` that a path segment names: by index, or the first with
    /// that id, as [`path::child`] finds it in the whole document.
    fn element_index(&self, base: &ScenarioFile, k: usize, segment: &Segment) -> Option<usize> {
        match segment {
            Segment::Index(i) => (*i < self.elements[k].len()).then_some(*i),
            Segment::Key(id) => match SPLIT_KEYS[k] {
                "providers" => base.providers.iter().position(|p| &p.id == id),
                "regions" => base.regions.iter().position(|r| &r.id == id),
                _ => None,
            },
        }
    }

    /// Element `i` of split array `k` as a TOML value, parsed again from the text.
    fn element(&self, text: &str, k: usize, i: usize) -> Option<Value> {
        let mut part: Table = toml::from_str(text.get(self.elements[k].get(i)?.clone())?).ok()?;
        match part.remove(SPLIT_KEYS[k])? {
            Value::Array(mut a) if a.len() == 1 => a.pop(),
            _ => None,
        }
    }

    /// A configuration's scenario (with `extra` edits on top) without parsing the split arrays
    /// again: edits go to the rest of the document or to the one element they reach into, and
    /// providers are switched on and off in place. `None` when an edit replaces a whole element
    /// or its id, or anything is wrong: the whole document is then edited as written, which
    /// says what is wrong.
    pub fn resolve(
        &self,
        text: &str,
        base: &ScenarioFile,
        cf: Option<&Configuration>,
        extra: &[Edit],
        hints: &mut Suggester,
    ) -> Option<ScenarioFile> {
        if !self.any_split() {
            return None;
        }
        let mut switches: HashMap<&str, bool> = HashMap::new();
        // Each edit's path, and its value (`None` removes), in the order they apply.
        let mut edits: Vec<(&str, Option<&Value>)> = Vec::new();
        if let Some(cf) = cf {
            let switching = !cf.enable.is_empty() || !cf.disable.is_empty();
            if switching && !self.is_split("providers") {
                return None;
            }
            // A later switch of the same id wins, as in the file.
            for id in &cf.enable {
                switches.insert(id, true);
            }
            for id in &cf.disable {
                switches.insert(id, false);
            }
            edits.extend(cf.remove.iter().map(|p| (p.as_str(), None)));
            edits.extend(cf.set.iter().map(|(p, v)| (p.as_str(), Some(v))));
        }
        edits.extend(extra.iter().map(|e| (e.path.as_str(), Some(&e.value))));
        let mut doc = self.rest.clone();
        // The elements edits reach into, each as a document of its own (`providers[0]`).
        let mut touched: BTreeMap<(usize, usize), Table> = BTreeMap::new();
        for (p, value) in edits {
            let segs = path::parse(p).ok()?;
            let (target, at) = match segs.as_slice() {
                [Segment::Key(key), second, inner @ ..] if self.is_split(key) => {
                    if inner.is_empty() || inner[0] == Segment::Key("id".into()) {
                        return None;
                    }
                    let k = SPLIT_KEYS.iter().position(|s| s == key)?;
                    let i = self.element_index(base, k, second)?;
                    let element = match touched.entry((k, i)) {
                        Entry::Occupied(e) => e.into_mut(),
                        Entry::Vacant(e) => {
                            let mut v = self.element(text, k, i)?;
                            // Switched before any edit, as on the whole document.
                            let id = v.get("id").and_then(Value::as_str).unwrap_or_default();
                            if let (Some(&on), Some(t)) = (switches.get(id), v.as_table_mut()) {
                                t.insert("enabled".into(), Value::Boolean(on));
                            }
                            e.insert(Table::from_iter([(key.clone(), Value::Array(vec![v]))]))
                        }
                    };
                    let inside: String = inner
                        .iter()
                        .map(|s| match s {
                            Segment::Key(k) => format!(".{k}"),
                            Segment::Index(i) => format!("[{i}]"),
                        })
                        .collect();
                    (element, format!("{key}[0]{inside}"))
                }
                [Segment::Key(key), ..] if !self.is_split(key) => (&mut doc, p.to_string()),
                _ => return None,
            };
            match value {
                None => remove_path(target, &at, hints).ok()?,
                Some(v) => set_path(target, &at, v.clone(), hints).ok()?,
            }
        }
        let mut resolved = ScenarioFile::deserialize(Value::Table(doc)).ok()?;
        self.splice(base, &mut resolved);
        let mut found = HashSet::new();
        for p in &mut resolved.providers {
            if let Some(&on) = switches.get(p.id.as_str()) {
                p.enabled = on;
                found.insert(p.id.clone());
            }
        }
        for ((k, i), mut t) in touched {
            let Some(Value::Array(mut a)) = t.remove(SPLIT_KEYS[k]) else {
                return None;
            };
            let v = a.pop().filter(|_| a.is_empty())?;
            match SPLIT_KEYS[k] {
                "providers" => *resolved.providers.get_mut(i)? = Provider::deserialize(v).ok()?,
                "regions" => *resolved.regions.get_mut(i)? = Region::deserialize(v).ok()?,
                _ => return None,
            }
        }
        if found.len() != switches.len() || !validate(&resolved).is_empty() {
            return None;
        }
        Some(resolved)
    }

    /// The rest of the document with a configuration's edits to it, those that do not reach into
    /// a split array, applied in the order [`Self::resolve`] applies them: where `resolve` starts
    /// from for further edits to the rest. `None` when the document was read whole, or an edit
    /// cannot be applied this way.
    pub fn configured_rest(
        &self,
        cf: Option<&Configuration>,
        hints: &mut Suggester,
    ) -> Option<Table> {
        if !self.any_split() {
            return None;
        }
        let mut doc = self.rest.clone();
        let Some(cf) = cf else {
            return Some(doc);
        };
        let edits = cf.remove.iter().map(|p| (p.as_str(), None));
        for (p, value) in edits.chain(cf.set.iter().map(|(p, v)| (p.as_str(), Some(v)))) {
            if !self.edits_rest(p)? {
                continue;
            }
            match value {
                None => remove_path(&mut doc, p, hints).ok()?,
                Some(v) => set_path(&mut doc, p, v.clone(), hints).ok()?,
            }
        }
        Some(doc)
    }

    /// Whether an edit's path goes to the rest of the document (`Some(true)`) or into a split
    /// array (`Some(false)`); `None` for a path [`Self::resolve`] refuses.
    pub fn edits_rest(&self, p: &str) -> Option<bool> {
        match path::parse(p).ok()?.as_slice() {
            [Segment::Key(key), ..] if !self.is_split(key) => Some(true),
            [Segment::Key(_), _, _, ..] => Some(false),
            _ => None,
        }
    }

    /// Every numeric field's path, top-level keys in order, skipping `configurations` and
    /// `observed` (see `Scenario::numeric_paths`).
    pub fn numeric_paths(&self, text: &str) -> Vec<String> {
        let mut keys: Vec<&str> = self.rest.keys().map(String::as_str).collect();
        keys.extend(SPLIT_KEYS.iter().filter(|k| self.is_split(k)));
        keys.sort_unstable();
        let mut out = Vec::new();
        for key in keys {
            if key == "configurations" || key == "observed" {
                continue;
            }
            match SPLIT_KEYS.iter().position(|s| *s == key) {
                Some(k) if self.is_split(key) => {
                    // One batch at a time, so the whole array is never held as TOML values.
                    let mut i = 0;
                    for (range, _) in batches(&self.elements[k]) {
                        let Some(Value::Array(a)) = text
                            .get(range)
                            .and_then(|t| toml::from_str::<Table>(t).ok())
                            .and_then(|mut t| t.remove(key))
                        else {
                            continue;
                        };
                        for x in &a {
                            collect_numeric(x, element_path(key, x, i), &mut out);
                            i += 1;
                        }
                    }
                }
                _ => {
                    if let Some(x) = self.rest.get(key) {
                        collect_numeric(x, key.to_string(), &mut out);
                    }
                }
            }
        }
        out
    }
}

/// How a path names an array's element: by its id, which survives reordering, or its index.
fn element_path(at: &str, x: &Value, i: usize) -> String {
    match x.get("id").and_then(Value::as_str) {
        Some(id) => format!("{at}.{id}"),
        None => format!("{at}[{i}]"),
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
                collect_numeric(x, element_path(&at, x, i), out);
            }
        }
        _ => {}
    }
}
