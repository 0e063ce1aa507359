//! Splitting a study's work across machines: every tool here evaluates a list of points (a
//! sweep's grid points, a sensitivity design's rows, a back-test's one point), each on
//! replications `0..n`. The work is the flat list of (point, replication) pairs in that order;
//! shard `k` of `N` takes `[k E n / N, (k + 1) E n / N)` of it, cut into [`Piece`]s that each stay
//! within one point. A sweep of many points thus spreads its points over the shards, and a study
//! of few points splits each point's replications.
//!
//! A piece's [`Summary`] is exactly mergeable, so folding the pieces of every shard in order gives
//! each point's summary bit for bit as one machine computes it ([`assemble`]), and the tools'
//! analyses, run on those summaries, write exactly one machine's files.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::{ExploreError, Progress, Study};
use crate::engine::ReplicationOutcome;
use crate::experiment::shard::Shard;
use crate::experiment::{RunError, Summary};
use crate::scenario::Edit;

/// Replications `reps` of point `point` of a study's design.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Piece {
    /// Index of the point in the design.
    pub point: usize,
    /// The replications of that point.
    pub reps: Range<u64>,
}

/// What a piece gave: its summary and, where the tool asks, a figure per replication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PieceOutcome {
    /// The piece.
    pub piece: Piece,
    /// Summary of its replications.
    pub summary: Summary,
    /// Per figure, its value in each replication of the piece, as `f64` bits (so a saved piece
    /// reads back exactly); empty where the tool keeps none.
    pub per_rep: Vec<Vec<u64>>,
}

/// One point's result, its pieces folded together.
#[derive(Debug, Clone, PartialEq)]
pub struct PointOutcome {
    /// Summary of replications `0..n`.
    pub summary: Summary,
    /// Per figure, its value in each replication, in replication order (empty where not kept).
    pub per_rep: Vec<Vec<f64>>,
}

/// The pieces shard `shard` runs of `points` points of `n` replications each, in order.
pub fn pieces(points: usize, n: u64, shard: Shard) -> Vec<Piece> {
    let total = (points as u64).saturating_mul(n);
    let range = shard.range(total);
    let mut out = Vec::new();
    let mut at = range.start;
    while at < range.end && n > 0 {
        let point = at / n;
        let end = ((point + 1) * n).min(range.end);
        out.push(Piece {
            point: point as usize,
            reps: at - point * n..end - point * n,
        });
        at = end;
    }
    out
}

/// Replications in a list of pieces.
pub fn replications(pieces: &[Piece]) -> u64 {
    pieces.iter().map(|p| p.reps.end - p.reps.start).sum()
}

/// Folds the outcomes of every piece of a study (all shards', in shard order) into one outcome per
/// point; refuses a set that does not cover each of `points` points' `0..n` exactly once, in order.
pub fn assemble(
    points: usize,
    n: u64,
    outcomes: impl IntoIterator<Item = PieceOutcome>,
) -> Result<Vec<PointOutcome>, String> {
    let mut out: Vec<PointOutcome> = Vec::with_capacity(points);
    for o in outcomes {
        let Piece { point, reps } = o.piece.clone();
        let refuse = || {
            format!(
                "point {point} replications {}..{} do not follow on from the pieces before them",
                reps.start, reps.end
            )
        };
        if reps.end > n || reps.start >= reps.end || o.summary.replications != reps.end - reps.start
        {
            return Err(refuse());
        }
        let per_rep = o
            .per_rep
            .into_iter()
            .map(|v| v.into_iter().map(f64::from_bits).collect::<Vec<f64>>());
        let open = out
            .len()
            .checked_sub(1)
            .filter(|&last| out[last].summary.replications < n);
        match open {
            Some(last) => {
                let p = &mut out[last];
                if point != last || reps.start != p.summary.replications {
                    return Err(refuse());
                }
                p.summary.merge(&o.summary);
                for (acc, v) in p.per_rep.iter_mut().zip(per_rep) {
                    acc.extend(v);
                }
            }
            None => {
                if point != out.len() || reps.start != 0 {
                    return Err(refuse());
                }
                out.push(PointOutcome {
                    summary: o.summary,
                    per_rep: per_rep.collect(),
                });
            }
        }
    }
    if out.len() != points || out.iter().any(|p| p.summary.replications != n) {
        return Err(format!(
            "the pieces cover {} of {points} points of {n} replications",
            out.iter().filter(|p| p.summary.replications == n).count()
        ));
    }
    Ok(out)
}

/// Where a study keeps its finished pieces so that a stopped study carries on (the command line
/// saves them in the output folder; [`KeepNothing`] keeps none).
pub trait SavedPieces {
    /// One replication of point `point`, in piece order and replication order.
    fn row(&mut self, point: usize, r: &ReplicationOutcome);
    /// Piece `j` of this machine's list, saved by an earlier run that stopped (its rows are
    /// already kept, so they are not handed over again).
    fn load(&mut self, j: usize) -> Option<PieceOutcome>;
    /// Piece `j` is finished and every one of its rows handed over; `more`: pieces follow it on
    /// this machine. An error stops the study.
    fn save(&mut self, j: usize, outcome: &PieceOutcome, more: bool) -> anyhow::Result<()>;
}

/// Keeps no pieces: a study run in one go.
pub struct KeepNothing;

impl SavedPieces for KeepNothing {
    fn row(&mut self, _: usize, _: &ReplicationOutcome) {}

    fn load(&mut self, _: usize) -> Option<PieceOutcome> {
        None
    }

    fn save(&mut self, _: usize, _: &PieceOutcome, _: bool) -> anyhow::Result<()> {
        Ok(())
    }
}

/// How a tool evaluates its points: each point's edits, and the figures it keeps per replication.
pub struct Evaluation<'a> {
    /// The study.
    pub study: &'a Study,
    /// Each point's edits on top of the configuration.
    pub edits: &'a [Vec<Edit>],
    /// The figures kept per replication of point `p` (none: an empty list).
    pub keep: &'a dyn Fn(usize, &ReplicationOutcome) -> Vec<f64>,
}

impl Evaluation<'_> {
    /// Runs `pieces` in order, taking back those `saved` kept and saving each finished one;
    /// `progress` hears replications done of `total`, counting from `before`.
    pub fn run(
        &self,
        pieces: &[Piece],
        saved: &mut dyn SavedPieces,
        progress: Progress,
        before: u64,
        total: u64,
    ) -> Result<Vec<PieceOutcome>, ExploreError> {
        let mut out = Vec::with_capacity(pieces.len());
        let mut done = before;
        for (j, piece) in pieces.iter().enumerate() {
            let len = piece.reps.end - piece.reps.start;
            if let Some(o) = saved.load(j).filter(|o| o.piece == *piece) {
                done += len;
                progress(done, total);
                out.push(o);
                continue;
            }
            let mut per_rep: Vec<Vec<u64>> = Vec::new();
            let base = done;
            let summary = self.study.run(
                &self.edits[piece.point],
                piece.reps.clone(),
                &mut |r| {
                    let kept = (self.keep)(piece.point, r);
                    per_rep.resize(kept.len(), Vec::new());
                    for (v, x) in per_rep.iter_mut().zip(kept) {
                        v.push(x.to_bits());
                    }
                    saved.row(piece.point, r);
                },
                &|d| progress(base + d, total),
            )?;
            done += len;
            let o = PieceOutcome {
                piece: piece.clone(),
                summary,
                per_rep,
            };
            saved
                .save(j, &o, j + 1 < pieces.len())
                .map_err(|e| ExploreError::Run(RunError::Sink(e)))?;
            out.push(o);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covered(points: usize, n: u64, count: u64) -> Vec<(usize, u64)> {
        (0..count)
            .flat_map(|k| pieces(points, n, Shard::new(k, count).unwrap()))
            .flat_map(|p| p.reps.clone().map(move |r| (p.point, r)))
            .collect()
    }

    #[test]
    fn shards_cover_every_point_and_replication_once_in_order() {
        for (points, n) in [(1, 10), (9, 40), (3, 1), (10, 7), (0, 5), (4, 0)] {
            for count in [1, 2, 3, 7, 20] {
                let want: Vec<(usize, u64)> = (0..points)
                    .flat_map(|p| (0..n).map(move |r| (p, r)))
                    .collect();
                assert_eq!(covered(points, n, count), want, "{points}x{n} in {count}");
            }
        }
    }

    fn small_study() -> Study {
        Study {
            scenario: crate::scenario::Scenario::from_text(
                "small.toml",
                include_str!("../../tests/fixtures/small.toml"),
            )
            .unwrap(),
            configuration: "national".into(),
            seed: 9,
            replications: 7,
            threads: 2,
            posterior: None,
        }
    }

    #[test]
    fn pieces_of_every_shard_fold_into_each_points_whole_summary_and_per_replication_figures() {
        let study = small_study();
        let field = study.field("services.comms.locality").unwrap();
        let edits: Vec<Vec<Edit>> = [0.1, 0.9].iter().map(|&x| vec![field.edit(x)]).collect();
        let keep = |p: usize, r: &ReplicationOutcome| vec![r.cost_per_head + p as f64];
        let eval = Evaluation {
            study: &study,
            edits: &edits,
            keep: &keep,
        };
        let run = |shard| {
            let mine = pieces(2, 7, shard);
            eval.run(&mine, &mut KeepNothing, &|_, _| {}, 0, 0).unwrap()
        };
        let whole = assemble(2, 7, run(Shard::WHOLE)).unwrap();
        let split: Vec<PieceOutcome> = (0..5)
            .flat_map(|k| run(Shard::new(k, 5).unwrap()))
            .collect();
        assert!(split.len() > 5, "some point is split between shards");
        assert_eq!(assemble(2, 7, split.clone()).unwrap(), whole);
        for (p, point) in whole.iter().enumerate() {
            let market = study.market(&edits[p]).unwrap();
            let direct = crate::experiment::summarise(&market, 0..7, 1).unwrap();
            assert_eq!(point.summary, direct);
            let figures: Vec<f64> = (0..7)
                .map(|r| crate::engine::simulate(&market, r).cost_per_head + p as f64)
                .collect();
            assert_eq!(point.per_rep, vec![figures]);
        }
        // Out of order, repeated or short: refused, never folded into a wrong summary.
        let mut swapped = split.clone();
        swapped.swap(0, 1);
        assert!(assemble(2, 7, swapped).is_err());
        let mut twice = split.clone();
        twice.insert(1, split[0].clone());
        assert!(assemble(2, 7, twice).is_err());
        assert!(assemble(2, 7, split[..split.len() - 1].to_vec()).is_err());
    }

    #[test]
    fn a_piece_never_spans_two_points_and_the_whole_is_one_piece_a_point() {
        let whole = pieces(3, 5, Shard::WHOLE);
        assert_eq!(
            whole,
            (0..3)
                .map(|point| Piece { point, reps: 0..5 })
                .collect::<Vec<_>>()
        );
        // 3 points of 5 in 2 shards: [0, 7) and [7, 15).
        let second = pieces(3, 5, Shard::new(1, 2).unwrap());
        assert_eq!(
            second,
            vec![
                Piece {
                    point: 1,
                    reps: 2..5
                },
                Piece {
                    point: 2,
                    reps: 0..5
                }
            ]
        );
    }
}
