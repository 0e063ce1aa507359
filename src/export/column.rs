//! A column of a file csmarket writes, as the data dictionary (`columns.csv`) states it: the
//! exporters declare their columns with it, and the dictionary is made from those declarations.

/// A column of a file csmarket writes, for the data dictionary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The file.
    pub file: &'static str,
    /// The column's name.
    pub name: String,
    /// What it counts in.
    pub unit: String,
    /// What it means.
    pub meaning: String,
}

/// A column of `file`.
pub fn column(file: &'static str, name: &str, unit: &str, meaning: &str) -> Column {
    Column {
        file,
        name: name.into(),
        unit: unit.into(),
        meaning: meaning.into(),
    }
}

/// `columns.csv`: the data dictionary.
pub fn columns_csv(columns: &[Column]) -> anyhow::Result<Vec<u8>> {
    let mut rows = vec![
        ["file", "column", "unit", "meaning"]
            .map(String::from)
            .to_vec(),
    ];
    rows.extend(columns.iter().map(|c| {
        vec![
            c.file.to_string(),
            c.name.clone(),
            c.unit.clone(),
            c.meaning.clone(),
        ]
    }));
    super::to_csv(rows)
}

/// What a quantile column (`p05`, `p50`, `p95`) holds.
fn quantile_meaning(q: &str) -> &'static str {
    match q {
        "p05" => "5th percentile over runs of",
        "p50" => "median over runs of",
        "p95" => "95th percentile over runs of",
        _ => "quantile over runs of",
    }
}

/// The columns of a figure summarised over runs: `<name>_mean`, then `<name>_<q>` for each of
/// `quantiles` (`p05`, `p50`, `p95`).
pub fn stat_columns(
    file: &'static str,
    name: &str,
    unit: &str,
    what: &str,
    quantiles: &[&str],
) -> Vec<Column> {
    let mut c = vec![column(
        file,
        &format!("{name}_mean"),
        unit,
        &format!("mean over runs of {what}"),
    )];
    c.extend(quantiles.iter().map(|q| {
        column(
            file,
            &format!("{name}_{q}"),
            unit,
            &format!("{} {what}", quantile_meaning(q)),
        )
    }));
    c
}

/// Whether `pattern`, a column name of the dictionary, names `name`: a part in angle brackets
/// (`fate_<provider>`) stands for any non-empty text, as the dictionary's families of columns
/// (one per provider, per checkpoint) are written.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    let Some(open) = pattern.find('<') else {
        return pattern == name;
    };
    let Some(close) = pattern[open..].find('>').map(|k| open + k) else {
        return pattern == name;
    };
    let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
    let Some(rest) = name.strip_prefix(head) else {
        return false;
    };
    // The placeholder takes at least one character; the rest of the pattern matches what follows.
    rest.char_indices()
        .map(|(i, c)| i + c.len_utf8())
        .any(|end| name_matches(tail, &rest[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_placeholder_stands_for_any_non_empty_text() {
        assert!(name_matches("fate_<provider>", "fate_nhs-comms"));
        assert!(!name_matches("fate_<provider>", "fate_"));
        assert!(name_matches("p_<checkpoint>_A", "p_review-2014_A"));
        assert!(!name_matches("p_<checkpoint>_A", "p_cp2_B"));
        assert!(name_matches("<provider>.p_survive", "a.b.p_survive"));
        assert!(!name_matches("<provider>.p_survive", "a.p_survive_lo"));
        assert!(name_matches("config", "config"));
        assert!(!name_matches("config", "configuration"));
    }
}
