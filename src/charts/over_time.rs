//! Over time: open providers, in-house share and cost per head per quarter, the median of the runs
//! with a 5-95% band, one line per configuration, checkpoints marked.

use plotters::prelude::*;

use super::draw::{self, Area, Mark};
use super::labels::Labels;
use super::{Chart, ChartError, series_colour};
use crate::experiment::{PeriodSummary, Summary};
use crate::stats::Stat;

/// The over-time chart of some configurations.
pub struct OverTimeChart<'a> {
    summaries: &'a [Summary],
    checkpoints: Vec<(String, u32)>,
}

/// One panel: its title, the vertical axis label, how to pick the figure and scale it.
struct Panel {
    title: &'static str,
    unit: &'static str,
    pick: fn(&PeriodSummary) -> &Stat,
    factor: f64,
    decimals: usize,
    /// Upper limit of the figure, when it has one (shares reach 100%).
    max: Option<f64>,
}

const PANELS: [Panel; 3] = [
    Panel {
        title: "Providers open",
        unit: "providers open (count)",
        pick: |p| &p.open_providers,
        factor: 1.0,
        decimals: 0,
        max: None,
    },
    Panel {
        title: "In-house share of volume",
        unit: "in-house share (% of volume)",
        pick: |p| &p.in_house_share,
        factor: 100.0,
        decimals: 0,
        max: Some(100.0),
    },
    Panel {
        title: "Cost per head to CCGs",
        unit: "cost (£ per head per year)",
        pick: |p| &p.cost_per_head,
        factor: 1.0,
        decimals: 2,
        max: None,
    },
];

const WIDTH: u32 = 1200;
const PANEL_H: u32 = 340;
const TOP: u32 = 72 + 34 + 8;

impl<'a> OverTimeChart<'a> {
    /// The chart of `summaries` (one per configuration).
    pub fn new(summaries: &'a [Summary], labels: &Labels) -> OverTimeChart<'a> {
        OverTimeChart {
            summaries,
            checkpoints: labels
                .checkpoints
                .iter()
                .map(|(id, name, t)| {
                    (
                        if name.is_empty() {
                            id.clone()
                        } else {
                            name.clone()
                        },
                        *t,
                    )
                })
                .collect(),
        }
    }

    /// Quarter, 5%, median and 95% of a panel's figure for one configuration.
    fn points(s: &Summary, panel: &Panel) -> Vec<(f64, f64, f64, f64)> {
        s.series
            .iter()
            .filter_map(|p| {
                let st = (panel.pick)(p);
                let q = |x| st.quantile(x).map(|v| v * panel.factor);
                Some((f64::from(p.period), q(0.05)?, q(0.5)?, q(0.95)?))
            })
            .collect()
    }

    fn draw_panel<DB: DrawingBackend>(
        &self,
        a: &Area<DB>,
        panel: &Panel,
    ) -> Result<(), ChartError> {
        let all: Vec<Vec<(f64, f64, f64, f64)>> = self
            .summaries
            .iter()
            .map(|s| Self::points(s, panel))
            .collect();
        let xs: Vec<f64> = all.iter().flatten().map(|p| p.0).collect();
        let ys: Vec<f64> = all.iter().flatten().flat_map(|p| [p.1, p.3]).collect();
        let (x_lo, x_hi) = (
            xs.iter().copied().fold(f64::INFINITY, f64::min).min(1.0),
            xs.iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max)
                .max(2.0),
        );
        // Every figure here is non-negative: padding must not show impossible values below zero.
        let (y_lo, y_hi) = draw::padded_range(&ys, None);
        let y_lo = y_lo.max(0.0);
        let y_hi = panel.max.map_or(y_hi, |m| y_hi.min(m));
        // Counts get whole-number ticks: bounds on integers and at most one label per unit.
        let (y_lo, y_hi, y_labels) = if panel.decimals == 0 && panel.max.is_none() {
            let (lo, hi) = (y_lo.floor(), y_hi.ceil().max(y_lo.floor() + 1.0));
            (lo, hi, ((hi - lo) as usize + 1).min(11))
        } else {
            (y_lo, y_hi, 10)
        };
        let decimals = panel.decimals;
        let mut chart = ChartBuilder::on(a)
            .caption(panel.title, draw::font(19.0, true))
            .margin(12)
            .margin_right(36)
            .x_label_area_size(56)
            .y_label_area_size(96)
            .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
            .map_err(draw::fail)?;
        chart
            .configure_mesh()
            .x_desc("Quarter of the run")
            .y_desc(panel.unit)
            .label_style(draw::font(draw::SMALL, false))
            .axis_desc_style(draw::font(draw::BODY, false))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(draw::GRID)
            .x_labels(((x_hi - x_lo) as usize + 1).min(24))
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_labels(y_labels)
            .y_label_formatter(&|y| format!("{y:.decimals$}"))
            .draw()
            .map_err(draw::fail)?;
        for (name, t) in &self.checkpoints {
            let t = f64::from(*t);
            if t < x_lo || t > x_hi {
                continue;
            }
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(t, y_lo), (t, y_hi)],
                    draw::MUTED.stroke_width(1),
                )))
                .map_err(draw::fail)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    format!(" {name}"),
                    (t, y_hi),
                    draw::font(draw::SMALL, false).color(&draw::MUTED).pos(
                        plotters::style::text_anchor::Pos::new(
                            plotters::style::text_anchor::HPos::Left,
                            plotters::style::text_anchor::VPos::Top,
                        ),
                    ),
                )))
                .map_err(draw::fail)?;
        }
        for (i, pts) in all.iter().enumerate() {
            let c = series_colour(i);
            let mut band: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.3)).collect();
            band.extend(pts.iter().rev().map(|p| (p.0, p.1)));
            chart
                .draw_series(std::iter::once(Polygon::new(band, c.mix(0.12).filled())))
                .map_err(draw::fail)?;
            // Dashed edges tell overlapping bands apart where their fills mix.
            for edge in [
                pts.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>(),
                pts.iter().map(|p| (p.0, p.3)).collect(),
            ] {
                chart
                    .draw_series(std::iter::once(plotters::element::DashedPathElement::new(
                        edge,
                        5,
                        4,
                        c.stroke_width(1),
                    )))
                    .map_err(draw::fail)?;
            }
        }
        for (i, pts) in all.iter().enumerate() {
            let c = series_colour(i);
            chart
                .draw_series(LineSeries::new(
                    pts.iter().map(|p| (p.0, p.2)),
                    c.stroke_width(3),
                ))
                .map_err(draw::fail)?;
        }
        Ok(())
    }
}

impl Chart for OverTimeChart<'_> {
    fn name(&self) -> String {
        crate::export::layout::chart::OVER_TIME.into()
    }

    fn title(&self) -> String {
        "The market over time".into()
    }

    fn size(&self) -> (u32, u32) {
        (WIDTH, TOP + PANEL_H * PANELS.len() as u32 + 10)
    }

    fn draw<DB: DrawingBackend>(&self, a: &Area<DB>) -> Result<(), ChartError> {
        let runs = self.summaries.first().map_or(0, |s| s.replications);
        let y = draw::heading(
            a,
            &self.title(),
            &format!(
                "Median of {runs} runs per quarter (line) with the 5-95% band of runs (shaded); vertical lines mark checkpoints"
            ),
        )?;
        let items: Vec<(Mark, String)> = self
            .summaries
            .iter()
            .enumerate()
            .map(|(i, s)| (Mark::LineBand(series_colour(i)), s.configuration.clone()))
            .collect();
        draw::legend(a, &items, (20, y + 4), WIDTH as i32 - 20)?;
        let (_, body) = a.split_vertically(TOP);
        let panels = body.split_evenly((PANELS.len(), 1));
        for (area, panel) in panels.iter().zip(&PANELS) {
            self.draw_panel(area, panel)?;
        }
        Ok(())
    }
}
