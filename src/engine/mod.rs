//! One replication of the market, quarter by quarter (MODEL.md section 3): procurement, delivery,
//! finance, capacity, assurance and failure.

// State lives in flat arrays indexed by CCG, service and provider; index loops read clearer here.
#![allow(clippy::needless_range_loop)]

pub mod choice;
pub mod outcome;

use rayon::prelude::*;

use crate::model::rng::{self, Purpose};
use crate::model::{Checkpoint, Market};
use crate::scenario::schema::{ProviderKind, Rating};
pub use outcome::{
    Fate, Ledger, PeriodFigures, ProviderOutcome, ReplicationOutcome, ServiceOutcome,
};

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

#[derive(Debug, Clone, Copy)]
struct Contract {
    supplier: Supplier,
    end: u32,
    notice: bool,
}

/// A provider's offer of one service during a replication.
#[derive(Debug, Clone, Default)]
struct Line {
    /// The provider has an offer for the service (it may be dormant inside a network).
    exists: bool,
    /// CCGs can buy it now.
    active: bool,
    fixed: f64,
    unit: f64,
    quality: f64,
    eff_quality: f64,
    price: f64,
    plan_price: f64,
    capacity: f64,
    /// Annual contracted volume this quarter.
    contracted: f64,
    served: f64,
    revenue: f64,
    redundancy: f64,
    /// Annual contracted volume of the last four quarters, for the price review.
    history: [f64; 4],
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Status {
    Open,
    Closed(Fate),
}

#[derive(Debug, Clone)]
struct ProviderState {
    status: Status,
    exit_period: Option<u32>,
    reserves: f64,
    lines: Vec<Line>,
    /// Quarterly revenue and cost including shares of networks' results, last four quarters.
    revenue_hist: [f64; 4],
    cost_hist: [f64; 4],
    quarters_open: u32,
    /// Current members and their shares of pooled capacity (collaboratives).
    members: Vec<usize>,
    weights: Vec<f64>,
    lead: Option<usize>,
    /// Volume delivered by each member this quarter (collaboratives).
    delivered: Vec<f64>,
    ratings: Vec<u8>,
    last_rating: Option<Rating>,
    capability: f64,
    unmet: f64,
}

impl ProviderState {
    fn open(&self) -> bool {
        self.status == Status::Open
    }
}

/// Which round of choices is run.
#[derive(Debug, Clone, Copy)]
enum Round {
    /// Quarter-0 intentions: all CCGs, or after a checkpoint those whose supplier was stopped.
    Intend(Option<usize>),
    /// Procurement in a quarter with contracts.
    Procure,
}

/// Markets with at least this many CCGs make their choices in parallel.
const PARALLEL_CCGS: usize = 4096;
/// CCGs per parallel task.
const CCG_CHUNK: usize = 1024;

/// Buffers one worker reuses across choices.
#[derive(Debug, Default)]
struct Scratch {
    options: Vec<(Supplier, f64)>,
    uniforms: Vec<f64>,
}

impl Scratch {
    fn new(services: usize) -> Scratch {
        Scratch {
            options: Vec::with_capacity(16),
            uniforms: vec![0.0; services],
        }
    }
}

/// Mutable state of one replication.
struct World<'m> {
    m: &'m Market,
    rep: u64,
    /// Per CCG: price, quality, locality, inertia weights.
    prefs: Vec<[f64; 4]>,
    /// Annual volume per CCG and service (`c * S + s`).
    volume: Vec<f64>,
    contracts: Vec<Contract>,
    hosts: Vec<Option<usize>>,
    /// Population of each local CSU's current patch (kept up to date on mergers).
    patch_pop: Vec<f64>,
    providers: Vec<ProviderState>,
    ledger: Ledger,
    /// Reused buffers for choices.
    scratch: Scratch,
    /// Supplier choices made so far (intentions included).
    decisions: u64,
    /// The last quarter's delivery figures (buffers reused each quarter).
    delivery: Delivery,
    /// The quarter's accounts (buffers reused each quarter).
    books: Books,
}

/// Runs one replication of a market.
pub fn simulate(m: &Market, replication: u64) -> ReplicationOutcome {
    let mut w = World::new(m, replication);
    w.plan();
    let intended_host_share = w.host_share();
    let mut series = Vec::with_capacity(m.periods as usize);
    let mut spend_hist = [0.0f64; 4];
    let mut unmet_total = 0.0;
    let mut contracted_total = 0.0;
    let mut last = PeriodFigures {
        open_providers: w.open_count(),
        in_house_share: 0.0,
        cost_per_head: 0.0,
    };
    for t in 1..m.periods {
        w.procure(t);
        w.deliver();
        let d = &w.delivery;
        unmet_total += d.unmet;
        contracted_total += d.provider_contracted;
        spend_hist[(t % 4) as usize] = d.ccg_spend;
        let ccg_spend = d.ccg_spend;
        let total: f64 = d.mix.iter().flatten().sum();
        let in_house: f64 = d.mix.iter().map(|x| x[0]).sum();
        w.finance(t);
        w.adjust_capacity();
        for (ci, cp) in m.checkpoints.iter().enumerate() {
            if cp.period == t {
                w.assure(t, ci, cp);
            }
        }
        if t >= m.independence {
            w.fail(t);
        }
        last = PeriodFigures {
            open_providers: w.open_count(),
            in_house_share: if total > 0.0 { in_house / total } else { 0.0 },
            cost_per_head: if m.population > 0.0 {
                ccg_spend * 4.0 / m.population
            } else {
                0.0
            },
        };
        series.push(last);
    }
    let quarters = (m.periods - 1).min(4) as f64;
    let year_spend: f64 = spend_hist.iter().sum();
    let services = w
        .delivery
        .mix
        .iter()
        .zip(&w.delivery.hhi)
        .map(|(mix, &hhi)| {
            let total: f64 = mix.iter().sum();
            let shares = if total > 0.0 {
                mix.map(|x| x / total)
            } else {
                [0.0; 5]
            };
            ServiceOutcome { shares, hhi }
        })
        .collect();
    ReplicationOutcome {
        replication,
        providers: w.outcomes(),
        services,
        series,
        cost_per_head: if m.population > 0.0 {
            year_spend * 4.0 / quarters / m.population
        } else {
            0.0
        },
        in_house_share: last.in_house_share,
        intended_host_share,
        decisions: w.decisions,
        open_providers: last.open_providers,
        unmet_share: if contracted_total > 0.0 {
            unmet_total / contracted_total
        } else {
            0.0
        },
        ledger: w.ledger,
    }
}

/// What one quarter's delivery produced.
#[derive(Debug, Default)]
struct Delivery {
    ccg_spend: f64,
    unmet: f64,
    provider_contracted: f64,
    /// Per service: volume served in-house, by local, collaborative, national, independent.
    mix: Vec<[f64; 5]>,
    hhi: Vec<f64>,
    /// Per service: sum of squared in-house volumes (each CCG's team is its own supplier).
    in_house_sq: Vec<f64>,
}

impl Delivery {
    /// Clears the quarter's figures, keeping the buffers.
    fn reset(&mut self, services: usize) {
        self.ccg_spend = 0.0;
        self.unmet = 0.0;
        self.provider_contracted = 0.0;
        self.mix.clear();
        self.mix.resize(services, [0.0; 5]);
        self.hhi.clear();
        self.hhi.resize(services, 0.0);
        self.in_house_sq.clear();
        self.in_house_sq.resize(services, 0.0);
    }
}

/// Per-provider sums of one quarter's accounts, kept between quarters to avoid reallocating.
#[derive(Debug, Default)]
struct Books {
    revenue: Vec<f64>,
    cost: Vec<f64>,
    share_revenue: Vec<f64>,
    share_cost: Vec<f64>,
}

impl Books {
    fn reset(&mut self, providers: usize) {
        for v in [
            &mut self.revenue,
            &mut self.cost,
            &mut self.share_revenue,
            &mut self.share_cost,
        ] {
            v.clear();
            v.resize(providers, 0.0);
        }
    }
}

fn kind_slot(k: ProviderKind) -> usize {
    match k {
        ProviderKind::Local => 1,
        ProviderKind::Collaborative => 2,
        ProviderKind::National => 3,
    }
}

impl<'m> World<'m> {
    fn new(m: &'m Market, rep: u64) -> World<'m> {
        let ns = m.services.len();
        let p = &m.preferences;
        let mut prefs = Vec::with_capacity(m.ccgs.len());
        let mut volume = Vec::with_capacity(m.ccgs.len() * ns);
        for c in &m.ccgs {
            let mut r = rng::stream(m.seed, rep, c.key, 0, Purpose::Preferences, 0);
            let mut draw = |n: &crate::scenario::schema::Normal| {
                (n.mean + n.sd * rng::standard_normal(&mut r)).max(0.0)
            };
            prefs.push([
                draw(&p.price),
                draw(&p.quality),
                draw(&p.locality),
                draw(&p.inertia),
            ]);
            // One stream per CCG, one draw per service in service order.
            let mut r = rng::stream(m.seed, rep, c.key, 0, Purpose::Demand, 0);
            for s in &m.services {
                let sd = m.demand.multiplier_sd;
                // Log-normal with mean 1.
                let mult = libm::exp(sd * rng::standard_normal(&mut r) - sd * sd / 2.0);
                volume.push(c.population * s.need_per_head * mult);
            }
        }
        let providers = m
            .providers
            .iter()
            .map(|p| {
                let mut sr = rng::stream(m.seed, rep, p.key, 0, Purpose::Standards, 0);
                let sd = m.rules.capability_sd;
                let capability = p
                    .standards
                    .iter()
                    .map(|&x| (x + sd * rng::standard_normal(&mut sr)).clamp(0.0, 1.0))
                    .sum::<f64>()
                    / 4.0;
                // One draw per service in service order, offered or not, so a provider's quality
                // for one service does not depend on what else it offers.
                let mut qr = rng::stream(m.seed, rep, p.key, 0, Purpose::Quality, 0);
                let lines = p
                    .offers
                    .iter()
                    .map(|o| (o, rng::standard_normal(&mut qr)))
                    .map(|(o, z)| match o {
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
                    capability,
                    unmet: 0.0,
                }
            })
            .collect();
        World {
            m,
            rep,
            prefs,
            volume,
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
        }
    }

    fn ns(&self) -> usize {
        self.m.services.len()
    }

    fn open_count(&self) -> u32 {
        self.providers.iter().filter(|p| p.open()).count() as u32
    }

    /// Business plans: networks take over their members' lines, pool capacity, and every line is
    /// priced on its plan volume. Then CCGs state intentions and the quarter-0 checkpoints rate them.
    fn plan(&mut self) {
        let m = self.m;
        for (pi, p) in m.providers.iter().enumerate() {
            if p.kind != ProviderKind::Collaborative {
                continue;
            }
            let caps: Vec<f64> = p
                .members
                .iter()
                .map(|&mi| {
                    (0..m.services.len())
                        .filter(|&s| p.offers[s].is_some())
                        .map(|s| self.providers[mi].lines[s].capacity)
                        .sum()
                })
                .collect();
            let total: f64 = caps.iter().sum();
            let n = p.members.len().max(1) as f64;
            self.providers[pi].weights = caps
                .iter()
                .map(|c| if total > 0.0 { c / total } else { 1.0 / n })
                .collect();
            for s in 0..m.services.len() {
                if p.offers[s].is_none() {
                    continue;
                }
                let pooled: f64 = p
                    .members
                    .iter()
                    .map(|&mi| self.providers[mi].lines[s].capacity)
                    .sum();
                for &mi in &p.members {
                    self.providers[mi].lines[s].active = false;
                }
                let line = &mut self.providers[pi].lines[s];
                if p.offers[s].and_then(|o| o.capacity).is_none() {
                    line.capacity = pooled;
                }
            }
        }
        // The business plan's volume: a share of its targets' need, known before any draw.
        let targets_need = self.targets_need();
        let share = m.rules.plan_share;
        for (pi, p) in m.providers.iter().enumerate() {
            for s in 0..m.services.len() {
                if !self.providers[pi].lines[s].exists {
                    continue;
                }
                let need = targets_need[pi] * m.services[s].need_per_head * share;
                let fixed = self.fixed_cost(pi, s);
                let line = &mut self.providers[pi].lines[s];
                let volume = if need > 0.0 {
                    need
                } else {
                    line.capacity.max(1.0)
                };
                line.price = (fixed / volume + line.unit) * (1.0 + p.markup);
                line.plan_price = line.price;
                line.history = [volume; 4];
            }
        }
        self.intend(None);
        for (ci, cp) in m.checkpoints.iter().enumerate() {
            if cp.period == 0 {
                self.tally_contracted();
                self.assure(0, ci, cp);
                self.intend(Some(ci));
            }
        }
        self.tally_contracted();
    }

    /// Population each provider targets: its patch, its members' patches, or everyone.
    fn targets_need(&self) -> Vec<f64> {
        let m = self.m;
        let mut pop = vec![0.0; m.providers.len()];
        for (pi, p) in m.providers.iter().enumerate() {
            match p.kind {
                ProviderKind::National => pop[pi] = m.population,
                ProviderKind::Local => pop[pi] = self.patch_pop[pi],
                ProviderKind::Collaborative => {
                    pop[pi] = self.providers[pi]
                        .members
                        .iter()
                        .map(|&mi| self.patch_pop[mi])
                        .sum();
                }
            }
        }
        pop
    }

    /// Fixed cost of a line per year; a network adds coordination per member.
    fn fixed_cost(&self, pi: usize, s: usize) -> f64 {
        let p = &self.m.providers[pi];
        let st = &self.providers[pi];
        let mut f = st.lines[s].fixed;
        if p.kind == ProviderKind::Collaborative {
            f += p.coordination_cost * st.members.len() as f64;
        }
        f
    }

    /// CCGs state intentions (quarter 0): first all of them, then after a checkpoint only those
    /// whose intended supplier was stopped.
    fn intend(&mut self, after: Option<usize>) {
        self.choice_round(0, Round::Intend(after));
    }

    /// Runs one round of choices over every CCG: in parallel over chunks of CCGs for large markets.
    /// A CCG's choices depend only on its own draws and on provider state, which no choice changes,
    /// so the contracts come out the same whatever the number of threads.
    fn choice_round(&mut self, t: u32, round: Round) {
        let ns = self.ns();
        let mut contracts = std::mem::take(&mut self.contracts);
        let mut scratch = std::mem::take(&mut self.scratch);
        {
            let this = &*self;
            let work = |k: usize, chunk: &mut [Contract], sc: &mut Scratch| -> u64 {
                chunk
                    .chunks_mut(ns)
                    .enumerate()
                    .map(|(i, row)| this.ccg_choices(k * CCG_CHUNK + i, t, round, row, sc))
                    .sum()
            };
            // Counts are integers, so their sum is the same in any order.
            let made: u64 = if this.m.ccgs.len() >= PARALLEL_CCGS {
                contracts
                    .par_chunks_mut(ns * CCG_CHUNK)
                    .enumerate()
                    .map_init(|| Scratch::new(ns), |sc, (k, chunk)| work(k, chunk, sc))
                    .sum()
            } else {
                contracts
                    .chunks_mut(ns * CCG_CHUNK)
                    .enumerate()
                    .map(|(k, chunk)| work(k, chunk, &mut scratch))
                    .sum()
            };
            self.decisions += made;
        }
        self.contracts = contracts;
        self.scratch = scratch;
    }

    /// One CCG's choices in a round; `row` holds its contract for each service. Returns how many
    /// choices it made.
    fn ccg_choices(
        &self,
        c: usize,
        t: u32,
        round: Round,
        row: &mut [Contract],
        sc: &mut Scratch,
    ) -> u64 {
        let m = self.m;
        let mut drawn = false;
        let mut made = 0;
        for s in 0..row.len() {
            let k = row[s];
            let avail = self.available(k.supplier, s);
            let (current, purpose, sub, end) = match round {
                Round::Intend(None) => (Supplier::None, Purpose::Choice, 0, 1),
                Round::Intend(Some(_)) if avail => continue,
                Round::Intend(Some(ci)) => (Supplier::None, Purpose::Intention, ci as u32, 1),
                Round::Procure if avail && k.end > t => {
                    if let Supplier::Provider(p) = k.supplier {
                        if !k.notice
                            && self.providers[p].lines[s].eff_quality < m.rules.quality_threshold
                        {
                            row[s].end = k.end.min(t + m.rules.notice_periods.max(1));
                            row[s].notice = true;
                        }
                    }
                    continue;
                }
                Round::Procure => {
                    let current = if avail { k.supplier } else { Supplier::None };
                    (current, Purpose::Choice, 0, t + m.rules.contract_length)
                }
            };
            if !drawn {
                self.draw_uniforms(c, t, purpose, sub, &mut sc.uniforms);
                drawn = true;
            }
            let pick = self.choose(c, s, current, sc.uniforms[s], &mut sc.options);
            // Intentions are not contracts: every CCG chooses again in quarter 1, loyal to its intention.
            row[s] = Contract {
                supplier: pick,
                end,
                notice: false,
            };
            made += 1;
        }
        made
    }

    fn available(&self, sup: Supplier, s: usize) -> bool {
        match sup {
            Supplier::None => false,
            Supplier::InHouse | Supplier::Independent => true,
            Supplier::Provider(p) => self.providers[p].open() && self.providers[p].lines[s].active,
        }
    }

    /// The in-house price per unit for a CCG: small CCGs find in-house dear.
    fn in_house_price(&self, c: usize, s: usize) -> f64 {
        let sv = &self.m.services[s];
        sv.in_house_unit + sv.in_house_fixed / self.volume[c * self.ns() + s].max(1.0)
    }

    /// Closeness `L(o, c)` of a provider to a CCG.
    fn closeness(&self, pi: usize, c: usize) -> f64 {
        let m = self.m;
        let l = &m.closeness;
        let p = &m.providers[pi];
        let host = self.hosts[c];
        let same_region = p.region == Some(m.ccgs[c].region);
        match p.kind {
            ProviderKind::National => l.other,
            ProviderKind::Local if host == Some(pi) => l.host,
            ProviderKind::Local if same_region => l.same_region_local,
            ProviderKind::Collaborative
                if host.is_some_and(|h| self.providers[pi].members.contains(&h)) =>
            {
                l.member_collaborative
            }
            ProviderKind::Collaborative if same_region => l.region_collaborative,
            _ => l.other,
        }
    }

    /// A CCG's logit choice for a service, drawn by inverting the choice probabilities with `u`.
    fn choose(
        &self,
        c: usize,
        s: usize,
        current: Supplier,
        u: f64,
        options: &mut Vec<(Supplier, f64)>,
    ) -> Supplier {
        let m = self.m;
        let sv = &m.services[s];
        let [bp, bq, bl, bi] = self.prefs[c];
        options.clear();
        let utility = |price: f64, quality: f64, close: f64, is_current: bool| {
            choice::utility(
                [bp, bq, bl, bi],
                price / sv.reference_price,
                quality,
                sv.locality * close,
                is_current,
            )
        };
        options.push((
            Supplier::InHouse,
            utility(
                self.in_house_price(c, s),
                sv.in_house_quality,
                m.closeness.in_house,
                current == Supplier::InHouse,
            ),
        ));
        options.push((
            Supplier::Independent,
            utility(
                sv.independent_price,
                sv.independent_quality,
                m.closeness.other,
                current == Supplier::Independent,
            ),
        ));
        for &pi in &m.candidates[m.ccgs[c].region][s] {
            let st = &self.providers[pi];
            if st.open() && st.lines[s].active {
                let line = &st.lines[s];
                let sup = Supplier::Provider(pi);
                options.push((
                    sup,
                    utility(
                        line.price,
                        line.eff_quality,
                        self.closeness(pi, c),
                        current == sup,
                    ),
                ));
            }
        }
        choice::pick(options, u)
    }

    /// Fills `out` with one draw per service from the CCG's stream for this quarter and purpose.
    /// Drawing all of them, in service order, keeps each service's draw the same whichever services
    /// happen to be chosen (common random numbers), and costs one stream per CCG-quarter.
    fn draw_uniforms(&self, c: usize, t: u32, purpose: Purpose, sub: u32, out: &mut [f64]) {
        let mut r = rng::stream(self.m.seed, self.rep, self.m.ccgs[c].key, t, purpose, sub);
        for u in out {
            *u = rng::uniform(&mut r);
        }
    }

    /// Share of contracted (or intended) volume bought from each CCG's host CSU, directly or through
    /// an open network the host belongs to.
    fn host_share(&self) -> f64 {
        let ns = self.ns();
        let (mut host, mut total) = (0.0, 0.0);
        for c in 0..self.m.ccgs.len() {
            for s in 0..ns {
                let v = self.volume[c * ns + s];
                total += v;
                let from_host = match (self.contracts[c * ns + s].supplier, self.hosts[c]) {
                    (Supplier::Provider(p), Some(h)) if p == h => true,
                    (Supplier::Provider(p), Some(h)) => {
                        self.m.providers[p].kind == ProviderKind::Collaborative
                            && self.providers[p].members.contains(&h)
                    }
                    _ => false,
                };
                if from_host {
                    host += v;
                }
            }
        }
        if total > 0.0 { host / total } else { 0.0 }
    }

    /// Step 1: CCGs whose contract ends, or whose supplier went, choose; unhappy CCGs give notice.
    fn procure(&mut self, t: u32) {
        self.choice_round(t, Round::Procure);
    }

    /// Sums each line's contracted annual volume from the contracts.
    fn tally_contracted(&mut self) {
        let ns = self.ns();
        for p in &mut self.providers {
            for l in &mut p.lines {
                l.contracted = 0.0;
            }
        }
        for c in 0..self.m.ccgs.len() {
            for s in 0..ns {
                if let Supplier::Provider(p) = self.contracts[c * ns + s].supplier {
                    if self.providers[p].open() {
                        self.providers[p].lines[s].contracted += self.volume[c * ns + s];
                    }
                }
            }
        }
    }

    /// The member of a network that delivers to a CCG: its host if a member, else the lead.
    fn deliverer(&self, net: usize, c: usize) -> Option<usize> {
        let st = &self.providers[net];
        match self.hosts[c] {
            Some(h) if st.members.contains(&h) => Some(h),
            _ => st.lead,
        }
    }

    /// Step 2: providers serve up to capacity; the rest falls back in-house.
    fn deliver(&mut self) {
        let ns = self.ns();
        let m = self.m;
        self.tally_contracted();
        for st in &mut self.providers {
            st.delivered.iter_mut().for_each(|d| *d = 0.0);
            for l in &mut st.lines {
                l.served = 0.0;
                l.revenue = 0.0;
                let frac = if l.contracted > 0.0 {
                    (l.capacity / l.contracted).min(1.0)
                } else {
                    1.0
                };
                l.eff_quality =
                    (l.quality * (1.0 - m.rules.overload_quality_loss * (1.0 - frac))).max(0.0);
            }
        }
        let mut d = std::mem::take(&mut self.delivery);
        d.reset(ns);
        for c in 0..m.ccgs.len() {
            for s in 0..ns {
                let v = self.volume[c * ns + s] / 4.0;
                match self.contracts[c * ns + s].supplier {
                    Supplier::Provider(p) if self.providers[p].open() => {
                        let line = &self.providers[p].lines[s];
                        let frac = if line.contracted > 0.0 {
                            (line.capacity / line.contracted).min(1.0)
                        } else {
                            1.0
                        };
                        let served = v * frac;
                        let unmet = v - served;
                        let pay = line.price * served;
                        let fallback = self.in_house_price(c, s) * unmet;
                        let st = &mut self.providers[p];
                        st.lines[s].served += served;
                        st.lines[s].revenue += pay;
                        st.unmet += unmet;
                        if m.providers[p].kind == ProviderKind::Collaborative {
                            if let Some(mi) = self.deliverer(p, c) {
                                if let Some(j) =
                                    self.providers[p].members.iter().position(|&x| x == mi)
                                {
                                    self.providers[p].delivered[j] += served;
                                }
                            }
                        }
                        self.ledger.ccg_spend += pay + fallback;
                        self.ledger.provider_revenue += pay;
                        self.ledger.in_house_spend += fallback;
                        d.ccg_spend += pay + fallback;
                        d.unmet += unmet;
                        d.provider_contracted += v;
                        d.mix[s][kind_slot(m.providers[p].kind)] += served;
                        d.mix[s][0] += unmet;
                        d.in_house_sq[s] += unmet * unmet;
                    }
                    Supplier::Independent => {
                        let pay = m.services[s].independent_price * v;
                        self.ledger.ccg_spend += pay;
                        self.ledger.independent_spend += pay;
                        d.ccg_spend += pay;
                        d.mix[s][4] += v;
                    }
                    // In-house, or a supplier that has just gone: the CCG's own team does the work.
                    _ => {
                        let pay = self.in_house_price(c, s) * v;
                        self.ledger.ccg_spend += pay;
                        self.ledger.in_house_spend += pay;
                        d.ccg_spend += pay;
                        d.mix[s][0] += v;
                        d.in_house_sq[s] += v * v;
                    }
                }
            }
        }
        for s in 0..ns {
            let total: f64 = d.mix[s].iter().sum();
            if total > 0.0 {
                let mut sq = d.in_house_sq[s] + d.mix[s][4] * d.mix[s][4];
                for st in &self.providers {
                    sq += st.lines[s].served * st.lines[s].served;
                }
                d.hhi[s] = sq / (total * total);
            }
        }
        self.delivery = d;
    }

    /// Member `j`'s share of a network's result, as [`World::member_shares`] gives it, without
    /// building the list (the finance step asks every quarter).
    fn member_share(&self, net: usize, j: usize) -> f64 {
        let st = &self.providers[net];
        let total: f64 = st.delivered.iter().sum();
        if total > 0.0 {
            return st.delivered[j] / total;
        }
        let sum: f64 = st.members.iter().map(|&mi| self.patch_pop[mi]).sum();
        let n = st.members.len().max(1) as f64;
        if sum > 0.0 {
            self.patch_pop[st.members[j]] / sum
        } else {
            1.0 / n
        }
    }

    /// Shares of a network's result: by volume each member delivered, else by patch population.
    fn member_shares(&self, net: usize) -> Vec<f64> {
        let st = &self.providers[net];
        let total: f64 = st.delivered.iter().sum();
        if total > 0.0 {
            return st.delivered.iter().map(|d| d / total).collect();
        }
        let pops: Vec<f64> = st.members.iter().map(|&mi| self.patch_pop[mi]).collect();
        let sum: f64 = pops.iter().sum();
        let n = st.members.len().max(1) as f64;
        pops.iter()
            .map(|p| if sum > 0.0 { p / sum } else { 1.0 / n })
            .collect()
    }

    fn patch_population(&self, pi: usize) -> f64 {
        self.patch_pop[pi]
    }

    /// Step 3: revenue, costs and reserves; the annual price review.
    fn finance(&mut self, t: u32) {
        let m = self.m;
        let ns = self.ns();
        let slot = (t % 4) as usize;
        let hosted = t < m.independence;
        let mut b = std::mem::take(&mut self.books);
        b.reset(m.providers.len());
        for pi in 0..m.providers.len() {
            if !self.providers[pi].open() {
                continue;
            }
            for s in 0..ns {
                let fixed = self.fixed_cost(pi, s);
                let l = &self.providers[pi].lines[s];
                if !l.active {
                    continue;
                }
                let idle = (l.capacity / 4.0 - l.served).max(0.0);
                b.revenue[pi] += l.revenue;
                b.cost[pi] += fixed / 4.0
                    + l.unit * l.served
                    + m.finance.idle_cost_share * l.unit * idle
                    + l.redundancy;
            }
        }
        // A network holds no reserves: its result flows to its members.
        for pi in 0..m.providers.len() {
            if m.providers[pi].kind == ProviderKind::Collaborative && self.providers[pi].open() {
                for j in 0..self.providers[pi].members.len() {
                    let (mi, w) = (self.providers[pi].members[j], self.member_share(pi, j));
                    b.share_revenue[mi] += w * b.revenue[pi];
                    b.share_cost[mi] += w * b.cost[pi];
                }
            }
        }
        for pi in 0..m.providers.len() {
            let st = &mut self.providers[pi];
            if !st.open() {
                continue;
            }
            let collaborative = m.providers[pi].kind == ProviderKind::Collaborative;
            let (rev, cst) = if collaborative {
                (b.revenue[pi], b.cost[pi])
            } else {
                (
                    b.revenue[pi] + b.share_revenue[pi],
                    b.cost[pi] + b.share_cost[pi],
                )
            };
            st.revenue_hist[slot] = rev;
            st.cost_hist[slot] = cst;
            st.quarters_open += 1;
            if !collaborative {
                let r = st.reserves + rev - cst;
                // While hosted, the Board absorbs deficits.
                st.reserves = if hosted { r.max(0.0) } else { r };
            }
        }
        self.books = b;
        let review = t >= 5 && (t - 1) % 4 == 0;
        for pi in 0..m.providers.len() {
            if !self.providers[pi].open() {
                continue;
            }
            let markup = m.providers[pi].markup;
            for s in 0..ns {
                let fixed = self.fixed_cost(pi, s);
                let l = &mut self.providers[pi].lines[s];
                if !l.active {
                    continue;
                }
                if review {
                    let expected = l.history.iter().sum::<f64>() / 4.0;
                    let target = if expected > 0.0 {
                        (fixed / expected + l.unit) * (1.0 + markup)
                    } else {
                        f64::INFINITY
                    };
                    let cap = m.finance.max_price_change;
                    l.price = target.clamp(l.price * (1.0 - cap), l.price * (1.0 + cap));
                }
                l.history[slot] = l.contracted;
            }
        }
    }

    /// Step 4: capacity moves toward contracted volume; shedding costs redundancy next quarter.
    fn adjust_capacity(&mut self) {
        let f = &self.m.finance;
        for st in &mut self.providers {
            if st.status != Status::Open {
                continue;
            }
            for l in &mut st.lines {
                l.redundancy = 0.0;
                if !l.active {
                    continue;
                }
                let target = l.contracted;
                if l.capacity < target {
                    l.capacity += f.hire_rate * (target - l.capacity);
                } else {
                    let shed = f.shed_rate * (l.capacity - target);
                    l.capacity -= shed;
                    l.redundancy = f.redundancy_cost * l.unit * shed;
                }
            }
        }
    }

    /// Per provider, the population share of its targets (current patch, members' current patches,
    /// or every CCG) buying at least one service from it; a member counts the CCGs of its patch
    /// buying from a network it belongs to. One pass over the CCGs.
    fn customer_shares(&self) -> Vec<f64> {
        let m = self.m;
        let ns = self.ns();
        let np = m.providers.len();
        let (mut target_pop, mut customer_pop) = (vec![0.0; np], vec![0.0; np]);
        let nationals: Vec<usize> = (0..np)
            .filter(|&p| m.providers[p].kind == ProviderKind::National)
            .collect();
        let mut credited: Vec<usize> = Vec::with_capacity(8);
        for c in 0..m.ccgs.len() {
            let pop = m.ccgs[c].population;
            let host = self.hosts[c];
            for &p in &nationals {
                target_pop[p] += pop;
            }
            if let Some(h) = host {
                target_pop[h] += pop;
                for &net in &m.networks_of[h] {
                    if self.providers[net].members.contains(&h) {
                        target_pop[net] += pop;
                    }
                }
            }
            credited.clear();
            for s in 0..ns {
                let Supplier::Provider(p) = self.contracts[c * ns + s].supplier else {
                    continue;
                };
                let mut credit = |x: usize| {
                    if !credited.contains(&x) {
                        credited.push(x);
                    }
                };
                match m.providers[p].kind {
                    ProviderKind::National => credit(p),
                    ProviderKind::Local if host == Some(p) => credit(p),
                    ProviderKind::Collaborative => {
                        if let Some(h) = host.filter(|h| self.providers[p].members.contains(h)) {
                            credit(p);
                            credit(h);
                        }
                    }
                    ProviderKind::Local => {}
                }
            }
            for &x in &credited {
                customer_pop[x] += pop;
            }
        }
        (0..np)
            .map(|p| {
                if target_pop[p] > 0.0 {
                    customer_pop[p] / target_pop[p]
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// Projected revenue and cost for the next year at current contracts and prices.
    fn projection(&self, pi: usize) -> (f64, f64) {
        let m = self.m;
        let f = &m.finance;
        let st = &self.providers[pi];
        let (mut rev, mut cost) = (0.0, 0.0);
        for s in 0..self.ns() {
            let l = &st.lines[s];
            if !l.active {
                continue;
            }
            rev += l.price * l.contracted;
            cost += self.fixed_cost(pi, s)
                + l.unit * l.contracted
                + f.idle_cost_share * l.unit * (l.capacity - l.contracted).max(0.0);
        }
        (rev, cost)
    }

    /// Per network, each member's share of the volume it would deliver at current contracts
    /// (by patch population when it has none). One pass over the contracts.
    fn projected_shares(&self) -> Vec<Vec<f64>> {
        let ns = self.ns();
        let mut v: Vec<Vec<f64>> = self
            .providers
            .iter()
            .map(|st| vec![0.0; st.members.len()])
            .collect();
        for c in 0..self.m.ccgs.len() {
            for s in 0..ns {
                if let Supplier::Provider(net) = self.contracts[c * ns + s].supplier {
                    if self.m.providers[net].kind != ProviderKind::Collaborative {
                        continue;
                    }
                    let st = &self.providers[net];
                    if let Some(j) = self
                        .deliverer(net, c)
                        .and_then(|mi| st.members.iter().position(|&x| x == mi))
                    {
                        v[net][j] += self.volume[c * ns + s];
                    }
                }
            }
        }
        v.into_iter()
            .enumerate()
            .map(|(net, x)| {
                let total: f64 = x.iter().sum();
                if total > 0.0 {
                    x.iter().map(|y| y / total).collect()
                } else {
                    self.member_shares(net)
                }
            })
            .collect()
    }

    /// Projected margin; a member counts its share of its networks' projected results.
    fn projected_margin(&self, pi: usize, shares: &[Vec<f64>]) -> f64 {
        let (mut rev, mut cost) = self.projection(pi);
        if self.m.providers[pi].kind == ProviderKind::Local {
            for &net in &self.m.networks_of[pi] {
                if !self.providers[net].open() {
                    continue;
                }
                if let Some(j) = self.providers[net].members.iter().position(|&x| x == pi) {
                    let (r, c) = self.projection(net);
                    let w = shares[net][j];
                    rev += w * r;
                    cost += w * c;
                }
            }
        }
        if rev > 0.0 { (rev - cost) / rev } else { -1.0 }
    }

    /// Step 5: rate every open provider on the same state, then stop those rated C.
    fn assure(&mut self, t: u32, ci: usize, cp: &Checkpoint) {
        let m = self.m;
        let mut stops = Vec::new();
        let customers = self.customer_shares();
        let shares = self.projected_shares();
        for pi in 0..m.providers.len() {
            if !self.providers[pi].open() {
                continue;
            }
            let domains = [
                (customers[pi], cp.min_customer_share),
                (self.projected_margin(pi, &shares), cp.min_margin),
                (self.providers[pi].capability, cp.min_capability),
            ];
            let rating = choice::rate(&domains, cp.marginal_band);
            let st = &mut self.providers[pi];
            st.ratings[ci] = 1 + rating as u8;
            let must_reach_a =
                cp.b_must_reach_a && st.last_rating == Some(Rating::B) && rating != Rating::A;
            st.last_rating = Some(rating);
            if rating == Rating::C || must_reach_a {
                stops.push(pi);
            }
        }
        for pi in stops {
            self.close(pi, t, Fate::Stopped);
        }
    }

    /// Closes a provider: a network hands its services back to its members; a CSU leaves its networks.
    fn close(&mut self, pi: usize, t: u32, fate: Fate) {
        let m = self.m;
        self.providers[pi].status = Status::Closed(fate);
        self.providers[pi].exit_period = Some(t);
        if m.providers[pi].kind == ProviderKind::Collaborative {
            let shares = self.member_shares(pi);
            let members = self.providers[pi].members.clone();
            for s in 0..self.ns() {
                if !self.providers[pi].lines[s].exists {
                    continue;
                }
                let pooled = self.providers[pi].lines[s].capacity;
                for (j, &mi) in members.iter().enumerate() {
                    let covered_elsewhere = m.networks_of[mi].iter().any(|&n| {
                        n != pi && self.providers[n].open() && self.providers[n].lines[s].exists
                    });
                    let l = &mut self.providers[mi].lines[s];
                    if l.exists && !covered_elsewhere && self.providers[mi].status == Status::Open {
                        let l = &mut self.providers[mi].lines[s];
                        l.active = true;
                        l.price = l.plan_price;
                        l.capacity = pooled * shares[j];
                    }
                }
            }
        } else {
            for &net in &m.networks_of[pi].clone() {
                self.leave_network(net, pi, t);
            }
        }
    }

    /// A member leaves a network, taking its share of pooled capacity; a network led by it gets a
    /// new lead (the member with the largest patch); a network left empty ends.
    fn leave_network(&mut self, net: usize, member: usize, t: u32) {
        if !self.providers[net].open() {
            return;
        }
        let Some(j) = self.providers[net]
            .members
            .iter()
            .position(|&x| x == member)
        else {
            return;
        };
        let w = self.providers[net].weights.get(j).copied().unwrap_or(0.0);
        {
            let st = &mut self.providers[net];
            st.members.remove(j);
            st.delivered.remove(j);
            if j < st.weights.len() {
                st.weights.remove(j);
            }
            let rest: f64 = st.weights.iter().sum();
            if rest > 0.0 {
                st.weights.iter_mut().for_each(|x| *x /= rest);
            }
            for l in &mut st.lines {
                l.capacity *= 1.0 - w;
            }
        }
        if self.providers[net].members.is_empty() {
            self.providers[net].status = Status::Closed(Fate::Ended);
            self.providers[net].exit_period = Some(t);
            self.providers[net].lead = None;
            return;
        }
        if self.providers[net].lead == Some(member) {
            let members = self.providers[net].members.clone();
            let mut best = members[0];
            let mut best_pop = f64::NEG_INFINITY;
            for &mi in &members {
                let pop = self.patch_population(mi);
                if pop > best_pop {
                    best = mi;
                    best_pop = pop;
                }
            }
            self.providers[net].lead = Some(best);
        }
    }

    /// Step 6: after independence, providers whose reserves fall below the threshold fail.
    fn fail(&mut self, t: u32) {
        let m = self.m;
        let failing: Vec<usize> = (0..m.providers.len())
            .filter(|&pi| {
                let st = &self.providers[pi];
                let turnover: f64 = st.revenue_hist.iter().sum();
                st.open()
                    && m.providers[pi].kind != ProviderKind::Collaborative
                    && st.reserves < m.finance.insolvency_threshold * turnover
            })
            .collect();
        for &f in &failing {
            if !self.providers[f].open() {
                continue;
            }
            let absorber = if m.merges_on_failure() && m.providers[f].kind == ProviderKind::Local {
                let region = m.providers[f]
                    .region
                    .map_or(&[][..], |r| &m.region_locals[r][..]);
                region
                    .iter()
                    .copied()
                    .filter(|&a| a != f && !failing.contains(&a) && self.providers[a].open())
                    .max_by(|&a, &b| {
                        self.providers[a]
                            .reserves
                            .total_cmp(&self.providers[b].reserves)
                            .then(b.cmp(&a))
                    })
            } else {
                None
            };
            match absorber {
                Some(a) => self.merge(f, a, t),
                None => self.close(f, t, Fate::Failed),
            }
        }
    }

    /// A failed CSU merges into another: customers, capacity, reserves and patch move to it.
    fn merge(&mut self, f: usize, a: usize, t: u32) {
        let ns = self.ns();
        let m = self.m;
        let region_ccgs = m.providers[f]
            .region
            .map_or(&[][..], |r| &m.region_ccgs[r][..]);
        for s in 0..ns {
            let fl = self.providers[f].lines[s].clone();
            if !fl.active {
                continue;
            }
            let al = &mut self.providers[a].lines[s];
            let takes = if al.active {
                al.capacity += fl.capacity;
                true
            } else if !al.exists {
                *al = fl;
                true
            } else {
                false
            };
            // A local CSU sells only in its region, so only that region's CCGs can be its customers.
            for &c in region_ccgs {
                let k = &mut self.contracts[c * ns + s];
                if k.supplier == Supplier::Provider(f) {
                    // Customers of a service the absorber cannot offer alone choose again.
                    k.supplier = if takes {
                        Supplier::Provider(a)
                    } else {
                        Supplier::None
                    };
                }
            }
        }
        let reserves = self.providers[f].reserves;
        self.providers[a].reserves += reserves;
        // A CSU's patch lies in its region (validation checks hosts).
        for &c in region_ccgs {
            if self.hosts[c] == Some(f) {
                self.hosts[c] = Some(a);
            }
        }
        self.patch_pop[a] += self.patch_pop[f];
        self.patch_pop[f] = 0.0;
        self.close(f, t, Fate::Merged);
    }

    /// CCGs buying at least one service from each provider, and their population; a member counts
    /// the CCGs it delivers a network's service to. One pass over the contracts.
    fn customers(&self) -> (Vec<u32>, Vec<f64>) {
        let m = self.m;
        let ns = self.ns();
        let (mut counts, mut pops) = (vec![0u32; m.providers.len()], vec![0.0; m.providers.len()]);
        let mut credited: Vec<usize> = Vec::with_capacity(8);
        for c in 0..m.ccgs.len() {
            credited.clear();
            for s in 0..ns {
                let Supplier::Provider(p) = self.contracts[c * ns + s].supplier else {
                    continue;
                };
                if !self.providers[p].open() {
                    continue;
                }
                let deliverer = if m.providers[p].kind == ProviderKind::Collaborative {
                    self.deliverer(p, c)
                } else {
                    None
                };
                for x in std::iter::once(p).chain(deliverer) {
                    if !credited.contains(&x) {
                        credited.push(x);
                    }
                }
            }
            for &x in &credited {
                counts[x] += 1;
                pops[x] += m.ccgs[c].population;
            }
        }
        (counts, pops)
    }

    fn outcomes(&self) -> Vec<ProviderOutcome> {
        let m = self.m;
        let (counts, pops) = self.customers();
        (0..m.providers.len())
            .map(|pi| {
                let st = &self.providers[pi];
                let n = st.quarters_open.min(4) as usize;
                // The last four quarters it was open sit in the ring buffer.
                let rev: f64 = st.revenue_hist.iter().sum();
                let cost: f64 = st.cost_hist.iter().sum();
                let margin = if n > 0 && rev > 0.0 {
                    Some((rev - cost) / rev)
                } else {
                    None
                };
                let (customers, population) = if st.open() {
                    (counts[pi], pops[pi])
                } else {
                    (0, 0.0)
                };
                let capacity: f64 = if st.open() {
                    st.lines
                        .iter()
                        .filter(|l| l.active)
                        .map(|l| l.capacity)
                        .sum()
                } else {
                    0.0
                };
                ProviderOutcome {
                    ratings: st.ratings.clone(),
                    fate: match st.status {
                        Status::Open => Fate::Survived,
                        Status::Closed(f) => f,
                    },
                    exit_period: st.exit_period,
                    margin,
                    customers,
                    population,
                    staff: capacity / m.finance.cost_per_fte,
                    revenue: rev,
                    reserves: st.reserves,
                    unmet: st.unmet,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    fn market(config: &str) -> Market {
        let text = include_str!("../../tests/fixtures/small.toml");
        let s = Scenario::from_text("small.toml", text).unwrap();
        Market::compile(&s.resolve(config).unwrap(), config).unwrap()
    }

    fn world_in_quarter_one(m: &Market) -> World<'_> {
        let mut w = World::new(m, 3);
        w.plan();
        w.procure(1);
        w
    }

    fn index(m: &Market, id: &str) -> usize {
        m.providers.iter().position(|p| p.id == id).unwrap()
    }

    #[test]
    fn money_is_conserved_ccg_spend_equals_revenue_plus_in_house_and_independent() {
        for config in ["local", "collaborative", "national"] {
            let m = market(config);
            for rep in 0..20 {
                let l = simulate(&m, rep).ledger;
                let parts = l.provider_revenue + l.in_house_spend + l.independent_spend;
                assert!(l.ccg_spend > 0.0);
                assert!(
                    (l.ccg_spend - parts).abs() <= 1e-9 * l.ccg_spend,
                    "{config} rep {rep}: {l:?}"
                );
            }
        }
    }

    #[test]
    fn capacity_never_goes_negative() {
        let mut m = market("collaborative");
        // Shed hard and hire fast: capacity still moves toward a non-negative target.
        m.finance.shed_rate = 1.0;
        m.finance.hire_rate = 1.0;
        for rep in 0..10 {
            let mut w = World::new(&m, rep);
            w.plan();
            for t in 1..m.periods {
                w.procure(t);
                w.deliver();
                w.finance(t);
                w.adjust_capacity();
                for st in &w.providers {
                    assert!(st.lines.iter().all(|l| l.capacity >= 0.0));
                }
            }
        }
    }

    #[test]
    fn exit_moves_every_customer_of_the_failed_provider() {
        let m = market("local");
        let mut w = world_in_quarter_one(&m);
        let f = index(&m, "north-a");
        assert!(
            w.contracts
                .iter()
                .any(|k| k.supplier == Supplier::Provider(f)),
            "fixture should give north-a customers"
        );
        w.close(f, 1, Fate::Failed);
        w.procure(2);
        assert!(
            w.contracts
                .iter()
                .all(|k| k.supplier != Supplier::Provider(f))
        );
    }

    #[test]
    fn merge_moves_every_customer_patch_and_reserves_to_the_absorber() {
        let m = market("local");
        let mut w = world_in_quarter_one(&m);
        let (f, a) = (index(&m, "north-a"), index(&m, "north-b"));
        w.providers[f].reserves = -5000.0;
        w.providers[a].reserves = 20000.0;
        let before = w
            .contracts
            .iter()
            .filter(|k| k.supplier == Supplier::Provider(f))
            .count();
        let absorber_before = w
            .contracts
            .iter()
            .filter(|k| k.supplier == Supplier::Provider(a))
            .count();
        assert!(before > 0);
        w.merge(f, a, 1);
        assert!(
            w.contracts
                .iter()
                .all(|k| k.supplier != Supplier::Provider(f))
        );
        let after = w
            .contracts
            .iter()
            .filter(|k| k.supplier == Supplier::Provider(a))
            .count();
        assert_eq!(
            after,
            absorber_before + before,
            "every customer moves to the absorber"
        );
        assert!(w.hosts.iter().all(|h| *h != Some(f)));
        assert_eq!(w.providers[a].reserves, 15000.0);
        assert_eq!(w.providers[f].status, Status::Closed(Fate::Merged));
    }

    #[test]
    fn stopped_collaborative_hands_its_services_back_to_members() {
        let m = market("collaborative");
        let net = index(&m, "bi-north");
        let bi = m.services.iter().position(|s| s.id == "bi").unwrap();
        let members = [index(&m, "north-a"), index(&m, "north-b")];
        // A replication in which the network passed its first checkpoint.
        let mut w = (0..50)
            .map(|rep| {
                let mut w = World::new(&m, rep);
                w.plan();
                w
            })
            .find(|w| w.providers[net].open() && members.iter().all(|&mi| w.providers[mi].open()))
            .expect("the network passes the first checkpoint in some replication");
        assert!(members.iter().all(|&mi| !w.providers[mi].lines[bi].active));
        let pooled = w.providers[net].lines[bi].capacity;
        w.close(net, 1, Fate::Stopped);
        let back: f64 = members
            .iter()
            .map(|&mi| w.providers[mi].lines[bi].capacity)
            .sum();
        assert!(members.iter().all(|&mi| w.providers[mi].lines[bi].active));
        assert!((back - pooled).abs() < 1e-6 * pooled.max(1.0));
    }

    #[test]
    fn decisions_count_intentions_and_every_renewal() {
        let m = market("local");
        let pairs = (m.ccgs.len() * m.services.len()) as u64;
        // Intentions, then quarter 1 and a renewal every contract length.
        let rounds = 1 + u64::from(m.periods - 1).div_ceil(u64::from(m.rules.contract_length));
        for rep in 0..10 {
            let d = simulate(&m, rep).decisions;
            assert!(d >= pairs * rounds, "rep {rep}: {d} < {}", pairs * rounds);
            // Extra choices come only from stops, exits and notice: at most one per pair per quarter.
            assert!(d <= pairs * u64::from(m.periods + m.checkpoints.len() as u32));
        }
    }

    #[test]
    fn replication_outcome_depends_only_on_its_index() {
        let m = market("collaborative");
        let a = simulate(&m, 17);
        let _ = simulate(&m, 3);
        let b = simulate(&m, 17);
        assert_eq!(a, b);
        assert_ne!(simulate(&m, 18), a);
    }
}
