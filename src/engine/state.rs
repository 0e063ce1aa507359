//! The state of one replication (MODEL.md section 2): each CCG's preferences, volumes and
//! contracts; each provider's status, reserves and service lines; the buffers the quarter reuses.
//! `Replication::new` draws what is random per replication.

use crate::model::rng::{self, Purpose};
use crate::model::{Market, Provider};
use crate::scenario::schema::{Normal, Rating};

use super::agenda::Agenda;
use super::assurance::{Assessment, AssuranceScratch};
use super::delivery::Delivery;
use super::finance::Books;
use super::menu::Menu;
use super::observation::{Fate, Ledger, Observer, RatingRecord, ReplicationOutcome};

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
        let mut scratch = Scratch::default();
        scratch.reset(services);
        scratch
    }

    /// As [`Scratch::new`] makes it, keeping the buffers.
    fn reset(&mut self, services: usize) {
        self.options.clear();
        self.options.reserve(16);
        self.uniforms.clear();
        self.uniforms.resize(services, 0.0);
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
    /// The buffer the first normals were drawn into (kept for the next replication).
    normals: Vec<f64>,
    /// The options of the current round of choices.
    pub(super) menu: Menu,
    /// Which CCGs have something to do in the next round of choices.
    pub(super) agenda: Agenda,
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

/// What a replication allocates, handed on from one replication to the next by one worker
/// ([`super::simulate_in`]), so that a replication after the first allocates almost nothing.
/// Every buffer is cleared and refilled before it is read, so an outcome never depends on what
/// the workspace held before: the same bits as a replication started from an empty one.
#[derive(Debug, Default)]
pub struct Workspace {
    prefs: Vec<[f64; 4]>,
    volume: Vec<f64>,
    in_house_prices: Vec<f64>,
    in_house_ratio: Vec<f64>,
    /// The first normals of eight streams at a time (preferences, demand, standards, qualities).
    normals: Vec<f64>,
    menu: Menu,
    agenda: Agenda,
    contracts: Vec<Contract>,
    hosts: Vec<Option<usize>>,
    patch_pop: Vec<f64>,
    providers: Vec<ProviderState>,
    scratch: Scratch,
    delivery: Delivery,
    books: Books,
    assurance: AssuranceScratch,
    /// The ratings of the last replication (its outcome holds a copy of exactly their length).
    ratings: Vec<RatingRecord>,
}

/// Delivery figures as before a replication's first delivery (all zero), keeping the buffers;
/// the deliverer slots it keeps between quarters are another replication's, to be filled anew.
fn restart(d: &mut Delivery) {
    d.slots.invalidate();
    d.contracts_changed();
    d.ccg_spend = 0.0;
    d.unmet = 0.0;
    d.provider_contracted = 0.0;
    d.mix.clear();
    d.hhi.clear();
    d.in_house_sq.clear();
    d.ledger_before = Ledger::default();
}

impl ProviderState {
    /// A provider before [`ProviderState::refill`]: closed, nothing held.
    fn blank() -> ProviderState {
        ProviderState {
            status: Status::Open,
            exit_period: None,
            reserves: 0.0,
            lines: Vec::new(),
            revenue_hist: [0.0; 4],
            cost_hist: [0.0; 4],
            quarters_open: 0,
            members: Vec::new(),
            weights: Vec::new(),
            lead: None,
            delivered: Vec::new(),
            ratings: Vec::new(),
            last_rating: None,
            assessment: None,
            capability: 0.0,
            unmet: 0.0,
        }
    }

    /// Sets every field to what provider `p` starts a replication with, keeping the buffers:
    /// `standards` and `qualities` are its streams' first normals.
    fn refill(&mut self, m: &Market, p: &Provider, standards: &[f64], qualities: &[f64]) {
        let sd = m.rules.capability_sd;
        let capability = p
            .standards
            .iter()
            .zip(standards.iter())
            .map(|(&x, &zx)| (x + sd * zx).clamp(0.0, 1.0))
            .sum::<f64>()
            / 4.0;
        self.lines.clear();
        self.lines.extend(
            p.offers
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
                }),
        );
        self.status = Status::Open;
        self.exit_period = None;
        self.reserves = p.reserves;
        self.revenue_hist = [0.0; 4];
        self.cost_hist = [0.0; 4];
        self.quarters_open = 0;
        self.members.clear();
        self.members.extend_from_slice(&p.members);
        self.weights.clear();
        self.lead = p.lead;
        self.delivered.clear();
        self.delivered.resize(p.members.len(), 0.0);
        self.ratings.clear();
        self.ratings.resize(m.checkpoints.len(), 0);
        self.last_rating = None;
        self.assessment = None;
        self.capability = capability;
        self.unmet = 0.0;
    }
}

impl<'m> Replication<'m> {
    /// A replication of `m` before its planning quarter: preferences, volumes, qualities and
    /// standards drawn from its streams (MODEL.md section 6), no contracts yet.
    pub fn new(m: &'m Market, rep: u64) -> Replication<'m> {
        Replication::new_in(m, rep, Workspace::default())
    }

    /// [`Replication::new`] in the buffers of `ws`; [`Replication::finish`] hands them back.
    pub(super) fn new_in(m: &'m Market, rep: u64, ws: Workspace) -> Replication<'m> {
        let Workspace {
            mut prefs,
            mut volume,
            mut in_house_prices,
            mut in_house_ratio,
            normals: mut z,
            menu,
            mut agenda,
            mut contracts,
            mut hosts,
            mut patch_pop,
            mut providers,
            mut scratch,
            mut delivery,
            books,
            assurance,
            mut ratings,
        } = ws;
        let ns = m.services.len();
        let p = &m.preferences;
        for v in [&mut volume, &mut in_house_prices, &mut in_house_ratio] {
            v.clear();
            v.reserve(m.ccgs.len() * ns);
        }
        prefs.clear();
        prefs.reserve(m.ccgs.len());
        // Each stream's first normals, drawn for eight CCGs (or providers) at a time: the same
        // numbers as drawing them stream by stream.
        const E: usize = rng::ENTITIES;
        z.clear();
        z.resize(E * (ns + 4), 0.0);
        let (four, per_service) = z.split_at_mut(E * 4);
        let sd = m.demand.multiplier_sd;
        let mut keys = [0u64; E];
        for ccgs in m.ccgs.chunks(E) {
            for (k, c) in keys.iter_mut().zip(ccgs) {
                *k = c.key;
            }
            let keys = &keys[..ccgs.len()];
            rng::first_normals_of(m.seed, rep, keys, 0, Purpose::Preferences, 0, 4, four);
            rng::first_normals_of(m.seed, rep, keys, 0, Purpose::Demand, 0, ns, per_service);
            for (i, c) in ccgs.iter().enumerate() {
                let w = &four[4 * i..4 * i + 4];
                let draw = |n: &Normal, z: f64| (n.mean + n.sd * z).max(0.0);
                prefs.push([
                    draw(&p.price, w[0]),
                    draw(&p.quality, w[1]),
                    draw(&p.locality, w[2]),
                    draw(&p.inertia, w[3]),
                ]);
                // One stream per CCG, one draw per service in service order.
                let w = &per_service[ns * i..ns * (i + 1)];
                for (sv, &zs) in m.services.iter().zip(w.iter()) {
                    // Log-normal with mean 1.
                    let mult = libm::exp(sd * zs - sd * sd / 2.0);
                    let v = c.population * sv.need_per_head * mult;
                    volume.push(v);
                    // The in-house price depends only on the volume: taken once per replication.
                    let price = sv.in_house_unit + sv.in_house_fixed / v.max(1.0);
                    in_house_prices.push(price);
                    in_house_ratio.push(price / sv.reference_price);
                }
            }
        }
        providers.truncate(m.providers.len());
        for (chunk, ps) in m.providers.chunks(E).enumerate() {
            for (k, p) in keys.iter_mut().zip(ps) {
                *k = p.key;
            }
            // The standards' and qualities' first normals, as a stream would draw them; one
            // quality draw per service in service order, offered or not, so a provider's quality
            // for one service does not depend on what else it offers.
            let keys = &keys[..ps.len()];
            rng::first_normals_of(m.seed, rep, keys, 0, Purpose::Standards, 0, 4, four);
            rng::first_normals_of(m.seed, rep, keys, 0, Purpose::Quality, 0, ns, per_service);
            for (i, p) in ps.iter().enumerate() {
                let pi = chunk * E + i;
                if pi == providers.len() {
                    providers.push(ProviderState::blank());
                }
                let (standards, qualities) =
                    (&four[4 * i..4 * i + 4], &per_service[ns * i..ns * (i + 1)]);
                providers[pi].refill(m, p, standards, qualities);
            }
        }
        contracts.clear();
        contracts.resize(
            m.ccgs.len() * ns,
            Contract {
                supplier: Supplier::None,
                end: 0,
                notice: false,
            },
        );
        hosts.clear();
        hosts.extend(m.ccgs.iter().map(|c| c.host));
        patch_pop.clear();
        patch_pop.resize(m.providers.len(), 0.0);
        for c in &m.ccgs {
            if let Some(h) = c.host {
                patch_pop[h] += c.population;
            }
        }
        // The buffers the quarters refill before they read them; the delivery figures are read
        // before the first delivery (as zero), so they start as a new replication's.
        scratch.reset(ns);
        agenda.reset();
        restart(&mut delivery);
        ratings.clear();
        let mut observer = Observer::new(m.periods);
        observer.ratings = ratings;
        Replication {
            m,
            rep,
            quarter: 0,
            prefs,
            volume,
            in_house_prices,
            in_house_ratio,
            normals: z,
            menu,
            agenda,
            contracts,
            hosts,
            patch_pop,
            providers,
            ledger: Ledger::default(),
            scratch,
            decisions: 0,
            delivery,
            books,
            assurance,
            observer,
        }
    }

    /// The replication's outcome, and its buffers for the next replication.
    pub(super) fn finish(mut self) -> (ReplicationOutcome, Workspace) {
        let outcome = self.outcome();
        let ws = Workspace {
            prefs: self.prefs,
            volume: self.volume,
            in_house_prices: self.in_house_prices,
            in_house_ratio: self.in_house_ratio,
            normals: self.normals,
            menu: self.menu,
            agenda: self.agenda,
            contracts: self.contracts,
            hosts: self.hosts,
            patch_pop: self.patch_pop,
            providers: self.providers,
            scratch: self.scratch,
            delivery: self.delivery,
            books: self.books,
            assurance: self.assurance,
            ratings: self.observer.ratings,
        };
        (outcome, ws)
    }

    pub(super) fn ns(&self) -> usize {
        self.m.services.len()
    }

    pub(super) fn open_count(&self) -> u32 {
        self.providers.iter().filter(|p| p.is_open()).count() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::{Replication, Workspace};
    use crate::engine::simulate_in;
    use crate::engine::testing::market;

    /// Everything a replication holds before its planning quarter, as text (every float's bits).
    fn state(r: &Replication) -> String {
        let d = &r.delivery;
        format!(
            "{} {} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            r.rep,
            r.quarter,
            r.prefs,
            r.volume,
            r.in_house_prices,
            r.in_house_ratio,
            r.contracts,
            r.hosts,
            r.patch_pop,
            r.providers,
            r.ledger,
            r.decisions,
            r.scratch.uniforms,
            r.observer.ratings,
            (
                d.ccg_spend,
                d.unmet,
                d.provider_contracted,
                d.slots.is_valid()
            ),
            d.mix,
            d.hhi,
            d.in_house_sq,
            d.ledger_before,
            r.agenda,
        )
    }

    #[test]
    fn a_replication_started_in_used_buffers_holds_what_a_new_one_holds() {
        // Buffers left by whole replications of markets with other providers and networks.
        let (local, collaborative) = (market("local"), market("collaborative"));
        let mut ws = Workspace::default();
        for (m, rep) in [(&collaborative, 4), (&local, 5), (&collaborative, 6)] {
            for next in [&local, &collaborative] {
                let before = simulate_in(m, rep, &mut ws);
                assert!(before.ratings.len() > 1, "a checkpoint rated providers");
                let reused = Replication::new_in(next, 11, std::mem::take(&mut ws));
                assert_eq!(state(&reused), state(&Replication::new(next, 11)));
                ws = reused.finish().1;
            }
        }
    }
}
