//! Text for a terminal: tables folded and sentences wrapped to its width, so that what a command
//! prints stays readable in 80 to 100 columns. The files and the report keep every figure in full.

/// The width when standard output is not a terminal (a pipe, a log, a test): the widest that
/// most terminals and logs show without wrapping.
pub const DEFAULT_WIDTH: usize = 100;
/// The narrowest width folded to: below it a table would be one column a block.
const NARROWEST: usize = 60;
/// Prose is wrapped at no more than this, even in a wider terminal: longer lines are hard to read.
pub const PROSE_WIDTH: usize = 100;
/// Space between columns.
const GAP: &str = "  ";

/// The width to fold tables to: the terminal's when standard output is one, [`DEFAULT_WIDTH`]
/// otherwise (so that a log or a test sees the same text whatever terminal ran it).
pub fn width() -> usize {
    console::Term::stdout()
        .size_checked()
        .map_or(DEFAULT_WIDTH, |(_, cols)| usize::from(cols))
        .max(NARROWEST)
}

/// The width to wrap sentences to.
pub fn prose_width() -> usize {
    width().min(PROSE_WIDTH)
}

fn len(s: &str) -> usize {
    s.chars().count()
}

/// `text` wrapped at spaces into lines of at most `width` characters (a longer word keeps a line
/// of its own), the first line starting with `first` and the others with `rest`; each line ends
/// with a newline.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> String {
    let mut out = String::new();
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && len(&line) + 1 + len(word) > width {
            out.push_str(line.trim_end());
            out.push('\n');
            line = rest.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

/// A figure for a terminal table: four significant digits, no trailing zeros (`14`, `14.14`,
/// `0.5105`, `402080`); the CSV files keep every digit.
pub fn figure(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(0, 6) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A table for the terminal: headings (stacked on several lines where they hold `\n`), rows, and
/// the groups of columns after the first that belong together.
#[derive(Debug, Clone)]
pub struct TerminalTable {
    /// Column headings; `\n` stacks a heading over several lines.
    pub header: Vec<String>,
    /// Rows of cells, as many as the headings.
    pub rows: Vec<Vec<String>>,
    /// Column indices after the first, in groups kept in one block where they fit.
    pub groups: Vec<Vec<usize>>,
}

impl TerminalTable {
    fn column_width(&self, k: usize) -> usize {
        let heading = self.header[k].split('\n').map(len).max().unwrap_or(0);
        self.rows
            .iter()
            .map(|r| r.get(k).map_or(0, |c| len(c)))
            .fold(heading, usize::max)
    }

    /// The blocks of columns shown together: each starts with the first column (the row's name)
    /// and takes whole groups while they fit in `width`; a group wider than a block on its own is
    /// split column by column. A table that fits is one block.
    fn blocks(&self, width: usize) -> Vec<Vec<usize>> {
        let w = |k: usize| self.column_width(k) + GAP.len();
        let start = self.column_width(0);
        let mut blocks: Vec<Vec<usize>> = Vec::new();
        let mut current = vec![0];
        let mut used = start;
        for group in &self.groups {
            let need: usize = group.iter().map(|&k| w(k)).sum();
            if current.len() > 1 && used + need > width {
                blocks.push(std::mem::replace(&mut current, vec![0]));
                used = start;
            }
            for &k in group {
                if current.len() > 1 && used + w(k) > width {
                    blocks.push(std::mem::replace(&mut current, vec![0]));
                    used = start;
                }
                current.push(k);
                used += w(k);
            }
        }
        blocks.push(current);
        blocks
    }

    /// The table as text folded to `width`: the first column left-aligned, the others
    /// right-aligned, headings aligned on their last line, a blank line between blocks.
    pub fn render(&self, width: usize) -> String {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|k| self.column_width(k))
            .collect();
        let line = |cells: &[&str], columns: &[usize]| {
            let mut l = String::new();
            for (&c, &k) in cells.iter().zip(columns) {
                let pad = " ".repeat(widths[k].saturating_sub(len(c)));
                if k == 0 {
                    l.push_str(c);
                    l.push_str(&pad);
                } else {
                    l.push_str(GAP);
                    l.push_str(&pad);
                    l.push_str(c);
                }
            }
            l.trim_end().to_string() + "\n"
        };
        let mut out = String::new();
        for (b, columns) in self.blocks(width).iter().enumerate() {
            if b > 0 {
                out.push('\n');
            }
            let stacked: Vec<Vec<&str>> = columns
                .iter()
                .map(|&k| self.header[k].split('\n').collect())
                .collect();
            let depth = stacked.iter().map(Vec::len).max().unwrap_or(1);
            for i in 0..depth {
                let cells: Vec<&str> = stacked
                    .iter()
                    .map(|parts| {
                        // Aligned on the last line: a shorter heading starts lower.
                        let skip = depth - parts.len();
                        if i < skip { "" } else { parts[i - skip] }
                    })
                    .collect();
                out.push_str(&line(&cells, columns));
            }
            for r in &self.rows {
                let cells: Vec<&str> = columns
                    .iter()
                    .map(|&k| r.get(k).map_or("", String::as_str))
                    .collect();
                out.push_str(&line(&cells, columns));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widest(text: &str) -> usize {
        text.lines().map(len).max().unwrap_or(0)
    }

    #[test]
    fn wrapped_text_keeps_every_word_within_the_width() {
        let text = "one two three four five six seven eight nine ten eleven twelve";
        let w = wrap(text, 20, "- ", "  ");
        assert!(widest(&w) <= 20, "{w}");
        assert!(w.starts_with("- one"));
        assert!(w.lines().skip(1).all(|l| l.starts_with("  ")), "{w}");
        assert_eq!(w.split_whitespace().filter(|x| *x != "-").count(), 12);
        // A word longer than the width keeps a line of its own rather than being cut.
        let long = "a".repeat(30);
        assert_eq!(
            wrap(&format!("x {long} y"), 10, "", ""),
            format!("x\n{long}\ny\n")
        );
    }

    #[test]
    fn a_figure_shows_four_significant_digits_and_no_trailing_zeros() {
        assert_eq!(figure(14.0), "14");
        assert_eq!(figure(14.1400), "14.14");
        assert_eq!(figure(0.51051), "0.5105");
        assert_eq!(figure(402080.465), "402080");
        assert_eq!(figure(-20.371), "-20.37");
        assert_eq!(figure(0.0036), "0.0036");
        assert_eq!(figure(0.0), "0");
        assert_eq!(figure(f64::NAN), "-");
    }

    #[test]
    fn a_table_wider_than_the_width_folds_by_groups_and_repeats_the_first_column() {
        let t = TerminalTable {
            header: ["name", "a", "b\nstacked", "c", "d"]
                .map(String::from)
                .to_vec(),
            rows: vec![
                ["first row", "1111111111", "2", "3333333333", "4"]
                    .map(String::from)
                    .to_vec(),
            ],
            groups: vec![vec![1, 2], vec![3, 4]],
        };
        let wide = t.render(200);
        assert_eq!(wide.lines().count(), 3, "{wide}");
        let folded = t.render(32);
        assert!(widest(&folded) <= 32, "{folded}");
        assert_eq!(folded.matches("first row").count(), 2, "{folded}");
        // The groups stay whole: a and b in the first block, c and d in the second.
        let (one, two) = folded.split_once("\n\n").unwrap();
        assert!(
            one.contains("stacked") && one.contains("1111111111"),
            "{one}"
        );
        assert!(
            two.contains("3333333333") && !two.contains("stacked"),
            "{two}"
        );
    }
}
