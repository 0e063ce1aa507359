//! The report an analyst can hand on: `report.html`, one self-contained file (charts inlined as
//! SVG, no scripts, no network), and `report.md`, a Markdown summary for pasting into a paper.

pub mod document;
pub mod explore;
pub mod findings;
pub mod html;
pub mod markdown;
pub mod tables;
pub mod verdict;
pub mod why;

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
pub const SECTIONS: [(&str, &str); 7] = [
    ("run", "What was run"),
    ("verdict", "Verdict"),
    ("findings", "Findings that matter"),
    ("why", "Why providers are stopped"),
    ("charts", "Charts"),
    ("tables", "Tables"),
    ("method", "Method and glossary"),
];

/// Why-sentences shown per configuration before the rest are folded.
const FIRST_REASONS: usize = 3;

/// How many findings the first screen shows; the rest are folded.
const FIRST_FINDINGS: usize = 3;

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

/// The findings that matter, first: why providers of the baseline are stopped, and what the
/// configuration that saves CCGs most changes (its paired cost and survival differences).
fn key_findings(input: &ReportInput) -> Vec<String> {
    let mut key = Vec::new();
    let c = input.comparison;
    if let Some(base) = input
        .summaries
        .iter()
        .find(|s| s.configuration == c.baseline)
    {
        // Why the provider the baseline stops most often is stopped; else who is stopped.
        match why::why_findings(base, input.labels).into_iter().next() {
            Some((_, reason)) => key.push(reason),
            None => key.extend(
                findings::configuration_findings(base, input.labels)
                    .into_iter()
                    .filter(|f| f.contains(" is stopped at "))
                    .take(1),
            ),
        }
    }
    let cost = |k: &crate::compare::Contrast| {
        k.get(&crate::compare::Measure::Market(
            crate::experiment::MarketFigure::CostPerHead,
        ))
        .and_then(|p| p.estimate())
        .map_or(f64::INFINITY, |e| e.diff)
    };
    if let Some(cheapest) = c
        .contrasts
        .iter()
        .min_by(|a, b| cost(a).total_cmp(&cost(b)))
    {
        let one = Comparison {
            contrasts: vec![cheapest.clone()],
            ..c.clone()
        };
        key.extend(findings::comparison_findings(&one, input.summaries));
    }
    key.truncate(FIRST_FINDINGS);
    key
}

/// What was run, in brief (the first screen).
fn run_facts(info: &RunInfo) -> Vec<(String, String)> {
    let r = &info.provenance;
    vec![
        ("Scenario", format!("{} ({})", r.scenario, r.scenario_file)),
        (
            "Configurations",
            info.configurations
                .iter()
                .map(|(n, _)| n.clone())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("Baseline", r.configuration.clone()),
        ("Runs per configuration", r.replications.to_string()),
        ("Seed", r.seed.to_string()),
        ("Parameters", parameters_fact(r)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Whether the model ran calibrated: which posterior sample each run drew its parameters from.
fn parameters_fact(r: &crate::experiment::Provenance) -> String {
    match &r.posterior {
        Some(p) => format!(
            "calibrated: each run draws its parameter values from the posterior sample {} \
             ({} particles of `csmarket calibrate`)",
            p.file, p.rows
        ),
        None => "the scenario's own values (not calibrated)".into(),
    }
}

/// Where the results came from, in full (the method section).
fn provenance_facts(info: &RunInfo) -> Vec<(String, String)> {
    let r = &info.provenance;
    let mut facts = vec![
        ("Scenario SHA-256", r.scenario_sha256.clone()),
        (
            "Threads",
            format!("{} (results do not depend on it)", r.threads),
        ),
        ("csmarket version", r.csmarket_version.clone()),
        ("Date", r.finished.clone()),
        ("Command line", r.command_line.join(" ")),
    ];
    if let Some(p) = &r.posterior {
        facts.insert(
            1,
            ("Posterior SHA-256", format!("{} ({})", p.sha256, p.file)),
        );
    }
    facts.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The model in five lines.
fn model_lines() -> Vec<String> {
    [
        "Each quarter, CCGs whose contracts end choose a supplier for each service line (in-house, their local CSU, a collaborative of CSUs, a national at-scale service, or the independent sector) by a nested logit on price, quality, closeness and inertia.",
        "Providers price at cost plus margin from their fixed and variable costs and deliver up to their capacity, leaving the rest unmet.",
        "At each checkpoint the NHS Commissioning Board rates every open provider A, B or C on three domains (customer share of its target population, projected margin, capability); a C stops it (or, where the scenario says so, merges a local CSU into a neighbour).",
        "After independence a provider whose reserves fall below the insolvency threshold fails and exits, or merges into a neighbouring CSU.",
        "Every run draws CCGs' preferences, demand and quality from its own random streams, so the runs spread the uncertainty of the outcome.",
    ]
    .map(String::from)
    .to_vec()
}

/// Common random numbers, the headline statistic, and where the full description is.
fn method_paragraphs() -> Vec<String> {
    [
        "Common random numbers: run k of every configuration uses the same random streams, so a paired difference (configuration minus baseline, run by run) removes the noise the configurations share; its interval is far narrower than the difference of two independent means.",
        "Headline statistic: the mean over runs, with the band from the 5th to the 95th percentile of the runs (90% of runs fall inside it). Percentiles are exact, read from the values themselves, up to 1,000,000 runs per figure; beyond that they come from a sketch within 0.05% and are marked ≈.",
        "Time: quarters are calendar quarters counted from the scenario's first_quarter (quarter 1); quarter 0 is the planning quarter, when CCGs state intentions and the first checkpoints rate providers.",
        "The full description of the model (ODD protocol) is docs/ODD.md; MODEL.md states every rule. Where these results come from:",
    ]
    .map(String::from)
    .to_vec()
}

/// Each market-wide figure's name in files, unit and meaning, from the one registry.
fn glossary() -> tables::Table {
    use crate::experiment::{MarketFigure, Unit};
    let mut rows: Vec<Vec<String>> = MarketFigure::ALL
        .iter()
        .map(|f| {
            let unit = match f.unit() {
                Unit::PoundsPerHead => "£ per head per year",
                Unit::Share => "share (shown as %)",
                Unit::Providers => "providers",
            };
            vec![
                f.key().to_string(),
                unit.to_string(),
                f.meaning().to_string(),
            ]
        })
        .collect();
    rows.extend(
        [
            ("viable", "yes/no", "every at-scale provider (or those the scenario's [viability] names) survives together in at least the stated share of runs"),
            ("stopped / failed / merged", "providers", "expected number of providers per run stopped at a checkpoint (rated C), failed and left, or failed and merged into a neighbour"),
            ("CCGs re-procuring", "CCGs", "expected number of CCGs per run that had to find a new supplier because a provider they bought from was stopped or failed"),
            ("rating A/B/C", "-", "the Board's assurance rating at a checkpoint: A passes every domain, B is marginal in some, C fails one and stops the provider"),
        ]
        .map(|(a, b, c)| vec![a.to_string(), b.to_string(), c.to_string()]),
    );
    tables::Table {
        caption: "Glossary: each figure, its unit and meaning".into(),
        header: ["figure", "unit", "meaning"].map(String::from).to_vec(),
        rows,
    }
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
            Block::Details(
                "What each configuration is".into(),
                vec![Block::Descriptions(input.run.configurations.clone())],
            ),
        ],
    );
    let verdict = section(
        1,
        vec![
            Block::Table(verdict::table(input.summaries, Some(input.comparison))),
            Block::Paragraphs(vec![verdict::definition(input.summaries)]),
            Block::Findings(verdict::sentences(input.summaries)),
        ],
    );
    let mut all = findings::comparison_findings(input.comparison, input.summaries);
    all.extend(
        input
            .summaries
            .iter()
            .flat_map(|s| findings::configuration_findings(s, input.labels)),
    );
    let key = key_findings(input);
    all.retain(|f| !key.contains(f));
    let mut all: Vec<String> = key.into_iter().chain(all).collect();
    let rest = all.split_off(FIRST_FINDINGS.min(all.len()));
    let mut finding_blocks = vec![Block::Findings(all)];
    if !rest.is_empty() {
        finding_blocks.push(Block::Details(
            format!("{} more findings", rest.len()),
            vec![Block::Findings(rest)],
        ));
    }
    let findings = section(2, finding_blocks);
    let mut why_blocks = vec![Block::Paragraphs(vec![format!(
        "From the checkpoint diagnostics (per configuration, {} in long form): for each provider a checkpoint stops in at least 10% of runs, which assurance domains failed (customer share, projected margin, capability), the domain's value as the mean with the 5-95% band of the runs in which it was rated, against the threshold, and how often.",
        layout::CHECKPOINTS
    )])];
    for s in input.summaries {
        let mut reasons: Vec<String> = why::why_findings(s, input.labels)
            .into_iter()
            .map(|r| r.1)
            .collect();
        if reasons.is_empty() {
            reasons.push(format!(
                "In {}, no provider is stopped at a checkpoint in 10% of runs or more.",
                s.configuration
            ));
        }
        let rest = reasons.split_off(FIRST_REASONS.min(reasons.len()));
        why_blocks.push(Block::Findings(reasons));
        if !rest.is_empty() {
            why_blocks.push(Block::Details(
                format!("{} more in {}", rest.len(), s.configuration),
                vec![Block::Findings(rest)],
            ));
        }
    }
    let why = section(3, why_blocks);
    let charts = section(4, input.charts.iter().cloned().map(Block::Chart).collect());
    let contrasts = !input.comparison.contrasts.is_empty();
    let mut table_blocks = vec![Block::Table(tables::headline(input.summaries))];
    // The market-wide differences in view, every provider's folded (Markdown: under a bold line).
    if contrasts {
        table_blocks.push(Block::Table(tables::differences(
            input.comparison,
            input.summaries,
            Some(0),
        )));
    }
    let mut per_provider = Vec::new();
    if contrasts {
        per_provider.push(Block::Table(tables::differences(
            input.comparison,
            input.summaries,
            None,
        )));
    }
    per_provider.extend([
        Block::Table(tables::survival(input.summaries, input.labels)),
        Block::Table(tables::ratings(input.summaries, input.labels)),
        Block::Table(tables::structure(input.summaries, input.labels)),
    ]);
    table_blocks.push(Block::Details(
        "Per provider: survival, ratings and market structure".into(),
        per_provider,
    ));
    if target == Target::Html {
        table_blocks.push(Block::FilesNote(vec![
            layout::COMPARISON,
            layout::PROVIDERS,
            layout::CHECKPOINTS,
            layout::SERVICES,
            layout::TIMESERIES,
            layout::REPLICATIONS,
            layout::SUMMARY,
        ]));
    }
    let method = section(
        6,
        vec![
            Block::Paragraphs(vec!["The model in five lines:".into()]),
            Block::Findings(model_lines()),
            Block::Table(glossary()),
            Block::Paragraphs(method_paragraphs()),
            Block::Facts(provenance_facts(input.run)),
        ],
    );
    let sections = match target {
        Target::Html => vec![
            run,
            verdict,
            findings,
            why,
            charts,
            section(5, table_blocks),
            method,
        ],
        Target::Markdown => vec![
            run,
            verdict,
            findings,
            why,
            section(5, table_blocks),
            charts,
            method,
        ],
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
                commit: String::new(),
                build_profile: String::new(),
                notes: Vec::new(),
                posterior: None,
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
