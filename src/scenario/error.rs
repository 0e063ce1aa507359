//! Errors in scenario files: each names the file, line and column where it can, the field path,
//! what was wrong and what is allowed.

use std::fmt;

/// One problem found in a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// File the problem is in.
    pub file: String,
    /// 1-based line and column, when the position is known.
    pub position: Option<(usize, usize)>,
    /// Field path, e.g. `providers[3].services.bi.capacity`; empty for the whole file.
    pub path: String,
    /// What was wrong and what is allowed.
    pub message: String,
    /// The configuration whose edits produced the problem, if any.
    pub configuration: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some((line, col)) = self.position {
            write!(f, ":{line}:{col}")?;
        }
        if let Some(c) = &self.configuration {
            write!(f, ": in configuration `{c}`")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{file}: cannot read the scenario file: {source}")]
    Read {
        /// The file.
        file: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file was read but is not a valid scenario.
    #[error("{}", render(.0))]
    Invalid(Vec<Problem>),
    /// A configuration name that the scenario does not define.
    #[error("unknown configuration `{name}`; the scenario defines: {}", .available.join(", "))]
    UnknownConfiguration {
        /// The name asked for.
        name: String,
        /// The names that exist.
        available: Vec<String>,
    },
}

impl ScenarioError {
    /// The problems, when the scenario is invalid.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ScenarioError::Invalid(p) => p,
            _ => &[],
        }
    }
}

fn render(problems: &[Problem]) -> String {
    let mut s = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str(&p.to_string());
    }
    if problems.len() > 1 {
        s.push_str(&format!("\n{} problems found", problems.len()));
    }
    s
}

/// Turns a byte offset into a 1-based (line, column), counting columns in characters.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let t = "a = 1\nbc = 2\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 6), (2, 1));
        assert_eq!(line_col(t, 8), (2, 3));
    }

    #[test]
    fn problem_display_names_file_position_path_and_message() {
        let p = Problem {
            file: "m.toml".into(),
            position: Some((3, 7)),
            path: "providers[1].services.bi.capacity".into(),
            message: "must be at least 0, got -5".into(),
            configuration: None,
        };
        assert_eq!(
            p.to_string(),
            "m.toml:3:7: providers[1].services.bi.capacity: must be at least 0, got -5"
        );
    }
}
