//! The tables of MODEL.md section 10 (nested choice and voluntary consolidation), each field with a
//! neutral default under which the model is the first version's exactly.

use serde::{Deserialize, Serialize};

/// How CCGs choose beyond the plain logit (`[choice]`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Choice {
    /// Dissimilarity of each nest of the nested logit; all 1 is the plain multinomial logit.
    pub nests: Nests,
}

/// Dissimilarity `lambda` of each of the four nests (`[choice.nests]`), each in (0, 1]: a small
/// value makes the nest's options act as one alternative.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Nests {
    /// The CCG's own team.
    pub in_house: f64,
    /// The host CSU and every collaborative whose members include it.
    pub host_network: f64,
    /// Other local CSUs of the region, collaboratives without the host, national providers.
    pub other_nhs: f64,
    /// The independent sector.
    pub independent: f64,
}

impl Default for Nests {
    fn default() -> Self {
        Nests {
            in_house: 1.0,
            host_network: 1.0,
            other_nhs: 1.0,
            independent: 1.0,
        }
    }
}

impl Nests {
    /// The dissimilarities in nest order: in-house, host's network, other NHS, independent.
    pub fn lambdas(&self) -> [f64; 4] {
        [
            self.in_house,
            self.host_network,
            self.other_nhs,
            self.independent,
        ]
    }
}

/// Voluntary mergers of local CSUs after each checkpoint (`[consolidation]`), off by default.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Consolidation {
    /// Whether a local CSU below the checkpoint's `min_margin` looks for a partner of its region.
    pub enabled: bool,
    /// Share of the pair's summed fixed costs a merger saves, in [0, 1).
    pub synergy: f64,
}

/// What a C rating means at a checkpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnC {
    /// The provider stops (the first version).
    #[default]
    Stop,
    /// A local CSU merges into its region's open local CSU with the largest reserves (as on
    /// failure); other kinds stop.
    Merge,
}
