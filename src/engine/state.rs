//! The state of one replication (MODEL.md section 2): each CCG's preferences, volumes and
//! contracts; each provider's status, reserves and service lines; the buffers the quarter reuses.
//! `Replication::new` draws what is random per replication.

use crate::model::Market;
use crate::model::rng::{self, Purpose};
use crate::scenario::schema::{Normal, Rating};

use super::assurance::{Assessment, AssuranceScratch};
use super::delivery::Delivery;
use super::finance::Books;
use super::menu::Menu;
use super::observation::{Fate, Ledger, Observer};

/// Who supplies a CCG with a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Supplier {
    /// No contract yet.
    None,
    /// The CCG's own team.
    InHouse,
    /// The independent sector.
    Independent,
    /// A provider, by market index.
    Provider(usize),
}

/// A CCG's contract for one service.
#[derive(Debug, Clone, Copy)]
pub struct Contract {
    pub(super) supplier: Supplier,
    /// The quarter in which the CCG chooses again.
    pub(super) end: u32,
    /// The CCG has given notice (its end was brought forward).
    pub(super) notice: bool,
}

/// A provider's offer of one service during a replication.
#[derive(Debug, Clone, Default)]
pub struct Line {
    /// The provider has an offer for the service (it may be dormant inside a network).
    pub(super) exists: bool,
    /// CCGs can buy it now.
    pub(super) active: bool,
    pub(super) fixed: f64,
    pub(super) unit: f64,
    pub(super) quality: f64,
    pub(super) eff_quality: f64,
    pub(super) price: f64,
    pub(super) plan_price: f64,
    pub(super) capacity: f64,
    /// Annual contracted volume this quarter.
    pub(super) contracted: f64,
    pub(super) served: f64,
    pub(super) revenue: f64,
    pub(super) redundancy: f64,
    /// Annual contracted volume of the last four quarters, for the price review.
    pub(super) history: [f64; 4],
}

/// Whether a provider is in the market.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Open: it can be bought from.
    Open,
    /// Gone, and how.
    Closed(Fate),
}

/// One provider's state during a replication.
#[derive(Debug, Clone)]
pub struct ProviderState {
    pub(super) status: Status,
    pub(super) exit_period: Option<u32>,
    pub(super) reserves: f64,
    pub(super) lines: Vec<Line>,
    /// Quarterly revenue and cost including shares of networks' results, last four quarters.
    pub(super) revenue_hist: [f64; 4],
    pub(super) cost_hist: [f64; 4],
    pub(super) quarters_open: u32,
    /// Current members and their shares of pooled capacity (collaboratives).
    pub(super) members: Vec<usize>,
    pub(super) weights: Vec<f64>,
    pub(super) lead: Option<usize>,
    /// Volume delivered by each member this quarter (collaboratives).
    pub(super) delivered: Vec<f64>,
    pub(super) ratings: Vec<u8>,
    pub(super) last_rating: Option<Rating>,
    /// The domains and rating of the last checkpoint that rated it.
    pub(super) assessment: Option<Assessment>,
    pub(super) capability: f64,
    pub(super) unmet: f64,
}

impl ProviderState {
    /// Whether the provider is open.
    pub fn is_open(&self) -> bool {
        self.status == Status::Open
    }
}

/// Buffers one worker reuses across choices.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    pub(super) options: Vec<(Supplier, f64)>,
    pub(super) uniforms: Vec<f64>,
}

impl Scratch {
    pub(super) fn new(services: usize) -> Scratch {
        Scratch {
            options: Vec::with_capacity(16),
            uniforms: vec![0.0; services],
        }
    }
}

/// One replication of a market, run quarter by quarter: [`super::simulate`] runs it whole; tests can
/// run it step by step (`plan`, then per quarter `start_quarter`, `procure`, `deliver`, `finance`,
/// `review_prices`, `adjust_capacity`, `assure`, `fail`, `observe`) and read its state between steps.
pub struct Replication<'m> {
    pub(super) m: &'m Market,
    pub(super) rep: u64,
    /// The current quarter: 0 is the planning quarter.
    pub(super) quarter: u32,
    /// Per CCG: price, quality, locality, inertia weights.
    pub(super) prefs: Vec<[f64; 4]>,
    /// Annual volume per CCG and service (`c * S + s`).
    pub(super) volume: Vec<f64>,
    /// In-house price per unit per CCG and service (it depends only on the volume, drawn once).
    pub(super) in_house_prices: Vec<f64>,
    /// The same over the service's reference price, as the choice reads it.
    pub(super) in_house_ratio: Vec<f64>,
    /// The options of the current round of choices.
    pub(super) menu: Menu,
    /// Contracted volume per line (`p * S + s`) as the tally adds it up (buffer reused).
    pub(super) tally: Vec<f64>,
    pub(super) contracts: Vec<Contract>,
    pub(super) hosts: Vec<Option<usize>>,
    /// Population of each local CSU's current patch (kept up to date on mergers).
    pub(super) patch_pop: Vec<f64>,
    pub(super) providers: Vec<ProviderState>,
    pub(super) ledger: Ledger,
    /// Reused buffers for choices.
    pub(super) scratch: Scratch,
    /// Supplier choices made so far (intentions included).
    pub(super) decisions: u64,
    /// The last quarter's delivery figures (buffers reused each quarter).
    pub(super) delivery: Delivery,
    /// The quarter's accounts (buffers reused each quarter).
    pub(super) books: Books,
    /// What checkpoints compute (buffers reused at each checkpoint).
    pub(super) assurance: AssuranceScratch,
    /// Figures recorded for the outcome as the quarters pass.
    pub(super) observer: Observer,
}

impl<'m> Replication<'m> {
    /// A replication of `m` before its planning quarter: preferences, volumes, qualities and
    /// standards drawn from its streams (MODEL.md section 6), no contracts yet.
    pub fn new(m: &'m Market, rep: u64) -> Replication<'m> {
        let ns = m.services.len();
        let p = &m.preferences;
        let mut prefs = Vec::with_capacity(m.ccgs.len());
        let mut volume = Vec::with_capacity(m.ccgs.len() * ns);
        // Each stream's first normals, drawn in one go (the same numbers as drawing them one by one).
        let mut z = vec![0.0; ns.max(4)];
        for c in &m.ccgs {
            let w = &mut z[..4];
            rng::first_normals(m.seed, rep, c.key, 0, Purpose::Preferences, 0, w);
            let draw = |n: &Normal, z: f64| (n.mean + n.sd * z).max(0.0);
            prefs.push([
                draw(&p.price, w[0]),
                draw(&p.quality, w[1]),
                draw(&p.locality, w[2]),
                draw(&p.inertia, w[3]),
            ]);
            // One stream per CCG, one draw per service in service order.
            let w = &mut z[..ns];
            rng::first_normals(m.seed, rep, c.key, 0, Purpose::Demand, 0, w);
            for (s, &zs) in m.services.iter().zip(w.iter()) {
                let sd = m.demand.multiplier_sd;
                // Log-normal with mean 1.
                let mult = libm::exp(sd * zs - sd * sd / 2.0);
                volume.push(c.population * s.need_per_head * mult);
            }
        }
        let in_house_prices: Vec<f64> = volume
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let sv = &m.services[i % ns];
                sv.in_house_unit + sv.in_house_fixed / v.max(1.0)
            })
            .collect();
        let in_house_ratio = in_house_prices
            .iter()
            .enumerate()
            .map(|(i, p)| p / m.services[i % ns].reference_price)
            .collect();
        let providers = m
            .providers
            .iter()
            .map(|p| {
                // The standards' and qualities' first normals, as a stream would draw them.
                let sd = m.rules.capability_sd;
                let standards = &mut z[..4];
                rng::first_normals(m.seed, rep, p.key, 0, Purpose::Standards, 0, standards);
                let capability = p
                    .standards
                    .iter()
                    .zip(standards.iter())
                    .map(|(&x, &zx)| (x + sd * zx).clamp(0.0, 1.0))
                    .sum::<f64>()
                    / 4.0;
                // One draw per service in service order, offered or not, so a provider's quality
                // for one service does not depend on what else it offers.
                let qualities = &mut z[..ns];
                rng::first_normals(m.seed, rep, p.key, 0, Purpose::Quality, 0, qualities);
                let lines = p
                    .offers
                    .iter()
                    .zip(qualities.iter())
                    .map(|(o, &z)| match o {
                        None => Line::default(),
                        Some(o) => {
                            let quality = (o.quality + m.rules.quality_sd * z).clamp(0.0, 1.0);
                            Line {
                                exists: true,
                                active: true,
                                fixed: o.fixed_cost,
                                unit: o.unit_cost,
                                quality,
                                eff_quality: quality,
                                capacity: o.capacity.unwrap_or(0.0),
                                ..Line::default()
                            }
                        }
                    })
                    .collect();
                ProviderState {
                    status: Status::Open,
                    exit_period: None,
                    reserves: p.reserves,
                    lines,
                    revenue_hist: [0.0; 4],
                    cost_hist: [0.0; 4],
                    quarters_open: 0,
                    members: p.members.clone(),
                    weights: Vec::new(),
                    lead: p.lead,
                    delivered: vec![0.0; p.members.len()],
                    ratings: vec![0; m.checkpoints.len()],
                    last_rating: None,
                    assessment: None,
                    capability,
                    unmet: 0.0,
                }
            })
            .collect();
        Replication {
            m,
            rep,
            quarter: 0,
            prefs,
            volume,
            in_house_prices,
            in_house_ratio,
            menu: Menu::default(),
            tally: Vec::new(),
            contracts: vec![
                Contract {
                    supplier: Supplier::None,
                    end: 0,
                    notice: false
                };
                m.ccgs.len() * ns
            ],
            hosts: m.ccgs.iter().map(|c| c.host).collect(),
            patch_pop: {
                let mut pop = vec![0.0; m.providers.len()];
                for c in &m.ccgs {
                    if let Some(h) = c.host {
                        pop[h] += c.population;
                    }
                }
                pop
            },
            providers,
            ledger: Ledger::default(),
            scratch: Scratch::new(ns),
            decisions: 0,
            delivery: Delivery::default(),
            books: Books::default(),
            assurance: AssuranceScratch::default(),
            observer: Observer::new(m.periods),
        }
    }

    pub(super) fn ns(&self) -> usize {
        self.m.services.len()
    }

    pub(super) fn open_count(&self) -> u32 {
        self.providers.iter().filter(|p| p.is_open()).count() as u32
    }
}
