//! Paired differences: a forest plot of each configuration minus the baseline, replication by
//! replication, with 95% intervals: one section per market-wide figure (each on its own scale and
//! unit), then the survival of every provider whose fate differs in some run.

use plotters::prelude::*;

use super::draw::{self, Anchor, Area, Mark, Scale};
use super::labels::{Labels, provider_groups};
use super::{Chart, ChartError, series_colour};
use crate::compare::{Comparison, Measure, PairedEstimate};
use crate::experiment::Summary;

/// One section of the forest: a figure, its unit, and rows of (label, marks per contrast).
struct Section {
    title: String,
    unit: &'static str,
    factor: f64,
    rows: Vec<(String, Vec<(usize, PairedEstimate)>)>,
}

/// The paired-differences chart of a comparison.
pub struct DifferencesChart {
    baseline: String,
    sections: Vec<Section>,
    omitted: usize,
    runs: u64,
    contrasts: Vec<(usize, String)>,
}

const HEADER_H: i32 = 34;
const AXIS_H: i32 = 70;
const WIDTH: u32 = 1200;
const VALUE_W: i32 = 250;

impl DifferencesChart {
    /// The chart of a comparison; `configurations` gives every configuration in series order (for
    /// colours), `summaries` and `labels` name the providers.
    pub fn new(
        comparison: &Comparison,
        configurations: &[String],
        summaries: &[Summary],
        labels: &Labels,
    ) -> DifferencesChart {
        let colour_of = |name: &str| configurations.iter().position(|c| c == name).unwrap_or(0);
        let contrasts: Vec<(usize, String)> = comparison
            .contrasts
            .iter()
            .map(|c| (colour_of(&c.configuration), c.configuration.clone()))
            .collect();
        let mut sections = Vec::new();
        for m in &Measure::MARKET {
            let Measure::Market(figure) = m else {
                continue;
            };
            let (title, factor) = (figure.title(), figure.unit().difference_factor());
            let unit = figure.unit().difference_label();
            let rows = comparison
                .contrasts
                .iter()
                .zip(&contrasts)
                .filter_map(|(c, (ix, name))| {
                    let e = c.get(m)?.estimate()?;
                    Some((name.clone(), vec![(*ix, e)]))
                })
                .collect();
            sections.push(Section {
                title: title.to_string(),
                unit,
                factor,
                rows,
            });
        }
        // Survival: providers in region order; those whose fate never differs are left out.
        let mut rows = Vec::new();
        let mut omitted = 0;
        for g in provider_groups(summaries, labels) {
            for p in g.providers {
                let measure = Measure::Survival {
                    provider: p.id.clone(),
                };
                let marks: Vec<(usize, PairedEstimate)> = comparison
                    .contrasts
                    .iter()
                    .zip(&contrasts)
                    .filter_map(|(c, (ix, _))| Some((*ix, c.get(&measure)?.estimate()?)))
                    .collect();
                if marks.is_empty() {
                    continue;
                }
                if marks
                    .iter()
                    .all(|(_, e)| e.diff == 0.0 && e.sd.unwrap_or(0.0) == 0.0)
                {
                    omitted += 1;
                    continue;
                }
                rows.push((draw::shorten(&p.label(), 56), marks));
            }
        }
        if !rows.is_empty() {
            sections.push(Section {
                title: "Provider survival".into(),
                unit: "percentage points",
                factor: 100.0,
                rows,
            });
        }
        DifferencesChart {
            baseline: comparison.baseline.clone(),
            sections,
            omitted,
            runs: comparison.replications,
            contrasts,
        }
    }

    fn row_h(&self) -> i32 {
        (14 * self.contrasts.len() as i32 + 14).max(30)
    }

    fn section_h(&self, s: &Section) -> i32 {
        let per_row = if s.rows.iter().all(|r| r.1.len() == 1) {
            32
        } else {
            self.row_h()
        };
        HEADER_H + per_row * s.rows.len() as i32 + AXIS_H
    }

    fn top(&self) -> i32 {
        let labels: Vec<String> = self
            .contrasts
            .iter()
            .map(|(_, n)| format!("{n} minus {}", self.baseline))
            .collect();
        72 + draw::legend_height(&labels, 20, WIDTH as i32 - 20) + 16
    }

    fn label_w(&self) -> i32 {
        self.sections
            .iter()
            .flat_map(|s| s.rows.iter())
            .map(|(l, _)| draw::text_width(l, draw::BODY, false))
            .max()
            .unwrap_or(100) as i32
            + 36
    }
}

fn signed(v: f64, decimals: usize) -> String {
    let s = format!("{v:+.decimals$}");
    // "-0.00" and "+0.00" read as zero.
    if s.trim_start_matches(['+', '-'])
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        format!("{:.decimals$}", 0.0)
    } else {
        s
    }
}

impl Chart for DifferencesChart {
    fn name(&self) -> String {
        crate::export::layout::chart::DIFFERENCES.into()
    }

    fn title(&self) -> String {
        format!("Paired differences against {}", self.baseline)
    }

    fn size(&self) -> (u32, u32) {
        let body: i32 = self.sections.iter().map(|s| self.section_h(s)).sum();
        let note = if self.omitted > 0 { 30 } else { 0 };
        (WIDTH, (self.top() + body + note + 10) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, a: &Area<DB>) -> Result<(), ChartError> {
        let (w, h) = self.size();
        let y = draw::heading(
            a,
            &self.title(),
            &format!(
                "Mean of (configuration minus {}) over {} paired runs on the same random draws, with 95% interval",
                self.baseline, self.runs
            ),
        )?;
        let items: Vec<(Mark, String)> = self
            .contrasts
            .iter()
            .map(|(ix, n)| {
                (
                    Mark::DotLine(series_colour(*ix)),
                    format!("{n} minus {}", self.baseline),
                )
            })
            .collect();
        draw::legend(a, &items, (20, y + 4), w as i32 - 20)?;
        let x0 = self.label_w().clamp(200, 520);
        let p1 = w as i32 - VALUE_W - 20;
        let mut top = self.top();
        for s in &self.sections {
            let single = s.rows.iter().all(|r| r.1.len() == 1);
            let rh = if single { 32 } else { self.row_h() };
            let values: Vec<f64> = s
                .rows
                .iter()
                .flat_map(|(_, m)| m.iter())
                .flat_map(|(_, e)| {
                    let (lo, hi) = e.interval.unwrap_or((e.diff, e.diff));
                    [lo * s.factor, hi * s.factor]
                })
                .collect();
            let (lo, hi) = draw::padded_range(&values, Some(0.0));
            let scale = Scale { lo, hi, p0: x0, p1 };
            draw::group_header(
                a,
                &format!("{} ({})", s.title, s.unit),
                top,
                w as i32 - 10,
                HEADER_H,
            )?;
            draw::text(
                a,
                "difference (95% interval)",
                (p1 + 20, top + HEADER_H / 2),
                draw::SMALL,
                false,
                draw::MUTED,
                Anchor::Left,
            )?;
            let rows_top = top + HEADER_H;
            let bottom = rows_top + rh * s.rows.len() as i32 + 8;
            let ticks = draw::nice_ticks(lo, hi, 8);
            let step = if ticks.len() > 1 {
                ticks[1] - ticks[0]
            } else {
                1.0
            };
            let decimals = draw::decimals_for_step(step);
            draw::x_axis(
                a,
                &scale,
                (rows_top, bottom),
                &ticks,
                &|v| signed(v, decimals),
                Some(s.unit),
            )?;
            draw::line(
                a,
                (scale.px(0.0), rows_top),
                (scale.px(0.0), bottom),
                &draw::INK,
                2,
            )?;
            for (r, (label, marks)) in s.rows.iter().enumerate() {
                let ry = rows_top + rh * r as i32;
                draw::text(
                    a,
                    label,
                    (x0 - 12, ry + rh / 2),
                    draw::BODY,
                    false,
                    draw::INK,
                    Anchor::Right,
                )?;
                for (k, (ix, e)) in marks.iter().enumerate() {
                    // Each contrast keeps its own line in a row, even where another is missing.
                    let k = self
                        .contrasts
                        .iter()
                        .position(|(c, _)| c == ix)
                        .unwrap_or(k);
                    let my = if single {
                        ry + rh / 2
                    } else {
                        ry + 14 + 14 * k as i32
                    };
                    let c = series_colour(*ix);
                    let d = e.diff * s.factor;
                    if let Some((l, u)) = e.interval {
                        draw::line(
                            a,
                            (scale.px(l * s.factor), my),
                            (scale.px(u * s.factor), my),
                            &c,
                            2,
                        )?;
                    }
                    draw::dot(a, (scale.px(d), my), 6, &c)?;
                    let value_decimals = draw::decimals_for_precision(
                        e.interval.map_or(0.0, |(l, u)| (u - l) / 2.0) * s.factor,
                    );
                    let text = match e.interval {
                        _ if e.diff == 0.0 && e.sd == Some(0.0) => {
                            "the same in every run".to_string()
                        }
                        Some((l, u)) => format!(
                            "{} ({} to {})",
                            signed(d, value_decimals),
                            signed(l * s.factor, value_decimals),
                            signed(u * s.factor, value_decimals)
                        ),
                        None => signed(d, value_decimals),
                    };
                    let size = if single { draw::BODY } else { draw::SMALL };
                    draw::text(
                        a,
                        &text,
                        (p1 + 20, my),
                        size,
                        false,
                        draw::INK,
                        Anchor::Left,
                    )?;
                }
                draw::line(a, (10, ry + rh), (p1, ry + rh), &draw::GRID, 1)?;
            }
            top += self.section_h(s);
        }
        if self.omitted > 0 {
            let note = format!(
                "{} provider{} with the same fate in every paired run {} left out.",
                self.omitted,
                if self.omitted == 1 { "" } else { "s" },
                if self.omitted == 1 { "is" } else { "are" }
            );
            draw::text(
                a,
                &note,
                (20, h as i32 - 26),
                draw::SMALL,
                false,
                draw::MUTED,
                Anchor::Left,
            )?;
        }
        Ok(())
    }
}
