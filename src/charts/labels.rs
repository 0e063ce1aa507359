//! Display names for what summaries identify by id: regions, checkpoints, service lines, and
//! providers grouped by region for the row charts.

use serde::{Deserialize, Serialize};

use crate::experiment::Summary;
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

/// A provider as a row chart shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderRow {
    /// Identifier.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Kind (local, collaborative, national).
    pub kind: String,
}

impl ProviderRow {
    /// The row label: the display name (the id when the scenario gives no name; ids are in the CSVs).
    pub fn label(&self) -> String {
        self.name.clone()
    }
}

/// Providers of one region, in order of first appearance.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionGroup {
    /// Region name (or "National").
    pub title: String,
    /// The providers.
    pub providers: Vec<ProviderRow>,
}

/// Every provider of any configuration, grouped by region in scenario order, national last.
pub fn provider_groups(summaries: &[Summary], labels: &Labels) -> Vec<RegionGroup> {
    let mut regions: Vec<String> = labels.regions.iter().map(|(id, _)| id.clone()).collect();
    for s in summaries {
        for p in &s.providers {
            if !p.region.is_empty() && !regions.contains(&p.region) {
                regions.push(p.region.clone());
            }
        }
    }
    regions.push(String::new());
    let mut groups = Vec::new();
    for r in regions {
        let mut rows: Vec<ProviderRow> = Vec::new();
        for s in summaries {
            for p in s.providers.iter().filter(|p| p.region == r) {
                if !rows.iter().any(|x| x.id == p.id) {
                    rows.push(ProviderRow {
                        id: p.id.clone(),
                        name: p.name.clone(),
                        kind: p.kind.clone(),
                    });
                }
            }
        }
        if !rows.is_empty() {
            groups.push(RegionGroup {
                title: labels.region(&r),
                providers: rows,
            });
        }
    }
    groups
}
