//! Provider survival: each provider's probability of being open at the end, with its 95% interval,
//! one mark per configuration, providers grouped by region. Providers that fail in most runs of
//! some configuration are shaded and set in bold.

use plotters::prelude::*;

use super::draw::{self, Anchor, Area, Mark, Scale};
use super::labels::{Labels, RegionGroup, groups_height, provider_groups};
use super::{Chart, ChartError, series_colour};
use crate::experiment::Summary;
use crate::stats::Proportion;

/// Shade behind providers that fail in most runs.
const WEAK_BG: RGBColor = RGBColor(253, 226, 208);
/// Text colour of their labels (dark vermillion, readable on the shade).
const WEAK_INK: RGBColor = RGBColor(150, 50, 0);

/// The survival chart of some configurations.
pub struct SurvivalChart<'a> {
    summaries: &'a [Summary],
    groups: Vec<RegionGroup>,
}

const HEADER_H: i32 = 30;
const BOTTOM: i32 = 80;
const WIDTH: u32 = 1200;

impl<'a> SurvivalChart<'a> {
    /// The chart of `summaries` (one per configuration).
    pub fn new(summaries: &'a [Summary], labels: &Labels) -> SurvivalChart<'a> {
        SurvivalChart {
            summaries,
            groups: provider_groups(summaries, labels),
        }
    }

    fn row_h(&self) -> i32 {
        (12 * self.summaries.len() as i32 + 12).max(28)
    }

    fn legend_items(&self) -> Vec<(Mark, String)> {
        let mut items: Vec<(Mark, String)> = self
            .summaries
            .iter()
            .enumerate()
            .map(|(i, s)| (Mark::DotLine(series_colour(i)), s.configuration.clone()))
            .collect();
        items.push((
            Mark::Shade(WEAK_BG, WEAK_INK),
            "survives in fewer than half the runs of some configuration".into(),
        ));
        items
    }

    fn top(&self) -> i32 {
        let labels: Vec<String> = self.legend_items().into_iter().map(|(_, l)| l).collect();
        72 + draw::legend_height(&labels, 20, WIDTH as i32 - 20) + 24
    }

    fn weak(&self, id: &str) -> bool {
        self.summaries.iter().any(|s| {
            s.provider(id)
                .and_then(|p| p.survived.estimate())
                .is_some_and(|e| e < 0.5)
        })
    }

    fn label_w(&self) -> i32 {
        self.groups
            .iter()
            .flat_map(|g| g.providers.iter())
            .map(|p| draw::text_width(&draw::shorten(&p.label(), 56), draw::BODY, true))
            .max()
            .unwrap_or(100) as i32
    }
}

impl Chart for SurvivalChart<'_> {
    fn name(&self) -> String {
        crate::export::layout::chart::SURVIVAL.into()
    }

    fn title(&self) -> String {
        "Provider survival".into()
    }

    fn size(&self) -> (u32, u32) {
        let h = self.top() + groups_height(&self.groups, HEADER_H, self.row_h()) + BOTTOM;
        (WIDTH, h as u32)
    }

    fn draw<DB: DrawingBackend>(&self, a: &Area<DB>) -> Result<(), ChartError> {
        let (w, h) = self.size();
        let runs = self.summaries.first().map_or(0, |s| s.replications);
        let y = draw::heading(
            a,
            &self.title(),
            &format!(
                "Probability of being open at the end of the run, with 95% interval; {runs} runs per configuration"
            ),
        )?;
        draw::legend(a, &self.legend_items(), (20, y + 4), w as i32 - 20)?;
        let x0 = (self.label_w() + 40).clamp(180, 560);
        let scale = Scale {
            lo: 0.0,
            hi: 1.0,
            p0: x0,
            p1: w as i32 - 40,
        };
        let top = self.top();
        let bottom = h as i32 - BOTTOM;
        let rh = self.row_h();
        // Grid first so marks draw over it.
        draw::x_axis(
            a,
            &scale,
            (top, bottom),
            &draw::nice_ticks(0.0, 1.0, 10),
            &draw::pct_tick,
            Some("Probability of surviving to the end of the run (%)"),
        )?;
        let mut row_y = top;
        for g in &self.groups {
            draw::group_header(a, &g.title, row_y, scale.p1, HEADER_H)?;
            row_y += HEADER_H;
            for p in &g.providers {
                let weak = self.weak(&p.id);
                if weak {
                    draw::fill(a, (10, row_y), (scale.p1, row_y + rh), &WEAK_BG)?;
                }
                let cy = row_y + rh / 2;
                draw::text(
                    a,
                    &draw::shorten(&p.label(), 56),
                    (x0 - 12, cy),
                    draw::BODY,
                    weak,
                    if weak { WEAK_INK } else { draw::INK },
                    Anchor::Right,
                )?;
                for (i, s) in self.summaries.iter().enumerate() {
                    let Some(ps) = s.provider(&p.id) else {
                        continue;
                    };
                    let (Some(e), Some((lo, hi))) =
                        (ps.survived.estimate(), ps.survived.wilson(Proportion::Z95))
                    else {
                        continue;
                    };
                    let my = row_y + 12 + 12 * i as i32;
                    let c = series_colour(i);
                    draw::line(a, (scale.px(lo), my), (scale.px(hi), my), &c, 2)?;
                    draw::dot(a, (scale.px(e), my), 5, &c)?;
                }
                draw::line(a, (10, row_y + rh), (scale.p1, row_y + rh), &draw::GRID, 1)?;
                row_y += rh;
            }
        }
        Ok(())
    }
}
