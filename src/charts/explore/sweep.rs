//! Charts of a sweep: survival curves with tipping points, headline figures, and a survival
//! heatmap per chosen provider over a two-parameter grid.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{font, legend, padded, segments, tail, viridis};
use crate::charts::draw::fail;
use crate::charts::{Chart, ChartError, FONT, PngEncoding, Rendered, colour, render};
use crate::experiment::{Figure, MarketFigure};
use crate::explore::sweep::{Crossing, Method, SweepPoint, SweepResult, THRESHOLD};
use crate::export::layout::chart;

/// Survival of the chosen providers against a one-parameter sweep, with Wilson bands and tipping
/// points.
struct SurvivalChart<'a> {
    r: &'a SweepResult,
}

impl Chart for SurvivalChart<'_> {
    fn name(&self) -> String {
        chart::SWEEP_SURVIVAL.into()
    }

    fn title(&self) -> String {
        format!("Survival probability against {}", self.r.axes[0].path)
    }

    fn size(&self) -> (u32, u32) {
        (1100, 650)
    }

    fn png_encoding(&self) -> PngEncoding {
        PngEncoding::Quick
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let r = self.r;
        let (w, _) = root.dim_in_pixel();
        let (plot, side) = root.split_horizontally(w.saturating_sub(260));
        let xs = &r.axes[0].values;
        let (x0, x1) = padded(
            xs.iter().copied().fold(f64::INFINITY, f64::min),
            xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        let mut chart = ChartBuilder::on(&plot)
            .caption(self.title(), font(20))
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, 0.0..1.0)
            .map_err(fail)?;
        chart
            .configure_mesh()
            .x_desc(r.axes[0].path.as_str())
            .y_desc("survival probability (95% Wilson band)")
            .label_style(font(14))
            .axis_desc_style(font(15))
            .light_line_style(RGBColor(235, 235, 235))
            .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
            .draw()
            .map_err(fail)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x0, THRESHOLD), (x1, THRESHOLD)],
                RGBColor(120, 120, 120).stroke_width(1),
            )))
            .map_err(fail)?;
        let mut entries = Vec::new();
        for (ci, id) in r.chosen.iter().enumerate() {
            let Some(pi) = r.provider_index(id) else {
                continue;
            };
            let c = colour(ci);
            let curve = r.curve(pi, 0, &[0]);
            let mut band: Vec<(f64, f64)> = curve.iter().map(|p| (p.x, p.hi)).collect();
            band.extend(curve.iter().rev().map(|p| (p.x, p.lo)));
            chart
                .draw_series(std::iter::once(Polygon::new(band, c.mix(0.18).filled())))
                .map_err(fail)?;
            chart
                .draw_series(LineSeries::new(
                    curve.iter().map(|p| (p.x, p.p)),
                    c.stroke_width(2),
                ))
                .map_err(fail)?;
            chart
                .draw_series(curve.iter().map(|p| Circle::new((p.x, p.p), 3, c.filled())))
                .map_err(fail)?;
            for t in r.tipping.iter().filter(|t| &t.provider == id) {
                let lo = t.crossing.lo.unwrap_or(x0);
                let hi = t.crossing.hi.unwrap_or(x1);
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(lo, THRESHOLD), (hi, THRESHOLD)],
                        c.stroke_width(5),
                    )))
                    .map_err(fail)?;
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (t.crossing.estimate, THRESHOLD),
                        6,
                        BLACK.stroke_width(2),
                    )))
                    .map_err(fail)?;
            }
            entries.push((tail(id, 26), c));
        }
        side.draw(&Text::new("provider", (8, 40), font(15)))
            .map_err(fail)?;
        legend(&side, 66, &entries)?;
        let mut y = 80 + 24 * entries.len() as i32;
        side.draw(&Text::new(
            "tipping points (○, bar = interval):",
            (8, y),
            font(13),
        ))
        .map_err(fail)?;
        for t in r
            .tipping
            .iter()
            .filter(|t| r.chosen.contains(&t.provider))
            .take(12)
        {
            // Name and value on lines of their own, so neither is cut short.
            y += 20;
            side.draw(&Text::new(
                format!(
                    "{}{}:",
                    tail(&t.provider, 22),
                    if t.method == Method::Refined {
                        " (refined)"
                    } else {
                        ""
                    }
                ),
                (8, y),
                font(12),
            ))
            .map_err(fail)?;
            y += 16;
            side.draw(&Text::new(
                format!("  {}", short_crossing(&t.crossing)),
                (8, y),
                font(12),
            ))
            .map_err(fail)?;
        }
        Ok(())
    }
}

fn short_crossing(c: &Crossing) -> String {
    let end = |v: Option<f64>| v.map_or_else(|| "…".to_string(), |x| format!("{x:.3}"));
    format!("{:.3} [{}, {}]", c.estimate, end(c.lo), end(c.hi))
}

/// Headline figures against the first parameter: mean and 5-95% band (one parameter), or one mean
/// line per value of the second parameter (two parameters).
struct HeadlineChart<'a> {
    r: &'a SweepResult,
}

impl Chart for HeadlineChart<'_> {
    fn name(&self) -> String {
        chart::SWEEP_HEADLINE.into()
    }

    fn title(&self) -> String {
        format!("Headline figures against {}", self.r.axes[0].path)
    }

    fn size(&self) -> (u32, u32) {
        (1100, 800)
    }

    fn png_encoding(&self) -> PngEncoding {
        PngEncoding::Quick
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let r = self.r;
        let (w, _) = root.dim_in_pixel();
        let two = r.axes.len() == 2;
        let (main, side) = if two {
            root.split_horizontally(w.saturating_sub(220))
        } else {
            root.split_horizontally(w)
        };
        let panels = main.split_evenly((2, 2));
        let xs = &r.axes[0].values;
        let (x0, x1) = padded(
            xs.iter().copied().fold(f64::INFINITY, f64::min),
            xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        let series: Vec<usize> = if two {
            (0..r.axes[1].values.len().min(8)).collect()
        } else {
            vec![0]
        };
        for (k, (panel, figure)) in panels.iter().zip(MarketFigure::HEADLINE).enumerate() {
            let fig = |pt: &SweepPoint| -> Figure { pt.headline.named()[k].1.clone() };
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for pt in &r.points {
                let f = fig(pt);
                for v in [f.mean, f.p05, f.p95].into_iter().flatten() {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
            }
            let (y0, y1) = padded(lo, hi);
            let percent = figure.is_share();
            let mut chart = ChartBuilder::on(panel)
                .caption(figure.short_label(), font(17))
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(fail)?;
            chart
                .configure_mesh()
                .x_desc(tail(&r.axes[0].path, 40))
                .label_style(font(12))
                .axis_desc_style(font(13))
                .light_line_style(RGBColor(235, 235, 235))
                .y_label_formatter(&|v| {
                    if percent {
                        format!("{:.0}%", v * 100.0)
                    } else {
                        format!("{v:.2}")
                    }
                })
                .draw()
                .map_err(fail)?;
            for &s in &series {
                let c = if two { colour(s) } else { colour(4) };
                let mut pts: Vec<(f64, Figure)> = r
                    .points
                    .iter()
                    .filter(|pt| !two || pt.values[1] == r.axes[1].values[s])
                    .map(|pt| (pt.values[0], fig(pt)))
                    .collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                if !two {
                    let mut band: Vec<(f64, f64)> = pts
                        .iter()
                        .filter_map(|(x, f)| f.p95.map(|v| (*x, v)))
                        .collect();
                    band.extend(pts.iter().rev().filter_map(|(x, f)| f.p05.map(|v| (*x, v))));
                    chart
                        .draw_series(std::iter::once(Polygon::new(band, c.mix(0.2).filled())))
                        .map_err(fail)?;
                }
                chart
                    .draw_series(LineSeries::new(
                        pts.iter().filter_map(|(x, f)| f.mean.map(|m| (*x, m))),
                        c.stroke_width(2),
                    ))
                    .map_err(fail)?;
            }
        }
        if two {
            side.draw(&Text::new(tail(&r.axes[1].path, 26), (8, 40), font(13)))
                .map_err(fail)?;
            let entries: Vec<(String, RGBColor)> = series
                .iter()
                .map(|&s| (format!("{}", r.axes[1].values[s]), colour(s)))
                .collect();
            legend(&side, 66, &entries)?;
        } else {
            main.draw(&Text::new(
                "line: mean; band: 5-95% of replications",
                (12, 2),
                font(12),
            ))
            .map_err(fail)?;
        }
        Ok(())
    }
}

/// Survival of one provider over a two-parameter grid.
struct HeatmapChart<'a> {
    r: &'a SweepResult,
    provider: usize,
}

impl Chart for HeatmapChart<'_> {
    fn name(&self) -> String {
        chart::heatmap(&self.r.providers[self.provider].id)
    }

    fn title(&self) -> String {
        format!(
            "Survival probability of {}",
            self.r.providers[self.provider].id
        )
    }

    fn size(&self) -> (u32, u32) {
        (950, 700)
    }

    fn png_encoding(&self) -> PngEncoding {
        PngEncoding::Quick
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let r = self.r;
        let (w, _) = root.dim_in_pixel();
        let (plot, side) = root.split_horizontally(w.saturating_sub(130));
        let (ax, ay) = (&r.axes[0], &r.axes[1]);
        let (nx, ny) = (ax.values.len(), ay.values.len());
        let mut chart = ChartBuilder::on(&plot)
            .caption(self.title(), font(20))
            .margin(12)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d(segments(nx), segments(ny))
            .map_err(fail)?;
        let fmt = |values: &[f64], v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) => {
                values.get(*i).map_or_else(String::new, |x| format!("{x}"))
            }
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(ax.path.as_str())
            .y_desc(ay.path.as_str())
            .x_labels(nx.min(12))
            .y_labels(ny.min(12))
            .label_style(font(13))
            .axis_desc_style(font(15))
            .x_label_formatter(&|v| fmt(&ax.values, v))
            .y_label_formatter(&|v| fmt(&ay.values, v))
            .draw()
            .map_err(fail)?;
        let annotate = nx <= 15 && ny <= 15;
        for i in 0..nx {
            for j in 0..ny {
                let pt = &r.points[r.point_index(&[i, j])];
                let p = pt.survival[self.provider].p;
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [
                            (SegmentValue::Exact(i), SegmentValue::Exact(j)),
                            (SegmentValue::Exact(i + 1), SegmentValue::Exact(j + 1)),
                        ],
                        viridis(p).filled(),
                    )))
                    .map_err(fail)?;
                if annotate {
                    let ink = if p < 0.6 { WHITE } else { BLACK };
                    chart
                        .draw_series(std::iter::once(Text::new(
                            format!("{:.0}%", p * 100.0),
                            (SegmentValue::CenterOf(i), SegmentValue::CenterOf(j)),
                            (FONT, 13)
                                .into_font()
                                .color(&ink)
                                .pos(Pos::new(HPos::Center, VPos::Center)),
                        )))
                        .map_err(fail)?;
                }
            }
        }
        // Colour bar.
        let (top, height) = (60i32, 300i32);
        for k in 0..height {
            let t = 1.0 - f64::from(k) / f64::from(height);
            side.draw(&Rectangle::new(
                [(20, top + k), (44, top + k + 1)],
                viridis(t).filled(),
            ))
            .map_err(fail)?;
        }
        for (t, label) in [(1.0, "100%"), (0.5, "50%"), (0.0, "0%")] {
            let y = top + ((1.0 - t) * f64::from(height)) as i32;
            side.draw(&Text::new(label, (50, y - 7), font(13)))
                .map_err(fail)?;
        }
        Ok(())
    }
}

/// The charts of a sweep: `survival` and `headline` for one parameter; `headline` and a
/// `heatmap-PROVIDER` per chosen provider for two; none for more.
pub fn sweep_charts(r: &SweepResult) -> Result<Vec<Rendered>, ChartError> {
    let mut out = Vec::new();
    if r.points.is_empty() {
        return Ok(out);
    }
    match r.axes.len() {
        1 => {
            out.push(render(&SurvivalChart { r })?);
            out.push(render(&HeadlineChart { r })?);
        }
        2 => {
            out.push(render(&HeadlineChart { r })?);
            for id in &r.chosen {
                if let Some(provider) = r.provider_index(id) {
                    out.push(render(&HeatmapChart { r, provider })?);
                }
            }
        }
        _ => {}
    }
    Ok(out)
}
