//! The compiled market: a resolved scenario turned into indexed, validated data the engine runs on.
//! Ids become indices, disabled providers are dropped, and CCGs are generated.

mod box_muller;
mod chacha8x8;
#[cfg(target_arch = "x86_64")]
mod draws8;
pub(crate) mod libm_log;
pub mod rng;

use std::collections::BTreeMap;

use crate::scenario::schema::{
    self, Choice, Closeness, Consolidation, Demand, Finance, OnC, OnFailure, Preferences,
    ProviderKind, Rules, ScenarioFile,
};
use rng::{Purpose, entity_key};

/// A region.
#[derive(Debug, Clone)]
pub struct Region {
    /// Identifier.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// A service line, with its in-house and independent alternatives.
#[derive(Debug, Clone)]
pub struct Service {
    /// Identifier.
    pub id: String,
    /// Display name.
    pub name: String,
    /// £ needed per head per year at reference cost.
    pub need_per_head: f64,
    /// Reference price per unit.
    pub reference_price: f64,
    /// Weight of closeness for this service.
    pub locality: f64,
    /// In-house fixed cost per CCG (£/year).
    pub in_house_fixed: f64,
    /// In-house unit cost.
    pub in_house_unit: f64,
    /// In-house quality.
    pub in_house_quality: f64,
    /// Independent sector price per unit.
    pub independent_price: f64,
    /// Independent sector quality.
    pub independent_quality: f64,
}

/// A CCG.
#[derive(Debug, Clone)]
pub struct Ccg {
    /// Identifier.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Region index.
    pub region: usize,
    /// Population.
    pub population: f64,
    /// Index of the local CSU whose patch it lies in.
    pub host: Option<usize>,
    /// Running-cost allowance per head.
    pub allowance: f64,
    /// Stream key.
    pub key: u64,
}

/// A provider's offer for one service.
#[derive(Debug, Clone, Copy)]
pub struct Offer {
    /// £/year.
    pub fixed_cost: f64,
    /// £ per unit.
    pub unit_cost: f64,
    /// Quality in [0, 1].
    pub quality: f64,
    /// Starting capacity per year (a collaborative without one pools its members').
    pub capacity: Option<f64>,
}

/// A provider.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Identifier.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Kind.
    pub kind: ProviderKind,
    /// Region index (none for national providers).
    pub region: Option<usize>,
    /// Member indices (collaboratives).
    pub members: Vec<usize>,
    /// Lead index (collaboratives).
    pub lead: Option<usize>,
    /// Coordination cost per member per covered service (£/year).
    pub coordination_cost: f64,
    /// Leadership, people, process, partnerships.
    pub standards: [f64; 4],
    /// Markup over cost.
    pub markup: f64,
    /// Starting reserves.
    pub reserves: f64,
    /// Offer per service index.
    pub offers: Vec<Option<Offer>>,
    /// Stream key.
    pub key: u64,
}

/// A checkpoint.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// Identifier.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Quarter.
    pub period: u32,
    /// Least customer share.
    pub min_customer_share: f64,
    /// Least projected margin.
    pub min_margin: f64,
    /// Least mean standards score.
    pub min_capability: f64,
    /// Marginal band as a fraction of the threshold.
    pub marginal_band: f64,
    /// B at the previous checkpoint must become A here.
    pub b_must_reach_a: bool,
    /// What a C rating means here: stop, or merge a local CSU into a neighbour.
    pub on_c: OnC,
}

/// The market the engine simulates: one configuration of one scenario.
#[derive(Debug, Clone)]
pub struct Market {
    /// Scenario name.
    pub scenario: String,
    /// Configuration name.
    pub configuration: String,
    /// Master seed.
    pub seed: u64,
    /// Quarters simulated, including quarter 0.
    pub periods: u32,
    /// First independent quarter.
    pub independence: u32,
    /// Contract rules.
    pub rules: Rules,
    /// Finance parameters.
    pub finance: Finance,
    /// Closeness values.
    pub closeness: Closeness,
    /// Preference distributions.
    pub preferences: Preferences,
    /// Demand spread.
    pub demand: Demand,
    /// Nest dissimilarities of the choice.
    pub choice: Choice,
    /// Voluntary mergers after checkpoints.
    pub consolidation: Consolidation,
    /// Regions.
    pub regions: Vec<Region>,
    /// Service lines.
    pub services: Vec<Service>,
    /// CCGs.
    pub ccgs: Vec<Ccg>,
    /// Enabled providers.
    pub providers: Vec<Provider>,
    /// Checkpoints in time order.
    pub checkpoints: Vec<Checkpoint>,
    /// Per region, per service: providers that can ever offer the service there (static superset).
    pub candidates: Vec<Vec<Vec<usize>>>,
    /// Per provider: the collaboratives it is a member of.
    pub networks_of: Vec<Vec<usize>>,
    /// Per region: its CCGs, in market order.
    pub region_ccgs: Vec<Vec<usize>>,
    /// Per region: its local CSUs, in market order.
    pub region_locals: Vec<Vec<usize>>,
    /// Total population.
    pub population: f64,
    /// Label of quarter 1 (`YYYYQn`, validated), for calendar dates in charts and files.
    pub first_quarter: Option<String>,
    /// Providers (market indices) whose joint survival makes the configuration viable.
    pub viability_watched: Vec<usize>,
    /// Probability of that joint survival that counts as viable.
    pub viable_survival: f64,
    /// Parameter uncertainty: the market each replication simulates instead of this one, drawn
    /// from a posterior sample (none: every replication simulates this market).
    pub variants: Option<std::sync::Arc<dyn Variants>>,
}

/// Markets that differ from a base market only in parameter values, one chosen per replication
/// by a keyed draw, so the choice does not depend on threads, shards or configuration order.
pub trait Variants: std::fmt::Debug + Send + Sync {
    /// The market replication `replication` simulates.
    fn market_for(&self, replication: u64) -> &Market;
}

/// Why a market could not be compiled (beyond what validation catches).
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// A reference points at a disabled provider.
    #[error("{path}: `{id}` is disabled in this configuration; {why}")]
    Disabled {
        /// Field path.
        path: String,
        /// Provider id.
        id: String,
        /// Why it matters.
        why: String,
    },
}

/// The providers (market indices) the verdict watches: those the scenario's `viability.providers`
/// names that this configuration offers, or by default every at-scale one (collaboratives and
/// national providers).
fn watched_providers(s: &ScenarioFile, providers: &[Provider]) -> Vec<usize> {
    (0..providers.len())
        .filter(|&i| {
            let p = &providers[i];
            if s.viability.providers.is_empty() {
                p.kind != ProviderKind::Local
            } else {
                s.viability.providers.contains(&p.id)
            }
        })
        .collect()
}

impl Market {
    /// Compiles a validated scenario (with its configuration applied) into a market.
    pub fn compile(s: &ScenarioFile, configuration: &str) -> Result<Market, CompileError> {
        let regions: Vec<Region> = s
            .regions
            .iter()
            .map(|r| Region {
                id: r.id.clone(),
                name: display(&r.name, &r.id),
            })
            .collect();
        let region_ix: BTreeMap<&str, usize> = s
            .regions
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.as_str(), i))
            .collect();
        let services: Vec<Service> = s
            .services
            .iter()
            .map(|x| Service {
                id: x.id.clone(),
                name: display(&x.name, &x.id),
                need_per_head: x.need_per_head,
                reference_price: x.reference_price,
                locality: x.locality,
                in_house_fixed: x.in_house.fixed_cost,
                in_house_unit: x.in_house.unit_cost,
                in_house_quality: x.in_house.quality,
                independent_price: x.independent.price,
                independent_quality: x.independent.quality,
            })
            .collect();
        let enabled: Vec<&schema::Provider> = s.providers.iter().filter(|p| p.enabled).collect();
        let prov_ix: BTreeMap<&str, usize> = enabled
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.as_str(), i))
            .collect();
        for (i, p) in s.providers.iter().enumerate() {
            if !p.enabled {
                continue;
            }
            for (j, m) in p.members.iter().enumerate() {
                if !prov_ix.contains_key(m.as_str()) {
                    return Err(CompileError::Disabled {
                        path: format!("providers[{i}].members[{j}]"),
                        id: m.clone(),
                        why: format!(
                            "collaborative `{}` is enabled, so its members must be",
                            p.id
                        ),
                    });
                }
            }
        }
        let service_ix: BTreeMap<&str, usize> = s
            .services
            .iter()
            .enumerate()
            .map(|(i, x)| (x.id.as_str(), i))
            .collect();
        let providers: Vec<Provider> = enabled
            .iter()
            .map(|p| {
                let mut offers = vec![None; services.len()];
                for (sid, o) in &p.services {
                    if let Some(&k) = service_ix.get(sid.as_str()) {
                        offers[k] = Some(Offer {
                            fixed_cost: o.fixed_cost,
                            unit_cost: o.unit_cost,
                            quality: o.quality,
                            capacity: o.capacity,
                        });
                    }
                }
                Provider {
                    id: p.id.clone(),
                    name: display(&p.name, &p.id),
                    kind: p.kind,
                    region: p.region.as_deref().and_then(|r| region_ix.get(r).copied()),
                    members: p
                        .members
                        .iter()
                        .filter_map(|m| prov_ix.get(m.as_str()).copied())
                        .collect(),
                    lead: p.lead.as_deref().and_then(|l| prov_ix.get(l).copied()),
                    coordination_cost: p.coordination_cost,
                    standards: [
                        p.standards.leadership,
                        p.standards.people,
                        p.standards.process,
                        p.standards.partnerships,
                    ],
                    markup: p.markup.unwrap_or(s.finance.markup),
                    reserves: p.reserves,
                    offers,
                    key: entity_key(&p.id),
                }
            })
            .collect();

        let mut ccgs = Vec::new();
        if let Some(g) = &s.ccgs.generate {
            ccgs.extend(generate_ccgs(g, &enabled, &region_ix, &prov_ix));
        }
        for (i, c) in s.ccgs.list.iter().enumerate() {
            let host = match &c.host {
                Some(h) => match prov_ix.get(h.as_str()) {
                    Some(&x) => Some(x),
                    None => {
                        return Err(CompileError::Disabled {
                            path: format!("ccgs.list[{i}].host"),
                            id: h.clone(),
                            why: "a CCG's host CSU must be enabled".into(),
                        });
                    }
                },
                None => None,
            };
            ccgs.push(Ccg {
                id: c.id.clone(),
                name: display(&c.name, &c.id),
                region: region_ix[c.region.as_str()],
                population: c.population,
                host,
                allowance: c.allowance,
                key: entity_key(&c.id),
            });
        }

        let mut candidates = vec![vec![Vec::new(); services.len()]; regions.len()];
        for (pi, p) in providers.iter().enumerate() {
            for (si, o) in p.offers.iter().enumerate() {
                if o.is_none() {
                    continue;
                }
                match p.region {
                    Some(r) => candidates[r][si].push(pi),
                    None => candidates
                        .iter_mut()
                        .for_each(|byservice| byservice[si].push(pi)),
                }
            }
        }
        let mut networks_of = vec![Vec::new(); providers.len()];
        for (pi, p) in providers.iter().enumerate() {
            for &m in &p.members {
                networks_of[m].push(pi);
            }
        }
        let population = ccgs.iter().map(|c| c.population).sum();
        let mut region_ccgs = vec![Vec::new(); regions.len()];
        for (i, c) in ccgs.iter().enumerate() {
            region_ccgs[c.region].push(i);
        }
        let mut region_locals = vec![Vec::new(); regions.len()];
        for (i, p) in providers.iter().enumerate() {
            if let (ProviderKind::Local, Some(r)) = (p.kind, p.region) {
                region_locals[r].push(i);
            }
        }
        let viability_watched = watched_providers(s, &providers);
        Ok(Market {
            scenario: s.scenario.name.clone(),
            configuration: configuration.to_string(),
            seed: s.scenario.seed,
            periods: s.scenario.periods,
            independence: s.scenario.independence,
            rules: s.rules.clone(),
            finance: s.finance.clone(),
            closeness: s.closeness.clone(),
            preferences: s.preferences.clone(),
            demand: s.demand.clone(),
            choice: s.choice.clone(),
            consolidation: s.consolidation.clone(),
            regions,
            services,
            ccgs,
            providers,
            checkpoints: s
                .checkpoints
                .iter()
                .map(|c| Checkpoint {
                    id: c.id.clone(),
                    name: display(&c.name, &c.id),
                    period: c.period,
                    min_customer_share: c.min_customer_share,
                    min_margin: c.min_margin,
                    min_capability: c.min_capability,
                    marginal_band: c.marginal_band,
                    b_must_reach_a: c.b_must_reach_a,
                    on_c: c.on_c,
                })
                .collect(),
            first_quarter: s.scenario.first_quarter.clone(),
            viability_watched,
            viable_survival: s.viability.survival,
            candidates,
            networks_of,
            region_ccgs,
            region_locals,
            population,
            variants: None,
        })
    }

    /// Whether failed providers merge (rather than exit).
    pub fn merges_on_failure(&self) -> bool {
        self.rules.on_failure == OnFailure::Merge
    }
}

fn display(name: &str, id: &str) -> String {
    if name.is_empty() {
        id.to_string()
    } else {
        name.to_string()
    }
}

/// Spreads `count` CCGs over the enabled local CSUs' patches by largest remainder, with log-normal
/// sizes within each patch scaled to the patch's share of the total population.
fn generate_ccgs(
    g: &schema::CcgGeneration,
    enabled: &[&schema::Provider],
    region_ix: &BTreeMap<&str, usize>,
    prov_ix: &BTreeMap<&str, usize>,
) -> Vec<Ccg> {
    let patches: Vec<(&schema::Provider, f64)> = enabled
        .iter()
        .filter(|p| p.kind == ProviderKind::Local)
        .filter_map(|p| p.patch_population.filter(|&v| v > 0.0).map(|v| (*p, v)))
        .collect();
    let total: f64 = patches.iter().map(|(_, v)| v).sum();
    if total <= 0.0 {
        return Vec::new();
    }
    // Largest-remainder apportionment, ties broken by patch order so it is deterministic.
    let quotas: Vec<f64> = patches
        .iter()
        .map(|(_, v)| f64::from(g.count) * v / total)
        .collect();
    let mut counts: Vec<u32> = quotas.iter().map(|q| q.floor() as u32).collect();
    let mut left = g.count - counts.iter().sum::<u32>();
    let mut order: Vec<usize> = (0..patches.len()).collect();
    order.sort_by(|&a, &b| {
        (quotas[b] - quotas[b].floor())
            .total_cmp(&(quotas[a] - quotas[a].floor()))
            .then(a.cmp(&b))
    });
    for &i in order.iter().cycle().take(patches.len() * 2) {
        if left == 0 {
            break;
        }
        counts[i] += 1;
        left -= 1;
    }
    let mut out = Vec::with_capacity(g.count as usize);
    for ((p, patch_pop), n) in patches.iter().zip(&counts) {
        let scaled = patch_pop * g.total_population / total;
        let mut rng = rng::stream(g.seed, 0, entity_key(&p.id), 0, Purpose::Generation, 0);
        let weights: Vec<f64> = (0..*n)
            .map(|_| libm::exp(g.size_sigma * rng::standard_normal(&mut rng)))
            .collect();
        let sum: f64 = weights.iter().sum();
        for (i, w) in weights.iter().enumerate() {
            let id = format!("{}-{}", p.id, i + 1);
            let population = (scaled * w / sum)
                .clamp(g.min_population, g.max_population)
                .round();
            out.push(Ccg {
                name: format!("{} CCG {}", display(&p.name, &p.id), i + 1),
                key: entity_key(&id),
                id,
                region: p
                    .region
                    .as_deref()
                    .and_then(|r| region_ix.get(r).copied())
                    .unwrap_or(0),
                population,
                host: prov_ix.get(p.id.as_str()).copied(),
                allowance: g.allowance,
            });
        }
    }
    out
}
