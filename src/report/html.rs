//! The report's document rendered as `report.html`: one self-contained page (charts inlined as
//! SVG, no scripts, no network).

use std::fmt::Write as _;

use super::document::{Block, Document};
use super::escape;
use super::tables::Table;

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

/// `report.html` of a document.
pub fn render(d: &Document) -> String {
    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(s, "<title>{}</title>", escape(&d.tab_title));
    let _ = writeln!(s, "<style>{CSS}</style>\n</head>\n<body>");
    let _ = writeln!(s, "<h1>{}</h1>", escape(&d.title));
    let _ = writeln!(s, "<p class=\"lede\">{}</p>", d.lede);
    s.push_str("<nav><ol>");
    for x in &d.sections {
        let _ = write!(s, "<li><a href=\"#{}\">{}</a></li>", x.id, x.heading);
    }
    for x in &d.appendices {
        let _ = write!(
            s,
            "<li><a href=\"#{}\">{}</a></li>",
            escape(&x.id),
            escape(&x.title)
        );
    }
    s.push_str("</ol></nav>\n");
    for x in &d.sections {
        let _ = writeln!(s, "<section id=\"{}\">\n<h2>{}</h2>", x.id, x.heading);
        for b in &x.blocks {
            block(&mut s, b);
        }
        s.push_str("</section>\n");
    }
    for x in &d.appendices {
        let _ = writeln!(s, "<div id=\"{}\">\n{}\n</div>", escape(&x.id), x.html);
    }
    s.push_str("</body>\n</html>\n");
    s
}

fn block(s: &mut String, b: &Block) {
    match b {
        Block::Facts(facts) => {
            s.push_str("<dl class=\"facts\">\n");
            for (k, v) in facts {
                let _ = writeln!(s, "<dt>{k}</dt><dd>{}</dd>", escape(v));
            }
            s.push_str("</dl>\n");
        }
        Block::Descriptions(items) => {
            if items.iter().any(|(_, d)| !d.is_empty()) {
                s.push_str("<dl class=\"facts\" style=\"margin-top:.8rem\">\n");
                for (n, d) in items {
                    let _ = writeln!(s, "<dt>{}</dt><dd>{}</dd>", escape(n), escape(d));
                }
                s.push_str("</dl>\n");
            }
        }
        Block::Findings(findings) => {
            s.push_str("<ul class=\"findings\">\n");
            for f in findings {
                let _ = writeln!(s, "<li>{}</li>", escape(f));
            }
            s.push_str("</ul>\n");
        }
        Block::Chart(c) => {
            let _ = writeln!(
                s,
                "<figure id=\"chart-{}\">\n<figcaption>{} <small>(<code>{}</code>, <code>{}</code>)</small></figcaption>\n{}\n</figure>",
                escape(&c.name),
                escape(&c.title),
                escape(&crate::export::layout::chart_svg(&c.name)),
                escape(&crate::export::layout::chart_png(&c.name)),
                inline_svg(&c.svg, c.size.0, Some(&c.title))
            );
        }
        Block::Table(t) => s.push_str(&table(t)),
        Block::FilesNote(files) => {
            let code = |f: &&str| format!("<code>{f}</code>");
            let (first, rest) = files
                .split_first()
                .map_or((String::new(), &[][..]), |(f, r)| (code(f), r));
            let (last, middle) = rest
                .split_last()
                .map_or((String::new(), &[][..]), |(l, m)| (code(l), m));
            let _ = writeln!(
                s,
                "<p>Every figure is also in the files beside this report: {first}, and per \
                 configuration {} and {last}.</p>",
                middle.iter().map(code).collect::<Vec<_>>().join(", ")
            );
        }
    }
}

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

fn table(t: &Table) -> String {
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
