//! Dotted field paths, the one way every part of csmarket names a field of a scenario:
//! configuration edits (`set`, `remove`), `sweep --param`, `uncertain` and sensitivity paths, and
//! the positions of validation problems.
//!
//! A path is segments separated by `.`; each is a table key or an array element named by its `id`,
//! optionally followed by `[index]`es: `providers.essex.services.bi.capacity`,
//! `providers[3].services.bi`, `checkpoints.csu-2.min_margin`.

use toml::Value;

use super::limits::MAX_PATH_SEGMENTS;

/// One segment of a path: a table key (or an array element's `id`), or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A table key, or the `id` of an array element.
    Key(String),
    /// A position in an array, from 0.
    Index(usize),
}

impl Segment {
    /// The segment as written in a path (`name` or `[i]`).
    pub fn name(&self) -> String {
        match self {
            Segment::Key(k) => k.clone(),
            Segment::Index(i) => format!("[{i}]"),
        }
    }
}

/// Reads a dotted path into segments, refusing empty segments, bad indices and paths deeper than
/// [`MAX_PATH_SEGMENTS`].
pub fn parse(path: &str) -> Result<Vec<Segment>, String> {
    if path.trim().is_empty() {
        return Err("empty path".into());
    }
    let mut segs = Vec::new();
    for part in path.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            segs.push(Segment::Key(name.to_string()));
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
            segs.push(Segment::Index(idx));
            rest = &r[end + 1..];
        }
        if !rest.is_empty() {
            return Err(format!("unexpected `{rest}` in path `{path}`"));
        }
        if segs.len() > MAX_PATH_SEGMENTS {
            return Err(format!(
                "path `{}...` is deeper than {MAX_PATH_SEGMENTS} segments",
                path.chars().take(60).collect::<String>()
            ));
        }
    }
    Ok(segs)
}

/// The child of a value at one segment: a table key, an array index, or the array element whose
/// `id` is the key.
pub fn child<'a>(v: &'a Value, s: &Segment) -> Option<&'a Value> {
    match (v, s) {
        (Value::Table(t), Segment::Key(k)) => t.get(k),
        (Value::Array(a), Segment::Index(i)) => a.get(*i),
        (Value::Array(a), Segment::Key(k)) => a
            .iter()
            .find(|x| x.get("id").and_then(Value::as_str) == Some(k)),
        _ => None,
    }
}

/// The mutable child of a value at one segment (see [`child`]).
pub fn child_mut<'a>(v: &'a mut Value, s: &Segment) -> Option<&'a mut Value> {
    match (v, s) {
        (Value::Table(t), Segment::Key(k)) => t.get_mut(k),
        (Value::Array(a), Segment::Index(i)) => a.get_mut(*i),
        (Value::Array(a), Segment::Key(k)) => a
            .iter_mut()
            .find(|x| x.get("id").and_then(Value::as_str) == Some(k)),
        _ => None,
    }
}

/// The value at a dotted path, if the path reads and leads somewhere.
pub fn navigate<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    let segs = parse(path).ok()?;
    segs.iter().try_fold(root, child)
}

/// The provider a path edits (`providers.ID...`), if it names one by id.
pub fn provider_id(path: &str) -> Option<String> {
    match parse(path).ok()?.as_slice() {
        [Segment::Key(p), Segment::Key(id), ..] if p == "providers" => Some(id.clone()),
        _ => None,
    }
}

/// The last key of a path (`count` in `ccgs.generate.count`), skipping trailing indices.
pub fn last_key(path: &str) -> Option<String> {
    parse(path).ok()?.into_iter().rev().find_map(|s| match s {
        Segment::Key(k) => Some(k),
        Segment::Index(_) => None,
    })
}

/// The path's prefixes, shortest first: `a`, `a.b`, `a.b.c` for `a.b.c`.
pub fn prefixes(path: &str) -> Vec<String> {
    let Ok(segs) = parse(path) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(segs.len());
    let mut at = String::new();
    for s in &segs {
        match s {
            Segment::Key(k) if !at.is_empty() => at.push_str(&format!(".{k}")),
            Segment::Key(k) => at.push_str(k),
            Segment::Index(i) => at.push_str(&format!("[{i}]")),
        }
        out.push(at.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keys_and_indices() {
        assert_eq!(
            parse("providers[3].services.bi").unwrap(),
            vec![
                Segment::Key("providers".into()),
                Segment::Index(3),
                Segment::Key("services".into()),
                Segment::Key("bi".into())
            ]
        );
        assert!(parse("a..b").is_err());
        assert!(parse("a[x]").is_err());
        assert!(parse("a[1").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn refuses_paths_deeper_than_the_cap() {
        let deep = vec!["a"; MAX_PATH_SEGMENTS + 1].join(".");
        let e = parse(&deep).unwrap_err();
        assert!(e.contains("deeper than"), "{e}");
        assert!(parse(&vec!["a"; MAX_PATH_SEGMENTS].join(".")).is_ok());
    }

    #[test]
    fn navigate_finds_elements_by_id_and_index() {
        let v: Value =
            toml::from_str("a = [{ id = \"x\", b = 2 }, { id = \"y\", b = 3 }]").unwrap();
        assert_eq!(navigate(&v, "a.y.b"), Some(&Value::Integer(3)));
        assert_eq!(navigate(&v, "a[0].b"), Some(&Value::Integer(2)));
        assert_eq!(navigate(&v, "a.z.b"), None);
    }

    #[test]
    fn names_the_provider_last_key_and_prefixes() {
        assert_eq!(
            provider_id("providers.essex.services.bi.capacity").as_deref(),
            Some("essex")
        );
        assert_eq!(provider_id("services.bi.locality"), None);
        assert_eq!(last_key("ccgs.generate.count").as_deref(), Some("count"));
        assert_eq!(prefixes("a.b[1].c"), vec!["a", "a.b", "a.b[1]", "a.b[1].c"]);
    }
}
