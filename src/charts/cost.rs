//! Cost per head to CCGs: the distribution over runs per configuration as a box plot drawn from
//! the summary's quantiles (box 25-75%, whiskers 5-95%, line the median, diamond the mean).

use plotters::prelude::*;

use super::draw::{self, Anchor, Area, Mark, Scale};
use super::{Chart, ChartError, series_colour};
use crate::experiment::Summary;

/// The cost-per-head chart of some configurations.
pub struct CostChart<'a> {
    summaries: &'a [Summary],
}

/// The quantiles a box is drawn from.
#[derive(Debug, Clone, Copy)]
struct Boxed {
    p05: f64,
    p25: f64,
    p50: f64,
    p75: f64,
    p95: f64,
    mean: f64,
}

const ROW_H: i32 = 64;
const WIDTH: u32 = 1200;
const TOP: i32 = 72 + 34 + 16;
const BOTTOM: i32 = 84;

impl<'a> CostChart<'a> {
    /// The chart of `summaries` (one per configuration).
    pub fn new(summaries: &'a [Summary]) -> CostChart<'a> {
        CostChart { summaries }
    }

    fn boxed(s: &Summary) -> Option<Boxed> {
        let st = &s.headline.cost_per_head;
        Some(Boxed {
            p05: st.quantile(0.05)?,
            p25: st.quantile(0.25)?,
            p50: st.quantile(0.5)?,
            p75: st.quantile(0.75)?,
            p95: st.quantile(0.95)?,
            mean: st.mean()?,
        })
    }

    fn label_w(&self) -> i32 {
        self.summaries
            .iter()
            .map(|s| draw::text_width(&draw::shorten(&s.configuration, 40), draw::BODY, true))
            .max()
            .unwrap_or(100) as i32
            + 40
    }
}

impl Chart for CostChart<'_> {
    fn name(&self) -> String {
        crate::export::layout::chart::COST.into()
    }

    fn title(&self) -> String {
        "Cost per head to CCGs".into()
    }

    fn size(&self) -> (u32, u32) {
        (
            WIDTH,
            (TOP + ROW_H * self.summaries.len() as i32 + BOTTOM) as u32,
        )
    }

    fn draw<DB: DrawingBackend>(&self, a: &Area<DB>) -> Result<(), ChartError> {
        let (w, h) = self.size();
        let runs = self.summaries.first().map_or(0, |s| s.replications);
        let y = draw::heading(
            a,
            &self.title(),
            &format!(
                "What CCGs paid for support in the last year of the run, distribution over {runs} runs"
            ),
        )?;
        let grey = draw::MUTED;
        let items = [
            (
                Mark::Swatch(grey.mix(0.35)),
                "box: middle half of runs (25-75%)".to_string(),
            ),
            (Mark::Whisker(grey), "whiskers: 5-95% of runs".to_string()),
            (Mark::Bar(draw::INK), "median".to_string()),
            (Mark::Diamond(draw::INK), "mean".to_string()),
        ];
        draw::legend(a, &items, (20, y + 4), w as i32 - 20)?;
        let boxes: Vec<Option<Boxed>> = self.summaries.iter().map(Self::boxed).collect();
        let values: Vec<f64> = boxes
            .iter()
            .flatten()
            .flat_map(|b| [b.p05, b.p95])
            .collect();
        let (lo, hi) = draw::padded_range(&values, None);
        let x0 = self.label_w();
        // Room on the right for the median's figure.
        let scale = Scale {
            lo,
            hi,
            p0: x0,
            p1: w as i32 - 250,
        };
        let bottom = h as i32 - BOTTOM;
        draw::x_axis(
            a,
            &scale,
            (TOP, bottom),
            &draw::nice_ticks(lo, hi, 10),
            &|v| format!("£{v:.2}"),
            Some("Cost per head (£ per head per year)"),
        )?;
        for (i, (s, b)) in self.summaries.iter().zip(&boxes).enumerate() {
            let cy = TOP + ROW_H * i as i32 + ROW_H / 2;
            let c = series_colour(i);
            draw::text(
                a,
                &draw::shorten(&s.configuration, 40),
                (x0 - 14, cy),
                draw::BODY,
                true,
                draw::INK,
                Anchor::Right,
            )?;
            let Some(b) = b else {
                draw::text(
                    a,
                    "no data",
                    (x0 + 8, cy),
                    draw::SMALL,
                    false,
                    draw::MUTED,
                    Anchor::Left,
                )?;
                continue;
            };
            draw::line(a, (scale.px(b.p05), cy), (scale.px(b.p95), cy), &c, 2)?;
            for v in [b.p05, b.p95] {
                draw::line(a, (scale.px(v), cy - 10), (scale.px(v), cy + 10), &c, 2)?;
            }
            draw::fill(
                a,
                (scale.px(b.p25), cy - 18),
                (scale.px(b.p75), cy + 18),
                &c.mix(0.35),
            )?;
            draw::outline(
                a,
                (scale.px(b.p25), cy - 18),
                (scale.px(b.p75), cy + 18),
                &c,
                2,
            )?;
            draw::line(
                a,
                (scale.px(b.p50), cy - 18),
                (scale.px(b.p50), cy + 18),
                &draw::INK,
                4,
            )?;
            draw::diamond(a, (scale.px(b.mean), cy), 7, &draw::INK)?;
            draw::text(
                a,
                &format!("median £{:.2}, 90% £{:.2}-£{:.2}", b.p50, b.p05, b.p95),
                (scale.p1 + 14, cy),
                draw::SMALL,
                false,
                draw::INK,
                Anchor::Left,
            )?;
        }
        Ok(())
    }
}
