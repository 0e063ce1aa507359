//! Checkpoint ratings: for each provider, the share of runs rated A, B and C (stopped) at each
//! checkpoint, one column per configuration and checkpoint, providers grouped by region.

use plotters::prelude::*;

use super::draw::{self, Anchor, Area, Mark, Scale};
use super::labels::{Labels, RegionGroup, provider_groups};
use super::{Chart, ChartError, series_colour};
use crate::experiment::Summary;

/// Rating colours: A blue, B yellow, C vermillion, not rated light grey (Okabe-Ito, so the three
/// ratings differ in lightness as well as hue).
pub const RATING_COLOURS: [RGBColor; 4] = [
    RGBColor(0, 114, 178),
    RGBColor(240, 228, 66),
    RGBColor(213, 94, 0),
    RGBColor(205, 205, 205),
];

/// Rating names, in the order of [`RATING_COLOURS`].
pub const RATING_NAMES: [&str; 4] = [
    "A: proceeds",
    "B: proceeds with issues",
    "C: stopped",
    "not rated (closed by then)",
];

/// The ratings chart of some configurations.
pub struct RatingsChart<'a> {
    summaries: &'a [Summary],
    labels: &'a Labels,
    groups: Vec<RegionGroup>,
}

const HEADER_H: i32 = 30;
const ROW_H: i32 = 28;
const PANEL_W: i32 = 150;
const GAP: i32 = 30;
const BOTTOM: i32 = 80;

impl<'a> RatingsChart<'a> {
    /// The chart of `summaries` (one per configuration).
    pub fn new(summaries: &'a [Summary], labels: &'a Labels) -> RatingsChart<'a> {
        RatingsChart {
            summaries,
            labels,
            groups: provider_groups(summaries, labels),
        }
    }

    /// (configuration index, checkpoint index) per column.
    fn columns(&self) -> Vec<(usize, usize)> {
        self.summaries
            .iter()
            .enumerate()
            .flat_map(|(i, s)| (0..s.checkpoints.len()).map(move |k| (i, k)))
            .collect()
    }

    fn label_w(&self) -> i32 {
        let longest = self
            .groups
            .iter()
            .flat_map(|g| g.providers.iter())
            .map(|p| draw::text_width(&draw::shorten(&p.label(), 44), draw::BODY, false))
            .max()
            .unwrap_or(100);
        longest as i32 + 36
    }

    fn top(&self) -> i32 {
        72 + 34 + 70
    }
}

impl Chart for RatingsChart<'_> {
    fn name(&self) -> &'static str {
        "ratings"
    }

    fn title(&self) -> String {
        "Checkpoint ratings".into()
    }

    fn size(&self) -> (u32, u32) {
        let rows: usize = self.groups.iter().map(|g| g.providers.len()).sum();
        let cols = self.columns().len().max(1) as i32;
        let w = (self.label_w() + cols * (PANEL_W + GAP) + 20).max(1000);
        let h = self.top() + HEADER_H * self.groups.len() as i32 + ROW_H * rows as i32 + BOTTOM;
        (w as u32, h as u32)
    }

    fn draw<DB: DrawingBackend>(&self, a: &Area<DB>) -> Result<(), ChartError> {
        let (w, h) = self.size();
        let runs = self.summaries.first().map_or(0, |s| s.replications);
        let y = draw::heading(
            a,
            &self.title(),
            &format!(
                "Share of {runs} runs in which each provider got each rating, per configuration and checkpoint"
            ),
        )?;
        let items: Vec<(Mark, String)> = RATING_COLOURS
            .iter()
            .zip(RATING_NAMES)
            .map(|(c, n)| (Mark::Swatch(c.to_rgba()), n.to_string()))
            .collect();
        draw::legend(a, &items, (20, y + 4), w as i32 - 20)?;

        let x0 = self.label_w();
        let top = self.top();
        let bottom = h as i32 - BOTTOM;
        let columns = self.columns();
        let panel_x = |c: usize| x0 + c as i32 * (PANEL_W + GAP);

        // Column headers: configuration (in its series colour) over checkpoint name.
        for (c, &(i, k)) in columns.iter().enumerate() {
            let s = &self.summaries[i];
            let mid = panel_x(c) + PANEL_W / 2;
            if k == 0 {
                let span_end = panel_x(c + s.checkpoints.len() - 1) + PANEL_W;
                draw::line(
                    a,
                    (panel_x(c), top - 40),
                    (span_end, top - 40),
                    &series_colour(i),
                    3,
                )?;
                let cfg = draw::shorten(&s.configuration, (s.checkpoints.len() * 17).max(17));
                draw::text(
                    a,
                    &cfg,
                    ((panel_x(c) + span_end) / 2, top - 52),
                    draw::BODY,
                    true,
                    draw::INK,
                    Anchor::Centre,
                )?;
            }
            let cp = draw::shorten(&self.labels.checkpoint(&s.checkpoints[k]), 18);
            draw::text(
                a,
                &cp,
                (mid, top - 20),
                draw::SMALL,
                false,
                draw::INK,
                Anchor::Centre,
            )?;
            let scale = Scale {
                lo: 0.0,
                hi: 1.0,
                p0: panel_x(c),
                p1: panel_x(c) + PANEL_W,
            };
            draw::x_axis(
                a,
                &scale,
                (top, bottom),
                &[0.0, 0.5, 1.0],
                &|v| format!("{:.0}", v * 100.0),
                None,
            )?;
        }
        let mid_all = (x0 + panel_x(columns.len().max(1)) - GAP) / 2;
        draw::text(
            a,
            "Share of runs (%)",
            (mid_all, bottom + 32),
            draw::BODY,
            false,
            draw::INK,
            Anchor::Top,
        )?;

        let mut row_y = top;
        for g in &self.groups {
            draw::fill(
                a,
                (10, row_y),
                (w as i32 - 10, row_y + HEADER_H),
                &draw::BAND,
            )?;
            draw::text(
                a,
                &g.title,
                (16, row_y + HEADER_H / 2),
                draw::BODY,
                true,
                draw::INK,
                Anchor::Left,
            )?;
            row_y += HEADER_H;
            for p in &g.providers {
                let cy = row_y + ROW_H / 2;
                draw::text(
                    a,
                    &draw::shorten(&p.label(), 44),
                    (x0 - 12, cy),
                    draw::BODY,
                    false,
                    draw::INK,
                    Anchor::Right,
                )?;
                for (c, &(i, k)) in columns.iter().enumerate() {
                    let Some(ps) = self.summaries[i].provider(&p.id) else {
                        let mid = panel_x(c) + PANEL_W / 2;
                        draw::text(
                            a,
                            "not in this configuration",
                            (mid, cy),
                            12.0,
                            false,
                            draw::MUTED,
                            Anchor::Centre,
                        )?;
                        continue;
                    };
                    let counts = ps.ratings[k];
                    let n: u64 = counts.iter().sum();
                    if n == 0 {
                        continue;
                    }
                    // Stack A, B, C, then not rated, left to right.
                    let mut acc = 0u64;
                    for (slot, &idx) in [1usize, 2, 3, 0].iter().enumerate() {
                        let from = acc as f64 / n as f64;
                        acc += counts[idx];
                        let to = acc as f64 / n as f64;
                        let (px0, px1) = (
                            panel_x(c) + (from * f64::from(PANEL_W)).round() as i32,
                            panel_x(c) + (to * f64::from(PANEL_W)).round() as i32,
                        );
                        if px1 <= px0 {
                            continue;
                        }
                        draw::fill(a, (px0, cy - 9), (px1, cy + 9), &RATING_COLOURS[slot])?;
                        if px1 - px0 >= 38 && slot < 3 {
                            let ink = if slot == 1 { draw::INK } else { WHITE };
                            let share = format!("{:.0}%", (to - from) * 100.0);
                            draw::text(
                                a,
                                &share,
                                ((px0 + px1) / 2, cy),
                                draw::SMALL,
                                slot != 1,
                                ink,
                                Anchor::Centre,
                            )?;
                        }
                    }
                    draw::outline(
                        a,
                        (panel_x(c), cy - 9),
                        (panel_x(c) + PANEL_W, cy + 9),
                        &draw::MUTED,
                        1,
                    )?;
                }
                row_y += ROW_H;
            }
        }
        Ok(())
    }
}
