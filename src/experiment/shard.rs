//! Splitting a run across machines by replication range.
//!
//! Replications are keyed by their global index (every random stream is), so shard `k` of `n`
//! simulating `[k R / n, (k + 1) R / n)` produces exactly the replications one machine would have
//! produced for that range, and the exactly mergeable [`Summary`](super::Summary) of the shards,
//! merged in shard order, is bit for bit the summary of the whole run.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Shard `index` of `count`, numbered from 0 (`--shard 0/3`, `1/3`, `2/3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which shard, from 0.
    pub index: u64,
    /// How many shards the run is split into.
    pub count: u64,
}

/// Why a `--shard` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// Not of the form `K/N`.
    #[error("--shard `{0}`: expected K/N, e.g. 0/4 for the first of four shards")]
    Syntax(String),
    /// `N` is zero.
    #[error("--shard {0}/0: the run must be split into at least one shard")]
    NoShards(u64),
    /// `K` is not below `N`.
    #[error("--shard {index}/{count}: shards are numbered from 0, so K must be 0 to {last}", last = count - 1)]
    OutOfRange {
        /// K.
        index: u64,
        /// N.
        count: u64,
    },
}

impl Shard {
    /// The whole run as one shard.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Shard `index` of `count`, checked.
    pub fn new(index: u64, count: u64) -> Result<Shard, ShardError> {
        if count == 0 {
            Err(ShardError::NoShards(index))
        } else if index >= count {
            Err(ShardError::OutOfRange { index, count })
        } else {
            Ok(Shard { index, count })
        }
    }

    /// The global replication ids of this shard in a run of `total`: `[k total / n, (k + 1) total / n)`.
    pub fn range(&self, total: u64) -> Range<u64> {
        let at = |k: u64| (u128::from(k) * u128::from(total) / u128::from(self.count)) as u64;
        at(self.index)..at(self.index + 1)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Shard, ShardError> {
        let syntax = || ShardError::Syntax(s.to_string());
        let (k, n) = s.split_once('/').ok_or_else(syntax)?;
        let k = k.trim().parse().map_err(|_| syntax())?;
        let n = n.trim().parse().map_err(|_| syntax())?;
        Shard::new(k, n)
    }
}

/// What every piece of one run shares: shards to be merged, and saved progress to be resumed, must
/// agree on all of it (a shard's own index aside).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunIdentity {
    /// csmarket version that simulated it.
    pub csmarket_version: String,
    /// SHA-256 of the scenario file.
    pub scenario_sha256: String,
    /// Configuration.
    pub configuration: String,
    /// Master seed.
    pub seed: u64,
    /// Replications of the whole run, all shards together.
    pub replications: u64,
    /// Which part of the run this is.
    pub shard: Shard,
    /// SHA-256 of the posterior sample replications drew their parameters from, if any
    /// (left out of the file when none, so older saves still read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posterior_sha256: Option<String>,
}

impl RunIdentity {
    /// The replication ids this piece covers.
    pub fn range(&self) -> Range<u64> {
        self.shard.range(self.replications)
    }

    /// The first field in which two pieces of a run disagree (shard index ignored), as
    /// `(field, this value, other value)`; `None` when they belong to the same run.
    pub fn mismatch(&self, other: &RunIdentity) -> Option<(&'static str, String, String)> {
        let pairs = [
            (
                "csmarket version",
                self.csmarket_version.clone(),
                other.csmarket_version.clone(),
            ),
            (
                "scenario SHA-256",
                self.scenario_sha256.clone(),
                other.scenario_sha256.clone(),
            ),
            (
                "configuration",
                self.configuration.clone(),
                other.configuration.clone(),
            ),
            ("seed", self.seed.to_string(), other.seed.to_string()),
            (
                "total replications",
                self.replications.to_string(),
                other.replications.to_string(),
            ),
            (
                "shard count",
                self.shard.count.to_string(),
                other.shard.count.to_string(),
            ),
            (
                "posterior SHA-256",
                posterior_name(&self.posterior_sha256),
                posterior_name(&other.posterior_sha256),
            ),
        ];
        pairs.into_iter().find(|(_, a, b)| a != b)
    }
}

/// Why a set of shards is not every shard of one run or study, each once.
#[derive(Debug)]
pub enum SetProblem<'a, T> {
    /// `other` belongs to another run than `first`: the field, and its value in each.
    Mismatch {
        /// The first shard given.
        first: &'a T,
        /// The shard that differs from it.
        other: &'a T,
        /// The field they differ in, and its two values.
        field: (&'static str, String, String),
    },
    /// Two shards are the same shard.
    Duplicate {
        /// One of them.
        first: &'a T,
        /// The other.
        other: &'a T,
        /// The shard both are.
        shard: Shard,
    },
    /// These shard indices of `count` are missing (sorted, never empty).
    Missing(Vec<u64>),
}

/// Puts `shards` in shard order and checks they are every shard of one run, each once: each
/// matches the first given (`mismatch`, shard index aside), no shard appears twice and none is
/// missing. `run` and study merges share it; each words the problem for its own files.
pub fn check_set<T>(
    shards: &mut [T],
    shard: impl Fn(&T) -> Shard,
    mismatch: impl Fn(&T, &T) -> Option<(&'static str, String, String)>,
) -> Result<(), SetProblem<'_, T>> {
    if shards.is_empty() {
        return Ok(());
    }
    if let Some((i, field)) =
        (1..shards.len()).find_map(|i| mismatch(&shards[0], &shards[i]).map(|f| (i, f)))
    {
        return Err(SetProblem::Mismatch {
            first: &shards[0],
            other: &shards[i],
            field,
        });
    }
    shards.sort_by_key(|s| shard(s).index);
    if let Some(i) = (1..shards.len()).find(|&i| shard(&shards[i - 1]) == shard(&shards[i])) {
        return Err(SetProblem::Duplicate {
            first: &shards[i - 1],
            other: &shards[i],
            shard: shard(&shards[i]),
        });
    }
    let count = shard(&shards[0]).count;
    if shards.len() as u64 != count {
        let have: Vec<u64> = shards.iter().map(|s| shard(s).index).collect();
        return Err(SetProblem::Missing(
            (0..count).filter(|k| !have.contains(k)).collect(),
        ));
    }
    Ok(())
}

/// A posterior's hash, or the words for a run drawn from the scenario's own values.
fn posterior_name(sha256: &Option<String>) -> String {
    sha256
        .clone()
        .unwrap_or_else(|| "none (the scenario's own values)".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_replication_once_in_order() {
        for total in [0, 1, 7, 1000, 1024, 1_000_003] {
            for count in [1, 2, 3, 7, 16] {
                let mut next = 0;
                for index in 0..count {
                    let r = Shard::new(index, count).unwrap().range(total);
                    assert_eq!(r.start, next, "{index}/{count} of {total}");
                    assert!(r.end >= r.start);
                    next = r.end;
                }
                assert_eq!(next, total);
            }
        }
    }

    #[test]
    fn shard_of_k_gets_k_times_r_over_n() {
        assert_eq!(Shard::new(1, 3).unwrap().range(10), 3..6);
        assert_eq!(Shard::new(2, 3).unwrap().range(10), 6..10);
        assert_eq!(Shard::WHOLE.range(u64::MAX), 0..u64::MAX);
    }

    #[test]
    fn shard_parses_k_slash_n_and_refuses_the_rest() {
        assert_eq!("2/5".parse::<Shard>(), Ok(Shard { index: 2, count: 5 }));
        assert_eq!(
            "5/5".parse::<Shard>(),
            Err(ShardError::OutOfRange { index: 5, count: 5 })
        );
        assert_eq!("0/0".parse::<Shard>(), Err(ShardError::NoShards(0)));
        for bad in ["", "3", "a/b", "1/2/3", "-1/2"] {
            assert!(
                matches!(bad.parse::<Shard>(), Err(ShardError::Syntax(_))),
                "{bad}"
            );
        }
        let msg = "3/3".parse::<Shard>().unwrap_err().to_string();
        assert!(msg.contains("numbered from 0"), "{msg}");
    }

    #[test]
    fn a_shard_set_is_sorted_and_must_hold_every_shard_of_one_run_once() {
        let shard = |s: &(u64, u64, u64)| Shard::new(s.1, s.2).unwrap();
        let seed = |a: &(u64, u64, u64), b: &(u64, u64, u64)| {
            (a.0 != b.0).then(|| ("seed", a.0.to_string(), b.0.to_string()))
        };
        let mut set = vec![(1, 2, 3), (1, 0, 3), (1, 1, 3)];
        assert!(check_set(&mut set, shard, seed).is_ok());
        assert_eq!(set, vec![(1, 0, 3), (1, 1, 3), (1, 2, 3)]);
        let mut other = vec![(1, 0, 3), (2, 1, 3), (1, 2, 3)];
        assert!(matches!(
            check_set(&mut other, shard, seed),
            Err(SetProblem::Mismatch {
                other: (2, 1, 3),
                field: ("seed", _, _),
                ..
            })
        ));
        let mut twice = vec![(1, 1, 3), (1, 0, 3), (1, 1, 3)];
        assert!(matches!(
            check_set(&mut twice, shard, seed),
            Err(SetProblem::Duplicate {
                shard: Shard { index: 1, count: 3 },
                ..
            })
        ));
        let mut short = vec![(1, 2, 4), (1, 0, 4)];
        assert!(matches!(
            check_set(&mut short, shard, seed),
            Err(SetProblem::Missing(m)) if m == vec![1, 3]
        ));
    }

    #[test]
    fn identities_differing_only_in_shard_index_match() {
        let a = RunIdentity {
            csmarket_version: "0.1.0".into(),
            scenario_sha256: "ab".into(),
            configuration: "x".into(),
            seed: 1,
            replications: 10,
            shard: Shard { index: 0, count: 2 },
            posterior_sha256: None,
        };
        let mut b = a.clone();
        b.shard.index = 1;
        assert_eq!(a.mismatch(&b), None);
        b.seed = 2;
        assert_eq!(a.mismatch(&b), Some(("seed", "1".into(), "2".into())));
        let mut c = a.clone();
        c.shard.index = 1;
        c.posterior_sha256 = Some("cd".into());
        assert_eq!(a.mismatch(&c).map(|m| m.0), Some("posterior SHA-256"));
    }
}
