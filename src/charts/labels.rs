//! Providers grouped by region for the row charts and tables; display names come from
//! [`Labels`].

pub use crate::experiment::Labels;
use crate::experiment::Summary;

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

/// Height of region groups drawn as a header band and a row per provider.
pub fn groups_height(groups: &[RegionGroup], header_h: i32, row_h: i32) -> i32 {
    let rows: usize = groups.iter().map(|g| g.providers.len()).sum();
    header_h * groups.len() as i32 + row_h * rows as i32
}
