//! Charts of sweeps, sensitivity analyses and back-tests, each written as PNG and SVG, whole or not
//! at all.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{FONT, colour, register_fonts};
use crate::explore::backtest::{BacktestResult, OUTCOMES};
use crate::explore::sensitivity::{Output, SensitivityResult, slug};
use crate::explore::sweep::{SweepResult, THRESHOLD};
use crate::export::atomic;

/// A chart that can draw itself on any plotters backend.
trait Chart {
    /// Draws on the whole of `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Writes a chart as `stem.svg` and `stem.png` in `dir`; each file appears only when complete.
fn render(
    dir: &Path,
    stem: &str,
    size: (u32, u32),
    chart: &impl Chart,
) -> anyhow::Result<Vec<PathBuf>> {
    register_fonts();
    let svg_path = dir.join(format!("{stem}.svg"));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        chart
            .draw(&root)
            .and_then(|()| root.present().map_err(err))
            .map_err(|e| anyhow::anyhow!("cannot draw {}: {e}", svg_path.display()))?;
    }
    atomic::write(&svg_path, svg.as_bytes())?;
    let png_path = dir.join(format!("{stem}.png"));
    // The PNG encoder writes to a path: draw beside the target, then rename into place.
    let temp = dir.join(format!(".{stem}.partial-{}.png", std::process::id()));
    let drawn = {
        let root = BitMapBackend::new(&temp, size).into_drawing_area();
        chart.draw(&root).and_then(|()| root.present().map_err(err))
    };
    if let Err(e) = drawn {
        let _ = std::fs::remove_file(&temp);
        anyhow::bail!("cannot draw {}: {e}", png_path.display());
    }
    std::fs::rename(&temp, &png_path)?;
    Ok(vec![png_path, svg_path])
}

fn font(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&BLACK)
}

/// A legend drawn in its own area: a colour swatch and a label per entry.
fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    top: i32,
    entries: &[(String, RGBColor)],
) -> Result<(), String> {
    for (i, (label, c)) in entries.iter().enumerate() {
        let y = top + 24 * i as i32;
        area.draw(&Rectangle::new([(8, y), (28, y + 14)], c.filled()))
            .map_err(err)?;
        area.draw(&Text::new(label.clone(), (36, y), font(14)))
            .map_err(err)?;
    }
    Ok(())
}

/// Bars that leave a gap between neighbouring category slots.
trait Gap: Sized {
    /// The same bar with `px` pixels left free above and below.
    fn with_gap(self, px: u32) -> Self;
}

impl<X> Gap for Rectangle<X> {
    fn with_gap(mut self, px: u32) -> Self {
        self.set_margin(px, px, 0, 0);
        self
    }
}

/// Shortens a label from the left to at most `n` characters, keeping its end.
fn tail(s: &str, n: usize) -> String {
    let count = s.chars().count();
    if count <= n {
        s.to_string()
    } else {
        let kept: String = s.chars().skip(count - (n - 1)).collect();
        format!("…{kept}")
    }
}

/// `n` (at least one) category slots, labelled at their centres. plotters counts an integer
/// range's end as a value, so `0..n - 1` gives `n` segments.
fn segments(
    n: usize,
) -> plotters::coord::ranged1d::SegmentedCoord<plotters::coord::types::RangedCoordusize> {
    (0..n.max(1) - 1).into_segmented()
}

/// Pads a numeric range that may be empty or degenerate.
fn padded(min: f64, max: f64) -> (f64, f64) {
    if !min.is_finite() || !max.is_finite() {
        return (0.0, 1.0);
    }
    if max > min {
        let pad = (max - min) * 0.05;
        (min - pad, max + pad)
    } else {
        let pad = if min == 0.0 { 1.0 } else { min.abs() * 0.1 };
        (min - pad, max + pad)
    }
}

/// Viridis, a perceptually uniform colour scale that stays readable in grey and for colour-blind
/// readers, by linear interpolation between stops.
pub fn viridis(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 9] = [
        (68, 1, 84),
        (71, 44, 122),
        (59, 81, 139),
        (44, 113, 142),
        (33, 144, 141),
        (39, 173, 129),
        (92, 200, 99),
        (170, 220, 50),
        (253, 231, 37),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

// ---------------------------------------------------------------- sweeps

/// Survival of the chosen providers against a one-parameter sweep, with Wilson bands and tipping
/// points.
struct SurvivalChart<'a> {
    r: &'a SweepResult,
}

impl Chart for SurvivalChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let r = self.r;
        root.fill(&WHITE).map_err(err)?;
        let (w, _) = root.dim_in_pixel();
        let (plot, side) = root.split_horizontally(w.saturating_sub(260));
        let xs = &r.axes[0].values;
        let (x0, x1) = padded(
            xs.iter().copied().fold(f64::INFINITY, f64::min),
            xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        let mut chart = ChartBuilder::on(&plot)
            .caption(
                format!("Survival probability against {}", r.axes[0].path),
                font(20),
            )
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, 0.0..1.0)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(r.axes[0].path.as_str())
            .y_desc("survival probability (95% Wilson band)")
            .label_style(font(14))
            .axis_desc_style(font(15))
            .light_line_style(RGBColor(235, 235, 235))
            .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x0, THRESHOLD), (x1, THRESHOLD)],
                RGBColor(120, 120, 120).stroke_width(1),
            )))
            .map_err(err)?;
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
                .map_err(err)?;
            chart
                .draw_series(LineSeries::new(
                    curve.iter().map(|p| (p.x, p.p)),
                    c.stroke_width(2),
                ))
                .map_err(err)?;
            chart
                .draw_series(curve.iter().map(|p| Circle::new((p.x, p.p), 3, c.filled())))
                .map_err(err)?;
            for t in r.tipping.iter().filter(|t| &t.provider == id) {
                let lo = t.crossing.lo.unwrap_or(x0);
                let hi = t.crossing.hi.unwrap_or(x1);
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(lo, THRESHOLD), (hi, THRESHOLD)],
                        c.stroke_width(5),
                    )))
                    .map_err(err)?;
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (t.crossing.estimate, THRESHOLD),
                        6,
                        BLACK.stroke_width(2),
                    )))
                    .map_err(err)?;
            }
            entries.push((tail(id, 26), c));
        }
        side.draw(&Text::new("provider", (8, 40), font(15)))
            .map_err(err)?;
        legend(&side, 66, &entries)?;
        let mut y = 80 + 24 * entries.len() as i32;
        side.draw(&Text::new(
            "tipping points (○, bar = interval):",
            (8, y),
            font(13),
        ))
        .map_err(err)?;
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
                    if t.method == crate::explore::sweep::Method::Refined {
                        " (refined)"
                    } else {
                        ""
                    }
                ),
                (8, y),
                font(12),
            ))
            .map_err(err)?;
            y += 16;
            side.draw(&Text::new(
                format!("  {}", short_crossing(&t.crossing)),
                (8, y),
                font(12),
            ))
            .map_err(err)?;
        }
        Ok(())
    }
}

fn short_crossing(c: &crate::explore::sweep::Crossing) -> String {
    let end = |v: Option<f64>| v.map_or_else(|| "…".to_string(), |x| format!("{x:.3}"));
    format!("{:.3} [{}, {}]", c.estimate, end(c.lo), end(c.hi))
}

/// Headline figures against the first parameter: mean and 5-95% band (one parameter), or one mean
/// line per value of the second parameter (two parameters).
struct HeadlineChart<'a> {
    r: &'a SweepResult,
}

impl Chart for HeadlineChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let r = self.r;
        root.fill(&WHITE).map_err(err)?;
        let (w, _) = root.dim_in_pixel();
        let two = r.axes.len() == 2;
        let (main, side) = if two {
            root.split_horizontally(w.saturating_sub(220))
        } else {
            root.split_horizontally(w)
        };
        let panels = main.split_evenly((2, 2));
        let titles = [
            "cost per head (£/year)",
            "in-house share",
            "open providers",
            "unmet share",
        ];
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
        for (k, (panel, title)) in panels.iter().zip(titles).enumerate() {
            let fig = |pt: &crate::explore::sweep::SweepPoint| -> crate::export::Figure {
                pt.headline.named()[k].1.clone()
            };
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for pt in &r.points {
                let f = fig(pt);
                for v in [f.mean, f.p05, f.p95].into_iter().flatten() {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
            }
            let (y0, y1) = padded(lo, hi);
            let percent = k == 1 || k == 3;
            let mut chart = ChartBuilder::on(panel)
                .caption(title, font(17))
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(err)?;
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
                .map_err(err)?;
            for &s in &series {
                let c = if two { colour(s) } else { colour(4) };
                let mut pts: Vec<(f64, crate::export::Figure)> = r
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
                        .map_err(err)?;
                }
                chart
                    .draw_series(LineSeries::new(
                        pts.iter().filter_map(|(x, f)| f.mean.map(|m| (*x, m))),
                        c.stroke_width(2),
                    ))
                    .map_err(err)?;
            }
        }
        if two {
            side.draw(&Text::new(tail(&r.axes[1].path, 26), (8, 40), font(13)))
                .map_err(err)?;
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
            .map_err(err)?;
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
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let r = self.r;
        root.fill(&WHITE).map_err(err)?;
        let (w, _) = root.dim_in_pixel();
        let (plot, side) = root.split_horizontally(w.saturating_sub(130));
        let (ax, ay) = (&r.axes[0], &r.axes[1]);
        let (nx, ny) = (ax.values.len(), ay.values.len());
        let mut chart = ChartBuilder::on(&plot)
            .caption(
                format!("Survival probability of {}", r.providers[self.provider].id),
                font(20),
            )
            .margin(12)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d(segments(nx), segments(ny))
            .map_err(err)?;
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
            .map_err(err)?;
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
                    .map_err(err)?;
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
                        .map_err(err)?;
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
            .map_err(err)?;
        }
        for (t, label) in [(1.0, "100%"), (0.5, "50%"), (0.0, "0%")] {
            let y = top + ((1.0 - t) * f64::from(height)) as i32;
            side.draw(&Text::new(label, (50, y - 7), font(13)))
                .map_err(err)?;
        }
        Ok(())
    }
}

/// Writes the charts of a sweep into `dir`: `survival` and `headline` for one or two parameters,
/// and a `heatmap-PROVIDER` per chosen provider for two. Returns the files written.
pub fn sweep_charts(dir: &Path, r: &SweepResult) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    if r.points.is_empty() {
        return Ok(files);
    }
    match r.axes.len() {
        1 => {
            files.extend(render(dir, "survival", (1100, 650), &SurvivalChart { r })?);
            files.extend(render(dir, "headline", (1100, 800), &HeadlineChart { r })?);
        }
        2 => {
            files.extend(render(dir, "headline", (1100, 800), &HeadlineChart { r })?);
            for id in &r.chosen {
                if let Some(provider) = r.provider_index(id) {
                    let stem = format!("heatmap-{}", file_safe(id));
                    files.extend(render(
                        dir,
                        &stem,
                        (950, 700),
                        &HeatmapChart { r, provider },
                    )?);
                }
            }
        }
        _ => {}
    }
    Ok(files)
}

fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

// ---------------------------------------------------------------- sensitivity

/// Rows shown in a tornado chart.
const TORNADO_ROWS: usize = 15;

/// One output's one-at-a-time effects as a tornado: a bar per parameter from the baseline to the
/// output at minus and at plus the fraction, largest effect on top.
struct TornadoChart<'a> {
    r: &'a SensitivityResult,
    output: &'a Output,
}

impl Chart for TornadoChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let r = self.r;
        root.fill(&WHITE).map_err(err)?;
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
            .caption(
                format!(
                    "{}: effect of ±{:.0}% in each parameter",
                    self.output.label(),
                    r.fraction * 100.0
                ),
                font(20),
            )
            .margin(14)
            .margin_top(24)
            .x_label_area_size(50)
            .y_label_area_size(400)
            .build_cartesian_2d(x0..x1, segments(n))
            .map_err(err)?;
        // Row 0 at the bottom: the largest effect is drawn in the top row.
        let label_of = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) if *i < n => labels[n - 1 - *i].clone(),
            _ => String::new(),
        };
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
            .map_err(err)?;
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
                    .map_err(err)?;
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
            .map_err(err)?;
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
                .map_err(err)?;
            root.draw(&Text::new(label, (x + 24, 11), font(14)))
                .map_err(err)?;
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
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
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
            .caption(
                format!(
                    "Morris screening of {} ({} trajectories)",
                    self.output.label(),
                    self.r.trajectories
                ),
                font(20),
            )
            .margin(14)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..xmax, 0.0..ymax)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("μ*: mean |elementary effect| over the ± range")
            .y_desc("σ: spread (interactions, non-linearity)")
            .label_style(font(13))
            .axis_desc_style(font(15))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(
                rows.iter()
                    .map(|m| Circle::new((m.mu_star, m.sigma), 5, colour(4).filled())),
            )
            .map_err(err)?;
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
                .map_err(err)?;
        }
        Ok(())
    }
}

/// Writes a `tornado-OUTPUT` chart per output, and `morris-OUTPUT` when Morris ran.
pub fn sensitivity_charts(dir: &Path, r: &SensitivityResult) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for o in &r.outputs {
        let n = r.oat_of(o).len().clamp(1, TORNADO_ROWS) as u32;
        files.extend(render(
            dir,
            &format!("tornado-{}", slug(o)),
            (1200, 150 + 36 * n),
            &TornadoChart { r, output: o },
        )?);
        if !r.morris.is_empty() {
            files.extend(render(
                dir,
                &format!("morris-{}", slug(o)),
                (1000, 650),
                &MorrisChart { r, output: o },
            )?);
        }
    }
    Ok(files)
}

// ---------------------------------------------------------------- back-test

/// Colours of A, B, C and unrated.
const RATING_COLOURS: [RGBColor; 4] = [
    RGBColor(0, 158, 115),
    RGBColor(240, 228, 66),
    RGBColor(213, 94, 0),
    RGBColor(190, 190, 190),
];

/// The simulated probability of each rating for every recorded one, as stacked bars, with the
/// recorded rating beside each bar.
struct BacktestChart<'a> {
    r: &'a BacktestResult,
}

impl Chart for BacktestChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let r = self.r;
        root.fill(&WHITE).map_err(err)?;
        let n = r.predictions.len();
        let labels: Vec<String> = r
            .predictions
            .iter()
            .map(|p| format!("{} ({})", tail(&p.provider, 30), p.checkpoint))
            .collect();
        let s = &r.scores;
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!(
                    "Simulated ratings vs observed: accuracy {:.0}%, Brier {:.3} (base rates {:.3})",
                    s.accuracy * 100.0,
                    s.brier,
                    s.brier_base_rate
                ),
                font(19),
            )
            .margin(14)
            .margin_bottom(40)
            .x_label_area_size(45)
            .y_label_area_size(260)
            .build_cartesian_2d(0.0..1.16, segments(n))
            .map_err(err)?;
        let label_of = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) if *i < n => labels[n - 1 - *i].clone(),
            _ => String::new(),
        };
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
            .map_err(err)?;
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
                        .map_err(err)?;
                }
                start = end;
            }
            let right = p.modal == crate::explore::backtest::outcome_index(p.observed);
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("{} {}", p.observed.as_str(), if right { "✓" } else { "✗" }),
                    (1.03, SegmentValue::CenterOf(slot)),
                    (FONT, 14)
                        .into_font()
                        .color(&BLACK)
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                )))
                .map_err(err)?;
        }
        let (_, h) = root.dim_in_pixel();
        let y = h as i32 - 30;
        for (i, label) in OUTCOMES.iter().enumerate() {
            let x = 280 + 110 * i as i32;
            let swatch = [(x, y), (x + 18, y + 14)];
            root.draw(&Rectangle::new(swatch, RATING_COLOURS[i].filled()))
                .map_err(err)?;
            root.draw(&Rectangle::new(swatch, BLACK.stroke_width(1)))
                .map_err(err)?;
            root.draw(&Text::new(label.to_string(), (x + 24, y - 1), font(14)))
                .map_err(err)?;
        }
        root.draw(&Text::new(
            "right: observed rating, ✓ when it is the modal prediction",
            (730, y - 1),
            font(13),
        ))
        .map_err(err)?;
        Ok(())
    }
}

/// Writes the `backtest` chart into `dir`.
pub fn backtest_chart(dir: &Path, r: &BacktestResult) -> anyhow::Result<Vec<PathBuf>> {
    let n = r.predictions.len().max(1) as u32;
    render(dir, "backtest", (1200, 190 + 28 * n), &BacktestChart { r })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_runs_from_dark_purple_to_yellow() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(f64::NAN), RGBColor(68, 1, 84));
    }

    #[test]
    fn long_labels_keep_their_end() {
        assert_eq!(tail("providers.x.services.bi.capacity", 12), "…bi.capacity");
        assert_eq!(tail("short", 12), "short");
    }
}
