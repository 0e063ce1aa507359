//! The analysis of a sweep: where each provider's survival curve crosses 50%, with an interval
//! from the Wilson bands, read from the results alone.

use serde::{Deserialize, Serialize};

use super::{Survival, SweepResult, THRESHOLD, TippingPoint};

/// A point of a survival curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    /// Parameter value.
    pub x: f64,
    /// Survival probability.
    pub p: f64,
    /// Interval, low.
    pub lo: f64,
    /// Interval, high.
    pub hi: f64,
}

impl CurvePoint {
    /// A curve point from a survival.
    pub fn new(x: f64, s: &Survival) -> CurvePoint {
        CurvePoint {
            x,
            p: s.p,
            lo: s.lo,
            hi: s.hi,
        }
    }
}

/// Whether survival falls or rises through 50% as the parameter grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Above 50% below the tipping point, below 50% above it.
    Falling,
    /// Below 50% below the tipping point, above 50% above it.
    Rising,
}

impl Direction {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Falling => "falling",
            Direction::Rising => "rising",
        }
    }
}

/// Where a survival curve crosses 50%.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Crossing {
    /// Linear interpolation of the estimates between the two points either side.
    pub estimate: f64,
    /// Low end of the interval: where the interval band stops containing 50% to the left; `None`
    /// when it still contains 50% at the first point.
    pub lo: Option<f64>,
    /// High end of the interval, likewise to the right; `None` beyond the last point.
    pub hi: Option<f64>,
    /// Falling or rising.
    pub direction: Direction,
    /// The two parameter values either side of the estimate.
    pub bracket: (f64, f64),
}

fn interpolate(x0: f64, y0: f64, x1: f64, y1: f64) -> f64 {
    if y1 == y0 {
        x0
    } else {
        x0 + (THRESHOLD - y0) / (y1 - y0) * (x1 - x0)
    }
}

/// The band at a point excludes 50%: the point is clearly on one side.
fn decided(c: &CurvePoint) -> bool {
    c.lo > THRESHOLD || c.hi < THRESHOLD
}

/// Where, on segment `i..i+1`, the band of the decided point `d` (one of `i`, `i+1`) reaches 50%.
fn band_edge(curve: &[CurvePoint], i: usize, d: usize) -> f64 {
    let (a, b) = (&curve[i], &curve[i + 1]);
    if curve[d].lo > THRESHOLD {
        interpolate(a.x, a.lo, b.x, b.lo)
    } else {
        interpolate(a.x, a.hi, b.x, b.hi)
    }
}

/// The tipping points of a survival curve (sorted by `x`): every place where the estimate crosses
/// 50% between adjacent points, found by linear interpolation. The interval is the stretch around it
/// where the interpolated Wilson band still contains 50%. Crossings that share one such stretch are
/// one tipping point (noise near 50%): an even number of them is a wobble and is dropped, an odd
/// number is reported at its middle crossing.
pub fn find_crossings(curve: &[CurvePoint]) -> Vec<Crossing> {
    let above = |c: &CurvePoint| c.p >= THRESHOLD;
    let mut raw = Vec::new();
    for i in 0..curve.len().saturating_sub(1) {
        let (a, b) = (&curve[i], &curve[i + 1]);
        if above(a) == above(b) {
            continue;
        }
        let estimate = interpolate(a.x, a.p, b.x, b.p);
        // Walk left from the crossing to the first decided point.
        let mut lo = None;
        let mut j = i;
        loop {
            if decided(&curve[j]) {
                lo = Some(band_edge(curve, j, j));
                break;
            }
            if j == 0 {
                break;
            }
            j -= 1;
        }
        let mut hi = None;
        let mut k = i + 1;
        loop {
            if decided(&curve[k]) {
                hi = Some(band_edge(curve, k - 1, k));
                break;
            }
            if k + 1 == curve.len() {
                break;
            }
            k += 1;
        }
        let direction = if above(a) {
            Direction::Falling
        } else {
            Direction::Rising
        };
        raw.push(Crossing {
            estimate,
            lo,
            hi,
            direction,
            bracket: (a.x, b.x),
        });
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let mut j = i + 1;
        while j < raw.len() && raw[j].lo == raw[i].lo && raw[j].hi == raw[i].hi {
            j += 1;
        }
        let group = &raw[i..j];
        if group.len() % 2 == 1 {
            let mut c = group[group.len() / 2];
            c.direction = group[0].direction;
            out.push(c);
        }
        i = j;
    }
    out
}

/// How a tipping point was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// From the sweep's grid.
    Grid,
    /// Narrowed by bisection with more replications.
    Refined,
}

impl Method {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Grid => "grid",
            Method::Refined => "refined",
        }
    }
}

/// Tipping points of every provider along every axis, for every combination of the other axes.
pub fn grid_tipping_points(result: &SweepResult) -> Vec<TippingPoint> {
    let mut out = Vec::new();
    let dims: Vec<usize> = result.axes.iter().map(|a| a.values.len()).collect();
    for (pi, p) in result.providers.iter().enumerate() {
        for (ai, axis) in result.axes.iter().enumerate() {
            // Every combination of the other axes' indices, in grid order.
            let mut others = vec![vec![0usize; dims.len()]];
            for (j, &d) in dims.iter().enumerate() {
                if j == ai {
                    continue;
                }
                others = others
                    .into_iter()
                    .flat_map(|ix| {
                        (0..d).map(move |v| {
                            let mut q = ix.clone();
                            q[j] = v;
                            q
                        })
                    })
                    .collect();
            }
            for at in others {
                let curve = result.curve(pi, ai, &at);
                let fixed: Vec<(String, f64)> = result
                    .axes
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != ai)
                    .map(|(j, a)| (a.path.clone(), a.values[at[j]]))
                    .collect();
                for c in find_crossings(&curve) {
                    out.push(TippingPoint {
                        provider: p.id.clone(),
                        parameter: axis.path.clone(),
                        fixed: fixed.clone(),
                        crossing: c,
                        method: Method::Grid,
                        replications: result.origin.replications,
                    });
                }
            }
        }
    }
    out
}

/// A short text of a tipping point: `0.43 (0.38 to 0.47)`.
pub fn describe(c: &Crossing) -> String {
    let end =
        |v: Option<f64>, word: &str| v.map_or_else(|| word.to_string(), |x| format!("{x:.4}"));
    format!(
        "{:.4} ({} to {})",
        c.estimate,
        end(c.lo, "below the range"),
        end(c.hi, "above the range")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    fn curve(points: &[(f64, f64, f64, f64)]) -> Vec<CurvePoint> {
        points
            .iter()
            .map(|&(x, p, lo, hi)| CurvePoint { x, p, lo, hi })
            .collect()
    }

    #[test]
    fn tipping_point_is_interpolated_where_survival_crosses_half() {
        // Falls from 0.9 to 0.1 linearly over [0, 1]: crosses at 0.5 exactly.
        let c = curve(&[
            (0.0, 0.9, 0.8, 0.95),
            (0.25, 0.7, 0.6, 0.8),
            (0.5, 0.5, 0.4, 0.6),
            (0.75, 0.3, 0.2, 0.4),
            (1.0, 0.1, 0.05, 0.2),
        ]);
        let found = find_crossings(&c);
        assert_eq!(found.len(), 1);
        let t = found[0];
        assert!(close(t.estimate, 0.5), "{t:?}");
        assert_eq!(t.direction, Direction::Falling);
        // Left, lo falls from 0.6 at 0.25 to 0.4 at 0.5: 50% at 0.375. Right, hi from 0.6 to 0.4.
        assert!(close(t.lo.unwrap(), 0.375), "{t:?}");
        assert!(close(t.hi.unwrap(), 0.625), "{t:?}");
    }

    #[test]
    fn rising_crossing_between_points_and_open_interval_at_the_ends() {
        let c = curve(&[(0.0, 0.2, 0.1, 0.55), (1.0, 0.6, 0.45, 0.7)]);
        let t = find_crossings(&c)[0];
        assert_eq!(t.direction, Direction::Rising);
        assert!(close(t.estimate, 0.75));
        assert_eq!((t.lo, t.hi), (None, None));
        assert_eq!(t.bracket, (0.0, 1.0));
    }

    #[test]
    fn noise_near_half_is_one_tipping_point_and_a_wobble_is_none() {
        // Down, up, down inside one undecided stretch: one falling point at the middle crossing.
        let c = curve(&[
            (0.0, 0.9, 0.8, 0.95),
            (1.0, 0.48, 0.4, 0.56),
            (2.0, 0.52, 0.44, 0.6),
            (3.0, 0.46, 0.38, 0.54),
            (4.0, 0.1, 0.05, 0.2),
        ]);
        let found = find_crossings(&c);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].direction, Direction::Falling);
        assert!(close(found[0].estimate, 1.5));
        // Dips under 50% and comes back, never clearly below: not a tipping point.
        let c = curve(&[
            (0.0, 0.9, 0.8, 0.95),
            (1.0, 0.48, 0.4, 0.56),
            (2.0, 0.9, 0.8, 0.95),
        ]);
        assert!(find_crossings(&c).is_empty());
        // A flat curve has none.
        assert!(find_crossings(&curve(&[(0.0, 0.9, 0.8, 1.0), (1.0, 0.9, 0.8, 1.0)])).is_empty());
    }

    #[test]
    fn two_clear_crossings_are_two_tipping_points() {
        let c = curve(&[
            (0.0, 0.9, 0.8, 0.95),
            (1.0, 0.1, 0.05, 0.2),
            (2.0, 0.9, 0.8, 0.95),
        ]);
        let found = find_crossings(&c);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].direction, Direction::Falling);
        assert_eq!(found[1].direction, Direction::Rising);
        assert!(close(found[0].estimate, 0.5) && close(found[1].estimate, 1.5));
    }
}
