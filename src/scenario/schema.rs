//! The scenario file as the user writes it: plain serde structs, one per TOML table.
//!
//! Every table rejects unknown keys, so a misspelt field is an error rather than a silent default.
//! Defaults here are the values documented in `docs/scenario-format.md`.

use serde::{Deserialize, Serialize};

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Name, seed and horizon.
    pub scenario: Meta,
    /// Contract and failure rules.
    #[serde(default)]
    pub rules: Rules,
    /// Pricing, capacity and insolvency parameters.
    #[serde(default)]
    pub finance: Finance,
    /// Closeness `L(o, c)` of each kind of option to a CCG.
    #[serde(default)]
    pub closeness: Closeness,
    /// Distributions of CCG preference weights.
    #[serde(default)]
    pub preferences: Preferences,
    /// Spread of demand between replications.
    #[serde(default)]
    pub demand: Demand,
    /// Regions of the market.
    #[serde(default)]
    pub regions: Vec<Region>,
    /// Service lines CCGs buy.
    #[serde(default)]
    pub services: Vec<ServiceLine>,
    /// The buyers: listed one by one, generated, or both.
    #[serde(default)]
    pub ccgs: Ccgs,
    /// Local CSUs, collaboratives and national providers.
    #[serde(default)]
    pub providers: Vec<Provider>,
    /// Assurance checkpoints, in the order they happen.
    #[serde(default)]
    pub checkpoints: Vec<Checkpoint>,
    /// Named variants of the market.
    #[serde(default)]
    pub configurations: Vec<Configuration>,
    /// Recorded outcomes to score the model against.
    #[serde(default)]
    pub observed: Option<Observed>,
    /// Numeric fields whose values are uncertain, for `csmarket sensitivity` and (with a prior
    /// range) `csmarket calibrate`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uncertain: Vec<Uncertain>,
}

/// Scenario name, seed and horizon.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// Human-readable name.
    pub name: String,
    /// What the scenario represents.
    #[serde(default)]
    pub description: String,
    /// Master seed of every random stream.
    #[serde(default = "defaults::seed")]
    pub seed: u64,
    /// Replications a run makes unless the command line says otherwise.
    #[serde(default = "defaults::replications")]
    pub replications: u32,
    /// Number of quarters simulated, including the planning quarter 0.
    #[serde(default = "defaults::periods")]
    pub periods: u32,
    /// First quarter in which providers are independent of the Board (no more deficit cover).
    #[serde(default = "defaults::independence")]
    pub independence: u32,
    /// Label of period 1 (for charts), e.g. "2013Q2".
    #[serde(default)]
    pub first_quarter: Option<String>,
}

/// What happens to a provider that fails after independence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// The provider leaves the market; its CCGs choose again.
    Exit,
    /// A failing local CSU merges into its region's open local CSU with the largest reserves.
    Merge,
}

/// Contract and failure rules.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    /// Contract length in quarters.
    pub contract_length: u32,
    /// Notice a dissatisfied CCG gives, in quarters.
    pub notice_periods: u32,
    /// Quality below which a CCG gives notice.
    pub quality_threshold: f64,
    /// What happens to a failed provider.
    pub on_failure: OnFailure,
    /// Standard deviation of each provider's per-replication quality draw around its stated quality.
    pub quality_sd: f64,
    /// Standard deviation of each standard's per-replication draw around its stated score.
    pub capability_sd: f64,
    /// Quality lost per unit of overload (contracted volume above capacity, as a share of contracted).
    pub overload_quality_loss: f64,
    /// Volume share of its targets a provider's business plan assumes, before any contract.
    pub plan_share: f64,
}

/// Pricing, capacity and insolvency parameters shared by every provider.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Finance {
    /// Markup over cost in the annual price review (the Board required a 5% surplus).
    pub markup: f64,
    /// Largest relative price change at one annual review.
    pub max_price_change: f64,
    /// Share of the capacity gap closed per quarter when short of capacity.
    pub hire_rate: f64,
    /// Share of the idle capacity shed per quarter.
    pub shed_rate: f64,
    /// Cost of idle capacity as a share of unit cost.
    pub idle_cost_share: f64,
    /// One-off cost of shedding capacity, as a multiple of the unit cost of the volume shed.
    pub redundancy_cost: f64,
    /// A provider fails when reserves fall below this multiple of its annual turnover.
    pub insolvency_threshold: f64,
    /// Cost of one full-time member of staff (£/year), to turn capacity into staff.
    pub cost_per_fte: f64,
}

/// Closeness of each kind of option to a CCG, `L(o, c)` in [0, 1].
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Closeness {
    /// Doing it in-house.
    pub in_house: f64,
    /// The CCG's host CSU.
    pub host: f64,
    /// A collaborative whose members include the host CSU.
    pub member_collaborative: f64,
    /// Another local CSU of the same region.
    pub same_region_local: f64,
    /// A collaborative of the region that the host is not part of.
    pub region_collaborative: f64,
    /// A national provider, the independent sector, anything from another region.
    pub other: f64,
}

/// A normal distribution, truncated at zero when drawn.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Normal {
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub sd: f64,
}

/// Distributions of the CCG preference weights, drawn per CCG and replication.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Preferences {
    /// Price sensitivity `bp`.
    pub price: Normal,
    /// Weight on quality `bq`.
    pub quality: Normal,
    /// Weight on closeness `bl`.
    pub locality: Normal,
    /// Loyalty to the current supplier `bi`.
    pub inertia: Normal,
}

/// Spread of demand between replications.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Demand {
    /// Standard deviation of the log of each CCG's demand multiplier per service (mean 1).
    pub multiplier_sd: f64,
}

/// A region.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// Identifier used elsewhere in the file.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
}

/// Economics of doing a service in-house.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InHouse {
    /// £/year per CCG: the smallest team that can do the work.
    pub fixed_cost: f64,
    /// £ per unit of volume.
    pub unit_cost: f64,
    /// Quality in [0, 1].
    pub quality: f64,
}

/// The independent sector's offer for a service.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Independent {
    /// £ per unit of volume.
    pub price: f64,
    /// Quality in [0, 1].
    pub quality: f64,
}

/// A service line.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceLine {
    /// Identifier used elsewhere in the file.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// £ of support needed per head per year, valued at reference cost.
    pub need_per_head: f64,
    /// Reference price per unit of volume.
    #[serde(default = "defaults::one")]
    pub reference_price: f64,
    /// How much CCGs value closeness for this service, in [0, 1].
    pub locality: f64,
    /// Economics of doing it in-house.
    pub in_house: InHouse,
    /// The independent sector's offer.
    pub independent: Independent,
}

/// The buyers of the market.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Ccgs {
    /// CCGs listed one by one.
    #[serde(default)]
    pub list: Vec<Ccg>,
    /// CCGs generated over the local CSUs' patches.
    #[serde(default)]
    pub generate: Option<CcgGeneration>,
}

/// One CCG.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Ccg {
    /// Identifier.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Region id.
    pub region: String,
    /// Population (people).
    pub population: f64,
    /// Id of the local CSU whose patch the CCG lies in.
    #[serde(default)]
    pub host: Option<String>,
    /// Running-cost allowance, £ per head per year.
    #[serde(default = "defaults::allowance")]
    pub allowance: f64,
}

/// How to generate CCGs: a count spread over the local CSUs' patches in proportion to their
/// `patch_population`, with log-normal sizes.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CcgGeneration {
    /// Number of CCGs.
    pub count: u32,
    /// Total population of the generated CCGs; patches are scaled to it.
    pub total_population: f64,
    /// Standard deviation of the log of CCG size within a patch.
    #[serde(default = "defaults::size_sigma")]
    pub size_sigma: f64,
    /// Smallest CCG population allowed.
    #[serde(default = "defaults::min_population")]
    pub min_population: f64,
    /// Largest CCG population allowed.
    #[serde(default = "defaults::max_population")]
    pub max_population: f64,
    /// Seed of the generation (independent of the replication seed).
    #[serde(default = "defaults::seed")]
    pub seed: u64,
    /// Running-cost allowance, £ per head per year.
    #[serde(default = "defaults::allowance")]
    pub allowance: f64,
}

/// Kind of provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// A local commissioning support unit with a patch.
    Local,
    /// A network of local CSUs with a lead.
    Collaborative,
    /// A single national service.
    National,
}

impl ProviderKind {
    /// The lowercase name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Local => "local",
            ProviderKind::Collaborative => "collaborative",
            ProviderKind::National => "national",
        }
    }
}

/// Scores for the four standards of the assurance process, each in [0, 1].
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Standards {
    /// Leadership.
    pub leadership: f64,
    /// People.
    pub people: f64,
    /// Process.
    pub process: f64,
    /// Partnerships.
    pub partnerships: f64,
}

impl Default for Standards {
    fn default() -> Self {
        Standards {
            leadership: 0.6,
            people: 0.6,
            process: 0.6,
            partnerships: 0.6,
        }
    }
}

/// What a provider offers for one service.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    /// £/year: leadership, systems, specialist team.
    pub fixed_cost: f64,
    /// £ per unit of volume.
    pub unit_cost: f64,
    /// Quality in [0, 1].
    pub quality: f64,
    /// Starting capacity (volume per year). A collaborative without one pools its members'.
    #[serde(default)]
    pub capacity: Option<f64>,
}

/// A provider: local CSU, collaborative or national service.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    /// Identifier used elsewhere in the file.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Local, collaborative or national.
    pub kind: ProviderKind,
    /// Region (required for local CSUs and collaboratives; none for national providers).
    #[serde(default)]
    pub region: Option<String>,
    /// Whether the provider is in the market (configurations switch this).
    #[serde(default = "defaults::yes")]
    pub enabled: bool,
    /// Population of a local CSU's patch, used to generate CCGs.
    #[serde(default)]
    pub patch_population: Option<f64>,
    /// Member CSUs of a collaborative.
    #[serde(default)]
    pub members: Vec<String>,
    /// Lead CSU of a collaborative (a member).
    #[serde(default)]
    pub lead: Option<String>,
    /// Coordination cost per member per covered service (£/year), for collaboratives.
    #[serde(default)]
    pub coordination_cost: f64,
    /// Scores on the four standards.
    #[serde(default)]
    pub standards: Standards,
    /// Markup over cost; the finance default when absent.
    #[serde(default)]
    pub markup: Option<f64>,
    /// Starting reserves (£).
    #[serde(default)]
    pub reserves: f64,
    /// Services offered, keyed by service id.
    #[serde(default)]
    pub services: std::collections::BTreeMap<String, Offer>,
}

/// An assurance checkpoint.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Identifier.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Quarter in which it happens (0 = the planning quarter, rated on intentions).
    pub period: u32,
    /// Least population share of its targets that must buy or intend to buy from a provider.
    #[serde(default = "defaults::min_customer_share")]
    pub min_customer_share: f64,
    /// Least projected margin for the next year.
    #[serde(default = "defaults::min_margin")]
    pub min_margin: f64,
    /// Least mean score on the four standards.
    #[serde(default = "defaults::min_capability")]
    pub min_capability: f64,
    /// A pass within this fraction of a threshold counts as marginal (rating B).
    #[serde(default = "defaults::marginal_band")]
    pub marginal_band: f64,
    /// A provider rated B at the previous checkpoint must be rated A here or stop.
    #[serde(default)]
    pub b_must_reach_a: bool,
}

/// A named variant of the market: edits applied to the file before it is compiled.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Configuration {
    /// Name used on the command line and in outputs.
    pub name: String,
    /// What the configuration represents.
    #[serde(default)]
    pub description: String,
    /// Providers switched on.
    #[serde(default)]
    pub enable: Vec<String>,
    /// Providers switched off.
    #[serde(default)]
    pub disable: Vec<String>,
    /// Paths removed (e.g. `providers.essex.services.communications`).
    #[serde(default)]
    pub remove: Vec<String>,
    /// Paths set to values (e.g. `"services.communications.locality" = 0.1`).
    #[serde(default)]
    pub set: toml::Table,
}

/// A rating A, B or C.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
pub enum Rating {
    /// Proceeds with medium to low issues.
    A,
    /// Proceeds with issues that need rapid management.
    B,
    /// Stops.
    C,
}

impl Rating {
    /// All ratings in order.
    pub const ALL: [Rating; 3] = [Rating::A, Rating::B, Rating::C];

    /// The letter.
    pub fn as_str(self) -> &'static str {
        match self {
            Rating::A => "A",
            Rating::B => "B",
            Rating::C => "C",
        }
    }
}

/// Recorded outcomes.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Observed {
    /// Configuration the observations were made under.
    pub configuration: String,
    /// Where the observations come from.
    #[serde(default)]
    pub source: String,
    /// Recorded checkpoint ratings.
    #[serde(default)]
    pub ratings: Vec<ObservedRating>,
    /// Figures to calibrate the model to (MODEL.md section 11).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Target>,
}

/// One recorded rating.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ObservedRating {
    /// Checkpoint id.
    pub checkpoint: String,
    /// Provider id.
    pub provider: String,
    /// The rating given.
    pub rating: Rating,
}

pub use targets::{Destination, SpendTo, Target, TargetKind, Uncertain};

/// Calibration targets and uncertain parameters with their priors.
pub mod targets;

/// Default values of optional fields, named so the format reference can cite them.
pub mod defaults;
