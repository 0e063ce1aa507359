//! The market-wide figures of a run, declared once: what each is called in files, its unit, what
//! it means, and how to read it from one replication and from a summary. The CSV writers, the
//! report, the charts, compare, sensitivity and the terminal table all read them from here.

use serde::{Deserialize, Serialize};

use crate::stats::Stat;

/// A figure with its mean and quantiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// Mean.
    pub mean: Option<f64>,
    /// 5% quantile.
    pub p05: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 95% quantile.
    pub p95: Option<f64>,
}

impl From<&Stat> for Figure {
    fn from(s: &Stat) -> Figure {
        Figure {
            mean: s.mean(),
            p05: s.quantile(0.05),
            p50: s.quantile(0.5),
            p95: s.quantile(0.95),
        }
    }
}
