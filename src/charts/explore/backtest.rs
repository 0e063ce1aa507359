//! The chart of a back-test: the simulated probability of each rating for every recorded one.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Gap as _, font, segments, tail, top_down};
use crate::charts::draw::fail;
use crate::charts::{Chart, ChartError, FONT, PALETTE, PngEncoding, Rendered, render};
use crate::experiment::RatingOutcome;
use crate::explore::backtest::{BacktestResult, outcome_index};
use crate::export::layout::chart;

/// Colours of A, B, C and unrated.
const RATING_COLOURS: [RGBColor; 4] = [PALETTE[2], PALETTE[3], PALETTE[5], RGBColor(190, 190, 190)];

/// The simulated probability of each rating for every recorded one, as stacked bars, with the
/// recorded rating beside each bar.
struct BacktestChart<'a> {
    r: &'a BacktestResult,
}

impl Chart for BacktestChart<'_> {
    fn name(&self) -> String {
        chart::BACKTEST.into()
    }

    fn title(&self) -> String {
        let s = &self.r.scores;
        format!(
            "Simulated ratings vs observed: accuracy {:.0}%, Brier {:.3} (base rates {:.3})",
            s.accuracy * 100.0,
            s.brier,
            s.brier_base_rate
        )
    }

    fn size(&self) -> (u32, u32) {
        let n = self.r.predictions.len().max(1) as u32;
        (1200, 190 + 28 * n)
    }

    fn png_encoding(&self) -> PngEncoding {
        PngEncoding::Quick
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let r = self.r;
        let n = r.predictions.len();
        let labels: Vec<String> = r
            .predictions
            .iter()
            .map(|p| format!("{} ({})", tail(&p.provider, 30), p.checkpoint))
            .collect();
        let mut chart = ChartBuilder::on(root)
            .caption(self.title(), font(19))
            .margin(14)
            .margin_bottom(40)
            .x_label_area_size(45)
            .y_label_area_size(260)
            .build_cartesian_2d(0.0..1.16, segments(n))
            .map_err(fail)?;
        let label_of = top_down(&labels);
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n.max(1))
            .y_label_formatter(&label_of)
            .x_labels(6)
            .x_label_formatter(&|v| {
                if *v <= 1.0 + 1e-9 {
                    format!("{:.0}%", v * 100.0)
                } else {
                    String::new()
                }
            })
            .x_desc("simulated probability of each rating")
            .label_style(font(13))
            .axis_desc_style(font(15))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(fail)?;
        for (k, p) in r.predictions.iter().enumerate() {
            let slot = n - 1 - k;
            let mut start = 0.0;
            for (o, c) in RATING_COLOURS.iter().enumerate() {
                let end = start + p.p[o];
                if p.p[o] > 0.0 {
                    chart
                        .draw_series(std::iter::once(
                            Rectangle::new(
                                [
                                    (start, SegmentValue::Exact(slot)),
                                    (end, SegmentValue::Exact(slot + 1)),
                                ],
                                c.filled(),
                            )
                            .with_gap(4),
                        ))
                        .map_err(fail)?;
                }
                start = end;
            }
            let right = p.modal == outcome_index(p.observed);
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("{} {}", p.observed.as_str(), if right { "✓" } else { "✗" }),
                    (1.03, SegmentValue::CenterOf(slot)),
                    (FONT, 14)
                        .into_font()
                        .color(&BLACK)
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                )))
                .map_err(fail)?;
        }
        let (_, h) = root.dim_in_pixel();
        let y = h as i32 - 30;
        for (i, label) in RatingOutcome::ALL
            .map(RatingOutcome::as_str)
            .iter()
            .enumerate()
        {
            let x = 280 + 110 * i as i32;
            let swatch = [(x, y), (x + 18, y + 14)];
            root.draw(&Rectangle::new(swatch, RATING_COLOURS[i].filled()))
                .map_err(fail)?;
            root.draw(&Rectangle::new(swatch, BLACK.stroke_width(1)))
                .map_err(fail)?;
            root.draw(&Text::new(label.to_string(), (x + 24, y - 1), font(14)))
                .map_err(fail)?;
        }
        root.draw(&Text::new(
            "right: observed rating, ✓ when it is the modal prediction",
            (730, y - 1),
            font(13),
        ))
        .map_err(fail)?;
        Ok(())
    }
}

/// The chart of a back-test, `backtest`.
pub fn backtest_charts(r: &BacktestResult) -> Result<Vec<Rendered>, ChartError> {
    Ok(vec![render(&BacktestChart { r })?])
}
