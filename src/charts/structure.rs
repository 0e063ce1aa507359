//! Market structure: for each service line, the mean share of volume at the end bought in-house,
//! from local CSUs, collaboratives, a national service and the independent sector, one stacked bar
//! per configuration.

use plotters::prelude::*;

use super::draw::{self, Anchor, Area, Mark, Scale};
use super::labels::Labels;
use super::{Chart, ChartError, PALETTE, series_colour};
use crate::experiment::Summary;

/// Colours of the supply categories, in the order of `experiment::CATEGORIES` (Okabe-Ito).
pub const CATEGORY_COLOURS: [RGBColor; 5] =
    [PALETTE[1], PALETTE[4], PALETTE[2], PALETTE[0], PALETTE[6]];

/// Category names for people, in the order of `experiment::CATEGORIES`.
pub const CATEGORY_NAMES: [&str; 5] = [
    "in-house",
    "local CSU",
    "collaborative",
    "national service",
    "independent sector",
];

/// The market structure chart of some configurations.
pub struct StructureChart<'a> {
    summaries: &'a [Summary],
    services: Vec<(String, String)>,
}

const HEADER_H: i32 = 30;
const ROW_H: i32 = 30;
const WIDTH: u32 = 1200;
const BOTTOM: i32 = 80;

impl<'a> StructureChart<'a> {
    /// The chart of `summaries` (one per configuration).
    pub fn new(summaries: &'a [Summary], labels: &Labels) -> StructureChart<'a> {
        let mut services: Vec<(String, String)> = Vec::new();
        for s in summaries {
            for sv in &s.services {
                if !services.iter().any(|(id, _)| id == &sv.id) {
                    services.push((sv.id.clone(), labels.service(&sv.id)));
                }
            }
        }
        StructureChart {
            summaries,
            services,
        }
    }

    fn label_w(&self) -> i32 {
        self.summaries
            .iter()
            .map(|s| draw::text_width(&draw::shorten(&s.configuration, 40), draw::BODY, false))
            .max()
            .unwrap_or(100) as i32
            + 70
    }

    fn top(&self) -> i32 {
        72 + 34 + 12
    }

    /// Mean shares of a service in a configuration, scaled to sum to one.
    fn shares(s: &Summary, service: &str) -> Option<[f64; 5]> {
        let sv = s.services.iter().find(|x| x.id == service)?;
        let mut m = [0.0; 5];
        for (k, st) in sv.shares.iter().enumerate() {
            m[k] = st.mean()?.max(0.0);
        }
        let total: f64 = m.iter().sum();
        (total > 0.0).then(|| m.map(|v| v / total))
    }
}

impl Chart for StructureChart<'_> {
    fn name(&self) -> String {
        crate::export::layout::chart::STRUCTURE.into()
    }

    fn title(&self) -> String {
        "Market structure by service line".into()
    }

    fn size(&self) -> (u32, u32) {
        let n = self.services.len() as i32;
        let h = self.top() + n * (HEADER_H + ROW_H * self.summaries.len() as i32 + 6) + BOTTOM;
        (WIDTH, h as u32)
    }

    fn draw<DB: DrawingBackend>(&self, a: &Area<DB>) -> Result<(), ChartError> {
        let (w, h) = self.size();
        let runs = self.summaries.first().map_or(0, |s| s.replications);
        let y = draw::heading(
            a,
            &self.title(),
            &format!(
                "Who supplies each service line's volume at the end of the run: mean share over {runs} runs"
            ),
        )?;
        let items: Vec<(Mark, String)> = CATEGORY_COLOURS
            .iter()
            .zip(CATEGORY_NAMES)
            .map(|(c, n)| (Mark::Swatch(c.to_rgba()), n.to_string()))
            .collect();
        draw::legend(a, &items, (20, y + 4), w as i32 - 20)?;
        let x0 = self.label_w();
        let scale = Scale {
            lo: 0.0,
            hi: 1.0,
            p0: x0,
            p1: w as i32 - 40,
        };
        let top = self.top();
        let bottom = h as i32 - BOTTOM;
        draw::x_axis(
            a,
            &scale,
            (top, bottom),
            &draw::nice_ticks(0.0, 1.0, 10),
            &draw::pct_tick,
            Some("Share of the service line's volume at the end (%)"),
        )?;
        let mut row_y = top;
        for (id, name) in &self.services {
            draw::group_header(a, name, row_y, scale.p1, HEADER_H)?;
            row_y += HEADER_H;
            for (i, s) in self.summaries.iter().enumerate() {
                let cy = row_y + ROW_H / 2;
                draw::fill(a, (24, cy - 6), (36, cy + 6), &series_colour(i))?;
                draw::text(
                    a,
                    &draw::shorten(&s.configuration, 40),
                    (x0 - 12, cy),
                    draw::BODY,
                    false,
                    draw::INK,
                    Anchor::Right,
                )?;
                if let Some(shares) = Self::shares(s, id) {
                    let mut acc = 0.0;
                    for (k, &v) in shares.iter().enumerate() {
                        let (px0, px1) = (scale.px(acc), scale.px(acc + v));
                        acc += v;
                        if px1 <= px0 {
                            continue;
                        }
                        draw::fill(a, (px0, cy - 11), (px1, cy + 11), &CATEGORY_COLOURS[k])?;
                        if px1 - px0 >= 40 {
                            // White on the dark blue and green, ink on the pale colours.
                            let ink = if k == 1 || k == 2 { WHITE } else { draw::INK };
                            let label = format!("{:.0}%", v * 100.0);
                            draw::text(
                                a,
                                &label,
                                ((px0 + px1) / 2, cy),
                                draw::SMALL,
                                true,
                                ink,
                                Anchor::Centre,
                            )?;
                        }
                    }
                } else {
                    draw::text(
                        a,
                        "not offered",
                        (scale.p0 + 8, cy),
                        draw::SMALL,
                        false,
                        draw::MUTED,
                        Anchor::Left,
                    )?;
                }
                row_y += ROW_H;
            }
            row_y += 6;
        }
        Ok(())
    }
}
