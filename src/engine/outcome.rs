//! What one replication records: a small, fixed-size summary that experiments fold into statistics.

use serde::{Deserialize, Serialize};

/// How a provider's story ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fate {
    /// Still open at the end.
    Survived,
    /// Stopped at a checkpoint (rated C, or B where A was required).
    Stopped,
    /// Failed after independence and left the market.
    Failed,
    /// Failed after independence and merged into another CSU.
    Merged,
    /// A collaborative left without members.
    Ended,
}

impl Fate {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Fate::Survived => "survived",
            Fate::Stopped => "stopped",
            Fate::Failed => "failed",
            Fate::Merged => "merged",
            Fate::Ended => "ended",
        }
    }
}

/// One provider in one replication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderOutcome {
    /// Rating at each checkpoint: 0 not rated (not open), 1 A, 2 B, 3 C.
    pub ratings: Vec<u8>,
    /// How it ended.
    pub fate: Fate,
    /// Quarter in which it stopped, failed, merged or ended.
    pub exit_period: Option<u32>,
    /// Margin over its last four quarters open (surplus / revenue); none without revenue.
    pub margin: Option<f64>,
    /// CCGs buying at least one service from it at the end.
    pub customers: u32,
    /// Population of those CCGs.
    pub population: f64,
    /// Staff at the end (capacity / cost per FTE).
    pub staff: f64,
    /// Revenue over its last four quarters open (£).
    pub revenue: f64,
    /// Reserves at the end (£).
    pub reserves: f64,
    /// Contracted volume it could not serve, over the run (£ at reference cost).
    pub unmet: f64,
}

/// Market structure of one service line at the end of one replication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceOutcome {
    /// Volume shares: in-house, local, collaborative, national, independent.
    pub shares: [f64; 5],
    /// Herfindahl-Hirschman index of suppliers' volume shares, in [0, 1] (each CCG's in-house team
    /// counts as its own supplier).
    pub hhi: f64,
}

/// Market-wide figures for one quarter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PeriodFigures {
    /// Providers open at the end of the quarter.
    pub open_providers: u32,
    /// In-house share of volume (fallback for unmet volume included).
    pub in_house_share: f64,
    /// What CCGs paid, £ per head per year (the quarter annualised).
    pub cost_per_head: f64,
}

/// Money paid and received over the run, for the conservation check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    /// Paid by CCGs.
    pub ccg_spend: f64,
    /// Received by providers.
    pub provider_revenue: f64,
    /// Spent in-house (including fallback for unmet volume).
    pub in_house_spend: f64,
    /// Paid to the independent sector.
    pub independent_spend: f64,
}

/// Everything one replication records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicationOutcome {
    /// Global replication index.
    pub replication: u64,
    /// Per provider, in market order.
    pub providers: Vec<ProviderOutcome>,
    /// Per service line.
    pub services: Vec<ServiceOutcome>,
    /// Per quarter from 1 on.
    pub series: Vec<PeriodFigures>,
    /// What CCGs paid in the last four quarters, £ per head.
    pub cost_per_head: f64,
    /// In-house share of volume in the last quarter.
    pub in_house_share: f64,
    /// Share of intended volume (quarter 0, after its checkpoints) going to the CCG's own host CSU,
    /// directly or through a network the host belongs to: comparable with the April 2012 survey.
    pub intended_host_share: f64,
    /// Providers open at the end.
    pub open_providers: u32,
    /// Unmet share of provider-contracted volume over the run.
    pub unmet_share: f64,
    /// Money flows over the run.
    pub ledger: Ledger,
    /// Supplier choices CCGs made (intentions included).
    pub decisions: u64,
}
