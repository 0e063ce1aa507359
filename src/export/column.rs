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
