//! Charts of sweeps ([`sweep`]), sensitivity analyses ([`sensitivity`]) and back-tests
//! ([`backtest`]), drawn from their plain results through the same [`Chart`](super::Chart) trait
//! as every other chart. This file holds what the three share: fonts, legends, bar gaps, label
//! shortening and the viridis scale.

pub mod backtest;
pub mod sensitivity;
pub mod sweep;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::FONT;
use super::draw::fail;
use crate::charts::ChartError;

pub use backtest::backtest_charts;
pub use sensitivity::sensitivity_charts;
pub use sweep::sweep_charts;

/// Black text of these charts at a size in pixels.
pub(crate) fn font(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&BLACK)
}

/// A legend drawn in its own area: a colour swatch and a label per entry.
pub(crate) fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    top: i32,
    entries: &[(String, RGBColor)],
) -> Result<(), ChartError> {
    for (i, (label, c)) in entries.iter().enumerate() {
        let y = top + 24 * i as i32;
        area.draw(&Rectangle::new([(8, y), (28, y + 14)], c.filled()))
            .map_err(fail)?;
        area.draw(&Text::new(label.clone(), (36, y), font(14)))
            .map_err(fail)?;
    }
    Ok(())
}

/// Bars that leave a gap between neighbouring category slots.
pub(crate) trait Gap: Sized {
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
pub(crate) fn tail(s: &str, n: usize) -> String {
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
pub(crate) fn segments(
    n: usize,
) -> plotters::coord::ranged1d::SegmentedCoord<plotters::coord::types::RangedCoordusize> {
    (0..n.max(1) - 1).into_segmented()
}

/// Labels for `labels.len()` category slots read top down: slot 0 is drawn at the bottom, so
/// the first label goes to the top slot.
pub(crate) fn top_down(labels: &[String]) -> impl Fn(&SegmentValue<usize>) -> String + '_ {
    let n = labels.len();
    move |v| match v {
        SegmentValue::CenterOf(i) if *i < n => labels[n - 1 - *i].clone(),
        _ => String::new(),
    }
}

/// Pads a numeric range that may be empty or degenerate.
pub(crate) fn padded(min: f64, max: f64) -> (f64, f64) {
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
