//! The report as one document model: sections of blocks (facts, findings, charts, tables), built
//! once from what was run and rendered as HTML ([`super::html`](mod@super::html)) or Markdown ([`super::markdown`](mod@super::markdown)).

use crate::charts::Rendered;

use super::explore::ExtraSection;
use super::tables::Table;

/// A report: a title, a lede, sections in order, and appendices (the exploration sections, which
/// carry their own HTML).
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The heading at the top.
    pub title: String,
    /// The page's title in a browser tab.
    pub tab_title: String,
    /// One sentence under the heading, as HTML (the page shows it; the Markdown summary does not).
    pub lede: String,
    /// The sections, in reading order.
    pub sections: Vec<Section>,
    /// Sections made elsewhere as HTML (sweeps, sensitivity, back-tests), after the rest.
    pub appendices: Vec<ExtraSection>,
}

/// A section: an anchor, a heading and its blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Anchor id.
    pub id: String,
    /// Heading.
    pub heading: String,
    /// Contents, in order.
    pub blocks: Vec<Block>,
}

/// A piece of a section.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Named facts (what was run).
    Facts(Vec<(String, String)>),
    /// Named descriptions (of configurations); those with an empty text are left out.
    Descriptions(Vec<(String, String)>),
    /// Findings, one sentence each.
    Findings(Vec<String>),
    /// A chart, inlined as SVG in HTML and linked as PNG in Markdown.
    Chart(Rendered),
    /// A table.
    Table(Table),
    /// A note naming the files beside the report.
    FilesNote(Vec<&'static str>),
}
