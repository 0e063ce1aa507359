//! The report's document rendered as `report.md`: a Markdown summary for pasting into a paper,
//! the charts as images beside it.

use std::fmt::Write as _;

use super::document::{Block, Document};
use super::tables::Table;

/// `report.md` of a document.
pub fn render(d: &Document) -> String {
    let mut s = format!("# {}\n\n", d.title);
    for x in &d.sections {
        // One blank line before each heading, whatever the block before ended with.
        if !s.ends_with("\n\n") {
            s.push('\n');
        }
        let _ = writeln!(s, "## {}\n", x.heading);
        for b in &x.blocks {
            block(&mut s, b);
        }
    }
    s
}

fn block(s: &mut String, b: &Block) {
    match b {
        Block::Facts(facts) => {
            for (k, v) in facts {
                let _ = writeln!(s, "- **{k}:** {}", v.replace('\n', " "));
            }
        }
        Block::Descriptions(items) => {
            for (n, d) in items.iter().filter(|(_, d)| !d.is_empty()) {
                let _ = writeln!(s, "- **{n}:** {d}");
            }
        }
        Block::Findings(findings) => {
            for f in findings {
                let _ = writeln!(s, "- {f}");
            }
        }
        Block::Chart(c) => {
            let _ = writeln!(
                s,
                "![{}]({})\n",
                c.title,
                crate::export::layout::chart_png(&c.name)
            );
        }
        Block::Table(t) => s.push_str(&table(t)),
        // The files are named where the HTML report is read; Markdown is for pasting.
        Block::FilesNote(_) => {}
    }
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn table(t: &Table) -> String {
    let mut s = format!("*{}*\n\n", md_cell(&t.caption));
    let _ = writeln!(
        s,
        "| {} |",
        t.header
            .iter()
            .map(|h| md_cell(h))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(s, "|{}", "---|".repeat(t.header.len()));
    for r in &t.rows {
        let _ = writeln!(
            s,
            "| {} |",
            r.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | ")
        );
    }
    s.push('\n');
    s
}
