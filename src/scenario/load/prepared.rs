//! A configuration made once for many sets of further edits (a posterior's rows, each a few
//! dotted-path `set`s): each set is applied to a copy of the configured document, so neither the
//! scenario's text is parsed again nor the configuration's own edits made again per set.

use serde::Deserialize;
use toml::{Table, Value};

use super::{Edit, Scenario, set_path};
use crate::scenario::ScenarioError;
use crate::scenario::schema::ScenarioFile;
use crate::scenario::suggest::Suggester;
use crate::scenario::validate::validate;

/// A configuration of a scenario made once, for many sets of further edits. What
/// [`Prepared::resolve_with`] gives is what [`Scenario::resolve_with`] gives, bit for bit: a set
/// of edits the short way cannot take, or that gives a scenario with any problem, is resolved by
/// `Scenario::resolve_with` itself, which says where and what the problem is.
#[derive(Debug, Clone)]
pub struct Prepared<'a> {
    scenario: &'a Scenario,
    configuration: String,
    /// Where each set of edits starts from; `None` when every set takes the long way.
    start: Option<Start>,
}

/// The configured document each set of edits is applied to.
#[derive(Debug, Clone)]
enum Start {
    /// A document read in parts: the rest as the configuration leaves it, and the configured
    /// scenario, whose split arrays (providers, regions) edits to the rest leave as they are.
    Split {
        rest: Table,
        configured: Box<ScenarioFile>,
    },
    /// A document read whole, as the configuration leaves it.
    Whole(Table),
}

impl Scenario {
    /// `configuration` made once, for many sets of further edits (see [`Prepared`]).
    pub fn prepare(&self, configuration: &str) -> Prepared<'_> {
        Prepared {
            scenario: self,
            configuration: configuration.to_string(),
            start: self.start(configuration),
        }
    }

    /// The configured document, as [`Scenario::resolve_with`] makes it before the further edits;
    /// `None` for an unknown configuration or one with a problem, which only the long way reports.
    fn start(&self, configuration: &str) -> Option<Start> {
        if !self
            .configuration_names()
            .iter()
            .any(|n| n == configuration)
        {
            return None;
        }
        let cf = self
            .base
            .configurations
            .iter()
            .find(|c| c.name == configuration);
        let mut hints = Suggester::new();
        if self.document.any_split() {
            // The short way only where `Document::resolve` takes the configuration itself.
            let configured = self
                .document
                .resolve(&self.text, &self.base, cf, &[], &mut hints)?;
            let rest = self.document.configured_rest(cf, &mut hints)?;
            Some(Start::Split {
                rest,
                configured: Box::new(configured),
            })
        } else {
            let mut problems = Vec::new();
            let doc = self.configured_whole(configuration, cf, &mut hints, &mut problems)?;
            problems.is_empty().then_some(Start::Whole(doc))
        }
    }
}

impl Prepared<'_> {
    /// The scenario as the configuration makes it with `extra` on top: the same as
    /// [`Scenario::resolve_with`], errors included.
    pub fn resolve_with(&self, extra: &[Edit]) -> Result<ScenarioFile, ScenarioError> {
        match self.start.as_ref().and_then(|s| self.quickly(s, extra)) {
            Some(resolved) => Ok(resolved),
            None => self.scenario.resolve_with(&self.configuration, extra),
        }
    }

    /// The short way alone: `extra` applied to a copy of the configured document, or `None` where
    /// [`Self::resolve_with`] takes the long way (so a test can tell which way was taken).
    pub fn resolve_quickly(&self, extra: &[Edit]) -> Option<ScenarioFile> {
        self.quickly(self.start.as_ref()?, extra)
    }

    /// `extra` applied to a copy of the configured document, as `Document::resolve` (split) or
    /// the whole document's edits (read whole) apply them after the configuration's own; `None`
    /// on anything the long way must look at.
    fn quickly(&self, start: &Start, extra: &[Edit]) -> Option<ScenarioFile> {
        let document = &self.scenario.document;
        let mut hints = Suggester::new();
        let (mut doc, configured) = match start {
            Start::Split { rest, configured } => (rest.clone(), Some(configured)),
            Start::Whole(doc) => (doc.clone(), None),
        };
        for e in extra {
            // An edit into a provider or region takes the long way, which edits that element.
            if configured.is_some() && !document.edits_rest(&e.path)? {
                return None;
            }
            set_path(&mut doc, &e.path, e.value.clone(), &mut hints).ok()?;
        }
        let mut resolved = ScenarioFile::deserialize(Value::Table(doc)).ok()?;
        if let Some(configured) = configured {
            document.splice(configured, &mut resolved);
        }
        validate(&resolved).is_empty().then_some(resolved)
    }
}
