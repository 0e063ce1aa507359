//! Where a result came from, one type for every command: `summary.json` of a run or comparison,
//! the JSON of a sweep, sensitivity analysis or back-test, a shard's state, and the report's
//! "What was run". Fields that only some results have are left out of the file when empty, so
//! each file keeps the fields it always had.

use serde::{Deserialize, Serialize};

/// Where a result came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// csmarket version.
    pub csmarket_version: String,
    /// Scenario name.
    pub scenario: String,
    /// Scenario file as given (or `<built-in>`).
    pub scenario_file: String,
    /// SHA-256 of the scenario file.
    pub scenario_sha256: String,
    /// Configuration (for a comparison, the baseline).
    pub configuration: String,
    /// Master seed.
    pub seed: u64,
    /// First global replication index of a run or shard; `None` for the exploration tools, which
    /// always run indices `0..replications` at every point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_replication: Option<u64>,
    /// Replications run (per configuration, or per point of an exploration).
    pub replications: u64,
    /// Worker threads used (results do not depend on it).
    pub threads: usize,
    /// Start time (RFC 3339); empty when not recorded.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub started: String,
    /// End time (RFC 3339); empty when not recorded.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub finished: String,
    /// The command line, when run from one.
    #[serde(default)]
    pub command_line: Vec<String>,
    /// The git commit csmarket was built from (`unknown` when built outside a git checkout).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub commit: String,
    /// The build profile (`debug` or `release`): a debug build gives the same results, slower.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub build_profile: String,
    /// What a person should know about where the inputs came from (e.g. the working folder's
    /// `scenarios/england-2012.toml` differs from the built-in copy that ran).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The posterior sample each replication drew its parameter values from (`--posterior`, or
    /// the one shipped with the built-in scenario); `None`: the scenario's own values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posterior: Option<PosteriorSource>,
}

/// Which posterior sample a result was drawn from: its file, SHA-256 and rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PosteriorSource {
    /// The file as given (or the built-in copy's name).
    pub file: String,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// Rows (particles) in the sample.
    pub rows: usize,
}

/// The git commit this csmarket was built from, as `build.rs` found it (`unknown` without git).
pub const COMMIT: &str = env!("CSMARKET_COMMIT");
/// The build profile this csmarket was built with.
pub const BUILD_PROFILE: &str = env!("CSMARKET_PROFILE");

impl Provenance {
    /// The version of csmarket that is running.
    pub fn this_version() -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }

    /// The commit this csmarket was built from.
    pub fn this_commit() -> String {
        COMMIT.to_string()
    }

    /// The build profile of this csmarket.
    pub fn this_profile() -> String {
        BUILD_PROFILE.to_string()
    }

    /// Worker threads actually used for a requested count (0 = all cores).
    pub fn threads_used(requested: usize) -> usize {
        if requested == 0 {
            rayon::current_num_threads()
        } else {
            requested
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provenance() -> Provenance {
        Provenance {
            csmarket_version: "0".into(),
            scenario: "s".into(),
            scenario_file: "s.toml".into(),
            scenario_sha256: "x".into(),
            configuration: "c".into(),
            seed: 1,
            first_replication: None,
            replications: 2,
            threads: 1,
            started: String::new(),
            finished: String::new(),
            command_line: Vec::new(),
            commit: String::new(),
            build_profile: String::new(),
            notes: Vec::new(),
            posterior: None,
        }
    }

    #[test]
    fn an_exploration_writes_no_run_fields_and_a_run_writes_them_all() {
        let explore = serde_json::to_value(provenance()).unwrap();
        for k in ["first_replication", "started", "finished"] {
            assert!(explore.get(k).is_none(), "{k}");
        }
        let run = Provenance {
            first_replication: Some(0),
            started: "a".into(),
            finished: "b".into(),
            ..provenance()
        };
        let json = serde_json::to_value(&run).unwrap();
        assert_eq!(json["first_replication"], 0);
        for k in ["commit", "build_profile", "notes"] {
            assert!(explore.get(k).is_none(), "{k}");
        }
        let back: Provenance = serde_json::from_value(json).unwrap();
        assert_eq!(back, run);
    }

    #[test]
    fn the_build_is_recorded_and_never_empty() {
        // build.rs falls back to `unknown` without git, so the field is always written.
        assert!(!COMMIT.is_empty());
        assert!(COMMIT == "unknown" || COMMIT.chars().all(|c| c.is_ascii_hexdigit()));
        assert!(
            ["debug", "release"].contains(&BUILD_PROFILE),
            "{BUILD_PROFILE}"
        );
    }
}
