//! Charts of a sensitivity analysis: a tornado of one-at-a-time effects per output, and a Morris
//! screening chart per output when Morris ran.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Gap as _, font, padded, segments, tail, top_down};
use crate::charts::draw::fail;
use crate::charts::{Chart, ChartError, FONT, PngEncoding, Rendered, colour, render};
use crate::explore::sensitivity::{Output, SensitivityResult};
use crate::export::layout::chart;

/// Rows shown in a tornado chart.
const TORNADO_ROWS: usize = 15;

/// One output's one-at-a-time effects as a tornado: a bar per parameter from the baseline to the
/// output at minus and at plus the fraction, largest effect on top.
struct TornadoChart<'a> {
    r: &'a SensitivityResult,
    output: &'a Output,
}

impl Chart for TornadoChart<'_> {
    fn name(&self) -> String {
        chart::tornado(&self.output.name())
    }

    fn title(&self) -> String {
        format!(
            "{}: effect of ±{:.0}% in each parameter",
            self.output.label(),
            self.r.fraction * 100.0
        )
    }

    fn size(&self) -> (u32, u32) {
        let n = self.r.oat_of(self.output).len().clamp(1, TORNADO_ROWS) as u32;
        (1200, 150 + 36 * n)
    }

    fn png_encoding(&self) -> PngEncoding {
        PngEncoding::Quick
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let r = self.r;
        let oi = r.outputs.iter().position(|o| o == self.output).unwrap_or(0);
        let base = r.baseline.get(oi).copied().unwrap_or(f64::NAN);
        let rows: Vec<_> = r
            .oat_of(self.output)
            .into_iter()
            .take(TORNADO_ROWS)
            .collect();
        let n = rows.len();
        let (mut lo, mut hi) = (base, base);
        for row in &rows {
            for v in [row.y_low, row.y_high] {
                if v.is_finite() {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
            }
        }
        let (x0, x1) = padded(lo, hi);
        let labels: Vec<String> = rows.iter().map(|row| tail(&row.path, 52)).collect();
        let mut chart = ChartBuilder::on(root)
            .caption(self.title(), font(20))
            .margin(14)
            .margin_top(24)
            .x_label_area_size(50)
            .y_label_area_size(400)
            .build_cartesian_2d(x0..x1, segments(n))
            .map_err(fail)?;
        // Row 0 at the bottom: the largest effect is drawn in the top row.
        let label_of = top_down(&labels);
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n.max(1))
            .y_label_formatter(&label_of)
            .x_desc(format!(
                "{} (baseline {})",
                self.output.label(),
                format_value(base)
            ))
            .label_style(font(13))
            .axis_desc_style(font(15))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(fail)?;
        let (minus, plus) = (colour(4), colour(5));
        for (k, row) in rows.iter().enumerate() {
            let slot = n - 1 - k;
            for (v, c) in [(row.y_low, minus), (row.y_high, plus)] {
                if !v.is_finite() {
                    continue;
                }
                chart
                    .draw_series(std::iter::once(
                        Rectangle::new(
                            [
                                (base, SegmentValue::Exact(slot)),
                                (v, SegmentValue::Exact(slot + 1)),
                            ],
                            c.mix(0.85).filled(),
                        )
                        .with_gap(6),
                    ))
                    .map_err(fail)?;
            }
        }
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![
                    (base, SegmentValue::Exact(0)),
                    (base, SegmentValue::Exact(n.max(1))),
                ],
                BLACK.stroke_width(2),
            )))
            .map_err(fail)?;
        let (w, _) = root.dim_in_pixel();
        let lx = w as i32 - 260;
        for (i, (label, c)) in [
            (format!("−{:.0}%", r.fraction * 100.0), minus),
            (format!("+{:.0}%", r.fraction * 100.0), plus),
        ]
        .into_iter()
        .enumerate()
        {
            let x = lx + 120 * i as i32;
            root.draw(&Rectangle::new([(x, 12), (x + 18, 26)], c.filled()))
                .map_err(fail)?;
            root.draw(&Text::new(label, (x + 24, 11), font(14)))
                .map_err(fail)?;
        }
        Ok(())
    }
}

fn format_value(v: f64) -> String {
    if !v.is_finite() {
        "-".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.4}")
    }
}

/// One output's Morris statistics: mu* against sigma, the strongest parameters labelled.
struct MorrisChart<'a> {
    r: &'a SensitivityResult,
    output: &'a Output,
}

impl Chart for MorrisChart<'_> {
    fn name(&self) -> String {
        chart::morris(&self.output.name())
    }

    fn title(&self) -> String {
        format!(
            "Morris screening of {} ({} trajectories)",
            self.output.label(),
            self.r.trajectories
        )
    }

    fn size(&self) -> (u32, u32) {
        (1000, 650)
    }

    fn png_encoding(&self) -> PngEncoding {
        PngEncoding::Quick
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let rows: Vec<_> = self
            .r
            .morris_of(self.output)
            .into_iter()
            .filter(|m| m.mu_star.is_finite() && m.sigma.is_finite())
            .collect();
        let xmax = rows.iter().map(|m| m.mu_star).fold(0.0, f64::max);
        let ymax = rows.iter().map(|m| m.sigma).fold(0.0, f64::max);
        let xmax = if xmax > 0.0 { xmax * 1.25 } else { 1.0 };
        let ymax = if ymax > 0.0 { ymax * 1.15 } else { 1.0 };
        let mut chart = ChartBuilder::on(root)
            .caption(self.title(), font(20))
            .margin(14)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..xmax, 0.0..ymax)
            .map_err(fail)?;
        chart
            .configure_mesh()
            .x_desc("μ*: mean |elementary effect| over the ± range")
            .y_desc("σ: spread (interactions, non-linearity)")
            .label_style(font(13))
            .axis_desc_style(font(15))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(fail)?;
        chart
            .draw_series(
                rows.iter()
                    .map(|m| Circle::new((m.mu_star, m.sigma), 5, colour(4).filled())),
            )
            .map_err(fail)?;
        for m in rows.iter().take(10) {
            // The table the field sits in goes without saying; the service or provider does not.
            let label = m
                .path
                .strip_prefix("services.")
                .or_else(|| m.path.strip_prefix("providers."))
                .unwrap_or(&m.path)
                .to_string();
            chart
                .draw_series(std::iter::once(Text::new(
                    tail(&label, 34),
                    (m.mu_star, m.sigma),
                    (FONT, 12)
                        .into_font()
                        .color(&BLACK)
                        .pos(Pos::new(HPos::Left, VPos::Bottom)),
                )))
                .map_err(fail)?;
        }
        Ok(())
    }
}

/// The charts of a sensitivity analysis: a `tornado-OUTPUT` per output, and a `morris-OUTPUT`
/// per output when Morris ran.
pub fn sensitivity_charts(r: &SensitivityResult) -> Result<Vec<Rendered>, ChartError> {
    let mut out = Vec::new();
    for o in &r.outputs {
        out.push(render(&TornadoChart { r, output: o })?);
        if !r.morris.is_empty() {
            out.push(render(&MorrisChart { r, output: o })?);
        }
    }
    Ok(out)
}
