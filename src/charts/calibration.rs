//! Charts of a calibration: each parameter's marginal posterior against its (uniform) prior, and
//! the particles of the last generation pair by pair.

use plotters::coord::Shift;
use plotters::prelude::{DrawingArea, DrawingBackend};

use super::draw::{self, Anchor, BODY, GRID, INK, MUTED, SMALL, Scale};
use super::{Chart, ChartError, colour};
use crate::explore::calibrate::Setup;
use crate::explore::calibrate::sampler::Generation;
use crate::explore::calibrate::store::Marginal;
use crate::export::layout;

/// Bins of a marginal histogram.
const BINS: usize = 20;
/// Most parameters drawn in the pairwise chart.
const MOST_PAIRS: usize = 8;

/// Marginal posteriors (weighted histograms over the prior range) against the prior.
pub struct PosteriorChart<'a> {
    marginals: &'a [Marginal],
    /// Per parameter: the weighted share of particles in each bin.
    bins: Vec<[f64; BINS]>,
}

impl<'a> PosteriorChart<'a> {
    /// The chart of a generation's particles.
    pub fn new(setup: &Setup, g: &Generation, marginals: &'a [Marginal]) -> PosteriorChart<'a> {
        let bins = setup
            .parameters
            .iter()
            .enumerate()
            .map(|(k, p)| {
                let mut b = [0.0; BINS];
                let width = p.max - p.min;
                for q in &g.particles {
                    let t = if width > 0.0 {
                        (q.theta[k] - p.min) / width
                    } else {
                        0.5
                    };
                    let i = ((t * BINS as f64).floor().max(0.0) as usize).min(BINS - 1);
                    b[i] += q.weight;
                }
                b
            })
            .collect();
        PosteriorChart { marginals, bins }
    }
}

const PANEL: i32 = 150;
const WIDTH: u32 = 900;

impl Chart for PosteriorChart<'_> {
    fn name(&self) -> String {
        layout::chart::POSTERIOR.into()
    }

    fn title(&self) -> String {
        "Marginal posteriors against the priors".into()
    }

    fn size(&self) -> (u32, u32) {
        (
            WIDTH,
            90 + (PANEL as u32 + 40) * self.marginals.len().max(1) as u32,
        )
    }

    fn draw<DB: DrawingBackend>(&self, a: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let top = draw::heading(
            a,
            &self.title(),
            "bars: weighted posterior; grey line: the uniform prior; black: median and 90% interval",
        )?;
        let (x0, x1) = (60, WIDTH as i32 - 40);
        for (k, (m, bins)) in self.marginals.iter().zip(&self.bins).enumerate() {
            let y0 = top + 10 + k as i32 * (PANEL + 40);
            let base = y0 + PANEL - 20;
            draw::text(a, &m.path, (x0, y0 + 6), BODY, true, INK, Anchor::Left)?;
            let most = bins.iter().cloned().fold(1.0 / BINS as f64, f64::max);
            let height = |share: f64| ((share / most) * f64::from(PANEL - 40)).round() as i32;
            let x = Scale {
                lo: m.prior.0,
                hi: m.prior.1,
                p0: x0,
                p1: x1,
            };
            let step = (m.prior.1 - m.prior.0) / BINS as f64;
            for (i, share) in bins.iter().enumerate() {
                let (l, r) = (
                    x.px(m.prior.0 + step * i as f64),
                    x.px(m.prior.0 + step * (i + 1) as f64),
                );
                draw::fill(a, (l + 1, base - height(*share)), (r - 1, base), &colour(4))?;
            }
            let prior = base - height(1.0 / BINS as f64);
            draw::line(a, (x0, prior), (x1, prior), &MUTED, 2)?;
            let ticks = draw::nice_ticks(m.prior.0, m.prior.1, 6);
            let decimals = ticks
                .windows(2)
                .next()
                .map_or(2, |w| draw::decimals_for_step(w[1] - w[0]));
            draw::x_axis(
                a,
                &x,
                (y0 + 20, base),
                &ticks,
                &|t| format!("{t:.decimals$}"),
                None,
            )?;
            let y = base - 6;
            draw::line(
                a,
                (x.px(m.quantiles[0]), y),
                (x.px(m.quantiles[2]), y),
                &INK,
                2,
            )?;
            draw::dot(a, (x.px(m.quantiles[1]), y), 4, &INK)?;
        }
        Ok(())
    }
}

/// The last generation's particles, pair by pair, each dot sized by its weight.
pub struct PairsChart<'a> {
    setup: &'a Setup,
    g: &'a Generation,
}

impl<'a> PairsChart<'a> {
    /// The chart of a generation.
    pub fn new(setup: &'a Setup, g: &'a Generation) -> PairsChart<'a> {
        PairsChart { setup, g }
    }

    fn count(&self) -> usize {
        self.setup.parameters.len().min(MOST_PAIRS)
    }
}

const CELL: i32 = 200;

impl Chart for PairsChart<'_> {
    fn name(&self) -> String {
        layout::chart::PAIRS.into()
    }

    fn title(&self) -> String {
        "Posterior particles, pair by pair".into()
    }

    fn size(&self) -> (u32, u32) {
        let n = self.count().max(2) as u32;
        (80 + n * CELL as u32, 110 + n * CELL as u32)
    }

    fn draw<DB: DrawingBackend>(&self, a: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let n = self.count();
        let sub = if self.setup.parameters.len() > n {
            format!("the first {n} parameters; dot area: weight; axes: prior ranges")
        } else {
            "dot area: weight; axes: prior ranges".into()
        };
        let top = draw::heading(a, &self.title(), &sub)? + 10;
        let most = self
            .g
            .particles
            .iter()
            .map(|p| p.weight)
            .fold(0.0, f64::max);
        let scale = |k: usize, p0: i32, p1: i32| {
            let p = &self.setup.parameters[k];
            Scale {
                lo: p.min,
                hi: p.max,
                p0,
                p1,
            }
        };
        for i in 0..n {
            for j in 0..n {
                let (cx, cy) = (60 + j as i32 * CELL, top + i as i32 * CELL);
                let (l, r, t, b) = (cx + 6, cx + CELL - 6, cy + 6, cy + CELL - 6);
                draw::outline(a, (l, t), (r, b), &GRID, 1)?;
                if i == j {
                    let name = draw::shorten(&self.setup.parameters[i].path, 26);
                    let (lo, hi) = (self.setup.parameters[i].min, self.setup.parameters[i].max);
                    draw::text(
                        a,
                        &name,
                        ((l + r) / 2, (t + b) / 2 - 10),
                        SMALL,
                        true,
                        INK,
                        Anchor::Centre,
                    )?;
                    draw::text(
                        a,
                        &format!("{lo} to {hi}"),
                        ((l + r) / 2, (t + b) / 2 + 12),
                        SMALL,
                        false,
                        MUTED,
                        Anchor::Centre,
                    )?;
                    continue;
                }
                if j > i {
                    continue;
                }
                let (xs, ys) = (scale(j, l + 4, r - 4), scale(i, b - 4, t + 4));
                for p in &self.g.particles {
                    let radius = if most > 0.0 {
                        1 + (3.0 * (p.weight / most).sqrt()).round() as i32
                    } else {
                        2
                    };
                    draw::dot(
                        a,
                        (xs.px(p.theta[j]), ys.px(p.theta[i])),
                        radius,
                        &colour(4),
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// The charts of a calibration's last generation.
pub fn calibration_charts(
    setup: &Setup,
    g: &Generation,
    marginals: &[Marginal],
) -> Result<Vec<super::Rendered>, ChartError> {
    Ok(vec![
        super::render(&PosteriorChart::new(setup, g, marginals))?,
        super::render(&PairsChart::new(setup, g))?,
    ])
}
