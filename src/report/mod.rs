//! The report an analyst can hand on: `report.html`, one self-contained file (charts inlined as
//! SVG, no scripts, no network), and `report.md`, a Markdown summary for pasting into a paper.

pub mod document;
pub mod explore;
pub mod findings;
pub mod html;
pub mod markdown;
pub mod tables;

use serde::{Deserialize, Serialize};

use crate::charts::{Labels, Rendered};
use crate::compare::Comparison;
use crate::experiment::{Provenance, Summary};
use crate::export::{Exporter, layout};
use document::{Block, Document, Section};

/// What was run, as the report states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Where the comparison came from: its configuration is the baseline, its replications are
    /// per configuration, and its finish time is the report's date.
    pub provenance: Provenance,
    /// Configurations compared, with their descriptions, in order.
    pub configurations: Vec<(String, String)>,
}

/// Everything a report is made from.
pub struct ReportInput<'a> {
    /// What was run.
    pub run: &'a RunInfo,
    /// One summary per configuration, in order.
    pub summaries: &'a [Summary],
    /// Paired differences against the baseline.
    pub comparison: &'a Comparison,
    /// Display names.
    pub labels: &'a Labels,
    /// Charts to show, in order.
    pub charts: &'a [Rendered],
    /// Sweep, sensitivity and back-test sections found beside the comparison.
    pub extra: &'a [explore::ExtraSection],
}

/// The report's sections, in order: id and heading. Tests check every one is present.
pub const SECTIONS: [(&str, &str); 4] = [
    ("run", "What was run"),
    ("findings", "Headline findings"),
    ("charts", "Charts"),
    ("tables", "Tables"),
];

/// Escapes text for HTML.
pub use crate::export::html_escape as escape;
pub(crate) use html::inline_svg;

/// Every finding: per configuration, then the paired differences.
pub fn all_findings(input: &ReportInput) -> Vec<String> {
    let mut out: Vec<String> = input
        .summaries
        .iter()
        .flat_map(|s| findings::configuration_findings(s, input.labels))
        .collect();
    out.extend(findings::comparison_findings(
        input.comparison,
        input.summaries,
    ));
    out
}

fn run_facts(info: &RunInfo) -> Vec<(String, String)> {
    let r = &info.provenance;
    vec![
        ("Scenario", format!("{} ({})", r.scenario, r.scenario_file)),
        ("Scenario SHA-256", r.scenario_sha256.clone()),
        (
            "Configurations",
            info.configurations
                .iter()
                .map(|(n, _)| n.clone())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("Baseline for paired differences", r.configuration.clone()),
        ("Replications per configuration", r.replications.to_string()),
        ("Seed", r.seed.to_string()),
        (
            "Threads",
            format!("{} (results do not depend on it)", r.threads),
        ),
        ("csmarket version", r.csmarket_version.clone()),
        ("Date", r.finished.clone()),
        ("Command line", r.command_line.join(" ")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// What a document is rendered as; the page holds everything, the Markdown summary the main
/// tables before the charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `report.html`.
    Html,
    /// `report.md`.
    Markdown,
}

/// The report as a document for `target`.
pub fn document(input: &ReportInput, target: Target) -> Document {
    let r = &input.run.provenance;
    let section = |i: usize, blocks: Vec<Block>| Section {
        id: SECTIONS[i].0.to_string(),
        heading: SECTIONS[i].1.to_string(),
        blocks,
    };
    let run = section(
        0,
        vec![
            Block::Facts(run_facts(input.run)),
            Block::Descriptions(input.run.configurations.clone()),
        ],
    );
    let findings = section(1, vec![Block::Findings(all_findings(input))]);
    let charts = section(2, input.charts.iter().cloned().map(Block::Chart).collect());
    let contrasts = !input.comparison.contrasts.is_empty();
    let mut table_blocks = vec![Block::Table(tables::headline(input.summaries))];
    let sections = match target {
        Target::Html => {
            if contrasts {
                table_blocks.push(Block::Table(tables::differences(
                    input.comparison,
                    input.summaries,
                    None,
                )));
            }
            table_blocks.extend([
                Block::Table(tables::survival(input.summaries, input.labels)),
                Block::Table(tables::ratings(input.summaries, input.labels)),
                Block::Table(tables::structure(input.summaries, input.labels)),
                Block::FilesNote(vec![
                    layout::COMPARISON,
                    layout::PROVIDERS,
                    layout::SERVICES,
                    layout::TIMESERIES,
                    layout::REPLICATIONS,
                    layout::SUMMARY,
                ]),
            ]);
            vec![run, findings, charts, section(3, table_blocks)]
        }
        Target::Markdown => {
            if contrasts {
                table_blocks.push(Block::Table(tables::differences(
                    input.comparison,
                    input.summaries,
                    Some(5),
                )));
            }
            vec![run, findings, section(3, table_blocks), charts]
        }
    };
    Document {
        title: format!("{}: comparison of configurations", r.scenario),
        tab_title: format!("{} - comparison of configurations", r.scenario),
        lede: format!(
            "{} configurations, {} runs each on common random numbers, compared against <strong>{}</strong>.",
            input.run.configurations.len(),
            r.replications,
            escape(&r.configuration)
        ),
        sections,
        appendices: match target {
            Target::Html => input.extra.to_vec(),
            Target::Markdown => Vec::new(),
        },
    }
}

/// `report.html`: one self-contained page.
pub fn html(input: &ReportInput) -> String {
    html::render(&document(input, Target::Html))
}

/// `report.md`: what was run, the findings, the main tables and the charts as images beside it.
pub fn markdown(input: &ReportInput) -> String {
    markdown::render(&document(input, Target::Markdown))
}

/// A file of the report.
#[derive(Clone, Copy)]
pub enum ReportExport<'a> {
    /// `report.html`.
    Html(&'a ReportInput<'a>),
    /// `report.md`.
    Markdown(&'a ReportInput<'a>),
}

impl Exporter for ReportExport<'_> {
    fn file_name(&self) -> String {
        match self {
            ReportExport::Html(_) => layout::REPORT_HTML,
            ReportExport::Markdown(_) => layout::REPORT_MD,
        }
        .into()
    }

    fn bytes(&self) -> anyhow::Result<Vec<u8>> {
        Ok(match self {
            ReportExport::Html(input) => html(input),
            ReportExport::Markdown(input) => markdown(input),
        }
        .into_bytes())
    }
}

/// The report's files, `report.html` and `report.md`.
pub fn files<'a>(input: &'a ReportInput<'a>) -> [ReportExport<'a>; 2] {
    [ReportExport::Html(input), ReportExport::Markdown(input)]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two configurations of the small market, 8 paired runs, and the report's input.
    fn with_input(check: impl FnOnce(&ReportInput)) {
        let scenario = crate::scenario::Scenario::from_text(
            "small.toml",
            include_str!("../../tests/fixtures/small.toml"),
        )
        .unwrap();
        let names = ["local", "national"];
        let markets: Vec<crate::model::Market> = names
            .iter()
            .map(|n| crate::model::Market::compile(&scenario.resolve(n).unwrap(), n).unwrap())
            .collect();
        let out = crate::compare::run(&markets, 0, 0..8, 1, &mut |_, _| Ok(()), &|_| {}).unwrap();
        let labels = Labels::from_markets(&markets);
        let run = RunInfo {
            provenance: Provenance {
                csmarket_version: "test".into(),
                scenario: "small <market>".into(),
                scenario_file: "small.toml".into(),
                scenario_sha256: "x".into(),
                configuration: "local".into(),
                seed: 1,
                first_replication: Some(0),
                replications: 8,
                threads: 1,
                started: String::new(),
                finished: String::new(),
                command_line: Vec::new(),
            },
            configurations: names
                .iter()
                .map(|n| (n.to_string(), String::new()))
                .collect(),
        };
        check(&ReportInput {
            run: &run,
            summaries: &out.summaries,
            comparison: &out.comparison,
            labels: &labels,
            charts: &[],
            extra: &[],
        });
    }

    #[test]
    fn html_and_markdown_render_one_document_model() {
        with_input(|input| {
            let page = document(input, Target::Html);
            let summary = document(input, Target::Markdown);
            let ids = |d: &Document| {
                let mut v: Vec<String> = d.sections.iter().map(|s| s.id.clone()).collect();
                v.sort();
                v
            };
            let mut all: Vec<String> = SECTIONS.iter().map(|(id, _)| id.to_string()).collect();
            all.sort();
            assert_eq!(ids(&page), all);
            assert_eq!(ids(&summary), all);
            // The same facts and findings, and every table of the summary is on the page.
            assert_eq!(page.sections[0], summary.sections[0]);
            assert_eq!(page.sections[1], summary.sections[1]);
            let captions = |d: &Document| -> Vec<String> {
                d.sections
                    .iter()
                    .flat_map(|s| &s.blocks)
                    .filter_map(|b| match b {
                        Block::Table(t) => Some(t.caption.clone()),
                        _ => None,
                    })
                    .collect()
            };
            for c in captions(&summary) {
                assert!(captions(&page).contains(&c), "{c}");
            }
            // Each renderer escapes (HTML) or keeps (Markdown) the same title.
            assert!(html::render(&page).contains("<h1>small &lt;market&gt;: comparison"));
            assert!(markdown::render(&summary).starts_with("# small <market>: comparison"));
        });
    }

    #[test]
    fn escape_makes_text_safe_for_html() {
        assert_eq!(escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }

    #[test]
    fn inlined_svg_drops_size_and_namespace_url() {
        use super::html::inline_svg;
        let c = Rendered {
            name: "x".into(),
            title: "X & Y".into(),
            size: (300, 200),
            svg: r#"<svg width="300" height="200" viewBox="0 0 300 200" xmlns="http://www.w3.org/2000/svg"><rect/></svg>"#.into(),
            png: Vec::new(),
        };
        let s = inline_svg(&c.svg, c.size.0, Some(&c.title));
        assert!(!s.contains("http"), "{s}");
        assert!(
            s.starts_with(r#"<svg viewBox="0 0 300 200" role="img" aria-label="X &amp; Y""#),
            "{s}"
        );
        assert!(s.ends_with("<rect/></svg>"));
    }
}
