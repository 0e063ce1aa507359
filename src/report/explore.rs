//! Sections for sweeps, sensitivity analyses, back-tests and calibrations found beside the comparison (written by
//! `csmarket sweep|sensitivity|backtest --out` into the same output folder), with their charts
//! inlined so the report stays one self-contained file.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::explore::{backtest, calibrate, sensitivity, sweep};

/// A section of the report beyond the comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraSection {
    /// Anchor id.
    pub id: String,
    /// Heading, for the table of contents.
    pub title: String,
    /// The section's HTML, images already inlined.
    pub html: String,
}

fn load<T: DeserializeOwned>(path: &Path) -> Option<T> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// The sections for whichever of `sweep/`, `sensitivity/` and `backtest/` exist in `dir`.
pub fn exploration_sections(dir: &Path) -> Vec<ExtraSection> {
    let mut out = Vec::new();
    if let Some(r) = load::<sweep::SweepResult>(&dir.join("sweep/sweep.json")) {
        out.push(ExtraSection {
            id: "sweep".into(),
            title: "Parameter sweep".into(),
            html: inline_images(&sweep::html_section(&r), dir),
        });
    }
    if let Some(r) =
        load::<sensitivity::SensitivityResult>(&dir.join("sensitivity/sensitivity.json"))
    {
        out.push(ExtraSection {
            id: "sensitivity".into(),
            title: "Sensitivity".into(),
            html: inline_images(&sensitivity::html_section(&r), dir),
        });
    }
    if let Some(r) = load::<backtest::BacktestResult>(&dir.join("backtest/backtest.json")) {
        out.push(ExtraSection {
            id: "backtest".into(),
            title: "Back-test".into(),
            html: inline_images(&backtest::html_section(&r), dir),
        });
    }
    if let Some(r) = load::<calibrate::store::Summary>(&dir.join("calibrate/calibration.json")) {
        out.push(ExtraSection {
            id: "calibration".into(),
            title: "Calibration".into(),
            html: inline_images(&calibrate::report::html_section(&r), dir),
        });
    }
    out
}

/// Replaces each `<img src="relative.svg" ...>` with the SVG itself (namespace URL dropped, scaled
/// to the page); an image that cannot be read is replaced by a note naming it.
pub fn inline_images(html: &str, dir: &Path) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find("<img ") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('>') else {
            rest = &rest[start..];
            break;
        };
        let tag = &rest[start..start + len + 1];
        let src = tag
            .split("src=\"")
            .nth(1)
            .and_then(|x| x.split('"').next())
            .unwrap_or("");
        let svg = (!src.contains("..") && src.ends_with(".svg"))
            .then(|| std::fs::read_to_string(dir.join(src)).ok())
            .flatten();
        match svg.as_deref().and_then(svg_body) {
            Some(body) => out.push_str(&body),
            None => out.push_str(&format!(
                "<p class=\"note\">(chart {} not found)</p>",
                super::escape(src)
            )),
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// The `<svg>` element of a file, without its namespace URL and fixed size, scaled to the page.
fn svg_body(svg: &str) -> Option<String> {
    let svg = svg.replacen(r#" xmlns="http://www.w3.org/2000/svg""#, "", 1);
    let start = svg.find("<svg")?;
    let end = start + svg[start..].find('>')?;
    let width = svg[start..end]
        .split("width=\"")
        .nth(1)
        .and_then(|x| x.split('"').next())
        .unwrap_or("900")
        .to_string();
    let open: Vec<&str> = svg[start..end]
        .split(' ')
        .filter(|a| !a.starts_with("width=") && !a.starts_with("height="))
        .collect();
    Some(format!(
        r#"{} style="width:100%;max-width:{width}px;height:auto">{}"#,
        open.join(" "),
        &svg[end + 1..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_inlined_and_missing_ones_noted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sweep")).unwrap();
        std::fs::write(
            dir.path().join("sweep/a.svg"),
            r#"<svg width="300" height="200" viewBox="0 0 300 200" xmlns="http://www.w3.org/2000/svg"><text>hi</text></svg>"#,
        )
        .unwrap();
        let html = r#"<p>x</p><img src="sweep/a.svg" alt="a"><img src="sweep/b.svg" alt="b">"#;
        let out = inline_images(html, dir.path());
        assert!(out.contains("<text>hi</text>"));
        assert!(!out.contains("src="));
        assert!(!out.contains("http"));
        assert!(out.contains("chart sweep/b.svg not found"));
    }
}
