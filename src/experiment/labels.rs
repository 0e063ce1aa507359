//! Display names for what summaries identify by id: regions, checkpoints and service lines. They
//! travel with results (a shard's state keeps them) so charts and reports drawn later name things
//! as one machine would.

use serde::{Deserialize, Serialize};

use crate::model::Market;

/// Display names of a scenario's regions, checkpoints and service lines, in scenario order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Labels {
    /// Region id and name.
    pub regions: Vec<(String, String)>,
    /// Checkpoint id, name and quarter.
    pub checkpoints: Vec<(String, String, u32)>,
    /// Service line id and name.
    pub services: Vec<(String, String)>,
}

impl Labels {
    /// Collects the names used by the given markets (configurations of one scenario).
    pub fn from_markets<'a>(markets: impl IntoIterator<Item = &'a Market>) -> Labels {
        let mut l = Labels::default();
        for m in markets {
            for r in &m.regions {
                if !l.regions.iter().any(|(id, _)| id == &r.id) {
                    l.regions.push((r.id.clone(), r.name.clone()));
                }
            }
            for c in &m.checkpoints {
                if !l.checkpoints.iter().any(|(id, _, _)| id == &c.id) {
                    l.checkpoints.push((c.id.clone(), c.name.clone(), c.period));
                }
            }
            for s in &m.services {
                if !l.services.iter().any(|(id, _)| id == &s.id) {
                    l.services.push((s.id.clone(), s.name.clone()));
                }
            }
        }
        l
    }

    /// A region's name (its id when unknown; "National" for no region).
    pub fn region(&self, id: &str) -> String {
        if id.is_empty() {
            return "National".into();
        }
        find(&self.regions, id)
    }

    /// A checkpoint's name (its id when unknown).
    pub fn checkpoint(&self, id: &str) -> String {
        self.checkpoints
            .iter()
            .find(|(i, _, _)| i == id)
            .map_or_else(|| id.to_string(), |(_, n, _)| n.clone())
    }

    /// A service line's name (its id when unknown).
    pub fn service(&self, id: &str) -> String {
        find(&self.services, id)
    }
}

fn find(list: &[(String, String)], id: &str) -> String {
    list.iter()
        .find(|(i, _)| i == id)
        .map_or_else(|| id.to_string(), |(_, n)| n.clone())
}
