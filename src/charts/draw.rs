//! Small drawing helpers on pixel coordinates: text, boxes, axes and legends.
//!
//! The row charts (survival, ratings, structure, cost, differences) lay out their own rows, so they
//! draw on pixels with these helpers rather than through a plotters chart context; that keeps long
//! provider names, group headers and per-row marks under the chart's control.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{ChartError, FONT};

/// A drawing area in pixels.
pub(crate) type Area<DB> = DrawingArea<DB, Shift>;

/// Result of a drawing step.
pub(crate) type Drawn = Result<(), ChartError>;

/// Text size of chart titles.
pub(crate) const TITLE: f64 = 24.0;
/// Text size of subtitles, axis labels and row labels.
pub(crate) const BODY: f64 = 16.0;
/// Text size of tick labels and notes.
pub(crate) const SMALL: f64 = 14.0;

/// Near-black for text.
pub(crate) const INK: RGBColor = RGBColor(33, 33, 33);
/// Mid grey for secondary text.
pub(crate) const MUTED: RGBColor = RGBColor(90, 90, 90);
/// Light grey for grid lines.
pub(crate) const GRID: RGBColor = RGBColor(222, 222, 222);
/// Very light grey for group header bands.
pub(crate) const BAND: RGBColor = RGBColor(240, 240, 240);

/// Turns any plotters error into a chart error.
pub(crate) fn fail<E: std::fmt::Display>(e: E) -> ChartError {
    ChartError(e.to_string())
}

/// The chart font at a size, bold or not.
pub(crate) fn font(size: f64, bold: bool) -> FontDesc<'static> {
    let style = if bold {
        FontStyle::Bold
    } else {
        FontStyle::Normal
    };
    FontDesc::new(FontFamily::Name(FONT), size, style)
}

/// Horizontal and vertical anchoring of a text.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Anchor {
    /// Left edge, vertically centred.
    Left,
    /// Right edge, vertically centred.
    Right,
    /// Centred both ways.
    Centre,
    /// Horizontally centred, top edge.
    Top,
}

/// Draws one line of text at a pixel position.
#[allow(clippy::too_many_arguments)]
pub(crate) fn text<DB: DrawingBackend>(
    a: &Area<DB>,
    s: &str,
    (x, y): (i32, i32),
    size: f64,
    bold: bool,
    colour: RGBColor,
    anchor: Anchor,
) -> Drawn {
    let pos = match anchor {
        Anchor::Left => Pos::new(HPos::Left, VPos::Center),
        Anchor::Right => Pos::new(HPos::Right, VPos::Center),
        Anchor::Centre => Pos::new(HPos::Center, VPos::Center),
        Anchor::Top => Pos::new(HPos::Center, VPos::Top),
    };
    let style = TextStyle::from(font(size, bold)).color(&colour).pos(pos);
    a.draw_text(s, &style, (x, y)).map_err(fail)
}

/// Width in pixels of a text as the embedded font draws it (the same for every backend, so a
/// chart's layout and size can be computed before it is drawn).
pub(crate) fn text_width(s: &str, size: f64, bold: bool) -> u32 {
    super::register_fonts();
    font(size, bold)
        .box_size(s)
        .map(|(w, _)| w)
        // Without a measurement, assume an average glyph of 0.6 em.
        .unwrap_or_else(|_| (s.chars().count() as f64 * size * 0.6) as u32)
}

/// Fills a rectangle.
pub(crate) fn fill<DB: DrawingBackend, C: Color>(
    a: &Area<DB>,
    (x0, y0): (i32, i32),
    (x1, y1): (i32, i32),
    colour: &C,
) -> Drawn {
    a.draw(&Rectangle::new([(x0, y0), (x1, y1)], colour.filled()))
        .map_err(fail)
}

/// Outlines a rectangle.
pub(crate) fn outline<DB: DrawingBackend, C: Color>(
    a: &Area<DB>,
    (x0, y0): (i32, i32),
    (x1, y1): (i32, i32),
    colour: &C,
    width: u32,
) -> Drawn {
    a.draw(&Rectangle::new(
        [(x0, y0), (x1, y1)],
        colour.stroke_width(width),
    ))
    .map_err(fail)
}

/// Draws a straight line.
pub(crate) fn line<DB: DrawingBackend, C: Color>(
    a: &Area<DB>,
    from: (i32, i32),
    to: (i32, i32),
    colour: &C,
    width: u32,
) -> Drawn {
    a.draw(&PathElement::new(
        vec![from, to],
        colour.stroke_width(width),
    ))
    .map_err(fail)
}

/// Draws a filled dot.
pub(crate) fn dot<DB: DrawingBackend, C: Color>(
    a: &Area<DB>,
    at: (i32, i32),
    radius: i32,
    colour: &C,
) -> Drawn {
    a.draw(&Circle::new(at, radius, colour.filled()))
        .map_err(fail)?;
    // A white rim keeps overlapping dots apart.
    a.draw(&Circle::new(at, radius, WHITE.stroke_width(1)))
        .map_err(fail)
}

/// Draws a filled diamond (used for means).
pub(crate) fn diamond<DB: DrawingBackend, C: Color>(
    a: &Area<DB>,
    (x, y): (i32, i32),
    r: i32,
    colour: &C,
) -> Drawn {
    let pts = vec![(x, y - r), (x + r, y), (x, y + r), (x - r, y)];
    a.draw(&Polygon::new(pts.clone(), colour.filled()))
        .map_err(fail)?;
    let mut closed = pts;
    closed.push((x, y - r));
    a.draw(&PathElement::new(closed, WHITE.stroke_width(1)))
        .map_err(fail)
}

/// A linear map from data values to pixels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    /// Data value at the first pixel.
    pub lo: f64,
    /// Data value at the last pixel.
    pub hi: f64,
    /// First pixel.
    pub p0: i32,
    /// Last pixel.
    pub p1: i32,
}

impl Scale {
    /// Pixel of a value, clamped to the scale's pixel range.
    pub fn px(&self, v: f64) -> i32 {
        let span = self.hi - self.lo;
        let t = if span > 0.0 {
            (v - self.lo) / span
        } else {
            0.5
        };
        let t = t.clamp(0.0, 1.0);
        self.p0 + (t * f64::from(self.p1 - self.p0)).round() as i32
    }
}

/// Round tick values covering `[lo, hi]`, about `target` of them.
pub(crate) fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil();
    let last = (hi / step).floor();
    let mut out = Vec::new();
    let mut k = first;
    while k <= last + 1e-9 {
        // Snap -0.0 and rounding noise so labels read "0" and "0.3", not "-0" or "0.30000000004".
        let v = (k * step * 1e9).round() / 1e9;
        out.push(if v == 0.0 { 0.0 } else { v });
        k += 1.0;
    }
    out
}

/// Decimals needed to print every multiple of `step` exactly (at most 6).
pub(crate) fn decimals_for_step(step: f64) -> usize {
    (0..6)
        .find(|&d| {
            let x = step * 10f64.powi(d as i32);
            (x - x.round()).abs() < 1e-6 * x.abs().max(1.0)
        })
        .unwrap_or(6)
}

/// Decimals that show a half-width of an interval to two significant figures (0 to 4).
pub(crate) fn decimals_for_precision(half_width: f64) -> usize {
    if !(half_width.is_finite() && half_width > 0.0) {
        return 1;
    }
    (1.0 - half_width.log10().floor()).clamp(0.0, 4.0) as usize
}

/// A range padded to round ticks, always containing `must` (e.g. zero).
pub(crate) fn padded_range(values: &[f64], must: Option<f64>) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for &v in values.iter().chain(must.iter()) {
        if v.is_finite() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        let w = if lo.abs() > 1e-12 {
            lo.abs() * 0.1
        } else {
            1.0
        };
        return (lo - w, hi + w);
    }
    let pad = (hi - lo) * 0.06;
    let ticks = nice_ticks(lo - pad, hi + pad, 8);
    let step = if ticks.len() > 1 {
        ticks[1] - ticks[0]
    } else {
        hi - lo
    };
    (
        ((lo - pad) / step).floor() * step,
        ((hi + pad) / step).ceil() * step,
    )
}

/// Draws vertical grid lines from `top` to `bottom` at each tick, tick labels under `bottom`, and,
/// when given, an axis label under them.
pub(crate) fn x_axis<DB: DrawingBackend>(
    a: &Area<DB>,
    scale: &Scale,
    (top, bottom): (i32, i32),
    ticks: &[f64],
    label: &dyn Fn(f64) -> String,
    title: Option<&str>,
) -> Drawn {
    for &t in ticks {
        let x = scale.px(t);
        line(a, (x, top), (x, bottom), &GRID, 1)?;
        line(a, (x, bottom), (x, bottom + 5), &MUTED, 1)?;
        text(
            a,
            &label(t),
            (x, bottom + 8),
            SMALL,
            false,
            INK,
            Anchor::Top,
        )?;
    }
    line(a, (scale.p0, bottom), (scale.p1, bottom), &MUTED, 1)?;
    if let Some(t) = title {
        let mid = (scale.p0 + scale.p1) / 2;
        text(a, t, (mid, bottom + 30), BODY, false, INK, Anchor::Top)?;
    }
    Ok(())
}

/// How a legend entry is marked.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Mark {
    /// A filled square.
    Swatch(RGBAColor),
    /// A dot on a short line (an estimate with its interval).
    DotLine(RGBColor),
    /// A thick line over a pale band (a median with its band).
    LineBand(RGBColor),
    /// A pale band with a border (a highlighted row).
    Shade(RGBColor, RGBColor),
    /// A line with end caps (a 5-95% whisker).
    Whisker(RGBColor),
    /// A diamond (a mean).
    Diamond(RGBColor),
    /// A thick vertical bar (a median).
    Bar(RGBColor),
    /// A small square tag (which configuration a thin bar belongs to).
    Tag(RGBColor),
}

/// Draws legend entries left to right from `(x, y)`, wrapping at `max_x`; returns the height used.
pub(crate) fn legend<DB: DrawingBackend>(
    a: &Area<DB>,
    items: &[(Mark, String)],
    (x0, y0): (i32, i32),
    max_x: i32,
) -> Result<i32, ChartError> {
    const LINE: i32 = 26;
    let (mut x, mut y) = (x0, y0);
    for (mark, label) in items {
        let w = 34 + text_width(label, BODY, false) as i32 + 22;
        if x > x0 && x + w > max_x {
            x = x0;
            y += LINE;
        }
        let cy = y + LINE / 2;
        match *mark {
            Mark::Swatch(c) => {
                fill(a, (x, cy - 8), (x + 24, cy + 8), &c)?;
                outline(a, (x, cy - 8), (x + 24, cy + 8), &MUTED, 1)?;
            }
            Mark::DotLine(c) => {
                line(a, (x, cy), (x + 24, cy), &c, 2)?;
                dot(a, (x + 12, cy), 5, &c)?;
            }
            Mark::LineBand(c) => {
                fill(a, (x, cy - 8), (x + 24, cy + 8), &c.mix(0.2))?;
                line(a, (x, cy), (x + 24, cy), &c, 3)?;
            }
            Mark::Whisker(c) => {
                line(a, (x, cy), (x + 24, cy), &c, 2)?;
                line(a, (x, cy - 7), (x, cy + 7), &c, 2)?;
                line(a, (x + 24, cy - 7), (x + 24, cy + 7), &c, 2)?;
            }
            Mark::Diamond(c) => diamond(a, (x + 12, cy), 7, &c)?,
            Mark::Bar(c) => line(a, (x + 12, cy - 9), (x + 12, cy + 9), &c, 4)?,
            Mark::Tag(c) => fill(a, (x + 6, cy - 6), (x + 18, cy + 6), &c)?,
            Mark::Shade(bg, border) => {
                fill(a, (x, cy - 8), (x + 24, cy + 8), &bg)?;
                outline(a, (x, cy - 8), (x + 24, cy + 8), &border, 1)?;
            }
        }
        text(a, label, (x + 32, cy), BODY, false, INK, Anchor::Left)?;
        x += w;
    }
    Ok(y + LINE - y0)
}

/// Height a legend will take, measured with the same rules as [`legend`].
pub(crate) fn legend_height(labels: &[String], x0: i32, max_x: i32) -> i32 {
    const LINE: i32 = 26;
    let (mut x, mut rows) = (x0, 1);
    for label in labels {
        let w = 34 + text_width(label, BODY, false) as i32 + 22;
        if x > x0 && x + w > max_x {
            x = x0;
            rows += 1;
        }
        x += w;
    }
    rows * LINE
}

/// Draws a group's header band from `(10, y)` to `(right, y + height)` with its title in bold at
/// the left, as every row chart heads its groups (regions, service lines, figures).
pub(crate) fn group_header<DB: DrawingBackend>(
    a: &Area<DB>,
    title: &str,
    y: i32,
    right: i32,
    height: i32,
) -> Drawn {
    fill(a, (10, y), (right, y + height), &BAND)?;
    text(
        a,
        title,
        (16, y + height / 2),
        BODY,
        true,
        INK,
        Anchor::Left,
    )
}

/// Draws the title and, under it, a subtitle; returns the y below them.
pub(crate) fn heading<DB: DrawingBackend>(
    a: &Area<DB>,
    title: &str,
    subtitle: &str,
) -> Result<i32, ChartError> {
    text(a, title, (20, 24), TITLE, true, INK, Anchor::Left)?;
    if subtitle.is_empty() {
        return Ok(46);
    }
    text(a, subtitle, (20, 54), BODY, false, MUTED, Anchor::Left)?;
    Ok(72)
}

/// Shortens a label to at most `max` characters, marking the cut with an ellipsis.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A percentage label for a tick in [0, 1].
pub(crate) fn pct_tick(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ticks_are_round_and_cover_the_range() {
        assert_eq!(
            nice_ticks(0.0, 1.0, 10),
            (0..=10).map(|i| f64::from(i) / 10.0).collect::<Vec<_>>()
        );
        assert_eq!(nice_ticks(-3.0, 7.0, 5), vec![-2.0, 0.0, 2.0, 4.0, 6.0]);
        let t = nice_ticks(8.3, 12.9, 6);
        assert!(t.first().unwrap() >= &8.3 && t.last().unwrap() <= &12.9);
    }

    #[test]
    fn decimals_show_ticks_and_intervals_without_repeats() {
        assert_eq!(decimals_for_step(0.005), 3);
        assert_eq!(decimals_for_step(2.5), 1);
        assert_eq!(decimals_for_step(20.0), 0);
        assert_eq!(decimals_for_precision(0.047), 3);
        assert_eq!(decimals_for_precision(0.88), 2);
        assert_eq!(decimals_for_precision(12.0), 0);
    }

    #[test]
    fn padded_range_contains_zero_when_asked() {
        let (lo, hi) = padded_range(&[0.2, 0.5], Some(0.0));
        assert!(lo <= 0.0 && hi >= 0.5);
        let (lo, hi) = padded_range(&[], None);
        assert_eq!((lo, hi), (0.0, 1.0));
    }

    #[test]
    fn scale_maps_ends_and_clamps() {
        let s = Scale {
            lo: 0.0,
            hi: 1.0,
            p0: 100,
            p1: 300,
        };
        assert_eq!(
            (s.px(0.0), s.px(0.5), s.px(1.0), s.px(2.0)),
            (100, 200, 300, 300)
        );
    }
}
