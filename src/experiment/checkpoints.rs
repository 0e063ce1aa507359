//! Checkpoint diagnostics (MODEL.md section 10, "Observation for explanation"): per provider and
//! checkpoint, over replications, how often each rating was given, and per assurance domain
//! (customer, finance, capability) how often it failed or was marginal, the distribution of its
//! value against its threshold, and the most common combination of failed domains.

use serde::{Deserialize, Serialize};

use crate::engine::{DOMAINS, ReplicationOutcome};
use crate::model::Market;
use crate::scenario::schema::Rating;
use crate::stats::Stat;

/// One domain of one provider at one checkpoint, over the runs in which it was rated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainDiagnostics {
    /// The checkpoint's threshold for this domain.
    pub threshold: f64,
    /// Runs in which the domain failed (below the threshold).
    pub failed: u64,
    /// Runs in which it passed within the marginal band.
    pub marginal: u64,
    /// The provider's value.
    pub value: Stat,
}

/// One provider at one checkpoint, over replications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointDiagnostics {
    /// Provider id.
    pub provider: String,
    /// Checkpoint id.
    pub checkpoint: String,
    /// Runs in which it was rated there (open at the checkpoint).
    pub rated: u64,
    /// Ratings A, B and C given, of `rated`.
    pub ratings: [u64; 3],
    /// Customer share, projected margin and capability, in the order of [`DOMAINS`].
    pub domains: [DomainDiagnostics; 3],
    /// Runs by the set of failed domains (bit `d` set when domain `d` failed), of `rated`.
    pub failed_sets: [u64; 8],
}

impl CheckpointDiagnostics {
    /// Share of rated runs with each rating A, B, C (`None` when never rated).
    pub fn rating_shares(&self) -> Option<[f64; 3]> {
        (self.rated > 0).then(|| self.ratings.map(|n| n as f64 / self.rated as f64))
    }

    /// Share of rated runs in which domain `d` failed, and was marginal.
    pub fn domain_shares(&self, d: usize) -> Option<(f64, f64)> {
        let x = self.domains.get(d)?;
        (self.rated > 0).then(|| {
            (
                x.failed as f64 / self.rated as f64,
                x.marginal as f64 / self.rated as f64,
            )
        })
    }

    /// The most common set of failed domains (names, empty when none failed) and its share of
    /// rated runs; on a tie, the smaller set (lower bit pattern) first.
    pub fn most_common_failure(&self) -> Option<(Vec<&'static str>, f64)> {
        if self.rated == 0 {
            return None;
        }
        let (set, &n) = self
            .failed_sets
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))?;
        let names = (0..DOMAINS.len())
            .filter(|d| set & (1 << d) != 0)
            .map(|d| DOMAINS[d])
            .collect();
        Some((names, n as f64 / self.rated as f64))
    }
}

/// Checkpoint diagnostics of every provider at every checkpoint: provider-major, checkpoint-minor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// Checkpoints per provider.
    checkpoints: usize,
    /// `provider * checkpoints + checkpoint`.
    pub cells: Vec<CheckpointDiagnostics>,
}

impl Diagnostics {
    /// Empty diagnostics for a market.
    pub fn new(m: &Market) -> Diagnostics {
        let cells = m
            .providers
            .iter()
            .flat_map(|p| {
                m.checkpoints.iter().map(move |c| CheckpointDiagnostics {
                    provider: p.id.clone(),
                    checkpoint: c.id.clone(),
                    rated: 0,
                    ratings: [0; 3],
                    domains: [c.min_customer_share, c.min_margin, c.min_capability].map(
                        |threshold| DomainDiagnostics {
                            threshold,
                            failed: 0,
                            marginal: 0,
                            value: Stat::new(),
                        },
                    ),
                    failed_sets: [0; 8],
                })
            })
            .collect();
        Diagnostics {
            checkpoints: m.checkpoints.len(),
            cells,
        }
    }

    /// Folds in every rating of one replication.
    pub fn push(&mut self, r: &ReplicationOutcome) {
        for rec in &r.ratings {
            let Some(cell) = self
                .cells
                .get_mut(rec.provider * self.checkpoints + rec.checkpoint)
            else {
                continue;
            };
            cell.rated += 1;
            cell.ratings[match rec.rating {
                Rating::A => 0,
                Rating::B => 1,
                Rating::C => 2,
            }] += 1;
            let mut set = 0usize;
            for (d, (x, check)) in cell.domains.iter_mut().zip(&rec.domains).enumerate() {
                x.failed += u64::from(check.failed);
                x.marginal += u64::from(check.marginal);
                x.value.push(check.value);
                if check.failed {
                    set |= 1 << d;
                }
            }
            cell.failed_sets[set] += 1;
        }
    }

    /// Folds in the diagnostics of other replications of the same market, in replication order.
    pub fn merge(&mut self, o: &Diagnostics) {
        for (a, b) in self.cells.iter_mut().zip(&o.cells) {
            a.rated += b.rated;
            for k in 0..3 {
                a.ratings[k] += b.ratings[k];
            }
            for (x, y) in a.domains.iter_mut().zip(&b.domains) {
                x.failed += y.failed;
                x.marginal += y.marginal;
                x.value.merge(&y.value);
            }
            for k in 0..8 {
                a.failed_sets[k] += b.failed_sets[k];
            }
        }
    }

    /// The diagnostics of a provider (by id) at checkpoint `k`.
    pub fn get(&self, provider: &str, k: usize) -> Option<&CheckpointDiagnostics> {
        self.cells.iter().filter(|c| c.provider == provider).nth(k)
    }
}
