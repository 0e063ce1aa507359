//! Raw command-line arguments become one validated [`Options`] here, and nowhere else: the scenario
//! read and checked (every configuration with it), replications and threads within their caps,
//! configuration names checked against the scenario. Every command that runs replications starts
//! from it; nothing downstream checks these again.

use std::path::PathBuf;
use std::sync::Arc;

use super::{CommonArgs, InputError, load_scenario};
use crate::explore::calibrate::posterior::Posterior;
use crate::scenario::limits::{MAX_REPLICATIONS, MAX_THREADS};
use crate::scenario::{Scenario, ScenarioError};

/// What every command that runs replications shares, validated.
#[derive(Debug, Clone)]
pub struct Options {
    /// The scenario, read and checked with every configuration.
    pub scenario: Scenario,
    /// Replications per configuration or point, from 1 to [`MAX_REPLICATIONS`].
    pub replications: u64,
    /// Master seed.
    pub seed: u64,
    /// Worker threads, at most [`MAX_THREADS`] (0 = all cores).
    pub threads: usize,
    /// Output folder: `--out`, or `output/<scenario file name>`.
    pub out: PathBuf,
    /// What the command says about which scenario ran (see [`super::scenario_notes`]); said on
    /// stderr once and kept in provenance.
    pub notes: Vec<String>,
    /// The posterior sample replications draw their parameters from (`--posterior`).
    pub posterior: Option<Arc<Posterior>>,
}

/// Checks a replication count (`flag` names it in the message).
pub fn check_replications(flag: &str, n: u64) -> Result<u64, InputError> {
    if (1..=MAX_REPLICATIONS).contains(&n) {
        Ok(n)
    } else {
        Err(InputError(format!(
            "{flag} {n}: must be from 1 to {MAX_REPLICATIONS} replications"
        )))
    }
}

/// Checks a thread count (0 = all cores).
pub fn check_threads(t: usize) -> Result<usize, InputError> {
    if t <= MAX_THREADS {
        Ok(t)
    } else {
        Err(InputError(format!(
            "--threads {t}: at most {MAX_THREADS} worker threads (0 = all cores)"
        )))
    }
}

impl Options {
    /// Validates the shared arguments: threads first (before any file is read), then the
    /// scenario, then the replications (whose default the scenario gives).
    pub fn from_args(args: &CommonArgs) -> anyhow::Result<Options> {
        let threads = check_threads(args.threads)?;
        let scenario = load_scenario(args.scenario.as_ref())?;
        let replications = check_replications(
            "--replications",
            args.replications
                .unwrap_or(u64::from(scenario.base.scenario.replications)),
        )?;
        let posterior = match &args.posterior {
            Some(p) => Some(Arc::new(
                Posterior::from_path(p, &scenario).map_err(InputError)?,
            )),
            None => None,
        };
        let notes = super::scenario_notes(args.scenario.as_ref());
        for n in &notes {
            // The built-in copy ran while the folder holds an edited one: most likely not what
            // was meant, so said even under --quiet.
            if args.scenario.is_none() {
                super::warn(&format!("{n}."));
            } else {
                super::note(&format!("Note: {n}."));
            }
        }
        Ok(Options {
            notes,
            posterior,
            seed: args.seed.unwrap_or(scenario.base.scenario.seed),
            out: super::default_out(args.out.as_ref(), args.scenario.as_ref()),
            scenario,
            replications,
            threads,
        })
    }

    /// The calibrated model where the built-in scenario runs without `--posterior`: its shipped
    /// posterior ([`super::DEFAULT_POSTERIOR`]) is attached and a note says so, in the terminal
    /// and in provenance. A scenario given by path runs on its own values unless `--posterior`
    /// names a sample. Commands that vary the parameters themselves (sensitivity, calibrate)
    /// do not call this.
    pub fn calibrated(mut self, args: &CommonArgs) -> anyhow::Result<Options> {
        if args.scenario.is_some() || self.posterior.is_some() {
            return Ok(self);
        }
        let p = Posterior::from_text(
            super::DEFAULT_POSTERIOR_NAME,
            super::DEFAULT_POSTERIOR,
            &self.scenario,
        )
        .map_err(InputError)?;
        let source = p.source();
        let note = format!(
            "the built-in England 2012 runs calibrated: each replication draws its parameter \
             values from the posterior sample {}: {} particles, SHA-256 {}; give the scenario's path \
             to run its own values instead",
            source.file, source.rows, source.sha256
        );
        let wrapped = super::terminal::wrap(
            &format!("Note: {note}."),
            super::terminal::prose_width(),
            "",
            "",
        );
        super::note(wrapped.trim_end());
        self.notes.push(note);
        self.posterior = Some(Arc::new(p));
        Ok(self)
    }

    /// The configurations asked for, each checked against the scenario (none asked: all).
    pub fn configurations(&self, asked: &[String]) -> Result<Vec<String>, ScenarioError> {
        let available = self.scenario.configuration_names();
        if asked.is_empty() {
            return Ok(available);
        }
        for c in asked {
            if !available.contains(c) {
                return Err(ScenarioError::UnknownConfiguration {
                    name: c.clone(),
                    available,
                });
            }
        }
        Ok(asked.to_vec())
    }

    /// The one configuration a study explores: the one asked for, or the scenario's only one.
    pub fn configuration(&self, asked: Option<&str>) -> anyhow::Result<String> {
        let available = self.scenario.configuration_names();
        match asked {
            Some(c) => Ok(self.configurations(&[c.to_string()])?.remove(0)),
            None if available.len() == 1 => Ok(available[0].clone()),
            None => Err(InputError(format!(
                "{}: choose a configuration with --config; the scenario defines: {}",
                self.scenario.file,
                available.join(", ")
            ))
            .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replications_and_threads_are_held_to_their_caps() {
        assert_eq!(check_replications("-n", 1).unwrap(), 1);
        assert_eq!(
            check_replications("-n", MAX_REPLICATIONS).unwrap(),
            MAX_REPLICATIONS
        );
        assert!(check_replications("-n", 0).is_err());
        let e = check_replications("-n", MAX_REPLICATIONS + 1).unwrap_err();
        assert_eq!(
            e.0,
            "-n 1000000001: must be from 1 to 1000000000 replications"
        );
        assert_eq!(check_threads(0).unwrap(), 0);
        assert_eq!(check_threads(MAX_THREADS).unwrap(), MAX_THREADS);
        assert!(check_threads(MAX_THREADS + 1).is_err());
    }

    #[test]
    fn options_check_configuration_names_against_the_scenario() {
        let o = Options::from_args(&CommonArgs::default()).unwrap();
        assert_eq!(
            o.configurations(&[]).unwrap(),
            o.scenario.configuration_names()
        );
        let e = o.configurations(&["nowhere".into()]).unwrap_err();
        assert!(
            e.to_string().contains("unknown configuration `nowhere`"),
            "{e}"
        );
        let e = o.configuration(None).unwrap_err();
        assert!(
            e.to_string()
                .contains("choose a configuration with --config"),
            "{e}"
        );
    }
}
