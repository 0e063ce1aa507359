//! The calibration's section of the HTML report: why it stopped, the posterior of each parameter
//! against its prior, and the fit to each target.

use super::store::Summary;
use crate::explore::html_escape;

/// The HTML section for a calibration (images relative to the output folder).
pub fn html_section(s: &Summary) -> String {
    let mut h = String::from("<section class=\"calibration\">\n<h2>Calibration</h2>\n");
    h.push_str(&format!(
        "<p>Configuration <code>{}</code>, seed {}, {} replications per particle: {} generation{}; \
         stopped because it {}.</p>\n",
        html_escape(&s.origin.configuration),
        s.origin.seed,
        s.origin.replications,
        s.generations,
        if s.generations == 1 { "" } else { "s" },
        html_escape(&s.stop.describe())
    ));
    if !s.unreachable.is_empty() {
        h.push_str(&format!(
            "<p><strong>Cannot be reached:</strong> no particle comes within one tolerance of {}.</p>\n",
            html_escape(&s.unreachable.join(", "))
        ));
    }
    h.push_str("<figure><img src=\"calibrate/posterior.svg\" alt=\"Marginal posteriors against the priors\"></figure>\n");
    h.push_str(
        "<table>\n<tr><th>parameter</th><th>prior</th><th>median</th><th>90% interval</th></tr>\n",
    );
    for m in &s.marginals {
        h.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{} to {}</td><td>{:.4}</td><td>{:.4} to {:.4}</td></tr>\n",
            html_escape(&m.path),
            m.prior.0,
            m.prior.1,
            m.quantiles[1],
            m.quantiles[0],
            m.quantiles[2]
        ));
    }
    h.push_str("</table>\n<table>\n<tr><th>target</th><th>observed</th><th>predicted</th><th>90% band</th><th>inside</th><th>source</th></tr>\n");
    for f in &s.fit {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{:.4}</td><td>{:.4} to {:.4}</td><td>{}</td><td>{}</td></tr>\n",
            html_escape(&f.target),
            f.observed,
            f.mean,
            f.band.0,
            f.band.1,
            if f.inside { "yes" } else { "no" },
            html_escape(&f.source)
        ));
    }
    h.push_str("</table>\n</section>\n");
    h
}
