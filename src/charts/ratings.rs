//! Checkpoint ratings: for each provider, the share of runs rated A, B and C (stopped) at each
//! checkpoint: one column per checkpoint, and within each provider's row one thin bar per
//! configuration (marked in its colour), providers grouped by region. Columns per checkpoint rather
//! than per configuration and checkpoint keep the chart readable at four configurations and five
//! checkpoints, where a column for each pair made it 4,000 pixels wide.

use plotters::prelude::*;

use super::draw::{self, Anchor, Area, Mark, Scale};
use super::labels::{Labels, RegionGroup, groups_height, provider_groups};
use super::{Chart, ChartError, PALETTE, series_colour};
use crate::experiment::{RatingOutcome, Summary};

/// Rating colours: A blue, B yellow, C vermillion, not rated light grey (Okabe-Ito, so the three
/// ratings differ in lightness as well as hue).
pub const RATING_COLOURS: [RGBColor; 4] =
    [PALETTE[4], PALETTE[3], PALETTE[5], RGBColor(205, 205, 205)];

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
    groups: Vec<RegionGroup>,
    /// Checkpoint id and name, in scenario order.
    checkpoints: Vec<(String, String)>,
}

const HEADER_H: i32 = 30;
const BAR_H: i32 = 16;
const SUB_H: i32 = 20;
const PANEL_W: i32 = 200;
const GAP: i32 = 30;
const BOTTOM: i32 = 80;
const LABEL_CHARS: usize = 52;

impl<'a> RatingsChart<'a> {
    /// The chart of `summaries` (one per configuration).
    pub fn new(summaries: &'a [Summary], labels: &'a Labels) -> RatingsChart<'a> {
        let mut checkpoints: Vec<(String, String)> = Vec::new();
        for s in summaries {
            for id in &s.checkpoints {
                if !checkpoints.iter().any(|(c, _)| c == id) {
                    checkpoints.push((id.clone(), labels.checkpoint(id)));
                }
            }
        }
        RatingsChart {
            summaries,
            groups: provider_groups(summaries, labels),
            checkpoints,
        }
    }

    fn row_h(&self) -> i32 {
        SUB_H * self.summaries.len() as i32 + 10
    }

    fn label_w(&self) -> i32 {
        let longest = self
            .groups
            .iter()
            .flat_map(|g| g.providers.iter())
            .map(|p| draw::text_width(&draw::shorten(&p.label(), LABEL_CHARS), draw::BODY, false))
            .max()
            .unwrap_or(100);
        longest as i32 + 60
    }

    fn legend_items(&self) -> Vec<(Mark, String)> {
        let mut items: Vec<(Mark, String)> = RATING_COLOURS
            .iter()
            .zip(RATING_NAMES)
            .map(|(c, n)| (Mark::Swatch(c.to_rgba()), n.to_string()))
            .collect();
        items.extend(
            self.summaries
                .iter()
                .enumerate()
                .map(|(i, s)| (Mark::Tag(series_colour(i)), s.configuration.clone())),
        );
        items
    }

    fn width(&self) -> i32 {
        let cols = self.checkpoints.len().max(1) as i32;
        (self.label_w() + cols * (PANEL_W + GAP) + 20).max(1000)
    }

    fn top(&self) -> i32 {
        let labels: Vec<String> = self.legend_items().into_iter().map(|(_, l)| l).collect();
        72 + draw::legend_height(&labels, 20, self.width() - 20) + 44
    }
}

impl Chart for RatingsChart<'_> {
    fn name(&self) -> String {
        crate::export::layout::chart::RATINGS.into()
    }

    fn title(&self) -> String {
        "Checkpoint ratings".into()
    }

    fn size(&self) -> (u32, u32) {
        let h = self.top() + groups_height(&self.groups, HEADER_H, self.row_h()) + BOTTOM;
        (self.width() as u32, h as u32)
    }

    fn draw<DB: DrawingBackend>(&self, a: &Area<DB>) -> Result<(), ChartError> {
        let (w, h) = self.size();
        let runs = self.summaries.first().map_or(0, |s| s.replications);
        let y = draw::heading(
            a,
            &self.title(),
            &format!(
                "Share of {runs} runs in which each provider got each rating at each checkpoint; one bar per configuration"
            ),
        )?;
        draw::legend(a, &self.legend_items(), (20, y + 4), w as i32 - 20)?;

        let x0 = self.label_w();
        let top = self.top();
        let bottom = h as i32 - BOTTOM;
        let panel_x = |c: usize| x0 + c as i32 * (PANEL_W + GAP);
        for (c, (_, name)) in self.checkpoints.iter().enumerate() {
            let mid = panel_x(c) + PANEL_W / 2;
            draw::text(
                a,
                &draw::shorten(name, 24),
                (mid, top - 18),
                draw::BODY,
                true,
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
        let mid_all = (x0 + panel_x(self.checkpoints.len().max(1)) - GAP) / 2;
        draw::text(
            a,
            "Share of runs (%)",
            (mid_all, bottom + 32),
            draw::BODY,
            false,
            draw::INK,
            Anchor::Top,
        )?;

        let rh = self.row_h();
        let mut row_y = top;
        for g in &self.groups {
            draw::group_header(a, &g.title, row_y, w as i32 - 10, HEADER_H)?;
            row_y += HEADER_H;
            for p in &g.providers {
                draw::text(
                    a,
                    &draw::shorten(&p.label(), LABEL_CHARS),
                    (x0 - 40, row_y + rh / 2),
                    draw::BODY,
                    false,
                    draw::INK,
                    Anchor::Right,
                )?;
                for (i, s) in self.summaries.iter().enumerate() {
                    let cy = row_y + 5 + SUB_H * i as i32 + SUB_H / 2;
                    // The configuration's tag, so each thin bar can be told apart without colour too.
                    draw::fill(a, (x0 - 28, cy - 6), (x0 - 16, cy + 6), &series_colour(i))?;
                    let ps = s.provider(&p.id);
                    for (c, (cp, _)) in self.checkpoints.iter().enumerate() {
                        let counts = ps.and_then(|x| {
                            let k = s.checkpoints.iter().position(|id| id == cp)?;
                            x.ratings.get(k).copied()
                        });
                        let Some(counts) = counts.filter(|c| c.iter().sum::<u64>() > 0) else {
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
                        let n: u64 = counts.iter().sum();
                        // Stack A, B, C, then not rated, left to right.
                        let mut acc = 0u64;
                        for (slot, count) in RatingOutcome::counts(&counts).into_iter().enumerate()
                        {
                            let from = acc as f64 / n as f64;
                            acc += count;
                            let to = acc as f64 / n as f64;
                            let (px0, px1) = (
                                panel_x(c) + (from * f64::from(PANEL_W)).round() as i32,
                                panel_x(c) + (to * f64::from(PANEL_W)).round() as i32,
                            );
                            if px1 <= px0 {
                                continue;
                            }
                            draw::fill(
                                a,
                                (px0, cy - BAR_H / 2),
                                (px1, cy + BAR_H / 2),
                                &RATING_COLOURS[slot],
                            )?;
                            if px1 - px0 >= 34 && slot < 3 {
                                let ink = if slot == 1 { draw::INK } else { WHITE };
                                let share = format!("{:.0}%", (to - from) * 100.0);
                                draw::text(
                                    a,
                                    &share,
                                    ((px0 + px1) / 2, cy),
                                    12.0,
                                    slot != 1,
                                    ink,
                                    Anchor::Centre,
                                )?;
                            }
                        }
                        draw::outline(
                            a,
                            (panel_x(c), cy - BAR_H / 2),
                            (panel_x(c) + PANEL_W, cy + BAR_H / 2),
                            &draw::MUTED,
                            1,
                        )?;
                    }
                }
                draw::line(
                    a,
                    (10, row_y + rh),
                    (w as i32 - 10, row_y + rh),
                    &draw::GRID,
                    1,
                )?;
                row_y += rh;
            }
        }
        Ok(())
    }
}
