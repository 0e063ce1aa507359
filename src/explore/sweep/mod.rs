//! Parameter sweeps: a configuration run at every point of a grid over one or more numeric fields,
//! every point on the same replication indices, and the tipping points where a provider's survival
//! probability crosses 50%.
//!
//! The method in parts, as SALib splits its own: the [`design`] (axes, grid, refinement) is plain
//! data; [`run`](mod@run) evaluates it; [`tipping`] analyses the results. Files, charts and report
//! sections are made from [`SweepResult`] by `export`, `charts` and `report`.

pub mod design;
pub mod run;
pub mod tipping;

use serde::{Deserialize, Serialize};

use crate::experiment::HeadlineFigures;
use crate::experiment::Provenance;
use crate::stats::Proportion;
pub use design::{Axis, Refine, SweepPlan, grid, parse_param, parse_spec};
pub use run::{SweepDesign, analyse, design, run, run_shard, run_with_rows};
pub use tipping::{
    Crossing, CurvePoint, Direction, Method, describe, find_crossings, grid_tipping_points,
};

/// The survival probability a tipping point is defined by.
pub const THRESHOLD: f64 = 0.5;

/// A provider of the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderInfo {
    /// Identifier.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Kind (local, collaborative, national).
    pub kind: String,
}

/// A survival count with its estimate and 95% Wilson interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Survival {
    /// Replications in which the provider survived.
    pub successes: u64,
    /// Replications.
    pub trials: u64,
    /// Survival probability.
    pub p: f64,
    /// Wilson 95% interval, low.
    pub lo: f64,
    /// Wilson 95% interval, high.
    pub hi: f64,
}

impl Survival {
    /// From a proportion (no trials reads as 0 with interval [0, 1]).
    pub fn of(p: &Proportion) -> Survival {
        let (lo, hi) = p.wilson(Proportion::Z95).unwrap_or((0.0, 1.0));
        Survival {
            successes: p.successes(),
            trials: p.trials(),
            p: p.estimate().unwrap_or(0.0),
            lo,
            hi,
        }
    }
}

/// Headline figures at a point: mean and 5/50/95% quantiles over replications.
pub type PointHeadline = HeadlineFigures;

/// One point of the grid and what the replications there gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// Value of each axis.
    pub values: Vec<f64>,
    /// Survival of each provider, in [`SweepResult::providers`] order.
    pub survival: Vec<Survival>,
    /// Headline figures.
    pub headline: PointHeadline,
}

/// A provider's tipping point along one axis (the other axes held at `fixed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TippingPoint {
    /// Provider id.
    pub provider: String,
    /// The axis varied.
    pub parameter: String,
    /// The other axes and their values.
    pub fixed: Vec<(String, f64)>,
    /// The crossing.
    pub crossing: Crossing,
    /// Grid or refined.
    pub method: Method,
    /// Replications per point behind it.
    pub replications: u64,
}

/// A point evaluated while refining a tipping point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefinedPoint {
    /// Provider whose tipping point was refined.
    pub provider: String,
    /// Parameter value.
    pub x: f64,
    /// Survival there.
    pub survival: Survival,
}

/// Everything a sweep found; plain data for files, charts and the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepResult {
    /// Where it came from.
    pub origin: Provenance,
    /// Swept parameters.
    pub axes: Vec<Axis>,
    /// Providers of the configuration.
    pub providers: Vec<ProviderInfo>,
    /// Every grid point, in [`grid`] order.
    pub points: Vec<SweepPoint>,
    /// Providers charted (chosen or those whose survival changes most).
    pub chosen: Vec<String>,
    /// Tipping points from the grid, then refined ones.
    pub tipping: Vec<TippingPoint>,
    /// Points evaluated by `--refine`.
    pub refined: Vec<RefinedPoint>,
    /// Remarks for the user (e.g. a parameter of a disabled provider).
    pub notes: Vec<String>,
}

impl SweepResult {
    /// Index of a provider.
    pub fn provider_index(&self, id: &str) -> Option<usize> {
        self.providers.iter().position(|p| p.id == id)
    }

    /// A provider's survival curve along axis `axis` with every other axis at index `at[j]`
    /// (the entry for `axis` itself is ignored), sorted by parameter value.
    pub fn curve(&self, provider: usize, axis: usize, at: &[usize]) -> Vec<CurvePoint> {
        let mut curve: Vec<CurvePoint> = (0..self.axes[axis].values.len())
            .map(|v| {
                let mut ix = at.to_vec();
                ix[axis] = v;
                let pt = &self.points[self.point_index(&ix)];
                CurvePoint::new(pt.values[axis], &pt.survival[provider])
            })
            .collect();
        curve.sort_by(|a, b| a.x.total_cmp(&b.x));
        curve
    }

    /// The position in [`SweepResult::points`] of the point with these axis value indices.
    pub fn point_index(&self, ix: &[usize]) -> usize {
        ix.iter()
            .zip(&self.axes)
            .fold(0, |acc, (&i, a)| acc * a.values.len() + i)
    }

    /// How much a provider's survival estimate changes across the sweep (max - min).
    pub fn survival_range(&self, provider: usize) -> f64 {
        let ps = self.points.iter().map(|p| p.survival[provider].p);
        let max = ps.clone().fold(f64::NEG_INFINITY, f64::max);
        let min = ps.fold(f64::INFINITY, f64::min);
        if max >= min { max - min } else { 0.0 }
    }
}
