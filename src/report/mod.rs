//! The report an analyst can hand on: `report.html`, one self-contained file (charts inlined as
//! SVG, no scripts, no network), and `report.md`, a Markdown summary for pasting into a paper.

pub mod explore;
pub mod findings;
pub mod tables;

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::charts::{Labels, Rendered};
use crate::compare::Comparison;
use crate::experiment::{Provenance, Summary};
use crate::export::{Exporter, layout};
use tables::Table;

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

/// Prepares a chart's SVG for inlining: no XML namespace URL (HTML needs none, and the report then
/// holds no `http` reference at all), scaled to the page width (at most `width` pixels), and
/// labelled for screen readers when a label is given.
pub(crate) fn inline_svg(svg: &str, width: u32, label: Option<&str>) -> String {
    let svg = svg.replacen(r#" xmlns="http://www.w3.org/2000/svg""#, "", 1);
    let Some(start) = svg.find("<svg") else {
        return String::new();
    };
    let Some(end) = svg[start..].find('>').map(|i| start + i) else {
        return String::new();
    };
    let open = &svg[start..end];
    let open = open
        .split(' ')
        .filter(|a| !a.starts_with("width=") && !a.starts_with("height="))
        .collect::<Vec<_>>()
        .join(" ");
    let label = label.map_or_else(String::new, |l| {
        format!(r#" role="img" aria-label="{}""#, escape(l))
    });
    format!(
        r#"{open}{label} style="width:100%;max-width:{width}px;height:auto">{}"#,
        &svg[end + 1..]
    )
}

fn html_table(t: &Table) -> String {
    let mut s = String::from("<div class=\"scroll\"><table>\n");
    let _ = writeln!(s, "<caption>{}</caption>", escape(&t.caption));
    s.push_str("<thead><tr>");
    for h in &t.header {
        let _ = write!(s, "<th>{}</th>", escape(h));
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for r in &t.rows {
        s.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            if i == 0 {
                let _ = write!(s, "<th scope=\"row\">{}</th>", escape(c));
            } else {
                let _ = write!(s, "<td>{}</td>", escape(c));
            }
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table></div>\n");
    s
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn md_table(t: &Table) -> String {
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

fn run_facts(info: &RunInfo) -> Vec<(&'static str, String)> {
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
}

const CSS: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:#212121;
max-width:1240px;margin:0 auto;padding:24px 28px 64px;line-height:1.5;background:#fff}
h1{font-size:1.9rem;margin:0 0 .2rem}h2{font-size:1.4rem;margin:2.2rem 0 .6rem;border-bottom:2px solid #ddd;padding-bottom:.2rem}
.lede{color:#555;margin-top:0}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1.2rem;margin:0}
dl.facts dt{font-weight:600}dl.facts dd{margin:0;overflow-wrap:anywhere}
ul.findings li{margin:.35rem 0}
figure{margin:1.6rem 0;padding:0}figcaption{font-weight:600;margin-bottom:.4rem}
nav ol{columns:2;margin:.4rem 0}
.scroll{overflow-x:auto;margin:1rem 0 1.6rem}
table{border-collapse:collapse;font-size:.9rem;min-width:50%}
caption{text-align:left;font-weight:600;padding:.3rem 0}
th,td{border:1px solid #d6d6d6;padding:.25rem .55rem;text-align:left;vertical-align:top}
thead th{background:#f2f2f2}tbody tr:nth-child(even){background:#fafafa}
td{font-variant-numeric:tabular-nums;white-space:nowrap}
code{font-size:.9em;background:#f4f4f4;padding:0 .2em}
";

/// `report.html`: one self-contained page.
pub fn html(input: &ReportInput) -> String {
    let r = input.run;
    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        s,
        "<title>{} - comparison of configurations</title>",
        escape(&r.provenance.scenario)
    );
    let _ = writeln!(s, "<style>{CSS}</style>\n</head>\n<body>");
    let _ = writeln!(
        s,
        "<h1>{}: comparison of configurations</h1>",
        escape(&r.provenance.scenario)
    );
    let _ = writeln!(
        s,
        "<p class=\"lede\">{} configurations, {} runs each on common random numbers, compared against <strong>{}</strong>.</p>",
        r.configurations.len(),
        r.provenance.replications,
        escape(&r.provenance.configuration)
    );
    s.push_str("<nav><ol>");
    for (id, title) in SECTIONS {
        let _ = write!(s, "<li><a href=\"#{id}\">{title}</a></li>");
    }
    for x in input.extra {
        let _ = write!(
            s,
            "<li><a href=\"#{}\">{}</a></li>",
            escape(&x.id),
            escape(&x.title)
        );
    }
    s.push_str("</ol></nav>\n");

    let _ = writeln!(
        s,
        "<section id=\"run\">\n<h2>{}</h2>\n<dl class=\"facts\">",
        SECTIONS[0].1
    );
    for (k, v) in run_facts(r) {
        let _ = writeln!(s, "<dt>{k}</dt><dd>{}</dd>", escape(&v));
    }
    s.push_str("</dl>\n");
    if r.configurations.iter().any(|(_, d)| !d.is_empty()) {
        s.push_str("<dl class=\"facts\" style=\"margin-top:.8rem\">\n");
        for (n, d) in &r.configurations {
            let _ = writeln!(s, "<dt>{}</dt><dd>{}</dd>", escape(n), escape(d));
        }
        s.push_str("</dl>\n");
    }
    s.push_str("</section>\n");

    let _ = writeln!(
        s,
        "<section id=\"findings\">\n<h2>{}</h2>\n<ul class=\"findings\">",
        SECTIONS[1].1
    );
    for f in all_findings(input) {
        let _ = writeln!(s, "<li>{}</li>", escape(&f));
    }
    s.push_str("</ul>\n</section>\n");

    let _ = writeln!(s, "<section id=\"charts\">\n<h2>{}</h2>", SECTIONS[2].1);
    for c in input.charts {
        let _ = writeln!(
            s,
            "<figure id=\"chart-{}\">\n<figcaption>{} <small>(<code>{}</code>, <code>{}</code>)</small></figcaption>\n{}\n</figure>",
            escape(&c.name),
            escape(&c.title),
            escape(&layout::chart_svg(&c.name)),
            escape(&layout::chart_png(&c.name)),
            inline_svg(&c.svg, c.size.0, Some(&c.title))
        );
    }
    s.push_str("</section>\n");

    let _ = writeln!(s, "<section id=\"tables\">\n<h2>{}</h2>", SECTIONS[3].1);
    s.push_str(&html_table(&tables::headline(input.summaries)));
    if !input.comparison.contrasts.is_empty() {
        s.push_str(&html_table(&tables::differences(
            input.comparison,
            input.summaries,
            None,
        )));
    }
    s.push_str(&html_table(&tables::survival(
        input.summaries,
        input.labels,
    )));
    s.push_str(&html_table(&tables::ratings(input.summaries, input.labels)));
    s.push_str(&html_table(&tables::structure(
        input.summaries,
        input.labels,
    )));
    let _ = writeln!(
        s,
        "<p>Every figure is also in the files beside this report: <code>{}</code>, and per \
         configuration <code>{}</code>, <code>{}</code>, <code>{}</code>, <code>{}</code> and \
         <code>{}</code>.</p>",
        layout::COMPARISON,
        layout::PROVIDERS,
        layout::SERVICES,
        layout::TIMESERIES,
        layout::REPLICATIONS,
        layout::SUMMARY
    );
    s.push_str("</section>\n");
    for x in input.extra {
        let _ = writeln!(s, "<div id=\"{}\">\n{}\n</div>", escape(&x.id), x.html);
    }
    s.push_str("</body>\n</html>\n");
    s
}

/// `report.md`: what was run, the findings, the main tables and the charts as images beside it.
pub fn markdown(input: &ReportInput) -> String {
    let r = input.run;
    let mut s = format!(
        "# {}: comparison of configurations\n\n",
        r.provenance.scenario
    );
    let _ = writeln!(s, "## {}\n", SECTIONS[0].1);
    for (k, v) in run_facts(r) {
        let _ = writeln!(s, "- **{k}:** {}", v.replace('\n', " "));
    }
    for (n, d) in &r.configurations {
        if !d.is_empty() {
            let _ = writeln!(s, "- **{n}:** {d}");
        }
    }
    let _ = writeln!(s, "\n## {}\n", SECTIONS[1].1);
    for f in all_findings(input) {
        let _ = writeln!(s, "- {f}");
    }
    let _ = writeln!(s, "\n## {}\n", SECTIONS[3].1);
    s.push_str(&md_table(&tables::headline(input.summaries)));
    if !input.comparison.contrasts.is_empty() {
        s.push_str(&md_table(&tables::differences(
            input.comparison,
            input.summaries,
            Some(5),
        )));
    }
    let _ = writeln!(s, "## {}\n", SECTIONS[2].1);
    for c in input.charts {
        let _ = writeln!(s, "![{}]({})\n", c.title, layout::chart_png(&c.name));
    }
    s
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

    #[test]
    fn escape_makes_text_safe_for_html() {
        assert_eq!(escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }

    #[test]
    fn inlined_svg_drops_size_and_namespace_url() {
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
