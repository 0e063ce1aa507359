//! Sections for sweeps, sensitivity analyses and back-tests found beside the comparison (written by
//! `csmarket sweep|sensitivity|backtest --out` into the same output folder). Each section is made
//! from the tool's plain result and its charts, drawn in memory, inlined so the report stays one
//! self-contained file.

use super::{escape as html_escape, inline_svg};
use crate::charts::Rendered;
use crate::experiment::RatingOutcome;
use crate::explore::backtest::{BacktestResult, outcome_name};
use crate::explore::calibrate::store::Summary as CalibrationSummary;
use crate::explore::sensitivity::SensitivityResult;
use crate::explore::sweep::{SweepResult, describe};
use crate::export::layout::{self, chart};
use crate::export::num;

/// A section of the report beyond the comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraSection {
    /// Anchor id.
    pub id: String,
    /// Heading, for the table of contents.
    pub title: String,
    /// The section's HTML, charts inlined.
    pub html: String,
}

/// Exploration results found beside a comparison, each with its charts.
#[derive(Debug, Clone, Default)]
pub struct Explorations {
    /// A sweep and its charts.
    pub sweep: Option<(SweepResult, Vec<Rendered>)>,
    /// A sensitivity analysis and its charts.
    pub sensitivity: Option<(SensitivityResult, Vec<Rendered>)>,
    /// A back-test and its charts.
    pub backtest: Option<(BacktestResult, Vec<Rendered>)>,
    /// A calibration's summary (its charts need the particles, so the section shows tables).
    pub calibration: Option<CalibrationSummary>,
}

/// The sections for whichever explorations there are, in the order sweep, sensitivity, back-test.
pub fn exploration_sections(x: &Explorations) -> Vec<ExtraSection> {
    let mut out = Vec::new();
    if let Some((r, charts)) = &x.sweep {
        out.push(ExtraSection {
            id: "sweep".into(),
            title: "Parameter sweep".into(),
            html: sweep_section(r, charts),
        });
    }
    if let Some((r, charts)) = &x.sensitivity {
        out.push(ExtraSection {
            id: "sensitivity".into(),
            title: "Sensitivity".into(),
            html: sensitivity_section(r, charts),
        });
    }
    if let Some((r, charts)) = &x.backtest {
        out.push(ExtraSection {
            id: "backtest".into(),
            title: "Back-test".into(),
            html: backtest_section(r, charts),
        });
    }
    if let Some(c) = &x.calibration {
        out.push(ExtraSection {
            id: "calibration".into(),
            title: "Calibration".into(),
            html: calibration_section(c),
        });
    }
    out
}

/// The report's section for a calibration: why it stopped, the posterior of each parameter
/// against its prior, and the posterior predictive fit to each target.
pub fn calibration_section(s: &CalibrationSummary) -> String {
    let o = &s.origin;
    let mut h = String::from("<section class=\"calibration\">\n<h2>Calibration</h2>\n");
    h.push_str(&format!(
        "<p>Configuration <code>{}</code>, seed {}, {} replications per particle, {} generation{}: \
         it {}.</p>\n",
        html_escape(&o.configuration),
        o.seed,
        o.replications,
        s.generations,
        if s.generations == 1 { "" } else { "s" },
        html_escape(&s.stop.describe())
    ));
    if !s.unreachable.is_empty() {
        h.push_str(&format!(
            "<p><strong>Cannot be reached:</strong> no particle comes within one tolerance of \
             {}.</p>\n",
            html_escape(&s.unreachable.join(", "))
        ));
    }
    h.push_str(
        "<div class=\"scroll\"><table>\n<tr><th>parameter</th><th>prior</th><th>median</th><th>90% interval</th></tr>\n",
    );
    for m in &s.marginals {
        h.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{} to {}</td><td>{}</td><td>{} to {}</td></tr>\n",
            html_escape(&m.path),
            readable(m.prior.0),
            readable(m.prior.1),
            readable(m.quantiles[1]),
            readable(m.quantiles[0]),
            readable(m.quantiles[2])
        ));
    }
    h.push_str(
        "</table></div>\n<div class=\"scroll\"><table>\n<tr><th>target</th><th>observed</th><th>predicted mean</th>\
                <th>90% band</th><th>inside</th><th>source</th></tr>\n",
    );
    for f in &s.fit {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} to {}</td><td>{}</td><td class=\"text\">{}</td></tr>\n",
            html_escape(&f.target),
            readable(f.observed),
            readable(f.mean),
            readable(f.band.0),
            readable(f.band.1),
            if f.inside { "yes" } else { "no" },
            html_escape(&f.source)
        ));
    }
    h.push_str("</table></div>\n</section>\n");
    h
}

/// A figure as a reader takes it in: three significant figures, whole numbers of a thousand or
/// more grouped by thousands (the CSVs keep every digit).
fn readable(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    if v.abs() >= 1000.0 {
        let digits = format!("{:.0}", v.abs());
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        return if v < 0.0 {
            format!("-{grouped}")
        } else {
            grouped
        };
    }
    if v == 0.0 {
        return "0".into();
    }
    let decimals = (2 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A chart as an inline `<figure>`, or a note naming it when it was not drawn.
fn figure(charts: &[Rendered], folder: &str, name: &str) -> String {
    match charts.iter().find(|c| c.name == name) {
        Some(c) => format!("<figure>{}</figure>\n", inline_svg(&c.svg, c.size.0, None)),
        None => format!(
            "<figure><p class=\"note\">(chart {} not found)</p></figure>\n",
            html_escape(&format!("{folder}/{}", layout::chart_svg(name)))
        ),
    }
}

/// The report's section for a sweep: tipping points, charts and the survival of the chosen
/// providers at each point.
pub fn sweep_section(r: &SweepResult, charts: &[Rendered]) -> String {
    let mut h = String::from("<section class=\"sweep\">\n<h2>Parameter sweep</h2>\n");
    h.push_str(&format!(
        "<p>Configuration <code>{}</code>, {} replications per point (seed {}), sweeping {}.</p>\n",
        html_escape(&r.origin.configuration),
        r.origin.replications,
        r.origin.seed,
        r.axes
            .iter()
            .map(|a| format!(
                "<code>{}</code> over {} values",
                html_escape(&a.path),
                a.values.len()
            ))
            .collect::<Vec<_>>()
            .join(" and ")
    ));
    for n in &r.notes {
        h.push_str(&format!("<p class=\"note\">{}</p>\n", html_escape(n)));
    }
    h.push_str("<h3>Tipping points (survival crosses 50%)</h3>\n");
    if r.tipping.is_empty() {
        h.push_str("<p>No provider's survival crosses 50% within the sweep.</p>\n");
    } else {
        h.push_str("<div class=\"scroll\"><table>\n<tr><th>provider</th><th>parameter</th><th>other parameters</th><th>direction</th><th>tipping point (interval)</th><th>method</th><th>replications</th></tr>\n");
        for t in &r.tipping {
            h.push_str(&format!(
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                html_escape(&t.provider),
                html_escape(&t.parameter),
                html_escape(
                    &t.fixed
                        .iter()
                        .map(|(p, v)| format!("{p}={v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                t.crossing.direction.as_str(),
                html_escape(&describe(&t.crossing)),
                t.method.as_str(),
                t.replications
            ));
        }
        h.push_str("</table></div>\n");
    }
    if r.axes.len() == 1 {
        h.push_str(&figure(charts, layout::SWEEP_DIR, chart::SWEEP_SURVIVAL));
        h.push_str(&figure(charts, layout::SWEEP_DIR, chart::SWEEP_HEADLINE));
    } else if r.axes.len() == 2 {
        for id in &r.chosen {
            h.push_str(&figure(charts, layout::SWEEP_DIR, &chart::heatmap(id)));
        }
    }
    h.push_str("<h3>Survival at each point</h3>\n<div class=\"scroll\"><table>\n<tr>");
    for a in &r.axes {
        h.push_str(&format!("<th><code>{}</code></th>", html_escape(&a.path)));
    }
    for id in &r.chosen {
        h.push_str(&format!("<th>{}</th>", html_escape(id)));
    }
    h.push_str("<th>cost £/head</th></tr>\n");
    let chosen: Vec<usize> = r
        .chosen
        .iter()
        .filter_map(|id| r.provider_index(id))
        .collect();
    for pt in &r.points {
        h.push_str("<tr>");
        for v in &pt.values {
            h.push_str(&format!("<td>{v}</td>"));
        }
        for &i in &chosen {
            let s = &pt.survival[i];
            h.push_str(&format!(
                "<td>{} ({}&ndash;{})</td>",
                pct(s.p),
                pct(s.lo),
                pct(s.hi)
            ));
        }
        h.push_str(&format!(
            "<td>{}</td></tr>\n",
            pt.headline
                .cost_per_head
                .mean
                .map_or_else(|| "-".into(), |m| format!("{m:.2}"))
        ));
    }
    h.push_str("</table></div>\n</section>\n");
    h
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// The report's section for a sensitivity analysis: per output, the tornado chart and the
/// ranking of parameters.
pub fn sensitivity_section(r: &SensitivityResult, charts: &[Rendered]) -> String {
    let mut h = String::from("<section class=\"sensitivity\">\n<h2>Sensitivity</h2>\n");
    h.push_str(&format!(
        "<p>Configuration <code>{}</code>: {} parameters varied by &plusmn;{:.0}% of their value, \
         {} replications per run (seed {}), paired; Morris: {} trajectories on {} levels.</p>\n",
        html_escape(&r.origin.configuration),
        r.factors.len(),
        r.fraction * 100.0,
        r.origin.replications,
        r.origin.seed,
        r.trajectories,
        r.levels
    ));
    for (oi, o) in r.outputs.iter().enumerate() {
        h.push_str(&format!(
            "<h3>{} (baseline {})</h3>\n",
            html_escape(&o.label()),
            num(r.baseline.get(oi).copied())
        ));
        h.push_str(&figure(
            charts,
            layout::SENSITIVITY_DIR,
            &chart::tornado(&o.name()),
        ));
        h.push_str("<div class=\"scroll\"><table>\n<tr><th>parameter</th><th>at &minus;</th><th>at +</th><th>swing (95% paired interval)</th><th>Morris &mu;*</th><th>&sigma;</th></tr>\n");
        let morris = r.morris_of(o);
        for row in r.oat_of(o).into_iter().take(15) {
            let m = morris.iter().find(|m| m.path == row.path);
            h.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{:.4}</td><td>{:.4}</td><td>{:+.4} ({:+.4} to {:+.4})</td><td>{}</td><td>{}</td></tr>\n",
                html_escape(&row.path),
                row.y_low,
                row.y_high,
                row.swing,
                row.swing_ci.0,
                row.swing_ci.1,
                m.map_or_else(|| "-".into(), |m| format!("{:.4}", m.mu_star)),
                m.map_or_else(|| "-".into(), |m| format!("{:.4}", m.sigma)),
            ));
        }
        h.push_str("</table></div>\n");
    }
    h.push_str("</section>\n");
    h
}

/// The report's section for a back-test: scores, confusion matrix, chart and every prediction.
pub fn backtest_section(r: &BacktestResult, charts: &[Rendered]) -> String {
    let s = &r.scores;
    let mut h =
        String::from("<section class=\"backtest\">\n<h2>Back-test against observed ratings</h2>\n");
    h.push_str(&format!(
        "<p>Configuration <code>{}</code>, {} replications (seed {}){}. {} recorded ratings: \
         accuracy of the modal prediction {:.0}%, Brier score {:.3} (base rates {:.3}, skill {:+.2}).</p>\n",
        html_escape(&r.origin.configuration),
        r.origin.replications,
        r.origin.seed,
        if r.source.is_empty() {
            String::new()
        } else {
            format!("; observations from {}", html_escape(&r.source))
        },
        s.n,
        s.accuracy * 100.0,
        s.brier,
        s.brier_base_rate,
        s.skill
    ));
    h.push_str(&figure(charts, layout::BACKTEST_DIR, chart::BACKTEST));
    h.push_str("<div class=\"scroll\"><table>\n<tr><th>observed \\ predicted</th>");
    for o in RatingOutcome::ALL.map(RatingOutcome::as_str) {
        h.push_str(&format!("<th>{o}</th>"));
    }
    h.push_str("</tr>\n");
    for (i, row) in s.confusion.iter().enumerate() {
        h.push_str(&format!("<tr><th>{}</th>", outcome_name(i)));
        for c in row {
            h.push_str(&format!("<td>{c}</td>"));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table></div>\n<div class=\"scroll\"><table>\n<tr><th>checkpoint</th><th>provider</th><th>observed</th><th>P(A)</th><th>P(B)</th><th>P(C)</th><th>P(unrated)</th><th>modal</th></tr>\n");
    for p in &r.predictions {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td></tr>\n",
            html_escape(&p.checkpoint),
            html_escape(&p.provider),
            p.observed.as_str(),
            p.p[0],
            p.p[1],
            p.p[2],
            p.p[3],
            outcome_name(p.modal)
        ));
    }
    h.push_str("</table></div>\n");
    h.push_str(&targets_table(r));
    h.push_str("</section>\n");
    h
}

/// Every calibration target against the model and its naive reference, in words.
fn targets_table(r: &BacktestResult) -> String {
    let mut h = format!(
        "<p>{}.</p>\n",
        html_escape(&capitalise(&r.scores.verdict()))
    );
    if r.targets.is_empty() {
        return h;
    }
    h.push_str(&format!(
        "<h3>Every target</h3>\n<p>{}. The score is the continuous ranked probability score \
         (CRPS) of the model's distribution over runs; a naive reference forecast is scored the \
         same way (its absolute error); skill is 1 - CRPS / reference CRPS.</p>\n",
        html_escape(&capitalise(&crate::explore::target_check::summary(
            &r.targets
        )))
    ));
    h.push_str("<div class=\"scroll\"><table>\n<tr><th>target</th><th>observed</th><th>model mean</th><th>90% band</th><th>inside</th><th>CRPS</th><th>reference</th><th>reference CRPS</th><th>skill</th><th>in words</th></tr>\n");
    for t in &r.targets {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4} to {:.4}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:+.2}</td><td class=\"text\">{}</td></tr>\n",
            html_escape(&t.target),
            t.observed,
            t.mean,
            t.p5,
            t.p95,
            if t.inside_90 { "yes" } else { "no" },
            t.crps,
            t.reference,
            t.reference_crps,
            t.skill,
            html_escape(&t.verdict())
        ));
    }
    h.push_str("</table></div>\n");
    h
}

/// A sentence's first letter in capitals.
fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(name: &str) -> Rendered {
        Rendered {
            name: name.into(),
            title: "t".into(),
            size: (300, 200),
            svg: r#"<svg width="300" height="200" viewBox="0 0 300 200" xmlns="http://www.w3.org/2000/svg"><text>hi</text></svg>"#.into(),
            png: Vec::new(),
        }
    }

    #[test]
    fn calibration_figures_show_three_significant_figures_and_group_thousands() {
        assert_eq!(readable(0.6176017156655911), "0.618");
        assert_eq!(readable(14.281811540491804), "14.3");
        assert_eq!(readable(0.02), "0.02");
        assert_eq!(readable(1.0), "1");
        assert_eq!(readable(0.0), "0");
        assert_eq!(readable(-0.0421), "-0.0421");
        assert_eq!(readable(604304.5950493282), "604,305");
        assert_eq!(readable(-1234.4), "-1,234");
        assert_eq!(readable(f64::NAN), "n/a");
    }

    #[test]
    fn charts_are_inlined_and_missing_ones_noted() {
        let charts = [chart("a")];
        let out = figure(&charts, "sweep", "a");
        assert!(out.contains("<text>hi</text>"), "{out}");
        assert!(!out.contains("http"), "{out}");
        assert!(out.contains("max-width:300px"), "{out}");
        let missing = figure(&charts, "sweep", "b");
        assert!(missing.contains("chart sweep/b.svg not found"), "{missing}");
    }
}
